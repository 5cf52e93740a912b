//! Admin routes of the fiscal register engine, merged under `/api` (documented in
//! `openapi/fiscal.json`): register status and journal, registering a document (for operators,
//! the bench and the crash test; the protocol faces call the core directly), the ATOL-88 fault
//! hook, the OFD simulator's state and mode, and journal verification.

mod documents;

use crate::ApiState;
use crate::admin::{Admin, AdminError, AdminJson};
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use axum::{Json, Router};
use kassa_core::fiscal::ofd::{MAX_SLOW_MS, OfdMode, OfdSnapshot};
use kassa_core::fiscal::{EngineError, RegisterStatus, VerifyReport};
use kassa_domain::fiscal::kz::KzCommand;
use kassa_domain::fiscal::{Command, ru};
use kassa_domain::provisioning::RegisterProfile;
use kassa_store::fiscal::JournalEntry;
use serde::Deserialize;
use serde_json::json;

/// Admin routes, merged under `/api`.
pub fn admin_router() -> Router<ApiState> {
    Router::new()
        .route("/registers/{register_id}", get(status))
        .route("/registers/{register_id}/journal", get(journal))
        .route("/registers/{register_id}/documents", post(register_document))
        .route("/registers/{register_id}/faults", put(inject_fault))
        .route("/ofd", get(ofd_state))
        .route("/ofd/mode", put(set_ofd_mode))
        .route("/fiscal/verify", get(verify))
        .merge(documents::router())
}

/// An engine failure: refusals carry the typed error and its ATOL device code.
pub enum FiscalApiError {
    Admin(AdminError),
    Refused(kassa_domain::fiscal::FiscalError),
}

impl From<EngineError> for FiscalApiError {
    fn from(e: EngineError) -> Self {
        match e {
            EngineError::Fiscal(f) => Self::Refused(f),
            EngineError::UnknownRegister(id) => Self::Admin(AdminError::NotFound(format!("no register '{id}'"))),
            EngineError::Store(s) => Self::Admin(s.into()),
        }
    }
}

impl From<AdminError> for FiscalApiError {
    fn from(e: AdminError) -> Self {
        Self::Admin(e)
    }
}

impl IntoResponse for FiscalApiError {
    fn into_response(self) -> Response {
        match self {
            Self::Admin(e) => e.into_response(),
            Self::Refused(f) => (
                StatusCode::CONFLICT,
                Json(json!({"error": {
                    "code": "refused",
                    "message": f.to_string(),
                    "atol_code": f.atol_code(),
                    "cash_core_code": f.cash_core_code(),
                    "fiscal_error": f,
                }})),
            )
                .into_response(),
        }
    }
}

async fn status(_: Admin, State(s): State<ApiState>, Path(id): Path<String>) -> Result<Json<RegisterStatus>, FiscalApiError> {
    Ok(Json(s.core.fiscal().status(&id).await?))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Page {
    #[serde(default)]
    after: u64,
    #[serde(default = "default_limit")]
    limit: u32,
}

fn default_limit() -> u32 {
    100
}

async fn journal(
    _: Admin,
    State(s): State<ApiState>,
    Path(id): Path<String>,
    Query(p): Query<Page>,
) -> Result<Json<Vec<JournalEntry>>, FiscalApiError> {
    Ok(Json(s.core.fiscal().journal(&id, p.after, p.limit).await?))
}

/// Registers one command: RU (receipt, correction, cash in/out, shift open/close, X report) or,
/// on a KZ register, a cash-core request (`{"request": {"command": "trade" | "money_placement" |
/// "report", …}, "caller"?, "auto_withdraw_money"?}`).
async fn register_document(
    _: Admin,
    State(s): State<ApiState>,
    Path(id): Path<String>,
    AdminJson(body): AdminJson<serde_json::Value>,
) -> Result<Json<serde_json::Value>, FiscalApiError> {
    let profile = s.core.fiscal().status(&id).await?.record.register.profile;
    let invalid = |e: serde_json::Error| FiscalApiError::Admin(AdminError::Invalid(e.to_string()));
    let command = match profile {
        RegisterProfile::Ru => Command::Ru(serde_json::from_value::<ru::Command>(body).map_err(invalid)?),
        RegisterProfile::Kz => Command::Kz(serde_json::from_value::<KzCommand>(body).map_err(invalid)?),
    };
    let documents = s.core.fiscal().execute(&id, command).await?;
    Ok(Json(json!({ "documents": documents })))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Fault {
    /// How many following attempts fail (0 clears the hook).
    attempts: u32,
    /// The KKT error code they fail with (ATOL §9.3).
    code: i32,
}

/// ATOL-88 step 1 test hook: "fail the next N attempts with code C".
async fn inject_fault(
    _: Admin,
    State(s): State<ApiState>,
    Path(id): Path<String>,
    AdminJson(f): AdminJson<Fault>,
) -> Result<Json<serde_json::Value>, FiscalApiError> {
    if f.attempts > 1_000 {
        return Err(AdminError::Invalid("attempts: at most 1000".into()).into());
    }
    s.core.fiscal().status(&id).await?;
    s.core.fiscal().inject_fault(&id, f.attempts, f.code);
    Ok(Json(json!({"register_id": id, "attempts": f.attempts, "code": f.code})))
}

fn simulator(s: &ApiState) -> Result<&kassa_core::fiscal::ofd::OfdSimulator, AdminError> {
    s.core
        .fiscal
        .simulator
        .as_deref()
        .ok_or_else(|| AdminError::NotFound("the OFD link is not the built-in simulator".into()))
}

async fn ofd_state(_: Admin, State(s): State<ApiState>) -> Result<Json<OfdSnapshot>, AdminError> {
    Ok(Json(simulator(&s)?.snapshot()))
}

async fn set_ofd_mode(
    _: Admin,
    State(s): State<ApiState>,
    AdminJson(mode): AdminJson<OfdMode>,
) -> Result<Json<OfdSnapshot>, AdminError> {
    if let OfdMode::Slow { delay_ms } = mode
        && delay_ms > MAX_SLOW_MS
    {
        return Err(AdminError::Invalid(format!("delay_ms: at most {MAX_SLOW_MS}")));
    }
    let sim = simulator(&s)?;
    sim.set_mode(mode);
    tracing::info!(?mode, "OFD simulator mode switched");
    Ok(Json(sim.snapshot()))
}

async fn verify(_: Admin, State(s): State<ApiState>) -> Result<Json<VerifyReport>, FiscalApiError> {
    Ok(Json(s.core.fiscal().verify().await?))
}
