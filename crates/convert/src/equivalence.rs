//! The fast arithmetic of [`convert`] against the numeric rules' definition, an exact `f64`
//! intermediate (`D::from_f64(S::to_f64(raw))`): exhaustive for 16-bit sources, random
//! (proptest) plus edge values for 24- and 32-bit ones, for every pair that is not a copy.

use proptest::prelude::*;

use crate::codec::{convert, Codec, Float32, Float64, Int16, Int24, Int32In};

/// Bytes of `D` for the fast path and for the `f64` definition.
fn both<S: Codec, D: Codec>(bytes: &[u8]) -> (Vec<u8>, Vec<u8>) {
    let raw = S::load(bytes);
    let mut fast = vec![0u8; D::BYTES];
    let mut slow = vec![0u8; D::BYTES];
    D::store(convert::<S, D>(raw), &mut fast);
    D::store(D::from_f64(S::to_f64(raw)), &mut slow);
    (fast, slow)
}

fn check<S: Codec, D: Codec>(bytes: &[u8]) {
    if S::LAYOUT == D::LAYOUT {
        return;
    }
    let (fast, slow) = both::<S, D>(bytes);
    assert_eq!(fast, slow, "{} -> {}: {bytes:02x?}", S::LAYOUT, D::LAYOUT);
}

/// Calls `$f::<S, D>` for `S` = `$s` and every codec `D`.
macro_rules! each_dst {
    ($s:ty, $f:ident, $bytes:expr) => {{
        let b: &[u8] = $bytes;
        $f::<$s, Int16>(b);
        $f::<$s, Int24>(b);
        $f::<$s, Int32In<32>>(b);
        $f::<$s, Int32In<16>>(b);
        $f::<$s, Int32In<18>>(b);
        $f::<$s, Int32In<20>>(b);
        $f::<$s, Int32In<24>>(b);
        $f::<$s, Float32>(b);
        $f::<$s, Float64>(b);
    }};
}

#[test]
fn every_16_bit_source_value() {
    for v in i16::MIN..=i16::MAX {
        each_dst!(Int16, check, &v.to_le_bytes());
        // Int32LSB16 containers holding in-range values.
        each_dst!(Int32In<16>, check, &i32::from(v).to_le_bytes());
    }
}

/// Values around every rounding and clipping boundary of the integer formats.
fn edge_i32() -> Vec<i32> {
    let mut v = vec![0, 1, -1, i32::MIN, i32::MAX, i32::MIN + 1, i32::MAX - 1];
    for s in [8u32, 12, 14, 16] {
        let h = 1i32 << (s - 1);
        for base in [0i32, 1 << s, 3 << s, -(1 << s), i32::MAX & !((1 << s) - 1)] {
            for d in [-1, 0, 1] {
                v.push(base.wrapping_add(h).wrapping_add(d));
                v.push(base.wrapping_sub(h).wrapping_add(d));
            }
        }
    }
    v
}

#[test]
fn edge_values_of_wider_sources() {
    for x in edge_i32() {
        let b = x.to_le_bytes();
        each_dst!(Int32In<32>, check, &b);
        each_dst!(Int32In<18>, check, &b);
        each_dst!(Int32In<20>, check, &b);
        each_dst!(Int32In<24>, check, &b);
        each_dst!(Int24, check, &b[1..]);
    }
    for x in [
        0.0f32,
        -0.0,
        1.0,
        -1.0,
        0.5,
        -0.5,
        f32::NAN,
        -f32::NAN,
        f32::INFINITY,
        f32::NEG_INFINITY,
        f32::MAX,
        f32::MIN,
        f32::MIN_POSITIVE,
        1e-45,
        1.0 - f32::EPSILON / 2.0,
        0.5 / 32_768.0,
        1.5 / 32_768.0,
        0.5 / 8_388_608.0,
        1.5 / 8_388_608.0,
        2.5 / 8_388_608.0,
        0.999_999_94,
    ] {
        each_dst!(Float32, check, &x.to_le_bytes());
        each_dst!(Float64, check, &f64::from(x).to_le_bytes());
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(20_000))]

    #[test]
    fn any_32_bit_container(x in any::<i32>()) {
        let b = x.to_le_bytes();
        each_dst!(Int32In<32>, check, &b);
        each_dst!(Int32In<16>, check, &b);
        each_dst!(Int32In<18>, check, &b);
        each_dst!(Int32In<20>, check, &b);
        each_dst!(Int32In<24>, check, &b);
        each_dst!(Int24, check, &b[..3]);
    }

    #[test]
    fn any_f32_bit_pattern(bits in any::<u32>()) {
        each_dst!(Float32, check, &bits.to_le_bytes());
    }

    #[test]
    fn any_f32_in_range(x in -1.5f32..1.5) {
        each_dst!(Float32, check, &x.to_le_bytes());
        each_dst!(Float64, check, &f64::from(x).to_le_bytes());
    }

    #[test]
    fn any_f64_bit_pattern(bits in any::<u64>()) {
        each_dst!(Float64, check, &bits.to_le_bytes());
    }
}
