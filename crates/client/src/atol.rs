//! Typed calls of the ATOL Online v3 face (`/possystem/v3/…`) and its admin listings.

use crate::{ClientError, Kassa, Reply};
use reqwest::Method;
use serde_json::Value;

/// Percent-encodes a path segment or query value (everything but unreserved characters).
pub fn encode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

impl Kassa {
    /// `POST /possystem/v3/getToken` with `{"login", "pass"}` (ATOL-29).
    pub async fn atol_token(&self, login: &str, pass: &str) -> Result<Reply, ClientError> {
        let body = serde_json::json!({"login": login, "pass": pass});
        self.send(self.request(Method::POST, "/possystem/v3/getToken").json(&body)).await
    }

    /// `GET /possystem/v3/getToken?login=…&pass=…` (ATOL-30).
    pub async fn atol_token_get(&self, login: &str, pass: &str) -> Result<Reply, ClientError> {
        let path = format!("/possystem/v3/getToken?login={}&pass={}", encode(login), encode(pass));
        self.send(self.request(Method::GET, &path)).await
    }

    /// `POST /possystem/v3/<group>/<operation>?tokenid=<token>` with a JSON body (ATOL-45).
    pub async fn atol_register(&self, group: &str, operation: &str, token: &str, body: &Value) -> Result<Reply, ClientError> {
        self.atol_register_raw(group, operation, token, serde_json::to_vec(body).unwrap_or_default()).await
    }

    /// As [`Kassa::atol_register`] with the body bytes as given.
    pub async fn atol_register_raw(&self, group: &str, operation: &str, token: &str, body: Vec<u8>) -> Result<Reply, ClientError> {
        let path = format!("/possystem/v3/{}/{}?tokenid={}", encode(group), encode(operation), encode(token));
        self.send(self.request(Method::POST, &path).body(body)).await
    }

    /// `GET /possystem/v3/<group>/report/<uuid>?tokenid=<token>` (ATOL-90).
    pub async fn atol_report(&self, group: &str, uuid: &str, token: &str) -> Result<Reply, ClientError> {
        let path = format!("/possystem/v3/{}/report/{}?tokenid={}", encode(group), encode(uuid), encode(token));
        self.send(self.request(Method::GET, &path)).await
    }

    /// `GET /api/atol/documents?…` (admin): stored documents with their reports.
    pub async fn atol_documents(&self, query: &str) -> Result<Reply, ClientError> {
        self.send(self.admin(Method::GET, &format!("/atol/documents?{query}"))).await
    }

    /// `GET /api/atol/callbacks?…` (admin): the callback outbox and each delivery state.
    pub async fn atol_callbacks(&self, query: &str) -> Result<Reply, ClientError> {
        self.send(self.admin(Method::GET, &format!("/atol/callbacks?{query}"))).await
    }
}
