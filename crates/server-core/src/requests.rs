//! Freeze exceptions asked for on one desktop and approved on another
//! (`/v1/exception-requests`). The server keeps the requests and decides,
//! from the authenticated identity, who may do what with them:
//!
//! - an editor asks; the request is theirs (`requested_by` is stamped) and
//!   dated by the server;
//! - who asked may withdraw it;
//! - an approver other than who asked declines it;
//! - approving is adding the exception to the release (`overrides[]`, a
//!   mutation, where `policy.rs` checks the approver): the server then marks
//!   the matching request approved, by that approver ([`approved_by_change`]).

use crate::auth::{Principal, Role};
use crate::store::{server_calendar, ServerStore};
use chrono::{DateTime, Utc};
use relcal_domain::{utc_text as utc, AuditRecord};
use relcal_protocol::{
    is_request_id, ApiError, ErrorCode, ExceptionRequest, RequestResult, RequestState,
    RequestsAnswer, RequestsPush, MAX_BATCH, MAX_REQUEST_TEXT,
};

/// Keeps the requests and decisions `who` pushed (each on its own: one
/// refused does not stop the others), and answers with every request held.
pub fn exchange_requests(
    store: &mut dyn ServerStore,
    who: &Principal,
    push: &RequestsPush,
    now: DateTime<Utc>,
) -> Result<RequestsAnswer, ApiError> {
    if push.requests.len() > MAX_BATCH {
        return Err(ApiError::new(
            ErrorCode::Validation,
            format!(
                "exception-requests: at most {MAX_BATCH} requests at once; these are {}",
                push.requests.len()
            ),
        ));
    }
    if who.role < Role::Viewer {
        return Err(ApiError::new(
            ErrorCode::Forbidden,
            format!("{} may read only the calendar feed", who.user),
        ));
    }
    let mut results = Vec::with_capacity(push.requests.len());
    if !push.requests.is_empty() {
        // Read what each is checked against, and write, under the batch lock.
        store.lock_writes()?;
        // The calendar a new request is checked against: read once per push.
        let mut plan = None;
        let applied = push
            .requests
            .iter()
            .map(|r| apply_request(store, &mut plan, who, r, now))
            .collect::<Result<Vec<_>, _>>();
        let unlocked = store.unlock_writes();
        results = applied?;
        unlocked?;
    }
    Ok(RequestsAnswer {
        results,
        requests: store.exception_requests()?,
    })
}

fn rejected(r: &ExceptionRequest, reason: impl std::fmt::Display) -> RequestResult {
    RequestResult::Rejected {
        id: r.id.clone(),
        reason: format!("exception request \"{}\": {reason}", r.id),
    }
}

fn audit(who: &Principal, action: &str, r: &ExceptionRequest, now: DateTime<Utc>) -> AuditRecord {
    AuditRecord {
        at: utc(now),
        actor: who.user.clone(),
        action: format!("exception_request.{action}"),
        object_kind: "exception_request".to_owned(),
        object_id: r.id.clone(),
        before: None,
        after: serde_json::to_string(r).ok(),
    }
}

fn apply_request(
    store: &mut dyn ServerStore,
    plan: &mut Option<relcal_domain::Plan>,
    who: &Principal,
    r: &ExceptionRequest,
    now: DateTime<Utc>,
) -> Result<RequestResult, ApiError> {
    if !is_request_id(&r.id) {
        return Ok(RequestResult::Rejected {
            id: r.id.chars().take(64).collect(),
            reason: "exception request: field `id`: give 1 to 64 letters, digits and -".into(),
        });
    }
    let too_long = |t: &str| t.chars().count() > MAX_REQUEST_TEXT;
    if too_long(&r.reason) || r.note.as_deref().is_some_and(too_long) {
        return Ok(rejected(
            r,
            format!("fields `reason` and `note` hold at most {MAX_REQUEST_TEXT} characters"),
        ));
    }
    let held = store.exception_request(&r.id)?;
    let Some(held) = held else {
        if r.state != RequestState::Pending {
            return Ok(rejected(
                r,
                format!(
                    "field `state`: it was never asked for on this server, so it cannot be {}",
                    r.state.as_str()
                ),
            ));
        }
        return ask(store, plan, who, r, now);
    };
    if (held.release.as_str(), held.freeze.as_str()) != (r.release.as_str(), r.freeze.as_str()) {
        return Ok(rejected(
            r,
            "field `id`: another request has this id (for another release or freeze)",
        ));
    }
    if held.state == r.state {
        // Sent again (an answer lost): kept already.
        return Ok(RequestResult::Kept { id: r.id.clone() });
    }
    if held.state != RequestState::Pending {
        return Ok(rejected(
            r,
            format!(
                "field `state`: it is already {} (by {})",
                held.state.as_str(),
                held.decided_by.as_deref().unwrap_or("?")
            ),
        ));
    }
    let decided = match r.state {
        // (`Pending` was answered above: the same state as held.)
        RequestState::Pending | RequestState::Approved => return Ok(rejected(
            r,
            "field `state`: approve it by adding the exception to the release (its `overrides`)",
        )),
        RequestState::Declined if who.role < Role::Approver => {
            return Ok(rejected(
                r,
                format!(
                    "field `state`: {} may not decline it (approver role)",
                    who.user
                ),
            ))
        }
        state @ (RequestState::Withdrawn | RequestState::Declined) => {
            let refused = state
                .decision()
                .and_then(|d| relcal_domain::decision_refusal(d, &held.requested_by, &who.user));
            if let Some(why) = refused {
                return Ok(rejected(r, format!("field `state`: {why}")));
            }
            state
        }
    };
    let next = ExceptionRequest {
        state: decided,
        decided_by: Some(who.user.clone()),
        decided_at: Some(utc(now)),
        note: r
            .note
            .as_deref()
            .map(str::trim)
            .filter(|n| !n.is_empty())
            .map(str::to_owned),
        ..held
    };
    store.put_exception_request(&next, &audit(who, decided.as_str(), &next, now))?;
    Ok(RequestResult::Kept { id: r.id.clone() })
}

fn ask(
    store: &mut dyn ServerStore,
    plan: &mut Option<relcal_domain::Plan>,
    who: &Principal,
    r: &ExceptionRequest,
    now: DateTime<Utc>,
) -> Result<RequestResult, ApiError> {
    if who.role < Role::Editor {
        return Ok(rejected(
            r,
            format!(
                "{} is a viewer; asking for an exception needs the editor role",
                who.user
            ),
        ));
    }
    let reason = r.reason.trim();
    if reason.is_empty() {
        return Ok(rejected(
            r,
            "field `reason`: say why the freeze must be broken",
        ));
    }
    let expires = match r.expires.as_deref() {
        None => None,
        Some(t) => match DateTime::parse_from_rfc3339(t) {
            Ok(at) => Some(at.with_timezone(&Utc)),
            Err(_) => {
                return Ok(rejected(
                    r,
                    format!("field `expires`: `{t}` is not an RFC 3339 instant"),
                ))
            }
        },
    };
    let plan: &relcal_domain::Plan = match plan {
        Some(p) => p,
        None => plan.insert(server_calendar(store)?),
    };
    let Some(release) = plan.releases.iter().find(|x| x.id.as_str() == r.release) else {
        return Ok(rejected(
            r,
            format!("field `release`: release \"{}\" does not exist", r.release),
        ));
    };
    if let Err(e) = relcal_domain::exception_target(plan, release, &r.freeze, expires, now) {
        return Ok(rejected(r, e));
    }
    let open = store
        .exception_requests_for(&r.release, &r.freeze)?
        .into_iter()
        .find(|o| o.state == RequestState::Pending);
    if let Some(open) = open {
        return Ok(rejected(
            r,
            relcal_domain::already_asked("freeze", &open.requested_by, &open.id),
        ));
    }
    // Who asked and when are the server's to say.
    let kept = ExceptionRequest {
        id: r.id.clone(),
        release: r.release.clone(),
        freeze: r.freeze.clone(),
        reason: reason.to_owned(),
        expires: expires.map(utc),
        requested_by: who.user.clone(),
        requested_at: utc(now),
        state: RequestState::Pending,
        decided_by: None,
        decided_at: None,
        note: None,
    };
    store.put_exception_request(&kept, &audit(who, "asked", &kept, now))?;
    Ok(RequestResult::Kept { id: r.id.clone() })
}

/// After a release change `who` made was written: each exception it added
/// that someone asked for (`requested_by`) approves that person's pending
/// request for it, by `who`.
pub(crate) fn approved_by_change(
    store: &mut dyn ServerStore,
    who: &Principal,
    before: Option<&relcal_domain::Release>,
    after: Option<&relcal_domain::Release>,
    now: DateTime<Utc>,
) -> Result<(), ApiError> {
    let Some(after) = after else {
        return Ok(());
    };
    let added: Vec<_> = after
        .overrides
        .iter()
        .filter(|o| before.is_none_or(|b| !b.overrides.iter().any(|h| h.freeze == o.freeze)))
        .filter_map(|o| {
            o.requested_by
                .as_deref()
                .map(|asked| (o.freeze.as_str(), asked))
        })
        .collect();
    if added.is_empty() {
        return Ok(());
    }
    for (freeze, asked) in added {
        let pending = store
            .exception_requests_for(after.id.as_str(), freeze)?
            .into_iter()
            .filter(|q| q.state == RequestState::Pending && q.requested_by == asked);
        for held in pending.collect::<Vec<_>>() {
            let next = ExceptionRequest {
                state: RequestState::Approved,
                decided_by: Some(who.user.clone()),
                decided_at: Some(utc(now)),
                ..held
            };
            store.put_exception_request(&next, &audit(who, "approved", &next, now))?;
        }
    }
    Ok(())
}

/// Why `who` may not grant the exceptions a release change adds, as the
/// server's requests say (`None`: they may):
/// - not one `who` asked for themselves (naming no one who asked);
/// - one naming who asked (`requested_by`) is that person's pending
///   request, with its reason and expiry, when they asked; not one their
///   request for was declined or withdrawn since.
pub(crate) fn grant_refusal(
    store: &mut dyn ServerStore,
    who: &Principal,
    before: Option<&relcal_domain::Release>,
    after: &relcal_domain::Release,
) -> Result<Option<String>, ApiError> {
    let added = after
        .overrides
        .iter()
        .filter(|o| before.is_none_or(|b| !b.overrides.iter().any(|h| h.freeze == o.freeze)));
    for o in added {
        let held = store.exception_requests_for(after.id.as_str(), o.freeze.as_str())?;
        let pending = |name: &str| {
            held.iter()
                .find(|q| q.state == RequestState::Pending && q.requested_by == name)
        };
        if let Some(mine) = pending(&who.user) {
            return Ok(Some(format!(
                "field `overrides`: {} asked for this exception (request {}); another approver grants it",
                who.user, mine.id
            )));
        }
        let Some(asked) = o.requested_by.as_deref() else {
            continue;
        };
        match pending(asked) {
            Some(q) => {
                let expires = o.expires.as_ref().map(|t| utc(t.utc));
                if q.reason != o.reason.trim() || q.expires != expires {
                    return Ok(Some(format!(
                        "field `overrides`: it differs from what {asked} asked for in request {} (the reason and the expiry are the request's)",
                        q.id
                    )));
                }
            }
            None => {
                if let Some(q) = held.iter().find(|q| q.requested_by == asked) {
                    if matches!(q.state, RequestState::Declined | RequestState::Withdrawn) {
                        return Ok(Some(format!(
                            "field `overrides`: {asked}'s request {} for it was {} by {}",
                            q.id,
                            q.state.as_str(),
                            q.decided_by.as_deref().unwrap_or("?")
                        )));
                    }
                }
            }
        }
    }
    Ok(None)
}
