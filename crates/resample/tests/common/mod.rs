//! Measurement helpers shared by the quality tests: signal generation, running a resampler
//! period by period, a Kaiser-windowed FFT with sidelobes far below the −100 dB limits, and
//! the figures derived from it.

#![allow(dead_code)]

use std::f64::consts::PI;

use rustfft::{num_complex::Complex, FftPlanner};
use tenuto_resample::Resampler;

/// FFT length of every measurement, output frames.
pub const FFT_LEN: usize = 32_768;

/// Kaiser β of the analysis window: sidelobes near −170 dB, main lobe ±6 bins.
const WINDOW_BETA: f64 = 18.0;

/// Bins each side of a tone counted as the tone (the window's main lobe, with margin).
pub const LOBE_BINS: usize = 10;

/// Output frames skipped before the analysed block, so that the filter is filled and any
/// ramp has ended.
pub const SETTLE_FRAMES: usize = 4_096;

/// The standard rate pairs the quality figures are required for.
pub const PAIRS: [(u32, u32); 8] = [
    (44_100, 48_000),
    (48_000, 44_100),
    (48_000, 96_000),
    (96_000, 48_000),
    (44_100, 192_000),
    (192_000, 44_100),
    (88_200, 96_000),
    (176_400, 48_000),
];

/// A sum of sines, `(frequency Hz, amplitude)`, `frames` long at `rate`, interleaved on
/// `channels` channels (the same signal on each), phase 0 at frame 0.
pub fn tones(tones: &[(f64, f64)], rate: u32, frames: usize, channels: usize) -> Vec<f32> {
    let mut out = Vec::with_capacity(frames * channels);
    for i in 0..frames {
        let t = i as f64 / f64::from(rate);
        let v: f64 = tones
            .iter()
            .map(|&(f, a)| a * (2.0 * PI * f * t).sin())
            .sum();
        out.extend(std::iter::repeat_n(v as f32, channels));
    }
    out
}

/// Runs `r` period by period (`period` output frames, exact input per period through
/// `input_frames_needed`), calling `steer(period index, r)` before each period, until `frames`
/// output frames exist; returns channel `channel` of the output. Panics if the input is too
/// short or `process` does not return what `input_frames_needed` promised.
pub fn run(
    r: &mut Resampler,
    input: &[f32],
    frames: usize,
    period: usize,
    channel: usize,
    mut steer: impl FnMut(usize, &mut Resampler),
) -> Vec<f64> {
    let c = r.channels();
    let mut out = vec![0.0f32; period * c];
    let mut result = Vec::with_capacity(frames + period);
    let mut at = 0;
    let mut index = 0;
    while result.len() < frames {
        steer(index, r);
        index += 1;
        let need = r.input_frames_needed(period);
        let chunk = &input[at * c..(at + need) * c];
        assert_eq!(r.process(chunk, &mut out), (need, period));
        at += need;
        result.extend(out.chunks_exact(c).map(|f| f64::from(f[channel])));
    }
    result.truncate(frames);
    result
}

/// Input frames enough for `frames` output frames of `input_rate → output_rate` (with 2 %
/// to spare for steering and the filter's look-ahead).
pub fn input_len(input_rate: u32, output_rate: u32, frames: usize) -> usize {
    (frames as f64 * f64::from(input_rate) / f64::from(output_rate) * 1.02) as usize + 4_096
}

/// Resamples `signal` (mono tones) from `input_rate` to `output_rate` at the nominal ratio
/// and returns the analysed block: `FFT_LEN` output frames after `SETTLE_FRAMES`.
pub fn resample_block(input_rate: u32, output_rate: u32, signal: &[(f64, f64)]) -> Vec<f64> {
    let total = SETTLE_FRAMES + FFT_LEN;
    let input = tones(
        signal,
        input_rate,
        input_len(input_rate, output_rate, total),
        1,
    );
    let mut r = Resampler::new(input_rate, output_rate, 1).unwrap();
    let out = run(&mut r, &input, total, 256, 0, |_, _| {});
    out[SETTLE_FRAMES..].to_vec()
}

/// Kaiser window, `len` points.
pub fn window(len: usize) -> Vec<f64> {
    let i0 = |x: f64| {
        let (mut term, mut sum, mut k) = (1.0f64, 1.0f64, 1.0f64);
        while term > sum * 1e-18 {
            term *= (x / 2.0 / k).powi(2);
            sum += term;
            k += 1.0;
        }
        sum
    };
    let denom = i0(WINDOW_BETA);
    (0..len)
        .map(|n| {
            let r = 2.0 * n as f64 / (len - 1) as f64 - 1.0;
            i0(WINDOW_BETA * (1.0 - r * r).max(0.0).sqrt()) / denom
        })
        .collect()
}

/// Power spectrum of `block` (bins 0..=len/2), scaled so that a sine of amplitude `a` centred
/// on a bin shows `a²` in that bin.
pub fn spectrum(block: &[f64]) -> Vec<f64> {
    let n = block.len();
    let w = window(n);
    let gain: f64 = w.iter().sum::<f64>() / 2.0;
    let mut buf: Vec<Complex<f64>> = block
        .iter()
        .zip(&w)
        .map(|(&x, &w)| Complex::new(x * w, 0.0))
        .collect();
    FftPlanner::new().plan_fft_forward(n).process(&mut buf);
    buf[..=n / 2]
        .iter()
        .map(|c| c.norm_sqr() / (gain * gain))
        .collect()
}

/// Bin of frequency `f` at `rate` for an `FFT_LEN` spectrum.
pub fn bin(f: f64, rate: u32) -> usize {
    (f * FFT_LEN as f64 / f64::from(rate)).round() as usize
}

/// The strongest bin outside DC's lobe and outside the lobes around `keep` (bins), as dB
/// relative to amplitude `reference`, and its frequency.
pub fn worst_spur(spec: &[f64], rate: u32, keep: &[usize], reference: f64) -> (f64, f64) {
    let mut worst = (0.0f64, 0usize);
    for (k, &p) in spec.iter().enumerate() {
        let near = |c: usize| k.abs_diff(c) <= LOBE_BINS;
        if near(0) || keep.iter().any(|&c| near(c)) {
            continue;
        }
        if p > worst.0 {
            worst = (p, k);
        }
    }
    (
        10.0 * (worst.0 / (reference * reference)).log10(),
        worst.1 as f64 * f64::from(rate) / FFT_LEN as f64,
    )
}

/// THD+N in dB: power in bins from 20 Hz to `top` Hz outside the lobe of the tone at bin
/// `tone` (±`lobe` bins), over the power in that lobe.
pub fn thd_n(spec: &[f64], rate: u32, tone: usize, lobe: usize, top: f64) -> f64 {
    let lo = bin(20.0, rate).max(LOBE_BINS + 1);
    let hi = bin(top, rate).min(spec.len() - 1);
    let mut signal = 0.0;
    let mut rest = 0.0;
    for (k, &p) in spec.iter().enumerate().take(hi + 1).skip(lo) {
        if k.abs_diff(tone) <= lobe {
            signal += p;
        } else {
            rest += p;
        }
    }
    10.0 * (rest / signal).log10()
}

/// Index of the strongest bin.
pub fn peak_bin(spec: &[f64]) -> usize {
    spec.iter()
        .enumerate()
        .skip(LOBE_BINS + 1)
        .fold(
            (0, 0.0),
            |best, (k, &p)| if p > best.1 { (k, p) } else { best },
        )
        .0
}

/// Complex amplitude of `block` at `f` Hz (rate `rate`), windowed: a sine `a·sin(2πft/rate +
/// φ)` gives magnitude `a` (for `f` well away from 0 and Nyquist) and phase `φ − π/2`.
pub fn tone_at(block: &[f64], f: f64, rate: u32) -> Complex<f64> {
    let w = window(block.len());
    let omega = 2.0 * PI * f / f64::from(rate);
    let mut acc = Complex::new(0.0, 0.0);
    for (n, (&x, &w)) in block.iter().zip(&w).enumerate() {
        acc += Complex::from_polar(x * w, -omega * n as f64);
    }
    acc / (w.iter().sum::<f64>() / 2.0)
}
