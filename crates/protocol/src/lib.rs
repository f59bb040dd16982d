//! What crosses a boundary between Relcal's parts: the errors every front
//! door passes on as `{code, message}`, the sync protocol between desktops
//! and the release API server, the forges' answers the adapters read, and an
//! import's summary.
//!
//! Architecture invariant: types and the traits of the outside world
//! ([`Transport`], [`Forges`]) only, no I/O.
//! The server (`relcal-server-core`) and the desktop (`relcal-api`) both
//! depend on this crate, never on each other.

#![deny(missing_docs)]

mod error;
mod forge;
mod requests;
mod summary;
mod sync;

pub use error::{with_causes, ApiError, ErrorCode};
pub use forge::{
    Forges, GitHubRelease, GitHubReleases, GitLabDeployment, GitLabEnvironment, GitLabFreezePeriod,
    GitLabFreezeSpec, GitLabFreezeWriter, GITHUB_API,
};
pub use requests::{
    is_request_id, ExceptionRequest, RequestResult, RequestState, RequestsAnswer, RequestsPush,
    MAX_REQUESTS_LISTED, MAX_REQUEST_TEXT,
};
pub use summary::{ImportChanges, ImportSummary};
pub use sync::{
    Change, Changes, Mutation, MutationResult, Transport, MAX_BATCH, MAX_CHANGES_BYTES, PUSH_CHUNK,
};
