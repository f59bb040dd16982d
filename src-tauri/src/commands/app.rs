//! Commands about the app itself: its version and database, who changes
//! are recorded as, and the notification settings.

use super::{store, store_mut};
use crate::AppState;
use relcal_api::ApiError;
use serde::Serialize;
use tauri::State;

/// Facts about the running app, for the status bar.
#[derive(Debug, Serialize, specta::Type)]
pub struct AppInfo {
    /// App version.
    pub version: String,
    /// The database file in use.
    pub db_path: Option<String>,
    /// Why the calendar could not be opened, if it could not.
    pub open_error: Option<ApiError>,
    /// The app's clock (RFC 3339 UTC): the UI's "today" (`RELCAL_NOW` moves it).
    pub now: String,
}

/// Version, database and start-up problems.
#[tauri::command]
#[specta::specta]
pub fn app_info(state: State<'_, AppState>) -> AppInfo {
    AppInfo {
        version: env!("CARGO_PKG_VERSION").to_owned(),
        db_path: state.db_path.as_ref().map(|p| p.display().to_string()),
        open_error: state
            .store
            .as_ref()
            .err()
            .map(|e| ApiError::new(e.code, e.message.clone())),
        now: relcal_api::clock::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
    }
}

/// Who this app's changes are recorded as (the setting, else the OS user).
#[tauri::command]
#[specta::specta]
pub async fn user_name(state: State<'_, AppState>) -> Result<String, ApiError> {
    Ok(store(&state)?.actor().to_owned())
}

/// Sets the name this app records changes under.
#[tauri::command]
#[specta::specta]
pub async fn set_user_name(state: State<'_, AppState>, name: String) -> Result<String, ApiError> {
    relcal_api::set_user_name(&mut *store_mut(&state)?, &name, relcal_api::clock::now())
}

/// The notification settings.
#[tauri::command]
#[specta::specta]
pub async fn notify_settings(
    state: State<'_, AppState>,
) -> Result<relcal_api::NotifySettings, ApiError> {
    relcal_api::notify_settings(&*store(&state)?)
}

/// Saves the notification settings.
#[tauri::command]
#[specta::specta]
pub async fn save_notify_settings(
    state: State<'_, AppState>,
    settings: relcal_api::NotifySettings,
) -> Result<relcal_api::NotifySettings, ApiError> {
    relcal_api::save_notify_settings(&mut *store_mut(&state)?, settings, relcal_api::clock::now())
}

/// The team's risk weights (Settings ▸ Risk; docs/risk.md).
#[tauri::command]
#[specta::specta]
pub async fn risk_weights(state: State<'_, AppState>) -> Result<relcal_api::RiskWeights, ApiError> {
    relcal_api::risk_weights(&*store(&state)?)
}

/// Saves the team's risk weights (each 0 to 100).
#[tauri::command]
#[specta::specta]
pub async fn save_risk_weights(
    state: State<'_, AppState>,
    weights: relcal_api::RiskWeights,
) -> Result<relcal_api::RiskWeights, ApiError> {
    relcal_api::save_risk_weights(&mut *store_mut(&state)?, weights, relcal_api::clock::now())
}

/// How the app lives in the background (Settings ▸ Notifications).
#[derive(Debug, Serialize, serde::Deserialize, specta::Type)]
pub struct Background {
    /// Closing the window hides it to the tray, where notifications and
    /// sync go on; off, closing the window quits.
    pub keep_running: bool,
    /// The app starts at login, hidden in the tray.
    pub start_at_login: bool,
    /// Whether starting at login can be set here.
    pub start_at_login_available: bool,
}

fn background_of<R: tauri::Runtime>(
    app: &tauri::AppHandle<R>,
    keep_running: bool,
) -> Result<Background, ApiError> {
    let login = crate::desktop::starts_at_login(app).map_err(|e| {
        ApiError::new(
            relcal_api::ErrorCode::Unavailable,
            format!("cannot read the login entry: {e}"),
        )
    })?;
    Ok(Background {
        keep_running,
        start_at_login: login.unwrap_or(false),
        start_at_login_available: login.is_some(),
    })
}

/// The background settings: the database's, and the login entry's.
#[tauri::command]
#[specta::specta]
pub async fn background_settings<R: tauri::Runtime>(
    app: tauri::AppHandle<R>,
    state: State<'_, AppState>,
) -> Result<Background, ApiError> {
    let keep = relcal_api::background_settings(&*store(&state)?)?.keep_running;
    background_of(&app, keep)
}

/// Saves the background settings; the login entry is written or removed.
#[tauri::command]
#[specta::specta]
pub async fn save_background_settings<R: tauri::Runtime>(
    app: tauri::AppHandle<R>,
    state: State<'_, AppState>,
    settings: Background,
) -> Result<Background, ApiError> {
    let saved = relcal_api::save_background_settings(
        &mut *store_mut(&state)?,
        relcal_api::BackgroundSettings {
            keep_running: settings.keep_running,
        },
        relcal_api::clock::now(),
    )?;
    let current = background_of(&app, saved.keep_running)?;
    if current.start_at_login_available && current.start_at_login != settings.start_at_login {
        crate::desktop::set_start_at_login(&app, settings.start_at_login).map_err(|e| {
            ApiError::new(
                relcal_api::ErrorCode::Unavailable,
                format!(
                    "start at login: field `start_at_login`: the login entry could not be {}: {e}",
                    if settings.start_at_login {
                        "written"
                    } else {
                        "removed"
                    }
                ),
            )
        })?;
    }
    background_of(&app, saved.keep_running)
}
