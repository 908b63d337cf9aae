//! How the engine behaves when things go wrong while streaming: a device
//! that disappears, a host that overruns its callback, a rate change
//! requested mid-stream. Driven through the engine's Rust API with a Rust
//! host, so each case is direct.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use asio_abi::message;
use tenuto_engine::device::{
    BufferSizes, Device, DeviceCounters, DeviceError, DeviceInfo, DeviceLatency, DeviceStream,
    PeriodTiming, StreamConfig, StreamError,
};
use tenuto_engine::host::{HostCallbacks, HostMessages, PeriodTime, SwitchCallback};
use tenuto_engine::virtual_device::{VirtualConfig, VirtualDevice};
use tenuto_engine::{BufferRequest, Engine, EngineError, EngineOptions};

#[derive(Default)]
struct Messages {
    supports_reset: bool,
    resets: AtomicU64,
    overloads: AtomicU64,
    latencies: AtomicU64,
    resyncs: AtomicU64,
}

impl HostMessages for Messages {
    fn message(&self, selector: i32, value: i32) -> i32 {
        match selector {
            message::SELECTOR_SUPPORTED => i32::from(match value {
                message::RESET_REQUEST => self.supports_reset,
                message::OVERLOAD | message::LATENCIES_CHANGED | message::RESYNC_REQUEST => true,
                _ => false,
            }),
            message::RESET_REQUEST => {
                self.resets.fetch_add(1, Ordering::SeqCst);
                1
            }
            message::OVERLOAD => {
                self.overloads.fetch_add(1, Ordering::SeqCst);
                1
            }
            message::LATENCIES_CHANGED => {
                self.latencies.fetch_add(1, Ordering::SeqCst);
                1
            }
            message::RESYNC_REQUEST => {
                self.resyncs.fetch_add(1, Ordering::SeqCst);
                1
            }
            _ => 0,
        }
    }

    fn sample_rate_did_change(&self, _rate: f64) {}
}

/// Counts switches; sleeps `stall` in every `every`-th one.
struct Switch {
    count: Arc<AtomicU64>,
    every: u64,
    stall: Duration,
}

impl SwitchCallback for Switch {
    fn buffer_switch(&mut self, _half: usize, _time: &PeriodTime) {
        let n = self.count.fetch_add(1, Ordering::SeqCst) + 1;
        if self.every > 0 && n % self.every == 0 {
            std::thread::sleep(self.stall);
        }
    }
}

fn host(
    messages: &Arc<Messages>,
    count: &Arc<AtomicU64>,
    every: u64,
    stall: Duration,
) -> HostCallbacks {
    HostCallbacks {
        switch: Box::new(Switch {
            count: Arc::clone(count),
            every,
            stall,
        }),
        messages: Arc::clone(messages) as Arc<dyn HostMessages>,
    }
}

fn stereo_out() -> Vec<BufferRequest> {
    vec![
        BufferRequest {
            is_input: false,
            channel: 0,
        },
        BufferRequest {
            is_input: false,
            channel: 1,
        },
        BufferRequest {
            is_input: true,
            channel: 0,
        },
    ]
}

fn wait_for(what: impl Fn() -> bool) -> bool {
    let t0 = Instant::now();
    while t0.elapsed() < Duration::from_secs(10) {
        if what() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    false
}

/// What a [`Hooked`] stream does instead of a plain `wait`: it gets the
/// number of earlier `wait` calls and the real stream.
type WaitHook = fn(u64, &mut dyn DeviceStream) -> Result<Option<PeriodTiming>, StreamError>;

/// The virtual device, with a test hook around each stream's `wait`
/// (a disconnection, a panic, a late wake-up on cue).
struct Hooked {
    inner: VirtualDevice,
    hook: WaitHook,
    /// From this many `wait` calls on, the stream reports one device stall.
    stall_at: Option<u64>,
    /// What the stream reports as measured input delay.
    input_delay: Option<u32>,
}

impl Hooked {
    fn new(hook: WaitHook) -> Self {
        Self {
            inner: VirtualDevice::new(VirtualConfig::default()),
            hook,
            stall_at: None,
            input_delay: None,
        }
    }
}

struct HookedStream {
    inner: Box<dyn DeviceStream>,
    calls: u64,
    hook: WaitHook,
    stall_at: Option<u64>,
    input_delay: Option<u32>,
}

impl Device for Hooked {
    fn info(&self) -> &DeviceInfo {
        self.inner.info()
    }
    fn sample_rates(&self) -> &[f64] {
        self.inner.sample_rates()
    }
    fn default_sample_rate(&self) -> f64 {
        self.inner.default_sample_rate()
    }
    fn buffer_sizes(&self, rate: f64) -> BufferSizes {
        self.inner.buffer_sizes(rate)
    }
    fn latency(&self, config: &StreamConfig) -> DeviceLatency {
        self.inner.latency(config)
    }
    fn open(&mut self, config: &StreamConfig) -> Result<Box<dyn DeviceStream>, DeviceError> {
        Ok(Box::new(HookedStream {
            inner: self.inner.open(config)?,
            calls: 0,
            hook: self.hook,
            stall_at: self.stall_at,
            input_delay: self.input_delay,
        }))
    }
}

impl DeviceStream for HookedStream {
    fn start(&mut self) -> Result<(), StreamError> {
        self.inner.start()
    }
    fn wait(&mut self) -> Result<Option<PeriodTiming>, StreamError> {
        let calls = self.calls;
        self.calls += 1;
        (self.hook)(calls, self.inner.as_mut())
    }
    fn read(&mut self, dst: &mut [u8]) -> Result<(), StreamError> {
        self.inner.read(dst)
    }
    fn write(&mut self, src: &[u8]) -> Result<(), StreamError> {
        self.inner.write(src)
    }
    fn stop(&mut self) {
        self.inner.stop()
    }
    fn measured_input_delay(&self) -> Option<u32> {
        self.input_delay
    }
    fn device_counters(&self) -> DeviceCounters {
        let mut c = self.inner.device_counters();
        if self.stall_at.is_some_and(|at| self.calls > at) {
            c.device_stalls += 1;
            c.device_stall_lost_us += 30_000;
        }
        c
    }
}

#[test]
fn a_device_that_wakes_slowly_starts_and_the_first_switch_waits_for_it() {
    // The first 25 waits find no period (25 × ~0.1 ms of "waking up" here; a real device
    // returns `None` every 20 ms for up to the start-up grace), then periods come.
    let device = Hooked::new(|calls, stream| {
        if calls < 25 {
            std::thread::sleep(Duration::from_micros(100));
            Ok(None)
        } else {
            stream.wait()
        }
    });
    let mut e = Engine::new(Box::new(device), EngineOptions::default());
    e.init().unwrap();
    let messages = Arc::new(Messages::default());
    let count = Arc::new(AtomicU64::new(0));
    e.create_buffers(
        &stereo_out(),
        64,
        host(&messages, &count, 0, Duration::ZERO),
    )
    .unwrap();
    e.start().unwrap();
    assert!(wait_for(|| count.load(Ordering::SeqCst) >= 20));
    e.stop().unwrap();
    // Positions start at 0 with the first real period: none was skipped or invented.
    let s = e.shared().counters.snapshot();
    assert_eq!(s.periods, count.load(Ordering::SeqCst), "{s:?}");
    assert!(e.shared().stream_error().is_none());
}

#[test]
fn stop_is_prompt_while_the_device_has_not_delivered_its_first_period() {
    // A device that never delivers: `wait` keeps returning `None`, and `stop` must still
    // end the stream at once, without a callback.
    let device = Hooked::new(|_, _| {
        std::thread::sleep(Duration::from_millis(20));
        Ok(None)
    });
    let mut e = Engine::new(Box::new(device), EngineOptions::default());
    e.init().unwrap();
    let messages = Arc::new(Messages::default());
    let count = Arc::new(AtomicU64::new(0));
    e.create_buffers(
        &stereo_out(),
        64,
        host(&messages, &count, 0, Duration::ZERO),
    )
    .unwrap();
    e.start().unwrap();
    std::thread::sleep(Duration::from_millis(100));
    let t0 = Instant::now();
    e.stop().unwrap();
    // A hang guard, not a speed target: one 20 ms slice plus scheduling noise.
    assert!(t0.elapsed() < Duration::from_secs(2), "{:?}", t0.elapsed());
    assert_eq!(count.load(Ordering::SeqCst), 0);
}

#[test]
fn a_measured_input_delay_is_reported_as_input_latency_and_announced() {
    let mut device = Hooked::new(|_, stream| stream.wait());
    device.input_delay = Some(77);
    let mut e = Engine::new(Box::new(device), EngineOptions::default());
    e.init().unwrap();
    let messages = Arc::new(Messages::default());
    let count = Arc::new(AtomicU64::new(0));
    e.create_buffers(
        &stereo_out(),
        64,
        host(&messages, &count, 0, Duration::ZERO),
    )
    .unwrap();
    let (planned_in, planned_out) = e.shared().latencies();
    e.start().unwrap();
    assert!(wait_for(|| count.load(Ordering::SeqCst) >= 10));
    // While streaming: the plan plus what the device measured, announced once.
    assert_eq!(e.shared().latencies(), (planned_in + 77, planned_out));
    assert_eq!(messages.latencies.load(Ordering::SeqCst), 1);
    e.stop().unwrap();
    // After the stream, the plan again (the next start measures anew).
    assert_eq!(e.shared().latencies(), (planned_in, planned_out));
}

#[test]
fn a_device_stall_asks_the_host_to_resync() {
    let mut device = Hooked::new(|_, stream| stream.wait());
    device.stall_at = Some(30);
    let mut e = Engine::new(Box::new(device), EngineOptions::default());
    e.init().unwrap();
    let messages = Arc::new(Messages::default());
    let count = Arc::new(AtomicU64::new(0));
    e.create_buffers(
        &stereo_out(),
        64,
        host(&messages, &count, 0, Duration::ZERO),
    )
    .unwrap();
    e.start().unwrap();
    assert!(wait_for(|| count.load(Ordering::SeqCst) >= 60));
    e.stop().unwrap();
    // One stall, one request: the round trip the host measured before no longer holds.
    assert_eq!(messages.resyncs.load(Ordering::SeqCst), 1);
    assert_eq!(e.shared().counters.snapshot().device_stalls, 1);
}

#[test]
fn a_device_that_disappears_asks_the_host_for_a_reset_and_explains() {
    // The device disappears after 20 periods.
    let device = Hooked::new(|calls, stream| {
        if calls >= 20 {
            Err(StreamError::Disconnected)
        } else {
            stream.wait()
        }
    });
    let mut e = Engine::new(Box::new(device), EngineOptions::default());
    e.init().unwrap();
    let messages = Arc::new(Messages {
        supports_reset: true,
        ..Messages::default()
    });
    let count = Arc::new(AtomicU64::new(0));
    e.create_buffers(
        &stereo_out(),
        64,
        host(&messages, &count, 0, Duration::ZERO),
    )
    .unwrap();
    e.start().unwrap();
    assert!(wait_for(|| messages.resets.load(Ordering::SeqCst) == 1));
    assert_eq!(
        count.load(Ordering::SeqCst),
        20,
        "every period before the loss was delivered"
    );
    assert!(!e.shared().is_streaming());
    let msg = e.error_message().to_owned();
    assert!(msg.contains("disconnected"), "{msg}");
    // The host reacts to the reset: stop and dispose both succeed, and the
    // message still explains what happened.
    e.stop().unwrap();
    assert!(e.error_message().contains("disconnected"));
    e.dispose_buffers().unwrap();
    // A fresh start on the same engine works (the device is "back").
    e.create_buffers(
        &stereo_out(),
        64,
        host(&messages, &count, 0, Duration::ZERO),
    )
    .unwrap();
    e.start().unwrap();
    e.stop().ok();
}

#[test]
fn a_host_that_overruns_gets_overload_messages_and_late_periods_are_counted() {
    let mut e = Engine::new(
        Box::new(VirtualDevice::new(VirtualConfig::default())),
        EngineOptions::default(),
    );
    e.init().unwrap();
    let messages = Arc::new(Messages::default());
    let count = Arc::new(AtomicU64::new(0));
    // 64 frames at 48 kHz = 1.33 ms; every 10th callback takes 8 ms.
    e.create_buffers(
        &stereo_out(),
        64,
        host(&messages, &count, 10, Duration::from_millis(8)),
    )
    .unwrap();
    e.start().unwrap();
    assert!(wait_for(|| count.load(Ordering::SeqCst) >= 100));
    e.stop().unwrap();
    let s = e.shared().counters.snapshot();
    assert!(s.host_overruns >= 9, "{s:?}");
    assert!(s.late_periods >= s.host_overruns.min(9), "{s:?}");
    // Every late period is reported, except one that coincides with stop()
    // (no host call may follow a stop request).
    let overloads = messages.overloads.load(Ordering::SeqCst);
    assert!(
        overloads == s.late_periods || overloads + 1 == s.late_periods,
        "{overloads} vs {s:?}"
    );
    let mut records = Vec::new();
    e.drain_records(&mut records);
    assert_eq!(records.len() as u64, s.periods);
    let overrun_records = records
        .iter()
        .filter(|r| r.flags & tenuto_engine::stats::flags::HOST_OVERRUN != 0)
        .count() as u64;
    assert_eq!(overrun_records, s.host_overruns);
    assert!(records.iter().all(|r| r.host_ns < 1_000_000
        || r.flags & tenuto_engine::stats::flags::HOST_OVERRUN != 0
        || r.host_ns <= 1_333_334));
}

#[test]
fn a_rate_change_while_streaming_is_a_reset_request_when_the_host_supports_it() {
    let mut e = Engine::new(
        Box::new(VirtualDevice::new(VirtualConfig::default())),
        EngineOptions::default(),
    );
    e.init().unwrap();
    let messages = Arc::new(Messages {
        supports_reset: true,
        ..Messages::default()
    });
    let count = Arc::new(AtomicU64::new(0));
    e.create_buffers(
        &stereo_out(),
        128,
        host(&messages, &count, 0, Duration::ZERO),
    )
    .unwrap();
    e.start().unwrap();
    e.set_sample_rate(48_000.0).unwrap(); // same rate: nothing happens
    assert_eq!(messages.resets.load(Ordering::SeqCst), 0);
    e.set_sample_rate(96_000.0).unwrap();
    // The messenger delivers the request from its own thread, after the call returned.
    let asked = Instant::now();
    while messages.resets.load(Ordering::SeqCst) == 0 && asked.elapsed() < Duration::from_secs(5) {
        std::thread::sleep(Duration::from_millis(1));
    }
    assert_eq!(messages.resets.load(Ordering::SeqCst), 1);
    // Streaming continues at the old rate until the host resets.
    assert_eq!(e.shared().sample_rate(), 48_000.0);
    e.stop().unwrap();
    e.dispose_buffers().unwrap();
    assert_eq!(e.sample_rate().unwrap(), 96_000.0);
    e.create_buffers(
        &stereo_out(),
        128,
        host(&messages, &count, 0, Duration::ZERO),
    )
    .unwrap();
    e.start().unwrap();
    assert_eq!(e.shared().sample_rate(), 96_000.0);
    e.stop().unwrap();
}

#[test]
fn a_rate_change_while_streaming_is_refused_when_the_host_cannot_reset() {
    let mut e = Engine::new(
        Box::new(VirtualDevice::new(VirtualConfig::default())),
        EngineOptions::default(),
    );
    e.init().unwrap();
    let messages = Arc::new(Messages::default());
    let count = Arc::new(AtomicU64::new(0));
    e.create_buffers(
        &stereo_out(),
        128,
        host(&messages, &count, 0, Duration::ZERO),
    )
    .unwrap();
    e.start().unwrap();
    let r = e.set_sample_rate(96_000.0);
    assert_eq!(
        r.as_ref().map_err(EngineError::asio_code),
        Err(asio_abi::ASE_INVALID_MODE)
    );
    assert!(e.error_message().contains("stop streaming"));
    assert_eq!(e.sample_rate().unwrap(), 48_000.0);
    e.stop().unwrap();
}

#[test]
fn a_rate_change_with_buffers_but_not_streaming_reopens_the_device() {
    let mut e = Engine::new(
        Box::new(VirtualDevice::new(VirtualConfig::default())),
        EngineOptions::default(),
    );
    e.init().unwrap();
    let messages = Arc::new(Messages::default());
    let count = Arc::new(AtomicU64::new(0));
    e.create_buffers(
        &stereo_out(),
        256,
        host(&messages, &count, 0, Duration::ZERO),
    )
    .unwrap();
    e.set_sample_rate(44_100.0).unwrap();
    e.start().unwrap();
    assert!(wait_for(|| count.load(Ordering::SeqCst) >= 20));
    assert_eq!(e.shared().sample_rate(), 44_100.0);
    e.stop().unwrap();
}

#[test]
fn dropping_a_streaming_engine_stops_its_thread() {
    let mut e = Engine::new(
        Box::new(VirtualDevice::new(VirtualConfig::default())),
        EngineOptions::default(),
    );
    e.init().unwrap();
    let messages = Arc::new(Messages::default());
    let count = Arc::new(AtomicU64::new(0));
    e.create_buffers(
        &stereo_out(),
        64,
        host(&messages, &count, 0, Duration::ZERO),
    )
    .unwrap();
    e.start().unwrap();
    assert!(wait_for(|| count.load(Ordering::SeqCst) >= 10));
    drop(e);
    let after = count.load(Ordering::SeqCst);
    std::thread::sleep(Duration::from_millis(20));
    assert_eq!(
        count.load(Ordering::SeqCst),
        after,
        "a callback fired after the engine was dropped"
    );
}

#[test]
fn a_rate_accepted_while_streaming_applies_at_the_next_start_even_without_dispose() {
    let mut e = Engine::new(
        Box::new(VirtualDevice::new(VirtualConfig::default())),
        EngineOptions::default(),
    );
    e.init().unwrap();
    let messages = Arc::new(Messages {
        supports_reset: true,
        ..Messages::default()
    });
    let count = Arc::new(AtomicU64::new(0));
    e.create_buffers(
        &stereo_out(),
        128,
        host(&messages, &count, 0, Duration::ZERO),
    )
    .unwrap();
    e.start().unwrap();
    e.set_sample_rate(96_000.0).unwrap();
    e.stop().unwrap();
    e.start().unwrap();
    assert_eq!(e.shared().sample_rate(), 96_000.0);
    let before = count.load(Ordering::SeqCst);
    std::thread::sleep(Duration::from_millis(200));
    let periods = count.load(Ordering::SeqCst) - before;
    e.stop().unwrap();
    // 200 ms at 96 kHz in 128-frame periods is 150 periods (75 at 48 kHz).
    assert!(
        periods > 110,
        "{periods} periods: still streaming at the old rate?"
    );
}

/// A host that stops *and disposes* from inside its own buffer switch: the
/// driver thread must not try to join itself, and nothing may call the host
/// afterwards.
#[test]
fn stop_and_dispose_inside_the_switch_do_not_deadlock() {
    use tenuto_engine::sync::Mutex;

    struct Teardown {
        engine: Arc<Mutex<Option<Engine>>>,
        count: Arc<AtomicU64>,
        result: Arc<Mutex<Option<(bool, bool)>>>,
    }
    impl SwitchCallback for Teardown {
        fn buffer_switch(&mut self, _half: usize, _time: &PeriodTime) {
            if self.count.fetch_add(1, Ordering::SeqCst) + 1 == 5 {
                let mut guard = self.engine.lock();
                let e = guard.as_mut().unwrap();
                let stopped = e.stop().is_ok();
                let disposed = e.dispose_buffers().is_ok();
                *self.result.lock() = Some((stopped, disposed));
            }
        }
    }

    let engine = Arc::new(Mutex::new(None));
    let count = Arc::new(AtomicU64::new(0));
    let result = Arc::new(Mutex::new(None));
    let mut e = Engine::new(
        Box::new(VirtualDevice::new(VirtualConfig::default())),
        EngineOptions::default(),
    );
    e.init().unwrap();
    let messages = Arc::new(Messages::default());
    e.create_buffers(
        &stereo_out(),
        64,
        HostCallbacks {
            switch: Box::new(Teardown {
                engine: Arc::clone(&engine),
                count: Arc::clone(&count),
                result: Arc::clone(&result),
            }),
            messages: messages as Arc<dyn HostMessages>,
        },
    )
    .unwrap();
    {
        let mut guard = engine.lock();
        *guard = Some(e);
        guard.as_mut().unwrap().start().unwrap();
    }
    assert!(wait_for(|| result.lock().is_some()));
    assert_eq!(*result.lock(), Some((true, true)));
    std::thread::sleep(Duration::from_millis(30));
    assert_eq!(
        count.load(Ordering::SeqCst),
        5,
        "no switch after the in-switch teardown"
    );
    let mut guard = engine.lock();
    let e = guard.as_mut().unwrap();
    assert!(!e.shared().is_streaming());
    // The engine is back in the initialized state and can stream again.
    let again = Arc::new(AtomicU64::new(0));
    e.create_buffers(
        &stereo_out(),
        64,
        host(&Arc::new(Messages::default()), &again, 0, Duration::ZERO),
    )
    .unwrap();
    e.start().unwrap();
    assert!(wait_for(|| again.load(Ordering::SeqCst) >= 5));
    e.stop().unwrap();
}

/// A backend that panics on the driver thread: the thread ends cleanly,
/// the host is asked to reset, and the message says what happened.
#[test]
fn a_panicking_backend_ends_the_stream_cleanly() {
    let mut e = Engine::new(
        // A bug in the backend: its seventh wait panics.
        Box::new(Hooked::new(|calls, stream| {
            if calls == 6 {
                panic!("backend bug");
            }
            stream.wait()
        })),
        EngineOptions::default(),
    );
    e.init().unwrap();
    let messages = Arc::new(Messages {
        supports_reset: true,
        ..Messages::default()
    });
    let count = Arc::new(AtomicU64::new(0));
    e.create_buffers(
        &stereo_out(),
        64,
        host(&messages, &count, 0, Duration::ZERO),
    )
    .unwrap();
    e.start().unwrap();
    assert!(wait_for(|| messages.resets.load(Ordering::SeqCst) == 1));
    assert_eq!(count.load(Ordering::SeqCst), 6);
    assert!(wait_for(|| !e.shared().is_streaming()));
    assert!(e.error_message().contains("internal error"));
    e.stop().unwrap();
    e.dispose_buffers().unwrap();
}

/// The attribution of late periods and the demotion bookkeeping, with a
/// scripted priority probe and a device whose thread wakes late on cue.
#[test]
fn late_periods_are_attributed_and_demotions_recorded() {
    use std::sync::atomic::AtomicI32;
    use tenuto_engine::host::{AppliedPolicy, PrioritySample, ThreadPolicy};
    use tenuto_engine::stats::{EventKind, LateCause};

    /// Reports the priority stored in `priority`; ≤ 7 counts as demoted.
    struct Scripted(Arc<AtomicI32>);
    struct ScriptedApplied(Arc<AtomicI32>);
    impl AppliedPolicy for ScriptedApplied {
        fn describe(&self) -> String {
            "scripted".to_owned()
        }
        fn sample(&mut self) -> Option<PrioritySample> {
            let priority = self.0.load(Ordering::SeqCst);
            Some(PrioritySample {
                priority,
                realtime: priority >= 16,
            })
        }
        fn is_demoted(&self, sample: &PrioritySample) -> bool {
            sample.priority <= 7
        }
    }
    impl ThreadPolicy for Scripted {
        fn apply(&self) -> Box<dyn AppliedPolicy> {
            Box::new(ScriptedApplied(Arc::clone(&self.0)))
        }
    }

    let priority = Arc::new(AtomicI32::new(26));
    let mut e = Engine::new(
        // Wakes 6 ms late in periods 30 and 90 (a 64-frame period is 1.3 ms).
        Box::new(Hooked::new(|_, stream| {
            let t = stream.wait()?;
            if t.is_some_and(|t| t.index == 30 || t.index == 90) {
                std::thread::sleep(Duration::from_millis(6));
            }
            Ok(t)
        })),
        EngineOptions {
            policy: Arc::new(Scripted(Arc::clone(&priority))),
            sample_every_periods: 8,
            ..EngineOptions::default()
        },
    );
    e.init().unwrap();
    let messages = Arc::new(Messages::default());
    let count = Arc::new(AtomicU64::new(0));
    e.create_buffers(
        &stereo_out(),
        64,
        host(&messages, &count, 0, Duration::ZERO),
    )
    .unwrap();
    e.start().unwrap();
    // The events are followed while streaming, as the log and the panel follow them: on a
    // noisy machine (Wine under hypervisor steal) most periods can be late, and the last
    // RECENT_EVENTS alone may no longer hold the demotion.
    let shared = Arc::clone(e.shared());
    let mut events = Vec::new();
    let mut seq = 0;
    let mut missed = 0;
    let mut follow_until = |n: u64, events: &mut Vec<_>| {
        let t0 = Instant::now();
        loop {
            let (last, gone) = shared.events_after(seq, events);
            seq = last;
            missed += gone;
            if count.load(Ordering::SeqCst) >= n {
                return true;
            }
            if t0.elapsed() > Duration::from_secs(10) {
                return false;
            }
            std::thread::sleep(Duration::from_millis(2));
        }
    };
    // Full priority until period ~45, then demoted (period 90 is late while
    // demoted: 60 ms of margin), restored, then a host-style change.
    assert!(follow_until(45, &mut events));
    priority.store(4, Ordering::SeqCst);
    assert!(follow_until(110, &mut events));
    priority.store(15, Ordering::SeqCst);
    assert!(follow_until(135, &mut events));
    priority.store(13, Ordering::SeqCst);
    assert!(follow_until(160, &mut events));
    e.stop().unwrap();
    follow_until(0, &mut events);
    assert_eq!(missed, 0, "events were dropped before they were read");

    let s = e.shared().counters.snapshot();
    assert_eq!(e.policy_description(), "scripted");
    assert!(s.samples >= 130 / 8, "{s:?}");
    assert_eq!(s.demotions, 1, "{s:?}");
    assert!(
        s.late(LateCause::Contention) >= 1,
        "period 30 woke late at full priority: {s:?}"
    );
    assert!(
        s.late(LateCause::Demotion) >= 1,
        "period 90 woke late while demoted: {s:?}"
    );
    assert_eq!(s.late(LateCause::HostOverrun), 0, "{s:?}");
    let kinds: Vec<_> = events.iter().map(|e| e.kind).collect();
    assert!(kinds.contains(&EventKind::Demoted), "{kinds:?}");
    assert!(kinds.contains(&EventKind::Restored), "{kinds:?}");
    assert!(
        kinds.contains(&EventKind::PriorityChanged { from: 15 }),
        "{kinds:?}"
    );
    assert!(
        events
            .iter()
            .any(|ev| ev.kind == EventKind::Late(LateCause::Demotion) && ev.priority == Some(4)),
        "{events:?}"
    );
    assert_eq!(s.priority_changes, 1, "{s:?}");
}

/// A host whose reset handler takes `hold` and notes when it entered and left.
struct SlowReset {
    hold: Duration,
    entered: std::sync::atomic::AtomicBool,
    left_ns: AtomicU64,
    resets: AtomicU64,
    epoch: Instant,
}

impl HostMessages for SlowReset {
    fn message(&self, selector: i32, value: i32) -> i32 {
        match selector {
            message::SELECTOR_SUPPORTED => i32::from(value == message::RESET_REQUEST),
            message::RESET_REQUEST => {
                self.resets.fetch_add(1, Ordering::SeqCst);
                self.entered.store(true, Ordering::SeqCst);
                std::thread::sleep(self.hold);
                let left = u64::try_from(self.epoch.elapsed().as_nanos()).unwrap_or(u64::MAX);
                self.left_ns.store(left, Ordering::SeqCst);
                1
            }
            _ => 0,
        }
    }

    fn sample_rate_did_change(&self, _rate: f64) {}
}

/// Requests from other threads only flag the messenger; its thread calls the host. A
/// delivery under way when `disposeBuffers` is called has ended when it returns, and
/// nothing is delivered afterwards (nor flagged: no buffers, no target).
#[test]
fn dispose_waits_for_a_message_under_way_and_nothing_is_delivered_after_it() {
    let mut e = Engine::new(
        Box::new(VirtualDevice::new(VirtualConfig::default())),
        EngineOptions::default(),
    );
    e.init().unwrap();
    let messages = Arc::new(SlowReset {
        hold: Duration::from_millis(300),
        entered: std::sync::atomic::AtomicBool::new(false),
        left_ns: AtomicU64::new(0),
        resets: AtomicU64::new(0),
        epoch: Instant::now(),
    });
    let count = Arc::new(AtomicU64::new(0));
    e.create_buffers(
        &stereo_out(),
        128,
        HostCallbacks {
            switch: Box::new(Switch {
                count: Arc::clone(&count),
                every: 0,
                stall: Duration::ZERO,
            }),
            messages: Arc::clone(&messages) as Arc<dyn HostMessages>,
        },
    )
    .unwrap();
    let shared = Arc::clone(e.shared());
    // Flagging returns at once, whatever the handler does.
    let t0 = Instant::now();
    assert!(shared.request_reset());
    assert!(t0.elapsed() < Duration::from_millis(100));
    while !messages.entered.load(Ordering::SeqCst) && t0.elapsed() < Duration::from_secs(5) {
        std::thread::sleep(Duration::from_millis(1));
    }
    assert!(
        messages.entered.load(Ordering::SeqCst),
        "the reset never came"
    );
    // Flagged again while the first is delivered: dropped by the dispose below.
    assert!(shared.request_reset());
    e.dispose_buffers().unwrap();
    let disposed = u64::try_from(messages.epoch.elapsed().as_nanos()).unwrap();
    assert!(
        messages.left_ns.load(Ordering::SeqCst) != 0
            && messages.left_ns.load(Ordering::SeqCst) <= disposed,
        "disposeBuffers returned while the reset handler still ran"
    );
    assert!(!shared.request_reset(), "no buffers: nothing to flag");
    std::thread::sleep(Duration::from_millis(400));
    assert_eq!(messages.resets.load(Ordering::SeqCst), 1);
}

/// The virtual device with a notice, as a backend has when it used Windows' default
/// instead of a configured device that is not there.
struct Noticed(VirtualDevice);

impl tenuto_engine::Device for Noticed {
    fn info(&self) -> &tenuto_engine::device::DeviceInfo {
        self.0.info()
    }
    fn sample_rates(&self) -> &[f64] {
        self.0.sample_rates()
    }
    fn default_sample_rate(&self) -> f64 {
        self.0.default_sample_rate()
    }
    fn buffer_sizes(&self, sample_rate: f64) -> tenuto_engine::device::BufferSizes {
        self.0.buffer_sizes(sample_rate)
    }
    fn latency(&self, config: &StreamConfig) -> tenuto_engine::device::DeviceLatency {
        self.0.latency(config)
    }
    fn open(
        &mut self,
        config: &StreamConfig,
    ) -> Result<Box<dyn tenuto_engine::DeviceStream>, tenuto_engine::device::DeviceError> {
        self.0.open(config)
    }
    fn notice(&self) -> Option<&str> {
        Some("using Windows' default output \"Speakers\": wasapi.output \"gone\" is not there")
    }
}

/// A device's notice is what getErrorMessage says while there is no error; an error
/// replaces it, and the settings' standing notice comes before it.
#[test]
fn get_error_message_shows_the_device_notice_while_there_is_no_error() {
    let mut e = Engine::new(
        Box::new(Noticed(VirtualDevice::new(VirtualConfig::default()))),
        EngineOptions::default(),
    );
    e.init().unwrap();
    assert!(e
        .error_message()
        .starts_with("using Windows' default output"));
    // The settings window reads it from the shared state.
    assert!(e
        .shared()
        .device_notice()
        .starts_with("using Windows' default output"));
    assert!(e.set_clock_source(7).is_err());
    assert!(e.error_message().contains("clock source"));
    let mut e = Engine::new(
        Box::new(Noticed(VirtualDevice::new(VirtualConfig::default()))),
        EngineOptions::default(),
    );
    e.set_notice("settings: 1 problem");
    e.init().unwrap();
    assert_eq!(e.error_message(), "settings: 1 problem");
}
