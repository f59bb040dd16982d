//! What GitLab and GitHub answer, as far as Relcal reads it: the forge
//! clients (`relcal-http`) fetch these, and the adapters (`relcal-api`)
//! apply them to the calendar.

use crate::error::ApiError;
use serde::{Deserialize, Serialize};

/// GitHub's public API, where a calendar follows github.com.
pub const GITHUB_API: &str = "https://api.github.com";

/// A GitLab deploy freeze period (`GET /projects/:id/freeze_periods`).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
pub struct GitLabFreezePeriod {
    /// GitLab's id.
    pub id: u64,
    /// Cron: when each freeze starts.
    pub freeze_start: String,
    /// Cron: when each freeze ends.
    pub freeze_end: String,
    /// IANA zone of both crons (GitLab's default is UTC).
    #[serde(default)]
    pub cron_timezone: Option<String>,
}

/// A GitLab environment, as a deployment names it.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
pub struct GitLabEnvironment {
    /// Its name (`production`, `staging`, ...).
    pub name: String,
}

/// A GitLab deployment (`GET /projects/:id/deployments`).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
pub struct GitLabDeployment {
    /// GitLab's id.
    pub id: u64,
    /// `created`, `running`, `success`, `failed`, `canceled`, `skipped` or `blocked`.
    pub status: String,
    /// The deployed branch or tag.
    #[serde(rename = "ref")]
    pub git_ref: String,
    /// Where.
    pub environment: GitLabEnvironment,
    /// Last change (RFC 3339).
    pub updated_at: String,
}

/// A GitHub release (`GET /repos/:owner/:repo/releases`).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
pub struct GitHubRelease {
    /// The tag.
    pub tag_name: String,
    /// Not yet published.
    pub draft: bool,
    /// Its page.
    pub html_url: String,
}

/// A list of GitHub releases and its ETag (for the next poll).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GitHubReleases {
    /// Newest first.
    pub releases: Vec<GitHubRelease>,
    /// Send it as `If-None-Match` next time.
    pub etag: Option<String>,
}

/// The forges an adapter run reads, each reached with the credentials this
/// machine holds for it (`relcal_http::HttpForges`; recorded answers in tests).
pub trait Forges {
    /// A GitLab project's deploy freeze periods (`url`: the instance).
    fn gitlab_freeze_periods(
        &self,
        url: &str,
        project: &str,
    ) -> Result<Vec<GitLabFreezePeriod>, ApiError>;
    /// A GitLab project's deployments, newest first.
    fn gitlab_deployments(
        &self,
        url: &str,
        project: &str,
    ) -> Result<Vec<GitLabDeployment>, ApiError>;
    /// A repository's GitHub releases (`api`: github.com's API or an
    /// Enterprise server's), unless unchanged since `etag` (`None`).
    fn github_releases(
        &self,
        api: &str,
        repo: &str,
        etag: Option<&str>,
    ) -> Result<Option<GitHubReleases>, ApiError>;
}

/// A deploy freeze period to write to GitLab (`POST` or `PUT
/// /projects/:id/freeze_periods`).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
pub struct GitLabFreezeSpec {
    /// Cron: when each freeze starts.
    pub freeze_start: String,
    /// Cron: when each freeze ends.
    pub freeze_end: String,
    /// IANA zone of both crons.
    pub cron_timezone: String,
}

impl GitLabFreezeSpec {
    /// Whether an existing period says the same (GitLab's zone defaults to UTC).
    pub fn same_as(&self, p: &GitLabFreezePeriod) -> bool {
        self.freeze_start == p.freeze_start.trim()
            && self.freeze_end == p.freeze_end.trim()
            && self.cron_timezone == p.cron_timezone.as_deref().unwrap_or("UTC")
    }
}

/// A GitLab project's deploy freeze periods, read and written
/// (`relcal gitlab push-freezes`; `relcal_http::GitLab`, recorded exchanges in tests).
pub trait GitLabFreezeWriter {
    /// Every period of the project.
    fn list_freeze_periods(&self, project: &str) -> Result<Vec<GitLabFreezePeriod>, ApiError>;
    /// Adds a period.
    fn create_freeze_period(&self, project: &str, spec: &GitLabFreezeSpec) -> Result<(), ApiError>;
    /// Rewrites period `id`.
    fn update_freeze_period(
        &self,
        project: &str,
        id: u64,
        spec: &GitLabFreezeSpec,
    ) -> Result<(), ApiError>;
    /// Removes period `id`.
    fn delete_freeze_period(&self, project: &str, id: u64) -> Result<(), ApiError>;
}
