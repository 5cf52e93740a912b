//! `kassa pos`: a Frontol cash-desk simulator for demos and load. It makes realistic sales
//! ([`sim`]) at a chosen rate and sends their frontol-events.md events the way the POS side of
//! the spec prescribes ([`queue`]): directly while the server answers, through a durable outbox
//! ([`outbox`], a small SQLite file) while it does not, drained in batches of at most 500 when
//! the desk is idle, with back-off, depth eviction and poison-event isolation (EVT-42..EVT-47).
//!
//! With a loyalty key the desk is also a Frontol loyalty client ([`loyalty`], frontol-loyalty.md
//! §9): prechecks, bonus payments and confirms go to the loyalty face, and the events carry what
//! it answered; confirms that cannot be delivered wait in the outbox file (§9.7).
//!
//! May depend on `kassa-client` and reqwest (HTTP), `kassa-domain` (timestamps, the loyalty token),
//! `kassa-money`, rusqlite and tokio; never on the server's internals.

pub mod loyalty;
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
    /// The server URL configured in the POS; events go to {url}/events (EVT-2). A URL without a
    /// path means the default prefix: http://host:8080 → http://host:8080/frontol/events.
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
    /// After the last scenario, keep draining the queues for up to this many seconds.
    #[arg(long, default_value_t = 30)]
    pub drain_secs: u64,
    /// The loyalty server URL configured in the POS (frontol-loyalty.md LOY-2); default: the
    /// scheme, host and port of --url followed by /frontol.
    #[arg(long)]
    pub loyalty_url: Option<String>,
    /// The Frontol API access key (LOY-12); the demo tenant's is `password`.
    #[arg(long)]
    pub loyalty_key: Option<String>,
    /// Send loyalty requests; default: on when --loyalty-key is given.
    #[arg(long, value_enum)]
    pub loyalty: Option<OnOff>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum OnOff {
    On,
    Off,
}

/// Sends over HTTP with the Kassa client whose base is the POS's server URL: `POST {base}/events`.
pub struct Http(pub Kassa);

impl Transport for Http {
    async fn send(&self, envelope: &Envelope, events: &[Value]) -> Outcome {
        let sent = self.0.request(reqwest::Method::POST, "/events").json(&queue::body(envelope, events)).send().await;
        match sent {
            Ok(resp) => {
                let status = resp.status();
                // Read the body so the connection can be reused; a POS treats any 200 as
                // acceptance whatever the body says (EVT-6).
                let _ = resp.bytes().await;
                Outcome::of_status(Some(status.as_u16()))
            }
            Err(e) => {
                tracing::debug!(error = %e, "events not delivered");
                Outcome::of_status(None)
            }
        }
    }
}

/// Splits `--url` into the origin (`http://host:port`) and the path prefix the POS posts events
/// under: the URL's path, or `/frontol` when it has none.
pub fn event_base(url: &str) -> (String, String) {
    let url = url.trim_end_matches('/');
    let after_scheme = url.find("://").map_or(0, |i| i + 3);
    match url[after_scheme..].find('/') {
        Some(i) => (url[..after_scheme + i].to_owned(), url[after_scheme + i..].to_owned()),
        None => (url.to_owned(), "/frontol".to_owned()),
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
    let (origin, prefix) = event_base(&args.url);
    let client = Kassa::new(format!("{origin}{prefix}")).with_timeout(Duration::from_millis(args.timeout_ms));
    let settings = Settings {
        queue_enabled: !args.no_queue,
        max_depth_ms: args.max_depth_secs.saturating_mul(1000),
        backoff_start: Duration::from_millis(args.backoff_ms),
        backoff_max: Duration::from_millis(args.backoff_max_ms.max(args.backoff_ms)),
    };
    let envelope = Envelope { organization: args.organization.clone(), business_unit: args.business_unit.clone(), work_place: args.work_place.clone() };
    let loyalty_on = args.loyalty.map_or(args.loyalty_key.is_some(), |o| o == OnOff::On);
    let loyalty = if loyalty_on {
        let url = args.loyalty_url.clone().unwrap_or_else(|| format!("{origin}/frontol"));
        let outbox = Outbox::open(&args.outbox).with_context(|| format!("cannot open the outbox {}", args.outbox.display()))?;
        let (start, max) = (settings.backoff_start, settings.backoff_max);
        Some(loyalty::HttpLoyalty::new(&url, args.loyalty_key.clone(), envelope.clone(), outbox, start, max, Duration::from_millis(args.timeout_ms)))
    } else {
        None
    };
    let mut desk = sim::Desk::new(args.seed, start, args.cashier.clone(), loyalty);
    let mut sender = Sender::new(Http(client), outbox, settings);
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
        for (event, at) in desk.next_scenario().await? {
            sender.event(&envelope, event, at).await?;
        }
        // The document is closed: the desk is idle, so the queues may drain (EVT-43, §9.7).
        sender.drain(Instant::now()).await?;
        if let Some(l) = desk.loyalty() {
            l.drain(Instant::now()).await?;
        }
        n += 1;
        tokio::select! {
            _ = tokio::time::sleep(Duration::from_millis(args.interval_ms)) => {}
            _ = tokio::signal::ctrl_c() => break true,
        }
    };
    let deadline = Instant::now() + Duration::from_secs(args.drain_secs);
    while !interrupted && Instant::now() < deadline {
        let events_done = sender.drain(Instant::now()).await?;
        let confirms_done = match desk.loyalty() {
            Some(l) => l.drain(Instant::now()).await?,
            None => true,
        };
        if events_done && confirms_done {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let s = sender.stats;
    let queued_now = sender.outbox().len()?;
    let loyalty = match desk.loyalty() {
        Some(l) => {
            let t = l.stats;
            json!({
                "prechecks": t.prechecks, "prechecks_failed": t.prechecks_failed, "bonus_payments": t.bonus_payments,
                "bonus_cancelled": t.bonus_cancelled, "confirms_direct": t.confirms_direct, "confirms_queued": t.confirms_queued,
                "confirms_from_queue": t.confirms_from_queue, "confirms_refused": t.confirms_refused,
                "confirms_left_in_queue": l.outbox().confirms_len()?,
            })
        }
        None => Value::Null,
    };
    println!(
        "{}",
        json!({
            "scenarios": n, "generated": s.generated, "sent_direct": s.sent_direct, "sent_from_queue": s.sent_from_queue,
            "queued": s.queued, "evicted": s.evicted, "dropped": s.dropped, "requests": s.requests, "left_in_queue": queued_now,
            "loyalty": loyalty,
        })
    );
    Ok(s)
}

#[cfg(test)]
mod tests {
    /// EVT-2: `/events` is appended to the configured server URL; a bare host means `/frontol`.
    #[test]
    fn evt_2_event_url_follows_the_configured_server_url() {
        let b = |u: &str| super::event_base(u);
        assert_eq!(b("http://h:8080"), ("http://h:8080".into(), "/frontol".into()));
        assert_eq!(b("http://h:8080/"), ("http://h:8080".into(), "/frontol".into()));
        assert_eq!(b("http://h:8080/frontol"), ("http://h:8080".into(), "/frontol".into()));
        assert_eq!(b("http://h/shop/pos/"), ("http://h".into(), "/shop/pos".into()));
    }
}
