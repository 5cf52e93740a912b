//! PostgreSQL backend of the Kassa store (for several nodes sharing one database).
//!
//! Owns the PostgreSQL schema (`migrations/`), the connection pool and its session settings, and
//! the [`Store`] implementation. Durability: every pooled connection runs with
//! `synchronous_commit=on`, set explicitly when the connection is created, so a committed
//! transaction is flushed to the server's WAL before the caller hears `Ok`, whatever the server's
//! own default says.
//!
//! Concurrency: PostgreSQL has many writers, so each call takes a connection from the pool and
//! runs as one transaction. Calls that must not interleave take a transaction-scoped advisory
//! lock first: the migration step (one fixed key, so nodes starting together apply migrations
//! once) and `apply_tenant` (one key per tenant, so concurrent applies of a tenant serialise).
//!
//! May depend on `kassa-store`, `kassa-domain`, tokio-postgres, deadpool-postgres and tokio.

mod atol;
mod events;
mod fiscal;
mod loyalty;
mod provisioning;

use async_trait::async_trait;
use deadpool_postgres::{Hook, HookError, Manager, ManagerConfig, Pool, PoolError, RecyclingMethod, Runtime};
use kassa_domain::provisioning::TenantSpec;
use kassa_store::migrate::{Migration, pending};
use kassa_store::{
    ApplyReport, Backend, Credential, Face, Store, StoreError, StoreResult, TenantSummary, TenantView,
};
use std::time::Duration;
use tokio_postgres::config::SslMode;
use tokio_postgres::error::SqlState;
use tokio_postgres::{Config, NoTls};

pub const MIGRATIONS: &[Migration] = &[
    Migration { version: 1, name: "provisioning", sql: include_str!("../migrations/0001_provisioning.sql") },
    Migration { version: 2, name: "fiscal", sql: include_str!("../migrations/0002_fiscal.sql") },
    Migration { version: 3, name: "atol", sql: include_str!("../migrations/0003_atol.sql") },
    Migration { version: 4, name: "loyalty", sql: include_str!("../migrations/0004_loyalty.sql") },
    Migration { version: 5, name: "events", sql: include_str!("../migrations/0005_events.sql") },
];

/// Most connections one node holds to the database.
const MAX_CONNECTIONS: usize = 16;
/// How long establishing one connection may take when the URL does not say.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// How long a call waits for a free pooled connection before it fails as unavailable.
const WAIT_TIMEOUT: Duration = Duration::from_secs(30);
/// Advisory lock key of the migration step ("KASSAMIG"). It lies outside the 32-bit range of
/// `hashtext`, so it never collides with a tenant lock.
const MIGRATION_LOCK: i64 = 0x4b41_5353_414d_4947;

/// Sets on each new connection: durable commits. Keeps `remote_apply` when the server asks for
/// it (it is stronger); anything weaker (`off`, `local`, `remote_write`) becomes `on`.
const SESSION_SETUP: &str = "SELECT set_config('synchronous_commit',
    CASE WHEN current_setting('synchronous_commit') = 'remote_apply' THEN 'remote_apply' ELSE 'on' END, false)";

/// The PostgreSQL store. Cheap to clone.
#[derive(Clone)]
pub struct PgStore {
    pool: Pool,
    /// Where the pool connects, for messages: `host:port/database as user`, never the password.
    target: String,
}

pub(crate) fn db_err(e: tokio_postgres::Error) -> StoreError {
    let Some(db) = e.as_db_error() else {
        // No answer from the server: I/O, closed connection, timeout, TLS, ...
        return StoreError::Unavailable(with_causes(&e));
    };
    let mut msg = db.message().to_owned();
    if let Some(detail) = db.detail() {
        msg = format!("{msg} ({detail})");
    }
    let code = db.code();
    if code.code().starts_with("23") {
        // Integrity constraint violations: unique (23505), foreign key, not null, check.
        StoreError::Conflict(msg)
    } else if *code == SqlState::DATA_CORRUPTED || *code == SqlState::INDEX_CORRUPTED {
        StoreError::Corrupt(msg)
    } else {
        StoreError::Unavailable(msg)
    }
}

/// The error and its causes: tokio-postgres puts the useful part ("Connection refused") in the
/// source, not in the message.
fn with_causes(e: &dyn std::error::Error) -> String {
    let mut msg = e.to_string();
    let mut cause = e.source();
    while let Some(c) = cause {
        msg = format!("{msg}: {c}");
        cause = c.source();
    }
    msg
}

fn describe(config: &Config) -> String {
    use tokio_postgres::config::Host;
    let hosts: Vec<String> = config
        .get_hosts()
        .iter()
        .enumerate()
        .map(|(i, h)| {
            let host = match h {
                Host::Tcp(name) => name.clone(),
                #[cfg(unix)]
                Host::Unix(dir) => dir.display().to_string(),
            };
            let port = config.get_ports().get(i).or(config.get_ports().first()).copied().unwrap_or(5432);
            format!("{host}:{port}")
        })
        .collect();
    let user = config.get_user().unwrap_or("(default user)");
    format!("{}/{} as user '{user}'", hosts.join(","), config.get_dbname().unwrap_or(user))
}

async fn migrate(pool: &Pool) -> StoreResult<()> {
    let mut client = pool.get().await.map_err(pool_err)?;
    let tx = client.transaction().await.map_err(db_err)?;
    tx.execute("SELECT pg_advisory_xact_lock($1)", &[&MIGRATION_LOCK]).await.map_err(db_err)?;
    tx.batch_execute(
        "CREATE TABLE IF NOT EXISTS kassa_migrations (
            version BIGINT PRIMARY KEY, name TEXT NOT NULL, checksum TEXT NOT NULL, applied_at BIGINT NOT NULL)",
    )
    .await
    .map_err(db_err)?;
    let applied: Vec<(i64, String)> = tx
        .query("SELECT version, checksum FROM kassa_migrations ORDER BY version", &[])
        .await
        .map_err(db_err)?
        .iter()
        .map(|r| (r.get(0), r.get(1)))
        .collect();
    for m in pending(MIGRATIONS, &applied).map_err(StoreError::Corrupt)? {
        tx.batch_execute(m.sql).await.map_err(db_err)?;
        tx.execute(
            "INSERT INTO kassa_migrations (version, name, checksum, applied_at)
             VALUES ($1, $2, $3, (extract(epoch FROM clock_timestamp()) * 1000)::bigint)",
            &[&m.version, &m.name, &m.checksum()],
        )
        .await
        .map_err(db_err)?;
        tracing::info!(version = m.version, name = m.name, "applying PostgreSQL migration");
    }
    tx.commit().await.map_err(db_err)
}

fn pool_err(e: PoolError) -> StoreError {
    match e {
        PoolError::Backend(e) => db_err(e),
        PoolError::Closed => closed(),
        PoolError::PostCreateHook(HookError::Backend(e)) => db_err(e),
        other => StoreError::Unavailable(other.to_string()),
    }
}

fn closed() -> StoreError {
    StoreError::Unavailable("the store is closed".into())
}

impl std::fmt::Debug for PgStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PgStore").field("target", &self.target).finish_non_exhaustive()
    }
}

impl PgStore {
    /// Connects to the database at `url` (`postgres://user[:password]@host[:port]/database`),
    /// checks that it answers and brings its schema up to date.
    ///
    /// Connections are plain TCP or Unix sockets (`NoTls`); TLS to the database is a later
    /// addition, so a URL with `sslmode=require` is refused.
    pub async fn connect(url: &str) -> StoreResult<Self> {
        if !(url.starts_with("postgres://") || url.starts_with("postgresql://")) {
            return Err(StoreError::Unavailable(
                "the PostgreSQL store needs a URL of the form postgres://user@host:5432/database".into(),
            ));
        }
        let mut config: Config = url.parse().map_err(|e: tokio_postgres::Error| {
            StoreError::Unavailable(format!("the PostgreSQL URL is not valid: {}", with_causes(&e)))
        })?;
        if config.get_ssl_mode() == SslMode::Require {
            return Err(StoreError::Unavailable(
                "the PostgreSQL URL asks for sslmode=require, but TLS to the database is not supported yet".into(),
            ));
        }
        if config.get_connect_timeout().is_none() {
            config.connect_timeout(CONNECT_TIMEOUT);
        }
        let target = describe(&config);
        // `Fast` recycling keeps session settings; `Clean` would run DISCARD ALL and drop them.
        let manager =
            Manager::from_config(config, NoTls, ManagerConfig { recycling_method: RecyclingMethod::Fast });
        let pool = Pool::builder(manager)
            .max_size(MAX_CONNECTIONS)
            .runtime(Runtime::Tokio1)
            .wait_timeout(Some(WAIT_TIMEOUT))
            .post_create(Hook::async_fn(|client, _| {
                Box::pin(async move { client.batch_execute(SESSION_SETUP).await.map_err(HookError::Backend) })
            }))
            .build()
            .map_err(|e| StoreError::Unavailable(format!("cannot build the PostgreSQL pool: {e}")))?;
        let store = Self { pool, target };
        let at_target = |e: StoreError| match e {
            StoreError::Corrupt(m) => StoreError::Corrupt(format!("PostgreSQL at {}: {m}", store.target)),
            StoreError::Unavailable(m) | StoreError::Conflict(m) | StoreError::NotFound(m) => {
                StoreError::Unavailable(format!("cannot use PostgreSQL at {}: {m}", store.target))
            }
        };
        store.ping().await.map_err(at_target)?;
        migrate(&store.pool).await.map_err(at_target)?;
        tracing::info!(database = %store.target, "PostgreSQL store ready");
        Ok(store)
    }

    /// Where this store connects: `host:port/database as user 'name'` (no password).
    pub fn target(&self) -> &str {
        &self.target
    }

    async fn client(&self) -> StoreResult<deadpool_postgres::Object> {
        self.pool.get().await.map_err(pool_err)
    }
}

#[async_trait]
impl Store for PgStore {
    fn backend(&self) -> Backend {
        Backend::Postgres
    }

    async fn ping(&self) -> StoreResult<()> {
        self.client().await?.simple_query("SELECT 1").await.map_err(db_err)?;
        Ok(())
    }

    async fn close(&self) {
        self.pool.close();
    }

    async fn apply_tenant(&self, spec: &TenantSpec, now_ms: i64) -> StoreResult<ApplyReport> {
        let mut client = self.client().await?;
        let tx = client.transaction().await.map_err(db_err)?;
        let report = provisioning::apply_tenant(&tx, spec, now_ms).await?;
        tx.commit().await.map_err(db_err)?;
        Ok(report)
    }

    async fn tenant(&self, id: &str) -> StoreResult<Option<TenantView>> {
        let mut client = self.client().await?;
        // One snapshot for all the tables read.
        let tx = client
            .build_transaction()
            .isolation_level(tokio_postgres::IsolationLevel::RepeatableRead)
            .read_only(true)
            .start()
            .await
            .map_err(db_err)?;
        let view = provisioning::tenant(&tx, id).await?;
        tx.commit().await.map_err(db_err)?;
        Ok(view)
    }

    async fn tenants(&self) -> StoreResult<Vec<TenantSummary>> {
        provisioning::tenants(&self.client().await?).await
    }

    async fn credential(&self, face: Face, lookup: &str) -> StoreResult<Option<Credential>> {
        provisioning::credential(&self.client().await?, face, lookup).await
    }
}

#[cfg(test)]
mod tests {
    //! PostgreSQL-specific checks (the shared behaviour is in `tests/conformance.rs`). They run
    //! when `KASSA_TEST_PG_URL` is set, each in a fresh database.

    use super::*;

    struct TestDb {
        admin: tokio_postgres::Client,
        name: String,
        url: String,
    }

    impl TestDb {
        async fn create() -> Option<Self> {
            let admin_url = std::env::var("KASSA_TEST_PG_URL").ok().filter(|u| !u.is_empty())?;
            let (admin, conn) = tokio_postgres::connect(&admin_url, NoTls).await.expect("connect");
            tokio::spawn(conn);
            let name = format!("kassa_t_{}", uuid::Uuid::new_v4().simple());
            admin.batch_execute(&format!("CREATE DATABASE {name}")).await.expect("create database");
            // Same server, the new database: replace the URL's path, keep its `?query`.
            let (base, query) = admin_url.split_once('?').unwrap_or((&admin_url, ""));
            let authority = base.find("://").map_or(0, |i| i + 3);
            let server = base[authority..].find('/').map_or(base, |slash| &base[..authority + slash]);
            let url = format!("{server}/{name}?{query}");
            Some(Self { admin, name, url })
        }

        async fn drop(self) {
            self.admin.batch_execute(&format!("DROP DATABASE {} WITH (FORCE)", self.name)).await.expect("drop");
        }
    }

    #[tokio::test]
    async fn synchronous_commit_is_forced_on() {
        let Some(db) = TestDb::create().await else { return eprintln!("SKIPPED: KASSA_TEST_PG_URL not set") };
        db.admin.batch_execute(&format!("ALTER DATABASE {} SET synchronous_commit = off", db.name)).await.unwrap();
        let store = PgStore::connect(&db.url).await.unwrap();
        for _ in 0..3 {
            let c = store.client().await.unwrap();
            let row = c.query_one("SHOW synchronous_commit", &[]).await.unwrap();
            assert_eq!(row.get::<_, String>(0), "on");
        }
        store.close().await;
        db.drop().await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn nodes_starting_together_migrate_once() {
        let Some(db) = TestDb::create().await else { return eprintln!("SKIPPED: KASSA_TEST_PG_URL not set") };
        let nodes: Vec<_> = (0..4)
            .map(|_| {
                let url = db.url.clone();
                tokio::spawn(async move { PgStore::connect(&url).await })
            })
            .collect();
        for node in nodes {
            node.await.unwrap().expect("every node starts").close().await;
        }
        let store = PgStore::connect(&db.url).await.unwrap();
        let c = store.client().await.unwrap();
        let n: i64 = c.query_one("SELECT count(*) FROM kassa_migrations", &[]).await.unwrap().get(0);
        assert_eq!(n, MIGRATIONS.len() as i64);
        // A migration edited after it was applied stops the store.
        c.batch_execute("UPDATE kassa_migrations SET checksum = 'edited' WHERE version = 1").await.unwrap();
        drop(c);
        store.close().await;
        assert!(matches!(PgStore::connect(&db.url).await, Err(StoreError::Corrupt(_))));
        db.drop().await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn concurrent_claims_have_one_winner() {
        use kassa_store_testkit::full_tenant;
        let Some(db) = TestDb::create().await else { return eprintln!("SKIPPED: KASSA_TEST_PG_URL not set") };
        let store = PgStore::connect(&db.url).await.unwrap();
        for round in 0..10 {
            // Two tenants claim the same register at once (logins and organizations are covered by
            // unique indexes; a register's owner is checked by the apply itself).
            let claims: Vec<_> = ["x", "y"]
                .into_iter()
                .map(|who| {
                    let mut spec = full_tenant(&format!("{who}{round}"));
                    spec.registers[0].id = format!("shared-{round}");
                    let store = store.clone();
                    tokio::spawn(async move { store.apply_tenant(&spec, 1_000).await })
                })
                .collect();
            let mut results = Vec::new();
            for claim in claims {
                results.push(claim.await.unwrap());
            }
            assert_eq!(results.iter().filter(|r| r.is_ok()).count(), 1, "{results:?}");
            assert!(results.iter().any(|r| matches!(r, Err(StoreError::Conflict(_)))), "{results:?}");
            let winner = if results[0].is_ok() { "x" } else { "y" };
            let v = store.tenant(&format!("{winner}{round}")).await.unwrap().unwrap();
            assert!(v.registers.iter().any(|r| r.id == format!("shared-{round}") && r.active));
        }
        store.close().await;
        db.drop().await;
    }

    #[tokio::test]
    async fn connect_errors_say_where_but_not_the_password() {
        let err = PgStore::connect("postgres://kassa:hunter2@127.0.0.1:1/kassa").await.unwrap_err();
        let StoreError::Unavailable(msg) = err else { panic!("expected unavailable, got {err:?}") };
        assert!(msg.contains("127.0.0.1:1/kassa"), "{msg}");
        assert!(!msg.contains("hunter2"), "{msg}");
        assert!(matches!(PgStore::connect("sqlite:kassa.db").await, Err(StoreError::Unavailable(_))));
    }
}
