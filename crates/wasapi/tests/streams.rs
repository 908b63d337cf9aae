//! WASAPI streams through the engine, with real devices: under Wine, the PulseAudio null
//! sink and null source that `tools/pulse/start.sh` creates (winepulse endpoints "Tenuto Null
//! Output" and "Tenuto Null Input"), which run at real-time pace.
//!
//! Without them (PULSE_SERVER unset, the daemon not running, or a Windows machine without
//! that setup) the shared-mode tests print why and return, except under `cargo xtask test`,
//! which provides them (`TENUTO_HARNESS` names `pulse`): there they fail
//! (`missing_environment`). The streams wait by WASAPI's
//! events on Windows and by polling under Wine (see `pace_wake_up`).
//!
//! The low-latency (IAudioClient3) and exclusive-mode tests are the ones that matter on
//! Windows: there they stream through Windows' default output device (skipped, with the
//! reason, when the machine has none). Under Wine they check what Wine can show: IAudioClient3
//! is not implemented there, so low-latency mode must fall back to shared mode and still
//! stream; winepulse has no exclusive mode, so exclusive mode must be refused with a message
//! that names the device.
//!
//! A counting global allocator checks that the driver thread's real-time section — which
//! contains the device stream's `wait`, `read` and `write` — never allocates, and the engine's
//! lock counter that it never takes a Tenuto lock.

#![cfg(windows)]

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use tenuto_engine::host::{HostCallbacks, HostMessages, PeriodTime, SwitchCallback};
use tenuto_engine::{BufferRequest, Engine, EngineOptions};
use tenuto_wasapi::{
    endpoints, AggregateConfig, AggregateDevice, ClockChoice, Direction, Endpoint, EndpointChoice,
    EndpointSpec, EndpointState, Mode, WakeUp, WasapiConfig, WasapiDevice,
};

#[global_allocator]
static ALLOCATOR: tenuto_engine::rt::RtAllocCounter = tenuto_engine::rt::RtAllocCounter;

const SINK: &str = "Tenuto Null Output";
const SOURCE: &str = "Tenuto Null Input";
/// Held by each stream's measuring window and by the allocator's negative control, which
/// run on parallel test threads of one process and share its counters.
static RT_WINDOW: tenuto_engine::sync::Mutex<()> = tenuto_engine::sync::Mutex::new(());

/// Room for every switch of one run (3 s at 16 frames and 48 kHz is 9000).
const MAX_SWITCHES: usize = 32_768;

/// The null sink and source, or why they are not there.
fn null_endpoints() -> Result<(Endpoint, Endpoint), String> {
    let server = std::env::var("PULSE_SERVER").unwrap_or_default();
    let list = endpoints().map_err(|e| format!("enumerating endpoints failed: {e}"))?;
    let find = |direction, name: &str| {
        list.iter()
            .find(|e| e.direction == direction && e.name == name)
            .cloned()
    };
    let hint = if server.is_empty() {
        "PULSE_SERVER is not set; run `eval \"$(tools/pulse/start.sh)\"` first".to_owned()
    } else {
        format!("PULSE_SERVER={server}; is the daemon running (tools/pulse/start.sh)?")
    };
    let sink = find(Direction::Render, SINK).ok_or(format!("no \"{SINK}\" endpoint: {hint}"))?;
    let source =
        find(Direction::Capture, SOURCE).ok_or(format!("no \"{SOURCE}\" endpoint: {hint}"))?;
    for e in [&sink, &source] {
        if e.state != EndpointState::Active {
            return Err(format!("\"{}\" is {}: {hint}", e.name, e.state));
        }
    }
    Ok((sink, source))
}

/// Ends a test whose environment is missing. Outside the harness (a developer's plain
/// `cargo test`) it prints why and the test passes having decided nothing; where
/// `cargo xtask test` declares that it provides `env` (`TENUTO_HARNESS`, a comma-separated
/// list of `wine`, `pulse`, `xvfb`), a missing environment is a broken run, so it panics.
fn missing_environment(env: &str, why: &str) {
    let declared = std::env::var("TENUTO_HARNESS").unwrap_or_default();
    if declared.split(',').any(|e| e.trim() == env) {
        panic!(
            "{why}\nthe harness provides {env} (TENUTO_HARNESS={declared}): this test must run, \
             not skip"
        );
    }
    eprintln!("skipped: {why} (`cargo xtask test` provides {env})");
}

/// Records each switch's position and wall time into preallocated atomics.
struct Recorder {
    count: Arc<AtomicUsize>,
    positions: Arc<[AtomicU64]>,
    times: Arc<[AtomicU64]>,
    halves: Arc<[AtomicU64]>,
}

impl SwitchCallback for Recorder {
    fn buffer_switch(&mut self, half: usize, time: &PeriodTime) {
        let i = self.count.fetch_add(1, Ordering::Relaxed);
        if let (Some(p), Some(t), Some(h)) =
            (self.positions.get(i), self.times.get(i), self.halves.get(i))
        {
            p.store(time.sample_position, Ordering::Relaxed);
            t.store(tenuto_engine::time::now_ns(), Ordering::Relaxed);
            h.store(half as u64, Ordering::Relaxed);
        }
    }
}

struct Quiet;

impl HostMessages for Quiet {
    fn message(&self, _selector: i32, _value: i32) -> i32 {
        0
    }
    fn sample_rate_did_change(&self, _rate: f64) {}
}

fn zeroed(n: usize) -> Arc<[AtomicU64]> {
    (0..n).map(|_| AtomicU64::new(0)).collect()
}

/// Streams `seconds` through `sink` and/or `source` at `buffer` frames and checks the
/// positions and the pace.
fn stream(sink: Option<&Endpoint>, source: Option<&Endpoint>, buffer: u32, seconds: f64) {
    let choice =
        |e: Option<&Endpoint>| e.map_or(EndpointChoice::Off, |e| EndpointChoice::Id(e.id.clone()));
    let device = WasapiDevice::new(WasapiConfig {
        render: choice(sink),
        capture: choice(source),
        wake_up: pace_wake_up(),
        ..WasapiConfig::default()
    })
    .expect("open the null sink and/or source");
    let stereo = |e: Option<&Endpoint>| if e.is_some() { 2 } else { 0 };
    let mut engine = Engine::new(Box::new(device), EngineOptions::default());
    engine.init().expect("init");
    assert_eq!(
        engine.channels().expect("channels"),
        (stereo(source), stereo(sink)),
        "the null devices are stereo"
    );
    stream_engine(&mut engine, buffer, seconds);
}

/// Streams an initialised engine for `seconds` at `buffer` frames and checks the positions
/// and the pace.
fn stream_engine(engine: &mut Engine, buffer: u32, seconds: f64) {
    // The counters are per process: no other test's real-time section (the negative control
    // below) may fall in this window.
    let _window = RT_WINDOW.lock();
    let rate = engine.sample_rate().expect("rate");
    let (inputs, outputs) = engine.channels().expect("channels");
    let plan = format!("device \"{}\"", engine.device().info().name);
    let requests: Vec<BufferRequest> = [(true, inputs), (false, outputs)]
        .iter()
        .flat_map(|&(is_input, n)| (0..n).map(move |channel| BufferRequest { is_input, channel }))
        .collect();

    let recorder = Recorder {
        count: Arc::new(AtomicUsize::new(0)),
        positions: zeroed(MAX_SWITCHES),
        times: zeroed(MAX_SWITCHES),
        halves: zeroed(MAX_SWITCHES),
    };
    let count = Arc::clone(&recorder.count);
    let positions = Arc::clone(&recorder.positions);
    let times = Arc::clone(&recorder.times);
    let halves = Arc::clone(&recorder.halves);
    engine
        .create_buffers(
            &requests,
            buffer as i32,
            HostCallbacks {
                switch: Box::new(recorder),
                messages: Arc::new(Quiet),
            },
        )
        .expect("createBuffers");
    let (in_latency, out_latency) = engine.latencies().expect("latencies");

    let allocations_before = tenuto_engine::rt::rt_allocations();
    let locks_before = tenuto_engine::rt::lock_violations();
    engine.start().expect("start");
    let t0 = Instant::now();
    while t0.elapsed() < Duration::from_secs_f64(seconds) {
        std::thread::sleep(Duration::from_millis(50));
        assert!(
            engine.shared().stream_error().is_none(),
            "the stream failed: {:?}",
            engine.shared().stream_error()
        );
    }
    engine.stop().expect("stop");
    let stats = engine.shared().counters.snapshot();
    engine.dispose_buffers().expect("disposeBuffers");
    let rt_allocations = tenuto_engine::rt::rt_allocations() - allocations_before;
    let lock_violations = tenuto_engine::rt::lock_violations() - locks_before;

    let n = count.load(Ordering::Relaxed).min(MAX_SWITCHES);
    let at = |a: &Arc<[AtomicU64]>, i: usize| a[i].load(Ordering::Relaxed);
    let what = match (outputs > 0, inputs > 0) {
        (true, true) => "duplex",
        (true, false) => "render only",
        _ => "capture only",
    };
    println!(
        "{what}, B={buffer} frames at {rate} Hz: {n} switches in {:.2} s; {plan}; \
         getLatencies in {in_latency} / out {out_latency} frames; late {} (max wake-up \
         {} µs), output drops {}, output resyncs {}, capture discontinuities {}, device stalls \
         {} ({} ms lost)",
        t0.elapsed().as_secs_f64(),
        stats.late_periods,
        stats.max_wake_late_ns / 1000,
        stats.output_underruns,
        stats.resyncs,
        stats.input_overruns,
        stats.device_stalls,
        stats.device_stall_lost_us / 1000,
    );
    assert_eq!(
        rt_allocations, 0,
        "the driver thread allocated while streaming"
    );
    assert_eq!(lock_violations, 0, "the driver thread took a Tenuto lock");
    let expected = (seconds * rate / f64::from(buffer)) as usize;
    assert!(
        n > expected * 9 / 10,
        "only {n} switches in {seconds} s, expected about {expected}"
    );
    for i in 0..n {
        assert_eq!(
            at(&positions, i),
            i as u64 * u64::from(buffer),
            "switch {i}: the sample position must advance by exactly the buffer size"
        );
        assert_eq!(
            at(&halves, i),
            (i % 2) as u64,
            "switch {i}: halves alternate"
        );
    }
    // The pace: the least-squares slope of wall time against sample position, from a tenth
    // of a second in (the start-up) to the last switch. A slope, not two end points, because
    // periods run in bursts when the ASIO buffer is not a multiple of the engine period.
    let first = (0..n)
        .find(|&i| at(&times, i) - at(&times, 0) >= 100_000_000)
        .expect("switches after 100 ms");
    let points: Vec<(f64, f64)> = (first..n)
        .map(|i| {
            let frames = (at(&positions, i) - at(&positions, first)) as f64;
            let wall = (at(&times, i) - at(&times, first)) as f64 / 1e9;
            (frames, wall)
        })
        .collect();
    let count = points.len() as f64;
    let mean_x = points.iter().map(|p| p.0).sum::<f64>() / count;
    let mean_y = points.iter().map(|p| p.1).sum::<f64>() / count;
    let sxy: f64 = points.iter().map(|p| (p.0 - mean_x) * (p.1 - mean_y)).sum();
    let sxx: f64 = points.iter().map(|p| (p.0 - mean_x).powi(2)).sum();
    let (frames, span) = points.last().copied().unwrap_or((0.0, 0.0));
    // When the stream lost time for good (frames that never came: on this VM the hypervisor
    // sometimes stops every thread for 20–100 ms), the slope would read the step as a slower
    // clock. The driver reports such stalls with the time they lost; the pace is then the end
    // points' with that time taken out.
    let lost_s = stats.device_stall_lost_us as f64 / 1e6;
    let (measured_rate, how) = if stats.device_stalls == 0 {
        (sxx / sxy, "slope")
    } else {
        (frames / (span - lost_s), "end points less the stalls' time")
    };
    let error = (measured_rate - rate).abs() / rate;
    println!(
        "  pace ({how}): {measured_rate:.1} frames per wall-clock second over {span:.2} s \
         ({:.3} % off {rate})",
        error * 100.0
    );
    assert!(
        error < 0.01,
        "the sample position advanced at {measured_rate:.1} frames/s of wall clock, not {rate} \
         ({:.2} % off)",
        error * 100.0
    );
    // Output that found no room even after a resync would be a bug in the stream.
    assert_eq!(stats.output_underruns, 0, "output blocks dropped");
}

#[test]
fn shared_mode_duplex_streams_at_the_device_pace() {
    // Negative control: the counting allocator must see an allocation in an RT section (held
    // apart from every stream's measuring window: the count is per process).
    {
        let _window = RT_WINDOW.lock();
        let before = tenuto_engine::rt::rt_allocations();
        tenuto_engine::rt::enter();
        drop(std::hint::black_box(Vec::<u64>::with_capacity(8)));
        tenuto_engine::rt::leave();
        assert!(tenuto_engine::rt::rt_allocations() > before);
    }

    let (sink, source) = match null_endpoints() {
        Ok(e) => e,
        Err(why) => {
            missing_environment("pulse", &why);
            return;
        }
    };
    println!("render {} [{}]", sink.name, sink.id);
    println!("capture {} [{}]", source.name, source.id);
    // 256: not a divisor of the 480-frame engine period (the rings do the decoupling);
    // 480: the engine period itself.
    for buffer in [256, 480] {
        stream(Some(&sink), Some(&source), buffer, 3.0);
    }
}

#[test]
fn shared_mode_render_only_and_capture_only_stream_at_the_device_pace() {
    let (sink, source) = match null_endpoints() {
        Ok(e) => e,
        Err(why) => {
            missing_environment("pulse", &why);
            return;
        }
    };
    stream(Some(&sink), None, 128, 2.0);
    stream(None, Some(&source), 1024, 2.0);
}

/// With conversion off (`wasapi.convert_rate = false`) the mix rate is the only rate, and
/// another is refused naming it; with conversion on (the default) every standard rate is
/// offered and the null sink's 48 kHz mix takes a host at 44.1 kHz.
#[test]
fn conversion_off_offers_the_mix_rate_alone_and_on_offers_every_standard_rate() {
    let (sink, _) = match null_endpoints() {
        Ok(e) => e,
        Err(why) => {
            missing_environment("pulse", &why);
            return;
        }
    };
    let device = WasapiDevice::new(WasapiConfig {
        render: EndpointChoice::Id(sink.id.clone()),
        capture: EndpointChoice::Off,
        convert_rates: false,
        ..WasapiConfig::default()
    })
    .expect("open the null sink");
    let rate = f64::from(sink.mix_format.expect("mix format").rate);
    let mut engine = Engine::new(Box::new(device), EngineOptions::default());
    engine.init().expect("init");
    assert_eq!(engine.sample_rate().expect("rate"), rate);
    assert_eq!(engine.channels().expect("channels"), (0, 2));
    let other = if rate == 44_100.0 { 48_000.0 } else { 44_100.0 };
    let refused = engine.can_sample_rate(other).expect_err("another rate");
    let message = refused.to_string();
    assert!(
        message.contains(&format!("{}", rate / 1000.0)),
        "the refusal names the rate that works: {message}"
    );

    let converting = WasapiDevice::new(WasapiConfig {
        render: EndpointChoice::Id(sink.id.clone()),
        capture: EndpointChoice::Off,
        ..WasapiConfig::default()
    })
    .expect("open the null sink");
    let mut engine = Engine::new(Box::new(converting), EngineOptions::default());
    engine.init().expect("init");
    for standard in [44_100.0, 48_000.0, 88_200.0, 96_000.0, 176_400.0, 192_000.0] {
        engine
            .can_sample_rate(standard)
            .unwrap_or_else(|e| panic!("{standard} Hz with conversion on: {e}"));
    }
}

#[test]
fn an_unknown_endpoint_id_is_refused_with_the_list_of_active_ones() {
    if let Err(why) = null_endpoints() {
        missing_environment("pulse", &why);
        return;
    }
    let unknown = "{0.0.0.00000000}.{00000000-0000-0000-0000-000000000000}";
    // Strict (wasapi.missing_device = "fail"): refused, naming the endpoints there are.
    let e = WasapiDevice::new(WasapiConfig {
        render: EndpointChoice::Id(unknown.into()),
        capture: EndpointChoice::Off,
        missing_falls_back: false,
        ..WasapiConfig::default()
    })
    .expect_err("no such endpoint");
    let message = e.to_string();
    assert!(
        message.contains("no render endpoint has the ID"),
        "{message}"
    );
    assert!(message.contains(SINK), "{message}");
    // The default: Windows' default output instead, and the notes say so.
    let device = WasapiDevice::new(WasapiConfig {
        render: EndpointChoice::Id(unknown.into()),
        capture: EndpointChoice::Off,
        ..WasapiConfig::default()
    })
    .expect("the default output instead");
    assert!(
        device.render_endpoint().is_some(),
        "a render side: {:?}",
        device.notes()
    );
}

/// Whether this process runs under Wine.
fn under_wine() -> bool {
    tenuto_sched::windows::is_wine()
}

/// How the streams whose pace is checked wait: events on Windows, polling under Wine. There
/// every WASAPI event waits whenever the wineserver saves the registry (30–100 ms, within
/// 30 s of any change, and every test process makes one); one such stall is 1.5–5 % of a
/// 2 s run's wall clock. The DLL's tests run the event path under Wine.
fn pace_wake_up() -> WakeUp {
    if under_wine() {
        WakeUp::Polling
    } else {
        WakeUp::Events
    }
}

/// Windows' default output endpoint, or why there is none.
fn default_output() -> Result<Endpoint, String> {
    let list = endpoints().map_err(|e| format!("enumerating endpoints failed: {e}"))?;
    list.into_iter()
        .find(|e| e.direction == Direction::Render && e.is_default)
        .filter(|e| e.state == EndpointState::Active)
        .ok_or_else(|| "this machine has no active default output device".to_owned())
}

/// The output the mode tests use: the null sink under Wine, Windows' default output on
/// Windows.
fn mode_test_output() -> Result<Endpoint, String> {
    if under_wine() {
        null_endpoints().map(|(sink, _)| sink)
    } else {
        default_output()
    }
}

fn open_output(sink: &Endpoint, mode: Mode, wake_up: WakeUp) -> Result<WasapiDevice, String> {
    WasapiDevice::new(WasapiConfig {
        render: EndpointChoice::Id(sink.id.clone()),
        capture: EndpointChoice::Off,
        mode,
        wake_up,
        ..WasapiConfig::default()
    })
    .map_err(|e| e.to_string())
}

#[test]
fn low_latency_mode_takes_the_smallest_engine_period_or_falls_back_to_shared() {
    let sink = match mode_test_output() {
        Ok(e) => e,
        Err(why) => {
            missing_environment("pulse", &why);
            return;
        }
    };
    let device = open_output(&sink, Mode::LowLatency, pace_wake_up())
        .unwrap_or_else(|e| panic!("low-latency mode on \"{}\": {e}", sink.name));
    let mode = device.modes_in_effect().0.expect("a render side");
    let period = device.device_periods().0.expect("a render period");
    println!(
        "\"{}\": {mode}, engine period {period} frames; IAudioClient3 offers {:?}; notes: {:?}",
        sink.name,
        sink.low_latency_frames,
        device.notes()
    );
    match sink.low_latency_frames {
        // Wine (and Windows before 10) has no IAudioClient3: plain shared mode, which must
        // still stream.
        None => {
            assert_eq!(
                mode, "shared",
                "without IAudioClient3 the stream runs shared"
            );
            assert!(
                device.notes().iter().any(|n| n.contains("IAudioClient3")),
                "the fallback is explained: {:?}",
                device.notes()
            );
        }
        Some((min, _, _)) => {
            assert_eq!(
                mode,
                format!("low-latency ({min}-frame engine period)"),
                "the smallest period IAudioClient3 offers"
            );
            assert_eq!(period, min);
        }
    }
    let mut engine = Engine::new(Box::new(device), EngineOptions::default());
    engine.init().expect("init");
    stream_engine(&mut engine, period, 3.0);
}

#[test]
fn exclusive_mode_negotiates_a_format_switches_rates_and_polls_or_names_the_device() {
    let sink = match mode_test_output() {
        Ok(e) => e,
        Err(why) => {
            missing_environment("pulse", &why);
            return;
        }
    };
    println!(
        "\"{}\" accepts in exclusive mode: {:?}",
        sink.name, sink.exclusive_formats
    );
    if sink.exclusive_formats.is_empty() {
        // Wine's winepulse, or a device whose "Allow applications to take exclusive control"
        // is off: refused at open, naming the device and the way out.
        let Err(e) = open_output(&sink, Mode::Exclusive, WakeUp::Events) else {
            panic!("\"{}\" accepts no exclusive format, yet opened", sink.name);
        };
        println!("refused: {e}");
        assert!(e.contains(&sink.name), "the message names the device: {e}");
        assert!(e.contains("exclusive"), "the message names the mode: {e}");
        return;
    }
    for wake_up in [WakeUp::Events, WakeUp::Polling] {
        let device = open_output(&sink, Mode::Exclusive, wake_up)
            .unwrap_or_else(|e| panic!("exclusive mode on \"{}\": {e}", sink.name));
        let mut engine = Engine::new(Box::new(device), EngineOptions::default());
        engine.init().expect("init");
        let rates: Vec<f64> = [48_000.0, 44_100.0]
            .into_iter()
            .filter(|&r| engine.can_sample_rate(r).is_ok())
            .collect();
        assert!(
            !rates.is_empty(),
            "neither 48 kHz nor 44.1 kHz in exclusive mode"
        );
        // The host switches rates: each one negotiated and streamed (events, then polling),
        // at the buffer size the driver prefers at that rate.
        for rate in rates {
            engine.set_sample_rate(rate).expect("setSampleRate");
            let sizes = engine.buffer_size().expect("buffer sizes");
            println!("{wake_up:?} at {rate} Hz: buffer sizes {sizes:?}");
            stream_engine(&mut engine, sizes.preferred as u32, 2.0);
        }
    }
}

/// A host at 44.1 kHz on the null sink's 48 kHz mix: the converting stream (both sides
/// through the resampler) keeps the real-time section free of allocations and locks, and the
/// positions and pace are the host's rate.
#[test]
fn a_converted_duplex_stream_allocates_nothing_on_the_driver_thread() {
    let (sink, source) = match null_endpoints() {
        Ok(e) => e,
        Err(why) => {
            missing_environment("pulse", &why);
            return;
        }
    };
    let device = WasapiDevice::new(WasapiConfig {
        render: EndpointChoice::Id(sink.id.clone()),
        capture: EndpointChoice::Id(source.id.clone()),
        wake_up: pace_wake_up(),
        ..WasapiConfig::default()
    })
    .expect("open the null sink and source");
    assert!(
        device.converts(44_100.0),
        "44.1 kHz on a 48 kHz mix converts"
    );
    let mut engine = Engine::new(Box::new(device), EngineOptions::default());
    engine.init().expect("init");
    engine.set_sample_rate(44_100.0).expect("44.1 kHz");
    stream_engine(&mut engine, 256, 3.0);
}

/// The aggregate the settings describe with several endpoints: the null sink as the output,
/// its monitor and the null source as inputs (positions off, as the driver runs under Wine).
fn aggregate_config(outputs: Vec<EndpointSpec>, inputs: Vec<EndpointSpec>) -> AggregateConfig {
    AggregateConfig {
        outputs,
        inputs,
        clock: ClockChoice::Auto,
        skip_missing: false,
        base: WasapiConfig {
            wake_up: pace_wake_up(),
            positions: !under_wine(),
            padding_after_play: under_wine(),
            // `wasapi.missing_device = "fail"` (the tests set `skip_missing` for "skip").
            missing_falls_back: false,
            ..WasapiConfig::default()
        },
    }
}

fn spec(name: &str, channels: Option<Vec<u16>>) -> EndpointSpec {
    EndpointSpec {
        choice: EndpointChoice::Id(name.to_owned()),
        channels,
    }
}

/// An aggregate of three endpoints: its channels carry their endpoints' names in list
/// order, a channel selection narrows them, its clock sources are the members (the first
/// input by default, any member by setClockSource), and it streams through the engine with
/// the driver thread allocating nothing and taking no lock, at the device's pace.
#[test]
fn an_aggregate_names_its_channels_lists_its_clocks_and_streams() {
    if let Err(why) = null_endpoints() {
        missing_environment("pulse", &why);
        return;
    }
    let monitor = format!("Monitor of {SINK}");
    let device = AggregateDevice::deferred(aggregate_config(
        vec![spec(SINK, None)],
        vec![spec(&monitor, Some(vec![2])), spec(SOURCE, None)],
    ));
    let mut engine = Engine::new(Box::new(device), EngineOptions::default());
    engine.init().expect("init");
    let info = engine.device().info().clone();
    assert_eq!(
        info.output_channels,
        [
            format!("Out 1 \u{2013} {SINK}"),
            format!("Out 2 \u{2013} {SINK}")
        ]
    );
    assert_eq!(
        info.input_channels,
        [
            format!("In 2 \u{2013} {monitor}"),
            format!("In 1 \u{2013} {SOURCE}"),
            format!("In 2 \u{2013} {SOURCE}"),
        ]
    );
    assert_eq!(engine.channels().expect("channels"), (3, 2));
    let clocks = engine.clock_sources().expect("clock sources");
    let names: Vec<(&str, bool)> = clocks
        .iter()
        .map(|c| (c.name.as_str(), c.is_current))
        .collect();
    assert_eq!(
        names,
        [
            (format!("{SINK} (output)").as_str(), false),
            (format!("{monitor} (input)").as_str(), true),
            (format!("{SOURCE} (input)").as_str(), false),
        ]
    );
    stream_engine(&mut engine, 256, 3.0);
    // The output as the clock master, chosen as a host would.
    engine.set_clock_source(0).expect("setClockSource(0)");
    assert!(engine.clock_sources().expect("clock sources")[0].is_current);
    assert!(
        engine.set_clock_source(3).is_err(),
        "there are three clocks"
    );
    stream_engine(&mut engine, 512, 2.0);
}

/// `wasapi.convert_rate` holds for an aggregate as for one device: on, every standard rate
/// is offered (each member converts); off, only the rate the members mix at (the null sink
/// and source both mix at 48 kHz), and another is refused.
#[test]
fn an_aggregate_offers_other_rates_only_when_it_may_convert() {
    if let Err(why) = null_endpoints() {
        missing_environment("pulse", &why);
        return;
    }
    let mut config = aggregate_config(vec![spec(SINK, None)], vec![spec(SOURCE, None)]);
    let mut engine = Engine::new(
        Box::new(AggregateDevice::deferred(config.clone())),
        EngineOptions::default(),
    );
    engine.init().expect("init");
    for rate in [44_100.0, 48_000.0, 96_000.0, 192_000.0] {
        assert!(
            engine.can_sample_rate(rate).is_ok(),
            "{rate} Hz with conversion"
        );
    }

    config.base.convert_rates = false;
    let mut engine = Engine::new(
        Box::new(AggregateDevice::deferred(config)),
        EngineOptions::default(),
    );
    engine.init().expect("init");
    assert_eq!(engine.device().sample_rates(), [48_000.0]);
    assert!(engine.can_sample_rate(48_000.0).is_ok());
    let e = engine
        .can_sample_rate(44_100.0)
        .expect_err("44.1 kHz without conversion");
    assert!(e.to_string().contains("48 kHz"), "{e}");
}

/// A listed endpoint that is not there fails `init()` naming it, or with
/// `wasapi.missing_device = "skip"` is left out and named in the notice; exclusive mode
/// refuses an aggregate with the reason; a channel the endpoint does not have is named.
#[test]
fn an_aggregate_names_what_is_wrong() {
    if let Err(why) = null_endpoints() {
        missing_environment("pulse", &why);
        return;
    }
    let missing = "No Such Interface";
    let mut config = aggregate_config(
        vec![spec(SINK, None), spec(missing, None)],
        vec![spec(SOURCE, None)],
    );
    let mut engine = Engine::new(
        Box::new(AggregateDevice::deferred(config.clone())),
        EngineOptions::default(),
    );
    let e = engine.init().expect_err("a missing member fails init()");
    assert!(e.to_string().contains(missing), "{e}");

    config.skip_missing = true;
    let mut engine = Engine::new(
        Box::new(AggregateDevice::deferred(config.clone())),
        EngineOptions::default(),
    );
    engine.init().expect("init without the missing member");
    assert_eq!(engine.channels().expect("channels"), (2, 2));
    let notice = engine.device().notice().unwrap_or_default().to_owned();
    assert!(
        notice.contains(missing) && notice.contains("skip"),
        "{notice}"
    );

    config.skip_missing = false;
    config.outputs = vec![spec(SINK, Some(vec![3]))];
    let mut engine = Engine::new(
        Box::new(AggregateDevice::deferred(config.clone())),
        EngineOptions::default(),
    );
    let e = engine.init().expect_err("the sink has two channels");
    assert!(e.to_string().contains("channel 3"), "{e}");

    config.outputs = vec![spec(SINK, None)];
    config.base.mode = Mode::Exclusive;
    let mut engine = Engine::new(
        Box::new(AggregateDevice::deferred(config)),
        EngineOptions::default(),
    );
    let e = engine.init().expect_err("no exclusive aggregates");
    assert!(e.to_string().contains("shared"), "{e}");
}
