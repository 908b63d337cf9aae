//! `play` and `loopback` through Tenuto's in-process driver on the virtual
//! device: the loopback source returns the output exactly `input + output`
//! reported latency later, so the measured round trip must equal the
//! reported one to the frame, with no glitch.

use std::sync::Arc;
use std::time::Duration;

use tenuto_engine::shared::Shared;
use tenuto_engine::virtual_device::{VirtualConfig, VirtualDevice, VirtualSource};
use tenuto_engine::{DeviceFormat, Engine, EngineOptions, HostFormat};
use tenuto_host::Driver;
use tenuto_measure::loopback::{self, LockState, LoopbackOptions};
use tenuto_measure::play::{self, Clip, PlayOptions, PlaySource};

#[allow(clippy::disallowed_types)]
static SERIAL: std::sync::Mutex<()> = std::sync::Mutex::new(());

fn serial() -> std::sync::MutexGuard<'static, ()> {
    SERIAL.lock().unwrap_or_else(|p| p.into_inner())
}

fn driver_and_shared(
    config: VirtualConfig,
    host_format: Option<HostFormat>,
) -> (Driver, Arc<Shared>) {
    let engine = Engine::new(
        Box::new(VirtualDevice::new(config)),
        EngineOptions {
            host_format,
            ..EngineOptions::default()
        },
    );
    let instance = tenuto_driver::create_instance(engine);
    let shared = Arc::clone(instance.shared());
    (Driver::from_instance(instance), shared)
}

fn driver(config: VirtualConfig, host_format: Option<HostFormat>) -> Driver {
    driver_and_shared(config, host_format).0
}

fn loopback_config() -> VirtualConfig {
    VirtualConfig {
        source: VirtualSource::Loopback,
        // Device slack, so that a busy test machine rarely misses an output
        // deadline (a late period is a real glitch to this measurement).
        output_extra_frames: 4096,
        ..VirtualConfig::default()
    }
}

/// Measures through the loopback device until a run without glitches (at
/// most three runs). Every run must measure exactly the reported latency;
/// glitches may only come from the device's output gaps (the driver missed
/// a deadline on a busy machine), at most one per gap, all silent.
fn measure(frames: i32, config: VirtualConfig, host_format: Option<HostFormat>) {
    for attempt in 1..=3 {
        let (mut d, shared) = driver_and_shared(config.clone(), host_format);
        let mut locked_seen = false;
        let report = loopback::run(
            &mut d,
            &LoopbackOptions {
                buffer_frames: Some(frames),
                duration: Duration::from_millis(2500),
                ..LoopbackOptions::default()
            },
            &mut |p| locked_seen |= matches!(p.state, LockState::Locked(_)),
        )
        .expect("loopback");
        let stats = shared.counters.snapshot();
        let gaps = stats.output_underruns;
        println!(
            "buffer {frames}: measured {:?} frames, reported {} ({} + {}), {} glitches, \
             {gaps} output gaps, {:.2} s analysed",
            report.measured_frames,
            report.reported_frames,
            report.latencies.0,
            report.latencies.1,
            report.glitches,
            report.seconds_analysed
        );
        assert_eq!(report.measured_frames, Some(report.reported_frames));
        assert_eq!(
            report.reported_frames,
            i64::from(report.latencies.0 + report.latencies.1)
        );
        assert_eq!(report.difference_ms, Some(0.0));
        // Only a device clock restart (far behind) may move the lag.
        if stats.resyncs == 0 {
            assert_eq!(report.lag_change_count, 0, "{report:#?}");
        }
        assert_eq!(report.discontinuities, 0);
        assert_eq!(report.capture_gaps, 0);
        assert!(report.seconds_analysed > 1.5, "{report:#?}");
        assert!(report.gain_db.unwrap().abs() < 0.01, "{report:#?}");
        assert!(!report.inverted);
        assert!(locked_seen, "the progress callback never saw the lock");
        // Every glitch is a block the device played as silence because the
        // driver was late (a late block before the lock goes unnoticed:
        // the output was still silent then). None without a late period.
        assert!(report.glitches <= gaps, "{gaps} output gaps: {report:#?}");
        assert_eq!(report.passed, report.glitches == 0, "{report:#?}");
        if report.glitches == 0 {
            return;
        }
        if stats.resyncs == 0 {
            for g in &report.glitch_list {
                assert_eq!(g.silent_frames, g.frames, "{g:?}");
            }
        }
        println!("attempt {attempt}: the driver missed deadlines on this busy machine; again");
    }
}

#[test]
fn loopback_measures_exactly_the_reported_latency_at_64_frames() {
    let _g = serial();
    measure(64, loopback_config(), None);
}

#[test]
fn loopback_measures_exactly_the_reported_latency_at_256_frames() {
    let _g = serial();
    measure(256, loopback_config(), None);
}

#[test]
fn loopback_through_16_bit_samples_and_extra_input_buffering() {
    let _g = serial();
    measure(
        128,
        VirtualConfig {
            format: DeviceFormat::I16,
            input_extra_frames: 48,
            ..loopback_config()
        },
        Some(HostFormat::Int16Lsb),
    );
}

/// Negative control: with the device's inputs capturing a sine instead of
/// the outputs, the signal is not found and the reason says so.
#[test]
fn loopback_without_a_loop_fails_with_a_reason() {
    let _g = serial();
    for (source, start) in [
        (VirtualSource::Silence, "no signal came back on input 0"),
        (VirtualSource::Sine, "input 0 carries a signal"),
    ] {
        let mut d = driver(
            VirtualConfig {
                source,
                ..loopback_config()
            },
            None,
        );
        let report = loopback::run(
            &mut d,
            &LoopbackOptions {
                buffer_frames: Some(256),
                duration: Duration::from_millis(800),
                ..LoopbackOptions::default()
            },
            &mut |_| {},
        )
        .expect("loopback");
        assert!(!report.passed);
        let reason = report.reason.unwrap_or_default();
        assert!(reason.starts_with(start), "{source:?}: {reason}");
        assert_eq!(report.measured_frames, None);
    }
}

#[test]
fn loopback_refuses_channels_the_driver_lacks() {
    let _g = serial();
    let mut d = driver(loopback_config(), None);
    let err = loopback::run(
        &mut d,
        &LoopbackOptions {
            output_channel: 5,
            duration: Duration::from_millis(100),
            ..LoopbackOptions::default()
        },
        &mut |_| {},
    )
    .unwrap_err();
    assert!(err.to_string().contains("output 5 does not exist"), "{err}");
}

#[test]
fn play_a_tone_for_a_second() {
    let _g = serial();
    let mut d = driver(VirtualConfig::default(), None);
    let mut updates = 0;
    let report = play::run(
        &mut d,
        PlaySource::Tone {
            hz: 440.0,
            dbfs: -12.0,
        },
        &PlayOptions {
            buffer_frames: Some(128),
            duration: Some(Duration::from_secs(1)),
            ..PlayOptions::default()
        },
        &mut |_| updates += 1,
    )
    .expect("play");
    assert!(report.finished, "{report:#?}");
    assert!((report.seconds_played - 1.0).abs() < 1e-9, "{report:#?}");
    assert!((report.peak_dbfs + 12.0).abs() < 0.1, "{report:#?}");
    assert_eq!(report.discontinuities, 0);
    assert_eq!(report.outputs, vec![0, 1]);
    assert!(report.switches as f64 >= 48_000.0 / 128.0, "{report:#?}");
    assert!(updates >= 4);
}

/// A 44.1 kHz clip on the 48 kHz device: the driver is switched to the
/// clip's rate; with an explicit rate the clip is resampled instead.
#[test]
fn play_a_clip_switching_or_resampling() {
    let _g = serial();
    let clip = Clip {
        sample_rate: 44_100.0,
        channels: vec![vec![0.25; 22_050], vec![-0.5; 22_050]],
        name: "clip".into(),
    };
    let mut d = driver(VirtualConfig::default(), None);
    let report = play::run(
        &mut d,
        PlaySource::Clip(clip.clone()),
        &PlayOptions {
            buffer_frames: Some(256),
            outputs: Some(vec![1, 0]),
            ..PlayOptions::default()
        },
        &mut |_| {},
    )
    .expect("play");
    assert_eq!(report.sample_rate, 44_100.0);
    assert!(report.rate_note.unwrap().contains("switched"));
    assert_eq!(report.resampled_from, None);
    assert!(report.finished);
    assert!((report.seconds_played - 0.5).abs() < 1e-9);
    assert_eq!(report.mapping, vec![(1, Some(0)), (0, Some(1))]);
    assert!((report.peak_dbfs - 20.0 * 0.5f64.log10()).abs() < 1e-3);

    let mut d = driver(VirtualConfig::default(), None);
    let report = play::run(
        &mut d,
        PlaySource::Clip(clip),
        &PlayOptions {
            buffer_frames: Some(256),
            sample_rate: Some(48_000.0),
            duration: Some(Duration::from_millis(300)),
            ..PlayOptions::default()
        },
        &mut |_| {},
    )
    .expect("play");
    assert_eq!(report.sample_rate, 48_000.0);
    assert_eq!(report.resampled_from, Some(44_100.0));
    assert!((report.seconds_played - 0.3).abs() < 1e-9, "{report:#?}");
    assert!(report.finished);
}

/// Two pairs in one stream (`LoopbackOptions::also`): the sequence is played on both outputs
/// and each input is analysed on its own. On the loopback device each output comes back on
/// the input of the same number at the reported latency, so both pairs measure it exactly;
/// a pair whose input hears nothing fails the whole, named; a pair on an input already
/// taken is refused.
#[test]
fn loopback_measures_every_pair_of_one_stream() {
    let _g = serial();
    let (mut d, _shared) = driver_and_shared(loopback_config(), None);
    let report = loopback::run(
        &mut d,
        &LoopbackOptions {
            buffer_frames: Some(256),
            duration: Duration::from_millis(2500),
            output_channel: 0,
            input_channel: 0,
            also: vec![(1, 1)],
            ..LoopbackOptions::default()
        },
        &mut |_| {},
    )
    .expect("loopback");
    assert_eq!(report.also.len(), 1, "{report:#?}");
    let second = &report.also[0];
    assert_eq!((second.output_channel, second.input_channel), (1, 1));
    for r in std::iter::once(&report).chain(&report.also) {
        assert_eq!(r.measured_frames, Some(report.reported_frames), "{r:#?}");
        assert!(r.gain_db.unwrap().abs() < 0.01, "{r:#?}");
    }
    assert!(second.also.is_empty());
    // The whole passes only if every pair does.
    assert_eq!(
        report.passed,
        report.reason.is_none() && report.also.iter().all(|r| r.passed)
    );

    // Output 1 alone played (the main pair's output is 1, its input 0 is silent): the pair
    // 1 → 0 finds nothing, and the whole fails naming it.
    let (mut d, _shared) = driver_and_shared(loopback_config(), None);
    let report = loopback::run(
        &mut d,
        &LoopbackOptions {
            buffer_frames: Some(256),
            duration: Duration::from_millis(1500),
            output_channel: 1,
            input_channel: 0,
            also: vec![(1, 1)],
            ..LoopbackOptions::default()
        },
        &mut |_| {},
    )
    .expect("loopback");
    assert_eq!(report.measured_frames, None, "{report:#?}");
    assert_eq!(report.also[0].measured_frames, Some(report.reported_frames));
    assert!(!report.passed);
    assert!(
        report
            .reason
            .as_deref()
            .unwrap_or("")
            .contains("no signal came back on input 0"),
        "{:?}",
        report.reason
    );

    let (mut d, _shared) = driver_and_shared(loopback_config(), None);
    let err = loopback::run(
        &mut d,
        &LoopbackOptions {
            also: vec![(1, 0)],
            ..LoopbackOptions::default()
        },
        &mut |_| {},
    )
    .expect_err("an input in two pairs");
    assert!(err.to_string().contains("input 0 is in two pairs"), "{err}");
}
