//! Server tokens in the OS keyring (Secret Service on Linux, Keychain on
//! macOS, Credential Manager on Windows), one per server URL, never in a plain
//! file. Where no keyring is available (a headless box, CI), `RELCAL_TOKEN`
//! is the way, and the error says so.

use relcal_protocol::{ApiError, ErrorCode};

/// The keyring's service name for Relcal's entries.
pub const SERVICE: &str = "relcal";
/// The environment variable that holds a token (and overrides the keyring).
pub const TOKEN_ENV: &str = "RELCAL_TOKEN";

/// Where a token was found.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum TokenSource {
    /// `RELCAL_TOKEN`.
    Environment,
    /// The OS keyring.
    Keyring,
}

fn entry(server: &str) -> Result<keyring_core::Entry, String> {
    if keyring_core::get_default_store().is_none() {
        // The platform's store, set up once (tests set a mock store first).
        if let Err(e) = keyring::Entry::store_status() {
            return Err(e.to_string());
        }
    }
    keyring_core::Entry::new(SERVICE, server).map_err(|e| e.to_string())
}

fn no_keyring(what: &str, why: &str) -> ApiError {
    // Reading: no token to use is a usage error (give one); keeping one
    // failed is the machine's.
    let code = if what == "read" {
        ErrorCode::Validation
    } else {
        ErrorCode::Unavailable
    };
    ApiError::new(
        code,
        format!("cannot {what} the OS keyring ({why}); set {TOKEN_ENV} to the token instead"),
    )
}

/// Keeps `token` for `server` in the keyring.
pub fn save_token(server: &str, token: &str) -> Result<(), ApiError> {
    let token = token.trim();
    if token.is_empty() {
        return Err(ApiError::new(
            ErrorCode::Validation,
            "token: give the token relcal-server token create printed",
        ));
    }
    entry(server)
        .and_then(|e| e.set_password(token).map_err(|e| e.to_string()))
        .map_err(|why| no_keyring("keep the token in", &why))
}

/// The token for `server`: `RELCAL_TOKEN` if set, else the keyring's.
pub fn load_token(server: &str) -> Result<(String, TokenSource), ApiError> {
    if let Some(t) = std::env::var(TOKEN_ENV)
        .ok()
        .filter(|t| !t.trim().is_empty())
    {
        return Ok((t.trim().to_owned(), TokenSource::Environment));
    }
    let entry = entry(server).map_err(|why| no_keyring("read", &why))?;
    match entry.get_password() {
        Ok(t) => Ok((t, TokenSource::Keyring)),
        Err(keyring_core::Error::NoEntry) => Err(ApiError::new(
            ErrorCode::Validation,
            format!("no token for {server}: connect to the server with a token first, or set {TOKEN_ENV}"),
        )),
        Err(e) => Err(no_keyring("read", &e.to_string())),
    }
}

/// Forgets the keyring's token for `server` (none kept is fine).
pub fn forget_token(server: &str) -> Result<(), ApiError> {
    let entry = entry(server).map_err(|why| no_keyring("open", &why))?;
    match entry.delete_credential() {
        Ok(()) | Err(keyring_core::Error::NoEntry) => Ok(()),
        Err(e) => Err(no_keyring("change", &e.to_string())),
    }
}

/// Keeps another secret (an adapter's token) in the keyring under `account`
/// (`gitlab:https://gitlab.com`, ...).
pub fn save_secret(account: &str, secret: &str) -> Result<(), ApiError> {
    save_token(account, secret)
}

/// A secret for `account`: the environment variable `env` if set, else the
/// keyring's; none when neither has one (or no keyring runs here).
pub fn load_secret(account: &str, env: &str) -> Option<String> {
    if let Some(t) = std::env::var(env).ok().filter(|t| !t.trim().is_empty()) {
        return Some(t.trim().to_owned());
    }
    entry(account).ok()?.get_password().ok()
}

/// Forgets a secret (none kept is fine).
pub fn forget_secret(account: &str) -> Result<(), ApiError> {
    forget_token(account)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_round_trip_through_the_keyring_per_server_and_the_environment_wins() {
        keyring_core::set_default_store(keyring_core::mock::Store::new().unwrap());
        let a = "http://a.example:8080";
        let b = "http://b.example:8080";
        std::env::remove_var(TOKEN_ENV);
        let none = load_token(a).unwrap_err();
        assert_eq!(none.code, ErrorCode::Validation);
        assert!(none.message.contains("RELCAL_TOKEN"), "{}", none.message);
        save_token(a, " rc_aaa \n").unwrap();
        save_token(b, "rc_bbb").unwrap();
        assert_eq!(
            load_token(a).unwrap(),
            ("rc_aaa".into(), TokenSource::Keyring)
        );
        assert_eq!(load_token(b).unwrap().0, "rc_bbb");
        assert_eq!(save_token(a, "  ").unwrap_err().code, ErrorCode::Validation);
        forget_token(a).unwrap();
        forget_token(a).unwrap();
        assert_eq!(load_token(a).unwrap_err().code, ErrorCode::Validation);
        assert_eq!(load_token(b).unwrap().0, "rc_bbb");

        // A keyring that fails: a clear error naming the fallback.
        let locked = keyring_core::Entry::new(SERVICE, b).unwrap();
        let mock: &keyring_core::mock::Cred = locked.as_any().downcast_ref().unwrap();
        mock.set_error(keyring_core::Error::Invalid(
            "collection".into(),
            "locked".into(),
        ));
        let err = load_token(b).unwrap_err();
        assert_eq!(err.code, ErrorCode::Validation);
        assert!(
            err.message.contains("OS keyring") && err.message.contains("RELCAL_TOKEN"),
            "{}",
            err.message
        );

        // The environment overrides the keyring (pipelines, headless boxes).
        std::env::set_var(TOKEN_ENV, "rc_env");
        assert_eq!(
            load_token(b).unwrap(),
            ("rc_env".into(), TokenSource::Environment)
        );
        std::env::remove_var(TOKEN_ENV);
        keyring_core::unset_default_store();
    }
}
