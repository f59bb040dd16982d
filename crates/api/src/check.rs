//! Checking a calendar for conflicts.

use crate::error::ApiError;
use crate::plan::stored_plan;
use chrono::{DateTime, Utc};
use relcal_domain::{Checker, Conflict, ConflictSeverity, Plan};
use relcal_store::Store;
use serde::Serialize;

/// One conflict as the CLI's JSON and the UI show it (conflict-rules.md).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct ConflictReport {
    /// Stable code, e.g. `freeze.hard`.
    pub code: String,
    /// `error`, `warning` or `info`.
    pub severity: String,
    /// Release ids, sorted.
    pub releases: Vec<String>,
    /// Freeze id, or null.
    pub freeze: Option<String>,
    /// Period start, RFC 3339 UTC.
    pub start: String,
    /// Period end, RFC 3339 UTC.
    pub end: String,
    /// For a person.
    pub message: String,
}

/// Counts by severity.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Default)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct CheckSummary {
    /// Error-severity conflicts.
    pub errors: u32,
    /// Warnings.
    pub warnings: u32,
    /// Infos.
    pub infos: u32,
}

/// Every conflict, sorted by start, code, releases.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct CheckReport {
    /// The conflicts.
    pub conflicts: Vec<ConflictReport>,
    /// Counts.
    pub summary: CheckSummary,
}

use relcal_domain::utc_text as utc;

impl From<Conflict> for ConflictReport {
    fn from(c: Conflict) -> Self {
        Self {
            code: c.code.to_owned(),
            severity: c.severity.as_str().to_owned(),
            releases: c.releases.iter().map(|r| r.as_str().to_owned()).collect(),
            freeze: c.freeze.map(|f| f.as_str().to_owned()),
            start: utc(c.period.start),
            end: utc(c.period.end),
            message: c.message,
        }
    }
}

impl CheckSummary {
    /// Counts one more conflict of `severity`.
    pub(crate) fn count(&mut self, severity: ConflictSeverity) {
        match severity {
            ConflictSeverity::Error => self.errors += 1,
            ConflictSeverity::Warning => self.warnings += 1,
            ConflictSeverity::Info => self.infos += 1,
        }
    }
}

/// The checked calendar `plan` at `now`: for a front door that prints its
/// conflicts ([`Checker::sorted`]) without building each report's strings.
pub fn check_conflicts(plan: &Plan, now: DateTime<Utc>) -> Checker<'_> {
    Checker::new(plan, now)
}

/// The counts of `conflicts` by severity.
pub fn summary_of<'c>(conflicts: impl IntoIterator<Item = &'c Conflict>) -> CheckSummary {
    let mut summary = CheckSummary::default();
    for c in conflicts {
        summary.count(c.severity);
    }
    summary
}

/// Checks `plan` at `now`.
pub fn check_plan(plan: &Plan, now: DateTime<Utc>) -> CheckReport {
    let conflicts = relcal_domain::check(plan, now);
    let summary = summary_of(&conflicts);
    CheckReport {
        conflicts: conflicts.into_iter().map(ConflictReport::from).collect(),
        summary,
    }
}

/// How far ahead daylight-saving warnings look (`relcal check --dst`).
pub const DST_HORIZON_DAYS: i64 = 366;

/// The daylight-saving warnings of `plan` for the year from `now`
/// (docs/dst.md), as `info` entries of a check report.
pub fn dst_reports(plan: &Plan, now: DateTime<Utc>) -> Vec<ConflictReport> {
    relcal_domain::dst_warnings(plan, now, now + chrono::Duration::days(DST_HORIZON_DAYS))
        .into_iter()
        .map(|w| ConflictReport {
            code: w.code.to_owned(),
            severity: "info".to_owned(),
            releases: Vec::new(),
            freeze: plan
                .freezes
                .iter()
                .any(|f| f.id.as_str() == w.object)
                .then(|| w.object.clone()),
            start: utc(w.at),
            end: utc(w.at),
            message: w.message,
        })
        .collect()
}

/// `check_plan`, with the daylight-saving warnings among the infos, in the
/// report's order (by start, then code).
pub fn check_plan_with_dst(plan: &Plan, now: DateTime<Utc>) -> CheckReport {
    let mut report = check_plan(plan, now);
    let dst = dst_reports(plan, now);
    report.summary.infos += dst.len() as u32;
    report.conflicts.extend(dst);
    report
        .conflicts
        .sort_by(|a, b| (&a.start, &a.code, &a.releases).cmp(&(&b.start, &b.code, &b.releases)));
    report
}

/// Checks the calendar stored in `store` at `now`.
pub fn check_store(store: &Store, now: DateTime<Utc>) -> Result<CheckReport, ApiError> {
    Ok(check_plan(&stored_plan(store)?, now))
}

/// A conflict as the app's conflicts panel shows it: the report plus what the
/// panel filters on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct ConflictItem {
    /// The conflict.
    pub conflict: ConflictReport,
    /// Ids of the teams of the releases involved.
    pub teams: Vec<String>,
    /// Ids of the environments of the releases involved.
    pub environments: Vec<String>,
}

/// A release's conflicts as its calendar entry shows them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct ConflictBadge {
    /// Release id.
    pub release: String,
    /// How many conflicts involve it.
    pub count: u32,
    /// The worst of their severities: `error`, `warning` or `info`.
    pub severity: String,
}

/// The conflicts of the stored calendar, for the app: its badges, its
/// panel's list and its counts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct ConflictsView {
    /// When the check ran, RFC 3339 UTC (readiness rules depend on it).
    pub checked_at: String,
    /// The conflicts asked for (all, or those a view shows; none when only
    /// badges were asked for), sorted by start, code, releases.
    pub items: Vec<ConflictItem>,
    /// One per release with conflicts, by release id: of every release, or
    /// with a range of those the view shows (counting all their conflicts).
    pub badges: Vec<ConflictBadge>,
    /// Counts over the whole calendar.
    pub summary: CheckSummary,
    /// While the calendar is being opened: where that is (the rest is empty).
    pub opening: Option<crate::OpenProgress>,
}

/// A conflict for the panel, with the teams and environments of the
/// releases involved (found by `release`).
pub(crate) fn conflict_item<'r>(
    conflict: Conflict,
    release: impl Fn(&str) -> Option<&'r relcal_domain::Release>,
) -> ConflictItem {
    let involved: Vec<&relcal_domain::Release> = conflict
        .releases
        .iter()
        .filter_map(|id| release(id.as_str()))
        .collect();
    let mut teams: Vec<String> = involved
        .iter()
        .map(|r| r.team.as_str().to_owned())
        .collect();
    let mut environments: Vec<String> = involved
        .iter()
        .map(|r| r.environment.as_str().to_owned())
        .collect();
    teams.sort();
    teams.dedup();
    environments.sort();
    environments.dedup();
    ConflictItem {
        conflict: ConflictReport::from(conflict),
        teams,
        environments,
    }
}

/// Badges for the releases involved in `conflicts`, by release id.
pub(crate) fn badges_of<'c>(conflicts: impl Iterator<Item = &'c Conflict>) -> Vec<ConflictBadge> {
    // FxHash: release ids from a validated calendar, thousands per view.
    let mut by_release: rustc_hash::FxHashMap<&str, (u32, ConflictSeverity)> = Default::default();
    for c in conflicts {
        for id in &c.releases {
            let entry = by_release.entry(id.as_str()).or_insert((0, c.severity));
            entry.0 += 1;
            entry.1 = entry.1.worst(c.severity);
        }
    }
    let mut by_release: Vec<(&str, (u32, ConflictSeverity))> = by_release.into_iter().collect();
    by_release.sort_unstable_by_key(|(release, _)| *release);
    by_release
        .into_iter()
        .map(|(release, (count, severity))| ConflictBadge::new(release, count, severity))
        .collect()
}

impl ConflictBadge {
    /// The badge of `release` with `count` conflicts, the worst `severity`.
    pub(crate) fn new(release: &str, count: impl TryInto<u32>, severity: ConflictSeverity) -> Self {
        Self {
            release: release.to_owned(),
            count: count.try_into().unwrap_or(u32::MAX),
            severity: severity.as_str().to_owned(),
        }
    }
}

impl ConflictsView {
    /// A view with nothing in it yet: an empty calendar, or one still being
    /// opened (`opening`).
    pub(crate) fn empty(now: DateTime<Utc>, opening: Option<crate::OpenProgress>) -> Self {
        Self {
            checked_at: utc(now),
            items: vec![],
            badges: vec![],
            summary: CheckSummary::default(),
            opening,
        }
    }

    /// [`ConflictsView::empty`] for a calendar being opened, for a front
    /// door that answers while it opens.
    pub fn opening(now: DateTime<Utc>, progress: crate::OpenProgress) -> Self {
        Self::empty(now, Some(progress))
    }
}

/// Checks the stored calendar at `now` for the app's panel and badges. An
/// empty database has no conflicts.
pub fn conflicts_view(store: &Store, now: DateTime<Utc>) -> Result<ConflictsView, ApiError> {
    let Some(plan) = store.load_plan()? else {
        return Ok(ConflictsView::empty(now, None));
    };
    let conflicts = relcal_domain::check(&plan, now);
    let summary = summary_of(&conflicts);
    let badges = badges_of(conflicts.iter());
    let by_id: std::collections::HashMap<&str, &relcal_domain::Release> =
        plan.releases.iter().map(|r| (r.id.as_str(), r)).collect();
    let items = conflicts
        .into_iter()
        .map(|c| conflict_item(c, |id| by_id.get(id).copied()))
        .collect();
    Ok(ConflictsView {
        checked_at: utc(now),
        items,
        badges,
        summary,
        opening: None,
    })
}
