//! Throughput of one channel's conversion for every (device, host) pair and direction.
//!
//! Each case converts one channel of a 2-channel interleaved device buffer of 4096 frames
//! to or from a 4096-sample host buffer; throughput counts host-buffer bytes. The
//! `baseline/memcpy_*` cases copy the same number of host bytes with `copy_from_slice`,
//! the physical limit for a conversion that must at least read or write that much.

use std::hint::black_box;
use std::time::Duration;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use tenuto_convert::{device_to_host, host_to_device, DeviceFormat, HostFormat};

const FRAMES: usize = 4096;
const CHANNELS: usize = 2;
const CHANNEL: usize = 1;

/// A deterministic, full-range test signal (a simple LCG), written as `format` samples.
fn device_buffer(format: DeviceFormat) -> Vec<u8> {
    let mut state: u32 = 0x1234_5678;
    let mut out = Vec::with_capacity(FRAMES * CHANNELS * format.bytes_per_sample());
    for _ in 0..FRAMES * CHANNELS {
        state = state.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
        let v = state as i32;
        match format {
            DeviceFormat::F32 => {
                out.extend_from_slice(&((f64::from(v) / 2_147_483_648.0) as f32).to_le_bytes())
            }
            DeviceFormat::I16 => out.extend_from_slice(&((v >> 16) as i16).to_le_bytes()),
            DeviceFormat::I24 => out.extend_from_slice(&(v >> 8).to_le_bytes()[..3]),
            DeviceFormat::I32 => out.extend_from_slice(&v.to_le_bytes()),
        }
    }
    out
}

/// Sets sample `frame` of channel `CHANNEL` to the device encoding of -0.5.
fn set_half_negative(buf: &mut [u8], format: DeviceFormat, frame: usize) {
    let b = format.bytes_per_sample();
    let at = (frame * CHANNELS + CHANNEL) * b;
    let bytes: Vec<u8> = match format {
        DeviceFormat::F32 => (-0.5f32).to_le_bytes().to_vec(),
        DeviceFormat::I16 => (-16384i16).to_le_bytes().to_vec(),
        DeviceFormat::I24 => (-(1i32 << 22)).to_le_bytes()[..3].to_vec(),
        DeviceFormat::I32 => (-(1i32 << 30)).to_le_bytes().to_vec(),
    };
    buf[at..at + b].copy_from_slice(&bytes);
}

/// The host encoding of -0.5.
fn host_half_negative(format: HostFormat) -> Vec<u8> {
    match format {
        HostFormat::Int16Lsb => (-16384i16).to_le_bytes().to_vec(),
        HostFormat::Int24Lsb => (-(1i32 << 22)).to_le_bytes()[..3].to_vec(),
        HostFormat::Int32Lsb => (-(1i32 << 30)).to_le_bytes().to_vec(),
        HostFormat::Int32Lsb16 => (-(1i32 << 14)).to_le_bytes().to_vec(),
        HostFormat::Int32Lsb18 => (-(1i32 << 16)).to_le_bytes().to_vec(),
        HostFormat::Int32Lsb20 => (-(1i32 << 18)).to_le_bytes().to_vec(),
        HostFormat::Int32Lsb24 => (-(1i32 << 22)).to_le_bytes().to_vec(),
        HostFormat::Float32Lsb => (-0.5f32).to_le_bytes().to_vec(),
        HostFormat::Float64Lsb => (-0.5f64).to_le_bytes().to_vec(),
    }
}

/// Splits `buf` into a page-aligned source and a destination of `n` bytes each, placed so
/// that `(dst - src) % 4096 == 2048`.
///
/// glibc's `memcpy` uses `rep movsb` for these sizes, which on the AMD machine this was
/// measured on runs about 25 times slower when the destination sits just after the source
/// modulo 4096 (which is exactly where two consecutive `malloc` blocks land). Fixing the
/// relative placement keeps the baseline at the machine's real copy speed.
fn memcpy_pair(buf: &mut [u8], n: usize) -> (&mut [u8], &mut [u8]) {
    let misalign = buf.as_ptr() as usize % 4096;
    let src_start = (4096 - misalign) % 4096;
    let dst_start = src_start + n.div_ceil(4096) * 4096 + 2048;
    let (head, tail) = buf.split_at_mut(dst_start);
    (&mut head[src_start..src_start + n], &mut tail[..n])
}

fn bench_convert(c: &mut Criterion) {
    let mut group = c.benchmark_group("convert");
    let mut baselines_done = Vec::new();
    for host in HostFormat::ALL {
        let host_bytes = FRAMES * host.bytes_per_sample();
        group.throughput(Throughput::Bytes(host_bytes as u64));

        // Baseline: the same number of host bytes, copied (once per distinct size).
        if !baselines_done.contains(&host_bytes) {
            baselines_done.push(host_bytes);
            let mut buf = vec![0x5au8; 2 * host_bytes + 3 * 4096];
            let (src, dst) = memcpy_pair(&mut buf, host_bytes);
            group.bench_function(format!("baseline/memcpy_{host_bytes}B"), |b| {
                b.iter(|| {
                    dst.copy_from_slice(black_box(&*src));
                    black_box(&mut *dst);
                })
            });
        }

        for device in DeviceFormat::ALL {
            let id = format!("{}-{}", device.name(), host.name());

            // Device -> host, checked once before timing.
            let mut dev = device_buffer(device);
            set_half_negative(&mut dev, device, 7);
            let mut out = vec![0u8; host_bytes];
            let n = device_to_host(&dev, device, CHANNELS, CHANNEL, &mut out, host);
            assert_eq!(n, FRAMES, "{id}: frame count");
            let b = host.bytes_per_sample();
            assert_eq!(
                &out[7 * b..8 * b],
                &host_half_negative(host)[..],
                "{id}: d2h sample"
            );
            group.bench_function(format!("d2h/{id}"), |bch| {
                bch.iter(|| {
                    device_to_host(
                        black_box(&dev),
                        device,
                        CHANNELS,
                        CHANNEL,
                        black_box(&mut out),
                        host,
                    )
                })
            });

            // Host -> device, checked once before timing.
            let mut hbuf = out.clone();
            hbuf[7 * b..8 * b].copy_from_slice(&host_half_negative(host));
            let mut dev_out = device_buffer(device);
            let n = host_to_device(&hbuf, host, &mut dev_out, device, CHANNELS, CHANNEL);
            assert_eq!(n, FRAMES, "{id}: frame count");
            let mut expect = dev_out.clone();
            set_half_negative(&mut expect, device, 7);
            assert_eq!(dev_out, expect, "{id}: h2d sample");
            group.bench_function(format!("h2d/{id}"), |bch| {
                bch.iter(|| {
                    host_to_device(
                        black_box(&hbuf),
                        host,
                        black_box(&mut dev_out),
                        device,
                        CHANNELS,
                        CHANNEL,
                    )
                })
            });
        }
    }
    group.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .warm_up_time(Duration::from_millis(300))
        .measurement_time(Duration::from_secs(1))
        .sample_size(20);
    targets = bench_convert
}
criterion_main!(benches);
