//! FrontolAuth (LOY-12 – LOY-17): `md5(utf8(access_key) ‖ raw body)` as 32 hex digits.

use md5::{Digest, Md5};

/// The token the POS sends for `body` with `key` (LOY-12, LOY-13): over the raw bytes.
pub fn token(key: &str, body: &[u8]) -> String {
    let mut h = Md5::new();
    h.update(key.as_bytes());
    h.update(body);
    hex::encode(h.finalize())
}

/// The token of an `Authorization` header value: scheme `FrontolAuth` (any case), one or more
/// spaces, the token trimmed (LOY-16). `None` when the header is malformed.
pub fn parse_header(value: &str) -> Option<&str> {
    let value = value.trim();
    let (scheme, rest) = value.split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("FrontolAuth") {
        return None;
    }
    let t = rest.trim();
    (!t.is_empty()).then_some(t)
}

/// LOY-16: the presented token matches, hex compared case-insensitively, in constant time.
pub fn verify(key: &str, body: &[u8], presented: &str) -> bool {
    let expected = token(key, body);
    let presented = presented.to_ascii_lowercase();
    expected.len() == presented.len()
        && expected.bytes().zip(presented.bytes()).fold(0u8, |acc, (a, b)| acc | (a ^ b)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The one-line body of LOY-17 (241 characters, 251 bytes).
    pub const B: &str = r#"{ "positions": [], "organization": "Мой магазин", "action": "calculate", "uid": "", "businessUnit": "4", "dateTime": "2018-07-16T10:18:44.955+03:00", "number": 0, "shift": 0, "type": "receipt", "workPlace": "5", "client": { "card": "123" } }"#;

    #[test]
    fn source_md5_vector_tv_l1_loy_17() {
        assert_eq!(B.chars().count(), 241);
        assert_eq!(B.len(), 251);
        assert_eq!(token("password", B.as_bytes()), "24da9926bd1afa6c523cd4e011f66137");
        assert_eq!(token("password", format!("{B} ").as_bytes()), "2b6dd10efdb5b31974dd55c6943fe492");
        assert_eq!(token("", B.as_bytes()), "b3532d6a30d9f210f7b7296a937b1a4a");
    }

    #[test]
    fn header_parsing_and_case_insensitive_compare_loy_16() {
        assert_eq!(parse_header("frontolauth   abc "), Some("abc"));
        assert_eq!(parse_header("Bearer abc"), None);
        assert_eq!(parse_header("FrontolAuth"), None);
        assert!(verify("password", B.as_bytes(), "24DA9926BD1AFA6C523CD4E011F66137"));
        assert!(!verify("password", B.as_bytes(), "24da9926bd1afa6c523cd4e011f6613"));
    }
}
