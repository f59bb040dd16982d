//! Daylight-saving warnings (docs/dst.md): freeze occurrences whose local
//! start falls in a gap (the time does not exist) or a fold (it happens
//! twice), with what actually happens, and deploy windows written in UTC
//! whose local time moves for their team across the year.

use crate::conflicts::human_time;
use crate::plan::{FreezeSchedule, Plan};
use crate::recurrence::Recurrence;
use crate::time::{resolve_local, TimeValue};
use chrono::{DateTime, Duration, LocalResult, NaiveDateTime, Offset, TimeZone, Timelike, Utc};
use chrono_tz::Tz;

/// At most this many warnings per freeze or window (a daily freeze at 02:30
/// meets a gap once and a fold once a year).
const PER_SERIES: usize = 8;

/// One warning.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DstWarning {
    /// `dst.gap`, `dst.fold` or `window.dst_drift`.
    pub code: &'static str,
    /// The freeze's id, or the team's for a window.
    pub object: String,
    /// The instant concerned (the occurrence's start as it resolves).
    pub at: DateTime<Utc>,
    /// What happens, for people.
    pub message: String,
}

fn wall_words(t: NaiveDateTime) -> String {
    t.format("%-d %b %Y %H:%M").to_string()
}

/// What a local start in `zone` does: `None` when it is an ordinary time.
fn local_warning(
    what: &str,
    wall: NaiveDateTime,
    zone: Tz,
) -> Option<(&'static str, DateTime<Utc>, String)> {
    match zone.from_local_datetime(&wall) {
        LocalResult::Single(_) => None,
        LocalResult::None => {
            let at = resolve_local(wall, zone);
            let local = at.with_timezone(&zone).naive_local();
            Some((
                "dst.gap",
                at,
                format!(
                    "{what}: {} does not exist in {} (the clocks go forward); this occurrence starts at {}",
                    wall_words(wall),
                    zone.name(),
                    local.format("%H:%M")
                ),
            ))
        }
        LocalResult::Ambiguous(a, b) => {
            let (first, second) = if a <= b { (a, b) } else { (b, a) };
            Some((
                "dst.fold",
                first.to_utc(),
                format!(
                    "{what}: {} happens twice in {} (the clocks go back); this occurrence starts at the first, {}, not at {}",
                    wall_words(wall),
                    zone.name(),
                    human_time(first.to_utc(), zone),
                    human_time(second.to_utc(), zone)
                ),
            ))
        }
    }
}

fn series_warnings(
    out: &mut Vec<DstWarning>,
    object: &str,
    what: &str,
    rec: &Recurrence,
    zone: Tz,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) {
    // Only a start whose wall time can meet a change is worth expanding
    // for: changes happen between 00:00 and 04:00 local in the zones that
    // have them (and a gap or fold is at most a few hours long).
    let mut found = 0;
    for o in rec.occurrences_between(zone, from, to, 4000) {
        if found >= PER_SERIES {
            break;
        }
        if let Some((code, at, message)) = local_warning(what, o.wall_start, zone) {
            out.push(DstWarning {
                code,
                object: object.to_owned(),
                at,
                message,
            });
            found += 1;
        }
    }
}

/// The zone's offsets at the start of January and of July of `at`'s year,
/// in seconds east of UTC.
fn seasons(zone: Tz, year: i32) -> Option<(i32, i32)> {
    let at = |month| {
        Utc.with_ymd_and_hms(year, month, 1, 12, 0, 0)
            .single()
            .map(|t| {
                zone.offset_from_utc_datetime(&t.naive_utc())
                    .fix()
                    .local_minus_utc()
            })
    };
    Some((at(1)?, at(7)?))
}

/// Every daylight-saving warning of `plan` for occurrences in `[from, to)`.
pub fn dst_warnings(plan: &Plan, from: DateTime<Utc>, to: DateTime<Utc>) -> Vec<DstWarning> {
    let mut out = Vec::new();
    for f in &plan.freezes {
        let zone = f.zone(plan.timezone);
        let what = format!("{} ({})", f.name, f.id);
        match &f.schedule {
            FreezeSchedule::Recurring(rec) => {
                series_warnings(&mut out, f.id.as_str(), &what, rec, zone, from, to);
            }
            FreezeSchedule::Once { start, end } => {
                for (t, part) in [(start, "start"), (end, "end")] {
                    if let TimeValue::Local(wall) = t.value {
                        if let Some((code, at, message)) =
                            local_warning(&format!("{what} {part}"), wall, zone)
                        {
                            out.push(DstWarning {
                                code,
                                object: f.id.to_string(),
                                at,
                                message,
                            });
                        }
                    }
                }
            }
        }
    }
    for team in &plan.teams {
        let team_zone = team.timezone.unwrap_or(plan.timezone);
        for (i, w) in team.allowed_windows.iter().enumerate() {
            let zone = w.timezone.unwrap_or(team_zone);
            let what = format!("{} deploy window {}", team.name, i + 1);
            series_warnings(
                &mut out,
                team.id.as_str(),
                &what,
                &w.recurrence,
                zone,
                from,
                to,
            );
            // A window in a fixed zone (UTC or any zone without daylight
            // saving) moves on the wall clock of a team whose zone has it.
            let year = chrono::Datelike::year(&from);
            let (Some((w_jan, w_jul)), Some((t_jan, t_jul))) =
                (seasons(zone, year), seasons(team_zone, year))
            else {
                continue;
            };
            if w.timezone.is_some() && zone != team_zone && w_jan - w_jul != t_jan - t_jul {
                let start = w.recurrence.start.wall_time(zone);
                let local = |offset: i32, window: i32| {
                    let t = start + Duration::seconds(i64::from(offset - window));
                    format!("{:02}:{:02}", t.hour(), t.minute())
                };
                out.push(DstWarning {
                    code: "window.dst_drift",
                    object: team.id.to_string(),
                    at: from,
                    message: format!(
                        "{what} is written in {} at {}: in {}, the team's zone, it opens at {} in January and {} in July",
                        zone.name(),
                        start.format("%H:%M"),
                        team_zone.name(),
                        local(t_jan, w_jan),
                        local(t_jul, w_jul)
                    ),
                });
            }
        }
    }
    out.sort_by(|a, b| (a.at, a.code, &a.object).cmp(&(b.at, b.code, &b.object)));
    out
}
