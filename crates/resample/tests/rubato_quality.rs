//! The benchmark's quality comparison: the same measurements as `quality.rs` on rubato's
//! best configuration (see `common/rubato_candidate.rs`). Ignored by default (a comparison,
//! not a requirement of this crate); run with
//! `cargo test -p tenuto-resample --test rubato_quality -- --ignored --nocapture`.
//! It asserts only what the figures in docs/RESAMPLER.md say of rubato.

mod common;
#[path = "common/rubato_candidate.rs"]
mod rubato_candidate;

use common::*;
use rubato_candidate::Rubato;

/// `FFT_LEN` output frames after `SETTLE_FRAMES` plus rubato's delay (so that the block sees
/// the same settled signal as tenuto's).
fn block(i: u32, o: u32, signal: &[(f64, f64)]) -> (Vec<f64>, usize) {
    let period = 256;
    let mut r = Rubato::new(i, o, 1, period);
    let total = SETTLE_FRAMES + FFT_LEN;
    let input = tones(signal, i, input_len(i, o, total) + 8_192, 1);
    let mut out = vec![0.0f32; period];
    let mut result = Vec::new();
    let mut at = 0;
    while result.len() < total {
        let need = r.input_frames_next();
        let (used, made) = r.process(&input[at..at + need], &mut out);
        at += used;
        result.extend(out[..made].iter().map(|&x| f64::from(x)));
    }
    (result[SETTLE_FRAMES..total].to_vec(), r.delay())
}

#[test]
#[ignore = "a comparison with rubato for docs/RESAMPLER.md, not a requirement of this crate; run with --ignored"]
fn rubato_figures() {
    let mut worst_spur_all = f64::MIN;
    for (i, o) in PAIRS {
        let amplitude = 0.05;
        let freqs = [20.0, 100.0, 1_000.0, 10_000.0, 19_000.0, 20_000.0];
        let signal: Vec<(f64, f64)> = freqs.iter().map(|&f| (f, amplitude)).collect();
        let (b, delay) = block(i, o, &signal);
        let gains: Vec<f64> = freqs
            .iter()
            .map(|&f| 20.0 * (tone_at(&b, f, o).norm() / amplitude).log10())
            .collect();
        let ripple = gains.iter().cloned().fold(f64::MIN, f64::max)
            - gains.iter().cloned().fold(f64::MAX, f64::min);
        let mut worst = f64::MIN;
        for f in [997.0, 15_013.0, 19_997.0, f64::from(i.min(o)) / 2.0 - 150.0] {
            let (b, _) = block(i, o, &[(f, 0.9)]);
            let (level, _) = worst_spur(&spectrum(&b), o, &[bin(f, o)], 0.9);
            worst = worst.max(level);
        }
        worst_spur_all = worst_spur_all.max(worst);
        let (b, _) = block(i, o, &[(1_000.0, 0.9)]);
        let t = thd_n(&spectrum(&b), o, bin(1_000.0, o), LOBE_BINS, 20_000.0);
        // Delay by phase at 1 kHz: the output frame offset of the sine.
        let (b, _) = block(i, o, &[(1_000.0, 0.5)]);
        let measured = tone_at(&b, 1_000.0, o);
        let reference: Vec<f64> = (SETTLE_FRAMES..SETTLE_FRAMES + FFT_LEN)
            .map(|j| 0.5 * (2.0 * std::f64::consts::PI * 1_000.0 * j as f64 / f64::from(o)).sin())
            .collect();
        let phase = (measured / tone_at(&reference, 1_000.0, o)).arg();
        let true_delay = -phase / (2.0 * std::f64::consts::PI * 1_000.0) * f64::from(o);
        println!(
            "rubato {i} -> {o}: gain at 20 kHz {:+.3} dB, ripple to 20 kHz {ripple:.3} dB, \
             worst spur {worst:.1} dB, THD+N {t:.1} dB, output_delay() {delay}, \
             measured delay {true_delay:.3} (mod the 1 kHz period)",
            gains[5]
        );
    }
    // What the comparison in docs/RESAMPLER.md states: rubato's best setting also stays
    // below −100 dB for spurs.
    assert!(
        worst_spur_all <= -100.0,
        "rubato worst spur {worst_spur_all:.1} dB"
    );
}
