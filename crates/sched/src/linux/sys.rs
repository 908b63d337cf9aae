//! The kernel's scheduling interface: `struct sched_attr`, the policy
//! numbers, and every system call the Linux policy makes, as safe
//! functions returning [`Errno`].
//!
//! # Safety invariant
//!
//! Every `unsafe` block in this module is a plain system call or libc
//! function acting on the *calling thread* (pid 0 / `pthread_self()` / the
//! caller's own tid), on a thread of this process named by its tid, or on
//! process-wide limits, with arguments that are local, fully initialised,
//! correctly sized `#[repr(C)]` values (or null where the call documents
//! null as allowed). No pointer handed to the kernel outlives the call, and
//! nothing here aliases Rust-owned memory beyond the duration of the call.

#![allow(unsafe_code)]

use super::error::Errno;

// ---------------------------------------------------------------------------
// Kernel ABI not (reliably) in libc.

/// `struct sched_attr`, the `SCHED_ATTR_SIZE_VER0` layout (48 bytes).
#[repr(C)]
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(super) struct SchedAttr {
    pub(super) size: u32,
    pub(super) sched_policy: u32,
    pub(super) sched_flags: u64,
    pub(super) sched_nice: i32,
    pub(super) sched_priority: u32,
    pub(super) sched_runtime: u64,
    pub(super) sched_deadline: u64,
    pub(super) sched_period: u64,
}

pub(super) const SCHED_ATTR_SIZE: u32 = 48;
const _: () = assert!(std::mem::size_of::<SchedAttr>() == SCHED_ATTR_SIZE as usize);

pub(super) const SCHED_OTHER: i32 = 0;
pub(super) const SCHED_FIFO: i32 = 1;
pub(super) const SCHED_RR: i32 = 2;
pub(super) const SCHED_BATCH: i32 = 3;
pub(super) const SCHED_IDLE: i32 = 5;
pub(super) const SCHED_DEADLINE: i32 = 6;
/// Or-ed into `sched_getscheduler`'s answer when reset-on-fork is set.
pub(super) const SCHED_RESET_ON_FORK: i32 = 0x4000_0000;

pub(super) const SCHED_FLAG_RESET_ON_FORK: u64 = 0x01;
pub(super) const SCHED_FLAG_RECLAIM: u64 = 0x02;
pub(super) const SCHED_FLAG_DL_OVERRUN: u64 = 0x04;

/// The smallest runtime the kernel accepts for SCHED_DEADLINE (1 << DL_SCALE).
pub(super) const DL_MIN_RUNTIME_NS: u64 = 1024;

// ---------------------------------------------------------------------------
// Calls.

pub(super) fn gettid() -> libc::pid_t {
    // SAFETY: gettid takes no arguments and cannot fail.
    unsafe { libc::syscall(libc::SYS_gettid) as libc::pid_t }
}

/// `sched_getattr` on thread `tid` (0 = the calling thread).
pub(super) fn sched_getattr(tid: libc::pid_t) -> Result<SchedAttr, Errno> {
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
pub(super) fn sched_setattr(tid: libc::pid_t, attr: &SchedAttr) -> Result<(), Errno> {
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
pub(super) fn own_policy_and_priority() -> Option<(i32, i32)> {
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
pub(super) fn read_attr(tid: libc::pid_t) -> SchedAttr {
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
pub(super) fn restore_attr(tid: libc::pid_t, attr: &SchedAttr) -> Result<(), Errno> {
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

#[cfg(target_env = "gnu")]
pub(super) type Resource = libc::__rlimit_resource_t;
#[cfg(not(target_env = "gnu"))]
pub(super) type Resource = libc::c_int;

pub(super) fn getrlimit(resource: Resource) -> Option<libc::rlimit> {
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
pub(super) fn rlim_u64(v: libc::rlim_t) -> u64 {
    u64::from(v)
}

pub(super) fn limit_value(v: libc::rlim_t) -> Option<u64> {
    (v != libc::RLIM_INFINITY).then_some(rlim_u64(v))
}

/// The calling thread's effective user id.
pub(super) fn geteuid() -> u32 {
    // SAFETY: geteuid cannot fail and only reads the thread's credentials.
    unsafe { libc::geteuid() }
}

/// `pthread_setschedparam(pthread_self(), policy, priority)`: SCHED_FIFO
/// or SCHED_RR for the calling thread.
pub(super) fn set_own_realtime(policy: i32, priority: i32) -> Result<(), Errno> {
    // SAFETY: sched_param is plain old data; all-zero is valid.
    let mut param: libc::sched_param = unsafe { std::mem::zeroed() };
    param.sched_priority = priority;
    // SAFETY: pthread_self() is the live calling thread; `param` is a live,
    // initialised sched_param.
    match unsafe { libc::pthread_setschedparam(libc::pthread_self(), policy, &param) } {
        0 => Ok(()),
        e => Err(Errno(e)),
    }
}

/// Sets `resource` to `limit` (lowering is always allowed; raising a hard
/// limit needs CAP_SYS_RESOURCE).
pub(super) fn setrlimit(resource: Resource, limit: &libc::rlimit) -> Result<(), Errno> {
    // SAFETY: `limit` is a live, initialised rlimit the kernel only reads.
    if unsafe { libc::setrlimit(resource, limit) } == 0 {
        Ok(())
    } else {
        Err(Errno::last())
    }
}
