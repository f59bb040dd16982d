//! Two desktop databases and one server, through the real HTTP client.
//!
//! Real desktops (relcal_api stores) syncing with the real server, both
//! backends: merges, imports, authors, divergence, every kind of write; and
//! the `relcal` CLI over HTTP with the audit chains anchored on the server
//! (`cli`).

#![allow(
    clippy::unwrap_used,
    reason = "a test should panic loudly on a broken assumption"
)]

mod common;
#[allow(unused_imports, reason = "the shared set-up, each file its own part")]
use common::*;
#[allow(unused_imports, reason = "the shared set-up, each file its own part")]
use std::process::Command;

use relcal_testkit::at;

fn desktop(dir: &std::path::Path, name: &str, user: &str) -> relcal_api::Store {
    let mut store = relcal_api::open_store(&dir.join(format!("{name}.db"))).unwrap();
    store.set_actor(user);
    store
}

fn sync(store: &mut relcal_api::Store, server: &Server, token: &str) -> relcal_api::SyncReport {
    let mut http = relcal_http::HttpTransport::new(&server.base, token).unwrap();
    relcal_api::sync_once(store, &server.base, &mut http, at("2026-11-25T00:00:00Z")).unwrap()
}

fn server_plan(server: &Server, token: &str) -> String {
    let v: serde_json::Value = reqwest::blocking::Client::new()
        .get(format!("{}/v1/plan", server.base))
        .bearer_auth(token)
        .send()
        .unwrap()
        .json()
        .unwrap();
    serde_json::to_string_pretty(&v).unwrap()
}

fn plan_of(store: &relcal_api::Store) -> String {
    let v: serde_json::Value =
        serde_json::from_str(&relcal_api::export_plan_json(store).unwrap()).unwrap();
    serde_json::to_string_pretty(&v).unwrap()
}

fn edits_of_different_fields_merge_and_all_three_agree_the_same_field_is_one_conflict(
    backend: Backend,
) {
    let (dir, db, viewer) = setup(backend);
    let li = String::from_utf8(token(&db, "li", "editor").stdout)
        .unwrap()
        .trim()
        .to_owned();
    let omar = String::from_utf8(token(&db, "omar", "editor").stdout)
        .unwrap()
        .trim()
        .to_owned();
    let server = start(&db);
    let mut a = desktop(dir.path(), "a", "li");
    let mut b = desktop(dir.path(), "b", "omar");
    // First sync: each desktop takes the server's calendar.
    assert_eq!(sync(&mut a, &server, &li).pulled, 16);
    assert_eq!(sync(&mut b, &server, &omar).pulled, 16);
    assert_eq!(plan_of(&a), server_plan(&server, &viewer));

    // A moves checkout 2.0, B changes its owner: different fields.
    let now = at("2026-11-25T00:00:00Z");
    relcal_api::move_release(
        &mut a,
        "checkout-2.0",
        "2026-12-01T17:00:00Z",
        "2026-12-01T19:00:00Z",
        now,
    )
    .unwrap();
    let mut input = relcal_api::release_input(&b, "checkout-2.0").unwrap();
    input.owner = Some("omar".into());
    relcal_api::save_release(&mut b, input, now).unwrap();
    let ra = sync(&mut a, &server, &li);
    assert_eq!((ra.pushed, ra.conflicts), (1, 0));
    let rb = sync(&mut b, &server, &omar);
    assert_eq!((rb.pushed, rb.merged, rb.conflicts), (1, 1, 0), "{rb:?}");
    sync(&mut a, &server, &li);
    let agreed = server_plan(&server, &viewer);
    assert!(agreed.contains("\"owner\": \"omar\"") && agreed.contains("2026-12-01T17:00:00Z"));
    assert_eq!(plan_of(&a), agreed);
    assert_eq!(plan_of(&b), agreed);
    // Nothing left to do.
    let idle = sync(&mut a, &server, &li);
    assert_eq!((idle.pushed, idle.pulled, idle.conflicts), (0, 0, 0));

    // Now both change the owner: the second pusher gets exactly one conflict.
    for (store, who) in [(&mut a, "li"), (&mut b, "zed")] {
        let mut input = relcal_api::release_input(store, "checkout-2.0").unwrap();
        input.owner = Some(who.into());
        relcal_api::save_release(store, input, now).unwrap();
    }
    assert_eq!(sync(&mut a, &server, &li).conflicts, 0);
    assert_eq!(sync(&mut b, &server, &omar).conflicts, 1);
    let conflicts = relcal_api::sync_conflicts(&b).unwrap();
    assert_eq!(conflicts.len(), 1);
    assert_eq!(conflicts[0].3["fields"], serde_json::json!(["owner"]));
    assert_eq!(conflicts[0].3["server"]["owner"], "li");
    // The app's view: the field, with yours, theirs and the original.
    let views = relcal_api::sync_conflict_views(&b).unwrap();
    assert_eq!(views.len(), 1);
    assert_eq!(views[0].mutation_id, conflicts[0].0);
    assert_eq!((views[0].refused, views[0].deleted), (false, false));
    assert_eq!(views[0].title.as_deref(), Some("checkout 2.0"));
    assert_eq!(
        views[0].fields,
        [relcal_api::SyncConflictField {
            name: "owner".into(),
            yours: Some("\"zed\"".into()),
            theirs: Some("\"li\"".into()),
            original: Some("\"omar\"".into()),
        }]
    );
    // B keeps its value until a person chooses; the server keeps A's.
    assert!(plan_of(&b).contains("\"owner\": \"zed\""));
    assert!(server_plan(&server, &viewer).contains("\"owner\": \"li\""));

    // B takes theirs: all three agree on li.
    relcal_api::resolve_sync_conflict(&mut b, &conflicts[0].0, false, now).unwrap();
    assert!(relcal_api::sync_conflicts(&b).unwrap().is_empty());
    assert_eq!(plan_of(&b), server_plan(&server, &viewer));

    // Again, and this time B keeps its own: the resolution goes out as a new mutation.
    for (store, who) in [(&mut a, "kai"), (&mut b, "sam")] {
        let mut input = relcal_api::release_input(store, "checkout-2.0").unwrap();
        input.owner = Some(who.into());
        relcal_api::save_release(store, input, now).unwrap();
    }
    assert_eq!(sync(&mut a, &server, &li).conflicts, 0);
    assert_eq!(sync(&mut b, &server, &omar).conflicts, 1);
    let second = relcal_api::sync_conflicts(&b).unwrap();
    relcal_api::resolve_sync_conflict(&mut b, &second[0].0, true, now).unwrap();
    let pushed = sync(&mut b, &server, &omar);
    assert_eq!(
        (pushed.pushed, pushed.conflicts),
        (1, 0),
        "{pushed:?} {:?}",
        relcal_api::sync_conflicts(&b).unwrap()
    );
    sync(&mut a, &server, &li);
    let agreed = server_plan(&server, &viewer);
    assert!(agreed.contains("\"owner\": \"sam\""));
    assert_eq!(plan_of(&a), agreed);
    assert_eq!(plan_of(&b), agreed);
    let err = relcal_api::resolve_sync_conflict(&mut b, "nope", true, now).unwrap_err();
    assert_eq!(err.code, relcal_api::ErrorCode::NotFound);
}

fn an_import_after_a_sync_reaches_the_server(backend: Backend) {
    // Issue 14, item 15: the import's audit entry names the calendar, not
    // an object, and the push used to send nothing for it.
    let (dir, db, viewer) = setup(backend);
    let li = String::from_utf8(token(&db, "li", "admin").stdout)
        .unwrap()
        .trim()
        .to_owned();
    let server = start(&db);
    let mut a = desktop(dir.path(), "a", "li");
    assert_eq!(sync(&mut a, &server, &li).pulled, 16);
    // The same calendar, edited: a release moved, one removed, a team renamed.
    let mut plan: serde_json::Value =
        serde_json::from_str(&relcal_api::export_plan_json(&a).unwrap()).unwrap();
    let releases = plan["releases"].as_array_mut().unwrap();
    releases.retain(|r| r["id"] != "ingress-xmas");
    for r in releases.iter_mut().filter(|r| r["id"] == "checkout-2.0") {
        r["start"] = "2026-12-03T15:00:00Z".into();
        r["end"] = "2026-12-03T17:00:00Z".into();
    }
    for t in plan["teams"].as_array_mut().unwrap() {
        if t["id"] == "payments" {
            t["name"] = "Payments & billing".into();
        }
    }
    relcal_api::import_plan_text(&mut a, &plan.to_string()).unwrap();
    let report = sync(&mut a, &server, &li);
    assert_eq!(report.pushed, 3, "{report:?}");
    assert_eq!(report.conflicts, 0, "{report:?}");
    assert_eq!(plan_of(&a), server_plan(&server, &viewer));
    // Nothing left to send.
    assert_eq!(sync(&mut a, &server, &li).pushed, 0);
}

fn a_pulled_change_keeps_its_real_author_in_the_audit_trail(backend: Backend) {
    let (dir, db, _viewer) = setup(backend);
    let [li, omar] = ["li", "omar"].map(|user| {
        String::from_utf8(token(&db, user, "editor").stdout)
            .unwrap()
            .trim()
            .to_owned()
    });
    let server = start(&db);
    let mut a = desktop(dir.path(), "a", "li");
    let mut b = desktop(dir.path(), "b", "omar");
    sync(&mut a, &server, &li);
    sync(&mut b, &server, &omar);
    let mut input = relcal_api::release_input(&b, "checkout-2.0").unwrap();
    input.owner = Some("omar".into());
    relcal_api::save_release(&mut b, input, at("2026-11-25T00:00:00Z")).unwrap();
    sync(&mut b, &server, &omar);
    assert_eq!(sync(&mut a, &server, &li).pulled, 1);
    let trail = relcal_api::audit_log(&a, Some("checkout-2.0")).unwrap();
    let last = trail.iter().max_by_key(|e| e.seq).unwrap();
    // omar made it, as the server authenticated him; li only received it.
    assert_eq!(last.actor, "omar (via sync, pulled by li)", "{trail:?}");
    assert_eq!(last.action, "release.pulled");
}

fn a_calendar_that_differs_from_the_servers_without_a_pending_change_is_shown_never_hidden(
    backend: Backend,
) {
    let (dir, db, viewer) = setup(backend);
    let li = String::from_utf8(token(&db, "li", "editor").stdout)
        .unwrap()
        .trim()
        .to_owned();
    let server = start(&db);
    let mut a = desktop(dir.path(), "a", "li");
    sync(&mut a, &server, &li);
    assert_eq!(plan_of(&a), server_plan(&server, &viewer));
    // A change that left no trace in the audit trail (a bug, a hand edit,
    // a restored backup): sync has nothing pending to send.
    let file = rusqlite::Connection::open(dir.path().join("a.db")).unwrap();
    file.execute(
        "UPDATE releases SET title = 'edited behind sync' WHERE id = 'checkout-2.0'",
        [],
    )
    .unwrap();
    drop(file);
    let report = sync(&mut a, &server, &li);
    assert_eq!(report.diverged, 1, "{report:?}");
    assert_eq!(report.pushed, 0, "{report:?}");
    let views = relcal_api::sync_conflict_views(&a).unwrap();
    assert_eq!(views.len(), 1, "{views:?}");
    let title = views[0]
        .fields
        .iter()
        .find(|f| f.name == "title")
        .unwrap_or_else(|| panic!("{views:?}"));
    assert_eq!(title.yours.as_deref(), Some("\"edited behind sync\""));
    assert_eq!(title.theirs.as_deref(), Some("\"checkout 2.0\""));
    // Until a person chooses, it is not reported again.
    assert_eq!(sync(&mut a, &server, &li).diverged, 0);
    // Keeping the server's copy makes them agree, and the next sync says so.
    relcal_api::resolve_sync_conflict(
        &mut a,
        &views[0].mutation_id,
        false,
        at("2026-11-25T00:00:00Z"),
    )
    .unwrap();
    assert_eq!(plan_of(&a), server_plan(&server, &viewer));
    let report = sync(&mut a, &server, &li);
    assert_eq!((report.diverged, report.conflicts), (0, 0), "{report:?}");
}

fn every_kind_of_local_write_reaches_the_server(backend: Backend) {
    let (dir, db, viewer) = setup(backend);
    // An admin and an approver: every write below is theirs to make.
    let li = String::from_utf8(token(&db, "li", "admin").stdout)
        .unwrap()
        .trim()
        .to_owned();
    let server = start(&db);
    let mut a = desktop(dir.path(), "a", "li");
    sync(&mut a, &server, &li);
    let now = at("2026-11-25T00:00:00Z");
    let same = |a: &mut relcal_api::Store, what: &str| {
        let report = sync(a, &server, &li);
        assert_eq!(
            (report.conflicts, report.diverged),
            (0, 0),
            "after {what}: {report:?} {:?}",
            relcal_api::sync_conflict_views(a).unwrap()
        );
        // The same objects; the order of a list is not part of the
        // calendar (an object put back here goes to the end there).
        let sorted = |text: String| {
            let mut v: serde_json::Value = serde_json::from_str(&text).unwrap();
            for list in ["teams", "services", "environments", "freezes", "releases"] {
                if let Some(items) = v[list].as_array_mut() {
                    items.sort_by(|x, y| x["id"].as_str().cmp(&y["id"].as_str()));
                }
            }
            serde_json::to_string_pretty(&v).unwrap()
        };
        assert_eq!(
            sorted(plan_of(a)),
            sorted(server_plan(&server, &viewer)),
            "after {what}"
        );
    };
    // Each kind of write the app and the CLI make, each followed by a sync.
    let moved = relcal_api::move_release(
        &mut a,
        "checkout-2.0",
        "2026-12-03T15:00:00Z",
        "2026-12-03T17:00:00Z",
        now,
    )
    .unwrap();
    same(&mut a, "a move");
    relcal_api::undo_change(&mut a, &moved.undo, now).unwrap();
    same(&mut a, "an undo");
    relcal_api::set_release_status(&mut a, "ingress-xmas", "cancelled", now).unwrap();
    same(&mut a, "a status");
    relcal_api::approve_release(&mut a, "checkout-2.0", now).unwrap();
    same(&mut a, "an approval (stamped by the server)");
    relcal_api::set_checklist_item(
        &mut a,
        "checkout-2.0",
        relcal_api::ChecklistItemInput {
            item_id: "smoke".into(),
            done: true,
            owner: None,
            note: None,
        },
        now,
    )
    .unwrap();
    same(&mut a, "a checklist tick");
    let team = relcal_api::TeamInput {
        id: "web".into(),
        name: "Web".into(),
        timezone: None,
    };
    relcal_api::save_team(&mut a, team, now).unwrap();
    same(&mut a, "a new team");
    let deleted =
        relcal_api::delete_object(&mut a, relcal_api::ObjectKind::Freeze, "no-friday", now)
            .unwrap();
    same(&mut a, "a deleted freeze");
    relcal_api::undo_change(&mut a, &deleted.undo, now).unwrap();
    same(&mut a, "a freeze put back");
    let ics = "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//t//t//EN\r\nBEGIN:VEVENT\r\n\
               UID:20270101-newyear@holidays.example\r\nDTSTAMP:20260101T000000Z\r\n\
               DTSTART;VALUE=DATE:20270101\r\nDTEND;VALUE=DATE:20270102\r\nSUMMARY:New Year\r\n\
               END:VEVENT\r\nEND:VCALENDAR\r\n";
    relcal_api::import_holidays(&mut a, ics, "hard", &["prod".into()], now).unwrap();
    same(&mut a, "a holiday import");
    let mut plan: serde_json::Value =
        serde_json::from_str(&relcal_api::export_plan_json(&a).unwrap()).unwrap();
    plan["releases"]
        .as_array_mut()
        .unwrap()
        .retain(|r| r["id"] != "ledger-hotfix");
    relcal_api::import_plan_text(&mut a, &plan.to_string()).unwrap();
    same(&mut a, "an import");
}

fn an_exception_asked_for_on_one_desktop_is_approved_on_another(backend: Backend) {
    // Ana asks on her desktop; li, on his, finds the request at his next
    // sync and approves it; ana's desktop then holds the exception and the
    // approved request. The server says who asked and who approved.
    let (dir, db, viewer) = setup(backend);
    let tok = |user: &str, role: &str| {
        String::from_utf8(token(&db, user, role).stdout)
            .unwrap()
            .trim()
            .to_owned()
    };
    let (ana, li) = (tok("ana", "editor"), tok("li", "approver"));
    let server = start_at(&db, Some("2026-11-25T00:00:00Z"));
    let mut a = desktop(dir.path(), "a", "ana");
    let mut b = desktop(dir.path(), "b", "li");
    sync(&mut a, &server, &ana);
    sync(&mut b, &server, &li);
    let now = at("2026-11-25T00:00:00Z");
    let asked = relcal_api::ask_exception(
        &mut a,
        "ingress-xmas",
        "holidays",
        "certificate expires",
        Some(at("2026-12-22T09:30:00Z")),
        now,
    )
    .unwrap();
    let mine = relcal_api::approve_exception_request(&mut a, &asked.id, now).unwrap_err();
    assert!(
        mine.message.contains("ana asked for the exception"),
        "{}",
        mine.message
    );
    // Not on li's desktop before ana syncs; there after both did.
    sync(&mut b, &server, &li);
    assert!(relcal_api::exception_requests(&b, true).unwrap().is_empty());
    sync(&mut a, &server, &ana);
    sync(&mut b, &server, &li);
    let waiting = relcal_api::exception_requests(&b, true).unwrap();
    assert_eq!(waiting.len(), 1);
    assert_eq!(waiting[0].id, asked.id);
    assert_eq!(waiting[0].requested_by, "ana");

    relcal_api::approve_exception_request(&mut b, &asked.id, now).unwrap();
    sync(&mut b, &server, &li);
    let plan: serde_json::Value = serde_json::from_str(&server_plan(&server, &viewer)).unwrap();
    let xmas = plan["releases"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["id"] == "ingress-xmas")
        .unwrap()
        .clone();
    assert_eq!(
        xmas["overrides"],
        serde_json::json!([{"freeze": "holidays", "reason": "certificate expires", "by": "li",
                            "requested_by": "ana", "expires": "2026-12-22T09:30:00Z"}])
    );
    let on_server: serde_json::Value = reqwest::blocking::Client::new()
        .get(format!("{}/v1/exception-requests", server.base))
        .bearer_auth(&viewer)
        .send()
        .unwrap()
        .json()
        .unwrap();
    assert_eq!(on_server["requests"][0]["state"], "approved");
    assert_eq!(on_server["requests"][0]["decided_by"], "li");

    // Ana's desktop: the exception, and her request approved by li.
    sync(&mut a, &server, &ana);
    assert_eq!(plan_of(&a), server_plan(&server, &viewer));
    let hers = relcal_api::exception_requests(&a, false).unwrap();
    assert_eq!(hers[0].state, relcal_api::RequestState::Approved);
    assert_eq!(hers[0].decided_by.as_deref(), Some("li"));
    assert!(relcal_api::exception_requests(&a, true).unwrap().is_empty());
}

crate::on_both_backends!(
    every_kind_of_local_write_reaches_the_server,
    a_calendar_that_differs_from_the_servers_without_a_pending_change_is_shown_never_hidden,
    edits_of_different_fields_merge_and_all_three_agree_the_same_field_is_one_conflict,
    an_import_after_a_sync_reaches_the_server,
    a_pulled_change_keeps_its_real_author_in_the_audit_trail,
    an_exception_asked_for_on_one_desktop_is_approved_on_another
);

mod cli {
    //! `relcal sync` and `relcal conflicts --sync` against the real server.
    use super::*;

    /// The `relcal` binary, built beside this test's (same target directory).
    fn relcal() -> Command {
        let exe = std::env::current_exe().unwrap();
        let dir = exe.parent().unwrap().parent().unwrap();
        Command::new(dir.join("relcal"))
    }

    fn relcal_http_pulls_the_calendar_and_lists_no_conflicts(backend: Backend) {
        let (dir, db, _viewer) = setup(backend);
        let li = String::from_utf8(token(&db, "li", "editor").stdout)
            .unwrap()
            .trim()
            .to_owned();
        let server = start(&db);
        let local = dir.path().join("desk.db");
        relcal_api::open_store(&local).unwrap();
        let local = local.to_str().unwrap();
        let no_token = relcal()
            .args(["sync", "--db", local, "--server", &server.base])
            .env_remove("RELCAL_TOKEN")
            .output()
            .unwrap();
        assert_eq!(no_token.status.code(), Some(2));
        assert!(String::from_utf8_lossy(&no_token.stderr).contains("RELCAL_TOKEN"));
        let out = relcal()
            .args(["sync", "--db", local, "--server", &server.base])
            .env("RELCAL_TOKEN", &li)
            .output()
            .unwrap();
        assert_eq!(
            out.status.code(),
            Some(0),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert_eq!(
            String::from_utf8_lossy(&out.stdout).trim(),
            "pushed 0 (0 merged), pulled 16, 0 new conflicts"
        );
        let wrong = relcal()
            .args(["sync", "--db", local, "--server", &server.base])
            .env("RELCAL_TOKEN", "rc_bad")
            .output()
            .unwrap();
        assert_eq!(wrong.status.code(), Some(3));
        assert!(String::from_utf8_lossy(&wrong.stderr).contains("the token is not valid"));
        let list = relcal()
            .args(["conflicts", "--db", local, "--sync"])
            .output()
            .unwrap();
        assert_eq!(list.status.code(), Some(0));
        assert!(String::from_utf8_lossy(&list.stdout).contains("0 unresolved"));
    }

    /// Rewrites a desktop's whole audit chain, head included, as an intruder
    /// with the file would: entry #1 says another actor, and every hash after
    /// it is made again, so the chain on its own checks out.
    fn rewrite_chain(file: &std::path::Path) {
        let c = rusqlite::Connection::open(file).unwrap();
        c.execute_batch(
            "DROP TRIGGER audit_log_append_only_update; DROP TRIGGER audit_log_append_only_delete;
             UPDATE audit_log SET actor = 'mallory' WHERE seq = 1;",
        )
        .unwrap();
        // The entries as the store reads them, the actor already changed.
        let rows = relcal_api::open_store(file)
            .unwrap()
            .audit_entries(None)
            .unwrap();
        let mut prev = relcal_domain::GENESIS.to_owned();
        for mut e in rows {
            e.prev_hash.clone_from(&prev);
            let hash = e.computed_hash();
            c.execute(
                "UPDATE audit_log SET prev_hash = ?1, hash = ?2 WHERE seq = ?3",
                rusqlite::params![prev, hash, e.seq],
            )
            .unwrap();
            c.execute(
                "UPDATE audit_head SET seq = ?1, hash = ?2",
                rusqlite::params![e.seq, hash],
            )
            .unwrap();
            prev = hash;
        }
    }

    fn a_rewritten_chain_is_caught_against_the_heads_the_server_kept(backend: Backend) {
        let (dir, db, _viewer) = setup(backend);
        let li = String::from_utf8(token(&db, "li", "editor").stdout)
            .unwrap()
            .trim()
            .to_owned();
        let server = start(&db);
        let file = dir.path().join("desk.db");
        relcal_api::open_store(&file).unwrap();
        let file_arg = file.to_str().unwrap();
        let sync = relcal()
            .args(["sync", "--db", file_arg, "--server", &server.base])
            .env("RELCAL_TOKEN", &li)
            .output()
            .unwrap();
        assert_eq!(
            sync.status.code(),
            Some(0),
            "{}",
            String::from_utf8_lossy(&sync.stderr)
        );
        let verify = |anchored: bool| {
            let mut args = vec!["audit", "verify", "--db", file_arg];
            if anchored {
                args.extend(["--server", &server.base]);
            }
            relcal()
                .args(&args)
                .env("RELCAL_TOKEN", &li)
                .output()
                .unwrap()
        };
        let ok = verify(true);
        assert_eq!(
            ok.status.code(),
            Some(0),
            "{}",
            String::from_utf8_lossy(&ok.stderr)
        );
        assert!(String::from_utf8_lossy(&ok.stdout).contains("matches the 1 heads the server kept"));

        rewrite_chain(&file);
        // On its own the rewritten chain checks out...
        let alone = verify(false);
        assert_eq!(
            alone.status.code(),
            Some(0),
            "{}",
            String::from_utf8_lossy(&alone.stderr)
        );
        // ...but not against what the server kept.
        let caught = verify(true);
        assert_eq!(caught.status.code(), Some(1));
        let said = String::from_utf8_lossy(&caught.stderr);
        assert!(said.contains("the trail was rewritten"), "{said}");
    }

    fn the_servers_own_trail_is_verified_and_append_only(backend: Backend) {
        let (_dir, db, _viewer) = setup(backend);
        let ok = server_cmd(&db, &["audit", "verify"], None);
        assert_eq!(
            ok.status.code(),
            Some(0),
            "{}",
            String::from_utf8_lossy(&ok.stderr)
        );
        assert!(String::from_utf8_lossy(&ok.stdout).contains("the audit trail is intact"));
        match &db.postgres {
            Some(pg) => {
                // The table refuses edits, deletions and truncation...
                for sql in [
                    "UPDATE audit_log SET actor = 'mallory' WHERE seq = 1",
                    "DELETE FROM audit_log WHERE seq = 1",
                    "TRUNCATE audit_log",
                ] {
                    let out = pg.psql(sql);
                    assert!(!out.status.success(), "{sql}");
                    assert!(
                        String::from_utf8_lossy(&out.stderr).contains("append-only"),
                        "{sql}"
                    );
                }
                // ...and an edit made with the triggers off is found.
                let out = pg.psql(
                    "ALTER TABLE audit_log DISABLE TRIGGER USER; UPDATE audit_log SET actor = 'mallory' WHERE seq = 1",
                );
                assert!(
                    out.status.success(),
                    "{}",
                    String::from_utf8_lossy(&out.stderr)
                );
            }
            None => {
                let file = db.args[1].clone();
                let c = rusqlite::Connection::open(file).unwrap();
                c.execute_batch(
                    "DROP TRIGGER audit_log_append_only_update; UPDATE audit_log SET actor = 'mallory' WHERE seq = 1;",
                )
                .unwrap();
            }
        }
        let broken = server_cmd(&db, &["audit", "verify"], None);
        assert_eq!(broken.status.code(), Some(1));
        let said = String::from_utf8_lossy(&broken.stderr);
        assert!(said.contains("entry #1 was changed"), "{said}");
    }

    crate::on_both_backends!(
        relcal_http_pulls_the_calendar_and_lists_no_conflicts,
        a_rewritten_chain_is_caught_against_the_heads_the_server_kept,
        the_servers_own_trail_is_verified_and_append_only
    );
}
