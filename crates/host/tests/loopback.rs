//! Samples the host writes come back bit-exact through the virtual
//! device's output→input loopback, exactly `input + output` reported
//! latency later — for every lossless format pair.

use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use asio_abi::SampleType;
use tenuto_engine::virtual_device::{VirtualConfig, VirtualDevice, VirtualSource};
use tenuto_engine::{DeviceFormat, Engine, EngineOptions, HostFormat};
use tenuto_host::{Driver, HostOptions, Period, PeriodHandler};

#[allow(clippy::disallowed_types)]
static SERIAL: std::sync::Mutex<()> = std::sync::Mutex::new(());

/// A deterministic pseudo-random sample for (absolute frame, channel),
/// as raw little-endian bytes valid for `t` (finite floats in ±1, integers
/// within their significant bits).
fn pattern(frame: u64, channel: u64, t: SampleType) -> [u8; 8] {
    let mut x =
        frame.wrapping_mul(0x9e37_79b9_7f4a_7c15) ^ channel.wrapping_mul(0xc2b2_ae3d_27d4_eb4f);
    x ^= x >> 31;
    x = x.wrapping_mul(0xbf58_476d_1ce4_e5b9);
    x ^= x >> 29;
    let mut out = [0u8; 8];
    match t {
        SampleType::Int16Lsb => out[..2].copy_from_slice(&(x as u16).to_le_bytes()),
        SampleType::Int24Lsb => out[..3].copy_from_slice(&(x as u32).to_le_bytes()[..3]),
        SampleType::Int32Lsb => out[..4].copy_from_slice(&(x as u32).to_le_bytes()),
        SampleType::Float32Lsb => {
            let v = ((x >> 40) as f32) / (1u64 << 23) as f32 - 1.0; // 24-bit grid in [-1, 1)
            out[..4].copy_from_slice(&v.to_le_bytes());
        }
        _ => unreachable!("not used here"),
    }
    out
}

struct Loop {
    /// Captured input bytes per input buffer index, by absolute frame.
    captured: Vec<Vec<u8>>,
    frames_captured: usize,
    capacity_frames: usize,
    positions_ok: bool,
    next_position: u64,
}

impl PeriodHandler for Loop {
    fn process(&mut self, period: &mut Period<'_>) {
        let position = period.time.map_or(0, |t| t.sample_position);
        if position != self.next_position {
            self.positions_ok = false;
        }
        self.next_position = position + period.frames as u64;
        let frames = period.frames;
        let mut in_index = 0;
        for b in 0..period.buffer_count() {
            let t = SampleType::from_raw(period.sample_type(b)).expect("known type");
            let n = t.bytes_per_sample();
            if period.is_input(b) {
                if self.frames_captured + frames <= self.capacity_frames {
                    let src = period.buffer(b);
                    let dst = &mut self.captured[in_index];
                    let at = self.frames_captured * n;
                    dst[at..at + frames * n].copy_from_slice(&src[..frames * n]);
                }
                in_index += 1;
            } else {
                let ch = period.channel(b) as u64;
                let buf = period.buffer_mut(b);
                for i in 0..frames {
                    let p = pattern(position + i as u64, ch, t);
                    buf[i * n..(i + 1) * n].copy_from_slice(&p[..n]);
                }
            }
        }
        if self.frames_captured + frames <= self.capacity_frames {
            self.frames_captured += frames;
        }
    }

    fn as_any(&mut self) -> &mut dyn std::any::Any {
        self
    }
}

fn run_loopback(device: DeviceFormat, host: HostFormat, frames: i32, output_ready: bool) {
    let _g = SERIAL.lock().unwrap_or_else(|p| p.into_inner());
    let engine = Engine::new(
        Box::new(VirtualDevice::new(VirtualConfig {
            format: device,
            source: VirtualSource::Loopback,
            // Generous device buffering: this test is about bits and latency
            // accounting, not about meeting deadlines on a busy machine.
            output_extra_frames: 4096,
            input_extra_frames: 48,
            ..VirtualConfig::default()
        })),
        EngineOptions {
            host_format: Some(host),
            ..EngineOptions::default()
        },
    );
    let mut d = Driver::from_instance(tenuto_driver::create_instance(engine));
    assert!(d.init());
    let rate = d.sample_rate().unwrap();
    let capacity_frames = (rate * 1.5) as usize;
    let t = SampleType::from_raw(host.asio_type()).unwrap();
    let channels = vec![(true, 0), (true, 1), (false, 0), (false, 1)];
    let handler = Loop {
        captured: vec![vec![0; capacity_frames * t.bytes_per_sample()]; 2],
        frames_captured: 0,
        capacity_frames,
        positions_ok: true,
        next_position: 0,
    };
    let options = HostOptions {
        call_output_ready: output_ready,
        ..HostOptions::default()
    };
    let session = d
        .create_buffers(&channels, frames, options, Box::new(handler))
        .unwrap();
    session.begin();
    d.start().unwrap();
    let t0 = Instant::now();
    while t0.elapsed() < Duration::from_secs(5)
        && (session.counters().switches.load(Ordering::Acquire) as usize) * (frames as usize)
            < capacity_frames + 4 * frames as usize
    {
        std::thread::sleep(Duration::from_millis(10));
    }
    // Latency as reported while streaming (after any outputReady change).
    let (lat_in, lat_out) = d.latencies().unwrap();
    d.stop().unwrap();
    session.end();
    let latencies_changed = session.counters().latencies_changed.load(Ordering::Acquire);
    let (captured, got, positions_ok) = session.with_handler(|h| {
        let l = h.as_any().downcast_mut::<Loop>().unwrap();
        (
            std::mem::take(&mut l.captured),
            l.frames_captured,
            l.positions_ok,
        )
    });
    d.dispose_buffers().unwrap();
    drop(session);
    assert!(positions_ok);
    assert_eq!(got, capacity_frames / frames as usize * frames as usize);

    let latency = (lat_in + lat_out) as u64;
    // Device buffering (48 in + one period + 4096 out) plus the ASIO buffer
    // (input), plus one more period unless the host used outputReady.
    let expected =
        48 + frames as u64 + 4096 + frames as u64 + if output_ready { 0 } else { frames as u64 };
    assert_eq!(latency, expected, "reported round trip");
    if output_ready {
        assert_eq!(
            latencies_changed, 1,
            "switching to outputReady must be announced once"
        );
    }
    let n = t.bytes_per_sample();
    // With outputReady, the first period ran deferred and its block was
    // dropped at the switch: start comparing after that.
    let settle = if output_ready { 2 * frames as u64 } else { 0 };
    let mut compared = 0;
    for (ch, buf) in captured.iter().enumerate() {
        for j in 0..got as u64 {
            let actual = &buf[j as usize * n..(j as usize + 1) * n];
            if j < latency {
                assert!(
                    actual.iter().all(|&b| b == 0),
                    "ch {ch} frame {j}: expected silence before the round trip"
                );
                continue;
            }
            if j < latency + settle {
                continue;
            }
            let want = pattern(j - latency, ch as u64, t);
            assert_eq!(
                actual,
                &want[..n],
                "{device:?}→{host:?}, {frames} frames, ch {ch}: input frame {j} is not output frame {}",
                j - latency
            );
            compared += 1;
        }
    }
    assert_eq!(compared, (got as u64 - latency - settle) * 2);
}

#[test]
fn int32_comes_back_bit_exact_after_the_reported_latency() {
    run_loopback(DeviceFormat::I32, HostFormat::Int32Lsb, 64, false);
}

#[test]
fn float32_comes_back_bit_exact_after_the_reported_latency() {
    run_loopback(DeviceFormat::F32, HostFormat::Float32Lsb, 128, false);
}

#[test]
fn int16_comes_back_bit_exact_after_the_reported_latency() {
    run_loopback(DeviceFormat::I16, HostFormat::Int16Lsb, 256, false);
}

#[test]
fn int24_comes_back_bit_exact_after_the_reported_latency() {
    run_loopback(DeviceFormat::I24, HostFormat::Int24Lsb, 32, false);
}

#[test]
fn output_ready_cuts_one_period_and_the_report_follows() {
    run_loopback(DeviceFormat::I32, HostFormat::Int32Lsb, 64, true);
}
