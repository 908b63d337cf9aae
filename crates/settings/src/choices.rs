//! The settings that are a choice among named values: one enum each, with every
//! value ([`Choice::all`]), its spelling in the file ([`Choice::as_str`]) and a
//! one-line description for the control panel ([`Choice::describe`]).

use std::fmt;

/// What every choice enum offers, for code that handles them generically (the
/// panel's drop-downs, validation messages). Each enum also has the same items as
/// inherent `ALL`, `as_str`, `describe` and `parse`.
pub trait Choice: Copy + Eq + fmt::Debug + 'static {
    /// Every value, in the order the panel lists them.
    fn all() -> &'static [Self];
    /// The spelling in `tenuto.toml`.
    fn as_str(self) -> &'static str;
    /// One line for the panel.
    fn describe(self) -> &'static str;
    /// The value spelled `text` (ASCII case-insensitive, surrounding blanks ignored).
    fn parse(text: &str) -> Option<Self> {
        let text = text.trim();
        Self::all()
            .iter()
            .copied()
            .find(|c| c.as_str().eq_ignore_ascii_case(text))
    }
    /// "a, b, c or d": the allowed spellings, for messages.
    fn allowed() -> String {
        list_or(Self::all().iter().map(|c| c.as_str()))
    }
}

/// Joins items as "a, b, c or d".
pub(crate) fn list_or<'a>(items: impl IntoIterator<Item = &'a str>) -> String {
    let items: Vec<&str> = items.into_iter().collect();
    match items.split_last() {
        None => String::new(),
        Some((last, [])) => (*last).to_owned(),
        Some((last, rest)) => format!("{} or {last}", rest.join(", ")),
    }
}

macro_rules! choice {
    (
        $(#[$meta:meta])*
        $name:ident {
            $( $(#[$vmeta:meta])* $variant:ident = $text:literal => $describe:literal, )+
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum $name {
            $( $(#[$vmeta])* $variant, )+
        }

        impl $name {
            /// Every value, in the order the panel lists them.
            pub const ALL: &'static [Self] = &[$(Self::$variant),+];

            /// The spelling in `tenuto.toml`.
            pub const fn as_str(self) -> &'static str {
                match self {
                    $(Self::$variant => $text,)+
                }
            }

            /// One line for the panel.
            pub const fn describe(self) -> &'static str {
                match self {
                    $(Self::$variant => $describe,)+
                }
            }

            /// The value spelled `text` (ASCII case-insensitive).
            pub fn parse(text: &str) -> Option<Self> {
                <Self as Choice>::parse(text)
            }
        }

        impl Choice for $name {
            fn all() -> &'static [Self] {
                Self::ALL
            }
            fn as_str(self) -> &'static str {
                $name::as_str(self)
            }
            fn describe(self) -> &'static str {
                $name::describe(self)
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl serde::Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(self.as_str())
            }
        }
    };
}

choice! {
    /// `driver.backend`: where the audio goes.
    BackendSetting {
        /// The in-memory device paced by the system clock.
        Virtual = "virtual" => "Virtual device: in memory, paced by the system clock (you hear nothing)",
        /// Windows' audio devices through WASAPI (`[wasapi]`); Windows only.
        Wasapi = "wasapi" => "WASAPI: the Windows audio devices chosen under [wasapi] (Windows only)",
    }
}

choice! {
    /// `wasapi.mode`: how the WASAPI backend shares the devices with other programs.
    WasapiModeSetting {
        /// Windows' shared-mode engine, at its mix rate.
        Shared = "shared" => "Shared: through Windows' audio engine at its mix rate; other programs keep playing",
        /// Shared mode with the smallest engine period the device offers (IAudioClient3).
        LowLatency = "low-latency" => "Low latency: shared mode with the smallest engine period the device offers (IAudioClient3; shared where Windows does not offer it)",
        /// The device alone, at the host's rate and sample format.
        Exclusive = "exclusive" => "Exclusive: the device alone, at the host's rate and sample format; other programs go silent",
    }
}

choice! {
    /// `wasapi.wake_up`: how the driver thread learns that the device is ready.
    WakeUpSetting {
        /// WASAPI's events (event-driven streams).
        Events = "events" => "Events: WASAPI wakes the driver thread when the device is ready (recommended)",
        /// A timer, for devices whose events do not work.
        Polling = "polling" => "Polling: the driver thread checks the device on a timer, every quarter device period (for devices whose events do not work)",
    }
}

choice! {
    /// `wasapi.missing_device`: what a listed endpoint that is not there leads to.
    MissingDeviceSetting {
        /// Windows' default device for that direction in its place, with a notice.
        Default = "default" => "Use Windows' default device instead, and say so (getErrorMessage, the log, this window)",
        /// `init()` fails, naming the endpoint and the ones that are there.
        Fail = "fail" => "Fail: the host's init() fails with a message naming the missing device and the ones there are",
        /// Left out of the aggregate, with a notice; the driver runs with the others.
        Skip = "skip" => "Skip it: the driver comes back without that device (and its channels), and says so",
    }
}

choice! {
    /// `driver.sample_type`: the ASIO sample type of the host's buffers.
    SampleTypeSetting {
        /// Follow the device's format (f32 → Float32LSB, i16 → Int16LSB, …).
        Auto = "auto" => "Automatic: the type that matches the device's format",
        /// `ASIOSTInt16LSB`.
        Int16 = "int16" => "Int16LSB: 16-bit integer",
        /// `ASIOSTInt24LSB`.
        Int24 = "int24" => "Int24LSB: 24-bit integer packed in 3 bytes",
        /// `ASIOSTInt32LSB`.
        Int32 = "int32" => "Int32LSB: 32-bit integer",
        /// `ASIOSTInt32LSB16`.
        Int32Lsb16 = "int32_lsb16" => "Int32LSB16: 16-bit value in a 32-bit container",
        /// `ASIOSTInt32LSB18`.
        Int32Lsb18 = "int32_lsb18" => "Int32LSB18: 18-bit value in a 32-bit container",
        /// `ASIOSTInt32LSB20`.
        Int32Lsb20 = "int32_lsb20" => "Int32LSB20: 20-bit value in a 32-bit container",
        /// `ASIOSTInt32LSB24`.
        Int32Lsb24 = "int32_lsb24" => "Int32LSB24: 24-bit value in a 32-bit container",
        /// `ASIOSTFloat32LSB`.
        Float32 = "float32" => "Float32LSB: 32-bit float",
        /// `ASIOSTFloat64LSB`.
        Float64 = "float64" => "Float64LSB: 64-bit float",
    }
}

choice! {
    /// `virtual.format`: the sample format of the virtual device's frames.
    FormatSetting {
        /// 32-bit float.
        F32 = "f32" => "32-bit float",
        /// 16-bit integer.
        I16 = "i16" => "16-bit integer",
        /// 24-bit integer, 3 bytes.
        I24 = "i24" => "24-bit integer (3 bytes)",
        /// 32-bit integer.
        I32 = "i32" => "32-bit integer",
    }
}

choice! {
    /// `virtual.source`: what the virtual device's inputs capture.
    SourceSetting {
        /// What the outputs play.
        Loopback = "loopback" => "Loopback: each input captures what the matching output plays",
        /// A sine per channel.
        Sine = "sine" => "Sine: input n captures a 220·n Hz tone at -6 dBFS",
        /// Silence.
        Silence = "silence" => "Silence: the inputs capture nothing",
    }
}

choice! {
    /// `scheduling.mode`: how the driver thread is scheduled on Windows.
    SchedulingMode {
        /// Register with MMCSS.
        Mmcss = "mmcss" => "Register the driver thread with MMCSS (the ASIO 2.3 recommendation)",
        /// SetThreadPriority at `manual_level`.
        Manual = "manual" => "Raise the driver thread with SetThreadPriority (manual level and process class below)",
        /// Leave the thread alone.
        Inherit = "inherit" => "Leave the driver thread as created (for hosts that manage it themselves)",
        /// Decide from the host's threads.
        Auto = "auto" => "Match the host: its built-in profile (Cubase, Nuendo, Pro Tools, REAPER), else MMCSS if its audio threads use MMCSS, manual if they are TIME_CRITICAL",
    }
}

choice! {
    /// `scheduling.mmcss_priority`: the AVRT priority within the MMCSS task.
    MmcssPrioritySetting {
        /// AVRT_PRIORITY_LOW.
        Low = "low" => "AVRT_PRIORITY_LOW",
        /// AVRT_PRIORITY_NORMAL.
        Normal = "normal" => "AVRT_PRIORITY_NORMAL",
        /// AVRT_PRIORITY_HIGH.
        High = "high" => "AVRT_PRIORITY_HIGH",
        /// AVRT_PRIORITY_CRITICAL.
        Critical = "critical" => "AVRT_PRIORITY_CRITICAL (recommended by ASIO 2.3)",
    }
}

choice! {
    /// `scheduling.mmcss_fallback`: what to do when MMCSS registration fails.
    FallbackSetting {
        /// Manual TIME_CRITICAL.
        Manual = "manual" => "Manual priority TIME_CRITICAL (base priority 15)",
        /// Leave the thread alone.
        Inherit = "inherit" => "Leave the driver thread as created",
    }
}

choice! {
    /// `scheduling.manual_level`: the thread priority level in manual mode.
    ManualLevelSetting {
        /// THREAD_PRIORITY_NORMAL.
        Normal = "normal" => "THREAD_PRIORITY_NORMAL",
        /// THREAD_PRIORITY_ABOVE_NORMAL.
        AboveNormal = "above_normal" => "THREAD_PRIORITY_ABOVE_NORMAL",
        /// THREAD_PRIORITY_HIGHEST.
        Highest = "highest" => "THREAD_PRIORITY_HIGHEST",
        /// THREAD_PRIORITY_TIME_CRITICAL.
        TimeCritical = "time_critical" => "THREAD_PRIORITY_TIME_CRITICAL (recommended)",
    }
}

choice! {
    /// `scheduling.process_class`: the host process's priority class in manual mode.
    ProcessClassSetting {
        /// Leave the class alone.
        Normal = "normal" => "Leave the host process's priority class alone (recommended)",
        /// HIGH_PRIORITY_CLASS while streaming.
        High = "high" => "Raise the host process to HIGH_PRIORITY_CLASS while streaming",
        /// REALTIME_PRIORITY_CLASS while streaming.
        Realtime = "realtime" => "Raise the host process to REALTIME_PRIORITY_CLASS while streaming (needs the privilege; can starve the system)",
    }
}

choice! {
    /// A `[profiles]` value: the scheduling for one host executable.
    ProfileValue {
        /// MMCSS with `scheduling.mmcss_task` and `mmcss_priority`.
        Mmcss = "mmcss" => "MMCSS, with the task and priority set above",
        /// Manual with `scheduling.manual_level` and `process_class`.
        Manual = "manual" => "Manual priority, with the level and process class set above",
        /// Leave the thread alone.
        Inherit = "inherit" => "Leave the driver thread as created",
        /// Decide from the host's threads.
        Auto = "auto" => "Decide from the host's own threads when streaming starts",
    }
}

choice! {
    /// `logging.level`: how much the driver writes to its log.
    LogLevel {
        /// Errors only.
        Error = "error" => "Errors only",
        /// Errors and warnings.
        Warn = "warn" => "Errors and warnings",
        /// Also what the driver does (start, stop, settings).
        Info = "info" => "Also what the driver does: start, stop, settings applied",
        /// Also a trace of every IASIO call.
        Debug = "debug" => "Also every call from the DAW with its result and duration, for support requests",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spellings_round_trip_and_lists_read_well() {
        for c in SampleTypeSetting::ALL {
            assert_eq!(SampleTypeSetting::parse(c.as_str()), Some(*c));
        }
        assert_eq!(
            SchedulingMode::parse(" MMCSS "),
            Some(SchedulingMode::Mmcss)
        );
        assert_eq!(SchedulingMode::parse("mmcs"), None);
        assert_eq!(
            MmcssPrioritySetting::allowed(),
            "low, normal, high or critical"
        );
        assert_eq!(BackendSetting::allowed(), "virtual or wasapi");
        assert_eq!(
            WasapiModeSetting::allowed(),
            "shared, low-latency or exclusive"
        );
        assert_eq!(list_or(["a", "b"]), "a or b");
    }
}
