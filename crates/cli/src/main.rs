//! `tenuto` — check, stream through and inspect ASIO drivers.
//!
//! On every OS it can run Tenuto's own driver in-process (`--in-process`),
//! through the very vtable the Windows DLL exports, on the virtual device.
//! On Windows it also loads registered drivers through COM (`--driver
//! NAME`), lists them (`list`) and registers Tenuto's DLL (`register`,
//! `unregister`).
//!
//! This file holds the argument parsing and the dispatch; each command is a
//! module of its own (with its arguments and its `run`). `driver` opens the
//! driver the measuring commands use (`check`, `stream`, `play`,
//! `loopback`), `progress` is the live line and the JSON output `play` and
//! `loopback` share, `windows_only` what a Windows-only command says
//! elsewhere.

#![forbid(unsafe_code)]

mod check;
mod config;
mod devices;
mod doctor;
mod driver;
mod list;
mod loopback;
mod mmcss;
mod monitor;
mod panel;
mod play;
mod plot;
mod progress;
mod register;
mod stream;
mod unregister;
#[cfg(not(windows))]
mod windows_only;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

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
    Check(check::CheckArgs),
    /// Stream a tone through a driver with a live progress line, then summarise.
    Stream(stream::StreamArgs),
    /// Play a sine tone or a WAV file on a driver's outputs, with a live
    /// progress line, then summarise.
    Play(play::PlayArgs),
    /// Measure the round-trip latency and glitches through a driver whose
    /// output reaches its input (a cable, a loopback device); exit code 0
    /// only if the signal came back intact at the reported latency.
    Loopback(loopback::LoopbackArgs),
    /// List the ASIO drivers registered on this machine (Windows).
    List(list::ListArgs),
    /// List the audio endpoints WASAPI offers (Windows): direction, default marker, name,
    /// endpoint ID, state, shared-mode mix format and engine periods.
    Devices(devices::DevicesArgs),
    /// Register tenuto.dll as the ASIO driver "Tenuto" (Windows, administrator).
    Register(register::RegisterArgs),
    /// Remove Tenuto's ASIO driver registration (Windows, administrator).
    Unregister,
    /// Show or change the MMCSS service (Windows): status, disable, enable.
    /// Never done implicitly by the driver.
    Mmcss {
        #[command(subcommand)]
        action: mmcss::MmcssAction,
    },
    /// Stream at a small buffer under each scheduling policy in turn
    /// (optionally with every core busy) and compare late periods.
    Doctor(doctor::DoctorArgs),
    /// Watch every running Tenuto driver live in the terminal: priority timeline, lateness
    /// histogram, time split per period, events with their causes.
    Monitor(monitor::MonitorArgs),
    /// Open the settings window without a DAW (Windows).
    Panel(panel::PanelArgs),
    /// The settings file (tenuto.toml): path, show, check, set KEY VALUE.
    Config {
        #[command(subcommand)]
        action: config::ConfigAction,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Check(args) => check::run(&args),
        Command::Stream(args) => stream::run(&args),
        Command::Play(args) => play::run(&args),
        Command::Loopback(args) => loopback::run(&args),
        Command::List(args) => list::run(&args),
        Command::Devices(args) => devices::run(&args),
        Command::Register(args) => register::run(&args),
        Command::Unregister => unregister::run(),
        Command::Doctor(args) => doctor::run(&args),
        Command::Monitor(args) => monitor::run(&args),
        Command::Panel(args) => panel::run(&args),
        Command::Mmcss { action } => mmcss::run(action),
        Command::Config { action } => config::run(&action),
    }
}
