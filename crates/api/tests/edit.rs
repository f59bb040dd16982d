//! Editing teams, services, environments and freezes, deleting releases, and
//! undoing each change, against real SQLite files.

#![allow(
    clippy::unwrap_used,
    reason = "a test should panic loudly on a broken assumption"
)]

use relcal_api::*;

mod common;
use common::{demo, export, NOW};
use relcal_testkit::at;

fn weekly_freeze() -> FreezeInput {
    FreezeInput {
        id: "tue-maint".into(),
        name: "Tuesday maintenance".into(),
        severity: "hard".into(),
        timezone: Some("Europe/London".into()),
        start: "2026-12-01T14:00:00".into(),
        end: None,
        duration: Some("PT4H".into()),
        rrule: Some("FREQ=WEEKLY;BYDAY=TU;COUNT=3".into()),
        exdates: vec![],
        teams: vec![],
        services: vec![],
        environments: vec!["prod".into()],
        reason: Some("DB maintenance".into()),
    }
}

#[test]
fn a_new_recurring_freeze_is_previewed_in_words_and_flags_the_releases_it_hits() {
    let (_dir, store) = demo();
    let before = export(&store);
    let preview = preview_freeze(&store, &weekly_freeze(), at(NOW)).unwrap();
    assert_eq!(
        preview.description,
        "every Tuesday at 14:00 for 4 hours, 3 times (Europe/London)"
    );
    assert!(!preview.infinite);
    let starts: Vec<&str> = preview.next.iter().map(|p| p.start.as_str()).collect();
    assert_eq!(
        starts,
        [
            "2026-12-01T14:00:00Z",
            "2026-12-08T14:00:00Z",
            "2026-12-15T14:00:00Z"
        ]
    );
    // auth-5.2 (14:00-16:00Z) and checkout-2.0 (15:00-17:00Z) on 1 Dec, both in prod.
    let hit: Vec<&str> = preview
        .conflicts
        .iter()
        .flat_map(|c| c.releases.iter().map(String::as_str))
        .collect();
    assert_eq!(hit, ["auth-5.2", "checkout-2.0"]);
    assert!(preview.conflicts.iter().all(|c| c.code == "freeze.hard"));
    assert_eq!(export(&store), before, "a preview writes nothing");
}

#[test]
fn saving_a_freeze_reports_the_conflicts_it_adds_and_undo_removes_it() {
    let (_dir, mut store) = demo();
    let original = export(&store);
    let change = save_freeze(&mut store, weekly_freeze(), at(NOW)).unwrap();
    assert_eq!(change.action, ChangeAction::Created);
    assert_eq!(change.undo.before, None);
    assert_eq!(change.gained_total, 2);
    assert_eq!(change.after.errors, change.before.errors + 2);
    assert!(export(&store).contains("Tuesday maintenance"));

    let undone = restore_object(
        &mut store,
        ObjectKind::Freeze,
        "tue-maint",
        None,
        None,
        at(NOW),
    )
    .unwrap();
    assert_eq!(undone.action, ChangeAction::Deleted);
    assert_eq!(undone.resolved_total, 2);
    assert_eq!(export(&store), original);
}

#[test]
fn editing_a_freeze_keeps_what_the_form_does_not_show_and_undo_restores_it_exactly() {
    let (_dir, mut store) = demo();
    let original = export(&store);
    let mut input = freeze_input(&store, "no-friday").unwrap();
    assert_eq!(input.rrule.as_deref(), Some("FREQ=WEEKLY;BYDAY=FR"));
    assert_eq!(input.duration.as_deref(), Some("PT12H"));
    input.rrule = Some("FREQ=WEEKLY;BYDAY=TH,FR".into());
    input.exdates = vec!["2026-12-24T12:00:00".into()];
    input.severity = "hard".into();
    let change = save_freeze(&mut store, input, at(NOW)).unwrap();
    assert_eq!(change.action, ChangeAction::Updated);
    let saved = freeze_input(&store, "no-friday").unwrap();
    assert_eq!(saved.rrule.as_deref(), Some("FREQ=WEEKLY;BYDAY=TH,FR"));
    assert_eq!(saved.exdates, ["2026-12-24T12:00:00"]);
    restore_object(
        &mut store,
        ObjectKind::Freeze,
        "no-friday",
        change.undo.before.as_deref(),
        change.undo.position,
        at(NOW),
    )
    .unwrap();
    assert_eq!(export(&store), original);
}

#[test]
fn an_invalid_freeze_names_the_object_and_field_and_writes_nothing() {
    let (_dir, mut store) = demo();
    let original = export(&store);
    type Case = (fn(&mut FreezeInput), &'static str, &'static str);
    let cases: [Case; 6] = [
        (
            |f| f.rrule = Some("FREQ=FORTNIGHTLY".into()),
            "field `rrule`",
            "FORTNIGHTLY",
        ),
        (
            |f| f.duration = Some("4 hours".into()),
            "field `duration`",
            "",
        ),
        (
            |f| f.timezone = Some("Europe/Londn".into()),
            "field `timezone`",
            "Europe/Londn",
        ),
        (|f| f.severity = "medium".into(), "field `severity`", ""),
        (
            |f| f.environments = vec!["prd".into()],
            "field `scope.environments[0]`",
            "prd",
        ),
        (
            |f| {
                f.rrule = None;
                f.duration = None;
                f.end = Some("2026-11-30T00:00:00".into());
            },
            "field `end`",
            "",
        ),
    ];
    for (i, (mutate, field, detail)) in cases.into_iter().enumerate() {
        let mut input = weekly_freeze();
        mutate(&mut input);
        let err = save_freeze(&mut store, input.clone(), at(NOW)).unwrap_err();
        assert_eq!(err.code, ErrorCode::Validation, "case {i}: {}", err.message);
        assert!(
            err.message.contains("(id \"tue-maint\")") && err.message.contains(field),
            "case {i}: {}",
            err.message
        );
        assert!(err.message.contains(detail), "case {i}: {}", err.message);
        let err = preview_freeze(&store, &input, at(NOW)).unwrap_err();
        assert!(err.message.contains(field), "case {i}: {}", err.message);
    }
    assert_eq!(export(&store), original);
}

#[test]
fn teams_services_and_environments_are_created_edited_and_undone() {
    let (_dir, mut store) = demo();
    let original = export(&store);
    let team = save_team(
        &mut store,
        TeamInput {
            id: "search".into(),
            name: "Search".into(),
            timezone: Some("Asia/Tokyo".into()),
        },
        at(NOW),
    )
    .unwrap();
    let service = save_service(
        &mut store,
        ServiceInput {
            id: "indexer".into(),
            team: "search".into(),
            depends_on: vec!["auth".into()],
        },
        at(NOW),
    )
    .unwrap();
    let env = save_environment(
        &mut store,
        EnvironmentInput {
            id: "prod".into(),
            name: "Production EU".into(),
            production: true,
            max_concurrent: Some(1),
            required_approvals: 2,
        },
        at(NOW),
    )
    .unwrap();
    assert_eq!(env.action, ChangeAction::Updated);
    // max_concurrent 1: auth-5.2 and checkout-2.0 overlap in prod.
    assert!(
        env.gained.iter().any(|c| c.code == "environment.capacity"),
        "{:?}",
        env.gained
    );
    let s = settings(&store).unwrap();
    assert!(s
        .teams
        .iter()
        .any(|t| t.id == "search" && t.timezone.as_deref() == Some("Asia/Tokyo")));
    assert!(s
        .services
        .iter()
        .any(|x| x.id == "indexer" && x.team == "search"));
    let prod_use = s
        .usage
        .iter()
        .find(|u| u.kind == ObjectKind::Environment && u.id == "prod");
    assert_eq!(prod_use.map(|u| u.releases), Some(4));

    // Undo in reverse order gives back the imported calendar exactly.
    for change in [env, service, team] {
        restore_object(
            &mut store,
            change.kind,
            &change.id,
            change.undo.before.as_deref(),
            change.undo.position,
            at(NOW),
        )
        .unwrap();
    }
    assert_eq!(export(&store), original);
}

#[test]
fn an_object_in_use_cannot_be_deleted_and_the_message_says_what_uses_it() {
    let (_dir, mut store) = demo();
    let original = export(&store);
    let err = delete_object(&mut store, ObjectKind::Team, "payments", at(NOW)).unwrap_err();
    assert_eq!(err.code, ErrorCode::Validation);
    assert!(
        err.message.contains("team \"payments\" cannot be deleted"),
        "{}",
        err.message
    );
    assert!(err.message.contains("2 releases use it"), "{}", err.message);
    assert!(
        err.message.contains("checkout-api, ledger"),
        "{}",
        err.message
    );

    let err = delete_object(&mut store, ObjectKind::Environment, "prod", at(NOW)).unwrap_err();
    assert!(err.message.contains("4 releases use it"), "{}", err.message);
    assert!(err.message.contains("Holiday freeze"), "{}", err.message);

    let err = delete_object(&mut store, ObjectKind::Service, "auth", at(NOW)).unwrap_err();
    assert!(
        err.message.contains("checkout-api depend on it"),
        "{}",
        err.message
    );

    let err = delete_object(&mut store, ObjectKind::Freeze, "month-close", at(NOW)).unwrap_err();
    assert!(
        err.message.contains("1 release override it"),
        "{}",
        err.message
    );

    let err = delete_object(&mut store, ObjectKind::Freeze, "nope", at(NOW)).unwrap_err();
    assert_eq!(err.code, ErrorCode::NotFound);
    assert_eq!(export(&store), original);

    // An unused one goes, and comes back on undo.
    let change = delete_object(&mut store, ObjectKind::Environment, "staging", at(NOW)).unwrap();
    assert_eq!(change.action, ChangeAction::Deleted);
    assert!(!export(&store).contains("\"staging\""));
    restore_object(
        &mut store,
        ObjectKind::Environment,
        "staging",
        change.undo.before.as_deref(),
        change.undo.position,
        at(NOW),
    )
    .unwrap();
    assert_eq!(export(&store), original);
}

#[test]
fn deleting_a_release_reports_the_missing_dependency_and_undo_brings_it_all_back() {
    let (_dir, mut store) = demo();
    let original = export(&store);
    let change = delete_object(&mut store, ObjectKind::Release, "auth-5.2", at(NOW)).unwrap();
    assert_eq!(change.action, ChangeAction::Deleted);
    assert!(
        change
            .gained
            .iter()
            .any(|c| c.code == "dependency.missing" && c.releases == ["checkout-2.0"]),
        "{:?}",
        change.gained
    );
    let err = release_detail(&store, "auth-5.2", at(NOW)).unwrap_err();
    assert_eq!(err.code, ErrorCode::NotFound);
    // The approvals, rollback plan and checklist come back with it.
    restore_object(
        &mut store,
        ObjectKind::Release,
        "auth-5.2",
        change.undo.before.as_deref(),
        change.undo.position,
        at(NOW),
    )
    .unwrap();
    assert_eq!(export(&store), original);
}

#[test]
fn a_garbled_undo_copy_is_refused_clearly() {
    let (_dir, mut store) = demo();
    let original = export(&store);
    let err = restore_object(
        &mut store,
        ObjectKind::Team,
        "payments",
        Some("{not json"),
        None,
        at(NOW),
    )
    .unwrap_err();
    assert_eq!(err.code, ErrorCode::Validation);
    assert!(err.message.contains("team \"payments\""), "{}", err.message);
    let err = restore_object(
        &mut store,
        ObjectKind::Team,
        "payments",
        Some(r#"{"id":"payments","name":"P","colour":"red"}"#),
        Some(0),
        at(NOW),
    )
    .unwrap_err();
    assert!(err.message.contains("colour"), "{}", err.message);
    assert_eq!(export(&store), original);
}

#[test]
fn a_plan_file_is_exported_atomically_and_imported_back() {
    let (dir, mut store) = demo();
    let original = export(&store);
    let file = dir.path().join("out/plan.json");
    std::fs::create_dir_all(file.parent().unwrap()).unwrap();
    std::fs::write(&file, "old contents").unwrap();
    let summary = export_plan_file(&store, &file).unwrap();
    assert_eq!(summary.releases, 4);
    let written = std::fs::read_to_string(&file).unwrap();
    assert_eq!(written.trim_end(), original);
    // No temporary file is left beside it.
    assert_eq!(
        std::fs::read_dir(file.parent().unwrap()).unwrap().count(),
        1
    );

    delete_object(&mut store, ObjectKind::Release, "ingress-xmas", at(NOW)).unwrap();
    assert_eq!(inspect_plan_file(&file).unwrap().releases, 4);
    assert_eq!(import_plan_file(&mut store, &file).unwrap().releases, 4);
    assert_eq!(export(&store), original);
}

#[test]
fn a_bad_plan_file_names_the_file_object_and_field_and_imports_nothing() {
    let (dir, mut store) = demo();
    let original = export(&store);
    let file = dir.path().join("bad.json");
    std::fs::write(
        &file,
        DEMO_PLAN.replace("\"severity\": \"soft\"", "\"severity\": \"mild\""),
    )
    .unwrap();
    for err in [
        inspect_plan_file(&file).unwrap_err(),
        import_plan_file(&mut store, &file).unwrap_err(),
    ] {
        assert_eq!(err.code, ErrorCode::Validation);
        assert!(
            err.message.starts_with(&file.display().to_string()),
            "{}",
            err.message
        );
        assert!(
            err.message.contains("freezes[1] (id \"no-friday\")")
                && err.message.contains("field `severity`"),
            "{}",
            err.message
        );
    }
    let missing = dir.path().join("missing.json");
    let err = import_plan_file(&mut store, &missing).unwrap_err();
    assert_eq!(err.code, ErrorCode::Unavailable);
    assert!(err.message.contains("cannot read"), "{}", err.message);
    std::fs::write(&file, [0xff, 0xfe, 0x00]).unwrap();
    let err = import_plan_file(&mut store, &file).unwrap_err();
    assert!(err.message.contains("not UTF-8"), "{}", err.message);
    assert_eq!(export(&store), original);
}

#[test]
fn a_release_as_typed_is_checked_before_it_is_saved() {
    let (_dir, store) = demo();
    let original = export(&store);
    let mut input = release_input(&store, "ingress-xmas").unwrap();
    // Moved out of the holiday freeze.
    input.start = "2027-01-05T09:00:00Z".into();
    input.end = "2027-01-05T10:00:00Z".into();
    let preview = preview_release(&store, &input, at(NOW)).unwrap();
    assert!(
        preview.before.iter().any(|c| c.code == "freeze.hard"),
        "{:?}",
        preview.before
    );
    assert!(
        preview.after.iter().all(|c| c.code != "freeze.hard"),
        "{:?}",
        preview.after
    );
    // A new release in the freeze.
    input.id = "ingress-again".into();
    input.start = "2026-12-23T09:00:00Z".into();
    input.end = "2026-12-23T10:00:00Z".into();
    let preview = preview_release(&store, &input, at(NOW)).unwrap();
    assert!(preview.before.is_empty());
    assert!(
        preview.after.iter().any(|c| c.code == "freeze.hard"),
        "{:?}",
        preview.after
    );
    // Bad input names the field.
    input.end = "2026-12-23T08:00:00Z".into();
    let err = preview_release(&store, &input, at(NOW)).unwrap_err();
    assert!(
        err.message.contains("new release (id \"ingress-again\")")
            && err.message.contains("field `end`"),
        "{}",
        err.message
    );
    assert_eq!(export(&store), original);
}

#[test]
fn every_edit_and_its_undo_are_in_the_audit_trail_under_the_user_name() {
    let (_dir, mut store) = demo();
    let os_user = store.actor().to_owned();
    let err = set_user_name(&mut store, "  ", at(NOW)).unwrap_err();
    assert!(err.message.contains("field `user_name`"), "{}", err.message);
    set_user_name(&mut store, "Ana Lima", at(NOW)).unwrap();
    let change = save_freeze(&mut store, weekly_freeze(), at(NOW)).unwrap();
    restore_object(
        &mut store,
        ObjectKind::Freeze,
        "tue-maint",
        change.undo.before.as_deref(),
        change.undo.position,
        at(NOW),
    )
    .unwrap();
    let moved = move_release(
        &mut store,
        "auth-5.2",
        "2026-12-02T14:00:00Z",
        "2026-12-02T16:00:00Z",
        at(NOW),
    )
    .unwrap();
    assert_eq!(moved.id, "auth-5.2");
    delete_object(&mut store, ObjectKind::Release, "ingress-xmas", at(NOW)).unwrap();

    let log = audit_log(&store, None).unwrap();
    let actions: Vec<(&str, &str, &str)> = log
        .iter()
        .map(|e| (e.actor.as_str(), e.action.as_str(), e.summary.as_str()))
        .collect();
    // The rename is recorded under the name it replaces.
    assert_eq!(
        &actions[1..],
        [
            (os_user.as_str(), "settings.user_name", "created"),
            ("Ana Lima", "freeze.created", "created"),
            ("Ana Lima", "freeze.restored", "deleted"),
            ("Ana Lima", "release.move", "changed end, start"),
            ("Ana Lima", "release.deleted", "deleted"),
        ]
    );
    assert_eq!(log[0].action, "calendar.import");
    let history = release_detail(&store, "auth-5.2", at(NOW)).unwrap().history;
    assert_eq!(history.len(), 1);
    assert_eq!(history[0].action, "release.move");
    assert!(audit_verify(&store).unwrap().intact);
    // A refused change writes no entry.
    let before = audit_log(&store, None).unwrap().len();
    assert!(move_release(
        &mut store,
        "auth-5.2",
        "2026-12-02T16:00:00Z",
        "2026-12-02T14:00:00Z",
        at(NOW)
    )
    .is_err());
    assert_eq!(audit_log(&store, None).unwrap().len(), before);
}

#[test]
fn settings_list_each_freeze_with_its_rule_in_the_engines_words() {
    let (_dir, store) = demo();
    let s = settings(&store).unwrap();
    let schedule = |id: &str| {
        s.freezes
            .iter()
            .find(|f| f.id == id)
            .map(|f| f.schedule.clone())
            .unwrap()
    };
    let weekly = schedule("no-friday");
    assert_eq!(weekly, "every Friday at 12:00 for 12 hours (Europe/Berlin)");
    for f in &s.freezes {
        assert!(!f.schedule.contains("FREQ="), "{}: {}", f.id, f.schedule);
        assert!(!f.schedule.contains("PT"), "{}: {}", f.id, f.schedule);
    }
}
