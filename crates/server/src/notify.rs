//! The SMS-gateway webhook for loyalty validation codes (LOY-69): the HTTP call lives here, in
//! the server layer, behind the core's `Notifier` port.

use async_trait::async_trait;
use bytes::Bytes;
use http_body_util::Full;
use hyper::Request;
use kassa_core::loyalty::{Notification, Notifier};
use std::time::Duration;

/// POSTs `{"tenant","phone","text"}` to an `http://` URL, in the background (the precheck
/// answer does not wait); failures are logged.
pub struct Webhook {
    pub url: String,
}

#[async_trait]
impl Notifier for Webhook {
    async fn notify(&self, n: Notification) {
        let url = self.url.clone();
        tokio::spawn(async move {
            let sent = tokio::time::timeout(Duration::from_secs(10), post(&url, &n)).await;
            match sent {
                Ok(Ok(status)) if (200..300).contains(&status) => tracing::info!(tenant = %n.tenant, "validation code sent to the SMS webhook"),
                Ok(Ok(status)) => tracing::warn!(status, "SMS webhook refused the validation code"),
                Ok(Err(e)) => tracing::warn!(error = %e, "SMS webhook unreachable"),
                Err(_) => tracing::warn!("SMS webhook timed out"),
            }
        });
    }
}

async fn post(url: &str, n: &Notification) -> anyhow::Result<u16> {
    let rest = url.strip_prefix("http://").ok_or_else(|| anyhow::anyhow!("only http:// webhooks"))?;
    let (authority, path) = match rest.find('/') {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, "/"),
    };
    let stream = tokio::net::TcpStream::connect(authority).await?;
    let (mut sender, conn) = hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(stream)).await?;
    tokio::spawn(conn);
    let body = serde_json::json!({"tenant": n.tenant, "phone": n.phone, "text": n.text}).to_string();
    let req = Request::post(path)
        .header("host", authority)
        .header("content-type", "application/json")
        .body(Full::new(Bytes::from(body)))?;
    Ok(sender.send_request(req).await?.status().as_u16())
}
