//! The store conformance suite against PostgreSQL, each case in a fresh database.
//!
//! Runs when `KASSA_TEST_PG_URL` names a server where the user may create databases, e.g.
//! `postgres://postgres@127.0.0.1:5432/test`; otherwise every case prints `SKIPPED`.

use async_trait::async_trait;
use kassa_store::Store;
use kassa_store_testkit::Harness;
use kassa_store_pg::PgStore;
use std::sync::Arc;

struct Pg {
    /// The URL from the environment: where databases are created and dropped.
    admin_url: String,
    /// The same server, pointing at this case's database.
    url: String,
    db: String,
}

#[async_trait]
impl Harness for Pg {
    async fn open(&self) -> Arc<dyn Store> {
        Arc::new(PgStore::connect(&self.url).await.expect("open PostgreSQL store"))
    }
}

/// Drops the database (best effort) from a thread with its own runtime, since `drop` cannot
/// await. `WITH (FORCE)` ends connections a store left open (PostgreSQL 13+).
impl Drop for Pg {
    fn drop(&mut self) {
        let (admin_url, db) = (self.admin_url.clone(), self.db.clone());
        let cleanup = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
            rt.block_on(async {
                let admin = admin(&admin_url).await;
                admin.batch_execute(&format!("DROP DATABASE IF EXISTS {db} WITH (FORCE)")).await
            })
        });
        match cleanup.join() {
            Ok(Ok(())) => {}
            Ok(Err(e)) => eprintln!("could not drop test database {}: {e}", self.db),
            Err(_) => eprintln!("could not drop test database {}: cleanup panicked", self.db),
        }
    }
}

async fn admin(url: &str) -> tokio_postgres::Client {
    let (client, conn) = tokio_postgres::connect(url, tokio_postgres::NoTls).await.expect("connect to KASSA_TEST_PG_URL");
    tokio::spawn(async move {
        let _ = conn.await;
    });
    client
}

/// `url` with its database (the path) replaced by `db`, keeping any `?query`.
fn with_database(url: &str, db: &str) -> String {
    let (base, query) = url.split_once('?').unwrap_or((url, ""));
    let authority = base.find("://").map_or(0, |i| i + 3);
    let server = base[authority..].find('/').map_or(base, |slash| &base[..authority + slash]);
    format!("{server}/{db}?{query}")
}

async fn fresh() -> Option<Pg> {
    let admin_url = std::env::var("KASSA_TEST_PG_URL").ok().filter(|u| !u.is_empty())?;
    let db = format!("kassa_t_{}", uuid::Uuid::new_v4().simple());
    admin(&admin_url).await.batch_execute(&format!("CREATE DATABASE {db}")).await.expect("create test database");
    let url = with_database(&admin_url, &db);
    Some(Pg { admin_url, url, db })
}

kassa_store_testkit::conformance_suite!(fresh());
kassa_store_testkit::fiscal_suite!(fresh());
kassa_store_testkit::atol_suite!(fresh());
kassa_store_testkit::loyalty_suite!(fresh());
kassa_store_testkit::events_suite!(fresh());
