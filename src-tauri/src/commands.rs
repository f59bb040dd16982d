//! The commands the window may call (each also declared in build.rs and
//! granted in capabilities/main-window.json).

use crate::AppState;
use chrono::{DateTime, Utc};
use relcal_api::{
    ApiError, CalendarView, Catalog, ConflictsView, ErrorCode, ReleaseChange, ReleaseDetail,
    ReleaseInput,
};
use serde::Serialize;
use tauri::State;

fn instant(command: &str, field: &str, text: &str) -> Result<DateTime<Utc>, ApiError> {
    DateTime::parse_from_rfc3339(text)
        .map(|t| t.to_utc())
        .map_err(|e| {
            ApiError::new(
                ErrorCode::Validation,
                format!("{command}: field `{field}`: `{text}` is not an RFC 3339 instant ({e})"),
            )
        })
}

/// The open calendar, or the reason it could not be opened.
fn store(state: &AppState) -> Result<std::sync::MutexGuard<'_, relcal_api::Store>, ApiError> {
    match &state.store {
        Ok(store) => store.lock().map_err(|_| {
            ApiError::new(
                ErrorCode::Internal,
                "the calendar is unavailable after an earlier failure",
            )
        }),
        Err(e) => Err(ApiError::new(e.code, e.message.clone())),
    }
}

/// Releases and freeze periods overlapping `[from, to)` (RFC 3339 instants).
#[tauri::command]
#[specta::specta]
pub async fn calendar_view(
    state: State<'_, AppState>,
    from: String,
    to: String,
) -> Result<CalendarView, ApiError> {
    let (from, to) = (
        instant("calendar_view", "from", &from)?,
        instant("calendar_view", "to", &to)?,
    );
    let store = store(&state)?;
    relcal_api::calendar_view(&store, from, to)
}

/// Every conflict in the calendar at `now` (an RFC 3339 instant; default: the current time).
#[tauri::command]
#[specta::specta]
pub async fn conflicts(
    state: State<'_, AppState>,
    now: Option<String>,
) -> Result<ConflictsView, ApiError> {
    let now = match now {
        Some(text) => instant("conflicts", "now", &text)?,
        None => Utc::now(),
    };
    relcal_api::conflicts_view(&*store(&state)?, now)
}

/// Reschedules a release to `[start, end)` (RFC 3339 instants) and reports the
/// conflicts it gains or loses. Invalid input changes nothing.
#[tauri::command]
#[specta::specta]
pub async fn move_release(
    state: State<'_, AppState>,
    id: String,
    start: String,
    end: String,
) -> Result<ReleaseChange, ApiError> {
    let mut store = store(&state)?;
    relcal_api::move_release(&mut store, &id, &start, &end, Utc::now())
}

/// One release with everything about it and its conflicts now.
#[tauri::command]
#[specta::specta]
pub async fn release_detail(
    state: State<'_, AppState>,
    id: String,
) -> Result<ReleaseDetail, ApiError> {
    relcal_api::release_detail(&*store(&state)?, &id, Utc::now())
}

/// Teams, services, environments and releases for the release form.
#[tauri::command]
#[specta::specta]
pub async fn catalog(state: State<'_, AppState>) -> Result<Catalog, ApiError> {
    relcal_api::catalog(&*store(&state)?)
}

/// The form's view of an existing release.
#[tauri::command]
#[specta::specta]
pub async fn release_input(
    state: State<'_, AppState>,
    id: String,
) -> Result<ReleaseInput, ApiError> {
    relcal_api::release_input(&*store(&state)?, &id)
}

/// Creates or updates a release from the form; errors name the field.
#[tauri::command]
#[specta::specta]
pub async fn save_release(
    state: State<'_, AppState>,
    input: ReleaseInput,
) -> Result<ReleaseChange, ApiError> {
    relcal_api::save_release(&mut *store(&state)?, input, Utc::now())
}

/// Sets a release's status (e.g. `cancelled`).
#[tauri::command]
#[specta::specta]
pub async fn set_release_status(
    state: State<'_, AppState>,
    id: String,
    status: String,
) -> Result<ReleaseChange, ApiError> {
    relcal_api::set_release_status(&mut *store(&state)?, &id, &status, Utc::now())
}

/// Facts about the running app, for the status bar.
#[derive(Debug, Serialize, specta::Type)]
pub struct AppInfo {
    /// App version.
    pub version: String,
    /// The database file in use.
    pub db_path: Option<String>,
    /// Why the calendar could not be opened, if it could not.
    pub open_error: Option<ApiError>,
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
    }
}
