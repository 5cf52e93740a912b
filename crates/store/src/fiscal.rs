//! Storage port of one context. Fiscal registers: register state, documents, counters, the hash-chained journal, the OFD outbox (issue 3).

use async_trait::async_trait;

/// Implemented by every backend; part of [`crate::Store`].
#[async_trait]
pub trait FiscalStore: Send + Sync {}
