//! The release API server's storage in PostgreSQL (`relcal-server
//! --database-url postgres://…`), for teams that outgrow one SQLite file.
//!
//! The calendar is kept as documents: one row per team, service, environment,
//! freeze and release (its plan-file JSON), in calendar order, beside the
//! change log, the answers given to mutations, the tokens and the audit chain
//! (the same SHA-256 chain as the desktop's). The server validates each
//! object before it writes it, as with SQLite. Every write first takes one
//! advisory lock, so several server processes on one database write one at
//! a time and the change log's order is its commit order; a batch of
//! mutations holds it as a session lock and is one transaction.
//!
//! A batch costs few round trips, since on a busy machine each is a wait for
//! the database's process: the lock and `BEGIN` go with the first statement,
//! the mutations' writes are kept and sent as one statement before the
//! commit ([`FLUSH`]), and the commit releases the lock.

#![deny(missing_docs)]

use postgres::{Client, NoTls, Transaction};
use relcal_domain::{chain, AuditRecord, ObjectKind, Plan};
use relcal_protocol::{ApiError, ErrorCode, ExceptionRequest, RequestState};
use relcal_server_core::{
    AnchoredHead, ChangeWrite, ServerStore, SyncRow, TokenRecord, TOKEN_ID_LEN,
};
use serde_json::Value;

mod schema;
mod tls;
use relcal_protocol::with_causes as why;
use schema::SCHEMA;
use tls::tls_for;
pub use tls::DATABASE_CA_ENV;

/// The advisory lock every write transaction takes first.
const WRITE_LOCK: i64 = 0x7265_6c63_616c; // "relcal"

fn db_error(e: postgres::Error) -> ApiError {
    let code = if e.is_closed() || e.as_db_error().is_none() {
        ErrorCode::Unavailable
    } else {
        ErrorCode::Internal
    };
    // The database's own words (the server logs them; clients get a number).
    ApiError::new(code, format!("PostgreSQL: {}", why(&e)))
}

const TOKEN_SELECT: &str =
    "SELECT token_sha256, user_name, role, created_at, expires_at, last_used_at FROM server_tokens";

fn token_record(r: &postgres::Row) -> TokenRecord {
    let sha: String = r.get(0);
    TokenRecord {
        id: sha.chars().take(TOKEN_ID_LEN).collect(),
        user: r.get(1),
        role: r.get(2),
        created_at: r.get(3),
        expires_at: r.get(4),
        last_used_at: r.get(5),
    }
}

/// (`freeze` is a keyword in PostgreSQL.)
const REQUEST_COLUMNS: &str = "id, release_id, freeze_id, reason, expires, requested_by, requested_at, state, decided_by, decided_at, note";

fn request_row(r: &postgres::Row) -> ExceptionRequest {
    let state: String = r.get(7);
    ExceptionRequest {
        id: r.get(0),
        release: r.get(1),
        freeze: r.get(2),
        reason: r.get(3),
        expires: r.get(4),
        requested_by: r.get(5),
        requested_at: r.get(6),
        // The table's CHECK allows only these.
        state: RequestState::parse(&state).unwrap_or(RequestState::Pending),
        decided_by: r.get(8),
        decided_at: r.get(9),
        note: r.get(10),
    }
}

fn seq(v: i64) -> u64 {
    u64::try_from(v).unwrap_or(0)
}

fn int(v: u64) -> i64 {
    i64::try_from(v).unwrap_or(i64::MAX)
}

/// The server's data in PostgreSQL.
pub struct PgStore {
    client: Client,
    url: String,
    where_: String,
    /// A server batch's transaction is open (`ServerStore::begin_batch`):
    /// each write is a savepoint of it.
    batch: bool,
    /// The statements run per mutation, prepared once on this connection
    /// (each is then one round trip, not two).
    prepared: std::collections::HashMap<&'static str, postgres::Statement>,
    /// In a batch: the audit chain's head after its last write (the batch
    /// holds the write lock, so nothing else moves it).
    batch_head: Option<Option<(u64, String)>>,
    /// The batch lock (`lock_writes`).
    lock: Lock,
    /// A batch was begun and its `BEGIN` is still to be sent.
    begin_pending: bool,
    /// A batch's writes not sent yet: they go in one statement ([`FLUSH`])
    /// before anything else is read or written, and before the commit.
    pending: Vec<Pending>,
    /// A batch's answers to mutations not applied (refused, conflicts),
    /// not sent yet.
    pending_answers: Vec<(String, String)>,
    /// The change log was seen to hold something (it only grows).
    log_started: bool,
}

/// The batch lock's state on this connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Lock {
    /// Not held.
    Free,
    /// Asked for: taken with the next statement, before it.
    Wanted,
    /// Held (a session lock).
    Held,
}

/// A mutation's write in a batch, kept until [`PgStore::flush`].
struct Pending {
    kind: &'static str,
    id: String,
    body: Option<String>,
    version: i64,
    seq: i64,
    audit: AuditRecord,
    prev_hash: String,
    hash: String,
    at: String,
    by: String,
    answer: (String, String),
}

/// A batch's writes, one statement: the objects put (each object's last
/// copy, new ones in the order they came) or deleted, the audit entries and
/// the chain's head, the change-log entries at the versions given, and the
/// answers. A statement is all or nothing. Its sub-statements see one
/// snapshot, so an object deleted and put again in one batch cannot be
/// written by one: writes with a deletion are sent one by one instead.
const FLUSH: &str = "WITH m AS (
    SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::bigint[], $5::bigint[],
        $6::text[], $7::text[], $8::text[], $9::text[], $10::text[], $11::text[], $12::text[],
        $13::text[], $14::text[], $15::text[], $16::text[])
    WITH ORDINALITY AS m (kind, id, body, version, seq, at, actor, action, object_kind,
        object_id, before, after, prev_hash, hash, log_at, by_user, ord)
), put AS (
    INSERT INTO objects (kind, id, body)
    SELECT kind, id, body FROM (
        SELECT DISTINCT ON (kind, id) kind, id, body,
            min(ord) OVER (PARTITION BY kind, id) AS first
        FROM m WHERE body IS NOT NULL ORDER BY kind, id, ord DESC
    ) AS last ORDER BY first
    ON CONFLICT (kind, id) DO UPDATE SET body = excluded.body RETURNING 1
), gone AS (
    DELETE FROM objects o USING m WHERE m.body IS NULL AND o.kind = m.kind AND o.id = m.id
    RETURNING 1
), audit AS (
    INSERT INTO audit_log (seq, at, actor, action, object_kind, object_id, before, after, prev_hash, hash)
    SELECT seq, at, actor, action, object_kind, object_id, before, after, prev_hash, hash FROM m
    RETURNING 1
), head AS (
    INSERT INTO audit_head (id, seq, hash) SELECT 1, seq, hash FROM m ORDER BY ord DESC LIMIT 1
    ON CONFLICT (id) DO UPDATE SET seq = excluded.seq, hash = excluded.hash RETURNING 1
), log AS (
    INSERT INTO sync_log (kind, id, version, object, at, by_user)
    SELECT kind, id, version, body, log_at, by_user FROM m ORDER BY ord RETURNING 1
), answer AS (
    INSERT INTO sync_mutations (mutation_id, result)
    SELECT * FROM unnest($17::text[], $18::text[]) ON CONFLICT DO NOTHING RETURNING 1
) SELECT 1";

type Params<'p> = &'p [&'p (dyn postgres::types::ToSql + Sync)];

/// A write: a transaction of its own, or a savepoint of a server batch's
/// transaction, undone alone when dropped without `commit`.
enum PgTx<'a> {
    Own(Transaction<'a>),
    Batch(Savepoint<'a>),
}

/// A savepoint of the batch's transaction on its connection.
struct Savepoint<'a> {
    client: &'a mut Client,
    released: bool,
}

impl Drop for Savepoint<'_> {
    fn drop(&mut self) {
        if !self.released {
            // Nothing more to do if it fails: the batch then fails at commit.
            let _ = self.client.batch_execute(
                "ROLLBACK TO SAVEPOINT relcal_write; RELEASE SAVEPOINT relcal_write",
            );
        }
    }
}

impl PgTx<'_> {
    fn execute(&mut self, query: &str, params: Params<'_>) -> Result<u64, postgres::Error> {
        match self {
            PgTx::Own(t) => t.execute(query, params),
            PgTx::Batch(s) => s.client.execute(query, params),
        }
    }
    fn query_opt(
        &mut self,
        query: &str,
        params: Params<'_>,
    ) -> Result<Option<postgres::Row>, postgres::Error> {
        match self {
            PgTx::Own(t) => t.query_opt(query, params),
            PgTx::Batch(s) => s.client.query_opt(query, params),
        }
    }
    fn commit(self) -> Result<(), postgres::Error> {
        match self {
            PgTx::Own(t) => t.commit(),
            PgTx::Batch(mut s) => {
                s.client.batch_execute("RELEASE SAVEPOINT relcal_write")?;
                s.released = true;
                Ok(())
            }
        }
    }
}

impl PgStore {
    /// Connects to `url` (`postgres://user@host:port/db`) and creates the
    /// tables on first use.
    pub fn connect(url: &str) -> Result<Self, ApiError> {
        let config: postgres::Config = tls::with_verified_modes(url).parse().map_err(|e| {
            ApiError::new(
                ErrorCode::Validation,
                format!("--database-url: not a PostgreSQL URL ({e})"),
            )
        })?;
        let where_ = format!(
            "the PostgreSQL database {} on {}",
            config.get_dbname().unwrap_or("(default)"),
            config
                .get_hosts()
                .first()
                .map(|h| match h {
                    postgres::config::Host::Tcp(h) => h.clone(),
                    postgres::config::Host::Unix(p) => p.display().to_string(),
                })
                .unwrap_or_default()
        );
        let mut config = config;
        let connected = match tls_for(&mut config)? {
            Some(tls) => config.connect(tls),
            None => config.connect(NoTls),
        };
        let mut client = connected.map_err(|e| {
            ApiError::new(
                ErrorCode::Unavailable,
                format!("cannot connect to {where_}: {}", why(&e)),
            )
        })?;
        let mut tx = client.transaction().map_err(db_error)?;
        tx.execute("SELECT pg_advisory_xact_lock($1)", &[&WRITE_LOCK])
            .map_err(db_error)?;
        tx.batch_execute(SCHEMA).map_err(db_error)?;
        let version: Option<i32> = tx
            .query_opt("SELECT version FROM relcal_schema", &[])
            .map_err(db_error)?
            .map(|r| r.get(0));
        match version {
            None => {
                tx.execute("INSERT INTO relcal_schema (version) VALUES (1)", &[])
                    .map_err(db_error)?;
            }
            Some(1) => {}
            Some(v) => {
                return Err(ApiError::new(
                    ErrorCode::Unavailable,
                    format!("{where_} has schema version {v}, newer than this server knows (1)"),
                ))
            }
        }
        tx.commit().map_err(db_error)?;
        Ok(Self {
            client,
            url: url.to_owned(),
            where_,
            batch: false,
            prepared: std::collections::HashMap::new(),
            batch_head: None,
            lock: Lock::Free,
            begin_pending: false,
            pending: Vec::new(),
            pending_answers: Vec::new(),
            log_started: false,
        })
    }

    /// `sql` prepared on this connection, once.
    fn prepared(&mut self, sql: &'static str) -> Result<postgres::Statement, ApiError> {
        if let Some(s) = self.prepared.get(sql) {
            return Ok(s.clone());
        }
        let s = self.client.prepare(sql).map_err(db_error)?;
        self.prepared.insert(sql, s.clone());
        Ok(s)
    }

    /// A write transaction, holding the write lock. A connection lost since
    /// the last request (PostgreSQL restarted) is made again first.
    fn write(&mut self) -> Result<PgTx<'_>, ApiError> {
        self.ready()?;
        if self.batch {
            // Written now, after what the batch kept: the head is read again.
            self.batch_head = None;
            // The batch holds the lock (`lock_writes`); a lost connection
            // lost the batch too, which then fails as a whole.
            self.client
                .batch_execute("SAVEPOINT relcal_write")
                .map_err(db_error)?;
            return Ok(PgTx::Batch(Savepoint {
                client: &mut self.client,
                released: false,
            }));
        }
        let mut tx = self.client.transaction().map_err(db_error)?;
        tx.execute("SELECT pg_advisory_xact_lock($1)", &[&WRITE_LOCK])
            .map_err(db_error)?;
        Ok(PgTx::Own(tx))
    }

    /// Makes the connection ready for a statement: made again if it was
    /// lost (PostgreSQL restarted; not while it held the lock or a batch,
    /// which were lost with it and then fail), the lock and `BEGIN` asked
    /// for sent, and a batch's kept writes sent.
    fn ready(&mut self) -> Result<(), ApiError> {
        let begun = self.batch && !self.begin_pending;
        if self.client.is_closed() && !begun && self.lock != Lock::Held {
            let kept = (self.lock, self.begin_pending, self.batch);
            let pending = std::mem::take(&mut self.pending);
            let answers = std::mem::take(&mut self.pending_answers);
            *self = Self::connect(&self.url.clone())?;
            (self.lock, self.begin_pending, self.batch) = kept;
            (self.pending, self.pending_answers) = (pending, answers);
        }
        if self.lock == Lock::Wanted || self.begin_pending {
            let mut sql = String::new();
            if self.lock == Lock::Wanted {
                // A session lock, the same key every write transaction
                // takes: held across the batch's reads and writes, and
                // dropped by PostgreSQL if this connection dies.
                sql.push_str(&format!("SELECT pg_advisory_lock({WRITE_LOCK});"));
            }
            if self.begin_pending {
                sql.push_str("BEGIN;");
            }
            self.client.batch_execute(&sql).map_err(db_error)?;
            self.lock = if self.lock == Lock::Free {
                Lock::Free
            } else {
                Lock::Held
            };
            self.begin_pending = false;
        }
        self.flush()
    }

    /// Sends a batch's kept writes ([`FLUSH`]). A failure fails the batch
    /// (its transaction is aborted), which is then rolled back whole.
    fn flush(&mut self) -> Result<(), ApiError> {
        if self.pending.is_empty() && self.pending_answers.is_empty() {
            return Ok(());
        }
        let pending = std::mem::take(&mut self.pending);
        let answers = std::mem::take(&mut self.pending_answers);
        let stmt = self.prepared(FLUSH)?;
        let mut sent = |rows: &[Pending], answers: &[(String, String)]| {
            let col = |f: &dyn Fn(&Pending) -> Option<String>| -> Vec<Option<String>> {
                rows.iter().map(f).collect()
            };
            let kinds = col(&|p| Some(p.kind.to_owned()));
            let ids = col(&|p| Some(p.id.clone()));
            let bodies = col(&|p| p.body.clone());
            let versions: Vec<i64> = rows.iter().map(|p| p.version).collect();
            let seqs: Vec<i64> = rows.iter().map(|p| p.seq).collect();
            let at = col(&|p| Some(p.audit.at.clone()));
            let actor = col(&|p| Some(p.audit.actor.clone()));
            let action = col(&|p| Some(p.audit.action.clone()));
            let object_kind = col(&|p| Some(p.audit.object_kind.clone()));
            let object_id = col(&|p| Some(p.audit.object_id.clone()));
            let before = col(&|p| p.audit.before.clone());
            let after = col(&|p| p.audit.after.clone());
            let prev = col(&|p| Some(p.prev_hash.clone()));
            let hash = col(&|p| Some(p.hash.clone()));
            let log_at = col(&|p| Some(p.at.clone()));
            let by = col(&|p| Some(p.by.clone()));
            let keys: Vec<&str> = answers.iter().map(|(k, _)| k.as_str()).collect();
            let texts: Vec<&str> = answers.iter().map(|(_, t)| t.as_str()).collect();
            self.client.execute(
                &stmt,
                &[
                    &kinds,
                    &ids,
                    &bodies,
                    &versions,
                    &seqs,
                    &at,
                    &actor,
                    &action,
                    &object_kind,
                    &object_id,
                    &before,
                    &after,
                    &prev,
                    &hash,
                    &log_at,
                    &by,
                    &keys,
                    &texts,
                ],
            )
        };
        let all: Vec<(String, String)> = pending
            .iter()
            .map(|p| p.answer.clone())
            .chain(answers)
            .collect();
        let written = if pending.iter().any(|p| p.body.is_none()) {
            // A deletion: one by one, in order (see FLUSH).
            pending
                .chunks(1)
                .try_for_each(|row| sent(row, &[]).map(|_| ()))
                .and_then(|()| sent(&[], &all).map(|_| ()))
        } else {
            sent(&pending, &all).map(|_| ())
        };
        written.map_err(|e| {
            ApiError::new(
                ErrorCode::Internal,
                format!("{}: a batch's writes failed: {}", self.where_, why(&e)),
            )
        })
    }

    /// In a batch, the audit chain's head: read once (the batch holds the
    /// lock), then kept as the batch writes.
    fn batch_head(&mut self) -> Result<Option<(u64, String)>, ApiError> {
        if let Some(head) = &self.batch_head {
            return Ok(head.clone());
        }
        self.ready()?;
        let stmt = self.prepared("SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1")?;
        let head = self
            .client
            .query_opt(&stmt, &[])
            .map_err(db_error)?
            .map(|r| (seq(r.get(0)), r.get::<_, String>(1)));
        self.batch_head = Some(head.clone());
        Ok(head)
    }
}

/// Appends audit records to the chain inside `tx` (the write lock is held).
fn append_audit(tx: &mut PgTx<'_>, records: &[AuditRecord]) -> Result<(), ApiError> {
    if records.is_empty() {
        return Ok(());
    }
    let head = tx
        .query_opt(
            "SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1",
            &[],
        )
        .map_err(db_error)?;
    let head = head.map(|r| (seq(r.get(0)), r.get::<_, String>(1)));
    let mut newest = None;
    for c in chain(head, records) {
        let r = c.record;
        tx.execute(
            "INSERT INTO audit_log (seq, at, actor, action, object_kind, object_id, before, after, prev_hash, hash)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
            &[&int(c.seq), &r.at, &r.actor, &r.action, &r.object_kind, &r.object_id, &r.before, &r.after, &c.prev_hash, &c.hash],
        )
        .map_err(db_error)?;
        newest = Some((c.seq, c.hash.clone()));
    }
    // The head, so deleting the newest entries is seen: once per write.
    if let Some((at_seq, hash)) = newest {
        tx.execute(
            "INSERT INTO audit_head (id, seq, hash) VALUES (1, $1, $2)
             ON CONFLICT (id) DO UPDATE SET seq = excluded.seq, hash = excluded.hash",
            &[&int(at_seq), &hash],
        )
        .map_err(db_error)?;
    }
    Ok(())
}

fn append_log(
    tx: &mut PgTx<'_>,
    (kind, id, object): (&str, &str, Option<&str>),
    at: &str,
    by: &str,
) -> Result<(), ApiError> {
    tx.execute(
        "INSERT INTO sync_log (kind, id, version, object, at, by_user)
         VALUES ($1, $2, (SELECT coalesce(max(version), 0) + 1 FROM sync_log WHERE kind = $1 AND id = $2), $3, $4, $5)",
        &[&kind, &id, &object, &at, &by],
    )
    .map_err(db_error)?;
    Ok(())
}

impl ServerStore for PgStore {
    fn calendar(&mut self) -> Result<Option<Plan>, ApiError> {
        self.read(|client| {
            let Some(meta) = client
                .query_opt("SELECT meta FROM calendar WHERE id = 1", &[])
                .map_err(db_error)?
            else {
                return Ok(None);
            };
            let meta: String = meta.get(0);
            let mut doc: Value = serde_json::from_str(&meta).map_err(|e| {
                ApiError::new(ErrorCode::Internal, format!("the stored calendar: {e}"))
            })?;
            for kind in ObjectKind::ALL {
                let (kind, list) = (kind.noun(), kind.list());
                let rows = client
                    .query(
                        "SELECT body FROM objects WHERE kind = $1 ORDER BY pos",
                        &[&kind],
                    )
                    .map_err(db_error)?;
                let items: Result<Vec<Value>, _> = rows
                    .iter()
                    .map(|r| serde_json::from_str::<Value>(r.get::<_, &str>(0)))
                    .collect();
                doc[list] = Value::Array(items.map_err(|e| {
                    ApiError::new(ErrorCode::Internal, format!("a stored {kind}: {e}"))
                })?);
            }
            Ok(Some(relcal_domain::parse_plan_value(doc)?))
        })
    }

    fn replace_calendar(&mut self, plan: &Plan, audit: &[AuditRecord]) -> Result<(), ApiError> {
        let mut doc = plan.to_json();
        let mut tx = self.write()?;
        tx.execute("DELETE FROM objects", &[]).map_err(db_error)?;
        for kind in ObjectKind::ALL {
            let (kind, list) = (kind.noun(), kind.list());
            for item in doc[list].as_array().into_iter().flatten() {
                let id = item["id"].as_str().unwrap_or_default();
                tx.execute(
                    "INSERT INTO objects (kind, id, body) VALUES ($1, $2, $3)",
                    &[&kind, &id, &item.to_string()],
                )
                .map_err(db_error)?;
            }
        }
        if let Some(obj) = doc.as_object_mut() {
            for kind in ObjectKind::ALL {
                let list = kind.list();
                obj.remove(list);
            }
        }
        tx.execute(
            "INSERT INTO calendar (id, meta) VALUES (1, $1) ON CONFLICT (id) DO UPDATE SET meta = excluded.meta",
            &[&doc.to_string()],
        )
        .map_err(db_error)?;
        append_audit(&mut tx, audit)?;
        tx.commit().map_err(db_error)
    }

    fn token(&mut self, token_sha256: &str) -> Result<Option<TokenRecord>, ApiError> {
        // Every request signs in: prepared once.
        static BY_HASH: std::sync::LazyLock<String> =
            std::sync::LazyLock::new(|| format!("{TOKEN_SELECT} WHERE token_sha256 = $1"));
        self.ready()?;
        let stmt = self.prepared(BY_HASH.as_str())?;
        Ok(self
            .client
            .query_opt(&stmt, &[&token_sha256])
            .map_err(db_error)?
            .map(|r| token_record(&r)))
    }

    fn add_token(
        &mut self,
        token_sha256: &str,
        user: &str,
        role: &str,
        at: &str,
        expires_at: Option<&str>,
        audit: &[AuditRecord],
    ) -> Result<(), ApiError> {
        let mut tx = self.write()?;
        tx.execute(
            "INSERT INTO server_tokens (token_sha256, user_name, role, created_at, expires_at)
             VALUES ($1, $2, $3, $4, $5)",
            &[&token_sha256, &user, &role, &at, &expires_at],
        )
        .map_err(db_error)?;
        append_audit(&mut tx, audit)?;
        tx.commit().map_err(db_error)
    }

    fn tokens(&mut self) -> Result<Vec<TokenRecord>, ApiError> {
        self.read(|c| {
            Ok(c.query(
                &format!("{TOKEN_SELECT} ORDER BY created_at, token_sha256"),
                &[],
            )
            .map_err(db_error)?
            .iter()
            .map(token_record)
            .collect())
        })
    }

    fn revoke_token(&mut self, id: &str, audit: &[AuditRecord]) -> Result<bool, ApiError> {
        let mut tx = self.write()?;
        let gone = tx
            .execute(
                "DELETE FROM server_tokens WHERE starts_with(token_sha256, $1)",
                &[&id],
            )
            .map_err(db_error)?;
        if gone == 0 {
            return Ok(false);
        }
        append_audit(&mut tx, audit)?;
        tx.commit().map_err(db_error)?;
        Ok(true)
    }

    fn touch_token(&mut self, token_sha256: &str, at: &str, since: &str) -> Result<(), ApiError> {
        self.read(|c| {
            c.execute(
                "UPDATE server_tokens SET last_used_at = $2
                 WHERE token_sha256 = $1 AND (last_used_at IS NULL OR last_used_at < $3)",
                &[&token_sha256, &at, &since],
            )
            .map_err(db_error)?;
            Ok(())
        })
    }

    fn calendar_version(&mut self) -> Result<u64, ApiError> {
        if self.batch {
            // Under the lock only this batch moves it.
            return Ok(self.batch_head()?.map_or(0, |(at, _)| at));
        }
        self.ready()?;
        let stmt = self.prepared("SELECT COALESCE(MAX(seq), 0) FROM audit_log")?;
        let n: i64 = self.client.query_one(&stmt, &[]).map_err(db_error)?.get(0);
        Ok(seq(n))
    }
    fn log_started(&mut self) -> Result<bool, ApiError> {
        if !self.log_started {
            self.log_started = self.read(|c| {
                c.query_one("SELECT EXISTS (SELECT 1 FROM sync_log)", &[])
                    .map_err(db_error)
                    .map(|r| r.get(0))
            })?;
        }
        Ok(self.log_started)
    }

    fn append_log(
        &mut self,
        entries: &[(String, String, Option<String>)],
        at: &str,
        by: &str,
    ) -> Result<(), ApiError> {
        let mut tx = self.write()?;
        for (kind, id, object) in entries {
            append_log(&mut tx, (kind, id, object.as_deref()), at, by)?;
        }
        tx.commit().map_err(db_error)
    }

    fn log_after(&mut self, since: u64, limit: usize) -> Result<Vec<SyncRow>, ApiError> {
        self.read(|c| {
            let rows = c
                .query(
                    "SELECT seq, kind, id, version, object, by_user FROM sync_log WHERE seq > $1 ORDER BY seq LIMIT $2",
                    &[&int(since), &i64::try_from(limit).unwrap_or(i64::MAX)],
                )
                .map_err(db_error)?;
            Ok(rows
                .iter()
                .map(|r| SyncRow {
                    seq: seq(r.get(0)),
                    kind: r.get(1),
                    id: r.get(2),
                    version: seq(r.get(3)),
                    object: r.get(4),
                    by: r.get(5),
                })
                .collect())
        })
    }

    fn current(&mut self, kind: &str, id: &str) -> Result<(u64, Option<String>), ApiError> {
        self.ready()?;
        let stmt = self.prepared(
            "SELECT version, object FROM sync_log WHERE kind = $1 AND id = $2 ORDER BY version DESC LIMIT 1",
        )?;
        Ok(self
            .client
            .query_opt(&stmt, &[&kind, &id])
            .map_err(db_error)?
            .map_or((0, None), |r| (seq(r.get(0)), r.get(1))))
    }

    fn at_version(
        &mut self,
        kind: &str,
        id: &str,
        version: u64,
    ) -> Result<Option<String>, ApiError> {
        self.read(|c| {
            Ok(c.query_opt(
                "SELECT object FROM sync_log WHERE kind = $1 AND id = $2 AND version = $3",
                &[&kind, &id, &int(version)],
            )
            .map_err(db_error)?
            .and_then(|r| r.get(0)))
        })
    }

    fn answer(&mut self, key: &str) -> Result<Option<String>, ApiError> {
        self.ready()?;
        let stmt = self.prepared("SELECT result FROM sync_mutations WHERE mutation_id = $1")?;
        Ok(self
            .client
            .query_opt(&stmt, &[&key])
            .map_err(db_error)?
            .map(|r| r.get(0)))
    }

    fn currents(
        &mut self,
        objects: &[(&str, &str)],
    ) -> Result<relcal_server_core::Currents, ApiError> {
        self.ready()?;
        let stmt = self.prepared(
            // Each object's newest entry through the (kind, id, version)
            // index: a join would scan the whole log, which only grows.
            "SELECT o.kind, o.id, l.version, l.object
             FROM unnest($1::text[], $2::text[]) AS o (kind, id)
             CROSS JOIN LATERAL (
                 SELECT version, object FROM sync_log
                 WHERE kind = o.kind AND id = o.id ORDER BY version DESC LIMIT 1
             ) AS l",
        )?;
        let kinds: Vec<&str> = objects.iter().map(|(k, _)| *k).collect();
        let ids: Vec<&str> = objects.iter().map(|(_, i)| *i).collect();
        let mut found: relcal_server_core::Currents = self
            .client
            .query(&stmt, &[&kinds, &ids])
            .map_err(db_error)?
            .into_iter()
            .map(|r| ((r.get(0), r.get(1)), (seq(r.get(2)), r.get(3))))
            .collect();
        // An object never logged: version 0, no copy.
        for (kind, id) in objects {
            found
                .entry(((*kind).to_owned(), (*id).to_owned()))
                .or_insert((0, None));
        }
        Ok(found)
    }

    fn answers(
        &mut self,
        keys: &[&str],
    ) -> Result<std::collections::HashMap<String, String>, ApiError> {
        self.ready()?;
        let stmt = self.prepared(
            "SELECT mutation_id, result FROM sync_mutations WHERE mutation_id = ANY($1)",
        )?;
        let keys: Vec<&str> = keys.to_vec();
        Ok(self
            .client
            .query(&stmt, &[&keys])
            .map_err(db_error)?
            .into_iter()
            .map(|r| (r.get(0), r.get(1)))
            .collect())
    }

    fn record_answer(&mut self, key: &str, answer: &str) -> Result<(), ApiError> {
        if self.batch {
            self.pending_answers
                .push((key.to_owned(), answer.to_owned()));
            return Ok(());
        }
        self.ready()?;
        let stmt = self.prepared(
            "INSERT INTO sync_mutations (mutation_id, result) VALUES ($1, $2) ON CONFLICT DO NOTHING",
        )?;
        self.client
            .execute(&stmt, &[&key, &answer])
            .map_err(db_error)?;
        Ok(())
    }

    fn verify_audit(&mut self) -> Result<Result<u64, relcal_domain::ChainBreak>, ApiError> {
        self.ready()?;
        // One snapshot: the entries and the head as of the same instant.
        let mut tx = self
            .client
            .build_transaction()
            .isolation_level(postgres::IsolationLevel::RepeatableRead)
            .start()
            .map_err(db_error)?;
        let entries = tx
            .query(
                "SELECT seq, at, actor, action, object_kind, object_id, before, after, prev_hash, hash
                 FROM audit_log ORDER BY seq",
                &[],
            )
            .map_err(db_error)?
            .into_iter()
            .map(|r| relcal_domain::AuditEntry {
                seq: seq(r.get(0)),
                at: r.get(1),
                actor: r.get(2),
                action: r.get(3),
                object_kind: r.get(4),
                object_id: r.get(5),
                before: r.get(6),
                after: r.get(7),
                prev_hash: r.get(8),
                hash: r.get(9),
            })
            .collect::<Vec<_>>();
        let head = tx
            .query_opt("SELECT seq, hash FROM audit_head WHERE id = 1", &[])
            .map_err(db_error)?
            .map(|r| (seq(r.get(0)), r.get::<_, String>(1)));
        tx.commit().map_err(db_error)?;
        Ok(relcal_domain::verify_chain(
            &entries,
            head.as_ref().map(|(s, h)| (*s, h.as_str())),
        ))
    }
    fn anchor_head(
        &mut self,
        client: &str,
        (at_seq, hash): (u64, &str),
        user: &str,
        at: &str,
    ) -> Result<(), ApiError> {
        self.ready()?;
        self.client
            .execute(
                "INSERT INTO client_audit_heads (client_id, seq, hash, at, by_user) VALUES ($1, $2, $3, $4, $5)
                 ON CONFLICT (client_id, seq) DO NOTHING",
                &[&client, &int(at_seq), &hash, &at, &user],
            )
            .map_err(db_error)?;
        Ok(())
    }
    fn anchored_heads(&mut self, client: &str) -> Result<Vec<AnchoredHead>, ApiError> {
        self.ready()?;
        Ok(self
            .client
            .query(
                "SELECT seq, hash, at, by_user FROM client_audit_heads WHERE client_id = $1 ORDER BY seq",
                &[&client],
            )
            .map_err(db_error)?
            .into_iter()
            .map(|r| AnchoredHead {
                seq: seq(r.get(0)),
                hash: r.get(1),
                at: r.get(2),
                by: r.get(3),
            })
            .collect())
    }
    fn lock_writes(&mut self) -> Result<(), ApiError> {
        // Taken with the next statement, before it (`ready`).
        if self.lock == Lock::Free {
            self.lock = Lock::Wanted;
        }
        Ok(())
    }
    fn begin_batch(&mut self) -> Result<bool, ApiError> {
        if !self.batch {
            // Sent with the next statement (`ready`).
            self.begin_pending = true;
            self.batch = true;
            self.batch_head = None;
        }
        Ok(true)
    }
    fn commit_batch(&mut self) -> Result<(), ApiError> {
        if !self.batch {
            return Ok(());
        }
        if self.begin_pending && self.pending.is_empty() && self.pending_answers.is_empty() {
            // Nothing was read or written.
            self.begin_pending = false;
            self.batch = false;
            return Ok(());
        }
        // `BEGIN` (if still to be sent) and the kept writes.
        self.ready()?;
        // The commit releases the lock too, in the same round trip; when it
        // fails the rest is not run, and the lock stays for what follows.
        let sql = if self.lock == Lock::Held {
            "COMMIT; SELECT pg_advisory_unlock_all()"
        } else {
            "COMMIT"
        };
        self.client.batch_execute(sql).map_err(db_error)?;
        self.lock = Lock::Free;
        self.batch = false;
        self.batch_head = None;
        Ok(())
    }
    fn rollback_batch(&mut self) {
        if self.batch {
            self.pending.clear();
            self.pending_answers.clear();
            if !self.begin_pending {
                // Nothing left to undo if it fails: the transaction is gone.
                let _ = self.client.batch_execute("ROLLBACK");
            }
            self.begin_pending = false;
            self.batch = false;
            self.batch_head = None;
        }
    }
    fn unlock_writes(&mut self) -> Result<(), ApiError> {
        let held = self.lock == Lock::Held;
        self.lock = Lock::Free;
        if !held || self.client.is_closed() {
            return Ok(());
        }
        // All of this session's: a batch that failed half-way leaves none.
        self.client
            .execute("SELECT pg_advisory_unlock_all()", &[])
            .map_err(db_error)?;
        Ok(())
    }
    fn write_change(&mut self, c: ChangeWrite<'_>) -> Result<(), ApiError> {
        let kind = c.kind.noun();
        if self.batch {
            return self.batch_write(&c);
        }
        let mut tx = self.write()?;
        match c.object {
            Some(body) => tx.execute(
                "INSERT INTO objects (kind, id, body) VALUES ($1, $2, $3)
                 ON CONFLICT (kind, id) DO UPDATE SET body = excluded.body",
                &[&kind, &c.id, &body],
            ),
            None => tx.execute(
                "DELETE FROM objects WHERE kind = $1 AND id = $2",
                &[&kind, &c.id],
            ),
        }
        .map_err(db_error)?;
        append_audit(&mut tx, std::slice::from_ref(c.audit))?;
        append_log(&mut tx, (kind, c.id, c.object), c.at, c.by)?;
        tx.execute(
            "INSERT INTO sync_mutations (mutation_id, result) VALUES ($1, $2) ON CONFLICT DO NOTHING",
            &[&c.answer.0, &c.answer.1],
        )
        .map_err(db_error)?;
        tx.commit().map_err(db_error)
    }

    fn describe(&self) -> String {
        self.where_.clone()
    }

    fn exception_requests(&mut self) -> Result<Vec<ExceptionRequest>, ApiError> {
        self.read(|c| {
            Ok(c.query(
                &format!(
                    "SELECT {REQUEST_COLUMNS} FROM exception_requests ORDER BY requested_at DESC, id LIMIT $1"
                ),
                &[&int(relcal_protocol::MAX_REQUESTS_LISTED as u64)],
            )
            .map_err(db_error)?
            .iter()
            .map(request_row)
            .collect())
        })
    }

    fn exception_request(&mut self, id: &str) -> Result<Option<ExceptionRequest>, ApiError> {
        self.read(|c| {
            Ok(c.query_opt(
                &format!("SELECT {REQUEST_COLUMNS} FROM exception_requests WHERE id = $1"),
                &[&id],
            )
            .map_err(db_error)?
            .as_ref()
            .map(request_row))
        })
    }

    fn exception_requests_for(
        &mut self,
        release: &str,
        freeze: &str,
    ) -> Result<Vec<ExceptionRequest>, ApiError> {
        self.read(|c| {
            Ok(c.query(
                &format!(
                    "SELECT {REQUEST_COLUMNS} FROM exception_requests
                     WHERE release_id = $1 AND freeze_id = $2 ORDER BY requested_at DESC, id"
                ),
                &[&release, &freeze],
            )
            .map_err(db_error)?
            .iter()
            .map(request_row)
            .collect())
        })
    }

    fn put_exception_request(
        &mut self,
        r: &ExceptionRequest,
        audit: &AuditRecord,
    ) -> Result<(), ApiError> {
        let mut tx = self.write()?;
        tx.execute(
            "INSERT INTO exception_requests
               (id, release_id, freeze_id, reason, expires, requested_by, requested_at, state, decided_by, decided_at, note)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)
             ON CONFLICT (id) DO UPDATE SET
               release_id = excluded.release_id, freeze_id = excluded.freeze_id, reason = excluded.reason,
               expires = excluded.expires, requested_by = excluded.requested_by,
               requested_at = excluded.requested_at, state = excluded.state,
               decided_by = excluded.decided_by, decided_at = excluded.decided_at,
               note = excluded.note",
            &[
                &r.id,
                &r.release,
                &r.freeze,
                &r.reason,
                &r.expires,
                &r.requested_by,
                &r.requested_at,
                &r.state.as_str(),
                &r.decided_by,
                &r.decided_at,
                &r.note,
            ],
        )
        .map_err(db_error)?;
        append_audit(&mut tx, std::slice::from_ref(audit))?;
        tx.commit().map_err(db_error)
    }
}

impl PgStore {
    /// A mutation's write inside the batch, chained on the head this batch
    /// last wrote: kept, and sent with the others ([`PgStore::flush`]).
    fn batch_write(&mut self, c: &ChangeWrite<'_>) -> Result<(), ApiError> {
        let head = self.batch_head()?;
        let records = std::slice::from_ref(c.audit);
        let chained = chain(head, records);
        let Some(link) = chained.first() else {
            return Ok(());
        };
        self.pending.push(Pending {
            kind: c.kind.noun(),
            id: c.id.to_owned(),
            body: c.object.map(str::to_owned),
            version: int(c.version),
            seq: int(link.seq),
            audit: link.record.clone(),
            prev_hash: link.prev_hash.clone(),
            hash: link.hash.clone(),
            at: c.at.to_owned(),
            by: c.by.to_owned(),
            answer: (c.answer.0.to_owned(), c.answer.1.to_owned()),
        });
        self.batch_head = Some(Some((link.seq, link.hash.clone())));
        Ok(())
    }

    /// Runs a read on the connection (made again first if it was lost).
    fn read<T>(
        &mut self,
        f: impl FnOnce(&mut Client) -> Result<T, ApiError>,
    ) -> Result<T, ApiError> {
        self.ready()?;
        f(&mut self.client)
    }
}
