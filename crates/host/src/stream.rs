//! Streaming a tone through a driver and measuring, from the host's side,
//! what happened: switches, sample-position continuity, drift of the sample
//! clock against the wall clock, and the longest gap between callbacks.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde::Serialize;

use crate::signal::{write_sample, Sine};
use crate::{CallError, Driver, HostOptions, Period, PeriodHandler};

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
    let handler = ToneHandler {
        live: Arc::clone(&live),
        sine: Sine::new(options.tone_hz, rate, 10f64.powf(options.tone_dbfs / 20.0)),
        frames: u64::try_from(frames).unwrap_or(0),
        last_position: None,
        last_call: None,
        first_call: None,
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
    let drift_ppm = if span_s > 0.0 && switches > 1 {
        ((switches - 1) as f64 * frames_f / rate / span_s - 1.0) * 1e6
    } else {
        0.0
    };
    Ok(StreamReport {
        driver: name,
        buffer_frames: frames,
        sample_rate: rate,
        channels: (ins, outs),
        latencies,
        seconds,
        switches,
        expected_switches: expected,
        discontinuities: live.discontinuities.load(Ordering::Acquire),
        drift_ppm,
        max_gap_ms: live.max_gap_ns.load(Ordering::Acquire) as f64 / 1e6,
        overloads: counters.overloads.load(Ordering::Acquire),
        reset_requests: counters.reset_requests.load(Ordering::Acquire),
    })
}
