//! Whole calendars in and out of the database.

use crate::{AuditRecord, Store, StoreError};
use relcal_domain::{Plan, Recurrence, Release, TimeValue};
use rusqlite::{params, Connection, OptionalExtension, Transaction};
use serde_json::{json, Map, Value};

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

fn strings<T: ToString>(items: &[T]) -> Vec<String> {
    items.iter().map(ToString::to_string).collect()
}

fn exdates_json(exdates: &[TimeValue]) -> String {
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
        let values = read_releases(&tx, Some(&list))?;
        tx.finish()?;
        values
            .into_iter()
            .map(|value| {
                let object = format!(
                    "stored release \"{}\"",
                    value.get("id").and_then(Value::as_str).unwrap_or("")
                );
                Ok(relcal_domain::parse_release_value(catalog, &object, value)?)
            })
            .collect()
    }

    fn load(&self, with_releases: bool) -> Result<Option<Plan>, StoreError> {
        // Read in one transaction so a concurrent writer cannot tear the view.
        let tx = self.conn.unchecked_transaction()?;
        let Some(text) = read(&tx, with_releases)? else {
            return Ok(None);
        };
        tx.finish()?;
        Ok(Some(relcal_domain::parse_plan(&text)?))
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

/// Writes one release (all its rows), keeping its place in the calendar's
/// order; a new one goes to `position`, else to the end.
fn write_release(
    tx: &Transaction<'_>,
    release: &Release,
    position: Option<i64>,
) -> Result<(), StoreError> {
    let existing: Option<i64> = tx
        .query_row(
            "SELECT position FROM releases WHERE id = ?1",
            [release.id.as_str()],
            |r| r.get(0),
        )
        .optional()?;
    let position: i64 = match existing.or(position) {
        Some(p) => p,
        None => tx.query_row(
            "SELECT coalesce(max(position) + 1, 0) FROM releases",
            [],
            |r| r.get(0),
        )?,
    };
    // Child rows go with it (ON DELETE CASCADE); the detail tables stay.
    tx.execute("DELETE FROM releases WHERE id = ?1", [release.id.as_str()])?;
    insert_releases(tx, [(position, release)].into_iter())
}

fn clear(tx: &Transaction<'_>) -> Result<(), StoreError> {
    tx.execute_batch(
        "DELETE FROM checklist_details; DELETE FROM rollback_details; DELETE FROM freeze_overrides; DELETE FROM rollback_steps; DELETE FROM rollback_plans;
         DELETE FROM checklist_items; DELETE FROM approvals; DELETE FROM release_dependencies;
         DELETE FROM release_services; DELETE FROM releases; DELETE FROM freeze_scope;
         DELETE FROM freezes; DELETE FROM environments; DELETE FROM service_dependencies;
         DELETE FROM services; DELETE FROM team_allowed_windows; DELETE FROM teams;
         DELETE FROM calendar;",
    )?;
    Ok(())
}

fn insert_recurrence_fields(r: &Recurrence) -> (String, String, String, String) {
    (
        r.start.to_string(),
        r.duration.as_str().to_owned(),
        r.rule.as_str().to_owned(),
        exdates_json(&r.exdates),
    )
}

fn insert(tx: &Transaction<'_>, plan: &Plan, imported_at: &str) -> Result<(), StoreError> {
    tx.execute(
        "INSERT INTO calendar (id, timezone, imported_at) VALUES (1, ?1, ?2)",
        params![plan.timezone.name(), imported_at],
    )?;
    insert_catalog(tx, plan)?;
    insert_releases(
        tx,
        plan.releases.iter().enumerate().map(|(i, r)| (i as i64, r)),
    )
}

/// Deletes teams, services, environments and freezes (not releases).
fn clear_catalog(tx: &Transaction<'_>) -> Result<(), StoreError> {
    tx.execute_batch(
        "DELETE FROM freeze_scope; DELETE FROM freezes; DELETE FROM environments;
         DELETE FROM service_dependencies; DELETE FROM services;
         DELETE FROM team_allowed_windows; DELETE FROM teams;",
    )?;
    Ok(())
}

/// Inserts teams, services, environments and freezes.
fn insert_catalog(tx: &Transaction<'_>, plan: &Plan) -> Result<(), StoreError> {
    {
        let mut team =
            tx.prepare("INSERT INTO teams (id, position, name, timezone) VALUES (?1, ?2, ?3, ?4)")?;
        let mut window = tx.prepare(
            "INSERT INTO team_allowed_windows (team_id, position, start, duration, rrule, timezone, exdates)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
        )?;
        for (i, t) in plan.teams.iter().enumerate() {
            team.execute(params![
                t.id.as_str(),
                i,
                t.name,
                t.timezone.map(|z| z.name())
            ])?;
            for (j, w) in t.allowed_windows.iter().enumerate() {
                let (start, duration, rrule, exdates) = insert_recurrence_fields(&w.recurrence);
                window.execute(params![
                    t.id.as_str(),
                    j,
                    start,
                    duration,
                    rrule,
                    w.timezone.map(|z| z.name()),
                    exdates
                ])?;
            }
        }
    }
    {
        let mut service =
            tx.prepare("INSERT INTO services (id, position, team_id) VALUES (?1, ?2, ?3)")?;
        for (i, s) in plan.services.iter().enumerate() {
            service.execute(params![s.id.as_str(), i, s.team.as_str()])?;
        }
        // After all services exist: dependencies may point forward.
        let mut dep = tx.prepare(
            "INSERT INTO service_dependencies (service_id, position, depends_on) VALUES (?1, ?2, ?3)",
        )?;
        for s in &plan.services {
            for (j, d) in s.depends_on.iter().enumerate() {
                dep.execute(params![s.id.as_str(), j, d.as_str()])?;
            }
        }
    }
    {
        let mut env = tx.prepare(
            "INSERT INTO environments (id, position, name, production, max_concurrent, required_approvals)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        )?;
        for (i, e) in plan.environments.iter().enumerate() {
            env.execute(params![
                e.id.as_str(),
                i,
                e.name,
                e.production,
                e.max_concurrent,
                e.required_approvals
            ])?;
        }
    }
    {
        let mut freeze = tx.prepare(
            "INSERT INTO freezes (id, position, name, severity, timezone, start, end, duration, rrule, exdates, reason)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
        )?;
        let mut scope = tx.prepare(
            "INSERT INTO freeze_scope (freeze_id, kind, position, ref_id) VALUES (?1, ?2, ?3, ?4)",
        )?;
        for (i, f) in plan.freezes.iter().enumerate() {
            let text = f.schedule.to_text();
            let exdates = Value::from(text.exdates).to_string();
            freeze.execute(params![
                f.id.as_str(),
                i,
                f.name,
                f.severity.as_str(),
                f.timezone.map(|z| z.name()),
                text.start,
                text.end,
                text.duration,
                text.rrule,
                exdates,
                f.reason
            ])?;
            let kinds: [(&str, Vec<&str>); 3] = [
                ("team", f.scope.teams.iter().map(|x| x.as_str()).collect()),
                (
                    "service",
                    f.scope.services.iter().map(|x| x.as_str()).collect(),
                ),
                (
                    "environment",
                    f.scope.environments.iter().map(|x| x.as_str()).collect(),
                ),
            ];
            for (kind, ids) in kinds {
                for (j, id) in ids.into_iter().enumerate() {
                    scope.execute(params![f.id.as_str(), kind, j, id])?;
                }
            }
        }
    }
    Ok(())
}

fn insert_releases<'r>(
    tx: &Transaction<'_>,
    releases: impl Iterator<Item = (i64, &'r Release)>,
) -> Result<(), StoreError> {
    let mut release = tx.prepare(
        "INSERT INTO releases (id, position, title, team_id, environment_id, start, end, start_utc, end_utc,
                               status, owner, version, artifact, services_json, depends_json, readiness)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16)",
    )?;
    let mut service = tx.prepare(
        "INSERT INTO release_services (release_id, position, service_id) VALUES (?1, ?2, ?3)",
    )?;
    let mut dep = tx.prepare(
        "INSERT INTO release_dependencies (release_id, position, depends_on) VALUES (?1, ?2, ?3)",
    )?;
    let mut approval = tx.prepare(
        "INSERT INTO approvals (release_id, position, approver, at) VALUES (?1, ?2, ?3, ?4)",
    )?;
    let mut item = tx.prepare(
        "INSERT INTO checklist_items (release_id, position, item_id, text, required, done)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
    )?;
    let mut rollback = tx.prepare(
        "INSERT INTO rollback_plans (release_id, owner, time_budget_minutes, tested) VALUES (?1, ?2, ?3, ?4)",
    )?;
    let mut step =
        tx.prepare("INSERT INTO rollback_steps (release_id, position, step) VALUES (?1, ?2, ?3)")?;
    let mut exception = tx.prepare(
        "INSERT INTO freeze_overrides (release_id, position, freeze_id, reason, approver)
         VALUES (?1, ?2, ?3, ?4, ?5)",
    )?;
    for (i, r) in releases {
        let id = r.id.as_str();
        release.execute(params![
            id,
            i,
            r.title,
            r.team.as_str(),
            r.environment.as_str(),
            r.start.value.to_string(),
            r.end.value.to_string(),
            r.start.utc.timestamp(),
            r.end.utc.timestamp(),
            r.status.as_str(),
            r.owner,
            r.version,
            r.artifact,
            Value::from(strings(&r.services)).to_string(),
            Value::from(strings(&r.depends_on)).to_string(),
            r.readiness_score()
        ])?;
        for (j, s) in r.services.iter().enumerate() {
            service.execute(params![id, j, s.as_str()])?;
        }
        for (j, d) in r.depends_on.iter().enumerate() {
            dep.execute(params![id, j, d.as_str()])?;
        }
        for (j, a) in r.approvals.iter().enumerate() {
            approval.execute(params![id, j, a.by, a.at.value.to_string()])?;
        }
        for (j, c) in r.checklist.iter().enumerate() {
            item.execute(params![id, j, c.id, c.text, c.required, c.done])?;
        }
        if let Some(rb) = &r.rollback {
            rollback.execute(params![id, rb.owner, rb.time_budget_minutes, rb.tested])?;
            for (j, s) in rb.steps.iter().enumerate() {
                step.execute(params![id, j, s])?;
            }
        }
        for (j, o) in r.overrides.iter().enumerate() {
            exception.execute(params![id, j, o.freeze.as_str(), o.reason, o.by])?;
        }
    }
    Ok(())
}

/// Inserts `value` under `key` unless it is null.
fn put(obj: &mut Map<String, Value>, key: &str, value: Value) {
    if !value.is_null() {
        obj.insert(key.to_owned(), value);
    }
}

/// Rows of a child table grouped by parent id, in position order.
fn grouped(
    conn: &Connection,
    sql: &str,
    row: impl Fn(&rusqlite::Row<'_>) -> rusqlite::Result<Value>,
) -> Result<std::collections::HashMap<String, Vec<Value>>, StoreError> {
    grouped_of(conn, sql, None, row)
}

/// [`grouped`], with `{only}` in `sql` replaced by a filter on `parent`
/// being one of the ids in the JSON list `only` (or by nothing).
fn grouped_of(
    conn: &Connection,
    sql: &str,
    only: Option<(&str, &str)>,
    row: impl Fn(&rusqlite::Row<'_>) -> rusqlite::Result<Value>,
) -> Result<std::collections::HashMap<String, Vec<Value>>, StoreError> {
    let mut out: std::collections::HashMap<String, Vec<Value>> = Default::default();
    let (sql, ids) = only_filter(sql, only);
    let mut stmt = conn.prepare(&sql)?;
    let mut rows = match ids {
        Some(ids) => stmt.query([ids])?,
        None => stmt.query([])?,
    };
    while let Some(r) = rows.next()? {
        let parent: String = r.get(0)?;
        out.entry(parent).or_default().push(row(r)?);
    }
    Ok(out)
}

/// `sql` with `{only}` replaced: by `WHERE column IN (the ids of a JSON
/// list)`, which the primary keys serve, or by nothing for every row.
fn only_filter<'a>(sql: &str, only: Option<(&str, &'a str)>) -> (String, Option<&'a str>) {
    match only {
        Some((column, ids)) => (
            sql.replace(
                "{only}",
                &format!("WHERE {column} IN (SELECT value FROM json_each(?1))"),
            ),
            Some(ids),
        ),
        None => (sql.replace("{only}", ""), None),
    }
}

fn parse_json_list(text: String) -> Value {
    serde_json::from_str(&text).unwrap_or(Value::String(text))
}

/// Reads the calendar back in the plan file's shape, for the domain to validate.
fn read(conn: &Connection, with_releases: bool) -> Result<Option<String>, StoreError> {
    let Some(timezone) = conn
        .query_row("SELECT timezone FROM calendar WHERE id = 1", [], |r| {
            r.get::<_, String>(0)
        })
        .optional()?
    else {
        return Ok(None);
    };

    let mut windows = grouped(
        conn,
        "SELECT team_id, start, duration, rrule, timezone, exdates FROM team_allowed_windows
         ORDER BY team_id, position",
        |r| {
            let mut w = Map::new();
            put(&mut w, "start", Value::String(r.get(1)?));
            put(&mut w, "duration", Value::String(r.get(2)?));
            put(&mut w, "rrule", Value::String(r.get(3)?));
            put(&mut w, "timezone", r.get::<_, Option<String>>(4)?.into());
            put(&mut w, "exdates", parse_json_list(r.get(5)?));
            Ok(Value::Object(w))
        },
    )?;
    let mut teams = Vec::new();
    let mut stmt = conn.prepare("SELECT id, name, timezone FROM teams ORDER BY position")?;
    let mut rows = stmt.query([])?;
    while let Some(r) = rows.next()? {
        let id: String = r.get(0)?;
        let mut t = Map::new();
        put(&mut t, "name", Value::String(r.get(1)?));
        put(&mut t, "timezone", r.get::<_, Option<String>>(2)?.into());
        put(
            &mut t,
            "allowed_windows",
            windows.remove(&id).unwrap_or_default().into(),
        );
        t.insert("id".into(), id.into());
        teams.push(Value::Object(t));
    }

    let mut service_deps = grouped(
        conn,
        "SELECT service_id, depends_on FROM service_dependencies ORDER BY service_id, position",
        |r| Ok(Value::String(r.get(1)?)),
    )?;
    let mut services = Vec::new();
    let mut stmt = conn.prepare("SELECT id, team_id FROM services ORDER BY position")?;
    let mut rows = stmt.query([])?;
    while let Some(r) = rows.next()? {
        let id: String = r.get(0)?;
        let deps = service_deps.remove(&id).unwrap_or_default();
        services.push(json!({ "id": id, "team": r.get::<_, String>(1)?, "depends_on": deps }));
    }

    let mut environments = Vec::new();
    let mut stmt = conn.prepare(
        "SELECT id, name, production, max_concurrent, required_approvals FROM environments ORDER BY position",
    )?;
    let mut rows = stmt.query([])?;
    while let Some(r) = rows.next()? {
        let mut e = Map::new();
        put(&mut e, "id", Value::String(r.get(0)?));
        put(&mut e, "name", Value::String(r.get(1)?));
        put(&mut e, "production", r.get::<_, bool>(2)?.into());
        put(&mut e, "max_concurrent", r.get::<_, Option<u32>>(3)?.into());
        put(&mut e, "required_approvals", r.get::<_, u32>(4)?.into());
        environments.push(Value::Object(e));
    }

    let mut scopes = grouped(
        conn,
        "SELECT freeze_id, kind, ref_id FROM freeze_scope ORDER BY freeze_id, kind, position",
        |r| Ok(json!([r.get::<_, String>(1)?, r.get::<_, String>(2)?])),
    )?;
    let mut freezes = Vec::new();
    let mut stmt = conn.prepare(
        "SELECT id, name, severity, timezone, start, end, duration, rrule, exdates, reason
         FROM freezes ORDER BY position",
    )?;
    let mut rows = stmt.query([])?;
    while let Some(r) = rows.next()? {
        let id: String = r.get(0)?;
        let mut f = Map::new();
        put(&mut f, "name", Value::String(r.get(1)?));
        put(&mut f, "severity", Value::String(r.get(2)?));
        put(&mut f, "timezone", r.get::<_, Option<String>>(3)?.into());
        put(&mut f, "start", Value::String(r.get(4)?));
        put(&mut f, "end", r.get::<_, Option<String>>(5)?.into());
        put(&mut f, "duration", r.get::<_, Option<String>>(6)?.into());
        put(&mut f, "rrule", r.get::<_, Option<String>>(7)?.into());
        put(&mut f, "exdates", parse_json_list(r.get(8)?));
        put(&mut f, "reason", r.get::<_, Option<String>>(9)?.into());
        let mut scope = Map::new();
        for entry in scopes.remove(&id).unwrap_or_default() {
            let key = match entry[0].as_str() {
                Some("team") => "teams",
                Some("service") => "services",
                _ => "environments",
            };
            if let Value::Array(list) = scope.entry(key).or_insert_with(|| json!([])) {
                list.push(entry[1].clone());
            }
        }
        if !scope.is_empty() {
            f.insert("scope".into(), Value::Object(scope));
        }
        f.insert("id".into(), id.into());
        freezes.push(Value::Object(f));
    }

    let catalog = json!({
        "version": relcal_domain::PLAN_FORMAT_VERSION,
        "timezone": timezone,
        "teams": teams,
        "services": services,
        "environments": environments,
        "freezes": freezes,
    });
    // The releases are written out as text one by one, each as soon as it
    // is read: a calendar of 100,000 releases never exists as `Value`s (a
    // tenth of the memory, and the strict text parser reads it back).
    let mut text = catalog.to_string();
    text.pop(); // the object's closing brace
    text.push_str(",\"releases\":[");
    if with_releases {
        let mut first = true;
        for_each_release(conn, None, |release| {
            if !first {
                text.push(',');
            }
            first = false;
            text.push_str(&release.to_string());
            Ok(())
        })?;
    }
    text.push_str("]}");
    Ok(Some(text))
}

fn read_releases(conn: &Connection, only: Option<&str>) -> Result<Vec<Value>, StoreError> {
    let mut out = Vec::new();
    for_each_release(conn, only, |release| {
        out.push(release);
        Ok(())
    })?;
    Ok(out)
}

/// Each stored release (or each of the JSON list of ids `only`) in the plan
/// file's shape, in plan order.
fn for_each_release(
    conn: &Connection,
    only: Option<&str>,
    mut each: impl FnMut(Value) -> Result<(), StoreError>,
) -> Result<(), StoreError> {
    let by_release = only.map(|ids| ("release_id", ids));
    let mut services = grouped_of(
        conn,
        "SELECT release_id, service_id FROM release_services {only} ORDER BY release_id, position",
        by_release,
        |r| Ok(Value::String(r.get(1)?)),
    )?;
    let mut deps = grouped_of(
        conn,
        "SELECT release_id, depends_on FROM release_dependencies {only} ORDER BY release_id, position",
        by_release,
        |r| Ok(Value::String(r.get(1)?)),
    )?;
    let mut approvals = grouped_of(
        conn,
        "SELECT release_id, approver, at FROM approvals {only} ORDER BY release_id, position",
        by_release,
        |r| Ok(json!({ "by": r.get::<_, String>(1)?, "at": r.get::<_, String>(2)? })),
    )?;
    let mut checklist = grouped_of(
        conn,
        "SELECT release_id, item_id, text, required, done FROM checklist_items {only} ORDER BY release_id, position",
        by_release,
        |r| {
            Ok(json!({
                "id": r.get::<_, String>(1)?, "text": r.get::<_, String>(2)?,
                "required": r.get::<_, bool>(3)?, "done": r.get::<_, bool>(4)?,
            }))
        },
    )?;
    let mut steps = grouped_of(
        conn,
        "SELECT release_id, step FROM rollback_steps {only} ORDER BY release_id, position",
        by_release,
        |r| Ok(Value::String(r.get(1)?)),
    )?;
    let mut rollbacks = grouped_of(
        conn,
        "SELECT release_id, owner, time_budget_minutes, tested FROM rollback_plans {only}",
        by_release,
        |r| {
            let mut rb = Map::new();
            put(&mut rb, "owner", r.get::<_, Option<String>>(1)?.into());
            put(
                &mut rb,
                "time_budget_minutes",
                r.get::<_, Option<u32>>(2)?.into(),
            );
            put(&mut rb, "tested", r.get::<_, bool>(3)?.into());
            Ok(Value::Object(rb))
        },
    )?;
    let mut overrides = grouped_of(
        conn,
        "SELECT release_id, freeze_id, reason, approver FROM freeze_overrides {only} ORDER BY release_id, position",
        by_release,
        |r| {
            Ok(json!({
                "freeze": r.get::<_, String>(1)?, "reason": r.get::<_, String>(2)?,
                "by": r.get::<_, String>(3)?,
            }))
        },
    )?;

    let (sql, ids) = only_filter(
        "SELECT id, title, team_id, environment_id, start, end, status, owner, version, artifact
         FROM releases {only} ORDER BY position",
        only.map(|ids| ("id", ids)),
    );
    let mut stmt = conn.prepare(&sql)?;
    let mut rows = match ids {
        Some(ids) => stmt.query([ids])?,
        None => stmt.query([])?,
    };
    while let Some(r) = rows.next()? {
        let id: String = r.get(0)?;
        let mut o = Map::new();
        put(&mut o, "title", Value::String(r.get(1)?));
        put(&mut o, "team", Value::String(r.get(2)?));
        put(
            &mut o,
            "services",
            services.remove(&id).unwrap_or_default().into(),
        );
        put(&mut o, "environment", Value::String(r.get(3)?));
        put(&mut o, "start", Value::String(r.get(4)?));
        put(&mut o, "end", Value::String(r.get(5)?));
        put(&mut o, "status", Value::String(r.get(6)?));
        put(&mut o, "owner", r.get::<_, Option<String>>(7)?.into());
        put(&mut o, "version", r.get::<_, Option<String>>(8)?.into());
        put(&mut o, "artifact", r.get::<_, Option<String>>(9)?.into());
        put(
            &mut o,
            "depends_on",
            deps.remove(&id).unwrap_or_default().into(),
        );
        put(
            &mut o,
            "approvals",
            approvals.remove(&id).unwrap_or_default().into(),
        );
        put(
            &mut o,
            "checklist",
            checklist.remove(&id).unwrap_or_default().into(),
        );
        put(
            &mut o,
            "overrides",
            overrides.remove(&id).unwrap_or_default().into(),
        );
        if let Some(Value::Object(mut rb)) = rollbacks.remove(&id).and_then(|mut v| v.pop()) {
            rb.insert("steps".into(), steps.remove(&id).unwrap_or_default().into());
            o.insert("rollback".into(), Value::Object(rb));
        }
        o.insert("id".into(), id.into());
        each(Value::Object(o))?;
    }
    Ok(())
}
