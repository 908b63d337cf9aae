//! Per-sample codecs: how one sample of each supported format is read from and written to
//! little-endian bytes, with `f64` as the common intermediate.
//!
//! Every codec is a zero-sized type implementing [`Codec`], so the conversion loops in the
//! crate root are monomorphised for each (source, destination) pair and contain no
//! per-sample `match` on the format. All methods are `#[inline(always)]` so that the whole
//! per-sample path collapses into the loop body.
//!
//! The intermediate is a *normalised* `f64`: integers are divided by `2^(N-1)` (exact for
//! every integer of up to 32 bits), floats are taken as they are (`f32 -> f64` is exact).

/// One sample format.
pub(crate) trait Codec {
    /// Bytes per sample.
    const BYTES: usize;
    /// Identifies the bit layout. Two codecs with the same `LAYOUT` store identical values
    /// in identical bytes, so converting between them is a plain byte copy (which also keeps
    /// NaN payloads and denormals bit-exact whatever the FPU flags are).
    const LAYOUT: u32;

    /// Reads the first [`Self::BYTES`] bytes of `bytes` as a normalised `f64`.
    ///
    /// Callers always pass at least `BYTES` bytes; a shorter slice reads as silence.
    fn decode(bytes: &[u8]) -> f64;

    /// Writes `value` (normalised) into the first [`Self::BYTES`] bytes of `out`.
    ///
    /// Callers always pass at least `BYTES` bytes; a shorter slice is left untouched.
    fn encode(value: f64, out: &mut [u8]);
}

/// Constants of an `N`-bit two's-complement integer scale.
struct Bits<const N: u32>;

impl<const N: u32> Bits<N> {
    /// `2^(N-1)`: the integer that corresponds to a float of 1.0.
    const FULL_SCALE: f64 = (1u64 << (N - 1)) as f64;
    /// `2^-(N-1)`, exact.
    const INV_FULL_SCALE: f64 = 1.0 / Self::FULL_SCALE;
    /// Smallest value, `-2^(N-1)`.
    const MIN: i32 = -(1i64 << (N - 1)) as i32;
    /// Largest value, `2^(N-1) - 1`.
    const MAX: i32 = ((1i64 << (N - 1)) - 1) as i32;
}

/// `1.5 * 2^52`, the rounding constant of [`quantize`].
const ROUNDING_MAGIC: f64 = 6_755_399_441_055_744.0;

/// Quantises a normalised float to an `N`-bit integer: scale by `2^(N-1)`, round to nearest
/// with ties to even, clip to `[-2^(N-1), 2^(N-1) - 1]`. NaN gives 0, ±infinity clip.
///
/// Written so that it vectorises with plain SSE2 (no per-sample branch, no library call):
/// NaN is masked to 0, the value is clipped in the float domain (clipping to integer bounds
/// commutes with rounding, because rounding is monotonic and the bounds are integers), and
/// then rounded with the add-`1.5 * 2^52` idiom: for `|y| < 2^51`, `y + 1.5 * 2^52` lands in
/// `[2^52, 2^53)` where the spacing of doubles is exactly 1, so the FPU rounds `y` to an
/// integer (to nearest, ties to even, in the default rounding mode), and the low 32 bits of
/// the sum's bit pattern are that integer in two's complement.
#[inline(always)]
fn quantize<const N: u32>(x: f64) -> i32 {
    let y = x * Bits::<N>::FULL_SCALE;
    let y = if y.is_nan() { 0.0 } else { y };
    let lo = f64::from(Bits::<N>::MIN);
    let hi = f64::from(Bits::<N>::MAX);
    // Comparisons rather than f64::max/min: these map to single maxpd/minpd instructions.
    let y = if y < lo { lo } else { y };
    let y = if y > hi { hi } else { y };
    // |y| <= 2^31 here, well inside the idiom's exact range.
    (y + ROUNDING_MAGIC).to_bits() as u32 as i32
}

/// 16-bit little-endian integer (`I16` device samples, ASIO `Int16LSB`).
pub(crate) struct Int16;

impl Codec for Int16 {
    const BYTES: usize = 2;
    const LAYOUT: u32 = 16;

    #[inline(always)]
    fn decode(bytes: &[u8]) -> f64 {
        match bytes.first_chunk::<2>() {
            Some(b) => f64::from(i16::from_le_bytes(*b)) * Bits::<16>::INV_FULL_SCALE,
            None => 0.0,
        }
    }

    #[inline(always)]
    fn encode(value: f64, out: &mut [u8]) {
        if let Some(o) = out.first_chunk_mut::<2>() {
            // quantize::<16> is within the i16 range, so the cast is exact.
            *o = (quantize::<16>(value) as i16).to_le_bytes();
        }
    }
}

/// 24-bit little-endian integer packed in 3 bytes (`I24` device samples, ASIO `Int24LSB`).
pub(crate) struct Int24;

impl Codec for Int24 {
    const BYTES: usize = 3;
    const LAYOUT: u32 = 24;

    #[inline(always)]
    fn decode(bytes: &[u8]) -> f64 {
        match bytes.first_chunk::<3>() {
            // Place the 3 bytes in the top of an i32, then shift arithmetically to
            // sign-extend.
            Some(&[b0, b1, b2]) => {
                f64::from(i32::from_le_bytes([0, b0, b1, b2]) >> 8) * Bits::<24>::INV_FULL_SCALE
            }
            None => 0.0,
        }
    }

    #[inline(always)]
    fn encode(value: f64, out: &mut [u8]) {
        if let Some(o) = out.first_chunk_mut::<3>() {
            let [b0, b1, b2, _] = quantize::<24>(value).to_le_bytes();
            *o = [b0, b1, b2];
        }
    }
}

/// An `N`-bit integer right-aligned and sign-extended in a 32-bit little-endian container:
/// `N = 32` is `I32` / ASIO `Int32LSB`, `N = 16, 18, 20, 24` are ASIO `Int32LSB16..24`.
///
/// Reading clips container values outside the `N`-bit range (a host that forgot to
/// sign-extend, or wrote garbage in the top bits) to that range.
pub(crate) struct Int32In<const N: u32>;

impl<const N: u32> Codec for Int32In<N> {
    const BYTES: usize = 4;
    const LAYOUT: u32 = 1000 + N;

    #[inline(always)]
    fn decode(bytes: &[u8]) -> f64 {
        match bytes.first_chunk::<4>() {
            Some(b) => {
                let raw = i32::from_le_bytes(*b);
                let v = if N < 32 {
                    raw.clamp(Bits::<N>::MIN, Bits::<N>::MAX)
                } else {
                    raw
                };
                f64::from(v) * Bits::<N>::INV_FULL_SCALE
            }
            None => 0.0,
        }
    }

    #[inline(always)]
    fn encode(value: f64, out: &mut [u8]) {
        if let Some(o) = out.first_chunk_mut::<4>() {
            *o = quantize::<N>(value).to_le_bytes();
        }
    }
}

/// IEEE 754 single precision, little-endian (`F32` device samples, ASIO `Float32LSB`).
/// Not clipped: float samples carry headroom.
pub(crate) struct Float32;

impl Codec for Float32 {
    const BYTES: usize = 4;
    const LAYOUT: u32 = 2032;

    #[inline(always)]
    fn decode(bytes: &[u8]) -> f64 {
        match bytes.first_chunk::<4>() {
            Some(b) => f64::from(f32::from_le_bytes(*b)),
            None => 0.0,
        }
    }

    #[inline(always)]
    fn encode(value: f64, out: &mut [u8]) {
        if let Some(o) = out.first_chunk_mut::<4>() {
            // Round to nearest, ties to even; beyond f32::MAX gives ±infinity.
            *o = (value as f32).to_le_bytes();
        }
    }
}

/// IEEE 754 double precision, little-endian (ASIO `Float64LSB`). Not clipped.
pub(crate) struct Float64;

impl Codec for Float64 {
    const BYTES: usize = 8;
    const LAYOUT: u32 = 2064;

    #[inline(always)]
    fn decode(bytes: &[u8]) -> f64 {
        match bytes.first_chunk::<8>() {
            Some(b) => f64::from_le_bytes(*b),
            None => 0.0,
        }
    }

    #[inline(always)]
    fn encode(value: f64, out: &mut [u8]) {
        if let Some(o) = out.first_chunk_mut::<8>() {
            *o = value.to_le_bytes();
        }
    }
}
