//! Read-mostly adapters to the systems teams already use. Each outside system
//! stays the owner of its own fields, and only those:
//!
//! - GitLab deploy freeze periods (cron start, cron end, cron time zone)
//!   become recurring freezes whose ids start with `gitlab-<project>-`; an
//!   import creates, updates and removes exactly those.
//! - GitLab deployments set the `status` of the release that ships the
//!   deployed ref to that environment (`version` equal to the ref).
//! - GitHub releases set the `artifact` of the release whose `version` is the
//!   tag (with or without a leading `v`): the published release's page, or
//!   nothing while it is a draft.
//!
//! Everything is validated like any edit and written in one transaction,
//! audited (so it syncs to the team's server like a person's change). The
//! HTTP side (pagination, tokens, ETags) is `relcal_http`'s.

use crate::error::{ApiError, ErrorCode};
use crate::plan::stored_plan;
use crate::write::{commit_plan, commit_releases};
use chrono::{DateTime, Utc};
use relcal_domain::wire::{WireFreeze, WireScope};
use relcal_domain::{freeze_from_cron, CronPart, ObjectKind, Release, WireObject};
use relcal_protocol::{GitHubRelease, GitLabDeployment, GitLabFreezePeriod};
use relcal_store::{AuditRecord, Store};
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// What an adapter did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct AdapterReport {
    /// Objects created.
    pub created: u32,
    /// Objects changed.
    pub updated: u32,
    /// Objects removed (gone from the outside system).
    pub removed: u32,
    /// Items with nothing to change here.
    pub unchanged: u32,
    /// Items left alone, each with the reason (naming the item and field).
    pub skipped: Vec<String>,
}

/// A GitLab freeze period as a Relcal freeze (as a plan document holds it), recurring in
/// its cron zone (`relcal_domain::freeze_from_cron`). A period cron cannot
/// express as one rule with one length is refused, naming the field and why.
pub fn freeze_from_gitlab(
    project: &str,
    period: &GitLabFreezePeriod,
    now: DateTime<Utc>,
) -> Result<WireFreeze, String> {
    let f = freeze_from_cron(
        &period.freeze_start,
        &period.freeze_end,
        period.cron_timezone.as_deref(),
        now,
    )
    .map_err(|e| {
        let field = match e.part {
            CronPart::Zone => "cron_timezone",
            CronPart::Start => "freeze_start",
            CronPart::End => "freeze_end",
        };
        format!("GitLab freeze period {}: field `{field}`: {e}", period.id)
    })?;
    let zone = f.zone.name();
    Ok(WireFreeze {
        id: format!("gitlab-{}-{}", slug(project), period.id),
        name: format!("GitLab deploy freeze ({project})"),
        severity: "hard".into(),
        timezone: Some(zone.to_owned()),
        start: f.start.format("%Y-%m-%dT%H:%M:%S").to_string(),
        end: None,
        duration: Some(f.duration.clone()),
        rrule: Some(f.rrule.clone()),
        exdates: Vec::new(),
        scope: None,
        reason: Some(format!(
            "GitLab deploy freeze {}: `{}` to `{}` ({zone})",
            period.id, period.freeze_start, period.freeze_end
        )),
    })
}

/// A project path as an id part: `group/app` → `group-app`.
fn slug(project: &str) -> String {
    project
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '-'
            }
        })
        .collect::<String>()
        .trim_matches('-')
        .to_owned()
}

fn record(
    store: &Store,
    now: DateTime<Utc>,
    action: &str,
    kind: &str,
    id: &str,
    before: Option<&Value>,
    after: Option<&Value>,
) -> AuditRecord {
    crate::audit::record(store, now, action, (kind, id), before, after)
}

/// The releases an adapter run changed so far, each with its audit record,
/// written together at the end of the run.
#[derive(Default)]
struct Updates {
    changed: Vec<Release>,
    records: Vec<AuditRecord>,
}

impl Updates {
    /// `release` as this run left it so far (two events may name it).
    fn current(&self, release: &Release) -> Release {
        self.changed
            .iter()
            .find(|r| r.id == release.id)
            .cloned()
            .unwrap_or_else(|| release.clone())
    }

    /// Records that `action` turned `current` into `after`.
    fn update(
        &mut self,
        store: &Store,
        now: DateTime<Utc>,
        action: &str,
        current: &Release,
        after: Release,
    ) {
        self.records.push(record(
            store,
            now,
            action,
            "release",
            after.id.as_str(),
            Some(&relcal_domain::release_to_json(current)),
            Some(&relcal_domain::release_to_json(&after)),
        ));
        self.changed.retain(|r| r.id != after.id);
        self.changed.push(after);
    }

    fn commit(self, store: &mut Store) -> Result<(), ApiError> {
        commit_releases(store, &self.changed, &self.records)
    }
}

/// Imports a GitLab project's freeze periods: the project's freezes here
/// become exactly these (created, updated, removed), limited to
/// `environments` when given. Nothing is written when any period is refused.
pub fn import_gitlab_freezes(
    store: &mut Store,
    project: &str,
    periods: &[GitLabFreezePeriod],
    environments: &[String],
    now: DateTime<Utc>,
) -> Result<AdapterReport, ApiError> {
    let mut report = AdapterReport::default();
    let mut wanted = Vec::new();
    for p in periods {
        let mut freeze = freeze_from_gitlab(project, p, now)
            .map_err(|e| ApiError::new(ErrorCode::Validation, e))?;
        if !environments.is_empty() {
            freeze.scope = Some(WireScope {
                environments: environments.to_vec(),
                ..WireScope::default()
            });
        }
        wanted.push(WireObject::Freeze(freeze));
    }
    let prefix = format!("gitlab-{}-", slug(project));
    let mut doc = stored_plan(store)?.to_document();
    let mut records = Vec::new();
    let existing: Vec<String> = doc
        .freezes
        .iter()
        .map(|f| f.id.clone())
        .filter(|id| id.starts_with(&prefix))
        .collect();
    for freeze in wanted.iter().cloned() {
        let id = freeze.id().to_owned();
        let before = doc.take(ObjectKind::Freeze, &id);
        let (at, before) = match before {
            Some((i, o)) => (Some(i), Some(o.to_json())),
            None => (None, None),
        };
        let after = freeze.to_json();
        doc.put(freeze, at);
        if before.as_ref() == Some(&after) {
            report.unchanged += 1;
            continue;
        }
        if before.is_some() {
            report.updated += 1;
        } else {
            report.created += 1;
        }
        let action = if before.is_some() {
            "freeze.updated"
        } else {
            "freeze.created"
        };
        records.push(record(
            store,
            now,
            action,
            "freeze",
            &id,
            before.as_ref(),
            Some(&after),
        ));
    }
    for id in existing {
        if wanted.iter().any(|f| f.id() == id) {
            continue;
        }
        let before = doc.take(ObjectKind::Freeze, &id).map(|(_, o)| o.to_json());
        records.push(record(
            store,
            now,
            "freeze.deleted",
            "freeze",
            &id,
            before.as_ref(),
            None,
        ));
        report.removed += 1;
    }
    if !records.is_empty() {
        let changed = relcal_domain::parse_plan_document(doc)?;
        commit_plan(store, &changed, &records, true, &[])?;
    }
    Ok(report)
}

/// A GitLab deployment status as a release status (none: says nothing yet).
fn status_of(deployment: &str) -> Option<&'static str> {
    match deployment {
        "running" => Some("in_progress"),
        "success" => Some("done"),
        "failed" => Some("rolled_back"),
        "canceled" => Some("cancelled"),
        _ => None,
    }
}

/// Applies GitLab deployments: the newest deployment of each ref to each
/// environment sets the status of the release shipping that ref (`version`)
/// there. GitLab environments match Relcal environments by id or name
/// (case aside). A status the calendar refuses is skipped with the reason.
pub fn apply_gitlab_deployments(
    store: &mut Store,
    deployments: &[GitLabDeployment],
    now: DateTime<Utc>,
) -> Result<AdapterReport, ApiError> {
    let mut report = AdapterReport::default();
    let plan = stored_plan(store)?;
    let mut updates = Updates::default();
    let mut newest: Vec<&GitLabDeployment> = Vec::new();
    for d in deployments {
        match newest
            .iter_mut()
            .find(|n| n.git_ref == d.git_ref && n.environment.name == d.environment.name)
        {
            Some(n) if n.updated_at < d.updated_at => *n = d,
            Some(_) => {}
            None => newest.push(d),
        }
    }
    for d in newest {
        let Some(status) = status_of(&d.status) else {
            report.unchanged += 1;
            continue;
        };
        let env = plan.environments.iter().find(|e| {
            e.id.as_str().eq_ignore_ascii_case(&d.environment.name)
                || e.name.eq_ignore_ascii_case(&d.environment.name)
        });
        let Some(env) = env else {
            report.skipped.push(format!("GitLab deployment {}: field `environment.name`: no environment here is called \"{}\"", d.id, d.environment.name));
            continue;
        };
        let release = plan
            .releases
            .iter()
            .find(|r| r.environment == env.id && r.version.as_deref() == Some(d.git_ref.as_str()));
        let Some(release) = release else {
            report.skipped.push(format!(
                "GitLab deployment {}: field `ref`: no release ships version \"{}\" to {}",
                d.id,
                d.git_ref,
                env.id.as_str()
            ));
            continue;
        };
        let id = release.id.as_str().to_owned();
        let current = updates.current(release);
        if current.status.as_str() == status {
            report.unchanged += 1;
            continue;
        }
        // Each on its own: one the calendar refuses does not stop the others.
        let object = format!("release \"{id}\"");
        let after = match current.with_status(&object, status) {
            Ok(after) => after,
            Err(e) => {
                report
                    .skipped
                    .push(format!("GitLab deployment {} ({status}): {e}", d.id));
                continue;
            }
        };
        updates.update(store, now, "release.status", &current, after);
        report.updated += 1;
    }
    updates.commit(store)?;
    Ok(report)
}

/// Applies GitHub releases of `repo`: each release here whose `version` is a
/// tag (`1.4.0` or `v1.4.0`) gets the published release's page as its
/// `artifact`, or none while the GitHub release is a draft.
pub fn apply_github_releases(
    store: &mut Store,
    repo: &str,
    list: &[GitHubRelease],
    now: DateTime<Utc>,
) -> Result<AdapterReport, ApiError> {
    let mut report = AdapterReport::default();
    let plan = stored_plan(store)?;
    let mut updates = Updates::default();
    for g in list {
        let bare = g.tag_name.strip_prefix('v').unwrap_or(&g.tag_name);
        let matching: Vec<&Release> = plan
            .releases
            .iter()
            .filter(|r| {
                r.version
                    .as_deref()
                    .is_some_and(|v| v == g.tag_name || v.strip_prefix('v').unwrap_or(v) == bare)
            })
            .collect();
        if matching.is_empty() {
            report.skipped.push(format!(
                "GitHub release {repo}@{}: field `tag_name`: no release here has this version",
                g.tag_name
            ));
            continue;
        }
        for release in matching {
            let current = updates.current(release);
            let mut wire = current.to_wire();
            wire.artifact = (!g.draft).then(|| g.html_url.clone());
            let object = format!("release \"{}\"", release.id);
            let after = relcal_domain::parse_release_document(&plan, &object, wire)?;
            if after == current {
                report.unchanged += 1;
                continue;
            }
            updates.update(store, now, "release.artifact", &current, after);
            report.updated += 1;
        }
    }
    updates.commit(store)?;
    Ok(report)
}

/// Which outside systems this calendar follows (Settings ▸ Connections).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct AdapterSettings {
    /// The GitLab instance (`https://gitlab.com`); none: GitLab is off.
    pub gitlab_url: Option<String>,
    /// The project: its id or `group/name`.
    pub gitlab_project: Option<String>,
    /// The environments GitLab's freezes apply to (none: all).
    pub gitlab_environments: Vec<String>,
    /// The GitHub repository (`owner/name`); none: GitHub is off.
    pub github_repo: Option<String>,
    /// The API for GitHub Enterprise; none: `https://api.github.com`.
    pub github_api: Option<String>,
}

/// One run of one adapter, for the Connections tab.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct AdapterRun {
    /// `GitLab freeze periods`, `GitLab deployments` or `GitHub releases`.
    pub source: String,
    /// When (RFC 3339).
    pub at: String,
    /// What it did, in words.
    pub summary: String,
    /// How many objects it created, changed or removed here.
    #[serde(default)]
    pub changes: u32,
    /// Why it failed, when it did.
    pub error: Option<String>,
    /// Items left alone, with the reason.
    pub skipped: Vec<String>,
}

const ADAPTERS_KEY: &str = "adapters";
const RUNS_KEY: &str = "adapter_runs";

/// The Connections settings.
pub fn adapter_settings(store: &Store) -> Result<AdapterSettings, ApiError> {
    Ok(store
        .setting(ADAPTERS_KEY)?
        .and_then(|t| serde_json::from_str(&t).ok())
        .unwrap_or_default())
}

fn http_url(field: &str, text: &str) -> Result<String, ApiError> {
    let bad = |why: String| {
        ApiError::new(
            ErrorCode::Validation,
            format!("connections: field `{field}`: `{text}` {why}"),
        )
    };
    let u = url::Url::parse(text.trim()).map_err(|e| bad(format!("is not a URL ({e})")))?;
    if !matches!(u.scheme(), "http" | "https") || u.host().is_none() {
        return Err(bad("is not an http:// or https:// address".into()));
    }
    Ok(text.trim().trim_end_matches('/').to_owned())
}

/// Saves the Connections settings, validated (errors name the field), audited.
pub fn save_adapter_settings(
    store: &mut Store,
    settings: AdapterSettings,
    now: DateTime<Utc>,
) -> Result<AdapterSettings, ApiError> {
    let blank = |o: Option<String>| o.map(|s| s.trim().to_owned()).filter(|s| !s.is_empty());
    let mut s = AdapterSettings {
        gitlab_url: blank(settings.gitlab_url),
        gitlab_project: blank(settings.gitlab_project),
        gitlab_environments: settings
            .gitlab_environments
            .into_iter()
            .map(|e| e.trim().to_owned())
            .filter(|e| !e.is_empty())
            .collect(),
        github_repo: blank(settings.github_repo),
        github_api: blank(settings.github_api),
    };
    if let Some(u) = &s.gitlab_url {
        s.gitlab_url = Some(http_url("gitlab_url", u)?);
        if s.gitlab_project.is_none() {
            return Err(ApiError::new(
                ErrorCode::Validation,
                "connections: field `gitlab_project`: give the project's id or group/name",
            ));
        }
    } else if s.gitlab_project.is_some() {
        return Err(ApiError::new(
            ErrorCode::Validation,
            "connections: field `gitlab_url`: give the GitLab address, e.g. https://gitlab.com",
        ));
    }
    let plan = stored_plan(store)?;
    for e in &s.gitlab_environments {
        if !plan.environments.iter().any(|x| x.id.as_str() == e) {
            return Err(ApiError::new(
                ErrorCode::Validation,
                format!("connections: field `gitlab_environments`: no environment here has the id \"{e}\""),
            ));
        }
    }
    if let Some(r) = &s.github_repo {
        let ok = r
            .split_once('/')
            .is_some_and(|(o, n)| !o.is_empty() && !n.is_empty() && !n.contains('/'));
        if !ok {
            return Err(ApiError::new(
                ErrorCode::Validation,
                format!("connections: field `github_repo`: `{r}` is not owner/name"),
            ));
        }
    }
    if let Some(a) = &s.github_api {
        s.github_api = Some(http_url("github_api", a)?);
    }
    let before = store.setting(ADAPTERS_KEY)?;
    let after =
        serde_json::to_string(&s).map_err(|e| ApiError::new(ErrorCode::Internal, e.to_string()))?;
    if before.as_deref() != Some(after.as_str()) {
        let rec = record(
            store,
            now,
            "settings.adapters",
            "settings",
            ADAPTERS_KEY,
            before.and_then(|b| serde_json::from_str(&b).ok()).as_ref(),
            serde_json::from_str::<Value>(&after).ok().as_ref(),
        );
        store.set_setting(ADAPTERS_KEY, &after, &[rec])?;
    }
    Ok(s)
}

/// The latest run of each adapter.
pub fn adapter_runs(store: &Store) -> Result<Vec<AdapterRun>, ApiError> {
    Ok(store
        .setting(RUNS_KEY)?
        .and_then(|t| serde_json::from_str(&t).ok())
        .unwrap_or_default())
}

/// Records a run (replacing the previous run of the same adapter).
pub fn record_adapter_run(store: &mut Store, run: AdapterRun) -> Result<(), ApiError> {
    let mut runs = adapter_runs(store)?;
    runs.retain(|r| r.source != run.source);
    runs.push(run);
    runs.sort_by(|a, b| a.source.cmp(&b.source));
    let text = serde_json::to_string(&runs)
        .map_err(|e| ApiError::new(ErrorCode::Internal, e.to_string()))?;
    store.set_setting(RUNS_KEY, &text, &[])?;
    Ok(())
}

impl AdapterReport {
    /// Objects created, changed or removed.
    pub fn changes(&self) -> u32 {
        self.created + self.updated + self.removed
    }

    /// "2 created, 1 updated, 0 removed, 3 unchanged".
    pub fn summary(&self) -> String {
        format!(
            "{} created, {} updated, {} removed, {} unchanged",
            self.created, self.updated, self.removed, self.unchanged
        )
    }
}
