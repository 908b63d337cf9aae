//! The stream's port on Windows: IAudioClient, its render and capture services and the
//! wake-up events, opened and released on the driver thread.
//!
//! `open` activates both endpoints by ID, checks that the mix format is still the one the
//! stream was planned for, initialises each client in its mode (shared event-driven,
//! IAudioClient3 low-latency, exclusive, or polling) and registers the session-event
//! listeners; `close` stops and releases everything on the same thread. The streaming
//! calls map HRESULTs to [`StreamError`]s and allocate nothing.

use std::sync::Arc;

use tenuto_engine::device::StreamError;
use tenuto_engine::time;

use super::{DevicePosition, Packet, PortBuffers, StreamPort, Wake};
use crate::com::{
    self, Apartment, AudioClient, AudioClock, CaptureClient, Enumerator, Event, RenderClient,
    SessionSink, SessionWatch,
};
use crate::endpoint::Direction;
use crate::error::WasapiError;
use crate::format::{ExclusiveSample, MixFormat};
use crate::notify::{ChangeHandler, DeviceChange};
use crate::plan::frames_to_hns;

/// How one side runs (the device's probe decides; the port opens the client so).
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum SideMode {
    /// Shared mode at the engine's default period.
    Shared,
    /// IAudioClient3 at this period (frames).
    LowLatency(u32),
    /// Exclusive mode with this sample type; device periods in 100 ns (default, minimum).
    Exclusive {
        sample: ExclusiveSample,
        default_hns: i64,
        minimum_hns: i64,
    },
}

/// What the port needs to know about one side.
pub(crate) struct SideSpec {
    pub direction: Direction,
    pub id: String,
    /// Friendly name (for messages).
    pub name: String,
    /// The engine period, frames (polling sizes the buffer from it).
    pub period_frames: u32,
    pub mix: MixFormat,
    pub mode: SideMode,
    /// The format the stream runs with (the mix format in shared modes).
    pub stream: MixFormat,
    /// Exclusive mode: the device period, 100 ns (aligned by `open`).
    pub period_hns: i64,
}

/// The clients of a running stream. Fields drop in order: session listeners, clients,
/// events, then COM.
struct Session {
    /// Session-event listeners (unregistered first).
    _watches: Vec<SessionWatch>,
    /// Each side's client, service and event (no event when polling).
    render: Option<(AudioClient, RenderClient, Option<Event>)>,
    capture: Option<(AudioClient, CaptureClient, Option<Event>)>,
    /// Each side's clock, where the audio stack offers it (positions for an aggregate).
    render_clock: Option<AudioClock>,
    capture_clock: Option<AudioClock>,
    _apartment: Apartment,
}

/// The COM port: the specs of both sides and, while open, their clients.
pub(crate) struct ComPort {
    pub render: Option<SideSpec>,
    pub capture: Option<SideSpec>,
    pub polling: bool,
    /// Told when Windows disconnects a session (another application took the device in
    /// exclusive mode, …).
    pub on_change: Option<ChangeHandler>,
    /// Whether to read the clients' positions (see `WasapiConfig::positions`).
    positions: bool,
    session: Option<Session>,
}

impl ComPort {
    pub fn new(
        render: Option<SideSpec>,
        capture: Option<SideSpec>,
        polling: bool,
        on_change: Option<ChangeHandler>,
    ) -> Self {
        Self {
            render,
            capture,
            polling,
            on_change,
            positions: true,
            session: None,
        }
    }

    /// Reads the clients' positions (`true`) or reports none (`false`).
    pub fn with_positions(mut self, positions: bool) -> Self {
        self.positions = positions;
        self
    }

    fn open_session(&mut self) -> Result<(Session, PortBuffers), WasapiError> {
        let apartment = Apartment::enter()?;
        let enumerator = Enumerator::new()?;
        let polling = self.polling;
        let open = |spec: &SideSpec| -> Result<(AudioClient, Option<Event>), WasapiError> {
            let device = enumerator.by_id(&spec.id, spec.direction)?.ok_or_else(|| {
                WasapiError::NotFound {
                    direction: spec.direction,
                    id: spec.id.clone(),
                    available: Vec::new(),
                }
            })?;
            let mut client = device.activate()?;
            if client.mix_format() != spec.mix {
                // The format changed since `open`: the host must reset to pick it up.
                return Err(WasapiError::Endpoint {
                    what: "checking the mix format (it changed; reset the driver)",
                    name: device.name.clone(),
                    id: device.id.clone(),
                    hresult: crate::error::Hresult(0x8889_0004),
                });
            }
            match spec.mode {
                // Polling: no event, and a buffer of three engine periods (IAudioClient3's
                // small periods are event-driven only, so low-latency polls like shared).
                SideMode::Shared | SideMode::LowLatency(_) if polling => client
                    .initialize_shared_polling(frames_to_hns(
                        spec.period_frames.saturating_mul(3),
                        spec.mix.rate,
                    ))?,
                SideMode::Shared => client.initialize_shared_event()?,
                SideMode::LowLatency(period) => {
                    if !client.initialize_low_latency(period)? {
                        client.initialize_shared_event()?;
                    }
                }
                SideMode::Exclusive { .. } => client.initialize_exclusive(
                    &spec.stream.extensible_bytes(),
                    spec.period_hns,
                    polling,
                )?,
            }
            if polling {
                return Ok((client, None));
            }
            let event = Event::new()?;
            client.set_event(&event)?;
            Ok((client, Some(event)))
        };
        let render = match &self.render {
            Some(spec) => {
                let (client, event) = open(spec)?;
                let service = client.render_client()?;
                Some((client, service, event))
            }
            None => None,
        };
        let capture = match &self.capture {
            Some(spec) => {
                let (client, event) = open(spec)?;
                let service = client.capture_client()?;
                Some((client, service, event))
            }
            None => None,
        };
        let mut buffers = PortBuffers::default();
        if let Some((client, _, _)) = &render {
            buffers.render_frames = client.buffer_frames()?;
        }
        if let Some((client, _, _)) = &capture {
            buffers.capture_frames = client.buffer_frames()?;
        }
        drop(enumerator);
        // Session events say why Windows disconnects a stream (exclusive-mode takeover above
        // all; the stream's next call fails too, so a listener that cannot be registered —
        // not every audio stack implements them — only costs the reason).
        let mut watches = Vec::new();
        if let Some(handler) = &self.on_change {
            let sides = [
                self.render.as_ref().zip(render.as_ref().map(|(c, _, _)| c)),
                self.capture
                    .as_ref()
                    .zip(capture.as_ref().map(|(c, _, _)| c)),
            ];
            for (spec, client) in sides.into_iter().flatten() {
                let handler = Arc::clone(handler);
                let (direction, name) = (spec.direction, spec.name.clone());
                let sink: SessionSink = Arc::new(move |reason| {
                    handler(&DeviceChange::SessionLost {
                        direction,
                        name: name.clone(),
                        reason,
                    });
                });
                if let Ok(watch) = client.watch_session(sink) {
                    watches.push(watch);
                }
            }
        }
        let positions = self.positions;
        let render_clock = render
            .as_ref()
            .filter(|_| positions)
            .zip(self.render.as_ref())
            .and_then(|((c, _, _), spec)| c.clock(spec.stream.rate));
        let capture_clock = capture
            .as_ref()
            .filter(|_| positions)
            .zip(self.capture.as_ref())
            .and_then(|((c, _, _), spec)| c.clock(spec.stream.rate));
        Ok((
            Session {
                _watches: watches,
                render,
                capture,
                render_clock,
                capture_clock,
                _apartment: apartment,
            },
            buffers,
        ))
    }

    fn render(&self) -> Result<&(AudioClient, RenderClient, Option<Event>), StreamError> {
        self.session
            .as_ref()
            .and_then(|s| s.render.as_ref())
            .ok_or(StreamError::Stalled(0))
    }

    fn capture(&self) -> Result<&(AudioClient, CaptureClient, Option<Event>), StreamError> {
        self.session
            .as_ref()
            .and_then(|s| s.capture.as_ref())
            .ok_or(StreamError::Stalled(0))
    }
}

/// Maps a WASAPI failure on the streaming path to the engine's error.
fn stream_error(hr: u32) -> StreamError {
    match hr {
        // DEVICE_INVALIDATED, SERVICE_NOT_RUNNING, RESOURCES_INVALIDATED, E_NOTFOUND.
        // DEVICE_IN_USE: another application took the device in exclusive mode.
        0x8889_0004 | 0x8889_000A | 0x8889_0010 | 0x8889_0026 | 0x8007_0490 => {
            StreamError::Disconnected
        }
        other => StreamError::Os(other),
    }
}

fn setup_error(e: &WasapiError) -> StreamError {
    match e {
        WasapiError::Endpoint { hresult, .. } | WasapiError::System { hresult, .. } => {
            stream_error(hresult.0)
        }
        _ => StreamError::Disconnected,
    }
}

impl StreamPort for ComPort {
    fn now_ns(&self) -> u64 {
        time::now_ns()
    }

    fn open(&mut self) -> Result<PortBuffers, StreamError> {
        self.close();
        let (session, buffers) = self.open_session().map_err(|e| setup_error(&e))?;
        self.session = Some(session);
        Ok(buffers)
    }

    fn start_capture(&mut self) -> Result<(), StreamError> {
        self.capture()?.0.start().map_err(stream_error)
    }

    fn start_render(&mut self) -> Result<(), StreamError> {
        self.render()?.0.start().map_err(stream_error)
    }

    fn close(&mut self) {
        if let Some(session) = self.session.take() {
            if let Some((client, _, _)) = &session.render {
                client.stop();
            }
            if let Some((client, _, _)) = &session.capture {
                client.stop();
            }
            drop(session);
        }
    }

    fn next_packet_frames(&mut self) -> Result<u32, StreamError> {
        self.capture()?.1.next_packet_frames().map_err(stream_error)
    }

    fn read_packet(&mut self, take: &mut dyn FnMut(Packet<'_>)) -> Result<u32, StreamError> {
        self.capture()?.1.read(take).map_err(stream_error)
    }

    fn padding(&mut self) -> Result<u32, StreamError> {
        self.render()?.0.padding().map_err(stream_error)
    }

    fn write(&mut self, frames: u32, fill: &mut dyn FnMut(&mut [u8])) -> Result<(), StreamError> {
        self.render()?.1.write(frames, fill).map_err(stream_error)
    }

    fn write_silence(&mut self, frames: u32) -> Result<(), StreamError> {
        self.render()?.1.write_silence(frames).map_err(stream_error)
    }

    fn wait_event(&mut self, timeout_ms: u32) -> Wake {
        let Some(session) = &self.session else {
            return Wake::Failed(0);
        };
        let events = [
            session.render.as_ref().and_then(|(_, _, e)| e.as_ref()),
            session.capture.as_ref().and_then(|(_, _, e)| e.as_ref()),
        ];
        match com::wait_any(events, timeout_ms) {
            com::Wake::Signalled(0) => Wake::Render,
            com::Wake::Signalled(_) => Wake::Capture,
            com::Wake::Timeout => Wake::Timeout,
            com::Wake::Failed(code) => Wake::Failed(code),
        }
    }

    fn sleep_ms(&mut self, ms: u32) {
        com::sleep_ms(ms);
    }

    fn render_position(&mut self) -> Result<Option<DevicePosition>, StreamError> {
        position(self.session.as_ref().and_then(|s| s.render_clock.as_ref()))
    }

    fn capture_position(&mut self) -> Result<Option<DevicePosition>, StreamError> {
        position(self.session.as_ref().and_then(|s| s.capture_clock.as_ref()))
    }
}

/// A side's position now, from its clock (`None`: no clock). Real-time safe.
fn position(clock: Option<&AudioClock>) -> Result<Option<DevicePosition>, StreamError> {
    let Some(clock) = clock else {
        return Ok(None);
    };
    let frames = clock.position_frames().map_err(stream_error)?;
    Ok(Some(DevicePosition {
        frames,
        at_ns: time::now_ns(),
    }))
}

impl Drop for ComPort {
    fn drop(&mut self) {
        self.close();
    }
}
