//! `tenuto stream`: a tone through a driver with a live progress line on
//! stderr, then the host's figures (and, in process, the driver thread's).

use std::io::{IsTerminal, Write};
use std::process::ExitCode;
use std::sync::atomic::Ordering;
use std::time::Duration;

use clap::Args;
use tenuto_host::HostOptions;
use tenuto_measure::stream::{self, Live, StreamOptions};

use crate::driver::{open, DriverArgs};

#[derive(Args, Debug)]
pub(crate) struct StreamArgs {
    #[command(flatten)]
    driver: DriverArgs,
    /// Buffer size (default: the driver's preferred).
    #[arg(long)]
    buffer: Option<i32>,
    /// Sample rate (default: the driver's current).
    #[arg(long)]
    rate: Option<f64>,
    /// Seconds to stream.
    #[arg(long, default_value_t = 10.0)]
    seconds: f64,
    /// Tone frequency in Hz.
    #[arg(long, default_value_t = 440.0)]
    tone: f64,
    /// Call outputReady() after every switch (lets the driver cut a period).
    #[arg(long)]
    output_ready: bool,
    /// Print the summary as JSON.
    #[arg(long)]
    json: bool,
    /// Also draw the driver thread's wake-up lateness and its late periods with their
    /// causes into this SVG file (Tenuto's driver only: in process or its DLL).
    #[arg(long, value_name = "FILE.svg")]
    plot: Option<std::path::PathBuf>,
}

pub(crate) fn run(args: &StreamArgs) -> ExitCode {
    let mut opened = match open(&args.driver) {
        Ok(o) => o,
        Err(e) => {
            eprintln!("tenuto stream: {e}");
            return ExitCode::from(2);
        }
    };
    let options = StreamOptions {
        buffer_frames: args.buffer,
        sample_rate: args.rate,
        duration: Duration::from_secs_f64(args.seconds.max(0.1)),
        tone_hz: args.tone,
        host: HostOptions {
            call_output_ready: args.output_ready,
            ..HostOptions::default()
        },
        ..StreamOptions::default()
    };
    let tty = std::io::stderr().is_terminal();
    let engine = opened.engine.clone();
    let mut last_line = Duration::ZERO;
    let mut recorder = args
        .plot
        .as_deref()
        .map(|p| crate::plot::Recorder::new(p, engine.as_ref()));
    let mut progress = |live: &Live, elapsed: Duration| {
        if let Some(r) = recorder.as_mut() {
            r.poll();
        }
        let peak = f32::from_bits(live.input_peak_bits.load(Ordering::Relaxed) as u32);
        // A registered driver's thread counters are out of reach: show only
        // what the host measures itself.
        let line = match engine.as_ref() {
            Some(e) => {
                let s = e.counters.snapshot();
                format!(
                    "{:6.1} s  switches {:>8}  position {:>10}  late {:>3}  host overruns {:>3}  worst wake-up {:>6.0} µs  input peak {:>6.1} dBFS",
                    elapsed.as_secs_f64(),
                    live.switches.load(Ordering::Relaxed),
                    live.position.load(Ordering::Relaxed),
                    s.late_periods,
                    s.host_overruns,
                    s.max_wake_late_ns as f64 / 1e3,
                    20.0 * f64::from(peak.max(1e-9)).log10(),
                )
            }
            None => format!(
                "{:6.1} s  switches {:>8}  position {:>10}  input peak {:>6.1} dBFS",
                elapsed.as_secs_f64(),
                live.switches.load(Ordering::Relaxed),
                live.position.load(Ordering::Relaxed),
                20.0 * f64::from(peak.max(1e-9)).log10(),
            ),
        };
        if tty {
            eprint!("\r{line}\x1b[K");
            let _ = std::io::stderr().flush();
        } else if elapsed >= last_line + Duration::from_secs(5) || elapsed.is_zero() {
            eprintln!("{line}");
            last_line = elapsed;
        }
    };
    let result = stream::run(&mut opened.driver, &options, &mut progress);
    if tty {
        eprintln!();
    }
    let report = match result {
        Ok(r) => r,
        Err(e) => {
            eprintln!("tenuto stream: {e}");
            return ExitCode::FAILURE;
        }
    };
    if let Some(r) = recorder {
        let title = format!(
            "tenuto stream: {}, {} frames at {} Hz",
            report.driver, report.buffer_frames, report.sample_rate
        );
        if let Err(e) = r.finish(&title, &report.driver, report.seconds) {
            eprintln!("tenuto stream: --plot: {e}");
            return ExitCode::FAILURE;
        }
    }
    let stats = opened.engine.as_ref().map(|e| e.counters.snapshot());
    if args.json {
        let mut v = serde_json::to_value(&report).unwrap_or_default();
        if let (Some(s), Some(obj)) = (stats, v.as_object_mut()) {
            obj.insert("late_periods".into(), s.late_periods.into());
            obj.insert("host_overruns".into(), s.host_overruns.into());
            obj.insert(
                "max_wake_late_us".into(),
                (s.max_wake_late_ns as f64 / 1e3).into(),
            );
            obj.insert(
                "wake_late_p99_us_upper".into(),
                s.wake_quantile_us(0.99).into(),
            );
            obj.insert(
                "mean_engine_ns_per_period".into(),
                s.mean_engine_ns().into(),
            );
            obj.insert("output_underruns".into(), s.output_underruns.into());
            obj.insert("demotions".into(), s.demotions.into());
            obj.insert("priority_samples".into(), s.samples.into());
            let causes: serde_json::Map<String, serde_json::Value> =
                tenuto_engine::stats::LateCause::ALL
                    .iter()
                    .map(|c| (c.name().to_owned(), s.late(*c).into()))
                    .collect();
            obj.insert("late_causes".into(), causes.into());
        } else if let Some(obj) = v.as_object_mut() {
            // A registered driver: late periods as the kAsioOverload
            // messages the host received (one per late period).
            obj.insert("late_periods".into(), report.overloads.into());
            obj.insert(
                "late_periods_source".into(),
                "kAsioOverload messages received by the host".into(),
            );
        }
        println!("{}", serde_json::to_string_pretty(&v).unwrap_or_default());
    } else {
        println!("driver        {}", report.driver);
        println!(
            "stream        {} in / {} out, {} frames at {} Hz ({:.2} ms per buffer)",
            report.channels.0,
            report.channels.1,
            report.buffer_frames,
            report.sample_rate,
            f64::from(report.buffer_frames) / report.sample_rate * 1e3
        );
        println!(
            "latency       input {} + output {} frames = {:.2} ms round trip (as reported)",
            report.latencies.0,
            report.latencies.1,
            f64::from(report.latencies.0 + report.latencies.1) / report.sample_rate * 1e3
        );
        println!(
            "periods       {} switches in {:.2} s (wall clock expects {:.1}); drift {:+.0} ppm",
            report.switches, report.seconds, report.expected_switches, report.drift_ppm
        );
        println!(
            "continuity    {} position discontinuities; longest gap between switches {:.2} ms",
            report.discontinuities, report.max_gap_ms
        );
        println!("stalls        {}", describe_stalls(&report));
        if let Some(s) = stats {
            println!(
                "driver thread {} late periods, {} host overruns, {} output gaps; wake-up lateness worst {:.0} µs, p99 < {} µs; engine {} ns per period",
                s.late_periods,
                s.host_overruns,
                s.output_underruns,
                s.max_wake_late_ns as f64 / 1e3,
                s.wake_quantile_us(0.99),
                s.mean_engine_ns()
            );
        } else {
            println!(
                "late periods  {} (kAsioOverload messages received, one per late period); \
                 driver-thread counters (host overruns, wake-up lateness, engine time) are \
                 only shown for --in-process",
                report.overloads
            );
        }
        if let Some(s) = stats {
            let causes: Vec<String> = tenuto_engine::stats::LateCause::ALL
                .iter()
                .filter(|c| s.late(**c) > 0)
                .map(|c| format!("{} {}", s.late(*c), c.name()))
                .collect();
            println!(
                "late causes   {}; {} demotions, {} priority changes in {} samples",
                if causes.is_empty() {
                    "none".to_owned()
                } else {
                    causes.join(", ")
                },
                s.demotions,
                s.priority_changes,
                s.samples
            );
        }
        if let Some(engine) = &opened.engine {
            println!("scheduling    {}", engine.policy_description());
        }
        println!(
            "host messages {} overload, {} reset requests",
            report.overloads, report.reset_requests
        );
    }
    ExitCode::SUCCESS
}

/// The stalls line of `tenuto stream`: none, or each with its time and loss,
/// and the drift with their time left out.
fn describe_stalls(report: &stream::StreamReport) -> String {
    if report.stalls.is_empty() {
        return "none (the stream never fell behind the wall clock for good)".to_owned();
    }
    let each: Vec<String> = report
        .stalls
        .iter()
        .map(|s| format!("{:.0} ms lost at {:.1} s", s.lost_ms, s.at_s))
        .collect();
    format!(
        "{} ({}); drift without them {:+.0} ppm. Time lost in one step is a stall below the \
         host: the driver's log says whether its thread or the device fell behind",
        report.stalls.len(),
        each.join(", "),
        report.steady_drift_ppm
    )
}
