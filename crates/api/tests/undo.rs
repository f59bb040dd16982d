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

/// What the release view shows of it, without its history (which an undo
/// adds to).
fn shown(store: &Store, id: &str) -> ReleaseDetail {
    let mut detail = release_detail(store, id, at(NOW)).unwrap();
    detail.history.clear();
    detail
}

fn item(owner: Option<&str>, note: Option<&str>, done: bool) -> ChecklistItemInput {
    ChecklistItemInput {
        item_id: "smoke".into(),
        done,
        owner: owner.map(Into::into),
        note: note.map(Into::into),
    }
}

fn rollback(triggers: &[&str]) -> RollbackView {
    RollbackView {
        steps: vec!["switch traffic back to blue".into()],
        owner: Some("dana".into()),
        time_budget_minutes: Some(15),
        tested: true,
        tested_on: Some("2026-11-20".into()),
        migration_reversible: Some(false),
        triggers: triggers.iter().map(|t| (*t).to_owned()).collect(),
    }
}

#[test]
fn a_deleted_release_comes_back_with_its_checklist_and_rollback_details() {
    let (_dir, mut store) = demo();
    store.set_actor("kai");
    let id = "checkout-2.0";
    set_checklist_item(
        &mut store,
        id,
        item(Some("lee"), Some("https://ci/1"), true),
        at(NOW),
    )
    .unwrap();
    save_rollback(&mut store, id, rollback(&["error rate above 5%"]), at(NOW)).unwrap();
    let detail = shown(&store, id);
    let smoke = detail.checklist.iter().find(|c| c.id == "smoke").unwrap();
    assert_eq!(
        (
            smoke.owner.as_deref(),
            smoke.note.as_deref(),
            smoke.done_by.as_deref()
        ),
        (Some("lee"), Some("https://ci/1"), Some("kai"))
    );
    let plan = export_plan_json(&store).unwrap();

    let deleted = delete_object(&mut store, ObjectKind::Release, id, at(NOW)).unwrap();
    assert!(store.checklist_details(id).unwrap().is_empty());
    assert_eq!(store.rollback_detail(id).unwrap(), None);
    undo_change(&mut store, &deleted.undo, at(NOW)).unwrap();
    // All of it, also what the plan format does not carry.
    assert_eq!(shown(&store, id), detail);
    assert_eq!(export_plan_json(&store).unwrap(), plan);
}

#[test]
fn a_tick_undone_forgets_who_ticked_it_and_when_and_a_note_alone_undoes() {
    let (_dir, mut store) = demo();
    store.set_actor("kai");
    let id = "checkout-2.0";
    let noted = set_checklist_item(
        &mut store,
        id,
        item(Some("lee"), Some("first"), false),
        at(NOW),
    )
    .unwrap();
    let detail = shown(&store, id);
    let ticked = set_checklist_item(
        &mut store,
        id,
        item(Some("lee"), Some("first"), true),
        at(NOW),
    )
    .unwrap();
    undo_change(&mut store, &ticked.undo, at(NOW)).unwrap();
    assert_eq!(shown(&store, id), detail);

    // Only the note changes (nothing the plan format carries): it undoes.
    let renoted = set_checklist_item(
        &mut store,
        id,
        item(Some("lee"), Some("second"), false),
        at(NOW),
    )
    .unwrap();
    undo_change(&mut store, &renoted.undo, at(NOW)).unwrap();
    assert_eq!(shown(&store, id), detail);
    // And the first note goes too, back to an item with nothing noted.
    undo_change(&mut store, &noted.undo, at(NOW)).unwrap();
    let smoke = release_detail(&store, id, at(NOW))
        .unwrap()
        .checklist
        .into_iter()
        .find(|c| c.id == "smoke")
        .unwrap();
    assert_eq!((smoke.owner, smoke.note), (None, None));
}

#[test]
fn details_changed_again_since_are_named_and_nothing_is_written() {
    let (_dir, mut store) = demo();
    let id = "checkout-2.0";
    let first =
        set_checklist_item(&mut store, id, item(None, Some("first"), false), at(NOW)).unwrap();
    set_checklist_item(&mut store, id, item(None, Some("second"), false), at(NOW)).unwrap();
    let saved = save_rollback(&mut store, id, rollback(&["a"]), at(NOW)).unwrap();
    save_rollback(&mut store, id, rollback(&["b"]), at(NOW)).unwrap();
    let detail = shown(&store, id);
    let err = undo_change(&mut store, &first.undo, at(NOW)).unwrap_err();
    assert!(
        err.message.contains("checklist item \"smoke\""),
        "{}",
        err.message
    );
    let err = undo_change(&mut store, &saved.undo, at(NOW)).unwrap_err();
    assert!(err.message.contains("rollback"), "{}", err.message);
    assert_eq!(shown(&store, id), detail);
}

#[test]
fn a_rollback_plans_details_go_back_with_it() {
    let (_dir, mut store) = demo();
    let id = "checkout-2.0";
    save_rollback(&mut store, id, rollback(&["error rate above 5%"]), at(NOW)).unwrap();
    let detail = shown(&store, id);
    let mut changed = rollback(&["p95 latency +200 ms"]);
    changed.migration_reversible = Some(true);
    let change = save_rollback(&mut store, id, changed, at(NOW)).unwrap();
    undo_change(&mut store, &change.undo, at(NOW)).unwrap();
    assert_eq!(shown(&store, id), detail);
}

#[test]
fn an_undo_writes_only_details_the_forms_could_have_written() {
    let (_dir, mut store) = demo();
    let id = "checkout-2.0";
    set_checklist_item(
        &mut store,
        id,
        item(Some("lee"), Some("first"), false),
        at(NOW),
    )
    .unwrap();
    let deleted = delete_object(&mut store, ObjectKind::Release, id, at(NOW)).unwrap();
    let saved = deleted.undo.details_before.clone().unwrap();
    let forged = |details: serde_json::Value| Undo {
        details_before: Some(details.to_string()),
        ..deleted.undo.clone()
    };
    let item = |extra: serde_json::Value| {
        let mut i = serde_json::json!({"item_id": "smoke", "owner": null, "done_by": null, "done_at": null, "note": null});
        if let (Some(i), Some(extra)) = (i.as_object_mut(), extra.as_object()) {
            i.extend(extra.clone());
        }
        serde_json::json!({"checklist": [i], "rollback": null})
    };
    for (undo, says) in [
        (
            forged(item(serde_json::json!({"item_id": "nope"}))),
            "no checklist item \"nope\"",
        ),
        (
            forged(item(serde_json::json!({"note": "x".repeat(2001)}))),
            "checklist[0].note: is longer than 2000",
        ),
        (
            forged(item(serde_json::json!({"done_at": "yesterday"}))),
            "done_at",
        ),
        (
            forged(
                serde_json::json!({"checklist": [], "rollback": {"tested_on": "20 Nov", "migration_reversible": null, "triggers": []}}),
            ),
            "tested_on",
        ),
        (forged(serde_json::json!([1, 2])), "not a release's details"),
        (
            Undo {
                kind: ObjectKind::Freeze,
                id: "holidays".into(),
                before: None,
                after: None,
                position: None,
                details_before: Some(saved.clone()),
                details_after: None,
            },
            "only a release has details",
        ),
    ] {
        let err = undo_change(&mut store, &undo, at(NOW)).unwrap_err();
        assert!(err.message.contains(says), "{says}: {}", err.message);
        assert!(err.message.contains("details_before"), "{}", err.message);
    }
    // Nothing was put back by any of them; the real one still works.
    assert_eq!(release(&store, id), serde_json::Value::Null);
    undo_change(&mut store, &deleted.undo, at(NOW)).unwrap();
    assert_eq!(
        store.checklist_details(id).unwrap()[0].note.as_deref(),
        Some("first")
    );
}

#[test]
fn a_new_release_noted_since_is_not_undone() {
    let (_dir, mut store) = demo();
    let id = "checkout-2.0";
    let deleted = delete_object(&mut store, ObjectKind::Release, id, at(NOW)).unwrap();
    // Putting it back is a creation, undone by the undo it returns.
    let restored = undo_change(&mut store, &deleted.undo, at(NOW)).unwrap();
    set_checklist_item(
        &mut store,
        id,
        item(None, Some("noted since"), false),
        at(NOW),
    )
    .unwrap();
    let err = undo_change(&mut store, &restored.undo, at(NOW)).unwrap_err();
    assert!(
        err.message.contains("checklist item \"smoke\""),
        "{}",
        err.message
    );
    assert_eq!(
        store.checklist_details(id).unwrap()[0].note.as_deref(),
        Some("noted since")
    );
}

#[test]
fn details_left_by_a_removed_item_do_not_stop_an_undo() {
    let (_dir, mut store) = demo();
    let id = "checkout-2.0";
    // The production template's items come and go again; one was noted
    // meanwhile, and its details stay in the database, unseen.
    let applied = apply_checklist_template(&mut store, id, at(NOW)).unwrap();
    let added = shown(&store, id)
        .checklist
        .into_iter()
        .find(|c| c.id != "smoke")
        .unwrap()
        .id;
    let note = ChecklistItemInput {
        item_id: added.clone(),
        done: false,
        owner: None,
        note: Some("gone soon".into()),
    };
    set_checklist_item(&mut store, id, note, at(NOW)).unwrap();
    undo_change(&mut store, &applied.undo, at(NOW)).unwrap();
    assert!(shown(&store, id).checklist.iter().all(|c| c.id != added));

    let ticked = set_checklist_item(&mut store, id, item(None, Some("n"), true), at(NOW)).unwrap();
    undo_change(&mut store, &ticked.undo, at(NOW)).unwrap();
    let detail = shown(&store, id);
    let deleted = delete_object(&mut store, ObjectKind::Release, id, at(NOW)).unwrap();
    undo_change(&mut store, &deleted.undo, at(NOW)).unwrap();
    assert_eq!(shown(&store, id), detail);
}
