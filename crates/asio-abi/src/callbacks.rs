//! The host callbacks passed to `createBuffers`.

use core::ffi::c_void;

use crate::{AsioBool, AsioTime};

/// Host callback telling it that half `double_buffer_index` of every buffer is ready
/// (inputs filled, outputs to be refilled now); `direct_process` is true when called from
/// the audio thread itself.
pub type BufferSwitchFn = unsafe extern "C" fn(double_buffer_index: i32, direct_process: AsioBool);

/// Host callback telling it that the sample rate changed to `s_rate` Hz.
pub type SampleRateDidChangeFn = unsafe extern "C" fn(s_rate: f64);

/// Host callback for generic messages; `selector` is one of the [`message`](crate::message)
/// constants and the meaning of the other arguments and of the result depends on it.
pub type AsioMessageFn =
    unsafe extern "C" fn(selector: i32, value: i32, message: *mut c_void, opt: *mut f64) -> i32;

/// Host callback like [`BufferSwitchFn`] that also receives the buffer's timing in
/// `params`; returns a pointer the driver ignores.
pub type BufferSwitchTimeInfoFn = unsafe extern "C" fn(
    params: *mut AsioTime,
    double_buffer_index: i32,
    direct_process: AsioBool,
) -> *mut AsioTime;

/// The table of host callbacks a driver receives in `createBuffers`; all use the C calling
/// convention (16 bytes on 32-bit targets, 32 on 64-bit).
///
/// Like the other structures it is declared with 4-byte packing, so its alignment is 4 even
/// on 64-bit targets: a host may legitimately place it at an address that is only 4-byte
/// aligned. Copy it out (`let cb = *callbacks;`) or read fields by value; do not take
/// references to its fields.
#[repr(C, packed(4))]
#[derive(Debug, Clone, Copy, Default)]
pub struct AsioCallbacks {
    /// Called when a half buffer is ready (used when the host does not support time info).
    pub buffer_switch:
        Option<unsafe extern "C" fn(double_buffer_index: i32, direct_process: AsioBool)>,
    /// Called when the sample rate changed.
    pub sample_rate_did_change: Option<unsafe extern "C" fn(s_rate: f64)>,
    /// Generic host message callback (see [`message`](crate::message)).
    pub asio_message: Option<
        unsafe extern "C" fn(selector: i32, value: i32, message: *mut c_void, opt: *mut f64) -> i32,
    >,
    /// Called instead of `buffer_switch` when the host answered
    /// [`SUPPORTS_TIME_INFO`](crate::message::SUPPORTS_TIME_INFO) with 1.
    pub buffer_switch_time_info: Option<
        unsafe extern "C" fn(
            params: *mut AsioTime,
            double_buffer_index: i32,
            direct_process: AsioBool,
        ) -> *mut AsioTime,
    >,
}

impl AsioCallbacks {
    /// Returns a table with every callback absent.
    pub const fn zeroed() -> Self {
        Self {
            buffer_switch: None,
            sample_rate_did_change: None,
            asio_message: None,
            buffer_switch_time_info: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    extern "C" fn switch(_: i32, _: AsioBool) {}

    #[test]
    fn aliases_match_fields() {
        let f: BufferSwitchFn = switch;
        let cb = AsioCallbacks {
            buffer_switch: Some(f),
            ..AsioCallbacks::zeroed()
        };
        // Fields of the packed table are read by value.
        let (switch, message) = (cb.buffer_switch, cb.asio_message);
        assert!(switch.is_some() && message.is_none());
        if let Some(f) = cb.buffer_switch {
            let _: BufferSwitchFn = f;
        }
        let _: Option<SampleRateDidChangeFn> = cb.sample_rate_did_change;
        let _: Option<AsioMessageFn> = cb.asio_message;
        let _: Option<BufferSwitchTimeInfoFn> = cb.buffer_switch_time_info;
    }
}
