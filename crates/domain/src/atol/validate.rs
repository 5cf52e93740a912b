//! Validation of registration bodies (§6.3–§6.6): the operation selects the receipt or the
//! correction structure (ATOL-47), and every member is checked by ATOL-53..66. The result is a
//! typed [`Document`] with exact amounts; the first violation found becomes error 8.

use super::number::{NumberError, fixed, small_int};
use super::time::is_valid_timestamp;
use kassa_money::{Money, Quantity};
use crate::json::{Json, Members, member};

/// The six operations (ATOL-46), case-sensitive.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Operation {
    Sell,
    SellRefund,
    SellCorrection,
    Buy,
    BuyRefund,
    BuyCorrection,
}

impl Operation {
    pub const ALL: [Operation; 6] =
        [Self::Sell, Self::SellRefund, Self::SellCorrection, Self::Buy, Self::BuyRefund, Self::BuyCorrection];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Sell => "sell",
            Self::SellRefund => "sell_refund",
            Self::SellCorrection => "sell_correction",
            Self::Buy => "buy",
            Self::BuyRefund => "buy_refund",
            Self::BuyCorrection => "buy_correction",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|o| o.as_str() == s)
    }

    pub fn is_correction(self) -> bool {
        matches!(self, Self::SellCorrection | Self::BuyCorrection)
    }
}

/// Taxation systems (§6.6).
pub const SNO: [&str; 6] = ["osn", "usn_income", "usn_income_outcome", "envd", "esn", "patent"];
/// Tax numbers (§6.6).
pub const TAX: [&str; 6] = ["none", "vat0", "vat10", "vat18", "vat110", "vat118"];
/// ATOL-55 (I-7): the seed's maximum price and price × quantity, in kopecks, kept in one place.
pub const MAX_PRICE_KOPECKS: i64 = 4_294_697_295;
/// ATOL-57: the total may differ from Σ sum by at most 99 kopecks.
pub const TOTAL_TOLERANCE_KOPECKS: i64 = 99;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Service {
    pub inn: Option<String>,
    pub payment_address: Option<String>,
    pub callback_url: String,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Payment {
    /// 0–9; 0 is cash (D-26).
    pub kind: u8,
    pub sum: Money,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Position {
    pub name: String,
    pub price: Money,
    pub quantity: Quantity,
    pub sum: Money,
    pub tax: String,
    pub tax_sum: Option<Money>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Item {
    Position(Position),
    Barcode(String),
    Text(String),
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Receipt {
    pub sno: Option<String>,
    pub email: String,
    pub phone: String,
    pub items: Vec<Item>,
    pub total: Money,
    pub payments: Vec<Payment>,
}

impl Receipt {
    pub fn positions(&self) -> impl Iterator<Item = &Position> {
        self.items.iter().filter_map(|i| match i {
            Item::Position(p) => Some(p),
            _ => None,
        })
    }

    /// ATOL-58/60: the customer contact passed to the KKT — the e-mail when given, else the
    /// normalized phone.
    pub fn contact(&self) -> String {
        if !self.email.is_empty() { self.email.clone() } else { normalize_phone(&self.phone) }
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Correction {
    pub sno: Option<String>,
    pub tax: String,
    pub payments: Vec<Payment>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Body {
    Receipt(Receipt),
    Correction(Correction),
}

/// A registration body that passed validation.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Document {
    pub operation: Operation,
    pub timestamp: String,
    /// `None` when absent, `null` or `""` (→ error 23, ATOL-75).
    pub external_id: Option<String>,
    /// Always present for receipts; optional for corrections (D-25).
    pub service: Option<Service>,
    pub body: Body,
}

impl Document {
    pub fn callback_url(&self) -> &str {
        self.service.as_ref().map_or("", |s| s.callback_url.as_str())
    }

    pub fn sno(&self) -> Option<&str> {
        match &self.body {
            Body::Receipt(r) => r.sno.as_deref(),
            Body::Correction(c) => c.sno.as_deref(),
        }
    }

    /// The fiscal total: `receipt.total` (ATOL-57) or the payments sum of a correction (ATOL-63).
    pub fn fiscal_total(&self) -> Money {
        match &self.body {
            Body::Receipt(r) => r.total,
            Body::Correction(c) => Money::checked_sum(c.payments.iter().map(|p| p.sum)).unwrap_or(Money::from_minor(0)),
        }
    }
}

/// The first violation: where (JSON Pointer) and why (D-28).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Invalid {
    pub pointer: String,
    pub reason: String,
}

impl Invalid {
    fn new(pointer: impl Into<String>, reason: impl Into<String>) -> Self {
        Self { pointer: pointer.into(), reason: reason.into() }
    }

    /// `<JSON Pointer>: <reason>` (ATOL-70).
    pub fn detail(&self) -> String {
        format!("{}: {}", if self.pointer.is_empty() { "/" } else { &self.pointer }, self.reason)
    }
}

type R<T> = Result<T, Invalid>;

/// ATOL-17: `null` counts as absent.
fn get<'a>(o: &'a Members<'a>, key: &str) -> Option<&'a Json<'a>> {
    member(o, key).filter(|v| **v != Json::Null)
}

fn object<'a>(v: &'a Json<'a>, at: &str) -> R<&'a Members<'a>> {
    v.as_object().ok_or_else(|| Invalid::new(at, "ожидается объект"))
}

fn required<'a>(o: &'a Members<'a>, at: &str, key: &str) -> R<&'a Json<'a>> {
    get(o, key).ok_or_else(|| Invalid::new(format!("{at}/{key}"), "обязательное поле отсутствует"))
}

/// A string of at most `max` characters (ATOL-20: Unicode scalar values).
fn string(v: &Json<'_>, at: &str, max: usize) -> R<String> {
    let s = v.as_str().ok_or_else(|| Invalid::new(at, "ожидается строка"))?;
    if s.chars().count() > max {
        return Err(Invalid::new(at, format!("длина более {max} символов")));
    }
    Ok(s.to_owned())
}

fn number_text(v: &Json<'_>, at: &str) -> R<String> {
    match v {
        Json::Number(n) => Ok(n.to_string()),
        _ => Err(Invalid::new(at, "ожидается число")),
    }
}

fn num_err(at: &str, e: NumberError) -> Invalid {
    Invalid::new(at, e.reason())
}

/// T-money: ≥ 0, integer part ≤ 8 digits, fraction ≤ 2 digits.
fn money(v: &Json<'_>, at: &str) -> R<Money> {
    fixed(&number_text(v, at)?, 8, 2).map(Money::from_minor).map_err(|e| num_err(at, e))
}

/// T-qty (D-20): ≥ 0, integer part ≤ 5 digits, fraction ≤ 3 digits.
fn quantity(v: &Json<'_>, at: &str) -> R<Quantity> {
    fixed(&number_text(v, at)?, 5, 3).map(Quantity::from_thousandths).map_err(|e| num_err(at, e))
}

fn enumerated(v: &Json<'_>, at: &str, values: &[&str]) -> R<String> {
    match v.as_str() {
        Some(s) if values.contains(&s) => Ok(s.to_owned()),
        _ => Err(Invalid::new(at, "недопустимое значение")),
    }
}

/// ATOL-59 (D-23): `^(\+[0-9]{1,63}|[0-9]{1,64})$`.
pub fn is_valid_phone(p: &str) -> bool {
    let digits = p.strip_prefix('+').unwrap_or(p);
    !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()) && p.len() <= 64
}

/// ATOL-60: `+…` as is; 10 digits → `+7…`; other digits → `+…`.
pub fn normalize_phone(p: &str) -> String {
    if p.starts_with('+') || p.is_empty() {
        p.to_owned()
    } else if p.len() == 10 {
        format!("+7{p}")
    } else {
        format!("+{p}")
    }
}

fn payments(v: &Json<'_>, at: &str) -> R<Vec<Payment>> {
    let arr = v.as_array().ok_or_else(|| Invalid::new(at, "ожидается массив"))?;
    if arr.is_empty() || arr.len() > 10 {
        return Err(Invalid::new(at, "от 1 до 10 элементов"));
    }
    arr.iter()
        .enumerate()
        .map(|(i, p)| {
            let at = format!("{at}/{i}");
            let o = object(p, &at)?;
            let t = required(o, &at, "type")?;
            let tp = format!("{at}/type");
            // ATOL-65: a JSON number with an integer value 0–9.
            let kind = small_int(&number_text(t, &tp)?, 9).ok_or_else(|| Invalid::new(&tp, "недопустимое значение"))?;
            let sum = money(required(o, &at, "sum")?, &format!("{at}/sum"))?;
            Ok(Payment { kind: kind as u8, sum })
        })
        .collect()
}

fn sno(attrs: Option<&Members<'_>>, at: &str) -> R<Option<String>> {
    match attrs.and_then(|a| get(a, "sno")) {
        Some(v) => enumerated(v, &format!("{at}/sno"), &SNO).map(Some),
        None => Ok(None),
    }
}

/// ATOL-53: `inn` exactly 10 or 12 characters.
fn inn(v: &Json<'_>, at: &str) -> R<String> {
    let s = string(v, at, 12)?;
    match s.chars().count() {
        10 | 12 => Ok(s),
        _ => Err(Invalid::new(at, "ИНН должен содержать 10 или 12 символов")),
    }
}

fn service(o: &Members<'_>, required_members: bool) -> R<Service> {
    let at = "/service";
    let opt = |key: &str| get(o, key);
    let inn = match (opt("inn"), required_members) {
        (Some(v), _) => Some(inn(v, "/service/inn")?),
        (None, true) => return Err(Invalid::new("/service/inn", "обязательное поле отсутствует")),
        (None, false) => None,
    };
    let payment_address = match (opt("payment_address"), required_members) {
        (Some(v), _) => Some(string(v, "/service/payment_address", 256)?),
        (None, true) => return Err(Invalid::new(format!("{at}/payment_address"), "обязательное поле отсутствует")),
        (None, false) => None,
    };
    let callback_url = match opt("callback_url") {
        Some(v) => string(v, "/service/callback_url", 256)?,
        None => String::new(),
    };
    Ok(Service { inn, payment_address, callback_url })
}

fn position(o: &Members<'_>, at: &str) -> R<Position> {
    let name = string(required(o, at, "name")?, &format!("{at}/name"), 64)?;
    let price = money(required(o, at, "price")?, &format!("{at}/price"))?;
    let quantity = quantity(required(o, at, "quantity")?, &format!("{at}/quantity"))?;
    let sum = money(required(o, at, "sum")?, &format!("{at}/sum"))?;
    let tax = enumerated(required(o, at, "tax")?, &format!("{at}/tax"), &TAX)?;
    let tax_sum = match get(o, "tax_sum") {
        Some(v) => Some(money(v, &format!("{at}/tax_sum"))?),
        None => None,
    };
    // ATOL-55: price ≤ max and price × quantity ≤ max, exactly (kopecks × thousandths).
    if price.minor() > MAX_PRICE_KOPECKS {
        return Err(Invalid::new(format!("{at}/price"), "цена более 42946972.95"));
    }
    if i128::from(price.minor()) * i128::from(quantity.thousandths()) > i128::from(MAX_PRICE_KOPECKS) * 1000 {
        return Err(Invalid::new(format!("{at}/price"), "цена × количество более 42946972.95"));
    }
    Ok(Position { name, price, quantity, sum, tax, tax_sum })
}

const POSITION_KEYS: [&str; 6] = ["name", "price", "quantity", "sum", "tax", "tax_sum"];

/// ATOL-54 (D-22): position, barcode line or text line.
fn item(v: &Json<'_>, at: &str) -> R<Item> {
    let o = object(v, at)?;
    if POSITION_KEYS.iter().any(|k| get(o, k).is_some()) {
        return position(o, at).map(Item::Position);
    }
    if let Some(b) = get(o, "barcode") {
        return b.as_str().map(|s| Item::Barcode(s.to_owned())).ok_or_else(|| Invalid::new(format!("{at}/barcode"), "ожидается строка"));
    }
    if let Some(t) = get(o, "text") {
        return t.as_str().map(|s| Item::Text(s.to_owned())).ok_or_else(|| Invalid::new(format!("{at}/text"), "ожидается строка"));
    }
    Err(Invalid::new(at, "элемент не является позицией, штрихкодом или текстом"))
}

fn receipt(o: &Members<'_>) -> R<Receipt> {
    let at = "/receipt";
    let attrs = object(required(o, at, "attributes")?, "/receipt/attributes")?;
    let sno = sno(Some(attrs), "/receipt/attributes")?;
    let contact = |key: &str| -> R<String> {
        match get(attrs, key) {
            Some(v) => string(v, &format!("/receipt/attributes/{key}"), 64),
            None => Ok(String::new()),
        }
    };
    let email = contact("email")?;
    let phone = contact("phone")?;
    // ATOL-58: at least one of email/phone non-empty.
    if email.is_empty() && phone.is_empty() {
        return Err(Invalid::new("/receipt/attributes", "не заполнены email и phone"));
    }
    if !phone.is_empty() && !is_valid_phone(&phone) {
        return Err(Invalid::new("/receipt/attributes/phone", "телефон должен содержать только цифры и «+»"));
    }
    let arr = required(o, at, "items")?.as_array().ok_or_else(|| Invalid::new("/receipt/items", "ожидается массив"))?;
    if arr.is_empty() || arr.len() > 100 {
        return Err(Invalid::new("/receipt/items", "от 1 до 100 элементов"));
    }
    let items = arr.iter().enumerate().map(|(i, v)| item(v, &format!("/receipt/items/{i}"))).collect::<R<Vec<_>>>()?;
    let total = money(required(o, at, "total")?, "/receipt/total")?;
    let payments = payments(required(o, at, "payments")?, "/receipt/payments")?;
    let r = Receipt { sno, email, phone, items, total, payments };
    if r.positions().next().is_none() {
        return Err(Invalid::new("/receipt/items", "нет ни одной позиции"));
    }
    // ATOL-57: |total − Σ sum| ≤ 0.99 (at most 100 × 99 999 999.99: fits in i64).
    let sigma: i64 = r.positions().map(|p| p.sum.minor()).sum();
    if (total.minor() - sigma).abs() > TOTAL_TOLERANCE_KOPECKS {
        return Err(Invalid::new("/receipt/total", "итог отличается от суммы позиций более чем на 0.99"));
    }
    Ok(r)
}

fn correction(o: &Members<'_>) -> R<Correction> {
    let at = "/correction";
    let attrs = match get(o, "attributes") {
        Some(v) => Some(object(v, "/correction/attributes")?),
        None => None,
    };
    let sno = sno(attrs, "/correction/attributes")?;
    let tax = enumerated(required(o, at, "tax")?, "/correction/tax", &TAX)?;
    let payments = payments(required(o, at, "payments")?, "/correction/payments")?;
    Ok(Correction { sno, tax, payments })
}

/// `external_id` as the idempotency step sees it (ATOL-48 step 7): a non-empty string member.
pub fn external_id_for_lookup<'a>(body: &'a Json<'a>) -> Option<&'a str> {
    body.get("external_id").and_then(Json::as_str).filter(|s| !s.is_empty())
}

/// A syntactically valid `timestamp` of the body, if any (ATOL-68).
pub fn usable_timestamp<'a>(body: &'a Json<'a>) -> Option<&'a str> {
    body.get("timestamp").and_then(Json::as_str).filter(|t| is_valid_timestamp(t))
}

/// Validates `body` for `op` (ATOL-47, ATOL-53..66, ATOL-62..64).
pub fn validate(op: Operation, body: &Json<'_>) -> Result<Document, Invalid> {
    let o = object(body, "")?;
    let ts = string(required(o, "", "timestamp")?, "/timestamp", 19)?;
    if !is_valid_timestamp(&ts) {
        return Err(Invalid::new("/timestamp", "формат dd.mm.yyyy HH:MM:SS"));
    }
    // ATOL-75: absent, null or "" → generated later (23); a non-string or too long → 8.
    let external_id = match get(o, "external_id") {
        Some(v) => Some(string(v, "/external_id", 256)?).filter(|s| !s.is_empty()),
        None => None,
    };
    let service_value = get(o, "service");
    let (service, body) = if op.is_correction() {
        let service = match service_value {
            Some(v) => Some(service(object(v, "/service")?, false)?),
            None => None,
        };
        let c = object(required(o, "", "correction")?, "/correction")?;
        (service, Body::Correction(correction(c)?))
    } else {
        let s = object(required(o, "", "service")?, "/service")?;
        let service = service(s, true)?;
        let r = object(required(o, "", "receipt")?, "/receipt")?;
        (Some(service), Body::Receipt(receipt(r)?))
    };
    Ok(Document { operation: op, timestamp: ts, external_id, service, body })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn s() -> Json<'static> {
        crate::atol::json::parse(include_str!("testdata/s.json").as_bytes()).unwrap()
    }

    #[test]
    fn base_receipt_is_valid() {
        let d = validate(Operation::Sell, &s()).unwrap();
        assert_eq!(d.fiscal_total(), Money::from_minor(761_200));
        assert_eq!(d.external_id.as_deref(), Some("17052917561851307"));
        let Body::Receipt(r) = &d.body else { panic!() };
        assert_eq!(r.contact(), "sample@gmail.ru");
        assert!(validate(Operation::SellCorrection, &s()).is_err());
    }

    #[test]
    fn phone_rules() {
        // ATOL-59, ATOL-60, TV-17
        assert_eq!(normalize_phone("9251234567"), "+79251234567");
        assert_eq!(normalize_phone("+37121234567"), "+37121234567");
        assert_eq!(normalize_phone("37121234567"), "+37121234567");
        assert!(!is_valid_phone("+7(925)1234567"));
        assert!(!is_valid_phone("+371 2 1234567"));
        assert!(!is_valid_phone("+"));
        assert!(is_valid_phone(&"1".repeat(64)));
        assert!(!is_valid_phone(&"1".repeat(65)));
        let mut v: serde_json::Value = serde_json::from_str(include_str!("testdata/s.json")).unwrap();
        v["receipt"]["attributes"] = json!({"phone": "9251234567"});
        let text = v.to_string();
        let d = validate(Operation::Sell, &crate::atol::json::parse(text.as_bytes()).unwrap()).unwrap();
        let Body::Receipt(r) = &d.body else { panic!() };
        assert_eq!(r.contact(), "+79251234567");
    }
}
