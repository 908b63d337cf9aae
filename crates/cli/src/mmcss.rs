//! `tenuto mmcss`: shows or changes the MMCSS service (Windows); never
//! done implicitly by the driver.

use std::process::ExitCode;

use clap::Subcommand;

#[derive(Subcommand, Debug, Clone, Copy)]
pub(crate) enum MmcssAction {
    /// The service's Start value, SystemResponsiveness, the Pro Audio
    /// task's values, and whether MMCSS is running.
    Status,
    /// Disable the MMCSS service (administrator; saves the previous value;
    /// takes effect after a restart). A last resort against crackles.
    Disable,
    /// Restore the MMCSS service's saved start value (administrator;
    /// takes effect after a restart).
    Enable,
}

#[cfg(windows)]
pub(crate) fn run(action: MmcssAction) -> ExitCode {
    use tenuto_sched::mmcss_service as svc;
    let result = match action {
        MmcssAction::Status => svc::status().map(|s| s.to_string()),
        MmcssAction::Disable => svc::disable(svc::is_elevated()).map(|c| c.to_string()),
        MmcssAction::Enable => svc::enable(svc::is_elevated()).map(|c| c.to_string()),
    };
    match result {
        Ok(text) => {
            println!("{text}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("tenuto mmcss: {e}");
            ExitCode::FAILURE
        }
    }
}

#[cfg(not(windows))]
pub(crate) fn run(action: MmcssAction) -> ExitCode {
    let _ = action;
    crate::windows_only::needs_windows(
        "mmcss",
        "MMCSS is the Windows Multimedia Class Scheduler Service",
    )
}
