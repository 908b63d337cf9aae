//! `tenuto play` and `tenuto loopback`: the host library's `play` and
//! `loopback` runs with a live progress line on stderr and a summary (or
//! JSON) on stdout.

use std::io::{IsTerminal, Write};
use std::path::PathBuf;
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
use tenuto_measure::play::{self, PlayOptions, PlayProgress, PlayReport, PlaySource};

use crate::{open, DriverArgs};

#[derive(Args, Debug)]
pub(crate) struct PlayArgs {
    #[command(flatten)]
    driver: DriverArgs,
    /// Sine tone frequency in Hz (played unless --wav is given).
    #[arg(long, default_value_t = 440.0, value_name = "HZ")]
    tone: f64,
    /// Tone level (peak) in dBFS.
    #[arg(
        long,
        default_value_t = -12.0,
        value_name = "DBFS",
        allow_negative_numbers = true
    )]
    level: f64,
    /// Play this WAV file once instead of a tone (mono: on every output of
    /// --channels; more channels: file channel i on the i-th output).
    #[arg(long, value_name = "FILE", conflicts_with = "tone")]
    wav: Option<PathBuf>,
    /// Seconds to play (default: the whole file, or 10 s of tone).
    #[arg(long, value_name = "S")]
    seconds: Option<f64>,
    /// Buffer size in frames (default: the driver's preferred).
    #[arg(long, value_name = "N")]
    buffer: Option<i32>,
    /// Sample rate (default: the file's rate if the driver accepts it, else
    /// the driver's current rate; a file at another rate is resampled).
    #[arg(long, value_name = "R")]
    rate: Option<f64>,
    /// Outputs to play on, comma-separated (default: every output).
    #[arg(long, value_name = "LIST", value_delimiter = ',')]
    channels: Vec<i32>,
    /// Print the summary as JSON.
    #[arg(long)]
    json: bool,
}

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
}

/// The live line on stderr: rewritten in place on a terminal, one line
/// every 5 s otherwise.
struct ProgressLine {
    tty: bool,
    last: Option<Duration>,
    /// The latest line not yet printed (non-terminal output).
    pending: Option<String>,
}

impl ProgressLine {
    fn new() -> Self {
        Self {
            tty: std::io::stderr().is_terminal(),
            last: None,
            pending: None,
        }
    }

    fn show(&mut self, elapsed: Duration, line: &str) {
        if self.tty {
            eprint!("\r{line}\x1b[K");
            let _ = std::io::stderr().flush();
        } else if self
            .last
            .is_none_or(|l| elapsed >= l + Duration::from_secs(5))
        {
            eprintln!("{line}");
            self.last = Some(elapsed);
            self.pending = None;
        } else {
            self.pending = Some(line.to_owned());
        }
    }

    /// Ends the line on a terminal; elsewhere prints the final figures.
    fn end(&mut self) {
        if self.tty {
            eprintln!();
        } else if let Some(line) = self.pending.take() {
            eprintln!("{line}");
        }
    }
}

/// A peak as "-12.0" dBFS, or "-inf" for digital silence.
fn dbfs(peak: f64) -> String {
    if peak > 0.0 {
        format!("{:.1}", 20.0 * peak.log10())
    } else {
        "-inf".to_owned()
    }
}

/// " late N" from the in-process driver's own counters.
fn late(engine: Option<&Arc<Shared>>) -> String {
    engine.map_or_else(String::new, |e| {
        let s = e.counters.snapshot();
        format!("  late {:>3}", s.late_periods)
    })
}

/// Prints `report` as JSON, with the in-process driver's thread counters added.
fn print_json<T: serde::Serialize>(report: &T, engine: Option<&Arc<Shared>>) {
    let mut v = serde_json::to_value(report).unwrap_or_default();
    if let (Some(e), Some(obj)) = (engine, v.as_object_mut()) {
        let s = e.counters.snapshot();
        obj.insert("late_periods".into(), s.late_periods.into());
        obj.insert("host_overruns".into(), s.host_overruns.into());
        obj.insert("output_underruns".into(), s.output_underruns.into());
        obj.insert(
            "max_wake_late_us".into(),
            (s.max_wake_late_ns as f64 / 1e3).into(),
        );
    }
    println!("{}", serde_json::to_string_pretty(&v).unwrap_or_default());
}

pub(crate) fn run_play(args: &PlayArgs) -> ExitCode {
    let source = match &args.wav {
        Some(path) => match play::load_wav(path) {
            Ok(clip) => PlaySource::Clip(clip),
            Err(e) => {
                eprintln!("tenuto play: {e}");
                return ExitCode::from(2);
            }
        },
        None => PlaySource::Tone {
            hz: args.tone,
            dbfs: args.level,
        },
    };
    let mut opened = match open(&args.driver) {
        Ok(o) => o,
        Err(e) => {
            eprintln!("tenuto play: {e}");
            return ExitCode::from(2);
        }
    };
    let options = PlayOptions {
        buffer_frames: args.buffer,
        sample_rate: args.rate,
        duration: args.seconds.map(|s| Duration::from_secs_f64(s.max(0.0))),
        outputs: (!args.channels.is_empty()).then(|| args.channels.clone()),
        host: HostOptions::default(),
    };
    let engine = opened.engine.clone();
    let mut line = ProgressLine::new();
    let mut progress = |p: &PlayProgress<'_>| {
        let text = format!(
            "{:6.1} / {:.1} s  position {:>10}  output peak {:>6} dBFS  discontinuities {}{}",
            p.played.as_secs_f64(),
            p.total.as_secs_f64(),
            p.live.switches.position.load(Ordering::Relaxed),
            dbfs(p.output_peak),
            p.live.switches.discontinuities.load(Ordering::Relaxed),
            late(engine.as_ref()),
        );
        line.show(p.elapsed, &text);
    };
    let result = play::run(&mut opened.driver, source, &options, &mut progress);
    line.end();
    let report = match result {
        Ok(r) => r,
        Err(e) => {
            eprintln!("tenuto play: {e}");
            return ExitCode::FAILURE;
        }
    };
    if args.json {
        print_json(&report, opened.engine.as_ref());
    } else {
        print_play(&report, opened.engine.as_ref());
    }
    if report.switches == 0 {
        eprintln!("tenuto play: the driver never called bufferSwitch");
        return ExitCode::FAILURE;
    }
    if !report.finished {
        eprintln!(
            "tenuto play: only {:.2} of {:.2} s were played: the driver stopped calling back",
            report.seconds_played, report.seconds_total
        );
        return ExitCode::FAILURE;
    }
    ExitCode::SUCCESS
}

fn print_play(r: &PlayReport, engine: Option<&Arc<Shared>>) {
    println!("driver        {}", r.driver);
    println!("source        {}", r.source);
    let mut rate = format!("{} Hz", r.sample_rate);
    if let Some(note) = &r.rate_note {
        rate.push_str(&format!("; {note}"));
    }
    if let Some(from) = r.resampled_from {
        rate.push_str(&format!(
            "; the file was resampled from {from} Hz to {} Hz (windowed sinc) before playing",
            r.sample_rate
        ));
    }
    println!("rate          {rate}");
    let mapping: Vec<String> = r
        .mapping
        .iter()
        .map(|(out, ch)| match ch {
            Some(_) if r.source.starts_with("sine") => format!("out {out}"),
            Some(c) => format!("file ch {c} → out {out}"),
            None => format!("silence → out {out}"),
        })
        .collect();
    println!("outputs       {}", mapping.join(", "));
    println!(
        "buffer        {} frames ({:.2} ms)",
        r.buffer_frames,
        f64::from(r.buffer_frames) / r.sample_rate * 1e3
    );
    println!(
        "latency       input {} + output {} frames ({:.2} ms output, as reported)",
        r.latencies.0,
        r.latencies.1,
        f64::from(r.latencies.1) / r.sample_rate * 1e3
    );
    println!(
        "played        {:.2} of {:.2} s{}; peak {:.1} dBFS",
        r.seconds_played,
        r.seconds_total,
        if r.finished { "" } else { " (INCOMPLETE)" },
        r.peak_dbfs
    );
    println!(
        "periods       {} switches in {:.2} s (wall clock expects {:.1})",
        r.switches, r.seconds, r.expected_switches
    );
    println!(
        "continuity    {} position discontinuities; longest gap between switches {:.2} ms",
        r.discontinuities, r.max_gap_ms
    );
    if let Some(e) = engine {
        let s = e.counters.snapshot();
        println!(
            "driver thread {} late periods, {} host overruns, {} output gaps",
            s.late_periods, s.host_overruns, s.output_underruns
        );
    }
    println!(
        "host messages {} overload, {} reset requests",
        r.overloads, r.reset_requests
    );
}

pub(crate) fn run_loopback(args: &LoopbackArgs) -> ExitCode {
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
        tolerance_ms: args.tolerance_ms,
        level_dbfs: args.level,
        host: HostOptions::default(),
    };
    let engine = opened.engine.clone();
    let mut line = ProgressLine::new();
    let mut progress = |p: &LoopbackProgress<'_>| {
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
    match &r.reason {
        None => println!("result        PASS"),
        Some(reason) => println!("result        FAIL: {reason}"),
    }
}
