//! The whole-period conversions give exactly what one per-channel call per buffer gives.

use proptest::prelude::*;
use tenuto_convert::{
    device_to_host, device_to_host_period, host_to_device, host_to_device_period, DeviceFormat,
    HostFormat,
};

fn device_format() -> impl Strategy<Value = DeviceFormat> {
    prop::sample::select(DeviceFormat::ALL.to_vec())
}

fn host_format() -> impl Strategy<Value = HostFormat> {
    prop::sample::select(HostFormat::ALL.to_vec())
}

/// (channels, frames, routes as (device channel, buffer frames)), with routes out of range,
/// repeated, and shorter or longer than the period.
fn shape() -> impl Strategy<Value = (usize, usize, Vec<(usize, usize)>)> {
    (0usize..40, 0usize..300).prop_flat_map(|(channels, frames)| {
        let route = (0..channels + 2, prop_oneof![Just(frames), 0..frames + 70]);
        (
            Just(channels),
            Just(frames),
            prop::collection::vec(route, 0..channels + 3),
        )
    })
}

fn bytes(n: usize, seed: u64) -> Vec<u8> {
    let mut s = seed | 1;
    (0..n)
        .map(|_| {
            s ^= s << 13;
            s ^= s >> 7;
            s ^= s << 17;
            s as u8
        })
        .collect()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(600))]

    #[test]
    fn capture_period_equals_per_channel_calls(
        device in device_format(),
        host in host_format(),
        (channels, frames, routes) in shape(),
        seed in any::<u64>(),
    ) {
        let src = bytes(frames * channels * device.bytes_per_sample() + seed as usize % 3, seed);
        let hb = host.bytes_per_sample();
        let mut expected: Vec<Vec<u8>> = routes
            .iter()
            .enumerate()
            .map(|(i, (_, n))| bytes(n * hb, seed ^ i as u64))
            .collect();
        let mut got = expected.clone();
        for ((channel, _), buf) in routes.iter().zip(&mut expected) {
            device_to_host(&src, device, channels, *channel, buf, host);
        }
        let mut planes: Vec<(usize, &mut [u8])> =
            routes.iter().zip(&mut got).map(|((c, _), b)| (*c, b.as_mut_slice())).collect();
        let n = device_to_host_period(&src, device, channels, planes.as_mut_slice(), host);
        let whole = if channels == 0 { 0 } else { src.len() / (channels * device.bytes_per_sample()) };
        prop_assert_eq!(n, whole);
        prop_assert_eq!(got, expected);
    }

    #[test]
    fn playback_period_equals_per_channel_calls(
        device in device_format(),
        host in host_format(),
        (channels, frames, routes) in shape(),
        seed in any::<u64>(),
    ) {
        let hb = host.bytes_per_sample();
        let bufs: Vec<Vec<u8>> = routes
            .iter()
            .enumerate()
            .map(|(i, (_, n))| bytes(n * hb + i % 2, seed ^ i as u64))
            .collect();
        let dev = bytes(frames * channels * device.bytes_per_sample(), !seed);
        let mut expected = dev.clone();
        for ((channel, _), buf) in routes.iter().zip(&bufs) {
            host_to_device(buf, host, &mut expected, device, channels, *channel);
        }
        let mut got = dev;
        let mut planes: Vec<(usize, &[u8])> =
            routes.iter().zip(&bufs).map(|((c, _), b)| (*c, b.as_slice())).collect();
        let n = host_to_device_period(planes.as_mut_slice(), host, &mut got, device, channels);
        prop_assert_eq!(n, if channels == 0 { 0 } else { frames });
        prop_assert_eq!(got, expected);
    }
}

#[test]
fn plain_slices_are_channels_in_order() {
    let src: Vec<u8> = [1i16, -2, 3, -4]
        .iter()
        .flat_map(|s| s.to_le_bytes())
        .collect();
    let (mut l, mut r) = ([0u8; 4], [0u8; 4]);
    let mut planes: [&mut [u8]; 2] = [&mut l, &mut r];
    let n = device_to_host_period(
        &src,
        DeviceFormat::I16,
        2,
        &mut planes[..],
        HostFormat::Int16Lsb,
    );
    assert_eq!(n, 2);
    assert_eq!((l, r), ([1, 0, 3, 0], [0xfe, 0xff, 0xfc, 0xff]));
    let mut back = [0u8; 8];
    let mut planes: [&[u8]; 2] = [&l, &r];
    host_to_device_period(
        &mut planes[..],
        HostFormat::Int16Lsb,
        &mut back,
        DeviceFormat::I16,
        2,
    );
    assert_eq!(back.to_vec(), src);
}
