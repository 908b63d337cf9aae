//! A thread's scheduler state as the CLI, the doctor and the descriptions
//! show it.

use std::fmt;

use super::sys::{
    read_attr, SchedAttr, SCHED_BATCH, SCHED_DEADLINE, SCHED_FIFO, SCHED_FLAG_RESET_ON_FORK,
    SCHED_IDLE, SCHED_OTHER, SCHED_RR,
};

pub(super) fn policy_name(policy: i32) -> &'static str {
    match policy {
        SCHED_OTHER => "SCHED_OTHER",
        SCHED_FIFO => "SCHED_FIFO",
        SCHED_RR => "SCHED_RR",
        SCHED_BATCH => "SCHED_BATCH",
        SCHED_IDLE => "SCHED_IDLE",
        SCHED_DEADLINE => "SCHED_DEADLINE",
        _ => "SCHED_?",
    }
}

pub(super) fn is_realtime(policy: i32) -> bool {
    matches!(policy, SCHED_FIFO | SCHED_RR | SCHED_DEADLINE)
}

/// A thread's scheduler state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ThreadState {
    /// Kernel policy number (SCHED_OTHER 0, FIFO 1, RR 2, BATCH 3, IDLE 5,
    /// DEADLINE 6), without the reset-on-fork bit.
    pub policy: i32,
    /// Real-time priority (1–99 under FIFO/RR, 0 otherwise).
    pub priority: i32,
    /// Nice value (meaningful under OTHER/BATCH).
    pub nice: i32,
    /// SCHED_DEADLINE runtime, ns. Under the fair class Linux 6.12+
    /// reports the thread's time slice here; older kernels 0.
    pub runtime_ns: u64,
    /// SCHED_DEADLINE deadline, ns (0 otherwise).
    pub deadline_ns: u64,
    /// SCHED_DEADLINE period, ns (0 otherwise).
    pub period_ns: u64,
    /// Children get SCHED_OTHER (set by rtkit).
    pub reset_on_fork: bool,
}

impl ThreadState {
    pub(super) fn from_attr(a: &SchedAttr) -> Self {
        Self {
            policy: a.sched_policy as i32,
            priority: a.sched_priority as i32,
            nice: a.sched_nice,
            runtime_ns: a.sched_runtime,
            deadline_ns: a.sched_deadline,
            period_ns: a.sched_period,
            reset_on_fork: a.sched_flags & SCHED_FLAG_RESET_ON_FORK != 0,
        }
    }

    /// "SCHED_FIFO", "SCHED_OTHER", …
    pub fn policy_name(&self) -> &'static str {
        policy_name(self.policy)
    }

    /// FIFO, RR or DEADLINE.
    pub fn is_realtime(&self) -> bool {
        is_realtime(self.policy)
    }
}

impl fmt::Display for ThreadState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.policy {
            SCHED_FIFO | SCHED_RR => write!(f, "{} {}", self.policy_name(), self.priority),
            SCHED_DEADLINE => write!(
                f,
                "SCHED_DEADLINE runtime {} µs / deadline {} µs / period {} µs",
                self.runtime_ns / 1000,
                self.deadline_ns / 1000,
                self.period_ns / 1000
            ),
            SCHED_OTHER | SCHED_BATCH | SCHED_IDLE => {
                write!(f, "{} nice {}", self.policy_name(), self.nice)
            }
            p => write!(
                f,
                "policy {p} priority {} nice {}",
                self.priority, self.nice
            ),
        }
    }
}

/// The calling thread's scheduler state.
pub fn current_thread_state() -> ThreadState {
    ThreadState::from_attr(&read_attr(0))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn state_display() {
        let s = ThreadState {
            policy: SCHED_FIFO,
            priority: 80,
            nice: 0,
            runtime_ns: 0,
            deadline_ns: 0,
            period_ns: 0,
            reset_on_fork: false,
        };
        assert_eq!(s.to_string(), "SCHED_FIFO 80");
        let o = ThreadState {
            policy: SCHED_OTHER,
            priority: 0,
            ..s
        };
        assert_eq!(o.to_string(), "SCHED_OTHER nice 0");
    }
}
