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

fn get(server: &Server, token: &str, path: &str) -> Value {
    reqwest::blocking::Client::new()
        .get(format!("{}{path}", server.base))
        .bearer_auth(token)
        .send()
        .unwrap()
        .json()
        .unwrap()
}

fn a_batch_that_writes_an_object_twice_deletes_and_adds_it_again_is_stored_as_applied_in_order(
    backend: Backend,
) {
    // A batch's writes reach the database together (on PostgreSQL in one
    // statement, or one by one when the batch deletes): what is stored
    // must be exactly what applying the mutations one at a time gives, in
    // the calendar's order, the change log's versions and the audit chain.
    let (_dir, db, viewer) = setup(backend);
    let admin = String::from_utf8(token(&db, "li", "admin").stdout)
        .unwrap()
        .trim()
        .to_owned();
    let server = start(&db);
    let cursor = changes(&server, &viewer, 0)["cursor"].as_u64().unwrap();
    let freeze = |id: &str, name: &str, base: u64| {
        json!({ "mutation_id": format!("{id}@{base}"), "kind": "freeze", "id": id, "base_version": base,
                "fields": { "name": name, "severity": "soft",
                            "start": "2027-02-01T00:00:00Z", "end": "2027-02-02T00:00:00Z" } })
    };
    // No deletion: two new objects, one release written twice (the second
    // on the first's base: a merge of another field), one refusal.
    let first = json!({ "mutations": [
        freeze("zz-late", "Late", 0),
        freeze("mm-middle", "Middle", 0),
        freeze("aa-early", "Early", 0),
        mutation("t1", 1, json!({ "title": "Checkout 2.0, renamed" })),
        mutation("t2", 1, json!({ "owner": "omar" })),
        mutation("t3", 1, json!({ "environment": "nowhere" })),
    ]});
    let answered: Value = post(&server, &admin, "b1", &first).json().unwrap();
    let outcomes: Vec<&str> = answered["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["outcome"].as_str().unwrap())
        .collect();
    assert_eq!(
        outcomes,
        ["applied", "applied", "applied", "applied", "applied", "rejected"],
        "{answered}"
    );
    assert_eq!(answered["results"][4]["version"], 3, "{answered}");
    assert_eq!(answered["results"][4]["merged"], true, "{answered}");
    // With a deletion: the first new freeze deleted and made again, the
    // release changed once more.
    let mut again = freeze("zz-late", "Late, again", 2);
    again["mutation_id"] = json!("zz-late@2, again");
    let second = json!({ "mutations": [
        { "mutation_id": "gone", "kind": "freeze", "id": "zz-late", "base_version": 1, "fields": null },
        again,
        mutation("t4", 3, json!({ "title": "Checkout 2.0, third" })),
    ]});
    let answered: Value = post(&server, &admin, "b2", &second).json().unwrap();
    assert!(
        answered["results"]
            .as_array()
            .unwrap()
            .iter()
            .all(|r| r["outcome"] == "applied"),
        "{answered}"
    );

    let plan = get(&server, &viewer, "/v1/plan");
    let freezes: Vec<&str> = plan["freezes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["id"].as_str().unwrap())
        .collect();
    assert_eq!(
        freezes,
        [
            "holidays",
            "no-friday",
            "month-close",
            "mm-middle",
            "aa-early",
            "zz-late"
        ],
        "new objects in the order they came (not by id), the one made again last"
    );
    let release = plan["releases"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["id"] == "checkout-2.0")
        .unwrap();
    assert_eq!(release["title"], "Checkout 2.0, third");
    assert_eq!(release["owner"], "omar");
    let late = plan["freezes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["id"] == "zz-late")
        .unwrap();
    assert_eq!(late["name"], "Late, again");

    // The change log: each write once, at its version, in order.
    let log = changes(&server, &viewer, cursor);
    let entries: Vec<(String, u64, bool)> = log["changes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                c["id"].as_str().unwrap().to_owned(),
                c["version"].as_u64().unwrap(),
                c["object"].is_null(),
            )
        })
        .collect();
    let expect = [
        ("zz-late", 1, false),
        ("mm-middle", 1, false),
        ("aa-early", 1, false),
        ("checkout-2.0", 2, false),
        ("checkout-2.0", 3, false),
        ("zz-late", 2, true),
        ("zz-late", 3, false),
        ("checkout-2.0", 4, false),
    ];
    assert_eq!(
        entries,
        expect
            .iter()
            .map(|(id, v, gone)| ((*id).to_owned(), *v, *gone))
            .collect::<Vec<_>>(),
        "{log}"
    );

    // The same batch again: the same answers, nothing written.
    let repeated: Value = post(&server, &admin, "b1, again", &first).json().unwrap();
    assert_eq!(repeated["results"][4]["version"], 3, "{repeated}");
    assert_eq!(
        changes(&server, &viewer, cursor)["changes"]
            .as_array()
            .unwrap()
            .len(),
        expect.len()
    );

    // A server that reads it all from the database finds the same calendar
    // (not only the one the writer kept in memory), and an intact trail.
    let fresh = start(&db);
    assert_eq!(get(&fresh, &viewer, "/v1/plan"), plan);
    let verified = server_cmd(&db, &["audit", "verify"], None);
    assert_eq!(
        verified.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&verified.stderr)
    );
}

fn requests(server: &Server, token: &str, requests: Value) -> Value {
    let answer = reqwest::blocking::Client::new()
        .post(format!("{}/v1/exception-requests", server.base))
        .bearer_auth(token)
        .json(&json!({ "requests": requests }))
        .send()
        .unwrap();
    assert_eq!(answer.status(), 200);
    answer.json().unwrap()
}

fn request(id: &str, release: &str, state: &str) -> Value {
    json!({ "id": id, "release": release, "freeze": "holidays", "reason": "certificate expires",
            "expires": "2026-12-22T09:30:00Z",
            "requested_by": "mallory", "requested_at": "2020-01-01T00:00:00Z", "state": state })
}

fn an_exception_request_is_the_askers_and_decided_only_by_someone_else(backend: Backend) {
    // Who asked, when, and who decided are the server's to say, from the
    // authenticated identity; what each role may do is checked per request.
    let (_dir, db, viewer) = setup(backend);
    let tok = |user: &str, role: &str| {
        String::from_utf8(token(&db, user, role).stdout)
            .unwrap()
            .trim()
            .to_owned()
    };
    let (ana, li, omar) = (
        tok("ana", "editor"),
        tok("li", "approver"),
        tok("omar", "approver"),
    );
    let now = "2026-11-25T00:00:00Z";
    let server = start_at(&db, Some(now));
    let outcome = |answer: &Value, i: usize| {
        let r = &answer["results"][i];
        format!(
            "{} {}",
            r["outcome"].as_str().unwrap(),
            r["reason"].as_str().unwrap_or("")
        )
    };

    // A viewer may list, not ask.
    let refused = requests(
        &server,
        &viewer,
        json!([request("x-0", "ingress-xmas", "pending")]),
    );
    assert!(outcome(&refused, 0).contains("editor role"), "{refused}");
    // Ana asks, claiming to be mallory long ago: the server stamps her, now.
    let asked = requests(
        &server,
        &ana,
        json!([request("x-1", "ingress-xmas", "pending")]),
    );
    assert_eq!(outcome(&asked, 0), "kept ", "{asked}");
    let held = &asked["requests"][0];
    assert_eq!(
        (
            held["requested_by"].as_str(),
            held["requested_at"].as_str(),
            held["state"].as_str()
        ),
        (Some("ana"), Some(now), Some("pending"))
    );
    // Sent again (an answer lost): kept, once.
    let again = requests(
        &server,
        &ana,
        json!([request("x-1", "ingress-xmas", "pending")]),
    );
    assert_eq!(outcome(&again, 0), "kept ");
    assert_eq!(again["requests"].as_array().unwrap().len(), 1);
    // Asked twice, a freeze that does not apply, a release that is not there,
    // a bad id: each refused, naming the field.
    let bad = requests(
        &server,
        &ana,
        json!([
            request("x-2", "ingress-xmas", "pending"),
            { "id": "x-3", "release": "ingress-xmas", "freeze": "month-close", "reason": "r",
              "requested_by": "ana", "requested_at": now, "state": "pending" },
            request("x-4", "nope", "pending"),
            request("x 5", "ingress-xmas", "pending"),
        ]),
    );
    for (i, said) in [
        "field `freeze`: ana already asked",
        "does not apply to this release",
        "field `release`: release \"nope\" does not exist",
        "field `id`",
    ]
    .iter()
    .enumerate()
    {
        assert!(
            outcome(&bad, i).starts_with("rejected") && outcome(&bad, i).contains(said),
            "{i}: {bad}"
        );
    }
    // Hostile bodies: an array for the object, an unknown field, a reason
    // too long: a JSON 400, or the request refused naming the field.
    for body in [
        json!([]),
        json!({ "requests": [], "extra": 1 }),
        json!({ "requests": [{ "id": "x-9" }] }),
    ] {
        let answer = reqwest::blocking::Client::new()
            .post(format!("{}/v1/exception-requests", server.base))
            .bearer_auth(&ana)
            .json(&body)
            .send()
            .unwrap();
        assert_eq!(answer.status(), 400, "{body}");
        let error: Value = answer.json().unwrap();
        assert_eq!(error["code"], "validation", "{body}: {error}");
    }
    let mut long = request("x-8", "ingress-xmas", "pending");
    long["reason"] = json!("x".repeat(2001));
    let refused = requests(&server, &ana, json!([long]));
    assert!(
        outcome(&refused, 0).contains("at most 2000 characters"),
        "{refused}"
    );
    // Approving is granting the exception, not a state sent here; an
    // editor cannot decline; only ana may withdraw; ana cannot decline her own.
    for (who, state, said) in [
        (&li, "approved", "adding the exception to the release"),
        (&ana, "declined", "approver role"),
        (&li, "withdrawn", "only ana who asked may withdraw it"),
    ] {
        let answer = requests(&server, who, json!([request("x-1", "ingress-xmas", state)]));
        assert!(outcome(&answer, 0).contains(said), "{state}: {answer}");
        assert_eq!(answer["requests"][0]["state"], "pending");
    }
    // Li declines, with a note: stamped li, now; decided once.
    let mut decline = request("x-1", "ingress-xmas", "declined");
    decline["note"] = json!("use the spare certificate");
    decline["decided_by"] = json!("mallory");
    let declined = requests(&server, &li, json!([decline]));
    assert_eq!(outcome(&declined, 0), "kept ", "{declined}");
    let held = &declined["requests"][0];
    assert_eq!(held["state"], "declined");
    assert_eq!(held["decided_by"], "li");
    assert_eq!(held["decided_at"], now);
    assert_eq!(held["note"], "use the spare certificate");
    let late = requests(
        &server,
        &ana,
        json!([request("x-1", "ingress-xmas", "withdrawn")]),
    );
    assert!(
        outcome(&late, 0).contains("already declined (by li)"),
        "{late}"
    );

    // Grants checked against the requests: li cannot grant what he asked for
    // himself by naming no one; a grant naming ana whose request was declined
    // is refused; one that differs from her request too.
    let grant_as = |key: &str, who: &str, by_reason: &str, asked: Option<&str>| {
        let mut o = json!({ "freeze": "holidays", "reason": by_reason, "by": who,
                            "expires": "2026-12-22T09:30:00Z" });
        if let Some(a) = asked {
            o["requested_by"] = json!(a);
        }
        json!({ "mutations": [{ "mutation_id": key, "kind": "release", "id": "ingress-xmas",
                                "base_version": 1, "fields": { "overrides": [o] } }] })
    };
    let answered: Value = post(
        &server,
        &omar,
        "g0",
        &grant_as("g0", "omar", "certificate expires", Some("ana")),
    )
    .json()
    .unwrap();
    assert!(
        answered["results"][0]["reason"]
            .as_str()
            .unwrap_or("")
            .contains("ana's request x-1 for it was declined by li"),
        "{answered}"
    );
    requests(
        &server,
        &li,
        json!([request("x-7", "ingress-xmas", "pending")]),
    );
    let answered: Value = post(
        &server,
        &li,
        "g1",
        &grant_as("g1", "li", "certificate expires", None),
    )
    .json()
    .unwrap();
    assert!(
        answered["results"][0]["reason"]
            .as_str()
            .unwrap_or("")
            .contains("li asked for this exception (request x-7)"),
        "{answered}"
    );
    requests(
        &server,
        &li,
        json!([request("x-7", "ingress-xmas", "withdrawn")]),
    );
    // Ana asks again; omar grants the exception (a mutation) naming her:
    // stamped omar, and her request is approved by him.
    requests(
        &server,
        &ana,
        json!([request("x-6", "ingress-xmas", "pending")]),
    );
    let grant = json!({ "mutations": [{
        "mutation_id": "grant", "kind": "release", "id": "ingress-xmas", "base_version": 1,
        "fields": { "overrides": [{ "freeze": "holidays", "reason": "certificate expires",
                                    "by": "mallory", "requested_by": "ana",
                                    "expires": "2026-12-22T09:30:00Z" }] }
    }]});
    let differs: Value = post(
        &server,
        &omar,
        "g2",
        &grant_as("g2", "omar", "something else", Some("ana")),
    )
    .json()
    .unwrap();
    assert!(
        differs["results"][0]["reason"]
            .as_str()
            .unwrap_or("")
            .contains("differs from what ana asked for in request x-6"),
        "{differs}"
    );
    let granted: Value = post(&server, &omar, "grant", &grant).json().unwrap();
    assert_eq!(granted["results"][0]["outcome"], "applied", "{granted}");
    let list: Value = reqwest::blocking::Client::new()
        .get(format!("{}/v1/exception-requests", server.base))
        .bearer_auth(&viewer)
        .send()
        .unwrap()
        .json()
        .unwrap();
    let x6 = list["requests"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["id"] == "x-6")
        .unwrap();
    assert_eq!(
        (x6["state"].as_str(), x6["decided_by"].as_str()),
        (Some("approved"), Some("omar"))
    );
    let plan = get(&server, &viewer, "/v1/plan");
    let xmas = plan["releases"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["id"] == "ingress-xmas")
        .unwrap();
    assert_eq!(xmas["overrides"][0]["by"], "omar");
    assert_eq!(xmas["overrides"][0]["requested_by"], "ana");
    // The release cannot then be handed to omar, who granted its exception.
    let handed = json!({ "mutations": [{ "mutation_id": "hand", "kind": "release", "id": "ingress-xmas",
                                          "base_version": 2, "fields": { "owner": "omar" } }] });
    let handed: Value = post(&server, &ana, "hand", &handed).json().unwrap();
    assert!(
        handed["results"][0]["reason"]
            .as_str()
            .unwrap_or("")
            .contains("omar granted one of its freeze exceptions"),
        "{handed}"
    );
    // Every request and decision is in the server's own audit trail, intact.
    let verified = server_cmd(&db, &["audit", "verify"], None);
    assert_eq!(
        verified.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&verified.stderr)
    );
}

fn a_page_of_changes_stops_at_its_byte_ceiling_and_the_next_page_goes_on(backend: Backend) {
    // Ten freezes of about 0.9 MiB each: more than one page's 8 MiB, so the
    // first page stops early (more = true) and the pages after it carry the
    // rest, each change exactly once.
    let (_dir, db, viewer) = setup(backend);
    let admin = new_token(&db, "li", "admin");
    let server = start(&db);
    let cursor = changes(&server, &viewer, 0)["cursor"].as_u64().unwrap();
    let reason = "r".repeat(900 * 1024);
    for i in 0..10 {
        let body = json!({ "mutations": [{
            "mutation_id": format!("big-{i}"), "kind": "freeze", "id": format!("big-{i}"), "base_version": 0,
            "fields": { "name": "Big", "severity": "soft", "reason": reason,
                        "start": "2027-02-01T00:00:00Z", "end": "2027-02-02T00:00:00Z" } }]});
        let answered: Value = post(&server, &admin, &format!("big-{i}"), &body)
            .json()
            .unwrap();
        assert_eq!(answered["results"][0]["outcome"], "applied", "{answered}");
    }
    let first = changes(&server, &viewer, cursor);
    let page = first["changes"].as_array().unwrap();
    assert_eq!(first["more"], true, "{}", page.len());
    assert!((1..10).contains(&page.len()), "{}", page.len());
    let mut seen: Vec<String> = page
        .iter()
        .map(|c| c["id"].as_str().unwrap().to_owned())
        .collect();
    let mut at = first["cursor"].as_u64().unwrap();
    for _ in 0..10 {
        let next = changes(&server, &viewer, at);
        seen.extend(
            next["changes"]
                .as_array()
                .unwrap()
                .iter()
                .map(|c| c["id"].as_str().unwrap().to_owned()),
        );
        at = next["cursor"].as_u64().unwrap();
        if next["more"] == false {
            break;
        }
    }
    let wanted: Vec<String> = (0..10).map(|i| format!("big-{i}")).collect();
    assert_eq!(seen, wanted);
}

fn a_batch_key_and_a_mutation_id_are_kept_apart_and_each_users_own(backend: Backend) {
    let (_dir, db, _viewer) = setup(backend);
    let li = new_token(&db, "li", "editor");
    let omar = new_token(&db, "omar", "editor");
    let server = start(&db);
    let results = |r: reqwest::blocking::Response| -> Value {
        assert_eq!(r.status(), 200);
        r.json::<Value>().unwrap()["results"].clone()
    };
    // li's batch "K" with mutation "m1".
    let first = results(post(
        &server,
        &li,
        "K",
        &json!({ "mutations": [mutation("m1", 1, json!({ "owner": "li" }))] }),
    ));
    assert_eq!(first[0]["outcome"], "applied", "{first}");
    assert_eq!(first[0]["version"], 2, "{first}");
    // A mutation whose id is a batch key, even as the server once spelt
    // it: applied as itself, never answered with the batch's answer.
    for (i, id) in ["K", "batch:li:K"].iter().enumerate() {
        let r = results(post(
            &server,
            &li,
            &format!("K{i}"),
            &json!({ "mutations": [mutation(id, 2 + i as u64, json!({ "title": format!("t{i}") }))] }),
        ));
        assert_eq!(r[0]["outcome"], "applied", "{id}: {r}");
        assert_eq!(r[0]["mutation_id"], *id, "{r}");
        assert_eq!(r[0]["version"], 3 + i as u64, "{id}: {r}");
    }
    // Another user's same batch key and mutation id: their own answer, not
    // li's (which would say "applied, version 2" and leak li's batch).
    let theirs = results(post(
        &server,
        &omar,
        "K",
        &json!({ "mutations": [mutation("m1", 4, json!({ "owner": "omar" }))] }),
    ));
    assert_eq!(theirs[0]["outcome"], "applied", "{theirs}");
    assert_eq!(theirs[0]["version"], 5, "{theirs}");
    // And li's own repeat still gets li's first answer, applying nothing.
    let again = results(post(
        &server,
        &li,
        "K",
        &json!({ "mutations": [mutation("m1", 1, json!({ "owner": "li" }))] }),
    ));
    assert_eq!(again, first);
    let plan = get(&server, &li, "/v1/plan");
    let release = plan["releases"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["id"] == "checkout-2.0")
        .unwrap();
    assert_eq!(release["owner"], "omar", "{release}");
    assert_eq!(release["title"], "t1", "{release}");
}

crate::on_both_backends!(
    different_fields_merge_the_same_field_is_one_conflict_and_repeats_change_nothing,
    invalid_mutations_are_rejected_with_the_field_and_bad_requests_get_4xx,
    the_warm_calendar_follows_every_write_also_from_another_server_process,
    a_batch_that_writes_an_object_twice_deletes_and_adds_it_again_is_stored_as_applied_in_order,
    an_exception_request_is_the_askers_and_decided_only_by_someone_else,
    a_page_of_changes_stops_at_its_byte_ceiling_and_the_next_page_goes_on,
    a_batch_key_and_a_mutation_id_are_kept_apart_and_each_users_own
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
