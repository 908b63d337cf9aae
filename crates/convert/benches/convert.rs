//! Throughput of the whole-period conversions for every (device, host) pair and direction,
//! at 2 and 32 channels × 32, 64, 256 and 1024 frames, next to `memcpy` of the same output
//! bytes measured in the same run.
//!
//! `d2h` is [`device_to_host_period`] (interleaved device frames → one buffer per channel),
//! `h2d` is [`host_to_device_period`] (the reverse). `memcpy/<bytes>` copies as many bytes as
//! the conversions of that shape write: channels × frames × host sample bytes for `d2h`,
//! channels × frames × device sample bytes for `h2d`. `per_channel/…` runs the same `d2h`
//! and `h2d` work as one [`device_to_host`] / [`host_to_device`] call per channel (the
//! engine's call pattern before the period functions), for a few pairs.
//!
//! Run: `cargo bench -p tenuto-convert --bench convert` (a filter such as `32ch_256f` runs
//! one shape). Throughput counts output bytes.

use std::hint::black_box;
use std::time::Duration;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use tenuto_convert::{
    device_to_host, device_to_host_period, host_to_device, host_to_device_period, DeviceFormat,
    HostFormat,
};

/// A deterministic, full-range test signal (a simple LCG), `n` samples of `format`.
fn device_buffer(format: DeviceFormat, n: usize) -> Vec<u8> {
    let mut state: u32 = 0x1234_5678;
    let mut out = Vec::with_capacity(n * format.bytes_per_sample());
    for _ in 0..n {
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

const SHAPES: [(usize, usize); 8] = [
    (2, 32),
    (2, 64),
    (2, 256),
    (2, 1024),
    (32, 32),
    (32, 64),
    (32, 256),
    (32, 1024),
];

fn bench_convert(c: &mut Criterion) {
    let mut group = c.benchmark_group("convert");
    for (channels, frames) in SHAPES {
        let shape = format!("{channels}ch_{frames}f");
        let mut memcpy_done = Vec::new();
        for bytes in [2usize, 3, 4, 8] {
            let n = channels * frames * bytes;
            memcpy_done.push(n);
            let mut buf = vec![0x5au8; 2 * n + 3 * 4096];
            let (src, dst) = memcpy_pair(&mut buf, n);
            group.throughput(Throughput::Bytes(n as u64));
            group.bench_function(format!("{shape}/memcpy/{n}"), |b| {
                b.iter(|| {
                    dst.copy_from_slice(black_box(&*src));
                    black_box(&mut *dst);
                })
            });
        }
        for host in HostFormat::ALL {
            for device in DeviceFormat::ALL {
                let id = format!("{}-{}", device.name(), host.name());
                let dev = device_buffer(device, channels * frames);
                let hb = host.bytes_per_sample();
                let mut planes: Vec<Vec<u8>> = vec![vec![0u8; frames * hb]; channels];
                group.throughput(Throughput::Bytes((channels * frames * hb) as u64));
                group.bench_function(format!("{shape}/d2h/{id}"), |b| {
                    // The list of buffers is built once, outside the timed loop, as the
                    // engine keeps its buffers.
                    let mut p: Vec<&mut [u8]> = planes.iter_mut().map(Vec::as_mut_slice).collect();
                    b.iter(|| {
                        device_to_host_period(black_box(&dev), device, channels, &mut p[..], host)
                    })
                });
                let mut dev_out = dev.clone();
                group.throughput(Throughput::Bytes(dev.len() as u64));
                group.bench_function(format!("{shape}/h2d/{id}"), |b| {
                    let mut p: Vec<&[u8]> = planes.iter().map(Vec::as_slice).collect();
                    b.iter(|| {
                        host_to_device_period(
                            &mut p[..],
                            host,
                            black_box(&mut dev_out),
                            device,
                            channels,
                        )
                    })
                });
                let per_channel = matches!(
                    (device, host),
                    (DeviceFormat::F32, HostFormat::Float32Lsb)
                        | (DeviceFormat::I32, HostFormat::Int32Lsb)
                        | (DeviceFormat::I16, HostFormat::Int24Lsb)
                        | (DeviceFormat::F32, HostFormat::Int32Lsb)
                );
                if per_channel {
                    group.throughput(Throughput::Bytes((channels * frames * hb) as u64));
                    group.bench_function(format!("{shape}/per_channel_d2h/{id}"), |b| {
                        b.iter(|| {
                            for (ch, p) in planes.iter_mut().enumerate() {
                                device_to_host(black_box(&dev), device, channels, ch, p, host);
                            }
                        })
                    });
                    group.throughput(Throughput::Bytes(dev.len() as u64));
                    group.bench_function(format!("{shape}/per_channel_h2d/{id}"), |b| {
                        b.iter(|| {
                            for (ch, p) in planes.iter().enumerate() {
                                host_to_device(
                                    p,
                                    host,
                                    black_box(&mut dev_out),
                                    device,
                                    channels,
                                    ch,
                                );
                            }
                        })
                    });
                }
            }
        }
    }
    group.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .warm_up_time(Duration::from_millis(100))
        .measurement_time(Duration::from_millis(300))
        .sample_size(10);
    targets = bench_convert
}
criterion_main!(benches);
