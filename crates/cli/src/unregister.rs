//! `tenuto unregister`: removes Tenuto's ASIO driver registration
//! (Windows, administrator).

use std::process::ExitCode;

#[cfg(not(windows))]
pub(crate) fn run() -> ExitCode {
    crate::windows_only::needs_windows(
        "unregister",
        "unregistering an ASIO driver edits the Windows registry",
    )
}

#[cfg(windows)]
pub(crate) fn run() -> ExitCode {
    match tenuto::registry::unregister() {
        Ok(outcome) => {
            println!(
                "tenuto unregister: the ASIO driver \"{}\" is no longer registered:",
                tenuto::DRIVER_NAME
            );
            for line in &outcome.lines {
                println!("  {line}");
            }
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("tenuto unregister: {e}");
            ExitCode::FAILURE
        }
    }
}
