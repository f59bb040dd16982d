//! The warm calendar (`Live`) against real SQLite files: after every kind of
//! write, by this connection or another one, it answers what a full check of
//! the database answers.

#![allow(
    clippy::unwrap_used,
    reason = "a test should panic loudly on a broken assumption"
)]

use chrono::{DateTime, Duration, Utc};
use relcal_api::*;
use relcal_domain::Interval;

use relcal_testkit::at;

/// A calendar of 600 releases over two months, with freezes, windows,
/// capacity limits, dependencies and readiness rules all in play.
fn calendar(path: &std::path::Path) -> Store {
    let mut store = open_store(path).unwrap();
    let size = relcal_testkit::Size {
        teams: 12,
        releases: 600,
        freezes: 12,
        dependencies: 80,
        days: 60,
    };
    import_plan_text(&mut store, &relcal_testkit::plan(size, 3).to_string()).unwrap();
    store
}

/// What a full check of the database says at `now`.
fn full(store: &Store, now: DateTime<Utc>) -> ConflictsView {
    conflicts_view(store, now).unwrap()
}

/// The warm calendar's views equal the database's, over a few ranges.
fn same_views(live: &Live, store: &Store) {
    for (from, to) in [
        ("2027-01-01T00:00:00Z", "2027-01-08T00:00:00Z"),
        ("2027-01-18T00:00:00Z", "2027-03-01T00:00:00Z"),
        ("2026-06-01T00:00:00Z", "2027-06-01T00:00:00Z"),
    ] {
        let (from, to) = (at(from), at(to));
        let warm = live.calendar_view(from, to).unwrap();
        assert!(!warm.releases.is_empty());
        assert_eq!(warm, calendar_view(store, from, to).unwrap());
    }
    let (a, b) = (at("2027-01-08T00:00:00Z"), at("2027-01-01T00:00:00Z"));
    assert_eq!(
        live.calendar_view(a, b).unwrap_err().message,
        calendar_view(store, a, b).unwrap_err().message
    );
}

fn ids(store: &Store) -> Vec<String> {
    let plan = stored_plan(store).unwrap();
    plan.releases.iter().map(|r| r.id.to_string()).collect()
}

#[test]
fn every_kind_of_write_is_caught_up_with_as_a_full_check_sees_it() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("live.db");
    let mut store = calendar(&path);
    let now = at("2027-01-20T09:00:00Z");
    let mut live = Live::open(&store, now, &mut |_| {}).unwrap();
    assert_eq!(live.conflicts_view(None), full(&store, now));
    assert!(!live.conflicts_view(None).items.is_empty());
    same_views(&live, &store);
    let releases = ids(&store);

    // Writes through the old, whole-calendar paths of this connection.
    move_release(
        &mut store,
        &releases[0],
        "2027-01-22T10:00:00Z",
        "2027-01-22T12:00:00Z",
        now,
    )
    .unwrap();
    assert_eq!(
        live.refresh(&store, now).unwrap(),
        Freshness::Updated(1),
        "a move is one release"
    );
    assert_eq!(live.conflicts_view(None), full(&store, now));

    set_release_status(&mut store, &releases[1], "cancelled", now).unwrap();
    let mut input = release_input(&store, &releases[2]).unwrap();
    input.title = "renamed".into();
    save_release(&mut store, input, now).unwrap();
    // A release with conflicts, so that deleting it shows.
    let victim = full(&store, now)
        .items
        .iter()
        .flat_map(|i| i.conflict.releases.clone())
        .find(|r| !releases[..5].contains(r))
        .unwrap();
    delete_object(&mut store, ObjectKind::Release, &victim, now).unwrap();
    assert_eq!(live.refresh(&store, now).unwrap(), Freshness::Updated(3));
    assert_eq!(live.conflicts_view(None), full(&store, now));
    same_views(&live, &store);

    // Another connection on the same file, as the CLI in another process.
    let mut other = open_store(&path).unwrap();
    move_release(
        &mut other,
        &releases[4],
        "2027-01-25T08:00:00Z",
        "2027-01-25T20:00:00Z",
        now,
    )
    .unwrap();
    assert_eq!(live.refresh(&store, now).unwrap(), Freshness::Updated(1));
    assert_eq!(live.conflicts_view(None), full(&store, now));

    // A freeze is not a release: the state says it must be rebuilt.
    let plan = stored_plan(&store).unwrap();
    let mut freeze = freeze_input(&store, plan.freezes[0].id.as_str()).unwrap();
    freeze.severity = if freeze.severity == "hard" {
        "soft"
    } else {
        "hard"
    }
    .into();
    save_freeze(&mut other, freeze, now).unwrap();
    assert_eq!(live.refresh(&store, now).unwrap(), Freshness::Stale);
    assert_eq!(
        live.refresh_or_reopen(&store, now).unwrap(),
        Freshness::Stale
    );
    assert_eq!(live.conflicts_view(None), full(&store, now));
    same_views(&live, &store);
    assert_eq!(live.refresh(&store, now).unwrap(), Freshness::Unchanged);

    // The clock moves on: readiness follows it everywhere, not only where
    // something was written.
    let later = now + Duration::days(9) + Duration::hours(5);
    live.refresh(&store, later).unwrap();
    assert_eq!(live.conflicts_view(None), full(&store, later));
}

#[test]
fn a_warm_move_answers_as_the_whole_calendar_path_does() {
    let dir = tempfile::tempdir().unwrap();
    let (mut warm_store, mut cold_store) = (
        calendar(&dir.path().join("warm.db")),
        calendar(&dir.path().join("cold.db")),
    );
    let now = at("2027-01-20T09:00:00Z");
    let mut live = Live::open(&warm_store, now, &mut |_| {}).unwrap();
    let releases = ids(&warm_store);
    for (i, id) in releases.iter().step_by(37).enumerate() {
        let day = 4 + (i as i64 * 3) % 50;
        let start =
            at("2027-01-01T06:00:00Z") + Duration::days(day) + Duration::hours(i as i64 % 9);
        let end = start + Duration::hours(1 + i as i64 % 5);
        let (s, e) = (start.to_rfc3339(), end.to_rfc3339());
        let warm = live.move_release(&mut warm_store, id, &s, &e, now).unwrap();
        let cold = move_release(&mut cold_store, id, &s, &e, now).unwrap();
        assert_eq!(warm, cold, "moving {id}");
    }
    let status = live
        .set_release_status(&mut warm_store, &releases[5], "done", now)
        .unwrap();
    assert_eq!(
        status,
        set_release_status(&mut cold_store, &releases[5], "done", now).unwrap()
    );
    assert_eq!(live.conflicts_view(None), full(&cold_store, now));
    same_views(&live, &cold_store);
    // The warm path wrote what the cold one wrote, audit trail included.
    assert_eq!(
        stored_plan(&warm_store).unwrap(),
        stored_plan(&cold_store).unwrap()
    );
    assert!(audit_verify(&warm_store).unwrap().intact);
}

#[test]
fn warm_errors_name_the_release_and_field_and_write_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = calendar(&dir.path().join("errors.db"));
    let now = at("2027-01-20T09:00:00Z");
    let mut live = Live::open(&store, now, &mut |_| {}).unwrap();
    let releases = ids(&store);
    let before = audit_log(&store, None).unwrap().len();
    let cold = move_release(
        &mut store,
        &releases[7],
        "2027-01-22T12:00:00Z",
        "2027-01-22T10:00:00Z",
        now,
    )
    .unwrap_err();
    let warm = live
        .move_release(
            &mut store,
            &releases[7],
            "2027-01-22T12:00:00Z",
            "2027-01-22T10:00:00Z",
            now,
        )
        .unwrap_err();
    assert_eq!(warm.message, cold.message);
    assert!(warm.message.contains("releases[7]"), "{}", warm.message);
    let missing = live
        .move_release(
            &mut store,
            "no-such",
            "2027-01-22T10:00:00Z",
            "2027-01-22T12:00:00Z",
            now,
        )
        .unwrap_err();
    assert_eq!(missing.code, ErrorCode::NotFound);
    assert_eq!(audit_log(&store, None).unwrap().len(), before);
}

#[test]
fn a_view_shows_the_conflicts_of_its_releases_and_counts_the_whole_calendar() {
    let dir = tempfile::tempdir().unwrap();
    let store = calendar(&dir.path().join("view.db"));
    let now = at("2027-01-20T09:00:00Z");
    let live = Live::open(&store, now, &mut |_| {}).unwrap();
    let all = full(&store, now);
    let (from, to) = (at("2027-01-25T00:00:00Z"), at("2027-02-01T00:00:00Z"));
    let week = live.conflicts_view(Some(Interval {
        start: from,
        end: to,
    }));
    assert_eq!(week.summary, all.summary);
    assert!(!week.items.is_empty() && week.items.len() < all.items.len());
    let shown: std::collections::HashSet<String> = calendar_view(&store, from, to)
        .unwrap()
        .releases
        .into_iter()
        .map(|r| r.id)
        .collect();
    let expected: Vec<&ConflictItem> = all
        .items
        .iter()
        .filter(|i| i.conflict.releases.iter().any(|r| shown.contains(r)))
        .collect();
    assert_eq!(week.items.iter().collect::<Vec<_>>(), expected);

    // A badge per release in view: how many conflicts name it and the worst
    // severity among them; badges alone weigh less.
    let rank = |s: &str| {
        ["error", "warning", "info"]
            .iter()
            .position(|x| *x == s)
            .unwrap()
    };
    let mut counted: std::collections::BTreeMap<&str, (u32, usize)> = Default::default();
    for i in &week.items {
        for r in i.conflict.releases.iter().filter(|r| shown.contains(*r)) {
            let e = counted.entry(r.as_str()).or_insert((0, 2));
            e.0 += 1;
            e.1 = e.1.min(rank(&i.conflict.severity));
        }
    }
    let badges: Vec<(&str, u32, usize)> = week
        .badges
        .iter()
        .map(|b| (b.release.as_str(), b.count, rank(&b.severity)))
        .collect();
    let expected: Vec<(&str, u32, usize)> =
        counted.into_iter().map(|(r, (n, s))| (r, n, s)).collect();
    assert_eq!(badges, expected);
    assert!(
        badges.iter().any(|b| b.1 > 1),
        "some release has several conflicts"
    );
    let light = live.conflicts_shown(
        Some(Interval {
            start: from,
            end: to,
        }),
        false,
    );
    assert!(light.items.is_empty());
    assert_eq!((light.badges, light.summary), (week.badges, week.summary));
}

#[test]
fn opening_reports_its_steps_and_an_empty_database_has_no_conflicts() {
    let dir = tempfile::tempdir().unwrap();
    let store = calendar(&dir.path().join("steps.db"));
    let mut steps = Vec::new();
    Live::open(&store, at("2027-01-20T09:00:00Z"), &mut |p| steps.push(p)).unwrap();
    assert_eq!(steps.len(), 2);
    assert_eq!((steps[0].step, steps[1].step, steps[1].steps), (1, 2, 2));
    assert_eq!(steps[1].releases, 600);
    assert_eq!(steps[1].what, "Checking 600 releases for conflicts");

    let empty = open_store(&dir.path().join("empty.db")).unwrap();
    let now = at("2027-01-20T09:00:00Z");
    let mut live = Live::open(&empty, now, &mut |_| {}).unwrap();
    let view = live.conflicts_view(None);
    assert!(view.items.is_empty());
    assert_eq!(view.checked_at, "2027-01-20T09:00:00Z");
    let err = live
        .move_release(
            &mut open_store(&dir.path().join("empty.db")).unwrap(),
            "x",
            "a",
            "b",
            now,
        )
        .unwrap_err();
    assert_eq!(err.code, ErrorCode::NotFound);
}

#[test]
fn a_view_of_thousands_of_releases_is_built_in_order_as_the_database_lists_them() {
    // Over 2,048 releases in view: the events are built on two cores.
    let dir = tempfile::tempdir().unwrap();
    let mut store = open_store(&dir.path().join("many.db")).unwrap();
    let size = relcal_testkit::Size {
        teams: 20,
        releases: 5_000,
        freezes: 12,
        dependencies: 100,
        days: 30,
    };
    import_plan_text(&mut store, &relcal_testkit::plan(size, 5).to_string()).unwrap();
    let live = Live::open(&store, at("2027-01-10T09:00:00Z"), &mut |_| {}).unwrap();
    let (from, to) = (at("2027-01-01T00:00:00Z"), at("2027-02-15T00:00:00Z"));
    let warm = live.calendar_view(from, to).unwrap();
    assert!(warm.releases.len() > 4_000, "{}", warm.releases.len());
    assert_eq!(warm, calendar_view(&store, from, to).unwrap());
}
