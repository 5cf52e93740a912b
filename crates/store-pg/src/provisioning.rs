//! Provisioning tables: apply a tenant spec in one transaction, read it back.
//!
//! Same rows, checks and counts as the SQLite backend. Text is ordered with `COLLATE "C"` (byte
//! order, like SQLite) so the order does not depend on the database's locale.

use crate::db_err;
use deadpool_postgres::GenericClient;
use kassa_domain::provisioning::{RegisterProfile, RegisterRole, TenantSpec};
use kassa_store::{
    ApplyReport, Credential, Face, GroupRow, RegisterRow, RuleRow, StoreError, StoreResult, TenantRows,
    TenantSummary, TenantView,
};
use std::collections::BTreeSet;
use tokio_postgres::Row;
use tokio_postgres::types::{FromSql, ToSql};

type Params<'a> = &'a [&'a (dyn ToSql + Sync)];

fn split_list(s: &str) -> Vec<String> {
    if s.is_empty() { Vec::new() } else { s.split(',').map(str::to_owned).collect() }
}

pub(crate) async fn execute(c: &impl GenericClient, sql: &str, params: Params<'_>) -> StoreResult<u64> {
    let st = c.prepare_cached(sql).await.map_err(db_err)?;
    c.execute(&st, params).await.map_err(db_err)
}

pub(crate) async fn query(c: &impl GenericClient, sql: &str, params: Params<'_>) -> StoreResult<Vec<Row>> {
    let st = c.prepare_cached(sql).await.map_err(db_err)?;
    c.query(&st, params).await.map_err(db_err)
}

pub(crate) async fn query_opt(c: &impl GenericClient, sql: &str, params: Params<'_>) -> StoreResult<Option<Row>> {
    let st = c.prepare_cached(sql).await.map_err(db_err)?;
    c.query_opt(&st, params).await.map_err(db_err)
}

/// One column of a row; a value that does not decode means the schema is not what we expect.
pub(crate) fn col<'a, T: FromSql<'a>>(r: &'a Row, name: &str) -> StoreResult<T> {
    r.try_get(name).map_err(|e| StoreError::Corrupt(format!("column '{name}': {e}")))
}

pub(crate) fn corrupt(what: &str, value: &str) -> StoreError {
    StoreError::Corrupt(format!("stored {what} '{value}' is not known to this build"))
}

/// Deactivates the active rows of `table` for `tenant` whose key is not in `keep`.
async fn deactivate_missing(
    c: &impl GenericClient,
    table: &str,
    key_sql: &str,
    tenant: &str,
    keep: BTreeSet<String>,
    now_ms: i64,
) -> StoreResult<u64> {
    let keep: Vec<String> = keep.into_iter().collect();
    execute(
        c,
        &format!(
            "UPDATE {table} SET active = false, updated_at = $3
             WHERE tenant_id = $1 AND active AND NOT ({key_sql} = ANY($2))"
        ),
        &[&tenant, &keep, &now_ms],
    )
    .await
}

/// Runs inside the caller's transaction; the caller commits.
pub(crate) async fn apply_tenant(c: &impl GenericClient, spec: &TenantSpec, now_ms: i64) -> StoreResult<ApplyReport> {
    let rows = TenantRows::from_spec(spec);
    let t = rows.id.as_str();
    // Concurrent applies of one tenant run one after the other (the lock ends with the transaction).
    execute(c, "SELECT pg_advisory_xact_lock(hashtext('tenant:' || $1::text))", &[&t]).await?;
    let existed = query_opt(c, "SELECT 1 FROM tenants WHERE id = $1", &[&t]).await?.is_some();
    let mut changed = execute(
        c,
        "INSERT INTO tenants (id, name, created_at, updated_at) VALUES ($1, $2, $3, $3)
         ON CONFLICT (id) DO UPDATE SET name = excluded.name, updated_at = excluded.updated_at
         WHERE tenants.name IS DISTINCT FROM excluded.name",
        &[&t, &rows.name, &now_ms],
    )
    .await?;

    // Credentials: a lookup key (ATOL login, API key hash) names exactly one tenant. Two tenants
    // racing for one key are stopped by the unique index `credentials_lookup` (a conflict too).
    // Entries the spec dropped are retired first, so a key renamed within the tenant does not
    // clash with itself.
    let keep: BTreeSet<String> =
        rows.credentials.iter().map(|cr| format!("{}|{}", cr.face.as_str(), cr.name)).collect();
    changed += deactivate_missing(c, "credentials", "face || '|' || name", t, keep, now_ms).await?;
    for cr in &rows.credentials {
        let owner = query_opt(
            c,
            "SELECT tenant_id, name FROM credentials WHERE face = $1 AND lookup = $2 AND active
             AND tenant_id <> $3",
            &[&cr.face.as_str(), &cr.lookup, &t],
        )
        .await?;
        if let Some(owner) = owner {
            let (owner, name): (String, String) = (col(&owner, "tenant_id")?, col(&owner, "name")?);
            return Err(StoreError::Conflict(format!(
                "{} credential '{}' is already used by tenant '{owner}' (entry '{name}')",
                cr.face.as_str(),
                cr.name
            )));
        }
        changed += execute(
            c,
            "INSERT INTO credentials (tenant_id, face, name, lookup, secret, scope, active, updated_at)
             VALUES ($1, $2, $3, $4, $5, $6, true, $7)
             ON CONFLICT (tenant_id, face, name) DO UPDATE SET lookup = excluded.lookup,
               secret = excluded.secret, scope = excluded.scope, active = true, updated_at = excluded.updated_at
             WHERE credentials.lookup IS DISTINCT FROM excluded.lookup
               OR credentials.secret IS DISTINCT FROM excluded.secret
               OR credentials.scope IS DISTINCT FROM excluded.scope OR NOT credentials.active",
            &[&t, &cr.face.as_str(), &cr.name, &cr.lookup, &cr.secret, &cr.scope, &now_ms],
        )
        .await?;
    }

    let mut keep = BTreeSet::new();
    for g in &rows.groups {
        changed += execute(
            c,
            "INSERT INTO register_groups (tenant_id, code, inn, payment_address, sno, active, updated_at)
             VALUES ($1, $2, $3, $4, $5, true, $6)
             ON CONFLICT (tenant_id, code) DO UPDATE SET inn = excluded.inn,
               payment_address = excluded.payment_address, sno = excluded.sno, active = true,
               updated_at = excluded.updated_at
             WHERE register_groups.inn IS DISTINCT FROM excluded.inn
               OR register_groups.payment_address IS DISTINCT FROM excluded.payment_address
               OR register_groups.sno IS DISTINCT FROM excluded.sno OR NOT register_groups.active",
            &[&t, &g.code, &g.inn, &g.payment_address, &g.sno, &now_ms],
        )
        .await?;
        keep.insert(g.code.clone());
    }
    changed += deactivate_missing(c, "register_groups", "code", t, keep, now_ms).await?;

    // Registers carry fiscal history: one never moves to another tenant. The upsert leaves a row
    // of another tenant alone, and the owner is checked after it: by then a register another
    // tenant inserted concurrently is committed (the upsert waited for it) and visible.
    let mut keep = BTreeSet::new();
    for r in &rows.registers {
        changed += execute(
            c,
            "INSERT INTO registers (id, tenant_id, profile, group_code, role, fn_number, reg_number, ofd_id,
               active, created_at, updated_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, true, $9, $9)
             ON CONFLICT (id) DO UPDATE SET profile = excluded.profile, group_code = excluded.group_code,
               role = excluded.role, fn_number = excluded.fn_number, reg_number = excluded.reg_number,
               ofd_id = excluded.ofd_id, active = true, updated_at = excluded.updated_at
             WHERE registers.tenant_id = excluded.tenant_id AND (
               registers.profile IS DISTINCT FROM excluded.profile
               OR registers.group_code IS DISTINCT FROM excluded.group_code
               OR registers.role IS DISTINCT FROM excluded.role
               OR registers.fn_number IS DISTINCT FROM excluded.fn_number
               OR registers.reg_number IS DISTINCT FROM excluded.reg_number
               OR registers.ofd_id IS DISTINCT FROM excluded.ofd_id
               OR NOT registers.active)",
            &[
                &r.id,
                &t,
                &r.profile.as_str(),
                &r.group_code,
                &r.role.as_str(),
                &r.fn_number,
                &r.reg_number,
                &r.ofd_id,
                &now_ms,
            ],
        )
        .await?;
        let owner = query_opt(c, "SELECT tenant_id FROM registers WHERE id = $1", &[&r.id]).await?;
        if let Some(owner) = owner.map(|o| col::<String>(&o, "tenant_id")).transpose()?.filter(|o| o != t) {
            return Err(StoreError::Conflict(format!("register '{}' belongs to tenant '{owner}'", r.id)));
        }
        keep.insert(r.id.clone());
    }
    changed += deactivate_missing(c, "registers", "id", t, keep, now_ms).await?;

    let mut keep = BTreeSet::new();
    for r in &rows.rules {
        changed += execute(
            c,
            "INSERT INTO loyalty_rules (tenant_id, id, kind, target_kind, target, percent_bp, price_minor,
               hours, active, updated_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, true, $9)
             ON CONFLICT (tenant_id, id) DO UPDATE SET kind = excluded.kind, target_kind = excluded.target_kind,
               target = excluded.target, percent_bp = excluded.percent_bp, price_minor = excluded.price_minor,
               hours = excluded.hours, active = true, updated_at = excluded.updated_at
             WHERE loyalty_rules.kind IS DISTINCT FROM excluded.kind
               OR loyalty_rules.target_kind IS DISTINCT FROM excluded.target_kind
               OR loyalty_rules.target IS DISTINCT FROM excluded.target
               OR loyalty_rules.percent_bp IS DISTINCT FROM excluded.percent_bp
               OR loyalty_rules.price_minor IS DISTINCT FROM excluded.price_minor
               OR loyalty_rules.hours IS DISTINCT FROM excluded.hours
               OR NOT loyalty_rules.active",
            &[&t, &r.id, &r.kind, &r.target_kind, &r.target, &r.percent_bp, &r.price_minor, &r.hours, &now_ms],
        )
        .await?;
        keep.insert(r.id.clone());
    }
    changed += deactivate_missing(c, "loyalty_rules", "id", t, keep, now_ms).await?;

    // An organization feeds one tenant; a concurrent claim is stopped by `event_sources_org`.
    let mut keep = BTreeSet::new();
    for org in &rows.organizations {
        let owner = query_opt(
            c,
            "SELECT tenant_id FROM event_sources WHERE organization = $1 AND active AND tenant_id <> $2",
            &[org, &t],
        )
        .await?;
        if let Some(owner) = owner {
            let owner: String = col(&owner, "tenant_id")?;
            return Err(StoreError::Conflict(format!("event organization '{org}' belongs to tenant '{owner}'")));
        }
        changed += execute(
            c,
            "INSERT INTO event_sources (tenant_id, organization, active, updated_at) VALUES ($1, $2, true, $3)
             ON CONFLICT (tenant_id, organization) DO UPDATE SET active = true, updated_at = excluded.updated_at
             WHERE NOT event_sources.active",
            &[&t, org, &now_ms],
        )
        .await?;
        keep.insert(org.clone());
    }
    changed += deactivate_missing(c, "event_sources", "organization", t, keep, now_ms).await?;

    Ok(ApplyReport { created_tenant: !existed, changed_rows: changed })
}

const CREDENTIAL_COLUMNS: &str = "tenant_id, face, name, lookup, secret, scope, active";

fn credential_row(r: &Row) -> StoreResult<Credential> {
    let face: String = col(r, "face")?;
    let scope: String = col(r, "scope")?;
    Ok(Credential {
        tenant_id: col(r, "tenant_id")?,
        face: Face::parse(&face).ok_or_else(|| corrupt("face", &face))?,
        name: col(r, "name")?,
        lookup: col(r, "lookup")?,
        secret: col(r, "secret")?,
        scope: split_list(&scope),
        active: col(r, "active")?,
    })
}

pub(crate) async fn credential(c: &impl GenericClient, face: Face, lookup: &str) -> StoreResult<Option<Credential>> {
    query_opt(
        c,
        &format!("SELECT {CREDENTIAL_COLUMNS} FROM credentials WHERE face = $1 AND lookup = $2 AND active"),
        &[&face.as_str(), &lookup],
    )
    .await?
    .as_ref()
    .map(credential_row)
    .transpose()
}

pub(crate) async fn tenants(c: &impl GenericClient) -> StoreResult<Vec<TenantSummary>> {
    query(
        c,
        "SELECT t.id, t.name, (SELECT count(*) FROM registers r WHERE r.tenant_id = t.id AND r.active) AS registers
         FROM tenants t ORDER BY t.id COLLATE \"C\"",
        &[],
    )
    .await?
    .iter()
    .map(|r| Ok(TenantSummary { id: col(r, "id")?, name: col(r, "name")?, registers: col(r, "registers")? }))
    .collect()
}

/// Reads several tables: the caller runs it in one (repeatable read) transaction.
pub(crate) async fn tenant(c: &impl GenericClient, id: &str) -> StoreResult<Option<TenantView>> {
    let Some(row) = query_opt(c, "SELECT name FROM tenants WHERE id = $1", &[&id]).await? else {
        return Ok(None);
    };
    let name: String = col(&row, "name")?;
    let credentials = query(
        c,
        &format!(
            "SELECT {CREDENTIAL_COLUMNS} FROM credentials WHERE tenant_id = $1
             ORDER BY face COLLATE \"C\", name COLLATE \"C\""
        ),
        &[&id],
    )
    .await?
    .iter()
    .map(credential_row)
    .collect::<StoreResult<_>>()?;
    let groups = query(
        c,
        "SELECT code, inn, payment_address, sno, active FROM register_groups WHERE tenant_id = $1
         ORDER BY code COLLATE \"C\"",
        &[&id],
    )
    .await?
    .iter()
    .map(|r| {
        Ok(GroupRow {
            code: col(r, "code")?,
            inn: col(r, "inn")?,
            payment_address: col(r, "payment_address")?,
            sno: col(r, "sno")?,
            active: col(r, "active")?,
        })
    })
    .collect::<StoreResult<_>>()?;
    let registers = query(
        c,
        "SELECT id, profile, group_code, role, fn_number, reg_number, ofd_id, active FROM registers
         WHERE tenant_id = $1 ORDER BY id COLLATE \"C\"",
        &[&id],
    )
    .await?
    .iter()
    .map(|r| {
        let profile: String = col(r, "profile")?;
        let role: String = col(r, "role")?;
        Ok(RegisterRow {
            id: col(r, "id")?,
            profile: RegisterProfile::parse(&profile).ok_or_else(|| corrupt("profile", &profile))?,
            group_code: col(r, "group_code")?,
            role: RegisterRole::parse(&role).ok_or_else(|| corrupt("role", &role))?,
            fn_number: col(r, "fn_number")?,
            reg_number: col(r, "reg_number")?,
            ofd_id: col(r, "ofd_id")?,
            active: col(r, "active")?,
        })
    })
    .collect::<StoreResult<_>>()?;
    let rules = query(
        c,
        "SELECT id, kind, target_kind, target, percent_bp, price_minor, hours, active FROM loyalty_rules
         WHERE tenant_id = $1 ORDER BY id COLLATE \"C\"",
        &[&id],
    )
    .await?
    .iter()
    .map(|r| {
        Ok(RuleRow {
            id: col(r, "id")?,
            kind: col(r, "kind")?,
            target_kind: col(r, "target_kind")?,
            target: col(r, "target")?,
            percent_bp: col(r, "percent_bp")?,
            price_minor: col(r, "price_minor")?,
            hours: col(r, "hours")?,
            active: col(r, "active")?,
        })
    })
    .collect::<StoreResult<_>>()?;
    let organizations = query(
        c,
        "SELECT organization, active FROM event_sources WHERE tenant_id = $1 ORDER BY organization COLLATE \"C\"",
        &[&id],
    )
    .await?
    .iter()
    .map(|r| Ok((col(r, "organization")?, col(r, "active")?)))
    .collect::<StoreResult<_>>()?;
    Ok(Some(TenantView { id: id.to_owned(), name, credentials, groups, registers, rules, organizations }))
}
