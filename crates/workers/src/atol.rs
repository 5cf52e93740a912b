//! ATOL Online workers: the queue timeout (ATOL-81), the callback outbox (ATOL-76..78) and the
//! dispatcher over the [`AtolRegisters`] port (§7).

use crate::{Step, Worker};
use async_trait::async_trait;
use kassa_core::Core;
use kassa_core::atol::{AtolRegisters, DispatchState};
use kassa_store::atol::{AtolCallbackAttempt, AtolCallbackRow};
use std::sync::Arc;
use std::time::Duration;

/// Documents one register takes per dispatcher step (they share the store's commits).
pub const DISPATCH_BATCH: usize = 32;
/// Documents one timeout step moves at most.
const EXPIRE_BATCH: i64 = 500;
/// Callbacks one outbox step sends at most (concurrently).
const CALLBACK_BATCH: i64 = 64;
/// ATOL-78 (D-31): each attempt has a 10-second timeout.
pub const CALLBACK_TIMEOUT: Duration = Duration::from_secs(10);
/// Most bytes of a callback answer read; the rest is dropped unread.
pub const CALLBACK_MAX_RESPONSE: usize = 64 * 1024;

/// Fails documents that waited longer than `QUEUE_TIMEOUT` in their queue (ATOL-81).
pub struct AtolTimeouts {
    pub core: Core,
}

#[async_trait]
impl Worker for AtolTimeouts {
    fn name(&self) -> &'static str {
        "atol-timeouts"
    }
    async fn run_once(&mut self) -> Result<Step, String> {
        let n = self.core.atol().expire_queued(EXPIRE_BATCH).await?;
        if n > 0 {
            tracing::info!(documents = n, "ATOL documents failed by queue timeout");
        }
        Ok(if n as i64 >= EXPIRE_BATCH { Step::Busy } else { Step::Idle })
    }
}

/// Posts final reports to `callback_url` from the persistent outbox: at least once across
/// restarts, 10 s per attempt, no redirects, bounded answer, attempts at +0 s, +30 s, +120 s.
pub struct AtolCallbacks {
    core: Core,
    http: reqwest::Client,
}

impl AtolCallbacks {
    pub fn new(core: Core) -> Self {
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(CALLBACK_TIMEOUT)
            .build()
            .expect("a client without TLS always builds");
        Self { core, http }
    }
}

/// One POST; the HTTP status, or why there is none.
async fn deliver(http: &reqwest::Client, cb: &AtolCallbackRow) -> Result<u16, String> {
    let mut resp = http
        .post(&cb.url)
        .header(reqwest::header::CONTENT_TYPE, "application/json; charset=utf-8")
        .body(cb.body.clone())
        .send()
        .await
        .map_err(|e| e.to_string())?;
    let status = resp.status().as_u16();
    // Read (and discard) at most CALLBACK_MAX_RESPONSE bytes so the connection can be reused.
    let mut read = 0;
    while read < CALLBACK_MAX_RESPONSE {
        match resp.chunk().await {
            Ok(Some(c)) => read += c.len(),
            _ => break,
        }
    }
    Ok(status)
}

#[async_trait]
impl Worker for AtolCallbacks {
    fn name(&self) -> &'static str {
        "atol-callbacks"
    }
    async fn run_once(&mut self) -> Result<Step, String> {
        let now = self.core.clock.now_ms();
        let due = self.core.store.atol_due_callbacks(now, CALLBACK_BATCH).await.map_err(|e| e.to_string())?;
        if due.is_empty() {
            return Ok(Step::Idle);
        }
        let mut tasks = tokio::task::JoinSet::new();
        for cb in due.iter().cloned() {
            let http = self.http.clone();
            tasks.spawn(async move {
                let r = deliver(&http, &cb).await;
                (cb, r)
            });
        }
        let delays = self.core.atol.settings.callback_delays_ms.clone();
        while let Some(joined) = tasks.join_next().await {
            let Ok((cb, result)) = joined else { continue };
            let now = self.core.clock.now_ms();
            let made = cb.attempts + 1;
            let (ok, status, error) = match result {
                Ok(s) => ((200..300).contains(&s), Some(i64::from(s)), None),
                Err(e) => (false, None, Some(e)),
            };
            let (state, next_at) = match delays.get(made as usize) {
                _ if ok => ("delivered", now),
                Some(d) => ("pending", now.max(cb.created_at_ms + d)),
                None => ("failed", now),
            };
            let attempt = AtolCallbackAttempt {
                uuid: cb.uuid.clone(),
                from_attempts: cb.attempts,
                state: state.into(),
                next_at_ms: next_at,
                last_status: status,
                last_error: error,
                now_ms: now,
            };
            self.core.store.atol_callback_attempt(&attempt).await.map_err(|e| e.to_string())?;
            if state != "pending" {
                tracing::info!(uuid = %cb.uuid, state, attempts = made, "ATOL callback finished");
            }
        }
        Ok(if due.len() as i64 >= CALLBACK_BATCH { Step::Busy } else { Step::Idle })
    }
}

/// Takes queued documents to the group's registers through the port the fiscal engine
/// implements (ATOL-5..10, ATOL-82..86).
pub struct AtolDispatcher {
    pub core: Core,
    pub registers: Arc<dyn AtolRegisters>,
    pub state: DispatchState,
}

impl AtolDispatcher {
    pub fn new(core: Core, registers: Arc<dyn AtolRegisters>) -> Self {
        Self { core, registers, state: DispatchState::with_batch(DISPATCH_BATCH) }
    }
}

#[async_trait]
impl Worker for AtolDispatcher {
    fn name(&self) -> &'static str {
        "atol-dispatcher"
    }
    async fn run_once(&mut self) -> Result<Step, String> {
        let r = self.core.atol().dispatch_once(self.registers.as_ref(), &mut self.state).await?;
        Ok(if r.attempts > 0 { Step::Busy } else { Step::Idle })
    }
}
