//! A streaming engine (virtual device, a host that overruns now and then) published by a
//! feeder thread at ten updates a second, as the driver will do it, and watched by the
//! terminal UI's App: the counters move and the late periods arrive with their cause.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use tenuto_engine::host::{HostCallbacks, HostMessages, PeriodTime, SwitchCallback};
use tenuto_engine::virtual_device::{VirtualConfig, VirtualDevice};
use tenuto_engine::{BufferRequest, Engine, EngineOptions};
use tenuto_monitor::feed::{EngineView, Feeder};
use tenuto_monitor::tui::App;
use tenuto_monitor::{Cause, EventKind, InstanceMeta, Namespace, Publisher, State};

struct Quiet;

impl HostMessages for Quiet {
    fn message(&self, _selector: i32, _value: i32) -> i32 {
        0
    }
    fn sample_rate_did_change(&self, _rate: f64) {}
}

/// Sleeps past the period in every 40th switch: a host overrun.
struct Overruns(Arc<AtomicU64>);

impl SwitchCallback for Overruns {
    fn buffer_switch(&mut self, _half: usize, _time: &PeriodTime) {
        let n = self.0.fetch_add(1, Ordering::Relaxed) + 1;
        if n % 40 == 0 {
            std::thread::sleep(Duration::from_millis(4));
        }
    }
}

#[test]
fn the_monitor_sees_a_streaming_engine_move() {
    let ns = Namespace::new("test.live");
    let mut e = Engine::new(
        Box::new(VirtualDevice::new(VirtualConfig::default())),
        EngineOptions::default(),
    );
    e.init().unwrap();
    let switches = Arc::new(AtomicU64::new(0));
    let requests = [false, true]
        .iter()
        .map(|&is_input| BufferRequest {
            is_input,
            channel: 0,
        })
        .collect::<Vec<_>>();
    e.create_buffers(
        &requests,
        64,
        HostCallbacks {
            switch: Box::new(Overruns(Arc::clone(&switches))),
            messages: Arc::new(Quiet),
        },
    )
    .unwrap();

    // The driver object's monitor thread: a Publisher and a Feeder over `Shared`.
    let shared = Arc::clone(e.shared());
    let stop = Arc::new(AtomicBool::new(false));
    let feeder = {
        let (ns, stop) = (ns.clone(), Arc::clone(&stop));
        std::thread::spawn(move || {
            let mut p = Publisher::create_in(&ns, &InstanceMeta::current("virtual")).unwrap();
            let mut f = Feeder::new();
            while !stop.load(Ordering::Acquire) {
                let view = EngineView {
                    state_name: None,
                    buffer_size: 64,
                };
                f.tick(&mut p, &shared, view);
                std::thread::sleep(Duration::from_millis(100));
            }
        })
    };

    // The monitor starts before the stream.
    let mut app = App::new(ns.clone());
    let t0 = Instant::now();
    while app.state().instances.is_empty() && t0.elapsed() < Duration::from_secs(5) {
        app.relist();
        std::thread::sleep(Duration::from_millis(20));
    }
    assert_eq!(app.state().instances.len(), 1);

    e.start().unwrap();
    let mut first_periods = None;
    let mut moved = false;
    let mut late = false;
    let t0 = Instant::now();
    while t0.elapsed() < Duration::from_secs(10) && !(moved && late) {
        std::thread::sleep(Duration::from_millis(100));
        app.refresh();
        let Some(s) = app.state().snapshot else {
            continue;
        };
        if s.state() != State::Streaming {
            continue;
        }
        let p = s.periods;
        if *first_periods.get_or_insert(p) < p && s.recent_periods().count() > 1 {
            moved = true;
        }
        late = app
            .state()
            .events
            .iter()
            .any(|e| e.kind == EventKind::Late(Cause::HostOverrun))
            && s.late(Cause::HostOverrun) > 0;
    }
    e.stop().unwrap();
    std::thread::sleep(Duration::from_millis(300));
    app.refresh();
    stop.store(true, Ordering::Release);
    feeder.join().unwrap();

    assert!(moved, "the periods never moved: {:?}", app.state().snapshot);
    assert!(late, "no host overrun seen: {:?}", app.state().events);
    let kinds: Vec<_> = app.state().events.iter().map(|e| e.kind).collect();
    assert!(kinds.contains(&EventKind::StreamStarted), "{kinds:?}");
    assert!(kinds.contains(&EventKind::StreamStopped), "{kinds:?}");
    let s = app.state().snapshot.unwrap();
    assert_eq!(s.sample_rate, e.shared().sample_rate());
    assert!(s.periods >= 40 && s.wake_histogram.iter().sum::<u64>() == s.periods);
    // A period sample splits the period into its parts.
    let last = s.recent_periods().last().unwrap();
    assert_eq!(last.period_ns, s.period_ns());
    assert!(last.engine_ns + last.host_ns > 0);
}
