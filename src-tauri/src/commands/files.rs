//! Commands that read or write files: the plan, iCalendar, holidays. The
//! native dialog is opened here, never by the window, which never passes a
//! path.

use super::{store, store_mut};
use crate::AppState;
use relcal_api::{ApiError, ErrorCode, ImportSummary};
use serde::Serialize;
use std::path::PathBuf;
use tauri::{AppHandle, State};
use tauri_plugin_dialog::DialogExt;

/// A plan file the person chose, and what it holds.
#[derive(Debug, Serialize, specta::Type)]
pub struct PlanFile {
    /// Where it is.
    pub path: String,
    /// What it holds (or held, for an export).
    pub summary: ImportSummary,
    /// What importing it would change here: only when chosen for an import.
    pub changes: Option<relcal_api::ImportChanges>,
}

/// Which file dialog to show.
#[derive(Clone, Copy)]
enum Dialog {
    Open,
    Save,
    OpenIcs,
    SaveIcs,
}

/// Shows the native file dialog (off the main thread) and returns the chosen
/// path, or `None` when the person cancels. Automated tests, which cannot
/// click in a native dialog, set `RELCAL_TEST_FILE_DIALOG` to the answer.
async fn ask_for_file<R: tauri::Runtime>(
    app: AppHandle<R>,
    dialog: Dialog,
) -> Result<Option<PathBuf>, ApiError> {
    if let Some(answer) = std::env::var_os("RELCAL_TEST_FILE_DIALOG").filter(|v| !v.is_empty()) {
        return Ok(Some(PathBuf::from(answer)));
    }
    let picked = tauri::async_runtime::spawn_blocking(move || {
        let builder = app.dialog().file();
        let builder = match dialog {
            Dialog::Open | Dialog::Save => builder.add_filter("Relcal plan", &["json"]),
            Dialog::OpenIcs | Dialog::SaveIcs => builder.add_filter("iCalendar", &["ics"]),
        }
        .set_title(match dialog {
            Dialog::Open => "Import a plan",
            Dialog::Save => "Export the calendar",
            Dialog::OpenIcs => "Import holidays as freezes",
            Dialog::SaveIcs => "Export the calendar as iCalendar",
        });
        match dialog {
            Dialog::Open | Dialog::OpenIcs => builder.blocking_pick_file(),
            Dialog::Save => builder
                .set_file_name("relcal-plan.json")
                .blocking_save_file(),
            Dialog::SaveIcs => builder.set_file_name("relcal.ics").blocking_save_file(),
        }
    })
    .await
    .map_err(|e| ApiError::new(ErrorCode::Internal, format!("file dialog failed: {e}")))?;
    picked
        .map(|p| {
            p.into_path().map_err(|e| {
                ApiError::new(
                    ErrorCode::Validation,
                    format!("the chosen file is not a local file: {e}"),
                )
            })
        })
        .transpose()
}

/// Asks for a plan file and validates it without importing; remembers it for
/// `import_chosen_plan`. Null when the person cancels.
#[tauri::command]
#[specta::specta]
pub async fn choose_plan_file<R: tauri::Runtime>(
    app: AppHandle<R>,
    state: State<'_, AppState>,
) -> Result<Option<PlanFile>, ApiError> {
    let Some(path) = ask_for_file(app, Dialog::Open).await? else {
        return Ok(None);
    };
    let (summary, changes) = relcal_api::inspect_plan_file_for(&*store(&state)?, &path)?;
    if let Ok(mut chosen) = state.chosen_plan.lock() {
        *chosen = Some(path.clone());
    }
    Ok(Some(PlanFile {
        path: path.display().to_string(),
        summary,
        changes: Some(changes),
    }))
}

/// Replaces the calendar with the plan file chosen by `choose_plan_file`.
#[tauri::command]
#[specta::specta]
pub async fn import_chosen_plan(state: State<'_, AppState>) -> Result<PlanFile, ApiError> {
    let path = state
        .chosen_plan
        .lock()
        .ok()
        .and_then(|mut c| c.take())
        .ok_or_else(|| ApiError::new(ErrorCode::NotFound, "no plan file was chosen to import"))?;
    let summary = relcal_api::import_plan_file(&mut *store_mut(&state)?, &path)?;
    Ok(PlanFile {
        path: path.display().to_string(),
        summary,
        changes: None,
    })
}

/// Asks where to save and writes the calendar there as a plan file. Null
/// when the person cancels.
#[tauri::command]
#[specta::specta]
pub async fn export_plan<R: tauri::Runtime>(
    app: AppHandle<R>,
    state: State<'_, AppState>,
) -> Result<Option<PlanFile>, ApiError> {
    let Some(path) = ask_for_file(app, Dialog::Save).await? else {
        return Ok(None);
    };
    let summary = relcal_api::export_plan_file(&*store(&state)?, &path)?;
    Ok(Some(PlanFile {
        path: path.display().to_string(),
        summary,
        changes: None,
    }))
}

/// Asks where to save and writes the calendar as iCalendar there. Null when
/// the person cancels.
#[tauri::command]
#[specta::specta]
pub async fn export_ics<R: tauri::Runtime>(
    app: AppHandle<R>,
    state: State<'_, AppState>,
) -> Result<Option<String>, ApiError> {
    let Some(path) = ask_for_file(app, Dialog::SaveIcs).await? else {
        return Ok(None);
    };
    let text = relcal_api::export_plan_ics(&*store(&state)?, relcal_api::clock::now())?;
    std::fs::write(&path, text).map_err(|e| {
        ApiError::new(
            ErrorCode::Unavailable,
            format!("cannot write {}: {e}", path.display()),
        )
    })?;
    Ok(Some(path.display().to_string()))
}

/// Asks for an iCalendar file of holidays and adds its events as freezes of
/// `severity`, limited to `environments` when given. Null when cancelled.
#[tauri::command]
#[specta::specta]
pub async fn import_holidays<R: tauri::Runtime>(
    app: AppHandle<R>,
    state: State<'_, AppState>,
    severity: String,
    environments: Vec<String>,
) -> Result<Option<relcal_api::HolidayImport>, ApiError> {
    let Some(path) = ask_for_file(app, Dialog::OpenIcs).await? else {
        return Ok(None);
    };
    let text = std::fs::read_to_string(&path).map_err(|e| {
        ApiError::new(
            ErrorCode::Unavailable,
            format!("cannot read {}: {e}", path.display()),
        )
    })?;
    relcal_api::import_holidays(
        &mut *store_mut(&state)?,
        &text,
        &severity,
        &environments,
        relcal_api::clock::now(),
    )
    .map(Some)
    .map_err(|e| ApiError::new(e.code, format!("{}: {}", path.display(), e.message)))
}
