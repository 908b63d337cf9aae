//! A simulated audio device behind the [`StreamPort`] seam: deterministic device timing for
//! tests of [`StreamCore`](super::StreamCore) on any OS.
//!
//! Time is virtual: it moves only when the stream waits ([`StreamPort::wait_event`],
//! [`StreamPort::sleep_ms`]), to the next device event or the timeout, plus a wake-up
//! lateness drawn from a fixed pseudo-random sequence. The model:
//!
//! * **Clocks.** Each side counts frames at `rate × (1 + ppm/10⁶)`; a side's frame `n`
//!   happens at its origin plus `n / rate` of *device* time. Stalls stop device time for
//!   both sides (the audio stack below the API stalls): frames due meanwhile come late,
//!   none is lost.
//! * **Render.** After `start_render` the device pulls one period every `period_frames`
//!   frames, the first after `first_after_ns`. A pull takes the period from the client's
//!   buffer (what is missing is a device underrun, played as silence); a loopback capture
//!   records it from that moment, as a sink's monitor does: frame `i` of pull `k` is the
//!   device's frame `D + k·P + i`, where `D` is the frame of the first pull. (A real
//!   output's converter delay comes on top; WASAPI cannot see it, nor can the stream.)
//! * **Capture.** Recording begins at `start_capture`; packet `j` holds the frames
//!   `j·P … (j+1)·P` after it and becomes readable `hold_ns` after its last frame was
//!   recorded (winepulse's 10 ms capture timer holds packets back by its phase). With
//!   `loopback` the capture side records what the render side played at the same instant
//!   (a sink and its monitor: one clock); otherwise each frame's samples hold the capture
//!   side's frame number, so that a lost or repeated frame shows.
//! * **Schedules.** A side may follow a recorded schedule ([`crate::stream::trace`])
//!   instead of the ideal clock: each entry is when a pull or packet happened and its size.
//!
//! * **Worlds.** Several ports may share one timeline ([`SimWorld`]): the devices of an
//!   aggregate. Time moves when any of them waits; the others catch up when next called.
//!   Their sound meets in the world's air: a capture side in a world (without `loopback`)
//!   records, on each channel, the sum of what every render side of the world plays on that
//!   channel at the instant of each captured frame (the frame playing then; each device on
//!   its own clock). A render side's frame `n` (counted from the first frame written,
//!   silence included) plays at device frame `D + n`: the model assumes no underrun, which
//!   the counters report.
//! * **Positions.** [`StreamPort::render_position`] and [`StreamPort::capture_position`]
//!   give the frames played since the first pull and recorded since the start, continuously
//!   (as IAudioClock's position moves).
//!
//! Samples are `f32`, `channels` per frame (a frame number up to 2²⁴ is exact). The simulation allocates freely: it is test
//! equipment, not part of the real-time path.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use tenuto_engine::sync::Mutex;

use tenuto_engine::device::StreamError;

use super::{DevicePosition, Packet, PortBuffers, StreamPort, Wake, DISCONTINUITY};

/// `AUDCLNT_E_BUFFER_TOO_LARGE`: a write asked for more than the free space.
pub const BUFFER_TOO_LARGE: u32 = 0x8889_0006;

/// The time stamp a simulated capture packet carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stamps {
    /// No time stamp.
    None,
    /// When the packet became readable (winepulse).
    Readable,
    /// When the packet's first frame was recorded (Windows).
    Recorded,
}

/// One side of the simulated device.
#[derive(Debug, Clone, PartialEq)]
pub struct SimSide {
    /// The client's buffer, frames.
    pub buffer_frames: u32,
    /// Frames per pull (render) or packet (capture).
    pub period_frames: u32,
    /// Clock error, parts per million (positive: the device runs fast).
    pub ppm: f64,
    /// Render: from `start_render` to the first pull, ns.
    pub first_after_ns: u64,
    /// Capture: how long a whole packet waits before it is readable, ns.
    pub hold_ns: u64,
    /// Capture: the time stamps packets carry.
    pub stamps: Stamps,
    /// A recorded schedule replacing the ideal clock: (ns after the side's start, frames).
    pub schedule: Option<Vec<(u64, u32)>>,
}

impl SimSide {
    /// An ideal side: a buffer of `buffer_frames`, periods of `period_frames`, no drift, the
    /// first pull at start, packets readable when complete, stamped when readable.
    pub fn new(buffer_frames: u32, period_frames: u32) -> Self {
        Self {
            buffer_frames,
            period_frames,
            ppm: 0.0,
            first_after_ns: 0,
            hold_ns: 0,
            stamps: Stamps::Readable,
            schedule: None,
        }
    }
}

/// A stall of the audio stack: device time stops for `len_ns` from `at_ns` (ns after the
/// simulation's origin).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stall {
    /// When it begins, ns after the origin.
    pub at_ns: u64,
    /// How long, ns.
    pub len_ns: u64,
}

/// The whole simulated device.
#[derive(Debug, Clone, PartialEq)]
pub struct SimConfig {
    /// Nominal rate, frames per second.
    pub rate: u32,
    /// Samples (`f32`) per frame.
    pub channels: usize,
    /// The render side.
    pub render: Option<SimSide>,
    /// The capture side.
    pub capture: Option<SimSide>,
    /// Capture records what render plays (needs one clock: equal `ppm`, no schedules).
    pub loopback: bool,
    /// Stalls of the audio stack, in time order.
    pub stalls: Vec<Stall>,
    /// The most a wake-up comes after its event or timeout, ns.
    pub wake_jitter_ns: u64,
    /// Seed of the wake-up lateness sequence.
    pub seed: u64,
}

/// What the device saw, for the tests' checks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct SimCounters {
    /// Render pulls that found fewer frames than a period.
    pub render_underruns: u64,
    /// Frames played as silence because the buffer ran short.
    pub render_missing_frames: u64,
    /// Capture packets dropped because the client's buffer was full.
    pub capture_overflows: u64,
    /// Render pulls done.
    pub pulls: u64,
    /// Capture packets made readable.
    pub packets: u64,
}

const ORIGIN_NS: u64 = 1_000_000_000;

/// What one render side of a world plays: its written frames by number.
#[derive(Debug)]
struct Voice {
    channels: usize,
    frame_ns: f64,
    /// Device frame of the first pull (`D`), once started.
    first_frame: Option<f64>,
    /// Frame number of `samples[0]`.
    base: u64,
    /// Interleaved samples of frames `base …`.
    samples: VecDeque<f32>,
}

#[derive(Debug)]
struct WorldState {
    voices: Vec<Voice>,
}

/// A timeline shared by several simulated devices (see the module documentation).
#[derive(Debug, Clone)]
pub struct SimWorld {
    now: Arc<AtomicU64>,
    state: Arc<Mutex<WorldState>>,
}

impl Default for SimWorld {
    fn default() -> Self {
        Self::new()
    }
}

impl SimWorld {
    /// An empty world at the origin of time.
    pub fn new() -> Self {
        Self {
            now: Arc::new(AtomicU64::new(ORIGIN_NS)),
            state: Arc::new(Mutex::new(WorldState { voices: Vec::new() })),
        }
    }

    /// Simulated time since the origin, ns.
    pub fn elapsed_ns(&self) -> u64 {
        self.now.load(Ordering::Relaxed) - ORIGIN_NS
    }

    fn state(&self) -> std::sync::MutexGuard<'_, WorldState> {
        self.state.lock()
    }
}

#[derive(Debug)]
struct RenderState {
    side: SimSide,
    /// `start_render` ran (the prefill is written before it).
    started: bool,
    started_ns: u64,
    /// Device frame of the first pull (the first frame it plays is one period later).
    first_frame: f64,
    pulls: u64,
    /// Frames pulled so far (sets where the next pull plays).
    pulled: u64,
    buffer: VecDeque<f32>,
}

#[derive(Debug)]
struct CaptureState {
    side: SimSide,
    started_ns: u64,
    /// Device frame at the start.
    first_frame: f64,
    made: u64,
    recorded: u64,
    /// Readable packets: when they became readable, and their samples.
    ready: VecDeque<(u64, Vec<f32>)>,
    /// The next packet follows a dropped one.
    discontinuity: bool,
}

/// The simulated device as a [`StreamPort`].
#[derive(Debug)]
pub struct SimPort {
    config: SimConfig,
    now: u64,
    rng: u64,
    open: bool,
    render: Option<RenderState>,
    capture: Option<CaptureState>,
    render_signalled: bool,
    capture_signalled: bool,
    /// Played samples by device frame (render clock), from `played_from`.
    played: VecDeque<f32>,
    played_from: u64,
    counters: SimCounters,
    /// Scratch for the packet lent to `read_packet` (bytes).
    scratch: Vec<u8>,
    /// The shared timeline, and this port's voice in its air (render sides).
    world: Option<(SimWorld, Option<usize>)>,
    /// Whether the port gives positions ([`SimPort::without_positions`]).
    positions: bool,
    /// A world's render side plays each period before the pull that takes it
    /// ([`SimPort::padding_after_play`]).
    padding_after_play: bool,
    /// How long `start_render` takes before the render clock starts, ns.
    render_start_call_ns: u64,
    /// How long `start_capture` takes before recording starts, ns.
    capture_start_call_ns: u64,
    /// No capture packet is readable before this long after the start, ns.
    first_packet_not_before_ns: u64,
    /// The device is gone ([`SimPort::disconnect`]).
    disconnected: bool,
}

impl SimPort {
    /// A closed device at the origin of time.
    pub fn new(config: SimConfig) -> Self {
        let seed = config.seed;
        Self {
            config,
            now: ORIGIN_NS,
            rng: seed ^ 0x9e37_79b9_7f4a_7c15,
            open: false,
            render: None,
            capture: None,
            render_signalled: false,
            capture_signalled: false,
            played: VecDeque::new(),
            played_from: 0,
            counters: SimCounters::default(),
            scratch: Vec::new(),
            world: None,
            positions: true,
            padding_after_play: false,
            render_start_call_ns: 0,
            capture_start_call_ns: 0,
            first_packet_not_before_ns: 0,
            disconnected: false,
        }
    }

    /// A port that gives no positions, as Wine's winepulse (whose positions do not follow
    /// its data): the stream then takes levels from its queues.
    pub fn without_positions(mut self) -> Self {
        self.positions = false;
        self
    }

    /// A render side whose padding drops when a period has played rather than when it is
    /// taken to play, as winepulse's (it takes a period off once PulseAudio has played it):
    /// in a world's air, each pull's frames have played over the period before it.
    pub fn padding_after_play(mut self) -> Self {
        self.padding_after_play = true;
        self
    }

    /// A `start_render` call that takes `ns` (its thread lost the CPU inside it) before the
    /// render clock starts, at the call's end: the latest a real stack's clock may start.
    pub fn slow_render_start(mut self, ns: u64) -> Self {
        self.render_start_call_ns = ns;
        self
    }

    /// A `start_capture` call that takes `ns` before recording starts, at the call's end.
    pub fn slow_capture_start(mut self, ns: u64) -> Self {
        self.capture_start_call_ns = ns;
        self
    }

    /// A capture stack whose first tick runs late (winepulse's timer thread when its process
    /// lost the CPU): recording goes on from the start, but no packet is readable before
    /// `ns` after it; the packets recorded by then become readable together.
    pub fn late_first_tick(mut self, ns: u64) -> Self {
        self.first_packet_not_before_ns = ns;
        self
    }

    /// Unplugs the device: from now on its padding and its packets fail with
    /// [`StreamError::Disconnected`], as WASAPI's calls fail with
    /// `AUDCLNT_E_DEVICE_INVALIDATED`.
    pub fn disconnect(&mut self) {
        self.disconnected = true;
    }

    /// A closed device on `world`'s timeline; its render side plays into the world's air.
    pub fn in_world(config: SimConfig, world: &SimWorld) -> Self {
        let mut port = Self::new(config);
        let voice = port.config.render.as_ref().map(|side| {
            let mut state = world.state();
            state.voices.push(Voice {
                channels: port.config.channels.max(1),
                frame_ns: port.frame_ns(side),
                first_frame: None,
                base: 0,
                samples: VecDeque::new(),
            });
            state.voices.len() - 1
        });
        port.now = world.now.load(Ordering::Relaxed);
        port.world = Some((world.clone(), voice));
        port
    }

    /// Brings the device up to the world's time (ports outside a world: nothing to do).
    fn sync(&mut self) {
        let Some((world, _)) = &self.world else {
            return;
        };
        let t = world.now.load(Ordering::Relaxed);
        if t > self.now {
            self.advance_to(t);
        }
    }

    /// Publishes this device's time to the world after a wait.
    fn publish(&self) {
        if let Some((world, _)) = &self.world {
            world.now.fetch_max(self.now, Ordering::Relaxed);
        }
    }

    /// The device frame (fractional) at wall time `wall` on `side`'s clock.
    fn device_frame(&self, side: &SimSide, wall: u64) -> f64 {
        self.device_ns(wall) / self.frame_ns(side)
    }

    /// What the world's air carries on `channel` at wall time `wall`.
    fn air(&self, state: &WorldState, channel: usize, wall: u64) -> f32 {
        let dev = self.device_ns(wall);
        state
            .voices
            .iter()
            .filter(|v| channel < v.channels)
            .map(|v| {
                let Some(first) = v.first_frame else {
                    return 0.0;
                };
                let n = (dev / v.frame_ns - first).floor();
                if n < v.base as f64 {
                    return 0.0;
                }
                let i = (n as u64 - v.base) as usize * v.channels + channel;
                v.samples.get(i).copied().unwrap_or(0.0)
            })
            .sum()
    }

    /// What the device saw.
    pub fn counters(&self) -> SimCounters {
        self.counters
    }

    /// Simulated time since the origin, ns.
    pub fn elapsed_ns(&self) -> u64 {
        self.now - ORIGIN_NS
    }

    /// Frames in the render client's buffer.
    pub fn render_padding(&self) -> usize {
        self.render
            .as_ref()
            .map_or(0, |r| r.buffer.len() / self.config.channels.max(1))
    }

    fn channels(&self) -> usize {
        self.config.channels.max(1)
    }

    /// Device time (stalls taken out) at wall time `wall`, ns after the origin.
    fn device_ns(&self, wall: u64) -> f64 {
        let mut t = wall.saturating_sub(ORIGIN_NS) as f64;
        let mut stalled = 0.0;
        for s in &self.config.stalls {
            let (a, b) = (s.at_ns as f64, (s.at_ns + s.len_ns) as f64);
            if t >= b {
                stalled += b - a;
            } else if t > a {
                stalled += t - a;
            }
        }
        t -= stalled;
        t
    }

    /// Wall time (ns since boot, as `now`) of device time `dev` (ns after the origin).
    fn wall_ns(&self, dev: f64) -> u64 {
        let mut wall = dev;
        for s in &self.config.stalls {
            if wall >= s.at_ns as f64 {
                wall += s.len_ns as f64;
            }
        }
        ORIGIN_NS + wall.ceil() as u64
    }

    fn frame_ns(&self, side: &SimSide) -> f64 {
        1e9 / (f64::from(self.config.rate) * (1.0 + side.ppm * 1e-6))
    }

    /// When the next render pull happens (wall ns) and its size.
    fn next_pull(&self) -> Option<(u64, u32)> {
        let r = self.render.as_ref().filter(|r| r.started)?;
        if let Some(schedule) = &r.side.schedule {
            let &(at, frames) = schedule.get(usize::try_from(r.pulls).ok()?)?;
            return Some((r.started_ns + at, frames));
        }
        let frame = r.first_frame + (r.pulls * u64::from(r.side.period_frames)) as f64;
        Some((
            self.wall_ns(frame * self.frame_ns(&r.side)),
            r.side.period_frames,
        ))
    }

    /// When the next capture packet becomes readable (wall ns) and its size.
    fn next_packet(&self) -> Option<(u64, u32)> {
        let c = self.capture.as_ref()?;
        if let Some(schedule) = &c.side.schedule {
            let &(at, frames) = schedule.get(usize::try_from(c.made).ok()?)?;
            return Some((c.started_ns + at, frames));
        }
        let end = c.first_frame + ((c.made + 1) * u64::from(c.side.period_frames)) as f64;
        Some((
            (self.wall_ns(end * self.frame_ns(&c.side)) + c.side.hold_ns)
                .max(c.started_ns + self.first_packet_not_before_ns),
            c.side.period_frames,
        ))
    }

    fn pull(&mut self, frames: u32) {
        let ch = self.channels();
        let Some(r) = self.render.as_mut() else {
            return;
        };
        let want = frames as usize * ch;
        let have = r.buffer.len().min(want);
        // A sink's monitor records what the sink takes at the moment it takes it; pulls
        // follow each other without gaps on the device's timeline.
        let first_played = r.first_frame as u64 + r.pulled;
        if have < want {
            self.counters.render_underruns += 1;
            self.counters.render_missing_frames += ((want - have) / ch) as u64;
        }
        if self.config.loopback {
            let end = (self.played_from as usize) + self.played.len() / ch;
            let at = first_played as usize;
            if self.played.is_empty() {
                self.played_from = first_played;
            } else if at > end {
                self.played
                    .extend(std::iter::repeat_n(0.0, (at - end) * ch));
            }
            self.played.extend(r.buffer.drain(..have));
            self.played.extend(std::iter::repeat_n(0.0, want - have));
        } else {
            r.buffer.drain(..have);
        }
        r.pulls += 1;
        r.pulled += u64::from(frames);
        self.counters.pulls += 1;
        self.render_signalled = true;
    }

    fn make_packet(&mut self, at: u64, frames: u32) {
        let ch = self.channels();
        let Some(c) = self.capture.as_ref() else {
            return;
        };
        let first = c.first_frame as u64 + c.recorded;
        let frame_ns = self.frame_ns(&c.side);
        let mut samples = Vec::with_capacity(frames as usize * ch);
        match self.world.as_ref().filter(|_| !self.config.loopback) {
            Some((world, _)) => {
                let state = world.state();
                for f in 0..u64::from(frames) {
                    let wall = self.wall_ns((first + f) as f64 * frame_ns);
                    for k in 0..ch {
                        samples.push(self.air(&state, k, wall));
                    }
                }
            }
            None => {
                for f in 0..u64::from(frames) {
                    let frame = first + f;
                    let value = if self.config.loopback {
                        frame
                            .checked_sub(self.played_from)
                            .and_then(|i| self.played.get(i as usize * ch).copied())
                            .unwrap_or(0.0)
                    } else {
                        (frame % (1 << 24)) as f32
                    };
                    samples.extend(std::iter::repeat_n(value, ch));
                }
            }
        }
        let Some(c) = self.capture.as_mut() else {
            return;
        };
        c.made += 1;
        c.recorded += u64::from(frames);
        self.counters.packets += 1;
        let queued: usize = c.ready.iter().map(|(_, p)| p.len() / ch).sum();
        if queued + frames as usize > c.side.buffer_frames as usize {
            c.discontinuity = true;
            self.counters.capture_overflows += 1;
        } else {
            c.ready.push_back((at, samples));
        }
        self.capture_signalled = true;
    }

    /// Runs the device up to wall time `t`.
    fn advance_to(&mut self, t: u64) {
        loop {
            let pull = self.next_pull().filter(|&(at, _)| at <= t);
            let packet = self.next_packet().filter(|&(at, _)| at <= t);
            match (pull, packet) {
                (Some((pa, pf)), Some((ca, _))) if pa <= ca => {
                    self.now = self.now.max(pa);
                    self.pull(pf);
                }
                (_, Some((ca, cf))) => {
                    self.now = self.now.max(ca);
                    self.make_packet(ca, cf);
                }
                (Some((pa, pf)), None) => {
                    self.now = self.now.max(pa);
                    self.pull(pf);
                }
                (None, None) => break,
            }
        }
        self.now = self.now.max(t);
        // Keep the played history short: what capture has not recorded yet and a margin.
        if let Some(c) = &self.capture {
            let ch = self.channels();
            let recorded_to = c.first_frame as u64 + c.recorded;
            let keep_from = recorded_to.saturating_sub(u64::from(self.config.rate));
            if keep_from > self.played_from {
                let drop = ((keep_from - self.played_from) as usize).min(self.played.len() / ch);
                self.played.drain(..drop * ch);
                self.played_from += drop as u64;
            }
        }
    }

    fn jitter(&mut self) -> u64 {
        if self.config.wake_jitter_ns == 0 {
            return 0;
        }
        // xorshift64*: a fixed sequence, so a failing case repeats exactly.
        self.rng ^= self.rng >> 12;
        self.rng ^= self.rng << 25;
        self.rng ^= self.rng >> 27;
        let r = self.rng.wrapping_mul(0x2545_f491_4f6c_dd1d);
        r % (self.config.wake_jitter_ns + 1)
    }

    /// Frames the render side has played since its first pull, as the device's clock moves.
    fn render_position_now(&self) -> Option<DevicePosition> {
        let r = self.render.as_ref().filter(|r| r.started)?;
        let frames = (self.device_frame(&r.side, self.now) - r.first_frame).max(0.0);
        Some(DevicePosition {
            frames,
            at_ns: self.now,
        })
    }

    fn not_open() -> StreamError {
        StreamError::Stalled(0)
    }
}

impl StreamPort for SimPort {
    fn now_ns(&self) -> u64 {
        match &self.world {
            Some((world, _)) => self.now.max(world.now.load(Ordering::Relaxed)),
            None => self.now,
        }
    }

    fn open(&mut self) -> Result<PortBuffers, StreamError> {
        self.sync();
        self.close();
        self.open = true;
        Ok(PortBuffers {
            render_frames: self.config.render.as_ref().map_or(0, |s| s.buffer_frames),
            capture_frames: self.config.capture.as_ref().map_or(0, |s| s.buffer_frames),
        })
    }

    fn start_capture(&mut self) -> Result<(), StreamError> {
        self.sync();
        if self.capture_start_call_ns > 0 {
            self.advance_to(self.now + self.capture_start_call_ns);
        }
        let side = self.config.capture.clone().ok_or_else(Self::not_open)?;
        let first_frame = (self.device_ns(self.now) / self.frame_ns(&side)).ceil();
        self.capture = Some(CaptureState {
            side,
            started_ns: self.now,
            first_frame,
            made: 0,
            recorded: 0,
            ready: VecDeque::new(),
            discontinuity: false,
        });
        Ok(())
    }

    fn start_render(&mut self) -> Result<(), StreamError> {
        self.sync();
        if self.render_start_call_ns > 0 {
            self.advance_to(self.now + self.render_start_call_ns);
        }
        let side = self.config.render.clone().ok_or_else(Self::not_open)?;
        let first = self.device_ns(self.now) + side.first_after_ns as f64;
        let first_frame = (first / self.frame_ns(&side)).ceil();
        if let Some((world, Some(voice))) = &self.world {
            if let Some(v) = world.state().voices.get_mut(*voice) {
                let early = if self.padding_after_play {
                    f64::from(side.period_frames)
                } else {
                    0.0
                };
                v.first_frame = Some(first_frame - early);
                v.base = 0;
                // The frames written before the start (the prefill) are frames 0 ….
                let written = self.render.as_ref().map_or(0, |r| r.buffer.len());
                v.samples.drain(..v.samples.len().saturating_sub(written));
            }
        }
        let buffer = self.render.take().map(|r| r.buffer).unwrap_or_default();
        self.render = Some(RenderState {
            side,
            started: true,
            started_ns: self.now,
            first_frame,
            pulls: 0,
            pulled: 0,
            buffer,
        });
        Ok(())
    }

    fn close(&mut self) {
        self.open = false;
        self.render = None;
        self.capture = None;
        self.render_signalled = false;
        self.capture_signalled = false;
        self.played.clear();
        self.played_from = 0;
    }

    fn next_packet_frames(&mut self) -> Result<u32, StreamError> {
        if self.disconnected {
            return Err(StreamError::Disconnected);
        }
        self.sync();
        let ch = self.channels();
        let c = self.capture.as_ref().ok_or_else(Self::not_open)?;
        Ok(c.ready.front().map_or(0, |(_, p)| (p.len() / ch) as u32))
    }

    fn read_packet(&mut self, take: &mut dyn FnMut(Packet<'_>)) -> Result<u32, StreamError> {
        self.sync();
        let ch = self.channels();
        let now = self.now;
        let c = self.capture.as_mut().ok_or_else(Self::not_open)?;
        let Some((ready_at, samples)) = c.ready.pop_front() else {
            return Ok(0);
        };
        let frames = (samples.len() / ch) as u32;
        let flags = if std::mem::take(&mut c.discontinuity) {
            DISCONTINUITY
        } else {
            0
        };
        let frame_ns = 1e9 / f64::from(self.config.rate);
        let first_frame_age_ns = match c.side.stamps {
            Stamps::None => None,
            Stamps::Readable => Some(now.saturating_sub(ready_at)),
            Stamps::Recorded => Some(
                now.saturating_sub(ready_at)
                    + c.side.hold_ns
                    + (f64::from(frames) * frame_ns) as u64,
            ),
        };
        self.scratch.clear();
        for s in &samples {
            self.scratch.extend_from_slice(&s.to_le_bytes());
        }
        take(Packet {
            data: Some(&self.scratch),
            frames,
            flags,
            first_frame_age_ns,
        });
        Ok(frames)
    }

    fn padding(&mut self) -> Result<u32, StreamError> {
        if self.disconnected {
            return Err(StreamError::Disconnected);
        }
        self.sync();
        if !self.open {
            return Err(Self::not_open());
        }
        Ok(self.render_padding() as u32)
    }

    fn write(&mut self, frames: u32, fill: &mut dyn FnMut(&mut [u8])) -> Result<(), StreamError> {
        self.sync();
        let ch = self.channels();
        let capacity = self.config.render.as_ref().map_or(0, |s| s.buffer_frames) as usize;
        if self.render_padding() + frames as usize > capacity {
            return Err(StreamError::Os(BUFFER_TOO_LARGE));
        }
        self.scratch.clear();
        self.scratch.resize(frames as usize * ch * 4, 0);
        fill(&mut self.scratch);
        if let Some((world, Some(voice))) = &self.world {
            let played = self.render_position_now().map_or(0.0, |p| p.frames);
            let rate = f64::from(self.config.rate);
            if let Some(v) = world.state().voices.get_mut(*voice) {
                v.samples.extend(
                    self.scratch
                        .chunks_exact(4)
                        .map(|b| b.try_into().map_or(0.0, f32::from_le_bytes)),
                );
                // Keep two seconds of what has been played (captures look back that far
                // at most) and all that has not.
                let keep_from = (played - 2.0 * rate).max(0.0) as u64;
                if keep_from > v.base {
                    let drop = ((keep_from - v.base) as usize).min(v.samples.len() / v.channels);
                    v.samples.drain(..drop * v.channels);
                    v.base += drop as u64;
                }
            }
        }
        let samples = self
            .scratch
            .chunks_exact(4)
            .map(|b| b.try_into().map_or(0.0, f32::from_le_bytes));
        match self.render.as_mut() {
            Some(r) => r.buffer.extend(samples),
            None => {
                // Written before `start_render` (the prefill): keep it for the start.
                let side = self.config.render.clone().ok_or_else(Self::not_open)?;
                let buffer: VecDeque<f32> = samples.collect();
                self.render = Some(RenderState {
                    side,
                    started: false,
                    started_ns: 0,
                    first_frame: 0.0,
                    pulls: 0,
                    pulled: 0,
                    buffer,
                });
            }
        }
        Ok(())
    }

    fn write_silence(&mut self, frames: u32) -> Result<(), StreamError> {
        self.write(frames, &mut |b| b.fill(0))
    }

    fn wait_event(&mut self, timeout_ms: u32) -> Wake {
        self.sync();
        if !self.open {
            return Wake::Failed(0);
        }
        let deadline = self.now + u64::from(timeout_ms) * 1_000_000;
        // Auto-reset events: one already signalled returns at once (render first, as
        // WaitForMultipleObjects reports the lowest index).
        if !self.render_signalled && !self.capture_signalled {
            let next = [self.next_pull(), self.next_packet()]
                .into_iter()
                .flatten()
                .map(|(at, _)| at)
                .min()
                .filter(|&at| at <= deadline);
            match next {
                Some(at) => {
                    self.advance_to(at);
                    let late = self.jitter();
                    self.advance_to(at + late);
                }
                None => {
                    self.advance_to(deadline);
                    self.publish();
                    return Wake::Timeout;
                }
            }
        }
        self.publish();
        if std::mem::take(&mut self.render_signalled) {
            Wake::Render
        } else if std::mem::take(&mut self.capture_signalled) {
            Wake::Capture
        } else {
            Wake::Timeout
        }
    }

    fn sleep_ms(&mut self, ms: u32) {
        self.sync();
        let late = self.jitter();
        self.advance_to(self.now + u64::from(ms) * 1_000_000 + late);
        self.publish();
        self.render_signalled = false;
        self.capture_signalled = false;
    }

    fn render_position(&mut self) -> Result<Option<DevicePosition>, StreamError> {
        self.sync();
        Ok(self.render_position_now().filter(|_| self.positions))
    }

    fn capture_position(&mut self) -> Result<Option<DevicePosition>, StreamError> {
        self.sync();
        let Some(c) = self.capture.as_ref().filter(|_| self.positions) else {
            return Ok(None);
        };
        let frames = (self.device_frame(&c.side, self.now) - c.first_frame).max(0.0);
        Ok(Some(DevicePosition {
            frames,
            at_ns: self.now,
        }))
    }
}
