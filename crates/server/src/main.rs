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

use axum::extract::DefaultBodyLimit;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use clap::{Parser, Subcommand};
use relcal_protocol::{ApiError, ErrorCode};
use relcal_server_core::ServerStore;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

mod audit_heads;
mod pool;
mod read_routes;
mod requests_routes;
mod serve;
mod sync_routes;
mod writer;
use audit_heads::{anchor_head, audit_heads};
use read_routes::{calendar_ics, gate, plan, slot, whoami};
use requests_routes::{list_requests, push_requests};
use serve::{bounded, log_request, serve, tls_acceptor, Limits};
use sync_routes::{changes, mutations};

/// Largest request body accepted.
const BODY_LIMIT: usize = 1024 * 1024;

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
    /// Reader connections to the database: reads and authentication run
    /// on these, beside the one connection that writes. All are opened at
    /// start and held: with PostgreSQL, a server process holds N + 1
    /// connections (these and the writer).
    #[arg(long, value_name = "N", default_value_t = 4, value_parser = clap::value_parser!(u64).range(1..=256))]
    readers: u64,
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
    /// The one connection that writes, on its own thread (`writer.rs`).
    store: writer::Writer,
    /// Connections for reads and authentication (`pool.rs`).
    readers: pool::Readers,
    warm: relcal_server_core::WarmCalendar,
    limits: Limits,
    /// One permit per request being worked on.
    in_flight: Arc<tokio::sync::Semaphore>,
}

type Shared = Arc<Served>;

/// An `ApiError` as an HTTP response.
#[derive(Debug)]
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
    store.store.run(f).await
}

/// Runs `f` on one of the reader connections off the async workers: reads
/// and authentication never wait behind a write.
async fn with_reader<T: Send + 'static>(
    shared: Shared,
    f: impl FnOnce(&mut dyn ServerStore) -> Result<T, Failure> + Send + 'static,
) -> Result<T, Failure> {
    tokio::task::spawn_blocking(move || shared.readers.with(f))
        .await
        .map_err(|e| Failure(ApiError::new(ErrorCode::Internal, e.to_string())))?
}

/// Who `token` is (of at least `needed`), asked on a reader connection: a
/// flood of bad tokens never holds the writer.
async fn who_is(
    shared: Shared,
    token: Option<String>,
    needed: relcal_server_core::Role,
) -> Result<relcal_server_core::Principal, Failure> {
    with_reader(shared, move |s| {
        Ok(relcal_server_core::authenticate(
            s,
            token.as_deref(),
            needed,
            relcal_api::clock::now(),
        )?)
    })
    .await
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

fn router(store: Shared) -> Router {
    Router::new()
        .route("/v1/gate", get(gate))
        .route("/v1/slot", get(slot))
        .route("/v1/calendar.ics", get(calendar_ics))
        .route("/v1/plan", get(plan))
        .route("/v1/whoami", get(whoami))
        .route("/v1/changes", get(changes))
        .route("/v1/mutations", axum::routing::post(mutations))
        .route("/v1/audit-heads", get(audit_heads).post(anchor_head))
        .route(
            "/v1/exception-requests",
            get(list_requests).post(push_requests),
        )
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
    Ok(Box::new(relcal_api::open_store(&path)?.tuned_for_server()?))
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
        let (db, database_url) = (cli.db.clone(), cli.database_url.clone());
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
                    readers: usize::try_from(cli.readers).unwrap_or(usize::MAX),
                };
                let tls = match (&cli.tls_cert, &cli.tls_key) {
                    (Some(cert), Some(key)) => Some(tls_acceptor(cert, key)?),
                    _ => None,
                };
                let opener: pool::Opener = Arc::new(move || open(db.clone(), database_url.clone()));
                runtime.block_on(serve(store, opener, &cli.listen, limits, tls))
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
