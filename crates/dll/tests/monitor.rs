//! The real DLL publishes what its driver thread does, and another process sees it move:
//! this test process streams through tenuto.dll (loaded by path, created through its class
//! factory, the virtual device chosen by a settings file) while a second process — this
//! same test binary, started again to run only [`child_reads_the_published_instance`] —
//! finds the instance through the session's registry of named file mappings and reads its
//! snapshot, twice. Under Wine (`cargo xtask test`) that is two Wine processes sharing
//! `Local\Tenuto.Monitor.*`; natively on Windows, two Windows processes.

#![cfg(windows)]

use std::process::Command;
use std::time::Duration;

use tenuto_host::dll::DllServer;
use tenuto_measure::stream::{self, StreamOptions};
use tenuto_monitor::{text, Namespace, Reader};

mod common;
use common::built_dll;

/// Set in the child: the pid of the process whose instance it reads.
const PARENT_ENV: &str = "TENUTO_MONITOR_TEST_PARENT";
const BUFFER: i32 = 64;

/// What the child saw, parsed from its line.
#[derive(Debug, Clone, Default)]
struct Seen {
    state: String,
    host: String,
    driver: String,
    buffer: u64,
    periods: u64,
    updates: u64,
    streams: u64,
}

fn parse(line: &str) -> Seen {
    let mut s = Seen::default();
    for field in line.split('\t').skip(1) {
        let (k, v) = field.split_once('=').unwrap_or((field, ""));
        let n = || {
            v.parse::<u64>()
                .unwrap_or_else(|_| panic!("{k}={v}: not a number"))
        };
        match k {
            "state" => s.state = v.to_owned(),
            "host" => s.host = v.to_owned(),
            "driver" => s.driver = v.to_owned(),
            "buffer" => s.buffer = n(),
            "periods" => s.periods = n(),
            "updates" => s.updates = n(),
            "streams" => s.streams = n(),
            _ => {}
        }
    }
    s
}

/// Runs the child once; its `MONITOR\t…` line, parsed.
fn read_in_another_process() -> Seen {
    let out = Command::new(std::env::current_exe().expect("current exe"))
        .args([
            "--exact",
            "child_reads_the_published_instance",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(PARENT_ENV, std::process::id().to_string())
        .output()
        .expect("start the reading process");
    let stdout = String::from_utf8_lossy(&out.stdout);
    // The test harness prints its "test … " prefix on the same line.
    let line = stdout
        .lines()
        .find_map(|l| l.find("MONITOR\t").map(|i| &l[i..]))
        .unwrap_or_else(|| {
            panic!(
                "the reading process printed no snapshot ({}):\n{stdout}\n{}",
                out.status,
                String::from_utf8_lossy(&out.stderr)
            )
        });
    parse(line)
}

#[test]
fn another_process_sees_the_streaming_driver_move() {
    if std::env::var_os(PARENT_ENV).is_some() {
        return; // the child runs the other test only
    }
    let dir = std::env::temp_dir().join(format!("tenuto-monitor-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("settings folder");
    let settings = dir.join("tenuto.toml");
    std::fs::write(&settings, "[driver]\nbackend = \"virtual\"\n").expect("settings file");
    std::env::set_var("TENUTO_CONFIG", &settings);

    let server = DllServer::load(&built_dll()).expect("load tenuto.dll");
    let mut d = server.create(tenuto::CLSID_TENUTO).expect("create");
    let reader = std::thread::spawn(|| {
        std::thread::sleep(Duration::from_millis(1500));
        let first = read_in_another_process();
        std::thread::sleep(Duration::from_millis(1000));
        let second = read_in_another_process();
        (first, second)
    });
    let report = stream::run(
        &mut d,
        &StreamOptions {
            buffer_frames: Some(BUFFER),
            sample_rate: Some(48_000.0),
            duration: Duration::from_secs(6),
            ..StreamOptions::default()
        },
        &mut |_, _| {},
    )
    .expect("stream");
    let (first, second) = reader.join().expect("the reading thread");
    eprintln!(
        "first read {first:?}\nsecond read {second:?}\nhost saw {} switches",
        report.switches
    );

    let exe = std::env::current_exe().expect("current exe");
    let exe_name = exe.file_name().expect("file name").to_string_lossy();
    for seen in [&first, &second] {
        assert_eq!(seen.state, "streaming", "{seen:?}");
        assert_eq!(seen.host, exe_name, "the host executable");
        assert_eq!(seen.driver, "virtual device");
        assert_eq!(seen.buffer, BUFFER as u64);
        assert_eq!(seen.streams, 1);
    }
    assert!(first.periods > 0, "periods were published: {first:?}");
    // 1 s apart at 750 periods per second, published ten times a second.
    assert!(
        second.periods >= first.periods + 300,
        "the counters move: {} then {} periods",
        first.periods,
        second.periods
    );
    assert!(
        second.updates >= first.updates + 5,
        "the heartbeat moves: {} then {} updates",
        first.updates,
        second.updates
    );
    assert!(second.periods <= report.switches + 1);

    // Released, the instance leaves the list.
    assert_eq!(d.release(), 0);
    let pid = std::process::id();
    assert!(
        Namespace::default().list().iter().all(|i| i.pid != pid),
        "the released driver is still listed"
    );
}

/// The reading process's half (does nothing unless started by the test above).
#[test]
fn child_reads_the_published_instance() {
    let Ok(parent) = std::env::var(PARENT_ENV) else {
        return;
    };
    let pid: u32 = parent.parse().expect("parent pid");
    let listed = Namespace::default().list();
    let info = listed
        .iter()
        .find(|i| i.pid == pid)
        .unwrap_or_else(|| panic!("process {pid} is not listed: {listed:?}"));
    let reader = Reader::open(info).expect("open the instance");
    let s = reader.snapshot().expect("a snapshot");
    println!(
        "MONITOR\tstate={}\thost={}\tdriver={}\tbuffer={}\tperiods={}\tupdates={}\tstreams={}",
        s.state().name(),
        text(&s.host_exe),
        text(&s.driver),
        s.buffer_size,
        s.periods,
        s.updates,
        s.streams_started
    );
}
