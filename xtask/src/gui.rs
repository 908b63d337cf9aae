//! The control panel's GUI test under Xvfb and Wine.

use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::project::{cargo, target_dir, wait_with_limit, windows_out, WINDOWS_TARGET};
use crate::steps::{Step, Steps};
use crate::wine::{kill_wineserver, windows_path, wine_cmd};

/// The control panel under Xvfb + Wine: `panel_host`
/// loads the freshly built tenuto.dll like a DAW (settings file from
/// `TENUTO_CONFIG`, written here with `backend = "virtual"`, `mode = "mmcss"`
/// and other non-default values), streams, calls `controlPanel()` twice, and
/// checks from inside the process that there is one window showing the
/// file's values (the WASAPI drop-downs greyed, listing the private
/// PulseAudio's endpoints), and prints the endpoints it lists. Here: wait
/// for the window, check there is exactly one, take the screenshot CI keeps
/// (target/panel-screenshot.png), toggle "Register driver thread with MMCSS"
/// (Alt+R) and press Apply (Alt+A) with xdotool, check that the file's
/// `scheduling.mode` changed; then choose the WASAPI backend (Alt+B, Home)
/// and the null sink as its output device (Alt+O, End), Apply, and check that
/// the file says `backend = "wasapi"` and `output` = the null sink's endpoint
/// ID (target/panel-screenshot-applied.png shows it); close the window (Esc)
/// and tell panel_host, which then checks it received kAsioResetRequest and
/// that streaming never stopped, and exits 0.
pub fn panel_test(steps: &mut Steps) -> Result<(), String> {
    const TITLE: &str = "Tenuto ASIO Driver";
    /// How long panel_host waits for the driver's reset request.
    const RESET_WAIT_S: u64 = 60;

    let mut build = cargo();
    build.args([
        "build",
        "--target",
        WINDOWS_TARGET,
        "--package",
        "tenuto-panel",
        "--example",
        "panel_host",
    ]);
    steps.run(
        Step::new("build panel_host (crates/panel/examples)", build)
            .hint(|_| "the compiler errors above".to_owned()),
    )?;
    let out = windows_out("debug");
    let host = out.join("examples").join("panel_host.exe");
    let dll = out.join("tenuto.dll");
    let screenshot = target_dir().join("panel-screenshot.png");
    let screenshot_after = target_dir().join("panel-screenshot-applied.png");
    let settings = target_dir().join("panel-test").join("tenuto.toml");

    steps.record(
        "control panel under Xvfb + Wine: controlPanel() x2, one window, MMCSS toggled + Apply, WASAPI + null sink chosen + Apply, reset request",
        || {
            /// Xvfb, stopped when dropped — after the wineserver, so that no
            /// Windows program is left on a dead display (nor the next
            /// Wine program given a desktop there).
            struct Display(Child, u32);
            impl Drop for Display {
                fn drop(&mut self) {
                    kill_wineserver();
                    // SIGTERM lets Xvfb remove its lock file and socket.
                    let _ = Command::new("kill")
                        .arg(self.0.id().to_string())
                        .stderr(Stdio::null())
                        .status();
                    if !matches!(wait_with_limit(&mut self.0, Duration::from_secs(5)), Ok(Some(_))) {
                        let _ = self.0.kill();
                        let _ = self.0.wait();
                        let _ = std::fs::remove_file(format!("/tmp/.X{}-lock", self.1));
                        let _ = std::fs::remove_file(format!("/tmp/.X11-unix/X{}", self.1));
                    }
                }
            }
            /// panel_host, killed when dropped unless it has exited.
            struct Host(Child);
            impl Drop for Host {
                fn drop(&mut self) {
                    if matches!(self.0.try_wait(), Ok(None)) {
                        let _ = self.0.kill();
                        let _ = self.0.wait();
                    }
                }
            }
            let t0 = Instant::now();
            let stamp = |what: &str| eprintln!("    {:5.1} s  {what}", t0.elapsed().as_secs_f64());

            // A free display number, then Xvfb on it.
            let number = (70..100)
                .find(|n| {
                    !Path::new(&format!("/tmp/.X11-unix/X{n}")).exists()
                        && !Path::new(&format!("/tmp/.X{n}-lock")).exists()
                })
                .ok_or("no free X display number in :70-:99")?;
            let display = format!(":{number}");
            let xvfb = Command::new("Xvfb")
                .args([display.as_str(), "-screen", "0", "1280x800x24", "-nolisten", "tcp"])
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .map_err(|e| format!("could not start Xvfb: {e}"))?;
            let mut xvfb = Display(xvfb, number);
            let socket = PathBuf::from(format!("/tmp/.X11-unix/X{number}"));
            while !socket.exists() {
                if let Ok(Some(status)) = xvfb.0.try_wait() {
                    return Err(format!("Xvfb {display} exited at once ({status})"));
                }
                if t0.elapsed() > Duration::from_secs(15) {
                    return Err(format!("Xvfb {display} did not come up within 15 s"));
                }
                std::thread::sleep(Duration::from_millis(50));
            }
            stamp(&format!("Xvfb {display} is up"));

            // xdotool on that display, with a time limit; its stdout.
            let xdo = |args: &[&str], limit: Duration| -> Result<String, String> {
                let mut child = Command::new("xdotool")
                    .args(args)
                    .env("DISPLAY", &display)
                    .stdin(Stdio::null())
                    .stdout(Stdio::piped())
                    .stderr(Stdio::null())
                    .spawn()
                    .map_err(|e| format!("could not run xdotool: {e}"))?;
                let mut stdout = child.stdout.take();
                let reader = std::thread::spawn(move || {
                    let mut text = String::new();
                    if let Some(out) = stdout.as_mut() {
                        use std::io::Read;
                        let _ = out.read_to_string(&mut text);
                    }
                    text
                });
                match wait_with_limit(&mut child, limit) {
                    Ok(Some(status)) => {
                        let text = reader.join().unwrap_or_default();
                        if status.success() {
                            Ok(text)
                        } else {
                            Err(format!("xdotool {} failed ({status})", args.join(" ")))
                        }
                    }
                    _ => {
                        let _ = child.kill();
                        let _ = child.wait();
                        Err(format!(
                            "xdotool {} did not finish within {} s",
                            args.join(" "),
                            limit.as_secs()
                        ))
                    }
                }
            };
            let windows = || -> Vec<String> {
                xdo(&["search", "--name", TITLE], Duration::from_secs(10))
                    .map(|out| out.split_whitespace().map(str::to_owned).collect())
                    .unwrap_or_default()
            };
            // `name` in `[section]` of the settings file, unquoted.
            let in_file = |section: &str, name: &str| -> Option<String> {
                let text = std::fs::read_to_string(&settings).ok()?;
                let mut current = "";
                text.lines().find_map(|l| {
                    let l = l.trim();
                    if let Some(header) = l.strip_prefix('[').and_then(|h| h.strip_suffix(']')) {
                        current = header;
                        return None;
                    }
                    let (key, value) = l.split_once('=')?;
                    (current == section && key.trim() == name)
                        .then(|| value.trim().trim_matches('"').to_owned())
                })
            };
            let mode_in_file = || in_file("scheduling", "mode");

            // The settings file the driver reads (TENUTO_CONFIG).
            if let Some(dir) = settings.parent() {
                std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
            }
            // Values other than the defaults, so that panel_host's check
            // that the window shows them means something.
            // The virtual device streams (whatever the backend's default), so
            // that the stream does not depend on the audio devices.
            let text = "[driver]\nbackend = \"virtual\"\nbuffer_size = 256\n\n\
                        [wasapi]\nconvert_rate = false\n\n\
                        [virtual]\nsample_rate = 44100\n\
                        format = \"i32\"\nsource = \"sine\"\n\n\
                        [scheduling]\nmode = \"mmcss\"\nmmcss_priority = \"high\"\n\
                        eco_qos_opt_out = false\n\n[logging]\nlevel = \"debug\"\n";
            std::fs::write(&settings, text)
                .map_err(|e| format!("{}: {e}", settings.display()))?;

            // A fresh wineserver, so that Wine's desktop uses this display.
            kill_wineserver();
            let wait = RESET_WAIT_S.to_string();
            let mut cmd = wine_cmd(&[
                host.as_os_str(),
                OsStr::new(&windows_path(&dll)),
                OsStr::new("--wait"),
                OsStr::new(&wait),
            ]);
            cmd.env("DISPLAY", &display)
                .env("TENUTO_CONFIG", windows_path(&settings))
                .stdin(Stdio::piped())
                .stdout(Stdio::piped());
            let mut child = cmd
                .spawn()
                .map_err(|e| format!("could not start panel_host under Wine: {e}"))?;
            let mut stdin = child.stdin.take();
            let stdout = child.stdout.take();
            let mut host_proc = Host(child);
            let (tx, rx) = std::sync::mpsc::channel::<String>();
            if let Some(out) = stdout {
                std::thread::spawn(move || {
                    use std::io::BufRead;
                    for line in std::io::BufReader::new(out).lines().map_while(Result::ok) {
                        eprintln!("    | {line}");
                        if tx.send(line).is_err() {
                            break;
                        }
                    }
                });
            }
            // panel_host's lines until one contains `marker` (an error on FAIL or
            // exit); the lines before it.
            let wait_for = |marker: &str, limit: Duration| -> Result<Vec<String>, String> {
                let deadline = Instant::now() + limit;
                let mut seen = Vec::new();
                loop {
                    let left = deadline.saturating_duration_since(Instant::now());
                    match rx.recv_timeout(left) {
                        Ok(line) if line.contains(marker) => return Ok(seen),
                        Ok(line) if line.contains("FAIL") => return Err(line),
                        Ok(line) => seen.push(line),
                        Err(std::sync::mpsc::RecvTimeoutError::Timeout) => {
                            return Err(format!(
                                "panel_host did not print \"{marker}\" within {} s",
                                limit.as_secs()
                            ))
                        }
                        Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => {
                            return Err(format!("panel_host ended before \"{marker}\""))
                        }
                    }
                }
            };
            let before_ready = wait_for("READY", Duration::from_secs(120))?;
            stamp("panel_host streams and has called controlPanel() twice");
            // The null sink's endpoint ID, as the panel lists it
            // ("panel_host: render endpoint: NAME [ID] …").
            const NULL_SINK: &str = "Tenuto Null Output";
            let sink_id = before_ready
                .iter()
                .find_map(|l| {
                    let rest = l.split_once(&format!("render endpoint: {NULL_SINK} ["))?.1;
                    Some(rest.split_once(']')?.0.to_owned())
                })
                .ok_or(format!(
                    "panel_host listed no render endpoint \"{NULL_SINK}\" (is the private \
                     PulseAudio running? tools/pulse/start.sh)"
                ))?;
            stamp(&format!("the panel lists {NULL_SINK} [{sink_id}]"));

            xdo(&["search", "--sync", "--name", TITLE], Duration::from_secs(30))
                .map_err(|e| format!("the settings window did not appear: {e}"))?;
            stamp("the settings window is there");
            // Exactly one window, and it stays one (the second call only
            // brings the first to the front).
            let mut found = windows();
            for _ in 0..5 {
                if found.len() != 1 {
                    break;
                }
                std::thread::sleep(Duration::from_millis(200));
                found = windows();
            }
            if found.len() != 1 {
                return Err(format!(
                    "{} windows named \"{TITLE}\" after two controlPanel() calls; expected 1",
                    found.len()
                ));
            }
            let window = found.remove(0);
            stamp("exactly one settings window");
            let shot = |path: &Path| -> Result<(), String> {
                let status = Command::new("import")
                    .args(["-window", "root"])
                    .arg(path)
                    .env("DISPLAY", &display)
                    .stdin(Stdio::null())
                    .status()
                    .map_err(|e| format!("could not run import (imagemagick): {e}"))?;
                if status.success() {
                    Ok(())
                } else {
                    Err(format!("import -window root {} failed ({status})", path.display()))
                }
            };
            shot(&screenshot)?;
            stamp(&format!("screenshot {}", screenshot.display()));

            // Keyboard focus to the panel (no window manager: windowactivate
            // needs one, windowfocus does not), then Alt+R, Alt+A.
            let focus = || {
                xdo(&["windowactivate", "--sync", &window], Duration::from_secs(5))
                    .or_else(|_| xdo(&["windowfocus", "--sync", &window], Duration::from_secs(5)))
            };
            // Wine may drop keys that arrive while it is still taking the
            // focus; each retry repeats only what may have been lost (Apply
            // alone first, so a toggle that did happen is not undone).
            let attempts: [&[&str]; 3] = [&["alt+r", "alt+a"], &["alt+a"], &["alt+r", "alt+a"]];
            let mut mode = None;
            for keys in attempts {
                focus()?;
                for key in keys {
                    xdo(&["key", "--clearmodifiers", key], Duration::from_secs(5))?;
                }
                let changed_by = Instant::now() + Duration::from_secs(5);
                while Instant::now() < changed_by {
                    if let Some(m) = mode_in_file().filter(|m| m != "mmcss") {
                        mode = Some(m);
                        break;
                    }
                    std::thread::sleep(Duration::from_millis(100));
                }
                if mode.is_some() {
                    break;
                }
                stamp(&format!("the file did not change after {}; again", keys.join(", ")));
            }
            let Some(mode) = mode else {
                let _ = shot(&screenshot_after);
                return Err(format!(
                    "{} still says mode = {:?} after Alt+R, Alt+A (see {})",
                    settings.display(),
                    mode_in_file(),
                    screenshot_after.display()
                ));
            };
            stamp(&format!("Apply saved the file: mode = \"{mode}\" (was \"mmcss\")"));

            // The WASAPI backend (first entry) and the null sink as its output
            // (the last entry: Windows default, Off, then the render endpoints
            // sorted by name: Wine's "PulseAudio", then the null sink), then
            // Apply. Each key is idempotent: retries repeat them all.
            let wasapi_in_file = || {
                (in_file("driver", "backend"), in_file("wasapi", "output"))
            };
            let want = (Some("wasapi".to_owned()), Some(sink_id.clone()));
            let mut chosen = false;
            for _ in 0..3 {
                focus()?;
                for key in ["alt+b", "Home", "alt+o", "End", "alt+a"] {
                    xdo(&["key", "--clearmodifiers", key], Duration::from_secs(5))?;
                }
                let changed_by = Instant::now() + Duration::from_secs(5);
                while Instant::now() < changed_by && !chosen {
                    chosen = wasapi_in_file() == want;
                    std::thread::sleep(Duration::from_millis(100));
                }
                if chosen {
                    break;
                }
                stamp(&format!(
                    "the file says (backend, output) = {:?} after Alt+B, Home, Alt+O, End, Alt+A; again",
                    wasapi_in_file()
                ));
            }
            shot(&screenshot_after)?;
            if !chosen {
                return Err(format!(
                    "{} says (backend, output) = {:?} after choosing WASAPI and {NULL_SINK} \
                     with the keyboard; expected {want:?} (see {})",
                    settings.display(),
                    wasapi_in_file(),
                    screenshot_after.display()
                ));
            }
            stamp(&format!(
                "Apply saved the file: backend = \"wasapi\", output = \"{sink_id}\" ({NULL_SINK})"
            ));
            // The untouched "Convert other sample rates" box saved the file's value.
            let convert = in_file("wasapi", "convert_rate");
            if convert.as_deref() != Some("false") {
                return Err(format!(
                    "{} says wasapi.convert_rate = {convert:?} after Apply; the file had false \
                     and the box was not touched",
                    settings.display()
                ));
            }

            // Close it (Esc, else Alt+C) while the host streams on.
            let _ = focus();
            xdo(&["key", "Escape"], Duration::from_secs(5))?;
            let gone_by = Instant::now() + Duration::from_secs(10);
            let mut tried_close = false;
            while !windows().is_empty() {
                if Instant::now() > gone_by {
                    if tried_close {
                        return Err("the settings window did not close (Esc, Alt+C)".to_owned());
                    }
                    tried_close = true;
                    let _ = focus();
                    xdo(&["key", "--clearmodifiers", "alt+c"], Duration::from_secs(5))?;
                }
                std::thread::sleep(Duration::from_millis(100));
            }
            stamp("the settings window closed");
            if let Some(mut pipe) = stdin.take() {
                use std::io::Write;
                writeln!(pipe, "closed (the window is gone)")
                    .map_err(|e| format!("could not write to panel_host: {e}"))?;
            }
            let limit = Duration::from_secs(RESET_WAIT_S + 60);
            let status = wait_with_limit(&mut host_proc.0, limit)
                .map_err(|e| e.to_string())?
                .ok_or(format!("panel_host did not finish within {} s", limit.as_secs()))?;
            stamp(&format!("panel_host exited ({status})"));
            drop(xvfb);
            if status.success() {
                Ok(())
            } else {
                Err(format!(
                    "panel_host failed ({status}); its last lines above say why (screenshots: {}, {})",
                    screenshot.display(),
                    screenshot_after.display()
                ))
            }
        },
    )
}
