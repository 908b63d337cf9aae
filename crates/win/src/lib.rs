//! Tenuto's Windows plumbing, in one home: registry access (through the `windows-registry`
//! crate), NUL-terminated UTF-16 strings, the meaning of Win32 error codes, whether the
//! process is elevated, and whether it runs under Wine.
//!
//! It depends on no other Tenuto crate, and holds nothing audio-specific: the crates above it
//! (dll, host, sched, panel) keep their own errors and messages, and use this for the calls.
//! Nothing here is real-time safe: every function may allocate or make a system call that
//! blocks, so none of them belongs on the driver thread.
//!
//! On targets other than Windows the crate is empty.
//!
//! `unsafe` lives only in [`process`] (the token query) and [`env`] (environment
//! expansion); each states its invariant in its header. [`registry`] and [`wide`] are safe code.

#![cfg_attr(not(windows), forbid(unsafe_code))]

#[cfg(windows)]
pub mod env;
#[cfg(windows)]
pub mod error;
#[cfg(windows)]
pub mod process;
#[cfg(windows)]
pub mod registry;
#[cfg(windows)]
pub mod wide;

#[cfg(windows)]
pub use error::win32_meaning;
#[cfg(windows)]
pub use process::{is_elevated, is_wine};
#[cfg(windows)]
pub use wide::{from_wide, to_wide};
