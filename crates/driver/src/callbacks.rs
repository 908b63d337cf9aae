//! Adapts the host's four C callbacks to the engine's host traits.
//!
//! # Safety invariant
//! The function pointers come from the host's `ASIOCallbacks`, copied at
//! `createBuffers`. The ASIO contract makes them valid until
//! `disposeBuffers` returns. Only two threads call them: the stream's
//! driver thread, which `disposeBuffers` ends first (or, called from inside
//! the switch, makes that switch the last), and the engine's messenger,
//! from which `disposeBuffers` detaches them and whose delivery under way
//! it waits for. So no call happens after `disposeBuffers` returned, even
//! though an adapter may be dropped later (with a stream's context). Arguments we pass are plain values, null pointers, or the
//! `AsioTime` this module owns and keeps alive across the call.

#![allow(unsafe_code)]

use std::sync::Arc;

use asio_abi::{
    message, AsioCallbacks, AsioSamples, AsioTimeBuffer, AsioTimeStamp, ASIO_TRUE,
    TIME_INFO_SAMPLE_POSITION_VALID, TIME_INFO_SAMPLE_RATE_VALID, TIME_INFO_SPEED_VALID,
    TIME_INFO_SYSTEM_TIME_VALID,
};
use tenuto_engine::host::{HostCallbacks, HostMessages, PeriodTime, SwitchCallback};
use tenuto_engine::EngineError;

type MessageFn = unsafe extern "C" fn(i32, i32, *mut std::ffi::c_void, *mut f64) -> i32;
type RateFn = unsafe extern "C" fn(f64);
type SwitchFn = unsafe extern "C" fn(i32, i32);
type SwitchTimeFn =
    unsafe extern "C" fn(*mut asio_abi::AsioTime, i32, i32) -> *mut asio_abi::AsioTime;

struct RawMessages {
    asio_message: Option<MessageFn>,
    rate_changed: Option<RateFn>,
}

impl HostMessages for RawMessages {
    fn message(&self, selector: i32, value: i32) -> i32 {
        match self.asio_message {
            // SAFETY: valid host callback (module invariant); null pointers
            // are what the ASIO contract passes for these selectors.
            Some(f) => unsafe { f(selector, value, std::ptr::null_mut(), std::ptr::null_mut()) },
            None => 0,
        }
    }

    fn sample_rate_did_change(&self, rate: f64) {
        if let Some(f) = self.rate_changed {
            // SAFETY: valid host callback (module invariant).
            unsafe { f(rate) }
        }
    }
}

enum Switch {
    Plain(SwitchFn),
    TimeInfo(SwitchTimeFn, Box<AsioTimeBuffer>),
}

struct RawSwitch(Switch);

impl SwitchCallback for RawSwitch {
    fn buffer_switch(&mut self, half: usize, time: &PeriodTime) {
        let index = if half == 0 { 0 } else { 1 };
        match &mut self.0 {
            Switch::Plain(f) => {
                // SAFETY: valid host callback (module invariant).
                unsafe { f(index, ASIO_TRUE) }
            }
            Switch::TimeInfo(f, buffer) => {
                let t = &mut buffer.time.time_info;
                t.speed = 1.0;
                t.system_time = AsioTimeStamp::from_u64(time.system_time_ns);
                t.sample_position = AsioSamples::from_u64(time.sample_position);
                t.sample_rate = time.sample_rate;
                t.flags = TIME_INFO_SYSTEM_TIME_VALID
                    | TIME_INFO_SAMPLE_POSITION_VALID
                    | TIME_INFO_SAMPLE_RATE_VALID
                    | TIME_INFO_SPEED_VALID;
                let ptr = buffer.as_mut_ptr();
                // SAFETY: valid host callback; `ptr` points to our own
                // 152-byte AsioTime, alive for the whole call.
                unsafe {
                    f(ptr, index, ASIO_TRUE);
                }
            }
        }
    }
}

/// Builds the engine's host adapters from the host's callback table.
/// Asks the host whether it wants `bufferSwitchTimeInfo`.
pub fn adapt(cb: &AsioCallbacks) -> Result<(HostCallbacks, bool), EngineError> {
    // Copy the fields out: the struct is packed, so no references into it.
    let (buffer_switch, switch_time_info) = (cb.buffer_switch, cb.buffer_switch_time_info);
    let (asio_message, rate_changed) = (cb.asio_message, cb.sample_rate_did_change);
    let switch = buffer_switch.ok_or_else(|| EngineError::InvalidParameter {
        call: "createBuffers",
        message: "the host's bufferSwitch callback is null".to_owned(),
    })?;
    let messages = Arc::new(RawMessages {
        asio_message,
        rate_changed,
    });
    let wants_time_info =
        messages.message(message::SELECTOR_SUPPORTED, message::SUPPORTS_TIME_INFO) == 1
            && messages.message(message::SUPPORTS_TIME_INFO, 0) == 1;
    let switch = match switch_time_info {
        Some(f) if wants_time_info => Switch::TimeInfo(f, Box::default()),
        _ => Switch::Plain(switch),
    };
    let time_info = matches!(switch, Switch::TimeInfo(..));
    Ok((
        HostCallbacks {
            switch: Box::new(RawSwitch(switch)),
            messages,
        },
        time_info,
    ))
}
