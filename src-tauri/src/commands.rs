//! The commands the window may call (each also declared in build.rs and
//! granted in capabilities/main-window.json).

use chrono::{DateTime, Utc};
use relcal_api::{ApiError, ErrorCode};

/// An RFC 3339 instant the window sent, or an error naming the command and field.
fn instant(command: &str, field: &str, text: &str) -> Result<DateTime<Utc>, ApiError> {
    DateTime::parse_from_rfc3339(text)
        .map(|t| t.to_utc())
        .map_err(|e| {
            ApiError::new(
                ErrorCode::Validation,
                format!("{command}: field `{field}`: `{text}` is not an RFC 3339 instant ({e})"),
            )
        })
}

pub(crate) use crate::handle::{read as store, write as store_mut};

mod app;
mod files;
mod objects;
mod releases;
mod sync;

pub use app::*;
pub use files::*;
pub use objects::*;
pub use releases::*;
pub use sync::*;
