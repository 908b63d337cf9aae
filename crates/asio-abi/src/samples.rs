//! Sample formats.

use core::fmt;

/// Raw sample-format code found in [`AsioChannelInfo::sample_type`](crate::AsioChannelInfo).
pub type AsioSampleType = i32;

/// 16-bit big-endian integer.
pub const ASIO_ST_INT16_MSB: AsioSampleType = 0;
/// 24-bit big-endian integer packed in 3 bytes.
pub const ASIO_ST_INT24_MSB: AsioSampleType = 1;
/// 32-bit big-endian integer.
pub const ASIO_ST_INT32_MSB: AsioSampleType = 2;
/// 32-bit big-endian IEEE float.
pub const ASIO_ST_FLOAT32_MSB: AsioSampleType = 3;
/// 64-bit big-endian IEEE float.
pub const ASIO_ST_FLOAT64_MSB: AsioSampleType = 4;
/// 16 valid bits right-aligned in a 32-bit big-endian word.
pub const ASIO_ST_INT32_MSB16: AsioSampleType = 8;
/// 18 valid bits right-aligned in a 32-bit big-endian word.
pub const ASIO_ST_INT32_MSB18: AsioSampleType = 9;
/// 20 valid bits right-aligned in a 32-bit big-endian word.
pub const ASIO_ST_INT32_MSB20: AsioSampleType = 10;
/// 24 valid bits right-aligned in a 32-bit big-endian word.
pub const ASIO_ST_INT32_MSB24: AsioSampleType = 11;
/// 16-bit little-endian integer.
pub const ASIO_ST_INT16_LSB: AsioSampleType = 16;
/// 24-bit little-endian integer packed in 3 bytes.
pub const ASIO_ST_INT24_LSB: AsioSampleType = 17;
/// 32-bit little-endian integer.
pub const ASIO_ST_INT32_LSB: AsioSampleType = 18;
/// 32-bit little-endian IEEE float.
pub const ASIO_ST_FLOAT32_LSB: AsioSampleType = 19;
/// 64-bit little-endian IEEE float.
pub const ASIO_ST_FLOAT64_LSB: AsioSampleType = 20;
/// 16 valid bits right-aligned in a 32-bit little-endian word.
pub const ASIO_ST_INT32_LSB16: AsioSampleType = 24;
/// 18 valid bits right-aligned in a 32-bit little-endian word.
pub const ASIO_ST_INT32_LSB18: AsioSampleType = 25;
/// 20 valid bits right-aligned in a 32-bit little-endian word.
pub const ASIO_ST_INT32_LSB20: AsioSampleType = 26;
/// 24 valid bits right-aligned in a 32-bit little-endian word.
pub const ASIO_ST_INT32_LSB24: AsioSampleType = 27;
/// 1-bit DSD, 8 samples per byte, first sample in the least significant bit.
pub const ASIO_ST_DSD_INT8_LSB1: AsioSampleType = 32;
/// 1-bit DSD, 8 samples per byte, first sample in the most significant bit.
pub const ASIO_ST_DSD_INT8_MSB1: AsioSampleType = 33;
/// DSD carried as one 8-bit value per byte (no bit packing).
pub const ASIO_ST_DSD_INT8_NER8: AsioSampleType = 40;

/// A known ASIO sample format, the typed form of [`AsioSampleType`].
///
/// The discriminants equal the raw codes, so [`SampleType::to_raw`] is a plain cast.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
#[repr(i32)]
pub enum SampleType {
    /// 16-bit big-endian integer.
    Int16Msb = ASIO_ST_INT16_MSB,
    /// 24-bit big-endian integer packed in 3 bytes.
    Int24Msb = ASIO_ST_INT24_MSB,
    /// 32-bit big-endian integer.
    Int32Msb = ASIO_ST_INT32_MSB,
    /// 32-bit big-endian IEEE float.
    Float32Msb = ASIO_ST_FLOAT32_MSB,
    /// 64-bit big-endian IEEE float.
    Float64Msb = ASIO_ST_FLOAT64_MSB,
    /// 16 valid bits right-aligned in a 32-bit big-endian word.
    Int32Msb16 = ASIO_ST_INT32_MSB16,
    /// 18 valid bits right-aligned in a 32-bit big-endian word.
    Int32Msb18 = ASIO_ST_INT32_MSB18,
    /// 20 valid bits right-aligned in a 32-bit big-endian word.
    Int32Msb20 = ASIO_ST_INT32_MSB20,
    /// 24 valid bits right-aligned in a 32-bit big-endian word.
    Int32Msb24 = ASIO_ST_INT32_MSB24,
    /// 16-bit little-endian integer.
    Int16Lsb = ASIO_ST_INT16_LSB,
    /// 24-bit little-endian integer packed in 3 bytes.
    Int24Lsb = ASIO_ST_INT24_LSB,
    /// 32-bit little-endian integer.
    Int32Lsb = ASIO_ST_INT32_LSB,
    /// 32-bit little-endian IEEE float.
    Float32Lsb = ASIO_ST_FLOAT32_LSB,
    /// 64-bit little-endian IEEE float.
    Float64Lsb = ASIO_ST_FLOAT64_LSB,
    /// 16 valid bits right-aligned in a 32-bit little-endian word.
    Int32Lsb16 = ASIO_ST_INT32_LSB16,
    /// 18 valid bits right-aligned in a 32-bit little-endian word.
    Int32Lsb18 = ASIO_ST_INT32_LSB18,
    /// 20 valid bits right-aligned in a 32-bit little-endian word.
    Int32Lsb20 = ASIO_ST_INT32_LSB20,
    /// 24 valid bits right-aligned in a 32-bit little-endian word.
    Int32Lsb24 = ASIO_ST_INT32_LSB24,
    /// 1-bit DSD, 8 samples per byte, first sample in the least significant bit.
    DsdInt8Lsb1 = ASIO_ST_DSD_INT8_LSB1,
    /// 1-bit DSD, 8 samples per byte, first sample in the most significant bit.
    DsdInt8Msb1 = ASIO_ST_DSD_INT8_MSB1,
    /// DSD carried as one 8-bit value per byte (no bit packing).
    DsdInt8Ner8 = ASIO_ST_DSD_INT8_NER8,
}

impl SampleType {
    /// Every known sample format, in ascending order of raw code.
    pub const ALL: [SampleType; 21] = [
        Self::Int16Msb,
        Self::Int24Msb,
        Self::Int32Msb,
        Self::Float32Msb,
        Self::Float64Msb,
        Self::Int32Msb16,
        Self::Int32Msb18,
        Self::Int32Msb20,
        Self::Int32Msb24,
        Self::Int16Lsb,
        Self::Int24Lsb,
        Self::Int32Lsb,
        Self::Float32Lsb,
        Self::Float64Lsb,
        Self::Int32Lsb16,
        Self::Int32Lsb18,
        Self::Int32Lsb20,
        Self::Int32Lsb24,
        Self::DsdInt8Lsb1,
        Self::DsdInt8Msb1,
        Self::DsdInt8Ner8,
    ];

    /// Converts a raw code into a known format, or `None` if the code is unknown.
    pub const fn from_raw(v: AsioSampleType) -> Option<Self> {
        Some(match v {
            ASIO_ST_INT16_MSB => Self::Int16Msb,
            ASIO_ST_INT24_MSB => Self::Int24Msb,
            ASIO_ST_INT32_MSB => Self::Int32Msb,
            ASIO_ST_FLOAT32_MSB => Self::Float32Msb,
            ASIO_ST_FLOAT64_MSB => Self::Float64Msb,
            ASIO_ST_INT32_MSB16 => Self::Int32Msb16,
            ASIO_ST_INT32_MSB18 => Self::Int32Msb18,
            ASIO_ST_INT32_MSB20 => Self::Int32Msb20,
            ASIO_ST_INT32_MSB24 => Self::Int32Msb24,
            ASIO_ST_INT16_LSB => Self::Int16Lsb,
            ASIO_ST_INT24_LSB => Self::Int24Lsb,
            ASIO_ST_INT32_LSB => Self::Int32Lsb,
            ASIO_ST_FLOAT32_LSB => Self::Float32Lsb,
            ASIO_ST_FLOAT64_LSB => Self::Float64Lsb,
            ASIO_ST_INT32_LSB16 => Self::Int32Lsb16,
            ASIO_ST_INT32_LSB18 => Self::Int32Lsb18,
            ASIO_ST_INT32_LSB20 => Self::Int32Lsb20,
            ASIO_ST_INT32_LSB24 => Self::Int32Lsb24,
            ASIO_ST_DSD_INT8_LSB1 => Self::DsdInt8Lsb1,
            ASIO_ST_DSD_INT8_MSB1 => Self::DsdInt8Msb1,
            ASIO_ST_DSD_INT8_NER8 => Self::DsdInt8Ner8,
            _ => return None,
        })
    }

    /// Returns the raw code of this format.
    pub const fn to_raw(self) -> AsioSampleType {
        self as AsioSampleType
    }

    /// Tells whether this is a multi-byte little-endian PCM format (raw codes 16–27).
    ///
    /// DSD formats are single bytes and count as neither little- nor big-endian.
    pub const fn is_little_endian(self) -> bool {
        let raw = self.to_raw();
        raw >= ASIO_ST_INT16_LSB && raw <= ASIO_ST_INT32_LSB24
    }

    /// Tells whether this is a big-endian PCM format (raw codes 0–11).
    ///
    /// DSD formats are single bytes and count as neither little- nor big-endian.
    pub const fn is_big_endian(self) -> bool {
        let raw = self.to_raw();
        raw >= ASIO_ST_INT16_MSB && raw <= ASIO_ST_INT32_MSB24
    }

    /// Tells whether this is one of the DSD (1-bit) formats.
    pub const fn is_dsd(self) -> bool {
        matches!(
            self,
            Self::DsdInt8Lsb1 | Self::DsdInt8Msb1 | Self::DsdInt8Ner8
        )
    }

    /// Tells whether this is an IEEE floating-point format.
    pub const fn is_float(self) -> bool {
        matches!(
            self,
            Self::Float32Msb | Self::Float64Msb | Self::Float32Lsb | Self::Float64Lsb
        )
    }

    /// Returns how many bytes one sample of one channel occupies in a buffer (1 for DSD,
    /// where a byte carries several 1-bit samples).
    pub const fn bytes_per_sample(self) -> usize {
        match self {
            Self::Int16Msb | Self::Int16Lsb => 2,
            Self::Int24Msb | Self::Int24Lsb => 3,
            Self::Float64Msb | Self::Float64Lsb => 8,
            Self::DsdInt8Lsb1 | Self::DsdInt8Msb1 | Self::DsdInt8Ner8 => 1,
            Self::Int32Msb
            | Self::Float32Msb
            | Self::Int32Msb16
            | Self::Int32Msb18
            | Self::Int32Msb20
            | Self::Int32Msb24
            | Self::Int32Lsb
            | Self::Float32Lsb
            | Self::Int32Lsb16
            | Self::Int32Lsb18
            | Self::Int32Lsb20
            | Self::Int32Lsb24 => 4,
        }
    }

    /// Returns the conventional name of the format, such as `"Int16LSB"`, `"Float32MSB"` or
    /// `"DSDInt8LSB1"`.
    pub const fn name(self) -> &'static str {
        match self {
            Self::Int16Msb => "Int16MSB",
            Self::Int24Msb => "Int24MSB",
            Self::Int32Msb => "Int32MSB",
            Self::Float32Msb => "Float32MSB",
            Self::Float64Msb => "Float64MSB",
            Self::Int32Msb16 => "Int32MSB16",
            Self::Int32Msb18 => "Int32MSB18",
            Self::Int32Msb20 => "Int32MSB20",
            Self::Int32Msb24 => "Int32MSB24",
            Self::Int16Lsb => "Int16LSB",
            Self::Int24Lsb => "Int24LSB",
            Self::Int32Lsb => "Int32LSB",
            Self::Float32Lsb => "Float32LSB",
            Self::Float64Lsb => "Float64LSB",
            Self::Int32Lsb16 => "Int32LSB16",
            Self::Int32Lsb18 => "Int32LSB18",
            Self::Int32Lsb20 => "Int32LSB20",
            Self::Int32Lsb24 => "Int32LSB24",
            Self::DsdInt8Lsb1 => "DSDInt8LSB1",
            Self::DsdInt8Msb1 => "DSDInt8MSB1",
            Self::DsdInt8Ner8 => "DSDInt8NER8",
        }
    }
}

impl fmt::Display for SampleType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl From<SampleType> for AsioSampleType {
    fn from(t: SampleType) -> Self {
        t.to_raw()
    }
}

/// Error returned when converting a raw code that names no known sample format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct UnknownSampleType(pub i32);

impl fmt::Display for UnknownSampleType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "unknown ASIO sample type {}", self.0)
    }
}

impl TryFrom<AsioSampleType> for SampleType {
    type Error = UnknownSampleType;

    fn try_from(v: AsioSampleType) -> Result<Self, Self::Error> {
        Self::from_raw(v).ok_or(UnknownSampleType(v))
    }
}

#[cfg(test)]
mod tests {
    extern crate std;
    use super::*;
    use std::string::ToString;

    #[test]
    fn raw_round_trip_for_all() {
        let mut prev = -1;
        for t in SampleType::ALL {
            let raw = t.to_raw();
            assert!(raw > prev, "ALL must be sorted and unique");
            prev = raw;
            assert_eq!(SampleType::from_raw(raw), Some(t));
            assert_eq!(SampleType::try_from(raw), Ok(t));
            assert_eq!(AsioSampleType::from(t), raw);
        }
    }

    #[test]
    fn raw_codes_match_constants() {
        let expected = [
            0, 1, 2, 3, 4, 8, 9, 10, 11, 16, 17, 18, 19, 20, 24, 25, 26, 27, 32, 33, 40,
        ];
        let got = SampleType::ALL.map(SampleType::to_raw);
        assert_eq!(got, expected);
    }

    #[test]
    fn unknown_codes() {
        let unknown = [
            5,
            6,
            7,
            12,
            13,
            14,
            15,
            21,
            22,
            23,
            28,
            29,
            30,
            31,
            34,
            35,
            39,
            41,
            -1,
            64,
            i32::MIN,
            i32::MAX,
        ];
        for v in unknown {
            assert_eq!(SampleType::from_raw(v), None, "{v}");
            assert_eq!(SampleType::try_from(v), Err(UnknownSampleType(v)));
        }
        assert_eq!(
            UnknownSampleType(5).to_string(),
            "unknown ASIO sample type 5"
        );
        // Exhaustive over the interesting range: exactly 21 known codes.
        assert_eq!(
            (-100..200)
                .filter(|&v| SampleType::from_raw(v).is_some())
                .count(),
            21
        );
    }

    #[test]
    fn sizes() {
        use SampleType::*;
        for (t, n) in [
            (Int16Msb, 2),
            (Int24Msb, 3),
            (Int32Msb, 4),
            (Float32Msb, 4),
            (Float64Msb, 8),
            (Int32Msb16, 4),
            (Int32Msb18, 4),
            (Int32Msb20, 4),
            (Int32Msb24, 4),
            (Int16Lsb, 2),
            (Int24Lsb, 3),
            (Int32Lsb, 4),
            (Float32Lsb, 4),
            (Float64Lsb, 8),
            (Int32Lsb16, 4),
            (Int32Lsb18, 4),
            (Int32Lsb20, 4),
            (Int32Lsb24, 4),
            (DsdInt8Lsb1, 1),
            (DsdInt8Msb1, 1),
            (DsdInt8Ner8, 1),
        ] {
            assert_eq!(t.bytes_per_sample(), n, "{t}");
        }
    }

    #[test]
    fn classification_and_names() {
        for t in SampleType::ALL {
            let kinds = [t.is_little_endian(), t.is_big_endian(), t.is_dsd()];
            assert_eq!(kinds.iter().filter(|&&k| k).count(), 1, "{t}");
            assert_eq!(
                t.is_little_endian(),
                t.name().contains("LSB") && !t.is_dsd()
            );
            assert_eq!(t.is_big_endian(), t.name().contains("MSB") && !t.is_dsd());
            assert_eq!(t.is_dsd(), t.name().starts_with("DSD"));
            assert_eq!(t.is_float(), t.name().starts_with("Float"));
            assert_eq!(t.to_string(), t.name());
        }
        assert_eq!(SampleType::Int16Lsb.name(), "Int16LSB");
        assert_eq!(SampleType::Float32Msb.name(), "Float32MSB");
        assert_eq!(SampleType::DsdInt8Lsb1.name(), "DSDInt8LSB1");
        assert_eq!(SampleType::Int32Lsb24.name(), "Int32LSB24");
    }
}
