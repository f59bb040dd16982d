//! What the CLI's tests share: the real `relcal` binary and a demo plan.

#![allow(dead_code, reason = "each test file uses its own part")]
#![allow(
    clippy::unwrap_used,
    reason = "a broken fixture should fail its test loudly"
)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

pub const DEMO: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../assets/demo-plan.json");

pub fn relcal(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_relcal"))
        .args(args)
        .env("HOME", std::env::temp_dir().join("relcal-cli-test-home"))
        .output()
        .expect("run relcal")
}

/// `relcal import PLAN --db DB`: the set-up most tests start from.
pub fn import(plan: &str, db: &str) -> Output {
    relcal(&["import", plan, "--db", db])
}

pub fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

pub fn write(dir: &Path, name: &str, content: &str) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, content).unwrap();
    path
}
