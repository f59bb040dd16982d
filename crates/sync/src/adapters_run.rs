//! Runs the adapters a calendar follows (Settings ▸ Connections): fetches
//! from GitLab and GitHub, applies what they own, and records each run.
//! Tokens come from the keyring (`gitlab:<url>`, `github:<api>`) or
//! `GITLAB_TOKEN` / `GITHUB_TOKEN`; public projects need none.

use crate::token::load_secret;
use crate::{GitHub, GitHubReleases, GitLab};
use chrono::{DateTime, Utc};
use relcal_api::{AdapterReport, AdapterRun, ApiError, Store};

/// The keyring account of a GitLab instance's token.
pub fn gitlab_account(url: &str) -> String {
    format!("gitlab:{}", url.trim_end_matches('/'))
}

/// The keyring account of a GitHub API's token.
pub fn github_account(api: &str) -> String {
    format!("github:{}", api.trim_end_matches('/'))
}

/// GitHub's public API.
pub const GITHUB_API: &str = "https://api.github.com";

fn run(source: &str, now: DateTime<Utc>, result: Result<AdapterReport, ApiError>) -> AdapterRun {
    match result {
        Ok(r) => AdapterRun {
            source: source.to_owned(),
            at: now.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
            summary: r.summary(),
            changes: r.changes(),
            error: None,
            skipped: r.skipped,
        },
        Err(e) => AdapterRun {
            source: source.to_owned(),
            at: now.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
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
    github: &GitHub,
    repo: &str,
    now: DateTime<Utc>,
) -> Result<Option<AdapterReport>, ApiError> {
    let key = format!("github_etag:{repo}");
    let etag = store.setting(&key)?.filter(|e| !e.is_empty());
    let Some(GitHubReleases { releases, etag }) = github.releases(repo, etag.as_deref())? else {
        return Ok(None);
    };
    let report = relcal_api::apply_github_releases(store, repo, &releases, now)?;
    // Remembered only once applied: a failed apply polls again in full.
    store.set_setting(&key, etag.as_deref().unwrap_or(""), &[])?;
    Ok(Some(report))
}

/// Runs every configured adapter once, records and returns the runs. One
/// failing (GitLab down) does not stop the others.
pub fn run_adapters(store: &mut Store, now: DateTime<Utc>) -> Result<Vec<AdapterRun>, ApiError> {
    let settings = relcal_api::adapter_settings(store)?;
    let mut runs = Vec::new();
    if let (Some(url), Some(project)) = (&settings.gitlab_url, &settings.gitlab_project) {
        let gitlab = GitLab::new(url, load_secret(&gitlab_account(url), "GITLAB_TOKEN"))?;
        let freezes = gitlab.freeze_periods(project).and_then(|periods| {
            relcal_api::import_gitlab_freezes(
                store,
                project,
                &periods,
                &settings.gitlab_environments,
                now,
            )
        });
        runs.push(run("GitLab freeze periods", now, freezes));
        let deployments = gitlab
            .deployments(project, None)
            .and_then(|list| relcal_api::apply_gitlab_deployments(store, &list, now));
        runs.push(run("GitLab deployments", now, deployments));
    }
    if let Some(repo) = &settings.github_repo {
        let api = settings.github_api.as_deref().unwrap_or(GITHUB_API);
        let github = GitHub::new(api, load_secret(&github_account(api), "GITHUB_TOKEN"))?;
        let result = poll_github_releases(store, &github, repo, now).map(|r| r.unwrap_or_default());
        runs.push(run("GitHub releases", now, result));
    }
    for r in &runs {
        relcal_api::record_adapter_run(store, r.clone())?;
    }
    Ok(runs)
}
