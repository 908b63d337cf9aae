//! The process priority class: process-wide, shared by every driver
//! instance in the host. Tenuto only ever raises it, and the last instance
//! to release its raise restores the class the first one found.

use tenuto_engine::sync::Mutex;

use super::error::SchedError;
use super::levels::{class_rank, class_value};
use super::sys;
use super::token::has_increase_base_priority_privilege;
use crate::policy::ProcessClass;

/// What to do about a requested process class.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ClassDecision {
    /// Call `SetPriorityClass` with this class.
    Set(u32),
    /// The process already runs at this class or higher: change nothing
    /// (Tenuto never lowers the host's class).
    Keep(u32),
    /// Refuse the class (keep the thread level).
    Refuse(SchedError),
}

/// Decides what to do about `requested` for a process now in `current`
/// (a Win32 class constant), given whether the token holds
/// `SeIncreaseBasePriorityPrivilege`. Pure, for tests and diagnostics.
pub fn decide_process_class(
    requested: ProcessClass,
    current: u32,
    realtime_privilege: bool,
) -> ClassDecision {
    let wanted = class_value(requested);
    if class_rank(current) >= class_rank(wanted) {
        ClassDecision::Keep(current)
    } else if requested == ProcessClass::Realtime && !realtime_privilege {
        ClassDecision::Refuse(SchedError::RealtimeWithoutPrivilege)
    } else {
        ClassDecision::Set(wanted)
    }
}

/// The process class before the first raise, and how many guards hold a
/// raise. The first raise saves the class; the last release restores it,
/// so two driver instances in one host do not restore each other's class.
/// Locked only in `apply` and `Drop`, never in the period loop.
struct ClassHolders {
    count: u32,
    original: u32,
}

static CLASS_HOLDERS: Mutex<ClassHolders> = Mutex::new(ClassHolders {
    count: 0,
    original: 0,
});

/// What became of the requested process class.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ClassOutcome {
    /// No class was requested.
    NotRequested,
    /// The process was raised from `from` to `to`; restored on drop.
    Raised {
        /// The class before (Win32 constant).
        from: u32,
        /// The class now.
        to: u32,
    },
    /// Windows gave `got` instead of `requested` (REALTIME without the
    /// privilege becomes HIGH); restored on drop all the same.
    Downgraded {
        /// The class before.
        from: u32,
        /// The class asked for.
        requested: u32,
        /// The class the process reads.
        got: u32,
    },
    /// The process already ran at this class or higher; left alone.
    AlreadyAtLeast(u32),
    /// Not applied; the thread level still was.
    Refused(SchedError),
}

/// The process's priority class now (a Win32 constant; [`class_name`]
/// names it).
///
/// [`class_name`]: super::class_name
pub fn process_priority_class() -> Result<u32, SchedError> {
    current_class()
}

/// The process's class, as a [`SchedError`] when it cannot be read.
pub(super) fn current_class() -> Result<u32, SchedError> {
    sys::priority_class().map_err(|code| SchedError::ProcessClass {
        call: "GetPriorityClass",
        class: 0,
        code,
    })
}

/// Raises the process class (through the shared holder count).
pub(super) fn raise_class(requested: ProcessClass, privilege: Option<bool>) -> ClassOutcome {
    let mut holders = CLASS_HOLDERS.lock();
    let current = match current_class() {
        Ok(c) => c,
        Err(e) => return ClassOutcome::Refused(e),
    };
    let privilege = match (requested, privilege) {
        (ProcessClass::High, _) => true,
        (ProcessClass::Realtime, Some(p)) => p,
        (ProcessClass::Realtime, None) => match has_increase_base_priority_privilege() {
            Ok(p) => p,
            Err(e) => return ClassOutcome::Refused(e),
        },
    };
    match decide_process_class(requested, current, privilege) {
        ClassDecision::Keep(c) => ClassOutcome::AlreadyAtLeast(c),
        ClassDecision::Refuse(e) => ClassOutcome::Refused(e),
        ClassDecision::Set(wanted) => {
            if let Err(code) = sys::set_priority_class(wanted) {
                return ClassOutcome::Refused(SchedError::ProcessClass {
                    call: "SetPriorityClass",
                    class: wanted,
                    code,
                });
            }
            if holders.count == 0 {
                holders.original = current;
            }
            holders.count += 1;
            let got = current_class().unwrap_or(wanted);
            if got == wanted {
                ClassOutcome::Raised {
                    from: current,
                    to: wanted,
                }
            } else {
                ClassOutcome::Downgraded {
                    from: current,
                    requested: wanted,
                    got,
                }
            }
        }
    }
}

pub(super) fn release_class() -> Result<(), SchedError> {
    let mut holders = CLASS_HOLDERS.lock();
    holders.count = holders.count.saturating_sub(1);
    if holders.count == 0 && holders.original != 0 {
        let original = std::mem::take(&mut holders.original);
        sys::set_priority_class(original).map_err(|code| SchedError::ProcessClass {
            call: "SetPriorityClass (restoring)",
            class: original,
            code,
        })?;
    }
    Ok(())
}
