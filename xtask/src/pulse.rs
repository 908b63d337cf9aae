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
            "{} failed ({}); its log is {}",
            script.display(),
            out.status,
            log_path().display()
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

/// The harness's PulseAudio log (`tools/pulse/start.sh` writes it at debug level).
pub fn log_path() -> PathBuf {
    match std::env::var_os("TENUTO_PULSE_DIR") {
        Some(d) if !d.is_empty() => PathBuf::from(d),
        _ => target_dir().join("pulse"),
    }
    .join("pulseaudio.log")
}

/// The log's length now, to count what a run adds after it.
pub fn log_len() -> u64 {
    std::fs::metadata(log_path()).map_or(0, |m| m.len())
}

/// Underruns PulseAudio logged of clients' streams since `offset` (see [`log_len`]), the
/// harness's keep-alive (`/dev/zero`, which underruns whenever it likes) left out: the
/// dropouts below WASAPI, as the server saw them.
pub fn underruns_since(offset: u64) -> u64 {
    let Ok(bytes) = std::fs::read(log_path()) else {
        return 0;
    };
    let new = bytes
        .get(usize::try_from(offset).unwrap_or(0)..)
        .unwrap_or(&[]);
    count_underruns(&String::from_utf8_lossy(new))
}

/// Underruns closer together than this are one dropout, s: PulseAudio logs an underrun each
/// time the sink finds the stream empty, every 2-ms block of a 10-ms gap.
const SAME_DROPOUT_S: f64 = 0.05;

fn count_underruns(log: &str) -> u64 {
    let mut count = 0;
    let mut last: Option<f64> = None;
    for line in log
        .lines()
        .filter(|l| l.contains("Implicit underrun of '") && !l.contains("'/dev/zero'"))
    {
        // `--log-time=1` puts the time since the daemon started first: "(   2.259|   0.001)".
        let t = line
            .strip_prefix('(')
            .and_then(|l| l.split_once('|'))
            .and_then(|(t, _)| t.trim().parse::<f64>().ok());
        match (t, last) {
            (Some(t), Some(before)) if t - before < SAME_DROPOUT_S => {}
            _ => count += 1,
        }
        last = t;
    }
    count
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn underruns_of_clients_are_counted_and_the_keep_alive_s_are_not() {
        let log = "\
(   2.014|   0.002) D: [null-sink] protocol-native.c: Implicit underrun of '/dev/zero'
(   2.016|   0.002) D: [null-sink] protocol-native.c: Requesting rewind due to end of underrun.
(   2.259|   0.001) D: [null-sink] protocol-native.c: Implicit underrun of 'audio stream #5'
(   2.636|   0.001) D: [null-sink] protocol-native.c: Implicit underrun of 'audio stream #5'
(   2.638|   0.001) D: [null-sink] protocol-native.c: Implicit underrun of 'audio stream #5'
(   2.646|   0.001) D: [null-sink] protocol-native.c: Implicit underrun of 'audio stream #5'
";
        // The last three are one gap.
        assert_eq!(count_underruns(log), 2);
        assert_eq!(count_underruns(""), 0);
    }
}
