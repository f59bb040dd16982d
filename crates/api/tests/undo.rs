//! One undo for every change (`undo_change` with the change's `undo`),
//! three-way and field by field, against real SQLite files: what the change
//! changed goes back, what others changed since stays, and a field changed
//! again since is named with nothing written.

#![allow(
    clippy::unwrap_used,
    reason = "a test should panic loudly on a broken assumption"
)]

use relcal_api::*;

mod common;
use common::{demo, NOW};
use relcal_testkit::at;

fn release(store: &Store, id: &str) -> serde_json::Value {
    let plan: serde_json::Value = serde_json::from_str(&export_plan_json(store).unwrap()).unwrap();
    plan["releases"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["id"] == id)
        .cloned()
        .unwrap_or(serde_json::Value::Null)
}

#[test]
fn a_move_undone_goes_back_and_reports_its_conflicts() {
    let (_dir, mut store) = demo();
    let before = export_plan_json(&store).unwrap();
    let moved = move_release(
        &mut store,
        "ingress-xmas",
        "2027-01-12T09:00:00Z",
        "2027-01-12T10:00:00Z",
        at(NOW),
    )
    .unwrap();
    let back = undo_change(&mut store, &moved.undo, at(NOW)).unwrap();
    let Some(release) = &back.release else {
        panic!("a release change undoes as a release change: {back:?}");
    };
    assert_eq!(release.start, "2026-12-22T09:00:00Z");
    // Back in the holiday freeze: the conflict it had is there again.
    assert!(
        release.conflicts.iter().any(|c| c.code == "freeze.hard"),
        "{back:?}"
    );
    assert_eq!(export_plan_json(&store).unwrap(), before);
}

#[test]
fn what_others_changed_since_stays_when_a_move_is_undone() {
    let (_dir, mut store) = demo();
    let moved = move_release(
        &mut store,
        "checkout-2.0",
        "2026-12-03T15:00:00Z",
        "2026-12-03T17:00:00Z",
        at(NOW),
    )
    .unwrap();
    // Meanwhile li approves and the smoke item is ticked: not part of the move.
    store.set_actor("li");
    approve_release(&mut store, "checkout-2.0", at(NOW)).unwrap();
    let tick = ChecklistItemInput {
        item_id: "smoke".into(),
        done: true,
        owner: None,
        note: None,
    };
    set_checklist_item(&mut store, "checkout-2.0", tick, at(NOW)).unwrap();
    undo_change(&mut store, &moved.undo, at(NOW)).unwrap();
    let r = release(&store, "checkout-2.0");
    assert_eq!(r["start"], "2026-12-01T15:00:00Z", "{r}");
    assert_eq!(r["approvals"][0]["by"], "li", "{r}");
    assert_eq!(r["checklist"][0]["done"], true, "{r}");
}

#[test]
fn a_field_changed_again_since_is_named_and_nothing_is_written() {
    let (_dir, mut store) = demo();
    let first = move_release(
        &mut store,
        "ingress-xmas",
        "2027-01-12T09:00:00Z",
        "2027-01-12T10:00:00Z",
        at(NOW),
    )
    .unwrap();
    move_release(
        &mut store,
        "ingress-xmas",
        "2027-01-13T09:00:00Z",
        "2027-01-13T10:00:00Z",
        at(NOW),
    )
    .unwrap();
    let kept = export_plan_json(&store).unwrap();
    let err = undo_change(&mut store, &first.undo, at(NOW)).unwrap_err();
    assert_eq!(err.code, ErrorCode::Validation);
    assert!(
        err.message.contains("ingress-xmas") && err.message.contains("end, start"),
        "{}",
        err.message
    );
    assert_eq!(export_plan_json(&store).unwrap(), kept);
}

#[test]
fn approvals_ticks_and_status_changes_undo_too() {
    let (_dir, mut store) = demo();
    let before = export_plan_json(&store).unwrap();
    store.set_actor("kai");
    let approved = approve_release(&mut store, "checkout-2.0", at(NOW)).unwrap();
    let tick = ChecklistItemInput {
        item_id: "smoke".into(),
        done: true,
        owner: None,
        note: None,
    };
    let ticked = set_checklist_item(&mut store, "checkout-2.0", tick, at(NOW)).unwrap();
    let cancelled = set_release_status(&mut store, "ingress-xmas", "cancelled", at(NOW)).unwrap();
    // Newest first, as the window's stack takes them.
    for change in [&cancelled, &ticked, &approved] {
        undo_change(&mut store, &change.undo, at(NOW)).unwrap();
    }
    assert_eq!(export_plan_json(&store).unwrap(), before);
}

#[test]
fn created_and_deleted_objects_undo_and_a_created_one_changed_since_stays() {
    let (_dir, mut store) = demo();
    let before = export_plan_json(&store).unwrap();
    let team = TeamInput {
        id: "web".into(),
        name: "Web".into(),
        timezone: None,
    };
    let created = save_team(&mut store, team, at(NOW)).unwrap();
    undo_change(&mut store, &created.undo, at(NOW)).unwrap();
    assert_eq!(export_plan_json(&store).unwrap(), before);

    let deleted = delete_object(&mut store, ObjectKind::Freeze, "no-friday", at(NOW)).unwrap();
    let back = undo_change(&mut store, &deleted.undo, at(NOW)).unwrap();
    assert_eq!(
        back.kind,
        ObjectKind::Freeze,
        "a freeze undoes as a freeze's change"
    );
    assert_eq!(back.action, ChangeAction::Created);
    // Back where it was, in the calendar's order.
    assert_eq!(export_plan_json(&store).unwrap(), before);

    let created = save_team(
        &mut store,
        TeamInput {
            id: "web".into(),
            name: "Web".into(),
            timezone: None,
        },
        at(NOW),
    )
    .unwrap();
    save_team(
        &mut store,
        TeamInput {
            id: "web".into(),
            name: "Web platform".into(),
            timezone: None,
        },
        at(NOW),
    )
    .unwrap();
    let err = undo_change(&mut store, &created.undo, at(NOW)).unwrap_err();
    assert!(err.message.contains("(name)"), "{}", err.message);
    assert!(export_plan_json(&store).unwrap().contains("Web platform"));
}

#[test]
fn a_new_release_undone_is_gone_and_a_broken_undo_is_refused() {
    let (_dir, mut store) = demo();
    let before = export_plan_json(&store).unwrap();
    let mut input = release_input(&store, "ingress-xmas").unwrap();
    input.id = "ingress-2027".into();
    let created = save_release(&mut store, input, at(NOW)).unwrap();
    assert_eq!(created.undo.before, None);
    undo_change(&mut store, &created.undo, at(NOW)).unwrap();
    assert_eq!(export_plan_json(&store).unwrap(), before);
    // Undoing it twice: it is gone already.
    let err = undo_change(&mut store, &created.undo, at(NOW)).unwrap_err();
    assert_eq!(err.code, ErrorCode::NotFound, "{}", err.message);
    let broken = Undo {
        before: Some("[1, 2]".into()),
        ..created.undo.clone()
    };
    let err = undo_change(&mut store, &broken, at(NOW)).unwrap_err();
    assert!(err.message.contains("`before`"), "{}", err.message);
    assert_eq!(export_plan_json(&store).unwrap(), before);
}

#[test]
fn an_object_saved_with_its_defaults_undoes_and_an_undo_cannot_name_another_object() {
    let (_dir, mut store) = demo();
    let before = export_plan_json(&store).unwrap();
    // Not production, no approvals: the stored form leaves both out.
    let env = EnvironmentInput {
        id: "qa".into(),
        name: "QA".into(),
        production: false,
        max_concurrent: None,
        required_approvals: 0,
    };
    let created = save_environment(&mut store, env, at(NOW)).unwrap();
    undo_change(&mut store, &created.undo, at(NOW)).unwrap();
    assert_eq!(export_plan_json(&store).unwrap(), before);

    // A copy of another release under this one's id is refused, nothing written.
    let moved = move_release(
        &mut store,
        "ingress-xmas",
        "2027-01-12T09:00:00Z",
        "2027-01-12T10:00:00Z",
        at(NOW),
    )
    .unwrap();
    let kept = export_plan_json(&store).unwrap();
    let other = release(&store, "checkout-2.0").to_string();
    let forged = Undo {
        before: Some(other),
        ..moved.undo.clone()
    };
    let err = undo_change(&mut store, &forged, at(NOW)).unwrap_err();
    assert!(err.message.contains("another object"), "{}", err.message);
    assert_eq!(export_plan_json(&store).unwrap(), kept);
}
