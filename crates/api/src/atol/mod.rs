//! ATOL Online v3 face (`atol-online-v3.md`), mounted at `/possystem/`; its admin routes join `/api/`.
//!
//! Owns its wire DTOs, its error envelope and its authentication; calls the core only.
//! Routing follows ATOL-14 on the raw path (empty segments kept, each percent-decoded); the
//! checks run in the order of ATOL-48 (registration) and ATOL-91 (report). Every answer is
//! JSON with `charset=utf-8` (ATOL-15), except the empty 404 of unknown paths (D-6).

use crate::ApiState;
use crate::admin::{Admin, AdminError};
use axum::Router;
use axum::body::Body;
use axum::extract::{Query, Request, State};
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{any, get};
use axum::Json;
use kassa_core::atol::{TokenAnswer, TokenUse};
use kassa_domain::atol::json;
use kassa_domain::atol::{Operation, ServiceError};
use kassa_store::atol::{AtolCallbackRow, AtolDocumentRow, AtolFilter};
use serde::{Deserialize, Serialize};

/// ATOL-15: bodies of at least 256 KiB are accepted; larger than this are refused unread.
pub const MAX_BODY_BYTES: usize = 512 * 1024;

/// The protocol routes, merged into the main router at their full paths.
pub fn router() -> Router<ApiState> {
    Router::new().route("/possystem/", any(empty_404)).route("/possystem/{*rest}", any(dispatch))
}

/// Admin routes, merged under `/api` (documented in `openapi/atol.json`).
pub fn admin_router() -> Router<ApiState> {
    Router::new().route("/atol/documents", get(list_documents)).route("/atol/callbacks", get(list_callbacks))
}

async fn empty_404() -> Response {
    StatusCode::NOT_FOUND.into_response()
}

fn json_reply<T: Serialize>(status: u16, body: &T) -> Response {
    let bytes = serde_json::to_vec(body).unwrap_or_else(|_| b"{}".to_vec());
    let mut r = Response::new(Body::from(bytes));
    *r.status_mut() = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    r.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json; charset=utf-8"));
    r
}

fn hex(b: u8) -> Option<u8> {
    (b as char).to_digit(16).map(|d| d as u8)
}

/// Percent-decoding; `plus` also turns `+` into a space (form encoding, ATOL-30).
fn decode(s: &str, plus: bool) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'%' if i + 2 < b.len() => {
                match (hex(b[i + 1]), hex(b[i + 2])) {
                    (Some(h), Some(l)) => {
                        out.push(h * 16 + l);
                        i += 3;
                        continue;
                    }
                    _ => out.push(b'%'),
                }
            }
            b'+' if plus => out.push(b' '),
            c => out.push(c),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// The first value of `key` in a query string (ATOL-43: the first occurrence counts).
fn query_param(query: Option<&str>, key: &str) -> Option<String> {
    query?.split('&').filter_map(|kv| {
        let (k, v) = kv.split_once('=').unwrap_or((kv, ""));
        (decode(k, true) == key).then(|| decode(v, true))
    }).next()
}

async fn read_body(body: Body) -> Result<Vec<u8>, String> {
    axum::body::to_bytes(body, MAX_BODY_BYTES)
        .await
        .map(|b| b.to_vec())
        .map_err(|_| format!("тело запроса больше {MAX_BODY_BYTES} байт или не прочитано"))
}

/// ATOL-14: the routing table over the decoded segments after `/possystem/`.
async fn dispatch(State(s): State<ApiState>, req: Request) -> Response {
    let path = req.uri().path().to_owned();
    let rest = path.strip_prefix("/possystem/").unwrap_or("");
    let segs: Vec<String> = rest.split('/').map(|p| decode(p, false)).collect();
    let query = req.uri().query().map(str::to_owned);
    let method = req.method().clone();
    match segs.as_slice() {
        [v, t] if t == "getToken" => get_token(&s, v, method, query.as_deref(), req.into_body()).await,
        [v, g, op] if op == "report" && method == Method::GET => report(&s, v, g, "", query.as_deref()).await,
        [v, g, op] => register(&s, v, g, op, method, query.as_deref(), req.into_body()).await,
        [v, g, r, u] if r == "report" => {
            if method != Method::GET {
                let (st, body) = s.core.atol().report_error(&ServiceError::StateBadRequest, u, g);
                return json_reply(st, &body);
            }
            report(&s, v, g, u, query.as_deref()).await
        }
        _ => empty_404().await,
    }
}

/// getToken (§5): POST reads the body only, GET the query only (ATOL-31); 17 otherwise.
async fn get_token(s: &ApiState, version: &str, method: Method, query: Option<&str>, body: Body) -> Response {
    let bad = || {
        let (st, b) = TokenAnswer::error(&ServiceError::AuthBadRequest);
        json_reply(st, &b)
    };
    let atol = s.core.atol();
    if !atol.supports(version) {
        return bad();
    }
    let (login, pass) = if method == Method::POST {
        let Ok(bytes) = read_body(body).await else { return bad() };
        // ATOL-32: not JSON, not an object, members missing/null/not strings; ATOL-18 duplicates.
        let Ok(value) = json::parse(&bytes) else { return bad() };
        let member = |k: &str| value.get(k).and_then(kassa_domain::json::Json::as_str).map(str::to_owned);
        let (Some(login), Some(pass)) = (member("login"), member("pass")) else { return bad() };
        (login, pass)
    } else if method == Method::GET {
        match (query_param(query, "login"), query_param(query, "pass")) {
            (Some(l), Some(p)) => (l, p),
            _ => return bad(),
        }
    } else {
        return bad();
    };
    let (st, answer) = atol.get_token(&login, &pass).await;
    json_reply(st, &answer)
}

/// Registration (§6.2, ATOL-48), steps in order.
async fn register(s: &ApiState, version: &str, group: &str, op: &str, method: Method, query: Option<&str>, body: Body) -> Response {
    let atol = s.core.atol();
    let uuid = atol.new_uuid(); // step 0
    let fail = |e: ServiceError| {
        let (st, b) = atol.registration_error(uuid.clone(), &e);
        json_reply(st, &b)
    };
    // Steps 1–2 (and ATOL-14: another method → 2).
    if !atol.supports(version) || method != Method::POST || group.is_empty() || op.is_empty() {
        return fail(ServiceError::IncomingBadRequest);
    }
    // Step 3.
    let Some(operation) = Operation::parse(op) else { return fail(ServiceError::OperationNotSupported(op.to_owned())) };
    // Step 4.
    let token = query_param(query, "tokenid");
    let auth = match atol.authorize(token.as_deref(), TokenUse::Registration).await {
        Ok(a) => a,
        Err(e) => return fail(e),
    };
    // Step 5.
    if !auth.groups.iter().any(|g| g == group) {
        return fail(ServiceError::GroupCodeToToken);
    }
    // Steps 6–9.
    let bytes = read_body(body).await;
    let (st, b) = atol.register(&auth, group, operation, uuid.clone(), bytes.as_deref().map_err(Clone::clone)).await;
    json_reply(st, &b)
}

/// ATOL-91 step 2: 36 characters, 8-4-4-4-12 hex, any case.
fn is_uuid(u: &str) -> bool {
    u.len() == 36
        && u.bytes().enumerate().all(|(i, b)| if [8, 13, 18, 23].contains(&i) { b == b'-' } else { b.is_ascii_hexdigit() })
}

/// Report (§8.1, ATOL-91), checks in order.
async fn report(s: &ApiState, version: &str, group: &str, uuid: &str, query: Option<&str>) -> Response {
    let atol = s.core.atol();
    let err = |e: ServiceError| {
        let (st, b) = atol.report_error(&e, uuid, group);
        json_reply(st, &b)
    };
    if !atol.supports(version) || group.is_empty() {
        return err(ServiceError::StateBadRequest);
    }
    if !is_uuid(uuid) {
        return err(ServiceError::StateMissingUuid);
    }
    let uuid = uuid.to_ascii_lowercase();
    let token = query_param(query, "tokenid");
    let auth = match atol.authorize(token.as_deref(), TokenUse::Report).await {
        Ok(a) => a,
        Err(e) => return err(e),
    };
    let (st, b) = atol.report(&auth, group, &uuid).await;
    json_reply(st, &b)
}

// ---- admin ----

#[derive(Deserialize)]
struct ListQuery {
    tenant: Option<String>,
    group: Option<String>,
    state: Option<String>,
    limit: Option<i64>,
}

impl ListQuery {
    fn filter(self) -> AtolFilter {
        AtolFilter { tenant_id: self.tenant, group_code: self.group, state: self.state, limit: self.limit.unwrap_or(100).clamp(1, 1000) }
    }
}

/// A document as the admin API shows it: the stored row with its report.
#[derive(Serialize)]
struct DocumentView {
    #[serde(flatten)]
    row: AtolDocumentRow,
    report: Option<kassa_domain::atol::report::Report>,
}

async fn list_documents(_: Admin, State(s): State<ApiState>, q: Query<ListQuery>) -> Result<Json<Vec<DocumentView>>, AdminError> {
    let rows = s.core.store.atol_documents(&q.0.filter()).await?;
    Ok(Json(
        rows.into_iter()
            .map(|row| {
                let report = kassa_core::atol::report_of(&row).ok().map(|(_, r)| r);
                DocumentView { row, report }
            })
            .collect(),
    ))
}

async fn list_callbacks(_: Admin, State(s): State<ApiState>, q: Query<ListQuery>) -> Result<Json<Vec<AtolCallbackRow>>, AdminError> {
    Ok(Json(s.core.store.atol_callbacks(&q.0.filter()).await?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decoding_and_query() {
        // ATOL-14 (percent-decoded segments), ATOL-30 (form decoding), ATOL-43 (first tokenid)
        assert_eq!(decode("My%20Shop", false), "My Shop");
        assert_eq!(decode("a+b", false), "a+b");
        assert_eq!(decode("a+b%2B", true), "a b+");
        assert_eq!(decode("%", false), "%");
        assert_eq!(decode("%4", false), "%4");
        assert_eq!(decode("%zz", false), "%zz");
        assert_eq!(decode("%41", false), "A");
        assert_eq!(query_param(Some("tokenid=a&tokenid=b"), "tokenid").as_deref(), Some("a"));
        assert_eq!(query_param(Some("tokenid"), "tokenid").as_deref(), Some(""));
        assert_eq!(query_param(None, "tokenid"), None);
        assert!(is_uuid("2EA26F17-0884-4F08-B120-306FC096A58F"));
        assert!(!is_uuid("not-a-uuid"));
    }
}
