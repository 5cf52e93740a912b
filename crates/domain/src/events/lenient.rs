//! The lenient JSON reader of the event collector (EVT-34): the vendor's examples are
//! JavaScript object literals (unquoted keys), so after strict JSON fails the body is read again
//! accepting unquoted keys, single-quoted strings, trailing commas and `//` / `/* */` comments.
//!
//! Pure: text in, `serde_json::Value` out. Numbers keep their exact text (serde_json runs with
//! `arbitrary_precision`), so no value passes through a float. Nesting is bounded, so hostile
//! input gets an error, never a stack overflow.

use serde_json::{Map, Number, Value};
use std::str::FromStr;

/// Deepest nesting of objects and arrays accepted (serde_json's own limit is 128).
pub const MAX_DEPTH: usize = 64;

/// Why a body could not be read even leniently: a message and the byte offset.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{message} at byte {offset}")]
pub struct LenientError {
    pub message: String,
    pub offset: usize,
}

/// Strict JSON first; on failure the JSON5-style reading of [`parse_lenient`] (EVT-34).
pub fn parse(text: &str) -> Result<Value, LenientError> {
    match serde_json::from_str(text) {
        Ok(v) => Ok(v),
        Err(_) => parse_lenient(text),
    }
}

/// Reads a JSON5-style document: unquoted keys, single-quoted strings, trailing commas, comments.
pub fn parse_lenient(text: &str) -> Result<Value, LenientError> {
    let mut p = Parser { s: text.as_bytes(), text, i: 0 };
    let v = p.value(0)?;
    p.skip_ws()?;
    if p.i != p.s.len() {
        return Err(p.err("unexpected text after the document"));
    }
    Ok(v)
}

struct Parser<'a> {
    s: &'a [u8],
    text: &'a str,
    i: usize,
}

impl Parser<'_> {
    fn err(&self, message: &str) -> LenientError {
        LenientError { message: message.to_owned(), offset: self.i }
    }

    fn peek(&self) -> Option<u8> {
        self.s.get(self.i).copied()
    }

    fn skip_ws(&mut self) -> Result<(), LenientError> {
        loop {
            match self.peek() {
                Some(b' ' | b'\t' | b'\n' | b'\r') => self.i += 1,
                // U+FEFF (byte order mark) and U+00A0 (no-break space) appear in hand-made files.
                Some(0xEF) if self.s[self.i..].starts_with(&[0xEF, 0xBB, 0xBF]) => self.i += 3,
                Some(0xC2) if self.s.get(self.i + 1) == Some(&0xA0) => self.i += 2,
                Some(b'/') if self.s.get(self.i + 1) == Some(&b'/') => {
                    while let Some(c) = self.peek() {
                        if c == b'\n' {
                            break;
                        }
                        self.i += 1;
                    }
                }
                Some(b'/') if self.s.get(self.i + 1) == Some(&b'*') => {
                    let start = self.i;
                    self.i += 2;
                    loop {
                        match self.peek() {
                            None => {
                                self.i = start;
                                return Err(self.err("unterminated comment"));
                            }
                            Some(b'*') if self.s.get(self.i + 1) == Some(&b'/') => {
                                self.i += 2;
                                break;
                            }
                            Some(_) => self.i += 1,
                        }
                    }
                }
                _ => return Ok(()),
            }
        }
    }

    fn value(&mut self, depth: usize) -> Result<Value, LenientError> {
        if depth > MAX_DEPTH {
            return Err(self.err("nesting too deep"));
        }
        self.skip_ws()?;
        match self.peek() {
            None => Err(self.err("unexpected end of input")),
            Some(b'{') => self.object(depth),
            Some(b'[') => self.array(depth),
            Some(q @ (b'"' | b'\'')) => self.string(q).map(Value::String),
            Some(b'-' | b'+' | b'0'..=b'9' | b'.') => self.number(),
            Some(_) => {
                let word = self.bare_word();
                match word {
                    "true" => Ok(Value::Bool(true)),
                    "false" => Ok(Value::Bool(false)),
                    "null" => Ok(Value::Null),
                    _ => Err(self.err("expected a value")),
                }
            }
        }
    }

    fn object(&mut self, depth: usize) -> Result<Value, LenientError> {
        self.i += 1;
        let mut map = Map::new();
        loop {
            self.skip_ws()?;
            match self.peek() {
                Some(b'}') => {
                    self.i += 1;
                    return Ok(Value::Object(map));
                }
                None => return Err(self.err("unterminated object")),
                _ => {}
            }
            let key = match self.peek() {
                Some(q @ (b'"' | b'\'')) => self.string(q)?,
                _ => {
                    let start = self.i;
                    let word = self.bare_word().to_owned();
                    if word.is_empty() {
                        self.i = start;
                        return Err(self.err("expected a key"));
                    }
                    word
                }
            };
            self.skip_ws()?;
            if self.peek() != Some(b':') {
                return Err(self.err("expected ':' after a key"));
            }
            self.i += 1;
            let v = self.value(depth + 1)?;
            map.insert(key, v);
            self.skip_ws()?;
            match self.peek() {
                Some(b',') => self.i += 1,
                Some(b'}') => {}
                _ => return Err(self.err("expected ',' or '}'")),
            }
        }
    }

    fn array(&mut self, depth: usize) -> Result<Value, LenientError> {
        self.i += 1;
        let mut items = Vec::new();
        loop {
            self.skip_ws()?;
            match self.peek() {
                Some(b']') => {
                    self.i += 1;
                    return Ok(Value::Array(items));
                }
                None => return Err(self.err("unterminated array")),
                _ => {}
            }
            items.push(self.value(depth + 1)?);
            self.skip_ws()?;
            match self.peek() {
                Some(b',') => self.i += 1,
                Some(b']') => {}
                _ => return Err(self.err("expected ',' or ']'")),
            }
        }
    }

    /// An identifier-like key or literal: everything up to whitespace or punctuation.
    fn bare_word(&mut self) -> &str {
        let start = self.i;
        while let Some(c) = self.peek() {
            if matches!(c, b' ' | b'\t' | b'\n' | b'\r' | b':' | b',' | b'{' | b'}' | b'[' | b']' | b'"' | b'\'' | b'/') {
                break;
            }
            self.i += 1;
        }
        // Stops only at ASCII bytes, so the slice is on a character boundary.
        &self.text[start..self.i]
    }

    fn string(&mut self, quote: u8) -> Result<String, LenientError> {
        let start = self.i;
        self.i += 1;
        let mut out = String::new();
        let mut run = self.i;
        loop {
            match self.peek() {
                None => {
                    self.i = start;
                    return Err(self.err("unterminated string"));
                }
                Some(c) if c == quote => {
                    out.push_str(&self.text[run..self.i]);
                    self.i += 1;
                    return Ok(out);
                }
                Some(b'\\') => {
                    out.push_str(&self.text[run..self.i]);
                    self.i += 1;
                    let c = self.peek().ok_or_else(|| self.err("unterminated escape"))?;
                    self.i += 1;
                    match c {
                        b'"' => out.push('"'),
                        b'\'' => out.push('\''),
                        b'\\' => out.push('\\'),
                        b'/' => out.push('/'),
                        b'b' => out.push('\u{8}'),
                        b'f' => out.push('\u{c}'),
                        b'n' => out.push('\n'),
                        b'r' => out.push('\r'),
                        b't' => out.push('\t'),
                        b'\n' => {}
                        b'u' => out.push(self.unicode_escape()?),
                        _ => return Err(self.err("unknown escape")),
                    }
                    run = self.i;
                }
                Some(_) => self.i += 1,
            }
        }
    }

    fn hex4(&mut self) -> Result<u32, LenientError> {
        let digits = self.s.get(self.i..self.i + 4).ok_or_else(|| self.err("short \\u escape"))?;
        let text = std::str::from_utf8(digits).map_err(|_| self.err("bad \\u escape"))?;
        let v = u32::from_str_radix(text, 16).map_err(|_| self.err("bad \\u escape"))?;
        self.i += 4;
        Ok(v)
    }

    fn unicode_escape(&mut self) -> Result<char, LenientError> {
        let hi = self.hex4()?;
        if (0xD800..0xDC00).contains(&hi) && self.s[self.i..].starts_with(b"\\u") {
            self.i += 2;
            let lo = self.hex4()?;
            if (0xDC00..0xE000).contains(&lo) {
                let c = 0x10000 + ((hi - 0xD800) << 10) + (lo - 0xDC00);
                return char::from_u32(c).ok_or_else(|| self.err("bad surrogate pair"));
            }
            return Err(self.err("bad surrogate pair"));
        }
        char::from_u32(hi).ok_or_else(|| self.err("lone surrogate in \\u escape"))
    }

    fn number(&mut self) -> Result<Value, LenientError> {
        let start = self.i;
        let word = self.bare_word();
        // JSON5 allows a leading '+'; JSON numbers do not: drop it.
        let text = word.strip_prefix('+').unwrap_or(word);
        let fixed;
        let text = if let Some(rest) = text.strip_prefix('.') {
            fixed = format!("0.{rest}");
            fixed.as_str()
        } else if let Some(rest) = text.strip_prefix("-.") {
            fixed = format!("-0.{rest}");
            fixed.as_str()
        } else {
            text
        };
        match Number::from_str(text) {
            Ok(n) => Ok(Value::Number(n)),
            Err(_) => {
                self.i = start;
                Err(self.err("bad number"))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn evt_34_unquoted_keys_single_quotes_trailing_commas_comments() {
        let v = parse("{ a:1, 'b':'x\\'y', c:[1,2,], // note\n d: /* c */ \"z\", }").unwrap();
        assert_eq!(v, json!({"a":1,"b":"x'y","c":[1,2],"d":"z"}));
    }

    #[test]
    fn evt_34_numbers_keep_exact_text() {
        let v = parse("{price: 59.990, n: -0.5, p: +2, q: .5}").unwrap();
        assert_eq!(v["price"].to_string(), "59.990");
        assert_eq!(v["n"].to_string(), "-0.5");
        assert_eq!(v["p"].to_string(), "2");
        assert_eq!(v["q"].to_string(), "0.5");
    }

    #[test]
    fn evt_34_errors_not_panics() {
        for bad in ["not json", "{", "{a:}", "{a:1 b:2}", "[1,,2]", "'abc", "{\"a\":\"\\uD800\"}", "/* x", ""] {
            assert!(parse(bad).is_err(), "{bad:?} must fail");
        }
        let deep = "[".repeat(10_000);
        assert!(parse(&deep).is_err());
    }

    #[test]
    fn evt_34_cyrillic_keys_and_values() {
        let v = parse("{организация:\"ООО Ромашка\"}").unwrap();
        assert_eq!(v, json!({"организация":"ООО Ромашка"}));
    }

    proptest::proptest! {
        /// EVT-34: any strict JSON document reads the same through the lenient path.
        #[test]
        fn evt_34_lenient_reads_strict_json_identically(v in arb_json()) {
            let text = serde_json::to_string(&v).unwrap();
            proptest::prop_assert_eq!(parse_lenient(&text).unwrap(), v);
        }

        /// EVT-34: arbitrary input never panics.
        #[test]
        fn evt_34_lenient_never_panics(s in ".{0,200}") {
            let _ = parse(&s);
        }

        /// EVT-34: unquoting keys does not change the value.
        #[test]
        fn evt_34_unquoted_keys_read_like_quoted(keys in proptest::collection::btree_map("[a-zA-Z_][a-zA-Z0-9_]{0,8}", "[ a-z0-9.]{0,10}", 0..6)) {
            let quoted = serde_json::to_string(&keys).unwrap();
            let mut unquoted = String::from("{");
            for (k, v) in &keys {
                unquoted.push_str(&format!("{k}: {}, ", serde_json::to_string(v).unwrap()));
            }
            unquoted.push('}');
            proptest::prop_assert_eq!(parse(&unquoted).unwrap(), parse(&quoted).unwrap());
        }
    }

    fn arb_json() -> impl proptest::strategy::Strategy<Value = Value> {
        use proptest::prelude::*;
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::Bool),
            any::<i64>().prop_map(|n| json!(n)),
            "-?[1-9][0-9]{0,5}\\.[0-9]{1,4}".prop_map(|s| Value::Number(Number::from_str(&s).unwrap())),
            ".{0,12}".prop_map(Value::String),
        ];
        leaf.prop_recursive(4, 32, 6, |inner| {
            prop_oneof![
                proptest::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
                proptest::collection::btree_map(".{0,6}", inner, 0..6).prop_map(|m| Value::Object(m.into_iter().collect())),
            ]
        })
    }
}
