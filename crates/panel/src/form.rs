//! What the panel shows and writes, independent of Win32: the entries of
//! each drop-down, the values a [`Settings`] gives the controls, turning
//! the controls' values back into a validated [`Settings`] (through
//! [`tenuto_settings::set_key`], exactly as `tenuto config set` does), and
//! the live status lines.

use tenuto_engine::shared::Shared;
use tenuto_engine::stats::LateCause;
use tenuto_settings::{
    FallbackSetting, FormatSetting, LogLevel, ManualLevelSetting, MmcssPrioritySetting,
    ProcessClassSetting, ProfileValue, SampleTypeSetting, SchedulingMode, Settings, SourceSetting,
    BUFFER_SIZE_MAX, BUFFER_SIZE_MIN, MAX_CHANNELS, SAMPLE_RATES,
};

/// One entry of a drop-down: the value written to the file and the text shown.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// The value in the file's spelling (`"critical"`, `"128"`).
    pub value: String,
    /// What the user reads.
    pub label: String,
}

impl Entry {
    fn new(value: impl Into<String>, label: impl Into<String>) -> Self {
        Entry {
            value: value.into(),
            label: label.into(),
        }
    }
}

/// The index of `value` in `entries`.
pub fn index_of(entries: &[Entry], value: &str) -> Option<usize> {
    entries.iter().position(|e| e.value == value)
}

/// "48 kHz", "44.1 kHz".
pub fn rate_label(rate: u32) -> String {
    if rate % 1000 == 0 {
        format!("{} kHz", rate / 1000)
    } else {
        format!("{:.1} kHz", f64::from(rate) / 1000.0)
    }
}

/// The text shown for the (only) backend of this version.
pub const BACKEND_LABEL: &str = "Virtual device (WASAPI arrives in a later version)";

/// `virtual.sample_rate`.
pub fn sample_rates() -> Vec<Entry> {
    SAMPLE_RATES
        .iter()
        .map(|r| Entry::new(r.to_string(), rate_label(*r)))
        .collect()
}

/// `driver.buffer_size`: every power of two, with its latency at `rate`.
pub fn buffer_sizes(rate: u32) -> Vec<Entry> {
    let mut out = Vec::new();
    let mut frames = BUFFER_SIZE_MIN;
    while frames <= BUFFER_SIZE_MAX {
        let ms = f64::from(frames) * 1000.0 / f64::from(rate.max(1));
        let precision = if ms < 10.0 { 1 } else { 0 };
        out.push(Entry::new(
            frames.to_string(),
            format!(
                "{frames} samples ({ms:.precision$} ms at {})",
                rate_label(rate)
            ),
        ));
        frames *= 2;
    }
    out
}

/// `virtual.inputs` / `virtual.outputs`.
pub fn channel_counts() -> Vec<Entry> {
    (0..=MAX_CHANNELS)
        .map(|n| Entry::new(n.to_string(), n.to_string()))
        .collect()
}

/// "time_critical" → "Time critical".
fn friendly(spelling: &str) -> String {
    let text = spelling.replace('_', " ");
    let mut chars = text.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => text,
    }
}

/// Entries from a choice's spellings; `recommended` gets " (recommended)".
fn named<T: Copy + PartialEq>(
    all: &[T],
    spell: fn(T) -> &'static str,
    recommended: Option<T>,
) -> Vec<Entry> {
    all.iter()
        .map(|&c| {
            let mut label = friendly(spell(c));
            if Some(c) == recommended {
                label.push_str(" (recommended)");
            }
            Entry::new(spell(c), label)
        })
        .collect()
}

/// `driver.sample_type`.
pub fn sample_types() -> Vec<Entry> {
    SampleTypeSetting::ALL
        .iter()
        .map(|t| {
            // "Int16LSB: 16-bit integer" → "16-bit integer (Int16LSB)".
            let label = match t.describe().split_once(": ") {
                Some((name, what)) if *t != SampleTypeSetting::Auto => {
                    format!("{} ({name})", friendly(what))
                }
                _ => "Automatic (matches the device)".to_owned(),
            };
            Entry::new(t.as_str(), label)
        })
        .collect()
}

/// `virtual.format`: "32-bit float (f32)".
pub fn device_formats() -> Vec<Entry> {
    FormatSetting::ALL
        .iter()
        .map(|f| {
            let label = match f {
                FormatSetting::F32 => "32-bit float (f32)",
                FormatSetting::I16 => "16-bit integer (i16)",
                FormatSetting::I24 => "24-bit integer, 3 bytes (i24)",
                FormatSetting::I32 => "32-bit integer (i32)",
            };
            Entry::new(f.as_str(), label)
        })
        .collect()
}

/// `virtual.source`: what the virtual device's inputs capture.
pub fn sources() -> Vec<Entry> {
    SourceSetting::ALL
        .iter()
        .map(|s| {
            let label = match s {
                SourceSetting::Loopback => "Loop back the outputs",
                SourceSetting::Sine => "Sine per channel",
                SourceSetting::Silence => "Silence",
            };
            Entry::new(s.as_str(), label)
        })
        .collect()
}

/// `scheduling.mmcss_task`: the registry's tasks (or the two every Windows
/// has), plus the current value if it is not among them.
pub fn mmcss_tasks(from_registry: &[String], current: &str) -> Vec<Entry> {
    let mut names: Vec<String> = if from_registry.is_empty() {
        vec!["Pro Audio".to_owned(), "Audio".to_owned()]
    } else {
        from_registry.to_vec()
    };
    if !current.is_empty() && !names.iter().any(|n| n == current) {
        names.insert(0, current.to_owned());
    }
    names
        .into_iter()
        .map(|n| {
            let label = if n == "Pro Audio" {
                "Pro Audio (recommended)".to_owned()
            } else {
                n.clone()
            };
            Entry::new(n, label)
        })
        .collect()
}

/// `scheduling.mmcss_priority`.
pub fn mmcss_priorities() -> Vec<Entry> {
    named(
        MmcssPrioritySetting::ALL,
        MmcssPrioritySetting::as_str,
        Some(MmcssPrioritySetting::Critical),
    )
}

/// `scheduling.mmcss_fallback`.
pub fn fallbacks() -> Vec<Entry> {
    FallbackSetting::ALL
        .iter()
        .map(|f| {
            let label = match f {
                FallbackSetting::Manual => "Manual priority, time critical",
                FallbackSetting::Inherit => "Leave the thread as created",
            };
            Entry::new(f.as_str(), label)
        })
        .collect()
}

/// `scheduling.manual_level`.
pub fn manual_levels() -> Vec<Entry> {
    named(
        ManualLevelSetting::ALL,
        ManualLevelSetting::as_str,
        Some(ManualLevelSetting::TimeCritical),
    )
}

/// `scheduling.process_class`.
pub fn process_classes() -> Vec<Entry> {
    ProcessClassSetting::ALL
        .iter()
        .map(|c| {
            let label = match c {
                ProcessClassSetting::Normal => "Unchanged (recommended)",
                ProcessClassSetting::High => "High while streaming",
                ProcessClassSetting::Realtime => "Realtime while streaming",
            };
            Entry::new(c.as_str(), label)
        })
        .collect()
}

/// The warning shown when the realtime process class is chosen.
pub const REALTIME_WARNING: &str = "Realtime outranks the mouse, keyboard and disk: an overloaded \
     host can freeze Windows. It needs the \"Increase scheduling priority\" privilege, else \
     Windows quietly gives High.";

/// What the realtime warning's place says otherwise.
pub const PROCESS_CLASS_HINT: &str =
    "High and Realtime raise the whole host process while it streams.";

/// `profiles.<exe>`: "none" removes the profile.
pub fn profiles() -> Vec<Entry> {
    let mut out = vec![Entry::new("none", "Same as the settings above")];
    out.extend(ProfileValue::ALL.iter().map(|p| {
        let label = match p {
            ProfileValue::Mmcss => "MMCSS (task, priority above)",
            ProfileValue::Manual => "Manual priority (level, class above)",
            ProfileValue::Inherit => "Keep the host's priority",
            ProfileValue::Auto => "Auto: follow the host's threads",
        };
        Entry::new(p.as_str(), label)
    }));
    out
}

/// The note under the host's profile: what the host gets.
pub fn profile_note(host_exe: Option<&str>, settings: &Settings) -> String {
    let notes = profile_notes(host_exe);
    let pick = match host_exe {
        None => 0,
        Some(exe) => match settings.profile_value(exe) {
            Some(_) => 0,
            None if settings.scheduling.mode == SchedulingMode::Auto => 1,
            None => 2,
        },
    };
    notes.into_iter().nth(pick).unwrap_or_default()
}

/// Every note [`profile_note`] may show for this host (to reserve room).
pub fn profile_notes(host_exe: Option<&str>) -> Vec<String> {
    match host_exe {
        None => vec![
            "Opened without a host: a host's profile is set from its Control Panel button, \
             or with `tenuto config set profiles.<exe> VALUE`."
                .to_owned(),
        ],
        Some(exe) => vec![
            format!("{exe} uses this profile instead of the scheduling settings above."),
            format!("{exe} follows the scheduling settings above (Auto)."),
            format!(
                "{exe} follows the scheduling settings above, or Tenuto's built-in profile \
                 for it (Cubase, Nuendo, Pro Tools, REAPER)."
            ),
        ],
    }
}

/// `logging.level`.
pub fn log_levels() -> Vec<Entry> {
    LogLevel::ALL
        .iter()
        .map(|l| {
            let label = match l {
                LogLevel::Error => "Errors only",
                LogLevel::Warn => "Errors and warnings",
                LogLevel::Info => "Info: also start, stop, settings (recommended)",
                LogLevel::Debug => "Everything (for support requests)",
            };
            Entry::new(l.as_str(), label)
        })
        .collect()
}

/// The `[profiles]` key for the current host, if there is one.
pub fn profile_key(host_exe: Option<&str>) -> Option<String> {
    let exe = host_exe?.rsplit(['\\', '/']).next()?.trim();
    (!exe.is_empty()).then(|| format!("profiles.{}", exe.to_lowercase()))
}

/// The scheduling part of the form: how the check boxes and radio buttons
/// map to `scheduling.mode`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ModeControls {
    /// "Register driver thread with MMCSS".
    pub mmcss: bool,
    /// "Decide from the host's threads (Auto)".
    pub auto: bool,
    /// "Keep the host's priority" (else "Manual priority") when neither.
    pub inherit: bool,
}

impl ModeControls {
    /// The controls for a mode: MMCSS checked ⇔ mode = mmcss.
    pub fn from_mode(mode: SchedulingMode) -> Self {
        ModeControls {
            mmcss: mode == SchedulingMode::Mmcss,
            auto: mode == SchedulingMode::Auto,
            inherit: mode == SchedulingMode::Inherit,
        }
    }

    /// The mode the controls say.
    pub fn mode(self) -> SchedulingMode {
        if self.auto {
            SchedulingMode::Auto
        } else if self.mmcss {
            SchedulingMode::Mmcss
        } else if self.inherit {
            SchedulingMode::Inherit
        } else {
            SchedulingMode::Manual
        }
    }
}

/// Which scheduling controls are usable for a state of the mode controls.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SchedulingEnables {
    /// The MMCSS check box (off under Auto, which decides itself).
    pub mmcss_box: bool,
    /// Task, priority, fallback.
    pub mmcss_options: bool,
    /// The Manual / Keep radio buttons.
    pub radios: bool,
    /// Thread level and process class.
    pub manual_options: bool,
}

impl SchedulingEnables {
    /// Auto may pick MMCSS or manual, so both sets of options stay usable;
    /// with MMCSS, the manual options matter only as its fallback.
    pub fn of(c: ModeControls, fallback_manual: bool) -> Self {
        SchedulingEnables {
            mmcss_box: !c.auto,
            mmcss_options: c.auto || c.mmcss,
            radios: !c.auto && !c.mmcss,
            manual_options: c.auto || (!c.mmcss && !c.inherit) || (c.mmcss && fallback_manual),
        }
    }
}

/// The value of every key the panel edits, in the file's spelling without
/// quotes, as `(key, value)` in the panel's order. `profile_key` (from
/// [`profile_key`]) adds the current host's profile (`"none"` without one).
pub fn values_of(settings: &Settings, profile_key: Option<&str>) -> Vec<(String, String)> {
    let d = &settings.driver;
    let v = &settings.virtual_device;
    let s = &settings.scheduling;
    let mut out: Vec<(String, String)> = [
        ("driver.backend", d.backend.as_str().to_owned()),
        ("virtual.sample_rate", v.sample_rate.to_string()),
        ("driver.sample_type", d.sample_type.as_str().to_owned()),
        ("virtual.inputs", v.inputs.to_string()),
        ("virtual.outputs", v.outputs.to_string()),
        ("virtual.format", v.format.as_str().to_owned()),
        ("virtual.source", v.source.as_str().to_owned()),
        ("driver.buffer_size", d.buffer_size.to_string()),
        ("scheduling.mode", s.mode.as_str().to_owned()),
        ("scheduling.mmcss_task", s.mmcss_task.clone()),
        (
            "scheduling.mmcss_priority",
            s.mmcss_priority.as_str().to_owned(),
        ),
        (
            "scheduling.mmcss_fallback",
            s.mmcss_fallback.as_str().to_owned(),
        ),
        (
            "scheduling.manual_level",
            s.manual_level.as_str().to_owned(),
        ),
        (
            "scheduling.process_class",
            s.process_class.as_str().to_owned(),
        ),
        ("scheduling.eco_qos_opt_out", s.eco_qos_opt_out.to_string()),
        ("logging.level", settings.logging.level.as_str().to_owned()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v))
    .collect();
    if let Some(key) = profile_key {
        let exe = key.strip_prefix("profiles.").unwrap_or(key);
        let value = settings
            .profile_value(exe)
            .map_or("none", ProfileValue::as_str);
        out.push((key.to_owned(), value.to_owned()));
    }
    out
}

/// Why Apply did not save.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct ApplyError(pub String);

/// The settings the controls describe: `original` with every key whose
/// value differs set through [`tenuto_settings::set_key`] (which validates
/// it). Returns them and the keys changed.
pub fn apply(
    original: &Settings,
    profile_key: Option<&str>,
    values: &[(String, String)],
) -> Result<(Settings, Vec<String>), ApplyError> {
    let before = values_of(original, profile_key);
    let mut settings = original.clone();
    let mut changed = Vec::new();
    for (key, value) in values {
        let unchanged = before.iter().any(|(k, v)| k == key && v == value);
        if unchanged {
            continue;
        }
        tenuto_settings::set_key(&mut settings, key, value)
            .map_err(|p| ApplyError(p.message.clone()))?;
        changed.push(key.clone());
    }
    let v = &settings.virtual_device;
    if v.inputs + v.outputs == 0 {
        return Err(ApplyError(
            "the virtual device needs at least one channel: set Inputs or Outputs above 0"
                .to_owned(),
        ));
    }
    Ok((settings, changed))
}

/// The line at the top for a file's problems: the first one and how many
/// more; `None` without problems.
pub fn problems_line(problems: &[tenuto_settings::Problem]) -> Option<String> {
    let first = problems.first()?;
    let more = match problems.len() {
        1 => String::new(),
        2 => " (and 1 more problem)".to_owned(),
        n => format!(" (and {} more problems)", n - 1),
    };
    Some(format!("Problem: {first}{more}"))
}

/// Groups digits: 1234567 → "1 234 567".
pub fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, ch) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push('\u{2009}');
        }
        out.push(ch);
    }
    out
}

/// The live status, as (label, value) rows, from the driver's shared state.
pub fn status_rows(live: &Shared) -> Vec<(&'static str, String)> {
    let snap = live.counters.snapshot();
    let state = if live.is_streaming() {
        format!(
            "Streaming at {}",
            rate_label(live.sample_rate().round() as u32)
        )
    } else {
        "Not streaming".to_owned()
    };
    let state = match live.stream_error() {
        Some(e) => format!("{state} (last error: {e})"),
        None => state,
    };
    let policy = live.policy_description();
    let policy = if policy.is_empty() {
        "Not applied yet (it is when streaming starts)".to_owned()
    } else {
        policy
    };
    let priority = match snap.last_priority {
        Some(p) => format!("{p} (last of {} samples)", thousands(snap.samples)),
        None => "Not sampled yet".to_owned(),
    };
    let causes: Vec<String> = LateCause::ALL
        .iter()
        .filter(|c| snap.late(**c) > 0)
        .map(|c| format!("{} {}", thousands(snap.late(*c)), c.name()))
        .collect();
    let late = if snap.late_periods == 0 {
        "None".to_owned()
    } else if causes.is_empty() {
        thousands(snap.late_periods)
    } else {
        format!(
            "{} \u{2014} {}",
            thousands(snap.late_periods),
            causes.join(", ")
        )
    };
    vec![
        ("State:", state),
        ("Scheduling:", policy),
        ("Thread priority:", priority),
        ("Periods:", thousands(snap.periods)),
        ("Late periods:", late),
        ("Demotions:", thousands(snap.demotions)),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set(values: &mut [(String, String)], key: &str, value: &str) {
        let slot = values.iter_mut().find(|(k, _)| k == key).unwrap();
        slot.1 = value.to_owned();
    }

    #[test]
    fn unchanged_controls_give_the_same_settings() {
        let original = Settings::default();
        let values = values_of(&original, Some("profiles.reaper.exe"));
        let (settings, changed) = apply(&original, Some("profiles.reaper.exe"), &values).unwrap();
        assert_eq!(settings, original);
        assert!(changed.is_empty());
    }

    #[test]
    fn unchecking_mmcss_gives_manual_and_only_that_key_changes() {
        let mut original = Settings::default();
        original.scheduling.mode = SchedulingMode::Mmcss;
        let mut c = ModeControls::from_mode(original.scheduling.mode);
        assert!(c.mmcss);
        c.mmcss = false;
        assert_eq!(c.mode(), SchedulingMode::Manual);
        let mut values = values_of(&original, None);
        set(&mut values, "scheduling.mode", c.mode().as_str());
        let (settings, changed) = apply(&original, None, &values).unwrap();
        assert_eq!(settings.scheduling.mode, SchedulingMode::Manual);
        assert_eq!(changed, ["scheduling.mode"]);
    }

    #[test]
    fn every_entry_is_accepted_by_set_key() {
        let original = Settings::default();
        let lists: Vec<(&str, Vec<Entry>)> = vec![
            ("virtual.sample_rate", sample_rates()),
            ("driver.sample_type", sample_types()),
            ("virtual.inputs", channel_counts()),
            ("virtual.format", device_formats()),
            ("virtual.source", sources()),
            ("driver.buffer_size", buffer_sizes(48_000)),
            ("scheduling.mmcss_task", mmcss_tasks(&[], "Pro Audio")),
            ("scheduling.mmcss_priority", mmcss_priorities()),
            ("scheduling.mmcss_fallback", fallbacks()),
            ("scheduling.manual_level", manual_levels()),
            ("scheduling.process_class", process_classes()),
            ("profiles.cubase13.exe", profiles()),
            ("logging.level", log_levels()),
        ];
        for (key, entries) in lists {
            for e in entries {
                let mut s = original.clone();
                tenuto_settings::set_key(&mut s, key, &e.value)
                    .unwrap_or_else(|p| panic!("{key} = {}: {p}", e.value));
            }
        }
        for mode in SchedulingMode::ALL {
            assert_eq!(ModeControls::from_mode(*mode).mode(), *mode);
        }
    }

    #[test]
    fn profiles_are_written_and_removed() {
        let original = Settings::default();
        let key = profile_key(Some(r"C:\Program Files\REAPER\Reaper.exe")).unwrap();
        assert_eq!(key, "profiles.reaper.exe");
        let mut values = values_of(&original, Some(&key));
        set(&mut values, &key, "auto");
        let (with, _) = apply(&original, Some(&key), &values).unwrap();
        assert_eq!(with.profile_value("reaper.exe"), Some(ProfileValue::Auto));
        let mut values = values_of(&with, Some(&key));
        assert!(values.contains(&(key.clone(), "auto".to_owned())));
        set(&mut values, &key, "none");
        let (without, changed) = apply(&with, Some(&key), &values).unwrap();
        assert!(without.profiles.is_empty());
        assert_eq!(changed, [key]);
    }

    #[test]
    fn bad_values_and_no_channels_are_refused_with_a_reason() {
        let original = Settings::default();
        let mut values = values_of(&original, None);
        set(&mut values, "driver.buffer_size", "100");
        let e = apply(&original, None, &values).unwrap_err();
        assert!(e.0.contains("driver.buffer_size"), "{e}");
        let mut values = values_of(&original, None);
        set(&mut values, "virtual.inputs", "0");
        set(&mut values, "virtual.outputs", "0");
        let e = apply(&original, None, &values).unwrap_err();
        assert!(e.0.contains("at least one channel"), "{e}");
    }

    #[test]
    fn enables_follow_the_mode() {
        let mmcss = ModeControls::from_mode(SchedulingMode::Mmcss);
        let e = SchedulingEnables::of(mmcss, false);
        assert!(e.mmcss_options && !e.radios && !e.manual_options);
        assert!(SchedulingEnables::of(mmcss, true).manual_options);
        let manual = ModeControls::from_mode(SchedulingMode::Manual);
        let e = SchedulingEnables::of(manual, true);
        assert!(!e.mmcss_options && e.radios && e.manual_options);
        let inherit = ModeControls::from_mode(SchedulingMode::Inherit);
        assert!(!SchedulingEnables::of(inherit, true).manual_options);
        let auto = ModeControls::from_mode(SchedulingMode::Auto);
        let e = SchedulingEnables::of(auto, false);
        assert!(!e.mmcss_box && e.mmcss_options && e.manual_options && !e.radios);
    }

    #[test]
    fn labels_read_well() {
        assert_eq!(rate_label(44_100), "44.1 kHz");
        assert_eq!(rate_label(48_000), "48 kHz");
        let b = buffer_sizes(48_000);
        assert_eq!(b.first().unwrap().value, "16");
        assert_eq!(b.last().unwrap().value, "8192");
        assert_eq!(b[3].label, "128 samples (2.7 ms at 48 kHz)");
        assert_eq!(manual_levels()[3].label, "Time critical (recommended)");
        assert_eq!(sample_types()[1].label, "16-bit integer (Int16LSB)");
        assert_eq!(thousands(1_234_567), "1\u{2009}234\u{2009}567");
        assert_eq!(
            mmcss_tasks(&["Audio".to_owned()], "Games")[0].value,
            "Games"
        );
    }

    #[test]
    fn status_reads_the_shared_state() {
        let shared = Shared::default();
        let rows = status_rows(&shared);
        assert_eq!(rows[0], ("State:", "Not streaming".to_owned()));
        assert!(rows
            .iter()
            .any(|(l, v)| *l == "Late periods:" && v == "None"));
    }
}
