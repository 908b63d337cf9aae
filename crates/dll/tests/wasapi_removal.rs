//! Removing the output device while the real DLL streams through WASAPI (Wine's winepulse
//! over the harness's PulseAudio, see `wasapi.rs`): a reset request reaches the host, `stop`
//! returns at once, while it is gone `init` falls back to Windows' default and says which
//! device is missing (or, with `wasapi.missing_device = "fail"`, fails saying so), and once
//! it is back the host's next `init` streams again.
//!
//! Its own test binary: Wine 8 lists PulseAudio's sinks once per process, so the sink this
//! test adds and removes must exist before anything in the process enumerates devices.
//! Needs Wine, `pactl` and the harness's PulseAudio; without them it says so and does nothing,
//! except under `cargo xtask test` (`TENUTO_HARNESS` names `pulse`), where it fails.

#![cfg(windows)]

use std::process::Command;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use tenuto_host::dll::DllServer;
use tenuto_host::{Period, PeriodHandler};
use tenuto_measure::stream::{self, StreamOptions};

mod common;
use common::{built_dll, missing_environment, wasapi_settings, wasapi_settings_with};

/// Runs `pactl` against the harness's PulseAudio, from inside Wine: `start /wait /unix`
/// runs a Unix program (Rust's `Command` cannot hand one its standard handles under Wine),
/// here a shell that leaves pactl's output and exit code in /tmp (Z: is Wine's view of /).
fn pactl(args: &[&str]) -> Result<String, String> {
    let base = format!("/tmp/tenuto-pactl-{}", std::process::id());
    let quoted: Vec<String> = args.iter().map(|a| format!("'{a}'")).collect();
    let script = format!(
        "pactl {} > {base}.out 2> {base}.err; echo $? > {base}.rc",
        quoted.join(" ")
    );
    let windows = |suffix: &str| format!("Z:{}.{suffix}", base.replace('/', "\\"));
    let _ = std::fs::remove_file(windows("rc"));
    let status = Command::new("start.exe")
        .args(["/wait", "/unix", "/bin/sh", "-c", &script])
        .status()
        .map_err(|e| format!("could not run start.exe /unix (not Wine?): {e}"))?;
    // `start /wait` waits for the shell; give the file system a moment all the same.
    let t0 = Instant::now();
    while !std::path::Path::new(&windows("rc")).exists() && t0.elapsed() < Duration::from_secs(5) {
        std::thread::sleep(Duration::from_millis(20));
    }
    let rc = std::fs::read_to_string(windows("rc")).unwrap_or_default();
    let out = std::fs::read_to_string(windows("out")).unwrap_or_default();
    let err = std::fs::read_to_string(windows("err")).unwrap_or_default();
    if status.success() && rc.trim() == "0" {
        Ok(out.trim().to_owned())
    } else {
        Err(format!(
            "pactl {args:?} failed (start: {status}, pactl exit {}): {}",
            rc.trim(),
            err.trim()
        ))
    }
}

struct Count;

impl PeriodHandler for Count {
    fn process(&mut self, _period: &mut Period<'_>) {}
    fn as_any(&mut self) -> &mut dyn std::any::Any {
        self
    }
}

fn wait_until(limit: Duration, what: impl Fn() -> bool) -> bool {
    let t0 = Instant::now();
    while t0.elapsed() < limit {
        if what() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    what()
}

#[test]
fn removing_the_output_while_streaming_asks_for_a_reset_and_the_driver_stays_usable() {
    // Only the private daemon (PULSE_SERVER, exported by tools/pulse/start.sh), never a
    // desktop's. `pactl info` reaches it without listing devices, which must not happen
    // before this test's sink exists (see the module header).
    let reachable = match std::env::var("PULSE_SERVER") {
        Ok(server) if !server.is_empty() => pactl(&["info"])
            .map(drop)
            .map_err(|e| format!("PULSE_SERVER={server}: {e}")),
        _ => {
            Err("PULSE_SERVER is not set; run `eval \"$(tools/pulse/start.sh)\"` first".to_owned())
        }
    };
    if let Err(why) = reachable {
        missing_environment(
            "pulse",
            &format!("no PulseAudio to add a sink to through pactl under Wine: {why}"),
        );
        return;
    }
    // Unique per run: a sink left by an interrupted run must not be mistaken for ours.
    let description = format!("Tenuto Removable Output {}", std::process::id());
    let description = description.as_str();
    let sink_name = format!("sink_name=tenuto_removable_{}", std::process::id());
    let load = || {
        pactl(&[
            "load-module",
            "module-null-sink",
            &sink_name,
            "rate=48000",
            "format=float32le",
            "channels=2",
            // PulseAudio's argument syntax: spaces escaped inside the quoted value.
            &format!(
                "sink_properties=device.description=\"{}\"",
                description.replace(' ', "\\ ")
            ),
        ])
    };
    let module = load().expect("load a null sink with pactl");
    // Wine looks at PulseAudio's sinks when endpoints are listed.
    assert!(
        wait_until(Duration::from_secs(10), || tenuto_wasapi::endpoints()
            .is_ok_and(|l| l.iter().any(
                |e| e.name == description && e.state == tenuto_wasapi::EndpointState::Active
            ))),
        "Wine never showed the new sink"
    );
    std::env::set_var(
        "TENUTO_CONFIG",
        wasapi_settings("removal", description, "off"),
    );
    let server = DllServer::load(&built_dll()).expect("load dll");
    let mut d = server.create(tenuto::CLSID_TENUTO).expect("create");
    assert!(d.init(), "init: {}", d.error_message());
    let session = d
        .create_buffers(
            &[(false, 0), (false, 1)],
            256,
            tenuto_host::HostOptions::default(),
            Box::new(Count),
        )
        .expect("createBuffers");
    session.begin();
    d.start().expect("start");
    let switches = || session.counters().switches.load(Ordering::Acquire);
    assert!(wait_until(Duration::from_secs(5), || switches() > 20));
    pactl(&["unload-module", &module]).expect("unload the sink");
    let unloaded = Instant::now();
    assert!(
        wait_until(Duration::from_secs(5), || session
            .counters()
            .reset_requests
            .load(Ordering::Acquire)
            > 0),
        "no reset request within 5 s of removing the sink ({} switches so far); \
         getErrorMessage: {}",
        switches(),
        d.error_message()
    );
    eprintln!(
        "reset request {} ms after the sink was removed; message: {}",
        unloaded.elapsed().as_millis(),
        d.error_message()
    );
    // The host's reset: stop, dispose, exit … init again.
    let t0 = Instant::now();
    let _ = d.stop();
    assert!(t0.elapsed() < Duration::from_secs(2), "stop hung");
    session.end();
    let _ = d.dispose_buffers();
    drop(session);
    assert_eq!(d.release(), 0);
    // Gone: init falls back to Windows' default output and getErrorMessage says so (the
    // notice is cut at 123 bytes: the default in use and the key come first).
    let mut d = server.create(tenuto::CLSID_TENUTO).expect("create");
    assert!(
        d.init(),
        "init falls back to the default: {}",
        d.error_message()
    );
    let message = d.error_message();
    assert!(
        message.starts_with("using Windows' default output") && message.contains("wasapi.output"),
        "{message}"
    );
    assert_eq!(d.release(), 0);
    // With wasapi.missing_device = "fail", init explains which device is missing.
    std::env::set_var(
        "TENUTO_CONFIG",
        wasapi_settings_with(
            "removal-strict",
            description,
            "off",
            "missing_device = \"fail\"\n",
        ),
    );
    let mut d = server.create(tenuto::CLSID_TENUTO).expect("create");
    assert!(!d.init(), "init without the device must fail when told to");
    let message = d.error_message();
    assert!(message.contains(description), "{message}");
    assert_eq!(d.release(), 0);
    std::env::set_var(
        "TENUTO_CONFIG",
        wasapi_settings("removal", description, "off"),
    );
    // Back: the next init streams again.
    let module = load().expect("load the sink again");
    assert!(wait_until(Duration::from_secs(10), || {
        tenuto_wasapi::endpoints().is_ok_and(|l| {
            l.iter()
                .any(|e| e.name == description && e.state == tenuto_wasapi::EndpointState::Active)
        })
    }));
    let mut d = server.create(tenuto::CLSID_TENUTO).expect("create");
    let report = stream::run(
        &mut d,
        &StreamOptions {
            buffer_frames: Some(256),
            duration: Duration::from_secs(2),
            ..StreamOptions::default()
        },
        &mut |_, _| {},
    )
    .expect("stream after the device came back");
    assert!(report.switches > 100, "{report:?}");
    assert_eq!(d.release(), 0);
    let _ = pactl(&["unload-module", &module]);
    std::env::remove_var("TENUTO_CONFIG");
}
