//! Changing one release: move it, change its status. Each change is checked
//! (the release's conflicts before and after) and written in one transaction.

use crate::check::{stored_plan, utc, CheckSummary, ConflictReport};
use crate::error::{ApiError, ErrorCode};
use chrono::{DateTime, Utc};
use relcal_domain::{Checker, Conflict, Plan, Release, ReleaseId};
use relcal_store::Store;
use serde::Serialize;

/// What one change did to a release and to the calendar's conflicts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct ReleaseChange {
    /// The release changed.
    pub release: String,
    /// Its title.
    pub title: String,
    /// Its window after the change, RFC 3339 UTC.
    pub start: String,
    /// Its window after the change, RFC 3339 UTC.
    pub end: String,
    /// Its status after the change.
    pub status: String,
    /// Its conflicts before the change.
    pub before: Vec<ConflictReport>,
    /// Its conflicts after the change.
    pub after: Vec<ConflictReport>,
    /// The whole calendar's counts after the change.
    pub summary: CheckSummary,
}

/// The release with `id`, and how plan-file errors name it.
pub(crate) fn find<'p>(plan: &'p Plan, id: &str) -> Result<(&'p Release, String), ApiError> {
    plan.releases
        .iter()
        .enumerate()
        .find(|(_, r)| r.id.as_str() == id)
        .map(|(i, r)| (r, format!("releases[{i}] (id \"{id}\")")))
        .ok_or_else(|| no_such_release(id))
}

/// The error for a release id that is not in the calendar.
pub(crate) fn no_such_release(id: &str) -> ApiError {
    ApiError::new(
        ErrorCode::NotFound,
        format!("release \"{id}\" does not exist"),
    )
}

/// Checks `changed` against the calendar, stores it, and reports the difference.
fn apply(
    store: &mut Store,
    plan: &Plan,
    changed: Release,
    action: &str,
    now: DateTime<Utc>,
) -> Result<ReleaseChange, ApiError> {
    apply_with(store, plan, changed, action, Details::default(), now)
}

/// What the plan format does not carry, written with a release.
#[derive(Default)]
pub(crate) struct Details {
    pub checklist: Option<relcal_store::ChecklistDetail>,
    pub rollback: Option<relcal_store::RollbackDetail>,
}

/// [`apply`], also writing `details` in the same transaction.
pub(crate) fn apply_with(
    store: &mut Store,
    plan: &Plan,
    changed: Release,
    action: &str,
    details: Details,
    now: DateTime<Utc>,
) -> Result<ReleaseChange, ApiError> {
    let id: ReleaseId = changed.id.clone();
    let mut checker = Checker::new(plan, now);
    let before = checker.conflicts_of(&id);
    checker.upsert_release(changed.clone());
    let after = checker.conflicts_of(&id);
    let summary = summary_of(&checker);
    let old = plan.releases.iter().find(|r| r.id == changed.id);
    write_change(store, old, &changed, action, details, now)?;
    Ok(change_report(&changed, before, after, summary))
}

/// The checker's counts by severity.
pub(crate) fn summary_of(checker: &Checker<'_>) -> CheckSummary {
    let [errors, warnings, infos] = checker.count_by_severity();
    let n = |x: usize| u32::try_from(x).unwrap_or(u32::MAX);
    CheckSummary {
        errors: n(errors),
        warnings: n(warnings),
        infos: n(infos),
    }
}

/// Stores `changed` (replacing `old`, if any) with `details` and its audit
/// entry, in one transaction.
pub(crate) fn write_change(
    store: &mut Store,
    old: Option<&Release>,
    changed: &Release,
    action: &str,
    details: Details,
    now: DateTime<Utc>,
) -> Result<(), ApiError> {
    let old = old.map(relcal_domain::release_to_json);
    let action = match (&old, action) {
        (None, "release.update") => "release.create",
        (_, a) => a,
    };
    let rec = crate::audit::record(
        store,
        now,
        action,
        ("release", changed.id.as_str()),
        old.as_ref(),
        Some(&relcal_domain::release_to_json(changed)),
    );
    store.replace_release_with_details(
        changed,
        details.checklist.as_ref(),
        details.rollback.as_ref(),
        &[rec],
    )?;
    tracing::info!(release = %changed.id, "release changed");
    Ok(())
}

/// What a change did, for the caller.
pub(crate) fn change_report(
    changed: &Release,
    before: Vec<Conflict>,
    after: Vec<Conflict>,
    summary: CheckSummary,
) -> ReleaseChange {
    ReleaseChange {
        release: changed.id.to_string(),
        title: changed.title.clone(),
        start: utc(changed.start.utc),
        end: utc(changed.end.utc),
        status: changed.status.as_str().to_owned(),
        before: before.into_iter().map(ConflictReport::from).collect(),
        after: after.into_iter().map(ConflictReport::from).collect(),
        summary,
    }
}

/// Reschedules a release to `[start, end)` (instants, or local times in the
/// calendar's zone). Invalid input writes nothing.
pub fn move_release(
    store: &mut Store,
    id: &str,
    start: &str,
    end: &str,
    now: DateTime<Utc>,
) -> Result<ReleaseChange, ApiError> {
    let plan = stored_plan(store)?;
    let (release, object) = find(&plan, id)?;
    let moved = release.with_window(&object, start, end, plan.timezone)?;
    apply(store, &plan, moved, "release.move", now)
}

/// Sets a release's status (`in_progress`, `done`, `rolled_back`, ...).
pub fn set_release_status(
    store: &mut Store,
    id: &str,
    status: &str,
    now: DateTime<Utc>,
) -> Result<ReleaseChange, ApiError> {
    let plan = stored_plan(store)?;
    let (release, object) = find(&plan, id)?;
    let changed = release.with_status(&object, status)?;
    check_approved(&plan, &changed, &object)?;
    apply(store, &plan, changed, "release.status", now)
}

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
    Ok(ReleaseDetail {
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
            })
            .collect(),
        conflicts,
        history: {
            let mut h = crate::audit_log(store, Some(id))?;
            h.reverse();
            h
        },
    })
}

/// The fields of a release that the app's form edits. Readiness, rollback,
/// approvals and freeze exceptions are kept as they are.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct ReleaseInput {
    /// Release id (new or existing).
    pub id: String,
    /// Title.
    pub title: String,
    /// Team id.
    pub team: String,
    /// Service ids.
    pub services: Vec<String>,
    /// Environment id.
    pub environment: String,
    /// Window start: RFC 3339, or a local time in the calendar's zone.
    pub start: String,
    /// Window end.
    pub end: String,
    /// Status.
    pub status: String,
    /// Who runs it.
    pub owner: Option<String>,
    /// Releases that must finish first.
    pub depends_on: Vec<String>,
    /// What ships.
    pub version: Option<String>,
}

/// What the release form offers to pick from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct Catalog {
    /// Teams: (id, name).
    pub teams: Vec<CatalogEntry>,
    /// Services: (id, owning team id as `group`).
    pub services: Vec<CatalogEntry>,
    /// Environments: (id, name).
    pub environments: Vec<CatalogEntry>,
    /// Releases: (id, title), for dependencies.
    pub releases: Vec<CatalogEntry>,
}

/// One choice in a form.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct CatalogEntry {
    /// Id.
    pub id: String,
    /// Display name.
    pub name: String,
    /// What it belongs to (a service's team), if anything.
    pub group: Option<String>,
}

/// Teams, services, environments and releases to choose from.
pub fn catalog(store: &Store) -> Result<Catalog, ApiError> {
    let plan = stored_plan(store)?;
    let entry = |id: &str, name: &str, group: Option<&str>| CatalogEntry {
        id: id.to_owned(),
        name: name.to_owned(),
        group: group.map(str::to_owned),
    };
    Ok(Catalog {
        teams: plan
            .teams
            .iter()
            .map(|t| entry(t.id.as_str(), &t.name, None))
            .collect(),
        services: plan
            .services
            .iter()
            .map(|s| entry(s.id.as_str(), s.id.as_str(), Some(s.team.as_str())))
            .collect(),
        environments: plan
            .environments
            .iter()
            .map(|e| entry(e.id.as_str(), &e.name, None))
            .collect(),
        releases: plan
            .releases
            .iter()
            .map(|r| entry(r.id.as_str(), &r.title, None))
            .collect(),
    })
}

/// The form's view of an existing release.
pub fn release_input(store: &Store, id: &str) -> Result<ReleaseInput, ApiError> {
    let plan = stored_plan(store)?;
    let (r, _) = find(&plan, id)?;
    Ok(ReleaseInput {
        id: r.id.to_string(),
        title: r.title.clone(),
        team: r.team.to_string(),
        services: r.services.iter().map(ToString::to_string).collect(),
        environment: r.environment.to_string(),
        start: r.start.value.to_string(),
        end: r.end.value.to_string(),
        status: r.status.as_str().to_owned(),
        owner: r.owner.clone(),
        depends_on: r.depends_on.iter().map(ToString::to_string).collect(),
        version: r.version.clone(),
    })
}

/// The release `input` describes, validated like a plan file's release
/// (errors name the field), over what is stored for it.
fn release_from_input(
    plan: &Plan,
    input: &ReleaseInput,
    template: Option<&crate::ChecklistTemplate>,
) -> Result<Release, ApiError> {
    let existing = plan.releases.iter().position(|r| r.id.as_str() == input.id);
    let object = match existing {
        Some(i) => format!("releases[{i}] (id \"{}\")", input.id),
        None => format!("new release (id \"{}\")", input.id),
    };
    let mut value = existing
        .map(|i| relcal_domain::release_to_json(&plan.releases[i]))
        .unwrap_or_else(|| serde_json::json!({}));
    if let Some(obj) = value.as_object_mut() {
        let text = |s: &str| serde_json::Value::String(s.to_owned());
        let list = |l: &[String]| serde_json::Value::from(l.to_vec());
        obj.insert("id".into(), text(&input.id));
        obj.insert("title".into(), text(&input.title));
        obj.insert("team".into(), text(&input.team));
        obj.insert("services".into(), list(&input.services));
        obj.insert("environment".into(), text(&input.environment));
        obj.insert("start".into(), text(&input.start));
        obj.insert("end".into(), text(&input.end));
        obj.insert("status".into(), text(&input.status));
        obj.insert("depends_on".into(), list(&input.depends_on));
        // A new release gets the checklist of its environment's template.
        if let (None, Some(t)) = (existing, template) {
            let items: Vec<serde_json::Value> = t
                .items
                .iter()
                .map(|i| serde_json::json!({ "id": i.id, "text": i.text, "required": i.required, "done": false }))
                .collect();
            if !items.is_empty() {
                obj.insert("checklist".into(), serde_json::Value::from(items));
            }
        }
        for (key, v) in [("owner", &input.owner), ("version", &input.version)] {
            match v.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
                Some(s) => obj.insert(key.into(), text(s)),
                None => obj.remove(key),
            };
        }
    }
    Ok(relcal_domain::parse_release_value(plan, &object, value)?)
}

/// Creates a release, or updates the one with its id, validated like a plan
/// file's release (errors name the field). Nothing is written on invalid input.
pub fn save_release(
    store: &mut Store,
    input: ReleaseInput,
    now: DateTime<Utc>,
) -> Result<ReleaseChange, ApiError> {
    let plan = stored_plan(store)?;
    let templates = crate::checklist_templates(store)?;
    let template = crate::readiness::template_for(&templates, &plan, &input.environment);
    let release = release_from_input(&plan, &input, template)?;
    let object = format!("release \"{}\"", input.id);
    check_approved(&plan, &release, &object)?;
    apply(store, &plan, release, "release.update", now)
}

/// What saving a release as typed would do to its conflicts. Writes nothing.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct ReleasePreview {
    /// Its conflicts as stored now (none for a new release).
    pub before: Vec<ConflictReport>,
    /// Its conflicts if saved as typed.
    pub after: Vec<ConflictReport>,
}

/// Checks a release as typed in the form against the calendar, without
/// saving it: the form shows the conflicts before the person saves.
pub fn preview_release(
    store: &Store,
    input: &ReleaseInput,
    now: DateTime<Utc>,
) -> Result<ReleasePreview, ApiError> {
    let plan = stored_plan(store)?;
    let templates = crate::checklist_templates(store)?;
    let template = crate::readiness::template_for(&templates, &plan, &input.environment);
    let release = release_from_input(&plan, input, template)?;
    let id: ReleaseId = release.id.clone();
    let mut checker = Checker::new(&plan, now);
    let before = checker.conflicts_of(&id);
    checker.upsert_release(release);
    let after = checker.conflicts_of(&id);
    Ok(ReleasePreview {
        before: before.into_iter().map(ConflictReport::from).collect(),
        after: after.into_iter().map(ConflictReport::from).collect(),
    })
}

pub(crate) fn refuse(object: &str, field: &str, message: impl std::fmt::Display) -> ApiError {
    ApiError::new(
        ErrorCode::Validation,
        format!("{object}: field `{field}`: {message}"),
    )
}

/// Refuses the status `approved` while the environment's approvals are missing.
pub(crate) fn check_approved(plan: &Plan, release: &Release, object: &str) -> Result<(), ApiError> {
    if release.status != relcal_domain::ReleaseStatus::Approved {
        return Ok(());
    }
    let needed = plan
        .environments
        .iter()
        .find(|e| e.id == release.environment)
        .map_or(0, |e| e.required_approvals);
    let have = release.approvers();
    if (have.len() as u32) < needed {
        let who = if have.is_empty() {
            "none".to_owned()
        } else {
            have.join(", ")
        };
        return Err(refuse(
            object,
            "status",
            format!(
                "`approved` needs {needed} distinct approvals in {}; it has {} ({who})",
                release.environment,
                have.len()
            ),
        ));
    }
    Ok(())
}

/// Appends `items` to the list `key` of a plan-file object (creating it).
pub(crate) fn append(
    obj: &mut serde_json::Map<String, serde_json::Value>,
    key: &str,
    items: Vec<serde_json::Value>,
) {
    let list = obj
        .entry(key)
        .or_insert_with(|| serde_json::Value::from(Vec::<serde_json::Value>::new()));
    if let Some(list) = list.as_array_mut() {
        list.extend(items);
    }
}

/// The release with its JSON changed by `edit`, validated like a plan's.
pub(crate) fn edited(
    plan: &Plan,
    release: &Release,
    object: &str,
    edit: impl FnOnce(&mut serde_json::Map<String, serde_json::Value>),
) -> Result<Release, ApiError> {
    let mut value = relcal_domain::release_to_json(release);
    if let Some(obj) = value.as_object_mut() {
        edit(obj);
    }
    Ok(relcal_domain::parse_release_value(plan, object, value)?)
}

/// Records the store's actor as an approver of the release, now. Refused for
/// the person who runs it, for a second approval by the same person, and for
/// a release that is no longer active.
pub fn approve_release(
    store: &mut Store,
    id: &str,
    now: DateTime<Utc>,
) -> Result<ReleaseChange, ApiError> {
    let plan = stored_plan(store)?;
    let (release, object) = find(&plan, id)?;
    let who = store.actor().to_owned();
    if release.owner.as_deref() == Some(who.as_str()) {
        return Err(refuse(
            &object,
            "approvals",
            format!("{who} runs this release and cannot approve it"),
        ));
    }
    if release.approvals.iter().any(|a| a.by == who) {
        return Err(refuse(
            &object,
            "approvals",
            format!("{who} has already approved it"),
        ));
    }
    if !release.status.is_active() {
        return Err(refuse(
            &object,
            "approvals",
            format!("a {} release cannot be approved", release.status.as_str()),
        ));
    }
    let changed = edited(&plan, release, &object, |obj| {
        let entry = serde_json::json!({ "by": who, "at": utc(now) });
        append(obj, "approvals", vec![entry]);
    })?;
    apply(store, &plan, changed, "release.approve", now)
}

/// Withdraws `approver`'s approval. An `approved` release that no longer has
/// its approvals goes back to `planned`.
pub fn revoke_approval(
    store: &mut Store,
    id: &str,
    approver: &str,
    now: DateTime<Utc>,
) -> Result<ReleaseChange, ApiError> {
    let plan = stored_plan(store)?;
    let (release, object) = find(&plan, id)?;
    if !release.approvals.iter().any(|a| a.by == approver) {
        return Err(ApiError::new(
            ErrorCode::NotFound,
            format!("{object}: {approver} has not approved it"),
        ));
    }
    let mut changed = edited(&plan, release, &object, |obj| {
        if let Some(list) = obj.get_mut("approvals").and_then(|a| a.as_array_mut()) {
            list.retain(|a| a.get("by").and_then(|b| b.as_str()) != Some(approver));
        }
    })?;
    if check_approved(&plan, &changed, &object).is_err() {
        changed.status = relcal_domain::ReleaseStatus::Planned;
    }
    apply(store, &plan, changed, "release.revoke_approval", now)
}

/// Records an approved exception to a freeze for this release: `reason` says
/// why, `approver` who allowed it. The engine then reports
/// `freeze.overridden` instead of a freeze conflict.
pub fn request_override(
    store: &mut Store,
    id: &str,
    freeze: &str,
    reason: &str,
    approver: &str,
    now: DateTime<Utc>,
) -> Result<ReleaseChange, ApiError> {
    let plan = stored_plan(store)?;
    let (release, object) = find(&plan, id)?;
    let (reason, approver) = (reason.trim(), approver.trim());
    if reason.is_empty() {
        return Err(refuse(
            &object,
            "overrides.reason",
            "say why the freeze must be broken",
        ));
    }
    if approver.is_empty() {
        return Err(refuse(
            &object,
            "overrides.by",
            "name who approved the exception",
        ));
    }
    if approver == store.actor() {
        return Err(refuse(
            &object,
            "overrides.by",
            format!("{approver} asks for the exception and cannot also approve it"),
        ));
    }
    let Some(f) = plan.freezes.iter().find(|f| f.id.as_str() == freeze) else {
        return Err(ApiError::new(
            ErrorCode::NotFound,
            format!("freeze \"{freeze}\" does not exist"),
        ));
    };
    if !f.scope.matches(release) {
        return Err(refuse(
            &object,
            "overrides.freeze",
            format!("{} does not apply to this release", f.name),
        ));
    }
    if release.overrides.iter().any(|o| o.freeze == f.id) {
        return Err(refuse(
            &object,
            "overrides.freeze",
            format!("it already has an exception to {}", f.name),
        ));
    }
    let changed = edited(&plan, release, &object, |obj| {
        let entry = serde_json::json!({ "freeze": freeze, "reason": reason, "by": approver });
        append(obj, "overrides", vec![entry]);
    })?;
    apply(store, &plan, changed, "release.override", now)
}
