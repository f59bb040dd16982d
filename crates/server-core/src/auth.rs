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

/// The token presented, when it has the shape every token this server makes
/// has (`rc_` and 64 hex digits): what a request without one, or with
/// anything else, is refused with before the storage is asked, so a flood
/// of such requests costs no database work.
pub fn token_shape(token: Option<&str>) -> Result<&str, ApiError> {
    let token = token
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .ok_or_else(|| {
            ApiError::new(
                ErrorCode::Unauthorized,
                "a bearer token is required (Authorization: Bearer …)",
            )
        })?;
    let well_formed = token
        .strip_prefix("rc_")
        .is_some_and(|hex| hex.len() == 64 && hex.bytes().all(|b| b.is_ascii_hexdigit()));
    if !well_formed {
        return Err(ApiError::new(
            ErrorCode::Unauthorized,
            "the token is not valid",
        ));
    }
    Ok(token)
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
    expires: Option<&str>,
    now: DateTime<Utc>,
) -> Result<String, ApiError> {
    // How long it lasts: an ISO 8601 duration (P90D, PT12H), at most a year.
    let expires_at = match expires {
        None => None,
        Some(text) => {
            let length = relcal_domain::PlanDuration::parse(text.trim())
                .map_err(|e| ApiError::new(ErrorCode::Validation, format!("--expires: {e}")))?;
            // Days count on UTC's wall clock: exact days.
            let at = length.end_from(now.naive_utc(), relcal_domain::Tz::UTC);
            if at <= now {
                return Err(ApiError::new(
                    ErrorCode::Validation,
                    "--expires: give a length above zero, such as P90D",
                ));
            }
            Some(utc(at))
        }
    };
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
        after: Some(
            serde_json::json!({ "user": user, "role": role.as_str(), "expires_at": expires_at })
                .to_string(),
        ),
    };
    store.add_token(
        &digest(&token),
        user,
        role.as_str(),
        &utc(now),
        expires_at.as_deref(),
        &[rec],
    )?;
    Ok(token)
}

/// Every token the server knows: id, user, role, created, expires, last used
/// (never the token itself: only its hash is stored).
pub fn list_tokens(store: &mut dyn ServerStore) -> Result<Vec<crate::TokenRecord>, ApiError> {
    store.tokens()
}

/// Revokes the token with `id` (from [`list_tokens`]): its next request gets 401.
pub fn revoke_token(
    store: &mut dyn ServerStore,
    id: &str,
    now: DateTime<Utc>,
) -> Result<crate::TokenRecord, ApiError> {
    let id = id.trim().to_ascii_lowercase();
    if id.len() != crate::TOKEN_ID_LEN || !id.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(ApiError::new(
            ErrorCode::Validation,
            format!(
                "ID: \"{id}\" is not a token id; `relcal-server token list` shows them ({} hex digits)",
                crate::TOKEN_ID_LEN
            ),
        ));
    }
    let Some(token) = store.tokens()?.into_iter().find(|t| t.id == id) else {
        return Err(ApiError::new(
            ErrorCode::NotFound,
            format!("no token has the id {id}"),
        ));
    };
    let rec = AuditRecord {
        at: utc(now),
        actor: "relcal-server".into(),
        action: "server.token_revoke".into(),
        object_kind: "user".into(),
        object_id: token.user.clone(),
        before: Some(serde_json::json!({ "id": id, "role": token.role }).to_string()),
        after: None,
    };
    if !store.revoke_token(&id, &[rec])? {
        return Err(ApiError::new(
            ErrorCode::NotFound,
            format!("no token has the id {id}"),
        ));
    }
    Ok(token)
}

/// The user a bearer token belongs to at `now`, if it has at least `needed`
/// and has not expired; the request is noted as its last use.
pub fn authenticate(
    store: &mut dyn ServerStore,
    token: Option<&str>,
    needed: Role,
    now: DateTime<Utc>,
) -> Result<Principal, ApiError> {
    let token = token_shape(token)?;
    let sha = digest(token);
    let record = store
        .token(&sha)?
        .ok_or_else(|| ApiError::new(ErrorCode::Unauthorized, "the token is not valid"))?;
    if let Some(expires_at) = &record.expires_at {
        let expired = DateTime::parse_from_rfc3339(expires_at).map_or(true, |t| t.to_utc() <= now);
        if expired {
            return Err(ApiError::new(
                ErrorCode::Unauthorized,
                format!("the token expired at {expires_at}; ask for a new one"),
            ));
        }
    }
    let (user, role) = (record.user, record.role);
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
    // Noting the use is bookkeeping: a busy or read-only database must not
    // turn a read into a failure, so a failure to note it is let go.
    // At most once a minute: a pipeline polling the gate does not write per request.
    let since = utc(now - chrono::Duration::minutes(1));
    if record
        .last_used_at
        .as_deref()
        .is_none_or(|t| t < since.as_str())
    {
        let _ = store.touch_token(&sha, &utc(now), &since);
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
    if store.log_started()? {
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
