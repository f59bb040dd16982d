//! Freeze exceptions asked for by one person and approved by another, maybe
//! on another desktop and days later. A request waits here (and, when this
//! desktop syncs, on the server, [`exchange_requests`]); approving it writes
//! the release's exception (`overrides[]`, with who asked, the reason and
//! the expiry), which reaches the other desktops like any change.

use crate::approvals::{exception_error, write_exception};
use crate::error::{ApiError, ErrorCode};
use crate::plan::stored_plan;
use crate::release::{find, refuse};
use crate::write::Change;
use chrono::{DateTime, Utc};
use relcal_domain::utc_text as utc;
use relcal_protocol::{
    ExceptionRequest, RequestResult, RequestState, RequestsPush, Transport, MAX_REQUEST_TEXT,
};
use relcal_store::{AuditRecord, Store};

/// Most requests listed.
const LISTED: usize = 1000;

fn audit(store: &Store, action: &str, r: &ExceptionRequest, now: DateTime<Utc>) -> AuditRecord {
    AuditRecord {
        at: utc(now),
        actor: store.actor().to_owned(),
        action: format!("exception_request.{action}"),
        object_kind: "exception_request".to_owned(),
        object_id: r.id.clone(),
        before: None,
        after: serde_json::to_string(r).ok(),
    }
}

fn object(id: &str) -> String {
    format!("exception request \"{id}\"")
}

fn new_id() -> Result<String, ApiError> {
    let mut bytes = [0u8; 8];
    getrandom::fill(&mut bytes).map_err(|e| ApiError::new(ErrorCode::Internal, e.to_string()))?;
    Ok(format!("x-{}", relcal_domain::hex(&bytes)))
}

/// Asks, as the store's actor, for an exception to `freeze` for release
/// `id`, with a reason and an optional expiry: a request that waits for
/// someone else to approve it. Refused when the freeze does not apply, the
/// release already has that exception, or someone already asked for it.
pub fn ask_exception(
    store: &mut Store,
    id: &str,
    freeze: &str,
    reason: &str,
    expires: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
) -> Result<ExceptionRequest, ApiError> {
    let plan = stored_plan(store)?;
    let (release, object) = find(&plan, id)?;
    let reason = reason.trim();
    if reason.is_empty() {
        return Err(refuse(
            &object,
            "overrides.reason",
            "say why the freeze must be broken",
        ));
    }
    if reason.chars().count() > MAX_REQUEST_TEXT {
        return Err(refuse(
            &object,
            "overrides.reason",
            format!("at most {MAX_REQUEST_TEXT} characters"),
        ));
    }
    relcal_domain::exception_target(&plan, release, freeze, expires, now)
        .map_err(|e| exception_error(&object, e))?;
    if let Some(open) = store
        .exception_requests(LISTED)?
        .into_iter()
        .find(|r| r.state == RequestState::Pending && r.release == id && r.freeze == freeze)
    {
        return Err(exception_error(
            &object,
            relcal_domain::already_asked("overrides.freeze", &open.requested_by, &open.id),
        ));
    }
    let request = ExceptionRequest {
        id: new_id()?,
        release: id.to_owned(),
        freeze: freeze.to_owned(),
        reason: reason.to_owned(),
        expires: expires.map(utc),
        requested_by: store.actor().to_owned(),
        requested_at: utc(now),
        state: RequestState::Pending,
        decided_by: None,
        decided_at: None,
        note: None,
    };
    let record = audit(store, "asked", &request, now);
    store.put_exception_request(&request, true, &[record])?;
    Ok(request)
}

/// The requests kept here, newest first (`pending_only`: those waiting).
pub fn exception_requests(
    store: &Store,
    pending_only: bool,
) -> Result<Vec<ExceptionRequest>, ApiError> {
    let mut all = store.exception_requests(LISTED)?;
    if pending_only {
        all.retain(|r| r.state == RequestState::Pending);
    }
    Ok(all)
}

fn pending(store: &Store, id: &str) -> Result<ExceptionRequest, ApiError> {
    let request = store.exception_request(id)?.ok_or_else(|| {
        ApiError::new(
            ErrorCode::NotFound,
            format!("{} does not exist", object(id)),
        )
    })?;
    if request.state != RequestState::Pending {
        return Err(ApiError::new(
            ErrorCode::Validation,
            format!(
                "{}: field `state`: it is already {} (by {})",
                object(id),
                request.state.as_str(),
                request.decided_by.as_deref().unwrap_or("?")
            ),
        ));
    }
    Ok(request)
}

/// Approves a request as the store's actor: the release gets the exception
/// (approved by the actor, asked for by the requester, with the request's
/// reason and expiry) and the request is marked approved. Refused for who
/// asked and for the release's owner.
pub fn approve_exception_request(
    store: &mut Store,
    request_id: &str,
    now: DateTime<Utc>,
) -> Result<Change, ApiError> {
    let request = pending(store, request_id)?;
    let plan = stored_plan(store)?;
    let (release, object) = find(&plan, &request.release)?;
    let approver = store.actor().to_owned();
    if let Some(e) = relcal_domain::approver_refusal(release, &request.requested_by, &approver) {
        return Err(exception_error(&object, e));
    }
    let expires = match request.expires.as_deref() {
        Some(t) => Some(
            DateTime::parse_from_rfc3339(t)
                .map_err(|_| {
                    refuse(
                        &object,
                        "overrides.expires",
                        format!("`{t}` is not an instant"),
                    )
                })?
                .with_timezone(&Utc),
        ),
        None => None,
    };
    let change = write_exception(
        store,
        (&plan, release, &object),
        &request.freeze,
        (&request.reason, &approver, &request.requested_by),
        expires,
        now,
    )?;
    // The server learns of the approval from the release's new exception.
    let approved = ExceptionRequest {
        state: RequestState::Approved,
        decided_by: Some(approver),
        decided_at: Some(utc(now)),
        ..request
    };
    let record = audit(store, "approved", &approved, now);
    store.put_exception_request(&approved, false, &[record])?;
    Ok(change)
}

/// Declines a request as the store's actor (not who asked: they withdraw
/// it), with an optional note saying why.
pub fn decline_exception_request(
    store: &mut Store,
    request_id: &str,
    note: Option<&str>,
    now: DateTime<Utc>,
) -> Result<ExceptionRequest, ApiError> {
    decide(store, request_id, RequestState::Declined, note, now)
}

/// Withdraws a request the store's actor asked for.
pub fn withdraw_exception_request(
    store: &mut Store,
    request_id: &str,
    now: DateTime<Utc>,
) -> Result<ExceptionRequest, ApiError> {
    decide(store, request_id, RequestState::Withdrawn, None, now)
}

fn decide(
    store: &mut Store,
    request_id: &str,
    state: RequestState,
    note: Option<&str>,
    now: DateTime<Utc>,
) -> Result<ExceptionRequest, ApiError> {
    let request = pending(store, request_id)?;
    let me = store.actor().to_owned();
    let refused = |why: String| {
        ApiError::new(
            ErrorCode::Validation,
            format!("{}: field `state`: {why}", object(request_id)),
        )
    };
    let decision = state.decision().ok_or_else(|| {
        refused(format!(
            "{} is not a decision besides approving",
            state.as_str()
        ))
    })?;
    if let Some(why) = relcal_domain::decision_refusal(decision, &request.requested_by, &me) {
        return Err(refused(why));
    }
    let note = note.map(str::trim).filter(|n| !n.is_empty());
    if note.is_some_and(|n| n.chars().count() > MAX_REQUEST_TEXT) {
        return Err(ApiError::new(
            ErrorCode::Validation,
            format!(
                "{}: field `note`: at most {MAX_REQUEST_TEXT} characters",
                object(request_id)
            ),
        ));
    }
    let decided = ExceptionRequest {
        state,
        decided_by: Some(me),
        decided_at: Some(utc(now)),
        note: note.map(str::to_owned),
        ..request
    };
    let record = audit(store, state.as_str(), &decided, now);
    store.put_exception_request(&decided, true, &[record])?;
    Ok(decided)
}

/// What one exchange of requests with the server did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct RequestsExchanged {
    /// Requests and decisions made here that the server kept.
    pub sent: u32,
    /// Of those, refused by the server (each now says why, in its note).
    pub refused: u32,
    /// Requests that arrived or changed here from the server.
    pub received: u32,
}

/// Sends the requests and decisions made here, and keeps the server's copy
/// of every request (who asked and when are the server's to say).
pub fn exchange_requests(
    store: &mut Store,
    transport: &mut dyn Transport,
    now: DateTime<Utc>,
) -> Result<RequestsExchanged, ApiError> {
    let unsent = store.unsent_exception_requests()?;
    let mut done = RequestsExchanged::default();
    // In pieces well under the server's body limit (each request is at most
    // a few KiB); the last answer's list is the server's, after them all.
    let mut answer = None;
    let chunks: Vec<&[ExceptionRequest]> = if unsent.is_empty() {
        vec![&[]]
    } else {
        unsent.chunks(PUSH_CHUNK).collect()
    };
    for chunk in chunks {
        let got = transport.exchange_requests(&RequestsPush {
            requests: chunk.to_vec(),
        })?;
        sent_back(store, chunk, &got, now, &mut done)?;
        answer = Some(got);
    }
    let Some(answer) = answer else {
        return Ok(done);
    };
    for theirs in &answer.requests {
        if !plausible(theirs) {
            tracing::warn!("the server sent an unreadable exception request; it is left out");
            continue;
        }
        if store.exception_request(&theirs.id)?.as_ref() == Some(theirs) {
            continue;
        }
        let who = theirs.decided_by.as_deref().unwrap_or(&theirs.requested_by);
        let mut record = audit(store, "pulled", theirs, now);
        record.actor = crate::sync_client::pulled_by(who, store.actor());
        store.put_exception_request(theirs, false, &[record])?;
        done.received += 1;
    }
    Ok(done)
}

/// Requests per push.
const PUSH_CHUNK: usize = 50;

/// A request as a server may send it: an id, names and texts of sane length.
fn plausible(r: &ExceptionRequest) -> bool {
    let short = |t: &str| t.chars().count() <= 200;
    let text = |t: &str| t.chars().count() <= MAX_REQUEST_TEXT;
    relcal_protocol::is_request_id(&r.id)
        && short(&r.release)
        && short(&r.freeze)
        && short(&r.requested_by)
        && short(&r.requested_at)
        && r.decided_by.as_deref().is_none_or(short)
        && r.decided_at.as_deref().is_none_or(short)
        && r.expires.as_deref().is_none_or(short)
        && text(&r.reason)
        && r.note.as_deref().is_none_or(text)
}

/// What the server made of the requests sent (matched by id).
fn sent_back(
    store: &mut Store,
    unsent: &[ExceptionRequest],
    answer: &relcal_protocol::RequestsAnswer,
    now: DateTime<Utc>,
    done: &mut RequestsExchanged,
) -> Result<(), ApiError> {
    for request in unsent {
        let result = answer.results.iter().find(|r| match r {
            RequestResult::Kept { id } | RequestResult::Rejected { id, .. } => *id == request.id,
        });
        match result {
            None => continue,
            Some(RequestResult::Kept { .. }) => done.sent += 1,
            Some(RequestResult::Rejected { reason, .. }) => {
                done.refused += 1;
                tracing::warn!("the server refused {}: {reason}", object(&request.id));
                // Not on the server as it is here: said here, and taken back.
                if !answer.requests.iter().any(|r| r.id == request.id) {
                    let refused = ExceptionRequest {
                        state: RequestState::Withdrawn,
                        decided_by: Some("the server".to_owned()),
                        decided_at: Some(utc(now)),
                        note: Some(format!(
                            "refused by the server: {}",
                            reason
                                .chars()
                                .filter(|c| !c.is_control())
                                .take(MAX_REQUEST_TEXT - 30)
                                .collect::<String>()
                        )),
                        ..request.clone()
                    };
                    let record = audit(store, "refused", &refused, now);
                    store.put_exception_request(&refused, false, &[record])?;
                }
            }
        }
        store.mark_exception_request_sent(&request.id)?;
    }
    Ok(())
}
