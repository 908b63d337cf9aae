//! The real DLL over real WASAPI: Wine's winepulse in front of the private PulseAudio that
//! `cargo xtask test` starts (tools/pulse: a null sink "Tenuto Null Output", its monitor, and
//! a null source "Tenuto Null Input", all running at real-time pace). Runs under Wine in CI
//! and natively on Windows when those endpoints exist (elsewhere the tests say why they have
//! nothing to do and pass).
//!
//! * ≥ 30 s of full-duplex shared-mode streaming at several buffer sizes: the sample
//!   position tracks the wall clock within 0.5 %, with no discontinuity and no reset request.
//!   On Windows by WASAPI's events (the default); under Wine by polling
//!   (`wasapi.wake_up = "polling"`): there every event waits whenever the wineserver saves
//!   the registry (30–100 ms, within 30 s of any change, and every test process makes one),
//!   and one such stall in a 30 s run has put the position 0.52 % behind the wall clock.
//! * The other wake-up for 10 s, with the same checks: events under Wine, so that the
//!   event-driven path runs there too, and polling on Windows. The log must say which.
//!
//! Removing a device while streaming is in `wasapi_removal.rs`: Wine lists PulseAudio's
//! sinks once per process, so that test needs a process of its own that adds its sink
//! before anything enumerates.

#![cfg(windows)]

use std::time::Duration;

use tenuto_host::dll::DllServer;
use tenuto_host::stream::{self, StreamOptions};

mod common;
use common::{built_dll, wasapi_settings_with};

#[allow(clippy::disallowed_types)]
static SERIAL: std::sync::Mutex<()> = std::sync::Mutex::new(());

const SINK: &str = "Tenuto Null Output";
const SOURCE: &str = "Tenuto Null Input";

/// The null endpoints, if this machine has them (the harness's PulseAudio under Wine).
fn null_endpoints_present() -> bool {
    match tenuto_wasapi::endpoints() {
        Ok(list) => {
            let has = |name: &str| list.iter().any(|e| e.name == name);
            has(SINK) && has(SOURCE)
        }
        Err(_) => false,
    }
}

/// Streams full duplex for `seconds` at `buffer` frames and checks what both tests need:
/// stereo both ways, the sample position within 0.5 % of the wall clock, no discontinuity,
/// no reset request, no lost switches. `what` labels the messages.
fn stream_duplex(
    d: &mut tenuto_host::Driver,
    buffer: i32,
    seconds: u64,
    what: &str,
) -> stream::StreamReport {
    let report = stream::run(
        d,
        &StreamOptions {
            buffer_frames: Some(buffer),
            sample_rate: Some(48_000.0),
            duration: Duration::from_secs(seconds),
            ..StreamOptions::default()
        },
        &mut |_, _| {},
    )
    .unwrap_or_else(|e| panic!("{what}: {e}"));
    eprintln!(
        "{what}: {} switches in {:.2} s, {:+.0} ppm, {} discontinuities, latencies {:?}, \
         longest gap {:.1} ms",
        report.switches,
        report.seconds,
        report.drift_ppm,
        report.discontinuities,
        report.latencies,
        report.max_gap_ms
    );
    assert_eq!(report.channels, (2, 2), "{what}: stereo in and out");
    assert!(
        report.drift_ppm.abs() < 5_000.0,
        "{what}: the sample position is {:+.0} ppm off the wall clock (limit 0.5 %)",
        report.drift_ppm
    );
    assert_eq!(report.discontinuities, 0, "{what}");
    assert_eq!(report.reset_requests, 0, "{what}");
    assert!(
        report.switches as f64 >= 0.995 * report.expected_switches,
        "{what}: {} switches, the wall clock says {:.0}",
        report.switches,
        report.expected_switches
    );
    report
}

#[test]
fn streams_full_duplex_for_30_seconds_at_several_buffer_sizes() {
    let _g = SERIAL.lock().unwrap_or_else(|p| p.into_inner());
    if !null_endpoints_present() {
        eprintln!("no \"{SINK}\"/\"{SOURCE}\" endpoints (start tools/pulse/start.sh); skipped");
        return;
    }
    let wake_up = if tenuto_sched::windows::is_wine() {
        "polling"
    } else {
        "events"
    };
    let settings = wasapi_settings_with(
        "stream",
        SINK,
        SOURCE,
        &format!("wake_up = \"{wake_up}\"\n"),
    );
    std::env::set_var("TENUTO_CONFIG", &settings);
    let server = DllServer::load(&built_dll()).expect("load dll");
    // 480 is the engine period (no ring buffering); 64 and 1000 do not divide it.
    for buffer in [64, 480, 1000] {
        let mut d = server.create(tenuto::CLSID_TENUTO).expect("create");
        let report = stream_duplex(&mut d, buffer, 30, &format!("buffer {buffer}"));
        assert!(report.seconds >= 30.0);
        // Honest latency: at least the ASIO buffer, plus the engine period on the way out.
        assert!(report.latencies.0 >= buffer && report.latencies.1 >= buffer + 480);
        assert_eq!(d.release(), 0);
    }
    std::env::remove_var("TENUTO_CONFIG");
}

#[test]
fn streams_full_duplex_with_the_other_wake_up() {
    let _g = SERIAL.lock().unwrap_or_else(|p| p.into_inner());
    if !null_endpoints_present() {
        eprintln!("no \"{SINK}\"/\"{SOURCE}\" endpoints (start tools/pulse/start.sh); skipped");
        return;
    }
    let polling = !tenuto_sched::windows::is_wine();
    let wake_up = if polling { "polling" } else { "events" };
    let settings =
        wasapi_settings_with(wake_up, SINK, SOURCE, &format!("wake_up = \"{wake_up}\"\n"));
    let _ = std::fs::remove_file(settings.with_file_name("tenuto.log"));
    std::env::set_var("TENUTO_CONFIG", &settings);
    let server = DllServer::load(&built_dll()).expect("load dll");
    let mut d = server.create(tenuto::CLSID_TENUTO).expect("create");
    stream_duplex(&mut d, 256, 10, &format!("{wake_up}, buffer 256"));
    assert_eq!(d.release(), 0);
    std::env::remove_var("TENUTO_CONFIG");
    // The driver said how it waited (the log is written by the time release() returns).
    let log = std::fs::read_to_string(settings.with_file_name("tenuto.log")).unwrap_or_default();
    assert!(
        log.contains("streaming started"),
        "no stream in tenuto.log:\n{log}"
    );
    assert_eq!(
        log.contains("wake-up by polling"),
        polling,
        "tenuto.log does not say how the stream waited ({wake_up}):\n{log}"
    );
}
