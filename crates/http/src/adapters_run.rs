//! The forges over HTTP, each with this machine's token for it: from the
//! keyring (`gitlab:<url>`, `github:<api>`) or `GITLAB_TOKEN` (for
//! `CI_SERVER_URL` only) / `GITHUB_TOKEN` (for `GITHUB_API_URL`, default
//! GitHub's API, only); public projects need none.

use crate::token::{load_secret, EnvToken};
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

/// This machine's token for a GitLab instance: `GITLAB_TOKEN` when
/// `CI_SERVER_URL` is this instance (or it is on this machine), else the
/// keyring's; none for public projects.
pub fn gitlab_token(url: &str) -> Option<String> {
    let env = EnvToken {
        var: "GITLAB_TOKEN",
        bound_to: "CI_SERVER_URL",
        default: None,
    };
    load_secret(&gitlab_account(url), url, env)
}

/// This machine's token for a GitHub API: `GITHUB_TOKEN` when
/// `GITHUB_API_URL` (default: GitHub's own API) is this API, else the keyring's.
pub fn github_token(api: &str) -> Option<String> {
    let env = EnvToken {
        var: "GITHUB_TOKEN",
        bound_to: "GITHUB_API_URL",
        default: Some(relcal_protocol::GITHUB_API),
    };
    load_secret(&github_account(api), api, env)
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
