//! The other candidate of the benchmark: rubato's asynchronous sinc resampler in its
//! highest-quality configuration (256 taps, 256× oversampling, cubic interpolation between
//! table points, Blackman-Harris² window), fixed output size per call so that it can fill an
//! ASIO period, on interleaved f32 through audioadapter's slices.

// Shared by several test, bench and example targets, each using part of it.
#![allow(dead_code)]

use audioadapter_buffers::direct::InterleavedSlice;
use rubato::{
    calculate_cutoff, Async, FixedAsync, Resampler as _, SincInterpolationParameters,
    SincInterpolationType, WindowFunction,
};

/// rubato set up like `tenuto_resample::Resampler` is used: fixed output per call.
pub struct Rubato {
    inner: Async<f32>,
    channels: usize,
}

impl Rubato {
    /// `period` output frames per call; ratio adjustable by ±1 %.
    pub fn new(input_rate: u32, output_rate: u32, channels: usize, period: usize) -> Self {
        let window = WindowFunction::BlackmanHarris2;
        let params = SincInterpolationParameters {
            sinc_len: 256,
            f_cutoff: calculate_cutoff(256, window),
            oversampling_factor: 256,
            interpolation: SincInterpolationType::Cubic,
            window,
        };
        let inner = Async::<f32>::new_sinc(
            f64::from(output_rate) / f64::from(input_rate),
            1.01,
            &params,
            period,
            channels,
            FixedAsync::Output,
        )
        .unwrap();
        Rubato { inner, channels }
    }

    /// Input frames the next call consumes.
    pub fn input_frames_next(&self) -> usize {
        self.inner.input_frames_next()
    }

    /// rubato's reported delay, output frames (an integer: truncated).
    pub fn delay(&self) -> usize {
        self.inner.output_delay()
    }

    /// Sets the ratio relative to nominal (ramped over the next call), as
    /// `tenuto_resample::Resampler::set_ratio_adjust` does: `factor` > 1 consumes input faster.
    pub fn set_ratio_adjust(&mut self, factor: f64) {
        self.inner
            .set_resample_ratio_relative(1.0 / factor, true)
            .unwrap();
    }

    /// One period: `input` holds at least `input_frames_next()` frames, `output` one period.
    pub fn process(&mut self, input: &[f32], output: &mut [f32]) -> (usize, usize) {
        let c = self.channels;
        let inp = InterleavedSlice::new(input, c, input.len() / c).unwrap();
        let frames = output.len() / c;
        let mut out = InterleavedSlice::new_mut(output, c, frames).unwrap();
        self.inner
            .process_into_buffer(&inp, &mut out, None)
            .unwrap()
    }
}
