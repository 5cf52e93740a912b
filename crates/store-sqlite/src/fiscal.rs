//! Fiscal registers tables (FiscalStore).

use crate::SqliteStore;
use async_trait::async_trait;
use kassa_store::fiscal::FiscalStore;

#[async_trait]
impl FiscalStore for SqliteStore {}
