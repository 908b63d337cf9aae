//! The WASAPI stream's logic driven by a simulated device ([`tenuto_wasapi::stream::sim`]):
//! start-up, pacing, latency, stalls and drift decided deterministically, on every OS.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::collections::BTreeMap;

use tenuto_engine::device::{DeviceStream, StreamError};
use tenuto_wasapi::drift::steering_headroom;
use tenuto_wasapi::plan::RingPlan;
use tenuto_wasapi::stream::sim::{SimConfig, SimPort, SimSide, Stall, Stamps};
use tenuto_wasapi::stream::trace::Trace;
use tenuto_wasapi::stream::{StreamCore, StreamSetup};

const RATE: u32 = 48_000;
const CH: usize = 2;

/// What a run of the simulated host saw.
#[derive(Debug, Default)]
struct Outcome {
    periods: u64,
    /// Round trips seen (output position → input position), frames, with their counts.
    round_trips: BTreeMap<i64, u64>,
    /// The first error `wait` returned, and when (ns after the origin).
    error: Option<(StreamError, u64)>,
    /// When the first period came, ns after the origin.
    first_period_ns: Option<u64>,
    /// Input frames whose samples were not the capture side's next frame number.
    input_gaps: u64,
}

/// The stream `WasapiDevice` would set up over `sim` (with the drift steer's headroom when
/// it steers).
fn setup(buffer: u32, sim: &SimConfig, polling: bool, steer: bool) -> StreamSetup {
    let render_period = sim.render.as_ref().map(|s| s.period_frames);
    let capture_period = sim.capture.as_ref().map(|s| s.period_frames);
    let plan = RingPlan::new(
        buffer,
        render_period,
        capture_period,
        sim.capture.as_ref().map_or(0, |s| s.buffer_frames),
    )
    .with_output_safety(if steer {
        steering_headroom(render_period.unwrap_or(0))
    } else {
        0
    });
    StreamSetup {
        plan,
        rate: f64::from(RATE),
        render_frame_bytes: sim.render.as_ref().map(|_| 4 * CH),
        capture_frame_bytes: sim.capture.as_ref().map(|_| 4 * CH),
        capture_buffer_frames: sim.capture.as_ref().map_or(0, |s| s.buffer_frames),
        longest_period_frames: render_period
            .into_iter()
            .chain(capture_period)
            .max()
            .unwrap_or(1),
        exclusive_render: false,
        polling,
        steer_drift: steer,
        host_rate: f64::from(RATE),
        host_buffer_frames: buffer,
        input_ring_frames: plan.input_ring_frames,
    }
}

/// Runs a host that writes each output frame's position + 1 and reads the input back, for
/// `seconds` of simulated time.
fn run(core: &mut StreamCore<SimPort>, seconds: f64) -> Outcome {
    let b = core.host_buffer_frames() as usize;
    let mut out = Outcome::default();
    let mut input = vec![0u8; b * CH * 4];
    let mut output = vec![0u8; b * CH * 4];
    let (mut in_pos, mut out_pos) = (0i64, 0i64);
    let mut next_capture: Option<f32> = None;
    if let Err(e) = core.start() {
        out.error = Some((e, core.port().elapsed_ns()));
        return out;
    }
    let end = (seconds * 1e9) as u64;
    while core.port().elapsed_ns() < end {
        match core.wait() {
            Ok(Some(_)) => {}
            Ok(None) => continue,
            Err(e) => {
                out.error = Some((e, core.port().elapsed_ns()));
                break;
            }
        }
        out.first_period_ns.get_or_insert(core.port().elapsed_ns());
        out.periods += 1;
        core.read(&mut input).unwrap();
        for (i, frame) in input.chunks_exact(CH * 4).enumerate() {
            let v = f32::from_le_bytes(frame[..4].try_into().unwrap());
            if core.port().counters().pulls > 0 && v >= 1.0 {
                let trip = (in_pos + i as i64) as f64 - f64::from(v - 1.0);
                *out.round_trips.entry(trip.round() as i64).or_default() += 1;
            }
            if let Some(expected) = next_capture {
                if v != expected {
                    out.input_gaps += 1;
                }
            }
            // The simulated capture side numbers its frames modulo 2²⁴ (exact in f32).
            next_capture = Some(if v + 1.0 >= 16_777_216.0 {
                0.0
            } else {
                v + 1.0
            });
        }
        for (i, frame) in output.chunks_exact_mut(CH * 4).enumerate() {
            let v = (out_pos + i as i64 + 1) as f32;
            for s in frame.chunks_exact_mut(4) {
                s.copy_from_slice(&v.to_le_bytes());
            }
        }
        core.write(&output).unwrap();
        in_pos += b as i64;
        out_pos += b as i64;
    }
    core.stop();
    out
}

/// A duplex loopback (a sink and its monitor) with winepulse's shape: 10 ms periods, packets
/// held back `hold_ms` by the capture timer's phase, wake-ups up to 0.3 ms late.
fn loopback(
    buffer: u32,
    period: u32,
    hold_ms: f64,
    polling: bool,
) -> (Outcome, StreamCore<SimPort>) {
    loopback_stamped(buffer, period, hold_ms, polling, Stamps::Readable)
}

fn loopback_stamped(
    buffer: u32,
    period: u32,
    hold_ms: f64,
    polling: bool,
    stamps: Stamps,
) -> (Outcome, StreamCore<SimPort>) {
    let mut capture = SimSide::new(period * 2 + 96, period);
    capture.hold_ns = (hold_ms * 1e6) as u64;
    capture.stamps = stamps;
    let render = SimSide::new(period * 2 + 96, period);
    let sim = SimConfig {
        rate: RATE,
        channels: CH,
        render: Some(render),
        capture: Some(capture),
        loopback: true,
        stalls: Vec::new(),
        wake_jitter_ns: 300_000,
        seed: 7,
    };
    let setup = setup(buffer, &sim, polling, false);
    let mut core = StreamCore::new(SimPort::new(sim), setup);
    let outcome = run(&mut core, 5.0);
    (outcome, core)
}

/// The reported round trip: input (ASIO buffer + ring wait + measured capture delay) plus
/// output (the plan + the measured render lateness), frames.
fn reported(core: &StreamCore<SimPort>) -> i64 {
    let lat = core.plan().latency(0, 0);
    i64::from(core.host_buffer_frames())
        + i64::from(lat.input_frames + lat.output_frames)
        + i64::from(core.measured_input_delay().unwrap_or(0))
        + i64::from(core.measured_output_delay().unwrap_or(0))
}

fn assert_clean(o: &Outcome, core: &StreamCore<SimPort>, what: &str) {
    assert!(
        o.error.is_none(),
        "{what}: the stream failed: {:?}",
        o.error
    );
    let dev = core.port().counters();
    assert_eq!(
        dev.render_underruns, 0,
        "{what}: the device ran dry: {dev:?}"
    );
    assert_eq!(
        dev.capture_overflows, 0,
        "{what}: capture overflowed: {dev:?}"
    );
    let c = core.device_counters();
    assert_eq!(
        (
            c.output_underruns,
            c.input_overruns,
            c.resyncs,
            c.clock_slips
        ),
        (0, 0, 0, 0),
        "{what}: the stream counted glitches: {c:?}"
    );
}

/// A clean run whose round trip is one value for the whole run and equals the reported
/// latency to the frame.
fn assert_exact_round_trip(o: &Outcome, core: &StreamCore<SimPort>, what: &str) {
    assert_clean(o, core, what);
    assert_eq!(
        o.round_trips.len(),
        1,
        "{what}: the round trip moved: {:?}",
        o.round_trips
    );
    let seen = *o.round_trips.keys().next().unwrap();
    let reported = reported(core);
    assert!(
        (seen - reported).abs() <= 1,
        "{what}: measured {seen} frames, reported {reported}"
    );
}

/// The round trip a loopback host measures is one value for the whole run and equals the
/// latency reported, to the frame, at every ASIO buffer size, both wake-up modes, every
/// phase of winepulse's capture timer, and with the driver thread waking up late.
#[test]
fn loopback_round_trip_equals_the_reported_latency() {
    for polling in [false, true] {
        for b in [32u32, 64, 128, 256, 512, 1024] {
            for hold_ms in [0.0, 3.3, 7.9] {
                let (o, core) = loopback(b, 480, hold_ms, polling);
                let what = format!("B {b}, hold {hold_ms} ms, polling {polling}");
                assert_exact_round_trip(&o, &core, &what);
            }
        }
    }
}

/// The same with Windows' time stamps (the recording instant) and with none: the capture
/// delay and the render start's lateness are measured from whatever the stack gives, and
/// their sum is exact either way.
#[test]
fn every_kind_of_time_stamp_gives_the_exact_round_trip() {
    for stamps in [Stamps::Recorded, Stamps::None] {
        for polling in [false, true] {
            for hold_ms in [0.0, 4.4] {
                let (o, core) = loopback_stamped(128, 480, hold_ms, polling, stamps);
                let what = format!("{stamps:?} stamps, hold {hold_ms} ms, polling {polling}");
                assert_exact_round_trip(&o, &core, &what);
            }
        }
    }
}

/// A 64-frame buffer over winepulse's 10 ms packets (7.5 ASIO buffers per packet): bursts
/// of periods, never a glitch, never a period before its input is there.
#[test]
fn small_buffers_over_long_packets() {
    for b in [32u32, 48, 64, 96] {
        let (o, core) = loopback(b, 480, 2.0, false);
        let what = format!("B {b}");
        assert_clean(&o, &core, &what);
        assert_eq!(o.round_trips.len(), 1, "{what}: {:?}", o.round_trips);
        // 5 s of audio in B-frame periods, less the start-up.
        let expected = 5 * u64::from(RATE) / u64::from(b);
        assert!(
            o.periods + 40 >= expected,
            "{what}: {} periods of {expected}",
            o.periods
        );
    }
}

fn duplex(first_packet_ms: u64) -> SimConfig {
    let mut capture = SimSide::new(1056, 480);
    // The first packet comes late (a device waking up); the rest follow on the clock.
    capture.hold_ns = 0;
    let render = SimSide::new(1056, 480);
    let mut sim = SimConfig {
        rate: RATE,
        channels: CH,
        render: Some(render),
        capture: Some(capture),
        loopback: true,
        stalls: Vec::new(),
        wake_jitter_ns: 200_000,
        seed: 3,
    };
    if first_packet_ms > 0 {
        // Device time stands still from the start until the device wakes up.
        sim.stalls.push(Stall {
            at_ns: 0,
            len_ns: first_packet_ms * 1_000_000,
        });
    }
    sim
}

/// A device that takes 2 s to deliver its first packet: `start` returns at once, the first
/// period comes when the audio does, nothing is counted as a glitch, and the capture delay
/// is left unknown rather than guessed.
#[test]
fn a_late_first_packet_delays_the_first_period_only() {
    let sim = duplex(2_000);
    let setup = setup(64, &sim, false, false);
    let mut core = StreamCore::new(SimPort::new(sim), setup);
    let o = run(&mut core, 6.0);
    assert_clean(&o, &core, "first packet after 2 s");
    let first = o.first_period_ns.expect("no period at all");
    assert!(
        (2_000_000_000..2_100_000_000).contains(&first),
        "first period at {first} ns"
    );
    assert_eq!(core.measured_input_delay(), None, "a delay was guessed");
    assert!(
        core.start_spread().input_unknown,
        "the unknown delay was not said"
    );
    assert_eq!(o.round_trips.len(), 1, "{:?}", o.round_trips);
}

/// A sink and its monitor as winepulse offers them: 10-ms periods, packets held 4.4 ms and
/// stamped when readable.
fn winepulse_loopback() -> SimConfig {
    let mut capture = SimSide::new(1056, 480);
    capture.hold_ns = 4_400_000;
    capture.stamps = Stamps::Readable;
    SimConfig {
        rate: RATE,
        channels: CH,
        render: Some(SimSide::new(1056, 480)),
        capture: Some(capture),
        loopback: true,
        stalls: Vec::new(),
        wake_jitter_ns: 300_000,
        seed: 7,
    }
}

/// A call that starts the output and loses the CPU for 3 ms before the render clock starts:
/// the output runs up to that much later than measured, and the stream says by how much
/// (the log prints it), so the round trip lies between the report and the report plus it.
#[test]
fn a_slow_render_start_is_stated_as_the_spread_of_the_output_figure() {
    for polling in [false, true] {
        let sim = winepulse_loopback();
        let setup = setup(128, &sim, polling, false);
        let mut core = StreamCore::new(SimPort::new(sim).slow_render_start(3_000_000), setup);
        let o = run(&mut core, 3.0);
        let what = format!("polling {polling}");
        assert_clean(&o, &core, &what);
        assert_eq!(o.round_trips.len(), 1, "{what}: {:?}", o.round_trips);
        let spread = core.start_spread();
        assert_eq!(spread.output_frames, 144, "{what}: 3 ms at 48 kHz");
        assert!(!spread.input_unknown, "{what}");
        let seen = *o.round_trips.keys().next().unwrap();
        let off = seen - reported(&core);
        // The simulated clock starts at the call's end: the whole spread, to the frame.
        assert!(
            (off - i64::from(spread.output_frames)).abs() <= 1,
            "{what}: measured − reported {off} frames, spread {}",
            spread.output_frames
        );
    }
}

/// The same for the call that starts capture: recording begins up to that much after the
/// figure's origin, so the round trip lies between the report less it and the report.
#[test]
fn a_slow_capture_start_is_stated_as_the_spread_of_the_input_figure() {
    for polling in [false, true] {
        let sim = winepulse_loopback();
        let setup = setup(128, &sim, polling, false);
        let mut core = StreamCore::new(SimPort::new(sim).slow_capture_start(2_000_000), setup);
        let o = run(&mut core, 3.0);
        let what = format!("polling {polling}");
        assert_clean(&o, &core, &what);
        assert_eq!(o.round_trips.len(), 1, "{what}: {:?}", o.round_trips);
        let spread = core.start_spread();
        assert_eq!(spread.input_frames, 96, "{what}: 2 ms at 48 kHz");
        let seen = *o.round_trips.keys().next().unwrap();
        let off = seen - reported(&core);
        // The simulated recording starts at the call's end: the whole spread, to the frame.
        assert!(
            (off + i64::from(spread.input_frames)).abs() <= 1,
            "{what}: measured − reported {off} frames, spread {}",
            spread.input_frames
        );
    }
}

/// winepulse's first capture tick 16 ms late, on a machine whose process lost the CPU: two
/// packets become readable together, 26 ms after the start. The capture delay is measured
/// from the second (it was left unknown, and out of the report, before), and the round trip
/// equals the report to the frame, with events and polling.
#[test]
fn packets_handed_over_together_after_a_late_first_tick_keep_the_round_trip_exact() {
    for polling in [false, true] {
        let sim = winepulse_loopback();
        let setup = setup(128, &sim, polling, false);
        let mut core = StreamCore::new(SimPort::new(sim).late_first_tick(26_000_000), setup);
        let o = run(&mut core, 3.0);
        let what = format!("polling {polling}");
        assert!(!core.start_spread().input_unknown, "{what}: left unknown");
        assert_exact_round_trip(&o, &core, &what);
    }
}

/// No first period within the start-up grace is `NoFirstPeriod`, at the grace and not before.
#[test]
fn a_device_that_never_wakes_up_fails_after_the_grace() {
    let sim = duplex(12_000);
    let setup = setup(64, &sim, false, false);
    let mut core = StreamCore::new(SimPort::new(sim), setup);
    let o = run(&mut core, 15.0);
    match o.error {
        Some((StreamError::NoWakeUp(ms) | StreamError::NoFirstPeriod(ms), at)) => {
            assert!((10_000..10_100).contains(&ms), "gave up after {ms} ms");
            assert!(at < 10_100_000_000, "reported at {at} ns");
        }
        other => panic!("expected a start-up failure, got {other:?}"),
    }
    assert_eq!(o.periods, 0);
}

/// The audio stack stalls for 50 ms mid-stream (device time stops for both sides): the
/// stream carries on, counts one device stall of about 50 ms, and the round trip — one
/// clock for both sides — is unchanged.
#[test]
fn a_50_ms_stall_is_counted_and_survived() {
    let mut sim = duplex(0);
    sim.stalls.push(Stall {
        at_ns: 2_000_000_000,
        len_ns: 50_000_000,
    });
    let setup = setup(64, &sim, false, false);
    let mut core = StreamCore::new(SimPort::new(sim), setup);
    let o = run(&mut core, 5.0);
    assert!(o.error.is_none(), "{:?}", o.error);
    let c = core.device_counters();
    assert_eq!(c.device_stalls, 1, "{c:?}");
    assert!(
        (40_000..=60_000).contains(&c.device_stall_lost_us),
        "lost {} µs",
        c.device_stall_lost_us
    );
    assert_eq!(core.port().counters().render_underruns, 0);
    assert_eq!(o.round_trips.len(), 1, "{:?}", o.round_trips);
}

/// A 2 s stall mid-stream ends the stream with `Stalled` once the stall limit (200 ms here)
/// has passed, not before and not at the start-up grace.
#[test]
fn a_2_s_stall_stops_the_stream() {
    let mut sim = duplex(0);
    sim.stalls.push(Stall {
        at_ns: 1_000_000_000,
        len_ns: 2_000_000_000,
    });
    let setup = setup(64, &sim, false, false);
    let mut core = StreamCore::new(SimPort::new(sim), setup);
    let o = run(&mut core, 5.0);
    match o.error {
        Some((StreamError::Stalled(ms), at)) => {
            assert!((200..260).contains(&ms), "stalled after {ms} ms");
            // 200 ms after the last period before the stall (at 1 s).
            assert!(
                (1_180_000_000..1_300_000_000).contains(&at),
                "reported at {at} ns"
            );
        }
        other => panic!("expected Stalled, got {other:?}"),
    }
}

/// The fallback for a render side whose mix format is not 32-bit float (no resampler): render
/// and capture on two devices whose clocks are 300 ppm apart each way (600 ppm in all) for
/// two simulated minutes (7 turns of the pulls' phase against the packets): the output queue is steered by single-frame slips at the
/// drift's rate, it stays bounded, and neither device ever runs dry or overflows.
#[test]
fn clocks_600_ppm_apart_are_steered_without_glitches() {
    for (render_ppm, capture_ppm) in [(300.0, -300.0), (-300.0, 300.0)] {
        let mut render = SimSide::new(1056, 480);
        render.ppm = render_ppm;
        let mut capture = SimSide::new(1056, 480);
        capture.ppm = capture_ppm;
        let sim = SimConfig {
            rate: RATE,
            channels: CH,
            render: Some(render),
            capture: Some(capture),
            loopback: false,
            stalls: Vec::new(),
            wake_jitter_ns: 300_000,
            seed: 11,
        };
        let setup = setup(128, &sim, false, true);
        let mut core = StreamCore::new(SimPort::new(sim), setup);
        let seconds = 120.0;
        let o = run(&mut core, seconds);
        let what = format!("render {render_ppm} ppm, capture {capture_ppm} ppm");
        assert!(o.error.is_none(), "{what}: {:?}", o.error);
        let dev = core.port().counters();
        assert_eq!(dev.render_underruns, 0, "{what}: {dev:?}");
        assert_eq!(dev.capture_overflows, 0, "{what}: {dev:?}");
        assert_eq!(
            o.input_gaps, 0,
            "{what}: captured frames were lost or repeated"
        );
        let c = core.device_counters();
        // 600 ppm of 48 kHz is 28.8 frames a second; the steer starts once it has learnt the
        // level (3 s) and the level has moved by its margin (240 frames, about 8 s of this
        // drift), so up to 12 s of drift go into the queue instead.
        let expected = 600e-6 * f64::from(RATE) * seconds;
        let allowance = 600e-6 * f64::from(RATE) * 12.0;
        assert!(
            (c.clock_slips as f64 - expected).abs() < allowance,
            "{what}: {} slips, expected about {expected:.0}",
            c.clock_slips
        );
        assert_eq!(c.output_underruns, 0, "{what}: {c:?}");
        assert!(c.resyncs <= 1, "{what}: {c:?}");
        assert!(
            core.port().render_padding() <= 1056,
            "{what}: the render buffer grew without bound"
        );
    }
}

/// Replays the device timing recorded from winepulse under Wine (`tests/traces/`, made by
/// the `record_trace` example): every pull and packet when and as big as the real one was.
/// The stream must run through it without a glitch on either side, without a false device
/// stall, with one round trip for the whole run, and deliver every period. (Which frames the
/// first packet held cannot be recorded, so the round trip is not compared with the report
/// here; the synthetic cases above do that.)
#[test]
fn recorded_winepulse_timing_replays_cleanly() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/traces");
    let mut replayed = 0;
    for entry in std::fs::read_dir(&dir).expect("tests/traces") {
        let path = entry.unwrap().path();
        if path.extension().and_then(|e| e.to_str()) != Some("trace") {
            continue;
        }
        let text = std::fs::read_to_string(&path).unwrap();
        let trace = Trace::parse(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let what = path.file_name().unwrap().to_string_lossy().into_owned();
        let sim = trace.sim_config(CH, trace.capture.is_some());
        let setup = setup(trace.buffer_frames, &sim, trace.polling, false);
        let mut core = StreamCore::new(SimPort::new(sim), setup);
        // Stop before the recording ends (the replayed device stops there).
        let seconds = trace.duration_ns() as f64 / 1e9 - 0.3;
        let o = run(&mut core, seconds);
        assert_clean(&o, &core, &what);
        assert_eq!(core.device_counters().device_stalls, 0, "{what}");
        if trace.capture.is_some() {
            assert_eq!(o.round_trips.len(), 1, "{what}: {:?}", o.round_trips);
        }
        let first = o.first_period_ns.unwrap_or(0) as f64 / 1e9;
        let expected = (seconds - first) * f64::from(trace.rate) / f64::from(trace.buffer_frames);
        assert!(
            o.periods as f64 >= expected * 0.98,
            "{what}: {} periods, expected about {expected:.0}",
            o.periods
        );
        replayed += 1;
    }
    assert!(replayed >= 5, "only {replayed} traces in {}", dir.display());
}

/// A host at 44.1 kHz (and 96 kHz) on a 48 kHz device: the stream converts both ways, the
/// loopback's round trip is one value for the whole run and equals the latency reported —
/// the plan in host frames plus both resamplers' delays plus what was measured — to the
/// frame, with no glitch on either side.
#[test]
fn a_converted_loopback_round_trip_equals_the_reported_latency() {
    use tenuto_resample::Resampler;
    use tenuto_wasapi::stream::Conversion;

    for host_rate in [44_100u32, 96_000] {
        for b in [64u32, 256, 441] {
            let mut capture = SimSide::new(1056, 480);
            capture.hold_ns = 2_500_000;
            let render = SimSide::new(1056, 480);
            let sim = SimConfig {
                rate: RATE,
                channels: CH,
                render: Some(render),
                capture: Some(capture),
                loopback: true,
                stalls: Vec::new(),
                wake_jitter_ns: 300_000,
                seed: 5,
            };
            let (d, h) = (f64::from(RATE), f64::from(host_rate));
            let host_plan = RingPlan::converted(b, Some(480), Some(480), 1056, d, h);
            let plan = host_plan.on_device(Some(480), Some(480), d, h);
            let setup = StreamSetup {
                plan,
                rate: d,
                render_frame_bytes: Some(4 * CH),
                capture_frame_bytes: Some(4 * CH),
                capture_buffer_frames: 1056,
                longest_period_frames: 480,
                exclusive_render: false,
                polling: false,
                steer_drift: false,
                host_rate: h,
                host_buffer_frames: b,
                input_ring_frames: host_plan.input_ring_frames,
            };
            let conversion = Conversion::new(
                Some(Resampler::new(RATE, host_rate, CH).unwrap()),
                Some(Resampler::new(host_rate, RATE, CH).unwrap()),
                1056,
                b as usize,
            );
            let (capture_delay, render_delay) = conversion.delays();
            let mut core = StreamCore::new(SimPort::new(sim), setup).with_conversion(conversion);
            let o = run(&mut core, 5.0);
            let what = format!("host {host_rate} Hz, B {b}");
            assert_clean(&o, &core, &what);
            // The converted values are interpolated: the round trip may read ±1 frame.
            let (lo, hi) = (
                *o.round_trips.keys().next().unwrap(),
                *o.round_trips.keys().last().unwrap(),
            );
            assert!(
                hi - lo <= 1,
                "{what}: the round trip moved: {:?}",
                o.round_trips
            );
            let lat = host_plan.latency(0, 0);
            let reported = f64::from(b + lat.input_frames + lat.output_frames)
                + f64::from(core.measured_input_delay().unwrap_or(0))
                + f64::from(core.measured_output_delay().unwrap_or(0))
                + capture_delay
                + render_delay * h / d;
            let seen = o
                .round_trips
                .iter()
                .max_by_key(|(_, n)| **n)
                .map(|(k, _)| *k as f64)
                .unwrap();
            assert!(
                (seen - reported).abs() <= 1.5,
                "{what}: measured {seen} frames, reported {reported:.1}"
            );
        }
    }
}

/// Two devices whose clocks are 300 ppm apart each way, the render side steered by its
/// resampler's ratio (the float mix format every shared-mode stream has): over an hour of
/// simulated time not one frame is slipped, neither device runs dry or overflows, the queue
/// stays within the loop's bound of where it settled — so the latency is constant — and the
/// correction converges on the true ratio.
#[test]
fn clocks_600_ppm_apart_are_followed_by_the_resampler_for_an_hour() {
    use tenuto_resample::Resampler;
    use tenuto_wasapi::stream::Conversion;

    let seconds: f64 = std::env::var("TENUTO_DRIFT_SECONDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(3600.0);
    for (render_ppm, capture_ppm) in [(300.0, -300.0), (-300.0, 300.0)] {
        let mut render = SimSide::new(1056, 480);
        render.ppm = render_ppm;
        let mut capture = SimSide::new(1056, 480);
        capture.ppm = capture_ppm;
        let sim = SimConfig {
            rate: RATE,
            channels: CH,
            render: Some(render),
            capture: Some(capture),
            loopback: false,
            stalls: Vec::new(),
            wake_jitter_ns: 300_000,
            seed: 13,
        };
        let setup = setup(128, &sim, false, true);
        let conversion = Conversion::new(
            None,
            Some(Resampler::new(RATE, RATE, CH).unwrap()),
            1056,
            128,
        );
        let mut core = StreamCore::new(SimPort::new(sim), setup).with_conversion(conversion);
        let o = run(&mut core, seconds);
        let what = format!("render {render_ppm} ppm, capture {capture_ppm} ppm");
        assert!(o.error.is_none(), "{what}: {:?}", o.error);
        let dev = core.port().counters();
        assert_eq!(dev.render_underruns, 0, "{what}: {dev:?}");
        assert_eq!(dev.capture_overflows, 0, "{what}: {dev:?}");
        assert_eq!(
            o.input_gaps, 0,
            "{what}: captured frames were lost or repeated"
        );
        let c = core.device_counters();
        assert_eq!(
            (c.clock_slips, c.resyncs, c.output_underruns),
            (0, 0, 0),
            "{what}: {c:?}"
        );
        // The render clock runs (1 + r)/(1 + c) times the capture clock: the resampler must
        // consume input that much slower, i.e. a correction of about −(r − c) ppm.
        let truth = ((1.0 + capture_ppm * 1e-6) / (1.0 + render_ppm * 1e-6) - 1.0) * 1e6;
        let correction = core.drift_correction_ppm().unwrap();
        let max_error = core.drift_max_error_frames().unwrap();
        println!(
            "{what}: correction {correction:.2} ppm (truth {truth:.2}), worst level error \
             {max_error:.1} frames over {seconds} s"
        );
        assert!(
            (correction - truth).abs() < 20.0,
            "{what}: correction {correction:.2} ppm, truth {truth:.2}"
        );
        assert!(
            max_error < 150.0,
            "{what}: the level moved {max_error:.1} frames"
        );
    }
}
