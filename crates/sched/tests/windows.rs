//! The Windows scheduling policies and the MMCSS service settings, run under
//! Wine on Linux and natively on Windows.
//!
//! What Wine can show: its avrt accepts every registration (returning a
//! fixed handle, task index 0) and changes nothing, and its
//! `NtQueryInformationThread(ThreadBasicInformation)` reports the thread's
//! *relative* level (0 normal, 2 highest, 15 time-critical) as `Priority`
//! and `BasePriority`. So under Wine these tests check that each call is
//! made, succeeds and is reverted, and that levels and process classes read
//! back; the blocks marked "Windows only" check the scheduling effect
//! (MMCSS boost into 16–31, revert back below 16).
//!
//! Process-wide state (the priority class, the allocation counter) is
//! tested in a child process (`isolated_*`), so that the other tests,
//! running in parallel here, never see a changed class.

#![cfg(windows)]

use std::alloc::{GlobalAlloc, Layout, System};
use std::process::Command;
use std::sync::atomic::{AtomicU64, Ordering};

use tenuto_engine::host::{AppliedPolicy, PrioritySample, ThreadPolicy};
use tenuto_sched::mmcss_service::{self, Change, Probe, ServiceError, BACKUP_KEY, SERVICE_KEY};
use tenuto_sched::policy::{
    AvrtPriority, MmcssFallback, ProcessClass, Scheduling, ThreadLevel, WindowsPolicy,
};
use tenuto_sched::windows::{
    class_name, current_base_priority, current_priority, decide_process_class,
    has_increase_base_priority_privilege, is_elevated, is_wine, mmcss_tasks,
    power_throttling_request, process_priority_class, thread_level, thread_priority_snapshot,
    timer_resolution_guard, ClassDecision, ClassOutcome, EcoQos, SchedError, WindowsThreadPolicy,
};

// ---------------------------------------------------------------------------
// A counting allocator (armed only in the isolated child process)

struct Counting;

static ALLOCATIONS: AtomicU64 = AtomicU64::new(0);

thread_local! {
    /// Set on the sampling thread only: libtest's main thread may allocate meanwhile (it
    /// did in the convert crate's twin of this check under Wine). Const-initialised, so
    /// reading it from the allocator never allocates.
    static ARMED: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

fn armed() -> bool {
    ARMED.try_with(std::cell::Cell::get).unwrap_or(false)
}

// SAFETY: forwards every call unchanged to the system allocator; counting (an atomic and a
// const thread-local, neither allocates) has no effect on the memory returned.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        if armed() {
            ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        }
        // SAFETY: the caller's contract for `alloc` is passed through.
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: the caller's contract for `dealloc` is passed through.
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        if armed() {
            ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        }
        // SAFETY: the caller's contract for `realloc` is passed through.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

// ---------------------------------------------------------------------------
// Helpers

/// Runs `f` on a fresh thread (the policies act on the calling thread).
fn on_thread(f: impl FnOnce() + Send + 'static) {
    std::thread::spawn(f).join().expect("test thread panicked");
}

fn policy(windows: WindowsPolicy, fallback: MmcssFallback, eco: bool) -> WindowsThreadPolicy {
    WindowsThreadPolicy::new(&Scheduling {
        windows,
        mmcss_fallback: fallback,
        eco_qos_opt_out: eco,
        ..Scheduling::default()
    })
}

fn manual(level: ThreadLevel, process_class: Option<ProcessClass>) -> WindowsThreadPolicy {
    policy(
        WindowsPolicy::Manual {
            level,
            process_class,
        },
        MmcssFallback::Inherit,
        false,
    )
}

/// Runs one `#[ignore]`d test of this binary in a child process.
fn run_isolated(name: &str) {
    let exe = std::env::current_exe().expect("current_exe");
    let out = Command::new(exe)
        .args([
            "--exact",
            name,
            "--ignored",
            "--test-threads=1",
            "--nocapture",
        ])
        .output()
        .expect("start the child test process");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    println!("{text}");
    assert!(
        out.status.success(),
        "{name} failed in its own process:\n{text}"
    );
    assert!(text.contains("1 passed"), "{name} did not run:\n{text}");
}

// ---------------------------------------------------------------------------
// MMCSS

#[test]
fn mmcss_registers_and_drop_reverts() {
    on_thread(|| {
        let p = WindowsThreadPolicy::new(&Scheduling::default());
        let mut g = p.apply_here();
        let d = g.describe();
        assert!(g.mmcss_registered(), "{d}");
        assert!(g.mmcss_refusal().is_none() && g.manual().is_none(), "{d}");
        assert!(g.mmcss_task_index().is_some());
        assert!(
            d.starts_with("MMCSS \"Pro Audio\" at CRITICAL (registered, task index"),
            "{d}"
        );
        if !is_wine() {
            // Windows only: MMCSS boosts the thread into 16–31 (it may be in
            // the exhausted band for ~2 ms of every ~10, so look for a while).
            let mut best = 0;
            for _ in 0..50 {
                best = best.max(g.sample().expect("sample").priority);
                std::thread::sleep(std::time::Duration::from_millis(1));
            }
            assert!(
                best >= 16,
                "registered thread never read ≥ 16 (best {best}): {d}"
            );
        } else {
            // Wine: registration changes nothing, so no demotion is claimed.
            let s = g.sample().expect("sample");
            assert!(!g.is_demoted(&s), "{s:?}");
        }
        // Explicit revert reports AvRevertMmThreadCharacteristics' result.
        g.revert().expect("AvRevertMmThreadCharacteristics");
        if !is_wine() {
            let after = current_priority().expect("priority").priority;
            assert!(after < 16, "still boosted after revert: {after}");
        }
        // The thread can register again after the revert ...
        let again = p.apply_here();
        assert!(again.mmcss_registered(), "{}", again.describe());
        drop(again);
        // ... also through the engine's seam (Box<dyn AppliedPolicy>).
        let boxed = ThreadPolicy::apply(&p);
        assert!(boxed.describe().starts_with("MMCSS \"Pro Audio\""));
        drop(boxed);
    });
}

#[test]
fn mmcss_refusal_applies_the_fallback_and_says_so() {
    on_thread(|| {
        let before = thread_level();
        let p = WindowsThreadPolicy::new(&Scheduling::default());
        // Wine's avrt never refuses: simulate the service being off (error 1).
        let g = p.apply_simulating_mmcss_refusal(1);
        let d = g.describe();
        assert!(!g.mmcss_registered());
        assert!(
            d.starts_with(
                "MMCSS \"Pro Audio\" refused (error 1: invalid function: the MMCSS service is stopped or disabled); fallback: manual TIME_CRITICAL: base priority 15"
            ),
            "{d}"
        );
        let err = g.mmcss_refusal().expect("refusal").to_string();
        assert!(err.contains("tenuto mmcss enable"), "{err}");
        assert_eq!(thread_level(), Some(15), "{d}");
        assert_eq!(g.expected_base_priority().map(|_| ()), Some(()));
        g.revert().expect("revert");
        assert_eq!(thread_level(), before);

        // Too many threads, with the Inherit fallback: nothing changes.
        let p = policy(WindowsPolicy::default(), MmcssFallback::Inherit, false);
        let g = p.apply_simulating_mmcss_refusal(565);
        let d = g.describe();
        assert!(d.contains("error 565: too many threads"), "{d}");
        assert!(
            d.contains("fallback: inherit (thread left as created)"),
            "{d}"
        );
        assert!(g
            .mmcss_refusal()
            .expect("refusal")
            .to_string()
            .contains("choose manual priority for Tenuto"));
        assert_eq!(thread_level(), before);
        drop(g);

        // Unknown task: the message lists the registry's tasks (none under Wine).
        let g = p.apply_simulating_mmcss_refusal(1550);
        let msg = g.mmcss_refusal().expect("refusal").to_string();
        let tasks = mmcss_tasks();
        if tasks.is_empty() {
            assert!(msg.contains("the registry lists no MMCSS tasks"), "{msg}");
        } else {
            assert!(msg.contains("choose one of the registry's tasks"), "{msg}");
            assert!(msg.contains(&tasks[0]), "{msg}");
        }
    });
}

#[test]
fn mmcss_priority_levels_are_accepted() {
    on_thread(|| {
        for priority in [
            AvrtPriority::Low,
            AvrtPriority::Normal,
            AvrtPriority::High,
            AvrtPriority::Critical,
        ] {
            let p = policy(
                WindowsPolicy::Mmcss {
                    task: "Pro Audio".to_owned(),
                    priority,
                },
                MmcssFallback::Inherit,
                false,
            );
            let g = p.apply_here();
            assert!(g.mmcss_registered(), "{}", g.describe());
            assert!(!g.describe().contains("failed"), "{}", g.describe());
            g.revert().expect("revert");
        }
    });
}

// ---------------------------------------------------------------------------
// Manual priority

#[test]
fn manual_time_critical_sets_the_level_and_restores_the_old_one() {
    on_thread(|| {
        let initial = thread_level().expect("level");
        let outer = manual(ThreadLevel::Highest, None).apply_here();
        assert_eq!(thread_level(), Some(2), "{}", outer.describe());

        let mut inner = manual(ThreadLevel::TimeCritical, None).apply_here();
        let d = inner.describe();
        assert!(
            d.starts_with("manual TIME_CRITICAL: base priority 15"),
            "{d}"
        );
        assert_eq!(thread_level(), Some(15));
        // TIME_CRITICAL in a NORMAL process: absolute 15 on Windows, and
        // Wine's relative level is 15 too — this also checks the struct.
        let s = inner.sample().expect("sample");
        assert_eq!(s.priority, 15, "{s:?}");
        assert!((1..=31).contains(&s.priority) && !s.realtime);
        assert!(!inner.is_demoted(&s));
        let demoted = PrioritySample { priority: 5, ..s };
        assert!(inner.is_demoted(&demoted));

        inner.revert().expect("revert");
        assert_eq!(thread_level(), Some(2), "inner guard must restore HIGHEST");
        drop(outer);
        assert_eq!(
            thread_level(),
            Some(initial),
            "outer guard must restore the start level"
        );
    });
}

#[test]
fn sample_reads_the_current_priority() {
    on_thread(|| {
        let mut g = policy(WindowsPolicy::Inherit, MmcssFallback::Inherit, false).apply_here();
        assert!(g.describe().starts_with("inherit: thread left as created"));
        let s = g.sample().expect("NtQueryInformationThread");
        assert_eq!(s.realtime, s.priority >= 16);
        if is_wine() {
            // Wine reports the relative level.
            assert_eq!(Some(s.priority), thread_level(), "{s:?}");
        } else {
            assert!((1..=31).contains(&s.priority), "{s:?}");
        }
        assert!(
            !g.is_demoted(&PrioritySample::default()),
            "inherit never demotes"
        );
    });
}

#[test]
fn eco_qos_opt_out_is_requested_and_cleared() {
    on_thread(|| {
        let readable = power_throttling_request().ok();
        let g = policy(WindowsPolicy::Inherit, MmcssFallback::Inherit, true).apply_here();
        let d = g.describe();
        assert!(d.contains("EcoQoS opt-out"), "{d}");
        match g.eco_qos() {
            EcoQos::OptedOut => {}
            // The call was made; older Windows refuses it (not fatal).
            EcoQos::Failed(SchedError::EcoQos { code }) => {
                assert!(
                    d.contains(&format!("EcoQoS opt-out failed (error {code}")),
                    "{d}"
                );
            }
            other => panic!("unexpected {other:?}"),
        }
        if readable.is_some() && *g.eco_qos() == EcoQos::OptedOut {
            // Where Windows reports the request (Windows 10 1709+).
            assert_eq!(power_throttling_request().ok(), Some((1, 0)));
        }
        g.revert().expect("revert");
        if readable.is_some() {
            assert_eq!(power_throttling_request().ok(), Some((0, 0)));
        }

        let g = policy(WindowsPolicy::Inherit, MmcssFallback::Inherit, false).apply_here();
        assert_eq!(*g.eco_qos(), EcoQos::NotRequested);
        assert!(!g.describe().contains("EcoQoS"));
    });
}

#[test]
fn snapshot_lists_this_process_threads() {
    on_thread(|| {
        let _g = manual(ThreadLevel::TimeCritical, None).apply_here();
        let me = current_priority().expect("priority");
        assert_eq!(current_base_priority(), Some(me.base_priority));
        let threads = thread_priority_snapshot(std::process::id());
        let mine = threads
            .iter()
            .find(|t| t.tid == me.tid)
            .unwrap_or_else(|| panic!("thread {} not in {threads:?}", me.tid));
        assert_eq!(mine.base_priority, me.base_priority);
        assert_eq!(mine.priority, 15);
        assert!(threads.len() >= 2, "{threads:?}");
        assert!(thread_priority_snapshot(0xFFFF_FFF0).is_empty());
    });
}

#[test]
fn timer_resolution_guard_begins_and_ends() {
    let g = timer_resolution_guard(1).expect("timeBeginPeriod(1)");
    assert_eq!(g.ms(), 1);
    drop(g);
    let e = timer_resolution_guard(0).expect_err("0 ms is refused");
    assert!(
        matches!(e, SchedError::TimerResolution { ms: 0, code: 97 }),
        "{e:?}"
    );
    assert!(e.to_string().contains("between 1 and 15 ms"));
}

// ---------------------------------------------------------------------------
// Process class

#[test]
fn process_class_decisions() {
    use windows_sys::Win32::System::Threading::{
        HIGH_PRIORITY_CLASS, NORMAL_PRIORITY_CLASS, REALTIME_PRIORITY_CLASS,
    };
    assert_eq!(
        decide_process_class(ProcessClass::High, NORMAL_PRIORITY_CLASS, false),
        ClassDecision::Set(HIGH_PRIORITY_CLASS)
    );
    assert_eq!(
        decide_process_class(ProcessClass::Realtime, NORMAL_PRIORITY_CLASS, true),
        ClassDecision::Set(REALTIME_PRIORITY_CLASS)
    );
    let refused = decide_process_class(ProcessClass::Realtime, NORMAL_PRIORITY_CLASS, false);
    let ClassDecision::Refuse(e) = refused else {
        panic!("REALTIME without the privilege must be refused: {refused:?}");
    };
    let msg = e.to_string();
    assert!(msg.contains("SeIncreaseBasePriorityPrivilege"), "{msg}");
    assert!(msg.contains("silently gives HIGH"), "{msg}");
    assert!(
        msg.contains("run the DAW as administrator")
            || msg.contains("Run the DAW as administrator")
    );
    // Never lowers the host's class.
    assert_eq!(
        decide_process_class(ProcessClass::High, REALTIME_PRIORITY_CLASS, false),
        ClassDecision::Keep(REALTIME_PRIORITY_CLASS)
    );
    assert_eq!(
        decide_process_class(ProcessClass::Realtime, REALTIME_PRIORITY_CLASS, false),
        ClassDecision::Keep(REALTIME_PRIORITY_CLASS)
    );
}

#[test]
fn process_class_in_a_child_process() {
    run_isolated("isolated_process_class_and_allocation_free_sample");
}

/// Run by `process_class_in_a_child_process` in its own process.
#[test]
#[ignore = "changes the process class; run in a child process by process_class_in_a_child_process"]
fn isolated_process_class_and_allocation_free_sample() {
    use windows_sys::Win32::System::Threading::{
        HIGH_PRIORITY_CLASS, NORMAL_PRIORITY_CLASS, REALTIME_PRIORITY_CLASS,
    };
    on_thread(|| {
        let original = process_priority_class().expect("class");
        assert_eq!(original, NORMAL_PRIORITY_CLASS, "{}", class_name(original));

        // HIGH: raised, then restored.
        let g = manual(ThreadLevel::Highest, Some(ProcessClass::High)).apply_here();
        let d = g.describe();
        assert_eq!(
            process_priority_class().ok(),
            Some(HIGH_PRIORITY_CLASS),
            "{d}"
        );
        assert!(
            d.starts_with(
                "manual HIGHEST in a HIGH process (raised from NORMAL): base priority 15"
            ),
            "{d}"
        );
        g.revert().expect("revert");
        assert_eq!(process_priority_class().ok(), Some(original));

        // REALTIME without the privilege (injected): class refused, level kept.
        let level_before = thread_level();
        let g = manual(ThreadLevel::TimeCritical, Some(ProcessClass::Realtime))
            .apply_with_privilege(false);
        let d = g.describe();
        assert_eq!(process_priority_class().ok(), Some(original), "{d}");
        assert_eq!(thread_level(), Some(15), "{d}");
        assert!(
            d.starts_with("manual TIME_CRITICAL: base priority 15 (REALTIME process class refused: the process lacks SeIncreaseBasePriorityPrivilege"),
            "{d}"
        );
        assert!(matches!(
            g.manual().expect("manual").class,
            ClassOutcome::Refused(SchedError::RealtimeWithoutPrivilege)
        ));
        g.revert().expect("revert");
        assert_eq!(thread_level(), level_before);

        // REALTIME with the token's real answer (Wine: privilege present).
        let has = has_increase_base_priority_privilege().expect("privilege check");
        let g = manual(ThreadLevel::TimeCritical, Some(ProcessClass::Realtime)).apply_here();
        let d = g.describe();
        if has {
            assert_eq!(
                process_priority_class().ok(),
                Some(REALTIME_PRIORITY_CLASS),
                "{d}"
            );
            assert!(
                d.starts_with(
                    "manual TIME_CRITICAL in a REALTIME process (raised from NORMAL): base priority 31"
                ),
                "{d}"
            );
        } else {
            assert_eq!(process_priority_class().ok(), Some(original), "{d}");
            assert!(d.contains("REALTIME process class refused"), "{d}");
        }
        g.revert().expect("revert");
        assert_eq!(process_priority_class().ok(), Some(original));

        // Two guards (two driver instances): the class is restored when the
        // last one goes, to the class before the first.
        let a = manual(ThreadLevel::Normal, Some(ProcessClass::High)).apply_here();
        let b =
            manual(ThreadLevel::Normal, Some(ProcessClass::Realtime)).apply_with_privilege(true);
        assert_eq!(process_priority_class().ok(), Some(REALTIME_PRIORITY_CLASS));
        drop(a);
        assert_eq!(process_priority_class().ok(), Some(REALTIME_PRIORITY_CLASS));
        drop(b);
        assert_eq!(process_priority_class().ok(), Some(original));

        // Already at least HIGH: a second HIGH request changes nothing.
        let a = manual(ThreadLevel::Normal, Some(ProcessClass::High)).apply_here();
        let b = manual(ThreadLevel::Normal, Some(ProcessClass::High)).apply_here();
        assert!(
            matches!(
                b.manual().expect("manual").class,
                ClassOutcome::AlreadyAtLeast(_)
            ),
            "{}",
            b.describe()
        );
        assert!(
            b.describe().contains("already so; unchanged"),
            "{}",
            b.describe()
        );
        drop(b);
        assert_eq!(process_priority_class().ok(), Some(HIGH_PRIORITY_CLASS));
        drop(a);
        assert_eq!(process_priority_class().ok(), Some(original));

        // sample()/is_demoted() are real-time safe: no allocation.
        for p in [
            WindowsThreadPolicy::new(&Scheduling::default()),
            manual(ThreadLevel::TimeCritical, None),
        ] {
            let mut g = p.apply_here();
            let _ = g.sample();
            ARMED.with(|a| a.set(true));
            let mut n = 0;
            for _ in 0..1000 {
                if let Some(s) = g.sample() {
                    n += i32::from(g.is_demoted(&s));
                }
            }
            ARMED.with(|a| a.set(false));
            std::hint::black_box(n);
            assert_eq!(
                ALLOCATIONS.load(Ordering::SeqCst),
                0,
                "sample() allocated under {}",
                g.describe()
            );
        }
    });
}

// ---------------------------------------------------------------------------
// The MMCSS service (registry)

const BACKUP_PARENT: &str = r"SOFTWARE\Tenuto";

fn hklm(path: &str) -> String {
    format!(r"HKLM\{path}")
}

/// `reg.exe` (Windows' and Wine's): an independent reader and writer.
fn reg(args: &[&str]) -> (bool, String) {
    // Starting a process under Wine can fail transiently while the
    // wineserver is busy; try a few times before giving up.
    let mut attempt = 0;
    let out = loop {
        match Command::new("reg").args(args).output() {
            Ok(out) => break out,
            Err(e) if attempt < 4 => {
                attempt += 1;
                eprintln!("starting reg.exe failed ({e}); retrying");
                std::thread::sleep(std::time::Duration::from_millis(200));
            }
            Err(e) => panic!("run reg.exe: {e}"),
        }
    };
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
    )
}

fn key_exists(path: &str) -> bool {
    reg(&["query", &hklm(path)]).0
}

fn reg_dword(path: &str, name: &str) -> Option<u32> {
    let (ok, out) = reg(&["query", &hklm(path), "/v", name]);
    if !ok {
        return None;
    }
    let line = out.lines().find(|l| l.contains("REG_DWORD"))?;
    let hex = line.split_whitespace().last()?.trim_start_matches("0x");
    u32::from_str_radix(hex, 16).ok()
}

fn set_reg_dword(path: &str, name: &str, value: u32) {
    let v = value.to_string();
    let (ok, out) = reg(&[
        "add",
        &hklm(path),
        "/v",
        name,
        "/t",
        "REG_DWORD",
        "/d",
        &v,
        "/f",
    ]);
    assert!(ok, "reg add {path} {name}={value}: {out}");
}

fn delete_key(path: &str) {
    let _ = reg(&["delete", &hklm(path), "/f"]);
}

/// The registry state the test may change.
#[derive(Debug, PartialEq, Eq)]
struct RegistryState {
    service_key: bool,
    start: Option<u32>,
    backup_parent: bool,
    backup_key: bool,
    backup: Option<u32>,
}

impl RegistryState {
    fn read() -> Self {
        Self {
            service_key: key_exists(SERVICE_KEY),
            start: reg_dword(SERVICE_KEY, "Start"),
            backup_parent: key_exists(BACKUP_PARENT),
            backup_key: key_exists(BACKUP_KEY),
            backup: reg_dword(BACKUP_KEY, "Start"),
        }
    }
}

/// Captured first and put back on drop (also after a failed assertion).
struct RegistrySnapshot(RegistryState);

impl RegistrySnapshot {
    fn capture() -> Self {
        Self(RegistryState::read())
    }
}

impl std::ops::Deref for RegistrySnapshot {
    type Target = RegistryState;
    fn deref(&self) -> &RegistryState {
        &self.0
    }
}

impl Drop for RegistrySnapshot {
    fn drop(&mut self) {
        let before = &self.0;
        if !before.service_key {
            delete_key(SERVICE_KEY);
        } else if let Some(s) = before.start {
            set_reg_dword(SERVICE_KEY, "Start", s);
        }
        match before.backup {
            Some(b) => set_reg_dword(BACKUP_KEY, "Start", b),
            None if before.backup_key => {
                let _ = reg(&["delete", &hklm(BACKUP_KEY), "/v", "Start", "/f"]);
            }
            None => {
                delete_key(BACKUP_KEY);
                if !before.backup_parent {
                    delete_key(BACKUP_PARENT);
                }
            }
        }
        let after = RegistryState::read();
        if after != *before && !std::thread::panicking() {
            panic!("the registry was not left as found: {before:?} → {after:?}");
        }
    }
}

#[test]
fn mmcss_service_status_disable_enable() {
    // status() reads whatever is there and says what is missing.
    let st = mmcss_service::status().expect("status() must not fail on missing keys");
    let text = st.to_string();
    println!("{text}");
    assert_eq!(st.tasks, mmcss_tasks());
    if is_wine() {
        assert!(!st.service_installed && st.start.is_none(), "{text}");
        assert!(
            text.contains("not installed (the key does not exist)"),
            "{text}"
        );
        assert!(!st.profile_present && text.contains("not found"), "{text}");
        assert!(text.contains("\"Pro Audio\" task: not found"), "{text}");
        assert!(matches!(st.probe, Probe::Accepted { .. }), "{text}");
        assert!(!st.running() && text.contains("looks like Wine"), "{text}");
    } else {
        assert!(st.service_installed && st.start.is_some(), "{text}");
        assert!(st.profile_present, "{text}");
    }

    // Without administrator rights: refused, nothing written.
    for (r, action) in [
        (mmcss_service::disable(false), "disable"),
        (mmcss_service::enable(false), "enable"),
    ] {
        let e = r.expect_err("must refuse without elevation");
        assert_eq!(e, ServiceError::NotElevated { action });
        let msg = e.to_string();
        assert!(msg.contains("needs administrator rights"), "{msg}");
        assert!(msg.contains("nothing was changed"), "{msg}");
    }
    if !is_elevated() {
        // Real Windows, not elevated: the write itself is denied.
        let e = mmcss_service::disable(true).expect_err("not elevated");
        assert!(e.to_string().contains("error 5"), "{e}");
        return;
    }

    let snapshot = RegistrySnapshot::capture();
    if !snapshot.service_key {
        // Wine: no service to disable.
        let e = mmcss_service::disable(true).expect_err("no service key");
        assert!(matches!(e, ServiceError::ServiceMissing { .. }), "{e:?}");
        assert!(e.to_string().contains("Wine has no MMCSS service"), "{e}");
        set_reg_dword(SERVICE_KEY, "Start", 2);
    }
    let original = match reg_dword(SERVICE_KEY, "Start") {
        Some(4) | None => {
            set_reg_dword(SERVICE_KEY, "Start", 2);
            2
        }
        Some(s) => s,
    };
    delete_key(BACKUP_KEY);

    // disable: Start = 4, previous value backed up.
    let c = mmcss_service::disable(true).expect("disable");
    assert_eq!(c, Change::Disabled { previous: original });
    assert!(
        c.needs_restart() && c.to_string().contains("Restart Windows"),
        "{c}"
    );
    assert_eq!(reg_dword(SERVICE_KEY, "Start"), Some(4));
    assert_eq!(reg_dword(BACKUP_KEY, "Start"), Some(original));
    let st = mmcss_service::status().expect("status");
    assert_eq!((st.start, st.backup_start), (Some(4), Some(original)));
    assert!(st.to_string().contains("Start = 4 (disabled)"), "{st}");

    // Idempotent: the backup is kept, not overwritten with 4.
    let c = mmcss_service::disable(true).expect("disable again");
    assert_eq!(
        c,
        Change::AlreadyDisabled {
            backup: Some(original)
        }
    );
    assert!(
        !c.needs_restart() && c.to_string().contains("already disabled"),
        "{c}"
    );
    assert_eq!(reg_dword(BACKUP_KEY, "Start"), Some(original));

    // enable: the saved value comes back, the backup goes.
    let c = mmcss_service::enable(true).expect("enable");
    assert_eq!(
        c,
        Change::Enabled {
            restored: original,
            from_backup: true
        }
    );
    assert_eq!(reg_dword(SERVICE_KEY, "Start"), Some(original));
    assert!(!key_exists(BACKUP_KEY), "backup key left behind");
    if !snapshot.backup_parent {
        assert!(
            !key_exists(BACKUP_PARENT),
            "empty HKLM\\SOFTWARE\\Tenuto left behind"
        );
    }
    let c = mmcss_service::enable(true).expect("enable again");
    assert!(
        matches!(
            c,
            Change::AlreadyEnabled {
                removed_stale_backup: false,
                ..
            }
        ),
        "{c:?}"
    );
    assert!(c.to_string().contains("nothing changed"), "{c}");

    // Disabled by someone else (no backup): enable writes the default, 2.
    set_reg_dword(SERVICE_KEY, "Start", 4);
    let c = mmcss_service::enable(true).expect("enable without backup");
    assert_eq!(
        c,
        Change::Enabled {
            restored: 2,
            from_backup: false
        }
    );
    assert!(c.to_string().contains("no Tenuto backup"), "{c}");
    assert_eq!(reg_dword(SERVICE_KEY, "Start"), Some(2));

    // A stale backup while enabled is removed.
    set_reg_dword(BACKUP_KEY, "Start", 3);
    let c = mmcss_service::enable(true).expect("enable with stale backup");
    assert!(
        matches!(
            c,
            Change::AlreadyEnabled {
                removed_stale_backup: true,
                ..
            }
        ),
        "{c:?}"
    );
    assert!(!key_exists(BACKUP_KEY));

    drop(snapshot); // puts back what was there, and checks it
}
