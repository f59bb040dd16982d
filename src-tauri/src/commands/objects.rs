//! Commands on the calendar's other objects (teams, services, environments,
//! freezes), their undo, and the checklist templates.

use super::{store, store_mut};
use crate::AppState;
use relcal_api::{
    ApiError, Change, EnvironmentInput, FreezeInput, FreezePreview, ObjectKind, ServiceInput,
    Settings, TeamInput,
};
use tauri::State;

/// Teams, services, environments and freezes for the settings screen.
#[tauri::command]
#[specta::specta]
pub async fn settings(state: State<'_, AppState>) -> Result<Settings, ApiError> {
    relcal_api::settings(&*store(&state)?)
}

/// Creates or updates a team; errors name the field.
#[tauri::command]
#[specta::specta]
pub async fn save_team(state: State<'_, AppState>, input: TeamInput) -> Result<Change, ApiError> {
    relcal_api::save_team(&mut *store_mut(&state)?, input, relcal_api::clock::now())
}

/// Creates or updates a service.
#[tauri::command]
#[specta::specta]
pub async fn save_service(
    state: State<'_, AppState>,
    input: ServiceInput,
) -> Result<Change, ApiError> {
    relcal_api::save_service(&mut *store_mut(&state)?, input, relcal_api::clock::now())
}

/// Creates or updates an environment.
#[tauri::command]
#[specta::specta]
pub async fn save_environment(
    state: State<'_, AppState>,
    input: EnvironmentInput,
) -> Result<Change, ApiError> {
    relcal_api::save_environment(&mut *store_mut(&state)?, input, relcal_api::clock::now())
}

/// The form's view of a freeze.
#[tauri::command]
#[specta::specta]
pub async fn freeze_input(state: State<'_, AppState>, id: String) -> Result<FreezeInput, ApiError> {
    relcal_api::freeze_input(&*store(&state)?, &id)
}

/// A freeze as typed: its schedule in words, next occurrences, and the
/// releases it would block. Writes nothing.
#[tauri::command]
#[specta::specta]
pub async fn preview_freeze(
    state: State<'_, AppState>,
    input: FreezeInput,
) -> Result<FreezePreview, ApiError> {
    relcal_api::preview_freeze(&*store(&state)?, &input, relcal_api::clock::now())
}

/// Creates or updates a freeze.
#[tauri::command]
#[specta::specta]
pub async fn save_freeze(
    state: State<'_, AppState>,
    input: FreezeInput,
) -> Result<Change, ApiError> {
    relcal_api::save_freeze(&mut *store_mut(&state)?, input, relcal_api::clock::now())
}

/// Deletes a team, service, environment, freeze or release; refused while
/// anything refers to it.
#[tauri::command]
#[specta::specta]
pub async fn delete_object(
    state: State<'_, AppState>,
    kind: ObjectKind,
    id: String,
) -> Result<Change, ApiError> {
    relcal_api::delete_object(
        &mut *store_mut(&state)?,
        kind,
        &id,
        relcal_api::clock::now(),
    )
}

/// Takes a change back, whatever it changed: give it the change's `undo`.
/// Only the fields the change changed go back; a field changed again since
/// is named, and nothing is written.
#[tauri::command]
#[specta::specta]
pub async fn undo_change(
    state: State<'_, AppState>,
    undo: relcal_api::Undo,
) -> Result<relcal_api::Change, ApiError> {
    relcal_api::undo_change(&mut *store_mut(&state)?, &undo, relcal_api::clock::now())
}

/// The checklist templates, and which environment gets which.
#[tauri::command]
#[specta::specta]
pub async fn checklist_templates(
    state: State<'_, AppState>,
) -> Result<relcal_api::ChecklistTemplates, ApiError> {
    relcal_api::checklist_templates(&*store(&state)?)
}

/// Saves edited checklist templates.
#[tauri::command]
#[specta::specta]
pub async fn save_checklist_templates(
    state: State<'_, AppState>,
    templates: relcal_api::ChecklistTemplates,
) -> Result<relcal_api::ChecklistTemplates, ApiError> {
    relcal_api::save_checklist_templates(
        &mut *store_mut(&state)?,
        templates,
        relcal_api::clock::now(),
    )
}
