//! Publishers, readers, and the registry through which readers find the live instances.
//!
//! **Names.** In a namespace with base `B` (default [`DEFAULT_NAMESPACE`]) instance `n` of
//! process `pid` publishes in the region `B.<pid>.<n>` (on Windows the file mapping
//! `Local\B.<pid>.<n>`), `n` being the lowest number whose region does not exist yet in
//! that process. The registry is the region `B.Registry.<version>`: [`REGISTRY_SLOTS`]
//! words, each 0 (free) or the token `pid << 32 | (n + 1)` of a registered instance.
//!
//! **Lifetimes.** A publisher claims a free slot (compare-and-swap from 0) after its region
//! is initialized and frees it (compare-and-swap back to 0) when dropped. A process that
//! dies frees nothing, so a slot may name an instance that is gone; readers judge every
//! slot afresh: no region of that name → gone (Windows removed the mapping with the last
//! handle); region there but its process gone → [`Liveness::Dead`] (a reader still holds
//! it); process there but no update for [`STALE_AFTER`] → [`Liveness::Stale`]. When no
//! slot is free, a new publisher takes over one whose instance is gone or dead. Readers
//! open everything read-only and never write.

use std::time::Duration;

use crate::layout::{set_text, text, Snapshot, State};
use crate::region::{Region, EVENT_SLOTS, READ_TRIES, REGION_WORDS};
use crate::shm::{process_alive, Mapping};
use crate::{now_ms, Event, MonitorError};
use std::sync::atomic::Ordering;

/// The namespace every Tenuto driver publishes in.
pub const DEFAULT_NAMESPACE: &str = "Tenuto.Monitor";
/// Instances one registry lists at once.
pub const REGISTRY_SLOTS: usize = 64;
/// Instances one process may publish at once.
pub const MAX_INSTANCES_PER_PROCESS: u32 = 64;
/// An instance whose heartbeat is older than this is [`Liveness::Stale`] (publishers update
/// about ten times a second).
pub const STALE_AFTER: Duration = Duration::from_secs(3);

/// Where instances publish and are listed; tests use their own so as not to meet others.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Namespace {
    base: String,
}

impl Default for Namespace {
    fn default() -> Self {
        Self::new(DEFAULT_NAMESPACE)
    }
}

/// How a listed instance is doing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Liveness {
    /// Its process is there and it updated within [`STALE_AFTER`].
    Live,
    /// Its process is there but it has not updated for longer (hung, or about to go).
    Stale,
    /// Its process is gone (a reader still holds the region).
    Dead,
}

/// What a publisher says about itself when it is created.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InstanceMeta {
    /// The process (normally `std::process::id()`).
    pub pid: u32,
    /// The host executable's file name.
    pub host_exe: String,
    /// What drives the instance (backend, device).
    pub driver: String,
}

impl InstanceMeta {
    /// This process, its executable's name, and `driver`.
    pub fn current(driver: &str) -> Self {
        Self {
            pid: std::process::id(),
            host_exe: current_exe_name(),
            driver: driver.to_owned(),
        }
    }
}

/// The file name of this process's executable ("" when unknown).
pub fn current_exe_name() -> String {
    std::env::current_exe()
        .ok()
        .and_then(|p| p.file_name().map(|n| n.to_string_lossy().into_owned()))
        .unwrap_or_default()
}

/// A listed instance.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InstanceInfo {
    /// Its region's name (without Windows' `Local\`).
    pub name: String,
    /// Its process.
    pub pid: u32,
    /// Its number within the process.
    pub instance: u32,
    /// The host executable.
    pub host_exe: String,
    /// What drives it.
    pub driver: String,
    /// Its state at the last update.
    pub state: State,
    /// Milliseconds since its last update (when listed).
    pub heartbeat_age_ms: u64,
    /// How it is doing.
    pub liveness: Liveness,
}

fn token(pid: u32, instance: u32) -> u64 {
    (u64::from(pid) << 32) | (u64::from(instance) + 1)
}

fn untoken(t: u64) -> Option<(u32, u32)> {
    let n = (t as u32).checked_sub(1)?;
    Some(((t >> 32) as u32, n))
}

impl Namespace {
    /// A namespace with base name `base` (letters, digits, dots, dashes).
    pub fn new(base: &str) -> Self {
        Self {
            base: base.to_owned(),
        }
    }

    fn registry_name(&self) -> String {
        format!("{}.Registry.{}", self.base, crate::layout::LAYOUT_VERSION)
    }

    fn instance_name(&self, pid: u32, instance: u32) -> String {
        format!("{}.{pid}.{instance}", self.base)
    }

    /// The instances that are live or stale, by process and number.
    pub fn list(&self) -> Vec<InstanceInfo> {
        let mut v = self.list_all();
        v.retain(|i| i.liveness != Liveness::Dead);
        v
    }

    /// Every registered instance whose region still exists, dead ones included.
    pub fn list_all(&self) -> Vec<InstanceInfo> {
        let Ok(Some(reg)) = Mapping::open(&self.registry_name(), REGISTRY_SLOTS) else {
            return Vec::new();
        };
        let mut out: Vec<InstanceInfo> = reg
            .words()
            .iter()
            .filter_map(|w| untoken(w.load(Ordering::Acquire)))
            .filter_map(|(pid, n)| self.probe(pid, n))
            .collect();
        out.sort_by_key(|i| (i.pid, i.instance));
        out.dedup_by_key(|i| (i.pid, i.instance));
        out
    }

    /// Looks at instance `n` of `pid`: `None` when its region is gone or unreadable.
    fn probe(&self, pid: u32, n: u32) -> Option<InstanceInfo> {
        let name = self.instance_name(pid, n);
        let map = Mapping::open(&name, REGION_WORDS).ok()??;
        let region = Region::new(map.words()).ok()?;
        region.check().ok()?;
        let snap = region
            .read_snapshot(READ_TRIES)
            .filter(Snapshot::is_compatible)?;
        if snap.pid != pid || snap.instance != n {
            return None;
        }
        Some(info_from(name, &snap))
    }
}

fn info_from(name: String, snap: &Snapshot) -> InstanceInfo {
    let age = now_ms().saturating_sub(snap.updated_ms);
    let liveness = if !process_alive(snap.pid) || snap.state() == State::Closed {
        Liveness::Dead
    } else if age > STALE_AFTER.as_millis() as u64 {
        Liveness::Stale
    } else {
        Liveness::Live
    };
    InstanceInfo {
        name,
        pid: snap.pid,
        instance: snap.instance,
        host_exe: text(&snap.host_exe),
        driver: text(&snap.driver),
        state: snap.state(),
        heartbeat_age_ms: age,
        liveness,
    }
}

/// The live, or stale, instances in the default namespace.
pub fn list_instances() -> Vec<InstanceInfo> {
    Namespace::default().list()
}

/// One instance's writing end. Only non-real-time threads use it: it formats, copies a
/// few kilobytes and may allocate; the driver thread never touches it.
pub struct Publisher {
    // Field order: the region is unmapped before the registry slot's mapping goes.
    region: Mapping,
    registry: Mapping,
    slot: usize,
    token: u64,
    snap: Box<Snapshot>,
    events: u64,
    name: String,
    abandoned: bool,
}

impl std::fmt::Debug for Publisher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Publisher")
            .field("name", &self.name)
            .field("slot", &self.slot)
            .finish_non_exhaustive()
    }
}

impl Publisher {
    /// Publishes a new instance in the default namespace.
    pub fn create(meta: &InstanceMeta) -> Result<Self, MonitorError> {
        Self::create_in(&Namespace::default(), meta)
    }

    /// Publishes a new instance in `ns`.
    pub fn create_in(ns: &Namespace, meta: &InstanceMeta) -> Result<Self, MonitorError> {
        let (registry, _) = Mapping::create(&ns.registry_name(), REGISTRY_SLOTS)?;
        let mut found = None;
        let mut last_err = MonitorError::NoFreeInstance;
        for n in 0..MAX_INSTANCES_PER_PROCESS {
            let name = ns.instance_name(meta.pid, n);
            match Mapping::create(&name, REGION_WORDS) {
                Ok((m, true)) => {
                    found = Some((n, name, m));
                    break;
                }
                // Taken: another instance of this process (or of an earlier process with
                // the same id, kept by a reader).
                Ok((_, false)) => {}
                Err(e) => last_err = e,
            }
        }
        let (n, name, region) = found.ok_or(last_err)?;
        let mut snap = Box::<Snapshot>::default();
        snap.pid = meta.pid;
        snap.instance = n;
        snap.started_ms = now_ms();
        snap.updated_ms = snap.started_ms;
        set_text(&mut snap.host_exe, &meta.host_exe);
        set_text(&mut snap.driver, &meta.driver);
        snap.set_state(State::Loaded);
        Region::new(region.words())?.init(meta.pid, n, &snap);

        let token = token(meta.pid, n);
        let slots = registry.words();
        let claim = |slot: &std::sync::atomic::AtomicU64, from: u64| {
            slot.compare_exchange(from, token, Ordering::AcqRel, Ordering::Relaxed)
                .is_ok()
        };
        let mut slot = slots.iter().position(|s| claim(s, 0));
        if slot.is_none() {
            // Full: take over the slot of an instance that is gone or dead.
            slot = slots.iter().position(|s| {
                let t = s.load(Ordering::Acquire);
                let gone = untoken(t).is_none_or(|(pid, n)| {
                    ns.probe(pid, n)
                        .is_none_or(|i| i.liveness == Liveness::Dead)
                });
                gone && claim(s, t)
            });
        }
        let slot = slot.ok_or(MonitorError::RegistryFull(REGISTRY_SLOTS))?;
        Ok(Self {
            region,
            registry,
            slot,
            token,
            snap,
            events: 0,
            name,
            abandoned: false,
        })
    }

    /// The region's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The last snapshot published (this publisher's copy).
    pub fn snapshot(&self) -> &Snapshot {
        &self.snap
    }

    /// Changes the snapshot with `f` and publishes it, stamping the heartbeat. The identity
    /// fields (magic, version, size, pid, instance, start) are restored after `f`.
    pub fn update(&mut self, f: impl FnOnce(&mut Snapshot)) {
        let (pid, instance, started) = (self.snap.pid, self.snap.instance, self.snap.started_ms);
        f(&mut self.snap);
        let d = Snapshot::default();
        self.snap.magic = d.magic;
        self.snap.version = d.version;
        self.snap.size = d.size;
        self.snap.pid = pid;
        self.snap.instance = instance;
        self.snap.started_ms = started;
        self.snap.updated_ms = now_ms();
        self.snap.updates = self.snap.updates.wrapping_add(1);
        if let Ok(r) = Region::new(self.region.words()) {
            r.write_snapshot(&self.snap);
        }
    }

    /// Appends an event to the ring (overwriting the oldest beyond
    /// [`EVENT_SLOTS`](crate::EVENT_SLOTS)).
    pub fn event(&mut self, e: &Event) {
        if let Ok(r) = Region::new(self.region.words()) {
            r.write_event(self.events, e);
            self.events += 1;
        }
    }

    /// Leaves as a crashed process would: the registry slot stays claimed and the last
    /// snapshot stays as it was (the region goes when its last holder closes it). For tests
    /// of the listing.
    #[doc(hidden)]
    pub fn abandon(mut self) {
        self.abandoned = true;
    }
}

impl Drop for Publisher {
    fn drop(&mut self) {
        if self.abandoned {
            return;
        }
        self.update(|s| s.set_state(State::Closed));
        if let Some(s) = self.registry.words().get(self.slot) {
            let _ = s.compare_exchange(self.token, 0, Ordering::AcqRel, Ordering::Relaxed);
        }
    }
}

/// Where a reader is in an instance's event ring.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct EventCursor(pub u64);

/// Events read since the cursor.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EventBatch {
    /// The events, oldest first.
    pub events: Vec<Event>,
    /// Events overwritten before this reader got to them.
    pub missed: u64,
}

/// One instance's reading end (read-only).
pub struct Reader {
    map: Mapping,
    info: InstanceInfo,
}

impl std::fmt::Debug for Reader {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Reader").field("info", &self.info).finish()
    }
}

impl Reader {
    /// Opens a listed instance.
    pub fn open(info: &InstanceInfo) -> Result<Self, MonitorError> {
        let map = Mapping::open(&info.name, REGION_WORDS)?.ok_or(MonitorError::NotFound)?;
        Region::new(map.words())?.check()?;
        Ok(Self {
            map,
            info: info.clone(),
        })
    }

    /// The instance as listed when opened.
    pub fn info(&self) -> &InstanceInfo {
        &self.info
    }

    fn region(&self) -> Option<Region<'_>> {
        Region::new(self.map.words()).ok()
    }

    /// The latest snapshot; `None` when every try overlapped a write (try again later).
    pub fn snapshot(&self) -> Option<Snapshot> {
        self.region()?
            .read_snapshot(READ_TRIES)
            .filter(Snapshot::is_compatible)
    }

    /// The instance's liveness judged from `snap` (one of this reader's snapshots).
    pub fn liveness(&self, snap: &Snapshot) -> Liveness {
        info_from(String::new(), snap).liveness
    }

    /// A cursor at the oldest event still in the ring.
    pub fn cursor_oldest(&self) -> EventCursor {
        let count = self.region().map_or(0, |r| r.event_count());
        EventCursor(count.saturating_sub(EVENT_SLOTS as u64))
    }

    /// A cursor after the newest event.
    pub fn cursor_now(&self) -> EventCursor {
        EventCursor(self.region().map_or(0, |r| r.event_count()))
    }

    /// The events since `cursor` (advanced past them), and how many were missed.
    pub fn new_events(&self, cursor: &mut EventCursor) -> EventBatch {
        let mut b = EventBatch::default();
        b.missed = self.new_events_into(cursor, &mut b.events);
        b
    }

    /// As [`Reader::new_events`], appending to `out`; returns the missed count.
    pub fn new_events_into(&self, cursor: &mut EventCursor, out: &mut Vec<Event>) -> u64 {
        self.region()
            .map_or(0, |r| r.read_events(&mut cursor.0, out))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_round_trip() {
        assert_eq!(untoken(token(1234, 0)), Some((1234, 0)));
        assert_eq!(untoken(token(u32::MAX, 63)), Some((u32::MAX, 63)));
        assert_eq!(untoken(0), None);
    }
}
