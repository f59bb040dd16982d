//! Daylight-saving warnings (docs/dst.md): starts in a gap or a fold, with
//! what happens, and windows written in UTC that move for their team.

#![allow(
    clippy::unwrap_used,
    reason = "a test should panic loudly on a broken assumption"
)]

use relcal_domain::{dst_warnings, parse_plan_value, Plan};
use relcal_testkit::at;
use serde_json::{json, Value};

fn plan(freezes: Value, windows: Value) -> Plan {
    parse_plan_value(json!({
        "version": 1, "timezone": "Europe/Berlin",
        "teams": [{"id": "t", "name": "Payments", "timezone": "Europe/Berlin", "allowed_windows": windows}],
        "services": [{"id": "s", "team": "t"}],
        "environments": [{"id": "prod", "name": "Production"}],
        "freezes": freezes, "releases": [],
    }))
    .unwrap()
}

fn year(p: &Plan) -> Vec<(String, String)> {
    dst_warnings(p, at("2027-01-01T00:00:00Z"), at("2028-01-01T00:00:00Z"))
        .into_iter()
        .map(|w| (w.code.to_owned(), w.message))
        .collect()
}

#[test]
fn a_nightly_freeze_at_half_past_two_meets_the_gap_and_the_fold() {
    let p = plan(
        json!([{"id": "backup", "name": "Backup", "severity": "hard", "start": "2027-01-01T02:30:00",
                "duration": "PT1H", "rrule": "FREQ=DAILY"}]),
        json!([]),
    );
    assert_eq!(
        year(&p),
        [
            (
                "dst.gap".to_owned(),
                "Backup (backup): 28 Mar 2027 02:30 does not exist in Europe/Berlin (the clocks go forward); this occurrence starts at 03:30".to_owned()
            ),
            (
                "dst.fold".to_owned(),
                "Backup (backup): 31 Oct 2027 02:30 happens twice in Europe/Berlin (the clocks go back); this occurrence starts at the first, 31 Oct 2027 02:30 CEST, not at 31 Oct 2027 02:30 CET".to_owned()
            ),
        ]
    );
    // The gap's warning is at the instant the occurrence really starts.
    let w = dst_warnings(&p, at("2027-01-01T00:00:00Z"), at("2028-01-01T00:00:00Z"));
    assert_eq!(w[0].at, at("2027-03-28T01:30:00Z"));
    assert_eq!(w[0].object, "backup");
}

#[test]
fn ordinary_times_say_nothing_and_a_one_off_local_time_is_checked_too() {
    let quiet = plan(
        json!([{"id": "fri", "name": "Friday", "severity": "soft", "start": "2027-01-01T12:00:00",
                "duration": "PT12H", "rrule": "FREQ=WEEKLY;BYDAY=FR"}]),
        json!([{"start": "2027-01-04T09:00:00", "duration": "PT8H", "rrule": "FREQ=WEEKLY;BYDAY=MO,TU"}]),
    );
    assert!(year(&quiet).is_empty());
    let once = plan(
        json!([{"id": "x", "name": "Cutover", "severity": "hard", "start": "2027-03-28T02:15:00",
                "end": "2027-03-28T06:00:00"},
               {"id": "y", "name": "In UTC", "severity": "hard", "start": "2027-03-28T01:15:00Z",
                "end": "2027-03-28T06:00:00Z"}]),
        json!([]),
    );
    let w = year(&once);
    assert_eq!(w.len(), 1, "{w:?}");
    assert!(
        w[0].1
            .starts_with("Cutover (x) start: 28 Mar 2027 02:15 does not exist in Europe/Berlin"),
        "{w:?}"
    );
}

#[test]
fn a_window_written_in_utc_moves_on_the_teams_clock() {
    let p = plan(
        json!([]),
        json!([{"timezone": "UTC", "start": "2027-01-04T09:00:00", "duration": "PT8H", "rrule": "FREQ=WEEKLY;BYDAY=MO"},
               {"timezone": "Europe/London", "start": "2027-01-04T08:00:00", "duration": "PT8H", "rrule": "FREQ=WEEKLY;BYDAY=TU"}]),
    );
    assert_eq!(
        year(&p),
        [(
            "window.dst_drift".to_owned(),
            "Payments deploy window 1 is written in UTC at 09:00: in Europe/Berlin, the team's zone, it opens at 10:00 in January and 11:00 in July".to_owned()
        )]
    );
}
