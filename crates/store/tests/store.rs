//! The store against real SQLite files.

#![allow(
    clippy::unwrap_used,
    reason = "a test should panic loudly on a broken assumption"
)]

use relcal_domain::parse_plan;
use relcal_store::{Store, Synced, Write};

fn demo() -> relcal_domain::Plan {
    let text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../assets/demo-plan.json"
    ))
    .unwrap();
    parse_plan(&text).unwrap()
}

#[test]
fn a_new_database_is_empty_and_migrated() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&dir.path().join("new.db")).unwrap();
    assert!(store.is_empty().unwrap());
    assert_eq!(store.schema_version().unwrap(), 16);
    assert!(store.load_plan().unwrap().is_none());
    assert_eq!(store.integrity_check().unwrap(), Ok(()));
}

#[test]
fn a_plan_survives_a_round_trip_through_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("cal.db");
    let plan = demo();
    Store::open(&path)
        .unwrap()
        .write(Write::new(&[]).whole(&plan))
        .unwrap();
    // A fresh connection reads what the first wrote.
    let store = Store::open(&path).unwrap();
    assert!(!store.is_empty().unwrap());
    assert_eq!(store.load_plan().unwrap().as_ref(), Some(&plan));
    let without = store.load_plan_without_releases().unwrap().unwrap();
    assert!(without.releases.is_empty());
    assert_eq!(without.freezes, plan.freezes);
}

#[test]
fn replacing_drops_the_old_calendar_entirely() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = Store::open(&dir.path().join("cal.db")).unwrap();
    store.write(Write::new(&[]).whole(&demo())).unwrap();
    let small = parse_plan(
        r#"{"version":1,"timezone":"Europe/London","teams":[{"id":"a","name":"A"}],
        "services":[],"environments":[],"freezes":[],"releases":[]}"#,
    )
    .unwrap();
    store.write(Write::new(&[]).whole(&small)).unwrap();
    assert_eq!(store.load_plan().unwrap(), Some(small));
}

#[test]
fn the_range_query_finds_overlapping_releases_only() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = Store::open(&dir.path().join("cal.db")).unwrap();
    store.write(Write::new(&[]).whole(&demo())).unwrap();
    let ts = |s: &str| chrono::DateTime::parse_from_rfc3339(s).unwrap().timestamp();
    // auth-5.2 runs 14:00-16:00Z, checkout-2.0 15:00-17:00Z on 1 Dec.
    let ids = |from, to| -> Vec<String> {
        store
            .releases_between(ts(from), ts(to))
            .unwrap()
            .into_iter()
            .map(|r| r.id)
            .collect()
    };
    assert_eq!(
        ids("2026-12-01T16:00:00Z", "2026-12-01T18:00:00Z"),
        ["checkout-2.0"]
    );
    assert_eq!(
        ids("2026-12-01T00:00:00Z", "2026-12-02T00:00:00Z"),
        ["auth-5.2", "checkout-2.0"]
    );
    assert!(ids("2026-12-01T17:00:00Z", "2026-12-01T18:00:00Z").is_empty());
    let row = &store
        .releases_between(ts("2026-12-22T00:00:00Z"), ts("2026-12-23T00:00:00Z"))
        .unwrap()[0];
    assert_eq!(
        (row.team_id.as_str(), row.environment_id.as_str()),
        ("platform", "prod")
    );
    assert_eq!(row.services, ["ingress"]);
}

#[test]
fn a_file_that_is_not_a_database_is_refused_clearly() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("notes.txt");
    std::fs::write(
        &path,
        "this is not sqlite, just some text that is long enough to have a header",
    )
    .unwrap();
    let err = Store::open(&path).err().expect("must fail").to_string();
    assert!(err.contains("notes.txt"), "{err}");
}

#[test]
fn replacing_the_catalog_keeps_every_release() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = Store::open(&dir.path().join("cal.db")).unwrap();
    let plan = demo();
    store.write(Write::new(&[]).whole(&plan)).unwrap();
    let mut changed = plan.clone();
    let unused = plan
        .freezes
        .iter()
        .position(|f| {
            plan.releases
                .iter()
                .all(|r| r.overrides.iter().all(|o| o.freeze != f.id))
        })
        .unwrap();
    changed.freezes.remove(unused);
    changed.teams[0].name = "Renamed team".into();
    store.write(Write::new(&[]).catalog(&changed)).unwrap();
    let back = store.load_plan().unwrap().unwrap();
    assert_eq!(back.releases, plan.releases);
    assert_eq!(back.freezes, changed.freezes);
    assert_eq!(back.teams[0].name, "Renamed team");
    assert_eq!(store.integrity_check().unwrap(), Ok(()));
}

#[test]
fn a_catalog_that_drops_a_used_team_is_refused_and_changes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = Store::open(&dir.path().join("cal.db")).unwrap();
    let plan = demo();
    store.write(Write::new(&[]).whole(&plan)).unwrap();
    let used = plan.releases[0].team.clone();
    assert!(
        store
            .releases_referring_to(relcal_store::CatalogKind::Team, used.as_str())
            .unwrap()
            > 0
    );
    let mut broken = plan.clone();
    broken.teams.retain(|t| t.id != used);
    broken.services.retain(|s| s.team != used);
    broken.freezes.clear();
    let err = store.write(Write::new(&[]).catalog(&broken)).unwrap_err();
    assert!(err.to_string().contains("FOREIGN KEY"), "{err}");
    assert_eq!(store.load_plan().unwrap().as_ref(), Some(&plan));
}

/// The server's bookkeeping of mutation `mutation_id`, by "li".
fn synced<'a>(
    kind: &'a str,
    id: &'a str,
    object: Option<&'a str>,
    mutation_id: &'a str,
    answer: &'a str,
) -> Synced<'a> {
    Synced {
        kind,
        id,
        object,
        at: "2026-11-23T10:00:00Z",
        by: "li",
        mutation_id,
        answer,
    }
}

#[test]
fn deleting_a_release_removes_its_rows() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = Store::open(&dir.path().join("cal.db")).unwrap();
    let plan = demo();
    store.write(Write::new(&[]).whole(&plan)).unwrap();
    let id = plan.releases[0].id.as_str().to_owned();
    store.write(Write::new(&[]).delete_release(&id)).unwrap();
    let again = store
        .write(Write::new(&[]).delete_release(&id))
        .unwrap_err();
    assert!(
        matches!(again, relcal_store::StoreError::NoSuchRelease(_)),
        "{again}"
    );
    let back = store.load_plan().unwrap().unwrap();
    assert_eq!(back.releases.len(), plan.releases.len() - 1);
    assert!(back.releases.iter().all(|r| r.id.as_str() != id));
}

#[test]
fn the_cached_catalog_follows_this_store_and_other_connections() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("cal.db");
    let mut store = Store::open(&path).unwrap();
    let plan = demo();
    store.write(Write::new(&[]).whole(&plan)).unwrap();
    assert_eq!(
        store.load_plan_without_releases().unwrap().unwrap().teams,
        plan.teams
    );
    // This store's own write.
    let mut renamed = plan.clone();
    renamed.teams[0].name = "Renamed here".into();
    store.write(Write::new(&[]).catalog(&renamed)).unwrap();
    assert_eq!(
        store.load_plan_without_releases().unwrap().unwrap().teams[0].name,
        "Renamed here"
    );
    // Another connection's write (the CLI, another window).
    let mut other = Store::open(&path).unwrap();
    renamed.teams[0].name = "Renamed elsewhere".into();
    other.write(Write::new(&[]).catalog(&renamed)).unwrap();
    assert_eq!(
        store.load_plan_without_releases().unwrap().unwrap().teams[0].name,
        "Renamed elsewhere"
    );
}

#[test]
fn each_release_row_carries_the_same_lists_as_its_normalised_rows() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("cal.db");
    let mut store = Store::open(&path).unwrap();
    let plan = demo();
    store.write(Write::new(&[]).whole(&plan)).unwrap();
    let mut moved = plan.releases[1].clone();
    moved.services.push(plan.services[1].id.clone());
    store.write(Write::new(&[]).release(&moved)).unwrap();
    let rows = store.releases_between(0, i64::MAX / 2).unwrap();
    let back = store.load_plan().unwrap().unwrap();
    assert_eq!(rows.len(), back.releases.len());
    for row in rows {
        let r = back
            .releases
            .iter()
            .find(|r| r.id.as_str() == row.id)
            .unwrap();
        let ids = |v: &[_]| {
            v.iter()
                .map(|x: &relcal_domain::ServiceId| x.to_string())
                .collect::<Vec<_>>()
        };
        assert_eq!(row.services, ids(&r.services), "{}", row.id);
        let deps: Vec<String> = r.depends_on.iter().map(ToString::to_string).collect();
        assert_eq!(row.depends_on, deps, "{}", row.id);
    }
}

fn record(action: &str, id: &str) -> relcal_store::AuditRecord {
    relcal_store::AuditRecord {
        at: "2026-11-23T10:00:00Z".into(),
        actor: "ana".into(),
        action: action.into(),
        object_kind: "release".into(),
        object_id: id.into(),
        before: Some("{\"a\":1}".into()),
        after: None,
    }
}

#[test]
fn changes_and_their_audit_entries_commit_together_and_chain() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("cal.db");
    let mut store = Store::open(&path).unwrap();
    let plan = demo();
    store
        .write(Write::new(&[record("calendar.import", "calendar")]).whole(&plan))
        .unwrap();
    let id = plan.releases[0].id.as_str().to_owned();
    let deleted = [record("release.delete", &id)];
    store
        .write(Write::new(&deleted).delete_release(&id))
        .unwrap();
    // A failed change writes no entry: the release is gone, so there is nothing to delete.
    store
        .write(Write::new(&deleted).delete_release(&id))
        .unwrap_err();
    let entries = store.audit_entries(None).unwrap();
    assert_eq!(
        entries
            .iter()
            .map(|e| (e.seq, e.action.as_str()))
            .collect::<Vec<_>>(),
        [(1, "calendar.import"), (2, "release.delete")]
    );
    assert_eq!(entries[1].prev_hash, entries[0].hash);
    assert_eq!(store.verify_audit().unwrap(), Ok(2));
    assert_eq!(
        store.audit_entries(Some(("release", &id))).unwrap().len(),
        1
    );
}

#[test]
fn the_trail_refuses_edits_and_verify_names_the_first_tampered_entry() {
    use relcal_domain::ChainBreak;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("cal.db");
    let mut store = Store::open(&path).unwrap();
    let plan = demo();
    let records: Vec<_> = (1..=5)
        .map(|i| record("release.move", &format!("r{i}")))
        .collect();
    store.write(Write::new(&records).whole(&plan)).unwrap();
    let raw = rusqlite::Connection::open(&path).unwrap();
    // The table itself refuses changes.
    let refused = raw.execute("UPDATE audit_log SET actor = 'mallory' WHERE seq = 3", []);
    assert!(refused.unwrap_err().to_string().contains("append-only"));
    assert!(raw
        .execute("DELETE FROM audit_log WHERE seq = 3", [])
        .is_err());

    // Someone who drops the triggers is still caught, at the first bad entry.
    let tamper = |sql: &str| -> Result<u64, ChainBreak> {
        let copy = dir.path().join("copy.db");
        let _ = std::fs::remove_file(&copy);
        rusqlite::Connection::open(&path)
            .unwrap()
            .execute("VACUUM INTO ?1", [copy.to_str().unwrap()])
            .unwrap();
        let raw = rusqlite::Connection::open(&copy).unwrap();
        raw.execute_batch(&format!(
            "DROP TRIGGER audit_log_append_only_update; DROP TRIGGER audit_log_append_only_delete; {sql}"
        ))
        .unwrap();
        drop(raw);
        Store::open(&copy).unwrap().verify_audit().unwrap()
    };
    assert_eq!(tamper(""), Ok(5));
    assert_eq!(
        tamper("UPDATE audit_log SET actor = 'mallory' WHERE seq = 3"),
        Err(ChainBreak::Edited { seq: 3 })
    );
    assert_eq!(
        tamper("DELETE FROM audit_log WHERE seq = 2"),
        Err(ChainBreak::Unlinked {
            seq: 3,
            expected_seq: 2
        })
    );
    assert_eq!(
        tamper(
            "UPDATE audit_log SET seq = 100 WHERE seq = 2; UPDATE audit_log SET seq = 2 WHERE seq = 3;
             UPDATE audit_log SET seq = 3 WHERE seq = 100;"
        ),
        Err(ChainBreak::Unlinked { seq: 2, expected_seq: 2 })
    );
    assert_eq!(
        tamper("DELETE FROM audit_log WHERE seq = 5"),
        Err(ChainBreak::Truncated {
            last_seq: 4,
            head_seq: 5
        })
    );
}

#[test]
fn a_synced_change_and_its_log_entry_and_answer_commit_together_or_not_at_all() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = Store::open(&dir.path().join("cal.db")).unwrap();
    let plan = demo();
    store.write(Write::new(&[]).whole(&plan)).unwrap();
    // Dropping a team that releases use fails at commit: nothing of it stays.
    let used = plan.releases[0].team.clone();
    let mut broken = plan.clone();
    broken.teams.retain(|t| t.id != used);
    broken.services.retain(|s| s.team != used);
    broken.freezes.clear();
    let err = store
        .write(
            Write::new(&[record("team.sync", used.as_str())])
                .catalog(&broken)
                .synced(synced("team", used.as_str(), None, "m1", "{}")),
        )
        .unwrap_err();
    assert!(err.to_string().contains("FOREIGN KEY"), "{err}");
    assert_eq!(store.sync_log_len().unwrap(), 0);
    assert_eq!(store.sync_mutation_result("m1").unwrap(), None);
    assert!(store.audit_entries(None).unwrap().is_empty());
    assert_eq!(store.load_plan().unwrap().as_ref(), Some(&plan));
    // A good one writes all four.
    let mut moved = plan.releases[0].clone();
    moved.title = "renamed".into();
    store
        .write(
            Write::new(&[record("release.sync", moved.id.as_str())])
                .release(&moved)
                .synced(synced(
                    "release",
                    moved.id.as_str(),
                    Some("{}"),
                    "m2",
                    "{\"ok\":1}",
                )),
        )
        .unwrap();
    assert_eq!(
        store.sync_current("release", moved.id.as_str()).unwrap().0,
        1
    );
    assert_eq!(
        store.sync_mutation_result("m2").unwrap().as_deref(),
        Some("{\"ok\":1}")
    );
    assert_eq!(store.audit_entries(None).unwrap().len(), 1);
}

#[test]
fn an_unreadable_change_log_entry_is_an_error_never_a_deletion() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("server.db");
    let mut store = Store::open(&path).unwrap();
    store.write(Write::new(&[]).whole(&demo())).unwrap();
    let now = chrono::DateTime::parse_from_rfc3339("2027-01-04T09:00:00Z")
        .unwrap()
        .to_utc();
    let all = relcal_server_core::changes_since(&mut store, 0, 1000, now).unwrap();
    let first = all.changes.first().unwrap().clone();
    assert!(first.object.is_some());
    // Damage one stored object, as a disk fault or a hand edit would.
    rusqlite::Connection::open(&path)
        .unwrap()
        .execute(
            "UPDATE sync_log SET object = '{\"id\": ' WHERE seq = ?1",
            [first.seq],
        )
        .unwrap();
    let error = relcal_server_core::changes_since(&mut store, 0, 1000, now).unwrap_err();
    assert_eq!(error.code, relcal_protocol::ErrorCode::Internal);
    assert!(
        error.message.contains(&format!("entry {}", first.seq))
            && error.message.contains(&first.id),
        "{}",
        error.message
    );
    // The entries after it are still served, and none became a deletion.
    let after = relcal_server_core::changes_since(&mut store, first.seq, 1000, now).unwrap();
    assert_eq!(after.changes.len(), all.changes.len() - 1);
    assert!(after.changes.iter().all(|c| c.object.is_some()));
}

#[test]
fn an_expiring_exception_and_who_asked_for_it_are_stored() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = Store::open(&dir.path().join("cal.db")).unwrap();
    let text = relcal_api_free_demo().replace(
        r#""by": "cfo" }"#,
        r#""by": "cfo", "requested_by": "sam", "expires": "2026-11-30T10:15:00Z" }"#,
    );
    assert!(text.contains("requested_by"));
    let plan = parse_plan(&text).unwrap();
    store.write(Write::new(&[]).whole(&plan)).unwrap();
    let back = store.load_plan().unwrap().unwrap();
    assert_eq!(back, plan);
    let o = &back
        .releases
        .iter()
        .find(|r| r.id.as_str() == "ledger-hotfix")
        .unwrap()
        .overrides[0];
    assert_eq!(o.requested_by.as_deref(), Some("sam"));
    assert_eq!(
        o.expires.as_ref().map(|t| t.value.to_string()).as_deref(),
        Some("2026-11-30T10:15:00Z")
    );
}

/// The demo plan's text.
fn relcal_api_free_demo() -> String {
    std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../assets/demo-plan.json"
    ))
    .unwrap()
}

#[test]
fn a_release_rewritten_in_place_reads_back_as_if_written_whole() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = Store::open(&dir.path().join("cal.db")).unwrap();
    let plan = demo();
    store.write(Write::new(&[]).whole(&plan)).unwrap();
    // One change of each row set, and of the release's own row, alone and together.
    let base = plan
        .releases
        .iter()
        .find(|r| r.rollback.is_some() && !r.approvals.is_empty())
        .unwrap()
        .clone();
    let other_service = plan
        .services
        .iter()
        .find(|s| !base.services.contains(&s.id))
        .unwrap()
        .id
        .clone();
    let other_release = plan
        .releases
        .iter()
        .find(|r| r.id != base.id)
        .unwrap()
        .id
        .clone();
    let freeze = plan.freezes[0].id.clone();
    type Change = Box<dyn Fn(&mut relcal_domain::Release)>;
    let changes: Vec<(&str, Change)> = vec![
        ("owner", Box::new(|r| r.owner = Some("someone else".into()))),
        (
            "services",
            Box::new(move |r| r.services.push(other_service.clone())),
        ),
        (
            "dependencies",
            Box::new(move |r| r.depends_on = vec![other_release.clone()]),
        ),
        ("approvals", Box::new(|r| r.approvals.truncate(1))),
        (
            "checklist",
            Box::new(|r| {
                r.checklist = vec![relcal_domain::ChecklistItem {
                    id: "new".into(),
                    text: "New".into(),
                    required: true,
                    done: true,
                }]
            }),
        ),
        ("rollback gone", Box::new(|r| r.rollback = None)),
        (
            "overrides",
            Box::new(move |r| {
                r.overrides = vec![relcal_domain::FreezeOverride {
                    freeze: freeze.clone(),
                    reason: "why".into(),
                    by: "cfo".into(),
                    requested_by: Some("li".into()),
                    expires: None,
                }]
            }),
        ),
    ];
    let mut stored = base.clone();
    for (what, change) in &changes {
        let mut next = stored.clone();
        change(&mut next);
        store
            .write(Write::new(&[]).release_replacing(&next, &stored))
            .unwrap();
        let read = store.load_plan().unwrap().unwrap();
        let got = read.releases.iter().find(|r| r.id == base.id).unwrap();
        assert_eq!(got, &next, "after changing {what}");
        // Its place and the other releases stay.
        assert_eq!(
            read.releases.iter().position(|r| r.id == base.id),
            plan.releases.iter().position(|r| r.id == base.id)
        );
        assert_eq!(read.releases.len(), plan.releases.len());
        stored = next;
    }
    // The rollback plan comes back, with its steps.
    let mut next = stored.clone();
    next.rollback = base.rollback.clone();
    store
        .write(Write::new(&[]).release_replacing(&next, &stored))
        .unwrap();
    let read = store.load_plan().unwrap().unwrap();
    assert_eq!(
        read.releases.iter().find(|r| r.id == base.id).unwrap(),
        &next
    );
    assert_eq!(store.integrity_check().unwrap(), Ok(()));
    // A release not stored is written whole, at the end.
    let mut new = base.clone();
    new.id = relcal_domain::ReleaseId::new("brand-new");
    store
        .write(Write::new(&[]).release_replacing(&new, &base))
        .unwrap();
    let read = store.load_plan().unwrap().unwrap();
    assert_eq!(read.releases.last(), Some(&new));
}
