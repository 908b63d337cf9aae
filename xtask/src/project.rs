//! The repository's paths and targets, and the plain command helpers every
//! other module builds on (this module uses none of them).

use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus};
use std::time::{Duration, Instant};

pub const WINDOWS_TARGET: &str = "x86_64-pc-windows-gnu";
/// 32-bit Windows: the IASIO methods use thiscall there. Built, tested under
/// Wine's WoW64 and shipped next to the 64-bit driver (see `dist.rs`).
pub const WINDOWS_32_TARGET: &str = "i686-pc-windows-gnu";

/// The name Tenuto's DLL registers under `HKLM\SOFTWARE\ASIO`.
pub const DRIVER_NAME: &str = "Tenuto";

/// The repository root (xtask lives in `<root>/xtask`).
pub fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("xtask lives inside the repository")
        .to_path_buf()
}

/// Cargo's target directory: `$CARGO_TARGET_DIR` if set, else `<root>/target`.
pub fn target_dir() -> PathBuf {
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
pub fn windows_out(profile: &str) -> PathBuf {
    target_dir().join(WINDOWS_TARGET).join(profile)
}

pub fn cargo() -> Command {
    let mut cmd = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned()));
    cmd.current_dir(root());
    cmd
}

pub fn output(cmd: &str, args: &[&str]) -> Option<String> {
    let out = Command::new(cmd).args(args).output().ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).into_owned())
}

/// Whether `command` is an executable on `PATH`.
pub fn have(command: &str) -> bool {
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

/// Waits for `child`, at most `limit`; `None` when the limit passed first.
pub fn wait_with_limit(child: &mut Child, limit: Duration) -> std::io::Result<Option<ExitStatus>> {
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

/// Runs a command outside the step record (installation, the old-style demo).
pub fn run(what: &str, mut cmd: Command) -> Result<(), String> {
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
