//! Layout tables shared by the layout tests.
//!
//! Every entry is keyed by a C expression (`sizeof(T)`, `_Alignof(T)` or `offsetof(T, f)`)
//! so the same keys can be evaluated by a C compiler.

use asio_abi::*;
use std::mem::{align_of, offset_of, size_of};

/// Field names of `IAsioVtbl`, in ABI order.
pub const VTBL_FIELDS: [&str; 24] = [
    "query_interface",
    "add_ref",
    "release",
    "init",
    "get_driver_name",
    "get_driver_version",
    "get_error_message",
    "start",
    "stop",
    "get_channels",
    "get_latencies",
    "get_buffer_size",
    "can_sample_rate",
    "get_sample_rate",
    "set_sample_rate",
    "get_clock_sources",
    "set_clock_source",
    "get_sample_position",
    "get_channel_info",
    "create_buffers",
    "dispose_buffers",
    "control_panel",
    "future",
    "output_ready",
];

macro_rules! layout {
    ($out:ident; $($ty:ident { $($field:ident),* $(,)? })*) => {$(
        $out.push((format!("sizeof({})", stringify!($ty)), size_of::<$ty>()));
        $out.push((format!("_Alignof({})", stringify!($ty)), align_of::<$ty>()));
        $(
            $out.push((
                format!("offsetof({}, {})", stringify!($ty), stringify!($field)),
                offset_of!($ty, $field),
            ));
        )*
    )*};
}

/// The layout of every ABI type as this Rust build lays it out.
pub fn rust_layout() -> Vec<(String, usize)> {
    let mut v = Vec::new();
    layout! { v;
        AsioSamples { hi, lo }
        AsioTimeStamp { hi, lo }
        AsioDriverInfo { asio_version, driver_version, name, error_message, sys_ref }
        AsioClockSource { index, associated_channel, associated_group, is_current_source, name }
        AsioChannelInfo { channel, is_input, is_active, channel_group, sample_type, name }
        AsioBufferInfo { is_input, channel_num, buffers }
        AsioTimeInfo { speed, system_time, sample_position, sample_rate, flags, reserved }
        AsioTimeCode { speed, time_code_samples, flags, future }
        AsioTime { reserved, time_info, time_code }
        AsioCallbacks {
            buffer_switch, sample_rate_did_change, asio_message, buffer_switch_time_info
        }
        AsioInternalBufferInfo { input_samples, output_samples }
        Guid { data1, data2, data3, data4 }
        IAsio { vtbl }
        IAsioVtbl {
            query_interface, add_ref, release, init, get_driver_name, get_driver_version,
            get_error_message, start, stop, get_channels, get_latencies, get_buffer_size,
            can_sample_rate, get_sample_rate, set_sample_rate, get_clock_sources,
            set_clock_source, get_sample_position, get_channel_info, create_buffers,
            dispose_buffers, control_panel, future, output_ready
        }
    }
    v
}

/// The layout an MSVC-compiled host sees with 4-byte packing, for pointers of `p` bytes.
pub fn expected_layout(p: usize) -> Vec<(String, usize)> {
    let mut v = Vec::new();
    let mut add = |ty: &str, size: usize, align: usize, fields: &[(&str, usize)]| {
        v.push((format!("sizeof({ty})"), size));
        v.push((format!("_Alignof({ty})"), align));
        for (f, off) in fields {
            v.push((format!("offsetof({ty}, {f})"), *off));
        }
    };
    add("AsioSamples", 8, 4, &[("hi", 0), ("lo", 4)]);
    add("AsioTimeStamp", 8, 4, &[("hi", 0), ("lo", 4)]);
    add(
        "AsioDriverInfo",
        164 + p,
        4,
        &[
            ("asio_version", 0),
            ("driver_version", 4),
            ("name", 8),
            ("error_message", 40),
            ("sys_ref", 164),
        ],
    );
    add(
        "AsioClockSource",
        48,
        4,
        &[
            ("index", 0),
            ("associated_channel", 4),
            ("associated_group", 8),
            ("is_current_source", 12),
            ("name", 16),
        ],
    );
    add(
        "AsioChannelInfo",
        52,
        4,
        &[
            ("channel", 0),
            ("is_input", 4),
            ("is_active", 8),
            ("channel_group", 12),
            ("sample_type", 16),
            ("name", 20),
        ],
    );
    add(
        "AsioBufferInfo",
        8 + 2 * p,
        4,
        &[("is_input", 0), ("channel_num", 4), ("buffers", 8)],
    );
    add(
        "AsioTimeInfo",
        48,
        4,
        &[
            ("speed", 0),
            ("system_time", 8),
            ("sample_position", 16),
            ("sample_rate", 24),
            ("flags", 32),
            ("reserved", 36),
        ],
    );
    add(
        "AsioTimeCode",
        84,
        4,
        &[
            ("speed", 0),
            ("time_code_samples", 8),
            ("flags", 16),
            ("future", 20),
        ],
    );
    add(
        "AsioTime",
        148,
        4,
        &[("reserved", 0), ("time_info", 16), ("time_code", 64)],
    );
    add(
        "AsioCallbacks",
        4 * p,
        4,
        &[
            ("buffer_switch", 0),
            ("sample_rate_did_change", p),
            ("asio_message", 2 * p),
            ("buffer_switch_time_info", 3 * p),
        ],
    );
    add(
        "AsioInternalBufferInfo",
        8,
        4,
        &[("input_samples", 0), ("output_samples", 4)],
    );
    add(
        "Guid",
        16,
        4,
        &[("data1", 0), ("data2", 4), ("data3", 6), ("data4", 8)],
    );
    add("IAsio", p, p, &[("vtbl", 0)]);
    let vtbl: Vec<(&str, usize)> = VTBL_FIELDS
        .iter()
        .enumerate()
        .map(|(i, f)| (*f, i * p))
        .collect();
    add("IAsioVtbl", 24 * p, p, &vtbl);
    v
}

/// Layout facts about the *unpacked* time structures (a host compiled without the packing
/// pragma), which only a C compiler can evaluate; `ASIO_TIME_ALLOC_SIZE` must cover them.
pub fn unpacked_expectations() -> Vec<(String, usize)> {
    [
        ("sizeof(AsioTimeInfoUnpacked)", 48),
        ("sizeof(AsioTimeCodeUnpacked)", 88),
        ("sizeof(AsioTimeUnpacked)", 152),
        ("offsetof(AsioTimeUnpacked, time_info)", 16),
        ("offsetof(AsioTimeUnpacked, time_code)", 64),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect()
}
