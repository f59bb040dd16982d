//! Taking a change back, whatever it changed: every change (of a release or
//! of any other object) returns an [`Undo`], and [`undo_change`] is the one
//! call that takes it back.
//!
//! An undo is three-way, field by field: it puts back only the fields the
//! change itself changed, and only where they still hold what the change
//! left. A move undone after someone approved the release (here, or in a
//! sync pull) moves it back and keeps the approval; a field changed again
//! since is named, and nothing is written.

use crate::edit::{delete_object, restore_object, restore_object_with};
use crate::error::{ApiError, ErrorCode};
use crate::plan::stored_plan;
use crate::readiness::{MAX_NAME, MAX_NOTE, MAX_TRIGGERS};
use crate::release::apply_with;
use crate::write::{Change, Details};
use chrono::{DateTime, Utc};
use relcal_domain::ObjectKind;
use relcal_store::ChecklistDetail;
use relcal_store::Store;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// What takes one change back: the object before and after it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[serde(deny_unknown_fields)]
pub struct Undo {
    /// The kind of object changed.
    pub kind: ObjectKind,
    /// Its id.
    pub id: String,
    /// The object before the change (plan-file JSON text), or null when the
    /// change created it.
    pub before: Option<String>,
    /// The object after the change, or null when the change deleted it.
    pub after: Option<String>,
    /// Where it was in its list, for putting a deleted object back there.
    pub position: Option<u32>,
    /// A release's checklist and rollback details (what the plan format
    /// does not carry: owners, notes, who ticked an item and when, a
    /// rollback's rehearsal, triggers) before the change, as JSON, when the
    /// change touched them or deleted the release.
    #[serde(default)]
    pub details_before: Option<String>,
    /// Those details after the change.
    #[serde(default)]
    pub details_after: Option<String>,
}

fn object(
    kind: ObjectKind,
    id: &str,
    which: &str,
    text: &str,
) -> Result<Map<String, Value>, ApiError> {
    match serde_json::from_str(text) {
        Ok(Value::Object(map)) => Ok(map),
        _ => Err(ApiError::new(
            ErrorCode::Validation,
            format!(
                "undo of {} \"{id}\": `{which}` is not a JSON object",
                kind.noun()
            ),
        )),
    }
}

/// The object as stored now, as plan-file JSON.
fn current(
    store: &Store,
    kind: ObjectKind,
    id: &str,
) -> Result<Option<Map<String, Value>>, ApiError> {
    let plan = stored_plan(store)?;
    Ok(match plan.object_json(kind, id) {
        Some((_, Value::Object(map))) => Some(map),
        _ => None,
    })
}

/// The fields where `now` no longer holds what `after` left, among those
/// the change changed (from `before`).
fn changed_since<'a>(
    before: &'a Map<String, Value>,
    after: &'a Map<String, Value>,
    now: &Map<String, Value>,
) -> Vec<&'a str> {
    let mut fields: Vec<&str> = before
        .keys()
        .chain(after.keys())
        .map(String::as_str)
        .filter(|k| before.get(*k) != after.get(*k))
        .filter(|k| now.get(*k) != after.get(*k) && now.get(*k) != before.get(*k))
        .collect();
    fields.sort_unstable();
    fields.dedup();
    fields
}

fn changed_again(kind: ObjectKind, id: &str, fields: &[&str]) -> ApiError {
    ApiError::new(
        ErrorCode::Validation,
        format!(
            "cannot undo: {} \"{id}\" was changed again since ({}); undo would lose that",
            kind.noun(),
            fields.join(", ")
        ),
    )
}

/// Most text an undo's details may be (a release with a thousand items,
/// each with a long note, is well under it).
const MAX_DETAILS: usize = 4 << 20;

/// An undo's details of a release (`details_before` or `details_after`),
/// read and checked against the release as it was then (`copy`, plan-file
/// JSON): an undo comes from the window, so it writes only what the forms
/// could have written.
fn details(
    kind: ObjectKind,
    id: &str,
    which: &str,
    text: Option<&str>,
    copy: Option<&Map<String, Value>>,
) -> Result<Details, ApiError> {
    let Some(text) = text else {
        return Ok(Details::default());
    };
    let bad = |why: String| {
        ApiError::new(
            ErrorCode::Validation,
            format!(
                "undo of {} \"{id}\": field `details_{which}`: {why}",
                kind.noun()
            ),
        )
    };
    if kind != ObjectKind::Release {
        return Err(bad("only a release has details".to_owned()));
    }
    if text.len() > MAX_DETAILS {
        return Err(bad(format!("is over {MAX_DETAILS} bytes")));
    }
    let details: Details =
        serde_json::from_str(text).map_err(|e| bad(format!("is not a release's details: {e}")))?;
    let items = checklist_ids(copy);
    let long =
        |t: &Option<String>, most: usize| t.as_deref().is_some_and(|t| t.chars().count() > most);
    let mut seen = std::collections::HashSet::new();
    for (n, d) in details.checklist.iter().enumerate() {
        let at = format!("checklist[{n}]");
        if !items.contains(d.item_id.as_str()) {
            let shown: String = d.item_id.chars().take(64).collect();
            return Err(bad(format!(
                "{at}: the release has no checklist item \"{shown}\""
            )));
        }
        if !seen.insert(d.item_id.as_str()) {
            return Err(bad(format!("{at}: item \"{}\" is given twice", d.item_id)));
        }
        for (field, value, most) in [
            ("owner", &d.owner, MAX_NAME),
            ("done_by", &d.done_by, MAX_NAME),
            ("note", &d.note, MAX_NOTE),
        ] {
            if long(value, most) {
                return Err(bad(format!(
                    "{at}.{field}: is longer than {most} characters"
                )));
            }
        }
        if d.done_at
            .as_deref()
            .is_some_and(|t| DateTime::parse_from_rfc3339(t).is_err())
        {
            return Err(bad(format!("{at}.done_at: not an RFC 3339 time")));
        }
    }
    if let Some(r) = &details.rollback {
        if r.tested_on
            .as_deref()
            .is_some_and(|d| chrono::NaiveDate::parse_from_str(d, "%Y-%m-%d").is_err())
        {
            return Err(bad(
                "rollback.tested_on: not a date such as 2026-11-20".to_owned()
            ));
        }
        if r.triggers.len() > MAX_TRIGGERS {
            return Err(bad(format!("rollback.triggers: at most {MAX_TRIGGERS}")));
        }
        if let Some(i) = r.triggers.iter().position(|t| t.chars().count() > MAX_NAME) {
            return Err(bad(format!(
                "rollback.triggers[{i}]: is longer than {MAX_NAME} characters"
            )));
        }
    }
    Ok(details)
}

/// The ids of the checklist items of a release's plan-file JSON.
fn checklist_ids(copy: Option<&Map<String, Value>>) -> std::collections::HashSet<&str> {
    copy.and_then(|c| c.get("checklist"))
        .and_then(Value::as_array)
        .map(|l| {
            l.iter()
                .filter_map(|i| i.get("id").and_then(Value::as_str))
                .collect()
        })
        .unwrap_or_default()
}

/// The checklist items (and the rollback plan) whose details in `now` are
/// not those of `left`, by name.
fn details_changed(left: &Details, now: &Details) -> Vec<String> {
    let items = item_ids(left, now);
    let mut changed: Vec<String> = items
        .into_iter()
        .filter(|i| item(left, i) != item(now, i))
        .map(|i| format!("checklist item \"{i}\""))
        .collect();
    if left.rollback.clone().unwrap_or_default() != now.rollback.clone().unwrap_or_default() {
        changed.push("rollback details".to_owned());
    }
    changed
}

/// The checklist items either holds details of, in order.
fn item_ids<'a>(a: &'a Details, b: &'a Details) -> Vec<&'a str> {
    let mut items: Vec<&str> = a
        .checklist
        .iter()
        .chain(&b.checklist)
        .map(|c| c.item_id.as_str())
        .collect();
    items.sort_unstable();
    items.dedup();
    items
}

/// An item's details in `d`; an item with none counts as one with all of
/// them empty.
fn item(d: &Details, item_id: &str) -> ChecklistDetail {
    d.checklist
        .iter()
        .find(|c| c.item_id == item_id)
        .cloned()
        .unwrap_or_else(|| ChecklistDetail {
            item_id: item_id.to_owned(),
            ..ChecklistDetail::default()
        })
}

/// The details to write back, three-way like the fields: each checklist
/// item (and the rollback plan) the change changed goes back where it still
/// holds what the change left; where it was changed again since, it is
/// named in the second list. An item with no details counts as one with
/// all of them empty.
fn details_back(before: &Details, after: &Details, now: &Details) -> (Details, Vec<String>) {
    let (mut back, mut again) = (Details::default(), Vec::new());
    let items = item_ids(before, after);
    for id in items {
        let (b, a, n) = (item(before, id), item(after, id), item(now, id));
        if b == a || n == b {
            continue;
        }
        if n == a {
            back.checklist.push(b);
        } else {
            again.push(format!("checklist item \"{id}\""));
        }
    }
    let rollback = |d: &Details| d.rollback.clone().unwrap_or_default();
    let (b, a, n) = (rollback(before), rollback(after), rollback(now));
    if b != a && n != b {
        if n == a {
            back.rollback = Some(b);
        } else {
            again.push("rollback details".to_owned());
        }
    }
    (back, again)
}

/// Takes back the change that returned `undo` (see the module documentation).
pub fn undo_change(store: &mut Store, undo: &Undo, now: DateTime<Utc>) -> Result<Change, ApiError> {
    let (kind, id) = (undo.kind, undo.id.as_str());
    let before = undo
        .before
        .as_deref()
        .map(|t| object(kind, id, "before", t))
        .transpose()?;
    let after = undo
        .after
        .as_deref()
        .map(|t| object(kind, id, "after", t))
        .transpose()?;
    // An undo puts back the object it names, never another one.
    for (which, copy) in [("before", &before), ("after", &after)] {
        if let Some(copy) = copy {
            if copy.get("id").and_then(Value::as_str) != Some(id) {
                return Err(ApiError::new(
                    ErrorCode::Validation,
                    format!(
                        "undo of {} \"{id}\": `{which}` is another object",
                        kind.noun()
                    ),
                ));
            }
        }
    }
    let details_before = details(
        kind,
        id,
        "before",
        undo.details_before.as_deref(),
        before.as_ref(),
    )?;
    let details_after = details(
        kind,
        id,
        "after",
        undo.details_after.as_deref(),
        after.as_ref(),
    )?;
    let now_stored = current(store, kind, id)?;
    match (before, after, now_stored) {
        // It was created: remove it, unless it was changed since.
        (None, Some(after), Some(stored)) => {
            // Every field counts here: removing it would lose any change since.
            let mut fields: Vec<&str> = after
                .keys()
                .chain(stored.keys())
                .map(String::as_str)
                .filter(|k| after.get(*k) != stored.get(*k))
                .collect();
            fields.sort_unstable();
            fields.dedup();
            // And its details: a note or an owner set since is not in the JSON.
            let details_since = match kind {
                ObjectKind::Release => details_changed(
                    &details_after,
                    &Details::stored(store, id)?.only(&checklist_ids(Some(&stored))),
                ),
                _ => Vec::new(),
            };
            fields.extend(details_since.iter().map(String::as_str));
            if !fields.is_empty() {
                return Err(changed_again(kind, id, &fields));
            }
            delete_object(store, kind, id, now)
        }
        // It was deleted: put it back where it was, with its details.
        (Some(before), None, None) => restore_object_with(
            store,
            kind,
            id,
            Some(&Value::Object(before).to_string()),
            undo.position,
            details_before,
            now,
        ),
        // It was changed: put back the fields the change changed.
        (Some(before), Some(after), Some(stored)) => {
            let mut fields: Vec<String> = changed_since(&before, &after, &stored)
                .into_iter()
                .map(str::to_owned)
                .collect();
            // A release's details, likewise.
            let (details_back, details_again) = match kind {
                ObjectKind::Release
                    if undo.details_before.is_some() || undo.details_after.is_some() =>
                {
                    details_back(
                        &details_before,
                        &details_after,
                        &Details::stored(store, id)?.only(&checklist_ids(Some(&stored))),
                    )
                }
                _ => (Details::default(), Vec::new()),
            };
            fields.extend(details_again);
            if !fields.is_empty() {
                let fields: Vec<&str> = fields.iter().map(String::as_str).collect();
                return Err(changed_again(kind, id, &fields));
            }
            let mut restored = stored.clone();
            for key in before.keys().chain(after.keys()) {
                if before.get(key) == after.get(key) {
                    continue;
                }
                match before.get(key) {
                    Some(value) => restored.insert(key.clone(), value.clone()),
                    None => restored.remove(key),
                };
            }
            if restored == stored && details_back == Details::default() {
                return Err(ApiError::new(
                    ErrorCode::Validation,
                    format!(
                        "nothing to undo: {} \"{id}\" is already as it was",
                        kind.noun()
                    ),
                ));
            }
            match kind {
                ObjectKind::Release => {
                    let plan = stored_plan(store)?;
                    let object = format!("releases (id \"{id}\")");
                    let release = relcal_domain::parse_release_value(
                        &plan,
                        &object,
                        Value::Object(restored),
                    )?;
                    apply_with(store, &plan, release, "release.undo", details_back, now)
                }
                _ => restore_object(
                    store,
                    kind,
                    id,
                    Some(&Value::Object(restored).to_string()),
                    undo.position,
                    now,
                ),
            }
        }
        (None, _, Some(_)) | (Some(_), None, Some(_)) => Err(ApiError::new(
            ErrorCode::Validation,
            format!(
                "cannot undo: {} \"{id}\" exists again since it was deleted",
                kind.noun()
            ),
        )),
        (_, _, None) => Err(ApiError::new(
            ErrorCode::NotFound,
            format!("cannot undo: {} \"{id}\" was deleted since", kind.noun()),
        )),
    }
}
