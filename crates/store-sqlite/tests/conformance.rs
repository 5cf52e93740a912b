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

/// Point reads run on the calling thread while a read connection is free and queue for the
/// pool otherwise: many more concurrent readers than connections all get their answer.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn point_reads_beyond_the_pool_all_answer() {
    use kassa_store::atol::{AtolStore, AtolTokenRow};
    let dir = tempfile::tempdir().expect("temp dir");
    let store = SqliteStore::open(&dir.path().join("kassa.db")).expect("open");
    let row = AtolTokenRow { token: "t".repeat(32), tenant_id: "t1".into(), login: "l".into(), issued_at_ms: 1 };
    store.atol_issue_token(&row).await.expect("issue");
    let reads: Vec<_> = (0..256)
        .map(|_| {
            let (s, t) = (store.clone(), row.token.clone());
            tokio::spawn(async move { s.atol_token(&t).await })
        })
        .collect();
    for r in reads {
        assert_eq!(r.await.expect("task").expect("read"), Some(row.clone()));
    }
    store.close().await;
}
