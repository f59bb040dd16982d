//! The commands the window may call (each also declared in build.rs and
//! granted in capabilities/main-window.json).

use crate::AppState;
use chrono::{DateTime, Utc};
use relcal_api::{
    ApiError, CalendarView, Catalog, ConflictsView, EnvironmentInput, ErrorCode, FreezeInput,
    FreezePreview, ImportSummary, ObjectChange, ObjectKind, ReleaseChange, ReleaseDetail,
    ReleaseInput, ReleasePreview, ServiceInput, Settings, TeamInput,
};
use serde::Serialize;
use std::path::PathBuf;
use tauri::{AppHandle, State};
use tauri_plugin_dialog::DialogExt;

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

use crate::handle::{read as store, write as store_mut};

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
    let mut store = store(&state)?;
    crate::live::with_live(
        &state.live,
        &mut store,
        relcal_api::clock::now(),
        |live, _| live.calendar_view(from, to),
        None,
        |store| relcal_api::calendar_view(store, from, to),
    )
}

/// The calendar's conflicts at `now` (an RFC 3339 instant; default: the
/// current time): with `from` and `to`, those of the releases a view of that
/// range shows; the list only when `items` (the panel is open), the badges
/// always. Served from the warm calendar; while it opens, its progress.
#[tauri::command]
#[specta::specta]
pub async fn conflicts(
    state: State<'_, AppState>,
    now: Option<String>,
    from: Option<String>,
    to: Option<String>,
    items: Option<bool>,
) -> Result<ConflictsView, ApiError> {
    let now = match now {
        Some(text) => instant("conflicts", "now", &text)?,
        None => relcal_api::clock::now(),
    };
    let range = match (from, to) {
        (Some(from), Some(to)) => Some(relcal_api::Interval {
            start: instant("conflicts", "from", &from)?,
            end: instant("conflicts", "to", &to)?,
        }),
        (None, None) => None,
        _ => {
            return Err(ApiError::new(
                ErrorCode::Validation,
                "conflicts: give both `from` and `to`, or neither",
            ))
        }
    };
    let items = items.unwrap_or(true);
    let mut store = store(&state)?;
    crate::live::with_live(
        &state.live,
        &mut store,
        now,
        |live, _| Ok(live.conflicts_shown(range, items)),
        Some(&|progress| ConflictsView::opening(now, progress.clone())),
        |store| relcal_api::conflicts_view(store, now),
    )
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
    let now = relcal_api::clock::now();
    let mut store = store_mut(&state)?;
    crate::live::with_live(
        &state.live,
        &mut store,
        now,
        |live, store| live.move_release(store, &id, &start, &end, now),
        None,
        |store| relcal_api::move_release(store, &id, &start, &end, now),
    )
}

/// One release with everything about it and its conflicts now.
#[tauri::command]
#[specta::specta]
pub async fn release_detail(
    state: State<'_, AppState>,
    id: String,
) -> Result<ReleaseDetail, ApiError> {
    relcal_api::release_detail(&*store(&state)?, &id, relcal_api::clock::now())
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
    relcal_api::save_release(&mut *store_mut(&state)?, input, relcal_api::clock::now())
}

/// A release as typed in the form, checked against the calendar without
/// saving: its conflicts before and after.
#[tauri::command]
#[specta::specta]
pub async fn preview_release(
    state: State<'_, AppState>,
    input: ReleaseInput,
) -> Result<ReleasePreview, ApiError> {
    relcal_api::preview_release(&*store(&state)?, &input, relcal_api::clock::now())
}

/// Sets a release's status (e.g. `cancelled`).
#[tauri::command]
#[specta::specta]
pub async fn set_release_status(
    state: State<'_, AppState>,
    id: String,
    status: String,
) -> Result<ReleaseChange, ApiError> {
    let now = relcal_api::clock::now();
    let mut store = store_mut(&state)?;
    crate::live::with_live(
        &state.live,
        &mut store,
        now,
        |live, store| live.set_release_status(store, &id, &status, now),
        None,
        |store| relcal_api::set_release_status(store, &id, &status, now),
    )
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

/// Teams, services, environments and freezes for the settings screen.
#[tauri::command]
#[specta::specta]
pub async fn settings(state: State<'_, AppState>) -> Result<Settings, ApiError> {
    relcal_api::settings(&*store(&state)?)
}

/// Creates or updates a team; errors name the field.
#[tauri::command]
#[specta::specta]
pub async fn save_team(
    state: State<'_, AppState>,
    input: TeamInput,
) -> Result<ObjectChange, ApiError> {
    relcal_api::save_team(&mut *store_mut(&state)?, input, relcal_api::clock::now())
}

/// Creates or updates a service.
#[tauri::command]
#[specta::specta]
pub async fn save_service(
    state: State<'_, AppState>,
    input: ServiceInput,
) -> Result<ObjectChange, ApiError> {
    relcal_api::save_service(&mut *store_mut(&state)?, input, relcal_api::clock::now())
}

/// Creates or updates an environment.
#[tauri::command]
#[specta::specta]
pub async fn save_environment(
    state: State<'_, AppState>,
    input: EnvironmentInput,
) -> Result<ObjectChange, ApiError> {
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
) -> Result<ObjectChange, ApiError> {
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
) -> Result<ObjectChange, ApiError> {
    relcal_api::delete_object(
        &mut *store_mut(&state)?,
        kind,
        &id,
        relcal_api::clock::now(),
    )
}

/// Undoes a change: puts the object back as `previous` (from the change) at
/// `position`, or removes it when `previous` is null.
#[tauri::command]
#[specta::specta]
pub async fn restore_object(
    state: State<'_, AppState>,
    kind: ObjectKind,
    id: String,
    previous: Option<String>,
    position: Option<u32>,
) -> Result<ObjectChange, ApiError> {
    relcal_api::restore_object(
        &mut *store_mut(&state)?,
        kind,
        &id,
        previous.as_deref(),
        position,
        relcal_api::clock::now(),
    )
}

/// A plan file the person chose, and what it holds.
#[derive(Debug, Serialize, specta::Type)]
pub struct PlanFile {
    /// Where it is.
    pub path: String,
    /// What it holds (or held, for an export).
    pub summary: ImportSummary,
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
    let summary = relcal_api::inspect_plan_file(&path)?;
    if let Ok(mut chosen) = state.chosen_plan.lock() {
        *chosen = Some(path.clone());
    }
    Ok(Some(PlanFile {
        path: path.display().to_string(),
        summary,
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
    }))
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

/// Approves a release as the current user.
#[tauri::command]
#[specta::specta]
pub async fn approve_release(
    state: State<'_, AppState>,
    id: String,
) -> Result<ReleaseChange, ApiError> {
    relcal_api::approve_release(&mut *store_mut(&state)?, &id, relcal_api::clock::now())
}

/// Withdraws `approver`'s approval of a release.
#[tauri::command]
#[specta::specta]
pub async fn revoke_approval(
    state: State<'_, AppState>,
    id: String,
    approver: String,
) -> Result<ReleaseChange, ApiError> {
    relcal_api::revoke_approval(
        &mut *store_mut(&state)?,
        &id,
        &approver,
        relcal_api::clock::now(),
    )
}

/// Records an approved exception to a freeze for a release.
#[tauri::command]
#[specta::specta]
pub async fn request_override(
    state: State<'_, AppState>,
    id: String,
    freeze: String,
    reason: String,
    approver: String,
) -> Result<ReleaseChange, ApiError> {
    relcal_api::request_override(
        &mut *store_mut(&state)?,
        &id,
        &freeze,
        &reason,
        &approver,
        relcal_api::clock::now(),
    )
}

/// The go/no-go view of the next `days` days (default 7).
#[tauri::command]
#[specta::specta]
pub async fn go_no_go(
    state: State<'_, AppState>,
    days: Option<u32>,
) -> Result<relcal_api::GoNoGo, ApiError> {
    relcal_api::go_no_go(
        &*store(&state)?,
        relcal_api::clock::now(),
        days.unwrap_or(7),
    )
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

/// Adds the missing items of its environment's template to a release.
#[tauri::command]
#[specta::specta]
pub async fn apply_checklist_template(
    state: State<'_, AppState>,
    id: String,
) -> Result<ReleaseChange, ApiError> {
    relcal_api::apply_checklist_template(&mut *store_mut(&state)?, &id, relcal_api::clock::now())
}

/// Ticks or unticks a checklist item, with its owner and note.
#[tauri::command]
#[specta::specta]
pub async fn set_checklist_item(
    state: State<'_, AppState>,
    id: String,
    input: relcal_api::ChecklistItemInput,
) -> Result<ReleaseChange, ApiError> {
    relcal_api::set_checklist_item(
        &mut *store_mut(&state)?,
        &id,
        input,
        relcal_api::clock::now(),
    )
}

/// Saves a release's rollback plan.
#[tauri::command]
#[specta::specta]
pub async fn save_rollback(
    state: State<'_, AppState>,
    id: String,
    input: relcal_api::RollbackView,
) -> Result<ReleaseChange, ApiError> {
    relcal_api::save_rollback(
        &mut *store_mut(&state)?,
        &id,
        input,
        relcal_api::clock::now(),
    )
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
    // The first sync now, so a wrong token or address shows at once.
    let first = crate::sync::sync_now(&app).await;
    state.sync.wake.notify_one();
    first?;
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
