//! What `tenuto play` and `tenuto loopback` share: the live progress line
//! on stderr and the report as JSON with the in-process driver's thread
//! counters.

use std::io::{IsTerminal, Write};
use std::sync::Arc;
use std::time::Duration;

use tenuto_engine::shared::Shared;

/// The live line on stderr: rewritten in place on a terminal, one line
/// every 5 s otherwise.
pub(crate) struct ProgressLine {
    tty: bool,
    last: Option<Duration>,
    /// The latest line not yet printed (non-terminal output).
    pending: Option<String>,
}

impl ProgressLine {
    pub(crate) fn new() -> Self {
        Self {
            tty: std::io::stderr().is_terminal(),
            last: None,
            pending: None,
        }
    }

    pub(crate) fn show(&mut self, elapsed: Duration, line: &str) {
        if self.tty {
            eprint!("\r{line}\x1b[K");
            let _ = std::io::stderr().flush();
        } else if self
            .last
            .is_none_or(|l| elapsed >= l + Duration::from_secs(5))
        {
            eprintln!("{line}");
            self.last = Some(elapsed);
            self.pending = None;
        } else {
            self.pending = Some(line.to_owned());
        }
    }

    /// Ends the line on a terminal; elsewhere prints the final figures.
    pub(crate) fn end(&mut self) {
        if self.tty {
            eprintln!();
        } else if let Some(line) = self.pending.take() {
            eprintln!("{line}");
        }
    }
}

/// A peak as "-12.0" dBFS, or "-inf" for digital silence.
pub(crate) fn dbfs(peak: f64) -> String {
    if peak > 0.0 {
        format!("{:.1}", 20.0 * peak.log10())
    } else {
        "-inf".to_owned()
    }
}

/// " late N" from the in-process driver's own counters.
pub(crate) fn late(engine: Option<&Arc<Shared>>) -> String {
    engine.map_or_else(String::new, |e| {
        let s = e.counters.snapshot();
        format!("  late {:>3}", s.late_periods)
    })
}

/// Prints `report` as JSON, with the in-process driver's thread counters added.
pub(crate) fn print_json<T: serde::Serialize>(report: &T, engine: Option<&Arc<Shared>>) {
    let mut v = serde_json::to_value(report).unwrap_or_default();
    if let (Some(e), Some(obj)) = (engine, v.as_object_mut()) {
        let s = e.counters.snapshot();
        obj.insert("late_periods".into(), s.late_periods.into());
        obj.insert("host_overruns".into(), s.host_overruns.into());
        obj.insert("output_underruns".into(), s.output_underruns.into());
        obj.insert(
            "max_wake_late_us".into(),
            (s.max_wake_late_ns as f64 / 1e3).into(),
        );
    }
    println!("{}", serde_json::to_string_pretty(&v).unwrap_or_default());
}
