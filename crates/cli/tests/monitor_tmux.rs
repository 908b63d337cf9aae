//! `tenuto monitor` in a real terminal: tmux runs `tenuto monitor --demo` (a virtual-device
//! stream inside the monitor's process, published and read as a DAW's driver is), and the
//! test reads the screen with `tmux capture-pane`: the instance listed and shown in detail,
//! its counters moving between two reads, a late period arriving with its cause, and `q`
//! ending it. A broken terminal UI (nothing drawn, frozen counters, no events, no exit)
//! fails it.
//!
//! Needs tmux: without it the test fails, saying so (`cargo xtask test` installs it). The
//! same screen under Wine's console is crates/cli/tests/monitor_wine.rs.

#![cfg(unix)]

use std::process::{Command, Output};
use std::time::{Duration, Instant};

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
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        let _ = self.run(&["kill-server"]);
    }
}

fn have_tmux() -> bool {
    Command::new("tmux")
        .arg("-V")
        .output()
        .is_ok_and(|o| o.status.success())
}

/// "periods N ·" on the detail pane.
fn periods(screen: &str) -> Option<u64> {
    let at = screen.find("periods ")? + "periods ".len();
    screen[at..].split_whitespace().next()?.parse().ok()
}

#[test]
fn the_terminal_ui_shows_a_live_instance_and_quits() {
    assert!(
        have_tmux(),
        "tmux is not installed: this test drives the terminal UI through it (`cargo xtask test` \
         installs it; or apt-get install tmux)"
    );
    let tmux = Tmux {
        socket: format!("tenuto-monitor-test-{}", std::process::id()),
    };
    let exe = env!("CARGO_BIN_EXE_tenuto");
    let started = tmux.run(&[
        "new-session",
        "-d",
        "-s",
        "monitor",
        "-x",
        "160",
        "-y",
        "50",
        &format!("'{exe}' monitor --demo"),
    ]);
    assert!(
        started.status.success(),
        "tmux new-session: {}",
        String::from_utf8_lossy(&started.stderr)
    );

    let (listed, first) = tmux.wait_for(Duration::from_secs(20), |s| {
        s.contains("1 instance(s)") && s.contains("streaming") && periods(s).is_some_and(|n| n > 0)
    });
    assert!(listed, "the instance never showed streaming:\n{first}");
    for part in [
        "tenuto monitor",
        "Instances",
        "virtual device (demo)",
        "48000 Hz",
        "256 frames",
        "Priority",
        "Wake-up lateness",
        "Period time split",
        "Events, newest first",
    ] {
        assert!(
            first.contains(part),
            "{part:?} is not on the screen:\n{first}"
        );
    }
    let n1 = periods(&first).unwrap_or(0);
    std::thread::sleep(Duration::from_millis(1500));
    let second = tmux.screen();
    let n2 = periods(&second).unwrap_or(0);
    // 187.5 periods a second at 256 frames / 48 kHz, redrawn ten times a second.
    assert!(
        n2 >= n1 + 100,
        "the counters do not move on screen: {n1} then {n2} periods\n{second}"
    );
    // The demo's host overruns a period every five seconds: it must scroll in with its cause.
    let (late, screen) = tmux.wait_for(Duration::from_secs(12), |s| {
        s.contains("late: host overrun")
    });
    assert!(late, "no late period with its cause appeared:\n{screen}");

    let _ = tmux.run(&["send-keys", "-t", "monitor", "q"]);
    let t0 = Instant::now();
    while tmux.alive() && t0.elapsed() < Duration::from_secs(10) {
        std::thread::sleep(Duration::from_millis(100));
    }
    assert!(
        !tmux.alive(),
        "`q` did not end the monitor:\n{}",
        tmux.screen()
    );
    if let Ok(path) = std::env::var("TENUTO_MONITOR_SCREEN") {
        let _ = std::fs::write(path, screen);
    }
}
