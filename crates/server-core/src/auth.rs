//! Who may use the release API server: per-user bearer tokens with a role.
//! Tokens are random, shown once, and stored only as their SHA-256.

use crate::store::ServerStore;
use chrono::{DateTime, Utc};
use relcal_domain::{hex, utc_text as utc, AuditRecord};
use relcal_protocol::{ApiError, ErrorCode, ImportSummary};
use serde::Serialize;
use sha2::{Digest, Sha256};

/// What a user may do; each role may do what the ones before it may.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Read the iCalendar feed, and nothing else: the token a calendar
    /// service (Google, Outlook) subscribes with, the only kind accepted in a URL.
    Feed,
    /// Read the calendar, the gate and the feed.
    Viewer,
    /// Also change releases and freezes.
    Editor,
    /// Also approve releases.
    Approver,
    /// Also manage users.
    Admin,
}

impl Role {
    /// The role named `s`.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "feed" => Some(Self::Feed),
            "viewer" => Some(Self::Viewer),
            "editor" => Some(Self::Editor),
            "approver" => Some(Self::Approver),
            "admin" => Some(Self::Admin),
            _ => None,
        }
    }

    /// Its name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Feed => "feed",
            Self::Viewer => "viewer",
            Self::Editor => "editor",
            Self::Approver => "approver",
            Self::Admin => "admin",
        }
    }
}

/// An authenticated user.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Principal {
    /// Name, recorded in the audit trail.
    pub user: String,
    /// Role.
    pub role: Role,
}

fn digest(token: &str) -> String {
    hex(&Sha256::digest(token.as_bytes()))
}

/// Creates a token for `user` with `role` and returns it (the only time it is
/// shown).
pub fn create_token(
    store: &mut dyn ServerStore,
    user: &str,
    role: &str,
    now: DateTime<Utc>,
) -> Result<String, ApiError> {
    let user = user.trim();
    if user.is_empty() || user.len() > 100 {
        return Err(ApiError::new(
            ErrorCode::Validation,
            "--user: give a name of 1 to 100 characters",
        ));
    }
    let role = Role::parse(role).ok_or_else(|| {
        ApiError::new(
            ErrorCode::Validation,
            format!("--role: \"{role}\" is not a role; expected viewer, editor, approver, admin or feed"),
        )
    })?;
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).map_err(|e| {
        ApiError::new(
            ErrorCode::Internal,
            format!("no randomness for a token: {e}"),
        )
    })?;
    let token = format!("rc_{}", hex(&bytes));
    let rec = AuditRecord {
        at: utc(now),
        actor: "relcal-server".into(),
        action: "server.token_create".into(),
        object_kind: "user".into(),
        object_id: user.into(),
        before: None,
        after: Some(serde_json::json!({ "user": user, "role": role.as_str() }).to_string()),
    };
    store.add_token(&digest(&token), user, role.as_str(), &utc(now), &[rec])?;
    Ok(token)
}

/// The user a bearer token belongs to, if it has at least `needed`.
pub fn authenticate(
    store: &mut dyn ServerStore,
    token: Option<&str>,
    needed: Role,
) -> Result<Principal, ApiError> {
    let token = token
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .ok_or_else(|| {
            ApiError::new(
                ErrorCode::Unauthorized,
                "a bearer token is required (Authorization: Bearer …)",
            )
        })?;
    let (user, role) = store
        .token_owner(&digest(token))?
        .ok_or_else(|| ApiError::new(ErrorCode::Unauthorized, "the token is not valid"))?;
    let role = Role::parse(&role).ok_or_else(|| {
        ApiError::new(
            ErrorCode::Internal,
            format!("the stored role \"{role}\" is unknown"),
        )
    })?;
    if role < needed {
        return Err(ApiError::new(
            ErrorCode::Forbidden,
            format!(
                "{user} is a {}; this needs the {} role",
                role.as_str(),
                needed.as_str()
            ),
        ));
    }
    Ok(Principal { user, role })
}

/// Imports the server's calendar from a plan file's text. Only before
/// desktops sync with it: afterwards the calendar changes through them.
pub fn import_server_plan(
    store: &mut dyn ServerStore,
    text: &str,
    now: DateTime<Utc>,
) -> Result<ImportSummary, ApiError> {
    if store.log_len()? > 0 {
        return Err(ApiError::new(
            ErrorCode::Validation,
            format!(
                "{} already serves a calendar that desktops sync; change it through a desktop",
                store.describe()
            ),
        ));
    }
    let plan = relcal_domain::parse_plan(text)?;
    let summary = ImportSummary::of(&plan);
    let rec = AuditRecord {
        at: utc(now),
        actor: "relcal-server".into(),
        action: "calendar.import".into(),
        object_kind: "calendar".into(),
        object_id: "calendar".into(),
        before: None,
        after: serde_json::to_string(&summary).ok(),
    };
    store.replace_calendar(&plan, &[rec])?;
    Ok(summary)
}

/// The server's calendar as iCalendar (the subscription feed).
pub fn server_ics(calendar: &relcal_domain::Plan, now: DateTime<Utc>) -> String {
    relcal_domain::plan_to_ics(calendar, now)
}
