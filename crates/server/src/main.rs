//! `relcal-server`: the release API over HTTP (axum). A thin front door:
//! every route authenticates its bearer token, checks the role it needs, and
//! calls one `relcal_api` function. Errors are `{code, message}` with a 4xx or
//! 5xx status.

use axum::extract::{DefaultBodyLimit, Query, RawQuery, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use clap::{Parser, Subcommand};
use relcal_api::{ApiError, ErrorCode, Role, Store};
use serde::Deserialize;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::{Arc, Mutex};

/// Largest request body accepted.
const BODY_LIMIT: usize = 1024 * 1024;

#[derive(Parser)]
#[command(name = "relcal-server", version, about = "Relcal's release API server")]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
    /// The server's SQLite database (created if missing).
    #[arg(long, value_name = "FILE", global = true)]
    db: Option<PathBuf>,
    /// Address to listen on, e.g. 127.0.0.1:8080 (port 0: any free port).
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:8080")]
    listen: String,
}

#[derive(Subcommand)]
enum Command {
    /// Manage user tokens.
    Token {
        #[command(subcommand)]
        command: TokenCommand,
    },
}

#[derive(Subcommand)]
enum TokenCommand {
    /// Create a token for a user and print it (the only time it is shown).
    Create {
        /// The user's name.
        #[arg(long)]
        user: String,
        /// viewer, editor, approver or admin.
        #[arg(long)]
        role: String,
    },
}

type Shared = Arc<Mutex<Store>>;

/// An `ApiError` as an HTTP response.
struct Failure(ApiError);

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
        let mut response = (status, Json(self.0)).into_response();
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

fn lock(store: &Shared) -> Result<std::sync::MutexGuard<'_, Store>, Failure> {
    store.lock().map_err(|_| {
        Failure(ApiError::new(
            ErrorCode::Internal,
            "the database is unavailable after an earlier failure",
        ))
    })
}

/// `GET /v1/gate?env=..&service=..[&service=..][&team=..][&at=..]`: may a
/// release with this scope start? Answers like `relcal gate --format json`.
async fn gate(
    State(store): State<Shared>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Result<Json<relcal_api::GateReport>, Failure> {
    let store = lock(&store)?;
    relcal_api::authenticate(&store, bearer(&headers), Role::Viewer)?;
    let (mut env, mut services, mut team, mut at) = (None, Vec::new(), None, None);
    for (k, v) in form_urlencoded::parse(query.unwrap_or_default().as_bytes()) {
        match k.as_ref() {
            "env" => env = Some(v.into_owned()),
            "service" => services.push(v.into_owned()),
            "team" => team = Some(v.into_owned()),
            "at" => at = Some(v.into_owned()),
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
        None => chrono::Utc::now(),
        Some(t) => chrono::DateTime::parse_from_rfc3339(t)
            .map(|t| t.to_utc())
            .map_err(|e| {
                Failure(ApiError::new(
                    ErrorCode::Validation,
                    format!("gate: field `at`: `{t}` is not an RFC 3339 instant ({e})"),
                ))
            })?,
    };
    let plan = relcal_api::stored_plan(&store)?;
    Ok(Json(relcal_api::gate_plan(
        &plan,
        &env,
        &services,
        team.as_deref(),
        at,
    )?))
}

#[derive(Deserialize)]
struct FeedQuery {
    token: Option<String>,
}

/// `GET /v1/calendar.ics?token=..`: the calendar as iCalendar, for Outlook
/// and Google Calendar subscriptions (which cannot send headers).
async fn calendar_ics(
    State(store): State<Shared>,
    headers: HeaderMap,
    Query(q): Query<FeedQuery>,
) -> Result<Response, Failure> {
    let store = lock(&store)?;
    let token = q.token.as_deref().or_else(|| bearer(&headers));
    relcal_api::authenticate(&store, token, Role::Viewer)?;
    let ics = relcal_api::export_plan_ics(&store, chrono::Utc::now())?;
    Ok((
        [(header::CONTENT_TYPE, "text/calendar; charset=utf-8")],
        ics,
    )
        .into_response())
}

/// `GET /v1/plan`: the calendar as a plan file.
async fn plan(State(store): State<Shared>, headers: HeaderMap) -> Result<Response, Failure> {
    let store = lock(&store)?;
    relcal_api::authenticate(&store, bearer(&headers), Role::Viewer)?;
    let json = relcal_api::export_plan_json(&store)?;
    Ok(([(header::CONTENT_TYPE, "application/json")], json).into_response())
}

/// `GET /v1/whoami`: the token's user and role.
async fn whoami(
    State(store): State<Shared>,
    headers: HeaderMap,
) -> Result<Json<relcal_api::Principal>, Failure> {
    let store = lock(&store)?;
    Ok(Json(relcal_api::authenticate(
        &store,
        bearer(&headers),
        Role::Viewer,
    )?))
}

#[derive(Deserialize)]
struct SinceQuery {
    since: Option<String>,
}

/// `GET /v1/changes?since=CURSOR`: changes after the cursor (0: everything).
async fn changes(
    State(store): State<Shared>,
    headers: HeaderMap,
    Query(q): Query<SinceQuery>,
) -> Result<Json<relcal_api::Changes>, Failure> {
    let mut store = lock(&store)?;
    relcal_api::authenticate(&store, bearer(&headers), Role::Viewer)?;
    let since = match q.since.as_deref() {
        None => 0,
        Some(s) => s.parse::<u64>().map_err(|_| {
            Failure(ApiError::new(
                ErrorCode::Validation,
                format!("changes: field `since`: `{s}` is not a cursor"),
            ))
        })?,
    };
    Ok(Json(relcal_api::changes_since(
        &mut store,
        since,
        1000,
        chrono::Utc::now(),
    )?))
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
    let mut store = lock(&store)?;
    let who = relcal_api::authenticate(&store, bearer(&headers), Role::Viewer)?;
    let key = headers
        .get("idempotency-key")
        .and_then(|v| v.to_str().ok())
        .filter(|k| !k.trim().is_empty() && k.len() <= 200)
        .ok_or_else(|| {
            Failure(ApiError::new(
                ErrorCode::Validation,
                "mutations: the Idempotency-Key header is required",
            ))
        })?
        .to_owned();
    let Json(batch) = body.map_err(|e| {
        Failure(ApiError::new(
            ErrorCode::Validation,
            format!("mutations: {}", e.body_text()),
        ))
    })?;
    let batch_key = format!("batch:{}:{key}", who.user);
    if let Some(previous) = store
        .sync_mutation_result(&batch_key)
        .map_err(ApiError::from)?
    {
        return Ok(([(header::CONTENT_TYPE, "application/json")], previous).into_response());
    }
    let results =
        relcal_api::apply_mutations(&mut store, &who, &batch.mutations, chrono::Utc::now())?;
    let body = serde_json::json!({ "results": results }).to_string();
    store
        .record_sync_mutation(&batch_key, &body)
        .map_err(ApiError::from)?;
    Ok(([(header::CONTENT_TYPE, "application/json")], body).into_response())
}

async fn not_found() -> Failure {
    Failure(ApiError::new(
        ErrorCode::NotFound,
        "no such endpoint; see docs/openapi.yaml",
    ))
}

fn router(store: Shared) -> Router {
    Router::new()
        .route("/v1/gate", get(gate))
        .route("/v1/calendar.ics", get(calendar_ics))
        .route("/v1/plan", get(plan))
        .route("/v1/whoami", get(whoami))
        .route("/v1/changes", get(changes))
        .route("/v1/mutations", axum::routing::post(mutations))
        .fallback(not_found)
        .layer(DefaultBodyLimit::max(BODY_LIMIT))
        .with_state(store)
}

fn open(db: Option<PathBuf>) -> Result<Store, ApiError> {
    let path = db.ok_or_else(|| {
        ApiError::new(
            ErrorCode::Validation,
            "--db: give the server's database file",
        )
    })?;
    relcal_api::open_store(&path)
}

async fn serve(store: Store, listen: &str) -> Result<(), ApiError> {
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
    println!("listening on http://{addr}");
    axum::serve(listener, router(Arc::new(Mutex::new(store))))
        .with_graceful_shutdown(async {
            let _ = tokio::signal::ctrl_c().await;
        })
        .await
        .map_err(|e| ApiError::new(ErrorCode::Internal, e.to_string()))
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
        let mut store = open(cli.db)?;
        match cli.command {
            Some(Command::Token {
                command: TokenCommand::Create { user, role },
            }) => {
                println!(
                    "{}",
                    relcal_api::create_token(&mut store, &user, &role, chrono::Utc::now())?
                );
                Ok(())
            }
            None => {
                let runtime = tokio::runtime::Builder::new_multi_thread()
                    .enable_all()
                    .build()
                    .map_err(|e| ApiError::new(ErrorCode::Internal, e.to_string()))?;
                runtime.block_on(serve(store, &cli.listen))
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
