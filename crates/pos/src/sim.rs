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

/// The loyalty seam: where the simulator will ask a loyalty server (frontol-loyalty.md, once
/// that face exists) how much of a sale the client's bonus may pay. Called after the card is
/// entered and before payment; the answer becomes a non-fiscal `other` payment.
pub trait Loyalty {
    fn bonus_to_pay(&mut self, card: &str, total: Money) -> Money;
}

/// Until the loyalty face exists: the card pays a tenth of the sale in bonus, in whole roubles.
pub struct LocalBonus;

impl Loyalty for LocalBonus {
    fn bonus_to_pay(&mut self, _card: &str, total: Money) -> Money {
        Money::from_minor(total.minor() / 10 / 100 * 100)
    }
}

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

/// Generates one cash desk's events with a simulated clock.
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
}

/// One event and its occurrence instant.
pub type Timed = (Value, i64);

impl<L: Loyalty> Desk<L> {
    pub fn new(seed: u64, start_ms: i64, cashier: impl Into<String>, loyalty: L) -> Self {
        Self { rng: StdRng::seed_from_u64(seed), loyalty, now_ms: start_ms, offset_min: 180, cashier: cashier.into(), shift: 1, number: 0, started: false }
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

    /// The next scenario's events, in occurrence order.
    pub fn next_scenario(&mut self) -> Vec<Timed> {
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
            0..=79 => self.sale(&mut out, false),
            80..=86 => self.sale(&mut out, true),
            87..=91 => self.refund(&mut out),
            92..=95 => self.error(&mut out),
            _ => {
                let g = self.group();
                self.ev(&mut out, "SYS_OPEN_MONEY_BOX", &g, 0, json!({"type": "manual"}));
            }
        }
        let g = self.group();
        let name = if self.rng.random_bool(0.5) { "ACT_NO_ACTIVITY" } else { "ACT_ACTIVITY" };
        self.ev(&mut out, name, &g, 0, json!({}));
        out
    }

    fn open(&mut self, out: &mut Vec<Timed>, g: &str, kind: &str) {
        self.number += 1;
        let (shift, number) = (self.shift, self.number);
        self.ev(out, "REG_DOCUMENT_OPEN", g, 0, json!({"type": kind, "shift": shift, "number": number, "mode": "fiscal"}));
    }

    /// Registers positions; returns the document total.
    fn positions(&mut self, out: &mut Vec<Timed>, g: &str, count: usize) -> Money {
        let mut total = Money::ZERO;
        for i in 1..=count {
            let (id, text, barcode, price) = GOODS[self.rng.random_range(0..GOODS.len())];
            let price = Money::from_minor(price);
            let qty = Quantity::from_thousandths(if id == "2210" { self.rng.random_range(300..2_500) } else { 1_000 * self.rng.random_range(1..4) });
            let sum = price.mul_quantity(qty).unwrap_or(price);
            total = total.checked_add(sum).unwrap_or(total);
            let kind = if id == "12" { "freePrice" } else { "goods" };
            self.ev(out, "REG_POSITION_REGISTRATION", g, i, json!({
                "id": id, "text": text, "type": kind, "barcode": barcode,
                "price": price, "quantity": num(&qty.format_fixed()), "sum": sum, "discount": Money::ZERO,
            }));
        }
        total
    }

    fn sale(&mut self, out: &mut Vec<Timed>, cancelled: bool) {
        let g = self.group();
        self.open(out, &g, "receipt");
        let count = self.rng.random_range(1..6);
        let mut total = self.positions(out, &g, count);
        let card = self.rng.random_bool(0.4).then(|| format!("27{:011}", self.rng.random_range(0..100_000_000_000u64)));
        if let Some(card) = &card {
            self.ev(out, "REG_CARD_REGISTRATION", &g, count, json!({"type": "clientCard", "barcode": card}));
        }
        // Precheck: the cashier enters payment mode.
        self.ev(out, "REG_PAYMENT_MODE", &g, count, json!({}));
        if cancelled {
            if self.rng.random_bool(0.5) {
                // Storno after payment started (a loss-prevention signal).
                self.ev(out, "REG_POSITION_CANCEL", &g, count, json!({"index": count}));
                self.ev(out, "REG_REGISTRATION_MODE", &g, count, json!({}));
            }
            self.ev(out, "REG_DOCUMENT_CANCEL", &g, 0, json!({"sum": total, "discount": Money::ZERO, "sumPayments": Money::ZERO, "change": Money::ZERO.checked_sub(total).unwrap_or(Money::ZERO)}));
            return;
        }
        let mut index = 0;
        let mut paid = Money::ZERO;
        if let Some(card) = &card {
            let bonus = self.loyalty.bonus_to_pay(card, total);
            if !bonus.is_zero() {
                index += 1;
                paid = bonus;
                self.ev(out, "REG_PAYMENT_REGISTRATION", &g, index, json!({
                    "text": "Бонусы", "type": "other", "mode": "nonFiscal", "payment": bonus,
                    "sum": total, "discount": Money::ZERO, "sumPayments": Money::ZERO, "change": Money::ZERO.checked_sub(total.checked_sub(bonus).unwrap_or(total)).unwrap_or(Money::ZERO),
                }));
            }
        }
        let due = total.checked_sub(paid).unwrap_or(total);
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
            "sum": total, "discount": Money::ZERO, "sumPayments": payment, "change": change,
        }));
        if cash {
            self.ev(out, "SYS_OPEN_MONEY_BOX", &g, index, json!({"type": "auto"}));
        }
        total = total.checked_sub(Money::ZERO).unwrap_or(total);
        self.ev(out, "REG_DOCUMENT_CLOSE", &g, 0, json!({"sum": total, "discount": Money::ZERO, "sumPayments": payment, "change": change}));
    }

    fn refund(&mut self, out: &mut Vec<Timed>) {
        let g = self.group();
        self.ev(out, "REG_SUPERVISOR_MODE", &g, 0, json!({}));
        self.open(out, &g, "refundReceipt");
        let total = self.positions(out, &g, 1);
        self.ev(out, "REG_PAYMENT_MODE", &g, 1, json!({}));
        self.ev(out, "REG_PAYMENT_REGISTRATION", &g, 1, json!({
            "text": "Наличные", "type": "cash", "mode": "fiscal", "payment": total,
            "sum": total, "discount": Money::ZERO, "sumPayments": total, "change": Money::ZERO,
        }));
        self.ev(out, "SYS_OPEN_MONEY_BOX", &g, 1, json!({"type": "auto"}));
        self.ev(out, "REG_DOCUMENT_CLOSE", &g, 0, json!({"sum": total, "discount": Money::ZERO, "sumPayments": total, "change": Money::ZERO}));
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
    #[test]
    fn evt_10_evt_35_simulated_events_parse_cleanly() {
        let mut desk = Desk::new(7, 1_700_000_000_000, "Иванов", LocalBonus);
        let mut events = Vec::new();
        for _ in 0..300 {
            events.extend(desk.next_scenario().into_iter().map(|(e, _)| e));
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
