//! What real-time scheduling the calling thread may get, and by which way
//! (for the CLI and the doctor).

use std::fmt;

use super::rtkit;
use super::sys;

/// Bit of CAP_SYS_NICE in the capability sets.
const CAP_SYS_NICE: u32 = 23;

/// Whether rtkit can be asked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RtkitStatus {
    /// rtkit answered on the system bus.
    Available {
        /// Highest priority it grants (`MaxRealtimePriority`).
        max_priority: u32,
        /// Highest RLIMIT_RTTIME hard limit it accepts, µs (`RTTimeUSecMax`).
        rttime_max_us: u64,
    },
    /// Why not.
    Unavailable {
        /// "no system bus", "cannot connect to the system bus: …", or the bus's or rtkit's answer.
        reason: String,
    },
}

/// What real-time scheduling the calling thread may get, and by which way.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RealtimeAccess {
    /// Effective user id of the calling thread.
    pub euid: u32,
    /// The calling thread has CAP_SYS_NICE (any FIFO/RR priority, DEADLINE).
    pub cap_sys_nice: bool,
    /// RLIMIT_RTPRIO soft limit (None = unlimited).
    pub rlimit_rtprio: Option<u64>,
    /// RLIMIT_RTTIME soft and hard limits, µs (None = unlimited).
    pub rlimit_rttime_us: (Option<u64>, Option<u64>),
    /// rtkit, for when the direct way is refused.
    pub rtkit: RtkitStatus,
}

impl RealtimeAccess {
    /// Highest FIFO/RR priority the thread may set itself (0 = none).
    pub fn max_direct_priority(&self) -> u8 {
        if self.cap_sys_nice {
            return 99;
        }
        self.rlimit_rtprio.map_or(99, |v| v.min(99) as u8)
    }

    /// One line: what is possible and, if little, what to do.
    pub fn explanation(&self) -> String {
        let rtkit = match &self.rtkit {
            RtkitStatus::Available { max_priority, .. } => {
                format!("rtkit grants SCHED_RR up to {max_priority}")
            }
            RtkitStatus::Unavailable { reason } => format!("rtkit unavailable ({reason})"),
        };
        if self.cap_sys_nice {
            format!(
                "CAP_SYS_NICE{}: SCHED_FIFO/RR 1–99 and SCHED_DEADLINE directly; {rtkit}",
                if self.euid == 0 { " (root)" } else { "" }
            )
        } else {
            let max = self.max_direct_priority();
            let direct = if max > 0 {
                format!("RLIMIT_RTPRIO {max}: SCHED_FIFO/RR up to {max} directly")
            } else {
                "RLIMIT_RTPRIO 0: no real-time priority directly".to_owned()
            };
            let todo = match (&self.rtkit, max) {
                (_, 1..) | (RtkitStatus::Available { .. }, _) => "",
                _ => {
                    "; raise RLIMIT_RTPRIO (ulimit -r, /etc/security/limits.conf) or make \
                     rtkit-daemon reachable"
                }
            };
            format!("{direct}; SCHED_DEADLINE needs CAP_SYS_NICE; {rtkit}{todo}")
        }
    }
}

impl fmt::Display for RealtimeAccess {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.explanation())
    }
}

fn has_cap_sys_nice() -> bool {
    // The calling thread's capabilities (they are per thread).
    let status = std::fs::read_to_string("/proc/thread-self/status")
        .or_else(|_| std::fs::read_to_string("/proc/self/status"))
        .unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("CapEff:"))
        .and_then(|hex| u64::from_str_radix(hex.trim(), 16).ok())
        .is_some_and(|caps| caps & (1 << CAP_SYS_NICE) != 0)
}

/// What real-time scheduling the calling thread can get: root or
/// CAP_SYS_NICE, RLIMIT_RTPRIO, and whether rtkit answers on the system
/// bus (this asks it over D-Bus, which takes a moment).
pub fn can_use_realtime() -> RealtimeAccess {
    let euid = sys::geteuid();
    let rtprio = sys::getrlimit(libc::RLIMIT_RTPRIO);
    let rttime = sys::getrlimit(libc::RLIMIT_RTTIME);
    RealtimeAccess {
        euid,
        cap_sys_nice: has_cap_sys_nice(),
        rlimit_rtprio: rtprio.map_or(Some(0), |rl| sys::limit_value(rl.rlim_cur)),
        rlimit_rttime_us: rttime.map_or((None, None), |rl| {
            (sys::limit_value(rl.rlim_cur), sys::limit_value(rl.rlim_max))
        }),
        rtkit: match rtkit::properties() {
            Ok((max_priority, rttime_max_us)) => RtkitStatus::Available {
                max_priority,
                rttime_max_us,
            },
            Err(e) => RtkitStatus::Unavailable {
                reason: e.to_string(),
            },
        },
    }
}
