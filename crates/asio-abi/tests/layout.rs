//! Pins the size and field offsets of every ABI type to what an MSVC-compiled host sees
//! with 4-byte packing.

mod common;

use asio_abi::*;
use std::mem::{align_of, offset_of, size_of};

const P: usize = size_of::<usize>();

#[test]
fn every_type_matches_the_expected_layout() {
    let rust = common::rust_layout();
    let expected = common::expected_layout(P);
    let keys = |v: &[(String, usize)]| v.iter().map(|(k, _)| k.clone()).collect::<Vec<_>>();
    assert_eq!(
        keys(&rust),
        keys(&expected),
        "both tables list the same items"
    );
    let mismatches: Vec<String> = rust
        .iter()
        .zip(&expected)
        .filter(|(r, e)| r.1 != e.1)
        .map(|(r, e)| format!("{}: rust {} expected {}", r.0, r.1, e.1))
        .collect();
    assert!(mismatches.is_empty(), "{mismatches:#?}");
    // Every unpacked size the C test checks must fit in the allocation.
    for (k, v) in common::unpacked_expectations() {
        if k.starts_with("sizeof(AsioTimeUnpacked") {
            assert!(v <= ASIO_TIME_ALLOC_SIZE);
        }
    }
}

#[test]
fn counters() {
    for size in [size_of::<AsioSamples>(), size_of::<AsioTimeStamp>()] {
        assert_eq!(size, 8);
    }
    assert_eq!(offset_of!(AsioSamples, hi), 0);
    assert_eq!(offset_of!(AsioSamples, lo), 4);
    assert_eq!(offset_of!(AsioTimeStamp, hi), 0);
    assert_eq!(offset_of!(AsioTimeStamp, lo), 4);
}

#[cfg(target_pointer_width = "64")]
#[test]
fn pointer_bearing_structs_64() {
    assert_eq!(size_of::<AsioDriverInfo>(), 172);
    assert_eq!(offset_of!(AsioDriverInfo, sys_ref), 164);
    assert_eq!(size_of::<AsioBufferInfo>(), 24);
    assert_eq!(offset_of!(AsioBufferInfo, buffers), 8);
    assert_eq!(size_of::<AsioCallbacks>(), 32);
    assert_eq!(size_of::<IAsioVtbl>(), 24 * 8);
}

#[cfg(target_pointer_width = "32")]
#[test]
fn pointer_bearing_structs_32() {
    assert_eq!(size_of::<AsioDriverInfo>(), 168);
    assert_eq!(offset_of!(AsioDriverInfo, sys_ref), 164);
    assert_eq!(size_of::<AsioBufferInfo>(), 16);
    assert_eq!(offset_of!(AsioBufferInfo, buffers), 8);
    assert_eq!(size_of::<AsioCallbacks>(), 16);
    assert_eq!(size_of::<IAsioVtbl>(), 24 * 4);
}

#[test]
fn pointer_free_structs() {
    assert_eq!(size_of::<AsioClockSource>(), 48);
    assert_eq!(size_of::<AsioChannelInfo>(), 52);
    assert_eq!(size_of::<AsioTimeInfo>(), 48);
    assert_eq!(size_of::<AsioTimeCode>(), 84);
    assert_eq!(offset_of!(AsioTimeCode, flags), 16);
    assert_eq!(offset_of!(AsioTimeCode, future), 20);
    assert_eq!(size_of::<AsioTime>(), 148);
    assert_eq!(offset_of!(AsioTime, time_info), 16);
    assert_eq!(offset_of!(AsioTime, time_code), 64);
    assert_eq!(size_of::<AsioInternalBufferInfo>(), 8);
    assert_eq!(size_of::<Guid>(), 16);
}

#[test]
fn vtable_has_24_entries_in_order() {
    assert_eq!(IASIO_VTBL_ENTRIES, 24);
    assert_eq!(size_of::<IAsioVtbl>(), IASIO_VTBL_ENTRIES * P);
    assert_eq!(offset_of!(IAsioVtbl, query_interface), 0);
    assert_eq!(offset_of!(IAsioVtbl, release), 2 * P);
    assert_eq!(offset_of!(IAsioVtbl, init), 3 * P);
    assert_eq!(offset_of!(IAsioVtbl, create_buffers), 19 * P);
    assert_eq!(offset_of!(IAsioVtbl, future), 22 * P);
    assert_eq!(offset_of!(IAsioVtbl, output_ready), 23 * P);
    assert_eq!(offset_of!(IAsio, vtbl), 0);
    assert_eq!(size_of::<IAsio>(), P);
}

/// `AsioTime` as a host compiled without the packing pragma declares it.
#[repr(C)]
struct AsioTimeInfoUnpacked {
    _speed: f64,
    _system_time: AsioTimeStamp,
    _sample_position: AsioSamples,
    _sample_rate: f64,
    _flags: u32,
    _reserved: [u8; 12],
}

#[repr(C)]
struct AsioTimeCodeUnpacked {
    _speed: f64,
    _time_code_samples: AsioSamples,
    _flags: u32,
    _future: [u8; 64],
}

#[repr(C)]
struct AsioTimeUnpacked {
    _reserved: [i32; 4],
    time_info: AsioTimeInfoUnpacked,
    time_code: AsioTimeCodeUnpacked,
}

#[test]
fn time_allocation_covers_packed_and_unpacked_hosts() {
    assert_eq!(ASIO_TIME_ALLOC_SIZE, 152);
    assert!(ASIO_TIME_ALLOC_SIZE >= size_of::<AsioTime>());
    assert!(ASIO_TIME_ALLOC_SIZE >= size_of::<AsioTimeUnpacked>());
    assert_eq!(offset_of!(AsioTimeUnpacked, time_info), 16);
    assert_eq!(offset_of!(AsioTimeUnpacked, time_code), 64);
    if align_of::<f64>() == 8 {
        // What MSVC does on both x86 and x64.
        assert_eq!(size_of::<AsioTimeCodeUnpacked>(), 88);
        assert_eq!(size_of::<AsioTimeUnpacked>(), 152);
    }
    assert_eq!(size_of::<AsioTimeBuffer>(), ASIO_TIME_ALLOC_SIZE);
    assert_eq!(align_of::<AsioTimeBuffer>(), 8);
}

#[test]
fn name_buffer_lengths() {
    let info = AsioDriverInfo::zeroed();
    let clock = AsioClockSource::zeroed();
    let chan = AsioChannelInfo::zeroed();
    assert_eq!((ASIO_DRIVER_NAME_LEN, ASIO_ERROR_MESSAGE_LEN), (32, 124));
    assert_eq!((ASIO_CLOCK_NAME_LEN, ASIO_CHANNEL_NAME_LEN), (32, 32));
    assert_eq!(info.name.len(), ASIO_DRIVER_NAME_LEN);
    assert_eq!(info.error_message.len(), ASIO_ERROR_MESSAGE_LEN);
    assert_eq!(clock.name.len(), ASIO_CLOCK_NAME_LEN);
    assert_eq!(chan.name.len(), ASIO_CHANNEL_NAME_LEN);
}
