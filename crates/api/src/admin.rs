//! The admin API under `/api/`: tenants and their provisioning, behind a bearer token.
//!
//! Errors use one envelope: `{"error": {"code": "<code>", "message": "<text>"}}` with the HTTP
//! status of the code (see [`AdminError`]). The OpenAPI document of these routes is
//! `openapi.json` beside this file, served at `/api/openapi.json`; a test checks that every route
//! is documented.

use crate::ApiState;
use axum::extract::rejection::JsonRejection;
use axum::extract::{DefaultBodyLimit, FromRequest, FromRequestParts, Path, State};
use axum::http::request::Parts;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use kassa_core::provisioning::ProvisionError;
use kassa_domain::provisioning::TenantSpec;
use kassa_store::{ApplyReport, StoreError, TenantSummary, TenantView, constant_time_eq};
use serde_json::json;

/// Largest admin request body: a tenant with thousands of registers still fits.
pub const MAX_BODY_BYTES: usize = 1024 * 1024;

/// The base document; each context adds its paths and schemas from `openapi/<context>.json`.
const OPENAPI_BASE: &str = include_str!("openapi.json");
const OPENAPI_PARTS: [(&str, &str); 4] = [
    ("fiscal", include_str!("openapi/fiscal.json")),
    ("atol", include_str!("openapi/atol.json")),
    ("loyalty", include_str!("openapi/loyalty.json")),
    ("events", include_str!("openapi/events.json")),
];

/// The whole OpenAPI document: the base with every context's paths and schemas merged in.
pub fn openapi_document() -> &'static str {
    static DOC: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    DOC.get_or_init(|| {
        let mut doc: serde_json::Value = serde_json::from_str(OPENAPI_BASE).expect("openapi.json is valid JSON");
        for (name, part) in OPENAPI_PARTS {
            let part: serde_json::Value =
                serde_json::from_str(part).unwrap_or_else(|e| panic!("openapi/{name}.json is not valid JSON: {e}"));
            for section in ["/paths", "/components/schemas"] {
                let Some(extra) = part.pointer(section).and_then(|v| v.as_object()) else { continue };
                let target = doc
                    .pointer_mut(section)
                    .and_then(|v| v.as_object_mut())
                    .unwrap_or_else(|| panic!("openapi.json has no {section}"));
                for (k, v) in extra {
                    assert!(target.insert(k.clone(), v.clone()).is_none(), "openapi/{name}.json redefines {section} '{k}'");
                }
            }
        }
        serde_json::to_string_pretty(&doc).expect("serialises")
    })
}

pub fn router() -> Router<ApiState> {
    Router::new()
        .route("/openapi.json", get(openapi))
        .route("/tenants", get(list_tenants))
        .route("/tenants/{id}", get(get_tenant).put(put_tenant))
        .merge(crate::atol::admin_router())
        .merge(crate::loyalty::admin_router())
        .merge(crate::events::admin_router())
        .merge(crate::fiscal::admin_router())
        .fallback(not_found)
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
}

/// An admin API error: its wire code, status and a message a person can act on.
#[derive(Debug)]
pub enum AdminError {
    Unauthorized,
    NotFound(String),
    Invalid(String),
    PayloadTooLarge,
    Conflict(String),
    Unavailable(String),
}

impl AdminError {
    fn parts(&self) -> (StatusCode, &'static str, String) {
        match self {
            Self::Unauthorized => (
                StatusCode::UNAUTHORIZED,
                "unauthorized",
                "send the admin token as 'Authorization: Bearer <token>'".into(),
            ),
            Self::NotFound(m) => (StatusCode::NOT_FOUND, "not_found", m.clone()),
            Self::Invalid(m) => (StatusCode::UNPROCESSABLE_ENTITY, "invalid", m.clone()),
            Self::PayloadTooLarge => (
                StatusCode::PAYLOAD_TOO_LARGE,
                "payload_too_large",
                format!("the request body is larger than {MAX_BODY_BYTES} bytes"),
            ),
            Self::Conflict(m) => (StatusCode::CONFLICT, "conflict", m.clone()),
            Self::Unavailable(m) => (StatusCode::SERVICE_UNAVAILABLE, "unavailable", m.clone()),
        }
    }
}

impl IntoResponse for AdminError {
    fn into_response(self) -> Response {
        let (status, code, message) = self.parts();
        (status, Json(json!({"error": {"code": code, "message": message}}))).into_response()
    }
}

impl From<StoreError> for AdminError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::NotFound(m) => Self::NotFound(m),
            StoreError::Conflict(m) => Self::Conflict(m),
            other => {
                tracing::error!(error = %other, "admin API store failure");
                Self::Unavailable(other.to_string())
            }
        }
    }
}

impl From<ProvisionError> for AdminError {
    fn from(e: ProvisionError) -> Self {
        match e {
            ProvisionError::Invalid(spec) => Self::Invalid(spec.to_string()),
            ProvisionError::Store { source, .. } => source.into(),
        }
    }
}

pub(crate) async fn not_found() -> AdminError {
    AdminError::NotFound("no such endpoint".into())
}

/// Proof that the request carried the admin token.
pub struct Admin;

impl FromRequestParts<ApiState> for Admin {
    type Rejection = AdminError;

    async fn from_request_parts(parts: &mut Parts, state: &ApiState) -> Result<Self, AdminError> {
        let presented = parts
            .headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer ").or_else(|| v.strip_prefix("bearer ")))
            .map(str::trim)
            .ok_or(AdminError::Unauthorized)?;
        if constant_time_eq(presented, &state.admin_token) { Ok(Admin) } else { Err(AdminError::Unauthorized) }
    }
}

/// `Json<T>` whose rejections use the admin envelope.
pub struct AdminJson<T>(pub T);

impl<T, S> FromRequest<S> for AdminJson<T>
where
    Json<T>: FromRequest<S, Rejection = JsonRejection>,
    S: Send + Sync,
{
    type Rejection = AdminError;

    async fn from_request(req: axum::extract::Request, state: &S) -> Result<Self, AdminError> {
        match Json::<T>::from_request(req, state).await {
            Ok(Json(v)) => Ok(Self(v)),
            Err(r) if r.status() == StatusCode::PAYLOAD_TOO_LARGE => Err(AdminError::PayloadTooLarge),
            Err(r) => Err(AdminError::Invalid(r.body_text())),
        }
    }
}

async fn openapi() -> impl IntoResponse {
    ([(header::CONTENT_TYPE, "application/json")], openapi_document())
}

async fn list_tenants(_: Admin, State(s): State<ApiState>) -> Result<Json<Vec<TenantSummary>>, AdminError> {
    Ok(Json(s.core.store.tenants().await?))
}

async fn get_tenant(_: Admin, State(s): State<ApiState>, Path(id): Path<String>) -> Result<Json<TenantView>, AdminError> {
    s.core.store.tenant(&id).await?.map(Json).ok_or_else(|| AdminError::NotFound(format!("no tenant '{id}'")))
}

/// Applies the whole desired state of one tenant (the same shape as a `[[tenant]]` of the config).
async fn put_tenant(
    _: Admin,
    State(s): State<ApiState>,
    Path(id): Path<String>,
    AdminJson(spec): AdminJson<TenantSpec>,
) -> Result<Json<ApplyReport>, AdminError> {
    if spec.id != id {
        return Err(AdminError::Invalid(format!("the body's id '{}' differs from the path's '{id}'", spec.id)));
    }
    Ok(Json(s.core.provisioning().apply(&spec).await?))
}
