//! `tenuto config`: where the settings file is, what it holds, whether it is valid
//! and what the driver would do with it, and changing one key.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Subcommand};
use tenuto_settings::{Loaded, Severity, Source};

/// `tenuto config …`.
#[derive(Subcommand, Debug)]
pub enum ConfigAction {
    /// Print the settings file's path and whether it exists.
    Path,
    /// Print the effective settings as a complete TOML file (defaults where the file
    /// has none or a bad value), then the file's problems (on stderr).
    Show(FileArg),
    /// Validate the file: print each problem and what the driver would do with it.
    /// Exits with 1 when there is an error (warnings do not fail).
    Check(FileArg),
    /// Set one key (e.g. `scheduling.mode manual`, `profiles.reaper.exe auto`,
    /// `profiles.reaper.exe none` to remove a profile) and save the file atomically.
    Set(SetArgs),
}

/// `--file PATH`.
#[derive(Args, Debug)]
pub struct FileArg {
    /// The settings file (default: the per-user file, see `tenuto config path`).
    #[arg(long, value_name = "PATH")]
    file: Option<PathBuf>,
}

/// `KEY VALUE [--file PATH]`.
#[derive(Args, Debug)]
pub struct SetArgs {
    /// `section.key`, or `profiles.EXECUTABLE`.
    key: String,
    /// The new value, without TOML quotes.
    value: String,
    #[command(flatten)]
    file: FileArg,
}

/// Runs `tenuto config ACTION`.
pub fn run(action: &ConfigAction) -> ExitCode {
    match action {
        ConfigAction::Path => path(),
        ConfigAction::Show(file) => with_path(file, show),
        ConfigAction::Check(file) => with_path(file, check),
        ConfigAction::Set(args) => with_path(&args.file, |path| set(path, args)),
    }
}

fn with_path(file: &FileArg, f: impl FnOnce(&std::path::Path) -> ExitCode) -> ExitCode {
    match file.file.clone().or_else(tenuto_settings::default_path) {
        Some(path) => f(&path),
        None => {
            eprintln!("{}", no_path());
            ExitCode::FAILURE
        }
    }
}

fn no_path() -> String {
    format!(
        "tenuto config: no per-user folder for the settings file ({}); set {} to a path",
        if cfg!(windows) {
            "%APPDATA% is not set"
        } else {
            "neither $XDG_CONFIG_HOME nor $HOME is set"
        },
        tenuto_settings::CONFIG_ENV
    )
}

fn path() -> ExitCode {
    let Some(path) = tenuto_settings::default_path() else {
        eprintln!("{}", no_path());
        return ExitCode::FAILURE;
    };
    let from_env = std::env::var_os(tenuto_settings::CONFIG_ENV).is_some_and(|v| !v.is_empty());
    println!("{}", path.display());
    let state = if path.is_file() {
        "exists".to_owned()
    } else if path.exists() {
        "exists but is not a file".to_owned()
    } else {
        "does not exist yet: the driver uses the default settings".to_owned()
    };
    println!(
        "  {state}{}",
        if from_env {
            format!(" (path from {})", tenuto_settings::CONFIG_ENV)
        } else {
            String::new()
        }
    );
    ExitCode::SUCCESS
}

fn print_problems(loaded: &Loaded) {
    for p in &loaded.problems {
        eprintln!("{}: {p}", p.severity);
    }
}

fn show(path: &std::path::Path) -> ExitCode {
    let loaded = tenuto_settings::load(path);
    print!("{}", loaded.settings.to_toml());
    if loaded.source == Source::Defaults {
        eprintln!(
            "# {} does not exist: these are the defaults",
            path.display()
        );
    }
    print_problems(&loaded);
    ExitCode::SUCCESS
}

fn check(path: &std::path::Path) -> ExitCode {
    let loaded = tenuto_settings::load(path);
    match loaded.source {
        Source::Defaults => println!(
            "file          {} (does not exist: the default settings)",
            path.display()
        ),
        Source::File => println!("file          {}", path.display()),
    }
    let errors = loaded
        .problems
        .iter()
        .filter(|p| p.severity == Severity::Error)
        .count();
    let warnings = loaded.problems.len() - errors;
    for p in &loaded.problems {
        println!("{:<13} {p}", p.severity.to_string());
    }
    println!("\nwhat the driver would do:");
    for (topic, text) in loaded.settings.explain() {
        println!("  {topic:<13} {text}");
        if topic == "buffer size" {
            if let Some(note) = buffer_note(&loaded.settings) {
                println!("  {:<13} {note}", "");
            }
        }
    }
    let plural = |n: usize, word: &str| format!("{n} {word}{}", if n == 1 { "" } else { "s" });
    println!(
        "\n{}, {}{}",
        plural(errors, "error"),
        plural(warnings, "warning"),
        if errors > 0 {
            " (the driver uses the default for each value in error)"
        } else {
            ""
        }
    );
    if errors > 0 {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}

/// With WASAPI on Windows: when this machine's devices offer hosts another preferred buffer
/// size than `driver.buffer_size`, what and why (the rule the driver answers
/// `getBufferSize` with, as the settings window words it).
#[cfg(windows)]
fn buffer_note(settings: &tenuto_settings::Settings) -> Option<String> {
    use tenuto_panel::form::Device;
    use tenuto_wasapi::Direction;
    if settings.driver.backend != tenuto_settings::BackendSetting::Wasapi {
        return None;
    }
    match tenuto_wasapi::endpoints() {
        Ok(list) => {
            let of = |direction| -> Vec<Device> {
                list.iter()
                    .filter(|e| e.direction == direction)
                    .map(Device::from_endpoint)
                    .collect()
            };
            clamp_note(settings, &of(Direction::Render), &of(Direction::Capture))
        }
        Err(e) => Some(format!(
            "could not list the audio devices to check the buffer size against them: {e}"
        )),
    }
}

/// Elsewhere there are no WASAPI devices to check against: the rule alone is printed.
#[cfg(not(windows))]
fn buffer_note(_settings: &tenuto_settings::Settings) -> Option<String> {
    None
}

/// The line `tenuto config check` prints under the buffer size when the chosen devices
/// clamp it (only Windows has devices to check against; the test runs everywhere).
#[cfg_attr(not(windows), allow(dead_code))]
fn clamp_note(
    settings: &tenuto_settings::Settings,
    outputs: &[tenuto_panel::form::Device],
    inputs: &[tenuto_panel::form::Device],
) -> Option<String> {
    tenuto_panel::form::buffer_clamp(settings, outputs, inputs)
        .map(|clamp| format!("clamped on this machine: {clamp}"))
}

fn set(path: &std::path::Path, args: &SetArgs) -> ExitCode {
    let loaded = tenuto_settings::load(path);
    if let Some(p) = loaded.file_problem() {
        eprintln!("{p}");
        eprintln!(
            "tenuto config set: not changing {}: saving would replace the whole file with the \
             defaults; fix or delete it first",
            path.display()
        );
        return ExitCode::FAILURE;
    }
    let mut settings = loaded.settings;
    if let Err(p) = tenuto_settings::set_key(&mut settings, &args.key, &args.value) {
        eprintln!("{p}");
        return ExitCode::FAILURE;
    }
    if let Err(e) = tenuto_settings::save_atomic(path, &settings) {
        eprintln!("tenuto config set: {e}");
        return ExitCode::FAILURE;
    }
    match tenuto_settings::get_key(&settings, &args.key) {
        Some(value) => println!("{} = {value}", args.key),
        None => println!("{} removed", args.key),
    }
    println!("saved {}", path.display());
    if !loaded.problems.is_empty() {
        eprintln!(
            "note: the file had {} problem(s); the saved file has the defaults in place of \
             values in error and no unknown keys:",
            loaded.problems.len()
        );
        for p in &loaded.problems {
            eprintln!("  {}: {p}", p.severity);
        }
    }
    ExitCode::SUCCESS
}

#[cfg(test)]
mod tests {
    use super::*;
    use tenuto_panel::form::Device;
    use tenuto_settings::{BackendSetting, Settings, WasapiModeSetting};

    #[test]
    fn a_clamped_buffer_size_is_explained_with_the_drivers_rule() {
        let output = Device {
            id: "{out}".to_owned(),
            name: "Speakers".to_owned(),
            is_default: true,
            active: true,
            rate: Some(48_000),
            minimum_period_hns: Some(20_000),
        };
        let mut s = Settings::default();
        s.driver.backend = BackendSetting::Wasapi;
        s.driver.buffer_size = 16;
        assert_eq!(clamp_note(&s, std::slice::from_ref(&output), &[]), None);
        s.wasapi.mode = WasapiModeSetting::Exclusive;
        assert_eq!(
            clamp_note(&s, std::slice::from_ref(&output), &[]).as_deref(),
            Some(
                "clamped on this machine: buffer size 16 is below the device's minimum of 96 \
                 frames (2 ms at 48000 Hz) in exclusive mode, where one ASIO buffer is one \
                 device period; DAWs are offered 96"
            )
        );
    }
}
