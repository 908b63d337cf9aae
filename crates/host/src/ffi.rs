//! Calling an `IASIO` object, and receiving its callbacks.
//!
//! # Safety invariant
//! This is the host library's only `unsafe` module.
//! * A [`Driver`] owns one COM reference to a live `IASIO` object (given to
//!   [`Driver::from_raw`], whose caller vouches for it) and releases it on
//!   drop; every vtable call passes that object and valid pointers to
//!   properly sized locals.
//! * ASIO callbacks carry no context pointer, so the callbacks reach the
//!   active [`Session`] through one process-wide slot. A session is
//!   installed before `createBuffers` and removed only after `stop` and
//!   `disposeBuffers` have returned (or after the driver is gone), and the
//!   slot is cleared before its memory is freed. A callback that arrives
//!   when no session streams is counted, never dereferenced.
//! * Buffer pointers handed out by the driver are only turned into slices
//!   inside the buffer switch, for the half the driver named, with the
//!   length the buffer size and sample type imply.

#![allow(unsafe_code)]

use std::ffi::{c_char, c_void};
use std::ptr::NonNull;
use std::sync::atomic::{AtomicBool, AtomicPtr, AtomicU64, Ordering};
use std::sync::Arc;

use asio_abi::{
    c_string_bytes, message, AsioBufferInfo, AsioCallbacks, AsioChannelInfo, AsioClockSource,
    AsioError, AsioInternalBufferInfo, AsioSamples, AsioTime, AsioTimeStamp, IAsio, IAsioVtbl,
    SampleType, ASE_OK, ASE_SUCCESS, ASIO_TRUE, TIME_INFO_SAMPLE_POSITION_VALID,
    TIME_INFO_SYSTEM_TIME_VALID,
};

use crate::{CallError, HostOptions, PeriodHandler, TimeInfo};

pub mod hostile;

/// A loaded ASIO driver, called through its vtable.
#[derive(Debug)]
pub struct Driver {
    raw: NonNull<IAsio>,
}

// SAFETY: ASIO drivers are free-threaded COM objects (ThreadingModel Both);
// the host serialises its own calls by owning `Driver` (`&mut self`).
unsafe impl Send for Driver {}

/// Answer of `getChannelInfo`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChannelInfo {
    /// Channel index.
    pub channel: i32,
    /// Direction.
    pub is_input: bool,
    /// Whether a buffer exists for it.
    pub is_active: bool,
    /// Channel group.
    pub group: i32,
    /// ASIO sample type.
    pub sample_type: i32,
    /// Channel name.
    pub name: String,
}

/// Answer of `getBufferSize`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct BufferSize {
    /// Smallest size.
    pub min: i32,
    /// Largest size.
    pub max: i32,
    /// Preferred size.
    pub preferred: i32,
    /// Granularity (−1 powers of two, 0 single size).
    pub granularity: i32,
}

/// One clock source.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClockSource {
    /// Index.
    pub index: i32,
    /// In use.
    pub is_current: bool,
    /// Name.
    pub name: String,
}

fn c_string(chars: &[c_char]) -> String {
    let bytes: Vec<u8> = c_string_bytes(chars).collect();
    String::from_utf8_lossy(&bytes).into_owned()
}

impl Driver {
    /// Takes ownership of one reference to `raw`.
    ///
    /// # Safety
    /// `raw` must be null or a live `IASIO` object whose reference the
    /// caller hands over.
    pub unsafe fn from_raw(raw: *mut IAsio) -> Option<Self> {
        NonNull::new(raw).map(|raw| Self { raw })
    }

    /// Takes over the reference held by Tenuto's in-process driver object.
    pub fn from_instance(instance: tenuto_driver::DriverInstance) -> Self {
        Self {
            raw: instance.into_raw(),
        }
    }

    /// The object pointer (for tests that call the vtable directly).
    pub fn as_raw(&self) -> *mut IAsio {
        self.raw.as_ptr()
    }

    fn vtbl(&self) -> &IAsioVtbl {
        // SAFETY: live object (module invariant); its first field is the
        // vtable pointer, valid for the object's lifetime.
        unsafe { &*(*self.raw.as_ptr()).vtbl }
    }

    fn check(&mut self, call: &'static str, code: AsioError) -> Result<(), CallError> {
        if code == ASE_OK || code == ASE_SUCCESS {
            Ok(())
        } else {
            Err(CallError {
                call,
                code,
                message: self.error_message(),
            })
        }
    }

    /// `init(null)`.
    pub fn init(&mut self) -> bool {
        // SAFETY: live object; a null system handle is allowed.
        unsafe { (self.vtbl().init)(self.as_raw(), std::ptr::null_mut()) == ASIO_TRUE }
    }

    /// `init`, with the driver's `getErrorMessage` as the error when it returns false.
    pub fn try_init(&mut self) -> Result<(), crate::CallError> {
        if self.init() {
            Ok(())
        } else {
            Err(crate::CallError {
                call: "init",
                code: 0,
                message: self.error_message(),
            })
        }
    }

    /// `getDriverName`.
    pub fn name(&mut self) -> String {
        let mut buf = [0 as c_char; 32];
        // SAFETY: live object, 32-byte buffer as the ABI requires.
        unsafe { (self.vtbl().get_driver_name)(self.as_raw(), buf.as_mut_ptr()) };
        c_string(&buf)
    }

    /// `getDriverVersion`.
    pub fn version(&mut self) -> i32 {
        // SAFETY: live object.
        unsafe { (self.vtbl().get_driver_version)(self.as_raw()) }
    }

    /// `getErrorMessage`.
    pub fn error_message(&mut self) -> String {
        let mut buf = [0 as c_char; 124];
        // SAFETY: live object, 124-byte buffer as the ABI requires.
        unsafe { (self.vtbl().get_error_message)(self.as_raw(), buf.as_mut_ptr()) };
        c_string(&buf)
    }

    /// `getChannels`: (inputs, outputs).
    pub fn channels(&mut self) -> Result<(i32, i32), CallError> {
        let (mut i, mut o) = (-1, -1);
        // SAFETY: live object, valid out-pointers.
        let code = unsafe { (self.vtbl().get_channels)(self.as_raw(), &mut i, &mut o) };
        self.check("getChannels", code).map(|()| (i, o))
    }

    /// `getLatencies`: (input, output) frames.
    pub fn latencies(&mut self) -> Result<(i32, i32), CallError> {
        let (mut i, mut o) = (-1, -1);
        // SAFETY: live object, valid out-pointers.
        let code = unsafe { (self.vtbl().get_latencies)(self.as_raw(), &mut i, &mut o) };
        self.check("getLatencies", code).map(|()| (i, o))
    }

    /// `getBufferSize`.
    pub fn buffer_size(&mut self) -> Result<BufferSize, CallError> {
        let mut b = BufferSize {
            min: -1,
            max: -1,
            preferred: -1,
            granularity: -2,
        };
        // SAFETY: live object, valid out-pointers.
        let code = unsafe {
            (self.vtbl().get_buffer_size)(
                self.as_raw(),
                &mut b.min,
                &mut b.max,
                &mut b.preferred,
                &mut b.granularity,
            )
        };
        self.check("getBufferSize", code).map(|()| b)
    }

    /// `canSampleRate`.
    pub fn can_sample_rate(&mut self, rate: f64) -> Result<(), CallError> {
        // SAFETY: live object.
        let code = unsafe { (self.vtbl().can_sample_rate)(self.as_raw(), rate) };
        self.check("canSampleRate", code)
    }

    /// `getSampleRate`.
    pub fn sample_rate(&mut self) -> Result<f64, CallError> {
        let mut r = f64::NAN;
        // SAFETY: live object, valid out-pointer.
        let code = unsafe { (self.vtbl().get_sample_rate)(self.as_raw(), &mut r) };
        self.check("getSampleRate", code).map(|()| r)
    }

    /// `setSampleRate`.
    pub fn set_sample_rate(&mut self, rate: f64) -> Result<(), CallError> {
        // SAFETY: live object.
        let code = unsafe { (self.vtbl().set_sample_rate)(self.as_raw(), rate) };
        self.check("setSampleRate", code)
    }

    /// `getClockSources` with room for 32 entries.
    pub fn clock_sources(&mut self) -> Result<Vec<ClockSource>, CallError> {
        let mut clocks = [AsioClockSource::zeroed(); 32];
        let mut n = 32;
        // SAFETY: live object, array of `n` entries, valid count pointer.
        let code =
            unsafe { (self.vtbl().get_clock_sources)(self.as_raw(), clocks.as_mut_ptr(), &mut n) };
        self.check("getClockSources", code)?;
        Ok(clocks
            .iter()
            .take(usize::try_from(n).unwrap_or(0))
            .map(|c| {
                let name = c.name;
                ClockSource {
                    index: c.index,
                    is_current: c.is_current_source != 0,
                    name: c_string(&name),
                }
            })
            .collect())
    }

    /// `setClockSource`.
    pub fn set_clock_source(&mut self, index: i32) -> Result<(), CallError> {
        // SAFETY: live object.
        let code = unsafe { (self.vtbl().set_clock_source)(self.as_raw(), index) };
        self.check("setClockSource", code)
    }

    /// `getSamplePosition`: (frames, ns).
    pub fn sample_position(&mut self) -> Result<(u64, u64), CallError> {
        let (p, t) = sample_position_raw(self.as_raw());
        match (p, t) {
            (Ok(p), t) => Ok((p, t)),
            (Err(code), _) => self.check("getSamplePosition", code).map(|()| (0, 0)),
        }
    }

    /// `getChannelInfo`.
    pub fn channel_info(&mut self, channel: i32, is_input: bool) -> Result<ChannelInfo, CallError> {
        let mut ci = AsioChannelInfo::zeroed();
        ci.channel = channel;
        ci.is_input = i32::from(is_input);
        // SAFETY: live object, valid struct pointer.
        let code = unsafe { (self.vtbl().get_channel_info)(self.as_raw(), &mut ci) };
        self.check("getChannelInfo", code)?;
        let name = ci.name;
        Ok(ChannelInfo {
            channel: ci.channel,
            is_input: ci.is_input != 0,
            is_active: ci.is_active != 0,
            group: ci.channel_group,
            sample_type: ci.sample_type,
            name: c_string(&name),
        })
    }

    /// `start`.
    pub fn start(&mut self) -> Result<(), CallError> {
        // SAFETY: live object.
        let code = unsafe { (self.vtbl().start)(self.as_raw()) };
        self.check("start", code)
    }

    /// `stop`.
    pub fn stop(&mut self) -> Result<(), CallError> {
        // SAFETY: live object.
        let code = unsafe { (self.vtbl().stop)(self.as_raw()) };
        self.check("stop", code)
    }

    /// `disposeBuffers`.
    pub fn dispose_buffers(&mut self) -> Result<(), CallError> {
        // SAFETY: live object.
        let code = unsafe { (self.vtbl().dispose_buffers)(self.as_raw()) };
        self.check("disposeBuffers", code)
    }

    /// `controlPanel`.
    pub fn control_panel(&mut self) -> Result<(), CallError> {
        // SAFETY: live object.
        let code = unsafe { (self.vtbl().control_panel)(self.as_raw()) };
        self.check("controlPanel", code)
    }

    /// `outputReady`.
    pub fn output_ready(&mut self) -> Result<(), CallError> {
        let code = output_ready_raw(self.as_raw());
        self.check("outputReady", code)
    }

    /// `future(selector, null)` for yes/no selectors: true if `ASE_SUCCESS`.
    pub fn future_query(&mut self, selector: i32) -> AsioError {
        // SAFETY: live object; a null `opt` is valid for query selectors.
        unsafe { (self.vtbl().future)(self.as_raw(), selector, std::ptr::null_mut()) }
    }

    /// `future(kAsioGetInternalBufferSamples)`: (input, output).
    pub fn internal_buffer_samples(&mut self) -> Result<(i32, i32), CallError> {
        let mut info = AsioInternalBufferInfo::default();
        // SAFETY: live object; `opt` points to the struct this selector fills.
        let code = unsafe {
            (self.vtbl().future)(
                self.as_raw(),
                asio_abi::future::GET_INTERNAL_BUFFER_SAMPLES,
                (&mut info as *mut AsioInternalBufferInfo).cast(),
            )
        };
        if code == ASE_SUCCESS {
            Ok((info.input_samples, info.output_samples))
        } else {
            Err(CallError {
                call: "future(kAsioGetInternalBufferSamples)",
                code,
                message: self.error_message(),
            })
        }
    }

    /// `AddRef` then `Release`, returning the count `Release` reports
    /// (the host's own reference remains).
    pub fn ref_count(&mut self) -> u32 {
        // SAFETY: live object; balanced AddRef/Release.
        unsafe {
            (self.vtbl().add_ref)(self.as_raw());
            (self.vtbl().release)(self.as_raw())
        }
    }

    /// Releases the host's reference and returns what `Release` returned.
    pub fn release(self) -> u32 {
        let raw = self.as_raw();
        let release = self.vtbl().release;
        std::mem::forget(self);
        // SAFETY: we owned this reference and give it up exactly once.
        unsafe { release(raw) }
    }

    /// `createBuffers` for `channels` (is_input, index) with `buffer_size`
    /// frames, routing callbacks to `handler`. Only one session may stream
    /// in a process at a time (ASIO callbacks carry no context).
    pub fn create_buffers(
        &mut self,
        channels: &[(bool, i32)],
        buffer_size: i32,
        options: HostOptions,
        handler: Box<dyn PeriodHandler>,
    ) -> Result<Session, CallError> {
        let mut types = Vec::with_capacity(channels.len());
        for &(is_input, ch) in channels {
            types.push(self.channel_info(ch, is_input)?.sample_type);
        }
        let mut infos = buffer_infos(channels);
        let state = Box::new(SessionState {
            options,
            handler: HandlerLock::new(handler),
            channels: Vec::new(),
            frames: usize::try_from(buffer_size).unwrap_or(0),
            driver: self.raw,
            streaming: AtomicBool::new(false),
            counters: Arc::new(HostCounters::default()),
        });
        let state_ptr = Box::into_raw(state);
        if ACTIVE
            .compare_exchange(
                std::ptr::null_mut(),
                state_ptr,
                Ordering::AcqRel,
                Ordering::Acquire,
            )
            .is_err()
        {
            // SAFETY: never published; we still own it.
            drop(unsafe { Box::from_raw(state_ptr) });
            return Err(CallError {
                call: "createBuffers",
                code: asio_abi::ASE_INVALID_MODE,
                message: "another ASIO session is active in this process".to_owned(),
            });
        }
        let callbacks = AsioCallbacks {
            buffer_switch: Some(on_buffer_switch),
            sample_rate_did_change: Some(on_sample_rate_did_change),
            asio_message: Some(on_asio_message),
            buffer_switch_time_info: Some(on_buffer_switch_time_info),
        };
        let n = i32::try_from(infos.len()).unwrap_or(i32::MAX);
        // SAFETY: live object; `infos` holds `n` entries; `callbacks` lives
        // in this frame, and the driver copies it (ASIO contract).
        let code = unsafe {
            (self.vtbl().create_buffers)(
                self.as_raw(),
                infos.as_mut_ptr(),
                n,
                buffer_size,
                &callbacks,
            )
        };
        if code != ASE_OK {
            let err = self.check("createBuffers", code).err();
            ACTIVE.store(std::ptr::null_mut(), Ordering::Release);
            // SAFETY: unpublished again; the driver refused the buffers and
            // so holds no callbacks.
            drop(unsafe { Box::from_raw(state_ptr) });
            return Err(err.unwrap_or(CallError {
                call: "createBuffers",
                code,
                message: String::new(),
            }));
        }
        let channels_out: Vec<ChannelBuffers> = infos
            .iter()
            .zip(types)
            .map(|(b, t)| {
                let buffers = b.buffers;
                ChannelBuffers {
                    is_input: b.is_input != 0,
                    channel: b.channel_num,
                    sample_type: t,
                    halves: [buffers[0].cast(), buffers[1].cast()],
                }
            })
            .collect();
        // SAFETY: the state is published but no callback can run before
        // `start`, so this is the only access.
        unsafe { (*state_ptr).channels = channels_out };
        Ok(Session { state: state_ptr })
    }
}

impl Drop for Driver {
    fn drop(&mut self) {
        // SAFETY: we own one reference.
        unsafe { (self.vtbl().release)(self.as_raw()) };
    }
}

/// `ASIOBufferInfo` entries asking for `channels` (is_input, index).
fn buffer_infos(channels: &[(bool, i32)]) -> Vec<AsioBufferInfo> {
    channels
        .iter()
        .map(|&(is_input, ch)| {
            let mut b = AsioBufferInfo::zeroed();
            b.is_input = i32::from(is_input);
            b.channel_num = ch;
            b
        })
        .collect()
}

fn sample_position_raw(raw: *mut IAsio) -> (Result<u64, AsioError>, u64) {
    let mut pos = AsioSamples::default();
    let mut stamp = AsioTimeStamp::default();
    // SAFETY: `raw` is the live driver of the session (module invariant).
    let code = unsafe { ((*(*raw).vtbl).get_sample_position)(raw, &mut pos, &mut stamp) };
    if code == ASE_OK {
        (Ok(pos.to_u64()), stamp.to_u64())
    } else {
        (Err(code), 0)
    }
}

fn output_ready_raw(raw: *mut IAsio) -> AsioError {
    // SAFETY: `raw` is a live driver (module invariant).
    unsafe { ((*(*raw).vtbl).output_ready)(raw) }
}

/// One buffer switch, as the handler sees it.
#[derive(Debug)]
pub struct Period<'a> {
    /// Half index (0 or 1).
    pub half: usize,
    /// Present when the driver called `bufferSwitchTimeInfo`.
    pub time: Option<TimeInfo>,
    /// Frames per buffer.
    pub frames: usize,
    driver: *mut IAsio,
    channels: &'a [ChannelBuffers],
}

/// Buffers of one channel as the driver handed them out.
#[derive(Debug, Clone)]
pub(crate) struct ChannelBuffers {
    is_input: bool,
    channel: i32,
    sample_type: i32,
    halves: [*mut u8; 2],
}

/// Counters of what the host received, readable while streaming.
#[derive(Debug, Default)]
pub struct HostCounters {
    /// Buffer switches received.
    pub switches: AtomicU64,
    /// Of which through `bufferSwitchTimeInfo`.
    pub time_info_switches: AtomicU64,
    /// `kAsioResetRequest` messages.
    pub reset_requests: AtomicU64,
    /// `kAsioLatenciesChanged` messages.
    pub latencies_changed: AtomicU64,
    /// `kAsioOverload` messages.
    pub overloads: AtomicU64,
    /// `kAsioResyncRequest` messages.
    pub resync_requests: AtomicU64,
    /// `sampleRateDidChange` calls.
    pub rate_changes: AtomicU64,
}

/// The host's own lock around its handler. Deliberately not Tenuto's
/// `sync::Mutex`: that one counts uses on the driver thread, and this lock
/// belongs to the host, not to the driver being measured. It is uncontended
/// while streaming (the main thread only takes it after `stop`).
#[allow(clippy::disallowed_types)]
type HandlerLock = std::sync::Mutex<Box<dyn PeriodHandler>>;

struct SessionState {
    options: HostOptions,
    handler: HandlerLock,
    channels: Vec<ChannelBuffers>,
    frames: usize,
    driver: NonNull<IAsio>,
    streaming: AtomicBool,
    counters: Arc<HostCounters>,
}

/// The active session's state; null when none.
static ACTIVE: AtomicPtr<SessionState> = AtomicPtr::new(std::ptr::null_mut());
/// Callbacks that arrived while no session was streaming (after `stop`).
static STRAY_CALLBACKS: AtomicU64 = AtomicU64::new(0);

/// Buffer switches received in this process while no session was
/// streaming — i.e. after `stop()` returned. Must stay zero.
pub fn stray_callbacks() -> u64 {
    STRAY_CALLBACKS.load(Ordering::Acquire)
}

/// Buffers created for one stream; routes the driver's callbacks to the
/// handler. Dropping it clears the process-wide callback slot.
#[derive(Debug)]
pub struct Session {
    state: *mut SessionState,
}

// SAFETY: the state is only shared with the driver thread through the
// ASIO callbacks, under the rules in the module docs.
unsafe impl Send for Session {}

impl Session {
    fn state(&self) -> &SessionState {
        // SAFETY: owned by this session until drop.
        unsafe { &*self.state }
    }

    /// Marks the session as streaming; call right before `start`.
    pub fn begin(&self) {
        self.state().streaming.store(true, Ordering::Release);
    }

    /// Marks it stopped; call right after `stop` returned. Any switch
    /// arriving later is counted by [`stray_callbacks`].
    pub fn end(&self) {
        self.state().streaming.store(false, Ordering::Release);
    }

    /// What the host received so far.
    pub fn counters(&self) -> &Arc<HostCounters> {
        &self.state().counters
    }

    /// Runs `f` on the handler (not while streaming: it would contend with
    /// the driver thread).
    pub fn with_handler<R>(&self, f: impl FnOnce(&mut dyn PeriodHandler) -> R) -> R {
        let mut h = self
            .state()
            .handler
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        f(h.as_mut())
    }

    /// Whether a buffer pointer is null or shared with another buffer.
    pub fn buffers_look_valid(&self) -> bool {
        let mut all: Vec<*mut u8> = self
            .state()
            .channels
            .iter()
            .flat_map(|c| c.halves)
            .collect();
        if all.iter().any(|p| p.is_null()) {
            return false;
        }
        all.sort();
        all.windows(2).all(|w| w[0] != w[1])
    }
}

impl Drop for Session {
    fn drop(&mut self) {
        let _ = ACTIVE.compare_exchange(
            self.state,
            std::ptr::null_mut(),
            Ordering::AcqRel,
            Ordering::Acquire,
        );
        // SAFETY: unpublished; the driver was stopped and its buffers
        // disposed (or the driver is gone), so no callback can reach it.
        drop(unsafe { Box::from_raw(self.state) });
    }
}

fn bytes_per_sample(sample_type: i32) -> usize {
    SampleType::from_raw(sample_type).map_or(0, SampleType::bytes_per_sample)
}

fn dispatch(half: i32, time: Option<TimeInfo>) {
    let ptr = ACTIVE.load(Ordering::Acquire);
    // SAFETY: a published state is alive until its session unpublishes it,
    // which happens only after stop/dispose (module invariant).
    let Some(state) = (unsafe { ptr.as_ref() }) else {
        STRAY_CALLBACKS.fetch_add(1, Ordering::AcqRel);
        return;
    };
    if !state.streaming.load(Ordering::Acquire) {
        STRAY_CALLBACKS.fetch_add(1, Ordering::AcqRel);
        return;
    }
    state.counters.switches.fetch_add(1, Ordering::Relaxed);
    if time.is_some() {
        state
            .counters
            .time_info_switches
            .fetch_add(1, Ordering::Relaxed);
    }
    let half = if half == 0 { 0 } else { 1 };
    let mut handler = state.handler.lock().unwrap_or_else(|p| p.into_inner());
    let mut period = Period {
        half,
        time,
        frames: state.frames,
        driver: state.driver.as_ptr(),
        channels: &state.channels,
    };
    handler.process(&mut period);
    if state.options.call_output_ready {
        output_ready_raw(state.driver.as_ptr());
    }
}

impl Period<'_> {
    /// Input buffer `index` (in `createBuffers` order) for this half as bytes.
    pub fn buffer(&self, index: usize) -> &[u8] {
        self.buffer_bytes(index).map_or(&[], |(p, n)| {
            // SAFETY: the driver's half buffer for this switch, `n` bytes
            // (frames × sample size), not written by the driver meanwhile.
            unsafe { std::slice::from_raw_parts(p, n) }
        })
    }

    /// Buffer `index` for this half, writable.
    pub fn buffer_mut(&mut self, index: usize) -> &mut [u8] {
        self.buffer_bytes(index).map_or(&mut [], |(p, n)| {
            // SAFETY: as in `buffer`; `&mut self` makes this unique.
            unsafe { std::slice::from_raw_parts_mut(p, n) }
        })
    }

    fn buffer_bytes(&self, index: usize) -> Option<(*mut u8, usize)> {
        let c = self.channels.get(index)?;
        let p = *c.halves.get(self.half)?;
        (!p.is_null()).then(|| (p, self.frames * bytes_per_sample(c.sample_type)))
    }

    /// Whether buffer `index` is an input.
    pub fn is_input(&self, index: usize) -> bool {
        self.channels.get(index).is_some_and(|c| c.is_input)
    }

    /// The channel number of buffer `index`.
    pub fn channel(&self, index: usize) -> i32 {
        self.channels.get(index).map_or(-1, |c| c.channel)
    }

    /// ASIO sample type of buffer `index`.
    pub fn sample_type(&self, index: usize) -> i32 {
        self.channels.get(index).map_or(-1, |c| c.sample_type)
    }

    /// Number of buffers.
    pub fn buffer_count(&self) -> usize {
        self.channels.len()
    }

    /// Calls the driver's `stop()` from inside the switch, as some hosts do
    /// when the user presses stop; returns its ASIO code.
    pub fn stop_driver(&self) -> AsioError {
        // SAFETY: `driver` is the live driver of the session (module invariant).
        unsafe { ((*(*self.driver).vtbl).stop)(self.driver) }
    }

    /// Calls the driver's `getSamplePosition` from inside the switch, as
    /// many hosts do.
    pub fn sample_position(&self) -> Option<(u64, u64)> {
        match sample_position_raw(self.driver) {
            (Ok(p), t) => Some((p, t)),
            _ => None,
        }
    }
}

extern "C" fn on_buffer_switch(index: i32, _direct: i32) {
    dispatch(index, None);
}

extern "C" fn on_buffer_switch_time_info(
    params: *mut AsioTime,
    index: i32,
    _direct: i32,
) -> *mut AsioTime {
    // SAFETY: the driver passes its own ASIOTime, valid for this call.
    let time = unsafe { params.as_ref() }.map(|t| {
        let info = t.time_info;
        let flags = info.flags;
        TimeInfo {
            sample_position: info.sample_position.to_u64(),
            system_time_ns: info.system_time.to_u64(),
            sample_rate: info.sample_rate,
            flags,
            position_valid: flags & TIME_INFO_SAMPLE_POSITION_VALID != 0,
            time_valid: flags & TIME_INFO_SYSTEM_TIME_VALID != 0,
        }
    });
    dispatch(index, time);
    std::ptr::null_mut()
}

extern "C" fn on_sample_rate_did_change(_rate: f64) {
    let ptr = ACTIVE.load(Ordering::Acquire);
    // SAFETY: as in `dispatch`.
    if let Some(state) = unsafe { ptr.as_ref() } {
        state.counters.rate_changes.fetch_add(1, Ordering::Relaxed);
    }
}

extern "C" fn on_asio_message(selector: i32, value: i32, _m: *mut c_void, _o: *mut f64) -> i32 {
    let ptr = ACTIVE.load(Ordering::Acquire);
    // SAFETY: as in `dispatch`.
    let Some(state) = (unsafe { ptr.as_ref() }) else {
        return 0;
    };
    let o = &state.options;
    let c = &state.counters;
    match selector {
        message::SELECTOR_SUPPORTED => i32::from(match value {
            message::ENGINE_VERSION => true,
            message::SUPPORTS_TIME_INFO => o.time_info,
            message::RESET_REQUEST => o.reset_request,
            message::LATENCIES_CHANGED => o.latencies_changed,
            message::OVERLOAD => o.overload,
            message::RESYNC_REQUEST => o.resync_request,
            _ => false,
        }),
        message::ENGINE_VERSION => 2,
        message::SUPPORTS_TIME_INFO => i32::from(o.time_info),
        message::RESET_REQUEST if o.reset_request => {
            c.reset_requests.fetch_add(1, Ordering::Relaxed);
            1
        }
        message::LATENCIES_CHANGED if o.latencies_changed => {
            c.latencies_changed.fetch_add(1, Ordering::Relaxed);
            1
        }
        message::OVERLOAD if o.overload => {
            c.overloads.fetch_add(1, Ordering::Relaxed);
            1
        }
        message::RESYNC_REQUEST if o.resync_request => {
            c.resync_requests.fetch_add(1, Ordering::Relaxed);
            1
        }
        _ => 0,
    }
}

/// Calls every vtable method with null pointers and absurd values, the way
/// a broken host would; returns each call's code. The driver must answer
/// each with an error and survive.
pub fn call_with_null_pointers(driver: &mut Driver) -> Vec<(&'static str, AsioError)> {
    let raw = driver.as_raw();
    let v = driver.vtbl();
    let null_i = std::ptr::null_mut::<i32>();
    // SAFETY: the driver is live; passing null pointers is exactly what the
    // driver must survive (its boundary checks them before any access).
    unsafe {
        vec![
            (
                "getChannels(null, null)",
                (v.get_channels)(raw, null_i, null_i),
            ),
            (
                "getLatencies(null, null)",
                (v.get_latencies)(raw, null_i, null_i),
            ),
            (
                "getBufferSize(null ×4)",
                (v.get_buffer_size)(raw, null_i, null_i, null_i, null_i),
            ),
            (
                "getSampleRate(null)",
                (v.get_sample_rate)(raw, std::ptr::null_mut()),
            ),
            (
                "getClockSources(null, null)",
                (v.get_clock_sources)(raw, std::ptr::null_mut(), null_i),
            ),
            (
                "getSamplePosition(null, null)",
                (v.get_sample_position)(raw, std::ptr::null_mut(), std::ptr::null_mut()),
            ),
            (
                "getChannelInfo(null)",
                (v.get_channel_info)(raw, std::ptr::null_mut()),
            ),
            (
                "createBuffers(null infos)",
                (v.create_buffers)(raw, std::ptr::null_mut(), 1, 64, std::ptr::null()),
            ),
            (
                "future(kAsioGetInternalBufferSamples, null)",
                (v.future)(
                    raw,
                    asio_abi::future::GET_INTERNAL_BUFFER_SAMPLES,
                    std::ptr::null_mut(),
                ),
            ),
            ("getDriverName(null)", {
                (v.get_driver_name)(raw, std::ptr::null_mut());
                ASE_OK
            }),
            ("getErrorMessage(null)", {
                (v.get_error_message)(raw, std::ptr::null_mut());
                ASE_OK
            }),
        ]
    }
}

/// A second `createBuffers` for `channels`, bypassing the session slot (the
/// driver must refuse it while buffers exist). Returns the driver's code.
pub fn create_buffers_again(
    driver: &mut Driver,
    channels: &[(bool, i32)],
    buffer_size: i32,
) -> AsioError {
    let mut infos = buffer_infos(channels);
    let callbacks = AsioCallbacks {
        buffer_switch: Some(on_buffer_switch),
        sample_rate_did_change: Some(on_sample_rate_did_change),
        asio_message: Some(on_asio_message),
        buffer_switch_time_info: Some(on_buffer_switch_time_info),
    };
    let raw = driver.as_raw();
    let n = i32::try_from(infos.len()).unwrap_or(i32::MAX);
    // SAFETY: live driver, `n` valid entries, valid callbacks table; the
    // callbacks only reach the published session (module invariant).
    unsafe { ((*(*raw).vtbl).create_buffers)(raw, infos.as_mut_ptr(), n, buffer_size, &callbacks) }
}

static COUNTING_SWITCHES: AtomicU64 = AtomicU64::new(0);

extern "C" fn on_counting_switch(_index: i32, _direct: i32) {
    COUNTING_SWITCHES.fetch_add(1, Ordering::AcqRel);
}

extern "C" fn on_counting_message(selector: i32, value: i32, _m: *mut c_void, _o: *mut f64) -> i32 {
    i32::from(selector == message::SELECTOR_SUPPORTED && value == message::ENGINE_VERSION)
}

/// A second, minimal host for a second driver instance in the same
/// process: `createBuffers` with callbacks that only count switches
/// ([`counting_switches`]) and support no optional message. It does not
/// touch the session slot, so it can run next to a [`Session`].
pub fn create_buffers_counting(
    driver: &mut Driver,
    channels: &[(bool, i32)],
    buffer_size: i32,
) -> AsioError {
    let mut infos = buffer_infos(channels);
    let callbacks = AsioCallbacks {
        buffer_switch: Some(on_counting_switch),
        sample_rate_did_change: None,
        asio_message: Some(on_counting_message),
        buffer_switch_time_info: None,
    };
    let raw = driver.as_raw();
    let n = i32::try_from(infos.len()).unwrap_or(i32::MAX);
    // SAFETY: live driver, `n` valid entries, a valid callbacks table whose
    // functions touch only a static counter.
    unsafe { ((*(*raw).vtbl).create_buffers)(raw, infos.as_mut_ptr(), n, buffer_size, &callbacks) }
}

/// Switches received by the [`create_buffers_counting`] callbacks.
pub fn counting_switches() -> u64 {
    COUNTING_SWITCHES.load(Ordering::Acquire)
}

/// `createBuffers` with a callbacks table whose `bufferSwitch` is null.
pub fn create_buffers_without_switch(driver: &mut Driver, buffer_size: i32) -> AsioError {
    let mut info = AsioBufferInfo::zeroed();
    info.is_input = 0;
    info.channel_num = 0;
    let callbacks = AsioCallbacks {
        buffer_switch: None,
        sample_rate_did_change: None,
        asio_message: None,
        buffer_switch_time_info: None,
    };
    let raw = driver.as_raw();
    // SAFETY: live driver, one valid entry, valid callbacks table.
    unsafe { ((*(*raw).vtbl).create_buffers)(raw, &mut info, 1, buffer_size, &callbacks) }
}

/// Calls every method through a null object pointer; the driver must
/// return errors and not crash.
pub fn call_with_null_object(vtbl: &IAsioVtbl) -> Vec<(&'static str, i32)> {
    let raw = std::ptr::null_mut::<IAsio>();
    let mut i = 0;
    let mut f = 0.0;
    // SAFETY: the driver's functions must check `this` for null before use.
    unsafe {
        vec![
            ("init", (vtbl.init)(raw, std::ptr::null_mut())),
            ("start", (vtbl.start)(raw)),
            ("stop", (vtbl.stop)(raw)),
            ("getChannels", (vtbl.get_channels)(raw, &mut i, &mut i)),
            ("getSampleRate", (vtbl.get_sample_rate)(raw, &mut f)),
            ("disposeBuffers", (vtbl.dispose_buffers)(raw)),
            ("outputReady", (vtbl.output_ready)(raw)),
            ("AddRef", (vtbl.add_ref)(raw) as i32),
            ("Release", (vtbl.release)(raw) as i32),
        ]
    }
}

/// The vtable of a live driver (to call functions with a null `this`).
pub fn vtbl_of(driver: &Driver) -> &IAsioVtbl {
    driver.vtbl()
}
