//! Sync through a faulty network: the real server on loopback behind a proxy
//! that drops connections, delays answers past the client's timeout, cuts
//! answers short, garbles them, answers 500 and 429, and kills the server in
//! the middle of a batch. Afterwards every database agrees with the server,
//! and every change was applied exactly once. On SQLite and on PostgreSQL.

#![allow(
    clippy::unwrap_used,
    reason = "a test should panic loudly on a broken assumption"
)]

mod common;
use common::{start, token, Backend, Fault, FaultProxy, Server, ServerDb};
use relcal_http::{HttpTransport, RetryPolicy};
use serde_json::Value;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use relcal_testkit::at;

/// Mutations per request here (small, so a few dozen edits make several).
const CHUNK: usize = 25;

/// Quick retries, a short timeout.
fn policy(attempts: u32) -> RetryPolicy {
    RetryPolicy {
        attempts,
        base: Duration::from_millis(20),
        cap: Duration::from_millis(100),
        max_retry_after: Duration::from_secs(5),
        timeout: Duration::from_secs(2),
    }
}

struct World {
    dir: tempfile::TempDir,
    db: ServerDb,
    server: Arc<Mutex<Option<Server>>>,
    proxy: FaultProxy,
    editor: String,
}

impl Drop for World {
    fn drop(&mut self) {
        // The proxy's kill switch holds the server too: stop it here.
        self.server.lock().unwrap().take();
    }
}

impl World {
    fn new(backend: Backend, plan: &str) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let db = ServerDb::new(backend, dir.path());
        db.import(plan);
        let editor = String::from_utf8(token(&db, "li", "editor").stdout)
            .unwrap()
            .trim()
            .to_owned();
        let first = start(&db);
        let upstream = first.base.clone();
        let server = Arc::new(Mutex::new(Some(first)));
        let victim = server.clone();
        let proxy = FaultProxy::start(
            &upstream,
            Arc::new(move || {
                // Dropping the server kills it (SIGKILL: no clean shutdown).
                victim.lock().unwrap().take();
            }),
        );
        Self {
            dir,
            db,
            server,
            proxy,
            editor,
        }
    }

    fn restart(&self) {
        let next = start(&self.db);
        self.proxy.set_upstream(&next.base);
        *self.server.lock().unwrap() = Some(next);
    }

    fn desktop(&self, name: &str) -> relcal_api::Store {
        let mut store =
            relcal_api::open_store(&self.dir.path().join(format!("{name}.db"))).unwrap();
        store.set_actor(name);
        store
    }

    fn sync(
        &self,
        store: &mut relcal_api::Store,
        attempts: u32,
    ) -> (
        Result<relcal_api::SyncReport, relcal_api::ApiError>,
        Vec<Duration>,
    ) {
        let mut http = HttpTransport::with_policy(&self.proxy.base, &self.editor, policy(attempts))
            .unwrap()
            .with_max_batch(CHUNK);
        let r = relcal_api::sync_and_record(
            store,
            &self.proxy.base,
            &mut http,
            at("2026-11-25T00:00:00Z"),
        );
        (r, http.waits().to_vec())
    }

    /// The server's calendar, straight from it (not through the proxy).
    fn server_plan(&self) -> String {
        let base = self.server.lock().unwrap().as_ref().unwrap().base.clone();
        let v: Value = reqwest::blocking::Client::new()
            .get(format!("{base}/v1/plan"))
            .bearer_auth(&self.editor)
            .send()
            .unwrap()
            .json()
            .unwrap();
        serde_json::to_string_pretty(&v).unwrap()
    }

    /// The change log after `since`: (kind, id, version) of each entry.
    fn log_after(&self, since: u64) -> Vec<(String, String, u64)> {
        let base = self.server.lock().unwrap().as_ref().unwrap().base.clone();
        let mut out = Vec::new();
        let mut cursor = since;
        loop {
            let page: Value = reqwest::blocking::Client::new()
                .get(format!("{base}/v1/changes?since={cursor}"))
                .bearer_auth(&self.editor)
                .send()
                .unwrap()
                .json()
                .unwrap();
            for c in page["changes"].as_array().unwrap() {
                out.push((
                    c["kind"].as_str().unwrap().to_owned(),
                    c["id"].as_str().unwrap().to_owned(),
                    c["version"].as_u64().unwrap(),
                ));
            }
            cursor = page["cursor"].as_u64().unwrap();
            if page["more"] != true {
                return out;
            }
        }
    }

    fn cursor(&self) -> u64 {
        self.log_after(0).len() as u64
    }
}

fn plan_of(store: &relcal_api::Store) -> String {
    let v: Value = serde_json::from_str(&relcal_api::export_plan_json(store).unwrap()).unwrap();
    serde_json::to_string_pretty(&v).unwrap()
}

/// Changes the owner of each release in `ids` on this desktop.
fn set_owners(store: &mut relcal_api::Store, ids: &[String], owner: &str) {
    for id in ids {
        let mut input = relcal_api::release_input(store, id).unwrap();
        input.owner = Some(owner.into());
        relcal_api::save_release(store, input, at("2026-11-25T00:00:00Z")).unwrap();
    }
}

/// Each object changed once: one log entry each, at version 2.
fn assert_each_applied_once(log: &[(String, String, u64)], ids: &[String]) {
    for id in ids {
        let entries: Vec<_> = log
            .iter()
            .filter(|(k, i, _)| k == "release" && i == id)
            .collect();
        assert_eq!(entries.len(), 1, "{id}: {entries:?}");
        assert_eq!(entries[0].2, 2, "{id}: {entries:?}");
    }
}

fn every_kind_of_network_fault_is_retried_and_the_desktops_converge_with_nothing_doubled(
    backend: Backend,
) {
    let w = World::new(backend, relcal_api::DEMO_PLAN);
    let mut a = w.desktop("ana");
    let mut b = w.desktop("ben");
    w.sync(&mut a, 1).0.unwrap();
    w.sync(&mut b, 1).0.unwrap();
    let start_cursor = w.cursor();
    let releases: Vec<String> = serde_json::from_str::<Value>(&plan_of(&a)).unwrap()["releases"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["id"].as_str().unwrap().to_owned())
        .collect();
    let (mine, theirs) = releases.split_at(releases.len() / 2);
    set_owners(&mut a, mine, "ana");
    set_owners(&mut b, theirs, "ben");

    // A 500 storm longer than the tries: the sync fails, is recorded as
    // offline, and keeps every change waiting.
    w.proxy.then(vec![Fault::Status(500, None); 4]);
    let (failed, waits) = w.sync(&mut a, 4);
    let err = failed.unwrap_err();
    assert_eq!(err.code, relcal_api::ErrorCode::Unavailable, "{err:?}");
    assert_eq!(waits.len(), 3, "three waits between four tries");
    let status = relcal_api::sync_status(&a).unwrap();
    assert!(status.offline, "{status:?}");
    assert_eq!(status.pending as usize, mine.len(), "{status:?}");
    assert!(status.last_ok_at.is_some());

    // Every other fault once, in a row; each costs one try.
    w.proxy.then([
        Fault::DropBefore,
        Fault::DropAfter,
        Fault::Delay(Duration::from_secs(3)),
        Fault::Truncate,
        Fault::Garbage,
        Fault::Status(503, None),
        Fault::Status(429, Some(1)),
    ]);
    let (report, waits) = w.sync(&mut a, 10);
    let report = report.unwrap();
    assert_eq!(w.proxy.left(), 0);
    assert_eq!(report.pushed as usize, mine.len(), "{report:?}");
    assert_eq!(report.conflicts, 0);
    // The 429's Retry-After was honoured, not shortened by the backoff.
    assert_eq!(waits.len(), 7, "{waits:?}");
    assert_eq!(waits[6], Duration::from_secs(1), "{waits:?}");
    assert!(waits[..6].iter().all(|w| *w <= Duration::from_millis(100)));
    let status = relcal_api::sync_status(&a).unwrap();
    assert!(!status.offline && status.last_error.is_none(), "{status:?}");
    assert_eq!(status.pending, 0);

    // B pushes through a dropped answer and a cut-short answer too.
    w.proxy.then([Fault::DropAfter, Fault::Truncate]);
    let rb = w.sync(&mut b, 5).0.unwrap();
    assert_eq!(rb.pushed as usize, theirs.len());
    w.sync(&mut a, 1).0.unwrap();

    let agreed = w.server_plan();
    assert_eq!(plan_of(&a), agreed);
    assert_eq!(plan_of(&b), agreed);
    assert!(agreed.contains("\"owner\": \"ana\"") && agreed.contains("\"owner\": \"ben\""));
    // Mutations whose answers were lost were sent again and answered, not applied again.
    let log = w.log_after(start_cursor);
    assert_eq!(log.len(), releases.len(), "{log:?}");
    assert_each_applied_once(&log, &releases);
}

fn a_push_cut_short_by_a_killed_server_goes_on_where_it_stopped(backend: Backend) {
    let size = relcal_testkit::Size {
        teams: 8,
        releases: 5 * CHUNK,
        freezes: 3,
        dependencies: 10,
        days: 90,
    };
    let plan = relcal_testkit::plan(size, 11).to_string();
    let w = World::new(backend, &plan);
    let mut a = w.desktop("ana");
    let mut b = w.desktop("ben");
    w.sync(&mut a, 1).0.unwrap();
    w.sync(&mut b, 1).0.unwrap();
    let start_cursor = w.cursor();
    // The planned and draft ones (others need approvals a plain edit would not keep).
    let ids: Vec<String> = serde_json::from_str::<Value>(&plan_of(&a)).unwrap()["releases"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["status"] == "planned" || r["status"] == "draft")
        .map(|r| r["id"].as_str().unwrap().to_owned())
        .collect();
    // Three chunks: the kill during the second leaves the third unsent.
    assert!(ids.len() > 2 * CHUNK, "{}", ids.len());
    set_owners(&mut a, &ids, "ana");

    // The first chunk goes through; the server dies during the second.
    w.proxy.then([Fault::Pass, Fault::KillServerMidway]);
    let (failed, _) = w.sync(&mut a, 1);
    assert_eq!(failed.unwrap_err().code, relcal_api::ErrorCode::Unavailable);
    assert!(w.server.lock().unwrap().is_none(), "the server was killed");
    w.restart();
    let applied_before = w.log_after(start_cursor).len();
    assert!(
        applied_before >= CHUNK && applied_before < ids.len(),
        "the kill cut the push short: {applied_before} of {} applied",
        ids.len()
    );
    eprintln!(
        "killed with {} of the second chunk's {CHUNK} applied",
        applied_before - CHUNK
    );
    // Meanwhile B changed one of those pushed first (ids go out in order),
    // another field: it merges.
    let first = ids.iter().min().unwrap().clone();
    let mut input = relcal_api::release_input(&b, &first).unwrap();
    input.title = "Renamed on B".into();
    relcal_api::save_release(&mut b, input, at("2026-11-25T00:00:00Z")).unwrap();
    w.sync(&mut b, 3).0.unwrap();

    let report = w.sync(&mut a, 3).0.unwrap();
    assert_eq!(report.conflicts, 0, "{report:?}");
    w.sync(&mut b, 3).0.unwrap();
    let agreed = w.server_plan();
    assert_eq!(plan_of(&a), agreed);
    assert_eq!(plan_of(&b), agreed);
    assert!(agreed.contains("Renamed on B"));
    assert_eq!(agreed.matches("\"owner\": \"ana\"").count(), ids.len());
    // Every release once from A (version 2); the first once more from B (version 3).
    let log = w.log_after(start_cursor);
    assert_eq!(log.len(), ids.len() + 1, "nothing doubled");
    let rest: Vec<String> = ids.iter().filter(|i| **i != first).cloned().collect();
    assert_each_applied_once(&log, &rest);
    let versions: Vec<u64> = log
        .iter()
        .filter(|(_, i, _)| *i == first)
        .map(|(_, _, v)| *v)
        .collect();
    assert_eq!(versions, [2, 3]);
}

on_both_backends!(
    every_kind_of_network_fault_is_retried_and_the_desktops_converge_with_nothing_doubled,
    a_push_cut_short_by_a_killed_server_goes_on_where_it_stopped,
);
