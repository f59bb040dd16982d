//! The fuzz harness, as property tests that build on stable Rust: arbitrary
//! plan texts, RRULE strings and iCalendar texts go through the engine, which
//! must never panic and must answer in bounded work (every expansion bounded
//! by its range, every gate by its horizon).
//!
//! CI runs a bounded number of cases (`PROPTEST_CASES`, 256 by default); a
//! long local run: `PROPTEST_CASES=20000 cargo test --release -p relcal-domain --test fuzz`.
//! Each property counts its cases and how many inputs were accepted, printed
//! with `--nocapture`.

#![allow(
    clippy::unwrap_used,
    reason = "a test should panic loudly on a broken assumption"
)]

use chrono::Duration;
use proptest::prelude::*;
use relcal_domain::*;
use std::sync::atomic::{AtomicUsize, Ordering};

use relcal_testkit::at;

fn cases() -> u32 {
    std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(256)
}

/// Everything a front door does with a valid plan: check, gate, notices, export.
fn exercise(plan: &Plan) {
    let now = at("2026-12-01T09:00:00Z");
    let _ = check(plan, now);
    if let Some(env) = plan.environments.first() {
        let q = GateQuery {
            environment: env.id.clone(),
            services: vec![],
            team: None,
        };
        for t in [
            "1900-01-01T00:00:00Z",
            "2026-12-01T09:00:00Z",
            "2099-12-31T23:00:00Z",
        ] {
            let a = gate(plan, &q, at(t)).unwrap();
            if let Some(until) = a.until {
                assert!(until >= at(t));
            }
        }
    }
    let rules = NotifyRules::defaults(plan.timezone);
    let _ = notices_between(plan, &rules, now, now + Duration::days(2));
    let ics = plan_to_ics(plan, now);
    assert!(ics.starts_with("BEGIN:VCALENDAR"));
}

const RULE_PARTS: [&str; 14] = [
    "FREQ",
    "INTERVAL",
    "COUNT",
    "UNTIL",
    "BYSECOND",
    "BYMINUTE",
    "BYHOUR",
    "BYDAY",
    "BYMONTHDAY",
    "BYYEARDAY",
    "BYWEEKNO",
    "BYMONTH",
    "BYSETPOS",
    "WKST",
];
const VALUES: [&str; 24] = [
    "HOURLY",
    "DAILY",
    "WEEKLY",
    "MONTHLY",
    "YEARLY",
    "MINUTELY",
    "0",
    "1",
    "-1",
    "7",
    "23",
    "31",
    "53",
    "60",
    "366",
    "4294967296",
    "MO",
    "1TU",
    "-1FR",
    "53SU",
    "MO,WE,FR",
    "20270101",
    "20261231T235959Z",
    "",
];

/// RRULE-like strings: real parts with plausible and implausible values, some
/// garbage, sometimes a line break.
fn rrule_text() -> impl Strategy<Value = String> {
    let part = (
        0..RULE_PARTS.len(),
        prop::collection::vec(0..VALUES.len(), 1..4),
    )
        .prop_map(|(k, vs)| {
            let values: Vec<&str> = vs.into_iter().map(|v| VALUES[v]).collect();
            format!("{}={}", RULE_PARTS[k], values.join(","))
        });
    prop_oneof![
        8 => (prop::sample::select(&["HOURLY", "DAILY", "WEEKLY", "MONTHLY", "YEARLY"][..]),
              prop::collection::vec(part.clone(), 0..5))
            .prop_map(|(f, parts)| {
                let mut all = vec![format!("FREQ={f}")];
                all.extend(parts);
                all.join(";")
            }),
        1 => prop::collection::vec(part, 0..6).prop_map(|p| p.join(";")),
        1 => "\\PC{0,40}",
        1 => ("[A-Z=;,0-9]{0,30}", prop::sample::select(&["\n", "\r\n", " ", "\t", ":"][..]), "[A-Z=;,0-9]{0,30}")
            .prop_map(|(a, b, c)| format!("{a}{b}{c}")),
    ]
}

static RULES_SEEN: AtomicUsize = AtomicUsize::new(0);
static RULES_OK: AtomicUsize = AtomicUsize::new(0);

proptest! {
    #![proptest_config(ProptestConfig { cases: cases(), ..ProptestConfig::default() })]

    /// Any RRULE text: an answer, never a panic; an accepted rule expands in
    /// bounded work anywhere in the supported years.
    #[test]
    fn any_rrule_is_refused_or_expands_boundedly(
        text in rrule_text(),
        year in 1900i32..2100,
        zone in prop::sample::select(&["UTC", "Europe/Berlin", "America/New_York", "Australia/Lord_Howe"][..]),
        window_days in 1i64..400,
    ) {
        RULES_SEEN.fetch_add(1, Ordering::Relaxed);
        let tz: Tz = zone.parse().unwrap();
        let start = chrono::NaiveDate::from_ymd_opt(year, 3, 29).unwrap().and_hms_opt(2, 30, 0).unwrap();
        if let Ok(rule) = RecurrenceRule::parse(&text, start, tz) {
            RULES_OK.fetch_add(1, Ordering::Relaxed);
            let r = Recurrence {
                start: TimeValue::Local(start),
                duration: PlanDuration::parse("PT90M").unwrap(),
                rule,
                exdates: vec![],
            };
            let from = at("2026-01-01T00:00:00Z");
            let got = r.occurrences_between(tz, from, from + Duration::days(window_days), 50_000);
            prop_assert!(got.len() <= 24 * (window_days as usize + 2) + 1);
            prop_assert!(got.windows(2).all(|w| w[0].interval.start <= w[1].interval.start));
            let _ = r.describe(tz);
        }
    }
}

static PLANS_SEEN: AtomicUsize = AtomicUsize::new(0);
static PLANS_OK: AtomicUsize = AtomicUsize::new(0);

/// A valid small plan, as text, to mutate.
const SEED_PLAN: &str = r#"{"version": 1, "timezone": "Europe/Berlin",
 "teams": [{"id": "t", "name": "T", "allowed_windows": [{"start": "2026-01-05T08:00:00", "duration": "PT10H", "rrule": "FREQ=WEEKLY;BYDAY=MO,TU,WE,TH,FR"}]}],
 "services": [{"id": "s", "team": "t"}, {"id": "u", "team": "t", "depends_on": ["s"]}],
 "environments": [{"id": "prod", "name": "Prod", "production": true, "max_concurrent": 1, "required_approvals": 1}],
 "freezes": [
  {"id": "f", "name": "F", "severity": "hard", "start": "2026-11-30T00:00:00", "duration": "P2D", "rrule": "FREQ=MONTHLY;BYMONTHDAY=-1", "scope": {"services": ["s"]}},
  {"id": "g", "name": "G", "severity": "soft", "start": "2026-12-20T00:00:00Z", "end": "2027-01-04T00:00:00Z"}],
 "releases": [
  {"id": "a", "title": "A", "team": "t", "services": ["s"], "environment": "prod", "start": "2026-12-01T10:00:00Z", "end": "2026-12-01T12:00:00Z", "status": "planned",
   "depends_on": ["b"], "approvals": [{"by": "ana", "at": "2026-11-30T10:00:00Z"}], "checklist": [{"id": "c", "text": "tests", "required": true, "done": false}],
   "rollback": {"steps": ["undo"], "owner": "li", "time_budget_minutes": 15, "tested": true}, "overrides": [{"freeze": "f", "reason": "hotfix", "by": "omar"}]},
  {"id": "b", "title": "B", "team": "t", "services": ["u"], "environment": "prod", "start": "2026-12-01T11:00:00Z", "end": "2026-12-01T13:00:00Z", "status": "approved", "depends_on": ["a"]}]}"#;

/// Replacements that keep the text JSON-shaped but change what it says.
const SWAPS: [&str; 22] = [
    "null",
    "[]",
    "{}",
    "0",
    "-1",
    "4294967296",
    "1e999",
    "\"\"",
    "\"x\"",
    "true",
    "\"PT4294967295H\"",
    "\"P367D\"",
    "\"FREQ=HOURLY\"",
    "\"FREQ=DAILY;BYHOUR=1,2\\n\"",
    "\"2999-01-01T00:00:00Z\"",
    "\"1900-01-01T00:00:00\"",
    "\"2099-12-31T23:59:59\"",
    "\"Mars/Olympus\"",
    "\"FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=30\"",
    "[[\"t\"]]",
    "\"done\"",
    "{\"teams\": [\"t\"], \"teams\": []}",
];

/// Mutations of a valid plan: one value swapped for another of any type, or
/// bytes cut, doubled or inserted.
fn plan_text() -> impl Strategy<Value = String> {
    let values: Vec<(usize, usize)> = {
        // Positions of every string, number and bracket value in the seed.
        let b = SEED_PLAN.as_bytes();
        let mut out = Vec::new();
        let mut i = 0;
        while i < b.len() {
            if b[i] == b'"' && i > 0 && matches!(b[i - 1], b':' | b' ' | b'[' | b',') {
                let end = SEED_PLAN[i + 1..].find('"').map_or(i, |e| i + e + 2);
                out.push((i, end));
                i = end;
            } else {
                i += 1;
            }
        }
        out
    };
    let n = values.len();
    prop_oneof![
        // A valid shape with a random rule, length and release times anywhere
        // in the supported years.
        4 => (prop_oneof![
                3 => prop::sample::select(&[
                    "FREQ=HOURLY", "FREQ=HOURLY;INTERVAL=3;BYDAY=SA,SU", "FREQ=DAILY", "FREQ=DAILY;BYHOUR=0,6,12,18",
                    "FREQ=WEEKLY;BYDAY=FR", "FREQ=WEEKLY;INTERVAL=2;BYDAY=MO,TH;COUNT=50", "FREQ=MONTHLY;BYDAY=-1FR",
                    "FREQ=MONTHLY;BYMONTHDAY=31", "FREQ=MONTHLY;BYDAY=MO,TU,WE,TH,FR;BYSETPOS=-1",
                    "FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=29", "FREQ=YEARLY;BYWEEKNO=53;BYDAY=MO", "FREQ=YEARLY;BYYEARDAY=-1",
                    "FREQ=DAILY;UNTIL=20991231T235959Z", "FREQ=HOURLY;BYMONTH=2;BYDAY=SU;BYHOUR=2",
                ][..]).prop_map(str::to_owned),
                1 => rrule_text(),
              ], prop::sample::select(&["PT1M", "PT1H", "PT90M", "P1D", "P2D", "P366D", "PT8784H"][..]),
              1900i32..2100, 1900i32..2100, 0u32..24)
            .prop_map(|(rule, duration, y1, y2, h)| {
                SEED_PLAN
                    .replace("FREQ=MONTHLY;BYMONTHDAY=-1", &rule.replace(['\\', '"'], ""))
                    .replace("\"P2D\"", &format!("\"{duration}\""))
                    .replace("2026-11-30T00:00:00\"", &format!("{y1}-01-31T{h:02}:00:00\""))
                    .replace("2026-12-01T10:00:00Z", &format!("{y2}-06-01T10:00:00Z"))
                    .replace("2026-12-01T12:00:00Z", &format!("{y2}-06-01T12:00:00Z"))
            }),
        4 => (prop::collection::vec((0..n, 0..SWAPS.len()), 1..4)).prop_map(move |swaps| {
            let mut text = SEED_PLAN.to_owned();
            let mut sorted = swaps;
            sorted.sort_by_key(|s| std::cmp::Reverse(s.0));
            sorted.dedup_by_key(|s| s.0);
            for (v, s) in sorted {
                let (a, b) = values[v];
                text.replace_range(a..b, SWAPS[s]);
            }
            text
        }),
        1 => (0..SEED_PLAN.len(), 0..SEED_PLAN.len(), "\\PC{0,8}").prop_map(|(a, b, ins)| {
            let (a, b) = (a.min(b), a.max(b));
            let (a, b) = (floor(a), floor(b));
            format!("{}{ins}{}", &SEED_PLAN[..a], &SEED_PLAN[b..])
        }),
    ]
}

fn floor(i: usize) -> usize {
    (0..=i)
        .rev()
        .find(|&j| SEED_PLAN.is_char_boundary(j))
        .unwrap_or(0)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: cases(), ..ProptestConfig::default() })]

    /// Any plan text: a plan or errors naming object and field; a plan goes
    /// through check, gate, notices and export without a panic.
    #[test]
    fn any_plan_text_is_refused_by_field_or_checked(text in plan_text()) {
        PLANS_SEEN.fetch_add(1, Ordering::Relaxed);
        match parse_plan(&text) {
            Ok(plan) => {
                PLANS_OK.fetch_add(1, Ordering::Relaxed);
                exercise(&plan);
            }
            Err(e) => {
                prop_assert!(!e.errors().is_empty());
                for err in e.errors() {
                    prop_assert!(!err.object.is_empty(), "{err:?}");
                }
            }
        }
    }

    /// Any iCalendar text as a holiday calendar: freezes or an error, never a panic.
    #[test]
    fn any_ics_text_is_read_or_refused(
        lines in prop::collection::vec(prop_oneof![
            Just("BEGIN:VCALENDAR".to_owned()), Just("END:VCALENDAR".to_owned()),
            Just("BEGIN:VEVENT".to_owned()), Just("END:VEVENT".to_owned()),
            Just("DTSTART;VALUE=DATE:20261224".to_owned()), Just("DTEND;VALUE=DATE:20261227".to_owned()),
            Just("DTSTART:99999999T999999Z".to_owned()), Just("DTSTART;TZID=Mars/Base:20261224T100000".to_owned()),
            Just("RRULE:FREQ=SECONDLY".to_owned()), Just("SUMMARY:Holiday".to_owned()), Just("UID:x".to_owned()),
            "[ -~]{0,60}".prop_map(|s| s),
        ], 0..30)
    ) {
        let text = lines.join("\r\n");
        if let Ok((freezes, _skipped)) = freezes_from_ics(&text) {
            for f in freezes {
                prop_assert!(!f.id.is_empty());
            }
        }
    }
}

/// Prints what the properties covered (run with `--nocapture`); runs last by name.
#[test]
fn zz_counts() {
    eprintln!(
        "fuzz: {} RRULEs ({} accepted), {} plan texts ({} valid), 0 panics",
        RULES_SEEN.load(Ordering::Relaxed),
        RULES_OK.load(Ordering::Relaxed),
        PLANS_SEEN.load(Ordering::Relaxed),
        PLANS_OK.load(Ordering::Relaxed)
    );
}
