//! Every key of the file: its type, its documentation, and the one validation that
//! loading, [`set_key`] and the panel share.

use crate::choices::{
    list_or, BackendSetting, Choice, FallbackSetting, FormatSetting, LogLevel, ManualLevelSetting,
    MissingDeviceSetting, MmcssPrioritySetting, ProcessClassSetting, ProfileValue,
    SampleTypeSetting, SchedulingMode, SourceSetting, WakeUpSetting, WasapiModeSetting,
};
use crate::endpoints::{list_toml, parse_list, parse_single, ClockSetting, EndpointEntry};
use crate::model::{
    format_linux_policy, parse_linux_policy, profile_key, OutputSafetySetting, Settings,
    BUFFER_SIZE_MAX, BUFFER_SIZE_MIN, MAX_CHANNELS, SAMPLE_RATES,
};
use crate::problem::{Problem, Severity};
use crate::quote::toml_string;
use crate::similar::{closest, did_you_mean_text};

/// The TOML type a key takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ValueKind {
    /// A string.
    String,
    /// A whole number.
    Integer,
    /// `true` or `false`.
    Boolean,
    /// A string, or an array of strings (`wasapi.output`, `wasapi.input`).
    StringOrList,
}

impl ValueKind {
    /// "a string", "a whole number", "true or false".
    pub const fn noun(self) -> &'static str {
        match self {
            ValueKind::String => "a string",
            ValueKind::Integer => "a whole number",
            ValueKind::Boolean => "true or false",
            ValueKind::StringOrList => "a string or an array of strings",
        }
    }
}

/// One key of the file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KeyInfo {
    /// `section.name`, e.g. `"scheduling.mode"`.
    pub key: &'static str,
    /// Its TOML type.
    pub kind: ValueKind,
    /// What it does, one sentence.
    pub help: &'static str,
}

impl KeyInfo {
    /// The section (`"scheduling"`).
    pub fn section(&self) -> &'static str {
        self.key.split_once('.').map_or(self.key, |(s, _)| s)
    }

    /// The name within the section (`"mode"`).
    pub fn name(&self) -> &'static str {
        self.key.split_once('.').map_or(self.key, |(_, n)| n)
    }
}

const fn key(key: &'static str, kind: ValueKind, help: &'static str) -> KeyInfo {
    KeyInfo { key, kind, help }
}

/// Every key, in file order (`[profiles]` entries, whose names are executables,
/// are not listed: their key is `profiles.<file name>`).
pub const KEYS: &[KeyInfo] = &[
    key(
        "driver.backend",
        ValueKind::String,
        "Where the audio goes: wasapi (Windows' audio devices, set up under [wasapi]; Windows \
         only, elsewhere the driver falls back to the virtual device) or virtual (in memory, \
         for tests).",
    ),
    key(
        "driver.sample_type",
        ValueKind::String,
        "The ASIO sample type of the host's buffers; auto matches the device's format.",
    ),
    key(
        "driver.buffer_size",
        ValueKind::Integer,
        "The buffer size offered to hosts as preferred, in frames.",
    ),
    key(
        "wasapi.output",
        ValueKind::StringOrList,
        "The output (render) endpoints: off (no outputs), one endpoint, or a list of them, \
         whose channels follow one another on the ASIO device in list order (one device made \
         of several). An endpoint is default (Windows' default device) or its ID as `tenuto \
         devices` shows it (a friendly name works as a fallback, but Windows may renumber \
         names), optionally followed by the channels to use, e.g. \"USB Audio [3-4]\" (all \
         channels without).",
    ),
    key(
        "wasapi.input",
        ValueKind::StringOrList,
        "The input (capture) endpoints: off (no inputs), one endpoint, or a list of them, \
         whose channels follow one another on the ASIO device in list order. An endpoint is \
         default (Windows' default device) or its ID as `tenuto devices` shows it (a friendly \
         name works as a fallback), optionally followed by the channels to use, e.g. \
         \"Microphone [1]\" (all channels without).",
    ),
    key(
        "wasapi.clock",
        ValueKind::String,
        "With several endpoints, the one whose clock the others follow (each other endpoint \
         is resampled to it, so drift never causes a dropout): auto takes the first input, \
         else the first output; or name an endpoint of wasapi.output or wasapi.input as it is \
         written there (without its channels). Hosts may also choose it through ASIO's \
         clock sources.",
    ),
    key(
        "wasapi.mode",
        ValueKind::String,
        "How the devices are opened. shared: Windows' shared-mode engine at its mix rate \
         (other host rates are converted, see convert_rate); low-latency: shared mode with \
         the smallest engine period the device offers (IAudioClient3; plain shared mode where \
         Windows does not offer it); exclusive: the device alone, at the host's rate and \
         sample format (other programs go silent).",
    ),
    key(
        "wasapi.convert_rate",
        ValueKind::Boolean,
        "Shared and low-latency mode: offer hosts every standard rate (44.1 to 192 kHz) and \
         convert between the host's rate and the device's mix rate on the driver thread, \
         which adds about 2 ms each way at 44.1 kHz on a 48 kHz device (included in the \
         latency the driver reports). false offers the mix rate alone: other rates are \
         refused with a message naming the rate that works. Exclusive mode always runs at the \
         host's rate.",
    ),
    key(
        "wasapi.output_safety",
        ValueKind::String,
        "Output queued beyond the minimum that cannot underrun, in milliseconds (0 to 100), \
         or auto: none on Windows, one engine period under Wine. It adds to the output \
         latency the driver reports; raise it when the log shows no late periods and no \
         device gaps but you still hear dropouts.",
    ),
    key(
        "wasapi.wake_up",
        ValueKind::String,
        "How the driver thread learns that the device is ready: events (WASAPI's event-driven \
         streams; recommended) or polling (a timer, every quarter device period). Use polling \
         for a device whose events never come: with events, such a device stops the stream \
         with a message that names this setting.",
    ),
    key(
        "wasapi.missing_device",
        ValueKind::String,
        "What happens when wasapi.output or wasapi.input lists an endpoint that is not there \
         (unplugged, renamed, another machine): default uses Windows' default device for that \
         direction in its place and says so in getErrorMessage, the log and the settings \
         window; fail makes the host's init() fail with a message naming the device and the \
         ones there are; skip leaves it (and its channels) out, says so the same way, and the \
         driver comes back with the other endpoints.",
    ),
    key(
        "virtual.inputs",
        ValueKind::Integer,
        "Input channels of the virtual device.",
    ),
    key(
        "virtual.outputs",
        ValueKind::Integer,
        "Output channels of the virtual device (inputs + outputs must be at least 1).",
    ),
    key(
        "virtual.format",
        ValueKind::String,
        "Sample format of the virtual device's frames.",
    ),
    key(
        "virtual.source",
        ValueKind::String,
        "What the virtual inputs capture: the outputs (loopback), a sine per channel, or silence.",
    ),
    key(
        "virtual.sample_rate",
        ValueKind::Integer,
        "The virtual device's rate, in Hz, until the host sets one.",
    ),
    key(
        "scheduling.mode",
        ValueKind::String,
        "How the driver thread is scheduled on Windows; auto decides from the host's own threads.",
    ),
    key(
        "scheduling.mmcss_task",
        ValueKind::String,
        "The MMCSS task the driver thread registers with (a task under the registry's \
         Multimedia\\SystemProfile\\Tasks; the driver reports a name that is missing there).",
    ),
    key(
        "scheduling.mmcss_priority",
        ValueKind::String,
        "The AVRT priority within the MMCSS task.",
    ),
    key(
        "scheduling.mmcss_fallback",
        ValueKind::String,
        "What to do when MMCSS registration fails: manual TIME_CRITICAL or leave the thread as created.",
    ),
    key(
        "scheduling.manual_level",
        ValueKind::String,
        "The driver thread's priority level in manual mode.",
    ),
    key(
        "scheduling.process_class",
        ValueKind::String,
        "The host process's priority class while streaming in manual mode; strictly opt-in \
         (realtime needs the \"Increase scheduling priority\" privilege).",
    ),
    key(
        "scheduling.eco_qos_opt_out",
        ValueKind::Boolean,
        "Opt the driver thread out of EcoQoS power throttling (Windows 11).",
    ),
    key(
        "scheduling.linux",
        ValueKind::String,
        "The driver thread's policy on native Linux runs (priority 80 when omitted).",
    ),
    key(
        "logging.level",
        ValueKind::String,
        "How much the driver writes to its log.",
    ),
];

/// The sections of the file, in order.
pub(crate) const SECTIONS: &[&str] = &[
    "driver",
    "wasapi",
    "virtual",
    "scheduling",
    "profiles",
    "logging",
];

/// The key's entry in [`KEYS`].
pub(crate) fn info(key: &str) -> Option<&'static KeyInfo> {
    KEYS.iter().find(|k| k.key == key)
}

fn choices<C: Choice>() -> Vec<(&'static str, &'static str)> {
    C::all()
        .iter()
        .map(|c| (c.as_str(), c.describe()))
        .collect()
}

/// For a key that is a choice among names: each value with its one-line
/// description, in the order the panel lists them. `profiles.<exe>` keys give the
/// profile values.
pub fn choices_for(key: &str) -> Option<Vec<(&'static str, &'static str)>> {
    Some(match key {
        "driver.backend" => choices::<BackendSetting>(),
        "driver.sample_type" => choices::<SampleTypeSetting>(),
        "wasapi.mode" => choices::<WasapiModeSetting>(),
        "wasapi.wake_up" => choices::<WakeUpSetting>(),
        "wasapi.missing_device" => choices::<MissingDeviceSetting>(),
        "virtual.format" => choices::<FormatSetting>(),
        "virtual.source" => choices::<SourceSetting>(),
        "scheduling.mode" => choices::<SchedulingMode>(),
        "scheduling.mmcss_priority" => choices::<MmcssPrioritySetting>(),
        "scheduling.mmcss_fallback" => choices::<FallbackSetting>(),
        "scheduling.manual_level" => choices::<ManualLevelSetting>(),
        "scheduling.process_class" => choices::<ProcessClassSetting>(),
        "logging.level" => choices::<LogLevel>(),
        k if k.starts_with("profiles.") => choices::<ProfileValue>(),
        _ => return None,
    })
}

/// What a key allows, as the validation messages say it ("low, normal, high or
/// critical", "a power of two from 16 to 8192").
pub fn allowed(key: &str) -> Option<String> {
    Some(match key {
        "driver.backend" => BackendSetting::allowed(),
        "driver.sample_type" => SampleTypeSetting::allowed(),
        "driver.buffer_size" => {
            format!("a power of two from {BUFFER_SIZE_MIN} to {BUFFER_SIZE_MAX}")
        }
        "wasapi.output" | "wasapi.input" => ENDPOINT_ALLOWED.to_owned(),
        "wasapi.clock" => CLOCK_ALLOWED.to_owned(),
        "wasapi.mode" => WasapiModeSetting::allowed(),
        "wasapi.convert_rate" => "true or false".to_owned(),
        "wasapi.wake_up" => WakeUpSetting::allowed(),
        "wasapi.missing_device" => MissingDeviceSetting::allowed(),
        "wasapi.output_safety" => format!(
            "auto, or a whole number of milliseconds from 0 to {}",
            OutputSafetySetting::MAX_MS
        ),
        "virtual.inputs" | "virtual.outputs" => {
            format!("a whole number from 0 to {MAX_CHANNELS}, with inputs + outputs at least 1")
        }
        "virtual.format" => FormatSetting::allowed(),
        "virtual.source" => SourceSetting::allowed(),
        "virtual.sample_rate" => {
            let rates: Vec<String> = SAMPLE_RATES.iter().map(u32::to_string).collect();
            list_or(rates.iter().map(String::as_str))
        }
        "scheduling.mode" => SchedulingMode::allowed(),
        "scheduling.mmcss_task" => {
            "a non-empty MMCSS task name such as \"Pro Audio\" or \"Audio\"".to_owned()
        }
        "scheduling.mmcss_priority" => MmcssPrioritySetting::allowed(),
        "scheduling.mmcss_fallback" => FallbackSetting::allowed(),
        "scheduling.manual_level" => ManualLevelSetting::allowed(),
        "scheduling.process_class" => ProcessClassSetting::allowed(),
        "scheduling.eco_qos_opt_out" => "true or false".to_owned(),
        "scheduling.linux" => "inherit, fifo[:1-99], rr[:1-99] or deadline[:RUNTIME_US]".to_owned(),
        "logging.level" => LogLevel::allowed(),
        k if k.starts_with("profiles.") => ProfileValue::allowed(),
        _ => return None,
    })
}

/// What `wasapi.output` and `wasapi.input` allow.
const ENDPOINT_ALLOWED: &str = "off, one endpoint, or a list of different endpoints such as \
     [\"Speakers\", \"USB Audio [3-4]\"]; an endpoint is default (Windows' default device) or \
     an ID (or friendly name) as `tenuto devices` shows it, optionally followed by the \
     channels to use, counted from 1, such as [1-2,5]";

/// What `wasapi.clock` allows.
const CLOCK_ALLOWED: &str = "auto (the first input, else the first output), or an endpoint of \
     wasapi.output or wasapi.input as written there, without its channels";

/// A value as found in the file or given to [`set_key`].
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Val {
    Str(String),
    Int(i64),
    Bool(bool),
    /// An array.
    List(Vec<Val>),
    /// Another TOML type ("a float", "an array", …), or an integer beyond i64.
    Other(&'static str),
}

impl Val {
    fn noun(&self) -> &'static str {
        match self {
            Val::Str(_) => "a string",
            Val::Int(_) => "a whole number",
            Val::Bool(_) => "a boolean",
            Val::List(_) => "an array",
            Val::Other(noun) => noun,
        }
    }
}

/// Why a value was refused: `{key} = {shown} {reason}; use {allowed}`.
#[derive(Debug)]
pub(crate) struct Refusal {
    pub(crate) reason: String,
}

impl Refusal {
    fn not_allowed() -> Self {
        Self {
            reason: "is not allowed".to_owned(),
        }
    }

    fn because(reason: impl Into<String>) -> Self {
        Self {
            reason: reason.into(),
        }
    }
}

fn wrong_type(val: &Val, kind: ValueKind) -> Refusal {
    Refusal::because(format!("is {}, not {}", val.noun(), kind.noun()))
}

fn want_str(val: &Val) -> Result<&str, Refusal> {
    match val {
        Val::Str(s) => Ok(s),
        other => Err(wrong_type(other, ValueKind::String)),
    }
}

fn want_bool(val: &Val) -> Result<bool, Refusal> {
    match val {
        Val::Bool(b) => Ok(*b),
        other => Err(wrong_type(other, ValueKind::Boolean)),
    }
}

fn want_int(val: &Val) -> Result<i64, Refusal> {
    match val {
        Val::Int(i) => Ok(*i),
        other => Err(wrong_type(other, ValueKind::Integer)),
    }
}

/// A choice's value; a near miss gets "did you mean".
fn want_choice<C: Choice>(val: &Val) -> Result<C, Refusal> {
    let text = want_str(val)?;
    C::parse(text).ok_or_else(
        || match closest(text.trim(), C::all().iter().map(|c| c.as_str())) {
            Some(near) => Refusal::because(format!(
                "is not allowed (did you mean {}?)",
                toml_string(near)
            )),
            None => Refusal::not_allowed(),
        },
    )
}

/// An endpoint list: a string (`off`, or one entry) or an array of entries.
fn want_endpoints(val: &Val) -> Result<Vec<EndpointEntry>, Refusal> {
    match val {
        Val::Str(text) => parse_single(text).map_err(Refusal::because),
        Val::List(items) => {
            let mut texts = Vec::with_capacity(items.len());
            for (i, item) in items.iter().enumerate() {
                match item {
                    Val::Str(text) => texts.push(text.as_str()),
                    other => {
                        return Err(Refusal::because(format!(
                            "is not allowed: its item {} is {}, not a string",
                            i + 1,
                            other.noun()
                        )))
                    }
                }
            }
            parse_list(texts).map_err(Refusal::because)
        }
        other => Err(wrong_type(other, ValueKind::StringOrList)),
    }
}

fn want_channels(val: &Val) -> Result<u32, Refusal> {
    u32::try_from(want_int(val)?)
        .ok()
        .filter(|n| *n <= MAX_CHANNELS)
        .ok_or_else(Refusal::not_allowed)
}

/// Validates `val` for `key` (a key of [`KEYS`]) and stores it in `settings`. The
/// rule between keys (inputs + outputs ≥ 1) is checked by the callers, which know
/// whether the other key was given too.
pub(crate) fn apply(settings: &mut Settings, key: &str, val: &Val) -> Result<(), Refusal> {
    let d = &mut settings.driver;
    let w = &mut settings.wasapi;
    let v = &mut settings.virtual_device;
    let s = &mut settings.scheduling;
    match key {
        "driver.backend" => d.backend = want_choice(val)?,
        "driver.sample_type" => d.sample_type = want_choice(val)?,
        "driver.buffer_size" => {
            d.buffer_size = u32::try_from(want_int(val)?)
                .ok()
                .filter(|n| n.is_power_of_two() && (BUFFER_SIZE_MIN..=BUFFER_SIZE_MAX).contains(n))
                .ok_or_else(Refusal::not_allowed)?;
        }
        "wasapi.output" => w.output = want_endpoints(val)?,
        "wasapi.input" => w.input = want_endpoints(val)?,
        "wasapi.clock" => {
            w.clock = ClockSetting::parse(want_str(val)?).map_err(Refusal::because)?
        }
        "wasapi.mode" => w.mode = want_choice(val)?,
        "wasapi.convert_rate" => w.convert_rate = want_bool(val)?,
        "wasapi.wake_up" => w.wake_up = want_choice(val)?,
        "wasapi.missing_device" => w.missing_device = want_choice(val)?,
        "wasapi.output_safety" => {
            w.output_safety = match val {
                Val::Int(ms) => u32::try_from(*ms)
                    .ok()
                    .filter(|ms| *ms <= OutputSafetySetting::MAX_MS)
                    .map(OutputSafetySetting::Ms),
                Val::Str(text) => OutputSafetySetting::parse(text),
                other => return Err(wrong_type(other, ValueKind::String)),
            }
            .ok_or_else(Refusal::not_allowed)?;
        }
        "virtual.inputs" => v.inputs = want_channels(val)?,
        "virtual.outputs" => v.outputs = want_channels(val)?,
        "virtual.format" => v.format = want_choice(val)?,
        "virtual.source" => v.source = want_choice(val)?,
        "virtual.sample_rate" => {
            v.sample_rate = u32::try_from(want_int(val)?)
                .ok()
                .filter(|r| SAMPLE_RATES.contains(r))
                .ok_or_else(Refusal::not_allowed)?;
        }
        "scheduling.mode" => s.mode = want_choice(val)?,
        "scheduling.mmcss_task" => {
            let task = want_str(val)?;
            if task.trim().is_empty() {
                return Err(Refusal::because("is empty"));
            }
            if task.chars().any(char::is_control) {
                return Err(Refusal::because("contains control characters"));
            }
            s.mmcss_task = task.to_owned();
        }
        "scheduling.mmcss_priority" => s.mmcss_priority = want_choice(val)?,
        "scheduling.mmcss_fallback" => s.mmcss_fallback = want_choice(val)?,
        "scheduling.manual_level" => s.manual_level = want_choice(val)?,
        "scheduling.process_class" => s.process_class = want_choice(val)?,
        "scheduling.eco_qos_opt_out" => s.eco_qos_opt_out = want_bool(val)?,
        "scheduling.linux" => {
            s.linux = parse_linux_policy(want_str(val)?)
                .map_err(|why| Refusal::because(format!("is not allowed ({why})")))?;
        }
        "logging.level" => settings.logging.level = want_choice(val)?,
        _ => return Err(Refusal::because("is not a known key")),
    }
    Ok(())
}

/// The error message: `{key} = {shown} {reason}; use {allowed} ({done})`.
pub(crate) fn refusal_message(key: &str, shown: &str, refusal: &Refusal, done: &str) -> String {
    let allowed = allowed(key).unwrap_or_default();
    format!("{key} = {shown} {}; use {allowed} ({done})", refusal.reason)
}

/// A key's current value in TOML spelling (`"critical"`, `128`, `true`); for
/// `profiles.<exe>` the profile (or `None` when there is none). `None` for
/// unknown keys.
pub fn get_key(settings: &Settings, key: &str) -> Option<String> {
    let d = &settings.driver;
    let w = &settings.wasapi;
    let v = &settings.virtual_device;
    let s = &settings.scheduling;
    let quoted = |text: &str| toml_string(text);
    Some(match key {
        "driver.backend" => quoted(d.backend.as_str()),
        "driver.sample_type" => quoted(d.sample_type.as_str()),
        "driver.buffer_size" => d.buffer_size.to_string(),
        "wasapi.output" => list_toml(&w.output),
        "wasapi.input" => list_toml(&w.input),
        "wasapi.clock" => quoted(w.clock.as_str()),
        "wasapi.mode" => quoted(w.mode.as_str()),
        "wasapi.convert_rate" => w.convert_rate.to_string(),
        "wasapi.wake_up" => quoted(w.wake_up.as_str()),
        "wasapi.missing_device" => quoted(w.missing_device.as_str()),
        "wasapi.output_safety" => match w.output_safety {
            OutputSafetySetting::Auto => quoted("auto"),
            OutputSafetySetting::Ms(ms) => ms.to_string(),
        },
        "virtual.inputs" => v.inputs.to_string(),
        "virtual.outputs" => v.outputs.to_string(),
        "virtual.format" => quoted(v.format.as_str()),
        "virtual.source" => quoted(v.source.as_str()),
        "virtual.sample_rate" => v.sample_rate.to_string(),
        "scheduling.mode" => quoted(s.mode.as_str()),
        "scheduling.mmcss_task" => quoted(&s.mmcss_task),
        "scheduling.mmcss_priority" => quoted(s.mmcss_priority.as_str()),
        "scheduling.mmcss_fallback" => quoted(s.mmcss_fallback.as_str()),
        "scheduling.manual_level" => quoted(s.manual_level.as_str()),
        "scheduling.process_class" => quoted(s.process_class.as_str()),
        "scheduling.eco_qos_opt_out" => s.eco_qos_opt_out.to_string(),
        "scheduling.linux" => quoted(&format_linux_policy(&s.linux)),
        "logging.level" => quoted(settings.logging.level.as_str()),
        _ => {
            let exe = key.strip_prefix("profiles.")?;
            return settings
                .profiles
                .get(&profile_key(exe))
                .map(|p| quoted(p.as_str()));
        }
    })
}

/// Checks a `[profiles]` executable name and gives its stored (lowercase) form.
pub(crate) fn check_profile_name(name: &str) -> Result<String, String> {
    if name.trim().is_empty() {
        return Err("the executable's file name is empty".to_owned());
    }
    if name.contains(['\\', '/']) {
        return Err(format!(
            "\"{name}\" is a path; use the executable's file name ({})",
            profile_key(name)
        ));
    }
    if name.chars().any(char::is_control) {
        return Err("the executable's file name contains control characters".to_owned());
    }
    Ok(profile_key(name))
}

fn set_problem(key: &str, message: String) -> Problem {
    Problem {
        severity: Severity::Error,
        key: key.to_owned(),
        line: None,
        message,
    }
}

/// Sets one key from text, as `tenuto config set KEY VALUE` and the panel do, with
/// exactly the validation loading applies. `VALUE` is taken as the key's type: a
/// whole number for integer keys, `true`/`false` for booleans, the text itself for
/// strings (no quotes needed). `profiles.<exe>` adds or replaces the profile for an
/// executable; the value `none` removes it. On error nothing changes, and the
/// [`Problem`] says what is allowed.
pub fn set_key(settings: &mut Settings, key: &str, value: &str) -> Result<(), Problem> {
    if let Some(exe) = key.strip_prefix("profiles.") {
        let name = check_profile_name(exe)
            .map_err(|why| set_problem(key, format!("{key}: {why} (not changed)")))?;
        if value.trim().eq_ignore_ascii_case("none") {
            settings.profiles.remove(&name);
            return Ok(());
        }
        return match ProfileValue::parse(value) {
            Some(p) => {
                settings.profiles.insert(name, p);
                Ok(())
            }
            None => Err(set_problem(
                key,
                format!(
                    "{key} = {} is not allowed; use {}, or none to remove the profile (not changed)",
                    toml_string(value),
                    ProfileValue::allowed()
                ),
            )),
        };
    }
    let Some(info) = info(key) else {
        let hint = did_you_mean_text(&did_you_mean_key(key), |_| String::new());
        return Err(set_problem(
            key,
            format!("unknown key `{key}`{hint} (the keys are listed by `tenuto config show`)"),
        ));
    };
    let (val, shown) = match info.kind {
        ValueKind::String | ValueKind::StringOrList => {
            (Val::Str(value.to_owned()), toml_string(value))
        }
        ValueKind::Integer => match value.trim().parse::<i64>() {
            Ok(i) => (Val::Int(i), i.to_string()),
            Err(_) => (Val::Str(value.to_owned()), toml_string(value)),
        },
        ValueKind::Boolean => match value.trim() {
            "true" => (Val::Bool(true), "true".to_owned()),
            "false" => (Val::Bool(false), "false".to_owned()),
            _ => (Val::Str(value.to_owned()), toml_string(value)),
        },
    };
    store(settings, key, &val, &shown)
}

/// Sets one key from several values, as `tenuto config set KEY VALUE…` does: for
/// `wasapi.output` and `wasapi.input` the values are the entries of the list, in order
/// (one value is exactly [`set_key`]; none is `off`); other keys take exactly one value.
/// The same validation as loading; on error nothing changes.
pub fn set_key_values<S: AsRef<str>>(
    settings: &mut Settings,
    key: &str,
    values: &[S],
) -> Result<(), Problem> {
    if let [one] = values {
        return set_key(settings, key, one.as_ref());
    }
    let items: Vec<String> = values.iter().map(|v| v.as_ref().to_owned()).collect();
    let shown = format!(
        "[{}]",
        items
            .iter()
            .map(|i| toml_string(i))
            .collect::<Vec<_>>()
            .join(", ")
    );
    match info(key) {
        Some(info) if info.kind == ValueKind::StringOrList => {
            let val = Val::List(items.into_iter().map(Val::Str).collect());
            store(settings, key, &val, &shown)
        }
        Some(_) => Err(set_problem(
            key,
            format!(
                "{key} takes one value, not {} ({shown}); only wasapi.output and wasapi.input \
                 take a list (not changed)",
                values.len()
            ),
        )),
        // Unknown keys and profiles: the single-value path names the problem.
        None => set_key(settings, key, &items.join(" ")),
    }
}

/// Validates `val` for `key`, with the rules between keys, and stores it; on error
/// `settings` is unchanged.
fn store(settings: &mut Settings, key: &str, val: &Val, shown: &str) -> Result<(), Problem> {
    let current = get_key(settings, key).unwrap_or_default();
    let done = format!("not changed: it stays {current}");
    let mut next = settings.clone();
    apply(&mut next, key, val)
        .map_err(|r| set_problem(key, refusal_message(key, shown, &r, &done)))?;
    let lists_or_clock = matches!(key, "wasapi.output" | "wasapi.input" | "wasapi.clock");
    if let Some(why) = next.wasapi.clock_problem().filter(|_| lists_or_clock) {
        let refusal = match key {
            "wasapi.clock" => Refusal::because(why),
            _ => Refusal::because(format!(
                "is not allowed while wasapi.clock = {}, which it would leave out; set \
                 wasapi.clock to auto or to another listed endpoint first",
                toml_string(next.wasapi.clock.as_str())
            )),
        };
        return Err(set_problem(
            key,
            refusal_message(key, shown, &refusal, &done),
        ));
    }
    if next.virtual_device.inputs + next.virtual_device.outputs == 0 {
        let refusal = Refusal::because(format!(
            "is not allowed while {} = 0: the device needs at least one channel",
            if key == "virtual.inputs" {
                "virtual.outputs"
            } else {
                "virtual.inputs"
            }
        ));
        return Err(set_problem(
            key,
            refusal_message(key, shown, &refusal, &done),
        ));
    }
    *settings = next;
    Ok(())
}

/// The known keys for an unknown `name` in `[section]`: a near name in the same
/// section, else every key of another section with the same or the nearest name
/// (`mode` is in `[wasapi]` and `[scheduling]`).
pub(crate) fn did_you_mean_in(section: &str, name: &str) -> Vec<&'static str> {
    let same = KEYS.iter().filter(|k| k.section() == section);
    if let Some(k) = closest(name, same.map(|k| k.name())) {
        return KEYS
            .iter()
            .filter(|i| i.section() == section && i.name() == k)
            .map(|i| i.key)
            .collect();
    }
    named(closest(name, KEYS.iter().map(|k| k.name())))
}

/// Every key whose name (after the section) is `name`.
fn named(name: Option<&str>) -> Vec<&'static str> {
    match name {
        Some(n) => KEYS
            .iter()
            .filter(|i| i.name() == n)
            .map(|i| i.key)
            .collect(),
        None => Vec::new(),
    }
}

/// The known keys for an unknown full key (`schedulng.mode`, or a bare `mode`).
pub(crate) fn did_you_mean_key(key: &str) -> Vec<&'static str> {
    if let Some(k) = closest(key, KEYS.iter().map(|k| k.key)) {
        return vec![k];
    }
    match key.split_once('.') {
        Some((section, name)) => match closest(section, SECTIONS.iter().copied()) {
            Some(section) => did_you_mean_in(section, name),
            None => Vec::new(),
        },
        None => named(closest(key, KEYS.iter().map(|k| k.name()))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suggestions() {
        assert_eq!(did_you_mean_in("scheduling", "mod"), ["scheduling.mode"]);
        assert_eq!(did_you_mean_in("wasapi", "mod"), ["wasapi.mode"]);
        assert_eq!(
            did_you_mean_in("driver", "mode"),
            ["wasapi.mode", "scheduling.mode"]
        );
        assert_eq!(did_you_mean_in("driver", "xyzzy"), [""; 0]);
        assert_eq!(did_you_mean_key("scheduling.mod"), ["scheduling.mode"]);
        assert_eq!(did_you_mean_key("schedulling.mode"), ["scheduling.mode"]);
        assert_eq!(did_you_mean_key("wasapi.outptu"), ["wasapi.output"]);
        assert_eq!(did_you_mean_key("buffer_size"), ["driver.buffer_size"]);
        assert_eq!(did_you_mean_key("mode"), ["wasapi.mode", "scheduling.mode"]);
        assert_eq!(did_you_mean_key("nothing.like.it"), [""; 0]);
        assert_eq!(did_you_mean_text(&[], |_| String::new()), "");
        assert_eq!(
            did_you_mean_text(&["a.b", "c.b"], |k| format!(" ({})", &k[..1])),
            "; did you mean `a.b` (a) or `c.b` (c)?"
        );
    }
}
