//! A holiday calendar (.ics) imported as one-off freezes.

use crate::error::{ApiError, ErrorCode};
use crate::plan::stored_plan;
use crate::write::{commit_plan, difference, reports};
use chrono::{DateTime, Utc};
use relcal_domain::wire::{WireFreeze, WireScope};
use relcal_domain::{ObjectKind, WireObject};
use relcal_store::Store;
use serde::Serialize;

/// What importing a holiday calendar did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct HolidayImport {
    /// Freezes created.
    pub created: u32,
    /// Freezes updated (same UID imported before).
    pub updated: u32,
    /// Events that could not be used, and why.
    pub skipped: Vec<String>,
    /// Conflicts the new freezes cause.
    pub gained_total: u32,
}

/// Adds the events of an iCalendar file (a holiday calendar) as one-off
/// freezes of `severity`, limited to `environments` when given. All-day
/// events cover their days in the calendar's zone. Importing the same file
/// again updates the same freezes (ids come from the events' UIDs). One
/// transaction; nothing is written when any freeze is invalid.
pub fn import_holidays(
    store: &mut Store,
    ics: &str,
    severity: &str,
    environments: &[String],
    now: DateTime<Utc>,
) -> Result<HolidayImport, ApiError> {
    let (events, skipped) = relcal_domain::freezes_from_ics(ics)
        .map_err(|e| ApiError::new(ErrorCode::Validation, format!("holiday calendar: {e}")))?;
    if events.is_empty() {
        return Err(ApiError::new(
            ErrorCode::Validation,
            "holiday calendar: it has no event to import",
        ));
    }
    let plan = stored_plan(store)?;
    let mut doc = plan.to_document();
    let mut records = Vec::new();
    let (mut created, mut updated) = (0u32, 0u32);
    for e in &events {
        let freeze = WireObject::Freeze(WireFreeze {
            id: e.id.clone(),
            name: e.name.clone(),
            severity: severity.to_owned(),
            timezone: None,
            start: relcal_domain::day_start(&e.start),
            end: Some(relcal_domain::day_start(&e.end)),
            duration: None,
            rrule: None,
            exdates: Vec::new(),
            scope: (!environments.is_empty()).then(|| WireScope {
                environments: environments.to_vec(),
                ..WireScope::default()
            }),
            reason: Some("Imported holiday".into()),
        });
        let previous = doc.take(ObjectKind::Freeze, &e.id);
        if previous.is_some() {
            updated += 1;
        } else {
            created += 1;
        }
        records.push(crate::audit::record(
            store,
            now,
            if previous.is_some() {
                "freeze.updated"
            } else {
                "freeze.created"
            },
            ("freeze", &e.id),
            previous.as_ref().map(|(_, o)| o.to_json()).as_ref(),
            Some(&freeze.to_json()),
        ));
        doc.put(freeze, previous.map(|(i, _)| i));
    }
    let changed = relcal_domain::parse_plan_document(doc)?;
    let (before_list, _) = reports(relcal_domain::check(&plan, now));
    let (after_list, _) = reports(relcal_domain::check(&changed, now));
    commit_plan(store, &changed, &records, true, &[])?;
    let (_, gained_total) = difference(&after_list, &before_list);
    Ok(HolidayImport {
        created,
        updated,
        skipped,
        gained_total,
    })
}
