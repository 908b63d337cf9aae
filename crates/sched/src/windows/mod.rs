//! Applying a [`Scheduling`](crate::Scheduling) choice to the driver thread
//! on Windows, reading the thread's real priority back, and reverting it.
//!
//! * [`WindowsThreadPolicy`] is the engine's
//!   [`ThreadPolicy`](tenuto_engine::host::ThreadPolicy): MMCSS registration
//!   (`AvSetMmThreadCharacteristicsW` + `AvSetMmThreadPriority`) with the
//!   user's [`MmcssFallback`](crate::policy::MmcssFallback) when MMCSS
//!   refuses, manual thread priority with an opt-in process class, or
//!   nothing; plus the EcoQoS opt-out. Its guard, [`AppliedWindowsPolicy`],
//!   reverts all of it on drop, and its `sample` reads the thread's absolute
//!   priority without allocating or locking, so the driver thread can notice
//!   an MMCSS demotion.
//! * [`mmcss_tasks`], [`thread_priority_snapshot`], [`current_base_priority`]
//!   and [`timer_resolution_guard`] serve the CLI, the per-DAW Auto mode and
//!   the DLL; [`service`] holds the MMCSS service settings `tenuto mmcss`
//!   shows and changes; [`host_aware`] is the policy the DLL gives its
//!   driver thread (per-DAW profiles, Auto, the timer resolution).
//!
//! # Modules
//!
//! One concern each; dependencies point one way (leaves first):
//!
//! * `sys` — every Win32/NT call the policy makes, as safe functions
//!   returning raw error codes; `token` — the privilege check. The only
//!   modules with `unsafe`, each stating its invariant at the top.
//! * `levels` — priority classes, their names and base priorities (pure);
//!   `error` — [`SchedError`]; `system` — Wine, elevation.
//! * `readback` — reading threads' priorities; `class` — the shared process
//!   class; `throttling` — EcoQoS; `mmcss` — the task list, registration and
//!   probe shared by the policy and [`service`]; `timer` — the timer
//!   resolution guard.
//! * `outcome`, `describe`, `apply` — what an application did, its
//!   description, and the policy and its guard.

mod apply;
mod class;
mod describe;
mod error;
pub mod host_aware;
mod levels;
mod mmcss;
mod outcome;
mod readback;
pub mod service;
mod sys;
mod system;
mod throttling;
mod timer;
mod token;

pub use apply::{AppliedWindowsPolicy, WindowsThreadPolicy};
pub use class::{decide_process_class, process_priority_class, ClassDecision, ClassOutcome};
pub use error::SchedError;
pub use levels::{base_priority_in_class, class_name, class_value};
pub use mmcss::mmcss_tasks;
pub use outcome::ManualOutcome;
pub use readback::{
    current_base_priority, current_priority, thread_level, thread_priority_snapshot, ThreadPriority,
};
pub use system::{is_elevated, is_wine};
pub use throttling::{power_throttling_request, EcoQos};
pub use timer::{timer_resolution_guard, TimerResolution};
pub use token::has_increase_base_priority_privilege;
