//! The conflict checker: builds indexes once, then answers a full check or
//! re-checks only what one release edit can affect.
//!
//! Releases live in numbered slots; every index (groups, environment
//! members, pairs, per-release results) holds slot numbers, so building the
//! indexes allocates little and the plan itself is borrowed, not copied.

use super::timeline::{horizon_of, Timeline};
use super::{conflict_order, sort_conflicts, Conflict, ConflictSeverity, HumanTime};
use crate::ids::{EnvironmentId, ReleaseId, TeamId};
use crate::plan::{Environment, Freeze, Plan, Release};
use crate::time::Interval;
use chrono::{DateTime, Duration, Utc};
use chrono_tz::Tz;
use std::borrow::Cow;
// FxHash: the keys are ids from a validated plan, and SipHash was a twentieth of a check.
use rustc_hash::{FxHashMap as HashMap, FxHashSet as HashSet};
use std::collections::BTreeSet;

/// A conflict's message, written into a buffer sized for one: `format!`
/// guesses from the literal text and grows two or three times per message,
/// and a large calendar words tens of thousands of them.
macro_rules! message {
    ($($arg:tt)*) => {{
        let mut message = String::with_capacity(160);
        // Writing to a String cannot fail.
        let _ = std::fmt::Write::write_fmt(&mut message, format_args!($($arg)*));
        message
    }};
}

mod group;
mod rules;
mod scope;
mod shared;
mod views;

use group::Group;
use scope::{expand_timelines, ScopeBits};

type Slot = u32;

type PairKey = (&'static str, Slot, Slot);

struct TeamInfo<'p> {
    name: &'p str,
    zone: Tz,
    windows: Vec<Timeline>,
}

/// Checks a calendar and keeps the result up to date as releases change.
///
/// `Checker::new(&plan, now).into_conflicts()` is the full check; after
/// [`Checker::upsert_release`] or [`Checker::remove_release`] the result
/// equals a full check of the edited plan (a property test holds it to that).
pub struct Checker<'p> {
    plan_zone: Tz,
    now: DateTime<Utc>,
    teams: HashMap<&'p TeamId, TeamInfo<'p>>,
    environments: HashMap<&'p EnvironmentId, &'p Environment>,
    env_slot: HashMap<&'p EnvironmentId, usize>,
    env_ids: Vec<&'p EnvironmentId>,
    freezes: Vec<(&'p Freeze, Timeline)>,
    /// Per freeze: its team and service lists as bit sets.
    scopes: Vec<ScopeBits>,
    /// The plan's teams and services by id, numbered for [`ScopeBits`].
    team_no: HashMap<&'p str, usize>,
    service_no: HashMap<&'p str, usize>,
    /// Per environment slot: the freezes whose scope can include it.
    freezes_by_env: Vec<Vec<usize>>,
    releases: Vec<Option<Cow<'p, Release>>>,
    slot_of: HashMap<Cow<'p, str>, Slot>,
    /// Release ids (existing or not) to the slots of releases that depend on them.
    dependents: HashMap<Cow<'p, str>, Vec<Slot>>,
    /// Per environment slot: service id to its group.
    services: Vec<HashMap<Cow<'p, str>, Group>>,
    owners: HashMap<Cow<'p, str>, Group>,
    env_members: Vec<HashSet<Slot>>,
    per_release: Vec<Vec<Conflict>>,
    pairs: HashMap<PairKey, Conflict>,
    pairs_of: HashMap<Slot, Vec<PairKey>>,
    capacity: Vec<Vec<Conflict>>,
    cycles: Vec<Conflict>,
    /// Every release (whatever its status) by start, for views; `None`
    /// while the first indexing runs (it is sorted once at the end).
    by_start: Option<Group>,
    /// How many of the releases' own conflicts there are of each severity
    /// (error, warning, info), kept with `per_release`.
    own_counts: [usize; 3],
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

/// The span from the earliest start to the latest end of `releases`.
fn reach_of<'r>(releases: impl Iterator<Item = &'r Release>) -> Option<Interval> {
    releases.map(Release::interval).reduce(|a, b| Interval {
        start: a.start.min(b.start),
        end: a.end.max(b.end),
    })
}

fn severity_index(severity: ConflictSeverity) -> usize {
    match severity {
        ConflictSeverity::Error => 0,
        ConflictSeverity::Warning => 1,
        ConflictSeverity::Info => 2,
    }
}

fn slot_index(slot: Slot) -> usize {
    slot as usize
}

impl<'p> Checker<'p> {
    /// Indexes `plan` and checks it at `now`.
    pub fn new(plan: &'p Plan, now: DateTime<Utc>) -> Self {
        let plan_zone = plan.timezone;
        let horizon = horizon_of(plan.releases.iter().map(Release::interval));
        let numbered = |ids: &mut dyn Iterator<Item = &'p str>| -> HashMap<&'p str, usize> {
            ids.enumerate().map(|(i, id)| (id, i)).collect()
        };
        let team_no = numbered(&mut plan.teams.iter().map(|t| t.id.as_str()));
        let service_no = numbered(&mut plan.services.iter().map(|s| s.id.as_str()));
        let scopes = plan
            .freezes
            .iter()
            .map(|f| ScopeBits {
                teams: ScopeBits::of(f.scope.teams.iter().map(|t| t.as_str()), &team_no),
                services: ScopeBits::of(f.scope.services.iter().map(|s| s.as_str()), &service_no),
            })
            .collect();
        let env_ids: Vec<&EnvironmentId> = plan.environments.iter().map(|e| &e.id).collect();
        let freezes_by_env = env_ids
            .iter()
            .map(|env| {
                (0..plan.freezes.len())
                    .filter(|&i| {
                        let scope = &plan.freezes[i].scope.environments;
                        scope.is_empty() || scope.contains(env)
                    })
                    .collect()
            })
            .collect();
        let n_env = env_ids.len();
        let mut checker = Self {
            plan_zone,
            now,
            teams: HashMap::default(),
            environments: plan.environments.iter().map(|e| (&e.id, e)).collect(),
            env_slot: env_ids.iter().enumerate().map(|(i, e)| (*e, i)).collect(),
            env_ids,
            freezes: Vec::new(),
            scopes,
            team_no,
            service_no,
            freezes_by_env,
            releases: Vec::with_capacity(plan.releases.len()),
            slot_of: HashMap::with_capacity_and_hasher(plan.releases.len(), Default::default()),
            dependents: HashMap::default(),
            services: vec![HashMap::default(); n_env],
            owners: HashMap::default(),
            env_members: vec![HashSet::default(); n_env],
            per_release: Vec::with_capacity(plan.releases.len()),
            pairs: HashMap::default(),
            pairs_of: HashMap::default(),
            capacity: vec![Vec::new(); n_env],
            cycles: Vec::new(),
            by_start: None,
            own_counts: [0; 3],
        };
        // The freezes' and windows' occurrences are expanded on a second
        // core while the releases are indexed; neither reads the other.
        let (teams, freezes) = std::thread::scope(|scope| {
            let expanded = scope.spawn(move || expand_timelines(plan, horizon));
            for r in &plan.releases {
                let slot = checker.releases.len() as Slot;
                checker.slot_of.insert(Cow::Borrowed(r.id.as_str()), slot);
                checker.releases.push(Some(Cow::Borrowed(r)));
                checker.per_release.push(Vec::new());
                checker.index(slot);
            }
            expanded
                .join()
                .unwrap_or_else(|e| std::panic::resume_unwind(e))
        });
        checker.teams = teams;
        checker.freezes = freezes;
        let mut by_start = Group {
            entries: (0..checker.releases.len() as Slot)
                .filter_map(|slot| checker.at(slot).map(|r| (r.start.utc, slot)))
                .collect(),
            max_len: Duration::zero(),
        };
        by_start.entries.sort_unstable();
        by_start.max_len = plan
            .releases
            .iter()
            .map(|r| r.end.utc - r.start.utc)
            .max()
            .unwrap_or_else(Duration::zero);
        checker.by_start = Some(by_start);
        checker.recheck_all_releases_and_pairs();
        for env in 0..n_env {
            checker.recheck_capacity(env);
        }
        checker.recheck_cycles();
        checker
    }

    fn release_by_id(&self, id: &ReleaseId) -> Option<&Release> {
        self.slot_of.get(id.as_str()).and_then(|&s| self.at(s))
    }

    fn at(&self, slot: Slot) -> Option<&Release> {
        self.releases
            .get(slot_index(slot))
            .and_then(|r| r.as_deref())
    }

    fn all(&self) -> impl Iterator<Item = &Conflict> {
        self.per_release
            .iter()
            .flatten()
            .chain(self.pairs.values())
            .chain(self.capacity.iter().flatten())
            .chain(self.cycles.iter())
    }

    /// Every conflict, sorted by start, then code, then releases.
    pub fn conflicts(&self) -> Vec<Conflict> {
        let mut out: Vec<Conflict> = self.all().cloned().collect();
        sort_conflicts(&mut out);
        out
    }

    /// Every conflict, sorted, without copying them.
    pub fn into_conflicts(self) -> Vec<Conflict> {
        let mut out: Vec<Conflict> = Vec::with_capacity(self.len());
        out.extend(self.per_release.into_iter().flatten());
        out.extend(self.pairs.into_values());
        out.extend(self.capacity.into_iter().flatten());
        out.extend(self.cycles);
        sort_conflicts(&mut out);
        out
    }

    /// Every conflict by reference, in the order of [`Checker::conflicts`]:
    /// sorting references moves a word per conflict, not the conflict.
    pub fn sorted(&self) -> Vec<&Conflict> {
        let mut out: Vec<&Conflict> = Vec::with_capacity(self.len());
        out.extend(self.all());
        out.sort_by(|a, b| conflict_order(a, b));
        out
    }

    /// How many conflicts there are.
    pub fn len(&self) -> usize {
        self.per_release.iter().map(Vec::len).sum::<usize>()
            + self.pairs.len()
            + self.capacity.iter().map(Vec::len).sum::<usize>()
            + self.cycles.len()
    }

    /// Whether the calendar has no conflict at all.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The releases whose windows overlap `range`, by start then id.
    pub fn releases_overlapping(&self, range: Interval) -> Vec<&Release> {
        let mut out: Vec<&Release> = self
            .by_start
            .as_ref()
            .map(|g| {
                g.candidates(range)
                    .filter_map(|s| self.at(s))
                    .filter(|r| r.interval().overlaps(&range))
                    .collect()
            })
            .unwrap_or_default();
        out.sort_by(|a, b| (a.start.utc, &a.id).cmp(&(b.start.utc, &b.id)));
        out
    }

    /// The release with `id` as the checker holds it (edits included).
    pub fn release(&self, id: &ReleaseId) -> Option<&Release> {
        self.release_by_id(id)
    }

    /// The instant readiness rules compare against.
    pub fn now(&self) -> DateTime<Utc> {
        self.now
    }

    /// Every conflict, unsorted and without copying.
    pub fn iter(&self) -> impl Iterator<Item = &Conflict> {
        self.all()
    }

    /// Adds `release`, or replaces the release with its id, and re-checks
    /// only what that can change. The release must reference the plan's
    /// teams, services and environments (it comes from a validated plan).
    pub fn upsert_release(&mut self, release: Release) {
        let existing = self.slot_of.get(release.id.as_str()).copied();
        let (slot, old) = match existing {
            Some(slot) => (slot, self.take(slot)),
            None => {
                let slot = self.releases.len() as Slot;
                self.releases.push(None);
                self.per_release.push(Vec::new());
                self.slot_of
                    .insert(Cow::Owned(release.id.to_string()), slot);
                (slot, None)
            }
        };
        // The graph changes with a new release (it may close a cycle others
        // point into), its own edges or its being active; a cycle's words
        // and period change with a member's title and window.
        let cycles_change = old.as_ref().is_none_or(|o| {
            o.depends_on != release.depends_on
                || o.title != release.title
                || o.status.is_active() != release.status.is_active()
        }) || self.cycles.iter().any(|c| c.releases.contains(&release.id));
        let mut envs: BTreeSet<usize> = BTreeSet::new();
        envs.extend(
            old.as_ref()
                .and_then(|o| self.env_slot.get(&o.environment).copied()),
        );
        envs.extend(self.env_slot.get(&release.environment).copied());
        let windows: Vec<Interval> = old
            .iter()
            .map(Release::interval)
            .chain([release.interval()])
            .collect();
        let id = release.id.clone();
        self.releases[slot_index(slot)] = Some(Cow::Owned(release));
        self.index(slot);
        self.after_change(&id, envs, &windows, cycles_change);
    }

    /// Removes a release and re-checks what depended on it.
    pub fn remove_release(&mut self, id: &ReleaseId) -> Option<Release> {
        let slot = self.slot_of.remove(id.as_str())?;
        let old = self.take(slot)?;
        let cycles_change = !old.depends_on.is_empty() || self.dependents.contains_key(id.as_str());
        let envs = self
            .env_slot
            .get(&old.environment)
            .copied()
            .into_iter()
            .collect();
        self.after_change(id, envs, &[old.interval()], cycles_change);
        Some(old)
    }

    /// Empties a slot: out of every index and every result that involves it.
    fn take(&mut self, slot: Slot) -> Option<Release> {
        self.unindex(slot);
        let old = self
            .releases
            .get_mut(slot_index(slot))?
            .take()?
            .into_owned();
        self.set_own(slot, Vec::new());
        for key in self.pairs_of.remove(&slot).unwrap_or_default() {
            self.pairs.remove(&key);
            let other = if key.1 == slot { key.2 } else { key.1 };
            if let Some(keys) = self.pairs_of.get_mut(&other) {
                keys.retain(|k| *k != key);
            }
        }
        Some(old)
    }

    /// Re-checks what a change of release `id` can affect; `windows` are its
    /// windows before and after (where environment counts changed).
    fn after_change(
        &mut self,
        id: &ReleaseId,
        envs: BTreeSet<usize>,
        windows: &[Interval],
        cycles_change: bool,
    ) {
        if let Some(&slot) = self.slot_of.get(id.as_str()) {
            self.recheck_release(slot);
            self.recheck_pairs(slot);
        }
        let dependents: Vec<Slot> = self
            .dependents
            .get(id.as_str())
            .cloned()
            .unwrap_or_default();
        for d in dependents {
            self.recheck_release(d);
        }
        for env in envs {
            self.recheck_capacity_near(env, windows);
        }
        if cycles_change {
            self.recheck_cycles();
        }
    }

    fn index(&mut self, slot: Slot) {
        match self.releases.get(slot_index(slot)) {
            Some(Some(Cow::Borrowed(r))) => {
                let r: &'p Release = r;
                self.index_with(slot, r, Cow::Borrowed);
            }
            Some(Some(Cow::Owned(r))) => {
                let r = r.clone();
                self.index_with(slot, &r, |s| Cow::Owned(s.to_owned()));
            }
            _ => {}
        }
    }

    /// Adds a release to the indexes; `key` makes map keys from its strings
    /// (borrowed from the plan when it can, copied for edited releases).
    fn index_with<'r>(
        &mut self,
        slot: Slot,
        r: &'r Release,
        key: impl Fn(&'r str) -> Cow<'p, str>,
    ) {
        if let Some(g) = &mut self.by_start {
            g.insert(r, slot);
        }
        for dep in &r.depends_on {
            match self.dependents.get_mut(dep.as_str()) {
                Some(slots) => slots.push(slot),
                None => {
                    self.dependents.insert(key(dep.as_str()), vec![slot]);
                }
            }
        }
        if !r.status.is_active() {
            return;
        }
        let Some(&env) = self.env_slot.get(&r.environment) else {
            return;
        };
        self.env_members[env].insert(slot);
        for s in r.services.iter().collect::<BTreeSet<_>>() {
            match self.services[env].get_mut(s.as_str()) {
                Some(g) => g.insert(r, slot),
                None => self.services[env]
                    .entry(key(s.as_str()))
                    .or_default()
                    .insert(r, slot),
            }
        }
        if let Some(owner) = owner_of(r) {
            match self.owners.get_mut(owner) {
                Some(g) => g.insert(r, slot),
                None => self.owners.entry(key(owner)).or_default().insert(r, slot),
            }
        }
    }

    fn unindex(&mut self, slot: Slot) {
        let Some(Some(r)) = self.releases.get(slot_index(slot)) else {
            return;
        };
        let r = r.clone();
        if let Some(g) = &mut self.by_start {
            g.remove(&r, slot);
        }
        for dep in &r.depends_on {
            if let Some(slots) = self.dependents.get_mut(dep.as_str()) {
                slots.retain(|s| *s != slot);
                if slots.is_empty() {
                    self.dependents.remove(dep.as_str());
                }
            }
        }
        if !r.status.is_active() {
            return;
        }
        let Some(&env) = self.env_slot.get(&r.environment) else {
            return;
        };
        self.env_members[env].remove(&slot);
        for s in &r.services {
            if let Some(g) = self.services[env].get_mut(s.as_str()) {
                g.remove(&r, slot);
            }
        }
        if let Some(g) = owner_of(&r).and_then(|o| self.owners.get_mut(o)) {
            g.remove(&r, slot);
        }
    }

    fn when(&self, t: DateTime<Utc>) -> HumanTime {
        HumanTime(t, self.plan_zone)
    }

    fn env_name<'a>(&'a self, id: &'a EnvironmentId) -> &'a str {
        self.environments
            .get(id)
            .map_or(id.as_str(), |e| e.name.as_str())
    }

    /// The rules about one release alone (and the releases it depends on).
    fn recheck_release(&mut self, slot: Slot) {
        let conflicts = self.release_conflicts(slot);
        self.set_own(slot, conflicts);
    }

    /// Stores a release's own conflicts, keeping the counts.
    fn set_own(&mut self, slot: Slot, conflicts: Vec<Conflict>) {
        let Some(entry) = self.per_release.get_mut(slot_index(slot)) else {
            return;
        };
        for c in entry.iter() {
            self.own_counts[severity_index(c.severity)] -= 1;
        }
        for c in &conflicts {
            self.own_counts[severity_index(c.severity)] += 1;
        }
        *entry = conflicts;
    }

    /// How many conflicts there are of each severity: error, warning, info.
    /// Reads the kept counts and the shared conflicts, not every conflict.
    pub fn count_by_severity(&self) -> [usize; 3] {
        let mut counts = self.own_counts;
        for c in self
            .pairs
            .values()
            .chain(self.capacity.iter().flatten())
            .chain(self.cycles.iter())
        {
            counts[severity_index(c.severity)] += 1;
        }
        counts
    }
}
