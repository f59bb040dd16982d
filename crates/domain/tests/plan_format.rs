//! The plan format against `docs/plan-format.md`: every kind of bad
//! input is refused with the object and field named, and export(parse(x))
//! parses back to an equal plan.

#![allow(
    clippy::unwrap_used,
    reason = "a test should panic loudly on a broken assumption"
)]

use relcal_domain::{parse_plan, parse_plan_value, FieldError, FreezeSchedule, Plan};
use serde_json::{json, Value};

fn demo_text() -> String {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../assets/demo-plan.json");
    std::fs::read_to_string(path).expect("assets/demo-plan.json is readable")
}

fn demo() -> Value {
    serde_json::from_str(&demo_text()).expect("demo plan is JSON")
}

fn errors_of(value: Value) -> Vec<FieldError> {
    match parse_plan_value(value) {
        Ok(_) => panic!("the plan was accepted"),
        Err(e) => e.errors().to_vec(),
    }
}

/// Applies `edit` to the demo plan and expects exactly the error on `object`/`field`.
fn check(name: &str, edit: impl FnOnce(&mut Value), object: &str, field: &str, needle: &str) {
    let mut plan = demo();
    edit(&mut plan);
    let errors = errors_of(plan);
    assert!(
        errors
            .iter()
            .any(|e| e.object == object && e.field == field && e.message.contains(needle)),
        "{name}: expected an error on {object} / {field} containing {needle:?}, got {errors:#?}"
    );
}

#[test]
fn the_demo_plan_is_valid() {
    let plan = parse_plan(&demo_text()).expect("demo plan parses");
    assert_eq!(plan.releases.len(), 4);
    assert_eq!(plan.freezes.len(), 3);
    assert!(matches!(
        plan.freezes[1].schedule,
        FreezeSchedule::Recurring(_)
    ));
    // The holiday freeze starts at local midnight in New York (EST, -05:00).
    match &plan.freezes[0].schedule {
        FreezeSchedule::Once { start, .. } => {
            assert_eq!(start.utc.to_rfc3339(), "2026-12-21T05:00:00+00:00")
        }
        other => panic!("unexpected schedule {other:?}"),
    }
}

#[test]
fn unknown_fields_are_refused_everywhere() {
    check(
        "top",
        |p| p["colour"] = json!("red"),
        "plan",
        "colour",
        "unknown field",
    );
    check(
        "release",
        |p| p["releases"][1]["strat"] = json!("2026-12-01T15:00:00Z"),
        "releases[1] (id \"checkout-2.0\")",
        "strat",
        "unknown field",
    );
    check(
        "nested",
        |p| p["freezes"][0]["scope"]["env"] = json!(["prod"]),
        "freezes[0] (id \"holidays\")",
        "scope.env",
        "unknown field",
    );
    check(
        "approval",
        |p| p["releases"][0]["approvals"][0]["when"] = json!("x"),
        "releases[0] (id \"auth-5.2\")",
        "approvals[0].when",
        "unknown field",
    );
}

#[test]
fn each_kind_of_bad_input_names_object_and_field() {
    let r1 = "releases[1] (id \"checkout-2.0\")";
    check(
        "bad zone",
        |p| p["teams"][1]["timezone"] = json!("Mars/Olympus"),
        "teams[1] (id \"identity\")",
        "timezone",
        "unknown time zone",
    );
    check(
        "bad plan zone",
        |p| p["timezone"] = json!("CET+1"),
        "plan",
        "timezone",
        "unknown time zone",
    );
    check(
        "bad rrule",
        |p| p["freezes"][1]["rrule"] = json!("FREQ=WEEKLY;BYDAY=FRI"),
        "freezes[1] (id \"no-friday\")",
        "rrule",
        "`FRI` is not a day",
    );
    check(
        "rrule prefix",
        |p| p["freezes"][1]["rrule"] = json!("RRULE:FREQ=WEEKLY"),
        "freezes[1] (id \"no-friday\")",
        "rrule",
        "prefix",
    );
    check(
        "end before start",
        |p| p["releases"][1]["end"] = json!("2026-12-01T14:00:00Z"),
        r1,
        "end",
        "must be after start",
    );
    check(
        "end equals start",
        |p| p["releases"][1]["end"] = json!("2026-12-01T15:00:00Z"),
        r1,
        "end",
        "must be after start",
    );
    check(
        "freeze end before start",
        |p| p["freezes"][0]["end"] = json!("2026-12-20T00:00:00"),
        "freezes[0] (id \"holidays\")",
        "end",
        "must be after start",
    );
    check(
        "duplicate id",
        |p| p["releases"][1]["id"] = json!("auth-5.2"),
        "releases[1] (id \"auth-5.2\")",
        "id",
        "duplicate id",
    );
    check(
        "duplicate team",
        |p| p["teams"][2]["id"] = json!("payments"),
        "teams[2] (id \"payments\")",
        "id",
        "duplicate id",
    );
    check(
        "unknown team",
        |p| p["releases"][1]["team"] = json!("growth"),
        r1,
        "team",
        "unknown team \"growth\"",
    );
    check(
        "unknown service",
        |p| p["releases"][1]["services"] = json!(["checkout-api", "cart"]),
        r1,
        "services[1]",
        "unknown service \"cart\"",
    );
    check(
        "unknown environment",
        |p| p["releases"][1]["environment"] = json!("qa"),
        r1,
        "environment",
        "unknown environment \"qa\"",
    );
    check(
        "unknown scope env",
        |p| p["freezes"][0]["scope"]["environments"] = json!(["production"]),
        "freezes[0] (id \"holidays\")",
        "scope.environments[0]",
        "unknown environment",
    );
    check(
        "unknown service owner",
        |p| p["services"][0]["team"] = json!("nobody"),
        "services[0] (id \"checkout-api\")",
        "team",
        "unknown team",
    );
    check(
        "unknown override freeze",
        |p| p["releases"][2]["overrides"][0]["freeze"] = json!("eom"),
        "releases[2] (id \"ledger-hotfix\")",
        "overrides[0].freeze",
        "unknown freeze",
    );
    check(
        "bad duration",
        |p| p["freezes"][1]["duration"] = json!("12 hours"),
        "freezes[1] (id \"no-friday\")",
        "duration",
        "ISO 8601",
    );
    check(
        "zero duration",
        |p| p["freezes"][1]["duration"] = json!("PT0H"),
        "freezes[1] (id \"no-friday\")",
        "duration",
        "longer than zero",
    );
    check(
        "bad status",
        |p| p["releases"][1]["status"] = json!("shipped"),
        r1,
        "status",
        "\"shipped\" is not a status",
    );
    check(
        "bad severity",
        |p| p["freezes"][0]["severity"] = json!("medium"),
        "freezes[0] (id \"holidays\")",
        "severity",
        "\"medium\" is not a severity",
    );
    check(
        "bad time",
        |p| p["releases"][1]["start"] = json!("1 Dec 2026"),
        r1,
        "start",
        "is not a time",
    );
    check(
        "wrong type",
        |p| p["environments"][1]["max_concurrent"] = json!("two"),
        "environments[1] (id \"prod\")",
        "max_concurrent",
        "invalid type",
    );
    check(
        "missing field",
        |p| {
            p["releases"][1].as_object_mut().unwrap().remove("title");
        },
        r1,
        "title",
        "missing",
    );
    check(
        "bad version",
        |p| p["version"] = json!(2),
        "plan",
        "version",
        "unsupported version",
    );
    check(
        "recurring without duration",
        |p| {
            p["freezes"][1].as_object_mut().unwrap().remove("duration");
        },
        "freezes[1] (id \"no-friday\")",
        "duration",
        "needs a `duration`",
    );
    check(
        "one-off with duration",
        |p| p["freezes"][0]["duration"] = json!("P1D"),
        "freezes[0] (id \"holidays\")",
        "duration",
        "only for recurring",
    );
    check(
        "bad exdate",
        |p| p["freezes"][1]["exdates"] = json!(["soon"]),
        "freezes[1] (id \"no-friday\")",
        "exdates[0]",
        "is not a time",
    );
    check(
        "bad allowed window",
        |p| p["teams"][0]["allowed_windows"][0]["rrule"] = json!("FREQ=SOMETIMES"),
        "teams[0] (id \"payments\")",
        "allowed_windows[0].rrule",
        "FREQ=SOMETIMES: expected HOURLY",
    );
    check(
        "zero capacity",
        |p| p["environments"][1]["max_concurrent"] = json!(0),
        "environments[1] (id \"prod\")",
        "max_concurrent",
        "at least 1",
    );
    check(
        "duplicate checklist item",
        |p| p["releases"][1]["checklist"] = json!([{"id":"a","text":"x","required":true,"done":false},{"id":"a","text":"y","required":false,"done":false}]),
        r1,
        "checklist[1].id",
        "duplicate",
    );
}

#[test]
fn all_errors_are_reported_at_once() {
    let mut p = demo();
    p["releases"][0]["status"] = json!("nope");
    p["releases"][3]["environment"] = json!("qa");
    p["freezes"][2]["timezone"] = json!("Nowhere/City");
    let errors = errors_of(p);
    assert_eq!(errors.len(), 3, "{errors:#?}");
}

#[test]
fn syntax_errors_give_the_position() {
    let err = parse_plan("{\"version\": 1,\n \"teams\": [}")
        .unwrap_err()
        .to_string();
    assert!(err.starts_with("plan: not valid JSON at line 2"), "{err}");
}

#[test]
fn a_missing_dependency_is_not_invalid_input() {
    // dependency.missing is a conflict (conflict-rules.md), not a parse error.
    let mut p = demo();
    p["releases"][1]["depends_on"] = json!(["does-not-exist"]);
    assert!(parse_plan_value(p).is_ok());
}

fn round_trip(plan: &Plan) {
    let exported = plan.to_json();
    let again = parse_plan_value(exported.clone())
        .unwrap_or_else(|e| panic!("export does not parse back: {e}\n{exported:#}"));
    assert_eq!(&again, plan);
    // And the text is stable: exporting twice gives the same document.
    assert_eq!(again.to_json(), exported);
}

#[test]
fn export_of_the_demo_parses_back_equal() {
    let plan = parse_plan(&demo_text()).unwrap();
    round_trip(&plan);
    // Semantic equality: an instant written with another offset is the same plan.
    let mut v = demo();
    v["releases"][0]["start"] = json!("2026-12-01T15:00:00+01:00");
    assert_eq!(parse_plan_value(v).unwrap(), plan);
}

#[test]
fn shifting_by_weeks_keeps_wall_times_and_round_trips() {
    let plan = parse_plan(&demo_text()).unwrap();
    let now = chrono::DateTime::parse_from_rfc3339("2027-03-31T12:00:00Z")
        .unwrap()
        .to_utc();
    let weeks = plan.weeks_to_bring_to(now);
    assert_eq!(weeks, 17); // week of 30 Nov 2026 to week of 29 Mar 2027
    let shifted = plan.shifted_by_weeks(weeks);
    let earliest = shifted.releases.iter().map(|r| r.start.utc).min().unwrap();
    assert_eq!(earliest.to_rfc3339(), "2027-03-29T10:00:00+00:00");
    round_trip(&shifted);
}

mod generated {
    //! Round trip on generated plans.
    use super::round_trip;
    use proptest::prelude::*;
    use relcal_domain::parse_plan_value;
    use serde_json::{json, Value};

    const ZONES: [&str; 5] = [
        "UTC",
        "Europe/Berlin",
        "Europe/London",
        "America/New_York",
        "Asia/Kolkata",
    ];
    const RULES: [&str; 5] = [
        "FREQ=WEEKLY;BYDAY=FR",
        "FREQ=DAILY;COUNT=5",
        "FREQ=MONTHLY;BYDAY=-1FR",
        "FREQ=MONTHLY;BYMONTHDAY=-1;UNTIL=20271231T000000Z",
        "FREQ=YEARLY;BYMONTH=12;BYMONTHDAY=24",
    ];
    const STATUSES: [&str; 7] = [
        "draft",
        "planned",
        "approved",
        "in_progress",
        "done",
        "rolled_back",
        "cancelled",
    ];

    fn time(minutes: i64, local: bool) -> String {
        let t = chrono::DateTime::parse_from_rfc3339("2026-01-01T00:00:00Z").unwrap()
            + chrono::Duration::minutes(minutes);
        if local {
            t.format("%Y-%m-%dT%H:%M:%S").to_string()
        } else {
            t.to_rfc3339()
        }
    }

    prop_compose! {
        fn release(i: usize, teams: usize, services: usize)(
            team in 0..teams, service in 0..services, start in 0i64..500_000, len in 1i64..2000,
            status in 0..STATUSES.len(), local in any::<bool>(), owner in proptest::option::of("[a-z]{2,6}"),
            dep in proptest::option::of(0..20usize), rollback in any::<bool>(),
        ) -> Value {
            let mut r = json!({
                "id": format!("r{i}"), "title": format!("Release {i}"), "team": format!("t{team}"),
                "services": [format!("s{service}")], "environment": if i.is_multiple_of(2) { "prod" } else { "staging" },
                "start": time(start, local), "end": time(start + len, local), "status": STATUSES[status],
            });
            if let Some(o) = owner { r["owner"] = json!(o); }
            if let Some(d) = dep { r["depends_on"] = json!([format!("r{d}")]); }
            if rollback { r["rollback"] = json!({"steps": ["undo"], "owner": "x", "time_budget_minutes": 5, "tested": true}); }
            r
        }
    }

    fn plan_strategy() -> impl Strategy<Value = Value> {
        (1usize..5, 1usize..6, 0usize..ZONES.len()).prop_flat_map(|(teams, services, zone)| {
            let releases: Vec<_> = (0..12).map(|i| release(i, teams, services)).collect();
            let freezes = proptest::collection::vec((0..ZONES.len(), 0..RULES.len(), any::<bool>(), 0i64..400_000), 0..5);
            (Just((teams, services, zone)), releases, freezes)
        }).prop_map(|((teams, services, zone), releases, freezes)| {
            let freezes: Vec<Value> = freezes.into_iter().enumerate().map(|(i, (z, rule, recurring, start))| {
                let mut f = json!({"id": format!("f{i}"), "name": format!("Freeze {i}"),
                    "severity": if i % 2 == 0 { "hard" } else { "soft" }, "timezone": ZONES[z],
                    "start": time(start, true)});
                if recurring {
                    f["rrule"] = json!(RULES[rule]);
                    f["duration"] = json!("P1DT2H");
                    f["exdates"] = json!([time(start, true)]);
                } else {
                    f["end"] = json!(time(start + 3000, true));
                    f["scope"] = json!({"environments": ["prod"], "teams": ["t0"]});
                }
                f
            }).collect();
            json!({
                "version": 1, "timezone": ZONES[zone],
                "teams": (0..teams).map(|i| json!({"id": format!("t{i}"), "name": format!("Team {i}")})).collect::<Vec<_>>(),
                "services": (0..services).map(|i| json!({"id": format!("s{i}"), "team": format!("t{}", i % teams)})).collect::<Vec<_>>(),
                "environments": [{"id": "staging", "name": "Staging"},
                                 {"id": "prod", "name": "Production", "production": true, "max_concurrent": 3, "required_approvals": 1}],
                "freezes": freezes, "releases": releases,
            })
        })
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]
        #[test]
        fn export_parses_back_equal(v in plan_strategy()) {
            let plan = parse_plan_value(v).expect("generated plans are valid");
            round_trip(&plan);
        }
    }
}

/// Plan text with `edit` applied to the demo's text form, parsed from text.
fn text_errors(text: &str) -> Vec<FieldError> {
    match parse_plan(text) {
        Ok(_) => panic!("the plan was accepted: {text:.200}"),
        Err(e) => e.errors().to_vec(),
    }
}

/// JSON values have the type the format gives them: an object is never an
/// array read by position, a list is never null, a key appears once.
#[test]
fn json_leniency_is_refused_naming_the_field() {
    let base = r#"{"version": 1, "teams": [{"id": "t", "name": "T"}],
        "services": [{"id": "s", "team": "t"}], "environments": [{"id": "e", "name": "E"}],
        "freezes": [FREEZE], "releases": [RELEASE]}"#;
    let freeze = r#"{"id": "f", "name": "F", "severity": "hard", "start": "2027-01-01T00:00:00Z", "end": "2027-01-02T00:00:00Z"}"#;
    let release = r#"{"id": "r", "title": "R", "team": "t", "services": ["s"], "environment": "e",
        "start": "2027-01-05T10:00:00Z", "end": "2027-01-05T11:00:00Z", "status": "planned"}"#;
    let plan = |f: &str, r: &str| base.replace("FREEZE", f).replace("RELEASE", r);
    // The base is valid.
    parse_plan(&plan(freeze, release)).unwrap();
    let with =
        |key: &str, value: &str| release.replacen('{', &format!("{{\"{key}\": {value}, "), 1);
    let cases: Vec<(String, &str, &str, &str)> = vec![
        (
            plan(
                &freeze.replacen('{', r#"{"scope": [["t"], [], []], "#, 1),
                release,
            ),
            "freezes[0] (id \"f\")",
            "scope",
            "expected a JSON object",
        ),
        (
            plan(freeze, &with("rollback", r#"[["undo"], "ana", 10, true]"#)),
            "releases[0] (id \"r\")",
            "rollback",
            "expected a JSON object",
        ),
        (
            plan(
                freeze,
                &with("approvals", r#"[["ana", "2027-01-01T00:00:00Z"]]"#),
            ),
            "releases[0] (id \"r\")",
            "approvals[0]",
            "expected a JSON object",
        ),
        (
            plan(
                freeze,
                &with("checklist", r#"[["c1", "tests", true, false]]"#),
            ),
            "releases[0] (id \"r\")",
            "checklist[0]",
            "expected a JSON object",
        ),
        (
            plan(freeze, &with("depends_on", "null")),
            "releases[0] (id \"r\")",
            "depends_on",
            "null",
        ),
        (
            plan(freeze, &with("title", r#""again""#)),
            "releases[0] (id \"r\")",
            "title",
            "duplicate field",
        ),
        (
            plan(freeze, release).replacen("\"releases\": [", "\"releases\": null, \"x\": [", 1),
            "plan",
            "releases",
            "not null",
        ),
        (
            plan(freeze, release).replacen('{', r#"{"freezes": [], "#, 1),
            "plan",
            "freezes",
            "appears twice",
        ),
        (
            plan(freeze, release).replacen("[RELEASE]", "", 1).replacen(
                &format!("[{release}]"),
                &format!("[[{release}]]"),
                1,
            ),
            "releases[0]",
            "",
            "must be a JSON object",
        ),
    ];
    for (text, object, field, needle) in cases {
        let errors = text_errors(&text);
        assert!(
            errors
                .iter()
                .any(|e| e.object == object && e.field == field && e.message.contains(needle)),
            "expected {object} / {field} containing {needle:?}, got {errors:#?}\n{text}"
        );
    }
    // The duplicate `freezes` is refused, not silently the second one.
    let twice = plan(freeze, release).replacen('{', r#"{"freezes": [], "#, 1);
    assert!(parse_plan(&twice).is_err());
}
