//! A database setting whose value is a JSON document (the notification,
//! background and checklist-template settings): read with its default,
//! saved with an audit record of before and after.

use crate::error::{ApiError, ErrorCode};
use chrono::{DateTime, Utc};
use relcal_store::Store;
use serde::de::DeserializeOwned;
use serde::Serialize;

/// The setting `key` (`what` names it in an error), or `default()` when it
/// was never saved.
pub(crate) fn read<T: DeserializeOwned>(
    store: &Store,
    key: &str,
    what: &str,
    default: impl FnOnce() -> T,
) -> Result<T, ApiError> {
    match store.setting(key)? {
        Some(text) => serde_json::from_str(&text).map_err(|e| {
            ApiError::new(
                ErrorCode::Internal,
                format!("the stored {what} are not valid: {e}"),
            )
        }),
        None => Ok(default()),
    }
}

/// Saves `after` as the setting `key`, recording `action` with `before`
/// and `after` in the audit trail, in one transaction.
pub(crate) fn save<T: Serialize>(
    store: &mut Store,
    key: &str,
    action: &str,
    (before, after): (&T, &T),
    now: DateTime<Utc>,
) -> Result<(), ApiError> {
    let text = serde_json::to_string(after)
        .map_err(|e| ApiError::new(ErrorCode::Internal, e.to_string()))?;
    let rec = crate::audit::record(
        store,
        now,
        action,
        ("settings", key),
        serde_json::to_value(before).ok().as_ref(),
        serde_json::to_value(after).ok().as_ref(),
    );
    store.set_setting(key, &text, &[rec])?;
    Ok(())
}
