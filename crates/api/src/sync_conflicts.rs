//! What sync could not merge, waiting for a person: yours, theirs and the
//! original per field, and resolving one (take theirs, or send yours again).

use crate::error::{ApiError, ErrorCode};
use crate::plan::stored_plan;
use crate::sync_client::apply_pulled;
use chrono::{DateTime, Utc};
use relcal_domain::{field_names, ObjectKind};
use relcal_store::Store;
use serde::Serialize;
use serde_json::Value;

/// The conflicts waiting for a person: (mutation id, kind, id, detail).
pub fn sync_conflicts(store: &Store) -> Result<Vec<(String, String, String, Value)>, ApiError> {
    Ok(store
        .sync_conflicts()?
        .into_iter()
        .map(|(m, k, i, d)| (m, k, i, serde_json::from_str(&d).unwrap_or(Value::Null)))
        .collect())
}

/// One field of a sync conflict, as JSON text (none: not set).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct SyncConflictField {
    /// The plan-file field name.
    pub name: String,
    /// This desktop's value now.
    pub yours: Option<String>,
    /// The server's value.
    pub theirs: Option<String>,
    /// The value both started from.
    pub original: Option<String>,
}

/// A sync conflict (or a change the server refused), for a person to resolve.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct SyncConflictView {
    /// Its id (what a resolution names).
    pub mutation_id: String,
    /// `team`, `service`, `environment`, `freeze` or `release`.
    pub kind: String,
    /// The object's id.
    pub id: String,
    /// The object's title or name, where it has one.
    pub title: Option<String>,
    /// The server refused the change (`reason` says why) instead of finding
    /// it changed on both sides.
    pub refused: bool,
    /// Why it was refused.
    pub reason: Option<String>,
    /// The object was deleted on one side and changed on the other.
    pub deleted: bool,
    /// The fields in question: changed on both sides, or every field that
    /// differs when the whole object is.
    pub fields: Vec<SyncConflictField>,
}

/// The conflicts waiting for a person, with yours, theirs and the original
/// side by side.
pub fn sync_conflict_views(store: &Store) -> Result<Vec<SyncConflictView>, ApiError> {
    let plan = stored_plan(store)?;
    let text = |v: Option<&Value>| v.filter(|v| !v.is_null()).map(Value::to_string);
    let mut out = Vec::new();
    for (mutation_id, kind, id, detail) in sync_conflicts(store)? {
        let yours =
            ObjectKind::from_noun(&kind).and_then(|k| plan.object_json(k, &id).map(|(_, v)| v));
        let theirs = detail.get("server").filter(|v| !v.is_null());
        let original = detail.get("base").filter(|v| !v.is_null());
        let refused = detail["outcome"] == "rejected";
        let listed: Vec<String> = detail["fields"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|f| f.as_str().map(str::to_owned))
            .filter(|f| !f.starts_with('('))
            .collect();
        let deleted = !refused && (yours.is_none() || theirs.is_none());
        let names: Vec<String> = if !listed.is_empty() {
            listed
        } else {
            // The whole object (or a refusal): every field that differs.
            let mut names = field_names([yours.as_ref(), theirs, original].into_iter().flatten());
            names.retain(|k| {
                let y = yours.as_ref().and_then(|v| v.get(k));
                let t = theirs.and_then(|v| v.get(k));
                let o = original.and_then(|v| v.get(k));
                y != t || y != o
            });
            names
        };
        let fields = names
            .into_iter()
            .map(|name| SyncConflictField {
                yours: text(yours.as_ref().and_then(|v| v.get(&name))),
                theirs: text(theirs.and_then(|v| v.get(&name))),
                original: text(original.and_then(|v| v.get(&name))),
                name,
            })
            .collect();
        let title = [yours.as_ref(), theirs, original]
            .into_iter()
            .flatten()
            .find_map(|v| {
                v.get("title")
                    .or_else(|| v.get("name"))?
                    .as_str()
                    .map(str::to_owned)
            });
        out.push(SyncConflictView {
            mutation_id,
            kind,
            id,
            title,
            refused,
            reason: detail["reason"].as_str().map(str::to_owned),
            deleted,
            fields,
        });
    }
    Ok(out)
}

/// Resolves a sync conflict: `keep_mine` sends this desktop's copy again (as
/// a new mutation, on the server's current version) at the next sync;
/// otherwise the server's copy replaces it here now.
pub fn resolve_sync_conflict(
    store: &mut Store,
    mutation_id: &str,
    keep_mine: bool,
    now: DateTime<Utc>,
) -> Result<(), ApiError> {
    let Some((kind, id)) = store.resolve_sync_conflict(mutation_id, keep_mine)? else {
        return Err(ApiError::new(
            ErrorCode::NotFound,
            format!("no unresolved sync conflict has the id \"{mutation_id}\""),
        ));
    };
    if !keep_mine {
        let theirs: Option<Value> = store
            .sync_known(&kind, &id)?
            .and_then(|(_, o)| o)
            .and_then(|o| serde_json::from_str(&o).ok());
        // Taking the server's copy is this person's choice: recorded as theirs.
        let me = store.actor().to_owned();
        let pulled = crate::sync_client::Pulled {
            kind,
            id,
            object: theirs,
            by: format!("{me} (sync)"),
        };
        apply_pulled(store, &[pulled], now)?;
    }
    Ok(())
}
