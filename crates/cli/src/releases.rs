//! The commands about releases: `relcal release status|move`, and
//! `relcal approve` and `relcal checklist`: a release's approvals and its
//! readiness checklist from a pipeline or a script, with the app's rules
//! (the owner cannot approve, each person approves once); and what is
//! there: `relcal releases`, `relcal freezes` and `relcal go-no-go`.

use crate::args::ReleaseCommand;
use crate::args::{DbArg, TextOrJson};
use crate::open_as;
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

/// The releases from `from` (default now) to `to` (default 30 days later).
pub(crate) fn releases(
    db: &DbArg,
    from: Option<&str>,
    to: Option<&str>,
    format: TextOrJson,
) -> Result<(), ApiError> {
    let store = crate::open_existing(&db.path()?)?;
    let from = match from {
        Some(t) => relcal_api::clock::parse_instant("--from", t)?,
        None => relcal_api::clock::now(),
    };
    let to = match to {
        Some(t) => relcal_api::clock::parse_instant("--to", t)?,
        None => from + chrono::Duration::days(30),
    };
    let releases = relcal_api::calendar_view(&store, from, to)?.releases;
    match format {
        TextOrJson::Json => crate::print_json(&releases)?,
        TextOrJson::Text => {
            if releases.is_empty() {
                println!("no releases from {from} to {to}");
            }
            for r in &releases {
                println!(
                    "{} – {}  {:<12} {:<22} {} ({}, {}), {}% ready",
                    r.start,
                    r.end,
                    r.status,
                    r.id,
                    r.title,
                    r.team_name,
                    r.environment_name,
                    r.readiness
                );
            }
        }
    }
    Ok(())
}

/// The freezes, each with its rule as the engine words it.
pub(crate) fn freezes(db: &DbArg, format: TextOrJson) -> Result<(), ApiError> {
    let store = crate::open_existing(&db.path()?)?;
    let freezes = relcal_api::settings(&store)?.freezes;
    match format {
        TextOrJson::Json => crate::print_json(&freezes)?,
        TextOrJson::Text => {
            if freezes.is_empty() {
                println!("no freezes");
            }
            for f in &freezes {
                println!("{:<4} {:<22} {}: {}", f.severity, f.id, f.name, f.schedule);
            }
        }
    }
    Ok(())
}

/// The go/no-go view of the next `days` days.
pub(crate) fn go_no_go(db: &DbArg, days: u32, format: TextOrJson) -> Result<(), ApiError> {
    let store = crate::open_existing(&db.path()?)?;
    let view = relcal_api::go_no_go(&store, relcal_api::clock::now(), days)?;
    match format {
        TextOrJson::Json => crate::print_json(&view)?,
        TextOrJson::Text => {
            println!("{} to {}", view.from, view.to);
            if view.rows.is_empty() {
                println!("no active releases start in this range");
            }
            for r in &view.rows {
                println!("{:<7} {} {} ({})", r.verdict, r.start, r.id, r.title);
                for why in &r.reasons {
                    println!("        {why}");
                }
            }
        }
    }
    Ok(())
}

/// Prints what a release change did: the new state and the conflicts it gained or lost.
pub(crate) fn print_change(change: &relcal_api::Change) {
    if let Some(r) = &change.release {
        println!(
            "{} ({}): {} from {} to {}",
            r.title, change.id, r.status, r.start, r.end
        );
    }
    let more = |listed: usize, total: u32| {
        let rest = (total as usize).saturating_sub(listed);
        if rest > 0 {
            println!("  … and {rest} more");
        }
    };
    for c in &change.gained {
        println!("  new {:<8} {:<22} {}", c.severity, c.code, c.message);
    }
    more(change.gained.len(), change.gained_total);
    for c in &change.resolved {
        println!("  gone {:<7} {:<22} {}", c.severity, c.code, c.message);
    }
    more(change.resolved.len(), change.resolved_total);
    let s = change.after;
    println!(
        "calendar: {} errors, {} warnings, {} infos",
        s.errors, s.warnings, s.infos
    );
}

pub(crate) fn release(change: ReleaseCommand) -> Result<(), ApiError> {
    let now = relcal_api::clock::now();
    let done = match change {
        ReleaseCommand::Status { id, status, db, by } => {
            let mut store = open_as(&db, by.as_deref())?;
            relcal_api::set_release_status(&mut store, &id, &status, now)?
        }
        ReleaseCommand::Move {
            id,
            start,
            end,
            db,
            by,
        } => {
            let mut store = open_as(&db, by.as_deref())?;
            relcal_api::move_release(&mut store, &id, &start, &end, now)?
        }
    };
    print_change(&done);
    Ok(())
}
