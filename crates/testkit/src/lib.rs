//! Fixtures for tests and benchmarks. Deterministic: the same seed gives the
//! same plan on every machine, so benchmark figures can be compared.

#![deny(missing_docs)]

use chrono::{DateTime, Duration, Utc};
use serde_json::{json, Value};

/// An RFC 3339 instant of a test's fixture (`"2026-12-01T09:00:00Z"`). Panics
/// on a malformed one: a broken fixture should fail its test loudly.
#[allow(
    clippy::expect_used,
    reason = "fixtures are the test's own text; a typo must fail the test"
)]
pub fn at(text: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(text)
        .expect("a fixture instant in RFC 3339")
        .to_utc()
}

/// SplitMix64: a tiny, well-known generator; good enough to spread fixtures.
pub struct Rng(u64);

impl Rng {
    /// A generator from a seed.
    pub fn new(seed: u64) -> Self {
        Self(seed)
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A number in `0..n` (n > 0).
    pub fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n.max(1) as u64) as usize
    }

    /// True with probability `percent`/100.
    pub fn chance(&mut self, percent: usize) -> bool {
        self.below(100) < percent
    }

    /// One element of a non-empty slice.
    pub fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }
}

/// The size of a generated plan.
#[derive(Debug, Clone, Copy)]
pub struct Size {
    /// Teams.
    pub teams: usize,
    /// Releases.
    pub releases: usize,
    /// Freezes (a third recurring).
    pub freezes: usize,
    /// Dependency edges between releases.
    pub dependencies: usize,
    /// Days the releases spread over.
    pub days: i64,
}

impl Size {
    /// The "enterprise" plan of the conflict-engine issue: 200 teams, 20,000
    /// releases over two years, 80 freezes, 2,000 dependencies.
    pub const ENTERPRISE: Size = Size {
        teams: 200,
        releases: 20_000,
        freezes: 80,
        dependencies: 2_000,
        days: 730,
    };
}

const ZONES: [&str; 6] = [
    "Europe/Berlin",
    "Europe/London",
    "America/New_York",
    "America/Los_Angeles",
    "Asia/Kolkata",
    "UTC",
];
const ENVIRONMENTS: [(&str, &str, bool, Option<u32>, u32); 5] = [
    ("dev", "Development", false, None, 0),
    ("staging", "Staging", false, Some(12), 0),
    ("prod-eu", "Production EU", true, Some(6), 2),
    ("prod-us", "Production US", true, Some(6), 2),
    ("prod-ap", "Production APAC", true, Some(4), 1),
];
const STATUSES: [&str; 8] = [
    "planned",
    "planned",
    "planned",
    "approved",
    "draft",
    "done",
    "cancelled",
    "in_progress",
];

fn start_of_plan() -> DateTime<Utc> {
    DateTime::parse_from_rfc3339("2027-01-04T00:00:00Z")
        .map(|t| t.to_utc())
        .unwrap_or(DateTime::<Utc>::UNIX_EPOCH)
}

/// A plan file (JSON) of the given size.
pub fn plan(size: Size, seed: u64) -> Value {
    let mut rng = Rng::new(seed);
    let t0 = start_of_plan();
    let teams: Vec<Value> = (0..size.teams)
        .map(|i| {
            let zone = *rng.pick(&ZONES);
            let mut t =
                json!({"id": format!("team-{i}"), "name": format!("Team {i}"), "timezone": zone});
            if i % 4 == 0 {
                t["allowed_windows"] = json!([{ "start": "2027-01-04T08:00:00", "duration": "PT10H",
                    "rrule": "FREQ=WEEKLY;BYDAY=MO,TU,WE,TH" }]);
            }
            t
        })
        .collect();
    let services: Vec<Value> = (0..size.teams * 3)
        .map(|i| json!({"id": format!("svc-{i}"), "team": format!("team-{}", i / 3)}))
        .collect();
    let environments: Vec<Value> = ENVIRONMENTS
        .iter()
        .map(|(id, name, production, max, approvals)| {
            let mut e = json!({"id": id, "name": name, "production": production, "required_approvals": approvals});
            if let Some(max) = max {
                e["max_concurrent"] = json!(max);
            }
            e
        })
        .collect();

    let local = |t: DateTime<Utc>| t.format("%Y-%m-%dT%H:%M:%S").to_string();
    let freezes: Vec<Value> = (0..size.freezes)
        .map(|i| {
            let zone = *rng.pick(&ZONES);
            let mut f = json!({"id": format!("freeze-{i}"), "name": format!("Freeze {i}"),
                "severity": if rng.chance(60) { "hard" } else { "soft" }, "timezone": zone,
                "reason": "generated"});
            if i % 3 == 0 {
                let (rule, duration) = match (i / 3) % 3 {
                    0 => ("FREQ=WEEKLY;BYDAY=FR", "PT12H"),
                    1 => ("FREQ=MONTHLY;BYMONTHDAY=-1", "P1D"),
                    _ => ("FREQ=DAILY", "PT1H"),
                };
                f["start"] = json!(match (i / 3) % 3 {
                    0 => "2027-01-08T12:00:00",
                    1 => "2027-01-31T00:00:00",
                    _ => "2027-01-04T02:00:00",
                });
                f["rrule"] = json!(rule);
                f["duration"] = json!(duration);
            } else {
                let start = t0 + Duration::days(rng.below(size.days as usize) as i64);
                f["start"] = json!(local(start));
                f["end"] = json!(local(start + Duration::days(1 + rng.below(14) as i64)));
            }
            // Scopes: global, one environment, a few teams, or a few services.
            match rng.below(4) {
                0 => {}
                1 => f["scope"] = json!({"environments": [ENVIRONMENTS[2 + rng.below(3)].0]}),
                2 => {
                    let teams: Vec<String> = (0..5)
                        .map(|_| format!("team-{}", rng.below(size.teams)))
                        .collect();
                    f["scope"] = json!({ "teams": dedup(teams) });
                }
                _ => {
                    let services: Vec<String> = (0..8)
                        .map(|_| format!("svc-{}", rng.below(size.teams * 3)))
                        .collect();
                    f["scope"] = json!({ "services": dedup(services) });
                }
            }
            f
        })
        .collect();

    let mut starts = Vec::with_capacity(size.releases);
    let mut releases: Vec<Value> = (0..size.releases)
        .map(|i| {
            let team = rng.below(size.teams);
            let minutes = rng.below((size.days * 24 * 4) as usize) as i64 * 15;
            let start = t0 + Duration::minutes(minutes);
            let end = start + Duration::minutes(30 * (1 + rng.below(8) as i64));
            starts.push(start);
            let env = ENVIRONMENTS[rng.below(ENVIRONMENTS.len())];
            let mut services = vec![format!("svc-{}", team * 3 + rng.below(3))];
            if rng.chance(20) {
                services.push(format!("svc-{}", team * 3 + rng.below(3)));
            }
            let mut r = json!({
                "id": format!("rel-{i}"), "title": format!("Release {i}"), "team": format!("team-{team}"),
                "services": dedup(services), "environment": env.0,
                "start": start.to_rfc3339(), "end": end.to_rfc3339(),
                "status": rng.pick(&STATUSES), "owner": format!("person-{}", rng.below(400)),
            });
            if rng.chance(80) {
                r["rollback"] = json!({"steps": ["roll back the deployment", "verify health"], "tested": true});
            }
            if rng.chance(50) {
                r["checklist"] = json!([{"id": "tests", "text": "Automated tests green", "required": true, "done": rng.chance(70)}]);
            }
            let approvals: Vec<Value> = (0..rng.below(3))
                .map(|k| json!({"by": format!("approver-{k}"), "at": (start - Duration::days(2)).to_rfc3339()}))
                .collect();
            if !approvals.is_empty() {
                r["approvals"] = json!(approvals);
            }
            r
        })
        .collect();
    for _ in 0..size.dependencies {
        let a = rng.below(size.releases);
        let b = rng.below(size.releases);
        if a == b {
            continue;
        }
        // Mostly on an earlier release, as people plan; sometimes not (a conflict).
        let (a, b) = if starts[a] >= starts[b] || rng.chance(10) {
            (a, b)
        } else {
            (b, a)
        };
        if let Some(list) = releases[a].as_object_mut() {
            let deps = list.entry("depends_on").or_insert_with(|| json!([]));
            if let Some(deps) = deps.as_array_mut() {
                let id = json!(format!("rel-{b}"));
                if !deps.contains(&id) {
                    deps.push(id);
                }
            }
        }
    }
    json!({
        "version": 1, "timezone": "UTC", "teams": teams, "services": services,
        "environments": environments, "freezes": freezes, "releases": releases,
    })
}

fn dedup(mut v: Vec<String>) -> Vec<String> {
    v.sort();
    v.dedup();
    v
}
