//! The conflict checker: builds indexes once, then answers a full check or
//! re-checks only what one release edit can affect.

use super::timeline::{horizon_of, Timeline};
use super::{human_time, sort_conflicts, Conflict, ConflictSeverity};
use crate::ids::{EnvironmentId, ReleaseId, ServiceId, TeamId};
use crate::plan::{
    Environment, Freeze, FreezeSchedule, FreezeSeverity, Plan, Release, ReleaseStatus,
};
use crate::time::Interval;
use chrono::{DateTime, Duration, Utc};
use chrono_tz::Tz;
use std::collections::{BTreeSet, HashMap, HashSet};

/// Releases of one group (an environment's service, an owner), by start.
#[derive(Debug, Default, Clone)]
struct Group {
    entries: Vec<(DateTime<Utc>, ReleaseId)>,
    /// An upper bound of the length of any member, so a search knows how far back to look.
    max_len: Duration,
}

impl Group {
    fn insert(&mut self, r: &Release) {
        let key = (r.start.utc, r.id.clone());
        let at = self.entries.partition_point(|e| *e < key);
        self.entries.insert(at, key);
        self.max_len = self.max_len.max(r.end.utc - r.start.utc);
    }

    fn remove(&mut self, r: &Release) {
        let key = (r.start.utc, r.id.clone());
        let at = self.entries.partition_point(|e| *e < key);
        if self.entries.get(at) == Some(&key) {
            self.entries.remove(at);
        }
    }

    /// Ids whose start could put them in overlap with `window`.
    fn candidates(&self, window: Interval) -> impl Iterator<Item = &ReleaseId> {
        let from = window.start - self.max_len;
        let first = self.entries.partition_point(|(start, _)| *start < from);
        self.entries[first..]
            .iter()
            .take_while(move |(start, _)| *start < window.end)
            .map(|(_, id)| id)
    }
}

type PairKey = (&'static str, ReleaseId, ReleaseId);

struct TeamInfo {
    name: String,
    zone: Tz,
    windows: Vec<Timeline>,
}

/// Checks a calendar and keeps the result up to date as releases change.
///
/// `Checker::new(plan, now).conflicts()` is the full check; after
/// [`Checker::upsert_release`] or [`Checker::remove_release`] the result
/// equals a full check of the edited plan (a property test holds it to that).
pub struct Checker {
    plan_zone: Tz,
    now: DateTime<Utc>,
    teams: HashMap<TeamId, TeamInfo>,
    environments: HashMap<EnvironmentId, Environment>,
    freezes: Vec<(Freeze, Timeline)>,
    releases: HashMap<ReleaseId, Release>,
    /// Release ids (existing or not) to the releases that depend on them.
    dependents: HashMap<ReleaseId, BTreeSet<ReleaseId>>,
    services: HashMap<(EnvironmentId, ServiceId), Group>,
    owners: HashMap<String, Group>,
    env_members: HashMap<EnvironmentId, BTreeSet<ReleaseId>>,
    per_release: HashMap<ReleaseId, Vec<Conflict>>,
    pairs: HashMap<PairKey, Conflict>,
    pairs_of: HashMap<ReleaseId, HashSet<PairKey>>,
    capacity: HashMap<EnvironmentId, Vec<Conflict>>,
    cycles: Vec<Conflict>,
}

fn owner_of(r: &Release) -> Option<&str> {
    r.owner.as_deref().map(str::trim).filter(|o| !o.is_empty())
}

fn sorted(mut ids: Vec<ReleaseId>) -> Vec<ReleaseId> {
    ids.sort();
    ids.dedup();
    ids
}

fn scope_words(f: &Freeze) -> String {
    let s = &f.scope;
    if s.is_global() {
        return "everyone".into();
    }
    let lists = [
        s.teams.iter().map(ToString::to_string).collect::<Vec<_>>(),
        s.services.iter().map(ToString::to_string).collect(),
        s.environments.iter().map(ToString::to_string).collect(),
    ];
    let parts: Vec<String> = lists
        .into_iter()
        .filter(|l| !l.is_empty())
        .map(|l| l.join(", "))
        .collect();
    parts.join("; ")
}

impl Checker {
    /// Indexes `plan` and checks it at `now`.
    pub fn new(plan: Plan, now: DateTime<Utc>) -> Self {
        let plan_zone = plan.timezone;
        let horizon = horizon_of(plan.releases.iter().map(Release::interval));
        let teams = plan
            .teams
            .into_iter()
            .map(|t| {
                let zone = t.timezone.unwrap_or(plan_zone);
                let windows = t
                    .allowed_windows
                    .iter()
                    .map(|w| {
                        Timeline::recurring(&w.recurrence, w.timezone.unwrap_or(zone), horizon)
                    })
                    .collect();
                (
                    t.id,
                    TeamInfo {
                        name: t.name,
                        zone,
                        windows,
                    },
                )
            })
            .collect();
        let freezes = plan
            .freezes
            .into_iter()
            .map(|f| {
                let timeline = match &f.schedule {
                    FreezeSchedule::Once { start, end } => Timeline::once(Interval {
                        start: start.utc,
                        end: end.utc,
                    }),
                    FreezeSchedule::Recurring(r) => {
                        Timeline::recurring(r, f.zone(plan_zone), horizon)
                    }
                };
                (f, timeline)
            })
            .collect();
        let mut checker = Self {
            plan_zone,
            now,
            teams,
            environments: plan
                .environments
                .into_iter()
                .map(|e| (e.id.clone(), e))
                .collect(),
            freezes,
            releases: HashMap::with_capacity(plan.releases.len()),
            dependents: HashMap::new(),
            services: HashMap::new(),
            owners: HashMap::new(),
            env_members: HashMap::new(),
            per_release: HashMap::new(),
            pairs: HashMap::new(),
            pairs_of: HashMap::new(),
            capacity: HashMap::new(),
            cycles: Vec::new(),
        };
        for r in plan.releases {
            checker.index(&r);
            checker.releases.insert(r.id.clone(), r);
        }
        let ids: Vec<ReleaseId> = checker.releases.keys().cloned().collect();
        for id in &ids {
            checker.recheck_release(id);
            checker.recheck_pairs(id);
        }
        let envs: Vec<EnvironmentId> = checker.environments.keys().cloned().collect();
        for env in envs {
            checker.recheck_capacity(&env);
        }
        checker.recheck_cycles();
        checker
    }

    /// Every conflict, sorted by start, then code, then releases.
    pub fn conflicts(&self) -> Vec<Conflict> {
        let mut out: Vec<Conflict> = self
            .per_release
            .values()
            .flatten()
            .chain(self.pairs.values())
            .chain(self.capacity.values().flatten())
            .chain(self.cycles.iter())
            .cloned()
            .collect();
        sort_conflicts(&mut out);
        out
    }

    /// Conflicts that involve one release, sorted.
    pub fn conflicts_of(&self, id: &ReleaseId) -> Vec<Conflict> {
        let mut out: Vec<Conflict> = self.conflicts_matching(|c| c.releases.contains(id));
        sort_conflicts(&mut out);
        out
    }

    fn conflicts_matching(&self, keep: impl Fn(&Conflict) -> bool) -> Vec<Conflict> {
        self.per_release
            .values()
            .flatten()
            .chain(self.pairs.values())
            .chain(self.capacity.values().flatten())
            .chain(self.cycles.iter())
            .filter(|c| keep(c))
            .cloned()
            .collect()
    }

    /// Adds `release`, or replaces the release with its id, and re-checks
    /// only what that can change. The release must reference the plan's
    /// teams, services and environments (it comes from a validated plan).
    pub fn upsert_release(&mut self, release: Release) {
        let id = release.id.clone();
        let old = self.take(&id);
        let cycles_change = old
            .as_ref()
            .is_none_or(|o| o.depends_on != release.depends_on || o.title != release.title)
            || self.dependents.contains_key(&id);
        let old_env = old.as_ref().map(|o| o.environment.clone());
        self.index(&release);
        let env = release.environment.clone();
        self.releases.insert(id.clone(), release);
        self.after_change(&id, old_env.into_iter().chain([env]), cycles_change);
    }

    /// Removes a release and re-checks what depended on it.
    pub fn remove_release(&mut self, id: &ReleaseId) -> Option<Release> {
        let old = self.take(id)?;
        let cycles_change = !old.depends_on.is_empty() || self.dependents.contains_key(id);
        self.after_change(id, [old.environment.clone()].into_iter(), cycles_change);
        Some(old)
    }

    /// Removes a release from every index and every result that involves it.
    fn take(&mut self, id: &ReleaseId) -> Option<Release> {
        let old = self.releases.remove(id)?;
        self.unindex(&old);
        self.per_release.remove(id);
        for key in self.pairs_of.remove(id).unwrap_or_default() {
            self.pairs.remove(&key);
            let other = if key.1 == *id { &key.2 } else { &key.1 };
            if let Some(set) = self.pairs_of.get_mut(other) {
                set.remove(&key);
            }
        }
        Some(old)
    }

    fn after_change(
        &mut self,
        id: &ReleaseId,
        envs: impl Iterator<Item = EnvironmentId>,
        cycles_change: bool,
    ) {
        if self.releases.contains_key(id) {
            self.recheck_release(id);
            self.recheck_pairs(id);
        }
        let dependents: Vec<ReleaseId> = self
            .dependents
            .get(id)
            .into_iter()
            .flatten()
            .cloned()
            .collect();
        for d in &dependents {
            self.recheck_release(d);
        }
        let envs: BTreeSet<EnvironmentId> = envs.collect();
        for env in &envs {
            self.recheck_capacity(env);
        }
        if cycles_change {
            self.recheck_cycles();
        }
    }

    fn index(&mut self, r: &Release) {
        for dep in &r.depends_on {
            self.dependents
                .entry(dep.clone())
                .or_default()
                .insert(r.id.clone());
        }
        if !r.status.is_active() {
            return;
        }
        self.env_members
            .entry(r.environment.clone())
            .or_default()
            .insert(r.id.clone());
        for s in r.services.iter().collect::<BTreeSet<_>>() {
            self.services
                .entry((r.environment.clone(), s.clone()))
                .or_default()
                .insert(r);
        }
        if let Some(owner) = owner_of(r) {
            self.owners.entry(owner.to_owned()).or_default().insert(r);
        }
    }

    fn unindex(&mut self, r: &Release) {
        for dep in &r.depends_on {
            if let Some(set) = self.dependents.get_mut(dep) {
                set.remove(&r.id);
                if set.is_empty() {
                    self.dependents.remove(dep);
                }
            }
        }
        if !r.status.is_active() {
            return;
        }
        if let Some(set) = self.env_members.get_mut(&r.environment) {
            set.remove(&r.id);
        }
        for s in &r.services {
            if let Some(g) = self.services.get_mut(&(r.environment.clone(), s.clone())) {
                g.remove(r);
            }
        }
        if let Some(g) = owner_of(r).and_then(|o| self.owners.get_mut(o)) {
            g.remove(r);
        }
    }

    fn when(&self, t: DateTime<Utc>) -> String {
        human_time(t, self.plan_zone)
    }

    fn env_name<'a>(&'a self, id: &'a EnvironmentId) -> &'a str {
        self.environments
            .get(id)
            .map_or(id.as_str(), |e| e.name.as_str())
    }

    /// The rules about one release alone (and the releases it depends on).
    fn recheck_release(&mut self, id: &ReleaseId) {
        let conflicts = match self.releases.get(id) {
            Some(r) if r.status.is_active() => {
                let mut out = Vec::new();
                self.freeze_rules(r, &mut out);
                self.dependency_rules(r, &mut out);
                self.window_rule(r, &mut out);
                self.readiness_rules(r, &mut out);
                out
            }
            _ => Vec::new(),
        };
        if conflicts.is_empty() {
            self.per_release.remove(id);
        } else {
            self.per_release.insert(id.clone(), conflicts);
        }
    }

    fn freeze_rules(&self, r: &Release, out: &mut Vec<Conflict>) {
        for (f, timeline) in &self.freezes {
            if !f.scope.matches(r) {
                continue;
            }
            let Some(period) = timeline.first_overlapping(r.interval()) else {
                continue;
            };
            let zone = f.zone(self.plan_zone);
            let exception = r.overrides.iter().find(|o| o.freeze == f.id);
            let (code, severity) = match (exception.is_some(), f.severity) {
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
            if let Some(o) = exception {
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

    fn dependency_rules(&self, a: &Release, out: &mut Vec<Conflict>) {
        for dep in a.depends_on.iter().collect::<BTreeSet<_>>() {
            if *dep == a.id {
                continue; // a cycle of one, reported with the cycles
            }
            let Some(b) = self.releases.get(dep) else {
                out.push(Conflict {
                    code: "dependency.missing",
                    severity: ConflictSeverity::Error,
                    releases: vec![a.id.clone()],
                    freeze: None,
                    period: a.interval(),
                    message: format!("{} depends on {dep}, which is not in the calendar", a.title),
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

    fn window_rule(&self, r: &Release, out: &mut Vec<Conflict>) {
        let Some(team) = self.teams.get(&r.team) else {
            return;
        };
        if team.windows.is_empty() {
            return;
        }
        let window = r.interval();
        let fits = team.windows.iter().any(|w| {
            w.overlapping(window, 64)
                .iter()
                .any(|o| o.start <= window.start && window.end <= o.end)
        });
        if !fits {
            out.push(Conflict {
                code: "window.outside_allowed",
                severity: ConflictSeverity::Warning,
                releases: vec![r.id.clone()],
                freeze: None,
                period: window,
                message: format!(
                    "{} ({} to {}) is outside the deploy windows of {}",
                    r.title,
                    human_time(window.start, team.zone),
                    human_time(window.end, team.zone),
                    team.name
                ),
            });
        }
    }

    fn readiness_rules(&self, r: &Release, out: &mut Vec<Conflict>) {
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
            } else if self.now < r.start.utc && r.start.utc <= soon {
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

    /// Service overlaps and double-booked owners between `id` and the rest.
    fn recheck_pairs(&mut self, id: &ReleaseId) {
        let Some(r) = self.releases.get(id).filter(|r| r.status.is_active()) else {
            return;
        };
        let window = r.interval();
        let mut found: Vec<(PairKey, Conflict)> = Vec::new();
        let mut seen = HashSet::new();
        for s in r.services.iter().collect::<BTreeSet<_>>() {
            let Some(group) = self.services.get(&(r.environment.clone(), s.clone())) else {
                continue;
            };
            for other in group.candidates(window) {
                if other == id || !seen.insert(other.clone()) {
                    continue;
                }
                let Some(o) = self
                    .releases
                    .get(other)
                    .filter(|o| o.interval().overlaps(&window))
                else {
                    continue;
                };
                let (a, b) = ordered(r, o);
                let shared = a
                    .services
                    .iter()
                    .filter(|s| b.services.contains(s))
                    .min()
                    .map_or("", |s| s.as_str());
                let period = intersection(a, b);
                found.push((
                    pair_key("service.overlap", a, b),
                    Conflict {
                        code: "service.overlap",
                        severity: ConflictSeverity::Error,
                        releases: sorted(vec![a.id.clone(), b.id.clone()]),
                        freeze: None,
                        period,
                        message: format!(
                            "{} and {} both change {} in {} between {} and {}",
                            a.title,
                            b.title,
                            shared,
                            self.env_name(&a.environment),
                            self.when(period.start),
                            self.when(period.end)
                        ),
                    },
                ));
            }
        }
        if let Some(owner) = owner_of(r) {
            if let Some(group) = self.owners.get(owner) {
                for other in group.candidates(window) {
                    if other == id {
                        continue;
                    }
                    let Some(o) = self
                        .releases
                        .get(other)
                        .filter(|o| o.interval().overlaps(&window))
                    else {
                        continue;
                    };
                    let (a, b) = ordered(r, o);
                    let period = intersection(a, b);
                    found.push((
                        pair_key("owner.double_booked", a, b),
                        Conflict {
                            code: "owner.double_booked",
                            severity: ConflictSeverity::Warning,
                            releases: sorted(vec![a.id.clone(), b.id.clone()]),
                            freeze: None,
                            period,
                            message: format!(
                                "{owner} runs both {} and {} between {} and {}",
                                a.title,
                                b.title,
                                self.when(period.start),
                                self.when(period.end)
                            ),
                        },
                    ));
                }
            }
        }
        for (key, conflict) in found {
            self.pairs_of
                .entry(key.1.clone())
                .or_default()
                .insert(key.clone());
            self.pairs_of
                .entry(key.2.clone())
                .or_default()
                .insert(key.clone());
            self.pairs.insert(key, conflict);
        }
    }

    /// Maximal periods in which more active releases run in `env` than it allows.
    fn recheck_capacity(&mut self, env_id: &EnvironmentId) {
        self.capacity.remove(env_id);
        let Some(env) = self.environments.get(env_id) else {
            return;
        };
        let Some(limit) = env.max_concurrent else {
            return;
        };
        let members: Vec<&Release> = self
            .env_members
            .get(env_id)
            .into_iter()
            .flatten()
            .filter_map(|id| self.releases.get(id))
            .collect();
        // Ends sort before starts at one instant: intervals are half-open.
        let mut events: Vec<(DateTime<Utc>, i8)> = members
            .iter()
            .flat_map(|r| [(r.start.utc, 1), (r.end.utc, -1)])
            .collect();
        events.sort_unstable();
        let (mut count, mut peak, mut since) = (0i64, 0i64, None);
        let mut found = Vec::new();
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
                    message: format!(
                        "{peak} releases run at once in {} (limit {limit}) between {} and {}",
                        env.name,
                        self.when(start),
                        self.when(t)
                    ),
                });
                peak = 0;
            }
        }
        if !found.is_empty() {
            self.capacity.insert(env_id.clone(), found);
        }
    }

    /// Tarjan's strongly connected components over `depends_on`, iteratively.
    fn recheck_cycles(&mut self) {
        let mut ids: Vec<&ReleaseId> = self.releases.keys().collect();
        ids.sort();
        let index_of: HashMap<&ReleaseId, usize> =
            ids.iter().enumerate().map(|(i, id)| (*id, i)).collect();
        let nodes: Vec<&Release> = ids.iter().filter_map(|id| self.releases.get(*id)).collect();
        let edges: Vec<Vec<usize>> = nodes
            .iter()
            .map(|r| {
                r.depends_on
                    .iter()
                    .filter_map(|d| index_of.get(d).copied())
                    .collect()
            })
            .collect();
        let n = nodes.len();
        let (mut index, mut low, mut on_stack) = (vec![usize::MAX; n], vec![0; n], vec![false; n]);
        let (mut stack, mut next) = (Vec::new(), 0);
        let mut found = Vec::new();
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
                    let members: Vec<&Release> = component.iter().map(|&i| nodes[i]).collect();
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
                            format!("{} depends on itself", titles.join(""))
                        } else {
                            format!("{} depend on each other in a cycle", titles.join(", "))
                        },
                    });
                }
            }
        }
        self.cycles = found;
    }
}

/// The pair in a stable order: earlier start first, then by id.
fn ordered<'a>(x: &'a Release, y: &'a Release) -> (&'a Release, &'a Release) {
    if (x.start.utc, &x.id) <= (y.start.utc, &y.id) {
        (x, y)
    } else {
        (y, x)
    }
}

fn pair_key(code: &'static str, a: &Release, b: &Release) -> PairKey {
    let (x, y) = if a.id <= b.id { (a, b) } else { (b, a) };
    (code, x.id.clone(), y.id.clone())
}

fn intersection(a: &Release, b: &Release) -> Interval {
    Interval {
        start: a.start.utc.max(b.start.utc),
        end: a.end.utc.min(b.end.utc),
    }
}
