//! Project automation, run as `cargo xtask <command>`:
//!
//! * `demo`  — the main job: stream through Tenuto's driver (in-process,
//!   virtual device) with a live progress line and a summary;
//! * `test`  — everything CI runs: formatting, clippy on Linux and the
//!   Windows target, all tests;
//! * `bench` — the benchmarks whose figures are in docs/BENCHMARKS.md.
//!
//! Each installs what it needs and is missing (rustup components and
//! targets), so the README's two commands work on a fresh machine.

use std::process::{Command, ExitCode};
use std::time::Instant;

const WINDOWS_TARGET: &str = "x86_64-pc-windows-gnu";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (cmd, rest) = match args.split_first() {
        Some((c, r)) => (c.as_str(), r),
        None => ("help", &[][..]),
    };
    let result = match cmd {
        "demo" => demo(rest),
        "test" => test(),
        "bench" => bench(rest),
        _ => {
            eprintln!(
                "usage: cargo xtask <demo|test|bench>\n\
                 \n  demo [SECONDS]   stream through Tenuto's driver on the virtual device (default 10 s)\
                 \n  test             fmt + clippy (Linux and {WINDOWS_TARGET}) + all tests, as CI runs them\
                 \n  bench [--quick]  conversion and per-period engine benchmarks"
            );
            return if cmd == "help" || cmd == "--help" {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(2)
            };
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("xtask {cmd}: {e}");
            ExitCode::FAILURE
        }
    }
}

fn cargo() -> Command {
    Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned()))
}

fn run(what: &str, mut cmd: Command) -> Result<(), String> {
    eprintln!("==> {what}");
    let t0 = Instant::now();
    let status = cmd
        .status()
        .map_err(|e| format!("could not run {what}: {e}"))?;
    eprintln!("    ({:.1} s)", t0.elapsed().as_secs_f64());
    if status.success() {
        Ok(())
    } else {
        Err(format!("{what} failed ({status})"))
    }
}

fn output(cmd: &str, args: &[&str]) -> Option<String> {
    let out = Command::new(cmd).args(args).output().ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).into_owned())
}

/// Installs the rustup components and targets the checks need, if missing.
fn ensure_toolchain() -> Result<(), String> {
    let Some(components) = output("rustup", &["component", "list", "--installed"]) else {
        eprintln!("==> rustup not found; assuming rustfmt, clippy and the {WINDOWS_TARGET} target are installed");
        return Ok(());
    };
    for c in ["rustfmt", "clippy"] {
        if !components.lines().any(|l| l.starts_with(c)) {
            let mut cmd = Command::new("rustup");
            cmd.args(["component", "add", c]);
            run(&format!("install rustup component {c}"), cmd)?;
        }
    }
    let targets = output("rustup", &["target", "list", "--installed"]).unwrap_or_default();
    if !targets.lines().any(|l| l.trim() == WINDOWS_TARGET) {
        let mut cmd = Command::new("rustup");
        cmd.args(["target", "add", WINDOWS_TARGET]);
        run(&format!("install rustup target {WINDOWS_TARGET}"), cmd)?;
    }
    Ok(())
}

/// Debian packages the checks need, by the command that proves each present.
const APT_PACKAGES: &[(&str, &str)] = &[
    // Build scripts of some dependencies compile C for the Windows target.
    ("x86_64-w64-mingw32-gcc", "gcc-mingw-w64-x86-64"),
    ("cc", "gcc"),
];

fn have(command: &str) -> bool {
    Command::new("sh")
        .args(["-c", &format!("command -v {command} >/dev/null 2>&1")])
        .status()
        .is_ok_and(|s| s.success())
}

/// Installs missing Debian packages with apt-get (as root, or through sudo).
fn ensure_packages() -> Result<(), String> {
    let missing: Vec<&str> = APT_PACKAGES
        .iter()
        .filter(|(cmd, _)| !have(cmd))
        .map(|(_, pkg)| *pkg)
        .collect();
    if missing.is_empty() {
        return Ok(());
    }
    if !have("apt-get") {
        return Err(format!(
            "missing packages {missing:?} and no apt-get to install them; install them and retry"
        ));
    }
    let root = output("id", &["-u"]).is_some_and(|u| u.trim() == "0");
    let apt = |args: &[&str]| {
        let mut cmd = if root {
            Command::new("apt-get")
        } else {
            let mut c = Command::new("sudo");
            c.arg("apt-get");
            c
        };
        cmd.args(args).env("DEBIAN_FRONTEND", "noninteractive");
        cmd
    };
    run("apt-get update", apt(&["update", "-qq"]))?;
    let mut args = vec!["install", "-y", "-qq", "--no-install-recommends"];
    args.extend(&missing);
    run(&format!("apt-get install {}", missing.join(" ")), apt(&args))
}

fn demo(rest: &[String]) -> Result<(), String> {
    let seconds = rest.first().map_or("10", String::as_str);
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

fn test() -> Result<(), String> {
    let t0 = Instant::now();
    ensure_toolchain()?;
    ensure_packages()?;
    let mut fmt = cargo();
    fmt.args(["fmt", "--all", "--check"]);
    run("cargo fmt --check", fmt)?;
    let mut clippy = cargo();
    clippy.args([
        "clippy",
        "--workspace",
        "--all-targets",
        "--",
        "-D",
        "warnings",
    ]);
    run("cargo clippy (Linux)", clippy)?;
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
    run(&format!("cargo clippy ({WINDOWS_TARGET})"), clippy_win)?;
    let mut tests = cargo();
    tests.args(["test", "--workspace"]);
    run("cargo test --workspace", tests)?;
    eprintln!(
        "==> all checks passed in {:.0} s",
        t0.elapsed().as_secs_f64()
    );
    Ok(())
}

fn bench(rest: &[String]) -> Result<(), String> {
    let quick = rest.iter().any(|a| a == "--quick");
    let mut conv = cargo();
    conv.args(["bench", "--package", "tenuto-convert", "--bench", "convert"]);
    if quick {
        conv.args(["--", "--quick"]);
    }
    run("conversion benchmark (criterion)", conv)?;
    let mut period = cargo();
    period.args(["bench", "--package", "tenuto-engine", "--bench", "period"]);
    if quick {
        period.args(["--", "--quick"]);
    }
    run("engine per-period benchmark", period)?;
    eprintln!("==> figures and how to read them: docs/BENCHMARKS.md");
    Ok(())
}
