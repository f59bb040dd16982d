//! `relcal gitlab push-freezes` as a use case with the real GitLab client,
//! against a loopback stand-in for GitLab's freeze period API (recorded
//! answers in tests/recorded/): the calendar's freezes that cron can say
//! become exactly the project's periods, kept, rewritten, added or removed.

#![allow(
    clippy::unwrap_used,
    reason = "a test should panic loudly on a broken assumption"
)]

use relcal_api::{ErrorCode, FreezeFilter};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::sync::{Arc, Mutex};

use relcal_testkit::at;

fn recorded(name: &str) -> String {
    std::fs::read_to_string(format!(
        "{}/tests/recorded/{name}",
        env!("CARGO_MANIFEST_DIR")
    ))
    .unwrap()
}

/// One request GitLab saw: method, target and JSON body.
#[derive(Debug, Clone, PartialEq)]
struct Seen {
    method: String,
    target: String,
    body: Option<serde_json::Value>,
}

/// A loopback GitLab: `acme/checkout` has three periods, `acme/empty` none,
/// and `acme/readonly` refuses writes (a token without the `api` scope).
fn gitlab() -> (String, Arc<Mutex<Vec<Seen>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let seen: Arc<Mutex<Vec<Seen>>> = Arc::default();
    let log = seen.clone();
    std::thread::spawn(move || {
        for conn in listener.incoming() {
            let Ok(mut conn) = conn else { continue };
            let mut reader = BufReader::new(conn.try_clone().unwrap());
            let mut first = String::new();
            reader.read_line(&mut first).unwrap();
            let mut headers = Vec::new();
            loop {
                let mut line = String::new();
                reader.read_line(&mut line).unwrap();
                if line.trim().is_empty() {
                    break;
                }
                headers.push(line.trim().to_ascii_lowercase());
            }
            let length: usize = headers
                .iter()
                .find_map(|h| h.strip_prefix("content-length: "))
                .and_then(|n| n.parse().ok())
                .unwrap_or(0);
            let mut body = vec![0; length];
            reader.read_exact(&mut body).unwrap();
            let mut words = first.split(' ');
            let method = words.next().unwrap_or_default().to_owned();
            let target = words.next().unwrap_or_default().to_owned();
            log.lock().unwrap().push(Seen {
                method: method.clone(),
                target: target.clone(),
                body: serde_json::from_slice(&body).ok(),
            });
            let list = |project: &str| {
                format!("/api/v4/projects/acme%2F{project}/freeze_periods?per_page=100&page=1")
            };
            let authorised = headers.iter().any(|h| h == "private-token: glpat-recorded");
            let (status, body) = match (method.as_str(), target.as_str()) {
                _ if !authorised => (
                    "401 Unauthorized",
                    r#"{"message":"401 Unauthorized"}"#.to_owned(),
                ),
                ("GET", t) if t == list("checkout") => {
                    ("200 OK", recorded("gitlab-freeze-periods-to-push.json"))
                }
                ("GET", t) if t == list("empty") || t == list("readonly") => {
                    ("200 OK", "[]".to_owned())
                }
                ("PUT", "/api/v4/projects/acme%2Fcheckout/freeze_periods/1") => {
                    ("200 OK", recorded("gitlab-freeze-period-written.json"))
                }
                ("DELETE", "/api/v4/projects/acme%2Fcheckout/freeze_periods/4") => {
                    ("204 No Content", String::new())
                }
                ("POST", "/api/v4/projects/acme%2Fempty/freeze_periods") => {
                    ("201 Created", recorded("gitlab-freeze-period-written.json"))
                }
                ("POST", "/api/v4/projects/acme%2Freadonly/freeze_periods") => {
                    ("403 Forbidden", r#"{"message":"403 Forbidden"}"#.to_owned())
                }
                _ => ("404 Not Found", r#"{"message":"404 Not Found"}"#.to_owned()),
            };
            let _ = write!(
                conn,
                "HTTP/1.1 {status}\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                body.len()
            );
        }
    });
    (base, seen)
}

fn demo() -> relcal_api::Plan {
    relcal_api::validate_plan_text(relcal_api::DEMO_PLAN).unwrap()
}

/// Production's freezes, soft ones too: the holiday freeze (a one-off), the
/// Friday afternoon freeze (weekly) and the month-end close (last day of the
/// month, which cron cannot say).
fn production() -> FreezeFilter {
    FreezeFilter {
        environments: vec!["prod".into()],
        services: vec![],
        include_soft: true,
    }
}

fn spec(start: &str, end: &str, zone: &str) -> serde_json::Value {
    serde_json::json!({"freeze_start": start, "freeze_end": end, "cron_timezone": zone})
}

#[test]
fn a_project_gets_exactly_the_calendars_freezes_kept_rewritten_and_removed() {
    let (base, seen) = gitlab();
    let client = relcal_http::GitLab::new(&base, Some("glpat-recorded".into())).unwrap();
    let now = at("2026-12-02T12:00:00Z");
    let r = relcal_api::push_gitlab_freezes(
        &demo(),
        &client,
        "acme/checkout",
        &production(),
        now,
        false,
    )
    .unwrap();
    // The Friday freeze is there already (#7); the holiday freeze rewrites a
    // stale period (#1); the other stale one (#4) goes.
    let actions: Vec<(&str, Option<u64>, &str)> = r
        .periods
        .iter()
        .map(|p| (p.action.as_str(), p.id, p.freezes[0].as_str()))
        .collect();
    assert_eq!(
        actions,
        [
            ("kept", Some(7), "no-friday"),
            ("updated", Some(1), "holidays")
        ]
    );
    assert!(r.periods[1].one_off);
    assert_eq!(r.removed, [4]);
    assert_eq!(r.refused.len(), 1);
    assert_eq!(r.refused[0].freeze, "month-close");
    assert!(
        r.refused[0].reason.contains("BYMONTHDAY=-1"),
        "{}",
        r.refused[0].reason
    );
    let writes: Vec<Seen> = seen
        .lock()
        .unwrap()
        .iter()
        .filter(|s| s.method != "GET")
        .cloned()
        .collect();
    assert_eq!(
        writes,
        [
            Seen {
                method: "PUT".into(),
                target: "/api/v4/projects/acme%2Fcheckout/freeze_periods/1".into(),
                body: Some(spec("0 0 21 12 *", "0 0 4 1 *", "America/New_York")),
            },
            Seen {
                method: "DELETE".into(),
                target: "/api/v4/projects/acme%2Fcheckout/freeze_periods/4".into(),
                body: None,
            },
        ]
    );
}

#[test]
fn an_empty_project_gets_new_periods_and_a_dry_run_writes_nothing() {
    let (base, seen) = gitlab();
    let client = relcal_http::GitLab::new(&base, Some("glpat-recorded".into())).unwrap();
    let now = at("2026-12-02T12:00:00Z");
    let dry =
        relcal_api::push_gitlab_freezes(&demo(), &client, "acme/empty", &production(), now, true)
            .unwrap();
    assert!(dry.dry_run);
    assert_eq!(
        dry.periods.iter().filter(|p| p.action == "created").count(),
        2
    );
    assert!(
        seen.lock().unwrap().iter().all(|s| s.method == "GET"),
        "a dry run wrote"
    );
    let r =
        relcal_api::push_gitlab_freezes(&demo(), &client, "acme/empty", &production(), now, false)
            .unwrap();
    let posted: Vec<serde_json::Value> = seen
        .lock()
        .unwrap()
        .iter()
        .filter(|s| s.method == "POST")
        .filter_map(|s| s.body.clone())
        .collect();
    assert_eq!(
        posted,
        [
            spec("0 0 21 12 *", "0 0 4 1 *", "America/New_York"),
            spec("0 12 * * 5", "0 0 * * 6", "Europe/Berlin"),
        ]
    );
    assert_eq!(r.periods.len(), 2);
    // Hard freezes only, by default: the Friday freeze is soft.
    let hard = FreezeFilter {
        include_soft: false,
        ..production()
    };
    let r =
        relcal_api::push_gitlab_freezes(&demo(), &client, "acme/empty", &hard, now, true).unwrap();
    assert_eq!(r.periods.len(), 1);
    assert_eq!(r.periods[0].freezes, ["holidays"]);
    // After the holidays end, nothing of them is pushed.
    let later = relcal_api::push_gitlab_freezes(
        &demo(),
        &client,
        "acme/empty",
        &hard,
        at("2027-01-05T00:00:00Z"),
        true,
    )
    .unwrap();
    assert!(later.periods.is_empty());
}

#[test]
fn a_token_that_may_not_write_and_unknown_scope_ids_are_clear_errors() {
    let (base, _) = gitlab();
    let now = at("2026-12-02T12:00:00Z");
    let client = relcal_http::GitLab::new(&base, Some("glpat-recorded".into())).unwrap();
    let e = relcal_api::push_gitlab_freezes(
        &demo(),
        &client,
        "acme/readonly",
        &production(),
        now,
        false,
    )
    .unwrap_err();
    assert_eq!(e.code, ErrorCode::Forbidden);
    assert!(
        e.message
            .contains("GitLab acme/readonly: adding a freeze period: 403 Forbidden"),
        "{}",
        e.message
    );
    let anonymous = relcal_http::GitLab::new(&base, None).unwrap();
    let e = relcal_api::push_gitlab_freezes(
        &demo(),
        &anonymous,
        "acme/checkout",
        &production(),
        now,
        false,
    )
    .unwrap_err();
    assert_eq!(e.code, ErrorCode::Unauthorized);
    let bad = FreezeFilter {
        environments: vec!["qa".into()],
        ..production()
    };
    let e = relcal_api::push_gitlab_freezes(&demo(), &client, "acme/checkout", &bad, now, false)
        .unwrap_err();
    assert!(
        e.message.starts_with("--env: unknown environment \"qa\""),
        "{}",
        e.message
    );
}
