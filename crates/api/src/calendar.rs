//! What a calendar view shows for a time range.

use crate::error::{ApiError, ErrorCode};
use chrono::{DateTime, Duration, Utc};
use relcal_domain::{FreezeSchedule, Interval, Scope};
use relcal_store::Store;
use serde::Serialize;

/// Longest range one view may ask for.
const MAX_RANGE_DAYS: i64 = 400;
/// Most occurrences of one freeze in one view.
const MAX_OCCURRENCES: usize = 2000;

/// A team, for legends and colours.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct TeamSummary {
    /// Team id.
    pub id: String,
    /// Display name.
    pub name: String,
    /// Home zone (IANA), if any.
    pub timezone: Option<String>,
}

/// A release window in a view. Times are RFC 3339 in UTC.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct ReleaseEvent {
    /// Release id.
    pub id: String,
    /// Title.
    pub title: String,
    /// Team id.
    pub team_id: String,
    /// Team name.
    pub team_name: String,
    /// Environment id.
    pub environment_id: String,
    /// Environment name.
    pub environment_name: String,
    /// Whether the environment is production.
    pub production: bool,
    /// Service ids.
    pub services: Vec<String>,
    /// Releases that must finish first.
    pub depends_on: Vec<String>,
    /// Window start.
    pub start: String,
    /// Window end.
    pub end: String,
    /// Status (`planned`, `in_progress`, ...).
    pub status: String,
    /// Who runs it.
    pub owner: Option<String>,
    /// Readiness from 0 to 100 (its checklist).
    pub readiness: u8,
}

/// One period of a freeze in a view. Times are RFC 3339 in UTC.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct FreezePeriod {
    /// Freeze id.
    pub freeze_id: String,
    /// Freeze name.
    pub name: String,
    /// `hard` or `soft`.
    pub severity: String,
    /// Period start.
    pub start: String,
    /// Period end.
    pub end: String,
    /// Part of a recurring freeze.
    pub recurring: bool,
    /// How it recurs, in words ("every Friday at 12:00 for 12 hours (Europe/Berlin)").
    pub recurrence: Option<String>,
    /// The freeze's zone (IANA).
    pub timezone: String,
    /// Who it applies to, in words ("everyone", "environments: prod").
    pub scope: String,
    /// Why, if given.
    pub reason: Option<String>,
}

/// Everything a calendar view needs for `[from, to)`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct CalendarView {
    /// The calendar's default zone (IANA).
    pub timezone: String,
    /// All teams, in plan order.
    pub teams: Vec<TeamSummary>,
    /// Releases overlapping the range, by start.
    pub releases: Vec<ReleaseEvent>,
    /// Freeze periods overlapping the range, by start.
    pub freezes: Vec<FreezePeriod>,
}

fn rfc3339(t: DateTime<Utc>) -> String {
    relcal_domain::utc_text(t)
}

fn from_unix(seconds: i64) -> String {
    DateTime::from_timestamp(seconds, 0)
        .map(rfc3339)
        .unwrap_or_default()
}

fn scope_words(scope: &Scope) -> String {
    if scope.is_global() {
        return "everyone".into();
    }
    let mut parts = Vec::new();
    let mut list = |label: &str, ids: Vec<&str>| {
        if !ids.is_empty() {
            parts.push(format!("{label}: {}", ids.join(", ")));
        }
    };
    list("teams", scope.teams.iter().map(|x| x.as_str()).collect());
    list(
        "services",
        scope.services.iter().map(|x| x.as_str()).collect(),
    );
    list(
        "environments",
        scope.environments.iter().map(|x| x.as_str()).collect(),
    );
    parts.join("; ")
}

/// A view range must end after it starts and span at most a year and a bit.
pub(crate) fn check_range(from: DateTime<Utc>, to: DateTime<Utc>) -> Result<Interval, ApiError> {
    if to <= from {
        return Err(ApiError::new(
            ErrorCode::Validation,
            "view range: `to` must be after `from`",
        ));
    }
    if to - from > Duration::days(MAX_RANGE_DAYS) {
        return Err(ApiError::new(
            ErrorCode::Validation,
            format!("view range: at most {MAX_RANGE_DAYS} days at a time"),
        ));
    }
    Ok(Interval {
        start: from,
        end: to,
    })
}

pub(crate) fn empty_view() -> CalendarView {
    CalendarView {
        timezone: "UTC".into(),
        teams: vec![],
        releases: vec![],
        freezes: vec![],
    }
}

/// The releases and freeze periods in `[from, to)`.
pub fn calendar_view(
    store: &Store,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> Result<CalendarView, ApiError> {
    let range = check_range(from, to)?;
    let Some(plan) = store.load_plan_without_releases()? else {
        return Ok(empty_view());
    };
    let names = Names::of(&plan);
    let releases = store
        .releases_between(from.timestamp(), to.timestamp())?
        .into_iter()
        .map(|r| {
            let (team_name, environment_name, production) =
                names.of_release(&r.team_id, &r.environment_id);
            ReleaseEvent {
                start: from_unix(r.start_utc),
                end: from_unix(r.end_utc),
                team_name,
                environment_name,
                production,
                id: r.id,
                title: r.title,
                team_id: r.team_id,
                environment_id: r.environment_id,
                services: r.services,
                depends_on: r.depends_on,
                status: r.status,
                owner: r.owner,
                readiness: r.readiness,
            }
        })
        .collect();
    Ok(view_of(&plan, range, releases))
}

/// [`calendar_view`] from releases already in memory (the warm calendar):
/// `releases` overlap the range, by start then id, as the database lists them.
pub(crate) fn calendar_view_of(
    plan: &relcal_domain::Plan,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    releases: Vec<&relcal_domain::Release>,
) -> Result<CalendarView, ApiError> {
    let range = check_range(from, to)?;
    let names = Names::of(plan);
    let event = |r: &relcal_domain::Release| {
        let (team_name, environment_name, production) =
            names.of_release(r.team.as_str(), r.environment.as_str());
        ReleaseEvent {
            id: r.id.as_str().to_owned(),
            title: r.title.clone(),
            team_id: r.team.as_str().to_owned(),
            team_name,
            environment_id: r.environment.as_str().to_owned(),
            environment_name,
            production,
            services: r.services.iter().map(|x| x.as_str().to_owned()).collect(),
            depends_on: r.depends_on.iter().map(|x| x.as_str().to_owned()).collect(),
            start: rfc3339(r.start.utc),
            end: rfc3339(r.end.utc),
            status: r.status.as_str().to_owned(),
            owner: r.owner.clone(),
            readiness: r.readiness_score(),
        }
    };
    // A month of a large calendar is thousands of events: half on a second
    // core (the freeze periods on this one meanwhile), in order.
    const SPLIT_FROM: usize = 2048;
    let (releases, view) = if releases.len() >= SPLIT_FROM {
        let (first, second) = releases.split_at(releases.len() / 2);
        std::thread::scope(|scope| {
            let later = scope.spawn(|| second.iter().map(|r| event(r)).collect::<Vec<_>>());
            let view = view_of(plan, range, Vec::new());
            let mut events: Vec<ReleaseEvent> = first.iter().map(|r| event(r)).collect();
            events.extend(
                later
                    .join()
                    .unwrap_or_else(|e| std::panic::resume_unwind(e)),
            );
            (events, view)
        })
    } else {
        (
            releases.into_iter().map(event).collect(),
            view_of(plan, range, Vec::new()),
        )
    };
    Ok(CalendarView { releases, ..view })
}

/// Team and environment names by id, for release events.
struct Names<'p> {
    teams: rustc_hash::FxHashMap<&'p str, &'p str>,
    environments: rustc_hash::FxHashMap<&'p str, (&'p str, bool)>,
}

impl<'p> Names<'p> {
    fn of(plan: &'p relcal_domain::Plan) -> Self {
        Self {
            teams: plan
                .teams
                .iter()
                .map(|t| (t.id.as_str(), t.name.as_str()))
                .collect(),
            environments: plan
                .environments
                .iter()
                .map(|e| (e.id.as_str(), (e.name.as_str(), e.production)))
                .collect(),
        }
    }

    /// Team name, environment name, production (ids stand in for unknown names).
    fn of_release(&self, team: &str, environment: &str) -> (String, String, bool) {
        let team_name = self.teams.get(team).copied().unwrap_or(team);
        let (environment_name, production) = self
            .environments
            .get(environment)
            .copied()
            .unwrap_or((environment, false));
        (
            team_name.to_owned(),
            environment_name.to_owned(),
            production,
        )
    }
}

/// The view of `range`: the plan's teams, its freeze periods there, and `releases`.
fn view_of(
    plan: &relcal_domain::Plan,
    range: Interval,
    releases: Vec<ReleaseEvent>,
) -> CalendarView {
    let mut freezes = Vec::new();
    for f in &plan.freezes {
        let zone = f.zone(plan.timezone);
        let periods = f.periods_between(plan.timezone, range, MAX_OCCURRENCES);
        if periods.is_empty() {
            continue;
        }
        // Once per freeze, not per period.
        let recurrence = match &f.schedule {
            FreezeSchedule::Recurring(r) => Some(r.describe(zone)),
            FreezeSchedule::Once { .. } => None,
        };
        let scope = scope_words(&f.scope);
        for period in periods {
            freezes.push(FreezePeriod {
                freeze_id: f.id.to_string(),
                name: f.name.clone(),
                severity: f.severity.as_str().to_owned(),
                start: rfc3339(period.start),
                end: rfc3339(period.end),
                recurring: matches!(f.schedule, FreezeSchedule::Recurring(_)),
                recurrence: recurrence.clone(),
                timezone: zone.name().to_owned(),
                scope: scope.clone(),
                reason: f.reason.clone(),
            });
        }
    }
    freezes.sort_by(|a, b| (&a.start, &a.freeze_id).cmp(&(&b.start, &b.freeze_id)));
    CalendarView {
        timezone: plan.timezone.name().to_owned(),
        teams: plan
            .teams
            .iter()
            .map(|t| TeamSummary {
                id: t.id.to_string(),
                name: t.name.clone(),
                timezone: t.timezone.map(|z| z.name().to_owned()),
            })
            .collect(),
        releases,
        freezes,
    }
}
