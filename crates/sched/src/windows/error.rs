//! What went wrong while applying, reading or reverting a Windows policy.

use tenuto_win::win32_meaning;

use super::levels::class_name;
use crate::policy::{AvrtPriority, ThreadLevel};

/// What went wrong while applying, reading or reverting a Windows policy.
/// Each message names the call, the value and what the user can do.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SchedError {
    /// `AvSetMmThreadCharacteristicsW` refused the task.
    #[error(
        "MMCSS refused to register the driver thread for task \"{task}\" (error {code}: {meaning}); {hint}",
        meaning = win32_meaning(*.code),
        hint = mmcss_hint(*.code, .known_tasks)
    )]
    MmcssRefused {
        /// The task asked for.
        task: String,
        /// `GetLastError()` after the call.
        code: u32,
        /// The registry's task list, read when the task was unknown.
        known_tasks: Vec<String>,
    },
    /// `AvSetMmThreadPriority` failed (the registration itself stands).
    #[error(
        "AvSetMmThreadPriority({priority:?}) failed (error {code}: {meaning}); the thread runs at the MMCSS task's default priority — choose another AVRT priority or manual priority",
        meaning = win32_meaning(*.code)
    )]
    MmcssPriority {
        /// The AVRT priority asked for.
        priority: AvrtPriority,
        /// `GetLastError()` after the call.
        code: u32,
    },
    /// `SetThreadPriority` failed.
    #[error(
        "SetThreadPriority({level:?} = {value}) failed (error {code}: {meaning}); the thread keeps its priority — choose MMCSS or inherit",
        value = level.win32_value(),
        meaning = win32_meaning(*.code)
    )]
    ThreadPriority {
        /// The level asked for.
        level: ThreadLevel,
        /// `GetLastError()` after the call.
        code: u32,
    },
    /// `GetThreadPriority` failed, so the old level could not be saved.
    #[error(
        "GetThreadPriority failed (error {code}: {meaning}), so the thread's level could not be saved for restoring; left unchanged — choose MMCSS or inherit",
        meaning = win32_meaning(*.code)
    )]
    ThreadPriorityQuery {
        /// `GetLastError()` after the call.
        code: u32,
    },
    /// REALTIME class requested without `SeIncreaseBasePriorityPrivilege`.
    #[error(
        "REALTIME process class refused: the process lacks SeIncreaseBasePriorityPrivilege, without which Windows silently gives HIGH instead; the thread level was kept. Run the DAW as administrator, grant \"Increase scheduling priority\" in Local Security Policy, or choose the HIGH class"
    )]
    RealtimeWithoutPrivilege,
    /// The privilege check itself failed.
    #[error(
        "could not check SeIncreaseBasePriorityPrivilege: {step} failed (error {code}: {meaning}); REALTIME class not applied — choose the HIGH class or run the DAW as administrator",
        meaning = win32_meaning(*.code)
    )]
    PrivilegeQuery {
        /// The call that failed.
        step: &'static str,
        /// `GetLastError()` after the call.
        code: u32,
    },
    /// `GetPriorityClass`/`SetPriorityClass` failed.
    #[error(
        "{call}({class}) failed (error {code}: {meaning}); the process class is unchanged — leave the process class unset",
        class = class_name(*.class),
        meaning = win32_meaning(*.code)
    )]
    ProcessClass {
        /// The call that failed.
        call: &'static str,
        /// The class involved (0 when reading).
        class: u32,
        /// `GetLastError()` after the call.
        code: u32,
    },
    /// `SetPriorityClass` succeeded but the process reads another class.
    #[error(
        "asked Windows for the {requested} process class but the process reads {got}; Windows downgrades REALTIME to HIGH without SeIncreaseBasePriorityPrivilege — run the DAW as administrator",
        requested = class_name(*.requested),
        got = class_name(*.got)
    )]
    ProcessClassDowngraded {
        /// The class asked for.
        requested: u32,
        /// The class the process reads afterwards.
        got: u32,
    },
    /// `SetThreadInformation(ThreadPowerThrottling)` failed.
    #[error(
        "EcoQoS opt-out failed: SetThreadInformation(ThreadPowerThrottling) returned error {code} ({meaning}); harmless before Windows 10 1709 — otherwise set the power mode to \"Best performance\"",
        meaning = win32_meaning(*.code)
    )]
    EcoQos {
        /// `GetLastError()` after the call.
        code: u32,
    },
    /// `AvRevertMmThreadCharacteristics` failed.
    #[error(
        "AvRevertMmThreadCharacteristics failed (error {code}: {meaning}); the thread stays registered with MMCSS until it exits — stop and restart streaming"
        , meaning = win32_meaning(*.code)
    )]
    MmcssRevert {
        /// `GetLastError()` after the call.
        code: u32,
    },
    /// Restoring the thread level failed.
    #[error(
        "SetThreadPriority({level}) failed while restoring the thread's level (error {code}: {meaning}); the thread keeps its raised level until it exits",
        meaning = win32_meaning(*.code)
    )]
    ThreadPriorityRestore {
        /// The level that was to be restored.
        level: i32,
        /// `GetLastError()` after the call.
        code: u32,
    },
    /// Reading the thread's power-throttling request failed.
    #[error(
        "NtQueryInformationThread(ThreadPowerThrottlingState) failed with NTSTATUS {status:#010x}; this Windows version (or Wine) does not report the power-throttling request"
    )]
    EcoQosQuery {
        /// The NTSTATUS returned.
        status: i32,
    },
    /// `NtQueryInformationThread` failed.
    #[error(
        "NtQueryInformationThread(ThreadBasicInformation) failed with NTSTATUS {status:#010x}; the thread's priority cannot be read"
    )]
    ThreadQuery {
        /// The NTSTATUS returned.
        status: i32,
    },
    /// `timeBeginPeriod` refused the resolution.
    #[error(
        "timeBeginPeriod({ms}) failed (MMRESULT {code}); the timer resolution stays at the system's — use a value between 1 and 15 ms"
    )]
    TimerResolution {
        /// The resolution asked for, ms.
        ms: u32,
        /// The MMRESULT returned.
        code: u32,
    },
}

fn mmcss_hint(code: u32, known: &[String]) -> String {
    match code {
        1 | 1058 => "the \"Multimedia Class Scheduler\" service is not available: `tenuto mmcss status` shows it, `tenuto mmcss enable` re-enables it (restart needed); or choose manual priority".to_owned(),
        565 => "the host has already registered 32 threads with MMCSS: choose manual priority for Tenuto".to_owned(),
        1550 if known.is_empty() => "the registry lists no MMCSS tasks (HKLM\\SOFTWARE\\Microsoft\\Windows NT\\CurrentVersion\\Multimedia\\SystemProfile\\Tasks): choose manual priority".to_owned(),
        1550 => format!("choose one of the registry's tasks: {}", known.join(", ")),
        _ => "choose manual priority or inherit".to_owned(),
    }
}
