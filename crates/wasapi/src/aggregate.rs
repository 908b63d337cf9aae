//! Several endpoints as one ASIO device: [`AggregateStream`] runs one [`StreamCore`] per
//! endpoint, on the clock of one of them (the master), with every channel lined up in time.
//!
//! ## How it runs
//! * **The master** is an ordinary stream over one endpoint: its `wait` decides when a
//!   period is ready, as it would alone.
//! * **Followers** are the other endpoints ([`StreamCore::as_follower`]). Each time the
//!   master's thread looks at the master's device ([`StreamCore::wait_with`]), each
//!   follower's device is serviced without waiting ([`StreamCore::follow`]). Every follower side runs through a resampler (1:1 when the
//!   rates are equal) whose ratio a control loop sets from the side's queue level, measured
//!   from the device's own position ([`crate::ratio_loop`]): the level holds where it was put,
//!   so drift between the clocks never slips a frame and the latency does not creep.
//! * **Channels.** The host's interleaved buffers carry every member's selected channels in
//!   member order ([`MemberLayout::map`]); a member's unselected output channels play
//!   silence.
//!
//! ## Drift
//! At [`CLOCKS_FROM_S`] and [`CLOCKS_AT_S`] the stream reads every device's position; the
//! ratio of each follower's clock to the master's over that interval starts the follower's
//! loop ([`crate::ratio_loop::RatioLoop::preset`]), so the loop does not have to learn the
//! drift from a growing error (which would move the latency by tens of frames meanwhile).
//!
//! ## Alignment
//! Every side has a latency estimate in host frames
//! ([`StreamCore::capture_latency_estimate`], [`StreamCore::render_latency_estimate`]): the
//! frames between the host's buffer and the converter, by the device's position, plus the
//! resampler's delay. Averaged over [`ESTIMATE_FROM_S`]…[`ALIGN_AT_S`], they decide each
//! direction's common latency: the largest of the master's (for its direction), the
//! followers' least ones and what was reported before start
//! ([`AggregateSetup::base_input_frames`] / [`AggregateSetup::base_output_frames`]). At
//! [`ALIGN_AT_S`] the master holds frames back ([`StreamCore::hold`]) to reach it, which
//! pauses (capture master) or hurries (render master) the host's periods once, and every
//! follower is moved by silence or by dropping frames to land there. Because the hold
//! moves the host's periods by whole steps of their burst pattern, the master lands within
//! half a buffer of the aim; at [`TRIM_AT_S`] (averages over [`TRIM_FROM_S`]…) every
//! follower is moved onto the latency as it came out, and its loop holds it there. What the
//! common latencies add to the reported ones is reported through
//! [`DeviceStream::measured_input_delay`] / [`DeviceStream::measured_output_delay`] (the
//! engine then tells the host, `kAsioLatenciesChanged`). Before [`TRIM_AT_S`] the sides may
//! differ by the start-up's spread (a few ms). Measured in the simulations
//! (`tests/aggregate_sim.rs`): over an hour, four devices on clocks up to 300 ppm apart keep
//! every output→input round trip within 2 frames of the reported latency on average, the
//! pairs within 1 frame of each other, each buffer within ±2 frames of the mean.
//!
//! Real-time: after `start` nothing here allocates, locks or panics; every buffer is sized
//! in [`AggregateStream::new`].

#![deny(
    clippy::indexing_slicing,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic
)]

use tenuto_engine::device::{DeviceCounters, DeviceStream, PeriodTiming, StreamError};

use crate::endpoint::Direction;
use crate::stream::{StreamCore, StreamPort};

/// Streaming time before the latency estimates are averaged, s (the start-up settles).
pub const ESTIMATE_FROM_S: f64 = 2.5;
/// Streaming time at which the sides are aligned, s: after the followers' loops have taken
/// their targets ([`crate::ratio_loop::SETTLE_S`]), so that no drift moves a side while its
/// latency is averaged.
pub const ALIGN_AT_S: f64 = 3.0;
/// When the devices' positions are first read for the drift's measurement, s.
pub const CLOCKS_FROM_S: f64 = 0.4;
/// When they are read again and each follower's loop is started from the ratio, s (before
/// the loops take their targets at [`crate::ratio_loop::SETTLE_S`]).
pub const CLOCKS_AT_S: f64 = 1.9;
/// Streaming time after which the master's latency is averaged again, s (its hold has
/// taken effect).
pub const TRIM_FROM_S: f64 = 4.0;
/// Streaming time at which the followers of the master's direction are moved onto the
/// master's latency as it came out, s.
pub const TRIM_AT_S: f64 = 4.5;

/// The least time between two services of the followers, ns.
pub const FOLLOW_EVERY_NS: u64 = 500_000;

/// Without the devices' positions, the master's thread looks at its device (and services
/// the followers) at least this often, ms.
pub const POLL_FOLLOWERS_MS: u32 = 1;

/// Bytes per sample: aggregates carry `f32` (the shared-mode mix format).
const SAMPLE_BYTES: usize = 4;

/// Where one member's channels sit in the host's buffers.
#[derive(Debug, Clone, PartialEq)]
pub struct MemberLayout {
    /// Which direction the member streams.
    pub direction: Direction,
    /// Samples per device frame.
    pub device_channels: usize,
    /// (device channel, host channel) for every selected channel, 0-based.
    pub map: Vec<(usize, usize)>,
    /// A follower's least queue level, brought about at its first period: capture, host
    /// frames held before a read (a buffer, a device packet and a master period); render,
    /// device frames queued before a write (its plan's prefill).
    pub min_level_frames: f64,
    /// Its place in the device's list of members (`Device::clock_sources`), to name it when
    /// it fails ([`DeviceStream::failed_member`]).
    pub source: usize,
}

/// One endpoint of an aggregate.
pub struct Member<P: StreamPort> {
    /// Its stream (a follower unless it is the master).
    pub core: StreamCore<P>,
    /// Its place in the host's buffers.
    pub layout: MemberLayout,
}

/// The aggregate's shape.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct AggregateSetup {
    /// The ASIO buffer, host frames.
    pub buffer_frames: usize,
    /// The host's rate.
    pub host_rate: f64,
    /// Host input channels (all capture members' selections).
    pub input_channels: usize,
    /// Host output channels.
    pub output_channels: usize,
    /// The device's input latency reported before start, host frames (the engine reports a
    /// buffer more, which the estimates count too); with no capture master, the floor of
    /// the inputs' common latency.
    pub base_input_frames: f64,
    /// The output latency reported before start, host frames, counted as the stream's
    /// estimates count it: from the write of a buffer to its first frame's playing. That
    /// is a buffer more than the device's output latency that the engine reports a buffer
    /// above (the host's buffer waits for the next switch, and the write is in that wait).
    /// With no render master, the floor of the outputs' common latency.
    pub base_output_frames: f64,
}

/// Averages of one side's latency estimate.
#[derive(Debug, Clone, Copy, Default)]
struct Estimate {
    sum: f64,
    count: u32,
}

impl Estimate {
    fn add(&mut self, value: Option<f64>) {
        if let Some(v) = value {
            self.sum += v;
            self.count += 1;
        }
    }

    fn mean(&self) -> Option<f64> {
        (self.count > 0).then(|| self.sum / f64::from(self.count))
    }
}

/// What alignment did, for the log and the tests.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Alignment {
    /// The inputs' common latency, host frames (`None`: no inputs).
    pub input_frames: Option<f64>,
    /// The outputs' common latency, host frames.
    pub output_frames: Option<f64>,
    /// The largest delay added to one side, host frames.
    pub largest_pad_frames: f64,
}

/// The aggregate stream (see the module documentation).
pub struct AggregateStream<P: StreamPort> {
    /// Members; the master first.
    members: Vec<Member<P>>,
    setup: AggregateSetup,
    /// One member's period, interleaved device frames.
    scratch: Vec<u8>,
    periods: u64,
    estimates: Vec<Estimate>,
    alignment: Option<Alignment>,
    /// Host frames the common latencies add to what was reported before start.
    input_extra: u32,
    output_extra: u32,
    /// The followers of the master's direction are on the master's latency as it came out.
    trimmed: bool,
    /// Each member's device position at [`CLOCKS_FROM_S`] (frames; `None`: not read).
    positions: Vec<Option<f64>>,
    /// The drift has been measured from the positions.
    clocks_done: bool,
    /// When the followers were last serviced, ns.
    last_follow_ns: u64,
    /// The member whose failure ended the stream ([`MemberLayout::source`]).
    failed: Option<usize>,
}

impl<P: StreamPort> AggregateStream<P> {
    /// An aggregate of `master` and `followers` (made with [`StreamCore::as_follower`]).
    pub fn new(master: Member<P>, followers: Vec<Member<P>>, setup: AggregateSetup) -> Self {
        let mut members = vec![master];
        members.extend(followers);
        let widest = members
            .iter()
            .map(|m| m.layout.device_channels)
            .max()
            .unwrap_or(1);
        let n = members.len();
        Self {
            members,
            setup,
            scratch: vec![0; setup.buffer_frames * widest * SAMPLE_BYTES],
            periods: 0,
            estimates: vec![Estimate::default(); n],
            alignment: None,
            input_extra: 0,
            output_extra: 0,
            trimmed: false,
            positions: vec![None; n],
            clocks_done: false,
            last_follow_ns: 0,
            failed: None,
        }
    }

    /// The members, the master first.
    pub fn members(&self) -> &[Member<P>] {
        &self.members
    }

    /// The members, mutably (tests: the simulated devices).
    pub fn members_mut(&mut self) -> &mut [Member<P>] {
        &mut self.members
    }

    /// What alignment did (`None` before [`ALIGN_AT_S`]).
    pub fn alignment(&self) -> Option<Alignment> {
        self.alignment
    }

    fn elapsed_s(&self) -> f64 {
        self.periods as f64 * self.setup.buffer_frames as f64 / self.setup.host_rate.max(1.0)
    }

    fn estimating(&self) -> bool {
        let t = self.elapsed_s();
        match self.alignment {
            None => t >= ESTIMATE_FROM_S,
            Some(_) => !self.trimmed && t >= TRIM_FROM_S,
        }
    }

    /// Reads every member's device position; at the second reading starts each follower's
    /// loop from the ratio of its clock to the master's over the interval. Real-time safe.
    fn measure_clocks(&mut self, second: bool) {
        if !second {
            for (m, p) in self.members.iter_mut().zip(self.positions.iter_mut()) {
                *p = m.core.device_position();
            }
            return;
        }
        self.clocks_done = true;
        let Some((master, followers)) = self.members.split_first_mut() else {
            return;
        };
        let (Some(Some(m0)), Some(m1)) = (self.positions.first(), master.core.device_position())
        else {
            return;
        };
        // Seconds of each clock over the interval (frames over the nominal rate).
        let master_s = (m1 - m0) / master.core.device_rate().max(1.0);
        if master_s <= 0.0 {
            return;
        }
        for (m, p0) in followers.iter_mut().zip(self.positions.iter().skip(1)) {
            let (Some(p0), Some(p1)) = (*p0, m.core.device_position()) else {
                continue;
            };
            let own_s = (p1 - p0) / m.core.device_rate().max(1.0);
            if own_s <= 0.0 {
                continue;
            }
            // Render: consume host frames faster when the device is slower than the master;
            // capture: faster when the device is faster.
            let ppm = match m.layout.direction {
                Direction::Render => (master_s / own_s - 1.0) * 1e6,
                Direction::Capture => (own_s / master_s - 1.0) * 1e6,
            };
            // Positions that move in whole device periods (winepulse's do) say nothing to
            // a few hundred ppm over this interval: a figure no pair of crystals shows means
            // that, and the loop starts from the level's slope instead.
            if ppm.abs() <= crate::ratio_loop::PLAUSIBLE_PPM {
                m.core.preset_drift_ppm(ppm);
            }
        }
    }

    /// Puts every follower on its direction's latency as things came out: the master's own
    /// latency as its hold left it (the hold moves the host's periods by whole steps of
    /// their burst pattern, so the master lands within half a buffer of the aim, and the
    /// followers' levels moved by the same amount), and the chosen common latency for the
    /// other direction. Each follower is moved at once by what its average latency over
    /// [`TRIM_FROM_S`]…[`TRIM_AT_S`] misses, and its loop holds the level there. Real-time
    /// safe.
    fn trim(&mut self) {
        self.trimmed = true;
        // Coarse loops wait for the trim (see `RatioLoop::coarse`); others run already.
        for m in self.members.iter_mut().skip(1) {
            m.core.release_loops();
        }
        let (Some(master), Some(mut alignment)) = (self.members.first(), self.alignment) else {
            return;
        };
        let direction = master.layout.direction;
        let Some(now) = self.estimates.first().and_then(Estimate::mean) else {
            return;
        };
        match direction {
            Direction::Capture => alignment.input_frames = Some(now),
            Direction::Render => alignment.output_frames = Some(now),
        }
        for (i, m) in self.members.iter_mut().enumerate().skip(1) {
            let (Some(estimate), Some(target)) = (
                self.estimates.get(i).and_then(Estimate::mean),
                match m.layout.direction {
                    Direction::Capture => alignment.input_frames,
                    Direction::Render => alignment.output_frames,
                },
            ) else {
                continue;
            };
            let miss = target - estimate;
            let (capture_delay, _) = m.core.conversion_delays();
            match m.layout.direction {
                Direction::Capture => {
                    let level = target + m.core.host_buffer_frames() as f64 - capture_delay;
                    m.core
                        .shift_capture(miss.round() as i64, miss.round(), Some(level));
                }
                Direction::Render => {
                    let to_device = m.core.device_rate() / m.core.host_rate().max(1.0);
                    let d = (miss * to_device).round();
                    let level = m.core.render_level_for(target);
                    m.core.shift_render(d as i64, d, Some(level));
                }
            }
        }
        let extra = |common: Option<f64>, base: f64| {
            common.map_or(0, |c| (c - base).max(0.0).round() as u32)
        };
        self.input_extra = extra(alignment.input_frames, self.setup.base_input_frames);
        self.output_extra = extra(alignment.output_frames, self.setup.base_output_frames);
        self.alignment = Some(alignment);
    }

    /// Brings each follower to its least level at the first period: a capture side drops
    /// what it recorded while the master started (or silence makes up for a late start); a
    /// render side, started before the master, gets back with silence what it played
    /// meanwhile. Real-time safe.
    fn settle_followers(&mut self) {
        for m in self.members.iter_mut().skip(1) {
            match m.layout.direction {
                Direction::Capture => {
                    let level = m.core.capture_level();
                    let shift = (m.layout.min_level_frames - level).round();
                    m.core.shift_capture(shift as i64, shift, None);
                }
                Direction::Render => {
                    let short = m.layout.min_level_frames - m.core.render_level();
                    if short > 0.0 {
                        m.core
                            .shift_render(short.round() as i64, short.round(), None);
                    }
                }
            }
        }
    }

    /// The least latency a follower can run at, host frames: its least level as a latency.
    fn floor_estimate(m: &mut Member<P>) -> f64 {
        let (capture_delay, render_delay) = m.core.conversion_delays();
        match m.layout.direction {
            Direction::Capture => {
                m.layout.min_level_frames - m.core.host_buffer_frames() as f64 + capture_delay
            }
            Direction::Render => {
                (m.layout.min_level_frames - m.core.render_level_bias() + render_delay)
                    * m.core.host_rate()
                    / m.core.device_rate().max(1.0)
            }
        }
    }

    /// Gives every side of a direction one latency: the largest of the master's (for its
    /// direction) and the followers' least ones. The master's side gets there by holding
    /// frames back ([`StreamCore::hold`]), which pauses (capture master) or hurries (render
    /// master) the host's periods once by that much; every follower is moved by silence or
    /// by dropping frames so that it lands on the common latency once that has happened, and
    /// its loop's target moves with it. Real-time safe.
    fn align(&mut self) {
        let Some(master) = self.members.first() else {
            return;
        };
        let master_direction = master.layout.direction;
        let Some(master_estimate) = self.estimates.first().and_then(Estimate::mean) else {
            return;
        };
        let (mut floor_in, mut floor_out) = (None::<f64>, None::<f64>);
        for m in self.members.iter_mut().skip(1) {
            let f = Self::floor_estimate(m);
            let slot = match m.layout.direction {
                Direction::Capture => &mut floor_in,
                Direction::Render => &mut floor_out,
            };
            *slot = Some(slot.map_or(f, |s| s.max(f)));
        }
        // Never below what was reported before start: the reported latency only grows.
        let (base_in, base_out) = (self.setup.base_input_frames, self.setup.base_output_frames);
        let common_in = match master_direction {
            Direction::Capture => Some(
                floor_in
                    .unwrap_or(base_in)
                    .max(master_estimate)
                    .max(base_in),
            ),
            Direction::Render => floor_in.map(|f| f.max(base_in)),
        };
        let common_out = match master_direction {
            Direction::Render => Some(
                floor_out
                    .unwrap_or(base_out)
                    .max(master_estimate)
                    .max(base_out),
            ),
            Direction::Capture => floor_out.map(|f| f.max(base_out)),
        };
        // The master's hold, and how far the host's periods move: a capture master's hold
        // pauses them (capture sides gain it, render sides lose it); a render master's
        // hurries them (the reverse).
        // Half a buffer more: the hold lands within half a buffer of its aim (see `trim`),
        // and the master must not end below a follower's least latency.
        let half = self.setup.buffer_frames as f64 / 2.0;
        let hold = match master_direction {
            Direction::Capture => common_in.unwrap_or(master_estimate) - master_estimate + half,
            Direction::Render => common_out.unwrap_or(master_estimate) - master_estimate + half,
        }
        .max(0.0)
        .round();
        let common_in = match master_direction {
            Direction::Capture => Some(master_estimate + hold),
            Direction::Render => common_in,
        };
        let common_out = match master_direction {
            Direction::Render => Some(master_estimate + hold),
            Direction::Capture => common_out,
        };
        let pause = match master_direction {
            Direction::Capture => hold,
            Direction::Render => -hold,
        };
        let mut alignment = Alignment {
            input_frames: common_in,
            output_frames: common_out,
            largest_pad_frames: hold,
        };
        for (i, m) in self.members.iter_mut().enumerate().skip(1) {
            let Some(estimate) = self.estimates.get(i).and_then(Estimate::mean) else {
                continue;
            };
            match m.layout.direction {
                Direction::Capture => {
                    let target = common_in.unwrap_or(estimate);
                    let shift = (target - (estimate + pause)).round();
                    let (delay, _) = m.core.conversion_delays();
                    let level = target + m.core.host_buffer_frames() as f64 - delay;
                    m.core
                        .shift_capture(shift as i64, shift + pause, Some(level));
                    alignment.largest_pad_frames = alignment.largest_pad_frames.max(shift.abs());
                }
                Direction::Render => {
                    let target = common_out.unwrap_or(estimate);
                    let shift = target - (estimate - pause);
                    let to_device = m.core.device_rate() / m.core.host_rate().max(1.0);
                    let device = (shift * to_device).round();
                    let level = m.core.render_level_for(target);
                    m.core
                        .shift_render(device as i64, device - pause * to_device, Some(level));
                    alignment.largest_pad_frames = alignment.largest_pad_frames.max(shift.abs());
                }
            }
        }
        if let Some(m) = self.members.first_mut() {
            let device_hold = match master_direction {
                Direction::Capture => hold,
                Direction::Render => hold * m.core.device_rate() / m.core.host_rate().max(1.0),
            };
            m.core.hold(device_hold.round() as u32);
        }
        let extra = |common: Option<f64>, base: f64| {
            common.map_or(0, |c| (c - base).max(0.0).round() as u32)
        };
        self.input_extra = extra(common_in, base_in);
        self.output_extra = extra(common_out, base_out);
        self.alignment = Some(alignment);
    }
}

impl<P: StreamPort> DeviceStream for AggregateStream<P> {
    fn start(&mut self) -> Result<(), StreamError> {
        self.periods = 0;
        self.alignment = None;
        self.input_extra = 0;
        self.output_extra = 0;
        self.estimates.fill(Estimate::default());
        self.trimmed = false;
        self.positions.fill(None);
        self.clocks_done = false;
        self.last_follow_ns = 0;
        self.failed = None;
        // Followers first: their devices are running when the master's first period comes.
        for i in (0..self.members.len()).rev() {
            if let Some(m) = self.members.get_mut(i) {
                if let Err(e) = m.core.start() {
                    self.failed = Some(m.layout.source);
                    self.stop();
                    return Err(e);
                }
            }
        }
        // Without positions the followers' levels come from when their pulls and packets
        // are seen: the master's thread then looks every POLL_FOLLOWERS_MS.
        let positions = self
            .members
            .iter_mut()
            .all(|m| m.core.device_position().is_some());
        if let Some(m) = self.members.first_mut() {
            m.core.set_check_ms(if positions {
                crate::stream::CHECK_MS
            } else {
                POLL_FOLLOWERS_MS
            });
        }
        if !positions {
            for m in self.members.iter_mut().skip(1) {
                m.core.use_coarse_loops();
            }
        }
        Ok(())
    }

    fn wait(&mut self) -> Result<Option<PeriodTiming>, StreamError> {
        let Some((master, followers)) = self.members.split_first_mut() else {
            return Err(StreamError::Internal);
        };
        // Followers are serviced at the master's looks at its device, not only at periods
        // (a master holding its periods back must not let their buffers overflow), but not
        // again within FOLLOW_EVERY_NS: a packet that completes several periods makes `wait`
        // return them back to back, and every WASAPI call costs (under Wine, a round trip to
        // the wineserver).
        let last = &mut self.last_follow_ns;
        let mut failed = None;
        let waited = master.core.wait_with(&mut |now| {
            if now.saturating_sub(*last) < FOLLOW_EVERY_NS {
                return Ok(());
            }
            *last = now;
            followers.iter_mut().try_for_each(|m| {
                m.core
                    .follow()
                    .inspect_err(|_| failed = Some(m.layout.source))
            })
        });
        let timing = match waited {
            Ok(t) => t,
            Err(e) => {
                self.failed = failed.or(Some(master.layout.source));
                return Err(e);
            }
        };
        let Some(timing) = timing else {
            return Ok(None);
        };
        if self.periods == 0 {
            self.settle_followers();
        }
        self.periods += 1;
        let t = self.elapsed_s();
        if !self.clocks_done && t >= CLOCKS_AT_S {
            self.measure_clocks(true);
        } else if !self.clocks_done && t >= CLOCKS_FROM_S && self.positions.first() == Some(&None) {
            self.measure_clocks(false);
        }
        if self.alignment.is_none() && self.elapsed_s() >= ALIGN_AT_S {
            self.align();
            self.estimates.fill(Estimate::default());
        } else if self.alignment.is_some() && !self.trimmed && self.elapsed_s() >= TRIM_AT_S {
            self.trim();
        }
        Ok(Some(timing))
    }

    fn read(&mut self, dst: &mut [u8]) -> Result<(), StreamError> {
        let frames = self.setup.buffer_frames;
        let host_channels = self.setup.input_channels;
        let estimating = self.estimating();
        for (i, m) in self.members.iter_mut().enumerate() {
            if m.layout.direction != Direction::Capture {
                continue;
            }
            if let (true, Some(e)) = (estimating, self.estimates.get_mut(i)) {
                e.add(m.core.capture_latency_estimate());
            }
            let dev_channels = m.layout.device_channels;
            let len = frames * dev_channels * SAMPLE_BYTES;
            let Some(buf) = self.scratch.get_mut(..len) else {
                return Err(StreamError::Internal);
            };
            // A follower found short pads with silence and counts an input overrun.
            if let Err(e) = m.core.read(buf) {
                self.failed = Some(m.layout.source);
                return Err(e);
            }
            copy_channels(
                buf,
                dev_channels,
                dst,
                host_channels,
                &m.layout.map,
                frames,
                true,
            );
        }
        Ok(())
    }

    fn write(&mut self, src: &[u8]) -> Result<(), StreamError> {
        let frames = self.setup.buffer_frames;
        let host_channels = self.setup.output_channels;
        let estimating = self.estimating();
        for (i, m) in self.members.iter_mut().enumerate() {
            if m.layout.direction != Direction::Render {
                continue;
            }
            if let (true, Some(e)) = (estimating, self.estimates.get_mut(i)) {
                e.add(m.core.render_latency_estimate());
            }
            let dev_channels = m.layout.device_channels;
            let len = frames * dev_channels * SAMPLE_BYTES;
            let Some(buf) = self.scratch.get_mut(..len) else {
                return Err(StreamError::Internal);
            };
            buf.fill(0);
            copy_channels(
                src,
                host_channels,
                buf,
                dev_channels,
                &m.layout.map,
                frames,
                false,
            );
            if let Err(e) = m.core.write(buf) {
                self.failed = Some(m.layout.source);
                return Err(e);
            }
        }
        Ok(())
    }

    fn stop(&mut self) {
        for m in &mut self.members {
            m.core.stop();
        }
    }

    fn device_counters(&self) -> DeviceCounters {
        let mut total = DeviceCounters::default();
        for m in &self.members {
            let c = m.core.device_counters();
            total.output_underruns += c.output_underruns;
            total.input_overruns += c.input_overruns;
            total.resyncs += c.resyncs;
            total.clock_slips += c.clock_slips;
            total.device_stalls += c.device_stalls;
            total.device_stall_lost_us += c.device_stall_lost_us;
            total.device_stall_check_gap_us = total
                .device_stall_check_gap_us
                .max(c.device_stall_check_gap_us);
        }
        total
    }

    fn measured_input_delay(&self) -> Option<u32> {
        // The master's own measured delay is in its estimate, and so in the common latency.
        self.alignment.map(|_| self.input_extra)
    }

    fn measured_output_delay(&self) -> Option<u32> {
        self.alignment.map(|_| self.output_extra)
    }

    fn failed_member(&self) -> Option<usize> {
        self.failed
    }
}

/// Copies channels between two interleaved `f32` buffers of `frames` frames: for each
/// (device channel, host channel) of `map`, device → host (`to_host`) or host → device.
/// Channels `map` does not name keep what `dst` held. Real-time safe.
fn copy_channels(
    src: &[u8],
    src_channels: usize,
    dst: &mut [u8],
    dst_channels: usize,
    map: &[(usize, usize)],
    frames: usize,
    to_host: bool,
) {
    for f in 0..frames {
        for &(d, h) in map {
            let (from, to) = if to_host { (d, h) } else { (h, d) };
            let from = (f * src_channels + from) * SAMPLE_BYTES;
            let to = (f * dst_channels + to) * SAMPLE_BYTES;
            if let (Some(s), Some(t)) = (
                src.get(from..from + SAMPLE_BYTES),
                dst.get_mut(to..to + SAMPLE_BYTES),
            ) {
                t.copy_from_slice(s);
            }
        }
    }
}

#[cfg(test)]
#[allow(clippy::indexing_slicing)]
mod tests {
    use super::*;

    fn bytes(v: &[f32]) -> Vec<u8> {
        v.iter().flat_map(|s| s.to_le_bytes()).collect()
    }

    fn floats(b: &[u8]) -> Vec<f32> {
        b.chunks_exact(4)
            .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
            .collect()
    }

    #[test]
    fn channels_go_to_their_host_slots_and_back() {
        // A 4-channel device whose channels 3 and 4 are host channels 1 and 2 of 3.
        let map = [(2, 1), (3, 2)];
        let device = bytes(&[0.0, 1.0, 2.0, 3.0, 10.0, 11.0, 12.0, 13.0]);
        let mut host = vec![0u8; 2 * 3 * 4];
        copy_channels(&device, 4, &mut host, 3, &map, 2, true);
        assert_eq!(floats(&host), [0.0, 2.0, 3.0, 0.0, 12.0, 13.0]);
        let mut back = vec![0u8; 2 * 4 * 4];
        copy_channels(&host, 3, &mut back, 4, &map, 2, false);
        assert_eq!(floats(&back), [0.0, 0.0, 2.0, 3.0, 0.0, 0.0, 12.0, 13.0]);
    }
}
