//! How the server connects to PostgreSQL: verified TLS to any host that is
//! not this machine (`tls_for`), and errors with their causes.

use relcal_protocol::{ApiError, ErrorCode};

/// The environment variable naming a PEM file of certificate authorities the
/// database's certificate may be signed by (besides the system's).
pub const DATABASE_CA_ENV: &str = "RELCAL_DATABASE_CA";

/// `url` with libpq's `sslmode=verify-full` and `sslmode=verify-ca`, which
/// the PostgreSQL client here does not know, as `sslmode=require`: here
/// `require` always verifies the certificate's chain and its host name
/// (rustls), so it is `verify-full` (and `verify-ca` is as strict).
pub(crate) fn with_verified_modes(url: &str) -> String {
    url.replace("sslmode=verify-full", "sslmode=require")
        .replace("sslmode=verify-ca", "sslmode=require")
}

/// How to connect: TLS (verified against the system's authorities and
/// `RELCAL_DATABASE_CA`) with `sslmode=require`, which a host that is not
/// this machine must use (the default `prefer` becomes `require` there, and
/// `disable` is refused: the password would cross the network in clear);
/// none over a Unix socket or loopback unless asked for.
pub(crate) fn tls_for(
    config: &mut postgres::Config,
) -> Result<Option<tokio_postgres_rustls::MakeRustlsConnect>, ApiError> {
    use postgres::config::{Host, SslMode};
    let remote = config.get_hosts().iter().any(|h| match h {
        Host::Tcp(name) => {
            let name = name.trim_matches(|c| c == '[' || c == ']');
            !(name.eq_ignore_ascii_case("localhost")
                || name
                    .parse::<std::net::IpAddr>()
                    .is_ok_and(|ip| ip.is_loopback()))
        }
        Host::Unix(_) => false,
    });
    match (config.get_ssl_mode(), remote) {
        (SslMode::Disable, true) => return Err(ApiError::new(
            ErrorCode::Validation,
            "--database-url: sslmode=disable to a host that is not this machine would send the \
                 password and the calendar in clear; use sslmode=require",
        )),
        (SslMode::Prefer, true) => {
            config.ssl_mode(SslMode::Require);
        }
        _ => {}
    }
    if config.get_ssl_mode() != SslMode::Require {
        return Ok(None);
    }
    let mut roots = rustls::RootCertStore::empty();
    let native = rustls_native_certs::load_native_certs();
    roots.add_parsable_certificates(native.certs);
    if let Some(file) = std::env::var_os(DATABASE_CA_ENV).filter(|f| !f.is_empty()) {
        use rustls_pki_types::pem::PemObject;
        let bad = |e: &dyn std::fmt::Display| {
            ApiError::new(
                ErrorCode::Validation,
                format!(
                    "{DATABASE_CA_ENV}={}: {e}",
                    std::path::Path::new(&file).display()
                ),
            )
        };
        let certs: Vec<_> = rustls_pki_types::CertificateDer::pem_file_iter(&file)
            .map_err(|e| bad(&e))?
            .collect::<Result<_, _>>()
            .map_err(|e| bad(&e))?;
        if certs.is_empty() {
            return Err(bad(&"it holds no PEM certificate"));
        }
        for cert in certs {
            roots.add(cert).map_err(|e| bad(&e))?;
        }
    }
    let provider = std::sync::Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let tls = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| ApiError::new(ErrorCode::Internal, e.to_string()))?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(Some(tokio_postgres_rustls::MakeRustlsConnect::new(tls)))
}
