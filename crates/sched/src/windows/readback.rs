//! Reading threads' priorities back: the calling thread's (also the
//! real-time-safe probe behind `AppliedPolicy::sample`), every thread of a
//! process (for the per-DAW Auto mode), and the thread level.

use super::error::SchedError;
use super::sys;

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
    let (priority, base_priority) =
        sys::current_thread_priorities().map_err(|status| SchedError::ThreadQuery { status })?;
    Ok(ThreadPriority {
        tid: sys::current_thread_id(),
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
    sys::thread_priorities_of(pid)
        .into_iter()
        .map(|(tid, priority, base_priority)| ThreadPriority {
            tid,
            priority,
            base_priority,
        })
        .collect()
}

/// The calling thread's relative priority level (`GetThreadPriority`:
/// 0 normal, 2 highest, 15 time-critical, …); `None` on failure.
pub fn thread_level() -> Option<i32> {
    sys::thread_level().ok()
}
