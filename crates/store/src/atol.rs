//! Storage port of one context. ATOL Online v3: tokens, accepted documents and their per-group queue, reports, the callback outbox (issue 4).

use async_trait::async_trait;

/// Implemented by every backend; part of [`crate::Store`].
#[async_trait]
pub trait AtolStore: Send + Sync {}
