//! Where the release API server keeps the team's calendar: one SQLite file
//! (`relcal_store::Store`, zero set-up) or PostgreSQL (`relcal-store-pg`,
//! for teams that outgrow one file); both implement [`ServerStore`]. The server's use cases (tokens, the change log,
//! mutations) are written once, against this trait.

use relcal_domain::{AuditRecord, ObjectKind, Plan};
use relcal_protocol::{ApiError, ErrorCode, ExceptionRequest};

/// One entry of the change log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyncRow {
    /// Order.
    pub seq: u64,
    /// Object kind.
    pub kind: String,
    /// Object id.
    pub id: String,
    /// Its version after this change.
    pub version: u64,
    /// The object (JSON text), or `None` for a deletion.
    pub object: Option<String>,
    /// Who made the change (the authenticated user).
    pub by: String,
}

/// A server token as it is stored: never the token itself, only its hash.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct TokenRecord {
    /// Its id (the first 12 hex digits of its SHA-256): what `token revoke` takes.
    pub id: String,
    /// Whose it is.
    pub user: String,
    /// Its role.
    pub role: String,
    /// When it was made (RFC 3339).
    pub created_at: String,
    /// When it stops working, if ever (RFC 3339).
    pub expires_at: Option<String>,
    /// When a request last came with it (to the minute), if ever.
    pub last_used_at: Option<String>,
}

/// How many hex digits of a token's hash make its id.
pub const TOKEN_ID_LEN: usize = 12;

/// Objects' current versions and copies, by (kind noun, id).
pub type Currents = std::collections::HashMap<(String, String), (u64, Option<String>)>;

/// One accepted change, written whole or not at all.
pub struct ChangeWrite<'a> {
    /// The whole calendar after the change (validated).
    pub calendar: &'a Plan,
    /// The object's kind.
    pub kind: ObjectKind,
    /// The object's id.
    pub id: &'a str,
    /// A release as it was before the change, when it was there (the store
    /// may then write only what changed).
    pub before: Option<&'a relcal_domain::Release>,
    /// The object after (plan-file JSON text), or `None`: deleted.
    pub object: Option<&'a str>,
    /// The object's version after the change (one more than the current
    /// one, read under the batch lock).
    pub version: u64,
    /// Its audit entry.
    pub audit: &'a AuditRecord,
    /// When (RFC 3339) and by whom, for the change log.
    pub at: &'a str,
    /// Who.
    pub by: &'a str,
    /// The mutation id and the answer given to it.
    pub answer: (&'a str, &'a str),
}

/// A desktop's audit-chain head as the server keeps it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct AnchoredHead {
    /// The entry's number in that desktop's chain.
    pub seq: u64,
    /// Its hash.
    pub hash: String,
    /// When the server received it.
    pub at: String,
    /// Who sent it (the authenticated user).
    pub by: String,
}

/// The server's storage. Reads take `&mut` too: a database client may need
/// it (and the server serves one request at a time per connection).
pub trait ServerStore: Send {
    /// The calendar, if one was imported (or synced) yet.
    fn calendar(&mut self) -> Result<Option<Plan>, ApiError>;
    /// Replaces the calendar (an import), audited.
    fn replace_calendar(&mut self, plan: &Plan, audit: &[AuditRecord]) -> Result<(), ApiError>;
    /// A token, by its SHA-256.
    fn token(&mut self, token_sha256: &str) -> Result<Option<TokenRecord>, ApiError>;
    /// Stores a token's SHA-256 for a user and role (until `expires_at`, if
    /// given), audited.
    fn add_token(
        &mut self,
        token_sha256: &str,
        user: &str,
        role: &str,
        at: &str,
        expires_at: Option<&str>,
        audit: &[AuditRecord],
    ) -> Result<(), ApiError>;
    /// Every token, oldest first.
    fn tokens(&mut self) -> Result<Vec<TokenRecord>, ApiError>;
    /// Removes the token whose hash starts with `id` (a full id), audited;
    /// `false` when there is none.
    fn revoke_token(&mut self, id: &str, audit: &[AuditRecord]) -> Result<bool, ApiError>;
    /// Notes that a request came with the token at `at`, unless one already
    /// did since `since` (so a busy token costs a write a minute, not one a request).
    fn touch_token(&mut self, token_sha256: &str, at: &str, since: &str) -> Result<(), ApiError>;
    /// Whether the change log holds anything yet (it only grows: once it
    /// has, it always will).
    fn log_started(&mut self) -> Result<bool, ApiError>;
    /// The calendar's version: the audit trail's last entry, which every
    /// write (from this process or another) moves on.
    fn calendar_version(&mut self) -> Result<u64, ApiError>;
    /// Appends changes (kind, id, object), each at its object's next version.
    fn append_log(
        &mut self,
        entries: &[(String, String, Option<String>)],
        at: &str,
        by: &str,
    ) -> Result<(), ApiError>;
    /// Up to `limit` changes after `since`, in order.
    fn log_after(&mut self, since: u64, limit: usize) -> Result<Vec<SyncRow>, ApiError>;
    /// Checks the server's own audit chain against its head: the number of
    /// entries, or the first break.
    fn verify_audit(&mut self) -> Result<Result<u64, relcal_domain::ChainBreak>, ApiError>;
    /// Keeps a desktop's audit-chain head (`client`'s entry `seq` has `hash`),
    /// as `user` sent it at `at`. The first hash kept for a `seq` stays.
    fn anchor_head(
        &mut self,
        client: &str,
        head: (u64, &str),
        user: &str,
        at: &str,
    ) -> Result<(), ApiError>;
    /// The heads kept for `client`, oldest first: (seq, hash, at, user).
    fn anchored_heads(&mut self, client: &str) -> Result<Vec<AnchoredHead>, ApiError>;
    /// Takes the storage's batch lock, across server processes, until
    /// [`ServerStore::unlock_writes`]: a batch of mutations reads what it
    /// validates against and writes under it, so another process cannot
    /// change that in between, nor apply the same mutation too. Taking it
    /// again while held does nothing.
    fn lock_writes(&mut self) -> Result<(), ApiError>;
    /// Releases the batch lock (held or not).
    fn unlock_writes(&mut self) -> Result<(), ApiError>;
    /// Opens one transaction for a whole batch (under the batch lock): each
    /// mutation's write becomes a part of it, undone alone when it fails,
    /// and the batch reaches the database, and readers, at once with
    /// [`ServerStore::commit_batch`]. `false`: this storage writes each
    /// mutation on its own (the default).
    fn begin_batch(&mut self) -> Result<bool, ApiError> {
        Ok(false)
    }
    /// Commits the batch's transaction; on an error it is still open, for
    /// [`ServerStore::rollback_batch`].
    fn commit_batch(&mut self) -> Result<(), ApiError> {
        Ok(())
    }
    /// Undoes the batch's transaction, all of it.
    fn rollback_batch(&mut self) {}
    /// Copies what the write-ahead log holds into the database, without
    /// waiting for the writer or readers (SQLite's passive checkpoint), so
    /// that the writer need not: the server runs it on a connection and a
    /// thread of its own. The log's frames now in the database; `None`:
    /// this storage keeps no such log (the default), and is not asked again.
    fn checkpoint(&mut self) -> Result<Option<u64>, ApiError> {
        Ok(None)
    }
    /// An object's current version and copy (0 and `None` when unknown).
    fn current(&mut self, kind: &str, id: &str) -> Result<(u64, Option<String>), ApiError>;
    /// [`ServerStore::current`] of each (kind noun, id), by it (one question
    /// where the storage can: a batch asks for all its objects).
    fn currents(&mut self, objects: &[(&str, &str)]) -> Result<Currents, ApiError> {
        let mut found = Currents::new();
        for (kind, id) in objects {
            let current = self.current(kind, id)?;
            found.insert(((*kind).to_owned(), (*id).to_owned()), current);
        }
        Ok(found)
    }
    /// An object's copy at `version`.
    fn at_version(
        &mut self,
        kind: &str,
        id: &str,
        version: u64,
    ) -> Result<Option<String>, ApiError>;
    /// The answer already given to a mutation id (or a batch key).
    fn answer(&mut self, key: &str) -> Result<Option<String>, ApiError>;
    /// The answers already given to any of `keys`, by key (one question
    /// where the storage can: a batch asks for all its mutation ids).
    fn answers(
        &mut self,
        keys: &[&str],
    ) -> Result<std::collections::HashMap<String, String>, ApiError> {
        let mut found = std::collections::HashMap::new();
        for key in keys {
            if let Some(answer) = self.answer(key)? {
                found.insert((*key).to_owned(), answer);
            }
        }
        Ok(found)
    }
    /// Remembers an answer (the first one stays).
    fn record_answer(&mut self, key: &str, answer: &str) -> Result<(), ApiError>;
    /// Writes an accepted change: object, audit entry, log entry, answer.
    /// An error (a foreign key, ...) leaves nothing written.
    fn write_change(&mut self, change: ChangeWrite<'_>) -> Result<(), ApiError>;
    /// The freeze-exception requests held, newest first, at most
    /// [`relcal_protocol::MAX_REQUESTS_LISTED`].
    fn exception_requests(&mut self) -> Result<Vec<ExceptionRequest>, ApiError>;
    /// One request, by id.
    fn exception_request(&mut self, id: &str) -> Result<Option<ExceptionRequest>, ApiError>;
    /// Every request for one release's exception to one freeze, newest first.
    fn exception_requests_for(
        &mut self,
        release: &str,
        freeze: &str,
    ) -> Result<Vec<ExceptionRequest>, ApiError>;
    /// Keeps a request (new, or its new state), audited.
    fn put_exception_request(
        &mut self,
        request: &ExceptionRequest,
        audit: &AuditRecord,
    ) -> Result<(), ApiError>;
    /// Where the data lives, for messages.
    fn describe(&self) -> String;
}

/// The calendar, or a clear error when there is none yet.
pub fn server_calendar(store: &mut dyn ServerStore) -> Result<Plan, ApiError> {
    // Where it lives (a path, a host) is the server's business, not the client's.
    store.calendar()?.ok_or_else(|| {
        ApiError::new(
            ErrorCode::NotFound,
            "the server holds no calendar yet; import a plan first (relcal-server import)",
        )
    })
}

/// The calendar kept between requests, for the read endpoints (gate, plan,
/// feed): read again only when [`ServerStore::calendar_version`] moved, so a
/// pipeline's gate on a large calendar costs the check, not a load.
#[derive(Default)]
pub struct WarmCalendar {
    /// The calendar at the newest versions seen (at most [`WARM_VERSIONS`]):
    /// a batch puts its calendar in before it commits, so readers find the
    /// new version warm the moment it is visible, and those still on the
    /// version before find theirs.
    held: std::sync::Mutex<Vec<(u64, std::sync::Arc<Plan>)>>,
}

/// How many versions [`WarmCalendar`] keeps.
const WARM_VERSIONS: usize = 2;

impl WarmCalendar {
    /// The current calendar (see [`server_calendar`]), from memory while the
    /// version is one it holds.
    pub fn plan(&self, store: &mut dyn ServerStore) -> Result<std::sync::Arc<Plan>, ApiError> {
        // The version first: a write landing during the read is then seen as
        // newer on the next request, never hidden under this version.
        let version = store.calendar_version()?;
        if let Some((_, plan)) = self.lock().iter().find(|(v, _)| *v == version) {
            return Ok(plan.clone());
        }
        let plan = std::sync::Arc::new(server_calendar(store)?);
        self.hold(version, plan.clone());
        Ok(plan)
    }

    /// Holds `plan` as the calendar at `version`: what a writer that wrote
    /// it knows, so the readers need not read it again. Only a version the
    /// database will show (or that [`WarmCalendar::forget`] then drops)
    /// may be put: a reader asks for the version it read there.
    pub fn put(&self, version: u64, plan: Plan) {
        self.hold(version, std::sync::Arc::new(plan));
    }

    /// Drops what is held for `version` (a batch put before its commit,
    /// which then failed).
    pub fn forget(&self, version: u64) {
        self.lock().retain(|(v, _)| *v != version);
    }

    fn hold(&self, version: u64, plan: std::sync::Arc<Plan>) {
        let mut held = self.lock();
        held.retain(|(v, _)| *v != version);
        held.push((version, plan));
        // The newest versions stay.
        held.sort_by_key(|(v, _)| std::cmp::Reverse(*v));
        held.truncate(WARM_VERSIONS);
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<(u64, std::sync::Arc<Plan>)>> {
        // What it holds is checked against the version on every use.
        self.held
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}
