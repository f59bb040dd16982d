//! The conflict rules' edge cases as tables of small plans: freezes at
//! their edges, scope combinations, short cycles, expiring exceptions.

#![allow(
    clippy::unwrap_used,
    reason = "a test should panic loudly on a broken assumption"
)]

mod common;
use common::{base, rel, row, summary};
use relcal_domain::{check, parse_plan, parse_plan_value};
use relcal_testkit::at;
use serde_json::{json, Value};

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
