//! `--plot FILE.svg` of `tenuto stream` and `tenuto loopback`: the driver thread's wake-up
//! lateness distribution and the timeline of late periods with their causes
//! (`tenuto_monitor::plot`).
//!
//! The figures come from the driver thread's own records: for an in-process driver from its
//! engine's shared state; for a registered Tenuto loaded into this process (`--driver`), from
//! the region the DLL publishes for `tenuto monitor` — found by this process's id. Another
//! vendor's driver publishes nothing, and has no such figures to draw.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use tenuto_engine::shared::Shared;
use tenuto_engine::stats::ScheduleEvent;
use tenuto_monitor::plot::{self, LatenessRun, Mark};
use tenuto_monitor::{EventCursor, Namespace, Reader, HISTOGRAM_BUCKETS};

/// Where the figures come from.
enum Source {
    /// The in-process engine.
    Engine {
        shared: Arc<Shared>,
        seq: u64,
        events: Vec<ScheduleEvent>,
    },
    /// The published region of a Tenuto DLL in this process (looked up at the first poll).
    Published {
        reader: Option<(Reader, EventCursor)>,
        start_ms: u64,
    },
}

/// Collects the marks while a command streams (call [`Recorder::poll`] from its progress
/// callback: the engine keeps only its latest events), then draws them.
pub(crate) struct Recorder {
    path: PathBuf,
    source: Source,
    marks: Vec<Mark>,
    missed: u64,
}

impl Recorder {
    /// A recorder for `--plot path`, reading `engine` when the driver runs in process.
    pub(crate) fn new(path: &Path, engine: Option<&Arc<Shared>>) -> Self {
        let source = match engine {
            Some(shared) => Source::Engine {
                seq: 0,
                shared: Arc::clone(shared),
                events: Vec::new(),
            },
            None => Source::Published {
                reader: None,
                start_ms: tenuto_monitor::now_ms(),
            },
        };
        Self {
            path: path.to_path_buf(),
            source,
            marks: Vec::new(),
            missed: 0,
        }
    }

    /// Takes the events since the last poll.
    pub(crate) fn poll(&mut self) {
        match &mut self.source {
            Source::Engine {
                shared,
                seq,
                events,
            } => {
                let rate = shared.sample_rate();
                let frames = shared.buffer_size();
                let period_s = if rate > 0.0 {
                    f64::from(frames) / rate
                } else {
                    0.0
                };
                events.clear();
                let (newest, missed) = shared.events_after(*seq, events);
                *seq = newest;
                self.missed += missed;
                self.marks.extend(
                    events
                        .iter()
                        .filter_map(|e| Mark::from_schedule(e, period_s)),
                );
            }
            Source::Published { reader, start_ms } => {
                if reader.is_none() {
                    let pid = std::process::id();
                    *reader = Namespace::default()
                        .list()
                        .into_iter()
                        .filter(|i| i.pid == pid)
                        .max_by_key(|i| i.instance)
                        .and_then(|i| Reader::open(&i).ok())
                        .map(|r| {
                            let c = r.cursor_now();
                            (r, c)
                        });
                }
                if let Some((r, cursor)) = reader {
                    let batch = r.new_events(cursor);
                    self.missed += batch.missed;
                    self.marks.extend(
                        batch
                            .events
                            .iter()
                            .filter_map(|e| Mark::from_event(e, *start_ms)),
                    );
                }
            }
        }
    }

    /// Draws the picture: the lateness distribution labelled `label`, the marks over
    /// `seconds`; says where it went (or why not) on stderr.
    pub(crate) fn finish(mut self, title: &str, label: &str, seconds: f64) -> Result<(), String> {
        let histogram = match &self.source {
            Source::Engine { shared, .. } => Some(shared.counters.snapshot().wake_histogram),
            Source::Published { .. } => {
                // The DLL publishes ten times a second: let its last update land.
                std::thread::sleep(Duration::from_millis(250));
                self.poll();
                match &self.source {
                    Source::Published {
                        reader: Some((r, _)),
                        ..
                    } => r.snapshot().map(|s| s.wake_histogram),
                    _ => None,
                }
            }
        };
        let Some(histogram) = histogram else {
            return Err(
                "no driver-thread figures to draw: the driver publishes none (only Tenuto's \
                 own driver does, in process or through its DLL)"
                    .to_owned(),
            );
        };
        write_report(
            &self.path,
            title,
            &[(label, histogram)],
            "Late periods and their causes",
            &self.marks,
            seconds,
        )?;
        if self.missed > 0 {
            eprintln!(
                "{} events came faster than they could be collected and are not on the timeline",
                self.missed
            );
        }
        Ok(())
    }
}

/// Draws and writes the report (distribution per labelled run, timeline of `marks`).
pub(crate) fn write_report(
    path: &Path,
    title: &str,
    runs: &[(&str, [u64; HISTOGRAM_BUCKETS])],
    timeline_title: &str,
    marks: &[Mark],
    seconds: f64,
) -> Result<(), String> {
    let runs: Vec<LatenessRun<'_>> = runs
        .iter()
        .map(|(label, histogram)| LatenessRun { label, histogram })
        .collect();
    let svg = plot::report_svg_with(title, &runs, timeline_title, marks, seconds)
        .map_err(|e| e.to_string())?;
    plot::save(path, &svg).map_err(|e| e.to_string())?;
    eprintln!("plot written to {}", path.display());
    Ok(())
}
