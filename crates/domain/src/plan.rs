//! The validated calendar. Only [`crate::parse_plan`] makes a [`Plan`], so
//! every id reference, zone, time, duration and rule in it is known good.

use crate::ids::{EnvironmentId, FreezeId, ReleaseId, ServiceId, TeamId};
use crate::recurrence::Recurrence;
use crate::time::{Interval, PlanTime};
use chrono_tz::Tz;

/// A whole release calendar.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Plan {
    /// Zone for local times of objects that have none of their own.
    pub timezone: Tz,
    /// Teams.
    pub teams: Vec<Team>,
    /// Services.
    pub services: Vec<Service>,
    /// Environments.
    pub environments: Vec<Environment>,
    /// Freezes.
    pub freezes: Vec<Freeze>,
    /// Releases.
    pub releases: Vec<Release>,
}

/// A team.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Team {
    /// Unique id.
    pub id: TeamId,
    /// Display name.
    pub name: String,
    /// Home zone.
    pub timezone: Option<Tz>,
    /// When the team may deploy. Empty: any time.
    pub allowed_windows: Vec<AllowedWindow>,
}

/// One recurring window in which a team may deploy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AllowedWindow {
    /// The window's own zone, if written.
    pub timezone: Option<Tz>,
    /// When it recurs.
    pub recurrence: Recurrence,
}

/// A deployable service.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Service {
    /// Unique id.
    pub id: ServiceId,
    /// The owning team.
    pub team: TeamId,
    /// Runtime dependencies.
    pub depends_on: Vec<ServiceId>,
}

/// A deployment target such as staging or production.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Environment {
    /// Unique id.
    pub id: EnvironmentId,
    /// Display name.
    pub name: String,
    /// Production environments need rollback plans.
    pub production: bool,
    /// Most releases that may run at once.
    pub max_concurrent: Option<u32>,
    /// Distinct approvers a release needs.
    pub required_approvals: u32,
}

/// Hard freezes block, soft freezes warn.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FreezeSeverity {
    /// Releases must not run.
    Hard,
    /// Releases should not run.
    Soft,
}

impl FreezeSeverity {
    /// The plan-format name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Hard => "hard",
            Self::Soft => "soft",
        }
    }

    /// Parses the plan-format name.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "hard" => Some(Self::Hard),
            "soft" => Some(Self::Soft),
            _ => None,
        }
    }
}

/// When a freeze applies.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FreezeSchedule {
    /// A one-off period.
    Once {
        /// Start, resolved in the freeze's zone.
        start: PlanTime,
        /// End, resolved in the freeze's zone.
        end: PlanTime,
    },
    /// A recurring period.
    Recurring(Box<Recurrence>),
}

/// A freeze schedule written out as the plan file's fields.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScheduleText {
    /// `start` (DTSTART for a recurring freeze).
    pub start: String,
    /// `end` of a one-off freeze.
    pub end: Option<String>,
    /// `duration` of each occurrence of a recurring freeze.
    pub duration: Option<String>,
    /// `rrule` of a recurring freeze.
    pub rrule: Option<String>,
    /// `exdates` of a recurring freeze.
    pub exdates: Vec<String>,
}

impl FreezeSchedule {
    /// The schedule as the plan file's fields, as the user wrote them.
    pub fn to_text(&self) -> ScheduleText {
        match self {
            Self::Once { start, end } => ScheduleText {
                start: start.value.to_string(),
                end: Some(end.value.to_string()),
                duration: None,
                rrule: None,
                exdates: vec![],
            },
            Self::Recurring(r) => ScheduleText {
                start: r.start.to_string(),
                end: None,
                duration: Some(r.duration.as_str().to_owned()),
                rrule: Some(r.rule.as_str().to_owned()),
                exdates: r.exdates.iter().map(ToString::to_string).collect(),
            },
        }
    }
}

/// Which releases a freeze applies to. An empty list matches anything.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Scope {
    /// Teams.
    pub teams: Vec<TeamId>,
    /// Services.
    pub services: Vec<ServiceId>,
    /// Environments.
    pub environments: Vec<EnvironmentId>,
}

impl Scope {
    /// True when every non-empty list matches the release.
    pub fn matches(&self, release: &Release) -> bool {
        (self.teams.is_empty() || self.teams.contains(&release.team))
            && (self.environments.is_empty() || self.environments.contains(&release.environment))
            && (self.services.is_empty()
                || release.services.iter().any(|s| self.services.contains(s)))
    }

    /// True when no list restricts the scope.
    pub fn is_global(&self) -> bool {
        self.teams.is_empty() && self.services.is_empty() && self.environments.is_empty()
    }
}

/// A period in which releases in scope must not (hard) or should not (soft) run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Freeze {
    /// Unique id.
    pub id: FreezeId,
    /// Display name.
    pub name: String,
    /// Hard or soft.
    pub severity: FreezeSeverity,
    /// The freeze's own zone, if written.
    pub timezone: Option<Tz>,
    /// When.
    pub schedule: FreezeSchedule,
    /// To whom.
    pub scope: Scope,
    /// Why, for people.
    pub reason: Option<String>,
}

impl Freeze {
    /// The zone its local times and recurrence are read in.
    pub fn zone(&self, plan_zone: Tz) -> Tz {
        self.timezone.unwrap_or(plan_zone)
    }

    /// Its periods that overlap `range`, at most `limit`.
    pub fn periods_between(&self, plan_zone: Tz, range: Interval, limit: usize) -> Vec<Interval> {
        match &self.schedule {
            FreezeSchedule::Once { start, end } => {
                let period = Interval {
                    start: start.utc,
                    end: end.utc,
                };
                if period.overlaps(&range) {
                    vec![period]
                } else {
                    vec![]
                }
            }
            FreezeSchedule::Recurring(recurrence) => recurrence
                .occurrences_between(self.zone(plan_zone), range.start, range.end, limit)
                .into_iter()
                .map(|o| o.interval)
                .collect(),
        }
    }
}

/// The lifecycle of a release.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ReleaseStatus {
    /// Being written.
    Draft,
    /// Scheduled.
    Planned,
    /// Approved to run.
    Approved,
    /// Running.
    InProgress,
    /// Finished.
    Done,
    /// Undone.
    RolledBack,
    /// Will not run.
    Cancelled,
}

impl ReleaseStatus {
    /// Every status, in lifecycle order.
    pub const ALL: [ReleaseStatus; 7] = [
        Self::Draft,
        Self::Planned,
        Self::Approved,
        Self::InProgress,
        Self::Done,
        Self::RolledBack,
        Self::Cancelled,
    ];

    /// The plan-format name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Draft => "draft",
            Self::Planned => "planned",
            Self::Approved => "approved",
            Self::InProgress => "in_progress",
            Self::Done => "done",
            Self::RolledBack => "rolled_back",
            Self::Cancelled => "cancelled",
        }
    }

    /// Parses the plan-format name.
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|status| status.as_str() == s)
    }

    /// Active releases take part in conflict checks.
    pub fn is_active(self) -> bool {
        matches!(
            self,
            Self::Draft | Self::Planned | Self::Approved | Self::InProgress
        )
    }
}

/// One approval of a release.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Approval {
    /// Who approved.
    pub by: String,
    /// When.
    pub at: PlanTime,
}

/// One readiness item.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChecklistItem {
    /// Unique within the release.
    pub id: String,
    /// What to check.
    pub text: String,
    /// Must be done before the release.
    pub required: bool,
    /// Done.
    pub done: bool,
}

/// How to undo a release.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RollbackPlan {
    /// Ordered steps.
    pub steps: Vec<String>,
    /// Who runs it.
    pub owner: Option<String>,
    /// How long it may take.
    pub time_budget_minutes: Option<u32>,
    /// Rehearsed.
    pub tested: bool,
}

/// An approved exception to a freeze.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FreezeOverride {
    /// The freeze.
    pub freeze: FreezeId,
    /// Why.
    pub reason: String,
    /// Who approved the exception.
    pub by: String,
    /// Who asked for it (never the one who approved it).
    pub requested_by: Option<String>,
    /// When it ends: from then on the freeze applies again.
    pub expires: Option<PlanTime>,
}

/// A release window.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Release {
    /// Unique id.
    pub id: ReleaseId,
    /// Display title.
    pub title: String,
    /// The team running it.
    pub team: TeamId,
    /// What it changes.
    pub services: Vec<ServiceId>,
    /// Where.
    pub environment: EnvironmentId,
    /// Window start.
    pub start: PlanTime,
    /// Window end (after start).
    pub end: PlanTime,
    /// Lifecycle.
    pub status: ReleaseStatus,
    /// The person running it.
    pub owner: Option<String>,
    /// Releases that must finish first. May name ids that do not exist (a conflict, not invalid input).
    pub depends_on: Vec<ReleaseId>,
    /// Approvals.
    pub approvals: Vec<Approval>,
    /// Readiness items.
    pub checklist: Vec<ChecklistItem>,
    /// Rollback plan.
    pub rollback: Option<RollbackPlan>,
    /// Freeze exceptions.
    pub overrides: Vec<FreezeOverride>,
    /// What ships.
    pub version: Option<String>,
    /// Artifact reference.
    pub artifact: Option<String>,
}

impl Release {
    /// The distinct people who approved it, sorted.
    pub fn approvers(&self) -> Vec<&str> {
        let mut names: Vec<&str> = self.approvals.iter().map(|a| a.by.as_str()).collect();
        names.sort_unstable();
        names.dedup();
        names
    }

    /// Readiness from 0 to 100: checklist items done, a required item
    /// counting twice an optional one; 100 with no items. Shown per release
    /// and averaged per day in the calendar.
    pub fn readiness_score(&self) -> u8 {
        let weight = |c: &ChecklistItem| if c.required { 2u32 } else { 1 };
        let total: u32 = self.checklist.iter().map(weight).sum();
        if total == 0 {
            return 100;
        }
        let done: u32 = self.checklist.iter().filter(|c| c.done).map(weight).sum();
        // Rounded down, so 100 means everything is done.
        u8::try_from(done * 100 / total).unwrap_or(100)
    }

    /// The window in real time.
    pub fn interval(&self) -> Interval {
        Interval {
            start: self.start.utc,
            end: self.end.utc,
        }
    }
}

impl Release {
    /// The same release with a new window, validated like a plan file's
    /// (`end` after `start`); `object` names it in errors
    /// (`releases[3] (id "r-17")`). Local times are read in `zone`.
    pub fn with_window(
        &self,
        object: &str,
        start: &str,
        end: &str,
        zone: Tz,
    ) -> Result<Release, crate::PlanError> {
        let parse = |field: &str, text: &str| {
            crate::TimeValue::parse(text)
                .map(|t| PlanTime::new(t, zone))
                .map_err(|message| crate::PlanError::single(object, field, message))
        };
        let (start, end) = (parse("start", start)?, parse("end", end)?);
        if end.utc <= start.utc {
            return Err(crate::PlanError::single(
                object,
                "end",
                format!(
                    "must be after start ({} is not after {})",
                    end.value, start.value
                ),
            ));
        }
        Ok(Release {
            start,
            end,
            ..self.clone()
        })
    }

    /// The same release with another status; `object` names it in errors.
    pub fn with_status(&self, object: &str, status: &str) -> Result<Release, crate::PlanError> {
        let status = ReleaseStatus::parse(status).ok_or_else(|| {
            let expected: Vec<&str> = ReleaseStatus::ALL.iter().map(|s| s.as_str()).collect();
            crate::PlanError::single(
                object,
                "status",
                format!(
                    "\"{status}\" is not a status; expected one of {}",
                    expected.join(", ")
                ),
            )
        })?;
        Ok(Release {
            status,
            ..self.clone()
        })
    }
}

#[cfg(test)]
mod readiness_tests {
    use super::*;

    fn item(required: bool, done: bool) -> ChecklistItem {
        ChecklistItem {
            id: format!("{required}{done}"),
            text: String::new(),
            required,
            done,
        }
    }

    #[test]
    fn required_items_weigh_twice_and_nothing_to_do_is_ready() {
        let score = |items: Vec<ChecklistItem>| {
            let mut r = crate::parse_plan(include_str!("../../../assets/demo-plan.json"))
                .map(|p| p.releases[0].clone())
                .expect("demo plan");
            r.checklist = items;
            r.readiness_score()
        };
        assert_eq!(score(vec![]), 100);
        assert_eq!(score(vec![item(true, true), item(false, false)]), 66);
        assert_eq!(score(vec![item(true, false), item(false, true)]), 33);
        assert_eq!(score(vec![item(true, false)]), 0);
        assert_eq!(score(vec![item(true, true), item(false, true)]), 100);
    }
}
