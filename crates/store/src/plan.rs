//! Reading calendars out of the database (writing them is `write.rs`).

use crate::read::{read, read_releases};
use crate::{Store, StoreError};
use relcal_domain::{Plan, Release, TimeValue};
use rusqlite::OptionalExtension;
use serde_json::Value;

/// What the plan format does not carry about one checklist item.
#[derive(Debug, Clone, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChecklistDetail {
    /// The item's id within its release.
    pub item_id: String,
    /// Who should do it.
    pub owner: Option<String>,
    /// Who ticked it.
    pub done_by: Option<String>,
    /// When, RFC 3339 UTC.
    pub done_at: Option<String>,
    /// A note or an evidence link.
    pub note: Option<String>,
}

/// What the plan format does not carry about a rollback plan.
#[derive(Debug, Clone, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RollbackDetail {
    /// When it was rehearsed in staging (YYYY-MM-DD).
    pub tested_on: Option<String>,
    /// Whether the release's database migration can be reversed.
    pub migration_reversible: Option<bool>,
    /// What triggers a rollback ("error rate above 5%").
    pub triggers: Vec<String>,
}

/// A kind of calendar object that releases refer to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CatalogKind {
    /// A team.
    Team,
    /// A service.
    Service,
    /// An environment.
    Environment,
    /// A freeze (through overrides).
    Freeze,
}

pub(crate) fn strings<T: ToString>(items: &[T]) -> Vec<String> {
    items.iter().map(ToString::to_string).collect()
}

pub(crate) fn exdates_json(exdates: &[TimeValue]) -> String {
    Value::from(exdates.iter().map(ToString::to_string).collect::<Vec<_>>()).to_string()
}

impl Store {
    /// True when no calendar has ever been stored here.
    pub fn is_empty(&self) -> Result<bool, StoreError> {
        let n: i64 = self
            .conn
            .prepare_cached("SELECT count(*) FROM calendar")?
            .query_row([], |r| r.get(0))?;
        Ok(n == 0)
    }

    /// The release's place in the calendar's order, or `None` when there is
    /// no such release.
    pub fn release_position(&self, id: &str) -> Result<Option<i64>, StoreError> {
        Ok(self
            .conn
            .prepare_cached("SELECT position FROM releases WHERE id = ?1")?
            .query_row([id], |r| r.get(0))
            .optional()?)
    }

    /// Where the release with `id` stands among the releases (from 0), as a
    /// plan file lists them (0 for an unknown id).
    pub fn release_index(&self, id: &str) -> Result<u64, StoreError> {
        Ok(self
            .conn
            .prepare_cached(
                "SELECT count(*) FROM releases
             WHERE position < (SELECT position FROM releases WHERE id = ?1)",
            )?
            .query_row([id], |r| r.get(0))?)
    }

    /// The details of a release's checklist items (only items that have some).
    pub fn checklist_details(&self, release_id: &str) -> Result<Vec<ChecklistDetail>, StoreError> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT item_id, owner, done_by, done_at, note FROM checklist_details WHERE release_id = ?1",
        )?;
        let rows = stmt.query_map([release_id], |r| {
            Ok(ChecklistDetail {
                item_id: r.get(0)?,
                owner: r.get(1)?,
                done_by: r.get(2)?,
                done_at: r.get(3)?,
                note: r.get(4)?,
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// The details of a release's rollback plan, if any were saved.
    pub fn rollback_detail(&self, release_id: &str) -> Result<Option<RollbackDetail>, StoreError> {
        let row: Option<(Option<String>, Option<bool>, String)> = self
            .conn
            .prepare_cached("SELECT tested_on, migration_reversible, triggers FROM rollback_details WHERE release_id = ?1")?.query_row([release_id],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
            )
            .optional()?;
        Ok(row.map(
            |(tested_on, migration_reversible, triggers)| RollbackDetail {
                tested_on,
                migration_reversible,
                triggers: serde_json::from_str(&triggers).unwrap_or_default(),
            },
        ))
    }

    /// How many releases name `id` as their team, environment, one of their
    /// services, or a freeze they override.
    pub fn releases_referring_to(&self, kind: CatalogKind, id: &str) -> Result<u64, StoreError> {
        let sql = match kind {
            CatalogKind::Team => "SELECT count(*) FROM releases WHERE team_id = ?1",
            CatalogKind::Environment => "SELECT count(*) FROM releases WHERE environment_id = ?1",
            CatalogKind::Service => {
                "SELECT count(DISTINCT release_id) FROM release_services WHERE service_id = ?1"
            }
            CatalogKind::Freeze => {
                "SELECT count(DISTINCT release_id) FROM freeze_overrides WHERE freeze_id = ?1"
            }
        };
        let n: i64 = self.conn.query_row(sql, [id], |r| r.get(0))?;
        Ok(u64::try_from(n).unwrap_or(0))
    }

    /// The stored calendar, or `None` when none was ever stored.
    pub fn load_plan(&self) -> Result<Option<Plan>, StoreError> {
        self.load(true)
    }

    /// The stored calendar without its releases (teams, services,
    /// environments, freezes): cheap however many releases there are.
    /// Served from memory while the database is unchanged (this store's own
    /// writes clear it; another connection's commits change `data_version`).
    pub fn load_plan_without_releases(&self) -> Result<Option<Plan>, StoreError> {
        let version: i64 = self
            .conn
            .pragma_query_value(None, "data_version", |r| r.get(0))?;
        if let Some((seen, plan)) = &*self.catalog.borrow() {
            if *seen == version {
                return Ok(Some(plan.clone()));
            }
        }
        let plan = self.load(false)?;
        self.catalog
            .replace(plan.as_ref().map(|p| (version, p.clone())));
        Ok(plan)
    }

    /// The releases with these ids, validated against `catalog` (the
    /// calendar without releases), in one read; ids not stored are left out.
    pub fn load_releases(&self, catalog: &Plan, ids: &[&str]) -> Result<Vec<Release>, StoreError> {
        // A list of strings always serialises.
        let list = serde_json::to_string(ids).unwrap_or_else(|_| "[]".into());
        let tx = self.read_view()?;
        let wires = read_releases(&tx, Some(&list))?;
        tx.finish()?;
        wires
            .into_iter()
            .map(|wire| {
                let object = format!("stored release \"{}\"", wire.id);
                Ok(relcal_domain::parse_release_document(
                    catalog, &object, wire,
                )?)
            })
            .collect()
    }

    fn load(&self, with_releases: bool) -> Result<Option<Plan>, StoreError> {
        // Read in one transaction so a concurrent writer cannot tear the view.
        let tx = self.read_view()?;
        let Some(doc) = read(&tx, with_releases)? else {
            return Ok(None);
        };
        tx.finish()?;
        Ok(Some(relcal_domain::parse_plan_document(doc)?))
    }
}
