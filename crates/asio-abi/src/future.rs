//! Selectors for the driver's `future(selector, opt)` method.
//!
//! A driver returns [`ASE_SUCCESS`](crate::ASE_SUCCESS) for a selector it handles (plain
//! `ASE_OK` is not enough here) and usually
//! [`ASE_INVALID_PARAMETER`](crate::ASE_INVALID_PARAMETER) or
//! [`ASE_NOT_PRESENT`](crate::ASE_NOT_PRESENT) otherwise.

/// Starts reading time code.
pub const ENABLE_TIME_CODE_READ: i32 = 1;
/// Stops reading time code.
pub const DISABLE_TIME_CODE_READ: i32 = 2;
/// Switches hardware input monitoring for a channel.
pub const SET_INPUT_MONITOR: i32 = 3;
/// Sends a transport command.
pub const TRANSPORT: i32 = 4;
/// Sets the gain of an input channel.
pub const SET_INPUT_GAIN: i32 = 5;
/// Reads the meter of an input channel.
pub const GET_INPUT_METER: i32 = 6;
/// Sets the gain of an output channel.
pub const SET_OUTPUT_GAIN: i32 = 7;
/// Reads the meter of an output channel.
pub const GET_OUTPUT_METER: i32 = 8;
/// Asks whether the driver supports hardware input monitoring.
pub const CAN_INPUT_MONITOR: i32 = 9;
/// Asks whether the driver supports time info.
pub const CAN_TIME_INFO: i32 = 10;
/// Asks whether the driver supports time code.
pub const CAN_TIME_CODE: i32 = 11;
/// Asks whether the driver supports transport commands.
pub const CAN_TRANSPORT: i32 = 12;
/// Asks whether the driver supports input gain control.
pub const CAN_INPUT_GAIN: i32 = 13;
/// Asks whether the driver supports input metering.
pub const CAN_INPUT_METER: i32 = 14;
/// Asks whether the driver supports output gain control.
pub const CAN_OUTPUT_GAIN: i32 = 15;
/// Asks whether the driver supports output metering.
pub const CAN_OUTPUT_METER: i32 = 16;
/// Reserved vendor-neutral optional selector.
pub const OPTIONAL_ONE: i32 = 17;
/// Sets the I/O format (PCM or DSD).
pub const SET_IO_FORMAT: i32 = 0x2311_1961;
/// Reads the current I/O format (PCM or DSD).
pub const GET_IO_FORMAT: i32 = 0x2311_1983;
/// Asks whether the driver supports a given I/O format.
pub const CAN_DO_IO_FORMAT: i32 = 0x2311_2004;
/// Asks whether the driver reports overloads through
/// [`message::OVERLOAD`](crate::message::OVERLOAD).
pub const CAN_REPORT_OVERLOAD: i32 = 0x2404_2012;
/// Asks for the driver's internal buffering; `opt` points to an
/// [`AsioInternalBufferInfo`](crate::AsioInternalBufferInfo) to fill.
pub const GET_INTERNAL_BUFFER_SAMPLES: i32 = 0x2504_2012;

/// Returns a readable name for a known `future()` selector (such as `"CanTimeInfo"`), or
/// `None` for an unknown one.
pub const fn name(sel: i32) -> Option<&'static str> {
    Some(match sel {
        ENABLE_TIME_CODE_READ => "EnableTimeCodeRead",
        DISABLE_TIME_CODE_READ => "DisableTimeCodeRead",
        SET_INPUT_MONITOR => "SetInputMonitor",
        TRANSPORT => "Transport",
        SET_INPUT_GAIN => "SetInputGain",
        GET_INPUT_METER => "GetInputMeter",
        SET_OUTPUT_GAIN => "SetOutputGain",
        GET_OUTPUT_METER => "GetOutputMeter",
        CAN_INPUT_MONITOR => "CanInputMonitor",
        CAN_TIME_INFO => "CanTimeInfo",
        CAN_TIME_CODE => "CanTimeCode",
        CAN_TRANSPORT => "CanTransport",
        CAN_INPUT_GAIN => "CanInputGain",
        CAN_INPUT_METER => "CanInputMeter",
        CAN_OUTPUT_GAIN => "CanOutputGain",
        CAN_OUTPUT_METER => "CanOutputMeter",
        OPTIONAL_ONE => "OptionalOne",
        SET_IO_FORMAT => "SetIoFormat",
        GET_IO_FORMAT => "GetIoFormat",
        CAN_DO_IO_FORMAT => "CanDoIoFormat",
        CAN_REPORT_OVERLOAD => "CanReportOverload",
        GET_INTERNAL_BUFFER_SAMPLES => "GetInternalBufferSamples",
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn selectors() {
        for sel in 1..=17 {
            assert!(name(sel).is_some(), "{sel}");
        }
        assert_eq!(CAN_OUTPUT_METER, 16);
        assert_eq!(OPTIONAL_ONE, 17);
        assert_eq!(SET_IO_FORMAT, 588_323_169);
        for sel in [
            SET_IO_FORMAT,
            GET_IO_FORMAT,
            CAN_DO_IO_FORMAT,
            CAN_REPORT_OVERLOAD,
            GET_INTERNAL_BUFFER_SAMPLES,
        ] {
            assert!(name(sel).is_some(), "{sel:#x}");
        }
        assert_eq!(
            name(GET_INTERNAL_BUFFER_SAMPLES),
            Some("GetInternalBufferSamples")
        );
        assert_eq!(name(0), None);
        assert_eq!(name(18), None);
    }
}
