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

/// How often a waiting gate reads the calendar again, at least: a freeze
/// lifted early or added meanwhile counts within this.
pub const GATE_RECHECK: chrono::Duration = chrono::Duration::minutes(1);

/// A waiting gate's `--timeout` (ISO 8601, e.g. `PT2H`, `P1D`): elapsed time,
/// a day counting 24 hours.
pub fn gate_timeout(text: &str) -> Result<chrono::Duration, ApiError> {
    let d = relcal_domain::PlanDuration::parse(text).map_err(|e| {
        ApiError::new(
            ErrorCode::Validation,
            format!("gate: field `--timeout`: `{text}` {e}"),
        )
    })?;
    Ok(chrono::Duration::days(i64::from(d.days())) + d.exact())
}

/// When a gate that `report` keeps closed reads the calendar again: when it
/// opens by this calendar, at most [`GATE_RECHECK`] from `now`, never after
/// `deadline`, and not before a second from now.
pub fn gate_recheck_at(
    report: &GateReport,
    now: DateTime<Utc>,
    deadline: DateTime<Utc>,
) -> DateTime<Utc> {
    let opens = report
        .until
        .as_deref()
        .and_then(|t| DateTime::parse_from_rfc3339(t).ok())
        .map(|t| t.to_utc());
    let mut next = now + GATE_RECHECK;
    if let Some(opens) = opens {
        next = next.min(opens);
    }
    next.min(deadline).max(now + chrono::Duration::seconds(1))
}

#[cfg(test)]
mod wait_tests {
    use super::*;
    use chrono::TimeZone;

    fn closed_until(until: Option<DateTime<Utc>>) -> GateReport {
        GateReport {
            allowed: false,
            at: String::new(),
            environment: "prod".into(),
            services: vec![],
            team: None,
            until: until.map(utc),
            until_is_lower_bound: false,
            message: String::new(),
            blocked_by: vec![],
            warnings: vec![],
            upcoming: vec![],
        }
    }

    #[test]
    fn a_waiting_gate_looks_again_when_it_opens_at_most_a_minute_on_and_never_past_its_deadline() {
        let now = Utc
            .with_ymd_and_hms(2027, 1, 4, 9, 0, 0)
            .single()
            .unwrap_or_default();
        let far = now + chrono::Duration::hours(5);
        let soon = now + chrono::Duration::seconds(20);
        assert_eq!(gate_recheck_at(&closed_until(Some(soon)), now, far), soon);
        let later = now + chrono::Duration::hours(2);
        assert_eq!(
            gate_recheck_at(&closed_until(Some(later)), now, far),
            now + GATE_RECHECK
        );
        assert_eq!(
            gate_recheck_at(&closed_until(None), now, far),
            now + GATE_RECHECK
        );
        let deadline = now + chrono::Duration::seconds(5);
        assert_eq!(
            gate_recheck_at(&closed_until(Some(later)), now, deadline),
            deadline
        );
        // Already open by the calendar read (a moment ago): a second, not a busy loop.
        assert_eq!(
            gate_recheck_at(&closed_until(Some(now)), now, far),
            now + chrono::Duration::seconds(1)
        );
    }

    #[test]
    fn a_timeout_is_an_iso_duration_and_a_bad_one_names_the_flag() {
        assert_eq!(gate_timeout("PT2H").ok(), Some(chrono::Duration::hours(2)));
        assert_eq!(
            gate_timeout("P1DT30M").ok(),
            Some(chrono::Duration::minutes(1470))
        );
        let bad = gate_timeout("2 hours")
            .err()
            .map(|e| e.message)
            .unwrap_or_default();
        assert!(bad.contains("--timeout"), "{bad}");
    }
}
