//! The WASAPI stream's logic — rings, start-up, pacing, the period clock, drift, stalls —
//! written against [`StreamPort`], the few calls it makes on the audio clients.
//!
//! [`StreamCore`] is the engine's [`DeviceStream`]. On Windows its port is the COM one
//! (`com_port`: IAudioClient, IAudioRenderClient, IAudioCaptureClient, the wake-up events);
//! on every OS the [`sim`] port drives it with simulated device timing — ideal clocks with
//! a ppm offset, 10 ms packets, late first packets, stalls — or with timing recorded from
//! winepulse ([`trace`]). The simulations decide the stream's correctness deterministically;
//! the real-time runs under Wine check the whole chain.
//!
//! ## How a stream runs
//! `start` opens both clients ([`StreamPort::open`]) and starts capture (render alone:
//! queues the planned silence, [`RingPlan::output_prefill_frames`], and starts render).
//! `wait` then, once the first capture packet is there, drops what was recorded so far,
//! measures how long capture audio waits below WASAPI ([`capture_delay`]), queues the
//! planned silence and starts render. It sleeps on *both* events (a capture packet that
//! lands just after a render pull is then played at the next pull — waiting on the render
//! event alone would cost one more period of prefill), drains capture packets into the
//! input ring, tops up the render buffer from the output ring, and returns when the plan
//! says a period is ready, or `None` after [`WAIT_SLICE_MS`] without one. The first period
//! may take up to [`STARTUP_GRACE_MS`] (a device waking up); after it, no period for
//! `max(4 periods, 200 ms)` is `StreamError::Stalled` (`NoWakeUp` when not one event came
//! since start, `NoFirstPeriod` when the first never came). `read`/`write` copy one ASIO
//! buffer out of / into the rings; if the output queue stays above the plan's high-water
//! mark it is cut back to the prefill once and counted as a resync.
//!
//! ## Invariants
//! * After `start` returned, nothing here allocates, locks, logs or panics (the crate
//!   denies indexing, unwrap and panics in this module); the port's real-time calls
//!   ([`StreamPort`]'s docs say which) must hold the same.
//! * A period is returned only when its input is in the ring (capture) or the render queue
//!   fell below the prefill (output only): the host's positions never run ahead of the
//!   device.
//! * Every time the stream reads comes from [`StreamPort::now_ns`], so a simulated port
//!   controls time completely.

#![deny(
    clippy::indexing_slicing,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic
)]

#[cfg(windows)]
pub(crate) mod com_port;
pub mod sim;
pub mod trace;

use tenuto_engine::device::{
    DeviceCounters, DeviceStream, PeriodTiming, StartSpread, StreamError, WAIT_SLICE_MS,
};

use crate::capture_delay::{self, FirstPacket};
use crate::clock::SwitchClock;
use crate::drift::{DriftSteer, Slip};
pub use crate::packet::{Packet, DISCONTINUITY};
use crate::plan::RingPlan;
use crate::ratio_loop::RatioLoop;
use crate::ring::FrameRing;
use tenuto_resample::Resampler;

/// What [`StreamPort::wait_event`] saw.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Wake {
    /// The render event was signalled.
    Render,
    /// The capture event was signalled.
    Capture,
    /// Nothing within the timeout.
    Timeout,
    /// The wait failed (Win32 error code).
    Failed(u32),
}

/// The buffers the opened clients got, frames.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct PortBuffers {
    /// The render client's buffer (0 without render).
    pub render_frames: u32,
    /// The capture client's buffer (0 without capture).
    pub capture_frames: u32,
}

/// Where a device's clock stands: the frames it has played (render) or recorded (capture)
/// since its client started, and when that was so.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct DevicePosition {
    /// Frames since the client started (fractional: a position between two frames).
    pub frames: f64,
    /// When the position was read, ns on [`StreamPort::now_ns`]'s clock.
    pub at_ns: u64,
}

/// The calls the stream makes on the audio clients and the clock.
///
/// `open` and `close` run on the driver thread outside the real-time section (they may
/// allocate); every other method is called while streaming and must not allocate, lock or
/// panic. Errors are the engine's [`StreamError`] (the COM port maps HRESULTs).
pub trait StreamPort: Send {
    /// Monotonic time, ns. Real-time safe.
    fn now_ns(&self) -> u64;
    /// Opens and initialises the clients of the sides the stream has (not started).
    fn open(&mut self) -> Result<PortBuffers, StreamError>;
    /// Starts the capture client.
    fn start_capture(&mut self) -> Result<(), StreamError>;
    /// Starts the render client.
    fn start_render(&mut self) -> Result<(), StreamError>;
    /// Stops and releases both clients; harmless when not open.
    fn close(&mut self);
    /// Frames in the next capture packet (0: none waiting).
    fn next_packet_frames(&mut self) -> Result<u32, StreamError>;
    /// Reads the next capture packet into `take` and releases it; returns its frames.
    fn read_packet(&mut self, take: &mut dyn FnMut(Packet<'_>)) -> Result<u32, StreamError>;
    /// Frames queued in the render client's buffer.
    fn padding(&mut self) -> Result<u32, StreamError>;
    /// Lends `frames` frames of the render buffer to `fill`, then releases them.
    fn write(&mut self, frames: u32, fill: &mut dyn FnMut(&mut [u8])) -> Result<(), StreamError>;
    /// Queues `frames` frames of silence in the render buffer.
    fn write_silence(&mut self, frames: u32) -> Result<(), StreamError>;
    /// Waits until the render or the capture event is signalled, or `timeout_ms` passes
    /// (event-driven streams).
    fn wait_event(&mut self, timeout_ms: u32) -> Wake;
    /// Sleeps `ms` milliseconds (polling streams).
    fn sleep_ms(&mut self, ms: u32);
    /// The render device's position (IAudioClock), `None` when the port cannot tell.
    fn render_position(&mut self) -> Result<Option<DevicePosition>, StreamError> {
        Ok(None)
    }
    /// The capture device's position (IAudioClock), `None` when the port cannot tell.
    fn capture_position(&mut self) -> Result<Option<DevicePosition>, StreamError> {
        Ok(None)
    }
}

/// What the stream is made of: the plan and the shape of each side.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct StreamSetup {
    /// Ring sizes and pacing.
    pub plan: RingPlan,
    /// The stream's sample rate.
    pub rate: f64,
    /// Bytes per render frame (`None`: no render side).
    pub render_frame_bytes: Option<usize>,
    /// Bytes per capture frame (`None`: no capture side).
    pub capture_frame_bytes: Option<usize>,
    /// The capture client's buffer as probed before `open`, frames.
    pub capture_buffer_frames: u32,
    /// The longest engine period of the two sides, frames (sets the stall limit).
    pub longest_period_frames: u32,
    /// Exclusive, event-driven render: one whole device buffer per render event.
    pub exclusive_render: bool,
    /// Poll on a timer instead of waiting for events.
    pub polling: bool,
    /// Render and capture run on different clocks: steer the output queue against drift.
    pub steer_drift: bool,
    /// The host's rate: [`StreamSetup::rate`], or another when the stream converts.
    pub host_rate: f64,
    /// The ASIO buffer, host frames ([`RingPlan::buffer_frames`] is in device frames).
    pub host_buffer_frames: u32,
    /// The input ring's capacity, host frames.
    pub input_ring_frames: u32,
}

/// Sample-rate conversion between the device's rate and the host's, on the driver thread.
///
/// Both sides carry interleaved `f32` frames (the only format the device converts). The
/// capture resampler turns each packet into host frames before the input ring; the render
/// resampler turns each ASIO buffer into device frames before the output ring, so the rings'
/// and the plan's arithmetic stays in the units it was made for. Every buffer is allocated
/// here, before streaming.
pub struct Conversion {
    capture: Option<Resampler>,
    render: Option<Resampler>,
    /// Scratch: one packet or one buffer of input samples.
    samples_in: Vec<f32>,
    /// Scratch: the resampler's output samples.
    samples_out: Vec<f32>,
    /// Scratch: the output as bytes for a ring.
    bytes: Vec<u8>,
}

impl Conversion {
    /// Resamplers for `capture` (device → host) and `render` (host → device), with scratch
    /// for packets up to `packet_frames` and ASIO buffers of `buffer_frames`.
    pub fn new(
        capture: Option<Resampler>,
        render: Option<Resampler>,
        packet_frames: usize,
        buffer_frames: usize,
    ) -> Self {
        let capture_in = capture.as_ref().map_or(0, |r| packet_frames * r.channels());
        let capture_out = capture
            .as_ref()
            .map_or(0, |r| r.output_frames_max(packet_frames) * r.channels());
        let render_in = render.as_ref().map_or(0, |r| buffer_frames * r.channels());
        let render_out = render
            .as_ref()
            .map_or(0, |r| r.output_frames_max(buffer_frames) * r.channels());
        let out = capture_out.max(render_out);
        Self {
            capture,
            render,
            samples_in: vec![0.0; capture_in.max(render_in)],
            samples_out: vec![0.0; out],
            bytes: vec![0; out * 4],
        }
    }

    /// The delay the two resamplers add, (capture in host frames, render in device frames).
    pub fn delays(&self) -> (f64, f64) {
        (
            self.capture.as_ref().map_or(0.0, Resampler::delay_frames),
            self.render.as_ref().map_or(0.0, Resampler::delay_frames),
        )
    }

    fn reset(&mut self) {
        if let Some(r) = self.capture.as_mut() {
            r.reset();
        }
        if let Some(r) = self.render.as_mut() {
            r.reset();
        }
    }

    /// Resamples interleaved `f32` frames (`None`: `frames` of silence) with `resampler` and
    /// returns the output as bytes. Real-time safe.
    fn run<'a>(
        resampler: &mut Resampler,
        samples_in: &mut [f32],
        samples_out: &mut [f32],
        bytes: &'a mut [u8],
        data: Option<&[u8]>,
        frames: usize,
    ) -> &'a [u8] {
        let n = (frames * resampler.channels()).min(samples_in.len());
        let input = samples_in.get_mut(..n).unwrap_or_default();
        match data {
            Some(data) => {
                for (s, b) in input.iter_mut().zip(data.chunks_exact(4)) {
                    *s = b.try_into().map_or(0.0, f32::from_le_bytes);
                }
            }
            None => input.fill(0.0),
        }
        let (_, produced) = resampler.process(input, samples_out);
        let samples = produced * resampler.channels();
        let out = samples_out.get(..samples).unwrap_or_default();
        for (b, s) in bytes.chunks_exact_mut(4).zip(out) {
            b.copy_from_slice(&s.to_le_bytes());
        }
        bytes.get(..samples * 4).unwrap_or_default()
    }
}

/// Event-driven waits last at most this long, ms: with no event the thread looks at the
/// device anyway, so that a silent device and a thread that did not run can be told apart.
pub const CHECK_MS: u32 = 20;

/// How long a started stream may take to deliver its first period, ms. Devices leaving
/// power save (Bluetooth, USB) and an audio service that is just starting (Windows' audio
/// engine, PulseAudio under Wine) take from hundreds of ms to a few seconds; the first
/// buffer switch waits for the first real period, so the host's positions and times stay
/// honest meanwhile. Mid-stream, the stall limit applies.
pub const STARTUP_GRACE_MS: u32 = 10_000;

/// Polling interval while waiting for the first capture packet, ms.
const STARTUP_POLL_MS: u32 = 1;

/// How long the output queue may stay above its high-water mark before it is trimmed.
const HIGH_WATER_PERSIST_NS: u64 = 250_000_000;

/// Room in the output ring beyond the high-water mark for a render side that stalls and
/// catches up, ms.
const STALL_ROOM_MS: f64 = 100.0;

/// The last packet read when capture data first flowed.
#[derive(Debug, Clone, Copy, Default)]
struct NewestPacket {
    frames: u32,
    first_frame_age_ns: Option<u64>,
}

/// The stream: its rings, pacing and clock over a [`StreamPort`].
pub struct StreamCore<P: StreamPort> {
    port: P,
    has_render: bool,
    has_capture: bool,
    plan: RingPlan,
    rate: f64,
    /// Captured frames waiting for their ASIO buffer.
    input: FrameRing,
    /// Output frames waiting for room in the WASAPI render buffer.
    output: FrameRing,
    /// The clients are open (between a successful `start` and `stop`).
    open: bool,
    render_buffer_frames: u32,
    /// Render padding after the last feed, frames.
    render_padding: u32,
    capture_buffer_frames: u32,
    counters: DeviceCounters,
    /// Index of the next period `wait` returns.
    next_index: u64,
    /// When the last period became ready (for stall detection), ns.
    last_progress_ns: u64,
    /// The last wake-up on the render event (≈ the last render pull), ns.
    last_render_wake_ns: u64,
    /// Render period, ns.
    render_period_ns: u64,
    /// No period for this long → `Stalled`.
    stall_ms: u32,
    /// A capture packet has been read since start (the first may be flagged discontinuous).
    captured_any: bool,
    /// Duplex start-up: capture runs, render waits for the first capture packet.
    awaiting_capture: bool,
    /// When the capture client was started, ns.
    capture_started_ns: u64,
    /// How long the call that started capture took, ns.
    capture_start_call_ns: u64,
    /// Frames captured audio waits below WASAPI, measured at the first packet.
    input_delay_frames: Option<u32>,
    /// Duplex: frames by which render started after the first packet became readable.
    output_delay_frames: Option<u32>,
    /// How far the two figures above may be off (see [`StartSpread`]).
    start_spread: StartSpread,
    /// Exclusive render: one whole device buffer is written per render event.
    render_exclusive: bool,
    /// Exclusive render: the render event fired and the buffer has not been filled yet.
    render_due: bool,
    /// Duplex over two devices (two clocks): keeps the output queue where it settled.
    drift: Option<DriftSteer>,
    /// The stream's rate and render period, to re-arm `drift` at each start.
    drift_params: Option<(u32, u32)>,
    /// The system time of each period (smoothed; see [`crate::clock`]).
    clock: SwitchClock,
    /// Since when the output queue has been above the high-water mark, ns.
    over_high_water_since: Option<u64>,
    /// Poll on a timer instead of waiting for events.
    polling: bool,
    /// Polling interval, whole milliseconds (at least 1).
    poll_ms: u32,
    /// An event (or a poll) has woken the thread since start.
    woken: bool,
    /// When `service` last found new captured data (output only: last read the render
    /// queue), ns: the wake-up time the period clock back-dates from.
    last_data_ns: u64,
    /// When the driver thread last looked at the device (each pass of `wait`'s loop), ns.
    last_check_ns: u64,
    /// The longest time between two looks at the device in the current and the previous
    /// second, ns: the evidence a device stall's log line gives for whose it was.
    check_gap_max_ns: [u64; 2],
    /// When the current second of `check_gap_max_ns` began, ns.
    check_second_ns: u64,
    /// The host's rate (the device's unless the stream converts).
    host_rate: f64,
    /// The ASIO buffer, host frames.
    host_buffer_frames: usize,
    /// Sample-rate conversion, when the host's rate is not the device's (or the render side
    /// is steered against drift by its resampler).
    conversion: Option<Conversion>,
    /// Two clocks and a render resampler: the control loop that sets its ratio (no slips).
    ratio_loop: Option<RatioLoop>,
    /// A member of an aggregate that runs on another device's clock ([`Self::as_follower`]).
    follower: bool,
    /// The render side's padding drops when a period has played (winepulse): see
    /// [`Self::render_level_bias`].
    padding_after_play: bool,
    /// A follower's capture resampler's control loop (its input ring's level).
    capture_loop: Option<RatioLoop>,
    /// Device frames written to the render client since start, silence included.
    render_written: u64,
    /// Device frames read from the capture client since start.
    capture_taken: u64,
    /// A follower: when its device last showed progress (a packet, a pull), ns.
    follower_progress_ns: u64,
    /// A follower: the device has shown progress since start.
    follower_started: bool,
    /// Frames held beyond what makes a period ready ([`Self::hold`]).
    hold_frames: u32,
    /// When the last render pull happened, as estimated from the padding's drops
    /// (`note_padding`), ns.
    last_pull_ns: u64,
    /// When the render padding was last read, ns.
    last_look_ns: u64,
    /// When the newest capture packet became readable (by its stamp, else when it was
    /// read), ns.
    last_packet_ns: u64,
    /// Event waits last at most this long, ms ([`CHECK_MS`] unless set).
    check_ms: u32,
    /// Device frames still to drop from the capture side's next packets (a shift larger
    /// than the input ring held).
    capture_drop: u64,
    /// Device frames still to drop from the next output written (likewise for render).
    render_drop: u64,
}

impl<P: StreamPort> StreamCore<P> {
    /// Converts between the device's rate and the host's with `conversion` (the rings then
    /// hold host frames on the input side and device frames on the output side).
    ///
    /// With two clocks (`StreamSetup::steer_drift`) and a render resampler, drift is
    /// followed by the resampler's ratio ([`crate::ratio_loop`]) instead of slips.
    pub fn with_conversion(mut self, conversion: Conversion) -> Self {
        if self.drift_params.is_some() && conversion.render.is_some() {
            self.drift_params = None;
            self.ratio_loop = Some(RatioLoop::new(self.rate));
        }
        self.conversion = Some(conversion);
        if self.follower {
            return self.as_follower();
        }
        self
    }

    /// The drift correction the control loop applies now, ppm (`None`: no loop).
    pub fn drift_correction_ppm(&self) -> Option<f64> {
        self.ratio_loop.as_ref().map(RatioLoop::ppm)
    }

    /// The control loop's largest level error since it took its target, frames.
    pub fn drift_max_error_frames(&self) -> Option<f64> {
        self.ratio_loop.as_ref().map(RatioLoop::max_abs_error)
    }

    /// The capture loop's largest level error since it took its target, host frames.
    pub fn capture_max_error_frames(&self) -> Option<f64> {
        self.capture_loop.as_ref().map(RatioLoop::max_abs_error)
    }

    /// A stream over `port`, its rings allocated now (not in `start`).
    pub fn new(port: P, setup: StreamSetup) -> Self {
        let plan = setup.plan;
        let rate = setup.rate;
        let period_ms = (f64::from(setup.longest_period_frames.max(plan.buffer_frames)) * 1000.0
            / rate)
            .ceil() as u32;
        Self {
            port,
            has_render: setup.render_frame_bytes.is_some(),
            has_capture: setup.capture_frame_bytes.is_some(),
            plan,
            rate,
            input: FrameRing::new(
                setup.input_ring_frames as usize,
                setup.capture_frame_bytes.unwrap_or(1),
            ),
            output: FrameRing::new(
                plan.output_ring_frames as usize + (STALL_ROOM_MS * rate / 1000.0) as usize,
                setup.render_frame_bytes.unwrap_or(1),
            ),
            open: false,
            render_buffer_frames: 0,
            render_padding: 0,
            capture_buffer_frames: setup.capture_buffer_frames,
            counters: DeviceCounters::default(),
            next_index: 0,
            last_progress_ns: 0,
            last_render_wake_ns: 0,
            render_period_ns: plan
                .render_period_frames
                .map_or(0, |p| (f64::from(p) * 1e9 / rate) as u64),
            // A few periods, and never less than 200 ms (a loaded machine, Wine's timers).
            stall_ms: (4 * period_ms).max(200),
            captured_any: false,
            awaiting_capture: false,
            capture_started_ns: 0,
            capture_start_call_ns: 0,
            input_delay_frames: None,
            output_delay_frames: None,
            start_spread: StartSpread::default(),
            render_exclusive: setup.exclusive_render && setup.render_frame_bytes.is_some(),
            render_due: false,
            drift: None,
            drift_params: (setup.steer_drift
                && setup.render_frame_bytes.is_some()
                && setup.capture_frame_bytes.is_some())
            .then(|| (rate.round() as u32, plan.render_period_frames.unwrap_or(1))),
            clock: SwitchClock::new(setup.host_buffer_frames, setup.host_rate),
            over_high_water_since: None,
            polling: setup.polling,
            // A quarter of the shortest device period, rounded down to whole milliseconds
            // (what `Sleep` takes), at least 1 ms.
            poll_ms: [plan.render_period_frames, plan.capture_period_frames]
                .into_iter()
                .flatten()
                .min()
                .map_or(1, |p| ((f64::from(p) * 1e3 / rate / 4.0) as u32).max(1)),
            woken: false,
            last_data_ns: 0,
            last_check_ns: 0,
            check_gap_max_ns: [0; 2],
            check_second_ns: 0,
            host_rate: setup.host_rate,
            host_buffer_frames: setup.host_buffer_frames as usize,
            conversion: None,
            ratio_loop: None,
            follower: false,
            padding_after_play: false,
            capture_loop: None,
            render_written: 0,
            capture_taken: 0,
            follower_progress_ns: 0,
            follower_started: false,
            hold_frames: 0,
            last_pull_ns: 0,
            last_look_ns: 0,
            last_packet_ns: 0,
            check_ms: CHECK_MS,
            capture_drop: 0,
            render_drop: 0,
        }
    }

    /// [`DeviceStream::wait`], calling `on_wake` with the time after each look at the device
    /// (an aggregate services its followers there, so that none waits longer than the
    /// master's device period, even while the master holds its periods back). Real-time safe
    /// when `on_wake` is.
    pub fn wait_with(
        &mut self,
        on_wake: &mut dyn FnMut(u64) -> Result<(), StreamError>,
    ) -> Result<Option<PeriodTiming>, StreamError> {
        let entered = self.port.now_ns();
        loop {
            self.note_check();
            if self.awaiting_capture {
                self.begin_render()?;
            }
            if !self.awaiting_capture {
                self.service()?;
                on_wake(self.port.now_ns())?;
                if self.period_ready() {
                    break;
                }
            }
            let now = self.port.now_ns();
            let waited_ms = now.saturating_sub(self.last_progress_ns) / 1_000_000;
            let waited_ms = u32::try_from(waited_ms).unwrap_or(u32::MAX);
            // Before the first period the device may still be waking up: a generous grace.
            // After it, no period for `stall_ms` means the device stopped.
            let first = self.next_index == 0;
            let limit = if first {
                STARTUP_GRACE_MS
            } else {
                self.stall_ms
            };
            if waited_ms >= limit {
                return Err(if !self.woken && !self.polling {
                    StreamError::NoWakeUp(waited_ms)
                } else if first {
                    StreamError::NoFirstPeriod(waited_ms)
                } else {
                    StreamError::Stalled(waited_ms)
                });
            }
            if now.saturating_sub(entered) >= u64::from(WAIT_SLICE_MS) * 1_000_000 {
                // No period yet: let the loop look at its stop flag, then come back.
                return Ok(None);
            }
            if !self.open {
                return Err(StreamError::Stalled(0));
            }
            if self.polling {
                // A timer instead of the events: look again in a quarter period (while
                // waiting for the first capture packet, every millisecond: when it came
                // measures the capture delay).
                self.port.sleep_ms(if self.awaiting_capture {
                    STARTUP_POLL_MS
                } else {
                    self.poll_ms
                });
                let now = self.port.now_ns();
                if !self.awaiting_capture {
                    self.last_render_wake_ns = now;
                }
                self.woken = true;
                continue;
            }
            // Never longer than CHECK_MS without looking: a device stall's log line can then
            // tell a silent device from a thread that was not running.
            match self.port.wait_event((limit - waited_ms).min(self.check_ms)) {
                Wake::Render => {
                    self.woken = true;
                    if self.has_render && !self.awaiting_capture {
                        self.last_render_wake_ns = self.port.now_ns();
                        self.render_due = true;
                    }
                }
                Wake::Capture => self.woken = true,
                // No event for CHECK_MS: look anyway. No period for the limit ends the stream
                // at the top of the loop (`NoWakeUp` if not one event came since start: the
                // device's event-driven mode does not work, and the message says what to set).
                Wake::Timeout => {}
                Wake::Failed(code) => return Err(StreamError::Os(code)),
            }
        }
        let now = self.port.now_ns();
        self.last_progress_ns = now;
        let woke = self.last_data_ns.min(now);
        // How long ago the period was complete, in frames: the captured frames beyond it, or
        // (output only) how far the render queue is below the level that made it due.
        let hold = self.hold_frames as usize;
        let early = if self.has_capture {
            self.input
                .frames()
                .saturating_sub(self.host_buffer_frames + hold)
        } else {
            // Device frames; the clock counts host frames.
            let dev = (self.plan.output_prefill_frames as usize + hold)
                .saturating_sub(self.output_queued() + 1);
            (dev as f64 * self.host_rate / self.rate) as usize
        };
        let due = self.clock.time_of(self.next_index, woke, early as u64);
        let lost_ns = self.clock.take_lost_ns();
        if lost_ns > 0 {
            self.counters.device_stalls += 1;
            self.counters.device_stall_lost_us += lost_ns / 1000;
            self.counters.device_stall_check_gap_us =
                self.check_gap_max_ns[0].max(self.check_gap_max_ns[1]) / 1000;
        }
        let deadline = if self.has_render {
            // The period's first output frame is taken at the pull after the `queued` frames
            // ahead of it: it must be in WASAPI's buffer by then.
            let queued = self.output_queued() as u64;
            let pulls = queued / u64::from(self.plan.render_period_frames.unwrap_or(1).max(1));
            self.last_render_wake_ns
                .saturating_add(self.render_period_ns.saturating_mul(pulls + 1))
        } else {
            // Input only: before WASAPI's capture buffer overflows.
            let room = self
                .capture_buffer_frames
                .saturating_sub(self.plan.capture_period_frames.unwrap_or(0));
            due.saturating_add(self.frames_to_ns(u64::from(room)))
        };
        let index = self.next_index;
        self.next_index += 1;
        Ok(Some(PeriodTiming {
            index,
            due_ns: due,
            deadline_ns: deadline,
        }))
    }

    /// Declares that the render side's padding drops when a period has played, not when
    /// the engine takes it (winepulse's; [`crate::WasapiConfig::padding_after_play`]).
    pub fn with_padding_after_play(mut self, yes: bool) -> Self {
        self.padding_after_play = yes;
        self
    }

    /// Makes the stream a follower: a member of an aggregate whose periods come from another
    /// device's clock. Its driver calls [`Self::follow`] once per period instead of `wait`,
    /// and each side's resampler (which must exist; 1:1 when the rates are equal) follows the
    /// drift between this device's clock and the master's through a [`RatioLoop`] on the
    /// side's queue level, measured from the device's position.
    pub fn as_follower(mut self) -> Self {
        self.follower = true;
        self.drift_params = None;
        self.follower_loops(false);
        self
    }

    /// A follower's loops, coarse or not. The render loop resyncs when its level is off by
    /// more than one and a half of its device's periods ([`RatioLoop::with_resync`]):
    /// beyond the level's own jitter (a pull seen late), time the device lost (winepulse's
    /// timer starved on a loaded machine while PulseAudio played on: the queue stands tens
    /// of milliseconds longer for good). A capture level is reckoned from packets, which
    /// some devices deliver in bursts larger than their period (PulseAudio's null source
    /// does), so it gets no resync: it would tell the host of glitches that are not there.
    fn follower_loops(&mut self, coarse: bool) {
        let make = |rate: f64| {
            if coarse {
                RatioLoop::coarse(rate)
            } else {
                RatioLoop::new(rate)
            }
        };
        let Some(c) = &self.conversion else {
            return;
        };
        let (has_render, has_capture) = (c.render.is_some(), c.capture.is_some());
        if has_render {
            let period = f64::from(self.plan.render_period_frames.unwrap_or(0));
            self.ratio_loop = Some(make(self.rate).with_resync(1.5 * period));
        }
        if has_capture {
            self.capture_loop = Some(make(self.host_rate));
        }
    }

    /// A follower's turn, once per period of the master (after the master's `wait`): moves
    /// captured packets into the input ring and queued output into the device, and checks
    /// that the device still moves (no progress for the stall limit: `Stalled`; none within
    /// the start-up grace: `NoFirstPeriod`). Real-time safe.
    pub fn follow(&mut self) -> Result<(), StreamError> {
        self.note_check();
        let taken = self.capture_taken;
        self.service()?;
        let now = self.port.now_ns();
        if self.capture_taken > taken {
            self.follower_progress_ns = now;
            self.follower_started = true;
        }
        let waited_ms = now.saturating_sub(self.follower_progress_ns) / 1_000_000;
        let waited_ms = u32::try_from(waited_ms).unwrap_or(u32::MAX);
        if !self.follower_started && waited_ms >= STARTUP_GRACE_MS {
            return Err(StreamError::NoFirstPeriod(waited_ms));
        }
        if self.follower_started && waited_ms >= self.stall_ms {
            return Err(StreamError::Stalled(waited_ms));
        }
        Ok(())
    }

    /// Frames queued for the render device (device frames): written and not yet played, by
    /// the device's position when the port gives it, else as if the device consumed
    /// continuously since its last pull. Real-time safe.
    pub fn render_level(&mut self) -> f64 {
        let now = self.port.now_ns();
        match self.port.render_position() {
            Ok(Some(p)) => {
                let played = p.frames + now.saturating_sub(p.at_ns) as f64 * self.rate / 1e9;
                (self.render_written + self.output.frames() as u64) as f64 - played
            }
            // A follower sees pulls only when it is serviced (the master's thread looks at
            // least every POLL_FOLLOWERS_MS when there are no positions). The level counts
            // the period pulled last as still to play; see `render_level_bias` for what
            // that makes of the latency.
            _ if self.follower => {
                // The padding now (the last feed's may be a pull old).
                if let Ok(padding) = self.port.padding() {
                    self.note_padding(padding);
                    self.render_padding = padding;
                }
                // Ahead of the next frame written: the queue, and what is left to play of the
                // last period pulled (the device plays a pull over the period after it).
                let since = now
                    .saturating_sub(self.last_pull_ns)
                    .min(self.render_period_ns);
                self.output_queued() as f64
                    + self.render_period_ns.saturating_sub(since) as f64 * self.rate / 1e9
            }
            _ => self.output_queued() as f64 - self.played_since_pull() as f64,
        }
    }

    /// Frames captured and not yet read by the host (host frames): the input ring plus what
    /// the device has recorded and not yet delivered, by its position when the port gives
    /// it. Real-time safe.
    pub fn capture_level(&mut self) -> f64 {
        let now = self.port.now_ns();
        let pending = match self.port.capture_position() {
            Ok(Some(p)) => {
                let recorded = p.frames + now.saturating_sub(p.at_ns) as f64 * self.rate / 1e9;
                (recorded - self.capture_taken as f64).max(0.0) * self.host_rate / self.rate
            }
            // Recorded since the newest packet became readable (a packet at most), and what
            // the audio stack holds back before a packet is readable (measured at the first).
            _ => {
                let packet_ns = self
                    .plan
                    .capture_period_frames
                    .map_or(0, |p| self.frames_to_ns(u64::from(p)));
                now.saturating_sub(self.last_packet_ns).min(packet_ns) as f64 * self.host_rate / 1e9
                    + f64::from(self.input_delay_frames.unwrap_or(0))
            }
        };
        self.input.frames() as f64 + pending
    }

    /// The capture side's latency now, host frames: how long ago the first frame the next
    /// read returns was recorded, less the buffer's own length, plus the resampler's delay.
    /// Taken before a read. Real-time safe.
    pub fn capture_latency_estimate(&mut self) -> Option<f64> {
        if !self.has_capture {
            return None;
        }
        let delay = self.conversion.as_ref().map_or(0.0, |c| c.delays().0);
        Some(self.capture_level() - self.host_buffer_frames as f64 + delay)
    }

    /// The render side's latency now, host frames: how long until the first frame of the
    /// next write plays, the resampler's delay included. Taken before a write. Real-time
    /// safe.
    pub fn render_latency_estimate(&mut self) -> Option<f64> {
        if !self.has_render {
            return None;
        }
        let delay = self.conversion.as_ref().map_or(0.0, |c| c.delays().1);
        let bias = self.render_level_bias();
        Some((self.render_level() - bias + delay) * self.host_rate / self.rate)
    }

    /// The render level (device frames, as [`Self::render_level`] counts it) at which this
    /// side's latency is `latency` host frames. Real-time safe.
    pub fn render_level_for(&mut self, latency: f64) -> f64 {
        let delay = self.conversion.as_ref().map_or(0.0, |c| c.delays().1);
        latency * self.rate / self.host_rate.max(1.0) - delay + self.render_level_bias()
    }

    /// How much a follower's render level exceeds its latency, device frames. With the
    /// device's position, nothing. Without it the level is reckoned from the pulls, as a
    /// device that takes a period and plays it over the period after (Windows' engine
    /// does). A device whose padding drops when a period has played
    /// ([`Self::with_padding_after_play`]: winepulse takes the period off once PulseAudio
    /// has played it) has already played the period counted as still to play: the level
    /// exceeds the latency by a device period (docs/MEASUREMENTS.md, *Several devices as
    /// one*). The level keeps its reckoning: the follower's least level (its plan's prefill)
    /// is counted that way. Real-time safe.
    pub fn render_level_bias(&mut self) -> f64 {
        if !self.follower
            || !self.has_render
            || !self.padding_after_play
            || matches!(self.port.render_position(), Ok(Some(_)))
        {
            return 0.0;
        }
        self.render_period_ns as f64 * self.rate / 1e9
    }

    /// Moves the capture side by `frames` host frames (silence into the input ring; a
    /// negative count drops as many frames from the packets to come). Its loop holds the
    /// level at `target` (host frames) from now on when given ([`RatioLoop::retarget`]),
    /// else expects the level to move by `in_all` in all ([`RatioLoop::shift`]).
    /// Real-time safe.
    pub fn shift_capture(&mut self, frames: i64, in_all: f64, target: Option<f64>) {
        if frames >= 0 {
            self.input.push_silence(frames as usize);
        } else {
            // Dropped from the packets to come (device frames), not from the ring: the host
            // may read the ring's frames before the packets come (the period in progress).
            let want = frames.unsigned_abs() as f64 * self.rate / self.host_rate.max(1.0);
            self.capture_drop += want.round() as u64;
        }
        if let Some(l) = self.capture_loop.as_mut() {
            match target {
                Some(t) => l.retarget(t),
                None => l.shift(in_all),
            }
        }
    }

    /// Moves the render side by `frames` device frames (silence into the output ring; a
    /// negative count drops the oldest queued frames, and what the ring does not hold from the
    /// output to come). Its loop holds the level at `target` (device frames) from now on
    /// when given, else expects it to move by `in_all` in all. Real-time safe.
    pub fn shift_render(&mut self, frames: i64, in_all: f64, target: Option<f64>) {
        if frames >= 0 {
            self.output.push_silence(frames as usize);
        } else {
            let want = frames.unsigned_abs() as usize;
            let dropped = self.output.discard(want.min(self.output.frames()));
            // What the ring did not hold (it is in the device's buffer already) is dropped
            // from the output to come.
            self.render_drop += (want - dropped) as u64;
        }
        if let Some(l) = self.ratio_loop.as_mut() {
            match target {
                Some(t) => l.retarget(t),
                None => l.shift(in_all),
            }
        }
    }

    /// Looks at the device at least every `ms` milliseconds while waiting for events
    /// (default [`CHECK_MS`]): an aggregate whose members give no positions services its
    /// followers that often, so that their pulls and packets are seen close to when they
    /// happen. Real-time safe.
    pub fn set_check_ms(&mut self, ms: u32) {
        self.check_ms = ms.clamp(1, CHECK_MS);
    }

    /// Holds `frames` more before a period is ready (capture: host frames in the input ring
    /// beyond a buffer; output only: device frames queued beyond the prefill). The host's
    /// periods pause (capture) or hurry (output) by that much once; the side's latency grows
    /// by it for good. Real-time safe.
    pub fn hold(&mut self, frames: u32) {
        if frames != self.hold_frames {
            // The host's periods move once by the hold: not time lost by the device.
            self.clock.reset();
        }
        self.hold_frames = frames;
    }

    /// The resamplers' delays, (capture in host frames, render in device frames).
    pub fn conversion_delays(&self) -> (f64, f64) {
        self.conversion
            .as_ref()
            .map_or((0.0, 0.0), Conversion::delays)
    }

    /// Where this side's device clock stands now (capture when the stream has capture, else
    /// render), frames since its start, extrapolated from the last position read; `None`
    /// when the port cannot tell. Real-time safe.
    pub fn device_position(&mut self) -> Option<f64> {
        let now = self.port.now_ns();
        let p = if self.has_capture {
            self.port.capture_position()
        } else {
            self.port.render_position()
        };
        p.ok()
            .flatten()
            .map(|p| p.frames + now.saturating_sub(p.at_ns) as f64 * self.rate / 1e9)
    }

    /// Makes the follower's loops coarse ([`RatioLoop::coarse`]): its device gives no
    /// position. Called after `start`, before the first period. Real-time safe.
    pub fn use_coarse_loops(&mut self) {
        if self.follower {
            self.follower_loops(true);
        }
    }

    /// Lets the follower's coarse loops act ([`RatioLoop::release`]). Real-time safe.
    pub fn release_loops(&mut self) {
        if let Some(l) = self.capture_loop.as_mut() {
            l.release();
        }
        if let Some(l) = self.ratio_loop.as_mut() {
            l.release();
        }
    }

    /// Starts the follower's loop from this drift (see [`RatioLoop::preset`]). Real-time
    /// safe.
    pub fn preset_drift_ppm(&mut self, ppm: f64) {
        if let Some(l) = self.capture_loop.as_mut() {
            l.preset(ppm);
        }
        if let Some(l) = self.ratio_loop.as_mut() {
            l.preset(ppm);
        }
    }

    /// The capture loop's correction now, ppm (`None`: no loop).
    pub fn capture_correction_ppm(&self) -> Option<f64> {
        self.capture_loop.as_ref().map(RatioLoop::ppm)
    }

    /// The port (a simulation's device state, for tests).
    pub fn port(&self) -> &P {
        &self.port
    }

    /// The port, mutably.
    pub fn port_mut(&mut self) -> &mut P {
        &mut self.port
    }

    /// The plan the stream runs (device frames; see [`RingPlan::on_device`]).
    pub fn plan(&self) -> &RingPlan {
        &self.plan
    }

    /// The device's rate (the rings' on the device side), frames per second.
    pub fn device_rate(&self) -> f64 {
        self.rate
    }

    /// The host's rate, frames per second.
    pub fn host_rate(&self) -> f64 {
        self.host_rate
    }

    /// The ASIO buffer, host frames.
    pub fn host_buffer_frames(&self) -> u32 {
        u32::try_from(self.host_buffer_frames).unwrap_or(u32::MAX)
    }

    fn frames_to_ns(&self, frames: u64) -> u64 {
        (frames as f64 * 1e9 / self.rate) as u64
    }

    /// Moves captured packets into the input ring and queued output into WASAPI's render
    /// buffer. Real-time safe.
    fn service(&mut self) -> Result<(), StreamError> {
        if !self.open {
            return Err(StreamError::Stalled(0));
        }
        if !self.has_capture {
            // Output only: the period becomes due as the render queue is read here.
            self.last_data_ns = self.port.now_ns();
        }
        let mut first_packet = None;
        if self.has_capture {
            loop {
                let frames = self.port.next_packet_frames()?;
                // Room for the packet as the ring will hold it (more, converted to a higher
                // host rate).
                let needed = match self.conversion.as_ref().and_then(|c| c.capture.as_ref()) {
                    Some(r) => r.output_frames_max(frames as usize),
                    None => frames as usize,
                };
                if frames == 0 || needed > self.input.free_frames() {
                    // Nothing waiting, or no room yet: the packet stays in WASAPI's buffer.
                    break;
                }
                let input = &mut self.input;
                let counters = &mut self.counters;
                let first = !self.captured_any;
                let captured_any = &mut self.captured_any;
                let taken = &mut self.capture_taken;
                let mut conversion = self.conversion.as_mut().and_then(|c| {
                    c.capture
                        .as_mut()
                        .map(|r| (r, &mut c.samples_in, &mut c.samples_out, &mut c.bytes))
                });
                let mut newest = NewestPacket::default();
                let drop = &mut self.capture_drop;
                self.port.read_packet(&mut |packet| {
                    // Every frame leaves the device, kept or not.
                    *taken += u64::from(packet.frames);
                    // A shift still owed: the packet's first frames are not kept.
                    let skip = (*drop).min(u64::from(packet.frames)) as u32;
                    *drop -= u64::from(skip);
                    let frame_bytes = packet
                        .data
                        .map_or(0, |d| d.len() / (packet.frames.max(1) as usize));
                    let packet = Packet {
                        data: packet
                            .data
                            .map(|d| d.get(skip as usize * frame_bytes..).unwrap_or_default()),
                        frames: packet.frames - skip,
                        ..packet
                    };
                    match (conversion.as_mut(), packet.data) {
                        (Some((r, samples_in, samples_out, bytes)), data) => {
                            let frames = packet.frames as usize;
                            input.push(Conversion::run(
                                r,
                                samples_in,
                                samples_out,
                                bytes,
                                data,
                                frames,
                            ))
                        }
                        (None, Some(data)) => input.push(data),
                        (None, None) => input.push_silence(packet.frames as usize),
                    };
                    if packet.flags & DISCONTINUITY != 0 && *captured_any {
                        counters.input_overruns += 1;
                    }
                    *captured_any = true;
                    newest = NewestPacket {
                        frames: packet.frames,
                        first_frame_age_ns: packet.first_frame_age_ns,
                    };
                })?;
                if first {
                    first_packet = Some(newest);
                }
                // The newest captured frame is at most this old (never earlier: a packet found
                // without waiting may have arrived any time since the last wake-up).
                let now = self.port.now_ns();
                self.last_data_ns = now;
                self.last_packet_ns = match newest.first_frame_age_ns {
                    Some(age)
                        if age <= self.frames_to_ns(u64::from(self.capture_buffer_frames)) =>
                    {
                        now.saturating_sub(age)
                    }
                    _ => now,
                };
            }
        }
        if let Some(newest) = first_packet {
            // Input only (a duplex stream measures in `begin_render`).
            self.note_first_capture(newest);
        }
        self.feed_render()
    }

    /// Moves as much queued output as fits into WASAPI's render buffer. Real-time safe.
    fn feed_render(&mut self) -> Result<(), StreamError> {
        if !self.open || !self.has_render || self.awaiting_capture {
            return Ok(());
        }
        if self.render_exclusive {
            // Exclusive, event-driven: each render event asks for exactly one whole buffer.
            if !self.render_due {
                return Ok(());
            }
            self.render_due = false;
            let frames = self.render_buffer_frames;
            let output = &mut self.output;
            let mut short = false;
            self.port.write(frames, &mut |buffer| {
                let moved = output.pop_into(buffer);
                if let Some(rest) = buffer.get_mut(moved * output.frame_bytes()..) {
                    short = !rest.is_empty();
                    rest.fill(0);
                }
            })?;
            self.render_written += u64::from(frames);
            if short {
                self.counters.output_underruns += 1;
            }
            // The device buffer is in flight: only the ring counts as queued.
            self.render_padding = 0;
            return Ok(());
        }
        let padding = self.port.padding()?;
        self.note_padding(padding);
        let room = self.render_buffer_frames.saturating_sub(padding);
        let frames = room.min(u32::try_from(self.output.frames()).unwrap_or(u32::MAX));
        let output = &mut self.output;
        self.port.write(frames, &mut |buffer| {
            let moved = output.pop_into(buffer);
            // Cannot be short (`frames` ≤ what the ring holds); silence if it were.
            if let Some(rest) = buffer.get_mut(moved * output.frame_bytes()..) {
                rest.fill(0);
            }
        })?;
        self.render_padding = padding + frames;
        self.render_written += u64::from(frames);
        Ok(())
    }

    /// Starts capture; starts render too when there is no capture side (driver thread,
    /// before streaming). With both, render starts in `wait` once capture data flows
    /// ([`Self::begin_render`]): that keeps the two sides in the phase the plan assumes. A
    /// capture stream's first packets can take from a few periods (Wine: the PulseAudio
    /// source's start-up) to seconds (a device leaving power save, the audio service
    /// starting); a render side started at once would play its prefill meanwhile, underrun,
    /// and then receive the late packets as a burst.
    fn start_clients(&mut self) -> Result<(), StreamError> {
        if self.has_capture {
            self.capture_started_ns = self.port.now_ns();
            self.port.start_capture()?;
            self.capture_start_call_ns = self.port.now_ns().saturating_sub(self.capture_started_ns);
            if self.has_render {
                self.awaiting_capture = true;
                return Ok(());
            }
        }
        self.prime_render()
    }

    /// Queues the planned silence and starts render.
    fn prime_render(&mut self) -> Result<(), StreamError> {
        if self.has_render {
            // The planned silence: as much as fits in WASAPI's buffer, the rest in the ring.
            let prefill = self.plan.output_prefill_frames;
            let now = prefill.min(self.render_buffer_frames);
            self.port.write_silence(now)?;
            self.render_written += u64::from(now);
            self.output.push_silence((prefill - now) as usize);
            self.render_padding = if self.render_exclusive { 0 } else { now };
            self.render_due = false;
            let calling = self.port.now_ns();
            self.port.start_render()?;
            self.last_render_wake_ns = self.port.now_ns();
            if self.output_delay_frames.is_some() {
                // The output delay counts to the call's beginning; the render clock began
                // somewhere inside it (a call that lost the CPU takes milliseconds).
                self.start_spread.output_frames = capture_delay::ns_to_frames(
                    self.last_render_wake_ns.saturating_sub(calling),
                    self.host_rate,
                );
            }
        }
        Ok(())
    }

    /// Whether capture data flows yet; if so, drops what was recorded so far. Real-time safe.
    fn drain_first_capture(&mut self) -> Result<Option<NewestPacket>, StreamError> {
        if self.port.next_packet_frames()? == 0 {
            return Ok(None);
        }
        let mut newest = NewestPacket::default();
        while self.port.next_packet_frames()? > 0 {
            let taken = &mut self.capture_taken;
            self.port.read_packet(&mut |packet| {
                *taken += u64::from(packet.frames);
                newest = NewestPacket {
                    frames: packet.frames,
                    first_frame_age_ns: packet.first_frame_age_ns,
                }
            })?;
        }
        Ok(Some(newest))
    }

    /// Duplex start-up: once the first capture packet is there, drops what was recorded so
    /// far (it would only add latency) and starts render. Runs before the first period,
    /// outside the real-time section: starting the render client may allocate inside the
    /// audio stack.
    fn begin_render(&mut self) -> Result<(), StreamError> {
        if !self.open {
            return Err(StreamError::Stalled(0));
        }
        if let Some(newest) = self.drain_first_capture()? {
            self.note_first_capture(newest);
            self.awaiting_capture = false;
            self.captured_any = true;
            self.prime_render()?;
        }
        Ok(())
    }

    /// Measures how long captured audio waits below WASAPI from the first packet read (see
    /// [`crate::capture_delay`]). Real-time safe.
    fn note_first_capture(&mut self, newest: NewestPacket) {
        let now = self.port.now_ns();
        let period_ns = self
            .plan
            .capture_period_frames
            .map_or(0, |p| self.frames_to_ns(u64::from(p)));
        let first = FirstPacket {
            after_start_ns: now.saturating_sub(self.capture_started_ns),
            period_ns,
            newest_len_ns: self.frames_to_ns(u64::from(newest.frames)),
            // Every frame taken so far was taken at this first look.
            drained_ns: self.frames_to_ns(self.capture_taken),
            newest_first_frame_age_ns: newest.first_frame_age_ns,
            notice_ns: if self.polling {
                u64::from(STARTUP_POLL_MS) * 1_000_000
            } else {
                0
            },
        };
        // Reported in host frames: the engine adds them to host-frame latencies.
        let delay = capture_delay::measure(&first);
        self.start_spread.input_unknown = delay == capture_delay::CaptureDelay::Unknown;
        if matches!(delay, capture_delay::CaptureDelay::StartPhase(_)) {
            // The start phase counts from the call's beginning; recording began inside it.
            self.start_spread.input_frames =
                capture_delay::ns_to_frames(self.capture_start_call_ns, self.host_rate);
        }
        self.input_delay_frames = delay
            .ns()
            .map(|ns| capture_delay::ns_to_frames(ns, self.host_rate));
        if self.has_render {
            // Render starts now, not when the packet became readable (the plan's phase):
            // the output queue holds that much more for the stream's life.
            self.output_delay_frames = Some(capture_delay::ns_to_frames(
                capture_delay::readable_age_ns(&first),
                self.host_rate,
            ));
        }
    }

    /// Drops queued output so that `incoming` more frames leave the queue at the prefill
    /// level. Called when a write would take the queue (ring + WASAPI padding) over the plan's
    /// high-water mark: render stalled or capture ran ahead by more than the timing jitter
    /// the plan allows. One counted discontinuity (a resync) instead of a queue that stays
    /// full and drops a little of every block. Real-time safe.
    fn trim_output(&mut self, incoming: usize) {
        let target = self.plan.output_prefill_frames as usize;
        let excess = (self.output_queued() + incoming).saturating_sub(target);
        let from_ring = excess.min(self.output.frames());
        self.output.discard(from_ring);
        self.counters.resyncs += 1;
    }

    /// Takes the render padding read just now: a drop since the last look is a pull (a
    /// follower's sign of life), which happened between the two looks: its time is taken as
    /// the middle of that interval (unbiased; off by at most half the interval, the
    /// master's thread looking every [`crate::aggregate::POLL_FOLLOWERS_MS`] when there are
    /// no positions). Real-time safe.
    fn note_padding(&mut self, padding: u32) {
        let now = self.port.now_ns();
        if padding < self.render_padding {
            self.follower_progress_ns = now;
            self.follower_started = true;
            let since = self.last_look_ns.min(now);
            self.last_pull_ns = since + (now - since) / 2;
        }
        self.last_look_ns = now;
    }

    /// Records a look at the device (see `check_gap_max_ns`). Real-time safe.
    fn note_check(&mut self) {
        let now = self.port.now_ns();
        let gap = now.saturating_sub(self.last_check_ns);
        self.last_check_ns = now;
        if now.saturating_sub(self.check_second_ns) >= 1_000_000_000 {
            self.check_gap_max_ns = [0, self.check_gap_max_ns[0]];
            self.check_second_ns = now;
        }
        self.check_gap_max_ns[0] = self.check_gap_max_ns[0].max(gap);
    }

    fn output_queued(&self) -> usize {
        self.output.frames() + self.render_padding as usize
    }

    /// The frames the render device has played since its last pull, as if it consumed
    /// continuously. Taken off the queue level, it gives a level that moves only with drift:
    /// sampled right after capture packets, the raw level jumps by a whole render period
    /// each time the two clocks' pulls and packets change order. Real-time safe.
    fn played_since_pull(&self) -> usize {
        let since_pull = self
            .port
            .now_ns()
            .saturating_sub(self.last_render_wake_ns)
            .min(self.render_period_ns);
        (since_pull as f64 * self.rate / 1e9) as usize
    }

    /// Whether the next ASIO period can run: a whole buffer of (host) frames captured, or
    /// (output only) the render queue below the prefill. Real-time safe.
    fn period_ready(&self) -> bool {
        let hold = self.hold_frames as usize;
        if self.has_capture {
            self.input.frames() >= self.host_buffer_frames + hold
        } else {
            self.has_render
                && self.output_queued() < self.plan.output_prefill_frames as usize + hold
        }
    }
}

impl<P: StreamPort> DeviceStream for StreamCore<P> {
    fn start(&mut self) -> Result<(), StreamError> {
        self.stop();
        self.input.clear();
        self.output.clear();
        self.counters = DeviceCounters::default();
        self.drift = self
            .drift_params
            .map(|(rate, period)| DriftSteer::new(rate, period));
        self.next_index = 0;
        self.clock.reset();
        self.over_high_water_since = None;
        self.woken = false;
        self.last_data_ns = 0;
        self.check_gap_max_ns = [0; 2];
        self.captured_any = false;
        self.awaiting_capture = false;
        self.input_delay_frames = None;
        self.output_delay_frames = None;
        self.start_spread = StartSpread::default();
        self.render_padding = 0;
        if let Some(c) = self.conversion.as_mut() {
            c.reset();
        }
        if self.follower {
            self.follower_loops(false);
        } else if let Some(l) = self.ratio_loop.as_mut() {
            *l = RatioLoop::new(self.rate);
        }
        self.render_written = 0;
        self.capture_taken = 0;
        self.follower_started = false;
        self.hold_frames = 0;
        self.last_pull_ns = 0;
        self.last_look_ns = 0;
        self.last_packet_ns = 0;
        self.capture_drop = 0;
        self.render_drop = 0;
        let buffers = self.port.open()?;
        self.render_buffer_frames = buffers.render_frames;
        if self.has_capture {
            self.capture_buffer_frames = buffers.capture_frames;
        }
        self.open = true;
        if let Err(e) = self.start_clients() {
            self.stop();
            return Err(e);
        }
        let now = self.port.now_ns();
        self.last_progress_ns = now;
        self.last_render_wake_ns = now;
        self.last_check_ns = now;
        self.check_second_ns = now;
        self.follower_progress_ns = now;
        self.last_pull_ns = now;
        self.last_look_ns = now;
        self.last_packet_ns = now;
        Ok(())
    }

    fn wait(&mut self) -> Result<Option<PeriodTiming>, StreamError> {
        self.wait_with(&mut |_| Ok(()))
    }

    fn read(&mut self, dst: &mut [u8]) -> Result<(), StreamError> {
        if !self.has_capture {
            dst.fill(0);
            return Ok(());
        }
        if self.capture_loop.is_some() {
            let level = self.capture_level();
            let frames = u32::try_from(self.host_buffer_frames).unwrap_or(u32::MAX);
            let host_rate = self.host_rate;
            if let (Some(lp), Some(r)) = (
                self.capture_loop.as_mut(),
                self.conversion.as_mut().and_then(|c| c.capture.as_mut()),
            ) {
                r.set_ratio_adjust(lp.period(level, frames, host_rate));
            }
        }
        let got = self.input.pop_into(dst);
        let frame = self.input.frame_bytes();
        if got * frame < dst.len() {
            // `wait` only returns with a full buffer waiting; this would be a bug.
            self.counters.input_overruns += 1;
            if let Some(rest) = dst.get_mut(got * frame..) {
                rest.fill(0);
            }
        }
        Ok(())
    }

    fn write(&mut self, src: &[u8]) -> Result<(), StreamError> {
        if !self.has_render {
            return Ok(());
        }
        // Converting: the buffer becomes device frames first (scratch taken out of `self`
        // for the call and put back; moving a Vec does not allocate).
        let Some(mut conversion) = self.conversion.take() else {
            return self.queue_output(src);
        };
        let result = match conversion.render.as_mut() {
            Some(r) => {
                let frames = src.len() / (4 * r.channels()).max(1);
                let level = if self.follower {
                    self.render_level()
                } else {
                    self.output_queued() as f64 - self.played_since_pull() as f64
                };
                if let Some(lp) = self.ratio_loop.as_mut() {
                    let factor = lp.period(
                        level,
                        u32::try_from(frames).unwrap_or(u32::MAX),
                        self.host_rate,
                    );
                    r.set_ratio_adjust(factor);
                }
                let bytes = Conversion::run(
                    r,
                    &mut conversion.samples_in,
                    &mut conversion.samples_out,
                    &mut conversion.bytes,
                    Some(src),
                    frames,
                );
                self.queue_output(bytes)
            }
            None => self.queue_output(src),
        };
        self.conversion = Some(conversion);
        if let Some(off) = self.ratio_loop.as_mut().and_then(RatioLoop::take_resync) {
            self.resync_render(off);
        }
        result
    }

    fn stop(&mut self) {
        if self.open {
            self.port.close();
            self.open = false;
        }
        self.awaiting_capture = false;
    }

    fn device_counters(&self) -> DeviceCounters {
        self.counters
    }

    fn measured_input_delay(&self) -> Option<u32> {
        self.input_delay_frames
    }

    fn start_spread(&self) -> StartSpread {
        self.start_spread
    }

    fn measured_output_delay(&self) -> Option<u32> {
        self.output_delay_frames
    }
}

impl<P: StreamPort> StreamCore<P> {
    /// A follower's render level stands `off` device frames from its loop's target for
    /// good (the device lost or gained time): puts it back at once, by dropping the oldest
    /// queued frames (and what the ring does not hold from the output to come) or by
    /// queuing silence, and counts a resync (the host is told). Real-time safe.
    fn resync_render(&mut self, off: f64) {
        let frames = off.round();
        if frames > 0.0 {
            let want = frames as usize;
            let dropped = self.output.discard(want.min(self.output.frames()));
            self.render_drop += (want - dropped) as u64;
        } else if frames < 0.0 {
            self.output.push_silence((-frames) as usize);
        }
        self.counters.resyncs += 1;
    }

    /// Queues one period of device frames for playback (see [`DeviceStream::write`]).
    /// Real-time safe.
    fn queue_output(&mut self, src: &[u8]) -> Result<(), StreamError> {
        let frame_bytes = self.output.frame_bytes().max(1);
        let skip = self.render_drop.min((src.len() / frame_bytes) as u64);
        self.render_drop -= skip;
        let src = src.get(skip as usize * frame_bytes..).unwrap_or_default();
        let frames = src.len() / self.output.frame_bytes();
        // High-water mark: the most the plan queues plus a period of jitter on either side.
        // A render side that stalls and then catches up (Wine's timer thread does) passes it
        // for a moment; only a queue that stays above it (the engine skipped pulls and will
        // not make them up) or no room left in the ring is trimmed.
        if self.output_queued() + frames > self.plan.output_ring_frames as usize {
            let now = self.port.now_ns();
            let since = *self.over_high_water_since.get_or_insert(now);
            if now.saturating_sub(since) >= HIGH_WATER_PERSIST_NS
                || self.output.free_frames() < frames
            {
                self.trim_output(frames);
                self.over_high_water_since = None;
            }
        } else {
            self.over_high_water_since = None;
        }
        let level = self
            .output_queued()
            .saturating_sub(self.played_since_pull());
        let slip = match self.drift.as_mut() {
            Some(d) => d.period(level, u32::try_from(frames).unwrap_or(u32::MAX)),
            None => Slip::None,
        };
        let frame = self.output.frame_bytes();
        let last = src.get(src.len().saturating_sub(frame)..).unwrap_or(&[]);
        let (body, extra) = match slip {
            Slip::None | Slip::Cut(_) => (src, &[][..]),
            Slip::Drop => (src.get(..src.len() - last.len()).unwrap_or(src), &[][..]),
            Slip::Repeat => (src, last),
        };
        match slip {
            Slip::None => {}
            Slip::Drop | Slip::Repeat => self.counters.clock_slips += 1,
            Slip::Cut(frames) => {
                self.output.discard(frames as usize);
                self.counters.resyncs += 1;
            }
        }
        let want = (body.len() + extra.len()) / frame.max(1);
        if self.output.push(body) + self.output.push(extra) < want {
            // Still no room (WASAPI holds more than the plan): what does not fit is lost.
            self.counters.output_underruns += 1;
        }
        self.feed_render()
    }
}

impl<P: StreamPort> Drop for StreamCore<P> {
    fn drop(&mut self) {
        self.stop();
    }
}
