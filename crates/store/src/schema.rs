//! The schema, as an ordered list of migrations. Never edit a released
//! migration: append a new one.

use rusqlite_migration::{Migrations, M};

const V1_CALENDAR: &str = r#"
CREATE TABLE calendar (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    timezone TEXT NOT NULL,
    imported_at TEXT NOT NULL
);
CREATE TABLE teams (
    id TEXT PRIMARY KEY,
    position INTEGER NOT NULL,
    name TEXT NOT NULL,
    timezone TEXT
);
CREATE TABLE team_allowed_windows (
    team_id TEXT NOT NULL REFERENCES teams(id) ON DELETE CASCADE,
    position INTEGER NOT NULL,
    start TEXT NOT NULL,
    duration TEXT NOT NULL,
    rrule TEXT NOT NULL,
    timezone TEXT,
    exdates TEXT NOT NULL DEFAULT '[]' CHECK (json_type(exdates) = 'array'),
    PRIMARY KEY (team_id, position)
);
CREATE TABLE services (
    id TEXT PRIMARY KEY,
    position INTEGER NOT NULL,
    team_id TEXT NOT NULL REFERENCES teams(id)
);
CREATE TABLE service_dependencies (
    service_id TEXT NOT NULL REFERENCES services(id) ON DELETE CASCADE,
    position INTEGER NOT NULL,
    depends_on TEXT NOT NULL REFERENCES services(id),
    PRIMARY KEY (service_id, position)
);
CREATE TABLE environments (
    id TEXT PRIMARY KEY,
    position INTEGER NOT NULL,
    name TEXT NOT NULL,
    production INTEGER NOT NULL CHECK (production IN (0, 1)),
    max_concurrent INTEGER CHECK (max_concurrent >= 1),
    required_approvals INTEGER NOT NULL CHECK (required_approvals >= 0)
);
CREATE TABLE freezes (
    id TEXT PRIMARY KEY,
    position INTEGER NOT NULL,
    name TEXT NOT NULL,
    severity TEXT NOT NULL CHECK (severity IN ('hard', 'soft')),
    timezone TEXT,
    start TEXT NOT NULL,
    end TEXT,
    duration TEXT,
    rrule TEXT,
    exdates TEXT NOT NULL DEFAULT '[]' CHECK (json_type(exdates) = 'array'),
    reason TEXT,
    CHECK ((rrule IS NULL AND end IS NOT NULL AND duration IS NULL)
        OR (rrule IS NOT NULL AND end IS NULL AND duration IS NOT NULL))
);
CREATE TABLE freeze_scope (
    freeze_id TEXT NOT NULL REFERENCES freezes(id) ON DELETE CASCADE,
    kind TEXT NOT NULL CHECK (kind IN ('team', 'service', 'environment')),
    position INTEGER NOT NULL,
    ref_id TEXT NOT NULL,
    PRIMARY KEY (freeze_id, kind, position)
);
CREATE TABLE releases (
    id TEXT PRIMARY KEY,
    position INTEGER NOT NULL,
    title TEXT NOT NULL,
    team_id TEXT NOT NULL REFERENCES teams(id),
    environment_id TEXT NOT NULL REFERENCES environments(id),
    start TEXT NOT NULL,
    end TEXT NOT NULL,
    start_utc INTEGER NOT NULL,
    end_utc INTEGER NOT NULL CHECK (end_utc > start_utc),
    status TEXT NOT NULL CHECK (status IN
        ('draft', 'planned', 'approved', 'in_progress', 'done', 'rolled_back', 'cancelled')),
    owner TEXT,
    version TEXT,
    artifact TEXT
);
CREATE INDEX releases_by_start ON releases (start_utc, end_utc);
CREATE TABLE release_services (
    release_id TEXT NOT NULL REFERENCES releases(id) ON DELETE CASCADE,
    position INTEGER NOT NULL,
    service_id TEXT NOT NULL REFERENCES services(id),
    PRIMARY KEY (release_id, position)
);
-- No foreign key on depends_on: a missing release is a conflict to report, not bad data.
CREATE TABLE release_dependencies (
    release_id TEXT NOT NULL REFERENCES releases(id) ON DELETE CASCADE,
    position INTEGER NOT NULL,
    depends_on TEXT NOT NULL,
    PRIMARY KEY (release_id, position)
);
CREATE TABLE approvals (
    release_id TEXT NOT NULL REFERENCES releases(id) ON DELETE CASCADE,
    position INTEGER NOT NULL,
    approver TEXT NOT NULL,
    at TEXT NOT NULL,
    PRIMARY KEY (release_id, position)
);
CREATE TABLE checklist_items (
    release_id TEXT NOT NULL REFERENCES releases(id) ON DELETE CASCADE,
    position INTEGER NOT NULL,
    item_id TEXT NOT NULL,
    text TEXT NOT NULL,
    required INTEGER NOT NULL CHECK (required IN (0, 1)),
    done INTEGER NOT NULL CHECK (done IN (0, 1)),
    PRIMARY KEY (release_id, position),
    UNIQUE (release_id, item_id)
);
CREATE TABLE rollback_plans (
    release_id TEXT PRIMARY KEY REFERENCES releases(id) ON DELETE CASCADE,
    owner TEXT,
    time_budget_minutes INTEGER CHECK (time_budget_minutes >= 0),
    tested INTEGER NOT NULL CHECK (tested IN (0, 1))
);
CREATE TABLE rollback_steps (
    release_id TEXT NOT NULL REFERENCES rollback_plans(release_id) ON DELETE CASCADE,
    position INTEGER NOT NULL,
    step TEXT NOT NULL,
    PRIMARY KEY (release_id, position)
);
CREATE TABLE freeze_overrides (
    release_id TEXT NOT NULL REFERENCES releases(id) ON DELETE CASCADE,
    position INTEGER NOT NULL,
    freeze_id TEXT NOT NULL REFERENCES freezes(id),
    reason TEXT NOT NULL,
    approver TEXT NOT NULL,
    PRIMARY KEY (release_id, position)
);
"#;

/// The longest release, found through an index, bounds how far back a range
/// query must look: `start_utc` alone then selects a narrow slice.
const V2_RELEASE_LENGTH_INDEX: &str = r#"
CREATE INDEX releases_by_length ON releases (end_utc - start_utc);
"#;

/// Calendar views read releases by time. Each release row also carries its
/// services and dependencies as JSON arrays (written with the normalised rows,
/// in the same statement group, by `insert_releases` and `update_release` only), and a covering
/// index answers the range scan without visiting the table.
const V3_VIEW_READS: &str = r#"
ALTER TABLE releases ADD COLUMN services_json TEXT NOT NULL DEFAULT '[]'
    CHECK (json_type(services_json) = 'array');
ALTER TABLE releases ADD COLUMN depends_json TEXT NOT NULL DEFAULT '[]'
    CHECK (json_type(depends_json) = 'array');
UPDATE releases SET
    services_json = (SELECT json_group_array(service_id) FROM
        (SELECT service_id FROM release_services s WHERE s.release_id = releases.id ORDER BY position)),
    depends_json = (SELECT json_group_array(depends_on) FROM
        (SELECT depends_on FROM release_dependencies d WHERE d.release_id = releases.id ORDER BY position));
CREATE INDEX releases_view ON releases
    (start_utc, end_utc, id, title, team_id, environment_id, status, owner, services_json, depends_json);
"#;

/// The audit trail (append-only: triggers refuse updates and deletes; the
/// hash chain, checked by `relcal audit verify`, catches whoever drops them),
/// its head, and this database's settings.
const V4_AUDIT: &str = r#"
CREATE TABLE audit_log (
    seq INTEGER PRIMARY KEY,
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
CREATE INDEX audit_by_object ON audit_log (object_kind, object_id, seq);
CREATE TRIGGER audit_log_append_only_update BEFORE UPDATE ON audit_log
BEGIN SELECT RAISE(ABORT, 'the audit trail is append-only'); END;
CREATE TRIGGER audit_log_append_only_delete BEFORE DELETE ON audit_log
BEGIN SELECT RAISE(ABORT, 'the audit trail is append-only'); END;
CREATE TABLE audit_head (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    seq INTEGER NOT NULL,
    hash TEXT NOT NULL
);
CREATE TABLE app_settings (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
"#;

/// Readiness per release (the score of its checklist, written with the row
/// like its lists, so views read it from the covering index), and what the
/// plan format does not carry: who did a checklist item and when, its owner
/// and evidence; a rollback plan's rehearsal date, migration reversibility
/// and triggers. The detail tables are keyed by release and item and kept
/// across edits of the release (which rewrite its rows).
const V5_READINESS: &str = r#"
ALTER TABLE releases ADD COLUMN readiness INTEGER NOT NULL DEFAULT 100
    CHECK (readiness BETWEEN 0 AND 100);
UPDATE releases SET readiness = coalesce((
    SELECT (sum(CASE WHEN done THEN (CASE WHEN required THEN 2 ELSE 1 END) ELSE 0 END) * 100)
           / sum(CASE WHEN required THEN 2 ELSE 1 END)
    FROM checklist_items c WHERE c.release_id = releases.id), 100);
DROP INDEX releases_view;
CREATE INDEX releases_view ON releases
    (start_utc, end_utc, id, title, team_id, environment_id, status, owner, services_json, depends_json,
     readiness);
CREATE TABLE checklist_details (
    release_id TEXT NOT NULL,
    item_id TEXT NOT NULL,
    owner TEXT,
    done_by TEXT,
    done_at TEXT,
    note TEXT,
    PRIMARY KEY (release_id, item_id)
) WITHOUT ROWID;
CREATE TABLE rollback_details (
    release_id TEXT PRIMARY KEY,
    tested_on TEXT,
    migration_reversible INTEGER CHECK (migration_reversible IN (0, 1)),
    triggers TEXT NOT NULL DEFAULT '[]' CHECK (json_type(triggers) = 'array')
);
"#;

/// What the notification scheduler has sent (so nothing is sent twice, also
/// across restarts) and the error conflicts it has seen.
const V6_NOTIFICATIONS: &str = r#"
CREATE TABLE notifications_sent (
    key TEXT PRIMARY KEY,
    sent_at TEXT NOT NULL
) WITHOUT ROWID;
CREATE TABLE known_conflicts (
    key TEXT PRIMARY KEY
) WITHOUT ROWID;
"#;

/// The release API server's users: a token (stored as its SHA-256 only), a
/// name and a role.
const V7_SERVER_USERS: &str = r#"
CREATE TABLE server_tokens (
    token_sha256 TEXT PRIMARY KEY,
    user_name TEXT NOT NULL,
    role TEXT NOT NULL CHECK (role IN ('viewer', 'editor', 'approver', 'admin')),
    created_at TEXT NOT NULL
);
"#;

/// The server's change log (every accepted change with the object's new
/// version, or a tombstone) and the answers to mutation ids already seen.
const V8_SYNC: &str = r#"
CREATE TABLE sync_log (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    kind TEXT NOT NULL,
    id TEXT NOT NULL,
    version INTEGER NOT NULL,
    object TEXT,
    at TEXT NOT NULL,
    by TEXT NOT NULL,
    UNIQUE (kind, id, version)
);
CREATE TABLE sync_mutations (
    mutation_id TEXT PRIMARY KEY,
    result TEXT NOT NULL
) WITHOUT ROWID;
"#;

/// A desktop's side of sync: the server it syncs with, its cursor, how much
/// of its own audit trail it has pushed, what it knows of each object on the
/// server (version and copy, the base of its next change), and the conflicts
/// a person has to resolve.
const V9_SYNC_CLIENT: &str = r#"
CREATE TABLE sync_client (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    client_id TEXT NOT NULL,
    server TEXT NOT NULL,
    cursor INTEGER NOT NULL,
    pushed_audit_seq INTEGER NOT NULL
);
CREATE TABLE sync_known (
    kind TEXT NOT NULL,
    id TEXT NOT NULL,
    version INTEGER NOT NULL,
    object TEXT,
    PRIMARY KEY (kind, id)
) WITHOUT ROWID;
CREATE TABLE sync_conflicts (
    mutation_id TEXT PRIMARY KEY,
    kind TEXT NOT NULL,
    id TEXT NOT NULL,
    detail TEXT NOT NULL
) WITHOUT ROWID;
"#;

/// Objects a person chose to keep in a sync conflict: the next push sends them.
const V10_SYNC_PENDING: &str = r#"
CREATE TABLE sync_pending (
    kind TEXT NOT NULL,
    id TEXT NOT NULL,
    PRIMARY KEY (kind, id)
) WITHOUT ROWID;
"#;

/// The rest of a push whose answer never came (the connection dropped, the
/// server died): sent again exactly, in the same batches and so with the same
/// idempotency keys, before anything new, so
/// no mutation goes out twice with different content. And how the last sync
/// ended, for the app's status line.
const V11_SYNC_INFLIGHT: &str = r#"
CREATE TABLE sync_inflight (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    batch TEXT NOT NULL,
    upto INTEGER NOT NULL
);
CREATE TABLE sync_status (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    last_ok_at TEXT,
    last_try_at TEXT,
    last_error TEXT
);
"#;

/// The `feed` role (reads only the iCalendar feed; the one token a URL may
/// carry). SQLite cannot change a CHECK, so the table is rebuilt, its rows kept.
const V12_FEED_ROLE: &str = r#"
CREATE TABLE server_tokens_v12 (
    token_sha256 TEXT PRIMARY KEY,
    user_name TEXT NOT NULL,
    role TEXT NOT NULL CHECK (role IN ('feed', 'viewer', 'editor', 'approver', 'admin')),
    created_at TEXT NOT NULL
);
INSERT INTO server_tokens_v12 SELECT token_sha256, user_name, role, created_at FROM server_tokens;
DROP TABLE server_tokens;
ALTER TABLE server_tokens_v12 RENAME TO server_tokens;
"#;

/// Tokens that expire, and when each was last used (`relcal-server token list`).
const V13_TOKEN_LIFECYCLE: &str = r#"
ALTER TABLE server_tokens ADD COLUMN expires_at TEXT;
ALTER TABLE server_tokens ADD COLUMN last_used_at TEXT;
"#;

/// A freeze exception's requester and expiry (plan format: `overrides[]`).
const V14_OVERRIDE_EXPIRY: &str = r#"
ALTER TABLE freeze_overrides ADD COLUMN requested_by TEXT;
ALTER TABLE freeze_overrides ADD COLUMN expires TEXT;
"#;

/// The desktops' audit-chain heads a server keeps (anchored audit).
const V15_ANCHORED_HEADS: &str = r#"
CREATE TABLE client_audit_heads (
    client_id TEXT NOT NULL,
    seq INTEGER NOT NULL,
    hash TEXT NOT NULL,
    at TEXT NOT NULL,
    by TEXT NOT NULL,
    PRIMARY KEY (client_id, seq)
);
"#;

/// Freeze exceptions asked for and waiting for another person's approval,
/// or decided (not part of the plan, which holds only approved ones).
const V16_EXCEPTION_REQUESTS: &str = r#"
CREATE TABLE exception_requests (
    id TEXT PRIMARY KEY,
    release TEXT NOT NULL,
    freeze TEXT NOT NULL,
    reason TEXT NOT NULL,
    expires TEXT,
    requested_by TEXT NOT NULL,
    requested_at TEXT NOT NULL,
    state TEXT NOT NULL CHECK (state IN ('pending', 'approved', 'declined', 'withdrawn')),
    decided_by TEXT,
    decided_at TEXT,
    note TEXT,
    unsent INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX exception_requests_newest ON exception_requests (requested_at);
CREATE INDEX exception_requests_by_exception ON exception_requests (release, freeze);
"#;

/// Every migration, oldest first.
pub(crate) fn migrations() -> Migrations<'static> {
    Migrations::new(vec![
        M::up(V1_CALENDAR),
        M::up(V2_RELEASE_LENGTH_INDEX),
        M::up(V3_VIEW_READS),
        M::up(V4_AUDIT),
        M::up(V5_READINESS),
        M::up(V6_NOTIFICATIONS),
        M::up(V7_SERVER_USERS),
        M::up(V8_SYNC),
        M::up(V9_SYNC_CLIENT),
        M::up(V10_SYNC_PENDING),
        M::up(V11_SYNC_INFLIGHT),
        M::up(V12_FEED_ROLE),
        M::up(V13_TOKEN_LIFECYCLE),
        M::up(V14_OVERRIDE_EXPIRY),
        M::up(V15_ANCHORED_HEADS),
        M::up(V16_EXCEPTION_REQUESTS),
    ])
}

#[cfg(test)]
mod tests {
    #[test]
    fn migrations_are_valid() {
        assert!(super::migrations().validate().is_ok());
    }

    #[test]
    fn version_3_fills_the_release_lists_of_an_existing_database() {
        use rusqlite::Connection;
        let mut conn = Connection::open_in_memory().unwrap();
        super::migrations().to_version(&mut conn, 2).unwrap();
        conn.execute_batch(
            "INSERT INTO calendar VALUES (1, 'UTC', '2026-01-01T00:00:00Z');
             INSERT INTO teams VALUES ('t', 0, 'T', NULL);
             INSERT INTO services VALUES ('a', 0, 't'), ('b', 1, 't');
             INSERT INTO environments VALUES ('prod', 0, 'Prod', 1, NULL, 0);
             INSERT INTO releases VALUES ('r1', 0, 'R1', 't', 'prod', 's', 'e', 0, 10, 'planned', NULL, NULL, NULL),
                                         ('r2', 1, 'R2', 't', 'prod', 's', 'e', 5, 20, 'planned', NULL, NULL, NULL);
             INSERT INTO release_services VALUES ('r1', 0, 'b'), ('r1', 1, 'a'), ('r2', 0, 'a');
             INSERT INTO release_dependencies VALUES ('r2', 0, 'r1');",
        )
        .unwrap();
        super::migrations().to_latest(&mut conn).unwrap();
        let lists: Vec<(String, String, String)> = conn
            .prepare("SELECT id, services_json, depends_json FROM releases ORDER BY id")
            .unwrap()
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        assert_eq!(
            lists,
            [
                ("r1".into(), r#"["b","a"]"#.into(), "[]".into()),
                ("r2".into(), r#"["a"]"#.into(), r#"["r1"]"#.into())
            ]
        );
    }

    #[test]
    fn version_12_keeps_the_tokens_and_takes_feed_tokens() {
        use rusqlite::Connection;
        let mut conn = Connection::open_in_memory().unwrap();
        super::migrations().to_version(&mut conn, 11).unwrap();
        conn.execute_batch(
            "INSERT INTO server_tokens VALUES ('h1', 'ana', 'admin', '2026-01-01T00:00:00Z');",
        )
        .unwrap();
        assert!(conn
            .execute_batch("INSERT INTO server_tokens VALUES ('h2', 'cal', 'feed', 'x');")
            .is_err());
        super::migrations().to_version(&mut conn, 12).unwrap();
        conn.execute_batch("INSERT INTO server_tokens VALUES ('h2', 'cal', 'feed', 'x');")
            .unwrap();
        let rows: Vec<(String, String)> = conn
            .prepare("SELECT user_name, role FROM server_tokens ORDER BY token_sha256")
            .unwrap()
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        assert_eq!(
            rows,
            [
                ("ana".into(), "admin".into()),
                ("cal".into(), "feed".into())
            ]
        );
        assert!(conn
            .execute_batch("INSERT INTO server_tokens VALUES ('h3', 'x', 'root', 'x');")
            .is_err());
        // Version 13 adds when each expires and was last used, and keeps them.
        super::migrations().to_latest(&mut conn).unwrap();
        let kept: i64 = conn
            .prepare_cached("SELECT count(*) FROM server_tokens WHERE expires_at IS NULL AND last_used_at IS NULL")
            .unwrap()
            .query_row([],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(kept, 2);
    }
}
