//! The calendar as the shell holds it: for reading, or for a change. A
//! [`Reading`] gives `&Store` only, so a write through it does not compile;
//! a [`Writing`] gives `&mut Store` and, once released (the change written),
//! wakes the sync loop and the notification scheduler to look again.

use crate::AppState;
use relcal_api::{ApiError, ErrorCode, Store};
use std::ops::{Deref, DerefMut};
use std::sync::MutexGuard;

/// The open calendar, to read.
pub struct Reading<'a>(MutexGuard<'a, Store>);

impl Deref for Reading<'_> {
    type Target = Store;
    fn deref(&self) -> &Store {
        &self.0
    }
}

/// The open calendar, to change.
pub struct Writing<'a> {
    guard: Option<MutexGuard<'a, Store>>,
    state: &'a AppState,
}

impl Deref for Writing<'_> {
    type Target = Store;
    fn deref(&self) -> &Store {
        // Only `drop` takes the guard.
        self.guard.as_deref().unwrap_or_else(|| unreachable!())
    }
}

impl DerefMut for Writing<'_> {
    fn deref_mut(&mut self) -> &mut Store {
        self.guard.as_deref_mut().unwrap_or_else(|| unreachable!())
    }
}

impl Drop for Writing<'_> {
    fn drop(&mut self) {
        // Release the calendar first: both loops take it to look.
        drop(self.guard.take());
        self.state.changed.notify_one();
        self.state.sync.wake.notify_one();
    }
}

fn lock(state: &AppState) -> Result<MutexGuard<'_, Store>, ApiError> {
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

/// The open calendar to read, or the reason it could not be opened.
pub fn read(state: &AppState) -> Result<Reading<'_>, ApiError> {
    lock(state).map(Reading)
}

/// The open calendar to change, or the reason it could not be opened.
pub fn write(state: &AppState) -> Result<Writing<'_>, ApiError> {
    Ok(Writing {
        guard: Some(lock(state)?),
        state,
    })
}

/// Writes with `change`, then does `then` with what it wrote (keeping a
/// token in the keyring, say); when `then` fails, `undo` takes the change
/// back, so nothing is left half-done.
pub fn change_then<T>(
    state: &AppState,
    change: impl FnOnce(&mut Store) -> Result<T, ApiError>,
    then: impl FnOnce(&T) -> Result<(), ApiError>,
    undo: impl FnOnce(&mut Store) -> Result<(), ApiError>,
) -> Result<T, ApiError> {
    let done = {
        let mut store = write(state)?;
        change(&mut store)?
    };
    if let Err(e) = then(&done) {
        let mut store = write(state)?;
        undo(&mut store)?;
        return Err(e);
    }
    Ok(done)
}
