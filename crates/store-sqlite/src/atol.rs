//! ATOL Online v3 tables (AtolStore).

use crate::SqliteStore;
use async_trait::async_trait;
use kassa_store::atol::AtolStore;

#[async_trait]
impl AtolStore for SqliteStore {}
