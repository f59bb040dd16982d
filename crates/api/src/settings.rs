//! What the settings screen lists: teams, services and environments with
//! how many releases use each, and the freezes in words.

use crate::edit::{EnvironmentInput, ServiceInput, TeamInput};
use crate::error::ApiError;
use relcal_domain::FreezeSchedule;
use relcal_domain::ObjectKind;
use relcal_store::{CatalogKind, Store};
use serde::Serialize;

/// A team, service or environment as the settings lists show it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct Settings {
    /// The calendar's zone: local times without their own zone are read in it.
    pub calendar_timezone: String,
    /// Teams.
    pub teams: Vec<TeamInput>,
    /// Services.
    pub services: Vec<ServiceInput>,
    /// Environments.
    pub environments: Vec<EnvironmentInput>,
    /// Freezes: (id, name, severity, schedule in words).
    pub freezes: Vec<FreezeSummary>,
    /// Releases per team id, service id, environment id and freeze id, for
    /// "used by N releases".
    pub usage: Vec<Usage>,
}

/// One freeze in the settings list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct FreezeSummary {
    /// Id.
    pub id: String,
    /// Name.
    pub name: String,
    /// `hard` or `soft`.
    pub severity: String,
    /// When, in words, with its zone.
    pub schedule: String,
}

/// How many releases use an object.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct Usage {
    /// The object's kind.
    pub kind: ObjectKind,
    /// Its id.
    pub id: String,
    /// Releases that use it.
    pub releases: u32,
}

/// Everything the settings screen lists.
pub fn settings(store: &Store) -> Result<Settings, ApiError> {
    let Some(plan) = store.load_plan_without_releases()? else {
        return Ok(Settings {
            calendar_timezone: "UTC".into(),
            teams: vec![],
            services: vec![],
            environments: vec![],
            freezes: vec![],
            usage: vec![],
        });
    };
    let mut usage = Vec::new();
    let mut count = |kind: ObjectKind, k: CatalogKind, id: &str| -> Result<(), ApiError> {
        let n = store.releases_referring_to(k, id)?;
        usage.push(Usage {
            kind,
            id: id.to_owned(),
            releases: u32::try_from(n).unwrap_or(u32::MAX),
        });
        Ok(())
    };
    for t in &plan.teams {
        count(ObjectKind::Team, CatalogKind::Team, t.id.as_str())?;
    }
    for s in &plan.services {
        count(ObjectKind::Service, CatalogKind::Service, s.id.as_str())?;
    }
    for e in &plan.environments {
        count(
            ObjectKind::Environment,
            CatalogKind::Environment,
            e.id.as_str(),
        )?;
    }
    let freezes = plan
        .freezes
        .iter()
        .map(|f| {
            let zone = f.zone(plan.timezone);
            FreezeSummary {
                id: f.id.to_string(),
                name: f.name.clone(),
                severity: f.severity.as_str().to_owned(),
                schedule: match &f.schedule {
                    FreezeSchedule::Once { start, end } => format!(
                        "{} – {}",
                        relcal_domain::human_time(start.utc, zone),
                        relcal_domain::human_time(end.utc, zone)
                    ),
                    FreezeSchedule::Recurring(r) => r.describe(zone),
                },
            }
        })
        .collect();
    Ok(Settings {
        calendar_timezone: plan.timezone.name().to_owned(),
        teams: plan
            .teams
            .iter()
            .map(|t| TeamInput {
                id: t.id.to_string(),
                name: t.name.clone(),
                timezone: t.timezone.map(|z| z.name().to_owned()),
            })
            .collect(),
        services: plan
            .services
            .iter()
            .map(|s| ServiceInput {
                id: s.id.to_string(),
                team: s.team.to_string(),
                depends_on: s.depends_on.iter().map(ToString::to_string).collect(),
            })
            .collect(),
        environments: plan
            .environments
            .iter()
            .map(|e| EnvironmentInput {
                id: e.id.to_string(),
                name: e.name.clone(),
                production: e.production,
                max_concurrent: e.max_concurrent,
                required_approvals: e.required_approvals,
            })
            .collect(),
        freezes,
        usage,
    })
}
