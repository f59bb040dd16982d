//! Delivery metrics as the command-line contract defines them: which
//! releases are deployments, the four figures, and the filters.

#![allow(
    clippy::unwrap_used,
    reason = "a test should panic loudly on a broken assumption"
)]

use relcal_domain::{median, metrics, parse_plan_value, EnvironmentId, MetricsQuery, Plan, TeamId};
use relcal_testkit::at;
use serde_json::json;

fn plan() -> Plan {
    let r = |id: &str, env: &str, team: &str, services: &[&str], end: &str, status: &str| {
        json!({"id": id, "title": id, "team": team, "services": services, "environment": env,
               "start": "2027-01-01T00:00:00Z", "end": end, "status": status})
    };
    parse_plan_value(json!({
        "version": 1, "timezone": "UTC",
        "teams": [{"id": "t", "name": "T"}, {"id": "u", "name": "U"}],
        "services": [{"id": "api", "team": "t"}, {"id": "web", "team": "u"}],
        "environments": [{"id": "stg", "name": "Staging"}, {"id": "prod", "name": "Production", "production": true}],
        "freezes": [],
        "releases": [
            r("a", "prod", "t", &["api"], "2027-01-05T10:00:00Z", "done"),
            r("b", "prod", "t", &["api"], "2027-01-06T10:00:00Z", "rolled_back"),
            // Restores b six hours later: same environment, a shared service.
            r("c", "prod", "t", &["api"], "2027-01-06T16:00:00Z", "done"),
            r("d", "prod", "u", &["web"], "2027-01-20T10:00:00Z", "done"),
            // Not counted: staging, outside the period, not deployed.
            r("e", "stg", "t", &["api"], "2027-01-07T00:00:00Z", "done"),
            r("f", "prod", "t", &["api"], "2027-01-29T00:00:00Z", "done"),
            r("g", "prod", "t", &["api"], "2027-01-10T00:00:00Z", "planned"),
            // Restores nothing of b: staging.
            r("h", "stg", "t", &["api"], "2027-01-06T11:00:00Z", "done")
        ]
    }))
    .unwrap()
}

fn query(envs: &[&str], teams: &[&str]) -> MetricsQuery {
    MetricsQuery {
        from: at("2027-01-01T00:00:00Z"),
        to: at("2027-01-29T00:00:00Z"),
        environments: envs.iter().map(|e| EnvironmentId::new(*e)).collect(),
        teams: teams.iter().map(|t| TeamId::new(*t)).collect(),
    }
}

#[test]
fn the_four_figures_over_production_by_default() {
    let p = plan();
    let entered = |id: &relcal_domain::ReleaseId| match id.as_str() {
        "a" => Some(at("2027-01-04T10:00:00Z")),
        "c" => Some(at("2027-01-04T16:00:00Z")),
        _ => None,
    };
    let m = metrics(&p, &query(&[], &[]), &entered);
    assert_eq!(m.environments, [EnvironmentId::new("prod")]);
    assert_eq!(m.deployments, 4);
    // Four deployments in four weeks; `end` = `to` is outside (half-open).
    assert_eq!(m.deployment_frequency_per_week, 1.0);
    assert_eq!(m.change_failure_rate, Some(0.25));
    assert_eq!(m.time_to_restore_median_hours, Some(6.0));
    assert_eq!(m.restored, 1);
    // Lead times 24 h (a) and 48 h (c); d's entry is unknown.
    assert_eq!(m.lead_time_median_hours, Some(36.0));
    assert_eq!(m.lead_time_samples, 2);
}

#[test]
fn environments_teams_and_empty_periods() {
    let p = plan();
    let none = |_: &relcal_domain::ReleaseId| None;
    let t = metrics(&p, &query(&[], &["t"]), &none);
    assert_eq!((t.deployments, t.rolled_back), (3, 1));
    assert_eq!(t.lead_time_median_hours, None);
    let stg = metrics(&p, &query(&["stg"], &[]), &none);
    assert_eq!(stg.deployments, 2);
    assert_eq!(stg.change_failure_rate, Some(0.0));
    assert_eq!(stg.time_to_restore_median_hours, None);
    let empty = MetricsQuery {
        from: at("2030-01-01T00:00:00Z"),
        to: at("2030-01-08T00:00:00Z"),
        ..query(&[], &[])
    };
    let e = metrics(&p, &empty, &none);
    assert_eq!(
        (
            e.deployments,
            e.deployment_frequency_per_week,
            e.change_failure_rate
        ),
        (0, 0.0, None)
    );
}

#[test]
fn the_median_of_an_even_count_is_the_mean_of_the_middle_two() {
    assert_eq!(median(&mut [3.0, 1.0, 2.0]), Some(2.0));
    assert_eq!(median(&mut [4.0, 1.0, 3.0, 2.0]), Some(2.5));
    assert_eq!(median(&mut []), None);
}

/// Hand-computed: a freeze inside the period, one the period cuts, deployments around them.
fn freezes_plan() -> Plan {
    let r = |id: &str, end: &str, status: &str| {
        json!({"id": id, "title": id, "team": "t", "services": ["api"], "environment": "prod",
               "start": "2027-01-01T00:00:00Z", "end": end, "status": status})
    };
    parse_plan_value(json!({
        "version": 1, "timezone": "UTC",
        "teams": [{"id": "t", "name": "T"}], "services": [{"id": "api", "team": "t"}],
        "environments": [{"id": "prod", "name": "Production", "production": true}],
        "freezes": [
            {"id": "x", "name": "X", "severity": "hard", "start": "2027-01-15T00:00:00Z", "end": "2027-01-18T00:00:00Z",
             "scope": {"environments": ["prod"]}},
            // Cut by the period: it started in December.
            {"id": "y", "name": "Y", "severity": "hard", "start": "2026-12-28T00:00:00Z", "end": "2027-01-03T00:00:00Z"},
            // Soft freezes do not count.
            {"id": "s", "name": "S", "severity": "soft", "start": "2027-01-20T00:00:00Z", "end": "2027-01-21T00:00:00Z"}
        ],
        "releases": [
            r("r1", "2027-01-14T12:00:00Z", "done"),
            r("r2", "2027-01-13T23:00:00Z", "rolled_back"),
            r("r3", "2027-01-12T00:00:00Z", "done"),
            r("r4", "2027-01-19T00:00:00Z", "rolled_back"),
            r("r5", "2027-01-04T00:00:00Z", "done"),
            r("r6", "2027-01-25T00:00:00Z", "done")
        ]
    }))
    .unwrap()
}

#[test]
fn freeze_aware_figures_the_rush_the_week_after_and_the_delay() {
    use relcal_domain::{freeze_effects, Interval, Move, ReleaseId};
    let p = freezes_plan();
    let span = |a: &str, b: &str| Interval {
        start: at(a),
        end: at(b),
    };
    let moves = [
        // r6 was moved out of X: 205 hours later.
        Move {
            release: ReleaseId::new("r6"),
            before: span("2027-01-16T10:00:00Z", "2027-01-16T11:00:00Z"),
            after: span("2027-01-24T23:00:00Z", "2027-01-25T00:00:00Z"),
        },
        // r3 moved an hour, no freeze either side: not a freeze's delay.
        Move {
            release: ReleaseId::new("r3"),
            before: span("2027-01-11T23:00:00Z", "2027-01-12T00:00:00Z"),
            after: span("2027-01-11T22:00:00Z", "2027-01-11T23:00:00Z"),
        },
    ];
    let e = freeze_effects(&p, &query(&[], &[]), &moves);
    // X starts in the period; r1 (12 h before) and r2 (25 h before) ended in its last 48 hours, r3 (72 h) did not.
    assert_eq!(
        (e.deploy_rush.freeze_starts, e.deploy_rush.deployments),
        (1, 2)
    );
    assert_eq!(e.deploy_rush.per_day, Some(1.0));
    assert!((e.deploy_rush.baseline_per_day - 6.0 / 28.0).abs() < 1e-12);
    assert!((e.deploy_rush.ratio.unwrap() - 28.0 / 6.0).abs() < 1e-12);
    // Y (cut by the period) and X end in it: r5 and r4 ended in the week after.
    assert_eq!(
        (e.after_freeze.freeze_ends, e.after_freeze.deployments),
        (2, 2)
    );
    assert_eq!(e.after_freeze.change_failure_rate, Some(0.5));
    assert!((e.after_freeze.baseline_change_failure_rate.unwrap() - 2.0 / 6.0).abs() < 1e-12);
    assert_eq!(
        (e.delay.releases, e.delay.median_hours, e.delay.total_hours),
        (1, Some(205.0), 205.0)
    );
    // No deployments: nothing to compare.
    let empty = MetricsQuery {
        from: at("2030-01-01T00:00:00Z"),
        to: at("2030-02-01T00:00:00Z"),
        ..query(&[], &[])
    };
    let n = freeze_effects(&p, &empty, &[]);
    assert_eq!(
        (
            n.deploy_rush.per_day,
            n.deploy_rush.ratio,
            n.after_freeze.change_failure_rate
        ),
        (None, None, None)
    );
}

#[test]
fn a_rollback_with_no_later_fix_and_a_release_that_entered_before_the_period() {
    let p = plan();
    // Only b's environment and service, and a period that ends before c fixes it.
    let q = MetricsQuery {
        from: at("2027-01-06T00:00:00Z"),
        to: at("2027-01-06T12:00:00Z"),
        ..query(&[], &["t"])
    };
    // c ends after the period but still restores b: the fix need not fall in it.
    let m = metrics(&p, &q, &|_| None);
    assert_eq!((m.deployments, m.rolled_back, m.restored), (1, 1, 1));
    // Without c and f (the later done releases of its service there), the
    // rollback has no later fix: no time to restore.
    let mut without = p.clone();
    without
        .releases
        .retain(|r| !["c", "f"].contains(&r.id.as_str()));
    let m = metrics(&without, &query(&[], &["t"]), &|_| None);
    assert_eq!(
        (m.rolled_back, m.restored, m.time_to_restore_median_hours),
        (1, 0, None)
    );
    // a entered the calendar in November, before the period: its whole wait counts.
    let early =
        |id: &relcal_domain::ReleaseId| (id.as_str() == "a").then(|| at("2026-11-30T10:00:00Z"));
    let m = metrics(&p, &query(&[], &[]), &early);
    assert_eq!(
        (m.lead_time_samples, m.lead_time_median_hours),
        (1, Some(36.0 * 24.0))
    );
}
