-- Frontol event collector (frontol-events.md): every event as received and normalised, one row
-- each, deduplicated by content key (EVT-39). Times are Unix milliseconds (UTC).
CREATE TABLE events (
    id             BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,  -- grows with arrival (EVT-40)
    dedup_key      TEXT NOT NULL UNIQUE,
    tenant_id      TEXT NOT NULL,                 -- '' when no tenant declares the organization
    batch_code     TEXT NOT NULL,                 -- the response code of the request (EVT-5)
    received_at    BIGINT NOT NULL,
    position       INTEGER NOT NULL,
    organization   TEXT NOT NULL,
    business_unit  TEXT NOT NULL,
    work_place     TEXT NOT NULL,
    group_id       TEXT NOT NULL,
    event          TEXT NOT NULL,
    event_group    TEXT NOT NULL,
    occurred_at    BIGINT NOT NULL,
    raw            TEXT NOT NULL,                 -- the event object as received (EVT-37)
    fields         TEXT NOT NULL,                 -- normalised fields, JSON object
    warnings       TEXT NOT NULL,                 -- JSON array of texts
    flags          TEXT NOT NULL                  -- JSON array of loss-prevention rule ids
);
CREATE INDEX events_time ON events (occurred_at, id);
CREATE INDEX events_tenant_time ON events (tenant_id, occurred_at, id);
CREATE INDEX events_group ON events (group_id, work_place);

-- Loss-prevention rules a tenant switched off (all others run).
CREATE TABLE event_rules_disabled (
    tenant_id   TEXT NOT NULL REFERENCES tenants(id),
    rule        TEXT NOT NULL,
    updated_at  BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, rule)
);
