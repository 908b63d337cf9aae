//! Applying, sampling, demoting and reverting Linux scheduling policies for
//! real. Each case runs in a freshly spawned thread so that nothing leaks
//! into the test harness's threads. CI runs as root; where the process has
//! no CAP_SYS_NICE the real-time cases check that the refusal is explained.
#![cfg(target_os = "linux")]

use tenuto_engine::host::{AppliedPolicy, ThreadPolicy};
use tenuto_sched::linux::{
    can_use_realtime, current_thread_state, LinuxSchedError, LinuxThreadPolicy, RtkitStatus,
    RtkitUse,
};
use tenuto_sched::policy::LinuxPolicy;

const SCHED_OTHER: i32 = 0;
const SCHED_FIFO: i32 = 1;
const SCHED_RR: i32 = 2;
const SCHED_DEADLINE: i32 = 6;
const RESET_ON_FORK: i32 = 0x4000_0000;

/// `struct sched_attr` (VER0), declared independently of the crate's own.
#[repr(C)]
#[derive(Debug, Default, Clone, Copy)]
struct Attr {
    size: u32,
    policy: u32,
    flags: u64,
    nice: i32,
    priority: u32,
    runtime: u64,
    deadline: u64,
    period: u64,
}

fn raw_attr() -> Attr {
    let mut a = Attr::default();
    // SAFETY: `a` is a live, writable 48-byte sched_attr; pid 0 = this thread.
    let r = unsafe { libc::syscall(libc::SYS_sched_getattr, 0, &mut a as *mut Attr, 48u32, 0u32) };
    assert_eq!(r, 0, "sched_getattr failed");
    a
}

/// (policy, priority) through sched_getscheduler/sched_getparam.
fn raw_policy() -> (i32, i32) {
    // SAFETY: reads the calling thread's policy.
    let policy = unsafe { libc::sched_getscheduler(0) };
    assert!(policy >= 0, "sched_getscheduler failed");
    // SAFETY: sched_param is plain old data; all-zero is valid.
    let mut p: libc::sched_param = unsafe { std::mem::zeroed() };
    // SAFETY: `p` is live and writable; pid 0 = this thread.
    assert_eq!(unsafe { libc::sched_getparam(0, &mut p) }, 0);
    (policy & !RESET_ON_FORK, p.sched_priority)
}

/// Changes the calling thread's policy behind the guard's back.
fn force_policy(policy: i32, priority: i32) {
    // SAFETY: sched_param is plain old data; all-zero is valid.
    let mut p: libc::sched_param = unsafe { std::mem::zeroed() };
    p.sched_priority = priority;
    // SAFETY: `p` is live and initialised; pid 0 = this thread.
    let r = unsafe { libc::sched_setscheduler(0, policy, &p) };
    assert_eq!(r, 0, "sched_setscheduler({policy}, {priority}) failed");
}

/// Whether this thread may set real-time policies itself (CAP_SYS_NICE).
fn privileged() -> bool {
    std::fs::read_to_string("/proc/thread-self/status")
        .unwrap_or_default()
        .lines()
        .find_map(|l| l.strip_prefix("CapEff:"))
        .and_then(|h| u64::from_str_radix(h.trim(), 16).ok())
        .is_some_and(|c| c & (1 << 23) != 0)
}

fn is_root() -> bool {
    // SAFETY: geteuid cannot fail.
    unsafe { libc::geteuid() == 0 }
}

/// Runs `f` in a fresh thread and propagates its panic.
fn in_thread<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> T {
    std::thread::spawn(f).join().expect("test thread panicked")
}

/// Drops the calling thread's (only this thread's: raw syscall, not the
/// glibc wrapper that changes every thread) credentials to nobody, which
/// clears its capabilities.
fn become_nobody_in_this_thread() {
    // SAFETY: the raw setresuid syscall changes only the calling thread's
    // credentials; the arguments are plain integers.
    let r = unsafe { libc::syscall(libc::SYS_setresuid, 65534, 65534, 65534) };
    assert_eq!(r, 0, "setresuid failed");
    assert!(!privileged());
}

/// Applies FIFO or RR, checks it, simulates demotions, drops, checks the revert.
fn real_time_round_trip(policy: LinuxPolicy, kernel_policy: i32, priority: i32) {
    in_thread(move || {
        let before = raw_attr();
        assert_eq!(before.policy as i32, SCHED_OTHER);
        let p = LinuxThreadPolicy::new(policy).with_rtkit(RtkitUse::Never);
        if !privileged() {
            let e = p.try_apply().expect_err("applied without CAP_SYS_NICE");
            let m = e.to_string();
            println!("not privileged: {m}");
            // RLIMIT_RTPRIO may allow it on a developer machine; then the
            // call succeeded above and we would not be here.
            assert!(m.contains("(EPERM)") && m.contains("RLIMIT_RTPRIO"), "{m}");
            assert_eq!(raw_policy(), (SCHED_OTHER, 0));
            return;
        }
        let mut guard = p.try_apply().expect("apply as root");
        assert_eq!(raw_policy(), (kernel_policy, priority));
        let a = raw_attr();
        assert_eq!(
            (a.policy as i32, a.priority as i32),
            (kernel_policy, priority)
        );
        let name = if kernel_policy == SCHED_FIFO {
            "SCHED_FIFO"
        } else {
            "SCHED_RR"
        };
        assert_eq!(
            guard.describe(),
            format!("{name} {priority} (set directly)")
        );
        let s = guard.sample().expect("sample");
        assert_eq!((s.priority, s.realtime), (priority, true));
        assert!(!guard.is_demoted(&s));

        // A lower real-time priority is a demotion…
        force_policy(kernel_policy, 1);
        let s = guard.sample().expect("sample");
        assert_eq!((s.priority, s.realtime), (1, true));
        assert!(guard.is_demoted(&s));
        // …and so is leaving the real-time class.
        force_policy(SCHED_OTHER, 0);
        let s = guard.sample().expect("sample");
        assert_eq!((s.priority, s.realtime), (0, false));
        assert!(guard.is_demoted(&s));

        force_policy(kernel_policy, 99);
        drop(guard);
        let after = raw_attr();
        assert_eq!(
            (after.policy, after.priority, after.nice),
            (before.policy, before.priority, before.nice)
        );
        assert_eq!(raw_policy(), (SCHED_OTHER, 0));
    });
}

#[test]
fn fifo_is_applied_sampled_demoted_and_reverted() {
    real_time_round_trip(LinuxPolicy::Fifo { priority: 80 }, SCHED_FIFO, 80);
}

#[test]
fn round_robin_is_applied_sampled_demoted_and_reverted() {
    real_time_round_trip(LinuxPolicy::RoundRobin { priority: 40 }, SCHED_RR, 40);
}

#[test]
fn deadline_is_applied_sampled_demoted_and_reverted() {
    in_thread(|| {
        let before = raw_attr();
        // 48 frames at 48 kHz: 1 ms period; runtime defaults to 25 %.
        let p = LinuxThreadPolicy::new(LinuxPolicy::Deadline { runtime_us: None })
            .with_period_frames(48, 48_000.0);
        let mut guard = match p.try_apply() {
            Ok(g) => g,
            Err(e) => {
                // Not privileged, or the environment refuses SCHED_DEADLINE
                // (restricted cpuset, RT cgroup, admission control): the
                // error must name the errno and what to do.
                let m = e.to_string();
                println!("SCHED_DEADLINE refused here: {m}");
                assert!(
                    matches!(e, LinuxSchedError::DeadlineRefused { .. }),
                    "{e:?}"
                );
                assert!(m.contains("refused (E") && m.contains("SCHED_FIFO"), "{m}");
                assert!(
                    !privileged() || !m.contains("(EINVAL)"),
                    "parameters rejected: {m}"
                );
                assert_eq!(raw_attr().policy, before.policy);
                return;
            }
        };
        let a = raw_attr();
        assert_eq!(a.policy as i32, SCHED_DEADLINE);
        assert_eq!(
            (a.runtime, a.deadline, a.period),
            (250_000, 1_000_000, 1_000_000)
        );
        assert_eq!(raw_policy().0, SCHED_DEADLINE);
        assert_eq!(
            guard.describe(),
            "SCHED_DEADLINE runtime 250 µs / deadline 1000 µs / period 1000 µs \
             (set directly; runtime 25% of the period)"
        );
        let s = guard.sample().expect("sample");
        assert_eq!((s.priority, s.realtime), (0, true));
        assert!(!guard.is_demoted(&s));

        force_policy(SCHED_OTHER, 0);
        let s = guard.sample().expect("sample");
        assert!(!s.realtime);
        assert!(guard.is_demoted(&s));

        drop(guard);
        let after = raw_attr();
        assert_eq!(
            (after.policy, after.priority, after.nice, after.runtime),
            (before.policy, before.priority, before.nice, before.runtime)
        );
    });
}

#[test]
fn deadline_without_a_period_is_a_clear_error() {
    in_thread(|| {
        let p = LinuxThreadPolicy::new(LinuxPolicy::Deadline {
            runtime_us: Some(200),
        });
        let e = p.try_apply().expect_err("no period");
        assert_eq!(e, LinuxSchedError::DeadlineNeedsPeriod);
        assert!(e.to_string().contains("with_period"), "{e}");
        // The infallible path leaves the thread alone and says why.
        let mut guard = p.apply();
        assert_eq!(raw_policy(), (SCHED_OTHER, 0));
        let d = guard.describe();
        assert!(
            d.starts_with("SCHED_OTHER nice 0: SCHED_DEADLINE needs"),
            "{d}"
        );
        let s = guard.sample().expect("sample");
        assert!(!s.realtime && !guard.is_demoted(&s));
    });
}

#[test]
fn inherit_leaves_the_thread_unchanged() {
    in_thread(|| {
        let before = raw_attr();
        let p = LinuxThreadPolicy::new(LinuxPolicy::Inherit);
        let mut guard = p.apply();
        assert_eq!(guard.describe(), "inherit: SCHED_OTHER nice 0");
        let a = raw_attr();
        assert_eq!(
            (a.policy, a.priority, a.nice),
            (before.policy, before.priority, before.nice)
        );
        let s = guard.sample().expect("sample");
        assert_eq!((s.priority, s.realtime), (0, false));
        assert!(!guard.is_demoted(&s));
        drop(guard);
        let a = raw_attr();
        assert_eq!(
            (a.policy, a.priority, a.nice),
            (before.policy, before.priority, before.nice)
        );
    });
}

#[test]
fn out_of_range_priority_is_rejected_before_the_kernel() {
    in_thread(|| {
        let e = LinuxThreadPolicy::new(LinuxPolicy::Fifo { priority: 0 })
            .try_apply()
            .expect_err("priority 0");
        assert_eq!(
            e.to_string(),
            "SCHED_FIFO priority 0 is out of range: use 1–99"
        );
        assert_eq!(raw_policy(), (SCHED_OTHER, 0));
    });
}

/// Without CAP_SYS_NICE (a developer machine, or a root thread that gave its
/// credentials up) the refusal names EPERM, the limit and the remedies, and
/// the infallible path leaves the thread untouched.
#[test]
fn unprivileged_fifo_is_refused_with_a_helpful_message() {
    in_thread(|| {
        if is_root() {
            become_nobody_in_this_thread();
        }
        if privileged() {
            println!("skipped: this thread keeps CAP_SYS_NICE");
            return;
        }
        let rtprio = can_use_realtime().rlimit_rtprio;
        if rtprio.is_none_or(|v| v >= 99) {
            println!("skipped: RLIMIT_RTPRIO allows priority 99 ({rtprio:?})");
            return;
        }
        let p = LinuxThreadPolicy::new(LinuxPolicy::Fifo { priority: 99 });
        let e = p
            .clone()
            .with_rtkit(RtkitUse::Never)
            .try_apply()
            .expect_err("refused");
        assert_eq!(
            e.to_string(),
            "SCHED_FIFO priority 99 refused (EPERM): raise RLIMIT_RTPRIO (ulimit -r; e.g. \
             '@audio - rtprio 95' in /etc/security/limits.conf) or run through rtkit"
        );

        let p = LinuxThreadPolicy::new(LinuxPolicy::Deadline { runtime_us: None })
            .with_period(1_000_000);
        let e = p.try_apply().expect_err("refused");
        let m = e.to_string();
        assert!(
            m.contains("refused (EPERM)") && m.contains("CAP_SYS_NICE"),
            "{m}"
        );

        // With the rtkit fallback (whatever rtkit answers to nobody).
        let p = LinuxThreadPolicy::new(LinuxPolicy::Fifo { priority: 99 });
        let mut guard = p.apply();
        let d = guard.describe();
        println!("{d}");
        if raw_policy().0 == SCHED_OTHER {
            // rtkit unavailable (no bus, not installed) or refused (polkit).
            assert!(
                d.starts_with("SCHED_OTHER nice 0: SCHED_FIFO 99 refused (EPERM), rtkit ")
                    && d.contains("RLIMIT_RTPRIO"),
                "{d}"
            );
            let s = guard.sample().expect("sample");
            assert!(!s.realtime && !guard.is_demoted(&s));
        } else {
            assert!(d.contains("through rtkit (direct: EPERM"), "{d}");
        }
    });
}

/// rtkit, where a system bus with rtkit exists; otherwise says why and passes.
#[test]
fn rtkit_grants_real_time_where_available() {
    let access = in_thread(can_use_realtime);
    println!("{access}");
    if let RtkitStatus::Unavailable { reason } = &access.rtkit {
        println!("skipped: rtkit unavailable ({reason})");
        return;
    }
    in_thread(move || {
        let p =
            LinuxThreadPolicy::new(LinuxPolicy::Fifo { priority: 10 }).with_rtkit(RtkitUse::Only);
        let mut guard = match p.try_apply() {
            Ok(g) => g,
            Err(e) => panic!("rtkit answers on the bus but refused: {e}"),
        };
        let d = guard.describe();
        assert!(d.contains("through rtkit"), "{d}");
        let (policy, prio) = raw_policy();
        assert!(policy == SCHED_RR || policy == SCHED_FIFO, "{d}");
        let s = guard.sample().expect("sample");
        assert_eq!((s.priority, s.realtime), (prio, true));
        assert!(!guard.is_demoted(&s));
        // rtkit only serves processes whose RLIMIT_RTTIME is bounded by its
        // RTTimeUSecMax: apply set it (soft below hard, so SIGXCPU first).
        let mut rl = libc::rlimit {
            rlim_cur: 0,
            rlim_max: 0,
        };
        // SAFETY: `rl` is live and writable.
        assert_eq!(unsafe { libc::getrlimit(libc::RLIMIT_RTTIME, &mut rl) }, 0);
        if let RtkitStatus::Available { rttime_max_us, .. } = access.rtkit {
            assert!(rl.rlim_max <= rttime_max_us as libc::rlim_t, "{rl:?}");
            assert!(rl.rlim_cur < rl.rlim_max, "{rl:?}");
        }
        drop(guard);
        assert_eq!(raw_policy(), (SCHED_OTHER, 0));
    });
}

#[test]
fn state_and_access_read_the_calling_thread() {
    in_thread(|| {
        let s = current_thread_state();
        assert_eq!(s.to_string(), "SCHED_OTHER nice 0");
        assert!(!s.is_realtime());
        let a = can_use_realtime();
        assert_eq!(a.cap_sys_nice, privileged());
        let line = a.explanation();
        assert!(!line.contains('\n') && line.contains("rtkit"), "{line}");
        println!("{line}");
    });
}

/// Under a finite RLIMIT_RTTIME a real-time policy installs the counting
/// SIGXCPU handler: the signal (sent at the soft limit) no longer kills the
/// process, and it is counted for the diagnostics.
#[test]
fn sigxcpu_is_counted_not_fatal_under_rlimit_rttime() {
    in_thread(|| {
        if !privileged() {
            println!("skipped: needs CAP_SYS_NICE to apply SCHED_FIFO directly");
            return;
        }
        let mut old = libc::rlimit {
            rlim_cur: 0,
            rlim_max: 0,
        };
        // SAFETY: `old` is live and writable.
        assert_eq!(unsafe { libc::getrlimit(libc::RLIMIT_RTTIME, &mut old) }, 0);
        // Only the soft limit, which can be raised back without privilege.
        let limited = libc::rlimit {
            rlim_cur: 500_000,
            rlim_max: old.rlim_max,
        };
        // SAFETY: `limited` is live and initialised.
        assert_eq!(unsafe { libc::setrlimit(libc::RLIMIT_RTTIME, &limited) }, 0);
        let guard = LinuxThreadPolicy::new(LinuxPolicy::Fifo { priority: 10 })
            .try_apply()
            .expect("apply as root");
        // SAFETY: restores the soft limit read above.
        assert_eq!(unsafe { libc::setrlimit(libc::RLIMIT_RTTIME, &old) }, 0);
        assert_eq!(guard.sigxcpu_since_apply(), 0);
        // SAFETY: sends SIGXCPU to this thread; the handler only counts.
        assert_eq!(unsafe { libc::raise(libc::SIGXCPU) }, 0);
        assert_eq!(guard.sigxcpu_since_apply(), 1);
        assert!(tenuto_sched::linux::sigxcpu_count() >= 1);
        drop(guard);
        assert_eq!(raw_policy(), (SCHED_OTHER, 0));
    });
}
