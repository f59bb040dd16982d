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
use crate::store::{ChangeWrite, ServerStore, WarmCalendar};
use chrono::{DateTime, Utc};
use relcal_domain::wire::WireRelease;
use relcal_domain::{
    clashing_fields, merge_fields, utc_text as utc, AuditRecord, ObjectKind, Plan, WireObject,
};
use relcal_protocol::{ApiError, Change, Changes, ErrorCode, Mutation, MutationResult, MAX_BATCH};
use serde_json::Value;

/// Logs every object as version 1 the first time sync is used on a calendar,
/// so every object has a version and a base to merge against.
fn bootstrap(store: &mut dyn ServerStore, now: DateTime<Utc>) -> Result<(), ApiError> {
    if store.log_started()? {
        return Ok(());
    }
    let Some(plan) = store.calendar()? else {
        return Ok(());
    };
    let entries: Vec<(String, String, Option<String>)> = plan
        .objects()
        .map(|o| {
            let text = o.to_json().to_string();
            (o.kind().noun().to_owned(), o.id().to_owned(), Some(text))
        })
        .collect();
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
    let mut rows = store.log_after(since, limit + 1)?;
    let mut more = rows.len() > limit;
    rows.truncate(limit);
    // Pages bounded in bytes as well as in changes: at least one change each.
    let mut bytes = 0;
    if let Some(cut) = rows.iter().enumerate().position(|(i, r)| {
        bytes += r.object.as_ref().map_or(0, String::len);
        i > 0 && bytes > relcal_protocol::MAX_CHANGES_BYTES
    }) {
        rows.truncate(cut);
        more = true;
    }
    let changes: Vec<Change> = rows
        .into_iter()
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
fn stamp(next: &mut WireRelease, current: Option<&WireRelease>, user: &str, at: &str) {
    let held_approvals = current.map_or(&[][..], |c| &c.approvals[..]);
    for a in next.approvals.iter_mut() {
        if !held_approvals.contains(a) {
            a.by = user.to_owned();
            a.at = at.to_owned();
        }
    }
    let held_overrides = current.map_or(&[][..], |c| &c.overrides[..]);
    for o in next.overrides.iter_mut() {
        if !held_overrides.contains(o) {
            o.by = user.to_owned();
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
/// stop the others), as `who`. `batch_key` (the request's idempotency key):
/// a batch sent again with it gets the first answer, and nothing is applied
/// again; the answer is kept in the batch's own transaction.
/// The calendar the batch leaves is handed to `warm`, when nothing else
/// wrote meanwhile, so the read endpoints do not read it again.
pub fn apply_mutations(
    store: &mut dyn ServerStore,
    who: &Principal,
    batch: &[Mutation],
    batch_key: Option<&str>,
    now: DateTime<Utc>,
    warm: &WarmCalendar,
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
    let applied = apply_batch(store, who, batch, batch_key, now, warm);
    let unlocked = store.unlock_writes();
    let out = applied?;
    unlocked?;
    Ok(out)
}

/// The calendar a batch left, at its version, when it is known to be the
/// stored one.
type Warmed = Option<(u64, Plan)>;

/// The batch in one transaction where the storage can (readers then see
/// it whole, and it costs one commit); when that commit fails (a foreign
/// key broken, which validation should have refused), all of it is undone
/// and the batch applied again one mutation at a time, each then refused
/// or written on its own.
fn apply_batch(
    store: &mut dyn ServerStore,
    who: &Principal,
    batch: &[Mutation],
    batch_key: Option<&str>,
    now: DateTime<Utc>,
    warm: &WarmCalendar,
) -> Result<Vec<MutationResult>, ApiError> {
    if store.begin_batch()? {
        match apply_locked(store, who, batch, batch_key, now, warm, true) {
            Ok((out, warmed)) => {
                // Warm before the commit: readers see the new version and
                // find it at once (`WarmCalendar::put`).
                let version = warmed.map(|(version, plan)| {
                    warm.put(version, plan);
                    version
                });
                match store.commit_batch() {
                    Ok(()) => return Ok(out),
                    Err(e) => {
                        if let Some(version) = version {
                            warm.forget(version);
                        }
                        tracing::warn!("a batch failed at commit, applied again one by one: {e}");
                        store.rollback_batch();
                    }
                }
            }
            Err(e) => {
                store.rollback_batch();
                return Err(e);
            }
        }
    }
    // Each mutation committed on its own: warm once they all are.
    let (out, warmed) = apply_locked(store, who, batch, batch_key, now, warm, false)?;
    if let Some((version, plan)) = warmed {
        warm.put(version, plan);
    }
    Ok(out)
}

/// Where the answer to `id` is kept: mutation ids and batch keys are the
/// client's words, so each is kept apart by what it is and whose it is (a
/// mutation id equal to a batch key, or to another user's mutation id, never
/// gets that answer). The user's name goes with its length, so no two
/// (user, id) pairs make one key.
fn answer_key(who: &Principal, what: &str, id: &str) -> String {
    format!("{what}:{}:{}:{id}", who.user.len(), who.user)
}

/// The answer a batch sent with `key` got (the results as JSON).
fn batch_answer(results: &[MutationResult]) -> String {
    serde_json::json!({ "results": results }).to_string()
}

/// The batch's mutations, in order; `in_batch`: inside the batch's one
/// transaction (else each mutation is written on its own).
fn apply_locked(
    store: &mut dyn ServerStore,
    who: &Principal,
    batch: &[Mutation],
    batch_key: Option<&str>,
    now: DateTime<Utc>,
    warm: &WarmCalendar,
    in_batch: bool,
) -> Result<(Vec<MutationResult>, Warmed), ApiError> {
    bootstrap(store, now)?;
    let version_before = store.calendar_version()?;
    let mut written: u64 = 0;
    // The calendar, read once per batch under the lock and kept current as
    // mutations apply.
    let mut calendar: Option<Plan> = None;
    let mut out = Vec::with_capacity(batch.len());
    // The answers already given, asked for once (a repeated batch, or
    // mutations sent again after a lost answer).
    // The batch's own key among them, in the same question.
    let keys: Vec<String> = batch
        .iter()
        .map(|m| answer_key(who, "mutation", &m.mutation_id))
        .collect();
    let batch_key = batch_key.map(|k| answer_key(who, "batch", k));
    let mut ids: Vec<&str> = keys.iter().map(String::as_str).collect();
    ids.extend(batch_key.as_deref());
    let mut given = store.answers(&ids)?;
    if let Some(previous) = batch_key.as_ref().and_then(|k| given.remove(k)) {
        #[derive(serde::Deserialize)]
        struct Answered {
            results: Vec<MutationResult>,
        }
        let answered: Answered = serde_json::from_str(&previous).map_err(|e| {
            ApiError::new(ErrorCode::Internal, format!("a batch's stored answer: {e}"))
        })?;
        return Ok((answered.results, None));
    }
    // Each object's version and copy, asked for once and kept current as
    // the batch writes.
    let objects: Vec<(&str, &str)> = batch
        .iter()
        .map(|m| (m.kind.noun(), m.id.as_str()))
        .collect();
    let mut currents = store.currents(&objects)?;
    for (m, key) in batch.iter().zip(&keys) {
        if let Some(previous) = given.get(key) {
            out.push(
                serde_json::from_str(previous)
                    .map_err(|e| ApiError::new(ErrorCode::Internal, e.to_string()))?,
            );
            continue;
        }
        let result = apply_one(
            store,
            &mut calendar,
            &mut currents,
            who,
            (m, key),
            now,
            warm,
            in_batch,
        )?;
        let text = serde_json::to_string(&result).unwrap_or_default();
        if matches!(result, MutationResult::Applied { .. }) {
            // Its answer was written with the change.
            written += 1;
        } else {
            store.record_answer(key, &text)?;
        }
        // The same id again in this batch gets this answer.
        given.insert(key.clone(), text);
        out.push(result);
    }
    if let Some(key) = &batch_key {
        store.record_answer(key, &batch_answer(&out))?;
    }
    // Each applied mutation wrote one audit entry: when the trail moved by
    // exactly that many, nothing else wrote, and the calendar here is the
    // stored one at the new version.
    let mut warmed = None;
    if let (Some(plan), true) = (calendar, written > 0) {
        let version = store.calendar_version()?;
        if version == version_before + written {
            warmed = Some((version, plan));
        }
    }
    Ok((out, warmed))
}

/// One mutation (with the key its answer is kept under, `answer_key`).
#[allow(
    clippy::too_many_arguments,
    reason = "the batch's state, passed down to each mutation"
)]
fn apply_one(
    store: &mut dyn ServerStore,
    calendar: &mut Option<Plan>,
    currents: &mut crate::store::Currents,
    who: &Principal,
    (m, answer_key): (&Mutation, &str),
    now: DateTime<Utc>,
    warm: &WarmCalendar,
    in_batch: bool,
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
    let object = format!("{kind_name} \"{}\"", m.id);
    let describe = store.describe();
    // What the server holds is its own canonical JSON: unreadable, it is
    // the server's fault (an error), never a missing object.
    let stored = |text: Option<String>| -> Result<Option<Value>, ApiError> {
        text.map(|t| {
            serde_json::from_str::<Value>(&t).map_err(|e| {
                ApiError::new(
                    ErrorCode::Internal,
                    format!("{describe}: {object} is unreadable: {e}"),
                )
            })
        })
        .transpose()
    };
    let key = (kind_name.to_owned(), m.id.clone());
    let (version, current) = match currents.get(&key) {
        Some(known) => known.clone(),
        None => store.current(kind_name, &m.id)?,
    };
    let current = stored(current)?;
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
        let base = stored(store.at_version(kind_name, &m.id, m.base_version)?)?;
        let clash: Vec<String> = match (&m.fields, &current) {
            // Deleting something changed since, or changing something deleted since.
            (None, _) | (_, None) => vec!["(the whole object)".to_owned()],
            (Some(fields), Some(cur)) => clashing_fields(base.as_ref(), cur, fields),
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
    // The object asked for, typed: a field of another kind or shape is
    // refused here, naming it.
    let next = match &m.fields {
        None => None,
        Some(fields) => {
            match WireObject::read(
                m.kind,
                &object,
                merge_fields(current.as_ref(), &m.id, fields),
            ) {
                Ok(next) => Some(next),
                Err(e) => return Ok(rejected(m, e.to_string())),
            }
        }
    };
    // An approval or exception added here is the authenticated user's, now:
    // whatever name and time the client wrote (`policy.rs` checks the rest).
    let mut next = next;
    if let Some(WireObject::Release(next)) = next.as_mut() {
        let held = match current.clone() {
            Some(c) => match WireObject::read(ObjectKind::Release, &object, c) {
                Ok(WireObject::Release(r)) => Some(r),
                _ => None,
            },
            None => None,
        };
        stamp(next, held.as_ref(), &who.user, &utc(now));
    }
    if next.is_none() && current.is_none() {
        return Ok(rejected(
            m,
            format!("{kind_name} \"{}\" does not exist", m.id),
        ));
    }
    // Validated like any edit, incrementally: the object alone against the
    // calendar's zone and ids (a removal of a catalog object checks what
    // refers to it), written in one transaction, audited. The calendar is
    // changed in place; a change refused after that is taken back.
    let mut plan = match calendar.take() {
        Some(p) => p,
        None => std::sync::Arc::unwrap_or_clone(warm.plan(store)?),
    };
    let before = crate::policy::Before::of(&plan, m.kind, &m.id);
    let was_at = plan.releases.iter().position(|r| r.id.as_str() == m.id);
    // A release is put back from `before`; anything else (rare) from a copy.
    let copy = (m.kind != ObjectKind::Release).then(|| plan.clone());
    let validated = match next.clone() {
        Some(object) => plan.put_object(object),
        None => plan.remove_object(m.kind, &m.id),
    };
    let take_back = |mut plan: Plan, copy: Option<Plan>| match copy {
        Some(copy) => copy,
        None => {
            restore_release(&mut plan, &m.id, was_at.zip(before.release().cloned()));
            plan
        }
    };
    let next = next.map(|o| o.to_json());
    if let Err(e) = validated {
        // Unchanged: a put or a removal that fails changes nothing.
        *calendar = Some(plan);
        return Ok(rejected(m, e.to_string()));
    }
    // Who may change what, from the authenticated identity (`policy.rs`).
    if let Err(reason) = crate::policy::authorize(who, &before, &plan, m.kind, &m.id) {
        *calendar = Some(take_back(plan, copy));
        return Ok(rejected(m, reason));
    }
    // Only a release change that sets `overrides` can add an exception: the
    // others skip the requests (and the search for the release) altogether.
    let grants = m.kind == ObjectKind::Release
        && m.fields
            .as_ref()
            .is_some_and(|f| f.contains_key("overrides"));
    // An exception granted against the server's requests for it.
    if grants {
        if let Some(after) = plan.releases.iter().find(|r| r.id.as_str() == m.id) {
            let refused = crate::requests::grant_refusal(store, who, before.release(), after);
            match refused {
                Ok(None) => {}
                Ok(Some(reason)) => {
                    *calendar = Some(take_back(plan, copy));
                    return Ok(rejected(m, format!("{kind_name} \"{}\": {reason}", m.id)));
                }
                Err(e) => {
                    *calendar = Some(take_back(plan, copy));
                    return Err(e);
                }
            }
        }
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
    // Outside the batch's transaction (a batch applied again one by one), a
    // grant and the requests it approves get a transaction of their own:
    // neither is ever kept without the other.
    let own = grants && !in_batch && store.begin_batch()?;
    // The change, its audit entry, its log entry and this answer: one transaction.
    if let Err(e) = store.write_change(ChangeWrite {
        calendar: &plan,
        kind: m.kind,
        id: &m.id,
        before: before.release(),
        object: object_text.as_deref(),
        version: version + 1,
        audit: &rec,
        at: &at,
        by: &who.user,
        answer: (answer_key, &answer_text),
    }) {
        if own {
            store.rollback_batch();
        }
        // A foreign key (a team still used, ...): refused, nothing written.
        *calendar = Some(take_back(plan, copy));
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
    if grants {
        // An exception someone asked for, now granted: their request is approved.
        let after = plan.releases.iter().find(|r| r.id.as_str() == m.id);
        let approved =
            crate::requests::approved_by_change(store, who, before.release(), after, now)
                .and_then(|()| if own { store.commit_batch() } else { Ok(()) });
        if let Err(e) = approved {
            // In a batch, the caller undoes all of it; on its own, this.
            if own {
                store.rollback_batch();
            }
            *calendar = Some(take_back(plan, copy));
            return Err(e);
        }
    }
    *calendar = Some(plan);
    currents.insert(key, (version + 1, object_text));
    Ok(answer)
}

/// Puts the release `id` back as it was, at its place (`None`: it was not
/// there).
fn restore_release(plan: &mut Plan, id: &str, was: Option<(usize, relcal_domain::Release)>) {
    let at = plan.releases.iter().position(|r| r.id.as_str() == id);
    match (at, was) {
        (Some(i), Some((_, was))) => plan.releases[i] = was,
        (Some(i), None) => {
            plan.releases.remove(i);
        }
        // Removed by the change: back where it was.
        (None, Some((i, was))) => plan.releases.insert(i.min(plan.releases.len()), was),
        (None, None) => {}
    }
}
