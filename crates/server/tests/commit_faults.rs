//! A batch whose commit fails is applied again one mutation at a time; a
//! grant of a freeze exception and the request it approves must then still
//! be written together or not at all. The server's core runs in this test
//! on the real storage (SQLite file, PostgreSQL), behind a wrapper that
//! makes chosen calls fail.

#![allow(
    clippy::unwrap_used,
    reason = "a test should panic loudly on a broken assumption"
)]

mod common;
use common::{setup, Backend};
use relcal_protocol::{
    ApiError, ErrorCode, ExceptionRequest, Mutation, RequestState, RequestsPush,
};
use relcal_server_core::{
    apply_mutations, exchange_requests, ChangeWrite, Currents, Principal, Role, ServerStore,
    SyncRow, TokenRecord, WarmCalendar,
};
use serde_json::json;

/// The real storage, with faults: the next `commit_batch` fails when
/// `fail_commit`, and after that (once the batch is being applied again one
/// by one) the next `put_exception_request` fails too.
struct Faulty {
    inner: Box<dyn ServerStore>,
    fail_commit: bool,
    fail_request: bool,
}

fn injected(what: &str) -> ApiError {
    ApiError::new(ErrorCode::Unavailable, format!("{what}: injected fault"))
}

impl ServerStore for Faulty {
    fn calendar(&mut self) -> Result<Option<relcal_domain::Plan>, ApiError> {
        self.inner.calendar()
    }
    fn replace_calendar(
        &mut self,
        plan: &relcal_domain::Plan,
        audit: &[relcal_domain::AuditRecord],
    ) -> Result<(), ApiError> {
        self.inner.replace_calendar(plan, audit)
    }
    fn token(&mut self, token_sha256: &str) -> Result<Option<TokenRecord>, ApiError> {
        self.inner.token(token_sha256)
    }
    fn add_token(
        &mut self,
        token_sha256: &str,
        user: &str,
        role: &str,
        at: &str,
        expires_at: Option<&str>,
        audit: &[relcal_domain::AuditRecord],
    ) -> Result<(), ApiError> {
        self.inner
            .add_token(token_sha256, user, role, at, expires_at, audit)
    }
    fn tokens(&mut self) -> Result<Vec<TokenRecord>, ApiError> {
        self.inner.tokens()
    }
    fn revoke_token(
        &mut self,
        id: &str,
        audit: &[relcal_domain::AuditRecord],
    ) -> Result<bool, ApiError> {
        self.inner.revoke_token(id, audit)
    }
    fn touch_token(&mut self, token_sha256: &str, at: &str, since: &str) -> Result<(), ApiError> {
        self.inner.touch_token(token_sha256, at, since)
    }
    fn log_started(&mut self) -> Result<bool, ApiError> {
        self.inner.log_started()
    }
    fn calendar_version(&mut self) -> Result<u64, ApiError> {
        self.inner.calendar_version()
    }
    fn append_log(
        &mut self,
        entries: &[(String, String, Option<String>)],
        at: &str,
        by: &str,
    ) -> Result<(), ApiError> {
        self.inner.append_log(entries, at, by)
    }
    fn log_after(&mut self, since: u64, limit: usize) -> Result<Vec<SyncRow>, ApiError> {
        self.inner.log_after(since, limit)
    }
    fn verify_audit(&mut self) -> Result<Result<u64, relcal_domain::ChainBreak>, ApiError> {
        self.inner.verify_audit()
    }
    fn anchor_head(
        &mut self,
        client: &str,
        head: (u64, &str),
        user: &str,
        at: &str,
    ) -> Result<(), ApiError> {
        self.inner.anchor_head(client, head, user, at)
    }
    fn anchored_heads(
        &mut self,
        client: &str,
    ) -> Result<Vec<relcal_server_core::AnchoredHead>, ApiError> {
        self.inner.anchored_heads(client)
    }
    fn lock_writes(&mut self) -> Result<(), ApiError> {
        self.inner.lock_writes()
    }
    fn unlock_writes(&mut self) -> Result<(), ApiError> {
        self.inner.unlock_writes()
    }
    fn begin_batch(&mut self) -> Result<bool, ApiError> {
        self.inner.begin_batch()
    }
    fn commit_batch(&mut self) -> Result<(), ApiError> {
        if std::mem::take(&mut self.fail_commit) {
            return Err(injected("commit"));
        }
        self.inner.commit_batch()
    }
    fn rollback_batch(&mut self) {
        self.inner.rollback_batch()
    }
    fn current(&mut self, kind: &str, id: &str) -> Result<(u64, Option<String>), ApiError> {
        self.inner.current(kind, id)
    }
    fn currents(&mut self, objects: &[(&str, &str)]) -> Result<Currents, ApiError> {
        self.inner.currents(objects)
    }
    fn at_version(
        &mut self,
        kind: &str,
        id: &str,
        version: u64,
    ) -> Result<Option<String>, ApiError> {
        self.inner.at_version(kind, id, version)
    }
    fn answer(&mut self, key: &str) -> Result<Option<String>, ApiError> {
        self.inner.answer(key)
    }
    fn answers(
        &mut self,
        keys: &[&str],
    ) -> Result<std::collections::HashMap<String, String>, ApiError> {
        self.inner.answers(keys)
    }
    fn record_answer(&mut self, key: &str, answer: &str) -> Result<(), ApiError> {
        self.inner.record_answer(key, answer)
    }
    fn write_change(&mut self, change: ChangeWrite<'_>) -> Result<(), ApiError> {
        self.inner.write_change(change)
    }
    fn exception_requests(&mut self) -> Result<Vec<ExceptionRequest>, ApiError> {
        self.inner.exception_requests()
    }
    fn exception_request(&mut self, id: &str) -> Result<Option<ExceptionRequest>, ApiError> {
        self.inner.exception_request(id)
    }
    fn exception_requests_for(
        &mut self,
        release: &str,
        freeze: &str,
    ) -> Result<Vec<ExceptionRequest>, ApiError> {
        self.inner.exception_requests_for(release, freeze)
    }
    fn put_exception_request(
        &mut self,
        request: &ExceptionRequest,
        audit: &relcal_domain::AuditRecord,
    ) -> Result<(), ApiError> {
        // Only once the batch's own transaction has failed.
        if !self.fail_commit && std::mem::take(&mut self.fail_request) {
            return Err(injected("exception request"));
        }
        self.inner.put_exception_request(request, audit)
    }
    fn describe(&self) -> String {
        self.inner.describe()
    }
}

fn who(user: &str, role: Role) -> Principal {
    Principal {
        user: user.to_owned(),
        role,
    }
}

fn a_grant_and_the_request_it_approves_are_kept_together_when_a_batch_is_applied_again(
    backend: Backend,
) {
    let (_dir, db, _viewer) = setup(backend);
    let now = chrono::DateTime::parse_from_rfc3339("2026-11-25T00:00:00Z")
        .unwrap()
        .to_utc();
    let mut store = Faulty {
        inner: db.open_store(),
        fail_commit: false,
        fail_request: false,
    };
    let warm = WarmCalendar::default();
    // Ana asks for an exception to the holidays freeze.
    let asked: ExceptionRequest = serde_json::from_value(json!({
        "id": "x-1", "release": "ingress-xmas", "freeze": "holidays",
        "reason": "certificate expires", "expires": "2026-12-22T09:30:00Z",
        "requested_by": "ana", "requested_at": "2026-11-25T00:00:00Z", "state": "pending" }))
    .unwrap();
    let answer = exchange_requests(
        &mut store,
        &who("ana", Role::Editor),
        &RequestsPush {
            requests: vec![asked],
        },
        now,
    )
    .unwrap();
    assert_eq!(
        answer.requests[0].state,
        RequestState::Pending,
        "{answer:?}"
    );
    // Omar grants it, with another release change before it in the batch.
    let batch: Vec<Mutation> = serde_json::from_value(json!([
        { "mutation_id": "t1", "kind": "release", "id": "checkout-2.0", "base_version": 1,
          "fields": { "title": "Checkout 2.0, renamed" } },
        { "mutation_id": "g1", "kind": "release", "id": "ingress-xmas", "base_version": 1,
          "fields": { "overrides": [{ "freeze": "holidays", "reason": "certificate expires",
                                      "by": "omar", "requested_by": "ana",
                                      "expires": "2026-12-22T09:30:00Z" }] } }
    ]))
    .unwrap();
    let omar = who("omar", Role::Approver);
    let state = |store: &mut Faulty| {
        let plan = store.calendar().unwrap().unwrap();
        let release = plan
            .releases
            .iter()
            .find(|r| r.id.as_str() == "ingress-xmas")
            .unwrap();
        let granted = release
            .overrides
            .iter()
            .any(|o| o.freeze.as_str() == "holidays");
        let request = store.exception_request("x-1").unwrap().unwrap();
        (granted, request.state, request.decided_by)
    };

    // The batch's commit fails, and then so does writing the request while
    // the batch is applied again one by one: the grant is not kept without
    // its request, nor the request approved without the grant.
    store.fail_commit = true;
    store.fail_request = true;
    let failed = apply_mutations(&mut store, &omar, &batch, Some("b1"), now, &warm);
    assert!(failed.is_err(), "{failed:?}");
    assert_eq!(state(&mut store), (false, RequestState::Pending, None));
    // Sent again, it is applied whole: the grant with the request approved
    // by omar, and the change before it answered once.
    let applied = apply_mutations(&mut store, &omar, &batch, Some("b1"), now, &warm).unwrap();
    assert!(
        applied
            .iter()
            .all(|r| matches!(r, relcal_protocol::MutationResult::Applied { .. })),
        "{applied:?}"
    );
    assert_eq!(
        state(&mut store),
        (true, RequestState::Approved, Some("omar".to_owned()))
    );
    let chain = store.verify_audit().unwrap();
    assert!(chain.is_ok(), "{chain:?}");
}

crate::on_both_backends!(
    a_grant_and_the_request_it_approves_are_kept_together_when_a_batch_is_applied_again
);
