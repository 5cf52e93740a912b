//! Client of the Frontol event collector (`POST /frontol/events`) and its query API.

use crate::{ClientError, Kassa, Reply};
use reqwest::Method;
use serde_json::Value;

/// `path?k=v&…` with the pairs form-encoded (reqwest's `query` needs a feature we do not build).
fn with_query(path: &str, query: &[(&str, &str)]) -> String {
    let mut url = reqwest::Url::parse("http://x").expect("static URL");
    url.query_pairs_mut().extend_pairs(query);
    match url.query() {
        Some(q) if !q.is_empty() => format!("{path}?{q}"),
        _ => path.to_owned(),
    }
}

impl Kassa {
    /// `POST {base}/frontol/events` with a body sent verbatim (it may be lenient JSON, EVT-34).
    pub async fn post_events_raw(&self, body: impl Into<String>) -> Result<Reply, ClientError> {
        let req = self.request(Method::POST, "/frontol/events").header("content-type", "application/json").body(body.into());
        self.send(req).await
    }

    /// `POST {base}/frontol/events` with a JSON envelope.
    pub async fn post_events(&self, envelope: &Value) -> Result<Reply, ClientError> {
        self.send(self.request(Method::POST, "/frontol/events").json(envelope)).await
    }

    /// `GET /api/events` with query parameters named as on the wire.
    pub async fn events(&self, query: &[(&str, &str)]) -> Result<Reply, ClientError> {
        self.send(self.admin(Method::GET, &with_query("/events", query))).await
    }

    /// `GET /api/events/groups/{group_id}`.
    pub async fn event_timeline(&self, group_id: &str, query: &[(&str, &str)]) -> Result<Reply, ClientError> {
        self.send(self.admin(Method::GET, &with_query(&format!("/events/groups/{group_id}"), query))).await
    }

    /// `GET /api/events/rules/{tenant}`.
    pub async fn event_rules(&self, tenant: &str) -> Result<Reply, ClientError> {
        self.send(self.admin(Method::GET, &format!("/events/rules/{tenant}"))).await
    }

    /// `PUT /api/events/rules/{tenant}`.
    pub async fn put_event_rules(&self, tenant: &str, body: &Value) -> Result<Reply, ClientError> {
        self.send(self.admin(Method::PUT, &format!("/events/rules/{tenant}")).json(body)).await
    }

    /// `GET /api/events/stream`: the open response, to be read as Server-Sent Events.
    pub async fn event_stream(&self, query: &[(&str, &str)]) -> Result<reqwest::Response, ClientError> {
        let req = self.admin(Method::GET, &with_query("/events/stream", query));
        let url = self.base().to_owned();
        req.send().await.map_err(|source| ClientError::Http { url, source })
    }

    /// Every event matching `query`, following the `next` cursor (tests, tools).
    pub async fn all_events(&self, query: &[(&str, &str)]) -> Result<Vec<Value>, ClientError> {
        let mut out = Vec::new();
        let mut after: Option<String> = None;
        loop {
            let mut q: Vec<(&str, &str)> = query.to_vec();
            q.push(("limit", "1000"));
            if let Some(a) = &after {
                q.push(("after", a));
            }
            let r = self.events(&q).await?;
            if let Some(list) = r.body["events"].as_array() {
                out.extend(list.iter().cloned());
            }
            match r.body["next"].as_str() {
                Some(n) => after = Some(n.to_owned()),
                None => return Ok(out),
            }
        }
    }
}

impl Kassa {
    /// The same client with another per-request timeout (the POS uses 3 s, EVT-46).
    pub fn with_timeout(mut self, timeout: std::time::Duration) -> Self {
        self.http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(timeout)
            .build()
            .expect("a client without TLS always builds");
        self
    }

    /// `POST /frontol/events` and only the HTTP status: a POS treats `200` as acceptance whatever
    /// the body says (EVT-6).
    pub async fn post_events_status(&self, envelope: &Value) -> Result<reqwest::StatusCode, ClientError> {
        let url = format!("{}/frontol/events", self.base());
        let resp = self
            .request(Method::POST, "/frontol/events")
            .json(envelope)
            .send()
            .await
            .map_err(|source| ClientError::Http { url: url.clone(), source })?;
        let status = resp.status();
        // Read the body so the connection can be reused; its content does not matter.
        let _ = resp.bytes().await;
        Ok(status)
    }
}
