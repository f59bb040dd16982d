//! The server's tables in PostgreSQL, created on first use (every statement
//! is idempotent: run on each connect), with the audit trail append-only.

/// Run on each connect.
pub(crate) const SCHEMA: &str = r#"
CREATE TABLE IF NOT EXISTS relcal_schema (version INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS calendar (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    meta TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS objects (
    kind TEXT NOT NULL,
    id TEXT NOT NULL,
    pos BIGSERIAL,
    body TEXT NOT NULL,
    PRIMARY KEY (kind, id)
);
CREATE INDEX IF NOT EXISTS objects_in_order ON objects (kind, pos);
CREATE TABLE IF NOT EXISTS server_tokens (
    token_sha256 TEXT PRIMARY KEY,
    user_name TEXT NOT NULL,
    role TEXT NOT NULL,
    created_at TEXT NOT NULL
);
ALTER TABLE server_tokens ADD COLUMN IF NOT EXISTS expires_at TEXT;
ALTER TABLE server_tokens ADD COLUMN IF NOT EXISTS last_used_at TEXT;
CREATE TABLE IF NOT EXISTS sync_log (
    seq BIGSERIAL PRIMARY KEY,
    kind TEXT NOT NULL,
    id TEXT NOT NULL,
    version BIGINT NOT NULL,
    object TEXT,
    at TEXT NOT NULL,
    by_user TEXT NOT NULL,
    UNIQUE (kind, id, version)
);
CREATE TABLE IF NOT EXISTS sync_mutations (
    mutation_id TEXT PRIMARY KEY,
    result TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS audit_log (
    seq BIGINT PRIMARY KEY,
    at TEXT NOT NULL,
    actor TEXT NOT NULL,
    action TEXT NOT NULL,
    object_kind TEXT NOT NULL,
    object_id TEXT NOT NULL,
    before TEXT,
    after TEXT,
    prev_hash TEXT NOT NULL,
    hash TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS audit_head (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    seq BIGINT NOT NULL,
    hash TEXT NOT NULL
);
INSERT INTO audit_head (id, seq, hash)
    SELECT 1, seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1
    ON CONFLICT (id) DO NOTHING;
CREATE OR REPLACE FUNCTION relcal_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN RAISE EXCEPTION 'the audit trail is append-only'; END $$;
CREATE OR REPLACE TRIGGER audit_log_append_only BEFORE UPDATE OR DELETE ON audit_log
    FOR EACH ROW EXECUTE FUNCTION relcal_append_only();
CREATE OR REPLACE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log
    FOR EACH STATEMENT EXECUTE FUNCTION relcal_append_only();
CREATE TABLE IF NOT EXISTS client_audit_heads (
    client_id TEXT NOT NULL,
    seq BIGINT NOT NULL,
    hash TEXT NOT NULL,
    at TEXT NOT NULL,
    by_user TEXT NOT NULL,
    PRIMARY KEY (client_id, seq)
);
CREATE TABLE IF NOT EXISTS exception_requests (
    id TEXT PRIMARY KEY,
    release_id TEXT NOT NULL,
    freeze_id TEXT NOT NULL,
    reason TEXT NOT NULL,
    expires TEXT,
    requested_by TEXT NOT NULL,
    requested_at TEXT NOT NULL,
    state TEXT NOT NULL CHECK (state IN ('pending', 'approved', 'declined', 'withdrawn')),
    decided_by TEXT,
    decided_at TEXT,
    note TEXT
);
CREATE INDEX IF NOT EXISTS exception_requests_newest ON exception_requests (requested_at);
CREATE INDEX IF NOT EXISTS exception_requests_by_exception ON exception_requests (release_id, freeze_id);
"#;
