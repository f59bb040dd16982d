//! The release API server's storage in this SQLite file: the server-side
//! half of `relcal_server_core::ServerStore` (zero set-up; PostgreSQL is
//! `relcal-store-pg`).

use crate::{Store, Synced, Write};
use relcal_domain::{AuditRecord, ObjectKind, Plan};
use relcal_protocol::ApiError;
use relcal_server_core::{AnchoredHead, ChangeWrite, ServerStore, SyncRow, TokenRecord};

impl ServerStore for Store {
    fn calendar(&mut self) -> Result<Option<Plan>, ApiError> {
        Ok(self.load_plan()?)
    }
    fn replace_calendar(&mut self, plan: &Plan, audit: &[AuditRecord]) -> Result<(), ApiError> {
        Ok(self.write(Write::new(audit).whole(plan))?)
    }
    fn token(&mut self, token_sha256: &str) -> Result<Option<TokenRecord>, ApiError> {
        Ok(self.server_token(token_sha256)?)
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
        Ok(self.add_server_token(token_sha256, user, role, at, expires_at, audit)?)
    }
    fn tokens(&mut self) -> Result<Vec<TokenRecord>, ApiError> {
        Ok(self.server_tokens()?)
    }
    fn revoke_token(&mut self, id: &str, audit: &[AuditRecord]) -> Result<bool, ApiError> {
        Ok(self.revoke_server_token(id, audit)?)
    }
    fn touch_token(&mut self, token_sha256: &str, at: &str, since: &str) -> Result<(), ApiError> {
        Ok(self.touch_server_token(token_sha256, at, since)?)
    }
    fn log_started(&mut self) -> Result<bool, ApiError> {
        Ok(self.sync_log_started()?)
    }
    fn calendar_version(&mut self) -> Result<u64, ApiError> {
        Ok(self.audit_seq()?)
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
        let audit = std::slice::from_ref(c.audit);
        let write = match c.kind {
            ObjectKind::Release => match c.calendar.releases.iter().find(|r| r.id.as_str() == c.id)
            {
                Some(r) => match c.before {
                    Some(old) => Write::new(audit).release_replacing(r, old),
                    None => Write::new(audit).release(r),
                },
                None => Write::new(audit).delete_release(c.id),
            },
            _ => Write::new(audit).catalog(c.calendar),
        };
        let (mutation_id, answer) = c.answer;
        Ok(self.write(write.synced(Synced {
            kind: c.kind.noun(),
            id: c.id,
            object: c.object,
            at: c.at,
            by: c.by,
            mutation_id,
            answer,
        }))?)
    }
    fn verify_audit(&mut self) -> Result<Result<u64, relcal_domain::ChainBreak>, ApiError> {
        Ok(Store::verify_audit(self)?)
    }
    fn anchor_head(
        &mut self,
        client: &str,
        (seq, hash): (u64, &str),
        user: &str,
        at: &str,
    ) -> Result<(), ApiError> {
        Ok(self.add_anchored_head(client, seq, hash, user, at)?)
    }
    fn anchored_heads(&mut self, client: &str) -> Result<Vec<AnchoredHead>, ApiError> {
        Ok(self.anchored_heads_of(client)?)
    }
    fn lock_writes(&mut self) -> Result<(), ApiError> {
        if self.batch_lock.is_some() {
            return Ok(());
        }
        // An OS lock on a file beside the database, held by whichever server
        // process applies a batch; released when it ends or the process dies.
        let mut name = self.path().as_os_str().to_owned();
        name.push(".batch-lock");
        let unavailable = |e: std::io::Error| {
            ApiError::new(
                relcal_protocol::ErrorCode::Unavailable,
                format!(
                    "the server's batch lock beside {}: {e}",
                    self.path().display()
                ),
            )
        };
        let file = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&name)
            .map_err(unavailable)?;
        file.lock().map_err(unavailable)?;
        self.batch_lock = Some(file);
        Ok(())
    }
    fn unlock_writes(&mut self) -> Result<(), ApiError> {
        if let Some(file) = self.batch_lock.take() {
            // Closing the file releases the lock too; say so if unlocking fails.
            file.unlock()
                .map_err(|e| ApiError::new(relcal_protocol::ErrorCode::Internal, e.to_string()))?;
        }
        Ok(())
    }
    fn describe(&self) -> String {
        format!("the database {}", self.path().display())
    }
    fn exception_requests(&mut self) -> Result<Vec<relcal_protocol::ExceptionRequest>, ApiError> {
        Ok(Store::exception_requests(
            self,
            relcal_protocol::MAX_REQUESTS_LISTED,
        )?)
    }
    fn exception_request(
        &mut self,
        id: &str,
    ) -> Result<Option<relcal_protocol::ExceptionRequest>, ApiError> {
        Ok(Store::exception_request(self, id)?)
    }
    fn exception_requests_for(
        &mut self,
        release: &str,
        freeze: &str,
    ) -> Result<Vec<relcal_protocol::ExceptionRequest>, ApiError> {
        Ok(Store::exception_requests_for(self, release, freeze)?)
    }
    fn put_exception_request(
        &mut self,
        request: &relcal_protocol::ExceptionRequest,
        audit: &AuditRecord,
    ) -> Result<(), ApiError> {
        Ok(Store::put_exception_request(
            self,
            request,
            false,
            std::slice::from_ref(audit),
        )?)
    }
    fn begin_batch(&mut self) -> Result<bool, ApiError> {
        Ok(self.begin_batch_transaction()?)
    }
    fn commit_batch(&mut self) -> Result<(), ApiError> {
        Ok(self.commit_batch_transaction()?)
    }
    fn rollback_batch(&mut self) {
        self.rollback_batch_transaction();
    }
    fn checkpoint(&mut self) -> Result<Option<u64>, ApiError> {
        Ok(Some(self.checkpoint_passive()?))
    }
}
