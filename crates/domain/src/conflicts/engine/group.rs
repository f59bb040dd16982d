//! Releases grouped and sorted by start, so the releases that can overlap a
//! window are found by binary search.

use super::Slot;
use crate::plan::Release;
use crate::time::Interval;
use chrono::{DateTime, Duration, Utc};

/// Releases of one group (an environment's service, an owner), by start.
#[derive(Debug, Default, Clone)]
pub(super) struct Group {
    pub(super) entries: Vec<(DateTime<Utc>, Slot)>,
    /// An upper bound of the length of any member, so a search knows how far back to look.
    pub(super) max_len: Duration,
}

impl Group {
    pub(super) fn insert(&mut self, r: &Release, slot: Slot) {
        let key = (r.start.utc, slot);
        let at = self.entries.partition_point(|e| *e < key);
        self.entries.insert(at, key);
        self.max_len = self.max_len.max(r.end.utc - r.start.utc);
    }

    pub(super) fn remove(&mut self, r: &Release, slot: Slot) {
        let key = (r.start.utc, slot);
        let at = self.entries.partition_point(|e| *e < key);
        if self.entries.get(at) == Some(&key) {
            self.entries.remove(at);
        }
    }

    /// Slots of the members starting in `[from, to]`.
    pub(super) fn starting_in(
        &self,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> impl Iterator<Item = Slot> + '_ {
        let first = self.entries.partition_point(|(start, _)| *start < from);
        self.entries[first..]
            .iter()
            .take_while(move |(start, _)| *start <= to)
            .map(|&(_, slot)| slot)
    }

    /// Slots whose start could put them in overlap with `window`.
    pub(super) fn candidates(&self, window: Interval) -> impl Iterator<Item = Slot> + '_ {
        let from = window.start - self.max_len;
        let first = self.entries.partition_point(|(start, _)| *start < from);
        self.entries[first..]
            .iter()
            .take_while(move |(start, _)| *start < window.end)
            .map(|&(_, slot)| slot)
    }
}
