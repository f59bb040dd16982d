//! The conflict rules (shared/spec/conflict-rules.md) as tables of small plans.

#![allow(
    clippy::unwrap_used,
    reason = "a test should panic loudly on a broken assumption"
)]

use relcal_domain::{check, parse_plan, parse_plan_value};
use serde_json::{json, Value};

use relcal_testkit::at;

/// (code, severity, releases) of every conflict, in the engine's order.
fn summary(plan: Value, now: &str) -> Vec<(String, String, Vec<String>)> {
    let plan = parse_plan_value(plan).unwrap();
    check(&plan, at(now))
        .into_iter()
        .map(|c| {
            (
                c.code.to_owned(),
                c.severity.as_str().to_owned(),
                c.releases.iter().map(|r| r.to_string()).collect(),
            )
        })
        .collect()
}

fn row(code: &str, severity: &str, releases: &[&str]) -> (String, String, Vec<String>) {
    (
        code.into(),
        severity.into(),
        releases.iter().map(|s| s.to_string()).collect(),
    )
}

/// A plan with one team, two services, a staging and a production environment.
fn base(freezes: Value, releases: Value) -> Value {
    json!({
        "version": 1, "timezone": "UTC",
        "teams": [{"id": "t", "name": "Team"}],
        "services": [{"id": "api", "team": "t"}, {"id": "web", "team": "t"}],
        "environments": [{"id": "stg", "name": "Staging", "max_concurrent": 2},
                         {"id": "prod", "name": "Production", "production": true}],
        "freezes": freezes, "releases": releases,
    })
}

fn rel(id: &str, start: &str, end: &str, extra: Value) -> Value {
    let mut r = json!({"id": id, "title": id, "team": "t", "services": ["api"], "environment": "stg",
                       "start": start, "end": end, "status": "planned"});
    if let (Value::Object(r), Value::Object(extra)) = (&mut r, extra) {
        r.extend(extra);
    }
    r
}

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

/// One freeze against one release: does it conflict? Each row is a small plan.
#[test]
fn freeze_edge_cases() {
    // (name, freeze, release start, release end, expected conflict?)
    let rows: Vec<(&str, Value, &str, &str, bool)> = vec![
        (
            "crosses midnight: Fri 22:00 to Sat 02:00 Berlin catches Sat 00:30 local",
            json!({"timezone": "Europe/Berlin", "start": "2026-01-02T22:00:00", "duration": "PT4H", "rrule": "FREQ=WEEKLY;BYDAY=FR"}),
            "2026-01-09T23:30:00Z", "2026-01-10T00:00:00Z", true,
        ),
        (
            "crosses midnight: ends 02:00 Berlin, release from 02:00 local only touches",
            json!({"timezone": "Europe/Berlin", "start": "2026-01-02T22:00:00", "duration": "PT4H", "rrule": "FREQ=WEEKLY;BYDAY=FR"}),
            "2026-01-10T01:00:00Z", "2026-01-10T02:00:00Z", false,
        ),
        (
            "month end: last day of February (28th in 2026)",
            json!({"timezone": "UTC", "start": "2026-01-31T00:00:00", "duration": "P1D", "rrule": "FREQ=MONTHLY;BYMONTHDAY=-1"}),
            "2026-02-28T12:00:00Z", "2026-02-28T13:00:00Z", true,
        ),
        (
            "month end: not on the 27th",
            json!({"timezone": "UTC", "start": "2026-01-31T00:00:00", "duration": "P1D", "rrule": "FREQ=MONTHLY;BYMONTHDAY=-1"}),
            "2026-02-27T12:00:00Z", "2026-02-27T13:00:00Z", false,
        ),
        (
            "last Friday of the month: 29 May 2026",
            json!({"timezone": "America/New_York", "start": "2026-01-30T09:00:00", "duration": "PT8H", "rrule": "FREQ=MONTHLY;BYDAY=-1FR"}),
            "2026-05-29T14:00:00Z", "2026-05-29T15:00:00Z", true,
        ),
        (
            "last Friday: not the one before (22 May)",
            json!({"timezone": "America/New_York", "start": "2026-01-30T09:00:00", "duration": "PT8H", "rrule": "FREQ=MONTHLY;BYDAY=-1FR"}),
            "2026-05-22T14:00:00Z", "2026-05-22T15:00:00Z", false,
        ),
        (
            "COUNT=3 daily: the third day is frozen",
            json!({"timezone": "UTC", "start": "2026-03-01T00:00:00", "duration": "PT6H", "rrule": "FREQ=DAILY;COUNT=3"}),
            "2026-03-03T01:00:00Z", "2026-03-03T02:00:00Z", true,
        ),
        (
            "COUNT=3 daily: the fourth day is not",
            json!({"timezone": "UTC", "start": "2026-03-01T00:00:00", "duration": "PT6H", "rrule": "FREQ=DAILY;COUNT=3"}),
            "2026-03-04T01:00:00Z", "2026-03-04T02:00:00Z", false,
        ),
        (
            "UNTIL is inclusive of an occurrence starting at it",
            json!({"timezone": "UTC", "start": "2026-03-01T00:00:00", "duration": "PT6H", "rrule": "FREQ=DAILY;UNTIL=20260305T000000Z"}),
            "2026-03-05T01:00:00Z", "2026-03-05T02:00:00Z", true,
        ),
        (
            "UNTIL: nothing after",
            json!({"timezone": "UTC", "start": "2026-03-01T00:00:00", "duration": "PT6H", "rrule": "FREQ=DAILY;UNTIL=20260305T000000Z"}),
            "2026-03-06T01:00:00Z", "2026-03-06T02:00:00Z", false,
        ),
        (
            "EXDATE skips one occurrence",
            json!({"timezone": "UTC", "start": "2026-03-01T00:00:00", "duration": "PT6H", "rrule": "FREQ=DAILY", "exdates": ["2026-03-02T00:00:00"]}),
            "2026-03-02T01:00:00Z", "2026-03-02T02:00:00Z", false,
        ),
        (
            "spring forward, Berlin: daily 02:30 on 29 Mar 2026 moves to 03:30 CEST (01:30Z)",
            json!({"timezone": "Europe/Berlin", "start": "2026-03-27T02:30:00", "duration": "PT30M", "rrule": "FREQ=DAILY"}),
            "2026-03-29T01:30:00Z", "2026-03-29T01:45:00Z", true,
        ),
        (
            "spring forward, Berlin: nothing at 00:30Z that night",
            json!({"timezone": "Europe/Berlin", "start": "2026-03-27T02:30:00", "duration": "PT30M", "rrule": "FREQ=DAILY"}),
            "2026-03-29T00:30:00Z", "2026-03-29T01:00:00Z", false,
        ),
        (
            "fall back, New York: 01:30 on 1 Nov 2026 is the first one (EDT, 05:30Z)",
            json!({"timezone": "America/New_York", "start": "2026-10-30T01:30:00", "duration": "PT30M", "rrule": "FREQ=DAILY"}),
            "2026-11-01T05:30:00Z", "2026-11-01T05:45:00Z", true,
        ),
        (
            "fall back, New York: not the second 01:30 (EST, 06:30Z)",
            json!({"timezone": "America/New_York", "start": "2026-10-30T01:30:00", "duration": "PT30M", "rrule": "FREQ=DAILY"}),
            "2026-11-01T06:30:00Z", "2026-11-01T06:45:00Z", false,
        ),
        (
            "P1D across spring forward in New York ends at local midnight (04:00Z): 03:30Z is inside",
            json!({"timezone": "America/New_York", "start": "2026-03-08T00:00:00", "duration": "P1D", "rrule": "FREQ=DAILY;COUNT=1"}),
            "2026-03-09T03:30:00Z", "2026-03-09T04:00:00Z", true,
        ),
        (
            "P1D across spring forward in New York: 04:00Z is already after (23-hour day)",
            json!({"timezone": "America/New_York", "start": "2026-03-08T00:00:00", "duration": "P1D", "rrule": "FREQ=DAILY;COUNT=1"}),
            "2026-03-09T04:00:00Z", "2026-03-09T04:30:00Z", false,
        ),
        (
            "London summer time: 09:00 local is 08:00Z in June",
            json!({"timezone": "Europe/London", "start": "2026-01-05T09:00:00", "duration": "PT1H", "rrule": "FREQ=WEEKLY;BYDAY=MO"}),
            "2026-06-01T08:15:00Z", "2026-06-01T08:30:00Z", true,
        ),
        (
            "London summer time: not 09:00Z",
            json!({"timezone": "Europe/London", "start": "2026-01-05T09:00:00", "duration": "PT1H", "rrule": "FREQ=WEEKLY;BYDAY=MO"}),
            "2026-06-01T09:00:00Z", "2026-06-01T09:30:00Z", false,
        ),
    ];
    for (name, mut freeze, start, end, expected) in rows {
        freeze["id"] = json!("f");
        freeze["name"] = json!("F");
        freeze["severity"] = json!("hard");
        let plan = base(json!([freeze]), json!([rel("r", start, end, json!({}))]));
        let got = summary(plan, "2025-01-01T00:00:00Z");
        assert_eq!(
            got == vec![row("freeze.hard", "error", &["r"])],
            expected,
            "{name}: {got:?}"
        );
    }
}

#[test]
fn scope_combinations_need_every_non_empty_list_to_match() {
    // Team t, services api, environment stg. (scope, applies?)
    let rows = [
        (json!({}), true),
        (json!({"teams": ["t"]}), true),
        (json!({"teams": ["t"], "environments": ["prod"]}), false),
        (json!({"services": ["web"]}), false),
        (
            json!({"services": ["web", "api"], "environments": ["stg"], "teams": ["t"]}),
            true,
        ),
        (json!({"environments": ["stg", "prod"]}), true),
        (
            json!({"teams": [], "services": [], "environments": []}),
            true,
        ),
    ];
    for (scope, applies) in rows {
        let freeze = json!({"id": "f", "name": "F", "severity": "soft", "start": "2026-02-01T00:00:00Z",
                            "end": "2026-02-02T00:00:00Z", "scope": scope});
        let plan = base(
            json!([freeze]),
            json!([rel(
                "r",
                "2026-02-01T10:00:00Z",
                "2026-02-01T11:00:00Z",
                json!({})
            )]),
        );
        assert_eq!(
            !summary(plan, "2026-01-01T00:00:00Z").is_empty(),
            applies,
            "{scope}"
        );
    }
}

#[test]
fn a_cycle_of_two() {
    let plan = base(
        json!([]),
        json!([
            rel(
                "a",
                "2026-02-01T10:00:00Z",
                "2026-02-01T11:00:00Z",
                json!({"depends_on": ["b"], "status": "done"})
            ),
            rel(
                "b",
                "2026-02-02T10:00:00Z",
                "2026-02-02T11:00:00Z",
                json!({"depends_on": ["a"], "status": "done"})
            ),
        ]),
    );
    // Both done: not reported (conflict-rules.md).
    assert_eq!(summary(plan.clone(), "2026-01-01T00:00:00Z"), vec![]);
    // One of them active again: the cycle is reported, with both.
    let mut plan = plan;
    plan["releases"][0]["status"] = json!("planned");
    assert!(summary(plan, "2026-01-01T00:00:00Z").contains(&row(
        "dependency.cycle",
        "error",
        &["a", "b"]
    )),);
}

#[test]
fn an_expiring_exception_covers_the_freeze_only_before_it_expires() {
    // A daily hard freeze 12:00–14:00 UTC, and a release from 11:00 on day 1
    // to 13:00 on day 2: it meets the occurrences of day 1 and day 2.
    let freeze = json!([{"id": "noon", "name": "Noon", "severity": "hard", "timezone": "UTC",
                         "start": "2027-03-01T12:00:00", "duration": "PT2H", "rrule": "FREQ=DAILY"}]);
    let exception = |expires: Option<&str>| {
        let mut o =
            json!({"freeze": "noon", "reason": "hotfix", "by": "cto", "requested_by": "ana"});
        if let Some(e) = expires {
            o["expires"] = json!(e);
        }
        json!({"overrides": [o]})
    };
    let one = |expires: Option<&str>| {
        let plan = base(
            freeze.clone(),
            json!([rel(
                "r",
                "2027-03-01T11:00:00Z",
                "2027-03-02T13:00:00Z",
                exception(expires)
            )]),
        );
        let plan = parse_plan_value(plan).unwrap();
        let c: Vec<_> = check(&plan, at("2027-02-01T00:00:00Z"))
            .into_iter()
            .filter(|c| c.freeze.is_some())
            .collect();
        assert_eq!(c.len(), 1, "{c:?}");
        (
            c[0].code,
            relcal_domain::utc_text(c[0].period.start),
            c[0].message.clone(),
        )
    };
    // No expiry, or one after the release: covered, first occurrence.
    for expires in [
        None,
        Some("2027-03-02T13:00:00Z"),
        Some("2027-03-05T00:00:00Z"),
    ] {
        let (code, start, _) = one(expires);
        assert_eq!(
            (code, start.as_str()),
            ("freeze.overridden", "2027-03-01T12:00:00Z"),
            "{expires:?}"
        );
    }
    // Expired before the second occurrence: that one is a conflict again.
    let (code, start, message) = one(Some("2027-03-01T20:00:00Z"));
    assert_eq!(
        (code, start.as_str()),
        ("freeze.hard", "2027-03-02T12:00:00Z")
    );
    assert!(message.contains("expired"), "{message}");
    // Expired inside an occurrence: some instant after it lies in both.
    let (code, start, _) = one(Some("2027-03-01T13:00:00Z"));
    assert_eq!(
        (code, start.as_str()),
        ("freeze.hard", "2027-03-01T12:00:00Z")
    );
    // Expired exactly at the end of the last occurrence met: covered.
    let (code, _, _) = one(Some("2027-03-02T13:00:00Z"));
    assert_eq!(code, "freeze.overridden");

    // The one who asked cannot also approve; expires is an instant.
    let bad = base(
        freeze.clone(),
        json!([rel(
            "r",
            "2027-03-01T11:00:00Z",
            "2027-03-01T13:00:00Z",
            json!({"overrides": [{"freeze": "noon", "reason": "x", "by": "ana", "requested_by": "ana", "expires": "soon"}]})
        )]),
    );
    let e = parse_plan_value(bad).unwrap_err().to_string();
    assert!(
        e.contains("overrides[0].requested_by") && e.contains("cannot also approve"),
        "{e}"
    );
    assert!(e.contains("overrides[0].expires"), "{e}");
    // Both fields survive a round trip through the plan file.
    let good = base(
        freeze,
        json!([rel(
            "r",
            "2027-03-01T11:00:00Z",
            "2027-03-01T13:00:00Z",
            exception(Some("2027-03-01T20:00:00Z"))
        )]),
    );
    let plan = parse_plan_value(good).unwrap();
    let text = plan.to_json_pretty();
    assert!(
        text.contains("\"requested_by\": \"ana\"")
            && text.contains("\"expires\": \"2027-03-01T20:00:00Z\""),
        "{text}"
    );
    assert_eq!(parse_plan(&text).unwrap(), plan);
}
