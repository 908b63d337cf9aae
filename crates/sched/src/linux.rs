//! Applying a [`LinuxPolicy`] to the driver thread on Linux, reading it
//! back, noticing demotions and reverting it.
//!
//! # Safety invariant
//!
//! Every `unsafe` block in this module is a plain system call or libc
//! function acting on the *calling thread* (pid 0 / `pthread_self()` / the
//! caller's own tid) or on process-wide limits and signal dispositions,
//! with arguments that are local, fully initialised, correctly sized
//! `#[repr(C)]` values (or null where the call documents null as allowed).
//! No pointer handed to the kernel outlives the call, and nothing here
//! aliases Rust-owned memory beyond the duration of the call. The one
//! piece of code that runs asynchronously, the SIGXCPU handler, only
//! increments a lock-free atomic (async-signal-safe).
//!
//! # What is done, and how
//!
//! * SCHED_FIFO / SCHED_RR: `pthread_setschedparam(pthread_self())`. When
//!   that is refused with EPERM (no CAP_SYS_NICE, RLIMIT_RTPRIO too low)
//!   the thread asks rtkit (`org.freedesktop.RealtimeKit1`) on the system
//!   bus. rtkit grants at most its `MaxRealtimePriority` (20 by default),
//!   always as SCHED_RR, and only to processes whose RLIMIT_RTTIME hard
//!   limit is at most its `RTTimeUSecMax` (200 ms by default): the limit is
//!   set first (soft = ¾ of rtkit's maximum, hard = the maximum), which is
//!   process-wide and not undone (raising a hard limit again needs
//!   CAP_SYS_RESOURCE).
//! * The D-Bus call runs `busctl` with [`std::process::Command`] instead of
//!   linking a D-Bus library: it happens once at stream start, never in the
//!   period loop, and keeps the dependency tree small. Because `busctl` is
//!   a different process, the call is `MakeThreadRealtimeWithPID(pid, tid,
//!   priority)` (rtkit ≥ 0.12); plain `MakeThreadRealtime` would make rtkit
//!   look the thread up in busctl's process.
//! * SCHED_DEADLINE: `sched_setattr` with runtime = the given µs (or, when
//!   none is given, 25 % of the period: the engine has not measured the
//!   per-period work yet when the policy is applied), deadline = period =
//!   the buffer period, which must be given with
//!   [`LinuxThreadPolicy::with_period`]. It needs CAP_SYS_NICE; rtkit
//!   cannot grant it.
//! * RLIMIT_RTTIME: while it is finite, a real-time thread that runs longer
//!   than the soft limit without blocking gets SIGXCPU (and SIGKILL at the
//!   hard limit). Its default action terminates the process, so once a
//!   thread is made real-time under a finite limit a handler that only
//!   counts the signal is installed — unless the process already handles
//!   or ignores SIGXCPU. It stays installed. See [`sigxcpu_count`].
//! * The guard remembers the thread's previous `sched_attr` and restores it
//!   on drop (the engine drops it on the driver thread).
//!
//! Failures never fail the stream: [`ThreadPolicy::apply`] then returns a
//! guard that describes the failure and leaves the thread untouched;
//! [`LinuxThreadPolicy::try_apply`] returns the error instead.

#![allow(unsafe_code)]

use std::fmt;
use std::process::Command;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Once;

use tenuto_engine::host::{AppliedPolicy, PrioritySample, ThreadPolicy};
use thiserror::Error;

use crate::policy::LinuxPolicy;

// ---------------------------------------------------------------------------
// Kernel ABI not (reliably) in libc.

/// `struct sched_attr`, the `SCHED_ATTR_SIZE_VER0` layout (48 bytes).
#[repr(C)]
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct SchedAttr {
    size: u32,
    sched_policy: u32,
    sched_flags: u64,
    sched_nice: i32,
    sched_priority: u32,
    sched_runtime: u64,
    sched_deadline: u64,
    sched_period: u64,
}

const SCHED_ATTR_SIZE: u32 = 48;
const _: () = assert!(std::mem::size_of::<SchedAttr>() == SCHED_ATTR_SIZE as usize);

const SCHED_OTHER: i32 = 0;
const SCHED_FIFO: i32 = 1;
const SCHED_RR: i32 = 2;
const SCHED_BATCH: i32 = 3;
const SCHED_IDLE: i32 = 5;
const SCHED_DEADLINE: i32 = 6;
/// Or-ed into `sched_getscheduler`'s answer when reset-on-fork is set.
const SCHED_RESET_ON_FORK: i32 = 0x4000_0000;

const SCHED_FLAG_RESET_ON_FORK: u64 = 0x01;
const SCHED_FLAG_RECLAIM: u64 = 0x02;
const SCHED_FLAG_DL_OVERRUN: u64 = 0x04;

/// The smallest runtime the kernel accepts for SCHED_DEADLINE (1 << DL_SCALE).
const DL_MIN_RUNTIME_NS: u64 = 1024;

/// Bit of CAP_SYS_NICE in the capability sets.
const CAP_SYS_NICE: u32 = 23;

/// rtkit's defaults, used when its properties cannot be read.
const RTKIT_DEFAULT_MAX_PRIORITY: u32 = 20;
const RTKIT_DEFAULT_RTTIME_MAX_US: u64 = 200_000;

const RTKIT_BUS_NAME: &str = "org.freedesktop.RealtimeKit1";
const RTKIT_PATH: &str = "/org/freedesktop/RealtimeKit1";

// ---------------------------------------------------------------------------
// Small helpers.

/// An errno value, displayed by its symbolic name ("EPERM").
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Errno(pub i32);

impl Errno {
    fn last() -> Self {
        Self(
            std::io::Error::last_os_error()
                .raw_os_error()
                .unwrap_or(libc::EIO),
        )
    }

    /// The symbolic name, when it is one this module expects.
    pub fn name(self) -> Option<&'static str> {
        Some(match self.0 {
            libc::EPERM => "EPERM",
            libc::EINVAL => "EINVAL",
            libc::EBUSY => "EBUSY",
            libc::ESRCH => "ESRCH",
            libc::ENOSYS => "ENOSYS",
            libc::EAGAIN => "EAGAIN",
            libc::EACCES => "EACCES",
            libc::E2BIG => "E2BIG",
            libc::EFAULT => "EFAULT",
            libc::ENOMEM => "ENOMEM",
            libc::EIO => "EIO",
            _ => return None,
        })
    }
}

impl fmt::Display for Errno {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.name() {
            Some(n) => f.write_str(n),
            None => write!(f, "errno {}", self.0),
        }
    }
}

fn gettid() -> libc::pid_t {
    // SAFETY: gettid takes no arguments and cannot fail.
    unsafe { libc::syscall(libc::SYS_gettid) as libc::pid_t }
}

/// `sched_getattr` on thread `tid` (0 = the calling thread).
fn sched_getattr(tid: libc::pid_t) -> Result<SchedAttr, Errno> {
    let mut attr = SchedAttr::default();
    // SAFETY: `attr` is a live, writable SchedAttr of exactly the size
    // passed; the kernel writes at most that many bytes; flags must be 0.
    let r = unsafe {
        libc::syscall(
            libc::SYS_sched_getattr,
            tid,
            &mut attr as *mut SchedAttr,
            SCHED_ATTR_SIZE,
            0u32,
        )
    };
    if r == 0 {
        Ok(attr)
    } else {
        Err(Errno::last())
    }
}

/// `sched_setattr` on thread `tid` (0 = the calling thread).
fn sched_setattr(tid: libc::pid_t, attr: &SchedAttr) -> Result<(), Errno> {
    let mut attr = *attr;
    attr.size = SCHED_ATTR_SIZE;
    // SAFETY: `attr` is a live, initialised SchedAttr whose `size` field
    // matches its layout; the kernel only reads it; flags must be 0.
    let r = unsafe {
        libc::syscall(
            libc::SYS_sched_setattr,
            tid,
            &attr as *const SchedAttr,
            0u32,
        )
    };
    if r == 0 {
        Ok(())
    } else {
        Err(Errno::last())
    }
}

/// Policy (without the reset-on-fork bit) and priority of the calling
/// thread. Real-time safe: two system calls, no allocation.
fn own_policy_and_priority() -> Option<(i32, i32)> {
    // SAFETY: sched_getscheduler(0) only reads the calling thread's policy.
    let policy = unsafe { libc::sched_getscheduler(0) };
    if policy < 0 {
        return None;
    }
    // SAFETY: sched_param is plain old data; all-zero is a valid value.
    let mut param: libc::sched_param = unsafe { std::mem::zeroed() };
    // SAFETY: `param` is a live, writable sched_param; pid 0 = this thread.
    if unsafe { libc::sched_getparam(0, &mut param) } != 0 {
        return None;
    }
    Some((policy & !SCHED_RESET_ON_FORK, param.sched_priority))
}

/// The full scheduler state of thread `tid` (0 = calling thread), with a
/// fallback for kernels without `sched_getattr` (older than 3.14).
fn read_attr(tid: libc::pid_t) -> SchedAttr {
    if let Ok(attr) = sched_getattr(tid) {
        return attr;
    }
    // SAFETY: sched_getscheduler only reads the given thread's policy.
    let policy = unsafe { libc::sched_getscheduler(tid) };
    // SAFETY: sched_param is plain old data; all-zero is a valid value.
    let mut param: libc::sched_param = unsafe { std::mem::zeroed() };
    // SAFETY: `param` is a live, writable sched_param.
    unsafe { libc::sched_getparam(tid, &mut param) };
    let who = if tid == 0 { gettid() } else { tid };
    // SAFETY: getpriority only reads; on Linux PRIO_PROCESS with a tid
    // addresses that thread. (-1 is a valid nice value, errors are moot.)
    let nice = unsafe { libc::getpriority(libc::PRIO_PROCESS, who as libc::id_t) };
    SchedAttr {
        size: SCHED_ATTR_SIZE,
        sched_policy: (policy.max(0) & !SCHED_RESET_ON_FORK) as u32,
        sched_flags: if policy > 0 && policy & SCHED_RESET_ON_FORK != 0 {
            SCHED_FLAG_RESET_ON_FORK
        } else {
            0
        },
        sched_nice: nice,
        sched_priority: param.sched_priority.max(0) as u32,
        ..SchedAttr::default()
    }
}

/// Restores `attr` on thread `tid` (0 = calling thread). Best effort.
///
/// Fair-class states (OTHER/BATCH/IDLE) go back through
/// `sched_setscheduler` + `setpriority` rather than `sched_setattr`: since
/// Linux 6.12 `sched_getattr` reports the fair time slice in
/// `sched_runtime`, and handing it back to `sched_setattr` would pin it as a
/// custom slice; `sched_setscheduler` keeps whatever slice the thread had.
/// Without CAP_SYS_NICE the reset-on-fork flag rtkit sets cannot be
/// cleared: it is then kept (harmless for a SCHED_OTHER thread).
fn restore_attr(tid: libc::pid_t, attr: &SchedAttr) -> Result<(), Errno> {
    let policy = attr.sched_policy as i32;
    let reset_on_fork = attr.sched_flags & SCHED_FLAG_RESET_ON_FORK != 0;
    let fair = matches!(policy, SCHED_OTHER | SCHED_BATCH | SCHED_IDLE);
    if !fair {
        let mut attr = *attr;
        attr.sched_flags &= if policy == SCHED_DEADLINE {
            SCHED_FLAG_RESET_ON_FORK | SCHED_FLAG_RECLAIM | SCHED_FLAG_DL_OVERRUN
        } else {
            SCHED_FLAG_RESET_ON_FORK
        };
        let mut result = sched_setattr(tid, &attr);
        if result == Err(Errno(libc::EPERM)) && attr.sched_flags & SCHED_FLAG_RESET_ON_FORK == 0 {
            // Clearing reset-on-fork (which rtkit sets) needs CAP_SYS_NICE.
            attr.sched_flags |= SCHED_FLAG_RESET_ON_FORK;
            result = sched_setattr(tid, &attr);
        }
        match result {
            Err(Errno(libc::ENOSYS)) => {} // pre-3.14 kernel: the classic calls below
            other => return other,
        }
    }
    // SAFETY: sched_param is plain old data; all-zero is valid.
    let mut param: libc::sched_param = unsafe { std::mem::zeroed() };
    param.sched_priority = attr.sched_priority as i32;
    let flags = if reset_on_fork {
        SCHED_RESET_ON_FORK
    } else {
        0
    };
    let set = |flags: i32| {
        // SAFETY: `param` is a live, initialised sched_param; `tid` is this
        // process's thread (or 0 for the calling one).
        if unsafe { libc::sched_setscheduler(tid, policy | flags, &param) } == 0 {
            Ok(())
        } else {
            Err(Errno::last())
        }
    };
    match set(flags) {
        // Clearing reset-on-fork (which rtkit sets) needs CAP_SYS_NICE:
        // keep it rather than stay real-time.
        Err(Errno(libc::EPERM)) if flags == 0 => set(SCHED_RESET_ON_FORK)?,
        other => other?,
    }
    if fair {
        let who = (if tid == 0 { gettid() } else { tid }) as libc::id_t;
        // SAFETY: getpriority only reads the thread's nice value.
        let nice = unsafe { libc::getpriority(libc::PRIO_PROCESS, who) };
        if nice != attr.sched_nice {
            // SAFETY: setpriority on a thread of ours with a plain integer;
            // on Linux PRIO_PROCESS with a tid addresses that thread.
            if unsafe { libc::setpriority(libc::PRIO_PROCESS, who, attr.sched_nice) } != 0 {
                return Err(Errno::last());
            }
        }
    }
    Ok(())
}

fn policy_name(policy: i32) -> &'static str {
    match policy {
        SCHED_OTHER => "SCHED_OTHER",
        SCHED_FIFO => "SCHED_FIFO",
        SCHED_RR => "SCHED_RR",
        SCHED_BATCH => "SCHED_BATCH",
        SCHED_IDLE => "SCHED_IDLE",
        SCHED_DEADLINE => "SCHED_DEADLINE",
        _ => "SCHED_?",
    }
}

fn is_realtime(policy: i32) -> bool {
    matches!(policy, SCHED_FIFO | SCHED_RR | SCHED_DEADLINE)
}

#[cfg(target_env = "gnu")]
type Resource = libc::__rlimit_resource_t;
#[cfg(not(target_env = "gnu"))]
type Resource = libc::c_int;

fn getrlimit(resource: Resource) -> Option<libc::rlimit> {
    let mut rl = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: `rl` is a live, writable rlimit.
    if unsafe { libc::getrlimit(resource, &mut rl) } == 0 {
        Some(rl)
    } else {
        None
    }
}

/// `rlim_t` is u64 on 64-bit Linux but u32 on some 32-bit targets.
#[allow(clippy::useless_conversion)]
fn rlim_u64(v: libc::rlim_t) -> u64 {
    u64::from(v)
}

fn limit_value(v: libc::rlim_t) -> Option<u64> {
    (v != libc::RLIM_INFINITY).then_some(rlim_u64(v))
}

// ---------------------------------------------------------------------------
// SIGXCPU.

static SIGXCPU_COUNT: AtomicU64 = AtomicU64::new(0);
static SIGXCPU_INSTALL: Once = Once::new();

extern "C" fn on_sigxcpu(_signal: libc::c_int) {
    // Async-signal-safe: a lock-free atomic increment, nothing else.
    SIGXCPU_COUNT.fetch_add(1, Ordering::Relaxed);
}

/// How many SIGXCPU signals (RLIMIT_RTTIME's soft limit) this module's
/// handler has caught in this process. The handler is installed once a
/// thread is made real-time while RLIMIT_RTTIME is finite and nobody else
/// handles SIGXCPU; it keeps the process from being killed at the soft
/// limit (not at the hard one).
pub fn sigxcpu_count() -> u64 {
    SIGXCPU_COUNT.load(Ordering::Relaxed)
}

/// Installs the counting SIGXCPU handler if RLIMIT_RTTIME is finite and
/// SIGXCPU still has its default (terminating) action.
fn guard_sigxcpu() {
    let finite =
        getrlimit(libc::RLIMIT_RTTIME).is_some_and(|rl| rl.rlim_cur != libc::RLIM_INFINITY);
    if !finite {
        return;
    }
    SIGXCPU_INSTALL.call_once(|| {
        // SAFETY: sigaction is plain old data; all-zero is a valid value.
        let mut old: libc::sigaction = unsafe { std::mem::zeroed() };
        // SAFETY: querying only (act = null); `old` is live and writable.
        if unsafe { libc::sigaction(libc::SIGXCPU, std::ptr::null(), &mut old) } != 0 {
            return;
        }
        if old.sa_sigaction != libc::SIG_DFL {
            return; // the process handles (or ignores) it already
        }
        // SAFETY: as above.
        let mut act: libc::sigaction = unsafe { std::mem::zeroed() };
        act.sa_sigaction = on_sigxcpu as extern "C" fn(libc::c_int) as libc::sighandler_t;
        act.sa_flags = libc::SA_RESTART;
        // SAFETY: `act.sa_mask` is a live sigset_t owned by `act`.
        unsafe { libc::sigemptyset(&mut act.sa_mask) };
        // SAFETY: `act` is fully initialised and its handler only touches
        // an atomic; old action not needed (null).
        unsafe { libc::sigaction(libc::SIGXCPU, &act, std::ptr::null_mut()) };
    });
}

// ---------------------------------------------------------------------------
// Errors.

/// Why a Linux scheduling policy could not be applied.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum LinuxSchedError {
    /// A FIFO/RR priority outside 1–99.
    #[error("{policy} priority {priority} is out of range: use 1–99")]
    InvalidPriority {
        /// "SCHED_FIFO" or "SCHED_RR".
        policy: &'static str,
        /// The priority asked for.
        priority: u8,
    },
    /// The kernel refused FIFO/RR and rtkit was not tried.
    #[error("{policy} priority {priority} refused ({errno}): {hint}")]
    Refused {
        /// "SCHED_FIFO" or "SCHED_RR".
        policy: &'static str,
        /// The priority asked for.
        priority: u8,
        /// What `pthread_setschedparam` returned.
        errno: Errno,
        /// What the user can do.
        hint: &'static str,
    },
    /// The kernel refused FIFO/RR (or was not asked) and rtkit failed too.
    #[error(
        "{policy} {priority} refused ({}), rtkit {reason}: raise RLIMIT_RTPRIO (ulimit -r; e.g. \
         '@audio - rtprio 95' in /etc/security/limits.conf) or {hint}",
        direct.map_or_else(|| "not tried".to_owned(), |e| e.to_string())
    )]
    RtkitFailed {
        /// "SCHED_FIFO" or "SCHED_RR".
        policy: &'static str,
        /// The priority asked for.
        priority: u8,
        /// What the direct attempt returned (None: not tried).
        direct: Option<Errno>,
        /// Why rtkit did not help: "unavailable (no system bus)",
        /// "refused (Access denied)", …
        reason: String,
        /// What the user can do about rtkit.
        hint: &'static str,
    },
    /// SCHED_DEADLINE without a period.
    #[error(
        "SCHED_DEADLINE needs the buffer period (deadline = period = one buffer), but none was \
         given: construct the policy with with_period() once the buffer size and rate are known"
    )]
    DeadlineNeedsPeriod,
    /// SCHED_DEADLINE parameters that cannot work.
    #[error(
        "SCHED_DEADLINE runtime {runtime_ns} ns with period {period_ns} ns is invalid: the \
         runtime must be at least 1024 ns and at most the period; give a runtime in µs below \
         the buffer period"
    )]
    DeadlineParams {
        /// Runtime per period, ns.
        runtime_ns: u64,
        /// Period (= deadline), ns.
        period_ns: u64,
    },
    /// The kernel refused SCHED_DEADLINE.
    #[error(
        "SCHED_DEADLINE runtime {runtime_ns} ns / deadline {deadline_ns} ns / period {period_ns} \
         ns refused ({errno}): {hint}"
    )]
    DeadlineRefused {
        /// Runtime per period, ns.
        runtime_ns: u64,
        /// Deadline, ns.
        deadline_ns: u64,
        /// Period, ns.
        period_ns: u64,
        /// What `sched_setattr` returned.
        errno: Errno,
        /// What the user can do.
        hint: &'static str,
    },
    /// The policy was set but reading it back shows something else.
    #[error("{asked} was accepted but the thread reads back as {found}")]
    NotInEffect {
        /// What was asked for.
        asked: String,
        /// What the thread shows.
        found: String,
    },
}

fn rt_hint(errno: Errno) -> &'static str {
    match errno.0 {
        libc::EPERM => {
            "raise RLIMIT_RTPRIO (ulimit -r; e.g. '@audio - rtprio 95' in \
             /etc/security/limits.conf) or run through rtkit"
        }
        libc::EINVAL => "the priority must be 1–99 for SCHED_FIFO/SCHED_RR",
        _ => "the kernel refused the real-time class; use inherit or check the system's limits",
    }
}

fn deadline_hint(errno: Errno) -> &'static str {
    match errno.0 {
        libc::EPERM => {
            "SCHED_DEADLINE needs CAP_SYS_NICE (root), rtkit cannot grant it, and the thread's CPU \
             affinity must cover its whole root domain (no restricted cpuset/taskset); run as root \
             or choose SCHED_FIFO"
        }
        libc::EBUSY => {
            "admission control refused the bandwidth: other deadline tasks or \
             kernel.sched_rt_runtime_us leave too little CPU time; lower the runtime or choose \
             SCHED_FIFO"
        }
        libc::EINVAL => {
            "the kernel rejected the parameters: runtime ≥ 1024 ns, runtime ≤ deadline ≤ period, \
             and the period within kernel.sched_deadline_period_{min,max}_us; adjust the runtime \
             or buffer size"
        }
        libc::ENOSYS => "this kernel has no SCHED_DEADLINE (needs Linux 3.14+); choose SCHED_FIFO",
        _ => "the kernel refused SCHED_DEADLINE; choose SCHED_FIFO",
    }
}

// ---------------------------------------------------------------------------
// Thread state (for the CLI and doctor).

/// A thread's scheduler state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ThreadState {
    /// Kernel policy number (SCHED_OTHER 0, FIFO 1, RR 2, BATCH 3, IDLE 5,
    /// DEADLINE 6), without the reset-on-fork bit.
    pub policy: i32,
    /// Real-time priority (1–99 under FIFO/RR, 0 otherwise).
    pub priority: i32,
    /// Nice value (meaningful under OTHER/BATCH).
    pub nice: i32,
    /// SCHED_DEADLINE runtime, ns. Under the fair class Linux 6.12+
    /// reports the thread's time slice here; older kernels 0.
    pub runtime_ns: u64,
    /// SCHED_DEADLINE deadline, ns (0 otherwise).
    pub deadline_ns: u64,
    /// SCHED_DEADLINE period, ns (0 otherwise).
    pub period_ns: u64,
    /// Children get SCHED_OTHER (set by rtkit).
    pub reset_on_fork: bool,
}

impl ThreadState {
    fn from_attr(a: &SchedAttr) -> Self {
        Self {
            policy: a.sched_policy as i32,
            priority: a.sched_priority as i32,
            nice: a.sched_nice,
            runtime_ns: a.sched_runtime,
            deadline_ns: a.sched_deadline,
            period_ns: a.sched_period,
            reset_on_fork: a.sched_flags & SCHED_FLAG_RESET_ON_FORK != 0,
        }
    }

    /// "SCHED_FIFO", "SCHED_OTHER", …
    pub fn policy_name(&self) -> &'static str {
        policy_name(self.policy)
    }

    /// FIFO, RR or DEADLINE.
    pub fn is_realtime(&self) -> bool {
        is_realtime(self.policy)
    }
}

impl fmt::Display for ThreadState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.policy {
            SCHED_FIFO | SCHED_RR => write!(f, "{} {}", self.policy_name(), self.priority),
            SCHED_DEADLINE => write!(
                f,
                "SCHED_DEADLINE runtime {} µs / deadline {} µs / period {} µs",
                self.runtime_ns / 1000,
                self.deadline_ns / 1000,
                self.period_ns / 1000
            ),
            SCHED_OTHER | SCHED_BATCH | SCHED_IDLE => {
                write!(f, "{} nice {}", self.policy_name(), self.nice)
            }
            p => write!(
                f,
                "policy {p} priority {} nice {}",
                self.priority, self.nice
            ),
        }
    }
}

/// The calling thread's scheduler state.
pub fn current_thread_state() -> ThreadState {
    ThreadState::from_attr(&read_attr(0))
}

// ---------------------------------------------------------------------------
// Real-time access (for the CLI and doctor).

/// Whether rtkit can be asked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RtkitStatus {
    /// rtkit answered on the system bus.
    Available {
        /// Highest priority it grants (`MaxRealtimePriority`).
        max_priority: u32,
        /// Highest RLIMIT_RTTIME hard limit it accepts, µs (`RTTimeUSecMax`).
        rttime_max_us: u64,
    },
    /// Why not.
    Unavailable {
        /// "no system bus", "busctl not found", rtkit's or busctl's answer.
        reason: String,
    },
}

/// What real-time scheduling the calling thread may get, and by which way.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RealtimeAccess {
    /// Effective user id of the calling thread.
    pub euid: u32,
    /// The calling thread has CAP_SYS_NICE (any FIFO/RR priority, DEADLINE).
    pub cap_sys_nice: bool,
    /// RLIMIT_RTPRIO soft limit (None = unlimited).
    pub rlimit_rtprio: Option<u64>,
    /// RLIMIT_RTTIME soft and hard limits, µs (None = unlimited).
    pub rlimit_rttime_us: (Option<u64>, Option<u64>),
    /// rtkit, for when the direct way is refused.
    pub rtkit: RtkitStatus,
}

impl RealtimeAccess {
    /// Highest FIFO/RR priority the thread may set itself (0 = none).
    pub fn max_direct_priority(&self) -> u8 {
        if self.cap_sys_nice {
            return 99;
        }
        self.rlimit_rtprio.map_or(99, |v| v.min(99) as u8)
    }

    /// One line: what is possible and, if little, what to do.
    pub fn explanation(&self) -> String {
        let rtkit = match &self.rtkit {
            RtkitStatus::Available { max_priority, .. } => {
                format!("rtkit grants SCHED_RR up to {max_priority}")
            }
            RtkitStatus::Unavailable { reason } => format!("rtkit unavailable ({reason})"),
        };
        if self.cap_sys_nice {
            format!(
                "CAP_SYS_NICE{}: SCHED_FIFO/RR 1–99 and SCHED_DEADLINE directly; {rtkit}",
                if self.euid == 0 { " (root)" } else { "" }
            )
        } else {
            let max = self.max_direct_priority();
            let direct = if max > 0 {
                format!("RLIMIT_RTPRIO {max}: SCHED_FIFO/RR up to {max} directly")
            } else {
                "RLIMIT_RTPRIO 0: no real-time priority directly".to_owned()
            };
            let todo = match (&self.rtkit, max) {
                (_, 1..) | (RtkitStatus::Available { .. }, _) => "",
                _ => {
                    "; raise RLIMIT_RTPRIO (ulimit -r, /etc/security/limits.conf) or make \
                     rtkit-daemon reachable"
                }
            };
            format!("{direct}; SCHED_DEADLINE needs CAP_SYS_NICE; {rtkit}{todo}")
        }
    }
}

impl fmt::Display for RealtimeAccess {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.explanation())
    }
}

fn has_cap_sys_nice() -> bool {
    // The calling thread's capabilities (they are per thread).
    let status = std::fs::read_to_string("/proc/thread-self/status")
        .or_else(|_| std::fs::read_to_string("/proc/self/status"))
        .unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("CapEff:"))
        .and_then(|hex| u64::from_str_radix(hex.trim(), 16).ok())
        .is_some_and(|caps| caps & (1 << CAP_SYS_NICE) != 0)
}

/// What real-time scheduling the calling thread can get: root or
/// CAP_SYS_NICE, RLIMIT_RTPRIO, and whether rtkit answers on the system
/// bus (this asks it through `busctl`, so it takes a moment).
pub fn can_use_realtime() -> RealtimeAccess {
    // SAFETY: geteuid cannot fail and only reads the thread's credentials.
    let euid = unsafe { libc::geteuid() };
    let rtprio = getrlimit(libc::RLIMIT_RTPRIO);
    let rttime = getrlimit(libc::RLIMIT_RTTIME);
    RealtimeAccess {
        euid,
        cap_sys_nice: has_cap_sys_nice(),
        rlimit_rtprio: rtprio.map_or(Some(0), |rl| limit_value(rl.rlim_cur)),
        rlimit_rttime_us: rttime.map_or((None, None), |rl| {
            (limit_value(rl.rlim_cur), limit_value(rl.rlim_max))
        }),
        rtkit: match rtkit_properties() {
            Ok((max_priority, rttime_max_us)) => RtkitStatus::Available {
                max_priority,
                rttime_max_us,
            },
            Err(reason) => RtkitStatus::Unavailable { reason },
        },
    }
}

// ---------------------------------------------------------------------------
// rtkit through busctl.

fn system_bus_present() -> bool {
    std::env::var_os("DBUS_SYSTEM_BUS_ADDRESS").is_some()
        || std::path::Path::new("/run/dbus/system_bus_socket").exists()
        || std::path::Path::new("/var/run/dbus/system_bus_socket").exists()
}

/// Runs `busctl --system <args>`; stdout on success, a short reason else.
fn busctl(args: &[&str]) -> Result<String, String> {
    if !system_bus_present() {
        return Err("no system bus".to_owned());
    }
    let out = Command::new("busctl")
        .arg("--system")
        .arg("--timeout=2")
        .args(args)
        .output()
        .map_err(|e| match e.kind() {
            std::io::ErrorKind::NotFound => "busctl not found".to_owned(),
            _ => format!("cannot run busctl: {e}"),
        })?;
    if out.status.success() {
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    } else {
        let err = String::from_utf8_lossy(&out.stderr);
        let err = err.lines().next().unwrap_or("").trim();
        Err(if err.is_empty() {
            format!("busctl exited with {}", out.status)
        } else {
            err.to_owned()
        })
    }
}

/// rtkit's `MaxRealtimePriority` and `RTTimeUSecMax`.
fn rtkit_properties() -> Result<(u32, u64), String> {
    let out = busctl(&[
        "get-property",
        RTKIT_BUS_NAME,
        RTKIT_PATH,
        RTKIT_BUS_NAME,
        "MaxRealtimePriority",
        "RTTimeUSecMax",
    ])?;
    // One line per property: "i 20", "x 200000".
    let mut values = out
        .lines()
        .filter_map(|l| l.split_whitespace().nth(1))
        .map(str::parse::<u64>);
    let max_prio = values.next().and_then(Result::ok);
    let rttime = values.next().and_then(Result::ok);
    Ok((
        max_prio.map_or(RTKIT_DEFAULT_MAX_PRIORITY, |v| v as u32),
        rttime.unwrap_or(RTKIT_DEFAULT_RTTIME_MAX_US),
    ))
}

/// Lowers RLIMIT_RTTIME so rtkit accepts the process: hard = rtkit's
/// maximum, soft = ¾ of it (SIGXCPU before SIGKILL). Left as is when the
/// hard limit is already low enough.
fn limit_rttime_for_rtkit(max_us: u64) -> Result<(), String> {
    let rl = getrlimit(libc::RLIMIT_RTTIME).ok_or("cannot read RLIMIT_RTTIME")?;
    if rl.rlim_max != libc::RLIM_INFINITY && rlim_u64(rl.rlim_max) <= max_us {
        return Ok(());
    }
    let new = libc::rlimit {
        rlim_cur: (max_us / 4 * 3) as libc::rlim_t,
        rlim_max: max_us as libc::rlim_t,
    };
    // SAFETY: `new` is a live, initialised rlimit; lowering is always allowed.
    if unsafe { libc::setrlimit(libc::RLIMIT_RTTIME, &new) } != 0 {
        return Err(format!(
            "cannot set RLIMIT_RTTIME to {} µs ({})",
            max_us,
            Errno::last()
        ));
    }
    Ok(())
}

/// Asks rtkit to make the calling thread real-time at `priority` (clamped
/// to rtkit's maximum) and reads back whether it did. The error completes
/// "rtkit …": "unavailable (no system bus)", "refused (Access denied)".
fn rtkit_make_realtime(priority: u8) -> Result<(), String> {
    let (max_priority, rttime_max_us) =
        rtkit_properties().map_err(|e| format!("unavailable ({e})"))?;
    limit_rttime_for_rtkit(rttime_max_us).map_err(|e| format!("not asked ({e})"))?;
    let priority = u32::from(priority).min(max_priority);
    // SAFETY: getpid cannot fail.
    let pid = unsafe { libc::getpid() };
    let tid = gettid();
    busctl(&[
        "call",
        RTKIT_BUS_NAME,
        RTKIT_PATH,
        RTKIT_BUS_NAME,
        "MakeThreadRealtimeWithPID",
        "ttu",
        &pid.to_string(),
        &tid.to_string(),
        &priority.to_string(),
    ])
    .map_err(|e| format!("refused ({})", e.trim_start_matches("Call failed: ")))?;
    match own_policy_and_priority() {
        Some((p, _)) if is_realtime(p) => Ok(()),
        Some((p, _)) => Err(format!(
            "answered, but the thread is still {}",
            policy_name(p)
        )),
        None => Err("answered, but the thread's policy cannot be read back".to_owned()),
    }
}

// ---------------------------------------------------------------------------
// The policy.

/// Whether rtkit is asked when the kernel refuses SCHED_FIFO/RR.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum RtkitUse {
    /// Only after the direct attempt failed with EPERM (the default).
    #[default]
    Fallback,
    /// Never.
    Never,
    /// Always, without trying directly (for tests and diagnostics).
    Only,
}

/// A [`LinuxPolicy`] ready to be applied to the driver thread.
#[derive(Debug, Clone, PartialEq)]
pub struct LinuxThreadPolicy {
    policy: LinuxPolicy,
    /// The buffer period, ns (SCHED_DEADLINE's period and deadline).
    period_ns: Option<u64>,
    rtkit: RtkitUse,
}

impl LinuxThreadPolicy {
    /// The policy, without a period (enough for everything but DEADLINE).
    pub fn new(policy: LinuxPolicy) -> Self {
        Self {
            policy,
            period_ns: None,
            rtkit: RtkitUse::Fallback,
        }
    }

    /// Sets the buffer period, ns (SCHED_DEADLINE's deadline and period).
    pub fn with_period(mut self, period_ns: u64) -> Self {
        self.period_ns = Some(period_ns);
        self
    }

    /// Sets the buffer period from its length in frames at `sample_rate`.
    pub fn with_period_frames(self, frames: u32, sample_rate: f64) -> Self {
        self.with_period((f64::from(frames) * 1e9 / sample_rate).round() as u64)
    }

    /// Chooses whether and when rtkit is asked.
    pub fn with_rtkit(mut self, rtkit: RtkitUse) -> Self {
        self.rtkit = rtkit;
        self
    }

    /// The policy this applies.
    pub fn policy(&self) -> LinuxPolicy {
        self.policy
    }

    /// The buffer period, ns, if known.
    pub fn period_ns(&self) -> Option<u64> {
        self.period_ns
    }

    /// Applies the policy to the calling thread, or says why it could not;
    /// on error the thread is left as it was.
    pub fn try_apply(&self) -> Result<LinuxApplied, LinuxSchedError> {
        let previous = read_attr(0);
        let before = ThreadState::from_attr(&previous);
        let (how, granted) = match self.policy {
            LinuxPolicy::Inherit => {
                return Ok(LinuxApplied::unchanged(
                    previous,
                    format!("inherit: {before}"),
                ));
            }
            LinuxPolicy::Fifo { priority } => self.apply_rt(SCHED_FIFO, priority)?,
            LinuxPolicy::RoundRobin { priority } => self.apply_rt(SCHED_RR, priority)?,
            LinuxPolicy::Deadline { runtime_us } => self.apply_deadline(runtime_us)?,
        };
        guard_sigxcpu();
        Ok(LinuxApplied {
            tid: gettid(),
            previous,
            changed: true,
            granted_policy: granted.policy,
            granted_priority: granted.priority,
            description: format!("{granted} {how}"),
            sigxcpu_at_apply: sigxcpu_count(),
        })
    }

    fn apply_rt(
        &self,
        policy: i32,
        priority: u8,
    ) -> Result<(String, ThreadState), LinuxSchedError> {
        let name = policy_name(policy);
        if !(1..=99).contains(&priority) {
            return Err(LinuxSchedError::InvalidPriority {
                policy: name,
                priority,
            });
        }
        let direct = if self.rtkit == RtkitUse::Only {
            None
        } else {
            // SAFETY: sched_param is plain old data; all-zero is valid.
            let mut param: libc::sched_param = unsafe { std::mem::zeroed() };
            param.sched_priority = i32::from(priority);
            // SAFETY: pthread_self() is the live calling thread; `param` is
            // a live, initialised sched_param.
            let r = unsafe { libc::pthread_setschedparam(libc::pthread_self(), policy, &param) };
            if r == 0 {
                let now = current_thread_state();
                if now.policy != policy || now.priority != i32::from(priority) {
                    return Err(LinuxSchedError::NotInEffect {
                        asked: format!("{name} {priority}"),
                        found: now.to_string(),
                    });
                }
                return Ok(("(set directly)".to_owned(), now));
            }
            let errno = Errno(r);
            if errno.0 != libc::EPERM || self.rtkit == RtkitUse::Never {
                return Err(LinuxSchedError::Refused {
                    policy: name,
                    priority,
                    errno,
                    hint: rt_hint(errno),
                });
            }
            Some(errno)
        };
        match rtkit_make_realtime(priority) {
            Ok(()) => {
                let now = current_thread_state();
                let mut notes = Vec::new();
                if let Some(e) = direct {
                    notes.push(format!("direct: {e}"));
                }
                if now.policy != policy || now.priority != i32::from(priority) {
                    notes.push(format!("asked {name} {priority}"));
                }
                let how = if notes.is_empty() {
                    "through rtkit".to_owned()
                } else {
                    format!("through rtkit ({})", notes.join("; "))
                };
                Ok((how, now))
            }
            Err(reason) => Err(LinuxSchedError::RtkitFailed {
                policy: name,
                priority,
                direct,
                hint: if reason.starts_with("refused") {
                    "let rtkit grant it (polkit action org.freedesktop.RealtimeKit1.acquire-real-time \
                     needs an active login session)"
                } else {
                    "make rtkit-daemon reachable on the system bus"
                },
                reason,
            }),
        }
    }

    fn apply_deadline(
        &self,
        runtime_us: Option<u32>,
    ) -> Result<(String, ThreadState), LinuxSchedError> {
        let period_ns = self.period_ns.ok_or(LinuxSchedError::DeadlineNeedsPeriod)?;
        let runtime_ns = runtime_us.map_or(period_ns / 4, |us| u64::from(us) * 1000);
        if runtime_ns < DL_MIN_RUNTIME_NS || runtime_ns > period_ns {
            return Err(LinuxSchedError::DeadlineParams {
                runtime_ns,
                period_ns,
            });
        }
        let attr = SchedAttr {
            size: SCHED_ATTR_SIZE,
            sched_policy: SCHED_DEADLINE as u32,
            sched_runtime: runtime_ns,
            sched_deadline: period_ns,
            sched_period: period_ns,
            ..SchedAttr::default()
        };
        sched_setattr(0, &attr).map_err(|errno| LinuxSchedError::DeadlineRefused {
            runtime_ns,
            deadline_ns: period_ns,
            period_ns,
            errno,
            hint: deadline_hint(errno),
        })?;
        let now = current_thread_state();
        if now.policy != SCHED_DEADLINE
            || now.runtime_ns != runtime_ns
            || now.period_ns != period_ns
        {
            return Err(LinuxSchedError::NotInEffect {
                asked: ThreadState::from_attr(&attr).to_string(),
                found: now.to_string(),
            });
        }
        let how = if runtime_us.is_some() {
            "(set directly)"
        } else {
            "(set directly; runtime 25% of the period)"
        };
        Ok((how.to_owned(), now))
    }
}

impl ThreadPolicy for LinuxThreadPolicy {
    fn apply_with_period(&self, period_ns: u64) -> Box<dyn AppliedPolicy> {
        // A period set explicitly wins; otherwise the stream's.
        match self.period_ns {
            Some(_) => self.apply(),
            None => self.clone().with_period(period_ns).apply(),
        }
    }

    fn apply(&self) -> Box<dyn AppliedPolicy> {
        match self.try_apply() {
            Ok(applied) => Box::new(applied),
            Err(e) => {
                let previous = read_attr(0);
                let state = ThreadState::from_attr(&previous);
                Box::new(LinuxApplied::unchanged(previous, format!("{state}: {e}")))
            }
        }
    }
}

/// A Linux policy in effect on a thread; dropping it restores the state
/// the thread had before (call or drop it on that thread).
#[derive(Debug)]
pub struct LinuxApplied {
    tid: libc::pid_t,
    previous: SchedAttr,
    /// Whether anything was changed (and must be reverted).
    changed: bool,
    /// Policy this gave the thread (SCHED_OTHER when nothing was changed).
    granted_policy: i32,
    /// Priority this gave the thread.
    granted_priority: i32,
    description: String,
    sigxcpu_at_apply: u64,
}

impl LinuxApplied {
    fn unchanged(previous: SchedAttr, description: String) -> Self {
        Self {
            tid: gettid(),
            previous,
            changed: false,
            granted_policy: SCHED_OTHER,
            granted_priority: 0,
            description,
            sigxcpu_at_apply: sigxcpu_count(),
        }
    }

    /// The thread's state before the policy was applied (restored on drop).
    pub fn previous(&self) -> ThreadState {
        ThreadState::from_attr(&self.previous)
    }

    /// Whether the policy put the thread in a real-time class.
    pub fn made_realtime(&self) -> bool {
        self.changed && is_realtime(self.granted_policy)
    }

    /// SIGXCPU signals (RLIMIT_RTTIME soft limit) caught since `apply`.
    pub fn sigxcpu_since_apply(&self) -> u64 {
        sigxcpu_count().saturating_sub(self.sigxcpu_at_apply)
    }
}

impl AppliedPolicy for LinuxApplied {
    fn describe(&self) -> String {
        self.description.clone()
    }

    fn sample(&mut self) -> Option<PrioritySample> {
        let (policy, priority) = own_policy_and_priority()?;
        let realtime = is_realtime(policy);
        Some(PrioritySample {
            priority: if matches!(policy, SCHED_FIFO | SCHED_RR) {
                priority
            } else {
                0
            },
            realtime,
        })
    }

    fn is_demoted(&self, sample: &PrioritySample) -> bool {
        self.made_realtime()
            && (!sample.realtime
                || (self.granted_priority > 0 && sample.priority < self.granted_priority))
    }
}

impl Drop for LinuxApplied {
    fn drop(&mut self) {
        if !self.changed {
            return;
        }
        let target = if gettid() == self.tid { 0 } else { self.tid };
        // Nothing to report to from here; a failure leaves the thread as
        // the policy (or whoever changed it since) set it.
        let _ = restore_attr(target, &self.previous);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errno_names() {
        assert_eq!(Errno(libc::EPERM).to_string(), "EPERM");
        assert_eq!(Errno(4095).to_string(), "errno 4095");
    }

    #[test]
    fn state_display() {
        let s = ThreadState {
            policy: SCHED_FIFO,
            priority: 80,
            nice: 0,
            runtime_ns: 0,
            deadline_ns: 0,
            period_ns: 0,
            reset_on_fork: false,
        };
        assert_eq!(s.to_string(), "SCHED_FIFO 80");
        let o = ThreadState {
            policy: SCHED_OTHER,
            priority: 0,
            ..s
        };
        assert_eq!(o.to_string(), "SCHED_OTHER nice 0");
    }

    #[test]
    fn error_messages_say_what_to_do() {
        let e = LinuxSchedError::Refused {
            policy: "SCHED_FIFO",
            priority: 80,
            errno: Errno(libc::EPERM),
            hint: rt_hint(Errno(libc::EPERM)),
        };
        let m = e.to_string();
        assert!(m.starts_with("SCHED_FIFO priority 80 refused (EPERM): raise RLIMIT_RTPRIO"));
        let e = LinuxSchedError::RtkitFailed {
            policy: "SCHED_FIFO",
            priority: 80,
            direct: Some(Errno(libc::EPERM)),
            reason: "unavailable (no system bus)".into(),
            hint: "make rtkit-daemon reachable on the system bus",
        };
        assert!(e
            .to_string()
            .starts_with("SCHED_FIFO 80 refused (EPERM), rtkit unavailable (no system bus)"));
    }

    #[test]
    fn deadline_validation() {
        let p = LinuxThreadPolicy::new(LinuxPolicy::Deadline {
            runtime_us: Some(5000),
        })
        .with_period(1_000_000);
        assert!(matches!(
            p.try_apply(),
            Err(LinuxSchedError::DeadlineParams { .. })
        ));
        let p = LinuxThreadPolicy::new(LinuxPolicy::Deadline { runtime_us: None })
            .with_period_frames(48, 48_000.0);
        assert_eq!(p.period_ns(), Some(1_000_000));
    }
}
