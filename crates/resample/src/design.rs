//! The filter: a Kaiser-windowed sinc, tabulated at `phases + 1` fractional positions per input
//! frame. Everything here runs at construction only (it allocates and uses floating-point
//! transcendental functions freely); the real-time path only reads the table.

/// Stopband attenuation the Kaiser window is designed for, in dB. The requirement is 100 dB;
/// the margin covers the linear interpolation between table rows (about −110 dB, see
/// [`PHASES_AT_UNITY`]) and the f32 table and arithmetic.
pub(crate) const ATTENUATION_DB: f64 = 115.0;

/// Table rows per input frame when the kernel is not stretched (upsampling or equal rates).
///
/// Linear interpolation between rows `1/L` apart leaves an error of the signal's second
/// derivative times `frac·(1 − frac) / (2 L²)`, i.e. spurs about `(πf / L)² / 10` below a tone
/// at `f` cycles per input frame. `L` = 512 keeps them below the kernel's own 115 dB at 20 kHz
/// / 44.1 kHz (figures in docs/RESAMPLER.md). A kernel stretched for downsampling by `in/out` has a
/// proportionally narrower band, so it needs proportionally fewer rows for the same figure.
pub(crate) const PHASES_AT_UNITY: usize = 512;

/// The fewest table rows per input frame, whatever the ratio.
const MIN_PHASES: usize = 16;

/// Taps are a multiple of this, the width of the dot product's inner step.
pub(crate) const TAP_MULTIPLE: usize = 8;

/// The audio band the passband must reach, in Hz.
const AUDIO_BAND_HZ: f64 = 20_000.0;

/// The widest transition band used when the lower rate leaves room for more than the audio
/// band, in Hz: higher rates keep their content up to `lower Nyquist − 4 kHz`, so the filter
/// (and its delay in seconds) stays about as long as at 48 kHz.
const MAX_TRANSITION_HZ: f64 = 4_000.0;

/// The designed filter and its tabulation.
pub(crate) struct Design {
    /// Taps per output frame (input frames under the kernel), a multiple of [`TAP_MULTIPLE`].
    pub taps: usize,
    /// Table rows per input frame; the table has `phases + 1` rows.
    pub phases: usize,
    /// `phases + 1` rows of `taps` coefficients. Row `p`, tap `k` is `h(p / phases +
    /// taps / 2 − 1 − k)`, `h` centred on 0; each row sums to exactly 1 (in f64) so that DC
    /// passes at unity gain whatever the fractional position.
    pub table: Vec<f32>,
    /// Upper edge of the passband, Hz.
    pub passband_hz: f64,
    /// Lower edge of the stopband (the lower rate's Nyquist frequency), Hz.
    pub stopband_hz: f64,
}

/// Modified Bessel function of the first kind, order 0, by its power series (converges for
/// every argument the Kaiser window uses, |x| ≤ 20).
fn bessel_i0(x: f64) -> f64 {
    let half = x / 2.0;
    let mut term = 1.0;
    let mut sum = 1.0;
    let mut k = 1.0;
    while term > sum * 1e-17 {
        term *= (half / k) * (half / k);
        sum += term;
        k += 1.0;
    }
    sum
}

/// Designs the filter for `input_rate → output_rate`.
pub(crate) fn design(input_rate: u32, output_rate: u32) -> Design {
    let fs_in = f64::from(input_rate);
    let fs_out = f64::from(output_rate);
    let low = fs_in.min(fs_out);
    let stopband_hz = low / 2.0;
    // Flat to 20 kHz, or to 4 kHz below the lower Nyquist frequency when that is higher; below
    // 44.1 kHz (not a driver rate, but accepted) the same proportion as at 44.1 kHz.
    let passband_hz = if stopband_hz - MAX_TRANSITION_HZ >= AUDIO_BAND_HZ {
        stopband_hz - MAX_TRANSITION_HZ
    } else {
        AUDIO_BAND_HZ.min(low * (AUDIO_BAND_HZ / 44_100.0))
    };
    // Everything below in units of input frames.
    let transition = (stopband_hz - passband_hz) / fs_in;
    let cutoff = (stopband_hz + passband_hz) / 2.0 / fs_in;
    let beta = 0.1102 * (ATTENUATION_DB - 8.7);
    let estimate = (ATTENUATION_DB - 7.95) / (14.36 * transition) + 1.0;
    let taps = (estimate.ceil() as usize).div_ceil(TAP_MULTIPLE) * TAP_MULTIPLE;
    let phases =
        ((PHASES_AT_UNITY as f64 * (fs_out / fs_in).min(1.0)).ceil() as usize).max(MIN_PHASES);

    let half = taps as f64 / 2.0;
    let i0_beta = bessel_i0(beta);
    let kernel = |tau: f64| -> f64 {
        let r = tau / half;
        if r.abs() >= 1.0 {
            return 0.0;
        }
        let x = 2.0 * cutoff * tau;
        let sinc = if x == 0.0 {
            1.0
        } else {
            (std::f64::consts::PI * x).sin() / (std::f64::consts::PI * x)
        };
        2.0 * cutoff * sinc * bessel_i0(beta * (1.0 - r * r).sqrt()) / i0_beta
    };

    let mut table = Vec::with_capacity((phases + 1) * taps);
    let mut row = vec![0.0f64; taps];
    for p in 0..=phases {
        let mu = p as f64 / phases as f64;
        for (k, h) in row.iter_mut().enumerate() {
            *h = kernel(mu + half - 1.0 - k as f64);
        }
        let sum: f64 = row.iter().sum();
        table.extend(row.iter().map(|h| (h / sum) as f32));
    }
    Design {
        taps,
        phases,
        table,
        passband_hz,
        stopband_hz,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bessel_matches_known_values() {
        // I0(0) = 1, I0(1) = 1.2660658777520082, I0(10) = 2815.716628466254.
        assert!((bessel_i0(0.0) - 1.0).abs() < 1e-15);
        assert!((bessel_i0(1.0) - 1.266_065_877_752_008_2).abs() < 1e-14);
        assert!((bessel_i0(10.0) / 2_815.716_628_466_254 - 1.0).abs() < 1e-13);
    }

    #[test]
    fn lengths_follow_the_lower_rate() {
        let d = design(44_100, 48_000);
        assert_eq!(d.taps % TAP_MULTIPLE, 0);
        assert_eq!(d.phases, PHASES_AT_UNITY);
        assert_eq!(d.table.len(), (d.phases + 1) * d.taps);
        // Downsampling stretches the kernel by in/out and thins the table by out/in.
        let down = design(192_000, 44_100);
        assert!(down.taps > 4 * d.taps - 2 * TAP_MULTIPLE);
        assert!(down.phases < PHASES_AT_UNITY / 4 + 2);
        // The last row is the first shifted by one tap.
        let last = &d.table[d.phases * d.taps..];
        let first = &d.table[..d.taps];
        for k in 1..d.taps {
            assert!((last[k] - first[k - 1]).abs() < 1e-7);
        }
    }
}
