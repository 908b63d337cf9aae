//! Property tests: lossless round trips, known-answer properties of the lossy pairs,
//! channel isolation and short-buffer behaviour.

mod common;

use common::*;
use proptest::prelude::*;
use proptest::sample::select;
use tenuto_convert::{
    device_to_host, host_to_device, silence_device_channel, silence_host, DeviceFormat, HostFormat,
};

fn device_format() -> impl Strategy<Value = DeviceFormat> {
    select(DeviceFormat::ALL.to_vec())
}

fn host_format() -> impl Strategy<Value = HostFormat> {
    select(HostFormat::ALL.to_vec())
}

/// Any bit pattern of `kind`, biased towards the interesting ones: the integer extremes,
/// values near them, small values, and for floats ±0, ±1, ±inf, NaN and values beyond
/// full scale.
fn sample_of(kind: Kind) -> BoxedStrategy<Vec<u8>> {
    let n = kind.bytes();
    match kind {
        Kind::Int { .. } => {
            let (lo, hi) = kind.range();
            prop_oneof![
                4 => (lo..=hi).prop_map(move |v| write_container(v, n)),
                1 => prop_oneof![Just(lo), Just(hi), Just(0i64), Just(-1i64), Just(1i64),
                                 (lo..lo + 4), (hi - 3..=hi), (-4i64..4)]
                    .prop_map(move |v| write_container(v, n)),
            ]
            .boxed()
        }
        Kind::F32 => prop_oneof![
            4 => (-1.25f32..1.25).prop_map(|x| x.to_le_bytes().to_vec()),
            2 => any::<u32>().prop_map(|b| b.to_le_bytes().to_vec()),
            1 => select(vec![0.0f32, -0.0, 1.0, -1.0, 0.999_999_94, -1.000_000_1, 2.0, -2.0,
                             f32::INFINITY, f32::NEG_INFINITY, f32::NAN, f32::MAX, f32::MIN,
                             f32::MIN_POSITIVE, 1e-40])
                .prop_map(|x| x.to_le_bytes().to_vec()),
        ]
        .boxed(),
        Kind::F64 => prop_oneof![
            4 => (-1.25f64..1.25).prop_map(|x| x.to_le_bytes().to_vec()),
            2 => any::<u64>().prop_map(|b| b.to_le_bytes().to_vec()),
            1 => select(vec![0.0f64, -0.0, 1.0, -1.0, 2.0, -2.0, 1e300, -1e300, f64::INFINITY,
                             f64::NEG_INFINITY, f64::NAN, 1e-320])
                .prop_map(|x| x.to_le_bytes().to_vec()),
        ]
        .boxed(),
    }
}

/// Device format, channel layout and samples for one channel.
fn device_case() -> impl Strategy<Value = (DeviceFormat, usize, usize, Vec<Vec<u8>>)> {
    (device_format(), 1usize..=8).prop_flat_map(|(f, channels)| {
        (
            Just(f),
            Just(channels),
            0..channels,
            prop::collection::vec(sample_of(dev_kind(f)), 0..64),
        )
    })
}

/// A (device, host) pair that `is_lossless_with` calls lossless, a channel layout and
/// samples for one channel.
#[allow(clippy::type_complexity)]
fn lossless_case() -> impl Strategy<Value = (DeviceFormat, HostFormat, usize, usize, Vec<Vec<u8>>)>
{
    let pairs: Vec<(DeviceFormat, HostFormat)> = DeviceFormat::ALL
        .into_iter()
        .flat_map(|d| HostFormat::ALL.into_iter().map(move |h| (d, h)))
        .filter(|(d, h)| d.is_lossless_with(*h))
        .collect();
    (select(pairs), 1usize..=8).prop_flat_map(|((d, h), channels)| {
        (
            Just(d),
            Just(h),
            Just(channels),
            0..channels,
            prop::collection::vec(sample_of(dev_kind(d)), 0..64),
        )
    })
}

fn is_nan(kind: Kind, bytes: &[u8]) -> bool {
    !matches!(kind, Kind::Int { .. }) && value_of(kind, bytes).is_nan()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    /// Device → host gives exactly what the rules say, for every pair, and the host bytes
    /// beyond the converted frames are untouched.
    #[test]
    fn device_to_host_matches_oracle(
        (device, channels, channel, samples) in device_case(),
        host in host_format(),
        extra in 0usize..3,
    ) {
        let dev = interleave(&samples, channels, channel, 0x5a);
        let hb = host.bytes_per_sample();
        let mut hbuf = vec![0xeeu8; samples.len() * hb + extra];
        let n = device_to_host(&dev, device, channels, channel, &mut hbuf, host);
        prop_assert_eq!(n, samples.len());
        for (s, out) in samples.iter().zip(hbuf.chunks_exact(hb)) {
            let expect = convert_oracle(dev_kind(device), host_kind(host), s);
            if is_nan(host_kind(host), &expect) {
                prop_assert!(value_of(host_kind(host), out).is_nan());
            } else {
                prop_assert_eq!(out, &expect[..], "{:?} {} -> {}", s, device, host);
            }
        }
        prop_assert!(hbuf[samples.len() * hb..].iter().all(|b| *b == 0xee));
    }

    /// Host → device gives exactly what the rules say, for every pair, and writes only the
    /// chosen channel.
    #[test]
    fn host_to_device_matches_oracle_and_writes_one_channel(
        device in device_format(),
        host in host_format(),
        channels in 1usize..=8,
        channel_seed in any::<usize>(),
        raw in prop::collection::vec(any::<u8>(), 0..64 * 8),
        fill in any::<u8>(),
    ) {
        let channel = channel_seed % channels;
        let hk = host_kind(host);
        let hbuf = &raw[..raw.len() / hk.bytes() * hk.bytes()];
        let frames = hbuf.len() / hk.bytes();
        let db = device.bytes_per_sample();
        let original: Vec<u8> = (0..frames * channels * db)
            .map(|i| fill.wrapping_add(i as u8))
            .collect();
        let mut dev = original.clone();
        let n = host_to_device(hbuf, host, &mut dev, device, channels, channel);
        prop_assert_eq!(n, frames);
        for (f, (inp, frame)) in hbuf
            .chunks_exact(hk.bytes())
            .zip(dev.chunks_exact(channels * db))
            .enumerate()
        {
            for c in 0..channels {
                let got = &frame[c * db..(c + 1) * db];
                let start = (f * channels + c) * db;
                if c == channel {
                    let expect = convert_oracle(hk, dev_kind(device), inp);
                    if is_nan(dev_kind(device), &expect) {
                        prop_assert!(value_of(dev_kind(device), got).is_nan());
                    } else {
                        prop_assert_eq!(got, &expect[..], "{:?} {} -> {}", inp, host, device);
                    }
                } else {
                    prop_assert_eq!(got, &original[start..start + db]);
                }
            }
        }
    }

    /// Host samples with interesting values (not just random bytes) into every device
    /// format.
    #[test]
    fn host_values_to_device_match_oracle(
        (host, samples) in host_format().prop_flat_map(|h| {
            (Just(h), prop::collection::vec(sample_of(host_kind(h)), 1..64))
        }),
        device in device_format(),
    ) {
        let hbuf: Vec<u8> = samples.concat();
        let db = device.bytes_per_sample();
        let mut dev = vec![0u8; samples.len() * db];
        prop_assert_eq!(host_to_device(&hbuf, host, &mut dev, device, 1, 0), samples.len());
        for (s, got) in samples.iter().zip(dev.chunks_exact(db)) {
            let expect = convert_oracle(host_kind(host), dev_kind(device), s);
            if is_nan(dev_kind(device), &expect) {
                prop_assert!(value_of(dev_kind(device), got).is_nan());
            } else {
                prop_assert_eq!(got, &expect[..], "{:?} {} -> {}", s, host, device);
            }
        }
    }

    /// Every pair that `is_lossless_with` calls lossless round-trips device → host →
    /// device bit-exactly (for `f32`, every non-NaN pattern; NaN stays NaN).
    #[test]
    fn lossless_pairs_round_trip(
        (device, host, channels, channel, samples) in lossless_case(),
    ) {
        let dev = interleave(&samples, channels, channel, 0x42);
        let mut hbuf = vec![0u8; samples.len() * host.bytes_per_sample()];
        prop_assert_eq!(
            device_to_host(&dev, device, channels, channel, &mut hbuf, host),
            samples.len()
        );
        let mut back = interleave(&samples, channels, channel, 0x42);
        // Scribble over the channel so the test sees it rewritten.
        let db = device.bytes_per_sample();
        for frame in back.chunks_exact_mut(channels * db) {
            frame[channel * db..(channel + 1) * db].fill(0x99);
        }
        prop_assert_eq!(
            host_to_device(&hbuf, host, &mut back, device, channels, channel),
            samples.len()
        );
        if device == DeviceFormat::F32 && host == HostFormat::Float64Lsb {
            for (a, b) in back.chunks_exact(4).zip(dev.chunks_exact(4)) {
                let (x, y) = (value_of(Kind::F32, a), value_of(Kind::F32, b));
                prop_assert!(a == b || (x.is_nan() && y.is_nan()));
            }
        } else {
            prop_assert_eq!(back, dev);
        }
    }

    /// Lossy and lossless pairs alike: converting into an integer format lands within half
    /// an LSB of the exact value when that value is in range, and clips to the bounds
    /// otherwise; NaN gives 0 and ±inf the bounds.
    #[test]
    fn into_integer_within_half_lsb_or_clipped(
        (host, samples) in host_format().prop_flat_map(|h| {
            (Just(h), prop::collection::vec(sample_of(host_kind(h)), 1..32))
        }),
        device in select(vec![DeviceFormat::I16, DeviceFormat::I24, DeviceFormat::I32]),
    ) {
        let dk = dev_kind(device);
        let Kind::Int { bits, .. } = dk else { unreachable!() };
        let (lo, hi) = dk.range();
        let lsb = 1.0 / (1u64 << (bits - 1)) as f64;
        let hbuf: Vec<u8> = samples.concat();
        let db = device.bytes_per_sample();
        let mut dev = vec![0u8; samples.len() * db];
        host_to_device(&hbuf, host, &mut dev, device, 1, 0);
        for (s, got) in samples.iter().zip(dev.chunks_exact(db)) {
            let x = value_of(host_kind(host), s);
            let v = read_int(dk, got);
            if x.is_nan() {
                prop_assert_eq!(v, 0);
            } else if x >= hi as f64 * lsb {
                prop_assert_eq!(v, hi);
            } else if x <= lo as f64 * lsb {
                prop_assert_eq!(v, lo);
            } else {
                let err = (v as f64 * lsb - x).abs();
                prop_assert!(err <= 0.5 * lsb, "{} -> {}: {} vs {}", x, v, v as f64 * lsb, err);
            }
        }
    }

    /// Every conversion is monotonic (non-decreasing) in the sample value.
    #[test]
    fn conversions_are_monotonic(
        device in device_format(),
        host in host_format(),
        to_host in any::<bool>(),
        seed in prop::collection::vec(any::<u64>(), 2..32),
    ) {
        let (src, dst) = if to_host {
            (dev_kind(device), host_kind(host))
        } else {
            (host_kind(host), dev_kind(device))
        };
        // Build sorted, non-NaN source values from the seeds.
        let mut vals: Vec<Vec<u8>> = seed
            .iter()
            .map(|s| match src {
                Kind::Int { .. } => {
                    let (lo, hi) = src.range();
                    write_container(lo + (*s % (hi - lo + 1) as u64) as i64, src.bytes())
                }
                Kind::F32 => {
                    let x = f32::from_bits(*s as u32);
                    let x = if x.is_nan() { 0.5 } else { x };
                    x.to_le_bytes().to_vec()
                }
                Kind::F64 => {
                    let x = f64::from_bits(*s);
                    let x = if x.is_nan() { 0.5 } else { x };
                    x.to_le_bytes().to_vec()
                }
            })
            .collect();
        vals.sort_by(|a, b| value_of(src, a).total_cmp(&value_of(src, b)));
        let buf = vals.concat();
        let mut out = vec![0u8; vals.len() * dst.bytes()];
        if to_host {
            device_to_host(&buf, device, 1, 0, &mut out, host);
        } else {
            host_to_device(&buf, host, &mut out, device, 1, 0);
        }
        let outs: Vec<f64> = out.chunks_exact(dst.bytes()).map(|c| value_of(dst, c)).collect();
        for w in outs.windows(2) {
            prop_assert!(w[0] <= w[1], "{} > {}", w[0], w[1]);
        }
    }

    /// Integer → integer conversions equal the pure-integer model (shift / round half to
    /// even and clip).
    #[test]
    fn integer_pairs_match_integer_model(
        device in prop::sample::select(vec![DeviceFormat::I16, DeviceFormat::I24, DeviceFormat::I32]),
        host in host_format(),
        raw in prop::collection::vec(any::<u32>(), 1..64),
    ) {
        let (Kind::Int { bits: db_bits, bytes: dbytes }, Kind::Int { bits: hb_bits, bytes: hbytes })
            = (dev_kind(device), host_kind(host)) else { return Ok(()) };
        // Host → device, from arbitrary containers (including out-of-range ones).
        let hk = host_kind(host);
        let hbuf: Vec<u8> = raw.iter().flat_map(|r| r.to_le_bytes()[..hbytes].to_vec()).collect();
        let mut dev = vec![0u8; raw.len() * dbytes];
        host_to_device(&hbuf, host, &mut dev, device, 1, 0);
        for (h, d) in hbuf.chunks_exact(hbytes).zip(dev.chunks_exact(dbytes)) {
            let v = read_int(hk, h);
            prop_assert_eq!(read_container(d), int_to_int(v, hb_bits, db_bits));
        }
        // Device → host.
        let dk = dev_kind(device);
        let dbuf: Vec<u8> = raw.iter().flat_map(|r| r.to_le_bytes()[..dbytes].to_vec()).collect();
        let mut hout = vec![0u8; raw.len() * hbytes];
        device_to_host(&dbuf, device, 1, 0, &mut hout, host);
        for (d, h) in dbuf.chunks_exact(dbytes).zip(hout.chunks_exact(hbytes)) {
            let v = read_int(dk, d);
            prop_assert_eq!(read_container(h), int_to_int(v, db_bits, hb_bits));
        }
    }

    /// Arbitrary lengths and channel indices (out-of-range ones included): the functions
    /// return min(frames in src, frames in dst) (0 for a bad channel), never panic, and
    /// write nothing beyond the frames they report.
    #[test]
    fn short_buffers_and_bad_channels(
        device in device_format(),
        host in host_format(),
        channels in 0usize..6,
        channel in 0usize..8,
        src_len in 0usize..200,
        dst_len in 0usize..200,
    ) {
        let db = device.bytes_per_sample();
        let hb = host.bytes_per_sample();
        let stride = channels * db;
        let ok = channel < channels;

        // device -> host
        let src: Vec<u8> = (0..src_len).map(|i| i as u8).collect();
        let mut dst = vec![0xcdu8; dst_len];
        let n = device_to_host(&src, device, channels, channel, &mut dst, host);
        let expect = if ok { (src_len / stride).min(dst_len / hb) } else { 0 };
        prop_assert_eq!(n, expect);
        prop_assert!(dst[n * hb..].iter().all(|b| *b == 0xcd));

        // host -> device
        let src: Vec<u8> = (0..src_len).map(|i| i as u8).collect();
        let original: Vec<u8> = (0..dst_len).map(|i| (i as u8) ^ 0x5c).collect();
        let mut dst = original.clone();
        let n = host_to_device(&src, host, &mut dst, device, channels, channel);
        let expect = if ok { (src_len / hb).min(dst_len / stride) } else { 0 };
        prop_assert_eq!(n, expect);
        for (i, (a, b)) in dst.iter().zip(&original).enumerate() {
            let in_written_slot = ok && i < n * stride && (i % stride) / db == channel;
            if !in_written_slot {
                prop_assert_eq!(a, b, "byte {} changed", i);
            }
        }

        // silence
        let mut dst = original.clone();
        let n = silence_device_channel(&mut dst, device, channels, channel);
        let expect = if ok { dst_len / stride } else { 0 };
        prop_assert_eq!(n, expect);
        for (i, (a, b)) in dst.iter().zip(&original).enumerate() {
            if ok && i < n * stride && (i % stride) / db == channel {
                prop_assert_eq!(*a, 0);
            } else {
                prop_assert_eq!(a, b);
            }
        }
        let mut dst = original;
        silence_host(&mut dst);
        prop_assert!(dst.iter().all(|b| *b == 0));
    }
}

/// Huge channel counts whose frame size overflows `usize` convert nothing.
#[test]
fn overflowing_frame_size_converts_nothing() {
    let src = [0u8; 64];
    let mut dst = [0u8; 64];
    for device in DeviceFormat::ALL {
        assert_eq!(
            device_to_host(&src, device, usize::MAX, 3, &mut dst, HostFormat::Int32Lsb),
            0
        );
        assert_eq!(
            host_to_device(&src, HostFormat::Int32Lsb, &mut dst, device, usize::MAX, 3),
            0
        );
        assert_eq!(
            silence_device_channel(&mut dst, device, usize::MAX, usize::MAX - 1),
            0
        );
        assert_eq!(
            device_to_host(
                &src,
                device,
                usize::MAX / 2,
                1,
                &mut dst,
                HostFormat::Float64Lsb
            ),
            0
        );
    }
}
