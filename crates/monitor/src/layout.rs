//! The published plain data: [`Snapshot`] and the event ring's [`EventRecord`].
//!
//! Both are `#[repr(C)]`, made only of integers, `f64` and byte arrays, with no padding
//! (`bytemuck::Pod` checks that at compile time), so that their bytes mean the same to a
//! writer and a reader built separately — a 32-bit driver inside a DAW and a 64-bit monitor.
//! Every size is a multiple of 8: the shared region is accessed as 64-bit words.
//!
//! **Versioning.** [`LAYOUT_VERSION`] changes whenever a field moves, changes meaning or the
//! sizes change; a reader refuses a region whose version or sizes differ from its own rather
//! than guessing. Fields are only ever appended (with a new version), so a future reader may
//! choose to read older versions.

use bytemuck::{Pod, Zeroable};

/// The first word of a region and of every snapshot: "TenutoM1" in little-endian bytes.
pub const MAGIC: u64 = u64::from_le_bytes(*b"TenutoM1");
/// The layout's version (see the module documentation).
pub const LAYOUT_VERSION: u32 = 2;
/// Wake-up lateness buckets: bucket `i` counts periods woken less than `2^i` µs late
/// (bucket 0: under 1 µs), the last one everything later — the engine's histogram.
pub const HISTOGRAM_BUCKETS: usize = 24;
/// Late-period causes, in [`Cause::ALL`] order.
pub const CAUSES: usize = 4;
/// Priority samples kept (one per update: 12.8 s at ten updates a second).
pub const PRIORITY_SAMPLES: usize = 128;
/// Per-period time samples kept.
pub const PERIOD_SAMPLES: usize = 128;
/// Demotions kept with their times.
pub const DEMOTIONS: usize = 16;
/// Bytes of an event's text: room for the scheduling in effect as a stream starts
/// ("MMCSS \"Pro Audio\" at CRITICAL (registered, task index 0); EcoQoS opt-out").
pub const EVENT_TEXT: usize = 96;

// The engine's histogram and causes must fit the published ones one to one.
const _: () = assert!(HISTOGRAM_BUCKETS == tenuto_engine::stats::HISTOGRAM_BUCKETS);
const _: () = assert!(CAUSES == tenuto_engine::stats::LateCause::ALL.len());

/// Why a period was late (the engine's `LateCause`, as published).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Cause {
    /// The host's callback took longer than the period.
    HostOverrun,
    /// The OS had demoted the thread.
    Demotion,
    /// The thread held its priority and still woke late (something else ran first).
    Contention,
    /// No priority probe was available.
    Unknown,
}

impl Cause {
    /// Every cause, in the order of [`Snapshot::late_by_cause`].
    pub const ALL: [Cause; CAUSES] = [
        Self::HostOverrun,
        Self::Demotion,
        Self::Contention,
        Self::Unknown,
    ];

    /// Short name for screens and pictures.
    pub const fn name(self) -> &'static str {
        match self {
            Self::HostOverrun => "host overrun",
            Self::Demotion => "demotion",
            Self::Contention => "contention",
            Self::Unknown => "unknown",
        }
    }

    /// The cause's position in [`Cause::ALL`].
    pub const fn index(self) -> usize {
        match self {
            Self::HostOverrun => 0,
            Self::Demotion => 1,
            Self::Contention => 2,
            Self::Unknown => 3,
        }
    }

    /// The engine's cause.
    pub const fn from_engine(c: tenuto_engine::stats::LateCause) -> Self {
        use tenuto_engine::stats::LateCause as L;
        match c {
            L::HostOverrun => Self::HostOverrun,
            L::Demotion => Self::Demotion,
            L::Contention => Self::Contention,
            L::Unknown => Self::Unknown,
        }
    }

    fn code(self) -> u16 {
        self.index() as u16 + 1
    }

    fn from_code(c: u16) -> Option<Self> {
        Self::ALL.get(usize::from(c).checked_sub(1)?).copied()
    }
}

/// The driver's state as published ([`Snapshot::state`] holds [`State::code`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum State {
    /// Not known (nothing published yet, or a code this reader does not know).
    Unknown,
    /// Loaded, not initialized.
    Loaded,
    /// Initialized, no buffers.
    Initialized,
    /// Buffers created, not streaming.
    Prepared,
    /// Streaming.
    Streaming,
    /// A stream is stopping.
    Stopping,
    /// Buffers exist but the driver thread failed.
    Failed,
    /// The driver object was released (the publisher's last update).
    Closed,
}

impl State {
    /// The number stored in the snapshot.
    pub const fn code(self) -> u32 {
        match self {
            Self::Unknown => 0,
            Self::Loaded => 1,
            Self::Initialized => 2,
            Self::Prepared => 3,
            Self::Streaming => 4,
            Self::Stopping => 5,
            Self::Failed => 6,
            Self::Closed => 7,
        }
    }

    /// The state for a stored number ([`State::Unknown`] for codes from a newer writer).
    pub const fn from_code(c: u32) -> Self {
        match c {
            1 => Self::Loaded,
            2 => Self::Initialized,
            3 => Self::Prepared,
            4 => Self::Streaming,
            5 => Self::Stopping,
            6 => Self::Failed,
            7 => Self::Closed,
            _ => Self::Unknown,
        }
    }

    /// The state for the engine's `Engine::state_name()` words.
    pub fn from_engine_name(name: &str) -> Self {
        match name {
            "not initialized" => Self::Loaded,
            "streaming" => Self::Streaming,
            "stopping" => Self::Stopping,
            "initialized without buffers" => Self::Initialized,
            n if n.starts_with("prepared after") => Self::Failed,
            n if n.starts_with("prepared") => Self::Prepared,
            _ => Self::Unknown,
        }
    }

    /// Short name for screens.
    pub const fn name(self) -> &'static str {
        match self {
            Self::Unknown => "unknown",
            Self::Loaded => "loaded",
            Self::Initialized => "initialized",
            Self::Prepared => "prepared",
            Self::Streaming => "streaming",
            Self::Stopping => "stopping",
            Self::Failed => "audio thread failed",
            Self::Closed => "closed",
        }
    }
}

/// Flags of a [`PrioritySample`].
pub mod priority_flags {
    /// The priority was read (otherwise the driver thread has not sampled it yet).
    pub const VALID: u32 = 1;
    /// The thread was demoted at that time.
    pub const DEMOTED: u32 = 2;
    /// The thread was streaming at that time.
    pub const STREAMING: u32 = 4;
}

/// The driver thread's priority at one update.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Pod, Zeroable)]
pub struct PrioritySample {
    /// Wall-clock time, ms since the Unix epoch.
    pub time_ms: u64,
    /// The priority (OS numbering), meaningful with [`priority_flags::VALID`].
    pub priority: i32,
    /// [`priority_flags`].
    pub flags: u32,
}

/// The time split of one period — or the mean over the periods since the previous sample,
/// when the publisher only sees counters ([`PeriodSample::periods`] > 1).
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Pod, Zeroable)]
pub struct PeriodSample {
    /// Wall-clock time, ms since the Unix epoch.
    pub time_ms: u64,
    /// The (last) period's number since the stream started.
    pub period: u64,
    /// How many periods this sample averages (1: one period's own record).
    pub periods: u64,
    /// The period's length, ns.
    pub period_ns: u64,
    /// How late the driver thread woke, ns (0 when not known: counters have no total).
    pub wake_late_ns: u64,
    /// The engine's own work (device I/O, conversion), ns.
    pub engine_ns: u64,
    /// The host's buffer switch, ns.
    pub host_ns: u64,
    /// Time left before the deadline (negative: late), ns.
    pub slack_ns: i64,
}

/// One demotion of the driver thread, with its time.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Pod, Zeroable)]
pub struct Demotion {
    /// Wall-clock time the publisher saw it, ms since the Unix epoch.
    pub time_ms: u64,
    /// The period in which the driver thread found itself demoted.
    pub period: u64,
    /// The priority it was found at.
    pub priority: i32,
    /// 1 once the thread was found back at its policy's priority.
    pub restored: u32,
}

/// Everything one instance publishes, replaced as a whole at every update.
///
/// Text fields are UTF-8, NUL-padded (read them with [`text`]); rings are a count of
/// items ever pushed (`*_head`) and an array written round-robin (read them with the
/// `recent_*` methods, oldest first).
#[repr(C)]
#[derive(Clone, Copy, Pod, Zeroable)]
pub struct Snapshot {
    /// [`MAGIC`].
    pub magic: u64,
    /// [`LAYOUT_VERSION`].
    pub version: u32,
    /// `size_of::<Snapshot>()` of the writer.
    pub size: u32,
    /// The publishing process.
    pub pid: u32,
    /// The instance's number within its process (0, 1, …; the lowest free one).
    pub instance: u32,
    /// When the publisher was created, ms since the Unix epoch.
    pub started_ms: u64,
    /// The heartbeat: when the last update was published, ms since the Unix epoch.
    pub updated_ms: u64,
    /// Updates published.
    pub updates: u64,
    /// The host executable's file name (e.g. `Cubase13.exe`).
    pub host_exe: [u8; 64],
    /// What drives the instance (backend and device, e.g. "WASAPI shared: Speakers").
    pub driver: [u8; 96],
    /// [`State::code`].
    pub state: u32,
    /// Buffer size, frames (0: none yet).
    pub buffer_size: u32,
    /// Sample rate, Hz.
    pub sample_rate: f64,
    /// Input latency reported to the host, frames.
    pub input_latency: u32,
    /// Output latency reported to the host, frames.
    pub output_latency: u32,
    /// The scheduling in effect and why (the engine's policy description). Under Wine, with
    /// the per-host profile's reason, it runs to about 330 bytes.
    pub policy: [u8; 1024],
    /// The last stream error, empty when none (with the lost device's name and what to do).
    pub stream_error: [u8; 512],
    /// Streams started since the driver object was created.
    pub streams_started: u64,
    /// The thread's last sampled priority (OS numbering); see `priority_valid`.
    pub priority: i32,
    /// 1 when `priority` was sampled.
    pub priority_valid: u32,
    /// 1 while the thread is found demoted.
    pub demoted: u32,
    /// Reserved, 0.
    pub reserved0: u32,
    /// Priority samples the driver thread took.
    pub priority_samples: u64,
    /// Periods processed in the current (or last) stream.
    pub periods: u64,
    /// Periods whose output missed the deadline.
    pub late_periods: u64,
    /// Periods in which the host's callback took longer than a period.
    pub host_overruns: u64,
    /// Worst wake-up lateness, ns.
    pub max_wake_late_ns: u64,
    /// Longest host callback, ns.
    pub max_host_ns: u64,
    /// Longest engine work in one period, ns.
    pub max_engine_ns: u64,
    /// Sum of engine work, ns.
    pub total_engine_ns: u64,
    /// Sum of host callback time, ns.
    pub total_host_ns: u64,
    /// Period records nobody read in time.
    pub records_dropped: u64,
    /// Late periods by cause, [`Cause::ALL`] order.
    pub late_by_cause: [u64; CAUSES],
    /// Times the thread was found demoted.
    pub demotions: u64,
    /// Priority changes that were not demotions.
    pub priority_changes: u64,
    /// Output buffers the device played without fresh data.
    pub output_underruns: u64,
    /// Input periods the device lost.
    pub input_overruns: u64,
    /// Device clock restarts after stalls.
    pub resyncs: u64,
    /// Frames dropped or repeated to follow clock drift.
    pub clock_slips: u64,
    /// Times the stream lost time below the driver.
    pub device_stalls: u64,
    /// Time those stalls lost, µs.
    pub device_stall_lost_us: u64,
    /// Wake-up lateness histogram (see [`HISTOGRAM_BUCKETS`]).
    pub wake_histogram: [u64; HISTOGRAM_BUCKETS],
    /// Priority samples pushed.
    pub priority_head: u64,
    /// The priority timeline.
    pub priority_ring: [PrioritySample; PRIORITY_SAMPLES],
    /// Period samples pushed.
    pub period_head: u64,
    /// Recent periods' time split.
    pub period_ring: [PeriodSample; PERIOD_SAMPLES],
    /// Demotions pushed.
    pub demotion_head: u64,
    /// Recent demotions.
    pub demotion_ring: [Demotion; DEMOTIONS],
}

const _: () = assert!(std::mem::size_of::<Snapshot>() % 8 == 0);
const _: () = assert!(std::mem::align_of::<Snapshot>() == 8);

/// The snapshot's size in 64-bit words.
pub const SNAPSHOT_WORDS: usize = std::mem::size_of::<Snapshot>() / 8;

impl Default for Snapshot {
    fn default() -> Self {
        let mut s = Self::zeroed();
        s.magic = MAGIC;
        s.version = LAYOUT_VERSION;
        s.size = std::mem::size_of::<Self>() as u32;
        s
    }
}

impl std::fmt::Debug for Snapshot {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Snapshot")
            .field("pid", &self.pid)
            .field("instance", &self.instance)
            .field("host_exe", &text(&self.host_exe))
            .field("state", &self.state())
            .field("updated_ms", &self.updated_ms)
            .field("periods", &self.periods)
            .finish_non_exhaustive()
    }
}

fn push<T: Copy>(head: &mut u64, ring: &mut [T], item: T) {
    let n = ring.len() as u64;
    if n == 0 {
        return;
    }
    if let Some(slot) = ring.get_mut((*head % n) as usize) {
        *slot = item;
    }
    *head = head.wrapping_add(1);
}

fn recent<T: Copy>(head: u64, ring: &[T]) -> impl Iterator<Item = T> + '_ {
    let n = ring.len() as u64;
    let first = head.saturating_sub(n);
    (first..head).filter_map(move |i| ring.get((i % n.max(1)) as usize).copied())
}

impl Snapshot {
    /// Whether the magic, version and size are this reader's.
    pub fn is_compatible(&self) -> bool {
        self.magic == MAGIC
            && self.version == LAYOUT_VERSION
            && self.size as usize == std::mem::size_of::<Self>()
    }

    /// The state.
    pub fn state(&self) -> State {
        State::from_code(self.state)
    }

    /// Sets the state.
    pub fn set_state(&mut self, s: State) {
        self.state = s.code();
    }

    /// The thread's last sampled priority.
    pub fn priority(&self) -> Option<i32> {
        (self.priority_valid != 0).then_some(self.priority)
    }

    /// Late periods attributed to `cause`.
    pub fn late(&self, cause: Cause) -> u64 {
        self.late_by_cause.get(cause.index()).copied().unwrap_or(0)
    }

    /// The period length, ns (0 without a buffer size or rate).
    pub fn period_ns(&self) -> u64 {
        if self.buffer_size == 0 || self.sample_rate <= 0.0 {
            return 0;
        }
        (f64::from(self.buffer_size) * 1e9 / self.sample_rate) as u64
    }

    /// Appends to the priority timeline.
    pub fn push_priority(&mut self, s: PrioritySample) {
        push(&mut self.priority_head, &mut self.priority_ring, s);
    }

    /// Appends to the period ring.
    pub fn push_period(&mut self, s: PeriodSample) {
        push(&mut self.period_head, &mut self.period_ring, s);
    }

    /// Appends to the demotions.
    pub fn push_demotion(&mut self, d: Demotion) {
        push(&mut self.demotion_head, &mut self.demotion_ring, d);
    }

    /// Marks the newest demotion restored.
    pub fn mark_restored(&mut self) {
        if self.demotion_head == 0 {
            return;
        }
        let i = ((self.demotion_head - 1) % DEMOTIONS as u64) as usize;
        if let Some(d) = self.demotion_ring.get_mut(i) {
            d.restored = 1;
        }
    }

    /// The priority timeline, oldest first.
    pub fn recent_priorities(&self) -> impl Iterator<Item = PrioritySample> + '_ {
        recent(self.priority_head, &self.priority_ring)
    }

    /// Recent period samples, oldest first.
    pub fn recent_periods(&self) -> impl Iterator<Item = PeriodSample> + '_ {
        recent(self.period_head, &self.period_ring)
    }

    /// Recent demotions, oldest first.
    pub fn recent_demotions(&self) -> impl Iterator<Item = Demotion> + '_ {
        recent(self.demotion_head, &self.demotion_ring)
    }

    /// Copies the engine's counters (everything of [`tenuto_engine::stats::StatsSnapshot`]).
    pub fn set_stats(&mut self, s: &tenuto_engine::stats::StatsSnapshot) {
        self.periods = s.periods;
        self.late_periods = s.late_periods;
        self.host_overruns = s.host_overruns;
        self.max_wake_late_ns = s.max_wake_late_ns;
        self.max_host_ns = s.max_host_ns;
        self.max_engine_ns = s.max_engine_ns;
        self.total_engine_ns = s.total_engine_ns;
        self.total_host_ns = s.total_host_ns;
        self.records_dropped = s.records_dropped;
        self.output_underruns = s.output_underruns;
        self.input_overruns = s.input_overruns;
        self.resyncs = s.resyncs;
        self.clock_slips = s.clock_slips;
        self.device_stalls = s.device_stalls;
        self.device_stall_lost_us = s.device_stall_lost_us;
        self.wake_histogram = s.wake_histogram;
        self.late_by_cause = s.late_by_cause;
        self.demotions = s.demotions;
        self.priority_changes = s.priority_changes;
        self.priority_samples = s.samples;
        self.priority = s.last_priority.unwrap_or(0);
        self.priority_valid = u32::from(s.last_priority.is_some());
    }

    pub(crate) fn to_words(self) -> [u64; SNAPSHOT_WORDS] {
        bytemuck::cast(self)
    }

    pub(crate) fn from_words(w: [u64; SNAPSHOT_WORDS]) -> Self {
        bytemuck::cast(w)
    }
}

/// Reads a NUL-padded UTF-8 text field (invalid bytes become U+FFFD).
pub fn text(field: &[u8]) -> String {
    let end = field.iter().position(|&b| b == 0).unwrap_or(field.len());
    String::from_utf8_lossy(field.get(..end).unwrap_or_default()).into_owned()
}

/// Marks a text cut to fit its field.
const CUT: &str = "…";

/// Writes `s` into a text field, NUL-padded. A text too long for the field is cut at a
/// character boundary and ends in "…", so that a reader knows there was more.
pub fn set_text(field: &mut [u8], s: &str) {
    field.fill(0);
    let (room, mark) = match s.len() <= field.len() {
        true => (s.len(), ""),
        false if field.len() > CUT.len() => (field.len() - CUT.len(), CUT),
        false => (field.len(), ""),
    };
    let mut keep = room;
    while !s.is_char_boundary(keep) {
        keep -= 1;
    }
    let text = s.as_bytes().get(..keep).unwrap_or_default();
    for (d, b) in field.iter_mut().zip(text.iter().chain(mark.as_bytes())) {
        *d = *b;
    }
}

/// Kinds of [`Event`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EventKind {
    /// A late period and its likely cause.
    Late(Cause),
    /// The thread was found demoted.
    Demoted,
    /// The thread was found back at its policy's priority.
    Restored,
    /// The priority changed without a demotion (`value`: the priority before).
    PriorityChanged,
    /// The device lost or repeated audio (`value`: underruns + overruns + resyncs + stalls).
    DeviceGap,
    /// The stream's first period arrived (`value`: ms after the device started).
    FirstPeriod,
    /// A stream started (`text`: the scheduling in effect).
    StreamStarted,
    /// A stream stopped (`value`: its periods).
    StreamStopped,
    /// The stream failed (`text`: the error).
    StreamError,
    /// Anything else worth a line (`text`).
    Note,
    /// A kind this reader does not know (a newer writer).
    Other(u16),
}

impl EventKind {
    fn code(self) -> u16 {
        match self {
            Self::Late(_) => 1,
            Self::Demoted => 2,
            Self::Restored => 3,
            Self::PriorityChanged => 4,
            Self::DeviceGap => 5,
            Self::FirstPeriod => 6,
            Self::StreamStarted => 7,
            Self::StreamStopped => 8,
            Self::StreamError => 9,
            Self::Note => 10,
            Self::Other(c) => c,
        }
    }

    fn from_codes(kind: u16, cause: u16) -> Self {
        match kind {
            1 => Self::Late(Cause::from_code(cause).unwrap_or(Cause::Unknown)),
            2 => Self::Demoted,
            3 => Self::Restored,
            4 => Self::PriorityChanged,
            5 => Self::DeviceGap,
            6 => Self::FirstPeriod,
            7 => Self::StreamStarted,
            8 => Self::StreamStopped,
            9 => Self::StreamError,
            10 => Self::Note,
            c => Self::Other(c),
        }
    }

    /// Short name for screens.
    pub fn name(self) -> String {
        match self {
            Self::Late(c) => format!("late: {}", c.name()),
            Self::Demoted => "demoted".into(),
            Self::Restored => "restored".into(),
            Self::PriorityChanged => "priority changed".into(),
            Self::DeviceGap => "device gap".into(),
            Self::FirstPeriod => "first period".into(),
            Self::StreamStarted => "stream started".into(),
            Self::StreamStopped => "stream stopped".into(),
            Self::StreamError => "stream error".into(),
            Self::Note => "note".into(),
            Self::Other(c) => format!("event {c}"),
        }
    }
}

/// One event, as the publisher appends it and a reader gets it back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Event {
    /// Wall-clock time, ms since the Unix epoch.
    pub time_ms: u64,
    /// The period it happened in, if known.
    pub period: Option<u64>,
    /// What happened.
    pub kind: EventKind,
    /// The thread's priority then, if sampled.
    pub priority: Option<i32>,
    /// A number whose meaning depends on the kind.
    pub value: i64,
    /// A short text (cut to [`EVENT_TEXT`] bytes when published).
    pub text: String,
}

impl Event {
    /// An event of `kind` now, with nothing else.
    pub fn new(kind: EventKind) -> Self {
        Self {
            time_ms: crate::now_ms(),
            period: None,
            kind,
            priority: None,
            value: 0,
            text: String::new(),
        }
    }

    /// The engine's scheduling event, seen at `time_ms`.
    pub fn from_schedule(e: &tenuto_engine::stats::ScheduleEvent, time_ms: u64) -> Self {
        use tenuto_engine::stats::EventKind as K;
        let (kind, value, text) = match e.kind {
            K::Late(c) => (EventKind::Late(Cause::from_engine(c)), 0, String::new()),
            K::Demoted => (EventKind::Demoted, 0, String::new()),
            K::Restored => (EventKind::Restored, 0, String::new()),
            K::PriorityChanged { from } => (
                EventKind::PriorityChanged,
                i64::from(from),
                format!("from {from}"),
            ),
            K::DeviceGap {
                output_underruns,
                input_overruns,
                resyncs,
                stalls,
                stall_lost_ms,
                check_gap_ms,
            } => (
                EventKind::DeviceGap,
                i64::from(output_underruns)
                    + i64::from(input_overruns)
                    + i64::from(resyncs)
                    + i64::from(stalls),
                format!(
                    "out {output_underruns} in {input_overruns} resync {resyncs} stall {stalls} \
                     ({stall_lost_ms}/{check_gap_ms} ms)"
                ),
            ),
            K::FirstPeriod { after_ms, .. } => (
                EventKind::FirstPeriod,
                i64::from(after_ms),
                format!("after {after_ms} ms"),
            ),
        };
        Self {
            time_ms,
            period: Some(e.index),
            kind,
            priority: e.priority,
            value,
            text,
        }
    }

    pub(crate) fn to_record(&self) -> EventRecord {
        let mut r = EventRecord {
            time_ms: self.time_ms,
            period: self.period.unwrap_or(u64::MAX),
            value: self.value,
            kind: self.kind.code(),
            cause: match self.kind {
                EventKind::Late(c) => c.code(),
                _ => 0,
            },
            priority: self.priority.unwrap_or(i32::MIN),
            text: [0; EVENT_TEXT],
        };
        set_text(&mut r.text, &self.text);
        r
    }

    pub(crate) fn from_record(r: &EventRecord) -> Self {
        Self {
            time_ms: r.time_ms,
            period: (r.period != u64::MAX).then_some(r.period),
            kind: EventKind::from_codes(r.kind, r.cause),
            priority: (r.priority != i32::MIN).then_some(r.priority),
            value: r.value,
            text: text(&r.text),
        }
    }
}

/// An event as stored in the ring: fixed size, plain data.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Pod, Zeroable)]
pub struct EventRecord {
    /// Wall-clock time, ms since the Unix epoch.
    pub time_ms: u64,
    /// The period, `u64::MAX` when not known.
    pub period: u64,
    /// See [`EventKind`].
    pub value: i64,
    /// The kind's number.
    pub kind: u16,
    /// The cause's number (1 + index in [`Cause::ALL`]) for late periods, else 0.
    pub cause: u16,
    /// The priority, `i32::MIN` when not sampled.
    pub priority: i32,
    /// Short text, UTF-8, NUL-padded.
    pub text: [u8; EVENT_TEXT],
}

const _: () = assert!(std::mem::size_of::<EventRecord>() % 8 == 0);

/// An event record's size in 64-bit words.
pub const EVENT_WORDS: usize = std::mem::size_of::<EventRecord>() / 8;

impl EventRecord {
    pub(crate) fn to_words(self) -> [u64; EVENT_WORDS] {
        bytemuck::cast(self)
    }

    pub(crate) fn from_words(w: [u64; EVENT_WORDS]) -> Self {
        bytemuck::cast(w)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_fields_cut_at_character_boundaries() {
        let mut f = [0u8; 8];
        set_text(&mut f, "abcdeé!"); // eight bytes: it fits
        assert_eq!(text(&f), "abcdeé!");
        set_text(&mut f, "abcdefé!"); // nine: five bytes and the mark
        assert_eq!(text(&f), "abcde…");
        set_text(&mut f, "abcdé12345"); // é at 4..6: the cut at 5 steps back to 4
        assert_eq!(text(&f), "abcd…");
        set_text(&mut f, "");
        assert_eq!(text(&f), "");
        // A field too small for the mark is cut without it.
        let mut tiny = [0u8; 3];
        set_text(&mut tiny, "aé");
        assert_eq!(text(&tiny), "aé");
        set_text(&mut tiny, "abcd");
        assert_eq!(text(&tiny), "abc");
    }

    #[test]
    fn rings_keep_the_newest_oldest_first() {
        let mut s = Snapshot::default();
        for i in 0..(PRIORITY_SAMPLES as u64 + 5) {
            s.push_priority(PrioritySample {
                time_ms: i,
                ..Default::default()
            });
        }
        let times: Vec<u64> = s.recent_priorities().map(|p| p.time_ms).collect();
        assert_eq!(times.len(), PRIORITY_SAMPLES);
        assert_eq!(times.first(), Some(&5));
        assert_eq!(times.last(), Some(&(PRIORITY_SAMPLES as u64 + 4)));
    }

    #[test]
    fn events_round_trip_through_records() {
        let e = Event {
            time_ms: 42,
            period: Some(7),
            kind: EventKind::Late(Cause::Demotion),
            priority: Some(-3),
            value: -9,
            text: "x".repeat(100),
        };
        let back = Event::from_record(&EventRecord::from_words(e.to_record().to_words()));
        assert_eq!(back.kind, e.kind);
        assert_eq!(back.period, e.period);
        assert_eq!(back.priority, e.priority);
        assert_eq!(back.value, e.value);
        // Cut to the field, and marked as cut.
        assert_eq!(back.text.len(), EVENT_TEXT);
        assert!(back.text.ends_with('…'), "{}", back.text);
        let none = Event::new(EventKind::Note);
        let back = Event::from_record(&none.to_record());
        assert_eq!((back.period, back.priority), (None, None));
    }

    #[test]
    fn engine_state_names_map() {
        assert_eq!(State::from_engine_name("streaming"), State::Streaming);
        assert_eq!(
            State::from_engine_name("prepared (buffers created, not streaming)"),
            State::Prepared
        );
        assert_eq!(
            State::from_engine_name("prepared after the audio thread failed"),
            State::Failed
        );
        for c in 0..9 {
            assert_eq!(State::from_code(c).code(), if c > 7 { 0 } else { c });
        }
    }
}
