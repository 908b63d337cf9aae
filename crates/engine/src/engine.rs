//! The ASIO state machine and every IASIO operation, in safe Rust.
//!
//! States, each its own type so that a wrong-order call is a missing value,
//! not a flag:
//!
//! ```text
//! Loaded ──init──► Initialized ──createBuffers──► Prepared(idle) ──start──► Prepared(running)
//!                      ▲   ◄──disposeBuffers──        ▲   ◄──────stop────────┘
//! ```
//!
//! The engine is driven from the host's threads behind one lock held by the
//! driver shell. Queries hosts make from inside their buffer switch
//! (`getSamplePosition`, `outputReady`, `getSampleRate`, `getLatencies`) are
//! answered lock-free from [`Shared`].

use std::ffi::c_void;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::sync_channel;
use std::sync::Arc;
use std::thread::{JoinHandle, ThreadId};
use std::time::Duration;

use tenuto_convert::HostFormat;

use crate::buffers::HostBuffers;
use crate::device::{Device, DeviceFormat, StreamConfig};
use crate::error::EngineError;
use crate::host::{HostCallbacks, HostCaps, InheritPolicy, ThreadPolicy};
use crate::io::{IoContext, Route};
use crate::messenger::Detached;
use crate::shared::Shared;
use crate::stats::{PeriodRecord, ScheduleEvent};
use crate::sync::Latch;
use crate::virtual_device::format_rates;

type Result<T> = std::result::Result<T, EngineError>;

/// Highest sample rate any call accepts before asking the device (Hz).
pub const MAX_SANE_RATE: f64 = 1_536_000.0;

/// Options fixed when the engine is created.
#[derive(Clone)]
pub struct EngineOptions {
    /// Name reported by `getDriverName` (at most 31 bytes are sent).
    pub driver_name: String,
    /// Number reported by `getDriverVersion`.
    pub driver_version: i32,
    /// ASIO sample type for the host buffers; `None` picks the one matching
    /// the device format.
    pub host_format: Option<HostFormat>,
    /// Scheduling policy applied to the driver thread.
    pub policy: Arc<dyn ThreadPolicy>,
    /// Capacity of the per-period record ring.
    pub record_capacity: usize,
    /// The driver thread samples its own priority every this many periods
    /// (and on every late period) to notice demotions.
    pub sample_every_periods: u32,
}

impl Default for EngineOptions {
    fn default() -> Self {
        Self {
            driver_name: "Tenuto".to_owned(),
            driver_version: 1,
            host_format: None,
            policy: Arc::new(InheritPolicy),
            record_capacity: 8192,
            sample_every_periods: 64,
        }
    }
}

impl std::fmt::Debug for EngineOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EngineOptions")
            .field("driver_name", &self.driver_name)
            .field("driver_version", &self.driver_version)
            .field("host_format", &self.host_format)
            .finish_non_exhaustive()
    }
}

/// The host sample type that carries a device format without loss.
pub fn default_host_format(device: DeviceFormat) -> HostFormat {
    match device {
        DeviceFormat::F32 => HostFormat::Float32Lsb,
        DeviceFormat::I16 => HostFormat::Int16Lsb,
        DeviceFormat::I24 => HostFormat::Int24Lsb,
        DeviceFormat::I32 => HostFormat::Int32Lsb,
    }
}

/// One buffer the host asks for in `createBuffers`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BufferRequest {
    /// Input (true) or output.
    pub is_input: bool,
    /// Channel index within that direction.
    pub channel: i32,
}

/// Answer of `getBufferSize`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BufferSizeInfo {
    /// Smallest size, frames.
    pub min: i32,
    /// Largest size, frames.
    pub max: i32,
    /// Preferred size, frames.
    pub preferred: i32,
    /// −1: powers of two; 0: only one size; n: steps of n.
    pub granularity: i32,
}

/// Answer of `getChannelInfo`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChannelDetails {
    /// Channel index.
    pub channel: i32,
    /// Direction.
    pub is_input: bool,
    /// Whether a buffer exists for it.
    pub is_active: bool,
    /// Channel group (always 0).
    pub group: i32,
    /// ASIO sample type of its buffer.
    pub sample_type: i32,
    /// Name, e.g. "Virtual In 1".
    pub name: String,
}

/// One entry of `getClockSources`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClockSourceDetails {
    /// Index to pass to `setClockSource`.
    pub index: i32,
    /// Whether it is in use.
    pub is_current: bool,
    /// Name.
    pub name: String,
}

/// The pointers the host receives for one requested channel.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BufferPointers(pub [*mut c_void; 2]);

/// A started stream: its thread, its own stop flag, and the latch its thread
/// sets after its last call into the host. At most one exists at a time:
/// `start` waits for (or, on that stream's own thread, refuses while) a
/// stream that is stopping.
struct Stream {
    handle: JoinHandle<Box<IoContext>>,
    thread: ThreadId,
    stop: Arc<AtomicBool>,
    end: Arc<Latch>,
    /// The buffers it was started on ([`Prepared::generation`]): its context
    /// goes back to those buffers only, never to buffers created since.
    generation: u64,
    /// Told to stop; its thread may still be inside the host's last switch.
    stopping: bool,
}

/// The end of a stream that was told to stop: wait for it *without* holding
/// the engine's lock (the host's callback, still running on the driver
/// thread, may call back into the driver), then let the engine take the
/// thread's context back ([`Engine::finish_stop`]).
#[derive(Debug, Clone)]
pub struct StreamEnd(Arc<Latch>);

impl StreamEnd {
    /// Blocks until the stream's thread made its last call into the host:
    /// about one period plus the host's callback.
    pub fn wait(&self) {
        self.0.wait();
    }
}

/// Messages to the host that may still be under way after `disposeBuffers`
/// detached them; [`MessagesInFlight::wait`] waits for them, without the
/// engine's lock.
#[derive(Debug)]
pub struct MessagesInFlight {
    shared: Arc<Shared>,
    detached: Detached,
    /// Detached on the stream's own thread (inside the host's switch):
    /// that thread must not wait for the messenger, whose delivery under way
    /// may be a host handler waiting in `stop()` for this very switch.
    on_stream_thread: bool,
}

impl MessagesInFlight {
    /// Returns once no message to the disposed buffers' callbacks is under
    /// way (at once on the messenger's own thread).
    pub fn wait(self) {
        if !self.on_stream_thread {
            self.shared.messenger.wait_idle(self.detached);
        }
    }
}

/// Sets a stream's latch when its thread ends, also when it unwinds.
struct SetOnDrop(Arc<Latch>);

impl Drop for SetOnDrop {
    fn drop(&mut self) {
        self.0.set();
    }
}

struct Prepared {
    /// Distinguishes these buffers from earlier and later ones.
    generation: u64,
    buffer_frames: u32,
    requests: Vec<BufferRequest>,
    _buffers: Arc<HostBuffers>,
    caps: HostCaps,
    /// The driver thread's context while no stream runs on these buffers;
    /// `None` while a stream has it.
    ctx: Option<Box<IoContext>>,
    /// The driver thread ended abnormally: buffers must be recreated.
    broken: bool,
}

struct Initialized {
    sample_rate: f64,
    host_format: HostFormat,
    prepared: Option<Prepared>,
}

/// The ASIO driver engine.
pub struct Engine {
    device: Box<dyn Device>,
    options: EngineOptions,
    shared: Arc<Shared>,
    last_error: String,
    state: Option<Initialized>,
    /// The started stream, running or stopping.
    stream: Option<Stream>,
    /// The last [`Prepared::generation`] handed out.
    generations: u64,
    records: Option<rtrb::Consumer<PeriodRecord>>,
    policy_description: String,
    /// A standing notice (e.g. a broken settings file), shown by
    /// `getErrorMessage` whenever there is no more recent error.
    notice: String,
}

/// Capacity of the driver thread's event ring.
const EVENT_RING: usize = 1024;
pub use crate::shared::RECENT_EVENTS;

impl std::fmt::Debug for Engine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Engine")
            .field("device", &self.device.info().name)
            .field("state", &self.state_name())
            .finish_non_exhaustive()
    }
}

impl Engine {
    /// Creates an engine in the "loaded" state.
    pub fn new(device: Box<dyn Device>, options: EngineOptions) -> Self {
        crate::time::init();
        Self {
            device,
            options,
            shared: Arc::new(Shared::default()),
            last_error: String::new(),
            state: None,
            stream: None,
            generations: 0,
            records: None,
            policy_description: String::new(),
            notice: String::new(),
        }
    }

    /// The lock-free status shared with the driver thread.
    pub fn shared(&self) -> &Arc<Shared> {
        &self.shared
    }

    /// The state in words, for messages and diagnostics.
    pub fn state_name(&self) -> &'static str {
        match (&self.state, &self.stream) {
            (None, _) => "not initialized",
            (Some(_), Some(s)) if s.stopping => "stopping",
            (Some(_), Some(_)) => "streaming",
            (Some(Initialized { prepared: None, .. }), None) => "initialized without buffers",
            (
                Some(Initialized {
                    prepared: Some(p), ..
                }),
                None,
            ) => {
                if p.broken {
                    "prepared after the audio thread failed"
                } else {
                    "prepared (buffers created, not streaming)"
                }
            }
        }
    }

    /// Whether a stream was started and not told to stop.
    pub fn is_running(&self) -> bool {
        self.stream.as_ref().is_some_and(|s| !s.stopping)
    }

    /// The end of a stream that was told to stop and whose thread may still
    /// call the host, unless the caller is that thread. The driver shell
    /// waits for it without its lock before a call that needs the thread
    /// gone (`start`, `stop`, `createBuffers`, `disposeBuffers`,
    /// `setSampleRate`, the last `Release`).
    pub fn stream_end_to_await(&self) -> Option<StreamEnd> {
        let s = self.stream.as_ref()?;
        (s.stopping && s.thread != std::thread::current().id() && !s.end.is_set())
            .then(|| StreamEnd(Arc::clone(&s.end)))
    }

    /// Whether the caller is a thread the driver owns: the stream's (inside
    /// the host's buffer switch) or the messenger's (inside the host's
    /// message handler). Such a caller must never wait for either.
    pub fn on_driver_thread(&self) -> bool {
        self.stream
            .as_ref()
            .is_some_and(|s| s.thread == std::thread::current().id())
            || self.shared.messenger.is_current_thread()
    }

    /// Takes back the context of a stream whose thread has ended: to its
    /// own buffers if they still exist, dropped otherwise. Never blocks
    /// beyond the thread's last instructions (its latch is set).
    fn reap(&mut self) -> Result<()> {
        if !self
            .stream
            .as_ref()
            .is_some_and(|s| s.stopping && s.end.is_set())
        {
            return Ok(());
        }
        let Some(stream) = self.stream.take() else {
            return Ok(());
        };
        let joined = stream.handle.join();
        let rate = self.state.as_ref().map_or(0.0, |s| s.sample_rate);
        let Some(p) = self
            .state
            .as_mut()
            .and_then(|s| s.prepared.as_mut())
            .filter(|p| p.generation == stream.generation)
        else {
            // Its buffers were disposed: the context (buffers, callbacks)
            // goes with them.
            return Ok(());
        };
        match joined {
            Ok(ctx) => {
                self.policy_description.clone_from(&ctx.policy_description);
                p.ctx = Some(ctx);
            }
            Err(_) => p.broken = true,
        }
        let broken = p.broken;
        self.shared.set_sample_rate(rate);
        self.update_latencies();
        if broken {
            return Err(EngineError::Thread(
                "ended abnormally; call disposeBuffers() and createBuffers() again".to_owned(),
            ));
        }
        Ok(())
    }

    /// Waits for a stopping stream's thread (unless called on it) and takes
    /// its context back. Blocks only for single-owner use: the shell has
    /// already waited ([`Engine::stream_end_to_await`]) without its lock.
    fn settle(&mut self) -> Result<()> {
        if let Some(end) = self.stream_end_to_await() {
            end.wait();
        }
        self.reap()
    }

    fn note<T>(&mut self, r: Result<T>) -> Result<T> {
        if let Err(e) = &r {
            self.last_error = e.to_string();
        }
        r
    }

    /// Sets a standing notice that `getErrorMessage` shows whenever no more
    /// recent error replaced it (the shell uses it for settings problems).
    pub fn set_notice(&mut self, notice: impl Into<String>) {
        self.notice = notice.into();
    }

    /// Stores an error found by the driver shell (e.g. a null pointer), so
    /// that `getErrorMessage` explains it.
    pub fn record_error(&mut self, e: &EngineError) {
        self.last_error = e.to_string();
    }

    fn init_state(&self, call: &'static str) -> Result<&Initialized> {
        self.state
            .as_ref()
            .ok_or(EngineError::NotInitialized { call })
    }

    // ----- identity ------------------------------------------------------

    /// `init()`: checks the device and enters the initialized state.
    /// Calling it again when initialized succeeds and changes nothing.
    pub fn init(&mut self) -> Result<()> {
        if self.state.is_some() {
            return Ok(());
        }
        let r = self.init_inner();
        self.note(r)
    }

    fn init_inner(&mut self) -> Result<()> {
        self.device.refresh()?;
        self.shared
            .set_device_notice(self.device.notice().unwrap_or(""));
        let info = self.device.info();
        if info.input_channels.is_empty() && info.output_channels.is_empty() {
            return Err(EngineError::Device(crate::device::DeviceError::Open {
                device: info.name.clone(),
                reason: "it has neither inputs nor outputs".to_owned(),
            }));
        }
        let rate = self.device.default_sample_rate();
        let host_format = self
            .options
            .host_format
            .unwrap_or_else(|| default_host_format(info.format));
        self.shared.set_sample_rate(rate);
        self.state = Some(Initialized {
            sample_rate: rate,
            host_format,
            prepared: None,
        });
        self.last_error.clear();
        self.update_latencies();
        Ok(())
    }

    /// `getDriverName`.
    pub fn driver_name(&self) -> &str {
        &self.options.driver_name
    }

    /// `getDriverVersion`.
    pub fn driver_version(&self) -> i32 {
        self.options.driver_version
    }

    /// `getErrorMessage`: the last error, in words; a streaming failure the
    /// driver thread hit takes precedence until the next `start`. Without an
    /// error: the standing notice (settings), else the device's notice.
    pub fn error_message(&mut self) -> &str {
        if let Some(e) = self.shared.stream_error() {
            self.last_error = match self.shared.failed_member_name() {
                // Several devices as one: which of them.
                Some(name) => format!("streaming stopped: {name}: {e}"),
                None => EngineError::Stream(e).to_string(),
            };
        }
        if !self.last_error.is_empty() {
            &self.last_error
        } else if self.notice.is_empty() {
            self.device.notice().unwrap_or("")
        } else {
            &self.notice
        }
    }

    // ----- queries -------------------------------------------------------

    /// Fails with "`call`() was called before init()" unless initialized.
    pub fn require_initialized(&mut self, call: &'static str) -> Result<()> {
        let r = self.init_state(call).map(|_| ());
        self.note(r)
    }

    /// `getChannels`: (inputs, outputs).
    pub fn channels(&mut self) -> Result<(i32, i32)> {
        let r = self.init_state("getChannels").map(|_| {
            let info = self.device.info();
            (
                i32::try_from(info.input_channels.len()).unwrap_or(i32::MAX),
                i32::try_from(info.output_channels.len()).unwrap_or(i32::MAX),
            )
        });
        self.note(r)
    }

    /// `getBufferSize`.
    pub fn buffer_size(&mut self) -> Result<BufferSizeInfo> {
        let r = self.init_state("getBufferSize").map(|s| {
            let sizes = self.device.buffer_sizes(s.sample_rate);
            let clamp = |v: u32| i32::try_from(v).unwrap_or(i32::MAX);
            BufferSizeInfo {
                min: clamp(sizes.min_frames),
                max: clamp(sizes.max_frames),
                preferred: clamp(sizes.preferred_frames),
                granularity: sizes.asio_granularity(),
            }
        });
        self.note(r)
    }

    /// `getLatencies`: (input, output) in frames, as the user hears them.
    pub fn latencies(&mut self) -> Result<(i32, i32)> {
        let r = self.init_state("getLatencies").map(|_| {
            let (i, o) = self.shared.latencies();
            (
                i32::try_from(i).unwrap_or(i32::MAX),
                i32::try_from(o).unwrap_or(i32::MAX),
            )
        });
        self.note(r)
    }

    /// Recomputes the reported latencies after any change of rate, buffer
    /// size or output mode, and stores them for lock-free reading.
    fn update_latencies(&self) {
        let Some(s) = &self.state else { return };
        let frames = s.prepared.as_ref().map_or_else(
            || self.device.buffer_sizes(s.sample_rate).preferred_frames,
            |p| p.buffer_frames,
        );
        let dev = self.device.latency(&StreamConfig {
            sample_rate: s.sample_rate,
            period_frames: frames,
        });
        let input = frames.saturating_add(dev.input_frames);
        let direct = dev.output_frames;
        let deferred = frames.saturating_add(dev.output_frames);
        self.shared.set_latency_modes(input, deferred, direct);
    }

    /// `getChannelInfo`.
    pub fn channel_info(&mut self, channel: i32, is_input: bool) -> Result<ChannelDetails> {
        let r = self.channel_info_inner(channel, is_input);
        self.note(r)
    }

    fn channel_info_inner(&self, channel: i32, is_input: bool) -> Result<ChannelDetails> {
        let s = self.init_state("getChannelInfo")?;
        let info = self.device.info();
        let names = if is_input {
            &info.input_channels
        } else {
            &info.output_channels
        };
        let name = usize::try_from(channel)
            .ok()
            .and_then(|c| names.get(c))
            .ok_or_else(|| {
                EngineError::invalid(
                    "getChannelInfo",
                    describe_bad_channel(channel, is_input, names.len()),
                )
            })?;
        let is_active = s.prepared.as_ref().is_some_and(|p| {
            p.requests
                .iter()
                .any(|r| r.is_input == is_input && r.channel == channel)
        });
        Ok(ChannelDetails {
            channel,
            is_input,
            is_active,
            group: 0,
            sample_type: s.host_format.asio_type(),
            name: name.clone(),
        })
    }

    // ----- sample rate and clock ----------------------------------------

    fn check_rate(&self, rate: f64) -> Result<()> {
        if !rate.is_finite() || rate <= 0.0 || rate > MAX_SANE_RATE {
            return Err(EngineError::NoClock(format!(
                "{} Hz is not a usable sample rate; {} runs at {}",
                readable_rate(rate),
                self.device.info().name,
                format_rates(self.device.sample_rates())
            )));
        }
        if !self.device.sample_rates().contains(&rate) {
            return Err(EngineError::NoClock(format!(
                "{} cannot run at {} Hz; it runs at {}",
                self.device.info().name,
                readable_rate(rate),
                format_rates(self.device.sample_rates())
            )));
        }
        Ok(())
    }

    /// `canSampleRate`.
    pub fn can_sample_rate(&mut self, rate: f64) -> Result<()> {
        let r = self
            .init_state("canSampleRate")
            .and_then(|_| self.check_rate(rate));
        self.note(r)
    }

    /// `getSampleRate`.
    pub fn sample_rate(&mut self) -> Result<f64> {
        let r = self.init_state("getSampleRate").map(|s| s.sample_rate);
        self.note(r)
    }

    /// `setSampleRate`. While streaming, a different rate is accepted only
    /// if the host handles `kAsioResetRequest`: the driver asks for a reset
    /// and the rate takes effect when the buffers are recreated.
    pub fn set_sample_rate(&mut self, rate: f64) -> Result<()> {
        let r = self.set_sample_rate_inner(rate);
        self.note(r)
    }

    fn set_sample_rate_inner(&mut self, rate: f64) -> Result<()> {
        self.init_state("setSampleRate")?;
        self.check_rate(rate)?;
        self.settle()?;
        let running = self.is_running();
        let Some(s) = self.state.as_mut() else {
            return Err(EngineError::NotInitialized {
                call: "setSampleRate",
            });
        };
        if s.sample_rate == rate {
            return Ok(());
        }
        match &mut s.prepared {
            None => {
                s.sample_rate = rate;
            }
            Some(p) if running => {
                if !p.caps.reset_request {
                    return Err(EngineError::WrongState {
                        call: "setSampleRate",
                        state: "streaming",
                        hint: "stop streaming before changing the sample rate",
                    });
                }
                // Takes effect at the host's reset (stop, disposeBuffers,
                // createBuffers). Ask for it now; the messenger delivers it
                // after this call returned, so a host that stops in its
                // handler finds the driver free.
                s.sample_rate = rate;
                self.shared.request_reset();
            }
            Some(p) => {
                // Idle with buffers: reopen the device stream at the new rate.
                let Some(ctx) = p.ctx.as_mut() else {
                    return Err(EngineError::WrongState {
                        call: "setSampleRate",
                        state: "recovering from a failed audio thread",
                        hint: "call disposeBuffers() and createBuffers() again",
                    });
                };
                let stream = self.device.open(&StreamConfig {
                    sample_rate: rate,
                    period_frames: p.buffer_frames,
                })?;
                ctx.stream = stream;
                ctx.sample_rate = rate;
                s.sample_rate = rate;
            }
        }
        if !running {
            self.shared.set_sample_rate(rate);
            self.update_latencies();
        }
        Ok(())
    }

    /// `getClockSources`.
    pub fn clock_sources(&mut self) -> Result<Vec<ClockSourceDetails>> {
        let r = self.init_state("getClockSources").map(|_| {
            let current = self.device.clock_source();
            self.device
                .clock_sources()
                .into_iter()
                .enumerate()
                .map(|(i, name)| ClockSourceDetails {
                    index: i32::try_from(i).unwrap_or(i32::MAX),
                    is_current: i == current,
                    name,
                })
                .collect()
        });
        self.note(r)
    }

    /// `setClockSource`: one of [`Engine::clock_sources`]. Idle, it takes effect at once
    /// (an open stream is reopened on the new clock); while streaming, at the host's reset,
    /// which is requested.
    pub fn set_clock_source(&mut self, index: i32) -> Result<()> {
        let r = self.set_clock_source_inner(index);
        self.note(r)
    }

    fn set_clock_source_inner(&mut self, index: i32) -> Result<()> {
        self.init_state("setClockSource")?;
        let sources = self.device.clock_sources();
        let Some(i) = usize::try_from(index).ok().filter(|&i| i < sources.len()) else {
            let listed: Vec<String> = sources
                .iter()
                .enumerate()
                .map(|(i, n)| format!("{i} ({n})"))
                .collect();
            return Err(EngineError::invalid(
                "setClockSource",
                format!(
                    "there is no clock source {index}; the sources are {}",
                    listed.join(", ")
                ),
            ));
        };
        if i == self.device.clock_source() {
            return Ok(());
        }
        self.settle()?;
        let running = self.is_running();
        let Some(s) = self.state.as_mut() else {
            return Err(EngineError::NotInitialized {
                call: "setClockSource",
            });
        };
        let rate = s.sample_rate;
        match &mut s.prepared {
            None => self.device.set_clock_source(i)?,
            Some(p) if running => {
                if !p.caps.reset_request {
                    return Err(EngineError::WrongState {
                        call: "setClockSource",
                        state: "streaming",
                        hint: "stop streaming before changing the clock source",
                    });
                }
                // The running stream keeps its clock; the host's reset reopens on the new one.
                self.device.set_clock_source(i)?;
                self.shared.request_reset();
                return Ok(());
            }
            Some(p) => {
                let Some(ctx) = p.ctx.as_mut() else {
                    return Err(EngineError::WrongState {
                        call: "setClockSource",
                        state: "recovering from a failed audio thread",
                        hint: "call disposeBuffers() and createBuffers() again",
                    });
                };
                self.device.set_clock_source(i)?;
                ctx.stream = self.device.open(&StreamConfig {
                    sample_rate: rate,
                    period_frames: p.buffer_frames,
                })?;
            }
        }
        self.update_latencies();
        Ok(())
    }

    /// `getSamplePosition`: (frames, ns) of the current buffer half.
    pub fn sample_position(&mut self) -> Result<(u64, u64)> {
        let r = self.init_state("getSamplePosition").and_then(|_| {
            if self.shared.is_streaming() {
                Ok(self.shared.position())
            } else {
                Err(EngineError::NotAdvancing)
            }
        });
        self.note(r)
    }

    // ----- buffers -------------------------------------------------------

    /// `createBuffers`: validates every request, allocates the buffers and
    /// everything the driver thread will need, opens the device stream.
    /// Returns the two half-buffer pointers for each request, in order.
    ///
    /// Asks the host what it supports (`kAsioSelectorSupported`) first: a
    /// shell that holds a lock around the engine must ask outside it
    /// ([`HostCaps::query`]) and call [`Engine::create_buffers_with_caps`].
    pub fn create_buffers(
        &mut self,
        requests: &[BufferRequest],
        buffer_size: i32,
        host: HostCallbacks,
    ) -> Result<Vec<BufferPointers>> {
        let caps = HostCaps::query(host.messages.as_ref());
        self.create_buffers_with_caps(requests, buffer_size, host, caps)
    }

    /// `createBuffers` with the host's answers to the capability queries,
    /// asked beforehand.
    pub fn create_buffers_with_caps(
        &mut self,
        requests: &[BufferRequest],
        buffer_size: i32,
        host: HostCallbacks,
        caps: HostCaps,
    ) -> Result<Vec<BufferPointers>> {
        let r = self.create_buffers_inner(requests, buffer_size, host, caps);
        self.note(r)
    }

    fn create_buffers_inner(
        &mut self,
        requests: &[BufferRequest],
        buffer_size: i32,
        host: HostCallbacks,
        caps: HostCaps,
    ) -> Result<Vec<BufferPointers>> {
        self.init_state("createBuffers")?;
        self.settle()?;
        let s = self.init_state("createBuffers")?;
        if s.prepared.is_some() {
            return Err(EngineError::WrongState {
                call: "createBuffers",
                state: if self.is_running() {
                    "streaming"
                } else {
                    "buffers already exist"
                },
                hint: "call stop() and disposeBuffers() first",
            });
        }
        let info = self.device.info();
        let (n_in, n_out) = (info.input_channels.len(), info.output_channels.len());
        let format = info.format;
        if requests.is_empty() {
            return Err(EngineError::invalid(
                "createBuffers",
                "numChannels is 0; ask for at least one channel",
            ));
        }
        if requests.len() > n_in + n_out {
            return Err(EngineError::invalid(
                "createBuffers",
                format!(
                    "numChannels is {} but the device has only {n_in} inputs and {n_out} outputs",
                    requests.len()
                ),
            ));
        }
        let sizes = self.device.buffer_sizes(s.sample_rate);
        let frames = u32::try_from(buffer_size).ok().filter(|f| sizes.allows(*f));
        let Some(frames) = frames else {
            return Err(EngineError::invalid(
                "createBuffers",
                format!("bufferSize {buffer_size} is not offered; use {sizes}"),
            ));
        };
        let mut inputs = Vec::new();
        let mut outputs = Vec::new();
        for (slot, req) in requests.iter().enumerate() {
            let count = if req.is_input { n_in } else { n_out };
            let channel = usize::try_from(req.channel)
                .ok()
                .filter(|c| *c < count)
                .ok_or_else(|| {
                    EngineError::invalid(
                        "createBuffers",
                        format!(
                            "entry {slot}: {}",
                            describe_bad_channel(req.channel, req.is_input, count)
                        ),
                    )
                })?;
            if let Some(first) = requests[..slot].iter().position(|r| r == req) {
                return Err(EngineError::invalid(
                    "createBuffers",
                    format!(
                        "entries {first} and {slot} both ask for {} channel {}",
                        if req.is_input { "input" } else { "output" },
                        req.channel
                    ),
                ));
            }
            let route = Route {
                device_channel: channel,
                slot,
            };
            if req.is_input {
                inputs.push(route);
            } else {
                outputs.push(route);
            }
        }

        let host_format = s.host_format;
        let sample_rate = s.sample_rate;
        let half_bytes = frames as usize * host_format.bytes_per_sample();
        let (buffers, access) =
            HostBuffers::allocate(requests.len(), half_bytes).ok_or(EngineError::NoMemory {
                bytes: half_bytes.saturating_mul(2 * requests.len()),
            })?;
        let stream = self.device.open(&StreamConfig {
            sample_rate,
            period_frames: frames,
        })?;
        let (producer, consumer) = rtrb::RingBuffer::new(self.options.record_capacity.max(16));
        let (event_producer, event_consumer) = rtrb::RingBuffer::new(EVENT_RING);
        let bytes = format.bytes_per_sample();
        let ctx = IoContext {
            stream,
            access,
            switch: host.switch,
            messages: Arc::clone(&host.messages),
            caps,
            shared: Arc::clone(&self.shared),
            stop: Arc::new(AtomicBool::new(false)),
            inputs,
            outputs,
            device_in: vec![0; frames as usize * n_in * bytes],
            device_out: vec![0; frames as usize * n_out * bytes],
            device_inputs: n_in,
            device_outputs: n_out,
            device_format: format,
            host_format,
            period_frames: frames,
            sample_rate,
            records: producer,
            events: event_producer,
            sample_every: u64::from(self.options.sample_every_periods.max(1)),
            policy: Arc::clone(&self.options.policy),
            policy_description: String::new(),
        };
        let pointers = (0..requests.len())
            .map(|slot| BufferPointers([buffers.pointer(slot, 0), buffers.pointer(slot, 1)]))
            .collect();
        self.shared
            .messenger
            .attach(host.messages, caps)
            .map_err(|e| {
                EngineError::Thread(format!("for host messages could not be created: {e}"))
            })?;
        self.records = Some(consumer);
        self.shared.set_event_source(event_consumer);
        self.shared.set_buffer_size(frames);
        self.generations += 1;
        let generation = self.generations;
        if let Some(s) = self.state.as_mut() {
            s.prepared = Some(Prepared {
                generation,
                buffer_frames: frames,
                requests: requests.to_vec(),
                _buffers: buffers,
                caps,
                ctx: Some(Box::new(ctx)),
                broken: false,
            });
        }
        self.update_latencies();
        Ok(pointers)
    }

    /// `disposeBuffers`. If the host forgot to stop, the driver stops first
    /// (refusing would leave the driver thread calling into a host that is
    /// tearing down). Called from inside the host's own buffer switch, that
    /// switch is the last and the call returns at once.
    pub fn dispose_buffers(&mut self) -> Result<()> {
        let in_flight = self.dispose_buffers_deferred()?;
        in_flight.wait();
        Ok(())
    }

    /// `disposeBuffers` for a shell that holds a lock around the engine:
    /// the host's callbacks are detached from the messenger, and the caller
    /// waits for a message already under way after releasing its lock.
    pub fn dispose_buffers_deferred(&mut self) -> Result<MessagesInFlight> {
        let r = self.dispose_inner();
        self.note(r)
    }

    fn dispose_inner(&mut self) -> Result<MessagesInFlight> {
        let s = self.init_state("disposeBuffers")?;
        if s.prepared.is_none() {
            return Err(EngineError::WrongState {
                call: "disposeBuffers",
                state: "no buffers exist",
                hint: "call createBuffers() first",
            });
        }
        let on_stream_thread = self
            .stream
            .as_ref()
            .is_some_and(|s| s.thread == std::thread::current().id());
        if let Some(stream) = self.stream.as_mut() {
            stream.stop.store(true, Ordering::Release);
            stream.stopping = true;
        }
        // On the stream's own thread this leaves the stream stopping: its
        // context (buffers, callbacks) stays alive with it until it is
        // reaped, and is dropped then, never given to other buffers.
        let _ = self.settle();
        if let Some(s) = self.state.as_mut() {
            s.prepared = None;
        }
        self.shared.set_buffer_size(0);
        let detached = self.shared.messenger.detach();
        self.records = None;
        self.shared
            .set_sample_rate(self.state.as_ref().map_or(0.0, |s| s.sample_rate));
        self.update_latencies();
        Ok(MessagesInFlight {
            shared: Arc::clone(&self.shared),
            detached,
            on_stream_thread,
        })
    }

    /// Detaches the host's callbacks from the messenger (the last
    /// `Release`): nothing is delivered any more once the returned value's
    /// [`MessagesInFlight::wait`] returned.
    pub fn detach_messages(&mut self) -> MessagesInFlight {
        MessagesInFlight {
            shared: Arc::clone(&self.shared),
            detached: self.shared.messenger.detach(),
            on_stream_thread: false,
        }
    }

    // ----- streaming -----------------------------------------------------

    /// `start`: starts the driver thread and returns once the device runs.
    pub fn start(&mut self) -> Result<()> {
        let r = self.start_inner();
        self.note(r)
    }

    fn start_inner(&mut self) -> Result<()> {
        self.init_state("start")?;
        self.settle()?;
        if let Some(stream) = &self.stream {
            return Err(if stream.stopping {
                // Only the stopping stream's own thread gets here (any other
                // waited for it): it cannot wait for itself.
                EngineError::WrongState {
                    call: "start",
                    state: "stopping (called from inside the last buffer switch)",
                    hint: "return from bufferSwitch first, then call start()",
                }
            } else {
                EngineError::WrongState {
                    call: "start",
                    state: "streaming",
                    hint: "call stop() first",
                }
            });
        }
        let rate = self.state.as_ref().map_or(0.0, |s| s.sample_rate);
        let Some(p) = self.state.as_mut().and_then(|s| s.prepared.as_mut()) else {
            return Err(EngineError::WrongState {
                call: "start",
                state: "no buffers exist",
                hint: "call createBuffers() first",
            });
        };
        let generation = p.generation;
        let Some(mut ctx) = p.ctx.take().filter(|_| !p.broken) else {
            return Err(EngineError::WrongState {
                call: "start",
                state: "recovering from a failed audio thread",
                hint: "call disposeBuffers() and createBuffers() again",
            });
        };
        // A rate accepted while streaming (the host did not reset but just
        // restarted) applies now: reopen the device stream at that rate.
        if ctx.sample_rate != rate {
            let config = StreamConfig {
                sample_rate: rate,
                period_frames: ctx.period_frames,
            };
            match self.device.open(&config) {
                Ok(stream) => {
                    ctx.stream = stream;
                    ctx.sample_rate = rate;
                }
                Err(e) => {
                    self.give_back(generation, Ok(ctx));
                    return Err(e.into());
                }
            }
            self.shared.set_sample_rate(rate);
            self.update_latencies();
        }
        // A fresh flag and latch for this stream alone.
        let stop = Arc::new(AtomicBool::new(false));
        let end = Arc::new(Latch::default());
        ctx.stop = Arc::clone(&stop);
        self.shared.output_ready.store(false, Ordering::Release);
        self.shared.clear_stream_error();
        let sources = self.device.clock_sources();
        self.shared.set_member_names(if sources.len() > 1 {
            sources
        } else {
            Vec::new()
        });
        self.shared.counters.reset();
        let (tx, rx) = sync_channel(1);
        let thread_end = Arc::clone(&end);
        let spawned = std::thread::Builder::new()
            .name("tenuto-io".to_owned())
            .spawn(move || {
                let _end = SetOnDrop(thread_end);
                ctx.run(tx)
            });
        let handle = match spawned {
            Ok(h) => h,
            Err(e) => {
                // The closure, and the context with it, is gone.
                self.give_back(generation, Err(()));
                return Err(EngineError::Thread(format!("could not be created: {e}")));
            }
        };
        // The thread's start-up (scheduling policy, device start) neither
        // calls the host nor takes the engine's lock, so this bounded wait
        // cannot deadlock with a host callback.
        match rx.recv_timeout(Duration::from_secs(10)) {
            Ok(Ok(())) => {
                let thread = handle.thread().id();
                self.stream = Some(Stream {
                    handle,
                    thread,
                    stop,
                    end,
                    generation,
                    stopping: false,
                });
                Ok(())
            }
            Ok(Err(stream_error)) => {
                self.give_back(generation, handle.join().map_err(|_| ()));
                Err(EngineError::Stream(stream_error))
            }
            Err(_) => {
                // The device did not start within 10 s. Ask the thread to
                // stop; it will not call the host.
                stop.store(true, Ordering::Release);
                self.give_back(generation, handle.join().map_err(|_| ()));
                Err(EngineError::Thread(
                    "did not start the device within 10 seconds".to_owned(),
                ))
            }
        }
    }

    /// Returns a context that never streamed to its buffers (or marks them
    /// broken when it was lost).
    fn give_back(&mut self, generation: u64, ctx: std::result::Result<Box<IoContext>, ()>) {
        if let Some(p) = self
            .state
            .as_mut()
            .and_then(|s| s.prepared.as_mut())
            .filter(|p| p.generation == generation)
        {
            match ctx {
                Ok(ctx) => p.ctx = Some(ctx),
                Err(()) => p.broken = true,
            }
        }
    }

    /// `stop`: returns when no host callback of the stream can fire any
    /// more. Called from inside the host's own buffer switch (on the driver
    /// thread), it makes that switch the last one and returns at once.
    /// Stopping a stream that is already stopping succeeds.
    pub fn stop(&mut self) -> Result<()> {
        if let Some(end) = self.begin_stop()? {
            end.wait();
            self.finish_stop()?;
        }
        Ok(())
    }

    /// First half of `stop` for callers that share the engine behind a lock:
    /// tells the driver thread to stop and hands back the end to wait for
    /// after the lock is released. `None` when called on the stream's own
    /// thread (inside the host's buffer switch): that switch is the last.
    pub fn begin_stop(&mut self) -> Result<Option<StreamEnd>> {
        let r = self.begin_stop_inner();
        self.note(r)
    }

    fn begin_stop_inner(&mut self) -> Result<Option<StreamEnd>> {
        self.init_state("stop")?;
        let state = self.state_name();
        let Some(stream) = self.stream.as_mut() else {
            return Err(EngineError::WrongState {
                call: "stop",
                state,
                hint: "stop() is only valid after start()",
            });
        };
        stream.stop.store(true, Ordering::Release);
        stream.stopping = true;
        if stream.thread == std::thread::current().id() {
            return Ok(None);
        }
        Ok(Some(StreamEnd(Arc::clone(&stream.end))))
    }

    /// Second half of `stop`, after the [`StreamEnd`] was reached: takes the
    /// thread's context back to its buffers. Succeeds when another call
    /// already did.
    pub fn finish_stop(&mut self) -> Result<()> {
        let r = self.reap();
        self.note(r)
    }

    /// `outputReady`: the host has written its outputs for the current half.
    /// Supported whenever initialized (hosts probe it before streaming).
    pub fn output_ready(&mut self) -> Result<()> {
        let r = self.init_state("outputReady").map(|_| {
            self.shared.signal_output_ready();
            self.update_latencies();
        });
        self.note(r)
    }

    // ----- future() ------------------------------------------------------

    /// `kAsioGetInternalBufferSamples`: frames buffered beyond the ASIO
    /// buffer, (input, output).
    pub fn internal_buffer_samples(&mut self) -> Result<(i32, i32)> {
        let r = self.init_state("future").map(|s| {
            let frames = s.prepared.as_ref().map_or_else(
                || self.device.buffer_sizes(s.sample_rate).preferred_frames,
                |p| p.buffer_frames,
            );
            let (i, o) = self.shared.latencies();
            let beyond = |l: u32| i32::try_from(l.saturating_sub(frames)).unwrap_or(i32::MAX);
            (beyond(i), beyond(o))
        });
        self.note(r)
    }

    /// `kAsioCanReportOverload`: Tenuto reports every late period through
    /// `kAsioOverload` to hosts that accept that message.
    pub fn can_report_overload(&mut self) -> Result<()> {
        let r = self.init_state("future").map(|_| ());
        self.note(r)
    }

    /// Records the driver thread produced since the last call (oldest first).
    pub fn drain_records(&mut self, out: &mut Vec<PeriodRecord>) {
        if let Some(c) = self.records.as_mut() {
            while let Ok(r) = c.pop() {
                out.push(r);
            }
        }
    }

    /// The last [`RECENT_EVENTS`] scheduling events (demotions, priority
    /// changes, late periods with their likely cause), oldest first.
    pub fn recent_events(&mut self) -> Vec<ScheduleEvent> {
        self.shared.recent_events()
    }

    /// What the scheduling policy did in the last completed run.
    pub fn policy_description(&self) -> &str {
        &self.policy_description
    }

    /// The device this engine drives.
    pub fn device(&self) -> &dyn Device {
        self.device.as_ref()
    }
}

impl Drop for Engine {
    fn drop(&mut self) {
        // Release while streaming: stop so that no callback outlives us, and
        // no message either.
        if let Some(stream) = self.stream.as_mut() {
            stream.stop.store(true, Ordering::Release);
            stream.stopping = true;
        }
        let _ = self.settle();
        self.shared.messenger.shut_down();
    }
}

/// A rate as a user can read it: plain for ordinary values, scientific
/// notation for absurd ones (1e300 would otherwise fill the message).
fn readable_rate(rate: f64) -> String {
    if rate.is_finite() && rate != 0.0 && (rate.abs() < 1.0 || rate.abs() >= 1e7) {
        format!("{rate:e}")
    } else {
        format!("{rate}")
    }
}

fn describe_bad_channel(channel: i32, is_input: bool, count: usize) -> String {
    let dir = if is_input { "input" } else { "output" };
    if count == 0 {
        format!("channel {channel} is not an {dir}: the device has no {dir}s")
    } else {
        format!(
            "channel {channel} is not an {dir}: the device has {count} {dir}s (0–{})",
            count - 1
        )
    }
}
