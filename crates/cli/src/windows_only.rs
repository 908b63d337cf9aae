//! What a Windows-only command says on other OSes.

use std::process::ExitCode;

/// The exit code and message for Windows-only commands elsewhere.
#[cfg(not(windows))]
pub(crate) fn needs_windows(command: &str, what: &str) -> ExitCode {
    eprintln!(
        "tenuto {command} needs Windows: {what}; on this OS only \
         `tenuto check`, `stream`, `play` and `loopback` with --in-process, and `tenuto doctor` work"
    );
    ExitCode::from(2)
}
