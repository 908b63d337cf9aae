//! Real-time-safe sample conversion between a device's interleaved frames and ASIO's
//! per-channel (non-interleaved) host buffers.
//!
//! The driver's audio thread converts a whole period at once: capture data goes
//! [`device_to_host_period`] (every routed channel of the device's interleaved frames into
//! its ASIO buffer), playback data goes [`host_to_device_period`] (every ASIO buffer into its
//! channel of the interleaved frames the device will play). [`device_to_host`] and
//! [`host_to_device`] do the same for one channel. [`silence_device_channel`] and
//! [`silence_host`] write silence.
//!
//! ```
//! use tenuto_convert::{device_to_host, host_to_device, DeviceFormat, HostFormat};
//!
//! // Two interleaved stereo i16 frames: (L, R) = (1, -2), (3, -4).
//! let device: Vec<u8> = [1i16, -2, 3, -4].iter().flat_map(|s| s.to_le_bytes()).collect();
//!
//! // The right channel into an ASIO Int32LSB buffer: an exact 16-bit left shift.
//! let mut host = [0u8; 8];
//! let frames = device_to_host(&device, DeviceFormat::I16, 2, 1, &mut host, HostFormat::Int32Lsb);
//! assert_eq!(frames, 2);
//! assert_eq!(host[..4], (-2i32 << 16).to_le_bytes());
//!
//! // A Float32LSB host buffer into the left channel of f32 frames; the right one is kept.
//! let out: Vec<u8> = [0.5f32, -1.0].iter().flat_map(|s| s.to_le_bytes()).collect();
//! let mut frames_f32 = [0u8; 16];
//! host_to_device(&out, HostFormat::Float32Lsb, &mut frames_f32, DeviceFormat::F32, 2, 0);
//! assert_eq!(frames_f32[..4], 0.5f32.to_le_bytes());
//! assert_eq!(frames_f32[4..8], [0; 4]);
//! ```
//!
//! # Real-time guarantees
//!
//! The conversion functions never allocate, lock, block, log or panic, whatever their
//! arguments. Mismatched lengths are not errors: each function converts as many whole
//! frames as fit in *both* buffers and returns that count; an out-of-range channel (or zero
//! channels) converts nothing and returns 0.
//!
//! # Unsafe code
//!
//! The crate denies `unsafe` code except in one private module, `simd`, which is allowed it
//! with one `#[allow(unsafe_code)]`: the register transposes and 3-byte packing (unaligned
//! vector loads and stores through `core::arch` intrinsics, and the calls into the AVX2
//! code after run-time detection) and two float-to-integer conversions of values clipped
//! into range. Its invariant, stated at the top of the module: every vector access lies
//! inside a slice whose length was checked for all the frames the loop moves before the
//! loop starts, and AVX2 code runs only behind a token that exists only when the CPU
//! reported AVX2. Every `unsafe` block carries a `// SAFETY:` comment.
//!
//! Buffers are byte slices because ASIO buffers are raw memory shared with a C host, with no
//! alignment guarantee. Samples are read and written with `from_le_bytes`/`to_le_bytes`,
//! which compile to plain unaligned loads and stores on x86.
//!
//! # Formats
//!
//! - Device side ([`DeviceFormat`]): the interleaved frames WASAPI hands over: `f32`,
//!   `i16`, packed 3-byte `i24` and `i32`, all little-endian.
//! - Host side ([`HostFormat`]): the little-endian ASIO sample types `Int16LSB`,
//!   `Int24LSB` (packed 3 bytes), `Int32LSB`, `Int32LSB16/18/20/24` (an N-bit value
//!   right-aligned and sign-extended in 32 bits), `Float32LSB` and `Float64LSB`. Big-endian
//!   and DSD types are refused by [`HostFormat::from_asio`] with an
//!   [`UnsupportedSampleType`] that says why.
//!
//! # Numeric rules
//!
//! Every conversion behaves exactly as if the sample were decoded to an `f64` and encoded
//! from it (all integers of up to 32 bits and all `f32` values are exact in `f64`); the
//! implementation uses integer or `f32` arithmetic where that gives the same bits (see the
//! `codec` module):
//!
//! - **Full scale.** An N-bit integer `v` means the float `v / 2^(N-1)`: `-2^(N-1)` is
//!   −1.0 and the largest value `2^(N-1) - 1` is just below +1.0 (+1.0 itself is out of
//!   range). For `Int32LSB16/18/20/24`, N is 16, 18, 20 or 24, not 32.
//! - **Float → integer.** Multiply by `2^(N-1)`, round to nearest with **ties to even**
//!   (the IEEE 754 default, which unlike ties-away-from-zero adds no bias), then clip to
//!   `[-2^(N-1), 2^(N-1) - 1]`. NaN (any payload) becomes 0; +∞ and −∞ clip to the largest
//!   and smallest value; −0.0 becomes 0. So +1.0 writes `2^(N-1) - 1`.
//! - **Integer → integer.** Same width and layout: an exact copy. Widening (for example
//!   `i16` to `Int32LSB`): an exact left shift. Narrowing (for example `Int32LSB` to `i16`):
//!   round to nearest, ties to even, then clip (only the largest values, which round up to
//!   `+2^(N-1)`, are affected by clipping), the same result as going through `f64`.
//!   Truncation (a plain right shift) is never used: it would bias the signal by −½ LSB.
//! - **`Int32LSB16/18/20/24`.** Writing clips to the N-bit range and sign-extends into the
//!   full 32-bit container. Reading a container value outside the N-bit range (a host that
//!   forgot to sign-extend, or set bits above N) clips it to the N-bit range.
//! - **Integer → float.** `v / 2^(N-1)`, exact in `f64`; into `f32` it is rounded to nearest
//!   (ties to even), which is exact for N ≤ 24. 32-bit values can need more than the 24
//!   bits of an `f32` significand, so they are rounded, and the largest ones round up to
//!   exactly +1.0.
//! - **Float → float.** `f32 → f64` is exact; `f64 → f32` rounds to nearest, ties to even.
//!   Values beyond ±1.0 are **not** clipped when both sides are float (floats carry
//!   headroom; values beyond `f32::MAX` become ±∞). NaN stays NaN. Identical formats
//!   (`F32` ↔ `Float32LSB`) are byte copies, so every bit pattern survives, NaN payloads
//!   included.
//! - **Clipping whenever an integer is involved.** Converting a float into an integer
//!   format always clips as above; an integer decoded to float is always within [−1, 1).
//!
//! Rounding relies on the thread's floating-point rounding mode being round-to-nearest,
//! the default that hosts keep (the crate never changes the FPU state). If a host enables denormals-are-zero, subnormal
//! `f32` samples (below about 1.2e-38, far below any integer's LSB) may read as zero on the
//! `F32` ↔ `Float64LSB` path; integer paths are unaffected.
//!
//! # Lossless pairs
//!
//! [`DeviceFormat::is_lossless_with`] tells whether device → host → device returns every
//! device value bit-exactly (the engine can then skip dithering or warn when it is not):
//!
//! | device | lossless with                                                        |
//! |--------|-----------------------------------------------------------------------|
//! | `i16`  | every host type (all have at least 16 significant bits)              |
//! | `i24`  | `Int24LSB`, `Int32LSB`, `Int32LSB24`, `Float32LSB`, `Float64LSB`      |
//! | `i32`  | `Int32LSB`, `Float64LSB`                                              |
//! | `f32`  | `Float32LSB`, `Float64LSB` (NaN stays NaN; on the `Float64LSB` path a signalling NaN comes back quieted) |
//!
//! # Performance
//!
//! Each (device, host) pair has its own monomorphised code (no per-sample `match` on the
//! format). Integer ↔ integer pairs are shifts and a saturating add, integer ↔ `f32` pairs
//! one multiply and a branch-free round in `f32`; only a `Float64LSB` side uses `f64`.
//!
//! The period functions work in blocks of 64 frames (at most 8 KiB of interleaved frames,
//! which stay in the L1 cache while every channel is taken out of them). Within a block,
//! [`GROUP_CHANNELS`] buffers that take consecutive device channels are moved together by
//! register transposes: for 4-byte device samples an 8×8 transpose of 32-bit lanes with
//! AVX2 (8 frames × 8 channels: eight loads, 24 shuffles, eight stores) or two 4×4
//! transposes with SSE2; for 2-byte samples an 8×8 transpose of 16-bit lanes (SSE2); for
//! packed 3-byte samples (AVX2) a byte shuffle widens each frame's 24 bytes into eight
//! left-aligned 32-bit lanes before the 32-bit transpose (and narrows them after it when
//! interleaving). Pairs with identical layout and 2- or 4-byte samples are transposed
//! straight into (or out of) the host buffers; the others are transposed into a stack
//! array (3-byte samples in their 4-byte form) and converted from (or into) it in one
//! contiguous loop per channel that the compiler vectorises; `Int24LSB` host buffers are
//! packed from (or unpacked into) 4-byte samples with the same byte shuffles. Frames left
//! over after the last whole transpose step, buffers that do not form such a group, and
//! 3-byte samples without AVX2 take the scalar path: one strided sample at a time.
//!
//! Run-time dispatch: the code is compiled twice (baseline SSE2 and AVX2, `multiversion`),
//! per pair, and the first call picks the one the CPU supports; the transposes pick AVX2
//! through the same CPU test. Measured figures are in the repository's
//! `docs/bench-convert.md`.

#![deny(unsafe_code)]
#![deny(missing_docs)]
#![deny(
    clippy::indexing_slicing,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic
)]

mod codec;
#[allow(unsafe_code)]
mod simd;

use core::fmt;

use codec::{convert, Codec, Float32, Float64, Int16, Int24, Int24Wide, Int32In};
use multiversion::multiversion;
use simd::{Level, GROUP};

/// Sample format of a device's interleaved frames (all little-endian).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DeviceFormat {
    /// IEEE 754 single-precision float, nominal range [−1.0, 1.0).
    F32,
    /// 16-bit signed integer.
    I16,
    /// 24-bit signed integer packed in 3 bytes (least significant byte first).
    I24,
    /// 32-bit signed integer.
    I32,
}

impl DeviceFormat {
    /// Every device format.
    pub const ALL: [DeviceFormat; 4] = [
        DeviceFormat::F32,
        DeviceFormat::I16,
        DeviceFormat::I24,
        DeviceFormat::I32,
    ];

    /// Bytes per sample: 4, 2, 3, 4.
    pub const fn bytes_per_sample(self) -> usize {
        match self {
            DeviceFormat::F32 | DeviceFormat::I32 => 4,
            DeviceFormat::I16 => 2,
            DeviceFormat::I24 => 3,
        }
    }

    /// Short lowercase name: `"f32"`, `"i16"`, `"i24"`, `"i32"`.
    pub const fn name(self) -> &'static str {
        match self {
            DeviceFormat::F32 => "f32",
            DeviceFormat::I16 => "i16",
            DeviceFormat::I24 => "i24",
            DeviceFormat::I32 => "i32",
        }
    }

    /// Whether the format stores floats.
    pub const fn is_float(self) -> bool {
        matches!(self, DeviceFormat::F32)
    }

    /// Bits of precision: 16, 24, 32 for the integers, 24 (the significand) for `f32`.
    pub const fn significant_bits(self) -> u32 {
        match self {
            DeviceFormat::F32 | DeviceFormat::I24 => 24,
            DeviceFormat::I16 => 16,
            DeviceFormat::I32 => 32,
        }
    }

    /// True when converting every possible device sample to `host` and back gives the
    /// same bits (see the [crate documentation](crate#lossless-pairs) for the table and the
    /// NaN caveat).
    pub const fn is_lossless_with(self, host: HostFormat) -> bool {
        use HostFormat as H;
        match self {
            // Every host type keeps at least 16 bits, f32 included (24-bit significand).
            DeviceFormat::I16 => true,
            DeviceFormat::I24 => matches!(
                host,
                H::Int24Lsb | H::Int32Lsb | H::Int32Lsb24 | H::Float32Lsb | H::Float64Lsb
            ),
            DeviceFormat::I32 => matches!(host, H::Int32Lsb | H::Float64Lsb),
            // Integers clip values beyond [-1, 1) and drop fine detail.
            DeviceFormat::F32 => matches!(host, H::Float32Lsb | H::Float64Lsb),
        }
    }
}

impl fmt::Display for DeviceFormat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// An ASIO sample type Tenuto can convert (the little-endian PCM/float ones).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum HostFormat {
    /// `ASIOSTInt16LSB` (16): 16-bit integer.
    Int16Lsb,
    /// `ASIOSTInt24LSB` (17): 24-bit integer packed in 3 bytes.
    Int24Lsb,
    /// `ASIOSTInt32LSB` (18): 32-bit integer.
    Int32Lsb,
    /// `ASIOSTInt32LSB16` (24): 16-bit value right-aligned, sign-extended in 32 bits.
    Int32Lsb16,
    /// `ASIOSTInt32LSB18` (25): 18-bit value right-aligned, sign-extended in 32 bits.
    Int32Lsb18,
    /// `ASIOSTInt32LSB20` (26): 20-bit value right-aligned, sign-extended in 32 bits.
    Int32Lsb20,
    /// `ASIOSTInt32LSB24` (27): 24-bit value right-aligned, sign-extended in 32 bits.
    Int32Lsb24,
    /// `ASIOSTFloat32LSB` (19): IEEE 754 single-precision float.
    Float32Lsb,
    /// `ASIOSTFloat64LSB` (20): IEEE 754 double-precision float.
    Float64Lsb,
}

/// Names of the supported host types, in [`HostFormat::ALL`] order, for messages.
const SUPPORTED_LIST: &str =
    "Int16LSB, Int24LSB, Int32LSB, Int32LSB16, Int32LSB18, Int32LSB20, Int32LSB24, Float32LSB, Float64LSB";

impl HostFormat {
    /// Every supported host format.
    pub const ALL: [HostFormat; 9] = [
        HostFormat::Int16Lsb,
        HostFormat::Int24Lsb,
        HostFormat::Int32Lsb,
        HostFormat::Int32Lsb16,
        HostFormat::Int32Lsb18,
        HostFormat::Int32Lsb20,
        HostFormat::Int32Lsb24,
        HostFormat::Float32Lsb,
        HostFormat::Float64Lsb,
    ];

    /// Maps an ASIO `ASIOSampleType` value to a supported format, or says why it is not
    /// supported (big-endian, DSD, or an unknown value).
    pub fn from_asio(sample_type: i32) -> Result<Self, UnsupportedSampleType> {
        Ok(match sample_type {
            16 => HostFormat::Int16Lsb,
            17 => HostFormat::Int24Lsb,
            18 => HostFormat::Int32Lsb,
            19 => HostFormat::Float32Lsb,
            20 => HostFormat::Float64Lsb,
            24 => HostFormat::Int32Lsb16,
            25 => HostFormat::Int32Lsb18,
            26 => HostFormat::Int32Lsb20,
            27 => HostFormat::Int32Lsb24,
            value => {
                let big_endian = match value {
                    0 => Some("Int16MSB"),
                    1 => Some("Int24MSB"),
                    2 => Some("Int32MSB"),
                    3 => Some("Float32MSB"),
                    4 => Some("Float64MSB"),
                    8 => Some("Int32MSB16"),
                    9 => Some("Int32MSB18"),
                    10 => Some("Int32MSB20"),
                    11 => Some("Int32MSB24"),
                    _ => None,
                };
                let dsd = match value {
                    32 => Some("DSDInt8LSB1"),
                    33 => Some("DSDInt8MSB1"),
                    40 => Some("DSDInt8NER8"),
                    _ => None,
                };
                return Err(match (big_endian, dsd) {
                    (Some(name), _) => UnsupportedSampleType::BigEndian { value, name },
                    (None, Some(name)) => UnsupportedSampleType::Dsd { value, name },
                    (None, None) => UnsupportedSampleType::Unknown { value },
                });
            }
        })
    }

    /// The ASIO `ASIOSampleType` value.
    pub const fn asio_type(self) -> i32 {
        match self {
            HostFormat::Int16Lsb => 16,
            HostFormat::Int24Lsb => 17,
            HostFormat::Int32Lsb => 18,
            HostFormat::Float32Lsb => 19,
            HostFormat::Float64Lsb => 20,
            HostFormat::Int32Lsb16 => 24,
            HostFormat::Int32Lsb18 => 25,
            HostFormat::Int32Lsb20 => 26,
            HostFormat::Int32Lsb24 => 27,
        }
    }

    /// Bytes per sample: 2, 3, 4 (all `Int32*` and `Float32LSB`) or 8.
    pub const fn bytes_per_sample(self) -> usize {
        match self {
            HostFormat::Int16Lsb => 2,
            HostFormat::Int24Lsb => 3,
            HostFormat::Int32Lsb
            | HostFormat::Int32Lsb16
            | HostFormat::Int32Lsb18
            | HostFormat::Int32Lsb20
            | HostFormat::Int32Lsb24
            | HostFormat::Float32Lsb => 4,
            HostFormat::Float64Lsb => 8,
        }
    }

    /// The ASIO name without the `ASIOST` prefix, e.g. `"Int32LSB20"`, `"Float32LSB"`.
    pub const fn name(self) -> &'static str {
        match self {
            HostFormat::Int16Lsb => "Int16LSB",
            HostFormat::Int24Lsb => "Int24LSB",
            HostFormat::Int32Lsb => "Int32LSB",
            HostFormat::Int32Lsb16 => "Int32LSB16",
            HostFormat::Int32Lsb18 => "Int32LSB18",
            HostFormat::Int32Lsb20 => "Int32LSB20",
            HostFormat::Int32Lsb24 => "Int32LSB24",
            HostFormat::Float32Lsb => "Float32LSB",
            HostFormat::Float64Lsb => "Float64LSB",
        }
    }

    /// Bits of precision: the integer width (16, 24, 32, 16, 18, 20, 24), or the
    /// significand width for floats (24, 53).
    pub const fn significant_bits(self) -> u32 {
        match self {
            HostFormat::Int16Lsb | HostFormat::Int32Lsb16 => 16,
            HostFormat::Int32Lsb18 => 18,
            HostFormat::Int32Lsb20 => 20,
            HostFormat::Int24Lsb | HostFormat::Int32Lsb24 | HostFormat::Float32Lsb => 24,
            HostFormat::Int32Lsb => 32,
            HostFormat::Float64Lsb => 53,
        }
    }

    /// Whether the format stores floats.
    pub const fn is_float(self) -> bool {
        matches!(self, HostFormat::Float32Lsb | HostFormat::Float64Lsb)
    }
}

impl fmt::Display for HostFormat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl TryFrom<i32> for HostFormat {
    type Error = UnsupportedSampleType;

    fn try_from(sample_type: i32) -> Result<Self, Self::Error> {
        HostFormat::from_asio(sample_type)
    }
}

/// Why an ASIO sample type was refused by [`HostFormat::from_asio`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UnsupportedSampleType {
    /// A big-endian type (`Int16MSB` … `Int32MSB24`).
    #[error(
        "ASIO sample type {value} ({name}) is big-endian; Tenuto converts only little-endian \
         types: {list}",
        list = SUPPORTED_LIST
    )]
    BigEndian {
        /// The `ASIOSampleType` value.
        value: i32,
        /// Its ASIO name, e.g. `"Float32MSB"`.
        name: &'static str,
    },
    /// A DSD (1-bit stream) type.
    #[error(
        "ASIO sample type {value} ({name}) is DSD (1-bit) audio; Tenuto converts only PCM \
         and float types: {list}",
        list = SUPPORTED_LIST
    )]
    Dsd {
        /// The `ASIOSampleType` value.
        value: i32,
        /// Its ASIO name, e.g. `"DSDInt8LSB1"`.
        name: &'static str,
    },
    /// A value that is not an ASIO sample type at all.
    #[error(
        "ASIO sample type {value} is not a known ASIO sample type; Tenuto converts: {list}",
        list = SUPPORTED_LIST
    )]
    Unknown {
        /// The `ASIOSampleType` value.
        value: i32,
    },
}

impl UnsupportedSampleType {
    /// The refused `ASIOSampleType` value.
    pub const fn value(&self) -> i32 {
        match self {
            UnsupportedSampleType::BigEndian { value, .. }
            | UnsupportedSampleType::Dsd { value, .. }
            | UnsupportedSampleType::Unknown { value } => *value,
        }
    }
}

// ---------------------------------------------------------------------------------------
// Conversion kernels
// ---------------------------------------------------------------------------------------

/// Frames per block. Conversions work one block at a time: the block's interleaved frames
/// (at most 64 frames × 32 channels × 4 bytes = 8 KiB) stay in the L1 cache while every
/// channel is taken out of them or put into them, and a block of one channel's samples fits
/// in a small stack buffer between reading and converting.
const BLOCK: usize = 64;

/// Copies `n` `B`-byte samples from one interleaved channel (frames of `stride` bytes, the
/// channel at byte `offset`) to a packed buffer.
///
/// Indexed loops rather than `chunks_exact(stride)`: with a run-time stride, every chunk
/// iterator costs an integer division up front, which is more than the copy itself for a
/// short block.
#[inline(always)]
fn gather_copy<const B: usize>(src: &[u8], n: usize, stride: usize, offset: usize, dst: &mut [u8]) {
    for (k, out) in dst.chunks_exact_mut(B).take(n).enumerate() {
        if let (Some(s), Some(o)) = (
            src.get(k * stride + offset..)
                .and_then(<[u8]>::first_chunk::<B>),
            out.first_chunk_mut::<B>(),
        ) {
            *o = *s;
        }
    }
}

/// Copies `n` `B`-byte samples from a packed buffer into one interleaved channel.
#[inline(always)]
fn scatter_copy<const B: usize>(
    src: &[u8],
    n: usize,
    dst: &mut [u8],
    stride: usize,
    offset: usize,
) {
    for (k, inp) in src.chunks_exact(B).take(n).enumerate() {
        if let (Some(s), Some(o)) = (
            inp.first_chunk::<B>(),
            dst.get_mut(k * stride + offset..)
                .and_then(<[u8]>::first_chunk_mut::<B>),
        ) {
            *o = *s;
        }
    }
}

/// One channel of `n` (at most [`BLOCK`]) interleaved device frames (`src`, frames of
/// `stride` bytes, the channel at byte `offset`) into the packed host samples `dst`. The
/// caller has checked that both hold `n` samples; short slices convert fewer.
///
/// The samples are first read into a stack array, then converted in a second, contiguous
/// loop that the compiler vectorises (the strided reads of the first loop cannot be).
#[inline(always)]
fn extract_run<D: Codec, H: Codec>(
    src: &[u8],
    n: usize,
    stride: usize,
    offset: usize,
    dst: &mut [u8],
) {
    if D::LAYOUT == H::LAYOUT {
        // Same bit layout: a strided copy (bit-exact, also for NaN payloads).
        match D::BYTES {
            2 => gather_copy::<2>(src, n, stride, offset, dst),
            3 => gather_copy::<3>(src, n, stride, offset, dst),
            4 => gather_copy::<4>(src, n, stride, offset, dst),
            _ => gather_copy::<8>(src, n, stride, offset, dst),
        }
        return;
    }
    let n = n.min(BLOCK);
    let mut raw = [D::Raw::default(); BLOCK];
    for (k, r) in raw.iter_mut().take(n).enumerate() {
        *r = D::load(src.get(k * stride + offset..).unwrap_or_default());
    }
    for (out, r) in dst.chunks_exact_mut(H::BYTES).zip(raw.iter().take(n)) {
        H::store(convert::<D, H>(*r), out);
    }
}

/// `n` (at most [`BLOCK`]) packed host samples `src` into one channel of interleaved device
/// frames (`dst`); the other channels are not touched. Converts in a contiguous
/// (vectorised) loop into a stack array, then writes strided.
#[inline(always)]
fn insert_run<H: Codec, D: Codec>(
    src: &[u8],
    n: usize,
    dst: &mut [u8],
    stride: usize,
    offset: usize,
) {
    if D::LAYOUT == H::LAYOUT {
        match D::BYTES {
            2 => scatter_copy::<2>(src, n, dst, stride, offset),
            3 => scatter_copy::<3>(src, n, dst, stride, offset),
            4 => scatter_copy::<4>(src, n, dst, stride, offset),
            _ => scatter_copy::<8>(src, n, dst, stride, offset),
        }
        return;
    }
    let mut raw = [D::Raw::default(); BLOCK];
    let mut count = 0;
    for (r, inp) in raw.iter_mut().zip(src.chunks_exact(H::BYTES).take(n)) {
        *r = convert::<H, D>(H::load(inp));
        count += 1;
    }
    for (k, r) in raw.iter().take(count).enumerate() {
        if let Some(o) = dst.get_mut(k * stride + offset..) {
            D::store(*r, o);
        }
    }
}

/// Frame stride and channel offset in bytes; `None` when `channel` is out of range,
/// `channels` is 0, or the frame size overflows.
#[inline(always)]
fn layout(channels: usize, channel: usize, bytes: usize) -> Option<(usize, usize)> {
    if channel >= channels {
        return None;
    }
    Some((channels.checked_mul(bytes)?, channel.checked_mul(bytes)?))
}

/// Device channel → host buffer for one (device, host) pair, block by block.
#[inline(always)]
fn extract<D: Codec, H: Codec>(
    src: &[u8],
    channels: usize,
    channel: usize,
    dst: &mut [u8],
) -> usize {
    // Constant frame strides for the common layouts let the compiler replace the strided
    // loads by shuffles.
    match channels {
        1 => extract_frames::<D, H>(src, 1, channel, dst),
        2 => extract_frames::<D, H>(src, 2, channel, dst),
        _ => extract_body::<D, H>(src, channels, channel, dst),
    }
}

/// Device channel → host buffer in one pass over whole frames, for a constant (small)
/// `channels`: with the stride known, the compiler turns the strided loads into shuffles.
#[inline(always)]
fn extract_frames<D: Codec, H: Codec>(
    src: &[u8],
    channels: usize,
    channel: usize,
    dst: &mut [u8],
) -> usize {
    let Some((stride, offset)) = layout(channels, channel, D::BYTES) else {
        return 0;
    };
    let mut frames = 0;
    for (frame, out) in src.chunks_exact(stride).zip(dst.chunks_exact_mut(H::BYTES)) {
        if let Some(s) = frame.get(offset..) {
            if D::LAYOUT == H::LAYOUT {
                // Same bit layout: a byte copy (bit-exact, also for NaN payloads).
                if let Some(s) = s.get(..H::BYTES) {
                    out.copy_from_slice(s);
                }
            } else {
                H::store(convert::<D, H>(D::load(s)), out);
            }
        }
        frames += 1;
    }
    frames
}

#[inline(always)]
fn extract_body<D: Codec, H: Codec>(
    src: &[u8],
    channels: usize,
    channel: usize,
    dst: &mut [u8],
) -> usize {
    let Some((stride, offset)) = layout(channels, channel, D::BYTES) else {
        return 0;
    };
    let frames = (src.len() / stride).min(dst.len() / H::BYTES);
    for first in (0..frames).step_by(BLOCK) {
        let n = BLOCK.min(frames - first);
        // `first * stride` and `first * H::BYTES` are within the slices: first < frames.
        if let (Some(s), Some(d)) = (src.get(first * stride..), dst.get_mut(first * H::BYTES..)) {
            extract_run::<D, H>(s, n, stride, offset, d);
        }
    }
    frames
}

/// Host buffer → device channel for one (host, device) pair, block by block.
#[inline(always)]
fn insert<H: Codec, D: Codec>(
    src: &[u8],
    dst: &mut [u8],
    channels: usize,
    channel: usize,
) -> usize {
    match channels {
        1 => insert_frames::<H, D>(src, dst, 1, channel),
        2 => insert_frames::<H, D>(src, dst, 2, channel),
        _ => insert_body::<H, D>(src, dst, channels, channel),
    }
}

/// Host buffer → device channel in one pass over whole frames, as [`extract_frames`].
#[inline(always)]
fn insert_frames<H: Codec, D: Codec>(
    src: &[u8],
    dst: &mut [u8],
    channels: usize,
    channel: usize,
) -> usize {
    let Some((stride, offset)) = layout(channels, channel, D::BYTES) else {
        return 0;
    };
    let mut frames = 0;
    for (inp, frame) in src.chunks_exact(H::BYTES).zip(dst.chunks_exact_mut(stride)) {
        if let Some(o) = frame.get_mut(offset..) {
            if D::LAYOUT == H::LAYOUT {
                if let Some(o) = o.get_mut(..D::BYTES) {
                    o.copy_from_slice(inp);
                }
            } else {
                D::store(convert::<H, D>(H::load(inp)), o);
            }
        }
        frames += 1;
    }
    frames
}

#[inline(always)]
fn insert_body<H: Codec, D: Codec>(
    src: &[u8],
    dst: &mut [u8],
    channels: usize,
    channel: usize,
) -> usize {
    let Some((stride, offset)) = layout(channels, channel, D::BYTES) else {
        return 0;
    };
    let frames = (src.len() / H::BYTES).min(dst.len() / stride);
    for first in (0..frames).step_by(BLOCK) {
        let n = BLOCK.min(frames - first);
        if let (Some(s), Some(d)) = (src.get(first * H::BYTES..), dst.get_mut(first * stride..)) {
            insert_run::<H, D>(s, n, d, stride, offset);
        }
    }
    frames
}

/// Reads `n` raw `D` samples of one interleaved channel into packed `dst` (a byte copy).
#[inline(always)]
fn gather_raw<D: Codec>(src: &[u8], n: usize, stride: usize, offset: usize, dst: &mut [u8]) {
    match D::BYTES {
        2 => gather_copy::<2>(src, n, stride, offset, dst),
        3 => gather_copy::<3>(src, n, stride, offset, dst),
        4 => gather_copy::<4>(src, n, stride, offset, dst),
        _ => gather_copy::<8>(src, n, stride, offset, dst),
    }
}

/// Writes `n` packed raw `D` samples into one interleaved channel (a byte copy).
#[inline(always)]
fn scatter_raw<D: Codec>(src: &[u8], n: usize, dst: &mut [u8], stride: usize, offset: usize) {
    match D::BYTES {
        2 => scatter_copy::<2>(src, n, dst, stride, offset),
        3 => scatter_copy::<3>(src, n, dst, stride, offset),
        4 => scatter_copy::<4>(src, n, dst, stride, offset),
        _ => scatter_copy::<8>(src, n, dst, stride, offset),
    }
}

/// `n` packed samples of codec `S` into packed samples of codec `T`: a contiguous loop the
/// compiler vectorises (inlined into [`convert_group_out`] / [`convert_group_in`], whose
/// slices are distinct arguments, so the vectoriser knows they do not overlap).
#[inline(always)]
fn convert_packed<S: Codec, T: Codec>(src: &[u8], n: usize, dst: &mut [u8]) {
    // Both slices cut to exactly `n` samples first: with `.take(n)` on the zipped chunks
    // instead, the vectorised loop left up to 16 samples to a scalar tail.
    let n = n.min(src.len() / S::BYTES).min(dst.len() / T::BYTES);
    let (Some(src), Some(dst)) = (src.get(..n * S::BYTES), dst.get_mut(..n * T::BYTES)) else {
        return;
    };
    for (out, inp) in dst
        .chunks_exact_mut(T::BYTES)
        .zip(src.chunks_exact(S::BYTES))
    {
        T::store(convert::<S, T>(S::load(inp)), out);
    }
}

/// `n` left-aligned 4-byte [`Int24Wide`] samples into packed 3-byte [`Int24`] samples: the
/// vector code where the CPU has it, the rest one by one.
#[inline(always)]
fn pack24(level: Level, src: &[u8], n: usize, dst: &mut [u8]) {
    let done = level.pack24(src, n, dst);
    let (Some(s), Some(d)) = (src.get(done * 4..), dst.get_mut(done * 3..)) else {
        return;
    };
    for (o, i) in d
        .chunks_exact_mut(3)
        .zip(s.chunks_exact(4))
        .take(n.saturating_sub(done))
    {
        Int24::store(Int24Wide::load(i), o);
    }
}

/// `n` packed 3-byte [`Int24`] samples into left-aligned 4-byte [`Int24Wide`] samples, as
/// [`pack24`] in reverse.
#[inline(always)]
fn unpack24(level: Level, src: &[u8], n: usize, dst: &mut [u8]) {
    let done = level.unpack24(src, n, dst);
    let (Some(s), Some(d)) = (src.get(done * 3..), dst.get_mut(done * 4..)) else {
        return;
    };
    for (o, i) in d
        .chunks_exact_mut(4)
        .zip(s.chunks_exact(3))
        .take(n.saturating_sub(done))
    {
        Int24Wide::store(Int24::load(i), o);
    }
}

/// A group's `n` de-interleaved samples (wide codec `S`, one array per channel) into the
/// host buffers `out` (codec `H`) from byte `at` on. Packed 24-bit hosts are converted into
/// `tmp` as [`Int24Wide`] and packed from there (or packed straight from `raw` when it holds
/// `Int24Wide` already). One call per group and block, compiled once per pair and CPU
/// target.
#[multiversion(targets("x86_64+avx2", "x86+avx2"))]
fn convert_group_out<S: Codec, H: Codec>(
    level: Level,
    raw: &[[u8; SCRATCH]; GROUP],
    n: usize,
    out: &mut [&mut [u8]; GROUP],
    at: usize,
    tmp: &mut [u8; SCRATCH],
) {
    for (o, r) in out.iter_mut().zip(raw) {
        let Some(o) = o.get_mut(at..) else { continue };
        if H::BYTES == 3 {
            if S::LAYOUT == <H::Wide as Codec>::LAYOUT {
                pack24(level, r, n, o);
            } else {
                convert_packed::<S, H::Wide>(r, n, tmp);
                pack24(level, tmp, n, o);
            }
        } else {
            convert_packed::<S, H>(r, n, o);
        }
    }
}

/// The host buffers `bufs` (codec `H`, from byte `at` on) into a group's `n` samples of the
/// wide codec `T`, one array per channel, ready to interleave: the reverse of
/// [`convert_group_out`].
#[multiversion(targets("x86_64+avx2", "x86+avx2"))]
fn convert_group_in<H: Codec, T: Codec>(
    level: Level,
    bufs: &[&[u8]; GROUP],
    at: usize,
    n: usize,
    raw: &mut [[u8; SCRATCH]; GROUP],
    tmp: &mut [u8; SCRATCH],
) {
    for (r, b) in raw.iter_mut().zip(bufs) {
        let b = b.get(at..).unwrap_or_default();
        if H::BYTES == 3 {
            if T::LAYOUT == <H::Wide as Codec>::LAYOUT {
                unpack24(level, b, n, r);
            } else {
                unpack24(level, b, n, tmp);
                convert_packed::<H::Wide, T>(tmp, n, r);
            }
        } else {
            convert_packed::<H, T>(b, n, r);
        }
    }
}

/// `n` frames of the [`GROUP`] channels at the start of `src` (raw `D` samples) into the
/// arrays `raw` as `D::Wide` samples: transposed where the CPU allows, the remaining frames
/// one by one.
#[inline(always)]
fn deinterleave_wide<D: Codec>(
    level: Level,
    src: &[u8],
    stride: usize,
    n: usize,
    raw: &mut [[u8; SCRATCH]; GROUP],
) {
    let mut out: [&mut [u8]; GROUP] = Default::default();
    for (o, a) in out.iter_mut().zip(raw.iter_mut()) {
        *o = a;
    }
    if D::BYTES != 3 {
        // The wide form is the device form itself.
        deinterleave_group::<D>(level, src, stride, n, &mut out, 0);
        return;
    }
    let done = level.deinterleave24(src, stride, n, &mut out);
    let rest = src.get(done * stride..).unwrap_or_default();
    for (c, o) in out.iter_mut().enumerate() {
        let o = o.get_mut(done * 4..).unwrap_or_default();
        for (k, w) in o
            .chunks_exact_mut(4)
            .take(n.saturating_sub(done))
            .enumerate()
        {
            let s = rest.get(k * stride + c * 3..).unwrap_or_default();
            Int24Wide::store(Int24::load(s), w);
        }
    }
}

/// The arrays `raw` (`n` samples of `D::Wide` per channel) into the [`GROUP`] channels at
/// the start of the interleaved frames `dst` as `D` samples: the reverse of
/// [`deinterleave_wide`].
#[inline(always)]
fn interleave_wide<D: Codec>(
    level: Level,
    raw: &[[u8; SCRATCH]; GROUP],
    n: usize,
    dst: &mut [u8],
    stride: usize,
) {
    let mut src: [&[u8]; GROUP] = Default::default();
    for (s, a) in src.iter_mut().zip(raw) {
        *s = a;
    }
    if D::BYTES != 3 {
        interleave_group::<D>(level, &src, 0, n, dst, stride);
        return;
    }
    let done = level.interleave24(&src, n, dst, stride);
    let Some(rest) = dst.get_mut(done * stride..) else {
        return;
    };
    for (c, s) in src.iter().enumerate() {
        let s = s.get(done * 4..).unwrap_or_default();
        for (k, w) in s.chunks_exact(4).take(n.saturating_sub(done)).enumerate() {
            if let Some(o) = rest.get_mut(k * stride + c * 3..) {
                Int24::store(Int24Wide::load(w), o);
            }
        }
    }
}

/// Bytes of one channel's block in the scratch arrays: wide device samples and
/// [`Int24Wide`] samples are at most 4 bytes.
const SCRATCH: usize = BLOCK * 4;

/// A converting pair's scratch: one group's device samples (wide form) per channel, and one
/// channel's [`Int24Wide`] samples for a packed 24-bit host.
type Scratch = ([[u8; SCRATCH]; GROUP], [u8; SCRATCH]);

/// All routed channels of interleaved device frames → their host buffers, blocks outside,
/// channels inside; groups of [`GROUP`] consecutive channels go through a register transpose.
#[inline(always)]
fn extract_period<D: Codec, H: Codec>(
    src: &[u8],
    channels: usize,
    dst: &mut dyn HostChannelsMut,
    level: Level,
) -> usize {
    if dst.count() < GROUP {
        // Too few buffers for a transpose: one pass per buffer, whose loop the compiler
        // specialises for one and two channels (faster than the blocked scalar path).
        let Some((stride, _)) = layout(channels, 0, D::BYTES) else {
            return 0;
        };
        for i in 0..dst.count() {
            let channel = dst.device_channel(i);
            extract::<D, H>(src, channels, channel, dst.buffer_mut(i));
        }
        return src.len() / stride;
    }
    extract_period_body::<D, H>(src, channels, dst, level)
}

#[inline(always)]
fn extract_period_body<D: Codec, H: Codec>(
    src: &[u8],
    channels: usize,
    dst: &mut dyn HostChannelsMut,
    level: Level,
) -> usize {
    if D::LAYOUT == H::LAYOUT && D::BYTES != 3 {
        extract_period_blocks::<D, H>(src, channels, dst, level, None)
    } else {
        // Transposed device samples of one group before conversion, and one channel's
        // samples between conversion and packing into 3 bytes.
        let mut scratch = ([[0u8; SCRATCH]; GROUP], [0u8; SCRATCH]);
        extract_period_blocks::<D, H>(src, channels, dst, level, Some(&mut scratch))
    }
}

/// [`extract_period_body`] with the scratch arrays of a converting pair (none for a copy
/// that the transposes move straight into the host buffers).
#[inline(always)]
fn extract_period_blocks<D: Codec, H: Codec>(
    src: &[u8],
    channels: usize,
    dst: &mut dyn HostChannelsMut,
    level: Level,
    mut scratch: Option<&mut Scratch>,
) -> usize {
    let Some((stride, _)) = layout(channels, 0, D::BYTES) else {
        return 0;
    };
    let frames = src.len() / stride;
    let count = dst.count();
    for first in (0..frames).step_by(BLOCK) {
        let n = BLOCK.min(frames - first);
        let Some(s) = src.get(first * stride..) else {
            break;
        };
        let mut i = 0;
        while i < count {
            if let Some(c0) = dst.consecutive(i).filter(|c| c + GROUP <= channels) {
                let bufs = dst.group_mut(i);
                // Every buffer of the group has room for the whole block.
                let at = first * H::BYTES;
                if bufs.iter().all(|b| b.len() / H::BYTES >= first + n) {
                    let mut out = bufs;
                    let s0 = s.get(c0 * D::BYTES..).unwrap_or_default();
                    match scratch.as_deref_mut() {
                        None => deinterleave_group::<D>(level, s0, stride, n, &mut out, at),
                        Some((raw, tmp)) => {
                            deinterleave_wide::<D>(level, s0, stride, n, raw);
                            convert_group_out::<D::Wide, H>(level, raw, n, &mut out, at, tmp);
                        }
                    }
                    i += GROUP;
                    continue;
                }
            }
            if let Some((_, offset)) = layout(channels, dst.device_channel(i), D::BYTES) {
                let buf = dst.buffer_mut(i);
                // Frames this buffer still has room for (division by a constant: a shift or
                // a multiplication).
                let room = (buf.len() / H::BYTES).saturating_sub(first);
                if let Some(d) = buf.get_mut(first * H::BYTES..) {
                    extract_run::<D, H>(s, n.min(room), stride, offset, d);
                }
            }
            i += 1;
        }
    }
    frames
}

/// `n` frames of the [`GROUP`] channels at the start of `src` (raw `D` samples) into the
/// packed buffers `out` from byte `at` on: transposed where the CPU allows, the remaining
/// frames one by one.
#[inline(always)]
fn deinterleave_group<D: Codec>(
    level: Level,
    src: &[u8],
    stride: usize,
    n: usize,
    out: &mut [&mut [u8]; GROUP],
    at: usize,
) {
    let done = level.deinterleave(D::BYTES, src, stride, n, out, at);
    if done < n {
        let rest = src.get(done * stride..).unwrap_or_default();
        for (c, o) in out.iter_mut().enumerate() {
            if let Some(o) = o.get_mut(at + done * D::BYTES..) {
                gather_raw::<D>(rest, n - done, stride, c * D::BYTES, o);
            }
        }
    }
}

/// The packed raw `D` samples of `src` from byte `at` on (`n` frames of [`GROUP`]
/// channels) into the channels at the start of the interleaved frames `dst`.
#[inline(always)]
fn interleave_group<D: Codec>(
    level: Level,
    src: &[&[u8]; GROUP],
    at: usize,
    n: usize,
    dst: &mut [u8],
    stride: usize,
) {
    let done = level.interleave(D::BYTES, src, at, n, dst, stride);
    if done < n {
        if let Some(rest) = dst.get_mut(done * stride..) {
            for (c, s) in src.iter().enumerate() {
                if let Some(s) = s.get(at + done * D::BYTES..) {
                    scatter_raw::<D>(s, n - done, rest, stride, c * D::BYTES);
                }
            }
        }
    }
}

/// Host buffers → all routed channels of interleaved device frames, blocks outside,
/// channels inside; groups of [`GROUP`] consecutive channels go through a register transpose.
#[inline(always)]
fn insert_period<H: Codec, D: Codec>(
    src: &mut dyn HostChannels,
    dst: &mut [u8],
    channels: usize,
    level: Level,
) -> usize {
    if src.count() < GROUP {
        // As in `extract_period`.
        let Some((stride, _)) = layout(channels, 0, D::BYTES) else {
            return 0;
        };
        for i in 0..src.count() {
            let channel = src.device_channel(i);
            insert::<H, D>(src.buffer(i), dst, channels, channel);
        }
        return dst.len() / stride;
    }
    insert_period_body::<H, D>(src, dst, channels, level)
}

#[inline(always)]
fn insert_period_body<H: Codec, D: Codec>(
    src: &mut dyn HostChannels,
    dst: &mut [u8],
    channels: usize,
    level: Level,
) -> usize {
    if D::LAYOUT == H::LAYOUT && D::BYTES != 3 {
        insert_period_blocks::<H, D>(src, dst, channels, level, None)
    } else {
        // Converted device samples of one group before interleaving, and one channel's
        // samples between unpacking from 3 bytes and conversion.
        let mut scratch = ([[0u8; SCRATCH]; GROUP], [0u8; SCRATCH]);
        insert_period_blocks::<H, D>(src, dst, channels, level, Some(&mut scratch))
    }
}

/// [`insert_period_body`] with the scratch arrays of a converting pair (none for a copy
/// that the transposes move straight out of the host buffers).
#[inline(always)]
fn insert_period_blocks<H: Codec, D: Codec>(
    src: &mut dyn HostChannels,
    dst: &mut [u8],
    channels: usize,
    level: Level,
    mut scratch: Option<&mut Scratch>,
) -> usize {
    let Some((stride, _)) = layout(channels, 0, D::BYTES) else {
        return 0;
    };
    let frames = dst.len() / stride;
    let count = src.count();
    for first in (0..frames).step_by(BLOCK) {
        let n = BLOCK.min(frames - first);
        let Some(d) = dst.get_mut(first * stride..) else {
            break;
        };
        let mut i = 0;
        while i < count {
            if let Some(c0) = src.consecutive(i).filter(|c| c + GROUP <= channels) {
                let bufs = src.group(i);
                let at = first * H::BYTES;
                if bufs.iter().all(|b| b.len() / H::BYTES >= first + n) {
                    let d0 = d.get_mut(c0 * D::BYTES..).unwrap_or_default();
                    match scratch.as_deref_mut() {
                        None => interleave_group::<D>(level, &bufs, at, n, d0, stride),
                        Some((raw, tmp)) => {
                            convert_group_in::<H, D::Wide>(level, &bufs, at, n, raw, tmp);
                            interleave_wide::<D>(level, raw, n, d0, stride);
                        }
                    }
                    i += GROUP;
                    continue;
                }
            }
            if let Some((_, offset)) = layout(channels, src.device_channel(i), D::BYTES) {
                let buf = src.buffer(i);
                let room = (buf.len() / H::BYTES).saturating_sub(first);
                if let Some(s) = buf.get(first * H::BYTES..) {
                    insert_run::<H, D>(s, n.min(room), d, stride, offset);
                }
            }
            i += 1;
        }
    }
    frames
}

/// Expands `$body` with `$H` bound to the codec type of host format `$host`.
macro_rules! with_host_codec {
    ($host:expr, $H:ident => $body:expr) => {
        match $host {
            HostFormat::Int16Lsb => {
                type $H = Int16;
                $body
            }
            HostFormat::Int24Lsb => {
                type $H = Int24;
                $body
            }
            HostFormat::Int32Lsb => {
                type $H = Int32In<32>;
                $body
            }
            HostFormat::Int32Lsb16 => {
                type $H = Int32In<16>;
                $body
            }
            HostFormat::Int32Lsb18 => {
                type $H = Int32In<18>;
                $body
            }
            HostFormat::Int32Lsb20 => {
                type $H = Int32In<20>;
                $body
            }
            HostFormat::Int32Lsb24 => {
                type $H = Int32In<24>;
                $body
            }
            HostFormat::Float32Lsb => {
                type $H = Float32;
                $body
            }
            HostFormat::Float64Lsb => {
                type $H = Float64;
                $body
            }
        }
    };
}

/// Expands `$body` with `$D` bound to the codec type of device format `$device`.
macro_rules! with_device_codec {
    ($device:expr, $D:ident => $body:expr) => {
        match $device {
            DeviceFormat::F32 => {
                type $D = Float32;
                $body
            }
            DeviceFormat::I16 => {
                type $D = Int16;
                $body
            }
            DeviceFormat::I24 => {
                type $D = Int24;
                $body
            }
            DeviceFormat::I32 => {
                type $D = Int32In<32>;
                $body
            }
        }
    };
}

/// Copies channel `channel` of the interleaved device frames in `src` (`src_channels`
/// samples of `src_format` per frame) into the host buffer `dst` (`dst_format`), converting
/// each sample as described in the [crate documentation](crate#numeric-rules).
///
/// Converts `min(src.len() / frame_bytes, dst.len() / host_sample_bytes)` frames and
/// returns that count; bytes of `dst` beyond them are untouched. Returns 0 without touching
/// anything when `channel >= src_channels`. Never panics, allocates or blocks.
pub fn device_to_host(
    src: &[u8],
    src_format: DeviceFormat,
    src_channels: usize,
    channel: usize,
    dst: &mut [u8],
    dst_format: HostFormat,
) -> usize {
    device_to_host_cpu(src, src_format, src_channels, channel, dst, dst_format)
}

/// [`device_to_host`]'s body, compiled once per CPU target; the first call picks the best
/// one for the running CPU.
#[multiversion(targets("x86_64+avx2", "x86+avx2"))]
fn device_to_host_cpu(
    src: &[u8],
    src_format: DeviceFormat,
    src_channels: usize,
    channel: usize,
    dst: &mut [u8],
    dst_format: HostFormat,
) -> usize {
    with_device_codec!(src_format, D => with_host_codec!(dst_format, H => {
        extract::<D, H>(src, src_channels, channel, dst)
    }))
}

/// Copies the host buffer `src` (`src_format`) into channel `channel` of the interleaved
/// device frames in `dst` (`dst_channels` samples of `dst_format` per frame), converting
/// each sample as described in the [crate documentation](crate#numeric-rules). The other
/// channels of `dst` are not touched.
///
/// Converts `min(src.len() / host_sample_bytes, dst.len() / frame_bytes)` frames and
/// returns that count. Returns 0 without touching anything when `channel >= dst_channels`.
/// Never panics, allocates or blocks.
pub fn host_to_device(
    src: &[u8],
    src_format: HostFormat,
    dst: &mut [u8],
    dst_format: DeviceFormat,
    dst_channels: usize,
    channel: usize,
) -> usize {
    host_to_device_cpu(src, src_format, dst, dst_format, dst_channels, channel)
}

/// [`host_to_device`]'s body, compiled once per CPU target.
#[multiversion(targets("x86_64+avx2", "x86+avx2"))]
fn host_to_device_cpu(
    src: &[u8],
    src_format: HostFormat,
    dst: &mut [u8],
    dst_format: DeviceFormat,
    dst_channels: usize,
    channel: usize,
) -> usize {
    with_device_codec!(dst_format, D => with_host_codec!(src_format, H => {
        insert::<H, D>(src, dst, dst_channels, channel)
    }))
}

/// The host buffers a whole-period capture conversion writes ([`device_to_host_period`]):
/// buffer `index` (for `index` in `0..count()`) receives device channel
/// `device_channel(index)`.
///
/// Implemented for `[&mut [u8]]` (buffer `i` is channel `i`) and `[(usize, &mut [u8])]`
/// (channel, buffer); the driver implements it over its ASIO buffer halves. The conversion
/// asks for the buffers once per block of frames: [`GROUP_CHANNELS`] at a time through
/// [`group_mut`](Self::group_mut) where consecutive buffers take consecutive device channels
/// (these are moved with register transposes), one at a time through
/// [`buffer_mut`](Self::buffer_mut) otherwise.
pub trait HostChannelsMut {
    /// Number of buffers.
    fn count(&self) -> usize;
    /// The device channel buffer `index` receives.
    fn device_channel(&self, index: usize) -> usize;
    /// Buffer `index` (an empty slice skips it).
    fn buffer_mut(&mut self, index: usize) -> &mut [u8];
    /// `Some(device_channel(first))` when buffers `first..first + GROUP_CHANNELS` exist and
    /// take consecutive device channels; `None` otherwise. The provided method asks
    /// [`device_channel`](Self::device_channel) for each; an implementation may answer
    /// faster, with the same result.
    fn consecutive(&self, first: usize) -> Option<usize> {
        consecutive_channels(first, self.count(), |i| self.device_channel(i))
    }
    /// Buffers `first..first + GROUP_CHANNELS`, all at once (the same buffers
    /// [`buffer_mut`](Self::buffer_mut) gives; an entry past `count()` is empty). A buffer
    /// left empty here only makes the conversion fall back to one buffer at a time.
    fn group_mut(&mut self, first: usize) -> [&mut [u8]; GROUP_CHANNELS];
}

/// The host buffers a whole-period playback conversion reads ([`host_to_device_period`]):
/// buffer `index` (for `index` in `0..count()`) goes to device channel
/// `device_channel(index)`. Implemented for `[&[u8]]`, `[&mut [u8]]` (buffer `i` is channel
/// `i`) and `[(usize, &[u8])]` (channel, buffer). Buffers are asked for as in
/// [`HostChannelsMut`].
pub trait HostChannels {
    /// Number of buffers.
    fn count(&self) -> usize;
    /// The device channel buffer `index` goes to.
    fn device_channel(&self, index: usize) -> usize;
    /// Buffer `index` (an empty slice skips it).
    fn buffer(&mut self, index: usize) -> &[u8];
    /// As [`HostChannelsMut::consecutive`].
    fn consecutive(&self, first: usize) -> Option<usize> {
        consecutive_channels(first, self.count(), |i| self.device_channel(i))
    }
    /// Buffers `first..first + GROUP_CHANNELS` at once, as
    /// [`HostChannelsMut::group_mut`].
    fn group(&mut self, first: usize) -> [&[u8]; GROUP_CHANNELS];
}

/// `Some(channel(first))` when `first + GROUP_CHANNELS <= count` and `channel(first + k)` is
/// `channel(first) + k` for every `k` below [`GROUP_CHANNELS`] (without overflow); `None`
/// otherwise. The default of [`HostChannelsMut::consecutive`] and
/// [`HostChannels::consecutive`], for implementations that answer it themselves.
pub fn consecutive_channels(
    first: usize,
    count: usize,
    channel: impl Fn(usize) -> usize,
) -> Option<usize> {
    if first.checked_add(GROUP_CHANNELS)? > count {
        return None;
    }
    let c0 = channel(first);
    c0.checked_add(GROUP_CHANNELS)?;
    (1..GROUP_CHANNELS)
        .all(|k| channel(first + k) == c0 + k)
        .then_some(c0)
}

/// Number of buffers [`HostChannelsMut::group_mut`] and [`HostChannels::group`] lend at once:
/// the channels one register transpose moves.
pub const GROUP_CHANNELS: usize = GROUP;

/// The first [`GROUP_CHANNELS`] items of `items` from `first` on, through `f`; empty slices
/// past the end.
fn group_of<'a, T: 'a, B: Default>(
    items: impl Iterator<Item = T>,
    f: impl Fn(T) -> B,
) -> [B; GROUP_CHANNELS] {
    let mut out: [B; GROUP_CHANNELS] = Default::default();
    for (o, item) in out.iter_mut().zip(items) {
        *o = f(item);
    }
    out
}

impl HostChannelsMut for [&mut [u8]] {
    fn count(&self) -> usize {
        self.len()
    }
    fn device_channel(&self, index: usize) -> usize {
        index
    }
    fn buffer_mut(&mut self, index: usize) -> &mut [u8] {
        self.get_mut(index).map_or(&mut [], |b| &mut **b)
    }
    fn group_mut(&mut self, first: usize) -> [&mut [u8]; GROUP_CHANNELS] {
        let rest = self.get_mut(first..).unwrap_or_default();
        group_of::<_, &mut [u8]>(rest.iter_mut(), |b| &mut **b)
    }
}

impl HostChannelsMut for [(usize, &mut [u8])] {
    fn count(&self) -> usize {
        self.len()
    }
    fn device_channel(&self, index: usize) -> usize {
        // Out of range: a channel no device has, so nothing is converted.
        self.get(index).map_or(usize::MAX, |(c, _)| *c)
    }
    fn buffer_mut(&mut self, index: usize) -> &mut [u8] {
        self.get_mut(index).map_or(&mut [], |(_, b)| &mut **b)
    }
    fn group_mut(&mut self, first: usize) -> [&mut [u8]; GROUP_CHANNELS] {
        let rest = self.get_mut(first..).unwrap_or_default();
        group_of::<_, &mut [u8]>(rest.iter_mut(), |(_, b)| &mut **b)
    }
}

impl HostChannels for [&[u8]] {
    fn count(&self) -> usize {
        self.len()
    }
    fn device_channel(&self, index: usize) -> usize {
        index
    }
    fn buffer(&mut self, index: usize) -> &[u8] {
        self.get(index).copied().unwrap_or_default()
    }
    fn group(&mut self, first: usize) -> [&[u8]; GROUP_CHANNELS] {
        let rest = self.get(first..).unwrap_or_default();
        group_of::<_, &[u8]>(rest.iter(), |b| *b)
    }
}

impl HostChannels for [&mut [u8]] {
    fn count(&self) -> usize {
        self.len()
    }
    fn device_channel(&self, index: usize) -> usize {
        index
    }
    fn buffer(&mut self, index: usize) -> &[u8] {
        self.get(index).map_or(&[], |b| &**b)
    }
    fn group(&mut self, first: usize) -> [&[u8]; GROUP_CHANNELS] {
        let rest = self.get(first..).unwrap_or_default();
        group_of::<_, &[u8]>(rest.iter(), |b| &**b)
    }
}

impl HostChannels for [(usize, &[u8])] {
    fn count(&self) -> usize {
        self.len()
    }
    fn device_channel(&self, index: usize) -> usize {
        self.get(index).map_or(usize::MAX, |(c, _)| *c)
    }
    fn buffer(&mut self, index: usize) -> &[u8] {
        self.get(index).map_or(&[], |(_, b)| *b)
    }
    fn group(&mut self, first: usize) -> [&[u8]; GROUP_CHANNELS] {
        let rest = self.get(first..).unwrap_or_default();
        group_of::<_, &[u8]>(rest.iter(), |(_, b)| *b)
    }
}

/// One whole period of capture: every buffer of `dst` receives its device channel of the
/// interleaved frames in `src` (`src_channels` samples of `src_format` per frame), with
/// exactly the result of calling [`device_to_host`] once per buffer.
///
/// One pass over `src`, in blocks of frames small enough to stay in the L1 cache while all
/// channels are taken out of them, instead of one strided pass over the whole period per
/// channel. Buffers whose channel is out of range are not touched; each buffer receives
/// `min(frames, its length / host_sample_bytes)` samples. Returns the number of whole frames
/// in `src` (0 when `src_channels` is 0). Never panics, allocates or blocks.
pub fn device_to_host_period<C: HostChannelsMut + ?Sized>(
    src: &[u8],
    src_format: DeviceFormat,
    src_channels: usize,
    dst: &mut C,
    dst_format: HostFormat,
) -> usize {
    device_to_host_period_cpu(
        src,
        src_format,
        src_channels,
        &mut ChannelsMutRef(dst),
        dst_format,
        Level::detect(),
    )
}

/// Forwards to a possibly unsized `HostChannelsMut`, so that the CPU-specific body can take
/// one `dyn` type.
struct ChannelsMutRef<'a, C: ?Sized>(&'a mut C);

impl<C: HostChannelsMut + ?Sized> HostChannelsMut for ChannelsMutRef<'_, C> {
    #[inline(always)]
    fn count(&self) -> usize {
        self.0.count()
    }
    #[inline(always)]
    fn device_channel(&self, index: usize) -> usize {
        self.0.device_channel(index)
    }
    #[inline(always)]
    fn buffer_mut(&mut self, index: usize) -> &mut [u8] {
        self.0.buffer_mut(index)
    }
    #[inline(always)]
    fn group_mut(&mut self, first: usize) -> [&mut [u8]; GROUP_CHANNELS] {
        self.0.group_mut(first)
    }
    #[inline(always)]
    fn consecutive(&self, first: usize) -> Option<usize> {
        self.0.consecutive(first)
    }
}

/// Forwards to a possibly unsized `HostChannels`.
struct ChannelsRef<'a, C: ?Sized>(&'a mut C);

impl<C: HostChannels + ?Sized> HostChannels for ChannelsRef<'_, C> {
    #[inline(always)]
    fn count(&self) -> usize {
        self.0.count()
    }
    #[inline(always)]
    fn device_channel(&self, index: usize) -> usize {
        self.0.device_channel(index)
    }
    #[inline(always)]
    fn buffer(&mut self, index: usize) -> &[u8] {
        self.0.buffer(index)
    }
    #[inline(always)]
    fn group(&mut self, first: usize) -> [&[u8]; GROUP_CHANNELS] {
        self.0.group(first)
    }
    #[inline(always)]
    fn consecutive(&self, first: usize) -> Option<usize> {
        self.0.consecutive(first)
    }
}

/// [`device_to_host_period`]'s body: picks the pair's function.
fn device_to_host_period_cpu(
    src: &[u8],
    src_format: DeviceFormat,
    src_channels: usize,
    dst: &mut dyn HostChannelsMut,
    dst_format: HostFormat,
    level: Level,
) -> usize {
    with_device_codec!(src_format, D => with_host_codec!(dst_format, H => {
        extract_period_cpu::<D, H>(src, src_channels, dst, level)
    }))
}

/// One pair's whole-period capture, compiled once per CPU target. One function per pair
/// (rather than one for all pairs) keeps each body small enough for the compiler to inline
/// and vectorise everything in it.
#[multiversion(targets("x86_64+avx2", "x86+avx2"))]
fn extract_period_cpu<D: Codec, H: Codec>(
    src: &[u8],
    channels: usize,
    dst: &mut dyn HostChannelsMut,
    level: Level,
) -> usize {
    extract_period::<D, H>(src, channels, dst, level)
}

/// One whole period of playback: every buffer of `src` goes into its device channel of the
/// interleaved frames in `dst` (`dst_channels` samples of `dst_format` per frame), with
/// exactly the result of calling [`host_to_device`] once per buffer; channels no buffer
/// names are not touched.
///
/// One pass over `dst` in L1-sized blocks of frames, as [`device_to_host_period`]. Each
/// buffer gives `min(frames, its length / host_sample_bytes)` samples. Returns the number of
/// whole frames in `dst` (0 when `dst_channels` is 0). Never panics, allocates or blocks.
pub fn host_to_device_period<C: HostChannels + ?Sized>(
    src: &mut C,
    src_format: HostFormat,
    dst: &mut [u8],
    dst_format: DeviceFormat,
    dst_channels: usize,
) -> usize {
    host_to_device_period_cpu(
        &mut ChannelsRef(src),
        src_format,
        dst,
        dst_format,
        dst_channels,
        Level::detect(),
    )
}

/// [`host_to_device_period`]'s body: picks the pair's function.
fn host_to_device_period_cpu(
    src: &mut dyn HostChannels,
    src_format: HostFormat,
    dst: &mut [u8],
    dst_format: DeviceFormat,
    dst_channels: usize,
    level: Level,
) -> usize {
    with_device_codec!(dst_format, D => with_host_codec!(src_format, H => {
        insert_period_cpu::<H, D>(src, dst, dst_channels, level)
    }))
}

/// One pair's whole-period playback, compiled once per CPU target (one function per pair,
/// as [`extract_period_cpu`]).
#[multiversion(targets("x86_64+avx2", "x86+avx2"))]
fn insert_period_cpu<H: Codec, D: Codec>(
    src: &mut dyn HostChannels,
    dst: &mut [u8],
    channels: usize,
    level: Level,
) -> usize {
    insert_period::<H, D>(src, dst, channels, level)
}

/// Writes silence (all-zero samples, which is 0 or +0.0 in every format) into channel
/// `channel` of the interleaved frames in `dst`, leaving the other channels untouched.
///
/// Returns the number of whole frames written (`dst.len() / frame_bytes`), or 0 when
/// `channel >= channels`. Never panics.
pub fn silence_device_channel(
    dst: &mut [u8],
    format: DeviceFormat,
    channels: usize,
    channel: usize,
) -> usize {
    #[inline(always)]
    fn fill<const B: usize>(dst: &mut [u8], (stride, offset): (usize, usize)) -> usize {
        let mut frames = 0;
        for frame in dst.chunks_exact_mut(stride) {
            if let Some(o) = frame
                .get_mut(offset..)
                .and_then(<[u8]>::first_chunk_mut::<B>)
            {
                *o = [0; B];
            }
            frames += 1;
        }
        frames
    }
    let Some(il) = layout(channels, channel, format.bytes_per_sample()) else {
        return 0;
    };
    match format {
        DeviceFormat::I16 => fill::<2>(dst, il),
        DeviceFormat::I24 => fill::<3>(dst, il),
        DeviceFormat::F32 | DeviceFormat::I32 => fill::<4>(dst, il),
    }
}

/// Writes silence into a whole host buffer: every byte becomes 0, which is a zero sample
/// in every [`HostFormat`].
pub fn silence_host(dst: &mut [u8]) {
    dst.fill(0);
}

#[cfg(test)]
mod tests;

#[cfg(test)]
mod equivalence;

#[cfg(test)]
mod transpose_tests;
