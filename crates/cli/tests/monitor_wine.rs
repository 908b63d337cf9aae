//! `tenuto.exe monitor` under Wine, in a real terminal, watching a stream that another
//! process started: the Windows build of `tenuto` streams through the registered
//! tenuto.dll (created through COM, the virtual device chosen by a settings file), and only
//! once it is listed as streaming does tmux start the Windows `tenuto.exe monitor` in Wine's
//! console. The test reads the screen with `tmux capture-pane`: the layout where it belongs
//! (Wine's console draws escape sequences as text unless the monitor uses the console's own
//! calls), the instance with its process id, buffer size and driver, its period counter
//! moving between two reads, and `q` ending it.
//!
//! Needs the Windows build next to this test's target directory
//! (`<target>/x86_64-pc-windows-gnu/<profile>/tenuto.exe` and `tenuto.dll`, or the folder in
//! `TENUTO_WINDOWS_OUT`), Wine (through tools/wine/env.sh and its prefix) and tmux. It runs
//! where the harness declares Wine (`TENUTO_HARNESS` names `wine`: `cargo xtask test`'s step
//! after the Windows build); there anything missing fails it. Elsewhere it says how to run it
//! and decides nothing (`TENUTO_HARNESS=wine,tmux cargo test -p tenuto-cli --test
//! monitor_wine`, after `cargo build --target x86_64-pc-windows-gnu -p tenuto-dll -p
//! tenuto-cli`).

#![cfg(unix)]

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

const BUFFER: u32 = 256;
const COLUMNS: usize = 160;
const ROWS: usize = 50;

fn harness_declares(env: &str) -> bool {
    std::env::var("TENUTO_HARNESS")
        .unwrap_or_default()
        .split(',')
        .any(|e| e.trim() == env)
}

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// `<target>/x86_64-pc-windows-gnu/<profile>` for this test binary's
/// `<target>/<profile>/deps/monitor_wine-…`, unless `TENUTO_WINDOWS_OUT` names it.
fn windows_out() -> PathBuf {
    if let Some(dir) = std::env::var_os("TENUTO_WINDOWS_OUT") {
        return PathBuf::from(dir);
    }
    let exe = std::env::current_exe().expect("current exe");
    let profile_dir = exe
        .parent()
        .and_then(Path::parent)
        .expect("<target>/<profile>");
    let profile = profile_dir.file_name().expect("profile name");
    profile_dir
        .parent()
        .expect("<target>")
        .join("x86_64-pc-windows-gnu")
        .join(profile)
}

/// A Unix path as Wine's Z: drive shows it.
fn z_path(p: &Path) -> String {
    let abs = std::fs::canonicalize(p).unwrap_or_else(|_| p.to_path_buf());
    format!("Z:{}", abs.display()).replace('/', "\\")
}

/// `tools/wine/env.sh wine ARGS…` with the project's prefix.
fn wine(args: &[&str]) -> Command {
    let mut c = Command::new(root().join("tools/wine/env.sh"));
    c.arg("wine").args(args).stdin(Stdio::null());
    c
}

/// Runs `cmd` to its end with its output in `file`; the status and the output. Not through
/// pipes: a Wine program that finds no wineserver starts one, which inherits its standard
/// handles and outlives it, so reading a pipe to its end would wait for the server to exit.
fn run_to_file(mut cmd: Command, file: &Path) -> (std::process::ExitStatus, String) {
    let out = std::fs::File::create(file).expect("output file");
    let status = cmd
        .stdout(out.try_clone().expect("output handle"))
        .stderr(out)
        .status()
        .expect("run a Wine program");
    let text = std::fs::read_to_string(file).unwrap_or_default();
    (status, text)
}

fn tool_runs(cmd: &str, arg: &str) -> bool {
    Command::new(cmd)
        .arg(arg)
        .output()
        .is_ok_and(|o| o.status.success())
}

/// A tmux server of this test's own (`-L`), killed on drop.
struct Tmux {
    socket: String,
}

impl Tmux {
    fn run(&self, args: &[&str]) -> Output {
        Command::new("tmux")
            .arg("-L")
            .arg(&self.socket)
            .args(args)
            .output()
            .expect("run tmux")
    }

    fn screen(&self) -> String {
        let out = self.run(&["capture-pane", "-p", "-t", "monitor"]);
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    fn alive(&self) -> bool {
        self.run(&["has-session", "-t", "monitor"]).status.success()
    }

    /// Waits up to `limit` for the screen to satisfy `ok`; the last screen either way.
    fn wait_for(&self, limit: Duration, ok: impl Fn(&str) -> bool) -> (bool, String) {
        let t0 = Instant::now();
        loop {
            let s = self.screen();
            if ok(&s) {
                return (true, s);
            }
            if t0.elapsed() > limit {
                return (false, s);
            }
            std::thread::sleep(Duration::from_millis(200));
        }
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        let _ = self.run(&["kill-server"]);
    }
}

/// The streaming host, killed on drop if it is still running.
struct Host(Child);

impl Drop for Host {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// "periods N ·" on the detail pane.
fn periods(screen: &str) -> Option<u64> {
    let at = screen.find("periods ")? + "periods ".len();
    screen[at..].split_whitespace().next()?.parse().ok()
}

/// The host's process id as the monitor lists it, once it streams: `monitor --once --json`
/// (its output in `dir`).
fn wait_until_streaming(exe: &str, host: &mut Host, dir: &Path, limit: Duration) -> u64 {
    let t0 = Instant::now();
    let mut last = String::new();
    while t0.elapsed() < limit {
        if let Ok(Some(status)) = host.0.try_wait() {
            panic!(
                "the streaming host ended ({status}) before it was listed; last listing:\n{last}"
            );
        }
        let (_, listing) = run_to_file(
            wine(&[exe, "monitor", "--once", "--json"]),
            &dir.join("once.json"),
        );
        last = listing;
        if let Ok(serde_json::Value::Array(list)) = serde_json::from_str(&last) {
            let streaming = list.iter().find(|i| {
                i["host_exe"] == "tenuto.exe"
                    && i["state"] == "streaming"
                    && i["snapshot"]["buffer_size"] == BUFFER
            });
            if let Some(pid) = streaming.and_then(|i| i["pid"].as_u64()) {
                return pid;
            }
        }
        std::thread::sleep(Duration::from_millis(500));
    }
    panic!("no tenuto.exe instance streaming at {BUFFER} frames within {limit:?}; last listing:\n{last}");
}

#[test]
fn the_windows_monitor_shows_another_process_streaming_under_wine() {
    if !harness_declares("wine") {
        eprintln!(
            "skipped: runs where the harness provides Wine (`cargo xtask test`; by hand: \
             TENUTO_HARNESS=wine,tmux cargo test -p tenuto-cli --test monitor_wine, after \
             building tenuto.dll and tenuto.exe for x86_64-pc-windows-gnu)"
        );
        return;
    }
    assert!(
        tool_runs("tmux", "-V"),
        "tmux is not installed: this test drives the terminal UI through it"
    );
    assert!(
        tool_runs("wine", "--version"),
        "wine is not installed (`cargo xtask test` installs it)"
    );
    let out = windows_out();
    let (exe, dll) = (out.join("tenuto.exe"), out.join("tenuto.dll"));
    for f in [&exe, &dll] {
        assert!(
            f.is_file(),
            "{} is missing: build it with cargo build --target x86_64-pc-windows-gnu -p tenuto-dll -p tenuto-cli",
            f.display()
        );
    }
    let exe = exe.to_string_lossy().into_owned();

    let dir = std::env::temp_dir().join(format!("tenuto-monitor-wine-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("settings folder");
    // The DLL of this build, registered: the host creates it through COM by name.
    let (reg, said) = run_to_file(
        wine(&["regsvr32", "/s", &z_path(&dll)]),
        &dir.join("regsvr32.txt"),
    );
    assert!(
        reg.success(),
        "regsvr32 {} failed: {reg}\n{said}",
        dll.display()
    );
    let settings = dir.join("tenuto.toml");
    std::fs::write(&settings, "[driver]\nbackend = \"virtual\"\n").expect("settings file");

    let log = std::fs::File::create(dir.join("host.log")).expect("host log");
    let mut host = Host(
        wine(&[
            &exe,
            "stream",
            "--driver",
            "Tenuto",
            "--buffer",
            &BUFFER.to_string(),
            "--seconds",
            "90",
        ])
        .env("TENUTO_CONFIG", z_path(&settings))
        .stdout(log.try_clone().expect("log handle"))
        .stderr(log)
        .spawn()
        .expect("start tenuto.exe stream"),
    );
    let pid = wait_until_streaming(&exe, &mut host, &dir, Duration::from_secs(60));

    // Started after the host, in Wine's console: a terminal of its own, UTF-8 so that Wine
    // writes the box-drawing characters as they are.
    let tmux = Tmux {
        socket: format!("tenuto-monitor-wine-{}", std::process::id()),
    };
    let command = format!(
        "LANG=C.UTF-8 LC_ALL=C.UTF-8 '{}' wine '{exe}' monitor",
        root().join("tools/wine/env.sh").display()
    );
    let started = tmux.run(&[
        "new-session",
        "-d",
        "-s",
        "monitor",
        "-x",
        &COLUMNS.to_string(),
        "-y",
        &ROWS.to_string(),
        &command,
    ]);
    assert!(
        started.status.success(),
        "tmux new-session: {}",
        String::from_utf8_lossy(&started.stderr)
    );
    let ours = format!("pid {pid} #0");
    let parts = [
        ours.as_str(),
        "tenuto.exe",
        "streaming",
        "virtual device",
        "48000 Hz",
        "256 frames",
        "Priority",
        "Wake-up lateness",
        "Period time split",
        "Events, newest first",
    ];
    // The first frame reaches the terminal row by row: wait for all of it, down to the
    // bottom row's corners.
    let (shown, first) = tmux.wait_for(Duration::from_secs(60), |s| {
        parts.iter().all(|p| s.contains(p))
            && periods(s).is_some_and(|n| n > 0)
            && s.lines()
                .nth(ROWS - 1)
                .is_some_and(|l| l.starts_with('└') && l.ends_with('┘'))
    });
    let missing: Vec<_> = parts.iter().filter(|p| !first.contains(*p)).collect();
    assert!(
        shown,
        "the monitor never showed {ours} streaming in full (missing {missing:?}, or no periods):\n{first}"
    );
    let n1 = periods(&first).unwrap_or(0);
    std::thread::sleep(Duration::from_secs(2));
    let second = tmux.screen();
    let n2 = periods(&second).unwrap_or(0);
    // 187.5 periods a second at 256 frames and 48 kHz; redrawn ten times a second. Half of
    // that over 2 s leaves room for a loaded machine and still needs a live screen.
    assert!(
        n2 >= n1 + 180,
        "the counters do not move on screen: {n1} then {n2} periods\n{second}"
    );
    // Every cell where the layout puts it: the title on the first row, the instance list's
    // box from column 0 to 29 and the detail boxes from column 30 to the last, on each row
    // down to the events. Escape sequences kept as text by the console shift these.
    let rows: Vec<Vec<char>> = second.lines().map(|l| l.chars().collect()).collect();
    assert!(
        second.starts_with("tenuto monitor — "),
        "the title is not on the first row:\n{second}"
    );
    let corner = |r: usize, c: usize| rows.get(r).and_then(|row| row.get(c)).copied();
    assert_eq!(
        (
            corner(1, 0),
            corner(1, 29),
            corner(1, 30),
            corner(1, COLUMNS - 1)
        ),
        (Some('┌'), Some('┐'), Some('┌'), Some('┐')),
        "the boxes' top corners are not in place:\n{second}"
    );
    for (r, row) in rows.iter().enumerate().take(45).skip(2) {
        assert!(
            row.len() == COLUMNS && row[0] == '│' && row[29] == '│' && "│┌└".contains(row[30]),
            "row {r} is out of place:\n{second}"
        );
    }

    if let Ok(path) = std::env::var("TENUTO_MONITOR_SCREEN") {
        let _ = std::fs::write(path, &second);
    }

    let _ = tmux.run(&["send-keys", "-t", "monitor", "q"]);
    let t0 = Instant::now();
    while tmux.alive() && t0.elapsed() < Duration::from_secs(15) {
        std::thread::sleep(Duration::from_millis(200));
    }
    assert!(
        !tmux.alive(),
        "`q` did not end the monitor:\n{}",
        tmux.screen()
    );
    drop(host);
    let _ = std::fs::remove_dir_all(&dir);
}
