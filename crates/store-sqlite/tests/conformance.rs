//! The store conformance suite against SQLite, each case in a fresh database file.

use async_trait::async_trait;
use kassa_store::Store;
use kassa_store_testkit::Harness;
use kassa_store_sqlite::SqliteStore;
use std::sync::Arc;

struct Sqlite {
    dir: tempfile::TempDir,
}

#[async_trait]
impl Harness for Sqlite {
    async fn open(&self) -> Arc<dyn Store> {
        Arc::new(SqliteStore::open(&self.dir.path().join("kassa.db")).expect("open SQLite store"))
    }
}

async fn fresh() -> Option<Sqlite> {
    Some(Sqlite { dir: tempfile::tempdir().expect("temp dir") })
}

kassa_store_testkit::conformance_suite!(fresh());
kassa_store_testkit::fiscal_suite!(fresh());
kassa_store_testkit::atol_suite!(fresh());
kassa_store_testkit::loyalty_suite!(fresh());
kassa_store_testkit::events_suite!(fresh());
