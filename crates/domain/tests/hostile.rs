//! The hostile corpus's RRULE strings and iCalendar files (`tests/hostile/`):
//! each RRULE is accepted or refused with the words its line gives; each
//! .ics file is read or refused as `ics.json` says, never with a panic.

#![allow(
    clippy::unwrap_used,
    reason = "a test should panic loudly on a broken assumption"
)]

use relcal_domain::{freezes_from_ics, RecurrenceRule, Tz};
use std::path::{Path, PathBuf};

fn corpus() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/hostile")
}

#[test]
fn every_rrule_of_the_corpus_gets_its_answer() {
    let text = std::fs::read_to_string(corpus().join("rrules.tsv")).unwrap();
    let start = chrono::NaiveDate::from_ymd_opt(2026, 1, 1)
        .unwrap()
        .and_hms_opt(0, 0, 0)
        .unwrap();
    let zone: Tz = "Europe/Berlin".parse().unwrap();
    let mut failures = Vec::new();
    let mut count = 0;
    for line in text.lines().filter(|l| !l.starts_with('#')) {
        let (rule, expected) = line.split_once('\t').unwrap();
        let rule = rule.replace("\\n", "\n").replace("\\r", "\r");
        count += 1;
        match (RecurrenceRule::parse(&rule, start, zone), expected) {
            (Ok(_), "ok") => {}
            (Err(e), needle) if needle != "ok" && e.contains(needle) => {}
            (got, _) => failures.push(format!("{rule:?}: expected {expected:?}, got {got:?}")),
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    assert!(count >= 40, "{count}");
}

#[test]
fn every_ics_file_of_the_corpus_is_read_or_refused_as_recorded() {
    let dir = corpus().join("ics");
    let expected: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("ics.json")).unwrap()).unwrap();
    let mut seen = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().and_then(|e| e.to_str()) != Some("ics") {
            continue;
        }
        let name = path.file_name().unwrap().to_str().unwrap().to_owned();
        let want = &expected[&name];
        assert!(!want.is_null(), "{name} has no entry in ics.json");
        let text = std::fs::read_to_string(&path).unwrap();
        match freezes_from_ics(&text) {
            Ok((freezes, skipped)) => {
                assert_eq!(
                    want["freezes"].as_u64(),
                    Some(freezes.len() as u64),
                    "{name}: {skipped:?}"
                );
                assert_eq!(
                    want["skipped"].as_u64(),
                    Some(skipped.len() as u64),
                    "{name}: {skipped:?}"
                );
            }
            Err(e) => {
                let needle = want["error"].as_str().unwrap_or("(accepted)");
                assert!(e.contains(needle), "{name}: {e}");
            }
        }
        seen += 1;
    }
    assert!(seen >= 6, "{seen}");
}
