//! The MMCSS helpers the policy and the service settings share: the
//! registry's task list, registering the calling thread, and the probe
//! `tenuto mmcss status` runs.

use tenuto_win::registry::{self as reg, View, LOCAL_MACHINE};

pub(super) use super::sys::{mmcss_register as register, MmcssHandle};

/// The MMCSS task names the registry lists (subkeys of
/// `HKLM\SOFTWARE\Microsoft\Windows NT\CurrentVersion\Multimedia\SystemProfile\Tasks`,
/// e.g. "Audio", "Pro Audio", "Games"); empty when the key is missing
/// (Wine) or unreadable.
pub fn mmcss_tasks() -> Vec<String> {
    match reg::open(LOCAL_MACHINE, MMCSS_TASKS_KEY, false, View::Sixty4) {
        Ok(Some(key)) => reg::subkeys(&key).unwrap_or_default(),
        _ => Vec::new(),
    }
}

/// The MMCSS task list (under HKLM, 64-bit view): one subkey per task.
pub(super) const MMCSS_TASKS_KEY: &str =
    r"SOFTWARE\Microsoft\Windows NT\CurrentVersion\Multimedia\SystemProfile\Tasks";

/// Registers the calling thread for `task` and reverts at once: whether
/// MMCSS accepts registrations (for `tenuto mmcss status`). Returns the
/// task index, or the error code.
pub(super) fn probe(task: &str) -> Result<u32, u32> {
    let (handle, index) = register(task)?;
    handle.revert()?;
    Ok(index)
}
