//! Parsing and validating Frontol loyalty requests (frontol-loyalty.md §3–§5, §11).
//!
//! Bodies are parsed strictly first and, when that fails, leniently (comments and trailing
//! commas, LOY-85) into a [`Json`] tree (duplicate keys: last wins, LOY-87), then mapped to
//! typed requests. Numbers are read from their exact text (LOY-45), also when sent as strings
//! (LOY-86). Every failure carries the protocol error code of LOY-11.

use kassa_money::{Money, Quantity};
use crate::json::{Json, Members, member};

/// Largest accepted body; the face refuses bigger ones before hashing.
pub const MAX_BODY_BYTES: usize = 1024 * 1024;
/// Most positions or payments in one document.
pub const MAX_POSITIONS: usize = 2_000;
/// Longest accepted text field (identifiers, names).
pub const MAX_TEXT: usize = 1_024;
/// Largest accepted amount or quantity (10^11 in major units): sums of a whole document stay
/// far from the i64 limit, so the arithmetic below cannot overflow.
pub const MAX_MAGNITUDE_MINOR: i64 = 10_000_000_000_000;

/// The `code` values of LOY-11.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ErrorCode {
    Internal = 1,
    Malformed = 2,
    Unsupported = 3,
    ClientNotFound = 4,
    BonusUnavailable = 5,
    StateConflict = 6,
    Unauthorized = 9,
}

impl ErrorCode {
    pub fn code(self) -> i64 {
        self as i64
    }
}

/// A request the server answers with a non-zero `code` (LOY-8, LOY-19).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("code {}: {message}", code.code())]
pub struct LoyaltyError {
    pub code: ErrorCode,
    /// Shown to the cashier (LOY-8), so in Russian.
    pub message: String,
}

impl LoyaltyError {
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        Self { code, message: message.into() }
    }
    pub fn malformed(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::Malformed, message)
    }
    pub fn unsupported(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::Unsupported, message)
    }
}

/// How the client was identified (LOY-20).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum ClientKey {
    Card(String),
    Phone(String),
}

impl ClientKey {
    pub fn as_str(&self) -> &str {
        match self {
            Self::Card(c) | Self::Phone(c) => c,
        }
    }
}

/// `action` of `/document` (LOY-23).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Action {
    Calculate,
    PayByBonus,
    CancelBonusPayment,
    Confirm,
}

impl Action {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Calculate => "calculate",
            Self::PayByBonus => "payByBonus",
            Self::CancelBonusPayment => "cancelBonusPayment",
            Self::Confirm => "confirm",
        }
    }
    const ALL: [Action; 4] = [Self::Calculate, Self::PayByBonus, Self::CancelBonusPayment, Self::Confirm];
}

/// Document `type` (LOY-23, LOY-35).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum DocType {
    Receipt,
    RefundReceipt,
}

impl DocType {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Receipt => "receipt",
            Self::RefundReceipt => "refundReceipt",
        }
    }
    pub fn parse(s: &str) -> Option<Self> {
        [Self::Receipt, Self::RefundReceipt].into_iter().find(|t| t.as_str() == s)
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum PaymentMode {
    Fiscal,
    NonFiscal,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum PaymentType {
    Cash,
    CreditCard,
    Bonus,
    Other,
}

/// A `positions[]` element (§3.3).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Position {
    pub index: i64,
    pub id: String,
    pub text: String,
    pub price: Money,
    pub minimum_price: Money,
    pub quantity: Quantity,
    pub total_amount: Money,
}

/// `payment` (payByBonus, cancelBonusPayment).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Payment {
    pub mode: PaymentMode,
    pub amount: Money,
}

/// A `payments[]` element.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DocPayment {
    pub kind: PaymentType,
    pub mode: PaymentMode,
    pub amount: Money,
}

/// The fields of §3.1 kept for diagnostics (LOY-78).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Common {
    pub date_time: Option<String>,
    pub organization: Option<String>,
    pub business_unit: Option<String>,
    pub work_place: Option<String>,
}

/// A validated `/document` request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DocumentRequest {
    pub action: Action,
    pub common: Common,
    pub client: ClientKey,
    pub number: Option<i64>,
    pub shift: Option<i64>,
    /// Non-empty when present (LOY-29: an empty `uid` keys nothing).
    pub uid: Option<String>,
    pub doc_type: DocType,
    pub reference_uid: Option<String>,
    pub positions: Vec<Position>,
    pub payment: Option<Payment>,
    pub payments: Vec<DocPayment>,
    pub discarded_amount: Option<Money>,
    /// LOY-79: hash of the canonical request without `dateTime` (empty for `calculate`, which
    /// is never replayed).
    pub fingerprint: String,
}

/// A validated `/client` request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ClientRequest {
    pub common: Common,
    pub client: ClientKey,
}

/// LOY-85: strict JSON first, then the lenient form (comments, trailing commas).
pub fn parse_json(body: &[u8]) -> Result<Json<'_>, LoyaltyError> {
    parse_text(body_text(body)?)
}

/// The body as text: it must be UTF-8 (LOY-6).
pub fn body_text(body: &[u8]) -> Result<&str, LoyaltyError> {
    std::str::from_utf8(body).map_err(|_| LoyaltyError::malformed("Тело запроса не в UTF-8"))
}

/// [`parse_json`] of a body already read by [`body_text`].
pub fn parse_text(text: &str) -> Result<Json<'_>, LoyaltyError> {
    let bad = || LoyaltyError::malformed("Некорректный JSON в запросе");
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    match Json::parse_str(text) {
        Ok(v) => Ok(v),
        Err(_) => Json::parse_str(&strip_lenient(text)).map(Json::into_owned).map_err(|_| bad()),
    }
}

/// Removes `//` and `/* */` comments and commas that directly precede `]` or `}` (outside
/// strings), so the result can be parsed as strict JSON (LOY-85).
pub fn strip_lenient(text: &str) -> String {
    let b = text.as_bytes();
    let mut out: Vec<u8> = Vec::with_capacity(b.len());
    // Position in `out` of a comma not yet followed by a significant byte.
    let mut pending_comma: Option<usize> = None;
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        match c {
            b'"' => {
                pending_comma = None;
                out.push(c);
                i += 1;
                while i < b.len() {
                    out.push(b[i]);
                    if b[i] == b'\\' && i + 1 < b.len() {
                        out.push(b[i + 1]);
                        i += 2;
                        continue;
                    }
                    i += 1;
                    if b[i - 1] == b'"' {
                        break;
                    }
                }
            }
            b'/' if b.get(i + 1) == Some(&b'/') => {
                while i < b.len() && b[i] != b'\n' {
                    i += 1;
                }
            }
            b'/' if b.get(i + 1) == Some(&b'*') => {
                i += 2;
                while i < b.len() && !(b[i] == b'*' && b.get(i + 1) == Some(&b'/')) {
                    i += 1;
                }
                i = (i + 2).min(b.len());
                out.push(b' ');
            }
            b']' | b'}' => {
                if let Some(p) = pending_comma.take() {
                    out[p] = b' ';
                }
                out.push(c);
                i += 1;
            }
            b',' => {
                pending_comma = Some(out.len());
                out.push(c);
                i += 1;
            }
            c if c.is_ascii_whitespace() => {
                out.push(c);
                i += 1;
            }
            _ => {
                pending_comma = None;
                out.push(c);
                i += 1;
            }
        }
    }
    // Only ASCII bytes were replaced or dropped outside strings; the rest is copied whole.
    String::from_utf8(out).unwrap_or_default()
}

/// LOY-79: the canonical form of a request (keys sorted, numbers normalised, no whitespace)
/// without `dateTime`, hashed with SHA-256.
pub fn fingerprint(value: &Json) -> String {
    use sha2::Digest;
    let mut canon = String::with_capacity(2048);
    write_canonical(value, &mut canon, true);
    hex::encode(sha2::Sha256::digest(canon.as_bytes()))
}

/// Writes `v` canonically; at the top level `dateTime` is left out.
fn write_canonical(v: &Json, out: &mut String, top: bool) {
    match v {
        Json::Object(m) => {
            let mut members: Vec<(&str, &Json)> =
                m.iter().map(|(k, v)| (k.as_ref(), v)).filter(|(k, _)| !(top && *k == "dateTime")).collect();
            // Sorted by name (stable, so a name sent twice keeps its order), then its last
            // occurrence only (LOY-87).
            members.sort_by(|a, b| a.0.cmp(b.0));
            out.push('{');
            let mut first = true;
            for (i, (k, v)) in members.iter().enumerate() {
                if members.get(i + 1).is_some_and(|next| next.0 == *k) {
                    continue;
                }
                if !first {
                    out.push(',');
                }
                first = false;
                write_string(k, out);
                out.push(':');
                write_canonical(v, out, false);
            }
            out.push('}');
        }
        Json::Array(a) => {
            out.push('[');
            for (i, x) in a.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_canonical(x, out, false);
            }
            out.push(']');
        }
        Json::Number(n) => out.push_str(&normalise_number(n)),
        Json::String(s) => write_string(s, out),
        Json::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Json::Null => out.push_str("null"),
    }
}

/// A JSON string literal (escaping as serde_json does).
fn write_string(s: &str, out: &mut String) {
    if s.bytes().all(|b| b >= 0x20 && b != b'"' && b != b'\\') {
        out.push('"');
        out.push_str(s);
        out.push('"');
    } else {
        out.push_str(&serde_json::to_string(s).unwrap_or_default());
    }
}

/// `600.00` → `600`, `0.7320` → `0.732`, `-0` → `0`; exponents are left as written.
fn normalise_number(text: &str) -> String {
    if text.contains(['e', 'E']) || !text.contains('.') {
        return if text == "-0" { "0".into() } else { text.to_owned() };
    }
    let t = text.trim_end_matches('0').trim_end_matches('.');
    if t == "-0" || t.is_empty() { "0".into() } else { t.to_owned() }
}

fn field<'v, 'a>(obj: &'v Members<'a>, key: &str) -> Option<&'v Json<'a>> {
    match member(obj, key) {
        None | Some(Json::Null) => None,
        Some(Json::String(s)) if s.trim().is_empty() => None,
        Some(v) => Some(v),
    }
}

/// A text field; numbers are taken as their text (a POS may send codes as numbers).
fn text(obj: &Members, key: &str) -> Result<Option<String>, LoyaltyError> {
    match field(obj, key) {
        None => Ok(None),
        Some(Json::String(s)) if s.chars().count() <= MAX_TEXT => Ok(Some(s.to_string())),
        Some(Json::String(_)) => Err(LoyaltyError::malformed(format!("Поле {key} слишком длинное"))),
        Some(Json::Number(n)) => Ok(Some(n.to_string())),
        Some(_) => Err(LoyaltyError::malformed(format!("Поле {key} должно быть строкой"))),
    }
}

/// The exact text of a numeric field, also from a string with whitespace (LOY-86).
fn number_text<'v>(obj: &'v Members, key: &str) -> Result<Option<&'v str>, LoyaltyError> {
    match field(obj, key) {
        None => Ok(None),
        Some(Json::Number(n)) => Ok(Some(n)),
        Some(Json::String(s)) => Ok(Some(s.trim())),
        Some(_) => Err(LoyaltyError::malformed(format!("Поле {key} должно быть числом"))),
    }
}

fn money(obj: &Members, key: &str) -> Result<Option<Money>, LoyaltyError> {
    // LOY-45: rounded half away from zero to 0.01, from the decimal text.
    number_text(obj, key)?
        .map(|t| {
            Money::parse_rounded(t)
                .ok()
                .filter(|m| m.minor().abs() <= MAX_MAGNITUDE_MINOR)
                .ok_or_else(|| LoyaltyError::malformed(format!("Некорректная сумма в поле {key}")))
        })
        .transpose()
}

fn quantity(obj: &Members, key: &str) -> Result<Option<Quantity>, LoyaltyError> {
    number_text(obj, key)?
        .map(|t| {
            Quantity::parse_rounded(t)
                .ok()
                .filter(|q| q.thousandths().abs() <= MAX_MAGNITUDE_MINOR)
                .ok_or_else(|| LoyaltyError::malformed(format!("Некорректное количество в поле {key}")))
        })
        .transpose()
}

fn integer(obj: &Members, key: &str) -> Result<Option<i64>, LoyaltyError> {
    number_text(obj, key)?
        .map(|t| t.parse::<i64>().map_err(|_| LoyaltyError::malformed(format!("Поле {key} должно быть целым числом"))))
        .transpose()
}

fn required<T>(v: Option<T>, key: &str) -> Result<T, LoyaltyError> {
    v.ok_or_else(|| LoyaltyError::malformed(format!("Отсутствует обязательное поле {key}")))
}

/// LOY-86: exact match first, then case-insensitive.
fn enum_value<T: Copy>(raw: &str, options: &[(&str, T)]) -> Option<T> {
    options
        .iter()
        .find(|(name, _)| *name == raw)
        .or_else(|| options.iter().find(|(name, _)| name.eq_ignore_ascii_case(raw)))
        .map(|(_, v)| *v)
}

fn root<'v, 'a>(value: &'v Json<'a>) -> Result<&'v Members<'a>, LoyaltyError> {
    value.as_object().ok_or_else(|| LoyaltyError::malformed("Тело запроса должно быть JSON-объектом"))
}

fn common(obj: &Members) -> Result<Common, LoyaltyError> {
    Ok(Common {
        date_time: text(obj, "dateTime")?,
        organization: text(obj, "organization")?,
        business_unit: text(obj, "businessUnit")?,
        work_place: text(obj, "workPlace")?,
    })
}

/// LOY-20, LOY-25: `card` wins over `mobilePhone`; neither counts as missing.
fn client(obj: &Members) -> Result<ClientKey, LoyaltyError> {
    let missing = || LoyaltyError::malformed("Отсутствует идентификатор клиента (client.card или client.mobilePhone)");
    let c = match field(obj, "client") {
        Some(Json::Object(c)) => c,
        Some(_) => return Err(LoyaltyError::malformed("Поле client должно быть объектом")),
        None => return Err(missing()),
    };
    if let Some(card) = text(c, "card")? {
        let card = card.trim();
        if !card.is_empty() {
            return Ok(ClientKey::Card(card.to_owned()));
        }
    }
    if let Some(phone) = text(c, "mobilePhone")? {
        let phone = normalise_phone(&phone);
        if !phone.is_empty() {
            return Ok(ClientKey::Phone(phone));
        }
    }
    Err(missing())
}

/// LOY-20: a phone not in `+digits` form loses spaces, `-`, `(` and `)`.
pub fn normalise_phone(raw: &str) -> String {
    raw.trim().chars().filter(|c| !matches!(c, ' ' | '-' | '(' | ')')).collect()
}

fn positions(obj: &Members) -> Result<Vec<Position>, LoyaltyError> {
    let arr = match field(obj, "positions") {
        None => return Ok(Vec::new()),
        Some(Json::Array(a)) => a,
        Some(_) => return Err(LoyaltyError::malformed("Поле positions должно быть массивом")),
    };
    if arr.len() > MAX_POSITIONS {
        return Err(LoyaltyError::malformed("Слишком много позиций"));
    }
    let mut seen = std::collections::HashSet::new();
    arr.iter()
        .map(|p| {
            let p = p.as_object().ok_or_else(|| LoyaltyError::malformed("Позиция должна быть объектом"))?;
            let index = required(integer(p, "index")?, "positions[].index")?;
            if !seen.insert(index) {
                return Err(LoyaltyError::malformed(format!("Повторяющийся index позиции {index}")));
            }
            let quantity = required(quantity(p, "quantity")?, "positions[].quantity")?;
            let total_amount = required(money(p, "totalAmount")?, "positions[].totalAmount")?;
            let price = money(p, "price")?.unwrap_or(Money::ZERO);
            let minimum_price = money(p, "minimumPrice")?.unwrap_or(Money::ZERO);
            if quantity.is_negative() || total_amount.is_negative() || price.is_negative() || minimum_price.is_negative() {
                return Err(LoyaltyError::malformed(format!("Отрицательные значения в позиции {index}")));
            }
            Ok(Position {
                index,
                id: text(p, "id")?.unwrap_or_default(),
                text: text(p, "text")?.unwrap_or_default(),
                price,
                minimum_price,
                quantity,
                total_amount,
            })
        })
        .collect()
}

fn mode(obj: &Members, key: &str) -> Result<PaymentMode, LoyaltyError> {
    let raw = required(text(obj, "mode")?, key)?;
    enum_value(&raw, &[("fiscal", PaymentMode::Fiscal), ("nonFiscal", PaymentMode::NonFiscal)])
        .ok_or_else(|| LoyaltyError::unsupported(format!("Неподдерживаемый режим оплаты {raw}")))
}

fn payment(obj: &Members) -> Result<Option<Payment>, LoyaltyError> {
    let p = match field(obj, "payment") {
        None => return Ok(None),
        Some(Json::Object(p)) => p,
        Some(_) => return Err(LoyaltyError::malformed("Поле payment должно быть объектом")),
    };
    let amount = required(money(p, "amount")?, "payment.amount")?;
    let mode = mode(p, "payment.mode")?;
    Ok(Some(Payment { mode, amount }))
}

fn payments(obj: &Members) -> Result<Option<Vec<DocPayment>>, LoyaltyError> {
    let arr = match field(obj, "payments") {
        None => return Ok(None),
        Some(Json::Array(a)) => a,
        Some(_) => return Err(LoyaltyError::malformed("Поле payments должно быть массивом")),
    };
    if arr.len() > MAX_POSITIONS {
        return Err(LoyaltyError::malformed("Слишком много оплат"));
    }
    arr.iter()
        .map(|p| {
            let p = p.as_object().ok_or_else(|| LoyaltyError::malformed("Оплата должна быть объектом"))?;
            let raw = required(text(p, "type")?, "payments[].type")?;
            let kind = enum_value(
                &raw,
                &[
                    ("cash", PaymentType::Cash),
                    ("creditCard", PaymentType::CreditCard),
                    ("bonus", PaymentType::Bonus),
                    ("other", PaymentType::Other),
                ],
            )
            .ok_or_else(|| LoyaltyError::unsupported(format!("Неизвестный тип оплаты {raw}")))?;
            let mode = mode(p, "payments[].mode")?;
            let amount = required(money(p, "amount")?, "payments[].amount")?;
            if amount.is_negative() {
                return Err(LoyaltyError::malformed("Отрицательная сумма оплаты"));
            }
            Ok(DocPayment { kind, mode, amount })
        })
        .collect::<Result<Vec<_>, _>>()
        .map(Some)
}

/// LOY-23, LOY-25: a `/document` body → a request its action can work with.
pub fn parse_document(value: &Json) -> Result<DocumentRequest, LoyaltyError> {
    let obj = root(value)?;
    let raw_action = text(obj, "action")?.ok_or_else(|| LoyaltyError::malformed("Отсутствует поле action"))?;
    let action = enum_value(&raw_action, &Action::ALL.map(|a| (a.as_str(), a)))
        .ok_or_else(|| LoyaltyError::unsupported(format!("Неизвестное действие {raw_action}")))?;
    let doc_type = match text(obj, "type")? {
        None if action == Action::Confirm => return Err(LoyaltyError::malformed("Отсутствует поле type")),
        None => DocType::Receipt,
        Some(raw) => {
            let t = enum_value(&raw, &[("receipt", DocType::Receipt), ("refundReceipt", DocType::RefundReceipt)])
                .ok_or_else(|| LoyaltyError::unsupported(format!("Неизвестный тип документа {raw}")))?;
            if t == DocType::RefundReceipt && action != Action::Confirm {
                return Err(LoyaltyError::unsupported("Для возврата поддерживается только действие confirm"));
            }
            t
        }
    };
    let client = client(obj)?;
    let uid = text(obj, "uid")?.map(|u| u.trim().to_owned()).filter(|u| !u.is_empty());
    let reference_uid = text(obj, "referenceUid")?.map(|u| u.trim().to_owned()).filter(|u| !u.is_empty());
    let positions = positions(obj)?;
    let payment = payment(obj)?;
    let payments = payments(obj)?;
    let need_uid = || required(uid.clone(), "uid");
    match action {
        Action::Calculate => {}
        Action::PayByBonus | Action::CancelBonusPayment => {
            need_uid()?;
            let p = required(payment, "payment")?;
            if p.mode != PaymentMode::NonFiscal {
                // LOY-50: a bonus payment can only be non-fiscal.
                return Err(LoyaltyError::unsupported("Оплата бонусами возможна только в режиме nonFiscal"));
            }
            if p.amount <= Money::ZERO {
                return Err(LoyaltyError::malformed("Сумма оплаты бонусами должна быть больше нуля"));
            }
            if action == Action::PayByBonus && positions.is_empty() {
                return Err(LoyaltyError::malformed("Отсутствует обязательное поле positions"));
            }
        }
        Action::Confirm => {
            need_uid()?;
            if positions.is_empty() && field(obj, "positions").is_none() {
                return Err(LoyaltyError::malformed("Отсутствует обязательное поле positions"));
            }
            required(payments.as_ref(), "payments")?;
            if doc_type == DocType::RefundReceipt && reference_uid.is_none() {
                return Err(LoyaltyError::malformed("Отсутствует обязательное поле referenceUid"));
            }
        }
    }
    Ok(DocumentRequest {
        action,
        common: common(obj)?,
        client,
        number: integer(obj, "number")?,
        shift: integer(obj, "shift")?,
        uid,
        doc_type,
        reference_uid,
        positions,
        payment,
        payments: payments.unwrap_or_default(),
        discarded_amount: money(obj, "discardedAmount")?,
        // Only the settling actions look for replays; a precheck never does.
        fingerprint: if action == Action::Calculate { String::new() } else { fingerprint(value) },
    })
}

/// A `/client` body (§5.6).
pub fn parse_client(value: &Json) -> Result<ClientRequest, LoyaltyError> {
    let obj = root(value)?;
    Ok(ClientRequest { common: common(obj)?, client: client(obj)? })
}

/// The `action` and `uid` of a body, as far as they can be read, for the audit record.
pub fn peek(value: &Json) -> (Option<String>, Option<String>) {
    let get = |k: &str| value.get(k).and_then(Json::as_str).map(|s| s.chars().take(128).collect());
    (get("action"), get("uid"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lenient_parsing_accepts_comments_and_trailing_commas_loy_85() {
        let body = br#"{ // comment
            "a": [1, 2,], /* block */ "b": {"c": "x, ]",},
        }"#;
        let v = parse_json(body).unwrap();
        assert_eq!(v.get("a").and_then(Json::as_array).unwrap().len(), 2);
        assert_eq!(v.get("b").and_then(|b| b.get("c")).and_then(Json::as_str), Some("x, ]"));
        assert_eq!(parse_json(b"{").unwrap_err().code, ErrorCode::Malformed);
    }

    #[test]
    fn duplicate_keys_last_wins_loy_87_and_card_wins_loy_20() {
        let v = parse_json(br#"{"action":"calculate","client":{"card":"1"},"client":{"mobilePhone":"+7 (921) 102-25-46"}}"#).unwrap();
        let r = parse_document(&v).unwrap();
        assert_eq!(r.client, ClientKey::Phone("+79211022546".into()));
        let v = parse_json(br#"{"action":"calculate","client":{"card":" 9070 ","mobilePhone":"+7921"}}"#).unwrap();
        assert_eq!(parse_document(&v).unwrap().client, ClientKey::Card("9070".into()));
    }

    #[test]
    fn quoted_numbers_and_case_insensitive_enums_loy_86() {
        let v = parse_json(
            br#"{"action":"Confirm","type":"receipt","uid":"u","client":{"card":"1"},
                "positions":[{"index":" 1","id":"a","price":"10.00","minimumPrice":"","quantity":" 1.000","totalAmount":10}],
                "payments":[{"type":"CASH","mode":"fiscal","amount":"10"}]}"#,
        )
        .unwrap();
        let r = parse_document(&v).unwrap();
        assert_eq!(r.action, Action::Confirm);
        assert_eq!(r.positions[0].index, 1);
        assert_eq!(r.positions[0].minimum_price, Money::ZERO);
        assert_eq!(r.payments[0].kind, PaymentType::Cash);
    }

    #[test]
    fn errors_use_the_codes_of_loy_11_and_loy_23() {
        let code = |s: &str| parse_document(&parse_json(s.as_bytes()).unwrap()).unwrap_err().code;
        assert_eq!(code(r#"{"client":{"card":"1"}}"#), ErrorCode::Malformed);
        assert_eq!(code(r#"{"action":"foo","client":{"card":"1"}}"#), ErrorCode::Unsupported);
        assert_eq!(code(r#"{"action":"calculate","type":"refundReceipt","client":{"card":"1"}}"#), ErrorCode::Unsupported);
        assert_eq!(code(r#"{"action":"calculate","client":{}}"#), ErrorCode::Malformed);
        assert_eq!(
            code(r#"{"action":"payByBonus","uid":"u","client":{"card":"1"},"payment":{"mode":"fiscal","amount":1},"positions":[]}"#),
            ErrorCode::Unsupported
        );
        assert_eq!(
            code(r#"{"action":"payByBonus","uid":"u","client":{"card":"1"},"payment":{"mode":"nonFiscal","amount":0},"positions":[]}"#),
            ErrorCode::Malformed
        );
        assert_eq!(code(r#"{"action":"confirm","type":"refundReceipt","uid":"u","client":{"card":"1"},"positions":[],"payments":[]}"#), ErrorCode::Malformed);
    }

    #[test]
    fn fingerprint_ignores_date_time_and_formatting_loy_79() {
        let a = parse_json(br#"{"dateTime":"1","amount":600.00,"b":[1, 2]}"#).unwrap();
        let b = parse_json(br#"{ "b":[1,2], "amount":600, "dateTime":"2"}"#).unwrap();
        let c = parse_json(br#"{"b":[1,2],"amount":600.01}"#).unwrap();
        assert_eq!(fingerprint(&a), fingerprint(&b));
        assert_ne!(fingerprint(&a), fingerprint(&c));
    }

    /// A replay is recognised by the fingerprint stored with the first request, so the canonical
    /// form never changes between versions: these are the fingerprints the `serde_json::Value`
    /// reading of stop 11 computed for the same bodies (escapes, numbers as written, `null`,
    /// `true`, a repeated `uid`, comments and trailing commas).
    #[test]
    fn fingerprints_match_those_stored_by_earlier_versions_loy_79() {
        let strict = r#"{"action":"confirm","dateTime":"2017-10-09T18:31:42.201+0300","organization":"ООО Ромашка","client":{"card":"9070000000001000"},"number":12346,"uid":"u1","type":"receipt","positions":[{"index":1,"id":"120474","text":"Радио \"кв\"\n","price":2500.00,"quantity":2.000,"totalAmount":2909.12}],"payments":[{"type":"cash","mode":"fiscal","amount":3000.00}],"discardedAmount":-0.0,"x":null,"y":true,"z":[1e5,-0,0.500],"uid":"u2"}"#;
        let lenient = "{ // c\n\"action\":\"payByBonus\", \"uid\":\"abc\", \"client\":{\"mobilePhone\":\"+7 921\"}, \"payment\":{\"mode\":\"nonFiscal\",\"amount\":\"10.5\",}, \"positions\":[{\"index\":\"1\",\"quantity\":1,\"totalAmount\":5}], }";
        let fp = |body: &str| fingerprint(&parse_json(body.as_bytes()).unwrap());
        assert_eq!(fp(strict), "a42c6e2b45f24f57d9e7f83c7de05ed3082464c0e9f8f881332d65ba1649b67a");
        assert_eq!(fp(lenient), "c9b0f5081f09d93ba9efc58a23b7d2bffb68bdf4e1b62f476d841705c841b732");
    }

    proptest::proptest! {
        /// LOY-85: any byte string is answered with a code, never a panic.
        #[test]
        fn parser_never_panics_on_arbitrary_bytes(bytes in proptest::collection::vec(proptest::num::u8::ANY, 0..300)) {
            if let Ok(v) = parse_json(&bytes) {
                let _ = parse_document(&v);
                let _ = parse_client(&v);
            }
        }

        /// LOY-85: stripping is the identity on strict JSON objects without trailing commas.
        #[test]
        fn lenient_strip_keeps_strings(s in "[a-z ,\\]\\}/*]{0,20}") {
            let json = serde_json::json!({"k": s.clone(), "n": [1, 2]}).to_string();
            let stripped = strip_lenient(&json);
            let v = parse_json(stripped.as_bytes()).unwrap();
            proptest::prop_assert_eq!(v.get("k").and_then(Json::as_str).unwrap(), s.as_str());
        }
    }
}
