//! The shared-memory transport end to end: seqlock consistency under a concurrent writer,
//! the event ring, instance listing and stale/dead detection.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use tenuto_monitor::{
    Cause, Event, EventCursor, EventKind, InstanceMeta, Liveness, Namespace, Publisher, Reader,
    State, EVENT_SLOTS, HISTOGRAM_BUCKETS, PERIOD_SAMPLES, PRIORITY_SAMPLES,
};

fn meta(pid: u32, host: &str) -> InstanceMeta {
    InstanceMeta {
        pid,
        host_exe: host.into(),
        driver: "virtual".into(),
    }
}

/// Sets every counter, histogram bucket and ring entry of the snapshot to `v`.
fn fill(s: &mut tenuto_monitor::Snapshot, v: u64) {
    s.periods = v;
    s.late_periods = v;
    s.host_overruns = v;
    s.max_wake_late_ns = v;
    s.total_engine_ns = v;
    s.device_stalls = v;
    s.late_by_cause = [v; 4];
    s.wake_histogram = [v; HISTOGRAM_BUCKETS];
    s.priority = v as i32;
    for p in &mut s.priority_ring {
        p.time_ms = v;
    }
    for p in &mut s.period_ring {
        p.period = v;
        p.engine_ns = v;
    }
    s.demotions = v;
}

fn consistent(s: &tenuto_monitor::Snapshot) -> Option<u64> {
    let v = s.periods;
    let all = [
        s.late_periods,
        s.host_overruns,
        s.max_wake_late_ns,
        s.total_engine_ns,
        s.device_stalls,
        s.demotions,
        s.priority as u64,
    ]
    .into_iter()
    .chain(s.late_by_cause)
    .chain(s.wake_histogram)
    .chain(s.priority_ring.iter().map(|p| p.time_ms))
    .chain(s.period_ring.iter().flat_map(|p| [p.period, p.engine_ns]));
    let mut ok = true;
    for x in all {
        ok &= x == v;
    }
    ok.then_some(v)
}

#[test]
fn readers_never_see_a_torn_snapshot() {
    use std::sync::atomic::AtomicU64;

    // The writer goes on until every reader has read enough snapshots to make the check mean
    // something — however the machine schedules the threads — or 30 s pass.
    const ENOUGH_READS: u64 = 50;
    const ENOUGH_DISTINCT: u64 = 5;
    let ns = Namespace::new("test.seqlock");
    let mut p = Publisher::create_in(&ns, &meta(std::process::id(), "writer.exe")).unwrap();
    let info = ns.list().pop().expect("the publisher is listed");
    let done = Arc::new(AtomicBool::new(false));
    let satisfied = Arc::new(AtomicU64::new(0));
    let readers: Vec<_> = (0..2)
        .map(|_| {
            let info = info.clone();
            let done = Arc::clone(&done);
            let satisfied = Arc::clone(&satisfied);
            std::thread::spawn(move || {
                let r = Reader::open(&info).unwrap();
                let (mut seen, mut last, mut distinct) = (0u64, 0u64, 0u64);
                let mut counted = false;
                while !done.load(Ordering::Acquire) {
                    if let Some(s) = r.snapshot() {
                        let v = consistent(&s)
                            .unwrap_or_else(|| panic!("torn snapshot at {}", s.periods));
                        assert!(v >= last, "went back from {last} to {v}");
                        distinct += u64::from(v != last);
                        last = v;
                        seen += 1;
                    }
                    if !counted && seen >= ENOUGH_READS && distinct >= ENOUGH_DISTINCT {
                        counted = true;
                        satisfied.fetch_add(1, Ordering::AcqRel);
                    }
                    // Leave the writer CPU time on a small machine.
                    std::thread::yield_now();
                }
                (seen, distinct)
            })
        })
        .collect();
    let t0 = Instant::now();
    let mut v = 0;
    while satisfied.load(Ordering::Acquire) < 2 && t0.elapsed() < Duration::from_secs(30) {
        v += 1;
        p.update(|s| fill(s, v));
        if v % 64 == 0 {
            std::thread::yield_now();
        }
    }
    done.store(true, Ordering::Release);
    for r in readers {
        let (seen, distinct) = r.join().unwrap();
        assert!(seen >= ENOUGH_READS, "only {seen} snapshots read in 30 s");
        assert!(
            distinct >= ENOUGH_DISTINCT,
            "only {distinct} distinct values seen"
        );
    }
    let last = Reader::open(&info).unwrap().snapshot().unwrap();
    assert_eq!(consistent(&last), Some(v));
}

#[test]
fn the_event_ring_detects_overrun() {
    let ns = Namespace::new("test.events");
    let mut p = Publisher::create_in(&ns, &meta(std::process::id(), "ev.exe")).unwrap();
    let r = Reader::open(&ns.list()[0]).unwrap();
    let mut cursor = r.cursor_now();
    assert_eq!(cursor, EventCursor(0));
    let ev = |i: i64| Event {
        time_ms: 1,
        period: Some(i as u64),
        kind: EventKind::Late(Cause::HostOverrun),
        priority: None,
        value: i,
        text: "late".into(),
    };
    for i in 0..5 {
        p.event(&ev(i));
    }
    let b = r.new_events(&mut cursor);
    assert_eq!((b.events.len(), b.missed), (5, 0));
    assert_eq!(b.events[4], ev(4));
    let total = EVENT_SLOTS as i64 + 100;
    for i in 5..5 + total {
        p.event(&ev(i));
    }
    let b = r.new_events(&mut cursor);
    assert_eq!(b.missed, 100);
    assert_eq!(b.events.len(), EVENT_SLOTS);
    assert_eq!(b.events[0].value, 105);
    // A second reader starting now sees only what comes next; one from the oldest, a full ring.
    let mut late = r.cursor_now();
    assert!(r.new_events(&mut late).events.is_empty());
    let mut oldest = r.cursor_oldest();
    assert_eq!(r.new_events(&mut oldest).events.len(), EVENT_SLOTS);
}

#[test]
fn instances_are_listed_and_numbered_per_process() {
    let ns = Namespace::new("test.list");
    assert!(ns.list().is_empty());
    let pid = std::process::id();
    let a = Publisher::create_in(&ns, &meta(pid, "a.exe")).unwrap();
    let b = Publisher::create_in(&ns, &meta(pid, "b.exe")).unwrap();
    let l = ns.list();
    assert_eq!(l.len(), 2);
    assert_eq!((l[0].instance, l[1].instance), (0, 1));
    assert_eq!(
        (l[0].host_exe.as_str(), l[1].host_exe.as_str()),
        ("a.exe", "b.exe")
    );
    assert!(l
        .iter()
        .all(|i| i.liveness == Liveness::Live && i.state == State::Loaded));
    drop(a);
    let l = ns.list();
    assert_eq!(l.len(), 1);
    assert_eq!(l[0].host_exe, "b.exe");
    // The freed number is reused.
    let c = Publisher::create_in(&ns, &meta(pid, "c.exe")).unwrap();
    assert_eq!(c.snapshot().instance, 0);
    drop((b, c));
    assert!(ns.list().is_empty());
}

#[test]
fn a_closed_instance_held_by_a_reader_is_not_listed_but_reads_closed() {
    let ns = Namespace::new("test.closed");
    let p = Publisher::create_in(&ns, &meta(std::process::id(), "x.exe")).unwrap();
    let r = Reader::open(&ns.list()[0]).unwrap();
    drop(p);
    let s = r.snapshot().unwrap();
    assert_eq!(s.state(), State::Closed);
    assert_eq!(r.liveness(&s), Liveness::Dead);
    assert!(ns.list().is_empty());
}

#[test]
fn dead_and_stale_instances_are_told_apart() {
    let ns = Namespace::new("test.stale");
    // Another instance keeps the registry (as a second DAW would); without any, the
    // registry itself goes with the last publisher and lists nothing.
    let _keeper = Publisher::create_in(&ns, &meta(std::process::id(), "keeper.exe")).unwrap();
    // A process id that does not exist: the instance's "process" is gone.
    let gone_pid = u32::MAX - 7;
    let dead = Publisher::create_in(&ns, &meta(gone_pid, "crashed.exe")).unwrap();
    let crashed = |l: &[tenuto_monitor::InstanceInfo]| {
        l.iter().filter(|i| i.host_exe == "crashed.exe").count()
    };
    let info = ns
        .list_all()
        .into_iter()
        .find(|i| i.pid == gone_pid)
        .unwrap();
    let holder = Reader::open(&info).unwrap();
    dead.abandon(); // as a crash: slot stays claimed, region stays while `holder` keeps it
    let all = ns.list_all();
    assert_eq!(crashed(&all), 1);
    assert!(all
        .iter()
        .any(|i| i.pid == gone_pid && i.liveness == Liveness::Dead));
    assert_eq!(crashed(&ns.list()), 0, "a dead instance is not listed");
    assert_eq!(ns.list().len(), 1);
    drop(holder);
    // With no holder the region is gone: the claimed slot lists nothing at all.
    assert_eq!(crashed(&ns.list_all()), 0);

    // A live process whose publisher stopped updating: stale once the heartbeat is old.
    let mut p = Publisher::create_in(&ns, &meta(std::process::id(), "hung.exe")).unwrap();
    p.update(|s| s.set_state(State::Streaming));
    let l = ns.list();
    let hung = l.iter().find(|i| i.host_exe == "hung.exe").unwrap();
    assert_eq!(hung.liveness, Liveness::Live);
    assert_eq!(hung.state, State::Streaming);
    let r = Reader::open(hung).unwrap();
    let mut s = r.snapshot().unwrap();
    s.updated_ms -= 10_000;
    assert_eq!(r.liveness(&s), Liveness::Stale);
}

#[test]
fn a_full_registry_reuses_slots_of_dead_instances() {
    let ns = Namespace::new("test.full");
    let mut dead = Vec::new();
    for k in 0..tenuto_monitor::REGISTRY_SLOTS as u32 {
        // Distinct non-existent pids, one instance each.
        dead.push(Publisher::create_in(&ns, &meta(u32::MAX - 100 - k, "gone.exe")).unwrap());
    }
    // Abandon all but the last two: their slots stay claimed but nothing holds the regions.
    let keep: Vec<_> = dead.split_off(dead.len() - 2);
    for d in dead {
        d.abandon();
    }
    let p = Publisher::create_in(&ns, &meta(std::process::id(), "new.exe")).unwrap();
    assert!(ns.list().iter().any(|i| i.host_exe == "new.exe"));
    drop((p, keep));
}

#[test]
fn rings_survive_updates() {
    let ns = Namespace::new("test.rings");
    let mut p = Publisher::create_in(&ns, &meta(std::process::id(), "r.exe")).unwrap();
    for i in 0..(PRIORITY_SAMPLES + 3) as u64 {
        p.update(|s| {
            s.push_priority(tenuto_monitor::PrioritySample {
                time_ms: i,
                priority: i as i32,
                flags: tenuto_monitor::priority_flags::VALID,
            });
            s.push_period(tenuto_monitor::PeriodSample {
                period: i,
                ..Default::default()
            });
        });
    }
    let r = Reader::open(&ns.list()[0]).unwrap();
    let s = r.snapshot().unwrap();
    assert_eq!(s.recent_priorities().count(), PRIORITY_SAMPLES);
    assert_eq!(
        s.recent_priorities().last().map(|p| p.priority),
        Some(PRIORITY_SAMPLES as i32 + 2)
    );
    assert_eq!(s.recent_periods().count(), PERIOD_SAMPLES);
    assert_eq!(s.updates, PRIORITY_SAMPLES as u64 + 3);
}
