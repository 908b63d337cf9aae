//! The harness's private PulseAudio (`tools/pulse`): a null sink and its
//! monitor, which Wine's winepulse offers as WASAPI endpoints, and the
//! settings file that makes the driver stream from the one to the other.

use std::path::PathBuf;
use std::process::{Command, Stdio};

use crate::project::{root, target_dir};

/// Starts the harness's PulseAudio and exports its variables to the
/// commands that follow (`start.sh` prints `export NAME=VALUE` lines).
pub fn start_pulse() -> Result<(), String> {
    let script = root().join("tools/pulse/start.sh");
    let out = Command::new("bash")
        .arg(&script)
        .stdin(Stdio::null())
        .stderr(Stdio::inherit())
        .output()
        .map_err(|e| format!("could not run {}: {e}", script.display()))?;
    if !out.status.success() {
        return Err(format!(
            "{} failed ({}); its log is target/pulse/daemon.log",
            script.display(),
            out.status
        ));
    }
    for line in String::from_utf8_lossy(&out.stdout).lines() {
        if let Some((name, value)) = line.strip_prefix("export ").and_then(|l| l.split_once('=')) {
            let value = value.trim_matches(|c| c == '\'' || c == '"');
            std::env::set_var(name, value);
        }
    }
    Ok(())
}

/// A settings file that makes the driver stream through WASAPI from the harness's null sink
/// to its monitor: what is played comes back on the input (a loopback cable in software).
pub fn loopback_settings(name: &str) -> Result<PathBuf, String> {
    let dir = target_dir().join(name);
    std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let path = dir.join("tenuto.toml");
    std::fs::write(
        &path,
        "# Written by cargo xtask: the harness's PulseAudio null sink and its monitor.\n\
         [driver]\nbackend = \"wasapi\"\n\n\
         [wasapi]\noutput = \"Tenuto Null Output\"\ninput = \"Monitor of Tenuto Null Output\"\n\
         mode = \"shared\"\n",
    )
    .map_err(|e| format!("{}: {e}", path.display()))?;
    Ok(path)
}

pub fn stop_pulse() {
    let _ = Command::new("bash")
        .arg(root().join("tools/pulse/stop.sh"))
        .stdin(Stdio::null())
        .status();
}
