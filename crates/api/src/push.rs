//! Freezes pushed out, so one calendar is enforced everywhere: GitLab deploy
//! freeze periods (`relcal gitlab push-freezes`) and Argo CD sync windows
//! (`relcal argocd sync-windows`), from the freezes a cron pattern can say
//! exactly (`relcal_domain::freeze_as_cron`); the others are refused, named.

use crate::error::{ApiError, ErrorCode};
use chrono::{DateTime, Duration, Utc};
use relcal_domain::{freeze_as_cron, CronPeriod, Freeze, FreezeSeverity, Plan};
use relcal_protocol::{GitLabFreezeSpec, GitLabFreezeWriter};
use serde::Serialize;

/// Which freezes to push.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FreezeFilter {
    /// Only freezes that can apply in these environments (empty: any).
    pub environments: Vec<String>,
    /// Only freezes that can apply to these services (empty: any).
    pub services: Vec<String>,
    /// Soft freezes too (default: hard ones only).
    pub include_soft: bool,
}

/// A freeze that was not pushed, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Refusal {
    /// Freeze id.
    pub freeze: String,
    /// Freeze name.
    pub name: String,
    /// Why no cron pattern says it exactly.
    pub reason: String,
}

/// Checks the filter's ids against the plan.
fn check_filter(plan: &Plan, filter: &FreezeFilter) -> Result<(), ApiError> {
    for e in &filter.environments {
        if !plan.environments.iter().any(|x| x.id.as_str() == e) {
            return Err(ApiError::new(
                ErrorCode::Validation,
                format!("--env: unknown environment \"{e}\""),
            ));
        }
    }
    for s in &filter.services {
        if !plan.services.iter().any(|x| x.id.as_str() == s) {
            return Err(ApiError::new(
                ErrorCode::Validation,
                format!("--service: unknown service \"{s}\""),
            ));
        }
    }
    Ok(())
}

/// Whether `f` can apply to what the filter names. What it leaves open
/// matches, as the gate reads an unknown scope.
fn selected(plan: &Plan, f: &Freeze, filter: &FreezeFilter) -> bool {
    let s = &f.scope;
    let teams: Vec<&str> = plan
        .services
        .iter()
        .filter(|x| filter.services.iter().any(|s| s == x.id.as_str()))
        .map(|x| x.team.as_str())
        .collect();
    (filter.include_soft || f.severity == FreezeSeverity::Hard)
        && (filter.environments.is_empty()
            || s.environments.is_empty()
            || s.environments
                .iter()
                .any(|e| filter.environments.iter().any(|x| x == e.as_str())))
        && (filter.services.is_empty()
            || s.services.is_empty()
            || s.services
                .iter()
                .any(|e| filter.services.iter().any(|x| x == e.as_str())))
        && (filter.services.is_empty()
            || s.teams.is_empty()
            || s.teams.iter().any(|t| teams.contains(&t.as_str())))
}

/// The selected freezes as cron periods, and the refused ones.
fn translated<'p>(
    plan: &'p Plan,
    filter: &FreezeFilter,
    now: DateTime<Utc>,
) -> (Vec<(&'p Freeze, CronPeriod)>, Vec<Refusal>) {
    let mut out = Vec::new();
    let mut refused = Vec::new();
    for f in plan.freezes.iter().filter(|f| selected(plan, f, filter)) {
        match freeze_as_cron(f, plan.timezone, now) {
            Ok(Some(p)) => out.push((f, p)),
            Ok(None) => {}
            Err(reason) => refused.push(Refusal {
                freeze: f.id.to_string(),
                name: f.name.clone(),
                reason,
            }),
        }
    }
    (out, refused)
}

/// One freeze period as pushed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PushedPeriod {
    /// The freezes it comes from.
    pub freezes: Vec<String>,
    /// What GitLab holds.
    pub freeze_start: String,
    /// What GitLab holds.
    pub freeze_end: String,
    /// What GitLab holds.
    pub cron_timezone: String,
    /// `created`, `updated` (GitLab's id reused), or `kept` (already there).
    pub action: String,
    /// GitLab's id, for an updated or kept period.
    pub id: Option<u64>,
    /// A one-off freeze: cron repeats its date every year, so the next push
    /// after it ends removes it.
    pub one_off: bool,
}

/// What `relcal gitlab push-freezes` did (or, with `dry_run`, would do).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct GitLabPushReport {
    /// The project.
    pub project: String,
    /// True when nothing was written.
    pub dry_run: bool,
    /// The project's periods now, one per line of the calendar.
    pub periods: Vec<PushedPeriod>,
    /// GitLab's ids of the periods removed (no freeze here says them).
    pub removed: Vec<u64>,
    /// Freezes no cron pattern says exactly.
    pub refused: Vec<Refusal>,
}

/// Makes `project`'s deploy freeze periods exactly the calendar's freezes
/// that `filter` selects and cron can say: periods already right are kept,
/// stale ones rewritten in place, missing ones added and the rest removed.
/// With `dry_run`, only reads.
pub fn push_gitlab_freezes(
    plan: &Plan,
    gitlab: &dyn GitLabFreezeWriter,
    project: &str,
    filter: &FreezeFilter,
    now: DateTime<Utc>,
    dry_run: bool,
) -> Result<GitLabPushReport, ApiError> {
    check_filter(plan, filter)?;
    let (periods, refused) = translated(plan, filter, now);
    // One period per distinct pattern (two freezes may say the same).
    let mut wanted: Vec<(GitLabFreezeSpec, Vec<String>, bool)> = Vec::new();
    for (f, p) in periods {
        let spec = GitLabFreezeSpec {
            freeze_start: p.start,
            freeze_end: p.end,
            cron_timezone: p.zone.name().to_owned(),
        };
        match wanted.iter_mut().find(|(s, _, _)| *s == spec) {
            Some((_, ids, _)) => ids.push(f.id.to_string()),
            None => wanted.push((spec, vec![f.id.to_string()], p.one_off)),
        }
    }
    let mut existing = gitlab.list_freeze_periods(project)?;
    existing.sort_by_key(|p| p.id);
    let mut used = vec![false; existing.len()];
    let mut out: Vec<PushedPeriod> = Vec::new();
    let mut pending = Vec::new();
    for (spec, freezes, one_off) in wanted {
        match existing
            .iter()
            .enumerate()
            .find(|(i, p)| !used[*i] && spec.same_as(p))
        {
            Some((i, p)) => {
                used[i] = true;
                out.push(period(&spec, freezes, "kept", Some(p.id), one_off));
            }
            None => pending.push((spec, freezes, one_off)),
        }
    }
    let mut stale = existing
        .iter()
        .enumerate()
        .filter(|(i, _)| !used[*i])
        .map(|(_, p)| p.id);
    for (spec, freezes, one_off) in pending {
        match stale.next() {
            Some(id) => {
                if !dry_run {
                    gitlab.update_freeze_period(project, id, &spec)?;
                }
                out.push(period(&spec, freezes, "updated", Some(id), one_off));
            }
            None => {
                if !dry_run {
                    gitlab.create_freeze_period(project, &spec)?;
                }
                out.push(period(&spec, freezes, "created", None, one_off));
            }
        }
    }
    let removed: Vec<u64> = stale.collect();
    if !dry_run {
        for id in &removed {
            gitlab.delete_freeze_period(project, *id)?;
        }
    }
    Ok(GitLabPushReport {
        project: project.to_owned(),
        dry_run,
        periods: out,
        removed,
        refused,
    })
}

fn period(
    spec: &GitLabFreezeSpec,
    freezes: Vec<String>,
    action: &str,
    id: Option<u64>,
    one_off: bool,
) -> PushedPeriod {
    PushedPeriod {
        freezes,
        freeze_start: spec.freeze_start.clone(),
        freeze_end: spec.freeze_end.clone(),
        cron_timezone: spec.cron_timezone.clone(),
        action: action.to_owned(),
        id,
        one_off,
    }
}

/// One Argo CD sync window (AppProject `spec.syncWindows[]`), with the
/// fields of Argo CD's AppProject CRD.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SyncWindow {
    /// Always `deny`: a freeze blocks.
    pub kind: String,
    /// Cron: when each window begins.
    pub schedule: String,
    /// How long it lasts (Go's duration: `12h`, `1h30m`).
    pub duration: String,
    /// The zone of `schedule`.
    pub time_zone: String,
    /// Applications it applies to (service ids; `*` for every one).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub applications: Vec<String>,
    /// Namespaces it applies to (environment ids).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub namespaces: Vec<String>,
    /// True for a soft freeze: a person may still sync by hand.
    pub manual_sync: bool,
}

/// The sync windows, and what each comes from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SyncWindows {
    /// The windows, in the calendar's order.
    pub windows: Vec<SyncWindow>,
    /// Per window: the freeze id, and whether it is a one-off (whose date
    /// cron repeats every year: generate the windows again after it ends).
    pub sources: Vec<(String, bool)>,
    /// Freezes no window says exactly.
    pub refused: Vec<Refusal>,
}

/// A length as Go writes durations (`time.ParseDuration`): `12h`, `1h30m`, `45m`.
fn go_duration(d: Duration) -> String {
    let minutes = d.num_minutes();
    match (minutes / 60, minutes % 60) {
        (0, m) => format!("{m}m"),
        (h, 0) => format!("{h}h"),
        (h, m) => format!("{h}h{m}m"),
    }
}

/// What a freeze's scope matches, as a sync window's lists, or why it cannot.
fn window_scope(plan: &Plan, f: &Freeze) -> Result<(Vec<String>, Vec<String>), String> {
    let s = &f.scope;
    if s.is_global() {
        return Ok((vec!["*".into()], Vec::new()));
    }
    let by_teams = !s.teams.is_empty();
    let by_services = !s.services.is_empty();
    if !s.environments.is_empty() && (by_teams || by_services) {
        return Err(
            "its scope combines environments with teams or services, and a sync window \
             matches a release by any one of its lists (applications, namespaces, clusters)"
                .into(),
        );
    }
    if !s.environments.is_empty() {
        return Ok((
            Vec::new(),
            s.environments.iter().map(ToString::to_string).collect(),
        ));
    }
    let apps: Vec<String> = plan
        .services
        .iter()
        .filter(|x| !by_services || s.services.contains(&x.id))
        .filter(|x| !by_teams || s.teams.contains(&x.team))
        .map(|x| x.id.to_string())
        .collect();
    if apps.is_empty() {
        return Err("its scope names no service the calendar has".into());
    }
    Ok((apps, Vec::new()))
}

/// The calendar's freezes that `filter` selects as Argo CD sync windows
/// (`kind: deny`): schedule and length from cron, applications from the
/// services in scope (a team's: its services), namespaces from the
/// environments; soft freezes allow manual syncs.
pub fn argocd_sync_windows(
    plan: &Plan,
    filter: &FreezeFilter,
    now: DateTime<Utc>,
) -> Result<SyncWindows, ApiError> {
    check_filter(plan, filter)?;
    let (periods, mut refused) = translated(plan, filter, now);
    let mut windows = Vec::new();
    let mut sources = Vec::new();
    for (f, p) in periods {
        let refuse = |reason: String| Refusal {
            freeze: f.id.to_string(),
            name: f.name.clone(),
            reason,
        };
        let Some(length) = p.fixed_length else {
            refused.push(refuse(
                "its length in real time changes across daylight-saving changes, and a sync \
                 window lasts one fixed duration"
                    .into(),
            ));
            continue;
        };
        let (applications, namespaces) = match window_scope(plan, f) {
            Ok(lists) => lists,
            Err(reason) => {
                refused.push(refuse(reason));
                continue;
            }
        };
        windows.push(SyncWindow {
            kind: "deny".into(),
            schedule: p.start,
            duration: go_duration(length),
            time_zone: p.zone.name().to_owned(),
            applications,
            namespaces,
            manual_sync: f.severity == FreezeSeverity::Soft,
        });
        sources.push((f.id.to_string(), p.one_off));
    }
    Ok(SyncWindows {
        windows,
        sources,
        refused,
    })
}

/// A YAML scalar: JSON's string quoting is valid YAML.
fn quoted(s: &str) -> String {
    serde_json::Value::String(s.to_owned()).to_string()
}

/// The windows as the `syncWindows:` block of an AppProject's `spec`, with a
/// comment naming each window's freeze.
pub fn sync_windows_yaml(w: &SyncWindows, plan: &Plan) -> String {
    let mut out = String::from(
        "# Relcal freezes as Argo CD sync windows: the syncWindows of an AppProject's spec.\n",
    );
    if w.windows.is_empty() {
        out.push_str("syncWindows: []\n");
        return out;
    }
    out.push_str("syncWindows:\n");
    for (window, (freeze, one_off)) in w.windows.iter().zip(&w.sources) {
        let name = plan
            .freezes
            .iter()
            .find(|f| f.id.as_str() == freeze)
            .map_or(freeze.as_str(), |f| f.name.as_str());
        let note = if *one_off {
            " (one-off: cron repeats its date every year; generate again after it ends)"
        } else {
            ""
        };
        out.push_str(&format!(
            "  # {}{note}\n",
            format!("{name} ({freeze})").replace(['\n', '\r'], " ")
        ));
        out.push_str(&format!("  - kind: {}\n", quoted(&window.kind)));
        out.push_str(&format!("    schedule: {}\n", quoted(&window.schedule)));
        out.push_str(&format!("    duration: {}\n", quoted(&window.duration)));
        out.push_str(&format!("    timeZone: {}\n", quoted(&window.time_zone)));
        for (key, list) in [
            ("applications", &window.applications),
            ("namespaces", &window.namespaces),
        ] {
            if !list.is_empty() {
                out.push_str(&format!("    {key}:\n"));
                for item in list {
                    out.push_str(&format!("      - {}\n", quoted(item)));
                }
            }
        }
        out.push_str(&format!("    manualSync: {}\n", window.manual_sync));
    }
    out
}
