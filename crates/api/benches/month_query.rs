//! The IPC month query (`calendar_view`) on a database of 100,000 releases.
//! `cargo bench -p relcal-api --bench month_query`

#![allow(
    clippy::unwrap_used,
    reason = "a benchmark should panic loudly on a broken fixture"
)]

use chrono::{DateTime, Utc};
use criterion::{criterion_group, criterion_main, Criterion};
use std::hint::black_box;

fn at(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s).unwrap().to_utc()
}

fn month_query(c: &mut Criterion) {
    let dir = tempfile::tempdir().unwrap();
    let mut store = relcal_api::open_store(&dir.path().join("big.db")).unwrap();
    let mut size = relcal_testkit::Size::ENTERPRISE;
    size.releases = 100_000;
    size.dependencies = 10_000;
    let text = relcal_testkit::plan(size, 7).to_string();
    relcal_api::import_plan_text(&mut store, &text).unwrap();

    // A month view asks for six weeks: about 5,800 of the 100,000 releases fall in it.
    let (from, to) = (at("2027-05-31T00:00:00Z"), at("2027-07-12T00:00:00Z"));
    let view = relcal_api::calendar_view(&store, from, to).unwrap();
    eprintln!(
        "{} releases and {} freeze periods in view",
        view.releases.len(),
        view.freezes.len()
    );

    let mut group = c.benchmark_group("ipc");
    group.sample_size(30);
    group.bench_function("calendar_view_6_weeks_of_100k", |b| {
        b.iter(|| relcal_api::calendar_view(black_box(&store), from, to).unwrap())
    });
    // What crosses IPC: the view serialised to JSON, as Tauri does.
    group.bench_function("calendar_view_6_weeks_of_100k_as_json", |b| {
        b.iter(|| {
            serde_json::to_string(&relcal_api::calendar_view(black_box(&store), from, to).unwrap())
                .unwrap()
        })
    });
    // A week view: about 1,000 releases.
    let week_end = at("2027-06-07T00:00:00Z");
    group.bench_function("calendar_view_1_week_of_100k", |b| {
        b.iter(|| relcal_api::calendar_view(black_box(&store), from, week_end).unwrap())
    });
    // Its parts: the calendar without releases (teams, freezes...), and the range scan.
    group.bench_function("load_plan_without_releases", |b| {
        b.iter(|| store.load_plan_without_releases().unwrap())
    });
    group.bench_function("releases_between_6_weeks_of_100k", |b| {
        b.iter(|| {
            store
                .releases_between(from.timestamp(), to.timestamp())
                .unwrap()
        })
    });
    group.finish();
}

criterion_group!(benches, month_query);
criterion_main!(benches);
