//! Delivery metrics (`relcal metrics`; definitions in docs/metrics.md and
//! the command-line contract), from the calendar and, with a database, its
//! audit trail (when each release entered the calendar).

use crate::error::{ApiError, ErrorCode};
use chrono::{DateTime, Utc};
use relcal_domain::utc_text as utc;
use relcal_domain::{EnvironmentId, MetricsQuery, Plan, ReleaseId, TeamId};
use relcal_store::Store;
use serde::Serialize;
use std::collections::HashMap;

/// `relcal metrics --format json`: the contract's fields first.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MetricsReport {
    /// Period start, RFC 3339 UTC.
    pub from: String,
    /// Period end (exclusive), RFC 3339 UTC.
    pub to: String,
    /// Releases `done` or `rolled_back` whose end falls in the period.
    pub deployments: u32,
    /// Deployments per week of the period.
    pub deployment_frequency_per_week: f64,
    /// Share of deployments rolled back (null without deployments).
    pub change_failure_rate: Option<f64>,
    /// Median hours from a rollback to the next done release there (null when none).
    pub time_to_restore_median_hours: Option<f64>,
    /// Median hours from entering the calendar to the end (null when unknown).
    pub lead_time_median_hours: Option<f64>,
    /// The environments measured.
    pub environments: Vec<String>,
    /// The teams measured (empty: all).
    pub teams: Vec<String>,
    /// Deployments rolled back.
    pub rolled_back: u32,
    /// Rollbacks followed by a done release (time to restore's sample).
    pub restored: u32,
    /// Done deployments whose entry into the calendar is known (lead time's sample).
    pub lead_time_samples: u32,
    /// Where entry times come from: `audit trail`, or `none` for a plan file.
    pub lead_time_source: String,
    /// Median hours from entering the calendar to the approval that met the
    /// environment's `required_approvals`, over deployments that need
    /// approvals (null when none, or without `--db`).
    pub approval_lead_time_median_hours: Option<f64>,
    /// Median hours from a rolled-back deployment's start (when it went
    /// `in_progress`, else its planned start) to its rollback, as the audit
    /// trail recorded it (null when none, or without `--db`).
    pub start_to_rollback_median_hours: Option<f64>,
    /// Deployments whose start was moved at least once (audit trail).
    pub moved_releases: u32,
    /// Moves of those deployments' starts, in all.
    pub moves: u32,
    /// Median hours a move shifted a start by, either way (null when none).
    pub move_median_hours: Option<f64>,
    /// Deployments in the 48 hours before hard freezes start, against the period's rate.
    pub deploy_rush: DeployRushView,
    /// The change failure rate in the week after hard freezes end, against the period's.
    pub after_freeze: AfterFreezeView,
    /// Time lost to moves out of hard freezes (audit trail; zero without `--db`).
    pub freeze_delay: FreezeDelayView,
}

/// [`relcal_domain::DeployRush`] as JSON.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DeployRushView {
    /// Hard freeze starts in the period.
    pub freeze_starts: u32,
    /// Deployments in the 48 hours before them.
    pub deployments: u32,
    /// Those per day.
    pub per_day: Option<f64>,
    /// The period's deployments per day.
    pub baseline_per_day: f64,
    /// `per_day / baseline_per_day`.
    pub ratio: Option<f64>,
}

/// [`relcal_domain::AfterFreeze`] as JSON.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AfterFreezeView {
    /// Hard freeze ends in the period.
    pub freeze_ends: u32,
    /// Deployments in the seven days after them.
    pub deployments: u32,
    /// Their change failure rate.
    pub change_failure_rate: Option<f64>,
    /// The period's.
    pub baseline_change_failure_rate: Option<f64>,
}

/// [`relcal_domain::FreezeDelay`] as JSON.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FreezeDelayView {
    /// Deployments moved out of a hard freeze.
    pub releases: u32,
    /// The median hours each lost.
    pub median_hours: Option<f64>,
    /// Hours lost in all.
    pub total_hours: f64,
}

/// What the audit trail tells of each release: when it entered the
/// calendar, went in progress, was rolled back, and each move of its start.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct AuditFacts {
    /// When each release entered the calendar.
    pub entered: HashMap<String, DateTime<Utc>>,
    /// When each release first went `in_progress`.
    pub started: HashMap<String, DateTime<Utc>>,
    /// When each release was last marked `rolled_back`.
    pub rolled_back: HashMap<String, DateTime<Utc>>,
    /// Each move of a release's start, in hours either way.
    pub moves: HashMap<String, Vec<f64>>,
    /// Each move's windows, before and after.
    pub windows: Vec<relcal_domain::Move>,
}

fn field<'a>(json: Option<&'a serde_json::Value>, key: &str) -> Option<&'a str> {
    json?.get(key)?.as_str()
}

/// Reads [`AuditFacts`] from the audit trail, oldest entry first.
pub fn audit_facts(store: &Store, plan: &Plan) -> Result<AuditFacts, ApiError> {
    let parse = |t: &str| DateTime::parse_from_rfc3339(t).ok().map(|t| t.to_utc());
    // A release's window as written may be a local time, read in the calendar's zone.
    let zone = plan.timezone;
    let entries = store.audit_entries(None)?;
    let window = |t: &str| {
        relcal_domain::TimeValue::parse(t)
            .ok()
            .map(|v| v.resolve(zone))
    };
    let mut facts = AuditFacts {
        entered: entered_from(&entries, plan),
        ..AuditFacts::default()
    };
    for e in &entries {
        if e.object_kind != "release" {
            continue;
        }
        let Some(at) = parse(&e.at) else { continue };
        let json = |t: &Option<String>| {
            t.as_deref()
                .and_then(|t| serde_json::from_str::<serde_json::Value>(t).ok())
        };
        let (before, after) = (json(&e.before), json(&e.after));
        let (was, now) = (
            field(before.as_ref(), "status"),
            field(after.as_ref(), "status"),
        );
        if was != now {
            match now {
                Some("in_progress") => {
                    facts.started.entry(e.object_id.clone()).or_insert(at);
                }
                Some("rolled_back") => {
                    facts.rolled_back.insert(e.object_id.clone(), at);
                }
                _ => {}
            }
        }
        if let (Some(a), Some(b)) = (
            field(before.as_ref(), "start").and_then(window),
            field(after.as_ref(), "start").and_then(window),
        ) {
            if a != b {
                let hours = (b - a).num_minutes().abs() as f64 / 60.0;
                facts
                    .moves
                    .entry(e.object_id.clone())
                    .or_default()
                    .push(hours);
                let ends = (
                    field(before.as_ref(), "end").and_then(window),
                    field(after.as_ref(), "end").and_then(window),
                );
                if let (Some(ea), Some(eb)) = ends {
                    facts.windows.push(relcal_domain::Move {
                        release: ReleaseId::new(e.object_id.clone()),
                        before: relcal_domain::Interval { start: a, end: ea },
                        after: relcal_domain::Interval { start: b, end: eb },
                    });
                }
            }
        }
    }
    Ok(facts)
}

/// When each release of `plan` entered the calendar, from the audit trail:
/// its first entry when that created it; else the calendar import that
/// brought it (the last import before its first entry); a release never
/// changed on its own entered with the last import.
fn entered_from(
    entries: &[relcal_domain::AuditEntry],
    plan: &Plan,
) -> HashMap<String, DateTime<Utc>> {
    let parse = |t: &str| DateTime::parse_from_rfc3339(t).ok().map(|t| t.to_utc());
    let mut out = HashMap::new();
    let mut last_import: Option<DateTime<Utc>> = None;
    for e in entries {
        let Some(at) = parse(&e.at) else { continue };
        if e.action == "calendar.import" {
            last_import = Some(at);
            continue;
        }
        if e.object_kind == "release" && !out.contains_key(&e.object_id) {
            let when = if e.before.is_none() {
                at
            } else {
                last_import.unwrap_or(at)
            };
            out.insert(e.object_id.clone(), when);
        }
    }
    if let Some(at) = last_import {
        for r in &plan.releases {
            out.entry(r.id.to_string()).or_insert(at);
        }
    }
    out
}

/// [`entered_from`] for the calendar stored in `store`.
pub fn entered_from_audit(store: &Store) -> Result<HashMap<String, DateTime<Utc>>, ApiError> {
    let plan = crate::stored_plan(store)?;
    Ok(entered_from(&store.audit_entries(None)?, &plan))
}

/// The metrics of `plan` over `[from, to)` for `environments` (empty: the
/// production ones) and `teams` (empty: all); `entered`: from
/// [`audit_facts`], or `None` for a plan file (lead time unknown).
pub fn metrics_report(
    plan: &Plan,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    environments: &[String],
    teams: &[String],
    facts: Option<&AuditFacts>,
) -> Result<MetricsReport, ApiError> {
    measure(plan, (from, to), environments, teams, facts).map(|(report, _, _)| report)
}

/// [`metrics_report`], with the domain's figures it was made from (the
/// Metrics view also lists the releases behind them).
fn measure(
    plan: &Plan,
    (from, to): (DateTime<Utc>, DateTime<Utc>),
    environments: &[String],
    teams: &[String],
    facts: Option<&AuditFacts>,
) -> Result<
    (
        MetricsReport,
        relcal_domain::Metrics,
        relcal_domain::FreezeEffects,
    ),
    ApiError,
> {
    let entered = facts.map(|f| &f.entered);
    if to <= from {
        return Err(ApiError::new(
            ErrorCode::Validation,
            "metrics: --to must be after --from",
        ));
    }
    for e in environments {
        if !plan.environments.iter().any(|x| x.id.as_str() == e) {
            return Err(ApiError::new(
                ErrorCode::Validation,
                format!("--env: unknown environment \"{e}\""),
            ));
        }
    }
    for t in teams {
        if !plan.teams.iter().any(|x| x.id.as_str() == t) {
            return Err(ApiError::new(
                ErrorCode::Validation,
                format!("--team: unknown team \"{t}\""),
            ));
        }
    }
    let q = MetricsQuery {
        from,
        to,
        environments: environments.iter().map(EnvironmentId::new).collect(),
        teams: teams.iter().map(TeamId::new).collect(),
    };
    let lookup = |id: &ReleaseId| entered.and_then(|m| m.get(id.as_str()).copied());
    let m = relcal_domain::metrics(plan, &q, &lookup);
    // The deployments, for the figures the audit trail adds.
    let (_, deployed) = relcal_domain::deployments_of(plan, &q);
    let hours = |d: chrono::Duration| d.num_milliseconds() as f64 / 3_600_000.0;
    let mut approval_lead: Vec<f64> = Vec::new();
    let mut to_rollback: Vec<f64> = Vec::new();
    let mut move_hours: Vec<f64> = Vec::new();
    let mut moved_releases = 0u32;
    if let Some(f) = facts {
        for r in &deployed {
            let needed = plan
                .environments
                .iter()
                .find(|e| e.id == r.environment)
                .map_or(0, |e| e.required_approvals) as usize;
            if let (true, Some(entered)) = (needed > 0, f.entered.get(r.id.as_str())) {
                // Each person's first approval, in time order: the needed-th met the rule.
                let mut firsts: Vec<DateTime<Utc>> = Vec::new();
                let mut seen: Vec<&str> = Vec::new();
                let mut approvals: Vec<_> = r.approvals.iter().collect();
                approvals.sort_by_key(|a| a.at.utc);
                for a in approvals {
                    if !seen.contains(&a.by.as_str()) {
                        seen.push(&a.by);
                        firsts.push(a.at.utc);
                    }
                }
                if let Some(met) = firsts.get(needed - 1) {
                    approval_lead.push(hours(*met - *entered));
                }
            }
            if r.status == relcal_domain::ReleaseStatus::RolledBack {
                if let Some(back) = f.rolled_back.get(r.id.as_str()) {
                    let began = f.started.get(r.id.as_str()).copied().unwrap_or(r.start.utc);
                    to_rollback.push(hours(*back - began));
                }
            }
            if let Some(list) = f.moves.get(r.id.as_str()) {
                moved_releases += 1;
                move_hours.extend(list);
            }
        }
    }
    let moves = move_hours.len() as u32;
    let effects =
        relcal_domain::freeze_effects(plan, &q, facts.map_or(&[][..], |f| &f.windows[..]));
    let report = MetricsReport {
        from: utc(from),
        to: utc(to),
        deployments: m.deployments,
        deployment_frequency_per_week: m.deployment_frequency_per_week,
        change_failure_rate: m.change_failure_rate,
        time_to_restore_median_hours: m.time_to_restore_median_hours,
        lead_time_median_hours: m.lead_time_median_hours,
        environments: m.environments.iter().map(ToString::to_string).collect(),
        teams: teams.to_vec(),
        rolled_back: m.rolled_back,
        restored: m.restored,
        lead_time_samples: m.lead_time_samples,
        lead_time_source: if entered.is_some() {
            "audit trail".into()
        } else {
            "none".into()
        },
        approval_lead_time_median_hours: relcal_domain::median(&mut approval_lead),
        start_to_rollback_median_hours: relcal_domain::median(&mut to_rollback),
        moved_releases,
        moves,
        move_median_hours: relcal_domain::median(&mut move_hours),
        deploy_rush: DeployRushView {
            freeze_starts: effects.deploy_rush.freeze_starts,
            deployments: effects.deploy_rush.deployments,
            per_day: effects.deploy_rush.per_day,
            baseline_per_day: effects.deploy_rush.baseline_per_day,
            ratio: effects.deploy_rush.ratio,
        },
        after_freeze: AfterFreezeView {
            freeze_ends: effects.after_freeze.freeze_ends,
            deployments: effects.after_freeze.deployments,
            change_failure_rate: effects.after_freeze.change_failure_rate,
            baseline_change_failure_rate: effects.after_freeze.baseline_change_failure_rate,
        },
        freeze_delay: FreezeDelayView {
            releases: effects.delay.releases,
            median_hours: effects.delay.median_hours,
            total_hours: effects.delay.total_hours,
        },
    };
    Ok((report, m, effects))
}

/// One release behind a figure of the Metrics view.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct MetricRelease {
    /// Release id.
    pub id: String,
    /// Title.
    pub title: String,
    /// Its end, RFC 3339 UTC.
    pub end: String,
    /// `done` or `rolled_back`.
    pub status: String,
}

/// One week of the trend charts.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct MetricWeek {
    /// The week's first instant, RFC 3339 UTC (weeks run from the period's start).
    pub start: String,
    /// Deployments that ended in it.
    pub deployments: u32,
    /// Of which rolled back.
    pub rolled_back: u32,
    /// Their change failure rate (null without deployments).
    pub change_failure_rate: Option<f64>,
}

/// A hard freeze occurrence on the charts' time axis.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct MetricFreeze {
    /// Freeze name.
    pub name: String,
    /// Start, RFC 3339 UTC.
    pub start: String,
    /// End, RFC 3339 UTC.
    pub end: String,
}

/// The figures of the Metrics view, as [`MetricsReport`] has them.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct MetricFigures {
    /// Deployments.
    pub deployments: u32,
    /// Per week.
    pub deployment_frequency_per_week: f64,
    /// Rolled back / deployments.
    pub change_failure_rate: Option<f64>,
    /// Median hours to the next done release after a rollback.
    pub time_to_restore_median_hours: Option<f64>,
    /// Median hours from entering the calendar to the end.
    pub lead_time_median_hours: Option<f64>,
    /// Median hours to the approval that met the rule.
    pub approval_lead_time_median_hours: Option<f64>,
    /// Deployments in the 48 hours before freezes, per day.
    pub rush_per_day: Option<f64>,
    /// The period's deployments per day.
    pub baseline_per_day: f64,
    /// Change failure rate in the week after freezes.
    pub after_freeze_change_failure_rate: Option<f64>,
    /// Hours lost to moves out of freezes.
    pub freeze_delay_total_hours: f64,
}

/// The releases behind each figure.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct MetricReleases {
    /// The deployments.
    pub deployments: Vec<MetricRelease>,
    /// The rolled-back ones.
    pub rolled_back: Vec<MetricRelease>,
    /// Those in the rush before freezes.
    pub rush: Vec<MetricRelease>,
    /// Those in the week after freezes.
    pub after_freeze: Vec<MetricRelease>,
}

/// The app's Metrics view: figures, weekly trends, freezes on the time axis,
/// and the releases behind each figure.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct MetricsView {
    /// Period start, RFC 3339 UTC.
    pub from: String,
    /// Period end, RFC 3339 UTC.
    pub to: String,
    /// Environments measured.
    pub environments: Vec<String>,
    /// The figures.
    pub figures: MetricFigures,
    /// One entry per week of the period.
    pub weeks: Vec<MetricWeek>,
    /// Hard freeze occurrences in the period that concern the environments (at most 200).
    pub freezes: Vec<MetricFreeze>,
    /// The releases behind the figures.
    pub releases: MetricReleases,
}

/// The longest period the Metrics view draws.
pub const METRICS_VIEW_MAX_DAYS: i64 = 731;

/// The Metrics view of a database's calendar over `[from, to)`.
pub fn metrics_view(
    store: &Store,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    environments: &[String],
    teams: &[String],
) -> Result<MetricsView, ApiError> {
    if to - from > chrono::Duration::days(METRICS_VIEW_MAX_DAYS) {
        return Err(ApiError::new(
            ErrorCode::Validation,
            format!("metrics: field `to`: the view spans at most {METRICS_VIEW_MAX_DAYS} days"),
        ));
    }
    let plan = crate::stored_plan(store)?;
    let facts = audit_facts(store, &plan)?;
    let (report, m, effects) = measure(&plan, (from, to), environments, teams, Some(&facts))?;
    let q = MetricsQuery {
        from,
        to,
        environments: report.environments.iter().map(EnvironmentId::new).collect(),
        teams: teams.iter().map(TeamId::new).collect(),
    };
    let by_id: HashMap<&str, &relcal_domain::Release> =
        plan.releases.iter().map(|r| (r.id.as_str(), r)).collect();
    let list = |ids: &[ReleaseId]| -> Vec<MetricRelease> {
        ids.iter()
            .filter_map(|id| by_id.get(id.as_str()))
            .map(|r| MetricRelease {
                id: r.id.to_string(),
                title: r.title.clone(),
                end: utc(r.end.utc),
                status: r.status.as_str().to_owned(),
            })
            .collect()
    };
    let mut weeks = Vec::new();
    let mut start = from;
    while start < to {
        let end = (start + chrono::Duration::weeks(1)).min(to);
        let inside: Vec<&&relcal_domain::Release> = m
            .deployed
            .iter()
            .filter_map(|id| by_id.get(id.as_str()))
            .filter(|r| r.end.utc >= start && r.end.utc < end)
            .collect();
        let rolled = inside
            .iter()
            .filter(|r| r.status == relcal_domain::ReleaseStatus::RolledBack)
            .count() as u32;
        weeks.push(MetricWeek {
            start: utc(start),
            deployments: inside.len() as u32,
            rolled_back: rolled,
            change_failure_rate: (!inside.is_empty())
                .then(|| f64::from(rolled) / inside.len() as f64),
        });
        start = end;
    }
    let period = relcal_domain::Interval {
        start: from,
        end: to,
    };
    let mut freezes: Vec<MetricFreeze> = plan
        .freezes
        .iter()
        .filter(|f| f.severity == relcal_domain::FreezeSeverity::Hard)
        .filter(|f| {
            f.scope.environments.is_empty()
                || f.scope
                    .environments
                    .iter()
                    .any(|e| q.environments.contains(e))
        })
        .flat_map(|f| {
            f.periods_between(plan.timezone, period, 200)
                .into_iter()
                .map(move |p| MetricFreeze {
                    name: f.name.clone(),
                    start: utc(p.start),
                    end: utc(p.end),
                })
        })
        .collect();
    freezes.sort_by(|a, b| (&a.start, &a.name).cmp(&(&b.start, &b.name)));
    freezes.truncate(200);
    Ok(MetricsView {
        from: report.from.clone(),
        to: report.to.clone(),
        environments: report.environments.clone(),
        figures: MetricFigures {
            deployments: report.deployments,
            deployment_frequency_per_week: report.deployment_frequency_per_week,
            change_failure_rate: report.change_failure_rate,
            time_to_restore_median_hours: report.time_to_restore_median_hours,
            lead_time_median_hours: report.lead_time_median_hours,
            approval_lead_time_median_hours: report.approval_lead_time_median_hours,
            rush_per_day: report.deploy_rush.per_day,
            baseline_per_day: report.deploy_rush.baseline_per_day,
            after_freeze_change_failure_rate: report.after_freeze.change_failure_rate,
            freeze_delay_total_hours: report.freeze_delay.total_hours,
        },
        weeks,
        freezes,
        releases: MetricReleases {
            deployments: list(&m.deployed),
            rolled_back: list(&m.rolled_back_ids),
            rush: list(&effects.deploy_rush.releases),
            after_freeze: list(&effects.after_freeze.releases),
        },
    })
}
