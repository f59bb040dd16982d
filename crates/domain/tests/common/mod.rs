//! The conflict tables' small plans: one team, two services, staging and
//! production, and the engine's answer as rows.

#![allow(dead_code, reason = "each test file uses its own part")]
#![allow(
    clippy::unwrap_used,
    reason = "a broken fixture should fail its test loudly"
)]

use relcal_domain::{check, parse_plan_value};
use relcal_testkit::at;
use serde_json::{json, Value};

/// (code, severity, releases) of every conflict, in the engine's order.
pub fn summary(plan: Value, now: &str) -> Vec<(String, String, Vec<String>)> {
    let plan = parse_plan_value(plan).unwrap();
    check(&plan, at(now))
        .into_iter()
        .map(|c| {
            (
                c.code.to_owned(),
                c.severity.as_str().to_owned(),
                c.releases.iter().map(|r| r.to_string()).collect(),
            )
        })
        .collect()
}

pub fn row(code: &str, severity: &str, releases: &[&str]) -> (String, String, Vec<String>) {
    (
        code.into(),
        severity.into(),
        releases.iter().map(|s| s.to_string()).collect(),
    )
}

/// A plan with one team, two services, a staging and a production environment.
pub fn base(freezes: Value, releases: Value) -> Value {
    json!({
        "version": 1, "timezone": "UTC",
        "teams": [{"id": "t", "name": "Team"}],
        "services": [{"id": "api", "team": "t"}, {"id": "web", "team": "t"}],
        "environments": [{"id": "stg", "name": "Staging", "max_concurrent": 2},
                         {"id": "prod", "name": "Production", "production": true}],
        "freezes": freezes, "releases": releases,
    })
}

pub fn rel(id: &str, start: &str, end: &str, extra: Value) -> Value {
    let mut r = json!({"id": id, "title": id, "team": "t", "services": ["api"], "environment": "stg",
                       "start": start, "end": end, "status": "planned"});
    if let (Value::Object(r), Value::Object(extra)) = (&mut r, extra) {
        r.extend(extra);
    }
    r
}
