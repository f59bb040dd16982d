//! The notification rules with a fake clock: lead times, DST, scope, people,
//! quiet hours and readiness gaps.

#![allow(
    clippy::unwrap_used,
    reason = "a test should panic loudly on a broken assumption"
)]

use chrono::Duration;
use relcal_domain::*;

use relcal_testkit::at;

fn plan() -> Plan {
    parse_plan(
        r#"{ "version": 1, "timezone": "UTC",
      "teams": [ { "id": "pay", "name": "Payments" }, { "id": "id", "name": "Identity" } ],
      "services": [ { "id": "ledger", "team": "pay" }, { "id": "auth", "team": "id" } ],
      "environments": [ { "id": "prod", "name": "Production", "production": true, "required_approvals": 2 } ],
      "freezes": [
        { "id": "fri", "name": "No Friday deploys", "severity": "soft", "timezone": "Europe/Berlin",
          "start": "2026-10-02T12:00:00", "duration": "PT12H", "rrule": "FREQ=WEEKLY;BYDAY=FR" },
        { "id": "xmas", "name": "Holiday freeze", "severity": "hard", "timezone": "America/New_York",
          "start": "2026-12-21T00:00:00", "end": "2027-01-04T00:00:00", "reason": "Peak trading" },
        { "id": "pay-only", "name": "Month end", "severity": "hard", "start": "2026-11-30T00:00:00Z",
          "end": "2026-12-01T00:00:00Z", "scope": { "teams": ["pay"] } }
      ],
      "releases": [
        { "id": "r1", "title": "ledger 3.5", "team": "pay", "services": ["ledger"], "environment": "prod",
          "start": "2026-11-10T09:00:00Z", "end": "2026-11-10T10:00:00Z", "status": "planned", "owner": "sam",
          "checklist": [ { "id": "smoke", "text": "Smoke", "required": true, "done": false } ],
          "approvals": [ { "by": "li", "at": "2026-11-01T00:00:00Z" } ] },
        { "id": "r2", "title": "auth 6", "team": "id", "services": ["auth"], "environment": "prod",
          "start": "2026-11-10T15:00:00Z", "end": "2026-11-10T16:00:00Z", "status": "cancelled", "owner": "sam" }
      ] }"#,
    )
    .unwrap()
}

fn keys(ns: &[Notice]) -> Vec<(String, String)> {
    ns.iter()
        .map(|n| {
            (
                n.show_at.format("%Y-%m-%dT%H:%M").to_string(),
                n.summary.clone(),
            )
        })
        .collect()
}

#[test]
fn a_freeze_is_announced_a_day_and_an_hour_ahead_at_its_start_and_at_its_end() {
    let rules = NotifyRules::defaults(Tz::America__New_York);
    let p = plan();
    let ns: Vec<Notice> = notices_between(
        &p,
        &rules,
        at("2026-12-19T00:00:00Z"),
        at("2027-01-05T00:00:00Z"),
    )
    .into_iter()
    .filter(|n| n.target.1 == "xmas")
    .collect();
    assert_eq!(
        keys(&ns),
        [
            (
                "2026-12-20T05:00".into(),
                "Holiday freeze starts in 1 day".into()
            ),
            (
                "2026-12-21T04:00".into(),
                "Holiday freeze starts in 1 hour".into()
            ),
            (
                "2026-12-21T05:00".into(),
                "Holiday freeze starts now".into()
            ),
            ("2027-01-04T05:00".into(), "Holiday freeze is over".into()),
        ]
    );
    assert_eq!(
        ns[0].body,
        "hard freeze · 21 Dec 2026 00:00 EST (America/New_York) – 4 Jan 2027 00:00 EST (America/New_York) · all teams · Peak trading"
    );
    assert_eq!(ns[0].target, ("freeze".to_owned(), "xmas".to_owned()));
    // Keys are per occurrence and per lead time: all different.
    let mut k: Vec<&str> = ns.iter().map(|n| n.key.as_str()).collect();
    k.dedup();
    assert_eq!(k.len(), 4);
}

#[test]
fn a_weekly_freeze_follows_the_wall_clock_across_the_dst_change() {
    let mut rules = NotifyRules::defaults(Tz::Europe__Berlin);
    rules.kinds = vec![NoticeKind::FreezeStarts];
    let ns = notices_between(
        &plan(),
        &rules,
        at("2026-10-20T00:00:00Z"),
        at("2026-11-01T00:00:00Z"),
    );
    let fri: Vec<_> = keys(&ns)
        .into_iter()
        .filter(|(_, s)| s.starts_with("No Friday"))
        .collect();
    // 12:00 in Berlin: 10:00 UTC in summer time, 11:00 UTC after 25 October.
    assert_eq!(
        fri,
        [
            (
                "2026-10-23T10:00".into(),
                "No Friday deploys starts now".into()
            ),
            (
                "2026-10-30T11:00".into(),
                "No Friday deploys starts now".into()
            ),
        ]
    );
}

#[test]
fn scope_and_people_choose_what_i_hear_about() {
    let p = plan();
    let range = (at("2026-11-09T00:00:00Z"), at("2026-12-02T00:00:00Z"));
    let summaries = |rules: &NotifyRules| -> Vec<String> {
        notices_between(&p, rules, range.0, range.1)
            .into_iter()
            .filter(|n| !n.target.1.starts_with("fri"))
            .map(|n| n.summary)
            .collect()
    };
    let mut identity = NotifyRules::defaults(Tz::UTC);
    identity.my_teams = vec!["id".into()];
    // The payments-only freeze and the payments release are not mine.
    assert!(
        summaries(&identity).is_empty(),
        "{:?}",
        summaries(&identity)
    );
    let mut payments = NotifyRules::defaults(Tz::UTC);
    payments.my_teams = vec!["pay".into()];
    let s = summaries(&payments);
    assert!(s.contains(&"Month end starts in 1 day".to_owned()), "{s:?}");
    assert!(
        s.contains(&"ledger 3.5 starts in 15 minutes".to_owned()),
        "{s:?}"
    );
    // By name: the owner and an approver hear about the release; someone else does not.
    for (me, hears) in [("sam", true), ("li", true), ("omar", false)] {
        let mut rules = NotifyRules::defaults(Tz::UTC);
        rules.me = Some(me.into());
        rules.kinds = vec![NoticeKind::ReleaseUpcoming];
        assert_eq!(!summaries(&rules).is_empty(), hears, "{me}");
    }
    // A cancelled release is never announced.
    assert!(!summaries(&NotifyRules::defaults(Tz::UTC))
        .iter()
        .any(|s| s.contains("auth 6")));
}

#[test]
fn a_release_a_day_away_with_open_items_or_missing_approvals_is_flagged() {
    let mut rules = NotifyRules::defaults(Tz::UTC);
    rules.kinds = vec![NoticeKind::ReadinessGap];
    let ns = notices_between(
        &plan(),
        &rules,
        at("2026-11-09T00:00:00Z"),
        at("2026-11-10T00:00:00Z"),
    );
    assert_eq!(
        keys(&ns),
        [(
            "2026-11-09T09:00".into(),
            "ledger 3.5 is not ready: 1 required checklist item open, 1 of 2 approvals".into()
        )]
    );
    assert!(
        ns[0].body.contains("Production · Payments"),
        "{}",
        ns[0].body
    );
}

#[test]
fn quiet_hours_hold_notices_and_the_next_one_is_known() {
    let mut rules = NotifyRules::defaults(Tz::UTC);
    rules.kinds = vec![NoticeKind::ReleaseUpcoming];
    rules.quiet = Some(quiet_hours("08:00", "08:30", "UTC").unwrap());
    // 08:00 (1 h ahead) falls in the quiet hours: shown at 08:30; the 15-minute one is outside.
    let ns = notices_between(
        &plan(),
        &rules,
        at("2026-11-10T00:00:00Z"),
        at("2026-11-10T12:00:00Z"),
    );
    assert_eq!(
        keys(&ns),
        [
            (
                "2026-11-10T08:30".into(),
                "ledger 3.5 starts in 1 hour".into()
            ),
            (
                "2026-11-10T08:45".into(),
                "ledger 3.5 starts in 15 minutes".into()
            ),
        ]
    );
    assert_eq!(
        next_notice_at(
            &plan(),
            &rules,
            at("2026-11-10T00:00:00Z"),
            Duration::days(2)
        ),
        Some(at("2026-11-10T08:30:00Z"))
    );
    assert_eq!(
        next_notice_at(
            &plan(),
            &rules,
            at("2026-11-10T08:45:00Z"),
            Duration::days(2)
        ),
        None
    );
}

/// A release in the holiday freeze with an exception that expires midway.
fn with_exception(expires: &str, requested_by: &str, owner: &str) -> Plan {
    parse_plan(&format!(
        r#"{{ "version": 1, "timezone": "UTC",
      "teams": [ {{ "id": "pay", "name": "Payments" }} ],
      "services": [ {{ "id": "ledger", "team": "pay" }} ],
      "environments": [ {{ "id": "prod", "name": "Production" }} ],
      "freezes": [ {{ "id": "xmas", "name": "Holiday freeze", "severity": "hard",
          "start": "2026-12-21T00:00:00Z", "end": "2027-01-04T00:00:00Z" }} ],
      "releases": [
        {{ "id": "r1", "title": "ledger hotfix", "team": "pay", "services": ["ledger"], "environment": "prod",
          "start": "2026-12-22T09:00:00Z", "end": "2026-12-22T12:00:00Z", "status": "planned", "owner": "{owner}",
          "overrides": [ {{ "freeze": "xmas", "reason": "payment outage", "by": "li", "requested_by": "{requested_by}",
                           "expires": "{expires}" }} ] }}
      ] }}"#
    ))
    .unwrap()
}

#[test]
fn an_exception_that_expires_while_the_release_is_still_in_the_freeze_is_announced_to_who_holds_it()
{
    let p = with_exception("2026-12-22T10:00:00Z", "sam", "sam");
    let week = |rules: &NotifyRules| {
        notices_between(
            &p,
            rules,
            at("2026-12-21T00:00:00Z"),
            at("2026-12-23T00:00:00Z"),
        )
        .into_iter()
        .filter(|n| n.kind == NoticeKind::ExceptionExpires)
        .collect::<Vec<_>>()
    };
    let everyone = NotifyRules::defaults(Tz::UTC);
    let ns = week(&everyone);
    assert_eq!(
        keys(&ns),
        [(
            "2026-12-22T10:00".to_owned(),
            "Exception to Holiday freeze for ledger hotfix expires".to_owned()
        )]
    );
    assert!(
        ns[0]
            .body
            .contains("from 22 Dec 2026 10:00 UTC (UTC) the hard freeze applies to it again"),
        "{}",
        ns[0].body
    );
    assert!(
        ns[0].body.ends_with("approved by li: payment outage"),
        "{}",
        ns[0].body
    );
    assert_eq!(ns[0].target, ("release".to_owned(), "r1".to_owned()));
    // The person who asked for it gets it; someone else does not.
    let sam = NotifyRules {
        me: Some("sam".into()),
        ..NotifyRules::defaults(Tz::UTC)
    };
    assert_eq!(week(&sam).len(), 1);
    let ana = NotifyRules {
        me: Some("ana".into()),
        ..NotifyRules::defaults(Tz::UTC)
    };
    assert!(week(&ana).is_empty());
    let asked = with_exception("2026-12-22T10:00:00Z", "ana", "sam");
    let ana_asked: Vec<_> = notices_between(
        &asked,
        &ana,
        at("2026-12-21T00:00:00Z"),
        at("2026-12-23T00:00:00Z"),
    )
    .into_iter()
    .filter(|n| n.kind == NoticeKind::ExceptionExpires)
    .collect();
    assert_eq!(ana_asked.len(), 1);
    // Expiring after the release ends, or turned off: nothing.
    let late = with_exception("2026-12-22T12:00:00Z", "sam", "sam");
    assert!(notices_between(
        &late,
        &everyone,
        at("2026-12-21T00:00:00Z"),
        at("2026-12-23T00:00:00Z")
    )
    .iter()
    .all(|n| n.kind != NoticeKind::ExceptionExpires));
    let off = NotifyRules {
        kinds: vec![NoticeKind::FreezeStarts],
        ..NotifyRules::defaults(Tz::UTC)
    };
    assert!(week(&off).is_empty());
}
