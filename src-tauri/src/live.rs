//! The warm calendar (`relcal_api::Live`) in the app: opened once on a
//! thread of its own at start, with its progress sent to the window, then
//! kept up to date by every command that reads it.

use crate::AppState;
use relcal_api::{ApiError, Freshness, Live, OpenProgress, Store};
use std::sync::{Mutex, MutexGuard, OnceLock};
use std::time::{Duration, Instant};
use tauri::{Emitter, Manager};

/// Sent while the calendar opens (an `OpenProgress`), and once with `null`
/// when it is open: the window then loads its conflicts again.
pub const OPENING_EVENT: &str = "relcal://opening";

/// How long a calendar that could not be opened waits before the next try.
const RETRY: Duration = Duration::from_secs(30);

/// Where the warm calendar is.
pub enum LiveSlot {
    /// Being opened; the last step reported.
    Opening(OpenProgress),
    /// Open and warm.
    Ready(Box<Live>),
    /// It could not be opened (or failed half-way through a refresh) at
    /// this time: commands take the whole-calendar path, and the next one
    /// after [`RETRY`] opens it again.
    Unavailable(Instant),
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

/// The slot, and how to open the calendar again in the background (known
/// once the app runs; without it, as in the shell's tests, a stale calendar
/// is opened again in place).
#[derive(Default)]
pub struct LiveCell {
    slot: Mutex<LiveSlot>,
    /// Starts an opening thread; `false` when none could be started.
    reopen: OnceLock<Box<dyn Fn() -> bool + Send + Sync>>,
}

impl LiveCell {
    /// Opens the calendar again in the background, where the app can, with
    /// its progress in the window: `false` when it cannot here.
    fn reopen(&self, slot: &mut LiveSlot) -> bool {
        let Some(reopen) = self.reopen.get() else {
            return false;
        };
        *slot = if reopen() {
            LiveSlot::default()
        } else {
            LiveSlot::Unavailable(Instant::now())
        };
        true
    }
}

/// The slot, even after a panic elsewhere poisoned it (its state is
/// rebuilt from the database, never trusted blindly).
pub fn slot(state: &AppState) -> MutexGuard<'_, LiveSlot> {
    lock(&state.live)
}

fn lock(cell: &LiveCell) -> MutexGuard<'_, LiveSlot> {
    cell.slot
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// Opens the calendar on a thread with its own connection, so the window
/// can show the calendar (and move around it) while conflicts are checked.
pub fn open_in_background<R: tauri::Runtime>(app: tauri::AppHandle<R>) {
    let again = app.clone();
    // Later openings (after a change to freezes or teams, or a failure) go
    // the same way.
    let _ = app
        .state::<AppState>()
        .live
        .reopen
        .set(Box::new(move || start_opening(again.clone())));
    if !start_opening(app.clone()) {
        *slot(&app.state::<AppState>()) = LiveSlot::Unavailable(Instant::now());
    }
}

/// Starts the opening thread; `false` when it could not be started (the
/// caller, who may hold the slot, marks it unavailable).
fn start_opening<R: tauri::Runtime>(app: tauri::AppHandle<R>) -> bool {
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
                    LiveSlot::Unavailable(Instant::now())
                }
            };
            drop(slot);
            let _ = app.emit(OPENING_EVENT, None::<OpenProgress>);
        });
    match spawned {
        Ok(_) => true,
        Err(e) => {
            tracing::warn!("cannot start the calendar's opening thread: {e}");
            false
        }
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
/// while it is being opened, if given. A change that releases alone do not
/// describe (a freeze, a team, an import) opens it again in the background,
/// with its progress in the window, and so does the first call after
/// [`RETRY`] when it could not be opened.
pub fn with_live<S: std::ops::Deref<Target = Store>, T>(
    cell: &LiveCell,
    store: &mut S,
    now: chrono::DateTime<chrono::Utc>,
    warm: impl FnOnce(&mut Live, &mut S) -> Result<T, ApiError>,
    opening: Option<&dyn Fn(&OpenProgress) -> T>,
    cold: impl FnOnce(&mut S) -> Result<T, ApiError>,
) -> Result<T, ApiError> {
    let mut guard = lock(cell);
    let refreshed = match &mut *guard {
        LiveSlot::Ready(live) => Some(live.refresh(store, now)),
        _ => None,
    };
    match refreshed {
        Some(Ok(Freshness::Stale)) => {
            if !cell.reopen(&mut guard) {
                // No background here: open again in place.
                *guard = LiveSlot::Ready(Box::new(Live::open(store, now, &mut |_| {})?));
            }
        }
        Some(Err(e)) => {
            // Never trust a state that failed half-way: the whole-calendar
            // path serves until it opens again.
            *guard = LiveSlot::Unavailable(Instant::now());
            return Err(e);
        }
        Some(Ok(_)) | None => {}
    }
    if let LiveSlot::Unavailable(since) = &*guard {
        if since.elapsed() >= RETRY {
            cell.reopen(&mut guard);
        }
    }
    match &mut *guard {
        LiveSlot::Ready(live) => warm(live, store),
        LiveSlot::Opening(progress) => match opening {
            Some(answer) => Ok(answer(progress)),
            None => {
                drop(guard);
                cold(store)
            }
        },
        LiveSlot::Unavailable(_) => {
            drop(guard);
            cold(store)
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(
        clippy::unwrap_used,
        reason = "a test should fail loudly on a broken fixture"
    )]

    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;

    /// A cell whose background opening only counts its calls.
    fn cell(slot: LiveSlot) -> (LiveCell, Arc<AtomicUsize>) {
        let calls = Arc::new(AtomicUsize::new(0));
        let cell = LiveCell {
            slot: Mutex::new(slot),
            reopen: OnceLock::new(),
        };
        let counted = calls.clone();
        let _ = cell.reopen.set(Box::new(move || {
            counted.fetch_add(1, Ordering::SeqCst);
            true
        }));
        (cell, calls)
    }

    /// What `with_live` did: "warm", "opening" or "cold".
    fn look(cell: &LiveCell, store: &mut Store) -> &'static str {
        with_live(
            cell,
            &mut &mut *store,
            relcal_api::clock::now(),
            |_, _| Ok("warm"),
            Some(&|_| "opening"),
            |_| Ok("cold"),
        )
        .unwrap()
    }

    #[test]
    fn a_calendar_that_could_not_be_opened_is_opened_again_after_a_while() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = relcal_api::open_store(&dir.path().join("c.db")).unwrap();
        // Just failed: the whole-calendar path, no new try yet.
        let (recent, calls) = cell(LiveSlot::Unavailable(Instant::now()));
        assert_eq!(look(&recent, &mut store), "cold");
        assert_eq!(calls.load(Ordering::SeqCst), 0);
        // Failed long enough ago: one new try in the background, and the
        // window is told it is opening until it is done.
        let long_ago = Instant::now().checked_sub(RETRY + Duration::from_secs(1));
        let (old, calls) = cell(LiveSlot::Unavailable(long_ago.unwrap()));
        assert_eq!(look(&old, &mut store), "opening");
        assert_eq!(look(&old, &mut store), "opening");
        assert_eq!(calls.load(Ordering::SeqCst), 1);
    }

    #[test]
    fn a_change_releases_cannot_describe_opens_it_again_in_the_background() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = relcal_api::open_store(&dir.path().join("c.db")).unwrap();
        relcal_api::import_plan_text(&mut store, relcal_api::DEMO_PLAN).unwrap();
        let now = relcal_api::clock::now();
        let live = Live::open(&store, now, &mut |_| {}).unwrap();
        let (cell, calls) = cell(LiveSlot::Ready(Box::new(live)));
        assert_eq!(look(&cell, &mut store), "warm");
        relcal_api::delete_object(&mut store, relcal_api::ObjectKind::Freeze, "holidays", now)
            .unwrap();
        assert_eq!(look(&cell, &mut store), "opening");
        assert_eq!(calls.load(Ordering::SeqCst), 1);
    }
}
