//! Changing one release: move it, change its status. Each change is checked
//! (the release's conflicts before and after) and written in one transaction.

use crate::check::{CheckSummary, ConflictReport};
use crate::error::{ApiError, ErrorCode};
use crate::plan::stored_plan;
use chrono::{DateTime, Utc};
use relcal_domain::utc_text as utc;
use relcal_domain::{Checker, Conflict, Plan, Release, ReleaseId};
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
    /// What takes the change back (`undo_change`).
    pub undo: crate::Undo,
}

/// The release with `id`, and how plan-file errors name it.
pub(crate) fn find<'p>(plan: &'p Plan, id: &str) -> Result<(&'p Release, String), ApiError> {
    plan.releases
        .iter()
        .enumerate()
        .find(|(_, r)| r.id.as_str() == id)
        .map(|(i, r)| (r, format!("releases[{i}] (id \"{id}\")")))
        .ok_or_else(|| no_such_release(id))
}

/// The error for a release id that is not in the calendar.
pub(crate) fn no_such_release(id: &str) -> ApiError {
    ApiError::new(
        ErrorCode::NotFound,
        format!("release \"{id}\" does not exist"),
    )
}

/// Checks `changed` against the calendar, stores it, and reports the difference.
pub(crate) fn apply(
    store: &mut Store,
    plan: &Plan,
    changed: Release,
    action: &str,
    now: DateTime<Utc>,
) -> Result<ReleaseChange, ApiError> {
    apply_with(store, plan, changed, action, Details::default(), now)
}

/// What the plan format does not carry, written with a release.
#[derive(Default)]
pub(crate) struct Details {
    pub checklist: Option<relcal_store::ChecklistDetail>,
    pub rollback: Option<relcal_store::RollbackDetail>,
}

/// [`apply`], also writing `details` in the same transaction.
pub(crate) fn apply_with(
    store: &mut Store,
    plan: &Plan,
    changed: Release,
    action: &str,
    details: Details,
    now: DateTime<Utc>,
) -> Result<ReleaseChange, ApiError> {
    let id: ReleaseId = changed.id.clone();
    let mut checker = Checker::new(plan, now);
    let before = checker.conflicts_of(&id);
    checker.upsert_release(changed.clone());
    let after = checker.conflicts_of(&id);
    let summary = summary_of(&checker);
    let old = plan.releases.iter().find(|r| r.id == changed.id);
    let undo = write_change(store, old, &changed, action, details, now)?;
    Ok(change_report(&changed, before, after, summary, undo))
}

/// The checker's counts by severity.
pub(crate) fn summary_of(checker: &Checker<'_>) -> CheckSummary {
    let [errors, warnings, infos] = checker.count_by_severity();
    let n = |x: usize| u32::try_from(x).unwrap_or(u32::MAX);
    CheckSummary {
        errors: n(errors),
        warnings: n(warnings),
        infos: n(infos),
    }
}

/// Stores `changed` (replacing `old`, if any) with `details` and its audit
/// entry, in one transaction; returns what takes it back.
pub(crate) fn write_change(
    store: &mut Store,
    old: Option<&Release>,
    changed: &Release,
    action: &str,
    details: Details,
    now: DateTime<Utc>,
) -> Result<crate::Undo, ApiError> {
    let old = old.map(relcal_domain::release_to_json);
    let new = relcal_domain::release_to_json(changed);
    let action = match (&old, action) {
        (None, "release.update") => "release.create",
        (_, a) => a,
    };
    let rec = crate::audit::record(
        store,
        now,
        action,
        ("release", changed.id.as_str()),
        old.as_ref(),
        Some(&new),
    );
    store.replace_release_with_details(
        changed,
        details.checklist.as_ref(),
        details.rollback.as_ref(),
        &[rec],
    )?;
    tracing::info!(release = %changed.id, "release changed");
    Ok(crate::Undo {
        kind: relcal_domain::ObjectKind::Release,
        id: changed.id.to_string(),
        before: old.map(|v| v.to_string()),
        after: Some(new.to_string()),
        position: None,
    })
}

/// What a change did, for the caller.
pub(crate) fn change_report(
    changed: &Release,
    before: Vec<Conflict>,
    after: Vec<Conflict>,
    summary: CheckSummary,
    undo: crate::Undo,
) -> ReleaseChange {
    ReleaseChange {
        release: changed.id.to_string(),
        title: changed.title.clone(),
        start: utc(changed.start.utc),
        end: utc(changed.end.utc),
        status: changed.status.as_str().to_owned(),
        before: before.into_iter().map(ConflictReport::from).collect(),
        after: after.into_iter().map(ConflictReport::from).collect(),
        summary,
        undo,
    }
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
    apply(store, &plan, moved, "release.move", now)
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
    check_approved(&plan, &changed, &object)?;
    apply(store, &plan, changed, "release.status", now)
}

pub(crate) fn refuse(object: &str, field: &str, message: impl std::fmt::Display) -> ApiError {
    ApiError::new(
        ErrorCode::Validation,
        format!("{object}: field `{field}`: {message}"),
    )
}

/// Refuses the status `approved` while the environment's approvals are missing.
pub(crate) fn check_approved(plan: &Plan, release: &Release, object: &str) -> Result<(), ApiError> {
    if release.status != relcal_domain::ReleaseStatus::Approved {
        return Ok(());
    }
    let needed = plan
        .environments
        .iter()
        .find(|e| e.id == release.environment)
        .map_or(0, |e| e.required_approvals);
    let have = release.approvers();
    if (have.len() as u32) < needed {
        let who = if have.is_empty() {
            "none".to_owned()
        } else {
            have.join(", ")
        };
        return Err(refuse(
            object,
            "status",
            format!(
                "`approved` needs {needed} distinct approvals in {}; it has {} ({who})",
                release.environment,
                have.len()
            ),
        ));
    }
    Ok(())
}

/// Appends `items` to the list `key` of a plan-file object (creating it).
pub(crate) fn append(
    obj: &mut serde_json::Map<String, serde_json::Value>,
    key: &str,
    items: Vec<serde_json::Value>,
) {
    let list = obj
        .entry(key)
        .or_insert_with(|| serde_json::Value::from(Vec::<serde_json::Value>::new()));
    if let Some(list) = list.as_array_mut() {
        list.extend(items);
    }
}

/// The release with its JSON changed by `edit`, validated like a plan's.
pub(crate) fn edited(
    plan: &Plan,
    release: &Release,
    object: &str,
    edit: impl FnOnce(&mut serde_json::Map<String, serde_json::Value>),
) -> Result<Release, ApiError> {
    let mut value = relcal_domain::release_to_json(release);
    if let Some(obj) = value.as_object_mut() {
        edit(obj);
    }
    Ok(relcal_domain::parse_release_value(plan, object, value)?)
}
