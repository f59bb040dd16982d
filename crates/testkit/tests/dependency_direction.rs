//! The crates' dependencies point one way (ARCHITECTURE.md, "Code map"):
//! this test reads `cargo metadata` and fails when a crate gains a dependency
//! its layer may not have, Relcal's own or an I/O crate (the domain gaining a
//! database, the use cases gaining HTTP). Dev-dependencies are free: tests
//! may use anything.

#![allow(
    clippy::unwrap_used,
    reason = "a broken `cargo metadata` should fail the test loudly"
)]

use serde_json::Value;
use std::collections::BTreeMap;
use std::process::Command;

/// Crates that do I/O: a database, the network, the OS keyring, a window.
const DATABASE: &[&str] = &["rusqlite", "rusqlite_migration", "postgres"];
const NETWORK: &[&str] = &["reqwest", "hyper", "axum", "tower-http", "tokio"];
const DESKTOP: &[&str] = &["tauri", "keyring", "keyring-core", "notify-rust"];
const OS: &[&str] = &["dirs", "whoami", "tempfile", "getrandom"];

/// Per workspace crate: the workspace crates it may depend on, and the
/// outside crates it may not.
fn rules() -> BTreeMap<&'static str, (Vec<&'static str>, Vec<&'static str>)> {
    let all_io: Vec<&str> = [DATABASE, NETWORK, DESKTOP, OS].concat();
    let no = |lists: &[&[&'static str]]| lists.concat();
    BTreeMap::from([
        // Pure: no I/O of any kind.
        ("relcal-domain", (vec![], all_io.clone())),
        ("relcal-testkit", (vec![], all_io.clone())),
        // Wire types and the outside world's traits.
        ("relcal-protocol", (vec!["relcal-domain"], all_io.clone())),
        // The server's rules: randomness for tokens, nothing else.
        (
            "relcal-server-core",
            (
                vec!["relcal-domain", "relcal-protocol"],
                no(&[DATABASE, NETWORK, DESKTOP, &["dirs", "whoami", "tempfile"]]),
            ),
        ),
        // Storage: SQL, never the network or the desktop.
        (
            "relcal-store",
            (
                vec!["relcal-domain", "relcal-protocol", "relcal-server-core"],
                no(&[NETWORK, DESKTOP, &["postgres"]]),
            ),
        ),
        (
            "relcal-store-pg",
            (
                vec!["relcal-domain", "relcal-protocol", "relcal-server-core"],
                no(&[NETWORK, DESKTOP, &["rusqlite", "rusqlite_migration"]]),
            ),
        ),
        // The desktop's and the CLI's use cases: the store, never HTTP,
        // the keyring or the window (those come in through traits).
        (
            "relcal-api",
            (
                vec!["relcal-domain", "relcal-protocol", "relcal-store"],
                no(&[NETWORK, DESKTOP, &["postgres"]]),
            ),
        ),
        // HTTP and the keyring, speaking only the protocol.
        (
            "relcal-http",
            (
                vec!["relcal-protocol"],
                no(&[DATABASE, &["tauri", "axum", "notify-rust"]]),
            ),
        ),
        // The front doors: thin, over the layers below.
        (
            "relcal-cli",
            (
                vec![
                    "relcal-api",
                    "relcal-http",
                    "relcal-domain",
                    "relcal-protocol",
                ],
                no(&[&["axum", "tauri", "postgres"]]),
            ),
        ),
        (
            "relcal-server",
            (
                vec![
                    "relcal-api",
                    "relcal-protocol",
                    "relcal-server-core",
                    "relcal-store",
                    "relcal-store-pg",
                    "relcal-domain",
                ],
                no(&[DESKTOP]),
            ),
        ),
        (
            "relcal-app",
            (
                vec![
                    "relcal-api",
                    "relcal-http",
                    "relcal-domain",
                    "relcal-protocol",
                ],
                no(&[&["axum", "postgres"]]),
            ),
        ),
    ])
}

/// Every workspace crate with its normal and build dependencies.
fn workspace() -> BTreeMap<String, Vec<String>> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let out = Command::new(cargo)
        .args([
            "metadata",
            "--format-version",
            "1",
            "--no-deps",
            "--offline",
        ])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "cargo metadata: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let meta: Value = serde_json::from_slice(&out.stdout).unwrap();
    meta["packages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            let deps = p["dependencies"]
                .as_array()
                .unwrap()
                .iter()
                .filter(|d| d["kind"].as_str() != Some("dev"))
                .map(|d| d["name"].as_str().unwrap().to_owned())
                .collect();
            (p["name"].as_str().unwrap().to_owned(), deps)
        })
        .collect()
}

#[test]
fn dependencies_point_one_way() {
    let rules = rules();
    let mut wrong = Vec::new();
    for (krate, deps) in workspace() {
        let Some((allowed, forbidden)) = rules.get(krate.as_str()) else {
            wrong.push(format!(
                "{krate}: not in this test's table; give its layer in rules()"
            ));
            continue;
        };
        for dep in &deps {
            if dep.starts_with("relcal-") && !allowed.contains(&dep.as_str()) {
                wrong.push(format!("{krate} depends on {dep}, which its layer may not"));
            }
            let base = dep.split('-').next().unwrap_or(dep);
            if forbidden.contains(&dep.as_str())
                || (base == "tauri" && forbidden.contains(&"tauri"))
            {
                wrong.push(format!(
                    "{krate} depends on {dep}: I/O its layer may not do"
                ));
            }
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

#[test]
fn the_table_names_only_crates_that_exist() {
    let members = workspace();
    for krate in rules().keys() {
        assert!(
            members.contains_key(*krate),
            "rules() names {krate}, which is not in the workspace"
        );
    }
}

#[test]
fn the_test_catches_a_wrong_dependency() {
    // The rules refuse what they are for: the domain gaining a database,
    // the use cases gaining HTTP, the server core gaining the store.
    let rules = rules();
    assert!(rules["relcal-domain"].1.contains(&"rusqlite"));
    assert!(rules["relcal-api"].1.contains(&"reqwest"));
    assert!(!rules["relcal-server-core"].0.contains(&"relcal-store"));
    assert!(!rules["relcal-api"].0.contains(&"relcal-http"));
}
