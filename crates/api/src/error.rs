//! The use cases' errors are the protocol's: they cross IPC and HTTP as
//! `{code, message}` (`relcal_protocol::ApiError`).

pub use relcal_protocol::{ApiError, ErrorCode};
