//! Whole calendars in and out of the database.

use crate::read::{read, read_releases};
use crate::rows::{clear, clear_catalog, insert, insert_catalog, write_release};
use crate::{AuditRecord, Store, StoreError};
use relcal_domain::{Plan, Release, TimeValue};
use rusqlite::{params, OptionalExtension};
use serde_json::Value;

/// What the plan format does not carry about one checklist item.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
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
#[derive(Debug, Clone, PartialEq, Eq, Default)]
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
            .query_row("SELECT count(*) FROM calendar", [], |r| r.get(0))?;
        Ok(n == 0)
    }

    /// Replaces the whole calendar with `plan`, in one transaction: afterwards
    /// the database holds either all of `plan` or, on any failure, exactly
    /// what it held before.
    pub fn replace_plan(&mut self, plan: &Plan, audit: &[AuditRecord]) -> Result<(), StoreError> {
        self.catalog.replace(None);
        let tx = self.write_transaction()?;
        clear(&tx)?;
        // The import's own time, from its audit record: the store reads no clock.
        let at = audit.first().map_or("", |a| a.at.as_str());
        insert(&tx, plan, at)?;
        crate::audit::append(&tx, audit)?;
        tx.commit()?;
        Ok(())
    }

    /// Replaces one release (all its rows) in one transaction, keeping its
    /// place in the calendar's order; adds it at the end when it is new.
    pub fn replace_release(
        &mut self,
        release: &Release,
        audit: &[AuditRecord],
    ) -> Result<(), StoreError> {
        self.replace_release_at(release, None, audit)
    }

    /// The release's place in the calendar's order, or `None` when there is
    /// no such release.
    pub fn release_position(&self, id: &str) -> Result<Option<i64>, StoreError> {
        Ok(self
            .conn
            .query_row("SELECT position FROM releases WHERE id = ?1", [id], |r| {
                r.get(0)
            })
            .optional()?)
    }

    /// Where the release with `id` stands among the releases (from 0), as a
    /// plan file lists them (0 for an unknown id).
    pub fn release_index(&self, id: &str) -> Result<u64, StoreError> {
        Ok(self.conn.query_row(
            "SELECT count(*) FROM releases
             WHERE position < (SELECT position FROM releases WHERE id = ?1)",
            [id],
            |r| r.get(0),
        )?)
    }

    /// Like [`Store::replace_release`], but a new release goes to `position`
    /// when one is given (to put a deleted release back where it was).
    pub fn replace_release_at(
        &mut self,
        release: &Release,
        position: Option<i64>,
        audit: &[AuditRecord],
    ) -> Result<(), StoreError> {
        let tx = self.write_transaction()?;
        write_release(&tx, release, position)?;
        crate::audit::append(&tx, audit)?;
        tx.commit()?;
        Ok(())
    }

    /// Replaces one release like [`Store::replace_release`] and, in the same
    /// transaction, what the plan format does not carry about it: one
    /// checklist item's details and its rollback plan's details.
    pub fn replace_release_with_details(
        &mut self,
        release: &Release,
        checklist: Option<&ChecklistDetail>,
        rollback: Option<&RollbackDetail>,
        audit: &[AuditRecord],
    ) -> Result<(), StoreError> {
        let tx = self.write_transaction()?;
        write_release(&tx, release, None)?;
        let id = release.id.as_str();
        if let Some(d) = checklist {
            tx.execute(
                "INSERT INTO checklist_details (release_id, item_id, owner, done_by, done_at, note)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)
                 ON CONFLICT (release_id, item_id) DO UPDATE SET owner = excluded.owner,
                   done_by = excluded.done_by, done_at = excluded.done_at, note = excluded.note",
                params![id, d.item_id, d.owner, d.done_by, d.done_at, d.note],
            )?;
        }
        if let Some(d) = rollback {
            tx.execute(
                "INSERT INTO rollback_details (release_id, tested_on, migration_reversible, triggers)
                 VALUES (?1, ?2, ?3, ?4)
                 ON CONFLICT (release_id) DO UPDATE SET tested_on = excluded.tested_on,
                   migration_reversible = excluded.migration_reversible, triggers = excluded.triggers",
                params![
                    id,
                    d.tested_on,
                    d.migration_reversible,
                    Value::from(d.triggers.clone()).to_string()
                ],
            )?;
        }
        crate::audit::append(&tx, audit)?;
        tx.commit()?;
        Ok(())
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
            .query_row(
                "SELECT tested_on, migration_reversible, triggers FROM rollback_details WHERE release_id = ?1",
                [release_id],
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

    /// Replaces the teams, services, environments and freezes with those of
    /// `plan` (its releases are ignored), keeping every stored release, in one
    /// transaction. Foreign keys are checked at commit, so a release that
    /// would point at a removed team, service, environment or freeze fails
    /// the whole change and leaves the database as it was.
    pub fn replace_catalog(
        &mut self,
        plan: &Plan,
        audit: &[AuditRecord],
    ) -> Result<(), StoreError> {
        self.catalog.replace(None);
        let tx = self.write_transaction()?;
        tx.pragma_update(None, "defer_foreign_keys", true)?;
        clear_catalog(&tx)?;
        insert_catalog(&tx, plan)?;
        crate::audit::append(&tx, audit)?;
        tx.commit()?;
        Ok(())
    }

    /// Deletes one release and its rows. Returns false when there was none.
    pub fn delete_release(&mut self, id: &str, audit: &[AuditRecord]) -> Result<bool, StoreError> {
        let tx = self.write_transaction()?;
        let n = tx.execute("DELETE FROM releases WHERE id = ?1", [id])?;
        tx.execute("DELETE FROM checklist_details WHERE release_id = ?1", [id])?;
        tx.execute("DELETE FROM rollback_details WHERE release_id = ?1", [id])?;
        if n > 0 {
            crate::audit::append(&tx, audit)?;
        }
        tx.commit()?;
        Ok(n > 0)
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
        let tx = self.conn.unchecked_transaction()?;
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
        let tx = self.conn.unchecked_transaction()?;
        let Some(doc) = read(&tx, with_releases)? else {
            return Ok(None);
        };
        tx.finish()?;
        Ok(Some(relcal_domain::parse_plan_document(doc)?))
    }
}

impl Store {
    /// Writes what a sync pulled, in one transaction (foreign keys checked at
    /// the end): the catalog of `plan` when `catalog_changed`, the releases
    /// changed and deleted, and the audit entries. Release details stay.
    pub fn apply_pulled(
        &mut self,
        plan: &Plan,
        catalog_changed: bool,
        releases_changed: &[&Release],
        releases_deleted: &[&str],
        audit: &[AuditRecord],
    ) -> Result<(), StoreError> {
        if catalog_changed {
            self.catalog.replace(None);
        }
        let fresh = self.is_empty()?;
        let tx = self.write_transaction()?;
        tx.pragma_update(None, "defer_foreign_keys", true)?;
        if fresh {
            insert(&tx, plan, audit.first().map_or("", |a| a.at.as_str()))?;
        } else {
            if catalog_changed {
                clear_catalog(&tx)?;
                insert_catalog(&tx, plan)?;
            }
            for id in releases_deleted {
                tx.execute("DELETE FROM releases WHERE id = ?1", [id])?;
            }
            for r in releases_changed {
                write_release(&tx, r, None)?;
            }
        }
        crate::audit::append(&tx, audit)?;
        tx.commit()?;
        Ok(())
    }
}

/// One change accepted by the sync server.
pub enum SyncWrite<'a> {
    /// A release created or changed.
    Release(&'a Release),
    /// A release deleted.
    DeleteRelease(&'a str),
    /// Teams, services, environments or freezes changed (the whole catalog of `plan`).
    Catalog(&'a Plan),
}

impl Store {
    /// Writes a change accepted by the sync server, its audit entries, its
    /// change-log entry (`kind`, `id`, the object or `None` for a deletion)
    /// and the answer to its mutation id, all in one transaction: a crash
    /// leaves either all of them or none.
    #[allow(
        clippy::too_many_arguments,
        reason = "one argument per part of the one transaction"
    )]
    pub fn write_synced(
        &mut self,
        write: SyncWrite<'_>,
        audit: &[AuditRecord],
        (kind, id, object): (&str, &str, Option<&str>),
        at: &str,
        by: &str,
        (mutation_id, answer): (&str, &str),
    ) -> Result<(), StoreError> {
        if matches!(write, SyncWrite::Catalog(_)) {
            self.catalog.replace(None);
        }
        let tx = self.write_transaction()?;
        match write {
            SyncWrite::Release(r) => write_release(&tx, r, None)?,
            SyncWrite::DeleteRelease(rid) => {
                tx.execute("DELETE FROM releases WHERE id = ?1", [rid])?;
                tx.execute("DELETE FROM checklist_details WHERE release_id = ?1", [rid])?;
                tx.execute("DELETE FROM rollback_details WHERE release_id = ?1", [rid])?;
            }
            SyncWrite::Catalog(plan) => {
                tx.pragma_update(None, "defer_foreign_keys", true)?;
                clear_catalog(&tx)?;
                insert_catalog(&tx, plan)?;
            }
        }
        crate::audit::append(&tx, audit)?;
        tx.execute(
            "INSERT INTO sync_log (kind, id, version, object, at, by)
             VALUES (?1, ?2, (SELECT coalesce(max(version), 0) + 1 FROM sync_log WHERE kind = ?1 AND id = ?2), ?3, ?4, ?5)",
            params![kind, id, object, at, by],
        )?;
        tx.execute(
            "INSERT INTO sync_mutations (mutation_id, result) VALUES (?1, ?2) ON CONFLICT DO NOTHING",
            params![mutation_id, answer],
        )?;
        tx.commit()?;
        Ok(())
    }
}
