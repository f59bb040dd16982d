//! `find_slot`: the earliest start with no error-severity conflict, worked
//! cases and a property test against a minute-by-minute search that asks the
//! conflict engine.

#![allow(
    clippy::unwrap_used,
    reason = "a test should panic loudly on a broken assumption"
)]

use chrono::{DateTime, Duration, FixedOffset, Utc};
use proptest::prelude::*;
use relcal_domain::{
    find_slot, parse_plan_value, Checker, EnvironmentId, PlanDuration, PlanTime, ReleaseId,
    ServiceId, SlotAnswer, SlotQuery, TeamId, TimeValue, Tz, MAX_SKIPPED,
};
use relcal_testkit::at;
use serde_json::{json, Value};

fn plan(freezes: Value, releases: Value) -> relcal_domain::Plan {
    parse_plan_value(json!({
        "version": 1, "timezone": "UTC",
        "teams": [{"id": "t", "name": "Team"}, {"id": "u", "name": "Other"}],
        "services": [{"id": "api", "team": "t"}, {"id": "web", "team": "t"}, {"id": "db", "team": "u"}],
        "environments": [{"id": "stg", "name": "Staging", "max_concurrent": 2},
                         {"id": "prod", "name": "Production", "production": true}],
        "freezes": freezes, "releases": releases,
    }))
    .unwrap()
}

fn rel(id: &str, env: &str, services: &[&str], start: &str, end: &str, extra: Value) -> Value {
    let mut r = json!({"id": id, "title": format!("Release {id}"), "team": "t", "services": services,
                       "environment": env, "start": start, "end": end, "status": "planned"});
    if let (Value::Object(r), Value::Object(extra)) = (&mut r, extra) {
        r.extend(extra);
    }
    r
}

fn query(env: &str, services: &[&str], duration: &str, after: &str) -> SlotQuery {
    SlotQuery {
        environment: EnvironmentId::new(env),
        services: services.iter().map(|s| ServiceId::new(*s)).collect(),
        team: None,
        owner: None,
        after_releases: vec![],
        duration: PlanDuration::parse(duration).unwrap(),
        after: at(after),
        within: Duration::days(90),
        avoid_soft: false,
        moving: None,
    }
}

fn start_of(a: &SlotAnswer) -> Option<DateTime<Utc>> {
    a.slot.map(|s| s.start)
}

fn codes(a: &SlotAnswer) -> Vec<&str> {
    a.skipped.iter().map(|s| s.code).collect()
}

#[test]
fn a_free_calendar_gives_the_asked_start_and_nothing_skipped() {
    let p = plan(json!([]), json!([]));
    let a = find_slot(&p, &query("prod", &["api"], "PT2H", "2027-01-04T09:00:00Z")).unwrap();
    assert_eq!(start_of(&a), Some(at("2027-01-04T09:00:00Z")));
    assert_eq!(a.slot.unwrap().end, at("2027-01-04T11:00:00Z"));
    assert!(a.skipped.is_empty());
    assert_eq!(a.team, Some(TeamId::new("t")));
    assert!(
        a.message
            .starts_with("earliest slot in Production: 4 Jan 2027 09:00"),
        "{}",
        a.message
    );
}

#[test]
fn a_hard_freeze_in_scope_pushes_the_start_to_its_end_and_a_soft_one_only_when_asked() {
    let p = plan(
        json!([
            {"id": "x", "name": "Holiday", "severity": "hard", "start": "2027-01-04T08:00:00Z",
             "end": "2027-01-05T00:00:00Z", "scope": {"environments": ["prod"]}, "reason": "peak"},
            {"id": "s", "name": "Quiet", "severity": "soft", "start": "2027-01-05T00:00:00Z",
             "end": "2027-01-05T06:00:00Z"},
            // Another service: not in scope.
            {"id": "d", "name": "DB work", "severity": "hard", "start": "2027-01-05T00:00:00Z",
             "end": "2027-01-09T00:00:00Z", "scope": {"services": ["db"]}}
        ]),
        json!([]),
    );
    let q = query("prod", &["api"], "PT2H", "2027-01-04T09:00:00Z");
    let a = find_slot(&p, &q).unwrap();
    assert_eq!(start_of(&a), Some(at("2027-01-05T00:00:00Z")));
    assert_eq!(codes(&a), ["freeze.hard"]);
    assert_eq!(a.skipped[0].period.start, at("2027-01-04T08:00:00Z"));
    assert!(
        a.skipped[0].reason.contains("Holiday (hard)"),
        "{}",
        a.skipped[0].reason
    );
    assert!(
        a.skipped[0].reason.ends_with(": peak"),
        "{}",
        a.skipped[0].reason
    );
    let soft = find_slot(
        &p,
        &SlotQuery {
            avoid_soft: true,
            ..q.clone()
        },
    )
    .unwrap();
    assert_eq!(start_of(&soft), Some(at("2027-01-05T06:00:00Z")));
    assert_eq!(codes(&soft), ["freeze.hard", "freeze.soft"]);
    // Staging is outside the holiday's scope.
    let stg = find_slot(&p, &query("stg", &["api"], "PT2H", "2027-01-04T09:00:00Z")).unwrap();
    assert_eq!(start_of(&stg), Some(at("2027-01-04T09:00:00Z")));
    // A stretch that would run into the freeze is refused too: it must end by its start.
    let before = find_slot(&p, &query("prod", &["api"], "PT2H", "2027-01-04T06:30:00Z")).unwrap();
    assert_eq!(start_of(&before), Some(at("2027-01-05T00:00:00Z")));
    let fits = find_slot(&p, &query("prod", &["api"], "PT2H", "2027-01-04T06:00:00Z")).unwrap();
    assert_eq!(start_of(&fits), Some(at("2027-01-04T06:00:00Z")));
}

#[test]
fn a_release_on_a_shared_service_and_the_owner_elsewhere_both_push_it() {
    let p = plan(
        json!([]),
        json!([
            rel(
                "a",
                "prod",
                &["api"],
                "2027-01-04T09:00:00Z",
                "2027-01-04T12:00:00Z",
                json!({})
            ),
            // The owner is busy in staging right after.
            rel(
                "b",
                "stg",
                &["web"],
                "2027-01-04T12:00:00Z",
                "2027-01-04T13:30:00Z",
                json!({"owner": "ana"})
            ),
            // Cancelled and done releases take no part.
            rel(
                "c",
                "prod",
                &["api"],
                "2027-01-04T13:30:00Z",
                "2027-01-04T20:00:00Z",
                json!({"status": "cancelled"})
            ),
            // Another service in the same environment: no overlap.
            rel(
                "d",
                "prod",
                &["db"],
                "2027-01-04T13:30:00Z",
                "2027-01-04T20:00:00Z",
                json!({"team": "u"})
            )
        ]),
    );
    let q = SlotQuery {
        owner: Some(" ana ".into()),
        ..query("prod", &["api"], "PT1H", "2027-01-04T10:00:00Z")
    };
    let a = find_slot(&p, &q).unwrap();
    assert_eq!(start_of(&a), Some(at("2027-01-04T13:30:00Z")));
    assert_eq!(codes(&a), ["service.overlap", "owner.double_booked"]);
    assert!(
        a.skipped[0]
            .reason
            .contains("Release a (a) changes api in Production"),
        "{}",
        a.skipped[0].reason
    );
    assert!(
        a.skipped[1].reason.starts_with("ana runs Release b (b)"),
        "{}",
        a.skipped[1].reason
    );
    // Without an owner only the shared service counts.
    let anyone = find_slot(&p, &SlotQuery { owner: None, ..q }).unwrap();
    assert_eq!(start_of(&anyone), Some(at("2027-01-04T12:00:00Z")));
}

#[test]
fn capacity_blocks_only_where_the_environment_is_already_full() {
    let p = plan(
        json!([]),
        json!([
            rel(
                "a",
                "stg",
                &["web"],
                "2027-01-04T09:00:00Z",
                "2027-01-04T12:00:00Z",
                json!({})
            ),
            rel(
                "b",
                "stg",
                &["web"],
                "2027-01-04T10:00:00Z",
                "2027-01-04T11:00:00Z",
                json!({"status": "in_progress"})
            ),
            rel(
                "c",
                "stg",
                &["web"],
                "2027-01-04T11:30:00Z",
                "2027-01-04T14:00:00Z",
                json!({})
            )
        ]),
    );
    // Staging allows two at once: full 10:00-11:00 and 11:30-12:00.
    let a = find_slot(&p, &query("stg", &["api"], "PT30M", "2027-01-04T10:15:00Z")).unwrap();
    assert_eq!(start_of(&a), Some(at("2027-01-04T11:00:00Z")));
    assert_eq!(codes(&a), ["environment.capacity"]);
    assert_eq!(a.skipped[0].period.start, at("2027-01-04T10:00:00Z"));
    assert_eq!(a.skipped[0].period.end, at("2027-01-04T11:00:00Z"));
    // An hour does not fit between the two full periods.
    let hour = find_slot(&p, &query("stg", &["api"], "PT1H", "2027-01-04T10:15:00Z")).unwrap();
    assert_eq!(start_of(&hour), Some(at("2027-01-04T12:00:00Z")));
    // Production has no limit.
    let prod = find_slot(&p, &query("prod", &["api"], "PT1H", "2027-01-04T10:15:00Z")).unwrap();
    assert_eq!(start_of(&prod), Some(at("2027-01-04T10:15:00Z")));
}

fn windowed(windows: Value, zone: &str) -> relcal_domain::Plan {
    parse_plan_value(json!({
        "version": 1, "timezone": "UTC",
        "teams": [{"id": "t", "name": "Team", "timezone": zone, "allowed_windows": windows}],
        "services": [{"id": "api", "team": "t"}],
        "environments": [{"id": "prod", "name": "Production"}],
        "freezes": [], "releases": [],
    }))
    .unwrap()
}

#[test]
fn the_start_waits_for_a_deploy_window_the_whole_stretch_fits_in() {
    let p = windowed(
        json!([{"start": "2027-01-04T09:00:00", "duration": "PT8H", "rrule": "FREQ=WEEKLY;BYDAY=MO,TU,WE,TH,FR"}]),
        "Europe/Berlin",
    );
    // Friday 8 Jan 16:30 Berlin: two hours do not fit before 17:00, so Monday 09:00.
    let a = find_slot(&p, &query("prod", &["api"], "PT2H", "2027-01-08T15:30:00Z")).unwrap();
    assert_eq!(start_of(&a), Some(at("2027-01-11T08:00:00Z")));
    assert_eq!(codes(&a), ["window.outside_allowed"]);
    assert_eq!(a.skipped[0].reason, "outside the deploy windows of Team");
    assert_eq!(a.zone, Tz::Europe__Berlin);
    assert!(
        a.message
            .contains("11 Jan 2027 09:00 CET to 11 Jan 2027 11:00 CET (Europe/Berlin)"),
        "{}",
        a.message
    );
    // Longer than any window: none.
    let long = find_slot(&p, &query("prod", &["api"], "PT9H", "2027-01-08T15:30:00Z")).unwrap();
    assert_eq!(long.slot, None);
    assert!(
        long.message
            .starts_with("no slot of PT9H in Production starts between"),
        "{}",
        long.message
    );
}

#[test]
fn it_follows_the_releases_it_depends_on_unless_they_are_done() {
    let p = plan(
        json!([]),
        json!([
            rel(
                "a",
                "stg",
                &["web"],
                "2027-01-04T09:00:00Z",
                "2027-01-04T12:00:00Z",
                json!({})
            ),
            rel(
                "b",
                "stg",
                &["web"],
                "2027-01-04T09:00:00Z",
                "2027-01-06T00:00:00Z",
                json!({"status": "done"})
            ),
            rel(
                "c",
                "stg",
                &["web"],
                "2027-01-04T09:00:00Z",
                "2027-01-07T00:00:00Z",
                json!({"status": "cancelled"})
            )
        ]),
    );
    let q = SlotQuery {
        after_releases: vec![
            ReleaseId::new("a"),
            ReleaseId::new("b"),
            ReleaseId::new("c"),
        ],
        ..query("prod", &["api"], "PT1H", "2027-01-04T08:00:00Z")
    };
    let a = find_slot(&p, &q).unwrap();
    assert_eq!(start_of(&a), Some(at("2027-01-04T12:00:00Z")));
    assert_eq!(codes(&a), ["dependency.order"]);
    assert!(
        a.skipped[0]
            .reason
            .starts_with("waits for Release a (a) to end"),
        "{}",
        a.skipped[0].reason
    );
}

#[test]
fn a_moved_release_is_left_out_and_its_dependents_bound_its_end() {
    let p = plan(
        json!([{"id": "x", "name": "Morning", "severity": "hard", "start": "2027-01-04T09:00:00Z",
                "end": "2027-01-04T10:00:00Z"}]),
        json!([
            rel(
                "m",
                "prod",
                &["api"],
                "2027-01-04T09:30:00Z",
                "2027-01-04T10:30:00Z",
                json!({"owner": "ana"})
            ),
            rel(
                "n",
                "prod",
                &["web"],
                "2027-01-04T11:00:00Z",
                "2027-01-04T12:00:00Z",
                json!({"depends_on": ["m"]})
            )
        ]),
    );
    let q = SlotQuery {
        moving: Some(ReleaseId::new("m")),
        owner: Some("ana".into()),
        ..query("prod", &["api"], "PT1H", "2027-01-04T09:00:00Z")
    };
    let a = find_slot(&p, &q).unwrap();
    // Its own old place does not block it; the freeze does.
    assert_eq!(start_of(&a), Some(at("2027-01-04T10:00:00Z")));
    // Two hours would run past its dependent's start.
    let long = find_slot(
        &p,
        &SlotQuery {
            duration: PlanDuration::parse("PT2H").unwrap(),
            within: Duration::hours(3),
            ..q
        },
    )
    .unwrap();
    assert_eq!(long.slot, None);
    assert_eq!(codes(&long), ["freeze.hard", "dependency.order"]);
}

#[test]
fn a_length_in_days_is_counted_on_the_teams_wall_clock() {
    let p = windowed(json!([]), "Europe/Berlin");
    // 28 Mar 2027 has 23 hours in Berlin: P1D from 27 Mar 12:00 CET ends 28 Mar 12:00 CEST.
    let a = find_slot(&p, &query("prod", &["api"], "P1D", "2027-03-27T11:00:00Z")).unwrap();
    assert_eq!(a.slot.unwrap().end, at("2027-03-28T10:00:00Z"));
}

/// Two hard freezes around a daylight-saving change, in a Berlin team's plan.
fn two_freezes(first_end: &str, second_start: &str) -> relcal_domain::Plan {
    parse_plan_value(json!({
        "version": 1, "timezone": "Europe/Berlin",
        "teams": [{"id": "t", "name": "Team"}],
        "services": [{"id": "api", "team": "t"}],
        "environments": [{"id": "prod", "name": "Production"}],
        "freezes": [
            {"id": "a", "name": "A", "severity": "hard", "start": "2027-01-01T00:00:00Z", "end": first_end},
            {"id": "b", "name": "B", "severity": "hard", "start": second_start, "end": "2027-12-31T00:00:00Z"}
        ],
        "releases": [],
    }))
    .unwrap()
}

#[test]
fn a_day_long_stretch_can_start_where_its_end_jumps_back_at_an_autumn_change() {
    // Berlin falls back at 31 Oct 2027 01:00Z. A day from 02:30 CEST ends
    // 1 Nov 02:30 CET (01:30Z); a day from 02:00 CET, the instant after the
    // change, ends 1 Nov 02:00 CET (01:00Z): the end jumps back an hour.
    let p = two_freezes("2027-10-31T00:30:00Z", "2027-11-01T01:15:00Z");
    let a = find_slot(&p, &query("prod", &["api"], "P1D", "2027-10-30T12:00:00Z")).unwrap();
    assert_eq!(
        a.slot.map(|s| (s.start, s.end)),
        Some((at("2027-10-31T01:00:00Z"), at("2027-11-01T01:00:00Z")))
    );
}

#[test]
fn a_day_long_stretch_can_start_where_its_end_leaves_a_spring_gap() {
    // Berlin springs forward at 28 Mar 2027 01:00Z (02:00 CET to 03:00 CEST).
    // A day from 27 Mar 02:45 CET ends at 28 Mar 02:45, which does not exist
    // and is read as 03:45 CEST (01:45Z); a day from 03:00 CET ends 28 Mar
    // 03:00 CEST (01:00Z).
    let p = two_freezes("2027-03-27T01:30:00Z", "2027-03-28T01:10:00Z");
    let a = find_slot(&p, &query("prod", &["api"], "P1D", "2027-03-26T12:00:00Z")).unwrap();
    assert_eq!(
        a.slot.map(|s| (s.start, s.end)),
        Some((at("2027-03-27T02:00:00Z"), at("2027-03-28T01:00:00Z")))
    );
}

#[test]
fn an_hourly_freeze_over_the_longest_search_is_bounded() {
    let p = plan(
        json!([{"id": "h", "name": "Hourly", "severity": "hard", "start": "2027-01-01T00:00:00",
                "duration": "PT59M", "rrule": "FREQ=HOURLY"}]),
        json!([]),
    );
    let q = SlotQuery {
        within: Duration::days(366),
        ..query("prod", &["api"], "PT2M", "2027-01-04T00:30:00Z")
    };
    let a = find_slot(&p, &q).unwrap();
    assert_eq!(a.slot, None);
    assert!(a.skipped_truncated);
    assert_eq!(a.skipped.len(), MAX_SKIPPED);
    // A minute fits in each gap.
    let minute = find_slot(
        &p,
        &SlotQuery {
            duration: PlanDuration::parse("PT1M").unwrap(),
            ..q
        },
    )
    .unwrap();
    assert_eq!(start_of(&minute), Some(at("2027-01-04T00:59:00Z")));
}

#[test]
fn bad_queries_name_the_flag() {
    let p = plan(
        json!([]),
        json!([rel(
            "a",
            "stg",
            &["web"],
            "2027-01-04T09:00:00Z",
            "2027-01-04T12:00:00Z",
            json!({})
        )]),
    );
    let flag = |q: SlotQuery| find_slot(&p, &q).err().map(|e| e.flag);
    let q = query("prod", &["api"], "PT1H", "2027-01-04T08:00:00Z");
    assert_eq!(
        flag(SlotQuery {
            environment: EnvironmentId::new("nope"),
            ..q.clone()
        }),
        Some("--env")
    );
    assert_eq!(
        flag(SlotQuery {
            services: vec![ServiceId::new("nope")],
            ..q.clone()
        }),
        Some("--service")
    );
    assert_eq!(
        flag(SlotQuery {
            team: Some(TeamId::new("nope")),
            ..q.clone()
        }),
        Some("--team")
    );
    // Services of two teams: which one releases them?
    assert_eq!(
        flag(SlotQuery {
            services: vec![ServiceId::new("api"), ServiceId::new("db")],
            ..q.clone()
        }),
        Some("--team")
    );
    assert_eq!(
        flag(SlotQuery {
            services: vec![ServiceId::new("api"), ServiceId::new("db")],
            team: Some(TeamId::new("u")),
            ..q.clone()
        }),
        None
    );
    assert_eq!(
        flag(SlotQuery {
            after_releases: vec![ReleaseId::new("zz")],
            ..q.clone()
        }),
        Some("--after-release")
    );
    assert_eq!(
        flag(SlotQuery {
            after_releases: vec![ReleaseId::new("a")],
            moving: Some(ReleaseId::new("a")),
            ..q.clone()
        }),
        Some("--after-release")
    );
    assert_eq!(
        flag(SlotQuery {
            within: Duration::hours(-1),
            ..q.clone()
        }),
        Some("--within")
    );
    assert_eq!(
        flag(SlotQuery {
            after: at("2100-01-01T00:00:00Z"),
            ..q
        }),
        Some("--after")
    );
}

// The property test: random calendars around daylight-saving changes, and a
// minute-by-minute search with the conflict engine as the judge.

/// Anchors just before a change: Europe (Berlin, London) and the US (New York), spring and autumn.
const ANCHORS: [&str; 4] = [
    "2027-03-26T00:00:00Z",
    "2027-10-29T00:00:00Z",
    "2027-03-12T00:00:00Z",
    "2027-11-05T00:00:00Z",
];
const DURATIONS: [&str; 7] = ["PT30M", "PT1H", "PT3H", "PT8H", "P1D", "PT23H", "P1DT1H"];
const OWNERS: [&str; 2] = ["ana", "li"];

#[derive(Debug, Clone)]
struct Case {
    anchor: usize,
    windows: bool,
    freezes: Vec<(i64, i64, bool, usize)>,
    daily: Option<(i64, i64)>,
    releases: Vec<(i64, i64, usize, usize, Option<usize>, usize)>,
    env: usize,
    service: usize,
    owner: Option<usize>,
    after_release: Option<usize>,
    duration: usize,
    after: i64,
    avoid_soft: bool,
}

fn case_strategy() -> impl Strategy<Value = Case> {
    let quarter = |n: i64| (0..n).prop_map(|k| k * 15);
    (
        (0usize..ANCHORS.len(), any::<bool>()),
        proptest::collection::vec(
            (
                quarter(4 * 24 * 4),
                quarter(4 * 12).prop_map(|l| l + 15),
                any::<bool>(),
                0usize..3,
            ),
            0..4,
        ),
        proptest::option::of((0i64..24, 1i64..6)),
        proptest::collection::vec(
            (
                quarter(4 * 24 * 4),
                quarter(4 * 10).prop_map(|l| l + 15),
                0usize..2,
                0usize..3,
                proptest::option::of(0usize..2),
                0usize..4,
            ),
            0..8,
        ),
        (
            0usize..2,
            0usize..3,
            proptest::option::of(0usize..2),
            proptest::option::of(0usize..8),
        ),
        (0usize..DURATIONS.len(), quarter(4 * 24 * 2), any::<bool>()),
    )
        .prop_map(
            |(
                (anchor, windows),
                freezes,
                daily,
                releases,
                (env, service, owner, after_release),
                (duration, after, avoid_soft),
            )| Case {
                anchor,
                windows,
                freezes,
                daily,
                releases,
                env,
                service,
                owner,
                after_release,
                duration,
                after,
                avoid_soft,
            },
        )
}

const STATUSES: [&str; 4] = ["planned", "in_progress", "done", "cancelled"];
const ZONES: [&str; 3] = ["Europe/Berlin", "America/New_York", "Europe/London"];

fn case_plan(c: &Case, probe: bool) -> Value {
    let base = at(ANCHORS[c.anchor]);
    let t = |m: i64| (base + Duration::minutes(m)).to_rfc3339();
    let mut freezes: Vec<Value> = c
        .freezes
        .iter()
        .enumerate()
        .map(|(i, (start, len, hard, scope))| {
            let scope = match scope {
                0 => json!({}),
                1 => json!({"environments": ["e1"]}),
                _ => json!({"services": ["s1"]}),
            };
            json!({"id": format!("f{i}"), "name": format!("Freeze {i}"),
                   "severity": if *hard { "hard" } else { "soft" },
                   "start": t(*start), "end": t(start + len), "scope": scope})
        })
        .collect();
    if let Some((hour, len)) = c.daily {
        // A nightly freeze on the wall clock of a zone that changes.
        freezes.push(
            json!({"id": "nightly", "name": "Nightly", "severity": "hard",
            "timezone": ZONES[c.anchor % 3], "start": format!("2027-01-01T{hour:02}:00:00"),
            "duration": format!("PT{len}H"), "rrule": "FREQ=DAILY"}),
        );
    }
    let mut releases: Vec<Value> = c
        .releases
        .iter()
        .enumerate()
        .map(|(i, (start, len, env, service, owner, status))| {
            let mut r = json!({"id": format!("r{i}"), "title": format!("R{i}"), "team": "t0",
                "services": [format!("s{service}")], "environment": format!("e{env}"),
                "start": t(*start), "end": t(start + len), "status": STATUSES[*status]});
            if let Some(o) = owner {
                r["owner"] = json!(OWNERS[*o]);
            }
            r
        })
        .collect();
    if probe {
        releases.push(json!({"id": "probe", "title": "Probe", "team": "t0",
            "services": [format!("s{}", c.service)], "environment": format!("e{}", c.env),
            "start": t(0), "end": t(1), "status": "planned"}));
    }
    let windows = if c.windows {
        json!([{"start": "2027-01-04T08:00:00", "duration": "PT10H", "rrule": "FREQ=DAILY;BYDAY=MO,TU,WE,TH,FR,SA"},
               {"timezone": "UTC", "start": "2027-01-03T20:00:00", "duration": "PT30H", "rrule": "FREQ=WEEKLY;BYDAY=SU"}])
    } else {
        json!([])
    };
    json!({
        "version": 1, "timezone": "Europe/Berlin",
        "teams": [{"id": "t0", "name": "Zero", "timezone": ZONES[(c.anchor + 1) % 3], "allowed_windows": windows}],
        "services": (0..3).map(|s| json!({"id": format!("s{s}"), "team": "t0"})).collect::<Vec<_>>(),
        "environments": [{"id": "e0", "name": "Staging", "max_concurrent": 1},
                         {"id": "e1", "name": "Production", "max_concurrent": 2}],
        "freezes": freezes, "releases": releases,
    })
}

/// The stretch a start gets, as the slot search reads it: days on the team's
/// wall clock, the rest exact.
fn stretch_end(d: &PlanDuration, s: DateTime<Utc>, zone: Tz) -> DateTime<Utc> {
    if d.days() == 0 {
        s + d.exact()
    } else {
        d.end_from(s.with_timezone(&zone).naive_local(), zone)
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 160, ..ProptestConfig::default() })]

    #[test]
    fn the_slot_equals_a_minute_by_minute_search_with_the_engine(c in case_strategy()) {
        let plain = parse_plan_value(case_plan(&c, false)).unwrap();
        let with_probe = parse_plan_value(case_plan(&c, true)).unwrap();
        let after_release = c.after_release.filter(|i| *i < c.releases.len()).map(|i| ReleaseId::new(format!("r{i}")));
        let within = Duration::days(2);
        let q = SlotQuery {
            environment: EnvironmentId::new(format!("e{}", c.env)),
            services: vec![ServiceId::new(format!("s{}", c.service))],
            team: None,
            owner: c.owner.map(|o| OWNERS[o].to_owned()),
            after_releases: after_release.iter().cloned().collect(),
            duration: PlanDuration::parse(DURATIONS[c.duration]).unwrap(),
            after: at(ANCHORS[c.anchor]) + Duration::minutes(c.after),
            within,
            avoid_soft: c.avoid_soft,
            moving: None,
        };
        let answer = find_slot(&plain, &q).unwrap();

        let zone = answer.zone;
        let probe_id = ReleaseId::new("probe");
        let template = with_probe.releases.iter().find(|r| r.id == probe_id).unwrap().clone();
        let mut checker = Checker::new(&with_probe, q.after);
        let mut blocking = vec!["freeze.hard", "service.overlap", "environment.capacity",
                                "dependency.order", "owner.double_booked", "window.outside_allowed"];
        if c.avoid_soft {
            blocking.push("freeze.soft");
        }
        let mut expected = None;
        let mut m = 0;
        while m <= within.num_minutes() {
            let s = q.after + Duration::minutes(m);
            let e = stretch_end(&q.duration, s, zone);
            let time = |t: DateTime<Utc>| PlanTime::new(TimeValue::Instant(t.with_timezone(&FixedOffset::east_opt(0).unwrap())), zone);
            let mut r = template.clone();
            r.start = time(s);
            r.end = time(e);
            r.owner = q.owner.clone();
            r.depends_on = q.after_releases.clone();
            checker.upsert_release(r);
            let conflicts = checker.conflicts_of(&probe_id);
            if !conflicts.iter().any(|k| blocking.contains(&k.code)) {
                expected = Some((s, e));
                break;
            }
            m += 1;
        }
        prop_assert_eq!(answer.slot.map(|s| (s.start, s.end)), expected, "answer: {:?}", answer);
        // Every refused stretch lies before the slot.
        if let Some(slot) = answer.slot {
            for k in &answer.skipped {
                prop_assert!(k.period.start < slot.end, "{:?}", k);
            }
        }
    }
}
