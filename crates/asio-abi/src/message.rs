//! Selectors for the host's `asioMessage` callback ([`AsioCallbacks::asio_message`]).
//!
//! The driver calls `asioMessage(selector, value, message, opt)`; a return value of 0 means
//! "not supported" unless a selector says otherwise.
//!
//! [`AsioCallbacks::asio_message`]: crate::AsioCallbacks::asio_message

/// Asks whether the host supports the selector passed in `value` (returns 1 if so).
pub const SELECTOR_SUPPORTED: i32 = 1;
/// Asks which version of the interface the host implements (it returns the version).
pub const ENGINE_VERSION: i32 = 2;
/// Asks the host to stop, dispose buffers and reinitialise the driver (for example after a
/// settings change).
pub const RESET_REQUEST: i32 = 3;
/// Tells the host the preferred buffer size changed to `value` frames; hosts rarely support
/// it, so prefer [`RESET_REQUEST`].
pub const BUFFER_SIZE_CHANGE: i32 = 4;
/// Tells the host the driver lost or skipped samples and the host should resynchronise.
pub const RESYNC_REQUEST: i32 = 5;
/// Tells the host the input or output latencies changed.
pub const LATENCIES_CHANGED: i32 = 6;
/// Asks whether the host supports `bufferSwitchTimeInfo` (returns 1 if so).
pub const SUPPORTS_TIME_INFO: i32 = 7;
/// Asks whether the host wants time code in the time info.
pub const SUPPORTS_TIME_CODE: i32 = 8;
/// Passes an MMC (MIDI machine control) command to the host.
pub const MMC_COMMAND: i32 = 9;
/// Asks whether the host supports input monitoring.
pub const SUPPORTS_INPUT_MONITOR: i32 = 10;
/// Asks whether the host supports input gain control (rarely used).
pub const SUPPORTS_INPUT_GAIN: i32 = 11;
/// Asks whether the host supports input metering (rarely used).
pub const SUPPORTS_INPUT_METER: i32 = 12;
/// Asks whether the host supports output gain control (rarely used).
pub const SUPPORTS_OUTPUT_GAIN: i32 = 13;
/// Asks whether the host supports output metering (rarely used).
pub const SUPPORTS_OUTPUT_METER: i32 = 14;
/// Tells the host the driver detected an overload (a late or dropped period).
pub const OVERLOAD: i32 = 15;

/// Returns a readable name for a known message selector (such as `"ResetRequest"`), or
/// `None` for an unknown one.
pub const fn name(sel: i32) -> Option<&'static str> {
    Some(match sel {
        SELECTOR_SUPPORTED => "SelectorSupported",
        ENGINE_VERSION => "EngineVersion",
        RESET_REQUEST => "ResetRequest",
        BUFFER_SIZE_CHANGE => "BufferSizeChange",
        RESYNC_REQUEST => "ResyncRequest",
        LATENCIES_CHANGED => "LatenciesChanged",
        SUPPORTS_TIME_INFO => "SupportsTimeInfo",
        SUPPORTS_TIME_CODE => "SupportsTimeCode",
        MMC_COMMAND => "MMCCommand",
        SUPPORTS_INPUT_MONITOR => "SupportsInputMonitor",
        SUPPORTS_INPUT_GAIN => "SupportsInputGain",
        SUPPORTS_INPUT_METER => "SupportsInputMeter",
        SUPPORTS_OUTPUT_GAIN => "SupportsOutputGain",
        SUPPORTS_OUTPUT_METER => "SupportsOutputMeter",
        OVERLOAD => "Overload",
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn selectors_are_1_to_15_and_named() {
        let all = [
            SELECTOR_SUPPORTED,
            ENGINE_VERSION,
            RESET_REQUEST,
            BUFFER_SIZE_CHANGE,
            RESYNC_REQUEST,
            LATENCIES_CHANGED,
            SUPPORTS_TIME_INFO,
            SUPPORTS_TIME_CODE,
            MMC_COMMAND,
            SUPPORTS_INPUT_MONITOR,
            SUPPORTS_INPUT_GAIN,
            SUPPORTS_INPUT_METER,
            SUPPORTS_OUTPUT_GAIN,
            SUPPORTS_OUTPUT_METER,
            OVERLOAD,
        ];
        for (i, sel) in all.into_iter().enumerate() {
            assert_eq!(sel, i as i32 + 1);
            assert!(name(sel).is_some());
        }
        assert_eq!(name(RESET_REQUEST), Some("ResetRequest"));
        assert_eq!(name(0), None);
        assert_eq!(name(16), None);
    }
}
