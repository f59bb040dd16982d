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
}

impl PartialEq for RecurrenceRule {
    fn eq(&self, other: &Self) -> bool {
        self.text.eq_ignore_ascii_case(&other.text)
    }
}
impl Eq for RecurrenceRule {}

impl RecurrenceRule {
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
        Ok(Self {
            text: trimmed.to_owned(),
            rule,
        })
    }

    /// The rule as written.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// True when the rule has neither COUNT nor UNTIL.
    pub fn is_infinite(&self) -> bool {
        self.rule.get_count().is_none() && self.rule.get_until().is_none()
    }
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
