//! ISO 8601 durations with the plan's meaning: days and weeks are calendar
//! days added on the wall clock, hours, minutes and seconds are exact.

use crate::time::resolve_local;
use chrono::{DateTime, Days, Duration, NaiveDateTime, Utc};
use chrono_tz::Tz;

/// The longest occurrence of a recurring freeze or window. Longer ones would
/// overlap hundreds of their neighbours; a period that long is a one-off
/// freeze with `start` and `end`.
pub const MAX_DAYS: i64 = 366;

/// A positive ISO 8601 duration such as `PT2H`, `P1D`, `P2W` or `P1DT12H`,
/// at most [`MAX_DAYS`] long.
#[derive(Debug, Clone)]
pub struct PlanDuration {
    text: String,
    days: u32,
    exact: Duration,
}

impl PartialEq for PlanDuration {
    /// `P2W` equals `P14D` and `PT90M` equals `PT1H30M`.
    fn eq(&self, other: &Self) -> bool {
        self.days == other.days && self.exact == other.exact
    }
}
impl Eq for PlanDuration {}

impl PlanDuration {
    /// Parses an ISO 8601 duration. Years and months are refused: their length
    /// is ambiguous, and a freeze is better stated in days.
    pub fn parse(text: &str) -> Result<Self, String> {
        let bad = || {
            format!(
                "`{text}` is not an ISO 8601 duration (examples: PT2H, PT90M, P1D, P2W, P1DT12H)"
            )
        };
        let too_long =
            || format!("`{text}`: an occurrence may last at most {MAX_DAYS} days (P{MAX_DAYS}D)");
        let parsed = match iso8601::parsers::parse_duration(text.as_bytes()) {
            Ok((&[], parsed)) => parsed,
            _ => return Err(bad()),
        };
        let (days, exact) = match parsed {
            iso8601::Duration::Weeks(w) => {
                (w.checked_mul(7).ok_or_else(too_long)?, Duration::zero())
            }
            iso8601::Duration::YMDHMS {
                year,
                month,
                day,
                hour,
                minute,
                second,
                millisecond,
            } => {
                if year != 0 || month != 0 {
                    return Err(format!(
                        "`{text}`: years and months are not supported in durations; use days or weeks"
                    ));
                }
                // Checked: `PT4294967295H` must be an error, not an overflow.
                let exact = [
                    Duration::try_hours(hour.into()),
                    Duration::try_minutes(minute.into()),
                    Duration::try_seconds(second.into()),
                    Duration::try_milliseconds(millisecond.into()),
                ]
                .into_iter()
                .try_fold(Duration::zero(), |sum, part| sum.checked_add(&part?))
                .ok_or_else(too_long)?;
                (day, exact)
            }
        };
        if days == 0 && exact <= Duration::zero() {
            return Err(format!("`{text}`: a duration must be longer than zero"));
        }
        let total = Duration::try_days(i64::from(days))
            .and_then(|d| d.checked_add(&exact))
            .ok_or_else(too_long)?;
        if total > Duration::days(MAX_DAYS) {
            return Err(too_long());
        }
        Ok(Self {
            text: text.to_owned(),
            days,
            exact,
        })
    }

    /// The duration as written.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// Calendar days (weeks count as seven).
    pub fn days(&self) -> u32 {
        self.days
    }

    /// The exact part (hours, minutes, seconds).
    pub fn exact(&self) -> Duration {
        self.exact
    }

    /// The end of a period of this length that starts at the wall time `start` in `zone`.
    pub fn end_from(&self, start: NaiveDateTime, zone: Tz) -> DateTime<Utc> {
        let wall = start
            .checked_add_days(Days::new(self.days.into()))
            .unwrap_or(start);
        let begin = resolve_local(wall, zone);
        begin.checked_add_signed(self.exact).unwrap_or(begin)
    }

    /// An upper bound of the length, for searching.
    pub fn max_length(&self) -> Duration {
        // Bounded by MAX_DAYS at parse time, so this cannot overflow.
        Duration::days(i64::from(self.days)) + Duration::hours(2) + self.exact
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_spec_examples() {
        for (text, days, hours) in [
            ("PT2H", 0, 2.0),
            ("PT90M", 0, 1.5),
            ("P1D", 1, 0.0),
            ("P2W", 14, 0.0),
            ("P1DT12H", 1, 12.0),
        ] {
            let d = PlanDuration::parse(text).unwrap();
            assert_eq!(d.days(), days, "{text}");
            assert_eq!(d.exact().num_minutes() as f64 / 60.0, hours, "{text}");
        }
        assert_eq!(
            PlanDuration::parse("P2W").unwrap(),
            PlanDuration::parse("P14D").unwrap()
        );
    }

    #[test]
    fn rejects_bad_durations() {
        for text in [
            "",
            "2h",
            "PT",
            "P1Y",
            "P1M",
            "PT0S",
            "PT2Hxyz",
            "-PT1H",
            "P1X",
            "PT4294967295H",
            "P367D",
            "P53W",
            "PT8785H",
            "P366DT1S",
            "P4294967295W",
        ] {
            assert!(
                PlanDuration::parse(text).is_err(),
                "{text} should be refused"
            );
        }
    }

    #[test]
    fn a_day_is_a_calendar_day_across_dst() {
        // Berlin springs forward on 2026-03-29: that day has 23 hours.
        let start =
            NaiveDateTime::parse_from_str("2026-03-29T00:00:00", "%Y-%m-%dT%H:%M:%S").unwrap();
        let d = PlanDuration::parse("P1D").unwrap();
        let end = d.end_from(start, chrono_tz::Europe::Berlin);
        let begin = resolve_local(start, chrono_tz::Europe::Berlin);
        assert_eq!((end - begin).num_hours(), 23);
        let d = PlanDuration::parse("PT24H").unwrap();
        assert_eq!(
            (d.end_from(start, chrono_tz::Europe::Berlin) - begin).num_hours(),
            24
        );
    }
}
