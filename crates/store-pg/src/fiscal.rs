//! Fiscal registers tables (FiscalStore).

use crate::PgStore;
use async_trait::async_trait;
use kassa_store::fiscal::FiscalStore;

#[async_trait]
impl FiscalStore for PgStore {}
