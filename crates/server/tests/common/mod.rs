//! The test harness shared by the server's integration tests.
//!
//! - [`spawn_app`]: a real server on 127.0.0.1:0 with its own temporary data folder (SQLite), or
//!   [`spawn_app_pg`] on a fresh PostgreSQL database when `KASSA_TEST_PG_URL` is set.
//! - [`TestApp::client`]: the typed client (`kassa-client`) with the admin token set.
//! - Workers are not started by tests' own loops: tests step them with `run_once()`.
//! - Logs are silent unless `TEST_LOG` is set.

#![allow(dead_code)]

pub mod process;

use kassa::Application;
use kassa::config::Config;
use kassa_client::Kassa;
use std::sync::Once;
use tokio_util::sync::CancellationToken;

pub const ADMIN_TOKEN: &str = "test-admin-token-0123456789";

pub struct TestApp {
    pub addr: std::net::SocketAddr,
    pub metrics_addr: Option<std::net::SocketAddr>,
    pub client: Kassa,
    pub core: kassa_core::Core,
    pub data_dir: Option<tempfile::TempDir>,
    pub pg: Option<FreshPg>,
    stop: CancellationToken,
    handle: Option<tokio::task::JoinHandle<anyhow::Result<()>>>,
}

impl TestApp {
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    /// Stops the server gracefully and waits until the store is closed.
    pub async fn stop(mut self) {
        self.stop.cancel();
        if let Some(h) = self.handle.take() {
            h.await.expect("server task").expect("server stopped cleanly");
        }
    }
}

fn init_logs() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        if std::env::var_os("TEST_LOG").is_some() {
            let _ = kassa::telemetry::init(kassa::config::LogFormat::Text, "debug");
        }
    });
}

/// A config for tests: port 0, known admin token.
pub fn test_config() -> Config {
    let mut c = Config::default();
    c.server.listen = "127.0.0.1:0".parse().unwrap();
    c.server.admin_token = Some(ADMIN_TOKEN.into());
    c
}

/// Starts a server on `config` with a fresh temporary data folder (SQLite).
pub async fn spawn_app_with(mut config: Config) -> TestApp {
    let dir = tempfile::tempdir().expect("temp dir");
    config.server.data_dir = dir.path().to_owned();
    let mut app = start(config).await;
    app.data_dir = Some(dir);
    app
}

pub async fn spawn_app() -> TestApp {
    spawn_app_with(test_config()).await
}

/// Starts a server on a fresh PostgreSQL database, or `None` when `KASSA_TEST_PG_URL` is unset.
pub async fn spawn_app_pg(mut config: Config) -> Option<TestApp> {
    let pg = FreshPg::create().await?;
    config.server.database_url = Some(pg.url.clone());
    let mut app = start(config).await;
    app.pg = Some(pg);
    Some(app)
}

pub async fn start(config: Config) -> TestApp {
    init_logs();
    let app = Application::build(config).await.expect("application builds");
    let addr = app.addr();
    let metrics_addr = app.metrics_addr();
    let core = app.core().clone();
    let client = Kassa::new(format!("http://{addr}")).with_admin_token(app.admin_token());
    let stop = app.shutdown_token();
    let handle = tokio::spawn(app.run_until_stopped());
    TestApp { addr, metrics_addr, client, core, data_dir: None, pg: None, stop, handle: Some(handle) }
}

/// A fresh PostgreSQL database for one test, dropped when the value is dropped.
pub struct FreshPg {
    pub url: String,
    admin_url: String,
    name: String,
}

pub fn pg_url() -> Option<String> {
    std::env::var("KASSA_TEST_PG_URL").ok().filter(|u| !u.is_empty())
}

impl FreshPg {
    pub async fn create() -> Option<Self> {
        let admin_url = pg_url()?;
        let name = format!("kassa_t_{}", uuid::Uuid::new_v4().simple());
        let (client, conn) = tokio_postgres::connect(&admin_url, tokio_postgres::NoTls).await.expect("connect to KASSA_TEST_PG_URL");
        tokio::spawn(conn);
        client.batch_execute(&format!("CREATE DATABASE {name}")).await.expect("create test database");
        let base = admin_url.rsplit_once('/').map(|(b, _)| b).expect("URL has a database part");
        Some(Self { url: format!("{base}/{name}"), admin_url, name })
    }
}

impl Drop for FreshPg {
    fn drop(&mut self) {
        let (url, name) = (self.admin_url.clone(), self.name.clone());
        // Dropped inside a runtime: do the cleanup on a thread with its own small runtime.
        let _ = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().ok()?;
            rt.block_on(async {
                let (client, conn) = tokio_postgres::connect(&url, tokio_postgres::NoTls).await.ok()?;
                tokio::spawn(conn);
                client.batch_execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)")).await.ok()
            })
        })
        .join();
    }
}

/// Prints why a PostgreSQL test did nothing.
pub fn skip_pg(test: &str) {
    eprintln!("SKIPPED {test}: set KASSA_TEST_PG_URL (e.g. postgres://postgres@127.0.0.1:5432/test) to run it on PostgreSQL");
}
