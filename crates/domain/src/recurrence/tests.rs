//! The rule parser's and the expansion's unit tests.

use super::*;

fn wall(s: &str) -> NaiveDateTime {
    NaiveDateTime::parse_from_str(s, "%Y-%m-%dT%H:%M:%S").unwrap()
}
fn utc(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
}
fn rec(start: &str, duration: &str, rule: &str, zone: Tz, exdates: &[&str]) -> Recurrence {
    Recurrence {
        start: TimeValue::Local(wall(start)),
        duration: PlanDuration::parse(duration).unwrap(),
        rule: RecurrenceRule::parse(rule, wall(start), zone).unwrap(),
        exdates: exdates.iter().map(|e| TimeValue::Local(wall(e))).collect(),
    }
}
fn starts(r: &Recurrence, zone: Tz, from: &str, to: &str) -> Vec<String> {
    r.occurrences_between(zone, utc(from), utc(to), 1000)
        .iter()
        .map(|o| o.interval.start.to_rfc3339())
        .collect()
}

#[test]
fn weekly_friday_noon_keeps_wall_time_across_dst_berlin() {
    let zone = chrono_tz::Europe::Berlin;
    let r = rec(
        "2026-10-16T12:00:00",
        "PT12H",
        "FREQ=WEEKLY;BYDAY=FR",
        zone,
        &[],
    );
    // Berlin falls back on 2026-10-25: noon is 10:00Z before and 11:00Z after.
    assert_eq!(
        starts(&r, zone, "2026-10-15T00:00:00Z", "2026-11-01T00:00:00Z"),
        [
            "2026-10-16T10:00:00+00:00",
            "2026-10-23T10:00:00+00:00",
            "2026-10-30T11:00:00+00:00"
        ]
    );
}

#[test]
fn daily_at_0230_in_spring_gap_moves_forward_new_york() {
    let zone = chrono_tz::America::New_York;
    let r = rec(
        "2026-03-07T02:30:00",
        "PT1H",
        "FREQ=DAILY;COUNT=3",
        zone,
        &[],
    );
    // 03-08 02:30 does not exist: 03:30 EDT = 07:30Z.
    assert_eq!(
        starts(&r, zone, "2026-03-01T00:00:00Z", "2026-04-01T00:00:00Z"),
        [
            "2026-03-07T07:30:00+00:00",
            "2026-03-08T07:30:00+00:00",
            "2026-03-09T06:30:00+00:00"
        ]
    );
}

#[test]
fn last_friday_exdate_and_until_london() {
    let zone = chrono_tz::Europe::London;
    let r = rec(
        "2026-01-30T18:00:00",
        "P1D",
        "FREQ=MONTHLY;BYDAY=-1FR;UNTIL=20260501T000000Z",
        zone,
        &["2026-02-27T18:00:00"],
    );
    assert_eq!(
        starts(&r, zone, "2026-01-01T00:00:00Z", "2027-01-01T00:00:00Z"),
        [
            "2026-01-30T18:00:00+00:00",
            "2026-03-27T18:00:00+00:00",
            "2026-04-24T17:00:00+00:00"
        ]
    );
}

#[test]
fn infinite_rule_is_expanded_only_over_the_range() {
    let zone = Tz::UTC;
    let r = rec("2020-01-01T00:00:00", "PT1H", "FREQ=DAILY", zone, &[]);
    assert!(r.rule.is_infinite());
    let got = starts(&r, zone, "2026-06-01T00:00:00Z", "2026-06-04T00:00:00Z");
    assert_eq!(got.len(), 3);
    // An occurrence that began before `from` but is still running counts.
    let r = rec("2026-06-01T23:00:00", "PT2H", "FREQ=DAILY", zone, &[]);
    assert_eq!(
        starts(&r, zone, "2026-06-02T00:30:00Z", "2026-06-02T01:00:00Z").len(),
        1
    );
}

#[test]
fn describes_rules_in_words() {
    let cases = [
        (
            "2026-11-06T12:00:00",
            "PT12H",
            "FREQ=WEEKLY;BYDAY=FR",
            "every Friday at 12:00 for 12 hours",
        ),
        (
            "2026-11-30T00:00:00",
            "P2D",
            "FREQ=MONTHLY;BYMONTHDAY=-1",
            "on the last day of every month at 00:00 for 2 days",
        ),
        (
            "2026-01-30T18:00:00",
            "P1D",
            "FREQ=MONTHLY;BYDAY=-1FR",
            "on the last Friday of every month at 18:00 for 1 day",
        ),
        (
            "2026-01-05T09:00:00",
            "PT7H",
            "FREQ=WEEKLY;BYDAY=MO,TU,WE,TH,FR",
            "every weekday at 09:00 for 7 hours",
        ),
        (
            "2026-01-05T09:00:00",
            "PT7H",
            "FREQ=WEEKLY;BYDAY=MO,TU,WE,TH",
            "every Monday, Tuesday, Wednesday and Thursday at 09:00 for 7 hours",
        ),
        (
            "2026-01-01T02:00:00",
            "PT1H30M",
            "FREQ=DAILY;COUNT=3",
            "every day at 02:00 for 1 hour and 30 minutes, 3 times",
        ),
        (
            "2026-12-24T00:00:00",
            "P2W",
            "FREQ=YEARLY;BYMONTH=12;BYMONTHDAY=24",
            "every year on 24th December at 00:00 for 2 weeks",
        ),
        (
            "2026-01-06T08:00:00",
            "PT1H",
            "FREQ=WEEKLY;INTERVAL=2;BYDAY=TU;UNTIL=20261231T000000Z",
            "every 2 weeks on Tuesday at 08:00 for 1 hour, until 31 Dec 2026",
        ),
        (
            "2026-01-13T08:00:00",
            "PT1H",
            "FREQ=MONTHLY;BYDAY=2TU",
            "on the second Tuesday of every month at 08:00 for 1 hour",
        ),
    ];
    for (start, duration, rule, words) in cases {
        let r = rec(start, duration, rule, Tz::UTC, &[]);
        assert_eq!(r.rule.describe(wall(start), &r.duration), words, "{rule}");
    }
}

#[test]
fn rejects_bad_rules() {
    let start = wall("2026-01-01T00:00:00");
    for (rule, needle) in [
        ("RRULE:FREQ=DAILY", "prefix"),
        ("FREQ=FORTNIGHTLY", "expected HOURLY, DAILY"),
        ("BYDAY=MO", "no FREQ"),
        ("FREQ=DAILY;INTERVAL=0", "INTERVAL"),
        ("FREQ=DAILY;INTERVAL=100000", "INTERVAL"),
        ("FREQ=MINUTELY", "hourly"),
        ("FREQ=SECONDLY;COUNT=3", "hourly"),
        ("FREQ=WEEKLY;BYDAY=XX", "not a day"),
        ("FREQ=DAILY;COUNT=2;UNTIL=20270101", "not both"),
        ("FREQ=DAILY;UNTIL=20250101", "before the start"),
        ("FREQ=DAILY;UNTIL=tomorrow", "UNTIL"),
        ("FREQ=MONTHLY;BYMONTHDAY=40", "from 1 to 31"),
        // RFC 5545 §3.3.10's MUST NOTs.
        ("FREQ=WEEKLY;BYDAY=1TU;COUNT=4", "numbered day"),
        ("FREQ=DAILY;BYDAY=-1FR", "numbered day"),
        ("FREQ=HOURLY;BYDAY=2MO", "numbered day"),
        ("FREQ=YEARLY;BYWEEKNO=20;BYDAY=1MO", "BYWEEKNO"),
        ("FREQ=MONTHLY;BYDAY=6MO", "1 to 5"),
        ("FREQ=MONTHLY;BYMONTHDAY=0", "from 1 to 31"),
        ("FREQ=WEEKLY;BYMONTHDAY=1", "WEEKLY"),
        ("FREQ=DAILY;BYYEARDAY=100", "BYYEARDAY"),
        ("FREQ=MONTHLY;BYYEARDAY=100", "BYYEARDAY"),
        ("FREQ=WEEKLY;BYWEEKNO=3", "BYWEEKNO needs FREQ=YEARLY"),
        ("FREQ=MONTHLY;BYSETPOS=1", "BYSETPOS needs another"),
        ("FREQ=DAILY;BYHOUR=24", "0 to 23"),
        ("FREQ=DAILY;BYMINUTE=60", "0 to 59"),
        ("FREQ=DAILY;BYSECOND=60", "0 to 59"),
        ("FREQ=YEARLY;BYYEARDAY=367", "1 to 366"),
        ("FREQ=YEARLY;BYWEEKNO=0", "1 to 53"),
        ("FREQ=YEARLY;BYMONTH=13", "1 to 12"),
        ("FREQ=DAILY;WKST=XX", "WKST"),
        ("FREQ=DAILY;FREQ=WEEKLY", "twice"),
        ("FREQ=DAILY;COUNT=1;COUNT=2", "twice"),
        ("FREQ=DAILY;BYHOUR=", "no value"),
        ("FREQ=DAILY;X-NAME=1", "not an RRULE part"),
        // One value on one line.
        ("FREQ=DAILY\nEXRULE:FREQ=WEEKLY", "line break"),
        ("FREQ=DAILY\r\nRRULE:FREQ=HOURLY", "line break"),
        ("FREQ=DAILY;EXRULE=FREQ", "does not belong"),
        (" FREQ=DAILY", "without spaces"),
        ("FREQ=DAILY ", "without spaces"),
        ("FREQ=DAILY;BYDAY=MO,\u{0}TU", "without spaces"),
        // Bounded expansion.
        ("FREQ=DAILY;BYHOUR=0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23;BYMINUTE=0,30", "at most 24 a day"),
        ("FREQ=HOURLY;BYMINUTE=0,15,30,45", "at most 24 a day"),
        ("FREQ=HOURLY;BYMONTHDAY=1", "FREQ=DAILY with BYHOUR"),
        ("FREQ=HOURLY;BYYEARDAY=1", "BYYEARDAY"),
        ("FREQ=DAILY;COUNT=10001", "COUNT"),
        ("FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=30", "never produces"),
        ("FREQ=DAILY;INTERVAL=7;BYDAY=TU", "never produces"),
        ("FREQ=MONTHLY;BYMONTHDAY=31;BYMONTH=4,6,9,11", "never produces"),
        ("FREQ=DAILY;UNTIL=20260101T000000Z;BYHOUR=23;BYMINUTE=0", "to its UNTIL"),
        ("", "empty"),
    ] {
        let err = RecurrenceRule::parse(rule, start, Tz::UTC).unwrap_err();
        assert!(err.contains(needle), "{rule}: {err}");
    }
}
