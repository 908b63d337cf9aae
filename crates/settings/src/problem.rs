//! What is wrong in a settings file, or with a value given to `set_key`: the one
//! report type loading, `set_key` and the panel share.

use std::fmt;

use crate::path::FILE_NAME;

/// How serious a [`Problem`] is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Severity {
    /// A value (or the whole file) was not used; `tenuto config check` fails.
    Error,
    /// Something was ignored that may be a mistake (an unknown key).
    Warning,
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Severity::Error => "error",
            Severity::Warning => "warning",
        })
    }
}

/// Something wrong in the file, or a value [`crate::set_key`] refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// Error or warning.
    pub severity: Severity,
    /// The key concerned (`"scheduling.mmcss_priority"`, `"profiles.reaper.exe"`),
    /// the section for an unknown section, or empty for the whole file and for the
    /// closing "and K more problems" of a list cut at [`crate::MAX_PROBLEMS`].
    pub key: String,
    /// The 1-based line in the file, when known.
    pub line: Option<usize>,
    /// The full sentence: the key, the bad value, what is allowed, what was done.
    pub message: String,
}

impl fmt::Display for Problem {
    /// `tenuto.toml line 12: scheduling.mmcss_priority = "max" is not allowed; use
    /// low, normal, high or critical (kept the default "critical")`; without the
    /// prefix when there is no line.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.line {
            Some(line) => write!(f, "{} line {line}: {}", FILE_NAME, self.message),
            None => f.write_str(&self.message),
        }
    }
}

impl std::error::Error for Problem {}
