//! The real server on loopback, with a real SQLite file: tokens and roles on
//! every endpoint, the gate, the iCalendar feed, clear 4xx errors.

#![allow(
    clippy::unwrap_used,
    reason = "a test should panic loudly on a broken assumption"
)]

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};

struct Server {
    child: Child,
    base: String,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn token(db: &str, user: &str, role: &str) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_relcal-server"))
        .args([
            "token", "create", "--db", db, "--user", user, "--role", role,
        ])
        .output()
        .unwrap()
}

fn start(db: &str) -> Server {
    let mut child = Command::new(env!("CARGO_BIN_EXE_relcal-server"))
        .args(["--db", db, "--listen", "127.0.0.1:0"])
        .env("RELCAL_LOG", "warn")
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let base = line
        .trim()
        .strip_prefix("listening on ")
        .unwrap()
        .to_owned();
    Server { child, base }
}

fn setup() -> (tempfile::TempDir, String, String) {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("server.db");
    let mut store = relcal_api::open_store(&db).unwrap();
    relcal_api::import_plan_text(&mut store, relcal_api::DEMO_PLAN).unwrap();
    drop(store);
    let db = db.to_str().unwrap().to_owned();
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

#[test]
fn every_endpoint_needs_a_valid_token() {
    let (_dir, db, viewer) = setup();
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
    for file in [db.clone(), format!("{db}-wal")] {
        let raw = std::fs::read(&file).unwrap_or_default();
        assert!(
            !raw.windows(viewer.len()).any(|w| w == viewer.as_bytes()),
            "{file}"
        );
    }
}

#[test]
fn the_gate_answers_pipelines_like_relcal_gate() {
    let (_dir, db, viewer) = setup();
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

#[test]
fn the_calendar_feed_takes_its_token_in_the_url() {
    let (_dir, db, viewer) = setup();
    let server = start(&db);
    let feed =
        reqwest::blocking::get(format!("{}/v1/calendar.ics?token={viewer}", server.base)).unwrap();
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
}

#[test]
fn token_creation_refuses_bad_roles_and_names() {
    let (_dir, db, _) = setup();
    let out = token(&db, "ana", "god");
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--role: \"god\" is not a role"));
    let out = token(&db, " ", "viewer");
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--user"));
}
