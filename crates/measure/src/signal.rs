//! Test signals written into host buffers, and reading them back, for
//! every sample type a driver may hand out (little-endian PCM and float).

use asio_abi::SampleType;

/// Writes `value` (full scale ±1.0) as sample `i` of a buffer of `sample_type`.
/// Returns false for types this host does not write (big-endian, DSD).
pub fn write_sample(buf: &mut [u8], sample_type: i32, i: usize, value: f64) -> bool {
    let v = value.clamp(-1.0, 1.0);
    let int = |bits: u32| -> i64 {
        let scale = (1i64 << (bits - 1)) as f64;
        ((v * scale).round() as i64).clamp(-(1i64 << (bits - 1)), (1i64 << (bits - 1)) - 1)
    };
    let Some(t) = SampleType::from_raw(sample_type) else {
        return false;
    };
    let n = t.bytes_per_sample();
    let Some(dst) = buf.get_mut(i * n..(i + 1) * n) else {
        return false;
    };
    match t {
        SampleType::Int16Lsb => dst.copy_from_slice(&(int(16) as i16).to_le_bytes()),
        SampleType::Int24Lsb => dst.copy_from_slice(&(int(24) as i32).to_le_bytes()[..3]),
        SampleType::Int32Lsb => dst.copy_from_slice(&(int(32) as i32).to_le_bytes()),
        SampleType::Int32Lsb16 => dst.copy_from_slice(&(int(16) as i32).to_le_bytes()),
        SampleType::Int32Lsb18 => dst.copy_from_slice(&(int(18) as i32).to_le_bytes()),
        SampleType::Int32Lsb20 => dst.copy_from_slice(&(int(20) as i32).to_le_bytes()),
        SampleType::Int32Lsb24 => dst.copy_from_slice(&(int(24) as i32).to_le_bytes()),
        SampleType::Float32Lsb => dst.copy_from_slice(&(v as f32).to_le_bytes()),
        SampleType::Float64Lsb => dst.copy_from_slice(&v.to_le_bytes()),
        _ => return false,
    }
    true
}

/// Reads sample `i` of a buffer of `sample_type` as full-scale ±1.0.
pub fn read_sample(buf: &[u8], sample_type: i32, i: usize) -> Option<f64> {
    let t = SampleType::from_raw(sample_type)?;
    let n = t.bytes_per_sample();
    let src = buf.get(i * n..(i + 1) * n)?;
    let i32_at = || i32::from_le_bytes([src[0], src[1], src[2], src[3]]);
    let scaled = |v: i64, bits: u32| v as f64 / (1i64 << (bits - 1)) as f64;
    Some(match t {
        SampleType::Int16Lsb => scaled(i64::from(i16::from_le_bytes([src[0], src[1]])), 16),
        SampleType::Int24Lsb => {
            let v = i32::from_le_bytes([0, src[0], src[1], src[2]]) >> 8;
            scaled(i64::from(v), 24)
        }
        SampleType::Int32Lsb => scaled(i64::from(i32_at()), 32),
        SampleType::Int32Lsb16 => scaled(i64::from(i32_at()), 16),
        SampleType::Int32Lsb18 => scaled(i64::from(i32_at()), 18),
        SampleType::Int32Lsb20 => scaled(i64::from(i32_at()), 20),
        SampleType::Int32Lsb24 => scaled(i64::from(i32_at()), 24),
        SampleType::Float32Lsb => f64::from(f32::from_le_bytes([src[0], src[1], src[2], src[3]])),
        SampleType::Float64Lsb => {
            let mut b = [0u8; 8];
            b.copy_from_slice(src);
            f64::from_le_bytes(b)
        }
        _ => return None,
    })
}

/// A sine oscillator that keeps its phase across buffers.
#[derive(Debug, Clone, Copy)]
pub struct Sine {
    phase: f64,
    step: f64,
    amplitude: f64,
}

impl Sine {
    /// `freq` Hz at `rate`, peak `amplitude` (full scale 1.0).
    pub fn new(freq: f64, rate: f64, amplitude: f64) -> Self {
        Self {
            phase: 0.0,
            step: freq / rate,
            amplitude,
        }
    }

    /// The next sample.
    pub fn next_sample(&mut self) -> f64 {
        let v = self.amplitude * (std::f64::consts::TAU * self.phase).sin();
        self.phase = (self.phase + self.step).fract();
        v
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_little_endian_type_round_trips_half_scale() {
        for t in SampleType::ALL {
            if !t.is_little_endian() || t.is_dsd() {
                continue;
            }
            let mut buf = vec![0u8; 4 * t.bytes_per_sample()];
            assert!(write_sample(&mut buf, t.to_raw(), 2, -0.5), "{t:?}");
            assert_eq!(read_sample(&buf, t.to_raw(), 2), Some(-0.5), "{t:?}");
            assert_eq!(read_sample(&buf, t.to_raw(), 1), Some(0.0), "{t:?}");
        }
    }

    #[test]
    fn big_endian_types_are_refused() {
        let mut buf = [0u8; 8];
        assert!(!write_sample(&mut buf, asio_abi::ASIO_ST_INT16_MSB, 0, 0.1));
        assert_eq!(read_sample(&buf, asio_abi::ASIO_ST_FLOAT32_MSB, 0), None);
    }
}
