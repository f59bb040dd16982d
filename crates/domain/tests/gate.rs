//! `gate`: may a release with this scope start at this instant?

#![allow(
    clippy::unwrap_used,
    reason = "a test should panic loudly on a broken assumption"
)]

use relcal_domain::{
    gate, parse_plan, parse_plan_value, EnvironmentId, GateQuery, Plan, ServiceId, TeamId,
};
use serde_json::json;

use relcal_testkit::at;

fn demo() -> Plan {
    parse_plan(
        &std::fs::read_to_string(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../assets/demo-plan.json"
        ))
        .unwrap(),
    )
    .unwrap()
}

fn q(env: &str, services: &[&str], team: Option<&str>) -> GateQuery {
    GateQuery {
        environment: EnvironmentId::new(env),
        services: services.iter().map(|s| ServiceId::new(*s)).collect(),
        team: team.map(TeamId::new),
    }
}

#[test]
fn a_hard_freeze_blocks_and_says_until_when_in_its_zone() {
    let a = gate(
        &demo(),
        &q("prod", &["ingress"], None),
        at("2026-12-25T12:00:00Z"),
    )
    .unwrap();
    assert!(!a.allowed);
    assert_eq!(a.until, Some(at("2027-01-04T05:00:00Z")));
    assert_eq!(
        a.message,
        "BLOCKED: Production is frozen until 4 Jan 2027 00:00 EST (America/New_York) by Holiday freeze: Peak trading; reduced on-call"
    );
    // Staging is not in the holiday freeze's scope.
    assert!(
        gate(
            &demo(),
            &q("staging", &["ingress"], None),
            at("2026-12-25T12:00:00Z")
        )
        .unwrap()
        .allowed
    );
    // The end is exclusive: at the end instant the gate opens.
    assert!(
        gate(
            &demo(),
            &q("prod", &["ingress"], None),
            at("2027-01-04T05:00:00Z")
        )
        .unwrap()
        .allowed
    );
}

#[test]
fn service_scope_and_unknown_services() {
    let plan = demo();
    let t = at("2026-11-30T12:00:00Z");
    // Month-end close freezes the ledger only.
    let ledger = gate(&plan, &q("prod", &["ledger"], None), t).unwrap();
    assert!(!ledger.allowed);
    assert!(
        ledger
            .message
            .contains("until 2 Dec 2026 00:00 CET (Europe/Berlin) by Finance month-end close"),
        "{}",
        ledger.message
    );
    assert!(gate(&plan, &q("prod", &["auth"], None), t).unwrap().allowed);
    // Without services the gate cannot rule the ledger out, so it blocks.
    assert!(!gate(&plan, &q("prod", &[], None), t).unwrap().allowed);
}

#[test]
fn month_end_in_summer_time_starts_at_local_midnight() {
    let plan = demo();
    // 31 Mar 2027 00:00 in Berlin is CEST: 30 Mar 22:00Z.
    assert!(
        gate(
            &plan,
            &q("prod", &["ledger"], None),
            at("2027-03-30T21:59:00Z")
        )
        .unwrap()
        .allowed
    );
    let a = gate(
        &plan,
        &q("prod", &["ledger"], None),
        at("2027-03-30T22:00:00Z"),
    )
    .unwrap();
    assert!(!a.allowed);
    assert!(
        a.message.contains("until 2 Apr 2027 00:00 CEST"),
        "{}",
        a.message
    );
}

#[test]
fn soft_freezes_allow_with_a_warning_and_upcoming_hard_freezes_are_listed() {
    let plan = demo();
    // Friday 6 Nov 2026 14:00 Berlin (13:00Z): "No Friday afternoon deploys" is soft and global.
    let a = gate(
        &plan,
        &q("staging", &["auth"], None),
        at("2026-11-06T13:00:00Z"),
    )
    .unwrap();
    assert!(a.allowed);
    assert_eq!(a.warnings.len(), 1);
    assert!(
        a.message
            .starts_with("ALLOWED with a warning: soft freeze No Friday afternoon deploys"),
        "{}",
        a.message
    );
    let before = gate(
        &plan,
        &q("prod", &["auth"], None),
        at("2026-12-20T12:00:00Z"),
    )
    .unwrap();
    assert!(before.allowed);
    assert_eq!(
        before
            .upcoming
            .iter()
            .map(|h| h.freeze.as_str())
            .collect::<Vec<_>>(),
        ["holidays"]
    );
}

#[test]
fn chained_hard_freezes_are_followed_to_the_first_free_instant() {
    let plan = parse_plan_value(json!({
        "version": 1, "teams": [{"id": "t", "name": "T"}], "services": [{"id": "s", "team": "t"}],
        "environments": [{"id": "prod", "name": "Production"}],
        "freezes": [
            {"id": "a", "name": "A", "severity": "hard", "start": "2027-01-01T00:00:00Z", "end": "2027-01-02T00:00:00Z"},
            {"id": "b", "name": "B", "severity": "hard", "start": "2027-01-01T12:00:00Z", "end": "2027-01-03T00:00:00Z",
             "scope": {"teams": ["t"]}},
            {"id": "c", "name": "C", "severity": "hard", "start": "2027-01-03T00:00:00Z", "end": "2027-01-03T06:00:00Z"}
        ],
        "releases": []
    }))
    .unwrap();
    let a = gate(&plan, &q("prod", &[], None), at("2027-01-01T01:00:00Z")).unwrap();
    assert_eq!(a.until, Some(at("2027-01-03T06:00:00Z")));
    // Team derived from the service: t, so B applies; naming another team would not change A and C.
    let b = gate(&plan, &q("prod", &["s"], None), at("2027-01-02T01:00:00Z")).unwrap();
    assert_eq!(
        b.blocked_by
            .iter()
            .map(|h| h.freeze.as_str())
            .collect::<Vec<_>>(),
        ["b"]
    );
}

#[test]
fn unknown_references_name_the_flag() {
    let plan = demo();
    let e = gate(
        &plan,
        &q("production", &[], None),
        at("2026-12-25T12:00:00Z"),
    )
    .unwrap_err();
    assert_eq!(e.flag, "--env");
    assert!(e
        .message
        .contains("unknown environment \"production\"; the plan has: staging, prod"));
    assert_eq!(
        gate(
            &plan,
            &q("prod", &["cart"], None),
            at("2026-12-25T12:00:00Z")
        )
        .unwrap_err()
        .flag,
        "--service"
    );
    assert_eq!(
        gate(
            &plan,
            &q("prod", &[], Some("growth")),
            at("2026-12-25T12:00:00Z")
        )
        .unwrap_err()
        .flag,
        "--team"
    );
}

fn recurring(rule: &str, duration: &str, start: &str, zone: &str) -> relcal_domain::Plan {
    parse_plan_value(json!({
        "version": 1, "teams": [{"id": "t", "name": "T"}], "services": [{"id": "s", "team": "t"}],
        "environments": [{"id": "prod", "name": "Production"}],
        "freezes": [{"id": "f", "name": "F", "severity": "hard", "timezone": zone,
                     "start": start, "duration": duration, "rrule": rule}],
        "releases": []
    }))
    .unwrap()
}

/// "Blocked until X" means the gate is open at X, or it says plainly that X
/// is only a lower bound: back-to-back freezes are followed to their true end.
#[test]
fn the_instant_the_gate_names_is_free_or_a_stated_lower_bound() {
    let cases = [
        // Back to back for ever: only a lower bound can be given. (In
        // Berlin an hourly wall-clock rule skips the repeated hour when the
        // clocks go back, which frees one hour: UTC has no such gap.)
        ("FREQ=HOURLY", "PT1H", "2026-01-01T00:00:00", None),
        ("FREQ=DAILY", "P1D", "2026-01-01T00:00:00", None),
        ("FREQ=DAILY", "P366D", "2026-01-01T00:00:00", None),
        // Back to back, then an end: the true end.
        (
            "FREQ=HOURLY;UNTIL=20260310T000000",
            "PT1H",
            "2026-01-01T00:00:00",
            Some("2026-03-10T00:00:00Z"),
        ),
        (
            "FREQ=DAILY;COUNT=400",
            "P1D",
            "2026-01-01T00:00:00",
            Some("2027-02-04T23:00:00Z"),
        ),
        // Weekdays 08:00-20:00 with the nights free.
        (
            "FREQ=DAILY;BYDAY=MO,TU,WE,TH,FR;BYHOUR=8,14",
            "PT6H",
            "2026-01-05T08:00:00",
            Some("2026-03-02T19:00:00Z"),
        ),
    ];
    for (rule, duration, start, expected) in cases {
        let zone = if rule == "FREQ=HOURLY" {
            "UTC"
        } else {
            "Europe/Berlin"
        };
        let plan = recurring(rule, duration, start, zone);
        let asked = at("2026-03-02T12:30:00Z");
        let a = gate(&plan, &q("prod", &[], None), asked).unwrap();
        assert!(!a.allowed, "{rule}");
        let until = a.until.unwrap();
        match expected {
            Some(end) => {
                assert!(!a.until_is_lower_bound, "{rule}: {}", a.message);
                assert_eq!(until, at(end), "{rule}");
                assert!(
                    gate(&plan, &q("prod", &[], None), until).unwrap().allowed,
                    "{rule}: blocked at the instant it named, {until}"
                );
            }
            None => {
                assert!(a.until_is_lower_bound, "{rule}: {}", a.message);
                assert!(a.message.contains("until at least"), "{}", a.message);
                assert!(
                    until > asked + chrono::Duration::days(365 * 4),
                    "{rule}: {until}"
                );
            }
        }
    }
}
