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
}

/// When each release entered the calendar, from the audit trail: its first
/// entry when that created it; else the calendar import that brought it (the
/// last import before its first entry); a release never changed on its own
/// entered with the last import.
pub fn entered_from_audit(store: &Store) -> Result<HashMap<String, DateTime<Utc>>, ApiError> {
    let parse = |t: &str| DateTime::parse_from_rfc3339(t).ok().map(|t| t.to_utc());
    let mut out = HashMap::new();
    let mut last_import: Option<DateTime<Utc>> = None;
    for e in store.audit_entries(None)? {
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
        for r in crate::stored_plan(store)?.releases {
            out.entry(r.id.to_string()).or_insert(at);
        }
    }
    Ok(out)
}

/// The metrics of `plan` over `[from, to)` for `environments` (empty: the
/// production ones) and `teams` (empty: all); `entered`: from
/// [`entered_from_audit`], or `None` for a plan file (lead time unknown).
pub fn metrics_report(
    plan: &Plan,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    environments: &[String],
    teams: &[String],
    entered: Option<&HashMap<String, DateTime<Utc>>>,
) -> Result<MetricsReport, ApiError> {
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
    Ok(MetricsReport {
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
    })
}
