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
//! `exports` and `factory` (COM entry points) contain `unsafe`; each states
//! its invariant at the top. `registry` writes through `tenuto-win`, safely.

#![deny(unsafe_code)]
#![warn(missing_docs)]

#[cfg(windows)]
mod exports;
#[cfg(windows)]
mod factory;
pub mod log;
mod monitor;
#[cfg(windows)]
pub mod registry;
mod settings_glue;

#[cfg(windows)]
pub use settings_glue::aggregate_for;
pub use settings_glue::new_instance;

use tenuto_engine::Engine;

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

/// The engine a new driver object gets, from the default settings (the
/// DLL's class factory reads the user's settings file instead).
pub fn new_engine() -> Engine {
    settings_glue::engine_for(&tenuto_settings::Settings::default())
}
