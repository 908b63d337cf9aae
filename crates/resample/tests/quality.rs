//! The quality limits of issue 15, measured with an FFT: passband ripple ≤ 0.1 dB up to
//! 20 kHz, aliases and images ≤ −100 dB, THD+N of a 1 kHz tone ≤ −100 dB, for the standard
//! rate pairs and with a drifting ratio; and the delay, measured by phase and by an impulse.
//! Each test prints its figures (`cargo test -p tenuto-resample -- --nocapture`).

mod common;

use common::*;
use tenuto_resample::Resampler;

/// Frequencies of the passband measurement, Hz.
const PASSBAND: [f64; 14] = [
    20.0, 50.0, 100.0, 200.0, 500.0, 1_000.0, 2_000.0, 5_000.0, 10_000.0, 15_000.0, 18_000.0,
    19_000.0, 19_500.0, 20_000.0,
];

#[test]
fn passband_is_flat_to_20_khz() {
    // All frequencies at once: the window's sidelobes (−170 dB) keep them apart.
    let amplitude = 0.05;
    let signal: Vec<(f64, f64)> = PASSBAND.iter().map(|&f| (f, amplitude)).collect();
    for (i, o) in PAIRS {
        let block = resample_block(i, o, &signal);
        let gains: Vec<f64> = PASSBAND
            .iter()
            .map(|&f| 20.0 * (tone_at(&block, f, o).norm() / amplitude).log10())
            .collect();
        let max = gains.iter().cloned().fold(f64::MIN, f64::max);
        let min = gains.iter().cloned().fold(f64::MAX, f64::min);
        println!(
            "{i} -> {o}: passband gain {min:+.5} .. {max:+.5} dB, ripple {:.5} dB",
            max - min
        );
        assert!(max - min <= 0.1, "{i} -> {o}: ripple {} dB", max - min);
        assert!(
            max.abs() <= 0.1 && min.abs() <= 0.1,
            "{i} -> {o}: gain off unity"
        );
    }
}

/// Test tones for a pair: in-band ones (expected in the output) and, when downsampling, ones
/// above the output's Nyquist frequency (expected nowhere).
fn probe_tones(i: u32, o: u32) -> Vec<f64> {
    let nyq_in = f64::from(i) / 2.0;
    let nyq_out = f64::from(o) / 2.0;
    let mut f = vec![997.0, 7_001.0, 15_013.0, 19_997.0];
    // Just below the input's Nyquist frequency (its images land just above it).
    f.push(nyq_in.min(nyq_out) - 150.0);
    if i > o {
        // Above the output's Nyquist frequency: everything must alias below −100 dB.
        f.push(nyq_out + 50.0);
        f.push((nyq_out + nyq_in) / 2.0);
        f.push(nyq_in - 100.0);
    }
    f
}

#[test]
fn aliases_and_images_are_below_100_db() {
    let amplitude = 0.9;
    for (i, o) in PAIRS {
        let mut worst = (f64::MIN, 0.0, 0.0);
        for f in probe_tones(i, o) {
            let block = resample_block(i, o, &[(f, amplitude)]);
            let spec = spectrum(&block);
            let keep: Vec<usize> = if f < f64::from(o) / 2.0 {
                vec![bin(f, o)]
            } else {
                vec![]
            };
            let (level, at) = worst_spur(&spec, o, &keep, amplitude);
            assert!(
                level <= -100.0,
                "{i} -> {o}: tone {f} Hz gives {level:.1} dB at {at:.0} Hz"
            );
            if level > worst.0 {
                worst = (level, f, at);
            }
        }
        println!(
            "{i} -> {o}: worst alias/image {:.1} dB (tone {:.0} Hz, at {:.0} Hz)",
            worst.0, worst.1, worst.2
        );
    }
}

#[test]
fn thd_n_of_1_khz_is_below_100_db() {
    let f = 1_000.0;
    for (i, o) in PAIRS {
        let block = resample_block(i, o, &[(f, 0.9)]);
        let spec = spectrum(&block);
        let top = 20_000.0f64.min(f64::from(o.min(i)) / 2.0);
        let t = thd_n(&spec, o, bin(f, o), LOBE_BINS, top);
        // Wideband (up to the output's Nyquist frequency).
        let wide = thd_n(&spec, o, bin(f, o), LOBE_BINS, f64::from(o) / 2.0);
        println!("{i} -> {o}: THD+N (20 Hz–{top:.0} Hz) {t:.1} dB, to Nyquist {wide:.1} dB");
        assert!(t <= -100.0, "{i} -> {o}: THD+N {t:.1} dB");
        assert!(wide <= -100.0, "{i} -> {o}: wideband THD+N {wide:.1} dB");
    }
}

#[test]
fn drifting_ratio_keeps_thd_n_below_100_db() {
    let f = 1_000.0;
    for (i, o) in [(44_100, 48_000), (48_000, 44_100), (48_000, 48_000)] {
        // +300 ppm, ramped in during the settling frames.
        let total = SETTLE_FRAMES + FFT_LEN;
        let input = tones(&[(f, 0.9)], i, input_len(i, o, total), 1);
        let mut r = Resampler::new(i, o, 1).unwrap();
        let out = run(&mut r, &input, total, 128, 0, |k, r| {
            if k == 0 {
                r.set_ratio_adjust_ppm(300.0);
            }
        });
        let spec = spectrum(&out[SETTLE_FRAMES..]);
        let peak = peak_bin(&spec);
        let expected = f * (1.0 + 300e-6);
        assert_eq!(
            peak,
            bin(expected, o),
            "{i} -> {o}: tone not at {expected} Hz"
        );
        let measured = tone_frequency(&out[SETTLE_FRAMES..], expected, o);
        let ppm = (measured / f - 1.0) * 1e6;
        let t = thd_n(&spec, o, peak, LOBE_BINS, 20_000.0);
        println!("{i} -> {o} at +300 ppm: tone {measured:.4} Hz ({ppm:+.2} ppm), THD+N {t:.1} dB");
        assert!((ppm - 300.0).abs() < 1.0, "{i} -> {o}: {ppm} ppm");
        assert!(t <= -100.0, "{i} -> {o} at +300 ppm: THD+N {t:.1} dB");
    }
}

/// Frequency of the tone near `guess` Hz, from the phase advance between the two halves of
/// `block`.
fn tone_frequency(block: &[f64], guess: f64, rate: u32) -> f64 {
    let half = block.len() / 2;
    let a = tone_at(&block[..half], guess, rate);
    let b = tone_at(&block[half..], guess, rate);
    // Phase of b relative to a, beyond the guess's own advance over `half` frames (each
    // half is analysed from its own first frame).
    let tau = 2.0 * std::f64::consts::PI;
    let advance = tau * guess * half as f64 / f64::from(rate);
    let dphi = ((b / a).arg() - advance).rem_euclid(tau);
    let dphi = if dphi > tau / 2.0 { dphi - tau } else { dphi };
    guess + dphi / tau * f64::from(rate) / half as f64
}

#[test]
fn steering_every_period_adds_no_clicks() {
    // A control loop's worth of abuse: a new random factor within ±1000 ppm every 64-frame
    // period. The phase stays continuous, so the tone's modulation stays near the tone; a lost
    // or repeated frame, or a phase jump, would spread energy over the whole band.
    let (i, o) = (44_100, 48_000);
    let f = 1_000.0;
    let total = SETTLE_FRAMES + FFT_LEN;
    let input = tones(&[(f, 0.9)], i, input_len(i, o, total), 1);
    let mut r = Resampler::new(i, o, 1).unwrap();
    r.set_ramp_frames(64);
    let mut state: u32 = 12_345;
    let out = run(&mut r, &input, total, 64, 0, |_, r| {
        state = state.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
        let ppm = (f64::from(state >> 8) / f64::from(1u32 << 24) * 2.0 - 1.0) * 1_000.0;
        r.set_ratio_adjust_ppm(ppm);
    });
    let spec = spectrum(&out[SETTLE_FRAMES..]);
    // Power from 5 kHz to 20 kHz relative to the whole tone (±2 kHz around it).
    let tone: f64 = spec[bin(20.0, o)..=bin(f + 2_000.0, o)].iter().sum();
    let far: f64 = spec[bin(5_000.0, o)..=bin(20_000.0, o)].iter().sum();
    let level = 10.0 * (far / tone).log10();
    println!("44100 -> 48000 steered every 64 frames: 5–20 kHz at {level:.1} dB");
    assert!(level <= -100.0, "energy far from the tone: {level:.1} dB");
}

#[test]
fn delay_is_exact_by_phase() {
    // y[j] must equal x at input position j·step − taps/2, i.e. a sine delayed by
    // delay_frames() output frames, at every frequency (linear phase).
    for (i, o) in PAIRS {
        let r = Resampler::new(i, o, 1).unwrap();
        let delay = r.delay_frames();
        let mut worst = 0.0f64;
        for f in [100.0, 1_000.0, 10_000.0, 19_000.0] {
            let block = resample_block(i, o, &[(f, 0.5)]);
            let measured = tone_at(&block, f, o);
            // The reference: the same sine at the output rate, delayed by `delay`, over the
            // same output frames.
            let reference: Vec<f64> = (SETTLE_FRAMES..SETTLE_FRAMES + FFT_LEN)
                .map(|j| {
                    0.5 * (2.0 * std::f64::consts::PI * f * (j as f64 - delay) / f64::from(o)).sin()
                })
                .collect();
            let expected = tone_at(&reference, f, o);
            let dphi = (measured / expected).arg();
            let error = -dphi / (2.0 * std::f64::consts::PI * f) * f64::from(o);
            worst = worst.max(error.abs());
            assert!(
                error.abs() < 0.001,
                "{i} -> {o} at {f} Hz: delay off by {error} output frames"
            );
        }
        println!(
            "{i} -> {o}: {} taps, delay {delay:.4} output frames ({:.3} ms), phase-measured error ≤ {worst:.2e} frames",
            r.taps(),
            delay / f64::from(o) * 1e3
        );
    }
}

#[test]
fn delay_is_exact_by_impulse() {
    for (i, o) in PAIRS {
        let mut r = Resampler::new(i, o, 1).unwrap();
        let at = 1_001usize;
        let frames = 8_192 * (i / o.min(i)) as usize + 4_096;
        let mut input = vec![0.0f32; frames];
        input[at] = 1.0;
        let mut out = vec![0.0f32; r.output_frames_max(frames)];
        let (consumed, produced) = r.process(&input, &mut out);
        assert_eq!(consumed, frames);
        // Energy centroid of the output pulse (symmetric kernel → its centre).
        let (mut m0, mut m1) = (0.0f64, 0.0f64);
        for (j, &y) in out[..produced].iter().enumerate() {
            let e = f64::from(y) * f64::from(y);
            m0 += e;
            m1 += e * j as f64;
        }
        let centre = m1 / m0;
        let expected = at as f64 * f64::from(o) / f64::from(i) + r.delay_frames();
        println!("{i} -> {o}: impulse centre {centre:.4}, expected {expected:.4}");
        assert!(
            (centre - expected).abs() < 0.01,
            "{i} -> {o}: impulse at {centre}, expected {expected}"
        );
    }
}
