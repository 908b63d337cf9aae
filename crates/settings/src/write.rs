//! Writing `tenuto.toml`: the canonical commented text, and the atomic save.

use std::fmt::Write as _;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, SystemTime};

use crate::choices::{Choice, ProfileValue};
use crate::keys::{allowed, get_key, KEYS};
use crate::model::Settings;
use crate::quote::toml_string;

const HEADER: &str = "\
# Tenuto settings (tenuto.toml).
#
# Edit this file, use the driver's control panel, or `tenuto config set KEY VALUE`.
# A value that is not allowed falls back to its default and is reported by
# `tenuto config check`, the control panel and the driver's error message; the
# driver always loads. While a host has the driver loaded, a change of this file
# makes the driver ask the host for a reset so that it takes effect.
";

const SECTION_HELP: &[(&str, &str)] = &[
    ("driver", "The driver as hosts see it."),
    (
        "wasapi",
        "The WASAPI backend (driver.backend = \"wasapi\"): Windows' audio devices.\n\
         # `tenuto devices` lists the endpoints with their IDs.",
    ),
    (
        "virtual",
        "The virtual device: audio in memory, paced by the system clock.",
    ),
    (
        "scheduling",
        "The driver thread's scheduling. On Windows `mode` decides; `process_class` only\n\
         # applies in manual mode. `linux` applies to native Linux runs.",
    ),
    ("logging", "The driver's log."),
];

impl Settings {
    /// The complete file for these settings, every key with a comment giving what it
    /// does, what is allowed and its default. `parse(&s.to_toml())` gives back `s`
    /// with no problems (for profile names in lowercase, as loading stores them).
    pub fn to_toml(&self) -> String {
        let defaults = Settings::default();
        let mut out = String::from(HEADER);
        let mut section = "";
        for info in KEYS {
            if info.section() != section {
                if section == "scheduling" {
                    self.write_profiles(&mut out);
                }
                section = info.section();
                let help = SECTION_HELP
                    .iter()
                    .find(|(s, _)| *s == section)
                    .map_or("", |(_, h)| h);
                let _ = write!(out, "\n# {help}\n[{section}]\n");
            }
            let value = get_key(self, info.key).unwrap_or_default();
            let default = get_key(&defaults, info.key).unwrap_or_default();
            let allowed = allowed(info.key).unwrap_or_default();
            out.push('\n');
            comment(&mut out, info.help.split_whitespace());
            let allowed = format!("Allowed: {allowed}.");
            let default = format!("Default: {default}.");
            comment(
                &mut out,
                allowed.split_whitespace().chain([default.as_str()]),
            );
            let _ = writeln!(out, "{} = {value}", info.name());
        }
        out
    }

    fn write_profiles(&self, out: &mut String) {
        let _ = write!(
            out,
            "\n# Per-host scheduling, by executable file name (case-insensitive): {}.\n\
             # It replaces scheduling.mode for that host. Example: \"reaper.exe\" = \"auto\"\n\
             [profiles]\n",
            ProfileValue::allowed()
        );
        for (exe, value) in &self.profiles {
            let _ = writeln!(
                out,
                "{} = {}",
                toml_string(exe),
                toml_string(value.as_str())
            );
        }
    }
}

/// Appends the words as `# ` comment lines of at most about 90 columns.
fn comment<'a>(out: &mut String, words: impl Iterator<Item = &'a str>) {
    let mut line = String::from("#");
    for word in words {
        if line.len() > 1 && line.len() + 1 + word.len() > 90 {
            out.push_str(&line);
            out.push('\n');
            line = String::from("#");
        }
        line.push(' ');
        line.push_str(word);
    }
    out.push_str(&line);
    out.push('\n');
}

/// Why [`save_atomic`] failed; each names the path and the OS error.
#[derive(Debug, thiserror::Error)]
pub enum SaveError {
    /// The directory could not be created.
    #[error("cannot create the folder {path}: {source}")]
    CreateDir {
        /// The folder.
        path: PathBuf,
        /// The OS error.
        source: std::io::Error,
    },
    /// The temporary file could not be written.
    #[error("cannot write {path}: {source}")]
    Write {
        /// The temporary file.
        path: PathBuf,
        /// The OS error.
        source: std::io::Error,
    },
    /// The temporary file could not replace the target.
    #[error("cannot replace {path} with {temp}: {source}")]
    Rename {
        /// The settings file.
        path: PathBuf,
        /// The temporary file (removed).
        temp: PathBuf,
        /// The OS error.
        source: std::io::Error,
    },
}

/// Temporary files older than this are left-overs of an interrupted save.
const STALE_AFTER: Duration = Duration::from_secs(10 * 60);

static SAVES: AtomicU32 = AtomicU32::new(0);

/// The temporary files of `path` are `.{file name}.{pid}-{n}.tmp` beside it.
fn temp_prefix(path: &Path) -> String {
    let name = path
        .file_name()
        .map_or_else(|| "tenuto.toml".into(), |n| n.to_string_lossy());
    format!(".{name}.")
}

/// Writes `settings` ([`Settings::to_toml`]) to `path` atomically: into a new
/// temporary file in the same folder (created if missing), flushed and synced, then
/// renamed over `path`, which `std::fs::rename` replaces on Windows and Unix. A crash
/// at any point leaves the old file or the new one, never a torn one; the temporary
/// file of an interrupted save is never read, and the next save removes it once it
/// is ten minutes old.
pub fn save_atomic(path: &Path, settings: &Settings) -> Result<(), SaveError> {
    write_atomic(path, settings.to_toml().as_bytes())
}

pub(crate) fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), SaveError> {
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    };
    std::fs::create_dir_all(&dir).map_err(|source| SaveError::CreateDir {
        path: dir.clone(),
        source,
    })?;
    let prefix = temp_prefix(path);
    let temp = dir.join(format!(
        "{prefix}{}-{}.tmp",
        std::process::id(),
        SAVES.fetch_add(1, Ordering::Relaxed)
    ));
    let written = (|| {
        let mut file = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&temp)?;
        file.write_all(bytes)?;
        file.flush()?;
        file.sync_all()
    })();
    if let Err(source) = written {
        let _ = std::fs::remove_file(&temp);
        return Err(SaveError::Write { path: temp, source });
    }
    if let Err(source) = rename_with_retry(&temp, path) {
        let _ = std::fs::remove_file(&temp);
        return Err(SaveError::Rename {
            path: path.to_path_buf(),
            temp,
            source,
        });
    }
    sync_dir(&dir);
    remove_stale_temps(&dir, &prefix);
    Ok(())
}

/// `rename`, retried briefly on Windows, where another process (a virus scanner,
/// an editor) may hold the target open for a moment.
fn rename_with_retry(from: &Path, to: &Path) -> std::io::Result<()> {
    let mut attempt = 0;
    loop {
        match std::fs::rename(from, to) {
            Err(e)
                if cfg!(windows)
                    && e.kind() == std::io::ErrorKind::PermissionDenied
                    && attempt < 10 =>
            {
                attempt += 1;
                std::thread::sleep(Duration::from_millis(20));
            }
            other => return other,
        }
    }
}

/// Makes the rename durable (Unix; Windows has no directory handle to sync).
fn sync_dir(dir: &Path) {
    #[cfg(unix)]
    if let Ok(d) = std::fs::File::open(dir) {
        let _ = d.sync_all();
    }
    #[cfg(not(unix))]
    let _ = dir;
}

/// Removes `{prefix}*.tmp` files older than [`STALE_AFTER`] (younger ones may be
/// another process's save in progress).
fn remove_stale_temps(dir: &Path, prefix: &str) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    let now = SystemTime::now();
    for entry in entries.flatten() {
        let name = entry.file_name();
        let name = name.to_string_lossy();
        if !(name.starts_with(prefix) && name.ends_with(".tmp")) {
            continue;
        }
        let old = entry
            .metadata()
            .and_then(|m| m.modified())
            .ok()
            .and_then(|t| now.duration_since(t).ok())
            .is_some_and(|age| age > STALE_AFTER);
        if old {
            let _ = std::fs::remove_file(entry.path());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strings_are_escaped() {
        assert_eq!(toml_string("Pro Audio"), "\"Pro Audio\"");
        assert_eq!(toml_string("a\"b\\c\n\u{1}"), "\"a\\\"b\\\\c\\n\\u0001\"");
    }
}
