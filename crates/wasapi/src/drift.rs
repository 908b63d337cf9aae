//! Clock drift between a capture and a render device that run on different clocks (a USB
//! microphone and the onboard speakers, say).
//!
//! In duplex the ASIO side runs at the capture clock (a period runs when `B` input frames
//! are there) and the render device drains the output queue at its own clock. With two
//! clocks that differ by `d` ppm the queue grows or shrinks by `d · rate / 10⁶` frames per
//! second: latency builds up without bound, or the render side underruns once per cycle of
//! the drift — the "periodic glitch". [`DriftSteer`] watches the lowest queue level in each
//! window of time (the level the render pulls leave; the highs come and go with the
//! period bursts), learns the level the stream settled at (the lowest low of
//! [`HORIZON`] windows), and when the lowest low of the last [`HORIZON`] windows drifts away
//! from it by more than a margin, slips single frames — drops one frame of an ASIO buffer, or
//! plays one frame twice — at most one per [`SLIP_INTERVAL_MS`], until it is back within
//! half the margin. A rise by more than a render period that lasts the whole horizon is a
//! step, not drift (the render side skipped pulls it will not make up: winepulse after an
//! underrun, an engine glitch on Windows): it is cut back at once ([`Slip::Cut`], counted
//! as a resync) instead of being slipped away over many seconds. A stall (a late wake-up of the render side, frequent under Wine) only
//! raises the level for a moment, so the lowest low of the horizon ignores it; drift moves
//! every window's low. That corrects up to `1000 / SLIP_INTERVAL_MS` frames per second
//! (≈ 1000 ppm at 48 kHz; real crystals differ by well under 200 ppm), and a single repeated
//! or dropped frame is far less audible than an underrun.
//!
//! Portable and allocation-free: the stream feeds it a level per ASIO period; the model test
//! below runs two clocks against each other.

/// Length of one observation window, ms.
pub const WINDOW_MS: u64 = 250;
/// Windows skipped after a start before the level is learnt (start-up settles).
pub const SETTLE_WINDOWS: u32 = 4;
/// Windows whose lowest low is the level (2 s): longer than a stall and its catch-up.
pub const HORIZON: usize = 8;
/// Least time between two slips, ms.
pub const SLIP_INTERVAL_MS: u64 = 20;

/// Whether a render and a capture endpoint are known to run on one clock, so that steering
/// would only react to timing noise: the same endpoint, or a PulseAudio sink and its monitor
/// source under Wine (winepulse names the monitor "Monitor of" the sink's name). Other
/// pairs may drift, and are steered.
pub fn shares_clock(
    render_id: &str,
    render_name: &str,
    capture_id: &str,
    capture_name: &str,
) -> bool {
    render_id == capture_id
        || capture_name
            .strip_prefix("Monitor of ")
            .is_some_and(|sink| sink == render_name)
}

/// What the stream does to the ASIO buffer it is about to queue.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Slip {
    /// Queue it as it is.
    None,
    /// Leave out its last frame (the queue is too long).
    Drop,
    /// Queue its last frame twice (the queue is too short).
    Repeat,
    /// Discard this many queued frames, then queue it: the level stepped up by more than a
    /// render period and stayed there (the render side skipped pulls it will not make up —
    /// winepulse after an underrun, an engine glitch), which slips would take many seconds
    /// to undo. One counted discontinuity instead of a lasting extra latency.
    Cut(u32),
}

/// Output queued beyond the plan when the steer runs, frames: one render period. The plan's
/// prefill is the least that cannot underrun in the worst phase of render pulls against
/// capture packets, so in that phase the queue's low sits at empty; a render clock that runs
/// fast would then drain it into underruns (which reset the level) before the low ever
/// moved by [`DriftSteer`]'s margin. With a period of headroom the drain shows as a falling
/// low, and the steer repeats frames long before the queue is empty. The output latency
/// reported includes it.
pub fn steering_headroom(render_period: u32) -> u32 {
    render_period
}

/// Steers the output queue back to the level it settled at.
#[derive(Debug, Clone)]
pub struct DriftSteer {
    window_frames: u64,
    slip_interval_frames: u64,
    margin: i64,
    /// A rise above the learnt level this large is a step, cut at once.
    step: i64,
    /// Frames (at the stream rate) seen since start.
    clock: u64,
    window_start: u64,
    window_low: i64,
    windows: u32,
    /// The lows of the last [`HORIZON`] windows (a ring; `i64::MAX` = none yet).
    lows: [i64; HORIZON],
    /// The level learnt after settling.
    target: Option<i64>,
    /// Correcting towards the target: −1 drop, +1 repeat, 0 idle.
    correcting: i8,
    last_slip: u64,
    /// Frames dropped minus frames repeated since start.
    net: i64,
    slips: u64,
    cuts: u64,
}

impl DriftSteer {
    /// For a stream at `rate` whose render device pulls `render_period` frames at a time.
    pub fn new(rate: u32, render_period: u32) -> Self {
        let ms = |m: u64| u64::from(rate) * m / 1000;
        Self {
            window_frames: ms(WINDOW_MS).max(1),
            slip_interval_frames: ms(SLIP_INTERVAL_MS).max(1),
            // Timing jitter (Wine's timers: milliseconds) moves the low; half a render period
            // (at least 16 frames) away from where it settled is drift, not jitter. The
            // settled low is about one period above empty, so this catches a draining queue
            // well before it underruns.
            margin: i64::from((render_period / 2).max(16)),
            step: i64::from(render_period.max(32)),
            clock: 0,
            window_start: 0,
            window_low: i64::MAX,
            windows: 0,
            lows: [i64::MAX; HORIZON],
            target: None,
            correcting: 0,
            last_slip: 0,
            net: 0,
            slips: 0,
            cuts: 0,
        }
    }

    /// Slips so far.
    pub fn slips(&self) -> u64 {
        self.slips
    }

    /// Steps cut so far ([`Slip::Cut`]).
    pub fn cuts(&self) -> u64 {
        self.cuts
    }

    /// Frames dropped minus frames repeated so far (positive: the render clock is slower).
    pub fn net_frames(&self) -> i64 {
        self.net
    }

    /// Called once per ASIO period of `frames` frames, with the output queue level (frames
    /// queued for the render device, before this period's frames are added). Returns what to
    /// do with this period's frames. Real-time safe.
    pub fn period(&mut self, queued: usize, frames: u32) -> Slip {
        let level = i64::try_from(queued).unwrap_or(i64::MAX);
        self.clock += u64::from(frames);
        self.window_low = self.window_low.min(level);
        if self.clock - self.window_start >= self.window_frames {
            let low = self.window_low;
            self.window_start = self.clock;
            self.window_low = i64::MAX;
            self.windows = self.windows.saturating_add(1);
            if self.windows <= SETTLE_WINDOWS {
                return Slip::None;
            }
            // `windows` counts from 1; the ring slot cycles through all HORIZON entries.
            let slot = (self.windows as usize) % HORIZON;
            if let Some(entry) = self.lows.get_mut(slot) {
                *entry = low;
            }
            let lowest = self.lows.iter().copied().min().unwrap_or(i64::MAX);
            let learnt = self.windows > SETTLE_WINDOWS + HORIZON as u32;
            match self.target {
                None if learnt => self.target = Some(lowest),
                None => {}
                Some(target) => {
                    let off = lowest - target;
                    if off > self.step {
                        // The level has been this far up for the whole horizon: a step.
                        self.lows = [i64::MAX; HORIZON];
                        self.correcting = 0;
                        self.cuts += 1;
                        return Slip::Cut(u32::try_from(off).unwrap_or(u32::MAX));
                    }
                    if off > self.margin {
                        self.correcting = -1;
                    } else if off < -self.margin {
                        self.correcting = 1;
                    } else if off.abs() <= self.margin / 2 {
                        self.correcting = 0;
                    }
                }
            }
        }
        if self.correcting == 0 || self.clock - self.last_slip < self.slip_interval_frames {
            return Slip::None;
        }
        self.last_slip = self.clock;
        self.slips += 1;
        if self.correcting < 0 {
            self.net += 1;
            Slip::Drop
        } else {
            self.net -= 1;
            Slip::Repeat
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Capture at 48 kHz drives periods of `b` frames; the render device pulls `p` frames
    /// whenever its own clock (48 kHz · (1 + ppm/10⁶)) says so. Returns (lowest level after
    /// settling, highest level after settling, slips, net, underruns).
    fn run(ppm: f64, b: u32, p: u32, seconds: f64, steer: bool) -> (i64, i64, u64, i64, u64) {
        run_with_stalls(ppm, b, p, seconds, steer, 0)
    }

    fn run_with_stalls(
        ppm: f64,
        b: u32,
        p: u32,
        seconds: f64,
        steer: bool,
        stall: u32,
    ) -> (i64, i64, u64, i64, u64) {
        let (low, high, slips, net, underruns, _, _) =
            run_full(ppm, b, p, seconds, steer, stall, 0);
        (low, high, slips, net, underruns)
    }

    /// As [`run`], and every 5 s the render side stalls for `stall` frames, then catches up
    /// pulling every half period until it is back on schedule (Wine's timer thread after a
    /// late wake-up).
    /// The model with everything: stalls as in [`run_with_stalls`], and from 30 s on the
    /// render side skips `skip` frames of pulls for good (the level steps up). Returns
    /// (low, high, slips, net, underruns, cuts, the mean level over the last 5 s).
    #[allow(clippy::type_complexity)]
    fn run_full(
        ppm: f64,
        b: u32,
        p: u32,
        seconds: f64,
        steer: bool,
        stall: u32,
        skip: u32,
    ) -> (i64, i64, u64, i64, u64, u64, i64) {
        let rate = 48_000.0;
        let mut s = DriftSteer::new(48_000, p);
        let mut queued: i64 = i64::from(2 * p + b); // the plan's prefill, roughly
        let mut render_clock = 0.0f64; // render frames due so far
        let mut pulled = 0.0f64;
        let (mut low, mut high, mut underruns) = (i64::MAX, i64::MIN, 0u64);
        let (mut tail_sum, mut tail_n) = (0i64, 0i64);
        let periods = (seconds * rate / f64::from(b)) as u64;
        for n in 0..periods {
            let t = (n + 1) as f64 * f64::from(b) / rate;
            // Render pulls that happened up to now.
            render_clock = t * rate * (1.0 + ppm / 1e6);
            // Render frames by which the pulls lag their schedule now: a stall, then a
            // catch-up at twice the pace.
            let since = (t % 5.0) * rate;
            let behind = if stall == 0 || t < 5.0 {
                0.0
            } else if since < f64::from(stall) {
                since
            } else {
                (f64::from(stall) - (since - f64::from(stall))).max(0.0)
            };
            let skipped = if t >= 30.0 { f64::from(skip) } else { 0.0 };
            while pulled + f64::from(p) <= render_clock - behind - skipped {
                pulled += f64::from(p);
                queued -= i64::from(p);
                if queued < 0 {
                    underruns += 1;
                    queued = 0;
                }
            }
            let slip = if steer {
                s.period(queued as usize, b)
            } else {
                Slip::None
            };
            queued += i64::from(b)
                + match slip {
                    Slip::None => 0,
                    Slip::Drop => -1,
                    Slip::Repeat => 1,
                    Slip::Cut(n) => -i64::from(n),
                };
            if t > 5.0 {
                low = low.min(queued);
                high = high.max(queued);
            }
            if t > seconds - 5.0 {
                tail_sum += queued;
                tail_n += 1;
            }
        }
        let _ = render_clock;
        let queued = tail_sum / tail_n.max(1);
        (
            low,
            high,
            s.slips(),
            s.net_frames(),
            underruns,
            s.cuts(),
            queued,
        )
    }

    #[test]
    fn a_step_up_is_cut_once_not_slipped_away() {
        // Two periods of pulls skipped for good at 30 s (winepulse after an underrun).
        let (_, _, _, _, _, _, level_before) = run_full(0.0, 256, 480, 29.0, true, 0, 0);
        let (_, _, slips, _, underruns, cuts, level) = run_full(0.0, 256, 480, 60.0, true, 0, 960);
        assert_eq!(cuts, 1);
        assert!(slips < 20, "{slips} slips");
        assert_eq!(underruns, 0);
        // Back within the drift margin of where it was.
        assert!(
            (level - level_before).abs() <= 240,
            "mean level {level} vs {level_before} before the step"
        );
        // Unsteered, the step stays.
        let (_, _, _, _, _, _, level_free) = run_full(0.0, 256, 480, 60.0, false, 0, 960);
        assert!(
            (level_free - level_before - 960).abs() <= 64,
            "{level_free} vs {level_before}"
        );
    }

    #[test]
    fn a_sink_and_its_monitor_share_a_clock() {
        assert!(shares_clock(
            "{0.0.0.00000000}.{a}",
            "Tenuto Null Output",
            "{0.0.1.00000000}.{b}",
            "Monitor of Tenuto Null Output"
        ));
        assert!(shares_clock("{x}", "Speakers", "{x}", "Speakers"));
        assert!(!shares_clock(
            "{0.0.0.00000000}.{a}",
            "Speakers (Realtek)",
            "{0.0.1.00000000}.{b}",
            "Microphone (USB Audio)"
        ));
        assert!(!shares_clock(
            "{a}",
            "Tenuto Null Output",
            "{b}",
            "Monitor of Another Output"
        ));
    }

    #[test]
    fn one_clock_never_slips() {
        for (b, p) in [(64, 480), (480, 480), (1000, 441)] {
            let (_, _, slips, _, underruns) = run(0.0, b, p, 60.0, true);
            assert_eq!(slips, 0, "B {b}, P {p}");
            assert_eq!(underruns, 0);
        }
    }

    #[test]
    fn render_stalls_on_one_clock_never_slip() {
        // 27 ms stalls every 5 s, as Wine's timers show on a loaded machine.
        for (b, p) in [(64, 480), (256, 480), (1000, 480)] {
            let (_, _, slips, _, underruns) = run_with_stalls(0.0, b, p, 120.0, true, 1300);
            assert_eq!(slips, 0, "B {b}, P {p}");
            assert_eq!(underruns, 0);
        }
    }

    #[test]
    fn a_faster_render_clock_is_caught_before_it_underruns() {
        // Without steering: 300 ppm drains 14.4 frames/s and underruns within a minute.
        let (_, _, _, _, underruns) = run(300.0, 64, 480, 120.0, false);
        assert!(underruns > 0);
        let (low, high, slips, net, underruns) = run(300.0, 64, 480, 120.0, true);
        assert_eq!(underruns, 0, "low {low}");
        assert!(net < 0, "frames repeated: {net}");
        // 120 s · 14.4 frames/s ≈ 1728 frames of drift; the margin (240) and the drift
        // before the level is learnt (3 s, 43 frames) are not corrected.
        assert!((1400..1800).contains(&slips), "{slips} slips");
        assert!(
            high - low < 2 * 480 + 64 + 2 * 120,
            "the queue stays bounded: {low}..{high}"
        );
    }

    #[test]
    fn a_slower_render_clock_does_not_build_up_latency() {
        let (_, high_free, _, _, _) = run(-300.0, 256, 480, 120.0, false);
        let (low, high, _, net, underruns) = run(-300.0, 256, 480, 120.0, true);
        assert!(net > 0, "frames dropped: {net}");
        assert_eq!(underruns, 0);
        assert!(
            high < high_free - 1000,
            "steered high {high} vs free-running {high_free}"
        );
        assert!(high - low < 2 * 480 + 256 + 2 * 120, "{low}..{high}");
    }
}
