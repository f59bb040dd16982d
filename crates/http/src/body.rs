//! Reading an answer's body with a ceiling, so that a server or a forge (or
//! whatever answers in its place) cannot make a desktop read without end:
//! the body is read through `Read::take`, never whole first.

use std::io::Read;

/// The largest answer the sync server's client reads. The server's pages of
/// changes stop well below it (`relcal_protocol::MAX_CHANGES_BYTES`).
pub(crate) const MAX_SYNC_ANSWER: u64 = 64 * 1024 * 1024;

/// The largest page a forge client reads (GitLab and GitHub pages of 100).
pub(crate) const MAX_FORGE_ANSWER: u64 = 16 * 1024 * 1024;

/// The largest error body read, to find its message.
pub(crate) const MAX_ERROR_ANSWER: u64 = 64 * 1024;

/// Why a body could not be read.
#[derive(Debug)]
pub(crate) enum BodyError {
    /// Longer than the ceiling (by its `Content-Length` or by reading).
    TooLarge(u64),
    /// Cut short, or not the JSON expected.
    Malformed(String),
}

impl std::fmt::Display for BodyError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            BodyError::TooLarge(limit) => write!(
                f,
                "an answer larger than {} MiB, which is not read",
                limit / (1024 * 1024)
            ),
            BodyError::Malformed(why) => write!(f, "a malformed answer ({why})"),
        }
    }
}

/// At most `limit` bytes of `body`: an error as soon as it proves longer.
pub(crate) fn bytes(
    mut body: impl Read,
    content_length: Option<u64>,
    limit: u64,
) -> Result<Vec<u8>, BodyError> {
    if content_length.is_some_and(|n| n > limit) {
        return Err(BodyError::TooLarge(limit));
    }
    let mut out = Vec::with_capacity(content_length.unwrap_or(0).min(1 << 20) as usize);
    (&mut body)
        .take(limit + 1)
        .read_to_end(&mut out)
        .map_err(|e| BodyError::Malformed(e.to_string()))?;
    if out.len() as u64 > limit {
        return Err(BodyError::TooLarge(limit));
    }
    Ok(out)
}

/// The answer's body as `T`, read up to `limit` bytes.
pub(crate) fn json<T: serde::de::DeserializeOwned>(
    r: reqwest::blocking::Response,
    limit: u64,
) -> Result<T, BodyError> {
    let length = r.content_length();
    let raw = bytes(r, length, limit)?;
    serde_json::from_slice(&raw).map_err(|e| BodyError::Malformed(e.to_string()))
}

/// An error answer's body as text, at most [`MAX_ERROR_ANSWER`] bytes of it
/// (empty when it cannot be read).
pub(crate) fn error_text(r: reqwest::blocking::Response) -> String {
    let mut out = Vec::new();
    // An error body longer than the ceiling is cut: only its message is wanted.
    let _ = r.take(MAX_ERROR_ANSWER).read_to_end(&mut out);
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A body that never ends: reading it whole would never return.
    struct Endless;
    impl Read for Endless {
        fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
            buf.fill(b' ');
            Ok(buf.len())
        }
    }

    #[test]
    fn an_endless_body_stops_at_the_ceiling() {
        match bytes(Endless, None, 1000) {
            Err(BodyError::TooLarge(1000)) => {}
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn a_declared_length_over_the_ceiling_is_refused_before_reading() {
        match bytes(Endless, Some(1001), 1000) {
            Err(BodyError::TooLarge(1000)) => {}
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn a_body_at_the_ceiling_is_read_whole() {
        let body = vec![b'x'; 1000];
        assert_eq!(bytes(&body[..], None, 1000).unwrap(), body);
        assert!(matches!(
            bytes(&vec![b'x'; 1001][..], None, 1000),
            Err(BodyError::TooLarge(_))
        ));
    }
}
