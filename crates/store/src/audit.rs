//! The audit trail: an append-only, hash-chained table written in the same
//! transaction as the change it records.

use crate::{Store, StoreError};
use relcal_domain::{chain, verify_chain, AuditEntry, AuditRecord, ChainBreak};
use rusqlite::{params, OptionalExtension};

/// Appends `records` to the chain inside `tx`.
pub(crate) fn append(tx: &rusqlite::Connection, records: &[AuditRecord]) -> Result<(), StoreError> {
    if records.is_empty() {
        return Ok(());
    }
    let head: Option<(u64, String)> = tx
        .prepare_cached("SELECT seq, hash FROM audit_head WHERE id = 1")?
        .query_row([], |r| Ok((r.get(0)?, r.get(1)?)))
        .optional()?;
    let chained = chain(head, records);
    let mut insert = tx.prepare_cached(
        "INSERT INTO audit_log (seq, at, actor, action, object_kind, object_id, before, after, prev_hash, hash)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
    )?;
    for c in &chained {
        let r = c.record;
        insert.execute(params![
            c.seq,
            r.at,
            r.actor,
            r.action,
            r.object_kind,
            r.object_id,
            r.before,
            r.after,
            c.prev_hash,
            c.hash
        ])?;
    }
    let Some(last) = chained.last() else {
        return Ok(());
    };
    let (seq, prev) = (last.seq, &last.hash);
    tx.prepare_cached(
        "INSERT INTO audit_head (id, seq, hash) VALUES (1, ?1, ?2)
         ON CONFLICT (id) DO UPDATE SET seq = excluded.seq, hash = excluded.hash",
    )?
    .execute(params![seq, prev])?;
    Ok(())
}

impl Store {
    /// Audit entries, oldest first: all of them, or those about one object
    /// (`kind`, `id`).
    pub fn audit_entries(
        &self,
        object: Option<(&str, &str)>,
    ) -> Result<Vec<AuditEntry>, StoreError> {
        // Two statements: with `?1 IS NULL OR ...` SQLite scans the whole
        // log even for one object, which `audit_by_object` serves.
        const COLUMNS: &str = "SELECT seq, at, actor, action, object_kind, object_id, before, after, prev_hash, hash FROM audit_log";
        let row = |r: &rusqlite::Row<'_>| {
            Ok(AuditEntry {
                seq: r.get(0)?,
                at: r.get(1)?,
                actor: r.get(2)?,
                action: r.get(3)?,
                object_kind: r.get(4)?,
                object_id: r.get(5)?,
                before: r.get(6)?,
                after: r.get(7)?,
                prev_hash: r.get(8)?,
                hash: r.get(9)?,
            })
        };
        Ok(match object {
            Some((kind, id)) => self
                .conn
                .prepare_cached(&format!(
                    "{COLUMNS} WHERE object_kind = ?1 AND object_id = ?2 ORDER BY seq"
                ))?
                .query_map(params![kind, id], row)?
                .collect::<Result<_, _>>()?,
            None => self
                .conn
                .prepare_cached(&format!("{COLUMNS} ORDER BY seq"))?
                .query_map([], row)?
                .collect::<Result<_, _>>()?,
        })
    }

    /// Checks the whole chain against its head: the number of entries, or
    /// The number of the audit trail's last entry (0 when it is empty).
    /// Every change to the calendar appends an entry in its own
    /// transaction, so this is the calendar's version, whichever connection
    /// or process wrote.
    pub fn audit_seq(&self) -> Result<u64, StoreError> {
        Ok(self
            .conn
            .prepare_cached("SELECT seq FROM audit_head WHERE id = 1")?
            .query_row([], |r| r.get(0))
            .optional()?
            .unwrap_or(0))
    }

    /// The objects (kind, id) that entries after `seq` changed, in order,
    /// each once; `None` when there are more than `limit` entries.
    pub fn changed_since(
        &self,
        seq: u64,
        limit: usize,
    ) -> Result<Option<Vec<(String, String)>>, StoreError> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT object_kind, object_id FROM audit_log WHERE seq > ?1 ORDER BY seq LIMIT ?2",
        )?;
        let fetch = i64::try_from(limit).unwrap_or(i64::MAX).saturating_add(1);
        let rows = stmt
            .query_map(params![seq, fetch], |r| Ok((r.get(0)?, r.get(1)?)))?
            .collect::<Result<Vec<(String, String)>, _>>()?;
        if rows.len() > limit {
            return Ok(None);
        }
        let mut seen = std::collections::HashSet::new();
        Ok(Some(
            rows.into_iter()
                .filter(|o| seen.insert(o.clone()))
                .collect(),
        ))
    }

    /// the first break.
    pub fn verify_audit(&self) -> Result<Result<u64, ChainBreak>, StoreError> {
        let tx = self.read_view()?;
        let entries = self.audit_entries(None)?;
        let head: Option<(u64, String)> = tx
            .prepare_cached("SELECT seq, hash FROM audit_head WHERE id = 1")?
            .query_row([], |r| Ok((r.get(0)?, r.get(1)?)))
            .optional()?;
        tx.finish()?;
        Ok(verify_chain(
            &entries,
            head.as_ref().map(|(s, h)| (*s, h.as_str())),
        ))
    }
}

impl Store {
    /// Keeps a desktop's chain head (the first hash for a `seq` stays).
    pub fn add_anchored_head(
        &mut self,
        client: &str,
        seq: u64,
        hash: &str,
        by: &str,
        at: &str,
    ) -> Result<(), StoreError> {
        self.conn.prepare_cached("INSERT INTO client_audit_heads (client_id, seq, hash, at, by) VALUES (?1, ?2, ?3, ?4, ?5)
             ON CONFLICT (client_id, seq) DO NOTHING")?.execute(params![client, seq, hash, at, by],
        )?;
        Ok(())
    }

    /// The heads kept for `client`, oldest first.
    pub fn anchored_heads_of(
        &self,
        client: &str,
    ) -> Result<Vec<relcal_server_core::AnchoredHead>, StoreError> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT seq, hash, at, by FROM client_audit_heads WHERE client_id = ?1 ORDER BY seq",
        )?;
        let rows = stmt.query_map([client], |r| {
            Ok(relcal_server_core::AnchoredHead {
                seq: r.get(0)?,
                hash: r.get(1)?,
                at: r.get(2)?,
                by: r.get(3)?,
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }
}
