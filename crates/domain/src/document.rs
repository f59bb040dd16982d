//! A plan's objects as plan-file JSON: the one place that knows it. The
//! typed [`WireObject`] is what the editors, the undo, the adapters and sync
//! put into a calendar; a sync mutation's `fields` (plan-file field names to
//! values) are merged into an object's JSON here, and read back typed before
//! anything is validated ([`crate::Plan::put_object`]).

use crate::kind::ObjectKind;
use serde_json::{Map, Value};

/// The fields a sync mutation sets on one object: plan-file field names to
/// their new values, `null` removing a field.
pub type Fields = Map<String, Value>;

/// `current` (none: a new object) with `fields` set, a `null` removing its
/// field, and its `id`: the object a mutation asks for, not yet read.
pub fn merge_fields(current: Option<&Value>, id: &str, fields: &Fields) -> Value {
    let mut obj = current
        .and_then(Value::as_object)
        .cloned()
        .unwrap_or_default();
    for (k, v) in fields {
        if v.is_null() {
            obj.remove(k);
        } else {
            obj.insert(k.clone(), v.clone());
        }
    }
    obj.insert("id".into(), Value::String(id.to_owned()));
    Value::Object(obj)
}

/// The fields of `now` that differ from `base` (removed ones as `null`):
/// what a desktop sends for an object it changed.
pub fn changed_fields(base: Option<&Value>, now: &Value) -> Fields {
    let empty = Map::new();
    let b = base.and_then(Value::as_object).unwrap_or(&empty);
    let n = now.as_object().unwrap_or(&empty);
    let mut out = Map::new();
    for (k, v) in n {
        if b.get(k) != Some(v) {
            out.insert(k.clone(), v.clone());
        }
    }
    for k in b.keys() {
        if !n.contains_key(k) {
            out.insert(k.clone(), Value::Null);
        }
    }
    out
}

/// The names of `fields` that changed between `base` and `current` (on
/// the server, since the version a mutation was made on) to another value
/// than the mutation's: the fields that cannot merge.
pub fn clashing_fields(base: Option<&Value>, current: &Value, fields: &Fields) -> Vec<String> {
    fields
        .iter()
        .filter(|(k, v)| {
            let server_changed = base.and_then(|b| b.get(*k)) != current.get(*k);
            server_changed && current.get(*k).unwrap_or(&Value::Null) != *v
        })
        .map(|(k, _)| k.clone())
        .collect()
}

/// The names of the top-level fields any of `objects` has, in order of first appearance.
pub fn field_names<'a>(objects: impl IntoIterator<Item = &'a Value>) -> Vec<String> {
    let mut names: Vec<String> = Vec::new();
    for v in objects {
        for k in v.as_object().into_iter().flat_map(|o| o.keys()) {
            if !names.contains(k) {
                names.push(k.clone());
            }
        }
    }
    names
}

use crate::wire::{WireEnvironment, WireFreeze, WirePlan, WireRelease, WireService, WireTeam};

/// One object of a plan document, typed: what the editors, the undo and
/// the adapters put into a calendar before it is validated again
/// ([`crate::parse_plan_document`]).
#[derive(Debug, Clone, serde::Serialize)]
#[serde(untagged)]
pub enum WireObject {
    /// A team.
    Team(WireTeam),
    /// A service.
    Service(WireService),
    /// An environment.
    Environment(WireEnvironment),
    /// A freeze.
    Freeze(WireFreeze),
    /// A release.
    Release(WireRelease),
}

impl WireObject {
    /// Its kind.
    pub fn kind(&self) -> ObjectKind {
        match self {
            WireObject::Team(_) => ObjectKind::Team,
            WireObject::Service(_) => ObjectKind::Service,
            WireObject::Environment(_) => ObjectKind::Environment,
            WireObject::Freeze(_) => ObjectKind::Freeze,
            WireObject::Release(_) => ObjectKind::Release,
        }
    }

    /// Its id.
    pub fn id(&self) -> &str {
        match self {
            WireObject::Team(o) => &o.id,
            WireObject::Service(o) => &o.id,
            WireObject::Environment(o) => &o.id,
            WireObject::Freeze(o) => &o.id,
            WireObject::Release(o) => &o.id,
        }
    }

    /// An object of `kind` read from plan-file JSON as a plan file's
    /// element would be: a JSON object with that kind's fields and no
    /// others; the error names `object` and the field.
    pub fn read(kind: ObjectKind, object: &str, value: Value) -> Result<Self, crate::PlanError> {
        crate::validate::read_object(kind, object, value)
    }

    /// Its plan-file JSON.
    pub fn to_json(&self) -> Value {
        // Plain strings, numbers and lists: this cannot fail.
        serde_json::to_value(self).unwrap_or(Value::Null)
    }
}

/// Puts `value` in place of the same object in `list`, or at `at` (else at
/// the end) when it is new; the index it went to.
fn put_in<T>(list: &mut Vec<T>, value: T, at: Option<usize>, id: impl Fn(&T) -> &str) -> usize {
    match list.iter().position(|x| id(x) == id(&value)) {
        Some(i) => {
            list[i] = value;
            i
        }
        None => {
            let i = at.map_or(list.len(), |i| i.min(list.len()));
            list.insert(i, value);
            i
        }
    }
}

fn take_from<T>(list: &mut Vec<T>, want: &str, id: impl Fn(&T) -> &str) -> Option<(usize, T)> {
    let i = list.iter().position(|x| id(x) == want)?;
    Some((i, list.remove(i)))
}

impl WirePlan {
    /// Puts `object` in place of the object of its kind with its id, or, when
    /// there is none, at `at` in its list (else at the end).
    pub fn put(&mut self, object: WireObject, at: Option<usize>) {
        match object {
            WireObject::Team(o) => put_in(&mut self.teams, o, at, |x| &x.id),
            WireObject::Service(o) => put_in(&mut self.services, o, at, |x| &x.id),
            WireObject::Environment(o) => put_in(&mut self.environments, o, at, |x| &x.id),
            WireObject::Freeze(o) => put_in(&mut self.freezes, o, at, |x| &x.id),
            WireObject::Release(o) => put_in(&mut self.releases, o, at, |x| &x.id),
        };
    }

    /// An empty plan document in `timezone`.
    pub fn empty(timezone: &str) -> Self {
        WirePlan {
            version: crate::PLAN_FORMAT_VERSION,
            timezone: timezone.to_owned(),
            teams: vec![],
            services: vec![],
            environments: vec![],
            freezes: vec![],
            releases: vec![],
        }
    }

    /// A copy of the object `id` of `kind`.
    pub fn get(&self, kind: ObjectKind, id: &str) -> Option<WireObject> {
        fn find<T: Clone>(list: &[T], want: &str, id: impl Fn(&T) -> &str) -> Option<T> {
            list.iter().find(|x| id(x) == want).cloned()
        }
        match kind {
            ObjectKind::Team => find(&self.teams, id, |x| &x.id).map(WireObject::Team),
            ObjectKind::Service => find(&self.services, id, |x| &x.id).map(WireObject::Service),
            ObjectKind::Environment => {
                find(&self.environments, id, |x| &x.id).map(WireObject::Environment)
            }
            ObjectKind::Freeze => find(&self.freezes, id, |x| &x.id).map(WireObject::Freeze),
            ObjectKind::Release => find(&self.releases, id, |x| &x.id).map(WireObject::Release),
        }
    }

    /// Every object, kind by kind ([`ObjectKind::ALL`]) in list order.
    pub fn into_objects(self) -> impl Iterator<Item = WireObject> {
        let WirePlan {
            teams,
            services,
            environments,
            freezes,
            releases,
            ..
        } = self;
        (teams.into_iter().map(WireObject::Team))
            .chain(services.into_iter().map(WireObject::Service))
            .chain(environments.into_iter().map(WireObject::Environment))
            .chain(freezes.into_iter().map(WireObject::Freeze))
            .chain(releases.into_iter().map(WireObject::Release))
    }

    /// Takes the object `id` of `kind` out, with the index it had.
    pub fn take(&mut self, kind: ObjectKind, id: &str) -> Option<(usize, WireObject)> {
        match kind {
            ObjectKind::Team => {
                take_from(&mut self.teams, id, |x| &x.id).map(|(i, o)| (i, WireObject::Team(o)))
            }
            ObjectKind::Service => take_from(&mut self.services, id, |x| &x.id)
                .map(|(i, o)| (i, WireObject::Service(o))),
            ObjectKind::Environment => take_from(&mut self.environments, id, |x| &x.id)
                .map(|(i, o)| (i, WireObject::Environment(o))),
            ObjectKind::Freeze => {
                take_from(&mut self.freezes, id, |x| &x.id).map(|(i, o)| (i, WireObject::Freeze(o)))
            }
            ObjectKind::Release => take_from(&mut self.releases, id, |x| &x.id)
                .map(|(i, o)| (i, WireObject::Release(o))),
        }
    }
}
