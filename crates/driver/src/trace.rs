//! The debug trace: every IASIO call a host makes — method, arguments,
//! result, duration — for support requests (`logging.level = "debug"`).
//!
//! # Real-time contract
//! Hosts call `getSamplePosition`, `outputReady` and `getLatencies` from
//! inside `bufferSwitch`, on the driver thread, so recording a call must
//! neither block nor allocate. A [`TraceRecord`] is a fixed-size `Copy`
//! value; [`Trace::record`] pushes it into a bounded lock-free queue
//! ([`crossbeam_queue::ArrayQueue`], allocated once by [`Trace::new`]) and,
//! when the queue is full, only counts the record as dropped. Another
//! thread (the DLL's log thread) pops the records, formats them
//! ([`TraceRecord`]'s `Display`) and writes them.
//!
//! Without a trace (any level but debug) the boundary does nothing more than
//! look at an empty `Option`.

use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};

use asio_abi::{error_name, future, ASIO_FALSE};
use crossbeam_queue::ArrayQueue;

/// Records the log thread can be behind by before new ones are dropped:
/// about three seconds of a host that calls `getSamplePosition` and
/// `outputReady` in every switch of 32 frames at 48 kHz (3000 calls/s),
/// where the log thread drains the queue four times a second.
pub const DEFAULT_CAPACITY: usize = 8192;

/// Bytes of a string result (driver name, error message) kept in a record.
pub const TEXT_BYTES: usize = 64;

/// What the host passed to a call (values only; pointers are not kept).
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub enum Args {
    /// No arguments besides out-pointers.
    #[default]
    None,
    /// A sample rate, Hz (`canSampleRate`, `setSampleRate`).
    Rate(f64),
    /// `getChannelInfo`'s channel.
    Channel {
        /// Channel index.
        channel: i32,
        /// Input (true) or output.
        is_input: bool,
    },
    /// `createBuffers`' counts.
    CreateBuffers {
        /// `numChannels`.
        channels: i32,
        /// Of which inputs, read from the host's `ASIOBufferInfo` array
        /// (`None` when the call failed before reading it).
        inputs: Option<i32>,
        /// `bufferSize`, frames.
        buffer_frames: i32,
    },
    /// `setClockSource`'s reference.
    ClockSource(i32),
    /// `getClockSources`' capacity (`*numSources` on entry).
    Capacity(i32),
    /// `future`'s selector.
    Selector(i32),
}

/// What a call wrote through the host's out-pointers.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub enum Out {
    /// Nothing (or the call failed before writing).
    #[default]
    None,
    /// `getChannels`.
    Channels {
        /// Input channels.
        inputs: i32,
        /// Output channels.
        outputs: i32,
    },
    /// `getLatencies`, frames.
    Latencies {
        /// Input latency.
        input: i32,
        /// Output latency.
        output: i32,
    },
    /// `getBufferSize`, frames.
    BufferSize {
        /// Smallest size.
        min: i32,
        /// Largest size.
        max: i32,
        /// Preferred size.
        preferred: i32,
        /// Granularity (-1: powers of two).
        granularity: i32,
    },
    /// `getSampleRate`, Hz.
    Rate(f64),
    /// `getSamplePosition`.
    Position {
        /// Sample position, frames.
        samples: u64,
        /// System time of that position, ns.
        time_ns: u64,
    },
    /// `getChannelInfo`.
    ChannelInfo {
        /// Whether a buffer exists for the channel.
        active: bool,
        /// Channel group.
        group: i32,
        /// ASIO sample type.
        sample_type: i32,
    },
    /// `getClockSources`: entries written.
    Sources(i32),
    /// `future(kAsioGetInternalBufferSamples)`, frames.
    InternalBuffer {
        /// Input samples.
        input: i32,
        /// Output samples.
        output: i32,
    },
    /// A string result (`getDriverName`, `getErrorMessage`), cut at
    /// [`TEXT_BYTES`].
    Text(Text),
}

/// A string kept inline, cut at [`TEXT_BYTES`] on a UTF-8 boundary.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct Text {
    bytes: [u8; TEXT_BYTES],
    len: u8,
    cut: bool,
}

impl Text {
    /// Copies `s` (no allocation).
    pub fn new(s: &str) -> Self {
        let mut len = s.len().min(TEXT_BYTES);
        while !s.is_char_boundary(len) {
            len -= 1;
        }
        let mut bytes = [0u8; TEXT_BYTES];
        bytes[..len].copy_from_slice(&s.as_bytes()[..len]);
        Self {
            bytes,
            len: len as u8,
            cut: len < s.len(),
        }
    }

    /// The kept text.
    pub fn as_str(&self) -> &str {
        // `new` cut on a char boundary of a `str`.
        std::str::from_utf8(&self.bytes[..usize::from(self.len)]).unwrap_or("")
    }
}

impl fmt::Debug for Text {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.as_str(), f)
    }
}

/// A call's argument values and what it wrote back, filled in by the
/// boundary and the method body.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct CallValues {
    /// What the host passed.
    pub args: Args,
    /// What the call wrote through the host's pointers.
    pub out: Out,
}

/// One IASIO call, as recorded by the boundary.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TraceRecord {
    /// The IASIO method's name, as the ASIO documentation spells it.
    pub method: &'static str,
    /// Its arguments and out-values.
    pub values: CallValues,
    /// The raw return value: an `ASIOError`, `init`'s `ASIOBool`,
    /// `getDriverVersion`'s version; 0 for the methods returning nothing.
    pub result: i32,
    /// The call panicked inside Tenuto and returned its fallback.
    pub panicked: bool,
    /// The call came from inside the driver's real-time section (a host
    /// calling back from `bufferSwitch`, on the driver thread).
    pub driver_thread: bool,
    /// When the call began, on the driver's clock (ASIO time stamps' clock), ns.
    pub start_ns: u64,
    /// How long it took, ns.
    pub duration_ns: u64,
}

/// The bounded queue of records between the calling threads and the log
/// thread.
pub struct Trace {
    queue: ArrayQueue<TraceRecord>,
    dropped: AtomicU64,
}

impl fmt::Debug for Trace {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Trace")
            .field("queued", &self.queue.len())
            .field("capacity", &self.queue.capacity())
            .field("dropped", &self.dropped())
            .finish()
    }
}

impl Trace {
    /// A trace holding up to `capacity` records not yet taken (at least 1).
    /// The only allocation the trace ever makes.
    pub fn new(capacity: usize) -> Self {
        Self {
            queue: ArrayQueue::new(capacity.max(1)),
            dropped: AtomicU64::new(0),
        }
    }

    /// Queues `record`, or counts it as dropped when the queue is full.
    /// Real-time safe: lock-free, no allocation.
    pub fn record(&self, record: TraceRecord) {
        if self.queue.push(record).is_err() {
            self.dropped.fetch_add(1, Relaxed);
        }
    }

    /// The oldest record not yet taken.
    pub fn pop(&self) -> Option<TraceRecord> {
        self.queue.pop()
    }

    /// Records dropped so far because the queue was full.
    pub fn dropped(&self) -> u64 {
        self.dropped.load(Relaxed)
    }

    /// Records the queue holds at most.
    pub fn capacity(&self) -> usize {
        self.queue.capacity()
    }
}

/// A duration in the unit that reads best.
struct Duration(u64);

impl fmt::Display for Duration {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let ns = self.0;
        if ns < 1_000 {
            write!(f, "{ns} ns")
        } else if ns < 1_000_000 {
            write!(f, "{:.1} µs", ns as f64 / 1e3)
        } else {
            write!(f, "{:.3} ms", ns as f64 / 1e6)
        }
    }
}

fn asio_bool(v: bool) -> &'static str {
    if v {
        "ASIOTrue"
    } else {
        "ASIOFalse"
    }
}

impl fmt::Display for Args {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Args::None => Ok(()),
            Args::Rate(hz) => write!(f, "{hz} Hz"),
            Args::Channel { channel, is_input } => {
                write!(f, "channel {channel}, isInput {}", asio_bool(is_input))
            }
            Args::CreateBuffers {
                channels,
                inputs,
                buffer_frames,
            } => {
                write!(f, "{channels} channels")?;
                if let Some(inputs) = inputs {
                    write!(f, " ({inputs} in, {} out)", channels - inputs)?;
                }
                write!(f, ", {buffer_frames} frames")
            }
            Args::ClockSource(r) => write!(f, "reference {r}"),
            Args::Capacity(n) => write!(f, "numSources {n}"),
            Args::Selector(s) => match future::name(s) {
                Some(name) => write!(f, "kAsio{name}"),
                None => write!(f, "selector {s:#x}"),
            },
        }
    }
}

impl fmt::Display for Out {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Out::None => Ok(()),
            Out::Channels { inputs, outputs } => {
                write!(f, "inputs {inputs}, outputs {outputs}")
            }
            Out::Latencies { input, output } => {
                write!(f, "input {input}, output {output} frames")
            }
            Out::BufferSize {
                min,
                max,
                preferred,
                granularity,
            } => write!(
                f,
                "min {min}, max {max}, preferred {preferred}, granularity {granularity}"
            ),
            Out::Rate(hz) => write!(f, "{hz} Hz"),
            Out::Position { samples, time_ns } => {
                write!(f, "position {samples}, time {:.3} ms", time_ns as f64 / 1e6)
            }
            Out::ChannelInfo {
                active,
                group,
                sample_type,
            } => {
                let name = asio_abi::SampleType::from_raw(sample_type)
                    .map_or("unknown type", asio_abi::SampleType::name);
                write!(
                    f,
                    "isActive {}, group {group}, type {sample_type} ({name})",
                    asio_bool(active)
                )
            }
            Out::Sources(n) => write!(f, "{n} written"),
            Out::InternalBuffer { input, output } => {
                write!(f, "input {input}, output {output} samples")
            }
            Out::Text(t) => write!(
                f,
                "\"{}{}\"",
                t.as_str().escape_debug(),
                if t.cut { "…" } else { "" }
            ),
        }
    }
}

impl TraceRecord {
    fn write_result(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.method {
            "init" => f.write_str(asio_bool(self.result != ASIO_FALSE)),
            "getDriverVersion" => write!(f, "{}", self.result),
            "getDriverName" | "getErrorMessage" => f.write_str("done"),
            _ => match error_name(self.result) {
                Some(name) => f.write_str(name),
                None => write!(f, "error {}", self.result),
            },
        }
    }
}

/// One line: `getLatencies() -> ASE_OK (input 704, output 1216 frames) in
/// 2.1 µs at 5123.456 ms on the driver thread`.
impl fmt::Display for TraceRecord {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}({}) -> ", self.method, self.values.args)?;
        if self.panicked {
            f.write_str("panicked inside Tenuto, returned ")?;
        }
        self.write_result(f)?;
        if self.values.out != Out::None {
            write!(f, " ({})", self.values.out)?;
        }
        write!(
            f,
            " in {} at {:.3} ms",
            Duration(self.duration_ns),
            self.start_ns as f64 / 1e6
        )?;
        if self.driver_thread {
            f.write_str(" on the driver thread")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use asio_abi::{ASE_INVALID_MODE, ASE_OK, ASE_SUCCESS};

    fn record(method: &'static str, values: CallValues, result: i32) -> TraceRecord {
        TraceRecord {
            method,
            values,
            result,
            panicked: false,
            driver_thread: false,
            start_ns: 5_123_456_789,
            duration_ns: 2_150,
        }
    }

    #[test]
    fn records_read_as_calls_with_results_and_durations() {
        let lat = record(
            "getLatencies",
            CallValues {
                args: Args::None,
                out: Out::Latencies {
                    input: 704,
                    output: 1216,
                },
            },
            ASE_OK,
        );
        assert_eq!(
            lat.to_string(),
            "getLatencies() -> ASE_OK (input 704, output 1216 frames) in 2.1 µs at 5123.457 ms"
        );
        let create = TraceRecord {
            duration_ns: 1_234_567,
            ..record(
                "createBuffers",
                CallValues {
                    args: Args::CreateBuffers {
                        channels: 4,
                        inputs: Some(2),
                        buffer_frames: 256,
                    },
                    out: Out::None,
                },
                ASE_OK,
            )
        };
        assert!(create.to_string().starts_with(
            "createBuffers(4 channels (2 in, 2 out), 256 frames) -> ASE_OK in 1.235 ms"
        ));
        let pos = TraceRecord {
            driver_thread: true,
            duration_ns: 300,
            ..record(
                "getSamplePosition",
                CallValues {
                    args: Args::None,
                    out: Out::Position {
                        samples: 1024,
                        time_ns: 7_000_500_000,
                    },
                },
                ASE_OK,
            )
        };
        assert_eq!(
            pos.to_string(),
            "getSamplePosition() -> ASE_OK (position 1024, time 7000.500 ms) in 300 ns \
             at 5123.457 ms on the driver thread"
        );
        let refused = record("start", CallValues::default(), ASE_INVALID_MODE);
        assert!(refused
            .to_string()
            .starts_with("start() -> ASE_InvalidMode in"));
        let init = record("init", CallValues::default(), 1);
        assert!(init.to_string().starts_with("init() -> ASIOTrue in"));
        let fut = record(
            "future",
            CallValues {
                args: Args::Selector(future::CAN_REPORT_OVERLOAD),
                out: Out::None,
            },
            ASE_SUCCESS,
        );
        assert!(
            fut.to_string()
                .starts_with("future(kAsioCanReportOverload) -> ASE_SUCCESS in"),
            "{fut}"
        );
    }

    #[test]
    fn long_text_is_cut_on_a_character_boundary() {
        let long = "é".repeat(40); // 80 bytes
        let t = Text::new(&long);
        assert_eq!(t.as_str(), "é".repeat(32));
        assert!(t.cut);
        assert_eq!(Out::Text(t).to_string(), format!("\"{}…\"", "é".repeat(32)));
        let short = Text::new("Tenuto");
        assert_eq!((short.as_str(), short.cut), ("Tenuto", false));
    }

    #[test]
    fn a_full_queue_drops_and_counts_instead_of_waiting() {
        let trace = Trace::new(2);
        let r = record("outputReady", CallValues::default(), ASE_OK);
        for _ in 0..5 {
            trace.record(r);
        }
        assert_eq!(trace.dropped(), 3);
        assert_eq!(trace.pop(), Some(r));
        assert_eq!(trace.pop(), Some(r));
        assert_eq!(trace.pop(), None);
    }

    #[test]
    fn a_record_stays_small() {
        // Copied into the queue on the driver thread: keep it a few cache lines.
        assert!(std::mem::size_of::<TraceRecord>() <= 160);
    }
}
