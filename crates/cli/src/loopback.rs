//! `tenuto loopback`: the round-trip latency and glitches through a driver
//! whose output reaches its input, with a live progress line on stderr and
//! a report (or JSON) on stdout; exit code 0 only if the signal came back
//! intact at the reported latency.

use std::process::ExitCode;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use clap::Args;
use tenuto_engine::shared::Shared;
use tenuto_host::HostOptions;
use tenuto_measure::loopback::{
    self, LockState, LoopbackOptions, LoopbackProgress, LoopbackReport,
};

use crate::driver::{open, DriverArgs};
use crate::progress::{dbfs, late, print_json, ProgressLine};

#[derive(Args, Debug)]
pub(crate) struct LoopbackArgs {
    #[command(flatten)]
    driver: DriverArgs,
    /// Seconds to measure.
    #[arg(long, default_value_t = 10.0, value_name = "S")]
    seconds: f64,
    /// Buffer size in frames (default: the driver's preferred).
    #[arg(long, value_name = "N")]
    buffer: Option<i32>,
    /// Sample rate (default: the driver's current).
    #[arg(long, value_name = "R")]
    rate: Option<f64>,
    /// The output that plays the test signal (the others play silence).
    #[arg(long, default_value_t = 0, value_name = "C")]
    output_channel: i32,
    /// The input the signal should come back on.
    #[arg(long, default_value_t = 0, value_name = "C")]
    input_channel: i32,
    /// Another pair measured in the same stream, OUTPUT:INPUT (repeat it): the signal is
    /// played on that output too and looked for on that input (several devices as one:
    /// every path must come back at the reported latency).
    #[arg(long, value_name = "OUT:IN", value_parser = parse_pair)]
    also: Vec<(i32, i32)>,
    /// Largest accepted difference between the measured and the reported
    /// round trip, ms.
    #[arg(long, default_value_t = 2.0, value_name = "X")]
    tolerance_ms: f64,
    /// Test signal level (peak) in dBFS.
    #[arg(
        long,
        default_value_t = -6.0,
        value_name = "DBFS",
        allow_negative_numbers = true
    )]
    level: f64,
    /// Print the report as JSON.
    #[arg(long)]
    json: bool,
    /// Also draw the driver thread's wake-up lateness and its late periods with their
    /// causes into this SVG file (Tenuto's driver only: in process or its DLL).
    #[arg(long, value_name = "FILE.svg")]
    plot: Option<std::path::PathBuf>,
}

/// `OUT:IN` (channel numbers from 0).
fn parse_pair(s: &str) -> Result<(i32, i32), String> {
    let (o, i) = s
        .split_once(':')
        .ok_or_else(|| format!("'{s}' is not OUTPUT:INPUT (for example 2:2)"))?;
    let channel = |c: &str| {
        c.trim()
            .parse::<i32>()
            .ok()
            .filter(|&c| c >= 0)
            .ok_or_else(|| format!("'{c}' in '{s}' is not a channel number (0, 1, …)"))
    };
    Ok((channel(o)?, channel(i)?))
}

pub(crate) fn run(args: &LoopbackArgs) -> ExitCode {
    let mut opened = match open(&args.driver) {
        Ok(o) => o,
        Err(e) => {
            eprintln!("tenuto loopback: {e}");
            return ExitCode::from(2);
        }
    };
    let options = LoopbackOptions {
        buffer_frames: args.buffer,
        sample_rate: args.rate,
        duration: Duration::from_secs_f64(args.seconds.max(0.5)),
        output_channel: args.output_channel,
        input_channel: args.input_channel,
        also: args.also.clone(),
        tolerance_ms: args.tolerance_ms,
        level_dbfs: args.level,
        host: HostOptions::default(),
    };
    let engine = opened.engine.clone();
    let mut line = ProgressLine::new();
    let mut recorder = args
        .plot
        .as_deref()
        .map(|p| crate::plot::Recorder::new(p, engine.as_ref()));
    let mut progress = |p: &LoopbackProgress<'_>| {
        if let Some(r) = recorder.as_mut() {
            r.poll();
        }
        let state = match p.state {
            LockState::Searching => "searching for the signal…".to_owned(),
            LockState::Locked(lag) => format!(
                "locked: round trip {lag} frames ({:.2} ms)",
                lag as f64 / p.sample_rate * 1e3
            ),
        };
        let text = format!(
            "{:6.1} s  {state}  glitches {}  discontinuities {}  input peak {:>6} dBFS{}",
            p.elapsed.as_secs_f64(),
            p.glitches,
            p.live.switches.discontinuities.load(Ordering::Relaxed),
            dbfs(p.input_peak),
            late(engine.as_ref()),
        );
        line.show(p.elapsed, &text);
    };
    let result = loopback::run(&mut opened.driver, &options, &mut progress);
    line.end();
    let report = match result {
        Ok(r) => r,
        Err(e) => {
            eprintln!("tenuto loopback: {e}");
            return ExitCode::FAILURE;
        }
    };
    if let Some(r) = recorder {
        let title = format!(
            "tenuto loopback: {}, {} frames at {} Hz",
            report.driver, report.buffer_frames, report.sample_rate
        );
        if let Err(e) = r.finish(&title, &report.driver, report.seconds) {
            eprintln!("tenuto loopback: --plot: {e}");
            return ExitCode::FAILURE;
        }
    }
    if args.json {
        print_json(&report, opened.engine.as_ref());
    } else {
        print_loopback(&report, opened.engine.as_ref());
    }
    match &report.reason {
        None => ExitCode::SUCCESS,
        Some(reason) => {
            eprintln!("tenuto loopback: {reason}");
            ExitCode::FAILURE
        }
    }
}

fn print_loopback(r: &LoopbackReport, engine: Option<&Arc<Shared>>) {
    let ms = |frames: i64| frames as f64 / r.sample_rate * 1e3;
    println!("driver        {}", r.driver);
    println!(
        "stream        output {} → input {}, {} frames at {} Hz ({:.2} ms per buffer)",
        r.output_channel,
        r.input_channel,
        r.buffer_frames,
        r.sample_rate,
        f64::from(r.buffer_frames) / r.sample_rate * 1e3
    );
    println!(
        "reported      input {} + output {} = {} frames ({:.3} ms)",
        r.latencies.0, r.latencies.1, r.reported_frames, r.reported_ms
    );
    match (r.measured_frames, r.difference_ms) {
        (Some(m), Some(d)) => println!(
            "measured      {m} frames ({:.3} ms): {:+.3} ms from the reported, {} the ±{} ms tolerance",
            ms(m),
            d,
            if r.within_tolerance { "within" } else { "OUTSIDE" },
            r.tolerance_ms
        ),
        _ => println!("measured      — (the test signal was not found)"),
    }
    if let Some(g) = r.gain_db {
        println!(
            "signal        gain {g:+.2} dB{}; {:.2} s analysed of {:.2} s streamed; input peak {:.1} dBFS",
            if r.inverted { " (polarity inverted)" } else { "" },
            r.seconds_analysed,
            r.seconds,
            r.input_peak_dbfs
        );
    } else {
        println!(
            "signal        input peak {:.1} dBFS; best correlation {:.2}",
            r.input_peak_dbfs,
            r.analysis.best_correlation.abs()
        );
    }
    if r.glitches == 0 {
        println!("glitches      none");
    } else {
        let first: Vec<String> = r
            .glitch_list
            .iter()
            .take(5)
            .map(|g| {
                let mut s = format!("{:.3} s: {} frames ({:.2} ms", g.at_seconds, g.frames, g.ms);
                if g.silent_frames > 0 {
                    s.push_str(&format!(", {} silent", g.silent_frames));
                }
                if let Some(d) = g.lag_change {
                    s.push_str(&format!(", lag {d:+} frames"));
                }
                s.push(')');
                s
            })
            .collect();
        println!(
            "glitches      {} ({} silent frames in all); first: {}",
            r.glitches,
            r.silent_frames,
            first.join("; ")
        );
    }
    if r.lag_change_count == 0 {
        println!("lag changes   none");
    } else {
        let list: Vec<String> = r
            .lag_changes
            .iter()
            .take(5)
            .map(|c| {
                format!(
                    "{:+} frames ({} → {}) at {:.3} s",
                    c.delta,
                    c.from,
                    c.to,
                    c.at_frame as f64 / r.sample_rate
                )
            })
            .collect();
        println!("lag changes   {}: {}", r.lag_change_count, list.join("; "));
    }
    println!(
        "continuity    {} position discontinuities; {} switches in {:.2} s (wall clock expects {:.1})",
        r.discontinuities, r.switches, r.seconds, r.expected_switches
    );
    if r.capture_gaps > 0 {
        println!(
            "host          {} captured blocks lost by this host (analysis too slow; not a driver fault)",
            r.capture_gaps
        );
    }
    if let Some(e) = engine {
        let s = e.counters.snapshot();
        println!(
            "driver thread {} late periods, {} host overruns, {} output gaps",
            s.late_periods, s.host_overruns, s.output_underruns
        );
    }
    println!(
        "host messages {} overload, {} reset requests, {} resync requests",
        r.overloads, r.reset_requests, r.resync_requests
    );
    for p in &r.also {
        match (p.measured_frames, p.difference_ms, p.gain_db) {
            (Some(m), Some(d), Some(g)) => {
                println!(
                "also          output {} → input {}: {m} frames ({:.3} ms), {d:+.3} ms from the \
                 reported, gain {g:+.2} dB, {} glitch(es), {} lag change(s){}",
                p.output_channel,
                p.input_channel,
                ms(m),
                p.glitches,
                p.lag_change_count,
                if p.within_tolerance { "" } else { ", OUTSIDE the tolerance" }
            )
            }
            _ => println!(
                "also          output {} → input {}: the test signal was not found",
                p.output_channel, p.input_channel
            ),
        }
    }
    match &r.reason {
        None => println!("result        PASS"),
        Some(reason) => println!("result        FAIL: {reason}"),
    }
}
