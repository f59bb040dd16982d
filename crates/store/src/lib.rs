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
mod requests;
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
    /// A server batch's transaction is open (`ServerStore::begin_batch`):
    /// each write is a savepoint of it.
    batch: bool,
}

/// How long a write waits for another connection's write lock.
pub(crate) const BUSY_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(5);

/// A write: a transaction of its own, or a savepoint of a server batch's.
pub(crate) enum Tx<'a> {
    Transaction(rusqlite::Transaction<'a>),
    Savepoint(rusqlite::Savepoint<'a>),
}

impl std::ops::Deref for Tx<'_> {
    type Target = Connection;
    fn deref(&self) -> &Connection {
        match self {
            Tx::Transaction(t) => t,
            Tx::Savepoint(s) => s,
        }
    }
}

/// A consistent read: a read transaction of its own, or, inside a server
/// batch's transaction, that transaction (which also sees its own writes).
pub(crate) enum ReadView<'a> {
    Own(rusqlite::Transaction<'a>),
    Batch(&'a Connection),
}

impl std::ops::Deref for ReadView<'_> {
    type Target = Connection;
    fn deref(&self) -> &Connection {
        match self {
            ReadView::Own(t) => t,
            ReadView::Batch(c) => c,
        }
    }
}

impl ReadView<'_> {
    /// Ends the read (nothing was written).
    pub(crate) fn finish(self) -> rusqlite::Result<()> {
        match self {
            ReadView::Own(t) => t.finish(),
            ReadView::Batch(_) => Ok(()),
        }
    }
}

impl Tx<'_> {
    /// Commits it (a savepoint: releases it into the batch's transaction).
    pub(crate) fn commit(self) -> rusqlite::Result<()> {
        match self {
            Tx::Transaction(t) => t.commit(),
            Tx::Savepoint(s) => s.commit(),
        }
    }
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
        conn.busy_timeout(BUSY_TIMEOUT).map_err(open_err)?;
        // Every statement the store runs, prepared once per connection.
        conn.set_prepared_statement_cache_capacity(256);
        schema::migrations().to_latest(&mut conn)?;
        Ok(Self {
            conn,
            path: path.to_owned(),
            catalog: std::cell::RefCell::new(None),
            actor: os_user(),
            batch_lock: None,
            batch: false,
        })
    }

    /// A write transaction that takes the write lock when it begins
    /// (IMMEDIATE), waiting for it up to the busy timeout. A deferred one
    /// reads first (the audit head) and cannot wait when another connection
    /// (the sync loop, the scheduler, the CLI) commits before it writes:
    /// SQLite then fails it at once with "database is locked".
    pub(crate) fn write_transaction(&mut self) -> rusqlite::Result<Tx<'_>> {
        if self.batch {
            // Inside the server's batch transaction: this write is one
            // savepoint of it, undone alone when it fails.
            return self.conn.savepoint().map(Tx::Savepoint);
        }
        self.conn
            .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
            .map(Tx::Transaction)
    }

    /// A consistent read of several statements (see [`ReadView`]).
    pub(crate) fn read_view(&self) -> rusqlite::Result<ReadView<'_>> {
        if self.batch {
            return Ok(ReadView::Batch(&self.conn));
        }
        self.conn.unchecked_transaction().map(ReadView::Own)
    }

    /// Opens the server's batch transaction (IMMEDIATE: it takes the write
    /// lock now); until it is committed or rolled back every write is a
    /// savepoint of it.
    pub(crate) fn begin_batch_transaction(&mut self) -> Result<bool, StoreError> {
        if !self.batch {
            self.conn.execute_batch("BEGIN IMMEDIATE")?;
            self.batch = true;
        }
        Ok(true)
    }

    /// Commits the batch transaction. On an error (a foreign key the batch
    /// broke, checked at commit) it stays open for the rollback.
    pub(crate) fn commit_batch_transaction(&mut self) -> Result<(), StoreError> {
        if self.batch {
            self.conn.execute_batch("COMMIT")?;
            self.batch = false;
        }
        Ok(())
    }

    /// Rolls the batch transaction back, all of it.
    pub(crate) fn rollback_batch_transaction(&mut self) {
        if self.batch {
            // Nothing left to undo if it fails: the transaction is gone.
            let _ = self.conn.execute_batch("ROLLBACK");
            self.batch = false;
            self.catalog.replace(None);
        }
    }

    /// This connection as the server uses it:
    /// - without a memory map of the file. The server's database grows with
    ///   every commit, and a mapped connection maps it again at the start of
    ///   every read transaction after that (munmap, and a TLB flush on every
    ///   CPU that interrupts the writer too): under 20 writers that was a
    ///   tenth of the server's CPU;
    /// - checkpointing only once the log holds 4,096 pages (16 MiB): the
    ///   server checkpoints on a thread of its own
    ///   ([`Store::checkpoint_passive`]), so the writer never copies pages
    ///   and waits for the disk at a commit, unless that thread falls behind.
    pub fn tuned_for_server(self) -> Result<Self, StoreError> {
        self.conn
            .pragma_update_and_check(None, "mmap_size", 0, |_| Ok(()))?;
        self.conn
            .pragma_update_and_check(None, "wal_autocheckpoint", 4096, |_| Ok(()))?;
        Ok(self)
    }

    /// Copies the write-ahead log's frames into the database as far as no
    /// reader still needs them, waiting for no one (`wal_checkpoint(PASSIVE)`),
    /// and syncs the file: the frames of the log now in the database.
    pub fn checkpoint_passive(&mut self) -> Result<u64, StoreError> {
        let copied: i64 = self
            .conn
            .query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |r| r.get(2))?;
        Ok(u64::try_from(copied).unwrap_or(0))
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
            .prepare_cached("PRAGMA integrity_check")?
            .query_row([], |row| row.get(0))?;
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
