//! The DLL's settings: read when a driver object is created, watched while
//! it lives.
//!
//! A broken file never stops the driver from loading: it runs with the
//! defaults for whatever was wrong, and `getErrorMessage` explains the first
//! error until another error replaces it. When the file changes while a
//! host holds the driver, the watcher compares the *settings* (not the
//! bytes): if they differ from the ones the object was built with, it asks
//! the host for a reset (`kAsioResetRequest`) so the host re-creates the
//! driver with the new settings; if they are the same (a re-save, a comment
//! edited) it does nothing.

use std::path::{Path, PathBuf};
use std::sync::mpsc::{self, RecvTimeoutError};
use std::sync::{Arc, OnceLock, Weak};
use std::time::{Duration, SystemTime};

use tenuto_driver::trace::Trace;
use tenuto_engine::host::ThreadPolicy;
use tenuto_engine::shared::Shared;
use tenuto_engine::virtual_device::VirtualDevice;
use tenuto_engine::{Engine, EngineOptions};
use tenuto_settings::{BackendSetting, LogLevel, Settings, Severity, Source};

/// How often the watcher looks at the file.
const POLL: Duration = Duration::from_millis(300);

/// The settings an object starts with, and what was wrong with the file.
pub(crate) struct Startup {
    /// Where the settings live (None: no per-user folder known).
    pub path: Option<PathBuf>,
    /// The effective settings.
    pub settings: Settings,
    /// The first error in the file, for `getErrorMessage`.
    pub message: Option<String>,
    /// Every problem in the file, for the log.
    pub problems: Vec<String>,
    /// Why there was no file to read, for the log.
    pub no_file: Option<String>,
}

/// Reads the settings file (or the defaults).
pub(crate) fn startup() -> Startup {
    let path = tenuto_settings::default_path();
    let Some(p) = path.as_deref() else {
        return Startup {
            path,
            settings: Settings::default(),
            message: None,
            problems: Vec::new(),
            no_file: None,
        };
    };
    let loaded = tenuto_settings::load(p);
    let no_file = (loaded.source == Source::Defaults).then(|| match p.parent() {
        Some(dir) if !dir.as_os_str().is_empty() && !dir.is_dir() => format!(
            "settings: the folder of {} does not exist or cannot be reached; running with the \
             default settings",
            p.display()
        ),
        _ => format!(
            "settings: {} does not exist; running with the default settings",
            p.display()
        ),
    });
    let errors: Vec<_> = loaded
        .problems
        .iter()
        .filter(|p| p.severity == Severity::Error)
        .collect();
    let message = errors.first().map(|first| {
        if errors.len() > 1 {
            format!("settings ({} problems): {first}", errors.len())
        } else {
            format!("settings: {first}")
        }
    });
    let problems = loaded.problems.iter().map(|p| p.to_string()).collect();
    Startup {
        path,
        settings: loaded.settings,
        message,
        problems,
        no_file,
    }
}

/// A driver object built from the user's settings file, with a watcher
/// that asks the host for a reset when the settings change, and the
/// settings window behind `controlPanel()`.
pub fn new_instance() -> tenuto_driver::DriverInstance {
    let startup = startup();
    let links = Links::default();
    let engine = engine_with_links(&startup.settings, &links);
    let weak = Arc::downgrade(engine.shared());
    let _ = links.shared.set(weak.clone());
    let mut hooks = tenuto_driver::core::DriverHooks {
        startup_message: startup.message,
        ..Default::default()
    };
    if let Some(path) = startup.path.clone() {
        if let Some(watcher) = Watcher::start(path, startup.settings.clone(), weak.clone()) {
            hooks.attachments.push(Box::new(watcher));
        }
    }
    if let Some(log_path) = startup
        .path
        .as_ref()
        .map(|p| p.with_file_name("tenuto.log"))
    {
        let exe = std::env::current_exe()
            .map(|p| p.display().to_string())
            .unwrap_or_else(|_| "an unknown host".to_owned());
        let mut header = vec![(
            "info",
            format!(
                "driver object created in {exe}; settings: {}",
                startup
                    .path
                    .as_ref()
                    .map_or(String::new(), |p| p.display().to_string())
            ),
        )];
        header.extend(startup.no_file.map(|line| ("info", line)));
        for problem in &startup.problems {
            header.push(("warn", format!("settings: {problem}")));
        }
        // At debug level every IASIO call is traced into a preallocated queue
        // that the log thread empties; otherwise (or without a log thread) no
        // trace exists.
        let level = startup.settings.logging.level;
        let trace = (level == LogLevel::Debug)
            .then(|| Arc::new(Trace::new(tenuto_driver::trace::DEFAULT_CAPACITY)));
        if let Some(logger) =
            crate::log::Logger::start(log_path, level, header, weak.clone(), trace.clone())
        {
            hooks.trace = trace;
            if let Some(sender) = logger.sender() {
                let _ = links.log.set(sender);
            }
            hooks.attachments.push(Box::new(logger));
        }
    }
    if let Some(monitor) = crate::monitor::Monitor::start(
        weak.clone(),
        crate::monitor::driver_text(&startup.settings),
        links.log.get().cloned(),
    ) {
        hooks.attachments.push(Box::new(monitor));
    }
    hooks.control_panel = control_panel_hook(startup.path);
    tenuto_driver::create_instance_with_hooks(engine, hooks)
}

/// `controlPanel()` opens the settings window on its own thread and
/// returns at once. Apply saves the file; the watcher then asks the host
/// for the reset (once), as for any other change of the file.
#[cfg(windows)]
fn control_panel_hook(path: Option<PathBuf>) -> Option<tenuto_driver::core::ControlPanelHook> {
    Some(Box::new(move |shared: &Arc<Shared>| {
        let Some(settings_path) = path.clone() else {
            return Err(
                "no per-user settings folder (APPDATA is not set), so there is nothing to edit"
                    .to_owned(),
            );
        };
        let host_exe = std::env::current_exe()
            .ok()
            .and_then(|p| p.file_name().map(|n| n.to_string_lossy().into_owned()));
        tenuto_panel::open(tenuto_panel::PanelContext {
            settings_path,
            host_exe,
            live: Some(Arc::clone(shared)),
            on_apply: Box::new(|| {}),
        })
        .map_err(|e| e.to_string())
    }))
}

#[cfg(not(windows))]
fn control_panel_hook(path: Option<PathBuf>) -> Option<tenuto_driver::core::ControlPanelHook> {
    let _ = path;
    None
}

/// What a device learns after the engine exists: the engine's status (for
/// reset requests) and the log (for device changes and notes). Filled by
/// `new_instance` once both exist; until then (and in tests without them)
/// the device's reports go nowhere.
#[derive(Default, Clone)]
pub(crate) struct Links {
    shared: Arc<OnceLock<Weak<Shared>>>,
    log: Arc<OnceLock<crate::log::LineSender>>,
}

impl Links {
    // Only the WASAPI device (Windows) reports through the links.
    #[cfg_attr(not(windows), allow(dead_code))]
    fn log(&self, level: &'static str, text: String) {
        if let Some(log) = self.log.get() {
            log.line(level, text);
        }
    }
}

/// The engine for `settings`: the backend they choose and the scheduling
/// they ask for.
pub(crate) fn engine_for(settings: &Settings) -> Engine {
    engine_with_links(settings, &Links::default())
}

fn engine_with_links(settings: &Settings, links: &Links) -> Engine {
    let (device, notice) = device_for(settings, links);
    let mut engine = Engine::new(
        device,
        EngineOptions {
            driver_name: crate::DRIVER_NAME.to_owned(),
            driver_version: crate::driver_version(),
            host_format: settings.driver.host_format(),
            policy: thread_policy(settings),
            ..EngineOptions::default()
        },
    );
    if let Some(notice) = notice {
        engine.set_notice(notice);
    }
    engine
}

/// The device `driver.backend` chooses, and a notice for `getErrorMessage`
/// when it cannot be had here.
fn device_for(
    settings: &Settings,
    links: &Links,
) -> (Box<dyn tenuto_engine::Device>, Option<String>) {
    match settings.driver.backend {
        BackendSetting::Virtual => (
            Box::new(VirtualDevice::new(settings.virtual_config())),
            None,
        ),
        BackendSetting::Wasapi => wasapi_device(settings, links),
    }
}

/// `[wasapi]` (with `driver.buffer_size`) as the WASAPI device takes it.
#[cfg(windows)]
fn wasapi_config(settings: &Settings) -> tenuto_wasapi::WasapiConfig {
    use tenuto_settings::{
        EndpointEntry, EndpointSetting, MissingDeviceSetting, OutputSafetySetting,
        WasapiModeSetting,
    };
    use tenuto_wasapi::{EndpointChoice, Mode, OutputSafety, WasapiConfig};
    // One endpoint per direction (several go to the aggregate, `aggregate_config`); an
    // empty list is off.
    let choice = |list: &[EndpointEntry]| match list.first().map(|e| &e.endpoint) {
        None | Some(EndpointSetting::Off) => EndpointChoice::Off,
        Some(EndpointSetting::Default) => EndpointChoice::Default,
        Some(EndpointSetting::Device(id)) => EndpointChoice::Id(id.clone()),
    };
    let w = &settings.wasapi;
    WasapiConfig {
        render: choice(&w.output),
        capture: choice(&w.input),
        mode: match w.mode {
            WasapiModeSetting::Shared => Mode::Shared,
            WasapiModeSetting::LowLatency => Mode::LowLatency,
            WasapiModeSetting::Exclusive => Mode::Exclusive,
        },
        output_safety: match w.output_safety {
            OutputSafetySetting::Ms(ms) => OutputSafety::Ms(ms),
            // Wine's winepulse hands data to PulseAudio from a timer thread that lags the
            // stream by about one period: without that much more queued, PulseAudio runs dry
            // at the first late tick and winepulse pads the stream with silence.
            OutputSafetySetting::Auto if tenuto_win::is_wine() => OutputSafety::RenderPeriods(1),
            OutputSafetySetting::Auto => OutputSafety::None,
        },
        wake_up: wake_up(settings),
        missing_falls_back: w.missing_device == MissingDeviceSetting::Default,
        convert_rates: w.convert_rate,
        preferred_buffer_frames: settings.driver.buffer_size,
        // winepulse's positions do not follow its data (see the field's documentation).
        positions: !tenuto_win::is_wine(),
        padding_after_play: tenuto_win::is_wine(),
        ..WasapiConfig::default()
    }
}

/// Whether the settings ask for an aggregate: several endpoints in a direction, a channel
/// selection, a named clock, or endpoints to leave out when missing (in the shared modes;
/// exclusive mode takes one endpoint per direction, and a missing one fails `init()`).
/// Otherwise one [`tenuto_wasapi::WasapiDevice`] streams, as it always has.
#[cfg(windows)]
fn wants_aggregate(settings: &Settings) -> bool {
    use tenuto_settings::{ClockSetting, MissingDeviceSetting, WasapiModeSetting};
    let w = &settings.wasapi;
    let lists = [&w.output, &w.input];
    lists.iter().any(|l| l.len() > 1)
        || lists.iter().any(|l| l.iter().any(|e| e.channels.is_some()))
        || w.clock != ClockSetting::Auto
        || (w.missing_device == MissingDeviceSetting::Skip
            && w.mode != WasapiModeSetting::Exclusive)
}

/// The aggregate the settings describe ([`wants_aggregate`]).
#[cfg(windows)]
fn aggregate_config(settings: &Settings) -> tenuto_wasapi::AggregateConfig {
    use tenuto_settings::{ClockSetting, EndpointEntry, EndpointSetting, MissingDeviceSetting};
    use tenuto_wasapi::{AggregateConfig, ClockChoice, EndpointChoice, EndpointSpec};
    let specs = |list: &[EndpointEntry]| {
        list.iter()
            .filter_map(|e| {
                let choice = match &e.endpoint {
                    EndpointSetting::Off => return None,
                    EndpointSetting::Default => EndpointChoice::Default,
                    EndpointSetting::Device(id) => EndpointChoice::Id(id.clone()),
                };
                Some(EndpointSpec {
                    choice,
                    channels: e.channels.clone(),
                })
            })
            .collect()
    };
    let w = &settings.wasapi;
    AggregateConfig {
        outputs: specs(&w.output),
        inputs: specs(&w.input),
        clock: match &w.clock {
            ClockSetting::Auto => ClockChoice::Auto,
            ClockSetting::Endpoint(e) => ClockChoice::Endpoint(e.clone()),
        },
        skip_missing: w.missing_device == MissingDeviceSetting::Skip,
        base: wasapi_config(settings),
    }
}

/// Asks the host for a reset when a device change concerns an endpoint in use (its next
/// `init()` looks at the devices again), and logs why. Called on a thread of Windows'
/// choosing.
#[cfg(windows)]
fn change_handler(links: &Links) -> tenuto_wasapi::ChangeHandler {
    let on_change = links.clone();
    Arc::new(move |change| {
        let asked = on_change
            .shared
            .get()
            .and_then(Weak::upgrade)
            .is_some_and(|shared| shared.request_reset());
        on_change.log(
            "warn",
            format!(
                "device change: {change}; {}",
                if asked {
                    "asked the host to reset the driver"
                } else {
                    "not streaming, so the host's next init() picks it up"
                }
            ),
        );
    })
}

#[cfg(windows)]
fn wasapi_device(
    settings: &Settings,
    links: &Links,
) -> (Box<dyn tenuto_engine::Device>, Option<String>) {
    let on_note = links.clone();
    if wants_aggregate(settings) {
        let device = tenuto_wasapi::AggregateDevice::deferred(aggregate_config(settings))
            .on_change(change_handler(links))
            .on_note(Arc::new(move |note| on_note.log("info", note.to_owned())));
        return (Box::new(device), None);
    }
    let on_stream_note = links.clone();
    let device = tenuto_wasapi::WasapiDevice::deferred(wasapi_config(settings))
        .on_change(change_handler(links))
        .on_note(Arc::new(move |note| on_note.log("info", note.to_owned())))
        .on_stream_note(Arc::new(move |note| {
            // At every open (host thread): the settings window's status shows it while the
            // stream runs, and the log keeps it.
            if let Some(shared) = on_stream_note.shared.get().and_then(Weak::upgrade) {
                shared.set_stream_note(note);
            }
            if !note.is_empty() {
                on_stream_note.log("info", format!("stream: {note}"));
            }
        }));
    (Box::new(device), None)
}

/// The aggregate the driver would build for `settings`, not yet opened (`Device::refresh`
/// opens its members), or `None` when they name one endpoint per direction — the driver's
/// own decision, for `tenuto config check`.
#[cfg(windows)]
pub fn aggregate_for(settings: &Settings) -> Option<tenuto_wasapi::AggregateDevice> {
    (settings.driver.backend == BackendSetting::Wasapi && wants_aggregate(settings))
        .then(|| tenuto_wasapi::AggregateDevice::deferred(aggregate_config(settings)))
}

/// `wasapi.wake_up` as the WASAPI device takes it.
#[cfg(windows)]
fn wake_up(settings: &Settings) -> tenuto_wasapi::WakeUp {
    use tenuto_settings::WakeUpSetting;
    use tenuto_wasapi::WakeUp;
    match settings.wasapi.wake_up {
        WakeUpSetting::Events => WakeUp::Events,
        WakeUpSetting::Polling => WakeUp::Polling,
    }
}

#[cfg(not(windows))]
fn wasapi_device(
    settings: &Settings,
    links: &Links,
) -> (Box<dyn tenuto_engine::Device>, Option<String>) {
    let _ = links;
    (
        Box::new(VirtualDevice::new(settings.virtual_config())),
        Some(
            "driver.backend = \"wasapi\" needs Windows; the virtual device runs instead".to_owned(),
        ),
    )
}

#[cfg(windows)]
fn thread_policy(settings: &Settings) -> Arc<dyn ThreadPolicy> {
    use tenuto_sched::host_aware::HostAwarePolicy;
    let mut policy = HostAwarePolicy::new(settings.scheduling.to_scheduling());
    let polling = settings.driver.backend == BackendSetting::Wasapi && wake_up(settings).polls();
    if settings.driver.backend == BackendSetting::Virtual || polling {
        // The virtual device and WASAPI polling wait on timers; WASAPI's events need none.
        policy = policy.with_timer_resolution(1);
    }
    for (exe, value) in &settings.profiles {
        policy = policy.with_profile(exe, value.to_profile_setting(&settings.scheduling));
    }
    if let Some(profile) = settings.scheduling.default_profile() {
        policy = policy.with_default_profile(profile);
    }
    Arc::new(policy)
}

#[cfg(not(windows))]
fn thread_policy(settings: &Settings) -> Arc<dyn ThreadPolicy> {
    let choice = tenuto_sched::PolicyArg::Linux(settings.scheduling.to_scheduling().linux);
    tenuto_sched::thread_policy(&choice, &settings.scheduling.to_scheduling())
        .unwrap_or_else(|_| Arc::new(tenuto_engine::host::InheritPolicy))
}

/// Watches the settings file for one driver object; dropping it stops and
/// joins the thread (the object's last `Release` does, so no thread of ours
/// outlives the object and the DLL can unload).
pub(crate) struct Watcher {
    stop: Option<mpsc::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

fn stamp(path: &Path) -> Option<(SystemTime, u64)> {
    let m = std::fs::metadata(path).ok()?;
    Some((m.modified().ok()?, m.len()))
}

impl Watcher {
    /// Starts watching `path`; `current` are the settings the object runs
    /// with.
    pub(crate) fn start(path: PathBuf, current: Settings, shared: Weak<Shared>) -> Option<Self> {
        let (stop, stopped) = mpsc::channel::<()>();
        let thread = std::thread::Builder::new()
            .name("tenuto-settings".to_owned())
            .spawn(move || {
                let mut current = current;
                let mut seen = stamp(&path);
                // Settings that differ from the running ones but could not
                // be announced yet (no buffers, or a host without resets).
                let mut pending: Option<Settings> = None;
                loop {
                    match stopped.recv_timeout(POLL) {
                        Err(RecvTimeoutError::Timeout) => {}
                        Ok(()) | Err(RecvTimeoutError::Disconnected) => return,
                    }
                    let now = stamp(&path);
                    if now != seen {
                        seen = now;
                        let next = tenuto_settings::load(&path).settings;
                        // Re-saved, or only comments changed: nothing to do.
                        pending = (next != current).then_some(next);
                    }
                    let Some(next) = pending.take() else {
                        continue;
                    };
                    let Some(shared) = shared.upgrade() else {
                        return;
                    };
                    if shared.request_reset() {
                        current = next;
                    } else {
                        pending = Some(next);
                    }
                }
            })
            .ok()?;
        Some(Self {
            stop: Some(stop),
            thread: Some(thread),
        })
    }
}

impl Drop for Watcher {
    fn drop(&mut self) {
        drop(self.stop.take());
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

// The WASAPI mapping exists on Windows only.
#[cfg(all(test, windows))]
mod tests {
    use super::*;

    /// `wasapi.convert_rate` reaches the device's configuration.
    #[test]
    fn convert_rate_maps_to_the_device_config() {
        let mut settings = Settings::default();
        assert!(wasapi_config(&settings).convert_rates);
        settings.wasapi.convert_rate = false;
        assert!(!wasapi_config(&settings).convert_rates);
    }

    /// End to end through the engine: with `wasapi.convert_rate = false` the device offers
    /// its mix rate alone and another rate is refused naming it; with `true` (32-bit float
    /// mix format, as Windows and winepulse give) every standard rate is offered. Needs an
    /// audio device: under Wine, the harness's PulseAudio (`cargo xtask test` starts it).
    #[test]
    fn without_conversion_only_the_mix_rate_is_offered() {
        let mut settings = Settings::default();
        settings.driver.backend = BackendSetting::Wasapi;
        settings.wasapi.convert_rate = false;
        let mut engine = engine_for(&settings);
        if let Err(e) = engine.init() {
            panic!(
                "no WASAPI device ({e}): this test needs one (under Wine, the PulseAudio that \
                 `cargo xtask test` starts)"
            );
        }
        let rates = engine.device().sample_rates().to_vec();
        let [mix] = rates[..] else {
            panic!("convert_rate = false offers {rates:?}; expected the mix rate alone");
        };
        let other = if mix == 44_100.0 { 48_000.0 } else { 44_100.0 };
        let refused = engine.can_sample_rate(other).unwrap_err().to_string();
        let named = format!("runs at {} kHz", mix / 1000.0);
        assert!(refused.contains(&named), "{refused}");

        settings.wasapi.convert_rate = true;
        let mut engine = engine_for(&settings);
        engine.init().unwrap();
        let rates = engine.device().sample_rates().to_vec();
        assert_eq!(
            rates,
            [44_100.0, 48_000.0, 88_200.0, 96_000.0, 176_400.0, 192_000.0],
            "convert_rate = true (mix rate {mix} Hz)"
        );
        engine.can_sample_rate(other).unwrap();
    }
}
