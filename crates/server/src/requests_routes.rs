//! Freeze exceptions asked for and decided (`/v1/exception-requests`):
//! the front door of `relcal_server_core::exchange_requests`.

use crate::{credentials, token_of, who_is, with_store, Failure, Shared};
use axum::extract::State;
use axum::http::HeaderMap;
use axum::Json;
use relcal_protocol::{ApiError, ErrorCode, RequestsAnswer, RequestsPush};
use relcal_server_core::Role;

/// `POST /v1/exception-requests`: keeps the requests and decisions sent
/// (each kept or rejected, with the reason), and answers with every request
/// the server holds.
pub(crate) async fn push_requests(
    State(store): State<Shared>,
    headers: HeaderMap,
    body: Result<Json<RequestsPush>, axum::extract::rejection::JsonRejection>,
) -> Result<Json<RequestsAnswer>, Failure> {
    let token = credentials(token_of(&headers))?;
    let who = who_is(store.clone(), token, Role::Viewer).await?;
    let Json(push) = body.map_err(|e| {
        Failure(ApiError::new(
            ErrorCode::Validation,
            format!("exception-requests: {}", e.body_text()),
        ))
    })?;
    with_store(store, move |s| {
        Ok(Json(relcal_server_core::exchange_requests(
            s,
            &who,
            &push,
            relcal_api::clock::now(),
        )?))
    })
    .await
}

/// `GET /v1/exception-requests`: every request the server holds, newest first.
pub(crate) async fn list_requests(
    State(store): State<Shared>,
    headers: HeaderMap,
) -> Result<Json<RequestsAnswer>, Failure> {
    let token = credentials(token_of(&headers))?;
    let who = who_is(store.clone(), token, Role::Viewer).await?;
    crate::with_reader(store, move |s| {
        Ok(Json(relcal_server_core::exchange_requests(
            s,
            &who,
            &RequestsPush::default(),
            relcal_api::clock::now(),
        )?))
    })
    .await
}
