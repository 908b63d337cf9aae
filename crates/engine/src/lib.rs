//! # tenuto-engine
//!
//! The heart of the Tenuto ASIO driver, with no Windows or COM in sight:
//!
//! * [`Engine`] — the ASIO state machine (loaded → initialized → prepared →
//!   running) and every IASIO operation as a safe Rust method returning
//!   [`EngineError`], which maps to an ASIO error code and a message a user
//!   can act on;
//! * [`device`] — the [`Device`] / [`DeviceStream`] traits backends
//!   implement, and [`virtual_device`], a clock-paced in-memory device with
//!   loopback that runs on every OS;
//! * the driver thread (`io`), which waits for the device, converts input
//!   into the host's half buffer, calls the host, converts the output back
//!   and records timing ([`stats`]);
//! * [`host`] — how the engine talks to the host (traits the driver shell
//!   implements over raw ASIO callbacks) and the scheduling-policy seam.
//! * the messenger, the one place that calls the host with anything but the
//!   buffer switch (and the driver thread's own messages): other threads
//!   flag requests through [`shared::Shared`], its thread delivers them
//!   outside every lock.
//!
//! ## Real-time contract
//! The driver thread allocates everything in `createBuffers` and `start`.
//! Inside its loop it does not allocate, lock, log, format or panic; it
//! reports through atomics and a wait-free ring. [`rt`] marks the loop so
//! that tests prove this with a counting allocator and the lock wrapper in
//! [`sync`].
//!
//! ## Unsafe
//! Only [`buffers`] (the memory shared with the host) and
//! [`rt::RtAllocCounter`] (the counting allocator tests install) contain
//! `unsafe`; the crate denies it everywhere else.
//!
//! ## Dependencies
//! This crate must not depend on Windows, COM or the driver shell.

#![deny(unsafe_code)]
#![warn(missing_docs)]

pub mod buffers;
pub mod device;
mod engine;
pub mod error;
pub mod host;
mod io;
mod messenger;
pub mod rt;
pub mod shared;
pub mod stats;
pub mod sync;
pub mod time;
pub mod virtual_device;

pub use device::{Device, DeviceStream, StartSpread};
pub use engine::{
    default_host_format, BufferPointers, BufferRequest, BufferSizeInfo, ChannelDetails,
    ClockSourceDetails, Engine, EngineOptions, MessagesInFlight, StreamEnd, MAX_SANE_RATE,
    RECENT_EVENTS,
};
pub use error::EngineError;
pub use tenuto_convert::{DeviceFormat, HostFormat};
