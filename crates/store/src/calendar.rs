//! Queries for calendar views: what falls in a time range.

use crate::{Store, StoreError};
use rusqlite::params;

/// A release as a calendar view shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReleaseRow {
    /// Release id.
    pub id: String,
    /// Title.
    pub title: String,
    /// Team id.
    pub team_id: String,
    /// Environment id.
    pub environment_id: String,
    /// Service ids.
    pub services: Vec<String>,
    /// Releases it depends on.
    pub depends_on: Vec<String>,
    /// Start, Unix seconds.
    pub start_utc: i64,
    /// End, Unix seconds.
    pub end_utc: i64,
    /// Status name.
    pub status: String,
    /// Owner.
    pub owner: Option<String>,
    /// Readiness, 0 to 100.
    pub readiness: u8,
}

impl Store {
    /// Releases whose window overlaps `[from, to)` (Unix seconds), by start.
    /// Team and environment names are the caller's to look up (it holds the
    /// calendar's teams and environments already).
    pub fn releases_between(&self, from: i64, to: i64) -> Result<Vec<ReleaseRow>, StoreError> {
        // One read transaction: a consistent view, and one file lock instead
        // of one per statement (the per-release lookups below are thousands).
        let tx = self.read_view()?;
        let rows = self.releases_between_in(from, to)?;
        tx.finish()?;
        Ok(rows)
    }

    fn releases_between_in(&self, from: i64, to: i64) -> Result<Vec<ReleaseRow>, StoreError> {
        // The longest release bounds how far back a window may start.
        let longest: i64 = self
            .conn
            .prepare_cached("SELECT coalesce(max(end_utc - start_utc), 0) FROM releases")?
            .query_row([], |r| r.get(0))?;
        let mut stmt = self.conn.prepare_cached(
            "SELECT r.id, r.title, r.team_id, r.environment_id, r.start_utc, r.end_utc, r.status, r.owner,
                    r.services_json, r.depends_json, r.readiness
             FROM releases r INDEXED BY releases_view
             WHERE r.start_utc < ?2 AND r.start_utc > ?1 - ?3 AND r.end_utc > ?1
             ORDER BY r.start_utc, r.id",
        )?;
        let list = |r: &rusqlite::Row<'_>, i: usize| -> rusqlite::Result<Vec<String>> {
            let text = r.get_ref(i)?.as_str()?;
            serde_json::from_str(text).map_err(|e| {
                rusqlite::Error::FromSqlConversionFailure(i, rusqlite::types::Type::Text, e.into())
            })
        };
        let rows: Vec<ReleaseRow> = stmt
            .query_map(params![from, to, longest], |r| {
                Ok(ReleaseRow {
                    id: r.get(0)?,
                    title: r.get(1)?,
                    team_id: r.get(2)?,
                    environment_id: r.get(3)?,
                    start_utc: r.get(4)?,
                    end_utc: r.get(5)?,
                    status: r.get(6)?,
                    owner: r.get(7)?,
                    services: list(r, 8)?,
                    depends_on: list(r, 9)?,
                    readiness: r.get(10)?,
                })
            })?
            .collect::<Result<_, _>>()?;
        Ok(rows)
    }
}
