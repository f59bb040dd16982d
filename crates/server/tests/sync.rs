//! Sync on the real server, both backends: versions, field merges and
//! conflicts, repeats answered once, invalid mutations refused with the
//! field; and two server processes racing on one database (`race`).

#![allow(
    clippy::unwrap_used,
    reason = "a test should panic loudly on a broken assumption"
)]

mod common;
#[allow(unused_imports, reason = "the shared set-up, each file its own part")]
use common::*;
#[allow(unused_imports, reason = "the shared set-up, each file its own part")]
use std::process::Command;

use serde_json::{json, Value};

fn post(server: &Server, token: &str, key: &str, body: &Value) -> reqwest::blocking::Response {
    reqwest::blocking::Client::new()
        .post(format!("{}/v1/mutations", server.base))
        .bearer_auth(token)
        .header("Idempotency-Key", key)
        .json(body)
        .send()
        .unwrap()
}

fn changes(server: &Server, token: &str, since: u64) -> Value {
    reqwest::blocking::Client::new()
        .get(format!("{}/v1/changes?since={since}", server.base))
        .bearer_auth(token)
        .send()
        .unwrap()
        .json()
        .unwrap()
}

fn mutation(id: &str, base: u64, fields: Value) -> Value {
    json!({ "mutation_id": id, "kind": "release", "id": "checkout-2.0", "base_version": base, "fields": fields })
}

fn different_fields_merge_the_same_field_is_one_conflict_and_repeats_change_nothing(
    backend: Backend,
) {
    let (_dir, db, viewer) = setup(backend);
    let editor = String::from_utf8(token(&db, "li", "editor").stdout)
        .unwrap()
        .trim()
        .to_owned();
    let server = start(&db);

    // Bootstrap: every object once, at version 1.
    let all = changes(&server, &viewer, 0);
    assert_eq!(all["changes"].as_array().unwrap().len(), 16, "{all}");
    assert!(all["changes"]
        .as_array()
        .unwrap()
        .iter()
        .all(|c| c["version"] == 1));
    let cursor = all["cursor"].as_u64().unwrap();

    // A viewer may not write.
    let denied = post(
        &server,
        &viewer,
        "k0",
        &json!({ "mutations": [mutation("v1", 1, json!({ "owner": "x" }))] }),
    );
    assert_eq!(denied.status(), 403);

    // Desktop A changes the owner, desktop B (also on version 1) the version: both apply.
    let a: Value = post(
        &server,
        &editor,
        "kA",
        &json!({ "mutations": [mutation("a1", 1, json!({ "owner": "li" }))] }),
    )
    .json()
    .unwrap();
    assert_eq!(
        a["results"][0],
        json!({ "outcome": "applied", "mutation_id": "a1", "version": 2, "merged": false })
    );
    let b: Value = post(
        &server,
        &editor,
        "kB",
        &json!({ "mutations": [mutation("b1", 1, json!({ "version": "2.0.1" }))] }),
    )
    .json()
    .unwrap();
    assert_eq!(
        b["results"][0],
        json!({ "outcome": "applied", "mutation_id": "b1", "version": 3, "merged": true })
    );
    // Desktop C changed the owner too, from version 1: one conflict, with both copies.
    let c: Value = post(
        &server,
        &editor,
        "kC",
        &json!({ "mutations": [mutation("c1", 1, json!({ "owner": "omar" }))] }),
    )
    .json()
    .unwrap();
    let r = &c["results"][0];
    assert_eq!(r["outcome"], "conflict", "{c}");
    assert_eq!(r["fields"], json!(["owner"]));
    assert_eq!(r["server"]["owner"], "li");
    assert_eq!(r["server_version"], 3);
    assert_eq!(r["base"]["owner"], "dana");

    // The same batch key, or the same mutation id: the first answer, nothing applied twice.
    let again: Value = post(
        &server,
        &editor,
        "kA",
        &json!({ "mutations": [mutation("a1", 1, json!({ "owner": "li" }))] }),
    )
    .json()
    .unwrap();
    assert_eq!(again, a);
    let repeat: Value = post(
        &server,
        &editor,
        "kA2",
        &json!({ "mutations": [mutation("b1", 1, json!({ "version": "2.0.1" }))] }),
    )
    .json()
    .unwrap();
    assert_eq!(repeat["results"][0], b["results"][0]);

    let after = changes(&server, &viewer, cursor);
    let list = after["changes"].as_array().unwrap();
    assert_eq!(list.len(), 2, "{after}");
    assert_eq!(list[1]["object"]["owner"], "li");
    assert_eq!(list[1]["object"]["version"], "2.0.1");
    // The calendar itself holds both, and the audit trail says who.
    let plan: Value = reqwest::blocking::Client::new()
        .get(format!("{}/v1/plan", server.base))
        .bearer_auth(&viewer)
        .send()
        .unwrap()
        .json()
        .unwrap();
    let checkout = plan["releases"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["id"] == "checkout-2.0")
        .unwrap()
        .clone();
    assert_eq!(
        (checkout["owner"].clone(), checkout["version"].clone()),
        (json!("li"), json!("2.0.1"))
    );
    // The same mutation id twice in one batch: applied once, answered twice alike.
    let twice: Value = post(
        &server,
        &editor,
        "kD",
        &json!({ "mutations": [
            mutation("d1", 3, json!({ "title": "Checkout 2.0, once" })),
            mutation("d1", 3, json!({ "title": "Checkout 2.0, once" })),
        ] }),
    )
    .json()
    .unwrap();
    assert_eq!(twice["results"][0]["outcome"], "applied", "{twice}");
    assert_eq!(twice["results"][0], twice["results"][1]);
    let after = changes(&server, &viewer, cursor);
    assert_eq!(after["changes"].as_array().unwrap().len(), 3, "{after}");
}

fn gate(server: &Server, token: &str, at: &str) -> bool {
    let answer: Value = reqwest::blocking::Client::new()
        .get(format!(
            "{}/v1/gate?env=prod&service=ingress&at={at}",
            server.base
        ))
        .bearer_auth(token)
        .send()
        .unwrap()
        .json()
        .unwrap();
    answer["allowed"].as_bool().unwrap()
}

fn the_warm_calendar_follows_every_write_also_from_another_server_process(backend: Backend) {
    // The read endpoints answer from a calendar kept in memory; a write,
    // through this server or another process on the same database, is
    // seen by the very next request.
    let (_dir, db, viewer) = setup(backend);
    // An admin: the hard freeze it adds, it also lifts (`policy.rs`).
    let editor = String::from_utf8(token(&db, "li", "admin").stdout)
        .unwrap()
        .trim()
        .to_owned();
    let a = start(&db);
    let b = start(&db);
    let at = "2027-01-12T09:00:00Z";
    assert!(gate(&a, &viewer, at));
    let freeze = json!({ "mutations": [{
        "mutation_id": "f1", "kind": "freeze", "id": "january", "base_version": 0,
        "fields": { "name": "January", "severity": "hard",
                    "start": "2027-01-11T00:00:00Z", "end": "2027-01-13T00:00:00Z" }
    }]});
    let added: Value = post(&a, &editor, "kf1", &freeze).json().unwrap();
    assert_eq!(added["results"][0]["outcome"], "applied", "{added}");
    assert!(!gate(&a, &viewer, at), "A's own write");
    assert!(!gate(&b, &viewer, at), "B reads the same database");
    // B deletes it; A, which answered from memory a moment ago, sees it.
    let gone = json!({ "mutations": [{
        "mutation_id": "f2", "kind": "freeze", "id": "january", "base_version": 1, "fields": null
    }]});
    let deleted: Value = post(&b, &editor, "kf2", &gone).json().unwrap();
    assert_eq!(deleted["results"][0]["outcome"], "applied", "{deleted}");
    assert!(gate(&a, &viewer, at), "B's write, seen by A");
    let plan: Value = reqwest::blocking::Client::new()
        .get(format!("{}/v1/plan", a.base))
        .bearer_auth(&viewer)
        .send()
        .unwrap()
        .json()
        .unwrap();
    assert!(
        !plan["freezes"]
            .as_array()
            .unwrap()
            .iter()
            .any(|f| f["id"] == "january"),
        "{plan}"
    );
}

fn invalid_mutations_are_rejected_with_the_field_and_bad_requests_get_4xx(backend: Backend) {
    let (_dir, db, _viewer) = setup(backend);
    let editor = String::from_utf8(token(&db, "li", "editor").stdout)
        .unwrap()
        .trim()
        .to_owned();
    let server = start(&db);
    let r: Value = post(&server, &editor, "k1", &json!({ "mutations": [
        mutation("m1", 1, json!({ "end": "2020-01-01T00:00:00Z" })),
        mutation("m2", 9, json!({ "owner": "x" })),
        mutation("m3", 1, json!({ "approvals": [{ "by": "li", "at": "2026-11-01T00:00:00Z" }] })),
        { "mutation_id": "m4", "kind": "release", "id": "ingress-xmas", "base_version": 1, "fields": null },
        // A second rule smuggled in after a line break, and a length that
        // once overflowed and panicked while the store was locked.
        { "mutation_id": "m5", "kind": "freeze", "id": "no-friday", "base_version": 1,
          "fields": { "rrule": "FREQ=WEEKLY;BYDAY=FR\nEXRULE:FREQ=DAILY" } },
        { "mutation_id": "m6", "kind": "freeze", "id": "no-friday", "base_version": 1,
          "fields": { "duration": "PT4294967295H" } },
    ] })).json().unwrap();
    let res = r["results"].as_array().unwrap();
    assert_eq!(res[0]["outcome"], "rejected");
    assert!(
        res[0]["reason"].as_str().unwrap().contains("field `end`"),
        "{r}"
    );
    assert!(
        res[1]["reason"]
            .as_str()
            .unwrap()
            .contains("field `base_version`"),
        "{r}"
    );
    assert!(
        res[2]["reason"].as_str().unwrap().contains("approver role"),
        "{r}"
    );
    assert_eq!(res[3]["outcome"], "applied", "{r}");
    for (i, needle) in [(4, "line break"), (5, "at most 366 days")] {
        assert_eq!(res[i]["outcome"], "rejected", "{r}");
        let reason = res[i]["reason"].as_str().unwrap();
        assert!(reason.contains(needle), "{r}");
    }
    let tomb = changes(&server, &editor, 16);
    assert_eq!(tomb["changes"][0]["id"], "ingress-xmas");
    assert_eq!(tomb["changes"][0]["object"], Value::Null);

    let http = reqwest::blocking::Client::new();
    let url = format!("{}/v1/mutations", server.base);
    let no_key = http
        .post(&url)
        .bearer_auth(&editor)
        .json(&json!({ "mutations": [] }))
        .send()
        .unwrap();
    assert_eq!(no_key.status(), 400);
    let malformed = http
        .post(&url)
        .bearer_auth(&editor)
        .header("Idempotency-Key", "x")
        .header("content-type", "application/json")
        .body("{\"mutations\": [")
        .send()
        .unwrap();
    assert!(malformed.status().is_client_error());
    let big = format!(
        "{{\"mutations\": [], \"pad\": \"{}\"}}",
        "x".repeat(2 * 1024 * 1024)
    );
    let oversized = http
        .post(&url)
        .bearer_auth(&editor)
        .header("Idempotency-Key", "y")
        .header("content-type", "application/json")
        .body(big)
        .send()
        .unwrap();
    assert!(
        oversized.status().is_client_error(),
        "{}",
        oversized.status()
    );
    let too_many: Vec<Value> = (0..501)
        .map(|i| mutation(&format!("n{i}"), 1, json!({ "owner": "x" })))
        .collect();
    let many = post(&server, &editor, "z", &json!({ "mutations": too_many }));
    assert_eq!(many.status(), 400);
    // The server is still there.
    assert_eq!(
        http.get(format!("{}/v1/whoami", server.base))
            .bearer_auth(&editor)
            .send()
            .unwrap()
            .status(),
        200
    );
}

crate::on_both_backends!(
    different_fields_merge_the_same_field_is_one_conflict_and_repeats_change_nothing,
    invalid_mutations_are_rejected_with_the_field_and_bad_requests_get_4xx,
    the_warm_calendar_follows_every_write_also_from_another_server_process
);

mod race {
    //! Two server processes on one database, sent conflicting mutations at
    //! the same instant.

    use super::*;
    use serde_json::{json, Value};

    fn post(server: &Server, token: &str, key: &str, mutations: Value) -> Value {
        reqwest::blocking::Client::new()
            .post(format!("{}/v1/mutations", server.base))
            .bearer_auth(token)
            .header("Idempotency-Key", key)
            .json(&json!({ "mutations": mutations }))
            .send()
            .unwrap()
            .json()
            .unwrap()
    }

    /// `a` and `b` at once, from two threads released together.
    fn together(
        a: impl FnOnce() -> Value + Send,
        b: impl FnOnce() -> Value + Send,
    ) -> (Value, Value) {
        let start = std::sync::Barrier::new(2);
        std::thread::scope(|s| {
            let ta = s.spawn(|| {
                start.wait();
                a()
            });
            let tb = s.spawn(|| {
                start.wait();
                b()
            });
            (ta.join().unwrap(), tb.join().unwrap())
        })
    }

    fn two_processes_never_break_the_calendar_nor_apply_a_mutation_twice(backend: Backend) {
        let (_dir, db, viewer) = setup(backend);
        let root = String::from_utf8(token(&db, "root", "admin").stdout)
            .unwrap()
            .trim()
            .to_owned();
        let (a, b) = (start(&db), start(&db));
        for round in 0..12 {
            // A deletes a team while B adds a release on it.
            let team = format!("race-{round}");
            let made = post(
                &a,
                &root,
                &format!("t{round}"),
                json!([{
                    "mutation_id": format!("team-{round}"), "kind": "team", "id": team,
                    "base_version": 0, "fields": { "name": "Race" }
                }]),
            );
            assert_eq!(made["results"][0]["outcome"], "applied", "{made}");
            let (deleted, added) = together(
                || {
                    post(
                        &a,
                        &root,
                        &format!("d{round}"),
                        json!([{
                            "mutation_id": format!("del-{round}"), "kind": "team", "id": team,
                            "base_version": 1, "fields": null
                        }]),
                    )
                },
                || {
                    post(
                        &b,
                        &root,
                        &format!("r{round}"),
                        json!([{
                            "mutation_id": format!("rel-{round}"), "kind": "release", "id": format!("on-{team}"),
                            "base_version": 0, "fields": { "title": "On the team", "team": team, "services": ["ingress"],
                                "environment": "staging", "start": "2027-02-01T10:00:00Z", "end": "2027-02-01T11:00:00Z",
                                "status": "planned" }
                        }]),
                    )
                },
            );
            let outcomes = [&deleted, &added].map(|r| r["results"][0]["outcome"].clone());
            assert_eq!(
                outcomes.iter().filter(|o| **o == "applied").count(),
                1,
                "round {round}: exactly one of the two applies: {deleted} {added}"
            );
            // The calendar still parses, and both processes serve it.
            for server in [&a, &b] {
                let plan = reqwest::blocking::Client::new()
                    .get(format!("{}/v1/plan", server.base))
                    .bearer_auth(&viewer)
                    .send()
                    .unwrap();
                assert_eq!(plan.status(), 200, "round {round}");
                relcal_api::validate_plan_text(&plan.text().unwrap()).unwrap();
            }

            // The same mutation sent to both at once is applied once.
            let same = json!([{
                "mutation_id": format!("same-{round}"), "kind": "release", "id": "checkout-2.0",
                "base_version": 1 + round, "fields": { "title": format!("checkout, round {round}") }
            }]);
            let (x, y) = together(
                || post(&a, &root, &format!("sa{round}"), same.clone()),
                || post(&b, &root, &format!("sb{round}"), same.clone()),
            );
            assert_eq!(x["results"], y["results"], "round {round}: one answer");
            assert_eq!(x["results"][0]["outcome"], "applied", "{x}");
            assert_eq!(x["results"][0]["version"], 2 + round, "round {round}: {x}");
        }
        // Twelve title changes, each logged once.
        let log: Value = reqwest::blocking::Client::new()
            .get(format!("{}/v1/changes?since=0", a.base))
            .bearer_auth(&viewer)
            .send()
            .unwrap()
            .json()
            .unwrap();
        let versions: Vec<u64> = log["changes"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|c| c["id"] == "checkout-2.0")
            .map(|c| c["version"].as_u64().unwrap())
            .collect();
        assert_eq!(versions.iter().max(), Some(&13), "{versions:?}");
    }

    crate::on_both_backends!(two_processes_never_break_the_calendar_nor_apply_a_mutation_twice);
}
