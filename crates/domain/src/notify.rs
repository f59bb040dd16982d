//! What to announce, and when: the notification rules as a pure function of
//! the calendar, the person's settings and a time range. The scheduler (in
//! `relcal-api`) asks for the notices due in `(last run, now]`, remembers what
//! it sent, and sleeps until the next one.

use crate::conflicts::human_time;
use crate::plan::{FreezeSeverity, Plan, Release};
use chrono::{DateTime, Duration, NaiveTime, Utc};
use chrono_tz::Tz;
use std::str::FromStr;

/// The kinds of notice a person can turn on or off.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum NoticeKind {
    /// A freeze in scope starts in one of the lead times.
    FreezeUpcoming,
    /// A freeze in scope starts now.
    FreezeStarts,
    /// A freeze in scope ends now.
    FreezeEnds,
    /// A release I own or approve starts in one of the lead times.
    ReleaseUpcoming,
    /// A release starting within 24 h has open required items or missing approvals.
    ReadinessGap,
    /// A new error-severity conflict appeared.
    NewConflict,
    /// A freeze exception I hold expires while my release is still in the freeze.
    ExceptionExpires,
    /// Someone else asked for a freeze exception for a release of my teams,
    /// and it waits for a decision.
    ExceptionRequested,
}

impl NoticeKind {
    /// Every kind.
    pub const ALL: [NoticeKind; 8] = [
        Self::FreezeUpcoming,
        Self::FreezeStarts,
        Self::FreezeEnds,
        Self::ReleaseUpcoming,
        Self::ReadinessGap,
        Self::NewConflict,
        Self::ExceptionExpires,
        Self::ExceptionRequested,
    ];

    /// The settings' name of the kind.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::FreezeUpcoming => "freeze_upcoming",
            Self::FreezeStarts => "freeze_starts",
            Self::FreezeEnds => "freeze_ends",
            Self::ReleaseUpcoming => "release_upcoming",
            Self::ReadinessGap => "readiness_gap",
            Self::NewConflict => "new_conflict",
            Self::ExceptionExpires => "exception_expires",
            Self::ExceptionRequested => "exception_requested",
        }
    }

    /// The kind with this settings name.
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == s)
    }
}

/// Quiet hours: notices due inside them wait for their end.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QuietHours {
    /// Start, wall clock in `zone` (22:00).
    pub start: NaiveTime,
    /// End (07:00); before `start` means the next day.
    pub end: NaiveTime,
    /// The person's zone.
    pub zone: Tz,
}

impl QuietHours {
    /// When a notice due at `t` may be shown: `t`, or the end of the quiet
    /// hours it falls in.
    pub fn release_time(&self, t: DateTime<Utc>) -> DateTime<Utc> {
        if self.start == self.end {
            return t;
        }
        let local = t.with_timezone(&self.zone);
        let time = local.time();
        let inside = if self.start < self.end {
            time >= self.start && time < self.end
        } else {
            time >= self.start || time < self.end
        };
        if !inside {
            return t;
        }
        let mut day = local.date_naive();
        if self.start > self.end && time >= self.start {
            day = day.succ_opt().unwrap_or(day);
        }
        crate::resolve_local(day.and_time(self.end), self.zone)
    }
}

/// What a person wants to be told.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NotifyRules {
    /// The kinds turned on.
    pub kinds: Vec<NoticeKind>,
    /// Lead times before a freeze starts, in minutes (24 h and 1 h).
    pub freeze_leads: Vec<u32>,
    /// Lead times before a release starts, in minutes (1 h and 15 min).
    pub release_leads: Vec<u32>,
    /// My teams: freezes scoped to them (or to everyone), and their releases
    /// when `me` is not set. Empty: every team.
    pub my_teams: Vec<String>,
    /// My name: releases I own or approved.
    pub me: Option<String>,
    /// My zone: times in notices are written in it.
    pub zone: Tz,
    /// Quiet hours, if any.
    pub quiet: Option<QuietHours>,
}

impl NotifyRules {
    /// Everything on, default lead times, every team, in `zone`.
    pub fn defaults(zone: Tz) -> Self {
        Self {
            kinds: NoticeKind::ALL.to_vec(),
            freeze_leads: vec![24 * 60, 60],
            release_leads: vec![60, 15],
            my_teams: vec![],
            me: None,
            zone,
            quiet: None,
        }
    }

    fn wants(&self, kind: NoticeKind) -> bool {
        self.kinds.contains(&kind)
    }
}

/// One notice to show.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Notice {
    /// Identifies the notice for one occurrence, so it is never sent twice.
    pub key: String,
    /// What kind.
    pub kind: NoticeKind,
    /// When it is due by the rules.
    pub due: DateTime<Utc>,
    /// When it may be shown (after quiet hours).
    pub show_at: DateTime<Utc>,
    /// The notification's title.
    pub summary: String,
    /// Its text: when (in my zone), which teams.
    pub body: String,
    /// What clicking opens: (`release` | `freeze`, id).
    pub target: (String, String),
    /// For a lead notice ("starts in 1 hour"): the name of what starts, and when.
    pub starts: Option<(String, DateTime<Utc>)>,
}

fn lead_words(minutes: u32) -> String {
    match minutes {
        m if m % (24 * 60) == 0 => {
            let d = m / (24 * 60);
            format!("{d} day{}", if d == 1 { "" } else { "s" })
        }
        m if m % 60 == 0 => {
            let h = m / 60;
            format!("{h} hour{}", if h == 1 { "" } else { "s" })
        }
        m => format!("{m} minutes"),
    }
}

fn team_names(plan: &Plan, ids: &[&str]) -> String {
    let names: Vec<&str> = ids
        .iter()
        .map(|id| {
            plan.teams
                .iter()
                .find(|t| t.id.as_str() == *id)
                .map_or(*id, |t| t.name.as_str())
        })
        .collect();
    names.join(", ")
}

fn mine(plan: &Plan, rules: &NotifyRules, r: &Release) -> bool {
    let mine = match &rules.me {
        Some(me) => {
            r.owner.as_deref() == Some(me.as_str()) || r.approvals.iter().any(|a| &a.by == me)
        }
        None => rules.my_teams.is_empty() || rules.my_teams.iter().any(|t| t == r.team.as_str()),
    };
    // A release of a team that no longer exists is nobody's.
    mine && plan.teams.iter().any(|t| t.id == r.team)
}

/// Every time-based notice whose showing time falls in `(after, until]`,
/// in order of showing time, then key.
pub fn notices_between(
    plan: &Plan,
    rules: &NotifyRules,
    after: DateTime<Utc>,
    until: DateTime<Utc>,
) -> Vec<Notice> {
    let mut out = Vec::new();
    let when = |t: DateTime<Utc>| format!("{} ({})", human_time(t, rules.zone), rules.zone.name());
    let push = |out: &mut Vec<Notice>, mut n: Notice| {
        n.show_at = rules.quiet.map_or(n.due, |q| q.release_time(n.due));
        if n.show_at > after && n.show_at <= until {
            out.push(n);
        }
    };
    // Quiet hours can hold a notice up to a day; look that far back for due times.
    let look_back = after - Duration::days(1);
    let max_freeze_lead = i64::from(rules.freeze_leads.iter().copied().max().unwrap_or(0));
    let all_team_ids: Vec<&str> = plan.teams.iter().map(|t| t.id.as_str()).collect();

    for f in &plan.freezes {
        let teams: Vec<&str> = if f.scope.teams.is_empty() {
            all_team_ids.clone()
        } else {
            f.scope.teams.iter().map(|t| t.as_str()).collect()
        };
        let in_scope = rules.my_teams.is_empty()
            || f.scope.teams.is_empty()
            || rules.my_teams.iter().any(|t| teams.contains(&t.as_str()));
        if !in_scope {
            continue;
        }
        let range = crate::Interval {
            start: look_back,
            end: until + Duration::minutes(max_freeze_lead) + Duration::seconds(1),
        };
        let severity = match f.severity {
            FreezeSeverity::Hard => "hard",
            FreezeSeverity::Soft => "soft",
        };
        let who = if f.scope.teams.is_empty() {
            "all teams".to_owned()
        } else {
            team_names(plan, &teams)
        };
        for p in f.periods_between(plan.timezone, range, 10_000) {
            let period = format!("{} – {}", when(p.start), when(p.end));
            let body = format!(
                "{severity} freeze · {period} · {who}{}",
                f.reason
                    .as_deref()
                    .map(|r| format!(" · {r}"))
                    .unwrap_or_default()
            );
            let key = |what: &str| format!("freeze:{}:{}:{what}", f.id, p.start.timestamp());
            let target = ("freeze".to_owned(), f.id.to_string());
            if rules.wants(NoticeKind::FreezeUpcoming) {
                for lead in &rules.freeze_leads {
                    push(
                        &mut out,
                        Notice {
                            key: key(&format!("lead{lead}")),
                            kind: NoticeKind::FreezeUpcoming,
                            due: p.start - Duration::minutes(i64::from(*lead)),
                            show_at: p.start,
                            summary: format!("{} starts in {}", f.name, lead_words(*lead)),
                            body: body.clone(),
                            target: target.clone(),
                            starts: Some((f.name.clone(), p.start)),
                        },
                    );
                }
            }
            if rules.wants(NoticeKind::FreezeStarts) {
                push(
                    &mut out,
                    Notice {
                        key: key("start"),
                        kind: NoticeKind::FreezeStarts,
                        due: p.start,
                        show_at: p.start,
                        summary: format!("{} starts now", f.name),
                        body: body.clone(),
                        target: target.clone(),
                        starts: None,
                    },
                );
            }
            if rules.wants(NoticeKind::FreezeEnds) {
                push(
                    &mut out,
                    Notice {
                        key: key("end"),
                        kind: NoticeKind::FreezeEnds,
                        due: p.end,
                        show_at: p.end,
                        summary: format!("{} is over", f.name),
                        body: body.clone(),
                        target: target.clone(),
                        starts: None,
                    },
                );
            }
        }
    }

    for r in plan.releases.iter().filter(|r| r.status.is_active()) {
        if !mine(plan, rules, r) {
            continue;
        }
        let env = plan.environments.iter().find(|e| e.id == r.environment);
        let env_name = env.map_or(r.environment.as_str(), |e| e.name.as_str());
        let team = team_names(plan, &[r.team.as_str()]);
        let body = format!(
            "{} – {} · {env_name} · {team}",
            when(r.start.utc),
            when(r.end.utc)
        );
        let target = ("release".to_owned(), r.id.to_string());
        let key = |what: &str| format!("release:{}:{}:{what}", r.id, r.start.utc.timestamp());
        if rules.wants(NoticeKind::ReleaseUpcoming) {
            for lead in &rules.release_leads {
                push(
                    &mut out,
                    Notice {
                        key: key(&format!("lead{lead}")),
                        kind: NoticeKind::ReleaseUpcoming,
                        due: r.start.utc - Duration::minutes(i64::from(*lead)),
                        show_at: r.start.utc,
                        summary: format!("{} starts in {}", r.title, lead_words(*lead)),
                        body: body.clone(),
                        target: target.clone(),
                        starts: Some((r.title.clone(), r.start.utc)),
                    },
                );
            }
        }
        if rules.wants(NoticeKind::ReadinessGap) {
            let open = r.checklist.iter().filter(|c| c.required && !c.done).count();
            let approvers = r.approvers();
            let needed = env.map_or(0, |e| e.required_approvals) as usize;
            let mut gaps = Vec::new();
            if open > 0 {
                gaps.push(format!(
                    "{open} required checklist item{} open",
                    if open == 1 { "" } else { "s" }
                ));
            }
            if approvers.len() < needed {
                gaps.push(format!("{} of {needed} approvals", approvers.len()));
            }
            if !gaps.is_empty() {
                push(
                    &mut out,
                    Notice {
                        key: key("readiness"),
                        kind: NoticeKind::ReadinessGap,
                        due: r.start.utc - Duration::hours(24),
                        show_at: r.start.utc,
                        summary: format!("{} is not ready: {}", r.title, gaps.join(", ")),
                        body: body.clone(),
                        target: target.clone(),
                        starts: None,
                    },
                );
            }
        }
    }
    if rules.wants(NoticeKind::ExceptionExpires) {
        for r in plan.releases.iter().filter(|r| r.status.is_active()) {
            for o in &r.overrides {
                let Some(expires) = o.expires.map(|e| e.utc) else {
                    continue;
                };
                let held = mine(plan, rules, r)
                    || rules.me.as_deref().is_some_and(|me| {
                        o.requested_by.as_deref().map(str::trim) == Some(me.trim())
                    });
                let Some(f) = plan.freezes.iter().find(|f| f.id == o.freeze) else {
                    continue;
                };
                // Still in the freeze from the expiry on: some occurrence
                // meets the part of the window after it.
                let after = crate::Interval {
                    start: r.start.utc.max(expires),
                    end: r.end.utc,
                };
                if !held || after.start >= after.end || !f.scope.matches(r) {
                    continue;
                }
                let Some(p) = f
                    .periods_between(plan.timezone, after, 1)
                    .into_iter()
                    .next()
                else {
                    continue;
                };
                let severity = match f.severity {
                    FreezeSeverity::Hard => "hard",
                    FreezeSeverity::Soft => "soft",
                };
                push(
                    &mut out,
                    Notice {
                        key: format!(
                            "exception:{}:{}:{}",
                            r.id,
                            f.id,
                            expires.timestamp()
                        ),
                        kind: NoticeKind::ExceptionExpires,
                        due: expires,
                        show_at: expires,
                        summary: format!("Exception to {} for {} expires", f.name, r.title),
                        body: format!(
                            "{} runs until {}; from {} the {severity} freeze applies to it again (until {}) · approved by {}: {}",
                            r.title,
                            when(r.end.utc),
                            when(expires),
                            when(p.end),
                            o.by,
                            o.reason
                        ),
                        target: ("release".to_owned(), r.id.to_string()),
                        starts: None,
                    },
                );
            }
        }
    }
    out.sort_by(|a, b| (a.show_at, &a.key).cmp(&(b.show_at, &b.key)));
    out
}

/// How soon another lead notice must fall due for a first run to leave a
/// restated one out.
pub const SOON: Duration = Duration::minutes(5);

/// What a scheduler's first run owes: for each freeze and release that has
/// not begun at `now`, the latest of its lead notices that fell due before
/// `now` (within the longest lead time), restated from `now`: opened 59
/// minutes before a hard freeze, the app still warns "starts in 59 minutes".
/// Keys are the lead notices' own, so nothing is sent twice. Where another
/// lead of the same occurrence falls due within [`SOON`], that one is left to
/// say it. Quiet hours hold these like any other notice: inside them, none is
/// returned.
pub fn first_run_notices(plan: &Plan, rules: &NotifyRules, now: DateTime<Utc>) -> Vec<Notice> {
    if rules.quiet.is_some_and(|q| q.release_time(now) > now) {
        return vec![];
    }
    let longest = rules
        .freeze_leads
        .iter()
        .chain(&rules.release_leads)
        .copied()
        .max()
        .unwrap_or(0);
    let since = now - Duration::minutes(i64::from(longest)) - Duration::seconds(1);
    let mut latest: std::collections::BTreeMap<(String, String, i64), Notice> =
        std::collections::BTreeMap::new();
    // Leads still to come shortly make a restated one noise.
    let mut coming: std::collections::BTreeSet<(String, String, i64)> =
        std::collections::BTreeSet::new();
    for n in notices_between(plan, rules, since, now + Duration::days(1)) {
        let Some((_, start)) = &n.starts else {
            continue;
        };
        let slot = (n.target.0.clone(), n.target.1.clone(), start.timestamp());
        if n.show_at > now && n.show_at <= now + SOON {
            coming.insert(slot.clone());
        }
        if *start <= now || n.due > now {
            continue;
        }
        match latest.get(&slot) {
            Some(kept) if kept.due >= n.due => {}
            _ => {
                latest.insert(slot, n);
            }
        }
    }
    latest.retain(|slot, _| !coming.contains(slot));
    let mut out: Vec<Notice> = latest
        .into_values()
        .map(|mut n| {
            if let Some((name, start)) = &n.starts {
                n.summary = format!("{name} starts in {}", time_left(*start - now));
            }
            n.show_at = now;
            n
        })
        .collect();
    out.sort_by(|a, b| (a.due, &a.key).cmp(&(b.due, &b.key)));
    out
}

/// "59 minutes", "2 hours and 5 minutes", "1 day and 3 hours": the time left, rounded up to the minute.
fn time_left(left: Duration) -> String {
    let minutes = (left.num_seconds().max(1) + 59) / 60;
    let plural = |n: i64, unit: &str| format!("{n} {unit}{}", if n == 1 { "" } else { "s" });
    let (days, hours, mins) = (minutes / 1440, minutes % 1440 / 60, minutes % 60);
    match (days, hours, mins) {
        (0, 0, m) => plural(m, "minute"),
        (0, h, 0) => plural(h, "hour"),
        (0, h, m) => format!("{} and {}", plural(h, "hour"), plural(m, "minute")),
        (d, 0, _) => plural(d, "day"),
        (d, h, _) => format!("{} and {}", plural(d, "day"), plural(h, "hour")),
    }
}

/// The showing time of the first notice after `after` (looking up to
/// `horizon` ahead), for the scheduler to sleep until.
pub fn next_notice_at(
    plan: &Plan,
    rules: &NotifyRules,
    after: DateTime<Utc>,
    horizon: Duration,
) -> Option<DateTime<Utc>> {
    notices_between(plan, rules, after, after + horizon)
        .first()
        .map(|n| n.show_at)
}

/// Parses `HH:MM` quiet hours in a zone, for settings.
pub fn quiet_hours(start: &str, end: &str, zone: &str) -> Result<QuietHours, String> {
    let time = |s: &str| {
        NaiveTime::parse_from_str(s.trim(), "%H:%M")
            .map_err(|_| format!("`{s}` is not a time such as 22:00"))
    };
    let zone =
        Tz::from_str(zone.trim()).map_err(|_| format!("`{zone}` is not an IANA time zone"))?;
    Ok(QuietHours {
        start: time(start)?,
        end: time(end)?,
        zone,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s)
            .map(|t| t.to_utc())
            .unwrap_or_default()
    }

    #[test]
    fn quiet_hours_hold_a_notice_until_they_end_across_midnight_and_dst() {
        let q = quiet_hours("22:00", "07:00", "Europe/Berlin").unwrap();
        // 23:30 CET on 24 Oct (CEST) is held to 07:00 the next morning, which is CET after the change.
        assert_eq!(
            q.release_time(at("2026-10-24T21:30:00Z")),
            at("2026-10-25T06:00:00Z")
        );
        // 05:00 local, inside, held to 07:00 the same day.
        assert_eq!(
            q.release_time(at("2026-11-02T04:00:00Z")),
            at("2026-11-02T06:00:00Z")
        );
        // 12:00 is outside.
        assert_eq!(
            q.release_time(at("2026-11-02T11:00:00Z")),
            at("2026-11-02T11:00:00Z")
        );
        let day = quiet_hours("12:00", "13:00", "UTC").unwrap();
        assert_eq!(
            day.release_time(at("2026-11-02T12:30:00Z")),
            at("2026-11-02T13:00:00Z")
        );
        assert!(quiet_hours("25:00", "07:00", "UTC").is_err());
        assert!(quiet_hours("22:00", "07:00", "Mars/Base").is_err());
    }

    #[test]
    fn lead_times_read_naturally() {
        assert_eq!(lead_words(1440), "1 day");
        assert_eq!(lead_words(60), "1 hour");
        assert_eq!(lead_words(120), "2 hours");
        assert_eq!(lead_words(15), "15 minutes");
        assert_eq!(time_left(Duration::minutes(59)), "59 minutes");
        assert_eq!(time_left(Duration::seconds(58 * 60 + 1)), "59 minutes");
        assert_eq!(time_left(Duration::minutes(125)), "2 hours and 5 minutes");
        assert_eq!(
            time_left(Duration::minutes(27 * 60 + 10)),
            "1 day and 3 hours"
        );
        assert_eq!(time_left(Duration::seconds(5)), "1 minute");
    }
}
