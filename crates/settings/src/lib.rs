//! # tenuto-settings
//!
//! Tenuto's settings model: everything a user can choose about the driver, the
//! `tenuto.toml` file that stores it, how that file is validated, how it is written
//! safely, and how the settings map onto the types the driver runs on
//! (`tenuto_sched::Scheduling`, `tenuto_engine::virtual_device::VirtualConfig`,
//! `tenuto_convert::HostFormat`). The driver (hot reload), the control panel and
//! `tenuto config` all go through this crate, so the file, the panel and the command
//! line give identical results.
//!
//! ## The file
//!
//! [`default_path`] tells where it lives:
//!
//! * `TENUTO_CONFIG`, when set and non-empty: that path, on every OS (tests and
//!   portable setups use it);
//! * Windows: `%APPDATA%\Tenuto\tenuto.toml`;
//! * elsewhere: `$XDG_CONFIG_HOME/tenuto/tenuto.toml`, or `~/.config/tenuto/tenuto.toml`.
//!
//! A missing file is normal: the driver then runs with the defaults
//! ([`Settings::default`]). The schema, with every default:
//!
//! ```toml
//! [driver]
//! backend = "wasapi"             # wasapi | virtual; the default is "wasapi" on Windows,
//!                                # "virtual" elsewhere (WASAPI exists only on Windows: a
//!                                # driver outside Windows falls back to the virtual device)
//! sample_type = "auto"           # auto | int16 | int24 | int32 | int32_lsb16 | int32_lsb18
//!                                # | int32_lsb20 | int32_lsb24 | float32 | float64
//! buffer_size = 128              # a power of two, 16..=8192
//!
//! [wasapi]                       # used when backend = "wasapi"
//! output = "default"             # off | an endpoint | a list of different endpoints, whose
//! input = "default"              #   channels follow one another in list order, e.g.
//!                                #   ["Speakers (Realtek)", "USB Audio [3-4]", "default [1,2]"];
//!                                #   an endpoint is default or an ID as `tenuto devices` shows
//!                                #   it, e.g. "{0.0.0.00000000}.{5f9f0f6e-…}" (kept verbatim;
//!                                #   a friendly name works as a fallback), optionally with the
//!                                #   channels to use: " [1-2,5]" (from 1; none = all)
//! clock = "auto"                 # auto (the first input, else the first output) | an
//!                                #   endpoint of output or input, as written there
//! mode = "shared"                # shared | low-latency | exclusive
//!                                # shared: Windows' shared-mode engine at its mix rate (other
//!                                #   host rates are converted, see convert_rate)
//!                                # low-latency: shared mode with the smallest engine period
//!                                #   the device offers (IAudioClient3; plain shared mode
//!                                #   where Windows does not offer it)
//!                                # exclusive: the device alone, at the host's rate and
//!                                #   sample format (other programs go silent)
//! convert_rate = true            # shared and low-latency mode: offer every standard rate and
//!                                #   convert the host's to the mix rate on the driver thread
//!                                #   (~2 ms each way at 44.1 on 48 kHz, reported in the
//!                                #   latency); false: the mix rate alone, others refused
//! output_safety = "auto"         # auto | 0..=100 (ms): output queued beyond the minimum;
//!                                #   auto = none on Windows, one engine period under Wine
//! wake_up = "events"             # events | polling (a timer, for devices whose events
//!                                #   do not work; under Wine it also keeps the stream off
//!                                #   the wineserver, which stalls while saving the registry)
//! missing_device = "default"     # default (Windows' default device, with a notice) |
//!                                #   fail (init() fails) | skip (left out, with a notice)
//!                                #   when a listed endpoint is not there
//!
//! [virtual]
//! inputs = 2                     # 0..=64
//! outputs = 2                    # 0..=64 (inputs + outputs >= 1)
//! format = "f32"                 # f32 | i16 | i24 | i32
//! source = "loopback"            # loopback | sine | silence
//! sample_rate = 48000            # 44100 | 48000 | 88200 | 96000 | 176400 | 192000
//!
//! [scheduling]
//! mode = "auto"                  # auto | mmcss | manual | inherit
//! mmcss_task = "Pro Audio"       # an MMCSS task name (non-empty)
//! mmcss_priority = "critical"    # low | normal | high | critical
//! mmcss_fallback = "manual"      # manual | inherit
//! manual_level = "time_critical" # normal | above_normal | highest | time_critical
//! process_class = "normal"       # normal | high | realtime (manual mode only)
//! eco_qos_opt_out = true
//! linux = "inherit"              # inherit | fifo[:1-99] | rr[:1-99] | deadline[:RUNTIME_US]
//!
//! [profiles]                     # host executable file name = mmcss | manual | inherit | auto
//! "reaper.exe" = "auto"
//!
//! [logging]
//! level = "info"                 # error | warn | info | debug
//! ```
//!
//! ```
//! use tenuto_settings::{parse, set_key, SchedulingMode, Severity};
//!
//! let loaded = parse("[scheduling]\nmode = \"manual\"\nmmcss_priority = \"max\"\n");
//! assert_eq!(loaded.settings.scheduling.mode, SchedulingMode::Manual);
//! assert_eq!(
//!     loaded.problems[0].to_string(),
//!     "tenuto.toml line 3: scheduling.mmcss_priority = \"max\" is not allowed; \
//!      use low, normal, high or critical (kept the default \"critical\")"
//! );
//! assert_eq!(loaded.problems[0].severity, Severity::Error);
//!
//! let mut settings = loaded.settings;
//! set_key(&mut settings, "profiles.reaper.exe", "auto").unwrap();
//! assert_eq!(tenuto_settings::parse(&settings.to_toml()).settings, settings);
//!
//! // The WASAPI backend: endpoints by ID (kept verbatim), a mode.
//! use tenuto_settings::{set_key_values, EndpointEntry, EndpointSetting, WasapiModeSetting};
//! let id = "{0.0.0.00000000}.{5f9f0f6e-1c2d-4e5f-8a9b-0c1d2e3f4a5b}";
//! set_key(&mut settings, "driver.backend", "wasapi").unwrap();
//! set_key(&mut settings, "wasapi.output", id).unwrap();
//! set_key(&mut settings, "wasapi.input", "off").unwrap();
//! assert_eq!(
//!     settings.wasapi.output,
//!     [EndpointEntry::all_channels(EndpointSetting::Device(id.to_owned()))]
//! );
//! assert_eq!(settings.wasapi.input, []);
//! // Several endpoints as one device, with a channel selection.
//! set_key_values(&mut settings, "wasapi.output", &[id, "USB Audio [3-4]"]).unwrap();
//! assert_eq!(settings.wasapi.output[1].channels, Some(vec![3, 4]));
//! assert_eq!(
//!     tenuto_settings::get_key(&settings, "wasapi.output").unwrap(),
//!     format!("[\"{id}\", \"USB Audio [3-4]\"]")
//! );
//! let p = set_key(&mut settings, "wasapi.mode", "exclusiv").unwrap_err();
//! assert_eq!(
//!     p.message,
//!     "wasapi.mode = \"exclusiv\" is not allowed (did you mean \"exclusive\"?); use shared, \
//!      low-latency or exclusive (not changed: it stays \"shared\")"
//! );
//! assert_eq!(settings.wasapi.mode, WasapiModeSetting::Shared);
//! ```
//!
//! ## The rules
//!
//! * **Loading never fails** ([`load`], [`parse`]). A missing file gives the defaults
//!   and no problem; an unreadable, non-UTF-8 or unparsable file gives the defaults and
//!   exactly one [`Severity::Error`] problem (its [`Problem::key`] is empty); a bad value
//!   keeps the default for that key only and adds an error that names the key, the value,
//!   what is allowed and what was done; an unknown key or section is a
//!   [`Severity::Warning`], with "did you mean" when a known name is within edit
//!   distance 2. A driver can therefore always load, and report the problems.
//! * **Bounded work.** Reading and checking a file takes time linear in its size. A
//!   file over [`MAX_FILE_BYTES`] (256 KiB) is not read at all: the defaults apply and one
//!   error says so (size, limit, what to do). At most [`MAX_PROBLEMS`] problems are
//!   listed, in file order, then one more sums up the rest ("and K more …"); names and
//!   values are cut to 60 characters in messages, and "did you mean" is not attempted
//!   for words longer than any known name.
//! * Keys are case-sensitive (TOML is); choice values are not (`"MMCSS"` reads as
//!   `mmcss`). A UTF-8 byte-order mark is ignored.
//! * Profile names are executable file names, compared case-insensitively: they are
//!   stored lowercased, so write and look them up through [`set_key`] and
//!   [`Settings::profile_for`].
//! * **Writing** ([`save_atomic`]) writes the whole file in its commented, canonical form
//!   ([`Settings::to_toml`]) to a temporary file in the same directory, syncs it and
//!   renames it over the target: a crash leaves either the old file or the new one,
//!   never a torn one. Comments and unknown keys of a hand-edited file are not kept.
//! * [`set_key`] validates exactly as loading does (`tenuto config set`, the panel).
//! * [`Settings`] is `Eq`, so a reload can compare values and do nothing when the
//!   content did not really change; [`Loaded::text_hash`] is a cheaper first test.

#![forbid(unsafe_code)]
#![deny(missing_docs)]

// Dependencies point one way: `choices`, `path` and `quote` are leaves;
// `similar` (near misses) uses `choices`; `problem` uses `path`; `endpoints` (the
// endpoint lists and the clock) uses `quote`; `model` uses `choices` and
// `endpoints`; `keys` (the table and per-key validation) uses those; `parse` and
// `write` use `keys`, never the reverse.
mod choices;
mod endpoints;
mod keys;
mod model;
mod parse;
mod path;
mod problem;
mod quote;
mod similar;
mod write;

pub use choices::{
    BackendSetting, Choice, FallbackSetting, FormatSetting, LogLevel, ManualLevelSetting,
    MissingDeviceSetting, MmcssPrioritySetting, ProcessClassSetting, ProfileValue,
    SampleTypeSetting, SchedulingMode, SourceSetting, WakeUpSetting, WasapiModeSetting,
};
pub use endpoints::{
    endpoint_list_text, ClockSetting, EndpointEntry, EndpointSetting, MAX_ENDPOINT_CHANNEL,
};
pub use keys::{allowed, choices_for, get_key, set_key, set_key_values, KeyInfo, ValueKind, KEYS};
pub use model::{
    conversion_latency_frames, conversion_text, format_linux_policy, parse_linux_policy,
    DriverSettings, LoggingSettings, OutputSafetySetting, SchedulingSettings, Settings,
    VirtualSettings, WasapiSettings, BUFFER_SIZE_MAX, BUFFER_SIZE_MIN, MAX_CHANNELS, SAMPLE_RATES,
};
pub use parse::{load, parse, Loaded, Source, MAX_FILE_BYTES, MAX_PROBLEMS};
pub use path::{default_path, CONFIG_ENV, FILE_NAME};
pub use problem::{Problem, Severity};
pub use write::{save_atomic, SaveError};
