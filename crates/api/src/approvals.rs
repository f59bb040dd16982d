//! Approvals of a release (distinct people, never its owner) and
//! exceptions to a freeze.

use crate::error::{ApiError, ErrorCode};
use crate::plan::stored_plan;
use crate::release::{append, apply, check_approved, edited, find, refuse};
use crate::write::Change;
use chrono::{DateTime, Utc};
use relcal_domain::utc_text as utc;
use relcal_store::Store;

/// Records the store's actor as an approver of the release, now. Refused for
/// the person who runs it, for a second approval by the same person, and for
/// a release that is no longer active.
pub fn approve_release(
    store: &mut Store,
    id: &str,
    now: DateTime<Utc>,
) -> Result<Change, ApiError> {
    let plan = stored_plan(store)?;
    let (release, object) = find(&plan, id)?;
    let who = store.actor().to_owned();
    if release.owner.as_deref() == Some(who.as_str()) {
        return Err(refuse(
            &object,
            "approvals",
            format!("{who} runs this release and cannot approve it"),
        ));
    }
    if release.approvals.iter().any(|a| a.by == who) {
        return Err(refuse(
            &object,
            "approvals",
            format!("{who} has already approved it"),
        ));
    }
    if !release.status.is_active() {
        return Err(refuse(
            &object,
            "approvals",
            format!("a {} release cannot be approved", release.status.as_str()),
        ));
    }
    let changed = edited(&plan, release, &object, |obj| {
        let entry = serde_json::json!({ "by": who, "at": utc(now) });
        append(obj, "approvals", vec![entry]);
    })?;
    apply(store, &plan, changed, "release.approve", now)
}

/// Withdraws `approver`'s approval. An `approved` release that no longer has
/// its approvals goes back to `planned`.
pub fn revoke_approval(
    store: &mut Store,
    id: &str,
    approver: &str,
    now: DateTime<Utc>,
) -> Result<Change, ApiError> {
    let plan = stored_plan(store)?;
    let (release, object) = find(&plan, id)?;
    if !release.approvals.iter().any(|a| a.by == approver) {
        return Err(ApiError::new(
            ErrorCode::NotFound,
            format!("{object}: {approver} has not approved it"),
        ));
    }
    let mut changed = edited(&plan, release, &object, |obj| {
        if let Some(list) = obj.get_mut("approvals").and_then(|a| a.as_array_mut()) {
            list.retain(|a| a.get("by").and_then(|b| b.as_str()) != Some(approver));
        }
    })?;
    if check_approved(&plan, &changed, &object).is_err() {
        changed.status = relcal_domain::ReleaseStatus::Planned;
    }
    apply(store, &plan, changed, "release.revoke_approval", now)
}

/// Records an approved exception to a freeze for this release: `reason` says
/// why, `approver` who allowed it. The engine then reports
/// `freeze.overridden` instead of a freeze conflict.
pub fn request_override(
    store: &mut Store,
    id: &str,
    freeze: &str,
    reason: &str,
    approver: &str,
    now: DateTime<Utc>,
) -> Result<Change, ApiError> {
    request_override_until(store, id, freeze, reason, approver, None, now)
}

/// [`request_override`] with an expiry: from `expires` on, the freeze applies again.
pub fn request_override_until(
    store: &mut Store,
    id: &str,
    freeze: &str,
    reason: &str,
    approver: &str,
    expires: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
) -> Result<Change, ApiError> {
    let plan = stored_plan(store)?;
    let (release, object) = find(&plan, id)?;
    let (reason, approver) = (reason.trim(), approver.trim());
    if reason.is_empty() {
        return Err(refuse(
            &object,
            "overrides.reason",
            "say why the freeze must be broken",
        ));
    }
    if approver.is_empty() {
        return Err(refuse(
            &object,
            "overrides.by",
            "name who approved the exception",
        ));
    }
    if approver == store.actor() {
        return Err(refuse(
            &object,
            "overrides.by",
            format!("{approver} asks for the exception and cannot also approve it"),
        ));
    }
    // Who asked is recorded with who approved (the plan format's `requested_by`).
    let asked = store.actor().to_owned();
    write_exception(
        store,
        (&plan, release, &object),
        freeze,
        (reason, approver, &asked),
        expires,
        now,
    )
}

/// Grants a freeze exception as the store's actor (the approver, who acts
/// and is recorded as `by`), asked for by `requested_by`, with a reason and
/// an optional expiry after which the freeze applies again. Refused when the
/// approver asked for it, runs the release, or the exception already exists.
pub fn grant_exception(
    store: &mut Store,
    id: &str,
    freeze: &str,
    reason: &str,
    requested_by: &str,
    expires: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
) -> Result<Change, ApiError> {
    let plan = stored_plan(store)?;
    let (release, object) = find(&plan, id)?;
    let (reason, asked) = (reason.trim(), requested_by.trim());
    let approver = store.actor().to_owned();
    if reason.is_empty() {
        return Err(refuse(
            &object,
            "overrides.reason",
            "say why the freeze must be broken",
        ));
    }
    if asked.is_empty() {
        return Err(refuse(
            &object,
            "overrides.requested_by",
            "name who asked for the exception",
        ));
    }
    if let Some(e) = relcal_domain::approver_refusal(release, asked, &approver) {
        return Err(exception_error(&object, e));
    }
    write_exception(
        store,
        (&plan, release, &object),
        freeze,
        (reason, &approver, asked),
        expires,
        now,
    )
}

/// Checks an exception to `freeze` ([`exception_target`]) and writes it:
/// `reason`, approved `by`, `asked` for by, until `expires` when given.
pub(crate) fn write_exception(
    store: &mut Store,
    (plan, release, object): (&relcal_domain::Plan, &relcal_domain::Release, &str),
    freeze: &str,
    (reason, by, asked): (&str, &str, &str),
    expires: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
) -> Result<Change, ApiError> {
    exception_target(plan, release, object, freeze, expires, now)?;
    let changed = edited(plan, release, object, |obj| {
        let mut entry = serde_json::json!({
            "freeze": freeze, "reason": reason, "by": by, "requested_by": asked
        });
        if let Some(at) = expires {
            entry["expires"] = serde_json::Value::String(utc(at));
        }
        append(obj, "overrides", vec![entry]);
    })?;
    apply(store, plan, changed, "release.override", now)
}

/// Checks an exception about to be recorded for `release`
/// ([`relcal_domain::exception_target`]), as an error naming the object and field.
fn exception_target<'p>(
    plan: &'p relcal_domain::Plan,
    release: &relcal_domain::Release,
    object: &str,
    freeze: &str,
    expires: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
) -> Result<&'p relcal_domain::Freeze, ApiError> {
    relcal_domain::exception_target(plan, release, freeze, expires, now)
        .map_err(|e| exception_error(object, e))
}

/// An exception refused, as an error naming the object and field.
pub(crate) fn exception_error(object: &str, e: relcal_domain::ExceptionRefusal) -> ApiError {
    match e {
        relcal_domain::ExceptionRefusal::NoSuchFreeze(_) => {
            ApiError::new(ErrorCode::NotFound, e.to_string())
        }
        relcal_domain::ExceptionRefusal::Field(field, why) => refuse(object, field, why),
    }
}
