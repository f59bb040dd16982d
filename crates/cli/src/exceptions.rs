//! `relcal exceptions …`: freeze exceptions asked for by one person and
//! approved (or declined) by another.

use crate::args::{ExceptionsCommand, TextOrJson};
use crate::{open_as, print_json};
use relcal_api::{ApiError, ExceptionRequest};

/// Text from a request (anyone who may ask wrote it, or a server sent it),
/// with control characters (terminal escapes) taken out.
fn clean(t: &str) -> String {
    t.chars().filter(|c| !c.is_control()).collect()
}

fn line(r: &ExceptionRequest) -> String {
    let r = &ExceptionRequest {
        id: clean(&r.id),
        release: clean(&r.release),
        freeze: clean(&r.freeze),
        reason: clean(&r.reason),
        expires: r.expires.as_deref().map(clean),
        requested_by: clean(&r.requested_by),
        requested_at: clean(&r.requested_at),
        state: r.state,
        decided_by: r.decided_by.as_deref().map(clean),
        decided_at: r.decided_at.as_deref().map(clean),
        note: r.note.as_deref().map(clean),
    };
    let mut text = format!(
        "{}  {} in {}  {}  asked by {} at {}",
        r.id,
        r.release,
        r.freeze,
        r.state.as_str(),
        r.requested_by,
        r.requested_at
    );
    if let Some(at) = &r.expires {
        text.push_str(&format!("  until {at}"));
    }
    if let (Some(by), Some(at)) = (&r.decided_by, &r.decided_at) {
        text.push_str(&format!("  ({} by {by} at {at})", r.state.as_str()));
    }
    text.push_str(&format!("\n    why: {}", r.reason));
    if let Some(note) = &r.note {
        text.push_str(&format!("\n    note: {note}"));
    }
    text
}

pub(crate) fn exceptions(action: ExceptionsCommand) -> Result<(), ApiError> {
    let now = relcal_api::clock::now();
    match action {
        ExceptionsCommand::Ask {
            id,
            freeze,
            reason,
            expires,
            db,
            by,
            format,
        } => {
            let expires = expires
                .as_deref()
                .map(|t| relcal_api::clock::parse_instant("--expires", t))
                .transpose()?;
            let mut store = open_as(&db, by.as_deref())?;
            let asked = relcal_api::ask_exception(&mut store, &id, &freeze, &reason, expires, now)?;
            match format {
                TextOrJson::Json => print_json(&asked)?,
                TextOrJson::Text => println!(
                    "asked for an exception to {} for {}: request {} waits for an approver\n(relcal exceptions approve {})",
                    asked.freeze, asked.release, asked.id, asked.id
                ),
            }
        }
        ExceptionsCommand::List { db, all, format } => {
            let store = open_as(&db, None)?;
            let list = relcal_api::exception_requests(&store, !all)?;
            match format {
                TextOrJson::Json => print_json(&list)?,
                TextOrJson::Text if list.is_empty() => {
                    println!(
                        "{}",
                        if all {
                            "no exception requests"
                        } else {
                            "no exception requests wait for an approver"
                        }
                    )
                }
                TextOrJson::Text => {
                    for r in &list {
                        println!("{}", line(r));
                    }
                }
            }
        }
        ExceptionsCommand::Approve { request, db, by } => {
            let mut store = open_as(&db, by.as_deref())?;
            let change = relcal_api::approve_exception_request(&mut store, &request, now)?;
            crate::releases::print_change(&change);
        }
        ExceptionsCommand::Decline {
            request,
            note,
            db,
            by,
        } => {
            let mut store = open_as(&db, by.as_deref())?;
            let r =
                relcal_api::decline_exception_request(&mut store, &request, note.as_deref(), now)?;
            println!("{}", line(&r));
        }
        ExceptionsCommand::Withdraw { request, db, by } => {
            let mut store = open_as(&db, by.as_deref())?;
            let r = relcal_api::withdraw_exception_request(&mut store, &request, now)?;
            println!("{}", line(&r));
        }
    }
    Ok(())
}
