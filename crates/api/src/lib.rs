//! The HTTP faces of Kassa.
//!
//! Owns every router: `/healthz` and `/readyz`, the admin API under `/api/` (with its OpenAPI
//! document at `/api/openapi.json`), request metrics, and — one module each as they arrive — the
//! five protocol faces (ATOL Online at `/possystem/`, ITKassa at `/open/api/v1/`, the cash core
//! at the root, Frontol loyalty and events under `/frontol/`). Each face has its own wire DTOs,
//! error envelope and authentication; all of them are thin: parse, authenticate, call the core,
//! map the result. No module here touches SQL.
//!
//! May depend on the core, the domain and the store ports, axum and tower-http.

pub mod admin;
pub mod atol;
pub mod events;
pub mod fiscal;
pub mod health;
pub mod loyalty;
pub mod metrics;

use kassa_core::Core;
use std::sync::Arc;

/// State shared by the routers.
#[derive(Clone)]
pub struct ApiState {
    pub core: Core,
    /// Bearer token of the admin API.
    pub admin_token: Arc<str>,
    /// Live feed of stored Frontol events (`/api/events/stream`).
    pub events: events::Live,
    /// Extra path prefix of the event collector (`[events] prefix`, EVT-2).
    pub events_prefix: Option<Arc<str>>,
}

/// The main listener's router: health, admin API, faces; with request metrics when given.
pub fn router(state: ApiState, metrics: Option<metrics::HttpMetrics>) -> axum::Router {
    let app = axum::Router::new()
        .merge(health::router())
        .merge(atol::router())
        .merge(loyalty::router())
        .merge(events::router_at(state.events_prefix.as_deref()))
        .nest("/api", admin::router())
        .fallback(admin::not_found)
        .with_state(state);
    match metrics {
        Some(m) => app.layer(axum::middleware::from_fn_with_state(m, metrics::track)),
        None => app,
    }
}
