//! Drift between two clocks followed by resampling: a PI control loop on the output queue
//! level sets the render resampler's ratio, so that the queue stays where it settled and no
//! frame is ever dropped or repeated.
//!
//! In duplex over two devices the ASIO side runs at the capture clock and the render device
//! drains the output queue at its own. The render side's resampler (host → device frames,
//! 1:1 when the rates are equal) consumes its input `adjust` times faster than nominal;
//! [`RatioLoop`] chooses `adjust` once per ASIO period from the queue level:
//!
//! * **The level** is the stream's estimate as if the render device consumed continuously
//!   (the frames it has played since its last pull taken off), averaged by a first-order
//!   low-pass with a time constant of [`SMOOTHING_S`]: pulls and packets make the raw level a
//!   sawtooth of a period's height whose phase turns with the drift.
//! * **The target** is the smoothed level after [`SETTLE_S`] of streaming (start-up done).
//! * **The law:** `adjust = 1 + (Kp·e + Ki·∫e dt)·10⁻⁶` with `e` the smoothed level minus
//!   the target in frames (the proportional term sees `e` less ±[`DEADBAND_FRAMES`]), Kp = [`KP_PPM_PER_FRAME`] and
//!   Ki = [`KI_PPM_PER_FRAME_S`], the result within ±[`MAX_PPM`] (the integral stops growing
//!   while it is clamped). A queue too full (render slower) consumes input faster.
//! * **Why these gains.** The queue integrates the ratio error: `de/dt = −rate·10⁻⁶·ppm`, so
//!   the loop is second order with `ωₙ² = rate·10⁻⁶·Ki` and `2ζωₙ = rate·10⁻⁶·Kp`. At
//!   48 kHz the gains give ωₙ ≈ 0.13 rad/s and ζ ≈ 0.8 (no overshoot worth the name): a
//!   600 ppm step settles in about half a minute with the level at most a few tens of frames
//!   off; measured figures are in docs/MEASUREMENTS.md (the simulation in
//!   `tests/stream_sim.rs` prints them). At other rates the gains are scaled so that the
//!   dynamics stay the same.
//!
//! Portable and allocation-free.

/// Time constant of the level's low-pass, s.
pub const SMOOTHING_S: f64 = 1.0;
/// Streaming time before the target is taken, s.
pub const SETTLE_S: f64 = 2.0;
/// Errors this small (frames) are not acted on proportionally (the integral still sees them):
/// the level's residual jitter then does not modulate the ratio.
pub const DEADBAND_FRAMES: f64 = 1.0;
/// Proportional gain at 48 kHz, ppm per frame of error.
pub const KP_PPM_PER_FRAME: f64 = 4.0;
/// Integral gain at 48 kHz, ppm per frame·second of error.
pub const KI_PPM_PER_FRAME_S: f64 = 0.35;
/// The most the loop corrects, ppm (crystals differ by well under 200 ppm).
pub const MAX_PPM: f64 = 2000.0;
/// The largest drift a first estimate may give, ppm; beyond it the estimate is noise.
pub const PLAUSIBLE_PPM: f64 = 1000.0;

/// The control loop (see the module documentation).
#[derive(Debug, Clone)]
pub struct RatioLoop {
    rate: f64,
    kp: f64,
    ki: f64,
    elapsed_s: f64,
    level: Option<f64>,
    target: Option<f64>,
    integral: f64,
    ppm: f64,
    max_abs_error: f64,
    /// Raw levels summed over the two windows that give the drift's first estimate:
    /// (sum, count) over [`EARLY_FROM_S`, `EARLY_TO_S`) and [`LATE_FROM_S`, [`SETTLE_S`]).
    windows: [(f64, u32); 2],
    /// The drift measured elsewhere (from the devices' clocks), ppm: the integral starts
    /// there instead of at the level's slope.
    preset_ppm: Option<f64>,
}

/// The first window of levels for the drift's first estimate, s.
const EARLY_FROM_S: f64 = 0.5;
/// Its end, s.
const EARLY_TO_S: f64 = 1.0;
/// The second window's start (it ends at [`SETTLE_S`]), s.
const LATE_FROM_S: f64 = 1.5;

impl RatioLoop {
    /// A loop for a queue counted in frames at `rate`.
    pub fn new(rate: f64) -> Self {
        // Frames per second per ppm scale with the rate; the gains scale inversely so that
        // ωₙ and ζ are the same at every rate.
        let scale = 48_000.0 / rate.max(1.0);
        Self {
            rate: rate.max(1.0),
            kp: KP_PPM_PER_FRAME * scale,
            ki: KI_PPM_PER_FRAME_S * scale,
            elapsed_s: 0.0,
            level: None,
            target: None,
            integral: 0.0,
            ppm: 0.0,
            max_abs_error: 0.0,
            windows: [(0.0, 0); 2],
            preset_ppm: None,
        }
    }

    /// One ASIO period of `frames` host frames at `host_rate` has passed and the queue stands
    /// at `level` frames: returns the resampler's factor for the next period. Real-time safe.
    pub fn period(&mut self, level: f64, frames: u32, host_rate: f64) -> f64 {
        let dt = f64::from(frames) / host_rate.max(1.0);
        self.elapsed_s += dt;
        let alpha = (dt / SMOOTHING_S).min(1.0);
        let smoothed = match self.level {
            Some(l) => l + (level - l) * alpha,
            None => level,
        };
        self.level = Some(smoothed);
        if self.elapsed_s < SETTLE_S {
            let window = if (EARLY_FROM_S..EARLY_TO_S).contains(&self.elapsed_s) {
                self.windows.get_mut(0)
            } else if self.elapsed_s >= LATE_FROM_S {
                self.windows.get_mut(1)
            } else {
                None
            };
            if let Some(w) = window {
                w.0 += level;
                w.1 += 1;
            }
            return 1.0;
        }
        if self.target.is_none() {
            // The level's slope while nothing corrected it is the drift: start the integral
            // there, so that the loop need not learn it from a growing error (which would
            // move the latency by tens of frames while it does).
            let [(early, n_early), (late, n_late)] = self.windows;
            if let Some(ppm) = self.preset_ppm {
                if self.ki > 0.0 {
                    self.integral = ppm.clamp(-MAX_PPM, MAX_PPM) / self.ki;
                }
            } else {
                if n_early > 0 && n_late > 0 {
                    let span = (LATE_FROM_S + SETTLE_S - EARLY_FROM_S - EARLY_TO_S) / 2.0;
                    let slope = (late / f64::from(n_late) - early / f64::from(n_early)) / span;
                    let ppm = slope / self.rate * 1e6;
                    // A slope no pair of crystals gives is the level's noise (packets and
                    // pulls seen at other moments each time), not drift: start from zero.
                    if self.ki > 0.0 && ppm.abs() <= PLAUSIBLE_PPM {
                        self.integral = ppm / self.ki;
                    }
                }
            }
        }
        let target = *self.target.get_or_insert(smoothed);
        let error = smoothed - target;
        self.max_abs_error = self.max_abs_error.max(error.abs());
        // Continuous through the deadband (no step in the correction at its edge).
        let proportional = self.kp * (error.abs() - DEADBAND_FRAMES).max(0.0) * error.signum();
        let integral = self.integral + error * dt;
        let ppm = proportional + self.ki * integral;
        if ppm.abs() <= MAX_PPM {
            self.integral = integral;
        }
        self.ppm = ppm.clamp(-MAX_PPM, MAX_PPM);
        1.0 + self.ppm * 1e-6
    }

    /// The correction now, ppm (positive: the render device is slower than capture).
    pub fn ppm(&self) -> f64 {
        self.ppm
    }

    /// The largest error since the target was taken, frames.
    pub fn max_abs_error(&self) -> f64 {
        self.max_abs_error
    }

    /// The level's target, once taken, frames.
    pub fn target(&self) -> Option<f64> {
        self.target
    }

    /// The smoothed level, frames.
    pub fn level(&self) -> Option<f64> {
        self.level
    }

    /// The rate the queue is counted at.
    pub fn rate(&self) -> f64 {
        self.rate
    }

    /// The drift, measured from the devices' clocks before the target is taken, ppm: the
    /// loop starts from it (a better start than the level's slope, which the pattern of the
    /// host's periods disturbs). Real-time safe.
    pub fn preset(&mut self, ppm: f64) {
        if ppm.is_finite() {
            self.preset_ppm = Some(ppm);
        }
    }

    /// The queue was moved on purpose by `frames` (silence added or frames dropped): the
    /// smoothed level and the target, if taken, move with it. Real-time safe.
    pub fn shift(&mut self, frames: f64) {
        if let Some(l) = self.level.as_mut() {
            *l += frames;
        }
        if let Some(t) = self.target.as_mut() {
            *t += frames;
        }
    }

    /// The queue is being moved on purpose by `frames` (an aggregate aligning its members:
    /// silence added or frames dropped now, the host's periods paused or hurried over the
    /// next few milliseconds) to stand at `target` frames for good. The smoothed level moves
    /// by the whole amount at once, so that the loop takes neither the step nor the brief
    /// transit for drift, and the target is `target` from now on. Real-time safe.
    pub fn retarget(&mut self, frames: f64, target: f64) {
        if let Some(l) = self.level.as_mut() {
            *l += frames;
        }
        self.target = Some(target);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The queue as an integrator of the ratio error, sampled every 128 frames: a 600 ppm
    /// error is taken up by the loop, the level returns to its target, and over the last
    /// five minutes of ten the mean correction equals the error within 0.1 ppm.
    #[test]
    fn a_constant_drift_is_taken_up() {
        let rate = 48_000.0;
        let mut lp = RatioLoop::new(rate);
        let mut level = 500.0;
        let drift_ppm = -600.0; // render faster: the queue drains
        let frames = 128;
        let dt = f64::from(frames) / rate;
        let steps = (600.0 / dt) as usize;
        let (mut sum, mut n) = (0.0, 0.0);
        for step in 0..steps {
            let factor = lp.period(level, frames, rate);
            let correction_ppm = (factor - 1.0) * 1e6;
            level += (drift_ppm - correction_ppm) * 1e-6 * rate * dt;
            if step >= steps / 2 {
                sum += correction_ppm;
                n += 1.0;
            }
        }
        let mean = sum / n;
        assert!((mean - drift_ppm).abs() < 0.1, "mean correction {mean} ppm");
        let target = lp.target().unwrap_or(0.0);
        assert!(
            (level - target).abs() < 2.0,
            "level {level}, target {target}"
        );
        // A 600 ppm step from the start must stay well inside the steering headroom (a render
        // period, 480 frames) while the loop takes it up.
        assert!(lp.max_abs_error() < 150.0, "{}", lp.max_abs_error());
    }
}
