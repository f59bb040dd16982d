//! One object put into or taken out of a validated plan, checked as a plan
//! file would check it, without validating the rest again: an object's
//! checks depend only on the plan's zone and the ids it refers to, so a
//! put checks the object alone and a removal what refers to it.

use super::raw::Element;
use super::{Known, Validator};
use crate::document::WireObject;
use crate::error::PlanError;
use crate::kind::ObjectKind;
use crate::plan::Plan;
use serde_json::Value;

/// [`WireObject::read`].
pub(crate) fn read_object(
    kind: ObjectKind,
    object: &str,
    value: Value,
) -> Result<WireObject, PlanError> {
    if !value.is_object() {
        return Err(PlanError::single(object, "", "must be a JSON object"));
    }
    let element = Element::Value(value);
    let fail = |(field, message): (String, String)| PlanError::single(object, &field, message);
    Ok(match kind {
        ObjectKind::Team => WireObject::Team(element.typed().map_err(fail)?),
        ObjectKind::Service => WireObject::Service(element.typed().map_err(fail)?),
        ObjectKind::Environment => WireObject::Environment(element.typed().map_err(fail)?),
        ObjectKind::Freeze => WireObject::Freeze(element.typed().map_err(fail)?),
        ObjectKind::Release => WireObject::Release(element.typed().map_err(fail)?),
    })
}

impl Known {
    pub(super) fn of(plan: &Plan) -> Known {
        Known {
            teams: plan.teams.iter().map(|t| t.id.to_string()).collect(),
            services: plan.services.iter().map(|s| s.id.to_string()).collect(),
            environments: plan.environments.iter().map(|e| e.id.to_string()).collect(),
            freezes: plan.freezes.iter().map(|f| f.id.to_string()).collect(),
        }
    }
}

/// Puts `value` in place of the element with its id, else at the end.
fn put_in<T>(list: &mut Vec<T>, value: T, id: impl Fn(&T) -> &str) {
    match list.iter().position(|x| id(x) == id(&value)) {
        Some(i) => list[i] = value,
        None => list.push(value),
    }
}

impl Plan {
    /// Validates `object` against this plan (its zone and the ids it refers
    /// to), as the same element of a plan file would be (its errors name it
    /// `release "r1"`, not by its place in a file), and puts it in
    /// place of the object of its kind with its id, else at the end of its
    /// list. On an error the plan is unchanged. The result equals what
    /// validating the whole changed plan gives, at the cost of one object.
    pub fn put_object(&mut self, object: WireObject) -> Result<(), PlanError> {
        let kind = object.kind();
        let id = object.id().to_owned();
        let name = format!("{} \"{id}\"", kind.noun());
        let mut v = Validator::default();
        v.unique_ids(std::iter::once((&name, &id)));
        let known = Known::of(self);
        let zone = self.timezone;
        match object {
            WireObject::Team(t) => {
                let t = v.team(&name, t, zone);
                v.done()?;
                put_in(&mut self.teams, t, |x| x.id.as_str());
            }
            WireObject::Service(s) => {
                let s = v.service(&name, s, &known);
                v.done()?;
                put_in(&mut self.services, s, |x| x.id.as_str());
            }
            WireObject::Environment(e) => {
                let e = v.environment(&name, e);
                v.done()?;
                put_in(&mut self.environments, e, |x| x.id.as_str());
            }
            WireObject::Freeze(f) => {
                let f = v.freeze(&name, f, zone, &known);
                v.done()?;
                put_in(&mut self.freezes, f, |x| x.id.as_str());
            }
            WireObject::Release(r) => {
                let r = v.release(&name, r, zone, &known);
                v.done()?;
                put_in(&mut self.releases, r, |x| x.id.as_str());
            }
        }
        Ok(())
    }

    /// Takes the object `id` of `kind` out (nothing when there is none). A
    /// release is taken out as it is; a team, service, environment or
    /// freeze only when nothing refers to it any more, which the rest of
    /// the plan is validated again for (a rare change). On an error the
    /// plan is unchanged.
    pub fn remove_object(&mut self, kind: ObjectKind, id: &str) -> Result<(), PlanError> {
        if kind == ObjectKind::Release {
            self.releases.retain(|r| r.id.as_str() != id);
            return Ok(());
        }
        if self.object_json(kind, id).is_none() {
            return Ok(());
        }
        let mut doc = self.to_document();
        doc.take(kind, id);
        *self = super::parse_plan_document(doc)?;
        Ok(())
    }
}

impl Validator {
    fn done(&mut self) -> Result<(), PlanError> {
        if self.errors.is_empty() {
            Ok(())
        } else {
            Err(PlanError::new(std::mem::take(&mut self.errors)))
        }
    }
}
