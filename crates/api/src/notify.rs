//! The notification scheduler's one step: what is due now, sent once.
//!
//! The app and `relcal notify` call [`run_notifications`] when they wake, and
//! sleep until `next_at` (at most a minute, so a suspended machine or a
//! changed clock is noticed). What was sent is remembered in the database, so
//! a notice is never sent twice, also across restarts; what fell due while
//! nothing ran is summarised in one notice.

use crate::error::{ApiError, ErrorCode};
use chrono::{DateTime, Duration, Utc};
use relcal_domain::utc_text as utc;
use relcal_domain::{first_run_notices, notices_between, quiet_hours, NoticeKind, NotifyRules, Tz};
use relcal_store::Store;
use serde::{Deserialize, Serialize};
use std::collections::HashSet;
use std::str::FromStr;

const SETTINGS_KEY: &str = "notify_settings";
/// A notice more than this late is "missed": summarised, not replayed.
const GRACE_MINUTES: i64 = 5;
/// How far ahead `next_at` looks.
const HORIZON_DAYS: i64 = 8;

/// What a person wants to be told, as the settings screen edits it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct NotifySettings {
    /// Kinds turned on: `freeze_upcoming`, `freeze_starts`, `freeze_ends`,
    /// `release_upcoming`, `readiness_gap`, `new_conflict`.
    pub kinds: Vec<String>,
    /// Minutes before a freeze starts.
    pub freeze_leads: Vec<u32>,
    /// Minutes before a release starts.
    pub release_leads: Vec<u32>,
    /// My team ids (empty: every team).
    pub my_teams: Vec<String>,
    /// My name, for releases I own or approve (null: my teams' releases).
    pub me: Option<String>,
    /// The zone times are written in (null: the calendar's).
    pub timezone: Option<String>,
    /// Quiet hours start, HH:MM (null: none).
    pub quiet_start: Option<String>,
    /// Quiet hours end, HH:MM.
    pub quiet_end: Option<String>,
    /// Hold everything until this is turned off.
    pub do_not_disturb: bool,
}

impl Default for NotifySettings {
    fn default() -> Self {
        Self {
            kinds: NoticeKind::ALL
                .iter()
                .map(|k| k.as_str().to_owned())
                .collect(),
            freeze_leads: vec![24 * 60, 60],
            release_leads: vec![60, 15],
            my_teams: vec![],
            me: None,
            timezone: None,
            quiet_start: None,
            quiet_end: None,
            do_not_disturb: false,
        }
    }
}

fn invalid(field: &str, message: impl std::fmt::Display) -> ApiError {
    ApiError::new(
        ErrorCode::Validation,
        format!("notification settings: field `{field}`: {message}"),
    )
}

impl NotifySettings {
    /// The rules these settings mean, with the calendar's zone as default.
    fn rules(&self, calendar_zone: Tz) -> Result<NotifyRules, ApiError> {
        let mut kinds = Vec::new();
        for (i, k) in self.kinds.iter().enumerate() {
            kinds.push(NoticeKind::parse(k).ok_or_else(|| {
                invalid(
                    &format!("kinds[{i}]"),
                    format!("\"{k}\" is not a kind of notice"),
                )
            })?);
        }
        for (field, leads) in [
            ("freeze_leads", &self.freeze_leads),
            ("release_leads", &self.release_leads),
        ] {
            if let Some(bad) = leads.iter().find(|m| **m == 0 || **m > 14 * 24 * 60) {
                return Err(invalid(
                    field,
                    format!("{bad} minutes is not from 1 minute to 14 days"),
                ));
            }
        }
        let zone = match self
            .timezone
            .as_deref()
            .map(str::trim)
            .filter(|z| !z.is_empty())
        {
            Some(z) => Tz::from_str(z)
                .map_err(|_| invalid("timezone", format!("`{z}` is not an IANA time zone")))?,
            None => calendar_zone,
        };
        let quiet = match (self.quiet_start.as_deref(), self.quiet_end.as_deref()) {
            (Some(s), Some(e)) if !s.trim().is_empty() && !e.trim().is_empty() => {
                Some(quiet_hours(s, e, zone.name()).map_err(|m| invalid("quiet_start", m))?)
            }
            (None, None) => None,
            (Some(s), Some(e)) if s.trim().is_empty() && e.trim().is_empty() => None,
            _ => {
                return Err(invalid(
                    "quiet_end",
                    "give both the start and the end of quiet hours",
                ))
            }
        };
        Ok(NotifyRules {
            kinds,
            freeze_leads: self.freeze_leads.clone(),
            release_leads: self.release_leads.clone(),
            my_teams: self.my_teams.clone(),
            me: self.me.clone().filter(|m| !m.trim().is_empty()),
            zone,
            quiet,
        })
    }
}

/// This database's notification settings (the defaults until saved).
pub fn notify_settings(store: &Store) -> Result<NotifySettings, ApiError> {
    match store.setting(SETTINGS_KEY)? {
        Some(text) => serde_json::from_str(&text).map_err(|e| {
            ApiError::new(
                ErrorCode::Internal,
                format!("the stored notification settings are not valid: {e}"),
            )
        }),
        None => Ok(NotifySettings::default()),
    }
}

/// Saves notification settings; errors name the field.
pub fn save_notify_settings(
    store: &mut Store,
    settings: NotifySettings,
    now: DateTime<Utc>,
) -> Result<NotifySettings, ApiError> {
    let zone = store
        .load_plan_without_releases()?
        .map_or(Tz::UTC, |p| p.timezone);
    settings.rules(zone)?;
    let before = notify_settings(store)?;
    let text = serde_json::to_string(&settings)
        .map_err(|e| ApiError::new(ErrorCode::Internal, e.to_string()))?;
    let rec = crate::audit::record(
        store,
        now,
        "settings.notifications",
        ("settings", SETTINGS_KEY),
        serde_json::to_value(&before).ok().as_ref(),
        serde_json::to_value(&settings).ok().as_ref(),
    );
    store.set_setting(SETTINGS_KEY, &text, &[rec])?;
    Ok(settings)
}

/// One notification to show.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct OutgoingNotice {
    /// Never sent twice.
    pub key: String,
    /// Title.
    pub summary: String,
    /// Text.
    pub body: String,
    /// What clicking opens: `release`, `freeze`, or null.
    pub target_kind: Option<String>,
    /// Its id.
    pub target_id: Option<String>,
}

/// What one run did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct NotifyRun {
    /// Sent now, in order.
    pub sent: Vec<OutgoingNotice>,
    /// True when do-not-disturb held everything.
    pub held: bool,
    /// When the next notice is due (RFC 3339), if within a week.
    pub next_at: Option<String>,
    /// What the tray shows now (from the same reading of the calendar).
    pub tray: TrayStatus,
}

/// Sends what is due at `now` through `send`, once each, and records it.
/// A notice `send` refuses is not recorded, so the next run tries again.
pub fn run_notifications(
    store: &mut Store,
    now: DateTime<Utc>,
    send: &mut dyn FnMut(&OutgoingNotice) -> Result<(), String>,
) -> Result<NotifyRun, ApiError> {
    let settings = notify_settings(store)?;
    let Some(plan) = store.load_plan()? else {
        return Ok(NotifyRun {
            sent: vec![],
            held: false,
            next_at: None,
            tray: TrayStatus::default(),
        });
    };
    let rules = settings.rules(plan.timezone)?;
    let next_at =
        relcal_domain::next_notice_at(&plan, &rules, now, Duration::days(HORIZON_DAYS)).map(utc);
    // One conflict check serves the tray and the new-conflict notices.
    let report = crate::check_plan(&plan, now);
    let tray = tray_status_of(&plan, &report, now);
    if settings.do_not_disturb {
        return Ok(NotifyRun {
            sent: vec![],
            held: true,
            next_at: None,
            tray,
        });
    }
    let checkpoint = store
        .setting("notify_checkpoint")?
        .and_then(|t| DateTime::parse_from_rfc3339(&t).ok())
        .map(|t| t.to_utc());
    // The first run, or a clock set back: look one minute back (sent keys stop repeats).
    let since = match checkpoint {
        Some(c) if c < now => c,
        _ => now - Duration::minutes(1),
    };
    let mut due = notices_between(&plan, &rules, since, now);
    if checkpoint.is_none() {
        // The first run: what is about to begin still gets its warning, even
        // though its lead time passed before the scheduler started.
        let keys: HashSet<String> = due.iter().map(|n| n.key.clone()).collect();
        due.extend(
            first_run_notices(&plan, &rules, now)
                .into_iter()
                .filter(|n| !keys.contains(&n.key)),
        );
    }
    let keys: Vec<String> = due.iter().map(|n| n.key.clone()).collect();
    let already = store.sent_notices(&keys)?;
    let due: Vec<_> = due
        .into_iter()
        .filter(|n| !already.contains(&n.key))
        .collect();
    let late = now - Duration::minutes(GRACE_MINUTES);
    let (missed, fresh): (Vec<_>, Vec<_>) = due.into_iter().partition(|n| n.show_at < late);

    let mut outgoing: Vec<(Vec<String>, OutgoingNotice)> = Vec::new();
    if !missed.is_empty() {
        let mut lines: Vec<String> = missed.iter().take(5).map(|n| n.summary.clone()).collect();
        if missed.len() > 5 {
            lines.push(format!("… and {} more", missed.len() - 5));
        }
        outgoing.push((
            missed.iter().map(|n| n.key.clone()).collect(),
            OutgoingNotice {
                key: format!("missed:{}", now.timestamp()),
                summary: format!(
                    "While Relcal was not running: {} notice{}",
                    missed.len(),
                    if missed.len() == 1 { "" } else { "s" }
                ),
                body: lines.join("\n"),
                target_kind: None,
                target_id: None,
            },
        ));
    }
    for n in fresh {
        outgoing.push((
            vec![n.key.clone()],
            OutgoingNotice {
                key: n.key,
                summary: n.summary,
                body: n.body,
                target_kind: Some(n.target.0),
                target_id: Some(n.target.1),
            },
        ));
    }
    // New error conflicts, against what the last run saw (the first run only looks).
    // Each error conflict with its key, made once.
    let errors: Vec<(String, &crate::ConflictReport)> = report
        .conflicts
        .iter()
        .filter(|c| c.severity == "error")
        .map(|c| {
            let key = format!(
                "{}|{}|{}|{}",
                c.code,
                c.releases.join(","),
                c.freeze.clone().unwrap_or_default(),
                c.start
            );
            (key, c)
        })
        .collect();
    let current: HashSet<String> = errors.iter().map(|(k, _)| k.clone()).collect();
    if rules.kinds.contains(&NoticeKind::NewConflict) {
        if let Some(known) = store.known_conflicts()? {
            for (key, c) in errors.iter().filter(|(k, _)| !known.contains(k)) {
                outgoing.push((
                    vec![format!("conflict:{key}")],
                    OutgoingNotice {
                        key: format!("conflict:{key}"),
                        summary: format!("New conflict: {}", c.code),
                        body: c.message.clone(),
                        target_kind: c.releases.first().map(|_| "release".to_owned()),
                        target_id: c.releases.first().cloned(),
                    },
                ));
            }
        }
    }
    let mut sent = Vec::new();
    let mut sent_keys = Vec::new();
    let mut failure = None;
    for (keys, notice) in outgoing {
        match send(&notice) {
            Ok(()) => {
                sent_keys.extend(keys);
                sent.push(notice);
            }
            Err(e) => {
                failure = Some(e);
                break;
            }
        }
    }
    // A failed send keeps the checkpoint where it was, so the rest comes again.
    let checkpoint = if failure.is_some() { since } else { now };
    store.record_notify_run(&sent_keys, &utc(now), &utc(checkpoint), &current)?;
    if let Some(e) = failure {
        return Err(ApiError::new(
            ErrorCode::Unavailable,
            format!("cannot show a notification: {e}"),
        ));
    }
    Ok(NotifyRun {
        sent,
        held: false,
        next_at,
        tray,
    })
}

/// What the tray icon shows.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct TrayStatus {
    /// "Holiday freeze from 21 Dec 2026 00:00 EST (America/New_York)", or
    /// "… now, until …", or null when none within 60 days.
    pub next_freeze: Option<String>,
    /// Error and warning conflicts.
    pub open_conflicts: u32,
}

/// The next (or current) freeze and the count of open conflicts at `now`.
pub fn tray_status(store: &Store, now: DateTime<Utc>) -> Result<TrayStatus, ApiError> {
    let Some(plan) = store.load_plan()? else {
        return Ok(TrayStatus::default());
    };
    Ok(tray_status_of(&plan, &crate::check_plan(&plan, now), now))
}

fn tray_status_of(
    plan: &relcal_domain::Plan,
    report: &crate::CheckReport,
    now: DateTime<Utc>,
) -> TrayStatus {
    let range = relcal_domain::Interval {
        start: now,
        end: now + Duration::days(60),
    };
    let mut best: Option<(DateTime<Utc>, String)> = None;
    for f in &plan.freezes {
        let zone = f.zone(plan.timezone);
        if let Some(p) = f.periods_between(plan.timezone, range, 1).first() {
            let text = if p.start <= now {
                format!(
                    "{} now, until {}",
                    f.name,
                    relcal_domain::human_time(p.end, zone)
                )
            } else {
                format!(
                    "{} from {} ({})",
                    f.name,
                    relcal_domain::human_time(p.start, zone),
                    zone.name()
                )
            };
            if best.as_ref().is_none_or(|(s, _)| p.start < *s) {
                best = Some((p.start, text));
            }
        }
    }
    TrayStatus {
        next_freeze: best.map(|(_, t)| t),
        open_conflicts: report.summary.errors + report.summary.warnings,
    }
}
