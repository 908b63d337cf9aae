//! The system timer resolution, for backends whose driver thread waits on
//! timers.

use super::error::SchedError;
use super::sys;

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
    sys::time_begin_period(ms)
        .map(|()| TimerResolution { ms })
        .map_err(|code| SchedError::TimerResolution { ms, code })
}

impl Drop for TimerResolution {
    fn drop(&mut self) {
        // The guard exists only after a successful timeBeginPeriod(self.ms).
        sys::time_end_period(self.ms);
    }
}
