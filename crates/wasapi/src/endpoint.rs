//! What `tenuto devices` shows about each endpoint: portable types, filled on Windows by
//! `endpoints()`.

use std::fmt;

use crate::format::MixFormat;

/// Playback (render) or recording (capture).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Direction {
    /// An output: speakers, headphones, line out.
    Render,
    /// An input: microphone, line in.
    Capture,
}

impl Direction {
    /// Lower-case name, as printed and in JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            Direction::Render => "render",
            Direction::Capture => "capture",
        }
    }

    /// The word a user knows: "output" or "input".
    pub fn noun(self) -> &'static str {
        match self {
            Direction::Render => "output",
            Direction::Capture => "input",
        }
    }
}

impl fmt::Display for Direction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An endpoint's `DEVICE_STATE_*`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EndpointState {
    /// Present and enabled: it can stream.
    Active,
    /// Disabled by the user in Sound settings.
    Disabled,
    /// The adapter is gone (uninstalled or removed).
    NotPresent,
    /// The adapter is there but nothing is plugged into the jack.
    Unplugged,
}

impl EndpointState {
    /// From a `DEVICE_STATE_*` value (one bit); `None` for anything else.
    pub fn from_bits(bits: u32) -> Option<Self> {
        match bits {
            0x1 => Some(EndpointState::Active),
            0x2 => Some(EndpointState::Disabled),
            0x4 => Some(EndpointState::NotPresent),
            0x8 => Some(EndpointState::Unplugged),
            _ => None,
        }
    }

    /// Lower-case name, as printed and in JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            EndpointState::Active => "active",
            EndpointState::Disabled => "disabled",
            EndpointState::NotPresent => "not present",
            EndpointState::Unplugged => "unplugged",
        }
    }
}

impl fmt::Display for EndpointState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One audio endpoint as Windows' MMDevice API describes it.
#[derive(Debug, Clone, PartialEq)]
pub struct Endpoint {
    /// The stable endpoint ID (`IMMDevice::GetId`), e.g.
    /// `{0.0.0.00000000}.{5f9f0f6e-…}`. Select devices by this, not by name: Windows renumbers
    /// friendly names ("Speakers (3- USB Audio)" → "(4- …)").
    pub id: String,
    /// Friendly name (`PKEY_Device_FriendlyName`), for display only.
    pub name: String,
    /// Render or capture.
    pub direction: Direction,
    /// Active, disabled, not present or unplugged.
    pub state: EndpointState,
    /// Windows' default device for this direction (console role).
    pub is_default: bool,
    /// The shared-mode mix format (`IAudioClient::GetMixFormat`); active endpoints only.
    pub mix_format: Option<MixFormat>,
    /// The shared-mode engine periods (`IAudioClient::GetDevicePeriod`) as (default, minimum),
    /// in 100-ns units; active endpoints only.
    pub shared_period_hns: Option<(i64, i64)>,
    /// Low-latency shared mode (IAudioClient3): the engine periods offered for the mix
    /// format as (minimum, maximum, step), frames; `None` where it is not offered (before
    /// Windows 10, Wine) or for inactive endpoints.
    pub low_latency_frames: Option<(u32, u32, u32)>,
    /// Exclusive mode: each sample type the device accepts (`F32`, `I32`, `I24In32`, `I24`,
    /// `I16`) with the rates it accepts it at; empty when it accepts none (or the endpoint is
    /// inactive). Its periods are `shared_period_hns` (the minimum is the exclusive minimum).
    pub exclusive_formats: Vec<(String, Vec<u32>)>,
}

impl Endpoint {
    /// `name [id]`, as error messages show an endpoint.
    pub fn label(&self) -> String {
        format!("{} [{}]", self.name, self.id)
    }
}

/// Formats a duration in 100-ns units as milliseconds: `10 ms`, `2.667 ms`.
pub fn format_hns(hns: i64) -> String {
    let ms = hns as f64 / 10_000.0;
    let s = format!("{ms:.3}");
    let s = s.trim_end_matches('0').trim_end_matches('.');
    format!("{s} ms")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn states_from_bits() {
        assert_eq!(EndpointState::from_bits(1), Some(EndpointState::Active));
        assert_eq!(EndpointState::from_bits(8), Some(EndpointState::Unplugged));
        assert_eq!(EndpointState::from_bits(3), None);
        assert_eq!(EndpointState::NotPresent.to_string(), "not present");
    }

    #[test]
    fn hns_as_milliseconds() {
        assert_eq!(format_hns(100_000), "10 ms");
        assert_eq!(format_hns(30_000), "3 ms");
        assert_eq!(format_hns(26_667), "2.667 ms");
    }
}
