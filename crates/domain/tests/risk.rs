//! The risk model (docs/risk.md): each factor's points and reason, the cap,
//! the levels, and weights the team tunes.

#![allow(
    clippy::unwrap_used,
    reason = "a test should panic loudly on a broken assumption"
)]

use relcal_domain::{parse_plan_value, risk_of, Plan, Risk, RiskWeights};
use serde_json::{json, Value};

fn plan(freezes: Value, releases: Value) -> Plan {
    parse_plan_value(json!({
        "version": 1, "timezone": "UTC",
        "teams": [{"id": "t", "name": "Team", "timezone": "Europe/Berlin"}],
        "services": [{"id": "a", "team": "t"}, {"id": "b", "team": "t"}, {"id": "c", "team": "t"}],
        "environments": [{"id": "stg", "name": "Staging"},
                         {"id": "prod", "name": "Production", "production": true, "required_approvals": 2}],
        "freezes": freezes, "releases": releases,
    }))
    .unwrap()
}

fn rel(id: &str, env: &str, services: &[&str], start: &str, end: &str, extra: Value) -> Value {
    let mut r = json!({"id": id, "title": format!("R {id}"), "team": "t", "services": services,
        "environment": env, "start": start, "end": end, "status": "planned",
        "rollback": {"steps": ["undo"], "tested": true}});
    if let (Value::Object(r), Value::Object(extra)) = (&mut r, extra) {
        r.extend(extra);
    }
    r
}

fn risk(p: &Plan, id: &str, w: &RiskWeights) -> Risk {
    risk_of(
        p,
        p.releases.iter().find(|r| r.id.as_str() == id).unwrap(),
        w,
    )
}

/// Release `r`'s `freeze_nearby` factor: its points and reason.
fn freeze_nearby(p: &Plan) -> (u32, String) {
    let r = risk(p, "r", &RiskWeights::default());
    let f = r
        .factors
        .into_iter()
        .find(|f| f.code == "freeze_nearby")
        .unwrap();
    (f.points, f.reason)
}

fn points(r: &Risk) -> Vec<(&str, u32)> {
    r.factors.iter().map(|f| (f.code, f.points)).collect()
}

#[test]
fn a_quiet_release_in_staging_in_office_hours_is_low_and_says_nothing() {
    // Tuesday 10:00 in Berlin, tested rollback, no checklist, no freeze.
    let p = plan(
        json!([]),
        json!([rel(
            "r",
            "stg",
            &["a"],
            "2027-01-05T09:00:00Z",
            "2027-01-05T10:00:00Z",
            json!({})
        )]),
    );
    let r = risk(&p, "r", &RiskWeights::default());
    assert_eq!((r.score, r.level), (0, "low"));
    assert!(r.factors.is_empty());
}

#[test]
fn every_factor_adds_its_points_with_a_reason() {
    let p = plan(
        json!([{"id": "x", "name": "Holiday", "severity": "hard", "start": "2027-01-09T12:00:00Z",
                "end": "2027-01-12T00:00:00Z", "scope": {"environments": ["prod"]}}]),
        json!([
            // Friday 23:00 in Berlin, three services, untested rollback, half the checklist done.
            rel(
                "r",
                "prod",
                &["a", "b", "c"],
                "2027-01-08T22:00:00Z",
                "2027-01-09T01:00:00Z",
                json!({
                "owner": "ana", "rollback": {"steps": ["undo"], "tested": false},
                "approvals": [{"by": "li", "at": "2027-01-01T00:00:00Z"}],
                "checklist": [{"id": "1", "text": "x", "required": true, "done": true},
                              {"id": "2", "text": "y", "required": true, "done": false}]})
            ),
            rel(
                "d1",
                "stg",
                &["b"],
                "2027-01-10T00:00:00Z",
                "2027-01-10T01:00:00Z",
                json!({"depends_on": ["r"]})
            ),
            rel(
                "d2",
                "stg",
                &["b"],
                "2027-01-11T00:00:00Z",
                "2027-01-11T01:00:00Z",
                json!({"depends_on": ["r"], "status": "cancelled"})
            ),
            rel(
                "busy",
                "stg",
                &["c"],
                "2027-01-08T23:00:00Z",
                "2027-01-09T00:00:00Z",
                json!({"owner": "ana"})
            ),
            rel(
                "old",
                "prod",
                &["a"],
                "2026-12-01T00:00:00Z",
                "2026-12-01T01:00:00Z",
                json!({"status": "rolled_back"})
            ),
            rel(
                "older",
                "stg",
                &["a"],
                "2026-09-01T00:00:00Z",
                "2026-09-01T01:00:00Z",
                json!({"status": "rolled_back"})
            )
        ]),
    );
    let r = risk(&p, "r", &RiskWeights::default());
    let mut got = points(&r);
    got.sort_unstable();
    assert_eq!(
        got,
        [
            ("approvals", 5),
            ("dependents", 2),
            ("freeze_nearby", 10),
            ("out_of_hours", 10),
            ("owner_double_booked", 10),
            ("production", 20),
            ("readiness", 8),
            ("recent_rollbacks", 5),
            ("rollback", 15),
            ("services", 5),
        ]
    );
    assert_eq!(r.score, 90);
    assert_eq!(r.level, "high");
    let reason = |code: &str| {
        r.factors
            .iter()
            .find(|f| f.code == code)
            .unwrap()
            .reason
            .clone()
    };
    assert_eq!(
        reason("freeze_nearby"),
        "Holiday (hard) starts 11 hours after it (9 Jan 2027 12:00 UTC)"
    );
    assert_eq!(
        reason("out_of_hours"),
        "starts Friday 23:00 in Europe/Berlin (out of hours)"
    );
    assert_eq!(
        reason("owner_double_booked"),
        "ana also runs R busy at the same time"
    );
    assert_eq!(
        reason("recent_rollbacks"),
        "1 rolled-back release of its services in the 90 days before it (last: R old)"
    );
    assert_eq!(reason("approvals"), "1 of 2 approvals");
    assert_eq!(reason("rollback"), "rollback plan never rehearsed");
    // Most points first.
    assert_eq!(r.factors[0].code, "production");
}

#[test]
fn the_team_tunes_the_weights_and_the_score_is_capped() {
    let p = plan(
        json!([]),
        json!([rel(
            "r",
            "prod",
            &["a"],
            "2027-01-09T22:00:00Z",
            "2027-01-09T23:00:00Z",
            json!({"rollback": null})
        )]),
    );
    let defaults = risk(&p, "r", &RiskWeights::default());
    // Production 20, no rollback plan 15, approvals 0 of 2: 10, Saturday: 10.
    assert_eq!(defaults.score, 55);
    assert_eq!(defaults.level, "medium");
    let weekend_matters = RiskWeights {
        out_of_hours: 100,
        ..RiskWeights::default()
    };
    assert_eq!(risk(&p, "r", &weekend_matters).score, 100);
    let production_only = RiskWeights {
        production: 20,
        services: 0,
        dependents: 0,
        freeze_nearby: 0,
        readiness: 0,
        approvals: 0,
        rollback: 0,
        recent_rollbacks: 0,
        out_of_hours: 0,
        owner_double_booked: 0,
    };
    let r = risk(&p, "r", &production_only);
    assert_eq!(points(&r), [("production", 20)]);
    assert_eq!(
        RiskWeights {
            readiness: 101,
            ..RiskWeights::default()
        }
        .invalid(),
        Some("readiness")
    );
    assert_eq!(RiskWeights::default().invalid(), None);
}

#[test]
fn an_exception_keeps_the_freezes_points_and_its_reason_says_who_granted_it() {
    let freeze = json!([{"id": "x", "name": "Holiday", "severity": "hard", "start": "2027-01-05T00:00:00Z",
                         "end": "2027-01-06T00:00:00Z", "scope": {"environments": ["stg"]}}]);
    let exception = |expires: Option<&str>| {
        let mut o = json!({"freeze": "x", "reason": "hotfix", "by": "lee", "requested_by": "ana"});
        if let Some(e) = expires {
            o["expires"] = json!(e);
        }
        json!({"overrides": [o]})
    };
    let at = |extra: Value| {
        let p = plan(
            freeze.clone(),
            json!([rel(
                "r",
                "stg",
                &["a"],
                "2027-01-05T09:00:00Z",
                "2027-01-05T10:00:00Z",
                extra
            )]),
        );
        freeze_nearby(&p)
    };
    assert_eq!(at(json!({})), (10, "Holiday (hard) overlaps it".to_owned()));
    assert_eq!(
        at(exception(None)),
        (
            10,
            "Holiday (hard) overlaps it, under an exception granted by lee".to_owned()
        )
    );
    // One that ended before the release starts grants nothing.
    assert_eq!(
        at(exception(Some("2027-01-05T08:00:00Z"))),
        (10, "Holiday (hard) overlaps it".to_owned())
    );
    // One that ends while the release is still in the freeze does not
    // cover it (the conflict rules report the freeze again).
    assert_eq!(
        at(exception(Some("2027-01-05T09:30:00Z"))),
        (10, "Holiday (hard) overlaps it".to_owned())
    );
    assert_eq!(
        at(exception(Some("2027-01-05T12:00:00Z"))).1,
        "Holiday (hard) overlaps it, under an exception granted by lee"
    );
}

#[test]
fn a_freeze_that_recurs_many_times_a_day_is_found_where_it_meets_the_release() {
    // Every hour, for 10 minutes: the margin's first occurrences all lie
    // days before the release, which meets the one at 09:00.
    let p = plan(
        json!([{"id": "x", "name": "Batch", "severity": "soft", "start": "2027-01-01T00:00:00",
                "duration": "PT10M", "rrule": "FREQ=DAILY;BYHOUR=0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23"}]),
        json!([rel(
            "r",
            "stg",
            &["a"],
            "2027-01-05T09:05:00Z",
            "2027-01-05T09:06:00Z",
            json!({})
        )]),
    );
    assert_eq!(
        freeze_nearby(&p),
        (10, "Batch (soft) overlaps it".to_owned())
    );
}

#[test]
fn only_the_first_exception_for_a_freeze_counts_as_the_conflict_rules_take_it() {
    let p = plan(
        json!([{"id": "x", "name": "Holiday", "severity": "hard", "start": "2027-01-05T00:00:00Z",
                "end": "2027-01-06T00:00:00Z", "scope": {"environments": ["stg"]}}]),
        json!([rel(
            "r",
            "stg",
            &["a"],
            "2027-01-05T09:00:00Z",
            "2027-01-05T10:00:00Z",
            json!({"overrides": [
                {"freeze": "x", "reason": "a", "by": "lee", "requested_by": "ana", "expires": "2027-01-05T09:30:00Z"},
                {"freeze": "x", "reason": "b", "by": "kim", "requested_by": "ana"}
            ]})
        )]),
    );
    let conflicts = relcal_domain::check(&p, chrono::DateTime::UNIX_EPOCH);
    // The rules report the freeze (the first exception ends inside it),
    // and the risk reason does not call it granted.
    assert!(
        conflicts.iter().any(|c| c.code == "freeze.hard"),
        "{conflicts:?}"
    );
    assert_eq!(freeze_nearby(&p).1, "Holiday (hard) overlaps it");
}
