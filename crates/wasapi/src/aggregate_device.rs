//! [`AggregateDevice`]: several WASAPI endpoints as one engine [`Device`], streamed by an
//! [`AggregateStream`] (see [`crate::aggregate`]).
//!
//! Each listed endpoint becomes a one-sided [`WasapiDevice`] (a member), resolved and probed
//! at every `init()` ([`Device::refresh`]). One member is the clock master (the setting, or
//! the host through `setClockSource`); the others follow it through their resamplers. The
//! host sees every member's selected channels, named after the member ("Out 3 – Speakers
//! (Realtek)"), in the order of the lists.
//!
//! Aggregates run in the shared modes (each follower needs its resampler, which works on
//! the 32-bit float mix format): exclusive mode is refused with a message. A listed endpoint
//! that is not there fails `init()` naming it, or, with `wasapi.missing_device = "skip"`,
//! is left out with a notice; one that goes away while streaming asks the host for a reset
//! through the member's change handler, which names it.

use std::sync::Arc;

use tenuto_engine::device::{
    BufferSizes, Device, DeviceError, DeviceInfo, DeviceLatency, DeviceStream, StreamConfig,
};
use tenuto_engine::virtual_device::format_rates;

use crate::aggregate::{AggregateSetup, AggregateStream, Member, MemberLayout};
use crate::device::{EndpointChoice, Mode, NoteHandler, WasapiConfig, WasapiDevice};
use crate::endpoint::Direction;
use crate::error::WasapiError;
use crate::notify::ChangeHandler;
use crate::stream::com_port::ComPort;
use crate::stream::StreamCore;

/// One listed endpoint: which, and which of its channels (1-based; `None`: all).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EndpointSpec {
    /// The endpoint ([`EndpointChoice::Default`] or [`EndpointChoice::Id`]).
    pub choice: EndpointChoice,
    /// The channels the host sees, 1-based, ascending.
    pub channels: Option<Vec<u16>>,
}

/// Which member's clock the aggregate runs on.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum ClockChoice {
    /// The first input, else the first output.
    #[default]
    Auto,
    /// The member whose endpoint ID or name this is (exact, then ignoring case).
    Endpoint(String),
}

/// What an [`AggregateDevice`] streams through.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AggregateConfig {
    /// Output endpoints, in the order their channels appear.
    pub outputs: Vec<EndpointSpec>,
    /// Input endpoints.
    pub inputs: Vec<EndpointSpec>,
    /// The clock master.
    pub clock: ClockChoice,
    /// A listed endpoint that is not there is left out with a notice (`true`), or fails
    /// `init()` (`false`; [`WasapiConfig::missing_falls_back`] then decides whether
    /// Windows' default stands in for it).
    pub skip_missing: bool,
    /// Mode, sizes, safety, wake-up and conversion for every member (its endpoints are
    /// ignored).
    pub base: WasapiConfig,
}

/// A resolved member.
struct MemberDevice {
    device: WasapiDevice,
    direction: Direction,
    /// Device channels the host sees, 0-based.
    selection: Vec<usize>,
    device_channels: usize,
    name: String,
    id: String,
}

/// Several endpoints as one device (see the module documentation).
pub struct AggregateDevice {
    config: AggregateConfig,
    members: Vec<MemberDevice>,
    /// Index of the clock master in `members`.
    master: usize,
    /// The host's `setClockSource`, kept over refreshes while the member is there (by ID).
    chosen_clock: Option<String>,
    info: DeviceInfo,
    rates: Vec<f64>,
    notice: String,
    on_change: Option<ChangeHandler>,
    on_note: Option<NoteHandler>,
}

impl std::fmt::Debug for AggregateDevice {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AggregateDevice")
            .field("config", &self.config)
            .field("info", &self.info)
            .field("master", &self.master)
            .finish_non_exhaustive()
    }
}

impl AggregateDevice {
    /// An aggregate that resolves its members at the engine's first `init()`.
    pub fn deferred(config: AggregateConfig) -> Self {
        Self {
            config,
            members: Vec::new(),
            master: 0,
            chosen_clock: None,
            info: DeviceInfo {
                name: "WASAPI aggregate".to_owned(),
                input_channels: Vec::new(),
                output_channels: Vec::new(),
                format: tenuto_engine::DeviceFormat::F32,
                clock_name: "Windows audio engine".to_owned(),
            },
            rates: Vec::new(),
            notice: String::new(),
            on_change: None,
            on_note: None,
        }
    }

    /// Calls `handler` when a device change concerns a member (see
    /// [`WasapiDevice::on_change`]); the change names the endpoint.
    pub fn on_change(mut self, handler: ChangeHandler) -> Self {
        self.on_change = Some(handler);
        self
    }

    /// Calls `handler` with each note of a refresh.
    pub fn on_note(mut self, handler: NoteHandler) -> Self {
        self.on_note = Some(handler);
        self
    }

    /// The configuration.
    pub fn config(&self) -> &AggregateConfig {
        &self.config
    }

    /// The members as (direction, endpoint ID, name, host channels), the master first flag.
    pub fn members(&self) -> Vec<(Direction, &str, &str, usize, bool)> {
        self.members
            .iter()
            .enumerate()
            .map(|(i, m)| {
                (
                    m.direction,
                    m.id.as_str(),
                    m.name.as_str(),
                    m.selection.len(),
                    i == self.master,
                )
            })
            .collect()
    }

    fn resolve(&mut self) -> Result<(), WasapiError> {
        if self.config.base.mode == Mode::Exclusive {
            return Err(WasapiError::Aggregate(
                "several endpoints run in shared or low-latency mode only (each follows the \
                 clock master through a resampler); set wasapi.mode = \"shared\", or list one \
                 output and one input for exclusive mode"
                    .to_owned(),
            ));
        }
        let mut members: Vec<MemberDevice> = Vec::new();
        let mut notices = Vec::new();
        let mut notes = Vec::new();
        let lists = [
            (Direction::Render, &self.config.outputs),
            (Direction::Capture, &self.config.inputs),
        ];
        for (direction, list) in lists {
            for spec in list.iter() {
                let mut config = self.config.base.clone();
                // Every member gets a converter: a follower's is what the loop steers
                // against drift. `wasapi.convert_rate = false` narrows the rates offered
                // below instead.
                config.convert_rates = true;
                (config.render, config.capture) = match direction {
                    Direction::Render => (spec.choice.clone(), EndpointChoice::Off),
                    Direction::Capture => (EndpointChoice::Off, spec.choice.clone()),
                };
                let mut device = WasapiDevice::deferred(config);
                if let Some(h) = &self.on_change {
                    device = device.on_change(Arc::clone(h));
                }
                let what = match &spec.choice {
                    EndpointChoice::Id(id) => id.clone(),
                    _ => format!("Windows' default {}", direction.noun()),
                };
                match device.refresh() {
                    Ok(()) => {}
                    Err(e) if self.config.skip_missing => {
                        notices.push(format!(
                            "{what} is not there and was left out (wasapi.missing_device = \
                             \"skip\"): {e}"
                        ));
                        continue;
                    }
                    Err(e) => return Err(WasapiError::Aggregate(e.to_string())),
                }
                notes.extend(device.notes().iter().cloned());
                if let Some(n) = device.notice() {
                    notices.push(n.to_owned());
                }
                let (id, name) = match direction {
                    Direction::Render => device.render_endpoint(),
                    Direction::Capture => device.capture_endpoint(),
                }
                .map(|(i, n)| (i.to_owned(), n.to_owned()))
                .unwrap_or_default();
                if members
                    .iter()
                    .any(|m| m.direction == direction && m.id == id)
                {
                    notices.push(format!(
                        "{name} is listed twice for {}s (the second time as {what}); it is \
                         used once",
                        direction.noun()
                    ));
                    continue;
                }
                let mix = device.mix().ok_or_else(|| {
                    WasapiError::Aggregate(format!("{what}: no endpoint resolved"))
                })?;
                if !(mix.float && mix.bits == 32) {
                    return Err(WasapiError::Aggregate(format!(
                        "{name} mixes {}; several endpoints need the 32-bit float mix format \
                         (Windows' own; a driver that changes it cannot be aggregated)",
                        mix.sample_description()
                    )));
                }
                let device_channels = usize::from(mix.channels);
                let selection = match &spec.channels {
                    None => (0..device_channels).collect(),
                    Some(list) => {
                        if let Some(&bad) = list
                            .iter()
                            .find(|&&c| c == 0 || usize::from(c) > device_channels)
                        {
                            return Err(WasapiError::Aggregate(format!(
                                "{name} has {device_channels} channels; channel {bad} is not \
                                 one of them (wasapi.{} lists it)",
                                match direction {
                                    Direction::Render => "output",
                                    Direction::Capture => "input",
                                }
                            )));
                        }
                        list.iter().map(|&c| usize::from(c) - 1).collect()
                    }
                };
                members.push(MemberDevice {
                    device,
                    direction,
                    selection,
                    device_channels,
                    name,
                    id,
                });
            }
        }
        if members.is_empty() {
            return Err(WasapiError::Aggregate(
                "none of the listed endpoints is there".to_owned(),
            ));
        }
        // Inputs first in the clock's automatic choice: a recording follows the microphone.
        let pick = |want: &str| {
            members
                .iter()
                .position(|m| m.id == want || m.name == want)
                .or_else(|| {
                    members
                        .iter()
                        .position(|m| m.name.eq_ignore_ascii_case(want))
                })
        };
        let auto = members
            .iter()
            .position(|m| m.direction == Direction::Capture)
            .unwrap_or(0);
        let master = match (&self.chosen_clock, &self.config.clock) {
            (Some(id), _) if pick(id).is_some() => pick(id).unwrap_or(auto),
            (_, ClockChoice::Endpoint(want)) => match pick(want) {
                Some(i) => i,
                None => {
                    notices.push(format!(
                        "wasapi.clock names \"{want}\", which is none of the listed endpoints; \
                         the clock is {}",
                        members.get(auto).map_or("", |m| m.name.as_str())
                    ));
                    auto
                }
            },
            _ => auto,
        };
        let mut inputs = Vec::new();
        let mut outputs = Vec::new();
        for m in &members {
            let names = m.selection.iter().map(|&c| {
                let word = match m.direction {
                    Direction::Render => "Out",
                    Direction::Capture => "In",
                };
                format!("{word} {} \u{2013} {}", c + 1, m.name)
            });
            match m.direction {
                Direction::Render => outputs.extend(names),
                Direction::Capture => inputs.extend(names),
            }
        }
        let names: Vec<&str> = members.iter().map(|m| m.name.as_str()).collect();
        let rates = {
            let first = members.first().map(|m| m.device.sample_rates().to_vec());
            let mut rates = first.unwrap_or_default();
            for m in &members {
                rates.retain(|r| m.device.sample_rates().contains(r));
            }
            // Without conversion a host runs at the members' own (mix) rate, which they
            // must then share.
            if !self.config.base.convert_rates {
                rates.retain(|&r| members.iter().all(|m| m.device.default_sample_rate() == r));
            }
            rates
        };
        if rates.is_empty() && !self.config.base.convert_rates {
            let each: Vec<String> = members
                .iter()
                .map(|m| format!("{} at {} Hz", m.name, m.device.default_sample_rate()))
                .collect();
            return Err(WasapiError::Aggregate(format!(
                "with wasapi.convert_rate = false the endpoints must mix at one rate, and they \
                 do not ({}); set them to one rate in Windows' Sound settings, or allow \
                 conversion (wasapi.convert_rate = true)",
                each.join(", ")
            )));
        }
        if rates.is_empty() {
            let each: Vec<String> = members
                .iter()
                .map(|m| format!("{}: {}", m.name, format_rates(m.device.sample_rates())))
                .collect();
            return Err(WasapiError::Aggregate(format!(
                "the endpoints share no sample rate ({}); set them to one rate in Windows' \
                 Sound settings, or allow conversion (wasapi.convert_rate = true)",
                each.join("; ")
            )));
        }
        self.info = DeviceInfo {
            name: names.join(" + "),
            input_channels: inputs,
            output_channels: outputs,
            format: tenuto_engine::DeviceFormat::F32,
            clock_name: members
                .get(master)
                .map_or_else(String::new, |m| m.name.clone()),
        };
        self.rates = rates;
        self.members = members;
        self.master = master;
        if let Some(h) = &self.on_note {
            for n in notes.iter().chain(&notices) {
                h(n);
            }
        }
        self.notice = notices.join("; ");
        Ok(())
    }

    /// The master's device period, frames at its mix rate.
    fn master_period(&self) -> u32 {
        self.members.get(self.master).map_or(480, |m| {
            let (r, c) = m.device.device_periods();
            r.or(c).unwrap_or(480)
        })
    }
}

impl Device for AggregateDevice {
    fn refresh(&mut self) -> Result<(), DeviceError> {
        self.resolve().map_err(|e| DeviceError::Open {
            device: "the listed endpoints (wasapi.output, wasapi.input)".to_owned(),
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
        let own = self
            .members
            .get(self.master)
            .map(|m| m.device.default_sample_rate());
        match own {
            Some(r) if self.rates.contains(&r) => r,
            _ => self.rates.first().copied().unwrap_or(48_000.0),
        }
    }

    fn buffer_sizes(&self, sample_rate: f64) -> BufferSizes {
        match self.members.get(self.master) {
            Some(m) => m.device.buffer_sizes(sample_rate),
            None => WasapiDevice::deferred(self.config.base.clone()).buffer_sizes(sample_rate),
        }
    }

    fn latency(&self, config: &StreamConfig) -> DeviceLatency {
        // The master's own latency for its direction; for the other, the first follower's
        // least latency (as `AggregateStream` computes it).
        let master_period = self.master_period();
        let master_direction = self
            .members
            .get(self.master)
            .map_or(Direction::Render, |m| m.direction);
        let mut latency = DeviceLatency::default();
        if let Some(m) = self.members.get(self.master) {
            let own = m.device.latency(config);
            match master_direction {
                Direction::Render => latency.output_frames = own.output_frames,
                Direction::Capture => latency.input_frames = own.input_frames,
            }
        }
        if let Some((direction, floor)) = self
            .members
            .iter()
            .enumerate()
            .find(|(i, m)| *i != self.master && m.direction != master_direction)
            .and_then(|(_, m)| {
                m.device
                    .follower_floor_frames(config, master_period)
                    .map(|f| (m.direction, f))
            })
        {
            match direction {
                // The engine reports a buffer more than the device's output latency (the
                // host's buffer waits for the next switch); a follower's floor counts from
                // the write, which that buffer is part of.
                Direction::Render => {
                    latency.output_frames =
                        (floor - f64::from(config.period_frames)).max(0.0).round() as u32
                }
                Direction::Capture => latency.input_frames = floor.round() as u32,
            }
        }
        latency
    }

    fn open(&mut self, config: &StreamConfig) -> Result<Box<dyn DeviceStream>, DeviceError> {
        if !self.rates.contains(&config.sample_rate) {
            return Err(DeviceError::UnsupportedRate {
                device: self.info.name.clone(),
                rate: config.sample_rate,
                supported: format_rates(&self.rates),
            });
        }
        let base = self.latency(config);
        let master_period = self.master_period();
        let mut inputs = 0;
        let mut outputs = 0;
        let mut master = None;
        let mut followers = Vec::new();
        for (i, m) in self.members.iter_mut().enumerate() {
            let first = match m.direction {
                Direction::Render => &mut outputs,
                Direction::Capture => &mut inputs,
            };
            let map = m
                .selection
                .iter()
                .enumerate()
                .map(|(k, &c)| (c, *first + k))
                .collect();
            *first += m.selection.len();
            if i == self.master {
                let (port, setup, conversion) = m.device.prepare_master(config)?;
                let core = StreamCore::<ComPort>::new(port, setup);
                let core = match conversion {
                    Some(c) => core.with_conversion(c),
                    None => core,
                };
                master = Some(Member {
                    core,
                    layout: MemberLayout {
                        direction: m.direction,
                        device_channels: m.device_channels,
                        map,
                        min_level_frames: 0.0,
                        source: i,
                    },
                });
            } else {
                let parts = m.device.prepare_follower(config, master_period)?;
                let core = StreamCore::new(parts.port, parts.setup)
                    .with_conversion(parts.conversion)
                    .as_follower()
                    .with_padding_after_play(parts.padding_after_play);
                followers.push(Member {
                    core,
                    layout: MemberLayout {
                        direction: m.direction,
                        device_channels: m.device_channels,
                        map,
                        min_level_frames: parts.min_level_frames,
                        source: i,
                    },
                });
            }
        }
        let master = master.ok_or_else(|| DeviceError::Open {
            device: self.info.name.clone(),
            reason: "no clock master (no member resolved)".to_owned(),
        })?;
        Ok(Box::new(AggregateStream::new(
            master,
            followers,
            AggregateSetup {
                buffer_frames: config.period_frames as usize,
                host_rate: config.sample_rate,
                input_channels: inputs,
                output_channels: outputs,
                base_input_frames: f64::from(base.input_frames),
                base_output_frames: f64::from(base.output_frames + config.period_frames),
            },
        )))
    }

    fn notice(&self) -> Option<&str> {
        (!self.notice.is_empty()).then_some(self.notice.as_str())
    }

    fn clock_sources(&self) -> Vec<String> {
        self.members
            .iter()
            .map(|m| {
                format!(
                    "{} ({})",
                    m.name,
                    match m.direction {
                        Direction::Render => "output",
                        Direction::Capture => "input",
                    }
                )
            })
            .collect()
    }

    fn clock_source(&self) -> usize {
        self.master
    }

    fn set_clock_source(&mut self, index: usize) -> Result<(), DeviceError> {
        let m = self.members.get(index).ok_or_else(|| DeviceError::Open {
            device: self.info.name.clone(),
            reason: format!(
                "there is no clock source {index}; there are {}",
                self.members.len()
            ),
        })?;
        self.chosen_clock = Some(m.id.clone());
        self.info.clock_name = m.name.clone();
        self.master = index;
        Ok(())
    }
}

// The engine moves devices between threads.
const _: fn() = || {
    fn is_send<T: Send>() {}
    is_send::<AggregateDevice>();
};
