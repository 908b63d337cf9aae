//! 64-bit counters and the time-information structures.

use core::mem::size_of;

macro_rules! hi_lo_counter {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        ///
        /// The value is stored as two 32-bit words, high word first; use
        /// [`from_u64`](Self::from_u64) and [`to_u64`](Self::to_u64) (or the `From`
        /// conversions) rather than the words themselves.
        #[repr(C)]
        #[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
        pub struct $name {
            /// The upper 32 bits of the value.
            pub hi: u32,
            /// The lower 32 bits of the value.
            pub lo: u32,
        }

        impl $name {
            /// Splits a 64-bit value into its high and low words.
            pub const fn from_u64(v: u64) -> Self {
                Self {
                    hi: (v >> 32) as u32,
                    lo: v as u32,
                }
            }

            /// Joins the high and low words back into a 64-bit value.
            pub const fn to_u64(self) -> u64 {
                ((self.hi as u64) << 32) | self.lo as u64
            }

            /// Returns the value zero.
            pub const fn zeroed() -> Self {
                Self { hi: 0, lo: 0 }
            }
        }

        impl From<u64> for $name {
            fn from(v: u64) -> Self {
                Self::from_u64(v)
            }
        }

        impl From<$name> for u64 {
            fn from(v: $name) -> u64 {
                v.to_u64()
            }
        }
    };
}

hi_lo_counter!(
    /// A sample position: the number of sample frames processed since the stream started.
    AsioSamples
);

hi_lo_counter!(
    /// A system time in nanoseconds on the clock of the Windows `timeGetTime()` function.
    AsioTimeStamp
);

/// [`AsioTimeInfo::flags`] bit: `system_time` is valid.
pub const TIME_INFO_SYSTEM_TIME_VALID: u32 = 1;
/// [`AsioTimeInfo::flags`] bit: `sample_position` is valid.
pub const TIME_INFO_SAMPLE_POSITION_VALID: u32 = 1 << 1;
/// [`AsioTimeInfo::flags`] bit: `sample_rate` is valid.
pub const TIME_INFO_SAMPLE_RATE_VALID: u32 = 1 << 2;
/// [`AsioTimeInfo::flags`] bit: `speed` is valid.
pub const TIME_INFO_SPEED_VALID: u32 = 1 << 3;
/// [`AsioTimeInfo::flags`] bit: the sample rate changed since the last report.
pub const TIME_INFO_SAMPLE_RATE_CHANGED: u32 = 1 << 4;
/// [`AsioTimeInfo::flags`] bit: the clock source changed since the last report.
pub const TIME_INFO_CLOCK_SOURCE_CHANGED: u32 = 1 << 5;

/// [`AsioTimeCode::flags`] bit: the time code is valid.
pub const TIME_CODE_VALID: u32 = 1;
/// [`AsioTimeCode::flags`] bit: the time code is running.
pub const TIME_CODE_RUNNING: u32 = 1 << 1;
/// [`AsioTimeCode::flags`] bit: the time code runs backwards.
pub const TIME_CODE_REVERSE: u32 = 1 << 2;
/// [`AsioTimeCode::flags`] bit: the time code runs at nominal speed.
pub const TIME_CODE_ONSPEED: u32 = 1 << 3;
/// [`AsioTimeCode::flags`] bit: the time code is standing still.
pub const TIME_CODE_STILL: u32 = 1 << 4;
/// [`AsioTimeCode::flags`] bit: [`AsioTimeCode::speed`] is valid.
pub const TIME_CODE_SPEED_VALID: u32 = 1 << 8;

/// Timing of the current buffer, part of [`AsioTime`] (48 bytes).
#[repr(C, packed(4))]
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct AsioTimeInfo {
    /// Playback speed relative to nominal (1.0 is normal speed).
    pub speed: f64,
    /// System time at which the first sample of the buffer is (or was) played or recorded.
    pub system_time: AsioTimeStamp,
    /// Sample position of the first sample of the buffer.
    pub sample_position: AsioSamples,
    /// Current sample rate in Hz.
    pub sample_rate: f64,
    /// Combination of the `TIME_INFO_*` bits.
    pub flags: u32,
    /// Reserved; keep zeroed.
    pub reserved: [u8; 12],
}

impl AsioTimeInfo {
    /// Returns a value with every field zero.
    pub const fn zeroed() -> Self {
        Self {
            speed: 0.0,
            system_time: AsioTimeStamp::zeroed(),
            sample_position: AsioSamples::zeroed(),
            sample_rate: 0.0,
            flags: 0,
            reserved: [0; 12],
        }
    }
}

impl Default for AsioTimeInfo {
    fn default() -> Self {
        Self::zeroed()
    }
}

/// Time-code information, part of [`AsioTime`] (84 bytes packed, 88 unpacked).
#[repr(C, packed(4))]
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct AsioTimeCode {
    /// Time-code speed relative to nominal.
    pub speed: f64,
    /// Time-code position in samples.
    pub time_code_samples: AsioSamples,
    /// Combination of the `TIME_CODE_*` bits.
    pub flags: u32,
    /// Reserved; keep zeroed.
    pub future: [u8; 64],
}

impl AsioTimeCode {
    /// Returns a value with every field zero.
    pub const fn zeroed() -> Self {
        Self {
            speed: 0.0,
            time_code_samples: AsioSamples::zeroed(),
            flags: 0,
            future: [0; 64],
        }
    }
}

impl Default for AsioTimeCode {
    fn default() -> Self {
        Self::zeroed()
    }
}

/// The timing block the driver passes to the host's `bufferSwitchTimeInfo` callback (148
/// bytes packed, 152 unpacked; allocate [`ASIO_TIME_ALLOC_SIZE`] bytes).
#[repr(C, packed(4))]
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct AsioTime {
    /// Reserved; keep zeroed.
    pub reserved: [i32; 4],
    /// Timing of the current buffer.
    pub time_info: AsioTimeInfo,
    /// Time-code information.
    pub time_code: AsioTimeCode,
}

impl AsioTime {
    /// Returns a value with every field zero.
    pub const fn zeroed() -> Self {
        Self {
            reserved: [0; 4],
            time_info: AsioTimeInfo::zeroed(),
            time_code: AsioTimeCode::zeroed(),
        }
    }
}

impl Default for AsioTime {
    fn default() -> Self {
        Self::zeroed()
    }
}

/// Number of bytes a driver should allocate for the [`AsioTime`] it hands to hosts: the
/// unpacked size (152), so hosts compiled with or without 4-byte packing stay in bounds.
pub const ASIO_TIME_ALLOC_SIZE: usize = 152;

/// Storage for an [`AsioTime`] padded to [`ASIO_TIME_ALLOC_SIZE`] bytes and 8-byte
/// aligned, so a driver can hand out a pointer that is safe for hosts compiled either way.
#[repr(C, align(8))]
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct AsioTimeBuffer {
    /// The timing block itself.
    pub time: AsioTime,
    /// Padding up to [`ASIO_TIME_ALLOC_SIZE`]; keep zeroed.
    pub tail: [u8; ASIO_TIME_ALLOC_SIZE - size_of::<AsioTime>()],
}

impl AsioTimeBuffer {
    /// Returns a buffer with every byte zero.
    pub const fn zeroed() -> Self {
        Self {
            time: AsioTime::zeroed(),
            tail: [0; ASIO_TIME_ALLOC_SIZE - size_of::<AsioTime>()],
        }
    }

    /// Returns the pointer to pass to `bufferSwitchTimeInfo`.
    pub fn as_mut_ptr(&mut self) -> *mut AsioTime {
        &mut self.time
    }
}

impl Default for AsioTimeBuffer {
    fn default() -> Self {
        Self::zeroed()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hi_lo_round_trips() {
        for v in [
            0u64,
            1,
            u32::MAX as u64,
            1 << 32,
            (1 << 32) + 1,
            0x0123_4567_89ab_cdef,
            u64::MAX - 1,
            u64::MAX,
        ] {
            let s = AsioSamples::from_u64(v);
            assert_eq!(s.to_u64(), v);
            assert_eq!(u64::from(s), v);
            assert_eq!(AsioSamples::from(v), s);
            let t = AsioTimeStamp::from_u64(v);
            assert_eq!(t.to_u64(), v);
            assert_eq!(u64::from(t), v);
            assert_eq!(AsioTimeStamp::from(v), t);
            assert_eq!((s.hi, s.lo), ((v >> 32) as u32, v as u32));
            assert_eq!((t.hi, t.lo), (s.hi, s.lo));
        }
    }

    #[test]
    fn hi_lo_words() {
        assert_eq!(AsioSamples::from_u64(0), AsioSamples { hi: 0, lo: 0 });
        assert_eq!(
            AsioSamples::from_u64(u64::MAX),
            AsioSamples {
                hi: u32::MAX,
                lo: u32::MAX
            }
        );
        assert_eq!(AsioSamples::from_u64(1 << 32), AsioSamples { hi: 1, lo: 0 });
        assert_eq!(
            AsioTimeStamp::from_u64((1 << 32) - 1),
            AsioTimeStamp {
                hi: 0,
                lo: u32::MAX
            }
        );
        assert_eq!(AsioTimeStamp::default().to_u64(), 0);
    }

    #[test]
    fn flag_values() {
        assert_eq!(
            [
                TIME_INFO_SYSTEM_TIME_VALID,
                TIME_INFO_SAMPLE_POSITION_VALID,
                TIME_INFO_SAMPLE_RATE_VALID,
                TIME_INFO_SPEED_VALID,
                TIME_INFO_SAMPLE_RATE_CHANGED,
                TIME_INFO_CLOCK_SOURCE_CHANGED
            ],
            [1, 2, 4, 8, 16, 32]
        );
        assert_eq!(
            [
                TIME_CODE_VALID,
                TIME_CODE_RUNNING,
                TIME_CODE_REVERSE,
                TIME_CODE_ONSPEED,
                TIME_CODE_STILL,
                TIME_CODE_SPEED_VALID
            ],
            [1, 2, 4, 8, 16, 256]
        );
    }

    #[test]
    fn time_buffer() {
        let mut b = AsioTimeBuffer::default();
        assert_eq!(size_of::<AsioTimeBuffer>(), ASIO_TIME_ALLOC_SIZE);
        assert_eq!(core::mem::align_of::<AsioTimeBuffer>(), 8);
        let p = b.as_mut_ptr();
        assert_eq!(p as usize % 8, 0);
        assert_eq!(p as usize, &b as *const AsioTimeBuffer as usize);
        let t = AsioTime::default();
        assert_eq!(b.time, t);
        let rate = t.time_info.sample_rate;
        assert_eq!(rate, 0.0);
    }
}
