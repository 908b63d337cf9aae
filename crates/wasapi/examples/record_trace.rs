//! Records the timing of a real WASAPI stream as a trace for the simulated device
//! (`tenuto_wasapi::stream::trace`): which frames the render device took when, and when each
//! capture packet became readable.
//!
//! ```text
//! record_trace [--buffer FRAMES] [--seconds S] [--polling] [--render-only]
//!              [--output NAME] [--input NAME] > trace.txt
//! ```
//!
//! Run it under Wine with the harness's PulseAudio (`--output "Tenuto Null Output" --input
//! "Monitor of Tenuto Null Output"`: the null sink and its monitor) to record winepulse's
//! timing; the traces under `tests/traces/` were made so.

#[cfg(windows)]
fn main() -> std::process::ExitCode {
    use std::process::ExitCode;

    use tenuto_engine::device::{Device, DeviceStream, StreamConfig};
    use tenuto_wasapi::stream::trace::{Trace, TraceSide};
    use tenuto_wasapi::{EndpointChoice, WakeUp, WasapiConfig, WasapiDevice};

    let args: Vec<String> = std::env::args().skip(1).collect();
    let value = |name: &str| {
        args.iter()
            .position(|a| a == name)
            .and_then(|i| args.get(i + 1))
            .cloned()
    };
    let buffer: u32 = value("--buffer").and_then(|v| v.parse().ok()).unwrap_or(64);
    let seconds: f64 = value("--seconds")
        .and_then(|v| v.parse().ok())
        .unwrap_or(5.0);
    let polling = args.iter().any(|a| a == "--polling");
    let render_only = args.iter().any(|a| a == "--render-only");
    let config = WasapiConfig {
        wake_up: if polling {
            WakeUp::Polling
        } else {
            WakeUp::Events
        },
        render: value("--output").map_or(EndpointChoice::Default, EndpointChoice::Id),
        capture: if render_only {
            EndpointChoice::Off
        } else {
            value("--input").map_or(EndpointChoice::Default, EndpointChoice::Id)
        },
        preferred_buffer_frames: buffer,
        ..WasapiConfig::default()
    };
    let mut device = match WasapiDevice::new(config) {
        Ok(d) => d,
        Err(e) => {
            eprintln!("record_trace: {e}");
            return ExitCode::FAILURE;
        }
    };
    let rate = device.default_sample_rate();
    let stream_config = StreamConfig {
        sample_rate: rate,
        period_frames: buffer,
    };
    let mut stream = match device.open_recorded(&stream_config, 1 << 20) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("record_trace: {e}");
            return ExitCode::FAILURE;
        }
    };
    // The shared-mode mix format: 32-bit samples (float under Wine and on most Windows).
    let frame_bytes = |channels: usize| channels * 4;
    let info = device.info();
    let mut input = vec![0u8; buffer as usize * frame_bytes(info.input_channels.len().max(1))];
    let output = vec![0u8; buffer as usize * frame_bytes(info.output_channels.len().max(1))];
    if let Err(e) = stream.start() {
        eprintln!("record_trace: start: {e}");
        return ExitCode::FAILURE;
    }
    let started = std::time::Instant::now();
    let mut failure = None;
    while started.elapsed().as_secs_f64() < seconds {
        match stream.wait() {
            Ok(Some(_)) => {
                let ok = stream.read(&mut input).and_then(|()| stream.write(&output));
                if let Err(e) = ok {
                    failure = Some(e);
                    break;
                }
            }
            Ok(None) => {}
            Err(e) => {
                failure = Some(e);
                break;
            }
        }
    }
    stream.stop();
    if let Some(e) = failure {
        eprintln!("record_trace: the stream failed: {e}");
        return ExitCode::FAILURE;
    }
    let plan = *stream.plan();
    let buffers = stream.port().buffers();
    let trace = Trace {
        origin: format!(
            "winepulse under Wine, {rate} Hz, ASIO buffer {buffer}, {} ({:.0} s)",
            if polling { "polling" } else { "events" },
            seconds
        ),
        rate: rate.round() as u32,
        buffer_frames: buffer,
        polling,
        render: plan.render_period_frames.map(|p| TraceSide {
            buffer_frames: buffers.render_frames,
            period_frames: p,
        }),
        capture: plan.capture_period_frames.map(|p| TraceSide {
            buffer_frames: buffers.capture_frames,
            period_frames: p,
        }),
        events: stream.port().events().to_vec(),
    };
    if stream.port().dropped() > 0 {
        eprintln!(
            "record_trace: {} events did not fit and are missing",
            stream.port().dropped()
        );
    }
    print!("{trace}");
    ExitCode::SUCCESS
}

#[cfg(not(windows))]
fn main() {
    eprintln!(
        "record_trace records a WASAPI stream: build it for Windows and run it there or under Wine"
    );
    std::process::exit(2);
}
