//! The POS side of frontol-loyalty.md: the requests a Frontol cash desk sends to the loyalty
//! server during a sale (§9): `calculate` at precheck, `payByBonus`, `cancelBonusPayment`,
//! `confirm` after closing (sale, and refund with `referenceUid`), each signed with
//! `Authorization: FrontolAuth md5(key ‖ body)` (LOY-3, LOY-12). Failures are handled as the
//! POS does (LOY-53): a failed precheck or bonus payment lets the sale go on without loyalty; a
//! `confirm` that cannot reach the server goes to the durable confirm queue in the outbox file
//! and is resent in order when the desk is idle (§9.7, LOY-54, LOY-74, LOY-75).
//!
//! May depend on `kassa-client` (HTTP), `kassa-domain` (token, timestamps), `kassa-money`.

use crate::outbox::{Envelope, Outbox};
use crate::sim::{Client, Doc, Failure, Line, Loyalty, Precheck};
use kassa_client::{ClientError, Kassa};
use kassa_domain::events::timestamp::format_ms;
use kassa_domain::loyalty::auth::token;
use kassa_money::Money;
use serde_json::{Value, json};
use std::time::{Duration, Instant};

/// What the loyalty client did, for the summary line.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct LoyaltyStats {
    pub prechecks: u64,
    pub prechecks_failed: u64,
    pub bonus_payments: u64,
    pub bonus_cancelled: u64,
    pub confirms_direct: u64,
    pub confirms_queued: u64,
    pub confirms_from_queue: u64,
    /// Answered with an error: logged, never resent (LOY-55).
    pub confirms_refused: u64,
}

/// A loyalty client over HTTP.
pub struct HttpLoyalty {
    client: Kassa,
    key: Option<String>,
    envelope: Envelope,
    outbox: Outbox,
    backoff_start: Duration,
    backoff_max: Duration,
    backoff: Option<Duration>,
    retry_at: Option<Instant>,
    pub stats: LoyaltyStats,
}

fn quantity(l: &Line) -> Value {
    serde_json::from_str(&l.quantity.format_fixed()).unwrap_or(Value::Null)
}

fn money(v: &Value) -> Option<Money> {
    serde_json::from_value(v.clone()).ok()
}

impl HttpLoyalty {
    /// `url` is the server URL configured in the POS, e.g. `http://host:8080/frontol`; requests
    /// go to `{url}/document` (LOY-2). The confirm queue lives in `outbox`.
    pub fn new(url: &str, key: Option<String>, envelope: Envelope, outbox: Outbox, backoff_start: Duration, backoff_max: Duration, timeout: Duration) -> Self {
        Self {
            client: Kassa::new(url.trim_end_matches('/')).with_timeout(timeout),
            key,
            envelope,
            outbox,
            backoff_start,
            backoff_max,
            backoff: None,
            retry_at: None,
            stats: LoyaltyStats::default(),
        }
    }

    pub fn outbox(&self) -> &Outbox {
        &self.outbox
    }

    /// The fields every document request carries (§3.1, §5.1). `totalAmount` is what the
    /// action needs (§8.1): before the loyalty discounts at precheck, else after them and after
    /// the bonus payment made so far.
    pub fn body(&self, action: &str, doc: &Doc) -> Value {
        let precheck = action == "calculate";
        let positions: Vec<Value> = doc
            .lines
            .iter()
            .map(|l| {
                json!({
                    "index": l.index, "id": l.id, "text": l.text, "price": l.price, "minimumPrice": l.minimum_price,
                    "quantity": quantity(l), "totalAmount": if precheck { l.sum } else { l.total() },
                })
            })
            .collect();
        let client = match &doc.client {
            Client::Card(c) => json!({"card": c}),
            Client::Phone(p) => json!({"mobilePhone": p}),
        };
        let mut b = json!({
            "action": action,
            "dateTime": format_ms(doc.now_ms, doc.offset_min),
            "organization": self.envelope.organization,
            "businessUnit": self.envelope.business_unit,
            "workPlace": self.envelope.work_place,
            "client": client,
            "number": doc.number,
            "shift": doc.shift,
            "uid": doc.uid,
            "type": doc.kind,
            "positions": positions,
        });
        if let (Some(r), Some(o)) = (&doc.reference_uid, b.as_object_mut()) {
            o.insert("referenceUid".into(), json!(r));
        }
        b
    }

    /// Posts a signed body to `{url}/document`: `Ok` only for HTTP 200 with `code` 0 (LOY-7);
    /// a transport failure or timeout is a connection error, anything else (5xx included,
    /// LOY-10) a server error (LOY-9).
    async fn post(&self, body: &str) -> Result<Value, Failure> {
        let mut req = self
            .client
            .request(reqwest::Method::POST, "/document")
            .header("Accept", "application/json")
            .header("Content-Type", "application/json")
            .header("Cache-Control", "no-cache")
            .body(body.to_owned());
        if let Some(k) = &self.key {
            // LOY-12: md5 of the key followed by the exact body bytes; LOY-15: no key, no header.
            req = req.header("Authorization", format!("FrontolAuth {}", token(k, body.as_bytes())));
        }
        match self.client.send(req).await {
            Ok(r) if r.status.as_u16() == 200 && r.body["code"].as_i64() == Some(0) => Ok(r.body),
            Ok(r) => {
                tracing::warn!(status = %r.status, body = %r.body, "loyalty server error");
                Err(Failure::Refused)
            }
            Err(ClientError::NotJson { status, body, .. }) => {
                tracing::warn!(%status, %body, "loyalty server error");
                Err(Failure::Refused)
            }
            Err(e) => {
                tracing::debug!(error = %e, "loyalty server unreachable");
                Err(Failure::Offline)
            }
        }
    }

    /// Resends queued confirms in order while the desk is idle (§9.7): an accepted one and one
    /// answered with an error are both processed and removed (LOY-74); a connection error stops
    /// the drain and schedules a retry with a doubling back-off. Returns whether the queue is empty.
    pub async fn drain(&mut self, now: Instant) -> anyhow::Result<bool> {
        if self.retry_at.is_some_and(|t| now < t) {
            return Ok(false);
        }
        while let Some((seq, uid, body)) = self.outbox.confirm_head()? {
            match self.post(&body).await {
                Err(Failure::Offline) => {
                    let next = self.backoff.map_or(self.backoff_start, |b| (b * 2).min(self.backoff_max));
                    self.backoff = Some(next);
                    self.retry_at = Some(now + next);
                    return Ok(false);
                }
                Ok(_) => self.stats.confirms_from_queue += 1,
                Err(Failure::Refused) => {
                    tracing::warn!(%uid, "queued confirm answered with an error: removed, needs manual work (LOY-55, LOY-74)");
                    self.stats.confirms_refused += 1;
                }
            }
            self.outbox.delete_confirm(seq)?;
            self.backoff = None;
            self.retry_at = None;
        }
        Ok(true)
    }
}

impl Loyalty for HttpLoyalty {
    async fn calculate(&mut self, doc: &Doc) -> Precheck {
        self.stats.prechecks += 1;
        let body = self.body("calculate", doc).to_string();
        match self.post(&body).await {
            Ok(r) => {
                // LOY-68: a validation code is shown to the cashier, who types what the customer
                // received; the simulated customer always has it.
                let discounts = r["document"]["positions"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(|p| Some((p["index"].as_i64()?, money(&p["discountAmount"])?)))
                    .collect();
                let available = money(&r["client"]["availableAmount"]).unwrap_or(Money::ZERO);
                Precheck::Applied { discounts, available }
            }
            Err(f) => {
                self.stats.prechecks_failed += 1;
                match f {
                    Failure::Offline => Precheck::Offline,
                    Failure::Refused => Precheck::Refused,
                }
            }
        }
    }

    async fn pay_by_bonus(&mut self, doc: &Doc, amount: Money) -> Result<Vec<(i64, Money)>, Failure> {
        let mut b = self.body("payByBonus", doc);
        b["payment"] = json!({"mode": "nonFiscal", "amount": amount});
        let r = self.post(&b.to_string()).await?;
        self.stats.bonus_payments += 1;
        match r["document"]["positions"].as_array() {
            Some(ps) => Ok(ps.iter().filter_map(|p| Some((p["index"].as_i64()?, money(&p["paidAmount"])?))).collect()),
            // LOY-61: no distribution, the POS spreads the amount over the lines itself.
            None => {
                let mut left = amount;
                let mut out = Vec::new();
                for l in &doc.lines {
                    let part = left.min(l.total());
                    if part > Money::ZERO {
                        out.push((l.index, part));
                        left = left.checked_sub(part).unwrap_or(Money::ZERO);
                    }
                }
                Ok(out)
            }
        }
    }

    async fn cancel_bonus(&mut self, doc: &Doc, amount: Money) -> bool {
        let mut b = self.body("cancelBonusPayment", doc);
        b["payment"] = json!({"mode": "nonFiscal", "amount": amount});
        b["payments"] = json!([{"type": "bonus", "mode": "nonFiscal", "amount": amount}]);
        // LOY-33, LOY-53: online only; on any failure the bonus payment stays.
        let ok = self.post(&b.to_string()).await.is_ok();
        if ok {
            self.stats.bonus_cancelled += 1;
        }
        ok
    }

    async fn confirm(&mut self, doc: &Doc) -> anyhow::Result<()> {
        let mut b = self.body("confirm", doc);
        b["payments"] = doc.payments.iter().map(|p| json!({"type": p.kind, "mode": p.mode, "amount": p.amount})).collect();
        let body = b.to_string();
        // §9.7: while older confirms wait, a new one goes behind them, so they arrive in order.
        if self.outbox.confirms_len()? > 0 {
            self.outbox.push_confirm(&doc.uid, &body)?;
            self.stats.confirms_queued += 1;
            return Ok(());
        }
        match self.post(&body).await {
            Ok(_) => self.stats.confirms_direct += 1,
            // LOY-34, LOY-54: offline accrual — the transaction is queued.
            Err(Failure::Offline) => {
                self.outbox.push_confirm(&doc.uid, &body)?;
                self.stats.confirms_queued += 1;
            }
            // LOY-55: logged and never resent.
            Err(Failure::Refused) => {
                tracing::warn!(uid = %doc.uid, "confirm answered with an error: not resent (LOY-55)");
                self.stats.confirms_refused += 1;
            }
        }
        Ok(())
    }
}

/// `--loyalty off` (or no key): the sale goes on without a loyalty server.
impl<L: Loyalty> Loyalty for Option<L> {
    async fn calculate(&mut self, doc: &Doc) -> Precheck {
        match self {
            Some(l) => l.calculate(doc).await,
            None => Precheck::Offline,
        }
    }
    async fn pay_by_bonus(&mut self, doc: &Doc, amount: Money) -> Result<Vec<(i64, Money)>, Failure> {
        match self {
            Some(l) => l.pay_by_bonus(doc, amount).await,
            None => Err(Failure::Offline),
        }
    }
    async fn cancel_bonus(&mut self, doc: &Doc, amount: Money) -> bool {
        match self {
            Some(l) => l.cancel_bonus(doc, amount).await,
            None => false,
        }
    }
    async fn confirm(&mut self, doc: &Doc) -> anyhow::Result<()> {
        match self {
            Some(l) => l.confirm(doc).await,
            None => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use kassa_money::Quantity;
    use std::path::Path;

    fn doc() -> Doc {
        let line = |index, sum, discount, bonus| Line {
            index,
            id: "120474".into(),
            text: "Хлеб".into(),
            price: Money::from_minor(sum),
            minimum_price: Money::ZERO,
            quantity: Quantity::from_thousandths(1_000),
            sum: Money::from_minor(sum),
            discount: Money::from_minor(discount),
            bonus: Money::from_minor(bonus),
        };
        Doc {
            uid: "0000abcd-0001-4000-8000-000000000001".into(),
            number: 1,
            shift: 1,
            kind: "refundReceipt",
            client: Client::Phone("+79211022546".into()),
            lines: vec![line(1, 10_000, 1_000, 500), line(2, 5_000, 0, 0)],
            reference_uid: Some("0000abce-0001-4000-8000-000000000002".into()),
            payments: Vec::new(),
            now_ms: 1_700_000_000_000,
            offset_min: 180,
        }
    }

    /// §3.1, §3.3, §8.1: the common fields, the client by phone (LOY-20, LOY-67), the refund's
    /// `referenceUid` (LOY-35), and `totalAmount` before loyalty discounts at precheck but final
    /// (after discount and bonus) otherwise.
    #[test]
    fn loy_20_loy_35_request_bodies_carry_what_each_action_needs() {
        let envelope = Envelope { organization: "ООО Ромашка".into(), business_unit: "b".into(), work_place: "POS 1".into() };
        let l = HttpLoyalty::new("http://127.0.0.1:1/frontol", None, envelope, Outbox::open(Path::new(":memory:")).unwrap(), Duration::from_secs(1), Duration::from_secs(2), Duration::from_secs(1));
        let d = doc();
        let calc = l.body("calculate", &d);
        assert_eq!(calc["client"], json!({"mobilePhone": "+79211022546"}));
        assert_eq!(calc["organization"], "ООО Ромашка");
        assert_eq!(calc["workPlace"], "POS 1");
        assert_eq!(calc["dateTime"], "2023-11-15T01:13:20.000+03:00");
        assert_eq!(calc["positions"][0]["totalAmount"].to_string(), "100.00");
        let confirm = l.body("confirm", &d);
        assert_eq!(confirm["positions"][0]["totalAmount"].to_string(), "85.00");
        assert_eq!(confirm["positions"][1]["totalAmount"].to_string(), "50.00");
        assert_eq!(confirm["positions"][0]["quantity"].to_string(), "1.000");
        assert_eq!(confirm["referenceUid"], "0000abce-0001-4000-8000-000000000002");
        assert_eq!(confirm["type"], "refundReceipt");
    }

    /// LOY-9, LOY-34, LOY-54: a confirm that cannot reach the server is queued durably, later
    /// ones go behind it (§9.7), and a drain that still cannot connect keeps them in order.
    #[tokio::test]
    async fn loy_54_unreachable_confirms_are_queued_in_order() {
        let envelope = Envelope { organization: "o".into(), business_unit: "b".into(), work_place: "w".into() };
        // Port 1 on localhost refuses connections: a connection error.
        let mut l = HttpLoyalty::new("http://127.0.0.1:1/frontol", Some("password".into()), envelope, Outbox::open(Path::new(":memory:")).unwrap(), Duration::from_secs(1), Duration::from_secs(2), Duration::from_secs(1));
        let mut d = doc();
        l.confirm(&d).await.unwrap();
        d.uid = "second".into();
        l.confirm(&d).await.unwrap();
        assert_eq!(l.stats.confirms_queued, 2);
        assert!(!l.drain(Instant::now()).await.unwrap());
        assert_eq!(l.outbox().confirms_len().unwrap(), 2);
        assert_eq!(l.outbox().confirm_head().unwrap().unwrap().1, "0000abcd-0001-4000-8000-000000000001");
        // Back-off: the next drain before it ends sends nothing.
        assert!(!l.drain(Instant::now()).await.unwrap());
        assert_eq!(l.stats.confirms_from_queue, 0);
    }
}
