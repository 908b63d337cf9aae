//! # tenuto (the driver DLL)
//!
//! The Windows shell around [`tenuto_driver`]: the four exports a COM
//! in-process server needs (`DllGetClassObject`, `DllCanUnloadNow`,
//! `DllRegisterServer`, `DllUnregisterServer`), the class factory, and the
//! registry entries ASIO hosts look for. It holds no driver logic: the
//! factory creates an [`Engine`] and wraps it in the IASIO object from
//! `tenuto-driver`.
//!
//! Built as `tenuto.dll` for `x86_64-pc-windows-gnu` (and MSVC). On other
//! systems only the platform-independent parts compile.
//!
//! ## Unsafe
//! `exports` and `factory` (COM entry points) and `registry` (Win32 registry
//! calls) contain `unsafe`; each states its invariant at the top.

#![deny(unsafe_code)]
#![warn(missing_docs)]

#[cfg(windows)]
mod exports;
#[cfg(windows)]
mod factory;
#[cfg(windows)]
pub mod registry;

use tenuto_engine::virtual_device::{VirtualConfig, VirtualDevice};
use tenuto_engine::{Engine, EngineOptions};

pub use tenuto_driver::CLSID_TENUTO;

/// The name hosts list (the `HKLM\SOFTWARE\ASIO` subkey).
pub const DRIVER_NAME: &str = "Tenuto";

/// The description stored next to the CLSID.
pub const DESCRIPTION: &str = "Tenuto ASIO Driver";

/// The driver's version as `getDriverVersion` reports it: major·10000 +
/// minor·100 + patch of the crate version.
pub fn driver_version() -> i32 {
    let part = |s: &str| s.parse::<i32>().unwrap_or(0);
    part(env!("CARGO_PKG_VERSION_MAJOR")) * 10_000
        + part(env!("CARGO_PKG_VERSION_MINOR")) * 100
        + part(env!("CARGO_PKG_VERSION_PATCH"))
}

/// The engine a new driver object gets. In this version the backend is the
/// virtual device (WASAPI arrives with its own milestone); the driver
/// thread's scheduling follows the host (per-DAW profile or Auto, default
/// MMCSS "Pro Audio" at CRITICAL), with a 1 ms timer resolution because the
/// virtual device waits on timers.
pub fn new_engine() -> Engine {
    Engine::new(
        Box::new(VirtualDevice::new(VirtualConfig::default())),
        EngineOptions {
            driver_name: DRIVER_NAME.to_owned(),
            driver_version: driver_version(),
            policy: thread_policy(),
            ..EngineOptions::default()
        },
    )
}

#[cfg(windows)]
fn thread_policy() -> std::sync::Arc<dyn tenuto_engine::host::ThreadPolicy> {
    std::sync::Arc::new(
        tenuto_sched::host_aware::HostAwarePolicy::new(tenuto_sched::Scheduling::default())
            .with_timer_resolution(1),
    )
}

#[cfg(not(windows))]
fn thread_policy() -> std::sync::Arc<dyn tenuto_engine::host::ThreadPolicy> {
    std::sync::Arc::new(tenuto_engine::host::InheritPolicy)
}
