//! Freeze exceptions asked for (`exception_requests`), on a desktop and on
//! the server alike: kept beside the calendar, since the plan holds only
//! approved exceptions. On a desktop, `unsent` marks a request asked for or
//! decided here that the server has not yet been told of.

use crate::audit::append;
use crate::{AuditRecord, Store, StoreError};
use relcal_protocol::{ExceptionRequest, RequestState};
use rusqlite::{params, OptionalExtension};

const COLUMNS: &str = "id, release, freeze, reason, expires, requested_by, requested_at, state, decided_by, decided_at, note";

fn request_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<ExceptionRequest> {
    let state: String = r.get(7)?;
    Ok(ExceptionRequest {
        id: r.get(0)?,
        release: r.get(1)?,
        freeze: r.get(2)?,
        reason: r.get(3)?,
        expires: r.get(4)?,
        requested_by: r.get(5)?,
        requested_at: r.get(6)?,
        // The table's CHECK allows only these.
        state: RequestState::parse(&state).unwrap_or(RequestState::Pending),
        decided_by: r.get(8)?,
        decided_at: r.get(9)?,
        note: r.get(10)?,
    })
}

impl Store {
    /// The requests kept here, newest first, at most `limit`.
    pub fn exception_requests(&self, limit: usize) -> Result<Vec<ExceptionRequest>, StoreError> {
        let mut stmt = self.conn.prepare_cached(&format!(
            "SELECT {COLUMNS} FROM exception_requests ORDER BY requested_at DESC, id LIMIT ?1"
        ))?;
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let rows = stmt.query_map([limit], request_row)?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// One request, by id.
    pub fn exception_request(&self, id: &str) -> Result<Option<ExceptionRequest>, StoreError> {
        Ok(self
            .conn
            .prepare_cached(&format!(
                "SELECT {COLUMNS} FROM exception_requests WHERE id = ?1"
            ))?
            .query_row([id], request_row)
            .optional()?)
    }

    /// Every request for `release`'s exception to `freeze`, newest first.
    pub fn exception_requests_for(
        &self,
        release: &str,
        freeze: &str,
    ) -> Result<Vec<ExceptionRequest>, StoreError> {
        let mut stmt = self.conn.prepare_cached(&format!(
            "SELECT {COLUMNS} FROM exception_requests WHERE release = ?1 AND freeze = ?2
             ORDER BY requested_at DESC, id"
        ))?;
        let rows = stmt.query_map([release, freeze], request_row)?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// The requests asked for or decided here that the server has not yet
    /// been told of, oldest first.
    pub fn unsent_exception_requests(&self) -> Result<Vec<ExceptionRequest>, StoreError> {
        let mut stmt = self.conn.prepare_cached(&format!(
            "SELECT {COLUMNS} FROM exception_requests WHERE unsent = 1 ORDER BY requested_at, id"
        ))?;
        let rows = stmt.query_map([], request_row)?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Keeps a request as given (new, or its new state), audited; `unsent`:
    /// made here, for the next sync to tell the server.
    pub fn put_exception_request(
        &mut self,
        request: &ExceptionRequest,
        unsent: bool,
        audit: &[AuditRecord],
    ) -> Result<(), StoreError> {
        let tx = self.write_transaction()?;
        tx.prepare_cached(
            "INSERT INTO exception_requests
               (id, release, freeze, reason, expires, requested_by, requested_at, state, decided_by, decided_at, note, unsent)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)
             ON CONFLICT (id) DO UPDATE SET
               release = excluded.release, freeze = excluded.freeze, reason = excluded.reason,
               expires = excluded.expires, requested_by = excluded.requested_by,
               requested_at = excluded.requested_at, state = excluded.state,
               decided_by = excluded.decided_by, decided_at = excluded.decided_at,
               note = excluded.note, unsent = excluded.unsent",
        )?
        .execute(params![
            request.id,
            request.release,
            request.freeze,
            request.reason,
            request.expires,
            request.requested_by,
            request.requested_at,
            request.state.as_str(),
            request.decided_by,
            request.decided_at,
            request.note,
            unsent,
        ])?;
        append(&tx, audit)?;
        tx.commit()?;
        Ok(())
    }

    /// Notes that the server was told of the request `id` (as it then was).
    pub fn mark_exception_request_sent(&mut self, id: &str) -> Result<(), StoreError> {
        self.conn
            .prepare_cached("UPDATE exception_requests SET unsent = 0 WHERE id = ?1")?
            .execute([id])?;
        Ok(())
    }
}
