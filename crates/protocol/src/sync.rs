//! The sync protocol between desktops and the release API server: the change
//! log a desktop pulls (`GET /v1/changes`), the mutations it pushes
//! (`POST /v1/mutations`) and their answers, and the [`Transport`] a desktop
//! sends them through.

use crate::error::ApiError;
use relcal_domain::ObjectKind;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// Most mutations in one batch.
pub const MAX_BATCH: usize = 500;

/// A page of changes stops once its objects' text reaches this many bytes
/// (one change always goes, whatever its size), so a page stays far below
/// what a desktop reads of an answer (64 MiB).
pub const MAX_CHANGES_BYTES: usize = 8 * 1024 * 1024;
/// One change in the log.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Change {
    /// Its place in the server's order (the cursor).
    pub seq: u64,
    /// `team`, `service`, `environment`, `freeze` or `release`.
    pub kind: ObjectKind,
    /// Object id.
    pub id: String,
    /// The object's version after the change.
    pub version: u64,
    /// The object as plan-file JSON, or null when it was deleted (a tombstone).
    pub object: Option<Value>,
    /// Who made the change, as the server authenticated them (absent from
    /// servers before this field).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub by: Option<String>,
}

/// Changes after a cursor.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Changes {
    /// In order.
    pub changes: Vec<Change>,
    /// Pass it as `since` next time.
    pub cursor: u64,
    /// More changes wait after this page.
    pub more: bool,
    /// On the last page: the server's calendar digest (`Plan::digest`), for
    /// the client to tell whether it holds the same calendar.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub digest: Option<String>,
}

/// One mutation of a batch.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Mutation {
    /// Unique per mutation, chosen by the client: a repeat gets the first answer.
    pub mutation_id: String,
    /// The object's kind.
    pub kind: ObjectKind,
    /// Its id.
    pub id: String,
    /// The version the client changed (0 for a new object).
    pub base_version: u64,
    /// The fields to set (plan-file names; null removes an optional field),
    /// or null to delete the object.
    pub fields: Option<Map<String, Value>>,
}

/// What happened to one mutation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum MutationResult {
    /// Written (merged if it was made on an older version).
    Applied {
        /// The mutation.
        mutation_id: String,
        /// The object's new version.
        version: u64,
        /// It was made on an older version and merged.
        merged: bool,
    },
    /// The same field changed on both sides: a person chooses.
    Conflict {
        /// The mutation.
        mutation_id: String,
        /// The fields changed on both sides.
        fields: Vec<String>,
        /// The server's copy (null: deleted on the server).
        server: Option<Value>,
        /// Its version.
        server_version: u64,
        /// The copy the mutation was made on.
        base: Option<Value>,
    },
    /// Refused, with the reason (naming the object and field).
    Rejected {
        /// The mutation.
        mutation_id: String,
        /// Why.
        reason: String,
    },
}

/// Mutations per request unless the transport says otherwise (the server takes
/// up to `MAX_BATCH`).
pub const PUSH_CHUNK: usize = 200;

/// How a desktop talks to the server.
pub trait Transport {
    /// `GET /v1/changes?since=`.
    fn changes(&mut self, since: u64) -> Result<Changes, ApiError>;
    /// `POST /v1/mutations` with an idempotency key.
    fn push(&mut self, key: &str, batch: &[Mutation]) -> Result<Vec<MutationResult>, ApiError>;
    /// Mutations per request: a push of more goes out in several.
    fn max_batch(&self) -> usize {
        PUSH_CHUNK
    }
    /// `POST /v1/audit-heads`: keeps this desktop's audit-chain head
    /// (`client`'s entry `seq` has `hash`) on the server.
    fn anchor(&mut self, client: &str, seq: u64, hash: &str) -> Result<(), ApiError>;
    /// `GET /v1/audit-heads?client=`: the heads the server keeps for `client`,
    /// as (seq, hash, when received).
    fn anchored(&mut self, client: &str) -> Result<Vec<(u64, String, String)>, ApiError>;
    /// `POST /v1/exception-requests`: the requests and decisions made here,
    /// and back every request the server holds.
    fn exchange_requests(
        &mut self,
        push: &crate::RequestsPush,
    ) -> Result<crate::RequestsAnswer, ApiError>;
}
