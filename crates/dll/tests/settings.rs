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
        "[driver]\nbackend = \"virtual\"\nbuffer_size = 256\n\n[virtual]\ninputs = 1\noutputs = 4\n",
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
        "# my settings\n[virtual]\noutputs = 4\ninputs = 1\n\n[driver]\nbuffer_size = 256\nbackend = \"virtual\"\n",
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
        "[driver]\nbackend = \"virtual\"\nbuffer_size = 256\n\n[virtual]\ninputs = 1\noutputs = 4\n\n[scheduling]\nmode = \"inherit\"\n",
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
    // 40 switches: under Wine the defaults stream through WASAPI by events, and one wake-up
    // held up by the wineserver (a 10 ms step) is 12 % of 10 switches' system time. The
    // check takes a median over stretches of 50 ms, which one late stamp (a machine that
    // stalls as the stream starts) cannot move.
    let report = tenuto_measure::check::run(
        d,
        &tenuto_measure::check::CheckOptions {
            switches: 40,
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

/// The log next to the settings file tells what happened, written by the
/// log thread, never by the driver thread.
#[test]
fn the_log_records_creation_streaming_late_periods_and_release() {
    let _g = SERIAL.lock().unwrap_or_else(|p| p.into_inner());
    let path = settings_file(
        "log",
        "[driver]\nbackend = \"virtual\"\n\n[logging]\nlevel = \"info\"\n\n[scheduling]\nlinux = \"inherit\"\n",
    );
    let log = path.with_file_name("tenuto.log");
    let _ = std::fs::remove_file(&log);
    std::env::set_var("TENUTO_CONFIG", &path);

    /// Overruns every 20th period by 10 ms.
    struct Slow(u64);
    impl PeriodHandler for Slow {
        fn process(&mut self, _period: &mut Period<'_>) {
            self.0 += 1;
            if self.0 % 20 == 0 {
                std::thread::sleep(Duration::from_millis(10));
            }
        }
        fn as_any(&mut self) -> &mut dyn std::any::Any {
            self
        }
    }

    let mut d = Driver::from_instance(tenuto::new_instance());
    assert!(d.init());
    let session = d
        .create_buffers(&[(false, 0)], 64, HostOptions::default(), Box::new(Slow(0)))
        .unwrap();
    session.begin();
    d.start().unwrap();
    assert!(wait_until(Duration::from_secs(5), || {
        session.counters().switches.load(Ordering::Acquire) >= 100
    }));
    std::thread::sleep(Duration::from_millis(400));
    d.stop().unwrap();
    session.end();
    std::thread::sleep(Duration::from_millis(400));
    d.dispose_buffers().unwrap();
    drop(session);
    assert_eq!(d.release(), 0);
    std::env::remove_var("TENUTO_CONFIG");

    let text = std::fs::read_to_string(&log).expect("tenuto.log written");
    for want in [
        "driver object created in",
        "streaming started at 48000 Hz; scheduling:",
        "late: the host's callback took longer than the period (host overrun)",
        "streaming stopped:",
        "driver object released",
    ] {
        assert!(text.contains(want), "missing {want:?} in:\n{text}");
    }
}

/// A host that releases the driver without calling stop() still gets the
/// stream's summary in the log, and every device gap is explained.
#[test]
fn the_log_explains_device_gaps_and_summarises_a_stream_released_while_running() {
    let _g = SERIAL.lock().unwrap_or_else(|p| p.into_inner());
    let path = settings_file(
        "log-release",
        "[driver]\nbackend = \"virtual\"\n\n[logging]\nlevel = \"info\"\n\n[scheduling]\nlinux = \"inherit\"\n",
    );
    let log = path.with_file_name("tenuto.log");
    let _ = std::fs::remove_file(&log);
    std::env::set_var("TENUTO_CONFIG", &path);

    /// Stalls once for 30 ms (about 22 periods of 64 frames): the device
    /// plays silence meanwhile.
    struct StallOnce(u64);
    impl PeriodHandler for StallOnce {
        fn process(&mut self, _period: &mut Period<'_>) {
            self.0 += 1;
            if self.0 == 50 {
                std::thread::sleep(Duration::from_millis(30));
            }
        }
        fn as_any(&mut self) -> &mut dyn std::any::Any {
            self
        }
    }

    let mut d = Driver::from_instance(tenuto::new_instance());
    assert!(d.init());
    let session = d
        .create_buffers(
            &[(false, 0)],
            64,
            HostOptions::default(),
            Box::new(StallOnce(0)),
        )
        .unwrap();
    session.begin();
    d.start().unwrap();
    assert!(wait_until(Duration::from_secs(5), || {
        session.counters().switches.load(Ordering::Acquire) >= 150
    }));
    // No stop(), no disposeBuffers(): the last reference goes while streaming.
    assert_eq!(d.release(), 0);
    drop(session);
    std::env::remove_var("TENUTO_CONFIG");

    let text = std::fs::read_to_string(&log).expect("tenuto.log written");
    for want in [
        "output underrun(s) (the device ran out of audio to play",
        "streaming stopped:",
        "device: ",
        "driver object released",
    ] {
        assert!(text.contains(want), "missing {want:?} in:\n{text}");
    }
    let summary = text
        .lines()
        .find(|l| l.contains("streaming stopped:"))
        .unwrap_or_default();
    assert!(
        !summary.contains("device: 0 output underruns"),
        "the summary counts the underrun: {summary}"
    );
}

#[test]
fn the_log_rotates_and_keeps_three_old_files() {
    let dir = std::env::temp_dir().join(format!("tenuto-log-rotate-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let path = dir.join("tenuto.log");
    let mut log = tenuto::log::LogFile::open(&path, 2_000);
    for i in 0..400 {
        log.line("info", &format!("line {i} with some text to fill the file"));
    }
    drop(log);
    for n in 1..=tenuto::log::KEEP {
        assert!(
            dir.join(format!("tenuto.{n}.log")).is_file(),
            "tenuto.{n}.log missing"
        );
    }
    assert!(!dir
        .join(format!("tenuto.{}.log", tenuto::log::KEEP + 1))
        .exists());
    assert!(std::fs::metadata(&path).unwrap().len() <= 2_200);
    let _ = std::fs::remove_dir_all(&dir);
}

/// Creating (CoCreateInstance) and releasing the driver each return within this. A hang
/// guard only, generous for a debug build under Wine on a busy 2-vCPU VM: the work is
/// bounded by the settings crate (a file over 256 KiB is not read, at most 50 problems are
/// listed and logged) and by the log thread (a bounded batch of lines at release).
const HANG_GUARD: Duration = Duration::from_secs(2);

/// Creates and releases a driver object with the settings file at `path` (as a host's
/// CoCreateInstance and Release, without init: the settings are read at creation), returns
/// the log it wrote.
fn create_and_release(path: &PathBuf) -> String {
    let log = path.with_file_name("tenuto.log");
    let _ = std::fs::remove_file(&log);
    std::env::set_var("TENUTO_CONFIG", path);
    let t0 = Instant::now();
    let instance = tenuto::new_instance();
    let create = t0.elapsed();
    let d = Driver::from_instance(instance);
    let t0 = Instant::now();
    assert_eq!(d.release(), 0);
    let release = t0.elapsed();
    std::env::remove_var("TENUTO_CONFIG");
    println!("{}: create {create:?}, release {release:?}", path.display());
    assert!(create < HANG_GUARD, "creating took {create:?}");
    assert!(release < HANG_GUARD, "releasing took {release:?}");
    std::fs::read_to_string(&log).expect("tenuto.log written")
}

#[test]
fn huge_settings_files_hold_up_neither_creation_nor_release_and_are_logged() {
    let _g = SERIAL.lock().unwrap_or_else(|p| p.into_inner());
    let keys = |n: usize| {
        let mut keys = String::from("[driver]\n");
        for i in 0..n {
            keys.push_str(&format!("k{i:05} = 1\n"));
        }
        keys
    };
    let mut huge = String::from("[driver]\n");
    while huge.len() < 10_000_000 {
        huge.push_str("# padding padding padding padding padding padding padding\n");
    }
    let cases = [
        // Just under the size limit, every line a problem: parsed, 50 listed.
        (
            "20k-keys",
            keys(20_000),
            "and 19950 more warnings after line 51",
        ),
        (
            "75k-keys",
            keys(75_000),
            "more than the 262144 bytes (256 KiB)",
        ),
        (
            "long-key",
            format!("[driver]\n{} = 1\n", "k".repeat(200_000)),
            "characters)` ignored",
        ),
        (
            "1mb-key",
            format!("[driver]\n{} = 1\n", "k".repeat(1_000_000)),
            "(256 KiB)",
        ),
        ("10mb", huge, "more than the 262144 bytes (256 KiB)"),
    ];
    for (name, text, want) in cases {
        let path = settings_file(name, &text);
        let log = create_and_release(&path);
        assert!(log.contains(want), "{name}: {want:?} not in:\n{log}");
        assert!(log.contains("driver object released"), "{name}:\n{log}");
        // At most 50 problems and the closing count, each on one short line.
        let lines = log.lines().filter(|l| l.contains("] settings: ")).count();
        assert!(lines <= 51, "{name}: {lines} settings lines");
        assert!(log.lines().all(|l| l.len() < 400), "{name}: a long line");
    }
}

#[test]
fn a_missing_settings_file_or_folder_is_logged() {
    let _g = SERIAL.lock().unwrap_or_else(|p| p.into_inner());
    let dir = settings_file("missing", "").with_file_name("");
    let path = dir.join("tenuto.toml");
    std::fs::remove_file(&path).unwrap();
    let log = create_and_release(&path);
    let want = format!(
        "settings: {} does not exist; running with the default settings",
        path.display()
    );
    assert!(log.contains(&want), "{want:?} not in:\n{log}");

    let path = dir.join("no-such-folder").join("tenuto.toml");
    let _ = std::fs::remove_dir_all(dir.join("no-such-folder"));
    let log = create_and_release(&path);
    let want = format!(
        "settings: the folder of {} does not exist or cannot be reached; running with the \
         default settings",
        path.display()
    );
    assert!(log.contains(&want), "{want:?} not in:\n{log}");
}
