//! `tenuto check`: the conformance sequence, one line per step (or JSON);
//! exit code 0 only if every step passed.

use std::process::ExitCode;

use clap::Args;
use tenuto_host::HostOptions;
use tenuto_measure::check::{self, CheckOptions};

use crate::driver::{open, DriverArgs};

#[derive(Args, Debug)]
pub(crate) struct CheckArgs {
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

pub(crate) fn run(args: &CheckArgs) -> ExitCode {
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
