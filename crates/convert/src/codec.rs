//! Per-sample codecs: how one sample of each supported format is read from and written to
//! little-endian bytes, and how a sample of one format becomes a sample of another.
//!
//! Every codec is a zero-sized type implementing [`Codec`], so the conversion loops are
//! monomorphised for each (source, destination) pair and contain no per-sample `match` on
//! the format. All methods are `#[inline(always)]` so that the whole per-sample path
//! collapses into the loop body (and into the CPU-specific clones of the loop).
//!
//! [`convert`] picks the cheapest arithmetic that gives the results of the crate's numeric
//! rules (which are defined through an exact `f64` intermediate) bit for bit:
//!
//! - integer → integer: in the integer domain; from a source of fewer than 32 bits by
//!   resizing the right-aligned value ([`resize`]: a shift, or a rounding shift and one
//!   clip, which cannot overflow), from 32-bit sources through a *left-aligned* `i32` (the
//!   N-bit value shifted left by `32 - N`, which is `value · 2^31` exactly) and [`narrow`];
//! - a `Float64LSB` side: through `f64`, as the rules are written;
//! - otherwise (integer ↔ `f32`, `f32` ↔ `Float32LSB` never reaches here: it is a copy):
//!   through `f32`. Why each is exact is stated at [`Codec::to_f32`] and [`quantize_f32`].

/// What a codec's values are, for [`convert`]'s choice of arithmetic.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    /// A two's-complement integer of at most 32 bits.
    Int,
    /// IEEE 754 single precision.
    F32,
    /// IEEE 754 double precision.
    F64,
}

/// One sample format.
pub(crate) trait Codec {
    /// Bytes per sample.
    const BYTES: usize;
    /// Identifies the bit layout. Two codecs with the same `LAYOUT` store identical values
    /// in identical bytes, so converting between them is a plain byte copy (which also keeps
    /// NaN payloads and denormals bit-exact whatever the FPU flags are).
    const LAYOUT: u32;
    /// The kind of value stored.
    const KIND: Kind;
    /// A sample as held in a register between reading and converting.
    type Raw: Copy + Default;
    /// The same samples in a container of 2, 4 or 8 bytes, which whole-vector loads and
    /// stores can move: `Self` for every codec but the packed 3-byte [`Int24`], whose wide
    /// form is [`Int24Wide`]. Both hold the same `Raw` values and convert identically.
    type Wide: Codec<Raw = Self::Raw>;

    /// Reads the first [`Self::BYTES`] bytes of `bytes`. Callers always pass at least
    /// `BYTES` bytes; a shorter slice reads as silence.
    fn load(bytes: &[u8]) -> Self::Raw;

    /// Writes `raw` into the first [`Self::BYTES`] bytes of `out`. Callers always pass at
    /// least `BYTES` bytes; a shorter slice is left untouched.
    fn store(raw: Self::Raw, out: &mut [u8]);

    /// Integer kinds: N, the bits of the value; 0 for float kinds.
    const BITS: u32;

    /// Integer kinds: the N-bit value itself (after the N-bit clip on read), right-aligned.
    /// Never called for float kinds.
    fn to_value(raw: Self::Raw) -> i32;

    /// Integer kinds: the sample holding the N-bit value `value`, which the caller keeps
    /// within the N-bit range. Never called for float kinds.
    fn from_value(value: i32) -> Self::Raw;

    /// Integer kinds: the value (after the N-bit clip on read) shifted left by `32 - N`, so
    /// that the normalised value is `result / 2^31`. Never called for float kinds.
    fn to_left(raw: Self::Raw) -> i32;

    /// Integer kinds: the sample closest to the left-aligned `value / 2^31`, ties to even,
    /// clipped to the N-bit range. Never called for float kinds.
    fn from_left(value: i32) -> Self::Raw;

    /// The normalised value rounded to `f32` (ties to even). Integers: `left as f32 · 2^-31`;
    /// `left as f32` rounds to the nearest `f32` (exact for N ≤ 24), and multiplying by a
    /// power of two is exact, so this is the `f64` value rounded once to `f32`, the rules'
    /// result.
    fn to_f32(raw: Self::Raw) -> f32;

    /// The sample the rules give for the normalised value `x` (an `f32`).
    fn from_f32(x: f32) -> Self::Raw;

    /// The normalised value, exactly.
    fn to_f64(raw: Self::Raw) -> f64;

    /// The sample the rules give for the normalised value `x`.
    fn from_f64(x: f64) -> Self::Raw;
}

/// Converts one sample from codec `S` to codec `D` per the crate's numeric rules. Pairs with
/// the same layout are copied as bytes by the callers and never reach here.
#[inline(always)]
pub(crate) fn convert<S: Codec, D: Codec>(raw: S::Raw) -> D::Raw {
    match (S::KIND, D::KIND) {
        (Kind::Int, Kind::Int) if S::BITS < 32 => {
            D::from_value(resize(S::to_value(raw), S::BITS, D::BITS))
        }
        (Kind::Int, Kind::Int) => D::from_left(S::to_left(raw)),
        (Kind::F64, _) | (_, Kind::F64) => D::from_f64(S::to_f64(raw)),
        _ => D::from_f32(S::to_f32(raw)),
    }
}

/// Constants of an `N`-bit two's-complement integer scale.
struct Bits<const N: u32>;

impl<const N: u32> Bits<N> {
    /// `2^(N-1)`: the integer that corresponds to a float of 1.0.
    const FULL_SCALE: f64 = (1u64 << (N - 1)) as f64;
    /// `2^(N-1)` as an `f32` (exact: a power of two).
    const FULL_SCALE_F32: f32 = (1u64 << (N - 1)) as f32;
    /// Smallest value, `-2^(N-1)`.
    const MIN: i32 = -(1i64 << (N - 1)) as i32;
    /// Largest value, `2^(N-1) - 1`.
    const MAX: i32 = ((1i64 << (N - 1)) - 1) as i32;
    /// `32 - N`: the left shift that left-aligns an N-bit value in 32 bits.
    const SHIFT: u32 = 32 - N;
}

/// `2^-31`, exact in both float types.
const INV_2_31_F32: f32 = 1.0 / 2_147_483_648.0;
const INV_2_31_F64: f64 = 1.0 / 2_147_483_648.0;

/// `1.5 * 2^52`, the rounding constant of [`quantize`].
const ROUNDING_MAGIC: f64 = 6_755_399_441_055_744.0;

/// Quantises a normalised `f64` to an `N`-bit integer: scale by `2^(N-1)`, round to nearest
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

/// `2^23`: from here on every `f32` is an integer.
const F32_INTEGRAL: f32 = 8_388_608.0;

/// Quantises a normalised `f32` to an `N`-bit integer with exactly [`quantize`]'s result for
/// the same value (every `f32` is exact in `f64`):
///
/// - `x · 2^(N-1)` is exact in `f32` (a power-of-two scale of a value that cannot
///   underflow); if it overflows to ±∞ the `f64` product is beyond every bound as well.
/// - `N ≤ 24`: the N-bit bounds are exact `f32`s, so the product is clipped to them in the
///   float domain first (NaN to 0; clipping to integer bounds commutes with rounding, which
///   is monotonic) and then rounded by [`crate::simd::round_clipped`], exact for the
///   clipped range `|y| ≤ 2^23`.
/// - `N = 32`: rounding to an integer, ties to even: for `|y| < 2^23`, adding and then
///   subtracting `±2^23` (the sign of `y`) makes the FPU round at the units place (in the
///   default rounding mode); larger `f32`s are integers already and are kept. The
///   conversion to `i32` saturates (and maps NaN to 0), as `as i32`.
///
/// Branch-free; vectorises with SSE2.
#[inline(always)]
fn quantize_f32<const N: u32>(x: f32) -> i32 {
    let y = x * Bits::<N>::FULL_SCALE_F32;
    if N <= 24 {
        // MIN and MAX have at most 24 significant bits: exact as f32.
        return crate::simd::round_clipped(y, Bits::<N>::MIN as f32, Bits::<N>::MAX as f32);
    }
    let bias = F32_INTEGRAL.copysign(y);
    let r = if y.abs() < F32_INTEGRAL {
        (y + bias) - bias
    } else {
        y
    };
    crate::simd::f32_to_i32(r)
}

/// The N-bit integer (N < 32 given as `32 - shift`) nearest to the left-aligned
/// `value / 2^shift`, ties to even, clipped to the N-bit range.
///
/// Adding `2^(shift-1) - 1` plus the lowest kept bit before the arithmetic right shift
/// rounds to nearest with ties to even: a remainder below one half never carries, one
/// above always does, and exactly one half carries only when the kept part is odd. The add
/// saturates: only values whose rounded result would be `2^(N-1)` (one past the largest)
/// can overflow, and `i32::MAX >> shift` is exactly the largest N-bit value, which is what
/// clipping gives them. No other result needs clipping.
#[inline(always)]
fn narrow(value: i32, shift: u32) -> i32 {
    if shift == 0 {
        return value;
    }
    let half_minus_one = (1i32 << (shift - 1)) - 1;
    let odd = (value >> shift) & 1;
    value.saturating_add(half_minus_one + odd) >> shift
}

/// The `to`-bit integer for the `from`-bit value `value` (`from < 32`, `value` within its
/// range), with [`narrow`]'s result for the left-aligned forms: a widening is an exact left
/// shift; a narrowing by `shift = from - to` adds `2^(shift-1) - 1` plus the lowest kept bit
/// and shifts right (round to nearest, ties to even, as in [`narrow`]), which cannot
/// overflow because `|value| ≤ 2^30` leaves room for the addend, and then clips to the
/// largest `to`-bit value (the only one rounding can exceed).
#[inline(always)]
fn resize(value: i32, from: u32, to: u32) -> i32 {
    if to >= from {
        return value << (to - from);
    }
    let shift = from - to;
    let odd = (value >> shift) & 1;
    let rounded = (value + ((1i32 << (shift - 1)) - 1) + odd) >> shift;
    let max = (1i32 << (to - 1)) - 1;
    if rounded > max {
        max
    } else {
        rounded
    }
}

/// 16-bit little-endian integer (`I16` device samples, ASIO `Int16LSB`).
pub(crate) struct Int16;

impl Codec for Int16 {
    const BYTES: usize = 2;
    const LAYOUT: u32 = 16;
    const KIND: Kind = Kind::Int;
    type Raw = i16;
    type Wide = Self;
    const BITS: u32 = 16;

    #[inline(always)]
    fn to_value(raw: i16) -> i32 {
        i32::from(raw)
    }

    #[inline(always)]
    fn from_value(value: i32) -> i16 {
        value as i16
    }

    #[inline(always)]
    fn load(bytes: &[u8]) -> i16 {
        match bytes.first_chunk::<2>() {
            Some(b) => i16::from_le_bytes(*b),
            None => 0,
        }
    }

    #[inline(always)]
    fn store(raw: i16, out: &mut [u8]) {
        if let Some(o) = out.first_chunk_mut::<2>() {
            *o = raw.to_le_bytes();
        }
    }

    #[inline(always)]
    fn to_left(raw: i16) -> i32 {
        i32::from(raw) << 16
    }

    #[inline(always)]
    fn from_left(value: i32) -> i16 {
        // `narrow` by 16 is within the i16 range, so the cast is exact.
        narrow(value, 16) as i16
    }

    #[inline(always)]
    fn to_f32(raw: i16) -> f32 {
        f32::from(raw) * (1.0 / 32_768.0)
    }

    #[inline(always)]
    fn from_f32(x: f32) -> i16 {
        // quantize_f32::<16> is within the i16 range, so the cast is exact.
        quantize_f32::<16>(x) as i16
    }

    #[inline(always)]
    fn to_f64(raw: i16) -> f64 {
        f64::from(raw) * (1.0 / 32_768.0)
    }

    #[inline(always)]
    fn from_f64(x: f64) -> i16 {
        quantize::<16>(x) as i16
    }
}

/// 24-bit little-endian integer packed in 3 bytes (`I24` device samples, ASIO `Int24LSB`).
/// Its register form is already left-aligned: the 3 bytes in the top of an `i32`.
pub(crate) struct Int24;

impl Codec for Int24 {
    const BYTES: usize = 3;
    const LAYOUT: u32 = 24;
    const KIND: Kind = Kind::Int;
    type Raw = i32;
    type Wide = Int24Wide;
    const BITS: u32 = 24;

    #[inline(always)]
    fn to_value(raw: i32) -> i32 {
        raw >> 8
    }

    #[inline(always)]
    fn from_value(value: i32) -> i32 {
        value << 8
    }

    #[inline(always)]
    fn load(bytes: &[u8]) -> i32 {
        match bytes.first_chunk::<3>() {
            Some(&[b0, b1, b2]) => i32::from_le_bytes([0, b0, b1, b2]),
            None => 0,
        }
    }

    #[inline(always)]
    fn store(raw: i32, out: &mut [u8]) {
        if let Some(o) = out.first_chunk_mut::<3>() {
            let [_, b0, b1, b2] = raw.to_le_bytes();
            *o = [b0, b1, b2];
        }
    }

    #[inline(always)]
    fn to_left(raw: i32) -> i32 {
        raw
    }

    #[inline(always)]
    fn from_left(value: i32) -> i32 {
        // Round away the low 8 bits, then left-align again (exact: within 24 bits).
        narrow(value, 8) << 8
    }

    #[inline(always)]
    fn to_f32(raw: i32) -> f32 {
        // Exact: a 24-bit value times 2^8 fits the f32 significand.
        raw as f32 * INV_2_31_F32
    }

    #[inline(always)]
    fn from_f32(x: f32) -> i32 {
        quantize_f32::<24>(x) << 8
    }

    #[inline(always)]
    fn to_f64(raw: i32) -> f64 {
        f64::from(raw) * INV_2_31_F64
    }

    #[inline(always)]
    fn from_f64(x: f64) -> i32 {
        quantize::<24>(x) << 8
    }
}

/// [`Int24`]'s samples in 4 bytes: the left-aligned `i32` register form (the 24-bit value in
/// the top three bytes, the low byte zero), stored little-endian. Never a device or host
/// format: the period functions widen packed 24-bit samples into it so that their
/// conversion loops and transposes move whole 32-bit lanes.
///
/// Every method but `load`/`store` is [`Int24`]'s, so converting from or to it gives exactly
/// what converting from or to `Int24` gives. Values it holds always have a zero low byte
/// (they come from [`Int24::load`] or [`Int24::from_left`]).
pub(crate) struct Int24Wide;

impl Codec for Int24Wide {
    const BYTES: usize = 4;
    const LAYOUT: u32 = 3024;
    const KIND: Kind = Kind::Int;
    type Raw = i32;
    type Wide = Self;
    const BITS: u32 = 24;

    #[inline(always)]
    fn to_value(raw: i32) -> i32 {
        Int24::to_value(raw)
    }

    #[inline(always)]
    fn from_value(value: i32) -> i32 {
        Int24::from_value(value)
    }

    #[inline(always)]
    fn load(bytes: &[u8]) -> i32 {
        match bytes.first_chunk::<4>() {
            Some(b) => i32::from_le_bytes(*b),
            None => 0,
        }
    }

    #[inline(always)]
    fn store(raw: i32, out: &mut [u8]) {
        if let Some(o) = out.first_chunk_mut::<4>() {
            *o = raw.to_le_bytes();
        }
    }

    #[inline(always)]
    fn to_left(raw: i32) -> i32 {
        Int24::to_left(raw)
    }

    #[inline(always)]
    fn from_left(value: i32) -> i32 {
        Int24::from_left(value)
    }

    #[inline(always)]
    fn to_f32(raw: i32) -> f32 {
        Int24::to_f32(raw)
    }

    #[inline(always)]
    fn from_f32(x: f32) -> i32 {
        Int24::from_f32(x)
    }

    #[inline(always)]
    fn to_f64(raw: i32) -> f64 {
        Int24::to_f64(raw)
    }

    #[inline(always)]
    fn from_f64(x: f64) -> i32 {
        Int24::from_f64(x)
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
    const KIND: Kind = Kind::Int;
    type Raw = i32;
    type Wide = Self;
    const BITS: u32 = N;

    #[inline(always)]
    fn to_value(raw: i32) -> i32 {
        if N < 32 {
            raw.clamp(Bits::<N>::MIN, Bits::<N>::MAX)
        } else {
            raw
        }
    }

    #[inline(always)]
    fn from_value(value: i32) -> i32 {
        value
    }

    #[inline(always)]
    fn load(bytes: &[u8]) -> i32 {
        match bytes.first_chunk::<4>() {
            Some(b) => i32::from_le_bytes(*b),
            None => 0,
        }
    }

    #[inline(always)]
    fn store(raw: i32, out: &mut [u8]) {
        if let Some(o) = out.first_chunk_mut::<4>() {
            *o = raw.to_le_bytes();
        }
    }

    #[inline(always)]
    fn to_left(raw: i32) -> i32 {
        if N < 32 {
            // Within the N-bit range the shift is exact.
            raw.clamp(Bits::<N>::MIN, Bits::<N>::MAX) << Bits::<N>::SHIFT
        } else {
            raw
        }
    }

    #[inline(always)]
    fn from_left(value: i32) -> i32 {
        narrow(value, Bits::<N>::SHIFT)
    }

    #[inline(always)]
    fn to_f32(raw: i32) -> f32 {
        Self::to_left(raw) as f32 * INV_2_31_F32
    }

    #[inline(always)]
    fn from_f32(x: f32) -> i32 {
        quantize_f32::<N>(x)
    }

    #[inline(always)]
    fn to_f64(raw: i32) -> f64 {
        f64::from(Self::to_left(raw)) * INV_2_31_F64
    }

    #[inline(always)]
    fn from_f64(x: f64) -> i32 {
        quantize::<N>(x)
    }
}

/// IEEE 754 single precision, little-endian (`F32` device samples, ASIO `Float32LSB`).
/// Not clipped: float samples carry headroom.
pub(crate) struct Float32;

impl Codec for Float32 {
    const BYTES: usize = 4;
    const LAYOUT: u32 = 2032;
    const KIND: Kind = Kind::F32;
    type Raw = f32;
    type Wide = Self;
    const BITS: u32 = 0;

    #[inline(always)]
    fn to_value(_: f32) -> i32 {
        0
    }

    #[inline(always)]
    fn from_value(_: i32) -> f32 {
        0.0
    }

    #[inline(always)]
    fn load(bytes: &[u8]) -> f32 {
        match bytes.first_chunk::<4>() {
            Some(b) => f32::from_le_bytes(*b),
            None => 0.0,
        }
    }

    #[inline(always)]
    fn store(raw: f32, out: &mut [u8]) {
        if let Some(o) = out.first_chunk_mut::<4>() {
            *o = raw.to_le_bytes();
        }
    }

    #[inline(always)]
    fn to_left(_: f32) -> i32 {
        0
    }

    #[inline(always)]
    fn from_left(_: i32) -> f32 {
        0.0
    }

    #[inline(always)]
    fn to_f32(raw: f32) -> f32 {
        raw
    }

    #[inline(always)]
    fn from_f32(x: f32) -> f32 {
        x
    }

    #[inline(always)]
    fn to_f64(raw: f32) -> f64 {
        f64::from(raw)
    }

    #[inline(always)]
    fn from_f64(x: f64) -> f32 {
        // Round to nearest, ties to even; beyond f32::MAX gives ±infinity.
        x as f32
    }
}

/// IEEE 754 double precision, little-endian (ASIO `Float64LSB`). Not clipped.
pub(crate) struct Float64;

impl Codec for Float64 {
    const BYTES: usize = 8;
    const LAYOUT: u32 = 2064;
    const KIND: Kind = Kind::F64;
    type Raw = f64;
    type Wide = Self;
    const BITS: u32 = 0;

    #[inline(always)]
    fn to_value(_: f64) -> i32 {
        0
    }

    #[inline(always)]
    fn from_value(_: i32) -> f64 {
        0.0
    }

    #[inline(always)]
    fn load(bytes: &[u8]) -> f64 {
        match bytes.first_chunk::<8>() {
            Some(b) => f64::from_le_bytes(*b),
            None => 0.0,
        }
    }

    #[inline(always)]
    fn store(raw: f64, out: &mut [u8]) {
        if let Some(o) = out.first_chunk_mut::<8>() {
            *o = raw.to_le_bytes();
        }
    }

    #[inline(always)]
    fn to_left(_: f64) -> i32 {
        0
    }

    #[inline(always)]
    fn from_left(_: i32) -> f64 {
        0.0
    }

    #[inline(always)]
    fn to_f32(raw: f64) -> f32 {
        raw as f32
    }

    #[inline(always)]
    fn from_f32(x: f32) -> f64 {
        f64::from(x)
    }

    #[inline(always)]
    fn to_f64(raw: f64) -> f64 {
        raw
    }

    #[inline(always)]
    fn from_f64(x: f64) -> f64 {
        x
    }
}
