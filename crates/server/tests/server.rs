//! The real server on loopback, with a real SQLite file and with a real
//! PostgreSQL cluster (every scenario runs on both): tokens and roles on every
//! endpoint, the gate, the iCalendar feed, clear 4xx errors, limits. Sync,
//! desktops, the role policy and TLS have files of their own.

#![allow(
    clippy::unwrap_used,
    reason = "a test should panic loudly on a broken assumption"
)]

mod common;
use common::{server_cmd, setup, start, start_at, start_with, token, Backend, Server, ServerDb};

fn every_endpoint_needs_a_valid_token(backend: Backend) {
    let (_dir, db, viewer) = setup(backend);
    let server = start(&db);
    let http = reqwest::blocking::Client::new();
    for path in [
        "/v1/gate?env=prod&service=ingress",
        "/v1/plan",
        "/v1/whoami",
        "/v1/calendar.ics",
    ] {
        let none = http.get(format!("{}{path}", server.base)).send().unwrap();
        assert_eq!(none.status(), 401, "{path}");
        assert_eq!(none.headers()["www-authenticate"], "Bearer");
        let body: serde_json::Value = none.json().unwrap();
        assert_eq!(body["code"], "unauthorized", "{path}");
        let wrong = http
            .get(format!("{}{path}", server.base))
            .bearer_auth("rc_0000")
            .send()
            .unwrap();
        assert_eq!(wrong.status(), 401, "{path}");
        let ok = http
            .get(format!("{}{path}", server.base))
            .bearer_auth(&viewer)
            .send()
            .unwrap();
        assert_eq!(ok.status(), 200, "{path}");
    }
    let me: serde_json::Value = http
        .get(format!("{}/v1/whoami", server.base))
        .bearer_auth(&viewer)
        .send()
        .unwrap()
        .json()
        .unwrap();
    assert_eq!(me, serde_json::json!({ "user": "ana", "role": "viewer" }));
    // The plan's readers never see the token in clear: only its hash is stored.
    let file = &db.args[1];
    for file in [file.clone(), format!("{file}-wal")]
        .iter()
        .filter(|_| backend == Backend::Sqlite)
    {
        let raw = std::fs::read(file).unwrap_or_default();
        assert!(
            !raw.windows(viewer.len()).any(|w| w == viewer.as_bytes()),
            "{file}"
        );
    }
}

fn the_gate_answers_pipelines_like_relcal_gate(backend: Backend) {
    let (_dir, db, viewer) = setup(backend);
    let server = start(&db);
    let http = reqwest::blocking::Client::new();
    let ask = |query: &str| {
        http.get(format!("{}/v1/gate?{query}", server.base))
            .bearer_auth(&viewer)
            .send()
            .unwrap()
    };
    let blocked: serde_json::Value = ask("env=prod&service=ingress&at=2026-12-22T09:00:00Z")
        .json()
        .unwrap();
    assert_eq!(blocked["allowed"], false);
    assert!(
        blocked["message"]
            .as_str()
            .unwrap()
            .contains("Holiday freeze"),
        "{blocked}"
    );
    let allowed: serde_json::Value = ask("env=prod&service=ingress&at=2027-01-12T09:00:00Z")
        .json()
        .unwrap();
    assert_eq!(allowed["allowed"], true, "{allowed}");
    let bad = ask("env=prod&service=ingress&at=tomorrow");
    assert_eq!(bad.status(), 400);
    let body: serde_json::Value = bad.json().unwrap();
    assert!(
        body["message"].as_str().unwrap().contains("field `at`"),
        "{body}"
    );
    let missing = ask("service=ingress");
    assert_eq!(missing.status(), 400);
    let unknown = http
        .get(format!("{}/v1/nope", server.base))
        .bearer_auth(&viewer)
        .send()
        .unwrap();
    assert_eq!(unknown.status(), 404);
}

fn the_slot_answers_pipelines_like_relcal_slot(backend: Backend) {
    let (_dir, db, viewer) = setup(backend);
    let server = start(&db);
    let http = reqwest::blocking::Client::new();
    let ask = |query: &str| {
        http.get(format!("{}/v1/slot?{query}", server.base))
            .bearer_auth(&viewer)
            .send()
            .unwrap()
    };
    // Inside the holiday freeze: the first start after it, inside the
    // payments team's Monday-to-Thursday window (09:00 Berlin).
    let found = ask("env=prod&service=checkout-api&duration=PT2H&after=2026-12-24T12:00:00Z");
    assert_eq!(found.status(), 200);
    let found: serde_json::Value = found.json().unwrap();
    assert_eq!(found["found"], true, "{found}");
    assert_eq!(found["start"], "2027-01-04T08:00:00Z");
    assert_eq!(found["end"], "2027-01-04T10:00:00Z");
    assert_eq!(found["skipped"][0]["code"], "freeze.hard", "{found}");
    assert_eq!(found["team"], "payments");
    assert_eq!(found["zone"], "Europe/Berlin");
    let none: serde_json::Value =
        ask("env=prod&service=checkout-api&duration=PT2H&after=2026-12-24T12:00:00Z&within=P1D")
            .json()
            .unwrap();
    assert_eq!(none["found"], false, "{none}");
    assert_eq!(none["start"], serde_json::Value::Null);
    for (query, field) in [
        (
            "env=prod&duration=PT2H&after_release=nope",
            "field `after_release`",
        ),
        ("env=qa&duration=PT2H", "field `env`"),
        ("env=prod&duration=2h", "field `duration`"),
        (
            "env=prod&duration=PT1H&avoid_soft=yes",
            "field `avoid_soft`",
        ),
        (
            "env=prod&duration=PT1H&within=P1D&within=P2D",
            "field `within`",
        ),
        ("env=prod", "field `duration`"),
        (
            "env=prod&duration=PT1H&colour=red",
            "`colour` is not a parameter",
        ),
    ] {
        let bad = ask(query);
        assert_eq!(bad.status(), 400, "{query}");
        let body: serde_json::Value = bad.json().unwrap();
        assert_eq!(body["code"], "validation", "{query}");
        assert!(
            body["message"].as_str().unwrap().contains(field),
            "{query}: {body}"
        );
    }
    let anonymous = http
        .get(format!("{}/v1/slot?env=prod&duration=PT1H", server.base))
        .send()
        .unwrap();
    assert_eq!(anonymous.status(), 401);
}

fn the_calendar_feed_takes_its_token_in_the_url(backend: Backend) {
    let (_dir, db, viewer) = setup(backend);
    let out = token(&db, "google-calendar", "feed");
    assert_eq!(out.status.code(), Some(0));
    let subscription = String::from_utf8(out.stdout).unwrap().trim().to_owned();
    let server = start(&db);
    let feed = reqwest::blocking::get(format!(
        "{}/v1/calendar.ics?token={subscription}",
        server.base
    ))
    .unwrap();
    assert_eq!(feed.status(), 200);
    assert_eq!(
        feed.headers()["content-type"],
        "text/calendar; charset=utf-8"
    );
    let text = feed.text().unwrap();
    assert!(text.starts_with("BEGIN:VCALENDAR\r\n"));
    assert!(text.contains("UID:freeze-holidays@relcal.dev"));
    let denied =
        reqwest::blocking::get(format!("{}/v1/calendar.ics?token=guess", server.base)).unwrap();
    assert_eq!(denied.status(), 401);
    // Any other token in a URL would hand a read (or write) credential to the
    // subscribing service: refused, saying which token to use.
    let leaked =
        reqwest::blocking::get(format!("{}/v1/calendar.ics?token={viewer}", server.base)).unwrap();
    assert_eq!(leaked.status(), 403);
    let body: serde_json::Value = leaked.json().unwrap();
    assert!(
        body["message"].as_str().unwrap().contains("--role feed"),
        "{body}"
    );
    // In a header, any role reads the feed; a feed token reads nothing else.
    let http = reqwest::blocking::Client::new();
    let with = |path: &str, token: &str| {
        http.get(format!("{}{path}", server.base))
            .bearer_auth(token)
            .send()
            .unwrap()
            .status()
    };
    assert_eq!(with("/v1/calendar.ics", &viewer), 200);
    assert_eq!(with("/v1/calendar.ics", &subscription), 200);
    for path in [
        "/v1/plan",
        "/v1/gate?env=prod&service=ingress",
        "/v1/changes",
    ] {
        assert_eq!(with(path, &subscription), 403, "{path}");
    }
}

fn token_creation_refuses_bad_roles_and_names(backend: Backend) {
    let (_dir, db, _) = setup(backend);
    let out = token(&db, "ana", "god");
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--role: \"god\" is not a role"));
    let out = token(&db, " ", "viewer");
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--user"));
}

fn bad_requests_get_json_errors_and_an_oversized_body_gets_413(backend: Backend) {
    let (_dir, db, viewer) = setup(backend);
    let server = start(&db);
    let http = reqwest::blocking::Client::new();
    let get = |path: &str| {
        http.get(format!("{}{path}", server.base))
            .bearer_auth(&viewer)
            .send()
            .unwrap()
    };
    for (path, field) in [
        ("/v1/changes?since=18446744073709551615", "`since`"),
        ("/v1/changes?since=-1", "`since`"),
        ("/v1/changes?since=1&since=2", "`since`"),
        ("/v1/changes?after=1", "`after`"),
        ("/v1/gate?env=prod&env=staging&service=ingress", "`env`"),
        ("/v1/calendar.ics?token=a&token=b", "`token`"),
    ] {
        let answer = get(path);
        assert_eq!(answer.status(), 400, "{path}");
        assert_eq!(
            answer.headers()["content-type"],
            "application/json",
            "{path}"
        );
        let body: serde_json::Value = answer.json().unwrap();
        assert_eq!(body["code"], "validation", "{path}: {body}");
        assert!(
            body["message"].as_str().unwrap().contains(field),
            "{path}: {body}"
        );
    }
    let wrong_method = http
        .post(format!("{}/v1/gate?env=prod&service=ingress", server.base))
        .bearer_auth(&viewer)
        .send()
        .unwrap();
    assert_eq!(wrong_method.status(), 405);
    let body: serde_json::Value = wrong_method.json().unwrap();
    assert_eq!(body["code"], "validation", "{body}");
    let big = format!(
        "{{\"mutations\": [], \"pad\": \"{}\"}}",
        "x".repeat(2 * 1024 * 1024)
    );
    let answer = http
        .post(format!("{}/v1/mutations", server.base))
        .bearer_auth(&viewer)
        .header("Idempotency-Key", "big")
        .header("content-type", "application/json")
        .body(big)
        .send()
        .unwrap();
    assert_eq!(answer.status(), 413);
    let body: serde_json::Value = answer.json().unwrap();
    assert!(
        body["message"].as_str().unwrap().contains("over the limit"),
        "{body}"
    );
}

fn tokens_are_listed_without_the_secret_revoked_and_expire(backend: Backend) {
    let (_dir, db, viewer) = setup(backend);
    let made = server_cmd(
        &db,
        &[
            "token",
            "create",
            "--user",
            "ci",
            "--role",
            "viewer",
            "--expires",
            "P1D",
        ],
        Some("2026-12-01T09:00:00Z"),
    );
    assert_eq!(
        made.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&made.stderr)
    );
    let ci = String::from_utf8(made.stdout).unwrap().trim().to_owned();
    let bad = server_cmd(
        &db,
        &[
            "token",
            "create",
            "--user",
            "x",
            "--role",
            "viewer",
            "--expires",
            "soon",
        ],
        None,
    );
    assert_eq!(bad.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&bad.stderr).contains("--expires"));

    // Within its day it works; the day after, 401 saying it expired.
    let whoami = |server: &Server, token: &str| {
        reqwest::blocking::Client::new()
            .get(format!("{}/v1/whoami", server.base))
            .bearer_auth(token)
            .send()
            .unwrap()
    };
    let during = start_at(&db, Some("2026-12-01T10:00:00Z"));
    assert_eq!(whoami(&during, &ci).status(), 200);
    drop(during);
    let after = start_at(&db, Some("2026-12-02T09:00:01Z"));
    let expired = whoami(&after, &ci);
    assert_eq!(expired.status(), 401);
    let body: serde_json::Value = expired.json().unwrap();
    assert!(
        body["message"]
            .as_str()
            .unwrap()
            .contains("expired at 2026-12-02T09:00:00Z"),
        "{body}"
    );
    drop(after);

    // The list: ids, users, roles, dates, last use; never a token.
    let server = start(&db);
    assert_eq!(whoami(&server, &viewer).status(), 200);
    let listed = server_cmd(&db, &["token", "list", "--format", "json"], None);
    assert_eq!(listed.status.code(), Some(0));
    let text = String::from_utf8(listed.stdout).unwrap();
    assert!(!text.contains(&viewer) && !text.contains(&ci), "{text}");
    let list: serde_json::Value = serde_json::from_str(&text).unwrap();
    let ana = list
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["user"] == "ana")
        .unwrap()
        .clone();
    let ci_row = list
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["user"] == "ci")
        .unwrap()
        .clone();
    assert_eq!(ci_row["expires_at"], "2026-12-02T09:00:00Z", "{text}");
    assert_eq!(ana["expires_at"], serde_json::Value::Null);
    assert!(ana["last_used_at"].is_string(), "{text}");
    let table = String::from_utf8(server_cmd(&db, &["token", "list"], None).stdout).unwrap();
    assert!(
        table.contains(ana["id"].as_str().unwrap()) && table.contains("never"),
        "{table}"
    );

    // Revoked: the next request gets 401; an unknown id is refused.
    let id = ana["id"].as_str().unwrap();
    let revoked = server_cmd(&db, &["token", "revoke", id], None);
    assert_eq!(
        revoked.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&revoked.stderr)
    );
    assert_eq!(whoami(&server, &viewer).status(), 401);
    let again = server_cmd(&db, &["token", "revoke", id], None);
    assert_eq!(again.status.code(), Some(2));
    let garbage = server_cmd(&db, &["token", "revoke", "nope"], None);
    assert_eq!(garbage.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&garbage.stderr).contains("token id"));
}

#[test]
fn a_database_failure_tells_the_client_nothing_of_the_database() {
    let dir = tempfile::tempdir().unwrap();
    let db = ServerDb::new(Backend::Postgres, dir.path());
    db.import(relcal_api::DEMO_PLAN);
    let viewer = String::from_utf8(token(&db, "ana", "viewer").stdout)
        .unwrap()
        .trim()
        .to_owned();
    let server = start(&db);
    let pg = db.postgres.as_ref().unwrap();
    pg.stop();
    let answer = reqwest::blocking::Client::new()
        .get(format!("{}/v1/gate?env=prod&service=ingress", server.base))
        .bearer_auth(&viewer)
        .send()
        .unwrap();
    assert_eq!(answer.status(), 503);
    let body: serde_json::Value = answer.json().unwrap();
    let message = body["message"].as_str().unwrap();
    assert!(message.contains("incident"), "{message}");
    for secret in [
        "PostgreSQL",
        "postgres",
        "socket",
        pg.dir().to_str().unwrap(),
    ] {
        assert!(!message.contains(secret), "{message} names {secret}");
    }
}

fn an_empty_server_does_not_say_where_its_data_lives(backend: Backend) {
    let dir = tempfile::tempdir().unwrap();
    let db = ServerDb::new(backend, dir.path());
    let viewer = String::from_utf8(token(&db, "ana", "viewer").stdout)
        .unwrap()
        .trim()
        .to_owned();
    let server = start(&db);
    let answer = reqwest::blocking::Client::new()
        .get(format!("{}/v1/plan", server.base))
        .bearer_auth(&viewer)
        .send()
        .unwrap();
    assert_eq!(answer.status(), 404);
    let body: serde_json::Value = answer.json().unwrap();
    let message = body["message"].as_str().unwrap();
    assert!(message.contains("no calendar yet"), "{message}");
    assert!(
        !message.contains(dir.path().to_str().unwrap()) && !message.contains("host="),
        "{message}"
    );
}

/// Sends `head` (and no more) on a new connection to `server`.
fn stalled(server: &Server, head: &str) -> std::net::TcpStream {
    use std::io::Write;
    let addr = server.base.strip_prefix("http://").unwrap();
    let mut s = std::net::TcpStream::connect(addr).unwrap();
    s.write_all(head.as_bytes()).unwrap();
    s
}

/// What the server sends on `s` before it closes it (waiting at most 20 s).
fn answer_of(s: &mut std::net::TcpStream) -> String {
    use std::io::Read;
    s.set_read_timeout(Some(std::time::Duration::from_secs(20)))
        .unwrap();
    let mut out = Vec::new();
    let mut buf = [0u8; 4096];
    while let Ok(n) = s.read(&mut buf) {
        if n == 0 {
            break;
        }
        out.extend_from_slice(&buf[..n]);
        if out.windows(4).any(|w| w == b"\r\n\r\n") && out.ends_with(b"}") {
            break;
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[test]
fn clients_that_trickle_or_stall_cannot_hold_the_server() {
    let (_dir, db, viewer) = setup(Backend::Sqlite);
    let server = start_with(
        &db,
        None,
        &[
            "--header-timeout",
            "1",
            "--max-connections",
            "4",
            "--max-in-flight",
            "1",
            "--request-timeout",
            "2",
        ],
    );
    // Four clients that never finish their headers hold every connection...
    let mut slow: Vec<_> = (0..4)
        .map(|_| stalled(&server, "GET /v1/plan HTTP/1.1\r\nHost: relcal\r\n"))
        .collect();
    // ...until the header timeout cuts them off, and the next one is answered.
    // A new connection per request: an idle one would be cut off too.
    let http = reqwest::blocking::Client::builder()
        .timeout(std::time::Duration::from_secs(30))
        .pool_max_idle_per_host(0)
        .build()
        .unwrap();
    let plan = http
        .get(format!("{}/v1/plan", server.base))
        .bearer_auth(&viewer)
        .send()
        .unwrap();
    assert_eq!(plan.status(), 200);
    for s in &mut slow {
        let said = answer_of(s);
        // Closed, with nothing or a 408, never a request served.
        assert!(
            said.is_empty() || said.starts_with("HTTP/1.1 408"),
            "{said:?}"
        );
    }

    // A request whose body never comes holds the one request slot: the next
    // request is told the server is busy, and when to retry...
    let mut stuck = stalled(
        &server,
        &format!(
            "POST /v1/mutations HTTP/1.1\r\nHost: relcal\r\nAuthorization: Bearer {viewer}\r\n\
             Idempotency-Key: k\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{{"
        ),
    );
    std::thread::sleep(std::time::Duration::from_millis(300));
    let busy = http
        .get(format!("{}/v1/plan", server.base))
        .bearer_auth(&viewer)
        .send()
        .unwrap();
    assert_eq!(busy.status(), 503);
    assert_eq!(busy.headers()["retry-after"], "1");
    let body: serde_json::Value = busy.json().unwrap();
    assert_eq!(body["code"], "unavailable", "{body}");
    // ...and the stalled request itself is answered once its time is up.
    let said = answer_of(&mut stuck);
    assert!(said.starts_with("HTTP/1.1 503"), "{said}");
    assert!(said.contains("took longer than 2 s"), "{said}");
    let again = http
        .get(format!("{}/v1/plan", server.base))
        .bearer_auth(&viewer)
        .send()
        .unwrap();
    assert_eq!(again.status(), 200);

    // A request with no token, or one not shaped like a token, is refused
    // before the storage is asked.
    for bad in ["", "rc_short", &format!("xx_{}", "0".repeat(64))] {
        let r = http
            .get(format!("{}/v1/plan", server.base))
            .header("Authorization", format!("Bearer {bad}"))
            .send()
            .unwrap();
        assert_eq!(r.status(), 401, "{bad:?}");
    }
}

on_both_backends!(
    an_empty_server_does_not_say_where_its_data_lives,
    tokens_are_listed_without_the_secret_revoked_and_expire,
    bad_requests_get_json_errors_and_an_oversized_body_gets_413,
    every_endpoint_needs_a_valid_token,
    the_gate_answers_pipelines_like_relcal_gate,
    the_slot_answers_pipelines_like_relcal_slot,
    the_calendar_feed_takes_its_token_in_the_url,
    token_creation_refuses_bad_roles_and_names,
);
