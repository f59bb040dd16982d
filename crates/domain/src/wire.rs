//! The plan file's JSON shape. Only this module and `validate` know it.

use serde::{Deserialize, Serialize};

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

fn is_false(b: &bool) -> bool {
    !*b
}
fn is_zero(n: &u32) -> bool {
    *n == 0
}

#[derive(Debug, Serialize)]
pub(crate) struct WirePlan {
    pub version: u32,
    pub timezone: String,
    pub teams: Vec<WireTeam>,
    pub services: Vec<WireService>,
    pub environments: Vec<WireEnvironment>,
    pub freezes: Vec<WireFreeze>,
    pub releases: Vec<WireRelease>,
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct WireTeam {
    pub id: String,
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timezone: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub allowed_windows: Vec<WireRecurrence>,
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct WireRecurrence {
    pub start: String,
    pub duration: String,
    pub rrule: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timezone: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub exdates: Vec<String>,
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct WireService {
    pub id: String,
    pub team: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub depends_on: Vec<String>,
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct WireEnvironment {
    pub id: String,
    pub name: String,
    #[serde(default, skip_serializing_if = "is_false")]
    pub production: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_concurrent: Option<u32>,
    #[serde(default, skip_serializing_if = "is_zero")]
    pub required_approvals: u32,
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct WireFreeze {
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
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scope: Option<WireScope>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct WireScope {
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub teams: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub services: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub environments: Vec<String>,
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct WireRelease {
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
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub approvals: Vec<WireApproval>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub checklist: Vec<WireChecklistItem>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rollback: Option<WireRollback>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub overrides: Vec<WireOverride>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub artifact: Option<String>,
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct WireApproval {
    pub by: String,
    pub at: String,
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct WireChecklistItem {
    pub id: String,
    pub text: String,
    #[serde(default)]
    pub required: bool,
    #[serde(default)]
    pub done: bool,
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct WireRollback {
    pub steps: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub owner: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub time_budget_minutes: Option<u32>,
    #[serde(default)]
    pub tested: bool,
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct WireOverride {
    pub freeze: String,
    pub reason: String,
    pub by: String,
}
