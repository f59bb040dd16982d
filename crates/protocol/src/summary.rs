//! What an import stored: the app's import, the CLI's and the server's
//! `POST /v1/import` answer with it.

use relcal_domain::Plan;
use serde::Serialize;

/// What an import did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct ImportSummary {
    /// Teams stored.
    pub teams: u32,
    /// Services stored.
    pub services: u32,
    /// Environments stored.
    pub environments: u32,
    /// Freezes stored.
    pub freezes: u32,
    /// Releases stored.
    pub releases: u32,
}

impl ImportSummary {
    /// The counts of `plan`.
    pub fn of(plan: &Plan) -> Self {
        let n = |len: usize| u32::try_from(len).unwrap_or(u32::MAX);
        Self {
            teams: n(plan.teams.len()),
            services: n(plan.services.len()),
            environments: n(plan.environments.len()),
            freezes: n(plan.freezes.len()),
            releases: n(plan.releases.len()),
        }
    }
}
