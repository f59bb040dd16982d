//! The freeze editor's side: a stored freeze as the form shows it, and a
//! freeze as typed previewed before it is saved (the rule in words, its next
//! occurrences, the conflicts it would cause).

use crate::check::ConflictReport;
use crate::edit::{not_found, taken, FreezeInput};
use crate::error::ApiError;
use crate::plan::stored_plan;
use crate::write::LISTED;
use chrono::{DateTime, Utc};
use relcal_domain::utc_text as utc;
use relcal_domain::FreezeSchedule;
use relcal_domain::{ObjectKind, WireObject};
use relcal_store::Store;
use serde::Serialize;

/// The form's view of a freeze.
pub fn freeze_input(store: &Store, id: &str) -> Result<FreezeInput, ApiError> {
    let plan = store
        .load_plan_without_releases()?
        .ok_or_else(|| not_found(ObjectKind::Freeze, id))?;
    let f = plan
        .freezes
        .iter()
        .find(|f| f.id.as_str() == id)
        .ok_or_else(|| not_found(ObjectKind::Freeze, id))?;
    let text = f.schedule.to_text();
    fn ids<T: ToString>(v: &[T]) -> Vec<String> {
        v.iter().map(ToString::to_string).collect()
    }
    Ok(FreezeInput {
        id: f.id.to_string(),
        name: f.name.clone(),
        severity: f.severity.as_str().to_owned(),
        timezone: f.timezone.map(|z| z.name().to_owned()),
        start: text.start,
        end: text.end,
        duration: text.duration,
        rrule: text.rrule,
        exdates: text.exdates,
        teams: ids(&f.scope.teams),
        services: ids(&f.scope.services),
        environments: ids(&f.scope.environments),
        reason: f.reason.clone(),
    })
}

/// One period, RFC 3339 UTC.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct PeriodView {
    /// Start.
    pub start: String,
    /// End.
    pub end: String,
}

/// What a freeze as typed would be, before it is saved.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct FreezePreview {
    /// The schedule in words, with its zone.
    pub description: String,
    /// The zone its times are read in.
    pub timezone: String,
    /// Its next periods from now (or its only one), at most 8.
    pub next: Vec<PeriodView>,
    /// False when the rule ends; true when it repeats for ever.
    pub infinite: bool,
    /// Conflicts this freeze would cause with active releases (at most 50).
    pub conflicts: Vec<ConflictReport>,
    /// How many conflicts it would cause.
    pub conflicts_total: u32,
    /// Its occurrences in the next two years whose local start falls in a
    /// daylight-saving gap or fold, with what actually happens (docs/dst.md).
    pub dst_warnings: Vec<String>,
}

/// Validates a freeze as typed and tells what it would be: the rule in
/// words, its next occurrences, and the releases it would block. Writes
/// nothing.
pub fn preview_freeze(
    store: &Store,
    input: &FreezeInput,
    now: DateTime<Utc>,
) -> Result<FreezePreview, ApiError> {
    let id = if input.id.trim().is_empty() {
        "new-freeze"
    } else {
        input.id.trim()
    };
    let plan = stored_plan(store)?;
    let (mut doc, old) = taken(&plan, ObjectKind::Freeze, id);
    doc.put(WireObject::Freeze(input.to_wire(id)), old.map(|(i, _)| i));
    let changed = relcal_domain::parse_plan_document(doc)?;
    let freeze = changed
        .freezes
        .iter()
        .find(|f| f.id.as_str() == id)
        .ok_or_else(|| not_found(ObjectKind::Freeze, id))?;
    let zone = freeze.zone(changed.timezone);
    let (description, infinite, next) = match &freeze.schedule {
        FreezeSchedule::Once { start, end } => (
            format!(
                "once, from {} to {}",
                relcal_domain::human_time(start.utc, zone),
                relcal_domain::human_time(end.utc, zone)
            ),
            false,
            vec![PeriodView {
                start: utc(start.utc),
                end: utc(end.utc),
            }],
        ),
        FreezeSchedule::Recurring(r) => {
            let far = now + chrono::Duration::days(366 * 10);
            let next = r
                .occurrences_between(zone, now, far, 8)
                .into_iter()
                .map(|o| PeriodView {
                    start: utc(o.interval.start),
                    end: utc(o.interval.end),
                })
                .collect();
            (r.describe(zone), r.rule.is_infinite(), next)
        }
    };
    let mine: Vec<ConflictReport> = relcal_domain::check(&changed, now)
        .into_iter()
        .filter(|c| c.freeze.as_ref().is_some_and(|f| f.as_str() == id))
        .map(ConflictReport::from)
        .collect();
    let conflicts_total = u32::try_from(mine.len()).unwrap_or(u32::MAX);
    let dst_warnings =
        relcal_domain::dst_warnings(&changed, now, now + chrono::Duration::days(731))
            .into_iter()
            .filter(|w| w.object == id && w.code != "window.dst_drift")
            .map(|w| w.message)
            .collect();
    Ok(FreezePreview {
        description,
        timezone: zone.name().to_owned(),
        next,
        infinite,
        conflicts: mine.into_iter().take(LISTED).collect(),
        conflicts_total,
        dst_warnings,
    })
}
