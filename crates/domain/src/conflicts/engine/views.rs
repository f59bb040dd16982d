//! What a view shows: the conflicts and badges of the releases in a range,
//! one release's conflicts, and moving the readiness rules' clock.

use super::{reach_of, slot_index, Checker, PairKey, Slot};
use crate::conflicts::{sort_conflicts, Conflict, ConflictSeverity};
use crate::ids::ReleaseId;
use crate::time::Interval;
use chrono::{DateTime, Duration, Utc};
// FxHash: the keys are ids from a validated plan, and SipHash was a twentieth of a check.
use rustc_hash::{FxHashMap as HashMap, FxHashSet as HashSet};

impl<'p> Checker<'p> {
    /// What a view of `range` shows, sorted: every conflict that involves a
    /// release whose window overlaps `range`.
    pub fn conflicts_in_view(&self, range: Interval) -> Vec<Conflict> {
        let mut out: Vec<Conflict> = self.in_view(range).into_iter().cloned().collect();
        sort_conflicts(&mut out);
        out
    }

    /// [`Checker::conflicts_in_view`], unsorted and without copying. Reads
    /// only the releases in view and what links to them.
    pub fn in_view(&self, range: Interval) -> Vec<&Conflict> {
        self.involving(&self.shown_in(range))
    }

    /// The slots of the releases whose windows overlap `range`.
    pub(super) fn shown_in(&self, range: Interval) -> HashSet<Slot> {
        self.by_start
            .as_ref()
            .map(|g| {
                g.candidates(range)
                    .filter(|&s| self.at(s).is_some_and(|r| r.interval().overlaps(&range)))
                    .collect()
            })
            .unwrap_or_default()
    }

    /// Per release in view, by id: how many conflicts involve it and the
    /// worst of their severities (its entry's badge), counted from its own
    /// results and links, without collecting the conflicts.
    pub fn badges_in_view(&self, range: Interval) -> Vec<(&ReleaseId, usize, ConflictSeverity)> {
        let shown = self.shown_in(range);
        let mut badges: HashMap<Slot, (usize, ConflictSeverity)> = HashMap::default();
        let mut add = |slot: Slot, severity: ConflictSeverity| {
            let badge = badges.entry(slot).or_insert((0, severity));
            badge.0 += 1;
            badge.1 = badge.1.worst(severity);
        };
        for &slot in &shown {
            let Some(r) = self.at(slot) else { continue };
            for c in self.per_release.get(slot_index(slot)).into_iter().flatten() {
                add(slot, c.severity);
            }
            for key in self.pairs_of.get(&slot).into_iter().flatten() {
                if let Some(c) = self.pairs.get(key) {
                    add(slot, c.severity);
                }
            }
            let mut dependents: Vec<Slot> = self
                .dependents
                .get(r.id.as_str())
                .cloned()
                .unwrap_or_default();
            // A release may list the same dependency twice, or itself (its
            // own results are counted above).
            dependents.sort_unstable();
            dependents.dedup();
            dependents.retain(|&d| d != slot);
            for d in dependents {
                for c in self.per_release.get(slot_index(d)).into_iter().flatten() {
                    if c.releases.len() > 1 && c.releases.contains(&r.id) {
                        add(slot, c.severity);
                    }
                }
            }
        }
        let reach = reach_of(shown.iter().filter_map(|&s| self.at(s)));
        if let Some(reach) = reach {
            for c in self.shared_near(reach) {
                for id in &c.releases {
                    if let Some(&slot) = self.slot_of.get(id.as_str()) {
                        if shown.contains(&slot) {
                            add(slot, c.severity);
                        }
                    }
                }
            }
        }
        let mut out: Vec<(&ReleaseId, usize, ConflictSeverity)> = badges
            .into_iter()
            .filter_map(|(slot, (n, severity))| self.at(slot).map(|r| (&r.id, n, severity)))
            .collect();
        out.sort_unstable_by(|a, b| a.0.cmp(b.0));
        out
    }

    /// The capacity and cycle conflicts whose periods overlap `reach`: a
    /// conflict of either kind overlaps the window of each release it names.
    pub(super) fn shared_near(&self, reach: Interval) -> impl Iterator<Item = &Conflict> {
        self.capacity
            .iter()
            .flatten()
            .chain(self.cycles.iter())
            .filter(move |c| c.period.start < reach.end && reach.start < c.period.end)
    }

    /// Every conflict that involves one of the releases in `shown`,
    /// unsorted: read from those releases' own results and what links to
    /// them, not from the whole calendar.
    pub(super) fn involving(&self, shown: &HashSet<Slot>) -> Vec<&Conflict> {
        let involves_shown = |c: &Conflict| {
            c.releases.iter().any(|id| {
                self.slot_of
                    .get(id.as_str())
                    .is_some_and(|s| shown.contains(s))
            })
        };
        let mut out: Vec<&Conflict> = Vec::new();
        let mut pair_keys: HashSet<PairKey> = HashSet::default();
        let mut others: HashSet<Slot> = HashSet::default();
        for &slot in shown {
            out.extend(self.per_release.get(slot_index(slot)).into_iter().flatten());
            pair_keys.extend(self.pairs_of.get(&slot).into_iter().flatten().copied());
            // The releases that depend on this one hold the conflicts that
            // name both (dependency.order, dependency.cancelled).
            if let Some(r) = self.at(slot) {
                for &d in self.dependents.get(r.id.as_str()).into_iter().flatten() {
                    if !shown.contains(&d) {
                        others.insert(d);
                    }
                }
            }
        }
        for d in others {
            out.extend(
                self.per_release
                    .get(slot_index(d))
                    .into_iter()
                    .flatten()
                    .filter(|c| involves_shown(c)),
            );
        }
        out.extend(pair_keys.iter().filter_map(|k| self.pairs.get(k)));
        if let Some(reach) = reach_of(shown.iter().filter_map(|&s| self.at(s))) {
            out.extend(self.shared_near(reach).filter(|c| involves_shown(c)));
        }
        out
    }

    /// Moves the clock readiness rules read to `now`, re-checking only the
    /// releases whose readiness can differ between the two instants: those
    /// whose start crosses the clock or the day after it (the rules compare a
    /// start with `now` and `now + 24 h` only).
    pub fn set_now(&mut self, now: DateTime<Utc>) {
        if now == self.now {
            return;
        }
        let (from, to) = (self.now.min(now), self.now.max(now));
        self.now = now;
        let day = Duration::hours(24);
        let mut affected: Vec<Slot> = Vec::new();
        // The index is built by `new`, so it is always there by now.
        for (a, b) in [(from, to), (from + day, to + day)] {
            affected.extend(self.by_start.iter().flat_map(|g| g.starting_in(a, b)));
        }
        affected.sort_unstable();
        affected.dedup();
        for slot in affected {
            self.recheck_release(slot);
        }
    }

    /// Conflicts that involve one release, sorted.
    pub fn conflicts_of(&self, id: &ReleaseId) -> Vec<Conflict> {
        let shown: HashSet<Slot> = self.slot_of.get(id.as_str()).copied().into_iter().collect();
        let mut out: Vec<Conflict> = self.involving(&shown).into_iter().cloned().collect();
        sort_conflicts(&mut out);
        out
    }
}
