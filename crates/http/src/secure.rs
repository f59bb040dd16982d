//! Where a token may be sent: over HTTPS to any host, and over plain HTTP
//! only to this machine (a server or a recorded forge on loopback), so a
//! token never crosses a network in clear.

use relcal_protocol::{ApiError, ErrorCode};

/// `url` checked as a place to send a token to (`what` names the setting in
/// the error): `https://` anywhere, `http://` only to `localhost`, `127.0.0.0/8`
/// or `::1`.
pub fn check_url(what: &str, url: &str) -> Result<reqwest::Url, ApiError> {
    let parsed = reqwest::Url::parse(url.trim()).map_err(|e| {
        ApiError::new(
            ErrorCode::Validation,
            format!("{what}: `{url}` is not a URL ({e})"),
        )
    })?;
    match parsed.scheme() {
        "https" => Ok(parsed),
        "http" if loopback(&parsed) => Ok(parsed),
        "http" => Err(ApiError::new(
            ErrorCode::Validation,
            format!(
                "{what}: `{url}` is plain HTTP to another machine, which would send the token in \
                 clear; use https:// (plain http:// only to this machine)"
            ),
        )),
        other => Err(ApiError::new(
            ErrorCode::Validation,
            format!("{what}: `{url}`: `{other}` is not http or https"),
        )),
    }
}

/// A failed request in words, with its causes: "error sending request for
/// url (…): invalid peer certificate: UnknownIssuer", not only the first line.
pub(crate) fn why(e: &reqwest::Error) -> String {
    relcal_protocol::with_causes(e)
}

fn loopback(url: &reqwest::Url) -> bool {
    match url.host() {
        Some(url::Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        None => false,
    }
}

#[cfg(test)]
mod tests {
    use super::check_url;

    #[test]
    fn a_token_goes_in_clear_only_to_this_machine() {
        for ok in [
            "https://relcal.example.com",
            "https://10.0.0.5:8443/",
            "http://127.0.0.1:8080",
            "http://127.9.9.9",
            "http://localhost:3000",
            "http://[::1]:8080",
        ] {
            assert!(check_url("--server", ok).is_ok(), "{ok}");
        }
        for (bad, says) in [
            ("http://relcal.example.com", "plain HTTP to another machine"),
            ("http://10.0.0.5:8080", "plain HTTP to another machine"),
            (
                "http://localhost.evil.example",
                "plain HTTP to another machine",
            ),
            ("ftp://relcal.example.com", "not http or https"),
            ("relcal.example.com", "not a URL"),
        ] {
            let e = check_url("--server", bad).unwrap_err();
            assert!(e.message.starts_with("--server: "), "{}", e.message);
            assert!(e.message.contains(says), "{bad}: {}", e.message);
        }
    }
}
