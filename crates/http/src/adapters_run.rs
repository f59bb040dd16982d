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

/// GitLab and GitHub over HTTP, for `relcal_api::run_adapters`.
#[derive(Debug, Clone, Copy, Default)]
pub struct HttpForges;

impl HttpForges {
    fn gitlab(url: &str) -> Result<GitLab, ApiError> {
        GitLab::new(url, load_secret(&gitlab_account(url), "GITLAB_TOKEN"))
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
        GitHub::new(api, load_secret(&github_account(api), "GITHUB_TOKEN"))?.releases(repo, etag)
    }
}
