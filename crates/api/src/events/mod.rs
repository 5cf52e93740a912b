//! Frontol event collector face (`frontol-events.md`): `POST /frontol/events` (the POS's server
//! URL is `http://host:port/frontol`, EVT-2), and its query API under `/api/events` (admin
//! bearer token): filtered, paginated listing, a document timeline, a live Server-Sent Events
//! stream, and the per-tenant loss-prevention rule settings.
//!
//! Owns its wire DTOs, its response envelope (`{"status":"OK"|"ERROR","code":…}`) and the live
//! feed (a tokio broadcast channel, published to only after the store write succeeded). No
//! authentication on the collector (EVT-7). Parsing is the domain's; ingest is the core's.

mod query;

use crate::ApiState;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use kassa_domain::events::{BatchError, DEFAULT_HARD_LIMIT, parse_batch};
use kassa_store::events::StoredEvent;
use serde_json::json;
use std::sync::Arc;
use tokio::sync::broadcast;

/// Largest request body of the collector: 10 000 events of ~1.6 KB (EVT-41); beyond it `413`.
pub const MAX_BODY_BYTES: usize = 16 * 1024 * 1024;
/// Events the live feed buffers per slow subscriber before it skips ahead.
const FEED_CAPACITY: usize = 4096;

/// The live feed of stored events (for `GET /api/events/stream`). Cheap to clone.
#[derive(Clone)]
pub struct Live {
    tx: broadcast::Sender<Arc<StoredEvent>>,
}

impl Default for Live {
    fn default() -> Self {
        Self { tx: broadcast::channel(FEED_CAPACITY).0 }
    }
}

impl Live {
    fn publish(&self, events: impl Iterator<Item = StoredEvent>) {
        // Nobody listening: build nothing.
        if self.tx.receiver_count() == 0 {
            return;
        }
        for e in events {
            let _ = self.tx.send(Arc::new(e));
        }
    }

    pub fn subscribe(&self) -> broadcast::Receiver<Arc<StoredEvent>> {
        self.tx.subscribe()
    }
}

/// The protocol routes, merged into the main router at their full paths.
pub fn router() -> Router<ApiState> {
    router_at(None)
}

/// The collector at `/frontol/events` and, when configured, also at `{prefix}/events` (EVT-2:
/// the POS appends `/events` to its server URL; the prefix is configurable). The prefix is
/// checked by the configuration (`[events] prefix`).
pub fn router_at(prefix: Option<&str>) -> Router<ApiState> {
    let route = || post(collect).layer(DefaultBodyLimit::max(MAX_BODY_BYTES));
    let r = Router::new().route("/frontol/events", route());
    match prefix.map(|p| format!("{}/events", p.trim_end_matches('/'))) {
        Some(path) if path != "/frontol/events" => r.route(&path, route()),
        _ => r,
    }
}

/// Admin routes, merged under `/api` (documented in `openapi/events.json`).
pub fn admin_router() -> Router<ApiState> {
    Router::new()
        .route("/events", get(query::list))
        .route("/events/groups/{id}", get(query::timeline))
        .route("/events/stream", get(query::stream))
        .route("/events/rules/{id}", get(query::get_rules).put(query::put_rules))
}

fn answer(status: StatusCode, code: &str, error: Option<String>) -> Response {
    let body = match error {
        None => json!({"status": "OK", "code": code}),
        Some(e) => json!({"status": "ERROR", "code": code, "error": e}),
    };
    (status, Json(body)).into_response()
}

/// `POST /frontol/events` (EVT-2..EVT-8, EVT-38..EVT-41).
async fn collect(State(s): State<ApiState>, body: Result<Bytes, BytesRejection>) -> Response {
    // EVT-5: a fresh, unique string per processed request.
    let code = uuid::Uuid::now_v7().to_string();
    let body = match body {
        Ok(b) => b,
        Err(r) if r.status() == StatusCode::PAYLOAD_TOO_LARGE => {
            return answer(StatusCode::PAYLOAD_TOO_LARGE, &code, Some(format!("the body is larger than {MAX_BODY_BYTES} bytes")));
        }
        Err(r) => return answer(StatusCode::BAD_REQUEST, &code, Some(r.body_text())),
    };
    let batch = match parse_batch(&body, DEFAULT_HARD_LIMIT) {
        Ok(b) => b,
        // EVT-41: beyond the hard limit.
        Err(e @ BatchError::TooMany { .. }) => return answer(StatusCode::PAYLOAD_TOO_LARGE, &code, Some(e.to_string())),
        // EVT-8: a body that is not an envelope at all.
        Err(e) => return answer(StatusCode::BAD_REQUEST, &code, Some(e.to_string())),
    };
    match s.core.events().ingest(&code, batch).await {
        Ok(done) => {
            tracing::debug!(code, tenant = %done.tenant_id, stored = done.stored_count(), duplicates = done.duplicates, "events stored");
            s.events.publish(done.stored());
            // EVT-4, EVT-6, EVT-8: `OK` only now that every event is durable.
            answer(StatusCode::OK, &code, None)
        }
        Err(e) => {
            tracing::error!(code, error = %e, "events not stored");
            answer(StatusCode::SERVICE_UNAVAILABLE, &code, Some("the events cannot be stored now; retry later".into()))
        }
    }
}
