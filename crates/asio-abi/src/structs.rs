//! Driver, clock, channel and buffer descriptions.

use core::ffi::{c_char, c_void};
use core::fmt;
use core::ptr;

use crate::{c_string_bytes, write_c_string, AsioBool, AsioSampleType, CStringBytes};

/// Size in bytes of the driver-name buffer ([`AsioDriverInfo::name`] and `getDriverName`).
pub const ASIO_DRIVER_NAME_LEN: usize = 32;
/// Size in bytes of the error-message buffer ([`AsioDriverInfo::error_message`] and
/// `getErrorMessage`).
pub const ASIO_ERROR_MESSAGE_LEN: usize = 124;
/// Size in bytes of [`AsioClockSource::name`].
pub const ASIO_CLOCK_NAME_LEN: usize = 32;
/// Size in bytes of [`AsioChannelInfo::name`].
pub const ASIO_CHANNEL_NAME_LEN: usize = 32;

/// Host-side record filled while loading a driver (172 bytes on 64-bit targets, 168 on
/// 32-bit); drivers never see it.
#[repr(C, packed(4))]
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct AsioDriverInfo {
    /// ASIO interface version the host speaks.
    pub asio_version: i32,
    /// Version reported by the driver's `getDriverVersion`.
    pub driver_version: i32,
    /// Driver name as a NUL-terminated C string.
    pub name: [c_char; ASIO_DRIVER_NAME_LEN],
    /// Error message as a NUL-terminated C string.
    pub error_message: [c_char; ASIO_ERROR_MESSAGE_LEN],
    /// System reference passed to `init` (the host's window handle on Windows).
    pub sys_ref: *mut c_void,
}

impl AsioDriverInfo {
    /// Returns a value with every field zero and a null `sys_ref`.
    pub const fn zeroed() -> Self {
        Self {
            asio_version: 0,
            driver_version: 0,
            name: [0; ASIO_DRIVER_NAME_LEN],
            error_message: [0; ASIO_ERROR_MESSAGE_LEN],
            sys_ref: ptr::null_mut(),
        }
    }

    /// Returns the bytes of [`name`](Self::name) up to its NUL.
    pub fn name(&self) -> CStringBytes<'_> {
        c_string_bytes(&self.name)
    }

    /// Stores `s` into [`name`](Self::name), truncated to fit (see [`write_c_string`]).
    pub fn set_name(&mut self, s: &str) {
        write_c_string(&mut self.name, s);
    }

    /// Returns the bytes of [`error_message`](Self::error_message) up to its NUL.
    pub fn error_message(&self) -> CStringBytes<'_> {
        c_string_bytes(&self.error_message)
    }

    /// Stores `s` into [`error_message`](Self::error_message), truncated to fit.
    pub fn set_error_message(&mut self, s: &str) {
        write_c_string(&mut self.error_message, s);
    }
}

impl Default for AsioDriverInfo {
    fn default() -> Self {
        Self::zeroed()
    }
}

impl fmt::Debug for AsioDriverInfo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let Self {
            asio_version,
            driver_version,
            name,
            error_message,
            sys_ref,
        } = *self;
        f.debug_struct("AsioDriverInfo")
            .field("asio_version", &asio_version)
            .field("driver_version", &driver_version)
            .field("name", &c_string_bytes(&name))
            .field("error_message", &c_string_bytes(&error_message))
            .field("sys_ref", &sys_ref)
            .finish()
    }
}

/// One entry of the list filled by `getClockSources` (48 bytes).
#[repr(C, packed(4))]
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct AsioClockSource {
    /// Index to pass to `setClockSource`.
    pub index: i32,
    /// First channel this clock is associated with, or -1.
    pub associated_channel: i32,
    /// Channel group this clock is associated with, or -1.
    pub associated_group: i32,
    /// [`ASIO_TRUE`](crate::ASIO_TRUE) if this is the clock currently in use.
    pub is_current_source: AsioBool,
    /// Clock name as a NUL-terminated C string.
    pub name: [c_char; ASIO_CLOCK_NAME_LEN],
}

impl AsioClockSource {
    /// Returns a value with every field zero.
    pub const fn zeroed() -> Self {
        Self {
            index: 0,
            associated_channel: 0,
            associated_group: 0,
            is_current_source: 0,
            name: [0; ASIO_CLOCK_NAME_LEN],
        }
    }

    /// Returns the bytes of [`name`](Self::name) up to its NUL.
    pub fn name(&self) -> CStringBytes<'_> {
        c_string_bytes(&self.name)
    }

    /// Stores `s` into [`name`](Self::name), truncated to fit (see [`write_c_string`]).
    pub fn set_name(&mut self, s: &str) {
        write_c_string(&mut self.name, s);
    }
}

impl Default for AsioClockSource {
    fn default() -> Self {
        Self::zeroed()
    }
}

impl fmt::Debug for AsioClockSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let Self {
            index,
            associated_channel,
            associated_group,
            is_current_source,
            name,
        } = *self;
        f.debug_struct("AsioClockSource")
            .field("index", &index)
            .field("associated_channel", &associated_channel)
            .field("associated_group", &associated_group)
            .field("is_current_source", &is_current_source)
            .field("name", &c_string_bytes(&name))
            .finish()
    }
}

/// Description of one channel, filled by `getChannelInfo` for the `channel` and `is_input`
/// the host sets (52 bytes).
#[repr(C, packed(4))]
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct AsioChannelInfo {
    /// Channel number (set by the host).
    pub channel: i32,
    /// Whether this is an input channel (set by the host).
    pub is_input: AsioBool,
    /// Whether the channel currently has a buffer (set by the driver).
    pub is_active: AsioBool,
    /// Group the channel belongs to (set by the driver).
    pub channel_group: i32,
    /// Sample format of the channel's buffers, one of the `ASIO_ST_*` codes.
    pub sample_type: AsioSampleType,
    /// Channel name as a NUL-terminated C string.
    pub name: [c_char; ASIO_CHANNEL_NAME_LEN],
}

impl AsioChannelInfo {
    /// Returns a value with every field zero.
    pub const fn zeroed() -> Self {
        Self {
            channel: 0,
            is_input: 0,
            is_active: 0,
            channel_group: 0,
            sample_type: 0,
            name: [0; ASIO_CHANNEL_NAME_LEN],
        }
    }

    /// Returns the bytes of [`name`](Self::name) up to its NUL.
    pub fn name(&self) -> CStringBytes<'_> {
        c_string_bytes(&self.name)
    }

    /// Stores `s` into [`name`](Self::name), truncated to fit (see [`write_c_string`]).
    pub fn set_name(&mut self, s: &str) {
        write_c_string(&mut self.name, s);
    }
}

impl Default for AsioChannelInfo {
    fn default() -> Self {
        Self::zeroed()
    }
}

impl fmt::Debug for AsioChannelInfo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let Self {
            channel,
            is_input,
            is_active,
            channel_group,
            sample_type,
            name,
        } = *self;
        f.debug_struct("AsioChannelInfo")
            .field("channel", &channel)
            .field("is_input", &is_input)
            .field("is_active", &is_active)
            .field("channel_group", &channel_group)
            .field("sample_type", &sample_type)
            .field("name", &c_string_bytes(&name))
            .finish()
    }
}

/// One channel's entry in the array passed to `createBuffers`: the host sets `is_input`
/// and `channel_num`, the driver fills in the two half-buffer pointers (24 bytes on 64-bit
/// targets, 16 on 32-bit).
#[repr(C, packed(4))]
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct AsioBufferInfo {
    /// Whether this entry is for an input channel.
    pub is_input: AsioBool,
    /// Channel number within the inputs or outputs.
    pub channel_num: i32,
    /// The two halves of the double buffer, indexed by the `bufferSwitch` index.
    pub buffers: [*mut c_void; 2],
}

impl AsioBufferInfo {
    /// Returns a value with zero fields and null buffer pointers.
    pub const fn zeroed() -> Self {
        Self {
            is_input: 0,
            channel_num: 0,
            buffers: [ptr::null_mut(); 2],
        }
    }
}

impl Default for AsioBufferInfo {
    fn default() -> Self {
        Self::zeroed()
    }
}

impl fmt::Debug for AsioBufferInfo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let Self {
            is_input,
            channel_num,
            buffers,
        } = *self;
        f.debug_struct("AsioBufferInfo")
            .field("is_input", &is_input)
            .field("channel_num", &channel_num)
            .field("buffers", &buffers)
            .finish()
    }
}

/// Result of the `future()` selector
/// [`GET_INTERNAL_BUFFER_SAMPLES`](crate::future::GET_INTERNAL_BUFFER_SAMPLES): how many
/// samples the driver buffers internally beyond the ASIO buffers.
#[repr(C)]
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct AsioInternalBufferInfo {
    /// Samples buffered on the input side.
    pub input_samples: i32,
    /// Samples buffered on the output side.
    pub output_samples: i32,
}

impl AsioInternalBufferInfo {
    /// Returns a value with both counts zero.
    pub const fn zeroed() -> Self {
        Self {
            input_samples: 0,
            output_samples: 0,
        }
    }
}

#[cfg(test)]
mod tests {
    extern crate std;
    use super::*;
    use std::format;

    #[test]
    fn names_and_debug() {
        let mut info = AsioChannelInfo::zeroed();
        info.set_name("Analog In 1");
        info.sample_type = crate::ASIO_ST_INT32_LSB;
        assert_eq!(info.name(), "Analog In 1");
        let dbg = format!("{info:?}");
        assert!(dbg.contains("name: \"Analog In 1\""), "{dbg}");
        assert!(dbg.contains("sample_type: 18"), "{dbg}");

        let mut clock = AsioClockSource::default();
        clock.set_name("Internal");
        assert_eq!(clock.name(), "Internal");
        assert!(format!("{clock:?}").contains("\"Internal\""));

        let mut drv = AsioDriverInfo::default();
        drv.set_name(&"n".repeat(100));
        drv.set_error_message("no device");
        assert_eq!(drv.name().len(), ASIO_DRIVER_NAME_LEN - 1);
        assert_eq!(drv.error_message(), "no device");
        assert!(format!("{drv:?}").contains("sys_ref: 0x0"));

        let b = AsioBufferInfo::default();
        assert!(b.buffers[0].is_null() && b.buffers[1].is_null());
        assert!(format!("{b:?}").starts_with("AsioBufferInfo"));
        assert_eq!(
            AsioInternalBufferInfo::zeroed(),
            AsioInternalBufferInfo::default()
        );
    }
}
