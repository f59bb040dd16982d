//! The release API server's tokens, each stored only as its SHA-256 with
//! its user and role (`relcal_server_core::create_token` makes them).

use crate::audit::append;
use crate::{AuditRecord, Store, StoreError};
use rusqlite::{params, OptionalExtension};

impl Store {
    /// Adds a server token (its hash) for `user` with `role`.
    pub fn add_server_token(
        &mut self,
        token_sha256: &str,
        user: &str,
        role: &str,
        created_at: &str,
        audit: &[AuditRecord],
    ) -> Result<(), StoreError> {
        let tx = self.write_transaction()?;
        tx.execute(
            "INSERT INTO server_tokens (token_sha256, user_name, role, created_at) VALUES (?1, ?2, ?3, ?4)",
            params![token_sha256, user, role, created_at],
        )?;
        append(&tx, audit)?;
        tx.commit()?;
        Ok(())
    }

    /// The user and role a token hash belongs to.
    pub fn server_token(&self, token_sha256: &str) -> Result<Option<(String, String)>, StoreError> {
        Ok(self
            .conn
            .query_row(
                "SELECT user_name, role FROM server_tokens WHERE token_sha256 = ?1",
                [token_sha256],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()?)
    }
}
