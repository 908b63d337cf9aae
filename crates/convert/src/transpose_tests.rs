//! The transposing period paths (AVX2 where the CPU has it, SSE2, and none) give exactly
//! what the per-channel scalar conversions give, for every pair, every channel count
//! 1..=40, odd frame counts around the 64-frame blocks and the 4/8-frame transpose steps,
//! and routes that start at any channel.

use crate::simd::Level;
use crate::{
    device_to_host, device_to_host_period_cpu, host_to_device, host_to_device_period_cpu,
    ChannelsMutRef, ChannelsRef, DeviceFormat, HostFormat,
};

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

const FRAMES: [usize; 7] = [1, 3, 9, 31, 65, 67, 131];

fn levels() -> [(&'static str, Level); 3] {
    [
        ("detected", Level::detect()),
        ("baseline", Level::baseline()),
        ("scalar", Level::Scalar),
    ]
}

/// Capture: buffers for device channels `start..channels`, in order.
fn capture(device: DeviceFormat, host: HostFormat, channels: usize, start: usize, frames: usize) {
    let src = bytes(
        frames * channels * device.bytes_per_sample(),
        channels as u64 * 977 + frames as u64,
    );
    let hb = host.bytes_per_sample();
    let mut expected: Vec<Vec<u8>> = (start..channels)
        .map(|c| bytes(frames * hb, c as u64))
        .collect();
    let fresh = expected.clone();
    for (c, buf) in (start..channels).zip(&mut expected) {
        device_to_host(&src, device, channels, c, buf, host);
    }
    for (name, level) in levels() {
        let mut got = fresh.clone();
        let mut planes: Vec<(usize, &mut [u8])> = (start..channels)
            .zip(&mut got)
            .map(|(c, b)| (c, b.as_mut_slice()))
            .collect();
        let n = device_to_host_period_cpu(
            &src,
            device,
            channels,
            &mut ChannelsMutRef(planes.as_mut_slice()),
            host,
            level,
        );
        assert_eq!(n, frames);
        assert!(
            got == expected,
            "d2h {device}->{host} {name}: {channels} ch from {start}, {frames} frames"
        );
    }
}

/// Playback: buffers for device channels `start..channels`; the others keep their bytes.
fn playback(device: DeviceFormat, host: HostFormat, channels: usize, start: usize, frames: usize) {
    let hb = host.bytes_per_sample();
    let bufs: Vec<Vec<u8>> = (start..channels)
        .map(|c| bytes(frames * hb, c as u64 + 5))
        .collect();
    let dev = bytes(frames * channels * device.bytes_per_sample(), frames as u64);
    let mut expected = dev.clone();
    for (c, buf) in (start..channels).zip(&bufs) {
        host_to_device(buf, host, &mut expected, device, channels, c);
    }
    for (name, level) in levels() {
        let mut got = dev.clone();
        let mut planes: Vec<(usize, &[u8])> = (start..channels)
            .zip(&bufs)
            .map(|(c, b)| (c, b.as_slice()))
            .collect();
        let n = host_to_device_period_cpu(
            &mut ChannelsRef(planes.as_mut_slice()),
            host,
            &mut got,
            device,
            channels,
            level,
        );
        assert_eq!(n, frames);
        assert!(
            got == expected,
            "h2d {host}->{device} {name}: {channels} ch from {start}, {frames} frames"
        );
    }
}

#[test]
fn every_pair_every_channel_count() {
    for device in DeviceFormat::ALL {
        for host in HostFormat::ALL {
            for channels in 1..=40 {
                for frames in FRAMES {
                    capture(device, host, channels, 0, frames);
                    playback(device, host, channels, 0, frames);
                }
            }
        }
    }
}

#[test]
fn groups_that_start_past_channel_zero() {
    for device in DeviceFormat::ALL {
        for host in [
            HostFormat::Int32Lsb,
            HostFormat::Float32Lsb,
            HostFormat::Int16Lsb,
        ] {
            for (channels, start) in [(12, 3), (20, 1), (33, 7), (40, 9)] {
                for frames in [9, 67] {
                    capture(device, host, channels, start, frames);
                    playback(device, host, channels, start, frames);
                }
            }
        }
    }
}

/// Plain `[&mut [u8]]` and `[&[u8]]` buffers (channel = index) with one buffer shorter than
/// the period: its group falls back to one buffer at a time, with the same result.
#[test]
fn short_buffer_in_a_group() {
    let (device, host, channels, frames) = (DeviceFormat::F32, HostFormat::Float32Lsb, 16, 70);
    let src = bytes(frames * channels * 4, 3);
    let mut expected: Vec<Vec<u8>> = (0..channels)
        .map(|c| vec![0u8; if c == 5 { 40 * 4 } else { frames * 4 }])
        .collect();
    let mut got = expected.clone();
    for (c, buf) in expected.iter_mut().enumerate() {
        device_to_host(&src, device, channels, c, buf, host);
    }
    let mut planes: Vec<&mut [u8]> = got.iter_mut().map(Vec::as_mut_slice).collect();
    crate::device_to_host_period(&src, device, channels, planes.as_mut_slice(), host);
    assert_eq!(got, expected);
    let mut back = vec![0u8; src.len()];
    let mut want = back.clone();
    for (c, buf) in expected.iter().enumerate() {
        host_to_device(buf, host, &mut want, device, channels, c);
    }
    let mut planes: Vec<&[u8]> = expected.iter().map(Vec::as_slice).collect();
    crate::host_to_device_period(planes.as_mut_slice(), host, &mut back, device, channels);
    assert_eq!(back, want);
}
