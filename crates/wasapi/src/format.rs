//! The shared-mode mix format, parsed from the raw bytes of a `WAVEFORMATEX` /
//! `WAVEFORMATEXTENSIBLE` (portable, so that the parsing is tested everywhere), and its
//! mapping to the engine's [`DeviceFormat`].

use std::fmt;

use tenuto_engine::DeviceFormat;

use crate::channels::channel_names;

/// `WAVE_FORMAT_PCM`.
const TAG_PCM: u16 = 1;
/// `WAVE_FORMAT_IEEE_FLOAT`.
const TAG_FLOAT: u16 = 3;
/// `WAVE_FORMAT_EXTENSIBLE`.
const TAG_EXTENSIBLE: u16 = 0xFFFE;
/// Bytes 4..16 of every `KSDATAFORMAT_SUBTYPE_*` GUID derived from a format tag
/// (`xxxxxxxx-0000-0010-8000-00aa00389b71`, little-endian as stored).
const SUBTYPE_BASE: [u8; 12] = [
    0x00, 0x00, 0x10, 0x00, 0x80, 0x00, 0x00, 0xAA, 0x00, 0x38, 0x9B, 0x71,
];

/// A device's shared-mode mix format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct MixFormat {
    /// Frames per second.
    pub rate: u32,
    /// Channels per frame.
    pub channels: u16,
    /// Bits per sample container (`wBitsPerSample`).
    pub bits: u16,
    /// Bits that carry signal (`wValidBitsPerSample`; `bits` for a plain WAVEFORMATEX).
    pub valid_bits: u16,
    /// IEEE float samples (else integer PCM).
    pub float: bool,
    /// Speaker positions (`dwChannelMask`; 0 for a plain WAVEFORMATEX).
    pub channel_mask: u32,
}

impl MixFormat {
    /// Parses a `WAVEFORMATEX` (18 bytes + `cbSize`), extensible or not. `None` for a format
    /// that is neither PCM nor IEEE float, or for truncated bytes.
    pub fn parse(bytes: &[u8]) -> Option<Self> {
        let u16_at = |at: usize| -> Option<u16> {
            Some(u16::from_le_bytes(bytes.get(at..at + 2)?.try_into().ok()?))
        };
        let u32_at = |at: usize| -> Option<u32> {
            Some(u32::from_le_bytes(bytes.get(at..at + 4)?.try_into().ok()?))
        };
        let tag = u16_at(0)?;
        let channels = u16_at(2)?;
        let rate = u32_at(4)?;
        let bits = u16_at(14)?;
        let (float, valid_bits, channel_mask) = match tag {
            TAG_PCM => (false, bits, 0),
            TAG_FLOAT => (true, bits, 0),
            TAG_EXTENSIBLE => {
                if u16_at(16)? < 22 {
                    return None;
                }
                let valid = u16_at(18)?;
                let mask = u32_at(20)?;
                let sub = bytes.get(24..40)?;
                if sub.get(4..16)? != SUBTYPE_BASE || sub.get(2..4)? != [0, 0] {
                    return None;
                }
                let float = match u16::from_le_bytes([*sub.first()?, *sub.get(1)?]) {
                    TAG_PCM => false,
                    TAG_FLOAT => true,
                    _ => return None,
                };
                (float, if valid == 0 { bits } else { valid }, mask)
            }
            _ => return None,
        };
        Some(Self {
            rate,
            channels,
            bits,
            valid_bits,
            float,
            channel_mask,
        })
    }

    /// The engine's format for these frames: f32 for 32-bit float, else the integer container
    /// (16, packed 24, 32 — a 24-in-32 format is streamed as 32-bit). `None` for anything else
    /// (8-bit, 64-bit float…).
    pub fn device_format(&self) -> Option<DeviceFormat> {
        match (self.float, self.bits) {
            (true, 32) => Some(DeviceFormat::F32),
            (false, 16) => Some(DeviceFormat::I16),
            (false, 24) => Some(DeviceFormat::I24),
            (false, 32) => Some(DeviceFormat::I32),
            _ => None,
        }
    }

    /// Bytes per interleaved frame.
    pub fn frame_bytes(&self) -> usize {
        usize::from(self.channels) * usize::from(self.bits / 8)
    }

    /// The name of each channel, from the channel mask.
    pub fn channel_names(&self) -> Vec<String> {
        channel_names(self.channel_mask, usize::from(self.channels))
    }

    /// Rate, sample type and channel count only — what must match between render and capture.
    pub fn sample_description(&self) -> String {
        format!("{} Hz {}", self.rate, self.sample_type())
    }

    fn sample_type(&self) -> String {
        match (self.float, self.bits == self.valid_bits) {
            (true, _) => format!("{}-bit float", self.bits),
            (false, true) => format!("{}-bit", self.bits),
            (false, false) => format!("{}-in-{}-bit", self.valid_bits, self.bits),
        }
    }
}

impl MixFormat {
    /// The same channels and speaker mask with another rate and sample type (what exclusive
    /// mode asks the device for).
    pub fn with_sample(&self, rate: u32, sample: ExclusiveSample) -> Self {
        let (float, bits, valid_bits) = sample.layout();
        Self {
            rate,
            bits,
            valid_bits,
            float,
            ..*self
        }
    }

    /// This format as the bytes of a `WAVEFORMATEXTENSIBLE` (40 bytes), the form exclusive
    /// mode wants it in. A zero channel mask stays zero (Windows then assigns speakers).
    pub fn extensible_bytes(&self) -> Vec<u8> {
        let block_align = self.channels.saturating_mul(self.bits / 8);
        let mut b = Vec::with_capacity(40);
        b.extend_from_slice(&TAG_EXTENSIBLE.to_le_bytes());
        b.extend_from_slice(&self.channels.to_le_bytes());
        b.extend_from_slice(&self.rate.to_le_bytes());
        b.extend_from_slice(
            &self
                .rate
                .saturating_mul(u32::from(block_align))
                .to_le_bytes(),
        );
        b.extend_from_slice(&block_align.to_le_bytes());
        b.extend_from_slice(&self.bits.to_le_bytes());
        b.extend_from_slice(&22u16.to_le_bytes());
        b.extend_from_slice(&self.valid_bits.to_le_bytes());
        b.extend_from_slice(&self.channel_mask.to_le_bytes());
        let tag = if self.float { TAG_FLOAT } else { TAG_PCM };
        b.extend_from_slice(&u32::from(tag).to_le_bytes());
        b.extend_from_slice(&SUBTYPE_BASE);
        b
    }
}

/// The sample types exclusive mode tries, best first: the device keeps the most resolution
/// with the first one it accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExclusiveSample {
    /// 32-bit float.
    F32,
    /// 32-bit integer, all bits valid.
    I32,
    /// 24 valid bits in a 32-bit container (streamed as 32-bit).
    I24In32,
    /// Packed 24-bit integer.
    I24,
    /// 16-bit integer.
    I16,
}

impl ExclusiveSample {
    /// Every type, in the order they are tried.
    pub const PREFERENCE: [ExclusiveSample; 5] = [
        ExclusiveSample::F32,
        ExclusiveSample::I32,
        ExclusiveSample::I24In32,
        ExclusiveSample::I24,
        ExclusiveSample::I16,
    ];

    /// (float, container bits, valid bits).
    fn layout(self) -> (bool, u16, u16) {
        match self {
            ExclusiveSample::F32 => (true, 32, 32),
            ExclusiveSample::I32 => (false, 32, 32),
            ExclusiveSample::I24In32 => (false, 32, 24),
            ExclusiveSample::I24 => (false, 24, 24),
            ExclusiveSample::I16 => (false, 16, 16),
        }
    }
}

/// Rates exclusive mode asks a device about, Hz.
pub const EXCLUSIVE_RATES: [u32; 6] = [44_100, 48_000, 88_200, 96_000, 176_400, 192_000];

impl fmt::Display for MixFormat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} Hz, {} ch, {}, mask 0x{:x}",
            self.rate,
            self.channels,
            self.sample_type(),
            self.channel_mask
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn extensible(sub_tag: u16, bits: u16, valid: u16, mask: u32, channels: u16) -> Vec<u8> {
        let mut b = Vec::new();
        b.extend_from_slice(&TAG_EXTENSIBLE.to_le_bytes());
        b.extend_from_slice(&channels.to_le_bytes());
        b.extend_from_slice(&48_000u32.to_le_bytes());
        let align = channels * bits / 8;
        b.extend_from_slice(&(48_000 * u32::from(align)).to_le_bytes());
        b.extend_from_slice(&align.to_le_bytes());
        b.extend_from_slice(&bits.to_le_bytes());
        b.extend_from_slice(&22u16.to_le_bytes());
        b.extend_from_slice(&valid.to_le_bytes());
        b.extend_from_slice(&mask.to_le_bytes());
        b.extend_from_slice(&u32::from(sub_tag).to_le_bytes());
        b.extend_from_slice(&SUBTYPE_BASE);
        b
    }

    #[test]
    fn the_usual_float_stereo_mix_format() {
        let f = MixFormat::parse(&extensible(TAG_FLOAT, 32, 32, 0x3, 2)).unwrap();
        assert_eq!(
            f,
            MixFormat {
                rate: 48_000,
                channels: 2,
                bits: 32,
                valid_bits: 32,
                float: true,
                channel_mask: 3
            }
        );
        assert_eq!(f.device_format(), Some(DeviceFormat::F32));
        assert_eq!(f.frame_bytes(), 8);
        assert_eq!(f.to_string(), "48000 Hz, 2 ch, 32-bit float, mask 0x3");
        assert_eq!(f.channel_names(), ["Front Left", "Front Right"]);
    }

    #[test]
    fn integer_formats_map_to_their_containers() {
        let f = MixFormat::parse(&extensible(TAG_PCM, 32, 24, 0x3F, 6)).unwrap();
        assert_eq!(f.device_format(), Some(DeviceFormat::I32));
        assert_eq!(f.to_string(), "48000 Hz, 6 ch, 24-in-32-bit, mask 0x3f");
        let f = MixFormat::parse(&extensible(TAG_PCM, 24, 24, 0x3, 2)).unwrap();
        assert_eq!(f.device_format(), Some(DeviceFormat::I24));
        let f = MixFormat::parse(&extensible(TAG_PCM, 8, 8, 0x3, 2)).unwrap();
        assert_eq!(f.device_format(), None);
    }

    #[test]
    fn plain_waveformatex() {
        let mut b = extensible(TAG_PCM, 16, 16, 0, 2);
        b.truncate(18);
        b[0..2].copy_from_slice(&TAG_PCM.to_le_bytes());
        b[16..18].copy_from_slice(&0u16.to_le_bytes());
        let f = MixFormat::parse(&b).unwrap();
        assert!(!f.float);
        assert_eq!((f.bits, f.valid_bits, f.channel_mask), (16, 16, 0));
        assert_eq!(f.device_format(), Some(DeviceFormat::I16));
    }

    #[test]
    fn exclusive_formats_are_built_as_waveformatextensible_and_parse_back() {
        let mix = MixFormat::parse(&extensible(TAG_FLOAT, 32, 32, 0x3F, 6)).unwrap();
        for sample in ExclusiveSample::PREFERENCE {
            let want = mix.with_sample(96_000, sample);
            let bytes = want.extensible_bytes();
            assert_eq!(bytes.len(), 40);
            assert_eq!(MixFormat::parse(&bytes), Some(want), "{sample:?}");
            assert_eq!(want.channel_mask, 0x3F);
            assert_eq!(want.rate, 96_000);
            assert!(want.device_format().is_some(), "{sample:?} streams");
        }
        let i24 = mix.with_sample(44_100, ExclusiveSample::I24In32);
        assert_eq!(i24.device_format(), Some(DeviceFormat::I32));
        assert_eq!(i24.frame_bytes(), 24);
        let b = i24.extensible_bytes();
        // nAvgBytesPerSec and nBlockAlign.
        assert_eq!(
            u32::from_le_bytes(b[8..12].try_into().unwrap()),
            44_100 * 24
        );
        assert_eq!(u16::from_le_bytes([b[12], b[13]]), 24);
        // The same bytes the test helper builds for a 48 kHz float format.
        assert_eq!(
            mix.with_sample(48_000, ExclusiveSample::F32)
                .extensible_bytes(),
            extensible(TAG_FLOAT, 32, 32, 0x3F, 6)
        );
    }

    #[test]
    fn truncated_or_foreign_formats_are_refused() {
        let b = extensible(TAG_FLOAT, 32, 32, 0x3, 2);
        assert_eq!(MixFormat::parse(&b[..30]), None);
        assert_eq!(MixFormat::parse(&b[..10]), None);
        let mut odd = b.clone();
        odd[30] = 0x42; // not the KSDATAFORMAT base GUID
        assert_eq!(MixFormat::parse(&odd), None);
        let mut adpcm = b;
        adpcm[0..2].copy_from_slice(&2u16.to_le_bytes());
        assert_eq!(MixFormat::parse(&adpcm), None);
    }
}
