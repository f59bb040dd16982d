//! Server tokens in the OS keyring (Secret Service on Linux, Keychain on
//! macOS, Credential Manager on Windows), one per server URL, never in a plain
//! file. Where no keyring is available (a headless box, CI), `RELCAL_TOKEN`
//! is the way, and the error says so.
//!
//! A token in the environment is bound to one host, so a pipeline's token
//! is never sent to whatever server a command names: `RELCAL_TOKEN` goes
//! only to `RELCAL_TOKEN_SERVER`, `GITLAB_TOKEN` only to `CI_SERVER_URL`
//! (GitLab CI sets it), `GITHUB_TOKEN` only to `GITHUB_API_URL` (GitHub
//! Actions sets it; unset, to `https://api.github.com`). With no binding set,
//! an environment token goes only to this machine (loopback).

use relcal_protocol::{ApiError, ErrorCode};

/// The keyring's service name for Relcal's entries.
pub const SERVICE: &str = "relcal";
/// The environment variable that holds a token (and overrides the keyring
/// for the server it is bound to).
pub const TOKEN_ENV: &str = "RELCAL_TOKEN";
/// The server `RELCAL_TOKEN` is for.
pub const TOKEN_SERVER_ENV: &str = "RELCAL_TOKEN_SERVER";

/// A token that may come from the environment, and where it may go.
#[derive(Debug, Clone, Copy)]
pub struct EnvToken<'a> {
    /// The variable holding the token (`GITLAB_TOKEN`).
    pub var: &'a str,
    /// The variable naming the one server it is for (`CI_SERVER_URL`).
    pub bound_to: &'a str,
    /// Where it may go when `bound_to` is unset, besides this machine.
    pub default: Option<&'a str>,
}

/// Scheme, host and port: what makes two URLs the same server.
fn origin(url: &str) -> Option<(String, String, u16)> {
    let u = reqwest::Url::parse(url.trim()).ok()?;
    Some((
        u.scheme().to_owned(),
        u.host_str()?.to_ascii_lowercase(),
        u.port_or_known_default()?,
    ))
}

fn is_loopback(url: &str) -> bool {
    origin(url).is_some_and(|(_, host, _)| {
        host == "localhost"
            || host
                .trim_matches(|c| c == '[' || c == ']')
                .parse::<std::net::IpAddr>()
                .is_ok_and(|ip| ip.is_loopback())
    })
}

/// The token in `env.var`, when it may be sent to `url`.
fn from_env(url: &str, env: EnvToken<'_>) -> Option<String> {
    let token = std::env::var(env.var)
        .ok()
        .map(|t| t.trim().to_owned())
        .filter(|t| !t.is_empty())?;
    let allowed = match std::env::var(env.bound_to)
        .ok()
        .filter(|b| !b.trim().is_empty())
    {
        Some(bound) => origin(&bound).is_some_and(|b| origin(url) == Some(b)),
        None => {
            is_loopback(url)
                || env
                    .default
                    .is_some_and(|d| origin(d).is_some_and(|d| origin(url) == Some(d)))
        }
    };
    if !allowed {
        tracing::warn!(
            "{} is set but not sent to {url}: it is only for {} (set {} to this URL to use it here)",
            env.var,
            std::env::var(env.bound_to).unwrap_or_else(|_| "this machine".into()),
            env.bound_to
        );
    }
    allowed.then_some(token)
}

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

/// The token for `server`: `RELCAL_TOKEN` if set and bound to `server`
/// (`RELCAL_TOKEN_SERVER`, or this machine when unset), else the keyring's.
pub fn load_token(server: &str) -> Result<(String, TokenSource), ApiError> {
    let env = EnvToken {
        var: TOKEN_ENV,
        bound_to: TOKEN_SERVER_ENV,
        default: None,
    };
    if let Some(t) = from_env(server, env) {
        return Ok((t, TokenSource::Environment));
    }
    let entry = entry(server).map_err(|why| no_keyring("read", &why))?;
    match entry.get_password() {
        Ok(t) => Ok((t, TokenSource::Keyring)),
        Err(keyring_core::Error::NoEntry) => Err(ApiError::new(
            ErrorCode::Validation,
            format!("no token for {server}: connect to the server with a token first, or set {TOKEN_ENV} (and {TOKEN_SERVER_ENV}={server})"),
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

/// A secret for `account`, to be sent to `url`: the environment's (`env`)
/// when it is bound to `url`, else the keyring's; none when neither has
/// one (or no keyring runs here).
pub fn load_secret(account: &str, url: &str, env: EnvToken<'_>) -> Option<String> {
    if let Some(t) = from_env(url, env) {
        return Some(t);
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

        // The environment overrides the keyring (pipelines, headless boxes),
        // for the one server it is bound to.
        std::env::set_var(TOKEN_ENV, "rc_env");
        std::env::set_var(TOKEN_SERVER_ENV, "http://B.example:8080/");
        assert_eq!(
            load_token(b).unwrap(),
            ("rc_env".into(), TokenSource::Environment)
        );
        // Never to another server a command names: that one's own token, or none.
        save_token(a, "rc_aaa").unwrap();
        assert_eq!(
            load_token(a).unwrap(),
            ("rc_aaa".into(), TokenSource::Keyring)
        );
        assert_eq!(
            load_token("https://evil.example").unwrap_err().code,
            ErrorCode::Validation
        );
        // Unbound, it goes only to this machine.
        std::env::remove_var(TOKEN_SERVER_ENV);
        assert_eq!(
            load_token(b).unwrap(),
            ("rc_bbb".into(), TokenSource::Keyring)
        );
        assert_eq!(
            load_token("http://127.0.0.1:8080").unwrap(),
            ("rc_env".into(), TokenSource::Environment)
        );
        // The forges' tokens alike: GITHUB_TOKEN to GitHub's API (or
        // GITHUB_API_URL), GITLAB_TOKEN to CI_SERVER_URL.
        let github = EnvToken {
            var: "RELCAL_TEST_GH_TOKEN",
            bound_to: "RELCAL_TEST_GH_API",
            default: Some("https://api.github.com"),
        };
        std::env::set_var("RELCAL_TEST_GH_TOKEN", "ghp_env");
        assert_eq!(
            load_secret("github:x", "https://api.github.com", github).as_deref(),
            Some("ghp_env")
        );
        assert_eq!(
            load_secret("github:x", "https://ghe.example/api/v3", github),
            None
        );
        std::env::set_var("RELCAL_TEST_GH_API", "https://ghe.example/api/v3");
        assert_eq!(
            load_secret("github:x", "https://ghe.example/api/v3", github).as_deref(),
            Some("ghp_env")
        );
        assert_eq!(
            load_secret("github:x", "https://api.github.com", github),
            None
        );
        for var in [TOKEN_ENV, "RELCAL_TEST_GH_TOKEN", "RELCAL_TEST_GH_API"] {
            std::env::remove_var(var);
        }
        keyring_core::unset_default_store();
    }
}
