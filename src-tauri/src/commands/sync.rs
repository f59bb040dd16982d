//! Commands of sync with the team's server and of the followed systems
//! (Settings ▸ Connections).

use super::{store, store_mut};
use crate::AppState;
use relcal_api::{ApiError, ErrorCode};
use tauri::{AppHandle, State};

/// Where sync with the team's server stands.
#[tauri::command]
#[specta::specta]
pub async fn sync_view(state: State<'_, AppState>) -> Result<crate::sync::SyncView, ApiError> {
    crate::sync::view(&state)
}

/// Syncs this calendar with `server`: keeps `token` (when given) in the OS
/// keyring, turns sync on and syncs right away. Without a token, one must be
/// in the keyring already or in `RELCAL_TOKEN`.
#[tauri::command]
#[specta::specta]
pub async fn connect_sync<R: tauri::Runtime>(
    app: AppHandle<R>,
    state: State<'_, AppState>,
    server: String,
    token: Option<String>,
) -> Result<crate::sync::SyncView, ApiError> {
    crate::handle::change_then(
        &state,
        |store| {
            relcal_api::set_sync_server(store, Some(&server), relcal_api::clock::now())?.ok_or_else(
                || {
                    ApiError::new(
                        ErrorCode::Validation,
                        "sync: field `server`: give the server's address, e.g. https://relcal.example.com",
                    )
                },
            )
        },
        // Without a token, sync stays off.
        |server| match token.as_deref().map(str::trim).filter(|t| !t.is_empty()) {
            Some(t) => relcal_http::save_token(server, t),
            None => relcal_http::load_token(server).map(|_| ()),
        },
        |store| relcal_api::set_sync_server(store, None, relcal_api::clock::now()).map(|_| ()),
    )?;
    // The first sync now, so a wrong token or address shows at once (the
    // write above already woke the loop, which takes over from here).
    crate::sync::sync_now(&app).await?;
    crate::sync::view(&state)
}

/// Turns sync off (the keyring keeps the token; changes wait here).
#[tauri::command]
#[specta::specta]
pub async fn disconnect_sync(
    state: State<'_, AppState>,
) -> Result<crate::sync::SyncView, ApiError> {
    relcal_api::set_sync_server(&mut *store_mut(&state)?, None, relcal_api::clock::now())?;
    crate::sync::view(&state)
}

/// Syncs now and says what moved.
#[tauri::command]
#[specta::specta]
pub async fn sync_now<R: tauri::Runtime>(
    app: AppHandle<R>,
) -> Result<relcal_api::SyncReport, ApiError> {
    crate::sync::sync_now(&app).await
}

/// Sync conflicts waiting for a person: yours, theirs and the original.
#[tauri::command]
#[specta::specta]
pub async fn sync_conflicts(
    state: State<'_, AppState>,
) -> Result<Vec<relcal_api::SyncConflictView>, ApiError> {
    relcal_api::sync_conflict_views(&*store(&state)?)
}

/// Resolves a sync conflict: `keep_mine` sends this desktop's copy at the
/// next sync (started now); otherwise the server's copy replaces it here.
#[tauri::command]
#[specta::specta]
pub async fn resolve_sync_conflict(
    state: State<'_, AppState>,
    mutation_id: String,
    keep_mine: bool,
) -> Result<crate::sync::SyncView, ApiError> {
    relcal_api::resolve_sync_conflict(
        &mut *store_mut(&state)?,
        &mutation_id,
        keep_mine,
        relcal_api::clock::now(),
    )?;
    crate::sync::view(&state)
}

/// What the calendar follows in GitLab and GitHub, and the last runs.
#[tauri::command]
#[specta::specta]
pub async fn connections(
    state: State<'_, AppState>,
) -> Result<crate::sync::ConnectionsView, ApiError> {
    crate::sync::connections_view(&state)
}

/// Saves what the calendar follows; tokens given go to the OS keyring (none
/// given: the kept one stays). The poller runs at once.
#[tauri::command]
#[specta::specta]
pub async fn save_connections(
    state: State<'_, AppState>,
    settings: relcal_api::AdapterSettings,
    gitlab_token: Option<String>,
    github_token: Option<String>,
) -> Result<crate::sync::ConnectionsView, ApiError> {
    let before = relcal_api::adapter_settings(&*store(&state)?)?;
    let given = |t: &Option<String>| {
        t.as_deref()
            .map(str::trim)
            .filter(|t| !t.is_empty())
            .map(str::to_owned)
    };
    crate::handle::change_then(
        &state,
        |store| relcal_api::save_adapter_settings(store, settings, relcal_api::clock::now()),
        // Without its token, the change is taken back.
        |saved| {
            if let (Some(url), Some(t)) = (&saved.gitlab_url, given(&gitlab_token)) {
                relcal_http::save_secret(&relcal_http::gitlab_account(url), &t)?;
            }
            if let Some(t) = given(&github_token) {
                let api = saved
                    .github_api
                    .clone()
                    .unwrap_or_else(|| relcal_http::GITHUB_API.to_owned());
                relcal_http::save_secret(&relcal_http::github_account(&api), &t)?;
            }
            Ok(())
        },
        |store| {
            relcal_api::save_adapter_settings(store, before, relcal_api::clock::now()).map(|_| ())
        },
    )?;
    state.sync.adapters_wake.notify_one();
    crate::sync::connections_view(&state)
}

/// Runs the followed systems now.
#[tauri::command]
#[specta::specta]
pub async fn run_connections<R: tauri::Runtime>(
    app: AppHandle<R>,
    state: State<'_, AppState>,
) -> Result<crate::sync::ConnectionsView, ApiError> {
    crate::sync::run_connections(&app).await?;
    crate::sync::connections_view(&state)
}
