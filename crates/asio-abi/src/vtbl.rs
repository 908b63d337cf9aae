//! The `IASIO` COM object layout and its vtable.

use core::ffi::{c_char, c_void};

use crate::{
    AsioBool, AsioBufferInfo, AsioCallbacks, AsioChannelInfo, AsioClockSource, AsioError,
    AsioSamples, AsioTimeStamp, Guid, HResult,
};

/// The driver object as a host sees it: a pointer to its vtable must be the object's first
/// field, because some hosts use the object pointer without calling `QueryInterface`.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IAsio {
    /// The object's vtable.
    pub vtbl: *const IAsioVtbl,
}

impl IAsio {
    /// Returns an object header whose vtable pointer is null (to be filled in later).
    pub const fn zeroed() -> Self {
        Self {
            vtbl: core::ptr::null(),
        }
    }
}

/// `IUnknown::QueryInterface`: stores the interface `riid` of `this` in `*ppv` and returns
/// [`S_OK`](crate::S_OK), or stores null and returns
/// [`E_NOINTERFACE`](crate::E_NOINTERFACE).
pub type QueryInterfaceFn = unsafe extern "system" fn(
    this: *mut IAsio,
    riid: *const Guid,
    ppv: *mut *mut c_void,
) -> HResult;

/// `IUnknown::AddRef`: increments the reference count and returns the new count.
pub type AddRefFn = unsafe extern "system" fn(this: *mut IAsio) -> u32;

/// `IUnknown::Release`: decrements the reference count, frees the object at zero, and
/// returns the new count.
pub type ReleaseFn = unsafe extern "system" fn(this: *mut IAsio) -> u32;

/// Declares an `IASIO` method type once, as `extern "thiscall"` on 32-bit x86 and
/// `extern "system"` everywhere else.
macro_rules! asio_methods {
    ($(
        $(#[$doc:meta])*
        $name:ident = fn($($arg:ident: $ty:ty),* $(,)?) $(-> $ret:ty)?;
    )*) => {$(
        $(#[$doc])*
        #[cfg(target_arch = "x86")]
        pub type $name = unsafe extern "thiscall" fn($($arg: $ty),*) $(-> $ret)?;

        $(#[$doc])*
        #[cfg(not(target_arch = "x86"))]
        pub type $name = unsafe extern "system" fn($($arg: $ty),*) $(-> $ret)?;
    )*};
}

asio_methods! {
    /// `init`: prepares the driver; `sys_handle` is the host's main window handle. Returns
    /// [`ASIO_TRUE`](crate::ASIO_TRUE) on success.
    InitFn = fn(this: *mut IAsio, sys_handle: *mut c_void) -> AsioBool;
    /// `getDriverName`: writes the driver name into a
    /// [`ASIO_DRIVER_NAME_LEN`](crate::ASIO_DRIVER_NAME_LEN)-byte buffer.
    GetDriverNameFn = fn(this: *mut IAsio, name: *mut c_char);
    /// `getDriverVersion`: returns the driver's version number.
    GetDriverVersionFn = fn(this: *mut IAsio) -> i32;
    /// `getErrorMessage`: writes the last error message into a
    /// [`ASIO_ERROR_MESSAGE_LEN`](crate::ASIO_ERROR_MESSAGE_LEN)-byte buffer.
    GetErrorMessageFn = fn(this: *mut IAsio, string: *mut c_char);
    /// `start`: starts streaming (buffer switches begin).
    StartFn = fn(this: *mut IAsio) -> AsioError;
    /// `stop`: stops streaming; the driver must not call the host after it returns.
    StopFn = fn(this: *mut IAsio) -> AsioError;
    /// `getChannels`: reports the number of input and output channels.
    GetChannelsFn = fn(this: *mut IAsio, num_inputs: *mut i32, num_outputs: *mut i32) -> AsioError;
    /// `getLatencies`: reports the input and output latencies in samples.
    GetLatenciesFn = fn(this: *mut IAsio, input: *mut i32, output: *mut i32) -> AsioError;
    /// `getBufferSize`: reports the minimum, maximum and preferred buffer sizes in samples
    /// and the granularity (-1 means powers of two; 0 when min equals max).
    GetBufferSizeFn = fn(
        this: *mut IAsio,
        min: *mut i32,
        max: *mut i32,
        preferred: *mut i32,
        granularity: *mut i32,
    ) -> AsioError;
    /// `canSampleRate`: returns [`ASE_OK`](crate::ASE_OK) if `rate` is supported.
    CanSampleRateFn = fn(this: *mut IAsio, rate: f64) -> AsioError;
    /// `getSampleRate`: reports the current sample rate in Hz.
    GetSampleRateFn = fn(this: *mut IAsio, rate: *mut f64) -> AsioError;
    /// `setSampleRate`: switches to the sample rate `rate` in Hz.
    SetSampleRateFn = fn(this: *mut IAsio, rate: f64) -> AsioError;
    /// `getClockSources`: fills up to `*num_sources` entries of `clocks` and stores the
    /// number filled.
    GetClockSourcesFn =
        fn(this: *mut IAsio, clocks: *mut AsioClockSource, num_sources: *mut i32) -> AsioError;
    /// `setClockSource`: selects the clock with index `reference`.
    SetClockSourceFn = fn(this: *mut IAsio, reference: i32) -> AsioError;
    /// `getSamplePosition`: reports the sample position and system time of the current
    /// buffer half.
    GetSamplePositionFn =
        fn(this: *mut IAsio, pos: *mut AsioSamples, stamp: *mut AsioTimeStamp) -> AsioError;
    /// `getChannelInfo`: fills `info` for the channel and direction the host set in it.
    GetChannelInfoFn = fn(this: *mut IAsio, info: *mut AsioChannelInfo) -> AsioError;
    /// `createBuffers`: allocates the double buffers for the `num_channels` entries of
    /// `infos`, each `buffer_size` samples long, and remembers the host `callbacks`.
    CreateBuffersFn = fn(
        this: *mut IAsio,
        infos: *mut AsioBufferInfo,
        num_channels: i32,
        buffer_size: i32,
        callbacks: *const AsioCallbacks,
    ) -> AsioError;
    /// `disposeBuffers`: frees the buffers made by `createBuffers` (stopping first if
    /// needed).
    DisposeBuffersFn = fn(this: *mut IAsio) -> AsioError;
    /// `controlPanel`: opens the driver's settings window.
    ControlPanelFn = fn(this: *mut IAsio) -> AsioError;
    /// `future`: extension entry point; `selector` is one of the
    /// [`future`](crate::future) constants and `opt` depends on it. Returns
    /// [`ASE_SUCCESS`](crate::ASE_SUCCESS) when handled.
    FutureFn = fn(this: *mut IAsio, selector: i32, opt: *mut c_void) -> AsioError;
    /// `outputReady`: the host has filled the output half early; return
    /// [`ASE_OK`](crate::ASE_OK) only if that really lets the driver cut a period of latency.
    OutputReadyFn = fn(this: *mut IAsio) -> AsioError;
}

/// Number of entries in [`IAsioVtbl`]: 3 `IUnknown` methods and 21 `IASIO` methods.
pub const IASIO_VTBL_ENTRIES: usize = 24;

/// The `IASIO` vtable: the `IUnknown` methods followed by the ASIO methods, in ABI order.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct IAsioVtbl {
    /// `IUnknown::QueryInterface`.
    pub query_interface: QueryInterfaceFn,
    /// `IUnknown::AddRef`.
    pub add_ref: AddRefFn,
    /// `IUnknown::Release`.
    pub release: ReleaseFn,
    /// `init`.
    pub init: InitFn,
    /// `getDriverName`.
    pub get_driver_name: GetDriverNameFn,
    /// `getDriverVersion`.
    pub get_driver_version: GetDriverVersionFn,
    /// `getErrorMessage`.
    pub get_error_message: GetErrorMessageFn,
    /// `start`.
    pub start: StartFn,
    /// `stop`.
    pub stop: StopFn,
    /// `getChannels`.
    pub get_channels: GetChannelsFn,
    /// `getLatencies`.
    pub get_latencies: GetLatenciesFn,
    /// `getBufferSize`.
    pub get_buffer_size: GetBufferSizeFn,
    /// `canSampleRate`.
    pub can_sample_rate: CanSampleRateFn,
    /// `getSampleRate`.
    pub get_sample_rate: GetSampleRateFn,
    /// `setSampleRate`.
    pub set_sample_rate: SetSampleRateFn,
    /// `getClockSources`.
    pub get_clock_sources: GetClockSourcesFn,
    /// `setClockSource`.
    pub set_clock_source: SetClockSourceFn,
    /// `getSamplePosition`.
    pub get_sample_position: GetSamplePositionFn,
    /// `getChannelInfo`.
    pub get_channel_info: GetChannelInfoFn,
    /// `createBuffers`.
    pub create_buffers: CreateBuffersFn,
    /// `disposeBuffers`.
    pub dispose_buffers: DisposeBuffersFn,
    /// `controlPanel`.
    pub control_panel: ControlPanelFn,
    /// `future`.
    pub future: FutureFn,
    /// `outputReady`.
    pub output_ready: OutputReadyFn,
}
