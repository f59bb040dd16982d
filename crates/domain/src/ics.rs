//! The calendar as iCalendar (RFC 5545), for Outlook, Google Calendar and
//! Thunderbird: releases and freezes as VEVENTs with stable UIDs, recurring
//! freezes with RRULE and EXDATE in their own zone, and a VTIMEZONE for every
//! zone used. Built and written with the `icalendar` crate (escaping, line
//! folding); the VTIMEZONE observances are computed from the IANA data here.

use crate::plan::{Freeze, FreezeSchedule, Plan, Release, ReleaseStatus};
use crate::time::TimeValue;
use chrono::{DateTime, Datelike, Duration, NaiveDateTime, Offset, TimeZone, Utc};
use chrono_tz::Tz;
use icalendar::{Calendar, Component, Event, EventLike, Property};
use std::collections::BTreeSet;
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

/// A VTIMEZONE for `zone` with one observance per offset change in
/// `[from_year, to_year]` (and the offset in force before them), found by
/// scanning the IANA rules day by day and narrowing to the minute.
fn vtimezone(zone: Tz, from_year: i32, to_year: i32) -> String {
    let mut lines = vec![
        "BEGIN:VTIMEZONE".to_owned(),
        format!("TZID:{}", zone.name()),
    ];
    let start = Utc
        .with_ymd_and_hms(from_year, 1, 1, 0, 0, 0)
        .single()
        .unwrap_or_else(Utc::now);
    let end = Utc
        .with_ymd_and_hms(to_year + 1, 1, 1, 0, 0, 0)
        .single()
        .unwrap_or_else(Utc::now);
    let mut observances = Vec::new();
    let mut t = start;
    let mut current = offset_at(zone, t);
    while t < end {
        let next = t + Duration::days(1);
        let o = offset_at(zone, next);
        if o != current {
            // The change lies in (t, next]: narrow it to the minute.
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
            observances.push((at, current, o));
            current = o;
        }
        t = next;
    }
    let dst_of = |o: i32, others: &[(DateTime<Utc>, i32, i32)]| {
        // Daylight time is the larger of the offsets in use.
        others
            .iter()
            .any(|(_, from, to)| *from.max(to) == o && *from.min(to) != o)
    };
    if observances.is_empty() {
        let o = offset_at(zone, start);
        lines.extend([
            "BEGIN:STANDARD".to_owned(),
            format!(
                "DTSTART:{}",
                local(start.naive_utc() + Duration::seconds(i64::from(o)))
            ),
            format!("TZOFFSETFROM:{}", offset(o)),
            format!("TZOFFSETTO:{}", offset(o)),
            "END:STANDARD".to_owned(),
        ]);
    }
    for (at, from, to) in &observances {
        let kind = if dst_of(*to, &observances) {
            "DAYLIGHT"
        } else {
            "STANDARD"
        };
        // DTSTART of an observance is local time in the offset before it.
        let wall = at.naive_utc() + Duration::seconds(i64::from(*from));
        lines.extend([
            format!("BEGIN:{kind}"),
            format!("DTSTART:{}", local(wall)),
            format!("TZOFFSETFROM:{}", offset(*from)),
            format!("TZOFFSETTO:{}", offset(*to)),
            format!("END:{kind}"),
        ]);
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
            let mut start = Property::new("DTSTART", local(r.start.wall_time(zone)));
            start.add_parameter("TZID", tzid);
            event.append_property(start);
            event.add_property("DURATION", r.duration.as_str());
            event.add_property("RRULE", ics_rule(r.rule.as_str(), zone));
            for ex in &r.exdates {
                let mut p = Property::new("EXDATE", local(ex.wall_time(zone)));
                p.add_parameter("TZID", tzid);
                event.append_multi_property(p);
            }
        }
    }
    event.done()
}

/// The rule as iCalendar wants it: an UNTIL in local time (as our plan files
/// may write it) becomes UTC, which RFC 5545 requires with a TZID start.
fn ics_rule(rule: &str, zone: Tz) -> String {
    rule.split(';')
        .map(|part| match part.split_once('=') {
            Some((k, v)) if k.eq_ignore_ascii_case("UNTIL") && !v.ends_with('Z') => {
                let parsed = NaiveDateTime::parse_from_str(v, "%Y%m%dT%H%M%S").or_else(|_| {
                    chrono::NaiveDate::parse_from_str(v, "%Y%m%d")
                        .map(|d| d.and_hms_opt(23, 59, 59).unwrap_or_default())
                });
                match parsed {
                    Ok(t) => format!("UNTIL={}", stamp(crate::resolve_local(t, zone))),
                    Err(_) => part.to_owned(),
                }
            }
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
    // Zones of recurring freezes need a VTIMEZONE over the years they cover.
    let mut zones = BTreeSet::new();
    // Endless rules are described for twenty years ahead.
    let (mut first, mut last) = (now.year(), now.year() + 20);
    for f in &plan.freezes {
        if let FreezeSchedule::Recurring(r) = &f.schedule {
            let zone = f.zone(plan.timezone);
            if zone != Tz::UTC {
                zones.insert(zone.name());
            }
            let start_year = r.start.wall_time(zone).year();
            first = first.min(start_year);
            last = last.max(start_year + 20);
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
        .filter_map(|z| Tz::from_str(z).ok())
        .map(|tz| vtimezone(tz, first, last.min(first + 30)))
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
