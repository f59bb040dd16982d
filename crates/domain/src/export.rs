//! A validated [`Plan`] back to the plan file's JSON.

use crate::kind::ObjectKind;
use crate::plan::*;
use crate::recurrence::Recurrence;
use crate::wire::*;

fn strings<T: ToString>(items: &[T]) -> Vec<String> {
    items.iter().map(ToString::to_string).collect()
}

fn recurrence(r: &Recurrence, timezone: Option<chrono_tz::Tz>) -> WireRecurrence {
    WireRecurrence {
        start: r.start.to_string(),
        duration: r.duration.as_str().to_owned(),
        rrule: r.rule.as_str().to_owned(),
        timezone: timezone.map(|tz| tz.name().to_owned()),
        exdates: strings(&r.exdates),
    }
}

impl Plan {
    /// The plan as a plan-file JSON document. `parse_plan_value(plan.to_json())`
    /// gives back an equal plan.
    pub fn to_json(&self) -> serde_json::Value {
        // The wire types are plain strings, numbers and lists: this cannot fail.
        serde_json::to_value(self.to_document()).unwrap_or(serde_json::Value::Null)
    }

    /// The plan as a plan document, to put objects into and validate again
    /// ([`crate::parse_plan_document`] gives back an equal plan).
    pub fn to_document(&self) -> WirePlan {
        WirePlan {
            version: PLAN_FORMAT_VERSION,
            timezone: self.timezone.name().to_owned(),
            teams: self.teams.iter().map(team).collect(),
            services: self.services.iter().map(service).collect(),
            environments: self.environments.iter().map(environment).collect(),
            freezes: self.freezes.iter().map(freeze).collect(),
            releases: self.releases.iter().map(release).collect(),
        }
    }

    /// Every object as its plan document holds it, kind by kind
    /// ([`ObjectKind::ALL`]) in list order.
    pub fn objects(&self) -> impl Iterator<Item = crate::WireObject> {
        self.to_document().into_objects()
    }

    /// The object `id` of `kind` as plan-file JSON, with its index in its
    /// list: what `to_json` would hold for it, without writing out the rest.
    pub fn object_json(&self, kind: ObjectKind, id: &str) -> Option<(usize, serde_json::Value)> {
        fn find<'a, T>(
            list: &'a [T],
            id: impl Fn(&T) -> &str,
            want: &str,
        ) -> Option<(usize, &'a T)> {
            list.iter().enumerate().find(|(_, x)| id(x) == want)
        }
        let json = |w: Result<serde_json::Value, serde_json::Error>| w.unwrap_or_default();
        match kind {
            ObjectKind::Team => find(&self.teams, |t| t.id.as_str(), id)
                .map(|(i, t)| (i, json(serde_json::to_value(team(t))))),
            ObjectKind::Service => find(&self.services, |s| s.id.as_str(), id)
                .map(|(i, s)| (i, json(serde_json::to_value(service(s))))),
            ObjectKind::Environment => find(&self.environments, |e| e.id.as_str(), id)
                .map(|(i, e)| (i, json(serde_json::to_value(environment(e))))),
            ObjectKind::Freeze => find(&self.freezes, |f| f.id.as_str(), id)
                .map(|(i, f)| (i, json(serde_json::to_value(freeze(f))))),
            ObjectKind::Release => find(&self.releases, |r| r.id.as_str(), id)
                .map(|(i, r)| (i, json(serde_json::to_value(release(r))))),
        }
    }

    /// A digest of what the plan holds, whatever order its lists are in: the
    /// SHA-256 of each object's plan-file JSON, kind by kind and id by id,
    /// and the calendar's zone. Two plans with equal objects have equal
    /// digests, so a desktop and the server can tell they agree.
    pub fn digest(&self) -> String {
        use sha2::{Digest, Sha256};
        let mut hasher = Sha256::new();
        hasher.update(self.timezone.name().as_bytes());
        let mut objects: Vec<(ObjectKind, String, String)> = self
            .objects()
            .map(|o| (o.kind(), o.id().to_owned(), o.to_json().to_string()))
            .collect();
        objects.sort_unstable_by(|a, b| (a.0, &a.1).cmp(&(b.0, &b.1)));
        for (kind, id, text) in &objects {
            for part in [kind.noun(), id.as_str(), text.as_str()] {
                hasher.update((part.len() as u64).to_le_bytes());
                hasher.update(part.as_bytes());
            }
        }
        crate::hex(&hasher.finalize())
    }

    /// The plan as pretty-printed JSON text.
    pub fn to_json_pretty(&self) -> String {
        serde_json::to_string_pretty(&self.to_json()).unwrap_or_default()
    }
}

fn service(s: &Service) -> WireService {
    WireService {
        id: s.id.to_string(),
        team: s.team.to_string(),
        depends_on: strings(&s.depends_on),
    }
}

fn environment(e: &Environment) -> WireEnvironment {
    WireEnvironment {
        id: e.id.to_string(),
        name: e.name.clone(),
        production: e.production,
        max_concurrent: e.max_concurrent,
        required_approvals: e.required_approvals,
    }
}

fn team(t: &Team) -> WireTeam {
    WireTeam {
        id: t.id.to_string(),
        name: t.name.clone(),
        timezone: t.timezone.map(|tz| tz.name().to_owned()),
        allowed_windows: t
            .allowed_windows
            .iter()
            .map(|w| recurrence(&w.recurrence, w.timezone))
            .collect(),
    }
}

fn freeze(f: &Freeze) -> WireFreeze {
    let ScheduleText {
        start,
        end,
        duration,
        rrule,
        exdates,
    } = f.schedule.to_text();
    WireFreeze {
        id: f.id.to_string(),
        name: f.name.clone(),
        severity: f.severity.as_str().to_owned(),
        timezone: f.timezone.map(|tz| tz.name().to_owned()),
        start,
        end,
        duration,
        rrule,
        exdates,
        scope: (!f.scope.is_global()).then(|| WireScope {
            teams: strings(&f.scope.teams),
            services: strings(&f.scope.services),
            environments: strings(&f.scope.environments),
        }),
        reason: f.reason.clone(),
    }
}

fn release(r: &Release) -> WireRelease {
    WireRelease {
        id: r.id.to_string(),
        title: r.title.clone(),
        team: r.team.to_string(),
        services: strings(&r.services),
        environment: r.environment.to_string(),
        start: r.start.value.to_string(),
        end: r.end.value.to_string(),
        status: r.status.as_str().to_owned(),
        owner: r.owner.clone(),
        depends_on: strings(&r.depends_on),
        approvals: r
            .approvals
            .iter()
            .map(|a| WireApproval {
                by: a.by.clone(),
                at: a.at.value.to_string(),
            })
            .collect(),
        checklist: r
            .checklist
            .iter()
            .map(|c| WireChecklistItem {
                id: c.id.clone(),
                text: c.text.clone(),
                required: c.required,
                done: c.done,
            })
            .collect(),
        rollback: r.rollback.as_ref().map(|rb| WireRollback {
            steps: rb.steps.clone(),
            owner: rb.owner.clone(),
            time_budget_minutes: rb.time_budget_minutes,
            tested: rb.tested,
        }),
        overrides: r
            .overrides
            .iter()
            .map(|o| WireOverride {
                freeze: o.freeze.to_string(),
                reason: o.reason.clone(),
                by: o.by.clone(),
                requested_by: o.requested_by.clone(),
                expires: o.expires.as_ref().map(|t| t.value.to_string()),
            })
            .collect(),
        version: r.version.clone(),
        artifact: r.artifact.clone(),
    }
}

impl Release {
    /// The release as a plan document holds it (to edit, then validate
    /// again with [`crate::parse_release_document`]).
    pub fn to_wire(&self) -> WireRelease {
        release(self)
    }
}

/// One release as plan-file JSON.
pub fn release_to_json(r: &Release) -> serde_json::Value {
    serde_json::to_value(release(r)).unwrap_or(serde_json::Value::Null)
}
