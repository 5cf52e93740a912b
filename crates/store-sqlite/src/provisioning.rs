//! Provisioning tables: apply a tenant spec in one transaction, read it back.

use crate::db_err;
use kassa_domain::provisioning::{RegisterProfile, RegisterRole, TenantSpec};
use kassa_store::{
    ApplyReport, Credential, Face, GroupRow, RegisterRow, RuleRow, StoreError, StoreResult, TenantRows,
    TenantSummary, TenantView,
};
use rusqlite::{Connection, OptionalExtension, params};
use std::collections::BTreeSet;

fn split_list(s: &str) -> Vec<String> {
    if s.is_empty() { Vec::new() } else { s.split(',').map(str::to_owned).collect() }
}

/// Deactivates the active rows of `table` for `tenant` whose key is not in `keep`.
fn deactivate_missing(
    c: &Connection,
    table: &str,
    key_sql: &str,
    tenant: &str,
    keep: &BTreeSet<String>,
    now_ms: i64,
) -> StoreResult<u64> {
    let active: Vec<String> = {
        let mut st = c
            .prepare_cached(&format!("SELECT {key_sql} FROM {table} WHERE tenant_id = ?1 AND active = 1"))
            .map_err(db_err)?;
        st.query_map([tenant], |r| r.get(0)).map_err(db_err)?.collect::<Result<_, _>>().map_err(db_err)?
    };
    let mut changed = 0;
    for key in active.iter().filter(|k| !keep.contains(*k)) {
        changed += c
            .prepare_cached(&format!(
                "UPDATE {table} SET active = 0, updated_at = ?3 WHERE tenant_id = ?1 AND {key_sql} = ?2"
            ))
            .map_err(db_err)?
            .execute(params![tenant, key, now_ms])
            .map_err(db_err)? as u64;
    }
    Ok(changed)
}

pub(crate) fn apply_tenant(c: &Connection, spec: &TenantSpec, now_ms: i64) -> StoreResult<ApplyReport> {
    let rows = TenantRows::from_spec(spec);
    let t = rows.id.as_str();
    let existed: bool =
        c.query_row("SELECT 1 FROM tenants WHERE id = ?1", [t], |_| Ok(())).optional().map_err(db_err)?.is_some();
    let mut changed = c
        .execute(
            "INSERT INTO tenants (id, name, created_at, updated_at) VALUES (?1, ?2, ?3, ?3)
             ON CONFLICT(id) DO UPDATE SET name = excluded.name, updated_at = excluded.updated_at
             WHERE tenants.name IS NOT excluded.name",
            params![t, rows.name, now_ms],
        )
        .map_err(db_err)? as u64;

    // Credentials: a lookup key (ATOL login, API key hash) names exactly one tenant. Entries the
    // spec dropped are retired first, so a key renamed within the tenant does not clash with itself.
    let keep: BTreeSet<String> =
        rows.credentials.iter().map(|cr| format!("{}|{}", cr.face.as_str(), cr.name)).collect();
    changed += deactivate_missing(c, "credentials", "face || '|' || name", t, &keep, now_ms)?;
    for cr in &rows.credentials {
        let owner: Option<(String, String)> = c
            .query_row(
                "SELECT tenant_id, name FROM credentials WHERE face = ?1 AND lookup = ?2 AND active = 1
                 AND tenant_id <> ?3",
                params![cr.face.as_str(), cr.lookup, t],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()
            .map_err(db_err)?;
        if let Some((owner, name)) = owner {
            return Err(StoreError::Conflict(format!(
                "{} credential '{}' is already used by tenant '{owner}' (entry '{name}')",
                cr.face.as_str(),
                cr.name
            )));
        }
        changed += c
            .prepare_cached(
                "INSERT INTO credentials (tenant_id, face, name, lookup, secret, scope, active, updated_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, 1, ?7)
                 ON CONFLICT(tenant_id, face, name) DO UPDATE SET lookup = excluded.lookup,
                   secret = excluded.secret, scope = excluded.scope, active = 1, updated_at = excluded.updated_at
                 WHERE credentials.lookup IS NOT excluded.lookup OR credentials.secret IS NOT excluded.secret
                   OR credentials.scope IS NOT excluded.scope OR credentials.active = 0",
            )
            .map_err(db_err)?
            .execute(params![t, cr.face.as_str(), cr.name, cr.lookup, cr.secret, cr.scope, now_ms])
            .map_err(db_err)? as u64;
    }

    let mut keep = BTreeSet::new();
    for g in &rows.groups {
        changed += c
            .prepare_cached(
                "INSERT INTO register_groups (tenant_id, code, inn, payment_address, sno, active, updated_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, 1, ?6)
                 ON CONFLICT(tenant_id, code) DO UPDATE SET inn = excluded.inn,
                   payment_address = excluded.payment_address, sno = excluded.sno, active = 1,
                   updated_at = excluded.updated_at
                 WHERE register_groups.inn IS NOT excluded.inn
                   OR register_groups.payment_address IS NOT excluded.payment_address
                   OR register_groups.sno IS NOT excluded.sno OR register_groups.active = 0",
            )
            .map_err(db_err)?
            .execute(params![t, g.code, g.inn, g.payment_address, g.sno, now_ms])
            .map_err(db_err)? as u64;
        keep.insert(g.code.clone());
    }
    changed += deactivate_missing(c, "register_groups", "code", t, &keep, now_ms)?;

    // Registers carry fiscal history: one never moves to another tenant.
    let mut keep = BTreeSet::new();
    for r in &rows.registers {
        let owner: Option<String> = c
            .query_row("SELECT tenant_id FROM registers WHERE id = ?1", [&r.id], |row| row.get(0))
            .optional()
            .map_err(db_err)?;
        if let Some(owner) = owner.filter(|o| o != t) {
            return Err(StoreError::Conflict(format!("register '{}' belongs to tenant '{owner}'", r.id)));
        }
        changed += c
            .prepare_cached(
                "INSERT INTO registers (id, tenant_id, profile, group_code, role, fn_number, reg_number, ofd_id,
                   active, created_at, updated_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, 1, ?9, ?9)
                 ON CONFLICT(id) DO UPDATE SET profile = excluded.profile, group_code = excluded.group_code,
                   role = excluded.role, fn_number = excluded.fn_number, reg_number = excluded.reg_number,
                   ofd_id = excluded.ofd_id, active = 1, updated_at = excluded.updated_at
                 WHERE registers.profile IS NOT excluded.profile OR registers.group_code IS NOT excluded.group_code
                   OR registers.role IS NOT excluded.role OR registers.fn_number IS NOT excluded.fn_number
                   OR registers.reg_number IS NOT excluded.reg_number OR registers.ofd_id IS NOT excluded.ofd_id
                   OR registers.active = 0",
            )
            .map_err(db_err)?
            .execute(params![
                r.id,
                t,
                r.profile.as_str(),
                r.group_code,
                r.role.as_str(),
                r.fn_number,
                r.reg_number,
                r.ofd_id,
                now_ms
            ])
            .map_err(db_err)? as u64;
        keep.insert(r.id.clone());
    }
    changed += deactivate_missing(c, "registers", "id", t, &keep, now_ms)?;

    let mut keep = BTreeSet::new();
    for r in &rows.rules {
        changed += c
            .prepare_cached(
                "INSERT INTO loyalty_rules (tenant_id, id, kind, target_kind, target, percent_bp, price_minor,
                   hours, active, updated_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, 1, ?9)
                 ON CONFLICT(tenant_id, id) DO UPDATE SET kind = excluded.kind, target_kind = excluded.target_kind,
                   target = excluded.target, percent_bp = excluded.percent_bp, price_minor = excluded.price_minor,
                   hours = excluded.hours, active = 1, updated_at = excluded.updated_at
                 WHERE loyalty_rules.kind IS NOT excluded.kind OR loyalty_rules.target_kind IS NOT excluded.target_kind
                   OR loyalty_rules.target IS NOT excluded.target OR loyalty_rules.percent_bp IS NOT excluded.percent_bp
                   OR loyalty_rules.price_minor IS NOT excluded.price_minor OR loyalty_rules.hours IS NOT excluded.hours
                   OR loyalty_rules.active = 0",
            )
            .map_err(db_err)?
            .execute(params![t, r.id, r.kind, r.target_kind, r.target, r.percent_bp, r.price_minor, r.hours, now_ms])
            .map_err(db_err)? as u64;
        keep.insert(r.id.clone());
    }
    changed += deactivate_missing(c, "loyalty_rules", "id", t, &keep, now_ms)?;

    let mut keep = BTreeSet::new();
    for org in &rows.organizations {
        let owner: Option<String> = c
            .query_row(
                "SELECT tenant_id FROM event_sources WHERE organization = ?1 AND active = 1 AND tenant_id <> ?2",
                params![org, t],
                |r| r.get(0),
            )
            .optional()
            .map_err(db_err)?;
        if let Some(owner) = owner {
            return Err(StoreError::Conflict(format!("event organization '{org}' belongs to tenant '{owner}'")));
        }
        changed += c
            .prepare_cached(
                "INSERT INTO event_sources (tenant_id, organization, active, updated_at) VALUES (?1, ?2, 1, ?3)
                 ON CONFLICT(tenant_id, organization) DO UPDATE SET active = 1, updated_at = excluded.updated_at
                 WHERE event_sources.active = 0",
            )
            .map_err(db_err)?
            .execute(params![t, org, now_ms])
            .map_err(db_err)? as u64;
        keep.insert(org.clone());
    }
    changed += deactivate_missing(c, "event_sources", "organization", t, &keep, now_ms)?;

    Ok(ApplyReport { created_tenant: !existed, changed_rows: changed })
}

fn corrupt(what: &str, value: &str) -> rusqlite::Error {
    let msg = format!("stored {what} '{value}' is not known to this build");
    rusqlite::Error::FromSqlConversionFailure(0, rusqlite::types::Type::Text, msg.into())
}

fn credential_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<Credential> {
    let face: String = r.get("face")?;
    let scope: String = r.get("scope")?;
    Ok(Credential {
        tenant_id: r.get("tenant_id")?,
        face: Face::parse(&face).ok_or_else(|| corrupt("face", &face))?,
        name: r.get("name")?,
        lookup: r.get("lookup")?,
        secret: r.get("secret")?,
        scope: split_list(&scope),
        active: r.get("active")?,
    })
}

pub(crate) fn credential(c: &Connection, face: Face, lookup: &str) -> StoreResult<Option<Credential>> {
    c.prepare_cached("SELECT * FROM credentials WHERE face = ?1 AND lookup = ?2 AND active = 1")
        .map_err(db_err)?
        .query_row(params![face.as_str(), lookup], credential_row)
        .optional()
        .map_err(db_err)
}

pub(crate) fn tenants(c: &Connection) -> StoreResult<Vec<TenantSummary>> {
    let mut st = c
        .prepare_cached(
            "SELECT t.id, t.name, (SELECT count(*) FROM registers r WHERE r.tenant_id = t.id AND r.active = 1)
             FROM tenants t ORDER BY t.id",
        )
        .map_err(db_err)?;
    st.query_map([], |r| Ok(TenantSummary { id: r.get(0)?, name: r.get(1)?, registers: r.get(2)? }))
        .map_err(db_err)?
        .collect::<Result<_, _>>()
        .map_err(db_err)
}

/// Reads all tables of one tenant in one read transaction, so a concurrent apply is seen whole or
/// not at all.
pub(crate) fn tenant(c: &Connection, id: &str) -> StoreResult<Option<TenantView>> {
    c.execute_batch("BEGIN").map_err(db_err)?;
    let view = tenant_in_snapshot(c, id);
    c.execute_batch("COMMIT").map_err(db_err)?;
    view
}

fn tenant_in_snapshot(c: &Connection, id: &str) -> StoreResult<Option<TenantView>> {
    let Some(name) = c
        .query_row("SELECT name FROM tenants WHERE id = ?1", [id], |r| r.get::<_, String>(0))
        .optional()
        .map_err(db_err)?
    else {
        return Ok(None);
    };
    let all = |sql: &str| c.prepare(sql).map_err(db_err);
    let credentials = all("SELECT * FROM credentials WHERE tenant_id = ?1 ORDER BY face, name")?
        .query_map([id], credential_row)
        .map_err(db_err)?
        .collect::<Result<_, _>>()
        .map_err(db_err)?;
    let groups = all("SELECT * FROM register_groups WHERE tenant_id = ?1 ORDER BY code")?
        .query_map([id], |r| {
            Ok(GroupRow {
                code: r.get("code")?,
                inn: r.get("inn")?,
                payment_address: r.get("payment_address")?,
                sno: r.get("sno")?,
                active: r.get("active")?,
            })
        })
        .map_err(db_err)?
        .collect::<Result<_, _>>()
        .map_err(db_err)?;
    let registers = all("SELECT * FROM registers WHERE tenant_id = ?1 ORDER BY id")?
        .query_map([id], |r| {
            let profile: String = r.get("profile")?;
            let role: String = r.get("role")?;
            Ok(RegisterRow {
                id: r.get("id")?,
                profile: RegisterProfile::parse(&profile).ok_or_else(|| corrupt("profile", &profile))?,
                group_code: r.get("group_code")?,
                role: RegisterRole::parse(&role).ok_or_else(|| corrupt("role", &role))?,
                fn_number: r.get("fn_number")?,
                reg_number: r.get("reg_number")?,
                ofd_id: r.get("ofd_id")?,
                active: r.get("active")?,
            })
        })
        .map_err(db_err)?
        .collect::<Result<_, _>>()
        .map_err(db_err)?;
    let rules = all("SELECT * FROM loyalty_rules WHERE tenant_id = ?1 ORDER BY id")?
        .query_map([id], |r| {
            Ok(RuleRow {
                id: r.get("id")?,
                kind: r.get("kind")?,
                target_kind: r.get("target_kind")?,
                target: r.get("target")?,
                percent_bp: r.get("percent_bp")?,
                price_minor: r.get("price_minor")?,
                hours: r.get("hours")?,
                active: r.get("active")?,
            })
        })
        .map_err(db_err)?
        .collect::<Result<_, _>>()
        .map_err(db_err)?;
    let organizations = all("SELECT organization, active FROM event_sources WHERE tenant_id = ?1 ORDER BY organization")?
        .query_map([id], |r| Ok((r.get(0)?, r.get(1)?)))
        .map_err(db_err)?
        .collect::<Result<_, _>>()
        .map_err(db_err)?;
    Ok(Some(TenantView { id: id.to_owned(), name, credentials, groups, registers, rules, organizations }))
}
