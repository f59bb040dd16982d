//! `relcal audit`: the audit trail's hash chain verified, and edits,
//! deletions and truncation of it caught, with real SQLite files.

#![allow(
    clippy::unwrap_used,
    reason = "a test should panic loudly on a broken assumption"
)]

mod common;
use common::*;

#[test]
fn every_change_is_logged_with_who_and_verify_finds_a_tampered_entry() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("cal.db");
    let db = db.to_str().unwrap();
    let out = relcal(&["import", DEMO, "--db", db, "--by", "ops-bot"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let out = relcal(&[
        "release",
        "move",
        "ingress-xmas",
        "--start",
        "2027-01-05T09:00:00Z",
        "--end",
        "2027-01-05T10:00:00Z",
        "--db",
        db,
        "--by",
        "ana",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let out = relcal(&[
        "release",
        "status",
        "ingress-xmas",
        "done",
        "--db",
        db,
        "--by",
        "kai",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));

    let log = relcal(&["audit", "log", "--db", db]);
    assert_eq!(log.status.code(), Some(0));
    let log = text(&log.stdout);
    assert!(
        log.contains("ops-bot") && log.contains("calendar.import"),
        "{log}"
    );
    assert!(
        log.contains("ana") && log.contains("release.move") && log.contains("changed end, start"),
        "{log}"
    );
    assert!(
        log.contains("kai") && log.contains("release.status") && log.contains("changed status"),
        "{log}"
    );
    assert!(log.trim_end().ends_with("3 entries"), "{log}");

    let json = relcal(&[
        "audit",
        "log",
        "--db",
        db,
        "--release",
        "ingress-xmas",
        "--format",
        "json",
    ]);
    let entries: serde_json::Value = serde_json::from_slice(&json.stdout).unwrap();
    let entries = entries.as_array().unwrap();
    assert_eq!(entries.len(), 2);
    let before: serde_json::Value =
        serde_json::from_str(entries[0]["before"].as_str().unwrap()).unwrap();
    let after: serde_json::Value =
        serde_json::from_str(entries[0]["after"].as_str().unwrap()).unwrap();
    assert_eq!(before["start"], "2026-12-22T09:00:00Z");
    assert_eq!(after["start"], "2027-01-05T09:00:00Z");

    let ok = relcal(&["audit", "verify", "--db", db]);
    assert_eq!(ok.status.code(), Some(0), "{}", text(&ok.stderr));
    assert!(text(&ok.stdout).contains("intact: 3 entries"));

    // Someone edits the second entry behind the app's back.
    let raw = rusqlite::Connection::open(db).unwrap();
    raw.execute_batch(
        "DROP TRIGGER audit_log_append_only_update;
         UPDATE audit_log SET actor = 'mallory' WHERE seq = 2;",
    )
    .unwrap();
    drop(raw);
    let bad = relcal(&["audit", "verify", "--db", db]);
    assert_eq!(bad.status.code(), Some(1));
    assert!(
        text(&bad.stderr).contains("entry #2 was changed after it was written"),
        "{}",
        text(&bad.stderr)
    );
}

#[test]
fn a_refused_change_logs_nothing_and_by_must_name_someone() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("cal.db");
    let db = db.to_str().unwrap();
    import(DEMO, db);
    let out = relcal(&[
        "release",
        "status",
        "ingress-xmas",
        "shipped",
        "--db",
        db,
        "--by",
        "ana",
    ]);
    assert_eq!(out.status.code(), Some(2));
    let out = relcal(&[
        "release",
        "status",
        "ingress-xmas",
        "done",
        "--db",
        db,
        "--by",
        " ",
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("--by"), "{}", text(&out.stderr));
    let log = text(&relcal(&["audit", "log", "--db", db]).stdout);
    assert!(log.trim_end().ends_with("1 entries"), "{log}");
}
