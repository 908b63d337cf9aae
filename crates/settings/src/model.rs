//! The settings as Rust values, their defaults, and their mapping onto the types
//! the driver runs on.

use std::collections::BTreeMap;

use serde::Serialize;
use tenuto_convert::{DeviceFormat, HostFormat};
use tenuto_engine::virtual_device::{VirtualConfig, VirtualSource};
use tenuto_sched::policy::{
    manual_base_priority, AvrtPriority, LinuxPolicy, MmcssFallback, ProcessClass, ThreadLevel,
    WindowsPolicy,
};
use tenuto_sched::profiles::ProfileSetting;
use tenuto_sched::Scheduling;
use tenuto_wasapi::sizes::{self, Offer, SizeLimits, SizeMode};

use crate::endpoints::{ClockSetting, EndpointEntry, EndpointSetting};

use crate::choices::{
    BackendSetting, FallbackSetting, FormatSetting, LogLevel, ManualLevelSetting,
    MissingDeviceSetting, MmcssPrioritySetting, ProcessClassSetting, ProfileValue,
    SampleTypeSetting, SchedulingMode, SourceSetting, WakeUpSetting, WasapiModeSetting,
};

/// Smallest `driver.buffer_size`, frames.
pub const BUFFER_SIZE_MIN: u32 = 16;
/// Largest `driver.buffer_size`, frames.
pub const BUFFER_SIZE_MAX: u32 = 8192;
/// Most channels `virtual.inputs` or `virtual.outputs` may have.
pub const MAX_CHANNELS: u32 = 64;
/// The rates `virtual.sample_rate` accepts, Hz.
pub const SAMPLE_RATES: [u32; 6] = [44_100, 48_000, 88_200, 96_000, 176_400, 192_000];

/// Everything in `tenuto.toml`. `Default` is the driver's behaviour without a file.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
pub struct Settings {
    /// `[driver]`.
    pub driver: DriverSettings,
    /// `[wasapi]`: the WASAPI backend (used when `driver.backend = "wasapi"`).
    #[serde(rename = "wasapi")]
    pub wasapi: WasapiSettings,
    /// `[virtual]`.
    #[serde(rename = "virtual")]
    pub virtual_device: VirtualSettings,
    /// `[scheduling]`.
    pub scheduling: SchedulingSettings,
    /// `[profiles]`: host executable file name (lowercase) → scheduling.
    pub profiles: BTreeMap<String, ProfileValue>,
    /// `[logging]`.
    pub logging: LoggingSettings,
}

/// `[driver]`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DriverSettings {
    /// `backend`: where the audio goes.
    pub backend: BackendSetting,
    /// `sample_type`: the ASIO sample type of the host buffers.
    pub sample_type: SampleTypeSetting,
    /// `buffer_size`: the preferred buffer size offered to hosts, frames (a power
    /// of two from [`BUFFER_SIZE_MIN`] to [`BUFFER_SIZE_MAX`]).
    pub buffer_size: u32,
}

impl Default for DriverSettings {
    /// The backend is WASAPI on Windows and the virtual device elsewhere (WASAPI
    /// exists only on Windows).
    fn default() -> Self {
        Self {
            backend: if cfg!(windows) {
                BackendSetting::Wasapi
            } else {
                BackendSetting::Virtual
            },
            sample_type: SampleTypeSetting::Auto,
            buffer_size: 128,
        }
    }
}

impl DriverSettings {
    /// The host sample type chosen, or `None` for `auto` (the engine then follows the
    /// device, `tenuto_engine::default_host_format`).
    pub fn host_format(&self) -> Option<HostFormat> {
        Some(match self.sample_type {
            SampleTypeSetting::Auto => return None,
            SampleTypeSetting::Int16 => HostFormat::Int16Lsb,
            SampleTypeSetting::Int24 => HostFormat::Int24Lsb,
            SampleTypeSetting::Int32 => HostFormat::Int32Lsb,
            SampleTypeSetting::Int32Lsb16 => HostFormat::Int32Lsb16,
            SampleTypeSetting::Int32Lsb18 => HostFormat::Int32Lsb18,
            SampleTypeSetting::Int32Lsb20 => HostFormat::Int32Lsb20,
            SampleTypeSetting::Int32Lsb24 => HostFormat::Int32Lsb24,
            SampleTypeSetting::Float32 => HostFormat::Float32Lsb,
            SampleTypeSetting::Float64 => HostFormat::Float64Lsb,
        })
    }
}

/// `wasapi.output_safety`: output queued beyond the minimum that cannot underrun, for
/// render timing worse than WASAPI promises. It adds to the output latency, which the
/// driver reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum OutputSafetySetting {
    /// `"auto"`: none on Windows; one engine period under Wine, whose winepulse feeds
    /// PulseAudio from a timer thread that lags the stream by about a period.
    #[default]
    Auto,
    /// That many milliseconds, 0 to [`OutputSafetySetting::MAX_MS`].
    Ms(u32),
}

impl OutputSafetySetting {
    /// The most milliseconds accepted.
    pub const MAX_MS: u32 = 100;

    /// The value as the file spells it without quotes: `auto` or the milliseconds.
    pub fn as_text(&self) -> String {
        match self {
            OutputSafetySetting::Auto => "auto".to_owned(),
            OutputSafetySetting::Ms(ms) => ms.to_string(),
        }
    }

    /// Parses `auto` (ASCII case-insensitive) or a whole number of milliseconds from 0 to
    /// [`OutputSafetySetting::MAX_MS`]; `None` otherwise.
    pub fn parse(text: &str) -> Option<Self> {
        let text = text.trim();
        if text.eq_ignore_ascii_case("auto") {
            return Some(OutputSafetySetting::Auto);
        }
        text.parse::<u32>()
            .ok()
            .filter(|ms| *ms <= Self::MAX_MS)
            .map(OutputSafetySetting::Ms)
    }
}

impl Serialize for OutputSafetySetting {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            OutputSafetySetting::Auto => s.serialize_str("auto"),
            OutputSafetySetting::Ms(ms) => s.serialize_u32(*ms),
        }
    }
}

/// `[wasapi]`: the WASAPI backend (Windows' audio devices).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct WasapiSettings {
    /// `output`: the render endpoints, in the order their channels follow one another
    /// on the ASIO device; empty = no outputs. No endpoint appears twice.
    pub output: Vec<EndpointEntry>,
    /// `input`: the capture endpoints, likewise; empty = no inputs.
    pub input: Vec<EndpointEntry>,
    /// `clock`: which listed endpoint is the master clock of the aggregate.
    pub clock: ClockSetting,
    /// `mode`: shared, low-latency (IAudioClient3) or exclusive.
    pub mode: WasapiModeSetting,
    /// `convert_rate`: in shared and low-latency mode, offer every standard rate and
    /// convert between the host's rate and the mix rate (`true`), or offer the mix rate
    /// alone (`false`). Exclusive mode runs at the host's rate either way.
    pub convert_rate: bool,
    /// `output_safety`: extra output buffering.
    pub output_safety: OutputSafetySetting,
    /// `wake_up`: events or polling.
    pub wake_up: WakeUpSetting,
    /// `missing_device`: a listed endpoint that is not there falls back to Windows'
    /// default (with a notice), fails, or is left out of the aggregate (with a notice).
    pub missing_device: MissingDeviceSetting,
}

impl Default for WasapiSettings {
    fn default() -> Self {
        Self {
            output: vec![EndpointEntry::default()],
            input: vec![EndpointEntry::default()],
            clock: ClockSetting::Auto,
            mode: WasapiModeSetting::Shared,
            convert_rate: true,
            output_safety: OutputSafetySetting::Auto,
            wake_up: WakeUpSetting::Events,
            missing_device: MissingDeviceSetting::Default,
        }
    }
}

impl WasapiSettings {
    /// What the buffer sizes depend on in `mode`; `minimum_period_hns` is the device's
    /// minimum period (exclusive mode: the larger of both sides'; 0 when not known).
    pub fn size_mode(&self, minimum_period_hns: i64) -> SizeMode {
        match self.mode {
            WasapiModeSetting::Shared => SizeMode::Shared,
            WasapiModeSetting::LowLatency => SizeMode::LowLatency,
            WasapiModeSetting::Exclusive => SizeMode::Exclusive { minimum_period_hns },
        }
    }

    /// The entry that `wasapi.clock` names: for `auto` the first input, else the first
    /// output; for an endpoint, the entry of either list naming it ([`EndpointSetting::
    /// same_as`]), the input's when both lists have it (`default`). `None` when both
    /// lists are empty or the clock names no listed endpoint.
    pub fn clock_entry(&self) -> Option<&EndpointEntry> {
        match &self.clock {
            ClockSetting::Auto => self.input.first().or_else(|| self.output.first()),
            ClockSetting::Endpoint(text) => {
                let wanted = EndpointSetting::parse(text).ok()?;
                self.input
                    .iter()
                    .chain(&self.output)
                    .find(|e| e.endpoint.same_as(&wanted))
            }
        }
    }

    /// Why `wasapi.clock` does not fit the lists, as the end of a message
    /// (`names no endpoint of wasapi.output or wasapi.input (…)`); `None` when it fits.
    /// `auto` always fits.
    pub fn clock_problem(&self) -> Option<String> {
        if self.clock == ClockSetting::Auto || self.clock_entry().is_some() {
            return None;
        }
        let listed: Vec<String> = self
            .output
            .iter()
            .chain(&self.input)
            .map(|e| crate::quote::toml_string(e.endpoint.as_str()))
            .collect();
        Some(format!(
            "names no endpoint of wasapi.output or wasapi.input ({})",
            if listed.is_empty() {
                "both are off".to_owned()
            } else {
                format!(
                    "they list {}",
                    crate::choices::list_or(listed.iter().map(String::as_str))
                )
            }
        ))
    }

    /// One line for `tenuto config check` and the panel: "output: Windows' default
    /// device; input: off; clock: …; shared mode (…)".
    pub fn describe(&self) -> String {
        let one = |e: &EndpointEntry| {
            let name = match &e.endpoint {
                EndpointSetting::Device(id) => format!("\"{id}\""),
                _ => "Windows' default device".to_owned(),
            };
            match e.channels_text() {
                Some(sel) => format!("{name} channels {sel}"),
                None => name,
            }
        };
        let side = |list: &[EndpointEntry]| match list {
            [] => "off".to_owned(),
            [only] => one(only),
            many => {
                let items: Vec<String> = many
                    .iter()
                    .enumerate()
                    .map(|(i, e)| format!("{}. {}", i + 1, one(e)))
                    .collect();
                format!(
                    "{} endpoints, in this channel order: {}",
                    many.len(),
                    items.join(", ")
                )
            }
        };
        let endpoints = self.output.len() + self.input.len();
        let clock = match (&self.clock, self.clock_entry()) {
            // One endpoint has nothing to follow.
            _ if endpoints <= 1 => String::new(),
            (ClockSetting::Auto, Some(e)) => {
                let input = self.input.iter().any(|i| std::ptr::eq(i, e));
                format!(
                    "; clock: auto (the {}: {})",
                    if input { "input" } else { "output" },
                    one(e)
                )
            }
            (ClockSetting::Endpoint(_), Some(e)) => format!("; clock: {}", one(e)),
            (_, None) => "; clock: none of the listed endpoints".to_owned(),
        };
        let rates = if self.convert_rate {
            "other host rates converted on the driver thread"
        } else {
            "other host rates refused, naming the rate that works"
        };
        let mode = match self.mode {
            WasapiModeSetting::Shared => {
                format!("shared mode (Windows' audio engine at its mix rate; {rates})")
            }
            WasapiModeSetting::LowLatency => format!(
                "low-latency shared mode (the smallest engine period the device offers, \
                 IAudioClient3; plain shared mode where Windows does not offer it; {rates})"
            ),
            WasapiModeSetting::Exclusive => "exclusive mode (the device alone, at the host's \
                 rate and sample format; other programs go silent)"
                .to_owned(),
        };
        let safety = match self.output_safety {
            OutputSafetySetting::Auto => String::new(),
            OutputSafetySetting::Ms(ms) => format!("; {ms} ms of output safety"),
        };
        let wake = match self.wake_up {
            WakeUpSetting::Events => "",
            WakeUpSetting::Polling => "; polling",
        };
        format!(
            "output: {}; input: {}{clock}; {mode}{safety}{wake}",
            side(&self.output),
            side(&self.input)
        )
    }
}

impl WasapiSettings {
    /// The rates hosts may choose and what converting them costs, for `tenuto config
    /// check`: in exclusive mode the host's own; in the shared modes every standard rate
    /// (`convert_rate`, with the latency the resamplers add at two typical pairs) or the
    /// mix rate alone.
    pub fn rates_text(&self) -> String {
        if self.mode == WasapiModeSetting::Exclusive {
            return "the host's rate, when the device takes it (exclusive mode never converts)"
                .to_owned();
        }
        if !self.convert_rate {
            return "only the device's mix rate (Windows' Sound settings); other host rates \
                    are refused with a message naming the rate that works \
                    (wasapi.convert_rate = true converts them)"
                .to_owned();
        }
        let examples: Vec<String> = [(44_100, 48_000), (96_000, 48_000)]
            .into_iter()
            .map(|(host, device)| conversion_text(host, device))
            .collect();
        format!(
            "every standard rate (44.1 to 192 kHz): a host rate other than the device's mix \
             rate is converted on the driver thread (the mix format must be 32-bit float, as \
             Windows sets it by default), and the resamplers' delay adds to the latency the \
             driver reports — {}; wasapi.convert_rate = false offers the mix rate alone",
            examples.join("; ")
        )
    }
}

/// The latency sample-rate conversion adds to a WASAPI stream whose host runs at
/// `host_rate` on a device mixing at `device_rate`, host frames (input, output): the
/// delays of the resamplers the WASAPI device builds (capture: device → host; render:
/// host → device, its delay turned into host frames), which
/// `WasapiDevice::conversion_latency` adds to getLatencies. Both depend on the two rates
/// alone, not on the channels. `None` when the rates are equal or the resampler does not
/// take the pair.
pub fn conversion_latency_frames(host_rate: u32, device_rate: u32) -> Option<(u32, u32)> {
    if host_rate == device_rate {
        return None;
    }
    let capture = tenuto_resample::Resampler::new(device_rate, host_rate, 1).ok()?;
    let render = tenuto_resample::Resampler::new(host_rate, device_rate, 1).ok()?;
    let input = capture.delay_frames().round() as u32;
    let output =
        (render.delay_frames() * f64::from(host_rate) / f64::from(device_rate)).round() as u32;
    Some((input, output))
}

/// "a host at 44.1 kHz on a 48 kHz device: +1.8 ms in, +1.9 ms out" (no conversion: "a
/// host at 48 kHz on a 48 kHz device: no conversion").
pub fn conversion_text(host_rate: u32, device_rate: u32) -> String {
    let khz = |rate: u32| format!("{} kHz", f64::from(rate) / 1000.0);
    let what = match conversion_latency_frames(host_rate, device_rate) {
        Some((input, output)) => {
            let ms = |frames: u32| f64::from(frames) * 1000.0 / f64::from(host_rate.max(1));
            format!("+{:.1} ms in, +{:.1} ms out", ms(input), ms(output))
        }
        None => "no conversion".to_owned(),
    };
    format!(
        "a host at {} on a {} device: {what}",
        khz(host_rate),
        khz(device_rate)
    )
}

/// `[virtual]`: the virtual device.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct VirtualSettings {
    /// `inputs`: input channels, 0 to [`MAX_CHANNELS`].
    pub inputs: u32,
    /// `outputs`: output channels, 0 to [`MAX_CHANNELS`]; inputs + outputs ≥ 1.
    pub outputs: u32,
    /// `format`: the format of the device's frames.
    pub format: FormatSetting,
    /// `source`: what the inputs capture.
    pub source: SourceSetting,
    /// `sample_rate`: the rate before the host picks one, one of [`SAMPLE_RATES`].
    pub sample_rate: u32,
}

impl Default for VirtualSettings {
    fn default() -> Self {
        Self {
            inputs: 2,
            outputs: 2,
            format: FormatSetting::F32,
            source: SourceSetting::Loopback,
            sample_rate: 48_000,
        }
    }
}

impl VirtualSettings {
    /// The device's frame format.
    pub fn device_format(&self) -> DeviceFormat {
        match self.format {
            FormatSetting::F32 => DeviceFormat::F32,
            FormatSetting::I16 => DeviceFormat::I16,
            FormatSetting::I24 => DeviceFormat::I24,
            FormatSetting::I32 => DeviceFormat::I32,
        }
    }

    /// The virtual device's configuration, offering `preferred_buffer` frames
    /// (`driver.buffer_size`) as the preferred size; everything not in the
    /// settings keeps `VirtualConfig::default()`.
    pub fn to_config(&self, preferred_buffer: u32) -> VirtualConfig {
        let defaults = VirtualConfig::default();
        let mut buffer_sizes = defaults.buffer_sizes;
        buffer_sizes.preferred_frames =
            preferred_buffer.clamp(buffer_sizes.min_frames, buffer_sizes.max_frames);
        VirtualConfig {
            inputs: self.inputs as usize,
            outputs: self.outputs as usize,
            format: self.device_format(),
            source: match self.source {
                SourceSetting::Loopback => VirtualSource::Loopback,
                SourceSetting::Sine => VirtualSource::Sine,
                SourceSetting::Silence => VirtualSource::Silence,
            },
            default_sample_rate: f64::from(self.sample_rate),
            buffer_sizes,
            ..defaults
        }
    }
}

/// `[scheduling]`: the driver thread's scheduling.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SchedulingSettings {
    /// `mode`: the Windows policy.
    pub mode: SchedulingMode,
    /// `mmcss_task`: the MMCSS task to register with (non-empty).
    pub mmcss_task: String,
    /// `mmcss_priority`: the AVRT priority within the task.
    pub mmcss_priority: MmcssPrioritySetting,
    /// `mmcss_fallback`: what to do when MMCSS registration fails.
    pub mmcss_fallback: FallbackSetting,
    /// `manual_level`: the thread level in manual mode.
    pub manual_level: ManualLevelSetting,
    /// `process_class`: the host process's class in manual mode (opt-in).
    pub process_class: ProcessClassSetting,
    /// `eco_qos_opt_out`: opt the driver thread out of EcoQoS throttling.
    pub eco_qos_opt_out: bool,
    /// `linux`: the policy on native Linux runs (see [`parse_linux_policy`]).
    #[serde(serialize_with = "serialize_linux")]
    pub linux: LinuxPolicy,
}

fn serialize_linux<S: serde::Serializer>(p: &LinuxPolicy, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&format_linux_policy(p))
}

impl Default for SchedulingSettings {
    fn default() -> Self {
        Self {
            mode: SchedulingMode::Auto,
            mmcss_task: "Pro Audio".to_owned(),
            mmcss_priority: MmcssPrioritySetting::Critical,
            mmcss_fallback: FallbackSetting::Manual,
            manual_level: ManualLevelSetting::TimeCritical,
            process_class: ProcessClassSetting::Normal,
            eco_qos_opt_out: true,
            linux: LinuxPolicy::Inherit,
        }
    }
}

impl SchedulingSettings {
    /// MMCSS with the configured task and priority.
    pub fn mmcss_policy(&self) -> WindowsPolicy {
        WindowsPolicy::Mmcss {
            task: self.mmcss_task.clone(),
            priority: match self.mmcss_priority {
                MmcssPrioritySetting::Low => AvrtPriority::Low,
                MmcssPrioritySetting::Normal => AvrtPriority::Normal,
                MmcssPrioritySetting::High => AvrtPriority::High,
                MmcssPrioritySetting::Critical => AvrtPriority::Critical,
            },
        }
    }

    /// Manual priority with the configured level and process class.
    pub fn manual_policy(&self) -> WindowsPolicy {
        WindowsPolicy::Manual {
            level: self.thread_level(),
            process_class: self.process_class(),
        }
    }

    fn thread_level(&self) -> ThreadLevel {
        match self.manual_level {
            ManualLevelSetting::Normal => ThreadLevel::Normal,
            ManualLevelSetting::AboveNormal => ThreadLevel::AboveNormal,
            ManualLevelSetting::Highest => ThreadLevel::Highest,
            ManualLevelSetting::TimeCritical => ThreadLevel::TimeCritical,
        }
    }

    fn process_class(&self) -> Option<ProcessClass> {
        match self.process_class {
            ProcessClassSetting::Normal => None,
            ProcessClassSetting::High => Some(ProcessClass::High),
            ProcessClassSetting::Realtime => Some(ProcessClass::Realtime),
        }
    }

    /// The Windows policy for a mode (`auto` gives MMCSS: the policy used when the
    /// host's threads cannot be observed).
    pub fn windows_policy(&self, mode: SchedulingMode) -> WindowsPolicy {
        match mode {
            SchedulingMode::Mmcss | SchedulingMode::Auto => self.mmcss_policy(),
            SchedulingMode::Manual => self.manual_policy(),
            SchedulingMode::Inherit => WindowsPolicy::Inherit,
        }
    }

    /// The scheduling the driver applies. With mode `auto` the default Windows policy
    /// is MMCSS and hosts without a profile get [`Self::default_profile`] (Auto).
    pub fn to_scheduling(&self) -> Scheduling {
        Scheduling {
            windows: self.windows_policy(self.mode),
            mmcss_fallback: match self.mmcss_fallback {
                FallbackSetting::Manual => MmcssFallback::ManualTimeCritical,
                FallbackSetting::Inherit => MmcssFallback::Inherit,
            },
            linux: self.linux,
            eco_qos_opt_out: self.eco_qos_opt_out,
        }
    }

    /// The profile for hosts the user set no `[profiles]` entry for. Mode `auto` (the
    /// default): `None`, so the built-in profile of a known DAW applies, else Auto
    /// from the host's threads. An explicit `mmcss`, `manual` or `inherit`: that
    /// policy, in every host without its own profile.
    pub fn default_profile(&self) -> Option<ProfileSetting> {
        match self.mode {
            // Auto: the host's own profile, else the built-in one for known
            // DAWs, else Auto from the host's threads.
            SchedulingMode::Auto => None,
            mode => Some(ProfileSetting::Policy(self.windows_policy(mode))),
        }
    }

    /// What manual mode gives the thread, spelled out: "TIME_CRITICAL in a normal
    /// process: base priority 15"; "… in a REALTIME process: base priority 31 —
    /// outranks MMCSS threads (23–26)".
    pub fn base_priority_text(&self) -> String {
        let level = match self.manual_level {
            ManualLevelSetting::Normal => "NORMAL",
            ManualLevelSetting::AboveNormal => "ABOVE_NORMAL",
            ManualLevelSetting::Highest => "HIGHEST",
            ManualLevelSetting::TimeCritical => "TIME_CRITICAL",
        };
        let class = match self.process_class {
            ProcessClassSetting::Normal => "a normal",
            ProcessClassSetting::High => "a HIGH",
            ProcessClassSetting::Realtime => "a REALTIME",
        };
        let base = manual_base_priority(self.thread_level(), self.process_class());
        let rank = if self.process_class != ProcessClassSetting::Realtime {
            ""
        } else if base > 26 {
            " — outranks MMCSS threads (23–26)"
        } else {
            " — among MMCSS threads (23–26)"
        };
        format!("{level} in {class} process: base priority {base}{rank}")
    }

    /// One line on the Windows scheduling, for `tenuto config check` and the panel.
    pub fn windows_text(&self) -> String {
        let mmcss = format!(
            "MMCSS \"{}\" at {}",
            self.mmcss_task,
            self.mmcss_priority.as_str().to_ascii_uppercase()
        );
        let fallback = match self.mmcss_fallback {
            FallbackSetting::Manual => "manual TIME_CRITICAL (base priority 15)",
            FallbackSetting::Inherit => "leave the thread as created",
        };
        let main = match self.mode {
            SchedulingMode::Mmcss => format!("{mmcss}; if registration fails: {fallback}"),
            SchedulingMode::Manual => format!("manual, {}", self.base_priority_text()),
            SchedulingMode::Inherit => "inherit (the thread is left as created)".to_owned(),
            SchedulingMode::Auto => format!(
                "auto: MMCSS or manual to match each host's threads (else {mmcss}; \
                 if registration fails: {fallback})"
            ),
        };
        format!(
            "{main}; EcoQoS opt-out {}",
            if self.eco_qos_opt_out { "on" } else { "off" }
        )
    }
}

impl ProfileValue {
    /// The profile as the scheduler takes it; `mmcss` and `manual` use the task,
    /// priority, level and class of `scheduling`.
    pub fn to_profile_setting(self, scheduling: &SchedulingSettings) -> ProfileSetting {
        match self {
            ProfileValue::Mmcss => ProfileSetting::Policy(scheduling.mmcss_policy()),
            ProfileValue::Manual => ProfileSetting::Policy(scheduling.manual_policy()),
            ProfileValue::Inherit => ProfileSetting::Policy(WindowsPolicy::Inherit),
            ProfileValue::Auto => ProfileSetting::Auto,
        }
    }
}

/// `[logging]`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LoggingSettings {
    /// `level`.
    pub level: LogLevel,
}

impl Default for LoggingSettings {
    fn default() -> Self {
        Self {
            level: LogLevel::Info,
        }
    }
}

impl Settings {
    /// The virtual device's configuration (`[virtual]` with `driver.buffer_size`).
    pub fn virtual_config(&self) -> VirtualConfig {
        self.virtual_device.to_config(self.driver.buffer_size)
    }

    /// The buffer sizes the WASAPI device offers with these settings (`driver.buffer_size` as
    /// preferred, under `wasapi.mode`'s rule, [`tenuto_wasapi::sizes`]) on a device whose
    /// minimum period is `minimum_period_hns` (the larger of both sides'), at `rate`; its
    /// `clamp` says when and why the preferred size is not the setting. The device answers
    /// `getBufferSize` with the same function; `tenuto config check` and the settings window
    /// show the clamp through this one.
    pub fn wasapi_buffer_offer(&self, minimum_period_hns: i64, rate: u32) -> Offer {
        sizes::offer(
            self.driver.buffer_size,
            self.wasapi.size_mode(minimum_period_hns),
            rate,
            SizeLimits::default(),
        )
    }

    /// The host sample type in effect: `driver.sample_type`, or for `auto` the one
    /// matching the virtual device's format.
    pub fn effective_host_format(&self) -> HostFormat {
        self.driver.host_format().unwrap_or_else(|| {
            tenuto_engine::default_host_format(self.virtual_device.device_format())
        })
    }

    /// The user's profile value for a host executable (a file name or a full path,
    /// case-insensitive), if any.
    pub fn profile_value(&self, executable: &str) -> Option<ProfileValue> {
        self.profiles.get(&profile_key(executable)).copied()
    }

    /// What the scheduler should take as the user's profile for `executable`: its
    /// `[profiles]` entry, else [`SchedulingSettings::default_profile`].
    pub fn profile_for(&self, executable: &str) -> Option<ProfileSetting> {
        match self.profile_value(executable) {
            Some(v) => Some(v.to_profile_setting(&self.scheduling)),
            None => self.scheduling.default_profile(),
        }
    }

    /// What the driver would do with these settings, one `(topic, text)` pair per
    /// line: backend and device, buffer size, sample type, scheduling, profiles,
    /// logging. For `tenuto config check` and the panel.
    pub fn explain(&self) -> Vec<(&'static str, String)> {
        let v = &self.virtual_device;
        let wasapi = self.driver.backend == BackendSetting::Wasapi;
        let backend = if wasapi {
            let fallback = if cfg!(windows) {
                ""
            } else {
                " (WASAPI exists only on Windows: elsewhere the driver falls back to the \
                 virtual device)"
            };
            format!("WASAPI: {}{fallback}", self.wasapi.describe())
        } else {
            format!(
                "virtual device: {} in / {} out, {} frames, inputs capture {}, starts at {} Hz",
                v.inputs,
                v.outputs,
                v.format,
                match v.source {
                    SourceSetting::Loopback => "the outputs (loopback)",
                    SourceSetting::Sine => "a sine per channel",
                    SourceSetting::Silence => "silence",
                },
                v.sample_rate
            )
        };
        // The rate the buffer's duration is given at: the virtual device's, or for
        // WASAPI (whose rate the device or the host decides) the common 48 kHz.
        let rate = if wasapi { 48_000 } else { v.sample_rate };
        let mut lines = vec![
            ("backend", backend),
            (
                "buffer size",
                format!(
                    "{} frames preferred ({:.2} ms at {rate} Hz); {}",
                    self.driver.buffer_size,
                    f64::from(self.driver.buffer_size) * 1000.0 / f64::from(rate),
                    if wasapi {
                        sizes::describe_rule(self.wasapi.size_mode(0), SizeLimits::default())
                    } else {
                        format!(
                            "hosts may pick any power of two from {BUFFER_SIZE_MIN} to \
                             {BUFFER_SIZE_MAX}"
                        )
                    }
                ),
            ),
            (
                "sample type",
                match (self.driver.host_format(), wasapi) {
                    (Some(f), _) => format!("{f} (set)"),
                    (None, true) => "auto: matches the device's format (in shared mode the mix \
                         format, usually 32-bit float)"
                        .to_owned(),
                    (None, false) => format!(
                        "{} (auto: matches the device's {} frames)",
                        self.effective_host_format(),
                        v.format
                    ),
                },
            ),
            (
                "scheduling",
                format!("Windows: {}", self.scheduling.windows_text()),
            ),
        ];
        if wasapi {
            lines.insert(2, ("sample rates", self.wasapi.rates_text()));
        }
        let hosts = if self.scheduling.mode == SchedulingMode::Auto {
            "hosts without a profile: decided from the host's own threads".to_owned()
        } else {
            format!("hosts without a profile: {}", self.scheduling.mode)
        };
        lines.push(("", hosts));
        for (exe, value) in &self.profiles {
            let what = match value {
                ProfileValue::Mmcss => format!(
                    "MMCSS \"{}\" at {}",
                    self.scheduling.mmcss_task,
                    self.scheduling.mmcss_priority.as_str().to_ascii_uppercase()
                ),
                ProfileValue::Manual => self.scheduling.base_priority_text(),
                ProfileValue::Inherit => "the thread is left as created".to_owned(),
                ProfileValue::Auto => "decided from the host's own threads".to_owned(),
            };
            lines.push(("", format!("profile {exe}: {value} ({what})")));
        }
        lines.push((
            "",
            format!(
                "Linux (native runs): {}",
                format_linux_policy(&self.scheduling.linux)
            ),
        ));
        lines.push(("logging", self.logging.level.to_string()));
        lines
    }
}

/// The `[profiles]` key for an executable: its file name, lowercased.
pub(crate) fn profile_key(executable: &str) -> String {
    executable
        .rsplit(['\\', '/'])
        .next()
        .unwrap_or(executable)
        .trim()
        .to_lowercase()
}

/// Parses `scheduling.linux`: `inherit`, `fifo[:1-99]`, `rr[:1-99]` (80 when
/// omitted) or `deadline[:RUNTIME_US]`. The error says what is wrong.
pub fn parse_linux_policy(text: &str) -> Result<LinuxPolicy, String> {
    let lower = text.trim().to_ascii_lowercase();
    let (mode, arg) = match lower.split_once(':') {
        Some((m, a)) => (m, Some(a)),
        None => (lower.as_str(), None),
    };
    let priority = |arg: Option<&str>| match arg {
        None => Ok(80),
        Some(a) => a
            .parse::<u8>()
            .ok()
            .filter(|p| (1..=99).contains(p))
            .ok_or_else(|| "the real-time priority must be 1 to 99".to_owned()),
    };
    match (mode, arg) {
        ("inherit", None) => Ok(LinuxPolicy::Inherit),
        ("fifo", a) => Ok(LinuxPolicy::Fifo {
            priority: priority(a)?,
        }),
        ("rr", a) => Ok(LinuxPolicy::RoundRobin {
            priority: priority(a)?,
        }),
        ("deadline", None) => Ok(LinuxPolicy::Deadline { runtime_us: None }),
        ("deadline", Some(a)) => a
            .parse::<u32>()
            .ok()
            .filter(|r| *r > 0)
            .map(|r| LinuxPolicy::Deadline {
                runtime_us: Some(r),
            })
            .ok_or_else(|| "the runtime must be a positive number of microseconds".to_owned()),
        _ => Err("unknown policy".to_owned()),
    }
}

/// The `scheduling.linux` spelling of a policy (`fifo:80`, `deadline:300`, …).
pub fn format_linux_policy(policy: &LinuxPolicy) -> String {
    match policy {
        LinuxPolicy::Inherit => "inherit".to_owned(),
        LinuxPolicy::Fifo { priority } => format!("fifo:{priority}"),
        LinuxPolicy::RoundRobin { priority } => format!("rr:{priority}"),
        LinuxPolicy::Deadline { runtime_us: None } => "deadline".to_owned(),
        LinuxPolicy::Deadline {
            runtime_us: Some(r),
        } => format!("deadline:{r}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_map_to_the_drivers_defaults() {
        let s = Settings::default();
        assert_eq!(s.scheduling.to_scheduling(), Scheduling::default());
        assert_eq!(s.virtual_config(), VirtualConfig::default());
        assert_eq!(s.driver.host_format(), None);
        assert_eq!(s.effective_host_format(), HostFormat::Float32Lsb);
        // Mode auto: built-in profiles, then Auto from the host's threads.
        assert_eq!(s.scheduling.default_profile(), None);
    }

    #[test]
    fn modes_map_to_policies() {
        let mut s = SchedulingSettings {
            mode: SchedulingMode::Manual,
            manual_level: ManualLevelSetting::Highest,
            process_class: ProcessClassSetting::High,
            mmcss_fallback: FallbackSetting::Inherit,
            ..SchedulingSettings::default()
        };
        let sched = s.to_scheduling();
        assert_eq!(
            sched.windows,
            WindowsPolicy::Manual {
                level: ThreadLevel::Highest,
                process_class: Some(ProcessClass::High)
            }
        );
        assert_eq!(sched.mmcss_fallback, MmcssFallback::Inherit);
        s.mode = SchedulingMode::Inherit;
        assert_eq!(s.to_scheduling().windows, WindowsPolicy::Inherit);
        s.mode = SchedulingMode::Auto;
        s.mmcss_task = "Audio".into();
        s.mmcss_priority = MmcssPrioritySetting::High;
        assert_eq!(
            s.to_scheduling().windows,
            WindowsPolicy::Mmcss {
                task: "Audio".into(),
                priority: AvrtPriority::High
            }
        );
        assert_eq!(s.default_profile(), None);
        s.mode = SchedulingMode::Mmcss;
        assert_eq!(
            s.default_profile(),
            Some(ProfileSetting::Policy(WindowsPolicy::Mmcss {
                task: "Audio".into(),
                priority: AvrtPriority::High
            }))
        );
        assert_eq!(
            ProfileValue::Manual.to_profile_setting(&s),
            ProfileSetting::Policy(WindowsPolicy::Manual {
                level: ThreadLevel::Highest,
                process_class: Some(ProcessClass::High)
            })
        );
    }

    #[test]
    fn profiles_are_looked_up_by_file_name_case_insensitively() {
        let mut s = Settings::default();
        s.profiles
            .insert("reaper.exe".into(), ProfileValue::Inherit);
        assert_eq!(
            s.profile_for(r"C:\Program Files\REAPER\Reaper.EXE"),
            Some(ProfileSetting::Policy(WindowsPolicy::Inherit))
        );
        // Mode auto (default): no profile of its own, so the built-in one applies.
        assert_eq!(s.profile_for("Cubase13.exe"), None);
        s.scheduling.mode = SchedulingMode::Mmcss;
        assert_eq!(
            s.profile_for("Cubase13.exe"),
            Some(ProfileSetting::Policy(WindowsPolicy::default()))
        );
    }

    #[test]
    fn base_priority_is_spelled_out() {
        let mut s = SchedulingSettings::default();
        assert_eq!(
            s.base_priority_text(),
            "TIME_CRITICAL in a normal process: base priority 15"
        );
        s.process_class = ProcessClassSetting::Realtime;
        assert_eq!(
            s.base_priority_text(),
            "TIME_CRITICAL in a REALTIME process: base priority 31 — outranks MMCSS threads (23–26)"
        );
        s.manual_level = ManualLevelSetting::Normal;
        assert!(s
            .base_priority_text()
            .ends_with("base priority 24 — among MMCSS threads (23–26)"));
        s.process_class = ProcessClassSetting::High;
        s.manual_level = ManualLevelSetting::AboveNormal;
        assert_eq!(
            s.base_priority_text(),
            "ABOVE_NORMAL in a HIGH process: base priority 14"
        );
    }

    #[test]
    fn linux_policies_parse_and_print() {
        for text in ["inherit", "fifo:80", "rr:1", "deadline", "deadline:300"] {
            let p = parse_linux_policy(text).unwrap();
            assert_eq!(format_linux_policy(&p), text);
        }
        assert_eq!(
            parse_linux_policy("FIFO"),
            Ok(LinuxPolicy::Fifo { priority: 80 })
        );
        for bad in [
            "fifo:0",
            "rr:100",
            "deadline:0",
            "deadline:x",
            "mmcss",
            "inherit:1",
            "",
        ] {
            assert!(parse_linux_policy(bad).is_err(), "{bad}");
        }
    }
}
