//! The server side of sync: a change log with versions, and mutations that
//! apply, merge, or come back as a conflict for a person to resolve.
//!
//! Every object (team, service, environment, freeze, release) has a version:
//! the number of changes the server has accepted for it. A mutation names the
//! version it was made on (`base_version`). On the current version it applies.
//! On an older one, the fields it sets are compared with what changed on the
//! server since that version: different fields merge; a field changed on
//! both sides to different values is a conflict, returned with the server's
//! copy and the base, and never applied silently. A mutation id is applied at
//! most once: a repeated id gets the first answer again.

use crate::auth::{Principal, Role};
use crate::store::{server_calendar, ChangeWrite, ServerStore};
use chrono::{DateTime, Utc};
use relcal_domain::{put, utc_text as utc, AuditRecord, ObjectKind, Plan};
use relcal_protocol::{ApiError, Change, Changes, ErrorCode, Mutation, MutationResult, MAX_BATCH};
use serde_json::Value;

/// Logs every object as version 1 the first time sync is used on a calendar,
/// so every object has a version and a base to merge against.
fn bootstrap(store: &mut dyn ServerStore, now: DateTime<Utc>) -> Result<(), ApiError> {
    if store.log_len()? > 0 {
        return Ok(());
    }
    let Some(plan) = store.calendar()? else {
        return Ok(());
    };
    let doc = plan.to_json();
    let mut entries = Vec::new();
    for kind in ObjectKind::ALL {
        for v in doc
            .get(kind.list())
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            if let Some(id) = v.get("id").and_then(Value::as_str) {
                entries.push((kind.noun().to_owned(), id.to_owned(), Some(v.to_string())));
            }
        }
    }
    store.append_log(&entries, &utc(now), "bootstrap")?;
    Ok(())
}

/// The changes after `since` (0: everything, as one entry per object), at
/// most `limit`.
pub fn changes_since(
    store: &mut dyn ServerStore,
    since: u64,
    limit: usize,
    now: DateTime<Utc>,
) -> Result<Changes, ApiError> {
    bootstrap(store, now)?;
    let rows = store.log_after(since, limit + 1)?;
    let more = rows.len() > limit;
    let changes: Vec<Change> = rows
        .into_iter()
        .take(limit)
        .map(|r| {
            // An entry this server cannot read is an error, never a deletion
            // that every desktop would then apply.
            let unreadable = |why: String| {
                ApiError::new(
                    ErrorCode::Internal,
                    format!(
                        "{}: change log entry {} ({} \"{}\") is unreadable: {why}",
                        store.describe(),
                        r.seq,
                        r.kind,
                        r.id
                    ),
                )
            };
            let kind = ObjectKind::from_noun(&r.kind)
                .ok_or_else(|| unreadable(format!("`{}` is not a kind of object", r.kind)))?;
            let object = match &r.object {
                None => None,
                Some(text) => Some(
                    serde_json::from_str::<Value>(text).map_err(|e| unreadable(e.to_string()))?,
                ),
            };
            Ok(Change {
                seq: r.seq,
                kind,
                id: r.id,
                version: r.version,
                object,
                by: Some(r.by),
            })
        })
        .collect::<Result<_, ApiError>>()?;
    let cursor = changes.last().map_or(since, |c| c.seq);
    Ok(Changes {
        changes,
        cursor,
        more,
        digest: None,
    })
}

/// Sets `by` (and an approval's `at`) of each approval and freeze exception
/// in `next` that `current` does not hold to `user` (and `at`).
fn stamp(next: &mut Value, current: Option<&Value>, user: &str, at: &str) {
    for (list, with_time) in [("approvals", true), ("overrides", false)] {
        let held: Vec<Value> = current
            .and_then(|c| c.get(list))
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default();
        let Some(entries) = next.get_mut(list).and_then(Value::as_array_mut) else {
            continue;
        };
        for entry in entries.iter_mut().filter(|e| !held.contains(e)) {
            if let Some(obj) = entry.as_object_mut() {
                obj.insert("by".into(), Value::String(user.to_owned()));
                if with_time {
                    obj.insert("at".into(), Value::String(at.to_owned()));
                }
            }
        }
    }
}

fn rejected(m: &Mutation, reason: impl Into<String>) -> MutationResult {
    MutationResult::Rejected {
        mutation_id: m.mutation_id.clone(),
        reason: reason.into(),
    }
}

/// Applies a batch in order, each mutation on its own (one refused does not
/// stop the others), as `who`.
pub fn apply_mutations(
    store: &mut dyn ServerStore,
    who: &Principal,
    batch: &[Mutation],
    now: DateTime<Utc>,
) -> Result<Vec<MutationResult>, ApiError> {
    if batch.len() > MAX_BATCH {
        return Err(ApiError::new(
            ErrorCode::Validation,
            format!(
                "mutations: a batch holds at most {MAX_BATCH} mutations; this one has {}",
                batch.len()
            ),
        ));
    }
    if who.role < Role::Editor {
        return Err(ApiError::new(
            ErrorCode::Forbidden,
            format!("{} is a viewer; changes need the editor role", who.user),
        ));
    }
    // Everything a mutation is checked against is read under the batch lock,
    // so another server process on the same database cannot change it
    // before the write, nor apply the same mutation id as well.
    store.lock_writes()?;
    let applied = apply_locked(store, who, batch, now);
    let unlocked = store.unlock_writes();
    let out = applied?;
    unlocked?;
    Ok(out)
}

fn apply_locked(
    store: &mut dyn ServerStore,
    who: &Principal,
    batch: &[Mutation],
    now: DateTime<Utc>,
) -> Result<Vec<MutationResult>, ApiError> {
    bootstrap(store, now)?;
    // The calendar, read once per batch under the lock and kept current as
    // mutations apply.
    let mut calendar: Option<Plan> = None;
    let mut out = Vec::with_capacity(batch.len());
    for m in batch {
        if let Some(previous) = store.answer(&m.mutation_id)? {
            out.push(
                serde_json::from_str(&previous)
                    .map_err(|e| ApiError::new(ErrorCode::Internal, e.to_string()))?,
            );
            continue;
        }
        let result = apply_one(store, &mut calendar, who, m, now)?;
        store.record_answer(
            &m.mutation_id,
            &serde_json::to_string(&result).unwrap_or_default(),
        )?;
        out.push(result);
    }
    Ok(out)
}

fn apply_one(
    store: &mut dyn ServerStore,
    calendar: &mut Option<Plan>,
    who: &Principal,
    m: &Mutation,
    now: DateTime<Utc>,
) -> Result<MutationResult, ApiError> {
    if m.mutation_id.trim().is_empty() || m.mutation_id.len() > 200 {
        return Ok(rejected(
            m,
            "field `mutation_id`: give an id of 1 to 200 characters",
        ));
    }
    let kind_name = m.kind.noun();
    if let Some(fields) = &m.fields {
        if fields
            .get("id")
            .is_some_and(|v| v.as_str() != Some(m.id.as_str()))
        {
            return Ok(rejected(
                m,
                format!(
                    "{kind_name} \"{}\": field `id`: an object's id cannot change",
                    m.id
                ),
            ));
        }
    }
    let (version, current) = store.current(kind_name, &m.id)?;
    let current: Option<Value> = current.and_then(|c| serde_json::from_str(&c).ok());
    if m.base_version > version {
        return Ok(rejected(
            m,
            format!(
                "field `base_version`: {} is newer than the server's version {version}",
                m.base_version
            ),
        ));
    }
    let mut merged = false;
    if m.base_version < version {
        let base: Option<Value> = store
            .at_version(kind_name, &m.id, m.base_version)?
            .and_then(|b| serde_json::from_str(&b).ok());
        let clash: Vec<String> = match (&m.fields, &current) {
            // Deleting something changed since, or changing something deleted since.
            (None, _) | (_, None) => vec!["(the whole object)".to_owned()],
            (Some(fields), Some(cur)) => fields
                .iter()
                .filter(|(k, v)| {
                    let server_changed = base.as_ref().and_then(|b| b.get(*k)) != cur.get(*k);
                    server_changed && cur.get(*k).unwrap_or(&Value::Null) != *v
                })
                .map(|(k, _)| k.clone())
                .collect(),
        };
        if !clash.is_empty() {
            return Ok(MutationResult::Conflict {
                mutation_id: m.mutation_id.clone(),
                fields: clash,
                server: current,
                server_version: version,
                base,
            });
        }
        merged = true;
    }
    let next = match &m.fields {
        None => None,
        Some(fields) => {
            let mut obj = current
                .as_ref()
                .and_then(Value::as_object)
                .cloned()
                .unwrap_or_default();
            for (k, v) in fields {
                if v.is_null() {
                    obj.remove(k);
                } else {
                    obj.insert(k.clone(), v.clone());
                }
            }
            obj.insert("id".into(), Value::String(m.id.clone()));
            Some(Value::Object(obj))
        }
    };
    // An approval or exception added here is the authenticated user's, now:
    // whatever name and time the client wrote (`policy.rs` checks the rest).
    let mut next = next;
    if let (ObjectKind::Release, Some(next)) = (m.kind, next.as_mut()) {
        stamp(next, current.as_ref(), &who.user, &utc(now));
    }
    if next.is_none() && current.is_none() {
        return Ok(rejected(
            m,
            format!("{kind_name} \"{}\" does not exist", m.id),
        ));
    }
    // Validated like any edit, written in one transaction, audited. A
    // release is validated against the calendar's teams, services,
    // environments and freezes (all a release refers to); anything else
    // with the whole calendar again.
    let plan = match calendar.take() {
        Some(p) => p,
        None => server_calendar(store)?,
    };
    let validated = match (m.kind, &next) {
        (ObjectKind::Release, Some(value)) => relcal_domain::parse_release_value(
            &plan,
            &format!("release \"{}\"", m.id),
            value.clone(),
        )
        .map(|r| {
            let mut changed = plan.clone();
            match changed.releases.iter_mut().find(|x| x.id.as_str() == m.id) {
                Some(slot) => *slot = r,
                None => changed.releases.push(r),
            }
            changed
        }),
        (ObjectKind::Release, None) => {
            let mut changed = plan.clone();
            changed.releases.retain(|x| x.id.as_str() != m.id);
            Ok(changed)
        }
        _ => {
            let mut doc = plan.to_json();
            put(&mut doc, m.kind, &m.id, next.clone(), None);
            relcal_domain::parse_plan_value(doc)
        }
    };
    let changed = match validated {
        Ok(p) => p,
        Err(e) => {
            *calendar = Some(plan);
            return Ok(rejected(m, e.to_string()));
        }
    };
    // Who may change what, from the authenticated identity (`policy.rs`).
    if let Err(reason) = crate::policy::authorize(who, &plan, &changed, m.kind, &m.id) {
        *calendar = Some(plan);
        return Ok(rejected(m, reason));
    }
    let rec = AuditRecord {
        at: utc(now),
        actor: who.user.clone(),
        action: format!("{kind_name}.sync"),
        object_kind: kind_name.to_owned(),
        object_id: m.id.clone(),
        before: current.as_ref().map(Value::to_string),
        after: next.as_ref().map(Value::to_string),
    };
    let answer = MutationResult::Applied {
        mutation_id: m.mutation_id.clone(),
        version: version + 1,
        merged,
    };
    let answer_text = serde_json::to_string(&answer).unwrap_or_default();
    let object_text = next.as_ref().map(Value::to_string);
    let at = utc(now);
    // The change, its audit entry, its log entry and this answer: one transaction.
    if let Err(e) = store.write_change(ChangeWrite {
        calendar: &changed,
        kind: m.kind,
        id: &m.id,
        object: object_text.as_deref(),
        audit: &rec,
        at: &at,
        by: &who.user,
        answer: (&m.mutation_id, &answer_text),
    }) {
        // A foreign key (a team still used, ...): refused, nothing written.
        *calendar = Some(plan);
        if matches!(e.code, ErrorCode::Unavailable | ErrorCode::Internal) {
            // The database went away or failed: not the mutation's fault, and
            // its detail is for the server's log (the request fails, numbered).
            return Err(e);
        }
        return Ok(rejected(
            m,
            format!("{kind_name} \"{}\": {}", m.id, e.message),
        ));
    }
    *calendar = Some(changed);
    Ok(answer)
}
