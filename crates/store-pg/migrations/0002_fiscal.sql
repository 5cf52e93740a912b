-- Fiscal registers: register state, the hash-chained journal (= documents) and the OFD outbox.
-- Times are Unix milliseconds; money is integer minor units.

-- One row per register that has issued a document, created on first use. `state` is the JSON of
-- the profile's register state (numbers, shift, drawer, counters); `secret` is the per-FN HMAC
-- key of the fiscal signs (hex); `last_seq`/`last_hash` are the journal's tip.
CREATE TABLE fiscal_registers (
    register_id  TEXT PRIMARY KEY REFERENCES registers(id),
    profile      TEXT NOT NULL,
    secret       TEXT NOT NULL,
    state        TEXT NOT NULL,
    last_seq     BIGINT NOT NULL,
    last_hash    TEXT NOT NULL,
    updated_at   BIGINT NOT NULL
);

-- Append-only: rows are never updated except `pending`/`delivered_at` (OFD acknowledgement).
-- `doc` holds the canonical bytes the fiscal sign and `hash` cover.
CREATE TABLE fiscal_journal (
    register_id     TEXT NOT NULL REFERENCES fiscal_registers(register_id),
    seq             BIGINT NOT NULL,
    kind            TEXT NOT NULL,
    fiscal          BOOLEAN NOT NULL,
    number          BIGINT NOT NULL,
    shift_number    BIGINT NOT NULL,
    receipt_number  BIGINT,
    time_ms         BIGINT NOT NULL,
    total_minor     BIGINT NOT NULL,
    fiscal_sign     BIGINT NOT NULL,
    qr              TEXT,
    doc             TEXT NOT NULL,
    prev_hash       TEXT NOT NULL,
    hash            TEXT NOT NULL,
    pending         BOOLEAN NOT NULL,
    delivered_at    BIGINT,
    PRIMARY KEY (register_id, seq)
);
-- No document number is ever used twice on a register.
CREATE UNIQUE INDEX fiscal_journal_number ON fiscal_journal(register_id, fiscal, number);
-- The OFD outbox: pending entries in journal order.
CREATE INDEX fiscal_outbox ON fiscal_journal(register_id, seq) WHERE pending;

-- External document keys (ATOL uuid, ITKassa / cash-core document ids): a keyed command is
-- registered at most once per tenant; the key points at the journal entry it produced.
CREATE TABLE fiscal_keys (
    tenant_id    TEXT NOT NULL,
    doc_key      TEXT NOT NULL,
    register_id  TEXT NOT NULL,
    seq          BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, doc_key)
);
