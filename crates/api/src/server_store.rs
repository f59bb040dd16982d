//! Where the release API server keeps the team's calendar: one SQLite file
//! (`Store`, zero set-up) or PostgreSQL (`relcal-store-pg`, for teams that
//! outgrow one file). The server's use cases (tokens, the change log,
//! mutations) are written once, against this trait.

use crate::edit::ObjectKind;
use crate::error::{ApiError, ErrorCode};
use relcal_domain::Plan;
use relcal_store::{AuditRecord, Store, SyncRow, SyncWrite};

/// One accepted change, written whole or not at all.
pub struct ChangeWrite<'a> {
    /// The whole calendar after the change (validated).
    pub calendar: &'a Plan,
    /// The object's kind.
    pub kind: ObjectKind,
    /// The object's id.
    pub id: &'a str,
    /// The object after (plan-file JSON text), or `None`: deleted.
    pub object: Option<&'a str>,
    /// Its audit entry.
    pub audit: &'a AuditRecord,
    /// When (RFC 3339) and by whom, for the change log.
    pub at: &'a str,
    /// Who.
    pub by: &'a str,
    /// The mutation id and the answer given to it.
    pub answer: (&'a str, &'a str),
}

/// The server's storage. Reads take `&mut` too: a database client may need
/// it (and the server serves one request at a time per connection).
pub trait ServerStore: Send {
    /// The calendar, if one was imported (or synced) yet.
    fn calendar(&mut self) -> Result<Option<Plan>, ApiError>;
    /// Replaces the calendar (an import), audited.
    fn replace_calendar(&mut self, plan: &Plan, audit: &[AuditRecord]) -> Result<(), ApiError>;
    /// A token's user and role, by the token's SHA-256.
    fn token_owner(&mut self, token_sha256: &str) -> Result<Option<(String, String)>, ApiError>;
    /// Stores a token's SHA-256 for a user and role, audited.
    fn add_token(
        &mut self,
        token_sha256: &str,
        user: &str,
        role: &str,
        at: &str,
        audit: &[AuditRecord],
    ) -> Result<(), ApiError>;
    /// How many changes the log holds.
    fn log_len(&mut self) -> Result<u64, ApiError>;
    /// Appends changes (kind, id, object), each at its object's next version.
    fn append_log(
        &mut self,
        entries: &[(String, String, Option<String>)],
        at: &str,
        by: &str,
    ) -> Result<(), ApiError>;
    /// Up to `limit` changes after `since`, in order.
    fn log_after(&mut self, since: u64, limit: usize) -> Result<Vec<SyncRow>, ApiError>;
    /// An object's current version and copy (0 and `None` when unknown).
    fn current(&mut self, kind: &str, id: &str) -> Result<(u64, Option<String>), ApiError>;
    /// An object's copy at `version`.
    fn at_version(
        &mut self,
        kind: &str,
        id: &str,
        version: u64,
    ) -> Result<Option<String>, ApiError>;
    /// The answer already given to a mutation id (or a batch key).
    fn answer(&mut self, key: &str) -> Result<Option<String>, ApiError>;
    /// Remembers an answer (the first one stays).
    fn record_answer(&mut self, key: &str, answer: &str) -> Result<(), ApiError>;
    /// Writes an accepted change: object, audit entry, log entry, answer.
    /// An error (a foreign key, ...) leaves nothing written.
    fn write_change(&mut self, change: ChangeWrite<'_>) -> Result<(), ApiError>;
    /// Where the data lives, for messages.
    fn describe(&self) -> String;
}

/// The calendar, or a clear error when there is none yet.
pub fn server_calendar(store: &mut dyn ServerStore) -> Result<Plan, ApiError> {
    store.calendar()?.ok_or_else(|| {
        ApiError::new(
            ErrorCode::NotFound,
            format!(
                "{} holds no calendar yet; import a plan first",
                store.describe()
            ),
        )
    })
}

impl ServerStore for Store {
    fn calendar(&mut self) -> Result<Option<Plan>, ApiError> {
        Ok(self.load_plan()?)
    }
    fn replace_calendar(&mut self, plan: &Plan, audit: &[AuditRecord]) -> Result<(), ApiError> {
        Ok(self.replace_plan(plan, audit)?)
    }
    fn token_owner(&mut self, token_sha256: &str) -> Result<Option<(String, String)>, ApiError> {
        Ok(self.server_token(token_sha256)?)
    }
    fn add_token(
        &mut self,
        token_sha256: &str,
        user: &str,
        role: &str,
        at: &str,
        audit: &[AuditRecord],
    ) -> Result<(), ApiError> {
        Ok(self.add_server_token(token_sha256, user, role, at, audit)?)
    }
    fn log_len(&mut self) -> Result<u64, ApiError> {
        Ok(self.sync_log_len()?)
    }
    fn append_log(
        &mut self,
        entries: &[(String, String, Option<String>)],
        at: &str,
        by: &str,
    ) -> Result<(), ApiError> {
        Ok(self.append_sync_log(entries, at, by)?)
    }
    fn log_after(&mut self, since: u64, limit: usize) -> Result<Vec<SyncRow>, ApiError> {
        Ok(self.sync_log_after(since, limit)?)
    }
    fn current(&mut self, kind: &str, id: &str) -> Result<(u64, Option<String>), ApiError> {
        Ok(self.sync_current(kind, id)?)
    }
    fn at_version(
        &mut self,
        kind: &str,
        id: &str,
        version: u64,
    ) -> Result<Option<String>, ApiError> {
        Ok(self.sync_version(kind, id, version)?)
    }
    fn answer(&mut self, key: &str) -> Result<Option<String>, ApiError> {
        Ok(self.sync_mutation_result(key)?)
    }
    fn record_answer(&mut self, key: &str, answer: &str) -> Result<(), ApiError> {
        Ok(self.record_sync_mutation(key, answer)?)
    }
    fn write_change(&mut self, c: ChangeWrite<'_>) -> Result<(), ApiError> {
        let write = match c.kind {
            ObjectKind::Release => match c.calendar.releases.iter().find(|r| r.id.as_str() == c.id)
            {
                Some(r) => SyncWrite::Release(r),
                None => SyncWrite::DeleteRelease(c.id),
            },
            _ => SyncWrite::Catalog(c.calendar),
        };
        Ok(self.write_synced(
            write,
            std::slice::from_ref(c.audit),
            (c.kind.noun(), c.id, c.object),
            c.at,
            c.by,
            c.answer,
        )?)
    }
    fn describe(&self) -> String {
        format!("the database {}", self.path().display())
    }
}
