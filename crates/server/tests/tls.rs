//! TLS end to end with a certificate the test makes: the server speaking
//! HTTPS only, and reaching PostgreSQL over verified TLS.

#![allow(
    clippy::unwrap_used,
    reason = "a test should panic loudly on a broken assumption"
)]

mod common;
#[allow(unused_imports, reason = "the shared set-up, each file its own part")]
use common::*;
#[allow(unused_imports, reason = "the shared set-up, each file its own part")]
use std::process::Command;

/// A certificate for `localhost` and 127.0.0.1 and its key, as PEM files in `dir`.
fn certificate(dir: &std::path::Path) -> (std::path::PathBuf, std::path::PathBuf, String) {
    let cert =
        rcgen::generate_simple_self_signed(vec!["localhost".into(), "127.0.0.1".into()]).unwrap();
    let pem = cert.cert.pem();
    let (cert_file, key_file) = (dir.join("server.crt"), dir.join("server.key"));
    std::fs::write(&cert_file, &pem).unwrap();
    std::fs::write(&key_file, cert.signing_key.serialize_pem()).unwrap();
    (cert_file, key_file, pem)
}

#[test]
fn with_a_certificate_the_server_speaks_https_only() {
    let (dir, db, viewer) = setup(Backend::Sqlite);
    let (cert, key, pem) = certificate(dir.path());
    let server = start_with(
        &db,
        None,
        &[
            "--tls-cert",
            cert.to_str().unwrap(),
            "--tls-key",
            key.to_str().unwrap(),
        ],
    );
    assert!(server.base.starts_with("https://"), "{}", server.base);
    let https = reqwest::blocking::Client::builder()
        .tls_certs_only([reqwest::Certificate::from_pem(pem.as_bytes()).unwrap()])
        .build()
        .unwrap();
    let plan = https
        .get(format!("{}/v1/plan", server.base))
        .bearer_auth(&viewer)
        .send()
        .unwrap();
    assert_eq!(plan.status(), 200);
    // Plain HTTP to the same port gets no answer: nothing goes in clear.
    let plain = reqwest::blocking::Client::new()
        .get(format!(
            "{}/v1/plan",
            server.base.replacen("https", "http", 1)
        ))
        .bearer_auth(&viewer)
        .send();
    assert!(plain.is_err(), "{plain:?}");
    // The desktop's transport syncs over it, trusting the certificate the
    // machine trusts; here it is not trusted, and that is said.
    let once = relcal_http::RetryPolicy {
        attempts: 1,
        ..relcal_http::RetryPolicy::default()
    };
    let err = relcal_http::HttpTransport::with_policy(&server.base, &viewer, once)
        .and_then(|mut t| relcal_api::Transport::changes(&mut t, 0))
        .unwrap_err();
    assert_eq!(
        err.code,
        relcal_api::ErrorCode::Unavailable,
        "{}",
        err.message
    );
    assert!(err.message.contains("certificate"), "{}", err.message);

    // Files that are not a certificate and its key are named, and nothing starts.
    std::fs::write(dir.path().join("empty.crt"), "").unwrap();
    for (args, says) in [
        (
            vec!["--tls-cert", "empty.crt", "--tls-key", "server.key"],
            "--tls-cert",
        ),
        (
            vec!["--tls-cert", "server.crt", "--tls-key", "missing.key"],
            "--tls-key",
        ),
        (vec!["--tls-cert", "server.crt"], "--tls-key"),
    ] {
        let args: Vec<String> = args
            .iter()
            .map(|a| {
                if a.ends_with(".crt") || a.ends_with(".key") {
                    dir.path().join(a).display().to_string()
                } else {
                    (*a).to_owned()
                }
            })
            .collect();
        let mut all = vec!["--listen", "127.0.0.1:0"];
        all.extend(args.iter().map(String::as_str));
        let out = server_cmd(&db, &all, None);
        assert_ne!(out.status.code(), Some(0));
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains(says), "{stderr}");
    }
}

#[test]
fn the_server_reaches_postgresql_over_verified_tls_and_never_in_clear_to_another_host() {
    let dir = tempfile::tempdir().unwrap();
    let (cert, key, _) = certificate(dir.path());
    let pg = common::Postgres::start_with_tls(Some((&cert, &key)));
    let server_cmd_with = |ca: Option<&std::path::Path>, url: &str, args: &[&str]| {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_relcal-server"));
        cmd.args(["--database-url", url]).args(args);
        match ca {
            Some(ca) => cmd.env("RELCAL_DATABASE_CA", ca),
            None => cmd.env_remove("RELCAL_DATABASE_CA"),
        };
        cmd.output().unwrap()
    };
    let plan = dir.path().join("plan.json");
    std::fs::write(&plan, relcal_api::DEMO_PLAN).unwrap();
    // The certificate is checked: not trusted here, nothing is sent.
    let untrusted = server_cmd_with(None, &pg.url, &["import", plan.to_str().unwrap()]);
    assert_ne!(untrusted.status.code(), Some(0));
    let said = String::from_utf8_lossy(&untrusted.stderr);
    assert!(said.contains("certificate"), "{said}");
    // Trusted through RELCAL_DATABASE_CA, it is used over TLS.
    let imported = server_cmd_with(Some(&cert), &pg.url, &["import", plan.to_str().unwrap()]);
    assert_eq!(
        imported.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&imported.stderr)
    );
    let made = server_cmd_with(
        Some(&cert),
        &pg.url,
        &["token", "create", "--user", "ana", "--role", "viewer"],
    );
    assert_eq!(made.status.code(), Some(0));
    // libpq's verify-full and verify-ca are understood: the same checks
    // (chain and host name), refused without the authority, used with it.
    for mode in ["verify-full", "verify-ca"] {
        let url = pg
            .url
            .replace("sslmode=require", &format!("sslmode={mode}"));
        assert!(url.contains(mode), "{url}");
        let without = server_cmd_with(None, &url, &["token", "list"]);
        assert_ne!(without.status.code(), Some(0), "{mode}");
        assert!(
            String::from_utf8_lossy(&without.stderr).contains("certificate"),
            "{mode}"
        );
        let with = server_cmd_with(Some(&cert), &url, &["token", "list"]);
        assert_eq!(
            with.status.code(),
            Some(0),
            "{mode}: {}",
            String::from_utf8_lossy(&with.stderr)
        );
        assert!(
            String::from_utf8_lossy(&with.stdout).contains("ana"),
            "{mode}"
        );
    }
    // To a host that is not this machine, in clear is refused before any
    // connection is tried.
    for url in [
        "host=db.example.com user=relcal dbname=relcal sslmode=disable",
        "postgres://relcal@db.example.com/relcal?sslmode=disable",
    ] {
        let out = server_cmd_with(None, url, &["token", "list"]);
        assert_eq!(out.status.code(), Some(2), "{url}");
        let said = String::from_utf8_lossy(&out.stderr);
        assert!(
            said.contains("sslmode=disable") && said.contains("sslmode=require"),
            "{said}"
        );
    }
}
