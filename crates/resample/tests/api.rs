//! The frame-accounting contract a period-based driver relies on: exact input for exact
//! output (capture), all input consumed for a bounded output (render), chunking that does
//! not change a single sample, the buffer-size bounds, reset, and the long-run ratio.

use tenuto_resample::{Resampler, MAX_ADJUST};

/// A deterministic pseudo-random sequence (LCG) in [0, 1).
struct Lcg(u32);

impl Lcg {
    fn next(&mut self) -> f64 {
        self.0 = self.0.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
        f64::from(self.0 >> 8) / f64::from(1u32 << 24)
    }
}

fn noise(frames: usize, channels: usize, seed: u32) -> Vec<f32> {
    let mut g = Lcg(seed);
    (0..frames * channels)
        .map(|_| (g.next() * 2.0 - 1.0) as f32)
        .collect()
}

const RATES: [u32; 6] = [44_100, 48_000, 88_200, 96_000, 176_400, 192_000];

#[test]
fn capture_gets_exactly_the_period_it_asks_for() {
    let mut g = Lcg(7);
    for i in RATES {
        for o in RATES {
            let mut r = Resampler::new(i, o, 3).unwrap();
            let input = noise(200_000, 3, i ^ o);
            let mut out = vec![0.0f32; 1_024 * 3];
            let mut at = 0;
            for period in 0..40 {
                let m = [32, 64, 256, 1_024, 1, 7][period % 6];
                if period % 3 == 0 {
                    r.set_ratio_adjust_ppm((g.next() * 2.0 - 1.0) * 1_000.0);
                }
                let need = r.input_frames_needed(m);
                assert!(need <= r.input_frames_max(m), "{i} -> {o}: {need} > max");
                let got = r.process(&input[at * 3..(at + need) * 3], &mut out[..m * 3]);
                assert_eq!(got, (need, m), "{i} -> {o}, period {period}");
                at += need;
            }
        }
    }
}

#[test]
fn render_consumes_the_whole_period() {
    let mut g = Lcg(11);
    for i in RATES {
        for o in RATES {
            let mut r = Resampler::new(i, o, 2).unwrap();
            let input = noise(1_024 * 40, 2, i ^ o);
            let mut out = vec![0.0f32; r.output_frames_max(1_024) * 2];
            for (period, chunk) in input.chunks(1_024 * 2).enumerate() {
                let n = [1_024, 32, 64, 256, 3][period % 5];
                let chunk = &chunk[..n * 2];
                if period % 4 == 0 {
                    r.set_ratio_adjust_ppm((g.next() * 2.0 - 1.0) * 1_000.0);
                }
                let available = r.output_frames_available(n);
                assert!(available <= r.output_frames_max(n), "{i} -> {o}");
                // Room for exactly what is available is enough to take all the input.
                let got = r.process(chunk, &mut out[..available * 2]);
                assert_eq!(got, (n, available), "{i} -> {o}, period {period}");
            }
        }
    }
}

#[test]
fn chunking_does_not_change_the_output() {
    let (i, o, c) = (44_100, 48_000, 2);
    let input = noise(20_000, c, 3);
    let mut whole = Resampler::new(i, o, c).unwrap();
    let mut expected = vec![0.0f32; whole.output_frames_max(20_000) * c];
    let (consumed, produced) = whole.process(&input, &mut expected);
    assert_eq!(consumed, 20_000);
    expected.truncate(produced * c);

    let mut pieces = Resampler::new(i, o, c).unwrap();
    let mut got = Vec::new();
    let mut g = Lcg(5);
    let mut at = 0;
    let mut out = vec![0.0f32; 600 * c];
    while at < 20_000 {
        let n = ((g.next() * 300.0) as usize).min(20_000 - at);
        let room = (g.next() * 600.0) as usize;
        let (used, made) = pieces.process(&input[at * c..(at + n) * c], &mut out[..room * c]);
        at += used;
        got.extend_from_slice(&out[..made * c]);
        if used == 0 && made == 0 && n > 0 && room > 0 {
            panic!("no progress");
        }
    }
    // Drain what the last input still allows.
    let (_, made) = pieces.process(&[], &mut out);
    got.extend_from_slice(&out[..made * c]);
    assert_eq!(got.len(), expected.len());
    assert!(got == expected, "chunked output differs");
}

#[test]
fn first_output_needs_one_input_frame_and_reset_restarts() {
    let mut r = Resampler::new(48_000, 44_100, 1).unwrap();
    assert_eq!(r.input_frames_needed(0), 0);
    assert_eq!(r.input_frames_needed(1), 1);
    let input = noise(5_000, 1, 9);
    let mut a = vec![0.0f32; 4_000];
    r.process(&input, &mut a);
    r.set_ratio_adjust(1.001);
    r.reset();
    assert_eq!(r.ratio_adjust(), 1.0);
    let mut b = vec![0.0f32; 4_000];
    r.process(&input, &mut b);
    assert!(a == b);
}

#[test]
fn adjust_is_clamped_and_ramped() {
    let mut r = Resampler::new(48_000, 48_000, 1).unwrap();
    assert_eq!(r.set_ratio_adjust(2.0), 1.0 + MAX_ADJUST);
    assert_eq!(r.set_ratio_adjust(f64::NAN), 1.0 + MAX_ADJUST);
    assert_eq!(r.set_ratio_adjust(0.0), 1.0 - MAX_ADJUST);
    r.reset();
    r.set_ramp_frames(100);
    r.set_ratio_adjust_ppm(1_000.0);
    let input = vec![0.0f32; 1_000];
    let mut out = vec![0.0f32; 50];
    r.process(&input, &mut out);
    // Halfway through the ramp.
    assert!((r.step() - 1.0005).abs() < 1e-12, "{}", r.step());
    let mut out = vec![0.0f32; 60];
    r.process(&input, &mut out);
    assert_eq!(r.step(), 1.001);
}

#[test]
fn long_run_ratio_is_exact() {
    // Over 10 minutes of 44.1 → 48 kHz at +123.4 ppm, the input consumed per output frame
    // matches the requested ratio to far better than 1 ppm (position kept in f64).
    let mut r = Resampler::new(44_100, 48_000, 1).unwrap();
    r.set_ramp_frames(0);
    r.set_ratio_adjust_ppm(123.4);
    let period = 480;
    let periods = 48_000 * 600 / period;
    let mut consumed = 0usize;
    for _ in 0..periods {
        consumed += r.input_frames_needed(period);
        // Process silence with the same accounting as real input, without the FIR cost.
        let need = r.input_frames_needed(period);
        assert!(need <= r.input_frames_max(period));
        let input = vec![0.0f32; need];
        let mut out = vec![0.0f32; period];
        assert_eq!(r.process(&input, &mut out), (need, period));
    }
    let outputs = (periods * period) as f64;
    let expected = outputs * 44_100.0 / 48_000.0 * (1.0 + 123.4e-6);
    let error_ppm = (consumed as f64 - expected) / expected * 1e6;
    assert!(error_ppm.abs() < 0.01, "ratio off by {error_ppm} ppm");
}
