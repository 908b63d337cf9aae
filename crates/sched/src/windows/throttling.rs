//! EcoQoS: opting the driver thread out of execution-speed throttling, and
//! reading the thread's throttling request back.

use windows_sys::Win32::System::Threading::THREAD_POWER_THROTTLING_EXECUTION_SPEED;

use super::error::SchedError;
use super::sys;

/// What became of the EcoQoS opt-out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EcoQos {
    /// Not requested.
    NotRequested,
    /// The thread is opted out of execution-speed throttling; reverted on
    /// drop (the system decides again).
    OptedOut,
    /// The call failed (not fatal).
    Failed(SchedError),
}

/// The calling thread's power-throttling request: `(ControlMask,
/// StateMask)`. `(1, 0)` = opted out of execution-speed throttling,
/// `(0, 0)` = the system decides. This is the request, not whether the
/// scheduler throttles the thread now. Windows 10 1709+; Wine refuses.
pub fn power_throttling_request() -> Result<(u32, u32), SchedError> {
    sys::power_throttling_request().map_err(|status| SchedError::EcoQosQuery { status })
}

/// Opts the calling thread out of execution-speed throttling.
pub(super) fn opt_out() -> EcoQos {
    match sys::set_power_throttling(THREAD_POWER_THROTTLING_EXECUTION_SPEED) {
        Ok(()) => EcoQos::OptedOut,
        Err(code) => EcoQos::Failed(SchedError::EcoQos { code }),
    }
}

/// Lets the system decide about the calling thread's throttling again.
pub(super) fn revert() -> Result<(), SchedError> {
    sys::set_power_throttling(0).map_err(|code| SchedError::EcoQos { code })
}
