//! Load on the release API server, on loopback: 20 clients push 500
//! mutations each (batches of 10, each on the version the previous answer
//! gave), against SQLite and against PostgreSQL (a private cluster, as in the
//! tests; `RELCAL_TEST_PG_DURABLE=1` turns its fsync on), while 4
//! pipelines ask `/v1/gate` 50 times a second each. Prints the
//! writers' throughput and request latency percentiles, and the gate's.
//!
//! `cargo bench -p relcal-server --bench sync_load` (BENCHMARKS.md has figures).

#![allow(
    clippy::unwrap_used,
    clippy::print_stdout,
    reason = "a benchmark script: panics and prints are its interface"
)]

#[path = "../tests/common/mod.rs"]
mod common;

use common::{start, token, Backend, ServerDb};
use serde_json::{json, Value};
use std::time::{Duration, Instant};

const CLIENTS: usize = 20;
const PER_CLIENT: usize = 500;
const BATCH: usize = 10;
/// Pipelines asking the gate while the writers push, each every `GATE_EVERY`
/// (200 requests a second in all: far more than a team's pipelines ask).
const GATES: usize = 4;
const GATE_EVERY: Duration = Duration::from_millis(20);

fn percentiles(mut latencies: Vec<Duration>) -> (f64, f64, f64) {
    latencies.sort_unstable();
    let pct = |p: f64| {
        latencies[((latencies.len() as f64 * p).ceil() as usize).saturating_sub(1)].as_secs_f64()
            * 1000.0
    };
    (pct(0.50), pct(0.99), pct(1.0))
}

fn run(backend: Backend) {
    let dir = tempfile::tempdir().unwrap();
    let db = ServerDb::new(backend, dir.path());
    // Each client owns BATCH releases and changes each once per round.
    let size = relcal_testkit::Size {
        teams: 20,
        releases: CLIENTS * BATCH,
        freezes: 5,
        dependencies: 20,
        days: 60,
    };
    db.import(&relcal_testkit::plan(size, 3).to_string());
    let tokens: Vec<String> = (0..CLIENTS)
        .map(|i| {
            String::from_utf8(token(&db, &format!("client-{i}"), "editor").stdout)
                .unwrap()
                .trim()
                .to_owned()
        })
        .collect();
    let server = start(&db);
    let http = reqwest::blocking::Client::new();
    let all: Value = http
        .get(format!("{}/v1/changes?since=0", server.base))
        .bearer_auth(&tokens[0])
        .send()
        .unwrap()
        .json()
        .unwrap();
    let releases: Vec<String> = all["changes"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["kind"] == "release")
        .map(|c| c["id"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(releases.len(), CLIENTS * BATCH);

    let viewer = String::from_utf8(token(&db, "pipeline", "viewer").stdout)
        .unwrap()
        .trim()
        .to_owned();
    let plan: Value = http
        .get(format!("{}/v1/plan", server.base))
        .bearer_auth(&viewer)
        .send()
        .unwrap()
        .json()
        .unwrap();
    let gate_url = format!(
        "{}/v1/gate?env={}&service={}&at=2027-01-12T10:00:00Z",
        server.base,
        plan["environments"][0]["id"].as_str().unwrap(),
        plan["services"][0]["id"].as_str().unwrap()
    );
    // The load generator is set up before anything is measured: each
    // reqwest client builds its TLS roots, which on 2 cores held up the
    // server for tens of ms when 20 of them were made as the writers
    // started (BENCHMARKS.md).
    let writers: Vec<reqwest::blocking::Client> = (0..CLIENTS)
        .map(|_| reqwest::blocking::Client::new())
        .collect();
    // Everyone starts together once the pipelines are warm: the gate is
    // timed only from the writers' start (to the last one's end).
    let go = std::sync::Arc::new(std::sync::Barrier::new(CLIENTS + GATES + 1));
    let (warm, warmed) = std::sync::mpsc::channel();
    let done = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let gates: Vec<_> = (0..GATES)
        .map(|_| {
            let (url, viewer, go, warm, done) = (
                gate_url.clone(),
                viewer.clone(),
                go.clone(),
                warm.clone(),
                done.clone(),
            );
            std::thread::spawn(move || {
                let http = reqwest::blocking::Client::new();
                let ask = || {
                    let r = http.get(&url).bearer_auth(&viewer).send().unwrap();
                    assert_eq!(r.status(), 200);
                    let _ = r.bytes().unwrap();
                };
                // Connected, and the server's calendar warm, before the writers start.
                ask();
                warm.send(()).unwrap();
                go.wait();
                let mut latencies = Vec::new();
                while !done.load(std::sync::atomic::Ordering::Relaxed) {
                    let t0 = Instant::now();
                    ask();
                    let took = t0.elapsed();
                    latencies.push(took);
                    std::thread::sleep(GATE_EVERY.saturating_sub(took));
                }
                latencies
            })
        })
        .collect();
    // A pipeline that failed its first gate ends the bench, not hangs it.
    for _ in 0..GATES {
        warmed
            .recv_timeout(Duration::from_secs(60))
            .expect("a pipeline's first gate request failed");
    }

    let handles: Vec<_> = writers
        .into_iter()
        .enumerate()
        .map(|(c, http)| {
            let base = server.base.clone();
            let token = tokens[c].clone();
            let go = go.clone();
            let mine: Vec<String> = releases[c * BATCH..(c + 1) * BATCH].to_vec();
            std::thread::spawn(move || {
                let mut versions = vec![1u64; BATCH];
                let mut latencies = Vec::new();
                let (mut applied, mut other) = (0usize, Vec::new());
                go.wait();
                for round in 0..PER_CLIENT / BATCH {
                    let batch: Vec<Value> = mine
                        .iter()
                        .zip(&versions)
                        .map(|(id, v)| {
                            json!({ "mutation_id": format!("c{c}:{id}:{round}"), "kind": "release",
                            "id": id, "base_version": v, "fields": { "owner": format!("load-{c}-{round}") } })
                        })
                        .collect();
                    let t0 = Instant::now();
                    let r: Value = http
                        .post(format!("{base}/v1/mutations"))
                        .bearer_auth(&token)
                        .header("Idempotency-Key", format!("c{c}-r{round}"))
                        .json(&json!({ "mutations": batch }))
                        .send()
                        .unwrap()
                        .json()
                        .unwrap();
                    latencies.push(t0.elapsed());
                    for (i, res) in r["results"].as_array().unwrap().iter().enumerate() {
                        if res["outcome"] == "applied" {
                            applied += 1;
                            versions[i] = res["version"].as_u64().unwrap();
                        } else {
                            other.push(res.clone());
                        }
                    }
                }
                (latencies, applied, other)
            })
        })
        .collect();
    go.wait();
    let started = Instant::now();
    let mut latencies: Vec<Duration> = Vec::new();
    let (mut applied, mut other) = (0, Vec::new());
    for h in handles {
        let (l, a, o) = h.join().unwrap();
        latencies.extend(l);
        applied += a;
        other.extend(o);
    }
    let wall = started.elapsed();
    done.store(true, std::sync::atomic::Ordering::Relaxed);
    let gate_latencies: Vec<Duration> = gates.into_iter().flat_map(|g| g.join().unwrap()).collect();
    let asked = gate_latencies.len();
    let (p50, p99, max) = percentiles(latencies);
    let (g50, g99, gmax) = percentiles(gate_latencies);
    println!(
        "{backend:?}: {applied} of {} mutations applied by {CLIENTS} clients in {:.1} s: \
         {:.0} mutations/s; a request of {BATCH}: p50 {p50:.1} ms, p99 {p99:.1} ms, max {max:.1} ms; \
         meanwhile {asked} gate requests from {GATES} pipelines: p50 {g50:.1} ms, p99 {g99:.1} ms, max {gmax:.1} ms",
        CLIENTS * PER_CLIENT,
        wall.as_secs_f64(),
        applied as f64 / wall.as_secs_f64(),
    );
    assert!(
        other.is_empty(),
        "not applied: {:?}",
        &other[..other.len().min(3)]
    );
}

fn main() {
    let which = std::env::args()
        .skip(1)
        .find(|a| a == "sqlite" || a == "postgres");
    if which.as_deref() != Some("postgres") {
        run(Backend::Sqlite);
    }
    if which.as_deref() != Some("sqlite") {
        run(Backend::Postgres);
    }
}
