//! The audit trail: who changed what, when, from what to what.
//!
//! Every use case that writes passes records to the store, which appends them
//! to a hash chain in the same transaction as the change (`relcal-store`).

use crate::error::{ApiError, ErrorCode};
use chrono::{DateTime, Utc};
use relcal_domain::utc_text as utc;
use relcal_store::{AuditRecord, Store};
use serde::Serialize;
use serde_json::Value;

/// A record of one change by the store's actor at `now`.
pub(crate) fn record(
    store: &Store,
    now: DateTime<Utc>,
    action: &str,
    (kind, id): (&str, &str),
    before: Option<&Value>,
    after: Option<&Value>,
) -> AuditRecord {
    AuditRecord {
        at: utc(now),
        actor: store.actor().to_owned(),
        action: action.to_owned(),
        object_kind: kind.to_owned(),
        object_id: id.to_owned(),
        before: before.map(Value::to_string),
        after: after.map(Value::to_string),
    }
}

/// [`audit_verify`], and then the chain against the heads the sync server
/// kept for this desktop (`transport.anchored`): a chain rewritten here,
/// its head included, passes the first check and fails this one.
pub fn audit_verify_anchored(
    store: &Store,
    transport: &mut dyn relcal_protocol::Transport,
) -> Result<AuditVerdict, ApiError> {
    let local = audit_verify(store)?;
    if !local.intact {
        return Ok(local);
    }
    let client = store.sync_client()?.ok_or_else(|| {
        ApiError::new(
            ErrorCode::Validation,
            "--server: this database has never synced, so no server holds its audit heads",
        )
    })?;
    let heads = transport.anchored(&client.client_id)?;
    let entries = store.audit_entries(None)?;
    let last = entries.last().map_or(0, |e| e.seq);
    for (seq, hash, at) in &heads {
        let here = entries.iter().find(|e| e.seq == *seq);
        let broken = match here {
            None => Some(format!(
                "the trail ends at entry #{last} but the server kept entry #{seq} as this desktop's head at {at}: entries were removed"
            )),
            Some(e) if e.hash != *hash => Some(format!(
                "entry #{seq} is not the one the server kept as this desktop's head at {at}: the trail was rewritten"
            )),
            Some(_) => None,
        };
        if let Some(message) = broken {
            return Ok(AuditVerdict {
                intact: false,
                entries: 0,
                first_bad: Some(u32::try_from(*seq).unwrap_or(u32::MAX)),
                message: format!("the audit trail is broken: {message}"),
            });
        }
    }
    Ok(AuditVerdict {
        message: format!(
            "{}; it matches the {} heads the server kept",
            local.message,
            heads.len()
        ),
        ..local
    })
}

/// One audit entry for people and programs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct AuditView {
    /// Its number in the chain.
    pub seq: u32,
    /// When, RFC 3339 UTC.
    pub at: String,
    /// Who.
    pub actor: String,
    /// What, e.g. `release.move`.
    pub action: String,
    /// The kind of object.
    pub object_kind: String,
    /// Its id.
    pub object_id: String,
    /// What changed, in words: "created", "deleted", "changed start, end".
    pub summary: String,
    /// The object before, as JSON text.
    pub before: Option<String>,
    /// The object after, as JSON text.
    pub after: Option<String>,
    /// The entry's hash.
    pub hash: String,
}

/// The top-level fields that differ between two JSON objects.
fn changed_fields(before: &Value, after: &Value) -> Vec<String> {
    let (Some(b), Some(a)) = (before.as_object(), after.as_object()) else {
        return vec![];
    };
    let mut keys: Vec<&String> = b.keys().chain(a.keys()).collect();
    keys.sort();
    keys.dedup();
    keys.into_iter()
        .filter(|k| b.get(*k) != a.get(*k))
        .cloned()
        .collect()
}

fn summary(before: Option<&str>, after: Option<&str>) -> String {
    let parse = |t: Option<&str>| t.and_then(|t| serde_json::from_str::<Value>(t).ok());
    match (parse(before), parse(after)) {
        (None, Some(_)) => "created".into(),
        (Some(_), None) => "deleted".into(),
        (Some(b), Some(a)) => {
            let fields = changed_fields(&b, &a);
            if fields.is_empty() {
                "no field changed".into()
            } else {
                format!("changed {}", fields.join(", "))
            }
        }
        (None, None) => String::new(),
    }
}

/// The audit trail, oldest first; only one release's entries when `release` is given.
pub fn audit_log(store: &Store, release: Option<&str>) -> Result<Vec<AuditView>, ApiError> {
    let entries = store.audit_entries(release.map(|id| ("release", id)))?;
    Ok(entries
        .into_iter()
        .map(|e| AuditView {
            seq: u32::try_from(e.seq).unwrap_or(u32::MAX),
            summary: summary(e.before.as_deref(), e.after.as_deref()),
            at: e.at,
            actor: e.actor,
            action: e.action,
            object_kind: e.object_kind,
            object_id: e.object_id,
            before: e.before,
            after: e.after,
            hash: e.hash,
        })
        .collect())
}

/// The chain checked end to end.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct AuditVerdict {
    /// True when every entry is as written.
    pub intact: bool,
    /// Entries checked.
    pub entries: u32,
    /// The first bad entry, when broken.
    pub first_bad: Option<u32>,
    /// For a person.
    pub message: String,
}

/// Checks the hash chain of the audit trail.
pub fn audit_verify(store: &Store) -> Result<AuditVerdict, ApiError> {
    use relcal_domain::ChainBreak;
    let n = |x: u64| u32::try_from(x).unwrap_or(u32::MAX);
    Ok(match store.verify_audit()? {
        Ok(count) => AuditVerdict {
            intact: true,
            entries: n(count),
            first_bad: None,
            message: format!("the audit trail is intact: {count} entries"),
        },
        Err(e) => {
            let seq = match &e {
                ChainBreak::Edited { seq } => *seq,
                ChainBreak::Unlinked { expected_seq, .. } => *expected_seq,
                ChainBreak::Truncated { last_seq, .. } => last_seq + 1,
            };
            AuditVerdict {
                intact: false,
                entries: 0,
                first_bad: Some(n(seq)),
                message: format!("the audit trail is broken: {e}"),
            }
        }
    })
}

/// Who this database's changes are recorded as: the `user_name` setting, else
/// the OS user. Applies it to `store`.
pub fn load_user_name(store: &mut Store) -> Result<String, ApiError> {
    if let Some(name) = store.setting("user_name")? {
        store.set_actor(&name);
    }
    Ok(store.actor().to_owned())
}

/// Sets the name this database records changes under (the app's settings).
pub fn set_user_name(
    store: &mut Store,
    name: &str,
    now: DateTime<Utc>,
) -> Result<String, ApiError> {
    let name = name.trim();
    if name.is_empty() || name.len() > 100 || name.chars().any(char::is_control) {
        return Err(ApiError::new(
            ErrorCode::Validation,
            "settings: field `user_name`: give a name of 1 to 100 printable characters",
        ));
    }
    let before = store.setting("user_name")?;
    let rec = record(
        store,
        now,
        "settings.user_name",
        ("settings", "user_name"),
        before.map(Value::String).as_ref(),
        Some(&Value::String(name.to_owned())),
    );
    store.set_setting("user_name", name, &[rec])?;
    store.set_actor(name);
    Ok(name.to_owned())
}
