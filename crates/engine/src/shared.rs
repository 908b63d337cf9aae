//! State shared, lock-free, between the host's threads and the driver thread.
//!
//! Hosts call `getSamplePosition` and `outputReady` from inside their buffer
//! switch, i.e. on the driver thread; these and a few other queries are
//! answered from atomics here, never from behind the engine's lock.

use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};

use crate::device::StreamError;
use crate::stats::StreamCounters;

/// Lock-free shared status. One per engine.
#[derive(Debug, Default)]
pub struct Shared {
    /// Seqlock over (`position`, `system_time`): odd while being written.
    seq: AtomicU64,
    position: AtomicU64,
    system_time: AtomicU64,
    streaming: AtomicBool,
    /// Streams started since the engine was created.
    streams_started: AtomicU64,
    /// Streams whose device failed to start (the error is in `stream_error`).
    start_failures: AtomicU64,
    /// Set by `outputReady` during a switch; consumed by the driver thread.
    pub(crate) output_ready: AtomicBool,
    /// Set when the host called `outputReady` before streaming (a probe).
    pub(crate) output_ready_probed: AtomicBool,
    sample_rate_bits: AtomicU64,
    /// The buffer size of the buffers that exist, frames; 0 while none do.
    buffer_size: AtomicU32,
    input_latency: AtomicU32,
    output_latency_deferred: AtomicU32,
    output_latency_direct: AtomicU32,
    /// Last streaming error, encoded by [`encode_stream_error`]; 0 = none.
    stream_error: AtomicU64,
    /// The member whose device ended the stream (an index into `member_names`), + 1;
    /// 0 = none or one device.
    failed_member: AtomicU32,
    /// The devices a stream over several is made of, by name (`Device::clock_sources`),
    /// set before each start; empty for one device.
    member_names: crate::sync::Mutex<Vec<String>>,
    /// What the driver thread measured.
    pub counters: StreamCounters,
    /// What the scheduling policy applied in the current (or last) run,
    /// and why. Written once per run, before the real-time section.
    policy: crate::sync::Mutex<String>,
    /// What the device wants the user to know although it works (see `Device::notice`).
    device_notice: crate::sync::Mutex<String>,
    /// What the device says about the stream it opened last (see `Shared::stream_note`).
    stream_note: crate::sync::Mutex<String>,
    /// Delivers every message to the host but the driver thread's own (see
    /// [`crate::messenger`]). Other threads only flag requests in it.
    pub(crate) messenger: crate::messenger::Messenger,
    /// The reading end of the driver thread's event ring, and the latest
    /// events. Only non-real-time readers lock it.
    events: crate::sync::Mutex<EventStore>,
}

/// Scheduling events kept for [`Shared::recent_events`].
pub const RECENT_EVENTS: usize = 64;

#[derive(Default)]
struct EventStore {
    source: Option<rtrb::Consumer<crate::stats::ScheduleEvent>>,
    /// The latest events with their sequence numbers (1, 2, …).
    recent: std::collections::VecDeque<(u64, crate::stats::ScheduleEvent)>,
    last_seq: u64,
}

impl std::fmt::Debug for EventStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EventStore")
            .field("recent", &self.recent.len())
            .finish_non_exhaustive()
    }
}

impl EventStore {
    fn pull(&mut self) {
        if let Some(c) = self.source.as_mut() {
            while let Ok(e) = c.pop() {
                if self.recent.len() == RECENT_EVENTS {
                    self.recent.pop_front();
                }
                self.last_seq += 1;
                self.recent.push_back((self.last_seq, e));
            }
        }
    }
}

fn encode_stream_error(e: StreamError) -> u64 {
    match e {
        StreamError::Disconnected => 1 << 32,
        StreamError::Stalled(ms) => (2 << 32) | u64::from(ms),
        StreamError::Os(code) => (3 << 32) | u64::from(code),
        StreamError::Internal => 4 << 32,
        StreamError::NoWakeUp(ms) => (5 << 32) | u64::from(ms),
        StreamError::NoFirstPeriod(ms) => (6 << 32) | u64::from(ms),
    }
}

fn decode_stream_error(v: u64) -> Option<StreamError> {
    let low = (v & 0xffff_ffff) as u32;
    match v >> 32 {
        1 => Some(StreamError::Disconnected),
        2 => Some(StreamError::Stalled(low)),
        3 => Some(StreamError::Os(low)),
        4 => Some(StreamError::Internal),
        5 => Some(StreamError::NoWakeUp(low)),
        6 => Some(StreamError::NoFirstPeriod(low)),
        _ => None,
    }
}

impl Shared {
    /// Publishes the sample position and time stamp of the current buffer.
    /// Single writer (the driver thread). Real-time safe.
    pub(crate) fn publish_position(&self, position: u64, system_time_ns: u64) {
        let s = self.seq.load(Ordering::Relaxed);
        self.seq.store(s.wrapping_add(1), Ordering::Relaxed);
        std::sync::atomic::fence(Ordering::Release);
        self.position.store(position, Ordering::Relaxed);
        self.system_time.store(system_time_ns, Ordering::Relaxed);
        self.seq.store(s.wrapping_add(2), Ordering::Release);
    }

    /// Reads a consistent (position, time) pair. Wait-free for the writer;
    /// the reader retries while a write is in progress.
    pub fn position(&self) -> (u64, u64) {
        loop {
            let s1 = self.seq.load(Ordering::Acquire);
            if s1 & 1 == 1 {
                std::hint::spin_loop();
                continue;
            }
            let p = self.position.load(Ordering::Relaxed);
            let t = self.system_time.load(Ordering::Relaxed);
            std::sync::atomic::fence(Ordering::Acquire);
            if self.seq.load(Ordering::Relaxed) == s1 {
                return (p, t);
            }
        }
    }

    /// Whether the driver thread is streaming.
    pub fn is_streaming(&self) -> bool {
        self.streaming.load(Ordering::Acquire)
    }

    pub(crate) fn set_streaming(&self, on: bool) {
        if on {
            self.streams_started.fetch_add(1, Ordering::AcqRel);
        }
        self.streaming.store(on, Ordering::Release);
    }

    /// How many streams have started since the engine was created: a reader that polls
    /// [`Shared::is_streaming`] sees from this that a short stream came and went.
    pub fn streams_started(&self) -> u64 {
        self.streams_started.load(Ordering::Acquire)
    }

    /// Records a stream whose device failed to start: the error for `stream_error`, and a
    /// count a polling reader (the log) sees change.
    pub(crate) fn record_start_failure(&self, e: StreamError) {
        self.set_stream_error(e);
        self.start_failures.fetch_add(1, Ordering::AcqRel);
    }

    /// How many streams failed to start since the engine was created (the last one's error
    /// is [`Shared::stream_error`] until the next start).
    pub fn start_failures(&self) -> u64 {
        self.start_failures.load(Ordering::Acquire)
    }

    /// The current sample rate.
    pub fn sample_rate(&self) -> f64 {
        f64::from_bits(self.sample_rate_bits.load(Ordering::Acquire))
    }

    pub(crate) fn set_sample_rate(&self, rate: f64) {
        self.sample_rate_bits
            .store(rate.to_bits(), Ordering::Release);
    }

    /// The size of the buffers the host created, frames; 0 while none exist.
    pub fn buffer_size(&self) -> u32 {
        self.buffer_size.load(Ordering::Acquire)
    }

    pub(crate) fn set_buffer_size(&self, frames: u32) {
        self.buffer_size.store(frames, Ordering::Release);
    }

    /// Latencies as currently reported (input, output), frames. Output is
    /// one period shorter once the host has used `outputReady`.
    pub fn latencies(&self) -> (u32, u32) {
        let output = if self.output_ready_probed.load(Ordering::Acquire) {
            &self.output_latency_direct
        } else {
            &self.output_latency_deferred
        };
        (
            self.input_latency.load(Ordering::Acquire),
            output.load(Ordering::Acquire),
        )
    }

    /// The input latency reported now, frames.
    pub(crate) fn input_latency_frames(&self) -> u32 {
        self.input_latency.load(Ordering::Acquire)
    }

    /// Replaces the reported input latency (the driver thread, when the device measured what
    /// its plan could not know). Real-time safe.
    pub(crate) fn set_input_latency(&self, frames: u32) {
        self.input_latency.store(frames, Ordering::Release);
    }

    /// The output latencies reported now (with `outputReady`, without), frames.
    pub(crate) fn output_latency_modes(&self) -> (u32, u32) {
        (
            self.output_latency_direct.load(Ordering::Acquire),
            self.output_latency_deferred.load(Ordering::Acquire),
        )
    }

    /// Replaces the reported output latencies (the driver thread, when the device measured
    /// what its plan could not know). Real-time safe.
    pub(crate) fn set_output_latency(&self, direct: u32, deferred: u32) {
        self.output_latency_direct.store(direct, Ordering::Release);
        self.output_latency_deferred
            .store(deferred, Ordering::Release);
    }

    pub(crate) fn set_latency_modes(&self, input: u32, deferred: u32, direct: u32) {
        self.input_latency.store(input, Ordering::Release);
        self.output_latency_deferred
            .store(deferred, Ordering::Release);
        self.output_latency_direct.store(direct, Ordering::Release);
    }

    /// The host's `outputReady`: flags the current half as complete (and,
    /// before streaming, records that the host uses it).
    pub fn signal_output_ready(&self) {
        self.output_ready_probed.store(true, Ordering::Release);
        if self.is_streaming() {
            self.output_ready.store(true, Ordering::Release);
        }
    }

    pub(crate) fn set_stream_error(&self, e: StreamError) {
        self.stream_error
            .store(encode_stream_error(e), Ordering::Release);
    }

    /// The last error the driver thread hit, if any.
    pub fn stream_error(&self) -> Option<StreamError> {
        decode_stream_error(self.stream_error.load(Ordering::Acquire))
    }

    pub(crate) fn set_policy_description(&self, text: &str) {
        let mut p = self.policy.lock();
        p.clear();
        p.push_str(text);
    }

    /// Replaces the device's standing notice (the engine, at every `init()`; empty: none).
    /// Not for the driver thread: it takes a lock.
    pub fn set_device_notice(&self, text: &str) {
        let mut n = self.device_notice.lock();
        n.clear();
        n.push_str(text);
    }

    /// The device's standing notice since the last `init()`, e.g. that a configured
    /// endpoint is not there and Windows' default is used instead; empty when none.
    pub fn device_notice(&self) -> String {
        self.device_notice.lock().clone()
    }

    /// Replaces the note on the stream the device opened last (the device's owner, at every
    /// open; empty: nothing to say). Not for the driver thread: it takes a lock.
    pub fn set_stream_note(&self, text: &str) {
        let mut n = self.stream_note.lock();
        n.clear();
        n.push_str(text);
    }

    /// What the device said about the stream it opened last — e.g. that it converts the
    /// host's rate to the device's ("converting 44100 → 48000 Hz, +1.8 ms in, +1.9 ms
    /// out") — for the settings window; empty when nothing.
    pub fn stream_note(&self) -> String {
        self.stream_note.lock().clone()
    }

    /// What the scheduling policy applied in the current (or last) run and
    /// why — e.g. "MMCSS \"Pro Audio\" CRITICAL … [Cubase13.exe: BuiltIn —
    /// Cubase registers its audio threads with MMCSS …]".
    pub fn policy_description(&self) -> String {
        self.policy.lock().clone()
    }

    /// Asks the host for a reset (`kAsioResetRequest`) — e.g. because the
    /// settings or the device changed — if buffers exist and the host
    /// accepts it. Only flags the request: the driver's messenger thread
    /// calls the host, outside every lock. Returns whether it was flagged.
    pub fn request_reset(&self) -> bool {
        self.messenger.request_reset()
    }

    /// Asks the host to resynchronise (`kAsioResyncRequest`) from a thread
    /// other than the driver thread; flags it for the messenger as
    /// [`Shared::request_reset`] does.
    pub fn request_resync(&self) -> bool {
        self.messenger.request_resync()
    }

    /// Tells the host the latencies changed (`kAsioLatenciesChanged`) from
    /// a thread other than the driver thread, through the messenger.
    pub fn notify_latencies_changed(&self) -> bool {
        self.messenger.latencies_changed()
    }

    /// Tells the host the sample rate changed underneath it
    /// (`sampleRateDidChange`), through the messenger.
    pub fn notify_sample_rate_changed(&self, rate: f64) -> bool {
        self.messenger.sample_rate_changed(rate)
    }

    pub(crate) fn set_event_source(&self, source: rtrb::Consumer<crate::stats::ScheduleEvent>) {
        let mut store = self.events.lock();
        store.pull();
        store.source = Some(source);
    }

    /// Events newer than sequence number `after` (oldest first) into `out`;
    /// returns the newest sequence number and how many newer events were
    /// already gone (more than [`RECENT_EVENTS`] arrived since). Lets any
    /// number of readers (log, panel) follow the events independently.
    pub fn events_after(
        &self,
        after: u64,
        out: &mut Vec<crate::stats::ScheduleEvent>,
    ) -> (u64, u64) {
        let mut store = self.events.lock();
        store.pull();
        let first = store.recent.front().map_or(store.last_seq + 1, |(s, _)| *s);
        let missed = first.saturating_sub(after + 1);
        out.extend(
            store
                .recent
                .iter()
                .filter(|(s, _)| *s > after)
                .map(|(_, e)| *e),
        );
        (store.last_seq, missed)
    }

    /// The last [`RECENT_EVENTS`] scheduling events, oldest first.
    pub fn recent_events(&self) -> Vec<crate::stats::ScheduleEvent> {
        let mut store = self.events.lock();
        store.pull();
        store.recent.iter().map(|(_, e)| *e).collect()
    }

    pub(crate) fn clear_stream_error(&self) {
        self.stream_error.store(0, Ordering::Release);
        self.failed_member.store(0, Ordering::Release);
    }

    /// Names the devices of a stream over several, before it starts (empty: one device).
    pub(crate) fn set_member_names(&self, names: Vec<String>) {
        *self.member_names.lock() = names;
    }

    /// Records which member's device ended the stream. Real-time safe (an atomic store).
    pub(crate) fn set_failed_member(&self, member: Option<usize>) {
        let v = member.map_or(0, |m| u32::try_from(m).unwrap_or(u32::MAX - 1) + 1);
        self.failed_member.store(v, Ordering::Release);
    }

    /// The name of the member whose device ended the stream, if it was one of several.
    pub fn failed_member_name(&self) -> Option<String> {
        let m = self.failed_member.load(Ordering::Acquire).checked_sub(1)?;
        self.member_names
            .lock()
            .get(usize::try_from(m).ok()?)
            .cloned()
    }

    /// The streaming error in words, naming the device when the stream was over several
    /// ("Speakers (output): the audio device was disconnected …").
    pub fn stream_error_text(&self) -> Option<String> {
        let e = self.stream_error()?;
        Some(match self.failed_member_name() {
            Some(name) => format!("{name}: {e}"),
            None => e.to_string(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stream_errors_round_trip() {
        for e in [
            StreamError::Disconnected,
            StreamError::Stalled(1234),
            StreamError::Os(0x8889_0004),
            StreamError::Internal,
            StreamError::NoWakeUp(250),
            StreamError::NoFirstPeriod(10_000),
        ] {
            assert_eq!(decode_stream_error(encode_stream_error(e)), Some(e));
        }
        assert_eq!(decode_stream_error(0), None);
    }

    #[test]
    fn position_pairs_are_consistent_under_concurrent_writes() {
        let shared = std::sync::Arc::new(Shared::default());
        let w = std::sync::Arc::clone(&shared);
        let writer = std::thread::spawn(move || {
            for i in 0..200_000u64 {
                w.publish_position(i, i * 3);
            }
        });
        for _ in 0..200_000 {
            let (p, t) = shared.position();
            assert_eq!(t, p * 3);
        }
        writer.join().unwrap();
    }
}
