//! Who may change what, decided by the server from the token: approvals
//! and exceptions stamped with the authenticated user and the server's
//! time, and every cell of the role policy (docs/roles.md).
//! On the real server, on both backends.

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

/// The server as several people, each with their own token, and the
/// version each object is at.
struct Team {
    server: Server,
    /// The database (a PostgreSQL cluster lives as long as it does).
    _db: ServerDb,
    tokens: std::collections::HashMap<&'static str, String>,
    versions: std::collections::HashMap<String, u64>,
    sent: u32,
}

/// The server's clock in these tests.
const NOW: &str = "2026-11-28T10:00:00Z";

impl Team {
    /// Sends one mutation as `user`: its result, or, for a batch refused
    /// as a whole (a viewer's), `{"outcome": "forbidden"}`. An applied
    /// one's new version is remembered.
    fn send(&mut self, user: &str, kind: &str, id: &str, fields: Value) -> Value {
        self.sent += 1;
        let key = format!("{kind}/{id}");
        let base = *self.versions.get(&key).unwrap_or(&1);
        let body = json!({ "mutations": [{
            "mutation_id": format!("p{}", self.sent), "kind": kind, "id": id,
            "base_version": base, "fields": fields
        }]});
        let response = reqwest::blocking::Client::new()
            .post(format!("{}/v1/mutations", self.server.base))
            .bearer_auth(&self.tokens[user])
            .header("Idempotency-Key", format!("k{}", self.sent))
            .json(&body)
            .send()
            .unwrap();
        if response.status() == 403 {
            return json!({ "outcome": "forbidden" });
        }
        let r: Value = response.json().unwrap();
        let result = r["results"][0].clone();
        if result["outcome"] == "applied" {
            self.versions
                .insert(key, result["version"].as_u64().unwrap());
        }
        result
    }

    /// An object the calendar does not hold yet (its version is 0).
    fn new_object(&mut self, kind: &str, id: &str) {
        self.versions.insert(format!("{kind}/{id}"), 0);
    }

    fn applied(&mut self, user: &str, kind: &str, id: &str, fields: Value) {
        let r = self.send(user, kind, id, fields.clone());
        assert_eq!(r["outcome"], "applied", "{user} {kind} {id} {fields}: {r}");
    }

    /// Refused, with a reason that names the object, the field (none
    /// for the object as a whole) and says `because`.
    fn refused(
        &mut self,
        user: &str,
        kind: &str,
        id: &str,
        fields: Value,
        field: &str,
        because: &str,
    ) {
        let r = self.send(user, kind, id, fields.clone());
        assert_eq!(r["outcome"], "rejected", "{user} {kind} {id} {fields}: {r}");
        let reason = r["reason"].as_str().unwrap();
        let names = reason.starts_with(&format!("{kind} \"{id}\": "))
            && (field.is_empty() || reason.contains(&format!("field `{field}`")));
        assert!(
            names && reason.contains(because),
            "{user} {kind} {id}: {reason}"
        );
    }

    fn plan(&self) -> Value {
        reqwest::blocking::Client::new()
            .get(format!("{}/v1/plan", self.server.base))
            .bearer_auth(&self.tokens["viewer"])
            .send()
            .unwrap()
            .json()
            .unwrap()
    }

    fn object(&self, list: &str, id: &str) -> Option<Value> {
        self.plan()[list]
            .as_array()
            .unwrap()
            .iter()
            .find(|x| x["id"] == id)
            .cloned()
    }
}

fn team(backend: Backend) -> (tempfile::TempDir, Team) {
    let (dir, db, viewer) = setup(backend);
    let mut tokens = std::collections::HashMap::new();
    tokens.insert("viewer", viewer);
    for (user, role) in [
        ("li", "editor"),
        ("bob", "approver"),
        ("carol", "approver"),
        ("dana", "approver"),
        ("kai", "approver"),
        ("root", "admin"),
    ] {
        let out = token(&db, user, role);
        tokens.insert(
            user,
            String::from_utf8(out.stdout).unwrap().trim().to_owned(),
        );
    }
    let server = start_at(&db, Some(NOW));
    let team = Team {
        server,
        _db: db,
        tokens,
        versions: Default::default(),
        sent: 0,
    };
    (dir, team)
}

const AT: &str = "2026-11-30T09:00:00Z";

/// An approval the server wrote: `by`, at the server's time (its clock
/// starts at NOW and runs on), never the client's AT.
fn stamped(approval: &Value, by: &str) {
    assert_eq!(approval["by"], by, "{approval}");
    let at = relcal_testkit::at(approval["at"].as_str().unwrap());
    let start = relcal_testkit::at(NOW);
    assert!(
        at >= start && at < start + chrono::Duration::minutes(10),
        "{approval}"
    );
}

fn approvals_and_exceptions_are_the_authenticated_users_own(backend: Backend) {
    let (_dir, mut t) = team(backend);
    let r = "checkout-2.0"; // owned by dana, in prod (two approvals needed)
                            // Whatever name and time the client writes, the approval is bob's, now.
    t.applied(
        "bob",
        "release",
        r,
        json!({ "approvals": [{ "by": "carol", "at": AT }] }),
    );
    let release = t.object("releases", r).unwrap();
    let bob = release["approvals"][0].clone();
    stamped(&bob, "bob");
    assert_eq!(
        release["approvals"].as_array().unwrap().len(),
        1,
        "{release}"
    );
    // So one approver cannot reach two of two alone.
    t.refused(
        "bob",
        "release",
        r,
        json!({ "approvals": [bob, { "by": "carol", "at": AT }] }),
        "approvals",
        "bob has already approved it; each person approves once",
    );
    t.refused(
        "li",
        "release",
        r,
        json!({ "approvals": [bob, { "by": "li", "at": AT }] }),
        "approvals",
        "approver role needed",
    );
    t.refused(
        "bob",
        "release",
        r,
        json!({ "status": "approved" }),
        "status",
        "needs 2 distinct approvals",
    );
    t.refused(
        "dana",
        "release",
        r,
        json!({ "approvals": [bob, { "by": "dana", "at": AT }] }),
        "approvals",
        "dana runs this release and cannot approve it",
    );
    t.applied(
        "carol",
        "release",
        r,
        json!({ "approvals": [bob, { "by": "carol", "at": AT }] }),
    );
    let carol = t.object("releases", r).unwrap()["approvals"][1].clone();
    stamped(&carol, "carol");
    // Nobody takes back another's approval, but an admin.
    t.refused(
        "carol",
        "release",
        r,
        json!({ "approvals": [carol] }),
        "approvals",
        "not bob's (admin role needed)",
    );
    // Making an approver the owner would have them approve their own release.
    t.refused(
        "li",
        "release",
        r,
        json!({ "owner": "bob" }),
        "approvals",
        "bob runs this release and cannot approve it",
    );
    t.applied("li", "release", r, json!({ "status": "approved" }));
    t.applied(
        "root",
        "release",
        r,
        json!({ "approvals": [carol], "status": "planned" }),
    );
    t.applied(
        "bob",
        "release",
        r,
        json!({ "title": "checkout 2.0 (reviewed)" }),
    );
    let release = t.object("releases", r).unwrap();
    assert_eq!(release["approvals"], json!([carol]), "{release}");
    assert_eq!(release["status"], "planned");
    assert_eq!(release["title"], "checkout 2.0 (reviewed)");

    // An exception is granted in the approver's own name, for someone
    // else who asked, never by the owner (kai runs ingress-xmas).
    let exception = |by: &str, asked: &str| json!({ "overrides": [{ "freeze": "holidays", "reason": "TLS certificate expires", "by": by, "requested_by": asked }] });
    t.refused(
        "li",
        "release",
        "ingress-xmas",
        exception("cto", "ana"),
        "overrides",
        "approver role needed",
    );
    t.refused(
        "kai",
        "release",
        "ingress-xmas",
        exception("cto", "li"),
        "overrides",
        "kai runs this release and cannot grant it an exception",
    );
    t.refused(
        "bob",
        "release",
        "ingress-xmas",
        exception("cto", "bob"),
        "overrides[0].requested_by",
        "bob asked for the exception and cannot also approve it",
    );
    t.applied("bob", "release", "ingress-xmas", exception("cto", "li"));
    let release = t.object("releases", "ingress-xmas").unwrap();
    assert_eq!(release["overrides"][0]["by"], "bob", "{release}");
    assert_eq!(release["overrides"][0]["requested_by"], "li", "{release}");
    // Taking an exception away only makes the calendar stricter.
    t.applied(
        "li",
        "release",
        "ingress-xmas",
        json!({ "overrides": null }),
    );
    assert!(t
        .object("releases", "ingress-xmas")
        .unwrap()
        .get("overrides")
        .is_none());
}

/// The roles, lowest first.
const ROLES: [(&str, u8); 4] = [("viewer", 0), ("li", 1), ("bob", 2), ("root", 3)];
const EDITOR: u8 = 1;
const APPROVER: u8 = 2;
const ADMIN: u8 = 3;

/// One cell of the table: what `role` sends, on an object made for it
/// by an admin first (`setup`), and the least role that may.
struct Rule {
    what: &'static str,
    needs: u8,
    kind: &'static str,
    setup: Option<fn(&str) -> Value>,
    change: fn(&str) -> Option<Value>,
}

fn release(k: &str) -> Value {
    json!({ "title": k, "team": "platform", "services": ["ingress"], "environment": "staging",
            "start": "2027-02-01T10:00:00Z", "end": "2027-02-01T11:00:00Z", "status": "planned", "owner": "nobody" })
}
fn environment(_: &str) -> Value {
    json!({ "name": "Env" })
}
fn soft(_: &str) -> Value {
    json!({ "name": "Soft", "severity": "soft", "start": "2027-05-01T00:00:00", "end": "2027-05-02T00:00:00" })
}
fn hard(_: &str) -> Value {
    json!({ "name": "Hard", "severity": "hard", "start": "2027-05-01T00:00:00", "end": "2027-05-02T00:00:00" })
}
fn a_team(_: &str) -> Value {
    json!({ "name": "Team" })
}

const TABLE: &[Rule] = &[
    Rule {
        what: "create a release",
        needs: EDITOR,
        kind: "release",
        setup: None,
        change: |k| Some(release(k)),
    },
    Rule {
        what: "change a release's title",
        needs: EDITOR,
        kind: "release",
        setup: Some(release),
        change: |_| Some(json!({ "title": "renamed" })),
    },
    Rule {
        what: "approve a release",
        needs: APPROVER,
        kind: "release",
        setup: Some(release),
        change: |_| Some(json!({ "approvals": [{ "by": "x", "at": AT }] })),
    },
    Rule {
        what: "grant a freeze exception",
        needs: APPROVER,
        kind: "release",
        setup: Some(release),
        change: |_| {
            Some(json!({ "overrides": [{ "freeze": "holidays", "reason": "r", "by": "x" }] }))
        },
    },
    Rule {
        what: "delete a release",
        needs: EDITOR,
        kind: "release",
        setup: Some(release),
        change: |_| None,
    },
    Rule {
        what: "create an environment",
        needs: ADMIN,
        kind: "environment",
        setup: None,
        change: |k| Some(environment(k)),
    },
    Rule {
        what: "rename an environment",
        needs: EDITOR,
        kind: "environment",
        setup: Some(environment),
        change: |_| Some(json!({ "name": "Renamed" })),
    },
    Rule {
        what: "set required_approvals",
        needs: ADMIN,
        kind: "environment",
        setup: Some(environment),
        change: |_| Some(json!({ "required_approvals": 3 })),
    },
    Rule {
        what: "set production",
        needs: ADMIN,
        kind: "environment",
        setup: Some(environment),
        change: |_| Some(json!({ "production": true })),
    },
    Rule {
        what: "set max_concurrent",
        needs: ADMIN,
        kind: "environment",
        setup: Some(environment),
        change: |_| Some(json!({ "max_concurrent": 1 })),
    },
    Rule {
        what: "delete an environment",
        needs: ADMIN,
        kind: "environment",
        setup: Some(environment),
        change: |_| None,
    },
    Rule {
        what: "create a freeze (even a hard one)",
        needs: EDITOR,
        kind: "freeze",
        setup: None,
        change: |k| Some(hard(k)),
    },
    Rule {
        what: "change a soft freeze",
        needs: EDITOR,
        kind: "freeze",
        setup: Some(soft),
        change: |_| Some(json!({ "name": "Renamed" })),
    },
    Rule {
        what: "delete a soft freeze",
        needs: EDITOR,
        kind: "freeze",
        setup: Some(soft),
        change: |_| None,
    },
    Rule {
        what: "change a hard freeze",
        needs: ADMIN,
        kind: "freeze",
        setup: Some(hard),
        change: |_| Some(json!({ "name": "Renamed" })),
    },
    Rule {
        what: "make a hard freeze soft",
        needs: ADMIN,
        kind: "freeze",
        setup: Some(hard),
        change: |_| Some(json!({ "severity": "soft" })),
    },
    Rule {
        what: "delete a hard freeze",
        needs: ADMIN,
        kind: "freeze",
        setup: Some(hard),
        change: |_| None,
    },
    Rule {
        what: "create a team",
        needs: ADMIN,
        kind: "team",
        setup: None,
        change: |k| Some(a_team(k)),
    },
    Rule {
        what: "rename a team",
        needs: ADMIN,
        kind: "team",
        setup: Some(a_team),
        change: |_| Some(json!({ "name": "Renamed" })),
    },
    Rule {
        what: "set a team's zone",
        needs: ADMIN,
        kind: "team",
        setup: Some(a_team),
        change: |_| Some(json!({ "timezone": "Europe/Berlin" })),
    },
    Rule {
        what: "set a team's allowed windows",
        needs: ADMIN,
        kind: "team",
        setup: Some(a_team),
        change: |_| {
            Some(
                json!({ "allowed_windows": [{ "start": "2027-01-04T09:00:00", "duration": "PT8H", "rrule": "FREQ=WEEKLY;BYDAY=MO" }] }),
            )
        },
    },
    Rule {
        what: "delete a team",
        needs: ADMIN,
        kind: "team",
        setup: Some(a_team),
        change: |_| None,
    },
    Rule {
        what: "create a service",
        needs: EDITOR,
        kind: "service",
        setup: None,
        change: |_| Some(json!({ "team": "platform" })),
    },
];

fn every_cell_of_the_role_policy_holds(backend: Backend) {
    let (_dir, mut t) = team(backend);
    let mut cells = 0;
    for (n, rule) in TABLE.iter().enumerate() {
        for (role, rank) in ROLES {
            let id = format!("cell-{n}-{role}");
            t.new_object(rule.kind, &id);
            if let Some(setup) = rule.setup {
                t.applied("root", rule.kind, &id, setup(&id));
            }
            let r = t.send(
                role,
                rule.kind,
                &id,
                (rule.change)(&id).unwrap_or(Value::Null),
            );
            let allowed = rank >= rule.needs;
            let outcome = r["outcome"].as_str().unwrap_or_default();
            assert_eq!(
                outcome == "applied",
                allowed,
                "{} as {role}: {r}",
                rule.what
            );
            if !allowed && rank > 0 {
                let reason = r["reason"].as_str().unwrap_or_default();
                let role_needed = ["viewer", "editor", "approver", "admin"][rule.needs as usize];
                assert!(
                    reason.contains(&format!("({role_needed} role needed")),
                    "{} as {role}: {reason}",
                    rule.what
                );
            }
            cells += 1;
        }
    }
    assert_eq!(cells, TABLE.len() * ROLES.len());
}

crate::on_both_backends!(
    approvals_and_exceptions_are_the_authenticated_users_own,
    every_cell_of_the_role_policy_holds
);
