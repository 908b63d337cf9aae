//! Known-answer unit tests at the edges, and the format metadata.

#![allow(
    clippy::indexing_slicing,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic
)]

use super::*;

/// Converts one device sample (mono) to `host`.
fn d2h(device: DeviceFormat, sample: &[u8], host: HostFormat) -> Vec<u8> {
    let mut out = vec![0u8; host.bytes_per_sample()];
    assert_eq!(device_to_host(sample, device, 1, 0, &mut out, host), 1);
    out
}

/// Converts one host sample to `device` (mono).
fn h2d(host: HostFormat, sample: &[u8], device: DeviceFormat) -> Vec<u8> {
    let mut out = vec![0u8; device.bytes_per_sample()];
    assert_eq!(host_to_device(sample, host, &mut out, device, 1, 0), 1);
    out
}

fn f32b(x: f32) -> Vec<u8> {
    x.to_le_bytes().to_vec()
}
fn f64b(x: f64) -> Vec<u8> {
    x.to_le_bytes().to_vec()
}
fn i16b(x: i16) -> Vec<u8> {
    x.to_le_bytes().to_vec()
}
fn i24b(x: i32) -> Vec<u8> {
    x.to_le_bytes()[..3].to_vec()
}
fn i32b(x: i32) -> Vec<u8> {
    x.to_le_bytes().to_vec()
}

// ---- full scale ------------------------------------------------------------------------

#[test]
fn full_scale_integer_to_float() {
    use DeviceFormat as D;
    use HostFormat as H;
    assert_eq!(d2h(D::I16, &i16b(i16::MIN), H::Float32Lsb), f32b(-1.0));
    assert_eq!(
        d2h(D::I16, &i16b(i16::MAX), H::Float64Lsb),
        f64b(32767.0 / 32768.0)
    );
    assert_eq!(d2h(D::I24, &i24b(-(1 << 23)), H::Float32Lsb), f32b(-1.0));
    assert_eq!(d2h(D::I32, &i32b(i32::MIN), H::Float64Lsb), f64b(-1.0));
    assert_eq!(
        d2h(D::I32, &i32b(i32::MAX), H::Float64Lsb),
        f64b(2147483647.0 / 2147483648.0)
    );
    // 31 significant bits do not fit an f32: the largest i32 rounds up to exactly 1.0 ...
    assert_eq!(d2h(D::I32, &i32b(i32::MAX), H::Float32Lsb), f32b(1.0));
    // ... and 1.0 clips back to the largest i32.
    assert_eq!(h2d(H::Float32Lsb, &f32b(1.0), D::I32), i32b(i32::MAX));
    assert_eq!(h2d(H::Int32Lsb20, &i32b(-(1 << 19)), D::F32), f32b(-1.0));
    assert_eq!(
        h2d(H::Int32Lsb18, &i32b((1 << 17) - 1), D::F32),
        f32b(131071.0 / 131072.0)
    );
}

#[test]
fn full_scale_float_to_integer_clips() {
    use DeviceFormat as D;
    use HostFormat as H;
    for (x, expect) in [
        (1.0f32, i16::MAX),
        (-1.0, i16::MIN),
        (1.5, i16::MAX),
        (-1.5, i16::MIN),
        (f32::MAX, i16::MAX),
        (f32::INFINITY, i16::MAX),
        (f32::NEG_INFINITY, i16::MIN),
        (f32::NAN, 0),
        (-f32::NAN, 0),
        (-0.0, 0),
        (32767.0 / 32768.0, i16::MAX),
    ] {
        assert_eq!(d2h(D::F32, &f32b(x), H::Int16Lsb), i16b(expect), "{x}");
    }
    assert_eq!(d2h(D::F32, &f32b(1.0), H::Int32Lsb), i32b(i32::MAX));
    assert_eq!(d2h(D::F32, &f32b(-1.0), H::Int32Lsb), i32b(i32::MIN));
    assert_eq!(d2h(D::F32, &f32b(f32::NAN), H::Int32Lsb), i32b(0));
    assert_eq!(
        d2h(D::F32, &f32b(f32::INFINITY), H::Int24Lsb),
        i24b((1 << 23) - 1)
    );
    assert_eq!(d2h(D::F32, &f32b(1.0), H::Int32Lsb24), i32b((1 << 23) - 1));
    assert_eq!(d2h(D::F32, &f32b(-7.0), H::Int32Lsb24), i32b(-(1 << 23)));
    assert_eq!(h2d(H::Float64Lsb, &f64b(1e300), D::I32), i32b(i32::MAX));
    assert_eq!(h2d(H::Float64Lsb, &f64b(-1e300), D::I24), i24b(-(1 << 23)));
    assert_eq!(h2d(H::Float64Lsb, &f64b(f64::NAN), D::I16), i16b(0));
    // NaNs with payload bits (which a careless float-to-int trick would leak).
    let nan64 = f64::from_bits(0xfff8_0000_1234_5678);
    let nan32 = f32::from_bits(0x7fc1_2345);
    assert_eq!(h2d(H::Float64Lsb, &f64b(nan64), D::I16), i16b(0));
    assert_eq!(h2d(H::Float64Lsb, &f64b(nan64), D::I32), i32b(0));
    assert_eq!(d2h(D::F32, &f32b(nan32), H::Int32Lsb), i32b(0));
    assert_eq!(d2h(D::F32, &f32b(nan32), H::Int32Lsb18), i32b(0));
    assert_eq!(h2d(H::Float32Lsb, &f32b(nan32), D::I24), i24b(0));
    assert_eq!(
        h2d(H::Float64Lsb, &f64b(f64::NEG_INFINITY), D::I32),
        i32b(i32::MIN)
    );
    // Just below the clip point: 2^31 - 1 + 0.49 LSB rounds down to the largest value.
    let just_below = (2147483647.49f64) / 2147483648.0;
    assert_eq!(
        h2d(H::Float64Lsb, &f64b(just_below), D::I32),
        i32b(i32::MAX)
    );
}

#[test]
fn floats_are_not_clipped_between_float_formats() {
    use DeviceFormat as D;
    use HostFormat as H;
    assert_eq!(d2h(D::F32, &f32b(2.5), H::Float64Lsb), f64b(2.5));
    assert_eq!(h2d(H::Float64Lsb, &f64b(-3.25), D::F32), f32b(-3.25));
    assert_eq!(
        h2d(H::Float64Lsb, &f64b(1e300), D::F32),
        f32b(f32::INFINITY)
    );
    assert_eq!(
        d2h(D::F32, &f32b(f32::NEG_INFINITY), H::Float64Lsb),
        f64b(f64::NEG_INFINITY)
    );
    assert!(f32::from_le_bytes(
        h2d(H::Float64Lsb, &f64b(f64::NAN), D::F32)
            .try_into()
            .unwrap()
    )
    .is_nan());
    // f64 -> f32 rounds to nearest, ties to even: 1 + 2^-24 is halfway between 1 and the
    // next f32 (1 + 2^-23), and 1 is even.
    assert_eq!(
        h2d(H::Float64Lsb, &f64b(1.0 + 2f64.powi(-24)), D::F32),
        f32b(1.0)
    );
    assert_eq!(
        h2d(H::Float64Lsb, &f64b(1.0 + 3.0 * 2f64.powi(-24)), D::F32),
        f32b(1.0 + 2.0 * 2f32.powi(-23))
    );
    // Same layout is a byte copy: a signalling NaN payload survives F32 <-> Float32LSB.
    let snan = 0x7f80_0001u32.to_le_bytes().to_vec();
    assert_eq!(d2h(D::F32, &snan, H::Float32Lsb), snan);
    assert_eq!(h2d(H::Float32Lsb, &snan, D::F32), snan);
}

// ---- half-LSB ties -----------------------------------------------------------------------

#[test]
fn float_ties_round_to_even() {
    use DeviceFormat as D;
    use HostFormat as H;
    let lsb = 1.0 / 32768.0;
    for (k, expect) in [
        (0.5f64, 0i16),
        (1.5, 2),
        (2.5, 2),
        (3.5, 4),
        (-0.5, 0),
        (-1.5, -2),
        (-2.5, -2),
        (0.49999, 0),
        (0.50001, 1),
        (-0.50001, -1),
        (32766.5, 32766),
        (32767.5, 32767), // rounds to 32768 (even), then clips
        (-32768.5, -32768),
    ] {
        assert_eq!(
            h2d(H::Float64Lsb, &f64b(k * lsb), D::I16),
            i16b(expect),
            "{k} LSB"
        );
    }
    // Same for f32 into Int32LSB20 (an f32 can hold the halves exactly).
    let lsb20 = 1.0 / 524288.0;
    assert_eq!(d2h(D::F32, &f32b(0.5 * lsb20), H::Int32Lsb20), i32b(0));
    assert_eq!(d2h(D::F32, &f32b(1.5 * lsb20), H::Int32Lsb20), i32b(2));
    assert_eq!(d2h(D::F32, &f32b(-2.5 * lsb20), H::Int32Lsb20), i32b(-2));
}

#[test]
fn integer_narrowing_rounds_half_to_even_and_clips() {
    use DeviceFormat as D;
    use HostFormat as H;
    // Int32LSB -> i16: the low 16 bits are the fraction; 0x8000 is exactly half.
    for (raw, expect) in [
        (0x0000_8000i32, 0i16),
        (0x0001_8000, 2),
        (0x0002_8000, 2),
        (0x0000_7fff, 0),
        (0x0000_8001, 1),
        (-0x0000_8000, 0),
        (-0x0001_8000, -2),
        (-0x0000_8001, -1),
        (0x7fff_7fff, 32767),
        (0x7fff_8000, 32767), // 32767.5 -> 32768 (even) -> clipped
        (i32::MAX, 32767),
        (i32::MIN, -32768),
    ] {
        assert_eq!(
            h2d(H::Int32Lsb, &i32b(raw), D::I16),
            i16b(expect),
            "{raw:#x}"
        );
    }
    // i24 -> Int16LSB: 0x80 is half of an i16 LSB.
    assert_eq!(d2h(D::I24, &i24b(0x0080), H::Int16Lsb), i16b(0));
    assert_eq!(d2h(D::I24, &i24b(0x0180), H::Int16Lsb), i16b(2));
    assert_eq!(d2h(D::I24, &i24b(0x007f_ff80), H::Int16Lsb), i16b(i16::MAX));
    // i32 -> Int24LSB.
    assert_eq!(
        d2h(D::I32, &i32b(0x1234_5678), H::Int24Lsb),
        i24b(0x12_3456)
    );
    assert_eq!(
        d2h(D::I32, &i32b(0x1234_5680), H::Int24Lsb),
        i24b(0x12_3456)
    );
    assert_eq!(
        d2h(D::I32, &i32b(0x1234_5780), H::Int24Lsb),
        i24b(0x12_3458)
    );
    assert_eq!(
        d2h(D::I32, &i32b(0x1234_5681), H::Int24Lsb),
        i24b(0x12_3457)
    );
    // i24 -> Int32LSB18: drop 6 bits.
    assert_eq!(d2h(D::I24, &i24b(0x20), H::Int32Lsb18), i32b(0));
    assert_eq!(d2h(D::I24, &i24b(0x60), H::Int32Lsb18), i32b(2));
    assert_eq!(d2h(D::I24, &i24b(-0x60), H::Int32Lsb18), i32b(-2));
}

#[test]
fn integer_widening_is_an_exact_shift() {
    use DeviceFormat as D;
    use HostFormat as H;
    assert_eq!(d2h(D::I16, &i16b(-2), H::Int32Lsb), i32b(-2 << 16));
    assert_eq!(d2h(D::I16, &i16b(0x1234), H::Int32Lsb20), i32b(0x1234 << 4));
    assert_eq!(d2h(D::I24, &i24b(-5), H::Int32Lsb), i32b(-5 << 8));
    assert_eq!(h2d(H::Int32Lsb18, &i32b(-3), D::I32), i32b(-3 << 14));
    assert_eq!(h2d(H::Int16Lsb, &i16b(i16::MIN), D::I24), i24b(-(1 << 23)));
}

// ---- byte layout -------------------------------------------------------------------------

#[test]
fn int24_is_packed_little_endian() {
    use DeviceFormat as D;
    use HostFormat as H;
    assert_eq!(
        d2h(D::I16, &i16b(0x1234), H::Int24Lsb),
        vec![0x00, 0x34, 0x12]
    );
    assert_eq!(
        d2h(D::I32, &i32b(0x1234_5600), H::Int24Lsb),
        vec![0x56, 0x34, 0x12]
    );
    assert_eq!(d2h(D::I16, &i16b(-1), H::Int24Lsb), vec![0x00, 0xff, 0xff]);
    // Reading: the third byte carries the sign.
    assert_eq!(h2d(H::Int24Lsb, &[0x00, 0x00, 0x80], D::F32), f32b(-1.0));
    assert_eq!(
        h2d(H::Int24Lsb, &[0xff, 0xff, 0x7f], D::I32),
        i32b(0x7fff_ff00)
    );
    assert_eq!(h2d(H::Int24Lsb, &[0x01, 0x00, 0x00], D::I32), i32b(0x100));
    assert_eq!(
        h2d(H::Int24Lsb, &[0x56, 0x34, 0x12], D::I32),
        i32b(0x1234_5600)
    );
    // Interleaved packed i24: the channel sits at byte offset 3 * channel.
    let dev = [1u8, 2, 3, 0x56, 0x34, 0x12, 7, 8, 9, 0xff, 0xff, 0xff];
    let mut host = [0u8; 8];
    assert_eq!(
        device_to_host(&dev, D::I24, 2, 1, &mut host, H::Int32Lsb),
        2
    );
    assert_eq!(host, [0x00, 0x56, 0x34, 0x12, 0x00, 0xff, 0xff, 0xff]);
}

#[test]
fn int32lsb20_is_right_aligned_and_sign_extended() {
    use DeviceFormat as D;
    use HostFormat as H;
    // Writing: -1.0 is -2^19, sign-extended through the top 12 bits.
    assert_eq!(
        d2h(D::F32, &f32b(-1.0), H::Int32Lsb20),
        vec![0x00, 0x00, 0xf8, 0xff]
    );
    assert_eq!(
        d2h(D::I32, &i32b(-(1 << 12)), H::Int32Lsb20),
        vec![0xff, 0xff, 0xff, 0xff]
    );
    assert_eq!(
        d2h(D::I24, &i24b(0x7f_fff0), H::Int32Lsb20),
        vec![0xff, 0xff, 0x07, 0x00]
    );
    // Reading a properly sign-extended value.
    assert_eq!(
        h2d(H::Int32Lsb20, &[0xff, 0xff, 0xff, 0xff], D::I32),
        i32b(-(1 << 12))
    );
    assert_eq!(
        h2d(H::Int32Lsb20, &[0x00, 0x00, 0xf8, 0xff], D::I24),
        i24b(-(1 << 23))
    );
    // A sloppy host that did not sign-extend -1 (0x000F_FFFF = +1048575) is clipped to the
    // largest 20-bit value, not reinterpreted.
    assert_eq!(
        h2d(H::Int32Lsb20, &i32b(0x000f_ffff), D::I32),
        i32b(((1 << 19) - 1) << 12)
    );
    assert_eq!(
        h2d(H::Int32Lsb20, &i32b(i32::MAX), D::I24),
        i24b(((1 << 19) - 1) << 4)
    );
    assert_eq!(h2d(H::Int32Lsb20, &i32b(i32::MIN), D::I16), i16b(i16::MIN));
    assert_eq!(
        h2d(H::Int32Lsb16, &i32b(0x0000_8000), D::I16),
        i16b(i16::MAX)
    );
    assert_eq!(h2d(H::Int32Lsb24, &i32b(-0x0100_0000), D::F32), f32b(-1.0));
}

#[test]
fn all_zero_bytes_are_silence_in_every_format() {
    for device in DeviceFormat::ALL {
        for host in HostFormat::ALL {
            let zero_dev = vec![0u8; device.bytes_per_sample()];
            let zero_host = vec![0u8; host.bytes_per_sample()];
            assert_eq!(d2h(device, &zero_dev, host), zero_host);
            assert_eq!(h2d(host, &zero_host, device), zero_dev);
        }
    }
    let mut frames = [0xaau8; 12];
    assert_eq!(
        silence_device_channel(&mut frames, DeviceFormat::I24, 2, 0),
        2
    );
    assert_eq!(
        frames,
        [0, 0, 0, 0xaa, 0xaa, 0xaa, 0, 0, 0, 0xaa, 0xaa, 0xaa]
    );
    let mut host = [0xaau8; 7];
    silence_host(&mut host);
    assert_eq!(host, [0; 7]);
}

// ---- is_lossless_with --------------------------------------------------------------------

/// Does `device -> host -> device` preserve every value in `candidates`?
fn round_trips(device: DeviceFormat, host: HostFormat, candidates: &[Vec<u8>]) -> bool {
    candidates
        .iter()
        .all(|s| h2d(host, &d2h(device, s, host), device) == *s)
}

#[test]
fn is_lossless_with_is_exactly_the_truth() {
    // Candidates that break every lossy pair, plus the edges. The lossless claims are
    // proven exhaustively (i16, i24) and by property tests (i32, f32) in tests/.
    let i16s: Vec<Vec<u8>> = [i16::MIN, -1, 0, 1, 0x1234, i16::MAX].map(i16b).to_vec();
    let i24s: Vec<Vec<u8>> = [-(1 << 23), -1, 0, 1, 0x12_3457, (1 << 23) - 1]
        .map(i24b)
        .to_vec();
    let i32s: Vec<Vec<u8>> = [i32::MIN, -1, 0, 1, 0x0100_0001, 0x1234_5678, i32::MAX]
        .map(i32b)
        .to_vec();
    let f32s: Vec<Vec<u8>> = [-1.0f32, 0.0, -0.0, 0.1, 1.0, 1.5, -2.0, 1e-30, f32::MAX]
        .map(f32b)
        .to_vec();
    for device in DeviceFormat::ALL {
        let candidates = match device {
            DeviceFormat::I16 => &i16s,
            DeviceFormat::I24 => &i24s,
            DeviceFormat::I32 => &i32s,
            DeviceFormat::F32 => &f32s,
        };
        for host in HostFormat::ALL {
            assert_eq!(
                device.is_lossless_with(host),
                round_trips(device, host, candidates),
                "{device} with {host}"
            );
            // Consistent with the bit counts for the integer devices.
            if device != DeviceFormat::F32 {
                assert_eq!(
                    device.is_lossless_with(host),
                    host.significant_bits() >= device.significant_bits(),
                    "{device} with {host}"
                );
            }
        }
    }
    let count = |d: DeviceFormat| {
        HostFormat::ALL
            .iter()
            .filter(|h| d.is_lossless_with(**h))
            .count()
    };
    assert_eq!(
        DeviceFormat::ALL.map(count),
        [2, 9, 5, 2] // f32, i16, i24, i32
    );
}

// ---- metadata ----------------------------------------------------------------------------

#[test]
fn host_format_metadata() {
    let expect = [
        (HostFormat::Int16Lsb, 16, 2, "Int16LSB", 16),
        (HostFormat::Int24Lsb, 17, 3, "Int24LSB", 24),
        (HostFormat::Int32Lsb, 18, 4, "Int32LSB", 32),
        (HostFormat::Int32Lsb16, 24, 4, "Int32LSB16", 16),
        (HostFormat::Int32Lsb18, 25, 4, "Int32LSB18", 18),
        (HostFormat::Int32Lsb20, 26, 4, "Int32LSB20", 20),
        (HostFormat::Int32Lsb24, 27, 4, "Int32LSB24", 24),
        (HostFormat::Float32Lsb, 19, 4, "Float32LSB", 24),
        (HostFormat::Float64Lsb, 20, 8, "Float64LSB", 53),
    ];
    assert_eq!(
        HostFormat::ALL.to_vec(),
        expect.iter().map(|e| e.0).collect::<Vec<_>>()
    );
    for (f, asio, bytes, name, bits) in expect {
        assert_eq!(f.asio_type(), asio);
        assert_eq!(HostFormat::from_asio(asio), Ok(f));
        assert_eq!(HostFormat::try_from(asio), Ok(f));
        assert_eq!(f.bytes_per_sample(), bytes);
        assert_eq!(f.name(), name);
        assert_eq!(f.to_string(), name);
        assert_eq!(f.significant_bits(), bits);
        assert_eq!(f.is_float(), name.starts_with("Float"));
    }
    let names: Vec<&str> = HostFormat::ALL.iter().map(|f| f.name()).collect();
    assert_eq!(SUPPORTED_LIST, names.join(", "));
}

#[test]
fn device_format_metadata() {
    let expect = [
        (DeviceFormat::F32, 4, "f32", 24),
        (DeviceFormat::I16, 2, "i16", 16),
        (DeviceFormat::I24, 3, "i24", 24),
        (DeviceFormat::I32, 4, "i32", 32),
    ];
    assert_eq!(
        DeviceFormat::ALL.to_vec(),
        expect.iter().map(|e| e.0).collect::<Vec<_>>()
    );
    for (f, bytes, name, bits) in expect {
        assert_eq!(f.bytes_per_sample(), bytes);
        assert_eq!(f.name(), name);
        assert_eq!(f.to_string(), name);
        assert_eq!(f.significant_bits(), bits);
        assert_eq!(f.is_float(), f == DeviceFormat::F32);
    }
}

#[test]
fn unsupported_sample_types_say_why() {
    let big = [
        (0, "Int16MSB"),
        (1, "Int24MSB"),
        (2, "Int32MSB"),
        (3, "Float32MSB"),
        (4, "Float64MSB"),
        (8, "Int32MSB16"),
        (9, "Int32MSB18"),
        (10, "Int32MSB20"),
        (11, "Int32MSB24"),
    ];
    for (value, name) in big {
        assert_eq!(
            HostFormat::from_asio(value),
            Err(UnsupportedSampleType::BigEndian { value, name })
        );
    }
    for (value, name) in [
        (32, "DSDInt8LSB1"),
        (33, "DSDInt8MSB1"),
        (40, "DSDInt8NER8"),
    ] {
        assert_eq!(
            HostFormat::from_asio(value),
            Err(UnsupportedSampleType::Dsd { value, name })
        );
    }
    for value in [
        -1,
        5,
        6,
        7,
        12,
        15,
        21,
        22,
        23,
        28,
        31,
        34,
        39,
        41,
        i32::MAX,
        i32::MIN,
    ] {
        assert_eq!(
            HostFormat::from_asio(value),
            Err(UnsupportedSampleType::Unknown { value })
        );
        assert_eq!(UnsupportedSampleType::Unknown { value }.value(), value);
    }
    let list = "Int16LSB, Int24LSB, Int32LSB, Int32LSB16, Int32LSB18, Int32LSB20, Int32LSB24, \
                Float32LSB, Float64LSB";
    assert_eq!(
        HostFormat::from_asio(3).unwrap_err().to_string(),
        format!(
            "ASIO sample type 3 (Float32MSB) is big-endian; Tenuto converts only little-endian \
             types: {list}"
        )
    );
    assert_eq!(
        HostFormat::from_asio(40).unwrap_err().to_string(),
        format!(
            "ASIO sample type 40 (DSDInt8NER8) is DSD (1-bit) audio; Tenuto converts only PCM \
             and float types: {list}"
        )
    );
    assert_eq!(
        HostFormat::from_asio(99).unwrap_err().to_string(),
        format!("ASIO sample type 99 is not a known ASIO sample type; Tenuto converts: {list}")
    );
}
