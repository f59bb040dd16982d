//! The one clock that the app, the CLI, the server and the schedulers read.
//!
//! `RELCAL_NOW=2026-12-01T09:00:00Z` starts the clock at that instant; from
//! there it runs at the speed of real time, so timers, backoffs and "in 5
//! minutes" still behave. Tests set it to pin a date ("the suite must pass on
//! any day of the year"); a person can set it to rehearse a day. Unset, the
//! clock is the system's.
//!
//! The domain crate never reads a clock: every use case takes `now` as a
//! parameter, and only the front doors call [`now`].

use crate::{ApiError, ErrorCode};
use chrono::{DateTime, Duration, Utc};
use std::sync::OnceLock;

/// The environment variable that sets the clock.
pub const CLOCK_VAR: &str = "RELCAL_NOW";

/// How far the clock is set from the system's, read once per process.
fn offset() -> &'static Result<Duration, String> {
    static OFFSET: OnceLock<Result<Duration, String>> = OnceLock::new();
    OFFSET.get_or_init(|| match std::env::var(CLOCK_VAR) {
        Err(_) => Ok(Duration::zero()),
        Ok(text) if text.trim().is_empty() => Ok(Duration::zero()),
        Ok(text) => parse_instant(CLOCK_VAR, &text)
            .map(|start| start - Utc::now())
            .map_err(|e| e.message),
    })
}

/// Checks `RELCAL_NOW` once at start-up, so a typo is an error instead of
/// silently running on the system clock.
pub fn init() -> Result<(), ApiError> {
    match offset() {
        Ok(_) => Ok(()),
        Err(message) => Err(ApiError::new(ErrorCode::Validation, message.clone())),
    }
}

/// The current instant: the system clock, moved by `RELCAL_NOW` when set.
pub fn now() -> DateTime<Utc> {
    let real = Utc::now();
    match offset() {
        Ok(by) => real.checked_add_signed(*by).unwrap_or(real),
        Err(_) => real,
    }
}

/// An instant given on a command line or in a query (`--at`, `?at=`): RFC
/// 3339 with an offset, in the years a verdict can be given for (1900-2099,
/// where the zone tables hold). `what` names the flag or field in errors.
pub fn parse_instant(what: &str, text: &str) -> Result<DateTime<Utc>, ApiError> {
    use chrono::Datelike;
    let t = DateTime::parse_from_rfc3339(text.trim())
        .map(|t| t.to_utc())
        .map_err(|e| {
            ApiError::new(
                ErrorCode::Validation,
                format!("{what}: `{text}` is not an RFC 3339 instant such as 2026-12-01T14:00:00Z ({e})"),
            )
        })?;
    relcal_domain::check_year(t.year())
        .map_err(|why| ApiError::new(ErrorCode::Validation, format!("{what}: `{text}`: {why}")))?;
    Ok(t)
}

/// True when `RELCAL_NOW` moves the clock.
pub fn is_set() -> bool {
    matches!(offset(), Ok(by) if !by.is_zero())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bad_instant_names_the_flag() {
        let err = parse_instant(CLOCK_VAR, "tuesday").unwrap_err();
        assert!(err.message.starts_with("RELCAL_NOW: `tuesday`"), "{err}");
        let err = parse_instant("--at", "2100-01-01T00:00:00Z").unwrap_err();
        assert!(err.message.contains("between 1900 and 2099"), "{err}");
        assert_eq!(
            parse_instant("--at", "2026-12-01T10:00:00+01:00")
                .unwrap()
                .to_rfc3339(),
            "2026-12-01T09:00:00+00:00"
        );
    }
}
