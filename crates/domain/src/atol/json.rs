//! Strict JSON reading for the ATOL face: UTF-8 BOM ignored (ATOL-15), duplicate member names
//! rejected (ATOL-18), numbers kept as their exact text (ATOL-21).

use crate::json::{Json, duplicate_of};

/// Why a body is not acceptable JSON.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum JsonError {
    /// Not JSON at all (error 1): the parser's message.
    Syntax(String),
    /// Valid syntax, but an object names a member twice (error 8 / 17, ATOL-18).
    Duplicate(String),
}

/// Parses `body` (a leading UTF-8 BOM is skipped) into a tree, rejecting duplicate members.
pub fn parse(body: &[u8]) -> Result<Json<'_>, JsonError> {
    let body = body.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(body);
    Json::parse_unique(body).map_err(|e| match duplicate_of(&e) {
        Some(name) => JsonError::Duplicate(name),
        None => JsonError::Syntax(e.to_string()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strict_parsing() {
        // ATOL-15 BOM, ATOL-18 duplicates, ATOL-21 exact numbers
        let v = parse("\u{feff}{\"a\": 5000.00, \"b\": [1, null, \"x\"]}".as_bytes()).unwrap();
        assert_eq!(v.get("a"), Some(&Json::Number("5000.00".into())));
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
