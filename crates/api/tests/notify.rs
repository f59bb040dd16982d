//! The notification scheduler with a fake clock on a real database: each
//! notice once, also across restarts; missed ones summarised; do-not-disturb;
//! a failed send retried; new conflicts.

#![allow(
    clippy::unwrap_used,
    reason = "a test should panic loudly on a broken assumption"
)]

mod common;
use relcal_api::*;

use relcal_testkit::at;

/// The notices a run at `now` shows.
fn notices(store: &mut Store, now: &str) -> Vec<OutgoingNotice> {
    let mut shown = Vec::new();
    run_notifications(store, at(now), &mut |n| {
        shown.push(n.clone());
        Ok(())
    })
    .unwrap();
    shown
}

/// Their summaries.
fn run(store: &mut Store, now: &str) -> Vec<String> {
    notices(store, now).into_iter().map(|n| n.summary).collect()
}

fn demo(dir: &tempfile::TempDir) -> Store {
    let mut store = open_store(&dir.path().join("cal.db")).unwrap();
    import_plan_text(&mut store, DEMO_PLAN).unwrap();
    let s = NotifySettings {
        kinds: vec![
            "freeze_upcoming".into(),
            "freeze_starts".into(),
            "freeze_ends".into(),
        ],
        ..Default::default()
    };
    save_notify_settings(&mut store, s, at("2026-12-01T00:00:00Z")).unwrap();
    store
}

#[test]
fn each_notice_is_sent_once_also_after_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = demo(&dir);
    // The holiday freeze starts 21 Dec 00:00 New York (05:00Z): a day ahead is 20 Dec 05:00Z.
    assert!(run(&mut store, "2026-12-20T04:58:00Z")
        .iter()
        .all(|s| !s.starts_with("Holiday")));
    assert_eq!(
        run(&mut store, "2026-12-20T05:00:00Z"),
        ["Holiday freeze starts in 1 day"]
    );
    assert!(run(&mut store, "2026-12-20T05:00:30Z").is_empty());
    drop(store);
    // A new process, the same database: nothing again.
    let mut store = open_store(&dir.path().join("cal.db")).unwrap();
    assert!(run(&mut store, "2026-12-20T05:01:00Z").is_empty());
    // The clock set back an hour: still nothing twice.
    assert!(run(&mut store, "2026-12-20T04:10:00Z").is_empty());
    assert!(run(&mut store, "2026-12-20T05:02:00Z").is_empty());
    assert_eq!(
        run(&mut store, "2026-12-21T04:00:00Z"),
        ["Holiday freeze starts in 1 hour"]
    );
}

#[test]
fn what_fell_due_while_nothing_ran_comes_as_one_summary() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = demo(&dir);
    run(&mut store, "2026-12-19T00:00:00Z");
    // Closed for a week over Christmas.
    let shown = run(&mut store, "2026-12-26T12:00:00Z");
    assert_eq!(shown.len(), 1, "{shown:?}");
    assert!(
        shown[0].starts_with("While Relcal was not running:"),
        "{shown:?}"
    );
    let mut bodies = Vec::new();
    run_notifications(&mut store, at("2026-12-26T12:00:00Z"), &mut |n| {
        bodies.push(n.body.clone());
        Ok(())
    })
    .unwrap();
    assert!(bodies.is_empty(), "the summary is not repeated");
}

#[test]
fn do_not_disturb_holds_and_a_failed_send_is_retried() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = demo(&dir);
    run(&mut store, "2026-12-20T04:59:00Z");
    let mut s = notify_settings(&store).unwrap();
    s.do_not_disturb = true;
    save_notify_settings(&mut store, s.clone(), at("2026-12-20T04:59:00Z")).unwrap();
    let held = run_notifications(&mut store, at("2026-12-20T05:00:00Z"), &mut |_| Ok(())).unwrap();
    assert!(held.held && held.sent.is_empty());
    s.do_not_disturb = false;
    save_notify_settings(&mut store, s, at("2026-12-20T05:00:10Z")).unwrap();
    // The daemon is down: the run fails and records nothing.
    let err = run_notifications(&mut store, at("2026-12-20T05:00:20Z"), &mut |_| {
        Err("no notification daemon".into())
    })
    .unwrap_err();
    assert!(
        err.message.contains("no notification daemon"),
        "{}",
        err.message
    );
    assert_eq!(
        run(&mut store, "2026-12-20T05:00:30Z"),
        ["Holiday freeze starts in 1 day"]
    );
}

#[test]
fn a_new_error_conflict_is_announced_once_and_the_first_run_only_looks() {
    let (_dir, mut store) = common::calendar_of(DEMO_PLAN);
    let s = NotifySettings {
        kinds: vec!["new_conflict".into()],
        ..Default::default()
    };
    save_notify_settings(&mut store, s, at("2026-11-25T00:00:00Z")).unwrap();
    // The demo's existing conflicts are the baseline.
    assert!(run(&mut store, "2026-11-25T00:00:00Z").is_empty());
    move_release(
        &mut store,
        "auth-5.2",
        "2026-12-22T09:00:00Z",
        "2026-12-22T10:00:00Z",
        at("2026-11-25T00:00:00Z"),
    )
    .unwrap();
    let shown = run(&mut store, "2026-11-25T00:01:00Z");
    assert!(
        shown.iter().any(|s| s == "New conflict: freeze.hard"),
        "{shown:?}"
    );
    assert!(run(&mut store, "2026-11-25T00:02:00Z").is_empty());
}

#[test]
fn bad_settings_name_the_field() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = demo(&dir);
    let now = at("2026-12-01T00:00:00Z");
    for (mutate, field) in [
        (
            Box::new(|s: &mut NotifySettings| s.kinds = vec!["gossip".into()])
                as Box<dyn Fn(&mut NotifySettings)>,
            "kinds[0]",
        ),
        (
            Box::new(|s: &mut NotifySettings| s.freeze_leads = vec![0]),
            "freeze_leads",
        ),
        (
            Box::new(|s: &mut NotifySettings| s.timezone = Some("Moon/Base".into())),
            "timezone",
        ),
        (
            Box::new(|s: &mut NotifySettings| s.quiet_start = Some("22:00".into())),
            "quiet_end",
        ),
        (
            Box::new(|s: &mut NotifySettings| {
                s.quiet_start = Some("25:00".into());
                s.quiet_end = Some("07:00".into());
            }),
            "quiet_start",
        ),
    ] {
        let mut s = NotifySettings::default();
        mutate(&mut s);
        let err = save_notify_settings(&mut store, s, now).unwrap_err();
        assert!(
            err.message.contains(&format!("field `{field}`")),
            "{}",
            err.message
        );
    }
}

#[test]
fn the_tray_names_the_next_or_current_freeze_and_counts_open_conflicts() {
    let dir = tempfile::tempdir().unwrap();
    let store = demo(&dir);
    let before = tray_status(&store, at("2026-12-19T00:00:00Z")).unwrap();
    // The no-Friday freeze (Fri 18 Dec 12:00 Berlin) is over; the next is Christmas week's.
    assert_eq!(
        before.next_freeze.as_deref(),
        Some("Holiday freeze from 21 Dec 2026 00:00 EST (America/New_York)")
    );
    assert!(before.open_conflicts > 0);
    let during = tray_status(&store, at("2026-12-22T00:00:00Z")).unwrap();
    assert_eq!(
        during.next_freeze.as_deref(),
        Some("Holiday freeze now, until 4 Jan 2027 00:00 EST")
    );
}

/// Opened 59 minutes before a hard freeze, the first run still warns, from
/// now; only the nearest lead is sent, once, and the freeze's start follows.
#[test]
fn the_first_run_warns_of_what_is_about_to_begin() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = demo(&dir);
    // The holiday freeze starts 21 Dec 05:00Z; the app opens at 04:01Z.
    assert_eq!(
        run(&mut store, "2026-12-21T04:01:00Z"),
        ["Holiday freeze starts in 59 minutes"]
    );
    assert!(run(&mut store, "2026-12-21T04:02:00Z").is_empty());
    assert_eq!(
        run(&mut store, "2026-12-21T05:00:00Z"),
        ["Holiday freeze starts now"]
    );
}

/// A first run after the freeze began does not say it is about to start.
#[test]
fn the_first_run_does_not_warn_of_what_has_begun() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = demo(&dir);
    let shown = run(&mut store, "2026-12-21T05:02:00Z");
    assert!(shown.iter().all(|s| !s.contains("starts in")), "{shown:?}");
}

/// A first run just before another lead falls due leaves the restating to it:
/// opened 1 hour and 1 minute before a freeze, only "starts in 1 hour" comes.
#[test]
fn the_first_run_leaves_it_to_a_lead_about_to_fall_due() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = demo(&dir);
    // The holiday freeze starts 21 Dec 05:00Z; its one-hour lead is due at 04:00Z.
    assert!(run(&mut store, "2026-12-21T03:59:00Z").is_empty());
    assert_eq!(
        run(&mut store, "2026-12-21T04:00:00Z"),
        ["Holiday freeze starts in 1 hour"]
    );
}

/// Every notice kind, for the comparison of the two paths.
fn everything(dir: &tempfile::TempDir, name: &str) -> Store {
    let mut store = open_store(&dir.path().join(name)).unwrap();
    import_plan_text(&mut store, DEMO_PLAN).unwrap();
    let s = NotifySettings {
        kinds: [
            "freeze_upcoming",
            "freeze_starts",
            "freeze_ends",
            "release_upcoming",
            "readiness_gap",
            "new_conflict",
            "exception_expires",
            "exception_requested",
        ]
        .map(str::to_owned)
        .to_vec(),
        ..Default::default()
    };
    save_notify_settings(&mut store, s, at("2026-11-20T00:00:00Z")).unwrap();
    store
}

fn shown(run: Result<NotifyRun, ApiError>) -> Vec<(String, String, String)> {
    let run = run.unwrap();
    run.sent
        .into_iter()
        .map(|n| (n.key, n.summary, n.body))
        .chain(std::iter::once((
            "next".into(),
            run.next_at.unwrap_or_default(),
            format!("{:?}", run.tray),
        )))
        .collect()
}

#[test]
fn the_warm_calendar_sends_what_a_full_check_sends() {
    // The app's scheduler runs on the warm calendar (`Live`), the CLI on the
    // whole stored calendar: the same notices, tray and wake-up time at every
    // step, through release moves, a status change and a deleted freeze.
    let dir = tempfile::tempdir().unwrap();
    let mut cold = everything(&dir, "cold.db");
    let mut warm = everything(&dir, "warm.db");
    let start = at("2026-11-20T00:00:00Z");
    let mut live = Live::open(&warm, start, &mut |_| {}).unwrap();
    let mut sent: Vec<String> = Vec::new();
    // Every few minutes around the demo's releases (1 Dec), then every few
    // hours through its freezes to the new year.
    let busy = at("2026-11-30T12:00:00Z");
    let instants = (0..120)
        .map(|i| start + chrono::Duration::minutes(4 * 60 * i + 7 * (i % 5)))
        .filter(|t| *t < busy)
        .chain((0..(36 * 60 / 4)).map(|i| busy + chrono::Duration::minutes(4 * i)))
        .chain((0..150).map(|i| {
            at("2026-12-02T00:00:00Z") + chrono::Duration::minutes(4 * 60 * i + 11 * (i % 3))
        }));
    for (step, now) in instants.enumerate() {
        match step {
            60 => {
                for store in [&mut cold, &mut warm] {
                    move_release(
                        store,
                        "auth-5.2",
                        "2026-12-22T09:00:00Z",
                        "2026-12-22T10:00:00Z",
                        now,
                    )
                    .unwrap();
                }
            }
            400 => {
                set_release_status(&mut cold, "ledger-hotfix", "cancelled", now).unwrap();
                live.set_release_status(&mut warm, "ledger-hotfix", "cancelled", now)
                    .unwrap();
            }
            700 => {
                for store in [&mut cold, &mut warm] {
                    delete_object(store, ObjectKind::Freeze, "no-friday", now).unwrap();
                }
            }
            // A freeze exception asked for on another desktop, for a
            // release three weeks on, as a sync brings it.
            20 => {
                let request = ExceptionRequest {
                    id: "x-elsewhere".into(),
                    release: "ingress-xmas".into(),
                    freeze: "holidays".into(),
                    reason: "certificate expires".into(),
                    expires: None,
                    requested_by: "ana".into(),
                    requested_at: now.format("%Y-%m-%dT%H:%M:%SZ").to_string(),
                    state: RequestState::Pending,
                    decided_by: None,
                    decided_at: None,
                    note: None,
                };
                for store in [&mut cold, &mut warm] {
                    store.put_exception_request(&request, false, &[]).unwrap();
                }
            }
            _ => {}
        }
        let a = shown(run_notifications(&mut cold, now, &mut |_| Ok(())));
        let b = shown(live.run_notifications(&mut warm, now, &mut |_| Ok(())));
        assert_eq!(a, b, "at {now}");
        sent.extend(a.into_iter().map(|(key, _, _)| key).filter(|k| k != "next"));
    }
    // The comparison saw notices of freezes, releases and conflicts, not just silence.
    for kind in ["freeze:", "release:", "conflict:", "request:"] {
        assert!(
            sent.iter().any(|k| k.starts_with(kind)),
            "no {kind} in {sent:?}"
        );
    }
}

/// lee's desktop, told of what others ask for (and nothing else) with
/// these settings, holding the request ana asked for on her desktop, as a
/// sync brings it.
fn asked_of_lee(dir: &tempfile::TempDir, kinds: &[&str]) -> (Store, ExceptionRequest) {
    let desktop = |name: &str| {
        let mut store = open_store(&dir.path().join(name)).unwrap();
        import_plan_text(&mut store, DEMO_PLAN).unwrap();
        store
    };
    let mut hers = desktop("ana.db");
    hers.set_actor("ana");
    let asked = ask_exception(
        &mut hers,
        "ingress-xmas",
        "holidays",
        "certificate expires",
        Some(at("2026-12-22T09:30:00Z")),
        at("2026-12-01T00:00:00Z"),
    )
    .unwrap();
    let mut store = desktop("cal.db");
    let s = NotifySettings {
        kinds: kinds.iter().map(|k| (*k).to_owned()).collect(),
        me: Some("lee".into()),
        quiet_start: Some("22:00".into()),
        quiet_end: Some("07:00".into()),
        timezone: Some("UTC".into()),
        ..Default::default()
    };
    save_notify_settings(&mut store, s, at("2026-12-01T00:00:00Z")).unwrap();
    store.set_actor("lee");
    store.put_exception_request(&asked, false, &[]).unwrap();
    (store, asked)
}

#[test]
fn an_exception_someone_else_asks_for_is_announced_once_and_opens_the_release() {
    let dir = tempfile::tempdir().unwrap();
    let (mut store, _) = asked_of_lee(&dir, &["exception_requested"]);
    let shown = notices(&mut store, "2026-12-01T10:00:00Z");
    assert_eq!(shown.len(), 1, "{shown:?}");
    assert_eq!(
        shown[0].summary,
        "Freeze exception asked for ingress TLS update"
    );
    assert_eq!(
        shown[0].body,
        "ana asks to go ahead during Holiday freeze, until 22 Dec 2026 09:30 UTC: certificate expires"
    );
    assert_eq!(
        (
            shown[0].target_kind.as_deref(),
            shown[0].target_id.as_deref()
        ),
        (Some("release"), Some("ingress-xmas"))
    );
    // Once, also after a restart.
    assert!(run(&mut store, "2026-12-01T10:01:00Z").is_empty());
    drop(store);
    let mut store = open_store(&dir.path().join("cal.db")).unwrap();
    store.set_actor("lee");
    assert!(run(&mut store, "2026-12-01T10:02:00Z").is_empty());
}

#[test]
fn no_notice_for_my_own_request_a_decided_or_expired_one_in_quiet_hours_or_with_the_kind_off() {
    // In quiet hours it waits, and comes when they end.
    let dir = tempfile::tempdir().unwrap();
    let (mut store, _) = asked_of_lee(&dir, &["exception_requested"]);
    assert!(run(&mut store, "2026-12-01T23:00:00Z").is_empty());
    assert_eq!(
        run(&mut store, "2026-12-02T07:00:00Z").len(),
        1,
        "sent when the quiet hours end"
    );

    // Asked under my name: nothing.
    let dir = tempfile::tempdir().unwrap();
    let (mut store, _) = asked_of_lee(&dir, &["exception_requested"]);
    let mut settings = notify_settings(&store).unwrap();
    settings.me = Some("ana".into());
    save_notify_settings(&mut store, settings, at("2026-12-01T00:00:00Z")).unwrap();
    assert!(run(&mut store, "2026-12-01T10:00:00Z").is_empty());

    // Asked on this desktop, and named by the server after its account: nothing.
    let dir = tempfile::tempdir().unwrap();
    let (mut store, _) = asked_of_lee(&dir, &["exception_requested"]);
    move_release(
        &mut store,
        "checkout-2.0",
        "2026-12-22T10:00:00Z",
        "2026-12-22T11:00:00Z",
        at("2026-11-25T00:00:00Z"),
    )
    .unwrap();
    let mut mine = ask_exception(
        &mut store,
        "checkout-2.0",
        "holidays",
        "hotfix",
        None,
        at("2026-11-25T00:00:00Z"),
    )
    .unwrap();
    mine.requested_by = "lee@corp.example".into();
    store.put_exception_request(&mine, false, &[]).unwrap();
    let shown = run(&mut store, "2026-11-25T10:00:00Z");
    assert_eq!(
        shown,
        ["Freeze exception asked for ingress TLS update"],
        "only ana's"
    );

    // Decided before the run, or expired: nothing.
    let dir = tempfile::tempdir().unwrap();
    let (mut store, asked) = asked_of_lee(&dir, &["exception_requested"]);
    assert!(
        run(&mut store, "2026-12-22T09:31:00Z").is_empty(),
        "expired"
    );
    decline_exception_request(
        &mut store,
        &asked.id,
        Some("not now"),
        at("2026-12-01T09:00:00Z"),
    )
    .unwrap();
    assert!(run(&mut store, "2026-12-01T10:00:00Z").is_empty());

    // The kind off: nothing.
    let dir = tempfile::tempdir().unwrap();
    let (mut store, _) = asked_of_lee(&dir, &["freeze_starts"]);
    assert!(run(&mut store, "2026-12-01T10:00:00Z").is_empty());
}

#[test]
fn many_requests_at_once_come_as_one_notice() {
    let dir = tempfile::tempdir().unwrap();
    let (mut store, _) = asked_of_lee(&dir, &["exception_requested"]);
    let mut hers = open_store(&dir.path().join("ana.db")).unwrap();
    hers.set_actor("ana");
    for (id, start) in [
        ("auth-5.2", "2026-12-22T10:00:00Z"),
        ("checkout-2.0", "2026-12-22T12:00:00Z"),
        ("ledger-hotfix", "2026-12-22T14:00:00Z"),
    ] {
        // On both desktops, as a sync would bring it.
        for desktop in [&mut hers, &mut store] {
            move_release(
                desktop,
                id,
                start,
                &format!("{}:30:00Z", &start[..13]),
                at("2026-12-01T00:00:00Z"),
            )
            .unwrap();
        }
        let asked = ask_exception(
            &mut hers,
            id,
            "holidays",
            "year-end fix",
            None,
            at("2026-12-01T00:00:00Z"),
        )
        .unwrap();
        store.put_exception_request(&asked, false, &[]).unwrap();
    }
    let shown = notices(&mut store, "2026-12-01T10:00:00Z");
    assert_eq!(shown.len(), 1, "{shown:?}");
    assert_eq!(shown[0].summary, "4 freeze exceptions wait for a decision");
    assert_eq!(shown[0].body.lines().count(), 4, "{}", shown[0].body);
    assert!(
        shown[0]
            .body
            .contains("checkout 2.0: ana asks to go ahead during Holiday freeze: year-end fix"),
        "{}",
        shown[0].body
    );
    // Each counts as told.
    assert!(run(&mut store, "2026-12-01T10:01:00Z").is_empty());
}
