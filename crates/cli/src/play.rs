//! `tenuto play`: a sine tone or a WAV file on a driver's outputs, with a
//! live progress line on stderr and a summary (or JSON) on stdout.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use clap::Args;
use tenuto_engine::shared::Shared;
use tenuto_host::HostOptions;
use tenuto_measure::play::{self, PlayOptions, PlayProgress, PlayReport, PlaySource};

use crate::driver::{open, DriverArgs};
use crate::progress::{dbfs, late, print_json, ProgressLine};

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

pub(crate) fn run(args: &PlayArgs) -> ExitCode {
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
