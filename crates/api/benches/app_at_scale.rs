//! The app at scale (issue 12): a database of 100,000 releases, through the
//! functions the Tauri commands call, with the JSON that crosses IPC.
//! `cargo bench -p relcal-api --bench app_at_scale`
//!
//! Side by side: the warm calendar (`Live`) and the whole-calendar path the
//! commands used before (a full load and check per call).

#![allow(
    clippy::unwrap_used,
    reason = "a benchmark should panic loudly on a broken fixture"
)]

use chrono::{DateTime, Duration, Utc};
use criterion::{criterion_group, criterion_main, Criterion};
use relcal_api::{Live, Store};
use relcal_domain::Interval;
use std::hint::black_box;

// The app's allocator (src-tauri/src/main.rs).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn at(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s).unwrap().to_utc()
}

/// The six weeks of a month grid starting `weeks` weeks after 31 May 2027.
fn grid(weeks: i64) -> Interval {
    let start = at("2027-05-31T00:00:00Z") + Duration::weeks(weeks);
    Interval {
        start,
        end: start + Duration::weeks(6),
    }
}

/// What the window asks for when it shows `range`: the view and the
/// conflicts in it (their badges, and their list when the panel is open),
/// as JSON.
fn show(store: &Store, live: &mut Live, range: Interval, now: DateTime<Utc>, panel: bool) -> usize {
    // The app's clock runs on between two calls: so does this one, a second
    // a call (readiness rules follow it).
    let now = now + Duration::seconds(CALLS.fetch_add(1, std::sync::atomic::Ordering::Relaxed));
    live.refresh(store, now).unwrap();
    let view = live.calendar_view(range.start, range.end).unwrap();
    let conflicts = live.conflicts_shown(Some(range), panel);
    serde_json::to_string(&view).unwrap().len() + serde_json::to_string(&conflicts).unwrap().len()
}

static CALLS: std::sync::atomic::AtomicI64 = std::sync::atomic::AtomicI64::new(0);

fn app_at_scale(c: &mut Criterion) {
    let dir = tempfile::tempdir().unwrap();
    let mut store = relcal_api::open_store(&dir.path().join("big.db")).unwrap();
    let mut size = relcal_testkit::Size::ENTERPRISE;
    size.releases = 100_000;
    size.dependencies = 10_000;
    relcal_api::import_plan_text(&mut store, &relcal_testkit::plan(size, 7).to_string()).unwrap();
    let now = at("2027-06-01T09:00:00Z");

    let mut live = Live::open(&store, now, &mut |_| {}).unwrap();
    let range = grid(0);
    let all = live.conflicts_view(None);
    let shown = live.conflicts_view(Some(range));
    // A release in view with conflicts: the one dragged back and forth.
    let dragged = shown.items[shown.items.len() / 2].conflict.releases[0].clone();
    let plan = relcal_api::stored_plan(&store).unwrap();
    let release = plan
        .releases
        .iter()
        .find(|r| r.id.as_str() == dragged)
        .unwrap();
    let (start, end) = (release.start.utc, release.end.utc);
    let windows = [
        (start, end),
        (start + Duration::hours(26), end + Duration::hours(26)),
    ];
    drop(plan);
    eprintln!(
        "{} conflicts in the calendar, {} in the six weeks shown; dragging {dragged}",
        all.items.len(),
        shown.items.len()
    );

    let mut group = c.benchmark_group("app_at_scale");
    group.sample_size(10);
    group.bench_function("open_100k (read and check, warm)", |b| {
        b.iter(|| Live::open(black_box(&store), now, &mut |_| {}).unwrap())
    });
    group.bench_function("before: conflicts of 100k (full check per call)", |b| {
        b.iter(|| relcal_api::conflicts_view(black_box(&store), now).unwrap())
    });
    let mut flip = 0;
    group.bench_function("before: move_release (whole-calendar path)", |b| {
        b.iter(|| {
            flip ^= 1;
            let (s, e) = windows[flip];
            relcal_api::move_release(&mut store, &dragged, &s.to_rfc3339(), &e.to_rfc3339(), now)
                .unwrap()
        })
    });
    group.bench_function(
        "before: a notification scheduler step (run_notifications, whole calendar)",
        |b| b.iter(|| relcal_api::run_notifications(&mut store, now, &mut |_| Ok(())).unwrap()),
    );
    group.finish();

    let mut group = c.benchmark_group("app_at_scale");
    group.sample_size(60);
    group.bench_function(
        "a notification scheduler step (Live::run_notifications)",
        |b| {
            b.iter(|| {
                live.run_notifications(&mut store, now, &mut |_| Ok(()))
                    .unwrap()
            })
        },
    );
    group.bench_function(
        "drag round trip (move, then the view and its conflicts)",
        |b| {
            b.iter(|| {
                flip ^= 1;
                let (s, e) = windows[flip];
                let change = live
                    .move_release(&mut store, &dragged, &s.to_rfc3339(), &e.to_rfc3339(), now)
                    .unwrap();
                serde_json::to_string(&change).unwrap().len()
                    + show(&store, &mut live, range, now, false)
            })
        },
    );
    let mut week = 0;
    group.bench_function("next month (the view and its conflicts' badges)", |b| {
        b.iter(|| {
            // Forward a month at a time through the two years, then back.
            week = (week + 4) % 96;
            show(&store, &mut live, grid(week - 20), now, false)
        })
    });
    group.bench_function(
        "next month with the conflicts panel open (its list too)",
        |b| {
            b.iter(|| {
                week = (week + 4) % 96;
                show(&store, &mut live, grid(week - 20), now, true)
            })
        },
    );
    group.bench_function(
        "its parts: the view alone (Live::calendar_view, as JSON)",
        |b| {
            b.iter(|| {
                serde_json::to_string(&live.calendar_view(range.start, range.end).unwrap()).unwrap()
            })
        },
    );
    group.bench_function(
        "before: the view alone from SQLite (calendar_view, as JSON)",
        |b| {
            b.iter(|| {
                serde_json::to_string(
                    &relcal_api::calendar_view(&store, range.start, range.end).unwrap(),
                )
                .unwrap()
            })
        },
    );
    group.bench_function("its parts: the badges alone (as JSON)", |b| {
        b.iter(|| serde_json::to_string(&live.conflicts_shown(Some(range), false)).unwrap())
    });
    let mut flip2 = 0;
    group.bench_function("its parts: the move alone (Live::move_release)", |b| {
        b.iter(|| {
            flip2 ^= 1;
            let (s, e) = windows[flip2];
            live.move_release(&mut store, &dragged, &s.to_rfc3339(), &e.to_rfc3339(), now)
                .unwrap()
        })
    });
    group.finish();
}

criterion_group!(benches, app_at_scale);
criterion_main!(benches);
