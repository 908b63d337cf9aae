//! The terminal UI drawn on ratatui's TestBackend: the screen's text is asserted.

use ratatui::backend::TestBackend;
use ratatui::Terminal;
use tenuto_monitor::tui::{render, App, Key};
use tenuto_monitor::{
    now_ms, priority_flags, set_text, Cause, Event, EventKind, InstanceMeta, Namespace,
    PeriodSample, PrioritySample, Publisher, State,
};

fn screen(app: &App) -> String {
    let mut t = Terminal::new(TestBackend::new(140, 48)).unwrap();
    t.draw(|f| render(f, app.state())).unwrap();
    let buf = t.backend().buffer().clone();
    let mut out = String::new();
    for y in 0..buf.area.height {
        for x in 0..buf.area.width {
            out.push_str(buf[(x, y)].symbol());
        }
        out.push('\n');
    }
    out
}

fn publish(ns: &Namespace, host: &str) -> Publisher {
    let mut p = Publisher::create_in(
        ns,
        &InstanceMeta {
            pid: std::process::id(),
            host_exe: host.into(),
            driver: "WASAPI shared: Speakers".into(),
        },
    )
    .unwrap();
    let now = now_ms();
    p.update(|s| {
        s.set_state(State::Streaming);
        s.sample_rate = 48_000.0;
        s.buffer_size = 256;
        s.input_latency = 512;
        s.output_latency = 768;
        set_text(&mut s.policy, "MMCSS \"Pro Audio\" CRITICAL");
        s.periods = 12_345;
        s.late_periods = 3;
        s.late_by_cause = [1, 0, 2, 0];
        s.wake_histogram[3] = 9_000;
        s.wake_histogram[6] = 40;
        s.wake_histogram[12] = 2;
        s.priority = 7;
        s.priority_valid = 1;
        s.demoted = 1;
        s.demotions = 1;
        for i in 0..20u64 {
            let demoted = i >= 15;
            s.push_priority(PrioritySample {
                time_ms: now - (20 - i) * 100,
                priority: if demoted { 7 } else { 26 },
                flags: priority_flags::VALID | if demoted { priority_flags::DEMOTED } else { 0 },
            });
        }
        s.push_period(PeriodSample {
            time_ms: now,
            period: 12_345,
            periods: 1,
            period_ns: 5_333_333,
            wake_late_ns: 20_000,
            engine_ns: 300_000,
            host_ns: 2_000_000,
            slack_ns: 3_013_333,
        });
    });
    p.event(&Event {
        time_ms: now - 1500,
        period: Some(12_000),
        kind: EventKind::Late(Cause::Contention),
        priority: Some(26),
        value: 0,
        text: String::new(),
    });
    p.event(&Event {
        time_ms: now - 500,
        period: Some(12_300),
        kind: EventKind::Demoted,
        priority: Some(7),
        value: 0,
        text: String::new(),
    });
    p
}

#[test]
fn the_monitor_waits_for_an_instance_then_shows_it() {
    let ns = Namespace::new("test.tui.wait");
    let mut app = App::new(ns.clone());
    app.refresh();
    let s = screen(&app);
    assert!(s.contains("No Tenuto driver is running"), "{s}");
    assert!(s.contains("0 instance(s)"), "{s}");

    let _p = publish(&ns, "Cubase13.exe");
    app.relist();
    app.refresh();
    let s = screen(&app);
    assert!(s.contains("1 instance(s)"), "{s}");
    assert!(s.contains("Cubase13.exe"), "{s}");
    assert!(s.contains("streaming"), "{s}");
    assert!(s.contains("48000 Hz  256 frames (5.33 ms)"), "{s}");
    assert!(s.contains("MMCSS \"Pro Audio\" CRITICAL"), "{s}");
    assert!(s.contains("DEMOTED"), "{s}");
    assert!(s.contains("Priority (now 7, lowest 7)"), "{s}");
    assert!(
        s.contains("host overrun 1, demotion 0, contention 2"),
        "{s}"
    );
    assert!(
        s.contains("late: contention  period 12000  priority 26"),
        "{s}"
    );
    assert!(s.contains("demoted  period 12300  priority 7"), "{s}");
    // The histogram's buckets, labelled by their upper bound.
    assert!(
        s.contains("8µ") && s.contains("64µ") && s.contains("4m"),
        "{s}"
    );
    assert!(s.contains("9000") && s.contains("40"), "{s}");
    // The period split: engine 0.300, host 2.000, slack 3.013 ms.
    assert!(s.contains("e 0.300 h 2.000 s  3.013"), "{s}");
    // The newest event is listed first.
    let demoted_at = s.find("demoted  period").unwrap();
    let late_at = s.find("late: contention").unwrap();
    assert!(demoted_at < late_at, "{s}");
}

#[test]
fn up_and_down_select_instances_and_q_quits() {
    let ns = Namespace::new("test.tui.select");
    let _a = publish(&ns, "first.exe");
    let _b = publish(&ns, "second.exe");
    let mut app = App::new(ns);
    app.refresh();
    assert_eq!(app.state().instances.len(), 2);
    assert_eq!(app.state().selected, 0);
    let detail = |app: &App| {
        let s = screen(app);
        // The detail pane's first line names the selected host in bold; find its pid line.
        s.lines()
            .find(|l| l.contains("  pid "))
            .map(str::to_owned)
            .unwrap_or_default()
    };
    assert!(detail(&app).contains("first.exe"));
    assert!(!app.key(Key::Down));
    assert_eq!(app.state().selected, 1);
    assert!(detail(&app).contains("second.exe"), "{}", screen(&app));
    assert!(!app.key(Key::Down)); // wraps around
    assert_eq!(app.state().selected, 0);
    assert!(!app.key(Key::Up));
    assert_eq!(app.state().selected, 1);
    assert!(app.key(Key::Quit));
}

#[test]
fn a_vanished_instance_leaves_the_list() {
    let ns = Namespace::new("test.tui.vanish");
    let p = publish(&ns, "gone.exe");
    let mut app = App::new(ns);
    app.refresh();
    assert!(screen(&app).contains("gone.exe"));
    drop(p);
    app.relist();
    let s = screen(&app);
    assert!(s.contains("No Tenuto driver is running"), "{s}");
}

#[test]
fn a_long_scheduling_text_wraps_and_every_summary_line_stays_on_screen() {
    let ns = Namespace::new("test.tui.wrap");
    let mut p = publish(&ns, "tenuto.exe");
    // The DLL's text under Wine for a host that raises its own threads (about 290 bytes,
    // three rows of a 140-column screen); it once was cut at 256 bytes ("so the dri").
    let long = "manual TIME_CRITICAL: base priority 15; EcoQoS opt-out [Wine: MMCSS calls have \
                no effect; priorities read as Wine's levels] [tenuto.exe: Auto — 1 of the \
                host's 7 threads are TIME_CRITICAL (base priority 15): the host manages \
                priorities itself, so the driver thread uses manual TIME_CRITICAL]";
    assert!(long.len() > 256);
    p.update(|s| set_text(&mut s.policy, long));
    let mut app = App::new(ns);
    app.refresh();
    let s = screen(&app);
    assert!(s.contains("uses manual TIME_CRITICAL]"), "{s}");
    assert!(s.contains("periods 12345 · late 3"), "{s}");
    assert!(s.contains("device: underruns 0"), "{s}");
}
