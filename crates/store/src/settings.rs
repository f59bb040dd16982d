//! This database's settings (`app_settings`): the user name, checklist
//! templates, notification and adapter settings, each a text value by key.
//! A change is audited like any other.

use crate::audit::append;
use crate::{AuditRecord, Store, StoreError};
use rusqlite::{params, OptionalExtension};

impl Store {
    /// A setting of this database (`user_name`, ...), if set.
    pub fn setting(&self, key: &str) -> Result<Option<String>, StoreError> {
        Ok(self
            .conn
            .prepare_cached("SELECT value FROM app_settings WHERE key = ?1")?
            .query_row([key], |r| r.get(0))
            .optional()?)
    }

    /// Sets a setting, recording the change in the audit trail.
    pub fn set_setting(
        &mut self,
        key: &str,
        value: &str,
        audit: &[AuditRecord],
    ) -> Result<(), StoreError> {
        let tx = self.write_transaction()?;
        tx.prepare_cached(
            "INSERT INTO app_settings (key, value) VALUES (?1, ?2)
             ON CONFLICT (key) DO UPDATE SET value = excluded.value",
        )?
        .execute(params![key, value])?;
        append(&tx, audit)?;
        tx.commit()?;
        Ok(())
    }
}
