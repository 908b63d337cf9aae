//! The only module that calls COM and Win32: the MMDevice API (enumeration, default devices,
//! friendly names), `IAudioClient` and its render/capture services, and the wait events,
//! behind safe wrappers.
//!
//! # Safety invariant
//!
//! Every `unsafe` block here is a call through a windows-rs COM interface that this module
//! obtained (from `CoCreateInstance`, `Activate`, `GetService`, `cast`), which keeps its
//! object alive for the duration of the call, or a Win32 call given only handles this module
//! created and closes exactly once ([`Event`]). Memory that COM hands back — `GetId`'s string,
//! `GetMixFormat`'s WAVEFORMATEX, a property's string — is copied and then freed exactly once
//! with `CoTaskMemFree` / `PropVariantClear`. A render buffer from `GetBuffer(n)` is written
//! only within its `n · frame_bytes` bytes and only between that `GetBuffer` and the matching
//! `ReleaseBuffer`; a capture packet is read the same way. The WAVEFORMATEX passed to
//! `Initialize` is the device's own mix format, copied byte for byte (18 + `cbSize` bytes,
//! alignment 1 as the packed struct requires).
//!
//! COM is initialised per thread by [`Apartment`] and uninitialised on that same thread.
//! Interface wrappers are `Send` so that the stream object that holds them can move between
//! threads; the stream creates, uses and releases them on the driver thread (in the
//! multithreaded apartment). The one exception is a stream dropped without being stopped,
//! which releases them on the dropping thread: WASAPI's objects (MMDevice, audio client and
//! its services) are free-threaded, which every Rust WASAPI binding relies on as well.

#![allow(unsafe_code)]

use std::marker::PhantomData;
use std::thread::ThreadId;

use std::sync::Arc;

use windows::core::{implement, Interface, HSTRING, PCWSTR, PWSTR};
use windows::Win32::Devices::FunctionDiscovery::PKEY_Device_FriendlyName;
use windows::Win32::Foundation::{
    CloseHandle, GetLastError, HANDLE, PROPERTYKEY, RPC_E_CHANGED_MODE, WAIT_FAILED, WAIT_OBJECT_0,
    WAIT_TIMEOUT,
};
use windows::Win32::Media::Audio::{
    eCapture, eConsole, eRender, AudioSessionDisconnectReason, AudioSessionState, EDataFlow, ERole,
    IAudioCaptureClient, IAudioClient, IAudioClient3, IAudioClock, IAudioRenderClient,
    IAudioSessionControl, IAudioSessionEvents, IAudioSessionEvents_Impl, IMMDevice,
    IMMDeviceEnumerator, IMMEndpoint, IMMNotificationClient, IMMNotificationClient_Impl,
    MMDeviceEnumerator, PKEY_AudioEngine_DeviceFormat, AUDCLNT_BUFFERFLAGS_SILENT,
    AUDCLNT_SHAREMODE_EXCLUSIVE, AUDCLNT_SHAREMODE_SHARED, AUDCLNT_STREAMFLAGS_EVENTCALLBACK,
    DEVICE_STATE, DEVICE_STATEMASK_ALL, WAVEFORMATEX,
};
use windows::Win32::System::Com::StructuredStorage::PropVariantClear;
use windows::Win32::System::Com::{
    CoCreateInstance, CoInitializeEx, CoTaskMemFree, CoUninitialize, CLSCTX_ALL,
    COINIT_MULTITHREADED, STGM_READ,
};
use windows::Win32::System::Performance::{QueryPerformanceCounter, QueryPerformanceFrequency};
use windows::Win32::System::Threading::{CreateEventW, Sleep, WaitForMultipleObjects};
use windows::Win32::System::Variant::VT_LPWSTR;

use crate::endpoint::{Direction, EndpointState};
use crate::error::{Hresult, WasapiError};
use crate::format::MixFormat;
use crate::notify::{EndpointEvent, SessionLoss};

/// `HRESULT_FROM_WIN32(ERROR_NOT_FOUND)`: no such device / no default device.
const E_NOTFOUND: u32 = 0x8007_0490;

fn code(e: &windows::core::Error) -> u32 {
    e.code().0 as u32
}

fn system(what: &'static str) -> impl Fn(windows::core::Error) -> WasapiError {
    move |e| WasapiError::System {
        what,
        hresult: Hresult(code(&e)),
    }
}

fn flow(direction: Direction) -> EDataFlow {
    match direction {
        Direction::Render => eRender,
        Direction::Capture => eCapture,
    }
}

/// COM initialised on the current thread (multithreaded apartment) for as long as this
/// lives. On a thread that already has a single-threaded apartment (a DAW's UI thread) that
/// apartment is used as it is and left alone.
#[derive(Debug)]
pub(crate) struct Apartment {
    initialized: bool,
    thread: ThreadId,
    // Not Sync: one per thread. (Send is fine: Drop checks the thread.)
    _not_sync: PhantomData<std::cell::Cell<()>>,
}

impl Apartment {
    /// Initialises COM on this thread.
    pub fn enter() -> Result<Self, WasapiError> {
        // SAFETY: no reserved pointer; balanced by CoUninitialize in Drop, on this thread,
        // only when it succeeded (S_OK or S_FALSE).
        let hr = unsafe { CoInitializeEx(None, COINIT_MULTITHREADED) };
        let initialized = if hr.is_ok() {
            true
        } else if hr == RPC_E_CHANGED_MODE {
            false
        } else {
            return Err(WasapiError::System {
                what: "initialising COM",
                hresult: Hresult(hr.0 as u32),
            });
        };
        Ok(Self {
            initialized,
            thread: std::thread::current().id(),
            _not_sync: PhantomData,
        })
    }
}

impl Drop for Apartment {
    fn drop(&mut self) {
        // On another thread (a stream dropped without stop) the count is left to the thread
        // that took it, which is ending anyway.
        if self.initialized && std::thread::current().id() == self.thread {
            // SAFETY: balances the successful CoInitializeEx of `enter` on this thread; every
            // interface created under it has been released (callers drop them first).
            unsafe { CoUninitialize() };
        }
    }
}

/// The MMDevice enumerator.
pub(crate) struct Enumerator(IMMDeviceEnumerator);

impl Enumerator {
    /// Creates it (COM must be initialised on this thread).
    pub fn new() -> Result<Self, WasapiError> {
        // SAFETY: creates an in-process COM object by its CLSID; the interface is checked by
        // windows-rs (QueryInterface for IMMDeviceEnumerator).
        let e = unsafe { CoCreateInstance(&MMDeviceEnumerator, None, CLSCTX_ALL) }
            .map_err(system("creating the MMDevice enumerator"))?;
        Ok(Self(e))
    }

    /// Every endpoint of `direction`, in any state.
    pub fn list(&self, direction: Direction) -> Result<Vec<MmDevice>, WasapiError> {
        let what = "listing the audio endpoints";
        // SAFETY: a call on our live enumerator with plain values.
        let collection = unsafe {
            self.0
                .EnumAudioEndpoints(flow(direction), DEVICE_STATE(DEVICE_STATEMASK_ALL))
        }
        .map_err(system(what))?;
        // SAFETY: a call on the live collection.
        let count = unsafe { collection.GetCount() }.map_err(system(what))?;
        let mut out = Vec::with_capacity(count as usize);
        for i in 0..count {
            // SAFETY: `i` < GetCount(); the collection is alive.
            let device = unsafe { collection.Item(i) }.map_err(system(what))?;
            out.push(MmDevice::new(device, direction)?);
        }
        Ok(out)
    }

    /// Windows' default endpoint of `direction` (console role), if there is one.
    pub fn default_device(&self, direction: Direction) -> Result<Option<MmDevice>, WasapiError> {
        // SAFETY: a call on our live enumerator with plain values.
        match unsafe { self.0.GetDefaultAudioEndpoint(flow(direction), eConsole) } {
            Ok(d) => Ok(Some(MmDevice::new(d, direction)?)),
            Err(e) if code(&e) == E_NOTFOUND => Ok(None),
            Err(e) => Err(system("asking Windows for the default device")(e)),
        }
    }

    /// The endpoint with this ID, if it exists and has this direction.
    pub fn by_id(&self, id: &str, direction: Direction) -> Result<Option<MmDevice>, WasapiError> {
        let wide = HSTRING::from(id);
        // SAFETY: `wide` is a NUL-terminated UTF-16 string that outlives the call.
        let device = match unsafe { self.0.GetDevice(&wide) } {
            Ok(d) => d,
            Err(e) if code(&e) == E_NOTFOUND || code(&e) == 0x8007_0057 => return Ok(None),
            Err(e) => return Err(system("looking up an endpoint by ID")(e)),
        };
        let endpoint: IMMEndpoint = device
            .cast()
            .map_err(system("asking an endpoint for its direction"))?;
        // SAFETY: a call on the live endpoint interface.
        let data_flow = unsafe { endpoint.GetDataFlow() }
            .map_err(system("asking an endpoint for its direction"))?;
        if data_flow != flow(direction) {
            return Ok(None);
        }
        Ok(Some(MmDevice::new(device, direction)?))
    }
}

/// Receives [`EndpointEvent`]s on a thread of Windows' choosing.
pub(crate) type EventSink = Arc<dyn Fn(EndpointEvent) + Send + Sync>;

impl Enumerator {
    /// Registers a listener for device changes; it reports until the returned
    /// [`Registration`] is dropped.
    pub fn watch(&self, sink: EventSink) -> Result<Registration, WasapiError> {
        let client: IMMNotificationClient = Listener { sink }.into();
        // SAFETY: a call on our live enumerator with a live listener, which the enumerator
        // keeps a reference to until it is unregistered in `Registration::drop`.
        unsafe { self.0.RegisterEndpointNotificationCallback(&client) }
            .map_err(system("registering for device-change notifications"))?;
        Ok(Registration {
            enumerator: self.0.clone(),
            client,
        })
    }
}

/// A registered device-change listener; unregistered on drop.
pub(crate) struct Registration {
    enumerator: IMMDeviceEnumerator,
    client: IMMNotificationClient,
}

// SAFETY: see the module invariant — the MMDevice enumerator is free-threaded, and the
// listener is our own object whose only state is a `Send + Sync` closure.
unsafe impl Send for Registration {}

impl Drop for Registration {
    fn drop(&mut self) {
        // SAFETY: unregisters the listener registered in `watch`, once; after this returns
        // Windows makes no further calls into it.
        let _ = unsafe {
            self.enumerator
                .UnregisterEndpointNotificationCallback(&self.client)
        };
    }
}

/// The `IMMNotificationClient` behind [`Enumerator::watch`]. Windows calls it on its own
/// threads; it only turns each call into an [`EndpointEvent`] for the sink (which must not
/// call back into the MMDevice API; it does not wait for anything either).
#[implement(IMMNotificationClient)]
struct Listener {
    sink: EventSink,
}

fn wide(s: &PCWSTR) -> String {
    if s.is_null() {
        return String::new();
    }
    // SAFETY: Windows passes a NUL-terminated UTF-16 string valid for the call.
    unsafe { s.to_string() }.unwrap_or_default()
}

impl IMMNotificationClient_Impl for Listener_Impl {
    fn OnDeviceStateChanged(&self, id: &PCWSTR, state: DEVICE_STATE) -> windows::core::Result<()> {
        (self.sink)(EndpointEvent::StateChanged {
            id: wide(id),
            state: EndpointState::from_bits(state.0).unwrap_or(EndpointState::NotPresent),
        });
        Ok(())
    }

    fn OnDeviceAdded(&self, _id: &PCWSTR) -> windows::core::Result<()> {
        Ok(())
    }

    fn OnDeviceRemoved(&self, id: &PCWSTR) -> windows::core::Result<()> {
        (self.sink)(EndpointEvent::Removed { id: wide(id) });
        Ok(())
    }

    fn OnDefaultDeviceChanged(
        &self,
        data_flow: EDataFlow,
        role: ERole,
        id: &PCWSTR,
    ) -> windows::core::Result<()> {
        let direction = if data_flow == eRender {
            Direction::Render
        } else if data_flow == eCapture {
            Direction::Capture
        } else {
            return Ok(());
        };
        // The console role is the one Tenuto follows (as `default_device` does).
        if role == eConsole {
            let id = wide(id);
            (self.sink)(EndpointEvent::DefaultChanged {
                direction,
                id: (!id.is_empty()).then_some(id),
            });
        }
        Ok(())
    }

    fn OnPropertyValueChanged(&self, id: &PCWSTR, key: &PROPERTYKEY) -> windows::core::Result<()> {
        if key.fmtid == PKEY_AudioEngine_DeviceFormat.fmtid
            && key.pid == PKEY_AudioEngine_DeviceFormat.pid
        {
            (self.sink)(EndpointEvent::FormatChanged { id: wide(id) });
        }
        Ok(())
    }
}

/// Receives the reason of a session disconnection, on a thread of Windows' choosing.
pub(crate) type SessionSink = Arc<dyn Fn(SessionLoss) + Send + Sync>;

/// A registered session listener; unregistered on drop.
pub(crate) struct SessionWatch {
    control: IAudioSessionControl,
    events: IAudioSessionEvents,
}

// SAFETY: see the module invariant — WASAPI's session control is free-threaded, and the
// listener is our own object whose only state is a `Send + Sync` closure.
unsafe impl Send for SessionWatch {}

impl Drop for SessionWatch {
    fn drop(&mut self) {
        // SAFETY: unregisters the listener registered in `watch_session`, once; after this
        // returns Windows makes no further calls into it.
        let _ = unsafe {
            self.control
                .UnregisterAudioSessionNotification(&self.events)
        };
    }
}

/// The `IAudioSessionEvents` behind [`AudioClient::watch_session`]: only the disconnection
/// matters (volume, name and state changes are the user's business).
#[implement(IAudioSessionEvents)]
struct SessionListener {
    sink: SessionSink,
}

impl IAudioSessionEvents_Impl for SessionListener_Impl {
    fn OnDisplayNameChanged(
        &self,
        _name: &PCWSTR,
        _context: *const windows::core::GUID,
    ) -> windows::core::Result<()> {
        Ok(())
    }

    fn OnIconPathChanged(
        &self,
        _path: &PCWSTR,
        _context: *const windows::core::GUID,
    ) -> windows::core::Result<()> {
        Ok(())
    }

    fn OnSimpleVolumeChanged(
        &self,
        _volume: f32,
        _mute: windows::core::BOOL,
        _context: *const windows::core::GUID,
    ) -> windows::core::Result<()> {
        Ok(())
    }

    fn OnChannelVolumeChanged(
        &self,
        _count: u32,
        _volumes: *const f32,
        _changed: u32,
        _context: *const windows::core::GUID,
    ) -> windows::core::Result<()> {
        Ok(())
    }

    fn OnGroupingParamChanged(
        &self,
        _param: *const windows::core::GUID,
        _context: *const windows::core::GUID,
    ) -> windows::core::Result<()> {
        Ok(())
    }

    fn OnStateChanged(&self, _state: AudioSessionState) -> windows::core::Result<()> {
        Ok(())
    }

    fn OnSessionDisconnected(
        &self,
        reason: AudioSessionDisconnectReason,
    ) -> windows::core::Result<()> {
        (self.sink)(SessionLoss::from_code(reason.0));
        Ok(())
    }
}

/// One endpoint, with its ID and friendly name read once.
pub(crate) struct MmDevice {
    device: IMMDevice,
    /// Endpoint ID.
    pub id: String,
    /// Friendly name ("(unnamed)" when it has none).
    pub name: String,
    /// Render or capture.
    pub direction: Direction,
}

impl MmDevice {
    fn new(device: IMMDevice, direction: Direction) -> Result<Self, WasapiError> {
        // SAFETY: a call on the live device; the returned string is ours to free.
        let raw = unsafe { device.GetId() }.map_err(system("reading an endpoint's ID"))?;
        let id = take_co_string(raw);
        let name = friendly_name(&device).unwrap_or_else(|| "(unnamed)".to_owned());
        Ok(Self {
            device,
            id,
            name,
            direction,
        })
    }

    fn fail(&self, what: &'static str) -> impl Fn(windows::core::Error) -> WasapiError + '_ {
        move |e| WasapiError::Endpoint {
            what,
            name: self.name.clone(),
            id: self.id.clone(),
            hresult: Hresult(code(&e)),
        }
    }

    /// `DEVICE_STATE_*`.
    pub fn state(&self) -> Result<EndpointState, WasapiError> {
        // SAFETY: a call on the live device.
        let state = unsafe { self.device.GetState() }.map_err(self.fail("reading the state"))?;
        Ok(EndpointState::from_bits(state.0).unwrap_or(EndpointState::NotPresent))
    }

    /// Activates an audio client and reads its mix format.
    pub fn activate(&self) -> Result<AudioClient, WasapiError> {
        // SAFETY: a call on the live device; windows-rs passes IAudioClient's IID and checks
        // the returned interface.
        let client: IAudioClient = unsafe { self.device.Activate(CLSCTX_ALL, None) }
            .map_err(self.fail("opening an audio client"))?;
        // SAFETY: a call on the live client; the returned WAVEFORMATEX is ours to free.
        let raw = unsafe { client.GetMixFormat() }.map_err(self.fail("reading the mix format"))?;
        let format = copy_waveformat(raw);
        let mix = MixFormat::parse(&format).ok_or_else(|| WasapiError::UnsupportedFormat {
            name: self.name.clone(),
            id: self.id.clone(),
            format: describe_raw_format(&format),
        })?;
        Ok(AudioClient {
            client,
            format,
            mix,
            stream: mix,
            name: self.name.clone(),
            id: self.id.clone(),
        })
    }
}

/// Copies and frees a COM-allocated wide string.
fn take_co_string(raw: PWSTR) -> String {
    if raw.is_null() {
        return String::new();
    }
    // SAFETY: `raw` is a NUL-terminated UTF-16 string from COM, read before it is freed.
    let s = unsafe { raw.to_string() }.unwrap_or_default();
    // SAFETY: allocated by COM with CoTaskMemAlloc, freed once here.
    unsafe { CoTaskMemFree(Some(raw.0 as *const _)) };
    s
}

/// The endpoint's PKEY_Device_FriendlyName, if it has one.
fn friendly_name(device: &IMMDevice) -> Option<String> {
    // SAFETY: a call on the live device.
    let store = unsafe { device.OpenPropertyStore(STGM_READ) }.ok()?;
    // SAFETY: a call on the live store with a static key; the PROPVARIANT is ours to clear.
    let mut value = unsafe { store.GetValue(&PKEY_Device_FriendlyName) }.ok()?;
    // SAFETY: reading the union's `vt` tag, valid for every PROPVARIANT; the string member
    // only when the tag says it is a wide string.
    let name = unsafe {
        let inner = &value.Anonymous.Anonymous;
        if inner.vt == VT_LPWSTR && !inner.Anonymous.pwszVal.is_null() {
            inner.Anonymous.pwszVal.to_string().ok()
        } else {
            None
        }
    };
    // SAFETY: clears the PROPVARIANT GetValue filled, once.
    let _ = unsafe { PropVariantClear(&mut value) };
    name
}

/// Copies a COM-allocated WAVEFORMATEX (18 bytes + cbSize) and frees it.
fn copy_waveformat(raw: *mut WAVEFORMATEX) -> Vec<u8> {
    if raw.is_null() {
        return Vec::new();
    }
    // SAFETY: `raw` points to a WAVEFORMATEX (packed, alignment 1) followed by cbSize extra
    // bytes, as GetMixFormat documents; read before it is freed.
    let bytes = unsafe {
        let extra = usize::from(std::ptr::addr_of!((*raw).cbSize).read_unaligned());
        std::slice::from_raw_parts(raw as *const u8, 18 + extra).to_vec()
    };
    // SAFETY: allocated by COM with CoTaskMemAlloc, freed once here.
    unsafe { CoTaskMemFree(Some(raw as *const _)) };
    bytes
}

fn describe_raw_format(bytes: &[u8]) -> String {
    let u16_at = |at: usize| {
        bytes
            .get(at..at + 2)
            .map_or(0, |b| u16::from_le_bytes([b[0], b[1]]))
    };
    format!(
        "format tag 0x{:04x}, {} channels, {} bits",
        u16_at(0),
        u16_at(2),
        u16_at(14)
    )
}

/// An `IAudioClient` with the device's mix format.
pub(crate) struct AudioClient {
    client: IAudioClient,
    format: Vec<u8>,
    mix: MixFormat,
    /// The format the stream was initialised with (the mix format until an exclusive
    /// `Initialize` chooses another).
    stream: MixFormat,
    name: String,
    id: String,
}

/// `E_NOINTERFACE`: the object has no such interface (IAudioClient3 before Windows 10).
const E_NOINTERFACE: u32 = 0x8000_4002;
/// `E_NOTIMPL`: Wine's IAudioClient3 methods.
const E_NOTIMPL: u32 = 0x8000_4001;

/// The shared-mode engine periods IAudioClient3 offers for the mix format, frames.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct EnginePeriods {
    /// The engine's default period.
    pub default: u32,
    /// Periods between `min` and `max` are multiples of this.
    pub fundamental: u32,
    /// Smallest period.
    pub min: u32,
    /// Largest period.
    pub max: u32,
}

// SAFETY: see the module invariant — WASAPI's audio client is free-threaded, and the stream
// uses it from one thread at a time.
unsafe impl Send for AudioClient {}

impl AudioClient {
    fn fail(&self, what: &'static str) -> impl Fn(windows::core::Error) -> WasapiError + '_ {
        move |e| WasapiError::Endpoint {
            what,
            name: self.name.clone(),
            id: self.id.clone(),
            hresult: Hresult(code(&e)),
        }
    }

    /// The shared-mode mix format.
    pub fn mix_format(&self) -> MixFormat {
        self.mix
    }

    /// `GetDevicePeriod`: (default, minimum) in 100-ns units.
    pub fn device_period(&self) -> Result<(i64, i64), WasapiError> {
        let (mut default, mut minimum) = (0i64, 0i64);
        // SAFETY: a call on the live client with pointers to two live locals.
        unsafe {
            self.client
                .GetDevicePeriod(Some(&mut default), Some(&mut minimum))
        }
        .map_err(self.fail("reading the device period"))?;
        Ok((default, minimum))
    }

    /// `Initialize` in shared mode with the mix format, event-driven, at the engine's default
    /// period and the smallest buffer Windows gives.
    pub fn initialize_shared_event(&self) -> Result<(), WasapiError> {
        // SAFETY: `format` is the device's own mix format (a complete WAVEFORMATEX[EXTENSIBLE],
        // alignment 1), alive for the call; no session GUID.
        unsafe {
            self.client.Initialize(
                AUDCLNT_SHAREMODE_SHARED,
                AUDCLNT_STREAMFLAGS_EVENTCALLBACK,
                0,
                0,
                self.format.as_ptr() as *const WAVEFORMATEX,
                None,
            )
        }
        .map_err(self.fail("initialising the shared-mode stream"))
    }

    /// `Initialize` in shared mode without an event, with a buffer of `buffer_hns`: the
    /// driver thread polls the padding on a timer (`wasapi.wake_up = "polling"`).
    pub fn initialize_shared_polling(&self, buffer_hns: i64) -> Result<(), WasapiError> {
        // SAFETY: `format` is the device's own mix format (a complete WAVEFORMATEX[EXTENSIBLE],
        // alignment 1), alive for the call; no session GUID.
        unsafe {
            self.client.Initialize(
                AUDCLNT_SHAREMODE_SHARED,
                0,
                buffer_hns,
                0,
                self.format.as_ptr() as *const WAVEFORMATEX,
                None,
            )
        }
        .map_err(self.fail("initialising the shared-mode stream (polling)"))
    }

    /// IAudioClient3's engine periods for the mix format; `None` where the OS does not offer
    /// them (no IAudioClient3, or E_NOTIMPL as under Wine).
    pub fn engine_periods(&self) -> Result<Option<EnginePeriods>, WasapiError> {
        let client3: IAudioClient3 = match self.client.cast() {
            Ok(c) => c,
            Err(e) if code(&e) == E_NOINTERFACE => return Ok(None),
            Err(e) => return Err(self.fail("asking for IAudioClient3")(e)),
        };
        let (mut default, mut fundamental, mut min, mut max) = (0u32, 0u32, 0u32, 0u32);
        // SAFETY: `format` is the device's own mix format, alive for the call; the four
        // out-pointers are live locals.
        let r = unsafe {
            client3.GetSharedModeEnginePeriod(
                self.format.as_ptr() as *const WAVEFORMATEX,
                &mut default,
                &mut fundamental,
                &mut min,
                &mut max,
            )
        };
        match r {
            Ok(()) if min > 0 => Ok(Some(EnginePeriods {
                default,
                fundamental: fundamental.max(1),
                min,
                max: max.max(min),
            })),
            Ok(()) => Ok(None),
            Err(e) if code(&e) == E_NOTIMPL || code(&e) == E_NOINTERFACE => Ok(None),
            Err(e) => Err(self.fail("reading the shared-mode engine periods")(e)),
        }
    }

    /// `IAudioClient3::InitializeSharedAudioStream`: shared mode, event-driven, with an
    /// engine period of `period_frames` (one of [`Self::engine_periods`]). `Ok(false)` where
    /// the OS does not offer it (the client is then still uninitialised).
    pub fn initialize_low_latency(&self, period_frames: u32) -> Result<bool, WasapiError> {
        let client3: IAudioClient3 = match self.client.cast() {
            Ok(c) => c,
            Err(e) if code(&e) == E_NOINTERFACE => return Ok(false),
            Err(e) => return Err(self.fail("asking for IAudioClient3")(e)),
        };
        // SAFETY: `format` is the device's own mix format, alive for the call; no session.
        let r = unsafe {
            client3.InitializeSharedAudioStream(
                AUDCLNT_STREAMFLAGS_EVENTCALLBACK,
                period_frames,
                self.format.as_ptr() as *const WAVEFORMATEX,
                None,
            )
        };
        match r {
            Ok(()) => Ok(true),
            Err(e) if code(&e) == E_NOTIMPL => Ok(false),
            Err(e) => Err(self.fail("initialising the low-latency shared stream")(e)),
        }
    }

    /// Whether the device takes `format` (a complete WAVEFORMATEXTENSIBLE) in exclusive mode.
    pub fn supports_exclusive(&self, format: &[u8]) -> bool {
        if format.len() < 18 {
            return false;
        }
        // SAFETY: `format` is a complete WAVEFORMATEX[EXTENSIBLE] (checked length, built by
        // `format::extensible_bytes`), alive for the call; exclusive mode takes no closest
        // match pointer.
        let hr = unsafe {
            self.client.IsFormatSupported(
                AUDCLNT_SHAREMODE_EXCLUSIVE,
                format.as_ptr() as *const WAVEFORMATEX,
                None,
            )
        };
        hr.0 == 0
    }

    /// `Initialize` in exclusive mode, event-driven, with `format` (a complete
    /// WAVEFORMATEXTENSIBLE) and a buffer of one period of `period_hns`. The error keeps the
    /// HRESULT, so that `AUDCLNT_E_BUFFER_SIZE_NOT_ALIGNED` can be told apart (the caller
    /// then reads [`Self::buffer_frames`], activates a new client and tries the aligned
    /// period).
    ///
    /// With `polling`, no event: the buffer is three periods and the driver thread polls the
    /// padding on a timer (for devices whose exclusive-mode events do not work).
    pub fn initialize_exclusive(
        &mut self,
        format: &[u8],
        period_hns: i64,
        polling: bool,
    ) -> Result<(), WasapiError> {
        let parsed = MixFormat::parse(format).ok_or_else(|| WasapiError::UnsupportedFormat {
            name: self.name.clone(),
            id: self.id.clone(),
            format: describe_raw_format(format),
        })?;
        // SAFETY: `format` parsed as a complete WAVEFORMATEX[EXTENSIBLE] above and is alive
        // for the call; no session GUID.
        unsafe {
            self.client.Initialize(
                AUDCLNT_SHAREMODE_EXCLUSIVE,
                if polling {
                    0
                } else {
                    AUDCLNT_STREAMFLAGS_EVENTCALLBACK
                },
                if polling {
                    period_hns.saturating_mul(3)
                } else {
                    period_hns
                },
                period_hns,
                format.as_ptr() as *const WAVEFORMATEX,
                None,
            )
        }
        .map_err(self.fail("initialising the exclusive-mode stream"))?;
        self.stream = parsed;
        Ok(())
    }

    /// `GetBufferSize`, frames (after `Initialize`).
    pub fn buffer_frames(&self) -> Result<u32, WasapiError> {
        // SAFETY: a call on the live client.
        unsafe { self.client.GetBufferSize() }.map_err(self.fail("reading the buffer size"))
    }

    /// `GetStreamLatency`, 100-ns units (after `Initialize`).
    pub fn stream_latency_hns(&self) -> Result<i64, WasapiError> {
        // SAFETY: a call on the live client.
        unsafe { self.client.GetStreamLatency() }.map_err(self.fail("reading the stream latency"))
    }

    /// Tells the client which event to signal.
    pub fn set_event(&self, event: &Event) -> Result<(), WasapiError> {
        // SAFETY: `event` is a live event handle that outlives the client's use of it (the
        // stream stops the client before closing it).
        unsafe { self.client.SetEventHandle(event.0) }
            .map_err(self.fail("setting the wake-up event"))
    }

    /// The render service.
    pub fn render_client(&self) -> Result<RenderClient, WasapiError> {
        // SAFETY: a call on the live, initialised client; windows-rs checks the interface.
        let client: IAudioRenderClient =
            unsafe { self.client.GetService() }.map_err(self.fail("opening the render service"))?;
        Ok(RenderClient {
            client,
            frame_bytes: self.stream.frame_bytes(),
        })
    }

    /// The capture service.
    pub fn capture_client(&self) -> Result<CaptureClient, WasapiError> {
        // SAFETY: a call on the live, initialised client; windows-rs checks the interface.
        let client: IAudioCaptureClient = unsafe { self.client.GetService() }
            .map_err(self.fail("opening the capture service"))?;
        Ok(CaptureClient {
            client,
            frame_bytes: self.stream.frame_bytes(),
        })
    }

    /// The stream's clock (`IAudioClock`) with positions in frames at `rate`; `None` when
    /// the audio stack does not offer it.
    pub fn clock(&self, rate: u32) -> Option<AudioClock> {
        // SAFETY: a call on the live, initialised client; windows-rs checks the interface.
        let clock: IAudioClock = unsafe { self.client.GetService() }.ok()?;
        // SAFETY: a call on the live clock service.
        let frequency = unsafe { clock.GetFrequency() }.ok()?;
        (frequency > 0 && rate > 0).then(|| AudioClock {
            clock,
            units_per_frame: frequency as f64 / f64::from(rate),
        })
    }

    /// Registers for the events of the client's audio session; `sink` hears why Windows
    /// disconnected it (another application took the device in exclusive mode, the device
    /// went away, its format changed, …) until the returned [`SessionWatch`] is dropped.
    pub fn watch_session(&self, sink: SessionSink) -> Result<SessionWatch, WasapiError> {
        // SAFETY: a call on the live, initialised client; windows-rs checks the interface.
        let control: IAudioSessionControl = unsafe { self.client.GetService() }
            .map_err(self.fail("opening the session control"))?;
        let events: IAudioSessionEvents = SessionListener { sink }.into();
        // SAFETY: a call on the live session control with a live listener, which the
        // control keeps a reference to until `SessionWatch::drop` unregisters it.
        unsafe { control.RegisterAudioSessionNotification(&events) }
            .map_err(self.fail("registering for session events"))?;
        Ok(SessionWatch { control, events })
    }

    /// `Start`. Returns the HRESULT on failure.
    pub fn start(&self) -> Result<(), u32> {
        // SAFETY: a call on the live client.
        unsafe { self.client.Start() }.map_err(|e| code(&e))
    }

    /// `Stop`; failures are ignored (the stream is being torn down).
    pub fn stop(&self) {
        // SAFETY: a call on the live client.
        let _ = unsafe { self.client.Stop() };
    }

    /// `GetCurrentPadding`, frames. Real-time safe.
    pub fn padding(&self) -> Result<u32, u32> {
        // SAFETY: a call on the live client.
        unsafe { self.client.GetCurrentPadding() }.map_err(|e| code(&e))
    }
}

/// `IAudioClock`: where the device stands in the stream.
pub(crate) struct AudioClock {
    clock: IAudioClock,
    /// `GetFrequency` units per frame (bytes per frame in shared mode on Windows).
    units_per_frame: f64,
}

// SAFETY: see the module invariant (free-threaded; used from one thread at a time).
unsafe impl Send for AudioClock {}

impl AudioClock {
    /// The frames the device has played (render) or recorded (capture) since the stream
    /// started. Real-time safe. Returns the HRESULT on failure.
    pub fn position_frames(&self) -> Result<f64, u32> {
        let mut position = 0u64;
        // SAFETY: a call on the live clock service with a valid out-pointer (the QPC one is
        // optional and left out).
        unsafe { self.clock.GetPosition(&mut position, None) }.map_err(|e| code(&e))?;
        Ok(position as f64 / self.units_per_frame)
    }
}

/// `IAudioRenderClient`.
pub(crate) struct RenderClient {
    client: IAudioRenderClient,
    frame_bytes: usize,
}

// SAFETY: see the module invariant (free-threaded; used from one thread at a time).
unsafe impl Send for RenderClient {}

impl RenderClient {
    /// Gets the next `frames` frames of the render buffer, lets `fill` write all of them,
    /// and releases them. Real-time safe. Returns the HRESULT on failure.
    pub fn write(&self, frames: u32, fill: impl FnOnce(&mut [u8])) -> Result<(), u32> {
        if frames == 0 {
            return Ok(());
        }
        // SAFETY: a call on the live client; the caller asks for at most the free space.
        let ptr = unsafe { self.client.GetBuffer(frames) }.map_err(|e| code(&e))?;
        if ptr.is_null() {
            return Err(0x8000_4003);
        }
        // SAFETY: GetBuffer returned a writable buffer of `frames` frames of `frame_bytes`
        // bytes, ours until ReleaseBuffer below; the slice does not outlive this function.
        let buffer =
            unsafe { std::slice::from_raw_parts_mut(ptr, frames as usize * self.frame_bytes) };
        fill(buffer);
        // SAFETY: releases exactly the frames obtained above, all written.
        unsafe { self.client.ReleaseBuffer(frames, 0) }.map_err(|e| code(&e))
    }

    /// Queues `frames` frames of silence. Returns the HRESULT on failure.
    pub fn write_silence(&self, frames: u32) -> Result<(), u32> {
        if frames == 0 {
            return Ok(());
        }
        // SAFETY: a call on the live client; the caller asks for at most the free space.
        unsafe { self.client.GetBuffer(frames) }.map_err(|e| code(&e))?;
        // SAFETY: releases the frames obtained above, flagged silent (WASAPI fills them).
        unsafe {
            self.client
                .ReleaseBuffer(frames, AUDCLNT_BUFFERFLAGS_SILENT.0 as u32)
        }
        .map_err(|e| code(&e))
    }
}

pub(crate) use crate::packet::Packet;

/// The performance counter now, in 100-ns units (the unit of WASAPI's time stamps).
fn qpc_now_hns() -> Option<u64> {
    let mut count = 0i64;
    let mut freq = 0i64;
    // SAFETY: both calls write one i64 through a pointer to a live local; they cannot fail
    // on Windows XP and later.
    let ok = unsafe {
        QueryPerformanceCounter(&mut count).is_ok() && QueryPerformanceFrequency(&mut freq).is_ok()
    };
    if !ok || freq <= 0 || count < 0 {
        return None;
    }
    u64::try_from(i128::from(count) * 10_000_000 / i128::from(freq)).ok()
}

/// `IAudioCaptureClient`.
pub(crate) struct CaptureClient {
    client: IAudioCaptureClient,
    frame_bytes: usize,
}

// SAFETY: see the module invariant (free-threaded; used from one thread at a time).
unsafe impl Send for CaptureClient {}

impl CaptureClient {
    /// Frames in the next packet (0: none waiting). Real-time safe.
    pub fn next_packet_frames(&self) -> Result<u32, u32> {
        // SAFETY: a call on the live client.
        unsafe { self.client.GetNextPacketSize() }.map_err(|e| code(&e))
    }

    /// Reads the next packet into `take` and releases it; returns its frame count (0: none
    /// was waiting). Real-time safe. Returns the HRESULT on failure.
    pub fn read(&self, take: impl FnOnce(Packet<'_>)) -> Result<u32, u32> {
        let mut data: *mut u8 = std::ptr::null_mut();
        let mut frames = 0u32;
        let mut flags = 0u32;
        let mut device_position = 0u64;
        let mut qpc_position = 0u64;
        // SAFETY: a call on the live client with pointers to live locals.
        unsafe {
            self.client.GetBuffer(
                &mut data,
                &mut frames,
                &mut flags,
                Some(&mut device_position),
                Some(&mut qpc_position),
            )
        }
        .map_err(|e| code(&e))?;
        if frames == 0 {
            return Ok(0);
        }
        let first_frame_age_ns = match qpc_now_hns() {
            Some(now) if qpc_position > 0 && now >= qpc_position => {
                Some((now - qpc_position).saturating_mul(100))
            }
            _ => None,
        };
        let silent = flags & (AUDCLNT_BUFFERFLAGS_SILENT.0 as u32) != 0;
        let slice = if silent || data.is_null() {
            None
        } else {
            // SAFETY: GetBuffer returned `frames` readable frames of `frame_bytes` bytes,
            // ours until ReleaseBuffer below; the slice does not outlive this function.
            Some(unsafe { std::slice::from_raw_parts(data, frames as usize * self.frame_bytes) })
        };
        take(Packet {
            data: slice,
            frames,
            flags,
            first_frame_age_ns,
        });
        // SAFETY: releases exactly the packet obtained above.
        unsafe { self.client.ReleaseBuffer(frames) }.map_err(|e| code(&e))?;
        Ok(frames)
    }
}

/// An auto-reset event WASAPI signals once per period.
pub(crate) struct Event(HANDLE);

// SAFETY: a kernel handle is valid on every thread of the process.
unsafe impl Send for Event {}

impl Event {
    /// Creates an unnamed, auto-reset, unsignalled event.
    pub fn new() -> Result<Self, WasapiError> {
        // SAFETY: no security attributes, no name.
        let h = unsafe { CreateEventW(None, false, false, PCWSTR::null()) }
            .map_err(system("creating a wake-up event"))?;
        Ok(Self(h))
    }
}

impl Drop for Event {
    fn drop(&mut self) {
        // SAFETY: our handle, closed exactly once.
        let _ = unsafe { CloseHandle(self.0) };
    }
}

/// What [`wait_any`] saw.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Wake {
    /// The event at this position of the array was signalled.
    Signalled(usize),
    /// Nothing within the timeout.
    Timeout,
    /// The wait failed (Win32 error code).
    Failed(u32),
}

/// Sleeps `ms` milliseconds with kernel32's `Sleep` (the polling driver thread's timer).
///
/// Not `std::thread::sleep`: that creates a high-resolution waitable timer, sets it, waits
/// on it and closes it — four kernel calls and a new kernel object for every sleep. Under
/// Wine each of those is a request to the wineserver, which answers nobody for the 30–50 ms
/// it takes to save the registry; `Sleep` is a plain system call there. On Windows it wakes
/// within about a millisecond of `ms` at the 1 ms timer resolution a polling stream holds.
pub(crate) fn sleep_ms(ms: u32) {
    // SAFETY: takes no pointers; any value is valid.
    unsafe { Sleep(ms) }
}

/// Waits until one of `events` is signalled or `timeout_ms` passes; `Signalled(i)` names
/// the position in `events`. Real-time safe (no allocation). With no event at all it reports
/// a timeout at once.
pub(crate) fn wait_any(events: [Option<&Event>; 2], timeout_ms: u32) -> Wake {
    let mut handles = [HANDLE::default(); 2];
    let mut positions = [0usize; 2];
    let mut n = 0;
    for (position, event) in events.iter().enumerate() {
        if let (Some(e), Some(slot), Some(p)) = (event, handles.get_mut(n), positions.get_mut(n)) {
            *slot = e.0;
            *p = position;
            n += 1;
        }
    }
    let Some(live) = handles.get(..n).filter(|h| !h.is_empty()) else {
        return Wake::Timeout;
    };
    // SAFETY: `live` holds 1 or 2 live event handles owned by the caller's `Event`s.
    let r = unsafe { WaitForMultipleObjects(live, false, timeout_ms) };
    if r == WAIT_TIMEOUT {
        Wake::Timeout
    } else if r == WAIT_FAILED {
        // SAFETY: reads the calling thread's last error.
        Wake::Failed(unsafe { GetLastError() }.0)
    } else {
        match positions
            .get(..n)
            .and_then(|p| p.get(r.0.wrapping_sub(WAIT_OBJECT_0.0) as usize))
        {
            Some(&position) => Wake::Signalled(position),
            // WAIT_ABANDONED_* (mutexes only) cannot happen with events.
            None => Wake::Failed(r.0),
        }
    }
}
