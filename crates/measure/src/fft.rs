//! A small radix-2 FFT and the FFT cross-correlation the loopback analyser
//! uses to find the round-trip lag. Plain safe Rust; not real-time code
//! (it allocates), it runs on the analysing thread only.

/// In-place complex FFT of a power-of-two length, with a precomputed
/// twiddle table.
#[derive(Debug)]
pub(crate) struct Fft {
    n: usize,
    cos: Vec<f64>,
    sin: Vec<f64>,
}

impl Fft {
    /// A transform of `n` points; `n` must be a power of two (≥ 1).
    pub(crate) fn new(n: usize) -> Self {
        debug_assert!(n.is_power_of_two());
        let half = n / 2;
        let step = std::f64::consts::TAU / n as f64;
        Self {
            n,
            cos: (0..half).map(|k| (step * k as f64).cos()).collect(),
            sin: (0..half).map(|k| (step * k as f64).sin()).collect(),
        }
    }

    /// Transforms (`re`, `im`) in place: forward computes
    /// `X[k] = Σ x[j]·e^(−2πi·jk/n)`; inverse uses `+` and divides by `n`.
    pub(crate) fn transform(&self, re: &mut [f64], im: &mut [f64], inverse: bool) {
        let n = self.n;
        assert!(re.len() == n && im.len() == n, "FFT length mismatch");
        if n < 2 {
            return;
        }
        // Bit-reversal permutation.
        let mut j = 0usize;
        for i in 1..n {
            let mut bit = n >> 1;
            while j & bit != 0 {
                j ^= bit;
                bit >>= 1;
            }
            j |= bit;
            if i < j {
                re.swap(i, j);
                im.swap(i, j);
            }
        }
        let sign = if inverse { 1.0 } else { -1.0 };
        let mut len = 2;
        while len <= n {
            let half = len / 2;
            let stride = n / len;
            for start in (0..n).step_by(len) {
                for k in 0..half {
                    let c = self.cos[k * stride];
                    let s = sign * self.sin[k * stride];
                    let a = start + k;
                    let b = a + half;
                    let tr = re[b] * c - im[b] * s;
                    let ti = re[b] * s + im[b] * c;
                    re[b] = re[a] - tr;
                    im[b] = im[a] - ti;
                    re[a] += tr;
                    im[a] += ti;
                }
            }
            len <<= 1;
        }
        if inverse {
            let scale = 1.0 / n as f64;
            for v in re.iter_mut().chain(im.iter_mut()) {
                *v *= scale;
            }
        }
    }
}

/// `r[k] = Σ_{i < y.len()} y[i]·s[i + k]` for `k` in `0..=s.len() − y.len()`
/// (empty if `y` is longer than `s`), through one complex FFT of both
/// signals packed as `y + i·s` and one inverse FFT.
pub(crate) fn cross_correlate(y: &[f64], s: &[f64]) -> Vec<f64> {
    if y.is_empty() || y.len() > s.len() {
        return Vec::new();
    }
    let n = s.len().next_power_of_two();
    let fft = Fft::new(n);
    let mut re = vec![0.0; n];
    let mut im = vec![0.0; n];
    re[..y.len()].copy_from_slice(y);
    im[..s.len()].copy_from_slice(s);
    fft.transform(&mut re, &mut im, false);
    // Unpack Y = FFT(y) and S = FFT(s) from Z = FFT(y + i·s), then form
    // conj(Y)·S, whose inverse transform is the correlation.
    let mut out_re = vec![0.0; n];
    let mut out_im = vec![0.0; n];
    for k in 0..n {
        let m = (n - k) % n;
        let (a, b) = (re[k], im[k]);
        let (c, d) = (re[m], im[m]);
        let (p, q) = ((a + c) / 2.0, (b - d) / 2.0); // Y = p + iq
        let (u, v) = ((b + d) / 2.0, (a - c) / 2.0); // S = u − iv
        out_re[k] = p * u - q * v;
        out_im[k] = -(p * v + q * u);
    }
    fft.transform(&mut out_re, &mut out_im, true);
    out_re.truncate(s.len() - y.len() + 1);
    out_re
}

#[cfg(test)]
mod tests {
    use super::*;

    fn noise(n: usize, seed: u64) -> Vec<f64> {
        let mut x = seed;
        (0..n)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                (x >> 11) as f64 / (1u64 << 53) as f64 - 0.5
            })
            .collect()
    }

    #[test]
    fn forward_then_inverse_is_the_identity_and_matches_a_dft() {
        let n = 64;
        let x = noise(n, 7);
        let mut re = x.clone();
        let mut im = vec![0.0; n];
        let fft = Fft::new(n);
        fft.transform(&mut re, &mut im, false);
        for k in [0, 1, 5, 31, 63] {
            let (mut dr, mut di) = (0.0, 0.0);
            for (j, v) in x.iter().enumerate() {
                let a = -std::f64::consts::TAU * (j * k) as f64 / n as f64;
                dr += v * a.cos();
                di += v * a.sin();
            }
            assert!(
                (re[k] - dr).abs() < 1e-9 && (im[k] - di).abs() < 1e-9,
                "bin {k}"
            );
        }
        fft.transform(&mut re, &mut im, true);
        for (a, b) in re.iter().zip(&x) {
            assert!((a - b).abs() < 1e-12);
        }
    }

    #[test]
    fn correlation_matches_the_direct_sum() {
        let y = noise(100, 3);
        let s = noise(333, 9);
        let r = cross_correlate(&y, &s);
        assert_eq!(r.len(), 234);
        for (k, got) in r.iter().enumerate() {
            let want: f64 = y.iter().enumerate().map(|(i, v)| v * s[i + k]).sum();
            assert!((got - want).abs() < 1e-9, "lag {k}: {got} vs {want}");
        }
        assert!(cross_correlate(&s, &y).is_empty());
    }
}
