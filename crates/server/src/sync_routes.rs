//! The sync protocol's routes: `GET /v1/changes` (with the calendar's digest
//! on the last page) and `POST /v1/mutations` (a batch, answered once per
//! idempotency key), over `relcal_server_core`.

use crate::{
    credentials, single_params, token_of, who_is, with_reader, with_store, Failure, Shared,
    TooLarge, BODY_LIMIT,
};
use axum::extract::{RawQuery, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use relcal_protocol::{ApiError, ErrorCode};
use relcal_server_core::Role;
use serde::Deserialize;

/// `GET /v1/changes?since=CURSOR`: changes after the cursor (0: everything).
pub(crate) async fn changes(
    State(store): State<Shared>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Result<Json<relcal_api::Changes>, Failure> {
    let token = token_of(&headers);
    let q = single_params("changes", query, &["since"])?;
    let since = match q.get("since") {
        None => 0,
        // A cursor is a position in the log: it fits the log's own integers.
        Some(s) => s
            .parse::<u64>()
            .ok()
            .filter(|n| i64::try_from(*n).is_ok())
            .ok_or_else(|| {
                Failure(ApiError::new(
                    ErrorCode::Validation,
                    format!(
                        "changes: field `since`: `{s}` is not a cursor (0 to {})",
                        i64::MAX
                    ),
                ))
            })?,
    };
    let token = credentials(token)?;
    let served = store.clone();
    who_is(store.clone(), token, Role::Viewer).await?;
    // A change log not yet started is started by the writer, once (under
    // the batch lock, as a batch would); every page after is a read.
    let started = with_reader(store.clone(), |s| Ok(s.log_started()?)).await?;
    if !started {
        with_store(store.clone(), |s| {
            s.lock_writes()?;
            let begun =
                relcal_server_core::changes_since(s, 0, 0, relcal_api::clock::now()).map(|_| ());
            let unlocked = s.unlock_writes();
            begun?;
            Ok(unlocked?)
        })
        .await?;
    }
    with_reader(store, move |s| {
        let mut page = relcal_server_core::changes_since(s, since, 1000, relcal_api::clock::now())?;
        // The last page says what calendar it brings the client to.
        if !page.more {
            page.digest = match served.warm.plan(s) {
                Ok(plan) => Some(plan.digest()),
                // No calendar yet: nothing to agree on.
                Err(e) if e.code == ErrorCode::NotFound => None,
                Err(e) => return Err(e.into()),
            };
        }
        Ok(Json(page))
    })
    .await
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Batch {
    mutations: Vec<relcal_api::Mutation>,
}

/// `POST /v1/mutations` with an `Idempotency-Key`: applies a batch; each
/// mutation comes back applied, conflict or rejected. The same key gets the
/// same answer again.
pub(crate) async fn mutations(
    State(store): State<Shared>,
    headers: HeaderMap,
    body: Result<Json<Batch>, axum::extract::rejection::JsonRejection>,
) -> Result<Response, Failure> {
    // Too large is about the request, not the calendar: said at once.
    if let Err(e) = &body {
        if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
            return Ok(TooLarge(ApiError::new(
                ErrorCode::Validation,
                format!("mutations: the body is over the limit of {BODY_LIMIT} bytes; send fewer mutations per request"),
            ))
            .into_response());
        }
    }
    let token = token_of(&headers);
    let key = headers
        .get("idempotency-key")
        .and_then(|v| v.to_str().ok())
        .filter(|k| !k.trim().is_empty() && k.len() <= 200)
        .map(str::to_owned);
    let token = credentials(token)?;
    // Who asks comes first, on a reader: a stranger learns nothing about
    // the request, and never holds the writer.
    let who = who_is(store.clone(), token, Role::Viewer).await?;
    let served = store.clone();
    let body = with_store(store, move |s| {
        let key = key.ok_or_else(|| {
            Failure(ApiError::new(
                ErrorCode::Validation,
                "mutations: the Idempotency-Key header is required",
            ))
        })?;
        let Json(batch) = body.map_err(|e| {
            Failure(ApiError::new(
                ErrorCode::Validation,
                format!("mutations: {}", e.body_text()),
            ))
        })?;
        // The same key from the same user again gets the first answer (kept
        // with the batch, apart from mutation ids and other users' keys).
        let results = relcal_server_core::apply_mutations(
            s,
            &who,
            &batch.mutations,
            Some(&key),
            relcal_api::clock::now(),
            &served.warm,
        )?;
        Ok(serde_json::json!({ "results": results }).to_string())
    })
    .await?;
    Ok(([(header::CONTENT_TYPE, "application/json")], body).into_response())
}
