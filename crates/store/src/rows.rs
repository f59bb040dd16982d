//! A calendar written as rows: the catalog's tables and each release's
//! rows (its services and dependencies also as JSON arrays, for views).
//! Every writer of the calendar's tables is here.

use crate::plan::{exdates_json, strings};
use crate::StoreError;
use relcal_domain::{Plan, Recurrence, Release};
use rusqlite::{params, OptionalExtension};
use serde_json::Value;

/// Writes one release (all its rows), keeping its place in the calendar's
/// order; a new one goes to `position`, else to the end.
pub(crate) fn write_release(
    tx: &rusqlite::Connection,
    release: &Release,
    position: Option<i64>,
) -> Result<(), StoreError> {
    let existing: Option<i64> = tx
        .prepare_cached("SELECT position FROM releases WHERE id = ?1")?
        .query_row([release.id.as_str()], |r| r.get(0))
        .optional()?;
    let position: i64 = match existing.or(position) {
        Some(p) => p,
        None => tx
            .prepare_cached("SELECT coalesce(max(position) + 1, 0) FROM releases")?
            .query_row([], |r| r.get(0))?,
    };
    // Child rows go with it (ON DELETE CASCADE); the detail tables stay.
    tx.prepare_cached("DELETE FROM releases WHERE id = ?1")?
        .execute([release.id.as_str()])?;
    insert_releases(tx, [(position, release)].into_iter())
}

pub(crate) fn clear(tx: &rusqlite::Connection) -> Result<(), StoreError> {
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

pub(crate) fn insert_recurrence_fields(r: &Recurrence) -> (String, String, String, String) {
    (
        r.start.to_string(),
        r.duration.as_str().to_owned(),
        r.rule.as_str().to_owned(),
        exdates_json(&r.exdates),
    )
}

pub(crate) fn insert(
    tx: &rusqlite::Connection,
    plan: &Plan,
    imported_at: &str,
) -> Result<(), StoreError> {
    tx.prepare_cached("INSERT INTO calendar (id, timezone, imported_at) VALUES (1, ?1, ?2)")?
        .execute(params![plan.timezone.name(), imported_at])?;
    insert_catalog(tx, plan)?;
    insert_releases(
        tx,
        plan.releases.iter().enumerate().map(|(i, r)| (i as i64, r)),
    )
}

/// Deletes teams, services, environments and freezes (not releases).
pub(crate) fn clear_catalog(tx: &rusqlite::Connection) -> Result<(), StoreError> {
    tx.execute_batch(
        "DELETE FROM freeze_scope; DELETE FROM freezes; DELETE FROM environments;
         DELETE FROM service_dependencies; DELETE FROM services;
         DELETE FROM team_allowed_windows; DELETE FROM teams;",
    )?;
    Ok(())
}

/// Inserts teams, services, environments and freezes.
pub(crate) fn insert_catalog(tx: &rusqlite::Connection, plan: &Plan) -> Result<(), StoreError> {
    {
        let mut team = tx.prepare_cached(
            "INSERT INTO teams (id, position, name, timezone) VALUES (?1, ?2, ?3, ?4)",
        )?;
        let mut window = tx.prepare_cached(
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
            tx.prepare_cached("INSERT INTO services (id, position, team_id) VALUES (?1, ?2, ?3)")?;
        for (i, s) in plan.services.iter().enumerate() {
            service.execute(params![s.id.as_str(), i, s.team.as_str()])?;
        }
        // After all services exist: dependencies may point forward.
        let mut dep = tx.prepare_cached(
            "INSERT INTO service_dependencies (service_id, position, depends_on) VALUES (?1, ?2, ?3)",
        )?;
        for s in &plan.services {
            for (j, d) in s.depends_on.iter().enumerate() {
                dep.execute(params![s.id.as_str(), j, d.as_str()])?;
            }
        }
    }
    {
        let mut env = tx.prepare_cached(
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
        let mut freeze = tx.prepare_cached(
            "INSERT INTO freezes (id, position, name, severity, timezone, start, end, duration, rrule, exdates, reason)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
        )?;
        let mut scope = tx.prepare_cached(
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

pub(crate) fn insert_releases<'r>(
    tx: &rusqlite::Connection,
    releases: impl Iterator<Item = (i64, &'r Release)>,
) -> Result<(), StoreError> {
    let mut release = tx.prepare_cached(
        "INSERT INTO releases (id, position, title, team_id, environment_id, start, end, start_utc, end_utc,
                               status, owner, version, artifact, services_json, depends_json, readiness)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16)",
    )?;
    for (i, r) in releases {
        let row = ReleaseRow::of(r);
        let id = r.id.as_str();
        release.execute(rusqlite::params_from_iter(
            [&id as &dyn rusqlite::ToSql, &i]
                .into_iter()
                .chain(row.values()),
        ))?;
        insert_parts(tx, r, Parts::ALL)?;
    }
    Ok(())
}

/// A release's own row after its id (and position), as both the insert and
/// the in-place update write it, in the columns' order: title, team_id,
/// environment_id, start, end, start_utc, end_utc, status, owner, version,
/// artifact, services_json, depends_json, readiness.
struct ReleaseRow<'r> {
    r: &'r Release,
    team: &'r str,
    environment: &'r str,
    status: &'static str,
    start: String,
    end: String,
    start_utc: i64,
    end_utc: i64,
    services: String,
    depends: String,
    readiness: u8,
}

impl<'r> ReleaseRow<'r> {
    fn of(r: &'r Release) -> Self {
        ReleaseRow {
            r,
            team: r.team.as_str(),
            environment: r.environment.as_str(),
            status: r.status.as_str(),
            start: r.start.value.to_string(),
            end: r.end.value.to_string(),
            start_utc: r.start.utc.timestamp(),
            end_utc: r.end.utc.timestamp(),
            services: Value::from(strings(&r.services)).to_string(),
            depends: Value::from(strings(&r.depends_on)).to_string(),
            readiness: r.readiness_score(),
        }
    }

    fn values(&self) -> [&dyn rusqlite::ToSql; 14] {
        let r = self.r;
        [
            &r.title,
            &self.team,
            &self.environment,
            &self.start,
            &self.end,
            &self.start_utc,
            &self.end_utc,
            &self.status,
            &r.owner,
            &r.version,
            &r.artifact,
            &self.services,
            &self.depends,
            &self.readiness,
        ]
    }
}

/// Which of a release's row sets to write.
#[derive(Clone, Copy)]
struct Parts {
    services: bool,
    dependencies: bool,
    approvals: bool,
    checklist: bool,
    rollback: bool,
    overrides: bool,
}

impl Parts {
    const ALL: Parts = Parts {
        services: true,
        dependencies: true,
        approvals: true,
        checklist: true,
        rollback: true,
        overrides: true,
    };

    /// The row sets that differ between `old` and `new`.
    fn changed(old: &Release, new: &Release) -> Parts {
        Parts {
            services: old.services != new.services,
            dependencies: old.depends_on != new.depends_on,
            approvals: old.approvals != new.approvals,
            checklist: old.checklist != new.checklist,
            rollback: old.rollback != new.rollback,
            overrides: old.overrides != new.overrides,
        }
    }
}

/// Inserts the release's rows of the sets in `parts` (the release's own
/// row is there, and those sets' old rows are gone).
fn insert_parts(tx: &rusqlite::Connection, r: &Release, parts: Parts) -> Result<(), StoreError> {
    let id = r.id.as_str();
    if parts.services {
        let mut service = tx.prepare_cached(
            "INSERT INTO release_services (release_id, position, service_id) VALUES (?1, ?2, ?3)",
        )?;
        for (j, s) in r.services.iter().enumerate() {
            service.execute(params![id, j, s.as_str()])?;
        }
    }
    if parts.dependencies {
        let mut dep = tx.prepare_cached(
            "INSERT INTO release_dependencies (release_id, position, depends_on) VALUES (?1, ?2, ?3)",
        )?;
        for (j, d) in r.depends_on.iter().enumerate() {
            dep.execute(params![id, j, d.as_str()])?;
        }
    }
    if parts.approvals {
        let mut approval = tx.prepare_cached(
            "INSERT INTO approvals (release_id, position, approver, at) VALUES (?1, ?2, ?3, ?4)",
        )?;
        for (j, a) in r.approvals.iter().enumerate() {
            approval.execute(params![id, j, a.by, a.at.value.to_string()])?;
        }
    }
    if parts.checklist {
        let mut item = tx.prepare_cached(
            "INSERT INTO checklist_items (release_id, position, item_id, text, required, done)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        )?;
        for (j, c) in r.checklist.iter().enumerate() {
            item.execute(params![id, j, c.id, c.text, c.required, c.done])?;
        }
    }
    if parts.rollback {
        if let Some(rb) = &r.rollback {
            tx.prepare_cached(
                "INSERT INTO rollback_plans (release_id, owner, time_budget_minutes, tested) VALUES (?1, ?2, ?3, ?4)",
            )?
            .execute(params![id, rb.owner, rb.time_budget_minutes, rb.tested])?;
            let mut step = tx.prepare_cached(
                "INSERT INTO rollback_steps (release_id, position, step) VALUES (?1, ?2, ?3)",
            )?;
            for (j, s) in rb.steps.iter().enumerate() {
                step.execute(params![id, j, s])?;
            }
        }
    }
    if parts.overrides {
        let mut exception = tx.prepare_cached(
            "INSERT INTO freeze_overrides (release_id, position, freeze_id, reason, approver, requested_by, expires)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
        )?;
        for (j, o) in r.overrides.iter().enumerate() {
            exception.execute(params![
                id,
                j,
                o.freeze.as_str(),
                o.reason,
                o.by,
                o.requested_by,
                o.expires.as_ref().map(|t| t.value.to_string())
            ])?;
        }
    }
    Ok(())
}

/// Rewrites a stored release `old` as `new` in place: its own row updated,
/// and only the row sets that changed deleted and inserted again (an
/// owner changed is one UPDATE). False when no such release is stored.
pub(crate) fn update_release(
    tx: &rusqlite::Connection,
    old: &Release,
    new: &Release,
) -> Result<bool, StoreError> {
    let id = new.id.as_str();
    let updated = tx
        .prepare_cached(
            "UPDATE releases SET title = ?2, team_id = ?3, environment_id = ?4, start = ?5, end = ?6,
               start_utc = ?7, end_utc = ?8, status = ?9, owner = ?10, version = ?11, artifact = ?12,
               services_json = ?13, depends_json = ?14, readiness = ?15
             WHERE id = ?1",
        )?
        .execute(rusqlite::params_from_iter(
            [&id as &dyn rusqlite::ToSql]
                .into_iter()
                .chain(ReleaseRow::of(new).values()),
        ))?;
    if updated == 0 {
        return Ok(false);
    }
    let parts = Parts::changed(old, new);
    let clear = |table: &str| -> Result<(), StoreError> {
        tx.prepare_cached(&format!("DELETE FROM {table} WHERE release_id = ?1"))?
            .execute([id])?;
        Ok(())
    };
    if parts.services {
        clear("release_services")?;
    }
    if parts.dependencies {
        clear("release_dependencies")?;
    }
    if parts.approvals {
        clear("approvals")?;
    }
    if parts.checklist {
        clear("checklist_items")?;
    }
    if parts.rollback {
        clear("rollback_steps")?;
        clear("rollback_plans")?;
    }
    if parts.overrides {
        clear("freeze_overrides")?;
    }
    insert_parts(tx, new, parts)?;
    Ok(true)
}
