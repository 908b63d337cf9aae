//! The project's Wine prefix: its place, running programs in it through
//! `tools/wine/env.sh` (which creates it and installs the ProcessPrng shim on
//! first use), stopping them, and `cargo xtask wine`.

use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode, Stdio};

use crate::bootstrap::ensure_packages;
use crate::project::{root, WINDOWS_TARGET};

/// The project's Wine prefix, as `tools/wine/env.sh` chooses it.
pub fn wine_prefix() -> PathBuf {
    match std::env::var_os("TENUTO_WINEPREFIX") {
        Some(p) if !p.is_empty() => PathBuf::from(p),
        _ => root().join("target").join("wine-prefix"),
    }
}

/// A command run in the project's Wine prefix through `tools/wine/env.sh`,
/// which creates the prefix and installs the ProcessPrng shim on first use.
pub fn in_wine_env<S: AsRef<OsStr>>(program: &str, args: &[S]) -> Command {
    let mut cmd = Command::new(root().join("tools/wine/env.sh"));
    cmd.current_dir(root()).arg(program).args(args);
    cmd
}

/// `wine ARGS` in the project's prefix.
pub fn wine_cmd<S: AsRef<OsStr>>(args: &[S]) -> Command {
    in_wine_env("wine", args)
}

/// The path Windows programs in the prefix see for a Linux path (drive Z: is
/// the Linux root in every Wine prefix).
pub fn windows_path(path: &Path) -> String {
    format!("Z:{}", path.display()).replace('/', "\\")
}

/// Stops every Windows process in the project's prefix (and its wineserver).
pub fn kill_wineserver() {
    if wine_prefix().join("system.reg").exists() {
        let _ = in_wine_env("wineserver", &["-k"])
            .stdin(Stdio::null())
            .status();
    }
}

/// `cargo xtask wine -- PROGRAM [ARGS]`: runs a Windows program (a path to an
/// .exe, or a Wine builtin such as `regsvr32`, `reg`, `cmd`) in the project's
/// prefix and exits with its exit code.
pub fn wine(rest: &[String]) -> ExitCode {
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
