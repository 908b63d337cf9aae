//! `tenuto` — check, stream through and inspect ASIO drivers.
//!
//! On every OS it can run Tenuto's own driver in-process (`--in-process`),
//! through the very vtable the Windows DLL exports, on the virtual device.
//! On Windows it also loads registered drivers through COM (`--driver
//! NAME`), lists them (`list`) and registers Tenuto's DLL (`register`,
//! `unregister`).

#![forbid(unsafe_code)]

mod config;
mod doctor;
mod measure;

use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::atomic::Ordering;
use std::time::Duration;

use clap::{Args, Parser, Subcommand, ValueEnum};
use tenuto_engine::virtual_device::{VirtualConfig, VirtualDevice, VirtualSource};
use tenuto_engine::{DeviceFormat, Engine, EngineOptions};
use tenuto_host::{Driver, HostOptions};
use tenuto_measure::check::{self, CheckOptions};
use tenuto_measure::stream::{self, Live, StreamOptions};

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
    /// Play a sine tone or a WAV file on a driver's outputs, with a live
    /// progress line, then summarise.
    Play(measure::PlayArgs),
    /// Measure the round-trip latency and glitches through a driver whose
    /// output reaches its input (a cable, a loopback device); exit code 0
    /// only if the signal came back intact at the reported latency.
    Loopback(measure::LoopbackArgs),
    /// List the ASIO drivers registered on this machine (Windows).
    List(ListArgs),
    /// List the audio endpoints WASAPI offers (Windows): direction, default marker, name,
    /// endpoint ID, state, shared-mode mix format and engine periods.
    Devices(DevicesArgs),
    /// Register tenuto.dll as the ASIO driver "Tenuto" (Windows, administrator).
    Register(RegisterArgs),
    /// Remove Tenuto's ASIO driver registration (Windows, administrator).
    Unregister,
    /// Show or change the MMCSS service (Windows): status, disable, enable.
    /// Never done implicitly by the driver.
    Mmcss {
        #[command(subcommand)]
        action: MmcssAction,
    },
    /// Stream at a small buffer under each scheduling policy in turn
    /// (optionally with every core busy) and compare late periods.
    Doctor(DoctorArgs),
    /// Open the settings window without a DAW (Windows).
    Panel(PanelArgs),
    /// The settings file (tenuto.toml): path, show, check, set KEY VALUE.
    Config {
        #[command(subcommand)]
        action: config::ConfigAction,
    },
}

#[derive(Subcommand, Debug, Clone, Copy)]
enum MmcssAction {
    /// The service's Start value, SystemResponsiveness, the Pro Audio
    /// task's values, and whether MMCSS is running.
    Status,
    /// Disable the MMCSS service (administrator; saves the previous value;
    /// takes effect after a restart). A last resort against crackles.
    Disable,
    /// Restore the MMCSS service's saved start value (administrator;
    /// takes effect after a restart).
    Enable,
}

#[derive(Args, Debug)]
struct DoctorArgs {
    /// Keep every core busy (four threads per core at normal priority)
    /// while measuring.
    #[arg(long)]
    load: bool,
    /// Seconds per policy.
    #[arg(long, default_value_t = 10.0)]
    seconds: f64,
    /// Buffer size in frames.
    #[arg(long, default_value_t = 32)]
    buffer: u32,
    /// Sample rate in Hz.
    #[arg(long, default_value_t = 48_000.0)]
    rate: f64,
    /// Policies to compare (default: every one this OS offers without
    /// changing the process: inherit, fifo, rr, deadline on Linux;
    /// inherit, mmcss, manual on Windows). Repeat or comma-separate.
    #[arg(long = "policy", value_name = "POLICY", value_delimiter = ',')]
    policies: Vec<tenuto_sched::PolicyArg>,
    /// Print the results as JSON.
    #[arg(long)]
    json: bool,
}

#[derive(Args, Debug)]
struct PanelArgs {
    /// The settings file to edit (default: the driver's, see `tenuto config path`).
    #[arg(long, value_name = "PATH")]
    file: Option<PathBuf>,
}

#[derive(Args, Debug)]
struct ListArgs {
    /// Print the list as JSON.
    #[arg(long)]
    json: bool,
}

#[derive(Args, Debug)]
struct DevicesArgs {
    /// Print the list as JSON.
    #[arg(long)]
    json: bool,
}

#[derive(Args, Debug)]
struct RegisterArgs {
    /// The driver DLL to register (default: tenuto.dll next to tenuto.exe).
    #[arg(long, value_name = "PATH")]
    dll: Option<PathBuf>,
}

#[derive(Args, Debug, Clone)]
#[command(group(
    clap::ArgGroup::new("which_driver")
        .required(true)
        .multiple(false)
        .args(["in_process", "driver"])
))]
struct DriverArgs {
    /// Run Tenuto's driver inside this process (through its IASIO vtable).
    #[arg(long)]
    in_process: bool,
    /// Load the registered ASIO driver NAME through COM, as a DAW does
    /// (Windows; see `tenuto list`).
    #[arg(long, value_name = "NAME")]
    driver: Option<String>,
    /// Backend of the in-process driver.
    #[arg(long, value_enum, default_value_t = Backend::Virtual, conflicts_with = "driver")]
    backend: Backend,
    /// Virtual device: input channels.
    #[arg(long, default_value_t = 2, conflicts_with = "driver")]
    inputs: usize,
    /// Virtual device: output channels.
    #[arg(long, default_value_t = 2, conflicts_with = "driver")]
    outputs: usize,
    /// Virtual device: sample format of its frames.
    #[arg(long, value_enum, default_value_t = Format::F32, conflicts_with = "driver")]
    device_format: Format,
    /// Virtual device: what its inputs capture.
    #[arg(long, value_enum, default_value_t = Source::Loopback, conflicts_with = "driver")]
    source: Source,
    /// Scheduling of the in-process driver thread: inherit;
    /// fifo[:PRIO], rr[:PRIO], deadline[:RUNTIME_US] (Linux);
    /// mmcss[:TASK[:PRIORITY]], manual[:LEVEL[:CLASS]] (Windows).
    #[arg(
        long,
        value_name = "POLICY",
        default_value = "inherit",
        conflicts_with = "driver"
    )]
    policy: tenuto_sched::PolicyArg,
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
    if let Some(name) = &args.driver {
        return open_registered(name).map(|driver| Opened {
            driver,
            engine: None,
        });
    }
    if !args.in_process {
        return Err("choose a driver: --driver NAME or --in-process".to_owned());
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
        EngineOptions {
            policy: tenuto_sched::thread_policy(
                &args.policy,
                &tenuto_sched::Scheduling::default(),
            )?,
            ..EngineOptions::default()
        },
    );
    let instance = tenuto_driver::create_instance(engine);
    let shared = std::sync::Arc::clone(instance.shared());
    let driver = tenuto_host::Driver::from_instance(instance);
    Ok(Opened {
        driver,
        engine: Some(shared),
    })
}

/// Loads a registered driver through COM.
#[cfg(windows)]
fn open_registered(name: &str) -> Result<Driver, String> {
    tenuto_host::windows::load(name).map_err(|e| e.to_string())
}

/// Registered drivers exist only on Windows.
#[cfg(not(windows))]
fn open_registered(name: &str) -> Result<Driver, String> {
    Err(format!(
        "--driver \"{name}\" loads a registered ASIO driver through COM, which needs Windows; \
         on this OS use --in-process to run Tenuto's driver inside this process"
    ))
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Check(args) => run_check(&args),
        Command::Stream(args) => run_stream(&args),
        Command::Play(args) => measure::run_play(&args),
        Command::Loopback(args) => measure::run_loopback(&args),
        Command::List(args) => run_list(&args),
        Command::Devices(args) => run_devices(&args),
        Command::Register(args) => run_register(&args),
        Command::Unregister => run_unregister(),
        Command::Doctor(args) => run_doctor(&args),
        Command::Panel(args) => run_panel(&args),
        Command::Mmcss { action } => run_mmcss(action),
        Command::Config { action } => config::run(&action),
    }
}

#[cfg(windows)]
fn run_mmcss(action: MmcssAction) -> ExitCode {
    use tenuto_sched::mmcss_service as svc;
    let result = match action {
        MmcssAction::Status => svc::status().map(|s| s.to_string()),
        MmcssAction::Disable => svc::disable(svc::is_elevated()).map(|c| c.to_string()),
        MmcssAction::Enable => svc::enable(svc::is_elevated()).map(|c| c.to_string()),
    };
    match result {
        Ok(text) => {
            println!("{text}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("tenuto mmcss: {e}");
            ExitCode::FAILURE
        }
    }
}

#[cfg(not(windows))]
fn run_mmcss(action: MmcssAction) -> ExitCode {
    let _ = action;
    needs_windows(
        "mmcss",
        "MMCSS is the Windows Multimedia Class Scheduler Service",
    )
}

fn default_doctor_policies() -> Vec<tenuto_sched::PolicyArg> {
    let names: &[&str] = if cfg!(windows) {
        &["inherit", "mmcss", "manual"]
    } else {
        &["inherit", "fifo:80", "rr:80", "deadline"]
    };
    names.iter().filter_map(|n| n.parse().ok()).collect()
}

fn run_doctor(args: &DoctorArgs) -> ExitCode {
    let policies = if args.policies.is_empty() {
        default_doctor_policies()
    } else {
        args.policies.clone()
    };
    let mut outcomes = Vec::new();
    for p in &policies {
        let policy = match tenuto_sched::thread_policy(p, &tenuto_sched::Scheduling::default()) {
            Ok(policy) => policy,
            Err(e) => {
                eprintln!("tenuto doctor: {e}");
                return ExitCode::from(2);
            }
        };
        eprintln!("tenuto doctor: {p} for {} s…", args.seconds);
        let candidate = doctor::Candidate {
            label: p.to_string(),
            policy,
        };
        match doctor::measure(&candidate, args.buffer, args.rate, args.seconds, args.load) {
            Ok(o) => outcomes.push(o),
            Err(e) => {
                eprintln!("tenuto doctor: {p}: {e}");
                return ExitCode::FAILURE;
            }
        }
    }
    if args.json {
        println!(
            "{}",
            serde_json::to_string_pretty(&outcomes).unwrap_or_default()
        );
    } else {
        doctor::print_table(&outcomes, args.buffer, args.rate, args.seconds, args.load);
    }
    ExitCode::SUCCESS
}

/// `tenuto panel`: the settings window, until it is closed.
#[cfg(windows)]
fn run_panel(args: &PanelArgs) -> ExitCode {
    let Some(path) = args.file.clone().or_else(tenuto_settings::default_path) else {
        eprintln!("tenuto panel: no settings path (APPDATA is not set); pass --file PATH");
        return ExitCode::from(2);
    };
    match tenuto_panel::run_standalone(path) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("tenuto panel: {e}");
            ExitCode::FAILURE
        }
    }
}

#[cfg(not(windows))]
fn run_panel(args: &PanelArgs) -> ExitCode {
    let _ = &args.file;
    needs_windows(
        "panel",
        "the settings window is a Windows window; use `tenuto config` to change the settings",
    )
}

/// The exit code and message for Windows-only commands elsewhere.
#[cfg(not(windows))]
fn needs_windows(command: &str, what: &str) -> ExitCode {
    eprintln!(
        "tenuto {command} needs Windows: {what}; on this OS only \
         `tenuto check`, `stream`, `play` and `loopback` with --in-process, and `tenuto doctor` work"
    );
    ExitCode::from(2)
}

#[cfg(not(windows))]
fn run_list(_args: &ListArgs) -> ExitCode {
    needs_windows(
        "list",
        "ASIO drivers are registered in the Windows registry (HKLM\\SOFTWARE\\ASIO)",
    )
}

#[cfg(not(windows))]
fn run_register(_args: &RegisterArgs) -> ExitCode {
    needs_windows(
        "register",
        "registering an ASIO driver writes the Windows registry",
    )
}

#[cfg(not(windows))]
fn run_unregister() -> ExitCode {
    needs_windows(
        "unregister",
        "unregistering an ASIO driver edits the Windows registry",
    )
}

#[cfg(windows)]
fn run_list(args: &ListArgs) -> ExitCode {
    let drivers = match tenuto_host::windows::installed_drivers() {
        Ok(d) => d,
        Err(e) => {
            eprintln!("tenuto list: {e}");
            return ExitCode::FAILURE;
        }
    };
    // The DLL's file version (its VERSIONINFO), as Explorer shows it.
    let version = |d: &tenuto_host::windows::InstalledDriver| -> Option<String> {
        let path = d.dll_path.as_ref().filter(|_| d.dll_exists)?;
        let v = tenuto_host::version::read(path).ok()?;
        Some(format!(
            "{}.{}.{}.{}",
            v.file[0], v.file[1], v.file[2], v.file[3]
        ))
    };
    if args.json {
        let list: Vec<serde_json::Value> = drivers
            .iter()
            .map(|d| {
                serde_json::json!({
                    "name": d.name,
                    "clsid": d.clsid.map(|g| g.to_string()),
                    "dll_path": d.dll_path.as_ref().map(|p| p.display().to_string()),
                    "dll_exists": d.dll_exists,
                    "dll_version": version(d),
                    "description": d.description,
                    "problem": d.problem,
                })
            })
            .collect();
        println!(
            "{}",
            serde_json::to_string_pretty(&list).unwrap_or_default()
        );
        return ExitCode::SUCCESS;
    }
    if drivers.is_empty() {
        println!(
            "no ASIO drivers are registered (HKLM\\{} is empty or missing); \
             to register Tenuto, run `tenuto register` as administrator",
            tenuto_host::windows::ASIO_KEY
        );
        return ExitCode::SUCCESS;
    }
    let width = drivers
        .iter()
        .map(|d| d.name.chars().count())
        .max()
        .unwrap_or(0);
    for d in &drivers {
        let clsid = d
            .clsid
            .map_or_else(|| "(no valid CLSID)".to_owned(), |g| g.to_string());
        let dll = match &d.dll_path {
            Some(p) if d.dll_exists => match version(d) {
                Some(v) => format!("{} (exists, version {v})", p.display()),
                None => format!("{} (exists)", p.display()),
            },
            Some(p) => format!("{} (MISSING)", p.display()),
            None => "(no DLL registered)".to_owned(),
        };
        let description = d
            .description
            .as_deref()
            .map_or_else(|| "(no description)".to_owned(), |s| format!("\"{s}\""));
        let problem = d
            .problem
            .as_deref()
            .map_or_else(String::new, |p| format!("  — problem: {p}"));
        println!(
            "{:<width$}  {clsid:<38}  {dll}  {description}{problem}",
            d.name
        );
    }
    ExitCode::SUCCESS
}

#[cfg(not(windows))]
fn run_devices(_args: &DevicesArgs) -> ExitCode {
    needs_windows(
        "devices",
        "audio endpoints are Windows' MMDevice API (WASAPI)",
    )
}

#[cfg(windows)]
fn run_devices(args: &DevicesArgs) -> ExitCode {
    use tenuto_wasapi::{format_hns, Endpoint};
    let endpoints = match tenuto_wasapi::endpoints() {
        Ok(e) => e,
        Err(e) => {
            eprintln!("tenuto devices: {e}");
            return ExitCode::FAILURE;
        }
    };
    if args.json {
        let list: Vec<serde_json::Value> = endpoints
            .iter()
            .map(|e: &Endpoint| {
                serde_json::json!({
                    "direction": e.direction.as_str(),
                    "default": e.is_default,
                    "name": e.name,
                    "id": e.id,
                    "state": e.state.as_str(),
                    "mix_format": e.mix_format.map(|f| serde_json::json!({
                        "rate": f.rate,
                        "channels": f.channels,
                        "bits": f.bits,
                        "valid_bits": f.valid_bits,
                        "float": f.float,
                        "channel_mask": f.channel_mask,
                        "channel_names": f.channel_names(),
                    })),
                    "shared_period_hns": e.shared_period_hns.map(|(default, minimum)| {
                        serde_json::json!({ "default": default, "minimum": minimum })
                    }),
                    "low_latency_frames": e.low_latency_frames.map(|(min, max, step)| {
                        serde_json::json!({ "minimum": min, "maximum": max, "step": step })
                    }),
                    "exclusive_formats": e.exclusive_formats.iter().map(|(sample, rates)| {
                        serde_json::json!({ "sample": sample, "rates": rates })
                    }).collect::<Vec<_>>(),
                })
            })
            .collect();
        println!(
            "{}",
            serde_json::to_string_pretty(&list).unwrap_or_default()
        );
        return ExitCode::SUCCESS;
    }
    if endpoints.is_empty() {
        println!("Windows reports no audio endpoints");
        return ExitCode::SUCCESS;
    }
    println!("(* = Windows' default device for that direction)");
    for e in &endpoints {
        println!(
            "{:<7} {} {}",
            e.direction.as_str(),
            if e.is_default { '*' } else { ' ' },
            e.name
        );
        println!("          id      {}", e.id);
        println!("          state   {}", e.state);
        if let Some(f) = e.mix_format {
            println!("          format  {f} ({})", f.channel_names().join(", "));
        }
        if let Some((default, minimum)) = e.shared_period_hns {
            println!(
                "          shared       engine period {} (exclusive minimum {})",
                format_hns(default),
                format_hns(minimum)
            );
        }
        if e.state == tenuto_wasapi::EndpointState::Active {
            match e.low_latency_frames {
                Some((min, max, step)) => println!(
                    "          low-latency  engine periods {min} to {max} frames in steps of {step}"
                ),
                None => println!("          low-latency  not offered (runs as shared)"),
            }
            if e.exclusive_formats.is_empty() {
                println!("          exclusive    refused (no format accepted)");
            }
            for (sample, rates) in &e.exclusive_formats {
                let rates: Vec<String> = rates.iter().map(u32::to_string).collect();
                println!("          exclusive    {sample} at {} Hz", rates.join(", "));
            }
        }
    }
    ExitCode::SUCCESS
}

/// `tenuto.dll` in the directory of the running `tenuto.exe`.
#[cfg(windows)]
fn default_dll() -> Result<PathBuf, String> {
    let exe = std::env::current_exe().map_err(|e| {
        format!("cannot find where tenuto.exe is ({e}); pass --dll PATH to tenuto.dll")
    })?;
    let dir = exe.parent().ok_or_else(|| {
        format!(
            "{} has no parent directory; pass --dll PATH to tenuto.dll",
            exe.display()
        )
    })?;
    let dll = dir.join("tenuto.dll");
    if dll.is_file() {
        Ok(dll)
    } else {
        Err(format!(
            "there is no tenuto.dll next to tenuto.exe ({} does not exist); \
             pass --dll PATH to the Tenuto driver DLL",
            dll.display()
        ))
    }
}

#[cfg(windows)]
fn run_register(args: &RegisterArgs) -> ExitCode {
    let dll = match args.dll.clone().map_or_else(default_dll, Ok) {
        Ok(p) => p,
        Err(e) => {
            eprintln!("tenuto register: {e}");
            return ExitCode::from(2);
        }
    };
    match tenuto::registry::register(&dll) {
        Ok(outcome) => {
            println!(
                "tenuto register: registered {} as the ASIO driver \"{}\"; wrote:",
                dll.display(),
                tenuto::DRIVER_NAME
            );
            for line in &outcome.lines {
                println!("  {line}");
            }
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("tenuto register: {e}");
            ExitCode::FAILURE
        }
    }
}

#[cfg(windows)]
fn run_unregister() -> ExitCode {
    match tenuto::registry::unregister() {
        Ok(outcome) => {
            println!(
                "tenuto unregister: the ASIO driver \"{}\" is no longer registered:",
                tenuto::DRIVER_NAME
            );
            for line in &outcome.lines {
                println!("  {line}");
            }
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("tenuto unregister: {e}");
            ExitCode::FAILURE
        }
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
