//! "When can I?": the earliest start of a release with a given scope, length,
//! owner and dependencies that would have no error-severity conflict
//! (`relcal slot`, `GET /v1/slot`, the release form's "Find a slot").
//!
//! The search does not step through time. The set of valid starts is an
//! intersection of unions of intervals closed on the left, so its first
//! point is the left end of one of them: the lower bound, the end of a
//! blocked period, the opening of a deploy window, or (for a length given in
//! days, which is added on the wall clock) an instant where the end jumps
//! back at a daylight-saving change. Only those candidates are tried, each
//! by binary search over the blocked periods and the windows. A property
//! test holds the answer to a minute-by-minute search that asks the conflict
//! engine itself.

use crate::conflicts::HumanTime;
use crate::duration::PlanDuration;
use crate::gate::GateQueryError;
use crate::ids::{EnvironmentId, ReleaseId, ServiceId, TeamId};
use crate::plan::{Freeze, FreezeSeverity, Plan, Release};
use crate::time::{end_of_supported_years, Interval};
use chrono::{DateTime, Days, Duration, LocalResult, NaiveDateTime, Offset, TimeZone, Utc};
use chrono_tz::Tz;

/// At most this many refused stretches are reported.
pub const MAX_SKIPPED: usize = 100;

/// At most this many occurrences are read per freeze or window (24 a day for
/// two years and more); a series cut there ends the search early.
const MAX_PER_SERIES: usize = 40_000;

/// What is to be placed.
#[derive(Debug, Clone)]
pub struct SlotQuery {
    /// The target environment.
    pub environment: EnvironmentId,
    /// The services it changes. Empty: unknown, so service-scoped freezes apply.
    pub services: Vec<ServiceId>,
    /// The releasing team. `None`: the team that owns `services`.
    pub team: Option<TeamId>,
    /// Whose release it is: their other releases must not overlap it.
    pub owner: Option<String>,
    /// Releases it must follow.
    pub after_releases: Vec<ReleaseId>,
    /// Its length (days on the team's wall clock, hours exact).
    pub duration: PlanDuration,
    /// The earliest start asked for.
    pub after: DateTime<Utc>,
    /// How far past `after` a start may lie.
    pub within: Duration,
    /// Also keep out of soft freezes.
    pub avoid_soft: bool,
    /// A release of the calendar being moved: it is left out (it cannot
    /// collide with itself), and its active dependents must still start after
    /// it ends.
    pub moving: Option<ReleaseId>,
}

/// Something that kept earlier starts out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Skipped {
    /// The blocking period (a freeze occurrence, another release, a period
    /// at capacity) or, for windows and dependents, the refused stretch.
    pub period: Interval,
    /// A conflict code (conflict-rules.md) or `window.outside_allowed`.
    pub code: &'static str,
    /// What blocked, for people.
    pub reason: String,
}

/// The answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SlotAnswer {
    /// The earliest stretch, if one starts within the search.
    pub slot: Option<Interval>,
    /// What pushed the slot past earlier candidates, in time order; runs of
    /// one reason are merged.
    pub skipped: Vec<Skipped>,
    /// True when more than [`MAX_SKIPPED`] stretches were refused.
    pub skipped_truncated: bool,
    /// The releasing team, as resolved.
    pub team: Option<TeamId>,
    /// The zone the length and the message are read in (the team's).
    pub zone: Tz,
    /// One line for a person or a pipeline log.
    pub message: String,
}

struct Blocker {
    period: Interval,
    code: &'static str,
    reason: String,
}

fn flag_error(flag: &'static str, message: String) -> GateQueryError {
    GateQueryError { flag, message }
}

fn known<'a>(ids: impl Iterator<Item = &'a str>) -> String {
    ids.collect::<Vec<_>>().join(", ")
}

fn owner_key(owner: Option<&str>) -> Option<&str> {
    owner.map(str::trim).filter(|o| !o.is_empty())
}

/// The releasing team: the one given, else the one owning every service.
fn resolve_team(plan: &Plan, q: &SlotQuery) -> Result<Option<TeamId>, GateQueryError> {
    if !plan.environments.iter().any(|e| e.id == q.environment) {
        return Err(flag_error(
            "--env",
            format!(
                "unknown environment \"{}\"; the plan has: {}",
                q.environment,
                known(plan.environments.iter().map(|e| e.id.as_str()))
            ),
        ));
    }
    let mut owners: Vec<&TeamId> = Vec::new();
    for s in &q.services {
        let Some(service) = plan.services.iter().find(|x| x.id == *s) else {
            return Err(flag_error(
                "--service",
                format!(
                    "unknown service \"{s}\"; the plan has: {}",
                    known(plan.services.iter().map(|x| x.id.as_str()))
                ),
            ));
        };
        if !owners.contains(&&service.team) {
            owners.push(&service.team);
        }
    }
    if let Some(t) = &q.team {
        if !plan.teams.iter().any(|x| x.id == *t) {
            return Err(flag_error(
                "--team",
                format!(
                    "unknown team \"{t}\"; the plan has: {}",
                    known(plan.teams.iter().map(|x| x.id.as_str()))
                ),
            ));
        }
        return Ok(Some(t.clone()));
    }
    match owners.as_slice() {
        [] => Ok(None),
        [one] => Ok(Some((*one).clone())),
        many => Err(flag_error(
            "--team",
            format!(
                "the services belong to several teams ({}); say which team releases them",
                known(many.iter().map(|t| t.as_str()))
            ),
        )),
    }
}

/// Whether a freeze concerns the query; what the query leaves unknown
/// matches, so the slot errs on the side of waiting.
fn freeze_applies(f: &Freeze, q: &SlotQuery, team: Option<&TeamId>) -> bool {
    let s = &f.scope;
    (s.environments.is_empty() || s.environments.contains(&q.environment))
        && (s.teams.is_empty() || team.is_none_or(|t| s.teams.contains(t)))
        && (s.services.is_empty()
            || q.services.is_empty()
            || q.services.iter().any(|x| s.services.contains(x)))
}

/// The end of a stretch of `duration` starting at `start`, read in `zone`.
fn end_of(duration: &PlanDuration, start: DateTime<Utc>, zone: Tz) -> DateTime<Utc> {
    if duration.days() == 0 {
        // Exact: adding to the wall clock would lose the second pass of a fold.
        return start.checked_add_signed(duration.exact()).unwrap_or(start);
    }
    duration.end_from(start.with_timezone(&zone).naive_local(), zone)
}

fn offset_at(zone: Tz, t: DateTime<Utc>) -> i32 {
    zone.offset_from_utc_datetime(&t.naive_utc())
        .fix()
        .local_minus_utc()
}

/// The instants in `[from, to)` where `zone`'s offset changes, to the second.
fn transitions(zone: Tz, from: DateTime<Utc>, to: DateTime<Utc>) -> Vec<DateTime<Utc>> {
    let step = Duration::hours(6);
    let mut out = Vec::new();
    let mut a = from;
    while a < to {
        let b = (a + step).min(to);
        if offset_at(zone, a) != offset_at(zone, b) {
            // The first whole second in (a, b] with b's offset: zones
            // change on whole seconds.
            let before = offset_at(zone, a);
            let (mut lo, mut hi) = (a.timestamp(), b.timestamp() + 1);
            while hi - lo > 1 {
                let mid = lo + (hi - lo) / 2;
                let at = DateTime::from_timestamp(mid, 0).unwrap_or(b);
                if offset_at(zone, at) == before {
                    lo = mid;
                } else {
                    hi = mid;
                }
            }
            let hi = DateTime::from_timestamp(hi, 0).unwrap_or(b);
            out.push(hi);
        }
        a = b;
    }
    out
}

/// Blocked periods sorted by start, with the latest end so far, so the first
/// one overlapping a stretch is found by binary search.
struct Blocked {
    items: Vec<Blocker>,
    max_end: Vec<DateTime<Utc>>,
}

impl Blocked {
    fn new(mut items: Vec<Blocker>) -> Self {
        items.sort_by_key(|b| b.period);
        let mut running = DateTime::<Utc>::MIN_UTC;
        let max_end = items
            .iter()
            .map(|b| {
                running = running.max(b.period.end);
                running
            })
            .collect();
        Self { items, max_end }
    }

    /// The first blocker (by start) that overlaps `[start, end)`.
    fn first_overlapping(&self, start: DateTime<Utc>, end: DateTime<Utc>) -> Option<&Blocker> {
        // The first whose end passes `start`: its own end is the running
        // maximum there, and every later one starts no earlier.
        let i = self.max_end.partition_point(|e| *e <= start);
        self.items.get(i).filter(|b| b.period.start < end)
    }

    /// Where blocked periods end: the first free instant after a run of
    /// blocked time is one of them. Every end is tried, not only a run's, so
    /// back-to-back blockers are each named in what was skipped.
    fn ends(&self) -> impl Iterator<Item = DateTime<Utc>> + '_ {
        self.items.iter().map(|b| b.period.end)
    }
}

/// Deploy-window occurrences sorted by start, with the latest end so far.
struct Windows {
    starts: Vec<DateTime<Utc>>,
    max_end: Vec<DateTime<Utc>>,
}

impl Windows {
    fn new(mut periods: Vec<Interval>) -> Self {
        periods.sort_unstable();
        let mut running = DateTime::<Utc>::MIN_UTC;
        let max_end = periods
            .iter()
            .map(|p| {
                running = running.max(p.end);
                running
            })
            .collect();
        Self {
            starts: periods.iter().map(|p| p.start).collect(),
            max_end,
        }
    }

    /// Whether one occurrence holds all of `[start, end)`: some occurrence
    /// that starts by `start` ends at or after `end`.
    fn hold(&self, start: DateTime<Utc>, end: DateTime<Utc>) -> bool {
        let n = self.starts.partition_point(|s| *s <= start);
        n > 0 && self.max_end[n - 1] >= end
    }
}

struct Skips {
    list: Vec<Skipped>,
    truncated: bool,
}

impl Skips {
    fn push(&mut self, period: Interval, code: &'static str, reason: &str) {
        if let Some(last) = self.list.last_mut() {
            if last.code == code && last.reason == reason {
                last.period.start = last.period.start.min(period.start);
                last.period.end = last.period.end.max(period.end);
                return;
            }
        }
        if self.list.len() >= MAX_SKIPPED {
            self.truncated = true;
            return;
        }
        self.list.push(Skipped {
            period,
            code,
            reason: reason.to_owned(),
        });
    }
}

fn when(t: DateTime<Utc>, zone: Tz) -> HumanTime {
    HumanTime(t, zone)
}

/// The earliest start at or after `q.after` (and no later than
/// `q.after + q.within`) of a release with the scope and length of `q` that
/// would have no error-severity conflict in `plan`, and what kept earlier
/// starts out.
pub fn find_slot(plan: &Plan, q: &SlotQuery) -> Result<SlotAnswer, GateQueryError> {
    let team = resolve_team(plan, q)?;
    let team_row = team
        .as_ref()
        .and_then(|t| plan.teams.iter().find(|x| x.id == *t));
    let zone = team_row.and_then(|t| t.timezone).unwrap_or(plan.timezone);
    if q.within < Duration::zero() {
        return Err(flag_error("--within", "must not be negative".to_owned()));
    }
    let last_end = end_of_supported_years().and_utc();
    if q.after >= last_end {
        return Err(flag_error(
            "--after",
            format!("must be before {}", crate::time::utc_text(last_end)),
        ));
    }
    let moving = q.moving.as_ref();
    let env = plan
        .environments
        .iter()
        .find(|e| e.id == q.environment)
        .ok_or_else(|| {
            flag_error(
                "--env",
                format!("unknown environment \"{}\"", q.environment),
            )
        })?;
    let others = || {
        plan.releases
            .iter()
            .filter(move |r| r.status.is_active() && Some(&r.id) != moving)
    };

    // The lower bound: `after`, and the end of every active release it follows.
    let mut skips = Skips {
        list: Vec::new(),
        truncated: false,
    };
    let mut lower = q.after;
    let mut waits_for: Option<&Release> = None;
    for id in &q.after_releases {
        if Some(id) == moving {
            return Err(flag_error(
                "--after-release",
                format!("release \"{id}\" cannot follow itself"),
            ));
        }
        let Some(r) = plan.releases.iter().find(|r| r.id == *id) else {
            return Err(flag_error(
                "--after-release",
                format!("unknown release \"{id}\""),
            ));
        };
        // A done dependency is satisfied whatever the times; a cancelled or
        // rolled-back one is only a warning.
        if r.status.is_active() && r.end.utc > lower {
            lower = r.end.utc;
            waits_for = Some(r);
        }
    }
    if let Some(r) = waits_for {
        skips.push(
            Interval {
                start: q.after,
                end: lower,
            },
            "dependency.order",
            &format!(
                "waits for {} ({}) to end at {}",
                r.title,
                r.id,
                when(r.end.utc, zone)
            ),
        );
    }
    let latest = q
        .after
        .checked_add_signed(q.within)
        .unwrap_or(last_end)
        .min(last_end);
    // Everything a stretch starting by `latest` can reach.
    let reach = Interval {
        start: lower,
        end: latest
            .checked_add_signed(q.duration.max_length())
            .unwrap_or(last_end)
            .min(last_end)
            .max(lower),
    };

    // The upper bound: a moved release's active dependents start after it ends.
    let mut dependents: Option<&Release> = None;
    if let Some(id) = moving {
        for r in others().filter(|r| r.depends_on.contains(id)) {
            if dependents.is_none_or(|d| r.start.utc < d.start.utc) {
                dependents = Some(r);
            }
        }
    }

    let mut cut_at: Option<DateTime<Utc>> = None;
    let mut note_cut = |periods: &[Interval]| {
        if periods.len() >= MAX_PER_SERIES {
            if let Some(p) = periods.last() {
                cut_at = Some(cut_at.map_or(p.start, |c: DateTime<Utc>| c.min(p.start)));
            }
        }
    };

    // Blocked time.
    let mut blockers: Vec<Blocker> = Vec::new();
    for f in &plan.freezes {
        let soft = f.severity == FreezeSeverity::Soft;
        if (soft && !q.avoid_soft) || !freeze_applies(f, q, team.as_ref()) {
            continue;
        }
        let fz = f.zone(plan.timezone);
        let periods = f.periods_between(plan.timezone, reach, MAX_PER_SERIES);
        note_cut(&periods);
        let code = if soft { "freeze.soft" } else { "freeze.hard" };
        for p in periods {
            blockers.push(Blocker {
                period: p,
                code,
                reason: format!(
                    "{} ({}) from {} to {}{}",
                    f.name,
                    f.severity.as_str(),
                    when(p.start, fz),
                    when(p.end, fz),
                    f.reason
                        .as_deref()
                        .map(|r| format!(": {r}"))
                        .unwrap_or_default()
                ),
            });
        }
    }
    let owner = owner_key(q.owner.as_deref());
    let mut in_env: Vec<Interval> = Vec::new();
    for r in others() {
        let span = r.interval();
        if !span.overlaps(&reach) {
            continue;
        }
        if r.environment == q.environment {
            in_env.push(span);
            if let Some(s) = q.services.iter().find(|s| r.services.contains(s)) {
                blockers.push(Blocker {
                    period: span,
                    code: "service.overlap",
                    reason: format!(
                        "{} ({}) changes {s} in {} from {} to {}",
                        r.title,
                        r.id,
                        env.name,
                        when(span.start, zone),
                        when(span.end, zone)
                    ),
                });
            }
        }
        if let Some(o) = owner.filter(|o| owner_key(r.owner.as_deref()) == Some(*o)) {
            blockers.push(Blocker {
                period: span,
                code: "owner.double_booked",
                reason: format!(
                    "{o} runs {} ({}) from {} to {}",
                    r.title,
                    r.id,
                    when(span.start, zone),
                    when(span.end, zone)
                ),
            });
        }
    }
    if let Some(limit) = env.max_concurrent {
        // Periods in which the environment already runs `limit` releases:
        // one more would exceed it. Ends before starts at the same instant
        // (half-open intervals).
        let mut events: Vec<(DateTime<Utc>, i32)> = in_env
            .iter()
            .flat_map(|p| [(p.start, 1), (p.end, -1)])
            .collect();
        events.sort_unstable();
        let mut count: i64 = 0;
        let mut full_since: Option<DateTime<Utc>> = None;
        for (t, delta) in events {
            count += i64::from(delta);
            let full = count >= i64::from(limit);
            match (full, full_since) {
                (true, None) => full_since = Some(t),
                (false, Some(since)) => {
                    if since < t {
                        blockers.push(Blocker {
                            period: Interval {
                                start: since,
                                end: t,
                            },
                            code: "environment.capacity",
                            reason: format!(
                                "{} already runs its limit of {limit} release{} from {} to {}",
                                env.name,
                                if limit == 1 { "" } else { "s" },
                                when(since, zone),
                                when(t, zone)
                            ),
                        });
                    }
                    full_since = None;
                }
                _ => {}
            }
        }
    }
    let blocked = Blocked::new(blockers);

    // Deploy windows of the team.
    let windows = team_row.filter(|t| !t.allowed_windows.is_empty()).map(|t| {
        let mut periods = Vec::new();
        for w in &t.allowed_windows {
            let wz = w.timezone.unwrap_or(zone);
            let found: Vec<Interval> = w
                .recurrence
                .occurrences_between(
                    wz,
                    reach.start,
                    reach.end.max(reach.start + Duration::seconds(1)),
                    MAX_PER_SERIES,
                )
                .into_iter()
                .map(|o| o.interval)
                .collect();
            note_cut(&found);
            periods.extend(found);
        }
        Windows::new(periods)
    });
    let latest = cut_at.map_or(latest, |c| latest.min(c));

    // The candidates.
    let mut candidates: Vec<DateTime<Utc>> = vec![lower];
    candidates.extend(blocked.ends());
    if let Some(w) = &windows {
        candidates.extend(w.starts.iter().copied());
    }
    if q.duration.days() > 0 {
        let days = Days::new(q.duration.days().into());
        let around = Interval {
            start: lower - Duration::days(1),
            end: reach.end + Duration::days(1),
        };
        for t in transitions(zone, around.start, around.end) {
            candidates.push(t);
            // Starts whose wall-clock end lands on the first wall time after
            // the change.
            let wall_after: NaiveDateTime = t.with_timezone(&zone).naive_local();
            if let Some(w) = wall_after.checked_sub_days(days) {
                match zone.from_local_datetime(&w) {
                    LocalResult::Single(s) => candidates.push(s.to_utc()),
                    LocalResult::Ambiguous(a, b) => {
                        candidates.push(a.to_utc());
                        candidates.push(b.to_utc());
                    }
                    LocalResult::None => {}
                }
            }
        }
    }
    candidates.retain(|c| *c >= lower && *c <= latest);
    candidates.sort_unstable();
    candidates.dedup();

    let team_name = team_row.map_or("the team", |t| t.name.as_str());
    let mut slot = None;
    let mut past_supported = false;
    for c in candidates {
        let end = end_of(&q.duration, c, zone);
        if end > last_end {
            past_supported = true;
            break;
        }
        if let Some(b) = blocked.first_overlapping(c, end) {
            skips.push(b.period, b.code, &b.reason);
            continue;
        }
        if let Some(w) = &windows {
            if !w.hold(c, end) {
                skips.push(
                    Interval { start: c, end },
                    "window.outside_allowed",
                    &format!("outside the deploy windows of {team_name}"),
                );
                continue;
            }
        }
        if let Some(d) = dependents.filter(|d| end > d.start.utc) {
            skips.push(
                Interval { start: c, end },
                "dependency.order",
                &format!(
                    "{} ({}) depends on it and starts at {}",
                    d.title,
                    d.id,
                    when(d.start.utc, zone)
                ),
            );
            continue;
        }
        slot = Some(Interval { start: c, end });
        break;
    }

    let message = match slot {
        Some(s) => format!(
            "earliest slot in {}: {} to {} ({})",
            env.name,
            when(s.start, zone),
            when(s.end, zone),
            zone.name()
        ),
        None => format!(
            "no slot of {} in {} starts between {} and {}{}",
            q.duration.as_str(),
            env.name,
            when(q.after, zone),
            when(latest, zone),
            if past_supported {
                " (time zone rules are known only up to 2099)"
            } else if cut_at.is_some() {
                " (the search stopped early: a freeze or window recurs too often)"
            } else {
                ""
            }
        ),
    };
    Ok(SlotAnswer {
        slot,
        skipped: skips.list,
        skipped_truncated: skips.truncated,
        team,
        zone,
        message,
    })
}
