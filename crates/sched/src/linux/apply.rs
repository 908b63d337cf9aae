//! Applying a [`LinuxPolicy`] to the driver thread, noticing demotions and
//! reverting it: [`LinuxThreadPolicy`] (the engine's [`ThreadPolicy`]) and
//! its guard, [`LinuxApplied`].

use tenuto_engine::host::{AppliedPolicy, PrioritySample, ThreadPolicy};

use super::error::{deadline_hint, rt_hint, LinuxSchedError};
use super::rtkit;
use super::sigxcpu::{guard_sigxcpu, sigxcpu_count};
use super::state::{current_thread_state, is_realtime, policy_name, ThreadState};
use super::sys::{
    self, gettid, own_policy_and_priority, read_attr, restore_attr, sched_setattr, SchedAttr,
    DL_MIN_RUNTIME_NS, SCHED_ATTR_SIZE, SCHED_DEADLINE, SCHED_FIFO, SCHED_OTHER, SCHED_RR,
};
use crate::policy::LinuxPolicy;

/// Whether rtkit is asked when the kernel refuses SCHED_FIFO/RR.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum RtkitUse {
    /// Only after the direct attempt failed with EPERM (the default).
    #[default]
    Fallback,
    /// Never.
    Never,
    /// Always, without trying directly (for tests and diagnostics).
    Only,
}

/// A [`LinuxPolicy`] ready to be applied to the driver thread.
#[derive(Debug, Clone, PartialEq)]
pub struct LinuxThreadPolicy {
    policy: LinuxPolicy,
    /// The buffer period, ns (SCHED_DEADLINE's period and deadline).
    period_ns: Option<u64>,
    rtkit: RtkitUse,
}

impl LinuxThreadPolicy {
    /// The policy, without a period (enough for everything but DEADLINE).
    pub fn new(policy: LinuxPolicy) -> Self {
        Self {
            policy,
            period_ns: None,
            rtkit: RtkitUse::Fallback,
        }
    }

    /// Sets the buffer period, ns (SCHED_DEADLINE's deadline and period).
    pub fn with_period(mut self, period_ns: u64) -> Self {
        self.period_ns = Some(period_ns);
        self
    }

    /// Sets the buffer period from its length in frames at `sample_rate`.
    pub fn with_period_frames(self, frames: u32, sample_rate: f64) -> Self {
        self.with_period((f64::from(frames) * 1e9 / sample_rate).round() as u64)
    }

    /// Chooses whether and when rtkit is asked.
    pub fn with_rtkit(mut self, rtkit: RtkitUse) -> Self {
        self.rtkit = rtkit;
        self
    }

    /// The policy this applies.
    pub fn policy(&self) -> LinuxPolicy {
        self.policy
    }

    /// The buffer period, ns, if known.
    pub fn period_ns(&self) -> Option<u64> {
        self.period_ns
    }

    /// Applies the policy to the calling thread, or says why it could not;
    /// on error the thread is left as it was.
    pub fn try_apply(&self) -> Result<LinuxApplied, LinuxSchedError> {
        let previous = read_attr(0);
        let before = ThreadState::from_attr(&previous);
        let (how, granted) = match self.policy {
            LinuxPolicy::Inherit => {
                return Ok(LinuxApplied::unchanged(
                    previous,
                    format!("inherit: {before}"),
                ));
            }
            LinuxPolicy::Fifo { priority } => self.apply_rt(SCHED_FIFO, priority)?,
            LinuxPolicy::RoundRobin { priority } => self.apply_rt(SCHED_RR, priority)?,
            LinuxPolicy::Deadline { runtime_us } => self.apply_deadline(runtime_us)?,
        };
        guard_sigxcpu();
        Ok(LinuxApplied {
            tid: gettid(),
            previous,
            changed: true,
            granted_policy: granted.policy,
            granted_priority: granted.priority,
            description: format!("{granted} {how}"),
            sigxcpu_at_apply: sigxcpu_count(),
        })
    }

    fn apply_rt(
        &self,
        policy: i32,
        priority: u8,
    ) -> Result<(String, ThreadState), LinuxSchedError> {
        let name = policy_name(policy);
        if !(1..=99).contains(&priority) {
            return Err(LinuxSchedError::InvalidPriority {
                policy: name,
                priority,
            });
        }
        let direct = if self.rtkit == RtkitUse::Only {
            None
        } else {
            let Err(errno) = sys::set_own_realtime(policy, i32::from(priority)) else {
                let now = current_thread_state();
                if now.policy != policy || now.priority != i32::from(priority) {
                    return Err(LinuxSchedError::NotInEffect {
                        asked: format!("{name} {priority}"),
                        found: now.to_string(),
                    });
                }
                return Ok(("(set directly)".to_owned(), now));
            };
            if errno.0 != libc::EPERM || self.rtkit == RtkitUse::Never {
                return Err(LinuxSchedError::Refused {
                    policy: name,
                    priority,
                    errno,
                    hint: rt_hint(errno),
                });
            }
            Some(errno)
        };
        match rtkit::make_realtime(priority) {
            Ok(()) => {
                let now = current_thread_state();
                let mut notes = Vec::new();
                if let Some(e) = direct {
                    notes.push(format!("direct: {e}"));
                }
                if now.policy != policy || now.priority != i32::from(priority) {
                    notes.push(format!("asked {name} {priority}"));
                }
                let how = if notes.is_empty() {
                    "through rtkit".to_owned()
                } else {
                    format!("through rtkit ({})", notes.join("; "))
                };
                Ok((how, now))
            }
            Err(e) => Err(LinuxSchedError::RtkitFailed {
                policy: name,
                priority,
                direct,
                hint: e.hint(),
                reason: e.to_string(),
            }),
        }
    }

    fn apply_deadline(
        &self,
        runtime_us: Option<u32>,
    ) -> Result<(String, ThreadState), LinuxSchedError> {
        let period_ns = self.period_ns.ok_or(LinuxSchedError::DeadlineNeedsPeriod)?;
        let runtime_ns = runtime_us.map_or(period_ns / 4, |us| u64::from(us) * 1000);
        if runtime_ns < DL_MIN_RUNTIME_NS || runtime_ns > period_ns {
            return Err(LinuxSchedError::DeadlineParams {
                runtime_ns,
                period_ns,
            });
        }
        let attr = SchedAttr {
            size: SCHED_ATTR_SIZE,
            sched_policy: SCHED_DEADLINE as u32,
            sched_runtime: runtime_ns,
            sched_deadline: period_ns,
            sched_period: period_ns,
            ..SchedAttr::default()
        };
        sched_setattr(0, &attr).map_err(|errno| LinuxSchedError::DeadlineRefused {
            runtime_ns,
            deadline_ns: period_ns,
            period_ns,
            errno,
            hint: deadline_hint(errno),
        })?;
        let now = current_thread_state();
        if now.policy != SCHED_DEADLINE
            || now.runtime_ns != runtime_ns
            || now.period_ns != period_ns
        {
            return Err(LinuxSchedError::NotInEffect {
                asked: ThreadState::from_attr(&attr).to_string(),
                found: now.to_string(),
            });
        }
        let how = if runtime_us.is_some() {
            "(set directly)"
        } else {
            "(set directly; runtime 25% of the period)"
        };
        Ok((how.to_owned(), now))
    }
}

impl ThreadPolicy for LinuxThreadPolicy {
    fn apply_with_period(&self, period_ns: u64) -> Box<dyn AppliedPolicy> {
        // A period set explicitly wins; otherwise the stream's.
        match self.period_ns {
            Some(_) => self.apply(),
            None => self.clone().with_period(period_ns).apply(),
        }
    }

    fn apply(&self) -> Box<dyn AppliedPolicy> {
        match self.try_apply() {
            Ok(applied) => Box::new(applied),
            Err(e) => {
                let previous = read_attr(0);
                let state = ThreadState::from_attr(&previous);
                Box::new(LinuxApplied::unchanged(previous, format!("{state}: {e}")))
            }
        }
    }
}

/// A Linux policy in effect on a thread; dropping it restores the state
/// the thread had before (call or drop it on that thread).
#[derive(Debug)]
pub struct LinuxApplied {
    tid: libc::pid_t,
    previous: SchedAttr,
    /// Whether anything was changed (and must be reverted).
    changed: bool,
    /// Policy this gave the thread (SCHED_OTHER when nothing was changed).
    granted_policy: i32,
    /// Priority this gave the thread.
    granted_priority: i32,
    description: String,
    sigxcpu_at_apply: u64,
}

impl LinuxApplied {
    fn unchanged(previous: SchedAttr, description: String) -> Self {
        Self {
            tid: gettid(),
            previous,
            changed: false,
            granted_policy: SCHED_OTHER,
            granted_priority: 0,
            description,
            sigxcpu_at_apply: sigxcpu_count(),
        }
    }

    /// The thread's state before the policy was applied (restored on drop).
    pub fn previous(&self) -> ThreadState {
        ThreadState::from_attr(&self.previous)
    }

    /// Whether the policy put the thread in a real-time class.
    pub fn made_realtime(&self) -> bool {
        self.changed && is_realtime(self.granted_policy)
    }

    /// SIGXCPU signals (RLIMIT_RTTIME soft limit) caught since `apply`.
    pub fn sigxcpu_since_apply(&self) -> u64 {
        sigxcpu_count().saturating_sub(self.sigxcpu_at_apply)
    }
}

impl AppliedPolicy for LinuxApplied {
    fn describe(&self) -> String {
        self.description.clone()
    }

    fn sample(&mut self) -> Option<PrioritySample> {
        let (policy, priority) = own_policy_and_priority()?;
        let realtime = is_realtime(policy);
        Some(PrioritySample {
            priority: if matches!(policy, SCHED_FIFO | SCHED_RR) {
                priority
            } else {
                0
            },
            realtime,
        })
    }

    fn is_demoted(&self, sample: &PrioritySample) -> bool {
        self.made_realtime()
            && (!sample.realtime
                || (self.granted_priority > 0 && sample.priority < self.granted_priority))
    }
}

impl Drop for LinuxApplied {
    fn drop(&mut self) {
        if !self.changed {
            return;
        }
        let target = if gettid() == self.tid { 0 } else { self.tid };
        // Nothing to report to from here; a failure leaves the thread as
        // the policy (or whoever changed it since) set it.
        let _ = restore_attr(target, &self.previous);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deadline_validation() {
        let p = LinuxThreadPolicy::new(LinuxPolicy::Deadline {
            runtime_us: Some(5000),
        })
        .with_period(1_000_000);
        assert!(matches!(
            p.try_apply(),
            Err(LinuxSchedError::DeadlineParams { .. })
        ));
        let p = LinuxThreadPolicy::new(LinuxPolicy::Deadline { runtime_us: None })
            .with_period_frames(48, 48_000.0);
        assert_eq!(p.period_ns(), Some(1_000_000));
    }
}
