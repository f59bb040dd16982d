//! An RRULE read part by part against RFC 5545 §3.3.10's MUST NOTs and the\nformat's limits.

use super::{Frequency, MAX_COUNT, MAX_INTERVAL, MAX_OCCURRENCES_PER_DAY};
use chrono::{Datelike, NaiveDateTime};

/// The parts of an RRULE value, each checked against RFC 5545 §3.3.10.
#[derive(Debug, Default, Clone)]
pub(super) struct Parts {
    pub(super) freq: Option<Frequency>,
    pub(super) interval: Option<u32>,
    pub(super) count: Option<u32>,
    pub(super) until: Option<String>,
    pub(super) by_second: Vec<i32>,
    pub(super) by_minute: Vec<i32>,
    pub(super) by_hour: Vec<i32>,
    pub(super) by_day: Vec<(i32, chrono::Weekday)>,
    pub(super) by_month_day: Vec<i32>,
    pub(super) by_year_day: Vec<i32>,
    pub(super) by_week_no: Vec<i32>,
    pub(super) by_month: Vec<i32>,
    pub(super) by_set_pos: Vec<i32>,
    pub(super) wkst: Option<chrono::Weekday>,
}

/// Whole numbers in `range`, zero refused where `signed` (BYMONTHDAY=-1 counts from the end).
pub(super) fn numbers(
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

pub(super) fn weekday(code: &str) -> Option<chrono::Weekday> {
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

pub(super) fn weekday_code(d: chrono::Weekday) -> &'static str {
    ["MO", "TU", "WE", "TH", "FR", "SA", "SU"][d.num_days_from_monday() as usize]
}

impl Parts {
    /// Reads `KEY=VALUE;…` (keys upper-case already), each key once.
    pub(super) fn read(text: &str) -> Result<Self, String> {
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
    pub(super) fn check(&self) -> Result<Frequency, String> {
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
    pub(super) fn per_day(&self, freq: Frequency) -> usize {
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
    pub(super) fn normalized(&self, freq: Frequency, dtstart: NaiveDateTime) -> String {
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
