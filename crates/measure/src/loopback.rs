//! Round-trip latency and glitch measurement through a driver whose output
//! reaches its input (a cable, a virtual loopback, a sound server's monitor).
//!
//! * [`Sequence`] is the test signal: a maximum-length sequence (order 18,
//!   period 262 143 frames) of ±amplitude, deterministic and precomputed.
//! * [`Analyser`] takes the captured samples with their absolute frame
//!   index, finds the lag by cross-correlation against the sent sequence,
//!   estimates the gain, then compares every captured sample with the
//!   expected one and records glitches, lag changes and silence. It is plain
//!   safe Rust with no threads, so it is tested on synthetic data.
//! * [`run`] streams the sequence through a [`Driver`]: the driver thread
//!   only copies precomputed samples out and pushes the captured input into
//!   a preallocated lock-free ring; the calling thread analyses.
//!
//! **Frame indices.** Frame `n` is the `n`-th frame since the first switch
//! of the stream, for outputs and inputs alike (switch count × buffer size +
//! offset in the buffer). The lag is *captured frame − sent frame*: a sample
//! written at output frame `n` and read back at input frame `n + lag`. For
//! a driver that reports its latencies exactly (Tenuto's virtual loopback
//! device), the lag equals the reported input + output latency. Lags from 0
//! to one second (or twice the reported round trip, if longer) are searched.
//!
//! **Glitches.** Once locked, a sample is bad when it is further from
//! `gain × sent[frame − lag]` than 10 % of the expected amplitude (far above
//! 16-bit quantisation or float rounding, far below a missing or shifted
//! sample of a ±amplitude sequence). A glitch starts at a bad sample and
//! ends before the next run of 64 good ones. A glitch still open after 256
//! frames makes the analyser search again (the lag may have changed); it then
//! ends where the new lag starts to explain the capture, and a different lag
//! is reported as a lag change with its size. The comparison is sample for
//! sample, so it suits digital loops.
//!
//! **Converting paths.** A path that converts the sample rate (a driver that
//! resamples to its device's rate, Windows' mixer) removes the sequence's
//! energy above its passband and delays by a fraction of a frame, so the
//! full-band sequence never matches. When the full-band sequence came back
//! correlated but not sample for sample in [`AnalyserConfig::switch_after`]
//! searches and was never matched, the analyser asks for the band-limited
//! signal ([`BandLimited`]: the same sequence with nothing above 18 kHz or
//! 0.4 × the rate) and [`run`]'s driver thread sends it from its next buffer
//! on. The analyser then locks on the fractional lag (the cross-correlation's
//! peak, refined by parabola fits of the correlation against the reference
//! delayed by windowed-sinc interpolation), compares every sample with the
//! reference delayed by that lag, with a tolerance of
//! [`AnalyserConfig::band_tolerance`] (1 % of the peak amplitude) for
//! glitches, and sums the error: its RMS relative to the signal must stay at
//! or below [`MAX_CONVERTED_ERROR_DB`]. A path that never converts keeps the
//! full-band, sample-for-sample check: it matches at once and never switches.
//! An analogue path (a cable) is measured as a converting one.

pub use crate::sequence::{Sequence, SEQUENCE_ORDER};
use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde::Serialize;

use crate::bandlimit::{BandLimit, BandLimited, Kernel};
use crate::fft::cross_correlate;
use crate::signal::{read_sample, write_sample};
use crate::watch::{take_peak, SwitchCounters, SwitchWatch};
use tenuto_host::{CallError, Driver, HostOptions, Period, PeriodHandler};

/// Largest accepted RMS error of a converting path, dB relative to the
/// signal's RMS. Tenuto's resampler is a −100 dB design (spurs at −115 dB,
/// ripple under 0.001 dB: docs/RESAMPLER.md), so a working path measures
/// around −100 dB and the bound leaves 40 dB of margin; a path off by one
/// frame, a wrong rate (even 10 ppm drifts a frame within seconds) or a
/// filter with 0.1 dB of ripple lands between −40 dB and 0 dB.
pub const MAX_CONVERTED_ERROR_DB: f64 = -60.0;

/// Error RMS reported for a path that returned the signal exactly, dB.
pub const EXACT_ERROR_DB: f64 = -200.0;

/// Consecutive frames that match the full-band sequence sample for sample
/// which prove a plain (not converting) path, even in a window that a dropout
/// spoilt. A converter leaves each full-band frame within the 10 % tolerance
/// with a probability of about one in six, so a run this long never happens
/// through one (1 in 10⁴⁰⁰); a bit-transparent path spoilt by a dropout keeps
/// the window's other side, at least hundreds of frames.
const PLAIN_RUN: usize = 256;

/// Consecutive silent frames (below 1 % of the amplitude) that prove a dropout
/// in a window: a converter's output of the full-band sequence comes near zero
/// in about one frame of a hundred, never in runs; the audio stack below the
/// driver plays its dropouts as silence.
const SILENT_RUN: usize = 32;

/// Frames of the earliest returned signal searched for the round trip the
/// stream began with, when the first lock found a lag that does not explain
/// what came back before it (a dropout below the driver before the search
/// could lock). The sequence's correlation peak over so many frames stands
/// 30 times above its side lobes, and the window is short, so that a dropout
/// soon after the start still leaves it clean.
const EARLY_WINDOW: usize = 1024;

/// Two fractional lags closer than this are the same lag, frames (the
/// estimate's scatter under a −100 dB error is about 10⁻⁵ frames).
const SAME_LAG: f64 = 0.01;

/// How the analyser locks and compares.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct AnalyserConfig {
    /// Sample rate, for times in the report.
    pub sample_rate: f64,
    /// Frames correlated (and verified) to lock.
    pub window: usize,
    /// Largest lag searched, frames (smaller than the sequence period
    /// minus the window).
    pub max_lag: usize,
    /// A sample is bad when it differs from the expected one by more than
    /// this fraction of the expected amplitude.
    pub tolerance: f64,
    /// Consecutive good samples that end a glitch.
    pub good_run: usize,
    /// Frames of an unresolved glitch after which the analyser searches
    /// the lag again.
    pub relock_after: usize,
    /// Normalised correlation needed to accept a lag.
    pub min_correlation: f64,
    /// Frames between two full (FFT) searches while no lag is locked; the
    /// lags known from before are re-checked every quarter window.
    pub search_interval: usize,
    /// Band-limited signal: a sample is bad when it differs from the
    /// expected one by more than this fraction of the peak amplitude. A
    /// −100 dB converter stays 60 dB below it; a missing, repeated or
    /// silent frame of the band-limited noise exceeds it within a few frames.
    pub band_tolerance: f64,
    /// Band-limited signal: captured frames whose sent frame is less than
    /// this many frames after the switch are not compared (the converters'
    /// filters still hold full-band samples).
    pub band_guard: usize,
    /// Full-band searches that found the signal correlated but not sample
    /// for sample (a quarter of the window or more off: a converter misses
    /// about half), with no match ever, after which the analyser asks for
    /// the band-limited signal. Two, so that one window spoilt by a dropout
    /// does not make a plain path look converting.
    pub switch_after: u32,
    /// Frames on either side of a glitch left out of the error RMS: a
    /// converter spreads a discontinuity over its filter's length (up to a
    /// few hundred frames), and those errors, below the glitch tolerance,
    /// belong to the glitch, not to the path's quality.
    pub error_margin: usize,
}

impl AnalyserConfig {
    /// Defaults for `rate`: a 4096-frame window, lags up to one second
    /// (within the sequence), 10 % tolerance.
    pub fn new(sample_rate: f64, sequence_period: usize) -> Self {
        let window = 4096;
        let max_lag =
            (sample_rate.max(1.0) as usize).min(sequence_period.saturating_sub(2 * window));
        Self {
            sample_rate,
            window,
            max_lag,
            tolerance: 0.1,
            good_run: 64,
            relock_after: 256,
            min_correlation: 0.5,
            // At most ten full searches a second.
            search_interval: (window / 2).max((sample_rate / 10.0) as usize),
            band_tolerance: 0.01,
            // Converters' filters span a few hundred frames (704 taps at 192 → 44.1 kHz).
            band_guard: window / 2,
            switch_after: 2,
            error_margin: 1024,
        }
    }
}

/// Whether the analyser currently follows the signal.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum LockState {
    /// Looking for the signal (at the start, or after a long glitch).
    Searching,
    /// Following it at this lag (frames).
    Locked(i64),
}

/// One glitch: a stretch of captured samples that match neither the lag
/// before nor the lag after it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Glitch {
    /// Captured frame index of its first bad sample.
    pub start_frame: u64,
    /// The same in seconds from the first switch.
    pub at_seconds: f64,
    /// Length in frames (at least 1).
    pub frames: u64,
    /// Length in ms.
    pub ms: f64,
    /// Frames in it that were silent (below 1 % of the expected amplitude).
    pub silent_frames: u64,
    /// Lag change across it (after − before), if the lag changed.
    pub lag_change: Option<i64>,
}

/// A change of lag found when re-locking after a glitch.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LagChange {
    /// Captured frame index where the new lag was locked.
    pub at_frame: u64,
    /// Lag before, frames.
    pub from: i64,
    /// Lag after, frames.
    pub to: i64,
    /// `to − from`: negative when the input lost frames (or the output
    /// skipped some), positive when frames were inserted.
    pub delta: i64,
    /// The change of the fractional lag, frames (band-limited signal only).
    pub fractional_delta: Option<f64>,
}

/// The analyser's findings.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Analysis {
    /// The sent signal was found in the capture.
    pub locked: bool,
    /// The lag held for the most frames.
    pub lag_frames: Option<i64>,
    /// The lag first locked.
    pub first_lag_frames: Option<i64>,
    /// The last lag locked.
    pub last_lag_frames: Option<i64>,
    /// Gain from output to input (linear, negative if inverted), at the
    /// latest lock.
    pub gain: Option<f64>,
    /// Glitch events.
    pub glitches: u64,
    /// The first glitches (up to 32).
    pub glitch_list: Vec<Glitch>,
    /// Lag changes (up to 32 listed).
    pub lag_changes: Vec<LagChange>,
    /// Number of lag changes.
    pub lag_change_count: u64,
    /// Silent frames inside glitches.
    pub silent_frames: u64,
    /// Frames received.
    pub frames_captured: u64,
    /// Frames compared against the sent signal (after the first lock).
    pub frames_analysed: u64,
    /// Captured frame index of the first lock.
    pub first_lock_frame: Option<u64>,
    /// The first lag explains every frame from where the first sent frame
    /// came back up to the first lock (or the first change): nothing before
    /// the first stretch went unseen, so no dropout below the driver moved it.
    pub first_lag_from_start: bool,
    /// Captured frames before the first lock that its lag did not explain: a
    /// change before the search could lock. When the earliest signal gave the
    /// lag the stream began with, that lag is
    /// [`first_lag_frames`](Self::first_lag_frames) and the change is the first
    /// of [`lag_changes`](Self::lag_changes).
    pub unexplained_before_lock: u64,
    /// Breaks in the captured frame indices (the host lost captured
    /// blocks, not the driver).
    pub capture_gaps: u64,
    /// Largest absolute captured sample.
    pub input_peak: f64,
    /// Best normalised correlation seen while searching.
    pub best_correlation: f64,
    /// Lag of that correlation.
    pub best_correlation_lag: Option<i64>,
    /// Fraction of bad samples in the best correlating window that was not
    /// accepted (why it did not lock), if any.
    pub best_rejected_bad_fraction: Option<f64>,
    /// The full-band signal did not come back sample for sample, so the
    /// band-limited one was asked for (a converting or filtering path).
    pub converted: bool,
    /// Sent frame from which the band-limited signal was analysed.
    pub band_limited_from_frame: Option<u64>,
    /// The lag held longest with its fraction (band-limited signal), frames;
    /// the whole lag for the full-band signal.
    pub fractional_lag_frames: Option<f64>,
    /// RMS of (captured − expected) over the matching samples, dB relative
    /// to the expected signal's RMS ([`EXACT_ERROR_DB`] if exact).
    pub error_rms_db: Option<f64>,
}

/// What the analyser compares the capture with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    /// The full-band sequence, sample for sample.
    FullBand,
    /// The full-band sequence came back, but not sample for sample: waiting
    /// for the sender to switch to the band-limited signal.
    Waiting,
    /// The band-limited signal, sent from frame `from` on, at a fractional lag.
    BandLimited { from: u64 },
}

/// A fractional lag and how well the window fits it.
#[derive(Debug, Clone, Copy)]
struct Fit {
    tau: f64,
    rho: f64,
    gain: f64,
}

/// The best lag of a correlation search ([`Analyser::best_lag`]).
struct Correlated {
    /// Its offset in `r`.
    k: usize,
    lag: i64,
    rho: f64,
    gain: f64,
    /// The correlation at every offset (offset `k` is lag `max_lag − k`).
    r: Vec<f64>,
}

/// A lag held while locked.
#[derive(Debug, Clone, Copy)]
struct Held {
    lag: i64,
    frames: u64,
    /// With its fraction (the whole lag for the full-band signal).
    tau: f64,
}

#[derive(Debug, Clone, Copy)]
struct OpenGlitch {
    start: u64,
    last_bad: u64,
    good_run: usize,
    lag_before: i64,
    /// The fractional lag before.
    tau_before: f64,
    /// Set when a re-lock found another lag: after − before.
    lag_change: Option<i64>,
    /// Silent samples of this glitch already dropped from the history.
    silent_evicted: u64,
}

#[derive(Debug, Clone, Copy)]
enum State {
    Searching {
        /// Windows must start at or after this frame.
        from: u64,
        /// End of the window of the last check of the known lags.
        last_quick: Option<u64>,
        /// End of the window of the last full (FFT) search.
        last_search: Option<u64>,
    },
    Locked {
        lag: i64,
        gain: f64,
    },
}

/// Follows a captured stream against the sent [`Sequence`].
#[derive(Debug)]
pub struct Analyser {
    seq: Arc<Sequence>,
    cfg: AnalyserConfig,
    state: State,
    glitch: Option<OpenGlitch>,
    hist: VecDeque<f32>,
    hist_start: u64,
    hist_cap: usize,
    next_frame: Option<u64>,
    /// Frames held per lag.
    lag_frames: Vec<Held>,
    /// The band-limited signal, if the analyser may switch to it.
    band: Option<Arc<BandLimited>>,
    mode: Mode,
    /// Band-limited signal: the taps of the current fractional delay.
    kernel: Option<Kernel>,
    /// The current lag with its fraction.
    tau: f64,
    /// Full-band searches rejected while the signal correlated.
    rejections: u32,
    /// Σ (captured − expected)² and Σ expected² over matching samples.
    error_energy: f64,
    reference_energy: f64,
    /// The last `error_margin` samples' (error², expected²), added to the
    /// sums once no glitch follows them closely.
    pending_error: VecDeque<(f64, f64)>,
    /// Frames before this one follow a glitch too closely for the error sums.
    error_from: u64,
    first_lag: Option<i64>,
    last_gain: Option<f64>,
    glitches: u64,
    glitch_list: Vec<Glitch>,
    lag_changes: Vec<LagChange>,
    lag_change_count: u64,
    silent_frames: u64,
    frames_captured: u64,
    frames_analysed: u64,
    /// Frames before this one have been counted as analysed.
    analysed_to: u64,
    first_lock_frame: Option<u64>,
    first_lag_from_start: bool,
    unexplained_before_lock: u64,
    capture_gaps: u64,
    input_peak: f64,
    best_correlation: f64,
    best_correlation_lag: Option<i64>,
    best_rejected_bad_fraction: Option<f64>,
}

const LISTED: usize = 32;

impl Analyser {
    /// An analyser for `sequence` with `config`.
    pub fn new(sequence: Arc<Sequence>, config: AnalyserConfig) -> Self {
        let mut cfg = config;
        cfg.window = cfg.window.max(64);
        cfg.max_lag = cfg
            .max_lag
            .min(sequence.period().saturating_sub(cfg.window + 1));
        cfg.good_run = cfg.good_run.max(1);
        let hist_cap = 8 * cfg.window + cfg.relock_after + cfg.good_run;
        Self {
            seq: sequence,
            cfg,
            state: State::Searching {
                from: 0,
                last_quick: None,
                last_search: None,
            },
            glitch: None,
            hist: VecDeque::with_capacity(hist_cap + 1),
            hist_start: 0,
            hist_cap,
            next_frame: None,
            lag_frames: Vec::new(),
            band: None,
            mode: Mode::FullBand,
            kernel: None,
            tau: 0.0,
            rejections: 0,
            error_energy: 0.0,
            reference_energy: 0.0,
            pending_error: VecDeque::new(),
            error_from: 0,
            first_lag: None,
            last_gain: None,
            glitches: 0,
            glitch_list: Vec::new(),
            lag_changes: Vec::new(),
            lag_change_count: 0,
            silent_frames: 0,
            frames_captured: 0,
            frames_analysed: 0,
            analysed_to: 0,
            first_lock_frame: None,
            first_lag_from_start: false,
            unexplained_before_lock: 0,
            capture_gaps: 0,
            input_peak: 0.0,
            best_correlation: 0.0,
            best_correlation_lag: None,
            best_rejected_bad_fraction: None,
        }
    }

    /// An analyser for `sequence` that asks for `band` (the same sequence,
    /// band-limited) when the full-band sequence does not come back sample for
    /// sample; see [`wants_band_limited`](Self::wants_band_limited).
    pub fn with_band_limit(
        sequence: Arc<Sequence>,
        band: Arc<BandLimited>,
        config: AnalyserConfig,
    ) -> Self {
        let mut a = Self::new(sequence, config);
        a.band = Some(band);
        a
    }

    /// The full-band signal came back correlated but never sample for sample:
    /// the sender should switch to the band-limited signal and say from
    /// which frame ([`band_limit_from`](Self::band_limit_from)). Meanwhile
    /// the capture is kept but not analysed.
    pub fn wants_band_limited(&self) -> bool {
        self.mode == Mode::Waiting
    }

    /// The band-limited signal is sent from sent frame `frame` on (before
    /// it, the full-band sequence): analyse against it from then on. Without
    /// a band-limited signal, or once switched, nothing changes.
    pub fn band_limit_from(&mut self, frame: u64) {
        if self.band.is_none() || matches!(self.mode, Mode::BandLimited { .. }) {
            return;
        }
        self.mode = Mode::BandLimited { from: frame };
        self.state = State::Searching {
            from: frame,
            last_quick: None,
            last_search: None,
        };
        // What failed against the full-band signal explains nothing now.
        self.best_correlation = 0.0;
        self.best_correlation_lag = None;
        self.best_rejected_bad_fraction = None;
    }

    /// The configuration in use (after clamping).
    pub fn config(&self) -> &AnalyserConfig {
        &self.cfg
    }

    /// Searching or locked, and at which lag.
    pub fn state(&self) -> LockState {
        match self.state {
            State::Searching { .. } => LockState::Searching,
            State::Locked { lag, .. } => LockState::Locked(lag),
        }
    }

    /// Glitches so far (an open one included).
    pub fn glitches(&self) -> u64 {
        self.glitches + u64::from(self.glitch.is_some())
    }

    /// Largest absolute sample so far.
    pub fn input_peak(&self) -> f64 {
        self.input_peak
    }

    /// Feeds consecutive captured samples, the first at `first_frame`.
    pub fn push_block(&mut self, first_frame: u64, samples: &[f32]) {
        for (i, &s) in samples.iter().enumerate() {
            self.push(first_frame + i as u64, s);
        }
    }

    /// Feeds one captured sample at absolute frame `frame`.
    pub fn push(&mut self, frame: u64, sample: f32) {
        if let Some(expected) = self.next_frame {
            if frame != expected {
                self.capture_gaps += 1;
                self.hist.clear();
            }
        }
        self.next_frame = Some(frame + 1);
        if self.hist.is_empty() {
            self.hist_start = frame;
        }
        self.hist.push_back(sample);
        if self.hist.len() > self.hist_cap {
            if let Some(old) = self.hist.pop_front() {
                let old_frame = self.hist_start;
                self.hist_start += 1;
                let silent = self.is_silent(old, self.last_gain.unwrap_or(1.0));
                if let Some(g) = self.glitch.as_mut() {
                    if old_frame >= g.start && silent {
                        g.silent_evicted += 1;
                    }
                }
            }
        }
        self.frames_captured += 1;
        self.input_peak = self.input_peak.max(f64::from(sample.abs()));
        if self.mode == Mode::Waiting {
            return;
        }
        match self.state {
            State::Locked { lag, gain } => self.check(frame, sample, lag, gain, true),
            State::Searching {
                from,
                last_quick,
                last_search,
            } => {
                let end = frame + 1;
                let w = self.cfg.window as u64;
                if end.saturating_sub(from.max(self.hist_start)) < w {
                    return;
                }
                let quick = last_quick.is_none_or(|a| end >= a + w / 4);
                // Every half window until the first lock: the sooner a converting path is
                // recognised, the less of the stream precedes its first measured stretch.
                let interval = if self.first_lock_frame.is_none() {
                    self.cfg.window / 2
                } else {
                    self.cfg.search_interval
                };
                let search = last_search.is_none_or(|a| end >= a + interval as u64);
                self.state = State::Searching {
                    from,
                    last_quick: if quick { Some(end) } else { last_quick },
                    last_search: if search { Some(end) } else { last_search },
                };
                if quick && self.try_known_lags(end) {
                    return;
                }
                if search {
                    self.try_lock(end);
                }
            }
        }
    }

    fn band_limited(&self) -> Option<(&BandLimited, u64)> {
        match (self.mode, &self.band) {
            (Mode::BandLimited { from }, Some(b)) => Some((b, from)),
            _ => None,
        }
    }

    fn threshold(&self, gain: f64) -> f64 {
        let tolerance = if self.band_limited().is_some() {
            self.cfg.band_tolerance
        } else {
            self.cfg.tolerance
        };
        tolerance * gain.abs() * self.seq.amplitude()
    }

    /// Mean power of the signal sent now.
    fn power(&self) -> f64 {
        match self.band_limited() {
            Some((b, _)) => b.power(),
            None => self.seq.amplitude() * self.seq.amplitude(),
        }
    }

    /// The signal (before gain) that should come back at captured `frame`
    /// over a path of `lag` whole frames (plus the current kernel's fraction
    /// for the band-limited signal).
    fn reference(&self, frame: u64, lag: i64) -> f64 {
        let n = frame as i64 - lag;
        match (self.band_limited(), &self.kernel) {
            (Some((b, _)), Some(k)) => b.delayed(n, k),
            _ => f64::from(self.seq.sample(n)),
        }
    }

    /// Whether captured `frame` at `lag` can be compared: for the
    /// band-limited signal, its sent frame is at least the guard after the
    /// switch.
    fn comparable(&self, frame: u64, lag: i64) -> bool {
        match self.band_limited() {
            Some((_, from)) => frame as i64 - lag >= (from + self.cfg.band_guard as u64) as i64,
            None => true,
        }
    }

    fn is_silent(&self, sample: f32, gain: f64) -> bool {
        f64::from(sample.abs()) < 0.01 * gain.abs() * self.seq.amplitude()
    }

    /// (captured − expected, expected) at `frame`.
    fn error(&self, frame: u64, sample: f32, lag: i64, gain: f64) -> (f64, f64) {
        let expected = gain * self.reference(frame, lag);
        (f64::from(sample) - expected, expected)
    }

    fn matches(&self, frame: u64, sample: f32, lag: i64, gain: f64) -> bool {
        self.error(frame, sample, lag, gain).0.abs() <= self.threshold(gain)
    }

    fn count_lag(&mut self, lag: i64) {
        let tau = self.tau;
        match self.lag_frames.iter_mut().find(|h| h.lag == lag) {
            Some(h) => {
                h.frames += 1;
                h.tau = tau;
            }
            None => self.lag_frames.push(Held {
                lag,
                frames: 1,
                tau,
            }),
        }
    }

    /// Compares one sample with the expected one and follows glitches;
    /// `may_search`: a long glitch switches to searching (not while
    /// re-checking the history after a lock).
    fn check(&mut self, frame: u64, sample: f32, lag: i64, gain: f64, may_search: bool) {
        if !self.comparable(frame, lag) {
            return;
        }
        let (error, expected) = self.error(frame, sample, lag, gain);
        let ok = error.abs() <= self.threshold(gain);
        if frame >= self.analysed_to {
            self.frames_analysed += 1;
            self.count_lag(lag);
            self.analysed_to = frame + 1;
            if ok && self.glitch.is_none() && frame >= self.error_from {
                self.pending_error
                    .push_back((error * error, expected * expected));
                if self.pending_error.len() > self.cfg.error_margin {
                    self.commit_error(1);
                }
            }
        }
        match self.glitch.as_mut() {
            None => {
                if !ok {
                    self.pending_error.clear();
                    self.glitch = Some(OpenGlitch {
                        start: frame,
                        last_bad: frame,
                        good_run: 0,
                        lag_before: lag,
                        tau_before: self.tau,
                        lag_change: None,
                        silent_evicted: 0,
                    });
                }
            }
            Some(g) => {
                if ok {
                    g.good_run += 1;
                    if g.good_run >= self.cfg.good_run {
                        let end = g.last_bad + 1;
                        self.close_glitch(end);
                    }
                } else {
                    g.last_bad = frame;
                    g.good_run = 0;
                    if may_search && frame - g.start >= self.cfg.relock_after as u64 {
                        let from = g.start;
                        self.state = State::Searching {
                            from,
                            last_quick: None,
                            last_search: None,
                        };
                    }
                }
            }
        }
    }

    /// Adds the oldest `n` pending samples to the error sums.
    fn commit_error(&mut self, n: usize) {
        for _ in 0..n {
            let Some((e, r)) = self.pending_error.pop_front() else {
                break;
            };
            self.error_energy += e;
            self.reference_energy += r;
        }
    }

    /// Closes the open glitch at `end` (exclusive).
    fn close_glitch(&mut self, end: u64) {
        let Some(g) = self.glitch.take() else {
            return;
        };
        let end = end.max(g.start + 1);
        self.error_from = self.error_from.max(end + self.cfg.error_margin as u64);
        let gain = self.last_gain.unwrap_or(1.0);
        let from = g.start.max(self.hist_start);
        let silent_in_hist = (from..end)
            .filter_map(|f| self.hist.get(usize::try_from(f - self.hist_start).ok()?))
            .filter(|&&s| self.is_silent(s, gain))
            .count() as u64;
        let silent = g.silent_evicted + silent_in_hist;
        self.silent_frames += silent;
        self.glitches += 1;
        if self.glitch_list.len() < LISTED {
            let frames = end - g.start;
            self.glitch_list.push(Glitch {
                start_frame: g.start,
                at_seconds: g.start as f64 / self.cfg.sample_rate,
                frames,
                ms: frames as f64 / self.cfg.sample_rate * 1e3,
                silent_frames: silent,
                lag_change: g.lag_change,
            });
        }
    }

    /// The latest window (ending before `end`): its first frame, samples
    /// and energy; `None` below −80 dBFS RMS (nothing to correlate).
    fn window(&self, end: u64) -> Option<(u64, Vec<f64>, f64)> {
        let w = self.cfg.window;
        let start_idx = self.hist.len().checked_sub(w)?;
        let y: Vec<f64> = self
            .hist
            .range(start_idx..)
            .map(|&v| f64::from(v))
            .collect();
        let ey: f64 = y.iter().map(|v| v * v).sum();
        (ey >= w as f64 * 1e-8).then_some((end - w as u64, y, ey))
    }

    /// Energy a candidate's sent window needs: a quarter of a full one.
    fn min_energy(&self) -> f64 {
        0.25 * self.cfg.window as f64 * self.power()
    }

    /// Re-checks the lags locked before (cheap: no search), so that a
    /// glitch that did not move the signal is closed at once.
    fn try_known_lags(&mut self, end: u64) -> bool {
        // The lag before the glitch first, then the ones held longest.
        let mut held = self.lag_frames.clone();
        held.sort_by_key(|h| std::cmp::Reverse(h.frames));
        let mut known: Vec<(i64, f64)> = Vec::with_capacity(4);
        for (lag, tau) in self
            .glitch
            .map(|g| (g.lag_before, g.tau_before))
            .into_iter()
            .chain(held.iter().map(|h| (h.lag, h.tau)))
        {
            if known.len() < 4 && !known.iter().any(|&(l, _)| l == lag) {
                known.push((lag, tau));
            }
        }
        if known.is_empty() {
            return false;
        }
        let Some((w0, y, ey)) = self.window(end) else {
            return false;
        };
        for (lag, tau) in known {
            if self.band_limited().is_some() {
                // One correlation at the known fraction; refined only if the
                // signal is there.
                let Some(fit) = self.fit(w0, &y, ey, tau) else {
                    continue;
                };
                if fit.rho.abs() < self.cfg.min_correlation {
                    continue;
                }
                let Some(fit) = self.refine(w0, &y, ey, tau) else {
                    continue;
                };
                if self.accept_fractional(w0, end, &y, fit) {
                    return true;
                }
                continue;
            }
            let (mut r, mut ex) = (0.0, 0.0);
            for (i, v) in y.iter().enumerate() {
                let x = f64::from(self.seq.sample((w0 + i as u64) as i64 - lag));
                r += v * x;
                ex += x * x;
            }
            if ex >= self.min_energy()
                && self.accept(w0, end, &y, lag, r / (ey * ex).sqrt(), r / ex)
            {
                return true;
            }
        }
        false
    }

    /// The sent signal at `n` as the full search correlates it: for the
    /// band-limited signal, silence before the switch (the full-band frames
    /// sent before it are not what comes back).
    fn sent(&self, n: i64) -> f64 {
        match self.band_limited() {
            Some((b, from)) if n >= from as i64 => f64::from(b.sample(n)),
            Some(_) => 0.0,
            None => f64::from(self.seq.sample(n)),
        }
    }

    /// Correlates the latest window (ending before `end`) against the
    /// sequence over every lag up to `max_lag` and locks if the best lag
    /// explains every sample of it.
    fn try_lock(&mut self, end: u64) {
        let Some((w0, y, ey)) = self.window(end) else {
            return;
        };
        let max_lag = self.cfg.max_lag;
        let Some(Correlated {
            k,
            lag,
            rho,
            gain,
            r,
        }) = self.best_lag(w0, &y, ey, max_lag, self.min_energy(), |n| self.sent(n))
        else {
            return;
        };
        if self.band_limited().is_none() {
            self.accept(w0, end, &y, lag, rho, gain);
            return;
        }
        if rho.abs() < self.cfg.min_correlation {
            self.note_correlation(lag, rho);
            return;
        }
        // The correlation's peak between frames: a parabola through the
        // best lag and its neighbours (r[k ± 1] are the lags ∓ 1), then
        // refined against the fractionally delayed reference.
        let at = |i: Option<usize>| i.and_then(|i| r.get(i)).map_or(0.0, |v| v.abs());
        let (before, peak, after) = (at(k.checked_add(1)), at(Some(k)), at(k.checked_sub(1)));
        let curvature = before - 2.0 * peak + after;
        let offset = if curvature < 0.0 {
            (0.5 * (before - after) / curvature).clamp(-0.5, 0.5)
        } else {
            0.0
        };
        if let Some(fit) = self.refine(w0, &y, ey, lag as f64 + offset) {
            self.accept_fractional(w0, end, &y, fit);
        }
    }

    /// Correlates the window `y` (from `w0`, energy `ey`) against `sent` at every lag up to
    /// `max_lag` and returns the best, among offsets whose sent window holds `min_energy`,
    /// with the whole correlation (for a fit between frames).
    fn best_lag(
        &self,
        w0: u64,
        y: &[f64],
        ey: f64,
        max_lag: usize,
        min_energy: f64,
        sent: impl Fn(i64) -> f64,
    ) -> Option<Correlated> {
        let w = y.len();
        let seg_start = w0 as i64 - max_lag as i64;
        let s: Vec<f64> = (0..max_lag + w)
            .map(|j| sent(seg_start + j as i64))
            .collect();
        let r = cross_correlate(y, &s);
        // Energy of the sent window at each offset, by prefix sums.
        let mut prefix = Vec::with_capacity(s.len() + 1);
        prefix.push(0.0);
        let mut acc = 0.0;
        for v in &s {
            acc += v * v;
            prefix.push(acc);
        }
        let mut best: Option<(usize, f64, f64)> = None;
        for (k, &rk) in r.iter().enumerate() {
            let ex = prefix[k + w] - prefix[k];
            if ex < min_energy || ey <= 0.0 {
                continue;
            }
            let rho = rk / (ey * ex).sqrt();
            if best.is_none_or(|(_, b, _)| rho.abs() > b.abs()) {
                best = Some((k, rho, rk / ex));
            }
        }
        let (k, rho, gain) = best?;
        Some(Correlated {
            k,
            lag: max_lag as i64 - k as i64,
            rho,
            gain,
            r,
        })
    }

    /// The normalised correlation and least-squares gain of the window `y`
    /// (from `w0`, energy `ey`) against the band-limited signal delayed by
    /// `tau` frames; `None` without a band-limited signal or enough energy.
    fn fit(&self, w0: u64, y: &[f64], ey: f64, tau: f64) -> Option<Fit> {
        let (band, _) = self.band_limited()?;
        let lag = tau.round() as i64;
        let kernel = band.limit().kernel(tau - lag as f64);
        let (mut r, mut ex) = (0.0, 0.0);
        for (i, v) in y.iter().enumerate() {
            let x = band.delayed((w0 + i as u64) as i64 - lag, &kernel);
            r += v * x;
            ex += x * x;
        }
        (ex >= self.min_energy() && ey > 0.0).then(|| Fit {
            tau,
            rho: r / (ey * ex).sqrt(),
            gain: r / ex,
        })
    }

    /// The fractional lag near `tau` where the window correlates best:
    /// parabola fits through three lags at steps of 0.1, 0.02, 0.004 and
    /// 0.0008 frames (the correlation is a smooth peak within ±1.3 frames
    /// of its maximum for a signal band-limited to 0.4 × the rate).
    fn refine(&self, w0: u64, y: &[f64], ey: f64, tau: f64) -> Option<Fit> {
        let mut tau = tau;
        for h in [0.1, 0.02, 0.004, 0.0008] {
            let before = self.fit(w0, y, ey, tau - h)?.rho.abs();
            let here = self.fit(w0, y, ey, tau)?.rho.abs();
            let after = self.fit(w0, y, ey, tau + h)?.rho.abs();
            let curvature = before - 2.0 * here + after;
            let step = if curvature < 0.0 {
                0.5 * h * (before - after) / curvature
            } else if after > before {
                2.0 * h
            } else {
                -2.0 * h
            };
            tau += step.clamp(-4.0 * h, 4.0 * h);
        }
        self.fit(w0, y, ey, tau)
    }

    fn note_correlation(&mut self, lag: i64, rho: f64) {
        if rho.abs() > self.best_correlation.abs() {
            self.best_correlation = rho;
            self.best_correlation_lag = Some(lag);
        }
    }

    /// [`accept`](Self::accept) for the band-limited signal at the
    /// fractional lag of `fit`: a lag held before within [`SAME_LAG`]
    /// keeps its whole part, so that a re-lock on the same path is no change.
    fn accept_fractional(&mut self, w0: u64, end: u64, y: &[f64], fit: Fit) -> bool {
        let Some((band, _)) = self.band_limited() else {
            return false;
        };
        let lag = self
            .lag_frames
            .iter()
            .find(|h| (h.tau - fit.tau).abs() < SAME_LAG && (h.lag as f64 - fit.tau).abs() < 1.0)
            .map_or(fit.tau.round() as i64, |h| h.lag);
        let kernel = band.limit().kernel(fit.tau - lag as f64);
        let (previous_kernel, previous_tau) = (self.kernel.replace(kernel), self.tau);
        self.tau = fit.tau;
        if self.accept(w0, end, y, lag, fit.rho, fit.gain) {
            return true;
        }
        self.kernel = previous_kernel;
        self.tau = previous_tau;
        false
    }

    /// Locks at `lag` if the correlation is high enough and every sample
    /// of the window `y` (starting at `w0`) matches.
    fn accept(&mut self, w0: u64, end: u64, y: &[f64], lag: i64, rho: f64, gain: f64) -> bool {
        self.note_correlation(lag, rho);
        if rho.abs() < self.cfg.min_correlation || !self.comparable(w0, lag) {
            return false;
        }
        let bad = y
            .iter()
            .enumerate()
            .filter(|&(i, &v)| !self.matches(w0 + i as u64, v as f32, lag, gain))
            .count();
        if bad > 0 {
            let fraction = bad as f64 / y.len() as f64;
            if self.best_rejected_bad_fraction.is_none_or(|f| fraction < f) {
                self.best_rejected_bad_fraction = Some(fraction);
            }
            // Correlated but far from sample for sample, and never matched:
            // a converting path, unless a later window matches. A window with a
            // long exact run came through a plain path that a dropout spoilt
            // (and with windows every half window, one dropout spoils two).
            if self.mode == Mode::FullBand
                && self.band.is_some()
                && self.first_lock_frame.is_none()
                && fraction >= 0.25
                && self.longest_match(w0, y, lag, gain) < PLAIN_RUN
                && self.longest_silence(y, gain) < SILENT_RUN
            {
                self.rejections += 1;
                if self.rejections >= self.cfg.switch_after {
                    self.mode = Mode::Waiting;
                }
            }
            return false;
        }
        self.lock(w0, end, lag, gain);
        true
    }

    /// The longest run of consecutive frames of the window `y` (from `w0`)
    /// that match `lag` and `gain`.
    fn longest_match(&self, w0: u64, y: &[f64], lag: i64, gain: f64) -> usize {
        let (mut run, mut longest) = (0, 0);
        for (i, &v) in y.iter().enumerate() {
            if self.matches(w0 + i as u64, v as f32, lag, gain) {
                run += 1;
                longest = longest.max(run);
            } else {
                run = 0;
            }
        }
        longest
    }

    /// The longest run of consecutive silent frames of the window `y`.
    fn longest_silence(&self, y: &[f64], gain: f64) -> usize {
        let (mut run, mut longest) = (0, 0);
        for &v in y {
            if self.is_silent(v as f32, gain) {
                run += 1;
                longest = longest.max(run);
            } else {
                run = 0;
            }
        }
        longest
    }

    /// The captured frame `f` from the history, if it is still there.
    fn held(&self, f: u64) -> Option<f32> {
        let i = usize::try_from(f.checked_sub(self.hist_start)?).ok()?;
        self.hist.get(i).copied()
    }

    /// After the first lock at `lag` (window from `w0`): checks what came
    /// back before it, from where `lag` says the first sent frame returned
    /// (or the oldest frame still held). Frames `lag` does not explain were a
    /// change the search could not lock across, most often a dropout below
    /// the driver; the stream's first round trip is then searched for in the
    /// earliest [`EARLY_WINDOW`] frames of signal, and if they match a lag
    /// sample for sample, that lag is the first one and the change is a
    /// glitch with a lag change. Full-band signal only (what came back before
    /// a switch to the band-limited one is not compared).
    fn look_back(&mut self, w0: u64, lag: i64, gain: f64) {
        let lag_start = u64::try_from(lag).unwrap_or(0);
        let from = self.hist_start.max(lag_start);
        let mut last_bad = None;
        for f in from..w0 {
            let Some(v) = self.held(f) else { continue };
            if !self.matches(f, v, lag, gain) {
                self.unexplained_before_lock += 1;
                last_bad = Some(f);
            }
        }
        let Some(last_bad) = last_bad else {
            // Frames before `lag` came before the signal; from it on, all matched.
            self.first_lag_from_start = self.hist_start <= lag_start || w0 <= lag_start;
            return;
        };
        // The earliest signal: the first frame held that is not silent.
        let Some(s0) =
            (self.hist_start..w0).find(|&f| self.held(f).is_some_and(|v| !self.is_silent(v, gain)))
        else {
            return;
        };
        let Some(early) = self.early_lag(s0, w0, gain) else {
            return;
        };
        if early == lag {
            return;
        }
        // The early lag holds from s0 until its first mismatch; the glitch runs
        // from there to the last frame `lag` leaves unexplained.
        let mut end_early = s0;
        while end_early < w0
            && self
                .held(end_early)
                .is_some_and(|v| self.matches(end_early, v, early, gain))
        {
            end_early += 1;
        }
        let glitch_end = (last_bad + 1).max(end_early + 1);
        self.first_lag = Some(early);
        self.first_lock_frame = Some(s0);
        // The signal began at s0, where the early lag says the first sent
        // frame came back (all before it silent).
        self.first_lag_from_start = u64::try_from(early).is_ok_and(|e| e == s0);
        self.lag_frames.push(Held {
            lag: early,
            frames: end_early - s0,
            tau: early as f64,
        });
        self.frames_analysed += end_early - s0;
        self.glitches += 1;
        let silent = (end_early..glitch_end)
            .filter(|&f| self.held(f).is_some_and(|v| self.is_silent(v, gain)))
            .count() as u64;
        self.silent_frames += silent;
        let frames = glitch_end - end_early;
        self.glitch_list.insert(
            0,
            Glitch {
                start_frame: end_early,
                at_seconds: end_early as f64 / self.cfg.sample_rate,
                frames,
                ms: frames as f64 / self.cfg.sample_rate * 1e3,
                silent_frames: silent,
                lag_change: Some(lag - early),
            },
        );
        self.glitch_list.truncate(LISTED);
        self.lag_change_count += 1;
        self.lag_changes.insert(
            0,
            LagChange {
                at_frame: glitch_end,
                from: early,
                to: lag,
                delta: lag - early,
                fractional_delta: None,
            },
        );
        self.lag_changes.truncate(LISTED);
    }

    /// The lag that explains every frame of the [`EARLY_WINDOW`] from `s0`
    /// (ending before `end`), searched over every lag like the first lock.
    fn early_lag(&self, s0: u64, end: u64, gain: f64) -> Option<i64> {
        let w = EARLY_WINDOW;
        if s0 + w as u64 > end {
            return None;
        }
        let y: Vec<f64> = (s0..s0 + w as u64)
            .map(|f| self.held(f).map_or(0.0, f64::from))
            .collect();
        let ey: f64 = y.iter().map(|v| v * v).sum();
        let min_energy = 0.25 * w as f64 * self.power();
        let found = self.best_lag(
            s0,
            &y,
            ey,
            self.cfg.max_lag.min(s0 as usize),
            min_energy,
            |n| f64::from(self.seq.sample(n)),
        )?;
        (found.rho.abs() >= self.cfg.min_correlation
            && y.iter()
                .enumerate()
                .all(|(i, &v)| self.matches(s0 + i as u64, v as f32, found.lag, gain)))
        .then_some(found.lag)
    }

    /// Locks at `lag` with `gain` after the window `w0..end` matched. After
    /// a glitch, everything captured since it began is checked again
    /// against the new lag: the glitch ends where the new lag explains the
    /// capture, and further bad stretches in between are glitches of their
    /// own (late blocks in quick succession stay separate events).
    fn lock(&mut self, w0: u64, end: u64, lag: i64, gain: f64) {
        self.last_gain = Some(gain);
        let fractional = self.band_limited().is_some();
        if !fractional {
            self.tau = lag as f64;
        }
        let first = self.first_lock_frame.is_none();
        if first {
            self.first_lock_frame = Some(w0);
            self.first_lag = Some(lag);
        }
        self.state = State::Locked { lag, gain };
        if first && !fractional {
            self.look_back(w0, lag, gain);
        }
        let mut from = w0;
        let tau = self.tau;
        if let Some(g) = self.glitch.as_mut() {
            let changed = if fractional {
                (tau - g.tau_before).abs() >= SAME_LAG
            } else {
                lag != g.lag_before
            };
            if changed {
                g.lag_change = Some(lag - g.lag_before);
                self.lag_change_count += 1;
                if self.lag_changes.len() < LISTED {
                    self.lag_changes.push(LagChange {
                        at_frame: w0,
                        from: g.lag_before,
                        to: lag,
                        delta: lag - g.lag_before,
                        fractional_delta: fractional.then_some(tau - g.tau_before),
                    });
                }
            }
            // The glitch's first sample stays bad; the rest is re-checked.
            g.last_bad = g.start;
            g.good_run = 0;
            from = (g.start + 1).max(self.hist_start);
        }
        for f in from..end {
            let Some(&v) = usize::try_from(f - self.hist_start)
                .ok()
                .and_then(|i| self.hist.get(i))
            else {
                continue;
            };
            self.check(f, v, lag, gain, false);
        }
    }

    /// The findings so far; an open glitch is counted as ending at the
    /// last sample. Call after the last [`push`](Self::push).
    pub fn finish(&mut self) -> Analysis {
        if let Some(g) = self.glitch {
            let end = match self.state {
                State::Locked { .. } => g.last_bad + 1,
                State::Searching { .. } => self.next_frame.unwrap_or(g.start + 1),
            };
            self.close_glitch(end);
        }
        if self.glitch.is_none() {
            self.commit_error(self.pending_error.len());
        }
        let held = self.lag_frames.iter().max_by_key(|h| h.frames);
        let last_lag = self.lag_changes.last().map(|c| c.to).or(self.first_lag);
        let error_rms_db = (self.reference_energy > 0.0).then(|| {
            if self.error_energy > 0.0 {
                (10.0 * (self.error_energy / self.reference_energy).log10()).max(EXACT_ERROR_DB)
            } else {
                EXACT_ERROR_DB
            }
        });
        Analysis {
            locked: self.first_lock_frame.is_some(),
            lag_frames: held.map(|h| h.lag),
            first_lag_frames: self.first_lag,
            last_lag_frames: last_lag,
            gain: self.last_gain,
            glitches: self.glitches,
            glitch_list: self.glitch_list.clone(),
            lag_changes: self.lag_changes.clone(),
            lag_change_count: self.lag_change_count,
            silent_frames: self.silent_frames,
            frames_captured: self.frames_captured,
            frames_analysed: self.frames_analysed,
            first_lock_frame: self.first_lock_frame,
            first_lag_from_start: self.first_lag_from_start,
            unexplained_before_lock: self.unexplained_before_lock,
            capture_gaps: self.capture_gaps,
            input_peak: self.input_peak,
            best_correlation: self.best_correlation,
            best_correlation_lag: self.best_correlation_lag,
            best_rejected_bad_fraction: self.best_rejected_bad_fraction,
            converted: self.mode != Mode::FullBand,
            band_limited_from_frame: match self.mode {
                Mode::BandLimited { from } => Some(from),
                _ => None,
            },
            fractional_lag_frames: held.map(|h| h.tau),
            error_rms_db,
        }
    }
}

/// What to measure.
#[derive(Debug, Clone, PartialEq)]
pub struct LoopbackOptions {
    /// Buffer size; `None`: the driver's preferred.
    pub buffer_frames: Option<i32>,
    /// Sample rate; `None`: the driver's current.
    pub sample_rate: Option<f64>,
    /// How long to stream.
    pub duration: Duration,
    /// The output the sequence is played on (the others play silence).
    pub output_channel: i32,
    /// The input it should come back on.
    pub input_channel: i32,
    /// More (output, input) pairs measured in the same stream: the sequence is played on
    /// each of their outputs too, and each input is analysed on its own (a device made of
    /// several, whose paths must line up). Each is reported in [`LoopbackReport::also`].
    pub also: Vec<(i32, i32)>,
    /// Largest accepted |measured − reported| round trip, ms.
    pub tolerance_ms: f64,
    /// Peak level of the sequence, dBFS.
    pub level_dbfs: f64,
    /// Host capabilities announced to the driver.
    pub host: HostOptions,
}

impl Default for LoopbackOptions {
    fn default() -> Self {
        Self {
            buffer_frames: None,
            sample_rate: None,
            duration: Duration::from_secs(10),
            output_channel: 0,
            input_channel: 0,
            also: Vec::new(),
            tolerance_ms: 2.0,
            level_dbfs: -6.0,
            host: HostOptions::default(),
        }
    }
}

/// Live figures, updated by the driver thread (atomics only).
#[derive(Debug, Default)]
pub struct LoopbackLive {
    /// Switch count, position and continuity.
    pub switches: SwitchCounters,
    /// Captured blocks the ring had no room for (the analysis fell behind).
    pub dropped_blocks: AtomicU64,
    /// Peak of the captured input since the last progress update, as f32
    /// bits (the driver thread raises it, `run` takes and clears it).
    pub input_peak_bits: AtomicU64,
    /// Set by `run` when the analyser asks for the band-limited signal.
    pub band_limit_requested: AtomicBool,
    /// Set by the driver thread when it switched: the first band-limited
    /// frame + 1 (0: still the full-band sequence).
    pub band_limited_from: AtomicU64,
}

/// What the progress callback sees, about four times a second.
#[derive(Debug, Clone, Copy)]
pub struct LoopbackProgress<'a> {
    /// Driver-thread figures.
    pub live: &'a LoopbackLive,
    /// Time since `start`.
    pub elapsed: Duration,
    /// Searching or locked (and the lag).
    pub state: LockState,
    /// Glitches so far.
    pub glitches: u64,
    /// Sample rate, to turn the lag into ms.
    pub sample_rate: f64,
    /// Input peak since the previous update (full scale 1.0).
    pub input_peak: f64,
}

/// The measurement.
#[derive(Debug, Clone, Serialize)]
pub struct LoopbackReport {
    /// Driver name.
    pub driver: String,
    /// Sample rate used.
    pub sample_rate: f64,
    /// Buffer size used.
    pub buffer_frames: i32,
    /// Output the sequence was played on.
    pub output_channel: i32,
    /// Input it was captured on.
    pub input_channel: i32,
    /// Reported latencies (input, output), frames, read while streaming.
    pub latencies: (i32, i32),
    /// Reported round trip (input + output), frames.
    pub reported_frames: i64,
    /// The same in ms.
    pub reported_ms: f64,
    /// Measured round trip (the lag held longest), frames.
    pub measured_frames: Option<i64>,
    /// The same with its fraction (a converting path), frames.
    pub fractional_lag_frames: Option<f64>,
    /// The same in ms (with the fraction).
    pub measured_ms: Option<f64>,
    /// Measured − reported, ms.
    pub difference_ms: Option<f64>,
    /// The accepted |difference|, ms.
    pub tolerance_ms: f64,
    /// |difference| ≤ tolerance.
    pub within_tolerance: bool,
    /// Gain from output to input, dB.
    pub gain_db: Option<f64>,
    /// The input came back with inverted polarity.
    pub inverted: bool,
    /// The full-band signal did not come back sample for sample, so the path
    /// was measured with the band-limited signal (it converts the rate).
    pub converted: bool,
    /// RMS of (captured − expected) over the matching samples, dB relative
    /// to the signal ([`EXACT_ERROR_DB`]: exact).
    pub error_rms_db: Option<f64>,
    /// The bound on `error_rms_db` for a converting path, dB.
    pub max_error_rms_db: f64,
    /// Glitch events.
    pub glitches: u64,
    /// The first glitches.
    pub glitch_list: Vec<Glitch>,
    /// Lag changes (listed up to 32).
    pub lag_changes: Vec<LagChange>,
    /// Number of lag changes.
    pub lag_change_count: u64,
    /// Silent frames inside glitches.
    pub silent_frames: u64,
    /// Sample-position discontinuities seen by the host.
    pub discontinuities: u64,
    /// `kAsioOverload` messages received.
    pub overloads: u64,
    /// `kAsioResetRequest` messages received.
    pub reset_requests: u64,
    /// `kAsioResyncRequest` messages received.
    pub resync_requests: u64,
    /// Switches received.
    pub switches: u64,
    /// Switches the wall clock expected from the first to the last.
    pub expected_switches: f64,
    /// Seconds streamed (wall clock).
    pub seconds: f64,
    /// Seconds of capture compared against the sent signal.
    pub seconds_analysed: f64,
    /// Captured blocks lost by the host (analysis too slow); not a driver fault.
    pub capture_gaps: u64,
    /// Peak of the captured input, dBFS.
    pub input_peak_dbfs: f64,
    /// The analyser's raw findings.
    pub analysis: Analysis,
    /// Signal found, no glitch, no discontinuity, latency within tolerance (this pair and
    /// every pair of `also`).
    pub passed: bool,
    /// Why not, in one line.
    pub reason: Option<String>,
    /// The pairs of [`LoopbackOptions::also`], measured in the same stream (their stream
    /// figures are this report's; their own `also` is empty).
    pub also: Vec<LoopbackReport>,
}

/// Why the measurement could not run.
#[derive(Debug, thiserror::Error)]
pub enum LoopbackError {
    /// A driver call failed.
    #[error(transparent)]
    Call(#[from] CallError),
    /// The options do not fit the driver.
    #[error("{0}")]
    Setup(String),
}

/// Capture ring element: (absolute frame, sample).
type Captured = (u64, f32);

struct LoopHandler {
    live: Arc<LoopbackLive>,
    watch: SwitchWatch,
    seq: Arc<Sequence>,
    band: Arc<BandLimited>,
    /// First frame of the band-limited signal, once switched.
    switch_at: Option<u64>,
    /// One capture ring per input analysed, with its input channel (the first is the main
    /// pair's).
    inputs: Vec<(i32, rtrb::Producer<Captured>)>,
    next_frame: u64,
    /// The outputs that play the sequence.
    outputs: Vec<i32>,
}

impl PeriodHandler for LoopHandler {
    fn process(&mut self, period: &mut Period<'_>) {
        self.watch.on_switch(period, &self.live.switches);
        let frames = period.frames;
        let n0 = self.next_frame;
        self.next_frame += frames as u64;
        if self.switch_at.is_none() && self.live.band_limit_requested.load(Ordering::Relaxed) {
            self.switch_at = Some(n0);
            self.live.band_limited_from.store(n0 + 1, Ordering::Release);
        }
        let mut peak = 0.0f32;
        for b in 0..period.buffer_count() {
            let t = period.sample_type(b);
            if period.is_input(b) {
                let channel = period.channel(b);
                let Some((_, producer)) = self.inputs.iter_mut().find(|(c, _)| *c == channel)
                else {
                    continue;
                };
                let buf = period.buffer(b);
                match producer.write_chunk_uninit(frames) {
                    Ok(chunk) => {
                        let samples = (0..frames).map(|i| {
                            let v = read_sample(buf, t, i).unwrap_or(0.0) as f32;
                            peak = peak.max(v.abs());
                            (n0 + i as u64, v)
                        });
                        chunk.fill_from_iter(samples);
                    }
                    Err(_) => {
                        self.live.dropped_blocks.fetch_add(1, Ordering::Relaxed);
                    }
                }
            } else if self.outputs.contains(&period.channel(b)) {
                let buf = period.buffer_mut(b);
                for i in 0..frames {
                    let n = n0 + i as u64;
                    let v = match self.switch_at {
                        Some(from) if n >= from => self.band.sample(n as i64),
                        _ => self.seq.sample(n as i64),
                    };
                    write_sample(buf, t, i, f64::from(v));
                }
            } else {
                period.buffer_mut(b).fill(0);
            }
        }
        // Bit patterns of non-negative floats order like the floats.
        self.live
            .input_peak_bits
            .fetch_max(u64::from(peak.to_bits()), Ordering::Relaxed);
        SwitchWatch::done(&self.live.switches);
    }

    fn as_any(&mut self) -> &mut dyn std::any::Any {
        self
    }
}

fn drain(consumer: &mut rtrb::Consumer<Captured>, analyser: &mut Analyser) {
    let n = consumer.slots();
    if n == 0 {
        return;
    }
    if let Ok(chunk) = consumer.read_chunk(n) {
        let (a, b) = chunk.as_slices();
        for &(frame, v) in a.iter().chain(b) {
            analyser.push(frame, v);
        }
        chunk.commit_all();
    }
}

fn db(linear: f64) -> f64 {
    if linear > 0.0 {
        20.0 * linear.log10()
    } else {
        f64::NEG_INFINITY
    }
}

/// A sample type this host can read and write (little-endian PCM/float).
fn check_type(driver: &mut Driver, channel: i32, is_input: bool) -> Result<(), LoopbackError> {
    let info = driver.channel_info(channel, is_input)?;
    let mut probe = [0u8; 8];
    if write_sample(&mut probe, info.sample_type, 0, 0.0) {
        Ok(())
    } else {
        Err(LoopbackError::Setup(format!(
            "{} {channel} uses ASIO sample type {} ({}), which this host cannot {}",
            if is_input { "input" } else { "output" },
            info.sample_type,
            asio_abi::SampleType::from_raw(info.sample_type)
                .map_or_else(|| "unknown".to_owned(), |t| format!("{t:?}")),
            if is_input { "read" } else { "write" }
        )))
    }
}

/// Initialises `driver`, plays the sequence on `options.output_channel`,
/// captures `options.input_channel` for `options.duration` and reports.
/// `progress` is called about four times a second.
pub fn run(
    driver: &mut Driver,
    options: &LoopbackOptions,
    progress: &mut dyn FnMut(&LoopbackProgress<'_>),
) -> Result<LoopbackReport, LoopbackError> {
    driver.try_init()?;
    let name = driver.name();
    if let Some(rate) = options.sample_rate {
        driver.set_sample_rate(rate)?;
    }
    let rate = driver.sample_rate()?;
    let (ins, outs) = driver.channels()?;
    let pairs: Vec<(i32, i32)> = std::iter::once((options.output_channel, options.input_channel))
        .chain(options.also.iter().copied())
        .collect();
    for (n, &(oc, ic)) in pairs.iter().enumerate() {
        if !(0..outs).contains(&oc) {
            return Err(LoopbackError::Setup(format!(
                "output {oc} does not exist: the driver has {outs} output(s) (0–{})",
                outs - 1
            )));
        }
        if !(0..ins).contains(&ic) {
            return Err(LoopbackError::Setup(format!(
                "input {ic} does not exist: the driver has {ins} input(s) (0–{})",
                ins - 1
            )));
        }
        if pairs.iter().take(n).any(|&(_, i)| i == ic) {
            return Err(LoopbackError::Setup(format!(
                "input {ic} is in two pairs: each pair needs an input of its own"
            )));
        }
        check_type(driver, oc, false)?;
        check_type(driver, ic, true)?;
    }
    let frames = match options.buffer_frames {
        Some(f) => f,
        None => driver.buffer_size()?.preferred,
    };
    let frames_usize = usize::try_from(frames)
        .ok()
        .filter(|&f| f > 0)
        .ok_or_else(|| LoopbackError::Setup(format!("invalid buffer size {frames}")))?;
    let seq = Arc::new(Sequence::standard(options.level_dbfs));
    let band = Arc::new(BandLimited::new(&seq, rate));
    // Everything the driver thread touches is allocated here: each ring holds
    // two seconds of capture (at least 64 buffers).
    let capacity = ((rate * 2.0) as usize).max(64 * frames_usize);
    let (producers, mut consumers): (Vec<_>, Vec<_>) = pairs
        .iter()
        .map(|&(_, ic)| {
            let (p, c) = rtrb::RingBuffer::<Captured>::new(capacity);
            ((ic, p), c)
        })
        .unzip();
    let live = Arc::new(LoopbackLive::default());
    let handler = LoopHandler {
        live: Arc::clone(&live),
        watch: SwitchWatch::new(frames_usize),
        seq: Arc::clone(&seq),
        band: Arc::clone(&band),
        switch_at: None,
        inputs: producers,
        next_frame: 0,
        outputs: pairs.iter().map(|&(oc, _)| oc).collect(),
    };
    let channels: Vec<(bool, i32)> = pairs
        .iter()
        .map(|&(_, ic)| (true, ic))
        .chain((0..outs).map(|c| (false, c)))
        .collect();
    let session = driver.create_buffers(&channels, frames, options.host, Box::new(handler))?;
    let mut config = AnalyserConfig::new(rate, seq.period());
    if let Ok((li, lo)) = driver.latencies() {
        // Search well beyond what the driver reports.
        let reported = usize::try_from(i64::from(li) + i64::from(lo)).unwrap_or(0);
        config.max_lag = config.max_lag.max(2 * reported + frames_usize);
    }
    let mut analysers: Vec<Analyser> = pairs
        .iter()
        .map(|_| Analyser::with_band_limit(Arc::clone(&seq), Arc::clone(&band), config))
        .collect();
    session.begin();
    let started = Instant::now();
    if let Err(e) = driver.start() {
        session.end();
        let _ = driver.dispose_buffers();
        return Err(e.into());
    }
    let mut next_report = Duration::ZERO;
    let mut latencies = None;
    // The main pair's analyser drives the progress line.
    let progress_of = |analysers: &[Analyser], elapsed: Duration| {
        let main = analysers.first();
        LoopbackProgress {
            live: &live,
            elapsed,
            state: main.map_or(LockState::Searching, Analyser::state),
            glitches: main.map_or(0, Analyser::glitches),
            sample_rate: rate,
            input_peak: take_peak(&live.input_peak_bits),
        }
    };
    while started.elapsed() < options.duration {
        for (consumer, analyser) in consumers.iter_mut().zip(analysers.iter_mut()) {
            drain(consumer, analyser);
            if analyser.wants_band_limited() {
                live.band_limit_requested.store(true, Ordering::Relaxed);
                let from = live.band_limited_from.load(Ordering::Acquire);
                if from > 0 {
                    analyser.band_limit_from(from - 1);
                }
            }
        }
        let elapsed = started.elapsed();
        if elapsed >= next_report {
            progress(&progress_of(&analysers, elapsed));
            next_report += Duration::from_millis(250);
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    // Latencies as reported while streaming (after any change announced).
    if let Ok(l) = driver.latencies() {
        latencies = Some(l);
    }
    let stop = driver.stop();
    let seconds = started.elapsed().as_secs_f64();
    session.end();
    for (consumer, analyser) in consumers.iter_mut().zip(analysers.iter_mut()) {
        drain(consumer, analyser);
    }
    progress(&progress_of(&analysers, started.elapsed()));
    let counters = Arc::clone(session.counters());
    driver.dispose_buffers()?;
    drop(session);
    stop?;
    let latencies = match latencies {
        Some(l) => l,
        None => driver.latencies()?,
    };
    let switches = live.switches.switches.load(Ordering::Acquire);
    let mut reports = pairs
        .iter()
        .zip(analysers.iter_mut())
        .map(|(&pair, analyser)| {
            report(ReportInput {
                driver: name.clone(),
                rate,
                frames,
                pair,
                tolerance_ms: options.tolerance_ms,
                latencies,
                analysis: analyser.finish(),
                discontinuities: live.switches.discontinuities.load(Ordering::Acquire),
                overloads: counters.overloads.load(Ordering::Acquire),
                reset_requests: counters.reset_requests.load(Ordering::Acquire),
                resync_requests: counters.resync_requests.load(Ordering::Acquire),
                switches,
                expected_switches: live.switches.expected_switches(rate, frames),
                seconds,
                dropped_blocks: live.dropped_blocks.load(Ordering::Acquire),
            })
        });
    let mut main = reports
        .next()
        .ok_or_else(|| LoopbackError::Setup("no pair to measure".to_owned()))?;
    main.also = reports.collect();
    // The whole measurement passes when every pair does; the first pair that fails says why.
    if main.reason.is_none() {
        if let Some(r) = main.also.iter().find(|r| r.reason.is_some()) {
            main.reason = Some(format!(
                "output {} → input {}: {}",
                r.output_channel,
                r.input_channel,
                r.reason.as_deref().unwrap_or_default()
            ));
        }
    }
    main.passed = main.reason.is_none();
    Ok(main)
}

struct ReportInput {
    driver: String,
    rate: f64,
    frames: i32,
    /// (output, input) of the pair reported.
    pair: (i32, i32),
    tolerance_ms: f64,
    latencies: (i32, i32),
    analysis: Analysis,
    discontinuities: u64,
    overloads: u64,
    reset_requests: u64,
    resync_requests: u64,
    switches: u64,
    expected_switches: f64,
    seconds: f64,
    dropped_blocks: u64,
}

fn report(i: ReportInput) -> LoopbackReport {
    let a = i.analysis;
    let rate = i.rate;
    let ms = |frames: i64| frames as f64 / rate * 1e3;
    let reported_frames = i64::from(i.latencies.0) + i64::from(i.latencies.1);
    let reported_ms = ms(reported_frames);
    let measured_ms = a
        .fractional_lag_frames
        .or(a.lag_frames.map(|l| l as f64))
        .map(|f| f / rate * 1e3);
    let difference_ms = measured_ms.map(|m| m - reported_ms);
    let within_tolerance = difference_ms.is_some_and(|d| d.abs() <= i.tolerance_ms);
    let (oc, ic) = i.pair;
    let peak_db = db(a.input_peak);
    let reason = if !a.locked {
        Some(if a.input_peak < 1e-4 {
            format!(
                "no signal came back on input {ic}: is output {oc} connected to input {ic}? \
                 (peak {peak_db:.1} dBFS)"
            )
        } else if a.converted && a.band_limited_from_frame.is_none() {
            format!(
                "the full-band test signal came back on input {ic} but not sample for sample, \
                 and the stream ended before the band-limited one could be measured (stream \
                 longer?)"
            )
        } else if a.converted {
            format!(
                "the test signal came back on input {ic} neither sample for sample nor, \
                 band-limited to {:.1} kHz, within 1 % of its peak (best correlation {:.2} at \
                 a lag of {} frames, {:.0} % of samples off): a filter, an effect or a wrong \
                 rate between output {oc} and input {ic}?",
                BandLimit::for_rate(rate).stop_hz() / 1e3,
                a.best_correlation.abs(),
                a.best_correlation_lag.unwrap_or(0),
                a.best_rejected_bad_fraction.unwrap_or(1.0) * 100.0
            )
        } else if a.best_correlation.abs() >= 0.5 {
            format!(
                "the test signal came back on input {ic} (correlation {:.2} at a lag of {} \
                 frames) but not sample for sample ({:.0} % of samples off by more than 10 %): \
                 is there resampling, an effect or an analogue path between output {oc} and \
                 input {ic}?",
                a.best_correlation.abs(),
                a.best_correlation_lag.unwrap_or(0),
                a.best_rejected_bad_fraction.unwrap_or(1.0) * 100.0
            )
        } else {
            format!(
                "input {ic} carries a signal (peak {peak_db:.1} dBFS) but not the test signal \
                 from output {oc} (best correlation {:.2}): is output {oc} connected to input {ic}?",
                a.best_correlation.abs()
            )
        })
    } else if a.glitches > 0 {
        let first = a
            .glitch_list
            .first()
            .map(|g| format!(" (first at {:.3} s, {} frames)", g.at_seconds, g.frames))
            .unwrap_or_default();
        Some(format!(
            "{} glitch{} in the returned signal{first}",
            a.glitches,
            if a.glitches == 1 { "" } else { "es" }
        ))
    } else if let Some(e) = a
        .error_rms_db
        .filter(|&e| a.converted && e > MAX_CONVERTED_ERROR_DB)
    {
        Some(format!(
            "the signal came back through a converting path with an error of {e:.1} dB \
             relative to it, above the bound of {MAX_CONVERTED_ERROR_DB} dB"
        ))
    } else if i.discontinuities > 0 {
        Some(format!(
            "{} sample-position discontinuit{} (the driver's position did not advance by the \
             buffer size)",
            i.discontinuities,
            if i.discontinuities == 1 { "y" } else { "ies" }
        ))
    } else if !within_tolerance {
        Some(format!(
            "the measured round trip ({:.3} ms) differs from the reported one ({reported_ms:.3} \
             ms) by {:+.3} ms, more than the tolerance of {} ms",
            measured_ms.unwrap_or(f64::NAN),
            difference_ms.unwrap_or(f64::NAN),
            i.tolerance_ms
        ))
    } else {
        None
    };
    LoopbackReport {
        driver: i.driver,
        sample_rate: rate,
        buffer_frames: i.frames,
        output_channel: oc,
        input_channel: ic,
        latencies: i.latencies,
        reported_frames,
        reported_ms,
        measured_frames: a.lag_frames,
        fractional_lag_frames: a.fractional_lag_frames,
        measured_ms,
        difference_ms,
        tolerance_ms: i.tolerance_ms,
        within_tolerance,
        gain_db: a.gain.map(|g| db(g.abs())),
        inverted: a.gain.is_some_and(|g| g < 0.0),
        converted: a.converted,
        error_rms_db: a.error_rms_db,
        max_error_rms_db: MAX_CONVERTED_ERROR_DB,
        glitches: a.glitches,
        glitch_list: a.glitch_list.clone(),
        lag_changes: a.lag_changes.clone(),
        lag_change_count: a.lag_change_count,
        silent_frames: a.silent_frames,
        discontinuities: i.discontinuities,
        overloads: i.overloads,
        reset_requests: i.reset_requests,
        resync_requests: i.resync_requests,
        switches: i.switches,
        expected_switches: i.expected_switches,
        seconds: i.seconds,
        seconds_analysed: a.frames_analysed as f64 / rate,
        capture_gaps: a.capture_gaps.max(i.dropped_blocks),
        input_peak_dbfs: peak_db,
        passed: reason.is_none(),
        reason,
        analysis: a,
        also: Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const LAG: i64 = 1234;
    const RATE: f64 = 48_000.0;

    fn seq() -> Arc<Sequence> {
        Arc::new(Sequence::standard(-6.0))
    }

    fn config(seq: &Sequence) -> AnalyserConfig {
        AnalyserConfig {
            max_lag: 8192,
            ..AnalyserConfig::new(RATE, seq.period())
        }
    }

    /// What a perfect loopback captures: the sequence `lag` frames late.
    fn clean(seq: &Sequence, lag: i64, frames: usize) -> Vec<f32> {
        (0..frames).map(|m| seq.sample(m as i64 - lag)).collect()
    }

    fn analyse(seq: Arc<Sequence>, capture: &[f32]) -> Analysis {
        let cfg = config(&seq);
        let mut a = Analyser::new(seq, cfg);
        // In blocks, like the ring delivers them.
        for (i, block) in capture.chunks(256).enumerate() {
            a.push_block(i as u64 * 256, block);
        }
        a.finish()
    }

    #[test]
    fn every_lfsr_runs_through_all_its_states() {
        for order in 2..=20 {
            let taps = crate::sequence::mls_taps(order);
            let start = (1u32 << order) - 1;
            let mut state = start;
            let mut steps = 0usize;
            loop {
                state = crate::sequence::lfsr_step(state, order, taps).1;
                steps += 1;
                if state == start || steps > 1 << order {
                    break;
                }
            }
            assert_eq!(steps, (1 << order) - 1, "order {order} is not maximal");
        }
    }

    #[test]
    fn short_sequences_have_the_ideal_periodic_autocorrelation() {
        for order in [5, 9, 11] {
            let s = Sequence::mls(order, 1.0);
            let p = s.period();
            let t = s.as_slice();
            for shift in 0..p {
                let r: f32 = (0..p).map(|i| t[i] * t[(i + shift) % p]).sum();
                let want = if shift == 0 { p as f32 } else { -1.0 };
                assert_eq!(r, want, "order {order}, shift {shift}");
            }
        }
        let s = Sequence::standard(-6.0);
        assert_eq!(s.period(), (1 << 18) - 1);
        assert_eq!(s.sample(-1), 0.0);
        assert!((f64::from(s.sample(5).abs()) - 0.501).abs() < 1e-3);
        assert_eq!(s.sample(7), s.sample(7 + s.period() as i64));
    }

    #[test]
    fn a_clean_delayed_copy_gives_the_exact_lag_and_no_glitch() {
        let s = seq();
        let a = analyse(Arc::clone(&s), &clean(&s, LAG, 2 * RATE as usize));
        assert!(a.locked, "{a:#?}");
        assert_eq!(a.lag_frames, Some(LAG));
        assert_eq!(a.first_lag_frames, Some(LAG));
        assert_eq!(a.last_lag_frames, Some(LAG));
        assert_eq!(a.glitches, 0, "{a:#?}");
        assert!(a.lag_changes.is_empty());
        assert!((a.gain.unwrap() - 1.0).abs() < 1e-6);
        assert_eq!(a.capture_gaps, 0);
        // Locked on the first window that holds enough of the signal.
        assert!(a.first_lock_frame.unwrap() < 8192, "{a:#?}");
        assert!(a.frames_analysed > 2 * RATE as u64 - 8192);
    }

    #[test]
    fn lag_zero_and_a_lag_at_the_end_of_the_range_are_found() {
        let s = seq();
        for lag in [0, 8192] {
            let a = analyse(Arc::clone(&s), &clean(&s, lag, RATE as usize));
            assert_eq!(a.lag_frames, Some(lag));
            assert_eq!(a.glitches, 0);
        }
    }

    #[test]
    fn one_hundred_dropped_frames_make_one_glitch_and_a_lag_change_of_100() {
        let s = seq();
        let mut capture = clean(&s, LAG, 3 * RATE as usize);
        let at = 48_000;
        capture.drain(at..at + 100);
        let a = analyse(Arc::clone(&s), &capture);
        assert_eq!(a.glitches, 1, "{a:#?}");
        assert_eq!(a.lag_change_count, 1);
        let change = &a.lag_changes[0];
        assert_eq!(
            (change.from, change.to, change.delta),
            (LAG, LAG - 100, -100)
        );
        let g = &a.glitch_list[0];
        assert_eq!(g.lag_change, Some(-100));
        assert!(
            (at as u64..at as u64 + 64).contains(&g.start_frame),
            "{g:?}"
        );
        // No content is missing around the jump: only a frame or so fits neither lag.
        assert!(g.frames <= 16, "{g:?}");
        assert_eq!(a.lag_frames, Some(LAG - 100), "the new lag held longer");
        assert_eq!(a.first_lag_frames, Some(LAG));
    }

    #[test]
    fn inserted_frames_make_a_positive_lag_change() {
        let s = seq();
        let mut capture = clean(&s, LAG, 2 * RATE as usize);
        let at = 30_000;
        let copy: Vec<f32> = capture[at - 37..at].to_vec();
        capture.splice(at..at, copy);
        let a = analyse(Arc::clone(&s), &capture);
        assert_eq!(a.glitches, 1, "{a:#?}");
        assert_eq!(a.lag_changes.len(), 1);
        assert_eq!(a.lag_changes[0].delta, 37);
    }

    #[test]
    fn a_burst_of_zeros_is_one_glitch_of_silence() {
        let s = seq();
        // 300 frames: longer than `relock_after`, found again by a re-lock;
        // 50 frames: ended by the next run of good samples.
        for len in [300usize, 50] {
            let mut capture = clean(&s, LAG, 2 * RATE as usize);
            let at = 40_000;
            capture[at..at + len].fill(0.0);
            let a = analyse(Arc::clone(&s), &capture);
            assert_eq!(a.glitches, 1, "{len}: {a:#?}");
            let g = &a.glitch_list[0];
            assert_eq!(g.start_frame, at as u64, "{g:?}");
            assert_eq!(g.frames, len as u64, "{g:?}");
            assert_eq!(g.silent_frames, len as u64, "{g:?}");
            assert_eq!(g.lag_change, None);
            assert_eq!(a.silent_frames, len as u64);
            assert!(a.lag_changes.is_empty());
            assert_eq!(a.lag_frames, Some(LAG));
        }
    }

    #[test]
    fn half_gain_and_16_bit_quantisation_are_not_glitches() {
        let s = seq();
        let capture: Vec<f32> = clean(&s, LAG, 2 * RATE as usize)
            .iter()
            .map(|&v| ((f64::from(v) * 0.5 * 32768.0).round() / 32768.0) as f32)
            .collect();
        let a = analyse(Arc::clone(&s), &capture);
        assert!(a.locked);
        assert_eq!(a.lag_frames, Some(LAG));
        assert_eq!(a.glitches, 0, "{a:#?}");
        let gain_db = 20.0 * a.gain.unwrap().log10();
        assert!((gain_db + 6.02).abs() < 0.01, "{gain_db}");
    }

    #[test]
    fn an_inverted_copy_locks_with_negative_gain() {
        let s = seq();
        let capture: Vec<f32> = clean(&s, LAG, RATE as usize).iter().map(|v| -v).collect();
        let a = analyse(Arc::clone(&s), &capture);
        assert_eq!(a.lag_frames, Some(LAG));
        assert_eq!(a.glitches, 0);
        assert!(a.gain.unwrap() < 0.0);
    }

    #[test]
    fn no_signal_or_an_unrelated_one_is_not_found() {
        let s = seq();
        let a = analyse(Arc::clone(&s), &vec![0.0; RATE as usize]);
        assert!(!a.locked);
        assert_eq!(a.lag_frames, None);
        assert_eq!(a.input_peak, 0.0);
        // Another sequence: loud, but not ours.
        let other = Sequence::mls(17, 0.5);
        let capture: Vec<f32> = (0..RATE as i64).map(|m| other.sample(m)).collect();
        let a = analyse(Arc::clone(&s), &capture);
        assert!(!a.locked, "{a:#?}");
        assert!(a.best_correlation.abs() < 0.2, "{a:#?}");
        assert!(a.input_peak > 0.4);
    }

    #[test]
    fn several_events_are_counted_and_ordered() {
        let s = seq();
        let mut capture = clean(&s, LAG, 3 * RATE as usize);
        // Noise instead of the signal (not silence), then silence, then a
        // loss of 64 frames, then another silence.
        for (i, v) in capture[20_000..20_010].iter_mut().enumerate() {
            *v = if i % 2 == 0 { 0.9 } else { -0.9 };
        }
        capture[50_000..50_064].fill(0.0);
        capture.drain(80_000..80_064);
        capture[110_000..110_128].fill(0.0);
        let a = analyse(Arc::clone(&s), &capture);
        assert_eq!(a.glitches, 4, "{a:#?}");
        let starts: Vec<u64> = a.glitch_list.iter().map(|g| g.start_frame).collect();
        assert_eq!(starts[0], 20_000);
        assert_eq!(starts[1], 50_000);
        assert!((80_000..80_064).contains(&starts[2]), "{starts:?}");
        assert_eq!(starts[3], 110_000);
        assert!(a.glitch_list[0].frames <= 10 && a.glitch_list[0].silent_frames == 0);
        assert_eq!(a.glitch_list[1].frames, 64);
        assert_eq!(a.glitch_list[3].frames, 128);
        assert_eq!(a.silent_frames, 64 + 128);
        assert_eq!(a.lag_changes.len(), 1);
        assert_eq!(a.lag_changes[0].delta, -64);
        assert!((a.glitch_list[1].at_seconds - 50_000.0 / RATE).abs() < 1e-12);
    }

    #[test]
    fn late_blocks_in_quick_succession_are_separate_glitches() {
        let s = seq();
        let mut capture = clean(&s, LAG, 2 * RATE as usize);
        // Eight silent 64-frame blocks, 64 good frames apart: longer than
        // `relock_after` in all, so the analyser searches again in between.
        for k in 0..8 {
            let at = 30_000 + k * 128;
            capture[at..at + 64].fill(0.0);
        }
        let a = analyse(Arc::clone(&s), &capture);
        assert_eq!(a.glitches, 8, "{a:#?}");
        for (k, g) in a.glitch_list.iter().enumerate() {
            assert_eq!(g.start_frame, 30_000 + k as u64 * 128, "{g:?}");
            assert_eq!((g.frames, g.silent_frames, g.lag_change), (64, 64, None));
        }
        assert!(a.lag_changes.is_empty());
        assert_eq!(a.silent_frames, 8 * 64);
        assert_eq!(a.lag_frames, Some(LAG));
    }

    #[test]
    fn report_explains_a_missing_signal_and_a_latency_mismatch() {
        let s = seq();
        let options = LoopbackOptions::default();
        let input = |analysis: Analysis, latencies| ReportInput {
            driver: "test".into(),
            rate: RATE,
            frames: 64,
            pair: (options.output_channel, options.input_channel),
            tolerance_ms: options.tolerance_ms,
            latencies,
            analysis,
            discontinuities: 0,
            overloads: 0,
            reset_requests: 0,
            resync_requests: 0,
            switches: 0,
            expected_switches: 0.0,
            seconds: 1.0,
            dropped_blocks: 0,
        };
        let silent = analyse(Arc::clone(&s), &vec![0.0; 10_000]);
        let r = report(input(silent, (600, 634)));
        assert!(!r.passed);
        let reason = r.reason.unwrap();
        assert!(
            reason.starts_with("no signal came back on input 0"),
            "{reason}"
        );
        assert!(reason.contains("-inf dBFS"), "{reason}");

        let good = analyse(Arc::clone(&s), &clean(&s, LAG, RATE as usize));
        let r = report(input(good.clone(), (600, 634)));
        assert!(r.passed, "{:?}", r.reason);
        assert_eq!(r.difference_ms, Some(0.0));
        // Reported 200 frames (4.2 ms) more than measured: beyond 2 ms.
        let r = report(input(good, (700, 734)));
        assert!(!r.passed);
        assert!(r.reason.unwrap().contains("differs from the reported"));
        assert!((r.difference_ms.unwrap() + 200.0 / 48.0).abs() < 1e-9);
    }
}

/// The band-limited signal through simulated converting paths: a host at one rate, a device
/// at another, Tenuto's resampler both ways.
#[cfg(test)]
mod converted_tests {
    use super::*;
    use tenuto_resample::Resampler;

    /// Frames between the two resamplers (the device's buffering), device frames.
    const BUFFERED: usize = 700;
    const PERIOD: usize = 256;

    #[derive(Debug, Clone, Copy, PartialEq)]
    enum Fault {
        None,
        /// One device frame lost at this device frame.
        DropFrame(u64),
        /// The capture side runs this many ppm fast.
        WrongRate(f64),
    }

    struct Run {
        analysis: Analysis,
        /// The round trip the resamplers and the buffer add, host frames.
        expected_lag: f64,
    }

    /// Streams `seconds` through host → device → host at `host`/`device` Hz, in periods,
    /// switching the sender to the band-limited signal when the analyser asks (as `run`'s
    /// driver thread does).
    fn stream(host: u32, device: u32, seconds: f64, fault: Fault) -> Run {
        let seq = Arc::new(Sequence::mls(16, 0.5));
        let band = Arc::new(BandLimited::new(&seq, f64::from(host)));
        let cfg = AnalyserConfig {
            max_lag: 8192,
            ..AnalyserConfig::new(f64::from(host), seq.period())
        };
        let mut a = Analyser::with_band_limit(Arc::clone(&seq), Arc::clone(&band), cfg);
        let mut up = Resampler::new(host, device, 1).unwrap();
        let mut down = Resampler::new(device, host, 1).unwrap();
        if let Fault::WrongRate(ppm) = fault {
            down.set_ratio_adjust_ppm(ppm);
        }
        let expected_lag = (BUFFERED as f64 + up.delay_frames()) * f64::from(host)
            / f64::from(device)
            + down.delay_frames();
        let mut between: VecDeque<f32> = vec![0.0; BUFFERED].into();
        let mut back: VecDeque<f32> = VecDeque::new();
        let (mut n0, mut device_frames) = (0u64, 0u64);
        let mut switch_at = None;
        let total = (seconds * f64::from(host)) as u64;
        while n0 < total {
            if switch_at.is_none() && a.wants_band_limited() {
                switch_at = Some(n0);
                a.band_limit_from(n0);
            }
            let sent: Vec<f32> = (n0..n0 + PERIOD as u64)
                .map(|n| match switch_at {
                    Some(from) if n >= from => band.sample(n as i64),
                    _ => seq.sample(n as i64),
                })
                .collect();
            let mut dev = vec![0.0; up.output_frames_max(PERIOD)];
            let (used, made) = up.process(&sent, &mut dev);
            assert_eq!(used, PERIOD);
            dev.truncate(made);
            if let Fault::DropFrame(at) = fault {
                if (device_frames..device_frames + made as u64).contains(&at) {
                    dev.remove((at - device_frames) as usize);
                }
            }
            device_frames += made as u64;
            between.extend(dev);
            let dev: Vec<f32> = between.drain(..between.len() - BUFFERED).collect();
            let mut out = vec![0.0; down.output_frames_max(dev.len())];
            let (used, made) = down.process(&dev, &mut out);
            assert_eq!(used, dev.len());
            back.extend(&out[..made]);
            let take = back.len().min(PERIOD);
            let captured: Vec<f32> = back.drain(..take).collect();
            a.push_block(n0, &captured);
            n0 += take as u64;
        }
        Run {
            analysis: a.finish(),
            expected_lag,
        }
    }

    fn report_of(a: Analysis, rate: f64, reported: i64) -> LoopbackReport {
        let options = LoopbackOptions::default();
        report(ReportInput {
            driver: "simulated".into(),
            rate,
            frames: PERIOD as i32,
            pair: (options.output_channel, options.input_channel),
            tolerance_ms: options.tolerance_ms,
            latencies: (reported as i32, 0),
            analysis: a,
            discontinuities: 0,
            overloads: 0,
            reset_requests: 0,
            resync_requests: 0,
            switches: 0,
            expected_switches: 0.0,
            seconds: 1.0,
            dropped_blocks: 0,
        })
    }

    fn assert_passes(host: u32, device: u32) {
        let run = stream(host, device, 2.0, Fault::None);
        let a = &run.analysis;
        assert!(a.converted && a.locked, "{a:#?}");
        assert_eq!((a.glitches, a.lag_change_count), (0, 0), "{a:#?}");
        let tau = a.fractional_lag_frames.unwrap();
        assert!(
            (tau - run.expected_lag).abs() < 0.01,
            "{host} → {device}: lag {tau} frames, the path's {}",
            run.expected_lag
        );
        let error = a.error_rms_db.unwrap();
        assert!(error < -90.0, "{host} → {device}: error {error:.1} dB");
        let gain_db = 20.0 * a.gain.unwrap().log10();
        assert!(gain_db.abs() < 0.01, "{gain_db}");
        // Measured well before the end: the switch took a fraction of a second.
        assert!(a.frames_analysed as f64 > 1.0 * f64::from(host), "{a:#?}");
        let r = report_of(
            run.analysis,
            f64::from(host),
            run.expected_lag.round() as i64,
        );
        assert!(r.passed, "{:?}", r.reason);
        assert!(r.converted);
        eprintln!(
            "{host} → {device} → {host}: lag {tau:.4} frames (path {:.4}), error {error:.1} dB, \
             gain {gain_db:+.5} dB",
            run.expected_lag
        );
    }

    #[test]
    fn a_44_1_khz_stream_through_a_48_khz_device_passes_at_its_fractional_lag() {
        assert_passes(44_100, 48_000);
    }

    #[test]
    fn a_96_khz_stream_through_a_48_khz_device_passes_at_its_fractional_lag() {
        assert_passes(96_000, 48_000);
    }

    #[test]
    fn a_dropped_device_frame_is_a_glitch_and_a_fractional_lag_change() {
        let run = stream(44_100, 48_000, 2.0, Fault::DropFrame(60_000));
        let a = &run.analysis;
        assert!(a.converted && a.locked, "{a:#?}");
        assert_eq!(a.glitches, 1, "{a:#?}");
        assert_eq!(a.lag_change_count, 1, "{a:#?}");
        // One device frame is 44.1/48 host frames.
        let d = a.lag_changes[0].fractional_delta.unwrap();
        assert!((d + 44.1 / 48.0).abs() < 0.01, "{d}");
        // The error around the glitch is the glitch's, not the path's.
        let error = a.error_rms_db.unwrap();
        assert!(error < -90.0, "{error:.1} dB");
        let r = report_of(run.analysis, 44_100.0, run.expected_lag.round() as i64);
        assert!(!r.passed);
        assert!(r.reason.unwrap().contains("glitch"));
    }

    #[test]
    fn a_wrong_rate_fails() {
        for ppm in [10.0, 1_000.0] {
            let run = stream(44_100, 48_000, 2.0, Fault::WrongRate(ppm));
            let a = &run.analysis;
            let r = report_of(a.clone(), 44_100.0, run.expected_lag.round() as i64);
            assert!(!r.passed, "{ppm} ppm: {a:#?}");
            eprintln!("{ppm} ppm: {}", r.reason.unwrap());
        }
    }

    #[test]
    fn a_path_that_does_not_convert_keeps_the_full_band_exact_check() {
        let seq = Arc::new(Sequence::mls(16, 0.5));
        let band = Arc::new(BandLimited::new(&seq, 48_000.0));
        let cfg = AnalyserConfig {
            max_lag: 8192,
            ..AnalyserConfig::new(48_000.0, seq.period())
        };
        let mut a = Analyser::with_band_limit(Arc::clone(&seq), band, cfg);
        let capture: Vec<f32> = (0..96_000).map(|m| seq.sample(m - 1234)).collect();
        for (i, block) in capture.chunks(256).enumerate() {
            a.push_block(i as u64 * 256, block);
            assert!(!a.wants_band_limited());
        }
        let a = a.finish();
        assert!(!a.converted && a.locked);
        assert_eq!(a.lag_frames, Some(1234));
        assert_eq!(a.fractional_lag_frames, Some(1234.0));
        assert_eq!(a.error_rms_db, Some(EXACT_ERROR_DB));
    }

    /// The sequence back 1234 frames late, with 200 frames of silence played
    /// at captured frame 3000: a dropout before the first window that could
    /// lock, spoiling the first two (the search runs every half window).
    fn dropout_before_lock(seq: &Sequence) -> Vec<f32> {
        let mut capture: Vec<f32> = (0..96_000).map(|m| seq.sample(m - 1234)).collect();
        capture.splice(3000..3000, std::iter::repeat_n(0.0, 200));
        capture.truncate(96_000);
        capture
    }

    #[test]
    fn a_dropout_before_the_first_lock_does_not_make_a_plain_path_look_converting() {
        let seq = Arc::new(Sequence::mls(16, 0.5));
        let band = Arc::new(BandLimited::new(&seq, 48_000.0));
        let cfg = AnalyserConfig {
            max_lag: 8192,
            ..AnalyserConfig::new(48_000.0, seq.period())
        };
        let mut a = Analyser::with_band_limit(Arc::clone(&seq), band, cfg);
        for (i, block) in dropout_before_lock(&seq).chunks(256).enumerate() {
            a.push_block(i as u64 * 256, block);
            assert!(!a.wants_band_limited(), "asked for the band-limited signal");
        }
        let a = a.finish();
        assert!(!a.converted && a.locked, "{a:#?}");
        assert_eq!(a.error_rms_db, Some(EXACT_ERROR_DB));
    }

    #[test]
    fn a_burst_of_short_dropouts_does_not_make_a_plain_path_look_converting() {
        let seq = Arc::new(Sequence::mls(16, 0.5));
        let band = Arc::new(BandLimited::new(&seq, 48_000.0));
        let cfg = AnalyserConfig {
            max_lag: 8192,
            ..AnalyserConfig::new(48_000.0, seq.period())
        };
        let mut a = Analyser::with_band_limit(Arc::clone(&seq), band, cfg);
        // 64 frames played as silence every 200 (the lag unchanged) from 1290 to 9000: a
        // third of every window bad, no 256 exact frames in a row, the lag still found.
        let mut capture: Vec<f32> = (0..96_000).map(|m| seq.sample(m - 1234)).collect();
        for at in (1290..9000).step_by(200) {
            capture[at..at + 64].fill(0.0);
        }
        for (i, block) in capture.chunks(256).enumerate() {
            a.push_block(i as u64 * 256, block);
            assert!(!a.wants_band_limited(), "asked for the band-limited signal");
        }
        let a = a.finish();
        assert!(!a.converted && a.locked, "{a:#?}");
    }

    #[test]
    fn the_round_trip_the_stream_began_with_is_found_behind_a_change_before_the_lock() {
        let seq = Arc::new(Sequence::mls(16, 0.5));
        let cfg = AnalyserConfig {
            max_lag: 8192,
            ..AnalyserConfig::new(48_000.0, seq.period())
        };
        let mut a = Analyser::new(Arc::clone(&seq), cfg);
        a.push_block(0, &dropout_before_lock(&seq));
        let a = a.finish();
        // The search locked after the dropout, at 1434; looking back, the
        // first 1766 frames of signal came back at 1234.
        assert!(a.first_lock_frame.unwrap() <= 1234 + 1, "{a:#?}");
        assert_eq!(a.first_lag_frames, Some(1234));
        assert_eq!(a.lag_frames, Some(1434), "the later lag held longer");
        assert_eq!(a.lag_change_count, 1);
        let c = &a.lag_changes[0];
        assert_eq!((c.from, c.to, c.delta), (1234, 1434, 200));
        assert_eq!(a.glitches, 1, "{a:#?}");
        let g = &a.glitch_list[0];
        assert_eq!(g.lag_change, Some(200));
        assert!((3000..3002).contains(&g.start_frame), "{g:?}");
        assert!((200..=202).contains(&g.silent_frames), "{g:?}");
        // Half the frames of a ±amplitude sequence match at a wrong lag by chance.
        assert!(a.unexplained_before_lock > 500, "{a:#?}");
        assert!(a.first_lag_from_start);
    }

    #[test]
    fn a_dropout_too_soon_after_the_start_leaves_the_first_stretch_unseen() {
        let seq = Arc::new(Sequence::mls(16, 0.5));
        let cfg = AnalyserConfig {
            max_lag: 8192,
            ..AnalyserConfig::new(48_000.0, seq.period())
        };
        let mut a = Analyser::new(Arc::clone(&seq), cfg);
        // 500 frames of signal, then 200 of silence: too little for the early window.
        let mut capture: Vec<f32> = (0..96_000).map(|m| seq.sample(m - 1234)).collect();
        capture.splice(1734..1734, std::iter::repeat_n(0.0, 200));
        a.push_block(0, &capture[..96_000]);
        let a = a.finish();
        assert_eq!(a.first_lag_frames, Some(1434), "{a:#?}");
        assert!(a.unexplained_before_lock > 0);
        assert!(!a.first_lag_from_start, "{a:#?}");
    }

    #[test]
    fn a_clean_start_is_checked_from_the_first_frame_that_came_back() {
        let seq = Arc::new(Sequence::mls(16, 0.5));
        let cfg = AnalyserConfig {
            max_lag: 8192,
            ..AnalyserConfig::new(48_000.0, seq.period())
        };
        let mut a = Analyser::new(Arc::clone(&seq), cfg);
        let capture: Vec<f32> = (0..96_000).map(|m| seq.sample(m - 1234)).collect();
        a.push_block(0, &capture);
        let a = a.finish();
        assert!(a.first_lag_from_start, "{a:#?}");
        assert_eq!(a.unexplained_before_lock, 0);
        assert_eq!((a.first_lag_frames, a.glitches), (Some(1234), 0));
    }

    #[test]
    fn the_wrong_channel_is_not_taken_for_a_converting_path() {
        let seq = Arc::new(Sequence::mls(16, 0.5));
        let band = Arc::new(BandLimited::new(&seq, 48_000.0));
        let cfg = AnalyserConfig {
            max_lag: 8192,
            ..AnalyserConfig::new(48_000.0, seq.period())
        };
        let mut a = Analyser::with_band_limit(Arc::clone(&seq), band, cfg);
        let other = Sequence::mls(17, 0.5);
        let capture: Vec<f32> = (0..96_000).map(|m| other.sample(m)).collect();
        a.push_block(0, &capture);
        let a = a.finish();
        assert!(!a.locked && !a.converted, "{a:#?}");
    }
}
