//! Storage port of one context. Frontol loyalty: clients, cards, the bonus ledger, idempotent request records and the audit log (issue 5).
//!
//! The core reads a [`Snapshot`] of everything one request needs in one call, decides, and
//! writes the outcome as one [`Commit`]: audit record, ledger entries, document and reservation
//! changes — all or nothing. A commit carries the versions of the client accounts it was
//! decided on; when another commit changed one of them meanwhile, or a document it inserts
//! already exists, it fails with [`StoreError::Conflict`] and the core decides again.

use crate::StoreResult;
#[allow(unused_imports)]
use crate::StoreError;
use async_trait::async_trait;
use kassa_domain::loyalty::ledger::{Account, Entry, EntryKind};
use kassa_domain::loyalty::wire::ClientKey;
use kassa_domain::provisioning::LoyaltyRule;
use kassa_money::Money;
use serde::{Deserialize, Serialize};

/// A tenant that takes part in loyalty (has an access key or at least one rule).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LoyaltyTenant {
    pub tenant_id: String,
    pub access_key: Option<String>,
}

/// A loyalty client as managed through the admin API.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClientRow {
    pub id: String,
    #[serde(default)]
    pub name: String,
    /// International format without separators, e.g. `+79211022546`.
    #[serde(default)]
    pub phone: Option<String>,
    #[serde(default)]
    pub email: Option<String>,
    /// A blocked client is answered with code 4 (LOY-11).
    #[serde(default)]
    pub blocked: bool,
    /// Phone prechecks carry a validation code (LOY-69).
    #[serde(default)]
    pub requires_validation: bool,
    #[serde(default)]
    pub cards: Vec<String>,
}

/// A client with its account and the version the account had when read.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ClientState {
    #[serde(flatten)]
    pub client: ClientRow,
    pub account: Account,
    pub version: i64,
}

/// A settled (or pending) document: the idempotency record of a confirm (LOY-78, LOY-80).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct DocRow {
    pub uid: String,
    /// `receipt` or `refundReceipt`.
    pub doc_type: String,
    pub client_id: Option<String>,
    pub fingerprint: String,
    /// `confirmed`, or `pending` for a refund whose sale is not known yet (LOY-73).
    pub state: String,
    pub reference_uid: Option<String>,
    /// The response body sent, returned again on a replay.
    pub response: String,
    /// Engine data as JSON: the sale record, or the positions of a pending refund.
    pub data: String,
    pub flagged: bool,
    pub created_at_ms: i64,
}

/// A reservation made by payByBonus (LOY-81 – LOY-84).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct HoldRow {
    pub id: i64,
    pub uid: String,
    pub client_id: String,
    pub amount: Money,
    pub fingerprint: String,
    pub response: String,
    /// `active`, `cancelled`, `captured`, `released`.
    pub state: String,
    pub created_at_ms: i64,
}

/// A reservation to create.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewHold {
    pub uid: String,
    pub client_id: String,
    pub amount: Money,
    pub fingerprint: String,
    pub response: String,
}

/// A reservation state change; fails the commit (conflict) when the state is not `from`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HoldChange {
    pub id: i64,
    pub from: String,
    pub to: String,
}

/// A document write: insert (conflict when it exists) or replace (conflict when the stored
/// row no longer has the `expect_state` / `expect_data` it was decided on).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DocWrite {
    pub row: DocRow,
    pub insert: bool,
    pub expect_state: Option<String>,
    pub expect_data: Option<String>,
}

impl DocWrite {
    pub fn insert(row: DocRow) -> Self {
        Self { row, insert: true, expect_state: None, expect_data: None }
    }

    /// Replaces `old` with `row`, provided `old` is still what is stored.
    pub fn replace(old: &DocRow, row: DocRow) -> Self {
        Self { row, insert: false, expect_state: Some(old.state.clone()), expect_data: Some(old.data.clone()) }
    }
}

/// A phone validation code (LOY-69), reused within its validity.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ValidationCode {
    pub uid: String,
    pub phone: String,
    pub code: String,
    pub expires_at_ms: i64,
}

/// One stored request and its response (LOY-56).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct AuditRecord {
    pub id: i64,
    pub received_at_ms: i64,
    pub path: String,
    pub action: Option<String>,
    pub uid: Option<String>,
    /// The raw request body (lossy UTF-8).
    pub request: String,
    pub code: i64,
    pub response: String,
    /// Needs manual processing (error answers, LOY-56; conflicts and late debits, LOY-80/83).
    pub flagged: bool,
    pub note: String,
}

/// Everything one request is decided on, read in one call.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SnapshotQuery {
    pub client: Option<ClientKey>,
    pub uid: Option<String>,
    pub doc_type: Option<String>,
    /// For refunds: the sale document and the other refunds of it.
    pub reference_uid: Option<String>,
    /// For a sale confirm: refunds waiting for it (LOY-73).
    pub pending_refunds_of: Option<String>,
    /// For a phone precheck: the validation code of (uid, phone) still valid at `now_ms`.
    pub code_for: Option<(String, String)>,
    pub now_ms: i64,
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Snapshot {
    pub rules: Vec<LoyaltyRule>,
    pub client: Option<ClientState>,
    /// The document (`uid`, `doc_type`).
    pub doc: Option<DocRow>,
    /// Reservations of `uid`, oldest first.
    pub holds: Vec<HoldRow>,
    /// The sale `reference_uid` (type `receipt`).
    pub sale: Option<DocRow>,
    /// Pending refunds referencing `pending_refunds_of`.
    pub pending_refunds: Vec<DocRow>,
    pub code: Option<ValidationCode>,
}

/// The outcome of one request, written as one transaction.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Commit {
    pub audit: Option<AuditRecord>,
    /// (client id, version read): the commit fails with a conflict if any changed.
    pub versions: Vec<(String, i64)>,
    pub entries: Vec<Entry>,
    pub docs: Vec<DocWrite>,
    pub new_holds: Vec<NewHold>,
    pub hold_changes: Vec<HoldChange>,
    pub code: Option<ValidationCode>,
    /// Documents (uid, type) that must not exist (a refund waiting for its sale).
    pub expect_absent: Vec<(String, String)>,
    /// (sale uid, n): exactly n pending refunds reference the sale (the ones reconciled).
    pub expect_pending_refunds: Option<(String, i64)>,
}

/// A stored ledger entry.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct EntryRow {
    pub seq: i64,
    pub client_id: String,
    pub kind: EntryKind,
    pub amount: Money,
    pub balance_delta: Money,
    pub held_delta: Money,
    pub available_at_ms: i64,
    pub doc_uid: Option<String>,
    pub note: String,
    pub created_at_ms: i64,
}

/// Which audit records to list.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AuditFilter {
    pub flagged_only: bool,
    pub uid: Option<String>,
    /// Records with an id below this one (paging backwards from the newest).
    pub before_id: Option<i64>,
    pub limit: u32,
}

/// Implemented by every backend; part of [`crate::Store`].
#[async_trait]
pub trait LoyaltyStore: Send + Sync {
    /// Tenants taking part in loyalty, with their access keys (LOY-16).
    async fn loyalty_tenants(&self) -> StoreResult<Vec<LoyaltyTenant>>;

    /// The active rules and the state `q` names, as of one read.
    async fn loyalty_snapshot(&self, tenant: &str, q: &SnapshotQuery) -> StoreResult<Snapshot>;

    /// Writes `c` in one transaction; returns the audit record's id (0 without one).
    /// [`StoreError::Conflict`] when a version changed, a hold is not in its `from` state, or an
    /// inserted document exists.
    async fn loyalty_commit(&self, tenant: &str, c: &Commit, now_ms: i64) -> StoreResult<i64>;

    /// Creates or replaces a client and its cards; returns whether it was created. A card or
    /// phone of another client of the tenant is a conflict.
    async fn loyalty_put_client(&self, tenant: &str, client: &ClientRow, now_ms: i64) -> StoreResult<bool>;

    /// One client with its account.
    async fn loyalty_client(&self, tenant: &str, id: &str, now_ms: i64) -> StoreResult<Option<ClientState>>;

    /// Clients ordered by id, after `after_id`, at most `limit`.
    async fn loyalty_clients(&self, tenant: &str, after_id: Option<&str>, limit: u32, now_ms: i64) -> StoreResult<Vec<ClientState>>;

    /// Ledger entries of one client (or of all), newest first, below `before_seq`.
    async fn loyalty_entries(&self, tenant: &str, client_id: Option<&str>, before_seq: Option<i64>, limit: u32) -> StoreResult<Vec<EntryRow>>;

    /// Audit records, newest first.
    async fn loyalty_audit(&self, tenant: &str, f: &AuditFilter) -> StoreResult<Vec<AuditRecord>>;

    async fn loyalty_audit_record(&self, tenant: &str, id: i64) -> StoreResult<Option<AuditRecord>>;

    /// Documents of the tenant, newest first (admin history).
    async fn loyalty_documents(&self, tenant: &str, limit: u32) -> StoreResult<Vec<DocRow>>;

    /// Active reservations created before `before_ms`, oldest first, with their tenants (LOY-84).
    async fn loyalty_stale_holds(&self, before_ms: i64, limit: u32) -> StoreResult<Vec<(String, HoldRow)>>;

    /// Ledger invariants that do not hold: per client, balance ≠ Σ entries' balance effects,
    /// held ≠ Σ held effects, or held ≠ Σ active reservations. Empty when all balance.
    async fn loyalty_check_ledger(&self, tenant: &str) -> StoreResult<Vec<String>>;
}
