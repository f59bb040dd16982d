//! Relcal's SQLite store.
//!
//! One database file holds one calendar. The schema is created and upgraded by
//! versioned migrations (`schema.rs`); the database runs in WAL mode with
//! foreign keys on, and every multi-row change happens in one transaction.
//!
//! Architecture invariant: this crate speaks SQL and the domain's types. It
//! holds no use cases (those live in `relcal-api`) and never writes a
//! calendar that the domain has not validated.

#![deny(missing_docs)]

mod audit;
mod calendar;
mod notify;
mod plan;
mod read;
mod rows;
mod schema;
mod server;
mod settings;
mod sync;
mod tokens;
mod write;

pub use calendar::ReleaseRow;
pub use plan::{CatalogKind, ChecklistDetail, RollbackDetail};
pub use relcal_domain::AuditRecord;
pub use relcal_server_core::SyncRow;
pub use sync::{SyncClient, SyncInflight, SyncOutcome};
pub use write::{ReleaseWrite, Synced, Write};

use rusqlite::Connection;
use std::path::{Path, PathBuf};

/// What can go wrong in the store.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The database file could not be opened or is not a database.
    #[error("cannot open the database {path}: {source}")]
    Open {
        /// The file.
        path: PathBuf,
        /// Why.
        source: rusqlite::Error,
    },
    /// The schema could not be brought up to date.
    #[error("cannot upgrade the database schema: {0}")]
    Migration(#[from] rusqlite_migration::Error),
    /// A query failed.
    #[error("database error: {0}")]
    Sqlite(#[from] rusqlite::Error),
    /// The stored calendar does not validate (edited by hand, or a bug).
    #[error("the calendar stored in the database is not valid: {0}")]
    Corrupt(#[from] relcal_domain::PlanError),
    /// A write deletes a release that is not stored (nothing was written).
    #[error("release \"{0}\" does not exist")]
    NoSuchRelease(String),
}

/// An open calendar database.
pub struct Store {
    conn: Connection,
    path: PathBuf,
    /// The calendar without its releases, as last read, and the database's
    /// `data_version` then: views read it on every range change, and it only
    /// changes when this store replaces it or another connection commits.
    catalog: std::cell::RefCell<Option<(i64, relcal_domain::Plan)>>,
    /// Who the changes made through this store are recorded as.
    actor: String,
    /// The server's batch lock while held (`ServerStore::lock_writes`).
    batch_lock: Option<std::fs::File>,
}

/// The person running this process: `USER` (or `USERNAME`, `LOGNAME`),
/// else the account the OS runs it as.
pub fn os_user() -> String {
    ["USER", "USERNAME", "LOGNAME"]
        .iter()
        .find_map(|k| std::env::var(k).ok().filter(|v| !v.trim().is_empty()))
        .or_else(|| whoami::fallible::username().ok())
        .filter(|v| !v.trim().is_empty())
        .unwrap_or_else(|| "unknown".to_owned())
}

impl Store {
    /// Opens (creating if needed) the database at `path` and brings its schema up to date.
    pub fn open(path: &Path) -> Result<Self, StoreError> {
        let open_err = |source| StoreError::Open {
            path: path.to_owned(),
            source,
        };
        let mut conn = Connection::open(path).map_err(open_err)?;
        // journal_mode answers with a row; the others do not.
        conn.pragma_update_and_check(None, "journal_mode", "WAL", |_| Ok(()))
            .map_err(open_err)?;
        conn.pragma_update(None, "foreign_keys", true)
            .map_err(open_err)?;
        conn.pragma_update(None, "synchronous", "NORMAL")
            .map_err(open_err)?;
        // Views read thousands of rows at a time: keep pages in memory rather
        // than re-reading them from the OS (a negative cache_size is in KiB).
        conn.pragma_update(None, "cache_size", -65_536)
            .map_err(open_err)?;
        conn.pragma_update_and_check(None, "mmap_size", 268_435_456, |_| Ok(()))
            .map_err(open_err)?;
        conn.busy_timeout(std::time::Duration::from_secs(5))
            .map_err(open_err)?;
        schema::migrations().to_latest(&mut conn)?;
        Ok(Self {
            conn,
            path: path.to_owned(),
            catalog: std::cell::RefCell::new(None),
            actor: os_user(),
            batch_lock: None,
        })
    }

    /// A write transaction that takes the write lock when it begins
    /// (IMMEDIATE), waiting for it up to the busy timeout. A deferred one
    /// reads first (the audit head) and cannot wait when another connection
    /// (the sync loop, the scheduler, the CLI) commits before it writes:
    /// SQLite then fails it at once with "database is locked".
    pub(crate) fn write_transaction(&mut self) -> rusqlite::Result<rusqlite::Transaction<'_>> {
        self.conn
            .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
    }

    /// Who changes are recorded as (default: the OS user).
    pub fn actor(&self) -> &str {
        &self.actor
    }

    /// Records later changes as made by `name` (`--by`, the app's user setting).
    pub fn set_actor(&mut self, name: &str) {
        let name = name.trim();
        if !name.is_empty() {
            name.clone_into(&mut self.actor);
        }
    }

    /// The database file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The schema version (number of applied migrations).
    pub fn schema_version(&self) -> Result<u32, StoreError> {
        Ok(self
            .conn
            .pragma_query_value(None, "user_version", |row| row.get(0))?)
    }

    /// Runs `PRAGMA integrity_check`; `Ok(())` when the file is sound.
    pub fn integrity_check(&self) -> Result<Result<(), String>, StoreError> {
        let answer: String = self
            .conn
            .query_row("PRAGMA integrity_check", [], |row| row.get(0))?;
        Ok(if answer == "ok" { Ok(()) } else { Err(answer) })
    }
}

/// A store failure as the use cases report it: the database cannot be
/// opened or upgraded (unavailable), or a query failed (a bug or corruption).
impl From<StoreError> for relcal_protocol::ApiError {
    fn from(e: StoreError) -> Self {
        use relcal_protocol::ErrorCode;
        use StoreError as S;
        let code = match &e {
            S::Open { .. } | S::Migration(_) => ErrorCode::Unavailable,
            S::Sqlite(_) | S::Corrupt(_) => ErrorCode::Internal,
            S::NoSuchRelease(_) => ErrorCode::NotFound,
        };
        Self::new(code, e.to_string())
    }
}
