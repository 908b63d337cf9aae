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

/// A policy named on the command line (`tenuto --policy …`).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum PolicyArg {
    /// Leave the thread as created (both OSes).
    Inherit,
    /// A Windows policy.
    Windows(WindowsPolicy),
    /// A Linux policy.
    Linux(LinuxPolicy),
}

/// Why a `--policy` value was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("--policy {value}: {problem}; use inherit, mmcss[:TASK[:low|normal|high|critical]], manual[:normal|above_normal|highest|time_critical[:high|realtime]] (Windows), fifo[:1-99], rr[:1-99] or deadline[:RUNTIME_US] (Linux)")]
pub struct PolicyArgError {
    /// The value given.
    pub value: String,
    /// What is wrong with it.
    pub problem: String,
}

impl std::str::FromStr for PolicyArg {
    type Err = PolicyArgError;

    fn from_str(value: &str) -> Result<Self, Self::Err> {
        let err = |problem: &str| PolicyArgError {
            value: value.to_owned(),
            problem: problem.to_owned(),
        };
        let mut parts = value.split(':');
        let mode = parts.next().unwrap_or("").to_ascii_lowercase();
        let rest: Vec<&str> = parts.collect();
        let rt_priority = |rest: &[&str]| -> Result<u8, PolicyArgError> {
            match rest.first() {
                None => Ok(80),
                Some(p) => p
                    .parse::<u8>()
                    .ok()
                    .filter(|p| (1..=99).contains(p))
                    .ok_or_else(|| err("the real-time priority must be 1–99")),
            }
        };
        match mode.as_str() {
            "inherit" | "none" if rest.is_empty() => Ok(Self::Inherit),
            "fifo" if rest.len() <= 1 => Ok(Self::Linux(LinuxPolicy::Fifo {
                priority: rt_priority(&rest)?,
            })),
            "rr" if rest.len() <= 1 => Ok(Self::Linux(LinuxPolicy::RoundRobin {
                priority: rt_priority(&rest)?,
            })),
            "deadline" if rest.len() <= 1 => Ok(Self::Linux(LinuxPolicy::Deadline {
                runtime_us: match rest.first() {
                    None => None,
                    Some(r) => Some(
                        r.parse::<u32>()
                            .ok()
                            .filter(|r| *r > 0)
                            .ok_or_else(|| err("the runtime must be a positive number of µs"))?,
                    ),
                },
            })),
            "mmcss" if rest.len() <= 2 => {
                let task = rest.first().map_or("Pro Audio", |t| t).to_owned();
                let priority = match rest.get(1).map(|p| p.to_ascii_lowercase()).as_deref() {
                    None | Some("critical") => AvrtPriority::Critical,
                    Some("high") => AvrtPriority::High,
                    Some("normal") => AvrtPriority::Normal,
                    Some("low") => AvrtPriority::Low,
                    Some(_) => {
                        return Err(err(
                            "the AVRT priority must be low, normal, high or critical",
                        ))
                    }
                };
                Ok(Self::Windows(WindowsPolicy::Mmcss { task, priority }))
            }
            "manual" if rest.len() <= 2 => {
                let level = match rest.first().map(|p| p.to_ascii_lowercase()).as_deref() {
                    None | Some("time_critical") => ThreadLevel::TimeCritical,
                    Some("highest") => ThreadLevel::Highest,
                    Some("above_normal") => ThreadLevel::AboveNormal,
                    Some("normal") => ThreadLevel::Normal,
                    Some(_) => return Err(err(
                        "the thread level must be normal, above_normal, highest or time_critical",
                    )),
                };
                let process_class = match rest.get(1).map(|p| p.to_ascii_lowercase()).as_deref() {
                    None => None,
                    Some("high") => Some(ProcessClass::High),
                    Some("realtime") => Some(ProcessClass::Realtime),
                    Some(_) => return Err(err("the process class must be high or realtime")),
                };
                Ok(Self::Windows(WindowsPolicy::Manual {
                    level,
                    process_class,
                }))
            }
            _ => Err(err("unknown policy or too many parts")),
        }
    }
}

impl std::fmt::Display for PolicyArg {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Inherit => f.write_str("inherit"),
            Self::Linux(LinuxPolicy::Inherit) | Self::Windows(WindowsPolicy::Inherit) => {
                f.write_str("inherit")
            }
            Self::Linux(LinuxPolicy::Fifo { priority }) => write!(f, "fifo:{priority}"),
            Self::Linux(LinuxPolicy::RoundRobin { priority }) => write!(f, "rr:{priority}"),
            Self::Linux(LinuxPolicy::Deadline { runtime_us: None }) => f.write_str("deadline"),
            Self::Linux(LinuxPolicy::Deadline {
                runtime_us: Some(r),
            }) => write!(f, "deadline:{r}"),
            Self::Windows(WindowsPolicy::Mmcss { task, priority }) => {
                write!(
                    f,
                    "mmcss:{task}:{}",
                    format!("{priority:?}").to_ascii_lowercase()
                )
            }
            Self::Windows(WindowsPolicy::Manual {
                level,
                process_class,
            }) => {
                let level = match level {
                    ThreadLevel::Normal => "normal",
                    ThreadLevel::AboveNormal => "above_normal",
                    ThreadLevel::Highest => "highest",
                    ThreadLevel::TimeCritical => "time_critical",
                };
                match process_class {
                    None => write!(f, "manual:{level}"),
                    Some(ProcessClass::High) => write!(f, "manual:{level}:high"),
                    Some(ProcessClass::Realtime) => write!(f, "manual:{level}:realtime"),
                }
            }
        }
    }
}

#[cfg(test)]
mod arg_tests {
    use super::*;

    #[test]
    fn policy_arguments_parse_and_print_back() {
        for s in [
            "inherit",
            "fifo:80",
            "rr:10",
            "deadline",
            "deadline:300",
            "mmcss:Pro Audio:critical",
            "mmcss:Audio:low",
            "manual:time_critical",
            "manual:highest:realtime",
        ] {
            let p: PolicyArg = s.parse().unwrap();
            assert_eq!(p.to_string(), s);
        }
        assert_eq!("fifo".parse::<PolicyArg>().unwrap().to_string(), "fifo:80");
        assert_eq!(
            "mmcss".parse::<PolicyArg>().unwrap().to_string(),
            "mmcss:Pro Audio:critical"
        );
        for bad in [
            "fifo:0",
            "fifo:100",
            "rr:x",
            "mmcss:Pro Audio:max",
            "manual:ultra",
            "manual:highest:idle",
            "deadline:0",
            "sched_batch",
            "inherit:1",
        ] {
            let e = bad.parse::<PolicyArg>().unwrap_err();
            assert!(e.to_string().contains(bad), "{e}");
        }
    }
}
