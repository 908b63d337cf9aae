//! A device that exists only in memory, paced by the system clock.
//!
//! Its clock runs on absolute deadlines (`start + (k + 1) · period`), so it
//! never drifts however the thread sleeps. What it plays goes into an "air"
//! ring indexed by absolute frame number; what it captures is read back from
//! the same ring (loopback), or synthesised (a sine per channel), or silence.
//!
//! The timing model is the one of a real interface:
//! * period `k` captures frames `[k·B − in_extra, (k+1)·B − in_extra)` and is
//!   delivered at `start + (k+1)·B` (input latency `B + in_extra`, of which
//!   `in_extra` is reported as device latency);
//! * output written at period `k` plays from frame `(k+2)·B + out_extra`, so
//!   it must arrive before that frame starts playing (device output latency
//!   `B + out_extra`). Output that arrives later is dropped and counted as
//!   an underrun: the loopback then carries silence, as a real device would.
//!
//! A driver that falls far behind (more than [`VirtualConfig::max_catch_up`]
//! periods) makes the device restart its clock, counted as a resync.

use tenuto_convert::{host_to_device, silence_device_channel, DeviceFormat, HostFormat};

use crate::device::{
    BufferSizes, Device, DeviceCounters, DeviceError, DeviceInfo, DeviceLatency, DeviceStream,
    Granularity, PeriodTiming, StreamConfig, StreamError,
};
use crate::time;

/// What the virtual device captures.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VirtualSource {
    /// Input channel `c` receives what was played on output channel `c`;
    /// inputs without a matching output receive the sine.
    Loopback,
    /// Input channel `c` receives a sine of `220·(c+1)` Hz at −6 dBFS.
    Sine,
    /// All inputs are silent.
    Silence,
}

/// Configuration of a virtual device.
#[derive(Debug, Clone, PartialEq)]
pub struct VirtualConfig {
    /// Device name.
    pub name: String,
    /// Number of input channels.
    pub inputs: usize,
    /// Number of output channels.
    pub outputs: usize,
    /// Rates offered, in Hz, ascending.
    pub sample_rates: Vec<f64>,
    /// Rate before the host picks one.
    pub default_sample_rate: f64,
    /// Buffer sizes offered.
    pub buffer_sizes: BufferSizes,
    /// Format of the device's frames.
    pub format: DeviceFormat,
    /// What the inputs capture.
    pub source: VirtualSource,
    /// Extra input buffering, frames.
    pub input_extra_frames: u32,
    /// Extra output buffering beyond one period, frames.
    pub output_extra_frames: u32,
    /// Periods a late driver may catch up on before the clock restarts.
    pub max_catch_up: u32,
}

impl Default for VirtualConfig {
    fn default() -> Self {
        Self {
            name: "Tenuto Virtual Device".to_owned(),
            inputs: 2,
            outputs: 2,
            sample_rates: vec![44_100.0, 48_000.0, 88_200.0, 96_000.0, 176_400.0, 192_000.0],
            default_sample_rate: 48_000.0,
            buffer_sizes: BufferSizes {
                min_frames: 16,
                max_frames: 8192,
                preferred_frames: 128,
                granularity: Granularity::PowersOfTwo,
            },
            format: DeviceFormat::F32,
            source: VirtualSource::Loopback,
            input_extra_frames: 0,
            output_extra_frames: 0,
            max_catch_up: 64,
        }
    }
}

/// The virtual device.
#[derive(Debug)]
pub struct VirtualDevice {
    config: VirtualConfig,
    info: DeviceInfo,
}

impl VirtualDevice {
    /// Creates a device from its configuration.
    pub fn new(config: VirtualConfig) -> Self {
        let info = DeviceInfo {
            name: config.name.clone(),
            input_channels: (1..=config.inputs)
                .map(|c| format!("Virtual In {c}"))
                .collect(),
            output_channels: (1..=config.outputs)
                .map(|c| format!("Virtual Out {c}"))
                .collect(),
            format: config.format,
            clock_name: "Internal (system clock)".to_owned(),
        };
        Self { config, info }
    }

    /// The configuration it was made with.
    pub fn config(&self) -> &VirtualConfig {
        &self.config
    }
}

impl Device for VirtualDevice {
    fn info(&self) -> &DeviceInfo {
        &self.info
    }

    fn sample_rates(&self) -> &[f64] {
        &self.config.sample_rates
    }

    fn default_sample_rate(&self) -> f64 {
        self.config.default_sample_rate
    }

    fn buffer_sizes(&self, _sample_rate: f64) -> BufferSizes {
        self.config.buffer_sizes
    }

    fn latency(&self, config: &StreamConfig) -> DeviceLatency {
        DeviceLatency {
            input_frames: self.config.input_extra_frames,
            output_frames: config
                .period_frames
                .saturating_add(self.config.output_extra_frames),
        }
    }

    fn open(&mut self, config: &StreamConfig) -> Result<Box<dyn DeviceStream>, DeviceError> {
        if !self.config.sample_rates.contains(&config.sample_rate) {
            return Err(DeviceError::UnsupportedRate {
                device: self.config.name.clone(),
                rate: config.sample_rate,
                supported: format_rates(&self.config.sample_rates),
            });
        }
        if !self.config.buffer_sizes.allows(config.period_frames) {
            return Err(DeviceError::UnsupportedPeriod {
                device: self.config.name.clone(),
                frames: config.period_frames,
                allowed: self.config.buffer_sizes.to_string(),
            });
        }
        Ok(Box::new(VirtualStream::new(&self.config, *config)))
    }
}

/// Formats a list of rates compactly for messages (ASIO error messages hold
/// 123 characters): "44.1, 48, 96 or 192 kHz".
pub fn format_rates(rates: &[f64]) -> String {
    let parts: Vec<String> = rates.iter().map(|r| format!("{}", r / 1000.0)).collect();
    match parts.split_last() {
        None => "no rates".to_owned(),
        Some((last, [])) => format!("{last} kHz"),
        Some((last, rest)) => format!("{} or {last} kHz", rest.join(", ")),
    }
}

struct VirtualStream {
    format: DeviceFormat,
    source: VirtualSource,
    inputs: usize,
    outputs: usize,
    period: u64,
    rate: f64,
    in_extra: u64,
    out_extra: u64,
    max_catch_up: u64,
    /// Interleaved "air", `ring_frames · outputs` samples, device format.
    air: Vec<u8>,
    ring_frames: u64,
    /// One period of one channel as f64, for synthesising the sine.
    synth: Vec<u8>,
    start_ns: u64,
    /// Index of the next period `wait` returns.
    next: u64,
    /// Index of the period the driver is working on.
    current: u64,
    counters: DeviceCounters,
    started: bool,
    frame_ns_num: u64,
}

impl VirtualStream {
    fn new(config: &VirtualConfig, stream: StreamConfig) -> Self {
        let period = u64::from(stream.period_frames);
        let in_extra = u64::from(config.input_extra_frames);
        let out_extra = u64::from(config.output_extra_frames);
        let span = 4 * period + in_extra + out_extra;
        let ring_frames = span.next_power_of_two();
        let bytes = config.format.bytes_per_sample();
        let outputs = config.outputs.max(1);
        Self {
            format: config.format,
            source: config.source,
            inputs: config.inputs,
            outputs,
            period,
            rate: stream.sample_rate,
            in_extra,
            out_extra,
            max_catch_up: u64::from(config.max_catch_up.max(1)),
            air: vec![0; usize::try_from(ring_frames).unwrap_or(0) * outputs * bytes],
            ring_frames,
            synth: vec![0; usize::try_from(period).unwrap_or(0) * 8],
            start_ns: 0,
            next: 0,
            current: 0,
            counters: DeviceCounters::default(),
            started: false,
            frame_ns_num: 1_000_000_000,
        }
    }

    /// Time at which absolute frame `frame` starts, on the stream clock.
    fn frame_time_ns(&self, frame: u64) -> u64 {
        // frame · 1e9 / rate, in u128 to avoid overflow after hours.
        let ns = (u128::from(frame) * u128::from(self.frame_ns_num)) as f64 / self.rate;
        self.start_ns.saturating_add(ns as u64)
    }

    fn air_offset(&self, frame: u64) -> usize {
        let slot = frame & (self.ring_frames - 1);
        usize::try_from(slot).unwrap_or(0) * self.outputs * self.format.bytes_per_sample()
    }

    fn frame_bytes_out(&self) -> usize {
        self.outputs * self.format.bytes_per_sample()
    }

    fn synthesise(&mut self, dst: &mut [u8], channel: usize, first_frame: u64) {
        let freq = 220.0 * (channel as f64 + 1.0);
        let step = freq / self.rate;
        for (i, chunk) in self.synth.chunks_exact_mut(8).enumerate() {
            // Phase from the absolute frame, reduced to [0,1) exactly enough
            // for hours of streaming.
            let frame = first_frame.wrapping_add(i as u64);
            let phase = (frame as f64 * step).fract();
            let v = 0.5 * (std::f64::consts::TAU * phase).sin();
            chunk.copy_from_slice(&v.to_le_bytes());
        }
        host_to_device(
            &self.synth,
            HostFormat::Float64Lsb,
            dst,
            self.format,
            self.inputs,
            channel,
        );
    }
}

impl DeviceStream for VirtualStream {
    fn start(&mut self) -> Result<(), StreamError> {
        self.start_ns = time::now_ns();
        self.next = 0;
        self.started = true;
        Ok(())
    }

    fn wait(&mut self) -> Result<Option<PeriodTiming>, StreamError> {
        if !self.started {
            return Err(StreamError::Stalled(0));
        }
        let k = self.next;
        let mut due = self.frame_time_ns((k + 1) * self.period);
        let now = time::now_ns();
        let period_ns = self.frame_time_ns(self.period) - self.start_ns;
        if now > due && (now - due) / period_ns.max(1) > self.max_catch_up {
            // Too far behind: restart the clock so the next period is due now.
            self.counters.resyncs += 1;
            let frames_before = (k + 1) * self.period;
            let offset = self.frame_time_ns(frames_before) - self.start_ns;
            self.start_ns = now.saturating_sub(offset);
            due = now;
        }
        time::sleep_until_ns(due);
        self.current = k;
        self.next = k + 1;
        let deadline = self.frame_time_ns((k + 2) * self.period + self.out_extra);
        Ok(Some(PeriodTiming {
            index: k,
            due_ns: due,
            deadline_ns: deadline,
        }))
    }

    fn read(&mut self, dst: &mut [u8]) -> Result<(), StreamError> {
        let first = (self.current * self.period).wrapping_sub(self.in_extra);
        let bytes = self.format.bytes_per_sample();
        let loop_channels = match self.source {
            VirtualSource::Loopback => self.inputs.min(self.outputs),
            _ => 0,
        };
        if loop_channels > 0 {
            // Copy the played frames of the looped channels out of the air.
            let in_frame_bytes = self.inputs * bytes;
            for (i, frame) in dst.chunks_exact_mut(in_frame_bytes).enumerate() {
                let src = self.air_offset(first.wrapping_add(i as u64));
                let n = loop_channels * bytes;
                if let (Some(d), Some(s)) = (frame.get_mut(..n), self.air.get(src..src + n)) {
                    d.copy_from_slice(s);
                }
            }
        }
        for channel in loop_channels..self.inputs {
            match self.source {
                VirtualSource::Silence => {
                    silence_device_channel(dst, self.format, self.inputs, channel);
                }
                _ => self.synthesise(dst, channel, first),
            }
        }
        // Frames of the air that were heard are consumed: clear them so a
        // dropped write is heard as silence, not as stale audio.
        if loop_channels > 0 {
            for i in 0..self.period {
                let off = self.air_offset(first.wrapping_add(i));
                let n = self.frame_bytes_out();
                if let Some(s) = self.air.get_mut(off..off + n) {
                    s.fill(0);
                }
            }
        }
        Ok(())
    }

    fn write(&mut self, src: &[u8]) -> Result<(), StreamError> {
        let first = (self.current + 2) * self.period + self.out_extra;
        let deadline = self.frame_time_ns(first);
        if time::now_ns() > deadline {
            // Too late: the device already played silence there.
            self.counters.output_underruns += 1;
            return Ok(());
        }
        let n = self.frame_bytes_out();
        for (i, frame) in src.chunks_exact(n).enumerate() {
            let off = self.air_offset(first + i as u64);
            if let Some(d) = self.air.get_mut(off..off + n) {
                d.copy_from_slice(frame);
            }
        }
        Ok(())
    }

    fn stop(&mut self) {
        self.started = false;
    }

    fn device_counters(&self) -> DeviceCounters {
        self.counters
    }
}
