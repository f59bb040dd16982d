//! One release as its panel shows it: links, checklist, approvals, rollback
//! plan, freeze exceptions, conflicts and history.

use crate::check::ConflictReport;
use crate::error::ApiError;
use crate::plan::stored_plan;
use crate::release::find;
use chrono::{DateTime, Utc};
use relcal_domain::utc_text as utc;
use relcal_domain::{Checker, Plan};
use relcal_store::Store;
use serde::Serialize;

/// Another release, as a detail panel links to it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct ReleaseLink {
    /// Release id.
    pub id: String,
    /// Title, or null when no release has that id.
    pub title: Option<String>,
    /// Status, or null when no release has that id.
    pub status: Option<String>,
}

/// A readiness item.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct ChecklistView {
    /// Item id.
    pub id: String,
    /// What to check.
    pub text: String,
    /// Must be done before the release.
    pub required: bool,
    /// Done.
    pub done: bool,
    /// Who should do it.
    pub owner: Option<String>,
    /// Who ticked it.
    pub done_by: Option<String>,
    /// When, RFC 3339 UTC.
    pub done_at: Option<String>,
    /// A note or an evidence link.
    pub note: Option<String>,
}

/// An approval.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct ApprovalView {
    /// Who.
    pub by: String,
    /// When, RFC 3339 UTC.
    pub at: String,
}

/// A rollback plan, as the panel shows it and the editor saves it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct RollbackView {
    /// Ordered steps.
    pub steps: Vec<String>,
    /// Who runs it.
    pub owner: Option<String>,
    /// Minutes it may take.
    pub time_budget_minutes: Option<u32>,
    /// Rehearsed.
    pub tested: bool,
    /// When it was rehearsed, YYYY-MM-DD.
    pub tested_on: Option<String>,
    /// Whether the database migration can be reversed.
    pub migration_reversible: Option<bool>,
    /// What triggers a rollback.
    pub triggers: Vec<String>,
}

/// An approved exception to a freeze.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct OverrideView {
    /// Freeze id.
    pub freeze: String,
    /// Freeze name.
    pub freeze_name: String,
    /// Why.
    pub reason: String,
    /// Who approved it.
    pub by: String,
    /// Who asked for it, if recorded.
    pub requested_by: Option<String>,
    /// When it ends (RFC 3339 UTC): from then the freeze applies again.
    pub expires: Option<String>,
}

/// Everything the release detail panel shows.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct ReleaseDetail {
    /// Release id.
    pub id: String,
    /// Title.
    pub title: String,
    /// Team id.
    pub team_id: String,
    /// Team name.
    pub team_name: String,
    /// Services changed.
    pub services: Vec<String>,
    /// Environment id.
    pub environment_id: String,
    /// Environment name.
    pub environment_name: String,
    /// Production environment.
    pub production: bool,
    /// Window start, RFC 3339 UTC.
    pub start: String,
    /// Window end, RFC 3339 UTC.
    pub end: String,
    /// Status.
    pub status: String,
    /// Who runs it.
    pub owner: Option<String>,
    /// What ships.
    pub version: Option<String>,
    /// Artifact reference.
    pub artifact: Option<String>,
    /// Releases it depends on.
    pub depends_on: Vec<ReleaseLink>,
    /// Releases that depend on it.
    pub dependents: Vec<ReleaseLink>,
    /// Approvals given.
    pub approvals: Vec<ApprovalView>,
    /// Distinct approvers its environment requires.
    pub required_approvals: u32,
    /// Readiness items.
    pub checklist: Vec<ChecklistView>,
    /// Readiness from 0 to 100.
    pub readiness: u8,
    /// Rollback plan.
    pub rollback: Option<RollbackView>,
    /// Freeze exceptions.
    pub overrides: Vec<OverrideView>,
    /// Conflicts that involve it.
    pub conflicts: Vec<ConflictReport>,
    /// Its audit trail, newest first.
    pub history: Vec<crate::AuditView>,
    /// Its risk score and the reasons (docs/risk.md).
    pub risk: crate::RiskView,
    /// Exceptions asked for (waiting for an approver, or decided), newest first.
    pub exception_requests: Vec<ExceptionRequestView>,
}

/// An exception asked for, as the release panel shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct ExceptionRequestView {
    /// Its id (what approve, decline and withdraw take).
    pub id: String,
    /// The freeze.
    pub freeze: String,
    /// Its name (the id when the freeze is gone).
    pub freeze_name: String,
    /// Why.
    pub reason: String,
    /// When the exception would end (RFC 3339).
    pub expires: Option<String>,
    /// Who asked.
    pub requested_by: String,
    /// When.
    pub requested_at: String,
    /// `pending`, `approved`, `declined` or `withdrawn`.
    pub state: String,
    /// Who decided.
    pub decided_by: Option<String>,
    /// When.
    pub decided_at: Option<String>,
    /// Why it was declined or withdrawn.
    pub note: Option<String>,
}

fn link(plan: &Plan, id: &str) -> ReleaseLink {
    let found = plan.releases.iter().find(|r| r.id.as_str() == id);
    ReleaseLink {
        id: id.to_owned(),
        title: found.map(|r| r.title.clone()),
        status: found.map(|r| r.status.as_str().to_owned()),
    }
}

/// One release with everything about it, and its conflicts at `now`.
pub fn release_detail(
    store: &Store,
    id: &str,
    now: DateTime<Utc>,
) -> Result<ReleaseDetail, ApiError> {
    let plan = stored_plan(store)?;
    let (r, _) = find(&plan, id)?;
    let team_name = plan
        .teams
        .iter()
        .find(|t| t.id == r.team)
        .map_or_else(|| r.team.to_string(), |t| t.name.clone());
    let env = plan.environments.iter().find(|e| e.id == r.environment);
    let details = store.checklist_details(id)?;
    let rollback_detail = store.rollback_detail(id)?;
    let conflicts = Checker::new(&plan, now)
        .conflicts_of(&r.id)
        .into_iter()
        .map(ConflictReport::from)
        .collect();
    let risk = crate::risk_view(&plan, r, &crate::risk_weights(store)?);
    let exception_requests = crate::exception_requests(store, false)?
        .into_iter()
        .filter(|q| q.release == id)
        .map(|q| ExceptionRequestView {
            freeze_name: plan
                .freezes
                .iter()
                .find(|f| f.id.as_str() == q.freeze)
                .map_or_else(|| q.freeze.clone(), |f| f.name.clone()),
            id: q.id,
            freeze: q.freeze,
            reason: q.reason,
            expires: q.expires,
            requested_by: q.requested_by,
            requested_at: q.requested_at,
            state: q.state.as_str().to_owned(),
            decided_by: q.decided_by,
            decided_at: q.decided_at,
            note: q.note,
        })
        .collect();
    Ok(ReleaseDetail {
        exception_requests,
        id: r.id.to_string(),
        title: r.title.clone(),
        team_id: r.team.to_string(),
        team_name,
        services: r.services.iter().map(ToString::to_string).collect(),
        environment_id: r.environment.to_string(),
        environment_name: env.map_or_else(|| r.environment.to_string(), |e| e.name.clone()),
        production: env.is_some_and(|e| e.production),
        start: utc(r.start.utc),
        end: utc(r.end.utc),
        status: r.status.as_str().to_owned(),
        owner: r.owner.clone(),
        version: r.version.clone(),
        artifact: r.artifact.clone(),
        depends_on: r
            .depends_on
            .iter()
            .map(|d| link(&plan, d.as_str()))
            .collect(),
        dependents: plan
            .releases
            .iter()
            .filter(|o| o.depends_on.contains(&r.id))
            .map(|o| link(&plan, o.id.as_str()))
            .collect(),
        approvals: r
            .approvals
            .iter()
            .map(|a| ApprovalView {
                by: a.by.clone(),
                at: utc(a.at.utc),
            })
            .collect(),
        required_approvals: env.map_or(0, |e| e.required_approvals),
        checklist: r
            .checklist
            .iter()
            .map(|c| {
                let d = details.iter().find(|d| d.item_id == c.id);
                ChecklistView {
                    id: c.id.clone(),
                    text: c.text.clone(),
                    required: c.required,
                    done: c.done,
                    owner: d.and_then(|d| d.owner.clone()),
                    done_by: d.and_then(|d| d.done_by.clone()),
                    done_at: d.and_then(|d| d.done_at.clone()),
                    note: d.and_then(|d| d.note.clone()),
                }
            })
            .collect(),
        rollback: r.rollback.as_ref().map(|rb| RollbackView {
            steps: rb.steps.clone(),
            owner: rb.owner.clone(),
            time_budget_minutes: rb.time_budget_minutes,
            tested: rb.tested,
            tested_on: rollback_detail.as_ref().and_then(|d| d.tested_on.clone()),
            migration_reversible: rollback_detail
                .as_ref()
                .and_then(|d| d.migration_reversible),
            triggers: rollback_detail
                .as_ref()
                .map(|d| d.triggers.clone())
                .unwrap_or_default(),
        }),
        readiness: r.readiness_score(),
        overrides: r
            .overrides
            .iter()
            .map(|o| OverrideView {
                freeze: o.freeze.to_string(),
                freeze_name: plan
                    .freezes
                    .iter()
                    .find(|f| f.id == o.freeze)
                    .map_or_else(|| o.freeze.to_string(), |f| f.name.clone()),
                reason: o.reason.clone(),
                by: o.by.clone(),
                requested_by: o.requested_by.clone(),
                expires: o.expires.map(|t| utc(t.utc)),
            })
            .collect(),
        conflicts,
        history: {
            let mut h = crate::audit_log(store, Some(id))?;
            h.reverse();
            h
        },
        risk,
    })
}
