//! Property tests of the conflict engine on random plans:
//! - the pairwise rules agree with a deliberately naive all-pairs version;
//! - re-checking after one edit equals a full check of the edited plan.

#![allow(
    clippy::unwrap_used,
    reason = "a test should panic loudly on a broken assumption"
)]

use chrono::{DateTime, Duration, Utc};
use proptest::prelude::*;
use relcal_domain::{check, parse_plan_value, Checker, Conflict, Plan, Release, ReleaseId};
use serde_json::{json, Value};
use std::collections::BTreeSet;

const STATUSES: [&str; 7] = [
    "draft",
    "planned",
    "approved",
    "in_progress",
    "done",
    "rolled_back",
    "cancelled",
];
const OWNERS: [&str; 3] = ["ana", "li", "omar"];

fn base_time() -> DateTime<Utc> {
    DateTime::parse_from_rfc3339("2027-03-01T00:00:00Z")
        .unwrap()
        .to_utc()
}

fn iso(minutes: i64) -> String {
    (base_time() + Duration::minutes(minutes)).to_rfc3339()
}

#[derive(Debug, Clone)]
struct R {
    start: i64,
    len: i64,
    env: usize,
    services: Vec<usize>,
    status: usize,
    owner: Option<usize>,
    deps: Vec<usize>,
    rollback: bool,
}

fn release_strategy(n: usize) -> impl Strategy<Value = R> {
    (
        0i64..(60 * 24 * 6),
        // Lengths on a 30-minute grid make touching and shared boundaries common.
        (1i64..16).prop_map(|k| k * 30),
        0usize..3,
        proptest::collection::vec(0usize..4, 1..3),
        0usize..STATUSES.len(),
        proptest::option::of(0usize..OWNERS.len()),
        proptest::collection::vec(0usize..n + 2, 0..3),
        any::<bool>(),
    )
        .prop_map(
            |(start, len, env, services, status, owner, deps, rollback)| R {
                start: start / 30 * 30,
                len,
                env,
                services,
                status,
                owner,
                deps,
                rollback,
            },
        )
}

fn release_json(i: usize, r: &R) -> Value {
    let mut v = json!({
        "id": format!("r{i}"), "title": format!("Release {i}"), "team": format!("t{}", i % 2),
        "services": r.services.iter().map(|s| format!("s{s}")).collect::<BTreeSet<_>>(),
        "environment": format!("e{}", r.env),
        "start": iso(r.start), "end": iso(r.start + r.len), "status": STATUSES[r.status],
        // Ids past the last release are missing dependencies.
        "depends_on": r.deps.iter().map(|d| format!("r{d}")).collect::<BTreeSet<_>>(),
        "checklist": [{"id": "c", "text": "tests", "required": true, "done": i.is_multiple_of(3)}],
        "approvals": [{"by": OWNERS[i % 3], "at": iso(0)}],
    });
    if let Some(o) = r.owner {
        v["owner"] = json!(OWNERS[o]);
    }
    if r.rollback {
        v["rollback"] = json!({"steps": ["undo"]});
    }
    v
}

fn plan_json(releases: &[R]) -> Value {
    json!({
        "version": 1, "timezone": "Europe/Berlin",
        "teams": [
            {"id": "t0", "name": "Zero", "timezone": "America/New_York",
             "allowed_windows": [{"start": "2027-01-04T08:00:00", "duration": "PT10H", "rrule": "FREQ=WEEKLY;BYDAY=MO,TU,WE,TH,FR"}]},
            {"id": "t1", "name": "One"}
        ],
        "services": (0..4).map(|s| json!({"id": format!("s{s}"), "team": format!("t{}", s % 2)})).collect::<Vec<_>>(),
        "environments": [
            {"id": "e0", "name": "Staging", "max_concurrent": 2},
            {"id": "e1", "name": "Production", "production": true, "max_concurrent": 1, "required_approvals": 1},
            {"id": "e2", "name": "QA", "required_approvals": 2}
        ],
        "freezes": [
            {"id": "weekend", "name": "Weekend", "severity": "soft", "timezone": "Europe/London",
             "start": "2027-01-02T00:00:00", "duration": "P2D", "rrule": "FREQ=WEEKLY;BYDAY=SA"},
            {"id": "nightly", "name": "Nightly backup", "severity": "hard", "timezone": "America/New_York",
             "start": "2027-01-01T23:00:00", "duration": "PT2H", "rrule": "FREQ=DAILY", "exdates": ["2027-03-03T23:00:00"],
             "scope": {"environments": ["e1"]}},
            {"id": "launch", "name": "Launch", "severity": "hard", "start": "2027-03-04T00:00:00Z",
             "end": "2027-03-05T00:00:00Z", "scope": {"services": ["s1"], "teams": ["t0"]}}
        ],
        "releases": releases.iter().enumerate().map(|(i, r)| release_json(i, r)).collect::<Vec<_>>(),
    })
}

fn plans() -> impl Strategy<Value = Vec<R>> {
    (2usize..14).prop_flat_map(|n| proptest::collection::vec(release_strategy(n), n))
}

fn now() -> DateTime<Utc> {
    base_time() + Duration::days(2)
}

type Key = (String, Vec<String>, DateTime<Utc>, DateTime<Utc>);

fn keys(conflicts: &[Conflict], codes: &[&str]) -> BTreeSet<Key> {
    conflicts
        .iter()
        .filter(|c| codes.contains(&c.code))
        .map(|c| {
            (
                c.code.to_owned(),
                c.releases.iter().map(ToString::to_string).collect(),
                c.period.start,
                c.period.end,
            )
        })
        .collect()
}

/// The pairwise and dependency rules, by brute force over all pairs and all instants.
fn naive(plan: &Plan) -> BTreeSet<Key> {
    let active: Vec<&Release> = plan
        .releases
        .iter()
        .filter(|r| r.status.is_active())
        .collect();
    let mut out = BTreeSet::new();
    let ids = |rs: &[&Release]| -> Vec<String> {
        let mut v: Vec<String> = rs.iter().map(|r| r.id.to_string()).collect();
        v.sort();
        v
    };
    for (i, a) in active.iter().enumerate() {
        for b in &active[i + 1..] {
            let (start, end) = (a.start.utc.max(b.start.utc), a.end.utc.min(b.end.utc));
            if start >= end {
                continue;
            }
            if a.environment == b.environment && a.services.iter().any(|s| b.services.contains(s)) {
                out.insert(("service.overlap".into(), ids(&[a, b]), start, end));
            }
            if a.owner.is_some() && a.owner == b.owner {
                out.insert(("owner.double_booked".into(), ids(&[a, b]), start, end));
            }
        }
    }
    for env in &plan.environments {
        let Some(limit) = env.max_concurrent else {
            continue;
        };
        let members: Vec<&Release> = active
            .iter()
            .copied()
            .filter(|r| r.environment == env.id)
            .collect();
        let mut instants: Vec<DateTime<Utc>> = members
            .iter()
            .flat_map(|r| [r.start.utc, r.end.utc])
            .collect();
        instants.sort();
        instants.dedup();
        // Elementary segments between consecutive instants; merge the ones above the limit.
        let mut run: Option<(DateTime<Utc>, DateTime<Utc>)> = None;
        let mut flush = |run: &mut Option<(DateTime<Utc>, DateTime<Utc>)>| {
            if let Some((s, e)) = run.take() {
                let inside: Vec<&Release> = members
                    .iter()
                    .copied()
                    .filter(|r| r.start.utc < e && s < r.end.utc)
                    .collect();
                out.insert(("environment.capacity".into(), ids(&inside), s, e));
            }
        };
        for w in instants.windows(2) {
            let (s, e) = (w[0], w[1]);
            let count = members
                .iter()
                .filter(|r| r.start.utc <= s && e <= r.end.utc)
                .count();
            if count > limit as usize {
                run = Some((run.map_or(s, |r| r.0), e));
            } else {
                flush(&mut run);
            }
        }
        flush(&mut run);
    }
    out
}

/// Conflicts by severity: error, warning, info.
fn counts(conflicts: &[Conflict]) -> [usize; 3] {
    let mut out = [0; 3];
    for c in conflicts {
        out[c.severity as usize] += 1;
    }
    out
}

const PAIRWISE: [&str; 3] = [
    "service.overlap",
    "owner.double_booked",
    "environment.capacity",
];

proptest! {
    // 256 cases by default; PROPTEST_CASES=N runs more.
    #![proptest_config(ProptestConfig::default())]

    #[test]
    fn pairwise_rules_agree_with_all_pairs(rs in plans()) {
        let plan = parse_plan_value(plan_json(&rs)).unwrap();
        prop_assert_eq!(keys(&check(&plan, now()), &PAIRWISE), naive(&plan));
    }

    #[test]
    fn one_edit_rechecked_equals_a_full_check(rs in plans(), which in any::<prop::sample::Index>(), edit in release_strategy(14), remove in any::<bool>()) {
        let plan = parse_plan_value(plan_json(&rs)).unwrap();
        let mut checker = Checker::new(&plan, now());
        let i = which.index(rs.len());
        let mut edited = rs.clone();
        if remove {
            edited.remove(i);
            // Keep ids stable: rebuild the JSON with the same ids minus r{i}.
            let mut json = plan_json(&rs);
            json["releases"].as_array_mut().unwrap().remove(i);
            let expected = check(&parse_plan_value(json).unwrap(), now());
            checker.remove_release(&ReleaseId::new(format!("r{i}")));
            prop_assert_eq!(checker.count_by_severity(), counts(&expected));
            prop_assert_eq!(checker.conflicts(), expected);
        } else {
            edited[i] = edit;
            let edited_plan = parse_plan_value(plan_json(&edited)).unwrap();
            let release = edited_plan.releases[i].clone();
            checker.upsert_release(release);
            let expected = check(&edited_plan, now());
            prop_assert_eq!(checker.count_by_severity(), counts(&expected));
            prop_assert_eq!(checker.conflicts(), expected);
        }
    }

    #[test]
    fn adding_a_release_rechecked_equals_a_full_check(rs in plans(), extra in release_strategy(14)) {
        let plan = parse_plan_value(plan_json(&rs)).unwrap();
        let mut checker = Checker::new(&plan, now());
        let mut more = rs.clone();
        more.push(extra);
        let full = parse_plan_value(plan_json(&more)).unwrap();
        checker.upsert_release(full.releases[rs.len()].clone());
        prop_assert_eq!(checker.conflicts(), check(&full, now()));
    }

    #[test]
    fn moving_the_clock_rechecked_equals_a_full_check(rs in plans(), edit in release_strategy(14), hours in -48i64..(24 * 8)) {
        // A clock that moves after an edit, as in the app: readiness rules
        // must follow it for every release, not only the edited one.
        let plan = parse_plan_value(plan_json(&rs)).unwrap();
        let mut checker = Checker::new(&plan, now());
        let mut edited = rs.clone();
        edited[0] = edit;
        let edited_plan = parse_plan_value(plan_json(&edited)).unwrap();
        checker.upsert_release(edited_plan.releases[0].clone());
        let later = base_time() + Duration::hours(hours);
        checker.set_now(later);
        prop_assert_eq!(checker.now(), later);
        prop_assert_eq!(checker.count_by_severity(), counts(&check(&edited_plan, later)));
        prop_assert_eq!(checker.conflicts(), check(&edited_plan, later));
    }

    #[test]
    fn a_view_shows_exactly_the_conflicts_of_its_releases(rs in plans(), edit in release_strategy(14), from in 0i64..(60 * 24 * 6), days in 1i64..4) {
        // After an edit, so that the index of windows is kept as well as built.
        let mut edited = rs.clone();
        edited[0] = edit;
        let plan = parse_plan_value(plan_json(&edited)).unwrap();
        let original = parse_plan_value(plan_json(&rs)).unwrap();
        let mut checker = Checker::new(&original, now());
        checker.upsert_release(plan.releases[0].clone());
        let range = relcal_domain::Interval {
            start: base_time() + Duration::minutes(from),
            end: base_time() + Duration::minutes(from) + Duration::days(days),
        };
        let overlaps = |p: &relcal_domain::Interval| p.overlaps(&range);
        let shown: BTreeSet<&str> = plan
            .releases
            .iter()
            .filter(|r| overlaps(&r.interval()))
            .map(|r| r.id.as_str())
            .collect();
        let expected: Vec<Conflict> = check(&plan, now())
            .into_iter()
            .filter(|c| c.releases.iter().any(|id| shown.contains(id.as_str())))
            .collect();
        prop_assert_eq!(checker.conflicts_in_view(range), expected.clone());
        // The badges of the releases in view count all their conflicts.
        let mut badges: std::collections::BTreeMap<String, (usize, usize)> = Default::default();
        for c in &expected {
            for id in c.releases.iter().filter(|id| shown.contains(id.as_str())) {
                let b = badges.entry(id.to_string()).or_insert((0, 2));
                b.0 += 1;
                b.1 = b.1.min(c.severity as usize);
            }
        }
        let got: std::collections::BTreeMap<String, (usize, usize)> = checker
            .badges_in_view(range)
            .into_iter()
            .map(|(id, n, severity)| (id.to_string(), (n, severity as usize)))
            .collect();
        prop_assert_eq!(got, badges);
        // One release's conflicts are read the same way.
        let all = check(&plan, now());
        for r in &plan.releases {
            let its: Vec<Conflict> = all.iter().filter(|c| c.releases.contains(&r.id)).cloned().collect();
            prop_assert_eq!(checker.conflicts_of(&r.id), its);
        }
    }

    #[test]
    fn crowded_capacity_rechecked_near_an_edit_equals_a_full_check(rs in plans(), which in any::<prop::sample::Index>(), edit in release_strategy(14)) {
        // Everything in one environment with a limit, within one day, so
        // capacity periods touch, split and join as a release moves.
        let crowd = |mut r: R| {
            r.env = 0;
            r.start %= 60 * 24;
            r
        };
        let rs: Vec<R> = rs.into_iter().map(crowd).collect();
        let plan = parse_plan_value(plan_json(&rs)).unwrap();
        let mut checker = Checker::new(&plan, now());
        let i = which.index(rs.len());
        let mut edited = rs.clone();
        edited[i] = crowd(edit);
        let edited_plan = parse_plan_value(plan_json(&edited)).unwrap();
        checker.upsert_release(edited_plan.releases[i].clone());
        prop_assert_eq!(checker.conflicts(), check(&edited_plan, now()));
    }
}
