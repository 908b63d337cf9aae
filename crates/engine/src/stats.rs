//! What the driver thread measured, readable from any thread without
//! blocking the driver thread.
//!
//! Counters and the wake-up histogram are atomics updated once per period.
//! Per-period records go through a wait-free single-producer ring
//! ([`rtrb`]); when the reader falls behind, records are dropped and
//! counted, never waited for.

use std::sync::atomic::{AtomicU64, Ordering::Relaxed};

/// Number of wake-up lateness histogram buckets.
pub const HISTOGRAM_BUCKETS: usize = 24;

/// Flags of a [`PeriodRecord`].
pub mod flags {
    /// The period's output was written after its deadline (a missed deadline).
    pub const LATE: u8 = 1;
    /// The host's callback took longer than one period.
    pub const HOST_OVERRUN: u8 = 2;
    /// The device reported a gap on its side during this period.
    pub const DEVICE_GAP: u8 = 4;
    /// The thread's priority was sampled in this period.
    pub const SAMPLED: u8 = 8;
    /// The sample showed the thread demoted.
    pub const DEMOTED: u8 = 16;
}

/// Why a period was late, as far as the driver thread can tell.
///
/// Power throttling is not among the causes: Windows lets a thread read its
/// own throttling *request* but not whether the system's QoS heuristics slow
/// it now, so a period late for that reason counts as [`Self::Contention`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum LateCause {
    /// The host's callback took longer than the period: a larger buffer or
    /// less processing in the DAW helps; driver settings do not.
    HostOverrun,
    /// The OS had demoted the thread (MMCSS exhausted band, or a Linux
    /// thread dropped out of its real-time class).
    Demotion,
    /// The thread held the priority its policy gave it and still woke
    /// late: something at that priority or above ran first — for a
    /// real-time thread, drivers' DPCs/ISRs or other real-time threads (a
    /// DPC/ISR latency tool shows which); for a normal one, any busy thread.
    Contention,
    /// No priority probe is available (the policy in effect offers none).
    Unknown,
}

impl LateCause {
    /// Every cause, in the order of [`StatsSnapshot::late_by_cause`].
    pub const ALL: [LateCause; 4] = [
        Self::HostOverrun,
        Self::Demotion,
        Self::Contention,
        Self::Unknown,
    ];

    /// Short name for tables and logs.
    pub const fn name(self) -> &'static str {
        match self {
            Self::HostOverrun => "host overrun",
            Self::Demotion => "demotion",
            Self::Contention => "woke late at its priority (contention)",
            Self::Unknown => "unknown (no priority probe)",
        }
    }

    const fn index(self) -> usize {
        match self {
            Self::HostOverrun => 0,
            Self::Demotion => 1,
            Self::Contention => 2,
            Self::Unknown => 3,
        }
    }
}

/// Something the driver thread noticed about its own scheduling.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ScheduleEvent {
    /// Period number.
    pub index: u64,
    /// What happened.
    pub kind: EventKind,
    /// The thread's priority sampled then (OS numbering), if sampled.
    pub priority: Option<i32>,
}

/// Kinds of [`ScheduleEvent`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventKind {
    /// A late period and its likely cause.
    Late(LateCause),
    /// The thread was found demoted (first sample showing it).
    Demoted,
    /// The thread was found back at its policy's priority after a demotion.
    Restored,
    /// The priority changed without a demotion — typically the host set
    /// the thread's priority inside its callback (respected, recorded).
    PriorityChanged {
        /// Priority before.
        from: i32,
    },
    /// The device reported lost or repeated audio since the previous such
    /// event (counts are the increases).
    DeviceGap {
        /// Output buffers the device played without fresh data (heard as a gap).
        output_underruns: u32,
        /// Input data lost because it was read too late.
        input_overruns: u32,
        /// The device clock was restarted after a stall.
        resyncs: u32,
        /// Times the stream lost time below the driver (see
        /// [`crate::device::DeviceCounters::device_stalls`]).
        stalls: u32,
        /// The time they lost, ms.
        stall_lost_ms: u32,
        /// The longest the driver thread went without looking at the device
        /// during the latest of them, ms.
        check_gap_ms: u32,
    },
    /// The stream's first period arrived (the first buffer switch waits for it).
    FirstPeriod {
        /// Time from the device's start to its first complete period, ms.
        after_ms: u32,
        /// Frames of captured audio that waited below the device API, as the device
        /// measured them (`None`: not measured); added to the reported input latency.
        input_delay_frames: Option<u32>,
        /// Frames by which the output side ran behind its plan, as the device measured
        /// them (`None`: not measured); added to the reported output latency.
        output_delay_frames: Option<u32>,
        /// How far those may be off, as the device knows it.
        spread: crate::device::StartSpread,
    },
}

/// Timing of one period, recorded by the driver thread.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct PeriodRecord {
    /// Period number since start.
    pub index: u64,
    /// How long after the period was due the driver thread woke, ns.
    pub wake_late_ns: u64,
    /// Time spent in the host's buffer switch callback, ns.
    pub host_ns: u64,
    /// Time the engine itself spent (device I/O and conversion), ns.
    pub engine_ns: u64,
    /// How much time was left before the deadline (negative: late), ns.
    pub slack_ns: i64,
    /// Bit set of [`flags`].
    pub flags: u8,
    /// The thread's priority when sampled (see [`flags::SAMPLED`]).
    pub priority: i32,
}

const PRIORITY_OFFSET: i64 = 1 << 32;

/// Running totals since `start`.
#[derive(Debug, Default)]
pub struct StreamCounters {
    periods: AtomicU64,
    late_periods: AtomicU64,
    host_overruns: AtomicU64,
    max_wake_late_ns: AtomicU64,
    max_host_ns: AtomicU64,
    max_engine_ns: AtomicU64,
    total_engine_ns: AtomicU64,
    total_host_ns: AtomicU64,
    records_dropped: AtomicU64,
    output_underruns: AtomicU64,
    input_overruns: AtomicU64,
    resyncs: AtomicU64,
    clock_slips: AtomicU64,
    device_stalls: AtomicU64,
    device_stall_lost_us: AtomicU64,
    wake_histogram: [AtomicU64; HISTOGRAM_BUCKETS],
    late_by_cause: [AtomicU64; LateCause::ALL.len()],
    demotions: AtomicU64,
    priority_changes: AtomicU64,
    samples: AtomicU64,
    /// Last sampled priority plus [`PRIORITY_OFFSET`]; 0 = never sampled.
    last_priority: std::sync::atomic::AtomicI64,
}

/// A plain copy of [`StreamCounters`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct StatsSnapshot {
    /// Periods processed.
    pub periods: u64,
    /// Periods whose output missed the deadline.
    pub late_periods: u64,
    /// Periods in which the host's callback took longer than a period.
    pub host_overruns: u64,
    /// Worst wake-up lateness, ns.
    pub max_wake_late_ns: u64,
    /// Longest host callback, ns.
    pub max_host_ns: u64,
    /// Longest engine work in one period, ns.
    pub max_engine_ns: u64,
    /// Sum of engine work, ns (divide by `periods` for the mean).
    pub total_engine_ns: u64,
    /// Sum of host callback time, ns.
    pub total_host_ns: u64,
    /// Period records lost because nobody read them in time.
    pub records_dropped: u64,
    /// Output gaps the device saw.
    pub output_underruns: u64,
    /// Input periods the device lost.
    pub input_overruns: u64,
    /// Device clock restarts after long stalls.
    pub resyncs: u64,
    /// Single frames dropped or repeated to follow clock drift between devices.
    pub clock_slips: u64,
    /// Times the stream lost time below the driver (the device never delivered frames).
    pub device_stalls: u64,
    /// The time those stalls lost in all, µs.
    pub device_stall_lost_us: u64,
    /// Wake-up lateness histogram: bucket `i` counts periods that woke
    /// less than `2^i` µs late (bucket 0: under 1 µs), the last bucket
    /// everything later.
    pub wake_histogram: [u64; HISTOGRAM_BUCKETS],
    /// Late periods by likely cause, in [`LateCause::ALL`] order.
    pub late_by_cause: [u64; LateCause::ALL.len()],
    /// Times the thread was found demoted.
    pub demotions: u64,
    /// Priority changes that were not demotions (e.g. by the host).
    pub priority_changes: u64,
    /// Priority samples taken.
    pub samples: u64,
    /// The last sampled priority, if any.
    pub last_priority: Option<i32>,
}

impl StatsSnapshot {
    /// Late periods attributed to `cause`.
    pub fn late(&self, cause: LateCause) -> u64 {
        self.late_by_cause[cause.index()]
    }

    /// Mean engine time per period, ns.
    pub fn mean_engine_ns(&self) -> u64 {
        self.total_engine_ns.checked_div(self.periods).unwrap_or(0)
    }

    /// Upper bound (µs) of the histogram bucket holding quantile `q` (0..1)
    /// of wake-up lateness.
    pub fn wake_quantile_us(&self, q: f64) -> u64 {
        let total: u64 = self.wake_histogram.iter().sum();
        if total == 0 {
            return 0;
        }
        let target = ((total as f64) * q).ceil() as u64;
        let mut seen = 0;
        for (i, n) in self.wake_histogram.iter().enumerate() {
            seen += n;
            if seen >= target {
                return 1u64 << i;
            }
        }
        1u64 << (HISTOGRAM_BUCKETS - 1)
    }
}

fn bucket(ns: u64) -> usize {
    let us = ns / 1000;
    if us == 0 {
        0
    } else {
        let b = 64 - us.leading_zeros() as usize; // us < 2^b
        b.min(HISTOGRAM_BUCKETS - 1)
    }
}

impl StreamCounters {
    /// Clears everything (at `start`).
    pub fn reset(&self) {
        for a in [
            &self.periods,
            &self.late_periods,
            &self.host_overruns,
            &self.max_wake_late_ns,
            &self.max_host_ns,
            &self.max_engine_ns,
            &self.total_engine_ns,
            &self.total_host_ns,
            &self.records_dropped,
            &self.output_underruns,
            &self.input_overruns,
            &self.resyncs,
            &self.clock_slips,
            &self.device_stalls,
            &self.device_stall_lost_us,
        ] {
            a.store(0, Relaxed);
        }
        for a in self.wake_histogram.iter().chain(&self.late_by_cause) {
            a.store(0, Relaxed);
        }
        for a in [&self.demotions, &self.priority_changes, &self.samples] {
            a.store(0, Relaxed);
        }
        self.last_priority.store(0, Relaxed);
    }

    pub(crate) fn record_late(&self, cause: LateCause) {
        if let Some(a) = self.late_by_cause.get(cause.index()) {
            a.fetch_add(1, Relaxed);
        }
    }

    pub(crate) fn record_sample(&self, priority: i32) {
        self.samples.fetch_add(1, Relaxed);
        self.last_priority
            .store(i64::from(priority) + PRIORITY_OFFSET, Relaxed);
    }

    pub(crate) fn record_demotion(&self) {
        self.demotions.fetch_add(1, Relaxed);
    }

    pub(crate) fn record_priority_change(&self) {
        self.priority_changes.fetch_add(1, Relaxed);
    }

    /// Adds one period. Real-time safe (atomics only).
    pub(crate) fn record(&self, r: &PeriodRecord) {
        self.periods.fetch_add(1, Relaxed);
        if r.flags & flags::LATE != 0 {
            self.late_periods.fetch_add(1, Relaxed);
        }
        if r.flags & flags::HOST_OVERRUN != 0 {
            self.host_overruns.fetch_add(1, Relaxed);
        }
        self.max_wake_late_ns.fetch_max(r.wake_late_ns, Relaxed);
        self.max_host_ns.fetch_max(r.host_ns, Relaxed);
        self.max_engine_ns.fetch_max(r.engine_ns, Relaxed);
        self.total_engine_ns.fetch_add(r.engine_ns, Relaxed);
        self.total_host_ns.fetch_add(r.host_ns, Relaxed);
        if let Some(b) = self.wake_histogram.get(bucket(r.wake_late_ns)) {
            b.fetch_add(1, Relaxed);
        }
    }

    pub(crate) fn record_dropped(&self) {
        self.records_dropped.fetch_add(1, Relaxed);
    }

    /// Stores the device's own counters (the driver thread does after every period whose
    /// counters changed; readers see them in [`Self::snapshot`]).
    pub fn set_device(&self, c: &crate::device::DeviceCounters) {
        self.output_underruns.store(c.output_underruns, Relaxed);
        self.input_overruns.store(c.input_overruns, Relaxed);
        self.resyncs.store(c.resyncs, Relaxed);
        self.clock_slips.store(c.clock_slips, Relaxed);
        self.device_stalls.store(c.device_stalls, Relaxed);
        self.device_stall_lost_us
            .store(c.device_stall_lost_us, Relaxed);
    }

    /// Copies the counters.
    pub fn snapshot(&self) -> StatsSnapshot {
        let mut wake_histogram = [0; HISTOGRAM_BUCKETS];
        for (d, s) in wake_histogram.iter_mut().zip(&self.wake_histogram) {
            *d = s.load(Relaxed);
        }
        let mut late_by_cause = [0; LateCause::ALL.len()];
        for (d, s) in late_by_cause.iter_mut().zip(&self.late_by_cause) {
            *d = s.load(Relaxed);
        }
        let last = self.last_priority.load(Relaxed);
        StatsSnapshot {
            late_by_cause,
            demotions: self.demotions.load(Relaxed),
            priority_changes: self.priority_changes.load(Relaxed),
            samples: self.samples.load(Relaxed),
            last_priority: (last != 0).then(|| i32::try_from(last - PRIORITY_OFFSET).unwrap_or(0)),
            periods: self.periods.load(Relaxed),
            late_periods: self.late_periods.load(Relaxed),
            host_overruns: self.host_overruns.load(Relaxed),
            max_wake_late_ns: self.max_wake_late_ns.load(Relaxed),
            max_host_ns: self.max_host_ns.load(Relaxed),
            max_engine_ns: self.max_engine_ns.load(Relaxed),
            total_engine_ns: self.total_engine_ns.load(Relaxed),
            total_host_ns: self.total_host_ns.load(Relaxed),
            records_dropped: self.records_dropped.load(Relaxed),
            output_underruns: self.output_underruns.load(Relaxed),
            input_overruns: self.input_overruns.load(Relaxed),
            resyncs: self.resyncs.load(Relaxed),
            clock_slips: self.clock_slips.load(Relaxed),
            device_stalls: self.device_stalls.load(Relaxed),
            device_stall_lost_us: self.device_stall_lost_us.load(Relaxed),
            wake_histogram,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_are_powers_of_two_microseconds() {
        assert_eq!(bucket(0), 0);
        assert_eq!(bucket(999), 0);
        assert_eq!(bucket(1_000), 1);
        assert_eq!(bucket(1_999), 1);
        assert_eq!(bucket(2_000), 2);
        assert_eq!(bucket(1_000_000_000), 20); // 1 s < 2^20 µs
        assert_eq!(bucket(u64::MAX), HISTOGRAM_BUCKETS - 1);
    }

    #[test]
    fn quantiles_come_from_the_histogram() {
        let c = StreamCounters::default();
        for i in 0..100u64 {
            let late = if i < 99 { 500 } else { 3_000_000 };
            c.record(&PeriodRecord {
                index: i,
                wake_late_ns: late,
                ..Default::default()
            });
        }
        let s = c.snapshot();
        assert_eq!(s.periods, 100);
        assert_eq!(s.wake_quantile_us(0.5), 1);
        assert_eq!(s.wake_quantile_us(0.99), 1);
        assert_eq!(s.wake_quantile_us(1.0), 4096);
    }
}
