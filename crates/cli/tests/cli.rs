//! The `relcal` binary against the command-line contract (docs/cli.md),
//! with real SQLite files.

#![allow(
    clippy::unwrap_used,
    reason = "a test should panic loudly on a broken assumption"
)]

mod common;
use common::*;
use relcal_domain::parse_plan;
use std::path::PathBuf;
use std::process::Command;

#[test]
fn validate_says_yes_to_the_demo_and_no_with_the_field_to_bad_plans() {
    let ok = relcal(&["validate", DEMO]);
    assert_eq!(ok.status.code(), Some(0), "{}", text(&ok.stderr));
    assert!(text(&ok.stdout)
        .contains("valid (3 teams, 4 services, 2 environments, 3 freezes, 4 releases)"));

    let dir = tempfile::tempdir().unwrap();
    let demo = std::fs::read_to_string(DEMO).unwrap();
    let bad = write(
        dir.path(),
        "bad.json",
        &demo.replace("\"status\": \"planned\"", "\"status\": \"scheduled\""),
    );
    let out = relcal(&["validate", bad.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    let err = text(&out.stderr);
    assert!(
        err.contains(
            "releases[1] (id \"checkout-2.0\"): field `status`: \"scheduled\" is not a status"
        ),
        "{err}"
    );
    assert!(text(&out.stdout).is_empty());

    let missing = relcal(&["validate", "/nonexistent/plan.json"]);
    assert_eq!(missing.status.code(), Some(2));
    assert!(text(&missing.stderr).contains("/nonexistent/plan.json"));
}

#[test]
fn usage_errors_exit_2() {
    assert_eq!(relcal(&["validate"]).status.code(), Some(2));
    assert_eq!(relcal(&["frobnicate"]).status.code(), Some(2));
}

#[test]
fn import_then_export_gives_the_same_calendar() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("cal.db");
    let db = db.to_str().unwrap();
    let out = relcal(&["import", DEMO, "--db", db, "--by", "ana"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(text(&out.stdout).contains("4 releases"));
    let exported = relcal(&["export", "--db", db, "--format", "json"]);
    assert_eq!(
        exported.status.code(),
        Some(0),
        "{}",
        text(&exported.stderr)
    );
    let original = parse_plan(&std::fs::read_to_string(DEMO).unwrap()).unwrap();
    let again = parse_plan(&text(&exported.stdout)).expect("export is a valid plan");
    assert_eq!(again, original);
    // Exporting the export is a fixed point.
    let path = write(dir.path(), "exported.json", &text(&exported.stdout));
    let db2 = dir.path().join("cal2.db");
    assert_eq!(
        import(path.to_str().unwrap(), db2.to_str().unwrap())
            .status
            .code(),
        Some(0)
    );
    let twice = relcal(&["export", "--db", db2.to_str().unwrap()]);
    assert_eq!(text(&twice.stdout), text(&exported.stdout));
}

#[test]
fn an_invalid_import_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("cal.db");
    let demo = std::fs::read_to_string(DEMO).unwrap();
    let bad = write(
        dir.path(),
        "bad.json",
        &demo.replace(
            "\"end\": \"2026-12-01T17:00:00Z\"",
            "\"end\": \"2026-12-01T12:00:00Z\"",
        ),
    );
    // Into a new database: no file appears.
    let out = import(bad.to_str().unwrap(), db.to_str().unwrap());
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr)
            .contains("releases[1] (id \"checkout-2.0\"): field `end`: must be after start"),
        "{}",
        text(&out.stderr)
    );
    assert!(!db.exists());
    // Into an existing one: it is unchanged.
    assert_eq!(import(DEMO, db.to_str().unwrap()).status.code(), Some(0));
    let before = relcal(&["export", "--db", db.to_str().unwrap()]).stdout;
    assert_eq!(
        import(bad.to_str().unwrap(), db.to_str().unwrap())
            .status
            .code(),
        Some(2)
    );
    assert_eq!(
        relcal(&["export", "--db", db.to_str().unwrap()]).stdout,
        before
    );
}

#[test]
fn a_database_that_cannot_be_opened_exits_3() {
    let dir = tempfile::tempdir().unwrap();
    let junk = write(dir.path(), "junk.db", &"not a database ".repeat(100));
    let out = relcal(&["export", "--db", junk.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(3));
    assert!(text(&out.stderr).contains("junk.db"));
    let out = relcal(&[
        "export",
        "--db",
        dir.path().join("absent.db").to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(3));
    let out = import(DEMO, "/proc/no/such/dir/x.db");
    assert_eq!(out.status.code(), Some(3), "{}", text(&out.stderr));
}

#[test]
fn ics_export_writes_every_release_and_freeze_as_an_event() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("cal.db");
    import(DEMO, db.to_str().unwrap());
    let out = relcal(&["export", "--db", db.to_str().unwrap(), "--format", "ics"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let ics = text(&out.stdout);
    assert!(ics.starts_with("BEGIN:VCALENDAR\r\n"));
    assert!(ics.trim_end().ends_with("END:VCALENDAR"));
    assert_eq!(ics.matches("BEGIN:VEVENT").count(), 4 + 3);
    assert!(ics.contains("DTSTART;TZID=Europe/Berlin:20261106T120000\r\n"));
    assert!(ics.contains("RRULE:FREQ=MONTHLY;BYMONTHDAY=-1\r\n"));
    assert!(ics.contains("UID:release-checkout-2.0@relcal.dev"));
}

mod crash {
    //! SIGKILL a writer mid-import, many times: the database is never corrupt
    //! and holds all of one import or all of the other.
    use super::*;
    use relcal_domain::Plan;
    use std::time::Instant;

    fn big_plan(tag: &str, releases: usize) -> String {
        let releases: Vec<serde_json::Value> = (0..releases)
            .map(|i| {
                serde_json::json!({
                    "id": format!("{tag}-{i}"), "title": format!("{tag} release {i}"), "team": "t",
                    "services": ["s"], "environment": "prod",
                    "start": format!("2027-01-01T{:02}:00:00Z", i % 20),
                    "end": format!("2027-01-01T{:02}:30:00Z", i % 20),
                    "status": "planned", "owner": tag,
                    "checklist": [{"id": "a", "text": "tests green", "required": true, "done": false},
                                  {"id": "b", "text": "smoke", "required": false, "done": true}],
                    "rollback": {"steps": ["undo one", "undo two"], "owner": tag, "time_budget_minutes": 5, "tested": true},
                })
            })
            .collect();
        serde_json::json!({
            "version": 1, "timezone": "UTC",
            "teams": [{"id": "t", "name": tag}], "services": [{"id": "s", "team": "t"}],
            "environments": [{"id": "prod", "name": "Production", "production": true}],
            "freezes": [], "releases": releases,
        })
        .to_string()
    }

    #[test]
    fn sigkill_mid_import_never_corrupts_or_tears() {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("cal.db");
        let db_arg = db.to_str().unwrap().to_owned();
        let plans: Vec<(PathBuf, Plan)> = ["alpha", "beta"]
            .iter()
            .map(|tag| {
                let text = big_plan(tag, 4000);
                let plan = parse_plan(&text).unwrap();
                (write(dir.path(), &format!("{tag}.json"), &text), plan)
            })
            .collect();

        // How long one import takes here, to spread the kills across it.
        let t0 = Instant::now();
        assert_eq!(
            relcal(&["import", plans[0].0.to_str().unwrap(), "--db", &db_arg])
                .status
                .code(),
            Some(0)
        );
        let full = t0.elapsed();

        let mut killed_mid_write = 0;
        for round in 0..30u32 {
            let (path, _) = &plans[(round % 2) as usize];
            let mut child = Command::new(env!("CARGO_BIN_EXE_relcal"))
                .args(["import", path.to_str().unwrap(), "--db", &db_arg])
                .stdout(std::process::Stdio::null())
                .stderr(std::process::Stdio::null())
                .spawn()
                .unwrap();
            // Kill somewhere between the start and a little after the expected end.
            std::thread::sleep(full.mul_f64(f64::from(round) / 26.0));
            let _ = child.kill(); // SIGKILL on Unix
            let status = child.wait().unwrap();
            if !status.success() {
                killed_mid_write += 1;
            }

            let store = relcal_api::open_store(&db).unwrap();
            assert_eq!(
                store.integrity_check().unwrap(),
                Ok(()),
                "round {round}: corrupt"
            );
            let stored = store.load_plan().unwrap().expect("a calendar is stored");
            assert!(
                plans.iter().any(|(_, p)| *p == stored),
                "round {round}: the database holds a torn import ({} releases)",
                stored.releases.len()
            );
        }
        assert!(
            killed_mid_write >= 10,
            "only {killed_mid_write} imports were killed; the test proves little"
        );
    }
}

mod check {
    //! `relcal check` against the contract in conflict-rules.md.
    use super::*;

    #[test]
    fn json_output_has_the_spec_shape_and_exit_1_on_errors() {
        let out = relcal(&[
            "check",
            DEMO,
            "--now",
            "2026-11-30T12:00:00Z",
            "--format",
            "json",
        ]);
        assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
        let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("one JSON document");
        assert_eq!(
            v["summary"],
            serde_json::json!({"errors": 4, "warnings": 2, "infos": 1})
        );
        let hard = v["conflicts"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["code"] == "freeze.hard")
            .unwrap();
        assert_eq!(hard["releases"], serde_json::json!(["ingress-xmas"]));
        assert_eq!(hard["freeze"], "holidays");
        assert_eq!(hard["start"], "2026-12-21T05:00:00Z");
        assert_eq!(hard["end"], "2027-01-04T05:00:00Z");
        assert_eq!(hard["severity"], "error");
        let order = v["conflicts"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["code"] == "dependency.order")
            .unwrap();
        assert!(order["freeze"].is_null());
    }

    #[test]
    fn a_clean_calendar_exits_0_and_the_db_can_be_checked() {
        let dir = tempfile::tempdir().unwrap();
        let clean = serde_json::json!({"version": 1, "teams": [{"id": "t", "name": "T"}],
            "services": [{"id": "s", "team": "t"}], "environments": [{"id": "e", "name": "E"}],
            "freezes": [], "releases": [{"id": "r", "title": "R", "team": "t", "services": ["s"],
            "environment": "e", "start": "2027-01-01T10:00:00Z", "end": "2027-01-01T11:00:00Z", "status": "planned"}]});
        let path = write(dir.path(), "clean.json", &clean.to_string());
        let out = relcal(&["check", path.to_str().unwrap()]);
        assert_eq!(out.status.code(), Some(0), "{}", text(&out.stdout));
        assert!(text(&out.stdout).contains("0 errors, 0 warnings, 0 infos"));

        let db = dir.path().join("cal.db");
        import(DEMO, db.to_str().unwrap());
        let out = relcal(&[
            "check",
            "--db",
            db.to_str().unwrap(),
            "--now",
            "2026-11-30T12:00:00Z",
        ]);
        assert_eq!(out.status.code(), Some(1));
        assert!(
            text(&out.stdout).contains("ingress TLS update overlaps Holiday freeze"),
            "{}",
            text(&out.stdout)
        );
    }

    #[test]
    fn bad_input_exits_2() {
        let out = relcal(&["check", DEMO, "--now", "tomorrow"]);
        assert_eq!(out.status.code(), Some(2));
        assert!(text(&out.stderr).contains("--now"));
        let out = relcal(&["check", DEMO, "--db", "x.db"]);
        assert_eq!(out.status.code(), Some(2));
        let out = relcal(&["check", "--db", "/nonexistent/x.db"]);
        assert_eq!(out.status.code(), Some(3));
    }
}

mod gate {
    //! `relcal gate`: exit 0 allowed, 1 blocked, 2 invalid.
    use super::*;

    #[test]
    fn blocked_by_a_hard_freeze_exits_1_and_says_until_when() {
        let out = relcal(&[
            "gate",
            DEMO,
            "--env",
            "prod",
            "--service",
            "ingress",
            "--at",
            "2026-12-25T12:00:00Z",
        ]);
        assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
        assert!(
            text(&out.stdout).starts_with("BLOCKED: Production is frozen until 4 Jan 2027 00:00 EST (America/New_York) by Holiday freeze"),
            "{}",
            text(&out.stdout)
        );
        let json = relcal(&[
            "gate",
            DEMO,
            "--env",
            "prod",
            "--at",
            "2026-12-25T12:00:00Z",
            "--format",
            "json",
        ]);
        let v: serde_json::Value = serde_json::from_slice(&json.stdout).unwrap();
        assert_eq!(v["allowed"], false);
        assert_eq!(v["until"], "2027-01-04T05:00:00Z");
        assert_eq!(v["blocked_by"][0]["freeze"], "holidays");
    }

    #[test]
    fn allowed_exits_0_also_from_a_database_and_a_soft_freeze_warns() {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("cal.db");
        import(DEMO, db.to_str().unwrap());
        let out = relcal(&[
            "gate",
            "--db",
            db.to_str().unwrap(),
            "--env",
            "staging",
            "--at",
            "2026-11-06T13:00:00Z",
        ]);
        assert_eq!(out.status.code(), Some(0));
        assert!(
            text(&out.stdout)
                .starts_with("ALLOWED with a warning: soft freeze No Friday afternoon deploys"),
            "{}",
            text(&out.stdout)
        );
    }

    #[test]
    fn unknown_scope_exits_2_naming_the_flag() {
        let out = relcal(&["gate", DEMO, "--env", "qa"]);
        assert_eq!(out.status.code(), Some(2));
        assert!(text(&out.stderr).contains("--env: unknown environment \"qa\""));
        let out = relcal(&["gate", DEMO, "--env", "prod", "--service", "cart"]);
        assert_eq!(out.status.code(), Some(2));
        assert!(text(&out.stderr).contains("--service"));
        assert_eq!(relcal(&["gate", DEMO]).status.code(), Some(2));
    }
}

mod slot {
    //! `relcal slot`: exit 0 found, 1 none within --within, 2 invalid.
    use super::*;

    #[test]
    fn the_first_start_after_a_freeze_inside_the_teams_window_and_what_was_skipped() {
        let args = [
            "slot",
            DEMO,
            "--env",
            "prod",
            "--service",
            "checkout-api",
            "--duration",
            "PT2H",
            "--after",
            "2026-12-24T12:00:00Z",
        ];
        let out = relcal(&args);
        assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
        let stdout = text(&out.stdout);
        assert!(
            stdout.starts_with("earliest slot in Production: 4 Jan 2027 09:00 CET to 4 Jan 2027 11:00 CET (Europe/Berlin)"),
            "{stdout}"
        );
        assert!(stdout.contains("freeze.hard"), "{stdout}");
        let json = relcal(&[&args[..], &["--format", "json"]].concat());
        assert_eq!(json.status.code(), Some(0));
        let v: serde_json::Value = serde_json::from_slice(&json.stdout).unwrap();
        // Exactly the contract's keys.
        let mut keys: Vec<&str> = v.as_object().unwrap().keys().map(String::as_str).collect();
        keys.sort_unstable();
        assert_eq!(keys, ["end", "found", "skipped", "start"]);
        assert_eq!(v["found"], true);
        assert_eq!(v["start"], "2027-01-04T08:00:00Z");
        assert_eq!(v["end"], "2027-01-04T10:00:00Z");
        let codes: Vec<&str> = v["skipped"]
            .as_array()
            .unwrap()
            .iter()
            .map(|k| k["code"].as_str().unwrap())
            .collect();
        assert_eq!(codes, ["freeze.hard", "window.outside_allowed"], "{v}");
        let first = &v["skipped"][0];
        assert_eq!(first["start"], "2026-12-21T05:00:00Z");
        assert_eq!(first["end"], "2027-01-04T05:00:00Z");
        assert!(
            first["reason"]
                .as_str()
                .unwrap()
                .starts_with("Holiday freeze (hard)"),
            "{first}"
        );
        let mut entry: Vec<&str> = first
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        entry.sort_unstable();
        assert_eq!(entry, ["code", "end", "reason", "start"]);
    }

    #[test]
    fn the_owner_and_capacity_count_and_the_database_answers_the_same() {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("cal.db");
        import(DEMO, db.to_str().unwrap());
        let out = relcal(&[
            "slot",
            "--db",
            db.to_str().unwrap(),
            "--env",
            "prod",
            "--service",
            "ingress",
            "--owner",
            "dana",
            "--duration",
            "PT1H",
            "--after",
            "2026-12-01T14:30:00Z",
            "--format",
            "json",
        ]);
        assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
        let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        // Dana runs auth-5.2 (14:00-16:00) and checkout-2.0 (15:00-17:00).
        assert_eq!(v["start"], "2026-12-01T17:00:00Z", "{v}");
        assert!(
            v["skipped"]
                .as_array()
                .unwrap()
                .iter()
                .all(|k| k["code"] == "owner.double_booked"),
            "{v}"
        );
    }

    #[test]
    fn nothing_within_the_search_exits_1() {
        let out = relcal(&[
            "slot",
            DEMO,
            "--env",
            "prod",
            "--service",
            "ingress",
            "--duration",
            "PT1H",
            "--after",
            "2026-12-25T00:00:00Z",
            "--within",
            "P2D",
            "--format",
            "json",
        ]);
        assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
        let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(v["found"], false);
        assert_eq!(v["start"], serde_json::Value::Null);
        assert_eq!(v["end"], serde_json::Value::Null);
        assert_eq!(v["skipped"][0]["code"], "freeze.hard");
        let text_out = relcal(&[
            "slot",
            DEMO,
            "--env",
            "prod",
            "--service",
            "ingress",
            "--duration",
            "PT1H",
            "--after",
            "2026-12-25T00:00:00Z",
            "--within",
            "P2D",
        ]);
        assert_eq!(text_out.status.code(), Some(1));
        assert!(
            text(&text_out.stdout).starts_with("no slot of PT1H in Production starts between"),
            "{}",
            text(&text_out.stdout)
        );
    }

    #[test]
    fn bad_input_exits_2_naming_the_flag() {
        for (extra, flag) in [
            (&["--env", "qa", "--duration", "PT1H"][..], "--env"),
            (
                &["--env", "prod", "--duration", "two hours"][..],
                "--duration",
            ),
            (&["--env", "prod", "--duration", "PT0S"][..], "--duration"),
            (
                &["--env", "prod", "--duration", "PT1H", "--within", "P1Y"][..],
                "--within",
            ),
            (
                &["--env", "prod", "--duration", "PT1H", "--after", "soon"][..],
                "--after",
            ),
            (
                &[
                    "--env",
                    "prod",
                    "--duration",
                    "PT1H",
                    "--after-release",
                    "nope",
                ][..],
                "--after-release",
            ),
            (
                &["--env", "prod", "--duration", "PT1H", "--service", "cart"][..],
                "--service",
            ),
            (
                &[
                    "--env",
                    "prod",
                    "--duration",
                    "PT1H",
                    "--service",
                    "auth",
                    "--service",
                    "ingress",
                ][..],
                "--team",
            ),
        ] {
            let out = relcal(&[&["slot", DEMO][..], extra].concat());
            assert_eq!(out.status.code(), Some(2), "{extra:?}");
            assert!(
                text(&out.stderr).contains(flag),
                "{extra:?}: {}",
                text(&out.stderr)
            );
            assert!(out.stdout.is_empty(), "{extra:?}");
        }
        // --duration is required.
        assert_eq!(
            relcal(&["slot", DEMO, "--env", "prod"]).status.code(),
            Some(2)
        );
    }
}

mod release {
    //! `relcal release status|move`: one release changed, checked and written in one transaction.
    use super::*;

    fn imported() -> (tempfile::TempDir, String) {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("cal.db").to_str().unwrap().to_owned();
        assert_eq!(import(DEMO, &db).status.code(), Some(0));
        (dir, db)
    }

    fn exported(db: &str) -> relcal_domain::Plan {
        parse_plan(&text(&relcal(&["export", "--db", db]).stdout)).unwrap()
    }

    #[test]
    fn moving_a_release_is_stored_and_reports_the_conflicts_it_loses_or_gains() {
        let (_dir, db) = imported();
        let out = relcal(&[
            "release",
            "move",
            "checkout-2.0",
            "--start",
            "2026-12-01T16:00:00Z",
            "--end",
            "2026-12-01T17:00:00Z",
            "--db",
            &db,
            "--by",
            "ana",
        ]);
        assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
        let stdout = text(&out.stdout);
        assert!(stdout.contains("gone error   dependency.order"), "{stdout}");
        let plan = exported(&db);
        let moved = plan
            .releases
            .iter()
            .find(|r| r.id.as_str() == "checkout-2.0")
            .unwrap();
        assert_eq!(moved.start.utc.to_rfc3339(), "2026-12-01T16:00:00+00:00");
        // Its checklist and place in the calendar survive the rewrite.
        assert_eq!(moved.checklist.len(), 1);
        assert_eq!(plan.releases[1].id.as_str(), "checkout-2.0");
        // Moving it into the holiday freeze gains a hard-freeze conflict.
        let out = relcal(&[
            "release",
            "move",
            "checkout-2.0",
            "--start",
            "2026-12-22T10:00:00Z",
            "--end",
            "2026-12-22T11:00:00Z",
            "--db",
            &db,
        ]);
        assert!(
            text(&out.stdout).contains("new error    freeze.hard"),
            "{}",
            text(&out.stdout)
        );
    }

    #[test]
    fn status_changes_and_bad_input_writes_nothing() {
        let (_dir, db) = imported();
        let before = relcal(&["export", "--db", &db]).stdout;
        for (args, needle) in [
            (
                vec!["release", "status", "ingress-xmas", "shipped"],
                "field `status`: \"shipped\" is not a status",
            ),
            (
                vec![
                    "release",
                    "move",
                    "ingress-xmas",
                    "--start",
                    "2026-12-22T10:00:00Z",
                    "--end",
                    "2026-12-22T09:00:00Z",
                ],
                "releases[3] (id \"ingress-xmas\"): field `end`: must be after start",
            ),
            (
                vec![
                    "release",
                    "move",
                    "ingress-xmas",
                    "--start",
                    "soon",
                    "--end",
                    "2026-12-22T09:00:00Z",
                ],
                "field `start`",
            ),
            (
                vec!["release", "status", "nope", "done"],
                "release \"nope\" does not exist",
            ),
        ] {
            let mut args = args;
            args.extend(["--db", &db]);
            let out = relcal(&args);
            assert_eq!(out.status.code(), Some(2), "{args:?}");
            assert!(
                text(&out.stderr).contains(needle),
                "{args:?}: {}",
                text(&out.stderr)
            );
        }
        assert_eq!(relcal(&["export", "--db", &db]).stdout, before);
        let out = relcal(&[
            "release",
            "status",
            "ingress-xmas",
            "cancelled",
            "--db",
            &db,
        ]);
        assert_eq!(out.status.code(), Some(0));
        assert!(text(&out.stdout).contains("gone error   freeze.hard"));
        let plan = exported(&db);
        assert_eq!(plan.releases[3].status.as_str(), "cancelled");
    }
}

mod dst {
    //! `relcal check --dst`: daylight-saving warnings as infos, and plain
    //! `check` unchanged.
    use super::*;

    const PLAN: &str = r#"{"version": 1, "timezone": "Europe/Berlin",
        "teams": [{"id": "t", "name": "Payments", "allowed_windows": [
            {"timezone": "UTC", "start": "2027-01-04T09:00:00", "duration": "PT8H", "rrule": "FREQ=WEEKLY;BYDAY=MO"}]}],
        "services": [{"id": "s", "team": "t"}],
        "environments": [{"id": "prod", "name": "Production"}],
        "freezes": [{"id": "backup", "name": "Backup", "severity": "hard", "start": "2027-01-01T02:30:00",
                     "duration": "PT1H", "rrule": "FREQ=DAILY"}],
        "releases": []}"#;

    #[test]
    fn check_dst_lists_gaps_folds_and_drifting_windows_as_infos() {
        let dir = tempfile::tempdir().unwrap();
        let plan = write(dir.path(), "plan.json", PLAN);
        let plan = plan.to_str().unwrap();
        let json = relcal(&[
            "check",
            plan,
            "--now",
            "2027-01-01T00:00:00Z",
            "--dst",
            "--format",
            "json",
        ]);
        assert_eq!(json.status.code(), Some(0), "{}", text(&json.stderr));
        let v: serde_json::Value = serde_json::from_slice(&json.stdout).unwrap();
        let codes: Vec<&str> = v["conflicts"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["code"].as_str().unwrap())
            .collect();
        assert_eq!(codes, ["window.dst_drift", "dst.gap", "dst.fold"], "{v}");
        assert_eq!(v["summary"]["infos"], 3);
        assert_eq!(v["conflicts"][1]["freeze"], "backup");
        assert_eq!(v["conflicts"][1]["severity"], "info");
        assert_eq!(v["conflicts"][1]["start"], "2027-03-28T01:30:00Z");
        let text_out = relcal(&["check", plan, "--now", "2027-01-01T00:00:00Z", "--dst"]);
        let stdout = text(&text_out.stdout);
        assert!(stdout.contains("info     dst.gap                Backup (backup): 28 Mar 2027 02:30 does not exist in Europe/Berlin"), "{stdout}");
        assert!(
            stdout.ends_with("0 errors, 0 warnings, 3 infos\n"),
            "{stdout}"
        );
        // Without --dst, exactly the contract's codes: nothing here.
        let plain = relcal(&[
            "check",
            plan,
            "--now",
            "2027-01-01T00:00:00Z",
            "--format",
            "json",
        ]);
        let v: serde_json::Value = serde_json::from_slice(&plain.stdout).unwrap();
        assert_eq!(v["conflicts"], serde_json::json!([]));
    }
}
