//! The release API server's core, whatever stores it and whatever serves
//! HTTP: who may do what (tokens and roles, `auth.rs`; the role policy per
//! object kind and field, `policy.rs`), the change log and the
//! merge of desktops' mutations (`merge.rs`), and the storage it needs
//! ([`ServerStore`], `store.rs`), which `relcal-store` (SQLite) and
//! `relcal-store-pg` (PostgreSQL) implement.
//!
//! Architecture invariant: no HTTP and no database here. The server binary
//! (`crates/server`) is the front door; it authenticates each request here
//! and never trusts a name the client sends.

#![deny(missing_docs)]

mod auth;
mod merge;
mod policy;
mod requests;
mod store;

pub use auth::{
    authenticate, create_token, import_server_plan, list_tokens, revoke_token, server_ics,
    token_shape, Principal, Role,
};
pub use merge::{apply_mutations, changes_since};
pub use policy::{authorize, Before, Rule, What, POLICY};
pub use requests::exchange_requests;
pub use store::{
    server_calendar, AnchoredHead, ChangeWrite, Currents, ServerStore, SyncRow, TokenRecord,
    WarmCalendar, TOKEN_ID_LEN,
};
