//! The engine's own CPU time per period, excluding the host's callback.
//!
//! Run with
//! `cargo bench -p tenuto-engine --bench period` (add `-- --quick` for a
//! smoke run with a tenth of the periods). Prints a Markdown table.
//!
//! What is measured is the driver thread's `engine_ns` of every period (wall
//! time from the device's `wait` returning to the device `write` returning:
//! read → convert in → convert out → write, minus the host's
//! `bufferSwitch`), driven through the real [`Engine`] API. The device is a
//! benchmark-only [`Device`] whose `wait` hands out the next period at once
//! (no pacing, deadline far away), so that tens of thousands of periods run
//! in a fraction of a second; its `read`/`write` copy one period of
//! interleaved device-format frames from/to preallocated memory, the same
//! kind of work the virtual device's loopback does. One extra row runs the
//! real, clock-paced [`VirtualDevice`] for comparison, which adds the
//! sleep/wake-up path (cold caches after each sleep).
//!
//! `-- --count <periods> <f32|i32> [channels]` instead runs one 32 in/32 out (or
//! `channels` in and out) × 32-frame stream for about `<periods>` periods and prints how many ran, for
//! instruction counting under `valgrind --tool=callgrind
//! --toggle-collect='*IoContext*run*'`: the difference between two counts
//! divided by the difference in periods is the engine's instructions per
//! period, independent of the machine's load (see docs/bench-engine.md).

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use tenuto_engine::device::{
    BufferSizes, DeviceError, DeviceInfo, DeviceLatency, Granularity, PeriodTiming, StreamConfig,
    StreamError,
};
use tenuto_engine::host::{HostCallbacks, HostMessages, PeriodTime, SwitchCallback};
use tenuto_engine::stats::{PeriodRecord, StatsSnapshot};
use tenuto_engine::virtual_device::{VirtualConfig, VirtualDevice};
use tenuto_engine::{
    BufferRequest, Device, DeviceFormat, DeviceStream, Engine, EngineOptions, HostFormat,
};

const RATE: f64 = 48_000.0;
/// Runs per configuration; the table shows the median run.
const RUNS: usize = 3;
/// Sample frames per run: 200 000 periods at 32 frames per period; bigger
/// periods run proportionally fewer (100 000 at 64, 25 000 at 256).
const FRAMES_PER_RUN: u64 = 6_400_000;
/// Periods of the warm-up / correctness run before timing.
const CHECK_PERIODS: u64 = 1_000;
/// Length of a paced virtual-device run.
const PACED_RUN: Duration = Duration::from_secs(2);

// ----- the benchmark device ------------------------------------------------

/// A device with no clock: `wait` returns the next period immediately.
struct BenchDevice {
    info: DeviceInfo,
    /// Periods the stream read and wrote, published when it stops.
    io_counts: Arc<IoCounts>,
}

#[derive(Default)]
struct IoCounts {
    reads: AtomicU64,
    writes: AtomicU64,
}

impl BenchDevice {
    fn new(channels: usize, format: DeviceFormat) -> Self {
        Self {
            info: DeviceInfo {
                name: "Tenuto Bench Device".to_owned(),
                input_channels: (1..=channels).map(|c| format!("Bench In {c}")).collect(),
                output_channels: (1..=channels).map(|c| format!("Bench Out {c}")).collect(),
                format,
                clock_name: "none (unpaced)".to_owned(),
            },
            io_counts: Arc::new(IoCounts::default()),
        }
    }
}

impl Device for BenchDevice {
    fn info(&self) -> &DeviceInfo {
        &self.info
    }

    fn sample_rates(&self) -> &[f64] {
        &[RATE]
    }

    fn default_sample_rate(&self) -> f64 {
        RATE
    }

    fn buffer_sizes(&self, _sample_rate: f64) -> BufferSizes {
        BufferSizes {
            min_frames: 16,
            max_frames: 8192,
            preferred_frames: 64,
            granularity: Granularity::PowersOfTwo,
        }
    }

    fn latency(&self, config: &StreamConfig) -> DeviceLatency {
        DeviceLatency {
            input_frames: 0,
            output_frames: config.period_frames,
        }
    }

    fn open(&mut self, config: &StreamConfig) -> Result<Box<dyn DeviceStream>, DeviceError> {
        let frames = config.period_frames as usize;
        let format = self.info.format;
        let bytes = format.bytes_per_sample();
        let ins = self.info.input_channels.len();
        let outs = self.info.output_channels.len();
        // Captured audio: a different non-zero ramp per channel, so that the
        // converters see ordinary samples rather than zeros.
        let mut capture = vec![0u8; frames * ins * bytes];
        for (i, sample) in capture.chunks_exact_mut(bytes).enumerate() {
            let v = ((i % 997) as f64 / 997.0 - 0.5) * 0.9;
            match format {
                DeviceFormat::F32 => sample.copy_from_slice(&(v as f32).to_le_bytes()),
                DeviceFormat::I32 => {
                    sample.copy_from_slice(&((v * f64::from(i32::MAX)) as i32).to_le_bytes());
                }
                DeviceFormat::I16 => {
                    sample.copy_from_slice(&((v * f64::from(i16::MAX)) as i16).to_le_bytes());
                }
                DeviceFormat::I24 => {
                    let w = ((v * 8_388_607.0) as i32).to_le_bytes();
                    sample.copy_from_slice(&w[..3]);
                }
            }
        }
        Ok(Box::new(BenchStream {
            capture,
            playback: vec![0u8; frames * outs * bytes],
            next: 0,
            reads: 0,
            writes: 0,
            io_counts: Arc::clone(&self.io_counts),
        }))
    }
}

struct BenchStream {
    /// One period of interleaved input frames, device format.
    capture: Vec<u8>,
    /// Where one period of output frames goes.
    playback: Vec<u8>,
    next: u64,
    reads: u64,
    writes: u64,
    io_counts: Arc<IoCounts>,
}

impl DeviceStream for BenchStream {
    fn start(&mut self) -> Result<(), StreamError> {
        self.next = 0;
        self.reads = 0;
        self.writes = 0;
        Ok(())
    }

    fn wait(&mut self) -> Result<Option<PeriodTiming>, StreamError> {
        let index = self.next;
        self.next += 1;
        let now = tenuto_engine::time::now_ns();
        Ok(Some(PeriodTiming {
            index,
            due_ns: now,
            // An hour away: no period ever counts as late.
            deadline_ns: now + 3_600_000_000_000,
        }))
    }

    fn read(&mut self, dst: &mut [u8]) -> Result<(), StreamError> {
        if dst.len() == self.capture.len() {
            dst.copy_from_slice(&self.capture);
        }
        self.reads += 1;
        Ok(())
    }

    fn write(&mut self, src: &[u8]) -> Result<(), StreamError> {
        if src.len() == self.playback.len() {
            self.playback.copy_from_slice(src);
        }
        std::hint::black_box(&mut self.playback);
        self.writes += 1;
        Ok(())
    }

    fn stop(&mut self) {
        // On the driver thread, after the loop: publish what the loop did.
        self.io_counts.reads.store(self.reads, Ordering::Release);
        self.io_counts.writes.store(self.writes, Ordering::Release);
    }
}

// ----- a host that does nothing --------------------------------------------

struct NoopSwitch;

impl SwitchCallback for NoopSwitch {
    fn buffer_switch(&mut self, _half: usize, _time: &PeriodTime) {}
}

struct NoopMessages;

impl HostMessages for NoopMessages {
    fn message(&self, _selector: i32, _value: i32) -> i32 {
        0
    }

    fn sample_rate_did_change(&self, _rate: f64) {}
}

// ----- driving the engine --------------------------------------------------

/// An engine with buffers for every channel of its device.
fn prepared_engine(device: Box<dyn Device>, frames: u32) -> Engine {
    let mut engine = Engine::new(device, EngineOptions::default());
    engine.init().expect("init");
    let (ins, outs) = engine.channels().expect("getChannels");
    let requests: Vec<BufferRequest> = (0..ins)
        .map(|channel| BufferRequest {
            is_input: true,
            channel,
        })
        .chain((0..outs).map(|channel| BufferRequest {
            is_input: false,
            channel,
        }))
        .collect();
    engine
        .create_buffers(
            &requests,
            frames as i32,
            HostCallbacks {
                switch: Box::new(NoopSwitch),
                messages: Arc::new(NoopMessages),
            },
        )
        .expect("createBuffers");
    engine
}

/// One streaming run: its counters and the records drained during it.
struct Run {
    snapshot: StatsSnapshot,
    records: Vec<PeriodRecord>,
}

impl Run {
    fn mean_ns(&self) -> u64 {
        self.snapshot.mean_engine_ns()
    }
}

/// Starts the engine, lets it run until `periods` have passed or `limit`
/// elapsed, draining the record ring every `poll`, and stops it.
fn run(engine: &mut Engine, periods: u64, poll: Duration, limit: Duration) -> Run {
    let mut records = Vec::with_capacity(periods as usize + 65_536);
    engine.drain_records(&mut records);
    records.clear();
    engine.start().expect("start");
    let began = Instant::now();
    loop {
        std::thread::sleep(poll);
        engine.drain_records(&mut records);
        let done = engine.shared().counters.snapshot().periods;
        if done >= periods || began.elapsed() >= limit {
            break;
        }
        assert!(
            engine.shared().stream_error().is_none(),
            "stream error: {:?}",
            engine.shared().stream_error()
        );
    }
    engine.stop().expect("stop");
    engine.drain_records(&mut records);
    Run {
        snapshot: engine.shared().counters.snapshot(),
        records,
    }
}

fn quantile(sorted: &[u64], q: f64) -> u64 {
    if sorted.is_empty() {
        return 0;
    }
    let i = ((sorted.len() as f64 * q).ceil() as usize).clamp(1, sorted.len()) - 1;
    sorted[i]
}

/// The figures of one table row.
struct Row {
    label: String,
    frames: u32,
    channels: usize,
    format: DeviceFormat,
    host: HostFormat,
    periods: u64,
    means: Vec<u64>,
    median_mean: u64,
    p50: u64,
    p99: u64,
    max: u64,
    drained: usize,
    dropped: u64,
    late: u64,
}

fn summarise(
    label: String,
    channels: usize,
    frames: u32,
    format: DeviceFormat,
    host: HostFormat,
    runs: &[Run],
) -> Row {
    let means: Vec<u64> = runs.iter().map(Run::mean_ns).collect();
    let mut sorted_means = means.clone();
    sorted_means.sort_unstable();
    let median_mean = sorted_means[sorted_means.len() / 2];
    let best = runs
        .iter()
        .min_by_key(|r| r.mean_ns())
        .expect("at least one run");
    let mut engine_ns: Vec<u64> = best.records.iter().map(|r| r.engine_ns).collect();
    engine_ns.sort_unstable();
    Row {
        label,
        frames,
        channels,
        format,
        host,
        periods: best.snapshot.periods,
        means,
        median_mean,
        p50: quantile(&engine_ns, 0.50),
        p99: quantile(&engine_ns, 0.99),
        max: best.snapshot.max_engine_ns,
        drained: best.records.len(),
        dropped: best.snapshot.records_dropped,
        late: runs.iter().map(|r| r.snapshot.late_periods).sum(),
    }
}

fn print_table(rows: &[Row]) {
    println!(
        "| device | ch in/out | frames | device fmt → host fmt | periods (best run) \
         | mean ns/period (median of {RUNS}) | the {RUNS} means | p50 ns | p99 ns | max ns \
         | ns per frame·channel | % of period @48 kHz | records drained / dropped |"
    );
    println!("|---|---|---|---|---|---|---|---|---|---|---|---|---|");
    for r in rows {
        let period_ns = f64::from(r.frames) * 1e9 / RATE;
        let per_sample = r.median_mean as f64 / (f64::from(r.frames) * (2 * r.channels) as f64);
        let means: Vec<String> = r.means.iter().map(u64::to_string).collect();
        println!(
            "| {} | {}/{} | {} | {} → {} | {} | **{}** | {} | {} | {} | {} | {:.3} | {:.3}% | {} / {} |",
            r.label,
            r.channels,
            r.channels,
            r.frames,
            r.format.name(),
            r.host.name(),
            r.periods,
            r.median_mean,
            means.join(", "),
            r.p50,
            r.p99,
            r.max,
            per_sample,
            100.0 * r.median_mean as f64 / period_ns,
            r.drained,
            r.dropped,
        );
    }
}

/// Cost of one `Instant::now()` (the engine reads the clock four times per
/// period; about two of those reads fall inside `engine_ns`).
fn clock_read_ns() -> f64 {
    let n = 1_000_000u32;
    let t = Instant::now();
    for _ in 0..n {
        std::hint::black_box(Instant::now());
    }
    t.elapsed().as_nanos() as f64 / f64::from(n)
}

/// The system load average, where the OS exposes it (Linux), for the record.
fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|s| s.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|_| "n/a".to_owned())
}

/// `--count <periods> <f32|i32> [channels]`: one 32-frame stream of 32 (or `channels`)
/// inputs and outputs, no timing.
fn count_mode(args: &[String]) -> bool {
    let Some(i) = args.iter().position(|a| a == "--count") else {
        return false;
    };
    let periods: u64 = args
        .get(i + 1)
        .and_then(|a| a.parse().ok())
        .expect("--count <periods> <f32|i32>");
    let format = match args.get(i + 2).map(String::as_str) {
        Some("i32") => DeviceFormat::I32,
        _ => DeviceFormat::F32,
    };
    let channels = args.get(i + 3).and_then(|a| a.parse().ok()).unwrap_or(32);
    let mut engine = prepared_engine(Box::new(BenchDevice::new(channels, format)), 32);
    let r = run(
        &mut engine,
        periods,
        Duration::from_micros(500),
        Duration::from_secs(600),
    );
    engine.dispose_buffers().expect("disposeBuffers");
    println!("periods {}", r.snapshot.periods);
    true
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if count_mode(&args) {
        return;
    }
    // `cargo bench` passes `--bench`; accept and ignore anything but `--quick`.
    let quick = std::env::args().skip(1).any(|a| a == "--quick");
    let scale = if quick { 10 } else { 1 };
    let violations_before = tenuto_engine::rt::lock_violations();
    let t0 = Instant::now();
    let load_before = load_average();

    let mut rows = Vec::new();
    for channels in [2usize, 32] {
        for frames in [32u32, 64, 256] {
            for format in [DeviceFormat::F32, DeviceFormat::I32] {
                let device = BenchDevice::new(channels, format);
                let io_counts = Arc::clone(&device.io_counts);
                let mut engine = prepared_engine(Box::new(device), frames);
                let host = HostFormat::from_asio(
                    engine
                        .channel_info(0, true)
                        .expect("getChannelInfo")
                        .sample_type,
                )
                .expect("host format");
                let limit = Duration::from_secs(20);
                let poll = Duration::from_micros(500);

                // Correctness (and warm-up) before timing.
                let check = run(&mut engine, CHECK_PERIODS / scale, poll, limit);
                assert!(check.snapshot.periods > 0, "no period ran");
                assert_eq!(check.snapshot.late_periods, 0, "late periods");
                assert_eq!(check.snapshot.host_overruns, 0, "host overruns");
                assert_eq!(
                    tenuto_engine::rt::lock_violations(),
                    violations_before,
                    "a lock was taken on the driver thread"
                );
                assert!(engine.shared().stream_error().is_none());
                let reads = io_counts.reads.load(Ordering::Acquire);
                let writes = io_counts.writes.load(Ordering::Acquire);
                assert_eq!(reads, check.snapshot.periods, "one device read per period");
                assert_eq!(
                    writes, check.snapshot.periods,
                    "one device write per period"
                );

                let periods = FRAMES_PER_RUN / u64::from(frames) / scale;
                let runs: Vec<Run> = (0..RUNS)
                    .map(|_| run(&mut engine, periods, poll, limit))
                    .collect();
                for r in &runs {
                    assert_eq!(r.snapshot.late_periods, 0);
                    assert!(r.snapshot.periods >= periods);
                }
                engine.dispose_buffers().expect("disposeBuffers");
                rows.push(summarise(
                    "bench (unpaced)".to_owned(),
                    channels,
                    frames,
                    format,
                    host,
                    &runs,
                ));
            }
        }
    }
    assert_eq!(
        tenuto_engine::rt::lock_violations(),
        violations_before,
        "a lock was taken on the driver thread"
    );

    // Comparison: the real virtual device, paced by the clock.
    let frames = 64u32;
    let config = VirtualConfig::default();
    let (channels, format) = (config.inputs, config.format);
    let mut engine = prepared_engine(Box::new(VirtualDevice::new(config)), frames);
    let paced = PACED_RUN / scale as u32;
    let periods = (paced.as_secs_f64() * RATE / f64::from(frames)) as u64;
    let runs: Vec<Run> = (0..RUNS)
        .map(|_| {
            run(
                &mut engine,
                periods,
                Duration::from_millis(5),
                paced * 3 + Duration::from_secs(1),
            )
        })
        .collect();
    engine.dispose_buffers().expect("disposeBuffers");
    let paced_late: Vec<String> = runs
        .iter()
        .map(|r| format!("{}/{}", r.snapshot.late_periods, r.snapshot.periods))
        .collect();
    let mut wake: Vec<u64> = runs
        .iter()
        .flat_map(|r| r.records.iter().map(|p| p.wake_late_ns))
        .collect();
    wake.sort_unstable();
    rows.push(summarise(
        "VirtualDevice (paced)".to_owned(),
        channels,
        frames,
        format,
        tenuto_engine::default_host_format(format),
        &runs,
    ));

    println!();
    println!(
        "Engine CPU time per period (engine_ns: device wait-return → read → convert in → \
         convert out → write; host callback excluded){}",
        if quick {
            " — QUICK run (counts ÷10)"
        } else {
            ""
        }
    );
    println!();
    print_table(&rows);
    println!();
    println!(
        "ns per frame·channel = mean / (frames × (inputs + outputs)). \
         p50/p99 from the drained per-period records of the run with the lowest mean."
    );
    println!(
        "Clock read (Instant::now) ≈ {:.1} ns. Late periods in the timed unpaced runs: {}.",
        clock_read_ns(),
        rows.iter()
            .filter(|r| r.label.starts_with("bench"))
            .map(|r| r.late)
            .sum::<u64>(),
    );
    println!(
        "Paced VirtualDevice: late/periods per run {}; wake-up lateness over all runs \
         p50 {} µs, p99 {} µs, max {} µs.",
        paced_late.join(", "),
        quantile(&wake, 0.50) / 1000,
        quantile(&wake, 0.99) / 1000,
        wake.last().copied().unwrap_or(0) / 1000,
    );
    println!(
        "Total bench time: {:.1} s; load average before {load_before}, after {}.",
        t0.elapsed().as_secs_f64(),
        load_average()
    );
}
