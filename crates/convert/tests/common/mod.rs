//! Test oracle: an independent, deliberately simple model of the numeric rules.
//!
//! It decodes a sample to its exact value as an `f64` (exact for every format involved)
//! and encodes with `f64::round_ties_even` and `clamp`; the crate itself uses a different
//! rounding technique and integer clamps, so agreement is meaningful. Integer-only paths are
//! additionally checked against pure `i64` arithmetic ([`int_to_int`]).

#![allow(dead_code)]

use tenuto_convert::{DeviceFormat, HostFormat};

/// How a format stores one sample.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// An `bits`-bit integer in a `bytes`-byte little-endian container (sign-extended).
    Int {
        bits: u32,
        bytes: usize,
    },
    F32,
    F64,
}

impl Kind {
    pub fn bytes(self) -> usize {
        match self {
            Kind::Int { bytes, .. } => bytes,
            Kind::F32 => 4,
            Kind::F64 => 8,
        }
    }

    /// Smallest and largest integer, for integer kinds.
    pub fn range(self) -> (i64, i64) {
        match self {
            Kind::Int { bits, .. } => (-(1i64 << (bits - 1)), (1i64 << (bits - 1)) - 1),
            _ => panic!("not an integer kind"),
        }
    }
}

pub fn dev_kind(f: DeviceFormat) -> Kind {
    match f {
        DeviceFormat::F32 => Kind::F32,
        DeviceFormat::I16 => Kind::Int { bits: 16, bytes: 2 },
        DeviceFormat::I24 => Kind::Int { bits: 24, bytes: 3 },
        DeviceFormat::I32 => Kind::Int { bits: 32, bytes: 4 },
    }
}

pub fn host_kind(f: HostFormat) -> Kind {
    match f {
        HostFormat::Int16Lsb => Kind::Int { bits: 16, bytes: 2 },
        HostFormat::Int24Lsb => Kind::Int { bits: 24, bytes: 3 },
        HostFormat::Int32Lsb => Kind::Int { bits: 32, bytes: 4 },
        HostFormat::Int32Lsb16 => Kind::Int { bits: 16, bytes: 4 },
        HostFormat::Int32Lsb18 => Kind::Int { bits: 18, bytes: 4 },
        HostFormat::Int32Lsb20 => Kind::Int { bits: 20, bytes: 4 },
        HostFormat::Int32Lsb24 => Kind::Int { bits: 24, bytes: 4 },
        HostFormat::Float32Lsb => Kind::F32,
        HostFormat::Float64Lsb => Kind::F64,
    }
}

/// Reads a little-endian two's-complement integer of `bytes.len()` bytes.
pub fn read_container(bytes: &[u8]) -> i64 {
    let mut v: i64 = 0;
    for (i, b) in bytes.iter().enumerate() {
        v |= i64::from(*b) << (8 * i);
    }
    let width = 8 * bytes.len() as u32;
    // Sign-extend from `width` bits.
    (v << (64 - width)) >> (64 - width)
}

/// Writes the low `n` bytes of `v`, little-endian.
pub fn write_container(v: i64, n: usize) -> Vec<u8> {
    (0..n).map(|i| (v >> (8 * i)) as u8).collect()
}

/// The integer a sample of kind `k` holds, after the N-bit clip on read.
pub fn read_int(k: Kind, bytes: &[u8]) -> i64 {
    let (lo, hi) = k.range();
    read_container(bytes).clamp(lo, hi)
}

/// Exact value of one sample (normalised: integers divided by 2^(N-1)).
pub fn value_of(k: Kind, bytes: &[u8]) -> f64 {
    match k {
        Kind::Int { bits, .. } => read_int(k, bytes) as f64 / (1u64 << (bits - 1)) as f64,
        Kind::F32 => f64::from(f32::from_le_bytes(bytes.try_into().unwrap())),
        Kind::F64 => f64::from_le_bytes(bytes.try_into().unwrap()),
    }
}

/// The integer the rules say a value becomes in an N-bit format.
pub fn quantize_oracle(k: Kind, x: f64) -> i64 {
    let Kind::Int { bits, .. } = k else {
        panic!("not an integer kind")
    };
    if x.is_nan() {
        return 0;
    }
    let (lo, hi) = k.range();
    let y = (x * (1u64 << (bits - 1)) as f64).round_ties_even();
    y.clamp(lo as f64, hi as f64) as i64
}

/// The bytes the rules say a value becomes in kind `k`.
pub fn encode_oracle(k: Kind, x: f64) -> Vec<u8> {
    match k {
        Kind::Int { bytes, .. } => write_container(quantize_oracle(k, x), bytes),
        Kind::F32 => (x as f32).to_le_bytes().to_vec(),
        Kind::F64 => x.to_le_bytes().to_vec(),
    }
}

/// Expected result of converting one sample from `src` kind to `dst` kind.
pub fn convert_oracle(src: Kind, dst: Kind, bytes: &[u8]) -> Vec<u8> {
    if src == dst {
        // Same layout: a copy (this is also what the rules give for every non-NaN value,
        // and it keeps NaN payloads).
        return bytes.to_vec();
    }
    encode_oracle(dst, value_of(src, bytes))
}

/// Integer-only model of an integer → integer conversion: exact left shift when widening,
/// round half to even on the dropped bits and clip when narrowing.
pub fn int_to_int(v: i64, from_bits: u32, to_bits: u32) -> i64 {
    let max = (1i64 << (to_bits - 1)) - 1;
    if to_bits >= from_bits {
        v << (to_bits - from_bits)
    } else {
        let s = to_bits.abs_diff(from_bits);
        let q = v >> s; // floor
        let rem = v - (q << s); // 0 <= rem < 2^s
        let half = 1i64 << (s - 1);
        let r = if rem > half || (rem == half && q & 1 == 1) {
            q + 1
        } else {
            q
        };
        r.min(max)
    }
}

/// Builds an interleaved buffer of `frames` frames of `channels` samples, where channel
/// `channel` holds `samples` (each `sample_bytes` long) and the other channels hold
/// `filler`-derived bytes.
pub fn interleave(samples: &[Vec<u8>], channels: usize, channel: usize, filler: u8) -> Vec<u8> {
    let mut out = Vec::new();
    for (f, s) in samples.iter().enumerate() {
        for c in 0..channels {
            if c == channel {
                out.extend_from_slice(s);
            } else {
                out.extend((0..s.len()).map(|i| filler ^ (f as u8) ^ (c as u8) ^ (i as u8)));
            }
        }
    }
    out
}
