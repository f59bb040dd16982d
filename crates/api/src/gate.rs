//! The gate: may a release with this scope start now?

use crate::error::{ApiError, ErrorCode};
use chrono::{DateTime, SecondsFormat, Utc};
use relcal_domain::{EnvironmentId, FreezeHit, GateQuery, Plan, ServiceId, TeamId};
use serde::Serialize;

/// A freeze period in a gate answer. Times are RFC 3339 in UTC.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct GateFreeze {
    /// Freeze id.
    pub freeze: String,
    /// Freeze name.
    pub name: String,
    /// `hard` or `soft`.
    pub severity: String,
    /// Occurrence start.
    pub start: String,
    /// Occurrence end.
    pub end: String,
    /// The period in the freeze's own zone, for people.
    pub description: String,
    /// Why, if given.
    pub reason: Option<String>,
}

/// The gate's answer, as `relcal gate --format json` prints it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct GateReport {
    /// False when a hard freeze applies.
    pub allowed: bool,
    /// The instant asked about.
    pub at: String,
    /// Environment id.
    pub environment: String,
    /// Service ids asked about.
    pub services: Vec<String>,
    /// Team asked about, if any.
    pub team: Option<String>,
    /// When blocked: the first instant the gate opens.
    pub until: Option<String>,
    /// True when the freezes go on past what the gate searched (five years
    /// ahead): `until` is then how long they last at least.
    pub until_is_lower_bound: bool,
    /// One line for a pipeline log.
    pub message: String,
    /// Hard freezes in force.
    pub blocked_by: Vec<GateFreeze>,
    /// Soft freezes in force.
    pub warnings: Vec<GateFreeze>,
    /// Hard freezes starting within 24 hours.
    pub upcoming: Vec<GateFreeze>,
}

fn utc(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Secs, true)
}

fn freeze(h: FreezeHit) -> GateFreeze {
    GateFreeze {
        freeze: h.freeze.to_string(),
        name: h.name,
        severity: h.severity.as_str().to_owned(),
        start: utc(h.period.start),
        end: utc(h.period.end),
        description: h.description,
        reason: h.reason,
    }
}

/// Asks the gate of `plan` about a release to `environment` changing
/// `services` (and owned by `team`) at `at`.
pub fn gate_plan(
    plan: &Plan,
    environment: &str,
    services: &[String],
    team: Option<&str>,
    at: DateTime<Utc>,
) -> Result<GateReport, ApiError> {
    let query = GateQuery {
        environment: EnvironmentId::new(environment),
        services: services.iter().map(ServiceId::new).collect(),
        team: team.map(TeamId::new),
    };
    let answer = relcal_domain::gate(plan, &query, at)
        .map_err(|e| ApiError::new(ErrorCode::Validation, e.to_string()))?;
    Ok(GateReport {
        allowed: answer.allowed,
        at: utc(at),
        environment: environment.to_owned(),
        services: services.to_vec(),
        team: team.map(str::to_owned),
        until: answer.until.map(utc),
        until_is_lower_bound: answer.until_is_lower_bound,
        message: answer.message,
        blocked_by: answer.blocked_by.into_iter().map(freeze).collect(),
        warnings: answer.warnings.into_iter().map(freeze).collect(),
        upcoming: answer.upcoming.into_iter().map(freeze).collect(),
    })
}
