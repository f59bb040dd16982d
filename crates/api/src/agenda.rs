//! The CAB agenda: for a date range, the releases that need a decision,
//! grouped by environment (production first) and ordered by risk, each with
//! its readiness, rollback plan, approvals, conflicts and the decision asked
//! for (`relcal agenda`, the app's printable CAB view).

use crate::check::ConflictReport;
use crate::error::{ApiError, ErrorCode};
use crate::risk::{risk_view, RiskView};
use chrono::{DateTime, Duration, Utc};
use relcal_domain::utc_text as utc;
use relcal_domain::{
    find_slot, human_time, Checker, ConflictSeverity, Plan, PlanDuration, ReleaseStatus,
    RiskWeights, SlotQuery,
};
use serde::Serialize;

/// The longest range an agenda covers.
pub const AGENDA_MAX_DAYS: i64 = 92;

/// One release on the agenda.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct AgendaItem {
    /// Release id.
    pub id: String,
    /// Title.
    pub title: String,
    /// Team name.
    pub team_name: String,
    /// Window start, RFC 3339 UTC.
    pub start: String,
    /// Window end, RFC 3339 UTC.
    pub end: String,
    /// The window in the calendar's zone, for people.
    pub when: String,
    /// Status.
    pub status: String,
    /// Who runs it.
    pub owner: Option<String>,
    /// Its risk score and reasons.
    pub risk: RiskView,
    /// Readiness from 0 to 100.
    pub readiness: u8,
    /// Required checklist items not done.
    pub required_open: u32,
    /// `none`, `untested` or `tested`.
    pub rollback: String,
    /// Distinct approvers.
    pub approvals: u32,
    /// Approvals its environment requires.
    pub approvals_needed: u32,
    /// Its error and warning conflicts.
    pub conflicts: Vec<ConflictReport>,
    /// The decision the board is asked for, in a few words.
    pub decision: String,
    /// When a conflict blocks it: the earliest start with no error-severity
    /// conflict (the next free slot), if one exists within 90 days.
    pub next_slot: Option<String>,
}

/// One environment's releases, highest risk first.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct AgendaGroup {
    /// Environment id.
    pub environment: String,
    /// Environment name.
    pub environment_name: String,
    /// A production environment.
    pub production: bool,
    /// Its releases.
    pub items: Vec<AgendaItem>,
}

/// The agenda of `[from, to)`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct Agenda {
    /// Range start, RFC 3339 UTC.
    pub from: String,
    /// Range end, RFC 3339 UTC.
    pub to: String,
    /// The zone times are written in for people (the calendar's).
    pub timezone: String,
    /// When it was made, RFC 3339 UTC.
    pub generated_at: String,
    /// Production environments first, then by name.
    pub groups: Vec<AgendaGroup>,
    /// Releases on it.
    pub total: u32,
}

/// The agenda of the releases starting in `[from, to)` that await a
/// decision (draft, planned or approved; not yet running), at `now`.
pub fn agenda(
    plan: &Plan,
    weights: &RiskWeights,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    now: DateTime<Utc>,
) -> Result<Agenda, ApiError> {
    if to <= from {
        return Err(ApiError::new(
            ErrorCode::Validation,
            "agenda: --to must be after --from",
        ));
    }
    if to - from > Duration::days(AGENDA_MAX_DAYS) {
        return Err(ApiError::new(
            ErrorCode::Validation,
            format!("agenda: --to: the range may span at most {AGENDA_MAX_DAYS} days"),
        ));
    }
    let zone = plan.timezone;
    let checker = Checker::new(plan, now);
    let mut groups: Vec<AgendaGroup> = Vec::new();
    let mut total = 0u32;
    for env in &plan.environments {
        let mut items: Vec<AgendaItem> = plan
            .releases
            .iter()
            .filter(|r| r.environment == env.id)
            .filter(|r| {
                matches!(
                    r.status,
                    ReleaseStatus::Draft | ReleaseStatus::Planned | ReleaseStatus::Approved
                )
            })
            .filter(|r| r.start.utc >= from && r.start.utc < to)
            .map(|r| {
                let conflicts: Vec<_> = checker
                    .conflicts_of(&r.id)
                    .into_iter()
                    .filter(|c| c.severity != ConflictSeverity::Info)
                    .collect();
                let approvers = r.approvers().len() as u32;
                let needed = env.required_approvals;
                let rollback = match &r.rollback {
                    Some(rb) if !rb.steps.is_empty() && rb.tested => "tested",
                    Some(rb) if !rb.steps.is_empty() => "untested",
                    _ => "none",
                };
                let errors: Vec<_> = conflicts
                    .iter()
                    .filter(|c| c.severity == ConflictSeverity::Error)
                    .collect();
                let mut asks = Vec::new();
                let frozen: Vec<String> = errors
                    .iter()
                    .filter(|c| c.code == "freeze.hard")
                    .filter_map(|c| c.freeze.as_ref())
                    .filter_map(|id| plan.freezes.iter().find(|f| f.id == *id))
                    .map(|f| f.name.clone())
                    .collect();
                if !frozen.is_empty() {
                    asks.push(format!(
                        "grant an exception to {} or move it",
                        frozen.join(", ")
                    ));
                }
                if approvers < needed {
                    asks.push(format!("approve ({approvers} of {needed})"));
                }
                let other = errors
                    .iter()
                    .filter(|c| c.code != "freeze.hard" && c.code != "approval.missing")
                    .count();
                if other > 0 {
                    asks.push(format!(
                        "resolve {other} blocking conflict{}",
                        if other == 1 { "" } else { "s" }
                    ));
                }
                if r.status == ReleaseStatus::Draft {
                    asks.push("confirm the plan (draft)".into());
                }
                if asks.is_empty() {
                    asks.push("confirm go".into());
                }
                let next_slot = (!errors.is_empty())
                    .then(|| next_slot(plan, r, now))
                    .flatten();
                AgendaItem {
                    id: r.id.to_string(),
                    title: r.title.clone(),
                    team_name: plan
                        .teams
                        .iter()
                        .find(|t| t.id == r.team)
                        .map_or_else(|| r.team.to_string(), |t| t.name.clone()),
                    start: utc(r.start.utc),
                    end: utc(r.end.utc),
                    when: format!(
                        "{} – {}",
                        human_time(r.start.utc, zone),
                        human_time(r.end.utc, zone)
                    ),
                    status: r.status.as_str().to_owned(),
                    owner: r.owner.clone(),
                    risk: risk_view(plan, r, weights),
                    readiness: r.readiness_score(),
                    required_open: r.checklist.iter().filter(|c| c.required && !c.done).count()
                        as u32,
                    rollback: rollback.to_owned(),
                    approvals: approvers,
                    approvals_needed: needed,
                    conflicts: conflicts.into_iter().map(ConflictReport::from).collect(),
                    decision: asks.join("; "),
                    next_slot,
                }
            })
            .collect();
        if items.is_empty() {
            continue;
        }
        items.sort_by(|a, b| {
            b.risk
                .score
                .cmp(&a.risk.score)
                .then_with(|| (&a.start, &a.id).cmp(&(&b.start, &b.id)))
        });
        total += items.len() as u32;
        groups.push(AgendaGroup {
            environment: env.id.to_string(),
            environment_name: env.name.clone(),
            production: env.production,
            items,
        });
    }
    groups.sort_by(|a, b| {
        b.production
            .cmp(&a.production)
            .then_with(|| a.environment_name.cmp(&b.environment_name))
    });
    Ok(Agenda {
        from: utc(from),
        to: utc(to),
        timezone: zone.name().to_owned(),
        generated_at: utc(now),
        groups,
        total,
    })
}

/// The CAB view's content: the agenda and its Markdown.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct AgendaView {
    /// The agenda.
    pub agenda: Agenda,
    /// The same as Markdown, to paste into a meeting document.
    pub markdown: String,
}

/// The agenda of a database's calendar with the team's risk weights.
pub fn agenda_of_store(
    store: &relcal_store::Store,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    now: DateTime<Utc>,
) -> Result<AgendaView, ApiError> {
    let plan = crate::stored_plan(store)?;
    let agenda = agenda(&plan, &crate::risk_weights(store)?, from, to, now)?;
    let markdown = agenda_markdown(&agenda);
    Ok(AgendaView { agenda, markdown })
}

/// The earliest start of `r` (its scope, length, owner and dependencies)
/// with no error-severity conflict, from now or its own start.
fn next_slot(plan: &Plan, r: &relcal_domain::Release, now: DateTime<Utc>) -> Option<String> {
    let length = (r.end.utc - r.start.utc).num_seconds();
    let duration = PlanDuration::parse(&format!("PT{length}S")).ok()?;
    let q = SlotQuery {
        environment: r.environment.clone(),
        services: r.services.clone(),
        team: Some(r.team.clone()),
        owner: r.owner.clone(),
        after_releases: r.depends_on.clone(),
        duration,
        after: now.max(r.start.utc),
        within: Duration::days(90),
        avoid_soft: false,
        moving: Some(r.id.clone()),
    };
    find_slot(plan, &q).ok()?.slot.map(|s| utc(s.start))
}

/// Markdown that pastes cleanly into a meeting document: a heading per
/// environment, one numbered entry per release with its facts as a list.
pub fn agenda_markdown(a: &Agenda) -> String {
    let mut out = String::new();
    let day = |t: &str| t.get(..10).unwrap_or(t).to_owned();
    out.push_str(&format!(
        "# CAB agenda: {} to {}\n\n",
        day(&a.from),
        day(&a.to)
    ));
    out.push_str(&format!(
        "{} release{} need{} a decision. Times in {}. Generated {}.\n",
        a.total,
        if a.total == 1 { "" } else { "s" },
        if a.total == 1 { "s" } else { "" },
        md(&a.timezone),
        a.generated_at
    ));
    for g in &a.groups {
        let marked = g.production && !g.environment_name.to_lowercase().contains("prod");
        out.push_str(&format!(
            "\n## {}{} ({})\n",
            md(&g.environment_name),
            if marked { " (production)" } else { "" },
            g.items.len()
        ));
        for (i, item) in g.items.iter().enumerate() {
            out.push_str(&format!(
                "\n### {}. {} (risk {}, {})\n\n",
                i + 1,
                md(&item.title),
                item.risk.score,
                item.risk.level
            ));
            out.push_str(&format!("- **Decision:** {}\n", md(&item.decision)));
            if let Some(slot) = &item.next_slot {
                out.push_str(&format!("- **Next free slot:** {slot}\n"));
            }
            out.push_str(&format!(
                "- **When:** {} ({}, {}{})\n",
                md(&item.when),
                md(&item.team_name),
                item.status.replace('_', " "),
                item.owner
                    .as_deref()
                    .map(|o| format!(", owner {}", md(o)))
                    .unwrap_or_default()
            ));
            out.push_str(&format!(
                "- **Readiness:** {}%{}\n",
                item.readiness,
                if item.required_open > 0 {
                    format!(
                        " ({} required item{} open)",
                        item.required_open,
                        if item.required_open == 1 { "" } else { "s" }
                    )
                } else {
                    String::new()
                }
            ));
            out.push_str(&format!(
                "- **Rollback:** {}\n",
                match item.rollback.as_str() {
                    "none" => "no plan",
                    "untested" => "planned, never rehearsed",
                    _ => "planned and rehearsed",
                }
            ));
            out.push_str(&format!(
                "- **Approvals:** {} of {}\n",
                item.approvals, item.approvals_needed
            ));
            if item.conflicts.is_empty() {
                out.push_str("- **Conflicts:** none\n");
            } else {
                out.push_str("- **Conflicts:**\n");
                for c in &item.conflicts {
                    out.push_str(&format!(
                        "  - {} `{}`: {}\n",
                        c.severity,
                        c.code,
                        md(&c.message)
                    ));
                }
            }
            if !item.risk.factors.is_empty() {
                let reasons: Vec<String> = item
                    .risk
                    .factors
                    .iter()
                    .map(|f| format!("+{} {}", f.points, md(&f.reason)))
                    .collect();
                out.push_str(&format!("- **Risk:** {}\n", reasons.join("; ")));
            }
        }
    }
    if a.groups.is_empty() {
        out.push_str("\nNothing awaits a decision.\n");
    }
    out
}

/// Text that reads as itself in Markdown: the characters that would start
/// emphasis, code, links, headings, tables or HTML are escaped, and line
/// breaks become spaces.
fn md(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '\\' | '`' | '*' | '_' | '[' | ']' | '<' | '>' | '#' | '|' | '~' => {
                out.push('\\');
                out.push(c);
            }
            '\n' | '\r' => out.push(' '),
            _ => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::md;

    #[test]
    fn markdown_text_is_escaped_and_kept_on_one_line() {
        assert_eq!(
            md("a*b_c [x](y) <b> # | `z`\nnext"),
            "a\\*b\\_c \\[x\\](y) \\<b\\> \\# \\| \\`z\\` next"
        );
    }
}
