//! Editing teams, services, environments and freezes, deleting releases, and
//! undoing each change, against real SQLite files.

#![allow(
    clippy::unwrap_used,
    reason = "a test should panic loudly on a broken assumption"
)]

use relcal_api::*;

mod common;
use common::{demo, NOW};
use relcal_testkit::at;

fn export(store: &Store) -> String {
    export_plan_json(store).unwrap()
}

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
fn approvals_need_distinct_people_other_than_the_owner_before_approved() {
    let (_dir, mut store) = demo();
    let original = export(&store);
    // checkout-2.0 runs in prod (2 approvals) and is run by dana.
    store.set_actor("dana");
    let err = approve_release(&mut store, "checkout-2.0", at(NOW)).unwrap_err();
    assert!(
        err.message
            .contains("field `approvals`: dana runs this release and cannot approve it"),
        "{}",
        err.message
    );
    store.set_actor("li");
    approve_release(&mut store, "checkout-2.0", at(NOW)).unwrap();
    let err = approve_release(&mut store, "checkout-2.0", at(NOW)).unwrap_err();
    assert!(
        err.message.contains("li has already approved it"),
        "{}",
        err.message
    );
    let err = set_release_status(&mut store, "checkout-2.0", "approved", at(NOW)).unwrap_err();
    assert!(
        err.message.contains(
            "field `status`: `approved` needs 2 distinct approvals in prod; it has 1 (li)"
        ),
        "{}",
        err.message
    );
    store.set_actor("omar");
    let change = approve_release(&mut store, "checkout-2.0", at(NOW)).unwrap();
    assert_eq!(status(&change), "planned");
    let change = set_release_status(&mut store, "checkout-2.0", "approved", at(NOW)).unwrap();
    assert_eq!(status(&change), "approved");
    let detail = release_detail(&store, "checkout-2.0", at(NOW)).unwrap();
    assert_eq!(
        detail
            .approvals
            .iter()
            .map(|a| a.by.as_str())
            .collect::<Vec<_>>(),
        ["li", "omar"]
    );
    // Revoking one drops it back to planned.
    let change = revoke_approval(&mut store, "checkout-2.0", "li", at(NOW)).unwrap();
    assert_eq!(status(&change), "planned");
    let err = revoke_approval(&mut store, "checkout-2.0", "li", at(NOW)).unwrap_err();
    assert_eq!(err.code, ErrorCode::NotFound);
    let actions: Vec<String> = audit_log(&store, Some("checkout-2.0"))
        .unwrap()
        .into_iter()
        .map(|e| e.action)
        .collect();
    assert_eq!(
        actions,
        [
            "release.approve",
            "release.approve",
            "release.status",
            "release.revoke_approval"
        ]
    );
    assert_ne!(export(&store), original);
}

#[test]
fn a_freeze_exception_needs_a_reason_and_another_approver_and_turns_the_conflict_into_an_override()
{
    let (_dir, mut store) = demo();
    store.set_actor("kai");
    let before = release_detail(&store, "ingress-xmas", at(NOW)).unwrap();
    assert!(before.conflicts.iter().any(|c| c.code == "freeze.hard"));
    for (reason, approver, field) in [
        ("", "cfo", "overrides.reason"),
        ("TLS expiry", " ", "overrides.by"),
        ("TLS expiry", "kai", "overrides.by"),
    ] {
        let err = request_override(
            &mut store,
            "ingress-xmas",
            "holidays",
            reason,
            approver,
            at(NOW),
        )
        .unwrap_err();
        assert!(
            err.message.contains(&format!("field `{field}`")),
            "{}",
            err.message
        );
    }
    let err = request_override(
        &mut store,
        "ingress-xmas",
        "month-close",
        "x",
        "cfo",
        at(NOW),
    )
    .unwrap_err();
    assert!(
        err.message
            .contains("Finance month-end close does not apply to this release"),
        "{}",
        err.message
    );
    let change = request_override(
        &mut store,
        "ingress-xmas",
        "holidays",
        "TLS certificate expires 24 Dec",
        "cto",
        at(NOW),
    )
    .unwrap();
    assert!(
        own(&change).iter().any(|c| c.code == "freeze.overridden"),
        "{:?}",
        own(&change)
    );
    assert!(own(&change).iter().all(|c| c.code != "freeze.hard"));
    let detail = release_detail(&store, "ingress-xmas", at(NOW)).unwrap();
    assert_eq!(detail.overrides[0].by, "cto");
    assert_eq!(detail.history[0].action, "release.override");
    assert_eq!(detail.history[0].actor, "kai");
    // Who asked is kept with who approved, as the plan format has it.
    assert!(
        export(&store).contains(r#""requested_by": "kai""#),
        "{}",
        export(&store)
    );
}

#[test]
fn the_go_no_go_view_puts_each_coming_release_with_its_verdict_and_reasons() {
    let (_dir, mut store) = demo();
    let view = go_no_go(&store, at(NOW), 7).unwrap();
    let ids: Vec<&str> = view.rows.iter().map(|r| r.id.as_str()).collect();
    // ingress-xmas (22 Dec) is beyond the 7 days.
    assert_eq!(ids, ["ledger-hotfix", "auth-5.2", "checkout-2.0"]);
    let checkout = &view.rows[2];
    assert_eq!(checkout.verdict, "no_go");
    assert_eq!((checkout.readiness, checkout.required_open), (0, 1));
    assert_eq!(checkout.rollback, "none");
    assert_eq!((checkout.approvals, checkout.approvals_needed), (0, 2));
    assert!(
        checkout
            .reasons
            .iter()
            .any(|r| r.contains("without a rollback plan")),
        "{:?}",
        checkout.reasons
    );
    assert!(
        checkout
            .reasons
            .iter()
            .any(|r| r.contains("0 of 2 approvals")),
        "{:?}",
        checkout.reasons
    );
    let ledger = &view.rows[0];
    assert_eq!(ledger.verdict, "no_go");
    assert!(
        ledger
            .reasons
            .iter()
            .any(|r| r.contains("1 of 2 approvals")),
        "{:?}",
        ledger.reasons
    );
    assert_eq!(ledger.rollback, "untested");

    // Moving checkout after auth and giving it what it lacks changes its verdict.
    move_release(
        &mut store,
        "checkout-2.0",
        "2026-12-01T17:00:00Z",
        "2026-12-01T18:00:00Z",
        at(NOW),
    )
    .unwrap();
    let after = go_no_go(&store, at(NOW), 7).unwrap();
    let checkout = after.rows.iter().find(|r| r.id == "checkout-2.0").unwrap();
    assert!(
        checkout.reasons.iter().all(|r| !r.contains("depends on")),
        "{:?}",
        checkout.reasons
    );
}

#[test]
fn a_new_release_gets_its_environments_checklist_and_ticking_records_who_and_when() {
    let (_dir, mut store) = demo();
    store.set_actor("ana");
    let input = ReleaseInput {
        id: "search-1".into(),
        title: "search 1.0".into(),
        team: "platform".into(),
        services: vec!["ingress".into()],
        environment: "prod".into(),
        start: "2027-01-12T09:00:00Z".into(),
        end: "2027-01-12T10:00:00Z".into(),
        status: "planned".into(),
        owner: Some("kai".into()),
        depends_on: vec![],
        version: None,
    };
    save_release(&mut store, input, at(NOW)).unwrap();
    let detail = release_detail(&store, "search-1", at(NOW)).unwrap();
    let ids: Vec<&str> = detail.checklist.iter().map(|c| c.id.as_str()).collect();
    assert_eq!(ids.len(), 10, "{ids:?}");
    assert!(ids.contains(&"security-scans") && ids.contains(&"validation-window"));
    assert_eq!(detail.readiness, 0);
    let view = calendar_view(
        &store,
        at("2027-01-12T00:00:00Z"),
        at("2027-01-13T00:00:00Z"),
    )
    .unwrap();
    assert_eq!(view.releases[0].readiness, 0);

    let change = set_checklist_item(
        &mut store,
        "search-1",
        ChecklistItemInput {
            item_id: "security-scans".into(),
            done: true,
            owner: Some("sec team".into()),
            note: Some("https://scans.example/run/42".into()),
        },
        at("2026-11-26T08:00:00Z"),
    )
    .unwrap();
    assert_eq!(change.id, "search-1");
    let item = release_detail(&store, "search-1", at(NOW))
        .unwrap()
        .checklist
        .into_iter()
        .find(|c| c.id == "security-scans")
        .unwrap();
    assert!(item.done);
    assert_eq!(item.done_by.as_deref(), Some("ana"));
    assert_eq!(item.done_at.as_deref(), Some("2026-11-26T08:00:00Z"));
    assert_eq!(item.note.as_deref(), Some("https://scans.example/run/42"));
    assert_eq!(item.owner.as_deref(), Some("sec team"));
    // The details survive an unrelated edit of the release, and the score follows.
    move_release(
        &mut store,
        "search-1",
        "2027-01-13T09:00:00Z",
        "2027-01-13T10:00:00Z",
        at(NOW),
    )
    .unwrap();
    let detail = release_detail(&store, "search-1", at(NOW)).unwrap();
    assert_eq!(
        detail
            .checklist
            .iter()
            .find(|c| c.id == "security-scans")
            .unwrap()
            .done_by
            .as_deref(),
        Some("ana")
    );
    assert_eq!(detail.readiness, 11); // 2 of 18 weighted points: 8 required, 2 optional
    let view = calendar_view(
        &store,
        at("2027-01-13T00:00:00Z"),
        at("2027-01-14T00:00:00Z"),
    )
    .unwrap();
    assert_eq!(view.releases[0].readiness, 11);
    // Unticking clears who and when.
    set_checklist_item(
        &mut store,
        "search-1",
        ChecklistItemInput {
            item_id: "security-scans".into(),
            done: false,
            owner: None,
            note: None,
        },
        at(NOW),
    )
    .unwrap();
    let item = release_detail(&store, "search-1", at(NOW))
        .unwrap()
        .checklist
        .into_iter()
        .find(|c| c.id == "security-scans")
        .unwrap();
    assert_eq!((item.done, item.done_by), (false, None));
    let err = set_checklist_item(
        &mut store,
        "search-1",
        ChecklistItemInput {
            item_id: "nope".into(),
            done: true,
            owner: None,
            note: None,
        },
        at(NOW),
    )
    .unwrap_err();
    assert_eq!(err.code, ErrorCode::NotFound);
}

#[test]
fn templates_are_edited_validated_and_applied_to_existing_releases() {
    let (_dir, mut store) = demo();
    let mut t = checklist_templates(&store).unwrap();
    assert_eq!(
        t.templates
            .iter()
            .map(|t| t.name.as_str())
            .collect::<Vec<_>>(),
        ["Pre-production", "Production readiness"]
    );
    t.templates[0].items.push(TemplateItem {
        id: "load-test".into(),
        text: "Load test run".into(),
        required: false,
    });
    t.environments
        .insert("staging".into(), "pre-production".into());
    save_checklist_templates(&mut store, t.clone(), at(NOW)).unwrap();
    assert_eq!(checklist_templates(&store).unwrap(), t);
    let mut bad = t.clone();
    bad.templates[1].items[0].text = " ".into();
    let err = save_checklist_templates(&mut store, bad, at(NOW)).unwrap_err();
    assert!(
        err.message
            .contains("templates[1] (id \"production-readiness\"): field `items[0].text`"),
        "{}",
        err.message
    );
    let mut bad = t.clone();
    bad.environments.insert("prod".into(), "missing".into());
    let err = save_checklist_templates(&mut store, bad, at(NOW)).unwrap_err();
    assert!(
        err.message.contains("field `environments.prod`"),
        "{}",
        err.message
    );

    // checkout-2.0 has one item ("smoke"); applying adds the production template's ten.
    apply_checklist_template(&mut store, "checkout-2.0", at(NOW)).unwrap();
    let detail = release_detail(&store, "checkout-2.0", at(NOW)).unwrap();
    assert_eq!(detail.checklist.len(), 11);
    apply_checklist_template(&mut store, "checkout-2.0", at(NOW)).unwrap();
    assert_eq!(
        release_detail(&store, "checkout-2.0", at(NOW))
            .unwrap()
            .checklist
            .len(),
        11
    );
}

#[test]
fn a_rollback_plan_is_saved_with_what_the_plan_format_does_not_carry() {
    let (_dir, mut store) = demo();
    let before = release_detail(&store, "checkout-2.0", at(NOW)).unwrap();
    assert!(before
        .conflicts
        .iter()
        .any(|c| c.code == "readiness.rollback"));
    let input = RollbackView {
        steps: vec![
            "switch traffic back to blue".into(),
            " ".into(),
            "scale green to 0".into(),
        ],
        owner: Some("dana".into()),
        time_budget_minutes: Some(15),
        tested: true,
        tested_on: Some("2026-11-20".into()),
        migration_reversible: Some(false),
        triggers: vec!["error rate above 5%".into(), "p95 latency +200 ms".into()],
    };
    for (mutate, field) in [
        (
            Box::new(|i: &mut RollbackView| i.steps = vec![" ".into()])
                as Box<dyn Fn(&mut RollbackView)>,
            "rollback.steps",
        ),
        (
            Box::new(|i: &mut RollbackView| i.time_budget_minutes = Some(0)),
            "rollback.time_budget_minutes",
        ),
        (
            Box::new(|i: &mut RollbackView| i.tested_on = Some("20 Nov".into())),
            "rollback.tested_on",
        ),
        (
            Box::new(|i: &mut RollbackView| i.tested = false),
            "rollback.tested_on",
        ),
    ] {
        let mut bad = input.clone();
        mutate(&mut bad);
        let err = save_rollback(&mut store, "checkout-2.0", bad, at(NOW)).unwrap_err();
        assert!(
            err.message.contains(&format!("field `{field}`")),
            "{}",
            err.message
        );
    }
    let change = save_rollback(&mut store, "checkout-2.0", input, at(NOW)).unwrap();
    assert!(change
        .resolved
        .iter()
        .any(|c| c.code == "readiness.rollback"));
    assert!(own(&change).iter().all(|c| c.code != "readiness.rollback"));
    let rb = release_detail(&store, "checkout-2.0", at(NOW))
        .unwrap()
        .rollback
        .unwrap();
    assert_eq!(
        rb.steps,
        ["switch traffic back to blue", "scale green to 0"]
    );
    assert_eq!(
        (rb.time_budget_minutes, rb.tested, rb.tested_on.as_deref()),
        (Some(15), true, Some("2026-11-20"))
    );
    assert_eq!(rb.migration_reversible, Some(false));
    assert_eq!(rb.triggers, ["error rate above 5%", "p95 latency +200 ms"]);
    // The plan export carries what the plan format has, and still validates.
    let exported = export(&store);
    assert!(exported.contains("switch traffic back to blue"));
    assert!(!exported.contains("p95 latency"));
    validate_plan_text(&exported).unwrap();
}

/// A release change's conflicts of the release, after the change.
fn own(change: &relcal_api::Change) -> &[relcal_api::ConflictReport] {
    change
        .release
        .as_ref()
        .map_or(&[], |r| r.conflicts.as_slice())
}

/// A release change's status after the change.
fn status(change: &relcal_api::Change) -> &str {
    change.release.as_ref().map_or("", |r| r.status.as_str())
}
