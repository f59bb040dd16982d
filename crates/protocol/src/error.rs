//! Errors of the use cases, with a closed set of codes: they cross IPC to the
//! window and HTTP to and from the server as `{code, message}`, and the CLI
//! maps them to exit codes.

use serde::Serialize;

/// What kind of failure, for programs (the UI switches on it; the CLI maps it to an exit code).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    /// The input is invalid; the message names the object and field.
    Validation,
    /// The named object does not exist.
    NotFound,
    /// The database (or, later, the server) cannot be reached or opened.
    Unavailable,
    /// No valid credentials (the server: a missing or unknown token).
    Unauthorized,
    /// Valid credentials without the role the action needs.
    Forbidden,
    /// A bug or an unexpected failure.
    Internal,
}

/// A use case failed.
#[derive(Debug, thiserror::Error, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[error("{message}")]
pub struct ApiError {
    /// What kind of failure.
    pub code: ErrorCode,
    /// For a person.
    pub message: String,
}

impl ApiError {
    /// Builds an error.
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
        }
    }
}

impl From<relcal_domain::PlanError> for ApiError {
    fn from(e: relcal_domain::PlanError) -> Self {
        Self::new(ErrorCode::Validation, e.to_string())
    }
}

/// An error in words with its causes, each once ("error sending request for
/// url (…): invalid peer certificate: UnknownIssuer"): what a client tells a
/// person about a failed connection, instead of only its first line.
pub fn with_causes(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(cause) = source {
        let said = cause.to_string();
        if !text.contains(&said) {
            text.push_str(": ");
            text.push_str(&said);
        }
        source = cause.source();
    }
    text
}
