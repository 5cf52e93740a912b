//! Response bodies (§3.2, §5, §6, §7) in the canonical output form of LOY-88: strict JSON,
//! money with two decimals, optional fields omitted, `printingInformation` always nested
//! (LOY-40), enum values lower case and defaults omitted (LOY-39, LOY-42).

use super::wire::{ErrorCode, LoyaltyError};
use kassa_money::Money;
use serde_json::{Map, Value, json};

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

    fn to_json(&self) -> Value {
        let mut m = Map::new();
        let mut put = |k: &str, v: Value| {
            m.insert(k.to_owned(), v);
        };
        match self {
            Self::Text { text, size, alignment } => {
                put("type", "text".into());
                // LOY-39: defaults (`default` size, `left` alignment) are omitted.
                if let Some(a) = alignment.filter(|a| *a != "left") {
                    put("alignment", a.into());
                }
                if let Some(s) = size.filter(|s| *s != "default") {
                    put("size", s.into());
                }
                put("text", text.as_str().into());
            }
            Self::Pair { left, right } => {
                put("type", "pair".into());
                put("left", left.as_str().into());
                put("right", right.as_str().into());
            }
            Self::Line { symbol } => {
                put("type", "line".into());
                if let Some(s) = symbol.as_deref().filter(|s| *s != "-") {
                    put("symbol", s.into());
                }
            }
            Self::Br => put("type", "br".into()),
        }
        Value::Object(m)
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
    fn to_json(&self) -> Value {
        let mut v = json!({"text": self.text});
        if self.bold {
            v["weight"] = "bold".into();
        }
        v
    }
}

/// Money as a JSON number with exactly two decimals (LOY-45).
pub fn money(m: Money) -> Value {
    serde_json::to_value(m).unwrap_or(Value::Null)
}

/// What the server tells the cashier and prints, besides the action's own fields.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Info {
    pub cashier: Vec<CashierBlock>,
    pub slips: Vec<Vec<PrintElement>>,
}

impl Info {
    fn put(&self, out: &mut Map<String, Value>) {
        if !self.cashier.is_empty() {
            out.insert("cashierInformation".into(), Value::Array(self.cashier.iter().map(CashierBlock::to_json).collect()));
        }
        if !self.slips.is_empty() {
            out.insert(
                "printingInformation".into(),
                Value::Array(self.slips.iter().map(|s| Value::Array(s.iter().map(PrintElement::to_json).collect())).collect()),
            );
        }
    }
}

/// `client` of a calculate response.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ClientInfo {
    pub mobile_phone: Option<String>,
    pub email: Option<String>,
    pub validation_code: Option<String>,
    pub available_amount: Money,
}

/// `{"code":0,...}`: the success body of any action.
pub fn success(client: Option<&ClientInfo>, document: Option<Value>, info: &Info) -> Value {
    let mut out = Map::new();
    out.insert("code".into(), 0.into());
    if let Some(c) = client {
        let mut cm = Map::new();
        if let Some(p) = &c.mobile_phone {
            cm.insert("mobilePhone".into(), p.as_str().into());
        }
        if let Some(e) = &c.email {
            cm.insert("email".into(), e.as_str().into());
        }
        if let Some(v) = &c.validation_code {
            cm.insert("validationCode".into(), v.as_str().into());
        }
        cm.insert("availableAmount".into(), money(c.available_amount));
        out.insert("client".into(), Value::Object(cm));
    }
    if let Some(d) = document {
        out.insert("document".into(), d);
    }
    info.put(&mut out);
    Value::Object(out)
}

/// `document.positions` with one money field per position (`discountAmount`, `paidAmount`).
pub fn document(field: &str, parts: &[(i64, Money)]) -> Value {
    let positions: Vec<Value> = parts
        .iter()
        .map(|(i, m)| {
            let mut p = Map::new();
            p.insert("index".into(), (*i).into());
            p.insert(field.into(), money(*m));
            Value::Object(p)
        })
        .collect();
    json!({ "positions": positions })
}

/// LOY-19: an error body has `code` and `error` and nothing else.
pub fn error(e: &LoyaltyError) -> Value {
    json!({"code": e.code.code(), "error": e.message})
}

/// LOY-16: the body of the `403`.
pub fn unauthorized() -> Value {
    error(&LoyaltyError::new(ErrorCode::Unauthorized, "Ошибка авторизации"))
}

/// Fills `{name}` placeholders of a message template.
pub fn render(template: &str, vars: &[(&str, String)]) -> String {
    let mut out = template.to_owned();
    for (k, v) in vars {
        out = out.replace(&format!("{{{k}}}"), v);
    }
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

    #[test]
    fn slips_are_always_nested_loy_40_tv_l19() {
        let info = Info { cashier: vec![], slips: vec![vec![PrintElement::text("Я текст на слипе")]] };
        let body = success(None, None, &info);
        let text = body.to_string();
        assert!(text.contains(r#""printingInformation":[[{"text":"Я текст на слипе","type":"text"}]]"#), "{text}");
    }

    #[test]
    fn money_has_two_decimals_and_errors_have_only_code_and_error_loy_19_loy_45() {
        let c = ClientInfo { available_amount: Money::from_minor(83244), ..Default::default() };
        let body = success(Some(&c), Some(document("discountAmount", &[(1, Money::from_minor(50000))])), &Info::default());
        assert_eq!(body.to_string(), r#"{"client":{"availableAmount":832.44},"code":0,"document":{"positions":[{"discountAmount":500.00,"index":1}]}}"#);
        let e = error(&LoyaltyError::new(ErrorCode::ClientNotFound, "нет"));
        assert_eq!(e.as_object().unwrap().len(), 2);
        assert_eq!(unauthorized(), json!({"code":9,"error":"Ошибка авторизации"}));
    }
}
