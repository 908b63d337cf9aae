//! Compile-time checks that every structure has the layout an MSVC-compiled host sees with
//! 4-byte packing, on whatever target the crate is built for.

use core::mem::{align_of, offset_of, size_of};

use crate::*;

/// Size of a pointer on the target (4 on 32-bit x86, 8 on x64).
const P: usize = size_of::<usize>();

const _: () = {
    assert!(size_of::<AsioSamples>() == 8 && offset_of!(AsioSamples, hi) == 0);
    assert!(offset_of!(AsioSamples, lo) == 4);
    assert!(size_of::<AsioTimeStamp>() == 8 && offset_of!(AsioTimeStamp, hi) == 0);
    assert!(offset_of!(AsioTimeStamp, lo) == 4);

    assert!(size_of::<AsioDriverInfo>() == 164 + P);
    assert!(offset_of!(AsioDriverInfo, name) == 8);
    assert!(offset_of!(AsioDriverInfo, error_message) == 40);
    assert!(offset_of!(AsioDriverInfo, sys_ref) == 164);

    assert!(size_of::<AsioClockSource>() == 48 && offset_of!(AsioClockSource, name) == 16);
    assert!(size_of::<AsioChannelInfo>() == 52 && offset_of!(AsioChannelInfo, name) == 20);
    assert!(offset_of!(AsioChannelInfo, sample_type) == 16);

    assert!(size_of::<AsioBufferInfo>() == 8 + 2 * P);
    assert!(offset_of!(AsioBufferInfo, buffers) == 8);

    assert!(size_of::<AsioTimeInfo>() == 48);
    assert!(offset_of!(AsioTimeInfo, sample_rate) == 24 && offset_of!(AsioTimeInfo, flags) == 32);
    assert!(size_of::<AsioTimeCode>() == 84);
    assert!(offset_of!(AsioTimeCode, flags) == 16 && offset_of!(AsioTimeCode, future) == 20);
    assert!(size_of::<AsioTime>() == 148);
    assert!(offset_of!(AsioTime, time_info) == 16 && offset_of!(AsioTime, time_code) == 64);
    assert!(ASIO_TIME_ALLOC_SIZE >= size_of::<AsioTime>());
    assert!(size_of::<AsioTimeBuffer>() == ASIO_TIME_ALLOC_SIZE);

    assert!(size_of::<AsioCallbacks>() == 4 * P);
    assert!(offset_of!(AsioCallbacks, buffer_switch_time_info) == 3 * P);
    assert!(size_of::<AsioInternalBufferInfo>() == 8);

    assert!(size_of::<Guid>() == 16 && align_of::<Guid>() == 4);
    assert!(size_of::<IAsio>() == P);
    assert!(size_of::<IAsioVtbl>() == IASIO_VTBL_ENTRIES * P);
    assert!(offset_of!(IAsioVtbl, init) == 3 * P);
    assert!(offset_of!(IAsioVtbl, output_ready) == 23 * P);

    // 4-byte packing: nothing the host declares under the pragma is aligned beyond 4.
    assert!(align_of::<AsioDriverInfo>() == 4 && align_of::<AsioBufferInfo>() == 4);
    assert!(align_of::<AsioTime>() == 4 && align_of::<AsioCallbacks>() == 4);
};
