//! Checklist templates: the items a new release gets for its environment
//! (shipped in `assets/checklist-templates.json`, editable in Settings).

use crate::error::{ApiError, ErrorCode};
use chrono::{DateTime, Utc};
use relcal_store::Store;
use serde::{Deserialize, Serialize};
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
    crate::json_setting::save(
        store,
        TEMPLATES_KEY,
        "settings.checklist_templates",
        (&before, &templates),
        now,
    )?;
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
