//! The kinds of calendar object, as the plan file, the audit trail and the
//! sync log name them.

use serde::{Deserialize, Serialize};

/// The kinds of object a person edits, ordered as [`ObjectKind::ALL`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[serde(rename_all = "snake_case")]
pub enum ObjectKind {
    /// A team.
    Team,
    /// A service.
    Service,
    /// An environment.
    Environment,
    /// A freeze.
    Freeze,
    /// A release.
    Release,
}

impl ObjectKind {
    /// Every kind, in the order a plan file lists them (a later kind may refer
    /// to an earlier one).
    pub const ALL: [ObjectKind; 5] = [
        Self::Team,
        Self::Service,
        Self::Environment,
        Self::Freeze,
        Self::Release,
    ];

    /// The kind named by `noun` (`team`, `release`, ...).
    pub fn from_noun(noun: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.noun() == noun)
    }

    /// The plan file's list that holds this kind.
    pub fn list(self) -> &'static str {
        match self {
            Self::Team => "teams",
            Self::Service => "services",
            Self::Environment => "environments",
            Self::Freeze => "freezes",
            Self::Release => "releases",
        }
    }

    /// Its name in messages, audit entries and the sync log.
    pub fn noun(self) -> &'static str {
        match self {
            Self::Team => "team",
            Self::Service => "service",
            Self::Environment => "environment",
            Self::Freeze => "freeze",
            Self::Release => "release",
        }
    }
}
