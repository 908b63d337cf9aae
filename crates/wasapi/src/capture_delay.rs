//! How long captured audio waits below WASAPI before the stream can read it.
//!
//! The ring plan ([`crate::plan`]) assumes that a capture packet is readable the moment its
//! last frame is recorded. An audio stack may hold it longer: Windows' engine hands packets
//! over after its processing, and Wine's winepulse makes packets only on its own 10 ms
//! timer, so the frames recorded since the last whole packet wait in PulseAudio — how many
//! depends on where in that timer's period the stream started, a different amount each
//! start, constant for the stream's life. Every frame of the stream reaches the driver that
//! much later, so the round trip is that much longer than the plan: the driver measures it
//! once, when the first packet arrives, and reports it as part of the input latency.
//!
//! Two ways to know it, chosen by what the stack's time stamp says:
//!
//! * **The packet's time stamp** (`GetBuffer`'s QPC position: when the packet's first frame
//!   was recorded). Windows gives it; the wait is the first frame's age less the packet's
//!   length. A stamp that makes the first frame younger than half a packet cannot be a
//!   recording instant (winepulse stamps the moment it made the packet) and is not used.
//! * **The start phase.** A stack that records from the moment the stream starts records
//!   the first packet's last frame one period after the start; the packet is readable
//!   later by exactly the wait. When it became readable is the packet's time stamp where
//!   that stamp is the moment the stack made the packet (winepulse's), so the driver
//!   thread's own lateness in noticing it does not count; else the moment it was found. A
//!   stack whose first tick ran late hands over several packets at once; the newest one's
//!   last frame was then recorded as many periods after the start, and the wait counts from
//!   there. That holds only while the packets are found within a period of that: later,
//!   the device was waking up, and when its first frame was recorded is not known — the
//!   wait is then left unknown (not guessed), and the log says so.
//!
//! Portable and allocation-free; the Windows stream only feeds it what it saw.

/// What the stream saw when its first capture packet became readable.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FirstPacket {
    /// From the capture client's `Start` to the moment the packet was found readable, ns.
    pub after_start_ns: u64,
    /// The capture period (one packet's length), ns.
    pub period_ns: u64,
    /// The newest packet read at that moment: its length, ns.
    pub newest_len_ns: u64,
    /// Every packet read at that moment (dropped: recorded before the stream runs), ns of
    /// audio. A stack whose timer ran late at its first tick hands over several at once.
    pub drained_ns: u64,
    /// The age of the newest packet's first frame by WASAPI's time stamp, ns.
    pub newest_first_frame_age_ns: Option<u64>,
    /// How late the stream may have noticed the packet (the polling interval; 0 with
    /// events), ns. Without a time stamp, half of it is taken off the start-phase figure.
    pub notice_ns: u64,
}

/// How long captured frames waited below WASAPI, as [`measure`] found it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CaptureDelay {
    /// From the packets' recording time stamps, ns.
    Stamped(u64),
    /// From when the first packet came after the start, ns.
    StartPhase(u64),
    /// The first packet came too late to tell (a device waking up).
    Unknown,
}

impl CaptureDelay {
    /// The wait, ns, when known.
    pub fn ns(self) -> Option<u64> {
        match self {
            Self::Stamped(ns) | Self::StartPhase(ns) => Some(ns),
            Self::Unknown => None,
        }
    }
}

/// Measures the wait from the first packet (see the module documentation).
pub fn measure(first: &FirstPacket) -> CaptureDelay {
    // When the packet became readable, ns after the start: a stamp too young to be a
    // recording instant is the moment the stack made the packet (winepulse), which takes the
    // stream's own lateness in noticing it out of the figure; without a stamp, half the
    // polling interval is the best guess of that lateness.
    let readable_ns = match first.newest_first_frame_age_ns {
        Some(age) if first.newest_len_ns > 0 => {
            if age.saturating_mul(2) >= first.newest_len_ns {
                return CaptureDelay::Stamped(age - first.newest_len_ns.min(age));
            }
            first.after_start_ns.saturating_sub(age)
        }
        _ => first.after_start_ns.saturating_sub(first.notice_ns / 2),
    };
    // Recorded from the start on, the newest packet's last frame was recorded `drained` after
    // it. Found within a period after that: the device recorded all along (a late first tick
    // hands over its packets together); later, it was waking up, and when it began to record
    // is not known.
    let drained = first.drained_ns.max(first.newest_len_ns);
    if first.after_start_ns < drained.saturating_add(first.period_ns) {
        return CaptureDelay::StartPhase(readable_ns.saturating_sub(drained));
    }
    CaptureDelay::Unknown
}

/// How long ago the newest packet became readable when the stream saw it, ns. A duplex
/// stream starts render at that moment; the plan assumes it starts as the packet becomes
/// readable, so this is how far the output runs behind the plan.
///
/// * A stamp of the moment the stack made the packet readable (winepulse): its age.
/// * No stamp: half the interval the stream may have taken to notice it (0 with events);
///   [`measure`]'s start-phase figure then holds the rest of the lateness, and the sum of
///   the two is the round trip's.
/// * A recording-instant stamp (Windows): 0. [`measure`] takes everything since the
///   packet's last frame was recorded as capture delay — the stack's hold and the stream's
///   lateness together, which one stamp cannot tell apart — so the round trip is exact and
///   only the split between input and output is approximate.
pub fn readable_age_ns(first: &FirstPacket) -> u64 {
    match first.newest_first_frame_age_ns {
        Some(age) if first.newest_len_ns > 0 => {
            if age.saturating_mul(2) >= first.newest_len_ns {
                0
            } else {
                age
            }
        }
        _ => first.notice_ns / 2,
    }
}

/// `ns` as frames at `rate`, rounded to the nearest frame.
pub fn ns_to_frames(ns: u64, rate: f64) -> u32 {
    let frames = (ns as f64 * rate / 1e9).round();
    if frames >= f64::from(u32::MAX) {
        u32::MAX
    } else {
        frames as u32
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MS: u64 = 1_000_000;

    fn first(after_start_ms: f64, age_ms: Option<f64>, notice_ms: f64) -> FirstPacket {
        FirstPacket {
            after_start_ns: (after_start_ms * 1e6) as u64,
            period_ns: 10 * MS,
            newest_len_ns: 10 * MS,
            drained_ns: 10 * MS,
            newest_first_frame_age_ns: age_ms.map(|a| (a * 1e6) as u64),
            notice_ns: (notice_ms * 1e6) as u64,
        }
    }

    #[test]
    fn a_recording_time_stamp_gives_the_wait_directly() {
        // Windows: first frame recorded 13 ms ago, packet of 10 ms → 3 ms below WASAPI.
        assert_eq!(
            measure(&first(25.0, Some(13.0), 0.0)),
            CaptureDelay::Stamped(3 * MS)
        );
        // A packet read the instant it completed waited nothing.
        assert_eq!(
            measure(&first(10.0, Some(10.0), 0.0)),
            CaptureDelay::Stamped(0)
        );
    }

    #[test]
    fn a_stamp_younger_than_half_a_packet_is_not_a_recording_time() {
        // winepulse: stamped when made readable, 0.2 ms before it was found → the start
        // phase decides, from the stamp.
        assert_eq!(
            measure(&first(11.5, Some(0.2), 0.0)),
            CaptureDelay::StartPhase(1_300_000)
        );
        // Polling: the stamp already says how late the poll was.
        assert_eq!(
            measure(&first(12.5, Some(0.9), 1.0)),
            CaptureDelay::StartPhase(1_600_000)
        );
        assert_eq!(
            measure(&first(19.0, None, 0.0)),
            CaptureDelay::StartPhase(9 * MS)
        );
    }

    #[test]
    fn polling_takes_half_its_interval_off_the_start_phase() {
        assert_eq!(
            measure(&first(12.0, None, 1.0)),
            CaptureDelay::StartPhase(1_500_000)
        );
        // Never below zero.
        assert_eq!(
            measure(&first(10.1, None, 1.0)),
            CaptureDelay::StartPhase(0)
        );
    }

    #[test]
    fn a_device_that_woke_up_late_is_not_guessed() {
        assert_eq!(measure(&first(20.0, None, 0.0)), CaptureDelay::Unknown);
        assert_eq!(
            measure(&first(874.0, Some(0.1), 0.0)),
            CaptureDelay::Unknown
        );
        // A trustworthy stamp still measures a late first packet.
        assert_eq!(
            measure(&first(874.0, Some(12.0), 0.0)),
            CaptureDelay::Stamped(2 * MS)
        );
    }

    #[test]
    fn packets_handed_over_together_after_a_late_first_tick_are_measured_from_the_last() {
        // winepulse's first tick 16 ms late: two 10-ms packets made together at 26.4 ms,
        // found at once. The frames waited 6.4 ms after the second packet's last one.
        let late = FirstPacket {
            drained_ns: 20 * MS,
            ..first(26.4, Some(0.0), 0.0)
        };
        assert_eq!(measure(&late), CaptureDelay::StartPhase(6_400_000));
        // One packet only, that late: a device waking up, not guessed.
        assert_eq!(measure(&first(26.4, Some(0.0), 0.0)), CaptureDelay::Unknown);
        // Two packets found more than a period after the second's end: not guessed either.
        let woke = FirstPacket {
            drained_ns: 20 * MS,
            ..first(874.0, Some(0.1), 0.0)
        };
        assert_eq!(measure(&woke), CaptureDelay::Unknown);
    }

    #[test]
    fn frames_round_to_the_nearest() {
        assert_eq!(ns_to_frames(1_500_000, 48_000.0), 72);
        assert_eq!(ns_to_frames(10_400, 48_000.0), 0);
        assert_eq!(ns_to_frames(10_500, 48_000.0), 1);
    }
}
