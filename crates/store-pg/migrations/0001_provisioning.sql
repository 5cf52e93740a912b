-- Tenants and what is provisioned for them. Rows are never deleted: `active` = false retires them.
-- Times are Unix milliseconds; money is integer minor units.
CREATE TABLE tenants (
    id          TEXT PRIMARY KEY,
    name        TEXT NOT NULL,
    created_at  BIGINT NOT NULL,
    updated_at  BIGINT NOT NULL
);

CREATE TABLE credentials (
    tenant_id   TEXT NOT NULL REFERENCES tenants(id),
    face        TEXT NOT NULL,
    name        TEXT NOT NULL,
    lookup      TEXT NOT NULL,
    secret      TEXT NOT NULL,
    scope       TEXT NOT NULL,
    active      BOOLEAN NOT NULL,
    updated_at  BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, face, name)
);
CREATE UNIQUE INDEX credentials_lookup ON credentials(face, lookup) WHERE active;

CREATE TABLE register_groups (
    tenant_id        TEXT NOT NULL REFERENCES tenants(id),
    code             TEXT NOT NULL,
    inn              TEXT NOT NULL,
    payment_address  TEXT NOT NULL,
    sno              TEXT NOT NULL,
    active           BOOLEAN NOT NULL,
    updated_at       BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, code)
);

CREATE TABLE registers (
    id          TEXT PRIMARY KEY,
    tenant_id   TEXT NOT NULL REFERENCES tenants(id),
    profile     TEXT NOT NULL,
    group_code  TEXT,
    role        TEXT NOT NULL,
    fn_number   TEXT,
    reg_number  TEXT,
    ofd_id      TEXT,
    active      BOOLEAN NOT NULL,
    created_at  BIGINT NOT NULL,
    updated_at  BIGINT NOT NULL
);
CREATE INDEX registers_tenant ON registers(tenant_id);

CREATE TABLE loyalty_rules (
    tenant_id    TEXT NOT NULL REFERENCES tenants(id),
    id           TEXT NOT NULL,
    kind         TEXT NOT NULL,
    target_kind  TEXT,
    target       TEXT,
    percent_bp   BIGINT,
    price_minor  BIGINT,
    hours        BIGINT,
    active       BOOLEAN NOT NULL,
    updated_at   BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, id)
);

CREATE TABLE event_sources (
    tenant_id     TEXT NOT NULL REFERENCES tenants(id),
    organization  TEXT NOT NULL,
    active        BOOLEAN NOT NULL,
    updated_at    BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, organization)
);
CREATE UNIQUE INDEX event_sources_org ON event_sources(organization) WHERE active;
