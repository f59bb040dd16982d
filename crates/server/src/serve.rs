//! How `relcal-server` takes connections and bounds what each may hold:
//! its own accept loop (hyper's HTTP/1 with a header-read timeout, HTTPS
//! with `--tls-cert`), a cap on connections, the `bounded` middleware (requests
//! in flight, the request timeout), and the request log.

use crate::{router, Served, ServerStore, Shared};
use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use relcal_protocol::{ApiError, ErrorCode};
use std::path::Path;
use std::sync::Arc;

/// How much of the server one client, or a flood of them, can hold.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Limits {
    /// How long a client may take to send a request's headers (a client
    /// that trickles them, byte by byte, is cut off).
    pub(crate) header_timeout: std::time::Duration,
    /// Connections served at once; more wait in the listen queue.
    pub(crate) max_connections: usize,
    /// Requests worked on at once; more are answered 503 with Retry-After.
    pub(crate) max_in_flight: usize,
    /// Longest a request may take before it is answered 503.
    pub(crate) request_timeout: std::time::Duration,
    /// Reader connections to the database, at most.
    pub(crate) readers: usize,
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
pub(crate) async fn log_request(
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
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
pub(crate) async fn bounded(
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

/// The TLS set-up for `--tls-cert` and `--tls-key`: errors name the flag and file.
pub(crate) fn tls_acceptor(cert: &Path, key: &Path) -> Result<tokio_rustls::TlsAcceptor, ApiError> {
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

/// How often the log is checkpointed aside.
const CHECKPOINT_EVERY: std::time::Duration = std::time::Duration::from_millis(50);

/// Checkpoints on a connection and a thread of their own (SQLite: see
/// `Store::tuned_for_server`), for as long as the server runs; nothing
/// where the storage keeps no log to checkpoint.
fn checkpoint_aside(open: crate::pool::Opener) {
    let started = std::thread::Builder::new()
        .name("relcal-checkpoint".to_owned())
        .spawn(move || {
            let mut connection = match open() {
                Ok(c) => c,
                Err(e) => {
                    // The writer then checkpoints at its commits, as SQLite does.
                    tracing::warn!("no checkpoints aside: {}", e.message);
                    return;
                }
            };
            loop {
                match connection.checkpoint() {
                    Ok(None) => return,
                    Ok(Some(_)) => {}
                    Err(e) => tracing::warn!("a checkpoint failed: {}", e.message),
                }
                std::thread::sleep(CHECKPOINT_EVERY);
            }
        });
    if let Err(e) = started {
        tracing::warn!("no checkpoints aside: {e}");
    }
}

pub(crate) async fn serve(
    store: Box<dyn ServerStore>,
    open_reader: crate::pool::Opener,
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
    checkpoint_aside(open_reader.clone());
    let shared = Arc::new(Served {
        store: crate::writer::Writer::start(store)?,
        readers: crate::pool::Readers::new(open_reader, limits.readers),
        warm: relcal_server_core::WarmCalendar::default(),
        limits,
        in_flight: Arc::new(tokio::sync::Semaphore::new(limits.max_in_flight)),
    });
    let filled = shared.clone();
    // Before the first request is taken (they wait in the listen queue).
    if let Err(e) = tokio::task::spawn_blocking(move || filled.readers.fill()).await {
        tracing::warn!("the reader connections were not opened at start: {e}");
    }
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
