//! Register transposes between interleaved frames and per-channel buffers, vector packing
//! of 3-byte samples, and float to integer conversions that vectorise: the only module of
//! the crate with `unsafe` code.
//!
//! A group of [`GROUP`] consecutive channels of `W`-byte samples (`W` = 2 or 4) is moved
//! a few frames at a time: one vector load takes the group's samples of one frame, a fixed
//! sequence of unpack/shuffle instructions transposes frames × channels into channels ×
//! frames, and one vector store writes a few frames of one channel (and the reverse for
//! interleaving). Packed 3-byte samples (AVX2 only) are widened to 4 bytes by a byte
//! shuffle after loading exactly a frame's 24 bytes of the group, and narrowed back before
//! storing exactly 24 bytes; the same shuffles pack and unpack contiguous 3-byte buffers.
//! The instructions only move bits, so every value (NaN payloads included) arrives
//! unchanged.
//!
//! # Invariant
//!
//! Every `unsafe` block here is one of these:
//! - an unaligned vector load or store (`loadu`/`storeu`) whose whole extent lies inside a
//!   slice: each public function checks the slice lengths against the frames it will move
//!   *before* its loop, and the loop never leaves the checked range;
//! - a call to a `#[target_feature(enable = "avx2")]` function, made only through an
//!   [`Avx2`] token, which exists only after `is_x86_feature_detected!("avx2")` said yes;
//! - a call to a `#[target_feature(enable = "sse2")]` function, from code compiled only
//!   when SSE2 is enabled for the whole build;
//! - in [`f32_to_i32`] and [`round_clipped`], a float-to-integer conversion of a value
//!   first clipped into the `i32` range (NaN replaced).
//!
//! SSE2 needs no detection: it is part of every x86-64 CPU and enabled by the `i686`
//! targets Tenuto builds for (the module is compiled only where `target_feature = "sse2"`).
//! On other architectures the module offers no transposes and the callers use their scalar
//! loops.

/// Channels moved together by one transpose call.
pub(crate) const GROUP: usize = 8;

/// The instruction set the transposes may use.
#[derive(Clone, Copy)]
pub(crate) enum Level {
    /// No vector transposes (an architecture without SSE2).
    #[cfg_attr(
        all(
            any(target_arch = "x86", target_arch = "x86_64"),
            target_feature = "sse2"
        ),
        allow(dead_code)
    )]
    Scalar,
    /// SSE2 (x86 baseline).
    #[cfg(all(
        any(target_arch = "x86", target_arch = "x86_64"),
        target_feature = "sse2"
    ))]
    Sse2,
    /// AVX2, detected at run time.
    #[cfg(all(
        any(target_arch = "x86", target_arch = "x86_64"),
        target_feature = "sse2"
    ))]
    Avx2(Avx2),
}

impl Level {
    /// The best level the running CPU supports (the feature test is one cached atomic load).
    #[inline]
    pub(crate) fn detect() -> Level {
        #[cfg(all(
            any(target_arch = "x86", target_arch = "x86_64"),
            target_feature = "sse2"
        ))]
        {
            match Avx2::detect() {
                Some(t) => Level::Avx2(t),
                None => Level::Sse2,
            }
        }
        #[cfg(not(all(
            any(target_arch = "x86", target_arch = "x86_64"),
            target_feature = "sse2"
        )))]
        {
            Level::Scalar
        }
    }

    /// SSE2 at most, for tests of the baseline path on an AVX2 machine.
    #[cfg(test)]
    pub(crate) fn baseline() -> Level {
        #[cfg(all(
            any(target_arch = "x86", target_arch = "x86_64"),
            target_feature = "sse2"
        ))]
        {
            Level::Sse2
        }
        #[cfg(not(all(
            any(target_arch = "x86", target_arch = "x86_64"),
            target_feature = "sse2"
        )))]
        {
            Level::Scalar
        }
    }

    /// De-interleaves the [`GROUP`] consecutive `width`-byte channels that start at byte 0
    /// of `src` (frames of `stride` bytes) into `dst[c]` from byte `at` on, for as many of
    /// the first `n` frames as the transposes handle (a multiple of 4 or 8; 0 when `width`
    /// is not 2 or 4 or a slice is too short). Returns that frame count; the caller moves
    /// the rest.
    #[inline(always)]
    pub(crate) fn deinterleave(
        self,
        width: usize,
        src: &[u8],
        stride: usize,
        n: usize,
        dst: &mut [&mut [u8]; GROUP],
        at: usize,
    ) -> usize {
        #[cfg(not(all(
            any(target_arch = "x86", target_arch = "x86_64"),
            target_feature = "sse2"
        )))]
        let _ = (width, src, stride, n, dst, at);
        match self {
            Level::Scalar => 0,
            #[cfg(all(
                any(target_arch = "x86", target_arch = "x86_64"),
                target_feature = "sse2"
            ))]
            Level::Sse2 => match width {
                4 => {
                    // SAFETY: SSE2 is enabled for the whole build (module `cfg`).
                    unsafe { x86::deinterleave32_sse2(src, stride, n, dst, at) }
                }
                2 => {
                    // SAFETY: SSE2 is enabled for the whole build (module `cfg`).
                    unsafe { x86::deinterleave16_sse2(src, stride, n, dst, at) }
                }
                _ => 0,
            },
            #[cfg(all(
                any(target_arch = "x86", target_arch = "x86_64"),
                target_feature = "sse2"
            ))]
            Level::Avx2(t) => match width {
                4 => t.deinterleave32(src, stride, n, dst, at),
                // SAFETY: SSE2 is enabled for the whole build (module `cfg`).
                2 => unsafe { x86::deinterleave16_sse2(src, stride, n, dst, at) },
                _ => 0,
            },
        }
    }

    /// Interleaves `src[c]` from byte `at` on into the [`GROUP`] consecutive `width`-byte
    /// channels that start at byte 0 of `dst` (frames of `stride` bytes; the other bytes of
    /// each frame are not touched), for as many of the first `n` frames as the transposes
    /// handle. Returns that frame count, as [`Level::deinterleave`].
    #[inline(always)]
    pub(crate) fn interleave(
        self,
        width: usize,
        src: &[&[u8]; GROUP],
        at: usize,
        n: usize,
        dst: &mut [u8],
        stride: usize,
    ) -> usize {
        #[cfg(not(all(
            any(target_arch = "x86", target_arch = "x86_64"),
            target_feature = "sse2"
        )))]
        let _ = (width, src, at, n, dst, stride);
        match self {
            Level::Scalar => 0,
            #[cfg(all(
                any(target_arch = "x86", target_arch = "x86_64"),
                target_feature = "sse2"
            ))]
            Level::Sse2 => match width {
                4 => {
                    // SAFETY: SSE2 is enabled for the whole build (module `cfg`).
                    unsafe { x86::interleave32_sse2(src, at, n, dst, stride) }
                }
                2 => {
                    // SAFETY: SSE2 is enabled for the whole build (module `cfg`).
                    unsafe { x86::interleave16_sse2(src, at, n, dst, stride) }
                }
                _ => 0,
            },
            #[cfg(all(
                any(target_arch = "x86", target_arch = "x86_64"),
                target_feature = "sse2"
            ))]
            Level::Avx2(t) => match width {
                4 => t.interleave32(src, at, n, dst, stride),
                // SAFETY: SSE2 is enabled for the whole build (module `cfg`).
                2 => unsafe { x86::interleave16_sse2(src, at, n, dst, stride) },
                _ => 0,
            },
        }
    }
}

impl Level {
    /// Packed 3-byte samples: de-interleaves the [`GROUP`] consecutive channels that start at
    /// byte 0 of `src` (frames of `stride` bytes) into `dst[c]` from byte 0 on, each sample
    /// widened to 4 bytes, left-aligned (the 3 bytes above a zero byte: the `Int24Wide`
    /// form), for as many of the first `n` frames as the transposes handle (AVX2: a multiple
    /// of 8; 0 below AVX2, whose SSE2 has no byte shuffle, or when a slice is too short).
    /// Returns that frame count; the caller moves the rest.
    #[inline(always)]
    pub(crate) fn deinterleave24(
        self,
        src: &[u8],
        stride: usize,
        n: usize,
        dst: &mut [&mut [u8]; GROUP],
    ) -> usize {
        match self {
            #[cfg(all(
                any(target_arch = "x86", target_arch = "x86_64"),
                target_feature = "sse2"
            ))]
            Level::Avx2(t) => t.deinterleave24(src, stride, n, dst),
            _ => {
                let _ = (src, stride, n, dst);
                0
            }
        }
    }

    /// The reverse of [`Level::deinterleave24`]: the left-aligned 4-byte samples of `src[c]`
    /// (from byte 0) into the [`GROUP`] consecutive packed 3-byte channels at the start of
    /// `dst` (the low byte of each is dropped; the other bytes of each frame are not
    /// touched). Returns the frames done, as [`Level::deinterleave24`].
    #[inline(always)]
    pub(crate) fn interleave24(
        self,
        src: &[&[u8]; GROUP],
        n: usize,
        dst: &mut [u8],
        stride: usize,
    ) -> usize {
        match self {
            #[cfg(all(
                any(target_arch = "x86", target_arch = "x86_64"),
                target_feature = "sse2"
            ))]
            Level::Avx2(t) => t.interleave24(src, n, dst, stride),
            _ => {
                let _ = (src, n, dst, stride);
                0
            }
        }
    }

    /// The first `n` left-aligned 4-byte samples of `src` into packed 3-byte samples in
    /// `dst` (the low byte of each dropped), for as many as the vector code handles (AVX2: a
    /// multiple of 8, 0 otherwise). Returns that count; the caller packs the rest.
    #[inline(always)]
    pub(crate) fn pack24(self, src: &[u8], n: usize, dst: &mut [u8]) -> usize {
        match self {
            #[cfg(all(
                any(target_arch = "x86", target_arch = "x86_64"),
                target_feature = "sse2"
            ))]
            Level::Avx2(t) => t.pack24(src, n, dst),
            _ => {
                let _ = (src, n, dst);
                0
            }
        }
    }

    /// The first `n` packed 3-byte samples of `src` into left-aligned 4-byte samples in
    /// `dst` (low byte zero), as [`Level::pack24`] in reverse.
    #[inline(always)]
    pub(crate) fn unpack24(self, src: &[u8], n: usize, dst: &mut [u8]) -> usize {
        match self {
            #[cfg(all(
                any(target_arch = "x86", target_arch = "x86_64"),
                target_feature = "sse2"
            ))]
            Level::Avx2(t) => t.unpack24(src, n, dst),
            _ => {
                let _ = (src, n, dst);
                0
            }
        }
    }
}

#[cfg(all(
    any(target_arch = "x86", target_arch = "x86_64"),
    target_feature = "sse2"
))]
pub(crate) use x86::Avx2;

/// `x as i32` (round toward zero, NaN → 0, saturating at both ends), written so that a loop
/// of them vectorises: `as i32` itself compiles to a scalar conversion and fix-up per
/// sample, while this is a clamp, one truncating vector conversion and a select.
#[inline(always)]
pub(crate) fn f32_to_i32(x: f32) -> i32 {
    /// The largest `f32` below 2^31.
    const BELOW_2_31: f32 = 2_147_483_520.0;
    const MIN: f32 = -2_147_483_648.0;
    let big = x >= 2_147_483_648.0;
    let x = if x.is_nan() { 0.0 } else { x };
    let x = if x < MIN { MIN } else { x };
    let x = if x > BELOW_2_31 { BELOW_2_31 } else { x };
    // SAFETY: `x` is not NaN and lies in [-2^31, 2^31 - 128], so its truncation is an i32.
    let i = unsafe { x.to_int_unchecked::<i32>() };
    if big {
        i32::MAX
    } else {
        i
    }
}

/// `y` clipped to `[lo, hi]` (NaN to 0) and rounded to the nearest integer, ties to even
/// (in the default rounding mode), as an `i32`. `lo` and `hi` are first limited to
/// `[-2^23, 2^23]` (with constant bounds that costs nothing), so the clipped value `c`
/// always satisfies `|c| ≤ 2^23`.
///
/// Rounding: `c + ±2^23` (the sign of `c`) lands in `[2^23, 2^24]` in magnitude, where the
/// spacing of `f32`s is 1, so the addition rounds `c` at the units place (2^23 is even, so
/// ties go to even); subtracting `±2^23` again is exact. Clipping before rounding gives the
/// same result as after, because rounding is monotonic and the bounds are integers when the
/// caller passes integers. A loop of these vectorises to a multiply-free sequence of
/// compare, and, max, min, two adds and one truncating conversion (exact: the value is
/// already an integer).
#[inline(always)]
pub(crate) fn round_clipped(y: f32, lo: f32, hi: f32) -> i32 {
    const LIMIT: f32 = 8_388_608.0;
    let within = |b: f32, default: f32| {
        if (-LIMIT..=LIMIT).contains(&b) {
            b
        } else {
            default
        }
    };
    let lo = within(lo, -LIMIT);
    let hi = within(hi, LIMIT);
    let c = if y.is_nan() { 0.0 } else { y };
    let c = if c < lo { lo } else { c };
    let c = if c > hi { hi } else { c };
    let bias = LIMIT.copysign(c);
    let r = (c + bias) - bias;
    // SAFETY: `c` is not NaN and lies in [-2^23, 2^23] (both bounds were limited to that
    // range, and `c` is `lo`, `hi` or a value between them); `r` is `c` rounded to an integer
    // of the same range, which an i32 holds.
    unsafe { r.to_int_unchecked::<i32>() }
}

#[cfg(all(
    any(target_arch = "x86", target_arch = "x86_64"),
    target_feature = "sse2"
))]
mod x86 {
    #[cfg(target_arch = "x86")]
    use core::arch::x86::*;
    #[cfg(target_arch = "x86_64")]
    use core::arch::x86_64::*;

    use super::GROUP;

    /// Proof that the running CPU has AVX2: only [`Avx2::detect`] makes one.
    #[derive(Clone, Copy)]
    pub(crate) struct Avx2(());

    impl Avx2 {
        #[inline]
        pub(crate) fn detect() -> Option<Avx2> {
            std::arch::is_x86_feature_detected!("avx2").then_some(Avx2(()))
        }

        /// [`deinterleave32_avx2`] for the first `n` frames rounded down to 8.
        #[inline(always)]
        pub(crate) fn deinterleave32(
            self,
            src: &[u8],
            stride: usize,
            n: usize,
            dst: &mut [&mut [u8]; GROUP],
            at: usize,
        ) -> usize {
            let frames = n / 8 * 8;
            if frames == 0 || !fits_src(src, stride, frames, 32) || !fits_dst(dst, at, frames * 4) {
                return 0;
            }
            // SAFETY: `self` proves AVX2 is available; the slices were checked just above
            // for `frames` frames, the precondition of `deinterleave32_avx2`.
            unsafe { deinterleave32_avx2(src, stride, frames, dst, at) };
            frames
        }

        /// [`interleave32_avx2`] for the first `n` frames rounded down to 8.
        #[inline(always)]
        pub(crate) fn interleave32(
            self,
            src: &[&[u8]; GROUP],
            at: usize,
            n: usize,
            dst: &mut [u8],
            stride: usize,
        ) -> usize {
            let frames = n / 8 * 8;
            if frames == 0 || !fits_src(dst, stride, frames, 32) || !fits_srcs(src, at, frames * 4)
            {
                return 0;
            }
            // SAFETY: AVX2 is available (`self`); slices checked above for `frames` frames.
            unsafe { interleave32_avx2(src, at, frames, dst, stride) };
            frames
        }
    }

    impl Avx2 {
        /// [`deinterleave24_avx2`] for the first `n` frames rounded down to 8.
        #[inline(always)]
        pub(crate) fn deinterleave24(
            self,
            src: &[u8],
            stride: usize,
            n: usize,
            dst: &mut [&mut [u8]; GROUP],
        ) -> usize {
            let frames = n / 8 * 8;
            if frames == 0 || !fits_src(src, stride, frames, 24) || !fits_dst(dst, 0, frames * 4) {
                return 0;
            }
            // SAFETY: AVX2 is available (`self`); slices checked above for `frames` frames.
            unsafe { deinterleave24_avx2(src, stride, frames, dst) };
            frames
        }

        /// [`interleave24_avx2`] for the first `n` frames rounded down to 8.
        #[inline(always)]
        pub(crate) fn interleave24(
            self,
            src: &[&[u8]; GROUP],
            n: usize,
            dst: &mut [u8],
            stride: usize,
        ) -> usize {
            let frames = n / 8 * 8;
            if frames == 0 || !fits_src(dst, stride, frames, 24) || !fits_srcs(src, 0, frames * 4) {
                return 0;
            }
            // SAFETY: AVX2 is available (`self`); slices checked above for `frames` frames.
            unsafe { interleave24_avx2(src, frames, dst, stride) };
            frames
        }

        /// [`pack24_avx2`] for the first `n` samples rounded down to 8.
        #[inline(always)]
        pub(crate) fn pack24(self, src: &[u8], n: usize, dst: &mut [u8]) -> usize {
            let count = n / 8 * 8;
            if count == 0 || src.len() / 4 < count || dst.len() / 3 < count {
                return 0;
            }
            // SAFETY: AVX2 is available (`self`); `src` holds 4·count bytes, `dst` 3·count.
            unsafe { pack24_avx2(src, count, dst) };
            count
        }

        /// [`unpack24_avx2`] for the first `n` samples rounded down to 8.
        #[inline(always)]
        pub(crate) fn unpack24(self, src: &[u8], n: usize, dst: &mut [u8]) -> usize {
            let count = n / 8 * 8;
            if count == 0 || src.len() / 3 < count || dst.len() / 4 < count {
                return 0;
            }
            // SAFETY: AVX2 is available (`self`); `src` holds 3·count bytes, `dst` 4·count.
            unsafe { unpack24_avx2(src, count, dst) };
            count
        }
    }

    /// Loads the 24 bytes at `p` (eight packed 3-byte samples) and widens them to eight
    /// left-aligned 32-bit lanes: the low 128-bit lane takes bytes 0..16 (samples 0-3 at
    /// bytes 0..12), the high one bytes 8..24 (samples 4-7 at its bytes 4..16), and one
    /// byte shuffle per lane puts each sample's 3 bytes above a zero byte.
    ///
    /// # Safety
    /// The CPU has AVX2; the 24 bytes from `p` on are readable.
    #[inline]
    #[target_feature(enable = "avx2")]
    unsafe fn load_expand24(p: *const u8) -> __m256i {
        // SAFETY: bytes 0..16 and 8..24 from `p` are within the 24 readable ones.
        let (lo, hi) = unsafe { (_mm_loadu_si128(p.cast()), _mm_loadu_si128(p.add(8).cast())) };
        let v = _mm256_inserti128_si256::<1>(_mm256_castsi128_si256(lo), hi);
        #[rustfmt::skip]
        let control = _mm256_setr_epi8(
            -1, 0, 1, 2, -1, 3, 4, 5, -1, 6, 7, 8, -1, 9, 10, 11,
            -1, 4, 5, 6, -1, 7, 8, 9, -1, 10, 11, 12, -1, 13, 14, 15,
        );
        _mm256_shuffle_epi8(v, control)
    }

    /// Stores the top 3 bytes of each of the eight 32-bit lanes of `v` as 24 packed bytes
    /// at `p`: a byte shuffle per lane gathers each lane's 12 bytes at its start, a lane
    /// permute joins them, and a 16-byte and an 8-byte store write exactly 24 bytes.
    ///
    /// # Safety
    /// The CPU has AVX2; the 24 bytes from `p` on are writable.
    #[inline]
    #[target_feature(enable = "avx2")]
    unsafe fn store_compress24(p: *mut u8, v: __m256i) {
        #[rustfmt::skip]
        let control = _mm256_setr_epi8(
            1, 2, 3, 5, 6, 7, 9, 10, 11, 13, 14, 15, -1, -1, -1, -1,
            1, 2, 3, 5, 6, 7, 9, 10, 11, 13, 14, 15, -1, -1, -1, -1,
        );
        let packed = _mm256_shuffle_epi8(v, control);
        let joined = _mm256_permutevar8x32_epi32(packed, _mm256_setr_epi32(0, 1, 2, 4, 5, 6, 7, 7));
        // SAFETY: bytes 0..16 and 16..24 from `p` are within the 24 writable ones.
        unsafe {
            _mm_storeu_si128(p.cast(), _mm256_castsi256_si128(joined));
            _mm_storel_epi64(p.add(16).cast(), _mm256_extracti128_si256::<1>(joined));
        }
    }

    /// # Safety
    /// The CPU has AVX2; `frames` is a non-zero multiple of 8; `src` holds
    /// `(frames - 1) * stride + 24` bytes and every `dst[c]` at least `frames * 4`.
    #[inline]
    #[target_feature(enable = "avx2")]
    unsafe fn deinterleave24_avx2(
        src: &[u8],
        stride: usize,
        frames: usize,
        dst: &mut [&mut [u8]; GROUP],
    ) {
        let s = src.as_ptr();
        let mut f = 0;
        while f < frames {
            let mut rows = [_mm256_setzero_ps(); 8];
            for (k, row) in rows.iter_mut().enumerate() {
                // SAFETY: frame f + k < frames; its first 24 bytes are within the checked
                // length.
                *row = _mm256_castsi256_ps(unsafe { load_expand24(s.add((f + k) * stride)) });
            }
            for (d, col) in dst.iter_mut().zip(transpose8x8(rows)) {
                // SAFETY: bytes 4f..4f+32 lie within the checked `frames * 4`.
                unsafe { _mm256_storeu_ps(d.as_mut_ptr().add(f * 4).cast(), col) };
            }
            f += 8;
        }
    }

    /// # Safety
    /// As [`deinterleave24_avx2`], with `src` and `dst` swapped.
    #[inline]
    #[target_feature(enable = "avx2")]
    unsafe fn interleave24_avx2(
        src: &[&[u8]; GROUP],
        frames: usize,
        dst: &mut [u8],
        stride: usize,
    ) {
        let d = dst.as_mut_ptr();
        let mut f = 0;
        while f < frames {
            let mut rows = [_mm256_setzero_ps(); 8];
            for (row, s) in rows.iter_mut().zip(src) {
                // SAFETY: bytes 4f..4f+32 lie within the checked `frames * 4`.
                *row = unsafe { _mm256_loadu_ps(s.as_ptr().add(f * 4).cast()) };
            }
            for (k, fr) in transpose8x8(rows).into_iter().enumerate() {
                // SAFETY: frame f + k < frames; its first 24 bytes are within the checked
                // length.
                unsafe { store_compress24(d.add((f + k) * stride), _mm256_castps_si256(fr)) };
            }
            f += 8;
        }
    }

    /// # Safety
    /// The CPU has AVX2; `count` is a multiple of 8; `src` holds `count * 4` bytes and
    /// `dst` `count * 3`.
    #[inline]
    #[target_feature(enable = "avx2")]
    unsafe fn pack24_avx2(src: &[u8], count: usize, dst: &mut [u8]) {
        let (s, d) = (src.as_ptr(), dst.as_mut_ptr());
        let mut i = 0;
        while i < count {
            // SAFETY: samples i..i+8 < count: bytes 4i..4i+32 of `src` and 3i..3i+24 of
            // `dst` are within the checked lengths.
            unsafe { store_compress24(d.add(i * 3), _mm256_loadu_si256(s.add(i * 4).cast())) };
            i += 8;
        }
    }

    /// # Safety
    /// The CPU has AVX2; `count` is a multiple of 8; `src` holds `count * 3` bytes and
    /// `dst` `count * 4`.
    #[inline]
    #[target_feature(enable = "avx2")]
    unsafe fn unpack24_avx2(src: &[u8], count: usize, dst: &mut [u8]) {
        let (s, d) = (src.as_ptr(), dst.as_mut_ptr());
        let mut i = 0;
        while i < count {
            // SAFETY: samples i..i+8 < count: bytes 3i..3i+24 of `src` and 4i..4i+32 of
            // `dst` are within the checked lengths.
            unsafe { _mm256_storeu_si256(d.add(i * 4).cast(), load_expand24(s.add(i * 3))) };
            i += 8;
        }
    }

    /// Whether `frames` frames of `stride` bytes, of which the first `bytes` are accessed,
    /// lie inside `buf`.
    #[inline(always)]
    fn fits_src(buf: &[u8], stride: usize, frames: usize, bytes: usize) -> bool {
        stride
            .checked_mul(frames - 1)
            .and_then(|o| o.checked_add(bytes))
            .is_some_and(|end| end <= buf.len())
    }

    /// Whether every buffer holds `bytes` bytes from byte `at` on.
    #[inline(always)]
    fn fits_dst(bufs: &[&mut [u8]; GROUP], at: usize, bytes: usize) -> bool {
        at.checked_add(bytes)
            .is_some_and(|end| bufs.iter().all(|b| b.len() >= end))
    }

    #[inline(always)]
    fn fits_srcs(bufs: &[&[u8]; GROUP], at: usize, bytes: usize) -> bool {
        at.checked_add(bytes)
            .is_some_and(|end| bufs.iter().all(|b| b.len() >= end))
    }

    /// Transposes an 8×8 matrix of 32-bit lanes held as eight rows.
    #[inline]
    #[target_feature(enable = "avx2")]
    fn transpose8x8(r: [__m256; 8]) -> [__m256; 8] {
        let [r0, r1, r2, r3, r4, r5, r6, r7] = r;
        // Pairs of rows: (a0 b0 a1 b1 | a4 b4 a5 b5) and (a2 b2 a3 b3 | a6 b6 a7 b7).
        let t0 = _mm256_unpacklo_ps(r0, r1);
        let t1 = _mm256_unpackhi_ps(r0, r1);
        let t2 = _mm256_unpacklo_ps(r2, r3);
        let t3 = _mm256_unpackhi_ps(r2, r3);
        let t4 = _mm256_unpacklo_ps(r4, r5);
        let t5 = _mm256_unpackhi_ps(r4, r5);
        let t6 = _mm256_unpacklo_ps(r6, r7);
        let t7 = _mm256_unpackhi_ps(r6, r7);
        // Quads of rows: (a0 b0 c0 d0 | a4 b4 c4 d4) etc.
        let u0 = _mm256_shuffle_ps::<0x44>(t0, t2);
        let u1 = _mm256_shuffle_ps::<0xEE>(t0, t2);
        let u2 = _mm256_shuffle_ps::<0x44>(t1, t3);
        let u3 = _mm256_shuffle_ps::<0xEE>(t1, t3);
        let u4 = _mm256_shuffle_ps::<0x44>(t4, t6);
        let u5 = _mm256_shuffle_ps::<0xEE>(t4, t6);
        let u6 = _mm256_shuffle_ps::<0x44>(t5, t7);
        let u7 = _mm256_shuffle_ps::<0xEE>(t5, t7);
        // Low halves of both quads give columns 0-3, high halves columns 4-7.
        [
            _mm256_permute2f128_ps::<0x20>(u0, u4),
            _mm256_permute2f128_ps::<0x20>(u1, u5),
            _mm256_permute2f128_ps::<0x20>(u2, u6),
            _mm256_permute2f128_ps::<0x20>(u3, u7),
            _mm256_permute2f128_ps::<0x31>(u0, u4),
            _mm256_permute2f128_ps::<0x31>(u1, u5),
            _mm256_permute2f128_ps::<0x31>(u2, u6),
            _mm256_permute2f128_ps::<0x31>(u3, u7),
        ]
    }

    /// # Safety
    /// The CPU has AVX2; `frames` is a non-zero multiple of 8; `src` holds
    /// `(frames - 1) * stride + 32` bytes and every `dst[c]` at least `at + frames * 4`.
    #[inline]
    #[target_feature(enable = "avx2")]
    unsafe fn deinterleave32_avx2(
        src: &[u8],
        stride: usize,
        frames: usize,
        dst: &mut [&mut [u8]; GROUP],
        at: usize,
    ) {
        let s = src.as_ptr();
        let mut f = 0;
        while f < frames {
            let mut rows = [_mm256_setzero_ps(); 8];
            for (k, row) in rows.iter_mut().enumerate() {
                // SAFETY: frame f + k < frames; its 32 bytes end within the checked length.
                *row = unsafe { _mm256_loadu_ps(s.add((f + k) * stride).cast()) };
            }
            let cols = transpose8x8(rows);
            for (d, col) in dst.iter_mut().zip(cols) {
                // SAFETY: bytes at+4f..at+4f+32 lie within the checked `at + frames * 4`.
                unsafe { _mm256_storeu_ps(d.as_mut_ptr().add(at + f * 4).cast(), col) };
            }
            f += 8;
        }
    }

    /// # Safety
    /// As [`deinterleave32_avx2`], with `src` and `dst` swapped.
    #[inline]
    #[target_feature(enable = "avx2")]
    unsafe fn interleave32_avx2(
        src: &[&[u8]; GROUP],
        at: usize,
        frames: usize,
        dst: &mut [u8],
        stride: usize,
    ) {
        let d = dst.as_mut_ptr();
        let mut f = 0;
        while f < frames {
            let mut rows = [_mm256_setzero_ps(); 8];
            for (row, s) in rows.iter_mut().zip(src) {
                // SAFETY: bytes at+4f..at+4f+32 lie within the checked `at + frames * 4`.
                *row = unsafe { _mm256_loadu_ps(s.as_ptr().add(at + f * 4).cast()) };
            }
            let frames8 = transpose8x8(rows);
            for (k, fr) in frames8.into_iter().enumerate() {
                // SAFETY: frame f + k < frames; its first 32 bytes are within the checked
                // length.
                unsafe { _mm256_storeu_ps(d.add((f + k) * stride).cast(), fr) };
            }
            f += 8;
        }
    }

    /// Transposes a 4×4 matrix of 32-bit lanes held as four rows.
    #[inline]
    #[target_feature(enable = "sse2")]
    fn transpose4x4(r0: __m128, r1: __m128, r2: __m128, r3: __m128) -> [__m128; 4] {
        let t0 = _mm_unpacklo_ps(r0, r1);
        let t1 = _mm_unpacklo_ps(r2, r3);
        let t2 = _mm_unpackhi_ps(r0, r1);
        let t3 = _mm_unpackhi_ps(r2, r3);
        [
            _mm_movelh_ps(t0, t1),
            _mm_movehl_ps(t1, t0),
            _mm_movelh_ps(t2, t3),
            _mm_movehl_ps(t3, t2),
        ]
    }

    /// 32-bit lanes, 8 channels, 4 frames per step as two 4×4 transposes.
    #[inline]
    #[target_feature(enable = "sse2")]
    pub(super) fn deinterleave32_sse2(
        src: &[u8],
        stride: usize,
        n: usize,
        dst: &mut [&mut [u8]; GROUP],
        at: usize,
    ) -> usize {
        let frames = n / 4 * 4;
        if frames == 0 || !fits_src(src, stride, frames, 32) || !fits_dst(dst, at, frames * 4) {
            return 0;
        }
        let s = src.as_ptr();
        let mut f = 0;
        while f < frames {
            for half in 0..2 {
                let mut rows = [_mm_setzero_ps(); 4];
                for (k, row) in rows.iter_mut().enumerate() {
                    // SAFETY: frame f + k < frames; bytes 16·half..16·half+16 of it are within
                    // the 32 checked above.
                    *row = unsafe { _mm_loadu_ps(s.add((f + k) * stride + 16 * half).cast()) };
                }
                let cols = transpose4x4(rows[0], rows[1], rows[2], rows[3]);
                for (d, col) in dst.iter_mut().skip(4 * half).zip(cols) {
                    // SAFETY: bytes at+4f..at+4f+16 lie within the checked `at + frames * 4`.
                    unsafe { _mm_storeu_ps(d.as_mut_ptr().add(at + f * 4).cast(), col) };
                }
            }
            f += 4;
        }
        frames
    }

    #[inline]
    #[target_feature(enable = "sse2")]
    pub(super) fn interleave32_sse2(
        src: &[&[u8]; GROUP],
        at: usize,
        n: usize,
        dst: &mut [u8],
        stride: usize,
    ) -> usize {
        let frames = n / 4 * 4;
        if frames == 0 || !fits_src(dst, stride, frames, 32) || !fits_srcs(src, at, frames * 4) {
            return 0;
        }
        let d = dst.as_mut_ptr();
        let mut f = 0;
        while f < frames {
            for half in 0..2 {
                let mut rows = [_mm_setzero_ps(); 4];
                for (row, s) in rows.iter_mut().zip(src.iter().skip(4 * half)) {
                    // SAFETY: bytes at+4f..at+4f+16 lie within the checked `at + frames * 4`.
                    *row = unsafe { _mm_loadu_ps(s.as_ptr().add(at + f * 4).cast()) };
                }
                let out = transpose4x4(rows[0], rows[1], rows[2], rows[3]);
                for (k, fr) in out.into_iter().enumerate() {
                    // SAFETY: frame f + k < frames; its bytes 16·half..16·half+16 are within
                    // the 32 checked above.
                    unsafe { _mm_storeu_ps(d.add((f + k) * stride + 16 * half).cast(), fr) };
                }
            }
            f += 4;
        }
        frames
    }

    /// Transposes an 8×8 matrix of 16-bit lanes held as eight rows.
    #[inline]
    #[target_feature(enable = "sse2")]
    fn transpose8x8_16(r: [__m128i; 8]) -> [__m128i; 8] {
        let [r0, r1, r2, r3, r4, r5, r6, r7] = r;
        let a0 = _mm_unpacklo_epi16(r0, r1);
        let a1 = _mm_unpackhi_epi16(r0, r1);
        let a2 = _mm_unpacklo_epi16(r2, r3);
        let a3 = _mm_unpackhi_epi16(r2, r3);
        let a4 = _mm_unpacklo_epi16(r4, r5);
        let a5 = _mm_unpackhi_epi16(r4, r5);
        let a6 = _mm_unpacklo_epi16(r6, r7);
        let a7 = _mm_unpackhi_epi16(r6, r7);
        let b0 = _mm_unpacklo_epi32(a0, a2);
        let b1 = _mm_unpackhi_epi32(a0, a2);
        let b2 = _mm_unpacklo_epi32(a1, a3);
        let b3 = _mm_unpackhi_epi32(a1, a3);
        let b4 = _mm_unpacklo_epi32(a4, a6);
        let b5 = _mm_unpackhi_epi32(a4, a6);
        let b6 = _mm_unpacklo_epi32(a5, a7);
        let b7 = _mm_unpackhi_epi32(a5, a7);
        [
            _mm_unpacklo_epi64(b0, b4),
            _mm_unpackhi_epi64(b0, b4),
            _mm_unpacklo_epi64(b1, b5),
            _mm_unpackhi_epi64(b1, b5),
            _mm_unpacklo_epi64(b2, b6),
            _mm_unpackhi_epi64(b2, b6),
            _mm_unpacklo_epi64(b3, b7),
            _mm_unpackhi_epi64(b3, b7),
        ]
    }

    /// 16-bit lanes, 8 channels, 8 frames per step.
    #[inline]
    #[target_feature(enable = "sse2")]
    pub(super) fn deinterleave16_sse2(
        src: &[u8],
        stride: usize,
        n: usize,
        dst: &mut [&mut [u8]; GROUP],
        at: usize,
    ) -> usize {
        let frames = n / 8 * 8;
        if frames == 0 || !fits_src(src, stride, frames, 16) || !fits_dst(dst, at, frames * 2) {
            return 0;
        }
        let s = src.as_ptr();
        let mut f = 0;
        while f < frames {
            let mut rows = [_mm_setzero_si128(); 8];
            for (k, row) in rows.iter_mut().enumerate() {
                // SAFETY: frame f + k < frames; its 16 bytes end within the checked length.
                *row = unsafe { _mm_loadu_si128(s.add((f + k) * stride).cast()) };
            }
            for (d, col) in dst.iter_mut().zip(transpose8x8_16(rows)) {
                // SAFETY: bytes at+2f..at+2f+16 lie within the checked `at + frames * 2`.
                unsafe { _mm_storeu_si128(d.as_mut_ptr().add(at + f * 2).cast(), col) };
            }
            f += 8;
        }
        frames
    }

    #[inline]
    #[target_feature(enable = "sse2")]
    pub(super) fn interleave16_sse2(
        src: &[&[u8]; GROUP],
        at: usize,
        n: usize,
        dst: &mut [u8],
        stride: usize,
    ) -> usize {
        let frames = n / 8 * 8;
        if frames == 0 || !fits_src(dst, stride, frames, 16) || !fits_srcs(src, at, frames * 2) {
            return 0;
        }
        let d = dst.as_mut_ptr();
        let mut f = 0;
        while f < frames {
            let mut rows = [_mm_setzero_si128(); 8];
            for (row, s) in rows.iter_mut().zip(src) {
                // SAFETY: bytes at+2f..at+2f+16 lie within the checked `at + frames * 2`.
                *row = unsafe { _mm_loadu_si128(s.as_ptr().add(at + f * 2).cast()) };
            }
            for (k, fr) in transpose8x8_16(rows).into_iter().enumerate() {
                // SAFETY: frame f + k < frames; its 16 bytes end within the checked length.
                unsafe { _mm_storeu_si128(d.add((f + k) * stride).cast(), fr) };
            }
            f += 8;
        }
        frames
    }
}
