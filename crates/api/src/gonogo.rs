//! The go/no-go view: every release of the coming days with its readiness,
//! rollback plan, approvals and conflicts on one screen, and a verdict.

use crate::check::CheckSummary;
use crate::error::ApiError;
use crate::plan::stored_plan;
use chrono::{DateTime, Duration, Utc};
use relcal_domain::utc_text as utc;
use relcal_domain::{Checker, ConflictSeverity};
use relcal_store::Store;
use serde::Serialize;

/// One release in the go/no-go view.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct GoNoGoRow {
    /// Release id.
    pub id: String,
    /// Title.
    pub title: String,
    /// Team name.
    pub team_name: String,
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
    /// Readiness from 0 to 100.
    pub readiness: u8,
    /// Required checklist items not done.
    pub required_open: u32,
    /// Checklist items in all.
    pub checklist_items: u32,
    /// `none`, `untested` or `tested`.
    pub rollback: String,
    /// Distinct approvers.
    pub approvals: u32,
    /// Approvals its environment requires.
    pub approvals_needed: u32,
    /// Its conflicts by severity.
    pub conflicts: CheckSummary,
    /// `go`, `at_risk` or `no_go`.
    pub verdict: String,
    /// Why, one line each, worst first.
    pub reasons: Vec<String>,
    /// Its risk score and the reasons (docs/risk.md).
    pub risk: crate::RiskView,
}

/// The go/no-go view of `[from, to)`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct GoNoGo {
    /// Range start, RFC 3339 UTC.
    pub from: String,
    /// Range end, RFC 3339 UTC.
    pub to: String,
    /// Active releases starting in the range, by start.
    pub rows: Vec<GoNoGoRow>,
}

/// Every active release starting in the next `days` days from `now`, with a
/// verdict: `no_go` for an error-severity conflict (a hard freeze, missing
/// approvals on an approved release, no rollback plan in production, ...),
/// missing approvals, or required items open; `at_risk` for warnings or
/// optional items open; `go` otherwise.
pub fn go_no_go(store: &Store, now: DateTime<Utc>, days: u32) -> Result<GoNoGo, ApiError> {
    let plan = stored_plan(store)?;
    let to = now + Duration::days(i64::from(days.clamp(1, 31)));
    let checker = Checker::new(&plan, now);
    let weights = crate::risk_weights(store)?;
    let mut rows: Vec<GoNoGoRow> = plan
        .releases
        .iter()
        .filter(|r| r.status.is_active() && r.start.utc >= now && r.start.utc < to)
        .map(|r| {
            let env = plan.environments.iter().find(|e| e.id == r.environment);
            let conflicts = checker.conflicts_of(&r.id);
            let mut summary = CheckSummary::default();
            for c in &conflicts {
                summary.count(c.severity);
            }
            let approvers = r.approvers();
            let needed = env.map_or(0, |e| e.required_approvals);
            let required_open = r.checklist.iter().filter(|c| c.required && !c.done).count();
            let optional_open = r
                .checklist
                .iter()
                .filter(|c| !c.required && !c.done)
                .count();
            let mut blockers = Vec::new();
            let mut risks = Vec::new();
            for c in &conflicts {
                match c.severity {
                    ConflictSeverity::Error => blockers.push(c.message.clone()),
                    ConflictSeverity::Warning => risks.push(c.message.clone()),
                    ConflictSeverity::Info => {}
                }
            }
            if (approvers.len() as u32) < needed
                && !conflicts.iter().any(|c| c.code == "approval.missing")
            {
                blockers.push(format!("{} of {needed} approvals", approvers.len()));
            }
            if required_open > 0 && !conflicts.iter().any(|c| c.code == "readiness.checklist") {
                blockers.push(format!(
                    "{required_open} required checklist item{} open",
                    if required_open == 1 { "" } else { "s" }
                ));
            }
            if optional_open > 0 {
                risks.push(format!(
                    "{optional_open} optional checklist item{} open",
                    if optional_open == 1 { "" } else { "s" }
                ));
            }
            let rollback = match &r.rollback {
                None => "none",
                Some(rb) if rb.steps.is_empty() => "none",
                Some(rb) if !rb.tested => "untested",
                Some(_) => "tested",
            };
            if rollback == "untested" && env.is_some_and(|e| e.production) {
                risks.push("rollback plan not rehearsed".into());
            }
            let verdict = if !blockers.is_empty() {
                "no_go"
            } else if !risks.is_empty() {
                "at_risk"
            } else {
                "go"
            };
            GoNoGoRow {
                id: r.id.to_string(),
                title: r.title.clone(),
                team_name: plan
                    .teams
                    .iter()
                    .find(|t| t.id == r.team)
                    .map_or_else(|| r.team.to_string(), |t| t.name.clone()),
                environment_name: env.map_or_else(|| r.environment.to_string(), |e| e.name.clone()),
                production: env.is_some_and(|e| e.production),
                start: utc(r.start.utc),
                end: utc(r.end.utc),
                status: r.status.as_str().to_owned(),
                owner: r.owner.clone(),
                readiness: r.readiness_score(),
                required_open: u32::try_from(required_open).unwrap_or(u32::MAX),
                checklist_items: u32::try_from(r.checklist.len()).unwrap_or(u32::MAX),
                rollback: rollback.to_owned(),
                approvals: u32::try_from(approvers.len()).unwrap_or(u32::MAX),
                approvals_needed: needed,
                conflicts: summary,
                verdict: verdict.to_owned(),
                reasons: blockers.into_iter().chain(risks).collect(),
                risk: crate::risk_view(&plan, r, &weights),
            }
        })
        .collect();
    rows.sort_by(|a, b| (&a.start, &a.id).cmp(&(&b.start, &b.id)));
    Ok(GoNoGo {
        from: utc(now),
        to: utc(to),
        rows,
    })
}
