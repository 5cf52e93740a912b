//! The POS side of event sending (EVT-42..EVT-47): direct sends while the queue is empty,
//! queueing on failure, draining in batches of at most 500 when idle, back-off, and isolating a
//! poison event by halving. Transport-agnostic, so the rules are tested with a scripted server.

use crate::outbox::{Entry, Envelope, Outbox};
use serde_json::{Value, json};
use std::time::{Duration, Instant};

/// Batches of at most 500 events (EVT-41, EVT-45).
pub const MAX_BATCH: usize = 500;

/// How the server answered a request, as the queue sees it (EVT-46 steps 2 and 5).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// `200`, whatever the body (EVT-6).
    Accepted,
    /// Connection failure, timeout, `408`, `429` or `5xx`: keep and retry later.
    Retry,
    /// `413`: split the batch.
    TooLarge,
    /// `400`: split a batch, drop a single event.
    BadRequest,
    /// Any other status: never retried.
    Rejected(u16),
}

impl Outcome {
    /// `None` stands for a transport failure or timeout.
    pub fn of_status(status: Option<u16>) -> Self {
        match status {
            Some(200) => Self::Accepted,
            None | Some(408 | 429 | 500..=599) => Self::Retry,
            Some(413) => Self::TooLarge,
            Some(400) => Self::BadRequest,
            Some(s) => Self::Rejected(s),
        }
    }
}

/// Sends one request: the envelope and events, in order.
pub trait Transport {
    fn send(&self, envelope: &Envelope, events: &[Value]) -> impl std::future::Future<Output = Outcome> + Send;
}

/// The request body of EVT-11 (strict JSON, EVT-34).
pub fn body(envelope: &Envelope, events: &[Value]) -> Value {
    json!({
        "organization": envelope.organization,
        "businessUnit": envelope.business_unit,
        "workPlace": envelope.work_place,
        "events": events,
    })
}

/// Queue parameters (EVT-46; defaults in brackets there).
#[derive(Clone, Debug)]
pub struct Settings {
    /// The "send queue" setting of EVT-42; off → unsent events are dropped.
    pub queue_enabled: bool,
    pub max_depth_ms: i64,
    pub backoff_start: Duration,
    pub backoff_max: Duration,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            queue_enabled: true,
            max_depth_ms: 72 * 3600 * 1000,
            backoff_start: Duration::from_secs(5),
            backoff_max: Duration::from_secs(300),
        }
    }
}

/// What happened to the events so far.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Stats {
    pub generated: u64,
    pub sent_direct: u64,
    pub sent_from_queue: u64,
    pub queued: u64,
    pub evicted: u64,
    pub dropped: u64,
    pub requests: u64,
}

pub struct Sender<T> {
    transport: T,
    outbox: Outbox,
    settings: Settings,
    backoff: Option<Duration>,
    retry_at: Option<Instant>,
    pub stats: Stats,
}

impl<T: Transport> Sender<T> {
    pub fn new(transport: T, outbox: Outbox, settings: Settings) -> Self {
        Self { transport, outbox, settings, backoff: None, retry_at: None, stats: Stats::default() }
    }

    pub fn outbox(&self) -> &Outbox {
        &self.outbox
    }

    fn enqueue(&mut self, envelope: &Envelope, event: &Value, occurred_ms: i64) -> anyhow::Result<()> {
        self.stats.evicted += self.outbox.push(envelope, event, occurred_ms, self.settings.max_depth_ms)? as u64;
        self.stats.queued += 1;
        Ok(())
    }

    async fn send(&mut self, envelope: &Envelope, events: &[Value]) -> Outcome {
        self.stats.requests += 1;
        self.transport.send(envelope, events).await
    }

    /// A new event occurred (EVT-46 step 2, EVT-47): queued while the queue is not empty, else
    /// sent at once and queued only when the server could not be reached.
    pub async fn event(&mut self, envelope: &Envelope, event: Value, occurred_ms: i64) -> anyhow::Result<()> {
        self.stats.generated += 1;
        if self.settings.queue_enabled && !self.outbox.is_empty()? {
            return self.enqueue(envelope, &event, occurred_ms);
        }
        match self.send(envelope, std::slice::from_ref(&event)).await {
            Outcome::Accepted => self.stats.sent_direct += 1,
            Outcome::Retry if self.settings.queue_enabled => self.enqueue(envelope, &event, occurred_ms)?,
            other => {
                // EVT-42 (queue disabled) or a status that is never retried (EVT-46 step 2).
                self.stats.dropped += 1;
                tracing::warn!(?other, event = %event, "event not accepted and not queued: dropped");
            }
        }
        Ok(())
    }

    /// Whether a back-off is pending at `now`.
    pub fn waiting(&self, now: Instant) -> bool {
        self.retry_at.is_some_and(|t| now < t)
    }

    /// Drains the queue while the POS is idle (EVT-43, EVT-46 steps 4 and 5): the oldest events,
    /// at most 500 with one envelope, one request at a time. Stops at a retryable failure and
    /// schedules the next attempt with a doubling back-off. Returns whether the queue is empty.
    pub async fn drain(&mut self, now: Instant) -> anyhow::Result<bool> {
        if self.waiting(now) {
            return Ok(false);
        }
        loop {
            let head = self.outbox.head(MAX_BATCH)?;
            if head.is_empty() {
                return Ok(true);
            }
            if !self.send_splitting(head).await? {
                let next = self.backoff.map_or(self.settings.backoff_start, |b| (b * 2).min(self.settings.backoff_max));
                self.backoff = Some(next);
                self.retry_at = Some(now + next);
                return Ok(false);
            }
            self.backoff = None;
            self.retry_at = None;
        }
    }

    /// Sends `entries`, halving on `413` and on `400` for more than one event so a bad event is
    /// isolated (EVT-46 step 5). `Ok(false)` when a retryable failure stopped it.
    async fn send_splitting(&mut self, entries: Vec<Entry>) -> anyhow::Result<bool> {
        let mut parts = vec![entries];
        while let Some(part) = parts.pop() {
            let events: Vec<Value> = part.iter().map(|e| e.event.clone()).collect();
            let seqs: Vec<i64> = part.iter().map(|e| e.seq).collect();
            match self.send(&part[0].envelope, &events).await {
                Outcome::Accepted => {
                    self.outbox.delete(&seqs)?;
                    self.stats.sent_from_queue += seqs.len() as u64;
                }
                Outcome::Retry => return Ok(false),
                Outcome::TooLarge | Outcome::BadRequest if part.len() > 1 => {
                    let mut first = part;
                    let second = first.split_off(first.len() / 2);
                    parts.push(second);
                    parts.push(first);
                }
                other => {
                    tracing::warn!(?other, event = %events[0], "the server refused the event: deleted from the queue");
                    self.outbox.delete(&seqs)?;
                    self.stats.dropped += seqs.len() as u64;
                }
            }
        }
        Ok(true)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;
    use std::sync::{Arc, Mutex};

    /// A server that answers from a script and records every request.
    #[derive(Clone, Default)]
    struct Scripted {
        log: Arc<Mutex<Vec<Vec<i64>>>>,
        script: Arc<Mutex<Vec<Outcome>>>,
        /// Events with `"poison": true` make their request `400`.
        poison: bool,
    }

    impl Transport for Scripted {
        async fn send(&self, _: &Envelope, events: &[Value]) -> Outcome {
            self.log.lock().unwrap().push(events.iter().map(|e| e["n"].as_i64().unwrap()).collect());
            if self.poison && events.iter().any(|e| e["poison"] == true) {
                return Outcome::BadRequest;
            }
            let mut s = self.script.lock().unwrap();
            if s.is_empty() { Outcome::Accepted } else { s.remove(0) }
        }
    }

    fn env() -> Envelope {
        Envelope { organization: "o".into(), business_unit: "b".into(), work_place: "w".into() }
    }

    fn sender(t: Scripted) -> Sender<Scripted> {
        Sender::new(t, Outbox::open(Path::new(":memory:")).unwrap(), Settings::default())
    }

    #[test]
    fn evt_46_statuses() {
        assert_eq!(Outcome::of_status(Some(200)), Outcome::Accepted);
        for s in [None, Some(408), Some(429), Some(500), Some(503)] {
            assert_eq!(Outcome::of_status(s), Outcome::Retry);
        }
        assert_eq!(Outcome::of_status(Some(413)), Outcome::TooLarge);
        assert_eq!(Outcome::of_status(Some(400)), Outcome::BadRequest);
        assert_eq!(Outcome::of_status(Some(404)), Outcome::Rejected(404));
    }

    /// TV-E12, EVT-43, EVT-45, EVT-46 steps 4-5: 1203 queued → 500, 500, 203; a timeout on the
    /// second request keeps 703 and resumes with the same 500 after the back-off.
    #[tokio::test]
    async fn tv_e12_batches_and_back_off() {
        let t = Scripted::default();
        let mut s = sender(t.clone());
        t.script.lock().unwrap().push(Outcome::Retry); // the first direct send fails: queueing starts
        for n in 0..1203 {
            s.event(&env(), json!({"n": n}), n, ).await.unwrap();
        }
        assert_eq!(s.outbox().len().unwrap(), 1203);
        assert_eq!(t.log.lock().unwrap().len(), 1, "EVT-47: nothing sent directly while queued");
        t.log.lock().unwrap().clear();
        *t.script.lock().unwrap() = vec![Outcome::Accepted, Outcome::Retry];
        let now = Instant::now();
        assert!(!s.drain(now).await.unwrap());
        assert_eq!(s.outbox().len().unwrap(), 703);
        // Back-off: nothing is sent before it ends.
        assert!(!s.drain(now + Duration::from_secs(4)).await.unwrap());
        assert_eq!(t.log.lock().unwrap().len(), 2);
        assert!(s.drain(now + Duration::from_secs(6)).await.unwrap());
        let log = t.log.lock().unwrap();
        let sizes: Vec<usize> = log.iter().map(Vec::len).collect();
        assert_eq!(sizes, [500, 500, 500, 203]);
        assert_eq!(log[1], log[2], "resumes with the same 500 events");
        let order: Vec<i64> = [&log[0], &log[2], &log[3]].into_iter().flatten().copied().collect();
        assert_eq!(order, (0..1203).collect::<Vec<_>>(), "occurrence order");
        assert_eq!(s.stats.sent_from_queue, 1203);
    }

    /// EVT-46 step 5: the back-off doubles up to the maximum and resets after a success.
    #[tokio::test]
    async fn evt_46_back_off_doubles_and_resets() {
        let t = Scripted::default();
        let mut s = sender(t.clone());
        *t.script.lock().unwrap() = vec![Outcome::Retry; 12];
        s.event(&env(), json!({"n": 0}), 0).await.unwrap();
        let mut now = Instant::now();
        let mut waits = Vec::new();
        for _ in 0..9 {
            s.drain(now).await.unwrap();
            waits.push(s.backoff.unwrap().as_secs());
            now = s.retry_at.unwrap();
        }
        assert_eq!(waits, [5, 10, 20, 40, 80, 160, 300, 300, 300]);
        t.script.lock().unwrap().clear();
        s.drain(now).await.unwrap();
        assert!(s.drain(now).await.unwrap());
        assert_eq!(s.backoff, None);
    }

    /// TV-E13, EVT-47: with a non-empty queue a new event is appended, not sent directly, and
    /// reaches the server after all older events.
    #[tokio::test]
    async fn tv_e13_new_events_wait_behind_the_queue() {
        let t = Scripted::default();
        let mut s = sender(t.clone());
        *t.script.lock().unwrap() = vec![Outcome::Retry];
        s.event(&env(), json!({"n": 0}), 0).await.unwrap();
        s.event(&env(), json!({"n": 1}), 1).await.unwrap();
        // Connection restored; a new event occurs before the drain.
        s.event(&env(), json!({"n": 2}), 2).await.unwrap();
        assert_eq!(t.log.lock().unwrap().len(), 1);
        assert!(s.drain(Instant::now()).await.unwrap());
        assert_eq!(t.log.lock().unwrap()[1], [0, 1, 2]);
        // Queue empty again: direct sends resume.
        s.event(&env(), json!({"n": 3}), 3).await.unwrap();
        assert_eq!(t.log.lock().unwrap()[2], [3]);
        assert_eq!(s.stats.sent_direct, 1);
    }

    /// TV-E14, EVT-46 step 5: a poison event is isolated by halving and deleted.
    #[tokio::test]
    async fn tv_e14_poison_event_is_isolated() {
        let t = Scripted { poison: true, ..Default::default() };
        let mut s = sender(t.clone());
        *t.script.lock().unwrap() = vec![Outcome::Retry];
        for n in 0..4 {
            s.event(&env(), json!({"n": n, "poison": n == 2}), n).await.unwrap();
        }
        t.log.lock().unwrap().clear();
        assert!(s.drain(Instant::now()).await.unwrap());
        let log = t.log.lock().unwrap().clone();
        assert_eq!(log, vec![vec![0, 1, 2, 3], vec![0, 1], vec![2, 3], vec![2], vec![3]]);
        assert_eq!(s.stats.dropped, 1);
        assert_eq!(s.stats.sent_from_queue, 3);
        assert!(s.outbox().is_empty().unwrap());
    }

    /// EVT-42: with queueing disabled an unsent event is dropped; EVT-46 step 2: a `4xx` other
    /// than the retryable ones is never retried.
    #[tokio::test]
    async fn evt_42_queue_disabled_drops() {
        let t = Scripted::default();
        let mut s = Sender::new(t.clone(), Outbox::open(Path::new(":memory:")).unwrap(), Settings { queue_enabled: false, ..Settings::default() });
        *t.script.lock().unwrap() = vec![Outcome::Retry, Outcome::Rejected(404)];
        s.event(&env(), json!({"n": 0}), 0).await.unwrap();
        s.event(&env(), json!({"n": 1}), 1).await.unwrap();
        assert_eq!(s.stats.dropped, 2);
        assert!(s.outbox().is_empty().unwrap());
        let mut s = sender(t.clone());
        *t.script.lock().unwrap() = vec![Outcome::Rejected(404)];
        s.event(&env(), json!({"n": 0}), 0).await.unwrap();
        assert!(s.outbox().is_empty().unwrap(), "a 404 is not queued");
    }
}
