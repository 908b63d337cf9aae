//! `tenuto monitor`: every Tenuto driver running in this session, live, in the terminal
//! (`tenuto_monitor::tui`); `--once` prints them once instead (text or `--json`), for
//! scripts and tests; `--demo` streams the virtual device inside this process so that the
//! monitor has something to show without a DAW (on Linux, where no DLL runs, the only
//! way to see it move).
//!
//! The monitor only reads the drivers' published regions: it never blocks a driver and a
//! driver never waits for it.

use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use clap::Args;
use serde_json::json;
use tenuto_engine::host::{HostCallbacks, HostMessages, PeriodTime, SwitchCallback};
use tenuto_engine::virtual_device::{VirtualConfig, VirtualDevice};
use tenuto_engine::{BufferRequest, Engine, EngineOptions};
use tenuto_monitor::feed::{EngineView, Feeder};
use tenuto_monitor::{
    text, Cause, InstanceInfo, InstanceMeta, Namespace, Publisher, Reader, Snapshot,
};

#[derive(Args, Debug)]
pub(crate) struct MonitorArgs {
    /// Print every live instance once and exit, instead of the terminal UI.
    #[arg(long)]
    once: bool,
    /// With --once: print JSON (an array, one object per instance).
    #[arg(long, requires = "once")]
    json: bool,
    /// Stream the virtual device inside this process (its host overruns a period every
    /// five seconds) and watch it along with any other instance: the monitor without a DAW.
    #[arg(long)]
    demo: bool,
}

pub(crate) fn run(args: &MonitorArgs) -> ExitCode {
    let ns = Namespace::default();
    let demo = if args.demo {
        match Demo::start(&ns) {
            Ok(d) => Some(d),
            Err(e) => {
                eprintln!("tenuto monitor: the demo stream did not start: {e}");
                return ExitCode::FAILURE;
            }
        }
    } else {
        None
    };
    let code = if args.once {
        if demo.is_some() {
            // Let the demo publish a few updates first.
            std::thread::sleep(Duration::from_millis(500));
        }
        print_once(&ns, args.json);
        ExitCode::SUCCESS
    } else {
        match tenuto_monitor::tui::run(&ns) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("tenuto monitor: {e}");
                ExitCode::FAILURE
            }
        }
    };
    drop(demo);
    code
}

fn print_once(ns: &Namespace, as_json: bool) {
    let listed: Vec<(InstanceInfo, Option<Snapshot>)> = ns
        .list()
        .into_iter()
        .map(|i| {
            let snap = Reader::open(&i).ok().and_then(|r| r.snapshot());
            (i, snap)
        })
        .collect();
    if as_json {
        let v: Vec<serde_json::Value> =
            listed.iter().map(|(i, s)| to_json(i, s.as_ref())).collect();
        println!("{}", serde_json::to_string_pretty(&v).unwrap_or_default());
        return;
    }
    if listed.is_empty() {
        println!("no Tenuto driver is running in this session");
        return;
    }
    for (i, s) in &listed {
        let host = if i.host_exe.is_empty() {
            "?"
        } else {
            &i.host_exe
        };
        print!(
            "{host} (pid {} #{}) {} — {}",
            i.pid,
            i.instance,
            i.state.name(),
            i.driver
        );
        if let Some(s) = s {
            print!(
                "; {} frames at {} Hz; {} periods, {} late, {} demotions; priority {}",
                s.buffer_size,
                s.sample_rate,
                s.periods,
                s.late_periods,
                s.demotions,
                s.priority()
                    .map_or("not sampled".to_owned(), |p| p.to_string())
            );
        }
        println!();
    }
}

fn to_json(i: &InstanceInfo, s: Option<&Snapshot>) -> serde_json::Value {
    let mut v = json!({
        "name": i.name,
        "pid": i.pid,
        "instance": i.instance,
        "host_exe": i.host_exe,
        "driver": i.driver,
        "state": i.state.name(),
        "liveness": format!("{:?}", i.liveness).to_lowercase(),
        "heartbeat_age_ms": i.heartbeat_age_ms,
    });
    if let (Some(s), Some(obj)) = (s, v.as_object_mut()) {
        let causes: serde_json::Map<String, serde_json::Value> = Cause::ALL
            .iter()
            .map(|c| (c.name().to_owned(), s.late(*c).into()))
            .collect();
        let snapshot = json!({
            "updates": s.updates,
            "sample_rate": s.sample_rate,
            "buffer_size": s.buffer_size,
            "input_latency": s.input_latency,
            "output_latency": s.output_latency,
            "policy": text(&s.policy),
            "stream_error": text(&s.stream_error),
            "streams_started": s.streams_started,
            "priority": s.priority(),
            "demoted": s.demoted != 0,
            "periods": s.periods,
            "late_periods": s.late_periods,
            "late_by_cause": causes,
            "host_overruns": s.host_overruns,
            "demotions": s.demotions,
            "priority_changes": s.priority_changes,
            "max_wake_late_ns": s.max_wake_late_ns,
            "output_underruns": s.output_underruns,
            "input_overruns": s.input_overruns,
            "resyncs": s.resyncs,
            "device_stalls": s.device_stalls,
            "wake_histogram": s.wake_histogram.to_vec(),
            "priority_samples": s.recent_priorities().count(),
            "period_samples": s.recent_periods().count(),
        });
        obj.insert("snapshot".into(), snapshot);
    }
    v
}

struct Quiet;

impl HostMessages for Quiet {
    fn message(&self, _selector: i32, _value: i32) -> i32 {
        0
    }
    fn sample_rate_did_change(&self, _rate: f64) {}
}

/// The demo's host: overruns one period every `every` switches.
struct Overrunning {
    switches: u64,
    every: u64,
    sleep: Duration,
}

impl SwitchCallback for Overrunning {
    fn buffer_switch(&mut self, _half: usize, _time: &PeriodTime) {
        self.switches += 1;
        if self.switches % self.every == 0 {
            std::thread::sleep(self.sleep);
        }
    }
}

/// A virtual-device engine streaming in this process, published like a driver object by a
/// feeder thread of its own (never the driver thread).
struct Demo {
    engine: Engine,
    stop: Arc<AtomicBool>,
    feeder: Option<std::thread::JoinHandle<()>>,
}

impl Demo {
    fn start(ns: &Namespace) -> Result<Self, String> {
        const BUFFER: u32 = 256;
        const RATE: f64 = 48_000.0;
        let mut engine = Engine::new(
            Box::new(VirtualDevice::new(VirtualConfig::default())),
            EngineOptions::default(),
        );
        engine.init().map_err(|e| e.to_string())?;
        engine.set_sample_rate(RATE).map_err(|e| e.to_string())?;
        let requests = [false, true].map(|is_input| BufferRequest {
            is_input,
            channel: 0,
        });
        let period = Duration::from_secs_f64(f64::from(BUFFER) / RATE);
        engine
            .create_buffers(
                &requests,
                BUFFER as i32,
                HostCallbacks {
                    switch: Box::new(Overrunning {
                        switches: 0,
                        every: (5.0 / period.as_secs_f64()) as u64,
                        sleep: period * 2,
                    }),
                    messages: Arc::new(Quiet),
                },
            )
            .map_err(|e| e.to_string())?;
        engine.start().map_err(|e| e.to_string())?;
        let mut publisher =
            Publisher::create_in(ns, &InstanceMeta::current("virtual device (demo)"))
                .map_err(|e| e.to_string())?;
        let shared = Arc::clone(engine.shared());
        let stop = Arc::new(AtomicBool::new(false));
        let stopped = Arc::clone(&stop);
        let feeder = std::thread::Builder::new()
            .name("tenuto-monitor-demo".to_owned())
            .spawn(move || {
                let mut feeder = Feeder::new();
                while !stopped.load(Ordering::Acquire) {
                    feeder.tick(
                        &mut publisher,
                        &shared,
                        EngineView {
                            state_name: None,
                            buffer_size: shared.buffer_size(),
                        },
                    );
                    std::thread::sleep(Duration::from_millis(100));
                }
            })
            .map_err(|e| e.to_string())?;
        Ok(Self {
            engine,
            stop,
            feeder: Some(feeder),
        })
    }
}

impl Drop for Demo {
    fn drop(&mut self) {
        let _ = self.engine.stop();
        self.stop.store(true, Ordering::Release);
        if let Some(t) = self.feeder.take() {
            let _ = t.join();
        }
    }
}
