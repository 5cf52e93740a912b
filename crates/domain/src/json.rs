//! The JSON tree the ATOL and loyalty faces read request bodies into.
//!
//! Unlike `serde_json::Value` it copies little: strings borrow the body's text (a string with
//! escapes is the exception), objects are vectors of members in the order sent. Building and
//! dropping a `Value` — a B-tree map and an owned string per member — was a fifth of the
//! server's request handling in loyalty-calculate. Numbers keep their exact text (ATOL-21,
//! LOY-45). A member named twice is either refused while reading (ATOL-18) or found by its last
//! occurrence (LOY-87).

use kassa_money::SERDE_JSON_NUMBER_TOKEN as NUMBER_TOKEN;
use serde::de::{self, Deserialize, DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};
use std::borrow::Cow;
use std::fmt;

/// An object's members, in the order sent.
pub type Members<'a> = [(Cow<'a, str>, Json<'a>)];

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Json<'a> {
    Null,
    Bool(bool),
    /// The number's exact text.
    Number(Cow<'a, str>),
    String(Cow<'a, str>),
    Array(Vec<Json<'a>>),
    Object(Vec<(Cow<'a, str>, Json<'a>)>),
}

/// The member `key` of an object: its last occurrence (LOY-87).
pub fn member<'v, 'a>(members: &'v Members<'a>, key: &str) -> Option<&'v Json<'a>> {
    members.iter().rev().find(|(k, _)| k == key).map(|(_, v)| v)
}

impl<'a> Json<'a> {
    /// Reads strict JSON; strings borrow from `text` where they can. A member named twice in
    /// one object: the last occurrence counts (LOY-87).
    pub fn parse(text: &'a [u8]) -> Result<Self, serde_json::Error> {
        Self::read(serde_json::Deserializer::from_slice(text), Duplicates::LastWins)
    }

    /// Like [`parse`](Self::parse), but a member named twice is an error (ATOL-18), reported as
    /// soon as it is read — before any later syntax error — with [`duplicate_of`] naming it.
    pub fn parse_unique(text: &'a [u8]) -> Result<Self, serde_json::Error> {
        Self::read(serde_json::Deserializer::from_slice(text), Duplicates::Refused)
    }

    /// [`parse`](Self::parse) of text already known to be UTF-8: its strings are not checked again.
    pub fn parse_str(text: &'a str) -> Result<Self, serde_json::Error> {
        Self::read(serde_json::Deserializer::from_str(text), Duplicates::LastWins)
    }

    fn read<R: serde_json::de::Read<'a>>(
        mut de: serde_json::Deserializer<R>,
        duplicates: Duplicates,
    ) -> Result<Self, serde_json::Error> {
        let v = TreeVisitor(duplicates).deserialize(&mut de)?;
        de.end()?;
        Ok(v)
    }

    pub fn get(&self, key: &str) -> Option<&Json<'a>> {
        self.as_object().and_then(|m| member(m, key))
    }

    pub fn as_object(&self) -> Option<&Members<'a>> {
        match self {
            Json::Object(m) => Some(m),
            _ => None,
        }
    }

    pub fn as_array(&self) -> Option<&[Json<'a>]> {
        match self {
            Json::Array(a) => Some(a),
            _ => None,
        }
    }

    pub fn as_str(&self) -> Option<&str> {
        match self {
            Json::String(s) => Some(s),
            _ => None,
        }
    }

    /// The same tree owning all its text (for a body that had to be rewritten first).
    pub fn into_owned(self) -> Json<'static> {
        let own = |s: Cow<'a, str>| Cow::Owned(s.into_owned());
        match self {
            Json::Null => Json::Null,
            Json::Bool(b) => Json::Bool(b),
            Json::Number(n) => Json::Number(own(n)),
            Json::String(s) => Json::String(own(s)),
            Json::Array(a) => Json::Array(a.into_iter().map(Json::into_owned).collect()),
            Json::Object(m) => Json::Object(m.into_iter().map(|(k, v)| (own(k), v.into_owned())).collect()),
        }
    }
}

/// Starts the message of the error [`Json::parse_unique`] gives for a repeated member.
const DUPLICATE: &str = "\u{0}duplicate member: ";

/// The member name of an error of [`Json::parse_unique`] that refused a repeated member.
pub fn duplicate_of(e: &serde_json::Error) -> Option<String> {
    let msg = e.to_string();
    let rest = &msg[msg.find(DUPLICATE)? + DUPLICATE.len()..];
    Some(rest.rsplit_once(" at line ").map_or(rest, |(n, _)| n).to_owned())
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Duplicates {
    LastWins,
    Refused,
}

/// Objects with more members than this are checked for repeats through a set.
const SCAN_MEMBERS: usize = 32;

/// A string that borrows the input when it can.
struct Text<'a>(Cow<'a, str>);

impl<'de> Deserialize<'de> for Text<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Text<'de>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a string")
            }
            fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Text<'de>, E> {
                Ok(Text(Cow::Borrowed(v)))
            }
            fn visit_str<E>(self, v: &str) -> Result<Text<'de>, E> {
                Ok(Text(Cow::Owned(v.to_owned())))
            }
            fn visit_string<E>(self, v: String) -> Result<Text<'de>, E> {
                Ok(Text(Cow::Owned(v)))
            }
        }
        d.deserialize_str(V)
    }
}

impl<'de> Deserialize<'de> for Json<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(TreeVisitor(Duplicates::LastWins))
    }
}

#[derive(Clone, Copy)]
struct TreeVisitor(Duplicates);

impl<'de> DeserializeSeed<'de> for TreeVisitor {
    type Value = Json<'de>;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Json<'de>, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for TreeVisitor {
    type Value = Json<'de>;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("any JSON value")
    }
    fn visit_bool<E>(self, v: bool) -> Result<Json<'de>, E> {
        Ok(Json::Bool(v))
    }
    fn visit_i64<E>(self, v: i64) -> Result<Json<'de>, E> {
        Ok(Json::Number(Cow::Owned(v.to_string())))
    }
    fn visit_u64<E>(self, v: u64) -> Result<Json<'de>, E> {
        Ok(Json::Number(Cow::Owned(v.to_string())))
    }
    fn visit_f64<E: de::Error>(self, _: f64) -> Result<Json<'de>, E> {
        Err(E::custom("binary floats are not read"))
    }
    fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Json<'de>, E> {
        Ok(Json::String(Cow::Borrowed(v)))
    }
    fn visit_str<E>(self, v: &str) -> Result<Json<'de>, E> {
        Ok(Json::String(Cow::Owned(v.to_owned())))
    }
    fn visit_string<E>(self, v: String) -> Result<Json<'de>, E> {
        Ok(Json::String(Cow::Owned(v)))
    }
    fn visit_unit<E>(self) -> Result<Json<'de>, E> {
        Ok(Json::Null)
    }
    fn visit_none<E>(self) -> Result<Json<'de>, E> {
        Ok(Json::Null)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Json<'de>, A::Error> {
        let mut v = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(64));
        while let Some(x) = seq.next_element_seed(self)? {
            v.push(x);
        }
        Ok(Json::Array(v))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Json<'de>, A::Error> {
        let mut members: Vec<(Cow<'de, str>, Json<'de>)> = Vec::new();
        let mut names = std::collections::HashSet::new();
        while let Some(Text(key)) = map.next_key::<Text<'de>>()? {
            if key == NUMBER_TOKEN {
                let Text(text) = map.next_value::<Text<'de>>()?;
                return Ok(Json::Number(text));
            }
            let value = map.next_value_seed(self)?;
            if self.0 == Duplicates::Refused {
                let repeated = if members.len() < SCAN_MEMBERS {
                    members.iter().any(|(k, _)| *k == key)
                } else {
                    if names.is_empty() {
                        names.extend(members.iter().map(|(k, _)| k.to_string()));
                    }
                    !names.insert(key.to_string())
                };
                if repeated {
                    return Err(de::Error::custom(format!("{DUPLICATE}{key}")));
                }
            }
            members.push((key, value));
        }
        Ok(Json::Object(members))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_keep_their_text_and_the_last_member_counts() {
        let v = Json::parse(br#"{"a":"x","b":600.00,"c":[1,-0.50],"d":"e\"s","a":null}"#).unwrap();
        assert_eq!(v.get("a"), Some(&Json::Null), "the last occurrence counts");
        assert_eq!(v.get("b"), Some(&Json::Number("600.00".into())));
        assert_eq!(v.get("c").unwrap().as_array().unwrap()[1], Json::Number("-0.50".into()));
        assert_eq!(v.get("d").unwrap().as_str(), Some("e\"s"));
        assert!(Json::parse(b"{} x").is_err());
        assert!(Json::parse("[".repeat(200).as_bytes()).is_err(), "nesting is bounded");
    }

    #[test]
    fn repeated_members_can_be_refused_as_soon_as_they_are_read() {
        let name = |t: &str| Json::parse_unique(t.as_bytes()).err().as_ref().and_then(duplicate_of);
        assert_eq!(name(r#"{"a":1,"b":{"x":1,"x":2},"a":3}"#).as_deref(), Some("x"));
        assert_eq!(name(r#"{"a":1,"a":2, broken"#).as_deref(), Some("a"));
        assert_eq!(name(r#"{"a":1,"b":2}"#), None);
        let many: Vec<String> = (0..100).map(|i| format!("\"k{i}\":{i}")).collect();
        assert_eq!(name(&format!("{{{},\"k7\":0}}", many.join(","))).as_deref(), Some("k7"));
        assert!(Json::parse(br#"{"a":1,"a":2}"#).is_ok());
    }
}
