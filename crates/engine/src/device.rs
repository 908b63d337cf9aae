//! The seam between the engine and an audio backend.
//!
//! A backend implements [`Device`] (what the hardware offers, queried from
//! the host's thread) and hands out a [`DeviceStream`] (one configured
//! stream, moved onto the driver thread). The virtual device
//! ([`crate::virtual_device`]) implements it everywhere; the WASAPI backend
//! implements it on Windows.
//!
//! Real-time contract: [`DeviceStream::wait`], [`DeviceStream::read`] and
//! [`DeviceStream::write`] run on the driver thread while streaming and must
//! not allocate, lock, log or panic. Their error type, [`StreamError`], is
//! `Copy` for that reason. Everything else runs on the host's threads.

use std::fmt;

pub use tenuto_convert::DeviceFormat;

/// What a stream knows about the limits of the start figures it measured
/// ([`DeviceStream::measured_input_delay`], [`DeviceStream::measured_output_delay`]), for
/// the log: a figure the driver could not pin down is said, with by how much.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct StartSpread {
    /// The output may run up to this many frames further behind than measured: the call
    /// that started the render side took this long, and the device's render clock began
    /// somewhere inside it (the measured figure counts from the call's beginning).
    pub output_frames: u32,
    /// The input may wait up to this many frames less than measured: the call that started
    /// the capture side took this long, and recording began somewhere inside it (the
    /// measured figure counts from the call's beginning).
    pub input_frames: u32,
    /// How long captured audio waits below the device API could not be measured (the first
    /// packets came more than a period after they were recorded: a device waking up, or an
    /// audio stack that ran late), so the reported input latency leaves it out.
    pub input_unknown: bool,
}

/// Which buffer sizes a device accepts, in ASIO's terms.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Granularity {
    /// Only powers of two between min and max (ASIO granularity −1).
    PowersOfTwo,
    /// Multiples of this many frames above the minimum.
    Step(u32),
}

/// The buffer sizes a device offers at a given rate, in frames.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BufferSizes {
    /// Smallest size, in frames.
    pub min_frames: u32,
    /// Largest size, in frames.
    pub max_frames: u32,
    /// The size the device works best with.
    pub preferred_frames: u32,
    /// Which sizes between min and max are allowed.
    pub granularity: Granularity,
}

impl BufferSizes {
    /// Whether `frames` is one of the offered sizes.
    pub fn allows(&self, frames: u32) -> bool {
        if frames < self.min_frames || frames > self.max_frames {
            return false;
        }
        if self.min_frames == self.max_frames {
            return true;
        }
        match self.granularity {
            Granularity::PowersOfTwo => frames.is_power_of_two(),
            Granularity::Step(step) => step != 0 && (frames - self.min_frames) % step == 0,
        }
    }

    /// The granularity value `getBufferSize` reports: −1 for powers of two,
    /// 0 when only one size exists, else the step.
    pub fn asio_granularity(&self) -> i32 {
        if self.min_frames == self.max_frames {
            return 0;
        }
        match self.granularity {
            Granularity::PowersOfTwo => -1,
            Granularity::Step(step) => i32::try_from(step).unwrap_or(i32::MAX),
        }
    }

    /// Every allowed size, smallest first (at most 64 listed).
    pub fn sizes(&self) -> Vec<u32> {
        let mut out = Vec::new();
        let mut f = self.min_frames;
        while f <= self.max_frames && out.len() < 64 {
            if self.allows(f) {
                out.push(f);
            }
            f = match (self.granularity, self.min_frames == self.max_frames) {
                (_, true) => break,
                (Granularity::PowersOfTwo, _) => {
                    if f.is_power_of_two() {
                        f.saturating_mul(2)
                    } else {
                        f.next_power_of_two()
                    }
                }
                (Granularity::Step(s), _) => f.saturating_add(s.max(1)),
            };
        }
        out
    }
}

impl fmt::Display for BufferSizes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.min_frames == self.max_frames {
            return write!(f, "exactly {} frames", self.min_frames);
        }
        match self.granularity {
            Granularity::PowersOfTwo => write!(
                f,
                "powers of two from {} to {} frames",
                self.min_frames, self.max_frames
            ),
            Granularity::Step(s) => write!(
                f,
                "{} to {} frames in steps of {}",
                self.min_frames, self.max_frames, s
            ),
        }
    }
}

/// Static description of a device.
#[derive(Debug, Clone, PartialEq)]
pub struct DeviceInfo {
    /// Name shown to the user (and in channel names).
    pub name: String,
    /// One name per input channel, e.g. "Front Left".
    pub input_channels: Vec<String>,
    /// One name per output channel.
    pub output_channels: Vec<String>,
    /// Sample format of the device's interleaved frames.
    pub format: DeviceFormat,
    /// Name of the device's clock, reported by `getClockSources`.
    pub clock_name: String,
}

/// How a stream is to be opened.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct StreamConfig {
    /// Frames per second.
    pub sample_rate: f64,
    /// Frames per period (the ASIO buffer size).
    pub period_frames: u32,
}

/// Device-side buffering, in frames, not counting the ASIO buffer itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct DeviceLatency {
    /// Age of the first frame of a captured period when the period is
    /// delivered, beyond the period's own length.
    pub input_frames: u32,
    /// Time from writing a period to hearing its first frame.
    pub output_frames: u32,
}

/// Timing of one period, as the device saw it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct PeriodTiming {
    /// Period number since the stream started (0, 1, 2 …).
    pub index: u64,
    /// When the period's input was complete (the ideal wake-up), in
    /// [`crate::time::now_ns`] nanoseconds.
    pub due_ns: u64,
    /// Latest time the period's output may be written without a gap.
    pub deadline_ns: u64,
}

/// Errors on the streaming path. `Copy` and allocation-free by design.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum StreamError {
    /// The device disappeared (unplugged, disabled, taken by another app).
    #[error("the audio device was disconnected or taken by another application")]
    Disconnected,
    /// The device stopped delivering periods.
    #[error("the audio device stopped delivering audio (no period for {0} ms)")]
    Stalled(u32),
    /// The device delivered no period within the start-up grace (ms since start): it
    /// never woke up.
    #[error("the audio device delivered no audio within {0} ms of start")]
    NoFirstPeriod(u32),
    /// The device never signalled that it was ready (its event-driven mode does not work).
    #[error(
        "the audio device never signalled that it was ready ({0} ms after start); if this \
         repeats, set wasapi.wake_up = \"polling\""
    )]
    NoWakeUp(u32),
    /// A bug inside Tenuto or a backend stopped the audio thread.
    #[error("Tenuto's audio thread failed (internal error; please report it)")]
    Internal,
    /// A backend-specific failure with its OS error code.
    #[error("the audio device reported error 0x{0:08x}")]
    Os(u32),
}

impl StreamError {
    /// What the user can do about it, for the log (the message itself stays short enough
    /// for ASIO's 124-byte error text).
    pub fn advice(&self) -> &'static str {
        match self {
            Self::Disconnected => {
                "reconnect the device or choose another one in Tenuto's settings; the DAW \
                 restarts the driver when it handles the reset request"
            }
            Self::Stalled(_) => {
                "the audio system below the driver stopped delivering (its service restarted, \
                 the device was suspended or the machine stalled); restart streaming, and if it \
                 repeats check the device and DPC latency"
            }
            Self::NoFirstPeriod(_) => {
                "check that the device is connected, switched on and not held by another \
                 application, then start again"
            }
            Self::NoWakeUp(_) => "set wasapi.wake_up = \"polling\" in tenuto.toml",
            Self::Internal => "please report it with tenuto.log attached",
            Self::Os(_) => "restart streaming; if it repeats, choose another device or mode",
        }
    }
}

/// Errors while querying or opening a device (not real-time; may allocate).
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum DeviceError {
    /// The device does not run at this rate.
    #[error("device \"{device}\" does not support {rate} Hz; it supports {supported}")]
    UnsupportedRate {
        /// Device name.
        device: String,
        /// Requested rate.
        rate: f64,
        /// Human-readable list of supported rates.
        supported: String,
    },
    /// The device does not accept this period.
    #[error(
        "device \"{device}\" does not accept a buffer of {frames} frames; it accepts {allowed}"
    )]
    UnsupportedPeriod {
        /// Device name.
        device: String,
        /// Requested frames.
        frames: u32,
        /// What it accepts.
        allowed: String,
    },
    /// Could not open or start the device.
    #[error("could not open device \"{device}\": {reason}")]
    Open {
        /// Device name.
        device: String,
        /// What went wrong, in words.
        reason: String,
    },
    /// A failure on the streaming path, surfaced later.
    #[error(transparent)]
    Stream(#[from] StreamError),
}

/// An audio device the engine can stream through.
pub trait Device: Send {
    /// Looks at the hardware again: called by `init()` before anything else, so that a
    /// host's re-initialisation after a reset request finds the new situation (another
    /// default device, a changed format, a device that came back). A device that cannot
    /// stream returns why, and `init()` fails with that message. The default does nothing.
    fn refresh(&mut self) -> Result<(), DeviceError> {
        Ok(())
    }
    /// Names, channels and format.
    fn info(&self) -> &DeviceInfo;
    /// Rates the device runs at, in Hz, ascending.
    fn sample_rates(&self) -> &[f64];
    /// The rate used until the host sets one.
    fn default_sample_rate(&self) -> f64;
    /// Buffer sizes offered at `sample_rate`.
    fn buffer_sizes(&self, sample_rate: f64) -> BufferSizes;
    /// Device buffering a stream with `config` will have.
    fn latency(&self, config: &StreamConfig) -> DeviceLatency;
    /// Opens (but does not start) a stream. Called outside the driver thread.
    fn open(&mut self, config: &StreamConfig) -> Result<Box<dyn DeviceStream>, DeviceError>;
    /// The clocks the device can run on, by name (`getClockSources`): one for a single
    /// device; an aggregate lists its members.
    fn clock_sources(&self) -> Vec<String> {
        vec![self.info().clock_name.clone()]
    }
    /// The index in [`Device::clock_sources`] of the clock in use.
    fn clock_source(&self) -> usize {
        0
    }
    /// Runs the next stream opened on clock `index` (`setClockSource`; the engine checks
    /// the index against [`Device::clock_sources`] first). The default has one clock.
    fn set_clock_source(&mut self, index: usize) -> Result<(), DeviceError> {
        if index == 0 {
            Ok(())
        } else {
            Err(DeviceError::Open {
                device: self.info().name.clone(),
                reason: format!("there is no clock source {index}; the only one is 0"),
            })
        }
    }
    /// Something the user must hear of since the last [`Device::refresh`] although the
    /// device works (e.g. a configured endpoint that is not there, and the default used
    /// instead): `getErrorMessage` shows it while there is no error. The default: nothing.
    fn notice(&self) -> Option<&str> {
        None
    }
}

/// The longest [`DeviceStream::wait`] blocks without a period before it
/// returns `Ok(None)`, ms: `stop` is never held up longer than this by a
/// device that is slow to deliver.
pub const WAIT_SLICE_MS: u32 = 20;

/// One opened stream; moved onto the driver thread while running.
pub trait DeviceStream: Send {
    /// Starts the device clock. Called on the driver thread before the loop.
    fn start(&mut self) -> Result<(), StreamError>;
    /// Blocks until the next period is complete. Real-time. Returns
    /// `Ok(None)` when no period is ready yet after a short wait (at most
    /// about one period, or [`WAIT_SLICE_MS`] while a device is waking up),
    /// so that the loop sees a `stop` in time; it then calls `wait` again.
    fn wait(&mut self) -> Result<Option<PeriodTiming>, StreamError>;
    /// Copies the period's captured frames (interleaved, device format) into
    /// `dst`, which holds exactly one period. Real-time.
    fn read(&mut self, dst: &mut [u8]) -> Result<(), StreamError>;
    /// Queues one period of frames for playback. Real-time.
    fn write(&mut self, src: &[u8]) -> Result<(), StreamError>;
    /// Stops the device clock. Called on the driver thread after the loop.
    fn stop(&mut self);
    /// Counters kept by the device (gaps it saw on its side).
    fn device_counters(&self) -> DeviceCounters {
        DeviceCounters::default()
    }
    /// Frames of captured audio that wait below the device API before the stream can read
    /// them, measured once the stream runs (`None`: not measured, or nothing to measure).
    /// They lengthen the round trip beyond [`Device::latency`]'s plan; the engine adds them
    /// to the input latency it reports and tells the host. Real-time safe.
    fn measured_input_delay(&self) -> Option<u32> {
        None
    }
    /// Frames by which the output side runs behind its plan, measured once the stream runs
    /// (`None`: not measured): a duplex stream whose render side started late against the
    /// capture packets queues that much more output. The engine adds them to the output
    /// latency it reports and tells the host. Real-time safe.
    fn measured_output_delay(&self) -> Option<u32> {
        None
    }
    /// How far the start figures above may be off, as the stream itself knows it (see
    /// [`StartSpread`]). Real-time safe.
    fn start_spread(&self) -> StartSpread {
        StartSpread::default()
    }
    /// For a stream over several devices: the one whose failure ended it (its index in
    /// [`Device::clock_sources`]), read after `wait`, `read` or `write` failed; `None` for
    /// one device. The engine names it in the error message and the log. Real-time safe.
    fn failed_member(&self) -> Option<usize> {
        None
    }
}

/// Glitches as the device saw them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct DeviceCounters {
    /// Output periods that arrived after their deadline (heard as a gap).
    pub output_underruns: u64,
    /// Input periods lost because they were read too late.
    pub input_overruns: u64,
    /// Times the stream was put back on the device clock: restarted after a long stall, or
    /// its output queue cut back to the planned level (a jump in the sound).
    pub resyncs: u64,
    /// Single frames dropped or repeated to follow clock drift between two devices.
    pub clock_slips: u64,
    /// Times the stream lost time for good below the driver: frames the device should have
    /// delivered never came, without the device flagging it (the audio system below the API
    /// stalled). The stream carries on at the device's new timeline.
    pub device_stalls: u64,
    /// The time those stalls lost in all, µs.
    pub device_stall_lost_us: u64,
    /// For the latest stall: the longest the driver thread went without looking at the
    /// device meanwhile, µs. Short (a few ms) means the thread was running and the loss is
    /// below the driver; as long as the loss means the thread itself was held back.
    pub device_stall_check_gap_us: u64,
}
