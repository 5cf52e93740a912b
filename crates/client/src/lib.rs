//! Typed HTTP clients for Kassa: health, the admin API, and (as they arrive) one client per
//! protocol face. Used by the tests of every tier, `kassa bench` and `kassa pos`.
//!
//! Calls return the HTTP status with the decoded JSON body, so tests can assert on both.
//! May depend on reqwest and serde only; never on the server's internals.

pub mod atol;
mod fiscal;
mod events;

use reqwest::StatusCode;
use serde::Serialize;
use serde_json::Value;

#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    #[error("request to {url} failed: {source}")]
    Http { url: String, source: reqwest::Error },
    #[error("{url} answered {status} with a body that is not JSON: {body}")]
    NotJson { url: String, status: StatusCode, body: String },
}

/// An HTTP status and the JSON body that came with it.
#[derive(Clone, Debug, PartialEq)]
pub struct Reply {
    pub status: StatusCode,
    pub body: Value,
}

/// A client of one Kassa server.
#[derive(Clone, Debug)]
pub struct Kassa {
    base: String,
    http: reqwest::Client,
    admin_token: Option<String>,
}

impl Kassa {
    /// `base` is e.g. `http://127.0.0.1:8080`.
    pub fn new(base: impl Into<String>) -> Self {
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(std::time::Duration::from_secs(30))
            .build()
            .expect("a client without TLS always builds");
        Self { base: base.into().trim_end_matches('/').to_owned(), http, admin_token: None }
    }

    pub fn with_admin_token(mut self, token: impl Into<String>) -> Self {
        self.admin_token = Some(token.into());
        self
    }

    pub fn base(&self) -> &str {
        &self.base
    }

    /// Sends any request and decodes the JSON reply (an empty body decodes as `null`).
    pub async fn send(&self, req: reqwest::RequestBuilder) -> Result<Reply, ClientError> {
        let req = req.build().map_err(|source| ClientError::Http { url: self.base.clone(), source })?;
        let url = req.url().to_string();
        let resp = self.http.execute(req).await.map_err(|source| ClientError::Http { url: url.clone(), source })?;
        let status = resp.status();
        let bytes = resp.bytes().await.map_err(|source| ClientError::Http { url: url.clone(), source })?;
        if bytes.is_empty() {
            return Ok(Reply { status, body: Value::Null });
        }
        let body = serde_json::from_slice(&bytes).map_err(|_| ClientError::NotJson {
            url,
            status,
            body: String::from_utf8_lossy(&bytes).into_owned(),
        })?;
        Ok(Reply { status, body })
    }

    pub fn request(&self, method: reqwest::Method, path: &str) -> reqwest::RequestBuilder {
        self.http.request(method, format!("{}{path}", self.base))
    }

    pub(crate) fn admin(&self, method: reqwest::Method, path: &str) -> reqwest::RequestBuilder {
        let req = self.request(method, &format!("/api{path}"));
        match &self.admin_token {
            Some(t) => req.bearer_auth(t),
            None => req,
        }
    }

    pub async fn healthz(&self) -> Result<Reply, ClientError> {
        self.send(self.request(reqwest::Method::GET, "/healthz")).await
    }

    pub async fn readyz(&self) -> Result<Reply, ClientError> {
        self.send(self.request(reqwest::Method::GET, "/readyz")).await
    }

    pub async fn tenants(&self) -> Result<Reply, ClientError> {
        self.send(self.admin(reqwest::Method::GET, "/tenants")).await
    }

    pub async fn tenant(&self, id: &str) -> Result<Reply, ClientError> {
        self.send(self.admin(reqwest::Method::GET, &format!("/tenants/{id}"))).await
    }

    /// Applies a tenant document (anything serialisable to the `TenantSpec` JSON shape).
    pub async fn put_tenant(&self, id: &str, spec: &impl Serialize) -> Result<Reply, ClientError> {
        self.send(self.admin(reqwest::Method::PUT, &format!("/tenants/{id}")).json(spec)).await
    }

    pub async fn openapi(&self) -> Result<Reply, ClientError> {
        self.send(self.request(reqwest::Method::GET, "/api/openapi.json")).await
    }
}
