//! ATOL Online v3 tables (AtolStore).

use crate::PgStore;
use async_trait::async_trait;
use kassa_store::atol::AtolStore;

#[async_trait]
impl AtolStore for PgStore {}
