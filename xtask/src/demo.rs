//! `cargo xtask demo`: build and register tenuto.dll in the Wine prefix and
//! stream through it; `demo --in-process` streams through the driver inside
//! a native `tenuto` instead.

use std::path::PathBuf;
use std::time::Duration;

use crate::bootstrap::{ensure_packages, ensure_windows_target};
use crate::project::{cargo, run, target_dir, windows_out, DRIVER_NAME};
use crate::pulse::{loopback_settings, start_pulse, stop_pulse};
use crate::shared_steps::{build_windows_step, prefix_step, register_step};
use crate::steps::{Step, Steps};
use crate::wine::{kill_wineserver, windows_path, wine_cmd, wine_prefix};

pub fn demo(rest: &[String]) -> Result<(), String> {
    let in_process = rest.iter().any(|a| a == "--in-process");
    let seconds = rest
        .iter()
        .find(|a| !a.starts_with("--"))
        .map_or("10", String::as_str);
    if !seconds.parse::<f64>().is_ok_and(|s| s > 0.0) {
        return Err(format!(
            "SECONDS must be a positive number, not {seconds:?}"
        ));
    }
    if in_process {
        return demo_in_process(seconds);
    }
    ensure_windows_target()?;
    ensure_packages()?;
    let mut steps = Steps::new();
    let out = windows_out("release");
    let dll = out.join("tenuto.dll");
    let exe = out.join("tenuto.exe");
    let result = (|| {
        steps.run(build_windows_step("release"))?;
        steps.run(prefix_step())?;
        steps.run(register_step(&dll))?;
        steps.record(
            "start PulseAudio (tools/pulse/start.sh: null sink + source)",
            start_pulse,
        )?;
        let settings = loopback_settings("demo")?;
        let limit = Duration::from_secs_f64(seconds.parse::<f64>().unwrap_or(10.0) + 120.0);
        let mut play = wine_cmd(&[exe.as_os_str()]);
        play.args(["play", "--driver", DRIVER_NAME, "--seconds", "3"]);
        steps.run(
            Step::new("wine tenuto.exe play --driver Tenuto (a tone, 3 s)", play)
                .env("TENUTO_CONFIG", windows_path(&settings))
                .limit(limit)
                .hint(|_| "see tenuto.exe's message above".to_owned()),
        )?;
        let mut cmd = wine_cmd(&[exe.as_os_str()]);
        cmd.args([
            "loopback",
            "--driver",
            DRIVER_NAME,
            "--buffer",
            "256",
            "--seconds",
            seconds,
        ]);
        cmd.env("TENUTO_CONFIG", windows_path(&settings));
        // The loopback's verdict is the demo's: a FAIL (latency off, dropouts, signal not
        // back) fails the demo, and tenuto.exe's summary above says what was measured.
        steps.record(
            "wine tenuto.exe loopback --driver Tenuto (WASAPI: null sink → its monitor)",
            || {
                let status = cmd
                    .status()
                    .map_err(|e| format!("could not run tenuto.exe loopback: {e}"))?;
                if status.success() {
                    Ok(())
                } else {
                    Err(format!(
                        "tenuto loopback's verdict is FAIL ({status}): its summary above says \
                         which check failed (round trip against the reported latency, \
                         glitches, signal level)"
                    ))
                }
            },
        )
    })();
    stop_pulse();
    kill_wineserver();
    if result.is_ok() {
        eprintln!(
            "==> played through {} (registered as HKLM\\SOFTWARE\\ASIO\\{DRIVER_NAME} in the \
             Wine prefix {}) → WASAPI → PulseAudio's null sink, and recorded its monitor: \
             256 frames at 48000 Hz for {seconds} s (settings: {})",
            dll.display(),
            wine_prefix().display(),
            settings_path_for_demo().display()
        );
    }
    steps.summary("cargo xtask demo", &result);
    result
}

fn settings_path_for_demo() -> PathBuf {
    target_dir().join("demo").join("tenuto.toml")
}

/// The demo without Wine: the driver runs inside a native `tenuto`.
fn demo_in_process(seconds: &str) -> Result<(), String> {
    let mut build = cargo();
    build.args(["build", "--release", "--package", "tenuto-cli"]);
    run("build tenuto (release)", build)?;
    let mut check = cargo();
    check.args([
        "run",
        "--quiet",
        "--release",
        "--package",
        "tenuto-cli",
        "--",
        "check",
        "--in-process",
        "--backend",
        "virtual",
        "--buffer",
        "64",
        "--rate",
        "48000",
        "--switches",
        "100",
    ]);
    // The conformance run prints ~70 lines; show only its summary here.
    eprintln!("==> tenuto check --in-process --backend virtual --buffer 64 --rate 48000");
    let out = check
        .output()
        .map_err(|e| format!("could not run tenuto check: {e}"))?;
    let text = String::from_utf8_lossy(&out.stdout);
    for line in text
        .lines()
        .filter(|l| l.starts_with("FAIL") || l.starts_with("tenuto check:"))
    {
        println!("{line}");
    }
    if !out.status.success() {
        return Err("tenuto check failed (run it yourself to see every step)".to_owned());
    }
    let mut stream = cargo();
    stream.args([
        "run",
        "--quiet",
        "--release",
        "--package",
        "tenuto-cli",
        "--",
        "stream",
        "--in-process",
        "--backend",
        "virtual",
        "--buffer",
        "64",
        "--rate",
        "48000",
        "--seconds",
        seconds,
    ]);
    run(
        &format!("tenuto stream --in-process --backend virtual --buffer 64 --rate 48000 --seconds {seconds}"),
        stream,
    )
}
