//! The app's sync loop: a tokio task that syncs the calendar with its server
//! in the background (on its own database connection, so the window never
//! waits for the network), soon after a change here, every minute otherwise,
//! and backing off with full jitter while the server cannot be reached. Each
//! try is recorded for the status line; the window hears `relcal://sync`
//! after every try and `relcal://changed` when the server's changes arrived.

use crate::AppState;
use relcal_api::{ApiError, ErrorCode, SyncReport, SyncStatus};
use serde::Serialize;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;
use tauri::{AppHandle, Emitter, Manager, Runtime};

/// The window's event after each sync try, with the new [`SyncView`].
pub const SYNC_EVENT: &str = "relcal://sync";
/// The window's event when a sync brought the server's changes: reload.
pub const CHANGED_EVENT: &str = "relcal://changed";

/// How often the app syncs while nothing changes here.
const INTERVAL: Duration = Duration::from_secs(60);
/// How long after a change here the app syncs (changes made together go together).
const AFTER_CHANGE: Duration = Duration::from_secs(2);
/// The longest wait between tries while the server cannot be reached.
const MAX_BACKOFF: Duration = Duration::from_secs(300);

/// Where sync stands, for the window.
#[derive(Debug, Clone, Serialize, specta::Type)]
pub struct SyncView {
    /// The recorded state: server, last sync, pending changes, conflicts.
    pub status: SyncStatus,
    /// Sync is on (a server is set).
    pub enabled: bool,
    /// Where the token comes from: `keyring` or `environment`; none when there is none.
    pub token_source: Option<String>,
    /// Why no token can be found, when none can.
    pub token_problem: Option<String>,
    /// A sync is running now.
    pub syncing: bool,
}

/// The app's sync state, beside the calendar.
#[derive(Default)]
pub struct SyncState {
    /// Wakes the loop: a change here, a new server, "Sync now".
    pub wake: tokio::sync::Notify,
    /// One sync at a time.
    pub running: tokio::sync::Mutex<()>,
    /// For the view: a sync is running.
    pub busy: AtomicBool,
    /// Wakes the connections poller (settings changed).
    pub adapters_wake: tokio::sync::Notify,
    /// One adapter run at a time.
    pub adapters_running: tokio::sync::Mutex<()>,
    /// For the view: adapters are running.
    pub adapters_busy: AtomicBool,
}

/// The view of where sync stands now.
pub fn view(state: &AppState) -> Result<SyncView, ApiError> {
    let store = crate::handle::read(state)?;
    let server = relcal_api::sync_server(&store)?;
    let mut status = relcal_api::sync_status(&store)?;
    drop(store);
    let (token_source, token_problem) = match &server {
        None => (None, None),
        Some(s) => match relcal_http::load_token(s) {
            Ok((_, source)) => (
                Some(
                    match source {
                        relcal_http::TokenSource::Keyring => "keyring",
                        relcal_http::TokenSource::Environment => "environment",
                    }
                    .to_owned(),
                ),
                None,
            ),
            Err(e) => (None, Some(e.message)),
        },
    };
    if status.server.is_none() {
        status.server.clone_from(&server);
    }
    Ok(SyncView {
        status,
        enabled: server.is_some(),
        token_source,
        token_problem,
        syncing: state.sync.busy.load(Ordering::Relaxed),
    })
}

/// Runs `work` on a database connection of its own (as the window's user),
/// off the async runtime, with `busy` set meanwhile (`started` is told once
/// it is). `what` names the work in the error an in-memory calendar gets.
async fn on_own_connection<T: Send + 'static>(
    state: &AppState,
    what: &str,
    busy: &AtomicBool,
    started: impl FnOnce(),
    work: impl FnOnce(&mut relcal_api::Store) -> Result<T, ApiError> + Send + 'static,
) -> Result<T, ApiError> {
    let (path, user) = {
        let store = crate::handle::read(state)?;
        (store.path().to_owned(), store.actor().to_owned())
    };
    if path.as_os_str().is_empty() || path == std::path::Path::new(":memory:") {
        return Err(ApiError::new(
            ErrorCode::Validation,
            format!("{what}: this calendar is in memory only; open one from a file to use it"),
        ));
    }
    busy.store(true, Ordering::Relaxed);
    started();
    let result = tauri::async_runtime::spawn_blocking(move || {
        let mut store = relcal_api::open_store(&path)?;
        store.set_actor(&user);
        work(&mut store)
    })
    .await
    .unwrap_or_else(|e| Err(ApiError::new(ErrorCode::Internal, e.to_string())));
    busy.store(false, Ordering::Relaxed);
    result
}

/// Syncs once, now, on a connection of its own, off the async runtime.
pub async fn sync_now<R: Runtime>(app: &AppHandle<R>) -> Result<SyncReport, ApiError> {
    let state = app.state::<AppState>();
    let _one = state.sync.running.lock().await;
    let server = relcal_api::sync_server(&*crate::handle::read(&state)?)?.ok_or_else(|| {
        ApiError::new(
            ErrorCode::Validation,
            "sync: no server is set; connect to one in Calendar ▸ Sync",
        )
    })?;
    let started = || {
        let _ = app.emit(SYNC_EVENT, view(&state).ok());
    };
    let result = on_own_connection(&state, "sync", &state.sync.busy, started, move |store| {
        relcal_api::sync_with(
            store,
            &server,
            relcal_http::HttpTransport::connect,
            relcal_api::clock::now(),
        )
    })
    .await;
    if let Ok(report) = &result {
        if report.pulled > 0 {
            // The notification scheduler and the window look again.
            state.changed.notify_one();
            let _ = app.emit(CHANGED_EVENT, report.pulled);
        }
        if report.conflicts > 0 {
            announce_conflicts(app, &state, report.conflicts);
        }
    }
    let _ = app.emit(SYNC_EVENT, view(&state).ok());
    result
}

/// New sync conflicts wait for a person: a desktop notification (unless
/// do-not-disturb is on) whose click opens the sync dialog.
fn announce_conflicts<R: Runtime>(app: &AppHandle<R>, state: &AppState, n: u32) {
    let quiet = crate::handle::read(state)
        .ok()
        .and_then(|s| relcal_api::notify_settings(&s).ok())
        .is_some_and(|s| s.do_not_disturb);
    if quiet {
        return;
    }
    let notice = relcal_api::OutgoingNotice {
        key: format!("sync-conflicts-{}", relcal_api::clock::now().timestamp()),
        summary: if n == 1 {
            "A sync conflict needs you".to_owned()
        } else {
            format!("{n} sync conflicts need you")
        },
        body: "You and someone else changed the same field. Open Relcal to choose yours or theirs."
            .to_owned(),
        target_kind: Some("sync".to_owned()),
        target_id: Some("conflicts".to_owned()),
    };
    if let Err(e) = crate::notifications::show(app, &notice) {
        tracing::warn!("sync: cannot show a notification: {e}");
    }
}

/// The loop: runs for the app's lifetime.
pub async fn run<R: Runtime>(app: AppHandle<R>) {
    let mut failures: u32 = 0;
    loop {
        let state = app.state::<AppState>();
        let enabled = crate::handle::read(&state)
            .ok()
            .and_then(|s| relcal_api::sync_server(&s).ok().flatten())
            .is_some();
        let wait = if !enabled {
            None
        } else {
            match sync_now(&app).await {
                Ok(report) => {
                    failures = 0;
                    if report.pushed + report.pulled + report.conflicts > 0 {
                        tracing::info!(?report, "synced");
                    }
                    Some(INTERVAL)
                }
                Err(e) => {
                    failures = failures.saturating_add(1);
                    tracing::warn!("sync: {}", e.message);
                    // Full jitter over a doubling ceiling, from the interval up.
                    let ceiling = relcal_http::doubling(INTERVAL, MAX_BACKOFF, failures);
                    Some(INTERVAL / 2 + relcal_http::full_jitter(ceiling))
                }
            }
        };
        let wake = &app.state::<AppState>().sync.wake;
        match wait {
            Some(w) => {
                let _ = tokio::time::timeout(w, wake.notified()).await;
            }
            None => wake.notified().await,
        }
        // Changes made together go out together.
        tokio::time::sleep(AFTER_CHANGE).await;
    }
}

/// The Connections tab: what is followed, whether tokens are kept, the last runs.
#[derive(Debug, Clone, Serialize, specta::Type)]
pub struct ConnectionsView {
    /// GitLab and GitHub settings.
    pub settings: relcal_api::AdapterSettings,
    /// A GitLab token is available (keyring or `GITLAB_TOKEN`).
    pub gitlab_token: bool,
    /// A GitHub token is available (keyring or `GITHUB_TOKEN`).
    pub github_token: bool,
    /// The latest run of each adapter.
    pub runs: Vec<relcal_api::AdapterRun>,
    /// A run is going on now.
    pub running: bool,
}

/// How often the followed systems are polled.
const CONNECTIONS_INTERVAL: Duration = Duration::from_secs(15 * 60);

/// The Connections view now.
pub fn connections_view(state: &AppState) -> Result<ConnectionsView, ApiError> {
    let store = crate::handle::read(state)?;
    let settings = relcal_api::adapter_settings(&store)?;
    let runs = relcal_api::adapter_runs(&store)?;
    drop(store);
    let gitlab_token = settings
        .gitlab_url
        .as_deref()
        .is_some_and(|u| relcal_http::gitlab_token(u).is_some());
    let api = settings
        .github_api
        .clone()
        .unwrap_or_else(|| relcal_http::GITHUB_API.to_owned());
    let github_token = settings.github_repo.is_some() && relcal_http::github_token(&api).is_some();
    Ok(ConnectionsView {
        settings,
        gitlab_token,
        github_token,
        runs,
        running: state.sync.adapters_busy.load(Ordering::Relaxed),
    })
}

/// Runs the followed systems once, on a connection of its own, off the async runtime.
pub async fn run_connections<R: Runtime>(
    app: &AppHandle<R>,
) -> Result<Vec<relcal_api::AdapterRun>, ApiError> {
    let state = app.state::<AppState>();
    let _one = state.sync.adapters_running.lock().await;
    let result = on_own_connection(
        &state,
        "connections",
        &state.sync.adapters_busy,
        || {},
        |store| {
            relcal_api::run_adapters(
                store,
                &relcal_http::HttpForges::new(),
                relcal_api::clock::now(),
            )
        },
    )
    .await;
    if let Ok(runs) = &result {
        if runs.iter().any(|r| r.changes > 0) {
            state.changed.notify_one();
            state.sync.wake.notify_one();
            let _ = app.emit(CHANGED_EVENT, 0);
        }
    }
    result
}

/// Polls the followed systems every 15 minutes, and at once when settings change.
pub async fn follow_connections<R: Runtime>(app: AppHandle<R>) {
    loop {
        let state = app.state::<AppState>();
        let followed = crate::handle::read(&state)
            .ok()
            .and_then(|s| relcal_api::adapter_settings(&s).ok())
            .is_some_and(|s| s.gitlab_url.is_some() || s.github_repo.is_some());
        if followed {
            if let Err(e) = run_connections(&app).await {
                tracing::warn!("connections: {}", e.message);
            }
        }
        let _ =
            tokio::time::timeout(CONNECTIONS_INTERVAL, state.sync.adapters_wake.notified()).await;
    }
}
