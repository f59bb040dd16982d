//! RFC 5545 recurrence in a real time zone.
//!
//! The `rrule` crate expands the rule, but in a zone without daylight saving
//! (UTC used as a floating wall clock): BYDAY, BYMONTHDAY and friends speak of
//! wall-clock dates, and expanding in a zone with DST is where `rrule` 0.14 goes
//! wrong (its issue #115). Each wall-clock start is then placed in the real zone
//! by [`resolve_local`], which applies the spec's gap and fold rules, and the
//! duration is added as the spec says.

use crate::duration::PlanDuration;
use crate::time::{resolve_local, Interval, TimeValue};
use chrono::{DateTime, NaiveDate, NaiveDateTime, NaiveTime, TimeZone, Utc};
use chrono_tz::Tz;
use std::str::FromStr;

/// Largest INTERVAL accepted. `rrule` does not bound it; nobody means more.
const MAX_INTERVAL: u32 = 1000;

/// A validated RRULE value (`FREQ=WEEKLY;BYDAY=FR`), ready to expand.
#[derive(Debug, Clone)]
pub struct RecurrenceRule {
    text: String,
    rule: rrule::RRule,
    /// The rule's parts as written (upper-case keys), for describing it in words.
    parts: Vec<(String, String)>,
    /// UNTIL as a wall-clock time in the rule's zone.
    until: Option<NaiveDateTime>,
}

impl PartialEq for RecurrenceRule {
    fn eq(&self, other: &Self) -> bool {
        self.text.eq_ignore_ascii_case(&other.text)
    }
}
impl Eq for RecurrenceRule {}

impl RecurrenceRule {
    /// The first `n` wall-clock starts of the series from `dtstart`.
    pub fn starts_from(&self, dtstart: NaiveDateTime, n: usize) -> Vec<NaiveDateTime> {
        let set = rrule::RRuleSet::new(floating(dtstart)).rrule(self.rule.clone());
        set.into_iter().take(n).map(|t| t.naive_utc()).collect()
    }

    /// Parses and validates `text` for a series whose first wall-clock start
    /// is `dtstart` in `zone`.
    pub fn parse(text: &str, dtstart: NaiveDateTime, zone: Tz) -> Result<Self, String> {
        let trimmed = text.trim();
        if trimmed.is_empty() {
            return Err("the RRULE is empty; write e.g. FREQ=WEEKLY;BYDAY=FR".into());
        }
        if trimmed.to_ascii_uppercase().starts_with("RRULE:") {
            return Err("write the RRULE value without the `RRULE:` prefix".into());
        }
        let mut until = None;
        let mut has_count = false;
        let mut kept = Vec::new();
        for part in trimmed.split(';') {
            let Some((key, value)) = part.split_once('=') else {
                return Err(format!("`{part}` is not a KEY=VALUE part of an RRULE"));
            };
            match key.to_ascii_uppercase().as_str() {
                "UNTIL" => {
                    until = Some(parse_until(value, zone)?);
                    continue;
                }
                "COUNT" => {
                    has_count = true;
                    match value.parse::<u32>() {
                        Ok(n) if n >= 1 => {}
                        _ => return Err(format!("COUNT={value}: COUNT must be a whole number of at least 1")),
                    }
                }
                "INTERVAL" => match value.parse::<u32>() {
                    Ok(n) if (1..=MAX_INTERVAL).contains(&n) => {}
                    _ => {
                        return Err(format!(
                            "INTERVAL={value}: INTERVAL must be a whole number from 1 to {MAX_INTERVAL}"
                        ))
                    }
                },
                "FREQ" => {
                    let freq = value.to_ascii_uppercase();
                    if freq == "SECONDLY" || freq == "MINUTELY" {
                        return Err(format!(
                            "FREQ={value}: freezes and windows repeat at most hourly"
                        ));
                    }
                }
                "EXRULE" | "RDATE" | "EXDATE" | "DTSTART" => {
                    return Err(format!(
                        "{key} does not belong in the RRULE value; use the `start` and `exdates` fields"
                    ))
                }
                _ => {}
            }
            kept.push(part);
        }
        if has_count && until.is_some() {
            return Err("an RRULE may have COUNT or UNTIL, not both".into());
        }
        if !kept.iter().any(|p| {
            p.split('=')
                .next()
                .is_some_and(|k| k.eq_ignore_ascii_case("FREQ"))
        }) {
            return Err("the RRULE has no FREQ (e.g. FREQ=WEEKLY)".into());
        }
        let mut unvalidated = rrule::RRule::<rrule::Unvalidated>::from_str(&kept.join(";"))
            .map_err(|e| format!("invalid RRULE `{trimmed}`: {e}"))?;
        if let Some(until) = until {
            if until < dtstart {
                return Err(format!("UNTIL ({until}) is before the start ({dtstart})"));
            }
            unvalidated = unvalidated.until(floating(until));
        }
        let rule = unvalidated
            .validate(floating(dtstart))
            .map_err(|e| format!("invalid RRULE `{trimmed}`: {e}"))?;
        let parts = kept
            .iter()
            .filter_map(|p| p.split_once('='))
            .map(|(k, v)| (k.to_ascii_uppercase(), v.to_ascii_uppercase()))
            .collect();
        Ok(Self {
            text: trimmed.to_owned(),
            rule,
            parts,
            until,
        })
    }

    /// The rule as written.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    fn part(&self, key: &str) -> Option<&str> {
        self.parts
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    /// The rule in words, for a series starting at `dtstart` whose occurrences
    /// last `duration`: "every Friday at 12:00 for 12 hours".
    pub fn describe(&self, dtstart: NaiveDateTime, duration: &PlanDuration) -> String {
        use chrono::{Datelike, Timelike};
        let interval: u32 = self
            .part("INTERVAL")
            .and_then(|v| v.parse().ok())
            .unwrap_or(1);
        let every = |one: &str, many: &str| {
            if interval == 1 {
                format!("every {one}")
            } else {
                format!("every {interval} {many}")
            }
        };
        let days: Vec<(i32, chrono::Weekday)> = self
            .part("BYDAY")
            .map(|v| v.split(',').filter_map(parse_byday).collect())
            .unwrap_or_default();
        let month_days: Vec<i32> = self
            .part("BYMONTHDAY")
            .map(|v| v.split(',').filter_map(|d| d.parse().ok()).collect())
            .unwrap_or_default();
        let weekday_names = |days: &[(i32, chrono::Weekday)]| {
            let names: Vec<String> = days.iter().map(|(_, d)| day_name(*d).to_owned()).collect();
            join_words(&names)
        };
        let is_weekdays = days.len() == 5
            && days
                .iter()
                .all(|(n, d)| *n == 0 && d.num_days_from_monday() < 5);
        let when = match self.part("FREQ").unwrap_or("") {
            "HOURLY" => every("hour", "hours"),
            "DAILY" if is_weekdays && interval == 1 => "every weekday".to_owned(),
            "DAILY" => every("day", "days"),
            "WEEKLY" => {
                let days = if days.is_empty() {
                    vec![(0, dtstart.weekday())]
                } else {
                    days
                };
                if is_weekdays_list(&days) && interval == 1 {
                    "every weekday".to_owned()
                } else if interval == 1 {
                    format!("every {}", weekday_names(&days))
                } else {
                    format!("every {interval} weeks on {}", weekday_names(&days))
                }
            }
            "MONTHLY" => {
                let what = if let Some((n, d)) = days.iter().find(|(n, _)| *n != 0) {
                    format!("the {} {}", ordinal(*n), day_name(*d))
                } else if !days.is_empty() {
                    format!("every {}", weekday_names(&days))
                } else {
                    let list = if month_days.is_empty() {
                        vec![dtstart.day() as i32]
                    } else {
                        month_days
                    };
                    let names: Vec<String> = list.iter().map(|d| day_of_month(*d)).collect();
                    format!("the {}", join_words(&names))
                };
                format!("on {what} of {}", every("month", "months"))
            }
            "YEARLY" => {
                let month = self
                    .part("BYMONTH")
                    .and_then(|m| m.split(',').next()?.parse::<u32>().ok())
                    .unwrap_or(dtstart.month());
                let day = month_days.first().copied().unwrap_or(dtstart.day() as i32);
                format!(
                    "{} on {} {}",
                    every("year", "years"),
                    day_of_month(day),
                    month_name(month)
                )
            }
            other => format!("repeating {}", other.to_ascii_lowercase()),
        };
        let mut text = format!(
            "{when} at {:02}:{:02} for {}",
            dtstart.hour(),
            dtstart.minute(),
            duration_words(duration)
        );
        if let Some(count) = self.part("COUNT") {
            text.push_str(&format!(", {count} times"));
        }
        if let Some(until) = self.until {
            text.push_str(&format!(", until {}", until.format("%-d %b %Y")));
        }
        text
    }

    /// True when the rule has neither COUNT nor UNTIL.
    pub fn is_infinite(&self) -> bool {
        self.rule.get_count().is_none() && self.rule.get_until().is_none()
    }
}

fn parse_byday(v: &str) -> Option<(i32, chrono::Weekday)> {
    let (n, day) = v.split_at(v.len().checked_sub(2)?);
    let day = match day {
        "MO" => chrono::Weekday::Mon,
        "TU" => chrono::Weekday::Tue,
        "WE" => chrono::Weekday::Wed,
        "TH" => chrono::Weekday::Thu,
        "FR" => chrono::Weekday::Fri,
        "SA" => chrono::Weekday::Sat,
        "SU" => chrono::Weekday::Sun,
        _ => return None,
    };
    let n = if n.is_empty() {
        0
    } else {
        n.trim_start_matches('+').parse().ok()?
    };
    Some((n, day))
}

fn is_weekdays_list(days: &[(i32, chrono::Weekday)]) -> bool {
    days.len() == 5
        && days
            .iter()
            .all(|(n, d)| *n == 0 && d.num_days_from_monday() < 5)
}

fn day_name(d: chrono::Weekday) -> &'static str {
    [
        "Monday",
        "Tuesday",
        "Wednesday",
        "Thursday",
        "Friday",
        "Saturday",
        "Sunday",
    ][d.num_days_from_monday() as usize]
}

fn month_name(m: u32) -> &'static str {
    const NAMES: [&str; 12] = [
        "January",
        "February",
        "March",
        "April",
        "May",
        "June",
        "July",
        "August",
        "September",
        "October",
        "November",
        "December",
    ];
    NAMES
        .get(m.saturating_sub(1) as usize)
        .copied()
        .unwrap_or("?")
}

fn ordinal(n: i32) -> String {
    match n {
        -1 => "last".into(),
        -2 => "second to last".into(),
        1 => "first".into(),
        2 => "second".into(),
        3 => "third".into(),
        4 => "fourth".into(),
        5 => "fifth".into(),
        n if n < 0 => format!("{}th to last", -n),
        n => format!("{n}th"),
    }
}

fn day_of_month(d: i32) -> String {
    match d {
        -1 => "last day".into(),
        d if d < 0 => format!("{} day", ordinal(d)),
        d => {
            let suffix = match (d % 10, d % 100) {
                (1, 11) | (2, 12) | (3, 13) => "th",
                (1, _) => "st",
                (2, _) => "nd",
                (3, _) => "rd",
                _ => "th",
            };
            format!("{d}{suffix}")
        }
    }
}

fn join_words(items: &[String]) -> String {
    match items {
        [] => String::new(),
        [one] => one.clone(),
        [rest @ .., last] => format!("{} and {last}", rest.join(", ")),
    }
}

fn duration_words(d: &PlanDuration) -> String {
    let mut parts = Vec::new();
    let plural = |n: i64, unit: &str| format!("{n} {unit}{}", if n == 1 { "" } else { "s" });
    if d.days() > 0 {
        parts.push(if d.days().is_multiple_of(7) {
            plural(i64::from(d.days() / 7), "week")
        } else {
            plural(i64::from(d.days()), "day")
        });
    }
    let minutes = d.exact().num_minutes();
    if minutes >= 60 {
        parts.push(plural(minutes / 60, "hour"));
    }
    if minutes % 60 > 0 {
        parts.push(plural(minutes % 60, "minute"));
    }
    join_words(&parts)
}

/// UNTIL as a wall-clock time in `zone`. `...Z` is an instant; a date alone
/// includes the whole day.
fn parse_until(value: &str, zone: Tz) -> Result<NaiveDateTime, String> {
    if let Some(utc) = value.strip_suffix(['Z', 'z']) {
        if let Ok(t) = NaiveDateTime::parse_from_str(utc, "%Y%m%dT%H%M%S") {
            return Ok(zone.from_utc_datetime(&t).naive_local());
        }
    } else if let Ok(t) = NaiveDateTime::parse_from_str(value, "%Y%m%dT%H%M%S") {
        return Ok(t);
    } else if let Ok(d) = NaiveDate::parse_from_str(value, "%Y%m%d") {
        if let Some(end_of_day) = NaiveTime::from_hms_opt(23, 59, 59) {
            return Ok(d.and_time(end_of_day));
        }
    }
    Err(format!(
        "UNTIL={value}: write UNTIL as 20261231T235959Z, 20261231T235959 or 20261231"
    ))
}

fn floating(wall: NaiveDateTime) -> DateTime<rrule::Tz> {
    rrule::Tz::UTC.from_utc_datetime(&wall)
}

/// A recurring period: a first wall-clock start, a rule, a length and exceptions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Recurrence {
    /// DTSTART, as written (normally a local time).
    pub start: TimeValue,
    /// The length of each occurrence.
    pub duration: PlanDuration,
    /// The RRULE.
    pub rule: RecurrenceRule,
    /// Local start times of occurrences to skip.
    pub exdates: Vec<TimeValue>,
}

/// One occurrence of a recurrence.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Occurrence {
    /// The wall-clock start in the recurrence's zone, as the rule produced it.
    pub wall_start: NaiveDateTime,
    /// The period in real time.
    pub interval: Interval,
}

impl Recurrence {
    /// The recurrence in words, with its zone: "every Friday at 12:00 for 12 hours (Europe/Berlin)".
    pub fn describe(&self, zone: Tz) -> String {
        format!(
            "{} ({})",
            self.rule
                .describe(self.start.wall_time(zone), &self.duration),
            zone.name()
        )
    }

    /// Occurrences that overlap `[from, to)`, in order, at most `limit` of them.
    /// Infinite rules are expanded lazily up to `to`.
    pub fn occurrences_between(
        &self,
        zone: Tz,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
        limit: usize,
    ) -> Vec<Occurrence> {
        let dtstart = self.start.wall_time(zone);
        let exdates: Vec<NaiveDateTime> = self.exdates.iter().map(|e| e.wall_time(zone)).collect();
        // Wall times differ from UTC by at most a day; search a little wider.
        let stop_wall = to.naive_utc() + chrono::Duration::days(2);
        let set = rrule::RRuleSet::new(floating(dtstart)).rrule(self.rule.rule.clone());
        let mut out = Vec::new();
        for start in &set {
            let wall_start = start.naive_utc();
            if wall_start > stop_wall || out.len() >= limit {
                break;
            }
            if exdates.contains(&wall_start) {
                continue;
            }
            let interval = Interval {
                start: resolve_local(wall_start, zone),
                end: self.duration.end_from(wall_start, zone),
            };
            if interval.end > from && interval.start < to {
                out.push(Occurrence {
                    wall_start,
                    interval,
                });
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
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
            ("FREQ=FORTNIGHTLY", "invalid RRULE"),
            ("BYDAY=MO", "no FREQ"),
            ("FREQ=DAILY;INTERVAL=0", "INTERVAL"),
            ("FREQ=DAILY;INTERVAL=100000", "INTERVAL"),
            ("FREQ=MINUTELY", "hourly"),
            ("FREQ=WEEKLY;BYDAY=XX", "invalid RRULE"),
            ("FREQ=DAILY;COUNT=2;UNTIL=20270101", "not both"),
            ("FREQ=DAILY;UNTIL=20250101", "before the start"),
            ("FREQ=DAILY;UNTIL=tomorrow", "UNTIL"),
            ("FREQ=MONTHLY;BYMONTHDAY=40", "invalid RRULE"),
            ("", "empty"),
        ] {
            let err = RecurrenceRule::parse(rule, start, Tz::UTC).unwrap_err();
            assert!(err.contains(needle), "{rule}: {err}");
        }
    }
}
