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

/// GitLab and GitHub over HTTP, for `relcal_api::run_adapters`. One run
/// asks a GitLab instance twice (freeze periods, deployments): its client
/// and token are made once and kept for the run. (No `Debug`: it holds a token.)
#[derive(Default)]
pub struct HttpForges {
    gitlab: std::sync::Mutex<Option<(String, std::sync::Arc<GitLab>)>>,
}

impl HttpForges {
    /// Forges with nothing connected yet.
    pub fn new() -> Self {
        Self::default()
    }

    fn gitlab(&self, url: &str) -> Result<std::sync::Arc<GitLab>, ApiError> {
        // What it holds is checked against the URL on every use.
        let mut held = self
            .gitlab
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some((for_url, client)) = &*held {
            if for_url == url {
                return Ok(client.clone());
            }
        }
        let client = std::sync::Arc::new(GitLab::new(url, gitlab_token(url))?);
        *held = Some((url.to_owned(), client.clone()));
        Ok(client)
    }
}

impl Forges for HttpForges {
    fn gitlab_freeze_periods(
        &self,
        url: &str,
        project: &str,
    ) -> Result<Vec<GitLabFreezePeriod>, ApiError> {
        self.gitlab(url)?.freeze_periods(project)
    }

    fn gitlab_deployments(
        &self,
        url: &str,
        project: &str,
    ) -> Result<Vec<GitLabDeployment>, ApiError> {
        self.gitlab(url)?.deployments(project, None)
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
