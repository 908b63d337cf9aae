//! Applying a [`Scheduling`] choice to the driver thread on Windows, reading
//! the thread's real priority back, and reverting it.
//!
//! * [`WindowsThreadPolicy`] is the engine's [`ThreadPolicy`]: MMCSS
//!   registration (`AvSetMmThreadCharacteristicsW` + `AvSetMmThreadPriority`)
//!   with the user's [`MmcssFallback`] when MMCSS refuses, manual thread
//!   priority with an opt-in process class, or nothing; plus the EcoQoS
//!   opt-out. Its guard, [`AppliedWindowsPolicy`], reverts all of it on drop.
//! * [`AppliedWindowsPolicy::sample`] reads the thread's absolute priority
//!   (`NtQueryInformationThread(ThreadBasicInformation)`) without allocating
//!   or locking, so the driver thread can notice an MMCSS demotion.
//! * [`mmcss_tasks`], [`thread_priority_snapshot`], [`current_base_priority`]
//!   and [`timer_resolution_guard`] serve the CLI, the per-DAW Auto mode and
//!   the DLL.
//!
//! # Safety invariant
//!
//! Every `unsafe` block here is a Win32/NT call that is given only (a) the
//! pseudo-handles `GetCurrentThread()`/`GetCurrentProcess()`, which are valid
//! for the whole life of the calling thread, (b) handles this module opened
//! and closes exactly once (tokens, snapshots, `OpenThread` handles — each
//! wrapped in [`OwnedHandle`]), or (c) the MMCSS handle returned by
//! `AvSetMmThreadCharacteristicsW`, which is reverted exactly once, on the
//! thread that registered; and pointers to live, correctly sized and aligned
//! locals (with the size passed alongside) or NUL-terminated UTF-16 buffers
//! that outlive the call. Thread-specific state (MMCSS, thread level, EcoQoS)
//! must be reverted on the thread that changed it: the guard is `!Send`
//! (it holds a raw handle and a `PhantomData<*const ()>`), so its `Drop`
//! runs on the thread that called `apply`.

#![allow(unsafe_code)]

use std::ffi::c_void;
use std::fmt;
use std::marker::PhantomData;
use std::mem::size_of;

use tenuto_engine::host::{AppliedPolicy, PrioritySample, ThreadPolicy};
use tenuto_engine::sync::Mutex;
use tenuto_win::registry::{self as reg, View, LOCAL_MACHINE};
use tenuto_win::{to_wide, win32_meaning};
use windows_sys::Wdk::System::Threading::{NtQueryInformationThread, ThreadBasicInformation};
use windows_sys::Win32::Foundation::{
    CloseHandle, GetLastError, HANDLE, INVALID_HANDLE_VALUE, LUID,
};
use windows_sys::Win32::Media::{timeBeginPeriod, timeEndPeriod, TIMERR_NOERROR};
use windows_sys::Win32::Security::{
    GetTokenInformation, LookupPrivilegeValueW, TokenPrivileges, LUID_AND_ATTRIBUTES,
    SE_INC_BASE_PRIORITY_NAME, TOKEN_QUERY,
};
use windows_sys::Win32::System::Diagnostics::ToolHelp::{
    CreateToolhelp32Snapshot, Thread32First, Thread32Next, TH32CS_SNAPTHREAD, THREADENTRY32,
};
use windows_sys::Win32::System::Threading::{
    AvRevertMmThreadCharacteristics, AvSetMmThreadCharacteristicsW, AvSetMmThreadPriority,
    GetCurrentProcess, GetCurrentThread, GetPriorityClass, GetThreadPriority, OpenProcessToken,
    OpenThread, SetPriorityClass, SetThreadInformation, SetThreadPriority, ThreadPowerThrottling,
    ABOVE_NORMAL_PRIORITY_CLASS, BELOW_NORMAL_PRIORITY_CLASS, HIGH_PRIORITY_CLASS,
    IDLE_PRIORITY_CLASS, NORMAL_PRIORITY_CLASS, REALTIME_PRIORITY_CLASS,
    THREAD_POWER_THROTTLING_CURRENT_VERSION, THREAD_POWER_THROTTLING_EXECUTION_SPEED,
    THREAD_POWER_THROTTLING_STATE, THREAD_QUERY_LIMITED_INFORMATION,
};

use crate::policy::{
    manual_base_priority, AvrtPriority, MmcssFallback, ProcessClass, Scheduling, ThreadLevel,
    WindowsPolicy, MMCSS_EXHAUSTED_MAX,
};

/// `GetThreadPriority`'s failure value (winbase.h; not in the enabled
/// windows-sys features).
const THREAD_PRIORITY_ERROR_RETURN: i32 = 0x7FFF_FFFF;

/// Windows priorities 16–31 are the real-time range.
const REALTIME_RANGE_MIN: i32 = 16;

/// How far below its expected base a manual thread may read before it
/// counts as demoted (the scheduler's own transient boosts/decays stay
/// within 2).
const MANUAL_DEMOTION_SLACK: i32 = 2;

// ---------------------------------------------------------------------------
// Errors

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

/// The name of a process priority class constant.
pub fn class_name(class: u32) -> &'static str {
    match class {
        IDLE_PRIORITY_CLASS => "IDLE",
        BELOW_NORMAL_PRIORITY_CLASS => "BELOW_NORMAL",
        NORMAL_PRIORITY_CLASS => "NORMAL",
        ABOVE_NORMAL_PRIORITY_CLASS => "ABOVE_NORMAL",
        HIGH_PRIORITY_CLASS => "HIGH",
        REALTIME_PRIORITY_CLASS => "REALTIME",
        0 => "(none)",
        _ => "unknown",
    }
}

fn level_name(level: ThreadLevel) -> &'static str {
    match level {
        ThreadLevel::Normal => "NORMAL",
        ThreadLevel::AboveNormal => "ABOVE_NORMAL",
        ThreadLevel::Highest => "HIGHEST",
        ThreadLevel::TimeCritical => "TIME_CRITICAL",
    }
}

fn avrt_name(priority: AvrtPriority) -> &'static str {
    match priority {
        AvrtPriority::Low => "LOW",
        AvrtPriority::Normal => "NORMAL",
        AvrtPriority::High => "HIGH",
        AvrtPriority::Critical => "CRITICAL",
    }
}

/// The Win32 constant for a [`ProcessClass`].
pub const fn class_value(class: ProcessClass) -> u32 {
    match class {
        ProcessClass::High => HIGH_PRIORITY_CLASS,
        ProcessClass::Realtime => REALTIME_PRIORITY_CLASS,
    }
}

/// Orders priority classes by the base priority they give (IDLE lowest).
fn class_rank(class: u32) -> u8 {
    match class {
        IDLE_PRIORITY_CLASS => 1,
        BELOW_NORMAL_PRIORITY_CLASS => 2,
        NORMAL_PRIORITY_CLASS => 3,
        ABOVE_NORMAL_PRIORITY_CLASS => 4,
        HIGH_PRIORITY_CLASS => 5,
        REALTIME_PRIORITY_CLASS => 6,
        _ => 0,
    }
}

/// The base priority of a thread at `level` in a process of any Win32
/// `class` (extends [`manual_base_priority`] to IDLE…ABOVE_NORMAL).
pub fn base_priority_in_class(level: ThreadLevel, class: u32) -> i32 {
    let class_base = match class {
        IDLE_PRIORITY_CLASS => 4,
        BELOW_NORMAL_PRIORITY_CLASS => 6,
        ABOVE_NORMAL_PRIORITY_CLASS => 10,
        HIGH_PRIORITY_CLASS => return manual_base_priority(level, Some(ProcessClass::High)),
        REALTIME_PRIORITY_CLASS => {
            return manual_base_priority(level, Some(ProcessClass::Realtime))
        }
        _ => return manual_base_priority(level, None),
    };
    match level {
        ThreadLevel::TimeCritical => 15,
        l => class_base + l.win32_value(),
    }
}

fn last_error() -> u32 {
    // SAFETY: GetLastError reads the calling thread's last-error value; no
    // arguments.
    unsafe { GetLastError() }
}

/// A handle this module opened; closed exactly once on drop.
struct OwnedHandle(HANDLE);

impl OwnedHandle {
    fn new(h: HANDLE) -> Option<Self> {
        (!h.is_null() && h != INVALID_HANDLE_VALUE).then_some(Self(h))
    }
}

impl Drop for OwnedHandle {
    fn drop(&mut self) {
        // SAFETY: self.0 is a valid handle this module opened (checked in
        // `new`) and owns; it is closed once, here.
        unsafe { CloseHandle(self.0) };
    }
}

// ---------------------------------------------------------------------------
// Reading a thread's priority

/// `CLIENT_ID` (winternl.h).
#[repr(C)]
#[allow(non_snake_case)]
struct ClientId {
    UniqueProcess: HANDLE,
    UniqueThread: HANDLE,
}

/// `THREAD_BASIC_INFORMATION` (not in windows-sys): 48 bytes on x64.
#[repr(C)]
#[allow(non_snake_case)]
struct ThreadBasicInformationData {
    ExitStatus: i32,
    TebBaseAddress: *mut c_void,
    ClientId: ClientId,
    AffinityMask: usize,
    /// KPRIORITY: the current (dynamic) priority, 0–31.
    Priority: i32,
    /// The base priority.
    BasePriority: i32,
}

/// Reads `(priority, base_priority)` of `thread`. Real-time safe: one
/// system call, a stack buffer.
fn query_thread(thread: HANDLE) -> Result<(i32, i32), i32> {
    let mut info = ThreadBasicInformationData {
        ExitStatus: 0,
        TebBaseAddress: std::ptr::null_mut(),
        ClientId: ClientId {
            UniqueProcess: std::ptr::null_mut(),
            UniqueThread: std::ptr::null_mut(),
        },
        AffinityMask: 0,
        Priority: 0,
        BasePriority: 0,
    };
    // SAFETY: `thread` is a pseudo-handle or a handle opened with
    // THREAD_QUERY_LIMITED_INFORMATION that outlives the call; `info` is a
    // live, aligned THREAD_BASIC_INFORMATION and its exact size is passed;
    // the return-length pointer may be null.
    let status = unsafe {
        NtQueryInformationThread(
            thread,
            ThreadBasicInformation,
            (&raw mut info).cast::<c_void>(),
            size_of::<ThreadBasicInformationData>() as u32,
            std::ptr::null_mut(),
        )
    };
    if status < 0 {
        Err(status)
    } else {
        Ok((info.Priority, info.BasePriority))
    }
}

/// A thread's priorities, as `NtQueryInformationThread` reports them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ThreadPriority {
    /// Thread id.
    pub tid: u32,
    /// Current (dynamic) priority, 0–31: what MMCSS raises and demotes.
    pub priority: i32,
    /// Base priority, from the process class and thread level.
    pub base_priority: i32,
}

/// The calling thread's current and base priority.
pub fn current_priority() -> Result<ThreadPriority, SchedError> {
    // SAFETY: GetCurrentThread returns a pseudo-handle; no arguments.
    let me = unsafe { GetCurrentThread() };
    let (priority, base_priority) =
        query_thread(me).map_err(|status| SchedError::ThreadQuery { status })?;
    // SAFETY: no arguments.
    let tid = unsafe { windows_sys::Win32::System::Threading::GetCurrentThreadId() };
    Ok(ThreadPriority {
        tid,
        priority,
        base_priority,
    })
}

/// The calling thread's base priority (1–31), `None` if it cannot be read.
pub fn current_base_priority() -> Option<i32> {
    current_priority().ok().map(|p| p.base_priority)
}

/// The priorities of every thread of process `pid` that this process may
/// query (`THREAD_QUERY_LIMITED_INFORMATION`); threads that cannot be
/// opened (other users' processes without elevation, threads that exited
/// meanwhile) are left out, and an empty list means the process could not
/// be inspected at all. For the per-DAW Auto mode: a host whose audio
/// threads read 23–26 uses MMCSS; 15 or 31 at a non-MMCSS base means
/// manual priority.
pub fn thread_priority_snapshot(pid: u32) -> Vec<ThreadPriority> {
    let mut out = Vec::new();
    // SAFETY: flags and pid by value; the returned handle is checked and
    // owned below.
    let snap = unsafe { CreateToolhelp32Snapshot(TH32CS_SNAPTHREAD, 0) };
    let Some(snap) = OwnedHandle::new(snap) else {
        return out;
    };
    let mut entry = THREADENTRY32 {
        dwSize: size_of::<THREADENTRY32>() as u32,
        cntUsage: 0,
        th32ThreadID: 0,
        th32OwnerProcessID: 0,
        tpBasePri: 0,
        tpDeltaPri: 0,
        dwFlags: 0,
    };
    // SAFETY: `snap` is a live snapshot handle; `entry` is a live
    // THREADENTRY32 with dwSize set as the API requires.
    let mut more = unsafe { Thread32First(snap.0, &mut entry) } != 0;
    while more {
        if entry.th32OwnerProcessID == pid {
            // SAFETY: access mask, inherit flag and thread id by value; the
            // returned handle is checked and owned.
            let h = unsafe { OpenThread(THREAD_QUERY_LIMITED_INFORMATION, 0, entry.th32ThreadID) };
            if let Some(h) = OwnedHandle::new(h) {
                if let Ok((priority, base_priority)) = query_thread(h.0) {
                    out.push(ThreadPriority {
                        tid: entry.th32ThreadID,
                        priority,
                        base_priority,
                    });
                }
            }
        }
        // SAFETY: as for Thread32First.
        more = unsafe { Thread32Next(snap.0, &mut entry) } != 0;
    }
    out
}

/// The MMCSS task names the registry lists (subkeys of
/// `HKLM\SOFTWARE\Microsoft\Windows NT\CurrentVersion\Multimedia\SystemProfile\Tasks`,
/// e.g. "Audio", "Pro Audio", "Games"); empty when the key is missing
/// (Wine) or unreadable.
pub fn mmcss_tasks() -> Vec<String> {
    match reg::open(LOCAL_MACHINE, MMCSS_TASKS_KEY, false, View::Sixty4) {
        Ok(Some(key)) => reg::subkeys(&key).unwrap_or_default(),
        _ => Vec::new(),
    }
}

/// The MMCSS task list (under HKLM, 64-bit view).
pub(crate) const MMCSS_TASKS_KEY: &str =
    r"SOFTWARE\Microsoft\Windows NT\CurrentVersion\Multimedia\SystemProfile\Tasks";

/// Whether this process runs under Wine (`HKLM\Software\Wine` exists —
/// every Wine prefix has it). Wine's avrt accepts every MMCSS registration
/// without changing scheduling, and its `THREAD_BASIC_INFORMATION.Priority`
/// is the thread's relative level (0, 2, 15, …), not the absolute priority.
pub fn is_wine() -> bool {
    tenuto_win::is_wine()
}

// ---------------------------------------------------------------------------
// Privileges and elevation

fn open_process_token() -> Result<OwnedHandle, u32> {
    let mut token: HANDLE = std::ptr::null_mut();
    // SAFETY: GetCurrentProcess is a pseudo-handle; `token` is a live
    // out-pointer; the handle is owned on success.
    let ok = unsafe { OpenProcessToken(GetCurrentProcess(), TOKEN_QUERY, &mut token) };
    if ok == 0 {
        return Err(last_error());
    }
    OwnedHandle::new(token).ok_or(0)
}

/// Whether this process's token holds `SeIncreaseBasePriorityPrivilege`
/// (enabled or not: `SetPriorityClass` enables it itself). Without it
/// Windows turns a REALTIME request into HIGH without saying so.
pub fn has_increase_base_priority_privilege() -> Result<bool, SchedError> {
    let token = open_process_token().map_err(|code| SchedError::PrivilegeQuery {
        step: "OpenProcessToken",
        code,
    })?;
    let mut luid = LUID {
        LowPart: 0,
        HighPart: 0,
    };
    // SAFETY: null system name = local; the name is a static NUL-terminated
    // wide string; `luid` is a live out-pointer.
    if unsafe { LookupPrivilegeValueW(std::ptr::null(), SE_INC_BASE_PRIORITY_NAME, &mut luid) } == 0
    {
        return Err(SchedError::PrivilegeQuery {
            step: "LookupPrivilegeValueW(SeIncreaseBasePriorityPrivilege)",
            code: last_error(),
        });
    }
    let mut needed = 0u32;
    // SAFETY: size query: null buffer with length 0; `needed` is a live
    // out-pointer. Fails with ERROR_INSUFFICIENT_BUFFER by design.
    unsafe {
        GetTokenInformation(
            token.0,
            TokenPrivileges,
            std::ptr::null_mut(),
            0,
            &mut needed,
        )
    };
    if needed == 0 {
        return Err(SchedError::PrivilegeQuery {
            step: "GetTokenInformation(TokenPrivileges) size",
            code: last_error(),
        });
    }
    // u64 words: TOKEN_PRIVILEGES needs 4-byte alignment; 8 is ample.
    let mut buf = vec![0u64; (needed as usize).div_ceil(8)];
    // SAFETY: `buf` is live, 8-byte aligned and at least `needed` bytes;
    // its byte length is passed.
    let ok = unsafe {
        GetTokenInformation(
            token.0,
            TokenPrivileges,
            buf.as_mut_ptr().cast::<c_void>(),
            (buf.len() * 8) as u32,
            &mut needed,
        )
    };
    if ok == 0 {
        return Err(SchedError::PrivilegeQuery {
            step: "GetTokenInformation(TokenPrivileges)",
            code: last_error(),
        });
    }
    // TOKEN_PRIVILEGES { PrivilegeCount: u32, Privileges: [LUID_AND_ATTRIBUTES; N] }:
    // the array starts at offset 4 (LUID_AND_ATTRIBUTES is 4-aligned).
    let base = buf.as_ptr().cast::<u8>();
    // SAFETY: the buffer holds a TOKEN_PRIVILEGES the system wrote; its
    // first u32 is the count and it is 8-byte aligned.
    let count = unsafe { base.cast::<u32>().read() } as usize;
    let bytes = buf.len() * 8;
    let entry_size = size_of::<LUID_AND_ATTRIBUTES>();
    for i in 0..count {
        let offset = 4 + i * entry_size;
        if offset + entry_size > bytes {
            break;
        }
        // SAFETY: offset + entry_size is within the buffer (checked above);
        // read_unaligned makes no alignment assumption.
        let entry = unsafe {
            base.add(offset)
                .cast::<LUID_AND_ATTRIBUTES>()
                .read_unaligned()
        };
        if entry.Luid.LowPart == luid.LowPart && entry.Luid.HighPart == luid.HighPart {
            return Ok(true);
        }
    }
    Ok(false)
}

/// Whether this process runs elevated (the token's `TokenElevation`).
/// `false` when the token cannot be read.
pub fn is_elevated() -> bool {
    tenuto_win::is_elevated()
}

// ---------------------------------------------------------------------------
// Process class (process-wide, shared by every driver instance)

/// What to do about a requested process class.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ClassDecision {
    /// Call `SetPriorityClass` with this class.
    Set(u32),
    /// The process already runs at this class or higher: change nothing
    /// (Tenuto never lowers the host's class).
    Keep(u32),
    /// Refuse the class (keep the thread level).
    Refuse(SchedError),
}

/// Decides what to do about `requested` for a process now in `current`
/// (a Win32 class constant), given whether the token holds
/// `SeIncreaseBasePriorityPrivilege`. Pure, for tests and diagnostics.
pub fn decide_process_class(
    requested: ProcessClass,
    current: u32,
    realtime_privilege: bool,
) -> ClassDecision {
    let wanted = class_value(requested);
    if class_rank(current) >= class_rank(wanted) {
        ClassDecision::Keep(current)
    } else if requested == ProcessClass::Realtime && !realtime_privilege {
        ClassDecision::Refuse(SchedError::RealtimeWithoutPrivilege)
    } else {
        ClassDecision::Set(wanted)
    }
}

/// The process class before the first raise, and how many guards hold a
/// raise. The first raise saves the class; the last release restores it,
/// so two driver instances in one host do not restore each other's class.
/// Locked only in `apply` and `Drop`, never in the period loop.
struct ClassHolders {
    count: u32,
    original: u32,
}

static CLASS_HOLDERS: Mutex<ClassHolders> = Mutex::new(ClassHolders {
    count: 0,
    original: 0,
});

/// What became of the requested process class.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ClassOutcome {
    /// No class was requested.
    NotRequested,
    /// The process was raised from `from` to `to`; restored on drop.
    Raised {
        /// The class before (Win32 constant).
        from: u32,
        /// The class now.
        to: u32,
    },
    /// Windows gave `got` instead of `requested` (REALTIME without the
    /// privilege becomes HIGH); restored on drop all the same.
    Downgraded {
        /// The class before.
        from: u32,
        /// The class asked for.
        requested: u32,
        /// The class the process reads.
        got: u32,
    },
    /// The process already ran at this class or higher; left alone.
    AlreadyAtLeast(u32),
    /// Not applied; the thread level still was.
    Refused(SchedError),
}

/// The process's priority class now (a Win32 constant; [`class_name`]
/// names it).
pub fn process_priority_class() -> Result<u32, SchedError> {
    current_class()
}

/// The calling thread's relative priority level (`GetThreadPriority`:
/// 0 normal, 2 highest, 15 time-critical, …); `None` on failure.
pub fn thread_level() -> Option<i32> {
    // SAFETY: pseudo-handle of the calling thread.
    let level = unsafe { GetThreadPriority(GetCurrentThread()) };
    (level != THREAD_PRIORITY_ERROR_RETURN).then_some(level)
}

fn current_class() -> Result<u32, SchedError> {
    // SAFETY: GetCurrentProcess is a pseudo-handle.
    let class = unsafe { GetPriorityClass(GetCurrentProcess()) };
    if class == 0 {
        Err(SchedError::ProcessClass {
            call: "GetPriorityClass",
            class: 0,
            code: last_error(),
        })
    } else {
        Ok(class)
    }
}

fn set_class(class: u32) -> Result<(), u32> {
    // SAFETY: GetCurrentProcess is a pseudo-handle; the class is a constant.
    if unsafe { SetPriorityClass(GetCurrentProcess(), class) } == 0 {
        Err(last_error())
    } else {
        Ok(())
    }
}

/// Raises the process class (through the shared holder count).
fn raise_class(requested: ProcessClass, privilege: Option<bool>) -> ClassOutcome {
    let mut holders = CLASS_HOLDERS.lock();
    let current = match current_class() {
        Ok(c) => c,
        Err(e) => return ClassOutcome::Refused(e),
    };
    let privilege = match (requested, privilege) {
        (ProcessClass::High, _) => true,
        (ProcessClass::Realtime, Some(p)) => p,
        (ProcessClass::Realtime, None) => match has_increase_base_priority_privilege() {
            Ok(p) => p,
            Err(e) => return ClassOutcome::Refused(e),
        },
    };
    match decide_process_class(requested, current, privilege) {
        ClassDecision::Keep(c) => ClassOutcome::AlreadyAtLeast(c),
        ClassDecision::Refuse(e) => ClassOutcome::Refused(e),
        ClassDecision::Set(wanted) => {
            if let Err(code) = set_class(wanted) {
                return ClassOutcome::Refused(SchedError::ProcessClass {
                    call: "SetPriorityClass",
                    class: wanted,
                    code,
                });
            }
            if holders.count == 0 {
                holders.original = current;
            }
            holders.count += 1;
            let got = current_class().unwrap_or(wanted);
            if got == wanted {
                ClassOutcome::Raised {
                    from: current,
                    to: wanted,
                }
            } else {
                ClassOutcome::Downgraded {
                    from: current,
                    requested: wanted,
                    got,
                }
            }
        }
    }
}

fn release_class() -> Result<(), SchedError> {
    let mut holders = CLASS_HOLDERS.lock();
    holders.count = holders.count.saturating_sub(1);
    if holders.count == 0 && holders.original != 0 {
        let original = std::mem::take(&mut holders.original);
        set_class(original).map_err(|code| SchedError::ProcessClass {
            call: "SetPriorityClass (restoring)",
            class: original,
            code,
        })?;
    }
    Ok(())
}

// ---------------------------------------------------------------------------
// EcoQoS

/// What became of the EcoQoS opt-out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EcoQos {
    /// Not requested.
    NotRequested,
    /// The thread is opted out of execution-speed throttling; reverted on
    /// drop (the system decides again).
    OptedOut,
    /// The call failed (not fatal).
    Failed(SchedError),
}

/// `THREADINFOCLASS::ThreadPowerThrottlingState` (not in windows-sys), what
/// `GetThreadInformation(ThreadPowerThrottling)` queries. Called directly
/// because Wine 8's kernel32 `GetThreadInformation` is an aborting stub.
const THREAD_POWER_THROTTLING_STATE_CLASS: i32 = 49;

/// The calling thread's power-throttling request: `(ControlMask,
/// StateMask)`. `(1, 0)` = opted out of execution-speed throttling,
/// `(0, 0)` = the system decides. This is the request, not whether the
/// scheduler throttles the thread now. Windows 10 1709+; Wine refuses.
pub fn power_throttling_request() -> Result<(u32, u32), SchedError> {
    let mut state = THREAD_POWER_THROTTLING_STATE {
        Version: THREAD_POWER_THROTTLING_CURRENT_VERSION,
        ControlMask: 0,
        StateMask: 0,
    };
    // SAFETY: pseudo-handle of the calling thread; `state` is a live
    // THREAD_POWER_THROTTLING_STATE and its exact size is passed; the
    // return-length pointer may be null.
    let status = unsafe {
        NtQueryInformationThread(
            GetCurrentThread(),
            THREAD_POWER_THROTTLING_STATE_CLASS,
            (&raw mut state).cast::<c_void>(),
            size_of::<THREAD_POWER_THROTTLING_STATE>() as u32,
            std::ptr::null_mut(),
        )
    };
    if status < 0 {
        Err(SchedError::EcoQosQuery { status })
    } else {
        Ok((state.ControlMask, state.StateMask))
    }
}

fn set_power_throttling(control_mask: u32) -> Result<(), u32> {
    let state = THREAD_POWER_THROTTLING_STATE {
        Version: THREAD_POWER_THROTTLING_CURRENT_VERSION,
        ControlMask: control_mask,
        StateMask: 0,
    };
    // SAFETY: pseudo-handle of the calling thread; `state` is a live
    // THREAD_POWER_THROTTLING_STATE and its exact size is passed.
    let ok = unsafe {
        SetThreadInformation(
            GetCurrentThread(),
            ThreadPowerThrottling,
            (&raw const state).cast::<c_void>(),
            size_of::<THREAD_POWER_THROTTLING_STATE>() as u32,
        )
    };
    if ok == 0 {
        Err(last_error())
    } else {
        Ok(())
    }
}

// ---------------------------------------------------------------------------
// MMCSS

/// Registers the calling thread for `task`; returns the AVRT handle and the
/// task index.
fn mmcss_register(task: &str) -> Result<(HANDLE, u32), u32> {
    let name = to_wide(task);
    let mut index = 0u32;
    // SAFETY: `name` is NUL-terminated UTF-16 and outlives the call;
    // `index` is a live in/out u32 that is 0 on the first call, as required.
    let handle = unsafe { AvSetMmThreadCharacteristicsW(name.as_ptr(), &mut index) };
    if handle.is_null() {
        Err(last_error())
    } else {
        Ok((handle, index))
    }
}

fn mmcss_revert(handle: HANDLE) -> Result<(), u32> {
    // SAFETY: `handle` came from AvSetMmThreadCharacteristicsW on this
    // thread and is reverted once (callers forget it afterwards).
    if unsafe { AvRevertMmThreadCharacteristics(handle) } == 0 {
        Err(last_error())
    } else {
        Ok(())
    }
}

/// Registers the calling thread for `task` and reverts at once: whether
/// MMCSS accepts registrations (for `tenuto mmcss status`). Returns the
/// task index, or the error code.
pub(crate) fn mmcss_probe(task: &str) -> Result<u32, u32> {
    let (handle, index) = mmcss_register(task)?;
    mmcss_revert(handle)?;
    Ok(index)
}

// ---------------------------------------------------------------------------
// The policy

/// The engine's [`ThreadPolicy`] on Windows, built from the user's
/// [`Scheduling`] (its `windows`, `mmcss_fallback` and `eco_qos_opt_out`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WindowsThreadPolicy {
    policy: WindowsPolicy,
    fallback: MmcssFallback,
    eco_qos_opt_out: bool,
}

impl From<&Scheduling> for WindowsThreadPolicy {
    fn from(s: &Scheduling) -> Self {
        Self::new(s)
    }
}

impl WindowsThreadPolicy {
    /// The Windows part of `scheduling`.
    pub fn new(scheduling: &Scheduling) -> Self {
        Self {
            policy: scheduling.windows.clone(),
            fallback: scheduling.mmcss_fallback,
            eco_qos_opt_out: scheduling.eco_qos_opt_out,
        }
    }

    /// The policy this applies.
    pub fn policy(&self) -> &WindowsPolicy {
        &self.policy
    }

    /// Applies the policy to the calling thread; the guard reverts it when
    /// dropped (on this thread). Like [`ThreadPolicy::apply`] with the
    /// concrete guard type, which tests and diagnostics can inspect.
    pub fn apply_here(&self) -> AppliedWindowsPolicy {
        self.apply_inner(None, None)
    }

    /// As [`apply_here`](Self::apply_here), but as if MMCSS had refused
    /// with `error` (the MMCSS call is not made): exercises the fallback
    /// where MMCSS always accepts (Wine). For tests and diagnostics.
    pub fn apply_simulating_mmcss_refusal(&self, error: u32) -> AppliedWindowsPolicy {
        self.apply_inner(Some(error), None)
    }

    /// As [`apply_here`](Self::apply_here), with the privilege check for a
    /// REALTIME class answered by `realtime_privilege` instead of the token.
    /// For tests and diagnostics.
    pub fn apply_with_privilege(&self, realtime_privilege: bool) -> AppliedWindowsPolicy {
        self.apply_inner(None, Some(realtime_privilege))
    }

    fn apply_inner(
        &self,
        simulated_refusal: Option<u32>,
        privilege: Option<bool>,
    ) -> AppliedWindowsPolicy {
        let mut g = AppliedWindowsPolicy {
            mode: Mode::Inherit,
            mmcss_handle: None,
            old_level: None,
            holds_class: false,
            eco: EcoQos::NotRequested,
            expected_base: None,
            wine: is_wine(),
            description: String::new(),
            _not_send: PhantomData,
        };
        match &self.policy {
            WindowsPolicy::Inherit => {}
            WindowsPolicy::Mmcss { task, priority } => {
                let registered = match simulated_refusal {
                    Some(code) => Err(code),
                    None => mmcss_register(task),
                };
                match registered {
                    Ok((handle, task_index)) => {
                        g.mmcss_handle = Some(handle);
                        // SAFETY: `handle` is the live registration just
                        // made on this thread; the priority is a valid
                        // AVRT_PRIORITY (-1..=2).
                        let ok = unsafe { AvSetMmThreadPriority(handle, priority.avrt_value()) };
                        let priority_error = (ok == 0).then(|| SchedError::MmcssPriority {
                            priority: *priority,
                            code: last_error(),
                        });
                        g.mode = Mode::Mmcss {
                            task: task.clone(),
                            priority: *priority,
                            task_index,
                            priority_error,
                        };
                    }
                    Err(code) => {
                        let known_tasks = if code == 1550 {
                            mmcss_tasks()
                        } else {
                            Vec::new()
                        };
                        let refused = SchedError::MmcssRefused {
                            task: task.clone(),
                            code,
                            known_tasks,
                        };
                        let fallback = match self.fallback {
                            MmcssFallback::Inherit => None,
                            MmcssFallback::ManualTimeCritical => {
                                Some(g.apply_manual(ThreadLevel::TimeCritical, None, privilege))
                            }
                        };
                        g.mode = Mode::Refused {
                            task: task.clone(),
                            code,
                            error: refused,
                            fallback: fallback.map(Box::new),
                        };
                    }
                }
            }
            WindowsPolicy::Manual {
                level,
                process_class,
            } => {
                g.mode = Mode::Manual(g.apply_manual(*level, *process_class, privilege));
            }
        }
        if self.eco_qos_opt_out {
            g.eco = match set_power_throttling(THREAD_POWER_THROTTLING_EXECUTION_SPEED) {
                Ok(()) => EcoQos::OptedOut,
                Err(code) => EcoQos::Failed(SchedError::EcoQos { code }),
            };
        }
        g.description = g.build_description();
        g
    }
}

impl ThreadPolicy for WindowsThreadPolicy {
    fn apply(&self) -> Box<dyn AppliedPolicy> {
        Box::new(self.apply_here())
    }
}

/// The manual part of a policy as applied.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ManualOutcome {
    /// The level asked for.
    pub level: ThreadLevel,
    /// `Err` when `SetThreadPriority` (or saving the old level) failed.
    pub thread: Result<(), SchedError>,
    /// The process class.
    pub class: ClassOutcome,
    /// The process class in effect afterwards (Win32 constant).
    pub effective_class: u32,
    /// The base priority Windows' rules give the thread now.
    pub base_priority: i32,
    /// The base priority the thread reads right after the change
    /// (`THREAD_BASIC_INFORMATION.BasePriority`; under Wine the relative
    /// level). `None` when unreadable or when the level was not set.
    pub measured_base: Option<i32>,
}

#[derive(Debug)]
enum Mode {
    Inherit,
    Mmcss {
        task: String,
        priority: AvrtPriority,
        task_index: u32,
        priority_error: Option<SchedError>,
    },
    Refused {
        task: String,
        code: u32,
        error: SchedError,
        fallback: Option<Box<ManualOutcome>>,
    },
    Manual(ManualOutcome),
}

/// A Windows policy in effect on the calling thread. Dropping it (on the
/// same thread — it is `!Send`) reverts the MMCSS registration, restores
/// the thread level and the process class, and lets the system decide
/// about power throttling again.
#[derive(Debug)]
pub struct AppliedWindowsPolicy {
    mode: Mode,
    mmcss_handle: Option<HANDLE>,
    old_level: Option<i32>,
    holds_class: bool,
    eco: EcoQos,
    expected_base: Option<i32>,
    wine: bool,
    description: String,
    _not_send: PhantomData<*const ()>,
}

impl AppliedWindowsPolicy {
    fn apply_manual(
        &mut self,
        level: ThreadLevel,
        class: Option<ProcessClass>,
        privilege: Option<bool>,
    ) -> ManualOutcome {
        // SAFETY: pseudo-handle of the calling thread.
        let old = unsafe { GetThreadPriority(GetCurrentThread()) };
        let thread = if old == THREAD_PRIORITY_ERROR_RETURN {
            Err(SchedError::ThreadPriorityQuery { code: last_error() })
        } else {
            // SAFETY: pseudo-handle of the calling thread; a valid level.
            if unsafe { SetThreadPriority(GetCurrentThread(), level.win32_value()) } == 0 {
                Err(SchedError::ThreadPriority {
                    level,
                    code: last_error(),
                })
            } else {
                self.old_level = Some(old);
                Ok(())
            }
        };
        let class_outcome = match class {
            None => ClassOutcome::NotRequested,
            Some(c) => raise_class(c, privilege),
        };
        if matches!(
            class_outcome,
            ClassOutcome::Raised { .. } | ClassOutcome::Downgraded { .. }
        ) {
            self.holds_class = true;
        }
        let effective_class = current_class().unwrap_or(NORMAL_PRIORITY_CLASS);
        let base_priority = base_priority_in_class(level, effective_class);
        let mut measured_base = None;
        if thread.is_ok() {
            // SAFETY: pseudo-handle of the calling thread; no arguments.
            measured_base = query_thread(unsafe { GetCurrentThread() })
                .ok()
                .map(|(_, base)| base);
            // What the thread really reads is the reference for demotions
            // (it differs from the rules only under Wine or when Windows
            // changed the class underneath).
            self.expected_base = Some(measured_base.unwrap_or(base_priority));
        }
        ManualOutcome {
            level,
            thread,
            class: class_outcome,
            effective_class,
            base_priority,
            measured_base,
        }
    }

    /// Whether the thread is registered with MMCSS.
    pub fn mmcss_registered(&self) -> bool {
        self.mmcss_handle.is_some()
    }

    /// The MMCSS task index of the registration.
    pub fn mmcss_task_index(&self) -> Option<u32> {
        match &self.mode {
            Mode::Mmcss { task_index, .. } => Some(*task_index),
            _ => None,
        }
    }

    /// Why MMCSS refused, when it did (the fallback is then in effect).
    pub fn mmcss_refusal(&self) -> Option<&SchedError> {
        match &self.mode {
            Mode::Refused { error, .. } => Some(error),
            _ => None,
        }
    }

    /// The manual priority in effect (chosen, or the MMCSS fallback).
    pub fn manual(&self) -> Option<&ManualOutcome> {
        match &self.mode {
            Mode::Manual(m) => Some(m),
            Mode::Refused { fallback, .. } => fallback.as_deref(),
            _ => None,
        }
    }

    /// What became of the EcoQoS opt-out.
    pub fn eco_qos(&self) -> &EcoQos {
        &self.eco
    }

    /// The base priority a manual policy should give the thread.
    pub fn expected_base_priority(&self) -> Option<i32> {
        self.expected_base
    }

    fn build_description(&self) -> String {
        let mut s = match &self.mode {
            Mode::Inherit => "inherit: thread left as created".to_owned(),
            Mode::Mmcss {
                task,
                priority,
                task_index,
                priority_error,
            } => match priority_error {
                None => format!(
                    "MMCSS \"{task}\" at {} (registered, task index {task_index})",
                    avrt_name(*priority)
                ),
                Some(SchedError::MmcssPriority { code, .. }) => format!(
                    "MMCSS \"{task}\" (registered, task index {task_index}) at the task's default priority: AvSetMmThreadPriority({}) failed (error {code}: {})",
                    avrt_name(*priority),
                    win32_meaning(*code)
                ),
                Some(e) => format!("MMCSS \"{task}\" (task index {task_index}): {e}"),
            },
            Mode::Refused {
                task,
                code,
                fallback,
                ..
            } => {
                let fb = match fallback {
                    None => "inherit (thread left as created)".to_owned(),
                    Some(m) => describe_manual(m),
                };
                format!(
                    "MMCSS \"{task}\" refused (error {code}: {}); fallback: {fb}",
                    win32_meaning(*code)
                )
            }
            Mode::Manual(m) => describe_manual(m),
        };
        if let Some(m) = self.manual() {
            match m.measured_base {
                Some(b) if b != m.base_priority && !self.wine => {
                    s.push_str(&format!(" (the thread reads base {b})"));
                }
                _ => {}
            }
        }
        match &self.eco {
            EcoQos::NotRequested => {}
            EcoQos::OptedOut => s.push_str("; EcoQoS opt-out"),
            EcoQos::Failed(SchedError::EcoQos { code }) => s.push_str(&format!(
                "; EcoQoS opt-out failed (error {code}: {})",
                win32_meaning(*code)
            )),
            EcoQos::Failed(e) => s.push_str(&format!("; {e}")),
        }
        if self.wine {
            s.push_str(" [Wine: MMCSS calls have no effect; priorities read as Wine's levels]");
        }
        s
    }

    /// Reverts everything now (as dropping does) and reports the first
    /// failure; every step is attempted regardless.
    pub fn revert(mut self) -> Result<(), SchedError> {
        self.revert_all()
    }

    fn revert_all(&mut self) -> Result<(), SchedError> {
        let mut first: Option<SchedError> = None;
        let mut note = |r: Result<(), SchedError>| {
            if let Err(e) = r {
                first.get_or_insert(e);
            }
        };
        // Reverse order of apply.
        if matches!(self.eco, EcoQos::OptedOut) {
            self.eco = EcoQos::NotRequested;
            note(set_power_throttling(0).map_err(|code| SchedError::EcoQos { code }));
        }
        if let Some(handle) = self.mmcss_handle.take() {
            note(mmcss_revert(handle).map_err(|code| SchedError::MmcssRevert { code }));
        }
        if let Some(old) = self.old_level.take() {
            // SAFETY: pseudo-handle of the calling thread (the guard is
            // !Send, so this is the thread that was changed); `old` is the
            // level GetThreadPriority returned for it.
            if unsafe { SetThreadPriority(GetCurrentThread(), old) } == 0 {
                note(Err(SchedError::ThreadPriorityRestore {
                    level: old,
                    code: last_error(),
                }));
            }
        }
        if std::mem::take(&mut self.holds_class) {
            note(release_class());
        }
        first.map_or(Ok(()), Err)
    }
}

fn describe_manual(m: &ManualOutcome) -> String {
    let level = level_name(m.level);
    if let Err(e) = &m.thread {
        return format!("manual {level} not applied: {e}");
    }
    let class = class_name(m.effective_class);
    let mut s = match &m.class {
        ClassOutcome::NotRequested if m.effective_class == NORMAL_PRIORITY_CLASS => {
            format!("manual {level}: base priority {}", m.base_priority)
        }
        ClassOutcome::NotRequested => format!(
            "manual {level} in a {class} process (the host's class): base priority {}",
            m.base_priority
        ),
        ClassOutcome::Raised { from, .. } => format!(
            "manual {level} in a {class} process (raised from {}): base priority {}",
            class_name(*from),
            m.base_priority
        ),
        ClassOutcome::Downgraded {
            from,
            requested,
            got,
        } => format!(
            "manual {level} in a {class} process (raised from {}; {} was asked but Windows gave {} — the privilege is missing): base priority {}",
            class_name(*from),
            class_name(*requested),
            class_name(*got),
            m.base_priority
        ),
        ClassOutcome::AlreadyAtLeast(_) => format!(
            "manual {level} in a {class} process (already so; unchanged): base priority {}",
            m.base_priority
        ),
        ClassOutcome::Refused(_) => {
            format!("manual {level}: base priority {}", m.base_priority)
        }
    };
    if let ClassOutcome::Refused(e) = &m.class {
        s.push_str(&format!(" ({e})"));
    }
    s
}

impl AppliedPolicy for AppliedWindowsPolicy {
    fn describe(&self) -> String {
        self.description.clone()
    }

    /// The absolute current priority (`THREAD_BASIC_INFORMATION.Priority`)
    /// of the calling thread. One system call into a stack buffer: no
    /// allocation, no lock. (Under Wine this reads the relative level:
    /// 0 for a normal thread, 15 for TIME_CRITICAL.) Power throttling is
    /// not sampled: Windows exposes only the thread's throttling *request*
    /// ([`power_throttling_request`]), not whether its QoS heuristics
    /// currently slow the thread, so no late period is blamed on it.
    fn sample(&mut self) -> Option<PrioritySample> {
        // SAFETY: pseudo-handle of the calling thread; no arguments.
        let me = unsafe { GetCurrentThread() };
        let (priority, _) = query_thread(me).ok()?;
        Some(PrioritySample {
            priority,
            realtime: priority >= REALTIME_RANGE_MIN,
        })
    }

    /// MMCSS-registered and in the exhausted band (≤ 7; never under Wine,
    /// whose avrt does nothing); or manual and more than 2 below the base
    /// priority the thread read right after the policy was applied.
    fn is_demoted(&self, sample: &PrioritySample) -> bool {
        if self.mmcss_handle.is_some() {
            // Under Wine registration changes nothing: no band to fall from.
            !self.wine && sample.priority <= MMCSS_EXHAUSTED_MAX
        } else if let Some(base) = self.expected_base {
            sample.priority < base - MANUAL_DEMOTION_SLACK
        } else {
            false
        }
    }
}

impl Drop for AppliedWindowsPolicy {
    fn drop(&mut self) {
        // Nothing can report a failure from a destructor; `revert` does.
        let _ = self.revert_all();
    }
}

impl fmt::Display for AppliedWindowsPolicy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.description)
    }
}

// ---------------------------------------------------------------------------
// Timer resolution

/// A raised system timer resolution (`timeBeginPeriod`); dropping it calls
/// the matching `timeEndPeriod`.
///
/// Only for backends whose driver thread waits on timers — the virtual
/// device sleeps between periods, and at the default 15.6 ms resolution
/// its wake-ups would be late. Event-driven WASAPI streams do not need it.
/// The DLL takes it when it starts a timer-driven stream and drops it when
/// the stream stops. Since Windows 10 2004 the resolution is per-process,
/// so it no longer costs the whole system power. Not part of
/// [`WindowsThreadPolicy`], which knows nothing of the backend.
#[derive(Debug)]
pub struct TimerResolution {
    ms: u32,
}

impl TimerResolution {
    /// The resolution held, ms.
    pub fn ms(&self) -> u32 {
        self.ms
    }
}

/// Raises the timer resolution to `ms` milliseconds until the guard drops.
pub fn timer_resolution_guard(ms: u32) -> Result<TimerResolution, SchedError> {
    // SAFETY: a plain value argument.
    let code = unsafe { timeBeginPeriod(ms) };
    if code == TIMERR_NOERROR {
        Ok(TimerResolution { ms })
    } else {
        Err(SchedError::TimerResolution { ms, code })
    }
}

impl Drop for TimerResolution {
    fn drop(&mut self) {
        // SAFETY: a plain value argument, matching a successful
        // timeBeginPeriod(self.ms).
        unsafe { timeEndPeriod(self.ms) };
    }
}
