//! `kassa pos`: a Frontol cash-desk simulator for demos and load. It makes realistic sales
//! ([`sim`]) at a chosen rate and sends their frontol-events.md events the way the POS side of
//! the spec prescribes ([`queue`]): directly while the server answers, through a durable outbox
//! ([`outbox`], a small SQLite file) while it does not, drained in batches of at most 500 when
//! the desk is idle, with back-off, depth eviction and poison-event isolation (EVT-42..EVT-47).
//!
//! Loyalty (frontol-loyalty.md) is a seam: [`sim::Loyalty`] is asked how much bonus a card pays;
//! today [`sim::LocalBonus`] answers locally, later a client of the loyalty face will.
//!
//! May depend on `kassa-client` (HTTP), `kassa-domain` (timestamps), `kassa-money`, rusqlite
//! and tokio; never on the server's internals.

pub mod outbox;
pub mod queue;
pub mod sim;

use anyhow::Context;
use kassa_client::Kassa;
use outbox::{Envelope, Outbox};
use queue::{Outcome, Sender, Settings, Transport};
use serde_json::{Value, json};
use std::path::PathBuf;
use std::time::{Duration, Instant};

/// Command-line options of `kassa pos`.
#[derive(Clone, Debug, clap::Args)]
pub struct PosArgs {
    /// Base URL of the Kassa server; events go to {url}/frontol/events.
    #[arg(long, default_value = "http://127.0.0.1:8080")]
    pub url: String,
    /// The outbox queue file (created if missing; survives restarts).
    #[arg(long, default_value = "kassa-pos-outbox.db")]
    pub outbox: PathBuf,
    #[arg(long, default_value = "ООО Ромашка")]
    pub organization: String,
    #[arg(long, default_value = "Магазин на ул. Ленина")]
    pub business_unit: String,
    #[arg(long, default_value = "POS 1")]
    pub work_place: String,
    #[arg(long, default_value = "Иванов Иван Иванович")]
    pub cashier: String,
    /// Scenarios (sales, refunds, errors, ...) to make; 0 = until interrupted.
    #[arg(long, default_value_t = 0)]
    pub sales: u64,
    /// Real milliseconds between two scenarios (the rate).
    #[arg(long, default_value_t = 1000)]
    pub interval_ms: u64,
    /// Simulated seconds between two scenarios (fast-forward); default: follow the real clock.
    #[arg(long)]
    pub sim_step_secs: Option<i64>,
    /// Simulated start, ISO 8601 with offset; default: now.
    #[arg(long)]
    pub start: Option<String>,
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Maximum depth of the queue in time (EVT-44), seconds.
    #[arg(long, default_value_t = 72 * 3600)]
    pub max_depth_secs: i64,
    /// Disable the send queue: unsent events are dropped (EVT-42).
    #[arg(long)]
    pub no_queue: bool,
    /// First back-off after a failed drain, milliseconds (doubles up to --backoff-max-ms).
    #[arg(long, default_value_t = 5_000)]
    pub backoff_ms: u64,
    #[arg(long, default_value_t = 300_000)]
    pub backoff_max_ms: u64,
    /// Timeout of one request, milliseconds.
    #[arg(long, default_value_t = 3_000)]
    pub timeout_ms: u64,
    /// After the last scenario, keep draining the queue for up to this many seconds.
    #[arg(long, default_value_t = 30)]
    pub drain_secs: u64,
}

/// Sends over HTTP with the Kassa client.
pub struct Http(pub Kassa);

impl Transport for Http {
    async fn send(&self, envelope: &Envelope, events: &[Value]) -> Outcome {
        match self.0.post_events_status(&queue::body(envelope, events)).await {
            Ok(status) => Outcome::of_status(Some(status.as_u16())),
            Err(e) => {
                tracing::debug!(error = %e, "events not delivered");
                Outcome::of_status(None)
            }
        }
    }
}

fn now_ms() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_millis() as i64).unwrap_or(0)
}

/// Runs the simulator; prints a JSON summary line on stdout at the end.
pub async fn run(args: PosArgs) -> anyhow::Result<queue::Stats> {
    let start = match &args.start {
        Some(s) => kassa_domain::events::timestamp::parse_ms(s).with_context(|| format!("--start '{s}' is not ISO 8601 with an offset"))?,
        None => now_ms(),
    };
    let outbox = Outbox::open(&args.outbox).with_context(|| format!("cannot open the outbox {}", args.outbox.display()))?;
    let client = Kassa::new(args.url.trim_end_matches('/').trim_end_matches("/frontol")).with_timeout(Duration::from_millis(args.timeout_ms));
    let settings = Settings {
        queue_enabled: !args.no_queue,
        max_depth_ms: args.max_depth_secs.saturating_mul(1000),
        backoff_start: Duration::from_millis(args.backoff_ms),
        backoff_max: Duration::from_millis(args.backoff_max_ms.max(args.backoff_ms)),
    };
    let mut sender = Sender::new(Http(client), outbox, settings);
    let envelope = Envelope { organization: args.organization.clone(), business_unit: args.business_unit.clone(), work_place: args.work_place.clone() };
    let mut desk = sim::Desk::new(args.seed, start, args.cashier.clone(), sim::LocalBonus);
    let real_start = now_ms();
    let mut n = 0u64;
    let interrupted = loop {
        if args.sales > 0 && n >= args.sales {
            break false;
        }
        desk.set_now(match args.sim_step_secs {
            Some(step) => start + i64::try_from(n).unwrap_or(i64::MAX).saturating_mul(step.saturating_mul(1000)),
            None => start + (now_ms() - real_start),
        });
        for (event, at) in desk.next_scenario() {
            sender.event(&envelope, event, at).await?;
        }
        // The document is closed: the desk is idle, so the queue may drain (EVT-43).
        sender.drain(Instant::now()).await?;
        n += 1;
        tokio::select! {
            _ = tokio::time::sleep(Duration::from_millis(args.interval_ms)) => {}
            _ = tokio::signal::ctrl_c() => break true,
        }
    };
    let deadline = Instant::now() + Duration::from_secs(args.drain_secs);
    while !interrupted && !sender.drain(Instant::now()).await? && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let s = sender.stats;
    let queued_now = sender.outbox().len()?;
    println!(
        "{}",
        json!({
            "scenarios": n, "generated": s.generated, "sent_direct": s.sent_direct, "sent_from_queue": s.sent_from_queue,
            "queued": s.queued, "evicted": s.evicted, "dropped": s.dropped, "requests": s.requests, "left_in_queue": queued_now,
        })
    );
    Ok(s)
}
