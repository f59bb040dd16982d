//! Times the parts of the warm calendar on 100,000 releases, for a profiler:
//! `cargo run --release -p relcal-api --example profile_live [DB]`
//! (the database is built at DB, default /tmp/relcal-100k.db, when missing).

#![allow(
    clippy::unwrap_used,
    reason = "a profiling harness should panic loudly on a broken fixture"
)]

use chrono::{DateTime, Duration, Utc};
use relcal_domain::Interval;
use std::time::Instant;

// The app's allocator (src-tauri/src/main.rs).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn at(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s).unwrap().to_utc()
}

fn main() {
    let path = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "/tmp/relcal-100k.db".into());
    let path = std::path::Path::new(&path);
    let fresh = !path.exists();
    let mut store = relcal_api::open_store(path).unwrap();
    if fresh {
        let mut size = relcal_testkit::Size::ENTERPRISE;
        size.releases = 100_000;
        size.dependencies = 10_000;
        relcal_api::import_plan_text(&mut store, &relcal_testkit::plan(size, 7).to_string())
            .unwrap();
    }
    let now = at("2027-06-01T09:00:00Z");
    let start = at("2027-05-31T00:00:00Z");
    for _ in 0..3 {
        let t = Instant::now();
        let view = relcal_api::calendar_view(&store, start, start + Duration::weeks(6)).unwrap();
        eprintln!(
            "cold calendar_view {:?} ({} releases)",
            t.elapsed(),
            view.releases.len()
        );
    }
    let t = Instant::now();
    let plan = store.load_plan().unwrap().unwrap();
    eprintln!("load_plan {:?}", t.elapsed());
    let t = Instant::now();
    let checker = relcal_domain::Checker::new(&plan, now);
    eprintln!("Checker::new {:?}", t.elapsed());
    drop(checker);
    drop(plan);
    let t = Instant::now();
    let mut live = relcal_api::Live::open(&store, now, &mut |_| {}).unwrap();
    eprintln!("Live::open {:?}", t.elapsed());
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    for line in status
        .lines()
        .filter(|l| l.starts_with("VmRSS") || l.starts_with("VmHWM"))
    {
        eprintln!("{line}");
    }
    let range = Interval {
        start,
        end: start + Duration::weeks(6),
    };
    for _ in 0..3 {
        let t = Instant::now();
        let summary = live.summary();
        eprintln!("summary {:?} ({summary:?})", t.elapsed());
        let t = Instant::now();
        live.refresh(&store, now).unwrap();
        let a = t.elapsed();
        let view = live.calendar_view(range.start, range.end).unwrap();
        let b = t.elapsed();
        let conflicts = live.conflicts_shown(Some(range), false);
        let c = t.elapsed();
        let json = serde_json::to_string(&view).unwrap().len()
            + serde_json::to_string(&conflicts).unwrap().len();
        let d = t.elapsed();
        eprintln!(
            "refresh {a:?}, calendar_view {:?}, badges {:?} ({} badges), json {:?} ({json} bytes)",
            b - a,
            c - b,
            conflicts.badges.len(),
            d - c
        );
    }
    let views: usize = std::env::var("VIEWS")
        .ok()
        .and_then(|m| m.parse().ok())
        .unwrap_or(0);
    for _ in 0..views {
        std::hint::black_box(live.calendar_view(range.start, range.end).unwrap());
        std::hint::black_box(live.conflicts_shown(Some(range), false));
    }
    let shown = live.conflicts_view(Some(range));
    let dragged = shown.items[shown.items.len() / 2].conflict.releases[0].clone();
    let windows = ["2027-06-08T10:00:00Z", "2027-06-09T12:00:00Z"];
    let moves: usize = std::env::var("MOVES")
        .ok()
        .and_then(|m| m.parse().ok())
        .unwrap_or(5);
    for i in 0..moves {
        let start = windows[i % 2];
        let end = if i % 2 == 0 {
            "2027-06-08T11:00:00Z"
        } else {
            "2027-06-09T13:00:00Z"
        };
        let t = Instant::now();
        live.move_release(&mut store, &dragged, start, end, now)
            .unwrap();
        let a = t.elapsed();
        let badges = live.conflicts_shown(Some(range), false);
        if i < 5 {
            eprintln!(
                "move {a:?}, badges {:?} ({})",
                t.elapsed() - a,
                badges.badges.len()
            );
        }
    }
    for _ in 0..3 {
        let t = Instant::now();
        let run = live
            .run_notifications(&mut store, now, &mut |_| Ok(()))
            .unwrap();
        eprintln!(
            "scheduler step {:?} ({} sent, tray {:?})",
            t.elapsed(),
            run.sent.len(),
            run.tray
        );
    }
}
