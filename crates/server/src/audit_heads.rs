//! A desktop's audit-chain heads, kept by the server (`/v1/audit-heads`), so
//! a chain rewritten on the desktop, head and all, is caught.

use crate::{
    credentials, single_params, token_of, who_is, with_reader, with_store, Failure, Shared,
};
use axum::extract::{RawQuery, State};
use axum::http::HeaderMap;
use axum::Json;
use relcal_protocol::{ApiError, ErrorCode};
use relcal_server_core::Role;
use serde::Deserialize;

/// A desktop's audit-chain head, sent after each sync.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Head {
    client: String,
    seq: u64,
    hash: String,
}

/// `POST /v1/audit-heads`: keeps a desktop's audit-chain head, so a chain
/// rewritten later on that desktop (head included) no longer matches it.
pub(crate) async fn anchor_head(
    State(store): State<Shared>,
    headers: HeaderMap,
    body: Result<Json<Head>, axum::extract::rejection::JsonRejection>,
) -> Result<Json<serde_json::Value>, Failure> {
    let token = credentials(token_of(&headers))?;
    let Json(head) = body.map_err(|e| {
        Failure(ApiError::new(
            ErrorCode::Validation,
            format!("audit-heads: {}", e.body_text()),
        ))
    })?;
    let client_ok = !head.client.is_empty()
        && head.client.len() <= 64
        && head
            .client
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-');
    let hash_ok = head.hash.len() == 64 && head.hash.bytes().all(|b| b.is_ascii_hexdigit());
    if !client_ok || !hash_ok || i64::try_from(head.seq).is_err() {
        return Err(Failure(ApiError::new(
            ErrorCode::Validation,
            "audit-heads: give `client` (letters, digits, -), `seq` and `hash` (64 hex digits)",
        )));
    }
    let who = who_is(store.clone(), token, Role::Viewer).await?;
    with_store(store, move |s| {
        s.anchor_head(
            &head.client,
            (head.seq, &head.hash),
            &who.user,
            &relcal_domain_utc(relcal_api::clock::now()),
        )?;
        Ok(Json(serde_json::json!({ "kept": true })))
    })
    .await
}

/// `GET /v1/audit-heads?client=ID`: the heads kept for a desktop.
pub(crate) async fn audit_heads(
    State(store): State<Shared>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Result<Json<Vec<relcal_server_core::AnchoredHead>>, Failure> {
    let token = credentials(token_of(&headers))?;
    let q = single_params("audit-heads", query, &["client"])?;
    let client = q.get("client").cloned().ok_or_else(|| {
        Failure(ApiError::new(
            ErrorCode::Validation,
            "audit-heads: field `client` is required",
        ))
    })?;
    with_reader(store, move |s| {
        relcal_server_core::authenticate(
            s,
            token.as_deref(),
            Role::Viewer,
            relcal_api::clock::now(),
        )?;
        Ok(Json(s.anchored_heads(&client)?))
    })
    .await
}

fn relcal_domain_utc(t: chrono::DateTime<chrono::Utc>) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}
