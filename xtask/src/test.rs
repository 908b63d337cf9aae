//! `cargo xtask test`: everything CI runs, as one list of steps — formatting,
//! clippy and the tests on Linux, then the Windows side under Wine (with a
//! private PulseAudio and one persistent wineserver).

use std::ffi::OsStr;
use std::process::Stdio;
use std::time::Duration;

use crate::bootstrap::{ensure_components, ensure_packages, ensure_windows_target};
use crate::project::{
    cargo, root, target_dir, windows_out, DRIVER_NAME, WINDOWS_32_TARGET, WINDOWS_TARGET,
};
use crate::pulse::{loopback_settings, start_pulse, stop_pulse};
use crate::shared_steps::{
    build_windows_step, cpp_host_build, prefix_step, register_step, registry_step, tenuto_exe_step,
};
use crate::steps::{Step, Steps};
use crate::wine::{in_wine_env, kill_wineserver, windows_path, wine_cmd};
use crate::{dist, gui, loopback};

pub fn test(rest: &[String]) -> Result<(), String> {
    let wine_only = match rest {
        [] => false,
        [flag] if flag == "--wine-only" => true,
        _ => return Err(format!("unknown arguments {rest:?} (only --wine-only)")),
    };
    let mut steps = Steps::new();
    let result = test_steps(&mut steps, wine_only);
    // Leave no wineserver or hung Windows program behind, whatever happened.
    kill_wineserver();
    steps.summary("cargo xtask test", &result);
    result
}

fn test_steps(steps: &mut Steps, wine_only: bool) -> Result<(), String> {
    steps.record("install what is missing (rustup, apt-get)", || {
        ensure_components()?;
        ensure_windows_target()?;
        ensure_packages()?;
        dist::ensure_packages()?;
        // 32-bit Wine: its steps say so when it cannot be had; the 64-bit ones go on.
        if let Err(why) = dist::wine32() {
            eprintln!("    32-bit Windows programs cannot run under Wine here: {why}");
        }
        Ok(())
    })?;
    if !wine_only {
        linux_steps(steps)?;
    }
    windows_steps(steps)
}

/// fmt, clippy (Linux and the Windows target), the Linux tests.
fn linux_steps(steps: &mut Steps) -> Result<(), String> {
    // Linux.
    let mut fmt = cargo();
    fmt.args(["fmt", "--all", "--check"]);
    steps.run(Step::new("cargo fmt --check", fmt).hint(|_| "run cargo fmt --all".to_owned()))?;
    let mut clippy = cargo();
    clippy.args([
        "clippy",
        "--workspace",
        "--all-targets",
        "--",
        "-D",
        "warnings",
    ]);
    steps.run(Step::new("cargo clippy (Linux)", clippy).hint(|_| "the lints above".to_owned()))?;
    let mut clippy_win = cargo();
    clippy_win.args([
        "clippy",
        "--workspace",
        "--all-targets",
        "--target",
        WINDOWS_TARGET,
        "--",
        "-D",
        "warnings",
    ]);
    steps.run(
        Step::new("cargo clippy (x86_64-pc-windows-gnu)", clippy_win)
            .hint(|_| "the lints above".to_owned()),
    )?;
    let mut check32 = cargo();
    check32.args([
        "clippy",
        "-p",
        "tenuto-dll",
        "-p",
        "tenuto-host",
        "-p",
        "tenuto-measure",
        "--target",
        WINDOWS_32_TARGET,
        "--",
        "-D",
        "warnings",
    ]);
    steps.run(
        Step::new(
            "cargo clippy (i686-pc-windows-gnu: 32-bit, thiscall)",
            check32,
        )
        .hint(|_| "the errors above".to_owned()),
    )?;
    let mut tests = cargo();
    tests.args(["test", "--workspace"]);
    // What this step provides: the monitor's terminal test fails, rather than skips, without it.
    tests.env("TENUTO_HARNESS", "tmux");
    steps.run(
        Step::new("cargo test --workspace (Linux)", tests)
            .count_tests()
            .hint(|_| "the failing tests above".to_owned()),
    )
}

/// Under Wine: the Windows-target tests, registration of tenuto.dll, tenuto
/// check and the C++ host against it.
fn windows_steps(steps: &mut Steps) -> Result<(), String> {
    steps.run(prefix_step())?;
    // Before the tests: crates/dll's tests load target/x86_64-pc-windows-gnu/debug/tenuto.dll.
    steps.run(build_windows_step("debug"))?;
    // Real audio devices for the WASAPI tests: a private PulseAudio with a
    // null sink and source, which Wine's winepulse offers as endpoints.
    steps.record(
        "start PulseAudio (tools/pulse/start.sh: null sink + source)",
        start_pulse,
    )?;
    // One persistent wineserver for the whole run: with the default
    // persistence a server that is just exiting when the next test binary
    // connects makes that binary fail ("wine client error: recvmsg:
    // Connection reset by peer").
    // (A server left from setting up the prefix refuses `-p`: stop it first.)
    let mut server = in_wine_env(
        "sh",
        &[
            "-c",
            "wineserver -k 2>/dev/null; wineserver -w; wineserver -p",
        ],
    );
    server.stdin(Stdio::null());
    let result = steps
        .run(Step::new(
            "keep one wineserver for the run (wineserver -p)",
            server,
        ))
        .and_then(|()| windows_steps_with_audio(steps));
    stop_pulse();
    kill_wineserver();
    result
}

fn windows_steps_with_audio(steps: &mut Steps) -> Result<(), String> {
    let mut win_tests = cargo();
    win_tests.args(["test", "--workspace", "--target", WINDOWS_TARGET]);
    // What this step provides: tests that need it fail, rather than skip, when it is missing.
    win_tests.env("TENUTO_HARNESS", "wine,pulse");
    // The drift simulations are portable: the Linux step runs their hour of simulated time;
    // here the Windows build of the same code runs a minute of it.
    win_tests.env("TENUTO_DRIFT_SECONDS", "60");
    win_tests.stdin(Stdio::null());
    steps.run(
        Step::new(
            "cargo test --workspace --target x86_64-pc-windows-gnu (under Wine)",
            win_tests,
        )
        .count_tests()
        .limit(Duration::from_secs(25 * 60))
        .hint(|_| {
            "the failing tests above; rerun one crate with `cargo test --target \
             x86_64-pc-windows-gnu -p CRATE` (runs under Wine through tools/wine/runner.sh); \
             exit code 53 or 0xc0000135 means a DLL is missing in the prefix, \
             WINEDEBUG=err+module shows which"
                .to_owned()
        }),
    )?;
    let out = windows_out("debug");
    let dll = out.join("tenuto.dll");
    let exe = out.join("tenuto.exe");
    steps.run(register_step(&dll))?;
    steps.run(registry_step())?;
    steps.run(tenuto_exe_step(
        "wine tenuto.exe list",
        &exe,
        &["list"],
        Duration::from_secs(60),
    ))?;
    steps.run(tenuto_exe_step(
        "wine tenuto.exe check --driver Tenuto --buffer 64 --rate 48000",
        &exe,
        &[
            "check",
            "--driver",
            DRIVER_NAME,
            "--buffer",
            "64",
            "--rate",
            "48000",
        ],
        Duration::from_secs(300),
    ))?;

    // `tenuto.exe monitor` in Wine's console (tmux), started after another Wine process
    // streams through the DLL: the screen in place and its counters moving.
    let mut monitor = cargo();
    monitor.args(["test", "-p", "tenuto-cli", "--test", "monitor_wine"]);
    // What this step provides: the test fails, rather than skips, without Wine or tmux.
    monitor.env("TENUTO_HARNESS", "wine,tmux");
    monitor.stdin(Stdio::null());
    steps.run(
        Step::new(
            "wine tenuto.exe monitor in tmux: another process's stream shown live",
            monitor,
        )
        .count_tests()
        .limit(Duration::from_secs(600))
        .hint(|_| {
            "the failing assertion above shows the screen; rerun with `TENUTO_HARNESS=wine,tmux \
             cargo test -p tenuto-cli --test monitor_wine`"
                .to_owned()
        }),
    )?;

    // Real audio out through WASAPI: tenuto.exe → the registered DLL → WASAPI → winepulse →
    // the null sink.
    let settings = loopback_settings("wine-loopback")?;
    steps.run(
        tenuto_exe_step(
            "wine tenuto.exe play --driver Tenuto --seconds 3 (WASAPI, null sink)",
            &exe,
            &["play", "--driver", DRIVER_NAME, "--seconds", "3"],
            Duration::from_secs(60),
        )
        .env("TENUTO_CONFIG", windows_path(&settings)),
    )?;
    // And back: the null sink's monitor is the input, so `tenuto loopback` finds its test
    // signal and measures the round trip against getLatencies: every buffer size with both
    // wake-ups and every sample type, each run gated on what noise cannot fake (see
    // xtask/src/loopback.rs); then a sink suspended in mid-stream, which the host must hear of.
    steps.record(
        "wine tenuto.exe loopback: round trip = getLatencies at 32-1024 frames, events and polling, every sample type",
        || loopback::latency_sweep(&exe),
    )?;
    // The driver's sample-rate conversion: 44.1 and 96 kHz streams through the 48 kHz sink.
    steps.record(
        "wine tenuto.exe loopback at 44.1 and 96 kHz through the 48 kHz sink: converted, unity gain, error <= -60 dB, round trip = getLatencies",
        || loopback::converted_runs(&exe),
    )?;
    steps.record(
        "wine tenuto.exe loopback with the null sink suspended for 100 ms: the host is told",
        || loopback::suspend_run(&exe),
    )?;
    // Several devices as one: both null sinks (a second one for the run), their monitors and
    // the null source; both paths measured in one stream.
    steps.record(
        "wine tenuto.exe loopback through two null sinks as one ASIO device: both paths back at unity, on getLatencies within ±3 ms and within 4 ms of each other; one sink unloaded in mid-stream (a reset requested, the log naming it), then skipped",
        || loopback::aggregate_run(&exe),
    )?;

    // The C++ host, against the registered DLL (the build line of tests/cpp-host/README.md).
    let source = root().join("tests/cpp-host/asio_host.cpp");
    let host_dir = target_dir().join(WINDOWS_TARGET).join("cpp-host");
    let host = host_dir.join("asio_host.exe");
    steps.record("find tests/cpp-host/asio_host.cpp", || {
        if source.is_file() {
            std::fs::create_dir_all(&host_dir).map_err(|e| format!("{}: {e}", host_dir.display()))
        } else {
            Err(format!("{} does not exist", source.display()))
        }
    })?;
    let gxx = cpp_host_build("x86_64-w64-mingw32-g++", &source, &host);
    steps.run(
        Step::new("build the C++ host (x86_64-w64-mingw32-g++)", gxx)
            .hint(|_| "the compiler errors above (tests/cpp-host/asio_host.cpp)".to_owned()),
    )?;
    let mut run_host = wine_cmd(&[host.as_os_str(), OsStr::new(DRIVER_NAME)]);
    run_host.args(["3", "64"]).stdin(Stdio::null());
    steps.run(
        Step::new("wine asio_host.exe Tenuto 3 64", run_host)
            .count_tests()
            .limit(Duration::from_secs(120))
            .hint(|_| "the C++ host's failed checks above".to_owned()),
    )?;

    gui::panel_test(steps)?;

    // The 32-bit driver next to the 64-bit one, then the installer in a prefix of its own.
    dist::win32_steps(steps)?;
    dist::installer_steps(steps)?;

    // Exit code 1 only means that no wineserver was running any more.
    steps.record("stop the wineserver (wineserver -k)", || {
        in_wine_env("wineserver", &["-k"])
            .stdin(Stdio::null())
            .status()
            .map(drop)
            .map_err(|e| format!("could not run wineserver -k: {e}"))
    })
}
