//! The Frontol event model (`frontol-events.md`): the request envelope, the event catalogue,
//! the lenient reading of bodies and values, normalisation, the deduplication key, and the
//! loss-prevention rules.
//!
//! Pure: bytes in, normalised [`Batch`] out; no IO, no clock (the caller passes times). The
//! collector face parses with [`parse_batch`], the core stores what it returns.
//!
//! May depend on `kassa-money` (exact decimals), serde_json (values; `arbitrary_precision`, so
//! numbers keep their text) and sha2 (the deduplication key).

pub mod lenient;
pub mod rules;
pub mod timestamp;

use kassa_money::{Money, Quantity};
use serde_json::{Map, Number, Value};
use std::str::FromStr;

/// Batches the POS may send (EVT-41, EVT-45); larger ones are accepted but logged.
pub const POS_BATCH_LIMIT: usize = 500;
/// Default hard limit on events per request, answered `413` beyond (EVT-41).
pub const DEFAULT_HARD_LIMIT: usize = 10_000;

/// The 24 documented event names (EVT-32).
pub const KNOWN_EVENTS: [&str; 24] = [
    "ACT_ACTIVITY",
    "ACT_NO_ACTIVITY",
    "REG_DOCUMENT_OPEN",
    "REG_DOCUMENT_OPEN_DEFER_RESTORE",
    "REG_DOCUMENT_CLOSE",
    "REG_DOCUMENT_CANCEL",
    "REG_DOCUMENT_DEFER",
    "REG_POSITION_REGISTRATION",
    "REG_POSITION_CANCEL",
    "REG_POSITION_EDIT",
    "REG_PAYMENT_MODE",
    "REG_REGISTRATION_MODE",
    "REG_SUPERVISOR_MODE",
    "REG_PAYMENT_REGISTRATION",
    "REG_PAYMENT_CANCEL",
    "REG_CARD_REGISTRATION",
    "REG_CARD_CANCEL",
    "SYS_SESSION_START",
    "SYS_SESSION_END",
    "SYS_LOGIN_BEGIN",
    "SYS_LOGIN",
    "SYS_OPEN_MONEY_BOX",
    "ERR_USER_ERROR",
    "ERR_DEVICE_ERROR",
];

/// Document types of `REG_DOCUMENT_OPEN` (EVT-17), in the documented spelling.
pub const DOCUMENT_TYPES: [&str; 19] = [
    "receipt",
    "refundReceipt",
    "correctionReceipt",
    "correctionExpense",
    "openingTare",
    "payOut",
    "payIn",
    "user",
    "editingEmloyees",
    "postingGoods",
    "consumptionGoods",
    "inventoryGoods",
    "revaluationGoods",
    "prepayment",
    "refundPrepayment",
    "credit",
    "refundCredit",
    "expenditure",
    "refundExpenditure",
];
pub const POSITION_TYPES: [&str; 6] = ["freePrice", "goods", "exciseAlcohol", "nonExciseAlcohol", "employee", "banknote"];
pub const PAYMENT_TYPES: [&str; 3] = ["cash", "credit card", "other"];
pub const CARD_TYPES: [&str; 3] = ["clientCard", "couponDocument", "couponPosition"];
pub const LOGIN_TYPES: [&str; 5] = ["auto", "password", "scanner", "reader", "key"];
pub const MONEY_BOX_TYPES: [&str; 2] = ["manual", "auto"];
pub const MODES: [&str; 2] = ["fiscal", "nonFiscal"];

const STRING_FIELDS: [&str; 9] = ["event", "groupId", "cashierName", "input", "id", "text", "type", "barcode", "mode"];
const INTEGER_FIELDS: [&str; 3] = ["index", "shift", "number"];
const MONEY_FIELDS: [&str; 6] = ["price", "sum", "discount", "payment", "sumPayments", "change"];

/// The event groups (EVT-15); an unknown name takes its group from its prefix (EVT-32).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum EventGroup {
    Registration,
    Activity,
    Error,
    System,
    Unknown,
}

impl EventGroup {
    pub fn of(name: &str) -> Self {
        if name.starts_with("REG_") {
            Self::Registration
        } else if name.starts_with("ACT_") {
            Self::Activity
        } else if name.starts_with("ERR_") {
            Self::Error
        } else if name.starts_with("SYS_") {
            Self::System
        } else {
            Self::Unknown
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Registration => "registration",
            Self::Activity => "activity",
            Self::Error => "error",
            Self::System => "system",
            Self::Unknown => "unknown",
        }
    }
}

/// The request envelope (EVT-11), values trimmed (EVT-36).
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct Envelope {
    pub organization: String,
    pub business_unit: String,
    pub work_place: String,
}

/// One event: the object as received, its normalised fields and what was wrong with it (EVT-37).
#[derive(Clone, Debug, PartialEq)]
pub struct Event {
    /// The event name after alias resolution (`SYS_LOGIN_` → `SYS_LOGIN`, EVT-29), trimmed.
    pub name: String,
    pub group: EventGroup,
    /// Trimmed `groupId` (EVT-12, EVT-36); empty when absent.
    pub group_id: String,
    /// `dateTime` as milliseconds since the epoch, UTC (EVT-10); `None` when absent or unreadable.
    pub occurred_ms: Option<i64>,
    /// Normalised known fields: strings trimmed, enum aliases resolved, numbers exact (EVT-35).
    pub fields: Map<String, Value>,
    /// The event object as received, as compact JSON text (EVT-37).
    pub raw: String,
    /// Fields the catalogue does not know, as sent (they count for deduplication); a value that
    /// is not an object at all is kept under the name "".
    pub unknown: Vec<(String, Value)>,
    pub warnings: Vec<String>,
}

/// A parsed request: its envelope, envelope-level warnings and its events in request order.
#[derive(Clone, Debug, PartialEq)]
pub struct Batch {
    pub envelope: Envelope,
    pub warnings: Vec<String>,
    pub events: Vec<Event>,
}

/// Why a request body is not an envelope (answered `400`, or `413` for too many events; EVT-8).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum BatchError {
    #[error("the body is not UTF-8 text")]
    NotUtf8,
    #[error("the body is not JSON: {0}")]
    Syntax(#[from] lenient::LenientError),
    #[error("the body is not an event envelope: {0}")]
    NotEnvelope(&'static str),
    #[error("the request carries {count} events, more than the limit of {limit}")]
    TooMany { count: usize, limit: usize },
}

/// Reads a request body (EVT-3, EVT-11, EVT-34) into a normalised batch. Only a body that is not
/// an envelope at all is an error; everything inside is stored and flagged (EVT-8, EVT-37).
pub fn parse_batch(body: &[u8], hard_limit: usize) -> Result<Batch, BatchError> {
    let text = std::str::from_utf8(body).map_err(|_| BatchError::NotUtf8)?;
    let value = lenient::parse(text)?;
    let Value::Object(mut top) = value else { return Err(BatchError::NotEnvelope("the top level must be an object")) };
    let events = match top.remove("events") {
        Some(Value::Array(a)) => a,
        Some(_) => return Err(BatchError::NotEnvelope("'events' must be an array")),
        None => return Err(BatchError::NotEnvelope("'events' is missing")),
    };
    if events.len() > hard_limit {
        return Err(BatchError::TooMany { count: events.len(), limit: hard_limit });
    }
    let mut warnings = Vec::new();
    let mut envelope_field = |name: &str| match top.get(name) {
        Some(Value::String(s)) => s.trim().to_owned(),
        Some(Value::Number(n)) => n.to_string(),
        None | Some(Value::Null) => {
            warnings.push(format!("envelope field '{name}' is missing")); // EVT-11
            String::new()
        }
        Some(_) => {
            warnings.push(format!("envelope field '{name}' is not a string"));
            String::new()
        }
    };
    let envelope = Envelope {
        organization: envelope_field("organization"),
        business_unit: envelope_field("businessUnit"),
        work_place: envelope_field("workPlace"),
    };
    for k in top.keys() {
        if !["organization", "businessUnit", "workPlace"].contains(&k.as_str()) {
            warnings.push(format!("unknown envelope field '{k}'"));
        }
    }
    Ok(Batch { envelope, warnings, events: events.into_iter().map(normalise).collect() })
}

/// A numeric field's exact decimal text: a JSON number, or a string holding a decimal after
/// trimming (EVT-35). `Ok(None)` for an absent value (null, empty or blank string).
fn decimal_text(v: &Value) -> Result<Option<String>, ()> {
    let text = match v {
        Value::Null => return Ok(None),
        Value::Number(n) => n.to_string(),
        Value::String(s) if s.trim().is_empty() => return Ok(None),
        Value::String(s) => s.trim().to_owned(),
        _ => return Err(()),
    };
    let body = text.strip_prefix(['-', '+']).unwrap_or(&text);
    let (int, frac) = body.split_once('.').unwrap_or((body, ""));
    let digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
    if (int.is_empty() && frac.is_empty()) || !digits(int) || !digits(frac) || (body.contains('.') && frac.is_empty() && int.is_empty()) {
        return Err(());
    }
    let text = text.strip_prefix('+').unwrap_or(&text).to_owned();
    // ".5" and "5." are decimals too; give them a canonical shape.
    let text = match text.split_once('.') {
        Some((i, f)) => {
            let i = if i.is_empty() || i == "-" { format!("{i}0") } else { i.to_owned() };
            if f.is_empty() { i } else { format!("{i}.{f}") }
        }
        None => text,
    };
    Ok(Some(text))
}

/// `59.990` → `59.99` for two decimals: zeros past the scale carry no value.
fn trim_zeros_beyond(t: &str, scale: usize) -> &str {
    match t.split_once('.') {
        Some((i, f)) if f.len() > scale && f[scale..].bytes().all(|b| b == b'0') => &t[..i.len() + 1 + scale],
        _ => t,
    }
}

fn number(text: &str) -> Value {
    Number::from_str(text).map(Value::Number).unwrap_or_else(|_| Value::String(text.to_owned()))
}

/// A field's trimmed string value (numbers are taken as their text).
fn string_value(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.trim().to_owned()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

/// The payment type with aliases resolved: `credit card`, `creditCard`, any case (EVT-24).
fn payment_type(t: &str) -> String {
    let squashed: String = t.chars().filter(|c| !c.is_whitespace() && *c != '_').collect::<String>().to_lowercase();
    match squashed.as_str() {
        "creditcard" => "credit card".into(),
        "cash" => "cash".into(),
        "other" => "other".into(),
        _ => t.to_owned(),
    }
}

/// The document type with the spelling alias resolved (EVT-18 (c)).
fn document_type(t: &str) -> String {
    if t == "editingEmployees" { "editingEmloyees".into() } else { t.to_owned() }
}

fn allowed_types(name: &str) -> Option<&'static [&'static str]> {
    Some(match name {
        "REG_DOCUMENT_OPEN" | "REG_DOCUMENT_OPEN_DEFER_RESTORE" => &DOCUMENT_TYPES,
        "REG_POSITION_REGISTRATION" | "REG_POSITION_CANCEL" | "REG_POSITION_EDIT" => &POSITION_TYPES,
        "REG_PAYMENT_REGISTRATION" | "REG_PAYMENT_CANCEL" => &PAYMENT_TYPES,
        "REG_CARD_REGISTRATION" | "REG_CARD_CANCEL" => &CARD_TYPES,
        "SYS_LOGIN" => &LOGIN_TYPES,
        "SYS_OPEN_MONEY_BOX" => &MONEY_BOX_TYPES,
        _ => return None,
    })
}

/// Normalises one event object (EVT-12, EVT-13, EVT-18, EVT-24, EVT-29, EVT-35, EVT-36, EVT-37).
pub fn normalise(raw: Value) -> Event {
    let mut warnings = Vec::new();
    let mut fields = Map::new();
    let mut unknown = Vec::new();
    let raw_text = raw.to_string();
    let obj = match raw {
        Value::Object(obj) => obj,
        other => {
            return Event {
                name: String::new(),
                group: EventGroup::Unknown,
                group_id: String::new(),
                occurred_ms: None,
                fields,
                warnings: vec!["the event is not an object".into()],
                raw: raw_text,
                unknown: vec![(String::new(), other)],
            };
        }
    };
    // The values are moved, not copied: this runs for every event of every request.
    for (key, v) in obj {
        let k = key.as_str();
        if STRING_FIELDS.contains(&k) {
            match v {
                Value::String(s) => {
                    let s = if s.trim().len() == s.len() { s } else { s.trim().to_owned() };
                    fields.insert(key, Value::String(s));
                }
                Value::Null => {}
                other => match string_value(&other) {
                    Some(s) => {
                        fields.insert(key, Value::String(s));
                    }
                    None => warnings.push(format!("field '{k}' is not a string")),
                },
            }
        } else if INTEGER_FIELDS.contains(&k) {
            let v = &v;
            match decimal_text(v) {
                Ok(None) => {}
                Ok(Some(t)) => {
                    let (int, frac) = t.split_once('.').unwrap_or((&t, ""));
                    match (frac.bytes().all(|b| b == b'0'), i64::from_str(int)) {
                        (true, Ok(n)) => {
                            fields.insert(key, Value::from(n));
                        }
                        _ => warnings.push(format!("field '{k}' is not an integer: {v}")),
                    }
                }
                Err(()) => warnings.push(format!("field '{k}' is not a number: {v}")),
            }
        } else if MONEY_FIELDS.contains(&k) {
            let v = &v;
            match decimal_text(v) {
                Ok(None) => {}
                Ok(Some(t)) => match Money::parse(trim_zeros_beyond(&t, 2)) {
                    Ok(m) => {
                        fields.insert(key, number(&m.to_string()));
                    }
                    Err(e) => warnings.push(format!("field '{k}' is not an amount ({e}): {v}")),
                },
                Err(()) => warnings.push(format!("field '{k}' is not a number: {v}")),
            }
        } else if k == "quantity" {
            let v = &v;
            match decimal_text(v) {
                Ok(None) => {}
                Ok(Some(t)) => match Quantity::parse(trim_zeros_beyond(&t, 3)) {
                    Ok(q) => {
                        fields.insert(key, number(&q.format_fixed()));
                    }
                    Err(e) => warnings.push(format!("field 'quantity' is not a quantity ({e}): {v}")),
                },
                Err(()) => warnings.push(format!("field 'quantity' is not a number: {v}")),
            }
        } else if k == "dateTime" {
            if let Some(s) = string_value(&v) {
                fields.insert(key, Value::String(s));
            }
        } else {
            warnings.push(format!("unknown field '{k}'"));
            unknown.push((key, v));
        }
    }
    let text = |f: &Map<String, Value>, k: &str| f.get(k).and_then(Value::as_str).unwrap_or_default().to_owned();
    let mut name = text(&fields, "event");
    if name == "SYS_LOGIN_" {
        name = "SYS_LOGIN".into(); // EVT-29
    }
    if name.is_empty() {
        warnings.push("field 'event' is missing".into());
    } else if !KNOWN_EVENTS.contains(&name.as_str()) {
        warnings.push(format!("unknown event '{name}'")); // EVT-15, EVT-37
    }
    fields.insert("event".into(), Value::String(name.clone()));
    if let Some(t) = fields.get("type").and_then(Value::as_str).map(str::to_owned) {
        let t = match name.as_str() {
            "REG_PAYMENT_REGISTRATION" | "REG_PAYMENT_CANCEL" => payment_type(&t),
            "REG_DOCUMENT_OPEN" | "REG_DOCUMENT_OPEN_DEFER_RESTORE" => document_type(&t),
            _ => t,
        };
        if let Some(allowed) = allowed_types(&name)
            && !allowed.contains(&t.as_str())
        {
            warnings.push(format!("unknown type '{t}' for {name}"));
        }
        fields.insert("type".into(), Value::String(t));
    }
    if let Some(m) = fields.get("mode").and_then(Value::as_str)
        && !m.is_empty()
        && !MODES.contains(&m)
    {
        warnings.push(format!("unknown mode '{m}'"));
    }
    let group_id = text(&fields, "groupId");
    if group_id.is_empty() {
        warnings.push("field 'groupId' is missing".into());
    }
    let occurred_ms = match fields.get("dateTime").and_then(Value::as_str) {
        None => {
            warnings.push("field 'dateTime' is missing".into());
            None
        }
        Some(s) => {
            let ms = timestamp::parse_ms(s);
            if ms.is_none() {
                warnings.push(format!("field 'dateTime' is not an ISO 8601 date-time with an offset: '{s}'"));
            }
            ms
        }
    };
    Event { group: EventGroup::of(&name), name, group_id, occurred_ms, fields, raw: raw_text, unknown, warnings }
}

impl Event {
    /// The deduplication key (EVT-39): SHA-256 over the envelope and the canonical event —
    /// normalised fields (EVT-35, EVT-36), `dateTime` as a UTC instant, unknown fields as sent —
    /// truncated to 128 bits; as lower-case hex after 16 hex digits of the occurrence instant.
    pub fn dedup_key(&self, envelope: &Envelope) -> String {
        use sha2::Digest;
        let date_time = self.occurred_ms.map(Value::from);
        // Sorted by name: normalised fields, `dateTime` as an instant, unknown fields as sent.
        let mut parts: Vec<(&str, &Value)> = Vec::with_capacity(self.fields.len() + 2);
        for (k, v) in &self.fields {
            match (k.as_str(), &date_time) {
                ("dateTime", Some(t)) => parts.push(("dateTime", t)),
                _ => parts.push((k, v)),
            }
        }
        if let (Some(t), false) = (&date_time, self.fields.contains_key("dateTime")) {
            parts.push(("dateTime", t));
        }
        for (k, v) in &self.unknown {
            parts.push((k, v));
        }
        parts.sort_by(|a, b| a.0.cmp(b.0));
        let mut h = sha2::Sha256::new();
        for part in [&envelope.organization, &envelope.business_unit, &envelope.work_place] {
            h.update(part.len().to_le_bytes());
            h.update(part.as_bytes());
        }
        let mut buf = Vec::with_capacity(64);
        for (k, v) in parts {
            buf.clear();
            // Numbers compare by value: "2.000" and "2" are the same quantity.
            match canonical_number(v) {
                Some(n) => buf.extend_from_slice(n.as_bytes()),
                None => serde_json::to_writer(&mut buf, v).unwrap_or_default(),
            }
            h.update(k.len().to_le_bytes());
            h.update(k.as_bytes());
            h.update(buf.len().to_le_bytes());
            h.update(&buf);
        }
        // The occurrence instant first, so keys of new events land at the end of the unique
        // index instead of all over it (the hash already covers `dateTime`, so equality is
        // unchanged; events without a readable one share the prefix 0). 128 bits of hash are
        // plenty against accidental collisions.
        let order = self.occurred_ms.map_or(0, |ms| (ms as u64) ^ (1 << 63));
        format!("{order:016x}{}", hex::encode(&h.finalize()[..16]))
    }

    /// A normalised string field, or "".
    pub fn str_field(&self, name: &str) -> &str {
        self.fields.get(name).and_then(Value::as_str).unwrap_or_default()
    }
}


/// A decimal number's text with trailing fractional zeros removed, so equal decimals hash alike;
/// `None` for anything that is not a plain decimal number.
fn canonical_number(v: &Value) -> Option<&str> {
    let Value::Number(n) = v else { return None };
    let t = n.as_str();
    if !t.contains('.') || t.contains(['e', 'E']) {
        return Some(t);
    }
    let t = t.trim_end_matches('0').trim_end_matches('.');
    Some(if t == "-0" { "0" } else { t })
}

#[cfg(test)]
mod tests;
