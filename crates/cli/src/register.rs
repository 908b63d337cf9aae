//! `tenuto register`: registers tenuto.dll as the ASIO driver "Tenuto"
//! (Windows, administrator).

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Args;

#[derive(Args, Debug)]
pub(crate) struct RegisterArgs {
    /// The driver DLL to register (default: tenuto.dll next to tenuto.exe).
    #[arg(long, value_name = "PATH")]
    dll: Option<PathBuf>,
}

#[cfg(not(windows))]
pub(crate) fn run(_args: &RegisterArgs) -> ExitCode {
    crate::windows_only::needs_windows(
        "register",
        "registering an ASIO driver writes the Windows registry",
    )
}

/// `tenuto.dll` in the directory of the running `tenuto.exe`.
#[cfg(windows)]
fn default_dll() -> Result<PathBuf, String> {
    let exe = std::env::current_exe().map_err(|e| {
        format!("cannot find where tenuto.exe is ({e}); pass --dll PATH to tenuto.dll")
    })?;
    let dir = exe.parent().ok_or_else(|| {
        format!(
            "{} has no parent directory; pass --dll PATH to tenuto.dll",
            exe.display()
        )
    })?;
    let dll = dir.join("tenuto.dll");
    if dll.is_file() {
        Ok(dll)
    } else {
        Err(format!(
            "there is no tenuto.dll next to tenuto.exe ({} does not exist); \
             pass --dll PATH to the Tenuto driver DLL",
            dll.display()
        ))
    }
}

#[cfg(windows)]
pub(crate) fn run(args: &RegisterArgs) -> ExitCode {
    let dll = match args.dll.clone().map_or_else(default_dll, Ok) {
        Ok(p) => p,
        Err(e) => {
            eprintln!("tenuto register: {e}");
            return ExitCode::from(2);
        }
    };
    match tenuto::registry::register(&dll) {
        Ok(outcome) => {
            println!(
                "tenuto register: registered {} as the ASIO driver \"{}\"; wrote:",
                dll.display(),
                tenuto::DRIVER_NAME
            );
            for line in &outcome.lines {
                println!("  {line}");
            }
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("tenuto register: {e}");
            ExitCode::FAILURE
        }
    }
}
