//! Frontol event collector tables (EventStore).

use crate::SqliteStore;
use async_trait::async_trait;
use kassa_store::events::EventStore;

#[async_trait]
impl EventStore for SqliteStore {}
