//! `relcal argocd sync-windows` and `relcal gitlab push-freezes` from the
//! real binary: Argo CD's windows checked against the AppProject CRD's schema
//! (tests/recorded/), GitLab's periods against a loopback stand-in.

#![allow(
    clippy::unwrap_used,
    reason = "a test should panic loudly on a broken assumption"
)]

mod common;

use common::{import, text, DEMO};
use serde_json::Value;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::process::{Command, Output};

fn relcal_at(args: &[&str], now: &str, env: &[(&str, &str)]) -> Output {
    let mut c = Command::new(env!("CARGO_BIN_EXE_relcal"));
    c.args(args)
        .env("HOME", std::env::temp_dir().join("relcal-cli-test-home"))
        .env("RELCAL_NOW", now);
    for (k, v) in env {
        c.env(k, v);
    }
    c.output().unwrap()
}

fn schema() -> Value {
    serde_json::from_str(
        &std::fs::read_to_string(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/recorded/argocd-sync-window-schema.json"
        ))
        .unwrap(),
    )
    .unwrap()
}

/// Holds `window` to the CRD's properties and types and to what Argo CD's
/// documentation says of kind, schedule and duration.
fn conforms(window: &Value, schema: &Value) {
    let props = schema["properties"].as_object().unwrap();
    for (key, value) in window.as_object().unwrap() {
        let Some(p) = props.get(key) else {
            panic!("`{key}` is not a property of a sync window: {window}");
        };
        match p["type"].as_str().unwrap() {
            "string" => assert!(value.is_string(), "{key}: {value}"),
            "boolean" => assert!(value.is_boolean(), "{key}: {value}"),
            "array" => assert!(
                value.as_array().unwrap().iter().all(Value::is_string),
                "{key}: {value}"
            ),
            other => panic!("{other}"),
        }
    }
    assert!(["allow", "deny"].contains(&window["kind"].as_str().unwrap()));
    assert_eq!(
        window["schedule"].as_str().unwrap().split(' ').count(),
        5,
        "{window}"
    );
    // Go's durations as Argo CD writes them: hours, then minutes (`12h`, `1h30m`, `45m`).
    let d = window["duration"].as_str().unwrap();
    let (hours, minutes) = d.split_once('h').map_or(("0", d), |(h, m)| (h, m));
    let minutes = minutes.strip_suffix('m').unwrap_or(minutes);
    assert!(
        !d.is_empty()
            && hours.parse::<u32>().is_ok()
            && (minutes.is_empty() || minutes.parse::<u32>().is_ok()),
        "{d}"
    );
    assert!(
        window["timeZone"]
            .as_str()
            .unwrap()
            .parse::<relcal_domain::Tz>()
            .is_ok(),
        "{window}"
    );
    assert!(
        window.get("applications").is_some() || window.get("namespaces").is_some(),
        "{window}"
    );
}

/// A YAML document's value as JSON, for comparing the two outputs.
fn yaml_to_json(y: &yaml_rust2::Yaml) -> Value {
    use yaml_rust2::Yaml;
    match y {
        Yaml::String(s) => Value::String(s.clone()),
        Yaml::Boolean(b) => Value::Bool(*b),
        Yaml::Integer(i) => Value::from(*i),
        Yaml::Array(a) => Value::Array(a.iter().map(yaml_to_json).collect()),
        Yaml::Hash(h) => Value::Object(
            h.iter()
                .map(|(k, v)| (k.as_str().unwrap().to_owned(), yaml_to_json(v)))
                .collect(),
        ),
        Yaml::Null => Value::Null,
        other => panic!("unexpected YAML {other:?}"),
    }
}

#[test]
fn argocd_sync_windows_follow_the_crd_and_name_what_they_cannot_say() {
    let now = "2026-12-02T12:00:00Z";
    let json = relcal_at(
        &[
            "argocd",
            "sync-windows",
            DEMO,
            "--include-soft",
            "--format",
            "json",
        ],
        now,
        &[],
    );
    // The month-end close (last day of the month) has no cron pattern: exit 1, named.
    assert_eq!(json.status.code(), Some(1), "{}", text(&json.stderr));
    assert!(
        text(&json.stderr)
            .contains("freeze \"month-close\" (Finance month-end close) is not pushed"),
        "{}",
        text(&json.stderr)
    );
    let v: Value = serde_json::from_slice(&json.stdout).unwrap();
    let windows = v["syncWindows"].as_array().unwrap();
    let schema = schema();
    for w in windows {
        conforms(w, &schema);
    }
    assert_eq!(
        windows[0],
        serde_json::json!({"kind": "deny", "schedule": "0 0 21 12 *", "duration": "336h",
            "timeZone": "America/New_York", "namespaces": ["prod"], "manualSync": false})
    );
    // The soft Friday freeze lets a person sync by hand.
    assert_eq!(
        windows[1],
        serde_json::json!({"kind": "deny", "schedule": "0 12 * * 5", "duration": "12h",
            "timeZone": "Europe/Berlin", "applications": ["*"], "manualSync": true})
    );
    // The YAML says the same, under syncWindows.
    let yaml = relcal_at(
        &["argocd", "sync-windows", DEMO, "--include-soft"],
        now,
        &[],
    );
    let docs = yaml_rust2::YamlLoader::load_from_str(&text(&yaml.stdout)).unwrap();
    assert_eq!(yaml_to_json(&docs[0])["syncWindows"], v["syncWindows"]);
    // Hard freezes only by default, and only those of an environment.
    let staging = relcal_at(
        &[
            "argocd",
            "sync-windows",
            DEMO,
            "--env",
            "staging",
            "--format",
            "json",
        ],
        now,
        &[],
    );
    let v: Value = serde_json::from_slice(&staging.stdout).unwrap();
    // The holiday freeze is production's; the month-end close (any
    // environment) is refused again.
    assert_eq!(v["syncWindows"], serde_json::json!([]), "{v}");
    assert_eq!(v["refused"][0]["freeze"], "month-close", "{v}");
    assert_eq!(staging.status.code(), Some(1), "{}", text(&staging.stderr));
    let bad = relcal_at(&["argocd", "sync-windows", DEMO, "--env", "qa"], now, &[]);
    assert_eq!(bad.status.code(), Some(2));
    assert!(text(&bad.stderr).contains("--env: unknown environment \"qa\""));
}

/// A GitLab with an empty project that records what it is asked.
fn gitlab() -> (String, std::sync::mpsc::Receiver<String>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for conn in listener.incoming() {
            let Ok(mut conn) = conn else { continue };
            let mut reader = BufReader::new(conn.try_clone().unwrap());
            let mut first = String::new();
            reader.read_line(&mut first).unwrap();
            let mut length = 0;
            loop {
                let mut line = String::new();
                reader.read_line(&mut line).unwrap();
                if line.trim().is_empty() {
                    break;
                }
                if let Some(n) = line.to_ascii_lowercase().strip_prefix("content-length: ") {
                    length = n.trim().parse().unwrap_or(0);
                }
            }
            let mut body = vec![0; length];
            reader.read_exact(&mut body).unwrap();
            let line = first.trim().to_owned();
            let _ = tx.send(format!("{line} {}", String::from_utf8_lossy(&body)));
            let (status, body) = if line.starts_with("GET ") {
                ("200 OK", "[]")
            } else {
                (
                    "201 Created",
                    r#"{"id": 9, "freeze_start": "0 0 21 12 *", "freeze_end": "0 0 4 1 *", "cron_timezone": "America/New_York"}"#,
                )
            };
            let _ = write!(conn, "HTTP/1.1 {status}\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}", body.len());
        }
    });
    (base, rx)
}

#[test]
fn gitlab_push_freezes_adds_the_periods_and_a_dry_run_only_says_so() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("cal.db");
    assert_eq!(import(DEMO, db.to_str().unwrap()).status.code(), Some(0));
    let (base, seen) = gitlab();
    let args = |dry: bool| {
        let mut a = vec![
            "gitlab",
            "push-freezes",
            "--db",
            db.to_str().unwrap(),
            "--url",
            &base,
            "--project",
            "acme/checkout",
            "--env",
            "prod",
        ];
        if dry {
            a.push("--dry-run");
        }
        a.into_iter().map(str::to_owned).collect::<Vec<_>>()
    };
    let run = |dry: bool| {
        let a = args(dry);
        relcal_at(
            &a.iter().map(String::as_str).collect::<Vec<_>>(),
            "2026-12-02T12:00:00Z",
            &[("GITLAB_TOKEN", "glpat-x")],
        )
    };
    let dry = run(true);
    assert_eq!(dry.status.code(), Some(1), "{}", text(&dry.stderr));
    assert!(text(&dry.stdout).starts_with("GitLab acme/checkout: 1 freeze period would be (0 kept, 0 updated, 1 created), 0 removed"), "{}", text(&dry.stdout));
    assert!(text(&dry.stderr).contains("month-close"));
    let asked: Vec<String> = seen.try_iter().collect();
    assert!(asked.iter().all(|r| r.starts_with("GET ")), "{asked:?}");
    let real = run(false);
    assert_eq!(real.status.code(), Some(1));
    let asked: Vec<String> = seen.try_iter().collect();
    let post = asked.iter().find(|r| r.starts_with("POST ")).unwrap();
    assert!(
        post.contains(r#""freeze_start":"0 0 21 12 *""#)
            && post.contains(r#""cron_timezone":"America/New_York""#),
        "{post}"
    );
}
