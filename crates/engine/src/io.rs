//! The driver thread: one loop iteration per device period.
//!
//! ```text
//! wait(device) ─► read input ─► convert into half i ─► bufferSwitch(i)
//!      ▲                                                     │
//!      └──── toggle i ◄── write device ◄── convert output ◄──┘
//! ```
//!
//! Everything the loop touches is allocated before [`rt::enter`]: the
//! device scratch buffers, the buffer-access handle, the record ring. The
//! loop itself only converts, calls the host and the device, and updates
//! atomics. The module denies the lints that could hide a panic.
//!
//! The real-time section begins with the device's first period: until then
//! the device is still starting (a duplex WASAPI stream starts its render
//! side once capture data flows, which may allocate inside the audio stack),
//! and no host has been called.

#![deny(
    clippy::indexing_slicing,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic
)]

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::SyncSender;
use std::sync::Arc;

use asio_abi::message;
use tenuto_convert::{
    device_to_host_period, host_to_device_period, DeviceFormat, HostChannels, HostChannelsMut,
    HostFormat, GROUP_CHANNELS,
};

use crate::buffers::BufferAccess;
use crate::device::{DeviceCounters, DeviceStream, StreamError};
use crate::host::{
    AppliedPolicy, HostCaps, HostMessages, PeriodTime, PrioritySample, SwitchCallback, ThreadPolicy,
};
use crate::rt;
use crate::shared::Shared;
use crate::stats::{flags, EventKind, LateCause, PeriodRecord, ScheduleEvent};
use crate::time;

/// An active channel: which device channel feeds which buffer slot.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Route {
    pub device_channel: usize,
    pub slot: usize,
}

/// One half of the routed channels' host buffers, as the converter's list of channels:
/// entry `i` is `routes[i]`'s device channel and its buffer's half `half`.
struct Halves<'a> {
    access: &'a mut BufferAccess,
    routes: &'a [Route],
    half: usize,
}

impl Halves<'_> {
    /// [`HostChannelsMut::consecutive`] over the routes.
    fn consecutive(&self, first: usize) -> Option<usize> {
        let group = self.routes.get(first..)?.get(..GROUP_CHANNELS)?;
        let c0 = group.first()?.device_channel;
        let consecutive = group
            .iter()
            .enumerate()
            .all(|(k, r)| c0.checked_add(k) == Some(r.device_channel));
        consecutive.then_some(c0)
    }

    /// The slots of routes `first..first + GROUP_CHANNELS` (`usize::MAX`, which no buffer
    /// has, past the end).
    fn slots(&self, first: usize) -> [usize; GROUP_CHANNELS] {
        let mut slots = [usize::MAX; GROUP_CHANNELS];
        let routes = self.routes.get(first..).unwrap_or_default();
        for (s, r) in slots.iter_mut().zip(routes) {
            *s = r.slot;
        }
        slots
    }
}

impl HostChannelsMut for Halves<'_> {
    fn count(&self) -> usize {
        self.routes.len()
    }
    fn device_channel(&self, index: usize) -> usize {
        self.routes
            .get(index)
            .map_or(usize::MAX, |r| r.device_channel)
    }
    fn buffer_mut(&mut self, index: usize) -> &mut [u8] {
        match self.routes.get(index) {
            Some(r) => self.access.half_mut(r.slot, self.half),
            None => &mut [],
        }
    }
    fn group_mut(&mut self, first: usize) -> [&mut [u8]; GROUP_CHANNELS] {
        let slots = self.slots(first);
        self.access.halves_mut(slots, self.half)
    }
    fn consecutive(&self, first: usize) -> Option<usize> {
        Halves::consecutive(self, first)
    }
}

impl HostChannels for Halves<'_> {
    fn count(&self) -> usize {
        self.routes.len()
    }
    fn device_channel(&self, index: usize) -> usize {
        self.routes
            .get(index)
            .map_or(usize::MAX, |r| r.device_channel)
    }
    fn buffer(&mut self, index: usize) -> &[u8] {
        match self.routes.get(index) {
            Some(r) => self.access.half(r.slot, self.half),
            None => &[],
        }
    }
    fn group(&mut self, first: usize) -> [&[u8]; GROUP_CHANNELS] {
        let slots = self.slots(first);
        self.access.halves(slots, self.half)
    }
    fn consecutive(&self, first: usize) -> Option<usize> {
        Halves::consecutive(self, first)
    }
}

/// Whether output half `i` goes to the device right after `bufferSwitch(i)`
/// returns (the host said so with `outputReady`) or one period later.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum OutputMode {
    Direct,
    Deferred,
}

/// Everything the driver thread owns. Moved onto the thread at `start` and
/// handed back at `stop`, so that nothing is re-allocated between runs.
pub(crate) struct IoContext {
    pub stream: Box<dyn DeviceStream>,
    pub access: BufferAccess,
    pub switch: Box<dyn SwitchCallback>,
    pub messages: Arc<dyn HostMessages>,
    pub caps: HostCaps,
    pub shared: Arc<Shared>,
    /// This stream's stop flag: a fresh one for every `start`, so that a
    /// later stream never clears the flag an ending thread still reads.
    pub stop: Arc<AtomicBool>,
    pub inputs: Vec<Route>,
    pub outputs: Vec<Route>,
    pub device_in: Vec<u8>,
    pub device_out: Vec<u8>,
    pub device_inputs: usize,
    pub device_outputs: usize,
    pub device_format: DeviceFormat,
    pub host_format: HostFormat,
    pub period_frames: u32,
    pub sample_rate: f64,
    pub records: rtrb::Producer<PeriodRecord>,
    /// Scheduling events (demotions, priority changes, late causes).
    pub events: rtrb::Producer<ScheduleEvent>,
    /// Sample the thread's priority every this many periods (and on every
    /// late period).
    pub sample_every: u64,
    pub policy: Arc<dyn ThreadPolicy>,
    /// One-line description of the policy in effect during the last run.
    pub policy_description: String,
}

/// What the thread reports once it has started (or failed to).
pub(crate) type Started = Result<(), StreamError>;

impl IoContext {
    /// The thread body. Returns the context for reuse.
    pub fn run(mut self: Box<Self>, started: SyncSender<Started>) -> Box<Self> {
        let period_ns = (f64::from(self.period_frames) * 1e9 / self.sample_rate).round() as u64;
        let mut applied = self.policy.apply_with_period(period_ns);
        self.policy_description = applied.describe();
        self.shared.set_policy_description(&self.policy_description);
        self.access.clear();
        self.device_out.fill(0);
        let start_ns = time::now_ns();
        if let Err(e) = self.stream.start() {
            self.shared.record_start_failure(e);
            let _ = started.send(Err(e));
            return self;
        }
        self.shared.publish_position(0, time::now_ns());
        self.shared.set_streaming(true);
        let _ = started.send(Ok(()));
        drop(started);

        // A panic here would be a bug in Tenuto or a backend; catching it keeps
        // the cleanup below (and the host) intact. `stream_periods` enters the
        // real-time section at the first period.
        let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            self.stream_periods(applied.as_mut(), start_ns)
        }))
        .unwrap_or(Err(StreamError::Internal));
        rt::leave();

        self.shared.set_streaming(false);
        self.stream.stop();
        self.shared
            .counters
            .set_device(&self.stream.device_counters());
        if let Err(e) = outcome {
            self.shared.set_failed_member(self.stream.failed_member());
            self.shared.set_stream_error(e);
            // The host hears of it from the messenger (this thread is about
            // to end; the messenger drops it if the buffers go first).
            if !self.stop.load(Ordering::Acquire) {
                self.shared.request_reset();
            }
        }
        drop(applied);
        self
    }

    /// The real-time loop. No allocation, no lock, no I/O, no panic.
    /// Samples the thread's priority and records what changed. Real-time
    /// safe: the policy's probe is, and the rest is atomics and a ring.
    fn sample(
        &mut self,
        applied: &mut dyn AppliedPolicy,
        index: u64,
        last: &mut Option<(PrioritySample, bool)>,
    ) -> Option<(PrioritySample, bool)> {
        let sample = applied.sample()?;
        let demoted = applied.is_demoted(&sample);
        self.shared.counters.record_sample(sample.priority);
        let kind = match *last {
            None if demoted => Some(EventKind::Demoted),
            Some((_, false)) if demoted => Some(EventKind::Demoted),
            Some((_, true)) if !demoted => Some(EventKind::Restored),
            Some((prev, was)) if was == demoted && prev.priority != sample.priority => {
                Some(EventKind::PriorityChanged {
                    from: prev.priority,
                })
            }
            _ => None,
        };
        match kind {
            Some(EventKind::Demoted) => self.shared.counters.record_demotion(),
            Some(EventKind::PriorityChanged { .. }) => {
                self.shared.counters.record_priority_change()
            }
            _ => {}
        }
        if let Some(kind) = kind {
            let _ = self.events.push(ScheduleEvent {
                index,
                kind,
                priority: Some(sample.priority),
            });
        }
        *last = Some((sample, demoted));
        *last
    }

    fn stream_periods(
        &mut self,
        applied: &mut dyn AppliedPolicy,
        start_ns: u64,
    ) -> Result<(), StreamError> {
        let period = u64::from(self.period_frames);
        let period_ns = (period as f64 * 1e9 / self.sample_rate) as u64;
        let mut half = 0usize;
        let mut mode = if self.shared.output_ready_probed.load(Ordering::Acquire) {
            OutputMode::Direct
        } else {
            OutputMode::Deferred
        };
        // In deferred mode: the half written in the previous period.
        let mut pending: Option<usize> = None;
        let mut last_gaps = DeviceCounters::default();
        let mut last_sample: Option<(PrioritySample, bool)> = None;
        // The input latency the plan gives, and the measured delay added to it so far.
        let base_input_latency = self.shared.input_latency_frames();
        let mut applied_delay: Option<u32> = None;
        let (base_direct, base_deferred) = self.shared.output_latency_modes();
        let mut applied_output_delay: Option<u32> = None;
        // Whether the real-time section has begun (at the first period).
        let mut in_rt = false;
        let sample_every = self.sample_every.max(1);

        while !self.stop.load(Ordering::Acquire) {
            // `None`: no period yet (a device still waking up); look at the stop flag.
            let Some(timing) = self.stream.wait()? else {
                continue;
            };
            if !in_rt {
                rt::enter();
                in_rt = true;
            }
            let woke = time::now_ns();
            if self.stop.load(Ordering::Acquire) {
                break;
            }
            if timing.index == 0 {
                // How long the device took to deliver its first period: the log says it
                // (a device leaving power save, an audio service starting).
                let after_ms = woke.saturating_sub(start_ns) / 1_000_000;
                let _ = self.events.push(ScheduleEvent {
                    index: 0,
                    kind: EventKind::FirstPeriod {
                        after_ms: u32::try_from(after_ms).unwrap_or(u32::MAX),
                        input_delay_frames: self.stream.measured_input_delay(),
                        output_delay_frames: self.stream.measured_output_delay(),
                        spread: self.stream.start_spread(),
                    },
                    priority: None,
                });
            }
            // Audio that waits below the device API lengthens the round trip: report it as
            // input latency and tell the host, before the switch that carries that audio.
            // Likewise output that runs behind its plan (a render side that started late).
            let delay = self.stream.measured_input_delay();
            let output_delay = self.stream.measured_output_delay();
            if delay != applied_delay || output_delay != applied_output_delay {
                let extra = delay.unwrap_or(0);
                let output_extra = output_delay.unwrap_or(0);
                self.shared
                    .set_input_latency(base_input_latency.saturating_add(extra));
                self.shared.set_output_latency(
                    base_direct.saturating_add(output_extra),
                    base_deferred.saturating_add(output_extra),
                );
                applied_delay = delay;
                applied_output_delay = output_delay;
                if self.caps.latencies_changed && (extra > 0 || output_extra > 0) {
                    self.messages.message(message::LATENCIES_CHANGED, 0);
                }
            }
            // Sample at wake-up every few periods: this is the priority the
            // thread had while it was waiting to run.
            let mut sampled = if timing.index % sample_every == 0 {
                self.sample(applied, timing.index, &mut last_sample)
            } else {
                None
            };

            // Input: device frames → host half.
            self.stream.read(&mut self.device_in)?;
            device_to_host_period(
                &self.device_in,
                self.device_format,
                self.device_inputs,
                &mut Halves {
                    access: &mut self.access,
                    routes: &self.inputs,
                    half,
                },
                self.host_format,
            );
            let position = timing.index.wrapping_mul(period);
            self.shared.publish_position(position, timing.due_ns);
            let before_host = time::now_ns();

            // The host.
            self.shared.output_ready.store(false, Ordering::Release);
            self.switch.buffer_switch(
                half,
                &PeriodTime {
                    sample_position: position,
                    system_time_ns: timing.due_ns,
                    sample_rate: self.sample_rate,
                },
            );
            let after_host = time::now_ns();
            // The host may have called stop() inside the switch: then this
            // was the last call into the host, messages included.
            let stopping = self.stop.load(Ordering::Acquire);
            let ready = self.shared.output_ready.swap(false, Ordering::AcqRel);
            if ready && mode == OutputMode::Deferred {
                // The host completes its outputs inside the switch: play them
                // at once and drop the queued half, cutting one period.
                mode = OutputMode::Direct;
                pending = None;
                if self.caps.latencies_changed && !stopping {
                    self.messages.message(message::LATENCIES_CHANGED, 0);
                }
            }

            // Output: host half → device frames.
            let out_half = match mode {
                OutputMode::Direct => Some(half),
                OutputMode::Deferred => pending.replace(half),
            };
            match out_half {
                Some(h) => {
                    host_to_device_period(
                        &mut Halves {
                            access: &mut self.access,
                            routes: &self.outputs,
                            half: h,
                        },
                        self.host_format,
                        &mut self.device_out,
                        self.device_format,
                        self.device_outputs,
                    );
                }
                None => self.device_out.fill(0),
            }
            self.stream.write(&self.device_out)?;
            let done = time::now_ns();

            let host_ns = after_host.saturating_sub(before_host);
            let engine_ns = done.saturating_sub(woke).saturating_sub(host_ns);
            let slack = i64::try_from(i128::from(timing.deadline_ns) - i128::from(done))
                .unwrap_or(i64::MAX);
            let gaps = self.stream.device_counters();
            let mut f = 0;
            if slack < 0 {
                f |= flags::LATE;
            }
            if host_ns > period_ns {
                f |= flags::HOST_OVERRUN;
            }
            if gaps != last_gaps {
                self.shared.counters.set_device(&gaps);
                let lost = (
                    gaps.output_underruns,
                    gaps.input_overruns,
                    gaps.resyncs,
                    gaps.device_stalls,
                ) != (
                    last_gaps.output_underruns,
                    last_gaps.input_overruns,
                    last_gaps.resyncs,
                    last_gaps.device_stalls,
                );
                if lost {
                    // Explained in the log (the increases since the last gap).
                    let grew = |now: u64, before: u64| {
                        u32::try_from(now.saturating_sub(before)).unwrap_or(u32::MAX)
                    };
                    f |= flags::DEVICE_GAP;
                    let _ = self.events.push(ScheduleEvent {
                        index: timing.index,
                        kind: EventKind::DeviceGap {
                            output_underruns: grew(
                                gaps.output_underruns,
                                last_gaps.output_underruns,
                            ),
                            input_overruns: grew(gaps.input_overruns, last_gaps.input_overruns),
                            resyncs: grew(gaps.resyncs, last_gaps.resyncs),
                            stalls: grew(gaps.device_stalls, last_gaps.device_stalls),
                            stall_lost_ms: grew(
                                gaps.device_stall_lost_us,
                                last_gaps.device_stall_lost_us,
                            ) / 1000,
                            check_gap_ms: u32::try_from(gaps.device_stall_check_gap_us / 1000)
                                .unwrap_or(u32::MAX),
                        },
                        priority: None,
                    });
                }
                // A resync or a device stall moves the stream against the device's timeline:
                // the round trip and the time stamps the host has seen no longer hold (a track
                // recorded from here on would be shifted). Ask the host to resynchronise.
                let shifted = (gaps.resyncs, gaps.device_stalls)
                    != (last_gaps.resyncs, last_gaps.device_stalls);
                if shifted && self.caps.resync_request && !stopping {
                    self.messages.message(message::RESYNC_REQUEST, 0);
                }
                last_gaps = gaps;
            }
            if f & flags::LATE != 0 {
                // Every late period gets a fresh sample and a likely cause.
                if sampled.is_none() {
                    sampled = self.sample(applied, timing.index, &mut last_sample);
                }
                let cause = if f & flags::HOST_OVERRUN != 0 {
                    LateCause::HostOverrun
                } else {
                    match sampled {
                        Some((_, true)) => LateCause::Demotion,
                        Some(_) => LateCause::Contention,
                        None => LateCause::Unknown,
                    }
                };
                self.shared.counters.record_late(cause);
                let _ = self.events.push(ScheduleEvent {
                    index: timing.index,
                    kind: EventKind::Late(cause),
                    priority: sampled.map(|(s, _)| s.priority),
                });
            }
            if let Some((_, demoted)) = sampled {
                f |= flags::SAMPLED;
                if demoted {
                    f |= flags::DEMOTED;
                }
            }
            let record = PeriodRecord {
                index: timing.index,
                wake_late_ns: woke.saturating_sub(timing.due_ns),
                host_ns,
                engine_ns,
                slack_ns: slack,
                flags: f,
                priority: sampled.map_or(0, |(s, _)| s.priority),
            };
            self.shared.counters.record(&record);
            if self.records.push(record).is_err() {
                self.shared.counters.record_dropped();
            }
            if f & flags::LATE != 0 && self.caps.overload && !stopping {
                self.messages.message(message::OVERLOAD, 0);
            }
            half ^= 1;
        }
        Ok(())
    }
}
