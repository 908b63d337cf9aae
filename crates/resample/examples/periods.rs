//! Runs one candidate for a number of periods, for instruction counts under callgrind (a
//! noise-free second opinion on the criterion figures):
//!
//! `valgrind --tool=callgrind --callgrind-out-file=/dev/null target/release/examples/periods
//!  tenuto|rubato INPUT_RATE OUTPUT_RATE CHANNELS FRAMES PERIODS`
//!
//! The instruction count of a run with PERIODS = 0 (setup only) is subtracted to get the
//! count per period.

#[path = "../tests/common/rubato_candidate.rs"]
mod rubato_candidate;

use std::hint::black_box;

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let number = |i: usize| -> usize { args[i].parse().expect("a number") };
    let (i, o) = (number(2) as u32, number(3) as u32);
    let (channels, frames, periods) = (number(4), number(5), number(6));
    let input: Vec<f32> = (0..8_192 * channels)
        .map(|k| ((k as f32) * 0.001_3).sin() * 0.5)
        .collect();
    let mut output = vec![0.0f32; frames * channels];
    match args[1].as_str() {
        "tenuto" => {
            let mut r = tenuto_resample::Resampler::new(i, o, channels).expect("valid rates");
            for _ in 0..periods {
                let need = r.input_frames_needed(frames);
                black_box(r.process(&input[..need * channels], &mut output));
            }
        }
        "rubato" => {
            let mut r = rubato_candidate::Rubato::new(i, o, channels, frames);
            for _ in 0..periods {
                let need = r.input_frames_next();
                black_box(r.process(&input[..need * channels], &mut output));
            }
        }
        other => panic!("unknown candidate {other}"),
    }
    black_box(&output);
}
