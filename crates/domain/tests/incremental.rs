//! A sync mutation is validated one object at a time (`Plan::put_object`,
//! `Plan::remove_object`): the result, and every error, must be what
//! validating the whole changed plan gives.

#![allow(
    clippy::unwrap_used,
    reason = "a test fails loudly on a fixture it cannot read"
)]

use relcal_domain::{parse_plan_value, ObjectKind, Plan, PlanError, WireObject};
use relcal_testkit::{plan, Size};
use serde_json::{json, Value};

fn size() -> Size {
    Size {
        teams: 5,
        releases: 40,
        freezes: 9,
        dependencies: 12,
        days: 40,
    }
}

/// `doc` with the object `id` of `kind` replaced by `value` (or removed).
fn with(doc: &Value, kind: ObjectKind, id: &str, value: Option<&Value>) -> Value {
    let mut doc = doc.clone();
    let list = doc[kind.list()].as_array_mut().unwrap();
    let i = list.iter().position(|o| o["id"] == id).unwrap();
    match value {
        Some(v) => list[i] = v.clone(),
        None => {
            list.remove(i);
        }
    }
    doc
}

fn put(plan: &Plan, kind: ObjectKind, value: &Value) -> Result<Plan, PlanError> {
    let name = format!(
        "{} \"{}\"",
        kind.noun(),
        value["id"].as_str().unwrap_or_default()
    );
    let object = WireObject::read(kind, &name, value.clone())?;
    let mut changed = plan.clone();
    match changed.put_object(object) {
        Ok(()) => Ok(changed),
        Err(e) => {
            assert_eq!(&changed, plan, "a refused put leaves the plan as it was");
            Err(e)
        }
    }
}

/// Each error's field and message.
fn what(e: &PlanError) -> Vec<(String, String)> {
    e.errors()
        .iter()
        .map(|f| (f.field.clone(), f.message.clone()))
        .collect()
}

#[test]
fn a_plan_built_object_by_object_is_the_plan_validated_whole() {
    for seed in 1..4 {
        let doc = plan(size(), seed);
        let whole = parse_plan_value(doc.clone()).unwrap();
        let mut built =
            parse_plan_value(json!({ "version": 1, "timezone": doc["timezone"] })).unwrap();
        for object in whole.objects() {
            built.put_object(object).unwrap();
        }
        assert_eq!(built, whole, "seed {seed}");
        assert_eq!(built.digest(), whole.digest());
    }
}

#[test]
fn every_changed_or_broken_object_gets_the_answer_and_the_error_of_a_whole_validation() {
    // Each is set on every object that has the field; a value is good or bad
    // as the whole plan's validation says, and the put must agree.
    let changes: [(&str, Value); 12] = [
        ("name", json!("")),
        ("name", json!("Renamed")),
        ("title", json!("   ")),
        ("team", json!("nobody")),
        ("team", json!("team-0")),
        ("timezone", json!("Mars/Olympus")),
        ("start", json!("yesterday")),
        ("end", json!("2027-02-01T00:00:00Z")),
        ("duration", json!("PT-1H")),
        ("max_concurrent", json!(0)),
        ("services", json!(["no-such-service"])),
        ("depends_on", json!(["release-1"])),
    ];
    let doc = plan(size(), 7);
    let whole = parse_plan_value(doc.clone()).unwrap();
    let (mut agreed, mut refused) = (0, 0);
    for kind in ObjectKind::ALL {
        for object in doc[kind.list()].as_array().unwrap() {
            let id = object["id"].as_str().unwrap();
            for (field, value) in &changes {
                if object.get(*field).is_none() {
                    continue;
                }
                let mut changed = object.clone();
                changed[*field] = value.clone();
                let expected = parse_plan_value(with(&doc, kind, id, Some(&changed)));
                let got = put(&whole, kind, &changed);
                match (expected, got) {
                    (Ok(p), Ok(q)) => assert_eq!(p, q, "{kind:?} {id} {field}"),
                    (Err(e), Err(g)) => {
                        // The same field and message; the object is named
                        // by kind and id, not by its place in a file.
                        assert_eq!(what(&e), what(&g), "{kind:?} {id} {field}");
                        let name = format!("{} \"{id}\"", kind.noun());
                        assert!(g.errors().iter().all(|f| f.object == name), "{g}");
                        refused += 1;
                    }
                    (e, g) => panic!("{kind:?} {id} {field}: whole {e:?}, one object {g:?}"),
                }
                agreed += 1;
            }
        }
    }
    assert!(
        refused > 20 && agreed > refused,
        "{agreed} checked, {refused} refused"
    );
}

#[test]
fn removing_an_object_in_use_is_refused_and_an_unused_one_goes() {
    let doc = plan(size(), 3);
    let whole = parse_plan_value(doc.clone()).unwrap();
    let (mut removed, mut kept) = (0, 0);
    for kind in ObjectKind::ALL {
        for object in doc[kind.list()].as_array().unwrap() {
            let id = object["id"].as_str().unwrap();
            let expected = parse_plan_value(with(&doc, kind, id, None));
            let mut changed = whole.clone();
            match (expected, changed.remove_object(kind, id)) {
                (Ok(p), Ok(())) => {
                    assert_eq!(p, changed);
                    removed += 1;
                }
                (Err(e), Err(g)) => {
                    assert_eq!(e.to_string(), g.to_string());
                    assert_eq!(
                        changed, whole,
                        "a refused removal leaves the plan as it was"
                    );
                    kept += 1;
                }
                (e, g) => panic!("{kind:?} {id}: whole {e:?}, one object {g:?}"),
            }
        }
    }
    assert!(removed > 0 && kept > 0, "{removed} removed, {kept} refused");
}
