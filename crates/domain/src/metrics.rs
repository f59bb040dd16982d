//! Delivery metrics (`relcal metrics`, docs/metrics.md): deployment
//! frequency, change failure rate, time to restore and lead time, over a
//! period, per environment and team, as the command-line contract defines
//! them.

use crate::ids::{EnvironmentId, ReleaseId, TeamId};
use crate::plan::{Plan, Release, ReleaseStatus};
use chrono::{DateTime, Duration, Utc};

/// What to measure.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MetricsQuery {
    /// Period start (inclusive).
    pub from: DateTime<Utc>,
    /// Period end (exclusive).
    pub to: DateTime<Utc>,
    /// Environments (empty: the production ones).
    pub environments: Vec<EnvironmentId>,
    /// Teams (empty: all).
    pub teams: Vec<TeamId>,
}

/// The four figures and what they were computed from.
#[derive(Debug, Clone, PartialEq)]
pub struct Metrics {
    /// The environments measured.
    pub environments: Vec<EnvironmentId>,
    /// Releases `done` or `rolled_back` whose end falls in the period.
    pub deployments: u32,
    /// Of which rolled back.
    pub rolled_back: u32,
    /// Deployments per week of the period.
    pub deployment_frequency_per_week: f64,
    /// Rolled back / deployments (`None` without deployments).
    pub change_failure_rate: Option<f64>,
    /// Median hours from a rollback's end to the end of the next done
    /// release in its environment sharing a service (`None` when none).
    pub time_to_restore_median_hours: Option<f64>,
    /// How many rollbacks were restored (the sample of the median).
    pub restored: u32,
    /// Median hours from entering the calendar to the end, of done
    /// deployments whose entry is known (`None` when none).
    pub lead_time_median_hours: Option<f64>,
    /// How many done deployments had a known entry.
    pub lead_time_samples: u32,
    /// The deployments, by end.
    pub deployed: Vec<ReleaseId>,
    /// The rolled-back ones among them.
    pub rolled_back_ids: Vec<ReleaseId>,
}

fn hours(d: Duration) -> f64 {
    d.num_milliseconds() as f64 / 3_600_000.0
}

/// The median of `values` (the mean of the middle two for an even count).
pub fn median(values: &mut [f64]) -> Option<f64> {
    if values.is_empty() {
        return None;
    }
    values.sort_by(f64::total_cmp);
    let n = values.len();
    Some(if n % 2 == 1 {
        values[n / 2]
    } else {
        (values[n / 2 - 1] + values[n / 2]) / 2.0
    })
}

/// The environments `q` measures (the production ones when it names none)
/// and its deployments: releases `done` or `rolled_back` there, of its teams,
/// whose end falls in the period.
pub fn deployments_of<'p>(
    plan: &'p Plan,
    q: &MetricsQuery,
) -> (Vec<EnvironmentId>, Vec<&'p Release>) {
    let environments: Vec<EnvironmentId> = if q.environments.is_empty() {
        plan.environments
            .iter()
            .filter(|e| e.production)
            .map(|e| e.id.clone())
            .collect()
    } else {
        q.environments.clone()
    };
    let deployed = plan
        .releases
        .iter()
        .filter(|r| matches!(r.status, ReleaseStatus::Done | ReleaseStatus::RolledBack))
        .filter(|r| environments.contains(&r.environment))
        .filter(|r| q.teams.is_empty() || q.teams.contains(&r.team))
        .filter(|r| r.end.utc >= q.from && r.end.utc < q.to)
        .collect();
    (environments, deployed)
}

/// The metrics of `plan` for `q`; `entered` says when a release entered the
/// calendar (from the audit trail), where known.
pub fn metrics(
    plan: &Plan,
    q: &MetricsQuery,
    entered: &dyn Fn(&ReleaseId) -> Option<DateTime<Utc>>,
) -> Metrics {
    let (environments, deployed) = deployments_of(plan, q);
    let deployments = deployed.len() as u32;
    let mut by_end = deployed.clone();
    by_end.sort_by_key(|r| (r.end.utc, r.id.clone()));
    let rolled: Vec<&Release> = deployed
        .iter()
        .copied()
        .filter(|r| r.status == ReleaseStatus::RolledBack)
        .collect();
    let weeks =
        (q.to - q.from).num_milliseconds() as f64 / Duration::weeks(1).num_milliseconds() as f64;
    let mut restore: Vec<f64> = rolled
        .iter()
        .filter_map(|rb| {
            plan.releases
                .iter()
                .filter(|d| {
                    d.status == ReleaseStatus::Done
                        && d.environment == rb.environment
                        && d.end.utc > rb.end.utc
                        && d.services.iter().any(|s| rb.services.contains(s))
                })
                .map(|d| d.end.utc)
                .min()
                .map(|next| hours(next - rb.end.utc))
        })
        .collect();
    let mut lead: Vec<f64> = deployed
        .iter()
        .filter(|r| r.status == ReleaseStatus::Done)
        .filter_map(|r| entered(&r.id).map(|at| hours(r.end.utc - at)))
        .collect();
    Metrics {
        environments,
        deployments,
        rolled_back: rolled.len() as u32,
        deployment_frequency_per_week: if weeks > 0.0 {
            f64::from(deployments) / weeks
        } else {
            0.0
        },
        change_failure_rate: (deployments > 0)
            .then(|| rolled.len() as f64 / f64::from(deployments)),
        restored: restore.len() as u32,
        time_to_restore_median_hours: median(&mut restore),
        lead_time_samples: lead.len() as u32,
        lead_time_median_hours: median(&mut lead),
        rolled_back_ids: by_end
            .iter()
            .filter(|r| r.status == ReleaseStatus::RolledBack)
            .map(|r| r.id.clone())
            .collect(),
        deployed: by_end.into_iter().map(|r| r.id.clone()).collect(),
    }
}

/// The deploy rush: deployments in the 48 hours before a freeze starts,
/// against the period's rate.
#[derive(Debug, Clone, PartialEq)]
pub struct DeployRush {
    /// Starts of hard freeze occurrences in the period that concern the
    /// environments measured.
    pub freeze_starts: u32,
    /// Deployments (of the releases such a freeze concerns) that ended in the
    /// 48 hours before one of those starts.
    pub deployments: u32,
    /// Those per day of the 48-hour windows.
    pub per_day: Option<f64>,
    /// Deployments per day over the whole period.
    pub baseline_per_day: f64,
    /// `per_day / baseline_per_day` (null when either is unknown or zero).
    pub ratio: Option<f64>,
    /// The deployments counted.
    pub releases: Vec<ReleaseId>,
}

/// Change failures in the week after a freeze ends, against the period's.
#[derive(Debug, Clone, PartialEq)]
pub struct AfterFreeze {
    /// Ends of hard freeze occurrences in the period that concern the
    /// environments measured.
    pub freeze_ends: u32,
    /// Deployments that ended in the seven days after one of those ends.
    pub deployments: u32,
    /// Of those, the share rolled back (null without any).
    pub change_failure_rate: Option<f64>,
    /// The period's change failure rate (null without deployments).
    pub baseline_change_failure_rate: Option<f64>,
    /// The deployments counted.
    pub releases: Vec<ReleaseId>,
}

/// The delay freezes added: releases moved out of a hard freeze.
#[derive(Debug, Clone, PartialEq)]
pub struct FreezeDelay {
    /// Deployments of the period moved from a window that met a hard freeze
    /// concerning them to one that does not.
    pub releases: u32,
    /// The median of the start each had before such a move to the start it got, in hours.
    pub median_hours: Option<f64>,
    /// Their sum, in hours.
    pub total_hours: f64,
}

/// What freezes did to delivery in the period.
#[derive(Debug, Clone, PartialEq)]
pub struct FreezeEffects {
    /// Deployments crowding in before freezes.
    pub deploy_rush: DeployRush,
    /// Failures after freezes end.
    pub after_freeze: AfterFreeze,
    /// Time lost to moves out of freezes.
    pub delay: FreezeDelay,
}

/// A release's window before and after one move (from the audit trail).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Move {
    /// The release.
    pub release: ReleaseId,
    /// Its window before.
    pub before: crate::Interval,
    /// Its window after.
    pub after: crate::Interval,
}

/// The freeze-aware figures of `plan` for `q` (docs/metrics.md), with the
/// moves the audit trail recorded (none for a plan file).
pub fn freeze_effects(plan: &Plan, q: &MetricsQuery, moves: &[Move]) -> FreezeEffects {
    use crate::plan::FreezeSeverity;
    let (environments, deployed) = deployments_of(plan, q);
    let period = crate::Interval {
        start: q.from,
        end: q.to,
    };
    let hard: Vec<&crate::Freeze> = plan
        .freezes
        .iter()
        .filter(|f| f.severity == FreezeSeverity::Hard)
        .filter(|f| {
            f.scope.environments.is_empty()
                || f.scope
                    .environments
                    .iter()
                    .any(|e| environments.contains(e))
        })
        .collect();
    // Occurrences around the period (a start or end inside it counts).
    let around = crate::Interval {
        start: q.from - Duration::days(400),
        end: q.to + Duration::days(1),
    };
    let occurrences: Vec<(&crate::Freeze, crate::Interval)> = hard
        .iter()
        .flat_map(|f| {
            f.periods_between(plan.timezone, around, 20_000)
                .into_iter()
                .map(move |p| (*f, p))
        })
        .collect();
    let days =
        (q.to - q.from).num_milliseconds() as f64 / Duration::days(1).num_milliseconds() as f64;
    let baseline_per_day = if days > 0.0 {
        deployed.len() as f64 / days
    } else {
        0.0
    };

    // Occurrence starts and ends inside the period, sorted, so each
    // deployment finds the ones near its end by binary search.
    let mut starts: Vec<(DateTime<Utc>, &crate::Freeze)> = occurrences
        .iter()
        .filter(|(_, p)| p.start >= period.start && p.start < period.end)
        .map(|(f, p)| (p.start, *f))
        .collect();
    starts.sort_by_key(|(t, f)| (*t, f.id.clone()));
    starts.dedup_by(|a, b| a.0 == b.0 && a.1.id == b.1.id);
    let mut ends: Vec<(DateTime<Utc>, &crate::Freeze)> = occurrences
        .iter()
        .filter(|(_, p)| p.end >= period.start && p.end < period.end)
        .map(|(f, p)| (p.end, *f))
        .collect();
    ends.sort_by_key(|(t, f)| (*t, f.id.clone()));
    ends.dedup_by(|a, b| a.0 == b.0 && a.1.id == b.1.id);
    // Any (time, freeze) with time in (lo, hi] whose scope matches `r`.
    let near = |list: &[(DateTime<Utc>, &crate::Freeze)],
                r: &Release,
                lo: DateTime<Utc>,
                hi: DateTime<Utc>| {
        let first = list.partition_point(|(t, _)| *t <= lo);
        list[first..]
            .iter()
            .take_while(|(t, _)| *t <= hi)
            .any(|(_, f)| f.scope.matches(r))
    };
    // A start s with end in [s - 48 h, s): s in (end, end + 48 h].
    let rushed: Vec<&Release> = deployed
        .iter()
        .copied()
        .filter(|r| near(&starts, r, r.end.utc, r.end.utc + Duration::hours(48)))
        .collect();
    let per_day = (!starts.is_empty()).then(|| rushed.len() as f64 / (starts.len() as f64 * 2.0));
    // An end e with end in [e, e + 7 d): e in (end - 7 d, end].
    let after: Vec<&Release> = deployed
        .iter()
        .copied()
        .filter(|r| near(&ends, r, r.end.utc - Duration::days(7), r.end.utc))
        .collect();
    let failed = |rs: &[&Release]| {
        (!rs.is_empty()).then(|| {
            rs.iter()
                .filter(|r| r.status == ReleaseStatus::RolledBack)
                .count() as f64
                / rs.len() as f64
        })
    };

    // Moves out of a freeze: the earlier window met a hard freeze that
    // concerns the release, the later one meets none of them.
    let mut delays: Vec<f64> = Vec::new();
    for r in &deployed {
        let blocked = |w: &crate::Interval| {
            hard.iter()
                .any(|f| f.scope.matches(r) && !f.periods_between(plan.timezone, *w, 1).is_empty())
        };
        // From the start it had when first seen in a freeze to the start it
        // got when a move took it out (moves in between included).
        let mut delay = 0.0;
        let mut any = false;
        let mut had: Option<DateTime<Utc>> = None;
        for m in moves.iter().filter(|m| m.release == r.id) {
            if blocked(&m.before) {
                let from = *had.get_or_insert(m.before.start);
                if !blocked(&m.after) {
                    any = true;
                    delay += hours(m.after.start - from).max(0.0);
                    had = None;
                }
            }
        }
        if any {
            delays.push(delay);
        }
    }
    let total_hours = delays.iter().sum();
    FreezeEffects {
        deploy_rush: DeployRush {
            freeze_starts: starts.len() as u32,
            deployments: rushed.len() as u32,
            per_day,
            baseline_per_day,
            ratio: per_day
                .filter(|_| baseline_per_day > 0.0)
                .map(|p| p / baseline_per_day),
            releases: rushed.iter().map(|r| r.id.clone()).collect(),
        },
        after_freeze: AfterFreeze {
            freeze_ends: ends.len() as u32,
            deployments: after.len() as u32,
            change_failure_rate: failed(&after),
            baseline_change_failure_rate: failed(&deployed),
            releases: after.iter().map(|r| r.id.clone()).collect(),
        },
        delay: FreezeDelay {
            releases: delays.len() as u32,
            median_hours: median(&mut delays),
            total_hours,
        },
    }
}
