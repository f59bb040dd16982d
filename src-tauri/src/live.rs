//! The warm calendar (`relcal_api::Live`) in the app: opened once on a
//! thread of its own at start, with its progress sent to the window, then
//! kept up to date by every command that reads it.

use crate::AppState;
use relcal_api::{ApiError, Live, OpenProgress, Store};
use std::sync::{Mutex, MutexGuard};
use tauri::{Emitter, Manager};

/// Sent while the calendar opens (an `OpenProgress`), and once with `null`
/// when it is open: the window then loads its conflicts again.
pub const OPENING_EVENT: &str = "relcal://opening";

/// Where the warm calendar is.
pub enum LiveSlot {
    /// Being opened; the last step reported.
    Opening(OpenProgress),
    /// Open and warm.
    Ready(Box<Live>),
    /// It could not be opened: commands take the whole-calendar path.
    Unavailable,
}

impl Default for LiveSlot {
    fn default() -> Self {
        Self::Opening(OpenProgress {
            step: 1,
            steps: 2,
            what: "Reading the calendar".into(),
            releases: 0,
        })
    }
}

/// The slot, even after a panic elsewhere poisoned it (its state is
/// rebuilt from the database, never trusted blindly).
pub fn slot(state: &AppState) -> MutexGuard<'_, LiveSlot> {
    state
        .live
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// Opens the calendar on a thread with its own connection, so the window
/// can show the calendar (and move around it) while conflicts are checked.
pub fn open_in_background<R: tauri::Runtime>(app: tauri::AppHandle<R>) {
    let handle = app.clone();
    let spawned = std::thread::Builder::new()
        .name("relcal-open".into())
        .spawn(move || {
            let app = handle;
            let state = app.state::<AppState>();
            let opened = open(&state, &app);
            let mut slot = slot(&state);
            *slot = match opened {
                Ok(live) => LiveSlot::Ready(Box::new(live)),
                Err(e) => {
                    tracing::warn!("the warm calendar is unavailable: {e}");
                    LiveSlot::Unavailable
                }
            };
            drop(slot);
            let _ = app.emit(OPENING_EVENT, None::<OpenProgress>);
        });
    if let Err(e) = spawned {
        tracing::warn!("cannot start the calendar's opening thread: {e}");
        *slot(&app.state::<AppState>()) = LiveSlot::Unavailable;
    }
}

fn open<R: tauri::Runtime>(state: &AppState, app: &tauri::AppHandle<R>) -> Result<Live, ApiError> {
    if let Err(e) = &state.store {
        return Err(ApiError::new(e.code, e.message.clone()));
    }
    let path = state
        .db_path
        .as_deref()
        .ok_or_else(|| ApiError::new(relcal_api::ErrorCode::Unavailable, "no database path"))?;
    let store = relcal_api::open_store(path)?;
    Live::open(&store, relcal_api::clock::now(), &mut |progress| {
        *slot(state) = LiveSlot::Opening(progress.clone());
        let _ = app.emit(OPENING_EVENT, Some(progress));
    })
}

/// Runs `warm` on the open calendar brought up to date with `store`, or
/// `cold` (the whole-calendar path) when it is not open; `opening` answers
/// while it is being opened, if given.
pub fn with_live<S: std::ops::Deref<Target = Store>, T>(
    slot: &Mutex<LiveSlot>,
    store: &mut S,
    now: chrono::DateTime<chrono::Utc>,
    warm: impl FnOnce(&mut Live, &mut S) -> Result<T, ApiError>,
    opening: Option<&dyn Fn(&OpenProgress) -> T>,
    cold: impl FnOnce(&mut S) -> Result<T, ApiError>,
) -> Result<T, ApiError> {
    let mut guard = slot
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    match &mut *guard {
        LiveSlot::Ready(live) => {
            if let Err(e) = live.refresh_or_reopen(store, now) {
                // Never trust a state that failed half-way: the next call
                // takes the whole-calendar path until the app opens again.
                *guard = LiveSlot::Unavailable;
                return Err(e);
            }
            warm(live, store)
        }
        LiveSlot::Opening(progress) => match opening {
            Some(answer) => Ok(answer(progress)),
            None => {
                drop(guard);
                cold(store)
            }
        },
        LiveSlot::Unavailable => {
            drop(guard);
            cold(store)
        }
    }
}
