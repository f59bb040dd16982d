//! A release's readiness and governance, against real SQLite files:
//! approvals by distinct people other than the owner, freeze exceptions,
//! the go/no-go view, checklists and their templates, rollback plans.

#![allow(
    clippy::unwrap_used,
    reason = "a test should panic loudly on a broken assumption"
)]

use relcal_api::*;

mod common;
use common::{demo, export, NOW};
use relcal_testkit::at;

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
