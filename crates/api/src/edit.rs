//! Editing the calendar's objects: teams, services, environments, freezes,
//! and deleting releases.
//!
//! Every change goes the same way: the stored calendar is written out as a
//! plan file, the one object is put or removed in that document, the whole
//! document is validated again (so an error names the object and field just
//! as `relcal validate` would), the conflict check runs before and after, and
//! the change is written in one transaction. A change returns the object as
//! it was and as it left it, so the app can undo it with
//! [`crate::undo_change`].

use crate::error::{ApiError, ErrorCode};
use crate::plan::stored_plan;
use crate::write::{commit, Change, Details, Edit};
use chrono::{DateTime, Utc};
use relcal_domain::wire::{
    WireEnvironment, WireFreeze, WirePlan, WireScope, WireService, WireTeam,
};
use relcal_domain::{ObjectKind, Plan, WireObject};
use relcal_store::{CatalogKind, Store};
use serde::{Deserialize, Serialize};

pub(crate) fn not_found(kind: ObjectKind, id: &str) -> ApiError {
    ApiError::new(
        ErrorCode::NotFound,
        format!("{} \"{id}\" does not exist", kind.noun()),
    )
}

/// The stored calendar as a plan document with the object `id` of `kind`
/// taken out of it, and where it was.
pub(crate) fn taken(
    plan: &Plan,
    kind: ObjectKind,
    id: &str,
) -> (WirePlan, Option<(usize, WireObject)>) {
    let mut doc = plan.to_document();
    let old = doc.take(kind, id);
    (doc, old)
}

/// Puts the object `edit` makes of the stored one (or of none, for a new
/// one) in its place, validates the whole calendar, checks and writes it.
fn save(
    store: &mut Store,
    kind: ObjectKind,
    id: &str,
    edit: impl FnOnce(&str, Option<WireObject>) -> WireObject,
    now: DateTime<Utc>,
) -> Result<Change, ApiError> {
    let id = id.trim();
    if id.is_empty() {
        return Err(ApiError::new(
            ErrorCode::Validation,
            format!("new {}: field `id`: must not be empty", kind.noun()),
        ));
    }
    let plan = stored_plan(store)?;
    let (mut doc, old) = taken(&plan, kind, id);
    let at = old.as_ref().map(|(i, _)| *i);
    doc.put(edit(id, old.map(|(_, o)| o)), at);
    let changed = relcal_domain::parse_plan_document(doc)?;
    let edit = Edit::Object {
        changed,
        kind,
        id,
        position: None,
        restoring: false,
        details: Details::default(),
    };
    commit(store, &plan, edit, now)
}

/// Text, or none when blank.
fn optional(s: &Option<String>) -> Option<String> {
    s.as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
}

/// The items that are not blank, trimmed.
fn list(items: &[String]) -> Vec<String> {
    items
        .iter()
        .map(|s| s.trim())
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect()
}

/// The fields of a team the app edits. Its allowed windows are kept.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct TeamInput {
    /// Id (new or existing).
    pub id: String,
    /// Name.
    pub name: String,
    /// Home zone (IANA), or null.
    pub timezone: Option<String>,
}

/// The fields of a service.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct ServiceInput {
    /// Id (new or existing).
    pub id: String,
    /// Owning team id.
    pub team: String,
    /// Services it needs at run time.
    pub depends_on: Vec<String>,
}

/// The fields of an environment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct EnvironmentInput {
    /// Id (new or existing).
    pub id: String,
    /// Name.
    pub name: String,
    /// Production.
    pub production: bool,
    /// Most releases at once, or null for no limit.
    pub max_concurrent: Option<u32>,
    /// Distinct approvers a release needs.
    pub required_approvals: u32,
}

/// The fields of a freeze. A one-off freeze has `end`; a recurring one has
/// `rrule` and `duration` (and maybe `exdates`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct FreezeInput {
    /// Id (new or existing).
    pub id: String,
    /// Name.
    pub name: String,
    /// `hard` or `soft`.
    pub severity: String,
    /// Zone of its local times and recurrence (IANA), or null for the calendar's.
    pub timezone: Option<String>,
    /// Start (DTSTART of a recurring freeze), a local time or RFC 3339.
    pub start: String,
    /// End of a one-off freeze.
    pub end: Option<String>,
    /// Length of each occurrence (ISO 8601) of a recurring freeze.
    pub duration: Option<String>,
    /// RRULE value of a recurring freeze, without `RRULE:`.
    pub rrule: Option<String>,
    /// Local start times of occurrences to skip.
    pub exdates: Vec<String>,
    /// Scope: team ids (empty: all).
    pub teams: Vec<String>,
    /// Scope: service ids (empty: all).
    pub services: Vec<String>,
    /// Scope: environment ids (empty: all).
    pub environments: Vec<String>,
    /// Why, for people.
    pub reason: Option<String>,
}

impl FreezeInput {
    /// The freeze as a plan document holds it, with id `id`.
    pub(crate) fn to_wire(&self, id: &str) -> WireFreeze {
        let scope = WireScope {
            teams: list(&self.teams),
            services: list(&self.services),
            environments: list(&self.environments),
        };
        let global =
            scope.teams.is_empty() && scope.services.is_empty() && scope.environments.is_empty();
        WireFreeze {
            id: id.to_owned(),
            name: self.name.clone(),
            severity: self.severity.clone(),
            timezone: optional(&self.timezone),
            start: self.start.trim().to_owned(),
            end: optional(&self.end),
            duration: optional(&self.duration),
            rrule: optional(
                &self
                    .rrule
                    .as_deref()
                    .map(|r| r.trim().trim_start_matches("RRULE:").to_owned()),
            ),
            exdates: list(&self.exdates),
            scope: (!global).then_some(scope),
            reason: optional(&self.reason),
        }
    }
}

/// Creates or updates a team. Invalid input writes nothing.
pub fn save_team(
    store: &mut Store,
    input: TeamInput,
    now: DateTime<Utc>,
) -> Result<Change, ApiError> {
    save(
        store,
        ObjectKind::Team,
        &input.id,
        |id, old| {
            // Its allowed windows are kept.
            let allowed_windows = match old {
                Some(WireObject::Team(t)) => t.allowed_windows,
                _ => Vec::new(),
            };
            WireObject::Team(WireTeam {
                id: id.to_owned(),
                name: input.name.clone(),
                timezone: optional(&input.timezone),
                allowed_windows,
            })
        },
        now,
    )
}

/// Creates or updates a service.
pub fn save_service(
    store: &mut Store,
    input: ServiceInput,
    now: DateTime<Utc>,
) -> Result<Change, ApiError> {
    save(
        store,
        ObjectKind::Service,
        &input.id,
        |id, _| {
            WireObject::Service(WireService {
                id: id.to_owned(),
                team: input.team.clone(),
                depends_on: list(&input.depends_on),
            })
        },
        now,
    )
}

/// Creates or updates an environment.
pub fn save_environment(
    store: &mut Store,
    input: EnvironmentInput,
    now: DateTime<Utc>,
) -> Result<Change, ApiError> {
    save(
        store,
        ObjectKind::Environment,
        &input.id,
        |id, _| {
            WireObject::Environment(WireEnvironment {
                id: id.to_owned(),
                name: input.name.clone(),
                production: input.production,
                max_concurrent: input.max_concurrent,
                required_approvals: input.required_approvals,
            })
        },
        now,
    )
}

/// Creates or updates a freeze.
pub fn save_freeze(
    store: &mut Store,
    input: FreezeInput,
    now: DateTime<Utc>,
) -> Result<Change, ApiError> {
    save(
        store,
        ObjectKind::Freeze,
        &input.id,
        |id, _| WireObject::Freeze(input.to_wire(id)),
        now,
    )
}

/// What still refers to the object, as a sentence, or None when nothing does.
fn still_used(
    store: &Store,
    plan: &Plan,
    kind: ObjectKind,
    id: &str,
) -> Result<Option<String>, ApiError> {
    let mut uses = Vec::new();
    let store_kind = match kind {
        ObjectKind::Team => Some(CatalogKind::Team),
        ObjectKind::Service => Some(CatalogKind::Service),
        ObjectKind::Environment => Some(CatalogKind::Environment),
        ObjectKind::Freeze => Some(CatalogKind::Freeze),
        ObjectKind::Release => None,
    };
    if let Some(k) = store_kind {
        let n = store.releases_referring_to(k, id)?;
        if n > 0 {
            let how = if kind == ObjectKind::Freeze {
                "override it"
            } else {
                "use it"
            };
            uses.push(format!(
                "{n} release{} {how}",
                if n == 1 { "" } else { "s" }
            ));
        }
    }
    let names = |v: Vec<&str>| v.join(", ");
    match kind {
        ObjectKind::Team => {
            let services: Vec<&str> = plan
                .services
                .iter()
                .filter(|s| s.team.as_str() == id)
                .map(|s| s.id.as_str())
                .collect();
            if !services.is_empty() {
                uses.push(format!("it owns the services {}", names(services)));
            }
        }
        ObjectKind::Service => {
            let services: Vec<&str> = plan
                .services
                .iter()
                .filter(|s| s.depends_on.iter().any(|d| d.as_str() == id))
                .map(|s| s.id.as_str())
                .collect();
            if !services.is_empty() {
                uses.push(format!("the services {} depend on it", names(services)));
            }
        }
        _ => {}
    }
    let scoped: Vec<&str> = plan
        .freezes
        .iter()
        .filter(|f| match kind {
            ObjectKind::Team => f.scope.teams.iter().any(|t| t.as_str() == id),
            ObjectKind::Service => f.scope.services.iter().any(|t| t.as_str() == id),
            ObjectKind::Environment => f.scope.environments.iter().any(|t| t.as_str() == id),
            _ => false,
        })
        .map(|f| f.name.as_str())
        .collect();
    if !scoped.is_empty() {
        uses.push(format!("the freezes {} are scoped to it", names(scoped)));
    }
    Ok((!uses.is_empty()).then(|| uses.join("; ")))
}

/// Deletes an object. A team, service, environment or freeze that anything
/// still refers to is refused, naming what refers to it. Deleting a release
/// reports the conflicts it leaves (a dependent's missing dependency).
pub fn delete_object(
    store: &mut Store,
    kind: ObjectKind,
    id: &str,
    now: DateTime<Utc>,
) -> Result<Change, ApiError> {
    let plan = stored_plan(store)?;
    let (doc, old) = taken(&plan, kind, id);
    if old.is_none() {
        return Err(not_found(kind, id));
    }
    if let Some(uses) = still_used(store, &plan, kind, id)? {
        return Err(ApiError::new(
            ErrorCode::Validation,
            format!(
                "{} \"{id}\" cannot be deleted: {uses}. Change those first.",
                kind.noun()
            ),
        ));
    }
    let changed = relcal_domain::parse_plan_document(doc)?;
    let edit = Edit::Object {
        changed,
        kind,
        id,
        position: None,
        restoring: false,
        details: Details::default(),
    };
    commit(store, &plan, edit, now)
}

/// Puts an object back as `previous` (plan-file JSON text) where it was
/// (`position`, as an [`crate::Undo`] holds it), or removes it when
/// `previous` is none: how [`crate::undo_change`] writes.
pub fn restore_object(
    store: &mut Store,
    kind: ObjectKind,
    id: &str,
    previous: Option<&str>,
    position: Option<u32>,
    now: DateTime<Utc>,
) -> Result<Change, ApiError> {
    restore_object_with(store, kind, id, previous, position, Details::default(), now)
}

/// [`restore_object`], a release put back with `details` (its checklist's
/// and rollback plan's, as they were when it was deleted).
pub(crate) fn restore_object_with(
    store: &mut Store,
    kind: ObjectKind,
    id: &str,
    previous: Option<&str>,
    position: Option<u32>,
    details: Details,
    now: DateTime<Utc>,
) -> Result<Change, ApiError> {
    let value = previous
        .map(|text| {
            let json = serde_json::from_str(text).map_err(|e| {
                ApiError::new(
                    ErrorCode::Validation,
                    format!(
                        "{0} \"{id}\": the saved copy is not a {0}: {e}",
                        kind.noun()
                    ),
                )
            })?;
            let object = format!("{} \"{id}\", its saved copy", kind.noun());
            Ok::<_, ApiError>(WireObject::read(kind, &object, json)?)
        })
        .transpose()?;
    let plan = stored_plan(store)?;
    let (mut doc, old) = taken(&plan, kind, id);
    if let Some(value) = value {
        // A release's place is its stored position, not an index.
        let at = match kind {
            ObjectKind::Release => None,
            _ => old.map(|(i, _)| i).or(position.map(|p| p as usize)),
        };
        doc.put(value, at);
    }
    let changed = relcal_domain::parse_plan_document(doc)?;
    let edit = Edit::Object {
        changed,
        kind,
        id,
        position,
        restoring: true,
        details,
    };
    commit(store, &plan, edit, now)
}
