//! `tenuto panel`: the settings window without a DAW (Windows).

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Args;

#[derive(Args, Debug)]
pub(crate) struct PanelArgs {
    /// The settings file to edit (default: the driver's, see `tenuto config path`).
    #[arg(long, value_name = "PATH")]
    file: Option<PathBuf>,
}

/// `tenuto panel`: the settings window, until it is closed.
#[cfg(windows)]
pub(crate) fn run(args: &PanelArgs) -> ExitCode {
    let Some(path) = args.file.clone().or_else(tenuto_settings::default_path) else {
        eprintln!("tenuto panel: no settings path (APPDATA is not set); pass --file PATH");
        return ExitCode::from(2);
    };
    match tenuto_panel::run_standalone(path) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("tenuto panel: {e}");
            ExitCode::FAILURE
        }
    }
}

#[cfg(not(windows))]
pub(crate) fn run(args: &PanelArgs) -> ExitCode {
    let _ = &args.file;
    crate::windows_only::needs_windows(
        "panel",
        "the settings window is a Windows window; use `tenuto config` to change the settings",
    )
}
