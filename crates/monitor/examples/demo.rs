//! `cargo run -p tenuto-monitor --example demo`: a virtual-device engine streams in this
//! process (its host overruns every 300th period), a feeder publishes it ten times a
//! second, and the terminal UI watches it. On Windows the same UI also lists every Tenuto
//! driver running elsewhere in the session; elsewhere regions are per process.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use tenuto_engine::host::{HostCallbacks, HostMessages, PeriodTime, SwitchCallback};
use tenuto_engine::virtual_device::{VirtualConfig, VirtualDevice};
use tenuto_engine::{BufferRequest, Engine, EngineOptions};
use tenuto_monitor::feed::{EngineView, Feeder};
use tenuto_monitor::{InstanceMeta, Namespace, Publisher};

struct Quiet;

impl HostMessages for Quiet {
    fn message(&self, _selector: i32, _value: i32) -> i32 {
        0
    }
    fn sample_rate_did_change(&self, _rate: f64) {}
}

struct Host(Arc<AtomicU64>);

impl SwitchCallback for Host {
    fn buffer_switch(&mut self, _half: usize, _time: &PeriodTime) {
        let n = self.0.fetch_add(1, Ordering::Relaxed) + 1;
        if n % 300 == 0 {
            std::thread::sleep(Duration::from_millis(8));
        }
    }
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let buffer = 256;
    let mut engine = Engine::new(
        Box::new(VirtualDevice::new(VirtualConfig::default())),
        EngineOptions::default(),
    );
    engine.init()?;
    let requests = [false, true].map(|is_input| BufferRequest {
        is_input,
        channel: 0,
    });
    engine.create_buffers(
        &requests,
        buffer,
        HostCallbacks {
            switch: Box::new(Host(Arc::new(AtomicU64::new(0)))),
            messages: Arc::new(Quiet),
        },
    )?;
    engine.start()?;
    let shared = Arc::clone(engine.shared());
    let ns = Namespace::default();
    let mut publisher = Publisher::create_in(&ns, &InstanceMeta::current("virtual device (demo)"))?;
    std::thread::spawn(move || {
        let mut feeder = Feeder::new();
        loop {
            let view = EngineView {
                state_name: None,
                buffer_size: buffer as u32,
            };
            feeder.tick(&mut publisher, &shared, view);
            std::thread::sleep(Duration::from_millis(100));
        }
    });
    tenuto_monitor::tui::run(&ns)?;
    engine.stop()?;
    Ok(())
}
