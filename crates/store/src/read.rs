//! A calendar read back as a typed plan document (`relcal_domain::wire`),
//! straight from its rows, for the domain to validate: no JSON in between.

use crate::StoreError;
use relcal_domain::wire::{
    WireApproval, WireChecklistItem, WireEnvironment, WireFreeze, WireOverride, WirePlan,
    WireRecurrence, WireRelease, WireRollback, WireScope, WireService, WireTeam,
};
use relcal_domain::{PlanError, PLAN_FORMAT_VERSION};
use rusqlite::{Connection, OptionalExtension};
use std::collections::HashMap;

/// Rows of a child table grouped by parent id (column 0), in query order.
fn grouped<T>(
    conn: &Connection,
    sql: &str,
    only: Option<(&str, &str)>,
    row: impl Fn(&rusqlite::Row<'_>) -> rusqlite::Result<T>,
) -> Result<HashMap<String, Vec<T>>, StoreError> {
    let mut out: HashMap<String, Vec<T>> = HashMap::new();
    let (sql, ids) = only_filter(sql, only);
    let mut stmt = conn.prepare_cached(&sql)?;
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
pub(crate) fn only_filter<'a>(
    sql: &str,
    only: Option<(&str, &'a str)>,
) -> (String, Option<&'a str>) {
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

/// A stored JSON list of strings (`exdates`), or the error naming it.
fn string_list(text: &str, object: impl FnOnce() -> String) -> Result<Vec<String>, StoreError> {
    serde_json::from_str(text).map_err(|_| {
        StoreError::Corrupt(PlanError::single(
            &object(),
            "exdates",
            format!("stored as {text:?}, not a JSON list of strings"),
        ))
    })
}

/// Reads the calendar back as a plan document, with or without its releases.
pub(crate) fn read(conn: &Connection, with_releases: bool) -> Result<Option<WirePlan>, StoreError> {
    let Some(timezone) = conn
        .prepare_cached("SELECT timezone FROM calendar WHERE id = 1")?
        .query_row([], |r| r.get::<_, String>(0))
        .optional()?
    else {
        return Ok(None);
    };

    let windows = grouped(
        conn,
        "SELECT team_id, start, duration, rrule, timezone, exdates FROM team_allowed_windows
         ORDER BY team_id, position",
        None,
        |r| {
            Ok((
                r.get(1)?,
                r.get(2)?,
                r.get(3)?,
                r.get(4)?,
                r.get::<_, String>(5)?,
            ))
        },
    )?;
    let mut windows: HashMap<String, Vec<WireRecurrence>> = windows
        .into_iter()
        .map(|(team, rows)| {
            let list = rows
                .into_iter()
                .map(|(start, duration, rrule, timezone, exdates)| {
                    Ok(WireRecurrence {
                        start,
                        duration,
                        rrule,
                        timezone,
                        exdates: string_list(&exdates, || {
                            format!("stored allowed window of team \"{team}\"")
                        })?,
                    })
                })
                .collect::<Result<Vec<_>, StoreError>>()?;
            Ok((team, list))
        })
        .collect::<Result<_, StoreError>>()?;
    let mut teams = Vec::new();
    let mut stmt = conn.prepare_cached("SELECT id, name, timezone FROM teams ORDER BY position")?;
    let mut rows = stmt.query([])?;
    while let Some(r) = rows.next()? {
        let id: String = r.get(0)?;
        teams.push(WireTeam {
            allowed_windows: windows.remove(&id).unwrap_or_default(),
            id,
            name: r.get(1)?,
            timezone: r.get(2)?,
        });
    }

    let mut service_deps = grouped(
        conn,
        "SELECT service_id, depends_on FROM service_dependencies ORDER BY service_id, position",
        None,
        |r| r.get::<_, String>(1),
    )?;
    let mut services = Vec::new();
    let mut stmt = conn.prepare_cached("SELECT id, team_id FROM services ORDER BY position")?;
    let mut rows = stmt.query([])?;
    while let Some(r) = rows.next()? {
        let id: String = r.get(0)?;
        services.push(WireService {
            depends_on: service_deps.remove(&id).unwrap_or_default(),
            id,
            team: r.get(1)?,
        });
    }

    let mut environments = Vec::new();
    let mut stmt = conn.prepare_cached(
        "SELECT id, name, production, max_concurrent, required_approvals FROM environments ORDER BY position",
    )?;
    let mut rows = stmt.query([])?;
    while let Some(r) = rows.next()? {
        environments.push(WireEnvironment {
            id: r.get(0)?,
            name: r.get(1)?,
            production: r.get(2)?,
            max_concurrent: r.get(3)?,
            required_approvals: r.get(4)?,
        });
    }

    let mut scopes = grouped(
        conn,
        "SELECT freeze_id, kind, ref_id FROM freeze_scope ORDER BY freeze_id, kind, position",
        None,
        |r| Ok((r.get::<_, String>(1)?, r.get::<_, String>(2)?)),
    )?;
    let mut freezes = Vec::new();
    let mut stmt = conn.prepare_cached(
        "SELECT id, name, severity, timezone, start, end, duration, rrule, exdates, reason
         FROM freezes ORDER BY position",
    )?;
    let mut rows = stmt.query([])?;
    while let Some(r) = rows.next()? {
        let id: String = r.get(0)?;
        let scope = scopes.remove(&id).map(|entries| {
            let mut scope = WireScope::default();
            for (kind, ref_id) in entries {
                match kind.as_str() {
                    "team" => scope.teams.push(ref_id),
                    "service" => scope.services.push(ref_id),
                    _ => scope.environments.push(ref_id),
                }
            }
            scope
        });
        let exdates: String = r.get(8)?;
        freezes.push(WireFreeze {
            exdates: string_list(&exdates, || format!("stored freeze \"{id}\""))?,
            id,
            name: r.get(1)?,
            severity: r.get(2)?,
            timezone: r.get(3)?,
            start: r.get(4)?,
            end: r.get(5)?,
            duration: r.get(6)?,
            rrule: r.get(7)?,
            scope,
            reason: r.get(9)?,
        });
    }

    let releases = if with_releases {
        read_releases(conn, None)?
    } else {
        Vec::new()
    };
    Ok(Some(WirePlan {
        version: PLAN_FORMAT_VERSION,
        timezone,
        teams,
        services,
        environments,
        freezes,
        releases,
    }))
}

/// The stored releases (or those of the JSON list of ids `only`) in plan
/// order, as plan documents.
pub(crate) fn read_releases(
    conn: &Connection,
    only: Option<&str>,
) -> Result<Vec<WireRelease>, StoreError> {
    let by_release = only.map(|ids| ("release_id", ids));
    let mut services = grouped(
        conn,
        "SELECT release_id, service_id FROM release_services {only} ORDER BY release_id, position",
        by_release,
        |r| r.get::<_, String>(1),
    )?;
    let mut deps = grouped(
        conn,
        "SELECT release_id, depends_on FROM release_dependencies {only} ORDER BY release_id, position",
        by_release,
        |r| r.get::<_, String>(1),
    )?;
    let mut approvals = grouped(
        conn,
        "SELECT release_id, approver, at FROM approvals {only} ORDER BY release_id, position",
        by_release,
        |r| {
            Ok(WireApproval {
                by: r.get(1)?,
                at: r.get(2)?,
            })
        },
    )?;
    let mut checklist = grouped(
        conn,
        "SELECT release_id, item_id, text, required, done FROM checklist_items {only} ORDER BY release_id, position",
        by_release,
        |r| {
            Ok(WireChecklistItem {
                id: r.get(1)?,
                text: r.get(2)?,
                required: r.get(3)?,
                done: r.get(4)?,
            })
        },
    )?;
    let mut steps = grouped(
        conn,
        "SELECT release_id, step FROM rollback_steps {only} ORDER BY release_id, position",
        by_release,
        |r| r.get::<_, String>(1),
    )?;
    let mut rollbacks = grouped(
        conn,
        "SELECT release_id, owner, time_budget_minutes, tested FROM rollback_plans {only}",
        by_release,
        |r| {
            Ok(WireRollback {
                steps: Vec::new(),
                owner: r.get(1)?,
                time_budget_minutes: r.get(2)?,
                tested: r.get(3)?,
            })
        },
    )?;
    let mut overrides = grouped(
        conn,
        "SELECT release_id, freeze_id, reason, approver, requested_by, expires FROM freeze_overrides {only} ORDER BY release_id, position",
        by_release,
        |r| {
            Ok(WireOverride {
                freeze: r.get(1)?,
                reason: r.get(2)?,
                by: r.get(3)?,
                requested_by: r.get(4)?,
                expires: r.get(5)?,
            })
        },
    )?;

    let (sql, ids) = only_filter(
        "SELECT id, title, team_id, environment_id, start, end, status, owner, version, artifact
         FROM releases {only} ORDER BY position",
        only.map(|ids| ("id", ids)),
    );
    let mut stmt = conn.prepare_cached(&sql)?;
    let mut rows = match ids {
        Some(ids) => stmt.query([ids])?,
        None => stmt.query([])?,
    };
    let mut out = Vec::new();
    while let Some(r) = rows.next()? {
        let id: String = r.get(0)?;
        let rollback = rollbacks
            .remove(&id)
            .and_then(|mut v| v.pop())
            .map(|mut rb| {
                rb.steps = steps.remove(&id).unwrap_or_default();
                rb
            });
        out.push(WireRelease {
            title: r.get(1)?,
            team: r.get(2)?,
            services: services.remove(&id).unwrap_or_default(),
            environment: r.get(3)?,
            start: r.get(4)?,
            end: r.get(5)?,
            status: r.get(6)?,
            owner: r.get(7)?,
            version: r.get(8)?,
            artifact: r.get(9)?,
            depends_on: deps.remove(&id).unwrap_or_default(),
            approvals: approvals.remove(&id).unwrap_or_default(),
            checklist: checklist.remove(&id).unwrap_or_default(),
            overrides: overrides.remove(&id).unwrap_or_default(),
            rollback,
            id,
        });
    }
    Ok(out)
}
