//! The read routes: the gate, the plan, the iCalendar feed (the only one a
//! token may come in the URL for, a feed token) and whoami, answered from the
//! warm calendar.

use crate::{credentials, single_params, token_of, with_reader, Failure, Shared};
use axum::extract::{RawQuery, State};
use axum::http::{header, HeaderMap};
use axum::response::{IntoResponse, Response};
use axum::Json;
use relcal_protocol::{ApiError, ErrorCode};
use relcal_server_core::Role;
use std::sync::Arc;

/// `GET /v1/gate?env=..&service=..[&service=..][&team=..][&at=..]`: may a
/// release with this scope start? Answers like `relcal gate --format json`.
pub(crate) async fn gate(
    State(store): State<Shared>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Result<Json<relcal_api::GateReport>, Failure> {
    let token = token_of(&headers);
    let (mut env, mut services, mut team, mut at) = (None, Vec::new(), None, None);
    for (k, v) in form_urlencoded::parse(query.unwrap_or_default().as_bytes()) {
        let once = |slot: &mut Option<String>| match slot.replace(v.to_string()) {
            None => Ok(()),
            Some(_) => Err(Failure(ApiError::new(
                ErrorCode::Validation,
                format!("gate: field `{k}` is given more than once"),
            ))),
        };
        match k.as_ref() {
            "env" => once(&mut env)?,
            "service" => services.push(v.into_owned()),
            "team" => once(&mut team)?,
            "at" => once(&mut at)?,
            other => {
                return Err(Failure(ApiError::new(
                    ErrorCode::Validation,
                    format!("gate: `{other}` is not a parameter; use env, service, team, at"),
                )))
            }
        }
    }
    let env = env.ok_or_else(|| {
        Failure(ApiError::new(
            ErrorCode::Validation,
            "gate: field `env` is required",
        ))
    })?;
    let at = match at.as_deref() {
        None => relcal_api::clock::now(),
        Some(t) => relcal_api::clock::parse_instant("gate: field `at`", t).map_err(Failure)?,
    };
    // The answer is worked out from the warm calendar, without the storage.
    on_warm_plan(store, token, Role::Viewer, false, move |plan| {
        Ok(Json(relcal_api::gate_plan(
            &plan,
            &env,
            &services,
            team.as_deref(),
            at,
        )?))
    })
    .await
}

/// `GET /v1/slot?env=..&duration=..[&service=..]...[&team=..][&owner=..]
/// [&after_release=..]...[&after=..][&within=..][&avoid_soft=true]`: the
/// earliest start with no error-severity conflict, for pipelines. Answers like
/// `relcal slot --format json`, with `message`, `team`, `zone` and
/// `skipped_truncated` besides.
pub(crate) async fn slot(
    State(store): State<Shared>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Result<Json<relcal_api::SlotReport>, Failure> {
    let token = token_of(&headers);
    let mut request = relcal_api::SlotRequest::default();
    let (mut env, mut duration, mut avoid_soft) = (None, None, None);
    let invalid = |message: String| Failure(ApiError::new(ErrorCode::Validation, message));
    for (k, v) in form_urlencoded::parse(query.unwrap_or_default().as_bytes()) {
        let once = |slot: &mut Option<String>| match slot.replace(v.to_string()) {
            None => Ok(()),
            Some(_) => Err(invalid(format!(
                "slot: field `{k}` is given more than once"
            ))),
        };
        match k.as_ref() {
            "env" => once(&mut env)?,
            "service" => request.services.push(v.into_owned()),
            "team" => once(&mut request.team)?,
            "owner" => once(&mut request.owner)?,
            "after_release" => request.after_releases.push(v.into_owned()),
            "duration" => once(&mut duration)?,
            "after" => once(&mut request.after)?,
            "within" => once(&mut request.within)?,
            "avoid_soft" => once(&mut avoid_soft)?,
            other => {
                return Err(invalid(format!(
                    "slot: `{other}` is not a parameter; use env, service, team, owner, \
                     after_release, duration, after, within, avoid_soft"
                )))
            }
        }
    }
    request.environment = env.ok_or_else(|| invalid("slot: field `env` is required".into()))?;
    request.duration =
        duration.ok_or_else(|| invalid("slot: field `duration` is required".into()))?;
    request.avoid_soft = match avoid_soft.as_deref() {
        None | Some("false") => false,
        Some("true") => true,
        Some(other) => {
            return Err(invalid(format!(
                "slot: field `avoid_soft`: `{other}` is neither true nor false"
            )))
        }
    };
    on_warm_plan(store, token, Role::Viewer, false, move |plan| {
        relcal_api::slot_plan(&plan, &request, relcal_api::clock::now())
            .map(Json)
            .map_err(|mut e| {
                e.message = query_fields(&e.message);
                Failure(e)
            })
    })
    .await
}

/// An error worded for the command line (`slot: --after-release: ...`),
/// reworded for the HTTP query (`slot: field `after_release`: ...`).
fn query_fields(message: &str) -> String {
    for (flag, field) in [
        ("--env", "env"),
        ("--service", "service"),
        ("--team", "team"),
        ("--owner", "owner"),
        ("--after-release", "after_release"),
        ("--duration", "duration"),
        ("--after", "after"),
        ("--within", "within"),
    ] {
        if let Some(rest) = message.strip_prefix(&format!("slot: {flag}:")) {
            return format!("slot: field `{field}`:{rest}");
        }
    }
    message.to_owned()
}

/// Runs `f` on the calendar, kept warm (`WarmCalendar`), once the token
/// is found good for `needed` (`in_url`: it came in the URL, so only a
/// feed token may). All of it is one trip off the async workers: the
/// token and the calendar on a reader connection, then `f` after it is
/// handed back, so a pipeline's gate waits for one thread, not two.
pub(crate) async fn on_warm_plan<T: Send + 'static>(
    shared: Shared,
    token: Option<String>,
    needed: Role,
    in_url: bool,
    f: impl FnOnce(Arc<relcal_api::Plan>) -> Result<T, Failure> + Send + 'static,
) -> Result<T, Failure> {
    let token = credentials(token)?;
    tokio::task::spawn_blocking(move || {
        let plan = shared.readers.with(|s| {
            let who = relcal_server_core::authenticate(
                s,
                token.as_deref(),
                needed,
                relcal_api::clock::now(),
            )?;
            // A token in a URL ends up in the subscribing service and in proxy
            // logs: only a feed token, which reads the feed and nothing else.
            if in_url && who.role != Role::Feed {
                return Err(Failure(ApiError::new(
                    ErrorCode::Forbidden,
                    format!(
                        "{} is a {} token: only a feed token may be given in a URL (make one with \
                         `relcal-server token create --role feed`); send this one as Authorization: Bearer",
                        who.user,
                        who.role.as_str()
                    ),
                )));
            }
            Ok(shared.warm.plan(s)?)
        })?;
        f(plan)
    })
    .await
    .map_err(|e| Failure(ApiError::new(ErrorCode::Internal, e.to_string())))?
}

/// `GET /v1/calendar.ics?token=..`: the calendar as iCalendar, for Outlook
/// and Google Calendar subscriptions (which cannot send headers).
pub(crate) async fn calendar_ics(
    State(store): State<Shared>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Result<Response, Failure> {
    let mut q = single_params("calendar.ics", query, &["token"])?;
    let (token, in_url) = match q.remove("token") {
        Some(t) => (Some(t), true),
        None => (token_of(&headers), false),
    };
    let ics = on_warm_plan(store, token, Role::Feed, in_url, move |plan| {
        Ok(relcal_server_core::server_ics(
            &plan,
            relcal_api::clock::now(),
        ))
    })
    .await?;
    Ok((
        [(header::CONTENT_TYPE, "text/calendar; charset=utf-8")],
        ics,
    )
        .into_response())
}

/// `GET /v1/plan`: the calendar as a plan file.
pub(crate) async fn plan(
    State(store): State<Shared>,
    headers: HeaderMap,
) -> Result<Response, Failure> {
    let token = token_of(&headers);
    let json = on_warm_plan(store, token, Role::Viewer, false, |plan| {
        Ok(plan.to_json_pretty())
    })
    .await?;
    Ok(([(header::CONTENT_TYPE, "application/json")], json).into_response())
}

/// `GET /v1/whoami`: the token's user and role.
pub(crate) async fn whoami(
    State(store): State<Shared>,
    headers: HeaderMap,
) -> Result<Json<relcal_server_core::Principal>, Failure> {
    let token = credentials(token_of(&headers))?;
    with_reader(store, move |s| {
        Ok(Json(relcal_server_core::authenticate(
            s,
            token.as_deref(),
            Role::Viewer,
            relcal_api::clock::now(),
        )?))
    })
    .await
}
