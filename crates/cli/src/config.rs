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
    /// `profiles.reaper.exe none` to remove a profile; `wasapi.output "Speakers" "USB Audio
    /// [3-4]"` for a list of endpoints, one value per entry) and save the file atomically.
    Set(SetArgs),
}

/// `--file PATH`.
#[derive(Args, Debug)]
pub struct FileArg {
    /// The settings file (default: the per-user file, see `tenuto config path`).
    #[arg(long, value_name = "PATH")]
    file: Option<PathBuf>,
}

/// `KEY VALUE… [--file PATH]`.
#[derive(Args, Debug)]
pub struct SetArgs {
    /// `section.key`, or `profiles.EXECUTABLE`.
    key: String,
    /// The new value, without TOML quotes; for `wasapi.output` and `wasapi.input`, one or
    /// more endpoints, each optionally followed by its channels (`"USB Audio [3-4]"`).
    #[arg(required = true, num_args = 1..)]
    values: Vec<String>,
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
        if topic == "sample rates" {
            for line in rate_notes(&loaded.settings) {
                println!("  {:<13} {line}", "");
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

/// With WASAPI on Windows: the rates this machine's devices offer with these settings and
/// what converting each one adds (the figures the driver adds to getLatencies), or which
/// rate works when they do not convert.
#[cfg(windows)]
fn rate_notes(settings: &tenuto_settings::Settings) -> Vec<String> {
    use tenuto_engine::Device as _;
    use tenuto_settings::{
        EndpointEntry, EndpointSetting, MissingDeviceSetting, WasapiModeSetting,
    };
    use tenuto_wasapi::{EndpointChoice, Mode, WasapiConfig, WasapiDevice};
    if settings.driver.backend != tenuto_settings::BackendSetting::Wasapi {
        return Vec::new();
    }
    if let Some(mut aggregate) = tenuto::aggregate_for(settings) {
        return aggregate_lines(&mut aggregate);
    }
    // What decides the rates; the rest of the driver's configuration does not change them.
    // One endpoint per direction here (several are an aggregate, above).
    let choice = |list: &[EndpointEntry]| match list.first().map(|e| &e.endpoint) {
        None | Some(EndpointSetting::Off) => EndpointChoice::Off,
        Some(EndpointSetting::Default) => EndpointChoice::Default,
        Some(EndpointSetting::Device(id)) => EndpointChoice::Id(id.clone()),
    };
    let w = &settings.wasapi;
    let config = WasapiConfig {
        render: choice(&w.output),
        capture: choice(&w.input),
        mode: match w.mode {
            WasapiModeSetting::Shared => Mode::Shared,
            WasapiModeSetting::LowLatency => Mode::LowLatency,
            WasapiModeSetting::Exclusive => Mode::Exclusive,
        },
        missing_falls_back: w.missing_device == MissingDeviceSetting::Default,
        convert_rates: w.convert_rate,
        ..WasapiConfig::default()
    };
    let device = match WasapiDevice::new(config) {
        Ok(d) => d,
        Err(e) => {
            return vec![format!(
                "could not open the devices to check their rates: {e}"
            )]
        }
    };
    let mut names: Vec<&str> = [device.render_endpoint(), device.capture_endpoint()]
        .into_iter()
        .flatten()
        .map(|(_, name)| name)
        .collect();
    names.dedup();
    let rates = device.sample_rates();
    let conversions: Vec<String> = rates
        .iter()
        .filter_map(|&r| device.conversion_note(r))
        .collect();
    rate_lines(
        &RatesSeen {
            devices: names.join(" and "),
            exclusive: w.mode == WasapiModeSetting::Exclusive,
            convert: w.convert_rate,
            rates: rates.to_vec(),
            mix: device.default_sample_rate(),
            conversions,
        },
        device.notes(),
    )
}

/// Several endpoints as one device, opened as the driver would: its members in channel
/// order with the clock, the rates it offers, and what `getLatencies` reports before the
/// stream starts; or why it cannot open.
#[cfg(windows)]
fn aggregate_lines(device: &mut tenuto_wasapi::AggregateDevice) -> Vec<String> {
    use tenuto_engine::device::StreamConfig;
    use tenuto_engine::Device as _;
    use tenuto_wasapi::Direction;
    if let Err(e) = device.refresh() {
        return vec![format!(
            "on this machine the listed endpoints do not open as one device: {e}"
        )];
    }
    let members = device.members();
    let mut lines = vec![format!(
        "on this machine: {} endpoints as one device, in channel order:",
        members.len()
    )];
    let (mut outs, mut ins) = (0usize, 0usize);
    for (direction, _, name, channels, clock) in members {
        let (word, before) = match direction {
            Direction::Render => ("Out", &mut outs),
            Direction::Capture => ("In", &mut ins),
        };
        lines.push(format!(
            "  {}: {name}, {}",
            channel_range(word, *before, channels),
            if clock {
                "the clock"
            } else {
                "follows the clock through a resampler"
            }
        ));
        *before += channels;
    }
    // A member left out or replaced by Windows' default (wasapi.missing_device).
    if let Some(notice) = device.notice() {
        lines.push(format!("  {notice}"));
    }
    let mix = device.default_sample_rate();
    let khz: Vec<String> = device
        .sample_rates()
        .iter()
        .map(|r| format!("{}", r / 1000.0))
        .collect();
    lines.push(format!(
        "  hosts may run at {} kHz (the clock mixes at {mix} Hz)",
        khz.join(", ")
    ));
    let frames = device.buffer_sizes(mix).preferred_frames;
    let latency = device.latency(&StreamConfig {
        sample_rate: mix,
        period_frames: frames,
    });
    // As the engine reports them: the buffer plus the device's part.
    let (input, output) = (
        frames.saturating_add(latency.input_frames),
        frames.saturating_add(latency.output_frames),
    );
    let ms = |f: u32| f64::from(f) * 1000.0 / mix;
    lines.push(format!(
        "  getLatencies at {mix} Hz with {frames}-frame buffers, before streaming: input \
         {input} frames ({:.1} ms), output {output} frames ({:.1} ms)",
        ms(input),
        ms(output)
    ));
    lines
}

/// "Out 3–4" for `channels` channels after `before` of the same direction ("Out 3" for one).
#[cfg_attr(not(windows), allow(dead_code))]
fn channel_range(word: &str, before: usize, channels: usize) -> String {
    match channels {
        0 | 1 => format!("{word} {}", before + 1),
        n => format!("{word} {}\u{2013}{}", before + 1, before + n),
    }
}

/// Elsewhere there are no WASAPI devices: the settings' own line says it all.
#[cfg(not(windows))]
fn rate_notes(_settings: &tenuto_settings::Settings) -> Vec<String> {
    Vec::new()
}

/// What `rate_notes` learned from the devices.
#[cfg_attr(not(windows), allow(dead_code))]
struct RatesSeen {
    /// Their names, "Speakers and Microphone".
    devices: String,
    exclusive: bool,
    /// `wasapi.convert_rate`.
    convert: bool,
    /// What they offer hosts, Hz.
    rates: Vec<f64>,
    /// The rate they run at without conversion (the mix rate in shared modes).
    mix: f64,
    /// `WasapiDevice::conversion_note` of every rate that converts.
    conversions: Vec<String>,
}

/// The lines `tenuto config check` prints under the sample rates (the test runs everywhere).
#[cfg_attr(not(windows), allow(dead_code))]
fn rate_lines(seen: &RatesSeen, device_notes: &[String]) -> Vec<String> {
    let khz = |rates: &[f64]| {
        let each: Vec<String> = rates.iter().map(|r| format!("{}", r / 1000.0)).collect();
        format!("{} kHz", each.join(", "))
    };
    let on = format!("on this machine ({}):", seen.devices);
    if seen.exclusive {
        return vec![format!("{on} the devices take {}", khz(&seen.rates))];
    }
    if !seen.conversions.is_empty() {
        let mut lines = vec![format!(
            "{on} mix rate {} Hz; a host at another rate gets",
            seen.mix
        )];
        lines.extend(seen.conversions.iter().map(|c| format!("  {c}")));
        return lines;
    }
    let mut lines = vec![format!(
        "{on} only {} Hz, the mix rate; other rates are refused",
        seen.mix
    )];
    if seen.convert {
        // Conversion is on but was not offered: the device's note says why.
        lines.extend(
            device_notes
                .iter()
                .filter(|n| n.contains("sample-rate conversion"))
                .cloned(),
        );
    }
    lines
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
    if let Err(p) = tenuto_settings::set_key_values(&mut settings, &args.key, &args.values) {
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
    fn channel_ranges_count_on_from_the_members_before() {
        assert_eq!(channel_range("Out", 0, 2), "Out 1\u{2013}2");
        assert_eq!(channel_range("In", 2, 1), "In 3");
        assert_eq!(channel_range("In", 3, 8), "In 4\u{2013}11");
    }

    #[test]
    fn the_rates_seen_on_the_devices_are_explained() {
        let mut seen = RatesSeen {
            devices: "Speakers".to_owned(),
            exclusive: false,
            convert: true,
            rates: vec![44_100.0, 48_000.0, 96_000.0],
            mix: 48_000.0,
            conversions: vec![
                "converting 44100 \u{2192} 48000 Hz, +1.9 ms out".to_owned(),
                "converting 96000 \u{2192} 48000 Hz, +1.0 ms out".to_owned(),
            ],
        };
        assert_eq!(
            rate_lines(&seen, &[]),
            [
                "on this machine (Speakers): mix rate 48000 Hz; a host at another rate gets",
                "  converting 44100 \u{2192} 48000 Hz, +1.9 ms out",
                "  converting 96000 \u{2192} 48000 Hz, +1.0 ms out",
            ]
        );
        // Conversion on, but the mix format does not allow it: the device's note says why.
        seen.rates = vec![48_000.0];
        seen.conversions.clear();
        let notes = [
            "wake-up by polling".to_owned(),
            "sample-rate conversion needs a 32-bit float mix format; …".to_owned(),
        ];
        assert_eq!(
            rate_lines(&seen, &notes),
            [
                "on this machine (Speakers): only 48000 Hz, the mix rate; other rates are refused",
                "sample-rate conversion needs a 32-bit float mix format; …",
            ]
        );
        seen.convert = false;
        assert_eq!(rate_lines(&seen, &notes).len(), 1);
        seen.exclusive = true;
        seen.rates = vec![44_100.0, 48_000.0];
        assert_eq!(
            rate_lines(&seen, &notes),
            ["on this machine (Speakers): the devices take 44.1, 48 kHz"]
        );
    }

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
