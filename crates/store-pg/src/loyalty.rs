//! Frontol loyalty tables (LoyaltyStore).

use crate::PgStore;
use async_trait::async_trait;
use kassa_store::loyalty::LoyaltyStore;

#[async_trait]
impl LoyaltyStore for PgStore {}
