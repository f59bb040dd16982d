//! Runs the adapters a calendar follows (Settings ▸ Connections): reads
//! GitLab and GitHub through [`Forges`], applies what they own, and records
//! each run. One failing (GitLab down) does not stop the others.

use crate::adapters::{
    adapter_settings, apply_github_releases, apply_gitlab_deployments, import_gitlab_freezes,
    record_adapter_run, AdapterReport, AdapterRun,
};
use crate::error::ApiError;
use chrono::{DateTime, Utc};
use relcal_domain::utc_text;
use relcal_protocol::{Forges, GitHubReleases, GITHUB_API};
use relcal_store::Store;

fn run(source: &str, now: DateTime<Utc>, result: Result<AdapterReport, ApiError>) -> AdapterRun {
    match result {
        Ok(r) => AdapterRun {
            source: source.to_owned(),
            at: utc_text(now),
            summary: r.summary(),
            changes: r.changes(),
            error: None,
            skipped: r.skipped,
        },
        Err(e) => AdapterRun {
            source: source.to_owned(),
            at: utc_text(now),
            summary: "failed".to_owned(),
            changes: 0,
            error: Some(e.message),
            skipped: Vec::new(),
        },
    }
}

/// Polls a repository's GitHub releases with the ETag of the last poll and
/// applies them. `None`: not modified since.
pub fn poll_github_releases(
    store: &mut Store,
    forges: &dyn Forges,
    api: &str,
    repo: &str,
    now: DateTime<Utc>,
) -> Result<Option<AdapterReport>, ApiError> {
    let key = format!("github_etag:{repo}");
    let etag = store.setting(&key)?.filter(|e| !e.is_empty());
    let Some(GitHubReleases { releases, etag }) =
        forges.github_releases(api, repo, etag.as_deref())?
    else {
        return Ok(None);
    };
    let report = apply_github_releases(store, repo, &releases, now)?;
    // Remembered only once applied: a failed apply polls again in full.
    store.set_setting(&key, etag.as_deref().unwrap_or(""), &[])?;
    Ok(Some(report))
}

/// Runs every configured adapter once, records and returns the runs. One
/// failing (GitLab down) does not stop the others.
pub fn run_adapters(
    store: &mut Store,
    forges: &dyn Forges,
    now: DateTime<Utc>,
) -> Result<Vec<AdapterRun>, ApiError> {
    let settings = adapter_settings(store)?;
    let mut runs = Vec::new();
    if let (Some(url), Some(project)) = (&settings.gitlab_url, &settings.gitlab_project) {
        let freezes = forges
            .gitlab_freeze_periods(url, project)
            .and_then(|periods| {
                import_gitlab_freezes(store, project, &periods, &settings.gitlab_environments, now)
            });
        runs.push(run("GitLab freeze periods", now, freezes));
        let deployments = forges
            .gitlab_deployments(url, project)
            .and_then(|list| apply_gitlab_deployments(store, &list, now));
        runs.push(run("GitLab deployments", now, deployments));
    }
    if let Some(repo) = &settings.github_repo {
        let api = settings.github_api.as_deref().unwrap_or(GITHUB_API);
        let result =
            poll_github_releases(store, forges, api, repo, now).map(|r| r.unwrap_or_default());
        runs.push(run("GitHub releases", now, result));
    }
    for r in &runs {
        record_adapter_run(store, r.clone())?;
    }
    Ok(runs)
}
