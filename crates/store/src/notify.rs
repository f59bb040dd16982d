//! What the notification scheduler remembers between runs.

use crate::{Store, StoreError};
use rusqlite::params;
use std::collections::HashSet;

impl Store {
    /// Which of `keys` were sent before.
    pub fn sent_notices(&self, keys: &[String]) -> Result<HashSet<String>, StoreError> {
        let mut stmt = self
            .conn
            .prepare_cached("SELECT 1 FROM notifications_sent WHERE key = ?1")?;
        let mut out = HashSet::new();
        for k in keys {
            if stmt.exists([k])? {
                out.insert(k.clone());
            }
        }
        Ok(out)
    }

    /// The error conflicts seen by the last run, or `None` before the first.
    pub fn known_conflicts(&self) -> Result<Option<HashSet<String>>, StoreError> {
        if self.setting("notify_checkpoint")?.is_none() {
            return Ok(None);
        }
        let mut stmt = self
            .conn
            .prepare_cached("SELECT key FROM known_conflicts")?;
        let keys = stmt.query_map([], |r| r.get(0))?;
        Ok(Some(keys.collect::<Result<_, _>>()?))
    }

    /// Records one run in one transaction: the notices sent, the checkpoint
    /// (the instant the run covered up to) and the error conflicts now known.
    /// `before`: the known conflicts as [`Store::known_conflicts`] read them
    /// for this run, so only the difference is written (a large calendar
    /// keeps tens of thousands); `None` rewrites them all.
    pub fn record_notify_run(
        &mut self,
        sent: &[String],
        sent_at: &str,
        checkpoint: &str,
        known_conflicts: &HashSet<String>,
        before: Option<&HashSet<String>>,
    ) -> Result<(), StoreError> {
        let tx = self.write_transaction()?;
        {
            let mut insert = tx.prepare_cached(
                "INSERT INTO notifications_sent (key, sent_at) VALUES (?1, ?2) ON CONFLICT (key) DO NOTHING",
            )?;
            for k in sent {
                insert.execute(params![k, sent_at])?;
            }
            let mut known = tx.prepare_cached(
                "INSERT INTO known_conflicts (key) VALUES (?1) ON CONFLICT (key) DO NOTHING",
            )?;
            match before {
                Some(before) => {
                    let mut gone =
                        tx.prepare_cached("DELETE FROM known_conflicts WHERE key = ?1")?;
                    for k in before.difference(known_conflicts) {
                        gone.execute([k])?;
                    }
                    for k in known_conflicts.difference(before) {
                        known.execute([k])?;
                    }
                }
                None => {
                    tx.prepare_cached("DELETE FROM known_conflicts")?
                        .execute([])?;
                    for k in known_conflicts {
                        known.execute([k])?;
                    }
                }
            }
            tx.prepare_cached(
                "INSERT INTO app_settings (key, value) VALUES ('notify_checkpoint', ?1)
                 ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            )?
            .execute([checkpoint])?;
        }
        tx.commit()?;
        Ok(())
    }
}
