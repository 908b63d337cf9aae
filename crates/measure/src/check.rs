//! The conformance sequence behind `tenuto check`: everything a careful
//! host does with a driver, each step checked and explained.

use std::time::{Duration, Instant};

use serde::Serialize;

use crate::signal::{write_sample, Sine};
use tenuto_host::{Driver, HostOptions, Period, PeriodHandler};

/// Outcome of one step.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Step {
    /// What was checked.
    pub name: String,
    /// Whether it passed.
    pub passed: bool,
    /// What was seen (or why it failed).
    pub detail: String,
}

/// All steps of one run.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Report {
    /// The steps in order.
    pub steps: Vec<Step>,
}

impl Report {
    fn push(&mut self, name: impl Into<String>, passed: bool, detail: impl Into<String>) -> bool {
        self.steps.push(Step {
            name: name.into(),
            passed,
            detail: detail.into(),
        });
        passed
    }

    /// Steps that passed.
    pub fn passed(&self) -> usize {
        self.steps.iter().filter(|s| s.passed).count()
    }

    /// Steps that failed.
    pub fn failed(&self) -> usize {
        self.steps.len() - self.passed()
    }

    /// True when every step passed.
    pub fn ok(&self) -> bool {
        self.failed() == 0 && !self.steps.is_empty()
    }
}

/// What to check.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CheckOptions {
    /// Buffer size for the first stream; `None`: the driver's preferred.
    pub buffer_frames: Option<i32>,
    /// Sample rate to set; `None`: keep the driver's.
    pub sample_rate: Option<f64>,
    /// Buffer switches to stream and check in each run.
    pub switches: usize,
    /// What this host claims to support.
    pub host: HostOptions,
}

impl Default for CheckOptions {
    fn default() -> Self {
        Self {
            buffer_frames: None,
            sample_rate: None,
            switches: 200,
            host: HostOptions::default(),
        }
    }
}

/// One switch as the check handler saw it.
#[derive(Debug, Clone, Copy, Default)]
struct Seen {
    half: usize,
    position: Option<u64>,
    time_ns: Option<u64>,
    polled_position: Option<u64>,
    time_info: bool,
    flags_ok: bool,
}

/// Records switches into preallocated storage and plays a quiet sine.
struct CheckHandler {
    seen: Vec<Seen>,
    sine: Sine,
}

impl PeriodHandler for CheckHandler {
    fn process(&mut self, period: &mut Period<'_>) {
        let polled = period.sample_position().map(|(p, _)| p);
        if self.seen.len() < self.seen.capacity() {
            self.seen.push(Seen {
                half: period.half,
                position: period.time.map(|t| t.sample_position),
                time_ns: period.time.map(|t| t.system_time_ns),
                polled_position: polled,
                time_info: period.time.is_some(),
                flags_ok: period.time.is_none_or(|t| t.position_valid && t.time_valid),
            });
        }
        let frames = period.frames;
        let mut first = true;
        for b in 0..period.buffer_count() {
            if period.is_input(b) {
                continue;
            }
            let t = period.sample_type(b);
            let mut osc = self.sine;
            let buf = period.buffer_mut(b);
            for i in 0..frames {
                write_sample(buf, t, i, osc.next_sample());
            }
            if first {
                self.sine = osc;
                first = false;
            }
        }
    }

    fn as_any(&mut self) -> &mut dyn std::any::Any {
        self
    }
}

fn is_pow2(v: i32) -> bool {
    v > 0 && (v & (v - 1)) == 0
}

/// Runs the whole sequence against `driver` (which must not be initialized
/// yet). Consumes the driver and releases it at the end, as a host does.
pub fn run(mut driver: Driver, options: &CheckOptions) -> Report {
    let mut r = Report::default();

    if !r.push(
        "init",
        driver.init(),
        format!("error message: \"{}\"", driver.error_message()),
    ) {
        return r;
    }
    let name = driver.name();
    r.push("getDriverName", !name.is_empty(), format!("\"{name}\""));
    let version = driver.version();
    r.push("getDriverVersion", true, format!("{version}"));

    let (ins, outs) = match driver.channels() {
        Ok(c) => c,
        Err(e) => {
            r.push("getChannels", false, e.to_string());
            return r;
        }
    };
    r.push(
        "getChannels",
        ins >= 0 && outs >= 0 && ins + outs > 0,
        format!("{ins} inputs, {outs} outputs"),
    );

    match driver.latencies() {
        Ok((i, o)) => r.push(
            "getLatencies",
            i >= 0 && o >= 0,
            format!("input {i}, output {o} frames"),
        ),
        Err(e) => r.push("getLatencies", false, e.to_string()),
    };

    let sizes = match driver.buffer_size() {
        Ok(b) => b,
        Err(e) => {
            r.push("getBufferSize", false, e.to_string());
            return r;
        }
    };
    let gran_ok = match sizes.granularity {
        0 => sizes.min == sizes.max,
        -1 => is_pow2(sizes.min) && is_pow2(sizes.max) && is_pow2(sizes.preferred),
        g if g > 0 => (sizes.preferred - sizes.min) % g == 0,
        _ => false,
    };
    r.push(
        "getBufferSize",
        sizes.min > 0 && sizes.min <= sizes.preferred && sizes.preferred <= sizes.max && gran_ok,
        format!(
            "min {}, max {}, preferred {}, granularity {}",
            sizes.min, sizes.max, sizes.preferred, sizes.granularity
        ),
    );

    let rate = match driver.sample_rate() {
        Ok(rate) => rate,
        Err(e) => {
            r.push("getSampleRate", false, e.to_string());
            return r;
        }
    };
    r.push(
        "getSampleRate",
        rate.is_finite() && rate > 0.0,
        format!("{rate} Hz"),
    );
    match driver.can_sample_rate(rate) {
        Ok(()) => r.push(
            "canSampleRate(current)",
            true,
            format!("{rate} Hz accepted"),
        ),
        Err(e) => r.push("canSampleRate(current)", false, e.to_string()),
    };

    for bad in [
        f64::NAN,
        f64::INFINITY,
        f64::NEG_INFINITY,
        0.0,
        -48_000.0,
        1e12,
        12_345.678,
    ] {
        match driver.can_sample_rate(bad) {
            Ok(()) => r.push(format!("canSampleRate({bad}) refused"), false, "accepted"),
            Err(e) => r.push(
                format!("canSampleRate({bad}) refused"),
                !e.message.is_empty(),
                e.message,
            ),
        };
        let set = driver.set_sample_rate(bad);
        let still = driver.sample_rate().ok();
        r.push(
            format!("setSampleRate({bad}) refused"),
            set.is_err() && still == Some(rate),
            match set {
                Ok(()) => "accepted".to_owned(),
                Err(e) => format!("{}; rate still {still:?}", e.message),
            },
        );
    }

    let rate = match options.sample_rate {
        Some(want) => match driver.set_sample_rate(want) {
            Ok(()) => {
                let now = driver.sample_rate().unwrap_or(f64::NAN);
                r.push(
                    "setSampleRate(requested)",
                    now == want,
                    format!("now {now} Hz"),
                );
                now
            }
            Err(e) => {
                r.push("setSampleRate(requested)", false, e.to_string());
                return r;
            }
        },
        None => rate,
    };

    let mut channels = Vec::new();
    let mut info_ok = true;
    let mut info_detail = Vec::new();
    for (is_input, count) in [(true, ins), (false, outs)] {
        for ch in 0..count {
            match driver.channel_info(ch, is_input) {
                Ok(ci) => {
                    let t = asio_abi::SampleType::from_raw(ci.sample_type);
                    let good =
                        !ci.name.is_empty() && t.is_some() && ci.channel == ch && !ci.is_active;
                    info_ok &= good;
                    if info_detail.len() < 4 {
                        info_detail.push(format!(
                            "{} {ch} \"{}\" {}",
                            if is_input { "in" } else { "out" },
                            ci.name,
                            t.map_or("?", |t| t.name())
                        ));
                    }
                    channels.push((is_input, ch));
                }
                Err(e) => {
                    info_ok = false;
                    info_detail.push(e.to_string());
                }
            }
        }
    }
    r.push(
        "getChannelInfo (every channel)",
        info_ok,
        info_detail.join("; "),
    );
    let bad = driver.channel_info(ins, true);
    r.push(
        "getChannelInfo(out of range) refused",
        bad.is_err(),
        bad.err().map_or("accepted".to_owned(), |e| e.message),
    );

    match driver.clock_sources() {
        Ok(c) => {
            let current = c.iter().filter(|s| s.is_current).count();
            r.push(
                "getClockSources",
                !c.is_empty() && current == 1,
                c.iter()
                    .map(|s| format!("{} \"{}\"", s.index, s.name))
                    .collect::<Vec<_>>()
                    .join(", "),
            );
            let idx = c.first().map_or(0, |s| s.index);
            r.push(
                "setClockSource(current)",
                driver.set_clock_source(idx).is_ok(),
                format!("index {idx}"),
            );
        }
        Err(e) => {
            r.push("getClockSources", false, e.to_string());
        }
    };
    let bad = driver.set_clock_source(99);
    r.push(
        "setClockSource(99) refused",
        bad.is_err(),
        bad.err().map_or("accepted".to_owned(), |e| e.message),
    );

    let pos = driver.sample_position();
    r.push(
        "getSamplePosition before start refused",
        pos.is_err(),
        pos.err()
            .map_or("returned a position".to_owned(), |e| e.message),
    );

    let first = options.buffer_frames.unwrap_or(sizes.preferred);
    let second = [first * 2, first / 2, sizes.min, sizes.max]
        .into_iter()
        .find(|&b| {
            b != first
                && b >= sizes.min
                && b <= sizes.max
                && (sizes.granularity != -1 || is_pow2(b))
        })
        .unwrap_or(first);

    for (run_no, frames) in [(1, first), (2, second)] {
        if !stream_once(
            &mut driver,
            &mut r,
            run_no,
            &channels,
            frames,
            rate,
            options,
        ) {
            break;
        }
    }

    let refs = driver.ref_count();
    r.push(
        "reference count before Release",
        refs == 1,
        format!("{refs}"),
    );
    let left = driver.release();
    r.push("Release", left == 0, format!("returned {left}"));
    r
}

fn stream_once(
    driver: &mut Driver,
    r: &mut Report,
    run_no: usize,
    channels: &[(bool, i32)],
    frames: i32,
    rate: f64,
    options: &CheckOptions,
) -> bool {
    let tag = |s: &str| format!("run {run_no} ({frames} frames): {s}");
    let handler = CheckHandler {
        seen: Vec::with_capacity(options.switches),
        sine: Sine::new(441.0, rate, 0.1),
    };
    let session = match driver.create_buffers(channels, frames, options.host, Box::new(handler)) {
        Ok(s) => s,
        Err(e) => return r.push(tag("createBuffers"), false, e.to_string()),
    };
    r.push(
        tag("createBuffers"),
        session.buffers_look_valid(),
        format!("{} buffers, pointers non-null and distinct", channels.len()),
    );
    if let Ok((i, o)) = driver.latencies() {
        r.push(
            tag("getLatencies after createBuffers"),
            i >= frames && o >= 0,
            format!("input {i}, output {o} frames"),
        );
    }
    let active = driver.channel_info(
        channels.first().map_or(0, |c| c.1),
        channels.first().is_some_and(|c| c.0),
    );
    r.push(
        tag("getChannelInfo shows the channel active"),
        active.as_ref().is_ok_and(|c| c.is_active),
        format!("{:?}", active.map(|c| c.is_active)),
    );
    let again = tenuto_host::create_buffers_again(driver, channels, frames);
    r.push(
        tag("second createBuffers refused"),
        again != asio_abi::ASE_OK,
        format!(
            "{} ({again}): {}",
            asio_abi::error_name(again).unwrap_or("?"),
            driver.error_message()
        ),
    );

    session.begin();
    if let Err(e) = driver.start() {
        session.end();
        let _ = driver.dispose_buffers();
        return r.push(tag("start"), false, e.to_string());
    }
    r.push(tag("start"), true, "streaming");
    let again = driver.start();
    r.push(
        tag("start while running refused"),
        again.is_err(),
        again.err().map_or("accepted".to_owned(), |e| e.message),
    );

    let period_s = f64::from(frames) / rate;
    let budget = Duration::from_secs_f64(period_s * options.switches as f64 * 3.0 + 3.0);
    let t0 = Instant::now();
    while (session
        .counters()
        .switches
        .load(std::sync::atomic::Ordering::Acquire) as usize)
        < options.switches
        && t0.elapsed() < budget
    {
        std::thread::sleep(Duration::from_millis(5));
    }
    let can = driver.can_sample_rate(rate);
    r.push(
        tag("canSampleRate while running"),
        can.is_ok(),
        format!("{can:?}"),
    );
    let running_pos = driver.sample_position();
    r.push(
        tag("getSamplePosition while running"),
        running_pos.is_ok(),
        format!("{running_pos:?}"),
    );

    let stop = driver.stop();
    session.end();
    let stray_before = tenuto_host::stray_callbacks();
    r.push(tag("stop"), stop.is_ok(), format!("{stop:?}"));
    std::thread::sleep(Duration::from_secs_f64((period_s * 4.0).max(0.02)));
    let stray = tenuto_host::stray_callbacks() - stray_before;
    r.push(
        tag("no callback after stop returned"),
        stray == 0,
        format!("{stray} late callbacks"),
    );
    let again = driver.stop();
    r.push(
        tag("second stop refused"),
        again.is_err(),
        again.err().map_or("accepted".to_owned(), |e| e.message),
    );

    let seen: Vec<Seen> = session.with_handler(|h| {
        h.as_any()
            .downcast_mut::<CheckHandler>()
            .map(|c| c.seen.clone())
            .unwrap_or_default()
    });
    judge_switches(r, &tag, &seen, frames, rate, options);

    let dispose = driver.dispose_buffers();
    r.push(
        tag("disposeBuffers"),
        dispose.is_ok(),
        format!("{dispose:?}"),
    );
    drop(session);
    let again = driver.dispose_buffers();
    r.push(
        tag("second disposeBuffers refused"),
        again.is_err(),
        again.err().map_or("accepted".to_owned(), |e| e.message),
    );
    stop.is_ok() && dispose.is_ok()
}

fn judge_switches(
    r: &mut Report,
    tag: &dyn Fn(&str) -> String,
    seen: &[Seen],
    frames: i32,
    rate: f64,
    options: &CheckOptions,
) {
    let n = seen.len();
    r.push(
        tag("buffer switches received"),
        n >= options.switches,
        format!("{n} of {}", options.switches),
    );
    if n < 2 {
        return;
    }
    let halves_ok = seen.iter().enumerate().all(|(k, s)| s.half == k % 2);
    r.push(tag("halves alternate 0,1,0,1…"), halves_ok, "");
    let via_time = seen.iter().all(|s| s.time_info);
    if options.host.time_info {
        r.push(
            tag("bufferSwitchTimeInfo used"),
            via_time,
            format!("{}", seen.iter().filter(|s| s.time_info).count()),
        );
        r.push(
            tag("time info flags valid"),
            seen.iter().all(|s| s.flags_ok),
            "",
        );
    }
    let positions: Vec<u64> = seen
        .iter()
        .filter_map(|s| s.position.or(s.polled_position))
        .collect();
    let step = u64::try_from(frames).unwrap_or(0);
    let bad_step = positions.windows(2).position(|w| w[1] != w[0] + step);
    r.push(
        tag("sample position advances by exactly the buffer size"),
        positions.len() == n && positions.first() == Some(&0) && bad_step.is_none(),
        match bad_step {
            Some(i) => format!("switch {i}: {} → {}", positions[i], positions[i + 1]),
            None => format!(
                "0 → {} in steps of {step}",
                positions.last().copied().unwrap_or(0)
            ),
        },
    );
    let polled_ok = seen.iter().all(|s| {
        s.polled_position.is_some() && (s.position.is_none() || s.polled_position == s.position)
    });
    r.push(
        tag("getSamplePosition inside the switch matches"),
        polled_ok,
        "",
    );
    let times: Vec<u64> = seen.iter().filter_map(|s| s.time_ns).collect();
    if times.len() == n {
        let monotonic = times.windows(2).all(|w| w[1] > w[0]);
        let span_ns = (times[n - 1] - times[0]) as f64;
        let expect_ns = (n - 1) as f64 * f64::from(frames) / rate * 1e9;
        let period_ns = f64::from(frames) / rate * 1e9;
        // The rate is judged by the median time per switch over every stretch of at least
        // RATE_WINDOW_NS (at least one switch), not by the first and last time alone. A
        // driver cannot know how late its very first wake-up was (a machine that stalls for
        // 10-20 ms as the stream starts makes it stamp switch 0 late), and when the device
        // loses frames its times rightly jump by the time lost: such times must not fail a
        // driver whose clock is right, and each moves only the stretches that hold it. A
        // driver whose times run at the wrong rate moves every stretch, and the median with
        // them; stretches this long average out times kept to the millisecond.
        let window = ((RATE_WINDOW_NS / period_ns).ceil() as usize).clamp(1, n - 1);
        let median_ns = median_period_ns(&times, window);
        let err = (median_ns - period_ns).abs() / period_ns;
        // Where the times strayed most from one buffer per switch, to explain a failure.
        let worst = times
            .windows(2)
            .enumerate()
            .map(|(i, w)| (i, w[1] as f64 - w[0] as f64 - period_ns))
            .max_by(|a, b| a.1.abs().total_cmp(&b.1.abs()));
        let jumps = times
            .windows(2)
            .filter(|w| (w[1] as f64 - w[0] as f64 - period_ns).abs() > JUMP_NS)
            .count();
        r.push(
            tag("system time monotonic and consistent with the rate"),
            monotonic && err < 0.02,
            format!(
                "median period over {window} switch(es) {:.4} ms, expected {:.4} ms ({:+.3} %); {:.3} ms over {} switches, expected {:.3} ms ({:+.3} %); {jumps} step(s) more than {} ms off one buffer{}",
                median_ns / 1e6,
                period_ns / 1e6,
                (median_ns - period_ns) / period_ns * 100.0,
                span_ns / 1e6,
                n - 1,
                expect_ns / 1e6,
                (span_ns - expect_ns) / expect_ns * 100.0,
                JUMP_NS / 1e6,
                worst.map_or(String::new(), |(i, d)| format!(
                    "; largest step off one buffer: {:+.3} ms after switch {i}",
                    d / 1e6
                ))
            ),
        );
    }
}

/// A step between two switches' times this far off one buffer is counted as a jump in the
/// check's detail (the device lost frames, or the first wake-up was late), ns.
const JUMP_NS: f64 = 5e6;

/// The shortest stretch of switches over which the check measures the time per switch, ns.
const RATE_WINDOW_NS: f64 = 50e6;

/// The median, over every stretch of `window` switches (switch `i` to switch `i + window`),
/// of the time per switch, ns; NaN (which fails every comparison) if `times` has no more
/// than `window` entries. A `window` of 0 is taken as 1.
fn median_period_ns(times: &[u64], window: usize) -> f64 {
    let w = window.max(1);
    let mut periods: Vec<f64> = times
        .iter()
        .zip(times.iter().skip(w))
        .map(|(a, b)| (*b as f64 - *a as f64) / w as f64)
        .collect();
    periods.sort_by(f64::total_cmp);
    let m = periods.len() / 2;
    if periods.is_empty() {
        f64::NAN
    } else if periods.len() % 2 == 1 {
        periods[m]
    } else {
        (periods[m - 1] + periods[m]) / 2.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Judges `times` (ns) as the switches of a run of `frames`-frame buffers at 48 kHz and
    /// returns the system-time step.
    fn judge_times(frames: i32, times: &[u64]) -> Step {
        let step = u64::try_from(frames).unwrap();
        let seen: Vec<Seen> = times
            .iter()
            .enumerate()
            .map(|(k, t)| Seen {
                half: k % 2,
                position: Some(k as u64 * step),
                time_ns: Some(*t),
                polled_position: Some(k as u64 * step),
                time_info: true,
                flags_ok: true,
            })
            .collect();
        let mut r = Report::default();
        let options = CheckOptions {
            switches: times.len(),
            ..Default::default()
        };
        judge_switches(
            &mut r,
            &|s| s.to_string(),
            &seen,
            frames,
            48_000.0,
            &options,
        );
        r.steps
            .into_iter()
            .find(|s| s.name.starts_with("system time"))
            .expect("the system-time step")
    }

    /// `n` times `period` ns apart from 1 s.
    fn even(n: u64, period: u64) -> Vec<u64> {
        (0..n).map(|k| 1_000_000_000 + k * period).collect()
    }

    #[test]
    fn times_one_buffer_apart_pass() {
        for (frames, period) in [(960, 20_000_000), (256, 5_333_333), (32, 666_667)] {
            let step = judge_times(frames, &even(120, period));
            assert!(step.passed, "{frames}: {}", step.detail);
            assert!(step.detail.contains(" 0 step(s) more"), "{}", step.detail);
        }
    }

    #[test]
    fn a_late_first_time_does_not_fail_a_right_clock() {
        // 40 switches of 960 frames, switch 0 stamped 17 ms late (the driver's first wake-up
        // was held up), every later time on the right timeline: a rate taken from the first
        // and last time alone would be 2.2 % off, the median over stretches is right.
        let mut times = even(40, 20_000_000);
        times[0] += 17_000_000;
        times[1] += 7_000_000;
        let step = judge_times(960, &times);
        assert!(step.passed, "{}", step.detail);
        assert!(
            step.detail.contains("-10.000 ms after switch 0"),
            "{}",
            step.detail
        );
    }

    #[test]
    fn jumps_by_lost_time_do_not_fail_a_right_clock() {
        // 120 switches of 256 frames under hypervisor steal: a late first stamp (no more than
        // half a period: the driver keeps its times half a period apart) and the device
        // losing frames twice, the driver's times rightly jumping by the time lost. A median
        // over half-run spans would be 7.7 % off; stretches of RATE_WINDOW_NS are not.
        let mut times = even(120, 5_333_333);
        times[0] += 2_600_000;
        for t in &mut times[50..] {
            *t += 18_000_000;
        }
        for t in &mut times[104..] {
            *t += 23_686_000;
        }
        let step = judge_times(256, &times);
        assert!(step.passed, "{}", step.detail);
        assert!(step.detail.contains(" 2 step(s) more"), "{}", step.detail);
    }

    #[test]
    fn times_kept_to_the_millisecond_pass() {
        // 64 frames (1.333 ms) stamped with a 1 ms clock: steps of 1 or 2 ms.
        let times: Vec<u64> = even(200, 1_333_333)
            .into_iter()
            .map(|t| t / 1_000_000 * 1_000_000)
            .collect();
        let step = judge_times(64, &times);
        assert!(step.passed, "{}", step.detail);
    }

    #[test]
    fn times_at_the_wrong_rate_fail() {
        // 3 % fast, and 3 % slow: every stretch moves, so the median does.
        for per_mille in [970_u64, 1_030] {
            for (frames, period) in [(960, 20_000_000), (256, 5_333_333)] {
                let step = judge_times(frames, &even(40, period * per_mille / 1000));
                assert!(!step.passed, "{per_mille} {frames}: {}", step.detail);
            }
        }
    }

    #[test]
    fn times_that_repeat_or_go_back_fail() {
        // A driver stamping each period with its wake-up time, two periods per wake-up.
        let times: Vec<u64> = (0..40)
            .map(|k| 1_000_000_000 + (k / 2) * 2 * 20_000_000)
            .collect();
        assert!(!judge_times(960, &times).passed);
        let mut times = even(40, 20_000_000);
        times[20] = times[18];
        assert!(!judge_times(960, &times).passed);
    }

    #[test]
    fn the_median_period_ignores_a_few_wrong_times() {
        let mut times: Vec<u64> = (0..41).map(|k| k * 1_000).collect();
        times[0] = 30_000;
        times[40] = 900_000;
        assert_eq!(median_period_ns(&times, 1), 1_000.0);
        assert_eq!(median_period_ns(&times, 5), 1_000.0);
        assert_eq!(median_period_ns(&[0, 500], 1), 500.0);
        assert!(median_period_ns(&[0, 500], 2).is_nan());
        assert_eq!(median_period_ns(&[0, 500], 0), 500.0);
    }
}
