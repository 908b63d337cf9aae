//! The clock used for ASIO system time stamps and for pacing.
//!
//! ASIO time stamps are nanoseconds. On Windows hosts compare them with
//! `timeGetTime()`; the Windows driver shell supplies that epoch (a later
//! issue). Elsewhere the clock is monotonic, counted from the first call to
//! [`init`] in the process.

use std::sync::OnceLock;
use std::time::Instant;

static EPOCH: OnceLock<Instant> = OnceLock::new();

/// Fixes the epoch. Called from non-real-time code (engine construction) so
/// that the driver thread never initialises anything.
pub fn init() {
    let _ = EPOCH.get_or_init(Instant::now);
}

/// Nanoseconds since the epoch on a monotonic clock. Real-time safe once
/// [`init`] has run (it only reads the clock).
pub fn now_ns() -> u64 {
    let epoch = EPOCH.get_or_init(Instant::now);
    u64::try_from(epoch.elapsed().as_nanos()).unwrap_or(u64::MAX)
}

/// Sleeps until `deadline_ns` on the [`now_ns`] clock; returns at once if it
/// has passed. Uses the absolute deadline each time, so pacing never drifts.
pub fn sleep_until_ns(deadline_ns: u64) {
    let now = now_ns();
    if deadline_ns > now {
        std::thread::sleep(std::time::Duration::from_nanos(deadline_ns - now));
    }
}
