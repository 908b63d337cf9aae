//! What applying a Windows policy did: the data the guard keeps and the
//! description is built from.

use super::class::ClassOutcome;
use super::error::SchedError;
use crate::policy::{AvrtPriority, ThreadLevel};

/// The manual part of a policy as applied.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ManualOutcome {
    /// The level asked for.
    pub level: ThreadLevel,
    /// `Err` when `SetThreadPriority` (or saving the old level) failed.
    pub thread: Result<(), SchedError>,
    /// The process class.
    pub class: ClassOutcome,
    /// The process class in effect afterwards (Win32 constant).
    pub effective_class: u32,
    /// The base priority Windows' rules give the thread now.
    pub base_priority: i32,
    /// The base priority the thread reads right after the change
    /// (`THREAD_BASIC_INFORMATION.BasePriority`; under Wine the relative
    /// level). `None` when unreadable or when the level was not set.
    pub measured_base: Option<i32>,
}

/// Which policy is in effect.
#[derive(Debug)]
pub(super) enum Mode {
    Inherit,
    Mmcss {
        task: String,
        priority: AvrtPriority,
        task_index: u32,
        priority_error: Option<SchedError>,
    },
    Refused {
        task: String,
        code: u32,
        error: SchedError,
        fallback: Option<Box<ManualOutcome>>,
    },
    Manual(ManualOutcome),
}

impl Mode {
    /// The manual priority in effect (chosen, or the MMCSS fallback).
    pub(super) fn manual(&self) -> Option<&ManualOutcome> {
        match self {
            Mode::Manual(m) => Some(m),
            Mode::Refused { fallback, .. } => fallback.as_deref(),
            _ => None,
        }
    }
}
