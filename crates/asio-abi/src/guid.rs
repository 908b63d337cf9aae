//! COM GUIDs (class and interface identifiers).

use core::fmt;

/// A COM GUID in its in-memory layout, used for CLSIDs and IIDs.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Guid {
    /// First group: 32 bits.
    pub data1: u32,
    /// Second group: 16 bits.
    pub data2: u16,
    /// Third group: 16 bits.
    pub data3: u16,
    /// Last two groups: 8 bytes, in the order they are written.
    pub data4: [u8; 8],
}

const fn hex_digit(c: u8) -> Option<u8> {
    match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        b'A'..=b'F' => Some(c - b'A' + 10),
        _ => None,
    }
}

impl Guid {
    /// Builds a GUID from the 128-bit number its registry form spells, so
    /// `Guid::from_u128(0x00000000_0000_0000_c000_000000000046)` is
    /// `{00000000-0000-0000-C000-000000000046}`.
    pub const fn from_u128(v: u128) -> Guid {
        let b = v.to_be_bytes();
        Guid {
            data1: (v >> 96) as u32,
            data2: (v >> 80) as u16,
            data3: (v >> 64) as u16,
            data4: [b[8], b[9], b[10], b[11], b[12], b[13], b[14], b[15]],
        }
    }

    /// Returns the 128-bit number this GUID's registry form spells (inverse of
    /// [`Guid::from_u128`]).
    pub const fn to_u128(self) -> u128 {
        ((self.data1 as u128) << 96)
            | ((self.data2 as u128) << 80)
            | ((self.data3 as u128) << 64)
            | u64::from_be_bytes(self.data4) as u128
    }

    /// Parses the registry form `{XXXXXXXX-XXXX-XXXX-XXXX-XXXXXXXXXXXX}` (hex digits in
    /// either case; the braces may be omitted), returning `None` for anything else.
    ///
    /// It is a `const fn`, so CLSIDs can be written as constants.
    pub const fn parse(s: &str) -> Option<Guid> {
        let b = s.as_bytes();
        let start = match b.len() {
            38 if b[0] == b'{' && b[37] == b'}' => 1,
            36 => 0,
            _ => return None,
        };
        let mut v: u128 = 0;
        let mut i = 0;
        while i < 36 {
            let c = b[start + i];
            if i == 8 || i == 13 || i == 18 || i == 23 {
                if c != b'-' {
                    return None;
                }
            } else {
                match hex_digit(c) {
                    Some(d) => v = (v << 4) | d as u128,
                    None => return None,
                }
            }
            i += 1;
        }
        Some(Guid::from_u128(v))
    }
}

impl fmt::Display for Guid {
    /// Formats the GUID in registry form, upper case and with braces.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let d = &self.data4;
        write!(
            f,
            "{{{:08X}-{:04X}-{:04X}-{:02X}{:02X}-{:02X}{:02X}{:02X}{:02X}{:02X}{:02X}}}",
            self.data1, self.data2, self.data3, d[0], d[1], d[2], d[3], d[4], d[5], d[6], d[7]
        )
    }
}

#[cfg(test)]
mod tests {
    extern crate std;
    use super::*;
    use crate::IID_IUNKNOWN;
    use std::string::ToString;

    #[test]
    fn iunknown() {
        assert_eq!(
            IID_IUNKNOWN,
            Guid {
                data1: 0,
                data2: 0,
                data3: 0,
                data4: [0xc0, 0, 0, 0, 0, 0, 0, 0x46]
            }
        );
        assert_eq!(
            IID_IUNKNOWN.to_string(),
            "{00000000-0000-0000-C000-000000000046}"
        );
    }

    #[test]
    fn display_parse_round_trip() {
        let g = Guid::from_u128(0x1234_5678_9abc_def0_0fed_cba9_8765_4321);
        assert_eq!(
            g,
            Guid {
                data1: 0x1234_5678,
                data2: 0x9abc,
                data3: 0xdef0,
                data4: [0x0f, 0xed, 0xcb, 0xa9, 0x87, 0x65, 0x43, 0x21]
            }
        );
        let s = g.to_string();
        assert_eq!(s, "{12345678-9ABC-DEF0-0FED-CBA987654321}");
        assert_eq!(Guid::parse(&s), Some(g));
        assert_eq!(Guid::parse(&s.to_lowercase()), Some(g));
        assert_eq!(Guid::parse(&s[1..37]), Some(g));
        assert_eq!(g.to_u128(), 0x1234_5678_9abc_def0_0fed_cba9_8765_4321);
        for v in [0, 1, u128::MAX, 1 << 64, 1 << 127, 0xdead_beef << 40] {
            let g = Guid::from_u128(v);
            assert_eq!(g.to_u128(), v);
            assert_eq!(Guid::parse(&g.to_string()), Some(g));
        }
    }

    #[test]
    fn parse_rejects_bad_input() {
        for s in [
            "",
            "{}",
            "{12345678-9ABC-DEF0-0FED-CBA98765432}",
            "{12345678-9ABC-DEF0-0FED-CBA9876543210}",
            "{12345678-9ABC-DEF0-0FED-CBA98765432G}",
            "{12345678-9ABC-DEF0-0FEDXCBA987654321}",
            "{12345678_9ABC-DEF0-0FED-CBA987654321}",
            "(12345678-9ABC-DEF0-0FED-CBA987654321)",
            "{12345678-9ABC-DEF0-0FED-CBA987654321",
            "12345678-9ABC-DEF0-0FED-CBA987654321}",
            "{+2345678-9ABC-DEF0-0FED-CBA987654321}",
            "{1234567é-9ABC-DEF0-0FED-CBA98765432}",
        ] {
            assert_eq!(Guid::parse(s), None, "{s}");
        }
    }

    #[test]
    fn parse_in_const_context() {
        const G: Guid = match Guid::parse("{00000000-0000-0000-C000-000000000046}") {
            Some(g) => g,
            None => panic!("bad GUID"),
        };
        assert_eq!(G, IID_IUNKNOWN);
    }
}
