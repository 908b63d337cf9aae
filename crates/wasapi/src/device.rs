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
    BufferSizes, Device, DeviceError, DeviceInfo, DeviceLatency, DeviceStream, StreamConfig,
};
use tenuto_engine::virtual_device::format_rates;

use std::sync::Arc;

use crate::com::{self, Apartment, Enumerator};
use crate::drift::{shares_clock, steering_headroom};
use crate::endpoint::{Direction, EndpointState};
use crate::error::WasapiError;
use crate::format::{ExclusiveSample, MixFormat, EXCLUSIVE_RATES};
use crate::notify::ChangeHandler;
use crate::notify::{EndpointEvent, Watched};
use crate::plan::{frames_to_hns, hns_to_frames, RingPlan};
use crate::sizes::{self, Offer, SizeLimits, SizeMode};
use crate::stream::com_port::{ComPort, SideMode, SideSpec};
use crate::stream::trace::Recorder;
use crate::stream::{Conversion, StreamCore, StreamPort, StreamSetup};
use tenuto_resample::Resampler;

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
    /// Shared modes: offer every standard rate and convert between the host's rate and the
    /// mix rate on the driver thread (`true`), or offer the mix rate alone (`false`).
    pub convert_rates: bool,
    /// The devices' positions (IAudioClock) follow their data, as Windows' do: an aggregate
    /// measures its members' levels and drift by them. Wine's winepulse moves them in whole
    /// periods on the system's timer while the data follows PulseAudio's clock (README,
    /// *Several devices as one*), so under Wine they are not used (`false`) and the levels
    /// are taken from the queues.
    pub positions: bool,
    /// A render side's padding drops when a period has played, not when the audio engine
    /// takes it to play: winepulse takes a period off once PulseAudio has played it, so an
    /// aggregate that reckons a follower's latency from its pulls (no positions) counts a
    /// period less (`true` under Wine; see `StreamCore::render_level_bias`). Windows' engine
    /// takes a period and plays it after (`false`).
    pub padding_after_play: bool,
}

/// A converting stream's resamplers: (capture: device → host, render: host → device).
type Resamplers = (Option<Resampler>, Option<Resampler>);

/// The rates offered in shared modes when the driver converts (besides the mix rate).
pub const CONVERSION_RATES: [u32; 6] = [44_100, 48_000, 88_200, 96_000, 176_400, 192_000];

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
            convert_rates: true,
            positions: true,
            padding_after_play: false,
        }
    }
}

/// Receives the notes of a refresh.
pub type NoteHandler = Arc<dyn Fn(&str) + Send + Sync>;

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
    on_stream_note: Option<NoteHandler>,
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
            on_stream_note: None,
            watch: None,
        }
    }

    /// Calls `handler` with each note of a refresh (a mode that is not offered and what runs
    /// instead; notifications not available), on the thread that calls `init()`.
    pub fn on_note(mut self, handler: NoteHandler) -> Self {
        self.on_note = Some(handler);
        self
    }

    /// Calls `handler` at every stream open with [`WasapiDevice::conversion_note`] for the
    /// stream's rate, or `""` when it does not convert, on the thread that opens it (the
    /// host's, in `createBuffers` or `setSampleRate`; never the driver thread).
    pub fn on_stream_note(mut self, handler: NoteHandler) -> Self {
        self.on_stream_note = Some(handler);
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
        let mut rates = rates;
        let shared_mix = [&render, &capture]
            .into_iter()
            .flatten()
            .find(|s| !matches!(s.mode, SideMode::Exclusive { .. }))
            .map(|s| s.mix);
        if let (Some(mix), true) = (shared_mix, self.config.convert_rates) {
            if mix.float && mix.bits == 32 {
                rates = CONVERSION_RATES.iter().map(|&r| f64::from(r)).collect();
                if !rates.contains(&f64::from(mix.rate)) {
                    rates.push(f64::from(mix.rate));
                    rates.sort_by(f64::total_cmp);
                }
            } else {
                notes.push(format!(
                    "sample-rate conversion needs a 32-bit float mix format; this device \
                     mixes {}, so only {} Hz is offered (set the rate in Windows' Sound \
                     settings to the one your project uses)",
                    mix.sample_description(),
                    mix.rate
                ));
            }
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
    /// Whether a stream at the host's `rate` converts (shared modes, a rate other than the
    /// mix rate).
    pub fn converts(&self, rate: f64) -> bool {
        !self.exclusive()
            && [&self.render, &self.capture]
                .into_iter()
                .flatten()
                .any(|s| f64::from(s.mix.rate) != rate)
    }

    /// The mix rate of the shared-mode sides.
    fn mix_rate(&self) -> f64 {
        self.render
            .as_ref()
            .or(self.capture.as_ref())
            .map_or(48_000.0, |s| f64::from(s.mix.rate))
    }

    /// The resamplers a stream at the host's `rate` uses (capture: device → host; render:
    /// host → device), or `None` when it needs none. Converting streams resample both sides;
    /// a duplex stream over two clocks resamples its render side (1:1 when the rates are
    /// equal) so that drift is followed by the ratio, not by slips — where the mix format is
    /// 32-bit float, as Windows' and winepulse's are; otherwise it slips.
    fn resamplers(&self, rate: f64) -> Result<Option<Resamplers>, tenuto_resample::Error> {
        let converts = self.converts(rate);
        let float_render = self
            .render
            .as_ref()
            .is_some_and(|s| s.mix.float && s.mix.bits == 32);
        let steers = self.steers_drift() && float_render && !self.exclusive();
        if !converts && !steers {
            return Ok(None);
        }
        let (host, device) = (rate.round() as u32, self.mix_rate().round() as u32);
        let capture = match &self.capture {
            Some(s) if converts => Some(Resampler::new(device, host, usize::from(s.mix.channels))?),
            _ => None,
        };
        let render = match &self.render {
            Some(s) => Some(Resampler::new(host, device, usize::from(s.mix.channels))?),
            None => None,
        };
        Ok(Some((capture, render)))
    }

    /// The latency the resamplers at the host's `rate` add, host frames (0 without them):
    /// their delays.
    pub fn conversion_latency(&self, rate: f64) -> DeviceLatency {
        match self.resamplers(rate) {
            Ok(Some((capture, render))) => DeviceLatency {
                input_frames: capture.map_or(0, |r| r.delay_frames().round() as u32),
                output_frames: render.map_or(0, |r| {
                    (r.delay_frames() * rate / self.mix_rate()).round() as u32
                }),
            },
            _ => DeviceLatency {
                input_frames: 0,
                output_frames: 0,
            },
        }
    }

    /// "converting 44100 → 48000 Hz, +1.8 ms in, +1.9 ms out" for a stream at the host's
    /// `rate` that converts ([`WasapiDevice::conversion_latency`] in milliseconds, each
    /// direction the device has); `None` when it does not.
    pub fn conversion_note(&self, rate: f64) -> Option<String> {
        if !self.converts(rate) {
            return None;
        }
        let added = self.conversion_latency(rate);
        let ms = |frames: u32| f64::from(frames) * 1000.0 / rate;
        let mut parts = Vec::new();
        if self.capture.is_some() {
            parts.push(format!("+{:.1} ms in", ms(added.input_frames)));
        }
        if self.render.is_some() {
            parts.push(format!("+{:.1} ms out", ms(added.output_frames)));
        }
        Some(format!(
            "converting {} \u{2192} {} Hz, {}",
            rate.round(),
            self.mix_rate().round(),
            parts.join(", ")
        ))
    }

    /// The plan for an ASIO buffer of `buffer_frames` at the host's `rate`: in device
    /// frames, or, when the stream converts, in host frames ([`RingPlan::converted`]).
    pub fn plan(&self, buffer_frames: u32, rate: f64) -> RingPlan {
        if self.converts(rate) {
            let mix = self.mix_rate();
            let extra = self.output_extra(self.render.as_ref().map_or(0, |s| s.period_frames), mix);
            return RingPlan::converted(
                buffer_frames,
                self.render.as_ref().map(|s| s.period_frames),
                self.capture.as_ref().map(|s| s.period_frames),
                self.capture.as_ref().map_or(0, |s| s.buffer_frames),
                mix,
                rate,
            )
            .with_output_safety((f64::from(extra) * rate / mix).ceil() as u32);
        }
        self.plan_in_device_frames(buffer_frames, rate)
    }

    fn plan_in_device_frames(&self, buffer_frames: u32, rate: f64) -> RingPlan {
        let period = |s: &Side| match s.mode {
            SideMode::Exclusive { .. } => buffer_frames,
            _ => s.period_frames,
        };
        let render_period = self.render.as_ref().map_or(0, period);
        RingPlan::new(
            buffer_frames,
            self.render.as_ref().map(period),
            self.capture.as_ref().map(period),
            self.capture.as_ref().map_or(0, |s| match s.mode {
                SideMode::Exclusive { .. } => buffer_frames,
                _ => s.buffer_frames,
            }),
        )
        .with_output_safety(self.output_extra(render_period, rate))
    }

    /// Output queued beyond the plan's minimum, frames at `rate`: the configured safety, and
    /// with two clocks the drift steer's headroom (see `steering_headroom`).
    fn output_extra(&self, render_period: u32, rate: f64) -> u32 {
        let headroom = if self.steers_drift() {
            steering_headroom(render_period)
        } else {
            0
        };
        self.safety_frames(render_period, rate)
            .saturating_add(headroom)
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
        // Converting: the plan is in host frames, and both resamplers' delays add.
        let plan = self
            .plan(config.period_frames, config.sample_rate)
            .latency(0, 0);
        let conversion = self.conversion_latency(config.sample_rate);
        DeviceLatency {
            input_frames: plan.input_frames + conversion.input_frames,
            output_frames: plan.output_frames + conversion.output_frames,
        }
    }

    fn open(&mut self, config: &StreamConfig) -> Result<Box<dyn DeviceStream>, DeviceError> {
        let (port, setup, conversion) = self.prepare(config)?;
        if let Some(handler) = &self.on_stream_note {
            handler(
                self.conversion_note(config.sample_rate)
                    .as_deref()
                    .unwrap_or(""),
            );
        }
        let stream = StreamCore::new(port, setup);
        Ok(match conversion {
            Some(c) => Box::new(stream.with_conversion(c)),
            None => Box::new(stream),
        })
    }
}

impl WasapiDevice {
    /// A stream like [`Device::open`]'s whose port records the device's timing
    /// ([`Recorder`], up to `capacity` events): what `record_trace` (an example of this
    /// crate) writes as test data for the simulated device.
    pub fn open_recorded(
        &mut self,
        config: &StreamConfig,
        capacity: usize,
    ) -> Result<StreamCore<Recorder<impl StreamPort>>, DeviceError> {
        let (port, setup, conversion) = self.prepare(config)?;
        let rate = setup.rate.round() as u32;
        let stream = StreamCore::new(Recorder::new(port, capacity, rate), setup);
        Ok(match conversion {
            Some(c) => stream.with_conversion(c),
            None => stream,
        })
    }

    /// Checks `config` against the device, probes the endpoints again and builds the
    /// stream's port and setup.
    fn prepare(
        &mut self,
        config: &StreamConfig,
    ) -> Result<(ComPort, StreamSetup, Option<Conversion>), DeviceError> {
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
        self.stream_parts(config, exclusive_period)
    }
}

impl WasapiDevice {
    /// Whether a duplex stream steers its output queue against clock drift. One endpoint,
    /// or a PulseAudio sink and its monitor (under Wine), share a clock: steering would only
    /// chase winepulse's timer noise. Two endpoints of different devices may drift;
    /// endpoints of one adapter that do share a clock are steered too but never drift, so it
    /// rarely slips for them.
    fn steers_drift(&self) -> bool {
        match (&self.render, &self.capture) {
            (Some(r), Some(c)) => !shares_clock(&r.id, &r.name, &c.id, &c.name),
            _ => false,
        }
    }

    /// The stream for `config` over the COM port: the plan (one device period per ASIO
    /// buffer in exclusive mode), each side's spec, and whether to steer drift.
    fn stream_parts(
        &self,
        config: &StreamConfig,
        exclusive_period: Option<u32>,
    ) -> Result<(ComPort, StreamSetup, Option<Conversion>), DeviceError> {
        // Converting: the rings and the plan's device side run at the mix rate.
        let converts = exclusive_period.is_none() && self.converts(config.sample_rate);
        let device_rate = if converts {
            self.mix_rate()
        } else {
            config.sample_rate
        };
        let rate = device_rate.round() as u32;
        let host_plan = self.plan(config.period_frames, config.sample_rate);
        let plan = match exclusive_period {
            Some(p) => RingPlan::new(
                config.period_frames,
                self.render.as_ref().map(|_| p),
                self.capture.as_ref().map(|_| p),
                p,
            )
            .with_output_safety(
                self.safety_frames(p, config.sample_rate)
                    .saturating_add(if self.steers_drift() {
                        steering_headroom(p)
                    } else {
                        0
                    }),
            ),
            None if converts => host_plan.on_device(
                self.render.as_ref().map(|s| s.period_frames),
                self.capture.as_ref().map(|s| s.period_frames),
                device_rate,
                config.sample_rate,
            ),
            None => host_plan,
        };
        let conversion = if exclusive_period.is_none() {
            self.resamplers(config.sample_rate)
                .map_err(|e| DeviceError::Open {
                    device: self.info.name.clone(),
                    reason: format!("sample-rate conversion: {e}"),
                })?
                .map(|(capture, render)| {
                    Conversion::new(
                        capture,
                        render,
                        self.capture
                            .as_ref()
                            .map_or(0, |s| s.buffer_frames as usize),
                        config.period_frames as usize,
                    )
                })
        } else {
            None
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
        let polling = self.config.wake_up.polls();
        let setup = StreamSetup {
            plan,
            rate: device_rate,
            render_frame_bytes: self
                .render
                .as_ref()
                .map(|s| s.format_at(rate).frame_bytes()),
            capture_frame_bytes: self
                .capture
                .as_ref()
                .map(|s| s.format_at(rate).frame_bytes()),
            capture_buffer_frames: self.capture.as_ref().map_or(0, |s| s.buffer_frames),
            longest_period_frames: [&self.render, &self.capture]
                .into_iter()
                .flatten()
                .map(|s| s.period_frames)
                .max()
                .unwrap_or(1),
            // Polling feeds an exclusive buffer by its padding, as in shared mode.
            exclusive_render: exclusive_period.is_some() && !polling,
            polling,
            steer_drift: self.steers_drift(),
            host_rate: config.sample_rate,
            host_buffer_frames: config.period_frames,
            input_ring_frames: host_plan.input_ring_frames,
        };
        let port = ComPort::new(
            self.render.as_ref().map(spec),
            self.capture.as_ref().map(spec),
            polling,
            self.on_change.clone(),
        )
        .with_positions(self.config.positions);
        Ok((port, setup, conversion))
    }
}

/// A follower's stream parts ([`WasapiDevice::prepare_follower`]).
pub(crate) struct FollowerParts {
    pub port: ComPort,
    pub setup: StreamSetup,
    pub conversion: Conversion,
    /// The least level to hold ([`crate::aggregate::MemberLayout::min_level_frames`]).
    pub min_level_frames: f64,
    /// [`WasapiConfig::padding_after_play`].
    pub padding_after_play: bool,
}

impl WasapiDevice {
    /// The stream parts of this device (one endpoint) as an aggregate's master: what
    /// [`Device::open`] would build.
    pub(crate) fn prepare_master(
        &mut self,
        config: &StreamConfig,
    ) -> Result<(ComPort, StreamSetup, Option<Conversion>), DeviceError> {
        self.prepare(config)
    }

    /// The stream parts of this device (one endpoint, shared modes) as an aggregate's
    /// follower, whose periods come from a master with device periods of
    /// `master_period_frames`: a resampler on its side whatever the rates (the loop steers
    /// its ratio), a render queue planned as a duplex stream's over two clocks, an input
    /// ring with room for alignment.
    pub(crate) fn prepare_follower(
        &mut self,
        config: &StreamConfig,
        master_period_frames: u32,
    ) -> Result<FollowerParts, DeviceError> {
        // The checks and the probe of `prepare`; its parts are rebuilt below.
        let (port, _, _) = self.prepare(config)?;
        let side = self
            .render
            .as_ref()
            .or(self.capture.as_ref())
            .ok_or_else(|| DeviceError::Open {
                device: self.info.name.clone(),
                reason: "no endpoint resolved".to_owned(),
            })?;
        let host_rate = config.sample_rate;
        let device_rate = f64::from(side.mix.rate);
        let (host, dev) = (host_rate.round() as u32, side.mix.rate);
        let channels = usize::from(side.mix.channels);
        let resampler = |from: u32, to: u32| {
            Resampler::new(from, to, channels).map_err(|e| DeviceError::Open {
                device: side.name.clone(),
                reason: format!("sample-rate conversion: {e}"),
            })
        };
        let to_device = device_rate / host_rate.max(1.0);
        let render = side.direction == Direction::Render;
        let (plan, min_level) = self.follower_plan(side, config, master_period_frames);
        let conversion = if render {
            Conversion::new(
                None,
                Some(resampler(host, dev)?),
                0,
                config.period_frames as usize,
            )
        } else {
            Conversion::new(
                Some(resampler(dev, host)?),
                None,
                side.buffer_frames as usize,
                config.period_frames as usize,
            )
        };
        let frame_bytes = side.mix.frame_bytes();
        let setup = StreamSetup {
            plan,
            rate: device_rate,
            render_frame_bytes: render.then_some(frame_bytes),
            capture_frame_bytes: (!render).then_some(frame_bytes),
            capture_buffer_frames: if render { 0 } else { side.buffer_frames },
            longest_period_frames: side.period_frames.max(master_period_frames),
            exclusive_render: false,
            polling: self.config.wake_up.polls(),
            steer_drift: false,
            host_rate,
            host_buffer_frames: config.period_frames,
            // Room for the least level, the device's buffer and alignment's delays.
            input_ring_frames: config.period_frames
                + (f64::from(side.buffer_frames) * 4.0 / to_device) as u32
                + (host_rate / 10.0) as u32,
        };
        Ok(FollowerParts {
            port,
            setup,
            conversion,
            min_level_frames: min_level,
            padding_after_play: self.config.padding_after_play,
        })
    }

    /// A follower side's plan (device frames) and least level (capture: host frames held
    /// before a read — a buffer, a device packet and a master period; render: the plan's
    /// prefill, device frames), for `config` under a master with device periods of
    /// `master_period_frames`.
    fn follower_plan(
        &self,
        side: &Side,
        config: &StreamConfig,
        master_period_frames: u32,
    ) -> (RingPlan, f64) {
        let device_rate = f64::from(side.mix.rate);
        let to_device = device_rate / config.sample_rate.max(1.0);
        let buffer_device = (f64::from(config.period_frames) * to_device).ceil() as u32;
        if side.direction == Direction::Render {
            let plan = RingPlan::new(
                buffer_device,
                Some(side.period_frames),
                Some(master_period_frames),
                0,
            )
            .with_output_safety(
                self.safety_frames(side.period_frames, device_rate)
                    .saturating_add(steering_headroom(side.period_frames)),
            );
            (plan, f64::from(plan.output_prefill_frames))
        } else {
            let plan = RingPlan::new(
                buffer_device,
                None,
                Some(side.period_frames),
                side.buffer_frames,
            );
            let master_host = f64::from(master_period_frames) / to_device;
            let packet_host = f64::from(side.period_frames) / to_device;
            (
                plan,
                f64::from(config.period_frames) + packet_host + master_host,
            )
        }
    }

    /// This device's least latency as a follower, host frames (what
    /// [`crate::aggregate::AggregateStream`] computes from [`Self::prepare_follower`]'s
    /// least level and resampler), without probing. `None` before the first refresh.
    pub(crate) fn follower_floor_frames(
        &self,
        config: &StreamConfig,
        master_period_frames: u32,
    ) -> Option<f64> {
        let side = self.render.as_ref().or(self.capture.as_ref())?;
        let to_device = f64::from(side.mix.rate) / config.sample_rate.max(1.0);
        let (host, dev) = (config.sample_rate.round() as u32, side.mix.rate);
        let channels = usize::from(side.mix.channels);
        let (_, min_level) = self.follower_plan(side, config, master_period_frames);
        if side.direction == Direction::Render {
            let delay = Resampler::new(host, dev, channels).ok()?.delay_frames();
            // Reckoned from winepulse's pulls, the least level exceeds the latency by a
            // device period (see `StreamCore::render_level_bias`).
            let bias = if self.config.padding_after_play && !self.config.positions {
                f64::from(side.period_frames)
            } else {
                0.0
            };
            Some((min_level - bias + delay) / to_device)
        } else {
            let delay = Resampler::new(dev, host, channels).ok()?.delay_frames();
            Some(min_level - f64::from(config.period_frames) + delay)
        }
    }

    /// The mix format of the resolved endpoint (one side).
    pub(crate) fn mix(&self) -> Option<MixFormat> {
        self.render
            .as_ref()
            .or(self.capture.as_ref())
            .map(|s| s.mix)
    }
}

// The engine moves devices and streams between threads.
const _: fn() = || {
    fn is_send<T: Send>() {}
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
