//! Host patterns real DAWs produce that a driver must survive, run by the
//! [`hostile`](crate::hostile) host against any driver: the in-process
//! object natively, the real DLL through COM under Wine.
//!
//! Every scenario runs under a [`Watchdog`] (a deadlock aborts the test
//! process) and fails — returning what went wrong — on any overlapping
//! switch, any switch after a `stop()`/`disposeBuffers()` that had to end it
//! returned `ASE_OK`, any switch into disposed buffers and any message
//! while no buffers exist. The host writes every output buffer in every
//! switch.

use std::sync::atomic::{AtomicBool, AtomicI32, AtomicI64, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use asio_abi::{error_name, message, AsioError, ASE_OK};

use crate::hostile::{self, now_ns, RawDriver, Watchdog};

/// The channels every scenario asks for: one input, two outputs.
pub const CHANNELS: [(bool, i32); 3] = [(true, 0), (false, 0), (false, 1)];
/// Frames per buffer (2.7 ms at 48 kHz: busy, yet kind to a small VM).
pub const FRAMES: i32 = 128;
/// How long a scenario other than the stress may take before it counts as
/// a deadlock.
pub const SCENARIO_LIMIT: Duration = Duration::from_secs(20);

/// Makes a fresh driver object (not yet initialised).
pub type MakeDriver<'a> = &'a dyn Fn() -> RawDriver;

/// What a scenario found, when nothing was wrong.
#[derive(Debug, Default)]
pub struct Outcome {
    /// Switches the host received.
    pub switches: u64,
    /// Distinct driver threads that called a switch.
    pub driver_threads: u64,
    /// Control and query calls made (the stress).
    pub calls: u64,
    /// Notes for the test's output.
    pub notes: Vec<String>,
}

fn name(code: AsioError) -> String {
    format!("{} ({code})", error_name(code).unwrap_or("?"))
}

/// Collects the failed expectations of one scenario.
#[derive(Default)]
struct Checks(Vec<String>);

impl Checks {
    fn code(&mut self, what: &str, got: AsioError, want: AsioError) {
        if got != want {
            self.0.push(format!(
                "{what} returned {}, expected {}",
                name(got),
                name(want)
            ));
        }
    }

    fn that(&mut self, ok: bool, what: impl Into<String>) {
        if !ok {
            self.0.push(what.into());
        }
    }

    fn finish(mut self, outcome: Outcome) -> Result<Outcome, String> {
        self.0.extend(hostile::counters().violations());
        if self.0.is_empty() {
            Ok(outcome)
        } else {
            Err(self.0.join("\n"))
        }
    }
}

fn switches() -> u64 {
    hostile::counters().switches.load(Ordering::Acquire)
}

/// Waits until `n` more switches than `from` arrived (at most 10 s).
fn wait_switches(from: u64, n: u64) -> bool {
    let t0 = Instant::now();
    while switches() < from + n {
        if t0.elapsed() > Duration::from_secs(10) {
            return false;
        }
        std::thread::sleep(Duration::from_millis(1));
    }
    true
}

fn wait_for(flag: &AtomicBool, limit: Duration) -> bool {
    let t0 = Instant::now();
    while !flag.load(Ordering::Acquire) {
        if t0.elapsed() > limit {
            return false;
        }
        std::thread::sleep(Duration::from_millis(1));
    }
    true
}

fn begin(what: &str, make: MakeDriver<'_>) -> (Watchdog, RawDriver, Checks) {
    hostile::reset();
    let dog = Watchdog::start(what, SCENARIO_LIMIT);
    let d = make();
    let mut checks = Checks::default();
    checks.that(d.init(), format!("init failed: {}", d.error_message()));
    (dog, d, checks)
}

fn end(d: RawDriver, checks: &mut Checks) -> Outcome {
    hostile::on_switch(None);
    hostile::on_message(None);
    let refs = d.release();
    checks.that(refs == 0, format!("Release returned {refs}, expected 0"));
    let c = hostile::counters();
    Outcome {
        switches: c.switches.load(Ordering::Acquire),
        driver_threads: c.driver_threads.load(Ordering::Acquire),
        ..Outcome::default()
    }
}

fn stream(d: &RawDriver, checks: &mut Checks) {
    checks.code("createBuffers", d.create_buffers(&CHANNELS, FRAMES), ASE_OK);
    checks.code("start", d.start(), ASE_OK);
    checks.that(wait_switches(0, 5), "no switches after start");
}

/// The host's callback runs 1 s; thread B calls `stop()` meanwhile, and
/// 100 ms later thread A calls `disposeBuffers()`, then `createBuffers()` and
/// `start()`. Neither `stop()` nor `disposeBuffers()` may return while that
/// callback runs, and the new stream must be the only one calling the host.
pub fn long_switch_stop_and_dispose_on_two_threads(
    make: MakeDriver<'_>,
) -> Result<Outcome, String> {
    let (_dog, d, mut checks) = begin("long switch, stop and dispose on two threads", make);
    stream(&d, &mut checks);
    let armed = Arc::new(AtomicBool::new(true));
    let in_long = Arc::new(AtomicBool::new(false));
    let long_end = Arc::new(AtomicI64::new(i64::MAX));
    {
        let (armed, in_long, long_end) = (armed.clone(), in_long.clone(), long_end.clone());
        hostile::on_switch(Some(Arc::new(move |_| {
            if armed.swap(false, Ordering::AcqRel) {
                in_long.store(true, Ordering::Release);
                std::thread::sleep(Duration::from_secs(1));
                long_end.store(now_ns(), Ordering::Release);
            }
        })));
    }
    checks.that(
        wait_for(&in_long, Duration::from_secs(5)),
        "the long switch never came",
    );
    let b = std::thread::spawn(move || {
        let code = d.stop();
        (code, now_ns())
    });
    std::thread::sleep(Duration::from_millis(100));
    let code = d.dispose_buffers();
    let disposed_at = now_ns();
    checks.code("disposeBuffers (thread A)", code, ASE_OK);
    checks.that(
        disposed_at >= long_end.load(Ordering::Acquire),
        "disposeBuffers returned while the host's callback still ran",
    );
    let (stop_code, stopped_at) = b.join().unwrap_or((-1, 0));
    checks.that(
        stop_code == ASE_OK || stop_code == asio_abi::ASE_INVALID_MODE,
        format!("stop (thread B) returned {}", name(stop_code)),
    );
    checks.that(
        stopped_at >= long_end.load(Ordering::Acquire),
        "stop returned while the host's callback still ran",
    );
    let before = switches();
    checks.code(
        "createBuffers again",
        d.create_buffers(&CHANNELS, FRAMES),
        ASE_OK,
    );
    checks.code("start again", d.start(), ASE_OK);
    checks.that(wait_switches(before, 50), "the new stream did not stream");
    checks.code("stop", d.stop(), ASE_OK);
    checks.code("disposeBuffers", d.dispose_buffers(), ASE_OK);
    let mut outcome = end(d, &mut checks);
    outcome.notes.push(format!(
        "stop on thread B returned {} after the 1 s callback",
        name(stop_code)
    ));
    checks.finish(outcome)
}

/// The host calls `disposeBuffers()` from inside its own switch (also
/// `createBuffers()` there when `create_inside`), then `createBuffers()` and
/// `start()` from its main thread. `start()` inside that last switch is
/// refused: the stream cannot wait for its own thread.
pub fn dispose_inside_switch_then_create_and_start(
    make: MakeDriver<'_>,
    create_inside: bool,
) -> Result<Outcome, String> {
    let (_dog, d, mut checks) = begin("dispose inside the switch", make);
    stream(&d, &mut checks);
    let codes = Arc::new([AtomicI32::new(-1), AtomicI32::new(-1), AtomicI32::new(-1)]);
    let done = Arc::new(AtomicBool::new(false));
    let armed = Arc::new(AtomicBool::new(true));
    {
        let (codes, done, armed) = (codes.clone(), done.clone(), armed.clone());
        hostile::on_switch(Some(Arc::new(move |_| {
            if !armed.swap(false, Ordering::AcqRel) {
                return;
            }
            let d = hostile::driver();
            codes[0].store(d.dispose_buffers_in_callback(), Ordering::Release);
            if create_inside {
                codes[1].store(
                    d.create_buffers_in_callback(&CHANNELS, FRAMES),
                    Ordering::Release,
                );
                codes[2].store(d.start(), Ordering::Release);
            }
            // The host's main thread goes on at once, while this switch
            // keeps working for a while.
            done.store(true, Ordering::Release);
            std::thread::sleep(Duration::from_millis(100));
        })));
    }
    checks.that(
        wait_for(&done, Duration::from_secs(5)),
        "the scripted switch never came",
    );
    checks.code(
        "disposeBuffers inside the switch",
        codes[0].load(Ordering::Acquire),
        ASE_OK,
    );
    if create_inside {
        checks.code(
            "createBuffers inside the switch",
            codes[1].load(Ordering::Acquire),
            ASE_OK,
        );
        checks.code(
            "start inside the last switch",
            codes[2].load(Ordering::Acquire),
            asio_abi::ASE_INVALID_MODE,
        );
    } else {
        checks.code("createBuffers", d.create_buffers(&CHANNELS, FRAMES), ASE_OK);
    }
    let before = switches();
    checks.code("start", d.start(), ASE_OK);
    checks.that(wait_switches(before, 50), "the new stream did not stream");
    checks.code("stop", d.stop(), ASE_OK);
    checks.code("disposeBuffers", d.dispose_buffers(), ASE_OK);
    let outcome = end(d, &mut checks);
    checks.that(
        outcome.driver_threads == 2,
        format!(
            "{} driver threads called the host, expected 2",
            outcome.driver_threads
        ),
    );
    checks.finish(outcome)
}

/// What the host's other thread does as soon as the in-switch `stop()`
/// returned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Racer {
    /// `disposeBuffers()`.
    Dispose,
    /// `start()`.
    Start,
    /// `stop()` again (a second stop after an in-switch stop succeeds).
    Stop,
}

/// The callback calls `stop()` and, 100 ms later, queries the driver
/// (`getChannels`, `getSampleRate`, `getLatencies`, `getBufferSize`) while
/// the host's other thread calls `racer` as soon as that stop returned.
pub fn stop_inside_switch_then_queries_racing(
    make: MakeDriver<'_>,
    racer: Racer,
) -> Result<Outcome, String> {
    let (_dog, d, mut checks) = begin("stop inside the switch, queries racing", make);
    stream(&d, &mut checks);
    let stop_code = Arc::new(AtomicI32::new(-1));
    let stopped = Arc::new(AtomicBool::new(false));
    let queried = Arc::new(AtomicBool::new(false));
    let failed_queries = Arc::new(AtomicU64::new(0));
    let armed = Arc::new(AtomicBool::new(true));
    let last_end = Arc::new(AtomicI64::new(i64::MAX));
    {
        let (stop_code, stopped, queried, failed, armed, last_end) = (
            stop_code.clone(),
            stopped.clone(),
            queried.clone(),
            failed_queries.clone(),
            armed.clone(),
            last_end.clone(),
        );
        hostile::on_switch(Some(Arc::new(move |_| {
            if !armed.swap(false, Ordering::AcqRel) {
                return;
            }
            let d = hostile::driver();
            stop_code.store(d.stop(), Ordering::Release);
            stopped.store(true, Ordering::Release);
            std::thread::sleep(Duration::from_millis(100));
            let codes = [
                d.channels().0,
                d.sample_rate().0,
                d.latencies(),
                d.buffer_size(),
            ];
            failed.store(
                codes.iter().filter(|c| **c != ASE_OK).count() as u64,
                Ordering::Release,
            );
            queried.store(true, Ordering::Release);
            last_end.store(now_ns(), Ordering::Release);
        })));
    }
    checks.that(
        wait_for(&stopped, Duration::from_secs(5)),
        "the scripted switch never came",
    );
    let (code, returned_at) = match racer {
        Racer::Dispose => (d.dispose_buffers(), now_ns()),
        Racer::Start => (d.start(), now_ns()),
        Racer::Stop => (d.stop(), now_ns()),
    };
    checks.code(
        "stop inside the switch",
        stop_code.load(Ordering::Acquire),
        ASE_OK,
    );
    checks.that(
        queried.load(Ordering::Acquire),
        "the queries inside the switch did not return",
    );
    checks.that(
        failed_queries.load(Ordering::Acquire) == 0,
        format!(
            "{} queries inside the last switch failed",
            failed_queries.load(Ordering::Acquire)
        ),
    );
    checks.code(&format!("{racer:?} on the other thread"), code, ASE_OK);
    checks.that(
        returned_at >= last_end.load(Ordering::Acquire),
        format!("{racer:?} returned while the last switch still ran"),
    );
    match racer {
        Racer::Dispose => {}
        Racer::Start => {
            let before = switches();
            checks.that(
                wait_switches(before, 30),
                "the restarted stream did not stream",
            );
            checks.code("stop", d.stop(), ASE_OK);
            checks.code("disposeBuffers", d.dispose_buffers(), ASE_OK);
        }
        Racer::Stop => {
            checks.code("a third stop", d.stop(), asio_abi::ASE_INVALID_MODE);
            checks.code("disposeBuffers", d.dispose_buffers(), ASE_OK);
        }
    }
    let outcome = end(d, &mut checks);
    checks.finish(outcome)
}

/// The host's switch asks for a new rate (the driver flags a reset), the
/// reset handler calls `stop()` — which waits for that switch — and the
/// switch, meanwhile, calls `disposeBuffers()`. Neither may wait for the
/// other.
pub fn dispose_inside_switch_while_the_reset_handler_stops(
    make: MakeDriver<'_>,
) -> Result<Outcome, String> {
    let (_dog, d, mut checks) = begin("dispose inside the switch, stop in the reset handler", make);
    stream(&d, &mut checks);
    let codes = Arc::new([AtomicI32::new(-1), AtomicI32::new(-1), AtomicI32::new(-1)]);
    let in_handler = Arc::new(AtomicBool::new(false));
    let handled = Arc::new(AtomicBool::new(false));
    let done = Arc::new(AtomicBool::new(false));
    {
        let (codes, in_handler, handled) = (codes.clone(), in_handler.clone(), handled.clone());
        hostile::on_message(Some(Arc::new(move |selector, _| {
            if selector == message::RESET_REQUEST && !in_handler.swap(true, Ordering::AcqRel) {
                codes[1].store(hostile::driver().stop(), Ordering::Release);
                handled.store(true, Ordering::Release);
                return Some(1);
            }
            None
        })));
    }
    {
        let (codes, in_handler, done) = (codes.clone(), in_handler.clone(), done.clone());
        let armed = Arc::new(AtomicBool::new(true));
        hostile::on_switch(Some(Arc::new(move |_| {
            if !armed.swap(false, Ordering::AcqRel) {
                return;
            }
            let d = hostile::driver();
            codes[0].store(d.set_sample_rate(96_000.0), Ordering::Release);
            let _ = wait_for(&in_handler, Duration::from_secs(5));
            std::thread::sleep(Duration::from_millis(50));
            codes[2].store(d.dispose_buffers_in_callback(), Ordering::Release);
            done.store(true, Ordering::Release);
        })));
    }
    checks.that(
        wait_for(&done, Duration::from_secs(10)),
        "the scripted switch did not return",
    );
    checks.that(
        wait_for(&handled, Duration::from_secs(10)),
        "the reset handler did not return",
    );
    checks.code(
        "setSampleRate inside the switch",
        codes[0].load(Ordering::Acquire),
        ASE_OK,
    );
    checks.code(
        "stop inside the reset handler",
        codes[1].load(Ordering::Acquire),
        ASE_OK,
    );
    checks.code(
        "disposeBuffers inside the switch",
        codes[2].load(Ordering::Acquire),
        ASE_OK,
    );
    let before = switches();
    checks.code("createBuffers", d.create_buffers(&CHANNELS, FRAMES), ASE_OK);
    checks.code("start", d.start(), ASE_OK);
    checks.that(wait_switches(before, 30), "the new stream did not stream");
    checks.code("stop", d.stop(), ASE_OK);
    checks.code("disposeBuffers", d.dispose_buffers(), ASE_OK);
    let outcome = end(d, &mut checks);
    checks.finish(outcome)
}

/// The host's `asioMessage` calls back into the driver (`getSampleRate`,
/// `getChannels`, `getLatencies`) while answering `kAsioSelectorSupported`
/// during `createBuffers()`, which must return.
pub fn asio_message_calls_back_during_create_buffers(
    make: MakeDriver<'_>,
) -> Result<Outcome, String> {
    let (_dog, d, mut checks) = begin("asioMessage calls back during createBuffers", make);
    let callbacks = Arc::new(AtomicU64::new(0));
    let failed = Arc::new(AtomicU64::new(0));
    {
        let (callbacks, failed) = (callbacks.clone(), failed.clone());
        hostile::on_message(Some(Arc::new(move |selector, _| {
            if selector == message::SELECTOR_SUPPORTED {
                let d = hostile::driver();
                let codes = [d.sample_rate().0, d.channels().0, d.latencies()];
                callbacks.fetch_add(1, Ordering::AcqRel);
                failed.fetch_add(
                    codes.iter().filter(|c| **c != ASE_OK).count() as u64,
                    Ordering::AcqRel,
                );
            }
            None
        })));
    }
    stream(&d, &mut checks);
    checks.that(
        callbacks.load(Ordering::Acquire) > 0,
        "the driver asked no kAsioSelectorSupported during createBuffers",
    );
    checks.that(
        failed.load(Ordering::Acquire) == 0,
        format!(
            "{} calls from asioMessage failed",
            failed.load(Ordering::Acquire)
        ),
    );
    checks.code("stop", d.stop(), ASE_OK);
    checks.code("disposeBuffers", d.dispose_buffers(), ASE_OK);
    let outcome = end(d, &mut checks);
    checks.finish(outcome)
}

/// A host that calls `stop()` and `disposeBuffers()` inside its
/// `kAsioResetRequest` handler, then recreates the buffers and restarts
/// from its main thread. `request` makes the driver ask for the reset
/// (`setSampleRate`, a settings or device change, a device failure); it
/// must return, and the reset must come.
pub fn stop_inside_reset_handler(
    make: MakeDriver<'_>,
    request: &dyn Fn(&RawDriver) -> AsioError,
) -> Result<Outcome, String> {
    let (_dog, d, mut checks) = begin("stop inside the reset handler", make);
    stream(&d, &mut checks);
    let codes = Arc::new([AtomicI32::new(-1), AtomicI32::new(-1)]);
    let handled = Arc::new(AtomicBool::new(false));
    {
        let (codes, handled) = (codes.clone(), handled.clone());
        hostile::on_message(Some(Arc::new(move |selector, _| {
            if selector == message::RESET_REQUEST && !handled.load(Ordering::Acquire) {
                let d = hostile::driver();
                codes[0].store(d.stop(), Ordering::Release);
                codes[1].store(d.dispose_buffers_in_callback(), Ordering::Release);
                handled.store(true, Ordering::Release);
                return Some(1);
            }
            None
        })));
    }
    checks.code("the call that asks for a reset", request(&d), ASE_OK);
    checks.that(
        wait_for(&handled, Duration::from_secs(10)),
        "the reset request never came",
    );
    let stop = codes[0].load(Ordering::Acquire);
    checks.that(
        stop == ASE_OK || stop == asio_abi::ASE_INVALID_MODE,
        format!("stop inside the reset handler returned {}", name(stop)),
    );
    checks.code(
        "disposeBuffers inside the reset handler",
        codes[1].load(Ordering::Acquire),
        ASE_OK,
    );
    let before = switches();
    checks.code(
        "createBuffers after the reset",
        d.create_buffers(&CHANNELS, FRAMES),
        ASE_OK,
    );
    checks.code("start after the reset", d.start(), ASE_OK);
    checks.that(
        wait_switches(before, 30),
        "the stream did not restart after the reset",
    );
    let (_, rate) = d.sample_rate();
    checks.code("stop", d.stop(), ASE_OK);
    checks.code("disposeBuffers", d.dispose_buffers(), ASE_OK);
    let mut outcome = end(d, &mut checks);
    outcome
        .notes
        .push(format!("streamed at {rate} Hz after the reset"));
    checks.finish(outcome)
}

/// `setSampleRate(96000)` while streaming: asks for the reset.
pub fn set_rate_96k(d: &RawDriver) -> AsioError {
    d.set_sample_rate(96_000.0)
}

/// A small xorshift generator: each thread its own, reproducible by seed.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

/// Control and query calls from four host threads at once for `duration`,
/// in random order, while the host writes its buffers in every switch,
/// sometimes stops from inside the switch, and sometimes stops inside its
/// reset handler.
pub fn control_calls_from_four_threads(
    make: MakeDriver<'_>,
    duration: Duration,
) -> Result<Outcome, String> {
    hostile::reset();
    let _dog = Watchdog::start("control calls from four threads", duration + SCENARIO_LIMIT);
    let d = make();
    let mut checks = Checks::default();
    checks.that(d.init(), format!("init failed: {}", d.error_message()));
    let in_switch_stops = Arc::new(AtomicU64::new(0));
    {
        let stops = in_switch_stops.clone();
        let n = Arc::new(AtomicU64::new(0));
        hostile::on_switch(Some(Arc::new(move |_| {
            let k = n.fetch_add(1, Ordering::AcqRel);
            let d = hostile::driver();
            if k % 7 == 0 {
                let _ = d.sample_position();
            }
            if k % 311 == 0 {
                if d.stop() == ASE_OK {
                    stops.fetch_add(1, Ordering::AcqRel);
                }
            } else if k % 997 == 0 {
                std::thread::sleep(Duration::from_millis(5));
            }
        })));
        let resets = Arc::new(AtomicU64::new(0));
        hostile::on_message(Some(Arc::new(move |selector, _| {
            if selector == message::RESET_REQUEST && resets.fetch_add(1, Ordering::AcqRel) % 2 == 0
            {
                let _ = hostile::driver().stop();
            }
            None
        })));
    }
    let deadline = Instant::now() + duration;
    let calls = Arc::new(AtomicU64::new(0));
    let workers: Vec<_> = (0..4u64)
        .map(|t| {
            let calls = calls.clone();
            std::thread::spawn(move || {
                let mut rng =
                    Rng(0x9e37_79b9_7f4a_7c15 ^ (t + 1).wrapping_mul(0x2545_f491_4f6c_dd1d));
                while Instant::now() < deadline {
                    // Mostly queries; control calls rarely enough that
                    // streams live for a few periods between them.
                    let roll = rng.below(1000);
                    let control = roll < 160;
                    let _ = match roll {
                        0..=59 if rng.below(3) == 0 => d.start(),
                        60..=99 if rng.below(10) == 0 => d.stop(),
                        100..=129 if rng.below(3) == 0 => {
                            d.create_buffers(&CHANNELS, if rng.below(2) == 0 { 128 } else { 256 })
                        }
                        130..=149 if rng.below(10) == 0 => d.dispose_buffers(),
                        150..=159 if rng.below(5) == 0 => d.set_sample_rate(if rng.below(2) == 0 {
                            44_100.0
                        } else {
                            48_000.0
                        }),
                        0..=159 => d.sample_position(),
                        160..=299 => d.channels().0,
                        300..=439 => d.sample_rate().0,
                        440..=579 => d.latencies(),
                        580..=679 => d.buffer_size(),
                        680..=819 => d.sample_position(),
                        820..=879 => d.sample_type(false, 1).0,
                        880..=909 => d.can_sample_rate(48_000.0),
                        910..=939 => d.output_ready(),
                        940..=959 => d.future(asio_abi::future::CAN_REPORT_OVERLOAD),
                        960..=979 => {
                            let _ = d.error_message();
                            ASE_OK
                        }
                        _ => ASE_OK,
                    };
                    if control {
                        std::thread::sleep(Duration::from_millis(rng.below(8)));
                    } else if rng.below(8) == 0 {
                        std::thread::sleep(Duration::from_millis(1));
                    }
                    calls.fetch_add(1, Ordering::Relaxed);
                }
            })
        })
        .collect();
    for w in workers {
        checks.that(w.join().is_ok(), "a host thread panicked");
    }
    let _ = d.stop();
    let _ = d.dispose_buffers();
    let mut outcome = end(d, &mut checks);
    outcome.calls = calls.load(Ordering::Acquire);
    outcome.notes.push(format!(
        "{} calls from 4 threads in {} s; {} switches from {} driver threads; {} stops inside the switch; {} resets",
        outcome.calls,
        duration.as_secs(),
        outcome.switches,
        outcome.driver_threads,
        in_switch_stops.load(Ordering::Acquire),
        hostile::counters().resets.load(Ordering::Acquire),
    ));
    checks.that(outcome.switches > 0, "no switch in the whole run");
    checks.finish(outcome)
}
