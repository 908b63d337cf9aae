//! Why a Linux policy could not be applied, and what the user can do.

use std::fmt;

use thiserror::Error;

/// An errno value, displayed by its symbolic name ("EPERM").
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Errno(pub i32);

impl Errno {
    pub(super) fn last() -> Self {
        Self(
            std::io::Error::last_os_error()
                .raw_os_error()
                .unwrap_or(libc::EIO),
        )
    }

    /// The symbolic name, when it is one this module expects.
    pub fn name(self) -> Option<&'static str> {
        Some(match self.0 {
            libc::EPERM => "EPERM",
            libc::EINVAL => "EINVAL",
            libc::EBUSY => "EBUSY",
            libc::ESRCH => "ESRCH",
            libc::ENOSYS => "ENOSYS",
            libc::EAGAIN => "EAGAIN",
            libc::EACCES => "EACCES",
            libc::E2BIG => "E2BIG",
            libc::EFAULT => "EFAULT",
            libc::ENOMEM => "ENOMEM",
            libc::EIO => "EIO",
            _ => return None,
        })
    }
}

impl fmt::Display for Errno {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.name() {
            Some(n) => f.write_str(n),
            None => write!(f, "errno {}", self.0),
        }
    }
}

/// Why a Linux scheduling policy could not be applied.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum LinuxSchedError {
    /// A FIFO/RR priority outside 1–99.
    #[error("{policy} priority {priority} is out of range: use 1–99")]
    InvalidPriority {
        /// "SCHED_FIFO" or "SCHED_RR".
        policy: &'static str,
        /// The priority asked for.
        priority: u8,
    },
    /// The kernel refused FIFO/RR and rtkit was not tried.
    #[error("{policy} priority {priority} refused ({errno}): {hint}")]
    Refused {
        /// "SCHED_FIFO" or "SCHED_RR".
        policy: &'static str,
        /// The priority asked for.
        priority: u8,
        /// What `pthread_setschedparam` returned.
        errno: Errno,
        /// What the user can do.
        hint: &'static str,
    },
    /// The kernel refused FIFO/RR (or was not asked) and rtkit failed too.
    #[error(
        "{policy} {priority} refused ({}), rtkit {reason}: raise RLIMIT_RTPRIO (ulimit -r; e.g. \
         '@audio - rtprio 95' in /etc/security/limits.conf) or {hint}",
        direct.map_or_else(|| "not tried".to_owned(), |e| e.to_string())
    )]
    RtkitFailed {
        /// "SCHED_FIFO" or "SCHED_RR".
        policy: &'static str,
        /// The priority asked for.
        priority: u8,
        /// What the direct attempt returned (None: not tried).
        direct: Option<Errno>,
        /// Why rtkit did not help: "unavailable (no system bus)",
        /// "refused (Access denied)", …
        reason: String,
        /// What the user can do about rtkit.
        hint: &'static str,
    },
    /// SCHED_DEADLINE without a period.
    #[error(
        "SCHED_DEADLINE needs the buffer period (deadline = period = one buffer), but none was \
         given: construct the policy with with_period() once the buffer size and rate are known"
    )]
    DeadlineNeedsPeriod,
    /// SCHED_DEADLINE parameters that cannot work.
    #[error(
        "SCHED_DEADLINE runtime {runtime_ns} ns with period {period_ns} ns is invalid: the \
         runtime must be at least 1024 ns and at most the period; give a runtime in µs below \
         the buffer period"
    )]
    DeadlineParams {
        /// Runtime per period, ns.
        runtime_ns: u64,
        /// Period (= deadline), ns.
        period_ns: u64,
    },
    /// The kernel refused SCHED_DEADLINE.
    #[error(
        "SCHED_DEADLINE runtime {runtime_ns} ns / deadline {deadline_ns} ns / period {period_ns} \
         ns refused ({errno}): {hint}"
    )]
    DeadlineRefused {
        /// Runtime per period, ns.
        runtime_ns: u64,
        /// Deadline, ns.
        deadline_ns: u64,
        /// Period, ns.
        period_ns: u64,
        /// What `sched_setattr` returned.
        errno: Errno,
        /// What the user can do.
        hint: &'static str,
    },
    /// The policy was set but reading it back shows something else.
    #[error("{asked} was accepted but the thread reads back as {found}")]
    NotInEffect {
        /// What was asked for.
        asked: String,
        /// What the thread shows.
        found: String,
    },
}

pub(super) fn rt_hint(errno: Errno) -> &'static str {
    match errno.0 {
        libc::EPERM => {
            "raise RLIMIT_RTPRIO (ulimit -r; e.g. '@audio - rtprio 95' in \
             /etc/security/limits.conf) or run through rtkit"
        }
        libc::EINVAL => "the priority must be 1–99 for SCHED_FIFO/SCHED_RR",
        _ => "the kernel refused the real-time class; use inherit or check the system's limits",
    }
}

pub(super) fn deadline_hint(errno: Errno) -> &'static str {
    match errno.0 {
        libc::EPERM => {
            "SCHED_DEADLINE needs CAP_SYS_NICE (root), rtkit cannot grant it, and the thread's CPU \
             affinity must cover its whole root domain (no restricted cpuset/taskset); run as root \
             or choose SCHED_FIFO"
        }
        libc::EBUSY => {
            "admission control refused the bandwidth: other deadline tasks or \
             kernel.sched_rt_runtime_us leave too little CPU time; lower the runtime or choose \
             SCHED_FIFO"
        }
        libc::EINVAL => {
            "the kernel rejected the parameters: runtime ≥ 1024 ns, runtime ≤ deadline ≤ period, \
             and the period within kernel.sched_deadline_period_{min,max}_us; adjust the runtime \
             or buffer size"
        }
        libc::ENOSYS => "this kernel has no SCHED_DEADLINE (needs Linux 3.14+); choose SCHED_FIFO",
        _ => "the kernel refused SCHED_DEADLINE; choose SCHED_FIFO",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errno_names() {
        assert_eq!(Errno(libc::EPERM).to_string(), "EPERM");
        assert_eq!(Errno(4095).to_string(), "errno 4095");
    }

    #[test]
    fn error_messages_say_what_to_do() {
        let e = LinuxSchedError::Refused {
            policy: "SCHED_FIFO",
            priority: 80,
            errno: Errno(libc::EPERM),
            hint: rt_hint(Errno(libc::EPERM)),
        };
        let m = e.to_string();
        assert!(m.starts_with("SCHED_FIFO priority 80 refused (EPERM): raise RLIMIT_RTPRIO"));
        let e = LinuxSchedError::RtkitFailed {
            policy: "SCHED_FIFO",
            priority: 80,
            direct: Some(Errno(libc::EPERM)),
            reason: "unavailable (no system bus)".into(),
            hint: "make rtkit-daemon reachable on the system bus",
        };
        assert!(e
            .to_string()
            .starts_with("SCHED_FIFO 80 refused (EPERM), rtkit unavailable (no system bus)"));
    }
}
