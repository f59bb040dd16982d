//! The iCalendar export read back by an independent parser (Python's
//! `icalendar` and `dateutil`, tests/ics/expand.py): every freeze and release
//! expands to exactly the periods the engine computes, across DST in Berlin,
//! London and New York.

#![allow(
    clippy::unwrap_used,
    reason = "a test should panic loudly on a broken assumption"
)]

use chrono::{DateTime, Utc};
use relcal_api::*;
use std::collections::BTreeMap;

fn at(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s).unwrap().to_utc()
}

const PLAN: &str = r#"{
  "version": 1, "timezone": "Europe/London",
  "teams": [{ "id": "web", "name": "Web; \"front\", end" }],
  "services": [{ "id": "site", "team": "web" }],
  "environments": [{ "id": "prod", "name": "Production", "production": true }],
  "freezes": [
    { "id": "fri", "name": "Friday, afternoons", "severity": "soft", "timezone": "Europe/Berlin",
      "start": "2026-10-02T12:00:00", "duration": "PT12H", "rrule": "FREQ=WEEKLY;BYDAY=FR",
      "exdates": ["2026-12-25T12:00:00"], "reason": "People; leave\nearly" },
    { "id": "close", "name": "Month end", "severity": "hard", "timezone": "Europe/Berlin",
      "start": "2026-10-31T00:00:00", "duration": "P1D", "rrule": "FREQ=MONTHLY;BYMONTHDAY=-1" },
    { "id": "nightly", "name": "Nightly batch", "severity": "hard", "timezone": "America/New_York",
      "start": "2026-10-30T23:00:00", "duration": "PT3H", "rrule": "FREQ=DAILY;COUNT=20" },
    { "id": "london", "name": "Last Friday", "severity": "soft", "timezone": "Europe/London",
      "start": "2026-01-30T17:00:00", "duration": "P2D", "rrule": "FREQ=MONTHLY;BYDAY=-1FR;UNTIL=20270430T170000" },
    { "id": "xmas", "name": "Holidays", "severity": "hard", "timezone": "America/New_York",
      "start": "2026-12-21T00:00:00", "end": "2027-01-04T00:00:00", "scope": { "environments": ["prod"] } }
  ],
  "releases": [
    { "id": "r1", "title": "Site 2.0, with \"quotes\"; and semicolons", "team": "web", "services": ["site"],
      "environment": "prod", "start": "2026-11-10T09:00:00Z", "end": "2026-11-10T10:30:00Z", "status": "planned",
      "rollback": { "steps": ["undo"], "tested": true } }
  ]
}"#;

#[test]
fn every_exported_event_expands_to_the_engines_periods() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = open_store(&dir.path().join("cal.db")).unwrap();
    import_plan_text(&mut store, PLAN).unwrap();
    let ics = export_plan_ics(&store, at("2026-11-23T00:00:00Z")).unwrap();
    assert!(
        ics.starts_with("BEGIN:VCALENDAR\r\nVERSION:2.0\r\n"),
        "{ics}"
    );
    assert!(ics.contains("BEGIN:VTIMEZONE\r\nTZID:America/New_York\r\n"));
    assert!(ics.contains("UID:freeze-fri@relcal.dev"));
    assert!(ics.contains("CATEGORIES:Freeze,soft"));
    let file = dir.path().join("cal.ics");
    std::fs::write(&file, &ics).unwrap();

    let (from, to) = ("2026-10-01T00:00:00Z", "2027-06-01T00:00:00Z");
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/../../tests/ics/expand.py");
    let out = std::process::Command::new("python3")
        .args([script, file.to_str().unwrap(), from, to])
        .output()
        .expect("python3 runs (scripts/setup.sh installs icalendar and dateutil)");
    assert!(
        out.status.success(),
        "the independent parser refused the export: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let theirs: BTreeMap<String, Vec<(String, String)>> =
        serde_json::from_slice(&out.stdout).unwrap();

    let plan = stored_plan(&store).unwrap();
    let range = relcal_domain::Interval {
        start: at(from),
        end: at(to),
    };
    let fmt = |t: DateTime<Utc>| t.format("%Y-%m-%dT%H:%M:%SZ").to_string();
    let mut ours: BTreeMap<String, Vec<(String, String)>> = BTreeMap::new();
    for f in &plan.freezes {
        let periods = f
            .periods_between(plan.timezone, range, 10_000)
            .into_iter()
            .map(|p| (fmt(p.start), fmt(p.end)))
            .collect();
        ours.insert(format!("freeze-{}@relcal.dev", f.id), periods);
    }
    for r in &plan.releases {
        ours.insert(
            format!("release-{}@relcal.dev", r.id),
            vec![(fmt(r.start.utc), fmt(r.end.utc))],
        );
    }
    // The cases this checks are really there.
    let fri = &ours["freeze-fri@relcal.dev"];
    assert!(
        fri.contains(&("2026-10-30T11:00:00Z".into(), "2026-10-30T23:00:00Z".into())),
        "CET after the change"
    );
    assert!(
        fri.contains(&("2026-10-23T10:00:00Z".into(), "2026-10-23T22:00:00Z".into())),
        "CEST before it"
    );
    assert!(
        !fri.iter().any(|(s, _)| s.starts_with("2026-12-25")),
        "the exception"
    );
    assert_eq!(ours["freeze-nightly@relcal.dev"].len(), 20);
    assert!(
        ours["freeze-close@relcal.dev"]
            .contains(&("2027-03-30T22:00:00Z".into(), "2027-03-31T22:00:00Z".into())),
        "a P1D on the night after the spring change: {:?}",
        ours["freeze-close@relcal.dev"]
    );
    assert_eq!(theirs, ours);
}

#[test]
fn text_is_escaped_and_the_cli_writes_ics() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = open_store(&dir.path().join("cal.db")).unwrap();
    import_plan_text(&mut store, PLAN).unwrap();
    let ics = export_plan_ics(&store, at("2026-11-23T00:00:00Z")).unwrap();
    assert!(
        ics.contains(r#"SUMMARY:Release: Site 2.0\, with "quotes"\; and semicolons"#),
        "{ics}"
    );
    assert!(
        ics.contains(r"DESCRIPTION:People\; leave\nearly\n"),
        "{ics}"
    );
    // Lines are folded at 75 octets.
    assert!(ics.split("\r\n").all(|l| l.len() <= 75), "{ics}");
}

const HOLIDAYS: &str = "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//Test//Holidays//EN\r\n\
BEGIN:VEVENT\r\nUID:20261225-christmas@holidays.example\r\nDTSTAMP:20260101T000000Z\r\n\
DTSTART;VALUE=DATE:20261225\r\nDTEND;VALUE=DATE:20261227\r\nSUMMARY:Christmas\r\nEND:VEVENT\r\n\
BEGIN:VEVENT\r\nUID:20270101-newyear@holidays.example\r\nDTSTAMP:20260101T000000Z\r\n\
DTSTART;VALUE=DATE:20270101\r\nSUMMARY:New Year's Day\r\nEND:VEVENT\r\n\
BEGIN:VEVENT\r\nUID:nostart@holidays.example\r\nDTSTAMP:20260101T000000Z\r\nSUMMARY:Broken\r\nEND:VEVENT\r\n\
END:VCALENDAR\r\n";

#[test]
fn a_holiday_calendar_becomes_freezes_once_however_often_it_is_imported() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = open_store(&dir.path().join("cal.db")).unwrap();
    import_plan_text(&mut store, PLAN).unwrap();
    let now = at("2026-11-23T00:00:00Z");
    let done = import_holidays(&mut store, HOLIDAYS, "hard", &["prod".into()], now).unwrap();
    assert_eq!((done.created, done.updated), (2, 0));
    assert_eq!(done.skipped.len(), 1, "{:?}", done.skipped);
    assert!(done.skipped[0].contains("Broken"));
    let plan = stored_plan(&store).unwrap();
    let christmas = plan.freezes.iter().find(|f| f.name == "Christmas").unwrap();
    // All day on the 25th and 26th in the calendar's zone (London).
    assert_eq!(
        christmas.periods_between(
            plan.timezone,
            relcal_domain::Interval {
                start: at("2026-12-01T00:00:00Z"),
                end: at("2027-01-31T00:00:00Z")
            },
            10
        ),
        [relcal_domain::Interval {
            start: at("2026-12-25T00:00:00Z"),
            end: at("2026-12-27T00:00:00Z")
        }]
    );
    assert_eq!(christmas.scope.environments.len(), 1);
    let again = import_holidays(&mut store, HOLIDAYS, "soft", &[], now).unwrap();
    assert_eq!((again.created, again.updated), (0, 2));
    assert_eq!(
        stored_plan(&store).unwrap().freezes.len(),
        plan.freezes.len()
    );
    // Not a calendar at all: a clear error, nothing written.
    let err = import_holidays(&mut store, "hello", "hard", &[], now).unwrap_err();
    assert!(
        err.message
            .starts_with("holiday calendar: not an iCalendar file"),
        "{}",
        err.message
    );
    let err = import_holidays(&mut store, HOLIDAYS, "total", &[], now).unwrap_err();
    assert!(err.message.contains("field `severity`"), "{}", err.message);
}
