//! Each kind of object validated: teams, services, environments, freezes and\nreleases, every error naming the object and the field.

use super::{Known, Validator};
use crate::ids::{EnvironmentId, FreezeId, ReleaseId, ServiceId, TeamId};
use crate::plan::*;
use crate::time::{PlanTime, TimeValue};
use crate::wire::*;
use chrono_tz::Tz;
use std::collections::HashSet;

impl Validator {
    pub(super) fn team(&mut self, object: &str, t: WireTeam, plan_zone: Tz) -> Team {
        self.non_empty(object, "name", &t.name);
        let timezone = self.opt_zone(object, "timezone", &t.timezone);
        let team_zone = timezone.unwrap_or(plan_zone);
        let mut allowed_windows = Vec::new();
        for (i, w) in t.allowed_windows.into_iter().enumerate() {
            let prefix = format!("allowed_windows[{i}].");
            let own = self.opt_zone(object, &format!("{prefix}timezone"), &w.timezone);
            let zone = own.unwrap_or(team_zone);
            if let Some(recurrence) = self.recurrence(object, &prefix, w, zone) {
                allowed_windows.push(AllowedWindow {
                    timezone: own,
                    recurrence,
                });
            }
        }
        Team {
            id: TeamId::new(t.id),
            name: t.name,
            timezone,
            allowed_windows,
        }
    }

    pub(super) fn service(&mut self, object: &str, s: WireService, known: &Known) -> Service {
        let team = self.reference(object, "team", "team", &known.teams, s.team, TeamId::new);
        let depends_on = self.references(
            object,
            "depends_on",
            "service",
            &known.services,
            s.depends_on,
            ServiceId::new,
        );
        Service {
            id: ServiceId::new(s.id),
            team,
            depends_on,
        }
    }

    pub(super) fn environment(&mut self, object: &str, e: WireEnvironment) -> Environment {
        self.non_empty(object, "name", &e.name);
        if e.max_concurrent == Some(0) {
            self.err(
                object,
                "max_concurrent",
                "must be at least 1 (leave it out for no limit)",
            );
        }
        Environment {
            id: EnvironmentId::new(e.id),
            name: e.name,
            production: e.production,
            max_concurrent: e.max_concurrent,
            required_approvals: e.required_approvals,
        }
    }

    pub(super) fn freeze(
        &mut self,
        object: &str,
        f: WireFreeze,
        plan_zone: Tz,
        known: &Known,
    ) -> Freeze {
        self.non_empty(object, "name", &f.name);
        let severity = FreezeSeverity::parse(&f.severity).unwrap_or_else(|| {
            self.err(
                object,
                "severity",
                format!(
                    "\"{}\" is not a severity; expected \"hard\" or \"soft\"",
                    f.severity
                ),
            );
            FreezeSeverity::Hard
        });
        let timezone = self.opt_zone(object, "timezone", &f.timezone);
        let zone = timezone.unwrap_or(plan_zone);
        let placeholder = FreezeSchedule::Once {
            start: PlanTime::new(
                TimeValue::Local(chrono::DateTime::UNIX_EPOCH.naive_utc()),
                zone,
            ),
            end: PlanTime::new(
                TimeValue::Local(chrono::DateTime::UNIX_EPOCH.naive_utc()),
                zone,
            ),
        };
        let schedule = match (&f.rrule, &f.end) {
            (Some(_), Some(_)) => {
                self.err(
                    object,
                    "end",
                    "a recurring freeze (with `rrule`) takes `duration`, not `end`",
                );
                None
            }
            (Some(rrule), None) => match &f.duration {
                None => {
                    self.err(
                        object,
                        "duration",
                        "a recurring freeze needs a `duration` (e.g. PT12H)",
                    );
                    None
                }
                Some(duration) => {
                    let fields = WireRecurrence {
                        start: f.start.clone(),
                        duration: duration.clone(),
                        rrule: rrule.clone(),
                        timezone: None,
                        exdates: f.exdates,
                    };
                    self.recurrence(object, "", fields, zone)
                        .map(|r| FreezeSchedule::Recurring(Box::new(r)))
                }
            },
            (None, end) => {
                if f.duration.is_some() {
                    self.err(
                        object,
                        "duration",
                        "`duration` is only for recurring freezes (with `rrule`); a one-off freeze takes `end`",
                    );
                }
                if !f.exdates.is_empty() {
                    self.err(
                        object,
                        "exdates",
                        "`exdates` are only for recurring freezes (with `rrule`)",
                    );
                }
                match end {
                    None => {
                        self.err(
                            object,
                            "end",
                            "a one-off freeze needs an `end` (or give `rrule` and `duration`)",
                        );
                        None
                    }
                    Some(end) => self
                        .window(object, "", &f.start, end, zone)
                        .map(|(start, end)| FreezeSchedule::Once { start, end }),
                }
            }
        };
        let scope = f.scope.unwrap_or_default();
        let scope = Scope {
            teams: self.references(
                object,
                "scope.teams",
                "team",
                &known.teams,
                scope.teams,
                TeamId::new,
            ),
            services: self.references(
                object,
                "scope.services",
                "service",
                &known.services,
                scope.services,
                ServiceId::new,
            ),
            environments: self.references(
                object,
                "scope.environments",
                "environment",
                &known.environments,
                scope.environments,
                EnvironmentId::new,
            ),
        };
        Freeze {
            id: FreezeId::new(f.id),
            name: f.name,
            severity,
            timezone,
            schedule: schedule.unwrap_or(placeholder),
            scope,
            reason: f.reason,
        }
    }

    pub(super) fn release(
        &mut self,
        object: &str,
        r: WireRelease,
        zone: Tz,
        known: &Known,
    ) -> Release {
        self.non_empty(object, "title", &r.title);
        let team = self.reference(object, "team", "team", &known.teams, r.team, TeamId::new);
        let services = self.references(
            object,
            "services",
            "service",
            &known.services,
            r.services,
            ServiceId::new,
        );
        let environment = self.reference(
            object,
            "environment",
            "environment",
            &known.environments,
            r.environment,
            EnvironmentId::new,
        );
        let epoch = PlanTime::new(
            TimeValue::Local(chrono::DateTime::UNIX_EPOCH.naive_utc()),
            zone,
        );
        let (start, end) = self
            .window(object, "", &r.start, &r.end, zone)
            .unwrap_or((epoch, epoch));
        let status = ReleaseStatus::parse(&r.status).unwrap_or_else(|| {
            let expected: Vec<&str> = ReleaseStatus::ALL.iter().map(|s| s.as_str()).collect();
            self.err(
                object,
                "status",
                format!(
                    "\"{}\" is not a status; expected one of {}",
                    r.status,
                    expected.join(", ")
                ),
            );
            ReleaseStatus::Draft
        });
        let depends_on = r
            .depends_on
            .into_iter()
            .enumerate()
            .map(|(i, id)| {
                if id.trim().is_empty() {
                    self.err(object, format!("depends_on[{i}]"), "must not be empty");
                }
                ReleaseId::new(id)
            })
            .collect();
        let approvals = r
            .approvals
            .into_iter()
            .enumerate()
            .filter_map(|(i, a)| {
                self.non_empty(object, &format!("approvals[{i}].by"), &a.by);
                let at = self.time(object, &format!("approvals[{i}].at"), &a.at)?;
                Some(Approval {
                    by: a.by,
                    at: PlanTime::new(at, zone),
                })
            })
            .collect();
        let mut item_ids = HashSet::new();
        let checklist = r
            .checklist
            .into_iter()
            .enumerate()
            .map(|(i, c)| {
                if c.id.trim().is_empty() {
                    self.err(object, format!("checklist[{i}].id"), "must not be empty");
                } else if !item_ids.insert(c.id.clone()) {
                    self.err(
                        object,
                        format!("checklist[{i}].id"),
                        format!("duplicate checklist item id \"{}\"", c.id),
                    );
                }
                ChecklistItem {
                    id: c.id,
                    text: c.text,
                    required: c.required,
                    done: c.done,
                }
            })
            .collect();
        let rollback = r.rollback.map(|rb| RollbackPlan {
            steps: rb.steps,
            owner: rb.owner,
            time_budget_minutes: rb.time_budget_minutes,
            tested: rb.tested,
        });
        let overrides = r
            .overrides
            .into_iter()
            .enumerate()
            .map(|(i, o)| {
                let prefix = format!("overrides[{i}]");
                self.non_empty(object, &format!("{prefix}.reason"), &o.reason);
                self.non_empty(object, &format!("{prefix}.by"), &o.by);
                if let Some(asked) = &o.requested_by {
                    self.non_empty(object, &format!("{prefix}.requested_by"), asked);
                    if asked.trim() == o.by.trim() && !asked.trim().is_empty() {
                        self.err(
                            object,
                            format!("{prefix}.requested_by"),
                            format!(
                                "{asked} asked for the exception and cannot also approve it (`by`)"
                            ),
                        );
                    }
                }
                let expires = o.expires.as_ref().and_then(|t| {
                    self.time(object, &format!("{prefix}.expires"), t)
                        .map(|at| PlanTime::new(at, zone))
                });
                FreezeOverride {
                    freeze: self.reference(
                        object,
                        &format!("{prefix}.freeze"),
                        "freeze",
                        &known.freezes,
                        o.freeze,
                        FreezeId::new,
                    ),
                    reason: o.reason,
                    by: o.by,
                    requested_by: o.requested_by,
                    expires,
                }
            })
            .collect();
        Release {
            id: ReleaseId::new(r.id),
            title: r.title,
            team,
            services,
            environment,
            start,
            end,
            status,
            owner: r.owner,
            depends_on,
            approvals,
            checklist,
            rollback,
            overrides,
            version: r.version,
            artifact: r.artifact,
        }
    }
}
