//! What Win32 error codes and HRESULTs mean, in words a user can act on.

#![forbid(unsafe_code)]

/// `FACILITY_WIN32` HRESULTs are `0x8007_xxxx`, the Win32 code in the low 16 bits.
const FACILITY_WIN32_MASK: u32 = 0xFFFF_0000;
const FACILITY_WIN32_BITS: u32 = 0x8007_0000;

/// A short explanation of a Win32 error code: the ones Tenuto's calls return (MMCSS, thread
/// priority, tokens, the registry); others point to `net helpmsg`.
pub fn win32_meaning(code: u32) -> &'static str {
    match code {
        0 => "no error code was set",
        1 => "invalid function: the MMCSS service is stopped or disabled",
        2 => "not found",
        5 => "access denied",
        6 => "invalid handle",
        13 => "the data is invalid",
        50 => "not supported on this Windows version",
        87 => "invalid parameter (not supported on this Windows version?)",
        120 => "not implemented on this system",
        234 => "more data than expected",
        565 => "too many threads: MMCSS registers at most 32 threads per process",
        1058 => "the service is disabled",
        1314 => "a required privilege is not held",
        1550 => "no such task in the registry's MMCSS task list",
        1551 => "invalid task index",
        1552 => "the thread is already registered for a task",
        1630 => "value has the wrong type",
        _ => "unrecognised error (`net helpmsg <code>` explains it)",
    }
}

/// The Win32 code inside a `FACILITY_WIN32` HRESULT (`0x8007_xxxx`, what
/// `HRESULT_FROM_WIN32` makes); `None` for any other HRESULT.
pub fn win32_from_hresult(hr: i32) -> Option<u32> {
    let bits = hr as u32;
    (bits & FACILITY_WIN32_MASK == FACILITY_WIN32_BITS).then_some(bits & 0xFFFF)
}

/// `HRESULT_FROM_WIN32(code)`: 0 stays 0 (`S_OK`), any other code becomes `0x8007_xxxx`.
pub fn hresult_from_win32(code: u32) -> i32 {
    if code == 0 {
        0
    } else {
        ((code & 0xFFFF) | FACILITY_WIN32_BITS) as i32
    }
}

/// Any error code as text: a `FACILITY_WIN32` HRESULT by its Win32 code and meaning, another
/// HRESULT in hex (the form Microsoft documents them in).
pub fn hresult_text(hr: i32) -> String {
    match win32_from_hresult(hr) {
        Some(code) => format!("Windows error {code} ({})", win32_meaning(code)),
        None => format!("HRESULT 0x{:08X}", hr as u32),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hresults_from_win32_codes_round_trip() {
        for code in [2u32, 5, 234, 1630] {
            let hr = hresult_from_win32(code);
            assert_eq!(hr as u32 >> 16, 0x8007, "0x{:08X}", hr as u32);
            assert_eq!(win32_from_hresult(hr), Some(code));
        }
        assert_eq!(hresult_from_win32(0), 0);
        assert_eq!(hresult_from_win32(5) as u32, 0x8007_0005);
        // REGDB_E_CLASSNOTREG is not a Win32 code.
        assert_eq!(win32_from_hresult(0x8004_0154_u32 as i32), None);
    }

    #[test]
    fn text_names_the_code_and_its_meaning() {
        assert_eq!(
            hresult_text(hresult_from_win32(5)),
            "Windows error 5 (access denied)"
        );
        assert_eq!(hresult_text(0x8004_0154_u32 as i32), "HRESULT 0x80040154");
        assert!(win32_meaning(99_999).contains("net helpmsg"));
    }
}
