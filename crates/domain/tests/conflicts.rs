//! The conflict rules (docs/conflict-rules.md) as tables of small plans.

#![allow(
    clippy::unwrap_used,
    reason = "a test should panic loudly on a broken assumption"
)]

mod common;
use common::{base, rel, row, summary};
use relcal_domain::{check, parse_plan, parse_plan_value};
use serde_json::{json, Value};

use relcal_testkit::at;

#[test]
fn the_demo_plan_has_the_conflicts_a_release_manager_expects() {
    let text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../assets/demo-plan.json"
    ))
    .unwrap();
    let plan = parse_plan(&text).unwrap();
    let got = check(&plan, at("2026-11-30T12:00:00Z"));
    let codes: Vec<(&str, &str, Vec<&str>)> = got
        .iter()
        .map(|c| {
            (
                c.code,
                c.severity.as_str(),
                c.releases.iter().map(|r| r.as_str()).collect(),
            )
        })
        .collect();
    assert_eq!(
        codes,
        vec![
            // The override's period is the month-end occurrence, from 30 Nov 00:00 Berlin.
            ("freeze.overridden", "info", vec!["ledger-hotfix"]),
            ("approval.missing", "error", vec!["ledger-hotfix"]),
            (
                "dependency.order",
                "error",
                vec!["auth-5.2", "checkout-2.0"]
            ),
            (
                "owner.double_booked",
                "warning",
                vec!["auth-5.2", "checkout-2.0"]
            ),
            ("readiness.rollback", "error", vec!["checkout-2.0"]),
            ("window.outside_allowed", "warning", vec!["checkout-2.0"]),
            ("freeze.hard", "error", vec!["ingress-xmas"]),
        ]
    );
    let hard = got.iter().find(|c| c.code == "freeze.hard").unwrap();
    // The holiday freeze starts at local midnight in New York: 05:00Z, shown as EST.
    assert_eq!(hard.period.start, at("2026-12-21T05:00:00Z"));
    assert!(
        hard.message.contains(
            "ingress TLS update overlaps Holiday freeze (hard, prod) from 21 Dec 2026 00:00 EST"
        ),
        "{}",
        hard.message
    );
    // Messages use names, not ids.
    let order = got.iter().find(|c| c.code == "dependency.order").unwrap();
    assert!(
        order.message.contains("checkout 2.0 starts")
            && order.message.contains("auth 5.2 token rotation"),
        "{}",
        order.message
    );
}

#[test]
fn service_overlap_touching_windows_and_other_environments() {
    let now = "2026-01-01T00:00:00Z";
    let r = |id, s, e, extra| rel(id, s, e, extra);
    // Touching windows do not overlap.
    let touching = base(
        json!([]),
        json!([
            r(
                "a",
                "2026-02-01T10:00:00Z",
                "2026-02-01T11:00:00Z",
                json!({})
            ),
            r(
                "b",
                "2026-02-01T11:00:00Z",
                "2026-02-01T12:00:00Z",
                json!({})
            )
        ]),
    );
    assert!(summary(touching, now).is_empty());
    let overlapping = base(
        json!([]),
        json!([
            r(
                "a",
                "2026-02-01T10:00:00Z",
                "2026-02-01T11:00:00Z",
                json!({})
            ),
            r(
                "b",
                "2026-02-01T10:59:00Z",
                "2026-02-01T12:00:00Z",
                json!({"services": ["web", "api"]})
            )
        ]),
    );
    assert_eq!(
        summary(overlapping, now),
        vec![row("service.overlap", "error", &["a", "b"])]
    );
    // Another environment, or a cancelled release, does not count.
    let other = base(
        json!([]),
        json!([
            r(
                "a",
                "2026-02-01T10:00:00Z",
                "2026-02-01T11:00:00Z",
                json!({})
            ),
            r(
                "b",
                "2026-02-01T10:30:00Z",
                "2026-02-01T12:00:00Z",
                json!({"environment": "prod", "rollback": {"steps": ["x"]}})
            ),
            r(
                "c",
                "2026-02-01T10:30:00Z",
                "2026-02-01T12:00:00Z",
                json!({"status": "cancelled"})
            )
        ]),
    );
    assert!(summary(other, now).is_empty());
}

#[test]
fn capacity_reports_maximal_periods_above_the_limit() {
    let now = "2026-01-01T00:00:00Z";
    // Staging allows 2 at once. a, b, c overlap 11:00-12:00; then b, c, d overlap 12:00-12:30 (merged).
    let svc = |s: &str| json!({"services": [s]});
    let plan = base(
        json!([]),
        json!([
            rel(
                "a",
                "2026-02-01T10:00:00Z",
                "2026-02-01T12:00:00Z",
                json!({"services": []})
            ),
            rel(
                "b",
                "2026-02-01T10:30:00Z",
                "2026-02-01T13:00:00Z",
                json!({"services": []})
            ),
            rel(
                "c",
                "2026-02-01T11:00:00Z",
                "2026-02-01T12:30:00Z",
                svc("web")
            ),
            rel(
                "d",
                "2026-02-01T12:00:00Z",
                "2026-02-01T14:00:00Z",
                json!({"services": []})
            ),
            rel(
                "e",
                "2026-02-01T13:00:00Z",
                "2026-02-01T15:00:00Z",
                json!({"services": []})
            ),
        ]),
    );
    let parsed = parse_plan_value(plan.clone()).unwrap();
    let got = check(&parsed, at(now));
    assert_eq!(got.len(), 1, "{got:#?}");
    assert_eq!(got[0].code, "environment.capacity");
    assert_eq!(
        (got[0].period.start, got[0].period.end),
        (at("2026-02-01T11:00:00Z"), at("2026-02-01T12:30:00Z"))
    );
    assert_eq!(
        summary(plan, now),
        vec![row("environment.capacity", "error", &["a", "b", "c", "d"])]
    );
}

#[test]
fn dependencies_order_missing_cancelled_done_and_cycles() {
    let now = "2026-01-01T00:00:00Z";
    let plan = base(
        json!([]),
        json!([
            rel(
                "a",
                "2026-02-01T10:00:00Z",
                "2026-02-01T11:00:00Z",
                json!({"services": ["web"]})
            ),
            rel(
                "b",
                "2026-02-01T10:30:00Z",
                "2026-02-01T11:30:00Z",
                json!({"depends_on": ["a", "ghost"]})
            ),
            rel(
                "c",
                "2026-02-02T10:00:00Z",
                "2026-02-02T11:00:00Z",
                json!({"depends_on": ["a", "x"]})
            ),
            rel(
                "x",
                "2026-01-02T10:00:00Z",
                "2026-01-02T11:00:00Z",
                json!({"status": "cancelled", "services": ["web"]})
            ),
            rel(
                "d",
                "2026-02-03T10:00:00Z",
                "2026-02-03T11:00:00Z",
                json!({"depends_on": ["done"]})
            ),
            rel(
                "done",
                "2026-03-03T10:00:00Z",
                "2026-03-03T11:00:00Z",
                json!({"status": "done"})
            ),
            rel(
                "self",
                "2026-04-01T10:00:00Z",
                "2026-04-01T11:00:00Z",
                json!({"depends_on": ["self"]})
            ),
            rel(
                "p",
                "2026-05-01T10:00:00Z",
                "2026-05-01T11:00:00Z",
                json!({"depends_on": ["q"], "status": "done"})
            ),
            rel(
                "q",
                "2026-05-02T10:00:00Z",
                "2026-05-02T11:00:00Z",
                json!({"depends_on": ["r"], "status": "done"})
            ),
            rel(
                "r",
                "2026-05-03T10:00:00Z",
                "2026-05-03T11:00:00Z",
                json!({"depends_on": ["p"], "status": "done"})
            ),
        ]),
    );
    let got = summary(plan, now);
    for expected in [
        row("dependency.order", "error", &["a", "b"]),
        row("dependency.missing", "error", &["b"]),
        row("dependency.cancelled", "warning", &["c", "x"]),
        row("dependency.cycle", "error", &["self"]),
    ] {
        assert!(got.contains(&expected), "missing {expected:?} in {got:#?}");
    }
    // p, q and r are all done: a cycle none of whose releases is active is history.
    assert!(
        !got.iter()
            .any(|(code, _, ids)| code == "dependency.cycle" && ids.contains(&"p".to_string())),
        "{got:#?}"
    );
    // c starts after a ends; d depends on a done release, later in time: both satisfied.
    assert!(!got
        .iter()
        .any(|(code, _, ids)| code == "dependency.order" && ids.contains(&"c".to_string())));
    assert!(
        !got.iter().any(|(_, _, ids)| ids.contains(&"d".to_string())),
        "{got:#?}"
    );
    assert_eq!(got.len(), 4, "{got:#?}");
}

#[test]
fn freezes_match_scope_and_recur_across_dst() {
    let now = "2026-01-01T00:00:00Z";
    // Every Friday 12:00-18:00 in Berlin, soft, for prod only; a hard global one-off freeze.
    let freezes = json!([
        {"id": "fri", "name": "Friday", "severity": "soft", "timezone": "Europe/Berlin",
         "start": "2026-03-06T12:00:00", "duration": "PT6H", "rrule": "FREQ=WEEKLY;BYDAY=FR",
         "exdates": ["2026-04-03T12:00:00"], "scope": {"environments": ["prod"]}},
        {"id": "nye", "name": "New Year", "severity": "hard", "start": "2026-12-31T00:00:00Z", "end": "2027-01-01T00:00:00Z"}
    ]);
    let prod = |extra: Value| {
        let mut e = json!({"environment": "prod", "rollback": {"steps": ["undo"]}});
        if let (Value::Object(e), Value::Object(x)) = (&mut e, extra) {
            e.extend(x);
        }
        e
    };
    let plan = base(
        freezes,
        json!([
            // 27 Mar is CET: 12:00 = 11:00Z; the release 10:30-11:00Z only touches the start.
            rel(
                "touch",
                "2026-03-27T10:30:00Z",
                "2026-03-27T11:00:00Z",
                prod(json!({}))
            ),
            // 3 Apr is CEST (after the 29 Mar change): 12:00 = 10:00Z, but 3 Apr is an exdate.
            rel(
                "exdate",
                "2026-04-03T10:30:00Z",
                "2026-04-03T11:00:00Z",
                prod(json!({"services": ["web"]}))
            ),
            // 10 Apr CEST: 10:30Z is inside 10:00Z-16:00Z.
            rel(
                "inside",
                "2026-04-10T10:30:00Z",
                "2026-04-10T11:00:00Z",
                prod(json!({}))
            ),
            // Same time in staging: out of scope.
            rel(
                "staging",
                "2026-04-10T10:30:00Z",
                "2026-04-10T11:00:00Z",
                json!({})
            ),
            // The hard freeze, with an override.
            rel(
                "nye-hotfix",
                "2026-12-31T10:00:00Z",
                "2026-12-31T11:00:00Z",
                json!({"overrides": [{"freeze": "nye", "reason": "outage", "by": "cto"}], "services": ["web"]})
            ),
            rel(
                "nye-plain",
                "2026-12-31T12:00:00Z",
                "2026-12-31T13:00:00Z",
                json!({})
            ),
        ]),
    );
    assert_eq!(
        summary(plan, now),
        vec![
            row("freeze.soft", "warning", &["inside"]),
            // Both start with the freeze at midnight; then by code.
            row("freeze.hard", "error", &["nye-plain"]),
            row("freeze.overridden", "info", &["nye-hotfix"]),
        ]
    );
}

#[test]
fn readiness_and_approvals_depend_on_now() {
    let plan = |status: &str| {
        json!({
            "version": 1, "timezone": "UTC",
            "teams": [{"id": "t", "name": "Team"}], "services": [{"id": "api", "team": "t"}],
            "environments": [{"id": "prod", "name": "Production", "production": true, "required_approvals": 2}],
            "freezes": [],
            "releases": [{"id": "r", "title": "r", "team": "t", "services": ["api"], "environment": "prod",
                "start": "2026-06-02T10:00:00Z", "end": "2026-06-02T11:00:00Z", "status": status,
                "approvals": [{"by": "ana", "at": "2026-06-01T00:00:00Z"}, {"by": "ana", "at": "2026-06-01T01:00:00Z"}],
                "checklist": [{"id": "a", "text": "smoke", "required": true, "done": false},
                              {"id": "b", "text": "optional", "required": false, "done": false}],
                "rollback": {"steps": []}}]
        })
    };
    // Far away: only the empty rollback plan.
    assert_eq!(
        summary(plan("planned"), "2026-05-01T00:00:00Z"),
        vec![row("readiness.rollback", "error", &["r"])]
    );
    // Within 24 h: checklist and approvals warn (ana twice counts once).
    assert_eq!(
        summary(plan("planned"), "2026-06-01T11:00:00Z"),
        vec![
            row("approval.missing", "warning", &["r"]),
            row("readiness.checklist", "warning", &["r"]),
            row("readiness.rollback", "error", &["r"]),
        ]
    );
    // Started: checklist is an error. Approved status without approvals: error at any time.
    assert_eq!(
        summary(plan("approved"), "2026-06-02T10:00:00Z"),
        vec![
            row("approval.missing", "error", &["r"]),
            row("readiness.checklist", "error", &["r"]),
            row("readiness.rollback", "error", &["r"]),
        ]
    );
    // Inactive releases are not checked.
    assert!(summary(plan("done"), "2026-06-02T10:00:00Z").is_empty());
}
