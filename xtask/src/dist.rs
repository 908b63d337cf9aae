//! Shipping: `cargo xtask dist` (the NSIS installer and the portable zip) and the steps of
//! `cargo xtask test` that prove them and the 32-bit driver under Wine.
//!
//! * [`dist`] builds tenuto.dll + tenuto.exe for `x86_64-pc-windows-gnu` and
//!   `i686-pc-windows-gnu` (release), stages them with the text files, and writes
//!   `target/dist/tenuto-setup-<version>.exe` (makensis, tools/dist/tenuto.nsi) and
//!   `target/dist/tenuto-<version>-portable.zip`.
//! * [`win32_steps`] run in the project's prefix, next to the 64-bit steps: the 32-bit
//!   driver registered by the 32-bit regsvr32 while the 64-bit one stays registered, each
//!   architecture's `tenuto list` seeing its own, the 32-bit `tenuto check` over buffer
//!   sizes × rates on the virtual device, the C++ host built for i686, and WASAPI streaming
//!   through the null sink from a 32-bit process.
//! * [`installer_steps`] install into a prefix of their own (target/dist-test/prefix, made
//!   afresh each run, so the project's prefix is never touched): an older-labelled build,
//!   the upgrade over it, a reinstall over itself, a refusal while the driver is in use,
//!   both drivers listed and checked by a host of each architecture, then the silent
//!   uninstall, after which the registry export and Program Files must equal the ones taken
//!   before the first install.
//!
//! 32-bit programs under Wine need Debian's `wine32:i386` (multiarch). When it cannot be
//! installed, the 32-bit and installer steps are recorded as not run, with the reason, and
//! the 64-bit steps go on; when it can, they run and decide.

use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use crate::bootstrap;
use crate::project::{
    cargo, have, output, root, run, target_dir, wait_with_limit, DRIVER_NAME, WINDOWS_32_TARGET,
    WINDOWS_TARGET,
};
use crate::pulse::loopback_settings;
use crate::shared_steps::{cpp_host_build, regsvr32_meaning};
use crate::steps::{Step, Steps};
use crate::wine::{in_wine_env, windows_path, wine_cmd};

/// The version everything is labelled with: the workspace's (xtask shares it).
pub fn version() -> &'static str {
    env!("CARGO_PKG_VERSION")
}

/// What `getDriverVersion` answers for [`version`]: major·10000 + minor·100 + patch.
fn driver_version() -> u32 {
    let n = |s: &str| s.parse::<u32>().unwrap_or(0);
    n(env!("CARGO_PKG_VERSION_MAJOR")) * 10_000
        + n(env!("CARGO_PKG_VERSION_MINOR")) * 100
        + n(env!("CARGO_PKG_VERSION_PATCH"))
}

/// `0.1.0` → `0.1.0.0`: VERSIONINFO's four numbers (a pre-release or build suffix dropped).
fn version4(version: &str) -> String {
    let mut parts: Vec<String> = version
        .split(['-', '+'])
        .next()
        .unwrap_or("0")
        .split('.')
        .map(|p| p.parse::<u16>().unwrap_or(0).to_string())
        .collect();
    parts.resize(4, "0".to_owned());
    parts.join(".")
}

// ---------------------------------------------------------------------------------------------
// Packages

/// Debian packages for the 32-bit build and for packaging: (command proving it, packages).
const DIST_PACKAGES: &[(&str, &[&str])] = &[
    // Linker and windres for i686-pc-windows-gnu, and the 32-bit C++ host.
    ("i686-w64-mingw32-gcc", &["gcc-mingw-w64-i686"]),
    ("i686-w64-mingw32-g++", &["g++-mingw-w64-i686"]),
    ("i686-w64-mingw32-windres", &["binutils-mingw-w64-i686"]),
    ("x86_64-w64-mingw32-windres", &["binutils-mingw-w64-x86-64"]),
    // The installer compiler and the portable zip.
    ("makensis", &["nsis"]),
    ("zip", &["zip"]),
];

/// Where wine32 puts its 32-bit server: present exactly when 32-bit programs can run.
const WINE32_MARKER: &str = "/usr/lib/wine/wineserver32";

/// Installs the packaging and i686 packages that are missing (an error if that fails).
pub fn ensure_packages() -> Result<(), String> {
    bootstrap::install_missing(DIST_PACKAGES)
}

/// Whether 32-bit Windows programs can run under Wine here: `Ok` once wine32:i386 is
/// installed (installing it, with the i386 architecture, if needed), else why not. Decided
/// once per run.
pub fn wine32() -> Result<(), String> {
    static STATE: OnceLock<Result<(), String>> = OnceLock::new();
    STATE.get_or_init(install_wine32).clone()
}

fn install_wine32() -> Result<(), String> {
    if Path::new(WINE32_MARKER).exists() {
        return Ok(());
    }
    if !have("dpkg") || !have("apt-get") {
        return Err("wine32 is not installed and there is no dpkg/apt-get to install it".into());
    }
    let foreign = output("dpkg", &["--print-foreign-architectures"]).unwrap_or_default();
    if !foreign.lines().any(|a| a.trim() == "i386") {
        let is_root = output("id", &["-u"]).is_some_and(|u| u.trim() == "0");
        let mut add = if is_root {
            Command::new("dpkg")
        } else {
            let mut c = Command::new("sudo");
            c.arg("dpkg");
            c
        };
        add.args(["--add-architecture", "i386"])
            .stdin(Stdio::null());
        run("dpkg --add-architecture i386", add)
            .map_err(|e| format!("could not enable the i386 architecture: {e}"))?;
    }
    run(
        "apt-get update (with i386)",
        bootstrap::apt(&["update", "-qq"]),
    )
    .map_err(|e| format!("apt-get update failed after adding i386: {e}"))?;
    // This also brings amd64 base packages up to the versions the i386 ones need.
    run(
        "apt-get install wine32:i386",
        bootstrap::apt(&[
            "install",
            "-y",
            "-qq",
            "--no-install-recommends",
            "wine32:i386",
        ]),
    )
    .map_err(|e| format!("wine32:i386 could not be installed: {e}"))?;
    if Path::new(WINE32_MARKER).exists() {
        Ok(())
    } else {
        Err(format!(
            "wine32:i386 is installed but {WINE32_MARKER} is missing"
        ))
    }
}

// ---------------------------------------------------------------------------------------------
// Building

/// `cargo build` of tenuto.dll + tenuto.exe for one Windows target.
pub fn build_step(target: &'static str, release: bool) -> Step<'static> {
    let mut cmd = cargo();
    cmd.args(["build", "--target", target]).args([
        "--package",
        "tenuto-dll",
        "--package",
        "tenuto-cli",
    ]);
    if release {
        cmd.arg("--release");
    }
    let name = match (target, release) {
        (WINDOWS_32_TARGET, true) => "build tenuto.dll + tenuto.exe (i686-pc-windows-gnu, release)",
        (WINDOWS_32_TARGET, false) => "build tenuto.dll + tenuto.exe (i686-pc-windows-gnu)",
        (_, true) => "build tenuto.dll + tenuto.exe (x86_64-pc-windows-gnu, release)",
        (_, false) => "build tenuto.dll + tenuto.exe (x86_64-pc-windows-gnu)",
    };
    Step::new(name, cmd).hint(|_| "the compiler errors above".to_owned())
}

fn out_dir(target: &str, profile: &str) -> PathBuf {
    target_dir().join(target).join(profile)
}

/// What `cargo xtask dist` wrote.
pub struct Artifacts {
    pub setup: PathBuf,
    pub zip: PathBuf,
    /// The staged files the installer was made from.
    pub stage: PathBuf,
}

/// Which build an installer is made from.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Profile {
    /// `cargo xtask dist`: release builds, into target/dist.
    Release,
    /// The test in `cargo xtask test`: the debug builds the other steps made, stripped of
    /// their symbols while staged (the same files otherwise; no two release builds), into
    /// target/dist-test.
    Debug,
}

impl Profile {
    fn cargo_dir(self) -> &'static str {
        match self {
            Profile::Release => "release",
            Profile::Debug => "debug",
        }
    }

    fn dist_dir(self) -> PathBuf {
        match self {
            Profile::Release => target_dir().join("dist"),
            Profile::Debug => target_dir().join("dist-test"),
        }
    }
}

/// Text for Windows: CRLF line ends (Notepad before Windows 10 1809 shows LF files as one line).
fn crlf(text: &str) -> String {
    text.replace("\r\n", "\n").replace('\n', "\r\n")
}

/// README's "Troubleshooting crackles" section (with its subsections), as shipped.
fn troubleshooting_text() -> Result<String, String> {
    let readme =
        std::fs::read_to_string(root().join("README.md")).map_err(|e| format!("README.md: {e}"))?;
    let start = readme
        .find("\n## Troubleshooting")
        .ok_or("README.md has no \"## Troubleshooting\" section")?
        + 1;
    let rest = &readme[start..];
    let end = rest[3..].find("\n## ").map_or(rest.len(), |i| i + 4);
    Ok(format!(
        "Tenuto {}: troubleshooting (from the project's README)\n\n{}",
        version(),
        rest[..end].trim_end()
    ))
}

const PORTABLE_README: &str = "\
Tenuto ASIO driver {VERSION} (portable)

tenuto.dll and tenuto.exe are the 64-bit driver and tool; x86\\ holds the 32-bit ones, for
32-bit hosts. To register a driver, from an elevated command prompt in this folder:

    tenuto.exe register            (the 64-bit driver, for 64-bit DAWs)
    x86\\tenuto.exe register        (the 32-bit driver, for 32-bit hosts)

(or regsvr32 tenuto.dll, and the 32-bit C:\\Windows\\SysWOW64\\regsvr32.exe x86\\tenuto.dll).
Keep the folder's path short: some hosts read the DLL path with a 128-character API.
`tenuto.exe list` shows what is registered, `tenuto.exe check --driver Tenuto` tests it,
`tenuto.exe panel` opens the settings. `tenuto.exe unregister` (and x86\\tenuto.exe
unregister) remove exactly what registering added. Troubleshooting.txt helps with crackles.
";

/// Builds both architectures, stages them and writes the installer and the zip.
pub fn dist(steps: &mut Steps, profile: Profile) -> Result<Artifacts, String> {
    let release = profile == Profile::Release;
    steps.record("install what is missing (rustup targets, apt-get)", || {
        bootstrap::ensure_windows_target()?;
        ensure_packages()
    })?;
    steps.run(build_step(WINDOWS_TARGET, release))?;
    steps.run(build_step(WINDOWS_32_TARGET, release))?;
    let dist_dir = profile.dist_dir();
    let stage = dist_dir.join("stage");
    let v = version();
    steps.record(&format!("stage the files ({})", stage.display()), || {
        let _ = std::fs::remove_dir_all(&stage);
        let copy = |from: PathBuf, to: PathBuf| -> Result<(), String> {
            if let Some(dir) = to.parent() {
                std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
            }
            std::fs::copy(&from, &to)
                .map(drop)
                .map_err(|e| format!("copy {} → {}: {e}", from.display(), to.display()))
        };
        for (target, sub, strip) in [
            (WINDOWS_TARGET, "x64", "x86_64-w64-mingw32-strip"),
            (WINDOWS_32_TARGET, "x86", "i686-w64-mingw32-strip"),
        ] {
            for file in ["tenuto.dll", "tenuto.exe"] {
                let to = stage.join(sub).join(file);
                copy(out_dir(target, profile.cargo_dir()).join(file), to.clone())?;
                if !release {
                    let status = Command::new(strip)
                        .arg("--strip-all")
                        .arg(&to)
                        .status()
                        .map_err(|e| format!("could not run {strip}: {e}"))?;
                    if !status.success() {
                        return Err(format!("{strip} {} failed ({status})", to.display()));
                    }
                }
            }
        }
        let write = |name: &str, text: &str| -> Result<(), String> {
            let path = stage.join(name);
            std::fs::write(&path, crlf(text)).map_err(|e| format!("{}: {e}", path.display()))
        };
        let read = |name: &str| -> Result<String, String> {
            std::fs::read_to_string(root().join(name)).map_err(|e| format!("{name}: {e}"))
        };
        write("LICENSE-MIT.txt", &read("LICENSE-MIT")?)?;
        write("LICENSE-APACHE.txt", &read("LICENSE-APACHE")?)?;
        write(
            "LICENSE.txt",
            &format!(
                "Tenuto {v} is licensed under either of the MIT licence (LICENSE-MIT.txt) or \
                 the Apache License, Version 2.0 (LICENSE-APACHE.txt), at your option.\n\n\
                 \"ASIO\" is a trademark of Steinberg Media Technologies GmbH.\n\n{}",
                read("LICENSE-MIT")?
            ),
        )?;
        write("Troubleshooting.txt", &troubleshooting_text()?)?;
        write("README.txt", &PORTABLE_README.replace("{VERSION}", v))
    })?;

    let setup = dist_dir.join(format!("tenuto-setup-{v}.exe"));
    steps.run(makensis_step(&stage, &setup, v, profile))?;

    let zip = dist_dir.join(format!("tenuto-{v}-portable.zip"));
    let folder = format!("tenuto-{v}");
    let zip_root = dist_dir.join("zip");
    steps.record(&format!("portable zip ({})", zip.display()), || {
        let _ = std::fs::remove_dir_all(&zip_root);
        let _ = std::fs::remove_file(&zip);
        let inside = zip_root.join(&folder);
        std::fs::create_dir_all(inside.join("x86")).map_err(|e| e.to_string())?;
        for file in [
            "tenuto.dll",
            "tenuto.exe",
            "x86/tenuto.dll",
            "x86/tenuto.exe",
            "README.txt",
            "Troubleshooting.txt",
            "LICENSE.txt",
            "LICENSE-MIT.txt",
            "LICENSE-APACHE.txt",
        ] {
            let from = match file {
                "tenuto.dll" | "tenuto.exe" => stage.join("x64").join(file),
                _ => stage.join(file),
            };
            std::fs::copy(&from, inside.join(file))
                .map_err(|e| format!("{}: {e}", from.display()))?;
        }
        // -X: no Unix extra fields; -D: no directory entries besides the paths' own.
        let status = Command::new("zip")
            .current_dir(&zip_root)
            .args(["-q", "-X", "-r", "-9"])
            .arg(&zip)
            .arg(&folder)
            .stdin(Stdio::null())
            .status()
            .map_err(|e| format!("could not run zip: {e}"))?;
        if status.success() {
            Ok(())
        } else {
            Err(format!("zip failed ({status})"))
        }
    })?;
    Ok(Artifacts { setup, zip, stage })
}

/// makensis with the staged files; `label` is the version the installer shows and records.
fn makensis_step(stage: &Path, setup: &Path, label: &str, profile: Profile) -> Step<'static> {
    let mut cmd = Command::new("makensis");
    cmd.current_dir(root()).args(["-V2", "-WX", "-NOCD"]);
    if profile == Profile::Debug {
        cmd.arg("-DTEST_BUILD");
    }
    cmd.arg(format!("-DVERSION={label}"))
        .arg(format!("-DVERSION4={}", version4(label)))
        .arg(format!("-DSTAGE={}", stage.display()))
        .arg(format!("-DOUTFILE={}", setup.display()))
        .arg(root().join("tools/dist/tenuto.nsi"))
        .stdin(Stdio::null());
    let name: &'static str =
        Box::leak(format!("makensis tools/dist/tenuto.nsi → {}", setup.display()).into_boxed_str());
    Step::new(name, cmd).hint(|_| "makensis's message above (tools/dist/tenuto.nsi)".to_owned())
}

/// `cargo xtask dist [--test]`: the installer and the zip; with `--test`, also the
/// installer's round trip under Wine in its own prefix (as `cargo xtask test` runs it).
pub fn dist_command(rest: &[String]) -> Result<(), String> {
    let test = match rest {
        [] => false,
        [flag] if flag == "--test" => true,
        _ => return Err(format!("unknown arguments {rest:?} (only --test)")),
    };
    let mut steps = Steps::new();
    if test {
        let result = bootstrap::ensure_packages().and_then(|()| installer_steps(&mut steps));
        steps.summary("cargo xtask dist --test", &result);
        return result;
    }
    let result = dist(&mut steps, Profile::Release).map(|a| {
        for path in [&a.setup, &a.zip] {
            let size = std::fs::metadata(path).map_or(0, |m| m.len());
            eprintln!(
                "==> {} ({:.1} MiB)",
                path.display(),
                size as f64 / (1024.0 * 1024.0)
            );
        }
    });
    steps.summary("cargo xtask dist", &result);
    result
}

// ---------------------------------------------------------------------------------------------
// Shared by the test steps

/// A settings file selecting the virtual device (no audio device involved).
fn virtual_settings() -> Result<PathBuf, String> {
    let dir = target_dir().join("win32-virtual");
    std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let path = dir.join("tenuto.toml");
    std::fs::write(
        &path,
        "# Written by cargo xtask: the virtual device, for conformance runs.\n\
         [driver]\nbackend = \"virtual\"\n",
    )
    .map_err(|e| format!("{}: {e}", path.display()))?;
    Ok(path)
}

/// Runs `cmd` (its stdout captured) within `limit`: (exit code, stdout).
fn run_captured(mut cmd: Command, limit: Duration) -> Result<(Option<i32>, String), String> {
    cmd.stdin(Stdio::null()).stdout(Stdio::piped());
    let mut child = cmd.spawn().map_err(|e| format!("could not start: {e}"))?;
    let mut stdout = child.stdout.take();
    let reader = std::thread::spawn(move || {
        let mut text = String::new();
        if let Some(out) = stdout.as_mut() {
            use std::io::Read;
            let _ = out.read_to_string(&mut text);
        }
        text
    });
    match wait_with_limit(&mut child, limit).map_err(|e| e.to_string())? {
        Some(status) => Ok((status.code(), reader.join().unwrap_or_default())),
        None => {
            let _ = child.kill();
            let _ = child.wait();
            Err(format!("did not finish within {} s", limit.as_secs()))
        }
    }
}

/// The `Tenuto` entry of `tenuto list --json` output: (DLL path, DLL file version).
fn listed_tenuto(json: &str) -> Result<(String, Option<String>), String> {
    let list: serde_json::Value =
        serde_json::from_str(json).map_err(|e| format!("tenuto list --json: {e}: {json}"))?;
    let entry = list
        .as_array()
        .and_then(|l| l.iter().find(|d| d["name"] == DRIVER_NAME))
        .ok_or_else(|| format!("tenuto list does not list {DRIVER_NAME}: {json}"))?;
    if entry["dll_exists"] != true {
        return Err(format!("{DRIVER_NAME}'s DLL does not exist: {entry}"));
    }
    if !entry["problem"].is_null() {
        return Err(format!("tenuto list reports a problem: {entry}"));
    }
    let path = entry["dll_path"].as_str().unwrap_or_default().to_owned();
    let version = entry["dll_version"].as_str().map(str::to_owned);
    Ok((path, version))
}

fn same_windows_path(a: &str, b: &str) -> bool {
    a.eq_ignore_ascii_case(b)
}

/// Buffer sizes × rates the 32-bit conformance runs cover.
const CHECK_BUFFERS: [u32; 4] = [32, 64, 256, 1024];
const CHECK_RATES: [u32; 3] = [44_100, 48_000, 96_000];

/// `tenuto check --driver Tenuto` through `exe` at every buffer size × rate on the virtual
/// device; each run's summary line is printed, the first failure ends it.
fn check_matrix(
    wine: &dyn Fn(&[&OsStr]) -> Command,
    exe: &str,
    settings: &Path,
) -> Result<(), String> {
    for buffer in CHECK_BUFFERS {
        for rate in CHECK_RATES {
            let (b, r) = (buffer.to_string(), rate.to_string());
            let mut cmd = wine(&[
                OsStr::new(exe),
                OsStr::new("check"),
                OsStr::new("--driver"),
                OsStr::new(DRIVER_NAME),
                OsStr::new("--buffer"),
                OsStr::new(&b),
                OsStr::new("--rate"),
                OsStr::new(&r),
                OsStr::new("--switches"),
                OsStr::new("100"),
            ]);
            cmd.env("TENUTO_CONFIG", windows_path(settings));
            let (code, out) = run_captured(cmd, Duration::from_secs(120))
                .map_err(|e| format!("check at {buffer} frames, {rate} Hz: {e}"))?;
            let summary = out
                .lines()
                .rev()
                .find(|l| l.starts_with("tenuto check:"))
                .unwrap_or("(no summary line)");
            println!("    {buffer:>4} frames {rate:>5} Hz: {summary}");
            if code != Some(0) {
                let fails: Vec<&str> = out.lines().filter(|l| l.contains("FAIL")).collect();
                return Err(format!(
                    "tenuto check at {buffer} frames, {rate} Hz exited {code:?}:\n{}",
                    fails.join("\n")
                ));
            }
            // The version the driver reports is the one its file carries.
            let want = driver_version().to_string();
            if !out
                .lines()
                .any(|l| l.contains("getDriverVersion") && l.contains(&want))
            {
                return Err(format!(
                    "tenuto check at {buffer} frames, {rate} Hz: getDriverVersion is not {want}"
                ));
            }
        }
    }
    Ok(())
}

/// Records a step that was not run and why, so the summary shows it.
fn not_run(steps: &mut Steps, what: &str, why: &str) {
    let _ = steps.record(&format!("{what}: NOT RUN ({why})"), || Ok(()));
}

// ---------------------------------------------------------------------------------------------
// The 32-bit driver in the project's prefix

/// The 32-bit steps in the project's prefix (the 64-bit driver is registered and its steps
/// have run). PulseAudio and the run's wineserver are up.
pub fn win32_steps(steps: &mut Steps) -> Result<(), String> {
    const WHAT: &str = "32-bit driver under Wine (WoW64)";
    if let Err(why) = wine32() {
        eprintln!("==> {WHAT}: NOT RUN: {why}");
        not_run(steps, WHAT, &why);
        return Ok(());
    }
    steps.run(build_step(WINDOWS_32_TARGET, false))?;
    // One persistent wineserver for the many short runs below (the one before may have
    // been stopped): a server exiting just as the next program connects fails that program.
    steps.run(Step::new(
        "keep one wineserver for the 32-bit steps (wineserver -p)",
        in_wine_env(
            "sh",
            &[
                "-c",
                "wineserver -k 2>/dev/null; wineserver -w; wineserver -p",
            ],
        ),
    ))?;
    // The DLL crate's Windows tests that hold for the 32-bit build too, under Wine's WoW64:
    // hostile hosts through the thiscall vtable, registration, settings, the trace, the
    // version resource. Left out: com's load/unload-100-times test, which finds one handle
    // left per LoadLibrary/FreeLibrary of any i686-pc-windows-gnu Rust DLL (an empty one
    // too: the toolchain's runtime, not the driver; the 64-bit build leaves none).
    let mut tests32 = cargo();
    tests32
        .args(["test", "--target", WINDOWS_32_TARGET, "-p", "tenuto-dll"])
        .args([
            "--test",
            "com",
            "--test",
            "hostile",
            "--test",
            "registration",
        ])
        .args([
            "--test",
            "settings",
            "--test",
            "trace",
            "--test",
            "version_resource",
        ])
        .args(["--", "--skip", "loading_and_unloading_the_dll_100_times"])
        .env(
            "CARGO_TARGET_I686_PC_WINDOWS_GNU_RUNNER",
            root().join("tools/wine/runner.sh"),
        )
        .stdin(Stdio::null());
    steps.run(
        Step::new(
            "cargo test --target i686-pc-windows-gnu -p tenuto-dll (under Wine, WoW64)",
            tests32,
        )
        .count_tests()
        .limit(Duration::from_secs(15 * 60))
        .hint(|_| "the failing tests above".to_owned()),
    )?;
    let out32 = out_dir(WINDOWS_32_TARGET, "debug");
    let out64 = out_dir(WINDOWS_TARGET, "debug");
    let (dll32, exe32) = (out32.join("tenuto.dll"), out32.join("tenuto.exe"));
    let (dll64, exe64) = (out64.join("tenuto.dll"), out64.join("tenuto.exe"));

    // The 32-bit regsvr32 (syswow64): its writes land in the 32-bit registry view.
    let dll32_win = windows_path(&dll32);
    let mut reg = wine_cmd(&["C:\\windows\\syswow64\\regsvr32.exe", "/s", &dll32_win]);
    reg.stdin(Stdio::null());
    let dll_for_hint = dll32.clone();
    steps.run(
        Step::new("wine syswow64\\regsvr32 /s tenuto.dll (32-bit)", reg)
            .limit(Duration::from_secs(120))
            .hint(move |code| regsvr32_meaning(code, &dll_for_hint)),
    )?;
    steps.record(
        "both drivers registered at once: each architecture's tenuto list sees its own",
        || {
            for (exe, dll, bits) in [(&exe64, &dll64, 64), (&exe32, &dll32, 32)] {
                let cmd = wine_cmd(&[exe.as_os_str(), OsStr::new("list"), OsStr::new("--json")]);
                let (code, json) = run_captured(cmd, Duration::from_secs(60))?;
                if code != Some(0) {
                    return Err(format!("{bits}-bit tenuto list exited {code:?}"));
                }
                let (path, file_version) = listed_tenuto(&json)?;
                let want = windows_path(dll);
                if !same_windows_path(&path, &want) {
                    return Err(format!(
                        "the {bits}-bit tenuto list sees {path}, not its own {want}"
                    ));
                }
                println!(
                    "    {bits}-bit process: {DRIVER_NAME} → {path} (file version {})",
                    file_version.as_deref().unwrap_or("?")
                );
            }
            Ok(())
        },
    )?;
    let settings = virtual_settings()?;
    let exe32_s = exe32.to_string_lossy().into_owned();
    steps.record(
        "32-bit tenuto.exe check --driver Tenuto: 32/64/256/1024 frames × 44.1/48/96 kHz (virtual)",
        || check_matrix(&|args| wine_cmd(args), &exe32_s, &settings),
    )?;

    // WASAPI through the null sink from a 32-bit process.
    let wasapi = loopback_settings("wine32-wasapi")?;
    let mut play = wine_cmd(&[exe32.as_os_str()]);
    play.args(["play", "--driver", DRIVER_NAME, "--seconds", "3"])
        .env("TENUTO_CONFIG", windows_path(&wasapi))
        .stdin(Stdio::null());
    steps.run(
        Step::new(
            "32-bit tenuto.exe play --driver Tenuto --seconds 3 (WASAPI, null sink)",
            play,
        )
        .limit(Duration::from_secs(60))
        .hint(|_| "see tenuto.exe's message above".to_owned()),
    )?;

    // The C++ host built for i686: the thiscall vtable as a C++ compiler lays it out.
    let source = root().join("tests/cpp-host/asio_host.cpp");
    let host_dir = target_dir().join(WINDOWS_32_TARGET).join("cpp-host");
    let host = host_dir.join("asio_host.exe");
    std::fs::create_dir_all(&host_dir).map_err(|e| format!("{}: {e}", host_dir.display()))?;
    let gxx = cpp_host_build("i686-w64-mingw32-g++", &source, &host);
    steps.run(
        Step::new("build the C++ host (i686-w64-mingw32-g++, 32-bit)", gxx)
            .hint(|_| "the compiler errors above (tests/cpp-host/asio_host.cpp)".to_owned()),
    )?;
    let mut run_host = wine_cmd(&[host.as_os_str(), OsStr::new(DRIVER_NAME)]);
    run_host
        .args(["3", "64"])
        .env("TENUTO_CONFIG", windows_path(&wasapi))
        .stdin(Stdio::null());
    steps.run(
        Step::new(
            "wine asio_host.exe Tenuto 3 64 (32-bit host, WASAPI)",
            run_host,
        )
        .count_tests()
        .limit(Duration::from_secs(120))
        .hint(|_| "the C++ host's failed checks above".to_owned()),
    )
}

// ---------------------------------------------------------------------------------------------
// The installer in a prefix of its own

/// The label of the "previous build" the upgrade starts from: an installer that records an
/// older version, made from the same binaries with bytes appended ([`PREVIOUS_MARK`]: data
/// past a PE image's end is not loaded, so they still work), so that an upgrade can be seen
/// to replace every file.
const PREVIOUS_LABEL: &str = "0.0.1";
const PREVIOUS_MARK: &[u8] = b"\0tenuto: the previous build of the installer test\0";

/// The four binaries, as the installer lays them out (stage: x64\ for the root's).
const BINARIES: [(&str, &str); 4] = [
    ("x64/tenuto.dll", "tenuto.dll"),
    ("x64/tenuto.exe", "tenuto.exe"),
    ("x86/tenuto.dll", "x86/tenuto.dll"),
    ("x86/tenuto.exe", "x86/tenuto.exe"),
];

/// The test's own Wine prefix, under target/ (never the project's).
struct Prefix {
    path: PathBuf,
}

impl Prefix {
    fn cmd<S: AsRef<OsStr>>(&self, program: &str, args: &[S]) -> Command {
        let mut cmd = in_wine_env(program, args);
        cmd.env("TENUTO_WINEPREFIX", &self.path)
            .env("WINEPREFIX", &self.path)
            .stdin(Stdio::null());
        cmd
    }

    fn wine<S: AsRef<OsStr>>(&self, args: &[S]) -> Command {
        self.cmd("wine", args)
    }

    /// Stops every process in this prefix (only this one).
    fn kill(&self) {
        if self.path.join("system.reg").exists() {
            let _ = self.cmd("wineserver", &["-k"]).status();
        }
    }

    /// One persistent wineserver for the many short runs that follow, as in the project's
    /// prefix: a server exiting just as the next program connects fails that program.
    fn persist(&self) {
        let _ = self
            .cmd(
                "sh",
                &[
                    "-c",
                    "wineserver -k 2>/dev/null; wineserver -w; wineserver -p",
                ],
            )
            .status();
    }

    /// Runs the uninstaller silently and waits for it: it runs from a copy in %TEMP% and
    /// its first process returns at once, so without a persistent server (stopped first)
    /// `wineserver -w` returns when every process has exited; persistence is back after.
    fn uninstall(&self, uninstaller: &Path, extra: &[&str]) -> Result<(Option<i32>, f64), String> {
        let t0 = Instant::now();
        self.kill();
        let (code, _) = self.run_silent(uninstaller, extra)?;
        let _ = self.cmd("wineserver", &["-w"]).status();
        self.persist();
        Ok((code, t0.elapsed().as_secs_f64()))
    }

    /// `C:\...` inside the prefix → the Linux path.
    fn linux_path(&self, windows: &str) -> PathBuf {
        let rest = windows
            .strip_prefix("C:\\")
            .or_else(|| windows.strip_prefix("c:\\"))
            .unwrap_or(windows);
        self.path.join("drive_c").join(rest.replace('\\', "/"))
    }

    /// A Windows environment variable as the prefix's programs see it.
    fn env_var(&self, name: &str) -> Result<String, String> {
        let (_, out) = run_captured(
            self.wine(&["cmd", "/c", &format!("echo %{name}%")]),
            Duration::from_secs(60),
        )?;
        let value = out.trim().to_owned();
        if value.is_empty() || value.contains('%') {
            Err(format!("%{name}% is not set in {}", self.path.display()))
        } else {
            Ok(value)
        }
    }

    /// Runs a setup or uninstaller executable silently (`/S`, then `extra`):
    /// (exit code, seconds).
    fn run_silent(&self, exe: &Path, extra: &[&str]) -> Result<(Option<i32>, f64), String> {
        let t0 = Instant::now();
        let exe_win = windows_path(exe);
        let mut args = vec![exe_win.as_str(), "/S"];
        args.extend(extra);
        let (code, _) = run_captured(self.wine(&args), Duration::from_secs(180))?;
        Ok((code, t0.elapsed().as_secs_f64()))
    }

    /// The whole registry, exported by regedit, as text.
    fn registry(&self, name: &str) -> Result<String, String> {
        let file = self.path.with_file_name(format!("{name}.reg"));
        let _ = std::fs::remove_file(&file);
        let file_win = windows_path(&file);
        let (code, _) = run_captured(
            self.wine(&["regedit", "/E", file_win.as_str()]),
            Duration::from_secs(60),
        )?;
        let bytes = std::fs::read(&file)
            .map_err(|e| format!("regedit /E ({code:?}) wrote no {}: {e}", file.display()))?;
        // UTF-16LE with a BOM.
        let units: Vec<u16> = bytes
            .chunks_exact(2)
            .map(|c| u16::from_le_bytes([c[0], c[1]]))
            .collect();
        Ok(String::from_utf16_lossy(&units)
            .trim_start_matches('\u{feff}')
            .to_owned())
    }

    /// Every file and folder under Program Files, Program Files (x86) and ProgramData.
    fn files(&self) -> Vec<String> {
        fn walk(dir: &Path, base: &Path, out: &mut Vec<String>) {
            let Ok(entries) = std::fs::read_dir(dir) else {
                return;
            };
            for entry in entries.flatten() {
                let path = entry.path();
                out.push(
                    path.strip_prefix(base)
                        .unwrap_or(&path)
                        .display()
                        .to_string(),
                );
                if path.is_dir() && !path.is_symlink() {
                    walk(&path, base, out);
                }
            }
        }
        let base = self.path.join("drive_c");
        let mut out = Vec::new();
        for top in ["Program Files", "Program Files (x86)", "ProgramData"] {
            walk(&base.join(top), &base, &mut out);
        }
        out.sort();
        out
    }

    /// `DisplayVersion` of the uninstall entry, if there is one.
    fn installed_label(&self) -> Option<String> {
        let (code, out) = run_captured(
            self.wine(&[
                "reg",
                "query",
                "HKLM\\Software\\Microsoft\\Windows\\CurrentVersion\\Uninstall\\Tenuto",
                "/v",
                "DisplayVersion",
            ]),
            Duration::from_secs(60),
        )
        .ok()?;
        if code != Some(0) {
            return None;
        }
        out.lines()
            .find(|l| l.contains("DisplayVersion"))
            .and_then(|l| l.split("REG_SZ").nth(1))
            .map(|v| v.trim().to_owned())
    }
}

/// Keys Wine's display driver rewrites whenever a session starts (the display adapter's
/// and monitor's device class, with a `DriverDateData` time stamp): no program's doing.
const WINE_SESSION_KEYS: &[&str] = &[
    "[HKEY_LOCAL_MACHINE\\System\\CurrentControlSet\\Control\\Class\\{4D36E968-E325-11CE-BFC1-08002BE10318}",
    "[HKEY_LOCAL_MACHINE\\System\\CurrentControlSet\\Control\\Class\\{4D36E96E-E325-11CE-BFC1-08002BE10318}",
];

/// A registry export as sorted "[key] value-line" entries (a key without values is one
/// entry of its own), leaving out [`WINE_SESSION_KEYS`] and their subkeys.
fn registry_lines(text: &str) -> Vec<String> {
    let mut lines = Vec::new();
    let mut key = String::new();
    let mut value = String::new();
    let flush = |key: &str, value: &mut String, lines: &mut Vec<String>| {
        if !value.is_empty() {
            lines.push(format!("{key} {value}"));
            value.clear();
        }
    };
    for line in text.lines().map(str::trim_end) {
        if line.starts_with('[') {
            flush(&key, &mut value, &mut lines);
            key = line.to_owned();
            lines.push(key.clone());
        } else if line.starts_with("  ") && !value.is_empty() {
            // A continuation of a long hex value.
            value.push_str(line.trim_start());
        } else if !line.is_empty() && !line.starts_with("#time=") {
            flush(&key, &mut value, &mut lines);
            value.push_str(line);
        }
    }
    flush(&key, &mut value, &mut lines);
    let ignored = |entry: &String| {
        WINE_SESSION_KEYS
            .iter()
            .any(|k| entry.len() >= k.len() && entry[..k.len()].eq_ignore_ascii_case(k))
    };
    lines.retain(|entry| !ignored(entry));
    lines.sort();
    lines
}

/// Entries only in `a`, and only in `b` (both sorted; repeated entries count).
fn difference(a: &[String], b: &[String]) -> (Vec<String>, Vec<String>) {
    let (mut i, mut j) = (0, 0);
    let (mut only_a, mut only_b) = (Vec::new(), Vec::new());
    while i < a.len() || j < b.len() {
        match (a.get(i), b.get(j)) {
            (Some(x), Some(y)) if x == y => {
                i += 1;
                j += 1;
            }
            (Some(x), Some(y)) if x < y => {
                only_a.push(x.clone());
                i += 1;
            }
            (Some(x), None) => {
                only_a.push(x.clone());
                i += 1;
            }
            (_, Some(y)) => {
                only_b.push(y.clone());
                j += 1;
            }
            (None, None) => break,
        }
    }
    (only_a, only_b)
}

/// The installer's round trip in a fresh prefix: install an older label, upgrade, reinstall
/// over itself, in-use refusal, both drivers listed and checked, silent uninstall, and the
/// registry and Program Files as they were.
pub fn installer_steps(steps: &mut Steps) -> Result<(), String> {
    const WHAT: &str = "installer under Wine (install, upgrade, uninstall)";
    if let Err(why) = wine32() {
        eprintln!("==> {WHAT}: NOT RUN: {why}");
        not_run(steps, WHAT, &why);
        return Ok(());
    }
    let artifacts = dist(steps, Profile::Debug)?;
    let test_dir = target_dir().join("dist-test");
    let previous = test_dir.join(format!("tenuto-setup-{PREVIOUS_LABEL}.exe"));
    let previous_stage = test_dir.join("stage-previous");
    steps.record(
        "stage the previous build (the binaries with bytes appended)",
        || {
            let _ = std::fs::remove_dir_all(&previous_stage);
            copy_tree(&artifacts.stage, &previous_stage)?;
            for (staged, _) in BINARIES {
                let path = previous_stage.join(staged);
                let mut bytes =
                    std::fs::read(&path).map_err(|e| format!("{}: {e}", path.display()))?;
                bytes.extend_from_slice(PREVIOUS_MARK);
                std::fs::write(&path, bytes).map_err(|e| format!("{}: {e}", path.display()))?;
            }
            Ok(())
        },
    )?;
    steps.run(makensis_step(
        &previous_stage,
        &previous,
        PREVIOUS_LABEL,
        Profile::Debug,
    ))?;
    let prefix = Prefix {
        path: test_dir.join("prefix"),
    };
    let builds = Builds {
        setup: &artifacts.setup,
        stage: &artifacts.stage,
        previous: &previous,
        previous_stage: &previous_stage,
    };
    let result = installer_round_trip(steps, &prefix, &builds);
    prefix.kill();
    result
}

/// The two installers of the round trip and the files each was made from.
struct Builds<'a> {
    setup: &'a Path,
    stage: &'a Path,
    previous: &'a Path,
    previous_stage: &'a Path,
}

/// Copies the folder `from` to `to` (files and subfolders).
fn copy_tree(from: &Path, to: &Path) -> Result<(), String> {
    std::fs::create_dir_all(to).map_err(|e| format!("{}: {e}", to.display()))?;
    let entries = std::fs::read_dir(from).map_err(|e| format!("{}: {e}", from.display()))?;
    for entry in entries.flatten() {
        let (src, dst) = (entry.path(), to.join(entry.file_name()));
        if src.is_dir() {
            copy_tree(&src, &dst)?;
        } else {
            std::fs::copy(&src, &dst).map_err(|e| format!("{}: {e}", src.display()))?;
        }
    }
    Ok(())
}

fn installer_round_trip(steps: &mut Steps, prefix: &Prefix, builds: &Builds) -> Result<(), String> {
    let (setup, previous) = (builds.setup, builds.previous);
    let v = version();
    steps.record(
        "a fresh prefix of its own (target/dist-test/prefix)",
        || {
            prefix.kill();
            let _ = std::fs::remove_dir_all(&prefix.path);
            let status = prefix
                .cmd("true", &[] as &[&str])
                .status()
                .map_err(|e| format!("could not run tools/wine/env.sh: {e}"))?;
            if status.success() {
                prefix.persist();
                Ok(())
            } else {
                Err(format!(
                    "tools/wine/env.sh could not create {}",
                    prefix.path.display()
                ))
            }
        },
    )?;
    let mut before = (Vec::new(), Vec::new());
    steps.record("snapshot: registry (regedit /E) and Program Files", || {
        before = (registry_lines(&prefix.registry("before")?), prefix.files());
        Ok(())
    })?;

    let program_files = prefix.env_var("ProgramW6432")?;
    let dir = format!("{program_files}\\Tenuto");
    let install_dir = prefix.linux_path(&dir);
    // After an install: every binary is the one of `stage`, byte for byte.
    let installed_from = |stage: &Path| -> Result<(), String> {
        for (staged, installed) in BINARIES {
            let want = std::fs::read(stage.join(staged)).map_err(|e| e.to_string())?;
            let path = install_dir.join(installed);
            let got = std::fs::read(&path).map_err(|e| format!("{}: {e}", path.display()))?;
            if got != want {
                return Err(format!("{} is not the file of this build", path.display()));
            }
        }
        Ok(())
    };
    let install = |exe: &Path, label: &str| -> Result<(), String> {
        let (code, secs) = prefix.run_silent(exe, &[])?;
        println!("    {} /S: exit {code:?} in {secs:.1} s", exe.display());
        if code != Some(0) {
            let why = std::fs::read_to_string(
                prefix
                    .linux_path(&prefix.env_var("TEMP")?)
                    .join("tenuto-setup-error.txt"),
            )
            .unwrap_or_default();
            return Err(format!("setup exited {code:?}: {}", why.trim()));
        }
        match prefix.installed_label() {
            Some(l) if l == label => Ok(()),
            other => Err(format!(
                "Apps & features entry says {other:?}, expected {label}"
            )),
        }
    };
    steps.record(
        &format!("install the previous build, labelled {PREVIOUS_LABEL} (/S)"),
        || {
            install(previous, PREVIOUS_LABEL)?;
            installed_from(builds.previous_stage)
        },
    )?;
    steps.record(
        &format!("upgrade in place to {v} (/S): every binary replaced"),
        || {
            install(setup, v)?;
            installed_from(builds.stage)
        },
    )?;
    steps.record(&format!("install {v} over itself (/S)"), || {
        install(setup, v)?;
        installed_from(builds.stage)
    })?;

    let exe64 = format!("{dir}\\tenuto.exe");
    let exe32 = format!("{dir}\\x86\\tenuto.exe");
    steps.record(
        "tenuto list from a 64-bit and a 32-bit process: each sees its own driver",
        || {
            for (exe, dll, bits) in [
                (&exe64, format!("{dir}\\tenuto.dll"), 64),
                (&exe32, format!("{dir}\\x86\\tenuto.dll"), 32),
            ] {
                let (code, json) = run_captured(
                    prefix.wine(&[exe.as_str(), "list", "--json"]),
                    Duration::from_secs(60),
                )?;
                if code != Some(0) {
                    return Err(format!("{bits}-bit tenuto list exited {code:?}"));
                }
                let (path, file_version) = listed_tenuto(&json)?;
                if !same_windows_path(&path, &dll) {
                    return Err(format!("the {bits}-bit tenuto list sees {path}, not {dll}"));
                }
                if file_version.as_deref() != Some(version4(v).as_str()) {
                    return Err(format!(
                        "{dll} has file version {file_version:?}, expected {}",
                        version4(v)
                    ));
                }
                println!(
                    "    {bits}-bit: {DRIVER_NAME} → {path} (file version {})",
                    version4(v)
                );
            }
            Ok(())
        },
    )?;
    let settings = virtual_settings()?;
    steps.record(
        "installed drivers pass tenuto check through a host of each architecture (virtual)",
        || {
            for (exe, bits) in [(&exe64, 64), (&exe32, 32)] {
                let (code, out) = run_captured(
                    {
                        let mut c = prefix.wine(&[
                            exe.as_str(),
                            "check",
                            "--driver",
                            DRIVER_NAME,
                            "--buffer",
                            "256",
                            "--rate",
                            "48000",
                            "--switches",
                            "100",
                        ]);
                        c.env("TENUTO_CONFIG", windows_path(&settings));
                        c
                    },
                    Duration::from_secs(120),
                )?;
                let summary = out
                    .lines()
                    .rev()
                    .find(|l| l.starts_with("tenuto check:"))
                    .unwrap_or("(no summary line)");
                println!("    {bits}-bit host: {summary}");
                if code != Some(0) {
                    let fails: Vec<&str> = out.lines().filter(|l| l.contains("FAIL")).collect();
                    return Err(format!(
                        "{bits}-bit check exited {code:?}:\n{}",
                        fails.join("\n")
                    ));
                }
            }
            Ok(())
        },
    )?;

    // A host with the installed 64-bit driver loaded (a tenuto.exe from outside the install
    // folder, so that only the DLL is busy): setup must refuse, name the DLL, change nothing.
    steps.record(
        "setup refuses while a host has the driver loaded (exit 3, names the DLL)",
        || {
            let host = out_dir(WINDOWS_TARGET, "debug").join("tenuto.exe");
            let host_win = windows_path(&host);
            let mut stream = prefix.wine(&[
                host_win.as_str(),
                "stream",
                "--driver",
                DRIVER_NAME,
                "--seconds",
                "60",
            ]);
            stream
                .env("TENUTO_CONFIG", windows_path(&settings))
                .stdout(Stdio::null())
                .stderr(Stdio::null());
            let mut child = stream
                .spawn()
                .map_err(|e| format!("could not start the host: {e}"))?;
            let dll = prefix.linux_path(&format!("{dir}\\tenuto.dll"));
            let stamp = || std::fs::metadata(&dll).and_then(|m| m.modified()).ok();
            let before_stamp = stamp();
            // Until the host has loaded the DLL (its log line would be racy; give it time).
            std::thread::sleep(Duration::from_secs(4));
            let outcome = (|| {
                let (code, secs) = prefix.run_silent(setup, &[])?;
                let why = std::fs::read_to_string(
                    prefix
                        .linux_path(&prefix.env_var("TEMP")?)
                        .join("tenuto-setup-error.txt"),
                )
                .unwrap_or_default();
                println!(
                    "    setup /S with the driver in use: exit {code:?} in {secs:.1} s: {}",
                    why.trim()
                );
                if code != Some(3) {
                    return Err(format!(
                        "setup exited {code:?}, expected 3 (a file in use): {}",
                        why.trim()
                    ));
                }
                if !why.contains("tenuto.dll") || !why.contains("Close your DAW") {
                    return Err(format!(
                        "the message does not name the DLL and what to do: {why}"
                    ));
                }
                if stamp() != before_stamp {
                    return Err(format!("{} changed although setup refused", dll.display()));
                }
                let leftovers: Vec<String> = prefix
                    .files()
                    .into_iter()
                    .filter(|f| f.ends_with(".new"))
                    .collect();
                if !leftovers.is_empty() {
                    return Err(format!("setup left {leftovers:?}"));
                }
                Ok(())
            })();
            let _ = child.kill();
            let _ = child.wait();
            // The host may linger in Wine: stop everything, then persist again.
            prefix.persist();
            outcome
        },
    )?;

    // The user's settings must survive the uninstall.
    let app_data = prefix
        .linux_path(&prefix.env_var("APPDATA")?)
        .join("Tenuto");
    let user_settings = app_data.join("tenuto.toml");
    std::fs::create_dir_all(&app_data).map_err(|e| format!("{}: {e}", app_data.display()))?;
    std::fs::write(
        &user_settings,
        "# the user's own settings\n[driver]\nbackend = \"virtual\"\n",
    )
    .map_err(|e| format!("{}: {e}", user_settings.display()))?;

    steps.record("silent uninstall (uninstall.exe /S)", || {
        let uninstaller = prefix.linux_path(&format!("{dir}\\uninstall.exe"));
        let (code, secs) = prefix.uninstall(&uninstaller, &[])?;
        println!("    uninstall.exe /S: exit {code:?}, done in {secs:.1} s");
        if !user_settings.is_file() {
            return Err(format!(
                "the uninstaller removed the user's {}",
                user_settings.display()
            ));
        }
        Ok(())
    })?;
    steps.record(
        "after uninstall: registry and Program Files as before the first install",
        || {
            let after = (registry_lines(&prefix.registry("after")?), prefix.files());
            let (gone, added) = difference(&before.0, &after.0);
            let (files_gone, files_added) = difference(&before.1, &after.1);
            println!(
                "    registry diff: {} lines removed, {} added; files: {} removed, {} added",
                gone.len(),
                added.len(),
                files_gone.len(),
                files_added.len()
            );
            let mut problems = Vec::new();
            for (what, lines) in [
                ("registry lines gone", &gone),
                ("registry lines left", &added),
                ("files gone", &files_gone),
                ("files left", &files_added),
            ] {
                if !lines.is_empty() {
                    problems.push(format!("{what}:\n      {}", lines.join("\n      ")));
                }
            }
            if problems.is_empty() {
                Ok(())
            } else {
                Err(problems.join("\n"))
            }
        },
    )?;
    steps.record(
        "install again, uninstall /S /PURGE: the user's settings go too",
        || {
            install(setup, v)?;
            let uninstaller = prefix.linux_path(&format!("{dir}\\uninstall.exe"));
            prefix.uninstall(&uninstaller, &["/PURGE"])?;
            for gone in [&user_settings, &app_data, &prefix.linux_path(&dir)] {
                if gone.exists() {
                    return Err(format!("{} is still there", gone.display()));
                }
            }
            Ok(())
        },
    )
}
