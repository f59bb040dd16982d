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

/// The metrics of `plan` for `q`; `entered` says when a release entered the
/// calendar (from the audit trail), where known.
pub fn metrics(
    plan: &Plan,
    q: &MetricsQuery,
    entered: &dyn Fn(&ReleaseId) -> Option<DateTime<Utc>>,
) -> Metrics {
    let environments: Vec<EnvironmentId> = if q.environments.is_empty() {
        plan.environments
            .iter()
            .filter(|e| e.production)
            .map(|e| e.id.clone())
            .collect()
    } else {
        q.environments.clone()
    };
    let deployed: Vec<&Release> = plan
        .releases
        .iter()
        .filter(|r| matches!(r.status, ReleaseStatus::Done | ReleaseStatus::RolledBack))
        .filter(|r| environments.contains(&r.environment))
        .filter(|r| q.teams.is_empty() || q.teams.contains(&r.team))
        .filter(|r| r.end.utc >= q.from && r.end.utc < q.to)
        .collect();
    let deployments = deployed.len() as u32;
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
    }
}
