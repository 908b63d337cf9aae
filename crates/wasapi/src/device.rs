//! [`WasapiDevice`]: the engine's [`Device`] over one render and/or one capture endpoint in
//! shared, event-driven mode, and its [`DeviceStream`].
//!
//! * [`WasapiDevice::new`] (a host thread) resolves the endpoints, reads their mix formats and
//!   periods, and probes a stream (Initialize → GetStreamLatency, GetBufferSize → release) so
//!   that latency and buffer sizes are known before `createBuffers`, and so that a device that
//!   cannot stream fails here with a message rather than later with a code.
//! * [`Device::open`] checks the rate and buffer size, repeats the probe (the situation may
//!   have changed since), plans the rings ([`RingPlan`]) and preallocates them.
//! * The stream's `start` (the driver thread) initialises COM, opens and initialises both
//!   clients, starts capture, waits for its first packet (discarding it), queues the planned
//!   silence and starts render. `wait`, `read` and `write` only move frames between WASAPI
//!   and the preallocated rings: no allocation, no lock, no logging. `stop` stops and
//!   releases everything on the same thread.
//! * If the output queue ever exceeds the plan's high-water mark (render stalled, capture
//!   ran ahead), it is cut back to the prefill once and counted as a resync.
//!
//! The driver thread waits on both events at once (render and capture), not on the render
//! event alone: a capture packet that arrives just after a render pull is then turned into
//! output before the *next* pull, which is what keeps the duplex prefill at `2·P + B − gcd`
//! instead of one period more.

#![deny(
    clippy::indexing_slicing,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic
)]

use tenuto_engine::device::{
    BufferSizes, Device, DeviceCounters, DeviceError, DeviceInfo, DeviceLatency, DeviceStream,
    PeriodTiming, StreamConfig, StreamError, WAIT_SLICE_MS,
};
use tenuto_engine::time;
use tenuto_engine::virtual_device::format_rates;

use std::sync::Arc;

use crate::capture_delay::{self, FirstPacket};
use crate::clock::SwitchClock;
use crate::com::{
    self, Apartment, AudioClient, CaptureClient, Enumerator, Event, RenderClient, SessionSink,
    SessionWatch,
};
use crate::drift::{shares_clock, DriftSteer, Slip};
use crate::endpoint::{Direction, EndpointState};
use crate::error::WasapiError;
use crate::format::{ExclusiveSample, MixFormat, EXCLUSIVE_RATES};
use crate::notify::{DeviceChange, EndpointEvent, Watched};
use crate::plan::{hns_to_frames, RingPlan};
use crate::ring::FrameRing;
use crate::sizes::{self, Offer, SizeLimits, SizeMode};

/// Which endpoint to use for one direction.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum EndpointChoice {
    /// Windows' default device (console role), looked up again at every `init()`; while
    /// streaming, a new default asks the host for a reset. None: the direction is left out.
    #[default]
    Default,
    /// The endpoint with this ID (see `tenuto devices`), or, when no endpoint has it as its
    /// ID, the active endpoint with this friendly name (exact, then ignoring case).
    Id(String),
    /// Leave this direction out.
    Off,
}

/// How the streams are opened.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Mode {
    /// Shared mode at the engine's default period, the mix format and rate.
    #[default]
    Shared,
    /// Shared mode at the smallest engine period the device offers (IAudioClient3,
    /// Windows 10+); where it is not offered (older Windows, Wine), plain shared mode.
    LowLatency,
    /// Exclusive mode: the device alone, at the host's rate, with the best sample type it
    /// accepts, one ASIO buffer per device period.
    Exclusive,
}

impl Mode {
    /// How the mode is named in settings and messages.
    pub fn as_str(self) -> &'static str {
        match self {
            Mode::Shared => "shared",
            Mode::LowLatency => "low-latency",
            Mode::Exclusive => "exclusive",
        }
    }
}

/// Output queued beyond the minimum the [`RingPlan`] computes (which assumes the render
/// engine pulls on time, as Windows' does). It adds to the reported output latency.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum OutputSafety {
    /// Nothing beyond the plan.
    #[default]
    None,
    /// This many milliseconds at the stream's rate.
    Ms(u32),
    /// This many render engine periods (under Wine, one: winepulse's timer thread lags the
    /// PulseAudio stream by about a period).
    RenderPeriods(u32),
}

/// How the driver thread learns that the device is ready (`wasapi.wake_up`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum WakeUp {
    /// WASAPI's events: event-driven streams.
    #[default]
    Events,
    /// Polling on a timer: for devices whose events do not work. Under Wine it also keeps
    /// the audio path off the wineserver: every WASAPI event winepulse signals is a request
    /// to the wineserver, which answers nobody for the 30–50 ms it takes to write the
    /// registry to disk (within 30 s of any change; every process that opens an audio device
    /// makes one), long enough for PulseAudio to run dry. A polled stream has no event, and
    /// the driver thread sleeps with a plain system call.
    Polling,
}

impl WakeUp {
    /// Whether the stream polls.
    pub fn polls(self) -> bool {
        self == Self::Polling
    }
}

/// What a [`WasapiDevice`] streams through.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WasapiConfig {
    /// The output.
    pub render: EndpointChoice,
    /// The input.
    pub capture: EndpointChoice,
    /// How streams are opened.
    pub mode: Mode,
    /// The smallest and largest ASIO buffer offered, frames.
    pub buffer_limits: SizeLimits,
    /// The buffer size offered to hosts as preferred (`driver.buffer_size`), frames; the
    /// mode's rule ([`crate::sizes`]) may raise it (exclusive mode: not below the device's
    /// minimum period).
    pub preferred_buffer_frames: u32,
    /// Extra output buffering.
    pub output_safety: OutputSafety,
    /// Events, or polling the device on a timer.
    pub wake_up: WakeUp,
    /// A chosen endpoint that is not there: Windows' default instead, with a notice
    /// (`true`), or `init()` fails (`false`).
    pub missing_falls_back: bool,
}

impl Default for WasapiConfig {
    fn default() -> Self {
        Self {
            render: EndpointChoice::Default,
            capture: EndpointChoice::Default,
            mode: Mode::Shared,
            buffer_limits: SizeLimits::default(),
            preferred_buffer_frames: 128,
            output_safety: OutputSafety::None,
            wake_up: WakeUp::Events,
            missing_falls_back: true,
        }
    }
}

/// Called (on a thread of Windows' choosing) when a device change concerns the device.
pub type ChangeHandler = Arc<dyn Fn(&DeviceChange) + Send + Sync>;

/// Receives the notes of a refresh.
pub type NoteHandler = Arc<dyn Fn(&str) + Send + Sync>;

/// How one side runs.
#[derive(Debug, Clone, Copy, PartialEq)]
enum SideMode {
    /// Shared mode at the engine's default period.
    Shared,
    /// IAudioClient3 at this period (frames).
    LowLatency(u32),
    /// Exclusive mode with this sample type; device periods in 100 ns (default, minimum).
    Exclusive {
        sample: ExclusiveSample,
        default_hns: i64,
        minimum_hns: i64,
    },
}

/// What was learned about one endpoint.
#[derive(Debug, Clone, PartialEq)]
struct Side {
    direction: Direction,
    id: String,
    name: String,
    follows_default: bool,
    mix: MixFormat,
    mode: SideMode,
    /// Shared modes: the engine period, frames at the mix rate.
    period_frames: u32,
    /// Shared modes: the buffer a stream gets, frames.
    buffer_frames: u32,
    /// Shared modes: `GetStreamLatency`, frames.
    stream_latency_frames: u32,
    /// Exclusive mode: the rates the device accepts with `mode`'s sample type.
    exclusive_rates: Vec<u32>,
}

impl Side {
    /// The stream format at `rate`: the mix format in shared modes.
    fn format_at(&self, rate: u32) -> MixFormat {
        match self.mode {
            SideMode::Exclusive { sample, .. } => self.mix.with_sample(rate, sample),
            _ => self.mix,
        }
    }
}

/// A WASAPI device: one output endpoint, one input endpoint, or both, in one [`Mode`].
pub struct WasapiDevice {
    config: WasapiConfig,
    info: DeviceInfo,
    rates: Vec<f64>,
    render: Option<Side>,
    capture: Option<Side>,
    /// Said once per refresh when the mode in effect is not the one asked for.
    notes: Vec<String>,
    /// What the host must hear of (`getErrorMessage`): a chosen endpoint that is not there
    /// and the default used instead. Empty when all is as configured.
    notice: String,
    on_change: Option<ChangeHandler>,
    on_note: Option<NoteHandler>,
    /// The device-change listener while endpoints are resolved.
    watch: Option<com::Registration>,
}

impl std::fmt::Debug for WasapiDevice {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WasapiDevice")
            .field("config", &self.config)
            .field("info", &self.info)
            .field("rates", &self.rates)
            .field("render", &self.render)
            .field("capture", &self.capture)
            .finish_non_exhaustive()
    }
}

impl WasapiDevice {
    /// Resolves the endpoints and probes them now. Call from a normal thread (COM is
    /// initialised for the call if the thread has no apartment yet).
    pub fn new(config: WasapiConfig) -> Result<Self, WasapiError> {
        let mut device = Self::deferred(config);
        device.resolve()?;
        Ok(device)
    }

    /// A device that resolves its endpoints at the engine's first `init()`
    /// ([`Device::refresh`]) — what the driver uses, so that creating the driver object
    /// never fails and `init()` explains what is wrong.
    pub fn deferred(config: WasapiConfig) -> Self {
        Self {
            config,
            info: DeviceInfo {
                name: "WASAPI".to_owned(),
                input_channels: Vec::new(),
                output_channels: Vec::new(),
                format: tenuto_engine::DeviceFormat::F32,
                clock_name: "Windows audio engine".to_owned(),
            },
            rates: Vec::new(),
            render: None,
            capture: None,
            notes: Vec::new(),
            notice: String::new(),
            on_change: None,
            on_note: None,
            watch: None,
        }
    }

    /// Calls `handler` with each note of a refresh (a mode that is not offered and what runs
    /// instead; notifications not available), on the thread that calls `init()`.
    pub fn on_note(mut self, handler: NoteHandler) -> Self {
        self.on_note = Some(handler);
        self
    }

    /// Calls `handler` when a device change concerns the endpoints in use (removed,
    /// disabled, unplugged, a new Windows default for a direction that follows it, a new
    /// shared-mode format). It runs on a thread of Windows' choosing and must not block.
    pub fn on_change(mut self, handler: ChangeHandler) -> Self {
        self.on_change = Some(handler);
        self
    }

    /// Notes on the last refresh (e.g. low-latency mode not offered, plain shared used).
    pub fn notes(&self) -> &[String] {
        &self.notes
    }

    /// The configuration.
    pub fn config(&self) -> &WasapiConfig {
        &self.config
    }

    fn resolve(&mut self) -> Result<(), WasapiError> {
        self.watch = None;
        let _apartment = Apartment::enter()?;
        let enumerator = Enumerator::new()?;
        let mode = self.config.mode;
        let mut notes = Vec::new();
        let mut notices = Vec::new();
        let fallback = self.config.missing_falls_back;
        let render = probe_choice(
            &enumerator,
            &self.config.render,
            Direction::Render,
            (mode, fallback),
            &mut notes,
            &mut notices,
        )?;
        let capture = probe_choice(
            &enumerator,
            &self.config.capture,
            Direction::Capture,
            (mode, fallback),
            &mut notes,
            &mut notices,
        )?;
        if render.is_none()
            && capture.is_none()
            && (self.config.render != EndpointChoice::Off
                || self.config.capture != EndpointChoice::Off)
        {
            // Only `default` can resolve to nothing: Windows has no default device.
            return Err(WasapiError::NoDefaultDevice);
        }
        let (info, rates, render, capture) = describe(render, capture)?;
        if let Some(handler) = &self.on_change {
            let watched: Vec<Watched> = [&render, &capture]
                .into_iter()
                .flatten()
                .map(|s| Watched {
                    direction: s.direction,
                    id: s.id.clone(),
                    name: s.name.clone(),
                    follows_default: s.follows_default,
                })
                .collect();
            let handler = Arc::clone(handler);
            let sink: com::EventSink = Arc::new(move |event: EndpointEvent| {
                if let Some(change) = crate::notify::concerns(&watched, &event) {
                    handler(&change);
                }
            });
            // Without notifications the device still works; a lost device then shows as a
            // stream error instead.
            if let Ok(registration) = enumerator.watch(sink) {
                self.watch = Some(registration);
            } else {
                notes.push(
                    "device-change notifications are not available; a lost device is noticed \
                     when its stream fails"
                        .to_owned(),
                );
            }
        }
        drop(enumerator);
        if self.config.wake_up.polls() {
            let period = [&render, &capture]
                .into_iter()
                .flatten()
                .map(|s| s.period_frames)
                .min()
                .unwrap_or(0);
            notes.push(format!(
                "wake-up by polling (wasapi.wake_up = \"polling\"): no WASAPI events; the \
                 driver thread checks the device every quarter engine period ({period} frames \
                 / 4) and WASAPI buffers three periods"
            ));
        }
        self.info = info;
        self.rates = rates;
        self.render = render;
        self.capture = capture;
        let rate = self.default_sample_rate();
        if let Some(clamp) = self.buffer_offer(rate).clamp {
            notes.push(clamp.to_string());
        }
        notes.extend(notices.iter().cloned());
        if let Some(handler) = &self.on_note {
            for note in &notes {
                handler(note);
            }
        }
        self.notes = notes;
        self.notice = notices.join("; ");
        Ok(())
    }

    /// The output endpoint's ID and name, if there is one.
    pub fn render_endpoint(&self) -> Option<(&str, &str)> {
        self.render
            .as_ref()
            .map(|s| (s.id.as_str(), s.name.as_str()))
    }

    /// The input endpoint's ID and name, if there is one.
    pub fn capture_endpoint(&self) -> Option<(&str, &str)> {
        self.capture
            .as_ref()
            .map(|s| (s.id.as_str(), s.name.as_str()))
    }

    /// The engine period of each side in shared modes, frames: (render, capture).
    pub fn device_periods(&self) -> (Option<u32>, Option<u32>) {
        (
            self.render.as_ref().map(|s| s.period_frames),
            self.capture.as_ref().map(|s| s.period_frames),
        )
    }

    /// Each side's `GetStreamLatency` in frames (render, capture): shown for diagnosis, not
    /// part of the reported latency (see [`Device::latency`]).
    pub fn stream_latencies(&self) -> (Option<u32>, Option<u32>) {
        (
            self.render.as_ref().map(|s| s.stream_latency_frames),
            self.capture.as_ref().map(|s| s.stream_latency_frames),
        )
    }

    /// The mode each side runs in, in words: (render, capture).
    pub fn modes_in_effect(&self) -> (Option<String>, Option<String>) {
        let word = |s: &Side| match s.mode {
            SideMode::Shared => "shared".to_owned(),
            SideMode::LowLatency(p) => format!("low-latency ({p}-frame engine period)"),
            SideMode::Exclusive { sample, .. } => format!("exclusive ({sample:?})"),
        };
        (
            self.render.as_ref().map(word),
            self.capture.as_ref().map(word),
        )
    }

    /// The ring plan a stream with `buffer_frames` ASIO frames gets (shared modes; in
    /// exclusive mode the device period is the ASIO buffer).
    pub fn plan(&self, buffer_frames: u32, rate: f64) -> RingPlan {
        let period = |s: &Side| match s.mode {
            SideMode::Exclusive { .. } => buffer_frames,
            _ => s.period_frames,
        };
        let safety = self.safety_frames(self.render.as_ref().map_or(0, period), rate);
        RingPlan::new(
            buffer_frames,
            self.render.as_ref().map(period),
            self.capture.as_ref().map(period),
            self.capture.as_ref().map_or(0, |s| match s.mode {
                SideMode::Exclusive { .. } => buffer_frames,
                _ => s.buffer_frames,
            }),
        )
        .with_output_safety(safety)
    }

    /// The frames of [`WasapiConfig::output_safety`] for a render period of `render_period`
    /// frames at `rate`.
    fn safety_frames(&self, render_period: u32, rate: f64) -> u32 {
        match self.config.output_safety {
            OutputSafety::None => 0,
            OutputSafety::Ms(ms) => (f64::from(ms) * rate / 1000.0).round() as u32,
            OutputSafety::RenderPeriods(n) => n.saturating_mul(render_period),
        }
    }

    /// The buffer sizes offered at `sample_rate` ([`crate::sizes`]): the setting as
    /// preferred, raised in exclusive mode to the device's minimum period (the larger of the
    /// two sides'), with the reason when it was.
    pub fn buffer_offer(&self, sample_rate: f64) -> Offer {
        let sides = [&self.render, &self.capture];
        let mode = sides
            .into_iter()
            .flatten()
            .fold(None, |mode, s| match (mode, s.mode) {
                (_, SideMode::Exclusive { minimum_hns, .. }) => Some(SizeMode::Exclusive {
                    minimum_period_hns: match mode {
                        Some(SizeMode::Exclusive { minimum_period_hns }) => {
                            minimum_period_hns.max(minimum_hns)
                        }
                        _ => minimum_hns,
                    },
                }),
                (Some(m), _) => Some(m),
                (None, SideMode::LowLatency(_)) => Some(SizeMode::LowLatency),
                (None, SideMode::Shared) => Some(SizeMode::Shared),
            })
            .unwrap_or(match self.config.mode {
                // Not resolved yet: the device minimum is not known.
                Mode::Exclusive => SizeMode::Exclusive {
                    minimum_period_hns: 0,
                },
                Mode::LowLatency => SizeMode::LowLatency,
                Mode::Shared => SizeMode::Shared,
            });
        sizes::offer(
            self.config.preferred_buffer_frames,
            mode,
            sample_rate.round() as u32,
            self.config.buffer_limits,
        )
    }

    fn exclusive(&self) -> bool {
        [&self.render, &self.capture]
            .into_iter()
            .flatten()
            .any(|s| matches!(s.mode, SideMode::Exclusive { .. }))
    }
}

/// `AUDCLNT_E_BUFFER_SIZE_NOT_ALIGNED`.
const BUFFER_SIZE_NOT_ALIGNED: u32 = 0x8889_0019;

/// Frames at `rate` as 100-ns units, rounded to the nearest.
fn frames_to_hns(frames: u32, rate: u32) -> i64 {
    let rate = i64::from(rate.max(1));
    (i64::from(frames) * 10_000_000 + rate / 2) / rate
}

impl WasapiDevice {
    /// Exclusive mode: initialises (and releases) each side with a device period of one
    /// ASIO buffer, to find the period the device really takes. When the device wants an
    /// aligned buffer (`AUDCLNT_E_BUFFER_SIZE_NOT_ALIGNED`) it tries again with the size
    /// the device named, as Microsoft documents; the rings then bridge the two sizes.
    fn negotiate_exclusive(&self, config: &StreamConfig) -> Result<u32, WasapiError> {
        let rate = config.sample_rate.round() as u32;
        let _apartment = Apartment::enter()?;
        let enumerator = Enumerator::new()?;
        let mut period = config.period_frames;
        for side in [&self.render, &self.capture].into_iter().flatten() {
            let device = enumerator.by_id(&side.id, side.direction)?.ok_or_else(|| {
                WasapiError::NotFound {
                    direction: side.direction,
                    id: side.id.clone(),
                    available: Vec::new(),
                }
            })?;
            let format = side.format_at(rate).extensible_bytes();
            let mut client = device.activate()?;
            let polling = self.config.wake_up.polls();
            match client.initialize_exclusive(&format, frames_to_hns(period, rate), polling) {
                Ok(()) => {}
                Err(WasapiError::Endpoint { hresult, .. })
                    if hresult.0 == BUFFER_SIZE_NOT_ALIGNED =>
                {
                    period = client.buffer_frames()?;
                    drop(client);
                    let mut again = device.activate()?;
                    again.initialize_exclusive(&format, frames_to_hns(period, rate), polling)?;
                }
                Err(e) => return Err(e),
            }
        }
        Ok(period)
    }
}

/// The engine's description of the resolved sides, the rates they run at, and the sides
/// (exclusive sides brought to a common sample type).
#[allow(clippy::type_complexity)]
fn describe(
    render: Option<Side>,
    capture: Option<Side>,
) -> Result<(DeviceInfo, Vec<f64>, Option<Side>, Option<Side>), WasapiError> {
    let exclusive = |s: &Option<Side>| {
        s.as_ref()
            .is_some_and(|s| matches!(s.mode, SideMode::Exclusive { .. }))
    };
    let rates: Vec<u32> = match (&render, &capture) {
        (None, None) => return Err(WasapiError::NoEndpoints),
        (Some(r), Some(c)) if exclusive(&render) => {
            let common: Vec<u32> = r
                .exclusive_rates
                .iter()
                .copied()
                .filter(|x| {
                    c.exclusive_rates.contains(x)
                        && r.format_at(*x).device_format() == c.format_at(*x).device_format()
                })
                .collect();
            if common.is_empty() {
                return Err(WasapiError::ExclusiveMismatch {
                    render: r.name.clone(),
                    capture: c.name.clone(),
                });
            }
            common
        }
        (Some(r), Some(c))
            if r.mix.rate != c.mix.rate || r.mix.device_format() != c.mix.device_format() =>
        {
            return Err(WasapiError::Mismatch {
                render: r.name.clone(),
                render_format: r.mix.sample_description(),
                capture: c.name.clone(),
                capture_format: c.mix.sample_description(),
            });
        }
        (Some(s), _) | (None, Some(s)) => match s.mode {
            SideMode::Exclusive { .. } => s.exclusive_rates.clone(),
            _ => vec![s.mix.rate],
        },
    };
    let side = render
        .as_ref()
        .or(capture.as_ref())
        .ok_or(WasapiError::NoEndpoints)?;
    let first_rate = rates.first().copied().unwrap_or(side.mix.rate);
    let format = side
        .format_at(first_rate)
        .device_format()
        .ok_or_else(|| unsupported(side))?;
    let name = match (&render, &capture) {
        (Some(r), Some(c)) if r.name == c.name => r.name.clone(),
        (Some(r), Some(c)) => format!("{} + {}", r.name, c.name),
        (Some(s), None) | (None, Some(s)) => s.name.clone(),
        (None, None) => String::new(),
    };
    let info = DeviceInfo {
        name,
        input_channels: capture
            .as_ref()
            .map_or_else(Vec::new, |c| c.mix.channel_names()),
        output_channels: render
            .as_ref()
            .map_or_else(Vec::new, |r| r.mix.channel_names()),
        format,
        clock_name: if exclusive(&render) || exclusive(&capture) {
            "audio device (exclusive mode)".to_owned()
        } else {
            "Windows audio engine (shared mode)".to_owned()
        },
    };
    Ok((
        info,
        rates.into_iter().map(f64::from).collect(),
        render,
        capture,
    ))
}

fn unsupported(s: &Side) -> WasapiError {
    WasapiError::UnsupportedFormat {
        name: s.name.clone(),
        id: s.id.clone(),
        format: s.mix.to_string(),
    }
}

/// The first active endpoint of `direction` (in Windows' order) with this friendly name:
/// an exact match, else one that differs only in case.
fn by_name(
    enumerator: &Enumerator,
    name: &str,
    direction: Direction,
) -> Result<Option<com::MmDevice>, WasapiError> {
    let active: Vec<com::MmDevice> = enumerator
        .list(direction)?
        .into_iter()
        .filter(|d| d.state().ok() == Some(EndpointState::Active))
        .collect();
    let found = active.iter().position(|d| d.name == name).or_else(|| {
        active
            .iter()
            .position(|d| d.name.eq_ignore_ascii_case(name))
    });
    Ok(found.and_then(|i| active.into_iter().nth(i)))
}

/// Resolves one direction's choice and probes it. A chosen endpoint that is not there
/// gives Windows' default for that direction when `fallback` (saying so in `notices`), else
/// the error naming the endpoints there are.
fn probe_choice(
    enumerator: &Enumerator,
    choice: &EndpointChoice,
    direction: Direction,
    (mode, fallback): (Mode, bool),
    notes: &mut Vec<String>,
    notices: &mut Vec<String>,
) -> Result<Option<Side>, WasapiError> {
    let (device, follows_default) = match choice {
        EndpointChoice::Off => return Ok(None),
        EndpointChoice::Default => match enumerator.default_device(direction)? {
            Some(d) => (d, true),
            None => return Ok(None),
        },
        EndpointChoice::Id(id) => {
            let found = match enumerator.by_id(id, direction)? {
                Some(d) => Some(d),
                None => by_name(enumerator, id, direction)?,
            };
            let usable = match &found {
                Some(d) => d.state()? == EndpointState::Active,
                None => false,
            };
            if !usable && fallback {
                // Unplugged, disabled, removed or never on this machine: the default
                // instead, said where the user looks.
                if let Some(d) = enumerator.default_device(direction)? {
                    notices.push(missing_notice(direction, id, &d.name));
                    return probe(&d, mode, true, notes).map(Some);
                }
            }
            match found {
                // Active, but it may still not stream (gone below the list); not active:
                // `probe` says in which state it is.
                Some(d) => match probe(&d, mode, false, notes) {
                    Err(e) if fallback && e.endpoint_gone() => {
                        if let Some(default) = enumerator.default_device(direction)? {
                            if default.id != d.id {
                                notices.push(missing_notice(direction, id, &default.name));
                                return probe(&default, mode, true, notes).map(Some);
                            }
                        }
                        return Err(e);
                    }
                    other => return other.map(Some),
                },
                None => {
                    let mut available = Vec::new();
                    for d in enumerator.list(direction)? {
                        if d.state()? == EndpointState::Active {
                            available.push(format!("{} [{}]", d.name, d.id));
                        }
                    }
                    return Err(WasapiError::NotFound {
                        direction,
                        id: id.clone(),
                        available,
                    });
                }
            }
        }
    };
    probe(&device, mode, follows_default, notes).map(Some)
}

/// The notice for a chosen endpoint that is not there, with the default used instead.
fn missing_notice(direction: Direction, id: &str, default_name: &str) -> String {
    // Most important first: getErrorMessage shows 123 bytes.
    let (side, key) = match direction {
        Direction::Render => ("output", "wasapi.output"),
        Direction::Capture => ("input", "wasapi.input"),
    };
    format!(
        "using Windows' default {side} \"{default_name}\": {key} \"{id}\" is not there \
         (wasapi.missing_device = \"fail\" refuses instead)"
    )
}

/// Activates, initialises and releases a stream on `device` in `mode` to learn what a real
/// one gets (exclusive mode: which sample types and rates it accepts).
fn probe(
    device: &com::MmDevice,
    mode: Mode,
    follows_default: bool,
    notes: &mut Vec<String>,
) -> Result<Side, WasapiError> {
    let state = device.state()?;
    if state != EndpointState::Active {
        return Err(WasapiError::NotActive {
            name: device.name.clone(),
            id: device.id.clone(),
            state,
        });
    }
    let client = device.activate()?;
    let mix = client.mix_format();
    let (default_period, minimum_period) = client.device_period()?;
    let mut side = Side {
        direction: device.direction,
        id: device.id.clone(),
        name: device.name.clone(),
        follows_default,
        mix,
        mode: SideMode::Shared,
        period_frames: hns_to_frames(default_period, mix.rate).max(1),
        buffer_frames: 0,
        stream_latency_frames: 0,
        exclusive_rates: Vec::new(),
    };
    if mode == Mode::Exclusive {
        let mut tried = Vec::new();
        for sample in ExclusiveSample::PREFERENCE {
            let rates: Vec<u32> = EXCLUSIVE_RATES
                .into_iter()
                .filter(|&rate| {
                    client.supports_exclusive(&mix.with_sample(rate, sample).extensible_bytes())
                })
                .collect();
            tried.push(format!("{sample:?}"));
            if !rates.is_empty() {
                side.mode = SideMode::Exclusive {
                    sample,
                    default_hns: default_period,
                    minimum_hns: minimum_period,
                };
                side.exclusive_rates = rates;
                return Ok(side);
            }
        }
        return Err(WasapiError::ExclusiveRefused {
            direction: device.direction,
            name: device.name.clone(),
            id: device.id.clone(),
            tried: format!(
                "{} at {} Hz, {} channels",
                tried.join(", "),
                EXCLUSIVE_RATES.map(|r| r.to_string()).join("/"),
                mix.channels
            ),
        });
    }
    if mix.device_format().is_none() {
        return Err(unsupported(&side));
    }
    if mode == Mode::LowLatency {
        match client.engine_periods()? {
            Some(periods) if client.initialize_low_latency(periods.min)? => {
                side.mode = SideMode::LowLatency(periods.min);
                side.period_frames = periods.min;
            }
            _ => {
                notes.push(format!(
                    "low-latency mode is not offered for the {} \"{}\" (IAudioClient3 needs \
                     Windows 10 or later and a driver that supports it); it runs in shared mode \
                     with a {}-frame engine period",
                    device.direction.noun(),
                    device.name,
                    side.period_frames
                ));
                client.initialize_shared_event()?;
            }
        }
    } else {
        client.initialize_shared_event()?;
    }
    side.buffer_frames = client.buffer_frames()?;
    side.stream_latency_frames = hns_to_frames(client.stream_latency_hns()?, mix.rate);
    Ok(side)
}

impl Device for WasapiDevice {
    fn notice(&self) -> Option<&str> {
        (!self.notice.is_empty()).then_some(self.notice.as_str())
    }

    fn refresh(&mut self) -> Result<(), DeviceError> {
        self.resolve().map_err(|e| DeviceError::Open {
            device: match (&self.config.render, &self.config.capture) {
                (EndpointChoice::Id(id), _) | (_, EndpointChoice::Id(id)) => id.clone(),
                _ => "Windows' default audio devices".to_owned(),
            },
            reason: e.to_string(),
        })
    }

    fn info(&self) -> &DeviceInfo {
        &self.info
    }

    fn sample_rates(&self) -> &[f64] {
        &self.rates
    }

    fn default_sample_rate(&self) -> f64 {
        // Exclusive: the shared-mode rate when the device takes it (nothing changes for the
        // rest of the system), else the first it takes.
        let mix = self
            .render
            .as_ref()
            .or(self.capture.as_ref())
            .map(|s| f64::from(s.mix.rate));
        match mix {
            Some(rate) if self.rates.contains(&rate) => rate,
            _ => self.rates.first().copied().unwrap_or(48_000.0),
        }
    }

    fn buffer_sizes(&self, sample_rate: f64) -> BufferSizes {
        self.buffer_offer(sample_rate).sizes
    }

    fn latency(&self, config: &StreamConfig) -> DeviceLatency {
        // The buffering Tenuto and the audio engine add, derived in `plan` (exact in frames);
        // what the audio stack holds back on the capture side is measured once the stream
        // runs (`capture_delay`) and added by the engine. `GetStreamLatency` is not added: it
        // is the engine's worst-case figure for the stream (Wine's winepulse says 20 ms where
        // the loopback measures none), and it counts the engine period the plan already
        // holds. What WASAPI cannot see — the converters of the hardware — is not in any
        // figure; measure it with `tenuto loopback` and a cable.
        self.plan(config.period_frames, config.sample_rate)
            .latency(0, 0)
    }

    fn open(&mut self, config: &StreamConfig) -> Result<Box<dyn DeviceStream>, DeviceError> {
        if !self.rates.contains(&config.sample_rate) {
            return Err(DeviceError::UnsupportedRate {
                device: self.info.name.clone(),
                rate: config.sample_rate,
                supported: if self.exclusive() {
                    format!("{} in exclusive mode", format_rates(&self.rates))
                } else {
                    format!(
                        "{} (the shared-mode rate set in Windows' Sound settings; exclusive \
                         mode, wasapi.mode = \"exclusive\", runs at the host's rate)",
                        format_rates(&self.rates)
                    )
                },
            });
        }
        let sizes = self.buffer_sizes(config.sample_rate);
        if !sizes.allows(config.period_frames) {
            return Err(DeviceError::UnsupportedPeriod {
                device: self.info.name.clone(),
                frames: config.period_frames,
                allowed: sizes.to_string(),
            });
        }
        if !self.exclusive() {
            // Probe again: the device may have gone or been taken since `refresh`.
            let mode = self.config.mode;
            let reprobe = || -> Result<(), WasapiError> {
                let _apartment = Apartment::enter()?;
                let enumerator = Enumerator::new()?;
                for side in [&self.render, &self.capture].into_iter().flatten() {
                    let device = enumerator.by_id(&side.id, side.direction)?.ok_or_else(|| {
                        WasapiError::NotFound {
                            direction: side.direction,
                            id: side.id.clone(),
                            available: Vec::new(),
                        }
                    })?;
                    let now = probe(&device, mode, side.follows_default, &mut Vec::new())?;
                    if now.mix != side.mix {
                        return Err(WasapiError::Endpoint {
                            what: "checking the mix format (it changed; reset the driver)",
                            name: side.name.clone(),
                            id: side.id.clone(),
                            hresult: crate::error::Hresult(0x8889_0004),
                        });
                    }
                }
                Ok(())
            };
            reprobe().map_err(|e| DeviceError::Open {
                device: self.info.name.clone(),
                reason: e.to_string(),
            })?;
        }
        let exclusive_period = if self.exclusive() {
            Some(
                self.negotiate_exclusive(config)
                    .map_err(|e| DeviceError::Open {
                        device: self.info.name.clone(),
                        reason: e.to_string(),
                    })?,
            )
        } else {
            None
        };
        Ok(Box::new(WasapiStream::new(self, config, exclusive_period)))
    }
}

/// The clients of a running stream. Fields drop in order: session listeners, clients,
/// events, then COM.
struct Session {
    /// Session-event listeners (unregistered first).
    _watches: Vec<SessionWatch>,
    /// Each side's client, service and event (no event when polling).
    render: Option<(AudioClient, RenderClient, Option<Event>)>,
    capture: Option<(AudioClient, CaptureClient, Option<Event>)>,
    _apartment: Apartment,
}

/// What a stream needs to know about one side.
struct SideSpec {
    direction: Direction,
    id: String,
    /// Friendly name (for messages).
    name: String,
    /// The engine period, frames (polling sizes the buffer from it).
    period_frames: u32,
    mix: MixFormat,
    mode: SideMode,
    /// The format the stream runs with (the mix format in shared modes).
    stream: MixFormat,
    /// Exclusive mode: the device period, 100 ns (aligned by `open`).
    period_hns: i64,
}

/// `AUDCLNT_BUFFERFLAGS_DATA_DISCONTINUITY`.
const DISCONTINUITY: u32 = 0x1;

/// Maps a WASAPI failure on the streaming path to the engine's error.
fn stream_error(hr: u32) -> StreamError {
    match hr {
        // DEVICE_INVALIDATED, SERVICE_NOT_RUNNING, RESOURCES_INVALIDATED, E_NOTFOUND.
        // DEVICE_IN_USE: another application took the device in exclusive mode.
        0x8889_0004 | 0x8889_000A | 0x8889_0010 | 0x8889_0026 | 0x8007_0490 => {
            StreamError::Disconnected
        }
        other => StreamError::Os(other),
    }
}

fn setup_error(e: &WasapiError) -> StreamError {
    match e {
        WasapiError::Endpoint { hresult, .. } | WasapiError::System { hresult, .. } => {
            stream_error(hresult.0)
        }
        _ => StreamError::Disconnected,
    }
}

struct WasapiStream {
    render: Option<SideSpec>,
    capture: Option<SideSpec>,
    plan: RingPlan,
    rate: f64,
    /// Captured frames waiting for their ASIO buffer.
    input: FrameRing,
    /// Output frames waiting for room in the WASAPI render buffer.
    output: FrameRing,
    session: Option<Session>,
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
    /// Frames captured audio waits below WASAPI, measured at the first packet.
    input_delay_frames: Option<u32>,
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
    /// Told when Windows disconnects a session (another application took the device in
    /// exclusive mode, …).
    on_change: Option<ChangeHandler>,
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
}

/// Whether capture data flows yet; if so, drops what was recorded so far. Real-time safe.
fn drain_first_capture(session: &Session) -> Result<Option<NewestPacket>, StreamError> {
    let Some((_, capture, _)) = &session.capture else {
        return Ok(Some(NewestPacket::default()));
    };
    if capture.next_packet_frames().map_err(stream_error)? == 0 {
        return Ok(None);
    }
    let mut newest = NewestPacket::default();
    while capture.next_packet_frames().map_err(stream_error)? > 0 {
        capture
            .read(|packet| {
                newest = NewestPacket {
                    frames: packet.frames,
                    first_frame_age_ns: packet.first_frame_age_ns,
                }
            })
            .map_err(stream_error)?;
    }
    Ok(Some(newest))
}

/// The last packet read when capture data first flowed.
#[derive(Debug, Clone, Copy, Default)]
struct NewestPacket {
    frames: u32,
    first_frame_age_ns: Option<u64>,
}

/// Event-driven waits last at most this long, ms: with no event the thread looks at the
/// device anyway, so that a silent device and a thread that did not run can be told apart.
const CHECK_MS: u32 = 20;

/// How long a started stream may take to deliver its first period, ms. Devices leaving
/// power save (Bluetooth, USB) and an audio service that is just starting (Windows' audio
/// engine, PulseAudio under Wine) take from hundreds of ms to a few seconds; the first
/// buffer switch waits for the first real period, so the host's positions and times stay
/// honest meanwhile. Mid-stream, `stall_ms` applies.
const STARTUP_GRACE_MS: u32 = 10_000;

/// Polling interval while waiting for the first capture packet, ms.
const STARTUP_POLL_MS: u32 = 1;

/// How long the output queue may stay above its high-water mark before it is trimmed.
const HIGH_WATER_PERSIST_NS: u64 = 250_000_000;

/// Room in the output ring beyond the high-water mark for a render side that stalls and
/// catches up, ms.
const STALL_ROOM_MS: f64 = 100.0;

impl WasapiStream {
    fn new(device: &WasapiDevice, config: &StreamConfig, exclusive_period: Option<u32>) -> Self {
        let rate = config.sample_rate.round() as u32;
        let plan = match exclusive_period {
            Some(p) => RingPlan::new(
                config.period_frames,
                device.render.as_ref().map(|_| p),
                device.capture.as_ref().map(|_| p),
                p,
            )
            .with_output_safety(device.safety_frames(p, config.sample_rate)),
            None => device.plan(config.period_frames, config.sample_rate),
        };
        let period_hns = exclusive_period.map_or(0, |p| frames_to_hns(p, rate));
        let spec = |s: &Side| SideSpec {
            direction: s.direction,
            id: s.id.clone(),
            name: s.name.clone(),
            period_frames: s.period_frames,
            mix: s.mix,
            mode: s.mode,
            stream: s.format_at(rate),
            period_hns,
        };
        let frame_bytes =
            |s: &Option<Side>| s.as_ref().map_or(1, |s| s.format_at(rate).frame_bytes());
        let longest_period = [&device.render, &device.capture]
            .into_iter()
            .flatten()
            .map(|s| s.period_frames)
            .max()
            .unwrap_or(1)
            .max(config.period_frames);
        let period_ms = (f64::from(longest_period) * 1000.0 / config.sample_rate).ceil() as u32;
        Self {
            render: device.render.as_ref().map(spec),
            capture: device.capture.as_ref().map(spec),
            plan,
            rate: config.sample_rate,
            input: FrameRing::new(
                plan.input_ring_frames as usize,
                frame_bytes(&device.capture),
            ),
            output: FrameRing::new(
                plan.output_ring_frames as usize
                    + (STALL_ROOM_MS * config.sample_rate / 1000.0) as usize,
                frame_bytes(&device.render),
            ),
            session: None,
            render_buffer_frames: 0,
            render_padding: 0,
            capture_buffer_frames: device.capture.as_ref().map_or(0, |s| s.buffer_frames),
            counters: DeviceCounters::default(),
            next_index: 0,
            last_progress_ns: 0,
            last_render_wake_ns: 0,
            render_period_ns: plan
                .render_period_frames
                .map_or(0, |p| (f64::from(p) * 1e9 / config.sample_rate) as u64),
            // A few periods, and never less than 200 ms (a loaded machine, Wine's timers).
            stall_ms: (4 * period_ms).max(200),
            captured_any: false,
            awaiting_capture: false,
            capture_started_ns: 0,
            input_delay_frames: None,
            // Polling feeds an exclusive buffer by its padding, as in shared mode.
            render_exclusive: exclusive_period.is_some()
                && device.render.is_some()
                && !device.config.wake_up.polls(),
            polling: device.config.wake_up.polls(),
            // A quarter of the shortest device period, rounded down to whole milliseconds
            // (what `Sleep` takes), at least 1 ms.
            poll_ms: [plan.render_period_frames, plan.capture_period_frames]
                .into_iter()
                .flatten()
                .min()
                .map_or(1, |p| {
                    ((f64::from(p) * 1e3 / config.sample_rate / 4.0) as u32).max(1)
                }),
            woken: false,
            last_data_ns: 0,
            last_check_ns: 0,
            check_gap_max_ns: [0; 2],
            check_second_ns: 0,
            render_due: false,
            drift: None,
            drift_params: match (&device.render, &device.capture) {
                // One endpoint, or a PulseAudio sink and its monitor (under Wine), share a
                // clock: steering would only chase winepulse's timer noise. Two endpoints of
                // different devices may drift; endpoints of one adapter that do share a clock
                // are steered too but never drift, so it rarely slips for them.
                (Some(r), Some(c)) if !shares_clock(&r.id, &r.name, &c.id, &c.name) => {
                    Some((rate, plan.render_period_frames.unwrap_or(1)))
                }
                _ => None,
            },
            clock: SwitchClock::new(config.period_frames, config.sample_rate),
            on_change: device.on_change.clone(),
            over_high_water_since: None,
        }
    }

    fn frames_to_ns(&self, frames: u64) -> u64 {
        (frames as f64 * 1e9 / self.rate) as u64
    }

    /// Opens, initialises and primes both clients (driver thread, before streaming).
    fn open_session(&mut self) -> Result<Session, WasapiError> {
        let apartment = Apartment::enter()?;
        let enumerator = Enumerator::new()?;
        let polling = self.polling;
        let open = |spec: &SideSpec| -> Result<(AudioClient, Option<Event>), WasapiError> {
            let device = enumerator.by_id(&spec.id, spec.direction)?.ok_or_else(|| {
                WasapiError::NotFound {
                    direction: spec.direction,
                    id: spec.id.clone(),
                    available: Vec::new(),
                }
            })?;
            let mut client = device.activate()?;
            if client.mix_format() != spec.mix {
                // The format changed since `open`: the host must reset to pick it up.
                return Err(WasapiError::Endpoint {
                    what: "checking the mix format (it changed; reset the driver)",
                    name: device.name.clone(),
                    id: device.id.clone(),
                    hresult: crate::error::Hresult(0x8889_0004),
                });
            }
            match spec.mode {
                // Polling: no event, and a buffer of three engine periods (IAudioClient3's
                // small periods are event-driven only, so low-latency polls like shared).
                SideMode::Shared | SideMode::LowLatency(_) if polling => client
                    .initialize_shared_polling(frames_to_hns(
                        spec.period_frames.saturating_mul(3),
                        spec.mix.rate,
                    ))?,
                SideMode::Shared => client.initialize_shared_event()?,
                SideMode::LowLatency(period) => {
                    if !client.initialize_low_latency(period)? {
                        client.initialize_shared_event()?;
                    }
                }
                SideMode::Exclusive { .. } => client.initialize_exclusive(
                    &spec.stream.extensible_bytes(),
                    spec.period_hns,
                    polling,
                )?,
            }
            if polling {
                return Ok((client, None));
            }
            let event = Event::new()?;
            client.set_event(&event)?;
            Ok((client, Some(event)))
        };
        let render = match &self.render {
            Some(spec) => {
                let (client, event) = open(spec)?;
                let service = client.render_client()?;
                Some((client, service, event))
            }
            None => None,
        };
        let capture = match &self.capture {
            Some(spec) => {
                let (client, event) = open(spec)?;
                let service = client.capture_client()?;
                Some((client, service, event))
            }
            None => None,
        };
        if let Some((client, _, _)) = &render {
            self.render_buffer_frames = client.buffer_frames()?;
        }
        if let Some((client, _, _)) = &capture {
            self.capture_buffer_frames = client.buffer_frames()?;
        }
        drop(enumerator);
        // Session events say why Windows disconnects a stream (exclusive-mode takeover above
        // all; the stream's next call fails too, so a listener that cannot be registered —
        // not every audio stack implements them — only costs the reason).
        let mut watches = Vec::new();
        if let Some(handler) = &self.on_change {
            let sides = [
                self.render.as_ref().zip(render.as_ref().map(|(c, _, _)| c)),
                self.capture
                    .as_ref()
                    .zip(capture.as_ref().map(|(c, _, _)| c)),
            ];
            for (spec, client) in sides.into_iter().flatten() {
                let handler = Arc::clone(handler);
                let (direction, name) = (spec.direction, spec.name.clone());
                let sink: SessionSink = Arc::new(move |reason| {
                    handler(&DeviceChange::SessionLost {
                        direction,
                        name: name.clone(),
                        reason,
                    });
                });
                if let Ok(watch) = client.watch_session(sink) {
                    watches.push(watch);
                }
            }
        }
        Ok(Session {
            _watches: watches,
            render,
            capture,
            _apartment: apartment,
        })
    }

    /// Moves captured packets into the input ring and queued output into WASAPI's render
    /// buffer. Real-time safe.
    fn service(&mut self) -> Result<(), StreamError> {
        let Some(session) = &self.session else {
            return Err(StreamError::Stalled(0));
        };
        if session.capture.is_none() {
            // Output only: the period becomes due as the render queue is read here.
            self.last_data_ns = time::now_ns();
        }
        let mut first_packet = None;
        if let Some((_, capture, _)) = &session.capture {
            loop {
                let frames = capture.next_packet_frames().map_err(stream_error)?;
                if frames == 0 || (frames as usize) > self.input.free_frames() {
                    // Nothing waiting, or no room yet: the packet stays in WASAPI's buffer.
                    break;
                }
                let input = &mut self.input;
                let counters = &mut self.counters;
                let first = !self.captured_any;
                let captured_any = &mut self.captured_any;
                let mut newest = NewestPacket::default();
                capture
                    .read(|packet| {
                        match packet.data {
                            Some(data) => input.push(data),
                            None => input.push_silence(packet.frames as usize),
                        };
                        if packet.flags & DISCONTINUITY != 0 && *captured_any {
                            counters.input_overruns += 1;
                        }
                        *captured_any = true;
                        newest = NewestPacket {
                            frames: packet.frames,
                            first_frame_age_ns: packet.first_frame_age_ns,
                        };
                    })
                    .map_err(stream_error)?;
                if first {
                    first_packet = Some(newest);
                }
                // The newest captured frame is at most this old (never earlier: a packet found
                // without waiting may have arrived any time since the last wake-up).
                self.last_data_ns = time::now_ns();
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
        let Some(Some((client, render, _))) = self.session.as_ref().map(|s| &s.render) else {
            return Ok(());
        };
        if self.render_exclusive {
            // Exclusive, event-driven: each render event asks for exactly one whole buffer.
            if !self.render_due {
                return Ok(());
            }
            self.render_due = false;
            let frames = self.render_buffer_frames;
            let output = &mut self.output;
            let mut short = false;
            render
                .write(frames, |buffer| {
                    let moved = output.pop_into(buffer);
                    if let Some(rest) = buffer.get_mut(moved * output.frame_bytes()..) {
                        short = !rest.is_empty();
                        rest.fill(0);
                    }
                })
                .map_err(stream_error)?;
            if short {
                self.counters.output_underruns += 1;
            }
            // The device buffer is in flight: only the ring counts as queued.
            self.render_padding = 0;
            return Ok(());
        }
        let padding = client.padding().map_err(stream_error)?;
        let room = self.render_buffer_frames.saturating_sub(padding);
        let frames = room.min(u32::try_from(self.output.frames()).unwrap_or(u32::MAX));
        let output = &mut self.output;
        render
            .write(frames, |buffer| {
                let moved = output.pop_into(buffer);
                // Cannot be short (`frames` ≤ what the ring holds); silence if it were.
                if let Some(rest) = buffer.get_mut(moved * output.frame_bytes()..) {
                    rest.fill(0);
                }
            })
            .map_err(stream_error)?;
        self.render_padding = padding + frames;
        Ok(())
    }

    /// Starts capture; starts render too when there is no capture side (driver thread,
    /// before streaming). With both, render starts in `wait` once capture data flows
    /// ([`WasapiStream::begin_render`]): that keeps the two sides in the phase the plan
    /// assumes. A capture stream's first packets can take from a few periods (Wine: the
    /// PulseAudio source's start-up) to seconds (a device leaving power save, the audio
    /// service starting); a render side started at once would play its prefill meanwhile,
    /// underrun, and then receive the late packets as a burst.
    fn start_clients(&mut self, session: &Session) -> Result<(), StreamError> {
        if let Some((client, _, _)) = &session.capture {
            self.capture_started_ns = time::now_ns();
            client.start().map_err(stream_error)?;
            if session.render.is_some() {
                self.awaiting_capture = true;
                return Ok(());
            }
        }
        self.prime_render(session)
    }

    /// Queues the planned silence and starts render.
    fn prime_render(&mut self, session: &Session) -> Result<(), StreamError> {
        if let Some((client, render, _)) = &session.render {
            // The planned silence: as much as fits in WASAPI's buffer, the rest in the ring.
            let prefill = self.plan.output_prefill_frames;
            let now = prefill.min(self.render_buffer_frames);
            render.write_silence(now).map_err(stream_error)?;
            self.output.push_silence((prefill - now) as usize);
            self.render_padding = if self.render_exclusive { 0 } else { now };
            self.render_due = false;
            client.start().map_err(stream_error)?;
            self.last_render_wake_ns = time::now_ns();
        }
        Ok(())
    }

    /// Duplex start-up: once the first capture packet is there, drops what was recorded so
    /// far (it would only add latency) and starts render. Runs before the first period,
    /// outside the real-time section: starting the render client may allocate inside the
    /// audio stack.
    fn begin_render(&mut self) -> Result<(), StreamError> {
        let Some(session) = self.session.take() else {
            return Err(StreamError::Stalled(0));
        };
        let result = match drain_first_capture(&session) {
            Ok(None) => Ok(()),
            Ok(Some(newest)) => {
                self.note_first_capture(newest);
                self.awaiting_capture = false;
                self.captured_any = true;
                self.prime_render(&session)
            }
            Err(e) => Err(e),
        };
        self.session = Some(session);
        result
    }

    /// Measures how long captured audio waits below WASAPI from the first packet read (see
    /// [`crate::capture_delay`]). Real-time safe.
    fn note_first_capture(&mut self, newest: NewestPacket) {
        let now = time::now_ns();
        let period_ns = self
            .plan
            .capture_period_frames
            .map_or(0, |p| self.frames_to_ns(u64::from(p)));
        let delay = capture_delay::measure(&FirstPacket {
            after_start_ns: now.saturating_sub(self.capture_started_ns),
            period_ns,
            newest_len_ns: self.frames_to_ns(u64::from(newest.frames)),
            newest_first_frame_age_ns: newest.first_frame_age_ns,
            notice_ns: if self.polling {
                u64::from(STARTUP_POLL_MS) * 1_000_000
            } else {
                0
            },
        });
        self.input_delay_frames = delay
            .ns()
            .map(|ns| capture_delay::ns_to_frames(ns, self.rate));
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

    /// Records a look at the device (see `check_gap_max_ns`). Real-time safe.
    fn note_check(&mut self) {
        let now = time::now_ns();
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
}

impl DeviceStream for WasapiStream {
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
        let session = self.open_session().map_err(|e| setup_error(&e))?;
        let started = self.start_clients(&session);
        if started.is_err() {
            if let Some((client, _, _)) = &session.capture {
                client.stop();
            }
            if let Some((client, _, _)) = &session.render {
                client.stop();
            }
            return started;
        }
        self.session = Some(session);
        let now = time::now_ns();
        self.last_progress_ns = now;
        self.last_render_wake_ns = now;
        self.last_check_ns = now;
        self.check_second_ns = now;
        Ok(())
    }

    fn wait(&mut self) -> Result<Option<PeriodTiming>, StreamError> {
        let entered = time::now_ns();
        loop {
            self.note_check();
            if self.awaiting_capture {
                self.begin_render()?;
            }
            if !self.awaiting_capture {
                self.service()?;
                if self
                    .plan
                    .period_ready(self.input.frames(), self.output_queued())
                {
                    break;
                }
            }
            let now = time::now_ns();
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
            let Some(session) = &self.session else {
                return Err(StreamError::Stalled(0));
            };
            if self.polling {
                // A timer instead of the events: look again in a quarter period (while
                // waiting for the first capture packet, every millisecond: when it came
                // measures the capture delay).
                com::sleep_ms(if self.awaiting_capture {
                    STARTUP_POLL_MS
                } else {
                    self.poll_ms
                });
                let now = time::now_ns();
                if !self.awaiting_capture {
                    self.last_render_wake_ns = now;
                }
                self.woken = true;
                continue;
            }
            let events = [
                session.render.as_ref().and_then(|(_, _, e)| e.as_ref()),
                session.capture.as_ref().and_then(|(_, _, e)| e.as_ref()),
            ];
            // Never longer than CHECK_MS without looking: a device stall's log line can then
            // tell a silent device from a thread that was not running.
            match com::wait_any(events, (limit - waited_ms).min(CHECK_MS)) {
                com::Wake::Signalled(which) => {
                    let now = time::now_ns();
                    self.woken = true;
                    if which == 0 && self.render.is_some() {
                        self.last_render_wake_ns = now;
                        self.render_due = true;
                    }
                }
                // No event for CHECK_MS: look anyway. No period for the limit ends the stream
                // at the top of the loop (`NoWakeUp` if not one event came since start: the
                // device's event-driven mode does not work, and the message says what to set).
                com::Wake::Timeout => {}
                com::Wake::Failed(code) => return Err(StreamError::Os(code)),
            }
        }
        let now = time::now_ns();
        self.last_progress_ns = now;
        let woke = self.last_data_ns.min(now);
        // How long ago the period was complete, in frames: the captured frames beyond it, or
        // (output only) how far the render queue is below the level that made it due.
        let early = if self.capture.is_some() {
            self.input
                .frames()
                .saturating_sub(self.plan.buffer_frames as usize)
        } else {
            (self.plan.output_prefill_frames as usize).saturating_sub(self.output_queued() + 1)
        };
        let due = self.clock.time_of(self.next_index, woke, early as u64);
        let lost_ns = self.clock.take_lost_ns();
        if lost_ns > 0 {
            self.counters.device_stalls += 1;
            self.counters.device_stall_lost_us += lost_ns / 1000;
            self.counters.device_stall_check_gap_us =
                self.check_gap_max_ns[0].max(self.check_gap_max_ns[1]) / 1000;
        }
        let deadline = if self.render.is_some() {
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

    fn read(&mut self, dst: &mut [u8]) -> Result<(), StreamError> {
        if self.capture.is_none() {
            dst.fill(0);
            return Ok(());
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
        if self.render.is_none() {
            return Ok(());
        }
        let frames = src.len() / self.output.frame_bytes();
        // High-water mark: the most the plan queues plus a period of jitter on either side.
        // A render side that stalls and then catches up (Wine's timer thread does) passes it
        // for a moment; only a queue that stays above it (the engine skipped pulls and will
        // not make them up) or no room left in the ring is trimmed.
        if self.output_queued() + frames > self.plan.output_ring_frames as usize {
            let now = time::now_ns();
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
        let queued = self.output_queued();
        let slip = match &mut self.drift {
            Some(d) => d.period(queued, u32::try_from(frames).unwrap_or(u32::MAX)),
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

    fn stop(&mut self) {
        if let Some(session) = self.session.take() {
            if let Some((client, _, _)) = &session.render {
                client.stop();
            }
            if let Some((client, _, _)) = &session.capture {
                client.stop();
            }
            drop(session);
        }
    }

    fn device_counters(&self) -> DeviceCounters {
        self.counters
    }

    fn measured_input_delay(&self) -> Option<u32> {
        self.input_delay_frames
    }
}

impl Drop for WasapiStream {
    fn drop(&mut self) {
        self.stop();
    }
}

// The engine moves devices and streams between threads.
const _: fn() = || {
    fn is_send<T: Send>() {}
    is_send::<WasapiStream>();
    is_send::<WasapiDevice>();
};

#[cfg(test)]
#[allow(clippy::expect_used, clippy::panic)]
mod buffer_size_tests {
    //! `getBufferSize` of a resolved device in each mode, from what the probe learned; no
    //! stream is opened (the sides are built as `probe` fills them).

    use super::*;

    fn side(direction: Direction, mode: SideMode) -> Side {
        Side {
            direction,
            id: format!("{{test}}.{direction}"),
            name: format!("Test {}", direction.noun()),
            follows_default: false,
            mix: MixFormat {
                rate: 48_000,
                channels: 2,
                bits: 32,
                valid_bits: 32,
                float: true,
                channel_mask: 3,
            },
            mode,
            period_frames: 480,
            buffer_frames: 1056,
            stream_latency_frames: 0,
            exclusive_rates: vec![44_100, 48_000],
        }
    }

    fn device(preferred: u32, render: Option<SideMode>, capture: Option<SideMode>) -> WasapiDevice {
        let mut device = WasapiDevice::deferred(WasapiConfig {
            preferred_buffer_frames: preferred,
            ..WasapiConfig::default()
        });
        device.render = render.map(|m| side(Direction::Render, m));
        device.capture = capture.map(|m| side(Direction::Capture, m));
        device
    }

    fn exclusive(minimum_hns: i64) -> SideMode {
        SideMode::Exclusive {
            sample: ExclusiveSample::F32,
            default_hns: 100_000,
            minimum_hns,
        }
    }

    #[test]
    fn shared_and_low_latency_offer_the_setting_not_the_engine_period() {
        for mode in [SideMode::Shared, SideMode::LowLatency(128)] {
            for preferred in [16, 64, 256, 8192] {
                let d = device(preferred, Some(mode), Some(mode));
                let sizes = d.buffer_sizes(48_000.0);
                assert_eq!(
                    (sizes.min_frames, sizes.max_frames, sizes.preferred_frames),
                    (16, 8192, preferred),
                    "{mode:?}"
                );
                assert_eq!(sizes.asio_granularity(), 1);
                assert_eq!(d.buffer_offer(48_000.0).clamp, None);
            }
        }
    }

    #[test]
    fn exclusive_mode_is_not_below_the_larger_minimum_period_of_the_two_sides() {
        // Render 2 ms (96 frames at 48 kHz), capture 3 ms (144): the stream needs 144.
        let d = device(64, Some(exclusive(20_000)), Some(exclusive(30_000)));
        let sizes = d.buffer_sizes(48_000.0);
        assert_eq!(
            (sizes.min_frames, sizes.max_frames, sizes.preferred_frames),
            (144, 8192, 144)
        );
        let clamp = d.buffer_offer(48_000.0).clamp.expect("clamped");
        assert_eq!((clamp.requested_frames, clamp.offered_frames), (64, 144));
        assert!(clamp.to_string().contains("exclusive mode"), "{clamp}");
        // The minimum follows the rate the host sets.
        assert_eq!(d.buffer_sizes(96_000.0).preferred_frames, 288);
        // A setting above the minimum is offered as it is, at every rate.
        let d = device(512, Some(exclusive(30_000)), None);
        assert_eq!(d.buffer_sizes(44_100.0).preferred_frames, 512);
        assert_eq!(d.buffer_sizes(192_000.0).preferred_frames, 576);
    }

    #[test]
    fn before_the_first_refresh_the_setting_is_offered() {
        let d = WasapiDevice::deferred(WasapiConfig {
            preferred_buffer_frames: 256,
            mode: Mode::Exclusive,
            ..WasapiConfig::default()
        });
        assert_eq!(d.buffer_sizes(48_000.0).preferred_frames, 256);
    }
}

#[cfg(test)]
mod missing_device_tests {
    use super::*;

    /// `getErrorMessage` shows 123 bytes: the default in use and the key come first.
    #[test]
    fn the_notice_names_the_default_in_use_first_then_the_missing_device_and_its_key() {
        let n = missing_notice(
            Direction::Capture,
            "{0.0.1.00000000}.{5b5e2a2c-0f8c-4c3e-8d2b-2f1d6f1e9a10}",
            "Microphone (USB Audio)",
        );
        assert!(
            n.starts_with("using Windows' default input \"Microphone (USB Audio)\": wasapi.input"),
            "{n}"
        );
        assert!(n.contains("is not there"), "{n}");
        assert!(
            n.ends_with("(wasapi.missing_device = \"fail\" refuses instead)"),
            "{n}"
        );
        let out = missing_notice(Direction::Render, "Speakers (2- USB)", "Speakers");
        assert!(
            out.starts_with(
                "using Windows' default output \"Speakers\": wasapi.output \"Speakers (2- USB)\""
            ),
            "{out}"
        );
    }
}
