-- The ATOL acceptance log (issue 4, speed): an accepted registration is appended here, with no
-- random-key index, so acknowledging it writes about one row's worth of pages. The writer folds
-- these rows into atol_documents (with its uuid and external_id indexes) in large chunks when it
-- is idle or the log grows long; until then the store finds them through keys it keeps in
-- memory (rebuilt from this table at open). Same columns, in the same order, as atol_documents.
CREATE TABLE atol_intake (
    uuid          TEXT NOT NULL,
    tenant_id     TEXT NOT NULL,
    group_code    TEXT NOT NULL,
    operation     TEXT NOT NULL,
    external_id   TEXT,
    state         TEXT NOT NULL,
    timestamp     TEXT NOT NULL,
    callback_url  TEXT NOT NULL,
    body          TEXT NOT NULL,
    error_code    INTEGER,
    error_text    TEXT,
    error_type    TEXT,
    daemon_code   TEXT NOT NULL DEFAULT '',
    device_code   TEXT NOT NULL DEFAULT '',
    payload       TEXT,
    attempts      INTEGER NOT NULL DEFAULT 0,
    accepted_at   INTEGER NOT NULL,
    queued_at     INTEGER NOT NULL,
    queue_seq     INTEGER NOT NULL,
    updated_at    INTEGER NOT NULL
) STRICT;
-- The queue indexes of atol_documents; their keys grow with time, so appends stay cheap.
CREATE INDEX atol_intake_queue ON atol_intake(tenant_id, group_code, queue_seq) WHERE state = 'queued';
CREATE INDEX atol_intake_queued_at ON atol_intake(queued_at) WHERE state = 'queued';
CREATE INDEX atol_intake_in_progress ON atol_intake(updated_at) WHERE state = 'in_progress';

-- A callback row may now belong to a document still in the log: the outbox loses its foreign key.
CREATE TABLE atol_callbacks_new (
    uuid         TEXT PRIMARY KEY,
    tenant_id    TEXT NOT NULL,
    group_code   TEXT NOT NULL,
    url          TEXT NOT NULL,
    body         TEXT NOT NULL,
    state        TEXT NOT NULL,
    attempts     INTEGER NOT NULL DEFAULT 0,
    next_at      INTEGER NOT NULL,
    last_status  INTEGER,
    last_error   TEXT,
    created_at   INTEGER NOT NULL,
    updated_at   INTEGER NOT NULL
) STRICT;
INSERT INTO atol_callbacks_new SELECT * FROM atol_callbacks;
DROP TABLE atol_callbacks;
ALTER TABLE atol_callbacks_new RENAME TO atol_callbacks;
CREATE INDEX atol_callbacks_due ON atol_callbacks(next_at) WHERE state = 'pending';
CREATE INDEX atol_callbacks_created ON atol_callbacks(created_at);
