//! Rules between releases: service overlaps and double-booked owners
//! (pairs), environment capacity, and dependency cycles.

use super::{owner_of, slot_index, sorted, Checker, PairKey, Slot};
use crate::conflicts::{Conflict, ConflictSeverity};
use crate::plan::{Environment, Release};
use crate::time::Interval;
use chrono::{DateTime, Utc};
// FxHash: the keys are ids from a validated plan, and SipHash was a twentieth of a check.
use std::collections::BTreeSet;

impl<'p> Checker<'p> {
    /// Service overlaps and double-booked owners between `slot` and the rest.
    pub(super) fn recheck_pairs(&mut self, slot: Slot) {
        let found = self.pair_conflicts(slot, false);
        self.insert_pairs(found);
    }

    /// The pair conflicts of `slot` (read-only, so a full check runs them in
    /// parallel). With `later_only`, only pairs with a higher slot: a full
    /// check visits every slot, so each pair is found (and worded) once.
    pub(super) fn pair_conflicts(&self, slot: Slot, later_only: bool) -> Vec<(PairKey, Conflict)> {
        let mut found: Vec<(PairKey, Conflict)> = Vec::new();
        let Some(r) = self.at(slot).filter(|r| r.status.is_active()) else {
            return found;
        };
        let Some(&env) = self.env_slot.get(&r.environment) else {
            return found;
        };
        let skip = |other: Slot| other == slot || (later_only && other < slot);
        let window = r.interval();
        let mut seen: Vec<Slot> = Vec::new();
        for s in r.services.iter().collect::<BTreeSet<_>>() {
            let Some(group) = self.services[env].get(s.as_str()) else {
                continue;
            };
            for other in group.candidates(window) {
                if skip(other) || seen.contains(&other) {
                    continue;
                }
                seen.push(other);
                let Some(o) = self.at(other).filter(|o| o.interval().overlaps(&window)) else {
                    continue;
                };
                found.push(pair_conflict(
                    "service.overlap",
                    ConflictSeverity::Error,
                    (slot, r),
                    (other, o),
                    |a, b, period| {
                        let shared = a
                            .services
                            .iter()
                            .filter(|s| b.services.contains(s))
                            .min()
                            .map_or("", |s| s.as_str());
                        message!(
                            "{} and {} both change {} in {} between {} and {}",
                            a.title,
                            b.title,
                            shared,
                            self.env_name(&a.environment),
                            self.when(period.start),
                            self.when(period.end)
                        )
                    },
                ));
            }
        }
        if let Some(owner) = owner_of(r) {
            if let Some(group) = self.owners.get(owner) {
                for other in group.candidates(window) {
                    if skip(other) {
                        continue;
                    }
                    let Some(o) = self.at(other).filter(|o| o.interval().overlaps(&window)) else {
                        continue;
                    };
                    found.push(pair_conflict(
                        "owner.double_booked",
                        ConflictSeverity::Warning,
                        (slot, r),
                        (other, o),
                        |a, b, period| {
                            message!(
                                "{owner} runs both {} and {} between {} and {}",
                                a.title,
                                b.title,
                                self.when(period.start),
                                self.when(period.end)
                            )
                        },
                    ));
                }
            }
        }
        found
    }

    pub(super) fn insert_pairs(&mut self, found: Vec<(PairKey, Conflict)>) {
        for (key, conflict) in found {
            if self.pairs.insert(key, conflict).is_none() {
                self.pairs_of.entry(key.1).or_default().push(key);
                self.pairs_of.entry(key.2).or_default().push(key);
            }
        }
    }

    /// The environment at `env` and its limit, if it has one.
    pub(super) fn capacity_limit(&self, env: usize) -> Option<(u32, &'p Environment)> {
        self.env_ids
            .get(env)
            .and_then(|id| self.environments.get(*id))
            .and_then(|e| e.max_concurrent.map(|m| (m, *e)))
    }

    /// Maximal periods in which more active releases run in an environment than it allows.
    pub(super) fn recheck_capacity(&mut self, env: usize) {
        let found = match self.capacity_limit(env) {
            Some((limit, environment)) => {
                let members: Vec<&Release> = self.env_members[env]
                    .iter()
                    .filter_map(|&s| self.at(s))
                    .collect();
                let all = Interval {
                    start: DateTime::<Utc>::MIN_UTC,
                    end: DateTime::<Utc>::MAX_UTC,
                };
                self.capacity_conflicts(environment, limit, &members, all)
            }
            None => Vec::new(),
        };
        if let Some(entry) = self.capacity.get_mut(env) {
            *entry = found;
        }
    }

    /// [`Checker::recheck_capacity`] where counts changed: only around
    /// `windows`, each grown over the conflicts it touches (a period there
    /// may now end, split or join its neighbours), the rest kept as it is.
    pub(super) fn recheck_capacity_near(&mut self, env: usize, windows: &[Interval]) {
        let (Some(by_start), Some((limit, environment))) =
            (self.by_start.as_ref(), self.capacity_limit(env))
        else {
            return self.recheck_capacity(env);
        };
        let existing = self
            .capacity
            .get_mut(env)
            .map(std::mem::take)
            .unwrap_or_default();
        let touches = |a: &Interval, b: &Interval| a.start <= b.end && b.start <= a.end;
        let mut spans: Vec<Interval> = windows.to_vec();
        loop {
            let mut grown: Vec<Interval> = Vec::new();
            for mut span in spans.iter().copied() {
                for c in &existing {
                    if touches(&span, &c.period) {
                        span.start = span.start.min(c.period.start);
                        span.end = span.end.max(c.period.end);
                    }
                }
                match grown.iter_mut().find(|g| touches(g, &span)) {
                    Some(g) => {
                        g.start = g.start.min(span.start);
                        g.end = g.end.max(span.end);
                    }
                    None => grown.push(span),
                }
            }
            if grown == spans {
                break;
            }
            spans = grown;
        }
        let env_id = self.env_ids.get(env).copied();
        let mut found: Vec<Conflict> = existing
            .into_iter()
            .filter(|c| !spans.iter().any(|s| touches(s, &c.period)))
            .collect();
        for span in &spans {
            let members: Vec<&Release> = by_start
                .candidates(*span)
                .filter_map(|s| self.at(s))
                .filter(|r| {
                    r.status.is_active()
                        && Some(&r.environment) == env_id
                        && r.interval().overlaps(span)
                })
                .collect();
            found.extend(self.capacity_conflicts(environment, limit, &members, *span));
        }
        if let Some(entry) = self.capacity.get_mut(env) {
            *entry = found;
        }
    }

    /// The capacity conflicts of `members` within `clip` (counts outside it
    /// are not looked at, so periods end at its edges).
    pub(super) fn capacity_conflicts(
        &self,
        environment: &Environment,
        limit: u32,
        members: &[&Release],
        clip: Interval,
    ) -> Vec<Conflict> {
        let mut found = Vec::new();
        // Ends sort before starts at one instant: intervals are half-open.
        let mut events: Vec<(DateTime<Utc>, i8)> = members
            .iter()
            .flat_map(|r| {
                [
                    (r.start.utc.max(clip.start), 1),
                    (r.end.utc.min(clip.end), -1),
                ]
            })
            .collect();
        events.sort_unstable();
        let (mut count, mut peak, mut since) = (0i64, 0i64, None);
        for (i, &(t, delta)) in events.iter().enumerate() {
            count += i64::from(delta);
            // Apply every change at one instant before judging the count.
            if events.get(i + 1).is_some_and(|&(next, _)| next == t) {
                continue;
            }
            if count > i64::from(limit) {
                since.get_or_insert(t);
                peak = peak.max(count);
            } else if let Some(start) = since.take() {
                let period = Interval { start, end: t };
                found.push(Conflict {
                    code: "environment.capacity",
                    severity: ConflictSeverity::Error,
                    releases: sorted(
                        members
                            .iter()
                            .filter(|r| r.interval().overlaps(&period))
                            .map(|r| r.id.clone())
                            .collect(),
                    ),
                    freeze: None,
                    period,
                    message: message!(
                        "{peak} releases run at once in {} (limit {limit}) between {} and {}",
                        environment.name,
                        self.when(start),
                        self.when(t)
                    ),
                });
                peak = 0;
            }
        }
        found
    }

    /// Tarjan's strongly connected components over `depends_on`, iteratively.
    /// A cycle none of whose releases is active is not reported
    /// (conflict-rules.md): done, cancelled and rolled-back releases are history.
    pub(super) fn recheck_cycles(&mut self) {
        let n = self.releases.len();
        let edges: Vec<Vec<usize>> = (0..n)
            .map(|i| match self.at(i as Slot) {
                Some(r) => r
                    .depends_on
                    .iter()
                    .filter_map(|d| self.slot_of.get(d.as_str()).map(|&s| slot_index(s)))
                    .filter(|&s| self.at(s as Slot).is_some())
                    .collect(),
                None => Vec::new(),
            })
            .collect();
        let (mut index, mut low, mut on_stack) = (vec![usize::MAX; n], vec![0; n], vec![false; n]);
        let (mut stack, mut next) = (Vec::new(), 0);
        let mut found = Vec::new();
        for root in 0..n {
            if index[root] != usize::MAX || edges[root].is_empty() {
                continue;
            }
            let mut work = vec![(root, 0usize)];
            while let Some(&mut (v, ref mut edge)) = work.last_mut() {
                if *edge == 0 && index[v] == usize::MAX {
                    index[v] = next;
                    low[v] = next;
                    next += 1;
                    stack.push(v);
                    on_stack[v] = true;
                }
                if let Some(&w) = edges[v].get(*edge) {
                    *edge += 1;
                    if index[w] == usize::MAX {
                        work.push((w, 0));
                    } else if on_stack[w] {
                        low[v] = low[v].min(index[w]);
                    }
                    continue;
                }
                work.pop();
                if let Some(&(parent, _)) = work.last() {
                    low[parent] = low[parent].min(low[v]);
                }
                if low[v] != index[v] {
                    continue;
                }
                let mut component = Vec::new();
                while let Some(w) = stack.pop() {
                    on_stack[w] = false;
                    component.push(w);
                    if w == v {
                        break;
                    }
                }
                if component.len() > 1 || edges[v].contains(&v) {
                    let members: Vec<&Release> = component
                        .iter()
                        .filter_map(|&i| self.at(i as Slot))
                        .collect();
                    if !members.iter().any(|r| r.status.is_active()) {
                        continue;
                    }
                    let period = Interval {
                        start: members
                            .iter()
                            .map(|r| r.start.utc)
                            .min()
                            .unwrap_or_default(),
                        end: members.iter().map(|r| r.end.utc).max().unwrap_or_default(),
                    };
                    let mut titles: Vec<&str> = members.iter().map(|r| r.title.as_str()).collect();
                    titles.sort_unstable();
                    found.push(Conflict {
                        code: "dependency.cycle",
                        severity: ConflictSeverity::Error,
                        releases: sorted(members.iter().map(|r| r.id.clone()).collect()),
                        freeze: None,
                        period,
                        message: if members.len() == 1 {
                            message!("{} depends on itself", titles.join(""))
                        } else {
                            message!("{} depend on each other in a cycle", titles.join(", "))
                        },
                    });
                }
            }
        }
        self.cycles = found;
    }
}

/// The pair in a stable order: earlier start first, then by id.
pub(super) fn ordered<'a>(x: &'a Release, y: &'a Release) -> (&'a Release, &'a Release) {
    if (x.start.utc, &x.id) <= (y.start.utc, &y.id) {
        (x, y)
    } else {
        (y, x)
    }
}

/// A conflict between two overlapping releases, keyed by its code and slots.
/// `message` gets the pair in stable order and the period they share.
pub(super) fn pair_conflict(
    code: &'static str,
    severity: ConflictSeverity,
    (x_slot, x): (Slot, &Release),
    (y_slot, y): (Slot, &Release),
    message: impl FnOnce(&Release, &Release, Interval) -> String,
) -> (PairKey, Conflict) {
    let (a, b) = ordered(x, y);
    let period = intersection(a, b);
    (
        (code, x_slot.min(y_slot), x_slot.max(y_slot)),
        Conflict {
            code,
            severity,
            releases: sorted(vec![a.id.clone(), b.id.clone()]),
            freeze: None,
            period,
            message: message(a, b, period),
        },
    )
}

pub(super) fn intersection(a: &Release, b: &Release) -> Interval {
    Interval {
        start: a.start.utc.max(b.start.utc),
        end: a.end.utc.min(b.end.utc),
    }
}
