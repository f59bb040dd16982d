//! Writing a changed plan document: how the adapters and sync pulls write
//! what they put into the calendar's document (the editors go through
//! `edit.rs`'s `commit`).

use crate::error::ApiError;
use relcal_store::{AuditRecord, Store};
use serde_json::Value;

/// Writes a plan document into which objects were put: validated as a
/// whole, then in one transaction with `records`. `catalog_changed`: a team,
/// service, environment or freeze was put; `releases`: the ids of the
/// releases put or removed. Nothing is written without records.
pub(crate) fn write_document(
    store: &mut Store,
    doc: Value,
    records: &[AuditRecord],
    catalog_changed: bool,
    releases: &[String],
) -> Result<(), ApiError> {
    if records.is_empty() {
        return Ok(());
    }
    let changed = relcal_domain::parse_plan_value(doc)?;
    let kept: Vec<&relcal_domain::Release> = changed
        .releases
        .iter()
        .filter(|r| releases.iter().any(|id| id == r.id.as_str()))
        .collect();
    let gone: Vec<&str> = releases
        .iter()
        .filter(|id| {
            !changed
                .releases
                .iter()
                .any(|r| r.id.as_str() == id.as_str())
        })
        .map(String::as_str)
        .collect();
    store.apply_pulled(&changed, catalog_changed, &kept, &gone, records)?;
    Ok(())
}
