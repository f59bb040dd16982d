//! The calendar as iCalendar (RFC 5545), for Outlook, Google Calendar and
//! Thunderbird: releases and freezes as VEVENTs with stable UIDs, recurring
//! freezes with RRULE and EXDATE in their own zone, and a VTIMEZONE for every
//! zone used. Built and written with the `icalendar` crate (escaping, line
//! folding); the VTIMEZONE observances are computed from the IANA data here.

use crate::plan::{Freeze, FreezeSchedule, Plan, Release, ReleaseStatus};
use crate::time::{TimeValue, MAX_YEAR};
use chrono::{DateTime, Datelike, Duration, NaiveDateTime, Offset, TimeZone, Utc};
use chrono_tz::Tz;
use icalendar::{Calendar, Component, Event, EventLike, Property};
use std::str::FromStr;

const PRODID: &str = "-//Relcal//Relcal release calendar//EN";
const UID_DOMAIN: &str = "relcal.dev";

fn stamp(t: DateTime<Utc>) -> String {
    t.format("%Y%m%dT%H%M%SZ").to_string()
}

fn local(t: NaiveDateTime) -> String {
    t.format("%Y%m%dT%H%M%S").to_string()
}

fn offset(seconds: i32) -> String {
    let sign = if seconds < 0 { '-' } else { '+' };
    let s = seconds.unsigned_abs();
    format!("{sign}{:02}{:02}", s / 3600, (s % 3600) / 60)
}

fn offset_at(zone: Tz, t: DateTime<Utc>) -> i32 {
    zone.offset_from_utc_datetime(&t.naive_utc())
        .fix()
        .local_minus_utc()
}

/// One change of a zone's offset: the instant, and the offsets before and after.
#[derive(Debug, Clone, Copy)]
struct Change {
    at: DateTime<Utc>,
    from: i32,
    to: i32,
}

impl Change {
    /// The change's wall-clock time in the offset before it (an observance's DTSTART).
    fn wall(&self) -> NaiveDateTime {
        self.at.naive_utc() + Duration::seconds(i64::from(self.from))
    }

    /// The ways a yearly rule can name this change's day: `-1` (the last such
    /// weekday of the month) and/or `n` (the n-th).
    fn day_rules(&self) -> Vec<i32> {
        let w = self.wall();
        let nth = (w.day() as i32 - 1) / 7 + 1;
        let last = w
            .date()
            .checked_add_signed(Duration::days(7))
            .is_none_or(|d| d.month() != w.month());
        let mut rules = vec![nth];
        if last {
            rules.push(-1);
        }
        rules
    }
}

/// Every change of `zone`'s offset in `[start, end)`, found by scanning the
/// IANA rules day by day and narrowing each change to the minute.
fn changes(zone: Tz, start: DateTime<Utc>, end: DateTime<Utc>) -> Vec<Change> {
    let mut out = Vec::new();
    let mut t = start;
    let mut current = offset_at(zone, t);
    while t < end {
        let next = t + Duration::days(1);
        let o = offset_at(zone, next);
        if o != current {
            let (mut lo, mut hi) = (t, next);
            while hi - lo > Duration::minutes(1) {
                let mid = lo + (hi - lo) / 2;
                if offset_at(zone, mid) == current {
                    lo = mid;
                } else {
                    hi = mid;
                }
            }
            // Changes happen on a whole minute: the first minute with the new offset.
            let floor = hi - Duration::seconds(hi.timestamp().rem_euclid(60));
            let at = if offset_at(zone, floor) == current {
                floor + Duration::minutes(1)
            } else {
                floor
            };
            out.push(Change {
                at,
                from: current,
                to: o,
            });
            current = o;
        }
        t = next;
    }
    out
}

/// Changes that one yearly RRULE describes: same offsets, month, weekday and
/// wall time, in consecutive years, on a day one BYDAY value names.
struct Run {
    first: Change,
    last: Change,
    rules: Vec<i32>,
    count: usize,
}

impl Run {
    fn extends(&self, c: &Change) -> bool {
        let (a, b) = (self.last.wall(), c.wall());
        self.last.from == c.from
            && self.last.to == c.to
            && b.year() == a.year() + 1
            && b.month() == a.month()
            && b.weekday() == a.weekday()
            && b.time() == a.time()
            && c.day_rules().iter().any(|r| self.rules.contains(r))
    }
}

/// A VTIMEZONE for `zone`, valid from the start of `from_year` for every
/// year up to [`MAX_YEAR`] (RFC 5545 §3.6.5: valid information for all
/// recurrence instances). Offset changes that recur each year on the same
/// rule become one STANDARD or DAYLIGHT observance with a yearly RRULE, open
/// ended when it is still in force at the end of the tables, so a client that
/// reads the VTIMEZONE body places every occurrence right, also decades on.
fn vtimezone(zone: Tz, from_year: i32) -> String {
    let mut lines = vec![
        "BEGIN:VTIMEZONE".to_owned(),
        format!("TZID:{}", zone.name()),
    ];
    let year_start = |y: i32| {
        Utc.with_ymd_and_hms(y, 1, 1, 0, 0, 0)
            .single()
            .unwrap_or(DateTime::<Utc>::UNIX_EPOCH)
    };
    let (start, end) = (
        year_start(from_year),
        crate::time::end_of_supported_years().and_utc(),
    );
    let all = changes(zone, start, end);
    // Daylight time is the larger of two offsets a zone switches between.
    let dst = |o: i32| {
        all.iter()
            .any(|c| c.from.max(c.to) == o && c.from.min(c.to) != o)
    };
    let kind = |o: i32| if dst(o) { "DAYLIGHT" } else { "STANDARD" };
    // The offset in force at the start, as an observance of its own.
    let first = offset_at(zone, start);
    lines.extend([
        format!("BEGIN:{}", kind(first)),
        format!(
            "DTSTART:{}",
            local(start.naive_utc() + Duration::seconds(i64::from(first)))
        ),
        format!("TZOFFSETFROM:{}", offset(first)),
        format!("TZOFFSETTO:{}", offset(first)),
        format!("END:{}", kind(first)),
    ]);
    // Group the changes into yearly runs.
    let mut runs: Vec<Run> = Vec::new();
    let mut open: Vec<usize> = Vec::new();
    for c in &all {
        match open.iter().position(|&i| runs[i].extends(c)) {
            Some(k) => {
                let run = &mut runs[open[k]];
                let rules = c.day_rules();
                run.rules.retain(|r| rules.contains(r));
                run.last = *c;
                run.count += 1;
            }
            None => {
                // A change of this kind that breaks its run closes it.
                open.retain(|&i| {
                    let r = &runs[i];
                    !(r.last.from == c.from && r.last.to == c.to)
                });
                runs.push(Run {
                    first: *c,
                    last: *c,
                    rules: c.day_rules(),
                    count: 1,
                });
                open.push(runs.len() - 1);
            }
        }
    }
    let day_codes = ["MO", "TU", "WE", "TH", "FR", "SA", "SU"];
    for run in &runs {
        let name = kind(run.first.to);
        lines.extend([
            format!("BEGIN:{name}"),
            format!("DTSTART:{}", local(run.first.wall())),
            format!("TZOFFSETFROM:{}", offset(run.first.from)),
            format!("TZOFFSETTO:{}", offset(run.first.to)),
        ]);
        if run.count > 1 {
            let w = run.first.wall();
            // Prefer "the last Sunday" where it fits: that is how zones say it.
            let rule = if run.rules.contains(&-1) {
                -1
            } else {
                run.rules.first().copied().unwrap_or(1)
            };
            let mut rrule = format!(
                "FREQ=YEARLY;BYMONTH={};BYDAY={rule}{}",
                w.month(),
                day_codes[w.weekday().num_days_from_monday() as usize]
            );
            // Still in force when the tables end: open ended, as the zone's rule is.
            if run.last.wall().year() < MAX_YEAR {
                rrule.push_str(&format!(";UNTIL={}", stamp(run.last.at)));
            }
            lines.push(format!("RRULE:{rrule}"));
        }
        lines.push(format!("END:{name}"));
    }
    lines.push("END:VTIMEZONE".to_owned());
    lines.join("\r\n") + "\r\n"
}

fn release_event(plan: &Plan, r: &Release, now: DateTime<Utc>) -> Event {
    let team = plan
        .teams
        .iter()
        .find(|t| t.id == r.team)
        .map_or(r.team.as_str(), |t| t.name.as_str());
    let env = plan
        .environments
        .iter()
        .find(|e| e.id == r.environment)
        .map_or(r.environment.as_str(), |e| e.name.as_str());
    let mut description = format!(
        "{team} · {env} · {}\nServices: {}",
        r.status.as_str(),
        r.services
            .iter()
            .map(|s| s.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    );
    if let Some(owner) = &r.owner {
        description.push_str(&format!("\nRun by {owner}"));
    }
    if let Some(version) = &r.version {
        description.push_str(&format!("\nVersion {version}"));
    }
    let status = match r.status {
        ReleaseStatus::Cancelled => "CANCELLED",
        ReleaseStatus::Draft => "TENTATIVE",
        _ => "CONFIRMED",
    };
    Event::new()
        .uid(&format!("release-{}@{UID_DOMAIN}", r.id))
        .timestamp(now)
        .summary(&format!("Release: {}", r.title))
        .description(&description)
        .starts(r.start.utc)
        .ends(r.end.utc)
        .add_property("STATUS", status)
        .categories(["Release", team, env])
        .done()
}

fn freeze_event(plan: &Plan, f: &Freeze, now: DateTime<Utc>) -> Event {
    let zone = f.zone(plan.timezone);
    let mut description = match &f.reason {
        Some(reason) => format!("{reason}\n"),
        None => String::new(),
    };
    let scope = [
        (
            "teams",
            f.scope.teams.iter().map(|x| x.as_str()).collect::<Vec<_>>(),
        ),
        (
            "services",
            f.scope.services.iter().map(|x| x.as_str()).collect(),
        ),
        (
            "environments",
            f.scope.environments.iter().map(|x| x.as_str()).collect(),
        ),
    ];
    let scoped: Vec<String> = scope
        .iter()
        .filter(|(_, ids)| !ids.is_empty())
        .map(|(label, ids)| format!("{label}: {}", ids.join(", ")))
        .collect();
    description.push_str(&if scoped.is_empty() {
        "Applies to everyone".to_owned()
    } else {
        format!("Applies to {}", scoped.join("; "))
    });
    let mut event = Event::new();
    event
        .uid(&format!("freeze-{}@{UID_DOMAIN}", f.id))
        .timestamp(now)
        .summary(&format!("Freeze ({}): {}", f.severity.as_str(), f.name))
        .description(&description)
        .add_property("TRANSP", "OPAQUE")
        .categories(["Freeze", f.severity.as_str()]);
    match &f.schedule {
        FreezeSchedule::Once { start, end } => {
            event.starts(start.utc).ends(end.utc);
        }
        FreezeSchedule::Recurring(r) => {
            let tzid = zone.name();
            // UTC needs no VTIMEZONE: its times are written `…Z`.
            let time = |wall: NaiveDateTime, name: &str| {
                if zone == Tz::UTC {
                    Property::new(name, format!("{}Z", local(wall)))
                } else {
                    let mut p = Property::new(name, local(wall));
                    p.add_parameter("TZID", tzid);
                    p
                }
            };
            let dtstart = r.start.wall_time(zone);
            event.append_property(time(dtstart, "DTSTART"));
            event.add_property("DURATION", r.duration.as_str());
            // RFC 5545 counts DTSTART as the first instance; the engine only
            // when the rule produces it. Where it does not, an EXDATE takes
            // it out (and COUNT, which would count it, counts one more).
            let on_rule = r.starts_on_rule(zone);
            event.add_property("RRULE", ics_rule(r.rule.as_str(), zone, on_rule));
            if !on_rule {
                event.append_multi_property(time(dtstart, "EXDATE"));
            }
            for ex in &r.exdates {
                event.append_multi_property(time(ex.wall_time(zone), "EXDATE"));
            }
        }
    }
    event.done()
}

/// The rule as iCalendar wants it: an UNTIL in local time (as our plan files
/// may write it) becomes UTC, which RFC 5545 requires with a TZID start; COUNT
/// counts one more when DTSTART is not on the rule (see `freeze_event`).
fn ics_rule(rule: &str, zone: Tz, on_rule: bool) -> String {
    rule.split(';')
        .map(|part| match part.split_once('=') {
            Some((k, v)) if k.eq_ignore_ascii_case("UNTIL") && !v.ends_with(['Z', 'z']) => {
                let parsed = NaiveDateTime::parse_from_str(v, "%Y%m%dT%H%M%S").or_else(|_| {
                    chrono::NaiveDate::parse_from_str(v, "%Y%m%d")
                        .map(|d| d.and_hms_opt(23, 59, 59).unwrap_or_default())
                });
                match parsed {
                    Ok(t) => format!("UNTIL={}", stamp(crate::resolve_local(t, zone))),
                    Err(_) => part.to_owned(),
                }
            }
            Some((k, v)) if k.eq_ignore_ascii_case("COUNT") && !on_rule => match v.parse::<u32>() {
                Ok(n) => format!("COUNT={}", n.saturating_add(1)),
                Err(_) => part.to_owned(),
            },
            _ => part.to_owned(),
        })
        .collect::<Vec<_>>()
        .join(";")
}

/// The whole calendar as an iCalendar document (CRLF lines). `now` is the
/// DTSTAMP; UIDs are stable across exports, so subscribers update in place.
pub fn plan_to_ics(plan: &Plan, now: DateTime<Utc>) -> String {
    let mut cal = Calendar::empty();
    cal.append_property(Property::new("VERSION", "2.0"))
        .append_property(Property::new("PRODID", PRODID))
        .append_property(Property::new("CALSCALE", "GREGORIAN"))
        .append_property(Property::new("METHOD", "PUBLISH"))
        .name("Relcal");
    // Zones of recurring freezes need a VTIMEZONE from their first start on.
    let mut zones: std::collections::BTreeMap<&str, i32> = std::collections::BTreeMap::new();
    for f in &plan.freezes {
        if let FreezeSchedule::Recurring(r) = &f.schedule {
            let zone = f.zone(plan.timezone);
            if zone != Tz::UTC {
                let year = r.start.wall_time(zone).year();
                let first = zones.entry(zone.name()).or_insert(year);
                *first = (*first).min(year);
            }
        }
    }
    for f in &plan.freezes {
        cal.push(freeze_event(plan, f, now));
    }
    for r in &plan.releases {
        cal.push(release_event(plan, r, now));
    }
    let text = cal.done().to_string();
    // VTIMEZONEs are written here rather than through the crate, which would
    // give them the UID and DTSTAMP an event has (RFC 5545 allows neither);
    // they go before the first event.
    let timezones: String = zones
        .iter()
        .filter_map(|(z, year)| Tz::from_str(z).ok().map(|tz| vtimezone(tz, *year)))
        .collect();
    match text.find("BEGIN:VEVENT") {
        Some(at) => format!("{}{timezones}{}", &text[..at], &text[at..]),
        None => text.replace("END:VCALENDAR", &format!("{timezones}END:VCALENDAR")),
    }
}

/// A freeze to create from an imported calendar's event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImportedFreeze {
    /// From the event's UID, made safe as an id.
    pub id: String,
    /// The event's summary.
    pub name: String,
    /// First day, `YYYY-MM-DD` (or a local time `YYYY-MM-DDTHH:MM:SS`).
    pub start: String,
    /// The day after the last (exclusive), or a local time.
    pub end: String,
}

/// The events of an .ics file (a holiday calendar) as one-off freezes. All-day
/// events cover their days; timed events keep their times (UTC). Events
/// without a start are skipped and counted in the error list.
pub fn freezes_from_ics(text: &str) -> Result<(Vec<ImportedFreeze>, Vec<String>), String> {
    let cal = Calendar::from_str(text).map_err(|e| format!("not an iCalendar file: {e}"))?;
    let mut out = Vec::new();
    let mut skipped = Vec::new();
    for (i, event) in cal.events().enumerate() {
        let name = event.get_summary().unwrap_or("Holiday").trim().to_owned();
        let uid = event
            .get_uid()
            .map_or_else(|| format!("event-{i}"), str::to_owned);
        let id: String = uid
            .chars()
            .take_while(|c| *c != '@')
            .map(|c| {
                if c.is_ascii_alphanumeric() || c == '-' {
                    c.to_ascii_lowercase()
                } else {
                    '-'
                }
            })
            .collect();
        let Some(start) = event.get_start() else {
            skipped.push(format!("event {i} ({name}) has no DTSTART"));
            continue;
        };
        let (s, e) = match start {
            icalendar::DatePerhapsTime::Date(d) => {
                let end = match event.get_end() {
                    Some(icalendar::DatePerhapsTime::Date(e)) if e > d => e,
                    _ => d + Duration::days(1),
                };
                (d.to_string(), end.to_string())
            }
            icalendar::DatePerhapsTime::DateTime(dt) => {
                let Some(start) = to_utc(&dt) else {
                    skipped.push(format!("event {i} ({name}) has a start in an unknown zone"));
                    continue;
                };
                let end = match event.get_end() {
                    Some(icalendar::DatePerhapsTime::DateTime(e)) => to_utc(&e),
                    _ => None,
                }
                .filter(|e| *e > start)
                .unwrap_or(start + Duration::days(1));
                (
                    start.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
                    end.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
                )
            }
        };
        out.push(ImportedFreeze {
            id: format!("holiday-{id}"),
            name,
            start: s,
            end: e,
        });
    }
    Ok((out, skipped))
}

/// An iCalendar date-time as an instant: UTC as is, a TZID in that zone,
/// floating as UTC.
fn to_utc(dt: &icalendar::CalendarDateTime) -> Option<DateTime<Utc>> {
    match dt {
        icalendar::CalendarDateTime::Utc(t) => Some(*t),
        icalendar::CalendarDateTime::Floating(n) => Some(Utc.from_utc_datetime(n)),
        icalendar::CalendarDateTime::WithTimezone { date_time, tzid } => Tz::from_str(tzid)
            .ok()
            .map(|zone| crate::resolve_local(*date_time, zone)),
    }
}

/// An all-day `YYYY-MM-DD` as a plan local time at midnight.
pub fn day_start(day: &str) -> String {
    match TimeValue::parse(day) {
        Ok(_) => day.to_owned(),
        Err(_) => format!("{day}T00:00:00"),
    }
}
