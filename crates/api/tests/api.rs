//! Use cases against real SQLite files.

#![allow(
    clippy::unwrap_used,
    reason = "a test should panic loudly on a broken assumption"
)]

mod common;
use relcal_api::*;

use relcal_testkit::at;

#[test]
fn a_new_calendar_gets_the_demo_moved_to_the_coming_days() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("deep/folder/relcal.db");
    // A Wednesday: this week's Monday is past, so the demo starts next Monday.
    let now = at("2027-02-10T09:00:00Z");
    let store = open_calendar(Some(&path), now).unwrap();
    let view = calendar_view(
        &store,
        at("2027-02-15T00:00:00Z"),
        at("2027-02-22T00:00:00Z"),
    )
    .unwrap();
    let titles: Vec<&str> = view.releases.iter().map(|r| r.title.as_str()).collect();
    // The earliest demo release (Monday 30 Nov 2026, ledger hotfix) lands on Monday 15 Feb 2027.
    assert!(titles.contains(&"ledger rounding hotfix"), "{titles:?}");
    assert_eq!(view.teams.len(), 3);
    // The weekly soft freeze on Fridays 12:00 Berlin shows on 19 Feb (11:00Z in winter).
    assert!(
        view.freezes
            .iter()
            .any(|f| f.freeze_id == "no-friday" && f.start == "2027-02-19T11:00:00Z"),
        "{:?}",
        view.freezes
    );
    // Opening again does not seed twice or move anything.
    drop(store);
    let mut store = open_calendar(Some(&path), at("2027-06-01T00:00:00Z")).unwrap();
    assert!(!seed_demo_if_new(&mut store, now).unwrap());
    let again = calendar_view(
        &store,
        at("2027-02-15T00:00:00Z"),
        at("2027-02-22T00:00:00Z"),
    )
    .unwrap();
    assert_eq!(again, view);
}

/// The demo is seeded so that the go/no-go view of the next seven days shows
/// its first planned releases, whatever the weekday and hour: every half hour
/// of one week (Monday 30 Nov 2026 to Sunday 6 Dec), and the same week a year on.
#[test]
fn the_demo_is_upcoming_on_every_day_and_hour_of_a_week() {
    let dir = tempfile::tempdir().unwrap();
    for base in ["2026-11-30T00:00:00Z", "2027-11-29T00:00:00Z"] {
        for step in 0..(7 * 48) {
            let now = at(base) + chrono::Duration::minutes(30 * step);
            let path = dir.path().join(format!("seed-{}.db", now.timestamp()));
            let store = open_calendar(Some(&path), now).unwrap();
            let view = go_no_go(&store, now, 7).unwrap();
            let upcoming: Vec<&str> = view
                .rows
                .iter()
                .filter(|r| at(&r.start) >= now)
                .map(|r| r.title.as_str())
                .collect();
            assert!(
                upcoming.contains(&"checkout 2.0"),
                "seeded at {now}: the next seven days show {upcoming:?}"
            );
            drop(store);
            std::fs::remove_file(&path).unwrap();
        }
    }
}

#[test]
fn invalid_import_writes_nothing() {
    let (_dir, mut store) = common::calendar_of(DEMO_PLAN);
    let before = export_plan_json(&store).unwrap();
    let bad = DEMO_PLAN.replace("\"Europe/Berlin\"", "\"Europe/Berlyn\"");
    let err = import_plan_text(&mut store, &bad).unwrap_err();
    assert_eq!(err.code, ErrorCode::Validation);
    assert!(
        err.message
            .contains("teams[0] (id \"payments\"): field `timezone`"),
        "{}",
        err.message
    );
    assert_eq!(export_plan_json(&store).unwrap(), before);
}

#[test]
fn export_of_an_empty_database_is_not_found() {
    let dir = tempfile::tempdir().unwrap();
    let store = open_store(&dir.path().join("a.db")).unwrap();
    assert_eq!(
        export_plan_json(&store).unwrap_err().code,
        ErrorCode::NotFound
    );
}

#[test]
fn view_ranges_are_checked() {
    let dir = tempfile::tempdir().unwrap();
    let store = open_store(&dir.path().join("a.db")).unwrap();
    let e = calendar_view(
        &store,
        at("2027-01-02T00:00:00Z"),
        at("2027-01-01T00:00:00Z"),
    )
    .unwrap_err();
    assert_eq!(e.code, ErrorCode::Validation);
    let e = calendar_view(
        &store,
        at("2020-01-01T00:00:00Z"),
        at("2027-01-01T00:00:00Z"),
    )
    .unwrap_err();
    assert!(e.message.contains("at most"));
}

#[test]
fn the_conflicts_view_names_teams_and_environments_for_filters() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = open_store(&dir.path().join("a.db")).unwrap();
    assert!(conflicts_view(&store, at("2026-11-30T12:00:00Z"))
        .unwrap()
        .items
        .is_empty());
    import_plan_text(&mut store, DEMO_PLAN).unwrap();
    let view = conflicts_view(&store, at("2026-11-30T12:00:00Z")).unwrap();
    assert_eq!(view.summary.errors, 4);
    let order = view
        .items
        .iter()
        .find(|i| i.conflict.code == "dependency.order")
        .unwrap();
    assert_eq!(order.teams, ["identity", "payments"]);
    assert_eq!(order.environments, ["prod"]);
    assert_eq!(view.checked_at, "2026-11-30T12:00:00Z");
}

#[test]
fn release_detail_links_dependencies_both_ways_and_lists_its_conflicts() {
    let (_dir, store) = common::calendar_of(DEMO_PLAN);
    let d = release_detail(&store, "checkout-2.0", at("2026-11-30T12:00:00Z")).unwrap();
    assert_eq!(
        (
            d.team_name.as_str(),
            d.environment_name.as_str(),
            d.production
        ),
        ("Payments", "Production", true)
    );
    assert_eq!(
        d.depends_on[0].title.as_deref(),
        Some("auth 5.2 token rotation")
    );
    assert_eq!(d.required_approvals, 2);
    assert!(d.rollback.is_none());
    let codes: Vec<&str> = d.conflicts.iter().map(|c| c.code.as_str()).collect();
    assert_eq!(
        codes,
        [
            "dependency.order",
            "owner.double_booked",
            "readiness.rollback",
            "window.outside_allowed"
        ]
    );
    let auth = release_detail(&store, "auth-5.2", at("2026-11-30T12:00:00Z")).unwrap();
    assert_eq!(auth.dependents[0].id, "checkout-2.0");
    let hotfix = release_detail(&store, "ledger-hotfix", at("2026-11-30T12:00:00Z")).unwrap();
    assert_eq!(hotfix.overrides[0].freeze_name, "Finance month-end close");
    assert_eq!(
        release_detail(&store, "nope", at("2026-11-30T12:00:00Z"))
            .unwrap_err()
            .code,
        ErrorCode::NotFound
    );
}

#[test]
fn saving_a_release_creates_or_updates_and_keeps_what_the_form_does_not_edit() {
    let (_dir, mut store) = common::calendar_of(DEMO_PLAN);
    let now = at("2026-11-30T12:00:00Z");

    // Edit: move checkout after auth and add an owner; its checklist stays.
    let mut input = release_input(&store, "checkout-2.0").unwrap();
    assert_eq!(input.start, "2026-12-01T15:00:00Z");
    input.start = "2026-12-01T16:00:00Z".into();
    input.end = "2026-12-01T18:00:00Z".into();
    input.owner = Some("sam".into());
    let change = save_release(&mut store, input, now).unwrap();
    assert!(change.resolved.iter().any(|c| c.code == "dependency.order"));
    assert!(!own(&change).iter().any(|c| c.code == "dependency.order"));
    let d = release_detail(&store, "checkout-2.0", now).unwrap();
    assert_eq!((d.owner.as_deref(), d.checklist.len()), (Some("sam"), 1));

    // Create: a new release lands in the calendar and is checked.
    let new = ReleaseInput {
        id: "ledger-3.5".into(),
        title: "ledger 3.5".into(),
        team: "payments".into(),
        services: vec!["ledger".into()],
        environment: "prod".into(),
        start: "2026-12-22T10:00:00Z".into(),
        end: "2026-12-22T11:00:00Z".into(),
        status: "planned".into(),
        owner: None,
        depends_on: vec![],
        version: Some("3.5.0".into()),
    };
    let change = save_release(&mut store, new.clone(), now).unwrap();
    let codes: Vec<&str> = own(&change).iter().map(|c| c.code.as_str()).collect();
    assert!(
        codes.contains(&"freeze.hard") && codes.contains(&"readiness.rollback"),
        "{codes:?}"
    );
    assert_eq!(catalog(&store).unwrap().releases.len(), 5);

    // Invalid: the error names the release and the field, and nothing is written.
    let before = export_plan_json(&store).unwrap();
    let bad = ReleaseInput {
        id: "x".into(),
        team: "growth".into(),
        ..new.clone()
    };
    let err = save_release(&mut store, bad, now).unwrap_err();
    assert_eq!(err.code, ErrorCode::Validation);
    assert!(
        err.message
            .contains("new release (id \"x\"): field `team`: unknown team \"growth\""),
        "{}",
        err.message
    );
    let bad = ReleaseInput {
        end: "2026-12-22T09:00:00Z".into(),
        ..new
    };
    assert!(save_release(&mut store, bad, now)
        .unwrap_err()
        .message
        .contains("releases[4] (id \"ledger-3.5\"): field `end`"));
    assert_eq!(export_plan_json(&store).unwrap(), before);
}

#[test]
fn a_demo_seeded_late_in_the_week_is_upcoming_not_past() {
    let dir = tempfile::tempdir().unwrap();
    // A Sunday: the week of now is over, so the demo starts next week.
    let now = at("2026-11-29T20:00:00Z");
    let store = open_calendar(Some(&dir.path().join("sunday.db")), now).unwrap();
    let plan: serde_json::Value =
        serde_json::from_str(&relcal_api::export_plan_json(&store).unwrap()).unwrap();
    let mut starts: Vec<&str> = plan["releases"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["start"].as_str().unwrap())
        .collect();
    starts.sort_unstable();
    assert_eq!(starts[0], "2026-11-30T10:00:00Z", "{starts:?}");
}

/// A release change's conflicts of the release, after the change.
fn own(change: &relcal_api::Change) -> &[relcal_api::ConflictReport] {
    change
        .release
        .as_ref()
        .map_or(&[], |r| r.conflicts.as_slice())
}

#[test]
fn an_import_is_told_what_it_adds_changes_and_removes_before_it_replaces_anything() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = open_store(&dir.path().join("relcal.db")).unwrap();
    let file = dir.path().join("next.json");
    std::fs::write(&file, DEMO_PLAN).unwrap();
    // Nothing here yet: every object is added.
    let (summary, changes) = inspect_plan_file_for(&store, &file).unwrap();
    assert_eq!(summary.releases, 4);
    assert_eq!(
        changes,
        ImportChanges {
            added: 16,
            changed: 0,
            removed: 0,
            removed_releases: 0
        }
    );
    import_plan_text(&mut store, DEMO_PLAN).unwrap();
    // The file: the first release left out, the second retitled, a freeze
    // left out, a team added.
    let mut next: serde_json::Value = serde_json::from_str(DEMO_PLAN).unwrap();
    next["releases"].as_array_mut().unwrap().remove(0);
    next["releases"][0]["title"] = serde_json::json!("Renamed");
    // A freeze no release names.
    let releases = next["releases"].to_string();
    let freezes = next["freezes"].as_array_mut().unwrap();
    let unused = freezes
        .iter()
        .position(|f| !releases.contains(&format!("\"{}\"", f["id"].as_str().unwrap())))
        .unwrap();
    freezes.remove(unused);
    next["teams"]
        .as_array_mut()
        .unwrap()
        .push(serde_json::json!({ "id": "new-team", "name": "New team" }));
    std::fs::write(&file, next.to_string()).unwrap();
    let (_, changes) = inspect_plan_file_for(&store, &file).unwrap();
    assert_eq!(
        changes,
        ImportChanges {
            added: 1,
            changed: 1,
            removed: 2,
            removed_releases: 1
        }
    );
    // Looking changed nothing.
    assert_eq!(stored_plan(&store).unwrap().releases.len(), 4);
}
