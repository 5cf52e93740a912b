//! The fiscal sign and the journal hash chain.
//!
//! Fiscal sign: HMAC-SHA256 keyed with the per-FN secret over the document's canonical bytes,
//! the first 4 bytes read big-endian as an unsigned 32-bit number (ATOL-89 asks for an unsigned
//! 32-bit `fiscal_document_attribute`). Anyone holding the secret can re-verify a stored document.
//!
//! Journal chain: entry hash = SHA-256(previous hash (32 bytes) ‖ fiscal sign (4 bytes, big
//! endian) ‖ canonical bytes), lower-case hex. The first entry of a register chains to
//! [`GENESIS_HASH`]. Changing any stored byte of an entry breaks its hash and every later link.

use hmac::{Mac, digest::KeyInit};
use sha2::{Digest, Sha256};

/// The `previous hash` of a register's first journal entry: 64 zeros.
pub const GENESIS_HASH: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// The fiscal sign of `bytes` under `secret`.
pub fn fiscal_sign(secret: &[u8], bytes: &[u8]) -> u32 {
    let mut mac = <hmac::Hmac<Sha256> as KeyInit>::new_from_slice(secret).expect("HMAC takes keys of any length");
    mac.update(bytes);
    let tag = mac.finalize().into_bytes();
    u32::from_be_bytes([tag[0], tag[1], tag[2], tag[3]])
}

/// The hash of a journal entry that follows `prev_hex`.
pub fn journal_hash(prev_hex: &str, fiscal_sign: u32, bytes: &[u8]) -> String {
    let mut h = Sha256::new();
    h.update(decode_hex32(prev_hex));
    h.update(fiscal_sign.to_be_bytes());
    h.update(bytes);
    hex::encode(h.finalize())
}

/// 32 bytes from 64 hex digits; anything else (a corrupted stored hash) gives bytes that cannot
/// chain correctly, which verification then reports.
fn decode_hex32(hex_digits: &str) -> [u8; 32] {
    let mut out = [0xffu8; 32];
    if hex::decode_to_slice(hex_digits, &mut out).is_err() {
        out = [0xffu8; 32];
    }
    out
}
