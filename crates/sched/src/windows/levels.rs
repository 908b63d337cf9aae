//! Windows' priority numbers: the process classes, their names and order,
//! and the base priority a thread level gets in each. Pure functions.

use windows_sys::Win32::System::Threading::{
    ABOVE_NORMAL_PRIORITY_CLASS, BELOW_NORMAL_PRIORITY_CLASS, HIGH_PRIORITY_CLASS,
    IDLE_PRIORITY_CLASS, NORMAL_PRIORITY_CLASS, REALTIME_PRIORITY_CLASS,
};

use crate::policy::{manual_base_priority, AvrtPriority, ProcessClass, ThreadLevel};

/// Windows priorities 16–31 are the real-time range.
pub(super) const REALTIME_RANGE_MIN: i32 = 16;

/// The name of a process priority class constant.
pub fn class_name(class: u32) -> &'static str {
    match class {
        IDLE_PRIORITY_CLASS => "IDLE",
        BELOW_NORMAL_PRIORITY_CLASS => "BELOW_NORMAL",
        NORMAL_PRIORITY_CLASS => "NORMAL",
        ABOVE_NORMAL_PRIORITY_CLASS => "ABOVE_NORMAL",
        HIGH_PRIORITY_CLASS => "HIGH",
        REALTIME_PRIORITY_CLASS => "REALTIME",
        0 => "(none)",
        _ => "unknown",
    }
}

pub(super) fn level_name(level: ThreadLevel) -> &'static str {
    match level {
        ThreadLevel::Normal => "NORMAL",
        ThreadLevel::AboveNormal => "ABOVE_NORMAL",
        ThreadLevel::Highest => "HIGHEST",
        ThreadLevel::TimeCritical => "TIME_CRITICAL",
    }
}

pub(super) fn avrt_name(priority: AvrtPriority) -> &'static str {
    match priority {
        AvrtPriority::Low => "LOW",
        AvrtPriority::Normal => "NORMAL",
        AvrtPriority::High => "HIGH",
        AvrtPriority::Critical => "CRITICAL",
    }
}

/// The Win32 constant for a [`ProcessClass`].
pub const fn class_value(class: ProcessClass) -> u32 {
    match class {
        ProcessClass::High => HIGH_PRIORITY_CLASS,
        ProcessClass::Realtime => REALTIME_PRIORITY_CLASS,
    }
}

/// Orders priority classes by the base priority they give (IDLE lowest).
pub(super) fn class_rank(class: u32) -> u8 {
    match class {
        IDLE_PRIORITY_CLASS => 1,
        BELOW_NORMAL_PRIORITY_CLASS => 2,
        NORMAL_PRIORITY_CLASS => 3,
        ABOVE_NORMAL_PRIORITY_CLASS => 4,
        HIGH_PRIORITY_CLASS => 5,
        REALTIME_PRIORITY_CLASS => 6,
        _ => 0,
    }
}

/// The base priority of a thread at `level` in a process of any Win32
/// `class` (extends [`manual_base_priority`] to IDLE…ABOVE_NORMAL).
pub fn base_priority_in_class(level: ThreadLevel, class: u32) -> i32 {
    let class_base = match class {
        IDLE_PRIORITY_CLASS => 4,
        BELOW_NORMAL_PRIORITY_CLASS => 6,
        ABOVE_NORMAL_PRIORITY_CLASS => 10,
        HIGH_PRIORITY_CLASS => return manual_base_priority(level, Some(ProcessClass::High)),
        REALTIME_PRIORITY_CLASS => {
            return manual_base_priority(level, Some(ProcessClass::Realtime))
        }
        _ => return manual_base_priority(level, None),
    };
    match level {
        ThreadLevel::TimeCritical => 15,
        l => class_base + l.win32_value(),
    }
}
