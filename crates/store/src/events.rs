//! Storage port of the Frontol event collector (`frontol-events.md`): events stored raw and
//! normalised, deduplicated by key, in one transaction per request; queries by envelope, type,
//! group and time; per-tenant loss-prevention settings.

use crate::StoreResult;
use async_trait::async_trait;
use serde::Serialize;
use std::sync::Arc;

/// One event to store; the core fills it from a normalised domain event.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewEvent {
    /// Deduplication key (EVT-39); unique across the store.
    pub dedup_key: String,
    /// Position of the event in its request (EVT-40).
    pub position: i32,
    pub group_id: String,
    /// Normalised event name.
    pub event: String,
    /// `registration`, `activity`, `error`, `system` or `unknown` (EVT-15, EVT-32).
    pub event_group: String,
    /// Occurrence instant, ms UTC; the arrival time when `dateTime` was missing or unreadable.
    pub occurred_ms: i64,
    /// The event object as received, JSON text (EVT-37).
    pub raw: String,
    /// The normalised fields, JSON object text.
    pub fields: String,
    /// Parse warnings, JSON array text.
    pub warnings: String,
    /// Loss-prevention flags (rule ids), JSON array text; `[]` when none.
    pub flags: String,
}

/// One request's events: stored all or nothing (EVT-38).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EventBatch {
    /// The response code of the request (EVT-5).
    pub code: String,
    /// The tenant owning the organization; `""` when no tenant declares it.
    pub tenant_id: String,
    pub organization: String,
    pub business_unit: String,
    pub work_place: String,
    pub received_ms: i64,
    pub events: Vec<NewEvent>,
}

/// A stored event as the query API shows it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct StoredEvent {
    /// Store-wide, increasing with arrival and position: the tie-breaker of EVT-40.
    pub id: i64,
    pub tenant_id: String,
    /// The `code` of the request that carried it.
    pub batch_code: String,
    pub organization: String,
    pub business_unit: String,
    pub work_place: String,
    pub group_id: String,
    pub event: String,
    pub event_group: String,
    pub occurred_ms: i64,
    pub received_ms: i64,
    pub position: i32,
    pub raw: String,
    pub fields: String,
    pub warnings: String,
    pub flags: String,
}

/// Filters of [`EventStore::events`]; `None` means any. Results are ordered by
/// (`occurred_ms`, `id`) — occurrence, then arrival and position (EVT-40).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct EventQuery {
    pub tenant_id: Option<String>,
    pub organization: Option<String>,
    pub business_unit: Option<String>,
    pub work_place: Option<String>,
    pub event: Option<String>,
    pub group_id: Option<String>,
    /// Inclusive lower bound on `occurred_ms`.
    pub from_ms: Option<i64>,
    /// Exclusive upper bound on `occurred_ms`.
    pub to_ms: Option<i64>,
    /// Only events with at least one loss-prevention flag.
    pub flagged: bool,
    /// Keyset cursor: only events after (`occurred_ms`, `id`).
    pub after: Option<(i64, i64)>,
    pub limit: u32,
}

/// Where an organization's events go (from the tenants' `events.organizations`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EventSource {
    pub tenant_id: String,
    /// Loss-prevention rules the tenant switched off (all others run).
    pub disabled_rules: Vec<String>,
}

/// Implemented by every backend; part of [`crate::Store`].
#[async_trait]
pub trait EventStore: Send + Sync {
    /// Stores the batch in one transaction, skipping events whose key is already stored
    /// (EVT-38, EVT-39). Returns, per event of the batch, its new id or `None` for a duplicate.
    async fn store_event_batch(&self, batch: Arc<EventBatch>) -> StoreResult<Vec<Option<i64>>>;

    /// Events matching `q`, ordered by (`occurred_ms`, `id`), at most `q.limit`.
    async fn events(&self, q: &EventQuery) -> StoreResult<Vec<StoredEvent>>;

    /// Stored events of `group_ids` with this envelope that occurred at or after `since_ms`
    /// (the document context of the loss-prevention rules, EVT-14).
    async fn group_events(
        &self,
        organization: &str,
        business_unit: &str,
        work_place: &str,
        group_ids: &[String],
        since_ms: i64,
    ) -> StoreResult<Vec<StoredEvent>>;

    /// The active tenant that declares `organization`, with its rule settings.
    async fn event_source(&self, organization: &str) -> StoreResult<Option<EventSource>>;

    /// The tenant's rules switched off.
    async fn disabled_event_rules(&self, tenant_id: &str) -> StoreResult<Vec<String>>;

    /// Replaces the tenant's switched-off rules.
    async fn set_disabled_event_rules(&self, tenant_id: &str, rules: &[String], now_ms: i64) -> StoreResult<()>;
}
