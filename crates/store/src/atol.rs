//! Storage port of one context. ATOL Online v3: tokens, accepted documents and their per-group
//! queue, reports, the callback outbox (issue 4).
//!
//! Documents are keyed by `uuid`; a group is `(tenant_id, group_code)`. The queue of a group is
//! its `queued` documents ordered by `queue_seq` (ATOL-5/6: FIFO, a re-queue goes to the tail).
//! `external_id` is unique per group among accepted documents; rejected requests store none
//! (ATOL-50/73). A final transition and its callback row are written in one transaction, so a
//! callback is never lost nor created twice (ATOL-76).

use crate::StoreResult;
use async_trait::async_trait;
use serde::Serialize;

/// A token as issued (ATOL-36..42).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AtolTokenRow {
    pub token: String,
    pub tenant_id: String,
    pub login: String,
    pub issued_at_ms: i64,
}

/// The `{code, text, type}` of a stored error.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct AtolErrorRow {
    pub code: i64,
    pub text: String,
    #[serde(rename = "type")]
    pub kind: String,
}

/// A registration request to store: accepted (`state` = `queued`, with `external_id`) or
/// rejected with error 1/8 (`state` = `rejected`, no `external_id`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewAtolDocument {
    pub uuid: String,
    pub tenant_id: String,
    pub group_code: String,
    pub operation: String,
    pub external_id: Option<String>,
    pub state: String,
    pub timestamp: String,
    pub callback_url: String,
    /// The request body as received (BOM stripped), for the register.
    pub body: String,
    pub error: Option<AtolErrorRow>,
    pub now_ms: i64,
}

/// What storing a registration did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AtolInsert {
    Stored,
    /// ATOL-72: an accepted document of the group has this `external_id`.
    Duplicate { uuid: String, timestamp: String },
}

/// A stored document with its state.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct AtolDocumentRow {
    pub uuid: String,
    pub tenant_id: String,
    pub group_code: String,
    pub operation: String,
    pub external_id: Option<String>,
    pub state: String,
    pub timestamp: String,
    pub callback_url: String,
    #[serde(skip)]
    pub body: String,
    pub error: Option<AtolErrorRow>,
    pub daemon_code: String,
    pub device_code: String,
    /// The `payload` JSON when done.
    pub payload: Option<String>,
    pub attempts: i64,
    pub accepted_at_ms: i64,
    /// Start of the current stay in the queue (ATOL-81).
    pub queued_at_ms: i64,
    pub queue_seq: i64,
    pub updated_at_ms: i64,
}

/// A new callback row, written with the final transition (ATOL-76).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewAtolCallback {
    pub url: String,
    pub body: String,
    pub next_at_ms: i64,
}

/// A state change of one document, applied only if the document is still in `from_state`
/// (and, when given, still has `from_attempts`): compare-and-set, so two workers never both
/// move one document.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AtolTransition {
    pub uuid: String,
    pub from_state: String,
    pub from_attempts: Option<i64>,
    pub to_state: String,
    pub attempts: i64,
    pub error: Option<AtolErrorRow>,
    pub daemon_code: String,
    pub device_code: String,
    pub payload: Option<String>,
    /// Put the document at the tail of its queue with this queue start (re-queue, ATOL-84).
    pub requeue_at_ms: Option<i64>,
    pub callback: Option<NewAtolCallback>,
    pub now_ms: i64,
}

/// One callback of the outbox and its delivery state.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct AtolCallbackRow {
    pub uuid: String,
    pub tenant_id: String,
    pub group_code: String,
    pub url: String,
    #[serde(skip)]
    pub body: String,
    /// `pending`, `delivered` or `failed`.
    pub state: String,
    pub attempts: i64,
    pub next_at_ms: i64,
    pub last_status: Option<i64>,
    pub last_error: Option<String>,
    pub created_at_ms: i64,
    pub updated_at_ms: i64,
}

/// The result of one delivery attempt.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AtolCallbackAttempt {
    pub uuid: String,
    /// The attempt count before this attempt (compare-and-set).
    pub from_attempts: i64,
    pub state: String,
    pub next_at_ms: i64,
    pub last_status: Option<i64>,
    pub last_error: Option<String>,
    pub now_ms: i64,
}

/// Filter of the admin listings; `None` matches all.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AtolFilter {
    pub tenant_id: Option<String>,
    pub group_code: Option<String>,
    pub state: Option<String>,
    pub limit: i64,
}

/// Implemented by every backend; part of [`crate::Store`].
#[async_trait]
pub trait AtolStore: Send + Sync {
    /// The login's current token (the last one issued), if any.
    async fn atol_current_token(&self, tenant_id: &str, login: &str) -> StoreResult<Option<AtolTokenRow>>;
    /// Stores a new token and makes it the login's current one; older tokens stay (ATOL-41).
    async fn atol_issue_token(&self, token: &AtolTokenRow) -> StoreResult<()>;
    /// A token by its value.
    async fn atol_token(&self, token: &str) -> StoreResult<Option<AtolTokenRow>>;

    /// Stores registrations in one transaction, each answered on its own: accepted ones enter
    /// their group's queue unless the `external_id` is taken (ATOL-51: atomic per pair).
    async fn atol_insert_documents(&self, docs: &[NewAtolDocument]) -> StoreResult<Vec<AtolInsert>>;
    /// The accepted document of a group with this `external_id`: its uuid and timestamp.
    async fn atol_external_id(&self, tenant_id: &str, group_code: &str, external_id: &str)
        -> StoreResult<Option<(String, String)>>;
    /// A document of a group by uuid.
    async fn atol_document(&self, tenant_id: &str, group_code: &str, uuid: &str) -> StoreResult<Option<AtolDocumentRow>>;
    /// Admin listing, newest first.
    async fn atol_documents(&self, filter: &AtolFilter) -> StoreResult<Vec<AtolDocumentRow>>;
    /// The head of a group's queue, oldest first (ATOL-5).
    async fn atol_queue(&self, tenant_id: &str, group_code: &str, limit: i64) -> StoreResult<Vec<AtolDocumentRow>>;
    /// Groups with queued documents and their queue lengths, each counted up to `cap` (the
    /// dispatcher needs "above the threshold", not the exact length of a long backlog).
    async fn atol_queued_groups(&self, cap: i64) -> StoreResult<Vec<(String, String, i64)>>;
    /// Queued documents whose queue stay began at or before `cutoff_ms`, oldest first.
    async fn atol_queued_before(&self, cutoff_ms: i64, limit: i64) -> StoreResult<Vec<AtolDocumentRow>>;
    /// Documents left `in_progress` (after a crash: the register decides what happened).
    async fn atol_in_progress(&self, limit: i64) -> StoreResult<Vec<AtolDocumentRow>>;
    /// Applies transitions in one transaction; `true` for each one that applied.
    async fn atol_transition(&self, ts: &[AtolTransition]) -> StoreResult<Vec<bool>>;

    /// Pending callbacks due at `now_ms`, oldest first.
    async fn atol_due_callbacks(&self, now_ms: i64, limit: i64) -> StoreResult<Vec<AtolCallbackRow>>;
    /// Records a delivery attempt; `false` if another worker recorded it first.
    async fn atol_callback_attempt(&self, a: &AtolCallbackAttempt) -> StoreResult<bool>;
    /// Admin listing of callbacks, newest first.
    async fn atol_callbacks(&self, filter: &AtolFilter) -> StoreResult<Vec<AtolCallbackRow>>;
}
