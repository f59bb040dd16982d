//! The real server on loopback, with a real SQLite file and with a real
//! PostgreSQL cluster (every scenario runs on both): tokens and roles on every
//! endpoint, the gate, the iCalendar feed, clear 4xx errors, sync.

#![allow(
    clippy::unwrap_used,
    reason = "a test should panic loudly on a broken assumption"
)]

mod common;
use common::{server_cmd, start, start_at, start_with, token, Backend, Server, ServerDb};
use std::process::Command;

fn setup(backend: Backend) -> (tempfile::TempDir, ServerDb, String) {
    let dir = tempfile::tempdir().unwrap();
    let db = ServerDb::new(backend, dir.path());
    db.import(relcal_api::DEMO_PLAN);
    let out = token(&db, "ana", "viewer");
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let viewer = String::from_utf8(out.stdout).unwrap().trim().to_owned();
    assert!(viewer.starts_with("rc_") && viewer.len() == 67, "{viewer}");
    (dir, db, viewer)
}

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
    the_calendar_feed_takes_its_token_in_the_url,
    token_creation_refuses_bad_roles_and_names,
);

mod sync {
    use super::*;
    use serde_json::{json, Value};

    fn post(server: &Server, token: &str, key: &str, body: &Value) -> reqwest::blocking::Response {
        reqwest::blocking::Client::new()
            .post(format!("{}/v1/mutations", server.base))
            .bearer_auth(token)
            .header("Idempotency-Key", key)
            .json(body)
            .send()
            .unwrap()
    }

    fn changes(server: &Server, token: &str, since: u64) -> Value {
        reqwest::blocking::Client::new()
            .get(format!("{}/v1/changes?since={since}", server.base))
            .bearer_auth(token)
            .send()
            .unwrap()
            .json()
            .unwrap()
    }

    fn mutation(id: &str, base: u64, fields: Value) -> Value {
        json!({ "mutation_id": id, "kind": "release", "id": "checkout-2.0", "base_version": base, "fields": fields })
    }

    fn different_fields_merge_the_same_field_is_one_conflict_and_repeats_change_nothing(
        backend: Backend,
    ) {
        let (_dir, db, viewer) = setup(backend);
        let editor = String::from_utf8(token(&db, "li", "editor").stdout)
            .unwrap()
            .trim()
            .to_owned();
        let server = start(&db);

        // Bootstrap: every object once, at version 1.
        let all = changes(&server, &viewer, 0);
        assert_eq!(all["changes"].as_array().unwrap().len(), 16, "{all}");
        assert!(all["changes"]
            .as_array()
            .unwrap()
            .iter()
            .all(|c| c["version"] == 1));
        let cursor = all["cursor"].as_u64().unwrap();

        // A viewer may not write.
        let denied = post(
            &server,
            &viewer,
            "k0",
            &json!({ "mutations": [mutation("v1", 1, json!({ "owner": "x" }))] }),
        );
        assert_eq!(denied.status(), 403);

        // Desktop A changes the owner, desktop B (also on version 1) the version: both apply.
        let a: Value = post(
            &server,
            &editor,
            "kA",
            &json!({ "mutations": [mutation("a1", 1, json!({ "owner": "li" }))] }),
        )
        .json()
        .unwrap();
        assert_eq!(
            a["results"][0],
            json!({ "outcome": "applied", "mutation_id": "a1", "version": 2, "merged": false })
        );
        let b: Value = post(
            &server,
            &editor,
            "kB",
            &json!({ "mutations": [mutation("b1", 1, json!({ "version": "2.0.1" }))] }),
        )
        .json()
        .unwrap();
        assert_eq!(
            b["results"][0],
            json!({ "outcome": "applied", "mutation_id": "b1", "version": 3, "merged": true })
        );
        // Desktop C changed the owner too, from version 1: one conflict, with both copies.
        let c: Value = post(
            &server,
            &editor,
            "kC",
            &json!({ "mutations": [mutation("c1", 1, json!({ "owner": "omar" }))] }),
        )
        .json()
        .unwrap();
        let r = &c["results"][0];
        assert_eq!(r["outcome"], "conflict", "{c}");
        assert_eq!(r["fields"], json!(["owner"]));
        assert_eq!(r["server"]["owner"], "li");
        assert_eq!(r["server_version"], 3);
        assert_eq!(r["base"]["owner"], "dana");

        // The same batch key, or the same mutation id: the first answer, nothing applied twice.
        let again: Value = post(
            &server,
            &editor,
            "kA",
            &json!({ "mutations": [mutation("a1", 1, json!({ "owner": "li" }))] }),
        )
        .json()
        .unwrap();
        assert_eq!(again, a);
        let repeat: Value = post(
            &server,
            &editor,
            "kA2",
            &json!({ "mutations": [mutation("b1", 1, json!({ "version": "2.0.1" }))] }),
        )
        .json()
        .unwrap();
        assert_eq!(repeat["results"][0], b["results"][0]);

        let after = changes(&server, &viewer, cursor);
        let list = after["changes"].as_array().unwrap();
        assert_eq!(list.len(), 2, "{after}");
        assert_eq!(list[1]["object"]["owner"], "li");
        assert_eq!(list[1]["object"]["version"], "2.0.1");
        // The calendar itself holds both, and the audit trail says who.
        let plan: Value = reqwest::blocking::Client::new()
            .get(format!("{}/v1/plan", server.base))
            .bearer_auth(&viewer)
            .send()
            .unwrap()
            .json()
            .unwrap();
        let checkout = plan["releases"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["id"] == "checkout-2.0")
            .unwrap()
            .clone();
        assert_eq!(
            (checkout["owner"].clone(), checkout["version"].clone()),
            (json!("li"), json!("2.0.1"))
        );
    }

    fn gate(server: &Server, token: &str, at: &str) -> bool {
        let answer: Value = reqwest::blocking::Client::new()
            .get(format!(
                "{}/v1/gate?env=prod&service=ingress&at={at}",
                server.base
            ))
            .bearer_auth(token)
            .send()
            .unwrap()
            .json()
            .unwrap();
        answer["allowed"].as_bool().unwrap()
    }

    fn the_warm_calendar_follows_every_write_also_from_another_server_process(backend: Backend) {
        // The read endpoints answer from a calendar kept in memory; a write,
        // through this server or another process on the same database, is
        // seen by the very next request.
        let (_dir, db, viewer) = setup(backend);
        // An admin: the hard freeze it adds, it also lifts (`policy.rs`).
        let editor = String::from_utf8(token(&db, "li", "admin").stdout)
            .unwrap()
            .trim()
            .to_owned();
        let a = start(&db);
        let b = start(&db);
        let at = "2027-01-12T09:00:00Z";
        assert!(gate(&a, &viewer, at));
        let freeze = json!({ "mutations": [{
            "mutation_id": "f1", "kind": "freeze", "id": "january", "base_version": 0,
            "fields": { "name": "January", "severity": "hard",
                        "start": "2027-01-11T00:00:00Z", "end": "2027-01-13T00:00:00Z" }
        }]});
        let added: Value = post(&a, &editor, "kf1", &freeze).json().unwrap();
        assert_eq!(added["results"][0]["outcome"], "applied", "{added}");
        assert!(!gate(&a, &viewer, at), "A's own write");
        assert!(!gate(&b, &viewer, at), "B reads the same database");
        // B deletes it; A, which answered from memory a moment ago, sees it.
        let gone = json!({ "mutations": [{
            "mutation_id": "f2", "kind": "freeze", "id": "january", "base_version": 1, "fields": null
        }]});
        let deleted: Value = post(&b, &editor, "kf2", &gone).json().unwrap();
        assert_eq!(deleted["results"][0]["outcome"], "applied", "{deleted}");
        assert!(gate(&a, &viewer, at), "B's write, seen by A");
        let plan: Value = reqwest::blocking::Client::new()
            .get(format!("{}/v1/plan", a.base))
            .bearer_auth(&viewer)
            .send()
            .unwrap()
            .json()
            .unwrap();
        assert!(
            !plan["freezes"]
                .as_array()
                .unwrap()
                .iter()
                .any(|f| f["id"] == "january"),
            "{plan}"
        );
    }

    fn invalid_mutations_are_rejected_with_the_field_and_bad_requests_get_4xx(backend: Backend) {
        let (_dir, db, _viewer) = setup(backend);
        let editor = String::from_utf8(token(&db, "li", "editor").stdout)
            .unwrap()
            .trim()
            .to_owned();
        let server = start(&db);
        let r: Value = post(&server, &editor, "k1", &json!({ "mutations": [
            mutation("m1", 1, json!({ "end": "2020-01-01T00:00:00Z" })),
            mutation("m2", 9, json!({ "owner": "x" })),
            mutation("m3", 1, json!({ "approvals": [{ "by": "li", "at": "2026-11-01T00:00:00Z" }] })),
            { "mutation_id": "m4", "kind": "release", "id": "ingress-xmas", "base_version": 1, "fields": null },
            // A second rule smuggled in after a line break, and a length that
            // once overflowed and panicked while the store was locked.
            { "mutation_id": "m5", "kind": "freeze", "id": "no-friday", "base_version": 1,
              "fields": { "rrule": "FREQ=WEEKLY;BYDAY=FR\nEXRULE:FREQ=DAILY" } },
            { "mutation_id": "m6", "kind": "freeze", "id": "no-friday", "base_version": 1,
              "fields": { "duration": "PT4294967295H" } },
        ] })).json().unwrap();
        let res = r["results"].as_array().unwrap();
        assert_eq!(res[0]["outcome"], "rejected");
        assert!(
            res[0]["reason"].as_str().unwrap().contains("field `end`"),
            "{r}"
        );
        assert!(
            res[1]["reason"]
                .as_str()
                .unwrap()
                .contains("field `base_version`"),
            "{r}"
        );
        assert!(
            res[2]["reason"].as_str().unwrap().contains("approver role"),
            "{r}"
        );
        assert_eq!(res[3]["outcome"], "applied", "{r}");
        for (i, needle) in [(4, "line break"), (5, "at most 366 days")] {
            assert_eq!(res[i]["outcome"], "rejected", "{r}");
            let reason = res[i]["reason"].as_str().unwrap();
            assert!(reason.contains(needle), "{r}");
        }
        let tomb = changes(&server, &editor, 16);
        assert_eq!(tomb["changes"][0]["id"], "ingress-xmas");
        assert_eq!(tomb["changes"][0]["object"], Value::Null);

        let http = reqwest::blocking::Client::new();
        let url = format!("{}/v1/mutations", server.base);
        let no_key = http
            .post(&url)
            .bearer_auth(&editor)
            .json(&json!({ "mutations": [] }))
            .send()
            .unwrap();
        assert_eq!(no_key.status(), 400);
        let malformed = http
            .post(&url)
            .bearer_auth(&editor)
            .header("Idempotency-Key", "x")
            .header("content-type", "application/json")
            .body("{\"mutations\": [")
            .send()
            .unwrap();
        assert!(malformed.status().is_client_error());
        let big = format!(
            "{{\"mutations\": [], \"pad\": \"{}\"}}",
            "x".repeat(2 * 1024 * 1024)
        );
        let oversized = http
            .post(&url)
            .bearer_auth(&editor)
            .header("Idempotency-Key", "y")
            .header("content-type", "application/json")
            .body(big)
            .send()
            .unwrap();
        assert!(
            oversized.status().is_client_error(),
            "{}",
            oversized.status()
        );
        let too_many: Vec<Value> = (0..501)
            .map(|i| mutation(&format!("n{i}"), 1, json!({ "owner": "x" })))
            .collect();
        let many = post(&server, &editor, "z", &json!({ "mutations": too_many }));
        assert_eq!(many.status(), 400);
        // The server is still there.
        assert_eq!(
            http.get(format!("{}/v1/whoami", server.base))
                .bearer_auth(&editor)
                .send()
                .unwrap()
                .status(),
            200
        );
    }

    crate::on_both_backends!(
        different_fields_merge_the_same_field_is_one_conflict_and_repeats_change_nothing,
        invalid_mutations_are_rejected_with_the_field_and_bad_requests_get_4xx,
        the_warm_calendar_follows_every_write_also_from_another_server_process
    );
}

mod desktops {
    //! Two desktop databases and one server, through the real HTTP client.
    use super::*;
    use relcal_testkit::at;

    fn desktop(dir: &std::path::Path, name: &str, user: &str) -> relcal_api::Store {
        let mut store = relcal_api::open_store(&dir.join(format!("{name}.db"))).unwrap();
        store.set_actor(user);
        store
    }

    fn sync(store: &mut relcal_api::Store, server: &Server, token: &str) -> relcal_api::SyncReport {
        let mut http = relcal_http::HttpTransport::new(&server.base, token).unwrap();
        relcal_api::sync_once(store, &server.base, &mut http, at("2026-11-25T00:00:00Z")).unwrap()
    }

    fn server_plan(server: &Server, token: &str) -> String {
        let v: serde_json::Value = reqwest::blocking::Client::new()
            .get(format!("{}/v1/plan", server.base))
            .bearer_auth(token)
            .send()
            .unwrap()
            .json()
            .unwrap();
        serde_json::to_string_pretty(&v).unwrap()
    }

    fn plan_of(store: &relcal_api::Store) -> String {
        let v: serde_json::Value =
            serde_json::from_str(&relcal_api::export_plan_json(store).unwrap()).unwrap();
        serde_json::to_string_pretty(&v).unwrap()
    }

    fn edits_of_different_fields_merge_and_all_three_agree_the_same_field_is_one_conflict(
        backend: Backend,
    ) {
        let (dir, db, viewer) = setup(backend);
        let li = String::from_utf8(token(&db, "li", "editor").stdout)
            .unwrap()
            .trim()
            .to_owned();
        let omar = String::from_utf8(token(&db, "omar", "editor").stdout)
            .unwrap()
            .trim()
            .to_owned();
        let server = start(&db);
        let mut a = desktop(dir.path(), "a", "li");
        let mut b = desktop(dir.path(), "b", "omar");
        // First sync: each desktop takes the server's calendar.
        assert_eq!(sync(&mut a, &server, &li).pulled, 16);
        assert_eq!(sync(&mut b, &server, &omar).pulled, 16);
        assert_eq!(plan_of(&a), server_plan(&server, &viewer));

        // A moves checkout 2.0, B changes its owner: different fields.
        let now = at("2026-11-25T00:00:00Z");
        relcal_api::move_release(
            &mut a,
            "checkout-2.0",
            "2026-12-01T17:00:00Z",
            "2026-12-01T19:00:00Z",
            now,
        )
        .unwrap();
        let mut input = relcal_api::release_input(&b, "checkout-2.0").unwrap();
        input.owner = Some("omar".into());
        relcal_api::save_release(&mut b, input, now).unwrap();
        let ra = sync(&mut a, &server, &li);
        assert_eq!((ra.pushed, ra.conflicts), (1, 0));
        let rb = sync(&mut b, &server, &omar);
        assert_eq!((rb.pushed, rb.merged, rb.conflicts), (1, 1, 0), "{rb:?}");
        sync(&mut a, &server, &li);
        let agreed = server_plan(&server, &viewer);
        assert!(agreed.contains("\"owner\": \"omar\"") && agreed.contains("2026-12-01T17:00:00Z"));
        assert_eq!(plan_of(&a), agreed);
        assert_eq!(plan_of(&b), agreed);
        // Nothing left to do.
        let idle = sync(&mut a, &server, &li);
        assert_eq!((idle.pushed, idle.pulled, idle.conflicts), (0, 0, 0));

        // Now both change the owner: the second pusher gets exactly one conflict.
        for (store, who) in [(&mut a, "li"), (&mut b, "zed")] {
            let mut input = relcal_api::release_input(store, "checkout-2.0").unwrap();
            input.owner = Some(who.into());
            relcal_api::save_release(store, input, now).unwrap();
        }
        assert_eq!(sync(&mut a, &server, &li).conflicts, 0);
        assert_eq!(sync(&mut b, &server, &omar).conflicts, 1);
        let conflicts = relcal_api::sync_conflicts(&b).unwrap();
        assert_eq!(conflicts.len(), 1);
        assert_eq!(conflicts[0].3["fields"], serde_json::json!(["owner"]));
        assert_eq!(conflicts[0].3["server"]["owner"], "li");
        // The app's view: the field, with yours, theirs and the original.
        let views = relcal_api::sync_conflict_views(&b).unwrap();
        assert_eq!(views.len(), 1);
        assert_eq!(views[0].mutation_id, conflicts[0].0);
        assert_eq!((views[0].refused, views[0].deleted), (false, false));
        assert_eq!(views[0].title.as_deref(), Some("checkout 2.0"));
        assert_eq!(
            views[0].fields,
            [relcal_api::SyncConflictField {
                name: "owner".into(),
                yours: Some("\"zed\"".into()),
                theirs: Some("\"li\"".into()),
                original: Some("\"omar\"".into()),
            }]
        );
        // B keeps its value until a person chooses; the server keeps A's.
        assert!(plan_of(&b).contains("\"owner\": \"zed\""));
        assert!(server_plan(&server, &viewer).contains("\"owner\": \"li\""));

        // B takes theirs: all three agree on li.
        relcal_api::resolve_sync_conflict(&mut b, &conflicts[0].0, false, now).unwrap();
        assert!(relcal_api::sync_conflicts(&b).unwrap().is_empty());
        assert_eq!(plan_of(&b), server_plan(&server, &viewer));

        // Again, and this time B keeps its own: the resolution goes out as a new mutation.
        for (store, who) in [(&mut a, "kai"), (&mut b, "sam")] {
            let mut input = relcal_api::release_input(store, "checkout-2.0").unwrap();
            input.owner = Some(who.into());
            relcal_api::save_release(store, input, now).unwrap();
        }
        assert_eq!(sync(&mut a, &server, &li).conflicts, 0);
        assert_eq!(sync(&mut b, &server, &omar).conflicts, 1);
        let second = relcal_api::sync_conflicts(&b).unwrap();
        relcal_api::resolve_sync_conflict(&mut b, &second[0].0, true, now).unwrap();
        let pushed = sync(&mut b, &server, &omar);
        assert_eq!(
            (pushed.pushed, pushed.conflicts),
            (1, 0),
            "{pushed:?} {:?}",
            relcal_api::sync_conflicts(&b).unwrap()
        );
        sync(&mut a, &server, &li);
        let agreed = server_plan(&server, &viewer);
        assert!(agreed.contains("\"owner\": \"sam\""));
        assert_eq!(plan_of(&a), agreed);
        assert_eq!(plan_of(&b), agreed);
        let err = relcal_api::resolve_sync_conflict(&mut b, "nope", true, now).unwrap_err();
        assert_eq!(err.code, relcal_api::ErrorCode::NotFound);
    }

    fn an_import_after_a_sync_reaches_the_server(backend: Backend) {
        // Issue 14, item 15: the import's audit entry names the calendar, not
        // an object, and the push used to send nothing for it.
        let (dir, db, viewer) = setup(backend);
        let li = String::from_utf8(token(&db, "li", "admin").stdout)
            .unwrap()
            .trim()
            .to_owned();
        let server = start(&db);
        let mut a = desktop(dir.path(), "a", "li");
        assert_eq!(sync(&mut a, &server, &li).pulled, 16);
        // The same calendar, edited: a release moved, one removed, a team renamed.
        let mut plan: serde_json::Value =
            serde_json::from_str(&relcal_api::export_plan_json(&a).unwrap()).unwrap();
        let releases = plan["releases"].as_array_mut().unwrap();
        releases.retain(|r| r["id"] != "ingress-xmas");
        for r in releases.iter_mut().filter(|r| r["id"] == "checkout-2.0") {
            r["start"] = "2026-12-03T15:00:00Z".into();
            r["end"] = "2026-12-03T17:00:00Z".into();
        }
        for t in plan["teams"].as_array_mut().unwrap() {
            if t["id"] == "payments" {
                t["name"] = "Payments & billing".into();
            }
        }
        relcal_api::import_plan_text(&mut a, &plan.to_string()).unwrap();
        let report = sync(&mut a, &server, &li);
        assert_eq!(report.pushed, 3, "{report:?}");
        assert_eq!(report.conflicts, 0, "{report:?}");
        assert_eq!(plan_of(&a), server_plan(&server, &viewer));
        // Nothing left to send.
        assert_eq!(sync(&mut a, &server, &li).pushed, 0);
    }

    fn a_pulled_change_keeps_its_real_author_in_the_audit_trail(backend: Backend) {
        let (dir, db, _viewer) = setup(backend);
        let [li, omar] = ["li", "omar"].map(|user| {
            String::from_utf8(token(&db, user, "editor").stdout)
                .unwrap()
                .trim()
                .to_owned()
        });
        let server = start(&db);
        let mut a = desktop(dir.path(), "a", "li");
        let mut b = desktop(dir.path(), "b", "omar");
        sync(&mut a, &server, &li);
        sync(&mut b, &server, &omar);
        let mut input = relcal_api::release_input(&b, "checkout-2.0").unwrap();
        input.owner = Some("omar".into());
        relcal_api::save_release(&mut b, input, at("2026-11-25T00:00:00Z")).unwrap();
        sync(&mut b, &server, &omar);
        assert_eq!(sync(&mut a, &server, &li).pulled, 1);
        let trail = relcal_api::audit_log(&a, Some("checkout-2.0")).unwrap();
        let last = trail.iter().max_by_key(|e| e.seq).unwrap();
        // omar made it, as the server authenticated him; li only received it.
        assert_eq!(last.actor, "omar (via sync, pulled by li)", "{trail:?}");
        assert_eq!(last.action, "release.pulled");
    }

    fn a_calendar_that_differs_from_the_servers_without_a_pending_change_is_shown_never_hidden(
        backend: Backend,
    ) {
        let (dir, db, viewer) = setup(backend);
        let li = String::from_utf8(token(&db, "li", "editor").stdout)
            .unwrap()
            .trim()
            .to_owned();
        let server = start(&db);
        let mut a = desktop(dir.path(), "a", "li");
        sync(&mut a, &server, &li);
        assert_eq!(plan_of(&a), server_plan(&server, &viewer));
        // A change that left no trace in the audit trail (a bug, a hand edit,
        // a restored backup): sync has nothing pending to send.
        let file = rusqlite::Connection::open(dir.path().join("a.db")).unwrap();
        file.execute(
            "UPDATE releases SET title = 'edited behind sync' WHERE id = 'checkout-2.0'",
            [],
        )
        .unwrap();
        drop(file);
        let report = sync(&mut a, &server, &li);
        assert_eq!(report.diverged, 1, "{report:?}");
        assert_eq!(report.pushed, 0, "{report:?}");
        let views = relcal_api::sync_conflict_views(&a).unwrap();
        assert_eq!(views.len(), 1, "{views:?}");
        let title = views[0]
            .fields
            .iter()
            .find(|f| f.name == "title")
            .unwrap_or_else(|| panic!("{views:?}"));
        assert_eq!(title.yours.as_deref(), Some("\"edited behind sync\""));
        assert_eq!(title.theirs.as_deref(), Some("\"checkout 2.0\""));
        // Until a person chooses, it is not reported again.
        assert_eq!(sync(&mut a, &server, &li).diverged, 0);
        // Keeping the server's copy makes them agree, and the next sync says so.
        relcal_api::resolve_sync_conflict(
            &mut a,
            &views[0].mutation_id,
            false,
            at("2026-11-25T00:00:00Z"),
        )
        .unwrap();
        assert_eq!(plan_of(&a), server_plan(&server, &viewer));
        let report = sync(&mut a, &server, &li);
        assert_eq!((report.diverged, report.conflicts), (0, 0), "{report:?}");
    }

    fn every_kind_of_local_write_reaches_the_server(backend: Backend) {
        let (dir, db, viewer) = setup(backend);
        // An admin and an approver: every write below is theirs to make.
        let li = String::from_utf8(token(&db, "li", "admin").stdout)
            .unwrap()
            .trim()
            .to_owned();
        let server = start(&db);
        let mut a = desktop(dir.path(), "a", "li");
        sync(&mut a, &server, &li);
        let now = at("2026-11-25T00:00:00Z");
        let same = |a: &mut relcal_api::Store, what: &str| {
            let report = sync(a, &server, &li);
            assert_eq!(
                (report.conflicts, report.diverged),
                (0, 0),
                "after {what}: {report:?} {:?}",
                relcal_api::sync_conflict_views(a).unwrap()
            );
            // The same objects; the order of a list is not part of the
            // calendar (an object put back here goes to the end there).
            let sorted = |text: String| {
                let mut v: serde_json::Value = serde_json::from_str(&text).unwrap();
                for list in ["teams", "services", "environments", "freezes", "releases"] {
                    if let Some(items) = v[list].as_array_mut() {
                        items.sort_by(|x, y| x["id"].as_str().cmp(&y["id"].as_str()));
                    }
                }
                serde_json::to_string_pretty(&v).unwrap()
            };
            assert_eq!(
                sorted(plan_of(a)),
                sorted(server_plan(&server, &viewer)),
                "after {what}"
            );
        };
        // Each kind of write the app and the CLI make, each followed by a sync.
        let moved = relcal_api::move_release(
            &mut a,
            "checkout-2.0",
            "2026-12-03T15:00:00Z",
            "2026-12-03T17:00:00Z",
            now,
        )
        .unwrap();
        same(&mut a, "a move");
        relcal_api::undo_change(&mut a, &moved.undo, now).unwrap();
        same(&mut a, "an undo");
        relcal_api::set_release_status(&mut a, "ingress-xmas", "cancelled", now).unwrap();
        same(&mut a, "a status");
        relcal_api::approve_release(&mut a, "checkout-2.0", now).unwrap();
        same(&mut a, "an approval (stamped by the server)");
        relcal_api::set_checklist_item(
            &mut a,
            "checkout-2.0",
            relcal_api::ChecklistItemInput {
                item_id: "smoke".into(),
                done: true,
                owner: None,
                note: None,
            },
            now,
        )
        .unwrap();
        same(&mut a, "a checklist tick");
        let team = relcal_api::TeamInput {
            id: "web".into(),
            name: "Web".into(),
            timezone: None,
        };
        relcal_api::save_team(&mut a, team, now).unwrap();
        same(&mut a, "a new team");
        let deleted =
            relcal_api::delete_object(&mut a, relcal_api::ObjectKind::Freeze, "no-friday", now)
                .unwrap();
        same(&mut a, "a deleted freeze");
        relcal_api::undo_change(&mut a, &deleted.undo, now).unwrap();
        same(&mut a, "a freeze put back");
        let ics = "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//t//t//EN\r\nBEGIN:VEVENT\r\n\
                   UID:20270101-newyear@holidays.example\r\nDTSTAMP:20260101T000000Z\r\n\
                   DTSTART;VALUE=DATE:20270101\r\nDTEND;VALUE=DATE:20270102\r\nSUMMARY:New Year\r\n\
                   END:VEVENT\r\nEND:VCALENDAR\r\n";
        relcal_api::import_holidays(&mut a, ics, "hard", &["prod".into()], now).unwrap();
        same(&mut a, "a holiday import");
        let mut plan: serde_json::Value =
            serde_json::from_str(&relcal_api::export_plan_json(&a).unwrap()).unwrap();
        plan["releases"]
            .as_array_mut()
            .unwrap()
            .retain(|r| r["id"] != "ledger-hotfix");
        relcal_api::import_plan_text(&mut a, &plan.to_string()).unwrap();
        same(&mut a, "an import");
    }

    crate::on_both_backends!(
        every_kind_of_local_write_reaches_the_server,
        a_calendar_that_differs_from_the_servers_without_a_pending_change_is_shown_never_hidden,
        edits_of_different_fields_merge_and_all_three_agree_the_same_field_is_one_conflict,
        an_import_after_a_sync_reaches_the_server,
        a_pulled_change_keeps_its_real_author_in_the_audit_trail
    );
}

mod cli {
    //! `relcal sync` and `relcal conflicts --sync` against the real server.
    use super::*;

    /// The `relcal` binary, built beside this test's (same target directory).
    fn relcal() -> Command {
        let exe = std::env::current_exe().unwrap();
        let dir = exe.parent().unwrap().parent().unwrap();
        Command::new(dir.join("relcal"))
    }

    fn relcal_http_pulls_the_calendar_and_lists_no_conflicts(backend: Backend) {
        let (dir, db, _viewer) = setup(backend);
        let li = String::from_utf8(token(&db, "li", "editor").stdout)
            .unwrap()
            .trim()
            .to_owned();
        let server = start(&db);
        let local = dir.path().join("desk.db");
        relcal_api::open_store(&local).unwrap();
        let local = local.to_str().unwrap();
        let no_token = relcal()
            .args(["sync", "--db", local, "--server", &server.base])
            .env_remove("RELCAL_TOKEN")
            .output()
            .unwrap();
        assert_eq!(no_token.status.code(), Some(2));
        assert!(String::from_utf8_lossy(&no_token.stderr).contains("RELCAL_TOKEN"));
        let out = relcal()
            .args(["sync", "--db", local, "--server", &server.base])
            .env("RELCAL_TOKEN", &li)
            .output()
            .unwrap();
        assert_eq!(
            out.status.code(),
            Some(0),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert_eq!(
            String::from_utf8_lossy(&out.stdout).trim(),
            "pushed 0 (0 merged), pulled 16, 0 new conflicts"
        );
        let wrong = relcal()
            .args(["sync", "--db", local, "--server", &server.base])
            .env("RELCAL_TOKEN", "rc_bad")
            .output()
            .unwrap();
        assert_eq!(wrong.status.code(), Some(3));
        assert!(String::from_utf8_lossy(&wrong.stderr).contains("the token is not valid"));
        let list = relcal()
            .args(["conflicts", "--db", local, "--sync"])
            .output()
            .unwrap();
        assert_eq!(list.status.code(), Some(0));
        assert!(String::from_utf8_lossy(&list.stdout).contains("0 unresolved"));
    }

    /// Rewrites a desktop's whole audit chain, head included, as an intruder
    /// with the file would: entry #1 says another actor, and every hash after
    /// it is made again, so the chain on its own checks out.
    fn rewrite_chain(file: &std::path::Path) {
        let c = rusqlite::Connection::open(file).unwrap();
        c.execute_batch(
            "DROP TRIGGER audit_log_append_only_update; DROP TRIGGER audit_log_append_only_delete;
             UPDATE audit_log SET actor = 'mallory' WHERE seq = 1;",
        )
        .unwrap();
        // The entries as the store reads them, the actor already changed.
        let rows = relcal_api::open_store(file)
            .unwrap()
            .audit_entries(None)
            .unwrap();
        let mut prev = relcal_domain::GENESIS.to_owned();
        for mut e in rows {
            e.prev_hash.clone_from(&prev);
            let hash = e.computed_hash();
            c.execute(
                "UPDATE audit_log SET prev_hash = ?1, hash = ?2 WHERE seq = ?3",
                rusqlite::params![prev, hash, e.seq],
            )
            .unwrap();
            c.execute(
                "UPDATE audit_head SET seq = ?1, hash = ?2",
                rusqlite::params![e.seq, hash],
            )
            .unwrap();
            prev = hash;
        }
    }

    fn a_rewritten_chain_is_caught_against_the_heads_the_server_kept(backend: Backend) {
        let (dir, db, _viewer) = setup(backend);
        let li = String::from_utf8(token(&db, "li", "editor").stdout)
            .unwrap()
            .trim()
            .to_owned();
        let server = start(&db);
        let file = dir.path().join("desk.db");
        relcal_api::open_store(&file).unwrap();
        let file_arg = file.to_str().unwrap();
        let sync = relcal()
            .args(["sync", "--db", file_arg, "--server", &server.base])
            .env("RELCAL_TOKEN", &li)
            .output()
            .unwrap();
        assert_eq!(
            sync.status.code(),
            Some(0),
            "{}",
            String::from_utf8_lossy(&sync.stderr)
        );
        let verify = |anchored: bool| {
            let mut args = vec!["audit", "verify", "--db", file_arg];
            if anchored {
                args.extend(["--server", &server.base]);
            }
            relcal()
                .args(&args)
                .env("RELCAL_TOKEN", &li)
                .output()
                .unwrap()
        };
        let ok = verify(true);
        assert_eq!(
            ok.status.code(),
            Some(0),
            "{}",
            String::from_utf8_lossy(&ok.stderr)
        );
        assert!(String::from_utf8_lossy(&ok.stdout).contains("matches the 1 heads the server kept"));

        rewrite_chain(&file);
        // On its own the rewritten chain checks out...
        let alone = verify(false);
        assert_eq!(
            alone.status.code(),
            Some(0),
            "{}",
            String::from_utf8_lossy(&alone.stderr)
        );
        // ...but not against what the server kept.
        let caught = verify(true);
        assert_eq!(caught.status.code(), Some(1));
        let said = String::from_utf8_lossy(&caught.stderr);
        assert!(said.contains("the trail was rewritten"), "{said}");
    }

    fn the_servers_own_trail_is_verified_and_append_only(backend: Backend) {
        let (_dir, db, _viewer) = setup(backend);
        let ok = server_cmd(&db, &["audit", "verify"], None);
        assert_eq!(
            ok.status.code(),
            Some(0),
            "{}",
            String::from_utf8_lossy(&ok.stderr)
        );
        assert!(String::from_utf8_lossy(&ok.stdout).contains("the audit trail is intact"));
        match &db.postgres {
            Some(pg) => {
                // The table refuses edits, deletions and truncation...
                for sql in [
                    "UPDATE audit_log SET actor = 'mallory' WHERE seq = 1",
                    "DELETE FROM audit_log WHERE seq = 1",
                    "TRUNCATE audit_log",
                ] {
                    let out = pg.psql(sql);
                    assert!(!out.status.success(), "{sql}");
                    assert!(
                        String::from_utf8_lossy(&out.stderr).contains("append-only"),
                        "{sql}"
                    );
                }
                // ...and an edit made with the triggers off is found.
                let out = pg.psql(
                    "ALTER TABLE audit_log DISABLE TRIGGER USER; UPDATE audit_log SET actor = 'mallory' WHERE seq = 1",
                );
                assert!(
                    out.status.success(),
                    "{}",
                    String::from_utf8_lossy(&out.stderr)
                );
            }
            None => {
                let file = db.args[1].clone();
                let c = rusqlite::Connection::open(file).unwrap();
                c.execute_batch(
                    "DROP TRIGGER audit_log_append_only_update; UPDATE audit_log SET actor = 'mallory' WHERE seq = 1;",
                )
                .unwrap();
            }
        }
        let broken = server_cmd(&db, &["audit", "verify"], None);
        assert_eq!(broken.status.code(), Some(1));
        let said = String::from_utf8_lossy(&broken.stderr);
        assert!(said.contains("entry #1 was changed"), "{said}");
    }

    crate::on_both_backends!(
        relcal_http_pulls_the_calendar_and_lists_no_conflicts,
        a_rewritten_chain_is_caught_against_the_heads_the_server_kept,
        the_servers_own_trail_is_verified_and_append_only
    );
}

mod policy {
    //! Who may change what, decided by the server from the token: approvals
    //! and exceptions stamped with the authenticated user and the server's
    //! time, and every cell of the role policy (docs/roles.md).

    use super::*;
    use serde_json::{json, Value};

    /// The server as several people, each with their own token, and the
    /// version each object is at.
    struct Team {
        server: Server,
        /// The database (a PostgreSQL cluster lives as long as it does).
        _db: ServerDb,
        tokens: std::collections::HashMap<&'static str, String>,
        versions: std::collections::HashMap<String, u64>,
        sent: u32,
    }

    /// The server's clock in these tests.
    const NOW: &str = "2026-11-28T10:00:00Z";

    impl Team {
        /// Sends one mutation as `user`: its result, or, for a batch refused
        /// as a whole (a viewer's), `{"outcome": "forbidden"}`. An applied
        /// one's new version is remembered.
        fn send(&mut self, user: &str, kind: &str, id: &str, fields: Value) -> Value {
            self.sent += 1;
            let key = format!("{kind}/{id}");
            let base = *self.versions.get(&key).unwrap_or(&1);
            let body = json!({ "mutations": [{
                "mutation_id": format!("p{}", self.sent), "kind": kind, "id": id,
                "base_version": base, "fields": fields
            }]});
            let response = reqwest::blocking::Client::new()
                .post(format!("{}/v1/mutations", self.server.base))
                .bearer_auth(&self.tokens[user])
                .header("Idempotency-Key", format!("k{}", self.sent))
                .json(&body)
                .send()
                .unwrap();
            if response.status() == 403 {
                return json!({ "outcome": "forbidden" });
            }
            let r: Value = response.json().unwrap();
            let result = r["results"][0].clone();
            if result["outcome"] == "applied" {
                self.versions
                    .insert(key, result["version"].as_u64().unwrap());
            }
            result
        }

        /// An object the calendar does not hold yet (its version is 0).
        fn new_object(&mut self, kind: &str, id: &str) {
            self.versions.insert(format!("{kind}/{id}"), 0);
        }

        fn applied(&mut self, user: &str, kind: &str, id: &str, fields: Value) {
            let r = self.send(user, kind, id, fields.clone());
            assert_eq!(r["outcome"], "applied", "{user} {kind} {id} {fields}: {r}");
        }

        /// Refused, with a reason that names the object, the field (none
        /// for the object as a whole) and says `because`.
        fn refused(
            &mut self,
            user: &str,
            kind: &str,
            id: &str,
            fields: Value,
            field: &str,
            because: &str,
        ) {
            let r = self.send(user, kind, id, fields.clone());
            assert_eq!(r["outcome"], "rejected", "{user} {kind} {id} {fields}: {r}");
            let reason = r["reason"].as_str().unwrap();
            let names = reason.starts_with(&format!("{kind} \"{id}\": "))
                && (field.is_empty() || reason.contains(&format!("field `{field}`")));
            assert!(
                names && reason.contains(because),
                "{user} {kind} {id}: {reason}"
            );
        }

        fn plan(&self) -> Value {
            reqwest::blocking::Client::new()
                .get(format!("{}/v1/plan", self.server.base))
                .bearer_auth(&self.tokens["viewer"])
                .send()
                .unwrap()
                .json()
                .unwrap()
        }

        fn object(&self, list: &str, id: &str) -> Option<Value> {
            self.plan()[list]
                .as_array()
                .unwrap()
                .iter()
                .find(|x| x["id"] == id)
                .cloned()
        }
    }

    fn team(backend: Backend) -> (tempfile::TempDir, Team) {
        let (dir, db, viewer) = setup(backend);
        let mut tokens = std::collections::HashMap::new();
        tokens.insert("viewer", viewer);
        for (user, role) in [
            ("li", "editor"),
            ("bob", "approver"),
            ("carol", "approver"),
            ("dana", "approver"),
            ("kai", "approver"),
            ("root", "admin"),
        ] {
            let out = token(&db, user, role);
            tokens.insert(
                user,
                String::from_utf8(out.stdout).unwrap().trim().to_owned(),
            );
        }
        let server = start_at(&db, Some(NOW));
        let team = Team {
            server,
            _db: db,
            tokens,
            versions: Default::default(),
            sent: 0,
        };
        (dir, team)
    }

    const AT: &str = "2026-11-30T09:00:00Z";

    /// An approval the server wrote: `by`, at the server's time (its clock
    /// starts at NOW and runs on), never the client's AT.
    fn stamped(approval: &Value, by: &str) {
        assert_eq!(approval["by"], by, "{approval}");
        let at = relcal_testkit::at(approval["at"].as_str().unwrap());
        let start = relcal_testkit::at(NOW);
        assert!(
            at >= start && at < start + chrono::Duration::minutes(10),
            "{approval}"
        );
    }

    fn approvals_and_exceptions_are_the_authenticated_users_own(backend: Backend) {
        let (_dir, mut t) = team(backend);
        let r = "checkout-2.0"; // owned by dana, in prod (two approvals needed)
                                // Whatever name and time the client writes, the approval is bob's, now.
        t.applied(
            "bob",
            "release",
            r,
            json!({ "approvals": [{ "by": "carol", "at": AT }] }),
        );
        let release = t.object("releases", r).unwrap();
        let bob = release["approvals"][0].clone();
        stamped(&bob, "bob");
        assert_eq!(
            release["approvals"].as_array().unwrap().len(),
            1,
            "{release}"
        );
        // So one approver cannot reach two of two alone.
        t.refused(
            "bob",
            "release",
            r,
            json!({ "approvals": [bob, { "by": "carol", "at": AT }] }),
            "approvals",
            "bob has already approved it; each person approves once",
        );
        t.refused(
            "li",
            "release",
            r,
            json!({ "approvals": [bob, { "by": "li", "at": AT }] }),
            "approvals",
            "approver role needed",
        );
        t.refused(
            "bob",
            "release",
            r,
            json!({ "status": "approved" }),
            "status",
            "needs 2 distinct approvals",
        );
        t.refused(
            "dana",
            "release",
            r,
            json!({ "approvals": [bob, { "by": "dana", "at": AT }] }),
            "approvals",
            "dana runs this release and cannot approve it",
        );
        t.applied(
            "carol",
            "release",
            r,
            json!({ "approvals": [bob, { "by": "carol", "at": AT }] }),
        );
        let carol = t.object("releases", r).unwrap()["approvals"][1].clone();
        stamped(&carol, "carol");
        // Nobody takes back another's approval, but an admin.
        t.refused(
            "carol",
            "release",
            r,
            json!({ "approvals": [carol] }),
            "approvals",
            "not bob's (admin role needed)",
        );
        // Making an approver the owner would have them approve their own release.
        t.refused(
            "li",
            "release",
            r,
            json!({ "owner": "bob" }),
            "approvals",
            "bob runs this release and cannot approve it",
        );
        t.applied("li", "release", r, json!({ "status": "approved" }));
        t.applied(
            "root",
            "release",
            r,
            json!({ "approvals": [carol], "status": "planned" }),
        );
        t.applied(
            "bob",
            "release",
            r,
            json!({ "title": "checkout 2.0 (reviewed)" }),
        );
        let release = t.object("releases", r).unwrap();
        assert_eq!(release["approvals"], json!([carol]), "{release}");
        assert_eq!(release["status"], "planned");
        assert_eq!(release["title"], "checkout 2.0 (reviewed)");

        // An exception is granted in the approver's own name, for someone
        // else who asked, never by the owner (kai runs ingress-xmas).
        let exception = |by: &str, asked: &str| json!({ "overrides": [{ "freeze": "holidays", "reason": "TLS certificate expires", "by": by, "requested_by": asked }] });
        t.refused(
            "li",
            "release",
            "ingress-xmas",
            exception("cto", "ana"),
            "overrides",
            "approver role needed",
        );
        t.refused(
            "kai",
            "release",
            "ingress-xmas",
            exception("cto", "li"),
            "overrides",
            "kai runs this release and cannot grant it an exception",
        );
        t.refused(
            "bob",
            "release",
            "ingress-xmas",
            exception("cto", "bob"),
            "overrides[0].requested_by",
            "bob asked for the exception and cannot also approve it",
        );
        t.applied("bob", "release", "ingress-xmas", exception("cto", "li"));
        let release = t.object("releases", "ingress-xmas").unwrap();
        assert_eq!(release["overrides"][0]["by"], "bob", "{release}");
        assert_eq!(release["overrides"][0]["requested_by"], "li", "{release}");
        // Taking an exception away only makes the calendar stricter.
        t.applied(
            "li",
            "release",
            "ingress-xmas",
            json!({ "overrides": null }),
        );
        assert!(t
            .object("releases", "ingress-xmas")
            .unwrap()
            .get("overrides")
            .is_none());
    }

    /// The roles, lowest first.
    const ROLES: [(&str, u8); 4] = [("viewer", 0), ("li", 1), ("bob", 2), ("root", 3)];
    const EDITOR: u8 = 1;
    const APPROVER: u8 = 2;
    const ADMIN: u8 = 3;

    /// One cell of the table: what `role` sends, on an object made for it
    /// by an admin first (`setup`), and the least role that may.
    struct Rule {
        what: &'static str,
        needs: u8,
        kind: &'static str,
        setup: Option<fn(&str) -> Value>,
        change: fn(&str) -> Option<Value>,
    }

    fn release(k: &str) -> Value {
        json!({ "title": k, "team": "platform", "services": ["ingress"], "environment": "staging",
                "start": "2027-02-01T10:00:00Z", "end": "2027-02-01T11:00:00Z", "status": "planned", "owner": "nobody" })
    }
    fn environment(_: &str) -> Value {
        json!({ "name": "Env" })
    }
    fn soft(_: &str) -> Value {
        json!({ "name": "Soft", "severity": "soft", "start": "2027-05-01T00:00:00", "end": "2027-05-02T00:00:00" })
    }
    fn hard(_: &str) -> Value {
        json!({ "name": "Hard", "severity": "hard", "start": "2027-05-01T00:00:00", "end": "2027-05-02T00:00:00" })
    }
    fn a_team(_: &str) -> Value {
        json!({ "name": "Team" })
    }

    const TABLE: &[Rule] = &[
        Rule {
            what: "create a release",
            needs: EDITOR,
            kind: "release",
            setup: None,
            change: |k| Some(release(k)),
        },
        Rule {
            what: "change a release's title",
            needs: EDITOR,
            kind: "release",
            setup: Some(release),
            change: |_| Some(json!({ "title": "renamed" })),
        },
        Rule {
            what: "approve a release",
            needs: APPROVER,
            kind: "release",
            setup: Some(release),
            change: |_| Some(json!({ "approvals": [{ "by": "x", "at": AT }] })),
        },
        Rule {
            what: "grant a freeze exception",
            needs: APPROVER,
            kind: "release",
            setup: Some(release),
            change: |_| {
                Some(json!({ "overrides": [{ "freeze": "holidays", "reason": "r", "by": "x" }] }))
            },
        },
        Rule {
            what: "delete a release",
            needs: EDITOR,
            kind: "release",
            setup: Some(release),
            change: |_| None,
        },
        Rule {
            what: "create an environment",
            needs: ADMIN,
            kind: "environment",
            setup: None,
            change: |k| Some(environment(k)),
        },
        Rule {
            what: "rename an environment",
            needs: EDITOR,
            kind: "environment",
            setup: Some(environment),
            change: |_| Some(json!({ "name": "Renamed" })),
        },
        Rule {
            what: "set required_approvals",
            needs: ADMIN,
            kind: "environment",
            setup: Some(environment),
            change: |_| Some(json!({ "required_approvals": 3 })),
        },
        Rule {
            what: "set production",
            needs: ADMIN,
            kind: "environment",
            setup: Some(environment),
            change: |_| Some(json!({ "production": true })),
        },
        Rule {
            what: "set max_concurrent",
            needs: ADMIN,
            kind: "environment",
            setup: Some(environment),
            change: |_| Some(json!({ "max_concurrent": 1 })),
        },
        Rule {
            what: "delete an environment",
            needs: ADMIN,
            kind: "environment",
            setup: Some(environment),
            change: |_| None,
        },
        Rule {
            what: "create a freeze (even a hard one)",
            needs: EDITOR,
            kind: "freeze",
            setup: None,
            change: |k| Some(hard(k)),
        },
        Rule {
            what: "change a soft freeze",
            needs: EDITOR,
            kind: "freeze",
            setup: Some(soft),
            change: |_| Some(json!({ "name": "Renamed" })),
        },
        Rule {
            what: "delete a soft freeze",
            needs: EDITOR,
            kind: "freeze",
            setup: Some(soft),
            change: |_| None,
        },
        Rule {
            what: "change a hard freeze",
            needs: ADMIN,
            kind: "freeze",
            setup: Some(hard),
            change: |_| Some(json!({ "name": "Renamed" })),
        },
        Rule {
            what: "make a hard freeze soft",
            needs: ADMIN,
            kind: "freeze",
            setup: Some(hard),
            change: |_| Some(json!({ "severity": "soft" })),
        },
        Rule {
            what: "delete a hard freeze",
            needs: ADMIN,
            kind: "freeze",
            setup: Some(hard),
            change: |_| None,
        },
        Rule {
            what: "create a team",
            needs: ADMIN,
            kind: "team",
            setup: None,
            change: |k| Some(a_team(k)),
        },
        Rule {
            what: "rename a team",
            needs: ADMIN,
            kind: "team",
            setup: Some(a_team),
            change: |_| Some(json!({ "name": "Renamed" })),
        },
        Rule {
            what: "set a team's zone",
            needs: ADMIN,
            kind: "team",
            setup: Some(a_team),
            change: |_| Some(json!({ "timezone": "Europe/Berlin" })),
        },
        Rule {
            what: "set a team's allowed windows",
            needs: ADMIN,
            kind: "team",
            setup: Some(a_team),
            change: |_| {
                Some(
                    json!({ "allowed_windows": [{ "start": "2027-01-04T09:00:00", "duration": "PT8H", "rrule": "FREQ=WEEKLY;BYDAY=MO" }] }),
                )
            },
        },
        Rule {
            what: "delete a team",
            needs: ADMIN,
            kind: "team",
            setup: Some(a_team),
            change: |_| None,
        },
        Rule {
            what: "create a service",
            needs: EDITOR,
            kind: "service",
            setup: None,
            change: |_| Some(json!({ "team": "platform" })),
        },
    ];

    fn every_cell_of_the_role_policy_holds(backend: Backend) {
        let (_dir, mut t) = team(backend);
        let mut cells = 0;
        for (n, rule) in TABLE.iter().enumerate() {
            for (role, rank) in ROLES {
                let id = format!("cell-{n}-{role}");
                t.new_object(rule.kind, &id);
                if let Some(setup) = rule.setup {
                    t.applied("root", rule.kind, &id, setup(&id));
                }
                let r = t.send(
                    role,
                    rule.kind,
                    &id,
                    (rule.change)(&id).unwrap_or(Value::Null),
                );
                let allowed = rank >= rule.needs;
                let outcome = r["outcome"].as_str().unwrap_or_default();
                assert_eq!(
                    outcome == "applied",
                    allowed,
                    "{} as {role}: {r}",
                    rule.what
                );
                if !allowed && rank > 0 {
                    let reason = r["reason"].as_str().unwrap_or_default();
                    let role_needed =
                        ["viewer", "editor", "approver", "admin"][rule.needs as usize];
                    assert!(
                        reason.contains(&format!("({role_needed} role needed")),
                        "{} as {role}: {reason}",
                        rule.what
                    );
                }
                cells += 1;
            }
        }
        assert_eq!(cells, TABLE.len() * ROLES.len());
    }

    crate::on_both_backends!(
        approvals_and_exceptions_are_the_authenticated_users_own,
        every_cell_of_the_role_policy_holds
    );
}

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

mod race {
    //! Two server processes on one database, sent conflicting mutations at
    //! the same instant.

    use super::*;
    use serde_json::{json, Value};

    fn post(server: &Server, token: &str, key: &str, mutations: Value) -> Value {
        reqwest::blocking::Client::new()
            .post(format!("{}/v1/mutations", server.base))
            .bearer_auth(token)
            .header("Idempotency-Key", key)
            .json(&json!({ "mutations": mutations }))
            .send()
            .unwrap()
            .json()
            .unwrap()
    }

    /// `a` and `b` at once, from two threads released together.
    fn together(
        a: impl FnOnce() -> Value + Send,
        b: impl FnOnce() -> Value + Send,
    ) -> (Value, Value) {
        let start = std::sync::Barrier::new(2);
        std::thread::scope(|s| {
            let ta = s.spawn(|| {
                start.wait();
                a()
            });
            let tb = s.spawn(|| {
                start.wait();
                b()
            });
            (ta.join().unwrap(), tb.join().unwrap())
        })
    }

    fn two_processes_never_break_the_calendar_nor_apply_a_mutation_twice(backend: Backend) {
        let (_dir, db, viewer) = setup(backend);
        let root = String::from_utf8(token(&db, "root", "admin").stdout)
            .unwrap()
            .trim()
            .to_owned();
        let (a, b) = (start(&db), start(&db));
        for round in 0..12 {
            // A deletes a team while B adds a release on it.
            let team = format!("race-{round}");
            let made = post(
                &a,
                &root,
                &format!("t{round}"),
                json!([{
                    "mutation_id": format!("team-{round}"), "kind": "team", "id": team,
                    "base_version": 0, "fields": { "name": "Race" }
                }]),
            );
            assert_eq!(made["results"][0]["outcome"], "applied", "{made}");
            let (deleted, added) = together(
                || {
                    post(
                        &a,
                        &root,
                        &format!("d{round}"),
                        json!([{
                            "mutation_id": format!("del-{round}"), "kind": "team", "id": team,
                            "base_version": 1, "fields": null
                        }]),
                    )
                },
                || {
                    post(
                        &b,
                        &root,
                        &format!("r{round}"),
                        json!([{
                            "mutation_id": format!("rel-{round}"), "kind": "release", "id": format!("on-{team}"),
                            "base_version": 0, "fields": { "title": "On the team", "team": team, "services": ["ingress"],
                                "environment": "staging", "start": "2027-02-01T10:00:00Z", "end": "2027-02-01T11:00:00Z",
                                "status": "planned" }
                        }]),
                    )
                },
            );
            let outcomes = [&deleted, &added].map(|r| r["results"][0]["outcome"].clone());
            assert_eq!(
                outcomes.iter().filter(|o| **o == "applied").count(),
                1,
                "round {round}: exactly one of the two applies: {deleted} {added}"
            );
            // The calendar still parses, and both processes serve it.
            for server in [&a, &b] {
                let plan = reqwest::blocking::Client::new()
                    .get(format!("{}/v1/plan", server.base))
                    .bearer_auth(&viewer)
                    .send()
                    .unwrap();
                assert_eq!(plan.status(), 200, "round {round}");
                relcal_api::validate_plan_text(&plan.text().unwrap()).unwrap();
            }

            // The same mutation sent to both at once is applied once.
            let same = json!([{
                "mutation_id": format!("same-{round}"), "kind": "release", "id": "checkout-2.0",
                "base_version": 1 + round, "fields": { "title": format!("checkout, round {round}") }
            }]);
            let (x, y) = together(
                || post(&a, &root, &format!("sa{round}"), same.clone()),
                || post(&b, &root, &format!("sb{round}"), same.clone()),
            );
            assert_eq!(x["results"], y["results"], "round {round}: one answer");
            assert_eq!(x["results"][0]["outcome"], "applied", "{x}");
            assert_eq!(x["results"][0]["version"], 2 + round, "round {round}: {x}");
        }
        // Twelve title changes, each logged once.
        let log: Value = reqwest::blocking::Client::new()
            .get(format!("{}/v1/changes?since=0", a.base))
            .bearer_auth(&viewer)
            .send()
            .unwrap()
            .json()
            .unwrap();
        let versions: Vec<u64> = log["changes"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|c| c["id"] == "checkout-2.0")
            .map(|c| c["version"].as_u64().unwrap())
            .collect();
        assert_eq!(versions.iter().max(), Some(&13), "{versions:?}");
    }

    crate::on_both_backends!(two_processes_never_break_the_calendar_nor_apply_a_mutation_twice);
}
