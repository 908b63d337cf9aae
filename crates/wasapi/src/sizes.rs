//! The buffer sizes a WASAPI device offers to hosts (`getBufferSize`), per mode, and why the
//! preferred size is not the one the user asked for (`driver.buffer_size`) when it is not.
//!
//! The rule, with `S` the setting and the limits 16 … 8192 frames ([`SizeLimits`]):
//!
//! | mode | min | max | preferred | granularity |
//! |---|---|---|---|---|
//! | shared, low-latency | 16 | 8192 | `S` | 1 |
//! | exclusive | max(16, the device's minimum period) | 8192 | max(`S`, min) | 1 |
//!
//! * **Shared and low-latency** modes put preallocated rings between the ASIO buffer and the
//!   engine period ([`crate::plan`]), so any size runs; the setting (a power of two within
//!   the limits) is offered as it is and never clamped.
//! * **Exclusive** mode runs one ASIO buffer per device period, and a device refuses periods
//!   below its minimum (`GetDevicePeriod`; the larger of the two sides' when both run), so the
//!   minimum offered is that period in whole frames at the stream's rate, rounded up, and a
//!   smaller setting is raised to it. Every size from there up is offered: when a device
//!   wants an aligned period (`AUDCLNT_E_BUFFER_SIZE_NOT_ALIGNED`) the stream takes the size
//!   the device names and the rings bridge the two.
//!
//! [`offer`] is pure: the device answers `getBufferSize` with it, and `tenuto config check`
//! and the settings window word a clamp with the same [`Clamp`].

use std::fmt;

use tenuto_engine::device::{BufferSizes, Granularity};

/// The smallest and largest ASIO buffer any mode offers, frames.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SizeLimits {
    /// Smallest, frames.
    pub min_frames: u32,
    /// Largest, frames.
    pub max_frames: u32,
}

impl Default for SizeLimits {
    fn default() -> Self {
        Self {
            min_frames: 16,
            max_frames: 8192,
        }
    }
}

/// What the sizes depend on: the mode a stream runs in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SizeMode {
    /// Shared mode: rings bridge the ASIO buffer and the engine period.
    Shared,
    /// Low-latency shared mode (IAudioClient3): rings, as in shared mode.
    LowLatency,
    /// Exclusive mode: one ASIO buffer per device period.
    Exclusive {
        /// The device's minimum period (`GetDevicePeriod`), 100-ns units; with two sides the
        /// larger of the two.
        minimum_period_hns: i64,
    },
}

impl SizeMode {
    /// The mode's name as settings and messages spell it.
    pub fn as_str(self) -> &'static str {
        match self {
            SizeMode::Shared => "shared",
            SizeMode::LowLatency => "low-latency",
            SizeMode::Exclusive { .. } => "exclusive",
        }
    }
}

/// Why the preferred size offered is not the one asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClampReason {
    /// Exclusive mode: below the device's minimum period.
    DeviceMinimum {
        /// The minimum period, 100-ns units.
        minimum_period_hns: i64,
        /// The rate it was converted to frames at, Hz.
        rate: u32,
    },
    /// Below [`SizeLimits::min_frames`].
    BelowLimit,
    /// Above [`SizeLimits::max_frames`].
    AboveLimit,
}

/// The preferred size was moved into the range the device runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Clamp {
    /// What was asked for (`driver.buffer_size`), frames.
    pub requested_frames: u32,
    /// What hosts are offered as preferred, frames.
    pub offered_frames: u32,
    /// Why.
    pub reason: ClampReason,
}

impl fmt::Display for Clamp {
    /// "buffer size 16 is below the device's minimum of 96 frames (2 ms at 48000 Hz) in
    /// exclusive mode, where one ASIO buffer is one device period; DAWs are offered 96"
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (requested, offered) = (self.requested_frames, self.offered_frames);
        match self.reason {
            ClampReason::DeviceMinimum {
                minimum_period_hns,
                rate,
            } => write!(
                f,
                "buffer size {requested} is below the device's minimum of {offered} frames \
                 ({} at {rate} Hz) in exclusive mode, where one ASIO buffer is one device \
                 period; DAWs are offered {offered}",
                crate::endpoint::format_hns(minimum_period_hns)
            ),
            ClampReason::BelowLimit => write!(
                f,
                "buffer size {requested} is below the smallest size offered, {offered} frames; \
                 DAWs are offered {offered}"
            ),
            ClampReason::AboveLimit => write!(
                f,
                "buffer size {requested} is above the largest size offered, {offered} frames; \
                 DAWs are offered {offered}"
            ),
        }
    }
}

/// The sizes offered, and the clamp of the preferred one if there was one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Offer {
    /// What `getBufferSize` reports.
    pub sizes: BufferSizes,
    /// Set when the preferred size is not `requested_frames`.
    pub clamp: Option<Clamp>,
}

/// `minimum_period_hns` as whole frames at `rate`, rounded up: a period of that many frames
/// is never shorter than the device's minimum.
pub fn minimum_period_frames(minimum_period_hns: i64, rate: u32) -> u32 {
    let frames =
        (i128::from(minimum_period_hns.max(0)) * i128::from(rate) + 9_999_999) / 10_000_000;
    u32::try_from(frames).unwrap_or(u32::MAX)
}

/// The buffer sizes offered in `mode` at `rate` when the user asks for `requested_frames` as
/// preferred (see the module's table).
pub fn offer(requested_frames: u32, mode: SizeMode, rate: u32, limits: SizeLimits) -> Offer {
    let floor = limits.min_frames.max(1);
    let (min, device_minimum) = match mode {
        SizeMode::Shared | SizeMode::LowLatency => (floor, None),
        SizeMode::Exclusive { minimum_period_hns } => {
            let frames = minimum_period_frames(minimum_period_hns, rate);
            if frames > floor {
                (frames, Some(minimum_period_hns))
            } else {
                (floor, None)
            }
        }
    };
    // A device whose minimum period is above the limit still runs at that period.
    let max = limits.max_frames.max(min);
    let preferred = requested_frames.clamp(min, max);
    let clamp = (preferred != requested_frames).then_some(Clamp {
        requested_frames,
        offered_frames: preferred,
        reason: match device_minimum {
            Some(minimum_period_hns) if requested_frames < min => ClampReason::DeviceMinimum {
                minimum_period_hns,
                rate,
            },
            _ if requested_frames < min => ClampReason::BelowLimit,
            _ => ClampReason::AboveLimit,
        },
    });
    Offer {
        sizes: BufferSizes {
            min_frames: min,
            max_frames: max,
            preferred_frames: preferred,
            granularity: Granularity::Step(1),
        },
        clamp,
    }
}

/// The rule of `mode` in words, for `tenuto config check` when no device is known: which
/// sizes hosts may pick, and when the preferred size is raised ("in shared mode hosts may pick
/// any size from 16 to 8192 frames …").
pub fn describe_rule(mode: SizeMode, limits: SizeLimits) -> String {
    let SizeLimits {
        min_frames,
        max_frames,
    } = limits;
    match mode {
        SizeMode::Shared | SizeMode::LowLatency => format!(
            "in {} mode hosts may pick any size from {min_frames} to {max_frames} frames (rings \
             bridge the buffer and the engine period), so the setting is offered as it is",
            mode.as_str()
        ),
        SizeMode::Exclusive { .. } => format!(
            "in exclusive mode one buffer is one device period: hosts may pick any size from \
             the device's minimum period (at least {min_frames} frames) to {max_frames}, and a \
             setting below that minimum is raised to it"
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const LIMITS: SizeLimits = SizeLimits {
        min_frames: 16,
        max_frames: 8192,
    };

    #[test]
    fn shared_and_low_latency_offer_the_setting_as_it_is() {
        for mode in [SizeMode::Shared, SizeMode::LowLatency] {
            for requested in [16, 64, 128, 480, 1024, 8192] {
                let o = offer(requested, mode, 48_000, LIMITS);
                assert_eq!(o.clamp, None, "{mode:?} {requested}");
                assert_eq!(
                    o.sizes,
                    BufferSizes {
                        min_frames: 16,
                        max_frames: 8192,
                        preferred_frames: requested,
                        granularity: Granularity::Step(1),
                    }
                );
                assert!(o.sizes.allows(requested));
            }
        }
    }

    #[test]
    fn shared_mode_clamps_only_outside_the_limits() {
        let below = offer(8, SizeMode::Shared, 48_000, LIMITS);
        assert_eq!(below.sizes.preferred_frames, 16);
        let c = below.clamp.expect("clamped");
        assert_eq!(c.reason, ClampReason::BelowLimit);
        assert_eq!(
            c.to_string(),
            "buffer size 8 is below the smallest size offered, 16 frames; DAWs are offered 16"
        );
        let above = offer(16_384, SizeMode::LowLatency, 48_000, LIMITS);
        assert_eq!(above.sizes.preferred_frames, 8192);
        assert_eq!(above.clamp.map(|c| c.reason), Some(ClampReason::AboveLimit));
    }

    #[test]
    fn exclusive_mode_raises_a_setting_below_the_devices_minimum_period() {
        // 2 ms at 48 kHz: 96 frames.
        let mode = SizeMode::Exclusive {
            minimum_period_hns: 20_000,
        };
        let o = offer(16, mode, 48_000, LIMITS);
        assert_eq!(o.sizes.min_frames, 96);
        assert_eq!(o.sizes.max_frames, 8192);
        assert_eq!(o.sizes.preferred_frames, 96);
        assert_eq!(o.sizes.granularity, Granularity::Step(1));
        assert!(!o.sizes.allows(64));
        let clamp = o.clamp.expect("clamped");
        assert_eq!(
            clamp.to_string(),
            "buffer size 16 is below the device's minimum of 96 frames (2 ms at 48000 Hz) in \
             exclusive mode, where one ASIO buffer is one device period; DAWs are offered 96"
        );
        // At or above the minimum: the setting.
        for requested in [128, 256, 8192] {
            let o = offer(requested, mode, 48_000, LIMITS);
            assert_eq!(o.sizes.preferred_frames, requested);
            assert_eq!(o.clamp, None);
        }
    }

    #[test]
    fn exclusive_minimum_is_rounded_up_to_whole_frames_at_the_rate() {
        // 3 ms at 44.1 kHz is 132.3 frames: 132 would be a period below the minimum.
        assert_eq!(minimum_period_frames(30_000, 44_100), 133);
        assert_eq!(minimum_period_frames(30_000, 48_000), 144);
        assert_eq!(minimum_period_frames(0, 48_000), 0);
        let o = offer(
            128,
            SizeMode::Exclusive {
                minimum_period_hns: 30_000,
            },
            44_100,
            LIMITS,
        );
        assert_eq!(o.sizes.preferred_frames, 133);
        // The same device at 192 kHz: 576 frames.
        let o = offer(
            512,
            SizeMode::Exclusive {
                minimum_period_hns: 30_000,
            },
            192_000,
            LIMITS,
        );
        assert_eq!(o.sizes.min_frames, 576);
        assert_eq!(o.sizes.preferred_frames, 576);
    }

    #[test]
    fn exclusive_with_a_small_minimum_keeps_the_limits_and_the_setting() {
        // 1 ms at 48 kHz = 48 frames; a 16-frame setting is below it, 64 is not.
        let mode = SizeMode::Exclusive {
            minimum_period_hns: 10_000,
        };
        assert_eq!(offer(64, mode, 48_000, LIMITS).clamp, None);
        // 0.1 ms = 5 frames: below the 16-frame limit, which is then the minimum.
        let tiny = SizeMode::Exclusive {
            minimum_period_hns: 1_000,
        };
        let o = offer(16, tiny, 48_000, LIMITS);
        assert_eq!(o.sizes.min_frames, 16);
        assert_eq!(o.clamp, None);
    }

    #[test]
    fn a_minimum_period_above_the_limit_is_the_only_size() {
        // 200 ms at 48 kHz: 9600 frames, above the 8192 limit.
        let o = offer(
            128,
            SizeMode::Exclusive {
                minimum_period_hns: 2_000_000,
            },
            48_000,
            LIMITS,
        );
        assert_eq!((o.sizes.min_frames, o.sizes.max_frames), (9600, 9600));
        assert_eq!(o.sizes.preferred_frames, 9600);
        assert_eq!(o.sizes.asio_granularity(), 0);
        assert!(matches!(
            o.clamp.map(|c| c.reason),
            Some(ClampReason::DeviceMinimum { .. })
        ));
    }

    #[test]
    fn rules_are_described_per_mode() {
        let shared = describe_rule(SizeMode::Shared, LIMITS);
        assert!(shared.contains("any size from 16 to 8192"), "{shared}");
        let exclusive = describe_rule(
            SizeMode::Exclusive {
                minimum_period_hns: 0,
            },
            LIMITS,
        );
        assert!(exclusive.contains("raised to it"), "{exclusive}");
    }
}
