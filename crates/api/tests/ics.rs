//! The iCalendar export read back by an independent parser (Python's
//! `icalendar` and `dateutil`, tests/ics/expand.py): every freeze and release
//! expands to exactly the periods the engine computes, across DST in Berlin,
//! London and New York.

#![allow(
    clippy::unwrap_used,
    reason = "a test should panic loudly on a broken assumption"
)]

mod common;
use chrono::{DateTime, Utc};
use relcal_api::*;
use std::collections::BTreeMap;

use relcal_testkit::at;

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

/// Each event of the .ics `file` expanded over `[from, to)` by the independent
/// reader (tests/ics/expand.py), by UID.
fn independent_expansion(
    file: &std::path::Path,
    from: &str,
    to: &str,
) -> BTreeMap<String, Vec<(String, String)>> {
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/../../tests/ics/expand.py");
    let out = std::process::Command::new("python3")
        .args([script, file.to_str().unwrap(), from, to])
        .output()
        .expect("python3 runs (scripts/setup.sh installs icalendar and dateutil)");
    assert!(
        out.status.success(),
        "the independent parser refused {}: {}",
        file.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

#[test]
fn every_exported_event_expands_to_the_engines_periods() {
    let (dir, store) = common::calendar_of(PLAN);
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
    let theirs = independent_expansion(&file, from, to);

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
    let (_dir, store) = common::calendar_of(PLAN);
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
    let (_dir, mut store) = common::calendar_of(PLAN);
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

/// SplitMix64: a tiny seeded generator, so each random plan can be named by its seed.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[self.below(items.len() as u64) as usize]
    }
}

/// A random plan of recurring freezes: zones north and south of the equator,
/// one that dropped daylight saving (São Paulo, 2019), one without it; rules
/// whose DTSTART is not on the rule; COUNT, UNTIL and exceptions; starts from
/// 1975 to 2030.
fn random_plan(seed: u64) -> String {
    let mut rng = Rng(seed);
    let zones = [
        "Europe/Berlin",
        "America/New_York",
        "Europe/London",
        "Australia/Sydney",
        "America/Sao_Paulo",
        "Asia/Kolkata",
        "America/Santiago",
        "UTC",
    ];
    let rules = [
        "FREQ=WEEKLY;BYDAY=FR",
        "FREQ=WEEKLY;INTERVAL=2;BYDAY=MO,TH",
        "FREQ=MONTHLY;BYMONTHDAY=-1",
        "FREQ=MONTHLY;BYDAY=-1FR",
        "FREQ=MONTHLY;BYDAY=2TU",
        "FREQ=MONTHLY;BYMONTHDAY=1,15",
        "FREQ=YEARLY;BYMONTH=12;BYMONTHDAY=24",
        "FREQ=YEARLY;BYMONTH=3;BYDAY=-1SU",
        "FREQ=DAILY;BYDAY=SA,SU;BYHOUR=1,2,3",
        "FREQ=MONTHLY;BYDAY=MO,TU,WE,TH,FR;BYSETPOS=-1",
    ];
    let durations = ["PT1H", "PT3H30M", "PT12H", "P1D", "P2D", "P1DT6H", "PT24H"];
    let mut freezes = Vec::new();
    for i in 0..10 {
        let zone = rng.pick(&zones);
        let mut rule = rng.pick(&rules).to_owned();
        let year = 1975 + rng.below(56);
        let (month, day) = (1 + rng.below(12), 1 + rng.below(28));
        let (hour, minute) = (rng.below(24), [0, 30][rng.below(2) as usize]);
        let start = format!("{year}-{month:02}-{day:02}T{hour:02}:{minute:02}:00");
        match rng.below(4) {
            0 => rule.push_str(&format!(";COUNT={}", 1 + rng.below(300))),
            1 => rule.push_str(&format!(";UNTIL={}1231T000000Z", year + 1 + rng.below(40))),
            _ => {}
        }
        let exdate = format!(
            "{}-{:02}-{:02}T{hour:02}:{minute:02}:00",
            year + 1,
            month,
            day
        );
        freezes.push(serde_json::json!({
            "id": format!("f{i}"), "name": format!("Freeze {i}"), "severity": "hard",
            "timezone": zone, "start": start, "duration": rng.pick(&durations),
            "rrule": rule, "exdates": [exdate],
        }));
    }
    serde_json::json!({
        "version": 1, "timezone": "UTC", "teams": [], "services": [], "environments": [],
        "freezes": freezes, "releases": [],
    })
    .to_string()
}

/// The export, read by an independent expander that places local times with
/// the file's own VTIMEZONE bodies (no IANA database), gives exactly the
/// engine's occurrences of every freeze of random plans from 1975 to 2060.
#[test]
fn random_plans_export_exactly_the_engines_occurrences_over_decades() {
    let dir = tempfile::tempdir().unwrap();
    let (from, to) = ("1975-01-01T00:00:00Z", "2060-01-01T00:00:00Z");
    let range = relcal_domain::Interval {
        start: at(from),
        end: at(to),
    };
    let fmt = |t: DateTime<Utc>| t.format("%Y-%m-%dT%H:%M:%SZ").to_string();
    let (mut plans, mut occurrences) = (0, 0);
    for seed in 1..=6u64 {
        let text = random_plan(seed);
        let plan = match relcal_domain::parse_plan(&text) {
            Ok(plan) => plan,
            Err(e) => panic!("seed {seed}: the generator made an invalid plan: {e}"),
        };
        let ics = relcal_domain::plan_to_ics(&plan, at("2026-12-01T00:00:00Z"));
        // UTC is written `…Z`, never as a TZID without a VTIMEZONE.
        assert!(!ics.contains("TZID=UTC"), "seed {seed}");
        let file = dir.path().join(format!("random-{seed}.ics"));
        std::fs::write(&file, &ics).unwrap();
        let theirs = independent_expansion(&file, from, to);
        for f in &plan.freezes {
            let ours: Vec<(String, String)> = f
                .periods_between(plan.timezone, range, 1_000_000)
                .into_iter()
                .map(|p| (fmt(p.start), fmt(p.end)))
                .collect();
            let uid = format!("freeze-{}@relcal.dev", f.id);
            let got = theirs.get(&uid).cloned().unwrap_or_default();
            if got != ours {
                let first = ours.iter().zip(&got).position(|(a, b)| a != b);
                panic!(
                    "seed {seed}, {uid} ({:?}): the engine has {} occurrences, the .ics {}; first difference at {first:?}: {:?} vs {:?}",
                    f.schedule,
                    ours.len(),
                    got.len(),
                    first.and_then(|i| ours.get(i)),
                    first.and_then(|i| got.get(i)),
                );
            }
            occurrences += ours.len();
        }
        plans += 1;
    }
    // The comparison covered something.
    assert_eq!(plans, 6);
    assert!(occurrences > 10_000, "{occurrences}");
    eprintln!("{plans} random plans, {occurrences} occurrences agree");
}
