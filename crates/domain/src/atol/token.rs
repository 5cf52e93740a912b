//! Token lifetime and re-issue (§5.3): a token lives 24 hours from its issue (ATOL-38); within
//! 23 hours getToken returns the same token (ATOL-39), later a new one (ATOL-40) without revoking
//! the old (ATOL-41). Times are the server's (ATOL-42).

pub const LIFETIME_MS: i64 = 24 * 3_600_000;
pub const REISSUE_AFTER_MS: i64 = 23 * 3_600_000;

/// ATOL-38: valid iff `now < issued_at + 24 h`.
pub fn is_valid(issued_at_ms: i64, now_ms: i64) -> bool {
    now_ms < issued_at_ms.saturating_add(LIFETIME_MS)
}

/// ATOL-39/40 (D-16): the current token is returned again iff `now − issued_at ≤ 23 h`.
pub fn reuse_current(issued_at_ms: i64, now_ms: i64) -> bool {
    now_ms.saturating_sub(issued_at_ms) <= REISSUE_AFTER_MS
}

/// ATOL-36 (D-14): 32 lowercase hex characters from 16 random bytes.
pub fn format_token(random: [u8; 16]) -> String {
    random.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lifetime_boundaries() {
        // ATOL-38, ATOL-39, ATOL-40, ATOL-42 (TV-3 boundaries)
        let h = 3_600_000;
        assert!(reuse_current(0, 23 * h));
        assert!(!reuse_current(0, 23 * h + 1000));
        assert!(is_valid(0, 24 * h - 1000));
        assert!(!is_valid(0, 24 * h));
        assert_eq!(format_token([0xab; 16]).len(), 32);
    }
}
