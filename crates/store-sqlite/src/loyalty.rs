//! Frontol loyalty tables (LoyaltyStore).

use crate::SqliteStore;
use async_trait::async_trait;
use kassa_store::loyalty::LoyaltyStore;

#[async_trait]
impl LoyaltyStore for SqliteStore {}
