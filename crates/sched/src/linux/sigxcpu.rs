//! Surviving RLIMIT_RTTIME's soft limit: while the limit is finite, a
//! real-time thread that runs longer than it without blocking gets SIGXCPU,
//! whose default action terminates the process. Once a thread is made
//! real-time under a finite limit, a handler that only counts the signal is
//! installed, unless the process already handles or ignores SIGXCPU. It
//! stays installed.
//!
//! # Safety invariant
//!
//! The `unsafe` blocks here query and set SIGXCPU's disposition with
//! `sigaction`, given live, zero-initialised or fully initialised
//! `sigaction` values and null where the call allows it; they run once per
//! process (`Once`). The handler itself, the one piece of code that runs
//! asynchronously, only increments a lock-free atomic (async-signal-safe).

#![allow(unsafe_code)]

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Once;

use super::sys;

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
pub(super) fn guard_sigxcpu() {
    let finite =
        sys::getrlimit(libc::RLIMIT_RTTIME).is_some_and(|rl| rl.rlim_cur != libc::RLIM_INFINITY);
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
