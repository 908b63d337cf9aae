//! Applying a [`LinuxPolicy`](crate::policy::LinuxPolicy) to the driver
//! thread on Linux, reading it back, noticing demotions and reverting it.
//!
//! # What is done, and how
//!
//! * SCHED_FIFO / SCHED_RR: `pthread_setschedparam(pthread_self())`. When
//!   that is refused with EPERM (no CAP_SYS_NICE, RLIMIT_RTPRIO too low)
//!   the thread asks rtkit on the system bus (`rtkit`), which sets
//!   RLIMIT_RTTIME first as rtkit requires.
//! * SCHED_DEADLINE: `sched_setattr` with runtime = the given µs (or, when
//!   none is given, 25 % of the period: the engine has not measured the
//!   per-period work yet when the policy is applied), deadline = period =
//!   the buffer period, which must be given with
//!   [`LinuxThreadPolicy::with_period`]. It needs CAP_SYS_NICE; rtkit
//!   cannot grant it.
//! * RLIMIT_RTTIME: a real-time thread past the soft limit gets SIGXCPU,
//!   which would terminate the process; see [`sigxcpu_count`].
//! * The guard remembers the thread's previous `sched_attr` and restores it
//!   on drop (the engine drops it on the driver thread).
//!
//! Failures never fail the stream:
//! [`ThreadPolicy::apply`](tenuto_engine::host::ThreadPolicy::apply) then
//! returns a guard that describes the failure and leaves the thread
//! untouched; [`LinuxThreadPolicy::try_apply`] returns the error instead.
//!
//! # Modules
//!
//! One concern each; dependencies point one way (leaves first):
//!
//! * `error` — [`Errno`] and [`LinuxSchedError`] with their hints.
//! * `sys` — the kernel ABI and every system call, as safe functions;
//!   `sigxcpu` — the counting SIGXCPU handler. The only modules with
//!   `unsafe`, each stating its invariant at the top.
//! * `state` — [`ThreadState`]; `rtkit` — the D-Bus client; `access` —
//!   [`RealtimeAccess`] for the CLI and doctor; `apply` — the policy and
//!   its guard.

mod access;
mod apply;
mod error;
mod rtkit;
mod sigxcpu;
mod state;
mod sys;

pub use access::{can_use_realtime, RealtimeAccess, RtkitStatus};
pub use apply::{LinuxApplied, LinuxThreadPolicy, RtkitUse};
pub use error::{Errno, LinuxSchedError};
pub use rtkit::{BusError, RtkitError};
pub use sigxcpu::sigxcpu_count;
pub use state::{current_thread_state, ThreadState};
