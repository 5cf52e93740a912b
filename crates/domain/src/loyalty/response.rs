//! Response bodies (§3.2, §5, §6, §7) in the canonical output form of LOY-88: strict JSON,
//! money with two decimals, optional fields omitted, `printingInformation` always nested
//! (LOY-40), enum values lower case and defaults omitted (LOY-39, LOY-42).

use super::wire::{ErrorCode, LoyaltyError};
use kassa_money::Money;

/// A response body: its canonical JSON text and its `code`.
///
/// Written straight to text, members in the order of their names (the canonical order a
/// sorted JSON object has), so a stored answer and a fresh one of the same content are the
/// same bytes. Built without an intermediate `serde_json::Value`: on the hot path of every
/// request the tree, its number strings and its drop cost more than the text itself.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Body {
    pub code: i64,
    pub text: String,
}

impl Body {
    /// A body stored earlier (a replay answers with the very text it answered first).
    pub fn stored(text: &str) -> Self {
        use crate::json::Json;
        let code = match Json::parse_str(text).ok().as_ref().and_then(|v| v.get("code")) {
            Some(Json::Number(n)) => n.parse().unwrap_or(1),
            _ => 1,
        };
        Self { code, text: text.to_owned() }
    }
}

/// Appends JSON text: one object's members, written in the order given.
struct Out(Vec<u8>);

impl Out {
    fn new(capacity: usize) -> Self {
        Self(Vec::with_capacity(capacity))
    }

    fn push(&mut self, text: &str) {
        self.0.extend_from_slice(text.as_bytes());
    }

    /// A string literal, escaped by serde_json.
    fn string(&mut self, s: &str) {
        let _ = serde_json::to_writer(&mut self.0, s);
    }

    fn key(&mut self, first: &mut bool, k: &str) {
        if !std::mem::take(first) {
            self.push(",");
        }
        self.push("\"");
        self.push(k);
        self.push("\":");
    }

    fn str_member(&mut self, first: &mut bool, k: &str, v: &str) {
        self.key(first, k);
        self.string(v);
    }

    fn raw_member(&mut self, first: &mut bool, k: &str, v: &str) {
        self.key(first, k);
        self.push(v);
    }

    fn array<T>(&mut self, items: &[T], mut each: impl FnMut(&mut Self, &T)) {
        self.push("[");
        for (i, item) in items.iter().enumerate() {
            if i > 0 {
                self.push(",");
            }
            each(self, item);
        }
        self.push("]");
    }

    /// The text: only `str`s and serde_json's output went in, so it is UTF-8.
    fn finish(self, code: i64) -> Body {
        Body { code, text: String::from_utf8(self.0).unwrap_or_default() }
    }
}

/// One element of a slip (§6). Only the kinds the server prints are modelled.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PrintElement {
    Text { text: String, size: Option<&'static str>, alignment: Option<&'static str> },
    Pair { left: String, right: String },
    Line { symbol: Option<String> },
    Br,
}

impl PrintElement {
    pub fn text(t: impl Into<String>) -> Self {
        Self::Text { text: t.into(), size: None, alignment: None }
    }

    fn write(&self, o: &mut Out) {
        let first = &mut true;
        o.push("{");
        match self {
            Self::Text { text, size, alignment } => {
                // LOY-39: defaults (`default` size, `left` alignment) are omitted.
                if let Some(a) = alignment.filter(|a| *a != "left") {
                    o.str_member(first, "alignment", a);
                }
                if let Some(s) = size.filter(|s| *s != "default") {
                    o.str_member(first, "size", s);
                }
                o.str_member(first, "text", text);
                o.raw_member(first, "type", "\"text\"");
            }
            Self::Pair { left, right } => {
                o.str_member(first, "left", left);
                o.str_member(first, "right", right);
                o.raw_member(first, "type", "\"pair\"");
            }
            Self::Line { symbol } => {
                if let Some(s) = symbol.as_deref().filter(|s| *s != "-") {
                    o.str_member(first, "symbol", s);
                }
                o.raw_member(first, "type", "\"line\"");
            }
            Self::Br => o.raw_member(first, "type", "\"br\""),
        }
        o.push("}");
    }
}

/// A block of `cashierInformation` (§7); `size` `small`, `alignment` `left` and `weight`
/// `normal` are the defaults and omitted.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CashierBlock {
    pub text: String,
    pub bold: bool,
}

impl CashierBlock {
    fn write(&self, o: &mut Out) {
        let first = &mut true;
        o.push("{");
        o.str_member(first, "text", &self.text);
        if self.bold {
            o.raw_member(first, "weight", "\"bold\"");
        }
        o.push("}");
    }
}

/// What the server tells the cashier and prints, besides the action's own fields.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Info {
    pub cashier: Vec<CashierBlock>,
    pub slips: Vec<Vec<PrintElement>>,
}

/// `client` of a calculate response.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ClientInfo {
    pub mobile_phone: Option<String>,
    pub email: Option<String>,
    pub validation_code: Option<String>,
    pub available_amount: Money,
}

/// `document.positions` with one money field per position: `discountAmount` or `paidAmount`
/// (LOY-45: money with exactly two decimals).
#[derive(Clone, Copy, Debug)]
pub struct Positions<'a> {
    pub field: &'static str,
    pub parts: &'a [(i64, Money)],
}

/// `{"code":0,...}`: the success body of any action.
pub fn success(client: Option<&ClientInfo>, document: Option<Positions<'_>>, info: &Info) -> Body {
    let mut o = Out::new(256);
    let first = &mut true;
    o.push("{");
    if !info.cashier.is_empty() {
        o.key(first, "cashierInformation");
        o.array(&info.cashier, |o, b| b.write(o));
    }
    if let Some(c) = client {
        o.key(first, "client");
        let first = &mut true;
        o.push("{");
        o.raw_member(first, "availableAmount", &c.available_amount.to_string());
        if let Some(e) = &c.email {
            o.str_member(first, "email", e);
        }
        if let Some(p) = &c.mobile_phone {
            o.str_member(first, "mobilePhone", p);
        }
        if let Some(v) = &c.validation_code {
            o.str_member(first, "validationCode", v);
        }
        o.push("}");
    }
    o.raw_member(first, "code", "0");
    if let Some(d) = document {
        o.key(first, "document");
        o.push("{\"positions\":");
        o.array(d.parts, |o, (index, amount)| {
            // Members in name order: `discountAmount` < `index` < `paidAmount`.
            let (amount, index) = (amount.to_string(), index.to_string());
            let first = &mut true;
            o.push("{");
            if d.field < "index" {
                o.raw_member(first, d.field, &amount);
                o.raw_member(first, "index", &index);
            } else {
                o.raw_member(first, "index", &index);
                o.raw_member(first, d.field, &amount);
            }
            o.push("}");
        });
        o.push("}");
    }
    if !info.slips.is_empty() {
        o.key(first, "printingInformation");
        o.array(&info.slips, |o, slip| o.array(slip, |o, e| e.write(o)));
    }
    o.push("}");
    o.finish(0)
}

/// LOY-19: an error body has `code` and `error` and nothing else.
pub fn error(e: &LoyaltyError) -> Body {
    let code = e.code.code();
    let mut o = Out::new(64 + e.message.len());
    let first = &mut true;
    o.push("{");
    o.raw_member(first, "code", &code.to_string());
    o.str_member(first, "error", &e.message);
    o.push("}");
    o.finish(code)
}

/// LOY-16: the body of the `403`.
pub fn unauthorized() -> Body {
    error(&LoyaltyError::new(ErrorCode::Unauthorized, "Ошибка авторизации"))
}

/// Fills `{name}` placeholders of a message template.
/// One pass over the template; a placeholder without a value stays as it is.
pub fn render(template: &str, vars: &[(&str, String)]) -> String {
    let mut out = String::with_capacity(template.len() + 32);
    let mut rest = template;
    while let Some(open) = rest.find('{') {
        out.push_str(&rest[..open]);
        let after = &rest[open + 1..];
        let value = after.find('}').and_then(|close| vars.iter().find(|(k, _)| *k == &after[..close]).map(|(_, v)| (close, v)));
        match value {
            Some((close, v)) => {
                out.push_str(v);
                rest = &after[close + 1..];
            }
            None => {
                out.push('{');
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out
}

/// The message and slip templates (Russian: they are shown to the cashier and printed).
pub mod templates {
    pub const BALANCE: &str = "Баланс: {balance} бонусов\nДоступно к оплате: {available}\n";
    pub const CLIENT: &str = "Клиент {name}\n";
    pub const PAID: &str = "Оплачено бонусами: {amount}\n";
    pub const CANCELLED: &str = "Оплата бонусами отменена: {amount}\n";
    pub const CONFIRMED: &str = "Начислено: {accrued}, списано: {spent}\n";
    pub const REFUNDED: &str = "Возврат: списано начисленных {reversed}, возвращено бонусов {returned}\n";
    pub const SLIP_TITLE: &str = "Бонусная программа";
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::Value;

    /// The text is canonical: a sorted, compact JSON object reads back and writes out to the
    /// same bytes.
    fn canonical(b: &Body) -> &str {
        let v: Value = serde_json::from_str(&b.text).expect("valid JSON");
        assert_eq!(v.to_string(), b.text);
        assert_eq!(v["code"].as_i64(), Some(b.code));
        &b.text
    }

    #[test]
    fn slips_are_always_nested_loy_40_tv_l19() {
        let info = Info { cashier: vec![], slips: vec![vec![PrintElement::text("Я текст на слипе")]] };
        let body = success(None, None, &info);
        let text = canonical(&body);
        assert!(text.contains(r#""printingInformation":[[{"text":"Я текст на слипе","type":"text"}]]"#), "{text}");
    }

    #[test]
    fn money_has_two_decimals_and_errors_have_only_code_and_error_loy_19_loy_45() {
        let c = ClientInfo { available_amount: Money::from_minor(83244), ..Default::default() };
        let parts = [(1, Money::from_minor(50000))];
        let body = success(Some(&c), Some(Positions { field: "discountAmount", parts: &parts }), &Info::default());
        assert_eq!(canonical(&body), r#"{"client":{"availableAmount":832.44},"code":0,"document":{"positions":[{"discountAmount":500.00,"index":1}]}}"#);
        let e = error(&LoyaltyError::new(ErrorCode::ClientNotFound, "нет \"кавычки\"\n"));
        assert_eq!(canonical(&e), r#"{"code":4,"error":"нет \"кавычки\"\n"}"#);
        assert_eq!(unauthorized().text, r#"{"code":9,"error":"Ошибка авторизации"}"#);
        assert_eq!(unauthorized().code, 9);
    }

    #[test]
    fn templates_fill_their_placeholders() {
        let vars = [("balance", "12.50".to_owned()), ("available", "{balance}".to_owned())];
        assert_eq!(render(templates::BALANCE, &vars), "Баланс: 12.50 бонусов\nДоступно к оплате: {balance}\n");
        assert_eq!(render("{x} {balance}{ {", &vars), "{x} 12.50{ {");
        assert_eq!(render("", &vars), "");
    }

    #[test]
    fn every_member_is_written_in_name_order_loy_88() {
        let c = ClientInfo {
            mobile_phone: Some("+79211022546".into()),
            email: Some("sobaka@gmail.com".into()),
            validation_code: Some("0042".into()),
            available_amount: Money::from_minor(-5),
        };
        let info = Info {
            cashier: vec![CashierBlock { text: "Баланс\n".into(), bold: true }, CashierBlock { text: "x".into(), bold: false }],
            slips: vec![
                vec![
                    PrintElement::Text { text: "T".into(), size: Some("medium"), alignment: Some("center") },
                    PrintElement::Text { text: "d".into(), size: Some("default"), alignment: Some("left") },
                    PrintElement::Pair { left: "Баланс".into(), right: "1.00".into() },
                    PrintElement::Line { symbol: Some("=".into()) },
                    PrintElement::Line { symbol: Some("-".into()) },
                    PrintElement::Br,
                ],
                vec![PrintElement::Line { symbol: None }],
            ],
        };
        let parts = [(1, Money::from_minor(1)), (12, Money::ZERO)];
        let paid = success(Some(&c), Some(Positions { field: "paidAmount", parts: &parts }), &info);
        let text = canonical(&paid);
        assert!(text.contains(r#""client":{"availableAmount":-0.05,"email":"sobaka@gmail.com","mobilePhone":"+79211022546","validationCode":"0042"}"#), "{text}");
        assert!(text.contains(r#"{"index":12,"paidAmount":0.00}"#), "{text}");
        assert!(text.contains(r#"[{"alignment":"center","size":"medium","text":"T","type":"text"},{"text":"d","type":"text"},{"left":"Баланс","right":"1.00","type":"pair"},{"symbol":"=","type":"line"},{"type":"line"},{"type":"br"}]"#), "{text}");
        assert!(text.starts_with(r#"{"cashierInformation":[{"text":"Баланс\n","weight":"bold"},{"text":"x"}],"client""#), "{text}");
        assert_eq!(canonical(&success(None, None, &Info::default())), r#"{"code":0}"#);
        assert_eq!(Body::stored(text), paid);
        assert_eq!(Body::stored("not json").code, 1);
    }
}
