//! "When can I?": the next free slot for a release (`relcal slot`,
//! `GET /v1/slot`, the release form's "Find a slot").

use crate::error::{ApiError, ErrorCode};
use chrono::{DateTime, SecondsFormat, Utc};
use relcal_domain::{EnvironmentId, Plan, PlanDuration, ReleaseId, ServiceId, SlotQuery, TeamId};
use serde::{Deserialize, Serialize};

/// What to place, as the command line, the HTTP query and the release form
/// give it: ids and texts, checked here.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[serde(deny_unknown_fields)]
pub struct SlotRequest {
    /// Environment id.
    pub environment: String,
    /// Service ids.
    pub services: Vec<String>,
    /// Releasing team (default: the team owning the services).
    pub team: Option<String>,
    /// Whose release it is.
    pub owner: Option<String>,
    /// Release ids it must follow.
    pub after_releases: Vec<String>,
    /// ISO 8601 length (`PT2H`, `P1D`).
    pub duration: String,
    /// Earliest start, RFC 3339 (default: now).
    pub after: Option<String>,
    /// ISO 8601 search length (default `P90D`; a day counts 24 hours).
    pub within: Option<String>,
    /// Keep out of soft freezes too.
    pub avoid_soft: bool,
    /// The release being moved (the release form): left out of the search,
    /// and its dependents must still start after it ends.
    pub moving: Option<String>,
}

/// One refused stretch. Times are RFC 3339 in UTC.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct SlotSkip {
    /// Start of what blocked.
    pub start: String,
    /// End of what blocked.
    pub end: String,
    /// What blocked, for people.
    pub reason: String,
    /// A conflict code, or `window.outside_allowed`.
    pub code: String,
}

/// The answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct SlotReport {
    /// True when a slot starts within the search.
    pub found: bool,
    /// Its start.
    pub start: Option<String>,
    /// Its end.
    pub end: Option<String>,
    /// What kept earlier starts out, in time order.
    pub skipped: Vec<SlotSkip>,
    /// True when more stretches were refused than are listed.
    pub skipped_truncated: bool,
    /// The releasing team, as resolved.
    pub team: Option<String>,
    /// The zone the length is read in.
    pub zone: String,
    /// One line for a person or a pipeline log.
    pub message: String,
}

impl SlotReport {
    /// The JSON the command line prints (cli.md): `found`, `start`, `end`,
    /// `skipped`.
    pub fn contract_json(&self) -> serde_json::Value {
        serde_json::json!({
            "found": self.found,
            "start": self.start,
            "end": self.end,
            "skipped": self.skipped,
        })
    }
}

fn utc(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Secs, true)
}

/// The search's default length.
pub const SLOT_WITHIN_DEFAULT: &str = "P90D";

/// Finds the earliest slot for `request` in `plan`, with `now` as the
/// default earliest start. Errors name the command-line flag at fault
/// (`--duration`); the server renames them to its query's fields.
pub fn slot_plan(
    plan: &Plan,
    request: &SlotRequest,
    now: DateTime<Utc>,
) -> Result<SlotReport, ApiError> {
    let invalid = |flag: &str, message: String| {
        ApiError::new(ErrorCode::Validation, format!("slot: {flag}: {message}"))
    };
    let duration =
        PlanDuration::parse(request.duration.trim()).map_err(|e| invalid("--duration", e))?;
    let within_text = request.within.as_deref().unwrap_or(SLOT_WITHIN_DEFAULT);
    let within = PlanDuration::parse(within_text.trim())
        .map(|d| chrono::Duration::days(i64::from(d.days())) + d.exact())
        .map_err(|e| invalid("--within", e))?;
    let after = match request.after.as_deref() {
        None => now,
        Some(t) => crate::clock::parse_instant("slot: --after", t)?,
    };
    let nonempty = |s: &Option<String>| {
        s.as_deref()
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
    };
    let query = SlotQuery {
        environment: EnvironmentId::new(request.environment.trim()),
        services: request
            .services
            .iter()
            .map(|s| ServiceId::new(s.trim()))
            .collect(),
        team: nonempty(&request.team).map(TeamId::new),
        owner: nonempty(&request.owner),
        after_releases: request
            .after_releases
            .iter()
            .map(|r| ReleaseId::new(r.trim()))
            .collect(),
        duration,
        after,
        within,
        avoid_soft: request.avoid_soft,
        moving: nonempty(&request.moving).map(ReleaseId::new),
    };
    let answer = relcal_domain::find_slot(plan, &query).map_err(|e| invalid(e.flag, e.message))?;
    Ok(SlotReport {
        found: answer.slot.is_some(),
        start: answer.slot.map(|s| utc(s.start)),
        end: answer.slot.map(|s| utc(s.end)),
        skipped: answer
            .skipped
            .into_iter()
            .map(|k| SlotSkip {
                start: utc(k.period.start),
                end: utc(k.period.end),
                reason: k.reason,
                code: k.code.to_owned(),
            })
            .collect(),
        skipped_truncated: answer.skipped_truncated,
        team: answer.team.map(|t| t.to_string()),
        zone: answer.zone.name().to_owned(),
        message: answer.message,
    })
}
