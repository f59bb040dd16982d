//! The server's change log and mutation answers.

use crate::{Store, StoreError};
use relcal_server_core::SyncRow;
use rusqlite::{params, OptionalExtension};

impl Store {
    /// How many changes the log holds.
    pub fn sync_log_len(&self) -> Result<u64, StoreError> {
        Ok(self
            .conn
            .prepare_cached("SELECT count(*) FROM sync_log")?
            .query_row([], |r| r.get(0))?)
    }

    /// Whether the log holds any change (without counting them).
    pub fn sync_log_started(&self) -> Result<bool, StoreError> {
        Ok(self
            .conn
            .prepare_cached("SELECT EXISTS (SELECT 1 FROM sync_log)")?
            .query_row([], |r| r.get(0))?)
    }

    /// Appends changes, each with its object's next version, in one transaction.
    pub fn append_sync_log(
        &mut self,
        entries: &[(String, String, Option<String>)],
        at: &str,
        by: &str,
    ) -> Result<(), StoreError> {
        let tx = self.write_transaction()?;
        {
            let mut insert = tx.prepare_cached(
                "INSERT INTO sync_log (kind, id, version, object, at, by)
                 VALUES (?1, ?2, (SELECT coalesce(max(version), 0) + 1 FROM sync_log WHERE kind = ?1 AND id = ?2), ?3, ?4, ?5)",
            )?;
            for (kind, id, object) in entries {
                insert.execute(params![kind, id, object, at, by])?;
            }
        }
        tx.commit()?;
        Ok(())
    }

    /// Up to `limit` changes after `since`, in order.
    pub fn sync_log_after(&self, since: u64, limit: usize) -> Result<Vec<SyncRow>, StoreError> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT seq, kind, id, version, object, by FROM sync_log WHERE seq > ?1 ORDER BY seq LIMIT ?2",
        )?;
        let rows = stmt.query_map(params![since, limit as i64], |r| {
            Ok(SyncRow {
                seq: r.get(0)?,
                kind: r.get(1)?,
                id: r.get(2)?,
                version: r.get(3)?,
                object: r.get(4)?,
                by: r.get(5)?,
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// An object's current version and copy (0 and `None` when unknown).
    pub fn sync_current(&self, kind: &str, id: &str) -> Result<(u64, Option<String>), StoreError> {
        Ok(self
            .conn
            .prepare_cached("SELECT version, object FROM sync_log WHERE kind = ?1 AND id = ?2 ORDER BY version DESC LIMIT 1")?.query_row(params![kind, id],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()?
            .unwrap_or((0, None)))
    }

    /// An object's copy at `version`, if the log has it.
    pub fn sync_version(
        &self,
        kind: &str,
        id: &str,
        version: u64,
    ) -> Result<Option<String>, StoreError> {
        Ok(self
            .conn
            .prepare_cached(
                "SELECT object FROM sync_log WHERE kind = ?1 AND id = ?2 AND version = ?3",
            )?
            .query_row(params![kind, id, version], |r| r.get(0))
            .optional()?
            .flatten())
    }

    /// The answer already given to a mutation id.
    pub fn sync_mutation_result(&self, mutation_id: &str) -> Result<Option<String>, StoreError> {
        Ok(self
            .conn
            .prepare_cached("SELECT result FROM sync_mutations WHERE mutation_id = ?1")?
            .query_row([mutation_id], |r| r.get(0))
            .optional()?)
    }

    /// Remembers the answer to a mutation id.
    pub fn record_sync_mutation(
        &mut self,
        mutation_id: &str,
        result: &str,
    ) -> Result<(), StoreError> {
        self.conn.prepare_cached("INSERT INTO sync_mutations (mutation_id, result) VALUES (?1, ?2) ON CONFLICT DO NOTHING")?.execute(params![mutation_id, result],
        )?;
        Ok(())
    }
}

/// A desktop's sync position.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyncClient {
    /// This desktop, in mutation ids.
    pub client_id: String,
    /// The server's base URL.
    pub server: String,
    /// The last change pulled.
    pub cursor: u64,
    /// The last audit entry pushed (or skipped).
    pub pushed_audit_seq: u64,
}

impl Store {
    /// This desktop's sync position, if it ever synced.
    pub fn sync_client(&self) -> Result<Option<SyncClient>, StoreError> {
        Ok(self
            .conn
            .prepare_cached(
                "SELECT client_id, server, cursor, pushed_audit_seq FROM sync_client WHERE id = 1",
            )?
            .query_row([], |r| {
                Ok(SyncClient {
                    client_id: r.get(0)?,
                    server: r.get(1)?,
                    cursor: r.get(2)?,
                    pushed_audit_seq: r.get(3)?,
                })
            })
            .optional()?)
    }

    /// Saves the sync position.
    pub fn set_sync_client(&mut self, c: &SyncClient) -> Result<(), StoreError> {
        self.conn.prepare_cached("INSERT INTO sync_client (id, client_id, server, cursor, pushed_audit_seq) VALUES (1, ?1, ?2, ?3, ?4)
             ON CONFLICT (id) DO UPDATE SET client_id = excluded.client_id, server = excluded.server,
               cursor = excluded.cursor, pushed_audit_seq = excluded.pushed_audit_seq")?.execute(params![c.client_id, c.server, c.cursor, c.pushed_audit_seq],
        )?;
        Ok(())
    }

    /// Every object the server has told this desktop of (kind, id), live or deleted.
    pub fn sync_known_objects(&self) -> Result<Vec<(String, String)>, StoreError> {
        let mut stmt = self
            .conn
            .prepare("SELECT kind, id FROM sync_known ORDER BY kind, id")?;
        let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// What this desktop knows of an object on the server: version and copy.
    pub fn sync_known(
        &self,
        kind: &str,
        id: &str,
    ) -> Result<Option<(u64, Option<String>)>, StoreError> {
        Ok(self
            .conn
            .prepare_cached("SELECT version, object FROM sync_known WHERE kind = ?1 AND id = ?2")?
            .query_row(params![kind, id], |r| Ok((r.get(0)?, r.get(1)?)))
            .optional()?)
    }

    /// Remembers an object's server version and copy.
    pub fn set_sync_known(
        &mut self,
        kind: &str,
        id: &str,
        version: u64,
        object: Option<&str>,
    ) -> Result<(), StoreError> {
        self.conn.prepare_cached("INSERT INTO sync_known (kind, id, version, object) VALUES (?1, ?2, ?3, ?4)
             ON CONFLICT (kind, id) DO UPDATE SET version = excluded.version, object = excluded.object")?.execute(params![kind, id, version, object],
        )?;
        Ok(())
    }

    /// Records a conflict (or a refusal) for a person to resolve.
    pub fn add_sync_conflict(
        &mut self,
        mutation_id: &str,
        kind: &str,
        id: &str,
        detail: &str,
    ) -> Result<(), StoreError> {
        self.conn
            .prepare_cached(
                "INSERT INTO sync_conflicts (mutation_id, kind, id, detail) VALUES (?1, ?2, ?3, ?4)
             ON CONFLICT (mutation_id) DO UPDATE SET detail = excluded.detail",
            )?
            .execute(params![mutation_id, kind, id, detail])?;
        Ok(())
    }

    /// Unresolved conflicts: (mutation id, kind, id, detail JSON).
    pub fn sync_conflicts(&self) -> Result<Vec<(String, String, String, String)>, StoreError> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT mutation_id, kind, id, detail FROM sync_conflicts ORDER BY mutation_id",
        )?;
        let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// The audit chain's head: its newest entry's number and hash.
    pub fn audit_head(&self) -> Result<Option<(u64, String)>, StoreError> {
        Ok(self
            .conn
            .prepare_cached("SELECT seq, hash FROM audit_head WHERE id = 1")?
            .query_row([], |r| Ok((r.get(0)?, r.get(1)?)))
            .optional()?)
    }

    /// The number of the newest audit entry (0 when none).
    pub fn audit_head_seq(&self) -> Result<u64, StoreError> {
        Ok(self
            .conn
            .prepare_cached("SELECT coalesce(max(seq), 0) FROM audit_log")?
            .query_row([], |r| r.get(0))?)
    }
}

impl Store {
    /// Resolves a sync conflict: forgets it and, when `keep_mine`, marks the
    /// object to be pushed on the next sync. One transaction.
    pub fn resolve_sync_conflict(
        &mut self,
        mutation_id: &str,
        keep_mine: bool,
    ) -> Result<Option<(String, String)>, StoreError> {
        let tx = self.write_transaction()?;
        let found: Option<(String, String)> = tx
            .prepare_cached("SELECT kind, id FROM sync_conflicts WHERE mutation_id = ?1")?
            .query_row([mutation_id], |r| Ok((r.get(0)?, r.get(1)?)))
            .optional()?;
        if let Some((kind, id)) = &found {
            tx.prepare_cached("DELETE FROM sync_conflicts WHERE mutation_id = ?1")?
                .execute([mutation_id])?;
            if keep_mine {
                tx.prepare_cached(
                    "INSERT INTO sync_pending (kind, id) VALUES (?1, ?2) ON CONFLICT DO NOTHING",
                )?
                .execute(params![kind, id])?;
            }
        }
        tx.commit()?;
        Ok(found)
    }

    /// Objects waiting to be pushed because a person kept their copy.
    pub fn sync_pending(&self) -> Result<Vec<(String, String)>, StoreError> {
        let mut stmt = self
            .conn
            .prepare("SELECT kind, id FROM sync_pending ORDER BY kind, id")?;
        let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Clears the pending mark of an object once pushed.
    pub fn clear_sync_pending(&mut self, kind: &str, id: &str) -> Result<(), StoreError> {
        self.conn
            .prepare_cached("DELETE FROM sync_pending WHERE kind = ?1 AND id = ?2")?
            .execute(params![kind, id])?;
        Ok(())
    }
}

/// The rest of a push not yet answered: sent again, exactly, before anything new.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyncInflight {
    /// The mutations (JSON text).
    pub batch: String,
    /// The last audit entry it covers.
    pub upto: u64,
}

/// How the last sync went.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SyncOutcome {
    /// The last sync that finished (RFC 3339).
    pub last_ok_at: Option<String>,
    /// The last try.
    pub last_try_at: Option<String>,
    /// Why the last try failed, when it did.
    pub last_error: Option<String>,
}

impl Store {
    /// The unanswered push, if any.
    pub fn sync_inflight(&self) -> Result<Option<SyncInflight>, StoreError> {
        Ok(self
            .conn
            .prepare_cached("SELECT batch, upto FROM sync_inflight WHERE id = 1")?
            .query_row([], |r| {
                Ok(SyncInflight {
                    batch: r.get(0)?,
                    upto: r.get(1)?,
                })
            })
            .optional()?)
    }

    /// Records a push before it is sent (`None`: it was answered).
    pub fn set_sync_inflight(&mut self, inflight: Option<&SyncInflight>) -> Result<(), StoreError> {
        match inflight {
            Some(i) => self
                .conn
                .prepare_cached(
                    "INSERT INTO sync_inflight (id, batch, upto) VALUES (1, ?1, ?2)
                 ON CONFLICT (id) DO UPDATE SET batch = excluded.batch, upto = excluded.upto",
                )?
                .execute(params![i.batch, i.upto])?,
            None => self
                .conn
                .prepare_cached("DELETE FROM sync_inflight")?
                .execute([])?,
        };
        Ok(())
    }

    /// How the last sync went.
    pub fn sync_outcome(&self) -> Result<SyncOutcome, StoreError> {
        Ok(self
            .conn
            .prepare_cached(
                "SELECT last_ok_at, last_try_at, last_error FROM sync_status WHERE id = 1",
            )?
            .query_row([], |r| {
                Ok(SyncOutcome {
                    last_ok_at: r.get(0)?,
                    last_try_at: r.get(1)?,
                    last_error: r.get(2)?,
                })
            })
            .optional()?
            .unwrap_or_default())
    }

    /// Records a try: `error` is `None` when it finished.
    pub fn record_sync_try(&mut self, at: &str, error: Option<&str>) -> Result<(), StoreError> {
        self.conn.prepare_cached("INSERT INTO sync_status (id, last_ok_at, last_try_at, last_error)
               VALUES (1, CASE WHEN ?2 IS NULL THEN ?1 END, ?1, ?2)
             ON CONFLICT (id) DO UPDATE SET
               last_ok_at = CASE WHEN excluded.last_error IS NULL THEN excluded.last_try_at ELSE last_ok_at END,
               last_try_at = excluded.last_try_at, last_error = excluded.last_error")?.execute(params![at, error],
        )?;
        Ok(())
    }

    /// How many local objects wait to be pushed: changed here since the last
    /// push (pulled changes aside), or kept by a person in a conflict.
    pub fn sync_pending_count(&self, since_audit_seq: u64) -> Result<u64, StoreError> {
        Ok(self
            .conn
            .prepare_cached(
                "SELECT count(*) FROM (
               SELECT object_kind, object_id FROM audit_log
                WHERE seq > ?1 AND action NOT LIKE '%.pulled'
                  AND object_kind IN ('team', 'service', 'environment', 'freeze', 'release')
               UNION SELECT kind, id FROM sync_pending)",
            )?
            .query_row([since_audit_seq], |r| r.get(0))?)
    }
}
