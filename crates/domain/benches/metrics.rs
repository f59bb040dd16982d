//! Delivery metrics over two years of the enterprise plan (BENCHMARKS.md),
//! beside parsing the plan, which `relcal metrics` also pays.
//! `cargo bench -p relcal-domain --bench metrics`

#![allow(
    clippy::unwrap_used,
    reason = "a benchmark should panic loudly on a broken fixture"
)]

use criterion::{criterion_group, criterion_main, Criterion};
use relcal_domain::{freeze_effects, metrics, parse_plan_value, MetricsQuery, ReleaseStatus};
use std::hint::black_box;

fn bench(c: &mut Criterion) {
    let json = relcal_testkit::plan(relcal_testkit::Size::ENTERPRISE, 1);
    let text = json.to_string();
    let plan = parse_plan_value(json).unwrap();
    let from = plan.releases.iter().map(|r| r.end.utc).min().unwrap();
    let to = plan.releases.iter().map(|r| r.end.utc).max().unwrap() + chrono::Duration::seconds(1);
    let q = MetricsQuery {
        from,
        to,
        environments: vec![],
        teams: vec![],
    };
    let closed = plan
        .releases
        .iter()
        .filter(|r| matches!(r.status, ReleaseStatus::Done | ReleaseStatus::RolledBack))
        .count();
    let m = metrics(&plan, &q, &|_| None);
    let e = freeze_effects(&plan, &q, &[]);
    println!(
        "{} releases, {closed} done or rolled back, {} days; production deployments {}, rolled back {}, freeze starts {}, ends {}",
        plan.releases.len(),
        (to - from).num_days(),
        m.deployments,
        m.rolled_back,
        e.deploy_rush.freeze_starts,
        e.after_freeze.freeze_ends
    );
    let mut group = c.benchmark_group("enterprise");
    group.sample_size(20);
    group.bench_function("metrics_two_years", |b| {
        b.iter(|| metrics(black_box(&plan), black_box(&q), &|_| None))
    });
    group.bench_function("freeze_effects_two_years", |b| {
        b.iter(|| freeze_effects(black_box(&plan), black_box(&q), &[]))
    });
    group.bench_function("parse_and_validate_for_scale", |b| {
        b.iter(|| relcal_domain::parse_plan(black_box(&text)).unwrap())
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
