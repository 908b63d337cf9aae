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
//! * The stream ([`stream`]): its logic ([`stream::StreamCore`]: rings, start-up, pacing,
//!   the period clock, drift, stalls, rate conversion) runs against [`stream::StreamPort`],
//!   the few calls it makes on the audio clients. On Windows the port is COM; on every OS a
//!   simulated device ([`stream::sim`]) drives it with synthetic timing or with timing
//!   recorded from winepulse ([`stream::trace`]), and `tests/stream_sim.rs` decides
//!   start-up, stalls, latency, drift and conversion that way.
//! * Portable parts, tested on every OS: channel names from a channel mask ([`channels`]),
//!   mix-format parsing ([`format`](mod@format)), ring sizing and latency ([`plan`]), the frame ring
//!   ([`ring`]), the buffer sizes offered per mode and why a preferred size was raised
//!   ([`sizes`]), errors with HRESULT meanings and advice ([`error`]).
//!
//! ## Sample rate
//! Shared mode runs at the rate set in Windows' Sound settings (the mix rate). When the mix
//! format is 32-bit float (Windows' own, and winepulse's) and `WasapiConfig::convert_rates`
//! is on (the default; setting `wasapi.convert_rate`), the device offers every standard rate
//! (44.1 to 192 kHz) and a stream at another rate than the mix rate converts on the driver
//! thread ([`stream::Conversion`], `tenuto-resample`): capture packets become host frames
//! before the input ring, ASIO buffers become device frames before the output ring. The plan
//! is then made in host frames ([`RingPlan::converted`]) and the latency adds both
//! resamplers' delays (`WasapiDevice::conversion_latency`; `WasapiDevice::conversion_note`
//! words it, and `WasapiDevice::on_stream_note` hears it at every open). Otherwise the
//! device offers the mix rate alone, and the engine refuses any other with a message naming
//! the one that works. Render and capture must share rate and sample type. Exclusive mode
//! runs at the host's rate.
//!
//! ## How a stream runs (shared mode)
//! `start` (driver thread) opens both clients with `AUDCLNT_STREAMFLAGS_EVENTCALLBACK` and
//! the mix format and starts capture (render alone: queues the planned silence,
//! [`RingPlan::output_prefill_frames`], and starts render). `wait` then, once the first
//! capture packet is there, drops what was recorded so far, measures how long capture audio
//! waits below WASAPI ([`capture_delay`]), queues the planned silence and starts render. It
//! sleeps on *both* events (a capture packet that lands just after a render pull is then
//! played at the next pull — waiting on the render event alone would cost one more period of
//! prefill), drains capture packets into the input ring, tops up the render buffer from the
//! output ring, and returns when the plan says a period is ready, or `None` after 20 ms
//! without one. The first period may take up to 10 s (a device waking up); after it, no
//! period for `max(4 periods, 200 ms)` is `StreamError::Stalled` (`StreamError::NoWakeUp`
//! when not one event came since start, `StreamError::NoFirstPeriod` when the first never
//! came), and `AUDCLNT_E_DEVICE_INVALIDATED` is `StreamError::Disconnected`.
//! `read`/`write` copy one ASIO buffer out of / into the rings. Latency
//! ([`Device::latency`](tenuto_engine::Device::latency)) is derived in [`plan`]: input =
//! ring wait (`Pc − gcd(B, Pc)`); output = one render period (+ `Pc − gcd(Pr, Pc)` when the
//! periods differ); in + out is exactly the frame offset a loopback closes at — `tenuto
//! loopback` through the harness's null sink and its monitor locks at that figure plus the
//! measured capture delay, which the engine adds to the input latency once known, plus the
//! lateness of the render start against the first packet (the thread notices the packet
//! a little after it became readable), which it adds to the output latency.
//! `GetStreamLatency` is not added (Wine reports 20 ms the loopback does not see; on Windows
//! it includes the engine period the plan already counts). Converter latency in the hardware
//! is invisible to WASAPI; measure it with `tenuto loopback` and a cable.
//!
//! ## Modes
//! `Mode::Shared` (above); `Mode::LowLatency` initialises with IAudioClient3 at the smallest
//! engine period the device offers and falls back to shared mode, with a note in the log,
//! where it is not offered (Wine 8 returns E_NOTIMPL); `Mode::Exclusive` negotiates a
//! WAVEFORMATEXTENSIBLE (f32, i32, 24-in-32, i24, i16 at the mix format's channels and
//! mask, the first the device takes at the host's rate), uses one device period per ASIO
//! buffer (re-initialised at the size the device names on
//! `AUDCLNT_E_BUFFER_SIZE_NOT_ALIGNED`) and offers every rate the device takes. Winepulse
//! refuses every exclusive format, so exclusive mode is exercised only on Windows.
//!
//! ## Device changes and drift
//! An `IMMNotificationClient` ([`notify`]) reports removal, state changes, a new default
//! for a direction that follows it and a new shared-mode format; an `IAudioSessionEvents`
//! listener on each running stream reports why Windows disconnected it (another application
//! took the device in exclusive mode, above all — the stream's next call then fails with
//! `AUDCLNT_E_DEVICE_INVALIDATED` or `AUDCLNT_E_DEVICE_IN_USE`, also a disconnection). The
//! driver turns each into `kAsioResetRequest` with the reason in its log, and
//! `Device::refresh` (at `init()`) looks at the endpoints again.
//! Under Wine no notification comes (its session events are stubs); a removed PulseAudio sink fails the stream
//! (`AUDCLNT_E_DEVICE_INVALIDATED` → reset request), which the DLL tests check. Duplex over
//! two endpoints follows clock drift with its render resampler's ratio, set by a PI loop on
//! the output queue level ([`ratio_loop`]; one render period of headroom, reported in the
//! latency), so no frame is dropped or repeated. Where the render mix format is not 32-bit
//! float there is no resampler, and single-frame slips ([`drift`]) steer instead. Both see
//! the level as if render consumed continuously, which moves with drift and not with the
//! phase of pulls against packets. The output queue's high-water mark trims the queue
//! (a counted resync) only when it stays exceeded for 250 ms — a render side that stalls and
//! catches up passes it for a moment.
//!
//! ## Polling
//! With `WasapiConfig::wake_up` set to polling (setting `wasapi.wake_up = "polling"`) the
//! clients are initialised without `AUDCLNT_STREAMFLAGS_EVENTCALLBACK` and with a buffer of
//! three device periods (exclusive: periodicity one period), and the driver thread sleeps a
//! quarter device period (whole milliseconds, kernel32 `Sleep`) between looks at the padding
//! and the capture packets;
//! exclusive render is then fed by its padding like shared mode. The DLL raises the timer
//! resolution to 1 ms for it.
//!
//! Under Wine, polling also keeps the audio path off the wineserver (`WakeUp::Polling`):
//! a WASAPI event is a request to the wineserver, a single-threaded process that answers
//! nobody while it writes the registry to disk (30–50 ms for a standard prefix here). It
//! does that within 30 s of any change, and every process that opens an audio device changes
//! it (mmdevapi marks each endpoint absent, then present again). winepulse's timer thread,
//! which feeds PulseAudio, signals the event at every tick and so waits too; PulseAudio
//! holds at most about 25 ms of the stream and runs dry. Every 60 s event-driven loopback
//! under Wine had that one gap where the save fell. Events stay the default all the same:
//! on Windows they are what the audio engine is built for, and polling costs a quarter
//! period of wake-ups.
//!
//! ## Output safety
//! `WasapiConfig::output_safety` queues more output than the plan's minimum, for render
//! timing worse than Windows' engine (setting `wasapi.output_safety`; `auto` is one engine
//! period under Wine, nothing on Windows). Winepulse decrements the render padding one
//! period per tick of a timer thread that starts a period behind PulseAudio, so at the
//! plan's minimum PulseAudio holds almost nothing when the padding is at its low; the first
//! late tick runs it dry and winepulse pads the stream with silence (latency + 20 ms, heard
//! as a dropout). The safety is output buffering like any other: it is in the latency.
//!
//! ## System time and device stalls
//! The time reported with each period is estimated by [`clock`] from the wake-ups. When the
//! frames the device should have delivered never come (the audio system below WASAPI dropped
//! them unflagged, or the whole machine stopped), every later period is late against that
//! timeline; after 250 ms of that the clock moves up at once and the stream counts a *device
//! stall* with the time lost and the longest the driver thread went without looking at the
//! device meanwhile, which says whose the stall was. Event-driven waits time out after 20 ms
//! for that reason (the thread then just looks again).
//!
//! ## What is not there yet
//! * **Switching to polling by itself** on Windows: a device whose events never come stops
//!   the stream with `StreamError::NoWakeUp`, whose message says to set
//!   `wasapi.wake_up = "polling"`.
//! * **Render underruns** are not detected in shared mode (WASAPI gives no flag); the
//!   prefill is computed to make them impossible under the model in [`plan`].
//!
//! ## Unsafe
//! All of it is in `com` (COM and Win32 calls), whose header states the invariant; every
//! other module denies it.

#![deny(unsafe_code)]
#![warn(missing_docs)]

pub mod aggregate;
pub mod capture_delay;
pub mod channels;
pub mod clock;
pub mod drift;
pub mod endpoint;
pub mod error;
pub mod format;
pub mod notify;
pub mod packet;
pub mod plan;
pub mod ratio_loop;
pub mod ring;
pub mod sizes;
pub mod stream;

#[cfg(windows)]
mod aggregate_device;
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
pub use notify::{ChangeHandler, DeviceChange, EndpointEvent};
pub use plan::RingPlan;
pub use ring::FrameRing;
pub use sizes::{Clamp, Offer, SizeLimits, SizeMode};

#[cfg(windows)]
pub use aggregate_device::{AggregateConfig, AggregateDevice, ClockChoice, EndpointSpec};
#[cfg(windows)]
pub use device::{
    EndpointChoice, Mode, NoteHandler, OutputSafety, WakeUp, WasapiConfig, WasapiDevice,
};
#[cfg(windows)]
pub use enumerate::endpoints;
