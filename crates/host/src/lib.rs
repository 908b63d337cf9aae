//! # tenuto-host
//!
//! An ASIO host in Rust: loads nothing by itself, but drives any `IASIO`
//! object it is handed — Tenuto's in-process driver on every OS, or (on
//! Windows) a registered driver created through COM — the way a careful
//! DAW does.
//!
//! * [`Driver`] calls the vtable, turning each ASIO error into a
//!   [`CallError`] carrying the driver's own `getErrorMessage` text;
//! * [`Driver::create_buffers`] installs the callbacks and routes each
//!   buffer switch to a [`PeriodHandler`] on the driver's thread;
//! * [`hostile`] and [`abuse`] call a driver the way no careful host does
//!   (from several threads, out of order, from inside its callbacks), for
//!   the robustness tests;
//! * on Windows, [`windows`] lists the registered drivers and creates one
//!   through COM, [`dll`] loads a driver DLL by path and [`version`] reads a
//!   file's VERSIONINFO.
//!
//! The measurements built on it (`check`, `stream`, `play`, `loopback`) are
//! the crate `tenuto-measure`.
//!
//! ASIO callbacks carry no context pointer, so one process streams through
//! one driver at a time with this library.
//!
//! ## Unsafe
//! Only `ffi` (calling a driver, the callbacks), `windows` (registry and
//! COM) and `dll` (loading a DLL by path) contain `unsafe`; each module
//! header states its invariant.

#![deny(unsafe_code)]
#![warn(missing_docs)]

pub mod abuse;
#[cfg(windows)]
pub mod dll;
mod ffi;
#[cfg(windows)]
pub mod version;
#[cfg(windows)]
pub mod windows;

pub use ffi::hostile;
pub use ffi::{
    call_with_null_object, call_with_null_pointers, counting_switches, create_buffers_again,
    create_buffers_counting, create_buffers_without_switch, stray_callbacks, vtbl_of, BufferSize,
    ChannelInfo, ClockSource, Driver, HostCounters, Period, Session,
};

/// An ASIO call that did not return `ASE_OK` (for `init`, which returns an `ASIOBool`:
/// that returned false).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}", self.describe())]
pub struct CallError {
    /// The ASIO method.
    pub call: &'static str,
    /// The code it returned.
    pub code: i32,
    /// The driver's `getErrorMessage` right after.
    pub message: String,
}

impl CallError {
    fn describe(&self) -> String {
        if self.call == "init" {
            format!("init() returned false: {}", self.message)
        } else {
            format!(
                "{}() returned {} ({}): {}",
                self.call,
                asio_abi::error_name(self.code).unwrap_or("unknown error"),
                self.code,
                self.message
            )
        }
    }
}

/// What this host tells the driver it supports (through `asioMessage`),
/// and whether it calls `outputReady` after each switch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HostOptions {
    /// Answer yes to `kAsioSupportsTimeInfo` (receive `bufferSwitchTimeInfo`).
    pub time_info: bool,
    /// Accept `kAsioResetRequest`.
    pub reset_request: bool,
    /// Accept `kAsioLatenciesChanged`.
    pub latencies_changed: bool,
    /// Accept `kAsioOverload`.
    pub overload: bool,
    /// Accept `kAsioResyncRequest`.
    pub resync_request: bool,
    /// Call `outputReady()` after every switch.
    pub call_output_ready: bool,
}

impl Default for HostOptions {
    fn default() -> Self {
        Self {
            time_info: true,
            reset_request: true,
            latencies_changed: true,
            overload: true,
            resync_request: true,
            call_output_ready: false,
        }
    }
}

/// The time information of a `bufferSwitchTimeInfo` call.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TimeInfo {
    /// Sample position of the half's first frame.
    pub sample_position: u64,
    /// System time of that frame, ns.
    pub system_time_ns: u64,
    /// Sample rate.
    pub sample_rate: f64,
    /// Raw flags.
    pub flags: u32,
    /// `kSamplePositionValid` was set.
    pub position_valid: bool,
    /// `kSystemTimeValid` was set.
    pub time_valid: bool,
}

/// Receives every buffer switch on the driver's thread. Must be real-time
/// safe if the measurement is to mean anything.
pub trait PeriodHandler: Send {
    /// Reads inputs and writes outputs of `period`.
    fn process(&mut self, period: &mut Period<'_>);
    /// Lets the host recover the concrete handler after streaming.
    fn as_any(&mut self) -> &mut dyn std::any::Any;
}
