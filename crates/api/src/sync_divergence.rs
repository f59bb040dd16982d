//! What a sync does when the calendar here and the server's differ although
//! nothing is pending or in conflict: it lists each differing object among
//! the sync conflicts for a person (see `sync_client.rs`).

use crate::error::ApiError;
use relcal_domain::ObjectKind;
use relcal_store::Store;
use serde_json::Value;

/// Each object whose copy here differs from the server's copy (as this
/// desktop last pulled it), though nothing is pending or in conflict, put
/// among the sync conflicts (yours beside theirs) for a person to choose:
/// a divergence is never repaired silently, either way. Both copies are
/// compared as the domain writes them, so spelling does not count.
pub(crate) fn list_divergence(
    store: &mut Store,
    plan: &relcal_domain::Plan,
    client: &str,
) -> Result<u32, ApiError> {
    let mut keys: std::collections::BTreeSet<(String, String)> =
        store.sync_known_objects()?.into_iter().collect();
    let mine: std::collections::HashMap<(String, String), Value> = plan
        .objects()
        .map(|o| ((o.kind().noun().to_owned(), o.id().to_owned()), o.to_json()))
        .collect();
    keys.extend(mine.keys().cloned());
    let mut n = 0;
    for (kind, id) in keys {
        let Some(okind) = ObjectKind::from_noun(&kind) else {
            continue;
        };
        let (version, theirs) = store.sync_known(&kind, &id)?.unwrap_or((0, None));
        let theirs: Option<Value> = theirs.and_then(|t| serde_json::from_str(&t).ok());
        // The server's copy as the domain writes it.
        let canonical = theirs.clone().map(|v| match okind {
            ObjectKind::Release => relcal_domain::parse_release_value(plan, "", v.clone())
                .map(|r| relcal_domain::release_to_json(&r))
                .unwrap_or(v),
            _ => relcal_domain::WireObject::read(okind, "", v.clone())
                .map(|o| o.to_json())
                .unwrap_or(v),
        });
        let here = mine.get(&(kind.clone(), id.clone()));
        if here == canonical.as_ref() {
            continue;
        }
        let detail = serde_json::json!({
            "outcome": "conflict",
            "mutation_id": format!("{client}:diverged:{kind}:{id}:v{version}"),
            "fields": ["(the whole object)"],
            "server": theirs,
            "server_version": version,
            "base": theirs,
            "diverged": true,
        });
        store.add_sync_conflict(
            &format!("{client}:diverged:{kind}:{id}:v{version}"),
            &kind,
            &id,
            &detail.to_string(),
        )?;
        n += 1;
    }
    Ok(n)
}
