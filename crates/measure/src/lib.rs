//! # tenuto-measure
//!
//! Measurements through any ASIO driver, on top of the host library
//! `tenuto-host` (which calls the driver and routes its callbacks):
//!
//! * [`check`] runs the conformance sequence behind `tenuto check`;
//! * [`stream`] plays a signal and measures what comes back, behind
//!   `tenuto stream`;
//! * [`play`] plays a tone or a WAV file, behind `tenuto play`;
//! * [`loopback`] measures the round-trip latency and glitches through a
//!   driver whose output reaches its input, behind `tenuto loopback`.
//!
//! [`bandlimit`] makes the loopback's test signal for paths that convert
//! the sample rate.
//!
//! [`signal`] writes and reads test signals in every sample type a driver
//! may hand out.

#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod bandlimit;
pub mod check;
mod fft;
pub mod loopback;
pub mod play;
pub mod sequence;
pub mod signal;
pub mod stream;
mod watch;

pub use watch::SwitchCounters;
