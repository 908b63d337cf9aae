//! Playing a sine tone or a WAV file through a driver's outputs, with the
//! host-side measurements of `stream` (switches, position continuity,
//! messages).
//!
//! Everything is prepared before `start`: the file is read, converted to
//! `f32` per channel and, when the driver cannot run at the file's rate,
//! resampled in memory with a windowed-sinc resampler. The driver thread
//! then only copies samples (or runs the oscillator) into the buffers.

use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde::Serialize;

use crate::signal::{write_sample, Sine};
use crate::watch::{take_peak, SwitchCounters, SwitchWatch};
use tenuto_host::{CallError, Driver, HostOptions, Period, PeriodHandler};

/// Audio held in memory, one `Vec` per channel, full scale ±1.0.
#[derive(Debug, Clone, PartialEq)]
pub struct Clip {
    /// Sample rate, Hz.
    pub sample_rate: f64,
    /// Samples per channel (all the same length).
    pub channels: Vec<Vec<f32>>,
    /// Where it came from (the file name), for messages.
    pub name: String,
}

impl Clip {
    /// Frames per channel.
    pub fn frames(&self) -> usize {
        self.channels.first().map_or(0, Vec::len)
    }

    /// Duration, s.
    pub fn seconds(&self) -> f64 {
        self.frames() as f64 / self.sample_rate
    }
}

/// What to play.
#[derive(Debug, Clone, PartialEq)]
pub enum PlaySource {
    /// A sine tone on every chosen output.
    Tone {
        /// Frequency, Hz.
        hz: f64,
        /// Peak level, dBFS.
        dbfs: f64,
    },
    /// A clip (see [`load_wav`]), played once.
    Clip(Clip),
}

/// How to play.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct PlayOptions {
    /// Buffer size; `None`: the driver's preferred.
    pub buffer_frames: Option<i32>,
    /// Sample rate; `None`: a clip's own rate if the driver accepts it,
    /// else the driver's current rate.
    pub sample_rate: Option<f64>,
    /// How long to play; `None`: a clip's length, or 10 s of tone.
    pub duration: Option<Duration>,
    /// Outputs to play on (in order); `None`: every output.
    pub outputs: Option<Vec<i32>>,
    /// Host capabilities announced to the driver.
    pub host: HostOptions,
}

/// Why playing failed.
#[derive(Debug, thiserror::Error)]
pub enum PlayError {
    /// A driver call failed.
    #[error(transparent)]
    Call(#[from] CallError),
    /// The WAV file could not be read.
    #[error("cannot read {path}: {message}")]
    Wav {
        /// The file.
        path: String,
        /// What went wrong.
        message: String,
    },
    /// Resampling failed.
    #[error("resampling failed: {0}")]
    Resample(String),
    /// The options do not fit the driver.
    #[error("{0}")]
    Setup(String),
}

/// Reads a WAV file (8–32-bit integer or 32-bit float PCM, any channel
/// count) into memory.
pub fn load_wav(path: &Path) -> Result<Clip, PlayError> {
    let err = |message: String| PlayError::Wav {
        path: path.display().to_string(),
        message,
    };
    let mut reader = hound::WavReader::open(path).map_err(|e| err(e.to_string()))?;
    let spec = reader.spec();
    let n = usize::from(spec.channels);
    if n == 0 {
        return Err(err("the file has no channels".to_owned()));
    }
    let interleaved: Vec<f32> = match spec.sample_format {
        hound::SampleFormat::Float => reader
            .samples::<f32>()
            .collect::<Result<_, _>>()
            .map_err(|e| err(e.to_string()))?,
        hound::SampleFormat::Int => {
            let scale = 1.0 / (1u64 << (spec.bits_per_sample.clamp(1, 32) - 1)) as f64;
            reader
                .samples::<i32>()
                .map(|s| s.map(|v| (f64::from(v) * scale) as f32))
                .collect::<Result<_, _>>()
                .map_err(|e| err(e.to_string()))?
        }
    };
    let frames = interleaved.len() / n;
    if frames == 0 {
        return Err(err("the file holds no audio".to_owned()));
    }
    let channels = (0..n)
        .map(|c| {
            interleaved
                .iter()
                .skip(c)
                .step_by(n)
                .take(frames)
                .copied()
                .collect()
        })
        .collect();
    Ok(Clip {
        sample_rate: f64::from(spec.sample_rate),
        channels,
        name: path.file_name().map_or_else(
            || path.display().to_string(),
            |f| f.to_string_lossy().into_owned(),
        ),
    })
}

/// Resamples `clip` to `to_rate` with a band-limited (windowed-sinc, cubic
/// interpolation, 128 taps, Blackman-Harris) resampler, whole clip at once.
pub fn resample(clip: &Clip, to_rate: f64) -> Result<Clip, PlayError> {
    use audioadapter_buffers::direct::SequentialSliceOfVecs;
    use rubato::{
        calculate_cutoff, Async, FixedAsync, Resampler, SincInterpolationParameters,
        SincInterpolationType, WindowFunction,
    };
    if !(to_rate.is_finite() && to_rate > 0.0 && clip.sample_rate > 0.0) {
        return Err(PlayError::Resample(format!(
            "cannot resample from {} Hz to {to_rate} Hz",
            clip.sample_rate
        )));
    }
    let nch = clip.channels.len();
    let frames = clip.frames();
    let sinc_len = 128;
    let window = WindowFunction::BlackmanHarris2;
    let params = SincInterpolationParameters {
        sinc_len,
        f_cutoff: calculate_cutoff(sinc_len, window),
        interpolation: SincInterpolationType::Cubic,
        oversampling_factor: 256,
        window,
    };
    let e = |e: &dyn std::fmt::Display| PlayError::Resample(e.to_string());
    let mut resampler = Async::<f32>::new_sinc(
        to_rate / clip.sample_rate,
        1.0,
        &params,
        1024,
        nch,
        FixedAsync::Input,
    )
    .map_err(|x| e(&x))?;
    let input = SequentialSliceOfVecs::new(&clip.channels, nch, frames).map_err(|x| e(&x))?;
    let out_len = resampler.process_all_needed_output_len(frames);
    let mut out = vec![vec![0.0f32; out_len]; nch];
    let written = {
        let mut output =
            SequentialSliceOfVecs::new_mut(&mut out, nch, out_len).map_err(|x| e(&x))?;
        resampler
            .process_all_into_buffer(&input, &mut output, frames, None)
            .map_err(|x| e(&x))?
            .1
    };
    for ch in &mut out {
        ch.truncate(written);
    }
    Ok(Clip {
        sample_rate: to_rate,
        channels: out,
        name: clip.name.clone(),
    })
}

/// Live figures, updated by the driver thread (atomics only).
#[derive(Debug, Default)]
pub struct PlayLive {
    /// Switch count, position and continuity.
    pub switches: SwitchCounters,
    /// Frames of content written so far.
    pub frames_played: AtomicU64,
    /// Peak written since the last progress update, as f32 bits (the
    /// driver thread raises it, `run` takes and clears it).
    pub output_peak_bits: AtomicU64,
    /// Highest peak written so far, as f32 bits.
    pub max_peak_bits: AtomicU64,
    /// All the content has been written.
    pub finished: AtomicBool,
}

/// What the progress callback sees, about four times a second.
#[derive(Debug, Clone, Copy)]
pub struct PlayProgress<'a> {
    /// Driver-thread figures.
    pub live: &'a PlayLive,
    /// Time since `start`.
    pub elapsed: Duration,
    /// Content written so far.
    pub played: Duration,
    /// Content in total.
    pub total: Duration,
    /// Output peak since the previous update (full scale 1.0).
    pub output_peak: f64,
}

/// What was played and what the host measured.
#[derive(Debug, Clone, Serialize)]
pub struct PlayReport {
    /// Driver name.
    pub driver: String,
    /// Sample rate used.
    pub sample_rate: f64,
    /// Buffer size used.
    pub buffer_frames: i32,
    /// Reported latencies (input, output), frames.
    pub latencies: (i32, i32),
    /// The outputs played on.
    pub outputs: Vec<i32>,
    /// What was played.
    pub source: String,
    /// Which content channel went to which output (`None`: silence).
    pub mapping: Vec<(i32, Option<usize>)>,
    /// How the rate was chosen (switched to the file's, or refused).
    pub rate_note: Option<String>,
    /// The clip was resampled from this rate.
    pub resampled_from: Option<f64>,
    /// Seconds of content written.
    pub seconds_played: f64,
    /// Seconds of content there were to play.
    pub seconds_total: f64,
    /// All of it was written.
    pub finished: bool,
    /// Seconds streamed (wall clock).
    pub seconds: f64,
    /// Highest output peak, dBFS.
    pub peak_dbfs: f64,
    /// Switches received.
    pub switches: u64,
    /// Switches the wall clock expected from the first to the last.
    pub expected_switches: f64,
    /// Sample-position discontinuities seen by the host.
    pub discontinuities: u64,
    /// Longest gap between switches, ms.
    pub max_gap_ms: f64,
    /// `kAsioOverload` messages received.
    pub overloads: u64,
    /// `kAsioResetRequest` messages received.
    pub reset_requests: u64,
}

enum Content {
    Tone(Sine),
    Clip(Vec<Vec<f32>>),
}

struct PlayHandler {
    live: Arc<PlayLive>,
    watch: SwitchWatch,
    content: Content,
    /// Per buffer: the content channel it plays (`None`: silence).
    map: Vec<Option<usize>>,
    /// One buffer of tone samples.
    scratch: Vec<f64>,
    pos: u64,
    total: u64,
    /// Tone fade in/out length, frames (avoids clicks).
    ramp: u64,
    max_peak: f32,
}

impl PlayHandler {
    fn tone_gain(&self, frame: u64) -> f64 {
        if self.ramp == 0 {
            return 1.0;
        }
        let from_end = self.total.saturating_sub(frame + 1);
        (frame.min(from_end) as f64 / self.ramp as f64).min(1.0)
    }
}

impl PeriodHandler for PlayHandler {
    fn process(&mut self, period: &mut Period<'_>) {
        self.watch.on_switch(period, &self.live.switches);
        let frames = period.frames;
        let start = self.pos;
        let n = usize::try_from(self.total.saturating_sub(start))
            .unwrap_or(usize::MAX)
            .min(frames);
        if let Content::Tone(mut sine) = self.content {
            for i in 0..self.scratch.len() {
                let v = if i < n {
                    sine.next_sample() * self.tone_gain(start + i as u64)
                } else {
                    0.0
                };
                if let Some(s) = self.scratch.get_mut(i) {
                    *s = v;
                }
            }
            self.content = Content::Tone(sine);
        }
        let mut peak = 0.0f32;
        for b in 0..period.buffer_count() {
            if period.is_input(b) {
                continue;
            }
            let t = period.sample_type(b);
            let channel = self.map.get(b).copied().flatten();
            let buf = period.buffer_mut(b);
            let Some(c) = channel else {
                buf.fill(0);
                continue;
            };
            for i in 0..frames {
                let v = match &self.content {
                    Content::Tone(_) => self.scratch.get(i).copied().unwrap_or(0.0),
                    Content::Clip(data) if i < n => data
                        .get(c)
                        .and_then(|ch| ch.get(usize::try_from(start).ok()? + i))
                        .map_or(0.0, |&v| f64::from(v)),
                    Content::Clip(_) => 0.0,
                };
                peak = peak.max(v.abs() as f32);
                write_sample(buf, t, i, v);
            }
        }
        self.pos += n as u64;
        self.max_peak = self.max_peak.max(peak);
        let live = &self.live;
        live.frames_played.store(self.pos, Ordering::Relaxed);
        // Bit patterns of non-negative floats order like the floats.
        live.output_peak_bits
            .fetch_max(u64::from(peak.to_bits()), Ordering::Relaxed);
        live.max_peak_bits
            .store(u64::from(self.max_peak.to_bits()), Ordering::Relaxed);
        if self.pos >= self.total {
            live.finished.store(true, Ordering::Release);
        }
        SwitchWatch::done(&live.switches);
    }

    fn as_any(&mut self) -> &mut dyn std::any::Any {
        self
    }
}

fn db(linear: f64) -> f64 {
    if linear > 0.0 {
        20.0 * linear.log10()
    } else {
        f64::NEG_INFINITY
    }
}

/// Initialises `driver`, chooses the rate (a clip's own rate if the driver
/// accepts it, else resampling the clip), plays `source` on the chosen
/// outputs and reports. `progress` is called about four times a second.
pub fn run(
    driver: &mut Driver,
    source: PlaySource,
    options: &PlayOptions,
    progress: &mut dyn FnMut(&PlayProgress<'_>),
) -> Result<PlayReport, PlayError> {
    driver.try_init()?;
    let name = driver.name();
    let mut rate_note = None;
    if let Some(rate) = options.sample_rate {
        driver.set_sample_rate(rate)?;
    } else if let PlaySource::Clip(clip) = &source {
        let current = driver.sample_rate()?;
        if (current - clip.sample_rate).abs() > 1e-3 {
            rate_note = Some(match driver.set_sample_rate(clip.sample_rate) {
                Ok(()) => format!(
                    "switched the driver from {current} Hz to the file's {} Hz",
                    clip.sample_rate
                ),
                Err(e) => format!(
                    "the driver refused the file's {} Hz ({}); playing at {current} Hz",
                    clip.sample_rate, e.message
                ),
            });
        }
    }
    let rate = driver.sample_rate()?;
    let (_, outs) = driver.channels()?;
    let outputs: Vec<i32> = options
        .outputs
        .clone()
        .unwrap_or_else(|| (0..outs).collect());
    if outputs.is_empty() {
        return Err(PlayError::Setup(format!(
            "no output to play on (the driver has {outs})"
        )));
    }
    for &o in &outputs {
        if !(0..outs).contains(&o) {
            return Err(PlayError::Setup(format!(
                "output {o} does not exist: the driver has {outs} output(s) (0–{})",
                outs - 1
            )));
        }
        let info = driver.channel_info(o, false)?;
        if !write_sample(&mut [0u8; 8], info.sample_type, 0, 0.0) {
            return Err(PlayError::Setup(format!(
                "output {o} uses ASIO sample type {}, which this host cannot write \
                 (big-endian or DSD)",
                info.sample_type
            )));
        }
    }
    let frames = match options.buffer_frames {
        Some(f) => f,
        None => driver.buffer_size()?.preferred,
    };
    let frames_usize = usize::try_from(frames)
        .ok()
        .filter(|&f| f > 0)
        .ok_or_else(|| PlayError::Setup(format!("invalid buffer size {frames}")))?;

    let mut resampled_from = None;
    let (content, description, content_frames, map) = match source {
        PlaySource::Tone { hz, dbfs } => {
            let frames = options
                .duration
                .unwrap_or(Duration::from_secs(10))
                .as_secs_f64()
                * rate;
            (
                Content::Tone(Sine::new(hz, rate, 10f64.powf(dbfs / 20.0))),
                format!("sine {hz} Hz at {dbfs} dBFS"),
                frames.round() as u64,
                outputs.iter().map(|_| Some(0)).collect::<Vec<_>>(),
            )
        }
        PlaySource::Clip(mut clip) => {
            let description = format!(
                "{} ({} ch, {} Hz, {:.2} s)",
                clip.name,
                clip.channels.len(),
                clip.sample_rate,
                clip.seconds()
            );
            if (clip.sample_rate - rate).abs() > 1e-3 {
                resampled_from = Some(clip.sample_rate);
                clip = resample(&clip, rate)?;
            }
            let limit = options
                .duration
                .map_or(u64::MAX, |d| (d.as_secs_f64() * rate).round() as u64);
            let frames = (clip.frames() as u64).min(limit);
            let nch = clip.channels.len();
            // Mono: every output; otherwise file channel i → i-th output.
            let map = (0..outputs.len())
                .map(|i| {
                    if nch == 1 {
                        Some(0)
                    } else {
                        (i < nch).then_some(i)
                    }
                })
                .collect();
            (Content::Clip(clip.channels), description, frames, map)
        }
    };
    let ramp = match content {
        Content::Tone(_) => ((rate * 0.005) as u64).min(content_frames / 2),
        Content::Clip(_) => 0,
    };
    let live = Arc::new(PlayLive::default());
    let handler = PlayHandler {
        live: Arc::clone(&live),
        watch: SwitchWatch::new(frames_usize),
        content,
        map: map.clone(),
        scratch: vec![0.0; frames_usize],
        pos: 0,
        total: content_frames,
        ramp,
        max_peak: 0.0,
    };
    let channels: Vec<(bool, i32)> = outputs.iter().map(|&o| (false, o)).collect();
    let session = driver.create_buffers(&channels, frames, options.host, Box::new(handler))?;
    let latencies = driver.latencies()?;
    let total = Duration::from_secs_f64(content_frames as f64 / rate);
    // After the last sample is written, let the driver play it out.
    let tail =
        Duration::from_secs_f64((f64::from(latencies.1.max(0)) + 2.0 * f64::from(frames)) / rate);
    session.begin();
    let started = Instant::now();
    if let Err(e) = driver.start() {
        session.end();
        let _ = driver.dispose_buffers();
        return Err(e.into());
    }
    let mut next_report = Duration::ZERO;
    let mut finished_at: Option<Instant> = None;
    let deadline = total + tail + Duration::from_secs(2);
    let played = |live: &PlayLive| {
        Duration::from_secs_f64(live.frames_played.load(Ordering::Relaxed) as f64 / rate)
    };
    loop {
        let elapsed = started.elapsed();
        if elapsed >= next_report {
            progress(&PlayProgress {
                live: &live,
                elapsed,
                played: played(&live),
                total,
                output_peak: take_peak(&live.output_peak_bits),
            });
            next_report += Duration::from_millis(250);
        }
        if live.finished.load(Ordering::Acquire) {
            let at = *finished_at.get_or_insert_with(Instant::now);
            if at.elapsed() >= tail {
                break;
            }
        }
        if elapsed >= deadline {
            break;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    let stop = driver.stop();
    let seconds = started.elapsed().as_secs_f64();
    session.end();
    progress(&PlayProgress {
        live: &live,
        elapsed: started.elapsed(),
        played: played(&live),
        total,
        output_peak: take_peak(&live.output_peak_bits),
    });
    let counters = Arc::clone(session.counters());
    driver.dispose_buffers()?;
    drop(session);
    stop?;
    let frames_played = live.frames_played.load(Ordering::Acquire);
    let max_peak = f32::from_bits(live.max_peak_bits.load(Ordering::Acquire) as u32);
    Ok(PlayReport {
        driver: name,
        sample_rate: rate,
        buffer_frames: frames,
        latencies,
        mapping: outputs.iter().copied().zip(map).collect(),
        outputs,
        source: description,
        rate_note,
        resampled_from,
        seconds_played: frames_played as f64 / rate,
        seconds_total: content_frames as f64 / rate,
        finished: frames_played >= content_frames,
        seconds,
        peak_dbfs: db(f64::from(max_peak)),
        switches: live.switches.switches.load(Ordering::Acquire),
        expected_switches: live.switches.expected_switches(rate, frames),
        discontinuities: live.switches.discontinuities.load(Ordering::Acquire),
        max_gap_ms: live.switches.max_gap_ns.load(Ordering::Acquire) as f64 / 1e6,
        overloads: counters.overloads.load(Ordering::Acquire),
        reset_requests: counters.reset_requests.load(Ordering::Acquire),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn temp_wav(name: &str, spec: hound::WavSpec, frames: usize) -> std::path::PathBuf {
        let path =
            std::env::temp_dir().join(format!("tenuto-play-{}-{name}.wav", std::process::id()));
        let mut w = hound::WavWriter::create(&path, spec).unwrap();
        for i in 0..frames {
            for c in 0..spec.channels {
                let v = if c == 0 { 0.5 } else { -0.25 } * if i % 2 == 0 { 1.0 } else { -1.0 };
                match (spec.sample_format, spec.bits_per_sample) {
                    (hound::SampleFormat::Float, _) => w.write_sample(v as f32).unwrap(),
                    (_, 16) => w.write_sample((v * 32768.0) as i16).unwrap(),
                    (_, 24) => w.write_sample((v * 8_388_608.0) as i32).unwrap(),
                    _ => unreachable!(),
                }
            }
        }
        w.finalize().unwrap();
        path
    }

    #[test]
    fn wav_files_load_as_per_channel_full_scale_samples() {
        for (format, bits) in [
            (hound::SampleFormat::Int, 16),
            (hound::SampleFormat::Int, 24),
            (hound::SampleFormat::Float, 32),
        ] {
            let spec = hound::WavSpec {
                channels: 2,
                sample_rate: 44_100,
                bits_per_sample: bits,
                sample_format: format,
            };
            let path = temp_wav(&format!("{bits}"), spec, 100);
            let clip = load_wav(&path).unwrap();
            std::fs::remove_file(&path).ok();
            assert_eq!(clip.sample_rate, 44_100.0);
            assert_eq!(clip.channels.len(), 2);
            assert_eq!(clip.frames(), 100);
            assert_eq!(&clip.channels[0][..2], &[0.5, -0.5], "{bits}");
            assert_eq!(&clip.channels[1][..2], &[-0.25, 0.25], "{bits}");
        }
        let missing = load_wav(Path::new("/nonexistent/tenuto.wav")).unwrap_err();
        assert!(missing
            .to_string()
            .starts_with("cannot read /nonexistent/tenuto.wav"));
    }

    #[test]
    fn resampling_keeps_a_tone_and_scales_the_length() {
        let from = 44_100.0;
        let frames = 44_100 / 2;
        let tone: Vec<f32> = (0..frames)
            .map(|i| (0.5 * (std::f64::consts::TAU * 1000.0 * i as f64 / from).sin()) as f32)
            .collect();
        let clip = Clip {
            sample_rate: from,
            channels: vec![tone.clone(), tone],
            name: "t".into(),
        };
        let out = resample(&clip, 48_000.0).unwrap();
        assert_eq!(out.sample_rate, 48_000.0);
        assert_eq!(out.channels.len(), 2);
        assert!(
            (out.frames() as i64 - 24_000).abs() <= 1,
            "{}",
            out.frames()
        );
        // Away from the edges it is the same 1 kHz tone at the new rate.
        // Away from the edges it is the same 1 kHz tone at the new rate,
        // up to the resampler's sub-sample delay (under one output frame).
        let error_at = |shift: f64| {
            (2_000..22_000)
                .map(|i| {
                    let t = (i as f64 + shift) / 48_000.0;
                    let want = 0.5 * (std::f64::consts::TAU * 1000.0 * t).sin();
                    (f64::from(out.channels[0][i]) - want).abs()
                })
                .fold(0.0, f64::max)
        };
        let (shift, worst) = (0..=100)
            .map(|k| f64::from(k) / 100.0 - 0.5)
            .map(|s| (s, error_at(s)))
            .fold((0.0, f64::MAX), |a, b| if b.1 < a.1 { b } else { a });
        assert!(
            worst < 1e-3,
            "worst error {worst} (at a shift of {shift} frames)"
        );
    }
}
