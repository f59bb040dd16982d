//! Cron patterns (GitLab's deploy freeze periods) as Relcal's recurring
//! freezes: one RRULE and one length, or a refusal that says why.

use chrono::{DateTime, Datelike, NaiveDateTime, TimeZone, Utc};
use chrono_tz::Tz;
use std::fmt;
use std::str::FromStr;

/// A freeze that two cron patterns describe.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CronFreeze {
    /// The patterns' zone.
    pub zone: Tz,
    /// The first start (DTSTART), on the zone's wall clock.
    pub start: NaiveDateTime,
    /// Each freeze's length (ISO 8601, as a plan file writes it).
    pub duration: String,
    /// The RRULE of the starts.
    pub rrule: String,
}

/// Which part of a cron freeze is wrong.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CronPart {
    /// The time zone.
    Zone,
    /// The start pattern.
    Start,
    /// The end pattern.
    End,
}

/// Why two cron patterns are not one Relcal freeze.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CronError {
    /// The part at fault.
    pub part: CronPart,
    /// Why, for a person.
    pub message: String,
}

impl CronError {
    fn new(part: CronPart, message: impl fmt::Display) -> Self {
        Self {
            part,
            message: message.to_string(),
        }
    }
}

impl fmt::Display for CronError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

/// Occurrences compared between cron and the rule: over a year of daily freezes.
const SAMPLE: usize = 400;

/// The RRULE of a cron pattern, where one exists: a fixed minute and hour on
/// every day, some weekdays, some days of the month, in some months.
fn rrule_of(cron: &croner::Cron) -> Result<String, String> {
    let p = &cron.pattern;
    let minutes = p.minutes.values();
    let hours = p.hours.values();
    let seconds = p.seconds.values();
    if minutes.len() != 1 || hours.len() != 1 || seconds != [0] {
        return Err(
            "only a fixed minute and hour (e.g. `0 23 * * 5`) can start a Relcal freeze".into(),
        );
    }
    if p.days.has_modifiers() || p.days_of_week.has_modifiers() {
        return Err("`L`, `W` and `#` are not supported".into());
    }
    let months = p.months.values();
    let by_month = (months.len() < 12).then(|| {
        months
            .iter()
            .map(u16::to_string)
            .collect::<Vec<_>>()
            .join(",")
    });
    let dom = (!p.is_dom_wildcard()).then(|| p.days.values());
    let dow = (!p.is_dow_wildcard()).then(|| {
        let mut days: Vec<u16> = p.days_of_week.values().iter().map(|d| d % 7).collect();
        days.sort_unstable();
        days.dedup();
        days
    });
    const DAYS: [&str; 7] = ["SU", "MO", "TU", "WE", "TH", "FR", "SA"];
    let mut rule = match (dom, dow) {
        (Some(_), Some(_)) => {
            return Err("both a day of the month and a day of the week: cron means either, which one rule cannot say".into())
        }
        (None, Some(days)) if days.len() < 7 => format!(
            "FREQ=WEEKLY;BYDAY={}",
            days.iter()
                .map(|d| DAYS[usize::from(*d)])
                .collect::<Vec<_>>()
                .join(",")
        ),
        (Some(days), None) if days.len() < 31 => format!(
            "FREQ=MONTHLY;BYMONTHDAY={}",
            days.iter().map(u16::to_string).collect::<Vec<_>>().join(",")
        ),
        _ => "FREQ=DAILY".to_owned(),
    };
    if let Some(m) = by_month {
        rule.push_str(&format!(";BYMONTH={m}"));
    }
    Ok(rule)
}

/// A freeze given as two cron patterns (when each starts, when each ends, in
/// `zone`, UTC when `None`) as one recurring freeze: DTSTART is the latest
/// start at or before `now` (so a freeze in force now is one), each lasts
/// until the end pattern's next time. What cron cannot say as one rule with
/// one length is refused, naming the part and why. The translation is
/// checked against cron's own times for a year, across daylight-saving
/// changes.
pub fn freeze_from_cron(
    start_cron: &str,
    end_cron: &str,
    zone: Option<&str>,
    now: DateTime<Utc>,
) -> Result<CronFreeze, CronError> {
    let zone_name = zone.unwrap_or("UTC");
    let zone = chrono_tz::Tz::from_str(zone_name).map_err(|_| {
        CronError::new(
            CronPart::Zone,
            format!("`{zone_name}` is not an IANA time zone"),
        )
    })?;
    let start = croner::Cron::from_str(start_cron).map_err(|e| {
        CronError::new(
            CronPart::Start,
            format!("`{}` is not a cron pattern ({e})", start_cron),
        )
    })?;
    let end = croner::Cron::from_str(end_cron).map_err(|e| {
        CronError::new(
            CronPart::End,
            format!("`{}` is not a cron pattern ({e})", end_cron),
        )
    })?;
    let rule = rrule_of(&start).map_err(|why| CronError::new(CronPart::Start, why))?;
    let local_now = zone.from_utc_datetime(&now.naive_utc());
    let first = start
        .find_previous_occurrence(&local_now, true)
        .or_else(|_| start.find_next_occurrence(&local_now, true))
        .map_err(|e| CronError::new(CronPart::Start, format!("it never matches ({e})")))?;
    // Each occurrence's length: whole days on the wall clock, then exact
    // time (as a Relcal duration counts); one length for all.
    let mut length: Option<(i64, chrono::Duration)> = None;
    let mut sample = Vec::new();
    for s in start
        .iter_from(first, croner::Direction::Forward)
        .take(SAMPLE)
    {
        let e = end
            .find_next_occurrence(&s, false)
            .map_err(|e| CronError::new(CronPart::End, format!("it never matches ({e})")))?;
        let (sl, el) = (s.naive_local(), e.naive_local());
        let mut days = (el.date() - sl.date()).num_days();
        if sl + chrono::Duration::days(days) > el {
            days -= 1;
        }
        let l = (days, el - (sl + chrono::Duration::days(days)));
        match length {
            None => length = Some(l),
            Some(known) if known != l => {
                let hours =
                    |(d, r): (i64, chrono::Duration)| (d * 24 * 60 + r.num_minutes()) as f64 / 60.0;
                return Err(CronError::new(
                    CronPart::End,
                    format!(
                        "the freezes would last {} and {} hours: a Relcal freeze recurs with one length",
                        hours(known),
                        hours(l)
                    ),
                ));
            }
            Some(_) => {}
        }
        sample.push((sl, e.with_timezone(&Utc)));
    }
    let (days, rest) = length.unwrap_or_default();
    let mut duration = String::from("P");
    if days > 0 {
        duration.push_str(&format!("{days}D"));
    }
    let (h, m) = (rest.num_minutes() / 60, rest.num_minutes() % 60);
    if h > 0 || m > 0 || days == 0 {
        duration.push('T');
        if h > 0 || m == 0 {
            duration.push_str(&format!("{h}H"));
        }
        if m > 0 {
            duration.push_str(&format!("{m}M"));
        }
    }
    // The rule and length must give exactly cron's freezes, start and end, in
    // real time across daylight-saving changes (a check on the translation).
    let recurrence = crate::RecurrenceRule::parse(&rule, first.naive_local(), zone)
        .map_err(|e| CronError::new(CronPart::Start, e))?;
    let length =
        crate::PlanDuration::parse(&duration).map_err(|e| CronError::new(CronPart::End, e))?;
    let produced = recurrence.starts_from(first.naive_local(), sample.len());
    // The engine places no occurrence after the years it can place (MAX_YEAR).
    let placeable = sample
        .iter()
        .take_while(|(start, _)| start.year() <= crate::MAX_YEAR);
    for (i, (start_wall, end_utc)) in placeable.enumerate() {
        if produced.get(i) != Some(start_wall) {
            return Err(CronError::new(
                CronPart::Start,
                format!("`{}` has no exact RRULE equivalent", start_cron),
            ));
        }
        if length.end_from(*start_wall, zone) != *end_utc {
            return Err(CronError::new(
                CronPart::End,
                format!("the freeze from {start_wall} would end at another hour than GitLab's across a daylight-saving change"),
            ));
        }
    }
    Ok(CronFreeze {
        zone,
        start: first.naive_local(),
        duration,
        rrule: rule,
    })
}
