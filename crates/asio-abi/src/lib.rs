//! License-clean Rust declarations of the ASIO audio driver ABI.
//!
//! ASIO ("Audio Stream Input/Output") is the low-latency audio driver interface used by
//! digital audio workstations and other pro-audio hosts on Windows. A driver is an in-process
//! COM object (a DLL registered under `HKLM\SOFTWARE\ASIO`) that exposes one interface,
//! `IASIO`; the host loads it, negotiates channels, sample rate and buffer size, and is then
//! called back from the driver's audio thread every time half of a double buffer is ready.
//!
//! This crate declares that binary interface and nothing else: plain types, constants and
//! function-pointer types that either side (driver or host) can build on. It is `#![no_std]`,
//! has no dependencies and contains no `unsafe` code.
//!
//! # What is in the crate
//!
//! - Basic types and codes: [`AsioBool`], [`AsioError`] with the `ASE_*` codes and
//!   [`error_name`], sample formats ([`AsioSampleType`], the `ASIO_ST_*` codes and the
//!   [`SampleType`] enum).
//! - 64-bit counters split into two words: [`AsioSamples`] and [`AsioTimeStamp`].
//! - The structures exchanged through the interface: [`AsioDriverInfo`],
//!   [`AsioClockSource`], [`AsioChannelInfo`], [`AsioBufferInfo`], [`AsioTimeInfo`],
//!   [`AsioTimeCode`], [`AsioTime`], [`AsioCallbacks`] and [`AsioInternalBufferInfo`].
//! - Selectors for the host's message callback ([`message`]) and for the driver's
//!   `future()` method ([`future`]).
//! - The COM side: [`Guid`], [`HResult`] codes, the object layout [`IAsio`], its vtable
//!   [`IAsioVtbl`] and one type alias per method (for example [`InitFn`]).
//! - Safe helpers for the fixed-size C string buffers: [`write_c_string`] and
//!   [`c_string_bytes`].
//!
//! # Calling conventions
//!
//! - The three `IUnknown` methods (`QueryInterface`, `AddRef`, `Release`) follow the COM rule
//!   and use `extern "system"` (stdcall on 32-bit x86).
//! - The 21 `IASIO` methods are C++ virtual member functions. On 64-bit Windows there is a
//!   single calling convention, so they are `extern "system"` there. On 32-bit x86 they use
//!   **thiscall** (the object pointer travels in `ECX`), declared here as
//!   `extern "thiscall"` behind `cfg(target_arch = "x86")`. The method type aliases already
//!   pick the right one for the target.
//! - The host callbacks in [`AsioCallbacks`] use the C calling convention (`extern "C"`).
//!
//! # Packing
//!
//! Hosts and drivers are compiled with 4-byte structure packing (`#pragma pack(4)` under
//! MSVC). The structures are therefore declared `#[repr(C, packed(4))]`: no field is aligned
//! to more than 4 bytes, which matters for the `f64` fields and, on 64-bit targets, for the
//! pointer fields. For example [`AsioDriverInfo`] is 172 bytes on x64 with `sys_ref` at
//! offset 164, and [`AsioTime`] is 148 bytes. Because of the packing, Rust does not allow
//! references to the fields of these structs; read and write them by value
//! (`let rate = info.sample_rate;`). The layouts are pinned by the crate's tests, which
//! cross-check them against a C compiler.
//!
//! # Allocating `AsioTime`
//!
//! The driver owns the [`AsioTime`] it passes to the host's `bufferSwitchTimeInfo`
//! callback. Packed it is 148 bytes, but a host compiled without the packing pragma sees
//! 152 bytes (the time-code part grows from 84 to 88 bytes; the offsets of `time_info` and
//! `time_code` stay 16 and 64 either way). Allocate at least [`ASIO_TIME_ALLOC_SIZE`]
//! (152) bytes, for example with [`AsioTimeBuffer`], so that hosts compiled either way are
//! safe.
//!
//! # Timestamps and hi/lo words
//!
//! [`AsioSamples`] (a sample position) and [`AsioTimeStamp`] (a system time) are 64-bit
//! unsigned counters stored as two 32-bit words, **high word first**. Use
//! [`AsioSamples::from_u64`] / [`AsioSamples::to_u64`] (or the `From` conversions) instead
//! of touching the words. Timestamps are in **nanoseconds** on the clock of the Windows
//! `timeGetTime()` function, because hosts compare them against it; a driver may use a
//! finer clock as long as it is aligned to that epoch.
//!
//! # Example
//!
//! What a driver's `getChannelInfo` and `bufferSwitchTimeInfo` paths might fill in:
//!
//! ```
//! use asio_abi::*;
//!
//! // The host set `channel` and `is_input`; the driver fills in the rest.
//! let mut info = AsioChannelInfo::zeroed();
//! info.is_active = ASIO_TRUE;
//! info.sample_type = SampleType::Float32Lsb.to_raw();
//! info.set_name("Analog In 1");
//! assert_eq!(info.name(), "Analog In 1");
//!
//! // Timing for one buffer switch, in storage large enough for any host.
//! let mut time = AsioTimeBuffer::zeroed();
//! let ti = &mut time.time.time_info;
//! ti.sample_position = AsioSamples::from_u64(48_000 * 3600);
//! ti.system_time = AsioTimeStamp::from_u64(5_000_000_000); // ns on the timeGetTime clock
//! ti.sample_rate = 48_000.0;
//! ti.flags = TIME_INFO_SYSTEM_TIME_VALID
//!     | TIME_INFO_SAMPLE_POSITION_VALID
//!     | TIME_INFO_SAMPLE_RATE_VALID;
//! let _params: *mut AsioTime = time.as_mut_ptr();
//!
//! assert_eq!(error_name(ASE_INVALID_MODE), Some("ASE_InvalidMode"));
//! assert_eq!(message::name(message::RESET_REQUEST), Some("ResetRequest"));
//! ```
//!
//! # Trademark
//!
//! "ASIO" is a trademark and software of Steinberg Media Technologies GmbH. This crate is
//! not affiliated with or endorsed by Steinberg. It was written independently from public
//! descriptions of the binary interface and contains no code or text from Steinberg's ASIO
//! SDK.
//!
//! # License
//!
//! Licensed under either of the Apache License, Version 2.0 or the MIT license, at your
//! option.
#![no_std]
#![deny(missing_docs)]
#![forbid(unsafe_code)]

mod callbacks;
mod com;
mod cstr;
mod error;
pub mod future;
mod guid;
mod layout;
pub mod message;
mod samples;
mod structs;
mod time;
mod vtbl;

pub use callbacks::{
    AsioCallbacks, AsioMessageFn, BufferSwitchFn, BufferSwitchTimeInfoFn, SampleRateDidChangeFn,
};
pub use com::{
    HResult, CLASS_E_CLASSNOTAVAILABLE, CLASS_E_NOAGGREGATION, E_FAIL, E_INVALIDARG, E_NOINTERFACE,
    E_NOTIMPL, E_OUTOFMEMORY, E_POINTER, E_UNEXPECTED, IID_ICLASSFACTORY, IID_IUNKNOWN, S_FALSE,
    S_OK,
};
pub use cstr::{c_string_bytes, write_c_string, CStringBytes};
pub use error::{
    error_name, AsioBool, AsioError, ASE_HW_MALFUNCTION, ASE_INVALID_MODE, ASE_INVALID_PARAMETER,
    ASE_NOT_PRESENT, ASE_NO_CLOCK, ASE_NO_MEMORY, ASE_OK, ASE_SP_NOT_ADVANCING, ASE_SUCCESS,
    ASIO_FALSE, ASIO_TRUE,
};
pub use guid::Guid;
pub use samples::{
    AsioSampleType, SampleType, UnknownSampleType, ASIO_ST_DSD_INT8_LSB1, ASIO_ST_DSD_INT8_MSB1,
    ASIO_ST_DSD_INT8_NER8, ASIO_ST_FLOAT32_LSB, ASIO_ST_FLOAT32_MSB, ASIO_ST_FLOAT64_LSB,
    ASIO_ST_FLOAT64_MSB, ASIO_ST_INT16_LSB, ASIO_ST_INT16_MSB, ASIO_ST_INT24_LSB,
    ASIO_ST_INT24_MSB, ASIO_ST_INT32_LSB, ASIO_ST_INT32_LSB16, ASIO_ST_INT32_LSB18,
    ASIO_ST_INT32_LSB20, ASIO_ST_INT32_LSB24, ASIO_ST_INT32_MSB, ASIO_ST_INT32_MSB16,
    ASIO_ST_INT32_MSB18, ASIO_ST_INT32_MSB20, ASIO_ST_INT32_MSB24,
};
pub use structs::{
    AsioBufferInfo, AsioChannelInfo, AsioClockSource, AsioDriverInfo, AsioInternalBufferInfo,
    ASIO_CHANNEL_NAME_LEN, ASIO_CLOCK_NAME_LEN, ASIO_DRIVER_NAME_LEN, ASIO_ERROR_MESSAGE_LEN,
};
pub use time::{
    AsioSamples, AsioTime, AsioTimeBuffer, AsioTimeCode, AsioTimeInfo, AsioTimeStamp,
    ASIO_TIME_ALLOC_SIZE, TIME_CODE_ONSPEED, TIME_CODE_REVERSE, TIME_CODE_RUNNING,
    TIME_CODE_SPEED_VALID, TIME_CODE_STILL, TIME_CODE_VALID, TIME_INFO_CLOCK_SOURCE_CHANGED,
    TIME_INFO_SAMPLE_POSITION_VALID, TIME_INFO_SAMPLE_RATE_CHANGED, TIME_INFO_SAMPLE_RATE_VALID,
    TIME_INFO_SPEED_VALID, TIME_INFO_SYSTEM_TIME_VALID,
};
pub use vtbl::{
    AddRefFn, CanSampleRateFn, ControlPanelFn, CreateBuffersFn, DisposeBuffersFn, FutureFn,
    GetBufferSizeFn, GetChannelInfoFn, GetChannelsFn, GetClockSourcesFn, GetDriverNameFn,
    GetDriverVersionFn, GetErrorMessageFn, GetLatenciesFn, GetSamplePositionFn, GetSampleRateFn,
    IAsio, IAsioVtbl, InitFn, OutputReadyFn, QueryInterfaceFn, ReleaseFn, SetClockSourceFn,
    SetSampleRateFn, StartFn, StopFn, IASIO_VTBL_ENTRIES,
};
