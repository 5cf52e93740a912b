//! Storage ports of Kassa.
//!
//! Owns the traits every storage backend implements ([`Store`]), the error type the core sees
//! ([`StoreError`]), the read models returned by queries, the migration model shared by the
//! backends ([`migrate`]). The conformance suite every backend must pass is the
//! `kassa-store-testkit` crate.
//!
//! Rules every backend keeps:
//! - a write that returned `Ok` is on disk (SQLite: WAL with `synchronous=FULL`; PostgreSQL:
//!   `synchronous_commit=on`);
//! - each write call is one transaction: all or nothing;
//! - money is stored as integer minor units, never as floating point.
//!
//! May depend on `kassa-domain`; never on a database driver, an HTTP crate or the core.

pub mod atol;
pub mod events;
pub mod fiscal;
pub mod loyalty;
pub mod migrate;
pub mod model;

use async_trait::async_trait;
use kassa_domain::provisioning::TenantSpec;
pub use model::*;

/// Why a store operation failed.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum StoreError {
    #[error("not found: {0}")]
    NotFound(String),
    /// The write would break a uniqueness or ownership rule; the text says which.
    #[error("conflict: {0}")]
    Conflict(String),
    /// The database cannot be reached or cannot write (disk full, connection refused, ...).
    #[error("store unavailable: {0}")]
    Unavailable(String),
    /// Stored data or a migration does not match what this build expects.
    #[error("store corrupt or incompatible: {0}")]
    Corrupt(String),
}

pub type StoreResult<T> = Result<T, StoreError>;

/// Which backend a store runs on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

impl Backend {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Sqlite => "sqlite",
            Self::Postgres => "postgres",
        }
    }
}

/// The port of the whole store. Faces and core services hold it as `Arc<dyn Store>`.
#[async_trait]
pub trait Store:
    fiscal::FiscalStore + atol::AtolStore + loyalty::LoyaltyStore + events::EventStore + Send + Sync + 'static
{
    fn backend(&self) -> Backend;

    /// Succeeds when the database answers a query (`/readyz`).
    async fn ping(&self) -> StoreResult<()>;

    /// Flushes what the backend keeps in memory and closes it; later calls fail.
    async fn close(&self);

    // ---- provisioning ----

    /// Makes the stored state of `spec.id` equal to `spec` in one transaction: upserts every
    /// entry, deactivates entries the spec no longer names (never deletes them: fiscal history
    /// stays), and reports how many rows actually changed (0 when applied twice).
    async fn apply_tenant(&self, spec: &TenantSpec, now_ms: i64) -> StoreResult<ApplyReport>;

    /// One tenant with all its entries, active and inactive.
    async fn tenant(&self, id: &str) -> StoreResult<Option<TenantView>>;

    /// All tenants, ordered by id.
    async fn tenants(&self) -> StoreResult<Vec<TenantSummary>>;

    /// The active credential of `face` whose lookup key is `lookup` (see [`Credential`]).
    async fn credential(&self, face: Face, lookup: &str) -> StoreResult<Option<Credential>>;
}

/// SHA-256 of a secret as lower-case hex: how API keys and passwords are kept (ITK-6).
pub fn secret_hash(secret: &str) -> String {
    use sha2::Digest;
    hex::encode(sha2::Sha256::digest(secret.as_bytes()))
}
