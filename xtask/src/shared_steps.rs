//! The steps `test`, `demo` and `dist` share: building for Windows, the Wine
//! prefix, registering tenuto.dll and checking the registry, `tenuto.exe`
//! under Wine, and building the C++ host.

use std::ffi::OsStr;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use crate::project::{cargo, DRIVER_NAME, WINDOWS_TARGET};
use crate::steps::Step;
use crate::wine::{in_wine_env, windows_path, wine_cmd, wine_prefix};

/// `cargo build` of tenuto.dll and tenuto.exe for Windows.
pub fn build_windows_step(profile: &str) -> Step<'static> {
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
pub fn prefix_step() -> Step<'static> {
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
pub fn regsvr32_meaning(code: Option<i32>, dll: &Path) -> String {
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
pub fn register_step(dll: &Path) -> Step<'static> {
    let dll = dll.to_path_buf();
    let win = windows_path(&dll);
    let mut cmd = wine_cmd(&["regsvr32", "/s", win.as_str()]);
    cmd.stdin(Stdio::null());
    Step::new("wine regsvr32 /s tenuto.dll", cmd)
        .limit(Duration::from_secs(120))
        .hint(move |code| regsvr32_meaning(code, &dll))
}

/// Checks that registration left `HKLM\SOFTWARE\ASIO\Tenuto` in the prefix.
pub fn registry_step() -> Step<'static> {
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
pub fn cpp_host_build(compiler: &str, source: &Path, host: &Path) -> Command {
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

pub fn tenuto_exe_step(
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
