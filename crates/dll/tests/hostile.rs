//! Hostile and buggy host patterns against the real tenuto.dll, loaded
//! from the file through its class factory as COM would (issue 12). Runs
//! under Wine in CI and natively on Windows; the same scenarios run against
//! the in-process object in `crates/host/tests/hostile.rs`.
//!
//! Each scenario (see `tenuto_host::abuse`) fails on a deadlock (a watchdog
//! aborts the process after 20 s), on any switch after a `stop()` or
//! `disposeBuffers()` that had to end it returned `ASE_OK`, on overlapping
//! switches, on a switch into disposed buffers and on a message while no
//! buffers exist; the host writes its output buffers in every switch. The
//! driver runs the virtual device (a settings file chooses it), so that no
//! audio service is needed. The four-thread stress runs for
//! `TENUTO_STRESS_SECS` seconds (default 20).

#![cfg(windows)]

use std::path::PathBuf;
use std::time::Duration;

use asio_abi::{AsioError, ASE_OK};
use tenuto_host::abuse::{self, Racer};
use tenuto_host::dll::DllServer;
use tenuto_host::hostile::RawDriver;

mod common;
use common::built_dll;

#[allow(clippy::disallowed_types)] // the test harness's lock, not the driver's
static SERIAL: std::sync::Mutex<()> = std::sync::Mutex::new(());

const VIRTUAL: &str = "[driver]\nbackend = \"virtual\"\n";

fn settings_path() -> PathBuf {
    let dir = std::env::temp_dir().join(format!("tenuto-hostile-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("settings folder");
    dir.join("tenuto.toml")
}

/// Serialises the tests (one hostile host per process) and points the
/// driver at a settings file choosing the virtual device.
fn setup() -> std::sync::MutexGuard<'static, ()> {
    let g = SERIAL.lock().unwrap_or_else(|p| p.into_inner());
    let path = settings_path();
    std::fs::write(&path, VIRTUAL).expect("settings file");
    std::env::set_var("TENUTO_CONFIG", &path);
    g
}

/// The DLL stays loaded for the whole process: a driver's threads run its
/// code, and the scenarios release the drivers themselves.
fn server() -> &'static DllServer {
    thread_local! {
        static SERVER: &'static DllServer =
            Box::leak(Box::new(DllServer::load(&built_dll()).expect("load tenuto.dll")));
    }
    SERVER.with(|s| *s)
}

fn make() -> RawDriver {
    RawDriver::from_driver(server().create(tenuto::CLSID_TENUTO).expect("create"))
}

fn run(what: &str, r: Result<abuse::Outcome, String>) {
    match r {
        Ok(outcome) => {
            println!(
                "{what}: {} switches from {} driver threads; {}",
                outcome.switches,
                outcome.driver_threads,
                outcome.notes.join("; ")
            );
            assert!(
                server().can_unload_now(),
                "{what}: a driver object is still alive"
            );
        }
        Err(failures) => panic!("{what}:\n{failures}"),
    }
}

#[test]
fn a_long_switch_with_stop_and_dispose_on_two_threads_leaves_one_stream() {
    let _g = setup();
    run(
        "long switch",
        abuse::long_switch_stop_and_dispose_on_two_threads(&make),
    );
}

#[test]
fn dispose_inside_the_switch_then_create_and_start_from_the_main_thread() {
    let _g = setup();
    run(
        "dispose inside",
        abuse::dispose_inside_switch_then_create_and_start(&make, false),
    );
}

#[test]
fn dispose_and_create_inside_the_switch_then_start_from_the_main_thread() {
    let _g = setup();
    run(
        "dispose and create inside",
        abuse::dispose_inside_switch_then_create_and_start(&make, true),
    );
}

#[test]
fn stop_inside_the_switch_then_queries_while_another_thread_disposes() {
    let _g = setup();
    run(
        "stop inside, dispose racing",
        abuse::stop_inside_switch_then_queries_racing(&make, Racer::Dispose),
    );
}

#[test]
fn stop_inside_the_switch_then_queries_while_another_thread_starts() {
    let _g = setup();
    run(
        "stop inside, start racing",
        abuse::stop_inside_switch_then_queries_racing(&make, Racer::Start),
    );
}

#[test]
fn a_second_stop_after_a_stop_inside_the_switch_succeeds() {
    let _g = setup();
    run(
        "stop inside, stop again",
        abuse::stop_inside_switch_then_queries_racing(&make, Racer::Stop),
    );
}

#[test]
fn dispose_inside_the_switch_while_the_reset_handler_waits_in_stop() {
    let _g = setup();
    run(
        "dispose inside, stop in the reset handler",
        abuse::dispose_inside_switch_while_the_reset_handler_stops(&make),
    );
}

#[test]
fn asio_message_may_call_the_driver_during_create_buffers() {
    let _g = setup();
    run(
        "asioMessage calls back",
        abuse::asio_message_calls_back_during_create_buffers(&make),
    );
}

#[test]
fn a_host_that_stops_in_its_reset_handler_gets_set_sample_rate_back() {
    let _g = setup();
    run(
        "reset from setSampleRate",
        abuse::stop_inside_reset_handler(&make, &abuse::set_rate_96k),
    );
}

/// The settings watcher asks for the reset (through the messenger) when the
/// file changes.
#[test]
fn a_host_that_stops_in_its_reset_handler_after_a_settings_change() {
    let _g = setup();
    let change = |_: &RawDriver| -> AsioError {
        std::fs::write(settings_path(), format!("{VIRTUAL}buffer_size = 256\n"))
            .map_or(asio_abi::ASE_NOT_PRESENT, |()| ASE_OK)
    };
    run(
        "reset from a settings change",
        abuse::stop_inside_reset_handler(&make, &change),
    );
}

#[test]
fn control_calls_from_four_threads_while_the_host_writes_its_buffers() {
    let _g = setup();
    let secs = std::env::var("TENUTO_STRESS_SECS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(20);
    run(
        "four threads",
        abuse::control_calls_from_four_threads(&make, Duration::from_secs(secs)),
    );
}
