//! The settings file: round trips, validation of every key, unknown keys, broken
//! files, atomic saving, `set_key`, the default path.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use tenuto_settings::*;

/// A fresh, empty directory under the system's temporary folder.
fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "tenuto-settings-test-{}-{name}-{}",
        std::process::id(),
        SystemTime::now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .unwrap()
            .as_nanos()
    ));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn files_in(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

/// An endpoint ID as Windows spells them (`tenuto devices`).
const NULL_OUTPUT_ID: &str = "{0.0.0.00000000}.{3f2a1b4c-5d6e-4f70-8192-a3b4c5d6e7f8}";

/// A list of one endpoint with every channel.
fn one(endpoint: EndpointSetting) -> Vec<EndpointEntry> {
    vec![EndpointEntry::all_channels(endpoint)]
}

fn entry(text: &str) -> EndpointEntry {
    EndpointEntry::parse(text).unwrap()
}

/// Every field different from its default.
fn non_default() -> Settings {
    Settings {
        driver: DriverSettings {
            // The default is WASAPI on Windows, the virtual device elsewhere.
            backend: if cfg!(windows) {
                BackendSetting::Virtual
            } else {
                BackendSetting::Wasapi
            },
            sample_type: SampleTypeSetting::Int32Lsb20,
            buffer_size: 8192,
        },
        wasapi: WasapiSettings {
            output: vec![
                entry(NULL_OUTPUT_ID),
                entry("USB Audio [3-4]"),
                entry("default [1,2]"),
            ],
            input: Vec::new(),
            clock: ClockSetting::Endpoint("usb audio".to_owned()),
            mode: WasapiModeSetting::Exclusive,
            convert_rate: false,
            output_safety: OutputSafetySetting::Ms(15),
            wake_up: WakeUpSetting::Polling,
            missing_device: MissingDeviceSetting::Fail,
        },
        virtual_device: VirtualSettings {
            inputs: 0,
            outputs: 64,
            format: FormatSetting::I24,
            source: SourceSetting::Sine,
            sample_rate: 192_000,
        },
        scheduling: SchedulingSettings {
            mode: SchedulingMode::Manual,
            mmcss_task: "My \"Task\" \\ ünï code".to_owned(),
            mmcss_priority: MmcssPrioritySetting::Low,
            mmcss_fallback: FallbackSetting::Inherit,
            manual_level: ManualLevelSetting::AboveNormal,
            process_class: ProcessClassSetting::Realtime,
            eco_qos_opt_out: false,
            linux: tenuto_sched::policy::LinuxPolicy::Deadline {
                runtime_us: Some(250),
            },
        },
        profiles: BTreeMap::from([
            ("reaper.exe".to_owned(), ProfileValue::Auto),
            ("cubase13.exe".to_owned(), ProfileValue::Inherit),
            ("ableton live 12 suite.exe".to_owned(), ProfileValue::Manual),
            ("bitwig studio.exe".to_owned(), ProfileValue::Mmcss),
        ]),
        logging: LoggingSettings {
            level: LogLevel::Debug,
        },
    }
}

#[test]
fn defaults_round_trip() {
    let s = Settings::default();
    let loaded = parse(&s.to_toml());
    assert_eq!(loaded.problems, []);
    assert_eq!(loaded.settings, s);
    assert_eq!(loaded.source, Source::File);
    // An empty file is the defaults too.
    let empty = parse("");
    assert_eq!((empty.settings, empty.problems), (s, vec![]));
}

#[test]
fn non_default_settings_round_trip() {
    let s = non_default();
    assert_ne!(s.driver, DriverSettings::default());
    let text = s.to_toml();
    let loaded = parse(&text);
    assert_eq!(loaded.problems, [], "{text}");
    assert_eq!(loaded.settings, s);
    // Every other value of every choice survives too.
    let mut s = Settings::default();
    for t in SampleTypeSetting::ALL {
        s.driver.sample_type = *t;
        assert_eq!(parse(&s.to_toml()).settings, s);
    }
    for l in ["inherit", "fifo:1", "rr:99", "deadline"] {
        s.scheduling.linux = parse_linux_policy(l).unwrap();
        assert_eq!(parse(&s.to_toml()).settings, s);
    }
}

#[test]
fn the_written_file_documents_every_key() {
    let text = non_default().to_toml();
    for info in KEYS {
        let allowed = allowed(info.key).unwrap();
        assert!(
            text.contains(&format!("\n{} = ", info.name())),
            "{} missing",
            info.key
        );
        // Allowed values appear in the comments (allowing for line wrapping).
        let flat = text.replace("\n# ", " ");
        assert!(flat.contains(&allowed), "{}: {allowed}", info.key);
    }
    assert!(text.contains("[profiles]\n\"ableton live 12 suite.exe\" = \"manual\""));
}

/// (key, a value of the wrong type, a value of the right type that is not allowed).
const BAD_VALUES: &[(&str, &str, &str)] = &[
    ("driver.backend", "1", "\"asio\""),
    ("driver.sample_type", "true", "\"int8\""),
    ("driver.buffer_size", "\"128\"", "100"),
    ("wasapi.output", "1", "\"\""),
    ("wasapi.input", "true", "\"   \""),
    ("wasapi.clock", "1", "\"off\""),
    ("wasapi.mode", "2", "\"exclusiv\""),
    ("wasapi.convert_rate", "\"no\"", "0"),
    ("wasapi.output_safety", "true", "101"),
    ("wasapi.wake_up", "1", "\"timer\""),
    ("wasapi.missing_device", "true", "\"strict\""),
    ("virtual.inputs", "\"2\"", "65"),
    ("virtual.outputs", "2.0", "-1"),
    ("virtual.format", "32", "\"f64\""),
    ("virtual.source", "false", "\"noise\""),
    ("virtual.sample_rate", "\"48000\"", "44000"),
    ("scheduling.mode", "1", "\"realtime\""),
    ("scheduling.mmcss_task", "42", "\"  \""),
    ("scheduling.mmcss_priority", "[1, 2]", "\"max\""),
    ("scheduling.mmcss_fallback", "2", "\"none\""),
    ("scheduling.manual_level", "15", "\"idle\""),
    ("scheduling.process_class", "1979-05-27", "\"idle\""),
    ("scheduling.eco_qos_opt_out", "\"yes\"", "1"),
    ("scheduling.linux", "80", "\"fifo:100\""),
    ("logging.level", "{ a = 1 }", "\"trace\""),
];

#[test]
fn every_key_refuses_bad_values_naming_key_value_and_what_is_allowed() {
    // The table covers every key.
    let covered: Vec<&str> = BAD_VALUES.iter().map(|(k, _, _)| *k).collect();
    let all: Vec<&str> = KEYS.iter().map(|k| k.key).collect();
    assert_eq!(covered, all);

    for (key, wrong_type, not_allowed) in BAD_VALUES {
        let (section, name) = key.split_once('.').unwrap();
        let default = get_key(&Settings::default(), key).unwrap();
        for bad in [wrong_type, not_allowed] {
            let text = format!("# comment\n[{section}]\n{name} = {bad}\n");
            let loaded = parse(&text);
            assert_eq!(loaded.settings, Settings::default(), "{text}");
            assert_eq!(loaded.problems.len(), 1, "{text}: {:?}", loaded.problems);
            let p = &loaded.problems[0];
            let shown = p.to_string();
            assert_eq!(p.severity, Severity::Error);
            assert_eq!(p.key, *key);
            assert_eq!(p.line, Some(3), "{shown}");
            assert!(shown.starts_with("tenuto.toml line 3: "), "{shown}");
            assert!(shown.contains(&format!("{key} = {bad} ")), "{shown}");
            assert!(
                shown.contains(&format!("; use {}", allowed(key).unwrap())),
                "{shown}"
            );
            assert!(
                shown.contains(&format!("(kept the default {default})")),
                "{shown}"
            );
            assert!(loaded.has_errors());
        }
    }
}

#[test]
fn every_key_refuses_bad_values_through_set_key_too() {
    // The same values, as `tenuto config set KEY VALUE` gets them (no TOML quoting).
    for (key, wrong_type, not_allowed) in BAD_VALUES {
        for bad in [wrong_type, not_allowed] {
            let raw = bad.trim_matches('"');
            let mut s = non_default();
            let before = s.clone();
            let current = get_key(&s, key).unwrap();
            let Err(p) = set_key(&mut s, key, raw) else {
                // A wrong TOML type can be a right value from the command line
                // ("128" is the number 128 there).
                assert!(
                    matches!(
                        *key,
                        "driver.buffer_size"
                            | "virtual.inputs"
                            | "virtual.sample_rate"
                            | "scheduling.mmcss_task"
                            | "wasapi.output"
                            | "wasapi.input"
                    ),
                    "{key} = {raw} accepted"
                );
                continue;
            };
            assert_eq!(s, before, "{key} = {raw} changed something");
            let shown = p.to_string();
            assert_eq!(
                (p.severity, p.key.as_str(), p.line),
                (Severity::Error, *key, None)
            );
            assert!(shown.contains(key) && shown.contains(raw), "{shown}");
            assert!(shown.contains(&allowed(key).unwrap()), "{shown}");
            assert!(
                shown.contains(&format!("not changed: it stays {current}")),
                "{shown}"
            );
        }
    }
}

#[test]
fn the_message_reads_as_documented() {
    let mut text = String::new();
    for line in 1..12 {
        text.push_str(&format!("# line {line}\n"));
    }
    text.insert_str(0, "[scheduling]\n");
    text.push_str("mmcss_priority = \"max\"\n");
    let loaded = parse(&text);
    assert_eq!(
        loaded.problems[0].to_string(),
        "tenuto.toml line 13: scheduling.mmcss_priority = \"max\" is not allowed; use low, \
         normal, high or critical (kept the default \"critical\")"
    );
    let loaded = parse("[wasapi]\nmode = \"exclusiv\"\n");
    assert_eq!(
        loaded.problems[0].to_string(),
        "tenuto.toml line 2: wasapi.mode = \"exclusiv\" is not allowed (did you mean \
         \"exclusive\"?); use shared, low-latency or exclusive (kept the default \"shared\")"
    );
    let loaded = parse("[wasapi]\noutput = \"\"\n");
    assert_eq!(
        loaded.problems[0].to_string(),
        format!(
            "tenuto.toml line 2: wasapi.output = \"\" is empty; use {} (kept the default \
             \"default\")",
            allowed("wasapi.output").unwrap()
        )
    );
}

#[test]
fn wasapi_defaults() {
    let s = Settings::default();
    assert_eq!(s.wasapi, WasapiSettings::default());
    assert_eq!(s.wasapi.output, [EndpointEntry::default()]);
    assert_eq!(s.wasapi.input, one(EndpointSetting::Default));
    assert_eq!(s.wasapi.clock, ClockSetting::Auto);
    assert_eq!(s.wasapi.missing_device, MissingDeviceSetting::Default);
    assert_eq!(s.wasapi.mode, WasapiModeSetting::Shared);
    // WASAPI exists only on Windows.
    let backend = if cfg!(windows) {
        BackendSetting::Wasapi
    } else {
        BackendSetting::Virtual
    };
    assert_eq!(s.driver.backend, backend);
    assert_eq!(DriverSettings::default().backend, backend);
    for (key, value) in [
        ("wasapi.output", "\"default\""),
        ("wasapi.input", "\"default\""),
        ("wasapi.clock", "\"auto\""),
        ("wasapi.mode", "\"shared\""),
    ] {
        assert_eq!(get_key(&s, key).as_deref(), Some(value), "{key}");
    }
    // The file written for the defaults has the section, right after [driver].
    let text = s.to_toml();
    let driver = text.find("\n[driver]\n").unwrap();
    let wasapi = text.find("\n[wasapi]\n").unwrap();
    let virt = text.find("\n[virtual]\n").unwrap();
    assert!(driver < wasapi && wasapi < virt, "{text}");
    assert!(text.contains("\noutput = \"default\"\n"), "{text}");
    assert!(text.contains("\nmode = \"shared\"\n"), "{text}");
}

#[test]
fn wasapi_keys_round_trip() {
    // Both backends are accepted on every OS (a driver outside Windows falls back to
    // the virtual device; the settings just keep the choice).
    for backend in BackendSetting::ALL {
        let loaded = parse(&format!("[driver]\nbackend = \"{backend}\"\n"));
        assert_eq!(loaded.problems, []);
        assert_eq!(loaded.settings.driver.backend, *backend);
    }
    let loaded = parse("[driver]\nbackend = \"WASAPI\"\n");
    assert_eq!(loaded.settings.driver.backend, BackendSetting::Wasapi);

    let mut s = Settings::default();
    s.driver.backend = BackendSetting::Wasapi;
    for mode in WasapiModeSetting::ALL {
        for (output, input) in [
            (EndpointSetting::Default, EndpointSetting::Off),
            (EndpointSetting::Off, EndpointSetting::Default),
            (
                EndpointSetting::Device(NULL_OUTPUT_ID.to_owned()),
                // A friendly name, as a fallback; odd characters survive.
                EndpointSetting::Device("Mic \"Pro\" \\ (2- USB Audio) ünï".to_owned()),
            ),
        ] {
            s.wasapi = WasapiSettings {
                output: one(output)
                    .into_iter()
                    .filter(|e| e.endpoint != EndpointSetting::Off)
                    .collect(),
                input: one(input)
                    .into_iter()
                    .filter(|e| e.endpoint != EndpointSetting::Off)
                    .collect(),
                clock: ClockSetting::Auto,
                mode: *mode,
                convert_rate: *mode != WasapiModeSetting::LowLatency,
                output_safety: OutputSafetySetting::Auto,
                wake_up: WakeUpSetting::Events,
                missing_device: MissingDeviceSetting::Default,
            };
            let text = s.to_toml();
            let loaded = parse(&text);
            assert_eq!(loaded.problems, [], "{text}");
            assert_eq!(loaded.settings, s, "{text}");
        }
    }
    // The spellings in the file.
    assert_eq!(WasapiModeSetting::LowLatency.as_str(), "low-latency");
    assert_eq!(
        WasapiModeSetting::parse(" Low-Latency "),
        Some(WasapiModeSetting::LowLatency)
    );
    assert_eq!(
        choices_for("wasapi.mode").unwrap(),
        WasapiModeSetting::ALL
            .iter()
            .map(|m| (m.as_str(), m.describe()))
            .collect::<Vec<_>>()
    );
    // "default" and "off" in any case; an ID or name verbatim.
    let loaded = parse("[wasapi]\noutput = \" DEFAULT \"\ninput = \"Off\"\nmode = \"EXCLUSIVE\"\n");
    assert_eq!(loaded.problems, []);
    assert_eq!(loaded.settings.wasapi.output, one(EndpointSetting::Default));
    assert_eq!(loaded.settings.wasapi.input, []);
    assert_eq!(loaded.settings.wasapi.mode, WasapiModeSetting::Exclusive);
    let loaded = parse(&format!("[wasapi]\ninput = \"{NULL_OUTPUT_ID}\"\n"));
    assert_eq!(
        loaded.settings.wasapi.input,
        one(EndpointSetting::Device(NULL_OUTPUT_ID.to_owned()))
    );
    assert_eq!(
        loaded.settings.wasapi.input[0].endpoint.device(),
        Some(NULL_OUTPUT_ID)
    );
    assert_eq!(EndpointSetting::Off.device(), None);
}

#[test]
fn wasapi_bad_values() {
    // A typo in the mode: did you mean.
    let loaded = parse("[wasapi]\nmode = \"exclusiv\"\nmod = \"shared\"\n");
    assert_eq!(loaded.settings.wasapi.mode, WasapiModeSetting::Shared);
    let msgs: Vec<String> = loaded.problems.iter().map(|p| p.to_string()).collect();
    assert_eq!(msgs.len(), 2, "{msgs:?}");
    assert!(
        msgs[0].contains("wasapi.mode = \"exclusiv\" is not allowed (did you mean \"exclusive\"?)"),
        "{msgs:?}"
    );
    assert_eq!(
        msgs[1],
        "tenuto.toml line 3: unknown key `wasapi.mod` ignored; did you mean `wasapi.mode`?"
    );
    // Unknown sections near [wasapi], unknown keys in it.
    let loaded = parse("[wasap]\noutput = \"off\"\n[wasapi]\noutptu = \"off\"\n");
    let msgs: Vec<String> = loaded.problems.iter().map(|p| p.to_string()).collect();
    assert_eq!(
        msgs,
        [
            "tenuto.toml line 1: unknown section [wasap] ignored; did you mean [wasapi]?",
            "tenuto.toml line 4: unknown key `wasapi.outptu` ignored; did you mean `wasapi.output`?",
        ]
    );
    // Far from every value: no suggestion.
    let loaded = parse("[wasapi]\nmode = \"turbo\"\n");
    assert_eq!(
        loaded.problems[0].message,
        "wasapi.mode = \"turbo\" is not allowed; use shared, low-latency or exclusive (kept \
         the default \"shared\")"
    );
    // Empty or blank endpoints: an error that says to use "default" or "off".
    for (key, text) in [("output", "\"\""), ("input", "\"  \"")] {
        let loaded = parse(&format!("[wasapi]\n{key} = {text}\n"));
        assert_eq!(loaded.settings, Settings::default());
        let p = &loaded.problems[0];
        assert_eq!(p.key, format!("wasapi.{key}"));
        assert!(
            p.message
                .contains(&format!("wasapi.{key} = {text} is empty")),
            "{p}"
        );
        assert!(
            p.message.contains("; use off, one endpoint, or a list"),
            "{p}"
        );
    }
    // The wrong type.
    let loaded = parse("[wasapi]\noutput = 3\n");
    assert_eq!(
        loaded.problems[0].message,
        format!(
            "wasapi.output = 3 is a whole number, not a string or an array of strings; use {} \
             (kept the default \"default\")",
            allowed("wasapi.output").unwrap()
        )
    );
    // Other backends: not allowed, with the list.
    let loaded = parse("[driver]\nbackend = \"wasap\"\n");
    assert_eq!(
        loaded.problems[0].message,
        format!(
            "driver.backend = \"wasap\" is not allowed (did you mean \"wasapi\"?); use virtual \
             or wasapi (kept the default {})",
            get_key(&Settings::default(), "driver.backend").unwrap()
        )
    );
}

#[test]
fn wasapi_convert_rate() {
    // On by default; a boolean in the file, through set_key and back.
    let mut s = Settings::default();
    assert!(s.wasapi.convert_rate);
    assert_eq!(get_key(&s, "wasapi.convert_rate").as_deref(), Some("true"));
    assert!(s.to_toml().contains("\nconvert_rate = true\n"));
    let loaded = parse("[wasapi]\nconvert_rate = false\n");
    assert_eq!(loaded.problems, []);
    assert!(!loaded.settings.wasapi.convert_rate);
    set_key(&mut s, "wasapi.convert_rate", "false").unwrap();
    assert!(!s.wasapi.convert_rate);
    assert_eq!(parse(&s.to_toml()).settings, s);
    let p = set_key(&mut s, "wasapi.convert_rate", "no").unwrap_err();
    assert_eq!(
        p.message,
        "wasapi.convert_rate = \"no\" is a string, not true or false; use true or false (not \
         changed: it stays false)"
    );
    let p = set_key(&mut s, "wasapi.convert_rates", "true").unwrap_err();
    assert!(
        p.message.contains("did you mean `wasapi.convert_rate`?"),
        "{p}"
    );

    // What the driver would do: the backend line and the rates line say it.
    s.driver.backend = BackendSetting::Wasapi;
    let rates = |s: &Settings| {
        s.explain()
            .into_iter()
            .find(|(topic, _)| *topic == "sample rates")
            .map(|(_, text)| text)
    };
    let backend = s.explain().remove(0).1;
    assert!(
        backend.contains("other host rates refused, naming the rate that works"),
        "{backend}"
    );
    assert_eq!(
        rates(&s).unwrap(),
        "only the device's mix rate (Windows' Sound settings); other host rates are refused \
         with a message naming the rate that works (wasapi.convert_rate = true converts them)"
    );
    s.wasapi.convert_rate = true;
    let text = rates(&s).unwrap();
    assert!(
        text.starts_with("every standard rate (44.1 to 192 kHz)"),
        "{text}"
    );
    assert!(
        text.contains(
            "a host at 44.1 kHz on a 48 kHz device: +1.8 ms in, +1.9 ms out; a host at 96 kHz \
             on a 48 kHz device: +1.0 ms in, +1.0 ms out"
        ),
        "{text}"
    );
    s.wasapi.mode = WasapiModeSetting::Exclusive;
    assert!(rates(&s).unwrap().contains("exclusive mode never converts"));
    // The virtual device has no such line.
    s.driver.backend = BackendSetting::Virtual;
    assert_eq!(rates(&s), None);
}

#[test]
fn conversion_latency_is_the_resamplers_delay_in_host_frames() {
    // 44.1 kHz host on 48 kHz: capture 48 → 44.1 delays 80.85 host frames; render
    // 44.1 → 48 delays 91.43 device frames = 84.0 host frames.
    assert_eq!(conversion_latency_frames(44_100, 48_000), Some((81, 84)));
    assert_eq!(conversion_latency_frames(48_000, 48_000), None);
    // Outside the resampler's range: no figure.
    assert_eq!(conversion_latency_frames(4_000, 48_000), None);
    assert_eq!(
        conversion_text(48_000, 48_000),
        "a host at 48 kHz on a 48 kHz device: no conversion"
    );
    for host in SAMPLE_RATES {
        for device in [44_100, 48_000] {
            if host == device {
                continue;
            }
            let (input, output) = conversion_latency_frames(host, device).unwrap();
            // Between 0.5 and 4 ms each way at every standard pair.
            for frames in [input, output] {
                let ms = f64::from(frames) * 1000.0 / f64::from(host);
                assert!((0.5..4.0).contains(&ms), "{host} on {device}: {ms} ms");
            }
        }
    }
}

#[test]
fn wasapi_keys_through_set_key() {
    let mut s = Settings::default();
    set_key(&mut s, "driver.backend", "wasapi").unwrap();
    assert_eq!(s.driver.backend, BackendSetting::Wasapi);
    set_key(&mut s, "driver.backend", "virtual").unwrap();
    assert_eq!(s.driver.backend, BackendSetting::Virtual);
    set_key(&mut s, "wasapi.output", NULL_OUTPUT_ID).unwrap();
    assert_eq!(
        get_key(&s, "wasapi.output").unwrap(),
        format!("\"{NULL_OUTPUT_ID}\"")
    );
    set_key(&mut s, "wasapi.input", "Tenuto Null Input").unwrap();
    assert_eq!(
        s.wasapi.input,
        one(EndpointSetting::Device("Tenuto Null Input".to_owned()))
    );
    set_key(&mut s, "wasapi.mode", "low-latency").unwrap();
    assert_eq!(s.wasapi.mode, WasapiModeSetting::LowLatency);
    set_key(&mut s, "wasapi.output", "OFF").unwrap();
    assert_eq!(s.wasapi.output, []);
    set_key(&mut s, "wasapi.output", "default").unwrap();
    assert_eq!(s.wasapi.output, one(EndpointSetting::Default));

    // Refusals change nothing and say what is allowed.
    let before = s.clone();
    let p = set_key(&mut s, "wasapi.input", "").unwrap_err();
    assert_eq!(
        p.message,
        format!(
            "wasapi.input = \"\" is empty; use {} (not changed: it stays \"Tenuto Null \
             Input\")",
            allowed("wasapi.input").unwrap()
        )
    );
    let p = set_key(&mut s, "wasapi.mode", "exclusiv").unwrap_err();
    assert_eq!(
        p.message,
        "wasapi.mode = \"exclusiv\" is not allowed (did you mean \"exclusive\"?); use shared, \
         low-latency or exclusive (not changed: it stays \"low-latency\")"
    );
    let p = set_key(&mut s, "wasapi.outpt", "off").unwrap_err();
    assert!(p.message.contains("did you mean `wasapi.output`?"), "{p}");
    assert_eq!(s, before);

    // What the driver would do says so.
    let explained: Vec<String> = s.explain().into_iter().map(|(_, l)| l).collect();
    assert!(
        explained[0].starts_with("virtual device: 2 in / 2 out"),
        "{explained:?}"
    );
    set_key(&mut s, "driver.backend", "wasapi").unwrap();
    set_key(&mut s, "wasapi.output", NULL_OUTPUT_ID).unwrap();
    let (topic, line) = s.explain().remove(0);
    assert_eq!(topic, "backend");
    assert!(
        line.starts_with(&format!(
            "WASAPI: output: \"{NULL_OUTPUT_ID}\"; input: \"Tenuto Null Input\"; clock: auto \
             (the input: \"Tenuto Null Input\"); low-latency \
             shared mode (the smallest engine period the device offers, IAudioClient3; plain \
             shared mode where Windows does not offer it; other host rates converted on the \
             driver thread)"
        )),
        "{line}"
    );
    assert_eq!(
        line.contains("falls back to the virtual device"),
        !cfg!(windows),
        "{line}"
    );
    s.wasapi = WasapiSettings::default();
    let line = s.explain().remove(0).1;
    assert!(
        line.starts_with(
            "WASAPI: output: Windows' default device; input: Windows' default device; clock: \
             auto (the input: Windows' default device); shared \
             mode (Windows' audio engine at its mix rate; other host rates converted on the \
             driver thread)"
        ),
        "{line}"
    );
    s.wasapi.mode = WasapiModeSetting::Exclusive;
    s.wasapi.input = Vec::new();
    let line = s.explain().remove(0).1;
    assert!(
        line.contains("input: off; exclusive mode (the device alone"),
        "{line}"
    );
}

#[test]
fn a_bad_value_keeps_the_default_for_that_key_only() {
    let loaded = parse(
        "[driver]\nbuffer_size = 100\nsample_type = \"float64\"\n\
         [scheduling]\nmode = \"MANUAL\"\nmmcss_priority = \"max\"\nmanual_level = \"highest\"\n",
    );
    assert_eq!(loaded.problems.len(), 2);
    let s = loaded.settings;
    assert_eq!(s.driver.buffer_size, 128);
    assert_eq!(s.driver.sample_type, SampleTypeSetting::Float64);
    assert_eq!(s.scheduling.mode, SchedulingMode::Manual);
    assert_eq!(s.scheduling.mmcss_priority, MmcssPrioritySetting::Critical);
    assert_eq!(s.scheduling.manual_level, ManualLevelSetting::Highest);
}

#[test]
fn the_device_needs_a_channel() {
    let loaded = parse("[virtual]\ninputs = 0\noutputs = 0\n");
    assert_eq!(loaded.problems.len(), 1);
    let p = &loaded.problems[0];
    assert_eq!((p.key.as_str(), p.line), ("virtual.outputs", Some(3)));
    assert!(p.message.contains("at least one channel"), "{p}");
    assert_eq!(loaded.settings.virtual_device.inputs, 0);
    assert_eq!(loaded.settings.virtual_device.outputs, 2);
    // One of them at 0 is fine.
    assert_eq!(parse("[virtual]\ninputs = 0\n").problems, []);
}

#[test]
fn unknown_keys_and_sections_are_warnings_with_did_you_mean() {
    let loaded = parse(
        "[scheduling]\nmod = \"x\"\nmmcss_prio = \"high\"\n\
         [schedulling]\nmode = \"manual\"\n\
         [driver]\nwhatever = 1\nmode = \"inherit\"\n\
         [loging]\nlevel = \"debug\"\n\
         [zzzzzzzz]\n\
         buffer_sise = 64\n",
    );
    assert_eq!(loaded.settings, Settings::default());
    assert!(!loaded.has_errors());
    let msgs: Vec<String> = loaded.problems.iter().map(|p| p.to_string()).collect();
    assert!(loaded
        .problems
        .iter()
        .all(|p| p.severity == Severity::Warning));
    assert_eq!(
        msgs,
        [
            "tenuto.toml line 2: unknown key `scheduling.mod` ignored; did you mean `scheduling.mode`?",
            "tenuto.toml line 3: unknown key `scheduling.mmcss_prio` ignored",
            "tenuto.toml line 4: unknown section [schedulling] ignored; did you mean [scheduling]?",
            "tenuto.toml line 7: unknown key `driver.whatever` ignored",
            "tenuto.toml line 8: unknown key `driver.mode` ignored; did you mean `wasapi.mode` or `scheduling.mode`?",
            "tenuto.toml line 9: unknown section [loging] ignored; did you mean [logging]?",
            "tenuto.toml line 11: unknown section [zzzzzzzz] ignored",
        ],
        "{msgs:#?}"
    );
    // A key outside any section (before the first header).
    let loaded = parse("buffer_sise = 64\n[driver]\n");
    assert_eq!(
        loaded.problems[0].message,
        "unknown key `buffer_sise` outside any section ignored; did you mean \
         `driver.buffer_size` (in [driver])?"
    );
    assert_eq!(loaded.problems[0].key, "buffer_sise");
}

#[test]
fn a_broken_file_gives_the_defaults_and_one_error() {
    for text in [
        "[driver",
        "[driver]\nbuffer_size = \n",
        "[driver]\nbackend = \"virtual\"\nbackend = \"virtual\"\n",
        "\u{0}\u{1}\u{2}garbage\u{7f}",
        "[scheduling]\nmode = \"unterminated\n",
    ] {
        let loaded = parse(text);
        assert_eq!(loaded.settings, Settings::default(), "{text:?}");
        assert_eq!(loaded.problems.len(), 1, "{text:?}: {:?}", loaded.problems);
        let p = &loaded.problems[0];
        assert_eq!((p.severity, p.key.as_str()), (Severity::Error, ""));
        assert!(p.line.is_some(), "{p}");
        assert!(p.message.contains("not valid TOML"), "{p}");
        assert!(p.message.contains("default settings"), "{p}");
        assert_eq!(loaded.file_problem(), Some(p));
    }
    // A section that is not a table.
    let loaded = parse("driver = \"virtual\"\n");
    assert_eq!(loaded.problems.len(), 1);
    assert!(loaded.problems[0]
        .message
        .contains("must be the section [driver]"));
}

#[test]
fn loading_files() {
    let dir = temp_dir("load");
    // Missing: the defaults, no problem.
    let missing = load(&dir.join("nothing.toml"));
    assert_eq!(missing.source, Source::Defaults);
    assert_eq!((missing.problems.len(), missing.text_hash), (0, 0));
    assert_eq!(missing.settings, Settings::default());

    // Binary garbage (not UTF-8): the defaults and one error naming the file.
    let garbage = dir.join("garbage.toml");
    std::fs::write(&garbage, [0xff, 0xfe, 0x00, 0x80, b'[', 0xc3, 0x28]).unwrap();
    let loaded = load(&garbage);
    assert_eq!(loaded.settings, Settings::default());
    assert_eq!(loaded.problems.len(), 1);
    assert!(loaded.problems[0].message.contains("garbage.toml"));
    assert!(loaded.problems[0].message.contains("not UTF-8"));
    assert_eq!(loaded.source, Source::File);

    // Unreadable (a folder): the defaults and one error naming it.
    let folder = dir.join("folder.toml");
    std::fs::create_dir(&folder).unwrap();
    let loaded = load(&folder);
    assert_eq!(loaded.settings, Settings::default());
    assert_eq!(loaded.problems.len(), 1);
    assert!(
        loaded.problems[0].message.contains("folder.toml"),
        "{}",
        loaded.problems[0]
    );

    // A byte-order mark (Notepad) is fine.
    let bom = dir.join("bom.toml");
    std::fs::write(&bom, "\u{feff}[driver]\nbuffer_size = 64\n").unwrap();
    let loaded = load(&bom);
    assert_eq!(loaded.problems, []);
    assert_eq!(loaded.settings.driver.buffer_size, 64);

    // The hash tells unchanged content from changed.
    std::fs::write(&bom, "\u{feff}[driver]\nbuffer_size = 64\n").unwrap();
    assert_eq!(load(&bom).text_hash, loaded.text_hash);
    std::fs::write(&bom, "[driver]\nbuffer_size = 64\n").unwrap();
    let again = load(&bom);
    assert_ne!(again.text_hash, loaded.text_hash);
    assert_eq!(again.settings, loaded.settings);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn saving_is_atomic_and_reads_back() {
    let dir = temp_dir("save");
    let path = dir.join("new folder").join("tenuto.toml");
    save_atomic(&path, &non_default()).unwrap();
    let loaded = load(&path);
    assert_eq!((loaded.settings, loaded.problems), (non_default(), vec![]));
    // Replacing an existing file.
    save_atomic(&path, &Settings::default()).unwrap();
    assert_eq!(load(&path).settings, Settings::default());
    assert_eq!(files_in(path.parent().unwrap()), ["tenuto.toml"]);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_crash_mid_save_leaves_the_original_and_the_next_save_cleans_up() {
    let dir = temp_dir("crash");
    let path = dir.join("tenuto.toml");
    save_atomic(&path, &non_default()).unwrap();

    // A save that died after writing half of its temporary file, long ago, and one
    // that is (as far as anyone can tell) still in progress.
    let half = &Settings::default().to_toml()[..200];
    let stale = dir.join(".tenuto.toml.4242-0.tmp");
    let young = dir.join(".tenuto.toml.4243-0.tmp");
    for temp in [&stale, &young] {
        std::fs::write(temp, half).unwrap();
    }
    let file = std::fs::File::options().write(true).open(&stale).unwrap();
    file.set_modified(SystemTime::now() - Duration::from_secs(3600))
        .unwrap();
    drop(file);

    // The original is intact.
    assert_eq!(load(&path).settings, non_default());

    // The next save works, removes the stale temp and leaves the young one alone.
    let mut next = non_default();
    next.driver.buffer_size = 32;
    save_atomic(&path, &next).unwrap();
    assert_eq!(load(&path).settings, next);
    assert_eq!(
        files_in(&dir),
        [".tenuto.toml.4243-0.tmp", "tenuto.toml"],
        "the stale temporary file should be gone"
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn save_errors_name_the_path() {
    let dir = temp_dir("save-error");
    let blocker = dir.join("not a folder");
    std::fs::write(&blocker, "x").unwrap();
    let err = save_atomic(&blocker.join("tenuto.toml"), &Settings::default()).unwrap_err();
    let text = err.to_string();
    assert!(text.contains("not a folder"), "{text}");
    assert!(matches!(err, SaveError::CreateDir { .. }), "{err:?}");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn set_key_sets_every_key() {
    let target = non_default();
    let mut s = Settings::default();
    for info in KEYS {
        let value = get_key(&target, info.key).unwrap();
        // As typed on a command line: strings without their quotes.
        let raw = match info.key {
            "scheduling.mmcss_task" => target.scheduling.mmcss_task.clone(),
            _ => value.trim_matches('"').to_owned(),
        };
        // A list as `tenuto config set` takes it: one value per entry.
        let list = match info.key {
            "wasapi.output" => Some(&target.wasapi.output),
            "wasapi.input" => Some(&target.wasapi.input),
            _ => None,
        };
        match list {
            Some(list) if list.len() > 1 => {
                let values: Vec<String> = list.iter().map(|e| e.to_string()).collect();
                set_key_values(&mut s, info.key, &values)
            }
            _ => set_key(&mut s, info.key, &raw),
        }
        .unwrap_or_else(|p| panic!("{}: {p}", info.key));
        assert_eq!(get_key(&s, info.key).unwrap(), value, "{}", info.key);
    }
    // Profiles: add (case-insensitive name), replace, remove.
    for (exe, v) in &target.profiles {
        set_key(
            &mut s,
            &format!("profiles.{}", exe.to_uppercase()),
            v.as_str(),
        )
        .unwrap();
    }
    assert_eq!(s, target);
    set_key(&mut s, "profiles.Reaper.exe", "inherit").unwrap();
    assert_eq!(s.profiles["reaper.exe"], ProfileValue::Inherit);
    assert_eq!(
        get_key(&s, "profiles.REAPER.EXE").as_deref(),
        Some("\"inherit\"")
    );
    set_key(&mut s, "profiles.reaper.exe", "none").unwrap();
    assert!(!s.profiles.contains_key("reaper.exe"));
    set_key(&mut s, "profiles.reaper.exe", "none").unwrap(); // already gone: fine
    let before = s.clone();
    let p = set_key(&mut s, "profiles.reaper.exe", "max").unwrap_err();
    assert!(
        p.message
            .contains("mmcss, manual, inherit or auto, or none"),
        "{p}"
    );
    let p = set_key(
        &mut s,
        r"profiles.C:\Program Files\REAPER\reaper.exe",
        "auto",
    )
    .unwrap_err();
    assert!(p.message.contains("is a path"), "{p}");
    assert_eq!(s, before);

    // Unknown keys are refused, with a suggestion.
    let p = set_key(&mut s, "scheduling.mod", "manual").unwrap_err();
    assert!(p.message.contains("did you mean `scheduling.mode`?"), "{p}");
    let p = set_key(&mut s, "buffer_size", "64").unwrap_err();
    assert!(
        p.message.contains("did you mean `driver.buffer_size`?"),
        "{p}"
    );

    // The rule between keys.
    let mut s = Settings::default();
    set_key(&mut s, "virtual.inputs", "0").unwrap();
    let p = set_key(&mut s, "virtual.outputs", "0").unwrap_err();
    assert!(p.message.contains("at least one channel"), "{p}");
    assert_eq!(s.virtual_device.outputs, 2);
}

#[test]
fn choices_and_allowed_values_for_the_panel() {
    for info in KEYS {
        assert!(allowed(info.key).is_some(), "{}", info.key);
        if let Some(choices) = choices_for(info.key) {
            assert_eq!(info.kind, ValueKind::String);
            for (value, describe) in choices {
                assert!(!describe.is_empty());
                let mut s = Settings::default();
                set_key(&mut s, info.key, value).unwrap();
            }
        }
    }
    assert_eq!(choices_for("scheduling.mode").unwrap().len(), 4);
    assert_eq!(choices_for("profiles.x.exe").unwrap().len(), 4);
    assert!(choices_for("driver.buffer_size").is_none());
}

#[test]
fn settings_map_to_the_drivers_types() {
    let s = non_default();
    let config = s.virtual_config();
    assert_eq!((config.inputs, config.outputs), (0, 64));
    assert_eq!(config.format, tenuto_convert::DeviceFormat::I24);
    assert_eq!(config.default_sample_rate, 192_000.0);
    assert_eq!(config.buffer_sizes.preferred_frames, 8192);
    assert_eq!(
        s.driver.host_format(),
        Some(tenuto_convert::HostFormat::Int32Lsb20)
    );
    let sched = s.scheduling.to_scheduling();
    assert_eq!(
        sched.windows,
        tenuto_sched::policy::WindowsPolicy::Manual {
            level: tenuto_sched::policy::ThreadLevel::AboveNormal,
            process_class: Some(tenuto_sched::policy::ProcessClass::Realtime),
        }
    );
    assert!(!sched.eco_qos_opt_out);
    assert_eq!(
        s.scheduling.base_priority_text(),
        "ABOVE_NORMAL in a REALTIME process: base priority 25 — among MMCSS threads (23–26)"
    );
    assert!(s.explain().iter().any(|(_, l)| l.contains("Int32LSB20")));
}

#[test]
fn default_path_honours_tenuto_config() {
    // The only test in this binary that touches the environment.
    let saved = std::env::var_os(CONFIG_ENV);
    std::env::set_var(CONFIG_ENV, "some/where/my.toml");
    assert_eq!(default_path(), Some(PathBuf::from("some/where/my.toml")));
    std::env::set_var(CONFIG_ENV, "");
    let path = default_path().expect("a per-user folder");
    assert!(path.ends_with(if cfg!(windows) {
        "Tenuto/tenuto.toml"
    } else {
        "tenuto/tenuto.toml"
    }));
    if cfg!(windows) {
        let app_data = std::env::var_os("APPDATA").unwrap();
        assert!(path.starts_with(app_data), "{}", path.display());
    }
    std::env::remove_var(CONFIG_ENV);
    assert_eq!(default_path().as_deref(), Some(path.as_path()));
    if let Some(v) = saved {
        std::env::set_var(CONFIG_ENV, v);
    }
}

/// README's configuration reference names every key the settings know, so
/// the documentation cannot fall behind the code.
#[test]
fn the_readme_documents_every_key() {
    let readme = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../../README.md"))
        .expect("README.md");
    for k in tenuto_settings::KEYS {
        let name = k.key;
        assert!(
            readme.contains(&format!("| `{name}` |")),
            "README.md's configuration reference lacks `{name}`"
        );
    }
    assert!(
        readme.contains("| `profiles.\"<exe>\"` |"),
        "profiles are not documented"
    );
}

/// `wasapi.output_safety` takes `auto` or whole milliseconds up to 100, from the
/// file (as a number or a string) and from `set_key`, and says what it allows.
#[test]
fn output_safety_is_auto_or_milliseconds() {
    let loaded = parse("[wasapi]\noutput_safety = 10\n");
    assert_eq!(loaded.problems, []);
    assert_eq!(
        loaded.settings.wasapi.output_safety,
        OutputSafetySetting::Ms(10)
    );
    let loaded = parse("[wasapi]\noutput_safety = \"AUTO\"\n");
    assert_eq!(loaded.problems, []);
    assert_eq!(
        loaded.settings.wasapi.output_safety,
        OutputSafetySetting::Auto
    );
    for bad in ["101", "-1", "\"fast\"", "true"] {
        let loaded = parse(&format!("[wasapi]\noutput_safety = {bad}\n"));
        assert_eq!(loaded.problems.len(), 1, "{bad}");
        let text = loaded.problems[0].to_string();
        assert!(text.contains("wasapi.output_safety"), "{text}");
        assert!(
            text.contains("auto, or a whole number of milliseconds from 0 to 100")
                || text.contains("true"),
            "{text}"
        );
        assert_eq!(
            loaded.settings.wasapi.output_safety,
            OutputSafetySetting::Auto
        );
    }
    let mut s = Settings::default();
    set_key(&mut s, "wasapi.output_safety", "40").unwrap();
    assert_eq!(s.wasapi.output_safety, OutputSafetySetting::Ms(40));
    assert_eq!(get_key(&s, "wasapi.output_safety").as_deref(), Some("40"));
    // Written as a number, read back the same.
    let again = parse(&s.to_toml());
    assert_eq!(again.problems, []);
    assert_eq!(
        again.settings.wasapi.output_safety,
        OutputSafetySetting::Ms(40)
    );
    set_key(&mut s, "wasapi.output_safety", "auto").unwrap();
    assert_eq!(
        get_key(&s, "wasapi.output_safety").as_deref(),
        Some("\"auto\"")
    );
    let e = set_key(&mut s, "wasapi.output_safety", "500").unwrap_err();
    assert!(e.to_string().contains("not changed"), "{e}");
}

// Bounded work: a settings file is read while a host creates the driver, so whatever it
// holds must be checked in time linear in its size, give a bounded report, and a file
// over the size limit must not be read at all. The assertions are on counts; each test
// also has one generous time limit (HANG_GUARD), only to turn a hang or a quadratic
// blow-up into a failure on a slow, noisy machine — speed targets live in benchmarks.

/// Far above what linear work takes on these inputs, even in a debug build on a busy VM.
const HANG_GUARD: Duration = Duration::from_secs(2);

fn timed<T>(what: &str, f: impl FnOnce() -> T) -> T {
    let t0 = std::time::Instant::now();
    let out = f();
    let took = t0.elapsed();
    assert!(took < HANG_GUARD, "{what} took {took:?}");
    out
}

/// `count` unknown keys in [driver], 11 bytes each.
fn unknown_keys(count: usize) -> String {
    let mut text = String::from("[driver]\n");
    for i in 0..count {
        text.push_str(&format!("k{i:05} = 1\n"));
    }
    text
}

fn assert_capped(loaded: &Loaded, count: usize) {
    assert_eq!(loaded.problems.len(), MAX_PROBLEMS + 1);
    let listed = &loaded.problems[..MAX_PROBLEMS];
    assert!(listed.iter().all(|p| p.severity == Severity::Warning));
    assert_eq!(
        listed[0].to_string(),
        "tenuto.toml line 2: unknown key `driver.k00000` ignored"
    );
    assert_eq!(listed[MAX_PROBLEMS - 1].line, Some(MAX_PROBLEMS + 1));
    let last = &loaded.problems[MAX_PROBLEMS];
    assert_eq!((last.severity, last.line), (Severity::Warning, None));
    assert_eq!(
        last.message,
        format!(
            "and {} more warnings after line {} (only the first {MAX_PROBLEMS} are listed)",
            count - MAX_PROBLEMS,
            MAX_PROBLEMS + 1
        )
    );
    assert_eq!(loaded.file_problem(), None);
    assert!(!loaded.has_errors());
    assert_eq!(loaded.settings, Settings::default());
}

#[test]
fn ten_thousand_unknown_keys_give_the_first_fifty_and_a_count() {
    let text = unknown_keys(10_000);
    assert!(text.len() > 100_000);
    let loaded = timed("10,000 unknown keys", || parse(&text));
    assert_capped(&loaded, 10_000);
}

#[test]
fn twenty_thousand_unknown_keys_just_under_the_limit_give_the_first_fifty_and_a_count() {
    let text = unknown_keys(20_000);
    assert!(text.len() > 200_000 && text.len() as u64 <= MAX_FILE_BYTES);
    let loaded = timed("20,000 unknown keys", || parse(&text));
    assert_capped(&loaded, 20_000);
    // Through a file too.
    let dir = temp_dir("20k");
    let path = dir.join(FILE_NAME);
    std::fs::write(&path, &text).unwrap();
    let loaded = timed("loading 20,000 unknown keys", || load(&path));
    assert_capped(&loaded, 20_000);
}

#[test]
fn seventy_five_thousand_unknown_keys_are_over_the_limit_and_not_read() {
    let text = unknown_keys(75_000);
    assert!(text.len() as u64 > MAX_FILE_BYTES);
    let dir = temp_dir("75k");
    let path = dir.join(FILE_NAME);
    std::fs::write(&path, &text).unwrap();
    let loaded = timed("loading 75,000 unknown keys", || load(&path));
    assert_eq!(loaded.problems.len(), 1, "{:?}", loaded.problems);
    let problem = loaded
        .file_problem()
        .expect("one problem about the whole file");
    assert!(
        problem
            .message
            .contains("more than the 262144 bytes (256 KiB)"),
        "{problem}"
    );
    assert_eq!(loaded.settings, Settings::default());
}

#[test]
fn a_name_or_value_of_200_000_characters_gives_a_short_message() {
    let long = "k".repeat(200_000);
    let cases = [
        (
            format!("[driver]\n{long} = 1\n"),
            Severity::Warning,
            "unknown key `driver.kkk",
        ),
        (
            format!("{long} = 1\n"),
            Severity::Warning,
            "unknown key `kkk",
        ),
        (
            format!("[{long}]\n"),
            Severity::Warning,
            "unknown section [kkk",
        ),
        (
            format!("[scheduling]\nmode = \"{long}\"\n"),
            Severity::Error,
            "scheduling.mode = \"kkk",
        ),
        (
            format!("[profiles]\n\"{long}\" = 1\n"),
            Severity::Error,
            "profiles.kkk",
        ),
    ];
    for (text, severity, start) in cases {
        assert!(text.len() as u64 <= MAX_FILE_BYTES);
        let loaded = timed(start, || parse(&text));
        assert_eq!(loaded.problems.len(), 1, "{start}");
        let p = &loaded.problems[0];
        assert_eq!(p.severity, severity, "{p}");
        assert!(p.message.starts_with(start), "{p}");
        assert!(p.message.contains("…"), "{p}");
        // The whole name or value is counted ("driver." and all).
        assert!(p.message.contains("20000"), "{p}");
        assert!(p.message.contains(" characters)"), "{p}");
        assert!(
            p.message.len() < 300,
            "{} bytes: {}",
            p.message.len(),
            &p.message[..300]
        );
        assert_eq!(loaded.settings, Settings::default());
    }
}

#[test]
fn a_file_over_the_size_limit_is_refused_unread() {
    // Not TOML at all: had it been parsed, the problem would say so.
    let mut text = String::from("[driver\n");
    while text.len() < 10_000_000 {
        text.push_str("this is not toml = = =\n");
    }
    let check = |loaded: &Loaded, what: &str| {
        assert_eq!(loaded.problems.len(), 1, "{:?}", loaded.problems);
        let p = &loaded.problems[0];
        assert_eq!(
            (p.severity, p.key.as_str(), p.line),
            (Severity::Error, "", None)
        );
        for want in [
            what,
            &format!("is {} bytes", text.len()),
            "more than the 262144 bytes (256 KiB)",
            "not read",
            "running with the default settings",
            "remove what is not a setting, or delete the file",
        ] {
            assert!(p.message.contains(want), "{want:?} not in {p}");
        }
        assert!(!p.message.contains("TOML"), "{p}");
        assert_eq!(loaded.file_problem(), Some(p));
        assert_eq!((loaded.source, loaded.text_hash), (Source::File, 0));
        assert_eq!(loaded.settings, Settings::default());
    };
    check(&timed("parsing 10 MB", || parse(&text)), "tenuto.toml");
    let dir = temp_dir("10mb");
    let path = dir.join(FILE_NAME);
    std::fs::write(&path, &text).unwrap();
    check(
        &timed("loading 10 MB", || load(&path)),
        &path.display().to_string(),
    );

    // Up to the limit a file is read.
    let mut text = String::from("[driver]\nbuffer_size = 256\n");
    text.push_str(&"#".repeat(MAX_FILE_BYTES as usize - text.len()));
    assert_eq!(text.len() as u64, MAX_FILE_BYTES);
    let loaded = parse(&text);
    assert_eq!(
        (loaded.problems.len(), loaded.settings.driver.buffer_size),
        (0, 256)
    );
    text.push('#');
    assert_eq!(parse(&text).problems.len(), 1);
}

#[test]
fn many_profiles_and_duplicates_are_checked_in_linear_time() {
    let mut text = String::from("[profiles]\n");
    for i in 0..5_000 {
        text.push_str(&format!(
            "\"h{i}.exe\" = \"auto\"\n\"H{i}.EXE\" = \"mmcss\"\n"
        ));
    }
    let loaded = timed("10,000 profiles", || parse(&text));
    assert!(text.len() as u64 <= MAX_FILE_BYTES);
    assert_eq!(loaded.settings.profiles.len(), 5_000);
    assert_eq!(loaded.problems.len(), MAX_PROBLEMS + 1);
    assert_eq!(
        loaded.problems[0].message,
        "profiles.H0.EXE names the same executable as profiles.h0.exe (names are \
         case-insensitive); used the later one, \"mmcss\""
    );
    assert!(loaded.problems[MAX_PROBLEMS]
        .message
        .starts_with("and 4950 more warnings"));
}

#[test]
fn endpoint_lists_read_and_write() {
    // One endpoint, as files have always spelled it: read, and written back unchanged.
    let old = "[wasapi]\noutput = \"Speakers (Realtek)\"\ninput = \"off\"\n";
    let loaded = parse(old);
    assert_eq!(loaded.problems, []);
    let w = &loaded.settings.wasapi;
    assert_eq!(
        w.output,
        one(EndpointSetting::Device("Speakers (Realtek)".to_owned()))
    );
    assert_eq!(w.input, []);
    let text = loaded.settings.to_toml();
    assert!(
        text.contains("\noutput = \"Speakers (Realtek)\"\n"),
        "{text}"
    );
    assert!(text.contains("\ninput = \"off\"\n"), "{text}");
    // A list: entries in order, each with its selection; written as an array.
    let loaded = parse(
        "[wasapi]\noutput = [\"Speakers (Realtek)\", \"USB Audio [3-4]\", \"default [2,1]\"]\n\
         input = [\"Line [Focusrite]\"]\ninput_x = 1\n",
    );
    assert_eq!(loaded.problems.len(), 1, "{:?}", loaded.problems);
    let w = &loaded.settings.wasapi;
    assert_eq!(
        w.output,
        [
            entry("Speakers (Realtek)"),
            EndpointEntry {
                endpoint: EndpointSetting::Device("USB Audio".to_owned()),
                channels: Some(vec![3, 4]),
            },
            EndpointEntry {
                endpoint: EndpointSetting::Default,
                channels: Some(vec![1, 2]),
            },
        ]
    );
    // A bracket part that is no channel list is part of the name.
    assert_eq!(
        w.input,
        one(EndpointSetting::Device("Line [Focusrite]".to_owned()))
    );
    assert_eq!(
        get_key(&loaded.settings, "wasapi.output").unwrap(),
        "[\"Speakers (Realtek)\", \"USB Audio [3-4]\", \"default [1-2]\"]"
    );
    let again = parse(&loaded.settings.to_toml());
    assert_eq!(
        (again.settings, again.problems),
        (loaded.settings.clone(), vec![])
    );
    // One entry with a selection stays an array; an empty array is off.
    let loaded = parse("[wasapi]\noutput = [\"USB [1]\"]\ninput = []\n");
    assert_eq!(loaded.problems, []);
    assert_eq!(
        get_key(&loaded.settings, "wasapi.output").unwrap(),
        "[\"USB [1]\"]"
    );
    assert_eq!(
        get_key(&loaded.settings, "wasapi.input").unwrap(),
        "\"off\""
    );
    assert_eq!(endpoint_list_text(&loaded.settings.wasapi.input), "off");
}

#[test]
fn bad_endpoint_lists_name_the_entry_and_what_is_allowed() {
    for (value, says) in [
        (
            "[\"USB\", \"Speakers\", \"usb [1]\"]",
            "wasapi.output = [\"USB\", \"Speakers\", \"usb [1]\"] lists the endpoint \"usb\" twice \
             (\"USB\" and \"usb [1]\")",
        ),
        (
            "[\"Speakers\", \"USB [0-2]\"]",
            "is not allowed: its entry \"USB [0-2]\" has the channel selection [0-2], which names \
             channel 0 (channels count from 1)",
        ),
        (
            "\"USB [4-3]\"",
            "wasapi.output = \"USB [4-3]\" has the channel selection [4-3], which has the reversed \
             range 4-3 (write 3-4)",
        ),
        ("\"USB [1,1]\"", "which names channel 1 twice"),
        (
            "[\"Speakers\", \"off\"]",
            "its entry \"off\" is off, which is no endpoint",
        ),
        ("[\"Speakers\", 2]", "its item 2 is a whole number, not a string"),
    ] {
        let loaded = parse(&format!("[wasapi]\noutput = {value}\n"));
        assert_eq!(loaded.settings, Settings::default(), "{value}");
        let [p] = loaded.problems.as_slice() else {
            panic!("{value}: {:?}", loaded.problems)
        };
        assert_eq!((p.key.as_str(), p.line), ("wasapi.output", Some(2)));
        assert!(p.message.contains(says), "{value}: {p}");
        assert!(
            p.message.ends_with(&format!(
                "; use {} (kept the default \"default\")",
                allowed("wasapi.output").unwrap()
            )),
            "{p}"
        );
    }
}

#[test]
fn the_clock_names_a_listed_endpoint() {
    let loaded = parse(
        "[wasapi]\noutput = [\"Speakers\", \"USB Audio [3-4]\"]\ninput = \"Mic\"\n\
         clock = \"usb audio\"\n",
    );
    assert_eq!(loaded.problems, []);
    let w = &loaded.settings.wasapi;
    assert_eq!(w.clock, ClockSetting::Endpoint("usb audio".to_owned()));
    assert_eq!(w.clock_entry().unwrap().as_string(), "USB Audio [3-4]");
    let line = loaded.settings.wasapi.describe();
    assert!(
        line.starts_with(
            "output: 2 endpoints, in this channel order: 1. \"Speakers\", 2. \"USB Audio\" \
             channels 3-4; input: \"Mic\"; clock: \"USB Audio\" channels 3-4; shared mode"
        ),
        "{line}"
    );
    // Auto: the first input, else the first output.
    let mut s = loaded.settings.clone();
    s.wasapi.clock = ClockSetting::Auto;
    assert_eq!(s.wasapi.clock_entry().unwrap().as_string(), "Mic");
    s.wasapi.input.clear();
    assert_eq!(s.wasapi.clock_entry().unwrap().as_string(), "Speakers");
    // One naming none of them: an error, and auto.
    let loaded = parse("[wasapi]\nclock = \"HDMI\"\noutput = \"Speakers\"\ninput = \"off\"\n");
    assert_eq!(loaded.settings.wasapi.clock, ClockSetting::Auto);
    let [p] = loaded.problems.as_slice() else {
        panic!("{:?}", loaded.problems)
    };
    assert_eq!(
        p.to_string(),
        format!(
            "tenuto.toml line 2: wasapi.clock = \"HDMI\" names no endpoint of wasapi.output or \
             wasapi.input (they list \"Speakers\"); use {} (kept the default \"auto\")",
            allowed("wasapi.clock").unwrap()
        )
    );
    // "default" is an endpoint too; with both directions off, none is listed.
    let loaded = parse("[wasapi]\nclock = \"Default\"\n");
    assert_eq!(loaded.problems, []);
    let loaded = parse("[wasapi]\nclock = \"default\"\noutput = \"off\"\ninput = \"off\"\n");
    assert!(
        loaded.problems[0].message.contains("(both are off)"),
        "{:?}",
        loaded.problems
    );
}

#[test]
fn lists_and_the_clock_through_set_key() {
    let mut s = Settings::default();
    set_key_values(
        &mut s,
        "wasapi.output",
        &["Speakers (Realtek)", "USB Audio [3-4]"],
    )
    .unwrap();
    assert_eq!(
        get_key(&s, "wasapi.output").unwrap(),
        "[\"Speakers (Realtek)\", \"USB Audio [3-4]\"]"
    );
    set_key(&mut s, "wasapi.clock", "USB Audio").unwrap();
    // A list that leaves the clock's endpoint out is refused, and says what to do.
    let before = s.clone();
    let p = set_key(&mut s, "wasapi.output", "Speakers (Realtek)").unwrap_err();
    assert!(
        p.message.starts_with(
            "wasapi.output = \"Speakers (Realtek)\" is not allowed while wasapi.clock = \
             \"USB Audio\", which it would leave out; set wasapi.clock to auto or to another \
             listed endpoint first; use "
        ),
        "{p}"
    );
    let p = set_key(&mut s, "wasapi.clock", "HDMI").unwrap_err();
    assert!(
        p.message
            .contains("names no endpoint of wasapi.output or wasapi.input"),
        "{p}"
    );
    let p = set_key_values(&mut s, "wasapi.output", &["A", "a"]).unwrap_err();
    assert!(p.message.contains("lists the endpoint \"a\" twice"), "{p}");
    let p = set_key_values(&mut s, "wasapi.mode", &["shared", "exclusive"]).unwrap_err();
    assert_eq!(
        p.message,
        "wasapi.mode takes one value, not 2 ([\"shared\", \"exclusive\"]); only wasapi.output \
         and wasapi.input take a list (not changed)"
    );
    assert_eq!(s, before);
    // One value is set_key; no value is off.
    set_key_values(&mut s, "wasapi.clock", &["auto"]).unwrap();
    set_key_values(&mut s, "wasapi.output", &[] as &[&str]).unwrap();
    assert_eq!(s.wasapi.output, []);
    // The third way to handle a missing device.
    set_key(&mut s, "wasapi.missing_device", "Skip").unwrap();
    assert_eq!(s.wasapi.missing_device, MissingDeviceSetting::Skip);
}
