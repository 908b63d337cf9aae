//! `play` and `loopback` keep the driver's real-time thread free of
//! allocations and Tenuto locks: their handlers only copy precomputed
//! samples, run an oscillator and push into a preallocated ring. Counted by
//! the same counting global allocator as `realtime.rs`.

use std::time::Duration;

use tenuto_engine::virtual_device::{VirtualConfig, VirtualDevice};
use tenuto_engine::{Engine, EngineOptions};
use tenuto_host::Driver;
use tenuto_measure::loopback::{self, LoopbackOptions};
use tenuto_measure::play::{self, Clip, PlayOptions, PlaySource};

#[global_allocator]
static ALLOCATOR: tenuto_engine::rt::RtAllocCounter = tenuto_engine::rt::RtAllocCounter;

fn driver() -> Driver {
    let engine = Engine::new(
        Box::new(VirtualDevice::new(VirtualConfig {
            output_extra_frames: 4096,
            ..VirtualConfig::default()
        })),
        EngineOptions::default(),
    );
    Driver::from_instance(tenuto_driver::create_instance(engine))
}

fn counts() -> (u64, u64) {
    (
        tenuto_engine::rt::rt_allocations(),
        tenuto_engine::rt::lock_violations(),
    )
}

// One test function: the counters are process-wide and ASIO allows one
// streaming session per process.
#[test]
fn play_and_loopback_handlers_neither_allocate_nor_lock() {
    // Negative control: an allocation inside a real-time section counts.
    let before = tenuto_engine::rt::rt_allocations();
    tenuto_engine::rt::enter();
    drop(std::hint::black_box(Vec::<u64>::with_capacity(8)));
    tenuto_engine::rt::leave();
    assert!(tenuto_engine::rt::rt_allocations() > before);

    let before = counts();
    let report = loopback::run(
        &mut driver(),
        &LoopbackOptions {
            buffer_frames: Some(64),
            duration: Duration::from_millis(1500),
            ..LoopbackOptions::default()
        },
        &mut |_| {},
    )
    .expect("loopback");
    assert!(report.switches > 500, "{report:#?}");
    assert_eq!(report.measured_frames, Some(report.reported_frames));
    assert_eq!(
        counts(),
        before,
        "loopback: (allocations, locks) on the driver thread"
    );

    let before = counts();
    let report = play::run(
        &mut driver(),
        PlaySource::Tone {
            hz: 1000.0,
            dbfs: -6.0,
        },
        &PlayOptions {
            buffer_frames: Some(64),
            duration: Some(Duration::from_secs(1)),
            ..PlayOptions::default()
        },
        &mut |_| {},
    )
    .expect("play tone");
    assert!(report.finished);
    assert_eq!(
        counts(),
        before,
        "tone: (allocations, locks) on the driver thread"
    );

    let before = counts();
    let report = play::run(
        &mut driver(),
        PlaySource::Clip(Clip {
            sample_rate: 48_000.0,
            channels: vec![vec![0.1; 48_000]],
            name: "dc".into(),
        }),
        &PlayOptions {
            buffer_frames: Some(64),
            ..PlayOptions::default()
        },
        &mut |_| {},
    )
    .expect("play clip");
    assert!(report.finished);
    assert_eq!(
        counts(),
        before,
        "clip: (allocations, locks) on the driver thread"
    );
}
