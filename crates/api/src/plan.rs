//! Plans in and out: validate, import, export, and the demo calendar.

use crate::error::{ApiError, ErrorCode};
use chrono::{DateTime, Datelike, Utc};
use relcal_domain::{parse_plan, Plan, ReleaseStatus};
use relcal_protocol::ImportSummary;
use relcal_store::Store;
use std::path::{Path, PathBuf};

/// The demo plan shipped in `assets/`, shown to a new user.
pub const DEMO_PLAN: &str = include_str!("../../../assets/demo-plan.json");

/// The app's bundle identifier; the default database lives in its data folder,
/// the same folder Tauri's `app_data_dir()` gives the desktop app.
const APP_IDENTIFIER: &str = "dev.relcal.app";

/// The default database: `<platform data dir>/dev.relcal.app/relcal.db`.
pub fn default_db_path() -> Result<PathBuf, ApiError> {
    let base = dirs::data_dir().ok_or_else(|| {
        ApiError::new(
            ErrorCode::Unavailable,
            "no platform data directory (is HOME set?); pass --db FILE",
        )
    })?;
    Ok(base.join(APP_IDENTIFIER).join("relcal.db"))
}

/// Opens (creating it and its folder if needed) the database at `path`.
pub fn open_store(path: &Path) -> Result<Store, ApiError> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(|e| {
            ApiError::new(
                ErrorCode::Unavailable,
                format!("cannot create the folder {}: {e}", dir.display()),
            )
        })?;
    }
    Ok(Store::open(path)?)
}

/// Parses and validates a plan file's text.
pub fn validate_plan_text(text: &str) -> Result<Plan, ApiError> {
    Ok(parse_plan(text)?)
}

/// Replaces the calendar in `store` with the plan in `text`, in one
/// transaction. Invalid input writes nothing.
pub fn import_plan_text(store: &mut Store, text: &str) -> Result<ImportSummary, ApiError> {
    let plan = validate_plan_text(text)?;
    let summary = serde_json::to_value(ImportSummary::of(&plan)).unwrap_or_default();
    let rec = crate::audit::record(
        store,
        crate::clock::now(),
        "calendar.import",
        ("calendar", "calendar"),
        None,
        Some(&summary),
    );
    store.write(relcal_store::Write::new(&[rec]).whole(&plan))?;
    tracing::info!(releases = plan.releases.len(), "imported plan");
    Ok(ImportSummary::of(&plan))
}

/// The stored calendar as plan-file JSON (pretty-printed).
pub fn export_plan_json(store: &Store) -> Result<String, ApiError> {
    Ok(stored_plan(store)?.to_json_pretty())
}

/// Stores the demo plan, moved by whole weeks to start in the week of `now`,
/// when the database holds no calendar. Returns whether it did.
pub fn seed_demo_if_new(store: &mut Store, now: DateTime<Utc>) -> Result<bool, ApiError> {
    if !store.is_empty()? {
        return Ok(false);
    }
    let demo = parse_plan(DEMO_PLAN).map_err(|e| {
        ApiError::new(
            ErrorCode::Internal,
            format!("the bundled demo plan is invalid: {e}"),
        )
    })?;
    // Into the week of now, or the next one when every release of the demo's
    // first week that has not begun (draft, planned, approved) would already
    // be past: the demo is upcoming, and one of its first releases falls
    // within the next seven days whatever the weekday and hour of seeding.
    let monday = |t: DateTime<Utc>| {
        let day = t.date_naive();
        day - chrono::Duration::days(i64::from(day.weekday().num_days_from_monday()))
    };
    let first_week = demo.releases.iter().map(|r| r.start.utc).min().map(monday);
    let still_to_come = |weeks: i64| {
        demo.releases
            .iter()
            .filter(|r| {
                matches!(
                    r.status,
                    ReleaseStatus::Draft | ReleaseStatus::Planned | ReleaseStatus::Approved
                ) && Some(monday(r.start.utc)) == first_week
            })
            .any(|r| r.start.utc + chrono::Duration::weeks(weeks) >= now)
    };
    let mut weeks = demo.weeks_to_bring_to(now);
    if !still_to_come(weeks) {
        weeks += 1;
    }
    let shifted = demo.shifted_by_weeks(weeks);
    let summary = serde_json::to_value(ImportSummary::of(&shifted)).unwrap_or_default();
    let rec = crate::audit::record(
        store,
        now,
        "calendar.seed_demo",
        ("calendar", "calendar"),
        None,
        Some(&summary),
    );
    store.write(relcal_store::Write::new(&[rec]).whole(&shifted))?;
    Ok(true)
}

/// Opens the app's database (the default one when `path` is `None`) and seeds
/// the demo calendar into a new one.
pub fn open_calendar(path: Option<&Path>, now: DateTime<Utc>) -> Result<Store, ApiError> {
    let path = match path {
        Some(p) => p.to_owned(),
        None => default_db_path()?,
    };
    let mut store = open_store(&path)?;
    seed_demo_if_new(&mut store, now)?;
    Ok(store)
}

/// Reads a plan file as text; errors name the file.
fn read_plan_file(path: &Path) -> Result<String, ApiError> {
    let bytes = std::fs::read(path).map_err(|e| {
        ApiError::new(
            ErrorCode::Unavailable,
            format!("cannot read {}: {e}", path.display()),
        )
    })?;
    String::from_utf8(bytes).map_err(|_| {
        ApiError::new(
            ErrorCode::Validation,
            format!(
                "{} is not a plan file: it is not UTF-8 text",
                path.display()
            ),
        )
    })
}

/// Validates the plan file at `path` without storing it: what an import
/// would store, or every error with its object and field.
pub fn inspect_plan_file(path: &Path) -> Result<ImportSummary, ApiError> {
    Ok(ImportSummary::of(&validated_plan_file(path)?))
}

/// The plan file at `path`, validated; errors start with the file's path.
fn validated_plan_file(path: &Path) -> Result<Plan, ApiError> {
    let text = read_plan_file(path)?;
    validate_plan_text(&text)
        .map_err(|e| ApiError::new(e.code, format!("{}: {}", path.display(), e.message)))
}

/// [`inspect_plan_file`], and what importing it would change in the
/// calendar `store` holds (nothing there yet: every object is added).
pub fn inspect_plan_file_for(
    store: &Store,
    path: &Path,
) -> Result<(ImportSummary, relcal_protocol::ImportChanges), ApiError> {
    let plan = validated_plan_file(path)?;
    let current = store.load_plan()?.unwrap_or_else(|| Plan {
        timezone: plan.timezone,
        teams: Vec::new(),
        services: Vec::new(),
        environments: Vec::new(),
        freezes: Vec::new(),
        releases: Vec::new(),
    });
    Ok((
        ImportSummary::of(&plan),
        relcal_protocol::ImportChanges::between(&current, &plan),
    ))
}

/// Replaces the calendar with the plan file at `path`. Invalid input writes
/// nothing; errors start with the file's path.
pub fn import_plan_file(store: &mut Store, path: &Path) -> Result<ImportSummary, ApiError> {
    let text = read_plan_file(path)?;
    import_plan_text(store, &text)
        .map_err(|e| ApiError::new(e.code, format!("{}: {}", path.display(), e.message)))
}

/// Writes the calendar as a plan file to `path`, atomically: a reader (or a
/// crash) sees the old file or the new one, never half of one.
pub fn export_plan_file(store: &Store, path: &Path) -> Result<ImportSummary, ApiError> {
    let plan = stored_plan(store)?;
    let cannot = |e: std::io::Error| {
        ApiError::new(
            ErrorCode::Unavailable,
            format!("cannot write {}: {e}", path.display()),
        )
    };
    let dir = path
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let mut tmp = tempfile::NamedTempFile::new_in(dir).map_err(cannot)?;
    std::io::Write::write_all(&mut tmp, plan.to_json_pretty().as_bytes()).map_err(cannot)?;
    std::io::Write::write_all(&mut tmp, b"\n").map_err(cannot)?;
    tmp.as_file().sync_all().map_err(cannot)?;
    tmp.persist(path).map_err(|e| cannot(e.error))?;
    Ok(ImportSummary::of(&plan))
}

/// The stored calendar as iCalendar (RFC 5545): releases and freezes as
/// VEVENTs, recurring freezes with RRULE/EXDATE in their zone and a VTIMEZONE.
pub fn export_plan_ics(store: &Store, now: DateTime<Utc>) -> Result<String, ApiError> {
    Ok(relcal_domain::plan_to_ics(&stored_plan(store)?, now))
}

/// The calendar stored in `store`; `NotFound` when none was imported.
pub fn stored_plan(store: &Store) -> Result<Plan, ApiError> {
    store.load_plan()?.ok_or_else(|| {
        ApiError::new(
            ErrorCode::NotFound,
            format!(
                "the database {} holds no calendar yet; import a plan first",
                store.path().display()
            ),
        )
    })
}
