//! Freeze exceptions asked for and waiting for another person's approval
//! (`/v1/exception-requests`). A request is not part of the plan (the plan
//! holds only approved exceptions): desktops and the server keep requests
//! beside the calendar, and a desktop exchanges them with the server at
//! each sync. The approval itself is the release's new `overrides` entry,
//! pushed like any change; the server then marks the request approved.

use serde::{Deserialize, Serialize};

/// Longest reason or note, in characters.
pub const MAX_REQUEST_TEXT: usize = 2000;
/// Most requests a server lists (the newest).
pub const MAX_REQUESTS_LISTED: usize = 1000;

/// Where a request stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub enum RequestState {
    /// Waiting for an approver.
    Pending,
    /// Approved: the release holds the exception.
    Approved,
    /// Refused by an approver.
    Declined,
    /// Taken back by who asked.
    Withdrawn,
}

impl RequestState {
    /// Its name on the wire and in the database.
    pub fn as_str(self) -> &'static str {
        match self {
            RequestState::Pending => "pending",
            RequestState::Approved => "approved",
            RequestState::Declined => "declined",
            RequestState::Withdrawn => "withdrawn",
        }
    }

    /// The decision that leaves a waiting request in this state, when it is
    /// one besides approving (the rules are the domain's: who may make it).
    pub fn decision(self) -> Option<relcal_domain::Decision> {
        match self {
            RequestState::Withdrawn => Some(relcal_domain::Decision::Withdraw),
            RequestState::Declined => Some(relcal_domain::Decision::Decline),
            RequestState::Pending | RequestState::Approved => None,
        }
    }

    /// From [`RequestState::as_str`].
    pub fn parse(s: &str) -> Option<Self> {
        [
            RequestState::Pending,
            RequestState::Approved,
            RequestState::Declined,
            RequestState::Withdrawn,
        ]
        .into_iter()
        .find(|st| st.as_str() == s)
    }
}

/// A freeze exception asked for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct ExceptionRequest {
    /// Chosen where it was asked for (a desktop may be offline): letters,
    /// digits and `-`, at most 64.
    pub id: String,
    /// The release.
    pub release: String,
    /// The freeze it would break.
    pub freeze: String,
    /// Why.
    pub reason: String,
    /// When the exception would end (RFC 3339), if it should.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires: Option<String>,
    /// Who asked (on the server: the authenticated user).
    pub requested_by: String,
    /// When (RFC 3339).
    pub requested_at: String,
    /// Where it stands.
    pub state: RequestState,
    /// Who approved, declined or withdrew it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub decided_by: Option<String>,
    /// When (RFC 3339).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub decided_at: Option<String>,
    /// Why it was declined or withdrawn.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

/// Whether `id` is a request id: 1 to 64 letters, digits and `-`.
pub fn is_request_id(id: &str) -> bool {
    !id.is_empty() && id.len() <= 64 && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
}

/// `POST /v1/exception-requests`: requests made here (new) and decisions
/// made here (declined, withdrawn), for the server to keep.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RequestsPush {
    /// In order.
    pub requests: Vec<ExceptionRequest>,
}

/// What the server made of one pushed request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum RequestResult {
    /// Kept (or already kept: a repeat).
    Kept {
        /// The request.
        id: String,
    },
    /// Refused, with the reason (naming the request and field).
    Rejected {
        /// The request.
        id: String,
        /// Why.
        reason: String,
    },
}

/// The server's answer: what it made of each pushed request, and every
/// request it holds (the newest [`MAX_REQUESTS_LISTED`]), as it holds them.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RequestsAnswer {
    /// One per pushed request, in order.
    pub results: Vec<RequestResult>,
    /// The requests, newest first.
    pub requests: Vec<ExceptionRequest>,
}
