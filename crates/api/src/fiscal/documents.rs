//! Admin routes that show a stored fiscal document (documented in `openapi/fiscal.json`):
//! `GET /api/registers/{register_id}/documents/{seq}/image` — the PNG of CORE-81 with the
//! cash-core image parameters (`width`, `scale`, `threshold`: defaults and limits of CORE-38 via
//! `Options::from_request`) — and `GET …/text?width=42` — `{"lines": [...]}` for slips and
//! terminals; `is_original=false` marks either as a copy (CORE-59). Parse, call the engine, map the result; bad parameters answer 422 in the admin
//! envelope.

use crate::ApiState;
use crate::admin::{Admin, AdminError};
use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use kassa_core::fiscal::render::{DEFAULT_TEXT_WIDTH, DocumentError};
use kassa_render::Options;
use serde_json::json;
use std::collections::HashMap;

use super::FiscalApiError;

/// Admin routes, merged under `/api` by the fiscal admin router.
pub fn router() -> Router<ApiState> {
    Router::new()
        .route("/registers/{register_id}/documents/{seq}/image", get(image))
        .route("/registers/{register_id}/documents/{seq}/text", get(text))
}

impl From<DocumentError> for FiscalApiError {
    fn from(e: DocumentError) -> Self {
        match e {
            DocumentError::Engine(e) => e.into(),
            e @ DocumentError::NotFound { .. } => AdminError::NotFound(e.to_string()).into(),
            DocumentError::Render(e) => AdminError::Invalid(e.to_string()).into(),
            e @ DocumentError::Unprintable { .. } => AdminError::Conflict(e.to_string()).into(),
        }
    }
}

/// The query parameters; an unknown one is refused.
fn params(query: Result<Query<HashMap<String, String>>, QueryRejection>, allowed: &[&str]) -> Result<HashMap<String, String>, AdminError> {
    let Query(q) = query.map_err(|e| AdminError::Invalid(format!("query: {e}")))?;
    if let Some(k) = q.keys().find(|k| !allowed.contains(&k.as_str())) {
        return Err(AdminError::Invalid(format!("unknown query parameter '{k}' (allowed: {})", allowed.join(", "))));
    }
    Ok(q)
}

fn integer(q: &HashMap<String, String>, name: &str) -> Result<Option<i64>, AdminError> {
    q.get(name)
        .map(|v| v.trim().parse::<i64>().map_err(|_| AdminError::Invalid(format!("{name}: {v:?} is not an integer"))))
        .transpose()
}

/// CORE-59 `is_original`: default true; false marks the document as a copy.
fn is_original(q: &HashMap<String, String>) -> Result<bool, AdminError> {
    match q.get("is_original").map(|v| v.trim()) {
        None | Some("true") => Ok(true),
        Some("false") => Ok(false),
        Some(v) => Err(AdminError::Invalid(format!("is_original: {v:?} is not true or false"))),
    }
}

fn seq(raw: &str) -> Result<u64, AdminError> {
    raw.parse::<u64>().ok().filter(|s| *s > 0).ok_or_else(|| AdminError::Invalid(format!("seq: {raw:?} is not a journal position (1, 2, …)")))
}

async fn image(
    _: Admin,
    State(s): State<ApiState>,
    Path((register_id, raw_seq)): Path<(String, String)>,
    query: Result<Query<HashMap<String, String>>, QueryRejection>,
) -> Result<Response, FiscalApiError> {
    let q = params(query, &["width", "scale", "threshold", "is_original"])?;
    let seq = seq(&raw_seq)?;
    // CORE-38: absent or 0 width → 384, absent or 0 scale → 1.0, absent threshold → 128.
    let options = Options::from_request(integer(&q, "width")?, q.get("scale").map(|s| s.trim()), integer(&q, "threshold")?)
        .map_err(|e| AdminError::Invalid(e.to_string()))?;
    let png = s.core.fiscal().document_image(&register_id, seq, &options, is_original(&q)?).await?;
    Ok(([(header::CONTENT_TYPE, "image/png")], png).into_response())
}

async fn text(
    _: Admin,
    State(s): State<ApiState>,
    Path((register_id, raw_seq)): Path<(String, String)>,
    query: Result<Query<HashMap<String, String>>, QueryRejection>,
) -> Result<Json<serde_json::Value>, FiscalApiError> {
    let q = params(query, &["width", "is_original"])?;
    let seq = seq(&raw_seq)?;
    let width = match integer(&q, "width")? {
        None => DEFAULT_TEXT_WIDTH,
        Some(w) => usize::try_from(w)
            .ok()
            .filter(|w| kassa_render::limits::COLUMNS.contains(w))
            .ok_or_else(|| AdminError::Invalid(format!("width: {w} is outside 12..=160")))?,
    };
    let lines = s.core.fiscal().document_text(&register_id, seq, width, is_original(&q)?).await?;
    Ok(Json(json!({ "lines": lines })))
}
