//! `relcal-server`: the release API over HTTP (axum). A thin front door:
//! every route authenticates its bearer token, checks the role it needs, and
//! calls one `relcal_api` function, off the async workers (storage is
//! blocking). Errors are `{code, message}` with a 4xx or 5xx status. Data
//! lives in one SQLite file (`--db`) or in PostgreSQL (`--database-url`).

/// A line on stdout; a reader that went away (`| head`) is no reason to panic.
macro_rules! say {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        let _ = writeln!(std::io::stdout(), $($arg)*);
    }};
}

/// Plans and mutation batches are mostly small allocations; mimalloc makes them cheap.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

use axum::extract::{DefaultBodyLimit, RawQuery, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use clap::{Parser, Subcommand};
use relcal_protocol::{ApiError, ErrorCode};
use relcal_server_core::{Role, ServerStore};
use serde::Deserialize;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::{Arc, Mutex};

/// Largest request body accepted.
const BODY_LIMIT: usize = 1024 * 1024;

/// How much of the server one client, or a flood of them, can hold.
#[derive(Debug, Clone, Copy)]
struct Limits {
    /// How long a client may take to send a request's headers (a client
    /// that trickles them, byte by byte, is cut off).
    header_timeout: std::time::Duration,
    /// Connections served at once; more wait in the listen queue.
    max_connections: usize,
    /// Requests worked on at once; more are answered 503 with Retry-After.
    max_in_flight: usize,
    /// Longest a request may take before it is answered 503.
    request_timeout: std::time::Duration,
}

#[derive(Parser)]
#[command(name = "relcal-server", version, about = "Relcal's release API server")]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
    /// The server's SQLite database (created if missing).
    #[arg(
        long,
        value_name = "FILE",
        global = true,
        conflicts_with = "database_url"
    )]
    db: Option<PathBuf>,
    /// PostgreSQL instead of SQLite: postgres://user@host:port/database
    /// (tables are created on first use). Also RELCAL_DATABASE_URL.
    #[arg(long, value_name = "URL", global = true, env = "RELCAL_DATABASE_URL")]
    database_url: Option<String>,
    /// Address to listen on, e.g. 127.0.0.1:8080 (port 0: any free port).
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:8080")]
    listen: String,
    /// Serve HTTPS only, with this certificate chain (PEM; with --tls-key).
    #[arg(long, value_name = "FILE", requires = "tls_key")]
    tls_cert: Option<PathBuf>,
    /// The certificate's private key (PEM; with --tls-cert).
    #[arg(long, value_name = "FILE", requires = "tls_cert")]
    tls_key: Option<PathBuf>,
    /// Seconds a client may take to send a request's headers.
    #[arg(long, value_name = "SECONDS", default_value_t = 10, value_parser = clap::value_parser!(u64).range(1..=600))]
    header_timeout: u64,
    /// Connections served at once (more wait to be accepted).
    #[arg(long, value_name = "N", default_value_t = 512, value_parser = clap::value_parser!(u64).range(1..=65536))]
    max_connections: u64,
    /// Requests worked on at once (more are answered 503, Retry-After: 1).
    #[arg(long, value_name = "N", default_value_t = 64, value_parser = clap::value_parser!(u64).range(1..=4096))]
    max_in_flight: u64,
    /// Seconds a request may take before it is answered 503.
    #[arg(long, value_name = "SECONDS", default_value_t = 30, value_parser = clap::value_parser!(u64).range(1..=600))]
    request_timeout: u64,
}

#[derive(Subcommand)]
enum Command {
    /// Manage user tokens.
    Token {
        #[command(subcommand)]
        command: TokenCommand,
    },
    /// Load the team's calendar from a plan file (before desktops sync).
    Import {
        /// The plan file (JSON).
        plan: PathBuf,
    },
    /// The server's audit trail.
    Audit {
        #[command(subcommand)]
        command: AuditCommand,
    },
}

#[derive(Subcommand)]
enum AuditCommand {
    /// Check the server's hash chain against its head (exit 1 names the
    /// first bad entry).
    Verify,
}

#[derive(Subcommand)]
enum TokenCommand {
    /// Create a token for a user and print it (the only time it is shown).
    Create {
        /// The user's name.
        #[arg(long)]
        user: String,
        /// viewer, editor, approver, admin, or feed (reads only the iCalendar
        /// feed; the only token a URL may carry).
        #[arg(long)]
        role: String,
        /// How long it works, as an ISO 8601 duration (P90D, PT12H; at most a
        /// year); without it, until revoked.
        #[arg(long, value_name = "DURATION")]
        expires: Option<String>,
    },
    /// List every token: id, user, role, created, expires, last used (never
    /// the token itself).
    List {
        /// text (a table) or json.
        #[arg(long, default_value = "text")]
        format: String,
    },
    /// Revoke a token by its id (from `token list`): its next request gets 401.
    Revoke {
        /// The token's id.
        id: String,
    },
}

/// What every request shares: the storage, one request at a time, and the
/// calendar kept warm for the read endpoints.
struct Served {
    store: Mutex<Box<dyn ServerStore>>,
    warm: relcal_server_core::WarmCalendar,
    limits: Limits,
    /// One permit per request being worked on.
    in_flight: Arc<tokio::sync::Semaphore>,
}

type Shared = Arc<Served>;

/// An `ApiError` as an HTTP response.
struct Failure(ApiError);

/// A body over [`BODY_LIMIT`]: 413, still as `{code, message}`.
struct TooLarge(ApiError);

impl IntoResponse for TooLarge {
    fn into_response(self) -> Response {
        (StatusCode::PAYLOAD_TOO_LARGE, Json(self.0)).into_response()
    }
}

/// Numbers the failures whose detail stays in the server's log.
static INCIDENTS: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);

impl Failure {
    /// What the client may see: an internal failure or an unreachable
    /// database says so with a number to find it by in the server's log, and
    /// the detail (database errors, paths, hosts) goes only to the log.
    fn for_client(self) -> ApiError {
        match self.0.code {
            ErrorCode::Internal | ErrorCode::Unavailable => {
                let n = INCIDENTS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                tracing::error!(incident = n, code = ?self.0.code, "{}", self.0.message);
                let said = if self.0.code == ErrorCode::Internal {
                    "the server failed to answer"
                } else {
                    "the server's database is unavailable; retry the same request"
                };
                ApiError::new(
                    self.0.code,
                    format!("{said} (incident {n} in the server's log)"),
                )
            }
            _ => self.0,
        }
    }
}

impl IntoResponse for Failure {
    fn into_response(self) -> Response {
        let status = match self.0.code {
            ErrorCode::Validation => StatusCode::BAD_REQUEST,
            ErrorCode::NotFound => StatusCode::NOT_FOUND,
            ErrorCode::Unauthorized => StatusCode::UNAUTHORIZED,
            ErrorCode::Forbidden => StatusCode::FORBIDDEN,
            ErrorCode::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
            ErrorCode::Internal => StatusCode::INTERNAL_SERVER_ERROR,
        };
        let mut response = (status, Json(self.for_client())).into_response();
        if status == StatusCode::UNAUTHORIZED {
            response.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                header::HeaderValue::from_static("Bearer"),
            );
        }
        response
    }
}

impl From<ApiError> for Failure {
    fn from(e: ApiError) -> Self {
        Self(e)
    }
}

fn bearer(headers: &HeaderMap) -> Option<&str> {
    headers
        .get(header::AUTHORIZATION)?
        .to_str()
        .ok()?
        .strip_prefix("Bearer ")
}

/// Runs `f` on the store off the async workers, one request at a time.
async fn with_store<T: Send + 'static>(
    store: Shared,
    f: impl FnOnce(&mut dyn ServerStore) -> Result<T, Failure> + Send + 'static,
) -> Result<T, Failure> {
    tokio::task::spawn_blocking(move || {
        // A request that panicked while it held the storage failed alone: its
        // transaction rolled back as it unwound (SQLite and PostgreSQL alike),
        // so the next request goes on instead of every one failing from then.
        let mut guard = store.store.lock().unwrap_or_else(|poisoned| {
            tracing::error!("a request failed while it held the storage; going on");
            store.store.clear_poison();
            poisoned.into_inner()
        });
        f(guard.as_mut())
    })
    .await
    .map_err(|e| Failure(ApiError::new(ErrorCode::Internal, e.to_string())))?
}

/// The parameters of `endpoint`'s query, each at most once and each one of
/// `known`: anything else is a 400 with `{code, message}` naming it.
fn single_params(
    endpoint: &str,
    query: Option<String>,
    known: &[&str],
) -> Result<std::collections::HashMap<String, String>, Failure> {
    let mut out = std::collections::HashMap::new();
    for (k, v) in form_urlencoded::parse(query.unwrap_or_default().as_bytes()) {
        if !known.contains(&k.as_ref()) {
            return Err(Failure(ApiError::new(
                ErrorCode::Validation,
                format!(
                    "{endpoint}: `{k}` is not a parameter; use {}",
                    known.join(", ")
                ),
            )));
        }
        if out.insert(k.to_string(), v.into_owned()).is_some() {
            return Err(Failure(ApiError::new(
                ErrorCode::Validation,
                format!("{endpoint}: field `{k}` is given more than once"),
            )));
        }
    }
    Ok(out)
}

fn token_of(headers: &HeaderMap) -> Option<String> {
    bearer(headers).map(str::to_owned)
}

/// `token`, refused at once when it is absent or not shaped like a token
/// (`token_shape`): such requests never wait for, or cost, the storage.
fn credentials(token: Option<String>) -> Result<Option<String>, Failure> {
    relcal_server_core::token_shape(token.as_deref())?;
    Ok(token)
}

/// `GET /v1/gate?env=..&service=..[&service=..][&team=..][&at=..]`: may a
/// release with this scope start? Answers like `relcal gate --format json`.
async fn gate(
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
    let plan = warm_plan(store, token, Role::Viewer, false).await?;
    // The answer is worked out from the warm calendar, without the storage.
    off_workers(move || {
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

/// The calendar for `token` (of at least `needed`; a feed token when it came
/// `in_url`), from memory while it is unchanged.
async fn warm_plan(
    shared: Shared,
    token: Option<String>,
    needed: Role,
    in_url: bool,
) -> Result<Arc<relcal_api::Plan>, Failure> {
    let token = credentials(token)?;
    let served = shared.clone();
    with_store(shared, move |s| {
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
        Ok(served.warm.plan(s)?)
    })
    .await
}

/// Runs `f` off the async workers (without the storage).
async fn off_workers<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, Failure> + Send + 'static,
) -> Result<T, Failure> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| Failure(ApiError::new(ErrorCode::Internal, e.to_string())))?
}

/// `GET /v1/calendar.ics?token=..`: the calendar as iCalendar, for Outlook
/// and Google Calendar subscriptions (which cannot send headers).
async fn calendar_ics(
    State(store): State<Shared>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Result<Response, Failure> {
    let mut q = single_params("calendar.ics", query, &["token"])?;
    let (token, in_url) = match q.remove("token") {
        Some(t) => (Some(t), true),
        None => (token_of(&headers), false),
    };
    let plan = warm_plan(store, token, Role::Feed, in_url).await?;
    let ics = off_workers(move || {
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
async fn plan(State(store): State<Shared>, headers: HeaderMap) -> Result<Response, Failure> {
    let token = token_of(&headers);
    let plan = warm_plan(store, token, Role::Viewer, false).await?;
    let json = off_workers(move || Ok(plan.to_json_pretty())).await?;
    Ok(([(header::CONTENT_TYPE, "application/json")], json).into_response())
}

/// `GET /v1/whoami`: the token's user and role.
async fn whoami(
    State(store): State<Shared>,
    headers: HeaderMap,
) -> Result<Json<relcal_server_core::Principal>, Failure> {
    let token = credentials(token_of(&headers))?;
    with_store(store, move |s| {
        Ok(Json(relcal_server_core::authenticate(
            s,
            token.as_deref(),
            Role::Viewer,
            relcal_api::clock::now(),
        )?))
    })
    .await
}

/// `GET /v1/changes?since=CURSOR`: changes after the cursor (0: everything).
async fn changes(
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
    with_store(store, move |s| {
        relcal_server_core::authenticate(
            s,
            token.as_deref(),
            Role::Viewer,
            relcal_api::clock::now(),
        )?;
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

/// A desktop's audit-chain head, sent after each sync.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Head {
    client: String,
    seq: u64,
    hash: String,
}

/// `POST /v1/audit-heads`: keeps a desktop's audit-chain head, so a chain
/// rewritten later on that desktop (head included) no longer matches it.
async fn anchor_head(
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
    with_store(store, move |s| {
        let who = relcal_server_core::authenticate(
            s,
            token.as_deref(),
            Role::Viewer,
            relcal_api::clock::now(),
        )?;
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
async fn audit_heads(
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
    with_store(store, move |s| {
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

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Batch {
    mutations: Vec<relcal_api::Mutation>,
}

/// `POST /v1/mutations` with an `Idempotency-Key`: applies a batch; each
/// mutation comes back applied, conflict or rejected. The same key gets the
/// same answer again.
async fn mutations(
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
    let body = with_store(store, move |s| {
        // Who asks comes first: a stranger learns nothing about the request.
        let who = relcal_server_core::authenticate(
            s,
            token.as_deref(),
            Role::Viewer,
            relcal_api::clock::now(),
        )?;
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
        let batch_key = format!("batch:{}:{key}", who.user);
        if let Some(previous) = s.answer(&batch_key)? {
            return Ok(previous);
        }
        let results = relcal_server_core::apply_mutations(
            s,
            &who,
            &batch.mutations,
            relcal_api::clock::now(),
        )?;
        let body = serde_json::json!({ "results": results }).to_string();
        s.record_answer(&batch_key, &body)?;
        Ok(body)
    })
    .await?;
    Ok(([(header::CONTENT_TYPE, "application/json")], body).into_response())
}

async fn not_found() -> Failure {
    Failure(ApiError::new(
        ErrorCode::NotFound,
        "no such endpoint; see docs/openapi.yaml",
    ))
}

async fn not_allowed() -> Response {
    (
        StatusCode::METHOD_NOT_ALLOWED,
        Json(ApiError::new(
            ErrorCode::Validation,
            "this endpoint does not take that method; see docs/openapi.yaml",
        )),
    )
        .into_response()
}

/// A request's path and query for the log: re-encoded, so a value cannot
/// write a line of its own into the log, and a token shown as `…`.
fn logged_path(uri: &axum::http::Uri) -> String {
    let mut query = form_urlencoded::Serializer::new(String::new());
    for (k, v) in form_urlencoded::parse(uri.query().unwrap_or_default().as_bytes()) {
        query.append_pair(&k, if k == "token" { "…" } else { &v });
    }
    let query = query.finish();
    if query.is_empty() {
        uri.path().to_owned()
    } else {
        format!("{}?{query}", uri.path())
    }
}

/// The request log: method, path (a token in the query shown as `…`),
/// status and time, one line a request.
async fn log_request(request: axum::extract::Request, next: axum::middleware::Next) -> Response {
    let method = request.method().clone();
    let path = logged_path(request.uri());
    let started = std::time::Instant::now();
    let response = next.run(request).await;
    tracing::info!(
        target: "relcal_server::request",
        "{method} {path} {} {} ms",
        response.status().as_u16(),
        started.elapsed().as_millis()
    );
    response
}

/// The server is busy or a request took too long: 503 with `{code, message}`
/// and when to retry.
fn unavailable(message: String) -> Response {
    let mut response = (
        StatusCode::SERVICE_UNAVAILABLE,
        Json(ApiError::new(ErrorCode::Unavailable, message)),
    )
        .into_response();
    response
        .headers_mut()
        .insert(header::RETRY_AFTER, header::HeaderValue::from_static("1"));
    response
}

/// At most `max_in_flight` requests at once, each for at most `request_timeout`.
async fn bounded(
    State(served): State<Shared>,
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    let Ok(_permit) = served.in_flight.clone().try_acquire_owned() else {
        return unavailable(format!(
            "the server is working on {} requests; retry in a second",
            served.limits.max_in_flight
        ));
    };
    let limit = served.limits.request_timeout;
    match tokio::time::timeout(limit, next.run(request)).await {
        Ok(response) => response,
        Err(_) => unavailable(format!(
            "the request took longer than {} s; retry it (a mutation is answered once: \
             the same Idempotency-Key gets its answer)",
            limit.as_secs()
        )),
    }
}

fn router(store: Shared) -> Router {
    Router::new()
        .route("/v1/gate", get(gate))
        .route("/v1/calendar.ics", get(calendar_ics))
        .route("/v1/plan", get(plan))
        .route("/v1/whoami", get(whoami))
        .route("/v1/changes", get(changes))
        .route("/v1/mutations", axum::routing::post(mutations))
        .route("/v1/audit-heads", get(audit_heads).post(anchor_head))
        .fallback(not_found)
        .method_not_allowed_fallback(not_allowed)
        .layer(DefaultBodyLimit::max(BODY_LIMIT))
        .layer(axum::middleware::from_fn_with_state(store.clone(), bounded))
        .layer(axum::middleware::from_fn(log_request))
        .with_state(store)
}

/// The server's storage: PostgreSQL with `--database-url`, else the SQLite file.
fn open(db: Option<PathBuf>, url: Option<String>) -> Result<Box<dyn ServerStore>, ApiError> {
    if let Some(url) = url.filter(|u| !u.trim().is_empty()) {
        return Ok(Box::new(relcal_store_pg::PgStore::connect(&url)?));
    }
    let path = db.ok_or_else(|| {
        ApiError::new(
            ErrorCode::Validation,
            "--db: give the server's database file (or --database-url for PostgreSQL)",
        )
    })?;
    Ok(Box::new(relcal_api::open_store(&path)?))
}

/// The TLS set-up for `--tls-cert` and `--tls-key`: errors name the flag and file.
fn tls_acceptor(cert: &Path, key: &Path) -> Result<tokio_rustls::TlsAcceptor, ApiError> {
    use rustls_pki_types::pem::PemObject;
    use rustls_pki_types::{CertificateDer, PrivateKeyDer};
    let bad = |flag: &str, path: &Path, e: &dyn std::fmt::Display| {
        ApiError::new(
            ErrorCode::Validation,
            format!("{flag} {}: {e}", path.display()),
        )
    };
    let chain: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(cert)
        .map_err(|e| bad("--tls-cert", cert, &e))?
        .collect::<Result<_, _>>()
        .map_err(|e| bad("--tls-cert", cert, &e))?;
    if chain.is_empty() {
        return Err(bad("--tls-cert", cert, &"it holds no PEM certificate"));
    }
    let key = PrivateKeyDer::from_pem_file(key).map_err(|e| bad("--tls-key", key, &e))?;
    // The provider named, not the process default: another crate in the
    // build could enable a second one, and then no default is chosen.
    let provider = Arc::new(tokio_rustls::rustls::crypto::aws_lc_rs::default_provider());
    let mut config = tokio_rustls::rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| ApiError::new(ErrorCode::Internal, e.to_string()))?
        .with_no_client_auth()
        .with_single_cert(chain, key)
        .map_err(|e| {
            bad(
                "--tls-key",
                cert,
                &format!("does not go with the certificate: {e}"),
            )
        })?;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(tokio_rustls::TlsAcceptor::from(Arc::new(config)))
}

async fn serve(
    store: Box<dyn ServerStore>,
    listen: &str,
    limits: Limits,
    tls: Option<tokio_rustls::TlsAcceptor>,
) -> Result<(), ApiError> {
    let listener = tokio::net::TcpListener::bind(listen).await.map_err(|e| {
        ApiError::new(
            ErrorCode::Unavailable,
            format!("--listen {listen}: cannot listen: {e}"),
        )
    })?;
    let addr = listener
        .local_addr()
        .map_err(|e| ApiError::new(ErrorCode::Internal, e.to_string()))?;
    // Scripts and tests read the address (port 0 picks a free one).
    let scheme = if tls.is_some() { "https" } else { "http" };
    say!("listening on {scheme}://{addr}");
    let shared = Arc::new(Served {
        store: Mutex::new(store),
        warm: relcal_server_core::WarmCalendar::default(),
        limits,
        in_flight: Arc::new(tokio::sync::Semaphore::new(limits.max_in_flight)),
    });
    let app = router(shared);
    let connections = Arc::new(tokio::sync::Semaphore::new(limits.max_connections));
    let mut stop = std::pin::pin!(tokio::signal::ctrl_c());
    loop {
        // A connection is accepted only when one of the permits is free.
        let permit = tokio::select! {
            permit = connections.clone().acquire_owned() => permit
                .map_err(|e| ApiError::new(ErrorCode::Internal, e.to_string()))?,
            _ = &mut stop => break,
        };
        let stream = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => stream,
                Err(e) => {
                    // Out of file descriptors, a reset before accept: go on.
                    tracing::warn!("accept failed: {e}");
                    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                    continue;
                }
            },
            _ = &mut stop => break,
        };
        let service = hyper_util::service::TowerToHyperService::new(app.clone());
        let tls = tls.clone();
        tokio::spawn(async move {
            let http = hyper::server::conn::http1::Builder::new()
                .timer(hyper_util::rt::TokioTimer::new())
                .header_read_timeout(limits.header_timeout)
                .to_owned();
            let ended = match tls {
                None => {
                    http.serve_connection(hyper_util::rt::TokioIo::new(stream), service)
                        .await
                }
                // The handshake, like the headers, has the header timeout.
                Some(tls) => {
                    match tokio::time::timeout(limits.header_timeout, tls.accept(stream)).await {
                        Ok(Ok(stream)) => {
                            http.serve_connection(hyper_util::rt::TokioIo::new(stream), service)
                                .await
                        }
                        Ok(Err(e)) => {
                            tracing::debug!("TLS handshake failed: {e}");
                            Ok(())
                        }
                        Err(_) => Ok(()),
                    }
                }
            };
            if let Err(e) = ended {
                tracing::debug!("connection ended: {e}");
            }
            drop(permit);
        });
    }
    // Let the requests being answered finish (a few seconds at most).
    let all = u32::try_from(limits.max_connections).unwrap_or(u32::MAX);
    let _ = tokio::time::timeout(
        std::time::Duration::from_secs(5),
        connections.acquire_many(all),
    )
    .await;
    Ok(())
}

fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("RELCAL_LOG")
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .init();
    let cli = Cli::parse();
    let result = (|| -> Result<(), ApiError> {
        relcal_api::clock::init()?;
        let mut store = open(cli.db, cli.database_url)?;
        match cli.command {
            Some(Command::Token {
                command:
                    TokenCommand::Create {
                        user,
                        role,
                        expires,
                    },
            }) => {
                say!(
                    "{}",
                    relcal_server_core::create_token(
                        store.as_mut(),
                        &user,
                        &role,
                        expires.as_deref(),
                        relcal_api::clock::now()
                    )?
                );
                Ok(())
            }
            Some(Command::Token {
                command: TokenCommand::List { format },
            }) => {
                let tokens = relcal_server_core::list_tokens(store.as_mut())?;
                match format.as_str() {
                    "json" => say!(
                        "{}",
                        serde_json::to_string_pretty(&tokens).unwrap_or_default()
                    ),
                    "text" => {
                        say!(
                            "{:<12}  {:<20}  {:<8}  {:<20}  {:<20}  last used",
                            "id",
                            "user",
                            "role",
                            "created",
                            "expires"
                        );
                        for t in &tokens {
                            say!(
                                "{:<12}  {:<20}  {:<8}  {:<20}  {:<20}  {}",
                                t.id,
                                t.user,
                                t.role,
                                t.created_at,
                                t.expires_at.as_deref().unwrap_or("never"),
                                t.last_used_at.as_deref().unwrap_or("never")
                            );
                        }
                    }
                    other => {
                        return Err(ApiError::new(
                            ErrorCode::Validation,
                            format!("--format: \"{other}\" is not text or json"),
                        ))
                    }
                }
                Ok(())
            }
            Some(Command::Token {
                command: TokenCommand::Revoke { id },
            }) => {
                let gone = relcal_server_core::revoke_token(
                    store.as_mut(),
                    &id,
                    relcal_api::clock::now(),
                )?;
                say!(
                    "revoked {} ({}, {}): its next request gets 401",
                    gone.id,
                    gone.user,
                    gone.role
                );
                Ok(())
            }
            Some(Command::Audit {
                command: AuditCommand::Verify,
            }) => match store.verify_audit()? {
                Ok(n) => {
                    say!("the audit trail is intact: {n} entries");
                    Ok(())
                }
                Err(broken) => {
                    eprintln!("relcal-server: the audit trail is broken: {broken}");
                    std::process::exit(1);
                }
            },
            Some(Command::Import { plan }) => {
                let text = std::fs::read_to_string(&plan).map_err(|e| {
                    ApiError::new(
                        ErrorCode::Validation,
                        format!("{}: cannot read the plan: {e}", plan.display()),
                    )
                })?;
                let s = relcal_server_core::import_server_plan(
                    store.as_mut(),
                    &text,
                    relcal_api::clock::now(),
                )?;
                say!(
                    "imported {}: {} teams, {} services, {} environments, {} freezes, {} releases",
                    plan.display(),
                    s.teams,
                    s.services,
                    s.environments,
                    s.freezes,
                    s.releases
                );
                Ok(())
            }
            None => {
                let runtime = tokio::runtime::Builder::new_multi_thread()
                    .enable_all()
                    .build()
                    .map_err(|e| ApiError::new(ErrorCode::Internal, e.to_string()))?;
                let limits = Limits {
                    header_timeout: std::time::Duration::from_secs(cli.header_timeout),
                    max_connections: usize::try_from(cli.max_connections).unwrap_or(usize::MAX),
                    max_in_flight: usize::try_from(cli.max_in_flight).unwrap_or(usize::MAX),
                    request_timeout: std::time::Duration::from_secs(cli.request_timeout),
                };
                let tls = match (&cli.tls_cert, &cli.tls_key) {
                    (Some(cert), Some(key)) => Some(tls_acceptor(cert, key)?),
                    _ => None,
                };
                runtime.block_on(serve(store, &cli.listen, limits, tls))
            }
        }
    })();
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("relcal-server: {}", e.message);
            ExitCode::from(match e.code {
                ErrorCode::Validation | ErrorCode::NotFound => 2,
                _ => 3,
            })
        }
    }
}
