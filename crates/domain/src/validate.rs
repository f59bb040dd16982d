//! Untrusted JSON to a validated [`Plan`], collecting every problem with the
//! object and field it concerns.

use crate::duration::PlanDuration;
use crate::error::{FieldError, PlanError};
use crate::ids::{EnvironmentId, FreezeId, ReleaseId, ServiceId, TeamId};
use crate::plan::*;
use crate::recurrence::{Recurrence, RecurrenceRule};
use crate::time::{PlanTime, TimeValue};
use crate::wire::*;
use chrono_tz::Tz;
use serde::de::DeserializeOwned;
use serde_json::value::RawValue;
use serde_json::Value;
use std::collections::HashSet;

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

fn finish(entries: Vec<(String, Element<'_>)>) -> Result<Plan, PlanError> {
    let mut v = Validator::default();
    let plan = v.plan(entries);
    if v.errors.is_empty() {
        Ok(plan)
    } else {
        Err(PlanError::new(v.errors))
    }
}

/// The top level of a plan as (key, raw text) pairs, in order, keys repeated as given.
struct RawTop<'a>(Vec<(String, &'a RawValue)>);

impl<'de: 'a, 'a> serde::Deserialize<'de> for RawTop<'a> {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Entries<'a>(std::marker::PhantomData<&'a ()>);
        impl<'de: 'a, 'a> serde::de::Visitor<'de> for Entries<'a> {
            type Value = RawTop<'a>;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a plan object")
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                mut map: A,
            ) -> Result<RawTop<'a>, A::Error> {
                let mut out = Vec::new();
                while let Some(key) = map.next_key::<String>()? {
                    out.push((key, map.next_value::<&'a RawValue>()?));
                }
                Ok(RawTop(out))
            }
        }
        d.deserialize_map(Entries(std::marker::PhantomData))
    }
}

/// One JSON value of a plan: raw text from a file, or a value the app built.
enum Element<'a> {
    Raw(&'a RawValue),
    Value(Value),
}

/// The JSON type of a value, for errors.
#[derive(PartialEq, Eq)]
enum Shape {
    Null,
    Array,
    Object,
    Other,
}

impl<'a> Element<'a> {
    fn shape(&self) -> Shape {
        match self {
            Self::Raw(raw) => match raw.get().trim_start().as_bytes().first() {
                Some(b'n') => Shape::Null,
                Some(b'[') => Shape::Array,
                Some(b'{') => Shape::Object,
                _ => Shape::Other,
            },
            Self::Value(Value::Null) => Shape::Null,
            Self::Value(Value::Array(_)) => Shape::Array,
            Self::Value(Value::Object(_)) => Shape::Object,
            Self::Value(_) => Shape::Other,
        }
    }

    /// A small value (version, timezone) as a `Value`; a number JSON allows
    /// but a `Value` cannot hold (`1e999999`) stays its text.
    fn value(self) -> Value {
        match self {
            Self::Raw(raw) => serde_json::from_str(raw.get())
                .unwrap_or_else(|_| Value::String(raw.get().to_owned())),
            Self::Value(v) => v,
        }
    }

    /// The elements of an array (the caller checked the shape).
    fn items(self) -> Vec<Element<'a>> {
        match self {
            Self::Raw(raw) => serde_json::from_str::<Vec<&'a RawValue>>(raw.get())
                .map(|items| items.into_iter().map(Element::Raw).collect())
                .unwrap_or_default(),
            Self::Value(Value::Array(items)) => items.into_iter().map(Element::Value).collect(),
            Self::Value(_) => vec![],
        }
    }

    /// The element's `id`, when it has a string one, for naming it in errors.
    fn id(&self) -> Option<String> {
        #[derive(serde::Deserialize)]
        struct IdOnly {
            id: Option<Value>,
        }
        let id = match self {
            Self::Raw(raw) => serde_json::from_str::<IdOnly>(raw.get()).ok()?.id?,
            Self::Value(v) => v.get("id")?.clone(),
        };
        id.as_str().map(str::to_owned)
    }

    /// The element as `T`, or the path and message of the first problem.
    fn typed<T: DeserializeOwned>(&self) -> Result<T, (String, String)> {
        let result = match self {
            Self::Raw(raw) => {
                let mut de = serde_json::Deserializer::from_str(raw.get());
                serde_path_to_error::deserialize::<_, Obj<T>>(&mut de)
            }
            Self::Value(v) => serde_path_to_error::deserialize::<_, Obj<T>>(v),
        };
        result.map(|o| o.0).map_err(|e| {
            let path = e.path().to_string();
            let inner = e.into_inner().to_string();
            describe_serde_error(&path, &inner)
        })
    }
}

#[derive(Default)]
struct Validator {
    errors: Vec<FieldError>,
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

        let teams: Vec<(String, WireTeam)> = self.collection(take("teams"), "teams");
        let services: Vec<(String, WireService)> = self.collection(take("services"), "services");
        let environments: Vec<(String, WireEnvironment)> =
            self.collection(take("environments"), "environments");
        let freezes: Vec<(String, WireFreeze)> = self.collection(take("freezes"), "freezes");
        let releases: Vec<(String, WireRelease)> = self.collection(take("releases"), "releases");

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

    fn team(&mut self, object: &str, t: WireTeam, plan_zone: Tz) -> Team {
        self.non_empty(object, "name", &t.name);
        let timezone = self.opt_zone(object, "timezone", &t.timezone);
        let team_zone = timezone.unwrap_or(plan_zone);
        let mut allowed_windows = Vec::new();
        for (i, w) in t.allowed_windows.into_iter().enumerate() {
            let prefix = format!("allowed_windows[{i}].");
            let own = self.opt_zone(object, &format!("{prefix}timezone"), &w.timezone);
            let zone = own.unwrap_or(team_zone);
            if let Some(recurrence) = self.recurrence(object, &prefix, w, zone) {
                allowed_windows.push(AllowedWindow {
                    timezone: own,
                    recurrence,
                });
            }
        }
        Team {
            id: TeamId::new(t.id),
            name: t.name,
            timezone,
            allowed_windows,
        }
    }

    fn service(&mut self, object: &str, s: WireService, known: &Known) -> Service {
        let team = self.reference(object, "team", "team", &known.teams, s.team, TeamId::new);
        let depends_on = self.references(
            object,
            "depends_on",
            "service",
            &known.services,
            s.depends_on,
            ServiceId::new,
        );
        Service {
            id: ServiceId::new(s.id),
            team,
            depends_on,
        }
    }

    fn environment(&mut self, object: &str, e: WireEnvironment) -> Environment {
        self.non_empty(object, "name", &e.name);
        if e.max_concurrent == Some(0) {
            self.err(
                object,
                "max_concurrent",
                "must be at least 1 (leave it out for no limit)",
            );
        }
        Environment {
            id: EnvironmentId::new(e.id),
            name: e.name,
            production: e.production,
            max_concurrent: e.max_concurrent,
            required_approvals: e.required_approvals,
        }
    }

    fn freeze(&mut self, object: &str, f: WireFreeze, plan_zone: Tz, known: &Known) -> Freeze {
        self.non_empty(object, "name", &f.name);
        let severity = FreezeSeverity::parse(&f.severity).unwrap_or_else(|| {
            self.err(
                object,
                "severity",
                format!(
                    "\"{}\" is not a severity; expected \"hard\" or \"soft\"",
                    f.severity
                ),
            );
            FreezeSeverity::Hard
        });
        let timezone = self.opt_zone(object, "timezone", &f.timezone);
        let zone = timezone.unwrap_or(plan_zone);
        let placeholder = FreezeSchedule::Once {
            start: PlanTime::new(
                TimeValue::Local(chrono::DateTime::UNIX_EPOCH.naive_utc()),
                zone,
            ),
            end: PlanTime::new(
                TimeValue::Local(chrono::DateTime::UNIX_EPOCH.naive_utc()),
                zone,
            ),
        };
        let schedule = match (&f.rrule, &f.end) {
            (Some(_), Some(_)) => {
                self.err(
                    object,
                    "end",
                    "a recurring freeze (with `rrule`) takes `duration`, not `end`",
                );
                None
            }
            (Some(rrule), None) => match &f.duration {
                None => {
                    self.err(
                        object,
                        "duration",
                        "a recurring freeze needs a `duration` (e.g. PT12H)",
                    );
                    None
                }
                Some(duration) => {
                    let fields = WireRecurrence {
                        start: f.start.clone(),
                        duration: duration.clone(),
                        rrule: rrule.clone(),
                        timezone: None,
                        exdates: f.exdates,
                    };
                    self.recurrence(object, "", fields, zone)
                        .map(|r| FreezeSchedule::Recurring(Box::new(r)))
                }
            },
            (None, end) => {
                if f.duration.is_some() {
                    self.err(
                        object,
                        "duration",
                        "`duration` is only for recurring freezes (with `rrule`); a one-off freeze takes `end`",
                    );
                }
                if !f.exdates.is_empty() {
                    self.err(
                        object,
                        "exdates",
                        "`exdates` are only for recurring freezes (with `rrule`)",
                    );
                }
                match end {
                    None => {
                        self.err(
                            object,
                            "end",
                            "a one-off freeze needs an `end` (or give `rrule` and `duration`)",
                        );
                        None
                    }
                    Some(end) => self
                        .window(object, "", &f.start, end, zone)
                        .map(|(start, end)| FreezeSchedule::Once { start, end }),
                }
            }
        };
        let scope = f.scope.unwrap_or_default();
        let scope = Scope {
            teams: self.references(
                object,
                "scope.teams",
                "team",
                &known.teams,
                scope.teams,
                TeamId::new,
            ),
            services: self.references(
                object,
                "scope.services",
                "service",
                &known.services,
                scope.services,
                ServiceId::new,
            ),
            environments: self.references(
                object,
                "scope.environments",
                "environment",
                &known.environments,
                scope.environments,
                EnvironmentId::new,
            ),
        };
        Freeze {
            id: FreezeId::new(f.id),
            name: f.name,
            severity,
            timezone,
            schedule: schedule.unwrap_or(placeholder),
            scope,
            reason: f.reason,
        }
    }

    fn release(&mut self, object: &str, r: WireRelease, zone: Tz, known: &Known) -> Release {
        self.non_empty(object, "title", &r.title);
        let team = self.reference(object, "team", "team", &known.teams, r.team, TeamId::new);
        let services = self.references(
            object,
            "services",
            "service",
            &known.services,
            r.services,
            ServiceId::new,
        );
        let environment = self.reference(
            object,
            "environment",
            "environment",
            &known.environments,
            r.environment,
            EnvironmentId::new,
        );
        let epoch = PlanTime::new(
            TimeValue::Local(chrono::DateTime::UNIX_EPOCH.naive_utc()),
            zone,
        );
        let (start, end) = self
            .window(object, "", &r.start, &r.end, zone)
            .unwrap_or((epoch, epoch));
        let status = ReleaseStatus::parse(&r.status).unwrap_or_else(|| {
            let expected: Vec<&str> = ReleaseStatus::ALL.iter().map(|s| s.as_str()).collect();
            self.err(
                object,
                "status",
                format!(
                    "\"{}\" is not a status; expected one of {}",
                    r.status,
                    expected.join(", ")
                ),
            );
            ReleaseStatus::Draft
        });
        let depends_on = r
            .depends_on
            .into_iter()
            .enumerate()
            .map(|(i, id)| {
                if id.trim().is_empty() {
                    self.err(object, format!("depends_on[{i}]"), "must not be empty");
                }
                ReleaseId::new(id)
            })
            .collect();
        let approvals = r
            .approvals
            .into_iter()
            .enumerate()
            .filter_map(|(i, a)| {
                self.non_empty(object, &format!("approvals[{i}].by"), &a.by);
                let at = self.time(object, &format!("approvals[{i}].at"), &a.at)?;
                Some(Approval {
                    by: a.by,
                    at: PlanTime::new(at, zone),
                })
            })
            .collect();
        let mut item_ids = HashSet::new();
        let checklist = r
            .checklist
            .into_iter()
            .enumerate()
            .map(|(i, c)| {
                if c.id.trim().is_empty() {
                    self.err(object, format!("checklist[{i}].id"), "must not be empty");
                } else if !item_ids.insert(c.id.clone()) {
                    self.err(
                        object,
                        format!("checklist[{i}].id"),
                        format!("duplicate checklist item id \"{}\"", c.id),
                    );
                }
                ChecklistItem {
                    id: c.id,
                    text: c.text,
                    required: c.required,
                    done: c.done,
                }
            })
            .collect();
        let rollback = r.rollback.map(|rb| RollbackPlan {
            steps: rb.steps,
            owner: rb.owner,
            time_budget_minutes: rb.time_budget_minutes,
            tested: rb.tested,
        });
        let overrides = r
            .overrides
            .into_iter()
            .enumerate()
            .map(|(i, o)| {
                let prefix = format!("overrides[{i}]");
                self.non_empty(object, &format!("{prefix}.reason"), &o.reason);
                self.non_empty(object, &format!("{prefix}.by"), &o.by);
                FreezeOverride {
                    freeze: self.reference(
                        object,
                        &format!("{prefix}.freeze"),
                        "freeze",
                        &known.freezes,
                        o.freeze,
                        FreezeId::new,
                    ),
                    reason: o.reason,
                    by: o.by,
                }
            })
            .collect();
        Release {
            id: ReleaseId::new(r.id),
            title: r.title,
            team,
            services,
            environment,
            start,
            end,
            status,
            owner: r.owner,
            depends_on,
            approvals,
            checklist,
            rollback,
            overrides,
            version: r.version,
            artifact: r.artifact,
        }
    }
}

/// Turns serde's wording into (field, message) for a person.
fn describe_serde_error(path: &str, message: &str) -> (String, String) {
    let path = if path == "." { "" } else { path };
    // Strip serde_json's position suffix; the object is named instead.
    let message = message
        .split(" at line ")
        .next()
        .unwrap_or(message)
        .to_owned();
    if let Some(rest) = message.strip_prefix("unknown field `") {
        if let Some((name, expected)) = rest.split_once('`') {
            // serde_path_to_error's path already ends with the unknown key.
            let field = if path.is_empty() { name } else { path };
            let expected = expected.trim_start_matches(", ").replace('`', "");
            return (field.to_owned(), format!("unknown field; {expected}"));
        }
    }
    // serde names the key, the path names the object holding it.
    let field_of = |name: &str| {
        if path.is_empty() {
            name.to_owned()
        } else {
            format!("{path}.{name}")
        }
    };
    for (prefix, said) in [
        (
            "duplicate field `",
            "duplicate field: a key appears once per object",
        ),
        ("missing field `", "missing"),
    ] {
        if let Some((name, _)) = message.strip_prefix(prefix).and_then(|r| r.split_once('`')) {
            return (field_of(name), said.into());
        }
    }
    (path.to_owned(), message)
}

/// Validates one release (plan-file JSON) against `plan`'s teams, services,
/// environments and freezes, as a plan file would. `object` names it in errors.
pub fn parse_release_value(plan: &Plan, object: &str, value: Value) -> Result<Release, PlanError> {
    if !value.is_object() {
        return Err(PlanError::single(object, "", "a release is a JSON object"));
    }
    let ids =
        |it: &mut dyn Iterator<Item = &str>| it.map(str::to_owned).collect::<HashSet<String>>();
    let known = Known {
        teams: ids(&mut plan.teams.iter().map(|t| t.id.as_str())),
        services: ids(&mut plan.services.iter().map(|s| s.id.as_str())),
        environments: ids(&mut plan.environments.iter().map(|e| e.id.as_str())),
        freezes: ids(&mut plan.freezes.iter().map(|f| f.id.as_str())),
    };
    let mut v = Validator::default();
    let wire: WireRelease = match Element::Value(value).typed() {
        Ok(w) => w,
        Err((field, message)) => return Err(PlanError::single(object, &field, message)),
    };
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
