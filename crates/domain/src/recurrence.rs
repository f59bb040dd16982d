//! RFC 5545 recurrence in a real time zone.
//!
//! The `rrule` crate expands the rule, but in a zone without daylight saving
//! (UTC used as a floating wall clock): BYDAY, BYMONTHDAY and friends speak of
//! wall-clock dates, and expanding in a zone with DST is where `rrule` 0.14 goes
//! wrong (its issue #115). Each wall-clock start is then placed in the real zone
//! by [`resolve_local`], which applies the spec's gap and fold rules, and the
//! duration is added as the spec says.

use crate::duration::PlanDuration;
use crate::time::{resolve_local, Interval, TimeValue, MAX_YEAR};
use chrono::{DateTime, Datelike, Duration, NaiveDate, NaiveDateTime, NaiveTime, TimeZone, Utc};
use chrono_tz::Tz;
use std::ops::ControlFlow;
use std::str::FromStr;
mod parts;
use parts::Parts;
mod words;
use words::{
    day_name, day_of_month, duration_words, is_weekdays_list, join_words, month_name, ordinal,
};

/// Largest INTERVAL accepted. `rrule` does not bound it; nobody means more.
pub const MAX_INTERVAL: u32 = 1000;
/// Largest COUNT accepted: a daily freeze for 27 years.
pub const MAX_COUNT: u32 = 10_000;
/// Most occurrences a rule may start in one day (an hourly rule's 24).
pub const MAX_OCCURRENCES_PER_DAY: usize = 24;

/// The frequencies a freeze or window may repeat at (MINUTELY and SECONDLY
/// are refused: nobody freezes releases every minute, and they would make
/// expansion unbounded in practice).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Frequency {
    /// `FREQ=HOURLY`.
    Hourly,
    /// `FREQ=DAILY`.
    Daily,
    /// `FREQ=WEEKLY`.
    Weekly,
    /// `FREQ=MONTHLY`.
    Monthly,
    /// `FREQ=YEARLY`.
    Yearly,
}

impl Frequency {
    fn parse(value: &str) -> Result<Self, String> {
        match value {
            "HOURLY" => Ok(Self::Hourly),
            "DAILY" => Ok(Self::Daily),
            "WEEKLY" => Ok(Self::Weekly),
            "MONTHLY" => Ok(Self::Monthly),
            "YEARLY" => Ok(Self::Yearly),
            "MINUTELY" | "SECONDLY" => Err(format!(
                "FREQ={value}: freezes and windows repeat at most hourly (HOURLY, DAILY, WEEKLY, MONTHLY or YEARLY)"
            )),
            _ => Err(format!(
                "FREQ={value}: expected HOURLY, DAILY, WEEKLY, MONTHLY or YEARLY"
            )),
        }
    }

    fn as_str(self) -> &'static str {
        match self {
            Self::Hourly => "HOURLY",
            Self::Daily => "DAILY",
            Self::Weekly => "WEEKLY",
            Self::Monthly => "MONTHLY",
            Self::Yearly => "YEARLY",
        }
    }
}

/// A validated RRULE value (`FREQ=WEEKLY;BYDAY=FR`), ready to expand.
///
/// Expansion is bounded: it starts at the period (year, month, week, day or
/// hour, in step with INTERVAL) that holds the range asked about, never
/// earlier than DTSTART; it ends at the range's end, and at the end of
/// [`MAX_YEAR`] at the latest (the time zone tables end there); and a rule is
/// accepted only if its occurrences are never more than `rrule`'s loop limit
/// of periods apart (see [`Parts::check`]), so an expansion's work is the
/// periods it covers plus a bounded search.
#[derive(Debug, Clone)]
pub struct RecurrenceRule {
    text: String,
    /// The rule's parts, parsed and checked (describing it in words reads them).
    parts: Parts,
    /// UNTIL as a wall-clock time in the rule's zone.
    until: Option<NaiveDateTime>,
    freq: Frequency,
    interval: u32,
    wkst: chrono::Weekday,
    /// The rule with DTSTART's implied parts written out, without COUNT or UNTIL.
    base: rrule::RRule<rrule::Unvalidated>,
    /// The last wall-clock start the series may have (from UNTIL or COUNT).
    last: Option<NaiveDateTime>,
}

impl PartialEq for RecurrenceRule {
    fn eq(&self, other: &Self) -> bool {
        self.text.eq_ignore_ascii_case(&other.text)
    }
}
impl Eq for RecurrenceRule {}

/// No occurrence starts at or after this wall-clock time: chrono-tz's tables
/// end with [`MAX_YEAR`], and so do the years a plan may name.
fn wall_limit() -> NaiveDateTime {
    crate::time::end_of_supported_years()
}

impl RecurrenceRule {
    /// The first `n` wall-clock starts of the series from `dtstart`.
    pub fn starts_from(&self, dtstart: NaiveDateTime, n: usize) -> Vec<NaiveDateTime> {
        let mut out = Vec::new();
        if n == 0 {
            return out;
        }
        self.walk(dtstart, dtstart, wall_limit(), |t| {
            out.push(t);
            if out.len() >= n {
                ControlFlow::Break(())
            } else {
                ControlFlow::Continue(())
            }
        });
        out
    }

    /// Parses and validates `text` for a series whose first wall-clock start
    /// is `dtstart` in `zone`.
    pub fn parse(text: &str, dtstart: NaiveDateTime, zone: Tz) -> Result<Self, String> {
        if text.trim().is_empty() {
            return Err("the RRULE is empty; write e.g. FREQ=WEEKLY;BYDAY=FR".into());
        }
        if text.to_ascii_uppercase().starts_with("RRULE:") {
            return Err("write the RRULE value without the `RRULE:` prefix".into());
        }
        if text.contains(['\n', '\r']) {
            return Err(
                "the RRULE holds a line break; `rrule` is exactly one RRULE value on one line"
                    .into(),
            );
        }
        if let Some(c) = text
            .chars()
            .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, ';' | '=' | ',' | '+' | '-')))
        {
            return Err(format!(
                "the RRULE holds `{}`; an RRULE value is KEY=VALUE parts separated by `;`, without spaces (FREQ=WEEKLY;BYDAY=FR)",
                c.escape_default()
            ));
        }
        let parts = Parts::read(text)?;
        let freq = parts.check()?;
        let until = match &parts.until {
            Some(value) => {
                let until = parse_until(value, zone)?;
                if until < dtstart {
                    return Err(format!("UNTIL ({until}) is before the start ({dtstart})"));
                }
                Some(until)
            }
            None => None,
        };
        let normalized = parts.normalized(freq, dtstart);
        let base = rrule::RRule::<rrule::Unvalidated>::from_str(&normalized)
            .map_err(|e| format!("invalid RRULE `{text}`: {e}"))?;
        let mut rule = Self {
            text: text.to_owned(),
            until,
            freq,
            interval: parts.interval.unwrap_or(1),
            wkst: parts.wkst.unwrap_or(chrono::Weekday::Mon),
            parts,
            base,
            last: until,
        };
        // The series' true end: COUNT becomes the last start, so later
        // expansions can begin anywhere without counting from DTSTART. The
        // first occurrence must exist, within `rrule`'s loop limit.
        let wanted = rule.parts.count.unwrap_or(1);
        let first = rule
            .base
            .clone()
            .until(floating(until.unwrap_or(wall_limit()).min(wall_limit())))
            .validate(floating(dtstart))
            .map_err(|e| format!("invalid RRULE `{text}`: {e}"))?;
        let found = rrule::RRuleSet::new(floating(dtstart))
            .rrule(first)
            .all(u16::try_from(wanted).unwrap_or(u16::MAX));
        let seen = found.dates.len();
        // `limited` is also set when exactly `wanted` were found.
        let cut_short = found.limited && seen < wanted as usize;
        if seen == 0 {
            let end = match until {
                Some(u) if u < wall_limit() => format!("its UNTIL ({u})"),
                _ => format!("the end of {MAX_YEAR}"),
            };
            return Err(format!(
                "the rule never produces an occurrence from the start ({dtstart}) to {end}; check its BY parts and INTERVAL"
            ));
        }
        if rule.parts.count.is_some() {
            if cut_short {
                return Err(format!(
                    "COUNT={wanted}: the rule's occurrences lie too far apart to count ({seen} found); use UNTIL"
                ));
            }
            rule.last = found.dates.last().map(|t| t.naive_utc());
        }
        Ok(rule)
    }

    /// Calls `each` with the wall-clock starts of the series (first start
    /// `dtstart`) from the period that holds `from` up to `to` (both wall
    /// clock), in order, until `each` breaks off.
    fn walk(
        &self,
        dtstart: NaiveDateTime,
        from: NaiveDateTime,
        to: NaiveDateTime,
        mut each: impl FnMut(NaiveDateTime) -> ControlFlow<()>,
    ) {
        let mut end = to.min(wall_limit());
        if let Some(last) = self.last {
            end = end.min(last);
        }
        let anchor = self.anchor(dtstart, from).max(dtstart);
        if anchor > end {
            return;
        }
        let Ok(rule) = self
            .base
            .clone()
            .until(floating(end))
            .validate(floating(anchor))
        else {
            return;
        };
        // `limit`: a run of empty periods ends at rrule's loop limit instead of
        // going on to the year 9999. Accepted rules never have such a run
        // before `end` (see `Parts::check`).
        let set = rrule::RRuleSet::new(floating(anchor)).rrule(rule).limit();
        for t in &set {
            if each(t.naive_utc()).is_break() {
                return;
            }
        }
    }

    /// Index of the period (hour, day, week, month or year) holding `t`.
    fn period_index(&self, t: NaiveDateTime) -> i64 {
        use chrono::Timelike;
        let days = i64::from(t.date().num_days_from_ce());
        match self.freq {
            Frequency::Hourly => days * 24 + i64::from(t.hour()),
            Frequency::Daily => days,
            Frequency::Weekly => {
                // Weeks begin on WKST.
                let shift = i64::from(self.wkst.num_days_from_monday());
                (days - 1 - shift).div_euclid(7)
            }
            Frequency::Monthly => i64::from(t.year()) * 12 + i64::from(t.month0()),
            Frequency::Yearly => i64::from(t.year()),
        }
    }

    /// The first instant of the period with `index`.
    fn period_start(&self, index: i64) -> Option<NaiveDateTime> {
        let day = |days: i64| {
            i32::try_from(days)
                .ok()
                .and_then(NaiveDate::from_num_days_from_ce_opt)
        };
        let date = match self.freq {
            Frequency::Hourly => {
                let date = day(index.div_euclid(24))?;
                let hour = u32::try_from(index.rem_euclid(24)).ok()?;
                return date.and_hms_opt(hour, 0, 0);
            }
            Frequency::Daily => day(index)?,
            Frequency::Weekly => {
                let shift = i64::from(self.wkst.num_days_from_monday());
                day(index.checked_mul(7)?.checked_add(1 + shift)?)?
            }
            Frequency::Monthly => NaiveDate::from_ymd_opt(
                i32::try_from(index.div_euclid(12)).ok()?,
                u32::try_from(index.rem_euclid(12)).ok()? + 1,
                1,
            )?,
            Frequency::Yearly => NaiveDate::from_ymd_opt(i32::try_from(index).ok()?, 1, 1)?,
        };
        Some(date.and_time(NaiveTime::MIN))
    }

    /// Where to begin expanding for a range starting at `from`: the start of
    /// the series' period (in step with INTERVAL) that holds `from`, or
    /// DTSTART when that is later.
    fn anchor(&self, dtstart: NaiveDateTime, from: NaiveDateTime) -> NaiveDateTime {
        if from <= dtstart {
            return dtstart;
        }
        let (first, at) = (self.period_index(dtstart), self.period_index(from));
        let step = i64::from(self.interval.max(1));
        let index = first + (at - first).div_euclid(step) * step;
        match self.period_start(index) {
            Some(start) if start > dtstart => start,
            _ => dtstart,
        }
    }

    /// The rule as written.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// The rule in words, for a series starting at `dtstart` whose occurrences
    /// last `duration`: "every Friday at 12:00 for 12 hours".
    pub fn describe(&self, dtstart: NaiveDateTime, duration: &PlanDuration) -> String {
        use chrono::{Datelike, Timelike};
        let interval = self.interval;
        let every = |one: &str, many: &str| {
            if interval == 1 {
                format!("every {one}")
            } else {
                format!("every {interval} {many}")
            }
        };
        let days = self.parts.by_day.clone();
        let month_days = self.parts.by_month_day.clone();
        let weekday_names = |days: &[(i32, chrono::Weekday)]| {
            let names: Vec<String> = days.iter().map(|(_, d)| day_name(*d).to_owned()).collect();
            join_words(&names)
        };
        let when = match self.freq {
            Frequency::Hourly => every("hour", "hours"),
            Frequency::Daily if is_weekdays_list(&days) && interval == 1 => {
                "every weekday".to_owned()
            }
            Frequency::Daily => every("day", "days"),
            Frequency::Weekly => {
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
            Frequency::Monthly => {
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
            Frequency::Yearly => {
                let month = self
                    .parts
                    .by_month
                    .first()
                    .and_then(|m| u32::try_from(*m).ok())
                    .unwrap_or(dtstart.month());
                let day = month_days.first().copied().unwrap_or(dtstart.day() as i32);
                format!(
                    "{} on {} {}",
                    every("year", "years"),
                    day_of_month(day),
                    month_name(month)
                )
            }
        };
        let mut text = format!(
            "{when} at {:02}:{:02} for {}",
            dtstart.hour(),
            dtstart.minute(),
            duration_words(duration)
        );
        if let Some(count) = self.parts.count {
            text.push_str(&format!(", {count} times"));
        }
        if let Some(until) = self.until {
            text.push_str(&format!(", until {}", until.format("%-d %b %Y")));
        }
        text
    }

    /// True when the rule has neither COUNT nor UNTIL.
    pub fn is_infinite(&self) -> bool {
        self.until.is_none() && self.parts.count.is_none()
    }

    /// The last wall-clock start the series can have, if it ends.
    pub fn last_start(&self) -> Option<NaiveDateTime> {
        self.last
    }
}

/// UNTIL as a wall-clock time in `zone`. `...Z` is an instant; a date alone
/// includes the whole day.
fn parse_until(value: &str, zone: Tz) -> Result<NaiveDateTime, String> {
    let until = parse_until_value(value, zone)?;
    crate::time::check_year(until.year())
        .map_err(|why| format!("UNTIL={value}: {why}; leave UNTIL out for a rule without end"))?;
    Ok(until)
}

fn parse_until_value(value: &str, zone: Tz) -> Result<NaiveDateTime, String> {
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
    /// Expansion starts near `from` (an occurrence that began earlier but
    /// still runs is found) and ends at `to`: the work is bounded by the
    /// range, not by how long ago DTSTART was.
    pub fn occurrences_between(
        &self,
        zone: Tz,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
        limit: usize,
    ) -> Vec<Occurrence> {
        let mut out = Vec::new();
        if limit == 0 || to <= from {
            return out;
        }
        let dtstart = self.start.wall_time(zone);
        let mut exdates: Vec<NaiveDateTime> =
            self.exdates.iter().map(|e| e.wall_time(zone)).collect();
        exdates.sort_unstable();
        // Wall times differ from UTC by less than a day; an occurrence that
        // began before `from` is at most its length earlier.
        let margin = self.duration.max_length() + Duration::days(1);
        let wall_from = from
            .naive_utc()
            .checked_sub_signed(margin)
            .unwrap_or(NaiveDateTime::MIN);
        let wall_to = to
            .naive_utc()
            .checked_add_signed(Duration::days(1))
            .unwrap_or(NaiveDateTime::MAX);
        self.rule.walk(dtstart, wall_from, wall_to, |wall_start| {
            if exdates.binary_search(&wall_start).is_ok() {
                return ControlFlow::Continue(());
            }
            let interval = Interval {
                start: resolve_local(wall_start, zone),
                end: self.duration.end_from(wall_start, zone),
            };
            if interval.start >= to {
                return ControlFlow::Break(());
            }
            if interval.end > from {
                out.push(Occurrence {
                    wall_start,
                    interval,
                });
                if out.len() >= limit {
                    return ControlFlow::Break(());
                }
            }
            ControlFlow::Continue(())
        });
        out
    }

    /// True when DTSTART is itself an occurrence of the rule (RFC 5545 counts
    /// DTSTART as the first instance; this engine, like python-dateutil, only
    /// when the rule produces it).
    pub fn starts_on_rule(&self, zone: Tz) -> bool {
        let dtstart = self.start.wall_time(zone);
        self.rule.starts_from(dtstart, 1).first() == Some(&dtstart)
    }
}

#[cfg(test)]
mod tests;
