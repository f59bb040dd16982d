//! "May a release with this scope start now?" — the question a pipeline asks
//! before deploying.

use crate::conflicts::human_time;
use crate::ids::{EnvironmentId, FreezeId, ServiceId, TeamId};
use crate::plan::{Freeze, FreezeSeverity, Plan};
use crate::time::Interval;
use chrono::{DateTime, Duration, Utc};
use std::collections::BTreeSet;

/// What is about to be deployed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GateQuery {
    /// The target environment.
    pub environment: EnvironmentId,
    /// The services it changes. Empty: unknown, so service-scoped freezes apply.
    pub services: Vec<ServiceId>,
    /// The team. `None`: the owners of `services`, or unknown when there are none.
    pub team: Option<TeamId>,
}

/// A freeze period that concerns the query.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FreezeHit {
    /// Freeze id.
    pub freeze: FreezeId,
    /// Freeze name.
    pub name: String,
    /// Hard or soft.
    pub severity: FreezeSeverity,
    /// The occurrence.
    pub period: Interval,
    /// The period in the freeze's zone, for people.
    pub description: String,
    /// Why, if given.
    pub reason: Option<String>,
}

/// The gate's answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GateAnswer {
    /// True unless a hard freeze applies at the instant.
    pub allowed: bool,
    /// Hard freezes in force.
    pub blocked_by: Vec<FreezeHit>,
    /// Soft freezes in force (allowed, with a warning).
    pub warnings: Vec<FreezeHit>,
    /// Hard freezes that start within the next 24 hours.
    pub upcoming: Vec<FreezeHit>,
    /// When blocked: the first instant no hard freeze applies (chained and
    /// overlapping freezes followed). With `until_is_lower_bound`, the chain
    /// runs on past the search's horizon and this is only how long it lasts at least.
    pub until: Option<DateTime<Utc>>,
    /// True when the chain of freezes was followed to the search's horizon
    /// without finding its end ("blocked until at least …").
    pub until_is_lower_bound: bool,
    /// One line for a pipeline log.
    pub message: String,
}

/// Why a query cannot be answered.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{flag}: {message}")]
pub struct GateQueryError {
    /// The command-line flag or field at fault (`--env`).
    pub flag: &'static str,
    /// What is wrong.
    pub message: String,
}

fn hit(plan: &Plan, f: &Freeze, period: Interval) -> FreezeHit {
    let zone = f.zone(plan.timezone);
    FreezeHit {
        freeze: f.id.clone(),
        name: f.name.clone(),
        severity: f.severity,
        period,
        description: format!(
            "{} ({}) from {} to {}",
            f.name,
            f.severity.as_str(),
            human_time(period.start, zone),
            human_time(period.end, zone)
        ),
        reason: f.reason.clone(),
    }
}

/// Checks the query's references against the plan.
fn validate(plan: &Plan, q: &GateQuery) -> Result<(), GateQueryError> {
    let known = |ids: Vec<&str>| ids.join(", ");
    if !plan.environments.iter().any(|e| e.id == q.environment) {
        return Err(GateQueryError {
            flag: "--env",
            message: format!(
                "unknown environment \"{}\"; the plan has: {}",
                q.environment,
                known(plan.environments.iter().map(|e| e.id.as_str()).collect())
            ),
        });
    }
    for s in &q.services {
        if !plan.services.iter().any(|x| x.id == *s) {
            return Err(GateQueryError {
                flag: "--service",
                message: format!(
                    "unknown service \"{s}\"; the plan has: {}",
                    known(plan.services.iter().map(|x| x.id.as_str()).collect())
                ),
            });
        }
    }
    if let Some(t) = &q.team {
        if !plan.teams.iter().any(|x| x.id == *t) {
            return Err(GateQueryError {
                flag: "--team",
                message: format!(
                    "unknown team \"{t}\"; the plan has: {}",
                    known(plan.teams.iter().map(|x| x.id.as_str()).collect())
                ),
            });
        }
    }
    Ok(())
}

/// Whether `f` may apply to the query. What the query leaves unknown matches,
/// so a gate errs on the side of blocking.
fn applies(f: &Freeze, q: &GateQuery, teams: &BTreeSet<&TeamId>) -> bool {
    let s = &f.scope;
    (s.environments.is_empty() || s.environments.contains(&q.environment))
        && (s.teams.is_empty() || teams.is_empty() || s.teams.iter().any(|t| teams.contains(t)))
        && (s.services.is_empty()
            || q.services.is_empty()
            || q.services.iter().any(|x| s.services.contains(x)))
}

/// May a release with the scope of `q` start at `at`?
pub fn gate(plan: &Plan, q: &GateQuery, at: DateTime<Utc>) -> Result<GateAnswer, GateQueryError> {
    validate(plan, q)?;
    let teams: BTreeSet<&TeamId> = match &q.team {
        Some(t) => [t].into_iter().collect(),
        None => plan
            .services
            .iter()
            .filter(|s| q.services.contains(&s.id))
            .map(|s| &s.team)
            .collect(),
    };
    let relevant: Vec<&Freeze> = plan
        .freezes
        .iter()
        .filter(|f| applies(f, q, &teams))
        .collect();
    let instant = |t: DateTime<Utc>| Interval {
        start: t,
        end: t + Duration::seconds(1),
    };
    let in_force = |t: DateTime<Utc>, severity: FreezeSeverity| -> Vec<FreezeHit> {
        relevant
            .iter()
            .filter(|f| f.severity == severity)
            .filter_map(|f| {
                f.periods_between(plan.timezone, instant(t), 1)
                    .into_iter()
                    .find(|p| p.start <= t && t < p.end)
                    .map(|p| hit(plan, f, p))
            })
            .collect()
    };
    let blocked_by = in_force(at, FreezeSeverity::Hard);
    let warnings = in_force(at, FreezeSeverity::Soft);
    let upcoming: Vec<FreezeHit> = relevant
        .iter()
        .filter(|f| f.severity == FreezeSeverity::Hard)
        .filter_map(|f| {
            let next_day = Interval {
                start: at,
                end: at + Duration::hours(24),
            };
            f.periods_between(plan.timezone, next_day, 4)
                .into_iter()
                .find(|p| p.start > at)
                .map(|p| hit(plan, f, p))
        })
        .collect();

    // Follow chained or overlapping hard freezes to the first free instant.
    let (until, until_is_lower_bound) = if blocked_by.is_empty() {
        (None, false)
    } else {
        let hard: Vec<&Freeze> = relevant
            .iter()
            .copied()
            .filter(|f| f.severity == FreezeSeverity::Hard)
            .collect();
        let (end, bounded) = free_from(plan, &hard, at);
        (Some(end), bounded)
    };
    let env = plan
        .environments
        .iter()
        .find(|e| e.id == q.environment)
        .map_or(q.environment.as_str(), |e| e.name.as_str());
    let message = match (&until, blocked_by.first(), warnings.first()) {
        (Some(until), Some(first), _) => {
            let zone = plan
                .freezes
                .iter()
                .find(|f| f.id == first.freeze)
                .map_or(plan.timezone, |f| f.zone(plan.timezone));
            let names: Vec<&str> = blocked_by.iter().map(|h| h.name.as_str()).collect();
            format!(
                "BLOCKED: {env} is frozen until {}{} ({}) by {}{}",
                if until_is_lower_bound {
                    "at least "
                } else {
                    ""
                },
                human_time(*until, zone),
                zone.name(),
                names.join(", "),
                first
                    .reason
                    .as_deref()
                    .map(|r| format!(": {r}"))
                    .unwrap_or_default()
            )
        }
        (_, _, Some(w)) => format!("ALLOWED with a warning: soft freeze {}", w.description),
        _ => format!(
            "ALLOWED: no freeze applies to {env} at {}",
            human_time(at, plan.timezone)
        ),
    };
    Ok(GateAnswer {
        allowed: blocked_by.is_empty(),
        blocked_by,
        warnings,
        upcoming,
        until,
        until_is_lower_bound,
        message,
    })
}

/// How far ahead the gate follows a chain of freezes.
const CHAIN_HORIZON_DAYS: i64 = 366 * 5;
/// How many freeze occurrences it reads on the way, at most.
const CHAIN_BUDGET: usize = 100_000;

/// The first instant at or after `at` that no occurrence of `freezes` covers,
/// and whether the search stopped at its horizon (5 years, the end of the
/// supported years, or a budget of occurrences) still covered: then the
/// instant is a lower bound. Occurrences are read a window at a time, the
/// window doubling while the chain goes on, and merged as they come, so
/// back-to-back hourly freezes cost their number, not a step each.
fn free_from(plan: &Plan, freezes: &[&Freeze], at: DateTime<Utc>) -> (DateTime<Utc>, bool) {
    let last = crate::time::end_of_supported_years().and_utc();
    let horizon = at
        .checked_add_signed(Duration::days(CHAIN_HORIZON_DAYS))
        .unwrap_or(last)
        .min(last);
    let mut free = at;
    let mut window = Duration::days(1);
    let mut read = 0usize;
    while free < horizon && read < CHAIN_BUDGET {
        let end = free
            .checked_add_signed(window)
            .unwrap_or(horizon)
            .min(horizon);
        let mut periods: Vec<Interval> = freezes
            .iter()
            .flat_map(|f| {
                f.periods_between(plan.timezone, Interval { start: free, end }, CHAIN_BUDGET)
            })
            .collect();
        read += periods.len();
        periods.sort_unstable();
        let before = free;
        for p in &periods {
            if p.start > free {
                break;
            }
            free = free.max(p.end);
        }
        if free == before || free < end {
            // Nothing covers `free`, or a gap opened inside the window.
            return (free, false);
        }
        window = window * 2;
    }
    (free, true)
}
