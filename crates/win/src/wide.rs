//! NUL-terminated UTF-16, the string form Win32's `…W` functions take and return.

#![forbid(unsafe_code)]

/// `s` as UTF-16 with a terminating NUL, for a `PCWSTR` argument. The buffer must outlive
/// the call it is passed to (keep it in a local, never pass `to_wide(s).as_ptr()` inline to
/// a call that keeps the pointer).
pub fn to_wide(s: &str) -> Vec<u16> {
    s.encode_utf16().chain(std::iter::once(0)).collect()
}

/// The UTF-16 in `w` up to its first NUL (all of it without one), unpaired surrogates
/// replaced by U+FFFD.
pub fn from_wide(w: &[u16]) -> String {
    let end = w.iter().position(|&c| c == 0).unwrap_or(w.len());
    String::from_utf16_lossy(w.get(..end).unwrap_or(w))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_outside_the_basic_plane_and_with_latin_1() {
        let s = "ASIO ÿ 𝄞 Tenuto";
        let w = to_wide(s);
        assert_eq!(w.last(), Some(&0), "terminated");
        assert_eq!(w.iter().filter(|&&c| c == 0).count(), 1, "one NUL");
        assert_eq!(from_wide(&w), s);
    }

    #[test]
    fn from_wide_stops_at_the_first_nul_or_the_end() {
        let mut w: Vec<u16> = "ab".encode_utf16().collect();
        assert_eq!(from_wide(&w), "ab");
        w.extend([0, u16::from(b'c'), 0]);
        assert_eq!(from_wide(&w), "ab");
        assert_eq!(from_wide(&[]), "");
        assert_eq!(from_wide(&[0xD800]), "\u{FFFD}", "an unpaired surrogate");
    }
}
