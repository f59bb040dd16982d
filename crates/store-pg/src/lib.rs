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
//! mutations holds it as a session lock and is one transaction, each write
//! a savepoint of it (`PgTx`).

#![deny(missing_docs)]

use postgres::{Client, NoTls, Transaction};
use relcal_domain::{chain, AuditRecord, ObjectKind, Plan};
use relcal_protocol::{ApiError, ErrorCode};
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
    ApiError::new(code, format!("PostgreSQL: {e}"))
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
}

/// A mutation's whole write in a batch, one statement: the object put or
/// deleted, its audit entry and the chain's head, its change-log entry and
/// its answer. One statement is all or nothing, so it needs no savepoint.
const BATCH_WRITE: &str = "WITH put AS (
    INSERT INTO objects (kind, id, body) SELECT $1, $2, $3 WHERE $3::text IS NOT NULL
    ON CONFLICT (kind, id) DO UPDATE SET body = excluded.body RETURNING 1
), gone AS (
    DELETE FROM objects WHERE $3::text IS NULL AND kind = $1 AND id = $2 RETURNING 1
), audit AS (
    INSERT INTO audit_log (seq, at, actor, action, object_kind, object_id, before, after, prev_hash, hash)
    VALUES ($4, $5, $6, $7, $8, $9, $10, $11, $12, $13) RETURNING 1
), head AS (
    INSERT INTO audit_head (id, seq, hash) VALUES (1, $4, $13)
    ON CONFLICT (id) DO UPDATE SET seq = excluded.seq, hash = excluded.hash RETURNING 1
), log AS (
    INSERT INTO sync_log (kind, id, version, object, at, by_user)
    VALUES ($1, $2, (SELECT coalesce(max(version), 0) + 1 FROM sync_log WHERE kind = $1 AND id = $2), $3, $14, $15)
    RETURNING 1
), answer AS (
    INSERT INTO sync_mutations (mutation_id, result) VALUES ($16, $17) ON CONFLICT DO NOTHING RETURNING 1
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
        if self.batch {
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
        self.reconnect_if_closed()?;
        let mut tx = self.client.transaction().map_err(db_error)?;
        tx.execute("SELECT pg_advisory_xact_lock($1)", &[&WRITE_LOCK])
            .map_err(db_error)?;
        Ok(PgTx::Own(tx))
    }

    fn reconnect_if_closed(&mut self) -> Result<(), ApiError> {
        if self.client.is_closed() && !self.batch {
            *self = Self::connect(&self.url.clone())?;
        }
        Ok(())
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
        self.reconnect_if_closed()?;
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
        self.reconnect_if_closed()?;
        let stmt = self.prepared("SELECT COALESCE(MAX(seq), 0) FROM audit_log")?;
        let n: i64 = self.client.query_one(&stmt, &[]).map_err(db_error)?.get(0);
        Ok(seq(n))
    }
    fn log_len(&mut self) -> Result<u64, ApiError> {
        self.read(|c| {
            let n: i64 = c
                .query_one("SELECT count(*) FROM sync_log", &[])
                .map_err(db_error)?
                .get(0);
            Ok(seq(n))
        })
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
        self.reconnect_if_closed()?;
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
        self.reconnect_if_closed()?;
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
        self.reconnect_if_closed()?;
        let stmt = self.prepared(
            "SELECT DISTINCT ON (l.kind, l.id) l.kind, l.id, l.version, l.object
             FROM sync_log l JOIN unnest($1::text[], $2::text[]) AS o (kind, id)
               ON l.kind = o.kind AND l.id = o.id
             ORDER BY l.kind, l.id, l.version DESC",
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
        self.reconnect_if_closed()?;
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
        self.reconnect_if_closed()?;
        let stmt = self.prepared(
            "INSERT INTO sync_mutations (mutation_id, result) VALUES ($1, $2) ON CONFLICT DO NOTHING",
        )?;
        self.client
            .execute(&stmt, &[&key, &answer])
            .map_err(db_error)?;
        Ok(())
    }

    fn verify_audit(&mut self) -> Result<Result<u64, relcal_domain::ChainBreak>, ApiError> {
        self.reconnect_if_closed()?;
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
        self.reconnect_if_closed()?;
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
        self.reconnect_if_closed()?;
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
        self.reconnect_if_closed()?;
        // A session lock, the same key every write transaction takes: held
        // across the batch's reads and writes, and dropped by PostgreSQL if
        // this connection dies.
        self.client
            .execute("SELECT pg_advisory_lock($1)", &[&WRITE_LOCK])
            .map_err(db_error)?;
        Ok(())
    }
    fn begin_batch(&mut self) -> Result<bool, ApiError> {
        if !self.batch {
            self.client.batch_execute("BEGIN").map_err(db_error)?;
            self.batch = true;
            self.batch_head = None;
        }
        Ok(true)
    }
    fn commit_batch(&mut self) -> Result<(), ApiError> {
        if self.batch {
            self.batch_head = None;
            self.client.batch_execute("COMMIT").map_err(db_error)?;
            self.batch = false;
        }
        Ok(())
    }
    fn rollback_batch(&mut self) {
        if self.batch {
            // Nothing left to undo if it fails: the transaction is gone.
            let _ = self.client.batch_execute("ROLLBACK");
            self.batch = false;
            self.batch_head = None;
        }
    }
    fn unlock_writes(&mut self) -> Result<(), ApiError> {
        if self.client.is_closed() {
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
}

impl PgStore {
    /// A mutation's write inside the batch: [`BATCH_WRITE`], chained on the
    /// head this batch last wrote. Any failure fails the batch (a statement
    /// that fails aborts PostgreSQL's transaction), which is then rolled
    /// back whole.
    fn batch_write(&mut self, c: &ChangeWrite<'_>) -> Result<(), ApiError> {
        let head = match self.batch_head.take() {
            Some(head) => head,
            None => {
                let stmt =
                    self.prepared("SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1")?;
                self.client
                    .query_opt(&stmt, &[])
                    .map_err(db_error)?
                    .map(|r| (seq(r.get(0)), r.get::<_, String>(1)))
            }
        };
        let records = std::slice::from_ref(c.audit);
        let chained = chain(head, records);
        let Some(link) = chained.first() else {
            return Ok(());
        };
        let r = link.record;
        let stmt = self.prepared(BATCH_WRITE)?;
        let written = self.client.execute(
            &stmt,
            &[
                &c.kind.noun(),
                &c.id,
                &c.object,
                &int(link.seq),
                &r.at,
                &r.actor,
                &r.action,
                &r.object_kind,
                &r.object_id,
                &r.before,
                &r.after,
                &link.prev_hash,
                &link.hash,
                &c.at,
                &c.by,
                &c.answer.0,
                &c.answer.1,
            ],
        );
        if let Err(e) = written {
            // The transaction is aborted: nothing more can be written in it.
            return Err(ApiError::new(
                ErrorCode::Internal,
                format!("{}: a batch's write failed: {}", self.where_, why(&e)),
            ));
        }
        self.batch_head = Some(Some((link.seq, link.hash.clone())));
        Ok(())
    }

    /// Runs a read on the connection (made again first if it was lost).
    fn read<T>(
        &mut self,
        f: impl FnOnce(&mut Client) -> Result<T, ApiError>,
    ) -> Result<T, ApiError> {
        self.reconnect_if_closed()?;
        f(&mut self.client)
    }
}
