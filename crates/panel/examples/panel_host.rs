//! A host for the control panel's GUI test (`cargo xtask test`, under Xvfb
//! and Wine): loads `tenuto.dll` from a path as a DAW would (through its
//! class factory), streams through it, and opens the driver's settings
//! window with `controlPanel()` — twice, the second call must not open a
//! second window. Then it keeps streaming while the harness works the
//! window, and reports what the host saw.
//!
//! ```text
//! panel_host TENUTO_DLL [--wait SECONDS] [--rate HZ]
//! ```
//!
//! `--rate` sets the sample rate before the buffers are created (the driver's own otherwise):
//! with WASAPI at a rate other than the mix rate, the status shows the conversion.
//!
//! The settings file is the driver's, so the harness points `TENUTO_CONFIG`
//! at a file it wrote. Lines starting with `panel_host:` are for the
//! harness, which waits for `panel_host: READY` before looking for the
//! window (and reads the `render endpoint: NAME [ID]` lines: the audio
//! endpoints the window lists), and writes `closed` to this program's stdin
//! once the window is gone. Exit code 0 when: both `controlPanel()` calls succeeded and
//! returned at once, the host received `kAsioResetRequest` after the
//! settings were applied, and streaming never stopped — neither while the
//! panel was open nor after it closed.

#[cfg(not(windows))]
fn main() -> std::process::ExitCode {
    eprintln!("panel_host loads tenuto.dll: it runs on Windows (or under Wine)");
    std::process::ExitCode::from(2)
}

#[cfg(windows)]
fn main() -> std::process::ExitCode {
    match host::run() {
        Ok(()) => {
            println!("panel_host: PASS");
            std::process::ExitCode::SUCCESS
        }
        Err(e) => {
            println!("panel_host: FAIL: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}

#[cfg(windows)]
mod host {
    use std::io::{BufRead, Write};
    use std::path::PathBuf;
    use std::sync::atomic::Ordering;
    use std::sync::mpsc;
    use std::time::{Duration, Instant};

    use tenuto_host::dll::DllServer;
    use tenuto_host::{Driver, HostOptions, Period, PeriodHandler, Session};
    use tenuto_panel::form;

    /// `controlPanel()` must return at once: it may not wait for the window.
    const CALL_LIMIT: Duration = Duration::from_millis(1500);

    struct Count;

    impl PeriodHandler for Count {
        fn process(&mut self, _period: &mut Period<'_>) {}
        fn as_any(&mut self) -> &mut dyn std::any::Any {
            self
        }
    }

    fn say(text: &str) {
        println!("panel_host: {text}");
        let _ = std::io::stdout().flush();
    }

    fn switches(session: &Session) -> u64 {
        session.counters().switches.load(Ordering::Acquire)
    }

    /// Waits until the host has received `more` switches beyond now.
    fn keeps_streaming(session: &Session, more: u64, limit: Duration) -> Result<u64, String> {
        let start = switches(session);
        let t0 = Instant::now();
        while switches(session) < start + more {
            if t0.elapsed() > limit {
                return Err(format!(
                    "streaming stopped: {} switches in {:.1} s (expected {more})",
                    switches(session) - start,
                    limit.as_secs_f64()
                ));
            }
            std::thread::sleep(Duration::from_millis(5));
        }
        Ok(switches(session) - start)
    }

    fn open_panel(driver: &mut Driver, which: &str) -> Result<(), String> {
        let t0 = Instant::now();
        let result = driver.control_panel();
        let took = t0.elapsed();
        say(&format!(
            "controlPanel() {which}: {} in {:.1} ms",
            match &result {
                Ok(()) => "ASE_OK".to_owned(),
                Err(e) => e.to_string(),
            },
            took.as_secs_f64() * 1e3
        ));
        result.map_err(|e| format!("controlPanel() {which} failed: {e}"))?;
        if took > CALL_LIMIT {
            return Err(format!(
                "controlPanel() {which} took {} ms: it must return at once",
                took.as_millis()
            ));
        }
        Ok(())
    }

    /// The panel's window: exactly one, showing the settings file's values.
    fn check_window() -> Result<(), String> {
        let t0 = Instant::now();
        while tenuto_panel::testing::windows().is_empty() {
            if t0.elapsed() > Duration::from_secs(30) {
                return Err("no settings window 30 s after controlPanel()".to_owned());
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let appeared = t0.elapsed();
        // A second window, if the second call made one, would be there by now.
        std::thread::sleep(Duration::from_millis(500));
        let windows = tenuto_panel::testing::windows();
        let [window] = windows[..] else {
            return Err(format!(
                "{} settings windows after two controlPanel() calls; expected 1",
                windows.len()
            ));
        };
        say(&format!(
            "one settings window; it appeared {:.0} ms after the calls returned",
            appeared.as_secs_f64() * 1e3
        ));
        let controls = tenuto_panel::testing::controls(window);
        let path = std::env::var("TENUTO_CONFIG").map_err(|_| "TENUTO_CONFIG is not set")?;
        let loaded = tenuto_settings::load(std::path::Path::new(&path));
        let s = &loaded.settings;
        let exe = std::env::current_exe()
            .ok()
            .and_then(|p| p.file_name().map(|n| n.to_string_lossy().into_owned()));
        let profile_key = form::profile_key(exe.as_deref());
        let values = form::values_of(s, profile_key.as_deref());
        let value = |key: &str| {
            values
                .iter()
                .find(|(k, _)| k == key)
                .map(|(_, v)| v.clone())
                .unwrap_or_default()
        };
        // The endpoints, as the window lists them (it enumerates them the same
        // way on its own thread). The harness reads these lines.
        let (outputs, inputs) = tenuto_panel::testing::devices()
            .map_err(|e| format!("could not list the audio devices: {e}"))?;
        for (what, list) in [("render", &outputs), ("capture", &inputs)] {
            for d in list.iter() {
                say(&format!(
                    "{what} endpoint: {} [{}]{}{}",
                    d.name,
                    d.id,
                    if d.is_default { " (default)" } else { "" },
                    if d.active { "" } else { " (not active)" }
                ));
            }
        }
        let wasapi = form::DeviceEnables::of(s.driver.backend.as_str()).wasapi;
        let rate = if wasapi {
            form::wasapi_rate(&outputs, &s.wasapi.output, &inputs, &s.wasapi.input)
        } else {
            s.virtual_device.sample_rate
        };
        // A direction's device drop-down shows its list's first entry, selected when the
        // window opens.
        let first = |list: &[tenuto_settings::EndpointEntry]| {
            list.first()
                .map_or("default", |e| e.endpoint.as_str())
                .to_owned()
        };
        let output_entries = form::endpoint_entries(Some(&outputs), &first(&s.wasapi.output));
        let input_entries = form::endpoint_entries(Some(&inputs), &first(&s.wasapi.input));
        let clock_entries = form::clock_entries(
            (Some(&outputs), Some(&inputs)),
            (&s.wasapi.output, &s.wasapi.input),
            &s.wasapi.clock,
        );
        // The lists show the file's entries, in order.
        let list_boxes: Vec<&str> = controls
            .iter()
            .filter(|c| c.class.eq_ignore_ascii_case("ListBox"))
            .map(|c| c.text.as_str())
            .collect();
        let want_lists = [
            (&s.wasapi.output, Some(outputs.as_slice())),
            (&s.wasapi.input, Some(inputs.as_slice())),
        ]
        .map(|(list, devices)| {
            list.iter()
                .map(|e| form::entry_label(devices, e))
                .collect::<Vec<_>>()
                .join("\n")
        });
        if list_boxes != want_lists {
            return Err(format!(
                "the endpoint lists show {list_boxes:?}; the file's wasapi.output and \
                 wasapi.input give {want_lists:?}"
            ));
        }
        // Each drop-down's expected text: the entry for the file's value, and
        // whether it is enabled (the backend's own options only).
        let lists: Vec<(String, Vec<form::Entry>)> = vec![
            ("driver.backend".into(), form::backends()),
            ("wasapi.output".into(), output_entries),
            ("wasapi.input".into(), input_entries),
            ("wasapi.clock".into(), clock_entries),
            ("wasapi.mode".into(), form::wasapi_modes()),
            ("virtual.sample_rate".into(), form::sample_rates()),
            ("driver.sample_type".into(), form::sample_types()),
            ("virtual.inputs".into(), form::channel_counts()),
            ("virtual.outputs".into(), form::channel_counts()),
            ("virtual.format".into(), form::device_formats()),
            ("virtual.source".into(), form::sources()),
            ("driver.buffer_size".into(), form::buffer_sizes(rate)),
            (
                "scheduling.mmcss_task".into(),
                form::mmcss_tasks(&[], &s.scheduling.mmcss_task),
            ),
            ("scheduling.mmcss_priority".into(), form::mmcss_priorities()),
            ("scheduling.mmcss_fallback".into(), form::fallbacks()),
            ("scheduling.manual_level".into(), form::manual_levels()),
            ("scheduling.process_class".into(), form::process_classes()),
            ("logging.level".into(), form::log_levels()),
        ]
        .into_iter()
        .chain(profile_key.clone().map(|k| (k, form::profiles())))
        .collect();
        let mut combos: Vec<(&str, bool)> = controls
            .iter()
            .filter(|c| c.class.eq_ignore_ascii_case("ComboBox"))
            .map(|c| (c.text.as_str(), c.enabled))
            .collect();
        let mut checked = 0;
        for (key, entries) in &lists {
            let v = match key.as_str() {
                "wasapi.output" => first(&s.wasapi.output),
                "wasapi.input" => first(&s.wasapi.input),
                _ => value(key),
            };
            let label = entries
                .iter()
                .find(|e| e.value == v)
                .map(|e| e.label.as_str())
                .ok_or(format!("{key} = {v} is not among the panel's entries"))?;
            let at = combos.iter().position(|(t, _)| *t == label).ok_or(format!(
                "no drop-down shows \"{label}\" ({key} = {v} in the file); they show {combos:?}"
            ))?;
            let (_, enabled) = combos.remove(at);
            let want = if key.starts_with("wasapi.") {
                wasapi
            } else if key.starts_with("virtual.") {
                !wasapi
            } else {
                true
            };
            if enabled != want {
                return Err(format!(
                    "the drop-down for {key} (\"{label}\") is {}, but driver.backend = {}",
                    if enabled { "enabled" } else { "disabled" },
                    s.driver.backend
                ));
            }
            checked += 1;
        }
        let check = |text: &str| {
            controls
                .iter()
                .find(|c| c.text == text)
                .and_then(|c| c.checked)
                .ok_or(format!("no check box \"{text}\""))
        };
        let mode = s.scheduling.mode.as_str();
        for (text, want) in [
            ("&Register driver thread with MMCSS", mode == "mmcss"),
            ("&Decide from the host's threads (Auto)", mode == "auto"),
            (
                "Opt out of power throttling (&EcoQoS)",
                s.scheduling.eco_qos_opt_out,
            ),
        ] {
            if check(text)? != want {
                return Err(format!(
                    "\"{text}\" is {}, but the file says mode = {mode}, eco_qos_opt_out = {}",
                    if want { "unchecked" } else { "checked" },
                    s.scheduling.eco_qos_opt_out
                ));
            }
            checked += 1;
        }
        // wasapi.convert_rate: its box shows the file's value, usable only with WASAPI in a
        // shared mode.
        let convert = controls
            .iter()
            .find(|c| c.text == form::CONVERT_RATE)
            .ok_or(format!("no check box \"{}\"", form::CONVERT_RATE))?;
        let usable = form::convert_rate_applies(s.driver.backend.as_str(), s.wasapi.mode.as_str());
        if convert.checked != Some(s.wasapi.convert_rate) || convert.enabled != usable {
            return Err(format!(
                "\"{}\" is {:?} and {}, but the file says convert_rate = {}, backend = {}, \
                 mode = {}",
                form::CONVERT_RATE,
                convert.checked,
                if convert.enabled {
                    "enabled"
                } else {
                    "disabled"
                },
                s.wasapi.convert_rate,
                s.driver.backend,
                s.wasapi.mode
            ));
        }
        checked += 1;
        let title = controls
            .iter()
            .any(|c| c.text.starts_with("Settings file: "));
        if !title {
            return Err("the window does not name the settings file".to_owned());
        }
        say(&format!(
            "the window shows the file's values ({checked} controls checked, {} in all)",
            controls.len()
        ));
        Ok(())
    }

    pub fn run() -> Result<(), String> {
        let args: Vec<String> = std::env::args().skip(1).collect();
        let dll = args
            .first()
            .map(PathBuf::from)
            .ok_or("usage: panel_host TENUTO_DLL [--wait SECONDS] [--rate HZ]")?;
        let option = |name: &str| {
            args.iter()
                .position(|a| a == name)
                .map(|i| args.get(i + 1).and_then(|s| s.parse::<f64>().ok()))
        };
        let wait = match option("--wait") {
            Some(v) => v.ok_or("--wait needs a number of seconds")?,
            None => 60.0,
        };
        let rate = match option("--rate") {
            Some(v) => Some(v.ok_or("--rate needs a sample rate in Hz")?),
            None => None,
        };
        match std::env::var("TENUTO_CONFIG") {
            Ok(path) => say(&format!("settings file (TENUTO_CONFIG): {path}")),
            Err(_) => say("TENUTO_CONFIG is not set: the driver uses the user's settings file"),
        }
        // The harness's messages on stdin, read without blocking the host.
        let (tx, rx) = mpsc::channel::<String>();
        std::thread::spawn(move || {
            for line in std::io::stdin().lock().lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });

        let server = DllServer::load(&dll).map_err(|e| e.to_string())?;
        let mut driver = server
            .create(tenuto_driver::CLSID_TENUTO)
            .map_err(|e| e.to_string())?;
        if !driver.init() {
            return Err(format!("init failed: {}", driver.error_message()));
        }
        if let Some(rate) = rate {
            driver
                .set_sample_rate(rate)
                .map_err(|e| format!("setSampleRate({rate}): {e}"))?;
            say(&format!("sample rate set to {rate} Hz"));
        }
        let frames = driver.buffer_size().map_err(|e| e.to_string())?.preferred;
        let session = driver
            .create_buffers(
                &[(true, 0), (false, 0), (false, 1)],
                frames,
                HostOptions::default(),
                Box::new(Count),
            )
            .map_err(|e| e.to_string())?;
        session.begin();
        driver.start().map_err(|e| e.to_string())?;
        let result = (|| {
            keeps_streaming(&session, 20, Duration::from_secs(10))?;
            say(&format!("streaming: {frames} frames per buffer"));
            open_panel(&mut driver, "#1")?;
            open_panel(
                &mut driver,
                "#2 (the window is open: brings it to the front)",
            )?;
            check_window()?;
            keeps_streaming(&session, 20, Duration::from_secs(10))?;
            say("READY: controlPanel() called twice while streaming");

            // The harness toggles the MMCSS check box and presses Apply;
            // the driver sees the file change and asks for a reset.
            let t0 = Instant::now();
            let before = switches(&session);
            let mut next_note = Duration::from_secs(10);
            let reset = loop {
                if session.counters().reset_requests.load(Ordering::Acquire) > 0 {
                    break Some(t0.elapsed());
                }
                if t0.elapsed() > Duration::from_secs_f64(wait) {
                    break None;
                }
                if t0.elapsed() > next_note {
                    say(&format!(
                        "waiting for kAsioResetRequest: {:.0} s, {} switches",
                        t0.elapsed().as_secs_f64(),
                        switches(&session) - before
                    ));
                    next_note += Duration::from_secs(10);
                }
                std::thread::sleep(Duration::from_millis(10));
            };
            match reset {
                Some(after) => say(&format!(
                    "kAsioResetRequest received {:.1} s after READY ({} switches meanwhile)",
                    after.as_secs_f64(),
                    switches(&session) - before
                )),
                None => say(&format!("no kAsioResetRequest within {wait} s")),
            }
            keeps_streaming(&session, 20, Duration::from_secs(10))?;
            say("streaming continued while the panel was open");

            // Closing the window must not disturb the stream either.
            let closed = rx
                .recv_timeout(Duration::from_secs(60))
                .map_err(|_| "the harness never said the panel was closed".to_owned())?;
            say(&format!("harness: {closed}"));
            let n = keeps_streaming(&session, 50, Duration::from_secs(10))?;
            say(&format!(
                "streaming continued after the panel closed (+{n} switches)"
            ));
            let c = session.counters();
            say(&format!(
                "host saw {} switches, {} reset requests, {} overloads",
                switches(&session),
                c.reset_requests.load(Ordering::Acquire),
                c.overloads.load(Ordering::Acquire)
            ));
            if reset.is_none() {
                return Err(format!(
                    "the driver sent no kAsioResetRequest within {wait} s of the settings change"
                ));
            }
            Ok(())
        })();
        let stopped = driver.stop();
        session.end();
        let _ = driver.dispose_buffers();
        drop(session);
        drop(driver);
        result?;
        stopped.map_err(|e| format!("stop: {e}"))
    }
}
