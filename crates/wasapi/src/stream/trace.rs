//! Device timing traces: what a real audio stack did, recorded through the [`StreamPort`]
//! seam and replayed by the [`sim`](super::sim) device.
//!
//! [`Recorder`] wraps a port and notes two kinds of device event, each with its time after
//! the side's start:
//!
//! * `R t n` — the render device took `n` frames from the client's buffer (seen as the
//!   padding falling; its time is the render wake-up that preceded the look, or the look);
//! * `C t n` — a capture packet of `n` frames became readable (its time stamp when the stack
//!   stamps the moment it made the packet readable, as winepulse does; else when it was
//!   read).
//!
//! The recorder's buffer is allocated before the stream starts; once it is full, further
//! events are counted, not stored, so recording stays real-time safe. A trace's text form
//! (`Display` / [`Trace::parse`]) is kept as test data under `crates/wasapi/tests/traces/`.

use std::fmt;

use tenuto_engine::device::StreamError;

use super::sim::{SimConfig, SimSide, Stamps};
use super::{Packet, PortBuffers, StreamPort, Wake};

/// One device event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TraceEvent {
    /// The render device took frames: (ns after render start, frames).
    Pull(u64, u32),
    /// A capture packet became readable: (ns after capture start, frames).
    Packet(u64, u32),
}

/// The shape of one side in a trace.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct TraceSide {
    /// The client's buffer, frames.
    pub buffer_frames: u32,
    /// The engine period, frames.
    pub period_frames: u32,
}

/// A recorded trace.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Trace {
    /// Where it came from (one line, free text).
    pub origin: String,
    /// The stream's rate.
    pub rate: u32,
    /// The ASIO buffer the stream ran, frames.
    pub buffer_frames: u32,
    /// Polled (`true`) or event-driven.
    pub polling: bool,
    /// The render side.
    pub render: Option<TraceSide>,
    /// The capture side.
    pub capture: Option<TraceSide>,
    /// The events in the order seen.
    pub events: Vec<TraceEvent>,
}

/// A trace file that cannot be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("trace line {line}: {problem}")]
pub struct TraceError {
    /// 1-based line number.
    pub line: usize,
    /// What is wrong with it.
    pub problem: String,
}

impl Trace {
    /// Reads a trace from its text form.
    pub fn parse(text: &str) -> Result<Self, TraceError> {
        let mut trace = Trace::default();
        for (i, line) in text.lines().enumerate() {
            let err = |problem: String| TraceError {
                line: i + 1,
                problem,
            };
            let line = line.trim();
            if line.is_empty() {
                continue;
            }
            if let Some(origin) = line.strip_prefix('#') {
                if trace.origin.is_empty() {
                    trace.origin = origin.trim().to_owned();
                }
                continue;
            }
            let words: Vec<&str> = line.split_whitespace().collect();
            let num = |w: Option<&&str>| -> Result<u64, TraceError> {
                let w = w.ok_or_else(|| err(format!("`{line}` is missing a number")))?;
                w.parse()
                    .map_err(|_| err(format!("`{w}` in `{line}` is not a whole number")))
            };
            let small = |w: Option<&&str>| -> Result<u32, TraceError> {
                u32::try_from(num(w)?)
                    .map_err(|_| err(format!("a number in `{line}` is too large")))
            };
            match words.first().copied() {
                Some("rate") => trace.rate = small(words.get(1))?,
                Some("buffer") => trace.buffer_frames = small(words.get(1))?,
                Some("wake_up") => trace.polling = words.get(1) == Some(&"polling"),
                Some(side @ ("render" | "capture")) => {
                    let shape = TraceSide {
                        buffer_frames: small(words.get(2))?,
                        period_frames: small(words.get(4))?,
                    };
                    if words.get(1) != Some(&"buffer") || words.get(3) != Some(&"period") {
                        return Err(err(format!(
                            "expected `{side} buffer N period N`, found `{line}`"
                        )));
                    }
                    if side == "render" {
                        trace.render = Some(shape);
                    } else {
                        trace.capture = Some(shape);
                    }
                }
                Some("R") => trace
                    .events
                    .push(TraceEvent::Pull(num(words.get(1))?, small(words.get(2))?)),
                Some("C") => trace
                    .events
                    .push(TraceEvent::Packet(num(words.get(1))?, small(words.get(2))?)),
                _ => return Err(err(format!("unknown line `{line}`"))),
            }
        }
        if trace.rate == 0 {
            return Err(TraceError {
                line: 0,
                problem: "no `rate` line".to_owned(),
            });
        }
        Ok(trace)
    }

    /// The recorded pulls, (ns after render start, frames).
    pub fn pulls(&self) -> Vec<(u64, u32)> {
        self.events
            .iter()
            .filter_map(|e| match *e {
                TraceEvent::Pull(t, n) => Some((t, n)),
                TraceEvent::Packet(..) => None,
            })
            .collect()
    }

    /// The recorded packets, (ns after capture start, frames).
    pub fn packets(&self) -> Vec<(u64, u32)> {
        self.events
            .iter()
            .filter_map(|e| match *e {
                TraceEvent::Packet(t, n) => Some((t, n)),
                TraceEvent::Pull(..) => None,
            })
            .collect()
    }

    /// How long the trace lasts, ns (the later side's last event).
    pub fn duration_ns(&self) -> u64 {
        self.events
            .iter()
            .map(|e| match *e {
                TraceEvent::Pull(t, _) | TraceEvent::Packet(t, _) => t,
            })
            .max()
            .unwrap_or(0)
    }

    /// A simulated device that follows the trace: each side pulls and delivers packets when
    /// and as the recorded one did.
    pub fn sim_config(&self, channels: usize, loopback: bool) -> SimConfig {
        let side = |shape: &TraceSide, schedule: Vec<(u64, u32)>| SimSide {
            buffer_frames: shape.buffer_frames,
            period_frames: shape.period_frames,
            ppm: 0.0,
            first_after_ns: 0,
            hold_ns: 0,
            stamps: Stamps::Readable,
            schedule: Some(schedule),
        };
        SimConfig {
            rate: self.rate,
            channels,
            render: self.render.as_ref().map(|s| side(s, self.pulls())),
            capture: self.capture.as_ref().map(|s| side(s, self.packets())),
            loopback,
            stalls: Vec::new(),
            wake_jitter_ns: 0,
            seed: 1,
        }
    }
}

impl fmt::Display for Trace {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "# {}", self.origin)?;
        writeln!(f, "rate {}", self.rate)?;
        writeln!(f, "buffer {}", self.buffer_frames)?;
        writeln!(
            f,
            "wake_up {}",
            if self.polling { "polling" } else { "events" }
        )?;
        if let Some(s) = &self.render {
            writeln!(
                f,
                "render buffer {} period {}",
                s.buffer_frames, s.period_frames
            )?;
        }
        if let Some(s) = &self.capture {
            writeln!(
                f,
                "capture buffer {} period {}",
                s.buffer_frames, s.period_frames
            )?;
        }
        for e in &self.events {
            match *e {
                TraceEvent::Pull(t, n) => writeln!(f, "R {t} {n}")?,
                TraceEvent::Packet(t, n) => writeln!(f, "C {t} {n}")?,
            }
        }
        Ok(())
    }
}

/// A port that records the device events it sees (see the module documentation).
pub struct Recorder<P: StreamPort> {
    inner: P,
    events: Vec<TraceEvent>,
    /// Events seen after the buffer was full.
    dropped: u64,
    render_start: Option<u64>,
    capture_start: Option<u64>,
    /// Frames the render buffer holds by what was written and taken so far.
    expected_padding: u32,
    /// The render wake-up since the last look at the padding, ns.
    render_wake: Option<u64>,
    buffers: PortBuffers,
    rate: u32,
}

impl<P: StreamPort> Recorder<P> {
    /// Records up to `capacity` events of `inner`, a stream at `rate`.
    pub fn new(inner: P, capacity: usize, rate: u32) -> Self {
        Self {
            inner,
            rate: rate.max(1),
            events: Vec::with_capacity(capacity),
            dropped: 0,
            render_start: None,
            capture_start: None,
            expected_padding: 0,
            render_wake: None,
            buffers: PortBuffers::default(),
        }
    }

    /// The events recorded so far.
    pub fn events(&self) -> &[TraceEvent] {
        &self.events
    }

    /// Events that did not fit.
    pub fn dropped(&self) -> u64 {
        self.dropped
    }

    /// The buffers the clients got at the last `open`.
    pub fn buffers(&self) -> PortBuffers {
        self.buffers
    }

    fn note(&mut self, event: TraceEvent) {
        if self.events.len() < self.events.capacity() {
            self.events.push(event);
        } else {
            self.dropped += 1;
        }
    }
}

impl<P: StreamPort> StreamPort for Recorder<P> {
    fn now_ns(&self) -> u64 {
        self.inner.now_ns()
    }

    fn open(&mut self) -> Result<PortBuffers, StreamError> {
        self.render_start = None;
        self.capture_start = None;
        self.expected_padding = 0;
        self.render_wake = None;
        self.buffers = self.inner.open()?;
        Ok(self.buffers)
    }

    fn start_capture(&mut self) -> Result<(), StreamError> {
        self.capture_start = Some(self.inner.now_ns());
        self.inner.start_capture()
    }

    fn start_render(&mut self) -> Result<(), StreamError> {
        self.render_start = Some(self.inner.now_ns());
        self.inner.start_render()
    }

    fn close(&mut self) {
        self.inner.close();
    }

    fn next_packet_frames(&mut self) -> Result<u32, StreamError> {
        self.inner.next_packet_frames()
    }

    fn read_packet(&mut self, take: &mut dyn FnMut(Packet<'_>)) -> Result<u32, StreamError> {
        let now = self.inner.now_ns();
        let rate = u64::from(self.rate);
        let rate_ns = |frames: u32| u64::from(frames) * 1_000_000_000 / rate;
        let mut seen = None;
        let frames = self.inner.read_packet(&mut |packet| {
            seen = Some((packet.frames, packet.first_frame_age_ns));
            take(packet);
        })?;
        if let (Some((frames, age)), Some(start)) = (seen, self.capture_start) {
            // A stamp younger than half the packet is the moment it became readable.
            let readable = match age {
                Some(age) if age.saturating_mul(2) < rate_ns(frames) => now.saturating_sub(age),
                _ => now,
            };
            self.note(TraceEvent::Packet(readable.saturating_sub(start), frames));
        }
        Ok(frames)
    }

    fn padding(&mut self) -> Result<u32, StreamError> {
        let padding = self.inner.padding()?;
        if let Some(start) = self.render_start {
            let taken = self.expected_padding.saturating_sub(padding);
            if taken > 0 {
                let at = self
                    .render_wake
                    .take()
                    .unwrap_or_else(|| self.inner.now_ns());
                self.note(TraceEvent::Pull(at.saturating_sub(start), taken));
            }
        }
        self.expected_padding = padding;
        Ok(padding)
    }

    fn write(&mut self, frames: u32, fill: &mut dyn FnMut(&mut [u8])) -> Result<(), StreamError> {
        self.inner.write(frames, fill)?;
        self.expected_padding = self.expected_padding.saturating_add(frames);
        Ok(())
    }

    fn write_silence(&mut self, frames: u32) -> Result<(), StreamError> {
        self.inner.write_silence(frames)?;
        self.expected_padding = self.expected_padding.saturating_add(frames);
        Ok(())
    }

    fn wait_event(&mut self, timeout_ms: u32) -> Wake {
        let wake = self.inner.wait_event(timeout_ms);
        if wake == Wake::Render && self.render_wake.is_none() {
            self.render_wake = Some(self.inner.now_ns());
        }
        wake
    }

    fn sleep_ms(&mut self, ms: u32) {
        self.inner.sleep_ms(ms);
    }

    fn render_position(&mut self) -> Result<Option<super::DevicePosition>, StreamError> {
        self.inner.render_position()
    }

    fn capture_position(&mut self) -> Result<Option<super::DevicePosition>, StreamError> {
        self.inner.capture_position()
    }
}
