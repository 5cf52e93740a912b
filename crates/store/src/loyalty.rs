//! Storage port of one context. Frontol loyalty: clients, cards, the bonus ledger, idempotent request records and the audit log (issue 5).

use async_trait::async_trait;

/// Implemented by every backend; part of [`crate::Store`].
#[async_trait]
pub trait LoyaltyStore: Send + Sync {}
