//! The sales a simulated Frontol cash desk makes, as frontol-events.md events: session start
//! and login, sales (document open, positions, loyalty card, precheck = payment mode, bonus
//! payment, payment, drawer, close), refunds, cancellations with storno, user and device
//! errors, activity. Seeded, so a run can be repeated. Amounts are exact (`kassa-money`) and
//! emitted as JSON numbers; names, types and timestamps in the documented spellings (EVT-10,
//! EVT-18, EVT-24, EVT-29, EVT-35).

use kassa_domain::events::timestamp::format_ms;
use kassa_money::{Money, Quantity};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::{Value, json};

/// How a loyalty client is identified in a document (LOY-20, LOY-67).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Client {
    Card(String),
    Phone(String),
}

/// One position of a document as the loyalty requests describe it (frontol-loyalty.md §3.3).
#[derive(Clone, Debug, PartialEq)]
pub struct Line {
    pub index: i64,
    pub id: String,
    pub text: String,
    pub price: Money,
    pub minimum_price: Money,
    pub quantity: Quantity,
    /// price × quantity, before any discount.
    pub sum: Money,
    /// The loyalty discount received in the precheck (LOY-26).
    pub discount: Money,
    /// The bonus payment allocated to this line (LOY-32).
    pub bonus: Money,
}

impl Line {
    /// `totalAmount`: the line after the loyalty discount and the bonus payment (§8.1).
    pub fn total(&self) -> Money {
        self.sum.checked_sub(self.discount).and_then(|m| m.checked_sub(self.bonus)).unwrap_or(Money::ZERO)
    }
}

/// A payment of a closed document (`payments[]` of the confirm, §3.3).
#[derive(Clone, Debug, PartialEq)]
pub struct Pay {
    /// `cash`, `creditCard` or `bonus`.
    pub kind: &'static str,
    /// `fiscal` or `nonFiscal`.
    pub mode: &'static str,
    pub amount: Money,
}

/// A sale or refund document as the loyalty face sees it.
#[derive(Clone, Debug, PartialEq)]
pub struct Doc {
    pub uid: String,
    pub number: i64,
    pub shift: i64,
    /// `receipt` or `refundReceipt`.
    pub kind: &'static str,
    pub client: Client,
    pub lines: Vec<Line>,
    pub reference_uid: Option<String>,
    pub payments: Vec<Pay>,
    /// When the request is formed, ms UTC, and the desk's offset.
    pub now_ms: i64,
    pub offset_min: i32,
}

/// What a precheck (`calculate`) gave the POS (LOY-53 first row).
#[derive(Clone, Debug, PartialEq)]
pub enum Precheck {
    /// Item discounts by position index and the bonus available for payment (§5.1).
    Applied { discounts: Vec<(i64, Money)>, available: Money },
    /// Connection error, not retried: no bonus payment, accrual only; `confirm` still follows.
    Offline,
    /// Server error: loyalty is over for this document; the card is removed (LOY-57).
    Refused,
}

/// The loyalty seam: a Frontol POS asks a loyalty server (frontol-loyalty.md §9) — see
/// [`crate::loyalty::HttpLoyalty`]; `None` when the loyalty face is not used.
pub trait Loyalty {
    /// `calculate` at precheck.
    fn calculate(&mut self, doc: &Doc) -> impl std::future::Future<Output = Precheck>;
    /// `payByBonus`: the distribution (index, paid amount) when the server debited (LOY-32).
    fn pay_by_bonus(&mut self, doc: &Doc, amount: Money) -> impl std::future::Future<Output = Result<Vec<(i64, Money)>, Failure>>;
    /// `cancelBonusPayment`: whether the bonus payment was cancelled (LOY-33).
    fn cancel_bonus(&mut self, doc: &Doc, amount: Money) -> impl std::future::Future<Output = bool>;
    /// `confirm` of a closed sale or refund (queued by the implementation on a connection
    /// error, LOY-34, LOY-54).
    fn confirm(&mut self, doc: &Doc) -> impl std::future::Future<Output = anyhow::Result<()>>;
}

/// The demo tenant's loyalty client (crates/core/src/demo.rs): its card and its phone.
pub const DEMO_CARD: &str = "9070000000001000";
pub const DEMO_PHONE: &str = "+79211022546";

const GOODS: [(&str, &str, &str, i64); 8] = [
    ("542", "активия 125г клубника", "4601735000011", 5_999),
    ("120474", "Хлеб Бородинский 400г", "4600682000019", 4_590),
    ("331", "Молоко 3,2% 1л", "4607025390015", 8_900),
    ("778", "Сыр Российский 200г", "4600605000014", 21_950),
    ("90", "Вода питьевая 1,5л", "4607034170013", 3_500),
    ("4410", "Кофе молотый 250г", "4601234567894", 45_900),
    ("12", "Пакет майка", "2000000000015", 500),
    ("2210", "Яблоки Гала, кг", "2300000000013", 15_990),
];

/// Generates one cash desk's events with a simulated clock, asking [`Loyalty`] along the way.
pub struct Desk<L> {
    rng: StdRng,
    loyalty: L,
    /// Simulated now, ms UTC.
    now_ms: i64,
    /// The desk's UTC offset for timestamps (EVT-10).
    offset_min: i32,
    cashier: String,
    shift: i64,
    number: i64,
    started: bool,
    /// Recent loyalty sales, the bases of refunds by reference (§9.6); refunded lines removed.
    sales: Vec<Doc>,
}

/// One event and its occurrence instant.
pub type Timed = (Value, i64);

/// How a request other than `calculate` failed (LOY-9).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Failure {
    /// Connection error: the server could not be reached or did not answer.
    Offline,
    /// Server error: any answer other than HTTP 200 with `code` 0 (LOY-7).
    Refused,
}

fn sum_of(lines: &[Line], f: impl Fn(&Line) -> Money) -> Money {
    lines.iter().fold(Money::ZERO, |a, l| a.checked_add(f(l)).unwrap_or(a))
}

/// Whole roubles of `m`, rounded down.
fn whole_roubles(m: Money) -> Money {
    Money::from_minor(m.minor().max(0) / 100 * 100)
}

impl<L: Loyalty> Desk<L> {
    pub fn new(seed: u64, start_ms: i64, cashier: impl Into<String>, loyalty: L) -> Self {
        Self {
            rng: StdRng::seed_from_u64(seed),
            loyalty,
            now_ms: start_ms,
            offset_min: 180,
            cashier: cashier.into(),
            shift: 1,
            number: 0,
            started: false,
            sales: Vec::new(),
        }
    }

    pub fn loyalty(&mut self) -> &mut L {
        &mut self.loyalty
    }

    /// Moves the simulated clock (e.g. to real time, or by a fixed step between sales).
    pub fn set_now(&mut self, now_ms: i64) {
        self.now_ms = self.now_ms.max(now_ms);
    }

    pub fn now_ms(&self) -> i64 {
        self.now_ms
    }

    fn group(&mut self) -> String {
        format!("{:08x}", self.rng.random::<u32>())
    }

    fn ev(&mut self, out: &mut Vec<Timed>, name: &str, group: &str, index: usize, extra: Value) {
        self.now_ms += self.rng.random_range(300..4_000);
        let mut e = json!({
            "event": name,
            "groupId": group,
            "dateTime": format_ms(self.now_ms, self.offset_min),
            "cashierName": self.cashier,
            "index": index,
            "input": "",
        });
        if let (Some(o), Some(x)) = (e.as_object_mut(), extra.as_object()) {
            o.extend(x.clone());
        }
        out.push((e, self.now_ms));
    }

    /// The next scenario's events, in occurrence order. Loyalty requests are made as the
    /// scenario goes, so the events carry what the loyalty server answered.
    pub async fn next_scenario(&mut self) -> anyhow::Result<Vec<Timed>> {
        let mut out = Vec::new();
        if !self.started {
            self.started = true;
            let g = self.group();
            self.ev(&mut out, "SYS_SESSION_START", &g, 0, json!({"text": "Frontol 6.x (kassa pos simulator)"}));
            let g = self.group();
            self.ev(&mut out, "SYS_LOGIN_BEGIN", &g, 0, json!({}));
            self.ev(&mut out, "SYS_LOGIN", &g, 0, json!({"type": "password"}));
        }
        match self.rng.random_range(0..100) {
            0..=79 => self.sale(&mut out, false).await?,
            80..=86 => self.sale(&mut out, true).await?,
            87..=91 => self.refund(&mut out).await?,
            92..=95 => self.error(&mut out),
            _ => {
                let g = self.group();
                self.ev(&mut out, "SYS_OPEN_MONEY_BOX", &g, 0, json!({"type": "manual"}));
            }
        }
        let g = self.group();
        let name = if self.rng.random_bool(0.5) { "ACT_NO_ACTIVITY" } else { "ACT_ACTIVITY" };
        self.ev(&mut out, name, &g, 0, json!({}));
        Ok(out)
    }

    fn open(&mut self, out: &mut Vec<Timed>, g: &str, kind: &str) {
        self.number += 1;
        let (shift, number) = (self.shift, self.number);
        self.ev(out, "REG_DOCUMENT_OPEN", g, 0, json!({"type": kind, "shift": shift, "number": number, "mode": "fiscal"}));
    }

    fn position_event(&mut self, out: &mut Vec<Timed>, g: &str, l: &Line) {
        let kind = if l.id == "12" { "freePrice" } else { "goods" };
        let barcode = GOODS.iter().find(|x| x.0 == l.id).map_or("", |x| x.2);
        self.ev(out, "REG_POSITION_REGISTRATION", g, usize::try_from(l.index).unwrap_or(0), json!({
            "id": l.id, "text": l.text, "type": kind, "barcode": barcode,
            "price": l.price, "quantity": num(&l.quantity.format_fixed()), "sum": l.sum, "discount": l.discount,
        }));
    }

    /// Registers positions.
    fn positions(&mut self, out: &mut Vec<Timed>, g: &str, count: usize) -> Vec<Line> {
        let mut lines = Vec::new();
        for i in 1..=count {
            let (id, text, _, price) = GOODS[self.rng.random_range(0..GOODS.len())];
            let price = Money::from_minor(price);
            let quantity = Quantity::from_thousandths(if id == "2210" { self.rng.random_range(300..2_500) } else { 1_000 * self.rng.random_range(1..4) });
            let sum = price.mul_quantity(quantity).unwrap_or(price);
            let line = Line {
                index: i64::try_from(i).unwrap_or(0),
                id: id.into(),
                text: text.into(),
                price,
                minimum_price: Money::ZERO,
                quantity,
                sum,
                discount: Money::ZERO,
                bonus: Money::ZERO,
            };
            self.position_event(out, g, &line);
            lines.push(line);
        }
        lines
    }

    fn client(&mut self) -> Option<Client> {
        if !self.rng.random_bool(0.4) {
            return None;
        }
        Some(match self.rng.random_range(0..10) {
            0..=5 => Client::Card(DEMO_CARD.into()),
            6..=8 => Client::Phone(DEMO_PHONE.into()),
            // A card the loyalty server does not know: it refuses the precheck (LOY-57).
            _ => Client::Card(format!("27{:011}", self.rng.random_range(0..100_000_000_000u64))),
        })
    }

    fn card_event(&mut self, out: &mut Vec<Timed>, g: &str, index: usize, name: &str, c: &Client) {
        let barcode = match c {
            Client::Card(s) | Client::Phone(s) => s.clone(),
        };
        self.ev(out, name, g, index, json!({"type": "clientCard", "barcode": barcode}));
    }

    /// Applies a precheck: earlier loyalty discounts are forgotten (LOY-26), a discount never
    /// takes a line below its minimum price.
    fn apply(lines: &mut [Line], discounts: &[(i64, Money)]) {
        for l in lines.iter_mut() {
            let d = discounts.iter().filter(|(i, _)| *i == l.index).fold(Money::ZERO, |a, (_, m)| a.checked_add(*m).unwrap_or(a));
            let room = l.sum.checked_sub(l.minimum_price.mul_quantity(l.quantity).unwrap_or(Money::ZERO)).unwrap_or(Money::ZERO);
            l.discount = d.max(Money::ZERO).min(room);
        }
    }

    fn doc(&self, g: &str, kind: &'static str, client: Client, lines: Vec<Line>) -> Doc {
        Doc {
            uid: format!("{g}-{:04x}-4000-8000-{:012x}", self.shift, self.number),
            number: self.number,
            shift: self.shift,
            kind,
            client,
            lines,
            reference_uid: None,
            payments: Vec::new(),
            now_ms: self.now_ms,
            offset_min: self.offset_min,
        }
    }

    async fn sale(&mut self, out: &mut Vec<Timed>, cancelled: bool) -> anyhow::Result<()> {
        let g = self.group();
        self.open(out, &g, "receipt");
        let count = self.rng.random_range(1..6);
        let lines = self.positions(out, &g, count);
        let client = self.client();
        if let Some(c) = &client {
            self.card_event(out, &g, count, "REG_CARD_REGISTRATION", c);
        }
        let mut doc = self.doc(&g, "receipt", client.clone().unwrap_or(Client::Card(String::new())), lines);
        let mut loyal = client.is_some();
        let mut available = Money::ZERO;
        // Precheck: the cashier enters payment mode and the POS sends `calculate` (§9.1 step 8).
        self.ev(out, "REG_PAYMENT_MODE", &g, count, json!({}));
        if loyal {
            doc.now_ms = self.now_ms;
            match self.loyalty.calculate(&doc).await {
                Precheck::Applied { discounts, available: a } => {
                    Self::apply(&mut doc.lines, &discounts);
                    available = a;
                }
                // LOY-28: no bonus payment, accrual only; the confirm follows.
                Precheck::Offline => {}
                // LOY-57: loyalty is over for this document; the card is removed.
                Precheck::Refused => {
                    loyal = false;
                    if let Some(c) = &client {
                        self.card_event(out, &g, count, "REG_CARD_CANCEL", c);
                    }
                }
            }
        }
        let discount = sum_of(&doc.lines, |l| l.discount);
        let total = sum_of(&doc.lines, Line::total);
        if cancelled {
            if self.rng.random_bool(0.5) {
                // Storno after payment started (a loss-prevention signal).
                self.ev(out, "REG_POSITION_CANCEL", &g, count, json!({"index": count}));
                self.ev(out, "REG_REGISTRATION_MODE", &g, count, json!({}));
            }
            self.ev(out, "REG_DOCUMENT_CANCEL", &g, 0, json!({"sum": total, "discount": discount, "sumPayments": Money::ZERO, "change": Money::ZERO.checked_sub(total).unwrap_or(Money::ZERO)}));
            return Ok(());
        }
        let mut index = 0;
        // Bonus payment (§9.2): the customer spends whole roubles, at most what the precheck said.
        let cap = whole_roubles(available.min(Money::from_minor(total.minor() / 2)));
        if loyal && cap > Money::ZERO && self.rng.random_bool(0.6) {
            let amount = Money::from_minor(self.rng.random_range(1..=cap.minor() / 100) * 100);
            doc.now_ms = self.now_ms;
            match self.loyalty.pay_by_bonus(&doc, amount).await {
                Ok(dist) => {
                    // LOY-32, LOY-62: the returned distribution is applied only if it keeps
                    // every line within its limits; otherwise bonus payment is blocked.
                    let ok = dist.iter().all(|(i, m)| *m >= Money::ZERO && doc.lines.iter().any(|l| l.index == *i && *m <= l.total()));
                    if ok {
                        for (i, m) in dist {
                            if let Some(l) = doc.lines.iter_mut().find(|l| l.index == i) {
                                l.bonus = l.bonus.checked_add(m).unwrap_or(l.bonus);
                            }
                        }
                    } else {
                        tracing::warn!(uid = %doc.uid, "the bonus distribution breaks the position limits: not applied (LOY-62)");
                    }
                }
                Err(Failure::Offline) => {}
                Err(Failure::Refused) => {
                    // LOY-64: the precheck results are forgotten; the cashier asks for a new
                    // subtotal and goes on with accrual only.
                    Self::apply(&mut doc.lines, &[]);
                    doc.now_ms = self.now_ms;
                    match self.loyalty.calculate(&doc).await {
                        Precheck::Applied { discounts, .. } => Self::apply(&mut doc.lines, &discounts),
                        Precheck::Offline => {}
                        Precheck::Refused => loyal = false,
                    }
                }
            }
        }
        let mut bonus = sum_of(&doc.lines, |l| l.bonus);
        let discount = sum_of(&doc.lines, |l| l.discount);
        let sum = doc.lines.iter().fold(Money::ZERO, |a, l| a.checked_add(l.sum).unwrap_or(a)).checked_sub(discount).unwrap_or(Money::ZERO);
        if !bonus.is_zero() {
            index += 1;
            self.ev(out, "REG_PAYMENT_REGISTRATION", &g, index, json!({
                "text": "Бонусы", "type": "other", "mode": "nonFiscal", "payment": bonus,
                "sum": sum, "discount": discount, "sumPayments": Money::ZERO, "change": Money::ZERO.checked_sub(sum.checked_sub(bonus).unwrap_or(sum)).unwrap_or(Money::ZERO),
            }));
            // §9.3: now and then the customer changes their mind.
            if self.rng.random_bool(0.15) {
                doc.now_ms = self.now_ms;
                if self.loyalty.cancel_bonus(&doc, bonus).await {
                    self.ev(out, "REG_PAYMENT_CANCEL", &g, index, json!({"text": "Бонусы", "type": "other", "mode": "nonFiscal", "payment": bonus}));
                    index -= 1;
                    for l in &mut doc.lines {
                        l.bonus = Money::ZERO;
                    }
                    bonus = Money::ZERO;
                }
            }
        }
        let due = sum.checked_sub(bonus).unwrap_or(sum);
        let cash = self.rng.random_bool(0.5);
        let (text, kind, payment) = if cash {
            let rounded = Money::from_minor((due.minor() + 9_999) / 10_000 * 10_000);
            ("Наличные", "cash", rounded)
        } else {
            ("Банковская карта", "credit card", due)
        };
        index += 1;
        let change = payment.checked_sub(due).unwrap_or(Money::ZERO);
        self.ev(out, "REG_PAYMENT_REGISTRATION", &g, index, json!({
            "text": text, "type": kind, "mode": "fiscal", "payment": payment,
            "sum": sum, "discount": discount, "sumPayments": payment, "change": change,
        }));
        if cash {
            self.ev(out, "SYS_OPEN_MONEY_BOX", &g, index, json!({"type": "auto"}));
        }
        self.ev(out, "REG_DOCUMENT_CLOSE", &g, 0, json!({"sum": sum, "discount": discount, "sumPayments": payment, "change": change}));
        if client.is_some() && loyal {
            if !bonus.is_zero() {
                doc.payments.push(Pay { kind: "bonus", mode: "nonFiscal", amount: bonus });
            }
            // The change is handed back: the confirm lists what the sale was paid with.
            doc.payments.push(Pay { kind: if cash { "cash" } else { "creditCard" }, mode: "fiscal", amount: due });
            doc.now_ms = self.now_ms;
            // §9.1 step 25: confirm after closing (LOY-34).
            self.loyalty.confirm(&doc).await?;
            self.sales.push(doc);
            if self.sales.len() > 50 {
                self.sales.remove(0);
            }
        }
        Ok(())
    }

    async fn refund(&mut self, out: &mut Vec<Timed>) -> anyhow::Result<()> {
        let g = self.group();
        self.ev(out, "REG_SUPERVISOR_MODE", &g, 0, json!({}));
        self.open(out, &g, "refundReceipt");
        // Mostly by reference to a recent loyalty sale (§9.6): one of its lines comes back.
        let base = (!self.sales.is_empty() && self.rng.random_bool(0.7)).then(|| self.rng.random_range(0..self.sales.len()));
        let mut reference = None;
        let lines = match base {
            Some(b) => {
                let sale = &mut self.sales[b];
                let mut line = sale.lines.remove(0);
                reference = Some((sale.uid.clone(), sale.client.clone()));
                if sale.lines.is_empty() {
                    self.sales.remove(b);
                }
                line.index = 1;
                self.position_event(out, &g, &line);
                vec![line]
            }
            None => self.positions(out, &g, 1),
        };
        if let Some((_, c)) = &reference {
            self.card_event(out, &g, 1, "REG_CARD_REGISTRATION", c);
        }
        let total = sum_of(&lines, Line::total);
        let discount = sum_of(&lines, |l| l.discount);
        self.ev(out, "REG_PAYMENT_MODE", &g, 1, json!({}));
        self.ev(out, "REG_PAYMENT_REGISTRATION", &g, 1, json!({
            "text": "Наличные", "type": "cash", "mode": "fiscal", "payment": total,
            "sum": total, "discount": discount, "sumPayments": total, "change": Money::ZERO,
        }));
        self.ev(out, "SYS_OPEN_MONEY_BOX", &g, 1, json!({"type": "auto"}));
        self.ev(out, "REG_DOCUMENT_CLOSE", &g, 0, json!({"sum": total, "discount": discount, "sumPayments": total, "change": Money::ZERO}));
        if let Some((uid, client)) = reference {
            let mut doc = self.doc(&g, "refundReceipt", client, lines);
            doc.reference_uid = Some(uid);
            doc.payments.push(Pay { kind: "cash", mode: "fiscal", amount: total });
            // §9.6 step 7: confirm of the refund with referenceUid (LOY-35).
            self.loyalty.confirm(&doc).await?;
        }
        Ok(())
    }

    fn error(&mut self, out: &mut Vec<Timed>) {
        let g = self.group();
        if self.rng.random_bool(0.7) {
            self.ev(out, "ERR_USER_ERROR", &g, 0, json!({"text": "Товар не найден", "number": 0}));
        } else {
            self.ev(out, "ERR_DEVICE_ERROR", &g, 0, json!({"text": "Нет бумаги", "number": 3}));
        }
    }
}

fn num(text: &str) -> Value {
    serde_json::from_str(text).unwrap_or(Value::Null)
}

#[cfg(test)]
mod tests {
    use super::*;
    use kassa_domain::events::{DEFAULT_HARD_LIMIT, parse_batch};

    /// The simulator emits what the spec says a POS emits: documented names and spellings,
    /// JSON numbers, `±hh:mm` timestamps — and the collector's parser reads them without warnings.
    #[tokio::test]
    async fn evt_10_evt_35_simulated_events_parse_cleanly() {
        let mut desk = Desk::new(7, 1_700_000_000_000, "Иванов", None::<crate::loyalty::HttpLoyalty>);
        let mut events = Vec::new();
        for _ in 0..300 {
            events.extend(desk.next_scenario().await.unwrap().into_iter().map(|(e, _)| e));
        }
        let names: std::collections::BTreeSet<&str> = events.iter().filter_map(|e| e["event"].as_str()).collect();
        for n in ["SYS_SESSION_START", "SYS_LOGIN", "REG_DOCUMENT_OPEN", "REG_POSITION_REGISTRATION", "REG_CARD_REGISTRATION", "REG_PAYMENT_MODE", "REG_PAYMENT_REGISTRATION", "REG_DOCUMENT_CLOSE", "REG_DOCUMENT_CANCEL", "ERR_USER_ERROR", "ACT_ACTIVITY"] {
            assert!(names.contains(n), "{n} generated");
        }
        let times: Vec<&str> = events.iter().map(|e| e["dateTime"].as_str().unwrap()).collect();
        assert!(times.iter().all(|t| t.ends_with("+03:00") && t.len() == 29), "{}", times[0]);
        let body = serde_json::json!({"organization": "o", "businessUnit": "b", "workPlace": "w", "events": events});
        let batch = parse_batch(body.to_string().as_bytes(), DEFAULT_HARD_LIMIT).unwrap();
        for e in &batch.events {
            assert!(e.warnings.is_empty(), "{:?}: {:?}", e.raw, e.warnings);
        }
        assert!(body.to_string().contains("\"price\":59.99") || body.to_string().contains("\"price\":"));
    }
}
