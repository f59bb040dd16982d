//! A release's risk score with its reasons (docs/risk.md): the sum of the
//! points of each factor that applies, each factor worth at most its weight,
//! capped at 100. The weights are the team's to tune.

use crate::conflicts::human_time;
use crate::plan::{FreezeSeverity, Plan, Release, ReleaseStatus};
use crate::time::Interval;
use chrono::{Datelike, Duration, Timelike, Weekday};
use serde::{Deserialize, Serialize};

/// What each factor is worth at most, in points of 100 (docs/risk.md).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[serde(deny_unknown_fields)]
pub struct RiskWeights {
    /// A production environment.
    pub production: u32,
    /// Services changed beyond the first, each a fifth (five or more: all).
    pub services: u32,
    /// Active releases that depend on it, each a fifth (five or more: all).
    pub dependents: u32,
    /// A freeze in scope within a day of the window (within three days: half).
    pub freeze_nearby: u32,
    /// Readiness short of 100%, in proportion.
    pub readiness: u32,
    /// Approvals short of what the environment requires, in proportion.
    pub approvals: u32,
    /// No rollback plan, or one never rehearsed.
    pub rollback: u32,
    /// Rolled-back releases of its services in the 90 days before it, each a third.
    pub recent_rollbacks: u32,
    /// A start on a weekend or outside 08:00–18:00 in the team's zone.
    pub out_of_hours: u32,
    /// The owner runs another release at the same time.
    pub owner_double_booked: u32,
}

impl Default for RiskWeights {
    fn default() -> Self {
        Self {
            production: 20,
            services: 10,
            dependents: 10,
            freeze_nearby: 10,
            readiness: 15,
            approvals: 10,
            rollback: 15,
            recent_rollbacks: 15,
            out_of_hours: 10,
            owner_double_booked: 10,
        }
    }
}

impl RiskWeights {
    /// The most a weight may be.
    pub const MAX: u32 = 100;

    /// Each weight with its field name, in the model's order.
    pub fn fields(&self) -> [(&'static str, u32); 10] {
        [
            ("production", self.production),
            ("services", self.services),
            ("dependents", self.dependents),
            ("freeze_nearby", self.freeze_nearby),
            ("readiness", self.readiness),
            ("approvals", self.approvals),
            ("rollback", self.rollback),
            ("recent_rollbacks", self.recent_rollbacks),
            ("out_of_hours", self.out_of_hours),
            ("owner_double_booked", self.owner_double_booked),
        ]
    }

    /// The first weight above [`RiskWeights::MAX`], by field name.
    pub fn invalid(&self) -> Option<&'static str> {
        self.fields()
            .into_iter()
            .find(|(_, w)| *w > Self::MAX)
            .map(|(name, _)| name)
    }
}

/// One factor that applies, and what it adds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RiskFactor {
    /// The factor (a field of [`RiskWeights`]).
    pub code: &'static str,
    /// Points it adds.
    pub points: u32,
    /// Why, for people.
    pub reason: String,
}

/// A release's risk.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Risk {
    /// From 0 to 100.
    pub score: u32,
    /// `low` (under 30), `medium` (under 60) or `high`.
    pub level: &'static str,
    /// The factors that apply, most points first.
    pub factors: Vec<RiskFactor>,
}

/// `weight × part / whole`, rounded to the nearest point.
fn share(weight: u32, part: u64, whole: u64) -> u32 {
    if whole == 0 {
        return 0;
    }
    let p = (u64::from(weight) * part.min(whole) * 2 + whole) / (2 * whole);
    u32::try_from(p).unwrap_or(weight)
}

fn hours(d: Duration) -> i64 {
    (d.num_minutes() + 59) / 60
}

/// The risk of `r` in `plan` with `weights`.
pub fn risk_of(plan: &Plan, r: &Release, weights: &RiskWeights) -> Risk {
    let mut factors = Vec::new();
    let mut add = |code: &'static str, points: u32, reason: String| {
        if points > 0 {
            factors.push(RiskFactor {
                code,
                points,
                reason,
            });
        }
    };
    let env = plan.environments.iter().find(|e| e.id == r.environment);
    let span = r.interval();

    if env.is_some_and(|e| e.production) {
        add(
            "production",
            weights.production,
            format!(
                "production environment ({})",
                env.map_or("", |e| e.name.as_str())
            ),
        );
    }

    let extra_services = r.services.len().saturating_sub(1) as u64;
    add(
        "services",
        share(weights.services, extra_services, 4),
        format!("changes {} services", r.services.len()),
    );

    let dependents: Vec<&Release> = plan
        .releases
        .iter()
        .filter(|d| d.status.is_active() && d.id != r.id && d.depends_on.contains(&r.id))
        .collect();
    add(
        "dependents",
        share(weights.dependents, dependents.len() as u64, 5),
        format!(
            "{} release{} depend{} on it",
            dependents.len(),
            if dependents.len() == 1 { "" } else { "s" },
            if dependents.len() == 1 { "s" } else { "" }
        ),
    );

    // The nearest occurrence of a freeze in scope, within three days of the window.
    let margin = Duration::days(3);
    let around = Interval {
        start: span.start - margin,
        end: span.end + margin,
    };
    let nearest = plan
        .freezes
        .iter()
        .filter(|f| f.scope.matches(r))
        .flat_map(|f| {
            // The occurrence that meets the window, the first after it and
            // the last before it: a freeze may recur 24 times a day, so the
            // first few of the margin's could all lie before the window.
            let zone = plan.timezone;
            let before = Interval {
                start: around.start,
                end: span.start,
            };
            let after = Interval {
                start: span.end,
                end: around.end,
            };
            let mut near = f.periods_between(zone, span, 1);
            near.extend(f.periods_between(zone, after, 1));
            near.extend(
                f.periods_between(zone, before, crate::MAX_OCCURRENCES_PER_DAY * 3 + 2)
                    .pop(),
            );
            near.into_iter().map(move |p| (f, p))
        })
        .map(|(f, p)| {
            let gap = if p.overlaps(&span) {
                Duration::zero()
            } else if p.end <= span.start {
                span.start - p.end
            } else {
                p.start - span.end
            };
            (gap, f, p)
        })
        .min_by_key(|(gap, f, p)| (*gap, f.severity != FreezeSeverity::Hard, p.start));
    if let Some((gap, f, p)) = nearest {
        let zone = f.zone(plan.timezone);
        let (points, words) = if gap.is_zero() {
            // An exception does not take the points away (the release still
            // lands in the freeze), but the reason says it is granted: as
            // the conflict rules count one, when no occurrence of the
            // freeze meets the release from its expiry on.
            // The first exception for the freeze, as the conflict rules take it.
            let granted = r.overrides.iter().find(|o| o.freeze == f.id).filter(|o| {
                o.expires.as_ref().is_none_or(|e| {
                    let after = Interval {
                        start: span.start.max(e.utc),
                        end: span.end,
                    };
                    after.start >= after.end
                        || f.periods_between(plan.timezone, after, 1).is_empty()
                })
            });
            let words = match granted {
                Some(o) => format!("overlaps it, under an exception granted by {}", o.by),
                None => "overlaps it".to_owned(),
            };
            (weights.freeze_nearby, words)
        } else {
            let side = if p.end <= span.start {
                format!(
                    "ends {} hour{} before it ({})",
                    hours(gap),
                    if hours(gap) == 1 { "" } else { "s" },
                    human_time(p.end, zone)
                )
            } else {
                format!(
                    "starts {} hour{} after it ({})",
                    hours(gap),
                    if hours(gap) == 1 { "" } else { "s" },
                    human_time(p.start, zone)
                )
            };
            let points = if gap <= Duration::days(1) {
                weights.freeze_nearby
            } else {
                share(weights.freeze_nearby, 1, 2)
            };
            (points, side)
        };
        add(
            "freeze_nearby",
            points,
            format!("{} ({}) {words}", f.name, f.severity.as_str()),
        );
    }

    let readiness = r.readiness_score();
    add(
        "readiness",
        share(weights.readiness, u64::from(100 - readiness.min(100)), 100),
        format!("readiness {readiness}%"),
    );

    let needed = env.map_or(0, |e| e.required_approvals);
    let have = r.approvers().len() as u64;
    if u64::from(needed) > have {
        add(
            "approvals",
            share(
                weights.approvals,
                u64::from(needed) - have,
                u64::from(needed),
            ),
            format!("{have} of {needed} approvals"),
        );
    }

    match &r.rollback {
        Some(rb) if !rb.steps.is_empty() && rb.tested => {}
        Some(rb) if !rb.steps.is_empty() => add(
            "rollback",
            weights.rollback,
            "rollback plan never rehearsed".into(),
        ),
        _ => add("rollback", weights.rollback, "no rollback plan".into()),
    }

    let since = span.start - Duration::days(90);
    let rolled: Vec<&Release> = plan
        .releases
        .iter()
        .filter(|o| {
            o.status == ReleaseStatus::RolledBack
                && o.id != r.id
                && o.end.utc <= span.start
                && o.end.utc > since
                && o.services.iter().any(|s| r.services.contains(s))
        })
        .collect();
    if let Some(last) = rolled.iter().max_by_key(|o| o.end.utc) {
        add(
            "recent_rollbacks",
            share(weights.recent_rollbacks, rolled.len() as u64, 3),
            format!(
                "{} rolled-back release{} of its services in the 90 days before it (last: {})",
                rolled.len(),
                if rolled.len() == 1 { "" } else { "s" },
                last.title
            ),
        );
    }

    let team = plan.teams.iter().find(|t| t.id == r.team);
    let zone = team.and_then(|t| t.timezone).unwrap_or(plan.timezone);
    let local = span.start.with_timezone(&zone);
    let weekend = matches!(local.weekday(), Weekday::Sat | Weekday::Sun);
    let minutes = local.hour() * 60 + local.minute();
    if weekend || !(8 * 60..18 * 60).contains(&minutes) {
        add(
            "out_of_hours",
            weights.out_of_hours,
            format!(
                "starts {} {:02}:{:02} in {}{}",
                local.format("%A"),
                local.hour(),
                local.minute(),
                zone.name(),
                if weekend {
                    " (a weekend)"
                } else {
                    " (out of hours)"
                }
            ),
        );
    }

    let owner = r.owner.as_deref().map(str::trim).filter(|o| !o.is_empty());
    if let Some(o) = owner {
        if let Some(other) = plan.releases.iter().find(|x| {
            x.id != r.id
                && x.status.is_active()
                && x.owner.as_deref().map(str::trim) == Some(o)
                && x.interval().overlaps(&span)
        }) {
            add(
                "owner_double_booked",
                weights.owner_double_booked,
                format!("{o} also runs {} at the same time", other.title),
            );
        }
    }

    factors.sort_by(|a, b| b.points.cmp(&a.points).then(a.code.cmp(b.code)));
    let score = factors.iter().map(|f| f.points).sum::<u32>().min(100);
    Risk {
        score,
        level: match score {
            0..30 => "low",
            30..60 => "medium",
            _ => "high",
        },
        factors,
    }
}
