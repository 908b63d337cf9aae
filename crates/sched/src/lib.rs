//! # tenuto-sched
//!
//! How Tenuto's driver thread is scheduled — the user's choice, applied on
//! the driver thread when streaming starts and reverted when it stops,
//! never inside the period loop — and what the thread's scheduling really
//! was while it ran.
//!
//! * [`policy`] — the platform-independent model: what the user can choose
//!   (MMCSS task and priority, manual thread level and process class,
//!   SCHED_FIFO/RR/DEADLINE, inherit) and what it means (base priorities).
//! * `linux/` / `windows/` — applying, reading back and reverting a policy
//!   on each OS, and the real-time-safe priority probe the driver thread
//!   uses to notice demotions. Each is a directory of one-concern modules;
//!   `unsafe` is only in `linux::sys`, `linux::sigxcpu`, `windows::sys` and
//!   `windows::token`.
//! * [`profiles`] — which policy a given host (DAW) should get, including
//!   the Auto mode that looks at what the host's own threads do.
//! * `windows::service` (also `mmcss_service`) — the MMCSS service settings
//!   `tenuto mmcss` shows and changes; `windows::host_aware` (also
//!   `host_aware`) — the DLL's policy, following the host it runs in.
//!
//! It plugs into the engine through [`tenuto_engine::host::ThreadPolicy`].

#![deny(unsafe_code)]
#![warn(missing_docs)]

#[cfg(target_os = "linux")]
pub mod linux;
pub mod policy;
pub mod profiles;
#[cfg(windows)]
pub mod windows;

#[cfg(windows)]
pub use windows::host_aware;
#[cfg(windows)]
pub use windows::service as mmcss_service;

use std::sync::Arc;

use tenuto_engine::host::ThreadPolicy;

pub use policy::{PolicyArg, Scheduling};

/// The engine policy for a `--policy` choice on the OS this runs on. A
/// choice for the other OS is an error that says so.
pub fn thread_policy(
    choice: &PolicyArg,
    scheduling: &Scheduling,
) -> Result<Arc<dyn ThreadPolicy>, String> {
    match choice {
        // Inherit through the OS module where there is one: it changes
        // nothing but still offers the priority probe.
        #[cfg(target_os = "linux")]
        PolicyArg::Inherit => Ok(Arc::new(linux::LinuxThreadPolicy::new(
            policy::LinuxPolicy::Inherit,
        ))),
        #[cfg(not(target_os = "linux"))]
        PolicyArg::Inherit => Ok(Arc::new(tenuto_engine::host::InheritPolicy)),
        #[cfg(target_os = "linux")]
        PolicyArg::Linux(p) => {
            let _ = scheduling;
            Ok(Arc::new(linux::LinuxThreadPolicy::new(*p)))
        }
        #[cfg(windows)]
        PolicyArg::Windows(p) => {
            let scheduling = Scheduling {
                windows: p.clone(),
                ..scheduling.clone()
            };
            Ok(Arc::new(windows::WindowsThreadPolicy::new(&scheduling)))
        }
        other => {
            let _ = scheduling;
            Err(format!(
                "--policy {other} is for {}; this is {}",
                if matches!(other, PolicyArg::Windows(_)) {
                    "Windows"
                } else {
                    "Linux"
                },
                std::env::consts::OS
            ))
        }
    }
}
