//! The conflict engine (`shared/spec/conflict-rules.md`): a pure function of a
//! plan and the time `now`.
//!
//! Pairwise rules (service overlap, double-booked owners) sort each group by
//! start and sweep, so they cost O(n log n + overlaps), not all pairs;
//! environment capacity is one sweep over start and end events per
//! environment; dependency cycles are Tarjan's strongly connected components.

use crate::ids::{FreezeId, ReleaseId};
use crate::plan::{FreezeSeverity, Plan, Release, ReleaseStatus};
use crate::time::Interval;
use chrono::{DateTime, Duration, Utc};
use chrono_tz::Tz;
use std::collections::{BTreeSet, HashMap, HashSet};

/// How bad a conflict is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ConflictSeverity {
    /// Blocks.
    Error,
    /// Should be looked at.
    Warning,
    /// For the record.
    Info,
}

impl ConflictSeverity {
    /// The spec's name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Error => "error",
            Self::Warning => "warning",
            Self::Info => "info",
        }
    }
}

/// One problem in the calendar.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Conflict {
    /// Stable code, e.g. `freeze.hard`.
    pub code: &'static str,
    /// Severity.
    pub severity: ConflictSeverity,
    /// The releases involved, sorted.
    pub releases: Vec<ReleaseId>,
    /// The freeze involved, if any.
    pub freeze: Option<FreezeId>,
    /// The period it concerns.
    pub period: Interval,
    /// A sentence for a person.
    pub message: String,
}

/// `20 Dec 00:00 EST`: a time as people read it, in `zone`.
pub fn human_time(t: DateTime<Utc>, zone: Tz) -> String {
    t.with_timezone(&zone)
        .format("%-d %b %Y %H:%M %Z")
        .to_string()
}

/// Every conflict in `plan` at `now`, sorted by start, then code, then releases.
pub fn check(plan: &Plan, now: DateTime<Utc>) -> Vec<Conflict> {
    let ctx = Ctx::new(plan);
    let mut out = Vec::new();
    ctx.freezes(&mut out);
    ctx.service_overlaps(&mut out);
    ctx.capacity(&mut out);
    ctx.dependencies(&mut out);
    ctx.cycles(&mut out);
    ctx.owners(&mut out);
    ctx.allowed_windows(&mut out);
    ctx.readiness(now, &mut out);
    out.sort_by(|a, b| {
        (a.period.start, a.code, &a.releases).cmp(&(b.period.start, b.code, &b.releases))
    });
    out
}

struct Ctx<'a> {
    plan: &'a Plan,
    active: Vec<&'a Release>,
    by_id: HashMap<&'a str, &'a Release>,
}

fn sorted(mut ids: Vec<ReleaseId>) -> Vec<ReleaseId> {
    ids.sort();
    ids.dedup();
    ids
}

impl<'a> Ctx<'a> {
    fn new(plan: &'a Plan) -> Self {
        Self {
            plan,
            active: plan
                .releases
                .iter()
                .filter(|r| r.status.is_active())
                .collect(),
            by_id: plan.releases.iter().map(|r| (r.id.as_str(), r)).collect(),
        }
    }

    fn when(&self, t: DateTime<Utc>) -> String {
        human_time(t, self.plan.timezone)
    }

    fn freezes(&self, out: &mut Vec<Conflict>) {
        for f in &self.plan.freezes {
            let zone = f.zone(self.plan.timezone);
            for r in self.active.iter().filter(|r| f.scope.matches(r)) {
                let Some(period) = f
                    .periods_between(self.plan.timezone, r.interval(), 1)
                    .first()
                    .copied()
                else {
                    continue;
                };
                let overridden = r.overrides.iter().any(|o| o.freeze == f.id);
                let (code, severity) = match (overridden, f.severity) {
                    (true, _) => ("freeze.overridden", ConflictSeverity::Info),
                    (false, FreezeSeverity::Hard) => ("freeze.hard", ConflictSeverity::Error),
                    (false, FreezeSeverity::Soft) => ("freeze.soft", ConflictSeverity::Warning),
                };
                let mut message = format!(
                    "{} overlaps {} ({}, {}) from {} to {}",
                    r.title,
                    f.name,
                    f.severity.as_str(),
                    scope_words(f),
                    human_time(period.start, zone),
                    human_time(period.end, zone)
                );
                if let Some(o) = r.overrides.iter().find(|o| o.freeze == f.id) {
                    message.push_str(&format!("; exception approved by {}: {}", o.by, o.reason));
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
    }

    /// Calls `pair` for every two releases of a group that overlap, via sort and sweep.
    fn overlapping_pairs(
        group: &mut [&'a Release],
        mut pair: impl FnMut(&'a Release, &'a Release),
    ) {
        group.sort_by_key(|r| (r.start.utc, r.end.utc));
        let mut open: Vec<&'a Release> = Vec::new();
        for &r in group.iter() {
            open.retain(|o| o.end.utc > r.start.utc);
            for &o in &open {
                pair(o, r);
            }
            open.push(r);
        }
    }

    fn pairwise(
        &self,
        groups: HashMap<(String, String), Vec<&'a Release>>,
        out: &mut Vec<Conflict>,
        code: &'static str,
        severity: ConflictSeverity,
        describe: impl Fn(&Release, &Release, &str) -> String,
    ) {
        let mut seen = HashSet::new();
        let mut keys: Vec<_> = groups.into_iter().collect();
        keys.sort_by(|a, b| a.0.cmp(&b.0));
        for ((_, what), mut group) in keys {
            Self::overlapping_pairs(&mut group, |a, b| {
                let ids = sorted(vec![a.id.clone(), b.id.clone()]);
                if seen.insert(ids.clone()) {
                    let period = Interval {
                        start: a.start.utc.max(b.start.utc),
                        end: a.end.utc.min(b.end.utc),
                    };
                    out.push(Conflict {
                        code,
                        severity,
                        releases: ids,
                        freeze: None,
                        period,
                        message: describe(a, b, &what),
                    });
                }
            });
        }
    }

    fn service_overlaps(&self, out: &mut Vec<Conflict>) {
        let mut groups: HashMap<(String, String), Vec<&Release>> = HashMap::new();
        for &r in &self.active {
            for s in r.services.iter().collect::<BTreeSet<_>>() {
                groups
                    .entry((r.environment.to_string(), s.to_string()))
                    .or_default()
                    .push(r);
            }
        }
        let env_name = |id: &str| {
            self.plan
                .environments
                .iter()
                .find(|e| e.id.as_str() == id)
                .map_or(id.to_owned(), |e| e.name.clone())
        };
        self.pairwise(
            groups,
            out,
            "service.overlap",
            ConflictSeverity::Error,
            |a, b, service| {
                format!(
                    "{} and {} both change {} in {} between {} and {}",
                    a.title,
                    b.title,
                    service,
                    env_name(a.environment.as_str()),
                    self.when(a.start.utc.max(b.start.utc)),
                    self.when(a.end.utc.min(b.end.utc))
                )
            },
        );
    }

    fn owners(&self, out: &mut Vec<Conflict>) {
        let mut groups: HashMap<(String, String), Vec<&Release>> = HashMap::new();
        for &r in &self.active {
            if let Some(owner) = r.owner.as_deref().map(str::trim).filter(|o| !o.is_empty()) {
                groups
                    .entry((owner.to_owned(), owner.to_owned()))
                    .or_default()
                    .push(r);
            }
        }
        self.pairwise(
            groups,
            out,
            "owner.double_booked",
            ConflictSeverity::Warning,
            |a, b, owner| {
                format!(
                    "{owner} runs both {} and {} between {} and {}",
                    a.title,
                    b.title,
                    self.when(a.start.utc.max(b.start.utc)),
                    self.when(a.end.utc.min(b.end.utc))
                )
            },
        );
    }

    fn capacity(&self, out: &mut Vec<Conflict>) {
        for env in &self.plan.environments {
            let Some(limit) = env.max_concurrent else {
                continue;
            };
            let releases: Vec<&Release> = self
                .active
                .iter()
                .copied()
                .filter(|r| r.environment == env.id)
                .collect();
            // Ends sort before starts at the same instant: intervals are half-open.
            let mut events: Vec<(DateTime<Utc>, i8)> = releases
                .iter()
                .flat_map(|r| [(r.start.utc, 1), (r.end.utc, -1)])
                .collect();
            events.sort();
            let mut count: i64 = 0;
            let mut since: Option<DateTime<Utc>> = None;
            let mut peak = 0;
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
                    if start < t {
                        let period = Interval { start, end: t };
                        let ids = sorted(
                            releases
                                .iter()
                                .filter(|r| r.interval().overlaps(&period))
                                .map(|r| r.id.clone())
                                .collect(),
                        );
                        out.push(Conflict {
                            code: "environment.capacity",
                            severity: ConflictSeverity::Error,
                            message: format!(
                                "{peak} releases run at once in {} (limit {limit}) between {} and {}",
                                env.name,
                                self.when(start),
                                self.when(t)
                            ),
                            releases: ids,
                            freeze: None,
                            period,
                        });
                    }
                    peak = 0;
                }
            }
        }
    }

    fn dependencies(&self, out: &mut Vec<Conflict>) {
        for &a in &self.active {
            for dep in a.depends_on.iter().collect::<BTreeSet<_>>() {
                if *dep == a.id {
                    continue; // a cycle of one, reported by `cycles`
                }
                let Some(&b) = self.by_id.get(dep.as_str()) else {
                    out.push(Conflict {
                        code: "dependency.missing",
                        severity: ConflictSeverity::Error,
                        releases: vec![a.id.clone()],
                        freeze: None,
                        period: a.interval(),
                        message: format!(
                            "{} depends on {dep}, which is not in the calendar",
                            a.title
                        ),
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
                        message: format!(
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
                        message: format!(
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
    }

    /// Tarjan's strongly connected components over `depends_on`, iteratively.
    fn cycles(&self, out: &mut Vec<Conflict>) {
        let releases = &self.plan.releases;
        let index_of: HashMap<&str, usize> = releases
            .iter()
            .enumerate()
            .map(|(i, r)| (r.id.as_str(), i))
            .collect();
        let edges: Vec<Vec<usize>> = releases
            .iter()
            .map(|r| {
                r.depends_on
                    .iter()
                    .filter_map(|d| index_of.get(d.as_str()).copied())
                    .collect()
            })
            .collect();
        let n = releases.len();
        let (mut index, mut low, mut on_stack) = (vec![usize::MAX; n], vec![0; n], vec![false; n]);
        let (mut stack, mut next) = (Vec::new(), 0);
        for root in 0..n {
            if index[root] != usize::MAX {
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
                if low[v] == index[v] {
                    let mut component = Vec::new();
                    while let Some(w) = stack.pop() {
                        on_stack[w] = false;
                        component.push(w);
                        if w == v {
                            break;
                        }
                    }
                    if component.len() > 1 || edges[v].contains(&v) {
                        let members: Vec<&Release> =
                            component.iter().map(|&i| &releases[i]).collect();
                        let period = Interval {
                            start: members
                                .iter()
                                .map(|r| r.start.utc)
                                .min()
                                .unwrap_or_default(),
                            end: members.iter().map(|r| r.end.utc).max().unwrap_or_default(),
                        };
                        let mut titles: Vec<&str> =
                            members.iter().map(|r| r.title.as_str()).collect();
                        titles.sort_unstable();
                        out.push(Conflict {
                            code: "dependency.cycle",
                            severity: ConflictSeverity::Error,
                            releases: sorted(members.iter().map(|r| r.id.clone()).collect()),
                            freeze: None,
                            period,
                            message: if members.len() == 1 {
                                format!("{} depends on itself", titles.join(""))
                            } else {
                                format!("{} depend on each other in a cycle", titles.join(", "))
                            },
                        });
                    }
                }
            }
        }
    }

    fn allowed_windows(&self, out: &mut Vec<Conflict>) {
        for &r in &self.active {
            let Some(team) = self.plan.teams.iter().find(|t| t.id == r.team) else {
                continue;
            };
            if team.allowed_windows.is_empty() {
                continue;
            }
            let team_zone = team.timezone.unwrap_or(self.plan.timezone);
            let fits = team.allowed_windows.iter().any(|w| {
                let zone = w.timezone.unwrap_or(team_zone);
                w.recurrence
                    .occurrences_between(zone, r.start.utc, r.end.utc, 64)
                    .iter()
                    .any(|o| o.interval.start <= r.start.utc && r.end.utc <= o.interval.end)
            });
            if !fits {
                out.push(Conflict {
                    code: "window.outside_allowed",
                    severity: ConflictSeverity::Warning,
                    releases: vec![r.id.clone()],
                    freeze: None,
                    period: r.interval(),
                    message: format!(
                        "{} ({} to {}) is outside the deploy windows of {}",
                        r.title,
                        human_time(r.start.utc, team_zone),
                        human_time(r.end.utc, team_zone),
                        team.name
                    ),
                });
            }
        }
    }

    fn readiness(&self, now: DateTime<Utc>, out: &mut Vec<Conflict>) {
        let soon = now + Duration::hours(24);
        for &r in &self.active {
            let Some(env) = self
                .plan
                .environments
                .iter()
                .find(|e| e.id == r.environment)
            else {
                continue;
            };
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
                    format!("{} goes to {} without a rollback plan", r.title, env.name),
                );
            }
            let open: Vec<&str> = r
                .checklist
                .iter()
                .filter(|c| c.required && !c.done)
                .map(|c| c.text.as_str())
                .collect();
            if !open.is_empty() {
                let severity = if r.start.utc <= now {
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
                        format!(
                            "{} starts {} with open checklist items: {}",
                            r.title,
                            self.when(r.start.utc),
                            open.join(", ")
                        ),
                    );
                }
            }
            let approvers: HashSet<&str> = r.approvals.iter().map(|a| a.by.as_str()).collect();
            let needed = env.required_approvals as usize;
            if approvers.len() < needed {
                let severity = if matches!(
                    r.status,
                    ReleaseStatus::Approved | ReleaseStatus::InProgress
                ) {
                    Some(ConflictSeverity::Error)
                } else if now < r.start.utc && r.start.utc <= soon {
                    Some(ConflictSeverity::Warning)
                } else {
                    None
                };
                if let Some(severity) = severity {
                    push(
                        "approval.missing",
                        severity,
                        format!(
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
}

fn scope_words(f: &crate::plan::Freeze) -> String {
    let s = &f.scope;
    if s.is_global() {
        return "everyone".into();
    }
    let parts: Vec<String> = [
        s.teams.iter().map(|x| x.to_string()).collect::<Vec<_>>(),
        s.services.iter().map(|x| x.to_string()).collect(),
        s.environments.iter().map(|x| x.to_string()).collect(),
    ]
    .into_iter()
    .filter(|l| !l.is_empty())
    .map(|l| l.join(", "))
    .collect();
    parts.join("; ")
}
