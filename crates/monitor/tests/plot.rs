//! The SVG pictures are produced, parse as XML and hold the expected series.

use tenuto_monitor::plot::{
    lateness_svg, report_svg, save, timeline_svg, LatenessRun, Mark, MarkKind,
};
use tenuto_monitor::{Cause, HISTOGRAM_BUCKETS};

fn texts(doc: &roxmltree::Document<'_>) -> Vec<String> {
    doc.descendants()
        .filter(|n| n.has_tag_name("text"))
        .map(|n| n.text().unwrap_or_default().trim().to_owned())
        .collect()
}

fn count(doc: &roxmltree::Document<'_>, tag: &str) -> usize {
    doc.descendants().filter(|n| n.has_tag_name(tag)).count()
}

fn histograms() -> ([u64; HISTOGRAM_BUCKETS], [u64; HISTOGRAM_BUCKETS]) {
    let mut mmcss = [0u64; HISTOGRAM_BUCKETS];
    mmcss[2] = 9_900;
    mmcss[5] = 95;
    mmcss[11] = 5;
    let mut normal = [0u64; HISTOGRAM_BUCKETS];
    normal[4] = 8_000;
    normal[8] = 1_900;
    normal[13] = 100;
    (mmcss, normal)
}

#[test]
fn the_lateness_distribution_has_one_series_per_policy() {
    let (mmcss, normal) = histograms();
    let svg = lateness_svg(
        "Wake-up lateness by policy",
        &[
            LatenessRun {
                label: "MMCSS Pro Audio",
                histogram: &mmcss,
            },
            LatenessRun {
                label: "normal priority",
                histogram: &normal,
            },
        ],
    )
    .unwrap();
    let doc = roxmltree::Document::parse(&svg).expect("the SVG parses as XML");
    assert_eq!(doc.root_element().tag_name().name(), "svg");
    let t = texts(&doc);
    assert!(t.iter().any(|s| s == "Wake-up lateness by policy"), "{t:?}");
    assert!(
        t.iter()
            .any(|s| s.starts_with("MMCSS Pro Audio (10000 periods, 99% under 4µs)")),
        "{t:?}"
    );
    assert!(
        t.iter()
            .any(|s| s.starts_with("normal priority (10000 periods")),
        "{t:?}"
    );
    assert!(t.iter().any(|s| s == "4µs"), "{t:?}");
    // One line per run (and one per legend entry), one point per non-empty bucket.
    assert!(count(&doc, "polyline") >= 2, "{svg}");
    assert_eq!(count(&doc, "circle"), 6, "{svg}");
}

#[test]
fn the_timeline_marks_each_late_period_in_its_cause_lane() {
    let marks = [
        Mark {
            time_s: 1.0,
            kind: MarkKind::Late(Cause::HostOverrun),
        },
        Mark {
            time_s: 2.5,
            kind: MarkKind::Late(Cause::Contention),
        },
        Mark {
            time_s: 2.6,
            kind: MarkKind::Late(Cause::Contention),
        },
        Mark {
            time_s: 4.0,
            kind: MarkKind::DeviceGap,
        },
        Mark {
            time_s: 5.0,
            kind: MarkKind::Demoted,
        },
    ];
    let svg = timeline_svg("Late periods", &marks, 10.0).unwrap();
    let doc = roxmltree::Document::parse(&svg).unwrap();
    let t = texts(&doc);
    assert!(t.iter().any(|s| s == "late: contention (2)"), "{t:?}");
    assert!(t.iter().any(|s| s == "late: host overrun (1)"), "{t:?}");
    assert!(t.iter().any(|s| s == "device gap (1)"), "{t:?}");
    assert!(t.iter().any(|s| s == "time (s)"), "{t:?}");
    // Five marks plus one legend dot per lane.
    assert_eq!(count(&doc, "circle"), marks.len() + 6, "{svg}");
}

#[test]
fn the_report_holds_both_and_is_written_to_a_file() {
    let (mmcss, _) = histograms();
    let svg = report_svg(
        "doctor",
        &[LatenessRun {
            label: "Auto",
            histogram: &mmcss,
        }],
        &[Mark {
            time_s: 0.5,
            kind: MarkKind::Late(Cause::Unknown),
        }],
        3.0,
    )
    .unwrap();
    let path = std::env::temp_dir().join(format!("tenuto-monitor-{}.svg", std::process::id()));
    save(&path, &svg).unwrap();
    let back = std::fs::read_to_string(&path).unwrap();
    let _ = std::fs::remove_file(&path);
    let doc = roxmltree::Document::parse(&back).unwrap();
    let t = texts(&doc);
    assert!(t.iter().any(|s| s == "doctor"));
    assert!(t.iter().any(|s| s == "Late periods and their causes"));
    assert!(t.iter().any(|s| s == "late: unknown (1)"), "{t:?}");
}
