//! Risk scores with their reasons (`relcal risk`, the release panel, the
//! go/no-go view, the CAB agenda), with the team's weights from settings.

use crate::error::{ApiError, ErrorCode};
use chrono::{DateTime, Utc};
use relcal_domain::utc_text as utc;
use relcal_domain::{risk_of, Plan, Release, RiskWeights};
use relcal_store::Store;
use serde::Serialize;

const SETTINGS_KEY: &str = "risk_weights";

/// One factor of a score.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct RiskFactorView {
    /// The factor (a weight's name).
    pub code: String,
    /// Points it adds.
    pub points: u32,
    /// Why.
    pub reason: String,
}

/// A release's risk.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct RiskView {
    /// From 0 to 100.
    pub score: u32,
    /// `low`, `medium` or `high`.
    pub level: String,
    /// The factors that apply, most points first.
    pub factors: Vec<RiskFactorView>,
}

/// The risk of `r` with `weights`.
pub fn risk_view(plan: &Plan, r: &Release, weights: &RiskWeights) -> RiskView {
    let risk = risk_of(plan, r, weights);
    RiskView {
        score: risk.score,
        level: risk.level.to_owned(),
        factors: risk
            .factors
            .into_iter()
            .map(|f| RiskFactorView {
                code: f.code.to_owned(),
                points: f.points,
                reason: f.reason,
            })
            .collect(),
    }
}

/// This database's risk weights (the model's defaults until saved).
pub fn risk_weights(store: &Store) -> Result<RiskWeights, ApiError> {
    crate::json_setting::read(store, SETTINGS_KEY, "risk weights", RiskWeights::default)
}

/// Saves the team's risk weights (each 0 to 100), audited.
pub fn save_risk_weights(
    store: &mut Store,
    weights: RiskWeights,
    now: DateTime<Utc>,
) -> Result<RiskWeights, ApiError> {
    if let Some(field) = weights.invalid() {
        return Err(ApiError::new(
            ErrorCode::Validation,
            format!(
                "risk weights: field `{field}`: at most {} points",
                RiskWeights::MAX
            ),
        ));
    }
    let before = risk_weights(store)?;
    crate::json_setting::save(
        store,
        SETTINGS_KEY,
        "settings.risk_weights",
        (&before, &weights),
        now,
    )?;
    Ok(weights)
}

/// One release's risk, as `relcal risk` lists it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ReleaseRisk {
    /// Release id.
    pub id: String,
    /// Title.
    pub title: String,
    /// Environment id.
    pub environment: String,
    /// Window start, RFC 3339 UTC.
    pub start: String,
    /// The score and its factors.
    #[serde(flatten)]
    pub risk: RiskView,
}

/// The risk of every active release starting at or after `from` (or of the
/// one release `only`, whatever its status), highest first.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RiskReport {
    /// The weights used.
    pub weights: RiskWeights,
    /// Highest score first, then by start.
    pub releases: Vec<ReleaseRisk>,
}

/// Scores the releases of `plan` with `weights` (see [`RiskReport`]).
pub fn risk_report(
    plan: &Plan,
    weights: RiskWeights,
    only: Option<&str>,
    from: DateTime<Utc>,
) -> Result<RiskReport, ApiError> {
    let chosen: Vec<&Release> = match only {
        Some(id) => vec![plan
            .releases
            .iter()
            .find(|r| r.id.as_str() == id)
            .ok_or_else(|| {
                ApiError::new(
                    ErrorCode::NotFound,
                    format!("--release: release \"{id}\" does not exist"),
                )
            })?],
        None => plan
            .releases
            .iter()
            .filter(|r| r.status.is_active() && r.start.utc >= from)
            .collect(),
    };
    let mut releases: Vec<ReleaseRisk> = chosen
        .into_iter()
        .map(|r| ReleaseRisk {
            id: r.id.to_string(),
            title: r.title.clone(),
            environment: r.environment.to_string(),
            start: utc(r.start.utc),
            risk: risk_view(plan, r, &weights),
        })
        .collect();
    releases.sort_by(|a, b| {
        b.risk
            .score
            .cmp(&a.risk.score)
            .then_with(|| (&a.start, &a.id).cmp(&(&b.start, &b.id)))
    });
    Ok(RiskReport { weights, releases })
}
