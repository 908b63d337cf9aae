//! Builds a complete `IAsioVtbl` from functions with the documented signatures, which pins
//! every method type (argument types, return type and calling convention) at compile time.

use asio_abi::*;
use std::ffi::{c_char, c_void};
use std::mem::size_of;

/// Declares test methods with the calling convention the IASIO methods use on the target.
macro_rules! methods {
    ($(fn $name:ident($($arg:ident: $ty:ty),*) $(-> $ret:ty)? $body:block)*) => {$(
        #[cfg(target_arch = "x86")]
        extern "thiscall" fn $name($($arg: $ty),*) $(-> $ret)? $body
        #[cfg(not(target_arch = "x86"))]
        extern "system" fn $name($($arg: $ty),*) $(-> $ret)? $body
    )*};
}

extern "system" fn query_interface(
    _this: *mut IAsio,
    _riid: *const Guid,
    _ppv: *mut *mut c_void,
) -> HResult {
    E_NOINTERFACE
}
extern "system" fn add_ref(_this: *mut IAsio) -> u32 {
    2
}
extern "system" fn release(_this: *mut IAsio) -> u32 {
    1
}

methods! {
    fn init(_this: *mut IAsio, _sys_handle: *mut c_void) -> AsioBool { ASIO_TRUE }
    fn get_driver_name(_this: *mut IAsio, _name: *mut c_char) {}
    fn get_driver_version(_this: *mut IAsio) -> i32 { 1 }
    fn get_error_message(_this: *mut IAsio, _string: *mut c_char) {}
    fn start(_this: *mut IAsio) -> AsioError { ASE_OK }
    fn stop(_this: *mut IAsio) -> AsioError { ASE_OK }
    fn get_channels(_this: *mut IAsio, _i: *mut i32, _o: *mut i32) -> AsioError { ASE_OK }
    fn get_latencies(_this: *mut IAsio, _i: *mut i32, _o: *mut i32) -> AsioError { ASE_OK }
    fn get_buffer_size(
        _this: *mut IAsio,
        _min: *mut i32,
        _max: *mut i32,
        _preferred: *mut i32,
        _granularity: *mut i32
    ) -> AsioError { ASE_OK }
    fn can_sample_rate(_this: *mut IAsio, _rate: f64) -> AsioError { ASE_NO_CLOCK }
    fn get_sample_rate(_this: *mut IAsio, _rate: *mut f64) -> AsioError { ASE_OK }
    fn set_sample_rate(_this: *mut IAsio, _rate: f64) -> AsioError { ASE_OK }
    fn get_clock_sources(
        _this: *mut IAsio,
        _clocks: *mut AsioClockSource,
        _num: *mut i32
    ) -> AsioError { ASE_OK }
    fn set_clock_source(_this: *mut IAsio, _reference: i32) -> AsioError { ASE_OK }
    fn get_sample_position(
        _this: *mut IAsio,
        _pos: *mut AsioSamples,
        _stamp: *mut AsioTimeStamp
    ) -> AsioError { ASE_SP_NOT_ADVANCING }
    fn get_channel_info(_this: *mut IAsio, _info: *mut AsioChannelInfo) -> AsioError {
        ASE_OK
    }
    fn create_buffers(
        _this: *mut IAsio,
        _infos: *mut AsioBufferInfo,
        _num_channels: i32,
        _buffer_size: i32,
        _callbacks: *const AsioCallbacks
    ) -> AsioError { ASE_OK }
    fn dispose_buffers(_this: *mut IAsio) -> AsioError { ASE_OK }
    fn control_panel(_this: *mut IAsio) -> AsioError { ASE_OK }
    fn future(_this: *mut IAsio, _selector: i32, _opt: *mut c_void) -> AsioError {
        ASE_SUCCESS
    }
    fn output_ready(_this: *mut IAsio) -> AsioError { ASE_NOT_PRESENT }
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

#[test]
fn vtable_can_be_built_statically() {
    let object = IAsio { vtbl: &VTBL };
    assert!(std::ptr::eq(object.vtbl, &VTBL));
    assert_eq!(
        size_of::<IAsioVtbl>(),
        IASIO_VTBL_ENTRIES * size_of::<usize>()
    );
    // The aliases name the field types.
    let _: InitFn = VTBL.init;
    let _: QueryInterfaceFn = VTBL.query_interface;
    let _: AddRefFn = VTBL.add_ref;
    let _: ReleaseFn = VTBL.release;
    let _: GetBufferSizeFn = VTBL.get_buffer_size;
    let _: CreateBuffersFn = VTBL.create_buffers;
    let _: FutureFn = VTBL.future;
    let _: OutputReadyFn = VTBL.output_ready;
    let _ = format!("{VTBL:?}");
}

#[test]
fn callbacks_table_with_c_functions() {
    extern "C" fn buffer_switch(_index: i32, _direct: AsioBool) {}
    extern "C" fn rate_changed(_rate: f64) {}
    extern "C" fn message(_sel: i32, _value: i32, _msg: *mut c_void, _opt: *mut f64) -> i32 {
        0
    }
    extern "C" fn switch_time_info(
        params: *mut AsioTime,
        _index: i32,
        _direct: AsioBool,
    ) -> *mut AsioTime {
        params
    }
    let cb = AsioCallbacks {
        buffer_switch: Some(buffer_switch),
        sample_rate_did_change: Some(rate_changed),
        asio_message: Some(message),
        buffer_switch_time_info: Some(switch_time_info),
    };
    let (switch, time_info) = (cb.buffer_switch, cb.buffer_switch_time_info);
    assert!(switch.is_some() && time_info.is_some());
    let empty = AsioCallbacks::default();
    assert!({ empty.asio_message }.is_none());
}
