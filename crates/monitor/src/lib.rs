//! # tenuto-monitor
//!
//! Every Tenuto driver instance publishes its live state, read-only for everyone else,
//! through shared memory; `tenuto monitor` (the [`tui`]) and the [`plot`] pictures read it.
//!
//! ## Who writes, who reads
//! One [`Publisher`] per driver object. A normal-priority thread of the driver (never the
//! driver thread, which only records into the engine's atomics and rings as it always did)
//! copies the engine's state into the publisher about ten times a second: [`feed::Feeder`]
//! does that from `tenuto_engine::shared::Shared`. Any number of [`Reader`]s, in any
//! process of the same session, read it: they never write to the region, never block the
//! publisher, and the publisher never waits for them.
//!
//! ## Layout
//! One region per instance (the private module `region` has the word map): a header (magic,
//! layout version and sizes, the snapshot's sequence number, the count of events), one
//! [`Snapshot`] — a fixed-size `#[repr(C)]` plain-data record of identity, state, rate,
//! buffer size, latencies, the scheduling in effect, the thread's priority and a ring of
//! recent priority samples, counters (late periods by cause, demotions, device gaps and
//! stalls), the wake-up lateness histogram, a ring of per-period time splits and a ring of
//! demotions with their times — and a ring of [`EVENT_SLOTS`] fixed-size [`EventRecord`]s.
//! Every part is a whole number of 64-bit words and is only ever accessed with 64-bit
//! atomic loads and stores, so 32- and 64-bit processes share it and no access is a data
//! race even though other processes write concurrently.
//!
//! ## Versioning
//! The region's first word is [`MAGIC`]; the next holds [`LAYOUT_VERSION`] and the
//! snapshot's size, the next the event ring's shape. A reader whose layout differs refuses
//! the region ([`MonitorError::Incompatible`]) rather than misreading it; the registry's
//! name carries the version too, so instances of another layout are simply not listed.
//! Change [`LAYOUT_VERSION`] with any change of `layout`.
//!
//! ## The seqlock and its invariants
//! * Single writer: only the instance's [`Publisher`] writes its region, through `&mut self`
//!   (it created the region, so no other publisher has it).
//! * The writer makes the sequence odd, fences, stores the words, makes it even again; it
//!   never waits.
//! * A reader accepts a copy only if the sequence was even and unchanged around it, so it
//!   never returns a torn snapshot; it retries a bounded number of times ([`Reader::snapshot`]
//!   returns `None` rather than spinning on a writer that died mid-write).
//! * Events carry a monotonically increasing index; each slot has its own sequence
//!   (`2i + 1` while event `i` is written, `2i + 2` after), so a reader whose cursor fell
//!   more than [`EVENT_SLOTS`] behind, or whose slot was overwritten while it read, counts
//!   the events as missed ([`EventBatch::missed`]) instead of returning wrong ones.
//!
//! ## Transport and listing
//! On Windows each region is a named, paging-file-backed file mapping in the session's
//! `Local\` namespace, which Windows removes when its last handle closes — a crashed DAW's
//! region disappears by itself unless a monitor still holds it. A registry mapping lists
//! the instances; see the private module `instance` for names, slots, heartbeats and how
//! dead or stale instances are told apart ([`Liveness`]). Elsewhere an in-process table of
//! names stands in for the OS namespace, so the native tests run the same code.
//!
//! ## Features
//! `tui` (the terminal UI) and `plot` (the SVG pictures) are on by default; the driver,
//! which only publishes, builds with `default-features = false` and links neither ratatui
//! nor plotters.
//!
//! ## Unsafe
//! Only `shm` (mapping views and the slice of atomics over them) and, on Windows with the
//! terminal UI, `conout` (writing cells into the console's screen buffer), each with its
//! invariant stated there; the crate denies `unsafe` everywhere else.

#![deny(unsafe_code)]

#[cfg(all(windows, feature = "tui"))]
#[allow(unsafe_code)]
mod conout;
#[cfg(feature = "tui")]
pub mod console;
pub mod feed;
mod instance;
mod layout;
#[cfg(feature = "plot")]
pub mod plot;
mod region;
#[allow(unsafe_code)]
mod shm;
#[cfg(feature = "tui")]
pub mod tui;

pub use instance::{
    current_exe_name, list_instances, EventBatch, EventCursor, InstanceInfo, InstanceMeta,
    Liveness, Namespace, Publisher, Reader, DEFAULT_NAMESPACE, MAX_INSTANCES_PER_PROCESS,
    REGISTRY_SLOTS, STALE_AFTER,
};
pub use layout::{
    priority_flags, set_text, text, Cause, Demotion, Event, EventKind, EventRecord, PeriodSample,
    PrioritySample, Snapshot, State, CAUSES, DEMOTIONS, EVENT_TEXT, HISTOGRAM_BUCKETS,
    LAYOUT_VERSION, MAGIC, PERIOD_SAMPLES, PRIORITY_SAMPLES, SNAPSHOT_WORDS,
};
pub use region::EVENT_SLOTS;

/// What can go wrong publishing or reading.
#[derive(Debug, thiserror::Error)]
pub enum MonitorError {
    /// A system call failed.
    #[error("{0} failed: {1}")]
    Os(&'static str, std::io::Error),
    /// The region is not of this layout.
    #[error("incompatible monitor region: {0}")]
    Incompatible(&'static str),
    /// The region exists but its publisher has not finished initializing it.
    #[error("the instance is not published yet")]
    NotReady,
    /// The instance is gone.
    #[error("the instance has gone")]
    NotFound,
    /// Every instance number of this process is taken.
    #[error("every instance number of this process is in use")]
    NoFreeInstance,
    /// The registry has no free slot and no dead instance to take over.
    #[error("the list of instances is full ({0} entries)")]
    RegistryFull(usize),
}

/// Wall-clock time, ms since the Unix epoch (the time base of every published time; it
/// is comparable between processes).
pub fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}
