//! The adapters against recorded GitLab and GitHub responses (tests/recorded/),
//! served on loopback with the headers those services send: pagination,
//! tokens, ETags. What they import lands in a real SQLite calendar.

#![allow(
    clippy::unwrap_used,
    reason = "a test should panic loudly on a broken assumption"
)]

use relcal_api::{ErrorCode, GitLabFreezePeriod};
use std::io::{BufRead, BufReader, Write};
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

/// A loopback stand-in for gitlab.example.com and api.github.com, serving
/// the recorded answers. Returns its base URL and the requests it saw.
fn outside_world() -> (String, Arc<Mutex<Vec<String>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let seen: Arc<Mutex<Vec<String>>> = Arc::default();
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
            let target = first.split(' ').nth(1).unwrap_or_default().to_owned();
            log.lock().unwrap().push(target.clone());
            let has = |h: &str| headers.iter().any(|x| x == h);
            let (status, extra, body) = if target.starts_with("/api/v4/") && !has("private-token: glpat-recorded") {
                ("401 Unauthorized", String::new(), r#"{"message":"401 Unauthorized"}"#.to_owned())
            } else if target == "/api/v4/projects/acme%2Fcheckout/freeze_periods?per_page=100&page=1" {
                ("200 OK", "x-next-page: 2\r\nx-total-pages: 2\r\n".into(), recorded("gitlab-freeze-periods-page1.json"))
            } else if target == "/api/v4/projects/acme%2Fcheckout/freeze_periods?per_page=100&page=2" {
                ("200 OK", "x-next-page: \r\nx-total-pages: 2\r\n".into(), recorded("gitlab-freeze-periods-page2.json"))
            } else if target == "/api/v4/projects/acme%2Fcheckout/deployments?order_by=updated_at&sort=desc&per_page=100&page=1" {
                ("200 OK", "x-next-page: \r\n".into(), recorded("gitlab-deployments.json"))
            } else if target == "/repos/acme/checkout/releases?per_page=100" {
                if has("if-none-match: \"rel-v1\"") {
                    ("304 Not Modified", "etag: \"rel-v1\"\r\n".into(), String::new())
                } else {
                    ("200 OK", "etag: \"rel-v1\"\r\n".into(), recorded("github-releases.json"))
                }
            } else {
                ("404 Not Found", String::new(), r#"{"message":"404 Project Not Found"}"#.to_owned())
            };
            let _ = write!(
                conn,
                "HTTP/1.1 {status}\r\ncontent-type: application/json\r\n{extra}content-length: {}\r\nconnection: close\r\n\r\n{body}",
                body.len()
            );
        }
    });
    (base, seen)
}

/// The demo calendar, with the versions the outside systems know.
fn calendar(dir: &std::path::Path) -> relcal_api::Store {
    let mut plan: serde_json::Value = serde_json::from_str(relcal_api::DEMO_PLAN).unwrap();
    for r in plan["releases"].as_array_mut().unwrap() {
        match r["id"].as_str().unwrap() {
            "checkout-2.0" => r["version"] = "v2.0.0".into(),
            "auth-5.2" => r["version"] = "v5.2.0".into(),
            _ => {}
        }
    }
    let mut store = relcal_api::open_store(&dir.join("desk.db")).unwrap();
    relcal_api::import_plan_text(&mut store, &plan.to_string()).unwrap();
    store
}

fn exported(store: &relcal_api::Store) -> serde_json::Value {
    serde_json::from_str(&relcal_api::export_plan_json(store).unwrap()).unwrap()
}

fn find<'a>(plan: &'a serde_json::Value, list: &str, id: &str) -> &'a serde_json::Value {
    plan[list]
        .as_array()
        .unwrap()
        .iter()
        .find(|o| o["id"] == id)
        .unwrap()
}

#[test]
fn gitlab_freeze_periods_become_recurring_freezes_kept_in_step_with_gitlab() {
    let (base, seen) = outside_world();
    let dir = tempfile::tempdir().unwrap();
    let mut store = calendar(dir.path());
    let now = at("2026-11-29T12:00:00Z");

    let anonymous = relcal_http::GitLab::new(&base, None).unwrap();
    let err = anonymous.freeze_periods("acme/checkout").unwrap_err();
    assert_eq!(err.code, ErrorCode::Unauthorized, "{err:?}");

    let gitlab = relcal_http::GitLab::new(&base, Some("glpat-recorded".into())).unwrap();
    let periods = gitlab.freeze_periods("acme/checkout").unwrap();
    assert_eq!(
        periods.iter().map(|p| p.id).collect::<Vec<_>>(),
        [1, 4, 7],
        "both pages"
    );
    assert!(seen.lock().unwrap().iter().any(|t| t.ends_with("page=2")));

    let env = vec!["prod".to_owned()];
    let report =
        relcal_api::import_gitlab_freezes(&mut store, "acme/checkout", &periods, &env, now)
            .unwrap();
    assert_eq!((report.created, report.updated, report.removed), (3, 0, 0));
    let plan = exported(&store);
    let weekend = find(&plan, "freezes", "gitlab-acme-checkout-1");
    assert_eq!(weekend["rrule"], "FREQ=WEEKLY;BYDAY=FR");
    assert_eq!(weekend["duration"], "P2DT9H");
    assert_eq!(weekend["timezone"], "Europe/Berlin");
    // DTSTART is the latest start before now: the freeze in force last weekend is one of them.
    assert_eq!(weekend["start"], "2026-11-27T23:00:00");
    assert_eq!(
        weekend["scope"]["environments"],
        serde_json::json!(["prod"])
    );
    let holidays = find(&plan, "freezes", "gitlab-acme-checkout-4");
    assert_eq!(holidays["rrule"], "FREQ=MONTHLY;BYMONTHDAY=24;BYMONTH=12");
    assert_eq!(holidays["duration"], "P9D");
    let evenings = find(&plan, "freezes", "gitlab-acme-checkout-7");
    assert_eq!(evenings["rrule"], "FREQ=WEEKLY;BYDAY=MO,TU,WE,TH");
    assert_eq!(evenings["duration"], "PT15H30M");

    // The calendar's own expansion gives GitLab's times, in real time:
    // Friday 23:00 Berlin (22:00Z) to Monday 08:00 Berlin (07:00Z), in winter...
    let view = relcal_api::calendar_view(
        &store,
        at("2026-12-04T00:00:00Z"),
        at("2026-12-08T00:00:00Z"),
    )
    .unwrap();
    let weekend_hits: Vec<(String, String)> = view
        .freezes
        .iter()
        .filter(|f| f.freeze_id == "gitlab-acme-checkout-1")
        .map(|f| (f.start.clone(), f.end.clone()))
        .collect();
    assert_eq!(
        weekend_hits,
        [(
            "2026-12-04T22:00:00Z".to_owned(),
            "2026-12-07T07:00:00Z".to_owned()
        )]
    );
    // ...and 21:00Z to 06:00Z in summer.
    let summer = relcal_api::calendar_view(
        &store,
        at("2027-07-02T00:00:00Z"),
        at("2027-07-06T00:00:00Z"),
    )
    .unwrap();
    assert!(
        summer
            .freezes
            .iter()
            .any(|f| f.freeze_id == "gitlab-acme-checkout-1"
                && f.start == "2027-07-02T21:00:00Z"
                && f.end == "2027-07-05T06:00:00Z"),
        "{:?}",
        summer.freezes
    );

    // Again: nothing changes. GitLab dropped period 7: so does the calendar.
    let again = relcal_api::import_gitlab_freezes(&mut store, "acme/checkout", &periods, &env, now)
        .unwrap();
    assert_eq!((again.created, again.updated, again.unchanged), (0, 0, 3));
    let fewer =
        relcal_api::import_gitlab_freezes(&mut store, "acme/checkout", &periods[..2], &env, now)
            .unwrap();
    assert_eq!(fewer.removed, 1);
    let plan = exported(&store);
    assert!(plan["freezes"]
        .as_array()
        .unwrap()
        .iter()
        .all(|f| f["id"] != "gitlab-acme-checkout-7"));
    // Freezes that are not GitLab's are never touched.
    assert!(plan["freezes"]
        .as_array()
        .unwrap()
        .iter()
        .any(|f| f["id"] == "holidays"));
    // Every change is in the audit trail (and so goes to the team's server).
    let log = relcal_api::audit_log(&store, None).unwrap();
    assert!(log
        .iter()
        .any(|e| e.action == "freeze.deleted" && e.object_id == "gitlab-acme-checkout-7"));
}

#[test]
fn periods_cron_cannot_say_as_one_freeze_are_refused_by_field_and_nothing_is_written() {
    let now = at("2026-11-29T12:00:00Z");
    let period = |start: &str, end: &str, zone: &str| GitLabFreezePeriod {
        id: 9,
        freeze_start: start.into(),
        freeze_end: end.into(),
        cron_timezone: Some(zone.into()),
    };
    for (p, field) in [
        (period("*/15 * * * *", "0 8 * * 1", "UTC"), "freeze_start"),
        (period("0 9 1 * 1", "0 17 * * *", "UTC"), "freeze_start"),
        (
            period("0 23 * * 5", "0 8 * * 1", "Mars/Olympus"),
            "cron_timezone",
        ),
        (period("0 23 * * 5", "not cron", "UTC"), "freeze_end"),
        // Daily from 09:00 until the next weekday 17:00: 8 hours on weekdays, 56 from Saturday.
        (period("0 9 * * *", "0 17 * * 1-5", "UTC"), "freeze_end"),
    ] {
        let err = relcal_api::freeze_from_gitlab("acme/checkout", &p, now).unwrap_err();
        assert!(
            err.contains("GitLab freeze period 9") && err.contains(&format!("field `{field}`")),
            "{err}"
        );
    }
    // One bad period among good ones: the import is refused whole.
    let dir = tempfile::tempdir().unwrap();
    let mut store = calendar(dir.path());
    let before = relcal_api::export_plan_json(&store).unwrap();
    let periods = [
        period("0 23 * * 5", "0 8 * * 1", "UTC"),
        period("*/5 * * * *", "0 8 * * 1", "UTC"),
    ];
    let err = relcal_api::import_gitlab_freezes(&mut store, "acme/checkout", &periods, &[], now)
        .unwrap_err();
    assert_eq!(err.code, ErrorCode::Validation);
    assert_eq!(relcal_api::export_plan_json(&store).unwrap(), before);
}

#[test]
fn gitlab_deployments_set_release_status_and_github_releases_the_artifact_with_etag_polling() {
    let (base, seen) = outside_world();
    let dir = tempfile::tempdir().unwrap();
    let mut store = calendar(dir.path());
    let now = at("2026-12-01T16:00:00Z");

    let gitlab = relcal_http::GitLab::new(&base, Some("glpat-recorded".into())).unwrap();
    let deployments = gitlab.deployments("acme/checkout", None).unwrap();
    assert_eq!(deployments.len(), 4);
    let report = relcal_api::apply_gitlab_deployments(&mut store, &deployments, now).unwrap();
    let plan = exported(&store);
    // The newest deployment of v2.0.0 to production succeeded (the older one was running).
    assert_eq!(
        find(&plan, "releases", "checkout-2.0")["status"],
        "done",
        "{report:?}"
    );
    assert_eq!(
        find(&plan, "releases", "auth-5.2")["status"],
        "rolled_back",
        "{report:?}"
    );
    assert_eq!(report.updated, 2);
    // A review app has no environment here: said, not guessed.
    assert_eq!(report.skipped.len(), 1, "{report:?}");
    assert!(
        report.skipped[0].contains("field `environment.name`")
            && report.skipped[0].contains("review/feature-x")
    );
    // Only the status is GitLab's: everything else is as it was.
    assert_eq!(find(&plan, "releases", "checkout-2.0")["owner"], "dana");

    let github = relcal_http::GitHub::new(&base, None).unwrap();
    let relcal_http::GitHubReleases { releases, etag } =
        github.releases("acme/checkout", None).unwrap().unwrap();
    assert_eq!(etag.as_deref(), Some("\"rel-v1\""));
    let report =
        relcal_api::apply_github_releases(&mut store, "acme/checkout", &releases, now).unwrap();
    let plan = exported(&store);
    assert_eq!(
        find(&plan, "releases", "checkout-2.0")["artifact"],
        "https://github.com/acme/checkout/releases/tag/v2.0.0"
    );
    // 5.2.0 is a draft: no artifact yet; v1.9.0 is not in this calendar.
    assert!(find(&plan, "releases", "auth-5.2")
        .get("artifact")
        .is_none());
    assert_eq!((report.updated, report.unchanged), (1, 1), "{report:?}");
    assert!(report.skipped[0].contains("acme/checkout@v1.9.0"));
    // Polling again with the ETag: not modified, nothing to apply.
    assert!(github
        .releases("acme/checkout", etag.as_deref())
        .unwrap()
        .is_none());
    assert_eq!(
        seen.lock()
            .unwrap()
            .iter()
            .filter(|t| t.starts_with("/repos/"))
            .count(),
        2
    );
    let err = github.releases("acme/nothing", None).unwrap_err();
    assert_eq!(err.code, ErrorCode::NotFound);
}

#[test]
fn the_connections_a_calendar_follows_run_together_and_each_run_is_recorded() {
    let (base, _seen) = outside_world();
    let dir = tempfile::tempdir().unwrap();
    let mut store = calendar(dir.path());
    let now = at("2026-12-01T16:00:00Z");
    // Tokens in the keyring (keyring-core's mock store here).
    keyring_core::set_default_store(keyring_core::mock::Store::new().unwrap());
    relcal_http::save_secret(&relcal_http::gitlab_account(&base), "glpat-recorded").unwrap();

    // Bad settings are refused naming the field; nothing is saved.
    let bad = relcal_api::AdapterSettings {
        gitlab_url: Some(base.clone()),
        gitlab_project: Some("acme/checkout".into()),
        gitlab_environments: vec!["moon".into()],
        ..Default::default()
    };
    let err = relcal_api::save_adapter_settings(&mut store, bad, now).unwrap_err();
    assert!(
        err.message.contains("field `gitlab_environments`"),
        "{}",
        err.message
    );
    let no_repo = relcal_api::AdapterSettings {
        github_repo: Some("just-a-name".into()),
        ..Default::default()
    };
    let err = relcal_api::save_adapter_settings(&mut store, no_repo, now).unwrap_err();
    assert!(
        err.message.contains("field `github_repo`"),
        "{}",
        err.message
    );
    assert_eq!(
        relcal_api::adapter_settings(&store).unwrap(),
        relcal_api::AdapterSettings::default()
    );

    let settings = relcal_api::AdapterSettings {
        gitlab_url: Some(format!("{base}/")),
        gitlab_project: Some("acme/checkout".into()),
        gitlab_environments: vec!["prod".into()],
        github_repo: Some("acme/checkout".into()),
        github_api: Some(base.clone()),
    };
    let saved = relcal_api::save_adapter_settings(&mut store, settings, now).unwrap();
    assert_eq!(
        saved.gitlab_url.as_deref(),
        Some(base.as_str()),
        "trailing slash dropped"
    );

    let runs = relcal_api::run_adapters(&mut store, &relcal_http::HttpForges::new(), now).unwrap();
    let sources: Vec<&str> = runs.iter().map(|r| r.source.as_str()).collect();
    assert_eq!(
        sources,
        [
            "GitLab freeze periods",
            "GitLab deployments",
            "GitHub releases"
        ]
    );
    assert!(runs.iter().all(|r| r.error.is_none()), "{runs:?}");
    assert_eq!(
        runs[0].summary,
        "3 created, 0 updated, 0 removed, 0 unchanged"
    );
    let changes: Vec<u32> = runs.iter().map(|r| r.changes).collect();
    assert_eq!(changes, [3, 2, 1]);
    let plan = exported(&store);
    assert_eq!(find(&plan, "releases", "checkout-2.0")["status"], "done");
    assert!(find(&plan, "releases", "checkout-2.0")["artifact"]
        .as_str()
        .unwrap()
        .ends_with("v2.0.0"));
    assert_eq!(relcal_api::adapter_runs(&store).unwrap().len(), 3);

    // Again: GitLab's freezes are unchanged, GitHub answers 304.
    let again = relcal_api::run_adapters(&mut store, &relcal_http::HttpForges::new(), now).unwrap();
    assert!(again.iter().all(|r| r.changes == 0), "{again:?}");
    assert_eq!(
        again[0].summary,
        "0 created, 0 updated, 0 removed, 3 unchanged"
    );
    assert_eq!(
        again[2].summary,
        "0 created, 0 updated, 0 removed, 0 unchanged"
    );

    // Without the token GitLab refuses: the run says why; GitHub still runs.
    relcal_http::forget_secret(&relcal_http::gitlab_account(&base)).unwrap();
    let refused =
        relcal_api::run_adapters(&mut store, &relcal_http::HttpForges::new(), now).unwrap();
    assert!(
        refused[0].error.as_deref().unwrap().contains("401"),
        "{refused:?}"
    );
    assert!(refused[2].error.is_none());
    let recorded = relcal_api::adapter_runs(&store).unwrap();
    assert!(recorded
        .iter()
        .any(|r| r.source == "GitLab freeze periods" && r.error.is_some()));
    keyring_core::unset_default_store();
}

#[test]
fn a_token_never_follows_a_redirect_to_another_host() {
    // The "other host": another loopback port, recording what arrives.
    let elsewhere = TcpListener::bind("127.0.0.1:0").unwrap();
    let elsewhere_url = format!("http://{}", elsewhere.local_addr().unwrap());
    let got: Arc<Mutex<Vec<String>>> = Arc::default();
    let log = got.clone();
    std::thread::spawn(move || {
        for conn in elsewhere.incoming() {
            let Ok(mut conn) = conn else { continue };
            let mut reader = BufReader::new(conn.try_clone().unwrap());
            loop {
                let mut line = String::new();
                if reader.read_line(&mut line).unwrap_or(0) == 0 || line.trim().is_empty() {
                    break;
                }
                log.lock().unwrap().push(line.trim().to_ascii_lowercase());
            }
            let _ = write!(
                conn,
                "HTTP/1.1 200 OK\r\ncontent-length: 2\r\nconnection: close\r\n\r\n[]"
            );
        }
    });
    // The forge: every request is sent on to the other host.
    let forge = TcpListener::bind("127.0.0.1:0").unwrap();
    let forge_url = format!("http://{}", forge.local_addr().unwrap());
    std::thread::spawn(move || {
        for conn in forge.incoming() {
            let Ok(mut conn) = conn else { continue };
            let mut reader = BufReader::new(conn.try_clone().unwrap());
            let mut first = String::new();
            reader.read_line(&mut first).unwrap_or(0);
            loop {
                let mut line = String::new();
                if reader.read_line(&mut line).unwrap_or(0) == 0 || line.trim().is_empty() {
                    break;
                }
            }
            let target = first.split(' ').nth(1).unwrap_or_default().to_owned();
            let _ = write!(
                conn,
                "HTTP/1.1 302 Found\r\nlocation: {elsewhere_url}{target}\r\ncontent-length: 0\r\nconnection: close\r\n\r\n"
            );
        }
    });
    let gitlab = relcal_http::GitLab::new(&forge_url, Some("glpat-secret".into())).unwrap();
    let err = gitlab.freeze_periods("acme/checkout").unwrap_err();
    assert_eq!(err.code, ErrorCode::Validation, "{}", err.message);
    assert!(
        err.message.contains("redirects to another host"),
        "{}",
        err.message
    );
    std::thread::sleep(std::time::Duration::from_millis(200));
    let seen = got.lock().unwrap();
    assert!(seen.is_empty(), "the other host was asked: {seen:?}");
}
