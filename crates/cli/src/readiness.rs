//! `relcal approve` and `relcal checklist`: a release's approvals and its
//! readiness checklist from a pipeline or a script, with the app's rules
//! (the owner cannot approve, each person approves once).

use crate::args::{DbArg, TextOrJson};
use crate::{open_as, print_change};
use relcal_api::{ApiError, ChecklistItemInput, ChecklistView, ErrorCode};

/// Adds the actor's approval of `id`, or withdraws it (`revoke`).
pub(crate) fn approve(
    id: &str,
    revoke: bool,
    db: &DbArg,
    by: Option<&str>,
) -> Result<(), ApiError> {
    let mut store = open_as(db, by)?;
    let now = relcal_api::clock::now();
    let change = if revoke {
        let who = store.actor().to_owned();
        relcal_api::revoke_approval(&mut store, id, &who, now)?
    } else {
        relcal_api::approve_release(&mut store, id, now)?
    };
    print_change(&change);
    Ok(())
}

/// Ticks the `done` items and unticks the `undone` ones of `id` (each
/// keeps its owner and note), then shows the checklist. Every item named
/// is checked first: a refusal writes nothing.
pub(crate) fn checklist(
    id: &str,
    done: &[String],
    undone: &[String],
    db: &DbArg,
    by: Option<&str>,
    format: TextOrJson,
) -> Result<(), ApiError> {
    let mut store = open_as(db, by)?;
    let now = relcal_api::clock::now();
    let items = relcal_api::release_detail(&store, id, now)?.checklist;
    let object = format!("release \"{id}\"");
    let mut changes: Vec<(&ChecklistView, bool)> = Vec::new();
    for (names, to) in [(done, true), (undone, false)] {
        for name in names {
            let Some(item) = items.iter().find(|i| &i.id == name) else {
                let known: Vec<&str> = items.iter().map(|i| i.id.as_str()).collect();
                return Err(ApiError::new(
                    ErrorCode::Validation,
                    format!(
                        "{object}: field `checklist`: it has no item \"{name}\" (its items: {})",
                        if known.is_empty() {
                            "none".to_owned()
                        } else {
                            known.join(", ")
                        }
                    ),
                ));
            };
            if changes.iter().any(|(i, _)| i.id == item.id) {
                return Err(ApiError::new(
                    ErrorCode::Validation,
                    format!(
                        "{object}: field `checklist`: item \"{name}\" is named twice (--done and --undone)"
                    ),
                ));
            }
            changes.push((item, to));
        }
    }
    for (item, to) in changes {
        if item.done == to {
            continue;
        }
        let input = ChecklistItemInput {
            item_id: item.id.clone(),
            done: to,
            owner: item.owner.clone(),
            note: item.note.clone(),
        };
        relcal_api::set_checklist_item(&mut store, id, input, now)?;
    }
    let items = relcal_api::release_detail(&store, id, now)?.checklist;
    match format {
        TextOrJson::Json => crate::print_json(&items)?,
        TextOrJson::Text => {
            if items.is_empty() {
                println!("{object} has no checklist");
            }
            for i in &items {
                let mark = if i.done { "x" } else { " " };
                let required = if i.required { " (required)" } else { "" };
                let by = match (&i.done_by, &i.done_at) {
                    (Some(by), Some(at)) => format!(", done by {by} at {at}"),
                    _ => String::new(),
                };
                println!("[{mark}] {}: {}{required}{by}", i.id, i.text);
            }
        }
    }
    Ok(())
}
