//! The driver object as a host sees it: an `IASIO` COM object whose first
//! field is the vtable pointer, and the 24 functions of that vtable.
//!
//! Every function goes through one boundary helper ([`enter`] and its
//! variants) that rejects null object pointers and objects that are not
//! ours, catches panics, turns errors into ASIO codes with a message
//! for `getErrorMessage`, and — when the object has a debug trace — records
//! the call (arguments, result, out-values, duration) without blocking or
//! allocating (see [`crate::trace`]). `IUnknown`'s three methods are not
//! traced. Every pointer argument is checked for null before
//! it is touched; values are written with unaligned writes because hosts
//! pack their structs.
//!
//! # Safety invariant
//! `this` is either null, or a pointer produced by [`into_raw`] whose
//! reference count is still above zero (the COM contract: a host only calls
//! an object it holds a reference to). The object's memory is freed only by
//! the `Release` that takes the count to zero, after the driver thread has
//! been joined. Out-pointers from the host are valid for writes of their
//! type when non-null (the ASIO contract); string buffers are 32 or 124
//! bytes as the ABI fixes.

#![allow(unsafe_code)]

use std::ffi::{c_char, c_void};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::ptr::NonNull;
use std::sync::atomic::{AtomicU32, Ordering};

use asio_abi::{
    future, write_c_string, AsioBool, AsioBufferInfo, AsioCallbacks, AsioChannelInfo,
    AsioClockSource, AsioError, AsioInternalBufferInfo, AsioSamples, AsioTimeStamp, Guid, HResult,
    IAsio, IAsioVtbl, ASE_HW_MALFUNCTION, ASE_NOT_PRESENT, ASE_OK, ASE_SUCCESS,
    ASIO_DRIVER_NAME_LEN, ASIO_ERROR_MESSAGE_LEN, ASIO_FALSE, ASIO_TRUE, E_NOINTERFACE, E_POINTER,
    IID_IUNKNOWN, S_OK,
};
use tenuto_engine::{rt, time, BufferRequest, EngineError};

use crate::callbacks;
use crate::core::DriverCore;
use crate::trace::{Args, CallValues, Out, Text, TraceRecord};

#[repr(C)]
struct DriverObject {
    /// Must stay first: hosts cast the object pointer to `IASIO*`.
    iasio: IAsio,
    refs: AtomicU32,
    clsid: Guid,
    core: DriverCore,
}

/// Creates a driver object with one reference and returns it as `IASIO*`.
pub fn into_raw(core: DriverCore, clsid: Guid) -> NonNull<IAsio> {
    let object = Box::new(DriverObject {
        iasio: IAsio { vtbl: &VTBL },
        refs: AtomicU32::new(1),
        clsid,
        core,
    });
    NonNull::from(Box::leak(object)).cast()
}

/// The object behind `this`, if it is one of ours.
///
/// # Safety
/// `this` must satisfy the module invariant.
unsafe fn object<'a>(this: *mut IAsio) -> Option<&'a DriverObject> {
    // SAFETY: non-null pointers are live objects (module invariant); the
    // vtable check rejects a foreign object passed by mistake.
    let object = unsafe { this.cast::<DriverObject>().as_ref()? };
    std::ptr::eq(object.iasio.vtbl, &VTBL).then_some(object)
}

fn panic_detail(payload: &(dyn std::any::Any + Send)) -> String {
    payload
        .downcast_ref::<&str>()
        .map(|s| (*s).to_owned())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "panic".to_owned())
}

/// A method's return value as the trace keeps it.
trait RawResult: Copy {
    fn raw(self) -> i32;
}

impl RawResult for i32 {
    fn raw(self) -> i32 {
        self
    }
}

impl RawResult for () {
    fn raw(self) -> i32 {
        0
    }
}

/// The boundary for every IASIO method: object check, panic catch, trace.
/// `f` gets the call's [`CallValues`] (starting with `args`) to note what
/// it read from the host's structs and wrote through its pointers. Without
/// a trace this adds nothing but a look at an empty `Option`; with one,
/// two clock reads and a lock-free push (real-time safe: hosts call some
/// methods from inside `bufferSwitch`).
fn enter<R: RawResult>(
    this: *mut IAsio,
    call: &'static str,
    args: Args,
    fallback: R,
    f: impl FnOnce(&DriverCore, &mut CallValues) -> R,
) -> R {
    // SAFETY: module invariant.
    let Some(object) = (unsafe { object(this) }) else {
        return fallback;
    };
    let trace = object.core.trace();
    let start_ns = if trace.is_some() { time::now_ns() } else { 0 };
    let mut values = CallValues {
        args,
        out: Out::None,
    };
    let (result, panicked) = match catch_unwind(AssertUnwindSafe(|| f(&object.core, &mut values))) {
        Ok(r) => (r, false),
        Err(payload) => {
            let detail = panic_detail(payload.as_ref());
            let _ = catch_unwind(AssertUnwindSafe(|| object.core.record_panic(call, &detail)));
            (fallback, true)
        }
    };
    if let Some(trace) = trace {
        trace.record(TraceRecord {
            method: call,
            values,
            result: result.raw(),
            panicked,
            driver_thread: rt::in_rt_section(),
            start_ns,
            duration_ns: time::now_ns().saturating_sub(start_ns),
        });
    }
    result
}

/// The boundary for methods returning `ASIOError`.
fn enter_err(
    this: *mut IAsio,
    call: &'static str,
    args: Args,
    f: impl FnOnce(&DriverCore, &mut CallValues) -> Result<AsioError, EngineError>,
) -> AsioError {
    enter(this, call, args, ASE_HW_MALFUNCTION, |core, v| {
        match f(core, v) {
            Ok(code) => code,
            Err(e) => core.fail(&e),
        }
    })
}

fn null(call: &'static str, what: &str) -> EngineError {
    EngineError::InvalidParameter {
        call,
        message: format!("the {what} pointer is null"),
    }
}

/// Writes `value` through a host out-pointer.
///
/// # Safety
/// `p` must be null or valid for a write of `T` (module invariant).
unsafe fn put<T>(p: *mut T, value: T) {
    if !p.is_null() {
        // SAFETY: caller guarantees validity; hosts may pack, so unaligned.
        unsafe { p.write_unaligned(value) }
    }
}

macro_rules! iasio_methods {
    ($(
        $(#[$doc:meta])*
        fn $name:ident($($arg:ident: $ty:ty),* $(,)?) -> $ret:ty $body:block
    )*) => {$(
        $(#[$doc])*
        #[cfg(target_arch = "x86")]
        unsafe extern "thiscall" fn $name($($arg: $ty),*) -> $ret $body
        $(#[$doc])*
        #[cfg(not(target_arch = "x86"))]
        unsafe extern "system" fn $name($($arg: $ty),*) -> $ret $body
    )*};
}

unsafe extern "system" fn query_interface(
    this: *mut IAsio,
    riid: *const Guid,
    ppv: *mut *mut c_void,
) -> HResult {
    if ppv.is_null() {
        return E_POINTER;
    }
    // SAFETY: `ppv` is non-null and, by COM contract, writable.
    unsafe { ppv.write_unaligned(std::ptr::null_mut()) };
    if riid.is_null() {
        return E_POINTER;
    }
    // SAFETY: module invariant.
    let Some(object) = (unsafe { object(this) }) else {
        return E_POINTER;
    };
    // SAFETY: `riid` is non-null and points to a GUID (COM contract).
    let iid = unsafe { riid.read_unaligned() };
    // Hosts pass the driver's CLSID as the interface id (ASIO quirk).
    if iid == IID_IUNKNOWN || iid == object.clsid {
        object.refs.fetch_add(1, Ordering::Relaxed);
        // SAFETY: as above.
        unsafe { ppv.write_unaligned(this.cast()) };
        S_OK
    } else {
        E_NOINTERFACE
    }
}

unsafe extern "system" fn add_ref(this: *mut IAsio) -> u32 {
    // SAFETY: module invariant.
    match unsafe { object(this) } {
        Some(o) => o.refs.fetch_add(1, Ordering::Relaxed) + 1,
        None => 0,
    }
}

unsafe extern "system" fn release(this: *mut IAsio) -> u32 {
    // SAFETY: module invariant.
    let Some(object) = (unsafe { object(this) }) else {
        return 0;
    };
    let mut current = object.refs.load(Ordering::Acquire);
    loop {
        if current == 0 {
            return 0; // over-release by the host: ignore rather than double free
        }
        match object.refs.compare_exchange_weak(
            current,
            current - 1,
            Ordering::AcqRel,
            Ordering::Acquire,
        ) {
            Ok(_) => break,
            Err(now) => current = now,
        }
    }
    if current > 1 {
        return current - 1;
    }
    // Last reference, released from inside the host's own switch or
    // message handler: the driver's threads cannot be waited for from
    // inside themselves, so the stream and messages are stopped and the
    // object is never freed (DllCanUnloadNow stays false: the DLL, whose
    // code those threads still run, stays loaded).
    if catch_unwind(AssertUnwindSafe(|| object.core.on_driver_thread())).unwrap_or(true) {
        let _ = catch_unwind(AssertUnwindSafe(|| object.core.abandon()));
        return 0;
    }
    // Last reference: stop streaming (waiting for the driver thread and the
    // messenger without holding the engine lock), then free.
    let _ = catch_unwind(AssertUnwindSafe(|| object.core.shutdown()));
    // SAFETY: the count reached zero, so no host holds the object any more;
    // it was created by `Box::leak` in `into_raw` and is freed exactly once.
    let boxed = unsafe { Box::from_raw(this.cast::<DriverObject>()) };
    let _ = catch_unwind(AssertUnwindSafe(move || drop(boxed)));
    crate::on_object_freed();
    0
}

iasio_methods! {
    fn init(this: *mut IAsio, _sys_handle: *mut c_void) -> AsioBool {
        enter(this, "init", Args::None, ASIO_FALSE, |core, _| {
            if core.with_engine(|e| e.init()).is_ok() {
                ASIO_TRUE
            } else {
                ASIO_FALSE
            }
        })
    }

    fn get_driver_name(this: *mut IAsio, name: *mut c_char) -> () {
        enter(this, "getDriverName", Args::None, (), |core, v| {
            if name.is_null() {
                return;
            }
            // SAFETY: the ABI fixes this buffer at 32 bytes.
            let dst = unsafe { std::slice::from_raw_parts_mut(name, ASIO_DRIVER_NAME_LEN) };
            core.with_engine(|e| {
                write_c_string(dst, e.driver_name());
                v.out = Out::Text(Text::new(e.driver_name()));
            });
        })
    }

    fn get_driver_version(this: *mut IAsio) -> i32 {
        enter(this, "getDriverVersion", Args::None, 0, |core, _| {
            core.with_engine(|e| e.driver_version())
        })
    }

    fn get_error_message(this: *mut IAsio, string: *mut c_char) -> () {
        enter(this, "getErrorMessage", Args::None, (), |core, v| {
            if string.is_null() {
                return;
            }
            // SAFETY: the ABI fixes this buffer at 124 bytes.
            let dst = unsafe { std::slice::from_raw_parts_mut(string, ASIO_ERROR_MESSAGE_LEN) };
            core.with_engine(|e| {
                write_c_string(dst, e.error_message());
                v.out = Out::Text(Text::new(e.error_message()));
            });
        })
    }

    fn start(this: *mut IAsio) -> AsioError {
        enter_err(this, "start", Args::None, |core, _| {
            core.start().map(|()| ASE_OK)
        })
    }

    fn stop(this: *mut IAsio) -> AsioError {
        enter_err(this, "stop", Args::None, |core, _| core.stop().map(|()| ASE_OK))
    }

    fn get_channels(this: *mut IAsio, num_inputs: *mut i32, num_outputs: *mut i32) -> AsioError {
        enter_err(this, "getChannels", Args::None, |core, v| {
            if num_inputs.is_null() || num_outputs.is_null() {
                return Err(null("getChannels", "numInputChannels or numOutputChannels"));
            }
            let (i, o) = core.with_engine(|e| e.channels())?;
            // SAFETY: non-null host out-pointers.
            unsafe {
                put(num_inputs, i);
                put(num_outputs, o);
            }
            v.out = Out::Channels { inputs: i, outputs: o };
            Ok(ASE_OK)
        })
    }

    fn get_latencies(this: *mut IAsio, input: *mut i32, output: *mut i32) -> AsioError {
        enter_err(this, "getLatencies", Args::None, |core, v| {
            if input.is_null() || output.is_null() {
                return Err(null("getLatencies", "inputLatency or outputLatency"));
            }
            // Lock-free while streaming: hosts ask from inside the switch.
            let (i, o) = if core.shared().is_streaming() {
                let (i, o) = core.shared().latencies();
                (i32::try_from(i).unwrap_or(i32::MAX), i32::try_from(o).unwrap_or(i32::MAX))
            } else {
                core.with_engine(|e| e.latencies())?
            };
            // SAFETY: non-null host out-pointers.
            unsafe {
                put(input, i);
                put(output, o);
            }
            v.out = Out::Latencies { input: i, output: o };
            Ok(ASE_OK)
        })
    }

    fn get_buffer_size(
        this: *mut IAsio,
        min: *mut i32,
        max: *mut i32,
        preferred: *mut i32,
        granularity: *mut i32,
    ) -> AsioError {
        enter_err(this, "getBufferSize", Args::None, |core, v| {
            if min.is_null() || max.is_null() || preferred.is_null() || granularity.is_null() {
                return Err(null("getBufferSize", "minSize, maxSize, preferredSize or granularity"));
            }
            let b = core.with_engine(|e| e.buffer_size())?;
            // SAFETY: non-null host out-pointers.
            unsafe {
                put(min, b.min);
                put(max, b.max);
                put(preferred, b.preferred);
                put(granularity, b.granularity);
            }
            v.out = Out::BufferSize {
                min: b.min,
                max: b.max,
                preferred: b.preferred,
                granularity: b.granularity,
            };
            Ok(ASE_OK)
        })
    }

    fn can_sample_rate(this: *mut IAsio, rate: f64) -> AsioError {
        enter_err(this, "canSampleRate", Args::Rate(rate), |core, _| {
            core.with_engine(|e| e.can_sample_rate(rate)).map(|()| ASE_OK)
        })
    }

    fn get_sample_rate(this: *mut IAsio, rate: *mut f64) -> AsioError {
        enter_err(this, "getSampleRate", Args::None, |core, v| {
            if rate.is_null() {
                return Err(null("getSampleRate", "sampleRate"));
            }
            let r = if core.shared().is_streaming() {
                core.shared().sample_rate()
            } else {
                core.with_engine(|e| e.sample_rate())?
            };
            // SAFETY: non-null host out-pointer.
            unsafe { put(rate, r) };
            v.out = Out::Rate(r);
            Ok(ASE_OK)
        })
    }

    fn set_sample_rate(this: *mut IAsio, rate: f64) -> AsioError {
        enter_err(this, "setSampleRate", Args::Rate(rate), |core, _| {
            core.set_sample_rate(rate).map(|()| ASE_OK)
        })
    }

    fn get_clock_sources(
        this: *mut IAsio,
        clocks: *mut AsioClockSource,
        num_sources: *mut i32,
    ) -> AsioError {
        enter_err(this, "getClockSources", Args::None, |core, v| {
            if clocks.is_null() || num_sources.is_null() {
                return Err(null("getClockSources", "clocks or numSources"));
            }
            // SAFETY: non-null; the host passes the array's capacity here.
            let capacity = unsafe { num_sources.read_unaligned() };
            v.args = Args::Capacity(capacity);
            if capacity < 1 {
                return Err(EngineError::InvalidParameter {
                    call: "getClockSources",
                    message: format!("numSources is {capacity}; pass the capacity of the clocks array (at least 1)"),
                });
            }
            let sources = core.with_engine(|e| e.clock_sources())?;
            let mut written = 0i32;
            for (i, s) in sources.iter().take(capacity as usize).enumerate() {
                let mut c = AsioClockSource::zeroed();
                c.index = s.index;
                c.associated_channel = -1;
                c.associated_group = -1;
                c.is_current_source = if s.is_current { ASIO_TRUE } else { ASIO_FALSE };
                c.set_name(&s.name);
                // SAFETY: `i` < capacity, which the host guarantees.
                unsafe { put(clocks.add(i), c) };
                written += 1;
            }
            // SAFETY: non-null host out-pointer.
            unsafe { put(num_sources, written) };
            v.out = Out::Sources(written);
            Ok(ASE_OK)
        })
    }

    fn set_clock_source(this: *mut IAsio, reference: i32) -> AsioError {
        enter_err(this, "setClockSource", Args::ClockSource(reference), |core, _| {
            core.with_engine(|e| e.set_clock_source(reference)).map(|()| ASE_OK)
        })
    }

    fn get_sample_position(
        this: *mut IAsio,
        pos: *mut AsioSamples,
        stamp: *mut AsioTimeStamp,
    ) -> AsioError {
        enter_err(this, "getSamplePosition", Args::None, |core, v| {
            if pos.is_null() || stamp.is_null() {
                return Err(null("getSamplePosition", "sPos or tStamp"));
            }
            // Lock-free while streaming: hosts ask from inside the switch.
            let (p, t) = if core.shared().is_streaming() {
                core.shared().position()
            } else {
                core.with_engine(|e| e.sample_position())?
            };
            // SAFETY: non-null host out-pointers.
            unsafe {
                put(pos, AsioSamples::from_u64(p));
                put(stamp, AsioTimeStamp::from_u64(t));
            }
            v.out = Out::Position { samples: p, time_ns: t };
            Ok(ASE_OK)
        })
    }

    fn get_channel_info(this: *mut IAsio, info: *mut AsioChannelInfo) -> AsioError {
        enter_err(this, "getChannelInfo", Args::None, |core, v| {
            if info.is_null() {
                return Err(null("getChannelInfo", "info"));
            }
            // SAFETY: non-null; the host filled `channel` and `isInput`.
            let mut ci = unsafe { info.read_unaligned() };
            v.args = Args::Channel { channel: ci.channel, is_input: ci.is_input != 0 };
            let details = core.with_engine(|e| e.channel_info(ci.channel, ci.is_input != 0))?;
            ci.is_active = if details.is_active { ASIO_TRUE } else { ASIO_FALSE };
            ci.channel_group = details.group;
            ci.sample_type = details.sample_type;
            ci.set_name(&details.name);
            v.out = Out::ChannelInfo {
                active: details.is_active,
                group: details.group,
                sample_type: details.sample_type,
            };
            // SAFETY: non-null host out-pointer.
            unsafe { put(info, ci) };
            Ok(ASE_OK)
        })
    }

    fn create_buffers(
        this: *mut IAsio,
        infos: *mut AsioBufferInfo,
        num_channels: i32,
        buffer_size: i32,
        callbacks: *const AsioCallbacks,
    ) -> AsioError {
        let args = Args::CreateBuffers { channels: num_channels, inputs: None, buffer_frames: buffer_size };
        enter_err(this, "createBuffers", args, |core, v| {
            if infos.is_null() {
                return Err(null("createBuffers", "bufferInfos"));
            }
            if callbacks.is_null() {
                return Err(null("createBuffers", "callbacks"));
            }
            core.with_engine(|e| e.require_initialized("createBuffers"))?;
            let (n_in, n_out) = core.with_engine(|e| e.channels())?;
            let total = i64::from(n_in) + i64::from(n_out);
            if num_channels < 1 || i64::from(num_channels) > total {
                return Err(EngineError::InvalidParameter {
                    call: "createBuffers",
                    message: format!(
                        "numChannels is {num_channels}; it must be between 1 and {total} ({n_in} inputs + {n_out} outputs)"
                    ),
                });
            }
            let count = num_channels as usize;
            let mut requests = Vec::with_capacity(count);
            for i in 0..count {
                // SAFETY: the host's array holds `num_channels` entries.
                let bi = unsafe { infos.add(i).read_unaligned() };
                requests.push(BufferRequest { is_input: bi.is_input != 0, channel: bi.channel_num });
            }
            v.args = Args::CreateBuffers {
                channels: num_channels,
                inputs: Some(requests.iter().filter(|r| r.is_input).count() as i32),
                buffer_frames: buffer_size,
            };
            // SAFETY: non-null; copied by value, see callbacks.rs for validity.
            let cb = unsafe { callbacks.read_unaligned() };
            let (host, _time_info) = callbacks::adapt(&cb)?;
            let pointers = core.create_buffers(&requests, buffer_size, host)?;
            for (i, p) in pointers.iter().enumerate() {
                // SAFETY: `i` < num_channels, entries are writable.
                let entry = unsafe { infos.add(i) };
                // SAFETY: as above.
                let mut bi = unsafe { entry.read_unaligned() };
                bi.buffers = p.0;
                // SAFETY: as above.
                unsafe { put(entry, bi) };
            }
            Ok(ASE_OK)
        })
    }

    fn dispose_buffers(this: *mut IAsio) -> AsioError {
        enter_err(this, "disposeBuffers", Args::None, |core, _| core.dispose().map(|()| ASE_OK))
    }

    fn control_panel(this: *mut IAsio) -> AsioError {
        enter_err(this, "controlPanel", Args::None, |core, _| {
            core.control_panel().map(|()| ASE_OK)
        })
    }

    fn future(this: *mut IAsio, selector: i32, opt: *mut c_void) -> AsioError {
        enter_err(this, "future", Args::Selector(selector), |core, v| match selector {
            future::CAN_REPORT_OVERLOAD => {
                core.with_engine(|e| e.can_report_overload()).map(|()| ASE_SUCCESS)
            }
            future::CAN_TIME_INFO => core
                .with_engine(|e| e.require_initialized("future(kAsioCanTimeInfo)"))
                .map(|()| ASE_SUCCESS),
            future::GET_INTERNAL_BUFFER_SAMPLES => {
                if opt.is_null() {
                    return Err(null("future(kAsioGetInternalBufferSamples)", "opt"));
                }
                let (i, o) = core.with_engine(|e| e.internal_buffer_samples())?;
                // SAFETY: non-null; this selector's `opt` is an AsioInternalBufferInfo.
                unsafe {
                    put(opt.cast::<AsioInternalBufferInfo>(), AsioInternalBufferInfo {
                        input_samples: i,
                        output_samples: o,
                    });
                }
                v.out = Out::InternalBuffer { input: i, output: o };
                Ok(ASE_SUCCESS)
            }
            // Hosts probe many selectors; "not present" is the answer, and
            // the last real error message is kept.
            _ => Ok(ASE_NOT_PRESENT),
        })
    }

    fn output_ready(this: *mut IAsio) -> AsioError {
        enter_err(this, "outputReady", Args::None, |core, _| {
            // Lock-free while streaming: called from inside the switch.
            if core.shared().is_streaming() {
                core.shared().signal_output_ready();
                Ok(ASE_OK)
            } else {
                core.with_engine(|e| e.output_ready()).map(|()| ASE_OK)
            }
        })
    }
}

static VTBL: IAsioVtbl = IAsioVtbl {
    query_interface,
    add_ref,
    release,
    init,
    get_driver_name,
    get_driver_version,
    get_error_message,
    start,
    stop,
    get_channels,
    get_latencies,
    get_buffer_size,
    can_sample_rate,
    get_sample_rate,
    set_sample_rate,
    get_clock_sources,
    set_clock_source,
    get_sample_position,
    get_channel_info,
    create_buffers,
    dispose_buffers,
    control_panel,
    future,
    output_ready,
};
