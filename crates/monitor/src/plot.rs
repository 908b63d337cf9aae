//! Pictures as SVG: the wake-up lateness distribution per policy, and the timeline of late
//! periods with their causes (for `tenuto doctor --plot`, `stream --plot`, `loopback --plot`).
//!
//! Drawn with plotters' SVG backend alone: no font library — text goes into the SVG as
//! `<text>` and the viewer renders it; plotters only estimates its extent to lay out axes.

use std::path::Path;

use plotters::coord::Shift;
use plotters::prelude::*;

use crate::layout::{Cause, Event, EventKind, HISTOGRAM_BUCKETS};

/// A picture that could not be drawn or written.
#[derive(Debug, thiserror::Error)]
pub enum PlotError {
    /// Plotters refused (e.g. an empty range).
    #[error("drawing failed: {0}")]
    Draw(String),
    /// Writing the file failed.
    #[error("writing {0}: {1}")]
    Io(String, std::io::Error),
}

fn draw_err<E: std::fmt::Display>(e: E) -> PlotError {
    PlotError::Draw(e.to_string())
}

/// One run's wake-up lateness histogram (the engine's buckets: bucket `i` counts periods
/// woken less than `2^i` µs late), labelled with its policy.
#[derive(Debug, Clone, Copy)]
pub struct LatenessRun<'a> {
    /// The legend's label (e.g. the policy's name).
    pub label: &'a str,
    /// Counts per bucket.
    pub histogram: &'a [u64; HISTOGRAM_BUCKETS],
}

/// What a mark on the timeline shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MarkKind {
    /// A late period and its cause.
    Late(Cause),
    /// The device lost or repeated audio.
    DeviceGap,
    /// The thread was found demoted.
    Demoted,
}

impl MarkKind {
    const LANES: [MarkKind; 6] = [
        Self::Late(Cause::HostOverrun),
        Self::Late(Cause::Demotion),
        Self::Late(Cause::Contention),
        Self::Late(Cause::Unknown),
        Self::DeviceGap,
        Self::Demoted,
    ];

    fn lane(self) -> usize {
        match self {
            Self::Late(c) => c.index(),
            Self::DeviceGap => 4,
            Self::Demoted => 5,
        }
    }

    /// The lane's name.
    pub fn name(self) -> String {
        match self {
            Self::Late(c) => format!("late: {}", c.name()),
            Self::DeviceGap => "device gap".into(),
            Self::Demoted => "thread demoted".into(),
        }
    }

    fn color(self) -> RGBColor {
        match self.lane() {
            0 => RGBColor(0xd6, 0x27, 0x28),
            1 => RGBColor(0x94, 0x67, 0xbd),
            2 => RGBColor(0xff, 0x7f, 0x0e),
            3 => RGBColor(0x7f, 0x7f, 0x7f),
            4 => RGBColor(0x1f, 0x77, 0xb4),
            _ => RGBColor(0x8c, 0x56, 0x4b),
        }
    }
}

/// One mark on the timeline.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Mark {
    /// Seconds since the run started.
    pub time_s: f64,
    /// What happened.
    pub kind: MarkKind,
}

impl Mark {
    /// The mark for an engine event, placed by its period (`period_s` seconds each); `None`
    /// for events the timeline does not show.
    pub fn from_schedule(e: &tenuto_engine::stats::ScheduleEvent, period_s: f64) -> Option<Self> {
        use tenuto_engine::stats::EventKind as K;
        let kind = match e.kind {
            K::Late(c) => MarkKind::Late(Cause::from_engine(c)),
            K::DeviceGap { .. } => MarkKind::DeviceGap,
            K::Demoted => MarkKind::Demoted,
            _ => return None,
        };
        Some(Self {
            time_s: e.index as f64 * period_s,
            kind,
        })
    }

    /// The mark for a published event, placed by its time after `start_ms`.
    pub fn from_event(e: &Event, start_ms: u64) -> Option<Self> {
        let kind = match e.kind {
            EventKind::Late(c) => MarkKind::Late(c),
            EventKind::DeviceGap => MarkKind::DeviceGap,
            EventKind::Demoted => MarkKind::Demoted,
            _ => return None,
        };
        Some(Self {
            time_s: e.time_ms.saturating_sub(start_ms) as f64 / 1000.0,
            kind,
        })
    }
}

/// The label of a bucket's upper bound, `2^i` µs.
pub fn bucket_label(i: usize) -> String {
    let us = 1u64 << i.min(63);
    if us >= 1_000_000 {
        format!("{}s", us / 1_000_000)
    } else if us >= 1000 {
        format!("{}ms", us / 1000)
    } else {
        format!("{us}µs")
    }
}

fn percentile_bucket(h: &[u64; HISTOGRAM_BUCKETS], q: f64) -> Option<usize> {
    let total: u64 = h.iter().sum();
    if total == 0 {
        return None;
    }
    let target = ((total as f64) * q).ceil() as u64;
    let mut seen = 0;
    h.iter().position(|n| {
        seen += n;
        seen >= target
    })
}

fn draw_lateness<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    title: &str,
    runs: &[LatenessRun<'_>],
) -> Result<(), PlotError> {
    // The buckets any run used, and the smallest share shown (log scale: no zeros).
    let used = || {
        runs.iter()
            .flat_map(|r| r.histogram.iter().enumerate().filter(|(_, n)| **n > 0))
    };
    let first = used().map(|(i, _)| i).min().unwrap_or(0);
    let last = used()
        .map(|(i, _)| i)
        .max()
        .unwrap_or(HISTOGRAM_BUCKETS - 1);
    let share = |r: &LatenessRun<'_>, n: u64| {
        let total: u64 = r.histogram.iter().sum();
        100.0 * n as f64 / total.max(1) as f64
    };
    let lowest = runs
        .iter()
        .flat_map(|r| r.histogram.iter().filter(|n| **n > 0).map(|n| share(r, *n)))
        .fold(100.0f64, f64::min);
    let mut chart = ChartBuilder::on(area)
        .caption(title, ("sans-serif", 20))
        .margin(12)
        .x_label_area_size(40)
        .y_label_area_size(60)
        .build_cartesian_2d(
            (first as f64 - 0.5)..(last as f64 + 0.5),
            ((lowest / 3.0).max(1e-7)..300.0f64).log_scale(),
        )
        .map_err(draw_err)?;
    chart
        .configure_mesh()
        .x_desc("wake-up lateness under")
        .y_desc("% of periods")
        .x_labels(last - first + 1)
        .x_label_formatter(&|x| bucket_label(x.round().max(0.0) as usize))
        .y_label_formatter(&|y| format!("{y}"))
        .draw()
        .map_err(draw_err)?;
    for (k, r) in runs.iter().enumerate() {
        let color = Palette99::pick(k).to_rgba();
        let points: Vec<(f64, f64)> = r
            .histogram
            .iter()
            .enumerate()
            .filter(|(_, n)| **n > 0)
            .map(|(i, n)| (i as f64, share(r, *n)))
            .collect();
        let total: u64 = r.histogram.iter().sum();
        let p99 = percentile_bucket(r.histogram, 0.99).map_or("-".into(), bucket_label);
        let label = format!("{} ({} periods, 99% under {})", r.label, total, p99);
        chart
            .draw_series(LineSeries::new(
                points.iter().copied(),
                color.stroke_width(2),
            ))
            .map_err(draw_err)?
            .label(label)
            .legend(move |(x, y)| {
                PathElement::new(vec![(x, y), (x + 20, y)], color.stroke_width(2))
            });
        chart
            .draw_series(points.iter().map(|p| Circle::new(*p, 3, color.filled())))
            .map_err(draw_err)?;
    }
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::UpperRight)
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK)
        .draw()
        .map_err(draw_err)?;
    Ok(())
}

fn draw_timeline<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    title: &str,
    marks: &[Mark],
    duration_s: f64,
) -> Result<(), PlotError> {
    let end = marks
        .iter()
        .map(|m| m.time_s)
        .fold(duration_s, f64::max)
        .max(1e-3);
    let lanes = MarkKind::LANES.len();
    let mut chart = ChartBuilder::on(area)
        .caption(title, ("sans-serif", 20))
        .margin(12)
        .x_label_area_size(40)
        .y_label_area_size(150)
        .build_cartesian_2d(0.0..end, -0.5..(lanes as f64 - 0.5))
        .map_err(draw_err)?;
    chart
        .configure_mesh()
        .x_desc("time (s)")
        .y_labels(lanes)
        .y_label_formatter(&|y| {
            let i = y.round();
            if (y - i).abs() > 0.01 || i < 0.0 {
                return String::new();
            }
            MarkKind::LANES
                .get(i as usize)
                .map_or(String::new(), |k| k.name())
        })
        .draw()
        .map_err(draw_err)?;
    for kind in MarkKind::LANES {
        let color = kind.color();
        let y = kind.lane() as f64;
        let n = marks.iter().filter(|m| m.kind == kind).count();
        chart
            .draw_series(
                marks
                    .iter()
                    .filter(|m| m.kind == kind)
                    .map(|m| Circle::new((m.time_s, y), 4, color.filled())),
            )
            .map_err(draw_err)?
            .label(format!("{} ({n})", kind.name()))
            .legend(move |(x, y)| Circle::new((x + 10, y), 4, color.filled()));
    }
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::UpperRight)
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK)
        .draw()
        .map_err(draw_err)?;
    Ok(())
}

/// The wake-up lateness distribution of several labelled runs as an SVG document.
pub fn lateness_svg(title: &str, runs: &[LatenessRun<'_>]) -> Result<String, PlotError> {
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (960, 540)).into_drawing_area();
        root.fill(&WHITE).map_err(draw_err)?;
        draw_lateness(&root, title, runs)?;
        root.present().map_err(draw_err)?;
    }
    Ok(svg)
}

/// The timeline of late periods (by cause), device gaps and demotions as an SVG document;
/// the time axis spans at least `duration_s`.
pub fn timeline_svg(title: &str, marks: &[Mark], duration_s: f64) -> Result<String, PlotError> {
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (960, 400)).into_drawing_area();
        root.fill(&WHITE).map_err(draw_err)?;
        draw_timeline(&root, title, marks, duration_s)?;
        root.present().map_err(draw_err)?;
    }
    Ok(svg)
}

/// Both pictures, one above the other, in one SVG document (what `--plot FILE.svg` writes).
pub fn report_svg(
    title: &str,
    runs: &[LatenessRun<'_>],
    marks: &[Mark],
    duration_s: f64,
) -> Result<String, PlotError> {
    report_svg_with(
        title,
        runs,
        "Late periods and their causes",
        marks,
        duration_s,
    )
}

/// As [`report_svg`], with the timeline titled `timeline_title` (e.g. to say which runs
/// follow one another on it).
pub fn report_svg_with(
    title: &str,
    runs: &[LatenessRun<'_>],
    timeline_title: &str,
    marks: &[Mark],
    duration_s: f64,
) -> Result<String, PlotError> {
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (960, 940)).into_drawing_area();
        root.fill(&WHITE).map_err(draw_err)?;
        let (top, bottom) = root.split_vertically(540);
        draw_lateness(&top, title, runs)?;
        draw_timeline(&bottom, timeline_title, marks, duration_s)?;
        root.present().map_err(draw_err)?;
    }
    Ok(svg)
}

/// Writes an SVG document to `path`.
pub fn save(path: &Path, svg: &str) -> Result<(), PlotError> {
    std::fs::write(path, svg).map_err(|e| PlotError::Io(path.display().to_string(), e))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bucket_labels_read_naturally() {
        assert_eq!(bucket_label(0), "1µs");
        assert_eq!(bucket_label(10), "1ms");
        assert_eq!(bucket_label(11), "2ms");
        assert_eq!(bucket_label(20), "1s");
    }

    #[test]
    fn percentiles_come_from_buckets() {
        let mut h = [0u64; HISTOGRAM_BUCKETS];
        h[2] = 99;
        h[12] = 1;
        assert_eq!(percentile_bucket(&h, 0.99), Some(2));
        assert_eq!(percentile_bucket(&h, 1.0), Some(12));
        assert_eq!(percentile_bucket(&[0; HISTOGRAM_BUCKETS], 0.5), None);
    }
}
