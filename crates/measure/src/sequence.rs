//! The loopback's test signal: a maximum-length sequence (a leaf module: the analysis in
//! `loopback` and its band-limited copy in `bandlimit` both build on it).

/// Order of the default maximum-length sequence (period 2¹⁸ − 1 frames).
pub const SEQUENCE_ORDER: u32 = 18;

/// The test signal: a maximum-length sequence of ±amplitude, repeated, and
/// silence before frame 0.
#[derive(Debug, Clone)]
pub struct Sequence {
    table: Vec<f32>,
    amplitude: f64,
}

impl Sequence {
    /// The MLS of `order` (2 ≤ order ≤ 24; a Fibonacci LFSR on a primitive
    /// trinomial or pentanomial) at peak `amplitude` (full scale 1.0).
    pub fn mls(order: u32, amplitude: f64) -> Self {
        let order = order.clamp(2, 24);
        let taps = mls_taps(order);
        let period = (1usize << order) - 1;
        let mut state = (1u32 << order) - 1; // any non-zero state
        let a = amplitude as f32;
        let table = (0..period)
            .map(|_| {
                let (bit, next) = lfsr_step(state, order, taps);
                state = next;
                if bit {
                    a
                } else {
                    -a
                }
            })
            .collect();
        Self { table, amplitude }
    }

    /// The sequence `tenuto loopback` sends: order 18 at `dbfs`.
    pub fn standard(dbfs: f64) -> Self {
        Self::mls(SEQUENCE_ORDER, 10f64.powf(dbfs / 20.0))
    }

    /// Frames before the sequence repeats.
    pub fn period(&self) -> usize {
        self.table.len()
    }

    /// Peak amplitude.
    pub fn amplitude(&self) -> f64 {
        self.amplitude
    }

    /// The sample sent at `frame` (silence before frame 0).
    pub fn sample(&self, frame: i64) -> f32 {
        if frame < 0 || self.table.is_empty() {
            return 0.0;
        }
        let i = (frame as u64 % self.table.len() as u64) as usize;
        self.table.get(i).copied().unwrap_or(0.0)
    }

    /// One period of the sequence.
    pub fn as_slice(&self) -> &[f32] {
        &self.table
    }
}

/// Feedback taps (1-based bit positions) of a primitive polynomial of
/// degree `order` (2–24).
pub(crate) fn mls_taps(order: u32) -> &'static [u32] {
    match order {
        2 => &[2, 1],
        3 => &[3, 2],
        4 => &[4, 3],
        5 => &[5, 3],
        6 => &[6, 5],
        7 => &[7, 6],
        8 => &[8, 6, 5, 4],
        9 => &[9, 5],
        10 => &[10, 7],
        11 => &[11, 9],
        12 => &[12, 6, 4, 1],
        13 => &[13, 4, 3, 1],
        14 => &[14, 5, 3, 1],
        15 => &[15, 14],
        16 => &[16, 15, 13, 4],
        17 => &[17, 14],
        18 => &[18, 11],
        19 => &[19, 6, 2, 1],
        20 => &[20, 17],
        21 => &[21, 19],
        22 => &[22, 21],
        23 => &[23, 18],
        _ => &[24, 23, 22, 17],
    }
}

/// One step of a Fibonacci LFSR of `order` bits: (output bit, next state).
pub(crate) fn lfsr_step(state: u32, order: u32, taps: &[u32]) -> (bool, u32) {
    let mask = (1u32 << order) - 1;
    let fb = taps
        .iter()
        .fold(0, |acc, &t| acc ^ ((state >> (order - t)) & 1));
    (state & 1 == 1, ((state >> 1) | (fb << (order - 1))) & mask)
}
