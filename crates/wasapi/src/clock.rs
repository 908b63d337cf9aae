//! The system time of each ASIO period (`ASIOTime::timeInfo.systemTime`, `getSamplePosition`).
//!
//! The driver thread wakes when WASAPI signals a packet, and a packet may complete several
//! ASIO periods at once (Wine delivers 10 ms packets, a 64-frame buffer is 1.3 ms), or arrive
//! late because the thread was. Stamping each period with the wake-up time would make the
//! times jump by a whole packet and repeat within one, which breaks any host that places MIDI
//! or video by them.
//!
//! [`SwitchClock`] instead estimates when each period's last frame really arrived:
//! * **Back-dating:** at a wake-up the newest frame arrived just now, so a period whose last
//!   frame lies `early` frames before it completed `early / rate` earlier. (For output only,
//!   `early` is how far the render queue is below its target: the period was due when the
//!   queue crossed it.)
//! * **Lower envelope:** the period timeline is `offset + index × period`. Lateness only ever
//!   adds, so an observation below the current offset is taken at once; one above it moves
//!   the offset by 1/32 of the difference, but never faster than [`MAX_SLEW`] of a period per
//!   period. That follows a device clock up to 0.5 % slower than the system's (Wine's null
//!   sink runs about 0.2 % slow) without reading late wake-ups — or a delivery that settles
//!   a few milliseconds later after a start, as winepulse's does — as a faster clock.
//! * **Monotonic:** each time is at least half a period after the one before.
//! * **Lost time:** when every observation stays more than [`STEP_THRESHOLD_NS`] above the
//!   timeline for [`STEP_PERSIST_NS`], frames that should have come never did (the audio
//!   system below WASAPI dropped them, or the device's timeline jumped). Late wake-ups cannot
//!   do that: the frames wait in WASAPI's buffer and the next periods are back-dated onto the
//!   timeline again. The timeline then moves up to the earliest of those observations at once
//!   (creeping would leave the times wrong by the lost time for many seconds), and
//!   [`SwitchClock::take_lost_ns`] tells the caller how much was lost.
//!
//! Pure arithmetic on the caller's values: no allocation, no lock, no panic (float → integer
//! casts saturate), so it runs on the driver thread.

/// Share of the gap an observation above the timeline moves it by.
const CREEP: f64 = 1.0 / 32.0;

/// The most the timeline may fall behind the nominal period per period (0.5 %).
pub const MAX_SLEW: f64 = 0.005;

/// How far above the timeline observations must stay to count as lost time, ns: more than
/// one of Wine's 10 ms packets plus wake-up jitter.
pub const STEP_THRESHOLD_NS: f64 = 15e6;

/// How long observations must stay above [`STEP_THRESHOLD_NS`] to count as lost time, ns.
pub const STEP_PERSIST_NS: f64 = 250e6;

/// Smoothed period timeline of one stream; see the module documentation.
#[derive(Debug, Clone)]
pub struct SwitchClock {
    period_ns: f64,
    frame_ns: f64,
    offset_ns: Option<f64>,
    last_ns: u64,
    /// The run of observations above the threshold: its first period, the timeline's offset
    /// when it began, and the earliest observation in it.
    late_run: Option<(u64, f64, f64)>,
    /// Lost time found and not yet taken, ns.
    lost_ns: u64,
}

impl SwitchClock {
    /// A clock for periods of `period_frames` frames at `rate` frames per second.
    pub fn new(period_frames: u32, rate: f64) -> Self {
        let frame_ns = if rate > 0.0 { 1e9 / rate } else { 0.0 };
        Self {
            period_ns: f64::from(period_frames) * frame_ns,
            frame_ns,
            offset_ns: None,
            last_ns: 0,
            late_run: None,
            lost_ns: 0,
        }
    }

    /// Forgets the timeline (a new stream starts at period 0).
    pub fn reset(&mut self) {
        self.offset_ns = None;
        self.last_ns = 0;
        self.late_run = None;
        self.lost_ns = 0;
    }

    /// Time lost for good since the last call (see the module documentation), ns; 0 if none.
    pub fn take_lost_ns(&mut self) -> u64 {
        std::mem::take(&mut self.lost_ns)
    }

    /// The system time of period `index`, whose data was complete at the wake-up at `woke_ns`
    /// with `early_frames` frames to spare (see the module documentation).
    pub fn time_of(&mut self, index: u64, woke_ns: u64, early_frames: u64) -> u64 {
        let ready = woke_ns as f64 - early_frames as f64 * self.frame_ns;
        let observed = ready - index as f64 * self.period_ns;
        if let Some(offset) = self.offset_ns {
            if observed - offset > STEP_THRESHOLD_NS {
                let (first, base, earliest) =
                    self.late_run.get_or_insert((index, offset, observed));
                *earliest = earliest.min(observed);
                let periods = index.saturating_sub(*first) + 1;
                if periods >= 3 && periods as f64 * self.period_ns >= STEP_PERSIST_NS {
                    // Frames were lost: the timeline moves up to the run's earliest observation.
                    self.lost_ns = self.lost_ns.saturating_add((*earliest - *base) as u64);
                    self.offset_ns = Some(*earliest);
                    self.late_run = None;
                }
            } else {
                self.late_run = None;
            }
        }
        let offset = match self.offset_ns {
            Some(offset) if observed >= offset => {
                offset + ((observed - offset) * CREEP).min(self.period_ns * MAX_SLEW)
            }
            _ => observed,
        };
        self.offset_ns = Some(offset);
        let mut t = (offset + index as f64 * self.period_ns).max(0.0) as u64;
        if self.last_ns != 0 {
            let floor = self.last_ns.saturating_add((self.period_ns / 2.0) as u64);
            t = t.max(floor);
        }
        self.last_ns = t;
        t
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A device delivering `packet`-frame packets at `rate` whose clock runs `ppm` off the
    /// system's, `lag_ns` after the frames were captured, with wake-ups up to `jitter_ns` late
    /// (a fixed pseudo-random sequence). Returns (estimated, true) times of `n` periods of `b`.
    fn simulate(b: u64, packet: u64, ppm: f64, jitter_ns: u64, n: u64) -> Vec<(u64, u64)> {
        let rate = 48_000.0;
        let scale = 1.0 + ppm * 1e-6;
        let lag_ns = 3_000_000.0;
        let mut clock = SwitchClock::new(b as u32, rate);
        let mut seed = 0x2545_f491_u64;
        (0..n)
            .map(|k| {
                let last_frame = (k + 1) * b;
                let packets = last_frame.div_ceil(packet);
                seed ^= seed << 13;
                seed ^= seed >> 7;
                seed ^= seed << 17;
                let jitter = (seed % (jitter_ns + 1)) as f64;
                let woke = (packets * packet) as f64 / rate * 1e9 * scale + lag_ns + jitter;
                let early = packets * packet - last_frame;
                let t = clock.time_of(k, woke as u64, early);
                let truth = last_frame as f64 / rate * 1e9 * scale + lag_ns;
                (t, truth as u64)
            })
            .collect()
    }

    #[test]
    fn periods_inside_one_packet_get_evenly_spaced_times() {
        // 64-frame periods from 480-frame packets: 7.5 periods per wake-up.
        let times = simulate(64, 480, 0.0, 0, 200);
        for w in times.windows(2) {
            let step = w[1].0 as i64 - w[0].0 as i64;
            assert!((step - 1_333_333).abs() < 2_000, "step {step} ns");
        }
        for (t, truth) in &times {
            assert!(t.abs_diff(*truth) < 2_000, "{t} vs {truth}");
        }
    }

    #[test]
    fn late_wake_ups_do_not_move_the_timeline() {
        for b in [32, 64, 256, 480, 1000] {
            let times = simulate(b, 480, 0.0, 2_000_000, 400);
            let worst = times
                .iter()
                .skip(20)
                .map(|(t, truth)| t.abs_diff(*truth))
                .max()
                .unwrap();
            // Wake-ups are up to 2 ms late; the timeline stays well inside that.
            assert!(worst < 1_000_000, "B={b}: worst error {worst} ns");
            assert!(times.windows(2).all(|w| w[1].0 > w[0].0), "B={b}");
        }
    }

    #[test]
    fn follows_a_device_clock_off_the_system_clock() {
        for ppm in [-2_500.0, 2_500.0] {
            let times = simulate(256, 480, ppm, 500_000, 3_000);
            let (t0, _) = times[100];
            let (t1, _) = times[2_999];
            let span = (t1 - t0) as f64;
            let expected = 2_899.0 * 256.0 / 48_000.0 * 1e9 * (1.0 + ppm * 1e-6);
            let err_ppm = (span - expected) / expected * 1e6;
            assert!(
                err_ppm.abs() < 100.0,
                "{ppm} ppm device: span off by {err_ppm:.0} ppm"
            );
            let (t, truth) = times[2_999];
            assert!(t.abs_diff(truth) < 1_000_000, "{ppm} ppm: {t} vs {truth}");
        }
    }

    #[test]
    fn delivery_that_settles_later_after_start_is_not_a_faster_clock() {
        // 64-frame periods; the first 10 arrive on time, every later one 10 ms late (a
        // device whose delivery phase settles after start). Over 200 periods the span must
        // stay within 1 % of 200 periods (the check's limit is 2 %).
        let p = 1_333_333u64;
        let mut clock = SwitchClock::new(64, 48_000.0);
        let times: Vec<u64> = (0..200u64)
            .map(|k| {
                let late = if k < 10 { 0 } else { 10_000_000 };
                clock.time_of(k, 50_000_000 + (k + 1) * p + late, 0)
            })
            .collect();
        let span = (times[199] - times[0]) as f64;
        let expected = 199.0 * p as f64;
        let err = (span - expected) / expected;
        assert!(err.abs() < 0.01, "span off by {:+.2} %", err * 100.0);
    }

    /// Feeds periods of `b` frames at 48 kHz, each arriving `late(k)` ns after its nominal
    /// time (no packets: early = 0); returns the clock's times and the lost time it found.
    fn feed(b: u32, n: u64, late: impl Fn(u64) -> u64) -> (Vec<u64>, Vec<(u64, u64)>) {
        let mut clock = SwitchClock::new(b, 48_000.0);
        let p = f64::from(b) / 48_000.0 * 1e9;
        let mut lost = Vec::new();
        let times = (0..n)
            .map(|k| {
                let t = clock.time_of(k, 50_000_000 + ((k + 1) as f64 * p) as u64 + late(k), 0);
                let l = clock.take_lost_ns();
                if l > 0 {
                    lost.push((k, l));
                }
                t
            })
            .collect();
        (times, lost)
    }

    #[test]
    fn lost_frames_move_the_timeline_at_once_and_are_reported() {
        for b in [64u32, 256, 1000] {
            let p = f64::from(b) / 48_000.0 * 1e9;
            let start = (10e9 / p) as u64; // 10 s in
                                           // From `start` on every period comes 168 ms later (the frames never came), with
                                           // up to 3 ms of wake-up jitter.
            let (times, lost) = feed(b, 2 * start, |k| {
                (k * 7919 % 3_000_000) + if k >= start { 168_000_000 } else { 0 }
            });
            assert_eq!(lost.len(), 1, "B={b}: {lost:?}");
            let (at, ns) = lost[0];
            assert!(
                (165_000_000..=171_000_000).contains(&ns),
                "B={b}: {ns} ns lost"
            );
            // Found within the persistence time (plus a period).
            let found_after = (at - start) as f64 * p;
            assert!(
                found_after <= STEP_PERSIST_NS + 2.0 * p,
                "B={b}: {found_after} ns"
            );
            // From then on the times are the true ones again (within the jitter).
            let last = *times.last().unwrap();
            let truth = 50_000_000.0 + (2 * start) as f64 * p + 168e6;
            assert!(
                (last as f64 - truth).abs() < 4e6,
                "B={b}: {last} vs {truth}"
            );
        }
    }

    #[test]
    fn late_wake_ups_that_catch_up_and_slow_clocks_lose_no_time() {
        // 100 ms late for 100 ms, then back on time (the frames waited in WASAPI's buffer).
        let (_, lost) = feed(256, 3_000, |k| {
            if (1000..1019).contains(&k) {
                100_000_000
            } else {
                0
            }
        });
        assert!(lost.is_empty(), "{lost:?}");
        // A device clock 0.5 % slow: lateness grows 5 ms per second, smoothly.
        let p = 256.0 / 48_000.0 * 1e9;
        let (_, lost) = feed(256, 6_000, |k| (k as f64 * p * 0.005) as u64);
        assert!(lost.is_empty(), "{lost:?}");
        // Settling 10 ms later after start (winepulse) is below the threshold.
        let (_, lost) = feed(64, 2_000, |k| if k < 10 { 0 } else { 10_000_000 });
        assert!(lost.is_empty(), "{lost:?}");
    }

    #[test]
    fn a_stall_does_not_make_time_run_backwards() {
        let mut clock = SwitchClock::new(256, 48_000.0);
        let p = 5_333_333;
        let a = clock.time_of(0, 10_000_000, 0);
        // Period 1 arrives 50 ms late, period 2 on time again: its observation drops the
        // offset, but time still advances.
        let b = clock.time_of(1, 10_000_000 + p + 50_000_000, 0);
        let c = clock.time_of(2, 10_000_000 + 2 * p, 0);
        assert!(a < b && b < c, "{a} {b} {c}");
        clock.reset();
        assert_eq!(clock.time_of(0, 5, 0), 5);
    }
}
