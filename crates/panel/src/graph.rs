//! The status area's two small graphs, as rectangles to fill: the wake-up lateness
//! histogram and the driver thread's priority over the last half minute (demotions in red).
//! The same pictures `tenuto monitor` draws in the terminal, small enough for the settings
//! window, built from the engine's lock-free [`Shared`] state at each status refresh.
//!
//! Pure geometry, no Win32: the window only fills what [`histogram`] and
//! [`PriorityTimeline::strip`] return, so both are tested on every OS.

use std::collections::VecDeque;

use tenuto_engine::shared::Shared;
use tenuto_engine::stats::{EventKind, ScheduleEvent, HISTOGRAM_BUCKETS};

use crate::layout::Rect;

/// A colour as Win32 takes it: `0x00BBGGRR`.
pub type Color = u32;

/// The graph's background.
pub const BACKGROUND: Color = 0x00FF_FFFF;
/// Its frame.
pub const FRAME: Color = 0x00A0_A0A0;
/// Periods woken in time, and priority samples at the policy's level.
pub const ON_TIME: Color = 0x0030_9030;
/// Periods woken later than a whole period (late for sure).
pub const LATE: Color = 0x0020_20C0;
/// Priority samples taken while the thread was demoted.
pub const DEMOTED: Color = 0x0020_20D0;
/// Samples while nothing streams (or the priority was not read).
pub const IDLE: Color = 0x00C8_C8C8;

/// One filled rectangle.
pub type Shape = (Rect, Color);

/// The wake-up lateness histogram in a `w`×`h` area: a background with a frame, then one bar
/// per bucket (bucket `i`: woken less than `2^i` µs late), heights on a log scale so that a
/// single late period among thousands still shows. Buckets that start at or beyond
/// `period_us` (woken a whole period late) are red.
pub fn histogram(counts: &[u64; HISTOGRAM_BUCKETS], period_us: u64, w: i32, h: i32) -> Vec<Shape> {
    let mut out = frame(w, h);
    let max = counts.iter().copied().max().unwrap_or(0);
    if max == 0 || w < 4 || h < 4 {
        return out;
    }
    let inner_w = w - 2;
    let inner_h = h - 2;
    let n = HISTOGRAM_BUCKETS as i32;
    let top = ((max as f64) + 1.0).ln();
    for (i, &c) in counts.iter().enumerate() {
        if c == 0 {
            continue;
        }
        let i = i as i32;
        let x0 = 1 + inner_w * i / n;
        let x1 = 1 + inner_w * (i + 1) / n;
        let bar_h = (((c as f64 + 1.0).ln() / top) * f64::from(inner_h))
            .round()
            .max(1.0) as i32;
        // Bucket i holds wake-ups of [2^(i-1), 2^i) µs (bucket 0: under 1 µs).
        let lower_us = if i == 0 { 0 } else { 1u64 << (i - 1) };
        let color = if period_us > 0 && lower_us >= period_us {
            LATE
        } else {
            ON_TIME
        };
        out.push((
            Rect {
                x: x0,
                y: 1 + inner_h - bar_h,
                w: (x1 - x0 - 1).max(1),
                h: bar_h,
            },
            color,
        ));
    }
    out
}

fn frame(w: i32, h: i32) -> Vec<Shape> {
    vec![
        (Rect { x: 0, y: 0, w, h }, FRAME),
        (
            Rect {
                x: 1,
                y: 1,
                w: (w - 2).max(0),
                h: (h - 2).max(0),
            },
            BACKGROUND,
        ),
    ]
}

/// One refresh's look at the driver thread.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PrioritySample {
    /// The thread's last sampled priority, if read.
    pub priority: Option<i32>,
    /// Whether the thread was demoted then.
    pub demoted: bool,
    /// Whether the driver streamed then.
    pub streaming: bool,
}

/// The priority over the last [`PriorityTimeline::SAMPLES`] refreshes.
#[derive(Debug, Default)]
pub struct PriorityTimeline {
    samples: VecDeque<PrioritySample>,
    seq: u64,
    demoted: bool,
    events: Vec<ScheduleEvent>,
}

impl PriorityTimeline {
    /// Refreshes kept: half a minute at the panel's four refreshes a second.
    pub const SAMPLES: usize = 120;

    /// An empty timeline.
    pub fn new() -> Self {
        Self::default()
    }

    /// Takes one sample of `live` (the panel's status refresh calls this). Demotions come
    /// from the engine's events, which any number of readers follow independently.
    pub fn sample(&mut self, live: &Shared) {
        self.events.clear();
        let (newest, _) = live.events_after(self.seq, &mut self.events);
        self.seq = newest;
        for e in &self.events {
            match e.kind {
                EventKind::Demoted => self.demoted = true,
                EventKind::Restored => self.demoted = false,
                _ => {}
            }
        }
        let streaming = live.is_streaming();
        if !streaming {
            self.demoted = false;
        }
        self.push(PrioritySample {
            priority: live.counters.snapshot().last_priority,
            demoted: self.demoted,
            streaming,
        });
    }

    /// Appends a sample, dropping the oldest beyond [`PriorityTimeline::SAMPLES`].
    pub fn push(&mut self, s: PrioritySample) {
        if self.samples.len() == Self::SAMPLES {
            self.samples.pop_front();
        }
        self.samples.push_back(s);
    }

    /// The samples, oldest first.
    pub fn samples(&self) -> impl Iterator<Item = &PrioritySample> {
        self.samples.iter()
    }

    /// The strip in a `w`×`h` area: a background with a frame, then one column per sample,
    /// the newest at the right edge, as high as the priority on Windows' 0–31 scale — green
    /// at the policy's level, red while demoted, a grey stub while nothing streams or the
    /// priority was not read.
    pub fn strip(&self, w: i32, h: i32) -> Vec<Shape> {
        let mut out = frame(w, h);
        if w < 4 || h < 4 {
            return out;
        }
        let inner_w = w - 2;
        let inner_h = h - 2;
        let n = Self::SAMPLES as i32;
        let first_slot = n - self.samples.len() as i32;
        for (k, s) in self.samples.iter().enumerate() {
            let slot = first_slot + k as i32;
            let x0 = 1 + inner_w * slot / n;
            let x1 = 1 + inner_w * (slot + 1) / n;
            let (bar_h, color) = match (s.streaming, s.priority) {
                (true, Some(p)) => (
                    ((f64::from(p.clamp(1, 31)) / 31.0) * f64::from(inner_h)).round() as i32,
                    if s.demoted { DEMOTED } else { ON_TIME },
                ),
                _ => ((inner_h / 8).max(1), IDLE),
            };
            out.push((
                Rect {
                    x: x0,
                    y: 1 + inner_h - bar_h,
                    w: (x1 - x0).max(1),
                    h: bar_h,
                },
                color,
            ));
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bars(shapes: &[Shape]) -> &[Shape] {
        &shapes[2..]
    }

    #[test]
    fn the_histogram_shows_every_used_bucket_with_late_ones_in_red() {
        let mut h = [0u64; HISTOGRAM_BUCKETS];
        h[3] = 10_000; // 4–8 µs
        h[6] = 30; // 32–64 µs
        h[13] = 1; // 4–8 ms: later than a 1.33 ms period
        let shapes = histogram(&h, 1333, 240, 60);
        let b = bars(&shapes);
        assert_eq!(b.len(), 3);
        // Log heights: the single late period still shows, below the others.
        assert!(b[0].0.h > b[1].0.h && b[1].0.h > b[2].0.h && b[2].0.h >= 1);
        assert_eq!(b[0].0.h, 58, "the fullest bucket fills the inner height");
        assert_eq!((b[0].1, b[1].1, b[2].1), (ON_TIME, ON_TIME, LATE));
        // Left to right in bucket order, inside the frame, bottoms aligned.
        assert!(b[0].0.x < b[1].0.x && b[1].0.x < b[2].0.x);
        let area = Rect {
            x: 0,
            y: 0,
            w: 240,
            h: 60,
        };
        for (r, _) in b {
            assert!(area.contains(r), "{r:?}");
            assert_eq!(r.bottom(), 59);
        }
    }

    #[test]
    fn an_empty_histogram_is_only_its_frame() {
        assert_eq!(histogram(&[0; HISTOGRAM_BUCKETS], 1333, 240, 60).len(), 2);
    }

    #[test]
    fn the_strip_puts_the_newest_sample_right_and_demotions_in_red() {
        let mut t = PriorityTimeline::new();
        for i in 0..200 {
            t.push(PrioritySample {
                priority: Some(if i >= 190 { 7 } else { 26 }),
                demoted: i >= 190,
                streaming: true,
            });
        }
        assert_eq!(t.samples().count(), PriorityTimeline::SAMPLES);
        let shapes = t.strip(242, 33);
        let b = bars(&shapes);
        assert_eq!(b.len(), PriorityTimeline::SAMPLES);
        let last = b.last().unwrap();
        assert_eq!(
            last.0.right(),
            241,
            "the newest sample ends at the right edge"
        );
        assert_eq!(last.1, DEMOTED);
        assert!(last.0.h < b[0].0.h, "demoted to 7 is lower than 26");
        assert_eq!(b[0].1, ON_TIME);
        assert_eq!(b[0].0.h, (26.0f64 / 31.0 * 31.0).round() as i32);
    }

    #[test]
    fn a_short_timeline_fills_from_the_right_and_idle_samples_are_grey() {
        let mut t = PriorityTimeline::new();
        t.push(PrioritySample {
            priority: None,
            demoted: false,
            streaming: false,
        });
        let shapes = t.strip(122, 40);
        let b = bars(&shapes);
        assert_eq!(b.len(), 1);
        assert_eq!(b[0].1, IDLE);
        assert_eq!(b[0].0.right(), 121);
    }

    #[test]
    fn sampling_the_shared_state_follows_streaming() {
        let shared = Shared::default();
        let mut t = PriorityTimeline::new();
        t.sample(&shared);
        let s = *t.samples().next().unwrap();
        assert_eq!(
            s,
            PrioritySample {
                priority: None,
                demoted: false,
                streaming: false
            }
        );
    }
}
