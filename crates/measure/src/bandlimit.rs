//! The band-limited test signal for paths that convert the sample rate, and its
//! fractionally delayed copies.
//!
//! A rate converter removes everything above its passband (20 kHz for Tenuto's, at least)
//! and delays by a fraction of a frame, so the full-band maximum-length sequence cannot come
//! back sample for sample. [`BandLimited`] is the same sequence low-passed by a
//! linear-phase filter whose stopband starts at [`BandLimit::stop_hz`] (18 kHz, or 0.4 × the
//! rate below 45 kHz) with [`ATTENUATION_DB`] of attenuation: a converter whose passband
//! reaches that frequency returns it unchanged but for its delay.
//!
//! The filter is the sampled form of a continuous prototype `h(t)` (a Kaiser-windowed sinc),
//! so the signal is `x(t) = Σₘ mls[m]·h(t − m)` sampled at whole frames. Sampling the same
//! prototype at `k − μ` gives `x(n − μ)`: the reference for a path that delays by `μ` frames
//! more than a whole number, exact up to the prototype's own stopband leakage (the
//! prototype's spectrum ends well below the Nyquist frequency, so its samples at any offset
//! have the same response, delayed by `μ`).

use crate::sequence::Sequence;

/// Stopband attenuation of the band-limiting filter, dB: far below the −60 dB error bound
/// the loopback applies, and below any converter's own error (−100 dB class).
pub const ATTENUATION_DB: f64 = 120.0;

/// Highest stopband edge, Hz: below 20 kHz, where converters' passbands end.
pub const MAX_STOP_HZ: f64 = 18_000.0;

/// Stopband edge as a fraction of the rate, when that is lower than [`MAX_STOP_HZ`]: below
/// the Nyquist frequency of the rate by a margin for converters whose passband ends early.
pub const STOP_FRACTION: f64 = 0.4;

/// Width of the transition band, Hz (or a tenth of the rate, if smaller).
pub const TRANSITION_HZ: f64 = 3_000.0;

/// The band-limiting filter at one rate: a Kaiser-windowed sinc.
#[derive(Debug, Clone, PartialEq)]
pub struct BandLimit {
    rate: f64,
    stop_hz: f64,
    pass_hz: f64,
    /// Half-length of the prototype, frames: `h(t) = 0` for `|t| ≥ half`.
    half: f64,
    /// Cut-off (middle of the transition band), cycles per frame.
    cutoff: f64,
    beta: f64,
    i0_beta: f64,
}

impl BandLimit {
    /// The filter for a stream at `rate` Hz.
    pub fn for_rate(rate: f64) -> Self {
        let rate = rate.max(1_000.0);
        let stop_hz = MAX_STOP_HZ.min(STOP_FRACTION * rate);
        let pass_hz = stop_hz - TRANSITION_HZ.min(0.1 * rate);
        let width = (stop_hz - pass_hz) / rate;
        // Kaiser's design rules for the attenuation and transition width.
        let beta = 0.1102 * (ATTENUATION_DB - 8.7);
        let taps = (ATTENUATION_DB - 7.95) / (2.285 * std::f64::consts::TAU * width);
        let half = (taps / 2.0).ceil() + 1.0;
        Self {
            rate,
            stop_hz,
            pass_hz,
            half,
            cutoff: 0.5 * (pass_hz + stop_hz) / rate,
            beta,
            i0_beta: bessel_i0(beta),
        }
    }

    /// Stream rate, Hz.
    pub fn rate(&self) -> f64 {
        self.rate
    }

    /// Start of the stopband, Hz.
    pub fn stop_hz(&self) -> f64 {
        self.stop_hz
    }

    /// End of the passband, Hz.
    pub fn pass_hz(&self) -> f64 {
        self.pass_hz
    }

    /// Taps under the prototype at whole frames (its length).
    pub fn taps(&self) -> usize {
        2 * self.half as usize - 1
    }

    /// The prototype at `t` frames from its centre.
    pub fn response(&self, t: f64) -> f64 {
        let r = t / self.half;
        if r.abs() >= 1.0 {
            return 0.0;
        }
        let x = 2.0 * self.cutoff * t;
        let sinc = if x.abs() < 1e-12 {
            1.0
        } else {
            (std::f64::consts::PI * x).sin() / (std::f64::consts::PI * x)
        };
        2.0 * self.cutoff * sinc * bessel_i0(self.beta * (1.0 - r * r).sqrt()) / self.i0_beta
    }

    /// The taps that delay by `mu` frames (|mu| ≤ 1), as a [`Kernel`].
    pub fn kernel(&self, mu: f64) -> Kernel {
        let mu = mu.clamp(-1.0, 1.0);
        let k = self.half as usize + 1;
        // reversed[i] = h((K − i) − μ), so that Σ reversed[i]·ext[j + i] = Σₖ h(k − μ)·mls[n − k].
        let reversed = (0..=2 * k)
            .map(|i| self.response((k as f64 - i as f64) - mu))
            .collect();
        Kernel {
            mu,
            half: k,
            reversed,
        }
    }

    /// Half-span of every [`Kernel`], frames.
    fn kernel_half(&self) -> usize {
        self.half as usize + 1
    }
}

/// Filter taps for one fractional delay, reversed for a dot product with the sequence.
#[derive(Debug, Clone, PartialEq)]
pub struct Kernel {
    mu: f64,
    half: usize,
    reversed: Vec<f64>,
}

impl Kernel {
    /// The delay these taps add, frames.
    pub fn mu(&self) -> f64 {
        self.mu
    }
}

/// The band-limited sequence, one period precomputed for the driver thread, and its
/// fractionally delayed values for the analyser.
#[derive(Debug, Clone)]
pub struct BandLimited {
    limit: BandLimit,
    /// One period, scaled to the sequence's peak amplitude.
    table: Vec<f32>,
    /// The sequence's period with `half` frames of wrap-around on each side.
    ext: Vec<f64>,
    half: usize,
    scale: f64,
    power: f64,
}

impl BandLimited {
    /// `sequence` low-passed for a stream at `rate` Hz (periodically: the result has the
    /// same period), scaled so that its peak equals the sequence's amplitude.
    pub fn new(sequence: &Sequence, rate: f64) -> Self {
        let limit = BandLimit::for_rate(rate);
        let half = limit.kernel_half();
        let seq = sequence.as_slice();
        let p = seq.len();
        let ext: Vec<f64> = if p == 0 {
            Vec::new()
        } else {
            (0..p + 2 * half)
                .map(|i| f64::from(seq[(i + p * (half / p + 1) - half) % p]))
                .collect()
        };
        let mut this = Self {
            limit,
            table: Vec::new(),
            ext,
            half,
            scale: 1.0,
            power: 0.0,
        };
        let k0 = this.limit.kernel(0.0);
        let raw: Vec<f64> = (0..p).map(|j| this.dot(j, &k0)).collect();
        let peak = raw.iter().fold(0.0f64, |m, v| m.max(v.abs()));
        this.scale = if peak > 0.0 {
            sequence.amplitude() / peak
        } else {
            0.0
        };
        this.table = raw.iter().map(|v| (v * this.scale) as f32).collect();
        this.power = this
            .table
            .iter()
            .map(|&v| f64::from(v) * f64::from(v))
            .sum::<f64>()
            / p.max(1) as f64;
        this
    }

    /// The filter.
    pub fn limit(&self) -> &BandLimit {
        &self.limit
    }

    /// Mean power over a period (full scale 1.0).
    pub fn power(&self) -> f64 {
        self.power
    }

    /// Frames before the signal repeats (the sequence's period).
    pub fn period(&self) -> usize {
        self.table.len()
    }

    /// The sample sent at `frame` (silence before frame 0).
    pub fn sample(&self, frame: i64) -> f32 {
        if frame < 0 || self.table.is_empty() {
            return 0.0;
        }
        let i = (frame as u64 % self.table.len() as u64) as usize;
        self.table.get(i).copied().unwrap_or(0.0)
    }

    /// The signal at `frame − kernel.mu()`: what a path that delays by exactly `mu` frames
    /// returns at `frame`. Periodic for every frame (the silence before frame 0 is not
    /// modelled: compare only frames a kernel's half-span after the signal started).
    pub fn delayed(&self, frame: i64, kernel: &Kernel) -> f64 {
        let p = self.table.len();
        if p == 0 {
            return 0.0;
        }
        let j = frame.rem_euclid(p as i64) as usize;
        self.dot(j, kernel) * self.scale
    }

    fn dot(&self, j: usize, kernel: &Kernel) -> f64 {
        // ext[j + i] is mls[j − K + i]; the kernel's span must not exceed the extension.
        let off = self.half - kernel.half.min(self.half);
        self.ext
            .get(j + off..j + off + kernel.reversed.len())
            .map_or(0.0, |x| {
                x.iter()
                    .zip(&kernel.reversed)
                    .map(|(a, b)| a * b)
                    .sum::<f64>()
            })
    }
}

/// The modified Bessel function of the first kind, order 0 (power series; converges for
/// the arguments of a Kaiser window, β ≤ 20).
fn bessel_i0(x: f64) -> f64 {
    let q = 0.25 * x * x;
    let mut term = 1.0;
    let mut sum = 1.0;
    for k in 1..200 {
        term *= q / (k as f64 * k as f64);
        sum += term;
        if term < sum * 1e-17 {
            break;
        }
    }
    sum
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fft::Fft;

    #[test]
    fn the_stopband_is_below_18_khz_and_0_4_of_the_rate() {
        for (rate, stop) in [
            (44_100.0, 17_640.0),
            (48_000.0, 18_000.0),
            (96_000.0, 18_000.0),
            (192_000.0, 18_000.0),
            (8_000.0, 3_200.0),
        ] {
            let l = BandLimit::for_rate(rate);
            assert!((l.stop_hz() - stop).abs() < 1e-6, "{rate}");
            assert!(l.pass_hz() < l.stop_hz() && l.pass_hz() > 0.25 * l.stop_hz());
        }
        assert!(BandLimit::for_rate(44_100.0).taps() < 200);
        assert!(BandLimit::for_rate(192_000.0).taps() < 600);
    }

    /// The signal's spectrum: flat in the passband, −110 dB or less beyond the stopband edge.
    #[test]
    fn the_signal_has_no_energy_above_the_stopband() {
        let rate = 44_100.0;
        let seq = Sequence::mls(15, 0.5);
        let bl = BandLimited::new(&seq, rate);
        let peak = bl.table.iter().fold(0.0f32, |m, v| m.max(v.abs()));
        assert!((f64::from(peak) - 0.5).abs() < 1e-6);
        let n = 1 << 15;
        let fft = Fft::new(n);
        // The periodic signal over 2^15 frames (one period plus one frame): leakage is
        // avoided with a Hann window, whose sidelobes fall fast enough for the comparison.
        let mut re: Vec<f64> = (0..n)
            .map(|i| {
                let w = 0.5 - 0.5 * (std::f64::consts::TAU * i as f64 / n as f64).cos();
                w * f64::from(bl.sample(i as i64))
            })
            .collect();
        let mut im = vec![0.0; n];
        fft.transform(&mut re, &mut im, false);
        let power: Vec<f64> = re.iter().zip(&im).map(|(a, b)| a * a + b * b).collect();
        let band = |lo: f64, hi: f64| {
            let (a, b) = (
                (lo / rate * n as f64) as usize,
                (hi / rate * n as f64) as usize,
            );
            power[a..b].iter().sum::<f64>() / (b - a) as f64
        };
        let pass = band(100.0, bl.limit().pass_hz());
        let stop = band(bl.limit().stop_hz() + 200.0, rate / 2.0);
        let db = 10.0 * (stop / pass).log10();
        assert!(db < -110.0, "stopband {db:.1} dB");
    }

    #[test]
    fn a_kernel_delays_by_its_fraction() {
        // A delay by 0.3 then by 0.7 frames is a delay by one whole frame.
        let seq = Sequence::mls(12, 1.0);
        let bl = BandLimited::new(&seq, 48_000.0);
        let k0 = bl.limit().kernel(0.0);
        let k1 = bl.limit().kernel(1.0);
        for n in [10i64, 1000, 3000] {
            assert!((bl.delayed(n, &k0) - f64::from(bl.sample(n))).abs() < 1e-6);
            assert!((bl.delayed(n, &k1) - f64::from(bl.sample(n - 1))).abs() < 1e-6);
        }
        // Any fraction: in the passband, gain 1 and the phase of a delay by exactly μ.
        let limit = bl.limit();
        for mu in [-0.5, -0.123, 0.25, 0.5] {
            let k = limit.kernel(mu);
            for f in [100.0, 5_000.0, 12_000.0, limit.pass_hz()] {
                let w = std::f64::consts::TAU * f / limit.rate();
                // H(ω) = Σₖ h(k − μ)·e^(−iωk); reversed[i] holds k = K − i.
                let (mut re, mut im) = (0.0, 0.0);
                for (i, c) in k.reversed.iter().enumerate() {
                    let kk = k.half as f64 - i as f64;
                    re += c * (w * kk).cos();
                    im -= c * (w * kk).sin();
                }
                // |H − e^(−iωμ)|: amplitude and phase error together.
                let err = ((re - (w * mu).cos()).powi(2) + (im + (w * mu).sin()).powi(2)).sqrt();
                assert!(err < 1e-5, "μ {mu}, {f} Hz: error {err:e}");
            }
        }
    }
}
