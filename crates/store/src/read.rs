//! A calendar read back as plan-file text, straight from its rows (one
//! release at a time, never the whole calendar as JSON values), for the
//! domain's strict parser.

use crate::StoreError;
use rusqlite::{Connection, OptionalExtension};
use serde_json::{json, Map, Value};

/// Inserts `value` under `key` unless it is null.
pub(crate) fn put(obj: &mut Map<String, Value>, key: &str, value: Value) {
    if !value.is_null() {
        obj.insert(key.to_owned(), value);
    }
}

/// Rows of a child table grouped by parent id, in position order.
pub(crate) fn grouped(
    conn: &Connection,
    sql: &str,
    row: impl Fn(&rusqlite::Row<'_>) -> rusqlite::Result<Value>,
) -> Result<std::collections::HashMap<String, Vec<Value>>, StoreError> {
    grouped_of(conn, sql, None, row)
}

/// [`grouped`], with `{only}` in `sql` replaced by a filter on `parent`
/// being one of the ids in the JSON list `only` (or by nothing).
pub(crate) fn grouped_of(
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

pub(crate) fn parse_json_list(text: String) -> Value {
    serde_json::from_str(&text).unwrap_or(Value::String(text))
}

/// Reads the calendar back in the plan file's shape, for the domain to validate.
pub(crate) fn read(conn: &Connection, with_releases: bool) -> Result<Option<String>, StoreError> {
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

pub(crate) fn read_releases(
    conn: &Connection,
    only: Option<&str>,
) -> Result<Vec<Value>, StoreError> {
    let mut out = Vec::new();
    for_each_release(conn, only, |release| {
        out.push(release);
        Ok(())
    })?;
    Ok(out)
}

/// Each stored release (or each of the JSON list of ids `only`) in the plan
/// file's shape, in plan order.
pub(crate) fn for_each_release(
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
