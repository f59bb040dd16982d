//! `relcal approve` and `relcal checklist` against a real database: the
//! app's rules (the owner cannot approve, each person once), refusals that
//! exit 2 naming the field with nothing written.

#![allow(
    clippy::unwrap_used,
    reason = "a test should panic loudly on a broken assumption"
)]

mod common;
use common::*;

fn export(db: &str) -> String {
    text(&relcal(&["export", "--db", db]).stdout)
}

fn approvals_of(db: &str, id: &str) -> Vec<String> {
    let plan: serde_json::Value = serde_json::from_str(&export(db)).unwrap();
    plan["releases"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["id"] == id)
        .unwrap()["approvals"]
        .as_array()
        .map(|a| {
            a.iter()
                .map(|x| x["by"].as_str().unwrap().to_owned())
                .collect()
        })
        .unwrap_or_default()
}

#[test]
fn approvals_from_the_command_line_follow_the_apps_rules() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("cal.db");
    let db = db.to_str().unwrap();
    assert_eq!(import(DEMO, db).status.code(), Some(0));
    // dana runs checkout-2.0: refused, naming the field, nothing written.
    let before = export(db);
    let out = relcal(&["approve", "checkout-2.0", "--db", db, "--by", "dana"]);
    assert_eq!(out.status.code(), Some(2));
    let said = text(&out.stderr);
    assert!(
        said.contains("\"checkout-2.0\"") && said.contains("field `approvals`"),
        "{said}"
    );
    assert_eq!(export(db), before);
    // li approves once; a second time is refused.
    let out = relcal(&["approve", "checkout-2.0", "--db", db, "--by", "li"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(approvals_of(db, "checkout-2.0"), ["li"]);
    let again = relcal(&["approve", "checkout-2.0", "--db", db, "--by", "li"]);
    assert_eq!(again.status.code(), Some(2));
    assert!(text(&again.stderr).contains("already approved"));
    assert_eq!(approvals_of(db, "checkout-2.0"), ["li"]);
    // omar too; then li withdraws hers.
    let out = relcal(&["approve", "checkout-2.0", "--db", db, "--by", "omar"]);
    assert_eq!(out.status.code(), Some(0));
    let out = relcal(&[
        "approve",
        "checkout-2.0",
        "--revoke",
        "--db",
        db,
        "--by",
        "li",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(approvals_of(db, "checkout-2.0"), ["omar"]);
    // Withdrawing what one never gave, or a release that is not there: exit 2.
    let out = relcal(&[
        "approve",
        "checkout-2.0",
        "--revoke",
        "--db",
        db,
        "--by",
        "li",
    ]);
    assert_eq!(out.status.code(), Some(2));
    let out = relcal(&["approve", "no-such-release", "--db", db, "--by", "li"]);
    assert_eq!(out.status.code(), Some(2));
    // Every change is in the audit trail under its person.
    let log = text(&relcal(&["audit", "log", "--db", db, "--release", "checkout-2.0"]).stdout);
    assert!(
        log.contains("release.approve") && log.contains("omar"),
        "{log}"
    );
}

#[test]
fn a_checklist_is_shown_ticked_and_unticked_and_an_unknown_item_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("cal.db");
    let db = db.to_str().unwrap();
    assert_eq!(import(DEMO, db).status.code(), Some(0));
    let shown = relcal(&["checklist", "checkout-2.0", "--db", db]);
    assert_eq!(shown.status.code(), Some(0));
    assert!(
        text(&shown.stdout).contains("[ ] smoke"),
        "{}",
        text(&shown.stdout)
    );

    // One unknown item among good ones: refused, naming it; nothing ticked.
    let before = export(db);
    let out = relcal(&[
        "checklist",
        "checkout-2.0",
        "--done",
        "smoke",
        "--done",
        "nope",
        "--db",
        db,
    ]);
    assert_eq!(out.status.code(), Some(2));
    let said = text(&out.stderr);
    assert!(
        said.contains("field `checklist`") && said.contains("\"nope\""),
        "{said}"
    );
    assert_eq!(export(db), before);
    let out = relcal(&[
        "checklist",
        "checkout-2.0",
        "--done",
        "smoke",
        "--undone",
        "smoke",
        "--db",
        db,
    ]);
    assert_eq!(out.status.code(), Some(2));

    // Ticked by sam: who and when are kept, shown in JSON too.
    let out = relcal(&[
        "checklist",
        "checkout-2.0",
        "--done",
        "smoke",
        "--db",
        db,
        "--by",
        "sam",
        "--format",
        "json",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let items: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(items[0]["id"], "smoke");
    assert_eq!(items[0]["done"], true);
    assert_eq!(items[0]["done_by"], "sam");
    assert!(items[0]["done_at"].as_str().unwrap().ends_with('Z'));
    assert_ne!(export(db), before);
    // Unticked again.
    let out = relcal(&["checklist", "checkout-2.0", "--undone", "smoke", "--db", db]);
    assert_eq!(out.status.code(), Some(0));
    assert!(text(&out.stdout).contains("[ ] smoke"));
}

#[test]
fn releases_freezes_and_the_go_no_go_view_are_listed_in_text_and_json() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("cal.db");
    let db = db.to_str().unwrap();
    assert_eq!(import(DEMO, db).status.code(), Some(0));
    // The demo's releases fall between 30 Nov and 24 Dec 2026.
    let at = |args: &[&str]| {
        std::process::Command::new(env!("CARGO_BIN_EXE_relcal"))
            .args(args)
            .env("RELCAL_NOW", "2026-11-29T00:00:00Z")
            .output()
            .unwrap()
    };
    let out = at(&["releases", "--db", db, "--format", "json"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let list: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let ids: Vec<&str> = list
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["id"].as_str().unwrap())
        .collect();
    assert!(
        ids.contains(&"checkout-2.0") && ids.contains(&"ledger-hotfix"),
        "{ids:?}"
    );
    // A range: only what starts in it.
    let out = at(&[
        "releases",
        "--db",
        db,
        "--from",
        "2026-12-20T00:00:00Z",
        "--to",
        "2026-12-31T00:00:00Z",
    ]);
    let shown = text(&out.stdout);
    assert!(
        shown.contains("ingress-xmas") && !shown.contains("ledger-hotfix"),
        "{shown}"
    );
    // A range the wrong way round: exit 2, naming it.
    let out = at(&[
        "releases",
        "--db",
        db,
        "--from",
        "2026-12-31T00:00:00Z",
        "--to",
        "2026-12-01T00:00:00Z",
    ]);
    assert_eq!(out.status.code(), Some(2));

    // Freezes with their rule in words, never the raw RRULE.
    let out = at(&["freezes", "--db", db]);
    assert_eq!(out.status.code(), Some(0));
    let shown = text(&out.stdout);
    assert!(
        shown.contains("every") && !shown.contains("FREQ="),
        "{shown}"
    );
    let json: serde_json::Value =
        serde_json::from_slice(&at(&["freezes", "--db", db, "--format", "json"]).stdout).unwrap();
    assert!(json
        .as_array()
        .unwrap()
        .iter()
        .all(|f| f["schedule"].is_string()));

    // The go/no-go view of the next 7 days, each release with a verdict.
    let out = at(&["go-no-go", "--db", db, "--days", "7", "--format", "json"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let view: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let rows = view["rows"].as_array().unwrap();
    assert!(!rows.is_empty());
    for r in rows {
        assert!(
            ["go", "at_risk", "no_go"].contains(&r["verdict"].as_str().unwrap()),
            "{r}"
        );
    }
    assert_eq!(
        at(&["go-no-go", "--db", db, "--days", "40"]).status.code(),
        Some(2)
    );
}

mod risk {
    //! `relcal risk`: scores with reasons, from a plan (the model's weights)
    //! or a database (the team's).
    use super::*;

    #[test]
    fn scores_are_listed_highest_first_with_their_reasons() {
        let out = relcal(&[
            "risk",
            DEMO,
            "--from",
            "2026-11-25T00:00:00Z",
            "--format",
            "json",
        ]);
        assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
        let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        let rows = v["releases"].as_array().unwrap();
        let scores: Vec<u64> = rows.iter().map(|r| r["score"].as_u64().unwrap()).collect();
        assert!(scores.windows(2).all(|w| w[0] >= w[1]), "{scores:?}");
        let checkout = rows.iter().find(|r| r["id"] == "checkout-2.0").unwrap();
        assert_eq!(checkout["level"], "high", "{checkout}");
        let codes: Vec<&str> = checkout["factors"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| f["code"].as_str().unwrap())
            .collect();
        assert!(
            codes.contains(&"production") && codes.contains(&"owner_double_booked"),
            "{codes:?}"
        );
        assert_eq!(v["weights"]["production"], 20);
        let one = relcal(&["risk", DEMO, "--release", "checkout-2.0"]);
        assert_eq!(one.status.code(), Some(0));
        assert!(
            text(&one.stdout).contains("+20  production environment (Production)"),
            "{}",
            text(&one.stdout)
        );
        let missing = relcal(&["risk", DEMO, "--release", "nope"]);
        assert_eq!(missing.status.code(), Some(2));
        assert!(text(&missing.stderr).contains("--release: release \"nope\" does not exist"));
    }

    #[test]
    fn a_database_scores_with_the_teams_weights() {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("cal.db");
        import(DEMO, db.to_str().unwrap());
        // The weights as Settings ▸ Risk saves them.
        let mut weights: serde_json::Value = serde_json::json!({
            "production": 0, "services": 0, "dependents": 0, "freeze_nearby": 0, "readiness": 0,
            "approvals": 0, "rollback": 0, "recent_rollbacks": 0, "out_of_hours": 0, "owner_double_booked": 7
        });
        let conn = rusqlite::Connection::open(&db).unwrap();
        conn.execute(
            "INSERT INTO app_settings (key, value) VALUES ('risk_weights', ?1)",
            [weights.to_string()],
        )
        .unwrap();
        drop(conn);
        let out = relcal(&[
            "risk",
            "--db",
            db.to_str().unwrap(),
            "--release",
            "checkout-2.0",
            "--format",
            "json",
        ]);
        assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
        let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(v["releases"][0]["score"], 7, "{v}");
        weights["owner_double_booked"] = serde_json::json!(7);
        assert_eq!(v["weights"], weights);
    }
}

mod agenda {
    //! `relcal agenda`: the CAB agenda as Markdown or JSON.
    use super::*;

    /// `relcal agenda` with the clock set: what a conflict says depends on "now".
    fn at_now(args: &[&str]) -> std::process::Output {
        std::process::Command::new(env!("CARGO_BIN_EXE_relcal"))
            .args(args)
            .env("RELCAL_NOW", "2026-11-30T00:00:00Z")
            .output()
            .unwrap()
    }

    fn agenda(extra: &[&str]) -> std::process::Output {
        at_now(
            &[
                &[
                    "agenda",
                    DEMO,
                    "--from",
                    "2026-11-30T00:00:00Z",
                    "--to",
                    "2026-12-31T00:00:00Z",
                ][..],
                extra,
            ]
            .concat(),
        )
    }

    #[test]
    fn releases_awaiting_a_decision_by_environment_and_risk_with_the_decision_asked() {
        let out = agenda(&["--format", "json"]);
        assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
        let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        let groups = v["groups"].as_array().unwrap();
        assert_eq!(groups[0]["environment"], "prod");
        let items = groups[0]["items"].as_array().unwrap();
        let ids: Vec<&str> = items.iter().map(|i| i["id"].as_str().unwrap()).collect();
        // Highest risk first; the ledger hotfix is in progress: no decision to take.
        assert_eq!(ids, ["checkout-2.0", "ingress-xmas", "auth-5.2"], "{v}");
        let scores: Vec<u64> = items
            .iter()
            .map(|i| i["risk"]["score"].as_u64().unwrap())
            .collect();
        assert!(scores.windows(2).all(|w| w[0] >= w[1]));
        let ingress = &items[1];
        assert_eq!(
            ingress["decision"],
            "grant an exception to Holiday freeze or move it; approve (0 of 2)"
        );
        // The next free slot is after the holidays.
        assert_eq!(ingress["next_slot"], "2027-01-04T05:00:00Z");
        assert_eq!(items[0]["rollback"], "none");
        assert_eq!(items[0]["approvals_needed"], 2);
        assert_eq!(v["total"], 3);
    }

    #[test]
    fn the_markdown_pastes_into_a_meeting_document() {
        let out = agenda(&[]);
        assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
        let md = text(&out.stdout);
        assert!(
            md.starts_with("# CAB agenda: 2026-11-30 to 2026-12-31\n\n3 releases need a decision."),
            "{md}"
        );
        assert!(md.contains("\n## Production (3)\n"), "{md}");
        assert!(md.contains("\n### 1. checkout 2.0 (risk 75, high)\n\n- **Decision:** approve (0 of 2); resolve 2 blocking conflicts\n"), "{md}");
        assert!(
            md.contains("- **Next free slot:** 2027-01-04T05:00:00Z\n"),
            "{md}"
        );
        assert!(
            md.contains("  - error `freeze.hard`: ingress TLS update overlaps Holiday freeze"),
            "{md}"
        );
        // Every line is a heading, a list item, a sentence or blank: nothing a pasted document mangles.
        for line in md.lines() {
            assert!(
                !line.starts_with(' ') || line.starts_with("  - "),
                "{line:?}"
            );
        }
    }

    #[test]
    fn a_bad_range_exits_2_naming_the_flag() {
        let out = relcal(&[
            "agenda",
            DEMO,
            "--from",
            "2026-12-31T00:00:00Z",
            "--to",
            "2026-11-30T00:00:00Z",
        ]);
        assert_eq!(out.status.code(), Some(2));
        assert!(text(&out.stderr).contains("--to must be after --from"));
        let out = relcal(&[
            "agenda",
            DEMO,
            "--from",
            "2026-01-01T00:00:00Z",
            "--to",
            "2027-01-01T00:00:00Z",
        ]);
        assert_eq!(out.status.code(), Some(2));
        assert!(text(&out.stderr).contains("at most 92 days"));
        let out = at_now(&["agenda", DEMO, "--from", "soon"]);
        assert_eq!(out.status.code(), Some(2));
        assert!(text(&out.stderr).contains("--from"));
    }
}

mod metrics {
    //! `relcal metrics`: the contract's JSON, and lead time from the audit trail with --db.
    use super::*;

    const PLAN: &str = r#"{"version": 1, "timezone": "UTC",
        "teams": [{"id": "t", "name": "T"}, {"id": "u", "name": "U"}],
        "services": [{"id": "api", "team": "t"}, {"id": "web", "team": "u"}],
        "environments": [{"id": "stg", "name": "Staging"}, {"id": "prod", "name": "Production", "production": true}],
        "freezes": [],
        "releases": [
          {"id": "a", "title": "a", "team": "t", "services": ["api"], "environment": "prod", "start": "2027-01-05T09:00:00Z", "end": "2027-01-05T10:00:00Z", "status": "done"},
          {"id": "b", "title": "b", "team": "t", "services": ["api"], "environment": "prod", "start": "2027-01-06T09:00:00Z", "end": "2027-01-06T10:00:00Z", "status": "rolled_back"},
          {"id": "c", "title": "c", "team": "t", "services": ["api"], "environment": "prod", "start": "2027-01-06T15:00:00Z", "end": "2027-01-06T16:00:00Z", "status": "planned"},
          {"id": "d", "title": "d", "team": "u", "services": ["web"], "environment": "prod", "start": "2027-01-20T09:00:00Z", "end": "2027-01-20T10:00:00Z", "status": "done"}
        ]}"#;

    fn at_now(now: &str, args: &[&str]) -> std::process::Output {
        std::process::Command::new(env!("CARGO_BIN_EXE_relcal"))
            .args(args)
            .env("RELCAL_NOW", now)
            .output()
            .unwrap()
    }

    #[test]
    fn the_contract_json_and_lead_time_from_when_releases_entered_the_calendar() {
        let dir = tempfile::tempdir().unwrap();
        let plan = write(dir.path(), "plan.json", PLAN);
        let db = dir.path().join("cal.db");
        let (plan, db) = (plan.to_str().unwrap(), db.to_str().unwrap());
        // The calendar enters the database on 2 Jan; c is marked done later.
        assert_eq!(
            at_now("2027-01-02T00:00:00Z", &["import", plan, "--db", db])
                .status
                .code(),
            Some(0)
        );
        assert_eq!(
            at_now(
                "2027-01-06T16:00:00Z",
                &["release", "status", "c", "done", "--db", db]
            )
            .status
            .code(),
            Some(0)
        );
        let period = [
            "--from",
            "2027-01-01T00:00:00Z",
            "--to",
            "2027-01-29T00:00:00Z",
            "--format",
            "json",
        ];
        let out = relcal(&[&["metrics", "--db", db][..], &period].concat());
        assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
        let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(v["from"], "2027-01-01T00:00:00Z");
        assert_eq!(v["to"], "2027-01-29T00:00:00Z");
        assert_eq!(v["deployments"], 4);
        assert_eq!(v["deployment_frequency_per_week"], 1.0);
        assert_eq!(v["change_failure_rate"], 0.25);
        assert_eq!(v["time_to_restore_median_hours"], 6.0);
        // From 2 Jan 00:00 to the ends of a (82 h), c (112 h) and d (442 h).
        assert_eq!(v["lead_time_median_hours"], 112.0, "{v}");
        // From a plan file, lead time is unknown; the rest is the same.
        let file = relcal(&[&["metrics", plan][..], &period].concat());
        let f: serde_json::Value = serde_json::from_slice(&file.stdout).unwrap();
        assert_eq!(f["lead_time_median_hours"], serde_json::Value::Null);
        assert_eq!(f["deployments"], 3, "c is only planned in the file: {f}");
        // Per team and environment.
        let team = relcal(&[&["metrics", "--db", db, "--team", "u"][..], &period].concat());
        let t: serde_json::Value = serde_json::from_slice(&team.stdout).unwrap();
        assert_eq!(
            (t["deployments"].as_u64(), t["change_failure_rate"].as_f64()),
            (Some(1), Some(0.0))
        );
        let text_out = relcal(&[&["metrics", "--db", db][..], &period[..4]].concat());
        assert!(
            text(&text_out.stdout).contains("change failure rate    25.0% (1 rolled back)"),
            "{}",
            text(&text_out.stdout)
        );
    }

    #[test]
    fn approvals_rollbacks_and_moves_from_the_audit_trail_after_real_cli_changes() {
        let dir = tempfile::tempdir().unwrap();
        // Production needs two approvals; e is approved on 3 and 4 Jan, goes
        // in progress, and is rolled back; f is moved twice.
        let plan = PLAN
            .replace(r#""production": true}"#, r#""production": true, "required_approvals": 2}"#)
            .replace(
                r#"{"id": "d","#,
                r#"{"id": "e", "title": "e", "team": "t", "services": ["api"], "environment": "prod", "start": "2027-01-08T09:00:00Z", "end": "2027-01-08T10:00:00Z", "status": "planned", "owner": "sam",
                    "approvals": [{"by": "li", "at": "2027-01-03T12:00:00Z"}, {"by": "li", "at": "2027-01-03T13:00:00Z"}, {"by": "ana", "at": "2027-01-04T00:00:00Z"}]},
                   {"id": "f", "title": "f", "team": "t", "services": ["web"], "environment": "prod", "start": "2027-01-10T09:00:00Z", "end": "2027-01-10T10:00:00Z", "status": "planned"},
                   {"id": "d","#,
            );
        let plan = write(dir.path(), "plan.json", &plan);
        let db = dir.path().join("cal.db");
        let (plan, db) = (plan.to_str().unwrap(), db.to_str().unwrap());
        let ok = |now: &str, args: &[&str]| {
            let out = at_now(now, args);
            assert_eq!(
                out.status.code(),
                Some(0),
                "{args:?}: {}",
                text(&out.stderr)
            );
        };
        ok("2027-01-02T00:00:00Z", &["import", plan, "--db", db]);
        ok(
            "2027-01-08T09:00:00Z",
            &["release", "status", "e", "in_progress", "--db", db],
        );
        ok(
            "2027-01-08T09:45:00Z",
            &["release", "status", "e", "rolled_back", "--db", db],
        );
        ok(
            "2027-01-05T00:00:00Z",
            &[
                "release",
                "move",
                "f",
                "--start",
                "2027-01-10T12:00:00Z",
                "--end",
                "2027-01-10T13:00:00Z",
                "--db",
                db,
            ],
        );
        ok(
            "2027-01-06T00:00:00Z",
            &[
                "release",
                "move",
                "f",
                "--start",
                "2027-01-11T00:00:00Z",
                "--end",
                "2027-01-11T01:00:00Z",
                "--db",
                db,
            ],
        );
        ok(
            "2027-01-11T01:00:00Z",
            &["release", "status", "f", "done", "--db", db],
        );
        let out = relcal(&[
            "metrics",
            "--db",
            db,
            "--from",
            "2027-01-01T00:00:00Z",
            "--to",
            "2027-01-29T00:00:00Z",
            "--format",
            "json",
        ]);
        let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        // e met its two approvals at ana's, 4 Jan 00:00: 48 h after 2 Jan (li counts once).
        // a, b and d have no approvals: they never met the rule and are left out.
        assert_eq!(v["approval_lead_time_median_hours"], 48.0, "{v}");
        // In progress at 09:00, rolled back at 09:45.
        assert_eq!(v["start_to_rollback_median_hours"], 0.75, "{v}");
        // f moved by 3 h, then by 12 h.
        assert_eq!(
            (v["moved_releases"].as_u64(), v["moves"].as_u64()),
            (Some(1), Some(2)),
            "{v}"
        );
        assert_eq!(v["move_median_hours"], 7.5, "{v}");
        // No freeze in this calendar: no delay from freezes.
        assert_eq!(v["freeze_delay"]["releases"], 0, "{v}");
        // From a plan file, none of these is known.
        let file = relcal(&[
            "metrics",
            plan,
            "--from",
            "2027-01-01T00:00:00Z",
            "--to",
            "2027-01-29T00:00:00Z",
            "--format",
            "json",
        ]);
        let f: serde_json::Value = serde_json::from_slice(&file.stdout).unwrap();
        assert_eq!(
            f["approval_lead_time_median_hours"],
            serde_json::Value::Null
        );
        assert_eq!(f["moves"], 0);
    }

    #[test]
    fn a_release_moved_out_of_a_freeze_counts_the_delay_from_the_start_it_had() {
        let dir = tempfile::tempdir().unwrap();
        let plan = PLAN.replace(
            r#""freezes": [],"#,
            r#""freezes": [{"id": "x", "name": "X", "severity": "hard", "start": "2027-01-10T00:00:00Z", "end": "2027-01-10T23:00:00Z"}],"#,
        ).replace(
            r#"{"id": "d","#,
            r#"{"id": "f", "title": "f", "team": "t", "services": ["web"], "environment": "prod", "start": "2027-01-10T09:00:00Z", "end": "2027-01-10T10:00:00Z", "status": "planned"},
               {"id": "d","#,
        );
        let plan = write(dir.path(), "plan.json", &plan);
        let db = dir.path().join("cal.db");
        let (plan, db) = (plan.to_str().unwrap(), db.to_str().unwrap());
        let ok = |now: &str, args: &[&str]| {
            let out = at_now(now, args);
            assert_eq!(
                out.status.code(),
                Some(0),
                "{args:?}: {}",
                text(&out.stderr)
            );
        };
        ok("2027-01-02T00:00:00Z", &["import", plan, "--db", db]);
        // Still in the freeze, then out of it: 15 hours from 09:00 on the 10th.
        ok(
            "2027-01-05T00:00:00Z",
            &[
                "release",
                "move",
                "f",
                "--start",
                "2027-01-10T12:00:00Z",
                "--end",
                "2027-01-10T13:00:00Z",
                "--db",
                db,
            ],
        );
        ok(
            "2027-01-06T00:00:00Z",
            &[
                "release",
                "move",
                "f",
                "--start",
                "2027-01-11T00:00:00Z",
                "--end",
                "2027-01-11T01:00:00Z",
                "--db",
                db,
            ],
        );
        ok(
            "2027-01-11T01:00:00Z",
            &["release", "status", "f", "done", "--db", db],
        );
        let out = relcal(&[
            "metrics",
            "--db",
            db,
            "--from",
            "2027-01-01T00:00:00Z",
            "--to",
            "2027-01-29T00:00:00Z",
            "--format",
            "json",
        ]);
        let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(
            v["freeze_delay"],
            serde_json::json!({"releases": 1, "median_hours": 15.0, "total_hours": 15.0}),
            "{v}"
        );
        // X starts on the 10th: a (5th) and b, c (6th) ended more than 48 hours before it.
        assert_eq!(v["deploy_rush"]["freeze_starts"], 1);
        assert_eq!(v["deploy_rush"]["deployments"], 0);
        // f ended on the 11th, in the week after X ended: done, so no failure there.
        assert_eq!(v["after_freeze"]["deployments"], 1);
        assert_eq!(v["after_freeze"]["change_failure_rate"], 0.0);
    }

    #[test]
    fn bad_input_exits_2_naming_the_flag() {
        for (args, flag) in [
            (&["metrics", DEMO, "--env", "qa"][..], "--env"),
            (&["metrics", DEMO, "--team", "nobody"][..], "--team"),
            (
                &[
                    "metrics",
                    DEMO,
                    "--from",
                    "2027-02-01T00:00:00Z",
                    "--to",
                    "2027-01-01T00:00:00Z",
                ][..],
                "--to",
            ),
            (&["metrics", DEMO, "--from", "yesterday"][..], "--from"),
        ] {
            let out = relcal(args);
            assert_eq!(out.status.code(), Some(2), "{args:?}");
            assert!(
                text(&out.stderr).contains(flag),
                "{args:?}: {}",
                text(&out.stderr)
            );
        }
    }
}

mod exception {
    //! `relcal exception`: the approver grants, the requester is named, with an expiry.
    use super::*;

    fn at_now(now: &str, args: &[&str]) -> std::process::Output {
        std::process::Command::new(env!("CARGO_BIN_EXE_relcal"))
            .args(args)
            .env("RELCAL_NOW", now)
            .output()
            .unwrap()
    }

    #[test]
    fn an_approver_grants_what_another_asked_for_until_it_expires() {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("cal.db");
        let db = db.to_str().unwrap();
        import(DEMO, db);
        let now = "2026-12-01T00:00:00Z";
        let grant = |by: &str, asked: &str, expires: &str| {
            at_now(
                now,
                &[
                    "exception",
                    "ingress-xmas",
                    "--freeze",
                    "holidays",
                    "--reason",
                    "certificate expires",
                    "--requested-by",
                    asked,
                    "--expires",
                    expires,
                    "--db",
                    db,
                    "--by",
                    by,
                ],
            )
        };
        // One person cannot both ask and approve; the owner (kai) cannot approve.
        let same = grant("li", "li", "2026-12-22T09:30:00Z");
        assert_eq!(same.status.code(), Some(2));
        assert!(
            text(&same.stderr).contains("li asked for the exception and cannot also approve it"),
            "{}",
            text(&same.stderr)
        );
        let owner = grant("kai", "ana", "2026-12-22T09:30:00Z");
        assert_eq!(owner.status.code(), Some(2));
        assert!(
            text(&owner.stderr).contains("kai runs this release"),
            "{}",
            text(&owner.stderr)
        );
        let past = grant("li", "kai", "2026-11-01T00:00:00Z");
        assert_eq!(past.status.code(), Some(2));
        assert!(
            text(&past.stderr).contains("overrides.expires"),
            "{}",
            text(&past.stderr)
        );
        let ok = grant("li", "kai", "2026-12-22T09:30:00Z");
        assert_eq!(ok.status.code(), Some(0), "{}", text(&ok.stderr));
        let plan: serde_json::Value =
            serde_json::from_slice(&relcal(&["export", "--db", db]).stdout).unwrap();
        let r = plan["releases"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["id"] == "ingress-xmas")
            .unwrap();
        assert_eq!(
            r["overrides"],
            serde_json::json!([{"freeze": "holidays", "reason": "certificate expires", "by": "li",
                                "requested_by": "kai", "expires": "2026-12-22T09:30:00Z"}])
        );
        // The release runs past the expiry (until 10:00), so the freeze applies again.
        let check = at_now(now, &["check", "--db", db, "--format", "json"]);
        let v: serde_json::Value = serde_json::from_slice(&check.stdout).unwrap();
        let codes: Vec<&str> = v["conflicts"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|c| c["releases"] == serde_json::json!(["ingress-xmas"]))
            .map(|c| c["code"].as_str().unwrap())
            .collect();
        assert!(codes.contains(&"freeze.hard"), "{codes:?}");
        // A second exception to the same freeze is refused; the audit trail names the approver.
        assert_eq!(
            grant("ana", "kai", "2026-12-22T10:00:00Z").status.code(),
            Some(2)
        );
        let log = relcal(&[
            "audit",
            "log",
            "--db",
            db,
            "--release",
            "ingress-xmas",
            "--format",
            "json",
        ]);
        assert!(
            text(&log.stdout).contains("release.override") && text(&log.stdout).contains("\"li\""),
            "{}",
            text(&log.stdout)
        );
    }

    #[test]
    fn one_person_asks_and_another_approves_later_or_declines() {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("cal.db");
        let db = db.to_str().unwrap();
        import(DEMO, db);
        let now = "2026-12-01T00:00:00Z";
        let run = |by: &str, args: &[&str]| {
            let mut all = vec!["exceptions"];
            all.extend_from_slice(args);
            all.extend_from_slice(&["--db", db, "--by", by]);
            at_now(now, &all)
        };
        // Ana asks (kai owns the release); the answer is the request.
        let asked = run(
            "ana",
            &[
                "ask",
                "ingress-xmas",
                "--freeze",
                "holidays",
                "--reason",
                "certificate expires",
                "--expires",
                "2026-12-22T09:30:00Z",
                "--format",
                "json",
            ],
        );
        assert_eq!(asked.status.code(), Some(0), "{}", text(&asked.stderr));
        let request: serde_json::Value = serde_json::from_slice(&asked.stdout).unwrap();
        let id = request["id"].as_str().unwrap().to_owned();
        assert_eq!(request["requested_by"], "ana");
        assert_eq!(request["requested_at"], now);
        assert_eq!(request["state"], "pending");
        // Asking again for the same exception is refused, naming who asked.
        let again = run(
            "omar",
            &[
                "ask",
                "ingress-xmas",
                "--freeze",
                "holidays",
                "--reason",
                "again",
            ],
        );
        assert_eq!(again.status.code(), Some(2));
        assert!(
            text(&again.stderr).contains("ana already asked"),
            "{}",
            text(&again.stderr)
        );
        // Nothing is granted yet: the freeze still holds.
        let plan: serde_json::Value =
            serde_json::from_slice(&relcal(&["export", "--db", db]).stdout).unwrap();
        let xmas = |plan: &serde_json::Value| {
            plan["releases"]
                .as_array()
                .unwrap()
                .iter()
                .find(|r| r["id"] == "ingress-xmas")
                .unwrap()
                .clone()
        };
        assert!(xmas(&plan).get("overrides").is_none());
        let listed = at_now(now, &["exceptions", "list", "--db", db]);
        assert!(
            text(&listed.stdout).contains(&id),
            "{}",
            text(&listed.stdout)
        );

        // Omar declines it, saying why; ana asks again, and that one waits.
        let declined = run(
            "omar",
            &["decline", &id, "--note", "use the spare certificate"],
        );
        assert_eq!(
            declined.status.code(),
            Some(0),
            "{}",
            text(&declined.stderr)
        );
        assert!(
            text(&declined.stdout).contains("declined by omar"),
            "{}",
            text(&declined.stdout)
        );
        let all = at_now(
            now,
            &[
                "exceptions",
                "list",
                "--all",
                "--db",
                db,
                "--format",
                "json",
            ],
        );
        let all: serde_json::Value = serde_json::from_slice(&all.stdout).unwrap();
        assert_eq!(all[0]["note"], "use the spare certificate");
        let asked = run(
            "ana",
            &[
                "ask",
                "ingress-xmas",
                "--freeze",
                "holidays",
                "--reason",
                "certificate expires",
                "--expires",
                "2026-12-22T09:30:00Z",
                "--format",
                "json",
            ],
        );
        assert_eq!(asked.status.code(), Some(0), "{}", text(&asked.stderr));
        let id = serde_json::from_slice::<serde_json::Value>(&asked.stdout).unwrap()["id"]
            .as_str()
            .unwrap()
            .to_owned();
        // Who asked cannot approve; nor can the owner; nor may anyone else withdraw it.
        for (by, args, said) in [
            (
                "ana",
                &["approve", id.as_str()][..],
                "ana asked for the exception",
            ),
            (
                "kai",
                &["approve", id.as_str()][..],
                "kai runs this release",
            ),
            (
                "li",
                &["withdraw", id.as_str()][..],
                "only ana who asked may withdraw it",
            ),
            ("ana", &["decline", id.as_str()][..], "withdraw it instead"),
        ] {
            let out = run(by, args);
            assert_eq!(out.status.code(), Some(2), "{by} {args:?}");
            assert!(
                text(&out.stderr).contains(said),
                "{by} {args:?}: {}",
                text(&out.stderr)
            );
        }
        // Li approves: the exception is the request's, approved by li.
        let ok = run("li", &["approve", &id]);
        assert_eq!(ok.status.code(), Some(0), "{}", text(&ok.stderr));
        let plan: serde_json::Value =
            serde_json::from_slice(&relcal(&["export", "--db", db]).stdout).unwrap();
        assert_eq!(
            xmas(&plan)["overrides"],
            serde_json::json!([{"freeze": "holidays", "reason": "certificate expires", "by": "li",
                                "requested_by": "ana", "expires": "2026-12-22T09:30:00Z"}])
        );
        let all = at_now(
            now,
            &[
                "exceptions",
                "list",
                "--all",
                "--db",
                db,
                "--format",
                "json",
            ],
        );
        let all: serde_json::Value = serde_json::from_slice(&all.stdout).unwrap();
        let this = all
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["id"] == id.as_str())
            .unwrap();
        assert_eq!(this["state"], "approved");
        assert_eq!(this["decided_by"], "li");
        // Decided once: a later decision is refused, and nothing waits any more.
        let late = run("omar", &["decline", &id, "--note", "too late"]);
        assert_eq!(late.status.code(), Some(2));
        assert!(
            text(&late.stderr).contains("already approved (by li)"),
            "{}",
            text(&late.stderr)
        );
        let waiting = at_now(now, &["exceptions", "list", "--db", db]);
        assert!(
            text(&waiting.stdout).contains("no exception requests wait"),
            "{}",
            text(&waiting.stdout)
        );

        // A request for a freeze that does not apply is refused, naming the field.
        let wrong = run(
            "ana",
            &[
                "ask",
                "checkout-2.0",
                "--freeze",
                "month-close",
                "--reason",
                "x",
            ],
        );
        assert_eq!(wrong.status.code(), Some(2));
        assert!(
            text(&wrong.stderr).contains("overrides.freeze"),
            "{}",
            text(&wrong.stderr)
        );
        let log = relcal(&["audit", "log", "--db", db, "--format", "json"]);
        for action in [
            "exception_request.asked",
            "exception_request.declined",
            "exception_request.approved",
        ] {
            assert!(text(&log.stdout).contains(action), "{action}");
        }
    }
}
