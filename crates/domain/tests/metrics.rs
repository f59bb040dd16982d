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
