//! The next-free-slot search on the enterprise plan (BENCHMARKS.md), beside
//! a full conflict check of the same plan for scale.
//! `cargo bench -p relcal-domain --bench slot`

#![allow(
    clippy::unwrap_used,
    reason = "a benchmark should panic loudly on a broken fixture"
)]

use chrono::{DateTime, Duration, Utc};
use criterion::{criterion_group, criterion_main, Criterion};
use relcal_domain::{check, find_slot, parse_plan_value, PlanDuration, Release, SlotQuery};
use std::hint::black_box;

fn now() -> DateTime<Utc> {
    DateTime::parse_from_rfc3339("2027-06-01T00:00:00Z")
        .unwrap()
        .to_utc()
}

/// A release like `r`: its scope, owner and dependencies, asked for from an
/// hour before its start.
fn like(r: &Release, duration: &str, avoid_soft: bool) -> SlotQuery {
    SlotQuery {
        environment: r.environment.clone(),
        services: r.services.clone(),
        team: Some(r.team.clone()),
        owner: r.owner.clone(),
        after_releases: r.depends_on.clone(),
        duration: PlanDuration::parse(duration).unwrap(),
        after: r.start.utc - Duration::hours(1),
        within: Duration::days(90),
        avoid_soft,
        moving: Some(r.id.clone()),
    }
}

fn slot(c: &mut Criterion) {
    let plan = parse_plan_value(relcal_testkit::plan(relcal_testkit::Size::ENTERPRISE, 1)).unwrap();
    // The busiest production release after `now` in a team with deploy windows.
    let production: Vec<_> = plan
        .environments
        .iter()
        .filter(|e| e.production)
        .map(|e| e.id.clone())
        .collect();
    let windowed = |r: &&Release| {
        plan.teams
            .iter()
            .any(|t| t.id == r.team && !t.allowed_windows.is_empty())
    };
    let subject = plan
        .releases
        .iter()
        .filter(|r| {
            production.contains(&r.environment) && r.start.utc > now() && r.status.is_active()
        })
        .filter(windowed)
        .max_by_key(|r| (r.depends_on.len(), r.services.len()))
        .unwrap();
    let typical = like(subject, "PT2H", false);
    let first = find_slot(&plan, &typical).unwrap();
    println!(
        "slot for {} ({} services, {} dependencies): {:?}, {} stretches skipped",
        subject.id,
        subject.services.len(),
        subject.depends_on.len(),
        first.slot,
        first.skipped.len()
    );
    // A stretch longer than any window: nothing fits, every candidate of 90 days is tried.
    let none = like(subject, "P3D", true);
    let nothing = find_slot(&plan, &none).unwrap();
    println!("three days, soft freezes avoided: {:?}", nothing.slot);

    let mut group = c.benchmark_group("enterprise");
    group.sample_size(30);
    group.bench_function("slot_two_hours", |b| {
        b.iter(|| find_slot(black_box(&plan), black_box(&typical)).unwrap())
    });
    group.bench_function("slot_none_in_90_days", |b| {
        b.iter(|| find_slot(black_box(&plan), black_box(&none)).unwrap())
    });
    group.sample_size(10);
    group.bench_function("full_check_for_scale", |b| {
        b.iter(|| check(black_box(&plan), now()))
    });
    group.finish();
}

criterion_group!(benches, slot);
criterion_main!(benches);
