//! `freeze_as_cron`: which freezes cron patterns say exactly, and what they
//! become; everything else is refused with the reason.

#![allow(
    clippy::unwrap_used,
    reason = "a test should panic loudly on a broken assumption"
)]

use chrono::Duration;
use proptest::prelude::*;
use relcal_domain::{freeze_as_cron, freeze_from_cron, parse_plan_value, Interval, Plan};
use relcal_testkit::at;
use serde_json::{json, Value};

fn plan(freeze: Value) -> Plan {
    parse_plan_value(json!({
        "version": 1, "timezone": "Europe/Berlin",
        "teams": [{"id": "t", "name": "T"}], "services": [{"id": "s", "team": "t"}],
        "environments": [{"id": "prod", "name": "Production"}],
        "freezes": [freeze], "releases": [],
    }))
    .unwrap()
}

fn recurring(start: &str, duration: &str, rrule: &str) -> Value {
    json!({"id": "f", "name": "F", "severity": "hard", "start": start, "duration": duration, "rrule": rrule})
}

/// Start pattern, end pattern, zone, fixed length in minutes, one-off.
type Patterns = (String, String, String, Option<i64>, bool);

fn cron_of(freeze: Value) -> Result<Option<Patterns>, String> {
    let p = plan(freeze);
    freeze_as_cron(&p.freezes[0], p.timezone, at("2026-12-02T12:00:00Z")).map(|c| {
        c.map(|c| {
            (
                c.start,
                c.end,
                c.zone.name().to_owned(),
                c.fixed_length.map(|d| d.num_minutes()),
                c.one_off,
            )
        })
    })
}

#[test]
fn weekly_daily_and_monthly_freezes_become_start_and_end_patterns() {
    assert_eq!(
        cron_of(recurring(
            "2026-11-06T12:00:00",
            "PT12H",
            "FREQ=WEEKLY;BYDAY=FR"
        )),
        Ok(Some((
            "0 12 * * 5".into(),
            "0 0 * * 6".into(),
            "Europe/Berlin".into(),
            Some(720),
            false
        )))
    );
    // Over midnight on several weekdays: the end moves to the next day.
    assert_eq!(
        cron_of(recurring(
            "2026-11-02T22:30:00",
            "PT3H",
            "FREQ=WEEKLY;BYDAY=MO,WE,SA"
        )),
        Ok(Some((
            "30 22 * * 1,3,6".into(),
            "30 1 * * 0,2,4".into(),
            "Europe/Berlin".into(),
            Some(180),
            false
        )))
    );
    assert_eq!(
        cron_of(recurring("2026-11-01T23:00:00", "PT2H", "FREQ=DAILY"))
            .map(|c| c.map(|c| (c.0, c.1))),
        Ok(Some(("0 23 * * *".into(), "0 1 * * *".into())))
    );
    assert_eq!(
        cron_of(recurring(
            "2026-11-15T08:00:00",
            "P2D",
            "FREQ=MONTHLY;BYMONTHDAY=1,15"
        ))
        .map(|c| c.map(|c| (c.0, c.1))),
        Ok(Some(("0 8 1,15 * *".into(), "0 8 3,17 * *".into())))
    );
    // A weekend freeze of two wall-clock days: cron's ends follow the wall
    // clock too, but its real length changes at DST (47 or 49 hours).
    let weekend = cron_of(recurring(
        "2026-11-07T00:00:00",
        "P2D",
        "FREQ=WEEKLY;BYDAY=SA",
    ))
    .unwrap()
    .unwrap();
    assert_eq!(
        (weekend.0.as_str(), weekend.1.as_str(), weekend.3),
        ("0 0 * * 6", "0 0 * * 1", None)
    );
}

#[test]
fn a_one_off_freeze_names_its_dates_and_an_ended_one_is_nothing_to_push() {
    let once = |start: &str, end: &str| json!({"id": "f", "name": "F", "severity": "hard", "timezone": "America/New_York", "start": start, "end": end});
    assert_eq!(
        cron_of(once("2026-12-21T00:00:00", "2027-01-04T00:00:00")),
        Ok(Some((
            "0 0 21 12 *".into(),
            "0 0 4 1 *".into(),
            "America/New_York".into(),
            Some(14 * 24 * 60),
            true
        )))
    );
    assert_eq!(
        cron_of(once("2026-11-21T00:00:00", "2026-11-30T00:00:00")),
        Ok(None)
    );
    assert!(cron_of(once("2027-12-21T00:00:00", "2027-12-22T00:00:00"))
        .unwrap_err()
        .contains("more than a year ahead"));
    assert!(cron_of(once("2026-12-21T00:00:00", "2028-01-04T00:00:00"))
        .unwrap_err()
        .contains("more than a year"));
    // 2:30 on 14 Mar 2027 does not exist in New York.
    assert!(cron_of(once("2027-03-14T02:30:00", "2027-03-15T00:00:00"))
        .unwrap_err()
        .contains("daylight-saving"));
}

#[test]
fn what_cron_cannot_say_is_refused_with_the_reason() {
    let refused =
        |rrule: &str| cron_of(recurring("2026-11-30T00:00:00", "P1D", rrule)).unwrap_err();
    assert!(refused("FREQ=MONTHLY;BYMONTHDAY=-1").contains("end of the month"));
    assert!(refused("FREQ=WEEKLY;INTERVAL=2").contains("INTERVAL=2"));
    assert!(refused("FREQ=WEEKLY;COUNT=5").contains("COUNT"));
    assert!(refused("FREQ=MONTHLY;BYDAY=-1FR").contains("numbers its weekdays"));
    assert!(refused("FREQ=MONTHLY;BYSETPOS=1;BYDAY=MO").contains("BYSETPOS"));
    assert!(refused("FREQ=HOURLY").contains("at most daily"));
    // Ends in the next month on some days.
    assert!(cron_of(recurring(
        "2026-11-28T00:00:00",
        "P3D",
        "FREQ=MONTHLY;BYMONTHDAY=28"
    ))
    .unwrap_err()
    .contains("next month"));
    let mut with_exdate = recurring("2026-11-06T12:00:00", "PT12H", "FREQ=WEEKLY;BYDAY=FR");
    with_exdate["exdates"] = json!(["2026-12-25T12:00:00"]);
    assert!(cron_of(with_exdate).unwrap_err().contains("exdates"));
    // A freeze that begins next spring: cron has no first date.
    assert!(cron_of(recurring(
        "2027-04-02T12:00:00",
        "PT12H",
        "FREQ=WEEKLY;BYDAY=FR"
    ))
    .unwrap_err()
    .contains("other times"));
}

const DAYS: [&str; 7] = ["MO", "TU", "WE", "TH", "FR", "SA", "SU"];
const ZONES: [&str; 3] = ["Europe/Berlin", "America/New_York", "UTC"];

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    /// Whatever is translated, GitLab's reading of the patterns (the import
    /// side, `freeze_from_cron`) gives back exactly the freeze's periods for
    /// a year, across daylight-saving changes.
    #[test]
    fn what_is_pushed_reads_back_as_the_same_periods(
        zone in 0usize..3,
        hour in 0u32..24,
        minute in prop::sample::select(vec![0u32, 15, 30, 45]),
        days in prop::collection::btree_set(0usize..7, 1..4),
        weekly in any::<bool>(),
        length_hours in 1i64..60,
    ) {
        let rrule = if weekly {
            format!("FREQ=WEEKLY;BYDAY={}", days.iter().map(|d| DAYS[*d]).collect::<Vec<_>>().join(","))
        } else {
            "FREQ=DAILY".to_owned()
        };
        let mut f = recurring(&format!("2026-11-02T{hour:02}:{minute:02}:00"), &format!("PT{length_hours}H"), &rrule);
        f["timezone"] = json!(ZONES[zone]);
        let p = plan(f);
        let now = at("2026-12-02T12:00:00Z");
        if let Ok(Some(c)) = freeze_as_cron(&p.freezes[0], p.timezone, now) {
            let back = freeze_from_cron(&c.start, &c.end, Some(c.zone.name()), now).unwrap();
            let ours: Vec<Interval> = p.freezes[0].periods_between(p.timezone, Interval { start: now, end: now + Duration::days(300) }, 1000);
            let recurrence = relcal_domain::Recurrence {
                start: relcal_domain::TimeValue::Local(back.start),
                duration: relcal_domain::PlanDuration::parse(&back.duration).unwrap(),
                rule: relcal_domain::RecurrenceRule::parse(&back.rrule, back.start, c.zone).unwrap(),
                exdates: vec![],
            };
            let theirs: Vec<Interval> = recurrence
                .occurrences_between(c.zone, now, now + Duration::days(300), 1000)
                .into_iter()
                .map(|o| o.interval)
                .collect();
            prop_assert_eq!(ours, theirs);
        } else {
            // Where the zone has no daylight saving, a daily freeze under a
            // day always has patterns. (Elsewhere an exact length over the
            // night of a change ends at another wall-clock time than cron's
            // end pattern, and is rightly refused.)
            prop_assert!(ZONES[zone] != "UTC" || length_hours >= 24 || weekly, "a daily UTC freeze under a day was refused");
        }
    }
}
