//! The one way the calendar is written: [`Store::write`] takes a [`Write`]
//! (what a change puts, removes and records) and writes all of it in one
//! transaction. An import, an edit in the app or the CLI, a sync pull, an
//! adapter run and the server's accepted mutation all come here; nothing
//! else writes the calendar's tables.

use crate::plan::{ChecklistDetail, RollbackDetail};
use crate::rows::{clear, clear_catalog, insert, insert_catalog, update_release, write_release};
use crate::{AuditRecord, Store, StoreError};
use relcal_domain::{Plan, Release};
use rusqlite::params;
use serde_json::Value;

/// Everything one change writes. Build it with [`Write::new`] and the
/// methods that add to it; [`Store::write`] writes it in one transaction.
#[derive(Default)]
#[must_use = "a write does nothing until Store::write is called"]
pub struct Write<'a> {
    whole: Option<&'a Plan>,
    catalog: Option<&'a Plan>,
    releases: Vec<ReleaseWrite<'a>>,
    deleted: Vec<&'a str>,
    audit: &'a [AuditRecord],
    synced: Option<Synced<'a>>,
}

/// One release put, with where it goes and what the plan format does not
/// carry about it.
pub struct ReleaseWrite<'a> {
    release: &'a Release,
    /// The release as stored before, when the writer knows it.
    previous: Option<&'a Release>,
    position: Option<i64>,
    checklist: &'a [ChecklistDetail],
    rollback: Option<&'a RollbackDetail>,
}

/// The server's bookkeeping of an accepted mutation: its change-log entry
/// and its answer, written with the change it made.
pub struct Synced<'a> {
    /// The object's kind noun.
    pub kind: &'a str,
    /// Its id.
    pub id: &'a str,
    /// The object as stored (plan-file JSON text), or `None` for a deletion.
    pub object: Option<&'a str>,
    /// When, RFC 3339 UTC.
    pub at: &'a str,
    /// Who (the authenticated user).
    pub by: &'a str,
    /// The mutation's id.
    pub mutation_id: &'a str,
    /// The answer to give if the same mutation comes again.
    pub answer: &'a str,
}

impl<'a> Write<'a> {
    /// A write recording `audit` (a change without a record writes nothing:
    /// see [`Store::write`]).
    pub fn new(audit: &'a [AuditRecord]) -> Self {
        Write {
            audit,
            ..Write::default()
        }
    }

    /// Replaces the whole calendar with `plan` (an import, a first pull).
    pub fn whole(mut self, plan: &'a Plan) -> Self {
        self.whole = Some(plan);
        self
    }

    /// Replaces the teams, services, environments and freezes with those of
    /// `plan` (its releases are ignored). Foreign keys are checked at commit,
    /// so a release left pointing at a removed object fails the whole write.
    pub fn catalog(mut self, plan: &'a Plan) -> Self {
        self.catalog = Some(plan);
        self
    }

    /// Puts a release (all its rows), keeping its place; a new one goes to
    /// the end.
    pub fn release(self, release: &'a Release) -> Self {
        self.release_at(release, None)
    }

    /// Puts a release; a new one goes to `position` when given (a deleted
    /// release put back where it was).
    pub fn release_at(mut self, release: &'a Release, position: Option<i64>) -> Self {
        self.releases.push(ReleaseWrite {
            release,
            previous: None,
            position,
            checklist: &[],
            rollback: None,
        });
        self
    }

    /// Puts a release over `previous`, as it is stored now: only its row
    /// and the row sets that differ are written (a new one, or one not
    /// stored as `previous` says, is written whole).
    pub fn release_replacing(mut self, release: &'a Release, previous: &'a Release) -> Self {
        self.releases.push(ReleaseWrite {
            release,
            previous: Some(previous),
            position: None,
            checklist: &[],
            rollback: None,
        });
        self
    }

    /// Puts a release with checklist items' details and its rollback
    /// plan's details; a new one goes to `position` when given (a deleted
    /// release put back, with what it had).
    pub fn release_with_details(
        mut self,
        release: &'a Release,
        position: Option<i64>,
        checklist: &'a [ChecklistDetail],
        rollback: Option<&'a RollbackDetail>,
    ) -> Self {
        self.releases.push(ReleaseWrite {
            release,
            previous: None,
            position,
            checklist,
            rollback,
        });
        self
    }

    /// Deletes a release, its rows and its details. The write fails, and
    /// writes nothing, when no such release is stored.
    pub fn delete_release(mut self, id: &'a str) -> Self {
        self.deleted.push(id);
        self
    }

    /// Also writes the server's change-log entry and mutation answer.
    pub fn synced(mut self, synced: Synced<'a>) -> Self {
        self.synced = Some(synced);
        self
    }
}

impl Store {
    /// Writes `w` in one transaction: afterwards the database holds all of
    /// it or, on any failure, exactly what it held before.
    pub fn write(&mut self, w: Write<'_>) -> Result<(), StoreError> {
        if w.whole.is_some() || w.catalog.is_some() {
            self.catalog.replace(None);
        }
        // Replacing the catalog removes what releases refer to and puts it
        // back: its foreign keys are checked at commit. Only then: setting
        // the pragma expires every prepared statement. (A release is put
        // with its rows in an order the keys allow, so it needs none.)
        let replaces = w.whole.is_some() || w.catalog.is_some();
        let tx = self.write_transaction()?;
        if replaces {
            tx.pragma_update(None, "defer_foreign_keys", true)?;
        }
        if let Some(plan) = w.whole {
            clear(&tx)?;
            // The import's own time, from its audit record: the store reads no clock.
            insert(&tx, plan, w.audit.first().map_or("", |a| a.at.as_str()))?;
        }
        if let Some(plan) = w.catalog {
            clear_catalog(&tx)?;
            insert_catalog(&tx, plan)?;
        }
        for id in &w.deleted {
            if tx
                .prepare_cached("DELETE FROM releases WHERE id = ?1")?
                .execute([id])?
                == 0
            {
                return Err(StoreError::NoSuchRelease((*id).to_owned()));
            }
            tx.prepare_cached("DELETE FROM checklist_details WHERE release_id = ?1")?
                .execute([id])?;
            tx.prepare_cached("DELETE FROM rollback_details WHERE release_id = ?1")?
                .execute([id])?;
        }
        for r in &w.releases {
            let in_place = match r.previous {
                Some(previous) => update_release(&tx, previous, r.release)?,
                None => false,
            };
            if !in_place {
                write_release(&tx, r.release, r.position)?;
            }
            details(&tx, r)?;
        }
        crate::audit::append(&tx, w.audit)?;
        if let Some(s) = &w.synced {
            tx.prepare_cached("INSERT INTO sync_log (kind, id, version, object, at, by)
                 VALUES (?1, ?2, (SELECT coalesce(max(version), 0) + 1 FROM sync_log WHERE kind = ?1 AND id = ?2), ?3, ?4, ?5)")?.execute(params![s.kind, s.id, s.object, s.at, s.by],
            )?;
            tx.prepare_cached("INSERT INTO sync_mutations (mutation_id, result) VALUES (?1, ?2) ON CONFLICT DO NOTHING")?.execute(params![s.mutation_id, s.answer],
            )?;
        }
        tx.commit()?;
        Ok(())
    }
}

fn details(tx: &rusqlite::Connection, r: &ReleaseWrite<'_>) -> Result<(), StoreError> {
    let id = r.release.id.as_str();
    for d in r.checklist {
        tx.prepare_cached(
            "INSERT INTO checklist_details (release_id, item_id, owner, done_by, done_at, note)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)
             ON CONFLICT (release_id, item_id) DO UPDATE SET owner = excluded.owner,
               done_by = excluded.done_by, done_at = excluded.done_at, note = excluded.note",
        )?
        .execute(params![
            id, d.item_id, d.owner, d.done_by, d.done_at, d.note
        ])?;
    }
    if let Some(d) = r.rollback {
        tx.prepare_cached(
            "INSERT INTO rollback_details (release_id, tested_on, migration_reversible, triggers)
             VALUES (?1, ?2, ?3, ?4)
             ON CONFLICT (release_id) DO UPDATE SET tested_on = excluded.tested_on,
               migration_reversible = excluded.migration_reversible, triggers = excluded.triggers",
        )?
        .execute(params![
            id,
            d.tested_on,
            d.migration_reversible,
            Value::from(d.triggers.clone()).to_string()
        ])?;
    }
    Ok(())
}
