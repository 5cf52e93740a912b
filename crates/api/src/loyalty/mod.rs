//! Frontol loyalty face (`frontol-loyalty.md`): `/frontol/document` and `/frontol/client`; its admin routes join `/api/`.
//!
//! Owns its wire DTOs, its error envelope and its authentication; calls the core only.
//! Routes arrive with issue 5.

use crate::ApiState;
use axum::Router;

/// The protocol routes, merged into the main router at their full paths.
pub fn router() -> Router<ApiState> {
    Router::new()
}

/// Admin routes, merged under `/api` (documented in `openapi/loyalty.json`).
pub fn admin_router() -> Router<ApiState> {
    Router::new()
}
