//! What can go wrong outside the streaming path, in words a user can act on.
//!
//! Every error names what failed, the endpoint (friendly name and endpoint ID) when one is
//! concerned, the HRESULT in hex with its meaning, and what to do about it. The streaming path
//! reports through the engine's `Copy` [`tenuto_engine::device::StreamError`] instead.

use std::fmt;

use crate::endpoint::{Direction, EndpointState};

/// An HRESULT as WASAPI returns it, printed in hex with its meaning.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Hresult(pub u32);

impl fmt::Display for Hresult {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "HRESULT 0x{:08x}", self.0)?;
        if let Some(name) = hresult_name(self.0) {
            write!(f, " {name}")?;
        }
        write!(f, ": {}", hresult_meaning(self.0))
    }
}

/// Errors of enumeration, device selection and stream setup.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WasapiError {
    /// A Windows call that concerns no particular endpoint failed.
    #[error("{what} failed ({hresult}); {}", hresult_advice(hresult.0))]
    System {
        /// What was being done, e.g. "creating the MMDevice enumerator".
        what: &'static str,
        /// The code Windows returned.
        hresult: Hresult,
    },
    /// A call on one endpoint failed.
    #[error("{what} for \"{name}\" [{id}] failed ({hresult}); {}", hresult_advice(hresult.0))]
    Endpoint {
        /// What was being done, e.g. "initialising the shared-mode stream".
        what: &'static str,
        /// Friendly name of the endpoint.
        name: String,
        /// Endpoint ID.
        id: String,
        /// The code Windows returned.
        hresult: Hresult,
    },
    /// No endpoint of that direction has this ID.
    #[error(
        "no {direction} endpoint has the ID or name \"{id}\"; {}; choose one in the Tenuto \
         control panel (setting wasapi.{})",
        list_available(available),
        direction.noun()
    )]
    NotFound {
        /// Render or capture.
        direction: Direction,
        /// The ID that was asked for.
        id: String,
        /// The active endpoints of that direction, as `name [id]`.
        available: Vec<String>,
    },
    /// Windows has no default endpoint of that direction.
    #[error(
        "Windows has no default {direction} device; connect or enable one in Sound settings, \
         or choose an endpoint ID from `tenuto devices`"
    )]
    NoDefault {
        /// Render or capture.
        direction: Direction,
    },
    /// The endpoint exists but cannot stream.
    #[error(
        "\"{name}\" [{id}] is {state}; plug it in or enable it in Sound settings, \
         or choose another endpoint from `tenuto devices`"
    )]
    NotActive {
        /// Friendly name.
        name: String,
        /// Endpoint ID.
        id: String,
        /// Its state.
        state: EndpointState,
    },
    /// The shared-mode mix format is one Tenuto cannot stream.
    #[error(
        "\"{name}\" [{id}] mixes in {format}, which Tenuto cannot stream yet; choose 16-, 24- or \
         32-bit in the device's Properties → Advanced → Default Format"
    )]
    UnsupportedFormat {
        /// Friendly name.
        name: String,
        /// Endpoint ID.
        id: String,
        /// The format, described.
        format: String,
    },
    /// Render and capture endpoints run at different rates or sample formats.
    #[error(
        "the output \"{render}\" runs at {render_format} but the input \"{capture}\" at \
         {capture_format}; shared mode cannot convert between them yet: give both the same \
         Default Format in Sound settings (device Properties → Advanced), or use only one of them"
    )]
    Mismatch {
        /// Render endpoint name.
        render: String,
        /// Its format.
        render_format: String,
        /// Capture endpoint name.
        capture: String,
        /// Its format.
        capture_format: String,
    },
    /// Exclusive mode: the endpoint accepts none of the formats Tenuto offers.
    #[error(
        "the {} \"{name}\" [{id}] accepts none of the formats Tenuto offers in exclusive mode \
         ({tried}); it may be in use by another application that holds it exclusively, or \
         exclusive mode is disallowed in its Properties → Advanced; use shared mode \
         (wasapi.mode = \"shared\")",
        direction.noun()
    )]
    ExclusiveRefused {
        /// Render or capture.
        direction: Direction,
        /// Friendly name.
        name: String,
        /// Endpoint ID.
        id: String,
        /// What was tried, described.
        tried: String,
    },
    /// Exclusive mode: output and input share no sample type and rate.
    #[error(
        "in exclusive mode the output \"{render}\" and the input \"{capture}\" have no sample \
         type and rate in common; use shared mode, or only one of them"
    )]
    ExclusiveMismatch {
        /// Render endpoint name.
        render: String,
        /// Capture endpoint name.
        capture: String,
    },
    /// `default` was chosen, and Windows has no default output or input device.
    #[error(
        "Windows has no default output or input device (none is connected and enabled); \
         connect or enable one in Sound settings, or name one in wasapi.output / wasapi.input"
    )]
    NoDefaultDevice,
    /// Neither direction was chosen.
    #[error("neither an output nor an input endpoint was chosen; choose at least one")]
    NoEndpoints,
    /// Several endpoints cannot be streamed as one, and why (which endpoint, which key).
    #[error("{0}")]
    Aggregate(String),
    /// Not on Windows.
    #[error("WASAPI exists only on Windows")]
    Unsupported,
}

impl WasapiError {
    /// Whether the endpoint a call concerned cannot be used at all: removed or invalidated
    /// (`AUDCLNT_E_DEVICE_INVALIDATED`, `E_NOTFOUND`), or its stream cannot be created
    /// (`AUDCLNT_E_ENDPOINT_CREATE_FAILED`: Wine's winepulse still lists a PulseAudio sink
    /// for a while after it is gone, and fails here). A configured device in that state is
    /// treated like one that is not there.
    pub fn endpoint_gone(&self) -> bool {
        match self {
            Self::Endpoint { hresult, .. } => {
                matches!(hresult.0, 0x8889_0004 | 0x8889_000F | 0x8007_0490)
            }
            Self::NotActive { .. } | Self::NotFound { .. } => true,
            _ => false,
        }
    }
}

fn list_available(available: &[String]) -> String {
    if available.is_empty() {
        "there is no active one (see `tenuto devices`)".to_owned()
    } else {
        format!("active ones: {}", available.join(", "))
    }
}

/// The symbolic name of a common WASAPI/COM HRESULT.
pub fn hresult_name(hr: u32) -> Option<&'static str> {
    Some(match hr {
        0x8889_0001 => "AUDCLNT_E_NOT_INITIALIZED",
        0x8889_0002 => "AUDCLNT_E_ALREADY_INITIALIZED",
        0x8889_0003 => "AUDCLNT_E_WRONG_ENDPOINT_TYPE",
        0x8889_0004 => "AUDCLNT_E_DEVICE_INVALIDATED",
        0x8889_0005 => "AUDCLNT_E_NOT_STOPPED",
        0x8889_0006 => "AUDCLNT_E_BUFFER_TOO_LARGE",
        0x8889_0007 => "AUDCLNT_E_OUT_OF_ORDER",
        0x8889_0008 => "AUDCLNT_E_UNSUPPORTED_FORMAT",
        0x8889_0009 => "AUDCLNT_E_INVALID_SIZE",
        0x8889_000A => "AUDCLNT_E_DEVICE_IN_USE",
        0x8889_000E => "AUDCLNT_E_EXCLUSIVE_MODE_NOT_ALLOWED",
        0x8889_000F => "AUDCLNT_E_ENDPOINT_CREATE_FAILED",
        0x8889_0010 => "AUDCLNT_E_SERVICE_NOT_RUNNING",
        0x8889_0014 => "AUDCLNT_E_EVENTHANDLE_NOT_SET",
        0x8889_0017 => "AUDCLNT_E_CPUUSAGE_EXCEEDED",
        0x8889_0019 => "AUDCLNT_E_BUFFER_SIZE_NOT_ALIGNED",
        0x8889_0020 => "AUDCLNT_E_INVALID_DEVICE_PERIOD",
        0x8889_0026 => "AUDCLNT_E_RESOURCES_INVALIDATED",
        0x8000_4001 => "E_NOTIMPL",
        0x8000_4003 => "E_POINTER",
        0x8000_4005 => "E_FAIL",
        0x8004_0154 => "REGDB_E_CLASSNOTREG",
        0x8004_01F0 => "CO_E_NOTINITIALIZED",
        0x8001_0106 => "RPC_E_CHANGED_MODE",
        0x8007_0005 => "E_ACCESSDENIED",
        0x8007_000E => "E_OUTOFMEMORY",
        0x8007_0057 => "E_INVALIDARG",
        0x8007_0490 => "E_NOTFOUND",
        _ => return None,
    })
}

/// What an HRESULT means, in words.
pub fn hresult_meaning(hr: u32) -> &'static str {
    match hr {
        0x8889_0004 => "the device was removed, disabled or reconfigured",
        0x8889_0008 => "the device does not accept this format",
        0x8889_000A => "another application uses the device in exclusive mode",
        0x8889_000E => "exclusive mode is not allowed on this device",
        0x8889_000F => "Windows could not create the audio endpoint",
        0x8889_0010 => "the Windows Audio service is not running",
        0x8889_0017 => "the audio engine is overloaded",
        0x8889_0019 => "the buffer size is not aligned to what the device needs",
        0x8889_0026 => "the audio resources were taken away (the app was suspended)",
        0x8889_0001..=0x8889_0003 | 0x8889_0005..=0x8889_0007 | 0x8889_0009 | 0x8889_0014 => {
            "Tenuto called the audio client out of order (a bug)"
        }
        0x8000_4001 => "this audio driver does not implement the call",
        0x8004_0154 => "the Windows audio components are not registered",
        0x8004_01F0 => "COM was not initialised on this thread (a bug)",
        0x8001_0106 => "COM was already initialised differently on this thread",
        0x8007_0005 => "access was denied",
        0x8007_000E => "out of memory",
        0x8007_0490 => "no such device",
        0x8007_0057 | 0x8000_4003 => "an argument was rejected (a bug)",
        _ => "unexpected error",
    }
}

/// What the user can do about an HRESULT.
pub fn hresult_advice(hr: u32) -> &'static str {
    match hr {
        0x8889_0004 | 0x8007_0490 => {
            "reconnect or enable the device, or pick another one (`tenuto devices` lists them)"
        }
        0x8889_0008 => {
            "set a standard Default Format in the device's Properties → Advanced (e.g. 24-bit, 48000 Hz)"
        }
        0x8889_000A => {
            "close the application holding it, or untick \"Allow applications to take exclusive \
             control\" in the device's Properties → Advanced"
        }
        0x8889_000F | 0x8889_0010 => {
            "restart the Windows Audio service (services.msc) or reconnect the device"
        }
        0x8889_0017 => "close other audio applications or raise the buffer size",
        0x8007_0005 => {
            "for an input, allow microphone access for desktop apps in Settings → Privacy & \
             security → Microphone"
        }
        0x8004_0154 => "repair the Windows audio components (under Wine: recreate the prefix)",
        _ => "please report this with the text above if it persists",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_name_the_device_the_code_in_hex_and_a_remedy() {
        let e = WasapiError::Endpoint {
            what: "initialising the shared-mode stream",
            name: "Speakers (USB Audio)".to_owned(),
            id: "{0.0.0.00000000}.{abc}".to_owned(),
            hresult: Hresult(0x8889_000A),
        };
        let s = e.to_string();
        assert!(
            s.contains("\"Speakers (USB Audio)\" [{0.0.0.00000000}.{abc}]"),
            "{s}"
        );
        assert!(s.contains("0x8889000a AUDCLNT_E_DEVICE_IN_USE"), "{s}");
        assert!(s.contains("exclusive"), "{s}");
    }

    #[test]
    fn unknown_codes_still_print_in_hex() {
        let s = Hresult(0x1234_5678).to_string();
        assert_eq!(s, "HRESULT 0x12345678: unexpected error");
    }

    #[test]
    fn not_found_lists_what_exists() {
        let e = WasapiError::NotFound {
            direction: Direction::Capture,
            id: "x".to_owned(),
            available: vec!["Mic [a]".to_owned(), "Line [b]".to_owned()],
        };
        assert_eq!(
            e.to_string(),
            "no capture endpoint has the ID or name \"x\"; active ones: Mic [a], Line [b]; choose \
             one in the Tenuto control panel (setting wasapi.input)"
        );
    }
}
