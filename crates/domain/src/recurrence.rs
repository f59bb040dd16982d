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

/// The parts of an RRULE value, each checked against RFC 5545 §3.3.10.
#[derive(Debug, Default, Clone)]
struct Parts {
    freq: Option<Frequency>,
    interval: Option<u32>,
    count: Option<u32>,
    until: Option<String>,
    by_second: Vec<i32>,
    by_minute: Vec<i32>,
    by_hour: Vec<i32>,
    by_day: Vec<(i32, chrono::Weekday)>,
    by_month_day: Vec<i32>,
    by_year_day: Vec<i32>,
    by_week_no: Vec<i32>,
    by_month: Vec<i32>,
    by_set_pos: Vec<i32>,
    wkst: Option<chrono::Weekday>,
}

/// Whole numbers in `range`, zero refused where `signed` (BYMONTHDAY=-1 counts from the end).
fn numbers(
    key: &str,
    value: &str,
    range: std::ops::RangeInclusive<i32>,
    signed: bool,
) -> Result<Vec<i32>, String> {
    let expected = if signed {
        format!(
            "each value must be from 1 to {end} or from -{end} to -1",
            end = range.end()
        )
    } else {
        format!(
            "each value must be a whole number from {} to {}",
            range.start(),
            range.end()
        )
    };
    value
        .split(',')
        .map(|v| {
            let digits = v.strip_prefix(['+', '-']).unwrap_or(v);
            let n = if digits.is_empty()
                || digits.len() > 4
                || !digits.bytes().all(|b| b.is_ascii_digit())
            {
                None
            } else {
                v.parse::<i32>().ok()
            };
            match n {
                Some(n) if signed && n != 0 && range.contains(&n.abs()) => Ok(n),
                Some(n) if !signed && range.contains(&n) => Ok(n),
                _ => Err(format!("{key}={value}: {expected}")),
            }
        })
        .collect()
}

fn weekday(code: &str) -> Option<chrono::Weekday> {
    Some(match code {
        "MO" => chrono::Weekday::Mon,
        "TU" => chrono::Weekday::Tue,
        "WE" => chrono::Weekday::Wed,
        "TH" => chrono::Weekday::Thu,
        "FR" => chrono::Weekday::Fri,
        "SA" => chrono::Weekday::Sat,
        "SU" => chrono::Weekday::Sun,
        _ => return None,
    })
}

fn weekday_code(d: chrono::Weekday) -> &'static str {
    ["MO", "TU", "WE", "TH", "FR", "SA", "SU"][d.num_days_from_monday() as usize]
}

impl Parts {
    /// Reads `KEY=VALUE;…` (keys upper-case already), each key once.
    fn read(text: &str) -> Result<Self, String> {
        let mut parts = Parts::default();
        let mut seen: Vec<String> = Vec::new();
        for part in text.split(';') {
            let Some((key, value)) = part.split_once('=') else {
                return Err(format!("`{part}` is not a KEY=VALUE part of an RRULE"));
            };
            let (key, value) = (key.to_ascii_uppercase(), value.to_ascii_uppercase());
            if value.is_empty() {
                return Err(format!("{key} has no value"));
            }
            if seen.contains(&key) {
                return Err(format!(
                    "{key} appears twice; RFC 5545 allows each rule part once"
                ));
            }
            let v = value.as_str();
            match key.as_str() {
                "FREQ" => parts.freq = Some(Frequency::parse(v)?),
                "INTERVAL" => match v.parse::<u32>() {
                    Ok(n) if (1..=MAX_INTERVAL).contains(&n) => parts.interval = Some(n),
                    _ => {
                        return Err(format!(
                            "INTERVAL={v}: INTERVAL must be a whole number from 1 to {MAX_INTERVAL}"
                        ))
                    }
                },
                "COUNT" => match v.parse::<u32>() {
                    Ok(n) if (1..=MAX_COUNT).contains(&n) => parts.count = Some(n),
                    _ => {
                        return Err(format!(
                            "COUNT={v}: COUNT must be a whole number from 1 to {MAX_COUNT}"
                        ))
                    }
                },
                "UNTIL" => parts.until = Some(value.clone()),
                "BYSECOND" => {
                    parts.by_second = numbers(&key, v, 0..=59, false)?;
                }
                "BYMINUTE" => parts.by_minute = numbers(&key, v, 0..=59, false)?,
                "BYHOUR" => parts.by_hour = numbers(&key, v, 0..=23, false)?,
                "BYMONTHDAY" => parts.by_month_day = numbers(&key, v, 1..=31, true)?,
                "BYYEARDAY" => parts.by_year_day = numbers(&key, v, 1..=366, true)?,
                "BYWEEKNO" => parts.by_week_no = numbers(&key, v, 1..=53, true)?,
                "BYMONTH" => parts.by_month = numbers(&key, v, 1..=12, false)?,
                "BYSETPOS" => parts.by_set_pos = numbers(&key, v, 1..=366, true)?,
                "WKST" => {
                    parts.wkst = Some(weekday(v).ok_or_else(|| {
                        format!("WKST={v}: expected a day code: MO, TU, WE, TH, FR, SA or SU")
                    })?)
                }
                "BYDAY" => {
                    for d in v.split(',') {
                        let bad = || {
                            format!(
                                "BYDAY={v}: `{d}` is not a day such as MO, FR, 1TU or -1FR"
                            )
                        };
                        let (n, code) = d.split_at(d.len().checked_sub(2).ok_or_else(bad)?);
                        let day = weekday(code).ok_or_else(bad)?;
                        let n = if n.is_empty() {
                            0
                        } else {
                            let mag = numbers(&key, n, 1..=53, true).map_err(|_| bad())?;
                            mag.first().copied().ok_or_else(bad)?
                        };
                        parts.by_day.push((n, day));
                    }
                }
                "EXRULE" | "RDATE" | "EXDATE" | "DTSTART" => {
                    return Err(format!(
                        "{key} does not belong in the RRULE value; use the `start` and `exdates` fields"
                    ))
                }
                _ => {
                    return Err(format!(
                        "`{key}` is not an RRULE part (FREQ, INTERVAL, COUNT, UNTIL, BYSECOND, BYMINUTE, BYHOUR, BYDAY, BYMONTHDAY, BYYEARDAY, BYWEEKNO, BYMONTH, BYSETPOS, WKST)"
                    ))
                }
            }
            seen.push(key);
        }
        Ok(parts)
    }

    /// RFC 5545's MUST NOTs and this format's limits on what a freeze may repeat.
    fn check(&self) -> Result<Frequency, String> {
        let freq = self
            .freq
            .ok_or("the RRULE has no FREQ (e.g. FREQ=WEEKLY)")?;
        if self.count.is_some() && self.until.is_some() {
            return Err("an RRULE may have COUNT or UNTIL, not both".into());
        }
        let numbered = self.by_day.iter().any(|(n, _)| *n != 0);
        if numbered && !matches!(freq, Frequency::Monthly | Frequency::Yearly) {
            return Err(format!(
                "BYDAY: a numbered day such as 1TU or -1FR needs FREQ=MONTHLY or YEARLY (RFC 5545 §3.3.10), not FREQ={}",
                freq.as_str()
            ));
        }
        if numbered && freq == Frequency::Yearly && !self.by_week_no.is_empty() {
            return Err(
                "BYDAY: a numbered day such as 1TU cannot be combined with BYWEEKNO (RFC 5545 §3.3.10)"
                    .into(),
            );
        }
        if numbered && freq == Frequency::Monthly && self.by_day.iter().any(|(n, _)| n.abs() > 5) {
            return Err("BYDAY: in a MONTHLY rule a numbered day is from 1 to 5 or -5 to -1 (a month has at most five of each weekday)".into());
        }
        if !self.by_month_day.is_empty() && freq == Frequency::Weekly {
            return Err("BYMONTHDAY cannot be used with FREQ=WEEKLY (RFC 5545 §3.3.10)".into());
        }
        if !self.by_year_day.is_empty()
            && matches!(
                freq,
                Frequency::Daily | Frequency::Weekly | Frequency::Monthly
            )
        {
            return Err(format!(
                "BYYEARDAY cannot be used with FREQ={} (RFC 5545 §3.3.10)",
                freq.as_str()
            ));
        }
        if !self.by_week_no.is_empty() && freq != Frequency::Yearly {
            return Err(format!(
                "BYWEEKNO needs FREQ=YEARLY (RFC 5545 §3.3.10), not FREQ={}",
                freq.as_str()
            ));
        }
        if !self.by_set_pos.is_empty()
            && self.by_second.is_empty()
            && self.by_minute.is_empty()
            && self.by_hour.is_empty()
            && self.by_day.is_empty()
            && self.by_month_day.is_empty()
            && self.by_year_day.is_empty()
            && self.by_week_no.is_empty()
            && self.by_month.is_empty()
        {
            return Err("BYSETPOS needs another BYxxx part to pick from (RFC 5545 §3.3.10)".into());
        }
        if freq == Frequency::Hourly {
            // Hours on some days of the month or year can lie years apart;
            // say those with DAILY and BYHOUR, which expands in bounded time.
            for (present, key) in [
                (!self.by_month_day.is_empty(), "BYMONTHDAY"),
                (!self.by_year_day.is_empty(), "BYYEARDAY"),
                (!self.by_set_pos.is_empty(), "BYSETPOS"),
            ] {
                if present {
                    return Err(format!(
                        "{key} with FREQ=HOURLY is not supported; write FREQ=DAILY with BYHOUR for hours on chosen days"
                    ));
                }
            }
        }
        let per_day = self.per_day(freq);
        if per_day > MAX_OCCURRENCES_PER_DAY {
            return Err(format!(
                "the rule starts up to {per_day} occurrences a day; freezes and windows may start at most {MAX_OCCURRENCES_PER_DAY} a day (BYHOUR × BYMINUTE × BYSECOND)"
            ));
        }
        Ok(freq)
    }

    /// The most occurrences the rule can start in one day.
    fn per_day(&self, freq: Frequency) -> usize {
        let n = |v: &Vec<i32>| v.len().max(1);
        let hours = match (freq, self.by_hour.is_empty()) {
            (Frequency::Hourly, true) => {
                let every = self.interval.unwrap_or(1) as usize;
                24usize.div_ceil(every.max(1))
            }
            _ => n(&self.by_hour),
        };
        hours
            .saturating_mul(n(&self.by_minute))
            .saturating_mul(n(&self.by_second))
    }

    /// The rule for `rrule`, with the parts that RFC 5545 fills in from
    /// DTSTART written out, so the rule means the same from any later start
    /// (expansion starts near the range asked about, not at DTSTART). No
    /// COUNT or UNTIL: those bound the series, which [`RecurrenceRule`] does.
    fn normalized(&self, freq: Frequency, dtstart: NaiveDateTime) -> String {
        use chrono::Timelike;
        let list = |v: &[i32]| v.iter().map(i32::to_string).collect::<Vec<_>>().join(",");
        let mut out = vec![format!("FREQ={}", freq.as_str())];
        if let Some(n) = self.interval {
            out.push(format!("INTERVAL={n}"));
        }
        out.push(format!(
            "WKST={}",
            weekday_code(self.wkst.unwrap_or(chrono::Weekday::Mon))
        ));
        let no_day_parts = self.by_week_no.is_empty()
            && self.by_year_day.is_empty()
            && self.by_month_day.is_empty()
            && self.by_day.is_empty();
        let mut by_month = self.by_month.clone();
        let mut by_month_day = self.by_month_day.clone();
        let mut by_day = self.by_day.clone();
        if no_day_parts {
            match freq {
                Frequency::Yearly => {
                    if by_month.is_empty() {
                        by_month.push(dtstart.month() as i32);
                    }
                    by_month_day.push(dtstart.day() as i32);
                }
                Frequency::Monthly => by_month_day.push(dtstart.day() as i32),
                Frequency::Weekly => by_day.push((0, dtstart.weekday())),
                Frequency::Daily | Frequency::Hourly => {}
            }
        }
        let by_hour = if self.by_hour.is_empty() && freq != Frequency::Hourly {
            vec![dtstart.hour() as i32]
        } else {
            self.by_hour.clone()
        };
        let by_minute = if self.by_minute.is_empty() {
            vec![dtstart.minute() as i32]
        } else {
            self.by_minute.clone()
        };
        let by_second = if self.by_second.is_empty() {
            vec![dtstart.second() as i32]
        } else {
            self.by_second.clone()
        };
        for (key, values) in [
            ("BYMONTH", list(&by_month)),
            ("BYWEEKNO", list(&self.by_week_no)),
            ("BYYEARDAY", list(&self.by_year_day)),
            ("BYMONTHDAY", list(&by_month_day)),
            (
                "BYDAY",
                by_day
                    .iter()
                    .map(|(n, d)| {
                        if *n == 0 {
                            weekday_code(*d).to_owned()
                        } else {
                            format!("{n}{}", weekday_code(*d))
                        }
                    })
                    .collect::<Vec<_>>()
                    .join(","),
            ),
            ("BYHOUR", list(&by_hour)),
            ("BYMINUTE", list(&by_minute)),
            ("BYSECOND", list(&by_second)),
            ("BYSETPOS", list(&self.by_set_pos)),
        ] {
            if !values.is_empty() {
                out.push(format!("{key}={values}"));
            }
        }
        out.join(";")
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
}
