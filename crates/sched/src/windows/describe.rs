//! The one-line description of an applied Windows policy that the log, the
//! CLI and the DLL's error message show.

use tenuto_win::win32_meaning;
use windows_sys::Win32::System::Threading::NORMAL_PRIORITY_CLASS;

use super::class::ClassOutcome;
use super::error::SchedError;
use super::levels::{avrt_name, class_name, level_name};
use super::outcome::{ManualOutcome, Mode};
use super::throttling::EcoQos;

/// What `mode` and `eco` mean, with Wine's caveat when `wine`.
pub(super) fn describe(mode: &Mode, eco: &EcoQos, wine: bool) -> String {
    let mut s = match mode {
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
    if let Some(m) = mode.manual() {
        match m.measured_base {
            Some(b) if b != m.base_priority && !wine => {
                s.push_str(&format!(" (the thread reads base {b})"));
            }
            _ => {}
        }
    }
    match eco {
        EcoQos::NotRequested => {}
        EcoQos::OptedOut => s.push_str("; EcoQoS opt-out"),
        EcoQos::Failed(SchedError::EcoQos { code }) => s.push_str(&format!(
            "; EcoQoS opt-out failed (error {code}: {})",
            win32_meaning(*code)
        )),
        EcoQos::Failed(e) => s.push_str(&format!("; {e}")),
    }
    if wine {
        s.push_str(" [Wine: MMCSS calls have no effect; priorities read as Wine's levels]");
    }
    s
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
