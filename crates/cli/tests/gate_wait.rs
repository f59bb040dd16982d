//! `relcal gate --wait` with time really passing (seconds): the real binary,
//! on a fixed clock start (RELCAL_NOW) that then runs on at real speed.

#![allow(
    clippy::unwrap_used,
    reason = "a broken fixture should fail its test loudly"
)]

mod common;
use common::{import, text, write};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// The instant the gate's clock starts at (any day works: the plans are built around it).
const T0: &str = "2027-03-10T09:00:00Z";

fn at(seconds: i64) -> String {
    let t0 = chrono::DateTime::parse_from_rfc3339(T0).unwrap();
    (t0 + chrono::Duration::seconds(seconds))
        .to_utc()
        .to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

/// A plan whose hard freezes on `prod` run from T0-60s to each given end.
fn plan(freezes: &[(&str, i64)]) -> String {
    let freezes: Vec<String> = freezes
        .iter()
        .map(|(name, end)| {
            format!(
                r#"{{ "id": "{name}", "name": "{name}", "severity": "hard", "start": "{}", "end": "{}", "scope": {{ "environments": ["prod"] }} }}"#,
                at(-60),
                at(*end)
            )
        })
        .collect();
    format!(
        r#"{{ "version": 1, "timezone": "UTC", "teams": [ {{ "id": "web", "name": "Web" }} ],
        "services": [ {{ "id": "site", "team": "web" }} ], "environments": [ {{ "id": "prod", "name": "Prod" }} ],
        "freezes": [ {} ], "releases": [] }}"#,
        freezes.join(", ")
    )
}

fn gate_wait(source: &[&str], timeout: &str) -> std::process::Child {
    Command::new(env!("CARGO_BIN_EXE_relcal"))
        .args(["gate"])
        .args(source)
        .args([
            "--env",
            "prod",
            "--service",
            "site",
            "--wait",
            "--timeout",
            timeout,
        ])
        .env("RELCAL_NOW", T0)
        .env("HOME", std::env::temp_dir().join("relcal-cli-test-home"))
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

#[test]
fn a_waiting_gate_opens_when_the_freeze_ends_and_says_why_and_until_when() {
    let dir = tempfile::tempdir().unwrap();
    let file = write(dir.path(), "plan.json", &plan(&[("launch", 3)]));
    let started = Instant::now();
    let out = gate_wait(&[file.to_str().unwrap()], "PT30S")
        .wait_with_output()
        .unwrap();
    let took = started.elapsed();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(
        took >= Duration::from_secs(2),
        "opened after {took:?}, before the freeze ended"
    );
    assert!(took < Duration::from_secs(15), "took {took:?}");
    let err = text(&out.stderr);
    assert!(err.contains("waiting:") && err.contains("launch"), "{err}");
    assert!(err.contains(&at(3)), "says until when: {err}");
}

#[test]
fn a_freeze_added_while_the_gate_waits_keeps_it_waiting() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("cal.db");
    let db = db.to_str().unwrap();
    // Imported with the gate's clock start, as the gate will read it.
    let first = write(dir.path(), "first.json", &plan(&[("first", 2)]));
    assert!(import(first.to_str().unwrap(), db).status.success());
    let started = Instant::now();
    let gate = gate_wait(&["--db", db], "PT30S");
    std::thread::sleep(Duration::from_millis(800));
    // Meanwhile a second freeze, to T0+6s, replaces the calendar.
    let second = write(
        dir.path(),
        "second.json",
        &plan(&[("first", 2), ("added", 6)]),
    );
    assert!(import(second.to_str().unwrap(), db).status.success());
    let out = gate.wait_with_output().unwrap();
    let took = started.elapsed();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(
        took >= Duration::from_secs(5),
        "opened after {took:?}, inside the added freeze"
    );
    let err = text(&out.stderr);
    assert!(err.contains("added"), "the added freeze is said: {err}");
}

#[test]
fn a_gate_that_stays_closed_exits_1_when_its_timeout_runs_out() {
    let dir = tempfile::tempdir().unwrap();
    let file = write(dir.path(), "plan.json", &plan(&[("long", 3600)]));
    let started = Instant::now();
    let out = gate_wait(&[file.to_str().unwrap()], "PT2S")
        .wait_with_output()
        .unwrap();
    let took = started.elapsed();
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stdout));
    assert!(
        took >= Duration::from_secs(2) && took < Duration::from_secs(10),
        "{took:?}"
    );
    assert!(
        text(&out.stdout).contains("still closed after waiting PT2S"),
        "{}",
        text(&out.stdout)
    );
    // --timeout without --wait, and a bad one, are refused.
    let bad = gate_wait(&[file.to_str().unwrap()], "soon")
        .wait_with_output()
        .unwrap();
    assert_eq!(bad.status.code(), Some(2), "{}", text(&bad.stderr));
    assert!(
        text(&bad.stderr).contains("--timeout"),
        "{}",
        text(&bad.stderr)
    );
}
