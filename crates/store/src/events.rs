//! Storage port of one context. Frontol event collector: batches and events, deduplicated, with queries (issue 6).

use async_trait::async_trait;

/// Implemented by every backend; part of [`crate::Store`].
#[async_trait]
pub trait EventStore: Send + Sync {}
