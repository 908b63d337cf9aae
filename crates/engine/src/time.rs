//! The clock used for ASIO system time stamps and for pacing.
//!
//! ASIO time stamps are nanoseconds. On Windows hosts compare them with
//! `timeGetTime()`; the Windows DLL aligns this clock to it once per
//! process ([`align_to`]). Elsewhere the clock is monotonic, counted from
//! the first call to [`init`] in the process.

use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::OnceLock;
use std::time::Instant;

static EPOCH: OnceLock<Instant> = OnceLock::new();
static OFFSET_NS: AtomicI64 = AtomicI64::new(0);

/// Fixes the epoch. Called from non-real-time code (engine construction) so
/// that the driver thread never initialises anything.
pub fn init() {
    let _ = EPOCH.get_or_init(Instant::now);
}

/// Nanoseconds on a monotonic clock: since the epoch, plus the offset set
/// with [`align_to`]. Real-time safe once [`init`] has run (it only reads
/// the clock and an atomic).
pub fn now_ns() -> u64 {
    let epoch = EPOCH.get_or_init(Instant::now);
    let since = u64::try_from(epoch.elapsed().as_nanos()).unwrap_or(u64::MAX);
    since.saturating_add_signed(OFFSET_NS.load(Ordering::Relaxed))
}

/// Shifts the clock so that [`now_ns`] reads `reference_ns` at this
/// instant. The Windows shell calls this once with `timeGetTime()` in ns,
/// because hosts compare ASIO time stamps with that clock.
pub fn align_to(reference_ns: u64) {
    init();
    let epoch = EPOCH.get_or_init(Instant::now);
    let since = i64::try_from(epoch.elapsed().as_nanos()).unwrap_or(i64::MAX);
    let offset = i64::try_from(reference_ns)
        .unwrap_or(i64::MAX)
        .saturating_sub(since);
    OFFSET_NS.store(offset, Ordering::Relaxed);
}

/// Sleeps until `deadline_ns` on the [`now_ns`] clock; returns at once if it
/// has passed. Uses the absolute deadline each time, so pacing never drifts.
pub fn sleep_until_ns(deadline_ns: u64) {
    let now = now_ns();
    if deadline_ns > now {
        std::thread::sleep(std::time::Duration::from_nanos(deadline_ns - now));
    }
}
