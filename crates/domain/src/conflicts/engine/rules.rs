//! Each release's own rules: freezes, dependencies, deploy windows and
//! readiness (conflict-rules.md), read-only so a full check runs them on all
//! cores.

use super::{scope_words, sorted, Checker, PairKey, Slot};
use crate::conflicts::{Conflict, ConflictSeverity, HumanTime};
use crate::plan::{FreezeSeverity, Release, ReleaseStatus};
use crate::time::Interval;
use chrono::Duration;
use std::fmt::Write as _;
// FxHash: the keys are ids from a validated plan, and SipHash was a twentieth of a check.
use std::collections::BTreeSet;

impl<'p> Checker<'p> {
    /// The conflicts of one release on its own (freezes, dependencies,
    /// windows, readiness): read-only, so a full check runs them in parallel.
    pub(super) fn release_conflicts(&self, slot: Slot) -> Vec<Conflict> {
        match self.at(slot) {
            Some(r) if r.status.is_active() => {
                let mut out = Vec::new();
                self.freeze_rules(r, &mut out);
                self.dependency_rules(r, &mut out);
                self.window_rule(r, &mut out);
                self.readiness_rules(r, &mut out);
                out
            }
            _ => Vec::new(),
        }
    }

    /// Every release's own conflicts and every pair conflict, on all cores
    /// for a large calendar (both only read the indexes).
    pub(super) fn recheck_all_releases_and_pairs(&mut self) {
        const PER_THREAD: usize = 2048;
        type Part = (Vec<Vec<Conflict>>, Vec<(PairKey, Conflict)>);
        let n = self.releases.len();
        let threads = std::thread::available_parallelism()
            .map_or(1, std::num::NonZeroUsize::get)
            .min(n / PER_THREAD)
            .clamp(1, 8);
        let chunk = n.div_ceil(threads).max(1);
        let this = &*self;
        let part = move |t: usize| -> Part {
            let slots = (t * chunk..((t + 1) * chunk).min(n)).map(|s| s as Slot);
            let own = slots.clone().map(|s| this.release_conflicts(s)).collect();
            let pairs = slots.flat_map(|s| this.pair_conflicts(s, true)).collect();
            (own, pairs)
        };
        let parts: Vec<Part> = if threads == 1 {
            vec![part(0)]
        } else {
            // The first part on this thread: its allocator's pages are warm.
            std::thread::scope(|scope| {
                let handles: Vec<_> = (1..threads).map(|t| scope.spawn(move || part(t))).collect();
                let first = part(0);
                std::iter::once(first)
                    .chain(
                        handles
                            .into_iter()
                            .map(|h| h.join().unwrap_or_else(|e| std::panic::resume_unwind(e))),
                    )
                    .collect()
            })
        };
        let mut slot = 0;
        for (own, pairs) in parts {
            for conflicts in own {
                self.set_own(slot as Slot, conflicts);
                slot += 1;
            }
            self.insert_pairs(pairs);
        }
    }

    pub(super) fn freeze_rules(&self, r: &Release, out: &mut Vec<Conflict>) {
        let candidates = self
            .env_slot
            .get(&r.environment)
            .map_or(&[][..], |&e| &self.freezes_by_env[e][..]);
        if candidates.is_empty() {
            return;
        }
        let team = self.team_no.get(r.team.as_str()).copied();
        let services: Vec<usize> = r
            .services
            .iter()
            .filter_map(|s| self.service_no.get(s.as_str()).copied())
            .collect();
        for &i in candidates {
            let (f, timeline) = &self.freezes[i];
            if !self.scopes[i].matches(team, &services) {
                continue;
            }
            let Some(period) = timeline.first_overlapping(r.interval()) else {
                continue;
            };
            let zone = f.zone(self.plan_zone);
            let exception = r.overrides.iter().find(|o| o.freeze == f.id);
            // An exception with `expires` covers the freeze only before then:
            // an occurrence the release meets at or after it is a conflict
            // again, reported with the first such occurrence.
            let mut period = period;
            let mut expired = None;
            if let Some(at) = exception.and_then(|o| o.expires.as_ref()) {
                let after = Interval {
                    start: r.interval().start.max(at.utc),
                    end: r.interval().end,
                };
                if after.start < after.end {
                    if let Some(p) = timeline.first_overlapping(after) {
                        period = p;
                        expired = Some(at.utc);
                    }
                }
            }
            let covered = exception.is_some() && expired.is_none();
            let (code, severity) = match (covered, f.severity) {
                (true, _) => ("freeze.overridden", ConflictSeverity::Info),
                (false, FreezeSeverity::Hard) => ("freeze.hard", ConflictSeverity::Error),
                (false, FreezeSeverity::Soft) => ("freeze.soft", ConflictSeverity::Warning),
            };
            let mut message = message!(
                "{} overlaps {} ({}, {}) from {} to {}",
                r.title,
                f.name,
                f.severity.as_str(),
                scope_words(f),
                HumanTime(period.start, zone),
                HumanTime(period.end, zone)
            );
            match (exception, expired) {
                (Some(o), None) => {
                    let _ = write!(message, "; exception approved by {}: {}", o.by, o.reason);
                }
                (Some(o), Some(at)) => {
                    let _ = write!(
                        message,
                        "; the exception approved by {} expired at {}",
                        o.by,
                        HumanTime(at, zone)
                    );
                }
                _ => {}
            }
            out.push(Conflict {
                code,
                severity,
                releases: vec![r.id.clone()],
                freeze: Some(f.id.clone()),
                period,
                message,
            });
        }
    }

    pub(super) fn dependency_rules(&self, a: &Release, out: &mut Vec<Conflict>) {
        for dep in a.depends_on.iter().collect::<BTreeSet<_>>() {
            if *dep == a.id {
                continue; // a cycle of one, reported with the cycles
            }
            let Some(b) = self.release(dep) else {
                out.push(Conflict {
                    code: "dependency.missing",
                    severity: ConflictSeverity::Error,
                    releases: vec![a.id.clone()],
                    freeze: None,
                    period: a.interval(),
                    message: message!("{} depends on {dep}, which is not in the calendar", a.title),
                });
                continue;
            };
            match b.status {
                ReleaseStatus::Done => {}
                ReleaseStatus::Cancelled | ReleaseStatus::RolledBack => out.push(Conflict {
                    code: "dependency.cancelled",
                    severity: ConflictSeverity::Warning,
                    releases: sorted(vec![a.id.clone(), b.id.clone()]),
                    freeze: None,
                    period: a.interval(),
                    message: message!(
                        "{} depends on {}, which is {}",
                        a.title,
                        b.title,
                        b.status.as_str().replace('_', " ")
                    ),
                }),
                _ if a.start.utc < b.end.utc => out.push(Conflict {
                    code: "dependency.order",
                    severity: ConflictSeverity::Error,
                    releases: sorted(vec![a.id.clone(), b.id.clone()]),
                    freeze: None,
                    period: Interval {
                        start: a.start.utc.min(b.end.utc),
                        end: a.start.utc.max(b.end.utc),
                    },
                    message: message!(
                        "{} starts {} but depends on {}, which ends {}",
                        a.title,
                        self.when(a.start.utc),
                        b.title,
                        self.when(b.end.utc)
                    ),
                }),
                _ => {}
            }
        }
    }

    pub(super) fn window_rule(&self, r: &Release, out: &mut Vec<Conflict>) {
        let Some(team) = self.teams.get(&r.team) else {
            return;
        };
        if team.windows.is_empty() {
            return;
        }
        let window = r.interval();
        let fits = team.windows.iter().any(|w| w.covers(window));
        if !fits {
            out.push(Conflict {
                code: "window.outside_allowed",
                severity: ConflictSeverity::Warning,
                releases: vec![r.id.clone()],
                freeze: None,
                period: window,
                message: message!(
                    "{} ({} to {}) is outside the deploy windows of {}",
                    r.title,
                    HumanTime(window.start, team.zone),
                    HumanTime(window.end, team.zone),
                    team.name
                ),
            });
        }
    }

    pub(super) fn readiness_rules(&self, r: &Release, out: &mut Vec<Conflict>) {
        let Some(env) = self.environments.get(&r.environment) else {
            return;
        };
        let soon = self.now + Duration::hours(24);
        let mut push = |code, severity, message| {
            out.push(Conflict {
                code,
                severity,
                releases: vec![r.id.clone()],
                freeze: None,
                period: r.interval(),
                message,
            })
        };
        if env.production && r.rollback.as_ref().is_none_or(|rb| rb.steps.is_empty()) {
            push(
                "readiness.rollback",
                ConflictSeverity::Error,
                message!("{} goes to {} without a rollback plan", r.title, env.name),
            );
        }
        let open: Vec<&str> = r
            .checklist
            .iter()
            .filter(|c| c.required && !c.done)
            .map(|c| c.text.as_str())
            .collect();
        if !open.is_empty() {
            let severity = if r.start.utc <= self.now {
                Some(ConflictSeverity::Error)
            } else if r.start.utc <= soon {
                Some(ConflictSeverity::Warning)
            } else {
                None
            };
            if let Some(severity) = severity {
                push(
                    "readiness.checklist",
                    severity,
                    message!(
                        "{} starts {} with open checklist items: {}",
                        r.title,
                        self.when(r.start.utc),
                        open.join(", ")
                    ),
                );
            }
        }
        let approvers = r.approvers();
        let needed = env.required_approvals as usize;
        if approvers.len() < needed {
            let severity = if matches!(
                r.status,
                ReleaseStatus::Approved | ReleaseStatus::InProgress
            ) {
                Some(ConflictSeverity::Error)
            } else if self.now < r.start.utc && r.start.utc <= soon {
                Some(ConflictSeverity::Warning)
            } else {
                None
            };
            if let Some(severity) = severity {
                push(
                    "approval.missing",
                    severity,
                    message!(
                        "{} has {} of {} approvals required in {}",
                        r.title,
                        approvers.len(),
                        needed,
                        env.name
                    ),
                );
            }
        }
    }
}
