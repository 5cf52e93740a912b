//! GetVendorId (§7.5, CORE-45): factory numbers (ZNM) derived from the generation instant.

use super::time::{LocalDateTime, Millis};

/// Milliseconds since the epoch of vendor ids, 2021-01-01T00:00:00.000 local.
fn epoch() -> LocalDateTime {
    LocalDateTime::from_parts(2021, 1, 1, 0, 0, 0, 0).unwrap_or(LocalDateTime::from_millis(0))
}

/// Largest offset that fits in 12 digits.
const MAX_OFFSET: i64 = 999_999_999_999;

/// A generated factory number and its manufacture date.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct VendorId {
    pub vendor_id: String,
    pub manufacture_date: LocalDateTime,
}

/// CORE-45: `prefix + "1" + M`, M = ms from 2021-01-01T00:00:00.000 to `at`, zero-padded to 12
/// digits. `None` when `at` is before the epoch or beyond 12 digits (year 2052).
#[must_use]
pub fn vendor_id(prefix: &str, at: LocalDateTime) -> Option<VendorId> {
    let offset = at.since(epoch()).0;
    if !(0..=MAX_OFFSET).contains(&offset) {
        return None;
    }
    Some(VendorId { vendor_id: format!("{prefix}1{offset:012}"), manufacture_date: at })
}

/// CORE-45 reverse: `manufacture_date = 2021-01-01 + (last 12 digits) ms`.
#[must_use]
pub fn manufacture_date(vendor_id: &str) -> Option<LocalDateTime> {
    let tail = vendor_id.get(vendor_id.len().checked_sub(12)?..)?;
    if !tail.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    Some(epoch().plus(Millis(tail.parse().ok()?)))
}

/// CORE-45: consecutive calls return distinct values. Given the instant of the previous
/// generation, the instant to use now: `now`, or 1 ms after the previous one if the clock has
/// not advanced (equivalent to waiting 1 ms).
#[must_use]
pub fn next_instant(previous: Option<LocalDateTime>, now: LocalDateTime) -> LocalDateTime {
    match previous {
        Some(prev) if now <= prev => prev.plus(Millis(1)),
        _ => now,
    }
}
