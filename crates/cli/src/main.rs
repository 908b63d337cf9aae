//! `tenuto` — check, stream through and inspect ASIO drivers.
//!
//! On every OS it can run Tenuto's own driver in-process (`--in-process`),
//! through the very vtable the Windows DLL exports, on the virtual device.

#![forbid(unsafe_code)]

use std::io::{IsTerminal, Write};
use std::process::ExitCode;
use std::sync::atomic::Ordering;
use std::time::Duration;

use clap::{Args, Parser, Subcommand, ValueEnum};
use tenuto_engine::virtual_device::{VirtualConfig, VirtualDevice, VirtualSource};
use tenuto_engine::{DeviceFormat, Engine, EngineOptions};
use tenuto_host::check::{self, CheckOptions};
use tenuto_host::stream::{self, Live, StreamOptions};
use tenuto_host::{Driver, HostOptions};

#[derive(Parser, Debug)]
#[command(
    name = "tenuto",
    version,
    about = "Tenuto, a low-latency ASIO driver: check, stream and inspect ASIO drivers"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Run the conformance sequence a careful host performs, one line per step.
    Check(CheckArgs),
    /// Stream a tone through a driver with a live progress line, then summarise.
    Stream(StreamArgs),
}

#[derive(Args, Debug, Clone)]
struct DriverArgs {
    /// Run Tenuto's driver inside this process (through its IASIO vtable).
    #[arg(long)]
    in_process: bool,
    /// Backend of the in-process driver.
    #[arg(long, value_enum, default_value_t = Backend::Virtual)]
    backend: Backend,
    /// Virtual device: input channels.
    #[arg(long, default_value_t = 2)]
    inputs: usize,
    /// Virtual device: output channels.
    #[arg(long, default_value_t = 2)]
    outputs: usize,
    /// Virtual device: sample format of its frames.
    #[arg(long, value_enum, default_value_t = Format::F32)]
    device_format: Format,
    /// Virtual device: what its inputs capture.
    #[arg(long, value_enum, default_value_t = Source::Loopback)]
    source: Source,
}

#[derive(Args, Debug)]
struct CheckArgs {
    #[command(flatten)]
    driver: DriverArgs,
    /// Buffer size for the first stream (default: the driver's preferred).
    #[arg(long)]
    buffer: Option<i32>,
    /// Sample rate to set (default: the driver's current).
    #[arg(long)]
    rate: Option<f64>,
    /// Buffer switches to stream and check in each run.
    #[arg(long, default_value_t = 200)]
    switches: usize,
    /// Print the report as JSON.
    #[arg(long)]
    json: bool,
}

#[derive(Args, Debug)]
struct StreamArgs {
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
}

#[derive(ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
enum Backend {
    /// The clock-paced in-memory device (loopback or sine).
    Virtual,
}

#[derive(ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
enum Format {
    F32,
    I16,
    I24,
    I32,
}

#[derive(ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
enum Source {
    Loopback,
    Sine,
    Silence,
}

/// A driver plus, for in-process drivers, a view of its engine's counters.
struct Opened {
    driver: Driver,
    engine: Option<std::sync::Arc<tenuto_engine::shared::Shared>>,
}

fn open(args: &DriverArgs) -> Result<Opened, String> {
    if !args.in_process {
        return Err(
            "loading a registered driver needs Windows and arrives with the DLL; \
             use --in-process to run Tenuto's driver inside this process"
                .to_owned(),
        );
    }
    let config = VirtualConfig {
        inputs: args.inputs,
        outputs: args.outputs,
        format: match args.device_format {
            Format::F32 => DeviceFormat::F32,
            Format::I16 => DeviceFormat::I16,
            Format::I24 => DeviceFormat::I24,
            Format::I32 => DeviceFormat::I32,
        },
        source: match args.source {
            Source::Loopback => VirtualSource::Loopback,
            Source::Sine => VirtualSource::Sine,
            Source::Silence => VirtualSource::Silence,
        },
        ..VirtualConfig::default()
    };
    let engine = Engine::new(
        Box::new(VirtualDevice::new(config)),
        EngineOptions::default(),
    );
    let instance = tenuto_driver::create_instance(engine);
    let shared = std::sync::Arc::clone(instance.shared());
    let driver = tenuto_host::Driver::from_instance(instance);
    Ok(Opened {
        driver,
        engine: Some(shared),
    })
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Check(args) => run_check(&args),
        Command::Stream(args) => run_stream(&args),
    }
}

fn run_check(args: &CheckArgs) -> ExitCode {
    let opened = match open(&args.driver) {
        Ok(o) => o,
        Err(e) => {
            eprintln!("tenuto check: {e}");
            return ExitCode::from(2);
        }
    };
    let options = CheckOptions {
        buffer_frames: args.buffer,
        sample_rate: args.rate,
        switches: args.switches.max(2),
        host: HostOptions::default(),
    };
    let report = check::run(opened.driver, &options);
    if args.json {
        println!(
            "{}",
            serde_json::to_string_pretty(&report).unwrap_or_default()
        );
    } else {
        for s in &report.steps {
            let mark = if s.passed { "pass" } else { "FAIL" };
            if s.detail.is_empty() {
                println!("{mark}  {}", s.name);
            } else {
                println!("{mark}  {} — {}", s.name, s.detail);
            }
        }
        println!(
            "tenuto check: {} of {} steps passed{}",
            report.passed(),
            report.steps.len(),
            if report.ok() {
                ""
            } else {
                " — see FAIL lines above"
            }
        );
    }
    if report.ok() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

fn run_stream(args: &StreamArgs) -> ExitCode {
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
    let mut progress = |live: &Live, elapsed: Duration| {
        let (late, overruns, wake) = engine.as_ref().map_or((0, 0, 0), |e| {
            let s = e.counters.snapshot();
            (s.late_periods, s.host_overruns, s.max_wake_late_ns)
        });
        let peak = f32::from_bits(live.input_peak_bits.load(Ordering::Relaxed) as u32);
        let line = format!(
            "{:6.1} s  switches {:>8}  position {:>10}  late {:>3}  host overruns {:>3}  worst wake-up {:>6.0} µs  input peak {:>6.1} dBFS",
            elapsed.as_secs_f64(),
            live.switches.load(Ordering::Relaxed),
            live.position.load(Ordering::Relaxed),
            late,
            overruns,
            wake as f64 / 1e3,
            20.0 * f64::from(peak.max(1e-9)).log10(),
        );
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
        }
        println!(
            "host messages {} overload, {} reset requests",
            report.overloads, report.reset_requests
        );
    }
    ExitCode::SUCCESS
}
