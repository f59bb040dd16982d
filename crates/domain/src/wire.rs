//! The plan file's shape as Rust types: the plan document. A plan file's
//! text, the database's rows and the app's forms are read into these, and
//! only [`crate::parse_plan_document`] (or the text parsers built on it)
//! turns them into a validated [`crate::Plan`]. Each field is named and
//! typed as in `docs/plan-format.md`, which documents it; nothing here is
//! checked yet (times, durations and rules are still text).

#![allow(
    missing_docs,
    reason = "each field is the plan format's field of the same name (docs/plan-format.md)"
)]

use serde::de::{Deserializer, MapAccess, Visitor};
use serde::{Deserialize, Serialize};
use std::marker::PhantomData;

/// The plan format version this build reads and writes.
pub const PLAN_FORMAT_VERSION: u32 = 1;

/// Top-level keys, checked by hand so each collection can be read element by element.
pub(crate) const TOP_LEVEL_FIELDS: [&str; 7] = [
    "version",
    "timezone",
    "teams",
    "services",
    "environments",
    "freezes",
    "releases",
];

/// A JSON object and nothing else: serde would otherwise read a JSON array
/// into a struct by position (`"scope": [["t"], [], []]`).
pub(crate) struct Obj<T>(pub T);

impl<'de, T: Deserialize<'de>> Deserialize<'de> for Obj<T> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Only<T>(PhantomData<T>);
        impl<'de, T: Deserialize<'de>> Visitor<'de> for Only<T> {
            type Value = T;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a JSON object")
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<T, A::Error> {
                T::deserialize(serde::de::value::MapAccessDeserializer::new(map))
            }
        }
        deserializer.deserialize_map(Only(PhantomData)).map(Obj)
    }
}

/// A list of JSON objects (never null, never arrays in their place).
fn objects<'de, D: Deserializer<'de>, T: Deserialize<'de>>(d: D) -> Result<Vec<T>, D::Error> {
    Vec::<Obj<T>>::deserialize(d).map(|v| v.into_iter().map(|o| o.0).collect())
}

/// An optional JSON object (absent or null: none; never an array).
fn object<'de, D: Deserializer<'de>, T: Deserialize<'de>>(d: D) -> Result<Option<T>, D::Error> {
    Option::<Obj<T>>::deserialize(d).map(|o| o.map(|o| o.0))
}

fn is_false(b: &bool) -> bool {
    !*b
}
fn is_zero(n: &u32) -> bool {
    *n == 0
}

/// A whole plan (its `version` is the format version, checked).
#[derive(Debug, Clone, Serialize)]
pub struct WirePlan {
    pub version: u32,
    pub timezone: String,
    pub teams: Vec<WireTeam>,
    pub services: Vec<WireService>,
    pub environments: Vec<WireEnvironment>,
    pub freezes: Vec<WireFreeze>,
    pub releases: Vec<WireRelease>,
}

/// A team (`teams[]`).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WireTeam {
    pub id: String,
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timezone: Option<String>,
    #[serde(
        default,
        skip_serializing_if = "Vec::is_empty",
        deserialize_with = "objects"
    )]
    pub allowed_windows: Vec<WireRecurrence>,
}

/// A recurring allowed window of a team (`teams[].allowed_windows[]`).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WireRecurrence {
    pub start: String,
    pub duration: String,
    pub rrule: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timezone: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub exdates: Vec<String>,
}

/// A service (`services[]`).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WireService {
    pub id: String,
    pub team: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub depends_on: Vec<String>,
}

/// An environment (`environments[]`).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WireEnvironment {
    pub id: String,
    pub name: String,
    #[serde(default, skip_serializing_if = "is_false")]
    pub production: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_concurrent: Option<u32>,
    #[serde(default, skip_serializing_if = "is_zero")]
    pub required_approvals: u32,
}

/// A freeze, one-off or recurring (`freezes[]`).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WireFreeze {
    pub id: String,
    pub name: String,
    pub severity: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timezone: Option<String>,
    pub start: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub end: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub duration: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rrule: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub exdates: Vec<String>,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "object"
    )]
    pub scope: Option<WireScope>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// What a freeze covers (`freezes[].scope`); empty lists mean every.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WireScope {
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub teams: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub services: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub environments: Vec<String>,
}

/// A release (`releases[]`).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WireRelease {
    pub id: String,
    pub title: String,
    pub team: String,
    pub services: Vec<String>,
    pub environment: String,
    pub start: String,
    pub end: String,
    pub status: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub owner: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub depends_on: Vec<String>,
    #[serde(
        default,
        skip_serializing_if = "Vec::is_empty",
        deserialize_with = "objects"
    )]
    pub approvals: Vec<WireApproval>,
    #[serde(
        default,
        skip_serializing_if = "Vec::is_empty",
        deserialize_with = "objects"
    )]
    pub checklist: Vec<WireChecklistItem>,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "object"
    )]
    pub rollback: Option<WireRollback>,
    #[serde(
        default,
        skip_serializing_if = "Vec::is_empty",
        deserialize_with = "objects"
    )]
    pub overrides: Vec<WireOverride>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub artifact: Option<String>,
}

/// An approval of a release (`releases[].approvals[]`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WireApproval {
    pub by: String,
    pub at: String,
}

/// A readiness checklist item (`releases[].checklist[]`).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WireChecklistItem {
    pub id: String,
    pub text: String,
    #[serde(default)]
    pub required: bool,
    #[serde(default)]
    pub done: bool,
}

/// A rollback plan (`releases[].rollback`).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WireRollback {
    pub steps: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub owner: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub time_budget_minutes: Option<u32>,
    #[serde(default)]
    pub tested: bool,
}

/// An approved exception to a freeze (`releases[].overrides[]`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WireOverride {
    pub freeze: String,
    pub reason: String,
    pub by: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub requested_by: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires: Option<String>,
}

/// A top-level element with an id, for naming it in errors.
pub(crate) trait HasId {
    fn id(&self) -> &str;
}

macro_rules! has_id {
    ($($t:ty),*) => {
        $(impl HasId for $t {
            fn id(&self) -> &str {
                &self.id
            }
        })*
    };
}
has_id!(
    WireTeam,
    WireService,
    WireEnvironment,
    WireFreeze,
    WireRelease
);
