//! The calendar as the shell holds it: for reading, or for a change. A
//! [`Reading`] gives `&Store` only, so a write through it does not compile;
//! a [`Writing`] gives `&mut Store` and, once released (the change written),
//! wakes the sync loop and the notification scheduler to look again.

use crate::AppState;
use relcal_api::{ApiError, Store};
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
        // A command that panicked while holding the calendar left it as the
        // database has it: its transaction rolled back as it unwound, and the
        // store drops its cached catalog before every write. So the next
        // command goes on, instead of every command failing from then on.
        Ok(store) => Ok(store.lock().unwrap_or_else(|poisoned| {
            tracing::warn!("a command failed while it held the calendar; going on");
            store.clear_poison();
            poisoned.into_inner()
        })),
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

/// The open calendar for a background loop's own bookkeeping (the
/// scheduler recording what it sent, on the window's connection when it has
/// none of its own): unlike [`write`], releasing it wakes nobody, so the
/// loop does not wake itself.
pub fn bookkeeping(state: &AppState) -> Result<MutexGuard<'_, Store>, ApiError> {
    lock(state)
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

#[cfg(test)]
mod tests {
    #![allow(
        clippy::unwrap_used,
        reason = "a test should fail loudly on a broken fixture"
    )]

    #[test]
    fn a_command_that_panicked_holding_the_calendar_does_not_stop_the_next() {
        let dir = tempfile::tempdir().unwrap();
        let state = crate::open_state(Some(dir.path().join("c.db")));
        std::thread::scope(|scope| {
            let crashed = scope.spawn(|| {
                let _held = super::write(&state).unwrap();
                panic!("a bug in a command");
            });
            assert!(crashed.join().is_err());
        });
        let Ok(store) = &state.store else {
            panic!("the calendar opened");
        };
        assert!(store.is_poisoned());
        // The next command reads and writes as before.
        let read = super::read(&state).unwrap();
        assert!(relcal_api::stored_plan(&read).is_ok());
        drop(read);
        assert!(!store.is_poisoned());
        let mut write = super::write(&state).unwrap();
        relcal_api::set_user_name(&mut write, "ana", relcal_api::clock::now()).unwrap();
    }
}
