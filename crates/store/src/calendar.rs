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
    /// Team name.
    pub team_name: String,
    /// Environment id.
    pub environment_id: String,
    /// Environment name.
    pub environment_name: String,
    /// Whether the environment is production.
    pub production: bool,
    /// Service ids.
    pub services: Vec<String>,
    /// Start, Unix seconds.
    pub start_utc: i64,
    /// End, Unix seconds.
    pub end_utc: i64,
    /// Status name.
    pub status: String,
    /// Owner.
    pub owner: Option<String>,
}

impl Store {
    /// Releases whose window overlaps `[from, to)` (Unix seconds), by start.
    pub fn releases_between(&self, from: i64, to: i64) -> Result<Vec<ReleaseRow>, StoreError> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT r.id, r.title, r.team_id, t.name, r.environment_id, e.name, e.production,
                    r.start_utc, r.end_utc, r.status, r.owner,
                    (SELECT json_group_array(service_id) FROM
                        (SELECT service_id FROM release_services s WHERE s.release_id = r.id ORDER BY position))
             FROM releases r
             JOIN teams t ON t.id = r.team_id
             JOIN environments e ON e.id = r.environment_id
             WHERE r.start_utc < ?2
               AND r.start_utc > ?1 - (SELECT coalesce(max(end_utc - start_utc), 0) FROM releases)
               AND r.end_utc > ?1
             ORDER BY r.start_utc, r.id",
        )?;
        let rows = stmt.query_map(params![from, to], |r| {
            let services: String = r.get(11)?;
            Ok(ReleaseRow {
                id: r.get(0)?,
                title: r.get(1)?,
                team_id: r.get(2)?,
                team_name: r.get(3)?,
                environment_id: r.get(4)?,
                environment_name: r.get(5)?,
                production: r.get(6)?,
                start_utc: r.get(7)?,
                end_utc: r.get(8)?,
                status: r.get(9)?,
                owner: r.get(10)?,
                services: serde_json::from_str(&services).unwrap_or_default(),
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }
}
