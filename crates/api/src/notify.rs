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
    /// `release_upcoming`, `readiness_gap`, `new_conflict`, `exception_expires`,
    /// `exception_requested`.
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
    pub(crate) fn rules(&self, calendar_zone: Tz) -> Result<NotifyRules, ApiError> {
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
    crate::json_setting::read(
        store,
        SETTINGS_KEY,
        "notification settings",
        NotifySettings::default,
    )
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
    crate::json_setting::save(
        store,
        SETTINGS_KEY,
        "settings.notifications",
        (&before, &settings),
        now,
    )?;
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
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
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
        return Ok(NotifyRun::default());
    };
    // One conflict check serves the tray and the new-conflict notices.
    let report = crate::check_plan(&plan, now);
    let errors = report
        .conflicts
        .iter()
        .filter(|c| c.severity == "error")
        .map(|c| ErrorConflict {
            key: conflict_key(
                &c.code,
                c.releases.iter().map(String::as_str),
                c.freeze.as_deref(),
                &c.start,
            ),
            code: c.code.clone(),
            message: c.message.clone(),
            release: c.releases.first().cloned(),
        })
        .collect();
    let at = run_since(store, now)?;
    run_on(store, &settings, &plan, errors, report.summary, at, send)
}

/// An error conflict as the scheduler remembers it between runs (borrowed
/// from the check: a large calendar has tens of thousands, and only the new
/// ones are worded into a notice).
pub(crate) struct ErrorConflict {
    /// What tells it apart from every other ("code|releases|freeze|start").
    pub(crate) key: String,
    pub(crate) code: String,
    pub(crate) message: String,
    /// Its first release, which its notice opens.
    pub(crate) release: Option<String>,
}

/// An error conflict's key: the same whichever path checked it.
pub(crate) fn conflict_key<'a>(
    code: &str,
    releases: impl Iterator<Item = &'a str>,
    freeze: Option<&str>,
    start: &str,
) -> String {
    let releases: Vec<&str> = releases.collect();
    format!(
        "{code}|{}|{}|{start}",
        releases.join(","),
        freeze.unwrap_or_default()
    )
}

/// How far from `now` a scheduler run looks at releases: what it sends
/// (from a day before its last run, for quiet hours), what it restates on a
/// first run, and when it wakes next.
pub(crate) fn notice_range(
    rules: &NotifyRules,
    since: DateTime<Utc>,
    now: DateTime<Utc>,
) -> relcal_domain::Interval {
    let longest = rules
        .freeze_leads
        .iter()
        .chain(&rules.release_leads)
        .copied()
        .max()
        .unwrap_or(0)
        .max(24 * 60);
    relcal_domain::Interval {
        start: since.min(now - Duration::minutes(i64::from(longest))) - Duration::days(2),
        end: now + Duration::days(HORIZON_DAYS + 2) + Duration::minutes(i64::from(longest)),
    }
}

/// When the last run looked, or a minute back on a first run (or after the
/// clock was set back): sent keys stop repeats.
pub(crate) fn run_since(store: &Store, now: DateTime<Utc>) -> Result<RunAt, ApiError> {
    let checkpoint = store
        .setting("notify_checkpoint")?
        .and_then(|t| DateTime::parse_from_rfc3339(&t).ok())
        .map(|t| t.to_utc());
    let since = match checkpoint {
        Some(c) if c < now => c,
        _ => now - Duration::minutes(1),
    };
    Ok(RunAt {
        checkpoint,
        since,
        now,
    })
}

/// When a run happens: now, and what the last run covered up to.
pub(crate) struct RunAt {
    /// The last run's checkpoint; `None` on a first run.
    pub(crate) checkpoint: Option<DateTime<Utc>>,
    /// Where this run's notices start (after the checkpoint).
    pub(crate) since: DateTime<Utc>,
    pub(crate) now: DateTime<Utc>,
}

/// One run over `plan` (the calendar, or the part of it around `now` that
/// the run looks at: [`notice_range`]) and its error conflicts, from the
/// last run's checkpoint ([`run_since`]).
pub(crate) fn run_on(
    store: &mut Store,
    settings: &NotifySettings,
    plan: &relcal_domain::Plan,
    errors: Vec<ErrorConflict>,
    summary: crate::CheckSummary,
    at: RunAt,
    send: &mut dyn FnMut(&OutgoingNotice) -> Result<(), String>,
) -> Result<NotifyRun, ApiError> {
    let RunAt {
        checkpoint,
        since,
        now,
    } = at;
    let rules = settings.rules(plan.timezone)?;
    let next_at =
        relcal_domain::next_notice_at(plan, &rules, now, Duration::days(HORIZON_DAYS)).map(utc);
    let tray = tray_status_of(plan, summary, now);
    if settings.do_not_disturb {
        return Ok(NotifyRun {
            sent: vec![],
            held: true,
            next_at: None,
            tray,
        });
    }
    let mut due = notices_between(plan, &rules, since, now);
    if checkpoint.is_none() {
        // The first run: what is about to begin still gets its warning, even
        // though its lead time passed before the scheduler started.
        let keys: HashSet<String> = due.iter().map(|n| n.key.clone()).collect();
        due.extend(
            first_run_notices(plan, &rules, now)
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
    let current: HashSet<String> = errors.iter().map(|c| c.key.clone()).collect();
    // What the last run knew; `None` on a first run.
    let known = store.known_conflicts()?;
    if rules.kinds.contains(&NoticeKind::NewConflict) {
        if let Some(known) = &known {
            let mut new: Vec<&ErrorConflict> =
                errors.iter().filter(|c| !known.contains(&c.key)).collect();
            // In time order (a key ends with its start, RFC 3339 UTC), then by key.
            new.sort_by(|a, b| {
                (a.key.rsplit('|').next(), &a.key).cmp(&(b.key.rsplit('|').next(), &b.key))
            });
            for c in new {
                outgoing.push((
                    vec![format!("conflict:{}", c.key)],
                    OutgoingNotice {
                        key: format!("conflict:{}", c.key),
                        summary: format!("New conflict: {}", c.code),
                        body: c.message.clone(),
                        target_kind: c.release.as_ref().map(|_| "release".to_owned()),
                        target_id: c.release.clone(),
                    },
                ));
            }
        }
    }
    if rules.kinds.contains(&NoticeKind::ExceptionRequested) {
        outgoing.extend(requests_due(store, plan, &rules, now)?);
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
    store.record_notify_run(
        &sent_keys,
        &utc(now),
        &utc(checkpoint),
        &current,
        known.as_ref(),
    )?;
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

/// More requests waiting than this come as one notice.
const REQUESTS_ONE_BY_ONE: usize = 3;

/// The notices of freeze exceptions waiting for a decision that this run
/// sends (with the keys each records): those of [`requests_waiting`] not
/// sent before and not asked on this desktop (the server names the asker by
/// the account it signed in with, which may not be the name here); more
/// than a few at once (a first run) as one.
fn requests_due(
    store: &Store,
    plan: &relcal_domain::Plan,
    rules: &NotifyRules,
    now: DateTime<Utc>,
) -> Result<Vec<(Vec<String>, OutgoingNotice)>, ApiError> {
    let me = rules.me.clone().unwrap_or_else(|| store.actor().to_owned());
    let asked = crate::exception_requests(store, true)?;
    let waiting = requests_waiting(plan, rules, &me, &asked, now);
    let keys: Vec<String> = waiting.iter().map(|w| w.notice.key.clone()).collect();
    let already = store.sent_notices(&keys)?;
    let mut due = Vec::new();
    for w in waiting {
        if already.contains(&w.notice.key) {
            continue;
        }
        // Asked here by me (not by someone else on a shared database).
        let here = store
            .audit_entries(Some(("exception_request", w.id)))?
            .iter()
            .any(|e| {
                e.action == "exception_request.asked" && (e.actor == me || e.actor == store.actor())
            });
        if !here {
            due.push(w);
        }
    }
    if due.len() <= REQUESTS_ONE_BY_ONE {
        return Ok(due
            .into_iter()
            .map(|w| (vec![w.notice.key.clone()], w.notice))
            .collect());
    }
    // Each line names the release, and a long reason is cut short.
    let line = |w: &Waiting<'_>| {
        let body: String = w.notice.body.chars().take(160).collect();
        let cut = if body.len() < w.notice.body.len() {
            "…"
        } else {
            ""
        };
        format!("{}: {body}{cut}", w.title)
    };
    let mut lines: Vec<String> = due.iter().take(5).map(line).collect();
    if due.len() > 5 {
        lines.push(format!("… and {} more", due.len() - 5));
    }
    Ok(vec![(
        due.iter().map(|w| w.notice.key.clone()).collect(),
        OutgoingNotice {
            key: format!("requests:{}", now.timestamp()),
            summary: format!("{} freeze exceptions wait for a decision", due.len()),
            body: lines.join("\n"),
            target_kind: None,
            target_id: None,
        },
    )])
}

/// A request waiting for a decision, and its notice.
struct Waiting<'a> {
    id: &'a str,
    /// Its release's title.
    title: &'a str,
    notice: OutgoingNotice,
}

/// Freeze exceptions asked for by someone other than `me`, for releases
/// of my teams still to come, waiting for a decision and not yet expired:
/// a notice each (with the request's id), which opens the release (where it
/// is approved or declined). None in quiet hours: they come when those end,
/// as they are still waiting.
fn requests_waiting<'a>(
    plan: &'a relcal_domain::Plan,
    rules: &NotifyRules,
    me: &str,
    asked: &'a [relcal_protocol::ExceptionRequest],
    now: DateTime<Utc>,
) -> Vec<Waiting<'a>> {
    if asked.is_empty() || rules.quiet.is_some_and(|q| q.release_time(now) > now) {
        return Vec::new();
    }
    let releases: std::collections::HashMap<&str, &'a relcal_domain::Release> =
        plan.releases.iter().map(|r| (r.id.as_str(), r)).collect();
    asked
        .iter()
        .filter(|r| r.state == relcal_protocol::RequestState::Pending && r.requested_by != me)
        .filter_map(|r| {
            let release = *releases.get(r.release.as_str())?;
            let freeze = plan.freezes.iter().find(|f| f.id.as_str() == r.freeze)?;
            let mine = rules.my_teams.is_empty()
                || rules.my_teams.iter().any(|t| t == release.team.as_str());
            let expires = r
                .expires
                .as_deref()
                .and_then(|e| DateTime::parse_from_rfc3339(e).ok())
                .map(|e| e.to_utc());
            if !mine || release.end.utc <= now || expires.is_some_and(|e| e <= now) {
                return None;
            }
            let until = expires
                .map(|e| format!(", until {}", relcal_domain::human_time(e, rules.zone)))
                .unwrap_or_default();
            Some(Waiting {
                id: r.id.as_str(),
                title: release.title.as_str(),
                notice: OutgoingNotice {
                    key: format!("request:{}", r.id),
                    summary: format!("Freeze exception asked for {}", release.title),
                    body: format!(
                        "{} asks to go ahead during {}{until}: {}",
                        r.requested_by, freeze.name, r.reason
                    ),
                    target_kind: Some("release".to_owned()),
                    target_id: Some(release.id.to_string()),
                },
            })
        })
        .collect()
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
    Ok(tray_status_of(
        &plan,
        crate::check_plan(&plan, now).summary,
        now,
    ))
}

pub(crate) fn tray_status_of(
    plan: &relcal_domain::Plan,
    summary: crate::CheckSummary,
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
        open_conflicts: summary.errors + summary.warnings,
    }
}
