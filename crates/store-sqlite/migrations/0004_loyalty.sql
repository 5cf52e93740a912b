-- Frontol loyalty: clients, cards, the bonus ledger, idempotent request records and the audit log (issue 5).
-- Money is integer minor units; times are Unix milliseconds.

-- A client with its running sums: balance = Σ entries' balance_delta, held = Σ held_delta
-- (checked by loyalty_check_ledger). `version` increases with every entry (optimistic lock).
CREATE TABLE loyalty_clients (
    tenant_id            TEXT NOT NULL REFERENCES tenants(id),
    id                   TEXT NOT NULL,
    name                 TEXT NOT NULL,
    phone                TEXT,
    email                TEXT,
    blocked              INTEGER NOT NULL,
    requires_validation  INTEGER NOT NULL,
    balance_minor        INTEGER NOT NULL DEFAULT 0,
    held_minor           INTEGER NOT NULL DEFAULT 0,
    version              INTEGER NOT NULL DEFAULT 0,
    created_at           INTEGER NOT NULL,
    updated_at           INTEGER NOT NULL,
    PRIMARY KEY (tenant_id, id)
) STRICT;
-- No partial indexes in this context: SQLite re-prepares every statement whose bound values
-- could decide whether a partial index applies, on every execution.
CREATE UNIQUE INDEX loyalty_clients_phone ON loyalty_clients(tenant_id, phone);

CREATE TABLE loyalty_cards (
    tenant_id  TEXT NOT NULL,
    card       TEXT NOT NULL,
    client_id  TEXT NOT NULL,
    PRIMARY KEY (tenant_id, card),
    FOREIGN KEY (tenant_id, client_id) REFERENCES loyalty_clients(tenant_id, id)
) STRICT;
CREATE INDEX loyalty_cards_client ON loyalty_cards(tenant_id, client_id, card);

CREATE TABLE loyalty_entries (
    seq            INTEGER PRIMARY KEY,
    tenant_id      TEXT NOT NULL,
    client_id      TEXT NOT NULL,
    kind           TEXT NOT NULL,
    amount_minor   INTEGER NOT NULL,
    balance_delta  INTEGER NOT NULL,
    held_delta     INTEGER NOT NULL,
    available_at   INTEGER NOT NULL,
    doc_uid        TEXT,
    note           TEXT NOT NULL,
    created_at     INTEGER NOT NULL
) STRICT;
CREATE INDEX loyalty_entries_client ON loyalty_entries(tenant_id, client_id, seq);
CREATE INDEX loyalty_entries_pending ON loyalty_entries(tenant_id, client_id, kind, available_at);

CREATE TABLE loyalty_documents (
    tenant_id      TEXT NOT NULL,
    uid            TEXT NOT NULL,
    doc_type       TEXT NOT NULL,
    client_id      TEXT,
    fingerprint    TEXT NOT NULL,
    state          TEXT NOT NULL,
    reference_uid  TEXT,
    response       TEXT NOT NULL,
    data           TEXT NOT NULL,
    flagged        INTEGER NOT NULL,
    created_at     INTEGER NOT NULL,
    updated_at     INTEGER NOT NULL,
    PRIMARY KEY (tenant_id, uid, doc_type)
) STRICT;
CREATE INDEX loyalty_documents_ref ON loyalty_documents(tenant_id, reference_uid, created_at);
CREATE INDEX loyalty_documents_created ON loyalty_documents(tenant_id, created_at);

CREATE TABLE loyalty_holds (
    id            INTEGER PRIMARY KEY,
    tenant_id     TEXT NOT NULL,
    uid           TEXT NOT NULL,
    client_id     TEXT NOT NULL,
    amount_minor  INTEGER NOT NULL,
    fingerprint   TEXT NOT NULL,
    response      TEXT NOT NULL,
    state         TEXT NOT NULL,
    created_at    INTEGER NOT NULL,
    updated_at    INTEGER NOT NULL
) STRICT;
CREATE INDEX loyalty_holds_uid ON loyalty_holds(tenant_id, uid);
CREATE INDEX loyalty_holds_active ON loyalty_holds(state, created_at);

CREATE TABLE loyalty_codes (
    tenant_id   TEXT NOT NULL,
    uid         TEXT NOT NULL,
    phone       TEXT NOT NULL,
    code        TEXT NOT NULL,
    expires_at  INTEGER NOT NULL,
    PRIMARY KEY (tenant_id, uid, phone)
) STRICT;

CREATE TABLE loyalty_audit (
    id           INTEGER PRIMARY KEY,
    tenant_id    TEXT NOT NULL,
    received_at  INTEGER NOT NULL,
    path         TEXT NOT NULL,
    action       TEXT,
    uid          TEXT,
    request      TEXT NOT NULL,
    code         INTEGER NOT NULL,
    response     TEXT NOT NULL,
    flagged      INTEGER NOT NULL,
    note         TEXT NOT NULL
) STRICT;
CREATE INDEX loyalty_audit_tenant ON loyalty_audit(tenant_id, id);
CREATE INDEX loyalty_audit_uid ON loyalty_audit(tenant_id, uid);
