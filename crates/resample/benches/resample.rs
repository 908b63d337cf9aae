//! CPU per period of the two candidates, tenuto's polyphase resampler and rubato's best sinc
//! configuration, at 44.1 → 48 and 48 → 44.1 kHz, 2 and 32 channels, 32…1024-frame periods:
//! each iteration produces one period of output (exactly `frames` output frames from the
//! input frames the resampler asks for), as the driver thread would.
//!
//! `cargo bench -p tenuto-resample --bench resample`

use std::hint::black_box;
use std::time::Duration;

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use tenuto_resample::Resampler;

#[path = "../tests/common/rubato_candidate.rs"]
mod rubato_candidate;

const PAIRS: [(u32, u32); 2] = [(44_100, 48_000), (48_000, 44_100)];
const CHANNELS: [usize; 2] = [2, 32];
const FRAMES: [usize; 4] = [32, 64, 256, 1_024];

fn signal(frames: usize, channels: usize) -> Vec<f32> {
    (0..frames * channels)
        .map(|i| ((i as f32) * 0.001_3).sin() * 0.5)
        .collect()
}

fn periods(c: &mut Criterion) {
    for (i, o) in PAIRS {
        for channels in CHANNELS {
            let mut group = c.benchmark_group(format!("{i}->{o}/{channels}ch"));
            group.warm_up_time(Duration::from_millis(400));
            group.measurement_time(Duration::from_millis(1_200));
            group.sample_size(20);
            let input = signal(4_096, channels);
            for frames in FRAMES {
                group.throughput(Throughput::Elements(frames as u64));
                let mut output = vec![0.0f32; frames * channels];

                let mut ours = Resampler::new(i, o, channels).unwrap();
                group.bench_function(BenchmarkId::new("tenuto", frames), |b| {
                    b.iter(|| {
                        let need = ours.input_frames_needed(frames);
                        black_box(ours.process(&input[..need * channels], &mut output))
                    })
                });

                let mut theirs = rubato_candidate::Rubato::new(i, o, channels, frames);
                group.bench_function(BenchmarkId::new("rubato", frames), |b| {
                    b.iter(|| {
                        let need = theirs.input_frames_next();
                        black_box(theirs.process(&input[..need * channels], &mut output))
                    })
                });
            }
            group.finish();
        }
    }
}

criterion_group!(benches, periods);
criterion_main!(benches);
