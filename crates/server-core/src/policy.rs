//! Who may change what: the server's role policy, per object kind and field,
//! decided from the authenticated identity and never from a name the
//! client sends.
//!
//! Every change needs the editor role (checked once per batch). On top of
//! that, [`authorize`] compares the object before and after the change, as
//! the domain's typed values, and applies the rules of [`POLICY`]:
//!
//! - an approval added is stamped by the server (`merge.rs`) with the
//!   authenticated user and the server's time; it is given by an approver
//!   who does not run the release, once per person, and taken back only by
//!   whoever gave it (an admin may take back anyone's);
//! - a freeze exception (`overrides[]`) is granted only by an approver, in
//!   their own name (stamped too), never by the release's owner, and never
//!   to someone who asked for it themselves (`requested_by`);
//! - `approved` needs the environment's approvals, as the desktop says;
//! - what decides how much governance a release gets (an environment's
//!   required approvals, whether it is production, its capacity, an
//!   environment created or deleted) is an admin's;
//! - a hard freeze, once there, is changed or deleted only by an admin, and
//!   teams (their windows included) are an admin's.
//!
//! A refusal names the object, the field, the user and the role needed.

use crate::auth::{Principal, Role};
use relcal_domain::{ObjectKind, Plan, Release, ReleaseStatus};
use serde_json::Value;

/// What a rule is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum What {
    /// Creating an object of the kind.
    Create,
    /// Deleting one.
    Delete,
    /// Changing this field of one (adding to or taking from a list field is
    /// checked entry by entry, see the module documentation).
    Field(&'static str),
    /// Changing or deleting a freeze that is hard.
    HardFreeze,
}

/// One rule of the policy: `what` of an object of `kind` needs `role`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rule {
    /// The kind of object.
    pub kind: ObjectKind,
    /// What the rule is about.
    pub what: What,
    /// The least role that may do it.
    pub role: Role,
    /// Why, for the refusal and the docs.
    pub why: &'static str,
}

/// The fields whose change needs more than the editor role.
pub const POLICY: &[Rule] = &[
    Rule {
        kind: ObjectKind::Release,
        what: What::Field("approvals"),
        role: Role::Approver,
        why: "approving is an approver's, in their own name",
    },
    Rule {
        kind: ObjectKind::Release,
        what: What::Field("overrides"),
        role: Role::Approver,
        why: "a freeze exception is granted by an approver, in their own name",
    },
    Rule {
        kind: ObjectKind::Environment,
        what: What::Create,
        role: Role::Admin,
        why: "an environment decides what governance its releases get",
    },
    Rule {
        kind: ObjectKind::Environment,
        what: What::Delete,
        role: Role::Admin,
        why: "an environment decides what governance its releases get",
    },
    Rule {
        kind: ObjectKind::Environment,
        what: What::Field("required_approvals"),
        role: Role::Admin,
        why: "the approvals an environment needs are an admin's to set",
    },
    Rule {
        kind: ObjectKind::Environment,
        what: What::Field("production"),
        role: Role::Admin,
        why: "whether an environment is production is an admin's to set",
    },
    Rule {
        kind: ObjectKind::Environment,
        what: What::Field("max_concurrent"),
        role: Role::Admin,
        why: "an environment's capacity is an admin's to set",
    },
    Rule {
        kind: ObjectKind::Freeze,
        what: What::HardFreeze,
        role: Role::Admin,
        why: "a hard freeze is changed or lifted only by an admin",
    },
    Rule {
        kind: ObjectKind::Team,
        what: What::Create,
        role: Role::Admin,
        why: "teams, and when they may release, are an admin's",
    },
    Rule {
        kind: ObjectKind::Team,
        what: What::Delete,
        role: Role::Admin,
        why: "teams, and when they may release, are an admin's",
    },
    Rule {
        kind: ObjectKind::Team,
        what: What::Field("name"),
        role: Role::Admin,
        why: "teams, and when they may release, are an admin's",
    },
    Rule {
        kind: ObjectKind::Team,
        what: What::Field("timezone"),
        role: Role::Admin,
        why: "teams, and when they may release, are an admin's",
    },
    Rule {
        kind: ObjectKind::Team,
        what: What::Field("allowed_windows"),
        role: Role::Admin,
        why: "teams, and when they may release, are an admin's",
    },
];

fn refuse(kind: ObjectKind, id: &str, field: &str, message: String) -> String {
    format!("{} \"{id}\": field `{field}`: {message}", kind.noun())
}

fn needs(who: &Principal, kind: ObjectKind, id: &str, what: What) -> Result<(), String> {
    let Some(rule) = POLICY.iter().find(|r| r.kind == kind && r.what == what) else {
        return Ok(());
    };
    if who.role >= rule.role {
        return Ok(());
    }
    let (user, noun, role, why) = (&who.user, kind.noun(), rule.role.as_str(), rule.why);
    let needed = format!("({role} role needed: {why})");
    Err(match what {
        What::Field(field) => refuse(
            kind,
            id,
            field,
            format!("{user} may not change it {needed}"),
        ),
        What::Create => format!("{noun} \"{id}\": {user} may not create it {needed}"),
        What::Delete => format!("{noun} \"{id}\": {user} may not delete it {needed}"),
        What::HardFreeze => {
            format!("{noun} \"{id}\": {user} may not change or delete this hard freeze {needed}")
        }
    })
}

/// The top-level fields that differ between two plan-file objects.
fn changed_fields(before: Option<&Value>, after: Option<&Value>) -> Vec<String> {
    let empty = serde_json::Map::new();
    let b = before.and_then(Value::as_object).unwrap_or(&empty);
    let a = after.and_then(Value::as_object).unwrap_or(&empty);
    let mut fields: Vec<String> = b
        .keys()
        .chain(a.keys())
        .filter(|k| b.get(*k) != a.get(*k))
        .cloned()
        .collect();
    fields.sort_unstable();
    fields.dedup();
    fields
}

/// Whether `who` may make the change of the object `id` of `kind` that
/// turns `before` into `after` (both whole, validated calendars); the
/// refusal names the object and field.
pub fn authorize(
    who: &Principal,
    before: &Before,
    after: &Plan,
    kind: ObjectKind,
    id: &str,
) -> Result<(), String> {
    let old = before.json.as_ref();
    let new = after.object_json(kind, id).map(|(_, v)| v);
    match (old, &new) {
        (None, Some(_)) => needs(who, kind, id, What::Create)?,
        (Some(_), None) => needs(who, kind, id, What::Delete)?,
        _ => {}
    }
    match kind {
        // Adding a freeze, or changing a soft one, is an editor's; a hard
        // one, once there, is an approver's.
        ObjectKind::Freeze if before.hard_freeze && old != new.as_ref() => {
            needs(who, kind, id, What::HardFreeze)?;
        }
        ObjectKind::Release => {
            let new_release = after.releases.iter().find(|r| r.id.as_str() == id).cloned();
            release(who, after, before.release.clone(), new_release)?;
        }
        _ => {}
    }
    for field in changed_fields(old, new.as_ref()) {
        if kind == ObjectKind::Release && (field == "approvals" || field == "overrides") {
            continue; // Checked entry by entry above.
        }
        let field = POLICY.iter().find_map(|r| match r.what {
            What::Field(f) if r.kind == kind && f == field => Some(f),
            _ => None,
        });
        if let Some(field) = field {
            needs(who, kind, id, What::Field(field))?;
        }
    }
    Ok(())
}

/// What [`authorize`] compares a change with: the object as it was, taken
/// from the calendar before the change (so the change can then be made in
/// place).
pub struct Before {
    json: Option<Value>,
    release: Option<Release>,
    hard_freeze: bool,
}

impl Before {
    /// The object `id` of `kind` in `plan`, if there is one.
    pub fn of(plan: &Plan, kind: ObjectKind, id: &str) -> Before {
        Before {
            json: plan.object_json(kind, id).map(|(_, v)| v),
            release: match kind {
                ObjectKind::Release => plan.releases.iter().find(|r| r.id.as_str() == id).cloned(),
                _ => None,
            },
            hard_freeze: kind == ObjectKind::Freeze
                && plan.freezes.iter().any(|f| {
                    f.id.as_str() == id && f.severity == relcal_domain::FreezeSeverity::Hard
                }),
        }
    }

    /// The release as it was (for a release).
    pub fn release(&self) -> Option<&Release> {
        self.release.as_ref()
    }
}

/// The release rules: approvals and exceptions in one's own name, once, by
/// someone other than its owner; `approved` only with its approvals.
fn release(
    who: &Principal,
    after: &Plan,
    old: Option<Release>,
    new: Option<Release>,
) -> Result<(), String> {
    let Some(new) = new else {
        return Ok(());
    };
    let id = new.id.as_str();
    let kind = ObjectKind::Release;
    let old_approvals: Vec<(&str, String)> = old
        .as_ref()
        .map(|r| {
            r.approvals
                .iter()
                .map(|a| (a.by.as_str(), a.at.value.to_string()))
                .collect()
        })
        .unwrap_or_default();
    let new_approvals: Vec<(&str, String)> = new
        .approvals
        .iter()
        .map(|a| (a.by.as_str(), a.at.value.to_string()))
        .collect();
    let added: Vec<&(&str, String)> = new_approvals
        .iter()
        .filter(|a| !old_approvals.contains(a))
        .collect();
    let removed: Vec<&(&str, String)> = old_approvals
        .iter()
        .filter(|a| !new_approvals.contains(a))
        .collect();
    if !added.is_empty() || !removed.is_empty() {
        needs(who, kind, id, What::Field("approvals"))?;
    }
    for (by, _) in &added {
        if *by != who.user {
            return Err(refuse(
                kind,
                id,
                "approvals",
                format!(
                    "{} may approve only in their own name, not as {by}",
                    who.user
                ),
            ));
        }
    }
    for (by, _) in &removed {
        if *by != who.user && who.role < Role::Admin {
            return Err(refuse(
                kind,
                id,
                "approvals",
                format!(
                    "{} may take back only their own approval, not {by}'s (admin role needed)",
                    who.user
                ),
            ));
        }
    }
    // One approval per person: a person counted more often than before.
    let count =
        |list: &[(&str, String)], who: &str| list.iter().filter(|(by, _)| *by == who).count();
    if let Some((twice, _)) = new_approvals.iter().find(|(by, _)| {
        count(&new_approvals, by) > 1 && count(&new_approvals, by) > count(&old_approvals, by)
    }) {
        return Err(refuse(
            kind,
            id,
            "approvals",
            format!("{twice} has already approved it; each person approves once"),
        ));
    }
    let people: Vec<&str> = new_approvals.iter().map(|(by, _)| *by).collect();
    let owner_changed = old.as_ref().map(|r| &r.owner) != Some(&new.owner);
    if let Some(owner) = new.owner.as_deref() {
        if (!added.is_empty() || owner_changed) && people.contains(&owner) {
            return Err(refuse(
                kind,
                id,
                "approvals",
                format!("{owner} runs this release and cannot approve it"),
            ));
        }
    }
    // Exceptions to freezes, entry by entry. Taking one away only makes
    // the calendar stricter: an editor's.
    let old_overrides: Vec<(String, &str, &str)> = old
        .as_ref()
        .map(|r| {
            r.overrides
                .iter()
                .map(|o| (o.freeze.to_string(), o.by.as_str(), o.reason.as_str()))
                .collect()
        })
        .unwrap_or_default();
    for o in &new.overrides {
        let entry = (o.freeze.to_string(), o.by.as_str(), o.reason.as_str());
        if old_overrides.contains(&entry) {
            continue;
        }
        needs(who, kind, id, What::Field("overrides"))?;
        if o.by != who.user {
            return Err(refuse(
                kind,
                id,
                "overrides",
                format!(
                    "{} may grant an exception only in their own name, not as {}",
                    who.user, o.by
                ),
            ));
        }
        // The owner as the release was and as it will be: an owner cannot
        // hand the release on for the length of one grant.
        let me = who.user.trim();
        let runs = |r: &relcal_domain::Release| r.owner.as_deref().map(str::trim) == Some(me);
        if runs(&new) || old.as_ref().is_some_and(runs) {
            return Err(refuse(
                kind,
                id,
                "overrides",
                format!(
                    "{} runs this release and cannot grant it an exception",
                    who.user
                ),
            ));
        }
    }
    // Nor can the release be handed to someone who granted one of its exceptions.
    if owner_changed {
        if let Some(owner) = new.owner.as_deref().map(str::trim) {
            if new.overrides.iter().any(|o| o.by.trim() == owner) {
                return Err(refuse(
                    kind,
                    id,
                    "owner",
                    format!("{owner} granted one of its freeze exceptions and cannot also run it"),
                ));
            }
        }
    }
    // `approved` needs the environment's approvals, whoever sends it.
    if new.status == ReleaseStatus::Approved {
        let needed = after
            .environments
            .iter()
            .find(|e| e.id == new.environment)
            .map_or(0, |e| e.required_approvals);
        let have = new.approvers();
        // A calendar stored so before is not this change's doing.
        let as_before = old.as_ref().is_some_and(|r| {
            r.status == ReleaseStatus::Approved
                && r.environment == new.environment
                && r.approvers() == have
        });
        if !as_before && (have.len() as u32) < needed {
            return Err(refuse(
                kind,
                id,
                "status",
                format!(
                    "`approved` needs {needed} distinct approvals in {}; it has {}",
                    new.environment,
                    have.len()
                ),
            ));
        }
    }
    Ok(())
}
