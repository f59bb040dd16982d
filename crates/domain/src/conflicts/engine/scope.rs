//! Freeze scopes as bit sets, and the timelines of freezes and deploy
//! windows expanded over the calendar's span.

use super::TeamInfo;
use crate::conflicts::timeline::Timeline;
use crate::ids::TeamId;
use crate::plan::{Freeze, FreezeSchedule, Plan};
use crate::time::Interval;
// FxHash: the keys are ids from a validated plan, and SipHash was a twentieth of a check.
use rustc_hash::FxHashMap as HashMap;

/// A freeze's team and service lists as bit sets over the plan's numbered
/// teams and services (`None`: the list is empty and matches anything), so
/// matching a release is a few bit tests instead of string comparisons.
pub(super) struct ScopeBits {
    pub(super) teams: Option<Vec<u64>>,
    pub(super) services: Option<Vec<u64>>,
}

impl ScopeBits {
    pub(super) fn of<'a>(
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
    pub(super) fn matches(&self, team: Option<usize>, services: &[usize]) -> bool {
        self.teams
            .as_ref()
            .is_none_or(|bits| team.is_some_and(|t| Self::has(bits, t)))
            && self
                .services
                .as_ref()
                .is_none_or(|bits| services.iter().any(|&s| Self::has(bits, s)))
    }
}

pub(super) type Timelines<'p> = (
    HashMap<&'p TeamId, TeamInfo<'p>>,
    Vec<(&'p Freeze, Timeline)>,
);

/// The teams' allowed windows and the freezes, expanded over `horizon`.
pub(super) fn expand_timelines(plan: &Plan, horizon: Interval) -> Timelines<'_> {
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
