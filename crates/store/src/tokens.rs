//! The release API server's tokens, each stored only as its SHA-256 with
//! its user and role (`relcal_server_core::create_token` makes them).

use crate::audit::append;
use crate::{AuditRecord, Store, StoreError};
use relcal_server_core::{TokenRecord, TOKEN_ID_LEN};
use rusqlite::{params, OptionalExtension};

const SELECT: &str =
    "SELECT token_sha256, user_name, role, created_at, expires_at, last_used_at FROM server_tokens";

fn record(r: &rusqlite::Row<'_>) -> rusqlite::Result<TokenRecord> {
    let sha: String = r.get(0)?;
    Ok(TokenRecord {
        id: sha.chars().take(TOKEN_ID_LEN).collect(),
        user: r.get(1)?,
        role: r.get(2)?,
        created_at: r.get(3)?,
        expires_at: r.get(4)?,
        last_used_at: r.get(5)?,
    })
}

impl Store {
    /// Adds a server token (its hash) for `user` with `role`, until
    /// `expires_at` if given.
    pub fn add_server_token(
        &mut self,
        token_sha256: &str,
        user: &str,
        role: &str,
        created_at: &str,
        expires_at: Option<&str>,
        audit: &[AuditRecord],
    ) -> Result<(), StoreError> {
        let tx = self.write_transaction()?;
        tx.prepare_cached(
            "INSERT INTO server_tokens (token_sha256, user_name, role, created_at, expires_at)
             VALUES (?1, ?2, ?3, ?4, ?5)",
        )?
        .execute(params![token_sha256, user, role, created_at, expires_at])?;
        append(&tx, audit)?;
        tx.commit()?;
        Ok(())
    }

    /// The token with this hash.
    pub fn server_token(&self, token_sha256: &str) -> Result<Option<TokenRecord>, StoreError> {
        Ok(self
            .conn
            .query_row(
                &format!("{SELECT} WHERE token_sha256 = ?1"),
                [token_sha256],
                record,
            )
            .optional()?)
    }

    /// Every server token, oldest first.
    pub fn server_tokens(&self) -> Result<Vec<TokenRecord>, StoreError> {
        let mut stmt = self
            .conn
            .prepare(&format!("{SELECT} ORDER BY created_at, token_sha256"))?;
        let rows = stmt.query_map([], record)?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Removes the token whose hash starts with `id`, with its audit entry;
    /// `false` when there is none (nothing written).
    pub fn revoke_server_token(
        &mut self,
        id: &str,
        audit: &[AuditRecord],
    ) -> Result<bool, StoreError> {
        let tx = self.write_transaction()?;
        let gone = tx
            .prepare_cached("DELETE FROM server_tokens WHERE substr(token_sha256, 1, ?2) = ?1")?
            .execute(params![id, i64::try_from(id.len()).unwrap_or(i64::MAX)])?;
        if gone == 0 {
            return Ok(false);
        }
        append(&tx, audit)?;
        tx.commit()?;
        Ok(true)
    }

    /// Notes a request with the token at `at`, unless one was noted since `since`.
    pub fn touch_server_token(
        &mut self,
        token_sha256: &str,
        at: &str,
        since: &str,
    ) -> Result<(), StoreError> {
        // Most requests find it fresh: a read, which never waits for the
        // writer (an UPDATE would take the write lock even to change nothing).
        let stale = self
            .conn
            .prepare_cached(
                "SELECT 1 FROM server_tokens
                 WHERE token_sha256 = ?1 AND (last_used_at IS NULL OR last_used_at < ?2)",
            )?
            .query_row(params![token_sha256, since], |_| Ok(()))
            .optional()?
            .is_some();
        if !stale {
            return Ok(());
        }
        // A hint, kept at most once a minute: when a batch holds the write
        // lock it is left for a later request, never waited for.
        self.conn.busy_timeout(std::time::Duration::ZERO)?;
        let touched = self
            .conn
            .prepare_cached(
                "UPDATE server_tokens SET last_used_at = ?2
             WHERE token_sha256 = ?1 AND (last_used_at IS NULL OR last_used_at < ?3)",
            )?
            .execute(params![token_sha256, at, since]);
        self.conn.busy_timeout(crate::BUSY_TIMEOUT)?;
        match touched {
            Err(rusqlite::Error::SqliteFailure(e, _))
                if e.code == rusqlite::ErrorCode::DatabaseBusy =>
            {
                Ok(())
            }
            other => other.map(|_| ()).map_err(Into::into),
        }
    }
}
