//! The go/no-go view: every release of the coming days with its readiness,
//! rollback plan, approvals and conflicts on one screen, and a verdict.

use crate::check::{stored_plan, utc, CheckSummary};
use crate::error::ApiError;
use chrono::{DateTime, Duration, Utc};
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

use crate::error::ErrorCode;
use crate::release::{append, apply_with, edited, find, refuse, Details};
use crate::ReleaseChange;
use serde::Deserialize;
use serde_json::{json, Value};
use std::collections::{BTreeMap, HashSet};

/// The checklist templates shipped with Relcal.
const DEFAULT_TEMPLATES: &str = include_str!("../../../assets/checklist-templates.json");
const TEMPLATES_KEY: &str = "checklist_templates";

/// One item of a checklist template.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct TemplateItem {
    /// Item id, unique within its template.
    pub id: String,
    /// What to check.
    pub text: String,
    /// Must be done before the release.
    pub required: bool,
}

/// A checklist template.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct ChecklistTemplate {
    /// Template id.
    pub id: String,
    /// Name.
    pub name: String,
    /// Its items.
    pub items: Vec<TemplateItem>,
}

/// The templates, and which one each environment's releases get.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[serde(deny_unknown_fields)]
pub struct ChecklistTemplates {
    /// Every template.
    pub templates: Vec<ChecklistTemplate>,
    /// The template of production environments without their own.
    pub production: String,
    /// The template of other environments without their own.
    pub other: String,
    /// Per environment id, its own template id.
    pub environments: BTreeMap<String, String>,
}

/// The checklist templates of this calendar (the shipped ones until edited).
pub fn checklist_templates(store: &Store) -> Result<ChecklistTemplates, ApiError> {
    let text = store
        .setting(TEMPLATES_KEY)?
        .unwrap_or_else(|| DEFAULT_TEMPLATES.to_owned());
    serde_json::from_str(&text).map_err(|e| {
        ApiError::new(
            ErrorCode::Internal,
            format!("the stored checklist templates are not valid: {e}"),
        )
    })
}

fn validate_templates(t: &ChecklistTemplates) -> Result<(), ApiError> {
    let bad = |object: String, field: &str, message: &str| {
        Err(ApiError::new(
            ErrorCode::Validation,
            format!("{object}: field `{field}`: {message}"),
        ))
    };
    let mut ids = HashSet::new();
    for (i, tpl) in t.templates.iter().enumerate() {
        let object = format!("templates[{i}] (id \"{}\")", tpl.id);
        if tpl.id.trim().is_empty() || !ids.insert(tpl.id.as_str()) {
            return bad(object, "id", "must be unique and not empty");
        }
        if tpl.name.trim().is_empty() {
            return bad(object, "name", "must not be empty");
        }
        let mut items = HashSet::new();
        for (j, item) in tpl.items.iter().enumerate() {
            if item.id.trim().is_empty() || !items.insert(item.id.as_str()) {
                return bad(
                    object,
                    &format!("items[{j}].id"),
                    "must be unique in the template and not empty",
                );
            }
            if item.text.trim().is_empty() {
                return bad(object, &format!("items[{j}].text"), "must not be empty");
            }
        }
    }
    for (field, id) in [("production", &t.production), ("other", &t.other)] {
        if !ids.contains(id.as_str()) {
            return bad(
                "checklist templates".into(),
                field,
                &format!("no template has the id \"{id}\""),
            );
        }
    }
    for (env, id) in &t.environments {
        if !ids.contains(id.as_str()) {
            return bad(
                "checklist templates".into(),
                &format!("environments.{env}"),
                &format!("no template has the id \"{id}\""),
            );
        }
    }
    Ok(())
}

/// Saves edited templates (validated; errors name the template and field).
pub fn save_checklist_templates(
    store: &mut Store,
    templates: ChecklistTemplates,
    now: DateTime<Utc>,
) -> Result<ChecklistTemplates, ApiError> {
    validate_templates(&templates)?;
    let before = checklist_templates(store)?;
    let text = serde_json::to_string(&templates)
        .map_err(|e| ApiError::new(ErrorCode::Internal, e.to_string()))?;
    let rec = crate::audit::record(
        store,
        now,
        "settings.checklist_templates",
        ("settings", TEMPLATES_KEY),
        serde_json::to_value(&before).ok().as_ref(),
        serde_json::to_value(&templates).ok().as_ref(),
    );
    store.set_setting(TEMPLATES_KEY, &text, &[rec])?;
    Ok(templates)
}

/// The template a release in `environment` gets.
pub(crate) fn template_for<'t>(
    templates: &'t ChecklistTemplates,
    plan: &relcal_domain::Plan,
    environment: &str,
) -> Option<&'t ChecklistTemplate> {
    let production = plan
        .environments
        .iter()
        .any(|e| e.id.as_str() == environment && e.production);
    let id = templates
        .environments
        .get(environment)
        .unwrap_or(if production {
            &templates.production
        } else {
            &templates.other
        });
    templates.templates.iter().find(|t| &t.id == id)
}

/// Adds to a release the items of its environment's template it does not have yet.
pub fn apply_checklist_template(
    store: &mut Store,
    id: &str,
    now: DateTime<Utc>,
) -> Result<ReleaseChange, ApiError> {
    let templates = checklist_templates(store)?;
    let plan = stored_plan(store)?;
    let (release, object) = find(&plan, id)?;
    let Some(template) = template_for(&templates, &plan, release.environment.as_str()) else {
        return Err(ApiError::new(
            ErrorCode::NotFound,
            format!("{object}: its environment has no checklist template"),
        ));
    };
    let have: HashSet<&str> = release.checklist.iter().map(|c| c.id.as_str()).collect();
    let missing: Vec<Value> = template
        .items
        .iter()
        .filter(|i| !have.contains(i.id.as_str()))
        .map(|i| json!({ "id": i.id, "text": i.text, "required": i.required, "done": false }))
        .collect();
    let changed = edited(&plan, release, &object, |obj| {
        append(obj, "checklist", missing);
    })?;
    apply_with(
        store,
        &plan,
        changed,
        "release.checklist_template",
        Details::default(),
        now,
    )
}

/// A change to one checklist item.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct ChecklistItemInput {
    /// Item id.
    pub item_id: String,
    /// Done or not.
    pub done: bool,
    /// Who should do it.
    pub owner: Option<String>,
    /// A note or an evidence link.
    pub note: Option<String>,
}

/// Ticks or unticks a checklist item (recording who and when), and sets its
/// owner and note.
pub fn set_checklist_item(
    store: &mut Store,
    id: &str,
    input: ChecklistItemInput,
    now: DateTime<Utc>,
) -> Result<ReleaseChange, ApiError> {
    let plan = stored_plan(store)?;
    let (release, object) = find(&plan, id)?;
    let Some(index) = release.checklist.iter().position(|c| c.id == input.item_id) else {
        return Err(ApiError::new(
            ErrorCode::NotFound,
            format!("{object}: it has no checklist item \"{}\"", input.item_id),
        ));
    };
    let clean = |s: &Option<String>| {
        s.as_deref()
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
    };
    let note = clean(&input.note);
    if note.as_deref().is_some_and(|n| n.len() > 2000) {
        return Err(refuse(
            &object,
            &format!("checklist[{index}].note"),
            "is longer than 2,000 characters",
        ));
    }
    let was_done = release.checklist[index].done;
    let previous = store
        .checklist_details(id)?
        .into_iter()
        .find(|d| d.item_id == input.item_id);
    let (done_by, done_at) = match (input.done, was_done) {
        (true, true) => (
            previous.as_ref().and_then(|p| p.done_by.clone()),
            previous.as_ref().and_then(|p| p.done_at.clone()),
        ),
        (true, false) => (Some(store.actor().to_owned()), Some(utc(now))),
        (false, _) => (None, None),
    };
    let changed = edited(&plan, release, &object, |obj| {
        if let Some(item) = obj
            .get_mut("checklist")
            .and_then(|l| l.as_array_mut())
            .and_then(|l| l.get_mut(index))
        {
            item["done"] = Value::Bool(input.done);
        }
    })?;
    let detail = relcal_store::ChecklistDetail {
        item_id: input.item_id.clone(),
        owner: clean(&input.owner),
        done_by,
        done_at,
        note,
    };
    apply_with(
        store,
        &plan,
        changed,
        if input.done {
            "release.checklist_done"
        } else {
            "release.checklist_open"
        },
        Details {
            checklist: Some(detail),
            rollback: None,
        },
        now,
    )
}

/// Saves a release's rollback plan. Errors name the field.
pub fn save_rollback(
    store: &mut Store,
    id: &str,
    input: crate::RollbackView,
    now: DateTime<Utc>,
) -> Result<ReleaseChange, ApiError> {
    let plan = stored_plan(store)?;
    let (release, object) = find(&plan, id)?;
    let steps: Vec<String> = input
        .steps
        .iter()
        .map(|s| s.trim().to_owned())
        .filter(|s| !s.is_empty())
        .collect();
    if steps.is_empty() {
        return Err(refuse(&object, "rollback.steps", "give at least one step"));
    }
    if input
        .time_budget_minutes
        .is_some_and(|m| m == 0 || m > 24 * 60)
    {
        return Err(refuse(
            &object,
            "rollback.time_budget_minutes",
            "must be from 1 to 1440 minutes",
        ));
    }
    let tested_on = input
        .tested_on
        .as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|d| {
            chrono::NaiveDate::parse_from_str(d, "%Y-%m-%d")
                .map(|_| d.to_owned())
                .map_err(|_| {
                    refuse(
                        &object,
                        "rollback.tested_on",
                        format!("`{d}` is not a date such as 2026-11-20"),
                    )
                })
        })
        .transpose()?;
    if tested_on.is_some() && !input.tested {
        return Err(refuse(
            &object,
            "rollback.tested_on",
            "a rehearsal date needs `tested`",
        ));
    }
    let owner = input
        .owner
        .as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty());
    let changed = edited(&plan, release, &object, |obj| {
        let mut rb = json!({ "steps": steps, "tested": input.tested });
        if let Some(o) = owner {
            rb["owner"] = json!(o);
        }
        if let Some(m) = input.time_budget_minutes {
            rb["time_budget_minutes"] = json!(m);
        }
        obj.insert("rollback".into(), rb);
    })?;
    let detail = relcal_store::RollbackDetail {
        tested_on,
        migration_reversible: input.migration_reversible,
        triggers: input
            .triggers
            .iter()
            .map(|t| t.trim().to_owned())
            .filter(|t| !t.is_empty())
            .collect(),
    };
    apply_with(
        store,
        &plan,
        changed,
        "release.rollback",
        Details {
            checklist: None,
            rollback: Some(detail),
        },
        now,
    )
}
