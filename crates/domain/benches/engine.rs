//! Conflict engine benchmarks on the enterprise plan (BENCHMARKS.md).
//! `cargo bench -p relcal-domain --bench engine`

#![allow(
    clippy::unwrap_used,
    reason = "a benchmark should panic loudly on a broken fixture"
)]

use chrono::{DateTime, Duration, Utc};
use criterion::{criterion_group, criterion_main, Criterion};
use relcal_domain::{check, parse_plan_value, Checker, PlanTime};
use std::hint::black_box;

fn now() -> DateTime<Utc> {
    DateTime::parse_from_rfc3339("2027-06-01T00:00:00Z")
        .unwrap()
        .to_utc()
}

fn engine(c: &mut Criterion) {
    let json = relcal_testkit::plan(relcal_testkit::Size::ENTERPRISE, 1);
    let text = json.to_string();
    let plan = parse_plan_value(json).unwrap();
    let mut group = c.benchmark_group("enterprise");
    group.sample_size(20);
    group.bench_function("parse_and_validate", |b| {
        b.iter(|| relcal_domain::parse_plan(black_box(&text)).unwrap())
    });
    group.bench_function("full_check", |b| b.iter(|| check(black_box(&plan), now())));

    // One edit: move a release by an hour, re-check, read its conflicts.
    let mut checker = Checker::new(&plan, now());
    let original = plan.releases[1234].clone();
    let mut flip = false;
    group.bench_function("incremental_move_one_release", |b| {
        b.iter(|| {
            let mut edited = original.clone();
            flip = !flip;
            let by = if flip {
                Duration::hours(1)
            } else {
                Duration::zero()
            };
            edited.start = PlanTime::new(original.start.value.shifted(by), plan.timezone);
            edited.end = PlanTime::new(original.end.value.shifted(by), plan.timezone);
            checker.upsert_release(edited);
            black_box(checker.conflicts_of(&original.id))
        })
    });
    group.finish();
}

criterion_group!(benches, engine);
criterion_main!(benches);
