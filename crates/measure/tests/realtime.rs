//! Proof that the driver thread's streaming loop allocates nothing and
//! takes no Tenuto lock, with a host that queries the driver from inside
//! its callback the way DAWs do.
//!
//! A counting global allocator counts every allocation made while the
//! calling thread is inside the driver's real-time section
//! (`tenuto_engine::rt`); Tenuto's only lock type counts every acquisition
//! made there. Both must stay at zero while real periods stream — also with
//! the debug trace on, which records every call the host makes from inside
//! its callback.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use tenuto_driver::trace::Trace;

use tenuto_engine::virtual_device::{VirtualConfig, VirtualDevice};
use tenuto_engine::{Engine, EngineOptions};
use tenuto_host::{Driver, HostOptions};
use tenuto_measure::stream::{self, StreamOptions};

#[global_allocator]
static ALLOCATOR: tenuto_engine::rt::RtAllocCounter = tenuto_engine::rt::RtAllocCounter;

/// Negative control: if this did not count, the real test would prove
/// nothing. Runs inside the one test function (the counters are global).
fn the_counting_allocator_sees_allocations_in_a_real_time_section() {
    let before = tenuto_engine::rt::rt_allocations();
    tenuto_engine::rt::enter();
    let v: Vec<u64> = Vec::with_capacity(16);
    drop(std::hint::black_box(v));
    tenuto_engine::rt::leave();
    assert!(tenuto_engine::rt::rt_allocations() >= before + 2);

    let lock = tenuto_engine::sync::Mutex::new(0);
    let before = tenuto_engine::rt::lock_violations();
    tenuto_engine::rt::enter();
    *lock.lock() += 1;
    tenuto_engine::rt::leave();
    assert_eq!(tenuto_engine::rt::lock_violations(), before + 1);
}

fn stream_and_count(frames: i32, inputs: usize, outputs: usize, output_ready: bool) {
    let host = HostOptions {
        call_output_ready: output_ready,
        ..HostOptions::default()
    };
    stream_and_count_with(
        frames,
        inputs,
        outputs,
        host,
        EngineOptions::default(),
        None,
    );
}

fn stream_and_count_with(
    frames: i32,
    inputs: usize,
    outputs: usize,
    host: HostOptions,
    options: EngineOptions,
    trace: Option<Arc<Trace>>,
) -> tenuto_engine::stats::StatsSnapshot {
    let engine = Engine::new(
        Box::new(VirtualDevice::new(VirtualConfig {
            inputs,
            outputs,
            ..VirtualConfig::default()
        })),
        options,
    );
    let instance = tenuto_driver::create_instance_with_hooks(
        engine,
        tenuto_driver::core::DriverHooks {
            trace,
            ..Default::default()
        },
    );
    let shared = std::sync::Arc::clone(instance.shared());
    let mut d = Driver::from_instance(instance);
    let allocs_before = tenuto_engine::rt::rt_allocations();
    let locks_before = tenuto_engine::rt::lock_violations();
    let options = StreamOptions {
        buffer_frames: Some(frames),
        duration: Duration::from_secs(2),
        host,
        ..StreamOptions::default()
    };
    let report = stream::run(&mut d, &options, &mut |_, _| {}).expect("stream");
    let stats = shared.counters.snapshot();
    assert!(report.switches > 50, "only {} switches", report.switches);
    assert_eq!(report.discontinuities, 0);
    assert_eq!(stats.periods, report.switches);
    assert_eq!(
        tenuto_engine::rt::rt_allocations() - allocs_before,
        0,
        "the driver thread allocated while streaming ({frames} frames, {inputs}x{outputs})"
    );
    assert_eq!(
        tenuto_engine::rt::lock_violations() - locks_before,
        0,
        "the driver thread took a Tenuto lock while streaming"
    );
    stats
}

// One test function: the allocator counter is process-wide and ASIO allows
// one streaming session per process, so the cases run in sequence.
#[test]
fn the_streaming_loop_neither_allocates_nor_locks() {
    the_counting_allocator_sees_allocations_in_a_real_time_section();
    stream_and_count(32, 2, 2, false);
    stream_and_count(64, 2, 2, true);
    stream_and_count(256, 32, 32, true);
    stream_and_count(64, 0, 2, false);
    stream_and_count(64, 2, 0, false);
    // With a scheduling policy whose priority probe runs on the driver
    // thread, sampled every period (the most the loop ever does).
    let policy = if cfg!(windows) { "mmcss" } else { "fifo:80" };
    let choice: tenuto_sched::PolicyArg = policy.parse().unwrap();
    let options = EngineOptions {
        policy: tenuto_sched::thread_policy(&choice, &tenuto_sched::Scheduling::default()).unwrap(),
        sample_every_periods: 1,
        ..EngineOptions::default()
    };
    let stats = stream_and_count_with(64, 2, 2, HostOptions::default(), options, None);
    assert!(
        stats.samples >= stats.periods.saturating_sub(2),
        "{stats:?}"
    );
    traced_streaming_neither_allocates_nor_locks();
}

/// The debug trace on: every getSamplePosition and outputReady from inside
/// the switch is recorded on the driver thread, while another thread takes
/// the records (as the log thread does); then with a queue too small for
/// the stream and nobody taking records, so that pushes also fail and count.
fn traced_streaming_neither_allocates_nor_locks() {
    let trace = Arc::new(Trace::new(1024));
    let done = Arc::new(AtomicBool::new(false));
    let taken = Arc::new(AtomicU64::new(0));
    let reader = {
        let (trace, done, taken) = (Arc::clone(&trace), Arc::clone(&done), Arc::clone(&taken));
        std::thread::spawn(move || {
            while !done.load(Ordering::Acquire) {
                while let Some(record) = trace.pop() {
                    if record.driver_thread {
                        taken.fetch_add(1, Ordering::Relaxed);
                    }
                    std::hint::black_box(record.to_string());
                }
                std::thread::sleep(Duration::from_millis(5));
            }
        })
    };
    // Without time info the handler asks for the sample position in every
    // switch; outputReady follows it.
    let host = HostOptions {
        time_info: false,
        call_output_ready: true,
        ..HostOptions::default()
    };
    let stats = stream_and_count_with(
        32,
        2,
        2,
        host,
        EngineOptions::default(),
        Some(Arc::clone(&trace)),
    );
    done.store(true, Ordering::Release);
    reader.join().unwrap();
    let on_driver_thread = taken.load(Ordering::Relaxed)
        + trace.dropped()
        + std::iter::from_fn(|| trace.pop())
            .filter(|r| r.driver_thread)
            .count() as u64;
    // getSamplePosition and outputReady in every switch.
    assert!(
        on_driver_thread >= 2 * stats.periods.saturating_sub(2),
        "{on_driver_thread} calls traced on the driver thread in {} periods",
        stats.periods
    );

    let small = Arc::new(Trace::new(16));
    stream_and_count_with(
        64,
        2,
        2,
        host,
        EngineOptions::default(),
        Some(Arc::clone(&small)),
    );
    assert!(small.dropped() > 0, "the queue of 16 filled up");
}
