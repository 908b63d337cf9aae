//! Project automation, run as `cargo xtask <command>`:
//!
//! * `demo`  — the main job: build `tenuto.dll` and `tenuto.exe` for Windows,
//!   register the DLL in the project's Wine prefix and stream through it with
//!   a live progress line and a summary (`demo --in-process` streams through
//!   the driver inside a native Linux `tenuto` instead);
//! * `test`  — everything CI runs: formatting, clippy on Linux and the
//!   Windows target, all Linux tests, then the Windows side under Wine: all
//!   Windows-target tests, DLL registration, `tenuto check` and the C++ host
//!   against the registered DLL, the same for the 32-bit DLL, and the
//!   installer's install/upgrade/uninstall round trip in a prefix of its own;
//! * `bench` — the benchmarks whose figures are in docs/BENCHMARKS.md;
//! * `dist`  — the Windows installer and the portable zip (see `dist.rs`);
//! * `wine`  — run any Windows program in the project's Wine prefix.
//!
//! Each installs what it needs and is missing (Debian packages, rustup
//! components and targets), so the README's commands work on a fresh machine.
//! The Wine environment itself (private prefix under `target/`, the ProcessPrng
//! shim) is set up by `tools/wine/env.sh`, which is also the cargo runner's
//! back end (`tools/wine/runner.sh`).

mod dist;
mod loopback;

use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitCode, ExitStatus, Stdio};
use std::time::{Duration, Instant};

const WINDOWS_TARGET: &str = "x86_64-pc-windows-gnu";
/// 32-bit Windows: the IASIO methods use thiscall there. Built, tested under
/// Wine's WoW64 and shipped next to the 64-bit driver (see `dist.rs`).
const WINDOWS_32_TARGET: &str = "i686-pc-windows-gnu";

/// The name Tenuto's DLL registers under `HKLM\SOFTWARE\ASIO`.
const DRIVER_NAME: &str = "Tenuto";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (cmd, rest) = match args.split_first() {
        Some((c, r)) => (c.as_str(), r),
        None => ("help", &[][..]),
    };
    let result = match cmd {
        "demo" => demo(rest),
        "test" => test(rest),
        "bench" => bench(rest),
        "dist" => dist::dist_command(rest),
        "wine" => return wine(rest),
        _ => {
            eprintln!(
                "usage: cargo xtask <demo|test|bench|wine>\n\
                 \n  demo [SECONDS]        build and register tenuto.dll in the Wine prefix, then stream through it\
                 \n                        (64 frames, 48 kHz, virtual device; default 10 s)\
                 \n  demo --in-process [SECONDS]\
                 \n                        the same through the driver inside a native tenuto (no Wine)\
                 \n  test [--wine-only]    fmt + clippy (Linux and {WINDOWS_TARGET}) + all tests, then under Wine:\
                 \n                        Windows tests, regsvr32, tenuto check, the C++ host; as CI runs them\
                 \n                        (--wine-only: just the steps under Wine)\
                 \n  bench [--quick]       conversion and per-period engine benchmarks\
                 \n  dist                  build both architectures (release) and write the installer\
                 \n                        target/dist/tenuto-setup-VERSION.exe (NSIS) and the portable zip\
                 \n                        (--test: then install, upgrade, uninstall it under Wine in its own prefix)\
                 \n  wine -- PROGRAM [ARGS]\
                 \n                        run a Windows program in the project's Wine prefix (target/wine-prefix)"
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

// ---------------------------------------------------------------------------
// Paths and commands

/// The repository root (xtask lives in `<root>/xtask`).
fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("xtask lives inside the repository")
        .to_path_buf()
}

/// Cargo's target directory: `$CARGO_TARGET_DIR` if set, else `<root>/target`.
fn target_dir() -> PathBuf {
    match std::env::var_os("CARGO_TARGET_DIR") {
        Some(dir) if !dir.is_empty() => {
            let dir = PathBuf::from(dir);
            if dir.is_absolute() {
                dir
            } else {
                std::env::current_dir().unwrap_or_default().join(dir)
            }
        }
        _ => root().join("target"),
    }
}

/// Where cargo puts Windows artifacts of a profile (`debug` or `release`).
fn windows_out(profile: &str) -> PathBuf {
    target_dir().join(WINDOWS_TARGET).join(profile)
}

/// The project's Wine prefix, as `tools/wine/env.sh` chooses it.
fn wine_prefix() -> PathBuf {
    match std::env::var_os("TENUTO_WINEPREFIX") {
        Some(p) if !p.is_empty() => PathBuf::from(p),
        _ => root().join("target").join("wine-prefix"),
    }
}

fn cargo() -> Command {
    let mut cmd = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned()));
    cmd.current_dir(root());
    cmd
}

/// A command run in the project's Wine prefix through `tools/wine/env.sh`,
/// which creates the prefix and installs the ProcessPrng shim on first use.
fn in_wine_env<S: AsRef<OsStr>>(program: &str, args: &[S]) -> Command {
    let mut cmd = Command::new(root().join("tools/wine/env.sh"));
    cmd.current_dir(root()).arg(program).args(args);
    cmd
}

/// `wine ARGS` in the project's prefix.
fn wine_cmd<S: AsRef<OsStr>>(args: &[S]) -> Command {
    in_wine_env("wine", args)
}

/// The path Windows programs in the prefix see for a Linux path (drive Z: is
/// the Linux root in every Wine prefix).
fn windows_path(path: &Path) -> String {
    format!("Z:{}", path.display()).replace('/', "\\")
}

fn output(cmd: &str, args: &[&str]) -> Option<String> {
    let out = Command::new(cmd).args(args).output().ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).into_owned())
}

/// Whether `command` is an executable on `PATH`.
fn have(command: &str) -> bool {
    let Some(path) = std::env::var_os("PATH") else {
        return false;
    };
    std::env::split_paths(&path).any(|dir| is_executable(&dir.join(command)))
}

#[cfg(unix)]
fn is_executable(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

#[cfg(not(unix))]
fn is_executable(path: &Path) -> bool {
    path.is_file() || path.with_extension("exe").is_file()
}

// ---------------------------------------------------------------------------
// Running steps

/// Waits for `child`, at most `limit`; `None` when the limit passed first.
fn wait_with_limit(child: &mut Child, limit: Duration) -> std::io::Result<Option<ExitStatus>> {
    let deadline = Instant::now() + limit;
    loop {
        if let Some(status) = child.try_wait()? {
            return Ok(Some(status));
        }
        if Instant::now() >= deadline {
            return Ok(None);
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Stops every Windows process in the project's prefix (and its wineserver).
fn kill_wineserver() {
    if wine_prefix().join("system.reg").exists() {
        let _ = in_wine_env("wineserver", &["-k"])
            .stdin(Stdio::null())
            .status();
    }
}

/// One step of a command: what it runs, its time limit, and what to look at
/// when it fails.
struct Step<'a> {
    name: &'a str,
    cmd: Command,
    limit: Option<Duration>,
    /// Read the command's stdout for test-result lines and add them up.
    count_tests: bool,
    /// Explains a failure, given the exit code (if the process exited).
    hint: Box<dyn Fn(Option<i32>) -> String + 'a>,
}

impl<'a> Step<'a> {
    fn new(name: &'a str, cmd: Command) -> Self {
        Step {
            name,
            cmd,
            limit: None,
            count_tests: false,
            hint: Box::new(|_| String::new()),
        }
    }

    fn count_tests(mut self) -> Self {
        self.count_tests = true;
        self
    }

    /// Sets an environment variable for the command.
    fn env(mut self, name: &str, value: impl AsRef<OsStr>) -> Self {
        self.cmd.env(name, value);
        self
    }

    fn limit(mut self, limit: Duration) -> Self {
        self.limit = Some(limit);
        self
    }

    fn hint(mut self, hint: impl Fn(Option<i32>) -> String + 'a) -> Self {
        self.hint = Box::new(hint);
        self
    }
}

/// Runs steps one after the other, printing each with its duration, and
/// keeps the record for the final summary.
struct Steps {
    started: Instant,
    done: Vec<(String, Duration, bool)>,
    /// Tests passed and failed, added up from the test runners' result lines.
    tests: std::sync::Arc<std::sync::atomic::AtomicU64>,
    failed_tests: std::sync::Arc<std::sync::atomic::AtomicU64>,
}

/// Parses "test result: ok. 12 passed; 0 failed; …" (cargo test) and
/// "name: 38 passed, 0 failed" (the C++ host): (passed, failed).
fn parse_result_line(line: &str) -> Option<(u64, u64)> {
    let number_before = |word: &str| -> Option<u64> {
        let at = line.find(word)?;
        line[..at].split_whitespace().last()?.parse().ok()
    };
    if !(line.starts_with("test result:") || line.contains(" passed, ")) {
        return None;
    }
    Some((number_before(" passed")?, number_before(" failed")?))
}

impl Steps {
    fn new() -> Self {
        Steps {
            started: Instant::now(),
            done: Vec::new(),
            tests: Default::default(),
            failed_tests: Default::default(),
        }
    }

    fn run(&mut self, step: Step<'_>) -> Result<(), String> {
        let Step {
            name,
            mut cmd,
            limit,
            count_tests,
            hint,
        } = step;
        eprintln!("==> {name}");
        let t0 = Instant::now();
        let (tests, failed_tests) = (self.tests.clone(), self.failed_tests.clone());
        let result = (|| {
            if count_tests {
                cmd.stdout(Stdio::piped());
            }
            let mut child = cmd
                .spawn()
                .map_err(|e| format!("could not start it: {e}"))?;
            let reader = child.stdout.take().map(|out| {
                std::thread::spawn(move || {
                    use std::io::BufRead;
                    use std::sync::atomic::Ordering::Relaxed;
                    for line in std::io::BufReader::new(out).lines().map_while(Result::ok) {
                        println!("{line}");
                        if let Some((p, f)) = parse_result_line(&line) {
                            tests.fetch_add(p, Relaxed);
                            failed_tests.fetch_add(f, Relaxed);
                        }
                    }
                })
            });
            let status = match limit {
                None => child.wait().map_err(|e| e.to_string())?,
                Some(limit) => match wait_with_limit(&mut child, limit) {
                    Ok(Some(status)) => status,
                    Ok(None) | Err(_) => {
                        let _ = child.kill();
                        let _ = child.wait();
                        // A Windows program may hang on in the prefix.
                        kill_wineserver();
                        return Err(format!("did not finish within {} s", limit.as_secs()));
                    }
                },
            };
            if let Some(reader) = reader {
                let _ = reader.join();
            }
            if status.success() {
                Ok(())
            } else {
                let code = status.code();
                let extra = hint(code);
                let sep = if extra.is_empty() { "" } else { ": " };
                Err(format!("{status}{sep}{extra}"))
            }
        })();
        let elapsed = t0.elapsed();
        let ok = result.is_ok();
        eprintln!(
            "    {} ({:.1} s)",
            if ok { "ok" } else { "FAILED" },
            elapsed.as_secs_f64()
        );
        self.done.push((name.to_owned(), elapsed, ok));
        result.map_err(|e| format!("step \"{name}\" failed: {e}"))
    }

    /// A step done in-process (not a command), timed like the others.
    fn record(&mut self, name: &str, f: impl FnOnce() -> Result<(), String>) -> Result<(), String> {
        eprintln!("==> {name}");
        let t0 = Instant::now();
        let result = f();
        let elapsed = t0.elapsed();
        eprintln!(
            "    {} ({:.1} s)",
            if result.is_ok() { "ok" } else { "FAILED" },
            elapsed.as_secs_f64()
        );
        self.done.push((name.to_owned(), elapsed, result.is_ok()));
        result.map_err(|e| format!("step \"{name}\" failed: {e}"))
    }

    /// Prints every step with its duration and a final line.
    fn summary(&self, what: &str, result: &Result<(), String>) {
        let total = self.started.elapsed().as_secs_f64();
        eprintln!("\n==> summary of {what}");
        for (name, elapsed, ok) in &self.done {
            eprintln!(
                "    {:>7.1} s  {}  {name}",
                elapsed.as_secs_f64(),
                if *ok { "ok    " } else { "FAILED" }
            );
        }
        match result {
            Ok(()) => eprintln!(
                "==> {what}: all {} steps passed in {total:.0} s",
                self.done.len()
            ),
            Err(_) => eprintln!(
                "==> {what}: FAILED after {} steps, {total:.0} s (the failing step's message follows)",
                self.done.len()
            ),
        }
        use std::sync::atomic::Ordering::Relaxed;
        let (passed, failed) = (self.tests.load(Relaxed), self.failed_tests.load(Relaxed));
        if passed + failed > 0 {
            // Totals of every test runner above (cargo test on Linux and under
            // Wine, the C++ host), on a line of their own.
            println!("tests: {passed} passed, {failed} failed");
        }
    }
}

/// Runs a command outside the step record (installation, the old-style demo).
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

// ---------------------------------------------------------------------------
// Installing what is missing

/// Installs the rustup components (rustfmt, clippy) if missing.
fn ensure_components() -> Result<(), String> {
    let Some(components) = output("rustup", &["component", "list", "--installed"]) else {
        eprintln!("==> rustup not found; assuming rustfmt and clippy are installed");
        return Ok(());
    };
    for c in ["rustfmt", "clippy"] {
        if !components.lines().any(|l| l.starts_with(c)) {
            let mut cmd = Command::new("rustup");
            cmd.args(["component", "add", c]).stdin(Stdio::null());
            run(&format!("install rustup component {c}"), cmd)?;
        }
    }
    Ok(())
}

/// Installs the rustup target for Windows if missing.
fn ensure_windows_target() -> Result<(), String> {
    let Some(targets) = output("rustup", &["target", "list", "--installed"]) else {
        eprintln!("==> rustup not found; assuming the {WINDOWS_TARGET} target is installed");
        return Ok(());
    };
    for target in [WINDOWS_TARGET, WINDOWS_32_TARGET] {
        if !targets.lines().any(|l| l.trim() == target) {
            let mut cmd = Command::new("rustup");
            cmd.args(["target", "add", target]).stdin(Stdio::null());
            run(&format!("install rustup target {target}"), cmd)?;
        }
    }
    Ok(())
}

/// Debian packages the build and the Wine harness need, each with the
/// command that proves it present.
const APT_PACKAGES: &[(&str, &[&str])] = &[
    // Build scripts (and the ABI layout test) compile C for the host.
    ("cc", &["gcc"]),
    // The linker for the Windows target, and the ProcessPrng shim's compiler.
    ("x86_64-w64-mingw32-gcc", &["gcc-mingw-w64-x86-64"]),
    // The C++ test host (tests/cpp-host).
    ("x86_64-w64-mingw32-g++", &["g++-mingw-w64-x86-64"]),
    // 64-bit Wine 8.0 (Debian bookworm): `wine` is in the first, the loader in the second.
    ("wine", &["wine", "wine64"]),
    // Audio (winepulse on null sinks) and a display for Wine, for the harness.
    ("pulseaudio", &["pulseaudio"]),
    ("Xvfb", &["xvfb"]),
    // The control panel's GUI test: keys and window search, screenshots.
    ("xdotool", &["xdotool"]),
    ("import", &["imagemagick"]),
    // Locks the Wine prefix's first-use setup (tools/wine/env.sh); essential on Debian.
    ("flock", &["util-linux"]),
];

/// Installs the build's and the Wine harness's missing Debian packages.
fn ensure_packages() -> Result<(), String> {
    install_missing(APT_PACKAGES)
}

/// `apt-get ARGS`, as root or through sudo, non-interactive.
fn apt(args: &[&str]) -> Command {
    let is_root = output("id", &["-u"]).is_some_and(|u| u.trim() == "0");
    let mut cmd = if is_root {
        Command::new("apt-get")
    } else {
        let mut c = Command::new("sudo");
        c.arg("apt-get");
        c
    };
    cmd.args(args)
        .env("DEBIAN_FRONTEND", "noninteractive")
        .stdin(Stdio::null());
    cmd
}

/// Installs with apt-get the packages of `packages` (command proving it present, packages)
/// whose command is missing.
fn install_missing(packages: &[(&str, &[&str])]) -> Result<(), String> {
    let missing: Vec<&str> = packages
        .iter()
        .filter(|(cmd, _)| !have(cmd))
        .flat_map(|(_, pkgs)| pkgs.iter().copied())
        .collect();
    if missing.is_empty() {
        return Ok(());
    }
    if !have("apt-get") {
        return Err(format!(
            "missing packages {missing:?} and no apt-get to install them; install them and retry"
        ));
    }
    run("apt-get update", apt(&["update", "-qq"]))?;
    let mut args = vec!["install", "-y", "-qq", "--no-install-recommends"];
    args.extend(&missing);
    run(
        &format!("apt-get install {}", missing.join(" ")),
        apt(&args),
    )
}

// ---------------------------------------------------------------------------
// Steps shared by `test` and `demo`

/// `cargo build` of tenuto.dll and tenuto.exe for Windows.
fn build_windows_step(profile: &str) -> Step<'static> {
    let mut cmd = cargo();
    cmd.args([
        "build",
        "--target",
        WINDOWS_TARGET,
        "--package",
        "tenuto-dll",
        "--package",
        "tenuto-cli",
    ]);
    if profile == "release" {
        cmd.arg("--release");
    }
    let name = if profile == "release" {
        "build tenuto.dll + tenuto.exe (x86_64-pc-windows-gnu, release)"
    } else {
        "build tenuto.dll + tenuto.exe (x86_64-pc-windows-gnu)"
    };
    Step::new(name, cmd).hint(|_| "the compiler errors above".to_owned())
}

/// Creates the Wine prefix and installs the ProcessPrng shim, if not done yet.
fn prefix_step() -> Step<'static> {
    let mut cmd = in_wine_env("true", &[] as &[&str]);
    cmd.stdin(Stdio::null());
    Step::new("Wine prefix + ProcessPrng shim (target/wine-prefix)", cmd)
        .limit(Duration::from_secs(300))
        .hint(|_| {
            let mut log = wine_prefix().into_os_string();
            log.push(".wineboot.log");
            format!(
                "tools/wine/env.sh could not set up the prefix; see the message above and {}",
                Path::new(&log).display()
            )
        })
}

/// What `regsvr32` exit codes mean (Wine's regsvr32 prints nothing with /s).
fn regsvr32_meaning(code: Option<i32>, dll: &Path) -> String {
    let what = match code {
        Some(1) => "bad arguments to regsvr32",
        Some(3) => {
            "the DLL could not be loaded: missing file, or one of its imports is missing \
             (is the ProcessPrng shim in the prefix's system32? rerun with \
             WINEDEBUG=err+module,warn+module to see which import)"
        }
        Some(4) => "the DLL does not export DllRegisterServer",
        Some(5) => {
            "DllRegisterServer returned a failure HRESULT (the DLL's registration code failed)"
        }
        _ => "unexpected regsvr32 exit code",
    };
    format!(
        "{what}; rerun without /s to see its message: cargo xtask wine -- regsvr32 {}",
        dll.display()
    )
}

/// `wine regsvr32 /s tenuto.dll`.
fn register_step(dll: &Path) -> Step<'static> {
    let dll = dll.to_path_buf();
    let win = windows_path(&dll);
    let mut cmd = wine_cmd(&["regsvr32", "/s", win.as_str()]);
    cmd.stdin(Stdio::null());
    Step::new("wine regsvr32 /s tenuto.dll", cmd)
        .limit(Duration::from_secs(120))
        .hint(move |code| regsvr32_meaning(code, &dll))
}

/// Checks that registration left `HKLM\SOFTWARE\ASIO\Tenuto` in the prefix.
fn registry_step() -> Step<'static> {
    let key = format!("HKLM\\SOFTWARE\\ASIO\\{DRIVER_NAME}");
    let mut cmd = wine_cmd(&["reg", "query", key.as_str()]);
    cmd.stdin(Stdio::null()).stdout(Stdio::null());
    Step::new("registry has HKLM\\SOFTWARE\\ASIO\\Tenuto", cmd)
        .limit(Duration::from_secs(60))
        .hint(move |_| {
            format!("regsvr32 succeeded but {key} is missing; see DllRegisterServer in crates/dll")
        })
}

/// The build line of tests/cpp-host/README.md with `compiler` (the mingw g++ of one
/// architecture): `source` into the static executable `host`.
fn cpp_host_build(compiler: &str, source: &Path, host: &Path) -> Command {
    let mut gxx = Command::new(compiler);
    gxx.args([
        "-std=c++17",
        "-O2",
        "-Wall",
        "-Wextra",
        "-Werror",
        "-static",
        "-o",
    ])
    .arg(host)
    .arg(source)
    .args(["-lole32", "-luuid", "-ladvapi32", "-lwinmm"]);
    gxx
}

fn tenuto_exe_step(
    name: &'static str,
    exe: &Path,
    args: &[&str],
    limit: Duration,
) -> Step<'static> {
    let mut full = vec![exe.as_os_str().to_owned()];
    full.extend(args.iter().map(|a| OsStr::new(a).to_owned()));
    let mut cmd = wine_cmd(&full);
    cmd.stdin(Stdio::null());
    Step::new(name, cmd).limit(limit).hint(move |code| {
        if code == Some(53) {
            "exit code 53: a DLL tenuto.exe imports is missing in the prefix (the ProcessPrng shim?)"
                .to_owned()
        } else {
            "see its output above (check: the FAIL lines)".to_owned()
        }
    })
}

// ---------------------------------------------------------------------------
// Commands

fn demo(rest: &[String]) -> Result<(), String> {
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

fn test(rest: &[String]) -> Result<(), String> {
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

/// Starts the harness's PulseAudio and exports its variables to the
/// commands that follow (`start.sh` prints `export NAME=VALUE` lines).
fn start_pulse() -> Result<(), String> {
    let script = root().join("tools/pulse/start.sh");
    let out = Command::new("bash")
        .arg(&script)
        .stdin(Stdio::null())
        .stderr(Stdio::inherit())
        .output()
        .map_err(|e| format!("could not run {}: {e}", script.display()))?;
    if !out.status.success() {
        return Err(format!(
            "{} failed ({}); its log is target/pulse/daemon.log",
            script.display(),
            out.status
        ));
    }
    for line in String::from_utf8_lossy(&out.stdout).lines() {
        if let Some((name, value)) = line.strip_prefix("export ").and_then(|l| l.split_once('=')) {
            let value = value.trim_matches(|c| c == '\'' || c == '"');
            std::env::set_var(name, value);
        }
    }
    Ok(())
}

/// A settings file that makes the driver stream through WASAPI from the harness's null sink
/// to its monitor: what is played comes back on the input (a loopback cable in software).
fn loopback_settings(name: &str) -> Result<PathBuf, String> {
    let dir = target_dir().join(name);
    std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let path = dir.join("tenuto.toml");
    std::fs::write(
        &path,
        "# Written by cargo xtask: the harness's PulseAudio null sink and its monitor.\n\
         [driver]\nbackend = \"wasapi\"\n\n\
         [wasapi]\noutput = \"Tenuto Null Output\"\ninput = \"Monitor of Tenuto Null Output\"\n\
         mode = \"shared\"\n",
    )
    .map_err(|e| format!("{}: {e}", path.display()))?;
    Ok(path)
}

fn stop_pulse() {
    let _ = Command::new("bash")
        .arg(root().join("tools/pulse/stop.sh"))
        .stdin(Stdio::null())
        .status();
}

fn windows_steps_with_audio(steps: &mut Steps) -> Result<(), String> {
    let mut win_tests = cargo();
    win_tests.args(["test", "--workspace", "--target", WINDOWS_TARGET]);
    // What this step provides: tests that need it fail, rather than skip, when it is missing.
    win_tests.env("TENUTO_HARNESS", "wine,pulse");
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
    steps.record(
        "wine tenuto.exe loopback with the null sink suspended for 100 ms: the host is told",
        || loopback::suspend_run(&exe),
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

    panel_test(steps)?;

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

/// The control panel under Xvfb + Wine (issue 6's GUI test): `panel_host`
/// loads the freshly built tenuto.dll like a DAW (settings file from
/// `TENUTO_CONFIG`, written here with `backend = "virtual"`, `mode = "mmcss"`
/// and other non-default values), streams, calls `controlPanel()` twice, and
/// checks from inside the process that there is one window showing the
/// file's values (the WASAPI drop-downs greyed, listing the private
/// PulseAudio's endpoints), and prints the endpoints it lists. Here: wait
/// for the window, check there is exactly one, take the screenshot CI keeps
/// (target/panel-screenshot.png), toggle "Register driver thread with MMCSS"
/// (Alt+R) and press Apply (Alt+A) with xdotool, check that the file's
/// `scheduling.mode` changed; then choose the WASAPI backend (Alt+B, Home)
/// and the null sink as its output device (Alt+O, End), Apply, and check that
/// the file says `backend = "wasapi"` and `output` = the null sink's endpoint
/// ID (target/panel-screenshot-applied.png shows it); close the window (Esc)
/// and tell panel_host, which then checks it received kAsioResetRequest and
/// that streaming never stopped, and exits 0.
fn panel_test(steps: &mut Steps) -> Result<(), String> {
    const TITLE: &str = "Tenuto ASIO Driver";
    /// How long panel_host waits for the driver's reset request.
    const RESET_WAIT_S: u64 = 60;

    let mut build = cargo();
    build.args([
        "build",
        "--target",
        WINDOWS_TARGET,
        "--package",
        "tenuto-panel",
        "--example",
        "panel_host",
    ]);
    steps.run(
        Step::new("build panel_host (crates/panel/examples)", build)
            .hint(|_| "the compiler errors above".to_owned()),
    )?;
    let out = windows_out("debug");
    let host = out.join("examples").join("panel_host.exe");
    let dll = out.join("tenuto.dll");
    let screenshot = target_dir().join("panel-screenshot.png");
    let screenshot_after = target_dir().join("panel-screenshot-applied.png");
    let settings = target_dir().join("panel-test").join("tenuto.toml");

    steps.record(
        "control panel under Xvfb + Wine: controlPanel() x2, one window, MMCSS toggled + Apply, WASAPI + null sink chosen + Apply, reset request",
        || {
            /// Xvfb, stopped when dropped — after the wineserver, so that no
            /// Windows program is left on a dead display (nor the next
            /// Wine program given a desktop there).
            struct Display(Child, u32);
            impl Drop for Display {
                fn drop(&mut self) {
                    kill_wineserver();
                    // SIGTERM lets Xvfb remove its lock file and socket.
                    let _ = Command::new("kill")
                        .arg(self.0.id().to_string())
                        .stderr(Stdio::null())
                        .status();
                    if !matches!(wait_with_limit(&mut self.0, Duration::from_secs(5)), Ok(Some(_))) {
                        let _ = self.0.kill();
                        let _ = self.0.wait();
                        let _ = std::fs::remove_file(format!("/tmp/.X{}-lock", self.1));
                        let _ = std::fs::remove_file(format!("/tmp/.X11-unix/X{}", self.1));
                    }
                }
            }
            /// panel_host, killed when dropped unless it has exited.
            struct Host(Child);
            impl Drop for Host {
                fn drop(&mut self) {
                    if matches!(self.0.try_wait(), Ok(None)) {
                        let _ = self.0.kill();
                        let _ = self.0.wait();
                    }
                }
            }
            let t0 = Instant::now();
            let stamp = |what: &str| eprintln!("    {:5.1} s  {what}", t0.elapsed().as_secs_f64());

            // A free display number, then Xvfb on it.
            let number = (70..100)
                .find(|n| {
                    !Path::new(&format!("/tmp/.X11-unix/X{n}")).exists()
                        && !Path::new(&format!("/tmp/.X{n}-lock")).exists()
                })
                .ok_or("no free X display number in :70-:99")?;
            let display = format!(":{number}");
            let xvfb = Command::new("Xvfb")
                .args([display.as_str(), "-screen", "0", "1280x800x24", "-nolisten", "tcp"])
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .map_err(|e| format!("could not start Xvfb: {e}"))?;
            let mut xvfb = Display(xvfb, number);
            let socket = PathBuf::from(format!("/tmp/.X11-unix/X{number}"));
            while !socket.exists() {
                if let Ok(Some(status)) = xvfb.0.try_wait() {
                    return Err(format!("Xvfb {display} exited at once ({status})"));
                }
                if t0.elapsed() > Duration::from_secs(15) {
                    return Err(format!("Xvfb {display} did not come up within 15 s"));
                }
                std::thread::sleep(Duration::from_millis(50));
            }
            stamp(&format!("Xvfb {display} is up"));

            // xdotool on that display, with a time limit; its stdout.
            let xdo = |args: &[&str], limit: Duration| -> Result<String, String> {
                let mut child = Command::new("xdotool")
                    .args(args)
                    .env("DISPLAY", &display)
                    .stdin(Stdio::null())
                    .stdout(Stdio::piped())
                    .stderr(Stdio::null())
                    .spawn()
                    .map_err(|e| format!("could not run xdotool: {e}"))?;
                let mut stdout = child.stdout.take();
                let reader = std::thread::spawn(move || {
                    let mut text = String::new();
                    if let Some(out) = stdout.as_mut() {
                        use std::io::Read;
                        let _ = out.read_to_string(&mut text);
                    }
                    text
                });
                match wait_with_limit(&mut child, limit) {
                    Ok(Some(status)) => {
                        let text = reader.join().unwrap_or_default();
                        if status.success() {
                            Ok(text)
                        } else {
                            Err(format!("xdotool {} failed ({status})", args.join(" ")))
                        }
                    }
                    _ => {
                        let _ = child.kill();
                        let _ = child.wait();
                        Err(format!(
                            "xdotool {} did not finish within {} s",
                            args.join(" "),
                            limit.as_secs()
                        ))
                    }
                }
            };
            let windows = || -> Vec<String> {
                xdo(&["search", "--name", TITLE], Duration::from_secs(10))
                    .map(|out| out.split_whitespace().map(str::to_owned).collect())
                    .unwrap_or_default()
            };
            // `name` in `[section]` of the settings file, unquoted.
            let in_file = |section: &str, name: &str| -> Option<String> {
                let text = std::fs::read_to_string(&settings).ok()?;
                let mut current = "";
                text.lines().find_map(|l| {
                    let l = l.trim();
                    if let Some(header) = l.strip_prefix('[').and_then(|h| h.strip_suffix(']')) {
                        current = header;
                        return None;
                    }
                    let (key, value) = l.split_once('=')?;
                    (current == section && key.trim() == name)
                        .then(|| value.trim().trim_matches('"').to_owned())
                })
            };
            let mode_in_file = || in_file("scheduling", "mode");

            // The settings file the driver reads (TENUTO_CONFIG).
            if let Some(dir) = settings.parent() {
                std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
            }
            // Values other than the defaults, so that panel_host's check
            // that the window shows them means something.
            // The virtual device streams (whatever the backend's default), so
            // that the stream does not depend on the audio devices.
            let text = "[driver]\nbackend = \"virtual\"\nbuffer_size = 256\n\n\
                        [virtual]\nsample_rate = 44100\n\
                        format = \"i32\"\nsource = \"sine\"\n\n\
                        [scheduling]\nmode = \"mmcss\"\nmmcss_priority = \"high\"\n\
                        eco_qos_opt_out = false\n\n[logging]\nlevel = \"debug\"\n";
            std::fs::write(&settings, text)
                .map_err(|e| format!("{}: {e}", settings.display()))?;

            // A fresh wineserver, so that Wine's desktop uses this display.
            kill_wineserver();
            let wait = RESET_WAIT_S.to_string();
            let mut cmd = wine_cmd(&[
                host.as_os_str(),
                OsStr::new(&windows_path(&dll)),
                OsStr::new("--wait"),
                OsStr::new(&wait),
            ]);
            cmd.env("DISPLAY", &display)
                .env("TENUTO_CONFIG", windows_path(&settings))
                .stdin(Stdio::piped())
                .stdout(Stdio::piped());
            let mut child = cmd
                .spawn()
                .map_err(|e| format!("could not start panel_host under Wine: {e}"))?;
            let mut stdin = child.stdin.take();
            let stdout = child.stdout.take();
            let mut host_proc = Host(child);
            let (tx, rx) = std::sync::mpsc::channel::<String>();
            if let Some(out) = stdout {
                std::thread::spawn(move || {
                    use std::io::BufRead;
                    for line in std::io::BufReader::new(out).lines().map_while(Result::ok) {
                        eprintln!("    | {line}");
                        if tx.send(line).is_err() {
                            break;
                        }
                    }
                });
            }
            // panel_host's lines until one contains `marker` (an error on FAIL or
            // exit); the lines before it.
            let wait_for = |marker: &str, limit: Duration| -> Result<Vec<String>, String> {
                let deadline = Instant::now() + limit;
                let mut seen = Vec::new();
                loop {
                    let left = deadline.saturating_duration_since(Instant::now());
                    match rx.recv_timeout(left) {
                        Ok(line) if line.contains(marker) => return Ok(seen),
                        Ok(line) if line.contains("FAIL") => return Err(line),
                        Ok(line) => seen.push(line),
                        Err(std::sync::mpsc::RecvTimeoutError::Timeout) => {
                            return Err(format!(
                                "panel_host did not print \"{marker}\" within {} s",
                                limit.as_secs()
                            ))
                        }
                        Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => {
                            return Err(format!("panel_host ended before \"{marker}\""))
                        }
                    }
                }
            };
            let before_ready = wait_for("READY", Duration::from_secs(120))?;
            stamp("panel_host streams and has called controlPanel() twice");
            // The null sink's endpoint ID, as the panel lists it
            // ("panel_host: render endpoint: NAME [ID] …").
            const NULL_SINK: &str = "Tenuto Null Output";
            let sink_id = before_ready
                .iter()
                .find_map(|l| {
                    let rest = l.split_once(&format!("render endpoint: {NULL_SINK} ["))?.1;
                    Some(rest.split_once(']')?.0.to_owned())
                })
                .ok_or(format!(
                    "panel_host listed no render endpoint \"{NULL_SINK}\" (is the private \
                     PulseAudio running? tools/pulse/start.sh)"
                ))?;
            stamp(&format!("the panel lists {NULL_SINK} [{sink_id}]"));

            xdo(&["search", "--sync", "--name", TITLE], Duration::from_secs(30))
                .map_err(|e| format!("the settings window did not appear: {e}"))?;
            stamp("the settings window is there");
            // Exactly one window, and it stays one (the second call only
            // brings the first to the front).
            let mut found = windows();
            for _ in 0..5 {
                if found.len() != 1 {
                    break;
                }
                std::thread::sleep(Duration::from_millis(200));
                found = windows();
            }
            if found.len() != 1 {
                return Err(format!(
                    "{} windows named \"{TITLE}\" after two controlPanel() calls; expected 1",
                    found.len()
                ));
            }
            let window = found.remove(0);
            stamp("exactly one settings window");
            let shot = |path: &Path| -> Result<(), String> {
                let status = Command::new("import")
                    .args(["-window", "root"])
                    .arg(path)
                    .env("DISPLAY", &display)
                    .stdin(Stdio::null())
                    .status()
                    .map_err(|e| format!("could not run import (imagemagick): {e}"))?;
                if status.success() {
                    Ok(())
                } else {
                    Err(format!("import -window root {} failed ({status})", path.display()))
                }
            };
            shot(&screenshot)?;
            stamp(&format!("screenshot {}", screenshot.display()));

            // Keyboard focus to the panel (no window manager: windowactivate
            // needs one, windowfocus does not), then Alt+R, Alt+A.
            let focus = || {
                xdo(&["windowactivate", "--sync", &window], Duration::from_secs(5))
                    .or_else(|_| xdo(&["windowfocus", "--sync", &window], Duration::from_secs(5)))
            };
            // Wine may drop keys that arrive while it is still taking the
            // focus; each retry repeats only what may have been lost (Apply
            // alone first, so a toggle that did happen is not undone).
            let attempts: [&[&str]; 3] = [&["alt+r", "alt+a"], &["alt+a"], &["alt+r", "alt+a"]];
            let mut mode = None;
            for keys in attempts {
                focus()?;
                for key in keys {
                    xdo(&["key", "--clearmodifiers", key], Duration::from_secs(5))?;
                }
                let changed_by = Instant::now() + Duration::from_secs(5);
                while Instant::now() < changed_by {
                    if let Some(m) = mode_in_file().filter(|m| m != "mmcss") {
                        mode = Some(m);
                        break;
                    }
                    std::thread::sleep(Duration::from_millis(100));
                }
                if mode.is_some() {
                    break;
                }
                stamp(&format!("the file did not change after {}; again", keys.join(", ")));
            }
            let Some(mode) = mode else {
                let _ = shot(&screenshot_after);
                return Err(format!(
                    "{} still says mode = {:?} after Alt+R, Alt+A (see {})",
                    settings.display(),
                    mode_in_file(),
                    screenshot_after.display()
                ));
            };
            stamp(&format!("Apply saved the file: mode = \"{mode}\" (was \"mmcss\")"));

            // The WASAPI backend (first entry) and the null sink as its output
            // (the last entry: Windows default, Off, then the render endpoints
            // sorted by name: Wine's "PulseAudio", then the null sink), then
            // Apply. Each key is idempotent: retries repeat them all.
            let wasapi_in_file = || {
                (in_file("driver", "backend"), in_file("wasapi", "output"))
            };
            let want = (Some("wasapi".to_owned()), Some(sink_id.clone()));
            let mut chosen = false;
            for _ in 0..3 {
                focus()?;
                for key in ["alt+b", "Home", "alt+o", "End", "alt+a"] {
                    xdo(&["key", "--clearmodifiers", key], Duration::from_secs(5))?;
                }
                let changed_by = Instant::now() + Duration::from_secs(5);
                while Instant::now() < changed_by && !chosen {
                    chosen = wasapi_in_file() == want;
                    std::thread::sleep(Duration::from_millis(100));
                }
                if chosen {
                    break;
                }
                stamp(&format!(
                    "the file says (backend, output) = {:?} after Alt+B, Home, Alt+O, End, Alt+A; again",
                    wasapi_in_file()
                ));
            }
            shot(&screenshot_after)?;
            if !chosen {
                return Err(format!(
                    "{} says (backend, output) = {:?} after choosing WASAPI and {NULL_SINK} \
                     with the keyboard; expected {want:?} (see {})",
                    settings.display(),
                    wasapi_in_file(),
                    screenshot_after.display()
                ));
            }
            stamp(&format!(
                "Apply saved the file: backend = \"wasapi\", output = \"{sink_id}\" ({NULL_SINK})"
            ));

            // Close it (Esc, else Alt+C) while the host streams on.
            let _ = focus();
            xdo(&["key", "Escape"], Duration::from_secs(5))?;
            let gone_by = Instant::now() + Duration::from_secs(10);
            let mut tried_close = false;
            while !windows().is_empty() {
                if Instant::now() > gone_by {
                    if tried_close {
                        return Err("the settings window did not close (Esc, Alt+C)".to_owned());
                    }
                    tried_close = true;
                    let _ = focus();
                    xdo(&["key", "--clearmodifiers", "alt+c"], Duration::from_secs(5))?;
                }
                std::thread::sleep(Duration::from_millis(100));
            }
            stamp("the settings window closed");
            if let Some(mut pipe) = stdin.take() {
                use std::io::Write;
                writeln!(pipe, "closed (the window is gone)")
                    .map_err(|e| format!("could not write to panel_host: {e}"))?;
            }
            let limit = Duration::from_secs(RESET_WAIT_S + 60);
            let status = wait_with_limit(&mut host_proc.0, limit)
                .map_err(|e| e.to_string())?
                .ok_or(format!("panel_host did not finish within {} s", limit.as_secs()))?;
            stamp(&format!("panel_host exited ({status})"));
            drop(xvfb);
            if status.success() {
                Ok(())
            } else {
                Err(format!(
                    "panel_host failed ({status}); its last lines above say why (screenshots: {}, {})",
                    screenshot.display(),
                    screenshot_after.display()
                ))
            }
        },
    )
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

/// `cargo xtask wine -- PROGRAM [ARGS]`: runs a Windows program (a path to an
/// .exe, or a Wine builtin such as `regsvr32`, `reg`, `cmd`) in the project's
/// prefix and exits with its exit code.
fn wine(rest: &[String]) -> ExitCode {
    let args = match rest.split_first() {
        Some((first, tail)) if first == "--" => tail,
        _ => rest,
    };
    if args.is_empty() {
        eprintln!(
            "usage: cargo xtask wine -- PROGRAM [ARGS]\n\
             runs PROGRAM under Wine in the project's prefix ({}),\n\
             e.g. cargo xtask wine -- target/{WINDOWS_TARGET}/debug/tenuto.exe list\n\
             For a shell with that environment: eval \"$(tools/wine/env.sh)\"",
            wine_prefix().display()
        );
        return ExitCode::from(2);
    }
    if let Err(e) = ensure_packages() {
        eprintln!("xtask wine: {e}");
        return ExitCode::FAILURE;
    }
    // Relative paths are the user's, relative to where cargo was run: keep that cwd.
    let mut cmd = wine_cmd(args);
    if let Ok(dir) = std::env::current_dir() {
        cmd.current_dir(dir);
    }
    match cmd.status() {
        Ok(status) => match status.code() {
            Some(code) => ExitCode::from(u8::try_from(code & 0xff).unwrap_or(1)),
            None => ExitCode::FAILURE,
        },
        Err(e) => {
            eprintln!("xtask wine: could not run tools/wine/env.sh: {e}");
            ExitCode::FAILURE
        }
    }
}
