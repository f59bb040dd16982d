//! Reads never wait behind a write: while a batch waits for the batch lock
//! (held here as another server process would hold it), the gate, the
//! change log, the plan, whoami and sign-ins are answered on the reader
//! connections, on both backends; the batch applies once the lock is free.

#![allow(
    clippy::unwrap_used,
    reason = "a test should panic loudly on a broken assumption"
)]

mod common;
use common::{new_token, start, Backend, HeldBatchLock, ServerDb};
use serde_json::{json, Value};
use std::time::Duration;

fn reads_are_answered_while_a_batch_waits_for_the_writer(backend: Backend) {
    let dir = tempfile::tempdir().unwrap();
    let db = ServerDb::new(backend, dir.path());
    db.import(relcal_api::DEMO_PLAN);
    let viewer = new_token(&db, "ana", "viewer");
    let editor = new_token(&db, "li", "editor");
    let server = start(&db);
    // A client that gives up long before the batch could finish.
    let client = reqwest::blocking::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap();
    let get = |path: &str, token: &str| {
        client
            .get(format!("{}{path}", server.base))
            .bearer_auth(token)
            .send()
            .unwrap()
    };
    // The change log started and the calendar warm, as on any running server.
    assert_eq!(get("/v1/changes?since=0", &viewer).status(), 200);

    let held = HeldBatchLock::take(&db);
    let base = server.base.clone();
    let batch = std::thread::spawn(move || {
        let body = json!({ "mutations": [{ "mutation_id": "m1", "kind": "release",
            "id": "checkout-2.0", "base_version": 1, "fields": { "owner": "omar" } }] });
        reqwest::blocking::Client::new()
            .post(format!("{base}/v1/mutations"))
            .bearer_auth(editor)
            .header("Idempotency-Key", "k1")
            .json(&body)
            .send()
            .unwrap()
            .json::<Value>()
            .unwrap()
    });
    // A head start: the batch reaches the writer and waits there for the lock.
    std::thread::sleep(Duration::from_millis(500));
    let gate = get(
        "/v1/gate?env=prod&service=checkout-api&at=2026-12-01T10:00:00Z",
        &viewer,
    );
    assert_eq!(gate.status(), 200);
    assert!(gate.json::<Value>().unwrap()["allowed"].is_boolean());
    let changes: Value = get("/v1/changes?since=0", &viewer).json().unwrap();
    assert!(
        !changes["changes"].as_array().unwrap().is_empty(),
        "{changes}"
    );
    let plan: Value = get("/v1/plan", &viewer).json().unwrap();
    assert_eq!(plan["releases"].as_array().unwrap().len(), 4);
    let me: Value = get("/v1/whoami", &viewer).json().unwrap();
    assert_eq!(me["user"], "ana");
    // A bad token is turned away without the writer, too.
    assert_eq!(get("/v1/whoami", "rc_nonsense").status(), 401);
    assert!(
        !batch.is_finished(),
        "the batch could not apply while the lock was held"
    );

    drop(held);
    let answer = batch.join().unwrap();
    assert_eq!(answer["results"][0]["outcome"], "applied", "{answer}");
    let plan: Value = get("/v1/plan", &viewer).json().unwrap();
    let release = plan["releases"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["id"] == "checkout-2.0")
        .unwrap()
        .clone();
    assert_eq!(release["owner"], "omar");
}

on_both_backends!(reads_are_answered_while_a_batch_waits_for_the_writer);

/// The title of `checkout-2.0` in the database file itself, leaving out
/// what is still only in the write-ahead log (`immutable=1` reads the file
/// as it is, without the log).
fn title_in_the_file(path: &std::path::Path) -> String {
    let uri = format!("file:{}?immutable=1", path.display());
    let c = rusqlite::Connection::open_with_flags(
        uri,
        rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY | rusqlite::OpenFlags::SQLITE_OPEN_URI,
    )
    .unwrap();
    c.query_row(
        "SELECT title FROM releases WHERE id = 'checkout-2.0'",
        [],
        |r| r.get(0),
    )
    .unwrap()
}

#[test]
fn the_log_is_checkpointed_aside_so_the_writer_need_not() {
    // The writer checkpoints only past 16 MiB of log: a small change reaches
    // the database file through the server's own checkpoint thread.
    let dir = tempfile::tempdir().unwrap();
    let db = ServerDb::new(Backend::Sqlite, dir.path());
    db.import(relcal_api::DEMO_PLAN);
    let editor = new_token(&db, "li", "editor");
    let file = dir.path().join("server.db");
    let before = title_in_the_file(&file);
    let server = start(&db);
    let body = json!({ "mutations": [{ "mutation_id": "m1", "kind": "release",
        "id": "checkout-2.0", "base_version": 1, "fields": { "title": "Checked aside" } }] });
    let answer: Value = reqwest::blocking::Client::new()
        .post(format!("{}/v1/mutations", server.base))
        .bearer_auth(&editor)
        .header("Idempotency-Key", "k1")
        .json(&body)
        .send()
        .unwrap()
        .json()
        .unwrap();
    assert_eq!(answer["results"][0]["outcome"], "applied", "{answer}");
    let mut seen = before.clone();
    for _ in 0..100 {
        seen = title_in_the_file(&file);
        if seen == "Checked aside" {
            break;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    assert_ne!(before, "Checked aside");
    assert_eq!(seen, "Checked aside");
    drop(server);
}
