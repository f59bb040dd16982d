//! The forges over HTTP, each with this machine's token for it: from the
//! keyring (`gitlab:<url>`, `github:<api>`) or `GITLAB_TOKEN` /
//! `GITHUB_TOKEN`; public projects need none.

use crate::token::load_secret;
use crate::{GitHub, GitLab};
use relcal_protocol::{ApiError, Forges, GitHubReleases, GitLabDeployment, GitLabFreezePeriod};

/// The keyring account of a GitLab instance's token.
pub fn gitlab_account(url: &str) -> String {
    format!("gitlab:{}", url.trim_end_matches('/'))
}

/// The keyring account of a GitHub API's token.
pub fn github_account(api: &str) -> String {
    format!("github:{}", api.trim_end_matches('/'))
}

/// This machine's token for a GitLab instance: the keyring's, else
/// `GITLAB_TOKEN`; none for public projects.
pub fn gitlab_token(url: &str) -> Option<String> {
    load_secret(&gitlab_account(url), "GITLAB_TOKEN")
}

/// This machine's token for a GitHub API: the keyring's, else `GITHUB_TOKEN`.
pub fn github_token(api: &str) -> Option<String> {
    load_secret(&github_account(api), "GITHUB_TOKEN")
}

/// GitLab and GitHub over HTTP, for `relcal_api::run_adapters`.
#[derive(Debug, Clone, Copy, Default)]
pub struct HttpForges;

impl HttpForges {
    fn gitlab(url: &str) -> Result<GitLab, ApiError> {
        GitLab::new(url, gitlab_token(url))
    }
}

impl Forges for HttpForges {
    fn gitlab_freeze_periods(
        &self,
        url: &str,
        project: &str,
    ) -> Result<Vec<GitLabFreezePeriod>, ApiError> {
        Self::gitlab(url)?.freeze_periods(project)
    }

    fn gitlab_deployments(
        &self,
        url: &str,
        project: &str,
    ) -> Result<Vec<GitLabDeployment>, ApiError> {
        Self::gitlab(url)?.deployments(project, None)
    }

    fn github_releases(
        &self,
        api: &str,
        repo: &str,
        etag: Option<&str>,
    ) -> Result<Option<GitHubReleases>, ApiError> {
        GitHub::new(api, github_token(api))?.releases(repo, etag)
    }
}
