//! The driver's log: `tenuto.log` next to the settings file, written by a
//! normal thread, rotated at 1 MiB (three old files kept).
//!
//! The driver thread never writes it: it only pushes fixed-size events into
//! its wait-free ring (`tenuto_engine::stats::ScheduleEvent`) and updates
//! atomics. Four times a second this thread collects them and writes what
//! happened: the driver object's creation (host, settings problems), each
//! start (with the scheduling in effect and why) and stop (with the
//! period counts), late periods with their likely cause, demotions,
//! priority changes, and streaming errors. At `debug` level it also writes
//! the IASIO call trace ([`tenuto_driver::trace`]): the calling threads
//! only queue fixed-size records; this thread formats them.

use std::fmt::Write as _;
use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, RecvTimeoutError};
use std::sync::{Arc, Weak};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use tenuto_driver::trace::Trace;
use tenuto_engine::shared::Shared;
use tenuto_engine::stats::{EventKind, LateCause, ScheduleEvent};
use tenuto_settings::LogLevel;

/// Rotate when the log reaches this size.
pub const MAX_BYTES: u64 = 1 << 20;
/// Rotate at this size at `debug` level: the call trace writes a line per
/// call (up to ~3000 lines a second at 32 frames), and the files should
/// still reach back to the start of a stream for a while.
pub const DEBUG_MAX_BYTES: u64 = 16 << 20;
/// Old logs kept (`tenuto.1.log` … `tenuto.3.log`).
pub const KEEP: usize = 3;
const POLL: Duration = Duration::from_millis(250);
/// Queued lines written per poll at most: a flood of lines cannot keep the log
/// thread, or the last `Release` that joins it, busy. Once the logger is dropped,
/// lines still queued after one more such batch are not written.
const LINES_PER_POLL: usize = 256;

/// A rotating log file.
pub struct LogFile {
    path: PathBuf,
    file: Option<File>,
    max_bytes: u64,
}

fn timestamp() -> String {
    let d = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    let secs = d.as_secs();
    let (h, m, s) = ((secs / 3600) % 24, (secs / 60) % 60, secs % 60);
    format!("{h:02}:{m:02}:{s:02}.{:03} UTC", d.subsec_millis())
}

impl LogFile {
    /// Opens (appending) `path`, rotating at `max_bytes`.
    pub fn open(path: &Path, max_bytes: u64) -> Self {
        if let Some(dir) = path.parent() {
            let _ = std::fs::create_dir_all(dir);
        }
        let file = OpenOptions::new().create(true).append(true).open(path).ok();
        Self {
            path: path.to_path_buf(),
            file,
            max_bytes,
        }
    }

    fn rotated(&self, n: usize) -> PathBuf {
        let stem = self
            .path
            .file_stem()
            .map_or("tenuto".into(), |s| s.to_string_lossy().into_owned());
        self.path.with_file_name(format!("{stem}.{n}.log"))
    }

    fn rotate_if_full(&mut self) {
        let len = std::fs::metadata(&self.path).map_or(0, |m| m.len());
        if len < self.max_bytes {
            return;
        }
        self.file = None;
        for n in (1..KEEP).rev() {
            let _ = std::fs::rename(self.rotated(n), self.rotated(n + 1));
        }
        let _ = std::fs::rename(&self.path, self.rotated(1));
        self.file = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.path)
            .ok();
    }

    /// Writes one line with a time stamp and the level.
    pub fn line(&mut self, level: &str, text: &str) {
        self.rotate_if_full();
        if let Some(f) = self.file.as_mut() {
            let _ = writeln!(
                f,
                "{} {level:<5} [pid {}] {text}",
                timestamp(),
                std::process::id()
            );
        }
    }
}

fn cause_text(cause: LateCause) -> &'static str {
    match cause {
        LateCause::HostOverrun => "the host's callback took longer than the period (host overrun)",
        LateCause::Demotion => "the thread had been demoted by the OS (MMCSS exhausted / real-time class lost)",
        LateCause::Contention => {
            "the thread woke late at its own priority (contention: DPC/ISR latency or other threads)"
        }
        LateCause::Unknown => "no priority probe for this policy",
    }
}

/// A first period later than this is explained as a device waking up, ms.
const SLOW_FIRST_PERIOD_MS: u32 = 100;

fn describe(event: &ScheduleEvent, rate: f64) -> (&'static str, String) {
    let prio = event
        .priority
        .map_or(String::new(), |p| format!(" (priority {p})"));
    match event.kind {
        EventKind::Late(cause) => (
            "warn",
            format!("period {} late: {}{prio}", event.index, cause_text(cause)),
        ),
        EventKind::Demoted => (
            "warn",
            format!(
                "period {}: the driver thread was demoted{prio}",
                event.index
            ),
        ),
        EventKind::Restored => (
            "info",
            format!(
                "period {}: the driver thread is back at its priority{prio}",
                event.index
            ),
        ),
        EventKind::DeviceGap {
            output_underruns,
            input_overruns,
            resyncs,
            stalls,
            stall_lost_ms,
            check_gap_ms,
        } => ("warn", {
            let mut what = Vec::new();
            if output_underruns > 0 {
                what.push(format!(
                    "{output_underruns} output underrun(s) (the device ran out of audio to play: \
                     a gap was heard)"
                ));
            }
            if input_overruns > 0 {
                what.push(format!(
                    "{input_overruns} input overrun(s) (recorded audio was lost: it was read too late)"
                ));
            }
            if resyncs > 0 {
                what.push(format!(
                    "{resyncs} resync(s) (the stream fell behind or the output queue grew past \
                     its plan, and it was put back on the device's clock: a jump was heard)"
                ));
            }
            if stalls > 0 {
                let whose = if u64::from(check_gap_ms) * 2 < u64::from(stall_lost_ms) {
                    format!(
                        "the driver thread looked at the device at least every {check_gap_ms} ms \
                         meanwhile, so the loss is below the driver (Windows: the audio engine or \
                         the device's driver; Wine: winepulse or PulseAudio)"
                    )
                } else {
                    format!(
                        "the driver thread went {check_gap_ms} ms without looking at the device: \
                         it was held back (not scheduled), and the device did not keep the audio \
                         meanwhile"
                    )
                };
                what.push(format!(
                    "{stalls} device stall(s): {stall_lost_ms} ms of the stream never came from \
                     the device, unflagged; {whose}. The ASIO time follows the device's new \
                     timeline and the sample position carries on"
                ));
            }
            format!("period {}: {}", event.index, what.join(", "))
        }),
        EventKind::FirstPeriod {
            after_ms,
            input_delay_frames,
            output_delay_frames,
            spread,
        } => ("info", {
            let mut text = if after_ms >= SLOW_FIRST_PERIOD_MS {
                format!(
                    "the device took {after_ms} ms to deliver its first period (it was waking \
                     up: leaving power save, or the audio service starting); the first buffer \
                     switch waited for it, so the host's time and positions start with real \
                     audio"
                )
            } else {
                format!("first period {after_ms} ms after the device started")
            };
            if let Some(frames) = input_delay_frames {
                let _ = write!(
                    text,
                    "; captured audio waits {frames} frames ({:.2} ms) in the audio stack \
                     before the driver can read it: the input latency reported includes it",
                    f64::from(frames) * 1e3 / rate.max(1.0)
                );
            }
            if let Some(frames) = output_delay_frames.filter(|&f| f > 0) {
                let _ = write!(
                    text,
                    "; output started {frames} frames ({:.2} ms) after the first captured \
                     packet and runs that much behind: the output latency reported includes it",
                    f64::from(frames) * 1e3 / rate.max(1.0)
                );
            }
            if spread.input_unknown {
                text.push_str(
                    "; how long captured audio waits in the audio stack could not be measured \
                     (its first packets came more than a period after they were recorded: a device \
                     waking up, or a stack that ran late): the \
                     input latency reported leaves it out, so the round trip is longer than \
                     reported by as long as the stack holds captured packets (under Wine, up \
                     to one 10-ms capture period)",
                );
            }
            for (side, frames, effect) in [
                (
                    "input",
                    spread.input_frames,
                    "captured audio may wait up to that much less than reported",
                ),
                (
                    "output",
                    spread.output_frames,
                    "the output may run up to that much later than reported",
                ),
            ] {
                if frames > 0 {
                    let _ = write!(
                        text,
                        "; the call that started the {side} took {frames} frames ({:.2} ms): \
                         {effect}",
                        f64::from(frames) * 1e3 / rate.max(1.0)
                    );
                }
            }
            text
        }),
        EventKind::PriorityChanged { from } => (
            "info",
            format!(
                "period {}: the driver thread's priority changed from {from}{prio} \
                 (not a demotion; typically the host set it — respected)",
                event.index
            ),
        ),
    }
}

fn enabled(level: LogLevel, line: &str) -> bool {
    let rank = |l: &str| match l {
        "error" => 0,
        "warn" => 1,
        "info" => 2,
        _ => 3,
    };
    rank(line) <= rank(level.as_str())
}

/// What the log thread is told.
enum Msg {
    /// A line from another part of the driver (a device change, a note).
    Line(&'static str, String),
    /// Write the last line and end (senders of lines may outlive the logger, so the
    /// channel closing cannot be the signal).
    Stop,
}

/// Hands lines to a [`Logger`] from any thread (not the driver thread: it
/// allocates). Lines sent after the logger stopped are dropped.
#[derive(Clone)]
pub struct LineSender(mpsc::Sender<Msg>);

impl LineSender {
    /// Queues `text` at `level` ("error", "warn", "info", "debug").
    pub fn line(&self, level: &'static str, text: String) {
        let _ = self.0.send(Msg::Line(level, text));
    }
}

/// The log thread of one driver object; dropping it writes a last line,
/// stops and joins the thread.
pub struct Logger {
    /// Set before `Msg::Stop` is sent: the thread stops after its current batch
    /// even when `Msg::Stop` is queued behind a backlog.
    stopping: Arc<AtomicBool>,
    stop: Option<mpsc::Sender<Msg>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Logger {
    /// Starts logging for the driver whose status is `shared`. `header`
    /// lines are written first (creation, host, settings problems). With a
    /// `trace` (at `debug` level), its records are written as `debug` lines.
    pub fn start(
        path: PathBuf,
        level: LogLevel,
        header: Vec<(&'static str, String)>,
        shared: Weak<Shared>,
        trace: Option<Arc<Trace>>,
    ) -> Option<Self> {
        let max_bytes = if level == LogLevel::Debug {
            DEBUG_MAX_BYTES
        } else {
            MAX_BYTES
        };
        Self::start_with_limit(path, level, header, shared, trace, max_bytes)
    }

    /// As [`Logger::start`], rotating at `max_bytes` (tests use a small one).
    pub fn start_with_limit(
        path: PathBuf,
        level: LogLevel,
        header: Vec<(&'static str, String)>,
        shared: Weak<Shared>,
        trace: Option<Arc<Trace>>,
        max_bytes: u64,
    ) -> Option<Self> {
        let (stop, stopped) = mpsc::channel::<Msg>();
        let stopping = Arc::new(AtomicBool::new(false));
        let stop_seen = Arc::clone(&stopping);
        let thread = std::thread::Builder::new()
            .name("tenuto-log".to_owned())
            .spawn(move || {
                let mut log = LogFile::open(&path, max_bytes);
                let write = |log: &mut LogFile, lvl: &str, text: &str| {
                    if enabled(level, lvl) {
                        log.line(lvl, text);
                    }
                };
                for (lvl, text) in &header {
                    write(&mut log, lvl, text);
                }
                let mut seq = 0u64;
                let mut streaming = false;
                let mut seen_streams = 0u64;
                let mut seen_failures = 0u64;
                let mut seen_dropped = 0u64;
                let mut events = Vec::new();
                loop {
                    let last = match stopped.recv_timeout(POLL) {
                        Ok(Msg::Line(lvl, text)) => {
                            write(&mut log, lvl, &text);
                            // More lines may be waiting (a batch per poll); the status is
                            // read below anyway.
                            let mut stop = false;
                            for _ in 0..LINES_PER_POLL {
                                match stopped.try_recv() {
                                    Ok(Msg::Line(lvl, text)) => write(&mut log, lvl, &text),
                                    Ok(Msg::Stop) => {
                                        stop = true;
                                        break;
                                    }
                                    Err(_) => break,
                                }
                            }
                            stop || stop_seen.load(Ordering::Acquire)
                        }
                        Err(RecvTimeoutError::Timeout) => false,
                        Ok(Msg::Stop) | Err(RecvTimeoutError::Disconnected) => true,
                    };
                    if let Some(trace) = &trace {
                        // At most one queue's worth per poll: callers faster than the
                        // file cannot keep this thread here.
                        for _ in 0..trace.capacity() {
                            let Some(record) = trace.pop() else { break };
                            write(&mut log, "debug", &format!("IASIO {record}"));
                        }
                        let dropped = trace.dropped();
                        if dropped != seen_dropped {
                            write(
                                &mut log,
                                "warn",
                                &format!(
                                    "{} IASIO trace records dropped: the host called faster                                      than the log could keep up (queue of {})",
                                    dropped - seen_dropped,
                                    trace.capacity()
                                ),
                            );
                            seen_dropped = dropped;
                        }
                    }
                    let Some(shared) = shared.upgrade() else {
                        write(&mut log, "info", "driver object released");
                        return;
                    };
                    let now = shared.is_streaming();
                    // A stream shorter than the poll interval is seen by its count alone.
                    let started = shared.streams_started();
                    let began = started != seen_streams;
                    seen_streams = started;
                    if began {
                        write(
                            &mut log,
                            "info",
                            &format!(
                                "streaming started at {} Hz; scheduling: {}",
                                shared.sample_rate(),
                                shared.policy_description()
                            ),
                        );
                    }
                    events.clear();
                    let (newest, missed) = shared.events_after(seq, &mut events);
                    seq = newest;
                    if missed > 0 {
                        write(
                            &mut log,
                            "warn",
                            &format!("{missed} scheduling events came too fast to log"),
                        );
                    }
                    for e in &events {
                        let (lvl, text) = describe(e, shared.sample_rate());
                        write(&mut log, lvl, &text);
                    }
                    let failures = shared.start_failures();
                    if failures != seen_failures {
                        seen_failures = failures;
                        if let (Some(e), Some(text)) =
                            (shared.stream_error(), shared.stream_error_text())
                        {
                            write(
                                &mut log,
                                "error",
                                &format!("start() failed: {text}; {}", e.advice()),
                            );
                        }
                    } else if let (Some(e), Some(text)) =
                        (shared.stream_error(), shared.stream_error_text())
                    {
                        if streaming || now || began {
                            write(
                                &mut log,
                                "error",
                                &format!("streaming stopped: {text}; {}", e.advice()),
                            );
                        }
                    }
                    if (streaming || began) && !now {
                        let s = shared.counters.snapshot();
                        let mut causes = String::new();
                        for c in LateCause::ALL {
                            if s.late(c) > 0 {
                                let _ = write!(causes, "; {} {}", s.late(c), c.name());
                            }
                        }
                        write(
                            &mut log,
                            "info",
                            &format!(
                                "streaming stopped: {} periods, {} late{causes}, {} host overruns, \
                                 {} demotions, worst wake-up {} µs; device: {} output underruns, \
                                 {} input overruns, {} resyncs, {} clock slips, {} device stalls \
                                 ({} ms lost)",
                                s.periods,
                                s.late_periods,
                                s.host_overruns,
                                s.demotions,
                                s.max_wake_late_ns / 1000,
                                s.output_underruns,
                                s.input_overruns,
                                s.resyncs,
                                s.clock_slips,
                                s.device_stalls,
                                s.device_stall_lost_us / 1000
                            ),
                        );
                    }
                    streaming = now;
                    drop(shared);
                    if last {
                        if let Ok(Msg::Line(..)) = stopped.try_recv() {
                            write(
                                &mut log,
                                "warn",
                                "more lines were queued when the driver object was released; \
                                 they were not written",
                            );
                        }
                        write(&mut log, "info", "driver object released");
                        return;
                    }
                }
            })
            .ok()?;
        Some(Self {
            stopping,
            stop: Some(stop),
            thread: Some(thread),
        })
    }
}

impl Logger {
    /// A sender for extra lines.
    pub fn sender(&self) -> Option<LineSender> {
        self.stop.as_ref().map(|s| LineSender(s.clone()))
    }
}

impl Drop for Logger {
    fn drop(&mut self) {
        self.stopping.store(true, Ordering::Release);
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(Msg::Stop);
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}
