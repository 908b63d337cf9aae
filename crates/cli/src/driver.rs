//! How every measuring command gets its driver: `--driver NAME` loads a
//! registered one through COM (Windows), `--in-process` runs Tenuto's own
//! driver on the virtual device inside this process.

use clap::{Args, ValueEnum};
use tenuto_engine::virtual_device::{VirtualConfig, VirtualDevice, VirtualSource};
use tenuto_engine::{DeviceFormat, Engine, EngineOptions};
use tenuto_host::Driver;

#[derive(Args, Debug, Clone)]
#[command(group(
    clap::ArgGroup::new("which_driver")
        .required(true)
        .multiple(false)
        .args(["in_process", "driver"])
))]
pub(crate) struct DriverArgs {
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
pub(crate) struct Opened {
    pub(crate) driver: Driver,
    pub(crate) engine: Option<std::sync::Arc<tenuto_engine::shared::Shared>>,
}

pub(crate) fn open(args: &DriverArgs) -> Result<Opened, String> {
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
