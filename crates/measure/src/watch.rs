//! What the host sees of the buffer switches themselves, shared by `play`
//! and `loopback`: how many, the driver's sample position and its
//! continuity, the longest gap between two switches and the time from the
//! first switch to the latest. Updated on the driver's thread with atomics
//! only.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use tenuto_host::Period;

/// Host-side switch figures, readable from any thread while streaming.
#[derive(Debug, Default)]
pub struct SwitchCounters {
    /// Switches seen.
    pub switches: AtomicU64,
    /// Sample position of the latest switch.
    pub position: AtomicU64,
    /// Switches whose sample position was not the previous one plus the
    /// buffer size.
    pub discontinuities: AtomicU64,
    /// Longest time between two switches, ns.
    pub max_gap_ns: AtomicU64,
    /// Nanoseconds from the first switch to the latest one.
    pub span_ns: AtomicU64,
}

impl SwitchCounters {
    /// Switches the wall clock expects between the first switch and the
    /// latest at `rate` with `frames` per buffer (counting the first).
    pub fn expected_switches(&self, rate: f64, frames: i32) -> f64 {
        let span_s = self.span_ns.load(Ordering::Acquire) as f64 / 1e9;
        if frames <= 0 || rate <= 0.0 {
            return 0.0;
        }
        span_s * rate / f64::from(frames) + 1.0
    }
}

/// The driver-thread side: remembers the previous switch.
#[derive(Debug)]
pub(crate) struct SwitchWatch {
    frames: u64,
    last_position: Option<u64>,
    last_call: Option<Instant>,
    first_call: Option<Instant>,
}

impl SwitchWatch {
    pub(crate) fn new(frames: usize) -> Self {
        Self {
            frames: frames as u64,
            last_position: None,
            last_call: None,
            first_call: None,
        }
    }

    /// Records one switch (call at its start). No allocation, no lock.
    pub(crate) fn on_switch(&mut self, period: &Period<'_>, live: &SwitchCounters) {
        let now = Instant::now();
        if let Some(prev) = self.last_call {
            let gap = u64::try_from(now.duration_since(prev).as_nanos()).unwrap_or(u64::MAX);
            live.max_gap_ns.fetch_max(gap, Ordering::Relaxed);
        }
        self.last_call = Some(now);
        let first = *self.first_call.get_or_insert(now);
        let span = u64::try_from(now.duration_since(first).as_nanos()).unwrap_or(u64::MAX);
        live.span_ns.store(span, Ordering::Relaxed);
        let position = period
            .time
            .filter(|t| t.position_valid)
            .map(|t| t.sample_position)
            .or_else(|| period.sample_position().map(|p| p.0));
        if let Some(p) = position {
            if let Some(prev) = self.last_position {
                if p != prev.wrapping_add(self.frames) {
                    live.discontinuities.fetch_add(1, Ordering::Relaxed);
                }
            }
            self.last_position = Some(p);
            live.position.store(p, Ordering::Relaxed);
        }
    }

    /// Counts the switch as done (call at its end).
    pub(crate) fn done(live: &SwitchCounters) {
        live.switches.fetch_add(1, Ordering::Release);
    }
}

/// Takes (and clears) a peak the driver thread raises with `fetch_max` on
/// the bits of a non-negative `f32` (whose bit patterns order like the
/// floats).
pub(crate) fn take_peak(bits: &AtomicU64) -> f64 {
    f64::from(f32::from_bits(bits.swap(0, Ordering::Relaxed) as u32))
}
