//! Wire forms shared by the KZ request and output objects: the `Money` object `{bills, coins}`
//! (CORE-24), shortest-form JSON numbers (CORE-25), percent thousandths (CORE-27), lists that
//! also accept `{}`/`null` (CORE-33) and `KeyValuePair` (CORE-34).
//!
//! Numbers never pass through binary floating point: amounts are read from the exact JSON text
//! (serde_json `arbitrary_precision`) and written as exact decimal text.

use kassa_money::Money;
use serde::de::{DeserializeOwned, Error as _};
use serde::{Deserialize, Deserializer, Serialize};
use serde_json::Value;

/// CORE-24: a non-negative amount as `{"bills": cents div 100, "coins": cents mod 100}`.
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct MoneyObject {
    pub bills: u64,
    pub coins: u32,
}

impl MoneyObject {
    /// The object of a non-negative amount; a negative amount is emitted as its magnitude (sign
    /// travels separately, e.g. `ZXReport::Revenue.is_negative`).
    #[must_use]
    pub fn of(amount: Money) -> MoneyObject {
        let cents = amount.minor().unsigned_abs();
        MoneyObject { bills: cents / 100, coins: u32::try_from(cents % 100).unwrap_or(0) }
    }

    /// The amount this object denotes, `None` if it does not fit or `coins` > 99.
    #[must_use]
    pub fn money(self) -> Option<Money> {
        if self.coins > 99 {
            return None;
        }
        let cents = i64::try_from(self.bills).ok()?.checked_mul(100)?.checked_add(i64::from(self.coins))?;
        Some(Money::from_minor(cents))
    }
}

/// `#[serde(with = "money_object")]`: a [`Money`] field written as a CORE-24 object.
pub mod money_object {
    use super::{Money, MoneyObject};
    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    pub fn serialize<S: Serializer>(value: &Money, serializer: S) -> Result<S::Ok, S::Error> {
        MoneyObject::of(*value).serialize(serializer)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Money, D::Error> {
        MoneyObject::deserialize(deserializer)?.money().ok_or_else(|| serde::de::Error::custom("money object out of range"))
    }
}

/// CORE-25: the shortest decimal text of an amount: `1753`, `11749.5`, `727985.98`, `-0.5`.
#[must_use]
pub fn shortest(amount: Money) -> String {
    let fixed = amount.to_string();
    fixed.trim_end_matches('0').trim_end_matches('.').to_owned()
}

/// `#[serde(with = "short_money")]`: a [`Money`] field written as a shortest-form JSON number
/// (CORE-25) and read from an exact JSON number.
pub mod short_money {
    use super::{Money, shortest};
    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    pub fn serialize<S: Serializer>(value: &Money, serializer: S) -> Result<S::Ok, S::Error> {
        let number: serde_json::Number = shortest(*value).parse().map_err(serde::ser::Error::custom)?;
        number.serialize(serializer)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Money, D::Error> {
        Money::deserialize(deserializer)
    }
}

/// A [`Money`] that serializes as a shortest-form JSON number (CORE-25), for lists such as
/// `total_payments`.
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq)]
pub struct ShortMoney(pub Money);

impl Serialize for ShortMoney {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        short_money::serialize(&self.0, serializer)
    }
}

impl<'de> Deserialize<'de> for ShortMoney {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        Money::deserialize(deserializer).map(ShortMoney)
    }
}

/// `#[serde(with = "short_money_list")]`: a list of amounts as shortest-form numbers.
pub mod short_money_list {
    use super::{Money, shortest};
    use serde::ser::SerializeSeq;
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer, const N: usize>(values: &[Money; N], serializer: S) -> Result<S::Ok, S::Error> {
        let mut seq = serializer.serialize_seq(Some(N))?;
        for value in values {
            let number: serde_json::Number = shortest(*value).parse().map_err(serde::ser::Error::custom)?;
            seq.serialize_element(&number)?;
        }
        seq.end()
    }

    pub fn deserialize<'de, D: Deserializer<'de>, const N: usize>(deserializer: D) -> Result<[Money; N], D::Error> {
        let list = Vec::<Money>::deserialize(deserializer)?;
        list.try_into().map_err(|_| serde::de::Error::custom(format_args!("expected {N} amounts")))
    }
}

/// Reads a request money field (CORE-22): the exact JSON number rounded half away from zero to
/// cents. A string with a number is also accepted (GET coercion, CORE-5).
pub fn rounded_money<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Money, D::Error> {
    kassa_money::money::serde_rounded::deserialize(deserializer)
}

/// Optional request money field (CORE-22), `null`/absent → `None`.
pub fn rounded_money_opt<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<Money>, D::Error> {
    match Value::deserialize(deserializer)? {
        Value::Null => Ok(None),
        value => kassa_money::money::serde_rounded::deserialize(value).map(Some).map_err(D::Error::custom),
    }
}

/// CORE-27: `trunc(percent × 1000)` from the exact decimal text (`12` → 12000, `12.5` → 12500,
/// `12.34567` → 12345). `None` for text that is not a plain decimal or does not fit.
#[must_use]
pub fn percent_thousandths(text: &str) -> Option<i64> {
    let (negative, digits) = match text.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, text),
    };
    let (int, frac) = digits.split_once('.').unwrap_or((digits, ""));
    if int.is_empty() || !int.bytes().all(|b| b.is_ascii_digit()) || !frac.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    if digits.contains('.') && frac.is_empty() {
        return None;
    }
    let kept: String = frac.chars().chain("000".chars()).take(3).collect();
    let value = int.parse::<i64>().ok()?.checked_mul(1000)?.checked_add(kept.parse::<i64>().ok()?)?;
    Some(if negative { -value } else { value })
}

/// Writes thousandths of a percent back as the percent (12000 → `12`), so request structs
/// round-trip through their wire form.
pub fn percent_out<S: serde::Serializer>(thousandths: &i64, serializer: S) -> Result<S::Ok, S::Error> {
    let text = kassa_money::Quantity::from_thousandths(*thousandths).to_string();
    let number: serde_json::Number = text.parse().map_err(serde::ser::Error::custom)?;
    number.serialize(serializer)
}

/// `#[serde(deserialize_with = "percent")]`: a request percent (CORE-27) as thousandths.
pub fn percent<'de, D: Deserializer<'de>>(deserializer: D) -> Result<i64, D::Error> {
    let text = match Value::deserialize(deserializer)? {
        Value::Number(n) => n.to_string(),
        Value::String(s) => s,
        other => return Err(D::Error::custom(format_args!("expected a percentage, got {other}"))),
    };
    percent_thousandths(&text).ok_or_else(|| D::Error::custom(format_args!("invalid percentage {text:?}")))
}

/// `#[serde(default, deserialize_with = "list")]`: a request list that also accepts `{}` and
/// `null` as empty (CORE-33).
pub fn list<'de, D: Deserializer<'de>, T: DeserializeOwned>(deserializer: D) -> Result<Vec<T>, D::Error> {
    match Value::deserialize(deserializer)? {
        Value::Null => Ok(Vec::new()),
        Value::Object(map) if map.is_empty() => Ok(Vec::new()),
        Value::Array(items) => items.into_iter().map(|item| serde_json::from_value(item).map_err(D::Error::custom)).collect(),
        other => Err(D::Error::custom(format_args!("expected a list, got {other}"))),
    }
}

/// `KeyValuePair` of requests and bodies.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeyValuePair {
    #[serde(default)]
    pub key: String,
    #[serde(default, deserialize_with = "string_or_null")]
    pub value: String,
}

/// CORE-34: entries whose key or value is empty are dropped.
#[must_use]
pub fn key_values(pairs: &[KeyValuePair]) -> Vec<KeyValuePair> {
    pairs.iter().filter(|p| !p.key.is_empty() && !p.value.is_empty()).cloned().collect()
}

/// A string field that may arrive as `null` (→ `""`).
pub fn string_or_null<'de, D: Deserializer<'de>>(deserializer: D) -> Result<String, D::Error> {
    Ok(Option::<String>::deserialize(deserializer)?.unwrap_or_default())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Serialize, Deserialize)]
    struct Short {
        #[serde(with = "short_money")]
        v: Money,
    }

    #[test]
    fn core_24_money_objects() {
        // CORE-24 examples and TV-5.
        for (cents, bills, coins) in [
            (175_000, 1750, 0),
            (18_750, 187, 50),
            (72_798_698, 727_986, 98),
            (123_456, 1234, 56),
            (72_798_598, 727_985, 98),
            (1_174_950, 11749, 50),
            (156_250, 1562, 50),
            (1, 0, 1),
        ] {
            let object = MoneyObject::of(Money::from_minor(cents));
            assert_eq!(object, MoneyObject { bills, coins });
            assert_eq!(object.money(), Some(Money::from_minor(cents)));
        }
        assert_eq!(serde_json::to_string(&MoneyObject::of(Money::from_minor(18_750))).unwrap(), r#"{"bills":187,"coins":50}"#);
    }

    #[test]
    fn core_25_shortest_numbers() {
        // CORE-25 / TV-5: 1 175 000 cents → 11750, 72 798 598 → 727985.98.
        for (cents, text) in [
            (1_175_000, "11750"),
            (72_798_598, "727985.98"),
            (175_300, "1753"),
            (1_174_950, "11749.5"),
            (100, "1"),
            (0, "0"),
            (-50, "-0.5"),
        ] {
            let json = serde_json::to_string(&Short { v: Money::from_minor(cents) }).unwrap();
            assert_eq!(json, format!(r#"{{"v":{text}}}"#));
            let back: Short = serde_json::from_str(&json).unwrap();
            assert_eq!(back.v.minor(), cents);
        }
    }

    #[test]
    fn core_22_request_money_is_rounded_exactly() {
        // CORE-22 / TV-5: decimal literal parsed exactly, rounded half away from zero.
        #[derive(Deserialize)]
        struct R {
            #[serde(deserialize_with = "rounded_money")]
            v: Money,
        }
        for (text, cents) in [
            ("727985.98", 72_798_598),
            ("187.5", 18_750),
            ("0.005", 1),
            ("1234.56", 123_456),
            ("11749.5", 1_174_950),
            ("-0.005", -1),
        ] {
            let r: R = serde_json::from_str(&format!(r#"{{"v":{text}}}"#)).unwrap();
            assert_eq!(r.v.minor(), cents, "{text}");
        }
    }

    #[test]
    fn core_27_percent_is_truncated_thousandths() {
        assert_eq!(percent_thousandths("12"), Some(12_000));
        assert_eq!(percent_thousandths("12.5"), Some(12_500));
        assert_eq!(percent_thousandths("12.34567"), Some(12_345));
        assert_eq!(percent_thousandths("-1"), Some(-1000));
        assert_eq!(percent_thousandths("1e2"), None);
        assert_eq!(percent_thousandths("1."), None);
    }

    #[test]
    fn core_33_lists_accept_empty_forms() {
        #[derive(Deserialize)]
        struct L {
            #[serde(default, deserialize_with = "list")]
            v: Vec<u32>,
        }
        for text in [r#"{"v":[]}"#, r#"{"v":{}}"#, r#"{"v":null}"#, "{}"] {
            let l: L = serde_json::from_str(text).unwrap();
            assert!(l.v.is_empty(), "{text}");
        }
        assert!(serde_json::from_str::<L>(r#"{"v":"abc"}"#).is_err());
    }

    #[test]
    fn core_34_empty_pairs_are_dropped() {
        let pairs = vec![
            KeyValuePair { key: "a".into(), value: "1".into() },
            KeyValuePair { key: String::new(), value: "1".into() },
            KeyValuePair { key: "b".into(), value: String::new() },
        ];
        assert_eq!(key_values(&pairs), vec![pairs[0].clone()]);
    }
}
