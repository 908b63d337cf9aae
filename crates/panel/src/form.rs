//! What the panel shows and writes, independent of Win32: the entries of
//! each drop-down, the editing of the endpoint lists ([`EndpointList`]) and the
//! clock source, the values a [`Settings`] gives the controls, turning
//! the controls' values back into a validated [`Settings`] (through
//! [`tenuto_settings::set_key`], exactly as `tenuto config set` does), and
//! the live status lines.

use tenuto_engine::shared::Shared;
use tenuto_engine::stats::LateCause;
use tenuto_settings::{
    BackendSetting, ClockSetting, EndpointEntry, EndpointSetting, FallbackSetting, FormatSetting,
    LogLevel, ManualLevelSetting, MmcssPrioritySetting, OutputSafetySetting, ProcessClassSetting,
    ProfileValue, SampleTypeSetting, SchedulingMode, Settings, SourceSetting, WakeUpSetting,
    WasapiModeSetting, BUFFER_SIZE_MAX, BUFFER_SIZE_MIN, MAX_CHANNELS, SAMPLE_RATES,
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

/// `driver.backend`: WASAPI first (the default on Windows).
pub fn backends() -> Vec<Entry> {
    [BackendSetting::Wasapi, BackendSetting::Virtual]
        .iter()
        .map(|b| {
            let label = match b {
                BackendSetting::Wasapi => "WASAPI (Windows audio devices)",
                BackendSetting::Virtual => "Virtual device (test signal / loopback)",
            };
            Entry::new(b.as_str(), label)
        })
        .collect()
}

/// `wasapi.mode`.
pub fn wasapi_modes() -> Vec<Entry> {
    WasapiModeSetting::ALL
        .iter()
        .map(|m| {
            let label = match m {
                WasapiModeSetting::Shared => "Shared",
                WasapiModeSetting::LowLatency => "Low latency (IAudioClient3)",
                WasapiModeSetting::Exclusive => "Exclusive",
            };
            Entry::new(m.as_str(), label)
        })
        .collect()
}

/// `wasapi.wake_up`.
pub fn wake_ups() -> Vec<Entry> {
    WakeUpSetting::ALL
        .iter()
        .map(|w| {
            let label = match w {
                WakeUpSetting::Events => "Events (recommended)",
                WakeUpSetting::Polling => "Polling (for devices whose events do not work)",
            };
            Entry::new(w.as_str(), label)
        })
        .collect()
}

/// `wasapi.output_safety`: auto, none, a few common amounts, and the file's own value
/// when it is another.
pub fn output_safeties(current: OutputSafetySetting) -> Vec<Entry> {
    let mut entries = vec![
        Entry::new(
            "auto",
            "Auto (none on Windows, one engine period under Wine)",
        ),
        Entry::new("0", "None"),
    ];
    let mut amounts = vec![2, 5, 10, 20, 40];
    if let OutputSafetySetting::Ms(ms) = current {
        if ms != 0 && !amounts.contains(&ms) {
            amounts.push(ms);
            amounts.sort_unstable();
        }
    }
    entries.extend(amounts.into_iter().map(|ms| {
        Entry::new(
            ms.to_string(),
            format!("{ms} ms (adds to the output latency)"),
        )
    }));
    entries
}

/// What the panel shows of one audio endpoint of a direction (on Windows from
/// `tenuto_wasapi::endpoints()`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Device {
    /// The endpoint ID: the value saved in the file.
    pub id: String,
    /// The friendly name, shown.
    pub name: String,
    /// Windows' default device for the direction.
    pub is_default: bool,
    /// Active (it can stream); the others are listed only to name an unplugged
    /// device the file chose.
    pub active: bool,
    /// Its shared-mode mix rate, Hz, when known.
    pub rate: Option<u32>,
    /// Its minimum device period (`GetDevicePeriod`, the exclusive-mode minimum), 100-ns
    /// units, when known.
    pub minimum_period_hns: Option<i64>,
}

impl Device {
    /// What the panel shows of `endpoint`.
    pub fn from_endpoint(endpoint: &tenuto_wasapi::Endpoint) -> Self {
        Device {
            id: endpoint.id.clone(),
            name: endpoint.name.clone(),
            is_default: endpoint.is_default,
            active: endpoint.state == tenuto_wasapi::EndpointState::Active,
            rate: endpoint.mix_format.as_ref().map(|m| m.rate),
            minimum_period_hns: endpoint.shared_period_hns.map(|(_, minimum)| minimum),
        }
    }
}

/// The device a `wasapi.output` / `wasapi.input` value names among `devices`: by
/// ID, else (the file's fallback) by friendly name, exactly, then ignoring ASCII
/// case. `"default"` gives Windows' default device; `"off"` none.
pub fn device_for<'d>(devices: &'d [Device], value: &str) -> Option<&'d Device> {
    match EndpointSetting::parse(value).ok()? {
        EndpointSetting::Off => None,
        EndpointSetting::Default => devices.iter().find(|d| d.is_default && d.active),
        EndpointSetting::Device(v) => devices
            .iter()
            .find(|d| d.id == v)
            .or_else(|| devices.iter().find(|d| d.active && d.name == v))
            .or_else(|| {
                devices
                    .iter()
                    .find(|d| d.active && d.name.eq_ignore_ascii_case(&v))
            }),
    }
}

/// The entries of the Output or Input device drop-down (the device of the entry
/// selected in the direction's list): "Windows default (its name)", then every active
/// device of the direction by name, sorted (its value is its ID). `devices` is `None`
/// when the enumeration failed. `current` is the selected entry's endpoint as the file
/// spells it (`"default"`, an ID or a name, without channels): a device named by its
/// friendly name keeps that value (so that an unchanged drop-down saves the file's
/// spelling), and one that is not connected stays selectable as "… (not connected)".
pub fn endpoint_entries(devices: Option<&[Device]>, current: &str) -> Vec<Entry> {
    let list = devices.unwrap_or(&[]);
    let default_label = match (devices, list.iter().find(|d| d.is_default && d.active)) {
        (None, _) => "Windows default".to_owned(),
        (Some(_), Some(d)) => format!("Windows default ({})", d.name),
        (Some(_), None) => "Windows default (none now)".to_owned(),
    };
    let mut out = vec![Entry::new("default", default_label)];
    let current = EndpointSetting::parse(current).ok();
    let chosen = current
        .as_ref()
        .and_then(EndpointSetting::device)
        .and_then(|v| device_for(list, v).map(|d| (v, d)));
    // By name: Windows' own order changes from one enumeration to the next.
    let mut active: Vec<&Device> = list.iter().filter(|d| d.active).collect();
    active.sort_by(|a, b| (a.name.to_lowercase(), &a.id).cmp(&(b.name.to_lowercase(), &b.id)));
    for d in &active {
        let twins = active.iter().filter(|o| o.name == d.name).count();
        let label = if twins > 1 {
            format!("{} [{}]", d.name, d.id)
        } else {
            d.name.clone()
        };
        let value = match chosen {
            // Chosen by its name in the file: keep that spelling.
            Some((v, c)) if c.id == d.id => v.to_owned(),
            _ => d.id.clone(),
        };
        out.push(Entry::new(value, label));
    }
    if let Some(EndpointSetting::Device(v)) = &current {
        if !out.iter().any(|e| e.value == *v) {
            let label = match (devices, chosen) {
                (None, _) => v.clone(),
                // Known to Windows but unplugged or disabled: its name.
                (Some(_), Some((_, d))) => format!("{} (not connected)", d.name),
                (Some(_), None) => format!("{v} (not connected)"),
            };
            out.push(Entry::new(v.clone(), label));
        }
    }
    out
}

/// The rate the buffer sizes are shown at with WASAPI: the mix rate of the first
/// output endpoint listed, else the first input's, else 48 kHz.
pub fn wasapi_rate(
    outputs: &[Device],
    output: &[EndpointEntry],
    inputs: &[Device],
    input: &[EndpointEntry],
) -> u32 {
    let first = |devices: &[Device], list: &[EndpointEntry]| {
        list.first()
            .and_then(|e| device_for(devices, e.endpoint.as_str()))
            .and_then(|d| d.rate)
    };
    first(outputs, output)
        .or_else(|| first(inputs, input))
        .unwrap_or(48_000)
}

/// What an endpoint list shows of one entry: the device's name ("Windows default
/// (Speakers)", "USB Audio", "… (not connected)"), then its channels as the file
/// writes them (" [3-4]").
pub fn entry_label(devices: Option<&[Device]>, entry: &EndpointEntry) -> String {
    let list = devices.unwrap_or(&[]);
    let value = entry.endpoint.as_str();
    let name = match (&entry.endpoint, device_for(list, value)) {
        (EndpointSetting::Default, Some(d)) => format!("Windows default ({})", d.name),
        (EndpointSetting::Default, None) if devices.is_some() => {
            "Windows default (none now)".to_owned()
        }
        (EndpointSetting::Default, None) => "Windows default".to_owned(),
        (_, Some(d)) if d.active => d.name.clone(),
        (_, Some(d)) => format!("{} (not connected)", d.name),
        (_, None) if devices.is_some() => format!("{value} (not connected)"),
        (_, None) => value.to_owned(),
    };
    match entry.channels_text() {
        Some(sel) => format!("{name} [{sel}]"),
        None => name,
    }
}

/// What the channels box of an endpoint list accepts, shown beside it.
pub const CHANNELS_HINT: &str = "e.g. 1-2,5; empty: all";

/// Joins the entries of `wasapi.output` / `wasapi.input` in the panel's values
/// ([`values_of`], [`apply`]); entries never contain it (the settings refuse control
/// characters in endpoint names).
pub const LIST_SEPARATOR: char = '\n';

/// A list as one value of [`values_of`]: the entries' spellings joined by
/// [`LIST_SEPARATOR`]; empty for off.
pub fn list_value(list: &[EndpointEntry]) -> String {
    let items: Vec<String> = list.iter().map(EndpointEntry::as_string).collect();
    items.join(&LIST_SEPARATOR.to_string())
}

/// The entries a [`list_value`] holds.
fn list_items(value: &str) -> Vec<&str> {
    if value.is_empty() {
        Vec::new()
    } else {
        value.split(LIST_SEPARATOR).collect()
    }
}

/// One direction's endpoint list as the window edits it: the entries in order and
/// the one selected, which the device drop-down and the channels box show and change.
/// Every change keeps the list valid for the settings: no endpoint twice, channels as
/// the file allows them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EndpointList {
    /// The entries, in channel order.
    pub entries: Vec<EndpointEntry>,
    /// The selected entry; `None` only when the list is empty.
    pub selected: Option<usize>,
}

impl EndpointList {
    /// `entries` with the first selected.
    pub fn new(entries: Vec<EndpointEntry>) -> Self {
        let selected = (!entries.is_empty()).then_some(0);
        EndpointList { entries, selected }
    }

    /// The selected entry.
    pub fn current(&self) -> Option<&EndpointEntry> {
        self.entries.get(self.selected?)
    }

    /// Selects entry `index` (ignored when there is none).
    pub fn select(&mut self, index: usize) {
        if index < self.entries.len() {
            self.selected = Some(index);
        }
    }

    /// The list's labels ([`entry_label`]).
    pub fn labels(&self, devices: Option<&[Device]>) -> Vec<String> {
        self.entries
            .iter()
            .map(|e| entry_label(devices, e))
            .collect()
    }

    /// The index of another entry naming `endpoint` than `except`.
    fn listed(&self, endpoint: &EndpointSetting, except: Option<usize>) -> Option<usize> {
        self.entries
            .iter()
            .enumerate()
            .position(|(i, e)| Some(i) != except && e.endpoint.same_as(endpoint))
    }

    fn already(&self, endpoint: &EndpointSetting, at: usize) -> String {
        format!(
            "{} is already in the list (entry {}); each device is listed once, with all the \
             channels it carries",
            endpoint.as_str(),
            at + 1
        )
    }

    /// Adds an entry after the others and selects it: Windows' default device when the
    /// list does not have it, else the first active device (by name) it does not have.
    /// The error says when every device is listed.
    pub fn add(&mut self, devices: Option<&[Device]>) -> Result<(), String> {
        let candidates = endpoint_entries(devices, "default");
        let free = candidates.iter().find_map(|c| {
            let endpoint = EndpointSetting::parse(&c.value).ok()?;
            self.listed(&endpoint, None).is_none().then_some(endpoint)
        });
        let Some(endpoint) = free else {
            return Err("Every device is already in the list.".to_owned());
        };
        self.entries.push(EndpointEntry::all_channels(endpoint));
        self.selected = Some(self.entries.len() - 1);
        Ok(())
    }

    /// Removes the selected entry; the one after it (else the one before) is selected.
    pub fn remove(&mut self) {
        let Some(i) = self.selected else { return };
        self.entries.remove(i);
        self.selected = match self.entries.len() {
            0 => None,
            n => Some(i.min(n - 1)),
        };
    }

    /// Moves the selected entry one place up (`up`) or down; it stays selected.
    pub fn shift(&mut self, up: bool) {
        let Some(i) = self.selected else { return };
        let j = if up { i.checked_sub(1) } else { Some(i + 1) };
        if let Some(j) = j.filter(|j| *j < self.entries.len()) {
            self.entries.swap(i, j);
            self.selected = Some(j);
        }
    }

    /// The device drop-down chose `value` (an [`endpoint_entries`] value): the selected
    /// entry becomes that device (with all its channels when the device changes), or,
    /// in an empty list, the first entry. A device listed in another entry is refused.
    pub fn choose(&mut self, value: &str) -> Result<(), String> {
        let endpoint = EndpointSetting::parse(value)?;
        if let Some(at) = self.listed(&endpoint, self.selected) {
            return Err(self.already(&endpoint, at));
        }
        match self.selected.and_then(|i| self.entries.get_mut(i)) {
            Some(entry) if entry.endpoint == endpoint => {}
            Some(entry) => *entry = EndpointEntry::all_channels(endpoint),
            None => {
                self.entries.push(EndpointEntry::all_channels(endpoint));
                self.selected = Some(self.entries.len() - 1);
            }
        }
        Ok(())
    }

    /// The channels box of the selected entry says `text` (`"3-4"`, `"1-2,5"`; empty or
    /// `all` = every channel). The error says what is wrong; the entry is then unchanged.
    pub fn set_channels(&mut self, text: &str) -> Result<(), String> {
        let Some(entry) = self.selected.and_then(|i| self.entries.get_mut(i)) else {
            return Ok(());
        };
        entry.channels = EndpointEntry::parse_channels(text)?;
        Ok(())
    }
}

/// The Clock drop-down: Auto (saying which endpoint it takes), then every listed
/// endpoint, outputs first, as "Output: name" / "Input: name"; the value is the
/// endpoint as the list spells it, or the clock setting's own spelling when it names
/// that endpoint (so that an unchanged drop-down saves the file's spelling).
pub fn clock_entries(
    devices: (Option<&[Device]>, Option<&[Device]>),
    lists: (&[EndpointEntry], &[EndpointEntry]),
    current: &ClockSetting,
) -> Vec<Entry> {
    let (outputs, inputs) = lists;
    let name = |dev: Option<&[Device]>, e: &EndpointEntry| {
        entry_label(dev, &EndpointEntry::all_channels(e.endpoint.clone()))
    };
    let auto = match (inputs.first(), outputs.first()) {
        (Some(e), _) => format!("Auto (first input: {})", name(devices.1, e)),
        (None, Some(e)) => format!("Auto (first output: {})", name(devices.0, e)),
        (None, None) => "Auto".to_owned(),
    };
    let mut out = vec![Entry::new("auto", auto)];
    let mut seen: Vec<&EndpointSetting> = Vec::new();
    let sides = [("Output", devices.0, outputs), ("Input", devices.1, inputs)];
    for (side, dev, list) in sides {
        for e in list {
            if seen.iter().any(|s| s.same_as(&e.endpoint)) {
                continue;
            }
            seen.push(&e.endpoint);
            let value = match current {
                ClockSetting::Endpoint(text)
                    if EndpointSetting::parse(text).is_ok_and(|c| c.same_as(&e.endpoint)) =>
                {
                    text.clone()
                }
                _ => e.endpoint.as_str().to_owned(),
            };
            out.push(Entry::new(value, format!("{side}: {}", name(dev, e))));
        }
    }
    out
}

/// The Clock drop-down's value after the lists changed: the chosen one while it is
/// still among `entries`, else `auto`.
pub fn clock_value(entries: &[Entry], chosen: Option<&str>) -> String {
    match chosen {
        Some(v) if index_of(entries, v).is_some() => v.to_owned(),
        _ => "auto".to_owned(),
    }
}

/// Which device controls are usable for a backend.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DeviceEnables {
    /// Output device, input device, WASAPI mode.
    pub wasapi: bool,
    /// Sample rate, inputs, outputs, device format, what the inputs capture.
    pub virtual_device: bool,
}

impl DeviceEnables {
    /// For the backend drop-down's value (`"wasapi"`, `"virtual"`).
    pub fn of(backend: &str) -> Self {
        let wasapi = BackendSetting::parse(backend) == Some(BackendSetting::Wasapi);
        DeviceEnables {
            wasapi,
            virtual_device: !wasapi,
        }
    }
}

/// The check box of `wasapi.convert_rate` (about 2 ms each way: a host at 44.1 kHz on a
/// 48 kHz device, `tenuto_settings::conversion_text`).
pub const CONVERT_RATE: &str = "Convert other sample rates (adds about 2 ms)";

/// Whether the `wasapi.convert_rate` check box applies: WASAPI in a shared mode (exclusive
/// mode runs at the host's rate and never converts).
pub fn convert_rate_applies(backend: &str, mode: &str) -> bool {
    DeviceEnables::of(backend).wasapi
        && WasapiModeSetting::parse(mode) != Some(WasapiModeSetting::Exclusive)
}

/// `virtual.sample_rate`.
pub fn sample_rates() -> Vec<Entry> {
    SAMPLE_RATES
        .iter()
        .map(|r| Entry::new(r.to_string(), rate_label(*r)))
        .collect()
}

/// The note under the buffer size when the devices run the setting as it is.
pub const BUFFER_NOTE: &str = "Smaller buffers lower the latency but need a steadier system. \
     The host may choose another size.";

/// Whether the chosen WASAPI devices offer hosts another preferred size than
/// `driver.buffer_size`, and why ([`Settings::wasapi_buffer_offer`], the rule
/// the device answers `getBufferSize` with): in exclusive mode, a setting below
/// the devices' minimum period (the largest of all listed endpoints'), at the
/// first output's mix rate (else the first input's, else 48 kHz). `None` for the virtual
/// device (it runs every size the setting allows) and when the devices are not
/// known.
pub fn buffer_clamp(
    settings: &Settings,
    outputs: &[Device],
    inputs: &[Device],
) -> Option<tenuto_wasapi::Clamp> {
    if settings.driver.backend != BackendSetting::Wasapi {
        return None;
    }
    let w = &settings.wasapi;
    let chosen = w
        .output
        .iter()
        .filter_map(|e| device_for(outputs, e.endpoint.as_str()))
        .chain(
            w.input
                .iter()
                .filter_map(|e| device_for(inputs, e.endpoint.as_str())),
        );
    let minimum = chosen
        .filter_map(|d| d.minimum_period_hns)
        .max()
        .unwrap_or(0);
    let rate = wasapi_rate(outputs, &w.output, inputs, &w.input);
    settings.wasapi_buffer_offer(minimum, rate).clamp
}

/// The note under the buffer size: [`BUFFER_NOTE`], then the clamp of
/// [`buffer_clamp`] in its own words when there is one.
pub fn buffer_note(settings: &Settings, outputs: &[Device], inputs: &[Device]) -> String {
    match buffer_clamp(settings, outputs, inputs) {
        Some(clamp) => format!("{BUFFER_NOTE} {}.", sentence(&clamp.to_string())),
        None => BUFFER_NOTE.to_owned(),
    }
}

/// The longest note [`buffer_note`] gives (to reserve room).
pub fn longest_buffer_note() -> String {
    let clamp = tenuto_wasapi::Clamp {
        requested_frames: 4096,
        offered_frames: 8192,
        reason: tenuto_wasapi::sizes::ClampReason::DeviceMinimum {
            minimum_period_hns: 426_667,
            rate: 192_000,
        },
    };
    format!("{BUFFER_NOTE} {}.", sentence(&clamp.to_string()))
}

/// `text` with its first letter in upper case.
fn sentence(text: &str) -> String {
    let mut chars = text.chars();
    chars
        .next()
        .map(|c| c.to_uppercase().chain(chars).collect())
        .unwrap_or_default()
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
                LogLevel::Debug => "Debug: also every call from the DAW (for support requests)",
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
/// quotes (an endpoint list as [`list_value`]), as `(key, value)` in the panel's order. `profile_key` (from
/// [`profile_key`]) adds the current host's profile (`"none"` without one).
pub fn values_of(settings: &Settings, profile_key: Option<&str>) -> Vec<(String, String)> {
    let d = &settings.driver;
    let v = &settings.virtual_device;
    let s = &settings.scheduling;
    let w = &settings.wasapi;
    let mut out: Vec<(String, String)> = [
        ("driver.backend", d.backend.as_str().to_owned()),
        ("wasapi.output", list_value(&w.output)),
        ("wasapi.input", list_value(&w.input)),
        ("wasapi.clock", w.clock.as_str().to_owned()),
        ("wasapi.mode", w.mode.as_str().to_owned()),
        ("wasapi.output_safety", w.output_safety.as_text()),
        ("wasapi.wake_up", w.wake_up.as_str().to_owned()),
        ("wasapi.convert_rate", w.convert_rate.to_string()),
        ("virtual.sample_rate", v.sample_rate.to_string()),
        ("virtual.inputs", v.inputs.to_string()),
        ("virtual.outputs", v.outputs.to_string()),
        ("virtual.format", v.format.as_str().to_owned()),
        ("virtual.source", v.source.as_str().to_owned()),
        ("driver.sample_type", d.sample_type.as_str().to_owned()),
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
    let unchanged = |key: &str, value: &str| before.iter().any(|(k, v)| k == key && v == value);
    let mut settings = original.clone();
    let mut changed = Vec::new();
    let is_list = |key: &str| matches!(key, "wasapi.output" | "wasapi.input");
    // The clock must name a listed endpoint: while the lists change it is auto, and it
    // is set last, against the lists as they end up.
    let lists_changed = values.iter().any(|(k, v)| is_list(k) && !unchanged(k, v));
    if lists_changed {
        settings.wasapi.clock = ClockSetting::Auto;
    }
    for (key, value) in values {
        if key == "wasapi.clock" || unchanged(key, value) {
            continue;
        }
        if is_list(key) {
            tenuto_settings::set_key_values(&mut settings, key, &list_items(value))
        } else {
            tenuto_settings::set_key(&mut settings, key, value)
        }
        .map_err(|p| ApplyError(p.message.clone()))?;
        changed.push(key.clone());
    }
    let clock = values
        .iter()
        .find(|(k, _)| k == "wasapi.clock")
        .map_or_else(
            || original.wasapi.clock.as_str().to_owned(),
            |(_, v)| v.clone(),
        );
    if lists_changed || !unchanged("wasapi.clock", &clock) {
        tenuto_settings::set_key(&mut settings, "wasapi.clock", &clock)
            .map_err(|p| ApplyError(p.message.clone()))?;
        if settings.wasapi.clock != original.wasapi.clock {
            changed.push("wasapi.clock".to_owned());
        }
    }
    let v = &settings.virtual_device;
    if v.inputs + v.outputs == 0 {
        return Err(ApplyError(
            "the virtual device needs at least one channel: set Inputs or Outputs above 0"
                .to_owned(),
        ));
    }
    let w = &settings.wasapi;
    if settings.driver.backend == BackendSetting::Wasapi
        && w.output.is_empty()
        && w.input.is_empty()
    {
        return Err(ApplyError(
            "WASAPI needs a device: add an output or an input device".to_owned(),
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

/// The state row with what the running stream does besides (the rate conversion:
/// "Streaming at 44.1 kHz, converting 44100 → 48000 Hz, +1.8 ms in, +1.9 ms out"); the
/// note of a stream that no longer runs is not shown.
fn with_stream_note(state: String, note: &str, streaming: bool) -> String {
    if note.is_empty() || !streaming {
        state
    } else {
        format!("{state}, {note}")
    }
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
    // A device that works but is not the one configured (Windows' default used instead).
    let notice = live.device_notice();
    let state = if notice.is_empty() {
        state
    } else {
        format!("{state} \u{2014} {notice}")
    };
    let state = with_stream_note(state, &live.stream_note(), live.is_streaming());
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
    let mut gaps = Vec::new();
    let mut count = |n: u64, one: &str, many: &str| {
        if n > 0 {
            gaps.push(format!(
                "{} {}",
                thousands(n),
                if n == 1 { one } else { many }
            ));
        }
    };
    count(snap.output_underruns, "output underrun", "output underruns");
    count(snap.input_overruns, "input overrun", "input overruns");
    count(snap.resyncs, "resync", "resyncs");
    count(snap.device_stalls, "stall", "stalls");
    if snap.device_stalls > 0 {
        if let Some(last) = gaps.last_mut() {
            last.push_str(&format!(
                " ({} ms lost)",
                thousands(snap.device_stall_lost_us / 1000)
            ));
        }
    }
    let gaps = if gaps.is_empty() {
        "None".to_owned()
    } else {
        format!("{} \u{2014} the log says what each was", gaps.join(", "))
    };
    vec![
        ("State:", state),
        ("Scheduling:", policy),
        ("Thread priority:", priority),
        ("Periods:", thousands(snap.periods)),
        ("Late periods:", late),
        ("Demotions:", thousands(snap.demotions)),
        ("Device gaps:", gaps),
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
            ("driver.backend", backends()),
            ("wasapi.output", endpoint_entries(Some(&devices()), "gone")),
            ("wasapi.input", endpoint_entries(None, "Mic")),
            (
                "wasapi.clock",
                clock_entries(
                    (Some(&devices()), None),
                    (&[EndpointEntry::default()], &[EndpointEntry::default()]),
                    &ClockSetting::Auto,
                ),
            ),
            ("wasapi.mode", wasapi_modes()),
            (
                "wasapi.output_safety",
                output_safeties(OutputSafetySetting::Ms(7)),
            ),
            ("wasapi.wake_up", wake_ups()),
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

    const SPEAKERS: &str = "{0.0.0.00000000}.{11111111-aaaa-4bbb-8ccc-000000000001}";
    const USB: &str = "{0.0.0.00000000}.{22222222-aaaa-4bbb-8ccc-000000000002}";
    const HDMI: &str = "{0.0.0.00000000}.{33333333-aaaa-4bbb-8ccc-000000000003}";

    fn device(id: &str, name: &str, is_default: bool, active: bool, rate: u32) -> Device {
        Device {
            id: id.to_owned(),
            name: name.to_owned(),
            is_default,
            active,
            rate: Some(rate),
            minimum_period_hns: Some(30_000),
        }
    }

    /// Two active outputs (the first is Windows' default) and an unplugged one.
    fn devices() -> Vec<Device> {
        vec![
            device(SPEAKERS, "Speakers (Realtek Audio)", true, true, 48_000),
            device(USB, "Speakers (2- USB Audio)", false, true, 44_100),
            device(HDMI, "Display (HDMI)", false, false, 48_000),
        ]
    }

    fn labels(entries: &[Entry]) -> Vec<(&str, &str)> {
        entries
            .iter()
            .map(|e| (e.value.as_str(), e.label.as_str()))
            .collect()
    }

    #[test]
    fn endpoints_map_to_entries_and_back() {
        let devs = devices();
        // Default, then the active devices by name, saved by ID.
        let entries = endpoint_entries(Some(&devs), "default");
        // Sorted by name, whatever Windows' order.
        assert_eq!(
            labels(&entries),
            [
                ("default", "Windows default (Speakers (Realtek Audio))"),
                (USB, "Speakers (2- USB Audio)"),
                (SPEAKERS, "Speakers (Realtek Audio)"),
            ]
        );
        let mut reversed = devs.clone();
        reversed.reverse();
        assert_eq!(endpoint_entries(Some(&reversed), "default"), entries);
        assert_eq!(index_of(&entries, "default"), Some(0));
        // A device chosen by ID.
        let entries = endpoint_entries(Some(&devs), USB);
        assert_eq!(entries.len(), 3);
        assert_eq!(index_of(&entries, USB), Some(1));
        // Chosen by name (the file's fallback): that entry keeps the name, in any case.
        let entries = endpoint_entries(Some(&devs), "speakers (2- usb audio)");
        assert_eq!(entries.len(), 3);
        assert_eq!(
            (entries[1].value.as_str(), entries[1].label.as_str()),
            ("speakers (2- usb audio)", "Speakers (2- USB Audio)")
        );
        // Unplugged: known to Windows (its name) or not at all (the value).
        let entries = endpoint_entries(Some(&devs), HDMI);
        assert_eq!(
            entries.last().map(|e| (e.value.as_str(), e.label.as_str())),
            Some((HDMI, "Display (HDMI) (not connected)"))
        );
        let gone = "{0.0.0.00000000}.{99999999-aaaa-4bbb-8ccc-000000000009}";
        let entries = endpoint_entries(Some(&devs), gone);
        assert_eq!(entries.len(), 4);
        assert_eq!(entries[3].label, format!("{gone} (not connected)"));
        assert_eq!(index_of(&entries, gone), Some(3));
        // The enumeration failed: the file's value as it is.
        let entries = endpoint_entries(None, SPEAKERS);
        assert_eq!(
            labels(&entries),
            [("default", "Windows default"), (SPEAKERS, SPEAKERS)]
        );
        // No default device (none active).
        let entries = endpoint_entries(Some(&[]), "default");
        assert_eq!(entries[0].label, "Windows default (none now)");
        // Two devices with one name are told apart by ID.
        let twins = vec![
            device(SPEAKERS, "USB Audio", false, true, 48_000),
            device(USB, "USB Audio", false, true, 48_000),
        ];
        let entries = endpoint_entries(Some(&twins), "default");
        assert_eq!(entries[1].label, format!("USB Audio [{SPEAKERS}]"));
        assert_eq!(entries[0].label, "Windows default (none now)");
    }

    fn entry(text: &str) -> EndpointEntry {
        EndpointEntry::parse(text).unwrap()
    }

    #[test]
    fn list_entries_show_the_device_and_its_channels() {
        let devs = devices();
        let label = |text: &str| entry_label(Some(&devs), &entry(text));
        assert_eq!(
            label("default"),
            "Windows default (Speakers (Realtek Audio))"
        );
        assert_eq!(
            label(&format!("{USB} [3-4]")),
            "Speakers (2- USB Audio) [3-4]"
        );
        assert_eq!(
            label("speakers (2- usb audio) [1,2,5]"),
            "Speakers (2- USB Audio) [1-2,5]"
        );
        assert_eq!(label(HDMI), "Display (HDMI) (not connected)");
        assert_eq!(label("Gone [2]"), "Gone (not connected) [2]");
        assert_eq!(entry_label(None, &entry("Gone [2]")), "Gone [2]");
        assert_eq!(
            entry_label(Some(&[]), &entry("default")),
            "Windows default (none now)"
        );
    }

    #[test]
    fn lists_are_edited_by_add_remove_order_device_and_channels() {
        let devs = devices();
        let mut list = EndpointList::new(vec![EndpointEntry::default()]);
        assert_eq!(list.selected, Some(0));
        // Add: the first device not listed (default is), selected.
        list.add(Some(&devs)).unwrap();
        list.add(Some(&devs)).unwrap();
        assert_eq!(
            list_value(&list.entries),
            format!("default{LIST_SEPARATOR}{USB}{LIST_SEPARATOR}{SPEAKERS}")
        );
        assert_eq!(list.selected, Some(2));
        // Every active device listed (the unplugged one cannot be added).
        assert_eq!(
            list.add(Some(&devs)),
            Err("Every device is already in the list.".to_owned())
        );
        assert_eq!(list.entries.len(), 3);
        // Order: up twice stops at the top; down moves it back.
        list.shift(true);
        list.shift(true);
        list.shift(true);
        assert_eq!(list.selected, Some(0));
        assert_eq!(list.current().unwrap().endpoint.as_str(), SPEAKERS);
        list.shift(false);
        assert_eq!(list.selected, Some(1));
        assert_eq!(
            list.labels(Some(&devs)),
            [
                "Windows default (Speakers (Realtek Audio))",
                "Speakers (Realtek Audio)",
                "Speakers (2- USB Audio)"
            ]
        );
        // Channels of the selected entry; a bad selection changes nothing and says why.
        list.set_channels("3-4").unwrap();
        let e = list.set_channels("4-3").unwrap_err();
        assert!(e.contains("reversed range 4-3"), "{e}");
        assert_eq!(list.current().unwrap().channels, Some(vec![3, 4]));
        // The device drop-down: another device's entry is refused, a free one replaces
        // the selected entry's device (with all its channels).
        let e = list.choose(USB).unwrap_err();
        assert!(
            e.starts_with(&format!("{USB} is already in the list (entry 3)")),
            "{e}"
        );
        list.select(0);
        list.choose("default").unwrap();
        assert_eq!(list.entries.len(), 3);
        list.select(1);
        list.remove();
        list.select(0);
        list.choose(SPEAKERS).unwrap();
        assert_eq!(list.entries, [entry(SPEAKERS), entry(USB)]);
        // Remove selects the next, else the previous; an empty list's device
        // drop-down adds the first entry.
        list.remove();
        assert_eq!((list.entries.len(), list.selected), (1, Some(0)));
        list.remove();
        assert_eq!((list.entries.len(), list.selected), (0, None));
        list.shift(true);
        list.set_channels("1").unwrap();
        list.choose("default").unwrap();
        assert_eq!(
            (list.entries.clone(), list.selected),
            (vec![entry("default")], Some(0))
        );
        // What the panel saves: a list through set_key_values, validated.
        let original = Settings::default();
        let mut values = values_of(&original, None);
        let edited = EndpointList::new(vec![entry("default [1-2]"), entry(USB)]);
        set(&mut values, "wasapi.output", &list_value(&edited.entries));
        set(&mut values, "wasapi.input", "");
        let (s, changed) = apply(&original, None, &values).unwrap();
        assert_eq!(s.wasapi.output, edited.entries);
        assert_eq!(s.wasapi.input, []);
        assert_eq!(changed, ["wasapi.output", "wasapi.input"]);
        assert!(s
            .to_toml()
            .contains(&format!("output = [\"default [1-2]\", \"{USB}\"]")));
    }

    #[test]
    fn the_clock_offers_auto_and_the_listed_endpoints() {
        let devs = devices();
        let ins = vec![device("in", "Mic", true, true, 48_000)];
        let outputs = [entry("default"), entry(&format!("{USB} [1-2]"))];
        let inputs = [entry("Mic [1]")];
        let entries = clock_entries(
            (Some(&devs), Some(&ins)),
            (&outputs, &inputs),
            &ClockSetting::Auto,
        );
        assert_eq!(
            labels(&entries),
            [
                ("auto", "Auto (first input: Mic)"),
                (
                    "default",
                    "Output: Windows default (Speakers (Realtek Audio))"
                ),
                (USB, "Output: Speakers (2- USB Audio)"),
                ("Mic", "Input: Mic"),
            ]
        );
        // The file's spelling of the chosen one is kept; without inputs, Auto is the
        // first output; "default" in both lists is offered once.
        let chosen = ClockSetting::Endpoint("mic".to_owned());
        let entries = clock_entries((None, None), (&outputs, &inputs), &chosen);
        assert_eq!(entries[3].value, "mic");
        let entries = clock_entries((None, None), (&outputs, &[]), &chosen);
        assert_eq!(entries[0].label, "Auto (first output: Windows default)");
        let both = clock_entries((None, None), (&outputs, &[entry("default")]), &chosen);
        assert_eq!(both.len(), 3);
        // A choice whose endpoint left the lists falls back to Auto.
        assert_eq!(clock_value(&entries, Some(USB)), USB);
        assert_eq!(clock_value(&entries, Some("mic")), "auto");
        assert_eq!(clock_value(&entries, None), "auto");

        // Saved last, against the lists as they end up: a new endpoint chosen as
        // the clock in the same Apply that adds it.
        let original = Settings::default();
        let mut values = values_of(&original, None);
        set(&mut values, "wasapi.output", &list_value(&outputs));
        set(&mut values, "wasapi.clock", USB);
        let (s, changed) = apply(&original, None, &values).unwrap();
        assert_eq!(s.wasapi.clock, ClockSetting::Endpoint(USB.to_owned()));
        assert_eq!(changed, ["wasapi.output", "wasapi.clock"]);
        // Removing the clock's endpoint with the clock back on Auto in one Apply.
        let mut values = values_of(&s, None);
        set(&mut values, "wasapi.output", "default");
        set(&mut values, "wasapi.clock", "auto");
        let (t, changed) = apply(&s, None, &values).unwrap();
        assert_eq!(t.wasapi.clock, ClockSetting::Auto);
        assert_eq!(changed, ["wasapi.output", "wasapi.clock"]);
        // ... but not with the clock left on it: refused, naming the clock.
        set(&mut values, "wasapi.clock", USB);
        let e = apply(&s, None, &values).unwrap_err();
        assert!(
            e.0.starts_with(&format!("wasapi.clock = \"{USB}\" names no endpoint")),
            "{e}"
        );
        // The file's own spelling, unchanged, is no change.
        let mut by_name = s.clone();
        by_name.wasapi.clock = ClockSetting::Endpoint(USB.to_lowercase());
        let values = values_of(&by_name, None);
        assert!(apply(&by_name, None, &values).unwrap().1.is_empty());
    }

    #[test]
    fn choosing_wasapi_and_a_device_writes_those_keys() {
        let devs = devices();
        let mut original = Settings::default();
        original.driver.backend = BackendSetting::Virtual;
        let mut values = values_of(&original, None);
        let value = |values: &[(String, String)], key: &str| {
            values.iter().find(|(k, _)| k == key).unwrap().1.clone()
        };
        assert_eq!(value(&values, "driver.backend"), "virtual");
        assert_eq!(value(&values, "wasapi.output"), "default");
        assert_eq!(index_of(&backends(), "virtual"), Some(1));
        assert_eq!(index_of(&wasapi_modes(), "shared"), Some(0));
        // The user picks WASAPI, the USB speakers for the (selected) first output,
        // removes the input, picks exclusive.
        let mut outputs = EndpointList::new(original.wasapi.output.clone());
        let choices = endpoint_entries(Some(&devs), "default");
        outputs.choose(&choices[1].value).unwrap();
        let mut inputs = EndpointList::new(original.wasapi.input.clone());
        inputs.remove();
        set(&mut values, "driver.backend", &backends()[0].value);
        set(&mut values, "wasapi.output", &list_value(&outputs.entries));
        set(&mut values, "wasapi.input", &list_value(&inputs.entries));
        set(&mut values, "wasapi.mode", &wasapi_modes()[2].value);
        let (s, changed) = apply(&original, None, &values).unwrap();
        assert_eq!(s.driver.backend, BackendSetting::Wasapi);
        assert_eq!(s.wasapi.output, [entry(USB)]);
        assert_eq!(s.wasapi.input, []);
        assert_eq!(s.wasapi.mode, WasapiModeSetting::Exclusive);
        assert_eq!(
            changed,
            [
                "driver.backend",
                "wasapi.output",
                "wasapi.input",
                "wasapi.mode"
            ]
        );
        let text = s.to_toml();
        assert!(text.contains("backend = \"wasapi\""), "{text}");
        // One endpoint with all channels: the single-string form files always had.
        assert!(text.contains(&format!("output = \"{USB}\"")), "{text}");
        // Reopened: the same values, nothing to save.
        let again = values_of(&s, None);
        let (same, changed) = apply(&s, None, &again).unwrap();
        assert_eq!((same, changed.len()), (s.clone(), 0));
        // A device the file names by its friendly name stays as written.
        let mut by_name = s.clone();
        by_name.wasapi.output = vec![entry("Speakers (2- USB Audio)")];
        let values = values_of(&by_name, None);
        let entries = endpoint_entries(Some(&devs), &value(&values, "wasapi.output"));
        assert_eq!(
            index_of(&entries, &value(&values, "wasapi.output")),
            Some(1)
        );
        assert!(apply(&by_name, None, &values).unwrap().1.is_empty());
        // Both directions off: refused, with the reason.
        let mut values = values_of(&s, None);
        set(&mut values, "wasapi.output", "");
        let e = apply(&s, None, &values).unwrap_err();
        assert!(e.0.contains("WASAPI needs a device"), "{e}");
        // ... but fine with the virtual device.
        set(&mut values, "driver.backend", "virtual");
        assert!(apply(&s, None, &values).is_ok());
    }

    #[test]
    fn the_backend_enables_its_controls() {
        let w = DeviceEnables::of("wasapi");
        assert!(w.wasapi && !w.virtual_device);
        let v = DeviceEnables::of("virtual");
        assert!(!v.wasapi && v.virtual_device);
        assert_eq!(
            labels(&backends()),
            [
                ("wasapi", "WASAPI (Windows audio devices)"),
                ("virtual", "Virtual device (test signal / loopback)")
            ]
        );
        assert_eq!(
            labels(&wasapi_modes()),
            [
                ("shared", "Shared"),
                ("low-latency", "Low latency (IAudioClient3)"),
                ("exclusive", "Exclusive")
            ]
        );
    }

    #[test]
    fn buffer_labels_follow_the_chosen_devices_rate() {
        let outs = devices();
        let ins = vec![device("in", "Mic", true, true, 96_000)];
        let default = [EndpointEntry::default()];
        let usb = [entry(USB), entry("default")];
        assert_eq!(wasapi_rate(&outs, &default, &ins, &default), 48_000);
        // The first output's rate.
        assert_eq!(wasapi_rate(&outs, &usb, &ins, &default), 44_100);
        assert_eq!(wasapi_rate(&outs, &[], &ins, &default), 96_000);
        assert_eq!(wasapi_rate(&outs, &[], &ins, &[]), 48_000);
        assert_eq!(wasapi_rate(&[], &default, &[], &default), 48_000);
        assert_eq!(
            device_for(&outs, "Speakers (Realtek Audio)").unwrap().id,
            SPEAKERS
        );
        assert_eq!(device_for(&outs, "off"), None);
        assert_eq!(device_for(&outs, ""), None);
    }

    #[test]
    fn the_buffer_note_says_when_and_why_the_setting_is_not_offered() {
        let outs = devices();
        let ins = vec![Device {
            minimum_period_hns: Some(20_000),
            ..device("in", "Mic", true, true, 48_000)
        }];
        let mut s = Settings::default();
        s.driver.backend = BackendSetting::Wasapi;
        s.driver.buffer_size = 64;
        // Shared mode runs every size: the plain note.
        assert_eq!(buffer_clamp(&s, &outs, &ins), None);
        assert_eq!(buffer_note(&s, &outs, &ins), BUFFER_NOTE);
        // Exclusive: the outputs' 3 ms minimum is 144 frames at the default output's 48 kHz
        // (the input's 2 ms is smaller); the note is the driver's own clamp, as a sentence.
        s.wasapi.mode = WasapiModeSetting::Exclusive;
        let clamp = buffer_clamp(&s, &outs, &ins).expect("clamped");
        assert_eq!((clamp.requested_frames, clamp.offered_frames), (64, 144));
        assert_eq!(Some(clamp), s.wasapi_buffer_offer(30_000, 48_000).clamp);
        let note = buffer_note(&s, &outs, &ins);
        assert_eq!(
            note,
            format!(
                "{BUFFER_NOTE} Buffer size 64 is below the device's minimum of 144 frames (3 ms at \
                 48000 Hz) in exclusive mode, where one ASIO buffer is one device period; DAWs \
                 are offered 144."
            )
        );
        assert!(note.len() <= longest_buffer_note().len(), "{note}");
        // The USB output runs at 44.1 kHz: 133 frames (rounded up).
        s.wasapi.output = vec![entry(USB)];
        assert_eq!(
            buffer_clamp(&s, &outs, &ins).map(|c| c.offered_frames),
            Some(133)
        );
        // A setting at or above the minimum, and the virtual device: the plain note.
        s.driver.buffer_size = 256;
        assert_eq!(buffer_note(&s, &outs, &ins), BUFFER_NOTE);
        s.driver.buffer_size = 16;
        s.driver.backend = BackendSetting::Virtual;
        assert_eq!(buffer_note(&s, &outs, &ins), BUFFER_NOTE);
        // Devices not known (the listing failed): nothing to say.
        s.driver.backend = BackendSetting::Wasapi;
        assert_eq!(buffer_clamp(&s, &[], &[]), None);
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
        assert!(rows
            .iter()
            .any(|(l, v)| *l == "Device gaps:" && v == "None"));
    }

    #[test]
    fn status_says_when_the_stream_converts() {
        let note = "converting 44100 \u{2192} 48000 Hz, +1.8 ms in, +1.9 ms out";
        assert_eq!(
            with_stream_note("Streaming at 44.1 kHz".to_owned(), note, true),
            "Streaming at 44.1 kHz, converting 44100 \u{2192} 48000 Hz, +1.8 ms in, +1.9 ms out"
        );
        assert_eq!(
            with_stream_note("Streaming at 48 kHz".to_owned(), "", true),
            "Streaming at 48 kHz"
        );
        // Through the shared state: not streaming, so the last stream's note is not shown.
        let shared = Shared::default();
        shared.set_stream_note(note);
        assert_eq!(status_rows(&shared)[0].1, "Not streaming");
        // The check box applies to WASAPI's shared modes only.
        assert!(convert_rate_applies("wasapi", "shared"));
        assert!(convert_rate_applies("wasapi", "low-latency"));
        assert!(!convert_rate_applies("wasapi", "exclusive"));
        assert!(!convert_rate_applies("virtual", "shared"));
        // Its value goes through set_key like every control's.
        let original = Settings::default();
        let mut values = values_of(&original, None);
        set(&mut values, "wasapi.convert_rate", "false");
        let (settings, changed) = apply(&original, None, &values).unwrap();
        assert!(!settings.wasapi.convert_rate);
        assert_eq!(changed, ["wasapi.convert_rate"]);
    }

    #[test]
    fn status_says_when_the_configured_device_is_not_the_one_in_use() {
        let shared = Shared::default();
        shared.set_device_notice(
            "using Windows' default output \"Speakers\": wasapi.output \"USB\" is not there",
        );
        let rows = status_rows(&shared);
        assert_eq!(
            rows[0].1,
            "Not streaming \u{2014} using Windows' default output \"Speakers\": wasapi.output \
             \"USB\" is not there"
        );
    }

    #[test]
    fn status_counts_device_gaps_with_the_time_stalls_lost() {
        let shared = Shared::default();
        shared
            .counters
            .set_device(&tenuto_engine::device::DeviceCounters {
                resyncs: 1,
                device_stalls: 2,
                device_stall_lost_us: 240_500,
                ..Default::default()
            });
        let rows = status_rows(&shared);
        let gaps = &rows.iter().find(|(l, _)| *l == "Device gaps:").unwrap().1;
        assert_eq!(
            gaps,
            "1 resync, 2 stalls (240 ms lost) \u{2014} the log says what each was"
        );
    }
}
