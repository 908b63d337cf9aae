//! `tenuto doctor`: stream through the engine on the virtual device at a
//! small buffer under each scheduling policy in turn — optionally with
//! every core busy at normal priority — and compare what the driver thread
//! went through.

use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use clap::Args;
use serde::Serialize;
use tenuto_engine::host::{HostCallbacks, HostMessages, PeriodTime, SwitchCallback, ThreadPolicy};
use tenuto_engine::stats::{LateCause, PeriodRecord};
use tenuto_engine::virtual_device::{VirtualConfig, VirtualDevice};
use tenuto_engine::{BufferRequest, Engine, EngineOptions};

/// One policy to try.
pub struct Candidate {
    /// Short label for the table ("inherit", "fifo 80", …).
    pub label: String,
    /// The policy.
    pub policy: Arc<dyn ThreadPolicy>,
}

/// What one policy's run measured.
#[derive(Debug, Clone, Serialize)]
pub struct Outcome {
    /// The label.
    pub policy: String,
    /// What the policy reported it applied.
    pub applied: String,
    /// Periods streamed.
    pub periods: u64,
    /// Late periods.
    pub late: u64,
    /// Worst wake-up lateness, µs.
    pub worst_wake_us: f64,
    /// 99th percentile of wake-up lateness, µs.
    pub p99_us: f64,
    /// 99.9th percentile, µs.
    pub p999_us: f64,
    /// Demotions seen.
    pub demotions: u64,
    /// Late periods by cause (name, count), non-zero only.
    pub causes: Vec<(String, u64)>,
    /// CPU time the hypervisor took from this VM during the run, ms
    /// (Linux `/proc/stat` steal; `None` elsewhere). Guest scheduling
    /// cannot prevent a stall the host causes.
    pub steal_ms: Option<f64>,
    /// The wake-up lateness histogram (for `--plot`).
    #[serde(skip)]
    pub histogram: [u64; tenuto_engine::stats::HISTOGRAM_BUCKETS],
    /// Late periods, device gaps and demotions, seconds into the run (for `--plot`).
    #[serde(skip)]
    pub marks: Vec<tenuto_monitor::plot::Mark>,
    /// Events that came faster than they were collected (not among `marks`).
    #[serde(skip)]
    pub marks_missed: u64,
}

/// Total steal time of all CPUs from `/proc/stat`, ms (Linux).
fn steal_ms() -> Option<f64> {
    let stat = std::fs::read_to_string("/proc/stat").ok()?;
    let cpu = stat.lines().next()?;
    // cpu user nice system idle iowait irq softirq steal ...
    let ticks: u64 = cpu.split_whitespace().nth(8)?.parse().ok()?;
    // USER_HZ is 100 on every mainstream Linux configuration.
    Some(ticks as f64 * 10.0)
}

struct Quiet;

impl SwitchCallback for Quiet {
    fn buffer_switch(&mut self, _half: usize, _time: &PeriodTime) {}
}

impl HostMessages for Quiet {
    fn message(&self, _selector: i32, _value: i32) -> i32 {
        0
    }
    fn sample_rate_did_change(&self, _rate: f64) {}
}

/// Busy threads at normal priority, one per core, until dropped.
struct Load {
    stop: Arc<AtomicBool>,
    threads: Vec<std::thread::JoinHandle<()>>,
}

impl Load {
    fn start(n: usize) -> Self {
        let stop = Arc::new(AtomicBool::new(false));
        let threads = (0..n)
            .map(|i| {
                let stop = Arc::clone(&stop);
                std::thread::Builder::new()
                    .name(format!("doctor-load-{i}"))
                    .spawn(move || {
                        let mut x = 0x9e37_79b9_7f4a_7c15u64 ^ i as u64;
                        while !stop.load(Ordering::Relaxed) {
                            for _ in 0..10_000 {
                                x ^= x << 13;
                                x ^= x >> 7;
                                x ^= x << 17;
                            }
                            std::hint::black_box(x);
                        }
                    })
                    .expect("spawn a load thread")
            })
            .collect();
        Self { stop, threads }
    }
}

impl Drop for Load {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        for t in self.threads.drain(..) {
            let _ = t.join();
        }
    }
}

fn quantile_us(sorted_ns: &[u64], q: f64) -> f64 {
    if sorted_ns.is_empty() {
        return 0.0;
    }
    let i = ((sorted_ns.len() as f64 * q).ceil() as usize).clamp(1, sorted_ns.len()) - 1;
    sorted_ns[i] as f64 / 1e3
}

/// Streams `seconds` at `buffer` frames / `rate` Hz under `candidate`.
pub fn measure(
    candidate: &Candidate,
    buffer: u32,
    rate: f64,
    seconds: f64,
    load: bool,
) -> Result<Outcome, String> {
    let mut engine = Engine::new(
        Box::new(VirtualDevice::new(VirtualConfig::default())),
        EngineOptions {
            policy: Arc::clone(&candidate.policy),
            sample_every_periods: 16,
            ..EngineOptions::default()
        },
    );
    engine.init().map_err(|e| e.to_string())?;
    engine.set_sample_rate(rate).map_err(|e| e.to_string())?;
    let requests = [
        BufferRequest {
            is_input: true,
            channel: 0,
        },
        BufferRequest {
            is_input: true,
            channel: 1,
        },
        BufferRequest {
            is_input: false,
            channel: 0,
        },
        BufferRequest {
            is_input: false,
            channel: 1,
        },
    ];
    let quiet = Arc::new(Quiet);
    engine
        .create_buffers(
            &requests,
            i32::try_from(buffer).unwrap_or(i32::MAX),
            HostCallbacks {
                switch: Box::new(Quiet),
                messages: quiet,
            },
        )
        .map_err(|e| e.to_string())?;
    let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
    // Four busy threads per core: more runnable threads than cores, as on a
    // busy machine, so a normal-priority thread waits its turn.
    let load_guard = load.then(|| Load::start(cores * 4));
    let steal_before = steal_ms();
    engine.start().map_err(|e| e.to_string())?;
    let mut records: Vec<PeriodRecord> = Vec::new();
    let period_s = f64::from(buffer) / rate;
    let mut marks = Vec::new();
    let mut events = Vec::new();
    let (mut seq, mut missed) = (0, 0);
    let mut collect = |engine: &Engine| {
        events.clear();
        let (newest, m) = engine.shared().events_after(seq, &mut events);
        seq = newest;
        missed += m;
        marks.extend(
            events
                .iter()
                .filter_map(|e| tenuto_monitor::plot::Mark::from_schedule(e, period_s)),
        );
    };
    let t0 = Instant::now();
    while t0.elapsed() < Duration::from_secs_f64(seconds) {
        std::thread::sleep(Duration::from_millis(50));
        engine.drain_records(&mut records);
        collect(&engine);
    }
    engine.stop().map_err(|e| e.to_string())?;
    collect(&engine);
    let steal = steal_before.zip(steal_ms()).map(|(a, b)| b - a);
    drop(load_guard);
    engine.drain_records(&mut records);
    let s = engine.shared().counters.snapshot();
    let mut wake: Vec<u64> = records.iter().map(|r| r.wake_late_ns).collect();
    wake.sort_unstable();
    Ok(Outcome {
        policy: candidate.label.clone(),
        applied: engine.policy_description().to_owned(),
        periods: s.periods,
        late: s.late_periods,
        worst_wake_us: s.max_wake_late_ns as f64 / 1e3,
        p99_us: quantile_us(&wake, 0.99),
        p999_us: quantile_us(&wake, 0.999),
        demotions: s.demotions,
        causes: LateCause::ALL
            .iter()
            .filter(|c| s.late(**c) > 0)
            .map(|c| (c.name().to_owned(), s.late(*c)))
            .collect(),
        steal_ms: steal,
        histogram: s.wake_histogram,
        marks,
        marks_missed: missed,
    })
}

/// The policy to recommend: fewest late periods, then the lowest p99.9.
pub fn recommend(outcomes: &[Outcome]) -> Option<&Outcome> {
    outcomes
        .iter()
        .min_by(|a, b| a.late.cmp(&b.late).then(a.p999_us.total_cmp(&b.p999_us)))
}

/// Prints the side-by-side table.
pub fn print_table(outcomes: &[Outcome], buffer: u32, rate: f64, seconds: f64, load: bool) {
    println!(
        "tenuto doctor: {buffer} frames at {rate} Hz ({:.2} ms per period), {seconds} s per policy, {}",
        f64::from(buffer) / rate * 1e3,
        if load {
            "four busy threads per core at normal priority"
        } else {
            "no added load"
        }
    );
    println!();
    println!(
        "| policy | periods | late | worst wake-up µs | p99 µs | p99.9 µs | demotions | VM steal ms | late causes |"
    );
    println!("|---|---:|---:|---:|---:|---:|---:|---:|---|");
    for o in outcomes {
        let causes = if o.causes.is_empty() {
            "—".to_owned()
        } else {
            o.causes
                .iter()
                .map(|(c, n)| format!("{n} {c}"))
                .collect::<Vec<_>>()
                .join(", ")
        };
        let steal = o.steal_ms.map_or("—".to_owned(), |ms| format!("{ms:.0}"));
        println!(
            "| {} | {} | {} | {:.0} | {:.0} | {:.0} | {} | {steal} | {causes} |",
            o.policy, o.periods, o.late, o.worst_wake_us, o.p99_us, o.p999_us, o.demotions
        );
    }
    println!();
    for o in outcomes {
        println!("{:<10} applied: {}", o.policy, o.applied);
    }
    if let Some(best) = recommend(outcomes) {
        println!();
        println!(
            "recommendation: {} — {} late periods of {} (p99.9 wake-up {:.0} µs).",
            best.policy, best.late, best.periods, best.p999_us
        );
    }
}

#[derive(Args, Debug)]
pub(crate) struct DoctorArgs {
    /// Keep every core busy (four threads per core at normal priority)
    /// while measuring.
    #[arg(long)]
    load: bool,
    /// Seconds per policy.
    #[arg(long, default_value_t = 10.0)]
    seconds: f64,
    /// Buffer size in frames.
    #[arg(long, default_value_t = 32)]
    buffer: u32,
    /// Sample rate in Hz.
    #[arg(long, default_value_t = 48_000.0)]
    rate: f64,
    /// Policies to compare (default: every one this OS offers without
    /// changing the process: inherit, fifo, rr, deadline on Linux;
    /// inherit, mmcss, manual on Windows). Repeat or comma-separate.
    #[arg(long = "policy", value_name = "POLICY", value_delimiter = ',')]
    policies: Vec<tenuto_sched::PolicyArg>,
    /// Print the results as JSON.
    #[arg(long)]
    json: bool,
    /// Also draw the wake-up lateness distribution of every policy and the timeline of
    /// late periods with their causes (the policies one after another) into this SVG file.
    #[arg(long, value_name = "FILE.svg")]
    plot: Option<std::path::PathBuf>,
}

fn default_doctor_policies() -> Vec<tenuto_sched::PolicyArg> {
    let names: &[&str] = if cfg!(windows) {
        &["inherit", "mmcss", "manual"]
    } else {
        &["inherit", "fifo:80", "rr:80", "deadline"]
    };
    names.iter().filter_map(|n| n.parse().ok()).collect()
}

pub(crate) fn run(args: &DoctorArgs) -> ExitCode {
    let policies = if args.policies.is_empty() {
        default_doctor_policies()
    } else {
        args.policies.clone()
    };
    let mut outcomes = Vec::new();
    for p in &policies {
        let policy = match tenuto_sched::thread_policy(p, &tenuto_sched::Scheduling::default()) {
            Ok(policy) => policy,
            Err(e) => {
                eprintln!("tenuto doctor: {e}");
                return ExitCode::from(2);
            }
        };
        eprintln!("tenuto doctor: {p} for {} s…", args.seconds);
        let candidate = Candidate {
            label: p.to_string(),
            policy,
        };
        match measure(&candidate, args.buffer, args.rate, args.seconds, args.load) {
            Ok(o) => outcomes.push(o),
            Err(e) => {
                eprintln!("tenuto doctor: {p}: {e}");
                return ExitCode::FAILURE;
            }
        }
    }
    if args.json {
        println!(
            "{}",
            serde_json::to_string_pretty(&outcomes).unwrap_or_default()
        );
    } else {
        print_table(&outcomes, args.buffer, args.rate, args.seconds, args.load);
    }
    if let Some(path) = &args.plot {
        if let Err(e) = plot(path, &outcomes, args) {
            eprintln!("tenuto doctor: --plot: {e}");
            return ExitCode::FAILURE;
        }
    }
    ExitCode::SUCCESS
}

/// The doctor's picture: one lateness curve per policy; on the timeline the policies' runs
/// one after another, in the order they ran.
fn plot(path: &std::path::Path, outcomes: &[Outcome], args: &DoctorArgs) -> Result<(), String> {
    let runs: Vec<(&str, _)> = outcomes
        .iter()
        .map(|o| (o.policy.as_str(), o.histogram))
        .collect();
    let mut marks = Vec::new();
    for (i, o) in outcomes.iter().enumerate() {
        let offset = i as f64 * args.seconds;
        marks.extend(o.marks.iter().map(|m| tenuto_monitor::plot::Mark {
            time_s: m.time_s + offset,
            kind: m.kind,
        }));
    }
    let order: Vec<&str> = outcomes.iter().map(|o| o.policy.as_str()).collect();
    let recommendation =
        recommend(outcomes).map_or(String::new(), |b| format!(" — recommended: {}", b.policy));
    let title = format!(
        "tenuto doctor: {} frames at {} Hz, {}{recommendation}",
        args.buffer,
        args.rate,
        if args.load {
            "under load"
        } else {
            "no added load"
        },
    );
    let missed: u64 = outcomes.iter().map(|o| o.marks_missed).sum();
    if missed > 0 {
        eprintln!("tenuto doctor: {missed} events came too fast to be collected and are not on the timeline");
    }
    let timeline = format!(
        "Late periods and their causes; {} s per policy: {}",
        args.seconds,
        order.join(" → ")
    );
    crate::plot::write_report(
        path,
        &title,
        &runs,
        &timeline,
        &marks,
        args.seconds * outcomes.len() as f64,
    )
}
