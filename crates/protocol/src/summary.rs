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

/// What an import would change in the calendar it replaces, object by object
/// (by kind and id): shown before it replaces anything.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct ImportChanges {
    /// Objects the file adds.
    pub added: u32,
    /// Objects in both that the file changes.
    pub changed: u32,
    /// Objects the file leaves out: removed by the import (and, for a
    /// calendar that syncs, from the server at the next sync).
    pub removed: u32,
    /// Of those, releases.
    pub removed_releases: u32,
}

impl ImportChanges {
    /// What replacing `current` with `next` changes.
    pub fn between(current: &Plan, next: &Plan) -> Self {
        use std::collections::HashMap;
        let objects = |p: &Plan| -> HashMap<(&'static str, String), serde_json::Value> {
            p.objects()
                .map(|o| ((o.kind().noun(), o.id().to_owned()), o.to_json()))
                .collect()
        };
        let (was, will) = (objects(current), objects(next));
        let n = |len: usize| u32::try_from(len).unwrap_or(u32::MAX);
        let gone: Vec<_> = was.keys().filter(|k| !will.contains_key(*k)).collect();
        Self {
            added: n(will.keys().filter(|k| !was.contains_key(*k)).count()),
            changed: n(will
                .iter()
                .filter(|(k, v)| was.get(*k).is_some_and(|w| w != *v))
                .count()),
            removed: n(gone.len()),
            removed_releases: n(gone.iter().filter(|(kind, _)| *kind == "release").count()),
        }
    }
}
