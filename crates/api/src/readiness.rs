//! A release's readiness: its checklist (items ticked with owner and
//! evidence, a template's items added) and its rollback plan. Each change is
//! one release change (`release.rs`), checked and audited like a move.

use crate::error::{ApiError, ErrorCode};
use crate::plan::stored_plan;
use crate::release::{append, apply_with, edited, find, refuse};
use crate::templates::{checklist_templates, template_for};
use crate::write::Change;
use crate::write::Details;
use chrono::{DateTime, Utc};
use relcal_domain::utc_text as utc;
use relcal_store::Store;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use std::collections::HashSet;

/// Adds to a release the items of its environment's template it does not have yet.
pub fn apply_checklist_template(
    store: &mut Store,
    id: &str,
    now: DateTime<Utc>,
) -> Result<Change, ApiError> {
    let templates = checklist_templates(store)?;
    let plan = stored_plan(store)?;
    let (release, object) = find(&plan, id)?;
    let Some(template) = template_for(&templates, &plan, release.environment.as_str()) else {
        return Err(ApiError::new(
            ErrorCode::NotFound,
            format!("{object}: its environment has no checklist template"),
        ));
    };
    let have: HashSet<&str> = release.checklist.iter().map(|c| c.id.as_str()).collect();
    let missing: Vec<Value> = template
        .items
        .iter()
        .filter(|i| !have.contains(i.id.as_str()))
        .map(|i| json!({ "id": i.id, "text": i.text, "required": i.required, "done": false }))
        .collect();
    let changed = edited(&plan, release, &object, |obj| {
        append(obj, "checklist", missing);
    })?;
    apply_with(
        store,
        &plan,
        changed,
        "release.checklist_template",
        Details::default(),
        now,
    )
}

/// A change to one checklist item.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct ChecklistItemInput {
    /// Item id.
    pub item_id: String,
    /// Done or not.
    pub done: bool,
    /// Who should do it.
    pub owner: Option<String>,
    /// A note or an evidence link.
    pub note: Option<String>,
}

/// Longest note on a checklist item.
pub(crate) const MAX_NOTE: usize = 2000;
/// Longest owner of a checklist item, or rollback trigger.
pub(crate) const MAX_NAME: usize = 500;
/// Most triggers a rollback plan lists.
pub(crate) const MAX_TRIGGERS: usize = 100;

/// Ticks or unticks a checklist item (recording who and when), and sets its
/// owner and note.
pub fn set_checklist_item(
    store: &mut Store,
    id: &str,
    input: ChecklistItemInput,
    now: DateTime<Utc>,
) -> Result<Change, ApiError> {
    let plan = stored_plan(store)?;
    let (release, object) = find(&plan, id)?;
    let Some(index) = release.checklist.iter().position(|c| c.id == input.item_id) else {
        return Err(ApiError::new(
            ErrorCode::NotFound,
            format!("{object}: it has no checklist item \"{}\"", input.item_id),
        ));
    };
    let clean = |s: &Option<String>| {
        s.as_deref()
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
    };
    let note = clean(&input.note);
    if note
        .as_deref()
        .is_some_and(|n| n.chars().count() > MAX_NOTE)
    {
        return Err(refuse(
            &object,
            &format!("checklist[{index}].note"),
            format!("is longer than {MAX_NOTE} characters"),
        ));
    }
    if clean(&input.owner).is_some_and(|o| o.chars().count() > MAX_NAME) {
        return Err(refuse(
            &object,
            &format!("checklist[{index}].owner"),
            format!("is longer than {MAX_NAME} characters"),
        ));
    }
    let was_done = release.checklist[index].done;
    let previous = store
        .checklist_details(id)?
        .into_iter()
        .find(|d| d.item_id == input.item_id);
    let (done_by, done_at) = match (input.done, was_done) {
        (true, true) => (
            previous.as_ref().and_then(|p| p.done_by.clone()),
            previous.as_ref().and_then(|p| p.done_at.clone()),
        ),
        (true, false) => (Some(store.actor().to_owned()), Some(utc(now))),
        (false, _) => (None, None),
    };
    let changed = edited(&plan, release, &object, |obj| {
        if let Some(item) = obj
            .get_mut("checklist")
            .and_then(|l| l.as_array_mut())
            .and_then(|l| l.get_mut(index))
        {
            item["done"] = Value::Bool(input.done);
        }
    })?;
    let detail = relcal_store::ChecklistDetail {
        item_id: input.item_id.clone(),
        owner: clean(&input.owner),
        done_by,
        done_at,
        note,
    };
    apply_with(
        store,
        &plan,
        changed,
        if input.done {
            "release.checklist_done"
        } else {
            "release.checklist_open"
        },
        Details {
            checklist: vec![detail],
            rollback: None,
        },
        now,
    )
}

/// Saves a release's rollback plan. Errors name the field.
pub fn save_rollback(
    store: &mut Store,
    id: &str,
    input: crate::RollbackView,
    now: DateTime<Utc>,
) -> Result<Change, ApiError> {
    let plan = stored_plan(store)?;
    let (release, object) = find(&plan, id)?;
    let steps: Vec<String> = input
        .steps
        .iter()
        .map(|s| s.trim().to_owned())
        .filter(|s| !s.is_empty())
        .collect();
    if steps.is_empty() {
        return Err(refuse(&object, "rollback.steps", "give at least one step"));
    }
    if input
        .time_budget_minutes
        .is_some_and(|m| m == 0 || m > 24 * 60)
    {
        return Err(refuse(
            &object,
            "rollback.time_budget_minutes",
            "must be from 1 to 1440 minutes",
        ));
    }
    let tested_on = input
        .tested_on
        .as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|d| {
            chrono::NaiveDate::parse_from_str(d, "%Y-%m-%d")
                .map(|_| d.to_owned())
                .map_err(|_| {
                    refuse(
                        &object,
                        "rollback.tested_on",
                        format!("`{d}` is not a date such as 2026-11-20"),
                    )
                })
        })
        .transpose()?;
    if tested_on.is_some() && !input.tested {
        return Err(refuse(
            &object,
            "rollback.tested_on",
            "a rehearsal date needs `tested`",
        ));
    }
    let owner = input
        .owner
        .as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty());
    let changed = edited(&plan, release, &object, |obj| {
        let mut rb = json!({ "steps": steps, "tested": input.tested });
        if let Some(o) = owner {
            rb["owner"] = json!(o);
        }
        if let Some(m) = input.time_budget_minutes {
            rb["time_budget_minutes"] = json!(m);
        }
        obj.insert("rollback".into(), rb);
    })?;
    let triggers: Vec<String> = input
        .triggers
        .iter()
        .map(|t| t.trim().to_owned())
        .filter(|t| !t.is_empty())
        .collect();
    if triggers.len() > MAX_TRIGGERS {
        return Err(refuse(
            &object,
            "rollback.triggers",
            format!("at most {MAX_TRIGGERS} triggers"),
        ));
    }
    if let Some(i) = triggers.iter().position(|t| t.chars().count() > MAX_NAME) {
        return Err(refuse(
            &object,
            &format!("rollback.triggers[{i}]"),
            format!("is longer than {MAX_NAME} characters"),
        ));
    }
    let detail = relcal_store::RollbackDetail {
        tested_on,
        migration_reversible: input.migration_reversible,
        triggers,
    };
    apply_with(
        store,
        &plan,
        changed,
        "release.rollback",
        Details {
            checklist: Vec::new(),
            rollback: Some(detail),
        },
        now,
    )
}
