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
//! * `linux` / `windows` — applying, reading back and reverting a policy
//!   on each OS, and the real-time-safe priority probe the driver thread
//!   uses to notice demotions. These are the only modules with `unsafe`.
//! * [`profiles`] — which policy a given host (DAW) should get, including
//!   the Auto mode that looks at what the host's own threads do.
//! * `mmcss_service` (Windows) — the MMCSS service settings `tenuto mmcss`
//!   shows and changes.
//!
//! It plugs into the engine through [`tenuto_engine::host::ThreadPolicy`].

#![deny(unsafe_code)]
#![warn(missing_docs)]

#[cfg(target_os = "linux")]
pub mod linux;
#[cfg(windows)]
pub mod mmcss_service;
pub mod policy;
pub mod profiles;
#[cfg(windows)]
pub mod windows;
