//! One instance's shared region: a header, the seqlocked snapshot and the event ring,
//! all as 64-bit words, all accessed atomically (no `unsafe` here).
//!
//! ```text
//! word 0                 MAGIC (stored last at creation, Release: a reader that sees it
//!                        sees the rest of the header initialized)
//! word 1                 LAYOUT_VERSION | SNAPSHOT_WORDS << 32
//! word 2                 EVENT_SLOTS | EVENT_WORDS << 32
//! word 3                 the snapshot's sequence number (odd while being written)
//! word 4                 events appended so far (the next event's index)
//! word 5                 pid | instance << 32
//! words 6..8             reserved (0)
//! words 8..8+S           the snapshot (S = SNAPSHOT_WORDS)
//! then EVENT_SLOTS slots of 1 + EVENT_WORDS words: the slot's sequence, the record
//! ```
//!
//! **Snapshot seqlock.** One writer (the [`crate::Publisher`], `&mut self`): it makes the
//! sequence odd, fences (Release), stores every word, and stores the next even sequence
//! (Release). A reader loads the sequence (Acquire); odd means a write is under way and it
//! tries again; otherwise it loads every word, fences (Acquire) and loads the sequence
//! again: equal means no write overlapped, so the words are one snapshot. If any word
//! loaded came from a later write, the Release fence before that write's stores and the
//! reader's Acquire fence make the write's odd sequence visible to the second load, which
//! then differs. A reader gives up after a bounded number of tries (never spins forever on
//! a writer that died mid-write); the writer never waits for readers.
//!
//! **Event ring.** Event `i` (0, 1, …) goes to slot `i % EVENT_SLOTS`. The writer stores
//! the slot's sequence `2i + 1`, fences (Release), stores the record, stores `2i + 2`
//! (Release), then the count `i + 1` (Release). A reader's cursor is the index of the next
//! event it wants. Events older than `count − EVENT_SLOTS` are overwritten: the reader
//! skips to the oldest still there and counts the rest as missed. For each slot it checks
//! that the sequence is exactly `2i + 2` before and after loading the record (the seqlock
//! above, per slot); anything else means the writer has lapped it meanwhile — missed too.

use std::sync::atomic::{fence, AtomicU64, Ordering};

use crate::layout::{EventRecord, Snapshot, EVENT_WORDS, LAYOUT_VERSION, MAGIC, SNAPSHOT_WORDS};
use crate::{Event, MonitorError};

/// Events kept in the ring.
pub const EVENT_SLOTS: usize = 256;

const HEADER_WORDS: usize = 8;
const W_MAGIC: usize = 0;
const W_VERSION: usize = 1;
const W_EVENT_SHAPE: usize = 2;
const W_SEQ: usize = 3;
const W_EVENT_COUNT: usize = 4;
const W_IDENTITY: usize = 5;
const SLOT_WORDS: usize = 1 + EVENT_WORDS;

/// The region's size in words.
pub(crate) const REGION_WORDS: usize = HEADER_WORDS + SNAPSHOT_WORDS + EVENT_SLOTS * SLOT_WORDS;

/// How often a reader tries before giving up on one snapshot.
pub(crate) const READ_TRIES: u32 = 64;

fn version_word() -> u64 {
    u64::from(LAYOUT_VERSION) | ((SNAPSHOT_WORDS as u64) << 32)
}

fn event_shape_word() -> u64 {
    EVENT_SLOTS as u64 | ((EVENT_WORDS as u64) << 32)
}

/// A view of a region's words, checked to be this layout's size.
#[derive(Clone, Copy)]
pub(crate) struct Region<'a> {
    header: &'a [AtomicU64; HEADER_WORDS],
    snapshot: &'a [AtomicU64; SNAPSHOT_WORDS],
    events: &'a [AtomicU64],
}

impl<'a> Region<'a> {
    /// Splits `words` (at least [`REGION_WORDS`] long) into its parts.
    pub(crate) fn new(words: &'a [AtomicU64]) -> Result<Self, MonitorError> {
        let too_small = MonitorError::Incompatible("region too small");
        let (header, rest) = words.split_first_chunk::<HEADER_WORDS>().ok_or(too_small)?;
        let (snapshot, events) = rest
            .split_first_chunk::<SNAPSHOT_WORDS>()
            .ok_or(MonitorError::Incompatible("region too small"))?;
        let events = events
            .get(..EVENT_SLOTS * SLOT_WORDS)
            .ok_or(MonitorError::Incompatible("region too small"))?;
        Ok(Self {
            header,
            snapshot,
            events,
        })
    }

    fn h(&self, i: usize) -> &'a AtomicU64 {
        // HEADER_WORDS > every W_* index; indexing a fixed array by a constant in range.
        &self.header[i]
    }

    /// Initializes a freshly created (zero-filled) region; the magic goes last.
    pub(crate) fn init(&self, pid: u32, instance: u32, first: &Snapshot) {
        self.h(W_VERSION).store(version_word(), Ordering::Relaxed);
        self.h(W_EVENT_SHAPE)
            .store(event_shape_word(), Ordering::Relaxed);
        self.h(W_IDENTITY).store(
            u64::from(pid) | (u64::from(instance) << 32),
            Ordering::Relaxed,
        );
        self.write_snapshot(first);
        self.h(W_MAGIC).store(MAGIC, Ordering::Release);
    }

    /// Whether the region was initialized by a writer of this layout.
    pub(crate) fn check(&self) -> Result<(), MonitorError> {
        match self.h(W_MAGIC).load(Ordering::Acquire) {
            0 => return Err(MonitorError::NotReady),
            MAGIC => {}
            _ => return Err(MonitorError::Incompatible("not a Tenuto monitor region")),
        }
        if self.h(W_VERSION).load(Ordering::Relaxed) != version_word()
            || self.h(W_EVENT_SHAPE).load(Ordering::Relaxed) != event_shape_word()
        {
            return Err(MonitorError::Incompatible(
                "another layout version (update tenuto or the driver)",
            ));
        }
        Ok(())
    }

    /// The seqlock's write side. Single writer only (the caller holds `&mut Publisher`).
    pub(crate) fn write_snapshot(&self, snap: &Snapshot) {
        let seq = self.h(W_SEQ);
        let s = seq.load(Ordering::Relaxed);
        // `s` is even: only this writer changes it and it always leaves it even.
        seq.store(s.wrapping_add(1), Ordering::Relaxed);
        fence(Ordering::Release);
        for (d, v) in self.snapshot.iter().zip(snap.to_words()) {
            d.store(v, Ordering::Relaxed);
        }
        seq.store(s.wrapping_add(2), Ordering::Release);
    }

    /// The seqlock's read side: one consistent snapshot, or `None` after `tries` attempts
    /// that each overlapped a write.
    pub(crate) fn read_snapshot(&self, tries: u32) -> Option<Snapshot> {
        let seq = self.h(W_SEQ);
        let mut buf = [0u64; SNAPSHOT_WORDS];
        for _ in 0..tries {
            let s1 = seq.load(Ordering::Acquire);
            if s1 & 1 == 1 {
                std::thread::yield_now();
                continue;
            }
            for (b, w) in buf.iter_mut().zip(self.snapshot.iter()) {
                *b = w.load(Ordering::Relaxed);
            }
            fence(Ordering::Acquire);
            if seq.load(Ordering::Relaxed) == s1 {
                return Some(Snapshot::from_words(buf));
            }
            std::hint::spin_loop();
        }
        None
    }

    fn slot(&self, index: u64) -> (&'a AtomicU64, &'a [AtomicU64]) {
        let base = (index % EVENT_SLOTS as u64) as usize * SLOT_WORDS;
        // `events` is exactly EVENT_SLOTS × SLOT_WORDS long (checked in `new`), so every
        // slot's range is inside it; an empty fallback keeps this free of panics anyway.
        let seq = self.events.get(base).unwrap_or(self.h(W_SEQ));
        let rec = self.events.get(base + 1..base + SLOT_WORDS).unwrap_or(&[]);
        (seq, rec)
    }

    /// Appends event number `index` (the writer keeps the count; single writer).
    pub(crate) fn write_event(&self, index: u64, e: &Event) {
        let (seq, rec) = self.slot(index);
        seq.store(index.wrapping_mul(2).wrapping_add(1), Ordering::Relaxed);
        fence(Ordering::Release);
        for (d, v) in rec.iter().zip(e.to_record().to_words()) {
            d.store(v, Ordering::Relaxed);
        }
        seq.store(index.wrapping_mul(2).wrapping_add(2), Ordering::Release);
        self.h(W_EVENT_COUNT)
            .store(index.wrapping_add(1), Ordering::Release);
    }

    /// Events appended so far.
    pub(crate) fn event_count(&self) -> u64 {
        self.h(W_EVENT_COUNT).load(Ordering::Acquire)
    }

    /// Events from `cursor` on into `out`; advances the cursor and returns how many events
    /// were overwritten before they could be read.
    pub(crate) fn read_events(&self, cursor: &mut u64, out: &mut Vec<Event>) -> u64 {
        let count = self.event_count();
        if *cursor > count {
            // A cursor from elsewhere (another region): start at the end of this one.
            *cursor = count;
            return 0;
        }
        let oldest = count.saturating_sub(EVENT_SLOTS as u64);
        let mut missed = oldest.saturating_sub(*cursor);
        let mut buf = [0u64; EVENT_WORDS];
        for i in (*cursor).max(oldest)..count {
            let (seq, rec) = self.slot(i);
            let want = i.wrapping_mul(2).wrapping_add(2);
            if seq.load(Ordering::Acquire) != want {
                missed += 1;
                continue;
            }
            for (b, w) in buf.iter_mut().zip(rec) {
                *b = w.load(Ordering::Relaxed);
            }
            fence(Ordering::Acquire);
            if seq.load(Ordering::Relaxed) != want {
                missed += 1;
                continue;
            }
            out.push(Event::from_record(&EventRecord::from_words(buf)));
        }
        *cursor = count;
        missed
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::layout::{Cause, EventKind};
    use std::sync::Arc;

    fn mem() -> Arc<[AtomicU64]> {
        (0..REGION_WORDS).map(|_| AtomicU64::new(0)).collect()
    }

    #[test]
    fn a_zero_region_is_not_ready_and_a_wrong_magic_incompatible() {
        let m = mem();
        let r = Region::new(&m).unwrap();
        assert!(matches!(r.check(), Err(MonitorError::NotReady)));
        r.init(1, 0, &Snapshot::default());
        assert!(r.check().is_ok());
        m[W_VERSION].store(99, Ordering::Relaxed);
        assert!(matches!(r.check(), Err(MonitorError::Incompatible(_))));
        m[W_MAGIC].store(7, Ordering::Relaxed);
        assert!(matches!(r.check(), Err(MonitorError::Incompatible(_))));
        assert!(Region::new(&m[..REGION_WORDS - 1]).is_err());
    }

    #[test]
    fn a_reader_gives_up_on_a_writer_that_died_mid_write() {
        let m = mem();
        let r = Region::new(&m).unwrap();
        r.init(1, 0, &Snapshot::default());
        assert!(r.read_snapshot(4).is_some());
        m[W_SEQ].fetch_add(1, Ordering::Relaxed); // odd: a write that never ends
        assert!(r.read_snapshot(4).is_none());
    }

    #[test]
    fn events_overrun_is_detected_and_counted() {
        let m = mem();
        let r = Region::new(&m).unwrap();
        r.init(1, 0, &Snapshot::default());
        let ev = |i: u64| Event {
            time_ms: i,
            period: Some(i),
            kind: EventKind::Late(Cause::Contention),
            priority: Some(i as i32),
            value: i as i64,
            text: format!("e{i}"),
        };
        let mut cursor = 0;
        let mut out = Vec::new();
        for i in 0..10 {
            r.write_event(i, &ev(i));
        }
        assert_eq!(r.read_events(&mut cursor, &mut out), 0);
        assert_eq!(out.len(), 10);
        assert_eq!(cursor, 10);
        assert_eq!(out[9], ev(9));
        out.clear();
        // 300 more: the ring holds 256, so 44 of them are gone before this reader looks.
        for i in 10..310 {
            r.write_event(i, &ev(i));
        }
        assert_eq!(r.read_events(&mut cursor, &mut out), 44);
        assert_eq!(out.len(), EVENT_SLOTS);
        assert_eq!(out.first().map(|e| e.value), Some(54));
        assert_eq!(out.last().map(|e| e.value), Some(309));
        // Nothing new: nothing read, nothing missed.
        out.clear();
        assert_eq!(r.read_events(&mut cursor, &mut out), 0);
        assert!(out.is_empty());
        // A slot the writer is overwriting (odd sequence) is missed, never read torn.
        let slot_309 = HEADER_WORDS + SNAPSHOT_WORDS + (309 % EVENT_SLOTS) * SLOT_WORDS;
        m[slot_309].store(2 * (309 + EVENT_SLOTS as u64) + 1, Ordering::Relaxed);
        let mut c2 = 308;
        out.clear();
        assert_eq!(r.read_events(&mut c2, &mut out), 1);
        assert_eq!(out.iter().map(|e| e.value).collect::<Vec<_>>(), [308]);
        assert_eq!(c2, 310);
    }
}
