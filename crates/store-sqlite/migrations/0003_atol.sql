-- ATOL Online v3: tokens, accepted documents and their per-group queue, reports, the callback outbox (issue 4).
-- Times are Unix milliseconds.
CREATE TABLE atol_tokens (
    token       TEXT PRIMARY KEY,
    tenant_id   TEXT NOT NULL,
    login       TEXT NOT NULL,
    issued_at   INTEGER NOT NULL
) STRICT;
-- The token getToken returns again within 23 hours (ATOL-39).
CREATE TABLE atol_current_tokens (
    tenant_id   TEXT NOT NULL,
    login       TEXT NOT NULL,
    token       TEXT NOT NULL REFERENCES atol_tokens(token),
    PRIMARY KEY (tenant_id, login)
) STRICT;

-- Accepted documents (queued → in_progress → done | failed) and rejected requests (ATOL-50).
CREATE TABLE atol_documents (
    uuid          TEXT PRIMARY KEY,
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
-- ATOL-71: unique per group among accepted documents (rejected rows have NULL).
CREATE UNIQUE INDEX atol_documents_external ON atol_documents(tenant_id, group_code, external_id);
-- The per-group FIFO queue (ATOL-5; a new or re-queued document takes the group's max + 1) and
-- the timeout scan (ATOL-81). Listings go newest first by rowid.
CREATE INDEX atol_documents_queue ON atol_documents(tenant_id, group_code, queue_seq) WHERE state = 'queued';
CREATE INDEX atol_documents_queued_at ON atol_documents(queued_at) WHERE state = 'queued';
CREATE INDEX atol_documents_in_progress ON atol_documents(updated_at) WHERE state = 'in_progress';

-- The callback outbox (ATOL-76..78): one row per final document with a callback URL.
CREATE TABLE atol_callbacks (
    uuid         TEXT PRIMARY KEY REFERENCES atol_documents(uuid),
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
CREATE INDEX atol_callbacks_due ON atol_callbacks(next_at) WHERE state = 'pending';
CREATE INDEX atol_callbacks_created ON atol_callbacks(created_at);
