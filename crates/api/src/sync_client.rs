//! A desktop's side of sync: push what changed here since the last sync,
//! pull what changed on the server, and keep what cannot merge as a conflict
//! for a person.
//!
//! The outbox is the audit trail: every local change is recorded there in the
//! same transaction as the change, so nothing changed here can be missed. A
//! push sends, per object changed since the last push, the fields that differ
//! from the server copy this desktop last knew, on that copy's version; its
//! mutation id names this desktop and the audit entry, so a retried push is
//! never applied twice. The transport (HTTP in the CLI and the app) is the
//! caller's.

use crate::error::{ApiError, ErrorCode};
use crate::plan::stored_plan;
use crate::write::commit_document;
use chrono::{DateTime, Utc};
use relcal_domain::utc_text as utc;
use relcal_domain::wire::WirePlan;
use relcal_domain::{changed_fields, ObjectKind, WireObject};
use relcal_protocol::{Mutation, MutationResult, Transport, MAX_BATCH};
use relcal_store::{AuditRecord, Store, SyncClient, SyncInflight};
use serde::Serialize;
use serde_json::Value;
use std::collections::BTreeMap;

/// What one sync did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct SyncReport {
    /// Local changes the server accepted.
    pub pushed: u32,
    /// Of those, made on an older version and merged.
    pub merged: u32,
    /// Changes pulled from the server and applied here.
    pub pulled: u32,
    /// New conflicts (and refusals) waiting for a person.
    pub conflicts: u32,
    /// Objects found to differ from the server's copy although nothing was
    /// pending or in conflict (counted in `conflicts` too): each now waits
    /// among the sync conflicts, yours beside the server's.
    pub diverged: u32,
}

/// One object as the server sent it, with who changed it there.
pub(crate) struct Pulled {
    pub(crate) kind: String,
    pub(crate) id: String,
    pub(crate) object: Option<Value>,
    /// Recorded in this desktop's audit trail as "{by} (via sync)".
    pub(crate) by: String,
}

/// Writes what was pulled here in one go (a calendar's objects may refer to
/// each other in any order), validated like any edit and audited as pulled
/// (so it is not pushed back). Returns how many objects changed.
pub(crate) fn apply_pulled(
    store: &mut Store,
    pulled: &[Pulled],
    now: DateTime<Utc>,
) -> Result<u32, ApiError> {
    let plan = store.load_plan()?;
    let mut doc = match &plan {
        Some(p) => p.to_document(),
        None => WirePlan::empty("UTC"),
    };
    let mut records = Vec::new();
    let mut catalog_changed = false;
    let mut releases: Vec<String> = Vec::new();
    for Pulled {
        kind,
        id,
        object,
        by,
    } in pulled
    {
        let Some(okind) = ObjectKind::from_noun(kind) else {
            continue;
        };
        // What the server sent, typed: an object this desktop cannot read
        // is an error, never a deletion nor an object left out.
        let object = object
            .as_ref()
            .map(|v| {
                WireObject::read(
                    okind,
                    &format!("{kind} \"{id}\" from the server"),
                    v.clone(),
                )
            })
            .transpose()?;
        let after = object.as_ref().map(WireObject::to_json);
        let before = doc.get(okind, id).map(|o| o.to_json());
        if before == after {
            continue;
        }
        match object {
            Some(o) => doc.put(o, None),
            None => {
                doc.take(okind, id);
            }
        }
        if okind == ObjectKind::Release {
            releases.push(id.clone());
        } else {
            catalog_changed = true;
        }
        records.push(AuditRecord {
            at: utc(now),
            actor: by.to_owned(),
            action: format!("{kind}.pulled"),
            object_kind: kind.clone(),
            object_id: id.clone(),
            before: before.map(|v| v.to_string()),
            after: after.as_ref().map(Value::to_string),
        });
    }
    commit_document(store, doc, &records, catalog_changed, &releases)?;
    Ok(u32::try_from(records.len()).unwrap_or(u32::MAX))
}

fn inflight(batch: &[Mutation], upto: u64) -> Result<SyncInflight, ApiError> {
    Ok(SyncInflight {
        batch: serde_json::to_string(batch)
            .map_err(|e| ApiError::new(ErrorCode::Internal, e.to_string()))?,
        upto,
    })
}

/// Sends `batch` in chunks, recording after each answer what is left, so a
/// push cut short goes on where it stopped, with the same chunks (and so the
/// same idempotency keys) as before.
fn push_rest(
    store: &mut Store,
    transport: &mut dyn Transport,
    client_id: &str,
    mut batch: Vec<Mutation>,
    upto: u64,
    report: &mut SyncReport,
) -> Result<(), ApiError> {
    while !batch.is_empty() {
        let n = batch.len().min(transport.max_batch().clamp(1, MAX_BATCH));
        let chunk = &batch[..n];
        // The chunk's content names it: a retry of the same chunk is
        // recognised, a different one never gets an old answer.
        let key = {
            use sha2::Digest;
            let ids: Vec<&str> = chunk.iter().map(|m| m.mutation_id.as_str()).collect();
            let digest = sha2::Sha256::digest(ids.join("\n").as_bytes());
            format!("{client_id}:{}", relcal_domain::hex(&digest[..16]))
        };
        let results = transport.push(&key, chunk)?;
        if results.len() != chunk.len() {
            return Err(ApiError::new(
                ErrorCode::Unavailable,
                format!(
                    "the server answered {} results for {} mutations",
                    results.len(),
                    chunk.len()
                ),
            ));
        }
        for (m, r) in chunk.iter().zip(results) {
            let kind = m.kind.noun();
            match r {
                MutationResult::Applied {
                    version, merged, ..
                } => {
                    report.pushed += 1;
                    if merged {
                        report.merged += 1;
                    }
                    store.clear_sync_pending(kind, &m.id)?;
                    // The server's copy now: the next pull brings it exactly.
                    store.set_sync_known(kind, &m.id, version, None)?;
                }
                other => {
                    report.conflicts += 1;
                    let detail = serde_json::to_string(&other).unwrap_or_default();
                    store.add_sync_conflict(&m.mutation_id, kind, &m.id, &detail)?;
                }
            }
        }
        batch.drain(..n);
        let left = if batch.is_empty() {
            None
        } else {
            Some(inflight(&batch, upto)?)
        };
        store.set_sync_inflight(left.as_ref())?;
    }
    Ok(())
}

/// Pushes local changes and pulls the server's, once. The first sync of a
/// database takes the server's calendar as it is (local history before it is
/// not pushed).
pub fn sync_once(
    store: &mut Store,
    server: &str,
    transport: &mut dyn Transport,
    now: DateTime<Utc>,
) -> Result<SyncReport, ApiError> {
    let mut report = SyncReport::default();
    let me = store.actor().to_owned();
    let mut state = match store.sync_client()? {
        Some(s) if s.server == server => s,
        Some(s) => {
            return Err(ApiError::new(
                ErrorCode::Validation,
                format!(
                    "--server: this database syncs with {}, not {server}",
                    s.server
                ),
            ))
        }
        None => {
            let mut bytes = [0u8; 8];
            getrandom::fill(&mut bytes)
                .map_err(|e| ApiError::new(ErrorCode::Internal, e.to_string()))?;
            SyncClient {
                client_id: relcal_domain::hex(&bytes),
                server: server.to_owned(),
                cursor: 0,
                pushed_audit_seq: u64::MAX,
            }
        }
    };
    let first = state.pushed_audit_seq == u64::MAX;

    if !first {
        // First what an earlier push left unanswered, exactly as it was.
        if let Some(left) = store.sync_inflight()? {
            let batch: Vec<Mutation> = serde_json::from_str(&left.batch).map_err(|e| {
                ApiError::new(ErrorCode::Internal, format!("the unanswered push: {e}"))
            })?;
            push_rest(
                store,
                transport,
                &state.client_id,
                batch,
                left.upto,
                &mut report,
            )?;
            state.pushed_audit_seq = left.upto;
            store.set_sync_client(&state)?;
        }
        // Push: every object changed here since the last push, once, in order.
        let entries = store.audit_entries(None)?;
        let mut objects: BTreeMap<(String, String), u64> = BTreeMap::new();
        let mut last = state.pushed_audit_seq;
        let mut whole_calendar = None;
        for e in entries.iter().filter(|e| e.seq > state.pushed_audit_seq) {
            last = last.max(e.seq);
            if e.action.ends_with(".pulled") {
                continue;
            }
            if ObjectKind::from_noun(&e.object_kind).is_none() {
                // An import replaced the calendar: any object may have changed.
                if e.object_kind == "calendar" {
                    whole_calendar = Some(e.seq);
                }
                continue;
            }
            objects.insert((e.object_kind.clone(), e.object_id.clone()), e.seq);
        }
        // The calendar, read once for both uses below.
        let mut doc: Option<relcal_domain::Plan> = None;
        if let Some(seq) = whole_calendar {
            // Every object here and every one the server knows: those that
            // did not change are left out below, the others go out.
            let doc = doc.insert(stored_plan(store)?);
            for object in doc.objects() {
                objects
                    .entry((object.kind().noun().to_owned(), object.id().to_owned()))
                    .or_insert(seq);
            }
            for key in store.sync_known_objects()? {
                objects.entry(key).or_insert(seq);
            }
        }
        // Objects a person chose to keep in a conflict go out again, on the
        // server's version they were compared with.
        let pending = store.sync_pending()?;
        for (kind, id) in &pending {
            objects.entry((kind.clone(), id.clone())).or_insert(last);
        }
        if !objects.is_empty() {
            let doc = match doc {
                Some(doc) => doc,
                None => stored_plan(store)?,
            };
            let mut batch = Vec::new();
            for ((kind, id), seq) in &objects {
                let Some(okind) = ObjectKind::from_noun(kind) else {
                    continue;
                };
                let (version, base) = store.sync_known(kind, id)?.unwrap_or((0, None));
                let base: Option<Value> = base.and_then(|b| serde_json::from_str(&b).ok());
                let current = doc.object_json(okind, id).map(|(_, v)| v);
                let fields = match &current {
                    Some(c) => {
                        let f = changed_fields(base.as_ref(), c);
                        if f.is_empty() {
                            continue;
                        }
                        Some(f)
                    }
                    None if base.is_none() => continue,
                    None => None,
                };
                batch.push(Mutation {
                    // The base version is part of the id: a copy kept after a
                    // conflict goes out on a newer version, as a new mutation.
                    mutation_id: format!("{}:{kind}:{id}:{seq}:v{version}", state.client_id),
                    kind: okind,
                    id: id.clone(),
                    base_version: version,
                    fields,
                });
            }
            if !batch.is_empty() {
                store.set_sync_inflight(Some(&inflight(&batch, last)?))?;
                push_rest(store, transport, &state.client_id, batch, last, &mut report)?;
            }
        }
        state.pushed_audit_seq = last;
        store.set_sync_client(&state)?;
    }

    // Pull.
    let conflicted: Vec<(String, String)> = store
        .sync_conflicts()?
        .into_iter()
        .map(|(_, k, i, _)| (k, i))
        .collect();
    let mut digest: Option<String>;
    let mut local_digest: Option<String>;
    let mut asked_again = false;
    loop {
        let page = transport.changes(state.cursor)?;
        digest = page.digest.clone();
        let mut pulled = Vec::new();
        for c in &page.changes {
            let kind = c.kind.noun();
            let object_text = c.object.as_ref().map(Value::to_string);
            store.set_sync_known(kind, &c.id, c.version, object_text.as_deref())?;
            if conflicted.contains(&(kind.to_owned(), c.id.clone())) {
                // Kept as it is here until a person resolves the conflict.
                continue;
            }
            // Who really made it, as the server authenticated them; a server
            // before `by` says nothing, and the change counts as pulled by us.
            // A name, as the server says it: printable and short (a server
            // could send anything), and who received it.
            let by = match &c.by {
                Some(author) => pulled_by(author, &me),
                None => format!("{me} (sync)"),
            };
            pulled.push(Pulled {
                kind: kind.to_owned(),
                id: c.id.clone(),
                object: c.object.clone(),
                by,
            });
        }
        report.pulled += apply_pulled(store, &pulled, now)?;
        state.cursor = page.cursor;
        if page.more {
            continue;
        }
        // The server says which calendar this brings us to. A difference may
        // be a write on the server just now: ask once more before calling it
        // a divergence.
        local_digest = match digest {
            Some(_) => store.load_plan()?.map(|p| p.digest()),
            None => None,
        };
        let differs = digest.is_some() && local_digest != digest;
        if differs && !asked_again {
            asked_again = true;
            continue;
        }
        break;
    }
    if digest.is_some() && local_digest != digest {
        let quiet = store.sync_conflicts()?.is_empty() && store.sync_inflight()?.is_none();
        if quiet {
            let plan = stored_plan(store)?;
            let n = crate::sync_divergence::list_divergence(store, &plan, &state.client_id)?;
            tracing::warn!(objects = n, "the calendar here differs from the server's");
            report.diverged += n;
            report.conflicts += n;
        }
    }
    // What was pulled is not ours to push back.
    state.pushed_audit_seq = store.audit_head_seq()?;
    store.set_sync_client(&state)?;
    // The chain's head, kept on the server: a chain rewritten here later,
    // head and all, no longer matches it (`relcal audit verify --server`).
    if let Some((seq, hash)) = store.audit_head()? {
        if let Err(e) = transport.anchor(&state.client_id, seq, &hash) {
            tracing::warn!(
                "the server did not keep this desktop's audit head: {}",
                e.message
            );
        }
    }
    // Exceptions asked for and decided, here and on other desktops. After
    // the push: an approval made here (the release's new exception) has
    // already marked its request approved on the server.
    match crate::exception_requests::exchange_requests(store, transport, now) {
        Ok(done) => tracing::info!(
            sent = done.sent,
            refused = done.refused,
            received = done.received,
            "sync: exception requests"
        ),
        Err(e) => tracing::warn!(
            "the exception requests were not exchanged with the server: {}",
            e.message
        ),
    }
    Ok(report)
}

/// Who made a change that `me` pulled, for the audit trail: the name as the
/// server says it, printable and short (a server could send anything).
pub(crate) fn pulled_by(author: &str, me: &str) -> String {
    let author: String = author
        .chars()
        .filter(|c| !c.is_control())
        .take(100)
        .collect();
    format!("{author} (via sync, pulled by {me})")
}

/// Where sync stands, for the app's status line.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct SyncStatus {
    /// The server this database syncs with (none: sync is off).
    pub server: Option<String>,
    /// When the last sync finished (RFC 3339).
    pub last_ok_at: Option<String>,
    /// When sync was last tried.
    pub last_try_at: Option<String>,
    /// Why the last try failed (none: it worked).
    pub last_error: Option<String>,
    /// The last try could not reach the server (the changes here wait).
    pub offline: bool,
    /// Objects changed here that the server has not yet accepted.
    pub pending: u32,
    /// Sync conflicts waiting for a person.
    pub conflicts: u32,
}

/// Where sync stands.
pub fn sync_status(store: &Store) -> Result<SyncStatus, ApiError> {
    let client = store.sync_client()?;
    let outcome = store.sync_outcome()?;
    let pending = match &client {
        // Objects changed here since the last push that was answered whole,
        // and the rest of one that was not.
        Some(c) if c.pushed_audit_seq != u64::MAX => match store.sync_inflight()? {
            Some(i) => {
                let left = serde_json::from_str::<Vec<Value>>(&i.batch).map_or(0, |b| b.len());
                store.sync_pending_count(i.upto)? + left as u64
            }
            None => store.sync_pending_count(c.pushed_audit_seq)?,
        },
        _ => 0,
    };
    Ok(SyncStatus {
        server: client.map(|c| c.server),
        offline: outcome
            .last_error
            .as_deref()
            .is_some_and(|e| e.starts_with(OFFLINE)),
        last_ok_at: outcome.last_ok_at,
        last_try_at: outcome.last_try_at,
        last_error: outcome.last_error,
        pending: u32::try_from(pending).unwrap_or(u32::MAX),
        conflicts: u32::try_from(store.sync_conflicts()?.len()).unwrap_or(u32::MAX),
    })
}

/// How a failed try that never reached the server is recorded.
const OFFLINE: &str = "offline: ";

/// Syncs with `server` through the transport `connect` opens for it (its
/// token comes with it), recording the outcome either way, a failure to
/// connect included: the one wiring of sync, for the CLI and the app.
pub fn sync_with<T: Transport>(
    store: &mut Store,
    server: &str,
    connect: impl FnOnce(&str) -> Result<T, ApiError>,
    now: DateTime<Utc>,
) -> Result<SyncReport, ApiError> {
    let server = server.trim_end_matches('/');
    let mut transport = match connect(server) {
        Ok(t) => t,
        Err(e) => {
            record_sync_error(store, &e, now)?;
            return Err(e);
        }
    };
    sync_and_record(store, server, &mut transport, now)
}

/// Syncs once through `transport` and records the outcome for `sync_status`.
pub fn sync_and_record(
    store: &mut Store,
    server: &str,
    transport: &mut dyn Transport,
    now: DateTime<Utc>,
) -> Result<SyncReport, ApiError> {
    let result = sync_once(store, server, transport, now);
    match &result {
        Ok(_) => store.record_sync_try(&utc(now), None)?,
        Err(e) => record_sync_error(store, e, now)?,
    }
    result
}

/// Records a sync try that failed before or during [`sync_once`] (no
/// token, the server unreachable, ...), for [`sync_status`].
pub fn record_sync_error(
    store: &mut Store,
    error: &ApiError,
    now: DateTime<Utc>,
) -> Result<(), ApiError> {
    let message = if error.code == ErrorCode::Unavailable {
        format!("{OFFLINE}{}", error.message)
    } else {
        error.message.clone()
    };
    store.record_sync_try(&utc(now), Some(&message))?;
    Ok(())
}

/// The setting that names the server the app syncs with.
const SERVER_SETTING: &str = "sync_server";

/// The server the app syncs with (none: sync is off).
pub fn sync_server(store: &Store) -> Result<Option<String>, ApiError> {
    Ok(store.setting(SERVER_SETTING)?.filter(|s| !s.is_empty()))
}

/// Turns sync on with `server` (an http or https URL; returned without a
/// trailing slash), or off with `None`. A calendar that has synced with one
/// server cannot switch to another.
pub fn set_sync_server(
    store: &mut Store,
    server: Option<&str>,
    now: DateTime<Utc>,
) -> Result<Option<String>, ApiError> {
    let server = match server.map(str::trim).filter(|s| !s.is_empty()) {
        None => None,
        Some(text) => {
            let bad = |why: &str| {
                ApiError::new(
                    ErrorCode::Validation,
                    format!("sync: field `server`: `{text}` {why}"),
                )
            };
            let parsed = url::Url::parse(text).map_err(|e| bad(&format!("is not a URL ({e})")))?;
            if !matches!(parsed.scheme(), "http" | "https") || parsed.host().is_none() {
                return Err(bad("is not an http:// or https:// server address"));
            }
            if parsed.query().is_some() || parsed.fragment().is_some() {
                return Err(bad(
                    "has a query or fragment; give the server's base address",
                ));
            }
            let base = text.trim_end_matches('/').to_owned();
            if let Some(c) = store.sync_client()? {
                if c.server != base {
                    return Err(bad(&format!(
                        "is not the server this calendar syncs with ({}); a calendar syncs with one server",
                        c.server
                    )));
                }
            }
            Some(base)
        }
    };
    let before = sync_server(store)?;
    if before == server {
        return Ok(server);
    }
    let rec = crate::audit::record(
        store,
        now,
        "settings.sync_server",
        ("settings", SERVER_SETTING),
        before.map(Value::String).as_ref(),
        server.clone().map(Value::String).as_ref(),
    );
    store.set_setting(SERVER_SETTING, server.as_deref().unwrap_or(""), &[rec])?;
    Ok(server)
}
