//! Untrusted JSON to a validated [`Plan`], collecting every problem with the
//! object and field it concerns.

use crate::duration::PlanDuration;
use crate::error::{FieldError, PlanError};
use crate::plan::*;
use crate::recurrence::{Recurrence, RecurrenceRule};
use crate::time::{PlanTime, TimeValue};
use crate::wire::*;
use chrono_tz::Tz;
use serde::de::DeserializeOwned;
use serde_json::Value;
use std::collections::HashSet;
mod raw;
use raw::{Element, RawTop, Shape};
mod incremental;
mod objects;
pub(crate) use incremental::read_object;

/// Parses and validates a plan file's text.
///
/// The text is read without an intermediate `serde_json::Value`: the top
/// level as raw pieces (so a key given twice is refused, never silently
/// overwritten), each collection's elements typed straight from their text.
pub fn parse_plan(text: &str) -> Result<Plan, PlanError> {
    let top: RawTop<'_> = serde_json::from_str(text).map_err(|e| {
        if e.is_data() {
            PlanError::single("plan", "", "a plan is a JSON object")
        } else {
            PlanError::single(
                "plan",
                "",
                format!(
                    "not valid JSON at line {} column {}: {e}",
                    e.line(),
                    e.column()
                ),
            )
        }
    })?;
    let entries = top
        .0
        .into_iter()
        .map(|(key, raw)| (key, Element::Raw(raw)))
        .collect();
    finish(entries)
}

/// Validates an already-parsed JSON document as a plan (documents the app
/// builds itself; a `Value` has already lost any duplicate keys).
pub fn parse_plan_value(value: Value) -> Result<Plan, PlanError> {
    let Value::Object(top) = value else {
        return Err(PlanError::single("plan", "", "a plan is a JSON object"));
    };
    finish(
        top.into_iter()
            .map(|(key, value)| (key, Element::Value(value)))
            .collect(),
    )
}

/// Validates a typed plan document (read from the database's rows, say):
/// the same checks as a plan file's text gets, without JSON in between.
pub fn parse_plan_document(doc: WirePlan) -> Result<Plan, PlanError> {
    let mut v = Validator::default();
    let plan = v.document(doc);
    if v.errors.is_empty() {
        Ok(plan)
    } else {
        Err(PlanError::new(v.errors))
    }
}

fn finish(entries: Vec<(String, Element<'_>)>) -> Result<Plan, PlanError> {
    let mut v = Validator::default();
    let plan = v.plan(entries);
    if v.errors.is_empty() {
        Ok(plan)
    } else {
        Err(PlanError::new(v.errors))
    }
}

#[derive(Default)]
struct Validator {
    errors: Vec<FieldError>,
}

/// A plan's collections, each element with the name errors give it.
struct Labelled {
    timezone: Tz,
    teams: Vec<(String, WireTeam)>,
    services: Vec<(String, WireService)>,
    environments: Vec<(String, WireEnvironment)>,
    freezes: Vec<(String, WireFreeze)>,
    releases: Vec<(String, WireRelease)>,
}

/// Ids of each collection, for reference checks.
#[derive(Default)]
struct Known {
    teams: HashSet<String>,
    services: HashSet<String>,
    environments: HashSet<String>,
    freezes: HashSet<String>,
}

fn label(collection: &str, index: usize, id: Option<&str>) -> String {
    match id {
        Some(id) => format!("{collection}[{index}] (id \"{id}\")"),
        None => format!("{collection}[{index}]"),
    }
}

impl Validator {
    fn err(&mut self, object: &str, field: impl Into<String>, message: impl Into<String>) {
        self.errors.push(FieldError {
            object: object.to_owned(),
            field: field.into(),
            message: message.into(),
        });
    }

    fn plan(&mut self, entries: Vec<(String, Element<'_>)>) -> Plan {
        let mut top: Vec<(String, Element<'_>)> = Vec::with_capacity(entries.len());
        for (key, value) in entries {
            if !TOP_LEVEL_FIELDS.contains(&key.as_str()) {
                self.err(
                    "plan",
                    key.clone(),
                    format!(
                        "unknown field; expected one of {}",
                        TOP_LEVEL_FIELDS.join(", ")
                    ),
                );
            } else if top.iter().any(|(k, _)| *k == key) {
                self.err(
                    "plan",
                    key.clone(),
                    "appears twice; a key appears once per object",
                );
                continue;
            }
            top.push((key, value));
        }
        let mut take = |name: &str| {
            top.iter()
                .position(|(k, _)| k == name)
                .map(|i| top.swap_remove(i).1)
        };
        match take("version").map(Element::value) {
            Some(Value::Number(n)) if n.as_u64() == Some(u64::from(PLAN_FORMAT_VERSION)) => {}
            Some(other) => self.err(
                "plan",
                "version",
                format!(
                    "unsupported version {other}; this build reads version {PLAN_FORMAT_VERSION}"
                ),
            ),
            None => self.err(
                "plan",
                "version",
                format!("missing; write \"version\": {PLAN_FORMAT_VERSION}"),
            ),
        }
        let timezone = match take("timezone").map(Element::value) {
            None | Some(Value::Null) => Tz::UTC,
            Some(Value::String(name)) => self.zone("plan", "timezone", &name).unwrap_or(Tz::UTC),
            Some(_) => {
                self.err(
                    "plan",
                    "timezone",
                    "must be a string such as \"Europe/Berlin\"",
                );
                Tz::UTC
            }
        };

        let teams = self.collection(take("teams"), "teams");
        let services = self.collection(take("services"), "services");
        let environments = self.collection(take("environments"), "environments");
        let freezes = self.collection(take("freezes"), "freezes");
        let releases = self.collection(take("releases"), "releases");
        self.build(Labelled {
            timezone,
            teams,
            services,
            environments,
            freezes,
            releases,
        })
    }

    /// A typed plan document: its elements named as a plan file's are.
    fn document(&mut self, doc: WirePlan) -> Plan {
        if doc.version != PLAN_FORMAT_VERSION {
            self.err(
                "plan",
                "version",
                format!(
                    "unsupported version {}; this build reads version {PLAN_FORMAT_VERSION}",
                    doc.version
                ),
            );
        }
        let timezone = self
            .zone("plan", "timezone", &doc.timezone)
            .unwrap_or(Tz::UTC);
        fn labelled<T: HasId>(name: &str, items: Vec<T>) -> Vec<(String, T)> {
            items
                .into_iter()
                .enumerate()
                .map(|(i, item)| (label(name, i, Some(item.id())), item))
                .collect()
        }
        self.build(Labelled {
            timezone,
            teams: labelled("teams", doc.teams),
            services: labelled("services", doc.services),
            environments: labelled("environments", doc.environments),
            freezes: labelled("freezes", doc.freezes),
            releases: labelled("releases", doc.releases),
        })
    }

    fn build(&mut self, doc: Labelled) -> Plan {
        let Labelled {
            timezone,
            teams,
            services,
            environments,
            freezes,
            releases,
        } = doc;
        let known = Known {
            teams: self.unique_ids(teams.iter().map(|(l, t)| (l, &t.id))),
            services: self.unique_ids(services.iter().map(|(l, s)| (l, &s.id))),
            environments: self.unique_ids(environments.iter().map(|(l, e)| (l, &e.id))),
            freezes: self.unique_ids(freezes.iter().map(|(l, f)| (l, &f.id))),
        };
        self.unique_ids(releases.iter().map(|(l, r)| (l, &r.id)));

        Plan {
            timezone,
            teams: teams
                .into_iter()
                .map(|(l, t)| self.team(&l, t, timezone))
                .collect(),
            services: services
                .into_iter()
                .map(|(l, s)| self.service(&l, s, &known))
                .collect(),
            environments: environments
                .into_iter()
                .map(|(l, e)| self.environment(&l, e))
                .collect(),
            freezes: freezes
                .into_iter()
                .map(|(l, f)| self.freeze(&l, f, timezone, &known))
                .collect(),
            releases: releases
                .into_iter()
                .map(|(l, r)| self.release(&l, r, timezone, &known))
                .collect(),
        }
    }

    /// Reads one top-level array element by element, so each error names its element.
    /// A missing collection is empty; `null` or another type is an error.
    fn collection<T: DeserializeOwned + HasId>(
        &mut self,
        value: Option<Element<'_>>,
        name: &str,
    ) -> Vec<(String, T)> {
        let Some(value) = value else {
            return vec![];
        };
        match value.shape() {
            Shape::Array => {}
            Shape::Null => {
                self.err(
                    "plan",
                    name,
                    "must be an array, not null (leave the key out for none)",
                );
                return vec![];
            }
            _ => {
                self.err("plan", name, "must be an array");
                return vec![];
            }
        }
        let items = value.items();
        let mut out = Vec::with_capacity(items.len());
        for (index, item) in items.into_iter().enumerate() {
            match item.typed::<T>() {
                Ok(parsed) => {
                    let object = label(name, index, Some(parsed.id()));
                    out.push((object, parsed));
                }
                Err((field, message)) => {
                    let object = label(name, index, item.id().as_deref());
                    if item.shape() != Shape::Object {
                        self.err(&object, "", "must be a JSON object");
                    } else {
                        self.err(&object, field, message);
                    }
                }
            }
        }
        out
    }

    fn unique_ids<'a>(
        &mut self,
        ids: impl Iterator<Item = (&'a String, &'a String)>,
    ) -> HashSet<String> {
        let mut seen = HashSet::new();
        for (object, id) in ids {
            if id.trim().is_empty() {
                self.err(object, "id", "must not be empty");
            } else if id.chars().any(char::is_control) {
                self.err(object, "id", "must not contain control characters");
            } else if !seen.insert(id.clone()) {
                self.err(object, "id", format!("duplicate id \"{id}\""));
            }
        }
        seen
    }

    fn zone(&mut self, object: &str, field: &str, name: &str) -> Option<Tz> {
        match name.parse::<Tz>() {
            Ok(tz) => Some(tz),
            Err(_) => {
                self.err(
                    object,
                    field,
                    format!(
                        "unknown time zone \"{name}\"; use an IANA name such as \"Europe/Berlin\""
                    ),
                );
                None
            }
        }
    }

    fn opt_zone(&mut self, object: &str, field: &str, name: &Option<String>) -> Option<Tz> {
        name.as_deref().and_then(|n| self.zone(object, field, n))
    }

    fn time(&mut self, object: &str, field: &str, text: &str) -> Option<TimeValue> {
        match TimeValue::parse(text) {
            Ok(t) => Some(t),
            Err(message) => {
                self.err(object, field, message);
                None
            }
        }
    }

    fn non_empty(&mut self, object: &str, field: &str, text: &str) {
        if text.trim().is_empty() {
            self.err(object, field, "must not be empty");
        }
    }

    fn reference<T>(
        &mut self,
        object: &str,
        field: &str,
        kind: &str,
        known: &HashSet<String>,
        id: String,
        make: fn(String) -> T,
    ) -> T {
        if !known.contains(&id) {
            self.err(object, field, format!("unknown {kind} \"{id}\""));
        }
        make(id)
    }

    fn references<T>(
        &mut self,
        object: &str,
        field: &str,
        kind: &str,
        known: &HashSet<String>,
        ids: Vec<String>,
        make: fn(String) -> T,
    ) -> Vec<T> {
        ids.into_iter()
            .enumerate()
            .map(|(i, id)| self.reference(object, &format!("{field}[{i}]"), kind, known, id, make))
            .collect()
    }

    /// `start`, `end` with `end > start`.
    fn window(
        &mut self,
        object: &str,
        prefix: &str,
        start: &str,
        end: &str,
        zone: Tz,
    ) -> Option<(PlanTime, PlanTime)> {
        let start = self
            .time(object, &format!("{prefix}start"), start)
            .map(|t| PlanTime::new(t, zone));
        let end = self
            .time(object, &format!("{prefix}end"), end)
            .map(|t| PlanTime::new(t, zone));
        let (start, end) = (start?, end?);
        if end.utc <= start.utc {
            self.err(
                object,
                format!("{prefix}end"),
                format!(
                    "must be after start ({} is not after {})",
                    end.value, start.value
                ),
            );
            return None;
        }
        Some((start, end))
    }

    fn recurrence(
        &mut self,
        object: &str,
        prefix: &str,
        w: WireRecurrence,
        zone: Tz,
    ) -> Option<Recurrence> {
        let WireRecurrence {
            start,
            duration,
            rrule,
            exdates,
            timezone: _,
        } = w;
        let (start, duration, rrule) = (start.as_str(), duration.as_str(), rrule.as_str());
        let start_value = self.time(object, &format!("{prefix}start"), start);
        let duration = match PlanDuration::parse(duration) {
            Ok(d) => Some(d),
            Err(message) => {
                self.err(object, format!("{prefix}duration"), message);
                None
            }
        };
        let exdates: Vec<Option<TimeValue>> = exdates
            .iter()
            .enumerate()
            .map(|(i, e)| self.time(object, &format!("{prefix}exdates[{i}]"), e))
            .collect();
        let start_value = start_value?;
        let rule = match RecurrenceRule::parse(rrule, start_value.wall_time(zone), zone) {
            Ok(rule) => Some(rule),
            Err(message) => {
                self.err(object, format!("{prefix}rrule"), message);
                None
            }
        };
        Some(Recurrence {
            start: start_value,
            duration: duration?,
            rule: rule?,
            exdates: exdates.into_iter().collect::<Option<Vec<_>>>()?,
        })
    }
}

/// Validates one release (plan-file JSON) against `plan`'s teams, services,
/// environments and freezes, as a plan file would. `object` names it in errors.
pub fn parse_release_value(plan: &Plan, object: &str, value: Value) -> Result<Release, PlanError> {
    if !value.is_object() {
        return Err(PlanError::single(object, "", "a release is a JSON object"));
    }
    let wire: WireRelease = match Element::Value(value).typed() {
        Ok(w) => w,
        Err((field, message)) => return Err(PlanError::single(object, &field, message)),
    };
    parse_release_document(plan, object, wire)
}

/// [`parse_release_value`] for a typed release.
pub fn parse_release_document(
    plan: &Plan,
    object: &str,
    wire: WireRelease,
) -> Result<Release, PlanError> {
    let ids =
        |it: &mut dyn Iterator<Item = &str>| it.map(str::to_owned).collect::<HashSet<String>>();
    let known = Known {
        teams: ids(&mut plan.teams.iter().map(|t| t.id.as_str())),
        services: ids(&mut plan.services.iter().map(|s| s.id.as_str())),
        environments: ids(&mut plan.environments.iter().map(|e| e.id.as_str())),
        freezes: ids(&mut plan.freezes.iter().map(|f| f.id.as_str())),
    };
    let mut v = Validator::default();
    if wire.id.trim().is_empty() {
        v.err(object, "id", "must not be empty");
    }
    let release = v.release(object, wire, plan.timezone, &known);
    if v.errors.is_empty() {
        Ok(release)
    } else {
        Err(PlanError::new(v.errors))
    }
}
