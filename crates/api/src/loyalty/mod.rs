//! Frontol loyalty face (`frontol-loyalty.md`): `/frontol/document` and `/frontol/client`; its admin routes join `/api/`.
//!
//! Owns the HTTP side only: buffering the raw body (LOY-13), FrontolAuth and the choice of the
//! tenant (LOY-16; with several tenants the token picks the tenant whose key it matches, or the
//! per-tenant prefix `/frontol/t/{tenant}/…` restricts it to one), the 403/405 answers (LOY-8)
//! and the JSON content type (LOY-6). Parsing, rules, ledger and storage are the core's.

mod admin;

use crate::ApiState;
use axum::body::Body;
use axum::extract::{Path, Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::Router;
use kassa_core::loyalty::{AuthFailure, Reply};
use kassa_domain::loyalty::response;
use kassa_domain::loyalty::wire::{ErrorCode, LoyaltyError, MAX_BODY_BYTES};

/// The protocol routes, merged into the main router at their full paths.
pub fn router() -> Router<ApiState> {
    Router::new()
        .route("/frontol/document", post(document).fallback(method_not_allowed))
        .route("/frontol/client", post(client).fallback(method_not_allowed))
        .route("/frontol/t/{tenant}/document", post(document_of).fallback(method_not_allowed))
        .route("/frontol/t/{tenant}/client", post(client_of).fallback(method_not_allowed))
}

/// Admin routes, merged under `/api` (documented in `openapi/loyalty.json`).
pub fn admin_router() -> Router<ApiState> {
    admin::router()
}

#[derive(Clone, Copy)]
enum Endpoint {
    Document,
    Client,
}

async fn document(State(s): State<ApiState>, req: Request) -> Response {
    handle(s, None, Endpoint::Document, req).await
}

async fn client(State(s): State<ApiState>, req: Request) -> Response {
    handle(s, None, Endpoint::Client, req).await
}

async fn document_of(State(s): State<ApiState>, Path(tenant): Path<String>, req: Request) -> Response {
    handle(s, Some(tenant), Endpoint::Document, req).await
}

async fn client_of(State(s): State<ApiState>, Path(tenant): Path<String>, req: Request) -> Response {
    handle(s, Some(tenant), Endpoint::Client, req).await
}

/// LOY-6: every body is JSON in UTF-8 with at least `code`.
fn json_text(status: StatusCode, text: String) -> Response {
    let mut r = (status, text).into_response();
    r.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json; charset=utf-8"));
    r
}

async fn method_not_allowed() -> Response {
    json_text(StatusCode::METHOD_NOT_ALLOWED, response::error(&LoyaltyError::malformed("Поддерживается только метод POST")).text)
}

/// LOY-10: no answer at all — the body fails before it starts, so the connection is cut and
/// the POS sees a connection error and keeps the confirm queued.
fn drop_connection() -> Response {
    let stream = futures_stream_error();
    Response::builder().status(StatusCode::OK).body(Body::from_stream(stream)).unwrap_or_default()
}

fn futures_stream_error() -> impl futures_core::Stream<Item = Result<bytes::Bytes, std::io::Error>> + Send {
    struct Fail(bool);
    impl futures_core::Stream for Fail {
        type Item = Result<bytes::Bytes, std::io::Error>;
        fn poll_next(
            mut self: std::pin::Pin<&mut Self>,
            _: &mut std::task::Context<'_>,
        ) -> std::task::Poll<Option<Self::Item>> {
            if self.0 {
                return std::task::Poll::Ready(None);
            }
            self.0 = true;
            std::task::Poll::Ready(Some(Err(std::io::Error::other("loyalty store unavailable: confirm not stored"))))
        }
    }
    Fail(false)
}

async fn handle(s: ApiState, only: Option<String>, endpoint: Endpoint, req: Request) -> Response {
    let path = req.uri().path().to_owned();
    let authorization = req.headers().get(header::AUTHORIZATION).and_then(|v| v.to_str().ok()).map(str::to_owned);
    // LOY-4, LOY-13: reading the body answers `Expect: 100-continue`; the raw bytes are kept.
    let body = match axum::body::to_bytes(req.into_body(), MAX_BODY_BYTES).await {
        Ok(b) => b,
        Err(_) => {
            return json_text(StatusCode::OK, response::error(&LoyaltyError::malformed("Тело запроса слишком большое или прервано")).text);
        }
    };
    let loyalty = s.core.loyalty();
    let tenant = match loyalty.authenticate(only.as_deref(), authorization.as_deref(), &body).await {
        Ok(t) => t,
        Err(AuthFailure::Forbidden) => return json_text(StatusCode::FORBIDDEN, response::unauthorized().text),
        Err(AuthFailure::Unavailable) => {
            return match endpoint {
                Endpoint::Document => drop_connection(),
                Endpoint::Client => {
                    json_text(StatusCode::OK, response::error(&LoyaltyError::new(ErrorCode::Internal, "Внутренняя ошибка сервера лояльности")).text)
                }
            };
        }
    };
    let reply = match endpoint {
        Endpoint::Document => loyalty.document(&tenant, &path, &body).await,
        Endpoint::Client => loyalty.client(&tenant, &path, &body).await,
    };
    match reply {
        Reply::Json(text) => json_text(StatusCode::OK, text),
        Reply::Drop => drop_connection(),
    }
}
