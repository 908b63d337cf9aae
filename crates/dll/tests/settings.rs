//! The driver object reads the user's settings file when it is created and
//! asks the host for a reset when the settings really change. Runs natively
//! and under Wine (the object is the same; only the COM shell differs).

use std::path::PathBuf;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use tenuto_host::{Driver, HostOptions, Period, PeriodHandler};

#[allow(clippy::disallowed_types)]
static SERIAL: std::sync::Mutex<()> = std::sync::Mutex::new(());

struct Quiet;

impl PeriodHandler for Quiet {
    fn process(&mut self, _period: &mut Period<'_>) {}
    fn as_any(&mut self) -> &mut dyn std::any::Any {
        self
    }
}

fn settings_file(name: &str, text: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "tenuto-settings-test-{}-{name}",
        std::process::id()
    ));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("tenuto.toml");
    std::fs::write(&path, text).unwrap();
    path
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

/// Rewrites the file so that its modification stamp surely changes.
fn rewrite(path: &PathBuf, text: &str) {
    std::thread::sleep(Duration::from_millis(50));
    std::fs::write(path, text).unwrap();
}

#[test]
fn settings_apply_at_creation_and_a_real_change_asks_for_one_reset() {
    let _g = SERIAL.lock().unwrap_or_else(|p| p.into_inner());
    let path = settings_file(
        "reload",
        "[driver]\nbuffer_size = 256\n\n[virtual]\ninputs = 1\noutputs = 4\n",
    );
    std::env::set_var("TENUTO_CONFIG", &path);
    let mut d = Driver::from_instance(tenuto::new_instance());
    assert!(d.init());
    // The file's values are in effect.
    assert_eq!(d.channels().unwrap(), (1, 4));
    assert_eq!(d.buffer_size().unwrap().preferred, 256);
    let session = d
        .create_buffers(
            &[(false, 0), (false, 1)],
            256,
            HostOptions::default(),
            Box::new(Quiet),
        )
        .unwrap();
    session.begin();
    d.start().unwrap();
    let resets = || session.counters().reset_requests.load(Ordering::Acquire);

    // Same settings, different text (a comment, re-ordered keys): nothing.
    rewrite(
        &path,
        "# my settings\n[virtual]\noutputs = 4\ninputs = 1\n\n[driver]\nbuffer_size = 256\n",
    );
    std::thread::sleep(Duration::from_millis(1200));
    assert_eq!(
        resets(),
        0,
        "an unchanged configuration must not reset the host"
    );

    // A real change: exactly one reset request.
    rewrite(
        &path,
        "[driver]\nbuffer_size = 256\n\n[virtual]\ninputs = 1\noutputs = 4\n\n[scheduling]\nmode = \"inherit\"\n",
    );
    assert!(
        wait_until(Duration::from_secs(5), || resets() >= 1),
        "no reset request after a change"
    );
    std::thread::sleep(Duration::from_millis(1000));
    assert_eq!(resets(), 1, "one change, one reset request");

    // Streaming was not disturbed by any of it.
    let before = session.counters().switches.load(Ordering::Acquire);
    assert!(wait_until(Duration::from_secs(2), || {
        session.counters().switches.load(Ordering::Acquire) > before + 5
    }));
    d.stop().unwrap();
    session.end();
    d.dispose_buffers().unwrap();
    drop(session);
    assert_eq!(d.release(), 0);
    std::env::remove_var("TENUTO_CONFIG");
}

#[test]
fn a_broken_settings_file_never_stops_the_driver_and_is_explained() {
    let _g = SERIAL.lock().unwrap_or_else(|p| p.into_inner());
    let path = settings_file("broken", "[driver\nbuffer_size = 64\n");
    std::env::set_var("TENUTO_CONFIG", &path);
    let mut d = Driver::from_instance(tenuto::new_instance());
    assert!(d.init(), "the driver must load with a broken settings file");
    let message = d.error_message();
    assert!(message.starts_with("settings"), "{message}");
    assert!(message.len() <= 123);
    // Defaults are in effect and it streams.
    assert_eq!(d.channels().unwrap(), (2, 2));
    let report = tenuto_host::check::run(
        d,
        &tenuto_host::check::CheckOptions {
            switches: 10,
            ..Default::default()
        },
    );
    let failed: Vec<_> = report.steps.iter().filter(|s| !s.passed).collect();
    // The only acceptable failure would be a step that checks the initial
    // (empty) error message; there is none, so everything passes.
    assert!(report.ok(), "{failed:#?}");

    // A bad value keeps that key's default and names key and value.
    rewrite(&path, "[scheduling]\nmmcss_priority = \"max\"\n");
    let mut d = Driver::from_instance(tenuto::new_instance());
    assert!(d.init());
    let message = d.error_message();
    assert!(
        message.contains("mmcss_priority") && message.contains("max"),
        "{message}"
    );
    assert_eq!(d.release(), 0);
    std::env::remove_var("TENUTO_CONFIG");
}
