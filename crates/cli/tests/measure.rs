//! `tenuto play` and `tenuto loopback` through the built binary, on
//! Tenuto's in-process driver and its virtual device.

use std::path::PathBuf;
use std::process::{Command, Output};

fn tenuto(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_tenuto"))
        .args(args)
        .output()
        .expect("run tenuto")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn json(out: &Output) -> serde_json::Value {
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "not JSON ({e}):\n{}\nstderr:\n{}",
            text(&out.stdout),
            text(&out.stderr)
        )
    })
}

/// A 0.5 s stereo 16-bit WAV file at 44.1 kHz.
fn wav_44k1(name: &str) -> PathBuf {
    let path = std::env::temp_dir().join(format!("tenuto-cli-{}-{name}.wav", std::process::id()));
    let spec = hound::WavSpec {
        channels: 2,
        sample_rate: 44_100,
        bits_per_sample: 16,
        sample_format: hound::SampleFormat::Int,
    };
    let mut w = hound::WavWriter::create(&path, spec).unwrap();
    for i in 0..22_050 {
        let v = (std::f64::consts::TAU * 440.0 * f64::from(i) / 44_100.0).sin() * 0.25;
        w.write_sample((v * 32767.0) as i16).unwrap();
        w.write_sample((-v * 32767.0) as i16).unwrap();
    }
    w.finalize().unwrap();
    path
}

#[test]
fn loopback_through_the_virtual_device_passes_at_the_reported_latency() {
    // A large buffer, so that the virtual device rarely misses a deadline
    // on a busy machine (a late period is a real glitch to this
    // measurement); up to three runs for one without glitches.
    for _ in 0..3 {
        let out = tenuto(&[
            "loopback",
            "--in-process",
            "--backend",
            "virtual",
            "--seconds",
            "2",
            "--buffer",
            "2048",
            "--json",
        ]);
        let v = json(&out);
        assert_eq!(v["measured_frames"], v["reported_frames"], "{v:#}");
        // 2048 input + 2048 deferred + 2048 device output buffering.
        assert_eq!(v["reported_frames"], 3 * 2048);
        assert_eq!(v["difference_ms"], 0.0);
        assert_eq!(v["within_tolerance"], true);
        assert_eq!(v["discontinuities"], 0);
        assert_eq!(v["buffer_frames"], 2048);
        assert_eq!(v["sample_rate"], 48_000.0);
        assert!(v["seconds_analysed"].as_f64().unwrap() > 1.5, "{v:#}");
        assert!(v["gain_db"].as_f64().unwrap().abs() < 0.01, "{v:#}");
        // Glitches only where the driver was late (the device then plays
        // silence): never more than its output gaps.
        let glitches = v["glitches"].as_u64().unwrap();
        let gaps = v["output_underruns"].as_u64().unwrap();
        assert!(glitches <= gaps, "{v:#}");
        assert_eq!(out.status.success(), glitches == 0, "{v:#}");
        assert_eq!(v["passed"], glitches == 0);
        if glitches == 0 {
            assert_eq!(v["reason"], serde_json::Value::Null);
            return;
        }
        assert!(text(&out.stderr).contains("glitch"));
    }
}

#[test]
fn loopback_summary_and_failure_without_a_loop() {
    let out = tenuto(&[
        "loopback",
        "--in-process",
        "--seconds",
        "1",
        "--buffer",
        "2048",
        "--input-channel",
        "1",
        "--output-channel",
        "1",
    ]);
    let stdout = text(&out.stdout);
    assert!(
        stdout.contains("output 1 → input 1, 2048 frames"),
        "{stdout}"
    );
    assert!(
        stdout.contains("measured      6144 frames (128.000 ms): +0.000 ms from the reported"),
        "{stdout}"
    );
    assert!(stdout.contains("\nresult        "), "{stdout}");

    let out = tenuto(&[
        "loopback",
        "--in-process",
        "--source",
        "silence",
        "--seconds",
        "1",
        "--buffer",
        "1024",
    ]);
    assert_eq!(out.status.code(), Some(1));
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains(
            "tenuto loopback: no signal came back on input 0: \
             is output 0 connected to input 0? (peak -inf dBFS)"
        ),
        "{stderr}"
    );
    assert!(text(&out.stdout).contains("result        FAIL"));

    let out = tenuto(&["loopback", "--in-process", "--output-channel", "9"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out.stderr).contains("output 9 does not exist"));
}

#[test]
fn play_a_tone_for_one_second() {
    let out = tenuto(&["play", "--in-process", "--seconds", "1", "--json"]);
    let v = json(&out);
    assert!(out.status.success(), "{v:#}\n{}", text(&out.stderr));
    assert_eq!(v["finished"], true);
    assert_eq!(v["seconds_played"], 1.0);
    assert!(
        (v["peak_dbfs"].as_f64().unwrap() + 12.0).abs() < 0.1,
        "{v:#}"
    );
    assert_eq!(v["discontinuities"], 0);

    let out = tenuto(&[
        "play",
        "--in-process",
        "--seconds",
        "0.5",
        "--tone",
        "1000",
        "--level",
        "-20",
        "--channels",
        "1",
    ]);
    let stdout = text(&out.stdout);
    assert!(out.status.success(), "{stdout}\n{}", text(&out.stderr));
    assert!(stdout.contains("sine 1000 Hz at -20 dBFS"), "{stdout}");
    assert!(stdout.contains("outputs       out 1\n"), "{stdout}");
    assert!(stdout.contains("played        0.50 of 0.50 s"), "{stdout}");
}

#[test]
fn play_a_44k1_wav_file_on_the_48k_device() {
    let path = wav_44k1("play");
    let file = path.to_str().unwrap();
    // The driver accepts the file's rate: it is switched, nothing resampled.
    let out = tenuto(&["play", "--in-process", "--wav", file, "--json"]);
    let v = json(&out);
    assert!(out.status.success(), "{v:#}\n{}", text(&out.stderr));
    assert_eq!(v["sample_rate"], 44_100.0);
    assert_eq!(v["resampled_from"], serde_json::Value::Null);
    assert!(
        v["rate_note"].as_str().unwrap().contains("switched"),
        "{v:#}"
    );
    assert_eq!(v["finished"], true);
    assert_eq!(v["seconds_played"], 0.5);
    // A rate chosen on the command line: the file is resampled to it.
    let out = tenuto(&["play", "--in-process", "--wav", file, "--rate", "48000"]);
    let stdout = text(&out.stdout);
    assert!(out.status.success(), "{stdout}\n{}", text(&out.stderr));
    assert!(
        stdout.contains("the file was resampled from 44100 Hz to 48000 Hz"),
        "{stdout}"
    );
    assert!(
        stdout.contains("file ch 0 → out 0, file ch 1 → out 1"),
        "{stdout}"
    );
    std::fs::remove_file(&path).ok();

    let out = tenuto(&["play", "--in-process", "--wav", "/nonexistent/x.wav"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("cannot read /nonexistent/x.wav"));
}
