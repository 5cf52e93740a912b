//! Liveness and readiness.

use crate::ApiState;
use axum::{Json, Router, extract::State, http::StatusCode, routing::get};
use serde_json::{Value, json};

pub fn router() -> Router<ApiState> {
    Router::new().route("/healthz", get(healthz)).route("/readyz", get(readyz))
}

/// The process is alive and serving HTTP.
async fn healthz() -> Json<Value> {
    Json(json!({"status": "ok"}))
}

/// The store answers: the server can take work.
async fn readyz(State(s): State<ApiState>) -> (StatusCode, Json<Value>) {
    let backend = s.core.store.backend().as_str();
    match s.core.store.ping().await {
        Ok(()) => (StatusCode::OK, Json(json!({"status": "ready", "store": backend}))),
        Err(e) => {
            tracing::warn!(error = %e, "readiness check failed");
            (StatusCode::SERVICE_UNAVAILABLE, Json(json!({"status": "unavailable", "store": backend, "error": e.to_string()})))
        }
    }
}
