//! The conflict checker: builds indexes once, then answers a full check or
//! re-checks only what one release edit can affect.
//!
//! Releases live in numbered slots; every index (groups, environment
//! members, pairs, per-release results) holds slot numbers, so building the
//! indexes allocates little and the plan itself is borrowed, not copied.

use super::timeline::{horizon_of, Timeline};
use super::{conflict_order, sort_conflicts, Conflict, ConflictSeverity, HumanTime};
use crate::ids::{EnvironmentId, ReleaseId, TeamId};
use crate::plan::{
    Environment, Freeze, FreezeSchedule, FreezeSeverity, Plan, Release, ReleaseStatus,
};
use crate::time::Interval;
use chrono::{DateTime, Duration, Utc};
use chrono_tz::Tz;
use std::borrow::Cow;
// FxHash: the keys are ids from a validated plan, and SipHash was a twentieth of a check.
use rustc_hash::{FxHashMap as HashMap, FxHashSet as HashSet};
use std::collections::BTreeSet;

use std::fmt::Write as _;
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

type Slot = u32;

/// Releases of one group (an environment's service, an owner), by start.
#[derive(Debug, Default, Clone)]
struct Group {
    entries: Vec<(DateTime<Utc>, Slot)>,
    /// An upper bound of the length of any member, so a search knows how far back to look.
    max_len: Duration,
}

impl Group {
    fn insert(&mut self, r: &Release, slot: Slot) {
        let key = (r.start.utc, slot);
        let at = self.entries.partition_point(|e| *e < key);
        self.entries.insert(at, key);
        self.max_len = self.max_len.max(r.end.utc - r.start.utc);
    }

    fn remove(&mut self, r: &Release, slot: Slot) {
        let key = (r.start.utc, slot);
        let at = self.entries.partition_point(|e| *e < key);
        if self.entries.get(at) == Some(&key) {
            self.entries.remove(at);
        }
    }

    /// Slots of the members starting in `[from, to]`.
    fn starting_in(
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
    fn candidates(&self, window: Interval) -> impl Iterator<Item = Slot> + '_ {
        let from = window.start - self.max_len;
        let first = self.entries.partition_point(|(start, _)| *start < from);
        self.entries[first..]
            .iter()
            .take_while(move |(start, _)| *start < window.end)
            .map(|&(_, slot)| slot)
    }
}

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

/// A freeze's team and service lists as bit sets over the plan's numbered
/// teams and services (`None`: the list is empty and matches anything), so
/// matching a release is a few bit tests instead of string comparisons.
struct ScopeBits {
    teams: Option<Vec<u64>>,
    services: Option<Vec<u64>>,
}

impl ScopeBits {
    fn of<'a>(
        ids: impl IntoIterator<Item = &'a str>,
        numbers: &HashMap<&str, usize>,
    ) -> Option<Vec<u64>> {
        let mut bits: Vec<u64> = vec![0; numbers.len().div_ceil(64)];
        let mut any = false;
        for id in ids {
            any = true;
            if let Some(&n) = numbers.get(id) {
                bits[n / 64] |= 1 << (n % 64);
            }
        }
        any.then_some(bits)
    }

    fn has(bits: &[u64], n: usize) -> bool {
        bits.get(n / 64).is_some_and(|w| w & (1 << (n % 64)) != 0)
    }

    /// Scope::matches for a release in one of the freeze's environments.
    fn matches(&self, team: Option<usize>, services: &[usize]) -> bool {
        self.teams
            .as_ref()
            .is_none_or(|bits| team.is_some_and(|t| Self::has(bits, t)))
            && self
                .services
                .as_ref()
                .is_none_or(|bits| services.iter().any(|&s| Self::has(bits, s)))
    }
}

type Timelines<'p> = (
    HashMap<&'p TeamId, TeamInfo<'p>>,
    Vec<(&'p Freeze, Timeline)>,
);

/// The teams' allowed windows and the freezes, expanded over `horizon`.
fn expand_timelines(plan: &Plan, horizon: Interval) -> Timelines<'_> {
    let plan_zone = plan.timezone;
    let teams = plan
        .teams
        .iter()
        .map(|t| {
            let zone = t.timezone.unwrap_or(plan_zone);
            let windows = t
                .allowed_windows
                .iter()
                .map(|w| Timeline::recurring(&w.recurrence, w.timezone.unwrap_or(zone), horizon))
                .collect();
            (
                &t.id,
                TeamInfo {
                    name: &t.name,
                    zone,
                    windows,
                },
            )
        })
        .collect();
    let freezes = plan
        .freezes
        .iter()
        .map(|f| {
            let timeline = match &f.schedule {
                FreezeSchedule::Once { start, end } => Timeline::once(Interval {
                    start: start.utc,
                    end: end.utc,
                }),
                FreezeSchedule::Recurring(r) => Timeline::recurring(r, f.zone(plan_zone), horizon),
            };
            (f, timeline)
        })
        .collect();
    (teams, freezes)
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
    fn shown_in(&self, range: Interval) -> HashSet<Slot> {
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
    fn shared_near(&self, reach: Interval) -> impl Iterator<Item = &Conflict> {
        self.capacity
            .iter()
            .flatten()
            .chain(self.cycles.iter())
            .filter(move |c| c.period.start < reach.end && reach.start < c.period.end)
    }

    /// Every conflict that involves one of the releases in `shown`,
    /// unsorted: read from those releases' own results and what links to
    /// them, not from the whole calendar.
    fn involving(&self, shown: &HashSet<Slot>) -> Vec<&Conflict> {
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

    /// The conflicts of one release on its own (freezes, dependencies,
    /// windows, readiness): read-only, so a full check runs them in parallel.
    fn release_conflicts(&self, slot: Slot) -> Vec<Conflict> {
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
    fn recheck_all_releases_and_pairs(&mut self) {
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
            std::thread::scope(|scope| {
                let handles: Vec<_> = (0..threads).map(|t| scope.spawn(move || part(t))).collect();
                handles
                    .into_iter()
                    .map(|h| h.join().unwrap_or_else(|e| std::panic::resume_unwind(e)))
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

    fn freeze_rules(&self, r: &Release, out: &mut Vec<Conflict>) {
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
            let (code, severity) = match (exception.is_some(), f.severity) {
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
            if let Some(o) = exception {
                let _ = write!(message, "; exception approved by {}: {}", o.by, o.reason);
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

    fn window_rule(&self, r: &Release, out: &mut Vec<Conflict>) {
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

    /// Service overlaps and double-booked owners between `slot` and the rest.
    fn recheck_pairs(&mut self, slot: Slot) {
        let found = self.pair_conflicts(slot, false);
        self.insert_pairs(found);
    }

    /// The pair conflicts of `slot` (read-only, so a full check runs them in
    /// parallel). With `later_only`, only pairs with a higher slot: a full
    /// check visits every slot, so each pair is found (and worded) once.
    fn pair_conflicts(&self, slot: Slot, later_only: bool) -> Vec<(PairKey, Conflict)> {
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

    fn insert_pairs(&mut self, found: Vec<(PairKey, Conflict)>) {
        for (key, conflict) in found {
            if self.pairs.insert(key, conflict).is_none() {
                self.pairs_of.entry(key.1).or_default().push(key);
                self.pairs_of.entry(key.2).or_default().push(key);
            }
        }
    }

    /// The environment at `env` and its limit, if it has one.
    fn capacity_limit(&self, env: usize) -> Option<(u32, &'p Environment)> {
        self.env_ids
            .get(env)
            .and_then(|id| self.environments.get(*id))
            .and_then(|e| e.max_concurrent.map(|m| (m, *e)))
    }

    /// Maximal periods in which more active releases run in an environment than it allows.
    fn recheck_capacity(&mut self, env: usize) {
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
    fn recheck_capacity_near(&mut self, env: usize, windows: &[Interval]) {
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
    fn capacity_conflicts(
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
    fn recheck_cycles(&mut self) {
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
fn ordered<'a>(x: &'a Release, y: &'a Release) -> (&'a Release, &'a Release) {
    if (x.start.utc, &x.id) <= (y.start.utc, &y.id) {
        (x, y)
    } else {
        (y, x)
    }
}

/// A conflict between two overlapping releases, keyed by its code and slots.
/// `message` gets the pair in stable order and the period they share.
fn pair_conflict(
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

fn intersection(a: &Release, b: &Release) -> Interval {
    Interval {
        start: a.start.utc.max(b.start.utc),
        end: a.end.utc.min(b.end.utc),
    }
}
