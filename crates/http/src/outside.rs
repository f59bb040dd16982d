//! The HTTP side of the adapters (`relcal_api::import_gitlab_freezes` and
//! friends): GitLab's REST API v4 with `X-Next-Page` pagination and a
//! `PRIVATE-TOKEN`, and GitHub's REST API with `ETag` / `If-None-Match`, so
//! polling an unchanged list costs nothing against the rate limit.

use relcal_protocol::{
    ApiError, ErrorCode, GitHubReleases, GitLabDeployment, GitLabFreezePeriod, GitLabFreezeSpec,
    GitLabFreezeWriter,
};
use std::time::Duration;

/// Follows a redirect only to the same scheme, host and port. reqwest drops
/// `Authorization` on a cross-host redirect but not GitLab's `PRIVATE-TOKEN`:
/// a forge that redirects elsewhere gets its answer, not the token.
fn same_origin_only() -> reqwest::redirect::Policy {
    reqwest::redirect::Policy::custom(|attempt| {
        let origin = |u: &reqwest::Url| {
            (
                u.scheme().to_owned(),
                u.host_str().map(str::to_owned),
                u.port_or_known_default(),
            )
        };
        let same = attempt
            .previous()
            .first()
            .is_some_and(|first| origin(first) == origin(attempt.url()));
        if !same {
            attempt.stop()
        } else if attempt.previous().len() > 5 {
            attempt.error("more than 5 redirects")
        } else {
            attempt.follow()
        }
    })
}

fn client() -> Result<reqwest::blocking::Client, ApiError> {
    reqwest::blocking::Client::builder()
        .redirect(same_origin_only())
        .timeout(Duration::from_secs(30))
        .user_agent(concat!("relcal/", env!("CARGO_PKG_VERSION")))
        .build()
        .map_err(|e| ApiError::new(ErrorCode::Internal, e.to_string()))
}

fn url(base: &str, segments: &[&str], query: &[(&str, &str)]) -> Result<reqwest::Url, ApiError> {
    let mut u = reqwest::Url::parse(base).map_err(|e| {
        ApiError::new(
            ErrorCode::Validation,
            format!("--url: `{base}` is not a URL ({e})"),
        )
    })?;
    u.path_segments_mut()
        .map_err(|()| {
            ApiError::new(
                ErrorCode::Validation,
                format!("--url: `{base}` cannot have a path"),
            )
        })?
        .pop_if_empty()
        .extend(segments);
    if !query.is_empty() {
        u.query_pairs_mut().extend_pairs(query);
    }
    Ok(u)
}

fn failed(what: &str, r: reqwest::blocking::Response) -> ApiError {
    let status = r.status();
    if status.is_redirection() {
        let to = r
            .headers()
            .get(reqwest::header::LOCATION)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("elsewhere")
            .to_owned();
        return ApiError::new(
            ErrorCode::Validation,
            format!(
                "{what}: the server redirects to another host ({to}); the token is not sent there. \
                 Give the URL of the API itself"
            ),
        );
    }
    let body = crate::body::error_text(r);
    let message = serde_json::from_str::<serde_json::Value>(&body)
        .ok()
        .and_then(|v| {
            v.get("message")
                .map(|m| m.to_string().trim_matches('"').to_owned())
        })
        .unwrap_or_else(|| status.to_string());
    let code = match status.as_u16() {
        401 => ErrorCode::Unauthorized,
        403 => ErrorCode::Forbidden,
        404 => ErrorCode::NotFound,
        400..=499 => ErrorCode::Validation,
        _ => ErrorCode::Unavailable,
    };
    ApiError::new(code, format!("{what}: {message}"))
}

/// A GitLab instance.
pub struct GitLab {
    client: reqwest::blocking::Client,
    base: String,
    token: Option<String>,
}

impl GitLab {
    /// `base` is the instance (`https://gitlab.com`); `token` a personal or
    /// project access token with `read_api` (none: public projects only).
    pub fn new(base: &str, token: Option<String>) -> Result<Self, ApiError> {
        crate::check_url("the GitLab URL", base)?;
        Ok(Self {
            client: client()?,
            base: base.trim_end_matches('/').to_owned(),
            token,
        })
    }

    /// Every page of a list.
    fn all<T: serde::de::DeserializeOwned>(
        &self,
        what: &str,
        segments: &[&str],
        query: &[(&str, &str)],
        max_pages: usize,
    ) -> Result<Vec<T>, ApiError> {
        let mut out = Vec::new();
        let mut page = "1".to_owned();
        for _ in 0..max_pages {
            let mut q = query.to_vec();
            q.push(("per_page", "100"));
            q.push(("page", &page));
            let mut request = self.client.get(url(&self.base, segments, &q)?);
            if let Some(t) = &self.token {
                request = request.header("PRIVATE-TOKEN", t);
            }
            let r = request.send().map_err(|e| {
                ApiError::new(
                    ErrorCode::Unavailable,
                    format!("{what}: {}", crate::secure::why(&e)),
                )
            })?;
            if !r.status().is_success() {
                return Err(failed(what, r));
            }
            let next = r
                .headers()
                .get("x-next-page")
                .and_then(|v| v.to_str().ok())
                .map(str::trim)
                .filter(|v| !v.is_empty())
                .map(str::to_owned);
            let items: Vec<T> = crate::body::json(r, crate::body::MAX_FORGE_ANSWER)
                .map_err(|e| ApiError::new(ErrorCode::Unavailable, format!("{what}: {e}")))?;
            out.extend(items);
            match next {
                Some(n) => page = n,
                None => break,
            }
        }
        Ok(out)
    }

    /// A project's deploy freeze periods (`project`: id or `group/name`).
    pub fn freeze_periods(&self, project: &str) -> Result<Vec<GitLabFreezePeriod>, ApiError> {
        self.all(
            &format!("GitLab {project} freeze periods"),
            &["api", "v4", "projects", project, "freeze_periods"],
            &[],
            50,
        )
    }

    /// A project's latest deployments (newest first, the first 100), to
    /// `environment` when given.
    pub fn deployments(
        &self,
        project: &str,
        environment: Option<&str>,
    ) -> Result<Vec<GitLabDeployment>, ApiError> {
        let mut query = vec![("order_by", "updated_at"), ("sort", "desc")];
        if let Some(e) = environment {
            query.push(("environment", e));
        }
        self.all(
            &format!("GitLab {project} deployments"),
            &["api", "v4", "projects", project, "deployments"],
            &query,
            1,
        )
    }
}

impl GitLab {
    /// One write: `method` on `segments` with a JSON `body`; a 2xx is success.
    fn write(
        &self,
        what: &str,
        method: reqwest::Method,
        segments: &[&str],
        body: Option<&GitLabFreezeSpec>,
    ) -> Result<(), ApiError> {
        let mut request = self.client.request(method, url(&self.base, segments, &[])?);
        if let Some(t) = &self.token {
            request = request.header("PRIVATE-TOKEN", t);
        }
        if let Some(body) = body {
            request = request.json(body);
        }
        let r = request.send().map_err(|e| {
            ApiError::new(
                ErrorCode::Unavailable,
                format!("{what}: {}", crate::secure::why(&e)),
            )
        })?;
        if !r.status().is_success() {
            return Err(failed(what, r));
        }
        Ok(())
    }
}

impl GitLabFreezeWriter for GitLab {
    fn list_freeze_periods(&self, project: &str) -> Result<Vec<GitLabFreezePeriod>, ApiError> {
        self.freeze_periods(project)
    }

    fn create_freeze_period(&self, project: &str, spec: &GitLabFreezeSpec) -> Result<(), ApiError> {
        self.write(
            &format!("GitLab {project}: adding a freeze period"),
            reqwest::Method::POST,
            &["api", "v4", "projects", project, "freeze_periods"],
            Some(spec),
        )
    }

    fn update_freeze_period(
        &self,
        project: &str,
        id: u64,
        spec: &GitLabFreezeSpec,
    ) -> Result<(), ApiError> {
        let id = id.to_string();
        self.write(
            &format!("GitLab {project}: changing freeze period {id}"),
            reqwest::Method::PUT,
            &["api", "v4", "projects", project, "freeze_periods", &id],
            Some(spec),
        )
    }

    fn delete_freeze_period(&self, project: &str, id: u64) -> Result<(), ApiError> {
        let id = id.to_string();
        self.write(
            &format!("GitLab {project}: removing freeze period {id}"),
            reqwest::Method::DELETE,
            &["api", "v4", "projects", project, "freeze_periods", &id],
            None,
        )
    }
}

/// GitHub's REST API.
pub struct GitHub {
    client: reqwest::blocking::Client,
    api: String,
    token: Option<String>,
}

impl GitHub {
    /// `api` is `https://api.github.com` (or an Enterprise server's
    /// `https://host/api/v3`); `token` a token with read access (none:
    /// public repositories only).
    pub fn new(api: &str, token: Option<String>) -> Result<Self, ApiError> {
        crate::check_url("the GitHub API", api)?;
        Ok(Self {
            client: client()?,
            api: api.trim_end_matches('/').to_owned(),
            token,
        })
    }

    /// A repository's releases (`owner/name`), newest first (the first 100),
    /// unless they are unchanged since `etag` (`None`: not modified). With the
    /// list comes its new ETag.
    pub fn releases(
        &self,
        repo: &str,
        etag: Option<&str>,
    ) -> Result<Option<GitHubReleases>, ApiError> {
        let what = format!("GitHub {repo} releases");
        let Some((owner, name)) = repo.split_once('/') else {
            return Err(ApiError::new(
                ErrorCode::Validation,
                format!("--repo: `{repo}` is not owner/name"),
            ));
        };
        let mut request = self
            .client
            .get(url(
                &self.api,
                &["repos", owner, name, "releases"],
                &[("per_page", "100")],
            )?)
            .header("Accept", "application/vnd.github+json")
            .header("X-GitHub-Api-Version", "2022-11-28");
        if let Some(t) = &self.token {
            request = request.bearer_auth(t);
        }
        if let Some(e) = etag {
            request = request.header("If-None-Match", e);
        }
        let r = request.send().map_err(|e| {
            ApiError::new(
                ErrorCode::Unavailable,
                format!("{what}: {}", crate::secure::why(&e)),
            )
        })?;
        if r.status() == reqwest::StatusCode::NOT_MODIFIED {
            return Ok(None);
        }
        if !r.status().is_success() {
            return Err(failed(&what, r));
        }
        let etag = r
            .headers()
            .get(reqwest::header::ETAG)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let releases = crate::body::json(r, crate::body::MAX_FORGE_ANSWER)
            .map_err(|e| ApiError::new(ErrorCode::Unavailable, format!("{what}: {e}")))?;
        Ok(Some(GitHubReleases { releases, etag }))
    }
}
