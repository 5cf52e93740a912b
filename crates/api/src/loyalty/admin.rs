//! Admin routes of the loyalty context under `/api/tenants/{id}/loyalty/…`: clients and cards,
//! balances, manual adjustments, rules, documents, ledger entries, the audit log of every
//! protocol request (LOY-56) and a ledger check. Documented in `openapi/loyalty.json`.

use crate::ApiState;
use crate::admin::{Admin, AdminError, AdminJson};
use axum::extract::{Path, Query, State};
use axum::routing::{get, post};
use axum::{Json, Router};
use kassa_domain::loyalty::wire::normalise_phone;
use kassa_domain::provisioning::{LoyaltyRule, check_id};
use kassa_money::Money;
use kassa_store::loyalty::{AuditFilter, AuditRecord, ClientRow, ClientState, DocRow, EntryRow};
use serde::Deserialize;
use serde_json::{Value, json};

const MAX_LIMIT: u32 = 1_000;

pub fn router() -> Router<ApiState> {
    Router::new()
        .route("/tenants/{id}/loyalty/clients", get(list_clients).put(put_client))
        .route("/tenants/{id}/loyalty/entries", get(entries))
        .route("/tenants/{id}/loyalty/adjustments", post(adjust))
        .route("/tenants/{id}/loyalty/rules", get(rules))
        .route("/tenants/{id}/loyalty/documents", get(documents))
        .route("/tenants/{id}/loyalty/audit", get(audit))
        .route("/tenants/{id}/loyalty/ledger-check", get(ledger_check))
}

async fn tenant_exists(s: &ApiState, id: &str) -> Result<(), AdminError> {
    s.core.store.tenant(id).await?.map(|_| ()).ok_or_else(|| AdminError::NotFound(format!("no tenant '{id}'")))
}

fn limit(l: Option<u32>) -> u32 {
    l.unwrap_or(100).clamp(1, MAX_LIMIT)
}

#[derive(Deserialize)]
struct Page {
    /// Clients: only this client id.
    client: Option<String>,
    after: Option<String>,
    before: Option<i64>,
    limit: Option<u32>,
}

async fn list_clients(_: Admin, State(s): State<ApiState>, Path(id): Path<String>, Query(p): Query<Page>) -> Result<Json<Vec<ClientState>>, AdminError> {
    tenant_exists(&s, &id).await?;
    if let Some(c) = &p.client {
        return Ok(Json(s.core.loyalty().client_state(&id, c).await?.into_iter().collect()));
    }
    let now = s.core.clock.now_ms();
    Ok(Json(s.core.store.loyalty_clients(&id, p.after.as_deref(), limit(p.limit), now).await?))
}

/// Creates or replaces a client with its cards (several per client) and phone.
async fn put_client(_: Admin, State(s): State<ApiState>, Path(id): Path<String>, AdminJson(mut c): AdminJson<ClientRow>) -> Result<Json<Value>, AdminError> {
    tenant_exists(&s, &id).await?;
    check_id("id", &c.id).map_err(|e| AdminError::Invalid(e.to_string()))?;
    c.phone = c.phone.as_deref().map(normalise_phone).filter(|p| !p.is_empty());
    if let Some(p) = &c.phone
        && !(p.starts_with('+') && p.len() >= 7 && p.len() <= 16 && p[1..].bytes().all(|b| b.is_ascii_digit()))
    {
        return Err(AdminError::Invalid(format!("phone '{p}' is not in the international format +<digits>")));
    }
    if c.cards.len() > 100 || c.cards.iter().any(|k| k.trim().is_empty() || k.len() > 256) || c.name.len() > 256 {
        return Err(AdminError::Invalid("cards: 0–100 non-empty values of at most 256 characters; name at most 256".into()));
    }
    c.cards = c.cards.iter().map(|k| k.trim().to_owned()).collect();
    let created = s.core.loyalty().put_client(&id, &c).await?;
    let state = s.core.loyalty().client_state(&id, &c.id).await?;
    Ok(Json(json!({"created": created, "client": state})))
}

async fn entries(_: Admin, State(s): State<ApiState>, Path(id): Path<String>, Query(p): Query<Page>) -> Result<Json<Vec<EntryRow>>, AdminError> {
    tenant_exists(&s, &id).await?;
    Ok(Json(s.core.store.loyalty_entries(&id, p.client.as_deref(), p.before, limit(p.limit)).await?))
}

#[derive(Deserialize)]
struct Adjustment {
    client: String,
    /// Signed: positive adds bonus, negative takes it away.
    amount: Money,
    #[serde(default)]
    note: String,
}

async fn adjust(_: Admin, State(s): State<ApiState>, Path(id): Path<String>, AdminJson(a): AdminJson<Adjustment>) -> Result<Json<ClientState>, AdminError> {
    tenant_exists(&s, &id).await?;
    if a.amount.is_zero() || a.amount.minor().abs() > kassa_domain::loyalty::wire::MAX_MAGNITUDE_MINOR || a.note.len() > 1024 {
        return Err(AdminError::Invalid("amount must be non-zero and at most 10^11; note at most 1024 bytes".into()));
    }
    Ok(Json(s.core.loyalty().adjust(&id, &a.client, a.amount, &a.note).await?))
}

async fn rules(_: Admin, State(s): State<ApiState>, Path(id): Path<String>) -> Result<Json<Vec<LoyaltyRule>>, AdminError> {
    let t = s.core.store.tenant(&id).await?.ok_or_else(|| AdminError::NotFound(format!("no tenant '{id}'")))?;
    let rules = t.rules.iter().filter(|r| r.active).map(|r| r.to_rule()).collect::<Result<Vec<_>, _>>()?;
    Ok(Json(rules))
}

async fn documents(_: Admin, State(s): State<ApiState>, Path(id): Path<String>, Query(p): Query<Page>) -> Result<Json<Vec<DocRow>>, AdminError> {
    tenant_exists(&s, &id).await?;
    Ok(Json(s.core.store.loyalty_documents(&id, limit(p.limit)).await?))
}

#[derive(Deserialize)]
struct AuditQuery {
    /// One record by id.
    record: Option<i64>,
    #[serde(default)]
    flagged: bool,
    uid: Option<String>,
    before: Option<i64>,
    limit: Option<u32>,
}

async fn audit(_: Admin, State(s): State<ApiState>, Path(id): Path<String>, Query(q): Query<AuditQuery>) -> Result<Json<Vec<AuditRecord>>, AdminError> {
    tenant_exists(&s, &id).await?;
    if let Some(r) = q.record {
        let rec = s.core.store.loyalty_audit_record(&id, r).await?.ok_or_else(|| AdminError::NotFound(format!("no audit record {r}")))?;
        return Ok(Json(vec![rec]));
    }
    let f = AuditFilter { flagged_only: q.flagged, uid: q.uid, before_id: q.before, limit: limit(q.limit) };
    Ok(Json(s.core.store.loyalty_audit(&id, &f).await?))
}

async fn ledger_check(_: Admin, State(s): State<ApiState>, Path(id): Path<String>) -> Result<Json<Value>, AdminError> {
    tenant_exists(&s, &id).await?;
    let problems = s.core.store.loyalty_check_ledger(&id).await?;
    Ok(Json(json!({"balanced": problems.is_empty(), "problems": problems})))
}
