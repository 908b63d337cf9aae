//! # tenuto-wasapi
//!
//! Tenuto's WASAPI backend: real Windows audio devices for the engine.
//!
//! * `endpoints()` (Windows) lists every render and capture endpoint: the stable endpoint
//!   ID, friendly name, state, whether it is Windows' default, the shared-mode mix format and
//!   the engine periods (`tenuto devices` prints them).
//! * `WasapiDevice` (Windows) implements the engine's
//!   [`Device`](tenuto_engine::Device): one render and/or one capture endpoint, chosen by
//!   ID or as Windows' default, streamed in **shared, event-driven mode** with the mix format.
//!   Its stream runs on the driver thread; the ASIO buffer is decoupled from the engine period
//!   by preallocated rings sized by [`plan`] (the minimum that cannot underrun), and the
//!   latency it reports is derived there too.
//! * Portable parts, tested on every OS: channel names from a channel mask ([`channels`]),
//!   mix-format parsing ([`format`](mod@format)), ring sizing and latency ([`plan`]), the frame ring
//!   ([`ring`]), errors with HRESULT meanings and advice ([`error`]).
//!
//! ## Sample rate
//! Shared mode runs at the rate set in Windows' Sound settings. The device offers exactly that
//! rate ([`Device::sample_rates`](tenuto_engine::Device::sample_rates)), so the engine refuses
//! any other with a message naming the one that works. Render and capture must share rate
//! and sample type.
//!
//! ## How a stream runs (shared mode)
//! `start` (driver thread) opens both clients with `AUDCLNT_STREAMFLAGS_EVENTCALLBACK` and
//! the mix format, starts capture, waits for its first packet, queues the planned silence
//! ([`RingPlan::output_prefill_frames`]) and starts render. `wait` sleeps on *both* events
//! (a capture packet that lands just after a render pull is then played at the next pull —
//! waiting on the render event alone would cost one more period of prefill), drains capture
//! packets into the input ring, tops up the render buffer from the output ring, and returns
//! when the plan says a period is ready; no period for `max(4 periods, 200 ms)` is
//! `StreamError::Stalled`, `AUDCLNT_E_DEVICE_INVALIDATED` is `StreamError::Disconnected`.
//! `read`/`write` copy one ASIO buffer out of / into the rings. Latency
//! ([`Device::latency`](tenuto_engine::Device::latency)) is derived in [`plan`]: input =
//! ring wait (`Pc − gcd(B, Pc)`) + capture `GetStreamLatency`; output = one render period
//! (+ `Pc − gcd(Pr, Pc)` when the periods differ) + render `GetStreamLatency`; in + out is
//! exactly the frame offset a loopback closes at.
//!
//! ## What is not there yet (the seams)
//! * **Exclusive mode** and **IAudioClient3** (`InitializeSharedAudioStream`, smaller shared
//!   periods): `AudioClient::initialize_shared_event` in `com` is the one place a stream is
//!   initialised; a mode enum in `WasapiConfig` and an `initialize_*` per mode belong there,
//!   with the period the mode gives feeding [`RingPlan::new`]. Neither can be exercised under
//!   Wine 8 (no exclusive mode in winepulse; IAudioClient3 is E_NOTIMPL): tests on Windows.
//! * **Resampling** (host rates other than the mix rate): refused for now, with the rate
//!   that works.
//! * **Device changes**: no `IMMNotificationClient` yet. A removed device surfaces as
//!   `AUDCLNT_E_DEVICE_INVALIDATED` → `StreamError::Disconnected` on the next call, which the
//!   engine turns into a reset request. `EndpointChoice::Default` is resolved when the device
//!   is created and does not follow later default changes; a changed mix format is only
//!   noticed at the next `open`/`start` (it fails, asking for a reset).
//! * **Clock drift and phase**: the duplex plan assumes one clock and a phase within a
//!   period. Drift, or a capture stream that starts late, shows as the output queue growing;
//!   beyond the high-water mark it is cut back once (counted in `DeviceCounters::resyncs`).
//!   Measuring the queue and steering it (or resampling) is next.
//! * **Render underruns** are not detected (WASAPI gives no flag; Wine's padding cannot tell
//!   a drained buffer from an underrun); the prefill is computed to make them impossible
//!   under the model in [`plan`]. Capture discontinuities are counted (`input_overruns`).
//! * **Time stamps**: a period's due time is the wake-up on the event that completed it, and
//!   its deadline is estimated from the render queue; the device position (`IAudioClock`,
//!   the capture packet's QPC position) would be exact.
//! * **Latency** is derived, not yet checked against a measured loopback (the null sink's
//!   monitor, `Monitor of Tenuto Null Output`, is the loopback for that test).
//!
//! ## Unsafe
//! All of it is in `com` (COM and Win32 calls), whose header states the invariant; every
//! other module denies it.

#![deny(unsafe_code)]
#![warn(missing_docs)]

pub mod channels;
pub mod drift;
pub mod endpoint;
pub mod error;
pub mod format;
pub mod notify;
pub mod plan;
pub mod ring;

#[cfg(windows)]
mod com;
#[cfg(windows)]
mod device;
#[cfg(windows)]
mod enumerate;

pub use channels::channel_names;
pub use endpoint::{format_hns, Direction, Endpoint, EndpointState};
pub use error::{Hresult, WasapiError};
pub use format::MixFormat;
pub use notify::{DeviceChange, EndpointEvent};
pub use plan::RingPlan;
pub use ring::FrameRing;

#[cfg(windows)]
pub use device::{ChangeHandler, EndpointChoice, Mode, NoteHandler, WasapiConfig, WasapiDevice};
#[cfg(windows)]
pub use enumerate::endpoints;
