//! What the user can choose for the driver thread, independent of the OS
//! it runs on. (The Windows and Linux modules apply it.)

use serde::{Deserialize, Serialize};

/// AVRT priority for an MMCSS-registered thread (`AvSetMmThreadPriority`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AvrtPriority {
    /// AVRT_PRIORITY_LOW (−1).
    Low,
    /// AVRT_PRIORITY_NORMAL (0).
    Normal,
    /// AVRT_PRIORITY_HIGH (1).
    High,
    /// AVRT_PRIORITY_CRITICAL (2), the ASIO 2.3 recommendation.
    Critical,
}

impl AvrtPriority {
    /// The value `AvSetMmThreadPriority` takes.
    pub const fn avrt_value(self) -> i32 {
        match self {
            Self::Low => -1,
            Self::Normal => 0,
            Self::High => 1,
            Self::Critical => 2,
        }
    }
}

/// A thread priority level (`SetThreadPriority`), highest last.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ThreadLevel {
    /// THREAD_PRIORITY_NORMAL (0).
    Normal,
    /// THREAD_PRIORITY_ABOVE_NORMAL (1).
    AboveNormal,
    /// THREAD_PRIORITY_HIGHEST (2).
    Highest,
    /// THREAD_PRIORITY_TIME_CRITICAL (15).
    TimeCritical,
}

impl ThreadLevel {
    /// The value `SetThreadPriority` takes.
    pub const fn win32_value(self) -> i32 {
        match self {
            Self::Normal => 0,
            Self::AboveNormal => 1,
            Self::Highest => 2,
            Self::TimeCritical => 15,
        }
    }
}

/// A process priority class (`SetPriorityClass`); strictly opt-in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ProcessClass {
    /// HIGH_PRIORITY_CLASS (base 13).
    High,
    /// REALTIME_PRIORITY_CLASS (base 24); needs SeIncreaseBasePriorityPrivilege.
    Realtime,
}

/// Scheduling of the driver thread on Windows.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(tag = "mode", rename_all = "snake_case")]
pub enum WindowsPolicy {
    /// Leave the thread as created (for hosts that manage it themselves).
    Inherit,
    /// Register with MMCSS for `task` at `priority`.
    Mmcss {
        /// An MMCSS task name from the registry's task list ("Pro Audio").
        task: String,
        /// AVRT priority within the task.
        priority: AvrtPriority,
    },
    /// Set the thread's priority level; optionally the process's class.
    Manual {
        /// Thread level.
        level: ThreadLevel,
        /// Process class to raise the host process to while streaming.
        process_class: Option<ProcessClass>,
    },
}

impl Default for WindowsPolicy {
    fn default() -> Self {
        Self::Mmcss {
            task: "Pro Audio".to_owned(),
            priority: AvrtPriority::Critical,
        }
    }
}

/// What to do when MMCSS registration fails (service disabled, too many
/// threads).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MmcssFallback {
    /// Use manual priority at TIME_CRITICAL (base 15 in a normal process).
    ManualTimeCritical,
    /// Leave the thread as created.
    Inherit,
}

/// Scheduling of the driver thread on Linux.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(tag = "mode", rename_all = "snake_case")]
pub enum LinuxPolicy {
    /// Leave the thread as created (SCHED_OTHER).
    #[default]
    Inherit,
    /// SCHED_FIFO at `priority` (1–99); through rtkit when not permitted.
    Fifo {
        /// Real-time priority.
        priority: u8,
    },
    /// SCHED_RR at `priority` (1–99); through rtkit when not permitted.
    RoundRobin {
        /// Real-time priority.
        priority: u8,
    },
    /// SCHED_DEADLINE with period = deadline = the buffer period and the
    /// runtime given (µs), or 25 % of the period when `None` — far above the
    /// engine's measured work per period (docs/bench-engine.md), leaving
    /// room for the host's callback.
    Deadline {
        /// Runtime per period, µs.
        runtime_us: Option<u32>,
    },
}

/// Everything the user chose about the driver thread's scheduling.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Scheduling {
    /// Policy on Windows.
    pub windows: WindowsPolicy,
    /// What to do when MMCSS registration fails.
    pub mmcss_fallback: MmcssFallback,
    /// Policy on Linux.
    pub linux: LinuxPolicy,
    /// Opt the thread out of EcoQoS power throttling (Windows 11).
    pub eco_qos_opt_out: bool,
}

impl Default for Scheduling {
    fn default() -> Self {
        Self {
            windows: WindowsPolicy::default(),
            mmcss_fallback: MmcssFallback::ManualTimeCritical,
            linux: LinuxPolicy::default(),
            eco_qos_opt_out: true,
        }
    }
}

/// The base priority Windows gives a thread at `level` in a process of
/// `class` (None = NORMAL_PRIORITY_CLASS): 15 for TIME_CRITICAL outside
/// REALTIME; 24 + offset (up to 31) inside it.
pub const fn manual_base_priority(level: ThreadLevel, class: Option<ProcessClass>) -> i32 {
    match (class, level) {
        (Some(ProcessClass::Realtime), ThreadLevel::TimeCritical) => 31,
        (Some(ProcessClass::Realtime), l) => 24 + l.win32_value(),
        (_, ThreadLevel::TimeCritical) => 15,
        (Some(ProcessClass::High), l) => 13 + l.win32_value(),
        (None, l) => 8 + l.win32_value(),
    }
}

/// MMCSS priority bands (DESIGN.md §1): 23–26 high, 16–22 medium, 8–15
/// low, 1–7 exhausted (the thread was demoted).
pub const MMCSS_EXHAUSTED_MAX: i32 = 7;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base_priorities_match_windows_rules() {
        assert_eq!(manual_base_priority(ThreadLevel::TimeCritical, None), 15);
        assert_eq!(
            manual_base_priority(ThreadLevel::TimeCritical, Some(ProcessClass::High)),
            15
        );
        assert_eq!(
            manual_base_priority(ThreadLevel::Normal, Some(ProcessClass::Realtime)),
            24
        );
        assert_eq!(
            manual_base_priority(ThreadLevel::Highest, Some(ProcessClass::Realtime)),
            26
        );
        assert_eq!(
            manual_base_priority(ThreadLevel::TimeCritical, Some(ProcessClass::Realtime)),
            31
        );
        assert_eq!(manual_base_priority(ThreadLevel::Normal, None), 8);
        assert_eq!(
            manual_base_priority(ThreadLevel::Highest, Some(ProcessClass::High)),
            15
        );
    }
}
