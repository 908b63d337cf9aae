//! Exhaustive tests: every 16-bit value through every pair that involves a 16-bit side,
//! and every 24-bit value through the lossless `i24` pairs.

mod common;

use common::*;
use tenuto_convert::{device_to_host, host_to_device, DeviceFormat, HostFormat};

fn all_i16() -> impl Iterator<Item = i16> {
    i16::MIN..=i16::MAX
}

/// Expected host bytes for the i16 value `v`, computed with integer arithmetic / exact
/// division, independently of the crate.
fn host_bytes_for_i16(host: HostFormat, v: i16) -> Vec<u8> {
    let w = i64::from(v);
    match host {
        HostFormat::Int16Lsb => write_container(w, 2),
        HostFormat::Int24Lsb => write_container(w << 8, 3),
        HostFormat::Int32Lsb => write_container(w << 16, 4),
        HostFormat::Int32Lsb16 => write_container(w, 4),
        HostFormat::Int32Lsb18 => write_container(w << 2, 4),
        HostFormat::Int32Lsb20 => write_container(w << 4, 4),
        HostFormat::Int32Lsb24 => write_container(w << 8, 4),
        HostFormat::Float32Lsb => (f32::from(v) / 32768.0).to_le_bytes().to_vec(),
        HostFormat::Float64Lsb => (f64::from(v) / 32768.0).to_le_bytes().to_vec(),
    }
}

fn device_bytes_for_i16(device: DeviceFormat, v: i16) -> Vec<u8> {
    let w = i64::from(v);
    match device {
        DeviceFormat::I16 => write_container(w, 2),
        DeviceFormat::I24 => write_container(w << 8, 3),
        DeviceFormat::I32 => write_container(w << 16, 4),
        DeviceFormat::F32 => (f32::from(v) / 32768.0).to_le_bytes().to_vec(),
    }
}

/// Every i16 through `I16` → each host format and back, in a 2-channel interleaved buffer
/// (channel 1) and a mono one.
#[test]
fn every_i16_device_value_through_every_host_format() {
    let values: Vec<i16> = all_i16().collect();
    let n = values.len();
    for (channels, channel) in [(1usize, 0usize), (2, 1), (3, 0)] {
        let samples: Vec<Vec<u8>> = values.iter().map(|v| v.to_le_bytes().to_vec()).collect();
        let dev = interleave(&samples, channels, channel, 0xa5);
        for host in HostFormat::ALL {
            let hb = host.bytes_per_sample();
            let mut hbuf = vec![0u8; n * hb];
            let got = device_to_host(&dev, DeviceFormat::I16, channels, channel, &mut hbuf, host);
            assert_eq!(got, n);
            for (v, out) in values.iter().zip(hbuf.chunks_exact(hb)) {
                assert_eq!(out, &host_bytes_for_i16(host, *v)[..], "i16 {v} -> {host}");
            }

            // And back: bit-exact, other channels untouched.
            let mut back = interleave(&samples, channels, channel, 0x3c);
            let before = back.clone();
            for s in back.chunks_exact_mut(2 * channels) {
                s[2 * channel..2 * channel + 2].fill(0x77);
            }
            let got = host_to_device(&hbuf, host, &mut back, DeviceFormat::I16, channels, channel);
            assert_eq!(got, n);
            assert_eq!(back, before, "{host} -> i16 round trip ({channels} ch)");
        }
    }
}

/// Every i16 as an `Int16LSB` host value → each device format and back.
#[test]
fn every_int16lsb_host_value_through_every_device_format() {
    let values: Vec<i16> = all_i16().collect();
    let n = values.len();
    let hbuf: Vec<u8> = values.iter().flat_map(|v| v.to_le_bytes()).collect();
    for device in DeviceFormat::ALL {
        let db = device.bytes_per_sample();
        for (channels, channel) in [(1usize, 0usize), (2, 0), (2, 1)] {
            let mut dev = vec![0x11u8; n * channels * db];
            let got = host_to_device(
                &hbuf,
                HostFormat::Int16Lsb,
                &mut dev,
                device,
                channels,
                channel,
            );
            assert_eq!(got, n);
            for (v, frame) in values.iter().zip(dev.chunks_exact(channels * db)) {
                for c in 0..channels {
                    let s = &frame[c * db..(c + 1) * db];
                    if c == channel {
                        assert_eq!(s, &device_bytes_for_i16(device, *v)[..], "{v} -> {device}");
                    } else {
                        assert!(s.iter().all(|b| *b == 0x11), "other channel written");
                    }
                }
            }
            let mut back = vec![0u8; n * 2];
            let got = device_to_host(
                &dev,
                device,
                channels,
                channel,
                &mut back,
                HostFormat::Int16Lsb,
            );
            assert_eq!(got, n);
            assert_eq!(back, hbuf, "Int16LSB -> {device} -> Int16LSB");
        }
    }
}

/// Every value of each integer host format that is at most 16 bits wide (`Int16LSB`,
/// `Int32LSB16`) against every i16, plus every container value of `Int32LSB16` whose top
/// half is all zeros or all ones, which includes the values a host might leave
/// un-sign-extended (0x0000_8000..=0x0000_FFFF clip to +32767).
#[test]
fn every_int32lsb16_container_value_with_16_significant_bits_into_i16() {
    let mut hbuf = Vec::new();
    let mut expect = Vec::new();
    for low in 0u32..=0xffff {
        for high in [0u32, 0xffff_0000] {
            let raw = (high | low) as i32;
            hbuf.extend_from_slice(&raw.to_le_bytes());
            let clipped = i64::from(raw).clamp(-32768, 32767);
            expect.extend_from_slice(&write_container(clipped, 2));
        }
    }
    let mut dev = vec![0u8; expect.len()];
    let n = host_to_device(
        &hbuf,
        HostFormat::Int32Lsb16,
        &mut dev,
        DeviceFormat::I16,
        1,
        0,
    );
    assert_eq!(n, expect.len() / 2);
    assert_eq!(dev, expect);
}

/// For every host format, every i16 value scaled into it plus and minus a fraction of an
/// i16 LSB (where representable) comes back to i16 rounded to nearest, ties to even.
#[test]
fn every_i16_neighbourhood_narrows_with_ties_to_even() {
    // Host formats wider than 16 bits, with their extra bits over i16.
    let wide = [
        (HostFormat::Int24Lsb, 8u32),
        (HostFormat::Int32Lsb, 16),
        (HostFormat::Int32Lsb18, 2),
        (HostFormat::Int32Lsb20, 4),
        (HostFormat::Int32Lsb24, 8),
    ];
    for (host, extra) in wide {
        let k = host_kind(host);
        let (lo, hi) = k.range();
        let half = 1i64 << (extra - 1);
        let mut hbuf = Vec::new();
        let mut expect = Vec::new();
        for v in all_i16() {
            let base = i64::from(v) << extra;
            for d in [
                -half - 1,
                -half,
                -half + 1,
                -1,
                0,
                1,
                half - 1,
                half,
                half + 1,
            ] {
                let x = (base + d).clamp(lo, hi);
                hbuf.extend_from_slice(&write_container(x, k.bytes()));
                expect.extend_from_slice(&write_container(int_to_int(x, 16 + extra, 16), 2));
            }
        }
        let mut dev = vec![0u8; expect.len()];
        let n = host_to_device(&hbuf, host, &mut dev, DeviceFormat::I16, 1, 0);
        assert_eq!(n, expect.len() / 2);
        assert_eq!(dev, expect, "{host} -> i16");
    }
}

/// Every i24 value round-trips bit-exactly through the host formats that
/// `is_lossless_with` names for `I24`, and its host value is the exact one.
#[test]
fn every_i24_value_round_trips_through_lossless_hosts() {
    const CHUNK: i32 = 1 << 16;
    let lossless: Vec<HostFormat> = HostFormat::ALL
        .into_iter()
        .filter(|h| DeviceFormat::I24.is_lossless_with(*h))
        .collect();
    assert_eq!(lossless.len(), 5);
    let mut start = -(1i32 << 23);
    while start < (1 << 23) {
        let dev: Vec<u8> = (start..start + CHUNK)
            .flat_map(|v| {
                let b = v.to_le_bytes();
                [b[0], b[1], b[2]]
            })
            .collect();
        for &host in &lossless {
            let hb = host.bytes_per_sample();
            let mut hbuf = vec![0u8; CHUNK as usize * hb];
            assert_eq!(
                device_to_host(&dev, DeviceFormat::I24, 1, 0, &mut hbuf, host),
                CHUNK as usize
            );
            // Spot-check exact values (first and last of the chunk) against the oracle.
            for (i, v) in [(0usize, start), (CHUNK as usize - 1, start + CHUNK - 1)] {
                let expect = match host {
                    HostFormat::Float32Lsb => {
                        ((f64::from(v) / 8_388_608.0) as f32).to_le_bytes().to_vec()
                    }
                    HostFormat::Float64Lsb => (f64::from(v) / 8_388_608.0).to_le_bytes().to_vec(),
                    HostFormat::Int32Lsb => write_container(i64::from(v) << 8, 4),
                    HostFormat::Int24Lsb => write_container(i64::from(v), 3),
                    _ => write_container(i64::from(v), 4),
                };
                assert_eq!(&hbuf[i * hb..(i + 1) * hb], &expect[..], "{v} -> {host}");
            }
            let mut back = vec![0u8; dev.len()];
            assert_eq!(
                host_to_device(&hbuf, host, &mut back, DeviceFormat::I24, 1, 0),
                CHUNK as usize
            );
            assert!(back == dev, "i24 -> {host} -> i24 differs near {start}");
        }
        start += CHUNK;
    }
}
