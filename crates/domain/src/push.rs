//! Relcal's freezes as cron patterns, for the systems that enforce freezes
//! on their own: GitLab deploy freeze periods (a start and an end pattern in
//! a zone) and Argo CD sync windows (a start pattern and a length).
//!
//! A translation is only given when it is exact: the patterns are read back
//! (`freeze_from_cron`, which follows cron's own times across
//! daylight-saving changes) and their periods compared with the freeze's for
//! a year ahead. Anything else is refused with the reason.

use crate::cron::freeze_from_cron;
use crate::plan::{Freeze, FreezeSchedule};
use crate::recurrence::{Recurrence, RecurrenceRule};
use crate::time::{Interval, TimeValue};
use crate::PlanDuration;
use chrono::{DateTime, Datelike, Duration, NaiveDateTime, TimeZone, Timelike, Utc};
use chrono_tz::Tz;

/// How far ahead a translation is compared with the freeze.
const CHECKED_DAYS: i64 = 366;
/// At most this many periods are compared (a daily freeze for a year).
const CHECKED_PERIODS: usize = 800;

/// A freeze as two cron patterns in a zone.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CronPeriod {
    /// When each freeze starts (`minute hour day-of-month month day-of-week`).
    pub start: String,
    /// When each freeze ends.
    pub end: String,
    /// The zone both patterns are read in.
    pub zone: Tz,
    /// True for a one-off freeze: its patterns name a date, which cron
    /// repeats every year, so the period must be removed once it has ended
    /// (the next push does).
    pub one_off: bool,
    /// Each freeze's length in real time, when it is the same for every one
    /// in the year checked (what a sync window needs).
    pub fixed_length: Option<Duration>,
}

fn cron_weekday(code: &str) -> Option<u32> {
    Some(match code {
        "SU" => 0,
        "MO" => 1,
        "TU" => 2,
        "WE" => 3,
        "TH" => 4,
        "FR" => 5,
        "SA" => 6,
        _ => return None,
    })
}

/// The rule's parts as `(key, value)`, upper-cased.
fn parts(rule: &str) -> Vec<(String, String)> {
    rule.split(';')
        .filter(|p| !p.is_empty())
        .filter_map(|p| p.split_once('='))
        .map(|(k, v)| (k.trim().to_ascii_uppercase(), v.trim().to_ascii_uppercase()))
        .collect()
}

fn list(values: &[u32]) -> String {
    values
        .iter()
        .map(u32::to_string)
        .collect::<Vec<_>>()
        .join(",")
}

/// The day-of-month, month and day-of-week fields of a rule's starts.
fn date_fields(rule: &str, dtstart: NaiveDateTime) -> Result<[String; 3], String> {
    let mut freq = None;
    let (mut by_day, mut by_month_day, mut by_month) = (None, None, None);
    for (k, v) in parts(rule) {
        match k.as_str() {
            "FREQ" => freq = Some(v),
            "INTERVAL" if v == "1" => {}
            "INTERVAL" => {
                return Err(format!(
                    "it repeats every {v} periods (INTERVAL={v}), which cron cannot count"
                ))
            }
            "COUNT" | "UNTIL" => {
                return Err(format!("it ends ({k}); a cron pattern repeats for ever"))
            }
            "WKST" => {}
            "BYDAY" => {
                let mut days = Vec::new();
                for d in v.split(',') {
                    let Some(n) = cron_weekday(d) else {
                        return Err(format!(
                            "BYDAY={v} numbers its weekdays, which cron cannot say"
                        ));
                    };
                    days.push(n);
                }
                days.sort_unstable();
                days.dedup();
                by_day = Some(days);
            }
            "BYMONTHDAY" => {
                let mut days = Vec::new();
                for d in v.split(',') {
                    match d.parse::<u32>() {
                        Ok(n) if (1..=31).contains(&n) => days.push(n),
                        _ => {
                            return Err(format!(
                                "BYMONTHDAY={v} counts from the end of the month, which cron cannot say"
                            ))
                        }
                    }
                }
                days.sort_unstable();
                days.dedup();
                by_month_day = Some(days);
            }
            "BYMONTH" => {
                let mut months = Vec::new();
                for m in v.split(',') {
                    months.push(m.parse::<u32>().map_err(|_| format!("BYMONTH={v}"))?);
                }
                months.sort_unstable();
                months.dedup();
                by_month = Some(months);
            }
            other => return Err(format!("{other} has no cron equivalent")),
        }
    }
    if by_day.is_some() && by_month_day.is_some() {
        return Err(
            "it names both weekdays and days of the month, which cron would read as either".into(),
        );
    }
    let star = || "*".to_owned();
    let dow = |days: &Option<Vec<u32>>| days.as_deref().map_or_else(star, list);
    let month = by_month.as_deref().map_or_else(star, list);
    Ok(match freq.as_deref() {
        Some("DAILY") => [
            by_month_day.as_deref().map_or_else(star, list),
            month,
            dow(&by_day),
        ],
        Some("WEEKLY") => {
            let days = by_day.unwrap_or_else(|| vec![dtstart.weekday().num_days_from_sunday()]);
            [star(), month, list(&days)]
        }
        Some("MONTHLY") => match by_day {
            Some(days) => [star(), month, list(&days)],
            None => [
                list(&by_month_day.unwrap_or_else(|| vec![dtstart.day()])),
                month,
                star(),
            ],
        },
        Some("YEARLY") => {
            let months = by_month.map_or_else(|| dtstart.month().to_string(), |m| list(&m));
            match by_day {
                Some(days) => [star(), months, list(&days)],
                None => [
                    list(&by_month_day.unwrap_or_else(|| vec![dtstart.day()])),
                    months,
                    star(),
                ],
            }
        }
        Some(other) => {
            return Err(format!(
                "FREQ={other}: cron patterns here repeat at most daily"
            ))
        }
        None => return Err("the rule has no FREQ".into()),
    })
}

/// Shifts a day-of-month or day-of-week field by `days`.
fn shifted(field: &str, days: u32, modulo: Option<u32>) -> Result<String, String> {
    if field == "*" || days == 0 {
        return Ok(field.to_owned());
    }
    let mut out = Vec::new();
    for v in field.split(',') {
        let n: u32 = v.parse().map_err(|_| format!("`{field}`"))?;
        let m = match modulo {
            Some(m) => (n + days) % m,
            None if n + days <= 28 => n + days,
            None => {
                return Err(
                    "it ends in the next month on some days, which one cron pattern cannot say"
                        .into(),
                )
            }
        };
        out.push(m);
    }
    out.sort_unstable();
    out.dedup();
    Ok(list(&out))
}

fn wall_of(t: &TimeValue, zone: Tz) -> NaiveDateTime {
    t.wall_time(zone)
}

fn fixed_length(periods: &[Interval]) -> Option<Duration> {
    let first = periods.first().map(|p| p.end - p.start)?;
    periods
        .iter()
        .all(|p| p.end - p.start == first)
        .then_some(first)
}

/// The freeze as cron patterns, or `Ok(None)` for a one-off freeze that has
/// ended by `now` (nothing to enforce), or why no pattern says it exactly.
pub fn freeze_as_cron(
    f: &Freeze,
    plan_zone: Tz,
    now: DateTime<Utc>,
) -> Result<Option<CronPeriod>, String> {
    let zone = f.zone(plan_zone);
    let horizon = Interval {
        start: now,
        end: now + Duration::days(CHECKED_DAYS),
    };
    match &f.schedule {
        FreezeSchedule::Once { start, end } => {
            if end.utc <= now {
                return Ok(None);
            }
            if end.utc - start.utc > Duration::days(365) {
                return Err(
                    "it lasts more than a year, and a date in cron repeats every year".into(),
                );
            }
            if start.utc > horizon.end {
                return Err(
                    "it starts more than a year ahead, and a date in cron repeats every year"
                        .into(),
                );
            }
            let (s, e) = (wall_of(&start.value, zone), wall_of(&end.value, zone));
            if s.second() != 0 || e.second() != 0 {
                return Err("it starts or ends between whole minutes".into());
            }
            // The wall times must name the instants (not a daylight-saving gap or fold).
            let single = |t: NaiveDateTime| {
                matches!(zone.from_local_datetime(&t), chrono::LocalResult::Single(_))
            };
            if !single(s) || !single(e) {
                return Err(format!(
                    "its start or end falls in a daylight-saving change in {}, which cron reads differently",
                    zone.name()
                ));
            }
            let date = |t: NaiveDateTime| {
                format!("{} {} {} {} *", t.minute(), t.hour(), t.day(), t.month())
            };
            Ok(Some(CronPeriod {
                start: date(s),
                end: date(e),
                zone,
                one_off: true,
                fixed_length: Some(end.utc - start.utc),
            }))
        }
        FreezeSchedule::Recurring(rec) => {
            if !rec.exdates.is_empty() {
                return Err("it skips dates (exdates), which cron cannot".into());
            }
            let dtstart = rec.start.wall_time(zone);
            if dtstart.second() != 0 {
                return Err("it starts between whole minutes".into());
            }
            let exact = rec.duration.exact();
            if exact.num_seconds() % 60 != 0 {
                return Err("its length is not whole minutes".into());
            }
            let [dom, month, dow] = date_fields(rec.rule.as_str(), dtstart)?;
            let begin = i64::from(dtstart.hour() * 60 + dtstart.minute());
            let total = begin + i64::from(rec.duration.days()) * 1440 + exact.num_minutes();
            let (end_minute, shift) = (
                total % 1440,
                u32::try_from(total / 1440).unwrap_or(u32::MAX),
            );
            if shift > 27 {
                return Err("each freeze lasts four weeks or more".into());
            }
            if month != "*" && shift > 0 && dow == "*" && dom == "*" {
                return Err(
                    "it ends in the next month on some days, which one cron pattern cannot say"
                        .into(),
                );
            }
            let start = format!(
                "{} {} {dom} {month} {dow}",
                dtstart.minute(),
                dtstart.hour()
            );
            let end = format!(
                "{} {} {} {month} {}",
                end_minute % 60,
                end_minute / 60,
                shifted(&dom, shift, None)?,
                shifted(&dow, shift, Some(7))?
            );
            // Read the patterns back and compare a year of periods.
            let back = freeze_from_cron(&start, &end, Some(zone.name()), now)
                .map_err(|e| format!("as cron ({start} to {end}) it would differ: {e}"))?;
            let recurrence = Recurrence {
                start: TimeValue::Local(back.start),
                duration: PlanDuration::parse(&back.duration)?,
                rule: RecurrenceRule::parse(&back.rrule, back.start, zone)?,
                exdates: Vec::new(),
            };
            let ours: Vec<Interval> = f.periods_between(plan_zone, horizon, CHECKED_PERIODS);
            let theirs: Vec<Interval> = recurrence
                .occurrences_between(zone, horizon.start, horizon.end, CHECKED_PERIODS)
                .into_iter()
                .map(|o| o.interval)
                .collect();
            if ours != theirs {
                let first_difference = ours
                    .iter()
                    .zip(&theirs)
                    .find(|(a, b)| a != b)
                    .map(|(a, _)| a.start)
                    .or_else(|| ours.get(theirs.len()).map(|p| p.start))
                    .or_else(|| theirs.get(ours.len()).map(|p| p.start));
                return Err(format!(
                    "as cron ({start} to {end}) it would freeze other times{}",
                    first_difference.map_or_else(String::new, |t| format!(
                        " (first around {})",
                        crate::conflicts::human_time(t, zone)
                    ))
                ));
            }
            Ok(Some(CronPeriod {
                start,
                end,
                zone,
                one_off: false,
                fixed_length: fixed_length(&ours),
            }))
        }
    }
}
