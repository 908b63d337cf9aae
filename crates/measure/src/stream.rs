//! Streaming a tone through a driver and measuring, from the host's side,
//! what happened: switches, sample-position continuity, drift of the sample
//! clock against the wall clock, the longest gap between callbacks, and
//! *stalls*: moments where the stream lost time for good (the position fell
//! behind the wall clock in one step and never caught up).
//!
//! A stall is found from the switch times alone (see [`find_stalls`]), so it is
//! the host's own measurement, whatever the driver says. Splitting them out
//! lets the drift figure say what it is meant to — does the sample clock run
//! at the wall clock's rate — while the stalls say how much audio was lost and
//! when.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde::Serialize;

use crate::signal::{write_sample, Sine};
use tenuto_host::{CallError, Driver, HostOptions, Period, PeriodHandler};

/// What to stream.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct StreamOptions {
    /// Buffer size; `None`: the driver's preferred.
    pub buffer_frames: Option<i32>,
    /// Sample rate; `None`: the driver's current.
    pub sample_rate: Option<f64>,
    /// How long to stream.
    pub duration: Duration,
    /// Tone frequency, Hz.
    pub tone_hz: f64,
    /// Tone level, dBFS.
    pub tone_dbfs: f64,
    /// Host capabilities announced to the driver.
    pub host: HostOptions,
}

impl Default for StreamOptions {
    fn default() -> Self {
        Self {
            buffer_frames: None,
            sample_rate: None,
            duration: Duration::from_secs(10),
            tone_hz: 440.0,
            tone_dbfs: -12.0,
            host: HostOptions::default(),
        }
    }
}

/// Live figures, updated by the driver thread (atomics only).
#[derive(Debug, Default)]
pub struct Live {
    /// Switches seen.
    pub switches: AtomicU64,
    /// Position of the last switch.
    pub position: AtomicU64,
    /// Switches whose position was not the previous one plus the buffer size.
    pub discontinuities: AtomicU64,
    /// Longest time between two switches, ns.
    pub max_gap_ns: AtomicU64,
    /// Peak of input channel 0 in the last second, as f32 bits.
    pub input_peak_bits: AtomicU64,
    /// Nanoseconds from the first switch to the latest one (host clock).
    pub span_ns: AtomicU64,
}

/// What the host measured.
#[derive(Debug, Clone, Serialize)]
pub struct StreamReport {
    /// Driver name.
    pub driver: String,
    /// Buffer size used.
    pub buffer_frames: i32,
    /// Sample rate used.
    pub sample_rate: f64,
    /// Inputs and outputs streamed.
    pub channels: (i32, i32),
    /// Reported latencies (input, output), frames.
    pub latencies: (i32, i32),
    /// Seconds streamed (wall clock).
    pub seconds: f64,
    /// Seconds from the first switch to the last (host clock).
    pub span_s: f64,
    /// Switches received.
    pub switches: u64,
    /// Switches the wall clock says should have happened between the first
    /// and the last switch.
    pub expected_switches: f64,
    /// Position discontinuities seen by the host.
    pub discontinuities: u64,
    /// Sample clock vs the host's wall clock between the first and the last
    /// switch, parts per million (precision ≈ wake-up jitter / duration).
    pub drift_ppm: f64,
    /// The drift with the stalls' lost time left out: how fast the sample
    /// clock ran while it ran, parts per million.
    pub steady_drift_ppm: f64,
    /// Where the stream lost time for good, in order.
    pub stalls: Vec<Stall>,
    /// The stalls' lost time in all, ms.
    pub lost_ms: f64,
    /// Longest gap between callbacks, ms.
    pub max_gap_ms: f64,
    /// Overload messages the driver sent.
    pub overloads: u64,
    /// Reset requests the driver sent.
    pub reset_requests: u64,
}

struct ToneHandler {
    live: Arc<Live>,
    sine: Sine,
    frames: u64,
    last_position: Option<u64>,
    last_call: Option<Instant>,
    first_call: Option<Instant>,
    /// The stream's timeline per half-second window (see [`find_stalls`]),
    /// built as the switches come. Allocated before streaming with room for
    /// twice the run; the driver thread only writes within that capacity
    /// (never reallocates).
    windows: Windows,
}

impl PeriodHandler for ToneHandler {
    fn process(&mut self, period: &mut Period<'_>) {
        let now = Instant::now();
        if let Some(prev) = self.last_call {
            let gap = u64::try_from(now.duration_since(prev).as_nanos()).unwrap_or(u64::MAX);
            self.live.max_gap_ns.fetch_max(gap, Ordering::Relaxed);
        }
        self.last_call = Some(now);
        let first = *self.first_call.get_or_insert(now);
        let span = u64::try_from(now.duration_since(first).as_nanos()).unwrap_or(u64::MAX);
        self.live.span_ns.store(span, Ordering::Relaxed);
        self.windows.add(span);
        let position = period
            .time
            .map(|t| t.sample_position)
            .or_else(|| period.sample_position().map(|p| p.0));
        if let Some(p) = position {
            if let Some(prev) = self.last_position {
                if p != prev + self.frames {
                    self.live.discontinuities.fetch_add(1, Ordering::Relaxed);
                }
            }
            self.last_position = Some(p);
            self.live.position.store(p, Ordering::Relaxed);
        }
        let mut peak = 0.0f64;
        let mut wrote = false;
        let mut next = self.sine;
        for b in 0..period.buffer_count() {
            let t = period.sample_type(b);
            if period.is_input(b) {
                if period.channel(b) == 0 {
                    let buf = period.buffer(b);
                    for i in 0..period.frames {
                        peak = peak.max(crate::signal::read_sample(buf, t, i).unwrap_or(0.0).abs());
                    }
                }
                continue;
            }
            let mut osc = self.sine;
            let frames = period.frames;
            let buf = period.buffer_mut(b);
            for i in 0..frames {
                write_sample(buf, t, i, osc.next_sample());
            }
            next = osc;
            wrote = true;
        }
        if wrote {
            self.sine = next;
        }
        self.live
            .input_peak_bits
            .store(u64::from((peak as f32).to_bits()), Ordering::Relaxed);
        self.live.switches.fetch_add(1, Ordering::Release);
    }

    fn as_any(&mut self) -> &mut dyn std::any::Any {
        self
    }
}

/// Initialises `driver`, streams every channel for `options.duration`
/// playing a tone on every output, and reports. `progress` is called about
/// four times a second with the live figures and the elapsed time.
pub fn run(
    driver: &mut Driver,
    options: &StreamOptions,
    progress: &mut dyn FnMut(&Live, Duration),
) -> Result<StreamReport, CallError> {
    driver.try_init()?;
    let name = driver.name();
    if let Some(rate) = options.sample_rate {
        driver.set_sample_rate(rate)?;
    }
    let rate = driver.sample_rate()?;
    let (ins, outs) = driver.channels()?;
    let frames = match options.buffer_frames {
        Some(f) => f,
        None => driver.buffer_size()?.preferred,
    };
    let channels: Vec<(bool, i32)> = (0..ins)
        .map(|c| (true, c))
        .chain((0..outs).map(|c| (false, c)))
        .collect();
    let live = Arc::new(Live::default());
    let period_ns = f64::from(frames) / rate * 1e9;
    let capacity = (options.duration.as_secs_f64() * 2e9 / STALL_WINDOW_NS as f64) as usize + 16;
    let handler = ToneHandler {
        live: Arc::clone(&live),
        sine: Sine::new(options.tone_hz, rate, 10f64.powf(options.tone_dbfs / 20.0)),
        frames: u64::try_from(frames).unwrap_or(0),
        last_position: None,
        last_call: None,
        first_call: None,
        windows: Windows::new(period_ns, capacity),
    };
    let session = driver.create_buffers(&channels, frames, options.host, Box::new(handler))?;
    let latencies = driver.latencies()?;
    session.begin();
    let started = Instant::now();
    if let Err(e) = driver.start() {
        session.end();
        let _ = driver.dispose_buffers();
        return Err(e);
    }
    let mut next_report = Duration::ZERO;
    while started.elapsed() < options.duration {
        let elapsed = started.elapsed();
        if elapsed >= next_report {
            progress(&live, elapsed);
            next_report += Duration::from_millis(250);
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    let stop = driver.stop();
    let seconds = started.elapsed().as_secs_f64();
    session.end();
    progress(&live, started.elapsed());
    let counters = Arc::clone(session.counters());
    let stalls = session.with_handler(|h| {
        h.as_any()
            .downcast_mut::<ToneHandler>()
            .map(|t| t.windows.stalls())
            .unwrap_or_default()
    });
    driver.dispose_buffers()?;
    drop(session);
    stop?;
    let switches = live.switches.load(Ordering::Acquire);
    // Sample clock against the host's wall clock, from the first switch to
    // the last (start-up and stop excluded). Wake-up jitter at the two ends
    // limits the precision to about (jitter / span).
    let span_s = live.span_ns.load(Ordering::Acquire) as f64 / 1e9;
    let frames_f = f64::from(frames);
    let expected = span_s * rate / frames_f + 1.0;
    let drift_ppm = drift_without(switches, frames_f, rate, span_s, 0.0);
    let lost_ms = stalls.iter().fold(0.0, |sum, s| sum + s.lost_ms);
    let steady_drift_ppm = drift_without(switches, frames_f, rate, span_s, lost_ms);
    Ok(StreamReport {
        driver: name,
        buffer_frames: frames,
        sample_rate: rate,
        channels: (ins, outs),
        latencies,
        seconds,
        span_s,
        switches,
        expected_switches: expected,
        discontinuities: live.discontinuities.load(Ordering::Acquire),
        drift_ppm,
        steady_drift_ppm,
        stalls,
        lost_ms,
        max_gap_ms: live.max_gap_ns.load(Ordering::Acquire) as f64 / 1e6,
        overloads: counters.overloads.load(Ordering::Acquire),
        reset_requests: counters.reset_requests.load(Ordering::Acquire),
    })
}

impl StreamReport {
    /// The drift with `lost_ms` of lost time taken out of the span (the
    /// stalls this report found, or the time a driver says it lost), ppm.
    pub fn drift_without_ppm(&self, lost_ms: f64) -> f64 {
        drift_without(
            self.switches,
            f64::from(self.buffer_frames),
            self.sample_rate,
            self.span_s,
            lost_ms,
        )
    }
}

/// Sample clock against the wall clock over `span_s` less `lost_ms`, ppm.
fn drift_without(switches: u64, frames: f64, rate: f64, span_s: f64, lost_ms: f64) -> f64 {
    let ran_s = span_s - lost_ms / 1e3;
    if ran_s > 0.0 && switches > 1 && rate > 0.0 {
        ((switches - 1) as f64 * frames / rate / ran_s - 1.0) * 1e6
    } else {
        0.0
    }
}

/// A moment where the stream lost time for good: from then on the switches
/// came `lost_ms` later against the wall clock than before.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Stall {
    /// Seconds after the first switch (start of the half-second window in
    /// which the stream was found behind).
    pub at_s: f64,
    /// Time lost, ms.
    pub lost_ms: f64,
}

/// Width of the windows whose earliest switch gives the stream's timeline, ns.
const STALL_WINDOW_NS: u64 = 500_000_000;

/// Finds the stalls in a stream from its switch times (`times_ns[k]`: switch
/// `k`'s time since switch 0) and its period.
///
/// Each switch's *offset* is its time minus `k × period`: constant for a
/// stream that keeps pace, rising slowly for a sample clock slower than the
/// wall clock, and jumping up for good when time is lost (the device or the
/// driver fell behind and the frames never came). Wake-up jitter only ever
/// makes a switch later, so the earliest switch of a window gives the
/// stream's timeline there. At each boundary between half-second windows the
/// timeline of the second before (two windows, none before the last stall) is
/// compared with that of the second after: a rise of more than
/// [`stall_threshold_ns`] is a stall — far more than a clock 0.5 % slow moves
/// it between the two (under 10 ms).
pub fn find_stalls(times_ns: &[u64], period_ns: f64) -> Vec<Stall> {
    let mut windows = Windows::new(period_ns, times_ns.len() + 1);
    for &t in times_ns {
        windows.add(t);
    }
    windows.stalls()
}

/// A stream's timeline per window: each half-second window's start and
/// earliest offset, built one switch at a time (no allocation after `new`:
/// windows beyond the capacity are not recorded).
#[derive(Debug)]
struct Windows {
    period_ns: f64,
    switches: u64,
    list: Vec<(u64, f64)>,
}

impl Windows {
    fn new(period_ns: f64, capacity: usize) -> Self {
        Self {
            period_ns,
            switches: 0,
            list: Vec::with_capacity(capacity),
        }
    }

    /// The next switch, `t_ns` after the first. Real-time safe.
    fn add(&mut self, t_ns: u64) {
        let offset = t_ns as f64 - self.switches as f64 * self.period_ns;
        self.switches += 1;
        let start = t_ns - t_ns % STALL_WINDOW_NS;
        if let Some((s, min)) = self.list.last_mut() {
            if *s == start {
                *min = min.min(offset);
                return;
            }
        }
        if self.list.len() < self.list.capacity() {
            self.list.push((start, offset));
        }
    }

    /// The stalls (see [`find_stalls`]).
    fn stalls(&self) -> Vec<Stall> {
        let windows = &self.list;
        let threshold = stall_threshold_ns(self.period_ns);
        let earliest = |w: &[(u64, f64)]| w.iter().map(|&(_, m)| m).fold(f64::INFINITY, f64::min);
        let mut stalls = Vec::new();
        let mut level_from = 0;
        for b in 1..windows.len() {
            let before = earliest(&windows[level_from.max(b.saturating_sub(2))..b]);
            let after = earliest(&windows[b..(b + 2).min(windows.len())]);
            if after - before > threshold {
                stalls.push(Stall {
                    at_s: windows[b].0 as f64 / 1e9,
                    lost_ms: (after - before) / 1e6,
                });
                level_from = b;
            }
        }
        stalls
    }
}

/// The smallest rise of a stream's timeline counted as a stall: one period
/// plus 20 ms (a window's earliest switch may be one of Wine's 10 ms packets
/// later than the next window's, and a clock 0.5 % slow adds a few ms).
pub fn stall_threshold_ns(period_ns: f64) -> f64 {
    period_ns + 20e6
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Switch times of `n` periods of `period_ns`, each `late(k)` ns late.
    fn times(n: u64, period_ns: f64, late: impl Fn(u64) -> f64) -> Vec<u64> {
        (0..n)
            .map(|k| (k as f64 * period_ns + late(k)) as u64)
            .collect()
    }

    #[test]
    fn a_stream_that_keeps_pace_has_no_stall_despite_jitter() {
        for frames in [64.0, 480.0, 1000.0] {
            let p = frames / 48_000.0 * 1e9;
            // Up to 12 ms late (Wine's 10 ms packets plus wake-up jitter).
            let t = times((30e9 / p) as u64, p, |k| (k * 7919 % 12_000_000) as f64);
            assert!(find_stalls(&t, p).is_empty(), "B={frames}");
        }
    }

    #[test]
    fn a_clock_half_a_percent_slow_is_drift_not_stalls() {
        let p = 64.0 / 48_000.0 * 1e9;
        let t = times((30e9 / p) as u64, p, |k| {
            k as f64 * p * 0.005 + (k * 7919 % 10_000_000) as f64
        });
        assert!(find_stalls(&t, p).is_empty());
    }

    #[test]
    fn lost_time_is_one_stall_with_its_size_and_time() {
        let p = 1000.0 / 48_000.0 * 1e9;
        let at = (14.3e9 / p) as u64;
        let t = times((30e9 / p) as u64, p, |k| {
            (k * 7919 % 10_000_000) as f64 + if k >= at { 168e6 } else { 0.0 }
        });
        let stalls = find_stalls(&t, p);
        assert_eq!(stalls.len(), 1, "{stalls:?}");
        assert!((155.0..=181.0).contains(&stalls[0].lost_ms), "{stalls:?}");
        assert!((13.5..=15.0).contains(&stalls[0].at_s), "{stalls:?}");
    }
}
