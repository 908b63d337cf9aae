//! `logging.level = "debug"` writes a trace of every IASIO call to
//! tenuto.log — method, arguments, result, duration — including the calls a
//! host makes from inside its buffer switch; any other level writes none.
//! Runs natively and under Wine.

use std::path::PathBuf;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use tenuto_host::{Driver, HostOptions, Period, PeriodHandler};

// The settings file is found through a process-wide variable.
#[allow(clippy::disallowed_types)]
static SERIAL: std::sync::Mutex<()> = std::sync::Mutex::new(());

/// Asks for the sample position inside every switch, as DAWs do.
struct Polling;

impl PeriodHandler for Polling {
    fn process(&mut self, period: &mut Period<'_>) {
        let _ = period.sample_position();
    }
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

/// Streams 64-frame buffers through a driver object made from a settings
/// file at `level`, and returns tenuto.log.
fn stream_at_level(level: &str) -> String {
    let _g = SERIAL.lock().unwrap_or_else(|p| p.into_inner());
    let dir: PathBuf =
        std::env::temp_dir().join(format!("tenuto-trace-test-{}-{level}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("tenuto.toml");
    std::fs::write(
        &path,
        format!(
            "[driver]\nbackend = \"virtual\"\n\n[logging]\nlevel = \"{level}\"\n\n\
             [scheduling]\nlinux = \"inherit\"\n"
        ),
    )
    .unwrap();
    let log = dir.join("tenuto.log");
    let _ = std::fs::remove_file(&log);
    std::env::set_var("TENUTO_CONFIG", &path);

    let mut d = Driver::from_instance(tenuto::new_instance());
    assert!(d.init());
    assert!(d.latencies().is_ok());
    assert!(d.can_sample_rate(12345.0).is_err());
    let session = d
        .create_buffers(
            &[(true, 0), (false, 0), (false, 1)],
            64,
            HostOptions::default(),
            Box::new(Polling),
        )
        .unwrap();
    session.begin();
    d.start().unwrap();
    assert!(wait_until(Duration::from_secs(5), || {
        session.counters().switches.load(Ordering::Acquire) >= 50
    }));
    d.sample_position().unwrap();
    d.stop().unwrap();
    session.end();
    d.dispose_buffers().unwrap();
    drop(session);
    assert_eq!(d.release(), 0);
    std::env::remove_var("TENUTO_CONFIG");
    std::fs::read_to_string(&log).expect("tenuto.log written")
}

fn trace_lines(log: &str) -> Vec<&str> {
    log.lines().filter(|l| l.contains(" IASIO ")).collect()
}

/// The trace line of the first call to `method`.
fn line_of<'a>(lines: &[&'a str], method: &str) -> &'a str {
    let call = format!(" IASIO {method}(");
    lines
        .iter()
        .find(|l| l.contains(&call))
        .unwrap_or_else(|| panic!("no trace line for {method} in:\n{}", lines.join("\n")))
}

#[test]
fn debug_level_traces_every_call_with_arguments_results_and_durations() {
    let log = stream_at_level("debug");
    let lines = trace_lines(&log);
    for l in &lines {
        assert!(l.contains(" debug "), "a trace line at debug level: {l}");
        assert!(
            l.contains(" in ") && l.contains(" at ") && l.contains(" ms"),
            "a trace line with duration and time: {l}"
        );
    }
    assert!(line_of(&lines, "init").contains("init() -> ASIOTrue"));
    assert!(line_of(&lines, "getLatencies").contains("-> ASE_OK (input "));
    assert!(line_of(&lines, "canSampleRate").contains("canSampleRate(12345 Hz) -> ASE_NoClock"));
    assert!(line_of(&lines, "createBuffers")
        .contains("createBuffers(3 channels (1 in, 2 out), 64 frames) -> ASE_OK"));
    assert!(line_of(&lines, "start").contains("start() -> ASE_OK"));
    assert!(line_of(&lines, "stop").contains("stop() -> ASE_OK"));
    assert!(line_of(&lines, "disposeBuffers").contains("disposeBuffers() -> ASE_OK"));
    // From inside the switches, on the driver thread, and once from the
    // test's thread while running.
    let positions: Vec<&&str> = lines
        .iter()
        .filter(|l| l.contains(" IASIO getSamplePosition() -> ASE_OK (position "))
        .collect();
    assert!(
        positions
            .iter()
            .filter(|l| l.ends_with(" on the driver thread"))
            .count()
            >= 50,
        "{} getSamplePosition lines",
        positions.len()
    );
    assert!(positions
        .iter()
        .any(|l| !l.ends_with(" on the driver thread")));
    assert!(!log.contains("trace records dropped"), "{log}");
    // In call order: the log thread writes them as they were queued.
    let order = ["init", "createBuffers", "start", "stop", "disposeBuffers"].map(|m| {
        let call = format!(" IASIO {m}(");
        lines.iter().position(|l| l.contains(&call)).unwrap()
    });
    assert!(order.windows(2).all(|w| w[0] < w[1]), "{order:?}");
}

#[test]
fn other_levels_trace_nothing() {
    let log = stream_at_level("info");
    assert!(log.contains("streaming started"), "{log}");
    assert!(trace_lines(&log).is_empty(), "{log}");
}
