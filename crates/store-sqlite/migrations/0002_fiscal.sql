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
    last_seq     INTEGER NOT NULL,
    last_hash    TEXT NOT NULL,
    updated_at   INTEGER NOT NULL
) STRICT;

-- Append-only: rows are never updated except `pending`/`delivered_at` (OFD acknowledgement).
-- `doc` holds the canonical bytes the fiscal sign and `hash` cover.
CREATE TABLE fiscal_journal (
    register_id     TEXT NOT NULL REFERENCES fiscal_registers(register_id),
    seq             INTEGER NOT NULL,
    kind            TEXT NOT NULL,
    fiscal          INTEGER NOT NULL,
    number          INTEGER NOT NULL,
    shift_number    INTEGER NOT NULL,
    receipt_number  INTEGER,
    time_ms         INTEGER NOT NULL,
    total_minor     INTEGER NOT NULL,
    fiscal_sign     INTEGER NOT NULL,
    qr              TEXT,
    doc             TEXT NOT NULL,
    prev_hash       TEXT NOT NULL,
    hash            TEXT NOT NULL,
    pending         INTEGER NOT NULL,
    delivered_at    INTEGER,
    PRIMARY KEY (register_id, seq)
) STRICT, WITHOUT ROWID;
-- No document number is ever used twice on a register.
CREATE UNIQUE INDEX fiscal_journal_number ON fiscal_journal(register_id, fiscal, number);
-- The OFD outbox: pending entries in journal order.
CREATE INDEX fiscal_outbox ON fiscal_journal(register_id, seq) WHERE pending = 1;

-- External document keys (ATOL uuid, ITKassa / cash-core document ids): a keyed command is
-- registered at most once per tenant; the key points at the journal entry it produced.
CREATE TABLE fiscal_keys (
    tenant_id    TEXT NOT NULL,
    doc_key      TEXT NOT NULL,
    register_id  TEXT NOT NULL,
    seq          INTEGER NOT NULL,
    PRIMARY KEY (tenant_id, doc_key)
) STRICT, WITHOUT ROWID;
