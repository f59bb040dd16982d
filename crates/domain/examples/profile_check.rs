//! Times the full check on the enterprise plan, for a profiler:
//! `cargo run --release -p relcal-domain --example profile_check`

#![allow(
    clippy::unwrap_used,
    reason = "a profiling harness should panic loudly on a broken fixture"
)]

use std::time::Instant;

fn main() {
    let plan =
        relcal_domain::parse_plan_value(relcal_testkit::plan(relcal_testkit::Size::ENTERPRISE, 1))
            .unwrap();
    let now = chrono::DateTime::parse_from_rfc3339("2027-06-01T00:00:00Z")
        .unwrap()
        .to_utc();
    for _ in 0..3 {
        let t = Instant::now();
        let checker = relcal_domain::Checker::new(&plan, now);
        let built = t.elapsed();
        let conflicts = checker.into_conflicts();
        let total = t.elapsed();
        let n = conflicts.len();
        let t = Instant::now();
        drop(conflicts);
        println!(
            "{n} conflicts: build {built:?}, total {total:?}, drop {:?}",
            t.elapsed()
        );
    }
}
