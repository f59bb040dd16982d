//! What the use-case tests start from: the demo calendar in a real SQLite
//! file, at a fixed instant.

#![allow(
    dead_code,
    reason = "each test binary uses its own part of the shared set-up"
)]
#![allow(
    clippy::unwrap_used,
    reason = "a broken fixture should fail its test loudly"
)]

use relcal_api::{export_plan_json, import_plan_text, open_store, Store, DEMO_PLAN};

/// The instant the tests on the demo calendar run at (before its releases).
pub const NOW: &str = "2026-11-25T00:00:00Z";

/// The demo calendar imported into a fresh database file (kept while the
/// directory lives).
pub fn demo() -> (tempfile::TempDir, Store) {
    calendar_of(DEMO_PLAN)
}

/// A plan file's text imported into a fresh database file (kept while the
/// directory lives).
pub fn calendar_of(plan: &str) -> (tempfile::TempDir, Store) {
    let dir = tempfile::tempdir().unwrap();
    let mut store = open_store(&dir.path().join("cal.db")).unwrap();
    import_plan_text(&mut store, plan).unwrap();
    (dir, store)
}

/// The calendar as `relcal export` writes it.
pub fn export(store: &Store) -> String {
    export_plan_json(store).unwrap()
}
