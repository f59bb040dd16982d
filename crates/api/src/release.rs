//! Changing one release: move it, change its status. Each change is checked
//! (the release's conflicts before and after) and written in one transaction.

use crate::error::{ApiError, ErrorCode};
use crate::plan::stored_plan;
use crate::write::{commit, Change, Details, Edit};
use chrono::{DateTime, Utc};
use relcal_domain::{Plan, Release};
use relcal_store::Store;

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
) -> Result<Change, ApiError> {
    apply_with(store, plan, changed, action, Details::default(), now)
}

/// [`apply`], also writing `details` in the same transaction.
pub(crate) fn apply_with(
    store: &mut Store,
    plan: &Plan,
    changed: Release,
    action: &str,
    details: Details,
    now: DateTime<Utc>,
) -> Result<Change, ApiError> {
    let edit = Edit::Release {
        changed: Box::new(changed),
        action,
        details,
    };
    commit(store, plan, edit, now)
}

/// Reschedules a release to `[start, end)` (instants, or local times in the
/// calendar's zone). Invalid input writes nothing.
pub fn move_release(
    store: &mut Store,
    id: &str,
    start: &str,
    end: &str,
    now: DateTime<Utc>,
) -> Result<Change, ApiError> {
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
) -> Result<Change, ApiError> {
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
