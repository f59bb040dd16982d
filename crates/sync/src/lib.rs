//! The release API over HTTP: the transport the sync use case
//! (`relcal_api::sync_once`) pushes and pulls through, for the CLI and the
//! app. Errors become `ApiError`s: 401/403 keep their meaning, other 4xx are
//! invalid input, network failures and 5xx are `unavailable` (worth a retry).

use relcal_api::{ApiError, Changes, ErrorCode, Mutation, MutationResult, Transport};

/// A server and the token to use there.
pub struct HttpTransport {
    client: reqwest::blocking::Client,
    base: String,
    token: String,
}

impl HttpTransport {
    /// A transport to `server` (e.g. `http://127.0.0.1:8080`) with `token`.
    pub fn new(server: &str, token: &str) -> Result<Self, ApiError> {
        let client = reqwest::blocking::Client::builder()
            .timeout(std::time::Duration::from_secs(30))
            .build()
            .map_err(|e| ApiError::new(ErrorCode::Internal, e.to_string()))?;
        Ok(Self {
            client,
            base: server.trim_end_matches('/').to_owned(),
            token: token.to_owned(),
        })
    }

    /// The server's base URL, without a trailing slash.
    pub fn base(&self) -> &str {
        &self.base
    }

    fn error(&self, what: &str, e: impl std::fmt::Display) -> ApiError {
        ApiError::new(
            ErrorCode::Unavailable,
            format!("{}: {what}: {e}", self.base),
        )
    }

    fn answer<T: serde::de::DeserializeOwned>(
        &self,
        what: &str,
        r: reqwest::blocking::Response,
    ) -> Result<T, ApiError> {
        let status = r.status();
        if status.is_success() {
            return r
                .json()
                .map_err(|e| self.error(what, format!("a malformed answer ({e})")));
        }
        let message = r
            .json::<serde_json::Value>()
            .ok()
            .and_then(|v| v["message"].as_str().map(str::to_owned))
            .unwrap_or_else(|| status.to_string());
        let code = match status.as_u16() {
            401 => ErrorCode::Unauthorized,
            403 => ErrorCode::Forbidden,
            400..=499 => ErrorCode::Validation,
            _ => ErrorCode::Unavailable,
        };
        Err(ApiError::new(
            code,
            format!("{}: {what}: {message}", self.base),
        ))
    }
}

impl Transport for HttpTransport {
    fn changes(&mut self, since: u64) -> Result<Changes, ApiError> {
        let r = self
            .client
            .get(format!("{}/v1/changes?since={since}", self.base))
            .bearer_auth(&self.token)
            .send()
            .map_err(|e| self.error("changes", e))?;
        self.answer("changes", r)
    }

    fn push(&mut self, key: &str, batch: &[Mutation]) -> Result<Vec<MutationResult>, ApiError> {
        #[derive(serde::Deserialize)]
        struct Results {
            results: Vec<MutationResult>,
        }
        let r = self
            .client
            .post(format!("{}/v1/mutations", self.base))
            .bearer_auth(&self.token)
            .header("Idempotency-Key", key)
            .json(&serde_json::json!({ "mutations": batch }))
            .send()
            .map_err(|e| self.error("mutations", e))?;
        Ok(self.answer::<Results>("mutations", r)?.results)
    }
}
