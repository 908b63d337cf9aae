//! Hostile and buggy host patterns against the in-process driver object,
//! through the exact vtable the Windows DLL exports. The same
//! scenarios run against the real DLL under Wine (`crates/dll/tests/hostile.rs`).
//!
//! Each scenario (see `tenuto_host::abuse`) fails on a deadlock (its
//! watchdog aborts the process after 20 s), on any switch after a `stop()` or
//! `disposeBuffers()` that had to end it returned `ASE_OK`, on overlapping
//! switches (two driver threads calling the host at once), on a switch into
//! disposed buffers and on a message while no buffers exist; the host writes
//! its output buffers in every switch.
//!
//! The four-thread stress runs for `TENUTO_STRESS_SECS` seconds (default
//! 20; the figure is a minute).

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use asio_abi::{AsioError, ASE_OK};
use tenuto_engine::device::{
    BufferSizes, DeviceCounters, DeviceError, DeviceInfo, DeviceLatency, PeriodTiming,
    StreamConfig, StreamError,
};
use tenuto_engine::shared::Shared;
use tenuto_engine::virtual_device::{VirtualConfig, VirtualDevice};
use tenuto_engine::{Device, DeviceStream, Engine, EngineOptions};
use tenuto_host::abuse::{self, Racer};
use tenuto_host::hostile::RawDriver;
use tenuto_host::Driver;

/// One hostile host per process: ASIO callbacks carry no context.
#[allow(clippy::disallowed_types)] // the test harness's lock, not the driver's
static SERIAL: std::sync::Mutex<()> = std::sync::Mutex::new(());

fn serial() -> std::sync::MutexGuard<'static, ()> {
    SERIAL.lock().unwrap_or_else(|p| p.into_inner())
}

/// The status of the driver `make` created last (for the reset paths that
/// start outside the host: settings and device changes).
#[allow(clippy::disallowed_types)]
static LAST_SHARED: std::sync::Mutex<Option<Arc<Shared>>> = std::sync::Mutex::new(None);

fn driver_on(device: Box<dyn Device>) -> RawDriver {
    let instance = tenuto_driver::create_instance(Engine::new(device, EngineOptions::default()));
    *LAST_SHARED.lock().unwrap_or_else(|p| p.into_inner()) = Some(Arc::clone(instance.shared()));
    RawDriver::from_driver(Driver::from_instance(instance))
}

fn make() -> RawDriver {
    driver_on(Box::new(VirtualDevice::new(VirtualConfig::default())))
}

fn run(what: &str, r: Result<abuse::Outcome, String>) {
    match r {
        Ok(outcome) => {
            println!(
                "{what}: {} switches from {} driver threads; {}",
                outcome.switches,
                outcome.driver_threads,
                outcome.notes.join("; ")
            );
            assert_eq!(
                tenuto_driver::live_objects(),
                0,
                "{what}: a driver object leaked"
            );
        }
        Err(failures) => panic!("{what}:\n{failures}"),
    }
}

#[test]
fn a_long_switch_with_stop_and_dispose_on_two_threads_leaves_one_stream() {
    let _g = serial();
    run(
        "long switch",
        abuse::long_switch_stop_and_dispose_on_two_threads(&make),
    );
}

#[test]
fn dispose_inside_the_switch_then_create_and_start_from_the_main_thread() {
    let _g = serial();
    run(
        "dispose inside",
        abuse::dispose_inside_switch_then_create_and_start(&make, false),
    );
}

#[test]
fn dispose_and_create_inside_the_switch_then_start_from_the_main_thread() {
    let _g = serial();
    run(
        "dispose and create inside",
        abuse::dispose_inside_switch_then_create_and_start(&make, true),
    );
}

#[test]
fn stop_inside_the_switch_then_queries_while_another_thread_disposes() {
    let _g = serial();
    run(
        "stop inside, dispose racing",
        abuse::stop_inside_switch_then_queries_racing(&make, Racer::Dispose),
    );
}

#[test]
fn stop_inside_the_switch_then_queries_while_another_thread_starts() {
    let _g = serial();
    run(
        "stop inside, start racing",
        abuse::stop_inside_switch_then_queries_racing(&make, Racer::Start),
    );
}

#[test]
fn a_second_stop_after_a_stop_inside_the_switch_succeeds() {
    let _g = serial();
    run(
        "stop inside, stop again",
        abuse::stop_inside_switch_then_queries_racing(&make, Racer::Stop),
    );
}

#[test]
fn dispose_inside_the_switch_while_the_reset_handler_waits_in_stop() {
    let _g = serial();
    run(
        "dispose inside, stop in the reset handler",
        abuse::dispose_inside_switch_while_the_reset_handler_stops(&make),
    );
}

#[test]
fn asio_message_may_call_the_driver_during_create_buffers() {
    let _g = serial();
    run(
        "asioMessage calls back",
        abuse::asio_message_calls_back_during_create_buffers(&make),
    );
}

#[test]
fn a_host_that_stops_in_its_reset_handler_gets_set_sample_rate_back() {
    let _g = serial();
    run(
        "reset from setSampleRate",
        abuse::stop_inside_reset_handler(&make, &abuse::set_rate_96k),
    );
}

/// Settings and device changes both reach the host through
/// `Shared::request_reset` (the DLL's watcher and WASAPI's notification).
#[test]
fn a_host_that_stops_in_its_reset_handler_after_a_settings_or_device_change() {
    let _g = serial();
    let request = |_: &RawDriver| -> AsioError {
        let shared = LAST_SHARED
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone();
        if shared.is_some_and(|s| s.request_reset()) {
            ASE_OK
        } else {
            asio_abi::ASE_NOT_PRESENT
        }
    };
    run(
        "reset from a settings or device change",
        abuse::stop_inside_reset_handler(&make, &request),
    );
}

#[test]
fn a_host_that_stops_in_its_reset_handler_after_a_device_failure() {
    let _g = serial();
    let fail = Arc::new(AtomicBool::new(false));
    let make_failing = {
        let fail = Arc::clone(&fail);
        move || {
            driver_on(Box::new(Failing {
                inner: VirtualDevice::new(VirtualConfig::default()),
                fail: Arc::clone(&fail),
            }))
        }
    };
    let request = |_: &RawDriver| -> AsioError {
        fail.store(true, Ordering::Release);
        ASE_OK
    };
    run(
        "reset from a device failure",
        abuse::stop_inside_reset_handler(&make_failing, &request),
    );
}

#[test]
fn control_calls_from_four_threads_while_the_host_writes_its_buffers() {
    let _g = serial();
    let secs = std::env::var("TENUTO_STRESS_SECS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(20);
    run(
        "four threads",
        abuse::control_calls_from_four_threads(&make, Duration::from_secs(secs)),
    );
}

/// The virtual device, whose stream fails (as a device that was unplugged)
/// once `fail` is set.
struct Failing {
    inner: VirtualDevice,
    fail: Arc<AtomicBool>,
}

struct FailingStream {
    inner: Box<dyn DeviceStream>,
    fail: Arc<AtomicBool>,
}

impl Device for Failing {
    fn info(&self) -> &DeviceInfo {
        self.inner.info()
    }
    fn sample_rates(&self) -> &[f64] {
        self.inner.sample_rates()
    }
    fn default_sample_rate(&self) -> f64 {
        self.inner.default_sample_rate()
    }
    fn buffer_sizes(&self, sample_rate: f64) -> BufferSizes {
        self.inner.buffer_sizes(sample_rate)
    }
    fn latency(&self, config: &StreamConfig) -> DeviceLatency {
        self.inner.latency(config)
    }
    fn open(&mut self, config: &StreamConfig) -> Result<Box<dyn DeviceStream>, DeviceError> {
        Ok(Box::new(FailingStream {
            inner: self.inner.open(config)?,
            fail: Arc::clone(&self.fail),
        }))
    }
}

impl DeviceStream for FailingStream {
    fn start(&mut self) -> Result<(), StreamError> {
        self.inner.start()
    }
    fn wait(&mut self) -> Result<Option<PeriodTiming>, StreamError> {
        if self.fail.swap(false, Ordering::AcqRel) {
            return Err(StreamError::Disconnected);
        }
        self.inner.wait()
    }
    fn read(&mut self, dst: &mut [u8]) -> Result<(), StreamError> {
        self.inner.read(dst)
    }
    fn write(&mut self, src: &[u8]) -> Result<(), StreamError> {
        self.inner.write(src)
    }
    fn stop(&mut self) {
        self.inner.stop();
    }
    fn device_counters(&self) -> DeviceCounters {
        self.inner.device_counters()
    }
}
