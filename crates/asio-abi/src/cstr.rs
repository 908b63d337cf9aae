//! Safe helpers for the fixed-size, NUL-terminated `char` buffers of the interface.

use core::ffi::c_char;
use core::fmt;
use core::iter::FusedIterator;

/// Copies `s` into the C string buffer `dst`, truncating it to fit, NUL-terminating it and
/// zero-filling the rest of the buffer.
///
/// At most `dst.len() - 1` bytes of `s` are copied, and the cut is moved back to a UTF-8
/// character boundary so no partial character is written. Copying also stops at an interior
/// NUL in `s`, since C would stop reading there anyway. An empty `dst` is left untouched.
///
/// Fields of the packed ASIO structs that hold names (alignment 1) can be borrowed directly:
/// `write_c_string(&mut info.name, "In 1")`.
#[allow(clippy::unnecessary_cast)] // `c_char` is `u8` on some targets.
pub fn write_c_string(dst: &mut [c_char], s: &str) {
    let Some(max) = dst.len().checked_sub(1) else {
        return;
    };
    let s = match s.find('\0') {
        Some(nul) => &s[..nul],
        None => s,
    };
    let mut n = s.len().min(max);
    while !s.is_char_boundary(n) {
        n -= 1;
    }
    let (head, tail) = dst.split_at_mut(n);
    for (d, &b) in head.iter_mut().zip(s.as_bytes()) {
        *d = b as c_char;
    }
    tail.fill(0);
}

/// Returns the bytes of the C string stored in `src`: everything before the first NUL, or
/// the whole buffer if it holds no NUL.
///
/// The result is a [`CStringBytes`], an iterator over the bytes as `u8` that also compares
/// with byte slices and strings, copies into a `u8` buffer, and formats as text with
/// invalid UTF-8 replaced by U+FFFD (so `c_string_bytes(&info.name).to_string()` works in
/// `std` code). It is not a plain `&[u8]` because reinterpreting a `[c_char]` as `[u8]`
/// requires `unsafe`, which this crate does not use.
pub fn c_string_bytes(src: &[c_char]) -> CStringBytes<'_> {
    let len = src.iter().position(|&c| c == 0).unwrap_or(src.len());
    CStringBytes { chars: &src[..len] }
}

/// The bytes of a C string up to (not including) its NUL terminator, as returned by
/// [`c_string_bytes`]; iterates as `u8`.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct CStringBytes<'a> {
    chars: &'a [c_char],
}

#[allow(clippy::unnecessary_cast)] // `c_char` is `u8` on some targets.
const fn byte(c: c_char) -> u8 {
    c as u8
}

impl<'a> CStringBytes<'a> {
    /// Returns the remaining characters as the original `c_char` slice (without the NUL).
    pub const fn as_c_chars(&self) -> &'a [c_char] {
        self.chars
    }

    /// Returns the number of remaining bytes.
    pub const fn len(&self) -> usize {
        self.chars.len()
    }

    /// Tells whether no bytes remain (the C string is empty).
    pub const fn is_empty(&self) -> bool {
        self.chars.is_empty()
    }

    /// Copies as many bytes as fit into `buf` and returns the filled part of it.
    pub fn copy_to<'b>(&self, buf: &'b mut [u8]) -> &'b [u8] {
        let n = self.chars.len().min(buf.len());
        for (d, &c) in buf.iter_mut().zip(self.chars) {
            *d = byte(c);
        }
        &buf[..n]
    }

    /// Tells whether the bytes equal `other` exactly.
    pub fn eq_bytes(&self, other: &[u8]) -> bool {
        self.chars.len() == other.len() && self.chars.iter().zip(other).all(|(&c, &b)| byte(c) == b)
    }

    /// Decodes the bytes as UTF-8, replacing each invalid sequence with U+FFFD, and hands
    /// the text to `emit` piece by piece.
    fn decode_lossy(&self, mut emit: impl FnMut(&str) -> fmt::Result) -> fmt::Result {
        const REPLACEMENT: &str = "\u{FFFD}";
        let mut buf = [0u8; 64];
        let mut filled = 0;
        let mut src = self.chars;
        loop {
            while filled < buf.len() {
                let Some((&c, rest)) = src.split_first() else {
                    break;
                };
                buf[filled] = byte(c);
                filled += 1;
                src = rest;
            }
            if filled == 0 {
                return Ok(());
            }
            let chunk = &buf[..filled];
            let consumed = match core::str::from_utf8(chunk) {
                Ok(text) => {
                    emit(text)?;
                    filled
                }
                Err(e) => {
                    let valid = e.valid_up_to();
                    if let Ok(text) = core::str::from_utf8(&chunk[..valid]) {
                        emit(text)?;
                    }
                    match e.error_len() {
                        Some(bad) => {
                            emit(REPLACEMENT)?;
                            valid + bad
                        }
                        // A sequence cut short by the end of the string.
                        None if src.is_empty() => {
                            emit(REPLACEMENT)?;
                            filled
                        }
                        // A sequence cut short by the end of the chunk: finish it next time.
                        None => valid,
                    }
                }
            };
            buf.copy_within(consumed..filled, 0);
            filled -= consumed;
        }
    }
}

impl Iterator for CStringBytes<'_> {
    type Item = u8;

    fn next(&mut self) -> Option<u8> {
        let (&first, rest) = self.chars.split_first()?;
        self.chars = rest;
        Some(byte(first))
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        (self.chars.len(), Some(self.chars.len()))
    }
}

impl DoubleEndedIterator for CStringBytes<'_> {
    fn next_back(&mut self) -> Option<u8> {
        let (&last, rest) = self.chars.split_last()?;
        self.chars = rest;
        Some(byte(last))
    }
}

impl ExactSizeIterator for CStringBytes<'_> {}

impl FusedIterator for CStringBytes<'_> {}

impl PartialEq<[u8]> for CStringBytes<'_> {
    fn eq(&self, other: &[u8]) -> bool {
        self.eq_bytes(other)
    }
}

impl PartialEq<&[u8]> for CStringBytes<'_> {
    fn eq(&self, other: &&[u8]) -> bool {
        self.eq_bytes(other)
    }
}

impl<const N: usize> PartialEq<[u8; N]> for CStringBytes<'_> {
    fn eq(&self, other: &[u8; N]) -> bool {
        self.eq_bytes(other)
    }
}

impl<const N: usize> PartialEq<&[u8; N]> for CStringBytes<'_> {
    fn eq(&self, other: &&[u8; N]) -> bool {
        self.eq_bytes(*other)
    }
}

impl PartialEq<str> for CStringBytes<'_> {
    fn eq(&self, other: &str) -> bool {
        self.eq_bytes(other.as_bytes())
    }
}

impl PartialEq<&str> for CStringBytes<'_> {
    fn eq(&self, other: &&str) -> bool {
        self.eq_bytes(other.as_bytes())
    }
}

impl fmt::Display for CStringBytes<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.decode_lossy(|s| f.write_str(s))
    }
}

impl fmt::Debug for CStringBytes<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("\"")?;
        self.decode_lossy(|s| fmt::Display::fmt(&s.escape_debug(), f))?;
        f.write_str("\"")
    }
}

#[cfg(test)]
mod tests {
    extern crate std;
    use super::*;
    use std::format;
    use std::string::{String, ToString};
    use std::vec::Vec;

    fn bytes(buf: &[c_char]) -> Vec<u8> {
        buf.iter().map(|&c| byte(c)).collect()
    }

    fn chars(b: &[u8]) -> Vec<c_char> {
        b.iter().map(|&b| b as c_char).collect()
    }

    #[test]
    fn write_short_string_zero_fills() {
        let mut buf = [0x55 as c_char; 8];
        write_c_string(&mut buf, "abc");
        assert_eq!(bytes(&buf), b"abc\0\0\0\0\0");
        assert_eq!(c_string_bytes(&buf), "abc");
    }

    #[test]
    fn write_exact_fit_and_truncation() {
        let mut buf = [0x55 as c_char; 4];
        write_c_string(&mut buf, "abc");
        assert_eq!(bytes(&buf), b"abc\0");
        write_c_string(&mut buf, "abcd");
        assert_eq!(bytes(&buf), b"abc\0");
        write_c_string(&mut buf, "abcdefgh");
        assert_eq!(bytes(&buf), b"abc\0");
        write_c_string(&mut buf, "");
        assert_eq!(bytes(&buf), b"\0\0\0\0");
    }

    #[test]
    fn write_cuts_on_char_boundary() {
        // "é" is 2 bytes, "€" is 3 bytes, "𝄞" is 4 bytes.
        let mut buf = [0x55 as c_char; 4];
        write_c_string(&mut buf, "ab\u{e9}");
        assert_eq!(bytes(&buf), b"ab\0\0");
        write_c_string(&mut buf, "a\u{e9}");
        assert_eq!(bytes(&buf), "a\u{e9}\0".as_bytes());
        write_c_string(&mut buf, "\u{20ac}x");
        assert_eq!(bytes(&buf), "\u{20ac}\0".as_bytes());
        write_c_string(&mut buf, "a\u{20ac}");
        assert_eq!(bytes(&buf), b"a\0\0\0");
        write_c_string(&mut buf, "\u{1d11e}");
        assert_eq!(bytes(&buf), b"\0\0\0\0");
        let mut buf = [0x55 as c_char; 5];
        write_c_string(&mut buf, "\u{1d11e}");
        assert_eq!(bytes(&buf), "\u{1d11e}\0".as_bytes());
    }

    #[test]
    fn write_edge_buffers() {
        let mut empty: [c_char; 0] = [];
        write_c_string(&mut empty, "abc");
        let mut one = [0x55 as c_char; 1];
        write_c_string(&mut one, "abc");
        assert_eq!(bytes(&one), b"\0");
        let mut buf = [0x55 as c_char; 8];
        write_c_string(&mut buf, "ab\0cd");
        assert_eq!(bytes(&buf), b"ab\0\0\0\0\0\0");
    }

    #[test]
    fn write_full_asio_buffer() {
        let mut name = [0 as c_char; 32];
        let long = "x".repeat(40);
        write_c_string(&mut name, &long);
        assert_eq!(c_string_bytes(&name).len(), 31);
        assert_eq!(name[31], 0);
    }

    #[test]
    fn read_stops_at_nul_or_end() {
        let buf = chars(b"ab\0cd");
        let s = c_string_bytes(&buf);
        assert_eq!(s, b"ab");
        assert_eq!(s.len(), 2);
        assert_eq!(s.collect::<Vec<u8>>(), b"ab");
        let no_nul = chars(b"abc");
        assert_eq!(c_string_bytes(&no_nul), "abc");
        assert!(c_string_bytes(&chars(b"\0abc")).is_empty());
        assert!(c_string_bytes(&[]).is_empty());
        assert_eq!(c_string_bytes(&no_nul).rev().collect::<Vec<u8>>(), b"cba");
        assert_eq!(c_string_bytes(&no_nul).as_c_chars(), &no_nul[..]);
        let mut out = [0u8; 2];
        assert_eq!(c_string_bytes(&no_nul).copy_to(&mut out), b"ab");
        let mut out = [0u8; 8];
        assert_eq!(c_string_bytes(&no_nul).copy_to(&mut out), b"abc");
    }

    #[test]
    fn display_is_lossy_utf8() {
        let cases: [&[u8]; 8] = [
            b"",
            b"Speakers",
            "gr\u{fc}n \u{20ac} \u{1d11e}".as_bytes(),
            b"bad \xff byte",
            b"cut \xe2\x82",
            b"\xe2\x82x",
            b"\xf0\x9d\x84",
            b"\xc0\xaf\xed\xa0\x80z",
        ];
        for case in cases {
            let buf = chars(case);
            let expected = String::from_utf8_lossy(case).into_owned();
            assert_eq!(c_string_bytes(&buf).to_string(), expected);
            assert_eq!(
                format!("{:?}", c_string_bytes(&buf)),
                format!("{expected:?}")
            );
        }
    }

    #[test]
    fn display_across_chunk_boundaries() {
        // Multi-byte characters and invalid bytes at every offset around the 64-byte chunk.
        for pad in 0..70 {
            for tail in ["\u{e9}", "\u{20ac}", "\u{1d11e}"] {
                let mut s = "a".repeat(pad);
                s.push_str(tail);
                s.push_str(&"b".repeat(70));
                let buf = chars(s.as_bytes());
                assert_eq!(c_string_bytes(&buf).to_string(), s);
                let mut bad = s.as_bytes().to_vec();
                bad.truncate(pad + tail.len() - 1);
                let buf = chars(&bad);
                let expected = String::from_utf8_lossy(&bad).into_owned();
                assert_eq!(c_string_bytes(&buf).to_string(), expected);
                bad.push(b'z');
                let buf = chars(&bad);
                let expected = String::from_utf8_lossy(&bad).into_owned();
                assert_eq!(c_string_bytes(&buf).to_string(), expected);
            }
        }
    }
}
