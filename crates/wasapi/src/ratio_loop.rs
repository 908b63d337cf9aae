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
/// A coarse loop's deadband (see [`RatioLoop::coarse`]), s of the queue's rate.
pub const COARSE_DEADBAND_S: f64 = 0.001;
/// A coarse loop's smoothing time constant, s.
pub const COARSE_SMOOTHING_S: f64 = 2.0;
/// How long a level found beyond the resync threshold is watched before the loop decides
/// that the device lost or gained time, s; the second half is averaged (the raw level's
/// jitter averages out; a moment's excursion that comes back is left alone).
pub const RESYNC_PROBE_S: f64 = 0.2;

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
    /// Errors this small (frames) are not acted on; a coarse loop's integral ignores them too.
    deadband: f64,
    smoothing_s: f64,
    coarse: bool,
    /// The loop acts (a coarse loop waits for [`Self::release`]).
    released: bool,
    /// Deviations beyond this many frames are probed as lost or gained time (0: never).
    resync_frames: f64,
    /// A probe under way: the levels' sum, their count, and when it ends (s).
    probe: Option<(f64, u32, f64)>,
    /// The step the level should make at once (see [`Self::take_resync`]).
    resync: Option<f64>,
    /// A resync was just given: the next probe starts at once, whatever the level, to take
    /// what the device lost after the first probe measured.
    follow_up: bool,
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
            deadband: DEADBAND_FRAMES,
            smoothing_s: SMOOTHING_S,
            coarse: false,
            released: true,
            resync_frames: 0.0,
            probe: None,
            resync: None,
            follow_up: false,
        }
    }

    /// Levels further than `frames` from the target are time the device lost or gained (a
    /// stall below the API that it did not make up, a burst), not drift: the loop averages
    /// the level over the second half of [`RESYNC_PROBE_S`], holding its correction meanwhile, and if the mean
    /// is still more than half of `frames` off, [`Self::take_resync`] gives the step that
    /// puts it back. A second probe follows at once and takes what is still off beyond the
    /// deadband (or an eighth of `frames`): a stall that went on while the first measured. Without this the loop would steer a stall of tens of milliseconds out
    /// at its limit for many seconds, the audio pitched by up to [`MAX_PPM`] all along.
    pub fn with_resync(mut self, frames: f64) -> Self {
        self.resync_frames = frames.max(0.0);
        self
    }

    /// The step to make at once, frames (the level less its target, averaged over the
    /// probe), once: the caller moves the queue by its opposite; the loop's smoothed level
    /// did not follow the excursion, so it needs no telling. Real-time safe.
    pub fn take_resync(&mut self) -> Option<f64> {
        self.resync.take()
    }

    /// A loop for a level known only coarsely: the device gives no position, so the level
    /// comes from when its pulls and packets are seen, which a device's own pattern moves by
    /// a large part of its period (winepulse's 10-ms timer against PulseAudio's blocks: the
    /// smoothed level wanders by ±10–25 frames at 48 kHz with no drift at all). The level is
    /// smoothed over [`COARSE_SMOOTHING_S`]; errors within ±[`COARSE_DEADBAND_S`] move
    /// neither term, so that clocks which agree (every stream of one PulseAudio server)
    /// keep the ratio at exactly 1 and the latency still; beyond it both terms act on the
    /// error less the deadband, and a real drift holds the level at the deadband's edge
    /// (at most half a millisecond off its target). The level's slope says nothing here, so
    /// the integral starts from a preset or from zero.
    ///
    /// It does not act before [`Self::release`]: an aggregate moves its members while it
    /// aligns them and trims them a moment later (its master's hold lands within half a
    /// buffer of its aim), and a coarse loop would take that transit for drift and keep
    /// what its integral learned of it for good. At ±300 ppm the level moves at most
    /// 70 frames at 48 kHz in the 4.5 s before the trim; the queues' headroom is a period.
    pub fn coarse(rate: f64) -> Self {
        Self {
            deadband: COARSE_DEADBAND_S * rate.max(1.0),
            smoothing_s: COARSE_SMOOTHING_S,
            coarse: true,
            released: false,
            ..Self::new(rate)
        }
    }

    /// Lets a [`Self::coarse`] loop act from now on (its target is the one last given to
    /// [`Self::retarget`], or the smoothed level). Real-time safe.
    pub fn release(&mut self) {
        self.released = true;
    }

    /// Whether this is a [`Self::coarse`] loop.
    pub fn is_coarse(&self) -> bool {
        self.coarse
    }

    /// One ASIO period of `frames` host frames at `host_rate` has passed and the queue stands
    /// at `level` frames: returns the resampler's factor for the next period. Real-time safe.
    pub fn period(&mut self, level: f64, frames: u32, host_rate: f64) -> f64 {
        let dt = f64::from(frames) / host_rate.max(1.0);
        self.elapsed_s += dt;
        if let (true, true, Some(target)) = (self.resync_frames > 0.0, self.released, self.target) {
            if self.probe.is_none()
                && (self.follow_up || (level - target).abs() > self.resync_frames)
            {
                self.probe = Some((0.0, 0, self.elapsed_s + RESYNC_PROBE_S));
            }
            if let Some((sum, n, until)) = self.probe.as_mut() {
                // The probe's second half is averaged: a step within its first half
                // counts whole. Neither the smoothed level nor the terms move meanwhile.
                if self.elapsed_s >= *until - RESYNC_PROBE_S / 2.0 {
                    *sum += level;
                    *n += 1;
                }
                if self.elapsed_s < *until {
                    return 1.0 + self.ppm * 1e-6;
                }
                let off = *sum / f64::from((*n).max(1)) - target;
                self.probe = None;
                // A follow-up takes any remainder beyond the deadband (a stall that went on
                // while the first probe measured); it is the last of the series.
                let follow_up = std::mem::take(&mut self.follow_up);
                let least = if follow_up {
                    self.deadband.max(self.resync_frames / 8.0)
                } else {
                    self.resync_frames / 2.0
                };
                if off.abs() > least {
                    self.resync = Some(off);
                    self.follow_up = !follow_up;
                    return 1.0 + self.ppm * 1e-6;
                }
            }
        }
        let alpha = (dt / self.smoothing_s).min(1.0);
        let smoothed = match self.level {
            Some(l) => l + (level - l) * alpha,
            None => level,
        };
        self.level = Some(smoothed);
        if !self.released {
            return 1.0;
        }
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
            } else if !self.coarse && n_early > 0 && n_late > 0 {
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
        let target = *self.target.get_or_insert(smoothed);
        let error = smoothed - target;
        self.max_abs_error = self.max_abs_error.max(error.abs());
        // Continuous through the deadband (no step in the correction at its edge).
        let outside = (error.abs() - self.deadband).max(0.0) * error.signum();
        let proportional = self.kp * outside;
        let integral = self.integral + if self.coarse { outside } else { error } * dt;
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

    /// The queue is being moved on purpose (an aggregate aligning its members: silence
    /// added or frames dropped now, the host's periods paused or hurried over the next few
    /// milliseconds) to stand at `target` frames for good. The smoothed level is put there
    /// at once, so that the loop takes neither the step nor the brief transit for drift; it
    /// is not moved by the step, since it may not have caught up with the level before it
    /// (a device that lost time during the start-up moves the raw level by its loss at
    /// once, and the smoothed one over seconds). The target is `target` from now on.
    /// Real-time safe.
    pub fn retarget(&mut self, target: f64) {
        self.level = Some(target);
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

    /// A coarse loop: held until released; then a level that jitters by ±20 frames around
    /// a still mean never moves the ratio off exactly 1, and a 300 ppm drift is taken up
    /// with the level held at the deadband's edge (within a few frames of it).
    #[test]
    fn a_coarse_loop_ignores_jitter_and_holds_drift_at_its_deadband() {
        let rate = 48_000.0;
        let frames = 128;
        let dt = f64::from(frames) / rate;
        let deadband = COARSE_DEADBAND_S * rate;
        // Clocks that agree; a triangle of ±20 frames over 0.4 s on the measured level.
        let mut lp = RatioLoop::coarse(rate);
        for _ in 0..1000 {
            assert_eq!(lp.period(1000.0, frames, rate), 1.0, "acted before release");
        }
        lp.release();
        for step in 0..(120.0 / dt) as usize {
            let phase = (step as f64 * dt / 0.4).fract();
            let jitter = 80.0 * (phase - 0.5).abs() - 20.0;
            assert_eq!(lp.period(1000.0 + jitter, frames, rate), 1.0, "step {step}");
        }
        // A drift: the loop takes it up; the level ends near the deadband's edge.
        let mut lp = RatioLoop::coarse(rate);
        lp.release();
        let mut level = 1000.0;
        let drift_ppm = 300.0;
        for _ in 0..(300.0 / dt) as usize {
            let factor = lp.period(level, frames, rate);
            let correction_ppm = (factor - 1.0) * 1e6;
            level += (drift_ppm - correction_ppm) * 1e-6 * rate * dt;
        }
        let target = lp.target().unwrap_or(0.0);
        let off = (level - target).abs();
        assert!(
            off <= deadband + 4.0,
            "level {off:.1} frames off its target"
        );
        assert!(
            (lp.ppm() - drift_ppm).abs() < 5.0,
            "correction {}",
            lp.ppm()
        );
    }

    /// A stall the device does not make up (the level 1000 frames up for good) is put
    /// back in one step after the probe, with the correction held meanwhile; a moment's
    /// excursion that comes back is left alone.
    #[test]
    fn time_lost_for_good_is_put_back_in_one_step() {
        let rate = 48_000.0;
        let frames = 128;
        let dt = f64::from(frames) / rate;
        let mut lp = RatioLoop::coarse(rate).with_resync(720.0);
        lp.release();
        let mut level = 2000.0;
        for _ in 0..(10.0 / dt) as usize {
            lp.period(level, frames, rate);
        }
        assert_eq!(lp.take_resync(), None);
        // A 5-ms excursion that comes back.
        for i in 0..100 {
            let spike = if i < 2 { 1000.0 } else { 0.0 };
            lp.period(level + spike, frames, rate);
        }
        assert_eq!(
            lp.take_resync(),
            None,
            "a moment's excursion was taken for lost time"
        );
        // Lost time: 1000 frames more for good.
        level += 1000.0;
        let mut step = None;
        for _ in 0..100 {
            let factor = lp.period(level, frames, rate);
            if let Some(off) = lp.take_resync() {
                step = Some(off);
                break;
            }
            assert_eq!(factor, 1.0, "the correction moved while probing");
        }
        let off = step.expect("no resync");
        assert!((off - 1000.0).abs() < 1.0, "step {off}");
        level -= off;
        for _ in 0..(10.0 / dt) as usize {
            assert_eq!(lp.period(level, frames, rate), 1.0);
            assert_eq!(
                lp.take_resync(),
                None,
                "the follow-up found a step not there"
            );
        }
        // A stall that goes on after the first probe measured: 800 frames, then 300 more
        // during the probe's average. The follow-up takes the rest.
        level += 800.0;
        let mut steps = Vec::new();
        for i in 0..200 {
            if i == 60 {
                level += 300.0;
            }
            lp.period(level, frames, rate);
            if let Some(off) = lp.take_resync() {
                level -= off;
                steps.push(off);
            }
        }
        assert_eq!(steps.len(), 2, "{steps:?}");
        assert!(
            (steps.iter().sum::<f64>() - 1100.0).abs() < 2.0,
            "{steps:?}"
        );
    }
}
