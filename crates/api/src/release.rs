//! Changing one release: move it, change its status. Each change is checked
//! (the release's conflicts before and after) and written in one transaction.

use crate::check::{stored_plan, utc, CheckSummary, ConflictReport};
use crate::error::{ApiError, ErrorCode};
use chrono::{DateTime, Utc};
use relcal_domain::{Checker, Conflict, ConflictSeverity, Plan, Release, ReleaseId};
use relcal_store::Store;
use serde::Serialize;

/// What one change did to a release and to the calendar's conflicts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct ReleaseChange {
    /// The release changed.
    pub release: String,
    /// Its title.
    pub title: String,
    /// Its window after the change, RFC 3339 UTC.
    pub start: String,
    /// Its window after the change, RFC 3339 UTC.
    pub end: String,
    /// Its status after the change.
    pub status: String,
    /// Its conflicts before the change.
    pub before: Vec<ConflictReport>,
    /// Its conflicts after the change.
    pub after: Vec<ConflictReport>,
    /// The whole calendar's counts after the change.
    pub summary: CheckSummary,
}

fn report(c: Conflict) -> ConflictReport {
    ConflictReport {
        code: c.code.to_owned(),
        severity: c.severity.as_str().to_owned(),
        releases: c.releases.iter().map(ToString::to_string).collect(),
        freeze: c.freeze.map(|f| f.to_string()),
        start: utc(c.period.start),
        end: utc(c.period.end),
        message: c.message,
    }
}

/// The release with `id`, and how plan-file errors name it.
fn find<'p>(plan: &'p Plan, id: &str) -> Result<(&'p Release, String), ApiError> {
    plan.releases
        .iter()
        .enumerate()
        .find(|(_, r)| r.id.as_str() == id)
        .map(|(i, r)| (r, format!("releases[{i}] (id \"{id}\")")))
        .ok_or_else(|| {
            ApiError::new(
                ErrorCode::NotFound,
                format!("release \"{id}\" does not exist"),
            )
        })
}

/// Checks `changed` against the calendar, stores it, and reports the difference.
fn apply(
    store: &mut Store,
    plan: &Plan,
    changed: Release,
    now: DateTime<Utc>,
) -> Result<ReleaseChange, ApiError> {
    let id: ReleaseId = changed.id.clone();
    let mut checker = Checker::new(plan, now);
    let before = checker.conflicts_of(&id);
    checker.upsert_release(changed.clone());
    let after = checker.conflicts_of(&id);
    let mut summary = CheckSummary::default();
    for c in checker.into_conflicts() {
        match c.severity {
            ConflictSeverity::Error => summary.errors += 1,
            ConflictSeverity::Warning => summary.warnings += 1,
            ConflictSeverity::Info => summary.infos += 1,
        }
    }
    store.replace_release(&changed)?;
    tracing::info!(release = %id, "release changed");
    Ok(ReleaseChange {
        release: id.to_string(),
        title: changed.title.clone(),
        start: utc(changed.start.utc),
        end: utc(changed.end.utc),
        status: changed.status.as_str().to_owned(),
        before: before.into_iter().map(report).collect(),
        after: after.into_iter().map(report).collect(),
        summary,
    })
}

/// Reschedules a release to `[start, end)` (instants, or local times in the
/// calendar's zone). Invalid input writes nothing.
pub fn move_release(
    store: &mut Store,
    id: &str,
    start: &str,
    end: &str,
    now: DateTime<Utc>,
) -> Result<ReleaseChange, ApiError> {
    let plan = stored_plan(store)?;
    let (release, object) = find(&plan, id)?;
    let moved = release.with_window(&object, start, end, plan.timezone)?;
    apply(store, &plan, moved, now)
}

/// Sets a release's status (`in_progress`, `done`, `rolled_back`, ...).
pub fn set_release_status(
    store: &mut Store,
    id: &str,
    status: &str,
    now: DateTime<Utc>,
) -> Result<ReleaseChange, ApiError> {
    let plan = stored_plan(store)?;
    let (release, object) = find(&plan, id)?;
    let changed = release.with_status(&object, status)?;
    apply(store, &plan, changed, now)
}
