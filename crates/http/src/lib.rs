//! The release API over HTTP: the transport the sync use case
//! (`relcal_api::sync_once`) pushes and pulls through, for the CLI and the
//! app. Errors become `ApiError`s: 401/403 keep their meaning, other 4xx are
//! invalid input, network failures and 5xx are `unavailable`.
//!
//! A request that fails for a reason worth waiting out (no connection, a
//! dropped connection, a timeout, a 5xx, a 429 or 408, a malformed or
//! truncated answer) is tried again after an exponential backoff with full
//! jitter, or after the server's `Retry-After` when it gives one. Retrying is
//! safe: changes are read by cursor, and a push carries an idempotency key
//! and per-mutation ids the server answers once.
//!
//! A token goes over HTTPS, or over plain HTTP only to this machine
//! ([`check_url`]); a token for one host never follows a redirect to another.

#![deny(missing_docs)]

mod adapters_run;
mod body;
mod outside;
mod secure;
mod token;

pub use adapters_run::{github_account, github_token, gitlab_account, gitlab_token, HttpForges};
pub use outside::{GitHub, GitLab};
pub use relcal_protocol::{GitHubReleases, GITHUB_API};
pub use secure::check_url;

pub use token::{
    forget_secret, forget_token, load_secret, load_token, save_secret, save_token, EnvToken,
    TokenSource, SERVICE, TOKEN_ENV, TOKEN_SERVER_ENV,
};

use relcal_protocol::{ApiError, Changes, ErrorCode, Mutation, MutationResult, Transport};
use std::time::Duration;

/// How requests are retried.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Tries per request, the first included.
    pub attempts: u32,
    /// The first backoff's ceiling; it doubles per try.
    pub base: Duration,
    /// The backoff's ceiling.
    pub cap: Duration,
    /// The longest `Retry-After` honoured (a longer one fails the request,
    /// to be tried at the next sync).
    pub max_retry_after: Duration,
    /// Per request, connecting and reading the whole answer.
    pub timeout: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            attempts: 5,
            base: Duration::from_millis(500),
            cap: Duration::from_secs(20),
            max_retry_after: Duration::from_secs(120),
            timeout: Duration::from_secs(30),
        }
    }
}

impl RetryPolicy {
    /// The wait before try `n + 1` after `n` failed tries: uniform in
    /// `[0, min(cap, base × 2^(n-1))]` ("full jitter").
    pub fn backoff(&self, failed: u32) -> Duration {
        full_jitter(doubling(self.base, self.cap, failed.saturating_sub(1)))
    }
}

/// `base × 2^n`, at most `cap`: the ceiling of a backoff after `n` doublings
/// (the HTTP retries here, the app's sync loop).
pub fn doubling(base: Duration, cap: Duration, n: u32) -> Duration {
    base.saturating_mul(1u32 << n.min(20)).min(cap)
}

/// Uniform in `[0, ceiling]`: "full jitter", so that many clients that failed
/// together do not all come back together.
pub fn full_jitter(ceiling: Duration) -> Duration {
    let mut bytes = [0u8; 8];
    // Without randomness, the whole ceiling: slower, never a retry storm.
    let unit = match getrandom::fill(&mut bytes) {
        Ok(()) => (u64::from_le_bytes(bytes) >> 11) as f64 / (1u64 << 53) as f64,
        Err(_) => 1.0,
    };
    ceiling.mul_f64(unit)
}

/// A server and the token to use there.
pub struct HttpTransport {
    client: reqwest::blocking::Client,
    base: String,
    token: String,
    policy: RetryPolicy,
    waits: Vec<Duration>,
    max_batch: usize,
}

/// Why one try failed, and whether to try again.
struct Failure {
    error: ApiError,
    retry: bool,
    retry_after: Option<Duration>,
}

/// `Retry-After`: seconds, or an HTTP date.
fn retry_after(r: &reqwest::blocking::Response) -> Option<Duration> {
    let v = r
        .headers()
        .get(reqwest::header::RETRY_AFTER)?
        .to_str()
        .ok()?
        .trim();
    if let Ok(secs) = v.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    let at = chrono::DateTime::parse_from_rfc2822(v).ok()?;
    let wait = at.to_utc() - chrono::Utc::now();
    Some(wait.to_std().unwrap_or(Duration::ZERO))
}

impl HttpTransport {
    /// A transport to `server` (e.g. `http://127.0.0.1:8080`) with `token`
    /// and the default retry policy.
    pub fn new(server: &str, token: &str) -> Result<Self, ApiError> {
        Self::with_policy(server, token, RetryPolicy::default())
    }

    /// A transport to `server` with this machine's token for it (the
    /// keyring's, else `RELCAL_TOKEN`): what the CLI and the app sync through.
    pub fn connect(server: &str) -> Result<Self, ApiError> {
        let (token, _) = load_token(server)?;
        Self::new(server, &token)
    }

    /// A transport with its own retry policy.
    pub fn with_policy(server: &str, token: &str, policy: RetryPolicy) -> Result<Self, ApiError> {
        check_url("the sync server", server)?;
        let client = reqwest::blocking::Client::builder()
            .timeout(policy.timeout)
            .connect_timeout(policy.timeout.min(Duration::from_secs(10)))
            .build()
            .map_err(|e| ApiError::new(ErrorCode::Internal, e.to_string()))?;
        Ok(Self {
            client,
            base: server.trim_end_matches('/').to_owned(),
            token: token.to_owned(),
            policy,
            waits: Vec::new(),
            max_batch: relcal_protocol::PUSH_CHUNK,
        })
    }

    /// Sends at most `n` mutations per request.
    pub fn with_max_batch(mut self, n: usize) -> Self {
        self.max_batch = n;
        self
    }

    /// Every wait between tries so far, in order (for tests and logs).
    pub fn waits(&self) -> &[Duration] {
        &self.waits
    }

    fn unavailable(&self, what: &str, e: impl std::fmt::Display) -> ApiError {
        ApiError::new(
            ErrorCode::Unavailable,
            format!("{}: {what}: {e}", self.base),
        )
    }

    /// One try: the answer, or why not.
    fn try_once<T: serde::de::DeserializeOwned>(
        &self,
        what: &str,
        request: reqwest::blocking::RequestBuilder,
    ) -> Result<T, Failure> {
        let r = request.send().map_err(|e| Failure {
            error: self.unavailable(what, secure::why(&e)),
            retry: true,
            retry_after: None,
        })?;
        let status = r.status();
        if status.is_success() {
            // A body cut short or garbled: the server's answer never fully
            // arrived; asking again gets it (pushes are answered once per id).
            // One larger than any page the server sends is not asked for again.
            return body::json(r, body::MAX_SYNC_ANSWER).map_err(|e| Failure {
                retry: matches!(e, body::BodyError::Malformed(_)),
                error: self.unavailable(what, e),
                retry_after: None,
            });
        }
        let after = retry_after(&r);
        let message = serde_json::from_str::<serde_json::Value>(&body::error_text(r))
            .ok()
            .and_then(|v| v["message"].as_str().map(str::to_owned))
            .unwrap_or_else(|| status.to_string());
        let (code, retry) = match status.as_u16() {
            401 => (ErrorCode::Unauthorized, false),
            403 => (ErrorCode::Forbidden, false),
            408 | 429 => (ErrorCode::Unavailable, true),
            400..=499 => (ErrorCode::Validation, false),
            _ => (ErrorCode::Unavailable, true),
        };
        Err(Failure {
            error: ApiError::new(code, format!("{}: {what}: {message}", self.base)),
            retry,
            retry_after: after,
        })
    }

    /// Tries `request` until it is answered, it fails for good, or the tries run out.
    fn call<T: serde::de::DeserializeOwned>(
        &mut self,
        what: &str,
        request: impl Fn(&reqwest::blocking::Client) -> reqwest::blocking::RequestBuilder,
    ) -> Result<T, ApiError> {
        let mut failed = 0;
        loop {
            let f = match self.try_once(what, request(&self.client)) {
                Ok(t) => return Ok(t),
                Err(f) => f,
            };
            failed += 1;
            if !f.retry || failed >= self.policy.attempts {
                return Err(f.error);
            }
            let wait = match f.retry_after {
                Some(w) if w > self.policy.max_retry_after => {
                    return Err(ApiError::new(
                        f.error.code,
                        format!(
                            "{} (the server asks to wait {} s; trying at the next sync)",
                            f.error.message,
                            w.as_secs()
                        ),
                    ))
                }
                Some(w) => w,
                None => self.policy.backoff(failed),
            };
            tracing::info!(what, failed, wait_ms = wait.as_millis() as u64, error = %f.error.message, "sync: trying again");
            self.waits.push(wait);
            std::thread::sleep(wait);
        }
    }
}

impl Transport for HttpTransport {
    fn max_batch(&self) -> usize {
        self.max_batch
    }

    fn changes(&mut self, since: u64) -> Result<Changes, ApiError> {
        let url = format!("{}/v1/changes?since={since}", self.base);
        let token = self.token.clone();
        self.call("changes", |c| c.get(&url).bearer_auth(&token))
    }

    fn push(&mut self, key: &str, batch: &[Mutation]) -> Result<Vec<MutationResult>, ApiError> {
        #[derive(serde::Deserialize)]
        struct Results {
            results: Vec<MutationResult>,
        }
        let url = format!("{}/v1/mutations", self.base);
        let token = self.token.clone();
        let body = serde_json::json!({ "mutations": batch });
        Ok(self
            .call::<Results>("mutations", |c| {
                c.post(&url)
                    .bearer_auth(&token)
                    .header("Idempotency-Key", key)
                    .json(&body)
            })?
            .results)
    }

    fn anchor(&mut self, client: &str, seq: u64, hash: &str) -> Result<(), ApiError> {
        let url = format!("{}/v1/audit-heads", self.base);
        let token = self.token.clone();
        let body = serde_json::json!({ "client": client, "seq": seq, "hash": hash });
        self.call::<serde_json::Value>("audit-heads", |c| {
            c.post(&url).bearer_auth(&token).json(&body)
        })?;
        Ok(())
    }

    fn anchored(&mut self, client: &str) -> Result<Vec<(u64, String, String)>, ApiError> {
        #[derive(serde::Deserialize)]
        struct Head {
            seq: u64,
            hash: String,
            at: String,
        }
        let mut url = reqwest::Url::parse(&format!("{}/v1/audit-heads", self.base))
            .map_err(|e| ApiError::new(ErrorCode::Validation, e.to_string()))?;
        url.query_pairs_mut().append_pair("client", client);
        let token = self.token.clone();
        let heads: Vec<Head> =
            self.call("audit-heads", |c| c.get(url.clone()).bearer_auth(&token))?;
        Ok(heads.into_iter().map(|h| (h.seq, h.hash, h.at)).collect())
    }

    fn exchange_requests(
        &mut self,
        push: &relcal_protocol::RequestsPush,
    ) -> Result<relcal_protocol::RequestsAnswer, ApiError> {
        let url = format!("{}/v1/exception-requests", self.base);
        let token = self.token.clone();
        self.call("exception-requests", |c| {
            c.post(&url).bearer_auth(&token).json(push)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_is_full_jitter_under_a_doubling_ceiling() {
        let p = RetryPolicy {
            base: Duration::from_millis(100),
            cap: Duration::from_millis(1000),
            ..RetryPolicy::default()
        };
        for failed in 1..12 {
            let ceiling = Duration::from_millis((100u64 << (failed - 1)).min(1000));
            let waits: Vec<Duration> = (0..200).map(|_| p.backoff(failed)).collect();
            assert!(waits.iter().all(|w| *w <= ceiling), "{failed}: {waits:?}");
            // Spread over the range, not a fixed delay.
            let low = waits.iter().filter(|w| **w < ceiling / 2).count();
            assert!(
                (40..=160).contains(&low),
                "{failed}: {low} of 200 below half"
            );
        }
    }
}
