//! Installing what the commands need and is missing: rustup components and
//! targets, Debian packages through apt-get.

use std::process::{Command, Stdio};

use crate::project::{have, output, run, WINDOWS_32_TARGET, WINDOWS_TARGET};

/// Installs the rustup components (rustfmt, clippy) if missing.
pub fn ensure_components() -> Result<(), String> {
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
pub fn ensure_windows_target() -> Result<(), String> {
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
pub const APT_PACKAGES: &[(&str, &[&str])] = &[
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
    // The monitor's terminal UI test drives `tenuto monitor` in a real terminal.
    ("tmux", &["tmux"]),
    // Locks the Wine prefix's first-use setup (tools/wine/env.sh); essential on Debian.
    ("flock", &["util-linux"]),
];

/// Installs the build's and the Wine harness's missing Debian packages.
pub fn ensure_packages() -> Result<(), String> {
    install_missing(APT_PACKAGES)
}

/// `apt-get ARGS`, as root or through sudo, non-interactive.
pub fn apt(args: &[&str]) -> Command {
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
pub fn install_missing(packages: &[(&str, &[&str])]) -> Result<(), String> {
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
