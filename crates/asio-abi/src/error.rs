//! Booleans and error codes.

/// ASIO's boolean type (a 32-bit Windows `long`): zero is false, anything else is true.
pub type AsioBool = i32;

/// The [`AsioBool`] value for "true".
pub const ASIO_TRUE: AsioBool = 1;

/// The [`AsioBool`] value for "false".
pub const ASIO_FALSE: AsioBool = 0;

/// Result code returned by most driver methods (a 32-bit Windows `long`).
pub type AsioError = i32;

/// The call succeeded.
pub const ASE_OK: AsioError = 0;

/// Success value that `future()` must return for a supported selector (`ASE_OK` is not
/// enough there).
pub const ASE_SUCCESS: AsioError = 0x3f48_47a0;

/// The hardware input or output is not present or not available.
pub const ASE_NOT_PRESENT: AsioError = -1000;

/// The hardware is malfunctioning.
pub const ASE_HW_MALFUNCTION: AsioError = -999;

/// An input parameter was invalid.
pub const ASE_INVALID_PARAMETER: AsioError = -998;

/// The hardware or driver is in a mode that does not allow the operation.
pub const ASE_INVALID_MODE: AsioError = -997;

/// The hardware is not advancing the sample position.
pub const ASE_SP_NOT_ADVANCING: AsioError = -996;

/// The sample clock or rate cannot be determined or is not present.
pub const ASE_NO_CLOCK: AsioError = -995;

/// The driver ran out of memory.
pub const ASE_NO_MEMORY: AsioError = -994;

/// Returns the conventional name of a known ASIO error code (such as `"ASE_InvalidMode"`),
/// or `None` for an unknown code.
pub const fn error_name(code: AsioError) -> Option<&'static str> {
    Some(match code {
        ASE_OK => "ASE_OK",
        ASE_SUCCESS => "ASE_SUCCESS",
        ASE_NOT_PRESENT => "ASE_NotPresent",
        ASE_HW_MALFUNCTION => "ASE_HWMalfunction",
        ASE_INVALID_PARAMETER => "ASE_InvalidParameter",
        ASE_INVALID_MODE => "ASE_InvalidMode",
        ASE_SP_NOT_ADVANCING => "ASE_SPNotAdvancing",
        ASE_NO_CLOCK => "ASE_NoClock",
        ASE_NO_MEMORY => "ASE_NoMemory",
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_error_has_a_name() {
        let table = [
            (ASE_OK, "ASE_OK"),
            (ASE_SUCCESS, "ASE_SUCCESS"),
            (ASE_NOT_PRESENT, "ASE_NotPresent"),
            (ASE_HW_MALFUNCTION, "ASE_HWMalfunction"),
            (ASE_INVALID_PARAMETER, "ASE_InvalidParameter"),
            (ASE_INVALID_MODE, "ASE_InvalidMode"),
            (ASE_SP_NOT_ADVANCING, "ASE_SPNotAdvancing"),
            (ASE_NO_CLOCK, "ASE_NoClock"),
            (ASE_NO_MEMORY, "ASE_NoMemory"),
        ];
        for (code, name) in table {
            assert_eq!(error_name(code), Some(name));
        }
    }

    #[test]
    fn error_values() {
        assert_eq!(ASE_SUCCESS, 1_061_701_536);
        assert_eq!(
            [
                ASE_NOT_PRESENT,
                ASE_HW_MALFUNCTION,
                ASE_INVALID_PARAMETER,
                ASE_INVALID_MODE,
                ASE_SP_NOT_ADVANCING,
                ASE_NO_CLOCK,
                ASE_NO_MEMORY
            ],
            [-1000, -999, -998, -997, -996, -995, -994]
        );
        assert_eq!((ASIO_TRUE, ASIO_FALSE), (1, 0));
    }

    #[test]
    fn unknown_errors_have_no_name() {
        for code in [1, -1, -993, -1001, i32::MIN, i32::MAX, ASE_SUCCESS + 1] {
            assert_eq!(error_name(code), None);
        }
    }
}
