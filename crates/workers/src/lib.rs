//! Background workers of Kassa and their runtime.
//!
//! A worker does one unit of work per [`Worker::run_once`] call and says whether more is
//! waiting. The runtime ([`spawn`]) calls it in a loop until shut down: at once while it is
//! busy, after `idle` when it is idle, and with a growing back-off after an error. Tests call
//! `run_once()` directly instead of sleeping. Workers for the fiscal queue dispatcher, callback
//! outbox, OFD uplink and timeouts live here as they arrive.
//!
//! May depend on the core and the store ports; never on axum or a concrete store.

pub mod atol;
pub mod fiscal;
pub mod loyalty;

use async_trait::async_trait;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

/// What one step found.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Step {
    /// Did work; more may be waiting.
    Busy,
    /// Nothing to do now.
    Idle,
}

#[async_trait]
pub trait Worker: Send + 'static {
    fn name(&self) -> &'static str;
    /// One unit of work. An error is logged and retried after a back-off.
    async fn run_once(&mut self) -> Result<Step, String>;
}

/// Pacing of a supervised worker.
#[derive(Clone, Copy, Debug)]
pub struct Pacing {
    pub idle: Duration,
    pub error_backoff_max: Duration,
}

impl Default for Pacing {
    fn default() -> Self {
        Self { idle: Duration::from_millis(200), error_backoff_max: Duration::from_secs(30) }
    }
}

/// Runs `worker` until `cancel` fires; the current step always finishes first.
pub fn spawn<W: Worker>(mut worker: W, pacing: Pacing, cancel: CancellationToken) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut backoff = Duration::from_millis(100);
        loop {
            if cancel.is_cancelled() {
                break;
            }
            let pause = match worker.run_once().await {
                Ok(Step::Busy) => {
                    backoff = Duration::from_millis(100);
                    tokio::task::yield_now().await;
                    continue;
                }
                Ok(Step::Idle) => {
                    backoff = Duration::from_millis(100);
                    pacing.idle
                }
                Err(e) => {
                    tracing::warn!(worker = worker.name(), error = %e, retry_in_ms = backoff.as_millis() as u64, "worker step failed");
                    let pause = backoff;
                    backoff = (backoff * 2).min(pacing.error_backoff_max);
                    pause
                }
            };
            tokio::select! {
                _ = cancel.cancelled() => break,
                _ = tokio::time::sleep(pause) => {}
            }
        }
        tracing::debug!(worker = worker.name(), "worker stopped");
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};

    /// Drains a fixed amount of work, failing once on the way.
    struct Countdown {
        left: usize,
        failed: bool,
        steps: Arc<AtomicUsize>,
    }

    #[async_trait]
    impl Worker for Countdown {
        fn name(&self) -> &'static str {
            "countdown"
        }
        async fn run_once(&mut self) -> Result<Step, String> {
            self.steps.fetch_add(1, Ordering::SeqCst);
            if self.left == 2 && !self.failed {
                self.failed = true;
                return Err("transient".into());
            }
            if self.left == 0 {
                return Ok(Step::Idle);
            }
            self.left -= 1;
            Ok(Step::Busy)
        }
    }

    #[tokio::test(start_paused = true)]
    async fn runs_until_idle_retries_errors_and_stops_on_cancel() {
        let steps = Arc::new(AtomicUsize::new(0));
        let cancel = CancellationToken::new();
        let w = Countdown { left: 5, failed: false, steps: steps.clone() };
        let handle = spawn(w, Pacing::default(), cancel.clone());
        tokio::time::sleep(Duration::from_secs(1)).await;
        // 5 busy steps + 1 failure + at least one idle step.
        assert!(steps.load(Ordering::SeqCst) >= 7, "steps: {}", steps.load(Ordering::SeqCst));
        cancel.cancel();
        handle.await.unwrap();
        let after = steps.load(Ordering::SeqCst);
        tokio::time::sleep(Duration::from_secs(5)).await;
        assert_eq!(steps.load(Ordering::SeqCst), after, "no steps after shutdown");
    }
}
