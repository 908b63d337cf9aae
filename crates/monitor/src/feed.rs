//! From the engine to a [`Publisher`]: what a driver object's monitor thread calls about
//! ten times a second.
//!
//! Everything here reads what the engine already keeps for other threads —
//! `Shared`'s atomics, its counters, its event store (`events_after`, which any number of
//! readers follow independently) — so the driver thread does nothing more than it did
//! before a monitor existed. Never call this on the driver thread: it locks the engine's
//! event store, formats text and copies kilobytes.

use tenuto_engine::shared::Shared;
use tenuto_engine::stats::{EventKind as EngineKind, PeriodRecord, ScheduleEvent, StatsSnapshot};

use crate::layout::{
    priority_flags, set_text, Demotion, Event, EventKind, PeriodSample, PrioritySample, State,
    HISTOGRAM_BUCKETS, PERIOD_SAMPLES,
};
use crate::{now_ms, Publisher};

/// What the feeder cannot read from `Shared` (the engine keeps it behind its lock).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct EngineView<'a> {
    /// `Engine::state_name()`, when the caller has it; otherwise the state is derived from
    /// whether the driver thread streams.
    pub state_name: Option<&'a str>,
    /// The buffer size in use, frames (0: none yet).
    pub buffer_size: u32,
}

/// The publishing side's memory between ticks: where it is in the engine's events, the
/// previous counters (per-tick means come from their differences), and whether the thread
/// is currently demoted.
#[derive(Debug, Default)]
pub struct Feeder {
    last_seq: u64,
    prev: Option<StatsSnapshot>,
    streaming: bool,
    streams_seen: u64,
    failures_seen: u64,
    demoted: bool,
    events: Vec<ScheduleEvent>,
    records: Vec<PeriodSample>,
}

/// The mean wake-up lateness the histogram's increase implies, ns: each bucket counted at
/// the middle of its range (bucket 0, under 1 µs, at 0.5 µs). An estimate: the counters
/// keep no total of wake-up lateness.
fn mean_wake_ns(now: &[u64; HISTOGRAM_BUCKETS], before: &[u64; HISTOGRAM_BUCKETS]) -> u64 {
    let mut n = 0u64;
    let mut sum_ns = 0u64;
    for (i, (a, b)) in now.iter().zip(before).enumerate() {
        let d = a.saturating_sub(*b);
        let mid_ns = if i == 0 { 500 } else { 1500u64 << (i - 1) };
        n += d;
        sum_ns = sum_ns.saturating_add(d.saturating_mul(mid_ns));
    }
    sum_ns.checked_div(n).unwrap_or(0)
}

impl Feeder {
    /// A feeder that has seen nothing yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// Queues per-period records drained from the engine (`Engine::drain_records`), for the
    /// next [`Feeder::tick`] to publish one sample each instead of a mean per tick.
    pub fn push_records(&mut self, records: &[PeriodRecord], period_ns: u64) {
        let now = now_ms();
        for r in records {
            if self.records.len() == PERIOD_SAMPLES {
                self.records.remove(0);
            }
            self.records.push(PeriodSample {
                time_ms: now,
                period: r.index,
                periods: 1,
                period_ns,
                wake_late_ns: r.wake_late_ns,
                engine_ns: r.engine_ns,
                host_ns: r.host_ns,
                slack_ns: r.slack_ns,
            });
        }
    }

    /// Copies the engine's state into `publisher`: new events into its ring, everything
    /// else into one snapshot update (the heartbeat).
    pub fn tick(&mut self, publisher: &mut Publisher, shared: &Shared, view: EngineView<'_>) {
        let now = now_ms();
        let mut out: Vec<Event> = Vec::new();
        let mut demotions: Vec<Demotion> = Vec::new();
        let mut restored = false;

        let started = shared.streams_started();
        let streaming = shared.is_streaming();
        let began = started != self.streams_seen;
        self.streams_seen = started;
        if began {
            let mut e = Event::new(EventKind::StreamStarted);
            e.text = shared.policy_description();
            e.value = started as i64;
            out.push(e);
        }

        self.events.clear();
        let (newest, missed) = shared.events_after(self.last_seq, &mut self.events);
        self.last_seq = newest;
        if missed > 0 {
            let mut e = Event::new(EventKind::Note);
            e.value = missed as i64;
            e.text = format!("{missed} events came too fast to show");
            out.push(e);
        }
        for se in &self.events {
            out.push(Event::from_schedule(se, now));
            match se.kind {
                EngineKind::Demoted => {
                    self.demoted = true;
                    demotions.push(Demotion {
                        time_ms: now,
                        period: se.index,
                        priority: se.priority.unwrap_or(0),
                        restored: 0,
                    });
                }
                EngineKind::Restored => {
                    self.demoted = false;
                    restored = true;
                }
                _ => {}
            }
        }

        let stats = shared.counters.snapshot();
        let error = shared.stream_error();
        let failures = shared.start_failures();
        if failures != self.failures_seen || (error.is_some() && self.streaming && !streaming) {
            if let Some(err) = error {
                let mut e = Event::new(EventKind::StreamError);
                e.text = err.to_string();
                out.push(e);
            }
        }
        self.failures_seen = failures;
        if (self.streaming || began) && !streaming {
            let mut e = Event::new(EventKind::StreamStopped);
            e.value = stats.periods as i64;
            e.text = format!("{} periods, {} late", stats.periods, stats.late_periods);
            out.push(e);
            self.demoted = false;
        }
        self.streaming = streaming;

        let rate = shared.sample_rate();
        let period_ns = if view.buffer_size > 0 && rate > 0.0 {
            (f64::from(view.buffer_size) * 1e9 / rate) as u64
        } else {
            0
        };
        // The counters restart at every start: a drop means a new stream.
        let prev = self
            .prev
            .filter(|p| p.periods <= stats.periods)
            .unwrap_or_default();
        let mut samples = std::mem::take(&mut self.records);
        let dp = stats.periods - prev.periods;
        if samples.is_empty() && dp > 0 {
            let engine = stats.total_engine_ns.saturating_sub(prev.total_engine_ns) / dp;
            let host = stats.total_host_ns.saturating_sub(prev.total_host_ns) / dp;
            let wake = mean_wake_ns(&stats.wake_histogram, &prev.wake_histogram);
            samples.push(PeriodSample {
                time_ms: now,
                period: stats.periods,
                periods: dp,
                period_ns,
                wake_late_ns: wake,
                engine_ns: engine,
                host_ns: host,
                slack_ns: period_ns as i64 - (wake + engine + host) as i64,
            });
        }
        self.prev = Some(stats);

        for e in &out {
            publisher.event(e);
        }
        let (input, output) = shared.latencies();
        let policy = shared.policy_description();
        let error_text = error.map(|e| e.to_string()).unwrap_or_default();
        let demoted = self.demoted;
        publisher.update(|s| {
            s.set_stats(&stats);
            let state = match view.state_name {
                Some(n) => State::from_engine_name(n),
                None if streaming => State::Streaming,
                None => State::Initialized,
            };
            s.set_state(state);
            s.sample_rate = rate;
            s.buffer_size = view.buffer_size;
            s.input_latency = input;
            s.output_latency = output;
            set_text(&mut s.policy, &policy);
            set_text(&mut s.stream_error, &error_text);
            s.streams_started = started;
            s.demoted = u32::from(demoted);
            for d in demotions {
                s.push_demotion(d);
            }
            if restored && !demoted {
                s.mark_restored();
            }
            let mut flags = 0;
            if stats.last_priority.is_some() {
                flags |= priority_flags::VALID;
            }
            if demoted {
                flags |= priority_flags::DEMOTED;
            }
            if streaming {
                flags |= priority_flags::STREAMING;
            }
            s.push_priority(PrioritySample {
                time_ms: now,
                priority: stats.last_priority.unwrap_or(0),
                flags,
            });
            for p in samples {
                s.push_period(p);
            }
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{InstanceMeta, Namespace, Reader};
    use tenuto_engine::device::DeviceCounters;

    #[test]
    fn the_wake_mean_counts_buckets_at_their_middle() {
        let mut now = [0u64; HISTOGRAM_BUCKETS];
        let before = [0u64; HISTOGRAM_BUCKETS];
        now[0] = 2; // 0.5 µs each
        now[3] = 2; // 4..8 µs: 6 µs each
        assert_eq!(mean_wake_ns(&now, &before), (2 * 500 + 2 * 6000) / 4);
        assert_eq!(mean_wake_ns(&before, &before), 0);
    }

    #[test]
    fn a_tick_publishes_the_shared_state() {
        let ns = Namespace::new("test.feed");
        let mut p = Publisher::create_in(&ns, &InstanceMeta::current("virtual")).unwrap();
        let shared = Shared::default();
        shared.counters.set_device(&DeviceCounters {
            output_underruns: 3,
            device_stalls: 2,
            device_stall_lost_us: 40_000,
            ..Default::default()
        });
        let mut f = Feeder::new();
        f.tick(
            &mut p,
            &shared,
            EngineView {
                state_name: Some("prepared (buffers created, not streaming)"),
                buffer_size: 256,
            },
        );
        let info = ns.list().pop().unwrap();
        let r = Reader::open(&info).unwrap();
        let s = r.snapshot().unwrap();
        assert_eq!(s.state(), State::Prepared);
        assert_eq!(s.buffer_size, 256);
        assert_eq!((s.output_underruns, s.device_stalls), (3, 2));
        assert_eq!(s.device_stall_lost_us, 40_000);
        assert_eq!(s.recent_priorities().count(), 1);
        assert_eq!(s.priority(), None);
        assert_eq!(s.updates, 1); // the initial snapshot is no update; the tick is
    }
}
