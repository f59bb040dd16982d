//! The release form: what it edits, the catalog it picks from, saving a
//! release and previewing its conflicts as it is typed.

use crate::check::ConflictReport;
use crate::error::ApiError;
use crate::plan::stored_plan;
use crate::release::{apply, check_approved, find};
use crate::write::Change;
use chrono::{DateTime, Utc};
use relcal_domain::{Checker, Plan, Release, ReleaseId};
use relcal_store::Store;
use serde::Serialize;

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
) -> Result<Change, ApiError> {
    let plan = stored_plan(store)?;
    let templates = crate::checklist_templates(store)?;
    let template = crate::templates::template_for(&templates, &plan, &input.environment);
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
    let template = crate::templates::template_for(&templates, &plan, &input.environment);
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
