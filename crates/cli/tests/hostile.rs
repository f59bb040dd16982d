//! The hostile corpus (`tests/hostile/`): plans, RRULEs and command lines
//! that once crashed, hung or were wrongly accepted. Each case in
//! `cases.json` runs the real `relcal` binary and must end within a guard
//! time with its exit code (0 yes, 1 no, 2 invalid input, 3 could not work),
//! stderr naming the object and field, and never a panic (exit 101).

#![allow(
    clippy::unwrap_used,
    reason = "a test should panic loudly on a broken assumption"
)]

use serde_json::Value;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// Not a speed limit: a case still running after this is a hang.
const HANG_GUARD: Duration = Duration::from_secs(60);

fn corpus() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/hostile")
}

/// Runs `relcal` with `args`, killing it after the hang guard.
fn run(args: &[String]) -> (i32, String, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_relcal"))
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let (mut out, mut err) = (child.stdout.take().unwrap(), child.stderr.take().unwrap());
    let reader = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = out.read_to_string(&mut s);
        s
    });
    let err_reader = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = err.read_to_string(&mut s);
        s
    });
    let started = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if started.elapsed() > HANG_GUARD {
            let _ = child.kill();
            panic!("relcal {args:?} hung: still running after {HANG_GUARD:?}");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    (
        status.code().unwrap_or(-1),
        reader.join().unwrap(),
        err_reader.join().unwrap(),
    )
}

#[test]
fn every_hostile_case_ends_with_its_exit_code_and_names_the_field() {
    let dir = corpus();
    let cases: Vec<Value> =
        serde_json::from_str(&std::fs::read_to_string(dir.join("cases.json")).unwrap()).unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let mut failures = Vec::new();
    for case in &cases {
        let plan = dir.join(format!("plans/{}.json", case["plan"].as_str().unwrap()));
        assert!(plan.exists(), "{} is missing", plan.display());
        let args: Vec<String> = case["args"]
            .as_array()
            .unwrap()
            .iter()
            .map(|a| match a.as_str().unwrap() {
                "PLAN" => plan.display().to_string(),
                "DB" => tmp.path().join("absent.db").display().to_string(),
                other => other.to_owned(),
            })
            .collect();
        let (code, stdout, stderr) = run(&args);
        let want = case["exit"].as_i64().unwrap() as i32;
        let mut problems = Vec::new();
        if code != want {
            problems.push(format!("exit {code}, expected {want}"));
        }
        if stderr.contains("panicked") || code == 101 {
            problems.push("panicked".into());
        }
        let list = |key: &str| -> Vec<String> {
            case[key]
                .as_array()
                .map(|a| a.iter().map(|v| v.as_str().unwrap().to_owned()).collect())
                .unwrap_or_default()
        };
        let compact: String = stdout.split_whitespace().collect::<Vec<_>>().join(" ");
        let squeezed: String = stdout.chars().filter(|c| !c.is_whitespace()).collect();
        for needle in list("stderr") {
            if !stderr.contains(&needle) {
                problems.push(format!("stderr lacks {needle:?}"));
            }
        }
        for needle in list("stdout") {
            let bare: String = needle.chars().filter(|c| !c.is_whitespace()).collect();
            if !compact.contains(&needle) && !squeezed.contains(&bare) {
                problems.push(format!("stdout lacks {needle:?}"));
            }
        }
        for needle in list("stdout_not") {
            if stdout.contains(&needle) {
                problems.push(format!("stdout has {needle:?}"));
            }
        }
        if !problems.is_empty() {
            failures.push(format!(
                "{} {:?}: {}\n  stdout: {:.300}\n  stderr: {:.300}",
                case["plan"],
                &case["args"],
                problems.join("; "),
                stdout,
                stderr
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    eprintln!("{} hostile cases", cases.len());
}

/// `relcal check | head -c 100`: the reader goes away, relcal ends quietly
/// with its answer as exit code (1: there are errors), not a panic.
#[test]
fn a_closed_stdout_ends_relcal_quietly() {
    let tmp = tempfile::tempdir().unwrap();
    let plan = relcal_testkit::plan(relcal_testkit::Size::ENTERPRISE, 3);
    let path = tmp.path().join("big.json");
    std::fs::write(&path, plan.to_string()).unwrap();
    for format in ["text", "json"] {
        let mut child = Command::new(env!("CARGO_BIN_EXE_relcal"))
            .args([
                "check",
                path.to_str().unwrap(),
                "--now",
                "2027-06-01T00:00:00Z",
            ])
            .args(["--format", format])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let mut head = [0u8; 100];
        child.stdout.take().unwrap().read_exact(&mut head).unwrap();
        // The pipe's read end is closed here.
        let out = child.wait_with_output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{format}: {stderr}");
        assert!(stderr.is_empty(), "{format}: {stderr}");
    }
}
