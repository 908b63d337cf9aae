//! The end-to-end latency sweep under Wine: `tenuto loopback --driver Tenuto` through the
//! harness's null sink and back from its monitor, once per configuration, each run judged on
//! what machine noise cannot fake.
//!
//! * **Gates** (every run): the test signal came back at unity gain (±0.5 dB); the round trip
//!   was within ±1 ms ([`TOLERANCE_MS`]) of what `getLatencies`
//!   reported while streaming, for at least one
//!   stretch of the run between lag changes; the host saw no sample-position discontinuity
//!   (the driver's own clock). One run, no retry.
//! * **What the driver says of its own start figures** ([`StartNote`], from its log line at
//!   the first period) bounds the round-trip gate: the late side is widened by how long the
//!   call that started the output took and the early side by the capture's (each device
//!   clock began somewhere inside its call; a call that lost the CPU takes milliseconds).
//!   Both are printed with the run.
//! * **Runs noise may have moved are not judged on the round trip** (still on gain and
//!   discontinuities; [`Report::round_trip_judged`]): the driver said it could not measure
//!   its capture delay; no stretch was seen from the first returned frame (the loopback
//!   looks back from its first lock, so a dropout before the lock no longer hides the round
//!   trip the stream began with; printed as `seen`, `found` or `unseen`); or the harness's
//!   PulseAudio logged more dropouts than the returned signal showed (one before the signal
//!   reached the sink). At least [`MIN_JUDGED`] runs must be judged.
//! * **Figures** (printed, not gated): dropouts and lag changes in the returned signal and the
//!   hypervisor's steal during the run. On this harness's 2-core VM, winepulse's timer thread
//!   sometimes refills PulseAudio too late and the null sink plays a block of silence, below
//!   anything a WASAPI client can see; that is the machine's noise, not the driver's. Such a
//!   dropout moves the round trip for the rest of the stream, so the gate asks for one
//!   stretch that matches: a report that is wrong matches no stretch, and noise does not move
//!   a round trip onto the reported figure to the millisecond.
//! * **A device that loses time** ([`suspend_run`]): the null sink is suspended for 100 ms in
//!   mid-stream; the host must be told (`kAsioResyncRequest` or `kAsioResetRequest`).
//! * **The sink's own rate is bit-transparent**: every sweep run is at the null sink's 48 kHz,
//!   so the full-band test signal must come back sample for sample (`converted` false: the
//!   loopback did not have to fall back to its band-limited signal).
//! * **Converted rates** ([`converted_runs`]): 44.1 and 96 kHz through the 48 kHz sink, which
//!   the driver resamples both ways. Gated like the sweep (round trip within
//!   [`TOLERANCE_MS`], no discontinuity), and on what a converter must keep: the loopback
//!   measured the path as converting, with the band-limited signal back at unity gain within
//!   ±[`CONVERTED_GAIN_TOLERANCE_DB`] and an error RMS at or below
//!   [`CONVERTED_MAX_ERROR_DB`] relative to the signal delayed by the measured fractional lag.

use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::project::{target_dir, DRIVER_NAME};
use crate::wine::{kill_wineserver, windows_path, wine_cmd};

/// Largest accepted |measured − reported| round trip with events (the default), ms: the
/// issue's ±1 ms. The stream measures what its plan cannot know — how long capture audio
/// waits below WASAPI, and how late the render side started against the first packet — and
/// reports both, so a start's phase no longer moves the round trip away from the report
/// (the stream simulations prove it to the frame; the Wine figures are in
/// docs/MEASUREMENTS.md). What remains is the measurement's own scatter (tenths of a ms).
pub const TOLERANCE_MS: f64 = 1.0;

/// Sweep runs that must be judged on the round trip ([`Report::round_trip_judged`]) for the
/// step to pass: half of them.
const MIN_JUDGED: u32 = 8;

/// The same with `wasapi.wake_up = "polling"`, ms: polling's lateness at the render start
/// (up to a polling interval) is measured like the events' and reported.
pub const POLLING_TOLERANCE_MS: f64 = 1.0;

/// Largest accepted |gain| from output to input, dB.
const GAIN_TOLERANCE_DB: f64 = 0.5;

/// Largest accepted |gain| through the resamplers, dB: their passband ripple is under
/// 0.001 dB (docs/RESAMPLER.md) and winepulse mixes a single stream at unity.
pub const CONVERTED_GAIN_TOLERANCE_DB: f64 = 0.1;

/// Largest accepted error RMS through the resamplers, dB relative to the signal: the measure
/// crate's bound (`tenuto_measure::loopback::MAX_CONVERTED_ERROR_DB`). The resamplers are a
/// −100 dB design and a simulated round trip measures −119 dB at 44.1 kHz; one frame
/// off, a wrong rate or a dropped frame inside the compared stretch lands above −40 dB.
pub const CONVERTED_MAX_ERROR_DB: f64 = -60.0;

/// Largest accepted |measured − reported| round trip of each path through several devices
/// as one ([`aggregate_run`]), ms. Three times the project's ±1 ms: without positions
/// (winepulse) the followers' levels come from when packets and pulls are seen, and a capture
/// side's level, so reckoned, wanders by about ±1.25 ms with the ratio held at 1 (figures in
/// docs/MEASUREMENTS.md). A report one device period or one buffer off still fails it.
pub const AGGREGATE_TOLERANCE_MS: f64 = 3.0;

/// Largest accepted difference between the two paths' round trips, ms. Each path's capture
/// side wanders on its own (about ±1.25 ms each, above), so the two may sit up to 2.5 ms
/// apart with both right; both within ±[`AGGREGATE_TOLERANCE_MS`] of the report already
/// bound them to 6 ms. Figures in docs/MEASUREMENTS.md.
pub const AGGREGATE_APART_MS: f64 = 4.0;

/// When the aggregate's round trips are judged, s into the stream: after the alignment (3 s)
/// and the trim (4.5 s) that set them, before the later stretches that dropouts below WASAPI
/// make (each moves a path's round trip for the rest of the stream; they are printed).
const AGGREGATE_SETTLED_S: f64 = 5.0;

/// Seconds the aggregate streams.
const AGGREGATE_SECONDS: &str = "60";

/// The second null sink [`aggregate_run`] adds to the harness's PulseAudio.
const SECOND_SINK: &str = "tenuto_sink2";
/// Its description: the endpoint's name under Wine.
const SECOND_SINK_NAME: &str = "Tenuto_Null_Output_2";

/// The rates [`converted_runs`] streams at (the null sink runs at 48 kHz).
pub const CONVERTED_RATES: [u32; 2] = [44_100, 96_000];

/// Seconds streamed per run: long enough to lock (~0.3 s) and hold the lag, short enough
/// for 16 runs to take about two minutes.
const RUN_SECONDS: &str = "4";

/// One configuration of the sweep.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Config {
    /// ASIO buffer size, frames.
    pub buffer: u32,
    /// `driver.sample_type`.
    pub sample_type: &'static str,
    /// `wasapi.wake_up`.
    pub wake_up: &'static str,
}

/// Every buffer size with events and with polling (the default sample type), then every
/// other sample type at 128 frames.
pub fn sweep() -> Vec<Config> {
    let sizes = [32, 64, 128, 256, 512, 1024];
    let mut configs = Vec::new();
    for wake_up in ["events", "polling"] {
        for buffer in sizes {
            configs.push(Config {
                buffer,
                sample_type: "auto",
                wake_up,
            });
        }
    }
    for sample_type in ["int16", "int24", "int32", "float64"] {
        configs.push(Config {
            buffer: 128,
            sample_type,
            wake_up: "events",
        });
    }
    configs
}

impl Config {
    /// The round-trip gate for this configuration, ms.
    pub fn tolerance_ms(&self) -> f64 {
        if self.wake_up == "polling" {
            POLLING_TOLERANCE_MS
        } else {
            TOLERANCE_MS
        }
    }
}

impl std::fmt::Display for Config {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{:>4} frames, {:<7} {}",
            self.buffer, self.sample_type, self.wake_up
        )
    }
}

/// The settings file of one configuration: the null sink and its monitor.
fn settings(config: &Config) -> Result<PathBuf, String> {
    let dir = target_dir().join("wine-loopback");
    std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let path = dir.join(format!("{}-{}.toml", config.sample_type, config.wake_up));
    std::fs::write(
        &path,
        format!(
            "# Written by cargo xtask: the harness's PulseAudio null sink and its monitor.\n\
             [driver]\nbackend = \"wasapi\"\nsample_type = \"{}\"\n\n\
             [wasapi]\noutput = \"Tenuto Null Output\"\ninput = \"Monitor of Tenuto Null \
             Output\"\nmode = \"shared\"\nwake_up = \"{}\"\n",
            config.sample_type, config.wake_up
        ),
    )
    .map_err(|e| format!("{}: {e}", path.display()))?;
    Ok(path)
}

/// What one run of `tenuto loopback --json` measured.
#[derive(Debug, Clone, PartialEq)]
pub struct Report {
    /// Measured round trip (the lag held longest) − reported, ms; `None`: no signal.
    pub difference_ms: Option<f64>,
    /// Every round trip the run held (the first, then one after each lag change) −
    /// reported, ms.
    pub stretches_ms: Vec<f64>,
    /// When each stretch after the first began, s from the start of the analysis (the
    /// first began at 0).
    pub stretch_starts_s: Vec<f64>,
    /// Gain from output to input, dB.
    pub gain_db: Option<f64>,
    /// Dropouts in the returned signal.
    pub glitches: u64,
    /// Times the lag changed.
    pub lag_changes: u64,
    /// Sample-position discontinuities the host saw.
    pub discontinuities: u64,
    /// `kAsioResyncRequest` + `kAsioResetRequest` messages the host received.
    pub host_told: u64,
    /// `kAsioResetRequest` messages alone.
    pub reset_requests: u64,
    /// The full-band signal did not come back sample for sample: the path was measured with
    /// the band-limited signal (it converts the rate).
    pub converted: bool,
    /// Error RMS of the matching samples, dB relative to the signal.
    pub error_rms_db: Option<f64>,
    /// The round trip with its fraction, frames.
    pub fractional_lag_frames: Option<f64>,
    /// The pairs measured in the same stream (`--also`).
    pub also: Vec<Report>,
    /// When the listed dropouts in the returned signal began, s from the start of the
    /// analysis.
    pub glitch_times_s: Vec<f64>,
    /// The first stretch was checked from the frame where the first sent frame came back:
    /// nothing before it went unseen, so no dropout below WASAPI moved it.
    pub first_seen_from_start: bool,
    /// Returned frames before the first lock that its lag did not explain (a change
    /// before the analyser could lock; the stretch before it is the first, if it was found).
    pub unexplained_before_lock: u64,
    /// What the driver's log said of its own start figures ([`StartNote::read`]).
    pub start_note: StartNote,
    /// Dropouts of the driver's stream that the harness's PulseAudio logged during the run
    /// (below WASAPI, as the server saw them; `pulse::underruns_since`).
    pub server_underruns: u64,
}

/// What the driver's log says of the start figures it measured for one stream: the line
/// it writes at the first period.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct StartNote {
    /// The call that started the output took this long, ms: the render clock began
    /// somewhere inside it, so the output may run up to that much later than reported.
    pub output_spread_ms: f64,
    /// The call that started the input took this long, ms: recording began somewhere inside
    /// it, so captured audio may wait up to that much less than reported.
    pub input_spread_ms: f64,
    /// How long captured audio waits below WASAPI could not be measured (the first packets
    /// came more than a period after they were recorded): the report leaves it out.
    pub input_unknown: bool,
}

impl StartNote {
    /// Reads the first-period line of the only stream logged in `dir` ([`run`] clears the
    /// logs there before each run).
    pub fn read(dir: &Path) -> Self {
        let text = std::fs::read(dir.join("tenuto.log"))
            .map(|b| String::from_utf8_lossy(&b).into_owned())
            .unwrap_or_default();
        text.lines()
            .find(|l| l.contains("] first period") || l.contains("to deliver its first period"))
            .map_or_else(Self::default, Self::parse)
    }

    fn parse(line: &str) -> Self {
        let ms_after = |phrase: &str| {
            line.split_once(phrase)
                .and_then(|(_, rest)| rest.split_once(" ms)"))
                .and_then(|(figures, _)| figures.rsplit_once('('))
                .and_then(|(_, ms)| ms.trim().parse().ok())
                .unwrap_or(0.0)
        };
        Self {
            output_spread_ms: ms_after("the call that started the output took "),
            input_spread_ms: ms_after("the call that started the input took "),
            input_unknown: line.contains("waits in the audio stack could not be measured"),
        }
    }
}

impl Report {
    /// Reads the report `tenuto loopback --json` prints.
    pub fn parse(json: &str) -> Option<Self> {
        let v: serde_json::Value = serde_json::from_str(json).ok()?;
        Self::from_value(&v)
    }

    fn from_value(v: &serde_json::Value) -> Option<Self> {
        let count = |key: &str| v.get(key).and_then(serde_json::Value::as_u64);
        let difference_ms = v.get("difference_ms").and_then(serde_json::Value::as_f64);
        let rate = v.get("sample_rate").and_then(serde_json::Value::as_f64);
        let reported = v.get("reported_frames").and_then(serde_json::Value::as_i64);
        let changes = v
            .get("lag_changes")
            .and_then(serde_json::Value::as_array)
            .cloned()
            .unwrap_or_default();
        let lag = |c: &serde_json::Value, key: &str| c.get(key).and_then(serde_json::Value::as_i64);
        let stretches_ms = match (rate, reported) {
            (Some(rate), Some(reported)) if rate > 0.0 && !changes.is_empty() => changes
                .first()
                .and_then(|c| lag(c, "from"))
                .into_iter()
                .chain(changes.iter().filter_map(|c| lag(c, "to")))
                .map(|l| (l - reported) as f64 * 1e3 / rate)
                .collect(),
            _ => difference_ms.into_iter().collect(),
        };
        let stretch_starts_s = match rate {
            Some(rate) if rate > 0.0 => changes
                .iter()
                .filter_map(|c| c.get("at_frame").and_then(serde_json::Value::as_u64))
                .map(|f| f as f64 / rate)
                .collect(),
            _ => Vec::new(),
        };
        Some(Self {
            difference_ms,
            stretches_ms,
            stretch_starts_s,
            gain_db: v.get("gain_db").and_then(serde_json::Value::as_f64),
            glitches: count("glitches")?,
            lag_changes: count("lag_change_count").unwrap_or(0),
            discontinuities: count("discontinuities").unwrap_or(0),
            host_told: count("resync_requests").unwrap_or(0) + count("reset_requests").unwrap_or(0),
            reset_requests: count("reset_requests").unwrap_or(0),
            converted: v
                .get("converted")
                .and_then(serde_json::Value::as_bool)
                .unwrap_or(false),
            error_rms_db: v.get("error_rms_db").and_then(serde_json::Value::as_f64),
            fractional_lag_frames: v
                .get("fractional_lag_frames")
                .and_then(serde_json::Value::as_f64),
            glitch_times_s: v
                .get("glitch_list")
                .and_then(serde_json::Value::as_array)
                .map(|a| {
                    a.iter()
                        .filter_map(|g| g.get("at_seconds").and_then(serde_json::Value::as_f64))
                        .collect()
                })
                .unwrap_or_default(),
            first_seen_from_start: v
                .get("analysis")
                .and_then(|a| a.get("first_lag_from_start"))
                .and_then(serde_json::Value::as_bool)
                .unwrap_or(false),
            unexplained_before_lock: v
                .get("analysis")
                .and_then(|a| a.get("unexplained_before_lock"))
                .and_then(serde_json::Value::as_u64)
                .unwrap_or(0),
            start_note: StartNote::default(),
            server_underruns: 0,
            also: v
                .get("also")
                .and_then(serde_json::Value::as_array)
                .map(|a| a.iter().filter_map(Self::from_value).collect())
                .unwrap_or_default(),
        })
    }

    /// The first dropout before `t` s that is not one of the aggregate's own moves (the
    /// alignment at 3 s and the trim at 4.5 s each move every path once, on purpose).
    pub fn dropout_before(&self, t: f64) -> Option<f64> {
        let planned = |s: f64| (2.9..3.4).contains(&s) || (4.4..4.9).contains(&s);
        self.glitch_times_s
            .iter()
            .copied()
            .find(|&s| s < t && !planned(s))
    }

    /// The round trip held at `t` s into the analysis − reported, ms.
    pub fn at_s(&self, t: f64) -> Option<f64> {
        let n = self.stretch_starts_s.iter().filter(|&&s| s <= t).count();
        self.stretches_ms
            .get(n)
            .or(self.difference_ms.as_ref())
            .copied()
    }

    /// What the first stretch rests on, for the sweep's table: `seen` (checked from the
    /// first returned frame), `found` (a change came before the first lock, and the round
    /// trip the stream began with was found behind it), `unseen` (a change came too soon
    /// after the start to find what came before it).
    pub fn start(&self) -> &'static str {
        match (self.first_seen_from_start, self.unexplained_before_lock) {
            (true, 0) => "seen",
            (true, _) => "found",
            (false, _) => "unseen",
        }
    }

    /// Whether the round trip can be held against the report: not when the driver said it
    /// could not measure its capture delay; not when no stretch is known to be free of
    /// dropouts (`unseen`: one came before the analyser could lock, too soon after the
    /// start to find the round trip before it); not when PulseAudio logged more underruns of
    /// the stream than the returned signal showed (one came before the signal reached the
    /// sink, moving every stretch where no analysis can see it).
    pub fn round_trip_judged(&self) -> bool {
        // A converting path is analysed with the band-limited signal from its switch on,
        // so nothing before it is looked back at: any stretch decides, as before.
        !self.start_note.input_unknown
            && (self.first_seen_from_start || self.converted)
            && self.server_underruns <= self.glitches
    }

    /// [`start`](Self::start) with what the driver said of its start figures.
    pub fn start_column(&self) -> String {
        let mut s = self.start().to_owned();
        if self.server_underruns > 0 {
            s.push_str(&format!(
                ", {} PulseAudio underrun(s)",
                self.server_underruns
            ));
        }
        if self.start_note.input_unknown {
            s.push_str(", capture delay unknown to the driver: round trip not judged");
        } else if self.server_underruns > self.glitches {
            s.push_str(
                ", more than the signal showed (one before it reached the sink): round trip \
                 not judged",
            );
        } else if !self.round_trip_judged() {
            s.push_str(", a dropout before any seen stretch: round trip not judged");
        } else {
            let n = self.start_note;
            if n.input_spread_ms >= 0.05 {
                s.push_str(&format!(", input start call {:.2} ms", n.input_spread_ms));
            }
            if n.output_spread_ms >= 0.05 {
                s.push_str(&format!(", output start call {:.2} ms", n.output_spread_ms));
            }
        }
        s
    }

    /// The stretch whose round trip came closest to the reported one, ms.
    pub fn best_ms(&self) -> Option<f64> {
        self.stretches_ms
            .iter()
            .chain(self.difference_ms.as_ref())
            .copied()
            .min_by(|a, b| a.abs().total_cmp(&b.abs()))
    }

    /// Why a run through several devices as one fails its gates: every pair back at unity
    /// gain; each pair that had no dropout below WASAPI before [`AGGREGATE_SETTLED_S`] with
    /// its round trip then within `tolerance_ms` of the report, and those pairs within
    /// [`AGGREGATE_APART_MS`] of each other; no discontinuity.
    pub fn aggregate_fault(&self, tolerance_ms: f64) -> Option<String> {
        let pairs: Vec<&Report> = std::iter::once(self).chain(&self.also).collect();
        if pairs.len() < 2 {
            return Some("one pair measured; the aggregate has two".to_owned());
        }
        let mut best = Vec::new();
        for (n, p) in pairs.iter().enumerate() {
            let (Some(g), Some(at)) = (p.gain_db, p.at_s(AGGREGATE_SETTLED_S)) else {
                return Some(format!("pair {}: the test signal did not come back", n + 1));
            };
            if g.abs() > GAIN_TOLERANCE_DB {
                return Some(format!(
                    "pair {}: gain {g:+.3} dB, beyond ±{GAIN_TOLERANCE_DB} dB",
                    n + 1
                ));
            }
            // A dropout below WASAPI before then moved this path's round trip by time the
            // driver cannot see (part of it waits in PulseAudio's buffer): the 5-s figure
            // says nothing of the report, and is printed instead (`aggregate_run`).
            if p.dropout_before(AGGREGATE_SETTLED_S).is_some() {
                continue;
            }
            if at.abs() > tolerance_ms {
                return Some(format!(
                    "pair {}: round trip {at:+.3} ms from the reported at {AGGREGATE_SETTLED_S} \
                     s, beyond ±{tolerance_ms} ms",
                    n + 1
                ));
            }
            best.push(at);
        }
        if self.discontinuities > 0 {
            return Some(format!(
                "{} sample-position discontinuities",
                self.discontinuities
            ));
        }
        let lo = best.iter().copied().fold(f64::MAX, f64::min);
        let hi = best.iter().copied().fold(f64::MIN, f64::max);
        (hi - lo > AGGREGATE_APART_MS).then(|| {
            format!(
                "the paths are {:.3} ms apart ({}), more than {AGGREGATE_APART_MS} ms",
                hi - lo,
                best.iter()
                    .map(|b| format!("{b:+.3}"))
                    .collect::<Vec<_>>()
                    .join(", ")
            )
        })
    }

    /// Why a run at the device's rate fails its gates (round trip within `tolerance_ms`, the
    /// full-band signal back sample for sample), if it does.
    pub fn fault(&self, tolerance_ms: f64) -> Option<String> {
        if self.converted && self.difference_ms.is_some() {
            return Some(
                "the full-band test signal did not come back sample for sample at the device's \
                 rate (the loopback fell back to its band-limited signal): the path converts or \
                 filters"
                    .to_owned(),
            );
        }
        self.common_fault(tolerance_ms, GAIN_TOLERANCE_DB)
    }

    /// Why a run at a rate the driver converts fails its gates, if it does: measured as a
    /// converting path, gain within [`CONVERTED_GAIN_TOLERANCE_DB`], error RMS at most
    /// [`CONVERTED_MAX_ERROR_DB`], round trip within `tolerance_ms`.
    pub fn converted_fault(&self, tolerance_ms: f64) -> Option<String> {
        if let Some(f) = self.common_fault(tolerance_ms, CONVERTED_GAIN_TOLERANCE_DB) {
            return Some(f);
        }
        if !self.converted {
            return Some(
                "the full-band test signal came back sample for sample: the driver did not \
                 convert (is the null sink at 48 kHz?)"
                    .to_owned(),
            );
        }
        match self.error_rms_db {
            Some(e) if e <= CONVERTED_MAX_ERROR_DB => None,
            Some(e) => Some(format!(
                "error RMS {e:.1} dB relative to the signal, above {CONVERTED_MAX_ERROR_DB} dB"
            )),
            None => Some("no error RMS in the report".to_owned()),
        }
    }

    fn common_fault(&self, tolerance_ms: f64, gain_tolerance_db: f64) -> Option<String> {
        let (Some(d), Some(g)) = (self.difference_ms, self.gain_db) else {
            return Some("the test signal did not come back".to_owned());
        };
        if g.abs() > gain_tolerance_db {
            return Some(format!("gain {g:+.3} dB, beyond ±{gain_tolerance_db} dB"));
        }
        // The driver's own statement widens the window by what it says it could not time:
        // the call that started its output (the round trip may be longer by it), and the
        // one that started its input (shorter by it).
        let late = tolerance_ms + self.start_note.output_spread_ms;
        let early = tolerance_ms + self.start_note.input_spread_ms;
        if self.round_trip_judged()
            && !self
                .stretches_ms
                .iter()
                .chain(std::iter::once(&d))
                .any(|&s| (-early..=late).contains(&s))
        {
            return Some(format!(
                "round trip {d:+.3} ms from the reported (stretches: {}), none within \
                 −{early:.3} … +{late:.3} ms",
                self.stretches_ms
                    .iter()
                    .map(|s| format!("{s:+.3}"))
                    .collect::<Vec<_>>()
                    .join(", ")
            ));
        }
        if self.discontinuities > 0 {
            return Some(format!(
                "{} sample-position discontinuities",
                self.discontinuities
            ));
        }
        None
    }
}

impl std::fmt::Display for Report {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match (self.difference_ms, self.gain_db) {
            (Some(d), Some(g)) => write!(
                f,
                "round trip {d:+.3} ms from the reported, gain {g:+.2} dB, {} dropout(s), {} \
                 lag change(s)",
                self.glitches, self.lag_changes
            ),
            _ => write!(f, "the test signal was not found"),
        }
    }
}

/// CPU time of this (virtual) machine from `/proc/stat`: (stolen by the hypervisor, all).
fn cpu_times() -> Option<(u64, u64)> {
    let stat = std::fs::read_to_string("/proc/stat").ok()?;
    let line = stat.lines().find(|l| l.starts_with("cpu "))?;
    // user nice system idle iowait irq softirq steal (guest time is inside user).
    let fields: Vec<u64> = line
        .split_whitespace()
        .skip(1)
        .take(8)
        .filter_map(|f| f.parse().ok())
        .collect();
    (fields.len() == 8).then(|| (fields[7], fields.iter().sum()))
}

/// The share of CPU time the hypervisor took between two [`cpu_times`] readings.
fn steal_between(before: Option<(u64, u64)>, after: Option<(u64, u64)>) -> Option<f64> {
    let ((s0, t0), (s1, t1)) = (before?, after?);
    let total = t1.checked_sub(t0).filter(|&t| t > 0)?;
    Some(s1.saturating_sub(s0) as f64 / total as f64)
}

/// Runs `tenuto.exe loopback --json` with `args` under `settings`, meanwhile running
/// `during` (if any) after its delay; returns its report and the steal during the run. The
/// exit status is not looked at: the report says everything, and the gates are ours.
fn run(
    exe: &Path,
    settings: &Path,
    args: &[&str],
    during: Option<(Duration, &dyn Fn())>,
) -> Result<(Option<Report>, Option<f64>), String> {
    let mut full: Vec<&OsStr> = vec![
        exe.as_os_str(),
        OsStr::new("loopback"),
        OsStr::new("--json"),
        OsStr::new("--driver"),
        OsStr::new(DRIVER_NAME),
    ];
    full.extend(args.iter().map(OsStr::new));
    // The driver logs next to its settings: one run's stream alone in that log, so that its
    // first-period line is this run's.
    let dir = settings.parent().unwrap_or(Path::new("."));
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        if entry.file_name().to_string_lossy().ends_with(".log") {
            let _ = std::fs::remove_file(entry.path());
        }
    }
    let pulse_log = crate::pulse::log_len();
    let mut cmd = wine_cmd(&full);
    cmd.env("TENUTO_CONFIG", windows_path(settings))
        .stdin(Stdio::null())
        .stdout(Stdio::piped());
    let before = cpu_times();
    let started = Instant::now();
    let mut child = cmd
        .spawn()
        .map_err(|e| format!("could not start tenuto.exe loopback: {e}"))?;
    let mut done_during = during.is_none();
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break Some(status),
            Ok(None) if started.elapsed() > Duration::from_secs(120) => break None,
            Ok(None) => {}
            Err(e) => return Err(format!("waiting for tenuto.exe loopback: {e}")),
        }
        if let Some((at, action)) = during {
            if !done_during && started.elapsed() >= at {
                action();
                done_during = true;
            }
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let steal = steal_between(before, cpu_times());
    if status.is_none() {
        stop(&mut child);
        return Err("tenuto.exe loopback did not finish within 120 s".to_owned());
    }
    let mut json = String::new();
    if let Some(mut out) = child.stdout.take() {
        use std::io::Read;
        let _ = out.read_to_string(&mut json);
    }
    let report = Report::parse(&json).map(|mut r| {
        r.start_note = StartNote::read(dir);
        r.server_underruns = crate::pulse::underruns_since(pulse_log);
        r
    });
    Ok((report, steal))
}

fn stop(child: &mut Child) {
    let _ = child.kill();
    let _ = child.wait();
    kill_wineserver();
}

/// The sweep: one run per configuration of [`sweep`], every gate required of every run.
pub fn latency_sweep(exe: &Path) -> Result<(), String> {
    let mut faults = Vec::new();
    let mut worst: f64 = 0.0;
    let (mut dropouts, mut runs, mut judged, mut server_underruns) = (0u64, 0u32, 0u32, 0u64);
    eprintln!(
        "    configuration                  measured − reported    (held longest)    gain     dropouts  lag changes  steal    start (the first stretch)"
    );
    for config in sweep() {
        let settings = settings(&config)?;
        let buffer = config.buffer.to_string();
        let (report, steal) = run(
            exe,
            &settings,
            &["--buffer", &buffer, "--seconds", RUN_SECONDS],
            None,
        )?;
        runs += 1;
        let steal = steal.map_or("?".to_owned(), |s| format!("{:.1} %", s * 100.0));
        match report {
            Some(r) => {
                if r.round_trip_judged() {
                    judged += 1;
                    if let Some(d) = r.best_ms() {
                        worst = worst.max(d.abs());
                    }
                }
                dropouts += r.glitches;
                server_underruns += r.server_underruns;
                eprintln!(
                    "    {config}   {:>+9.3} ms   {:>+9.3} ms   {:>+6.2} dB  {:>4}      {:>4}         {steal:<8} {}{}",
                    r.best_ms().unwrap_or(f64::NAN),
                    r.difference_ms.unwrap_or(f64::NAN),
                    r.gain_db.unwrap_or(f64::NAN),
                    r.glitches,
                    r.lag_changes,
                    r.start_column(),
                    r.fault(config.tolerance_ms())
                        .map_or(String::new(), |f| format!("   FAIL: {f}"))
                );
                if let Some(f) = r.fault(config.tolerance_ms()) {
                    faults.push(format!("{config}: {f}"));
                }
            }
            None => {
                eprintln!("    {config}   no report (see tenuto.exe's message above)");
                faults.push(format!("{config}: tenuto.exe loopback printed no report"));
            }
        }
    }
    eprintln!(
        "==> {runs} runs, {judged} judged on the round trip: largest |measured − reported| of \
         each judged run's closest stretch {worst:.3} ms (gate ±{TOLERANCE_MS} ms with events, \
         ±{POLLING_TOLERANCE_MS} ms polling, widened by the start calls the driver timed); \
         {dropouts} dropout(s) in the returned signal, {server_underruns} underrun(s) logged by \
         PulseAudio (figures of this machine, not gated)"
    );
    // Noise may leave a run unjudged, never passed: but a sweep that judged few runs has
    // not decided what it is for.
    if judged < MIN_JUDGED {
        faults.push(format!(
            "only {judged} of {runs} runs could be judged on the round trip (at least \
             {MIN_JUDGED} needed): dropouts below WASAPI before the signal, or capture delays \
             the driver could not measure — the machine was too loaded to decide"
        ));
    }
    if faults.is_empty() {
        Ok(())
    } else {
        Err(format!(
            "{} of {runs} loopback runs failed: {}",
            faults.len(),
            faults.join("; ")
        ))
    }
}

/// The driver's rate conversion: one run at each of [`CONVERTED_RATES`] through the 48 kHz
/// null sink (128 frames, events), gated by [`Report::converted_fault`].
pub fn converted_runs(exe: &Path) -> Result<(), String> {
    let config = Config {
        buffer: 128,
        sample_type: "auto",
        wake_up: "events",
    };
    let settings = settings(&config)?;
    let mut faults = Vec::new();
    eprintln!(
        "    rate        measured − reported   round trip       gain         error RMS   dropouts  lag changes"
    );
    for rate in CONVERTED_RATES {
        let rate_arg = rate.to_string();
        let buffer = config.buffer.to_string();
        let (report, _) = run(
            exe,
            &settings,
            &[
                "--buffer",
                &buffer,
                "--seconds",
                RUN_SECONDS,
                "--rate",
                &rate_arg,
            ],
            None,
        )?;
        let Some(r) = report else {
            eprintln!("    {rate:>6} Hz   no report (see tenuto.exe's message above)");
            faults.push(format!("{rate} Hz: tenuto.exe loopback printed no report"));
            continue;
        };
        let fault = r.converted_fault(config.tolerance_ms());
        eprintln!(
            "    {rate:>6} Hz   {:>+9.3} ms   {:>11.3} frames  {:>+9.5} dB  {:>7.1} dB  {:>4}      {:>4}{}",
            r.best_ms().unwrap_or(f64::NAN),
            r.fractional_lag_frames.unwrap_or(f64::NAN),
            r.gain_db.unwrap_or(f64::NAN),
            r.error_rms_db.unwrap_or(f64::NAN),
            r.glitches,
            r.lag_changes,
            fault.as_ref().map_or(String::new(), |f| format!("   FAIL: {f}"))
        );
        if let Some(f) = fault {
            faults.push(format!("{rate} Hz: {f}"));
        }
    }
    if faults.is_empty() {
        Ok(())
    } else {
        Err(faults.join("; "))
    }
}

/// A device that loses time in mid-stream: the null sink is suspended for 100 ms while a
/// loopback streams; the driver must tell the host (`kAsioResyncRequest`, or a reset request
/// if the stream could not go on), and the signal must come back afterwards.
pub fn suspend_run(exe: &Path) -> Result<(), String> {
    let config = Config {
        buffer: 128,
        sample_type: "auto",
        wake_up: "events",
    };
    let settings = settings(&config)?;
    let suspend = || {
        let pactl = |on: &str| {
            let _ = Command::new("pactl")
                .args(["suspend-sink", "tenuto_sink", on])
                .stdin(Stdio::null())
                .status();
        };
        pactl("1");
        std::thread::sleep(Duration::from_millis(100));
        pactl("0");
    };
    let (report, _) = run(
        exe,
        &settings,
        &["--buffer", "128", "--seconds", "6"],
        Some((Duration::from_secs(4), &suspend)),
    )?;
    let Some(r) = report else {
        return Err("tenuto.exe loopback printed no report".to_owned());
    };
    eprintln!(
        "    with the sink suspended for 100 ms: {r}; host told {} time(s)",
        r.host_told
    );
    if r.difference_ms.is_none() {
        return Err("the test signal did not come back after the sink was suspended".to_owned());
    }
    if r.host_told == 0 {
        return Err(format!(
            "the null sink was suspended for 100 ms in mid-stream ({r}), and the host got no \
             kAsioResyncRequest or kAsioResetRequest: a silent change of timing"
        ));
    }
    Ok(())
}

/// Several devices as one, end to end: a second null sink joins the harness's PulseAudio
/// for the run, and the driver is set to both sinks as outputs and their monitors and the
/// null source as inputs (the first sink's monitor is the clock master). One stream of
/// [`AGGREGATE_SECONDS`] measures both paths at once (`--also`): output 1 → input 1
/// through the first sink, output 3 → input 3 through the second, whose sides both follow
/// the master through their resamplers. Gated by [`Report::aggregate_fault`] on the round
/// trips held at [`AGGREGATE_SETTLED_S`]; dropouts and lag changes are printed, not gated (the two 2-ms sinks load this machine's PulseAudio,
/// and winepulse's timer misses its turn now and then). Then the second sink is unloaded in
/// mid-stream ([`SecondSink::unload`]): the host must get `kAsioResetRequest`, and the log a
/// "streaming stopped" line naming the sink. With `wasapi.missing_device = "skip"` the
/// driver must then come back without it (the first path at unity, on `getLatencies` within
/// the same tolerance unless a dropout below WASAPI came first).
pub fn aggregate_run(exe: &Path) -> Result<(), String> {
    let sink = SecondSink::load()?;
    let dir = target_dir().join("wine-loopback");
    std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let settings = aggregate_settings(&dir, "fail")?;
    let result = run(
        exe,
        &settings,
        &[
            "--buffer",
            "128",
            "--seconds",
            AGGREGATE_SECONDS,
            "--also",
            "2:2",
        ],
        None,
    );
    let (report, steal) = result?;
    let Some(r) = report else {
        return Err("tenuto.exe loopback printed no report (see its message above)".to_owned());
    };
    let steal = steal.map_or("?".to_owned(), |s| format!("{:.1} %", s * 100.0));
    for (n, p) in std::iter::once(&r).chain(&r.also).enumerate() {
        eprintln!(
            "    pair {} (output {} → input {}): at {AGGREGATE_SETTLED_S} s {:+.3} ms{}, held \
             longest {:+.3} ms, gain {:+.2} dB, {} dropout(s), {} lag change(s)",
            n + 1,
            2 * n + 1,
            2 * n + 1,
            p.at_s(AGGREGATE_SETTLED_S).unwrap_or(f64::NAN),
            p.dropout_before(AGGREGATE_SETTLED_S)
                .map_or(String::new(), |s| format!(
                    " (not judged: a dropout below WASAPI at {s:.2} s)"
                )),
            p.difference_ms.unwrap_or(f64::NAN),
            p.gain_db.unwrap_or(f64::NAN),
            p.glitches,
            p.lag_changes
        );
    }
    eprintln!(
        "    {AGGREGATE_SECONDS} s through two sinks as one device; steal {steal}; gate \
         ±{AGGREGATE_TOLERANCE_MS} ms"
    );
    if let Some(f) = r.aggregate_fault(AGGREGATE_TOLERANCE_MS) {
        return Err(f);
    }

    // The second sink goes away in mid-stream: the host must be told, and the log must say
    // which device went. The run gets a directory (so a log file) of its own: the long stream
    // before may have filled the shared one up to its rotation.
    let lost_dir = dir.join("aggregate-lost");
    let _ = std::fs::remove_dir_all(&lost_dir);
    std::fs::create_dir_all(&lost_dir).map_err(|e| format!("{}: {e}", lost_dir.display()))?;
    let lost_settings = aggregate_settings(&lost_dir, "fail")?;
    let (lost, _) = run(
        exe,
        &lost_settings,
        &["--buffer", "128", "--seconds", "10"],
        Some((Duration::from_secs(7), &|| sink.unload())),
    )?;
    drop(sink);
    let resets = lost.as_ref().map_or(0, |r| r.reset_requests);
    // The log may have rotated (tenuto.1.log …) during the run.
    let log = lost_dir.join("tenuto.log");
    let stopped = std::fs::read_dir(&lost_dir)
        .into_iter()
        .flatten()
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().ends_with(".log"))
        .filter_map(|e| std::fs::read(e.path()).ok())
        .find_map(|b| {
            String::from_utf8_lossy(&b)
                .lines()
                .find(|l| l.contains("streaming stopped:") && l.contains(SECOND_SINK_NAME))
                .map(str::to_owned)
        });
    eprintln!(
        "    the second sink unloaded 7 s in: {resets} reset request(s); the log: {}",
        stopped.as_deref().unwrap_or("(no line naming it)")
    );
    // A resync request would not do: the followers' own resyncs send those.
    if resets == 0 {
        return Err(
            "the second sink was unloaded in mid-stream and the host got no kAsioResetRequest"
                .to_owned(),
        );
    }
    if stopped.is_none() {
        return Err(format!(
            "the second sink was unloaded in mid-stream and the host was asked to reset, but \
             no \"streaming stopped:\" line of {} names {SECOND_SINK_NAME}",
            log.display()
        ));
    }

    // `wasapi.missing_device = "skip"`: the driver comes back without it.
    let skip = aggregate_settings(&dir, "skip")?;
    let (back, _) = run(exe, &skip, &["--buffer", "128", "--seconds", "8"], None)?;
    let Some(back) = back else {
        return Err("without the second sink, tenuto.exe loopback printed no report".to_owned());
    };
    let at = back.at_s(AGGREGATE_SETTLED_S);
    let dropout = back.dropout_before(AGGREGATE_SETTLED_S);
    let moves: Vec<String> = back
        .glitch_times_s
        .iter()
        .map(|s| format!("{s:.2} s"))
        .collect();
    eprintln!(
        "    without it (missing_device = \"skip\"): at {AGGREGATE_SETTLED_S} s {:+.3} ms{}, gain \
         {:+.2} dB; dropouts and moves at [{}]",
        at.unwrap_or(f64::NAN),
        dropout.map_or(String::new(), |s| format!(
            " (not judged: a dropout below WASAPI at {s:.2} s)"
        )),
        back.gain_db.unwrap_or(f64::NAN),
        moves.join(", ")
    );
    // As in the first stream: a dropout below WASAPI before 5 s moves the round trip by time
    // the driver cannot see, so such a run decides the gain alone.
    match (at, back.gain_db) {
        (Some(a), Some(g))
            if (dropout.is_some() || a.abs() <= AGGREGATE_TOLERANCE_MS)
                && g.abs() <= GAIN_TOLERANCE_DB =>
        {
            Ok(())
        }
        _ => Err(format!(
            "with the second sink gone and missing_device = \"skip\", the first path did not \
             come back at unity within ±{AGGREGATE_TOLERANCE_MS} ms: {back}"
        )),
    }
}

/// The aggregate's settings file (`missing_device` = `missing`).
fn aggregate_settings(dir: &Path, missing: &str) -> Result<PathBuf, String> {
    let path = dir.join(format!("aggregate-{missing}.toml"));
    std::fs::write(
        &path,
        format!(
            "# Written by cargo xtask: two null sinks, their monitors and the null source as one \
             device.\n[driver]\nbackend = \"wasapi\"\n\n[wasapi]\noutput = [\"Tenuto Null \
             Output\", \"{SECOND_SINK_NAME}\"]\ninput = [\"Monitor of Tenuto Null Output\", \
             \"Monitor of {SECOND_SINK_NAME}\", \"Tenuto Null Input\"]\nmode = \"shared\"\n\
             missing_device = \"{missing}\"\n"
        ),
    )
    .map_err(|e| format!("{}: {e}", path.display()))?;
    Ok(path)
}

/// The second null sink and its keep-alive, for as long as this lives.
struct SecondSink {
    module: Option<String>,
    keepalive: Option<Child>,
}

impl SecondSink {
    fn load() -> Result<Self, String> {
        // One left by a run that was killed would make its name ambiguous: unload it first.
        if let Ok(list) = Command::new("pactl")
            .args(["list", "short", "modules"])
            .stdin(Stdio::null())
            .output()
        {
            let needle = format!("sink_name={SECOND_SINK}");
            for line in String::from_utf8_lossy(&list.stdout).lines() {
                if line.contains(&needle) {
                    if let Some(index) = line.split_whitespace().next() {
                        let _ = Command::new("pactl")
                            .args(["unload-module", index])
                            .stdin(Stdio::null())
                            .status();
                    }
                }
            }
        }
        let out = Command::new("pactl")
            .args([
                "load-module",
                "module-null-sink",
                &format!("sink_name={SECOND_SINK}"),
                "rate=48000",
                "format=float32le",
                "channels=2",
                &format!("sink_properties=device.description={SECOND_SINK_NAME}"),
            ])
            .stdin(Stdio::null())
            .output()
            .map_err(|e| format!("could not run pactl: {e}"))?;
        if !out.status.success() {
            return Err(format!(
                "pactl load-module module-null-sink failed: {}",
                String::from_utf8_lossy(&out.stderr).trim()
            ));
        }
        let module = String::from_utf8_lossy(&out.stdout).trim().to_owned();
        // As the harness's own sink: a client at 2 ms keeps the sink in 2-ms blocks (see
        // tools/pulse/start.sh).
        let zero = std::fs::File::open("/dev/zero").map_err(|e| format!("/dev/zero: {e}"))?;
        let keepalive = Command::new("pacat")
            .args([
                "--playback",
                &format!("--device={SECOND_SINK}"),
                "--format=float32le",
                "--rate=48000",
                "--channels=2",
                "--latency-msec=2",
                "--client-name=tenuto-keepalive-2",
            ])
            .stdin(zero)
            .stdout(Stdio::null())
            .spawn();
        // Dropped on an error: the module is unloaded again.
        let mut sink = Self {
            module: Some(module),
            keepalive: None,
        };
        sink.keepalive = Some(keepalive.map_err(|e| format!("could not start pacat: {e}"))?);
        // The keep-alive connects and the sink leaves its idle 2-s blocks.
        std::thread::sleep(Duration::from_secs(2));
        Ok(sink)
    }
}

impl SecondSink {
    /// Unloads the sink. PulseAudio ends winepulse's streams on it (a stream that allows
    /// moving, pacat's for one, it moves to the default sink instead), and the driver sees
    /// `AUDCLNT_E_DEVICE_INVALIDATED`, as on Windows when a device is unplugged.
    fn unload(&self) {
        if let Some(m) = &self.module {
            let _ = Command::new("pactl")
                .args(["unload-module", m])
                .stdin(Stdio::null())
                .stderr(Stdio::null())
                .status();
        }
    }
}

impl Drop for SecondSink {
    fn drop(&mut self) {
        if let Some(mut k) = self.keepalive.take() {
            let _ = k.kill();
            let _ = k.wait();
        }
        // A second unload of a module already gone fails harmlessly.
        self.unload();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_sweep_covers_every_size_both_wake_ups_and_every_sample_type() {
        let s = sweep();
        for buffer in [32, 64, 128, 256, 512, 1024] {
            for wake_up in ["events", "polling"] {
                assert!(s.iter().any(|c| c.buffer == buffer && c.wake_up == wake_up));
            }
        }
        for t in ["auto", "int16", "int24", "int32", "float64"] {
            assert!(s.iter().any(|c| c.sample_type == t), "{t}");
        }
    }

    #[test]
    fn a_report_is_read_from_its_json_and_judged_by_its_gates() {
        let r = Report::parse(
            r#"{"difference_ms": -0.208, "gain_db": -0.001, "glitches": 1,
                "lag_change_count": 1, "discontinuities": 0, "resync_requests": 1,
                "reset_requests": 0, "analysis": {"first_lag_from_start": true}}"#,
        )
        .unwrap();
        assert_eq!((r.glitches, r.lag_changes, r.host_told), (1, 1, 1));
        // A dropout is a figure, not a fault.
        assert_eq!(r.fault(TOLERANCE_MS), None);
        let off = Report {
            difference_ms: Some(1.2),
            stretches_ms: vec![1.2],
            ..r.clone()
        };
        assert!(off
            .fault(TOLERANCE_MS)
            .unwrap()
            .contains("none within −1.000 … +1.000 ms"));
        assert_eq!(off.fault(1.5), None);
        // A dropout that moved the lag held longest: the first stretch still decides.
        let moved = Report::parse(
            r#"{"difference_ms": 24.1, "gain_db": 0.0, "glitches": 1, "sample_rate": 48000.0,
                "reported_frames": 1600, "lag_change_count": 1,
                "lag_changes": [{"at_frame": 9600, "from": 1604, "to": 2757, "delta": 1153}],
                "analysis": {"first_lag_from_start": true}}"#,
        )
        .unwrap();
        assert_eq!(moved.stretches_ms.len(), 2);
        assert!((moved.stretches_ms[0] - 4.0 / 48.0).abs() < 1e-9);
        assert_eq!(moved.fault(TOLERANCE_MS), None);
        // Every stretch off: the report is wrong.
        let wrong = Report {
            stretches_ms: vec![10.0, 24.0],
            difference_ms: Some(24.0),
            ..moved.clone()
        };
        assert!(wrong.fault(TOLERANCE_MS).is_some());
        // … unless no stretch is known to be free of dropouts: one came before the lock,
        // too soon after the start to look behind it …
        let unseen = Report {
            first_seen_from_start: false,
            ..wrong.clone()
        };
        assert!(!unseen.round_trip_judged());
        assert_eq!(unseen.fault(TOLERANCE_MS), None);
        // … or PulseAudio logged an underrun the returned signal did not show (before the
        // signal reached the sink). As many as the signal showed are not that.
        let hidden = Report {
            server_underruns: 2,
            ..wrong.clone()
        };
        assert_eq!(hidden.fault(TOLERANCE_MS), None);
        let shown = Report {
            server_underruns: 1,
            ..wrong.clone()
        };
        assert!(shown.fault(TOLERANCE_MS).is_some());
        // Gain is judged whatever the round trip.
        let faint = Report {
            gain_db: Some(-3.0),
            ..hidden
        };
        assert!(faint.fault(TOLERANCE_MS).unwrap().contains("gain"));
        let quiet = Report {
            gain_db: Some(-6.0),
            ..r.clone()
        };
        assert!(quiet.fault(TOLERANCE_MS).unwrap().contains("gain"));
        let jumpy = Report {
            discontinuities: 2,
            ..r.clone()
        };
        assert!(jumpy.fault(TOLERANCE_MS).is_some());
        let lost =
            Report::parse(r#"{"difference_ms": null, "gain_db": null, "glitches": 0}"#).unwrap();
        assert!(lost
            .fault(TOLERANCE_MS)
            .unwrap()
            .contains("did not come back"));
        assert!(Report::parse("not json").is_none());
    }

    #[test]
    fn the_driver_s_start_line_widens_the_late_side_by_what_it_could_not_time() {
        let line = "01:27:10.751 UTC info  [pid 536] first period 32 ms after the device \
            started; captured audio waits 211 frames (4.40 ms) in the audio stack before the \
            driver can read it: the input latency reported includes it; the call that started \
            the output took 183 frames (3.81 ms): the output may run up to that much later \
            than reported";
        let note = StartNote::parse(line);
        assert!((note.output_spread_ms - 3.81).abs() < 1e-9 && !note.input_unknown);
        assert_eq!(note.input_spread_ms, 0.0);
        let r = Report::parse(
            r#"{"difference_ms": 3.146, "gain_db": 0.0, "glitches": 0, "analysis": {"first_lag_from_start": true}}"#,
        )
        .unwrap();
        assert!(
            r.fault(TOLERANCE_MS).is_some(),
            "+3.1 ms without a statement"
        );
        let stated = Report {
            start_note: note,
            ..r.clone()
        };
        assert_eq!(stated.fault(TOLERANCE_MS), None);
        // The early side is not widened: a report too long still fails.
        let early = Report {
            difference_ms: Some(-1.5),
            stretches_ms: vec![-1.5],
            start_note: note,
            ..r.clone()
        };
        assert!(early.fault(TOLERANCE_MS).is_some());
        // … unless the driver said its input's start call took that long.
        let input = StartNote::parse(
            "first period 28 ms after the device started; the call that started the input \
             took 48 frames (1.00 ms): captured audio may wait up to that much less than \
             reported",
        );
        assert!((input.input_spread_ms - 1.0).abs() < 1e-9 && input.output_spread_ms == 0.0);
        let stated_early = Report {
            start_note: input,
            ..early.clone()
        };
        assert_eq!(stated_early.fault(TOLERANCE_MS), None);
        // Beyond the stated spread fails too.
        let beyond = Report {
            difference_ms: Some(4.9),
            stretches_ms: vec![4.9],
            start_note: note,
            ..r.clone()
        };
        assert!(beyond.fault(TOLERANCE_MS).is_some());
        // A capture delay the driver said it could not measure: not judged on the round
        // trip, still on gain.
        let unknown = StartNote::parse(
            "first period 32 ms after the device started; how long captured audio waits in \
             the audio stack could not be measured (its first packet came later …",
        );
        assert!(unknown.input_unknown && unknown.output_spread_ms == 0.0);
        let unjudged = Report {
            difference_ms: Some(7.479),
            stretches_ms: vec![7.479],
            start_note: unknown,
            ..r.clone()
        };
        assert_eq!(unjudged.fault(TOLERANCE_MS), None);
        let quiet = Report {
            gain_db: Some(-6.0),
            ..unjudged
        };
        assert!(quiet.fault(TOLERANCE_MS).is_some());
        // No line (an older driver, or no log): nothing widened.
        assert_eq!(
            StartNote::parse("streaming stopped: …"),
            StartNote::default()
        );
    }

    #[test]
    fn a_converted_run_is_judged_on_conversion_gain_and_error() {
        let good = Report::parse(
            r#"{"difference_ms": 0.136, "gain_db": -0.00001, "glitches": 0, "converted": true,
                "error_rms_db": -101.5, "fractional_lag_frames": 1816.9}"#,
        )
        .unwrap();
        assert!(good.converted);
        assert_eq!(good.fractional_lag_frames, Some(1816.9));
        assert_eq!(good.converted_fault(TOLERANCE_MS), None);
        // At the device's rate the same report means the path is not bit-transparent.
        assert!(good
            .fault(TOLERANCE_MS)
            .unwrap()
            .contains("sample for sample"));
        let noisy = Report {
            error_rms_db: Some(-45.0),
            ..good.clone()
        };
        assert!(noisy
            .converted_fault(TOLERANCE_MS)
            .unwrap()
            .contains("error RMS"));
        let quiet = Report {
            gain_db: Some(-0.2),
            ..good.clone()
        };
        assert!(quiet
            .converted_fault(TOLERANCE_MS)
            .unwrap()
            .contains("gain"));
        let plain = Report {
            converted: false,
            ..good.clone()
        };
        assert!(plain
            .converted_fault(TOLERANCE_MS)
            .unwrap()
            .contains("did not convert"));
        assert_eq!(plain.fault(TOLERANCE_MS), None);
        let late = Report {
            difference_ms: Some(3.0),
            stretches_ms: vec![3.0],
            ..good
        };
        assert!(late.converted_fault(TOLERANCE_MS).is_some());
    }

    #[test]
    fn an_aggregate_run_needs_every_pair_on_the_report_and_the_pairs_together() {
        let r = Report::parse(
            r#"{"difference_ms": -0.4, "gain_db": 0.0, "glitches": 0,
                "also": [{"difference_ms": 0.9, "gain_db": 0.01, "glitches": 2}]}"#,
        )
        .unwrap();
        assert_eq!(r.also.len(), 1);
        assert_eq!(r.aggregate_fault(AGGREGATE_TOLERANCE_MS), None);
        let mut apart = r.clone();
        apart.stretches_ms = vec![-2.5];
        apart.also[0].stretches_ms = vec![2.0];
        assert!(apart.aggregate_fault(3.0).unwrap().contains("apart"));
        let one = Report {
            also: Vec::new(),
            ..r.clone()
        };
        assert!(one.aggregate_fault(3.0).unwrap().contains("one pair"));
        let mut lost = r.clone();
        lost.also[0].gain_db = None;
        lost.also[0].difference_ms = None;
        assert!(lost.aggregate_fault(3.0).unwrap().starts_with("pair 2"));
        let mut late = r.clone();
        late.also[0].difference_ms = Some(13.0);
        late.also[0].stretches_ms = vec![13.0];
        assert!(late.aggregate_fault(3.0).unwrap().contains("beyond ±3 ms"));
        // Judged at 5 s: the stretch the trim set, not the pre-alignment one nor one a
        // later dropout made.
        let mut moved = r;
        moved.stretches_ms = vec![-12.0, 0.4, 9.0];
        moved.stretch_starts_s = vec![3.1, 20.0];
        assert_eq!(moved.at_s(5.0), Some(0.4));
        assert_eq!(moved.aggregate_fault(3.0), None);
        moved.stretch_starts_s = vec![3.1, 4.9];
        assert!(moved.aggregate_fault(3.0).unwrap().starts_with("pair 1"));
        // The same after a dropout below WASAPI at 1.6 s is not judged on the report; the
        // alignment's and the trim's own moves do not count as dropouts.
        moved.glitch_times_s = vec![3.04, 4.55];
        assert!(moved.aggregate_fault(3.0).is_some());
        moved.glitch_times_s = vec![1.63, 3.04];
        assert_eq!(moved.dropout_before(5.0), Some(1.63));
        assert_eq!(moved.aggregate_fault(3.0), None);
    }

    #[test]
    fn steal_is_the_stolen_share_of_all_cpu_time_between_two_readings() {
        let share = steal_between(Some((10, 1_000)), Some((60, 2_000))).unwrap();
        assert!((share - 0.05).abs() < 1e-12, "{share}");
        assert_eq!(steal_between(Some((10, 1_000)), Some((10, 1_000))), None);
        assert_eq!(steal_between(None, Some((10, 1_000))), None);
    }

    #[test]
    fn this_machine_reports_its_cpu_times() {
        let (steal, total) = cpu_times().expect("/proc/stat has a cpu line with 8 fields");
        assert!(total > 0 && steal <= total);
    }
}
