//! A real-time-safe sample-rate converter for interleaved `f32` frames, with a continuously
//! variable ratio for drift steering.
//!
//! # Design
//!
//! A polyphase windowed-sinc interpolator (bandlimited interpolation). One kernel `h`, a sinc
//! cut off halfway through the transition band times a Kaiser window designed for 115 dB,
//! is tabulated at construction in f64 and stored as f32 at `L + 1` fractional positions per
//! input frame (`L` = 512 for upsampling, `512 · out/in` when the kernel is stretched for
//! downsampling). Each output frame sits at a fractional input position `t`, tracked in f64;
//! its coefficients are the linear interpolation of the two table rows around `t`'s fraction
//! (computed once per output frame and shared by every channel), and each channel's sample
//! is the dot product of those coefficients with the channel's last `taps` input frames,
//! kept planar (deinterleaved) so that the dot product runs over contiguous memory in
//! sixteen independent f32 lanes (four SSE registers).
//!
//! The filter's passband ends at 20 kHz, or 4 kHz below the lower rate's Nyquist frequency
//! when that is higher (40.1 kHz at 88.2 kHz, 44 kHz at 96 kHz, …); its stopband starts at the
//! lower rate's Nyquist frequency, so everything that would alias or image is attenuated.
//! Taps (input frames under the kernel): 168 for 44.1 kHz → higher rates, 96 for 48 kHz →
//! higher, and about ×`in/out` when downsampling (176 for 48 → 44.1, 184 for 96 → 48, 704 for
//! 192 → 44.1 kHz). See `docs/RESAMPLER.md` for the figures.
//!
//! The step between output frames is `input_rate / output_rate × adjust`, where `adjust`
//! ([`Resampler::set_ratio_adjust`], ±1 % at most) is the drift-steering factor: the input
//! is consumed `adjust` times faster than nominal. A new factor is reached by a linear ramp
//! of the step over [`Resampler::ramp_frames`] output frames, so the output's phase and
//! its instantaneous frequency are both continuous: a control loop may set a new factor every
//! period without clicks.
//!
//! # Delay
//!
//! The kernel is linear-phase, so every frequency is delayed alike: an input event at input
//! frame `i` appears at output frame `(i + taps / 2) / step`, i.e. after
//! [`Resampler::delay_frames`] = `taps / 2 / step` output frames (fractional: 91.43 frames =
//! 1.905 ms at 44.1 → 48 kHz, 80.85 frames = 1.833 ms at 48 → 44.1 kHz, 1.0 ms at 48 → 96 kHz,
//! 0.958 ms at 96 → 48 kHz). The first output frame needs only the first
//! input frame (the history starts as `taps − 1` frames of silence), so the delay is the only
//! latency the resampler adds: a driver that feeds it exactly
//! [`Resampler::input_frames_needed`] frames per period keeps no extra frames queued.
//!
//! # Real-time guarantees
//!
//! [`Resampler::new`] and [`Resampler::reset`] allocate (new) or touch (reset) every buffer.
//! [`Resampler::process`], [`Resampler::input_frames_needed`],
//! [`Resampler::output_frames_available`], [`Resampler::set_ratio_adjust`] and the getters do
//! not allocate, lock, or take any panicking path: all slice access is through `get`,
//! iterators or `chunks_exact` (whose chunk sizes, the channel count and the history capacity,
//! are non-zero by construction), the one `copy_within` moves a range just obtained with
//! `get`, arithmetic cannot overflow given the invariants stated on the fields, and no
//! `unwrap`/`expect` exists in the crate's non-test code. The counting
//! allocator test (`tests/no_alloc.rs`) shows the absence of allocation.
//!
//! # Quality (measured, see docs/RESAMPLER.md)
//!
//! For every pair of 44.1/48/88.2/96/176.4/192 kHz tested, and with a drifting ratio:
//! passband ripple under 0.001 dB up to 20 kHz, aliases and images at −115 dB or lower,
//! THD+N of a 1 kHz tone about −140 dB (the f32 floor); the tests in `tests/quality.rs` hold
//! it to the limits (0.1 dB, −100 dB, −100 dB).

#![forbid(unsafe_code)]

mod design;

/// Largest drift-steering deviation [`Resampler::set_ratio_adjust`] accepts: ±1 %
/// (10 000 ppm). The filter's transition band leaves room for it: at 1 % the folding
/// frequency moves by 1 % of the lower Nyquist frequency, still above the passband.
pub const MAX_ADJUST: f64 = 0.01;

/// Lowest and highest sample rate accepted, Hz.
pub const RATE_RANGE: (u32, u32) = (8_000, 768_000);

/// Largest ratio between the two rates, either way.
pub const MAX_RATIO: u32 = 16;

/// Most channels accepted.
pub const MAX_CHANNELS: usize = 1024;

/// Why a resampler cannot be built.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    /// A rate is outside [`RATE_RANGE`].
    #[error("sample rate {0} Hz is outside 8000..=768000 Hz")]
    Rate(u32),
    /// The rates are more than [`MAX_RATIO`] apart.
    #[error("the ratio {input} Hz → {output} Hz exceeds 16")]
    Ratio {
        /// Input rate, Hz.
        input: u32,
        /// Output rate, Hz.
        output: u32,
    },
    /// The channel count is 0 or above [`MAX_CHANNELS`].
    #[error("{0} channels: 1..=1024 are supported")]
    Channels(usize),
}

/// Where the next output frame sits, and how the step evolves. `Copy` so that the look-ahead
/// queries run the very same arithmetic as [`Resampler::process`] on a copy.
#[derive(Debug, Clone, Copy)]
struct Cursor {
    /// History index of the first input frame under the kernel for the next output frame.
    base: usize,
    /// Fractional input position of the next output frame past `base`'s centre, in [0, 1).
    frac: f64,
    /// Input frames per output frame now.
    step: f64,
    /// The step the ramp ends at.
    target: f64,
    /// Added to `step` per output frame while `ramp_left > 0`.
    increment: f64,
    /// Output frames left in the ramp.
    ramp_left: u32,
}

impl Cursor {
    /// Moves to the next output frame. `frac` stays in [0, 1); `base` grows by at most
    /// `ceil(max step)` ≤ 17 per call.
    #[inline]
    fn advance(&mut self) {
        if self.ramp_left > 0 {
            self.ramp_left -= 1;
            self.step = if self.ramp_left == 0 {
                self.target
            } else {
                self.step + self.increment
            };
        }
        let next = self.frac + self.step;
        // `next` is positive, so truncation is the floor (and compiles to one instruction,
        // where `floor` may be a library call); it is in 0..=17 (frac < 1, step ≤ 16 × 1.01).
        let whole = next as usize;
        self.frac = next - whole as f64;
        self.base += whole;
    }
}

/// A resampler for `channels` interleaved channels from `input_rate` to `output_rate`.
///
/// Feed input frames and take output frames with [`process`](Self::process); ask
/// [`input_frames_needed`](Self::input_frames_needed) how many input frames a given number of
/// output frames needs (capture: a device at rate A fills an ASIO period at rate B), or
/// [`output_frames_available`](Self::output_frames_available) how many output frames some
/// input frames give (render: an ASIO period at rate B becomes device frames at rate A).
#[derive(Debug, Clone)]
pub struct Resampler {
    input_rate: u32,
    output_rate: u32,
    channels: usize,
    /// Input frames under the kernel, a multiple of 8.
    taps: usize,
    /// Table rows per input frame (the table has one more).
    phases: usize,
    /// `(phases + 1) × taps` coefficients, see `design::Design::table`.
    table: Vec<f32>,
    /// Passband edge, Hz.
    passband_hz: f64,
    /// Stopband edge, Hz.
    stopband_hz: f64,
    /// One output frame's interpolated coefficients, `taps` long.
    coefs: Vec<f32>,
    /// Planar input history: channel `c` is `history[c × capacity .. (c + 1) × capacity]`.
    history: Vec<f32>,
    /// Frames per channel in `history`: at least `2 × taps`, so that after moving the frames
    /// still needed to the front (at most `taps`) there is room for a full window.
    capacity: usize,
    /// Valid frames per channel. Invariant: `len ≤ cursor.base + taps` and `len ≤ capacity`.
    len: usize,
    cursor: Cursor,
    /// Input frames per output frame at the nominal rates.
    nominal_step: f64,
    /// The drift-steering factor last set (clamped).
    adjust: f64,
    /// Length of the ramp to a new factor, output frames.
    ramp_frames: u32,
}

impl Resampler {
    /// Builds a resampler, allocating every buffer it will use. The ramp to a new
    /// [`set_ratio_adjust`](Self::set_ratio_adjust) factor defaults to 10 ms of output.
    pub fn new(input_rate: u32, output_rate: u32, channels: usize) -> Result<Self, Error> {
        for rate in [input_rate, output_rate] {
            if !(RATE_RANGE.0..=RATE_RANGE.1).contains(&rate) {
                return Err(Error::Rate(rate));
            }
        }
        let (low, high) = (input_rate.min(output_rate), input_rate.max(output_rate));
        if u64::from(high) > u64::from(low) * u64::from(MAX_RATIO) {
            return Err(Error::Ratio {
                input: input_rate,
                output: output_rate,
            });
        }
        if channels == 0 || channels > MAX_CHANNELS {
            return Err(Error::Channels(channels));
        }
        let d = design::design(input_rate, output_rate);
        let capacity = d.taps + d.taps.max(1024);
        let nominal_step = f64::from(input_rate) / f64::from(output_rate);
        let mut resampler = Resampler {
            input_rate,
            output_rate,
            channels,
            taps: d.taps,
            phases: d.phases,
            table: d.table,
            passband_hz: d.passband_hz,
            stopband_hz: d.stopband_hz,
            coefs: vec![0.0; d.taps],
            history: vec![0.0; channels * capacity],
            capacity,
            len: 0,
            cursor: Cursor {
                base: 0,
                frac: 0.0,
                step: nominal_step,
                target: nominal_step,
                increment: 0.0,
                ramp_left: 0,
            },
            nominal_step,
            adjust: 1.0,
            ramp_frames: output_rate / 100,
        };
        resampler.reset();
        Ok(resampler)
    }

    /// Back to the state right after [`new`](Self::new): silent history, nominal ratio, the
    /// next input frame is the stream's first. Touches every buffer; does not allocate.
    pub fn reset(&mut self) {
        self.history.iter_mut().for_each(|s| *s = 0.0);
        self.coefs.iter_mut().for_each(|s| *s = 0.0);
        // `taps − 1` frames of silence precede the first input frame: the first output
        // frame's window ends on it.
        self.len = self.taps - 1;
        self.adjust = 1.0;
        self.cursor = Cursor {
            base: 0,
            frac: 0.0,
            step: self.nominal_step,
            target: self.nominal_step,
            increment: 0.0,
            ramp_left: 0,
        };
    }

    /// Input rate, Hz.
    pub fn input_rate(&self) -> u32 {
        self.input_rate
    }

    /// Output rate, Hz.
    pub fn output_rate(&self) -> u32 {
        self.output_rate
    }

    /// Channels per frame, in and out.
    pub fn channels(&self) -> usize {
        self.channels
    }

    /// Input frames under the kernel (the filter's length).
    pub fn taps(&self) -> usize {
        self.taps
    }

    /// Upper edge of the passband (flat to within the measured ripple), Hz.
    pub fn passband_hz(&self) -> f64 {
        self.passband_hz
    }

    /// Lower edge of the stopband, Hz: the lower rate's Nyquist frequency.
    pub fn stopband_hz(&self) -> f64 {
        self.stopband_hz
    }

    /// The group delay in output frames: an input event reaches the output this many output
    /// frames later than its position in the input stream, mapped to the output rate. Exact
    /// for a constant ratio (the kernel is linear-phase); while the drift-steering factor
    /// changes it follows the current step (the change is at most 1 %).
    pub fn delay_frames(&self) -> f64 {
        self.taps as f64 / 2.0 / self.cursor.step
    }

    /// The drift-steering factor set last (after clamping).
    pub fn ratio_adjust(&self) -> f64 {
        self.adjust
    }

    /// Input frames per output frame now (ramps included).
    pub fn step(&self) -> f64 {
        self.cursor.step
    }

    /// Output frames over which a new drift-steering factor is ramped in.
    pub fn ramp_frames(&self) -> u32 {
        self.ramp_frames
    }

    /// Sets the ramp length for later [`set_ratio_adjust`](Self::set_ratio_adjust) calls;
    /// 0 applies a new factor at the next output frame.
    pub fn set_ramp_frames(&mut self, frames: u32) {
        self.ramp_frames = frames;
    }

    /// Sets the drift-steering factor: the input is consumed `factor` times faster than
    /// nominal (`factor` > 1 when the input's clock runs fast relative to the output's).
    /// Clamped to `1 ± MAX_ADJUST`; a non-finite factor is ignored. The step ramps linearly
    /// from its current value to the new one over [`ramp_frames`](Self::ramp_frames) output
    /// frames. Returns the factor in force. Real-time safe.
    pub fn set_ratio_adjust(&mut self, factor: f64) -> f64 {
        if !factor.is_finite() {
            return self.adjust;
        }
        self.adjust = factor.clamp(1.0 - MAX_ADJUST, 1.0 + MAX_ADJUST);
        let target = self.nominal_step * self.adjust;
        let c = &mut self.cursor;
        c.target = target;
        if self.ramp_frames == 0 {
            c.step = target;
            c.increment = 0.0;
            c.ramp_left = 0;
        } else {
            c.increment = (target - c.step) / f64::from(self.ramp_frames);
            c.ramp_left = self.ramp_frames;
        }
        self.adjust
    }

    /// [`set_ratio_adjust`](Self::set_ratio_adjust) in parts per million: `1 + ppm / 10⁶`.
    pub fn set_ratio_adjust_ppm(&mut self, ppm: f64) -> f64 {
        self.set_ratio_adjust(1.0 + ppm * 1e-6)
    }

    /// Input frames that [`process`](Self::process) must still receive to produce exactly
    /// `output_frames` output frames from the current state (ramps included). Given exactly
    /// that many, `process` consumes all of them and fills an `output_frames` output.
    /// Real-time safe; O(`output_frames`) cheap arithmetic.
    pub fn input_frames_needed(&self, output_frames: usize) -> usize {
        if output_frames == 0 {
            return 0;
        }
        let mut c = self.cursor;
        for _ in 1..output_frames {
            c.advance();
        }
        (c.base + self.taps).saturating_sub(self.len)
    }

    /// Output frames that `input_frames` more input frames allow from the current state, i.e.
    /// what [`process`](Self::process) produces when its output has room for them. Real-time
    /// safe; O(result) cheap arithmetic.
    pub fn output_frames_available(&self, input_frames: usize) -> usize {
        let end = self.len.saturating_add(input_frames);
        let mut c = self.cursor;
        let mut count = 0;
        while c.base + self.taps <= end {
            count += 1;
            c.advance();
        }
        count
    }

    /// An upper bound of [`input_frames_needed`](Self::input_frames_needed)`(output_frames)`
    /// over every state and drift-steering factor: for sizing buffers.
    pub fn input_frames_max(&self, output_frames: usize) -> usize {
        let max_step = self.nominal_step * (1.0 + MAX_ADJUST);
        (output_frames as f64 * max_step).ceil() as usize + 2
    }

    /// An upper bound of [`output_frames_available`](Self::output_frames_available)
    /// `(input_frames)` over every state and drift-steering factor: for sizing buffers.
    pub fn output_frames_max(&self, input_frames: usize) -> usize {
        let min_step = self.nominal_step * (1.0 - MAX_ADJUST);
        ((input_frames as f64 + 2.0) / min_step).floor() as usize + 2
    }

    /// Resamples interleaved `input` into interleaved `output`; both hold whole frames of
    /// [`channels`](Self::channels) samples (a trailing partial frame is ignored). Returns
    /// `(input frames consumed, output frames produced)`.
    ///
    /// Produces output frames until `output` is full or the input runs out, and consumes
    /// input frames in order, each as soon as an output frame needs it: everything is
    /// consumed except input frames beyond those the next output frame (the first one not
    /// produced) needs; those are left for the next call. So:
    /// - given [`input_frames_needed`](Self::input_frames_needed)`(m)` frames and room for `m`
    ///   frames, it returns `(needed, m)`;
    /// - given `n` frames and room for at least
    ///   [`output_frames_available`](Self::output_frames_available)`(n)` frames, it returns
    ///   `(n, available)`.
    ///
    /// Real-time safe: no allocation, lock or panic.
    pub fn process(&mut self, input: &[f32], output: &mut [f32]) -> (usize, usize) {
        let channels = self.channels;
        let mut frames_in = input.chunks_exact(channels);
        let available = frames_in.len();
        let mut consumed = 0;
        let mut produced = 0;
        let mut frames_out = output.chunks_exact_mut(channels);
        loop {
            // Bring the next output frame's window into the history, as far as input allows.
            let want = (self.cursor.base + self.taps).saturating_sub(self.len);
            let take = want.min(available - consumed);
            if take > 0 {
                self.make_room(take);
                self.append(&mut frames_in, take);
                consumed += take;
            }
            if take < want {
                break;
            }
            let Some(frame) = frames_out.next() else {
                break;
            };
            self.render(frame);
            self.cursor.advance();
            produced += 1;
        }
        (consumed, produced)
    }

    /// Moves the frames still needed to the front of each channel's history when `frames`
    /// more would not fit. After the move `len ≤ taps` (invariant `len ≤ base + taps`), and
    /// `frames ≤ taps` (callers append at most one window), so they fit in `capacity ≥ 2 taps`.
    fn make_room(&mut self, frames: usize) {
        if self.len + frames <= self.capacity {
            return;
        }
        let start = self.cursor.base.min(self.len);
        for channel in self.history.chunks_exact_mut(self.capacity) {
            if let Some(kept) = channel.get(start..self.len) {
                let kept = kept.len();
                channel.copy_within(start..start + kept, 0);
            }
        }
        self.len -= start;
        self.cursor.base -= start;
    }

    /// Appends the next `frames` interleaved frames to the planar history.
    fn append(&mut self, frames_in: &mut std::slice::ChunksExact<'_, f32>, frames: usize) {
        let (len, capacity) = (self.len, self.capacity);
        for frame in frames_in.take(frames).enumerate() {
            let (i, samples) = frame;
            for (channel, &s) in self.history.chunks_exact_mut(capacity).zip(samples) {
                if let Some(slot) = channel.get_mut(len + i) {
                    *slot = s;
                }
            }
        }
        self.len = (len + frames).min(capacity);
    }

    /// Writes the output frame at the cursor. Requires the window `base .. base + taps` to be
    /// in the history.
    fn render(&mut self, frame: &mut [f32]) {
        let taps = self.taps;
        // frac in [0, 1) → row in 0..phases; the clamp keeps row + 1 ≤ phases if rounding
        // ever gave frac · phases = phases.
        let position = self.cursor.frac * self.phases as f64;
        let row = (position as usize).min(self.phases - 1);
        let weight = (position - row as f64) as f32;
        let rows = self.table.get(row * taps..(row + 2) * taps).unwrap_or(&[]);
        let (first, second) = rows.split_at(rows.len() / 2);
        lerp(&mut self.coefs, first, second, weight);
        let start = self.cursor.base;
        for (out, channel) in frame
            .iter_mut()
            .zip(self.history.chunks_exact(self.capacity))
        {
            let window = channel.get(start..start + taps).unwrap_or(&[]);
            *out = dot(&self.coefs, window);
        }
    }
}

/// `out = a + weight · (b − a)` over the common length: one contiguous loop, which the
/// compiler vectorises.
#[inline]
fn lerp(out: &mut [f32], a: &[f32], b: &[f32], weight: f32) {
    for ((o, &a), &b) in out.iter_mut().zip(a).zip(b) {
        *o = a + weight * (b - a);
    }
}

/// Dot product over the common length (a multiple of 8), in four independent accumulators
/// of four lanes (one SSE register each), so that the compiler vectorises without
/// reassociating float additions. The chunks are converted to fixed-size arrays (the
/// conversion cannot fail for `chunks_exact`) so that constant indices need no bounds checks.
#[inline]
fn dot(a: &[f32], b: &[f32]) -> f32 {
    let mut s = [[0.0f32; 4]; 4];
    let mut a16 = a.chunks_exact(16);
    let mut b16 = b.chunks_exact(16);
    for (x, y) in (&mut a16).zip(&mut b16) {
        if let (Ok(x), Ok(y)) = (<&[f32; 16]>::try_from(x), <&[f32; 16]>::try_from(y)) {
            for k in 0..4 {
                s[0][k] += x[k] * y[k];
                s[1][k] += x[k + 4] * y[k + 4];
                s[2][k] += x[k + 8] * y[k + 8];
                s[3][k] += x[k + 12] * y[k + 12];
            }
        }
    }
    if let (Ok(x), Ok(y)) = (
        <&[f32; 8]>::try_from(a16.remainder()),
        <&[f32; 8]>::try_from(b16.remainder()),
    ) {
        for k in 0..4 {
            s[0][k] += x[k] * y[k];
            s[1][k] += x[k + 4] * y[k + 4];
        }
    }
    let mut quad = [0.0f32; 4];
    for k in 0..4 {
        quad[k] = (s[0][k] + s[1][k]) + (s[2][k] + s[3][k]);
    }
    (quad[0] + quad[2]) + (quad[1] + quad[3])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rejects_bad_parameters() {
        assert_eq!(
            Resampler::new(7_999, 48_000, 2).err(),
            Some(Error::Rate(7_999))
        );
        assert_eq!(
            Resampler::new(8_000, 192_000, 2).err(),
            Some(Error::Ratio {
                input: 8_000,
                output: 192_000
            })
        );
        assert_eq!(
            Resampler::new(48_000, 48_000, 0).err(),
            Some(Error::Channels(0))
        );
    }

    #[test]
    fn dot_matches_f64() {
        let a: Vec<f32> = (0..40).map(|i| (i as f32 * 0.37).sin()).collect();
        let b: Vec<f32> = (0..40).map(|i| (i as f32 * 0.11).cos()).collect();
        let exact: f64 = a
            .iter()
            .zip(&b)
            .map(|(&x, &y)| f64::from(x) * f64::from(y))
            .sum();
        assert!((f64::from(dot(&a, &b)) - exact).abs() < 1e-5);
    }
}
