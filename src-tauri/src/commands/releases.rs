//! Commands on releases: the calendar and its conflicts, one release's
//! detail, form, moves and status, approvals, exceptions, readiness.

use super::{instant, store, store_mut};
use crate::AppState;
use relcal_api::{
    ApiError, CalendarView, Catalog, Change, ConflictsView, ErrorCode, ReleaseDetail, ReleaseInput,
    ReleasePreview,
};
use tauri::State;

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
) -> Result<Change, ApiError> {
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
) -> Result<Change, ApiError> {
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

/// The release form's "Find a slot": the earliest start with no
/// error-severity conflict for the release as typed, and why earlier times
/// were refused.
#[tauri::command]
#[specta::specta]
pub async fn find_slot(
    state: State<'_, AppState>,
    request: relcal_api::SlotRequest,
) -> Result<relcal_api::SlotReport, ApiError> {
    let plan = relcal_api::stored_plan(&*store(&state)?)?;
    relcal_api::slot_plan(&plan, &request, relcal_api::clock::now())
}

/// Sets a release's status (e.g. `cancelled`).
#[tauri::command]
#[specta::specta]
pub async fn set_release_status(
    state: State<'_, AppState>,
    id: String,
    status: String,
) -> Result<Change, ApiError> {
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

/// Approves a release as the current user.
#[tauri::command]
#[specta::specta]
pub async fn approve_release(state: State<'_, AppState>, id: String) -> Result<Change, ApiError> {
    relcal_api::approve_release(&mut *store_mut(&state)?, &id, relcal_api::clock::now())
}

/// Withdraws `approver`'s approval of a release.
#[tauri::command]
#[specta::specta]
pub async fn revoke_approval(
    state: State<'_, AppState>,
    id: String,
    approver: String,
) -> Result<Change, ApiError> {
    relcal_api::revoke_approval(
        &mut *store_mut(&state)?,
        &id,
        &approver,
        relcal_api::clock::now(),
    )
}

/// Records an approved exception to a freeze for a release, until
/// `expires` (RFC 3339) when given.
#[tauri::command]
#[specta::specta]
pub async fn request_override(
    state: State<'_, AppState>,
    id: String,
    freeze: String,
    reason: String,
    approver: String,
    expires: Option<String>,
) -> Result<Change, ApiError> {
    let expires = expires
        .filter(|t| !t.trim().is_empty())
        .map(|t| instant("request_override", "expires", &t))
        .transpose()?;
    relcal_api::request_override_until(
        &mut *store_mut(&state)?,
        &id,
        &freeze,
        &reason,
        &approver,
        expires,
        relcal_api::clock::now(),
    )
}

/// Asks, as the app's user, for an exception to a freeze for a release,
/// until `expires` (RFC 3339) when given: it waits for someone else's approval.
#[tauri::command]
#[specta::specta]
pub async fn ask_exception(
    state: State<'_, AppState>,
    id: String,
    freeze: String,
    reason: String,
    expires: Option<String>,
) -> Result<relcal_api::ExceptionRequest, ApiError> {
    let expires = expires
        .filter(|t| !t.trim().is_empty())
        .map(|t| instant("ask_exception", "expires", &t))
        .transpose()?;
    relcal_api::ask_exception(
        &mut *store_mut(&state)?,
        &id,
        &freeze,
        &reason,
        expires,
        relcal_api::clock::now(),
    )
}

/// Approves an exception request as the app's user: the release gets the exception.
#[tauri::command]
#[specta::specta]
pub async fn approve_exception_request(
    state: State<'_, AppState>,
    request: String,
) -> Result<Change, ApiError> {
    relcal_api::approve_exception_request(
        &mut *store_mut(&state)?,
        &request,
        relcal_api::clock::now(),
    )
}

/// Declines an exception request as the app's user, with an optional note.
#[tauri::command]
#[specta::specta]
pub async fn decline_exception_request(
    state: State<'_, AppState>,
    request: String,
    note: Option<String>,
) -> Result<relcal_api::ExceptionRequest, ApiError> {
    relcal_api::decline_exception_request(
        &mut *store_mut(&state)?,
        &request,
        note.as_deref(),
        relcal_api::clock::now(),
    )
}

/// Withdraws an exception request the app's user made.
#[tauri::command]
#[specta::specta]
pub async fn withdraw_exception_request(
    state: State<'_, AppState>,
    request: String,
) -> Result<relcal_api::ExceptionRequest, ApiError> {
    relcal_api::withdraw_exception_request(
        &mut *store_mut(&state)?,
        &request,
        relcal_api::clock::now(),
    )
}

/// The CAB agenda of `[from, to)` (RFC 3339), with its Markdown.
#[tauri::command]
#[specta::specta]
pub async fn agenda(
    state: State<'_, AppState>,
    from: String,
    to: String,
) -> Result<relcal_api::AgendaView, ApiError> {
    let from = super::instant("agenda", "from", &from)?;
    let to = super::instant("agenda", "to", &to)?;
    relcal_api::agenda_of_store(&*store(&state)?, from, to, relcal_api::clock::now())
}

/// The Metrics view of `[from, to)` (RFC 3339), for one environment (none:
/// the production ones) and one team (none: all).
#[tauri::command]
#[specta::specta]
pub async fn metrics_view(
    state: State<'_, AppState>,
    from: String,
    to: String,
    environment: Option<String>,
    team: Option<String>,
) -> Result<relcal_api::MetricsView, ApiError> {
    let from = super::instant("metrics_view", "from", &from)?;
    let to = super::instant("metrics_view", "to", &to)?;
    let environments: Vec<String> = environment.into_iter().collect();
    let teams: Vec<String> = team.into_iter().collect();
    relcal_api::metrics_view(&*store(&state)?, from, to, &environments, &teams)
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

/// Adds the missing items of its environment's template to a release.
#[tauri::command]
#[specta::specta]
pub async fn apply_checklist_template(
    state: State<'_, AppState>,
    id: String,
) -> Result<Change, ApiError> {
    relcal_api::apply_checklist_template(&mut *store_mut(&state)?, &id, relcal_api::clock::now())
}

/// Ticks or unticks a checklist item, with its owner and note.
#[tauri::command]
#[specta::specta]
pub async fn set_checklist_item(
    state: State<'_, AppState>,
    id: String,
    input: relcal_api::ChecklistItemInput,
) -> Result<Change, ApiError> {
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
) -> Result<Change, ApiError> {
    relcal_api::save_rollback(
        &mut *store_mut(&state)?,
        &id,
        input,
        relcal_api::clock::now(),
    )
}
