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

use crate::check::{CheckSummary, ConflictReport};
use crate::error::{ApiError, ErrorCode};
use crate::plan::stored_plan;
use chrono::{DateTime, Utc};
use relcal_domain::{position, put, ObjectKind};
use relcal_domain::{Conflict, Plan};
use relcal_store::{CatalogKind, Store};
use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};
use std::collections::HashSet;

/// What one change of a calendar object did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct ObjectChange {
    /// What kind of object changed.
    pub kind: ObjectKind,
    /// Its id.
    pub id: String,
    /// `created`, `updated` or `deleted`.
    pub action: String,
    /// The whole calendar's counts before the change.
    pub before: CheckSummary,
    /// The whole calendar's counts after the change.
    pub after: CheckSummary,
    /// Conflicts the change created (at most 50; see `gained_total`).
    pub gained: Vec<ConflictReport>,
    /// How many conflicts the change created.
    pub gained_total: u32,
    /// Conflicts the change resolved (at most 50; see `resolved_total`).
    pub resolved: Vec<ConflictReport>,
    /// How many conflicts the change resolved.
    pub resolved_total: u32,
    /// What takes the change back (`undo_change`).
    pub undo: crate::Undo,
}

pub(crate) const LISTED: usize = 50;

pub(crate) fn not_found(kind: ObjectKind, id: &str) -> ApiError {
    ApiError::new(
        ErrorCode::NotFound,
        format!("{} \"{id}\" does not exist", kind.noun()),
    )
}

/// An object as it is stored: its plan-file JSON and its place.
pub(crate) struct Stored {
    pub(crate) value: Value,
    /// Index in its list (teams, ...), or the release's stored position.
    position: u32,
}

/// The stored calendar as a plan document, with the object `id` of `kind`.
pub(crate) fn document(
    store: &Store,
    plan: &Plan,
    kind: ObjectKind,
    id: &str,
) -> Result<(Value, Option<Stored>), ApiError> {
    let doc = plan.to_json();
    let index = doc
        .get(kind.list())
        .and_then(Value::as_array)
        .and_then(|list| position(list, id).map(|i| (i, list[i].clone())));
    let Some((i, value)) = index else {
        return Ok((doc, None));
    };
    let position = match kind {
        ObjectKind::Release => store.release_position(id)?.unwrap_or(0),
        _ => i64::try_from(i).unwrap_or(i64::MAX),
    };
    let position = u32::try_from(position).unwrap_or(u32::MAX);
    Ok((doc, Some(Stored { value, position })))
}

fn key(c: &ConflictReport) -> (String, Vec<String>, Option<String>, String) {
    (
        c.code.clone(),
        c.releases.clone(),
        c.freeze.clone(),
        c.start.clone(),
    )
}

pub(crate) fn reports(conflicts: Vec<Conflict>) -> (Vec<ConflictReport>, CheckSummary) {
    let mut summary = CheckSummary::default();
    let list = conflicts
        .into_iter()
        .map(|c| {
            summary.count(c.severity);
            ConflictReport::from(c)
        })
        .collect();
    (list, summary)
}

/// The conflicts of `after` missing from `before`: (listed, total).
pub(crate) fn difference(
    after: &[ConflictReport],
    before: &[ConflictReport],
) -> (Vec<ConflictReport>, u32) {
    let seen: HashSet<_> = before.iter().map(key).collect();
    let new: Vec<&ConflictReport> = after.iter().filter(|c| !seen.contains(&key(c))).collect();
    let total = u32::try_from(new.len()).unwrap_or(u32::MAX);
    (new.into_iter().take(LISTED).cloned().collect(), total)
}

/// Validates `doc`, checks it against `plan`, writes it, and reports.
fn commit(
    store: &mut Store,
    plan: &Plan,
    doc: Value,
    (kind, id): (ObjectKind, &str),
    previous: Option<Stored>,
    restore_at: Option<Option<u32>>,
    now: DateTime<Utc>,
) -> Result<ObjectChange, ApiError> {
    let new_value = doc
        .get(kind.list())
        .and_then(Value::as_array)
        .and_then(|l| position(l, id).map(|i| l[i].clone()));
    let deleted = new_value.is_none();
    let changed = relcal_domain::parse_plan_value(doc)?;
    // The object as it is stored now (defaults left out, as a read gives it):
    // what an undo compares the stored object with.
    let stored_after = relcal_domain::object_in(&changed.to_json(), kind, id);
    let (before_list, before) = reports(relcal_domain::check(plan, now));
    let (after_list, after) = reports(relcal_domain::check(&changed, now));
    let action = match (&previous, deleted) {
        (_, true) => "deleted",
        (None, false) => "created",
        (Some(_), false) => "updated",
    };
    // An undo is recorded as what it is.
    let verb = if restore_at.is_some() {
        "restored"
    } else {
        action
    };
    let rec = crate::audit::record(
        store,
        now,
        &format!("{}.{verb}", kind.noun()),
        (kind.noun(), id),
        previous.as_ref().map(|p| &p.value),
        new_value.as_ref(),
    );
    match kind {
        ObjectKind::Release => match changed.releases.iter().find(|r| r.id.as_str() == id) {
            Some(r) => {
                store.replace_release_at(r, restore_at.flatten().map(i64::from), &[rec])?;
            }
            None => {
                store.delete_release(id, &[rec])?;
            }
        },
        _ => store.replace_catalog(&changed, &[rec])?,
    }
    tracing::info!(kind = kind.noun(), id, action, "calendar object changed");
    let (gained, gained_total) = difference(&after_list, &before_list);
    let (resolved, resolved_total) = difference(&before_list, &after_list);
    Ok(ObjectChange {
        kind,
        id: id.to_owned(),
        action: action.to_owned(),
        undo: crate::Undo {
            kind,
            id: id.to_owned(),
            before: previous.as_ref().map(|p| p.value.to_string()),
            after: stored_after.as_ref().map(Value::to_string),
            position: previous.as_ref().map(|p| p.position),
        },
        before,
        after,
        gained,
        gained_total,
        resolved,
        resolved_total,
    })
}

/// Puts the object as `fields` over what is stored (so fields the caller
/// does not edit are kept), validates, checks and writes.
fn save(
    store: &mut Store,
    kind: ObjectKind,
    id: &str,
    fields: Map<String, Value>,
    now: DateTime<Utc>,
) -> Result<ObjectChange, ApiError> {
    let id = id.trim();
    if id.is_empty() {
        return Err(ApiError::new(
            ErrorCode::Validation,
            format!("new {}: field `id`: must not be empty", kind.noun()),
        ));
    }
    let plan = stored_plan(store)?;
    let (mut doc, previous) = document(store, &plan, kind, id)?;
    let mut value = previous
        .as_ref()
        .map_or_else(|| json!({}), |p| p.value.clone());
    if let Some(obj) = value.as_object_mut() {
        for (k, v) in fields {
            if v.is_null() {
                obj.remove(&k);
            } else {
                obj.insert(k, v);
            }
        }
        obj.insert("id".into(), Value::String(id.to_owned()));
    }
    put(&mut doc, kind, id, Some(value), None);
    commit(store, &plan, doc, (kind, id), previous, None, now)
}

/// Text, or null when blank.
fn optional(s: &Option<String>) -> Value {
    s.as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map_or(Value::Null, |s| Value::String(s.to_owned()))
}

/// A list, or null when empty (the plan file leaves empty lists out).
fn list(items: &[String]) -> Value {
    let items: Vec<&str> = items
        .iter()
        .map(|s| s.trim())
        .filter(|s| !s.is_empty())
        .collect();
    if items.is_empty() {
        Value::Null
    } else {
        Value::from(items)
    }
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
    pub(crate) fn fields(&self) -> Map<String, Value> {
        let scope = json!({
            "teams": list(&self.teams),
            "services": list(&self.services),
            "environments": list(&self.environments),
        });
        let scope: Map<String, Value> = scope
            .as_object()
            .into_iter()
            .flatten()
            .filter(|(_, v)| !v.is_null())
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        let mut m = Map::new();
        m.insert("name".into(), Value::String(self.name.clone()));
        m.insert("severity".into(), Value::String(self.severity.clone()));
        m.insert("timezone".into(), optional(&self.timezone));
        m.insert("start".into(), Value::String(self.start.trim().to_owned()));
        m.insert("end".into(), optional(&self.end));
        m.insert("duration".into(), optional(&self.duration));
        m.insert(
            "rrule".into(),
            optional(
                &self
                    .rrule
                    .as_deref()
                    .map(|r| r.trim().trim_start_matches("RRULE:").to_owned()),
            ),
        );
        m.insert("exdates".into(), list(&self.exdates));
        m.insert(
            "scope".into(),
            if scope.is_empty() {
                Value::Null
            } else {
                Value::Object(scope)
            },
        );
        m.insert("reason".into(), optional(&self.reason));
        m
    }
}

/// Creates or updates a team. Invalid input writes nothing.
pub fn save_team(
    store: &mut Store,
    input: TeamInput,
    now: DateTime<Utc>,
) -> Result<ObjectChange, ApiError> {
    let mut m = Map::new();
    m.insert("name".into(), Value::String(input.name.clone()));
    m.insert("timezone".into(), optional(&input.timezone));
    save(store, ObjectKind::Team, &input.id, m, now)
}

/// Creates or updates a service.
pub fn save_service(
    store: &mut Store,
    input: ServiceInput,
    now: DateTime<Utc>,
) -> Result<ObjectChange, ApiError> {
    let mut m = Map::new();
    m.insert("team".into(), Value::String(input.team.clone()));
    m.insert("depends_on".into(), list(&input.depends_on));
    save(store, ObjectKind::Service, &input.id, m, now)
}

/// Creates or updates an environment.
pub fn save_environment(
    store: &mut Store,
    input: EnvironmentInput,
    now: DateTime<Utc>,
) -> Result<ObjectChange, ApiError> {
    let mut m = Map::new();
    m.insert("name".into(), Value::String(input.name.clone()));
    m.insert("production".into(), Value::Bool(input.production));
    m.insert(
        "max_concurrent".into(),
        input.max_concurrent.map_or(Value::Null, Value::from),
    );
    m.insert(
        "required_approvals".into(),
        Value::from(input.required_approvals),
    );
    save(store, ObjectKind::Environment, &input.id, m, now)
}

/// Creates or updates a freeze.
pub fn save_freeze(
    store: &mut Store,
    input: FreezeInput,
    now: DateTime<Utc>,
) -> Result<ObjectChange, ApiError> {
    save(store, ObjectKind::Freeze, &input.id, input.fields(), now)
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
) -> Result<ObjectChange, ApiError> {
    let plan = stored_plan(store)?;
    let (mut doc, previous) = document(store, &plan, kind, id)?;
    if previous.is_none() {
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
    put(&mut doc, kind, id, None, None);
    commit(store, &plan, doc, (kind, id), previous, None, now)
}

/// Puts an object back as it was and where it was (`previous` and
/// `position` from an [`ObjectChange`]), or removes it when `previous` is
/// null: the undo of any change.
pub fn restore_object(
    store: &mut Store,
    kind: ObjectKind,
    id: &str,
    previous: Option<&str>,
    position: Option<u32>,
    now: DateTime<Utc>,
) -> Result<ObjectChange, ApiError> {
    let value = previous
        .map(serde_json::from_str::<Value>)
        .transpose()
        .map_err(|e| {
            ApiError::new(
                ErrorCode::Validation,
                format!("{} \"{id}\": the saved copy is not JSON: {e}", kind.noun()),
            )
        })?;
    let plan = stored_plan(store)?;
    let (mut doc, current) = document(store, &plan, kind, id)?;
    let at = match kind {
        // A release's place is its stored position, not an index.
        ObjectKind::Release => None,
        _ => position.map(|p| p as usize),
    };
    put(&mut doc, kind, id, value, at);
    commit(store, &plan, doc, (kind, id), current, Some(position), now)
}
