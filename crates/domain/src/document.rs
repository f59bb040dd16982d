//! A plan file as a JSON document: finding, putting and removing one object
//! by kind and id. The sync log, the adapters and the editors change a
//! calendar this way, then validate the whole document again
//! ([`crate::parse_plan_value`]).

use crate::kind::ObjectKind;
use serde_json::Value;

/// Where the object `id` is in a plan-file list.
pub fn position(list: &[Value], id: &str) -> Option<usize> {
    list.iter()
        .position(|v| v.get("id").and_then(Value::as_str) == Some(id))
}

/// The object `id` of `kind` in a plan document.
pub fn object_in(doc: &Value, kind: ObjectKind, id: &str) -> Option<Value> {
    let list = doc.get(kind.list())?.as_array()?;
    position(list, id).map(|i| list[i].clone())
}

/// Puts `value` in place of the object `id` (or at `at`, else at the end),
/// or removes it.
pub fn put(doc: &mut Value, kind: ObjectKind, id: &str, value: Option<Value>, at: Option<usize>) {
    let Some(list) = doc.get_mut(kind.list()).and_then(Value::as_array_mut) else {
        return;
    };
    match (position(list, id), value) {
        (Some(i), Some(v)) => list[i] = v,
        (None, Some(v)) => match at {
            Some(i) => list.insert(i.min(list.len()), v),
            None => list.push(v),
        },
        (Some(i), None) => {
            list.remove(i);
        }
        (None, None) => {}
    }
}

use crate::wire::{Obj, WireEnvironment, WireFreeze, WirePlan, WireRelease, WireService, WireTeam};

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

    /// An object of `kind` read from its plan-file JSON: a JSON object with
    /// that kind's fields and no others (nothing else is checked yet).
    pub fn from_json(kind: ObjectKind, value: Value) -> Result<Self, serde_json::Error> {
        fn read<T: serde::de::DeserializeOwned>(v: Value) -> Result<T, serde_json::Error> {
            serde_json::from_value::<Obj<T>>(v).map(|o| o.0)
        }
        Ok(match kind {
            ObjectKind::Team => WireObject::Team(read(value)?),
            ObjectKind::Service => WireObject::Service(read(value)?),
            ObjectKind::Environment => WireObject::Environment(read(value)?),
            ObjectKind::Freeze => WireObject::Freeze(read(value)?),
            ObjectKind::Release => WireObject::Release(read(value)?),
        })
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
