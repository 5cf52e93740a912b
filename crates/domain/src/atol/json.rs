//! Strict JSON reading for the ATOL face: UTF-8 BOM ignored (ATOL-15), duplicate member names
//! rejected (ATOL-18), numbers kept as their exact text (ATOL-21).

use serde::de::{self, DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Number, Value};
use std::fmt;

/// Why a body is not acceptable JSON.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum JsonError {
    /// Not JSON at all (error 1): the parser's message.
    Syntax(String),
    /// Valid syntax, but an object names a member twice (error 8 / 17, ATOL-18).
    Duplicate(String),
}

const DUPLICATE: &str = "\u{0}duplicate member: ";
/// serde_json's private marker for `arbitrary_precision` numbers.
const NUMBER_TOKEN: &str = "$serde_json::private::Number";

struct Strict;

impl<'de> DeserializeSeed<'de> for Strict {
    type Value = Value;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Strict {
    type Value = Value;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("any JSON value")
    }
    fn visit_bool<E>(self, v: bool) -> Result<Value, E> {
        Ok(Value::Bool(v))
    }
    fn visit_i64<E>(self, v: i64) -> Result<Value, E> {
        Ok(Value::Number(v.into()))
    }
    fn visit_u64<E>(self, v: u64) -> Result<Value, E> {
        Ok(Value::Number(v.into()))
    }
    fn visit_f64<E: de::Error>(self, _: f64) -> Result<Value, E> {
        Err(E::custom("binary floats are not read"))
    }
    fn visit_str<E>(self, v: &str) -> Result<Value, E> {
        Ok(Value::String(v.to_owned()))
    }
    fn visit_string<E>(self, v: String) -> Result<Value, E> {
        Ok(Value::String(v))
    }
    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_none<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut v = Vec::new();
        while let Some(x) = seq.next_element_seed(Strict)? {
            v.push(x);
        }
        Ok(Value::Array(v))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let mut out = Map::new();
        while let Some(key) = map.next_key::<String>()? {
            if key == NUMBER_TOKEN {
                let text: String = map.next_value()?;
                return text.parse::<Number>().map(Value::Number).map_err(de::Error::custom);
            }
            let value = map.next_value_seed(Strict)?;
            if out.contains_key(&key) {
                return Err(de::Error::custom(format!("{DUPLICATE}{key}")));
            }
            out.insert(key, value);
        }
        Ok(Value::Object(out))
    }
}

/// Parses `body` (a leading UTF-8 BOM is skipped) into a value, rejecting duplicate members.
pub fn parse(body: &[u8]) -> Result<Value, JsonError> {
    let body = body.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(body);
    let mut de = serde_json::Deserializer::from_slice(body);
    let v = Strict.deserialize(&mut de).map_err(classify)?;
    de.end().map_err(classify)?;
    Ok(v)
}

fn classify(e: serde_json::Error) -> JsonError {
    let msg = e.to_string();
    match msg.find(DUPLICATE) {
        Some(i) => {
            let rest = &msg[i + DUPLICATE.len()..];
            let name = rest.rsplit_once(" at line ").map_or(rest, |(n, _)| n);
            JsonError::Duplicate(name.to_owned())
        }
        None => JsonError::Syntax(msg),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strict_parsing() {
        // ATOL-15 BOM, ATOL-18 duplicates, ATOL-21 exact numbers
        let v = parse("\u{feff}{\"a\": 5000.00, \"b\": [1, null, \"x\"]}".as_bytes()).unwrap();
        assert_eq!(v["a"].to_string(), "5000.00");
        assert!(matches!(parse(br#"{"a":1,"a":2}"#), Err(JsonError::Duplicate(n)) if n == "a"));
        assert!(matches!(parse(br#"{"x":{"a":1,"a":2}}"#), Err(JsonError::Duplicate(_))));
        assert!(matches!(parse(br#"{"external_id": "x","#), Err(JsonError::Syntax(_))));
        assert!(matches!(parse(b""), Err(JsonError::Syntax(_))));
        assert!(matches!(parse(b"{} x"), Err(JsonError::Syntax(_))));
        assert!(matches!(parse(b"\xff"), Err(JsonError::Syntax(_))));
        let deep = "[".repeat(10_000);
        assert!(matches!(parse(deep.as_bytes()), Err(JsonError::Syntax(_))));
    }
}
