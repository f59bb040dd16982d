//! The conflict engine (`docs/conflict-rules.md`): a pure function of a
//! plan and the time `now`, plus a [`Checker`] that re-checks only what one
//! release edit can affect.
//!
//! How it stays fast:
//! - Freezes and allowed windows are expanded once over the span of the
//!   releases (`timeline.rs`); each release then finds its first overlapping
//!   occurrence by binary search.
//! - Pairwise rules (service overlap, double-booked owners) keep each group
//!   (environment × service, owner) sorted by start and look only at the
//!   releases that can overlap.
//! - Environment capacity is one linear sweep over start and end events.
//! - Dependency cycles are Tarjan's strongly connected components.

mod engine;
mod timeline;

pub use engine::Checker;

use crate::ids::{FreezeId, ReleaseId};
use crate::plan::Plan;
use crate::time::Interval;
use chrono::{DateTime, Utc};
use chrono_tz::Tz;

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
    /// Every severity, from worst to least.
    pub const ALL: [ConflictSeverity; 3] = [Self::Error, Self::Warning, Self::Info];

    /// The spec's name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Error => "error",
            Self::Warning => "warning",
            Self::Info => "info",
        }
    }

    /// The worse of two severities (an error is worse than a warning, a
    /// warning than an info).
    pub fn worst(self, other: Self) -> Self {
        // Declared from worst to least.
        if (other as u8) < (self as u8) {
            other
        } else {
            self
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

/// The spec's order: by start, then code, then releases.
pub fn sort_conflicts(conflicts: &mut [Conflict]) {
    conflicts.sort_by(conflict_order);
}

/// The spec's order between two conflicts (see [`sort_conflicts`]).
pub fn conflict_order(a: &Conflict, b: &Conflict) -> std::cmp::Ordering {
    (a.period.start, a.code, &a.releases, &a.freeze, a.period.end).cmp(&(
        b.period.start,
        b.code,
        &b.releases,
        &b.freeze,
        b.period.end,
    ))
}

/// `20 Dec 2026 00:00 EST`: a time as people read it, in `zone`.
pub fn human_time(t: DateTime<Utc>, zone: Tz) -> String {
    HumanTime(t, zone).to_string()
}

/// [`human_time`] written straight into a message (no string of its own:
/// a check writes two per conflict).
#[derive(Debug, Clone, Copy)]
pub(crate) struct HumanTime(pub DateTime<Utc>, pub Tz);

impl std::fmt::Display for HumanTime {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        use chrono::{Datelike, Timelike};
        // `format("%-d %b %Y %H:%M %Z")` by hand: parsing the format string
        // each time was a tenth of `relcal check`.
        const MONTHS: [&str; 12] = [
            "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
        ];
        let local = self.0.with_timezone(&self.1);
        write!(
            f,
            "{} {} {} {:02}:{:02} {}",
            local.day(),
            MONTHS[local.month0() as usize % 12],
            local.year(),
            local.hour(),
            local.minute(),
            local.offset()
        )
    }
}

/// Every conflict in `plan` at `now`, sorted by start, then code, then releases.
pub fn check(plan: &Plan, now: DateTime<Utc>) -> Vec<Conflict> {
    Checker::new(plan, now).into_conflicts()
}

#[cfg(test)]
mod human_time_tests {
    use super::*;

    #[test]
    fn human_time_reads_like_strftime() {
        for (t, zone) in [
            ("2026-12-20T05:00:00Z", chrono_tz::America::New_York),
            ("2026-07-01T23:59:00Z", chrono_tz::Europe::Berlin),
            ("2026-01-05T09:05:00Z", Tz::UTC),
            ("2026-03-29T01:30:00Z", chrono_tz::Asia::Kolkata),
        ] {
            let t = DateTime::parse_from_rfc3339(t).unwrap_or_default().to_utc();
            assert_eq!(
                human_time(t, zone),
                t.with_timezone(&zone)
                    .format("%-d %b %Y %H:%M %Z")
                    .to_string()
            );
        }
    }
}
