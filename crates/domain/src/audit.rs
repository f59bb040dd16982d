//! The audit trail's hash chain.
//!
//! Every entry's hash covers its own fields and the previous entry's hash, so
//! editing, deleting or reordering any entry breaks the chain from that entry
//! on. The newest entry's number and hash are also kept apart (the head), so
//! removing entries from the end is caught too. What the chain cannot catch is
//! someone who rewrites the whole chain and its head: that needs a copy of the
//! head kept elsewhere (a later issue: the sync server).

use sha2::{Digest, Sha256};
use std::fmt;

/// The previous hash of the first entry.
pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// One entry of the audit trail, as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditEntry {
    /// 1, 2, 3, ... with no gaps.
    pub seq: u64,
    /// When, RFC 3339 UTC.
    pub at: String,
    /// Who.
    pub actor: String,
    /// What, e.g. `release.move`.
    pub action: String,
    /// The kind of object changed: `release`, `freeze`, `calendar`, ...
    pub object_kind: String,
    /// Its id.
    pub object_id: String,
    /// The object before, as plan-file JSON text, if it existed.
    pub before: Option<String>,
    /// The object after, if it still exists.
    pub after: Option<String>,
    /// The previous entry's hash ([`GENESIS`] for the first).
    pub prev_hash: String,
    /// This entry's hash: [`entry_hash`] of the fields above.
    pub hash: String,
}

fn field(hasher: &mut Sha256, value: Option<&str>) {
    // Length-prefixed, so no two different entries encode the same bytes;
    // an absent value differs from an empty one.
    match value {
        None => hasher.update(b"-"),
        Some(v) => {
            hasher.update(v.len().to_string().as_bytes());
            hasher.update(b":");
            hasher.update(v.as_bytes());
        }
    }
    hasher.update(b";");
}

/// The hash of an entry with these fields, lowercase hex SHA-256.
#[allow(clippy::too_many_arguments, reason = "one argument per hashed field")]
pub fn entry_hash(
    prev_hash: &str,
    seq: u64,
    at: &str,
    actor: &str,
    action: &str,
    object_kind: &str,
    object_id: &str,
    before: Option<&str>,
    after: Option<&str>,
) -> String {
    let mut hasher = Sha256::new();
    field(&mut hasher, Some("relcal-audit-v1"));
    field(&mut hasher, Some(prev_hash));
    field(&mut hasher, Some(&seq.to_string()));
    field(&mut hasher, Some(at));
    field(&mut hasher, Some(actor));
    field(&mut hasher, Some(action));
    field(&mut hasher, Some(object_kind));
    field(&mut hasher, Some(object_id));
    field(&mut hasher, before);
    field(&mut hasher, after);
    crate::hex::hex(&hasher.finalize())
}

impl AuditEntry {
    /// The hash this entry's fields give.
    pub fn computed_hash(&self) -> String {
        entry_hash(
            &self.prev_hash,
            self.seq,
            &self.at,
            &self.actor,
            &self.action,
            &self.object_kind,
            &self.object_id,
            self.before.as_deref(),
            self.after.as_deref(),
        )
    }
}

/// Where and how the chain is broken.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ChainBreak {
    /// The entry's fields do not give its hash: it was edited.
    Edited {
        /// The entry.
        seq: u64,
    },
    /// The entry does not follow the one before it: entries before it were
    /// deleted or reordered.
    Unlinked {
        /// The first entry that does not link.
        seq: u64,
        /// The number it should have had.
        expected_seq: u64,
    },
    /// The newest entries are gone: the head names an entry the trail no longer has.
    Truncated {
        /// The last entry present (0 when none).
        last_seq: u64,
        /// The newest entry the head names.
        head_seq: u64,
    },
}

impl fmt::Display for ChainBreak {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Edited { seq } => write!(
                f,
                "entry #{seq} was changed after it was written: its contents do not match its hash"
            ),
            Self::Unlinked { seq, expected_seq } => write!(
                f,
                "entry #{seq} does not follow entry #{}: entries were deleted or reordered before it",
                expected_seq.saturating_sub(1)
            ),
            Self::Truncated { last_seq, head_seq } => write!(
                f,
                "the trail ends at entry #{last_seq} but entry #{head_seq} was written: the newest entries were deleted"
            ),
        }
    }
}

/// Checks a whole trail, oldest first, against its head (`(seq, hash)` of the
/// newest entry written, or `None` when nothing was ever written). Returns the
/// number of entries, or the first break.
pub fn verify_chain(entries: &[AuditEntry], head: Option<(u64, &str)>) -> Result<u64, ChainBreak> {
    let mut prev = GENESIS.to_owned();
    let mut expected = 1;
    for e in entries {
        if e.seq != expected || e.prev_hash != prev {
            return Err(ChainBreak::Unlinked {
                seq: e.seq,
                expected_seq: expected,
            });
        }
        if e.computed_hash() != e.hash {
            return Err(ChainBreak::Edited { seq: e.seq });
        }
        prev.clone_from(&e.hash);
        expected += 1;
    }
    let last = expected - 1;
    match head {
        Some((head_seq, head_hash)) if head_seq != last || head_hash != prev => {
            if head_seq > last {
                Err(ChainBreak::Truncated {
                    last_seq: last,
                    head_seq,
                })
            } else {
                Err(ChainBreak::Edited { seq: head_seq })
            }
        }
        None if last > 0 => Err(ChainBreak::Truncated {
            last_seq: last,
            head_seq: 0,
        }),
        _ => Ok(last),
    }
}

/// A change to record. A store numbers and chains it
/// (the SQLite store, or the server's PostgreSQL one).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditRecord {
    /// When, RFC 3339 UTC.
    pub at: String,
    /// Who.
    pub actor: String,
    /// What, e.g. `release.move`.
    pub action: String,
    /// The kind of object: `release`, `freeze`, `team`, `calendar`, ...
    pub object_kind: String,
    /// Its id.
    pub object_id: String,
    /// The object before (plan-file JSON text), if it existed.
    pub before: Option<String>,
    /// The object after, if it still exists.
    pub after: Option<String>,
}

/// One record as the chain holds it: its number and the hashes that link it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Chained<'r> {
    /// Its number in the chain (the first entry is 1).
    pub seq: u64,
    /// The change.
    pub record: &'r AuditRecord,
    /// The previous entry's hash ([`GENESIS`] before the first).
    pub prev_hash: String,
    /// This entry's hash ([`entry_hash`]).
    pub hash: String,
}

/// `records` appended, in order, after the chain's last entry (`head`: its
/// number and hash; `None` for an empty chain). Every store writes these rows.
pub fn chain(head: Option<(u64, String)>, records: &[AuditRecord]) -> Vec<Chained<'_>> {
    let (mut seq, mut prev) = head.unwrap_or_else(|| (0, GENESIS.to_owned()));
    records
        .iter()
        .map(|record| {
            seq += 1;
            let hash = entry_hash(
                &prev,
                seq,
                &record.at,
                &record.actor,
                &record.action,
                &record.object_kind,
                &record.object_id,
                record.before.as_deref(),
                record.after.as_deref(),
            );
            let prev_hash = std::mem::replace(&mut prev, hash.clone());
            Chained {
                seq,
                record,
                prev_hash,
                hash,
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(seq: u64) -> AuditRecord {
        AuditRecord {
            at: format!("2026-11-2{seq}T10:00:00Z"),
            actor: "ana".into(),
            action: "release.move".into(),
            object_kind: "release".into(),
            object_id: format!("r{seq}"),
            before: Some(format!("{{\"n\":{seq}}}")),
            // Every other entry deletes its object.
            after: (seq % 2 == 1).then(|| "{}".into()),
        }
    }

    fn stored(c: &Chained<'_>) -> AuditEntry {
        let r = c.record;
        AuditEntry {
            seq: c.seq,
            at: r.at.clone(),
            actor: r.actor.clone(),
            action: r.action.clone(),
            object_kind: r.object_kind.clone(),
            object_id: r.object_id.clone(),
            before: r.before.clone(),
            after: r.after.clone(),
            prev_hash: c.prev_hash.clone(),
            hash: c.hash.clone(),
        }
    }

    /// A chain of `n` entries as a store writes it (`super::chain`).
    fn chain(n: u64) -> Vec<AuditEntry> {
        let records: Vec<AuditRecord> = (1..=n).map(record).collect();
        super::chain(None, &records).iter().map(stored).collect()
    }

    #[test]
    fn records_appended_after_a_head_continue_the_chain() {
        let first = chain(3);
        let more: Vec<AuditRecord> = (4..=6).map(record).collect();
        let last = first.last().unwrap();
        let appended = super::chain(Some((last.seq, last.hash.clone())), &more);
        assert_eq!(appended.first().unwrap().seq, 4);
        assert_eq!(appended.first().unwrap().prev_hash, last.hash);
        let all: Vec<AuditEntry> = first
            .iter()
            .cloned()
            .chain(appended.iter().map(stored))
            .collect();
        assert!(all.iter().all(|e| e.hash == e.computed_hash()));
        assert_eq!(verify_chain(&all, head(&all)), Ok(6));
        assert!(super::chain(None, &[]).is_empty());
    }

    fn head(c: &[AuditEntry]) -> Option<(u64, &str)> {
        c.last().map(|e| (e.seq, e.hash.as_str()))
    }

    #[test]
    fn an_intact_chain_verifies() {
        let c = chain(5);
        assert_eq!(verify_chain(&c, head(&c)), Ok(5));
        assert_eq!(verify_chain(&[], None), Ok(0));
    }

    #[test]
    fn an_edited_entry_is_named() {
        let mut c = chain(5);
        let h = head(&c).map(|(s, h)| (s, h.to_owned()));
        c[2].actor = "mallory".into();
        let head = h.as_ref().map(|(s, h)| (*s, h.as_str()));
        assert_eq!(verify_chain(&c, head), Err(ChainBreak::Edited { seq: 3 }));
        // None vs empty text are different contents.
        let mut c = chain(5);
        c[1].after = Some(String::new());
        assert_eq!(verify_chain(&c, head), Err(ChainBreak::Edited { seq: 2 }));
    }

    #[test]
    fn an_edit_that_also_rehashes_breaks_the_next_link() {
        let mut c = chain(5);
        let h = head(&c).map(|(s, h)| (s, h.to_owned()));
        c[2].actor = "mallory".into();
        c[2].hash = c[2].computed_hash();
        let head = h.as_ref().map(|(s, h)| (*s, h.as_str()));
        assert_eq!(
            verify_chain(&c, head),
            Err(ChainBreak::Unlinked {
                seq: 4,
                expected_seq: 4
            })
        );
    }

    #[test]
    fn deleted_and_reordered_entries_are_found() {
        let c = chain(5);
        let h = head(&c);
        let mut deleted = c.clone();
        deleted.remove(1);
        assert_eq!(
            verify_chain(&deleted, h),
            Err(ChainBreak::Unlinked {
                seq: 3,
                expected_seq: 2
            })
        );
        let mut swapped = c.clone();
        swapped.swap(1, 2);
        assert_eq!(
            verify_chain(&swapped, h),
            Err(ChainBreak::Unlinked {
                seq: 3,
                expected_seq: 2
            })
        );
        let mut truncated = c.clone();
        truncated.pop();
        assert_eq!(
            verify_chain(&truncated, h),
            Err(ChainBreak::Truncated {
                last_seq: 4,
                head_seq: 5
            })
        );
        assert_eq!(
            verify_chain(&[], h),
            Err(ChainBreak::Truncated {
                last_seq: 0,
                head_seq: 5
            })
        );
    }

    #[test]
    fn messages_name_the_entry() {
        assert_eq!(
            ChainBreak::Edited { seq: 7 }.to_string(),
            "entry #7 was changed after it was written: its contents do not match its hash"
        );
        assert!(ChainBreak::Unlinked {
            seq: 3,
            expected_seq: 2
        }
        .to_string()
        .starts_with("entry #3 does not follow entry #1"));
    }
}
