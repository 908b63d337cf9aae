//! The engine's view of the host (the DAW).
//!
//! ASIO hosts hand the driver four C function pointers; the driver shell
//! adapts them to these traits so that the engine stays free of FFI and can
//! be driven by plain Rust in tests.

use std::sync::Arc;

/// Position and clock of the buffer half being handed to the host.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct PeriodTime {
    /// Frame index (since `start`) of the first frame of this half.
    pub sample_position: u64,
    /// When that frame's period completed, ns on [`crate::time::now_ns`]'s
    /// clock (the `timeGetTime` epoch on Windows).
    pub system_time_ns: u64,
    /// Current sample rate.
    pub sample_rate: f64,
}

/// The buffer switch, called once per period on the driver thread.
pub trait SwitchCallback: Send {
    /// Tells the host that half `half` (0 or 1) is ready: its inputs are
    /// filled and its outputs must be written now. Real-time.
    fn buffer_switch(&mut self, half: usize, time: &PeriodTime);
}

/// Messages to the host (`asioMessage` and `sampleRateDidChange`). May be
/// called from the driver thread and from the host's own threads.
pub trait HostMessages: Send + Sync {
    /// Sends `asioMessage(selector, value, null, null)`; returns its answer.
    fn message(&self, selector: i32, value: i32) -> i32;
    /// Tells the host the sample rate changed underneath it.
    fn sample_rate_did_change(&self, rate: f64);
}

/// Everything the engine needs from the host, given at `createBuffers`.
pub struct HostCallbacks {
    /// The buffer switch.
    pub switch: Box<dyn SwitchCallback>,
    /// Message channel.
    pub messages: Arc<dyn HostMessages>,
}

impl std::fmt::Debug for HostCallbacks {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("HostCallbacks { .. }")
    }
}

/// What the host said it supports, asked once at `createBuffers`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct HostCaps {
    /// ASIO engine version the host reports (`kAsioEngineVersion`).
    pub engine_version: i32,
    /// The host handles `kAsioResetRequest`.
    pub reset_request: bool,
    /// The host handles `kAsioLatenciesChanged`.
    pub latencies_changed: bool,
    /// The host handles `kAsioOverload`.
    pub overload: bool,
    /// The host handles `kAsioResyncRequest`.
    pub resync_request: bool,
}

impl HostCaps {
    /// Asks the host through `kAsioSelectorSupported`.
    pub fn query(messages: &dyn HostMessages) -> Self {
        use asio_abi::message as m;
        let supported = |sel| messages.message(m::SELECTOR_SUPPORTED, sel) == 1;
        Self {
            engine_version: if supported(m::ENGINE_VERSION) {
                messages.message(m::ENGINE_VERSION, 0)
            } else {
                0
            },
            reset_request: supported(m::RESET_REQUEST),
            latencies_changed: supported(m::LATENCIES_CHANGED),
            overload: supported(m::OVERLOAD),
            resync_request: supported(m::RESYNC_REQUEST),
        }
    }
}

/// The seam where a scheduling policy is applied to the driver thread.
///
/// `apply` runs on the driver thread right after it starts and before the
/// first period; the returned guard is dropped on the same thread after the
/// last period, which must revert whatever `apply` changed. Neither runs
/// inside the period loop.
pub trait ThreadPolicy: Send + Sync {
    /// Applies the policy to the calling thread.
    fn apply(&self) -> Box<dyn AppliedPolicy>;

    /// Applies the policy knowing the stream's period in nanoseconds, for
    /// policies that need it (SCHED_DEADLINE). The engine calls this one.
    fn apply_with_period(&self, period_ns: u64) -> Box<dyn AppliedPolicy> {
        let _ = period_ns;
        self.apply()
    }
}

/// The driver thread's scheduler state at one instant.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct PrioritySample {
    /// The thread's current priority as the OS numbers it: on Windows the
    /// absolute priority 1–31 (`THREAD_BASIC_INFORMATION.Priority`); on
    /// Linux the real-time priority 1–99 under SCHED_FIFO/RR (0 otherwise).
    pub priority: i32,
    /// The thread is in a real-time class (Linux FIFO/RR/DEADLINE; Windows
    /// priority 16 or more).
    pub realtime: bool,
}

/// A policy in effect on the driver thread; dropping it reverts it.
pub trait AppliedPolicy {
    /// One line for diagnostics: what is in effect and why.
    fn describe(&self) -> String;

    /// Reads the calling (driver) thread's scheduler state. Called inside
    /// the period loop — every few periods and on every late period — so
    /// it must be real-time safe: no allocation, no lock, nothing but a
    /// non-blocking system call. `None` when the OS offers no probe.
    fn sample(&mut self) -> Option<PrioritySample> {
        None
    }

    /// Whether `sample` shows the thread demoted below what this policy
    /// gave it (MMCSS's exhausted band 1–7 while registered; a Linux thread
    /// dropped out of its real-time class). Real-time safe.
    fn is_demoted(&self, sample: &PrioritySample) -> bool {
        let _ = sample;
        false
    }
}

/// Leaves the thread as it was created.
#[derive(Debug, Clone, Copy, Default)]
pub struct InheritPolicy;

struct Inherited;

impl AppliedPolicy for Inherited {
    fn describe(&self) -> String {
        "inherit: thread left as created".to_owned()
    }
}

impl ThreadPolicy for InheritPolicy {
    fn apply(&self) -> Box<dyn AppliedPolicy> {
        Box::new(Inherited)
    }
}
