//! The Kassa server: wiring and the command line.
//!
//! Owns [`Application`] (build from a [`config::Config`]: open the store, apply the provisioned
//! tenants, bind the listeners; then serve until shut down), the configuration, telemetry and
//! the `kassa bench` load generator. It is the only crate that names concrete adapters: SQLite
//! or PostgreSQL is chosen here from the configuration.

pub mod bench;
pub mod bench_atol;
pub mod bench_fiscal;
pub mod bench_events;
pub mod config;
pub mod notify;
pub mod telemetry;

use anyhow::Context;
use config::{Config, ServerConfig};
use kassa_api::{ApiState, metrics::HttpMetrics};
use kassa_core::{Clock, Core, IdGen, RandomIds, SystemClock};
use kassa_store::Store;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

/// Name of the SQLite database file inside the data folder.
pub const DB_FILE: &str = "kassa.db";
const LOCK_FILE: &str = "kassa.lock";

/// A built server, listening, not yet serving.
pub struct Application {
    listener: TcpListener,
    metrics_listener: Option<TcpListener>,
    state: ApiState,
    metrics: Option<HttpMetrics>,
    shutdown: CancellationToken,
    demo: bool,
    /// Start the ATOL queue-timeout and callback workers.
    atol_workers: bool,
    /// The fiscal registers ATOL documents are dispatched to; `None` means the fiscal engine
    /// (`kassa_core::atol::EngineRegisters`), which is what `kassa serve` runs.
    atol_registers: Option<Arc<dyn kassa_core::atol::AtolRegisters>>,
    fiscal: config::FiscalConfig,
    /// Held while the server runs: a second server on the same data folder is refused.
    _data_lock: Option<std::fs::File>,
}

/// Takes an exclusive lock on the data folder, so two servers never share one SQLite file.
fn lock_data_dir(dir: &Path) -> anyhow::Result<std::fs::File> {
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create data folder {}", dir.display()))?;
    let path = dir.join(LOCK_FILE);
    let file = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .with_context(|| format!("cannot open {}", path.display()))?;
    file.try_lock().map_err(|_| {
        anyhow::anyhow!("data folder {} is in use by another kassa process (lock {})", dir.display(), path.display())
    })?;
    Ok(file)
}

/// Opens the store the configuration names: PostgreSQL when a URL is given, else the embedded
/// SQLite file in the data folder.
pub async fn open_store(s: &ServerConfig) -> anyhow::Result<(Arc<dyn Store>, Option<std::fs::File>)> {
    match &s.database_url {
        Some(url) => {
            let store = kassa_store_pg::PgStore::connect(url).await?;
            Ok((Arc::new(store), None))
        }
        None => {
            let lock = lock_data_dir(&s.data_dir)?;
            let path = s.data_dir.join(DB_FILE);
            let store = tokio::task::spawn_blocking(move || kassa_store_sqlite::SqliteStore::open(&path)).await??;
            Ok((Arc::new(store), Some(lock)))
        }
    }
}

/// `kassa journal verify`: opens the configured store (SQLite without taking the data-folder lock,
/// so a running server's journal can be checked too; WAL readers do not disturb it) and verifies
/// every register's journal.
pub async fn verify_journal(s: &ServerConfig) -> anyhow::Result<kassa_core::fiscal::VerifyReport> {
    let store: Arc<dyn Store> = match &s.database_url {
        Some(url) => Arc::new(kassa_store_pg::PgStore::connect(url).await?),
        None => {
            let path = s.data_dir.join(DB_FILE);
            anyhow::ensure!(path.exists(), "no database at {}", path.display());
            Arc::new(tokio::task::spawn_blocking(move || kassa_store_sqlite::SqliteStore::open(&path)).await??)
        }
    };
    let core = Core::new(store.clone(), Arc::new(SystemClock));
    let report = core.fiscal().verify().await;
    store.close().await;
    Ok(report?)
}

fn random_token() -> String {
    use rand::distr::{Alphanumeric, SampleString};
    Alphanumeric.sample_string(&mut rand::rng(), 32)
}

impl Application {
    pub async fn build(config: Config) -> anyhow::Result<Self> {
        Self::build_with(config, Arc::new(SystemClock), Arc::new(RandomIds)).await
    }

    /// As [`Application::build`], with the clock and id ports given (tests fix them).
    pub async fn build_with(config: Config, clock: Arc<dyn Clock>, ids: Arc<dyn IdGen>) -> anyhow::Result<Self> {
        let s = &config.server;
        let (store, data_lock) = open_store(s).await?;
        let simulator = Arc::new(kassa_core::fiscal::ofd::OfdSimulator::new(
            config.fiscal.ofd_mode()?,
            Some(Arc::new(|ms| Box::pin(tokio::time::sleep(std::time::Duration::from_millis(ms))))),
        ));
        let core = Core::new(store, clock)
            .with_ids(ids)
            .with_atol(config.atol.settings())
            .with_fiscal(kassa_core::fiscal::FiscalRuntime::with_simulator(config.fiscal.policy(), simulator).with_kz(config.fiscal.kz()))
            .with_loyalty(loyalty_settings(&config.loyalty));
        let provisioning = core.provisioning();
        provisioning.apply_all(&config.tenants).await.context("cannot apply the configured tenants")?;
        if s.demo {
            provisioning.apply(&kassa_core::demo::tenant()).await.context("cannot provision the demo tenant")?;
            core.loyalty().seed_demo().await.context("cannot provision the demo loyalty client")?;
        }
        let admin_token: Arc<str> = match &s.admin_token {
            Some(t) => t.as_str().into(),
            None => {
                let t = random_token();
                tracing::warn!(admin_token = %t, "no admin_token configured: generated one for this run");
                t.into()
            }
        };
        let listener =
            TcpListener::bind(s.listen).await.with_context(|| format!("cannot listen on {}", s.listen))?;
        let (metrics_listener, metrics) = match s.metrics_listen {
            Some(addr) => (
                Some(TcpListener::bind(addr).await.with_context(|| format!("cannot listen on {addr} for metrics"))?),
                Some(HttpMetrics::new()),
            ),
            None => (None, None),
        };
        Ok(Self {
            listener,
            metrics_listener,
            state: ApiState { core, admin_token, events: Default::default(), events_prefix: config.events.prefix.as_deref().map(Into::into) },
            metrics,
            shutdown: CancellationToken::new(),
            demo: s.demo,
            atol_workers: config.atol.workers,
            atol_registers: None,
            fiscal: config.fiscal.clone(),
            _data_lock: data_lock,
        })
    }

    /// Dispatches ATOL documents to these registers (the fiscal engine implements the port).
    pub fn with_atol_registers(mut self, registers: Arc<dyn kassa_core::atol::AtolRegisters>) -> Self {
        self.atol_registers = Some(registers);
        self
    }

    pub fn addr(&self) -> SocketAddr {
        self.listener.local_addr().expect("a bound listener has an address")
    }

    pub fn metrics_addr(&self) -> Option<SocketAddr> {
        self.metrics_listener.as_ref().and_then(|l| l.local_addr().ok())
    }

    pub fn core(&self) -> &Core {
        &self.state.core
    }

    pub fn admin_token(&self) -> &str {
        &self.state.admin_token
    }

    /// Cancelling this token stops the server gracefully: in-flight requests finish.
    pub fn shutdown_token(&self) -> CancellationToken {
        self.shutdown.clone()
    }

    /// The text printed at start for `--demo`, or `None`.
    pub fn demo_summary(&self) -> Option<String> {
        self.demo.then(|| kassa_core::demo::summary(&format!("http://{}", self.addr()), &self.state.admin_token))
    }

    /// Serves until the shutdown token is cancelled, then closes the store.
    pub async fn run_until_stopped(self) -> anyhow::Result<()> {
        let store = self.state.core.store.clone();
        let core = self.state.core.clone();
        let mut workers = Vec::new();
        if self.atol_workers {
            use kassa_workers::{Pacing, atol::{AtolCallbacks, AtolTimeouts}, spawn};
            workers.push(spawn(AtolTimeouts { core: core.clone() }, Pacing::default(), self.shutdown.clone()));
            workers.push(spawn(AtolCallbacks::new(core.clone()), Pacing::default(), self.shutdown.clone()));
            let regs = match self.atol_registers.clone() {
                Some(r) => r,
                None => Arc::new(kassa_core::atol::EngineRegisters::new(core.clone())),
            };
            let dispatcher = kassa_workers::atol::AtolDispatcher::new(core.clone(), regs);
            let pacing = Pacing { idle: std::time::Duration::from_millis(20), ..Pacing::default() };
            workers.push(spawn(dispatcher, pacing, self.shutdown.clone()));
        }
        let router = kassa_api::router(self.state, self.metrics.clone());
        let stop = self.shutdown.clone();
        let metrics_task = match (self.metrics_listener, self.metrics) {
            (Some(l), Some(m)) => {
                let stop = stop.clone();
                Some(tokio::spawn(async move {
                    axum::serve(l, m.router()).with_graceful_shutdown(stop.cancelled_owned()).await
                }))
            }
            _ => None,
        };
        if self.fiscal.uplink {
            let pacing = kassa_workers::Pacing {
                idle: std::time::Duration::from_millis(self.fiscal.uplink_idle_ms),
                ..Default::default()
            };
            workers.push(kassa_workers::spawn(kassa_workers::fiscal::OfdUplink::new(core.clone()), pacing, stop.clone()));
        }
        workers.push(kassa_workers::spawn(
            kassa_workers::loyalty::HoldExpiry { core },
            kassa_workers::Pacing { idle: std::time::Duration::from_secs(60), ..Default::default() },
            stop.clone(),
        ));
        let served = axum::serve(self.listener, router).with_graceful_shutdown(stop.clone().cancelled_owned()).await;
        stop.cancel();
        if let Some(t) = metrics_task {
            t.await.context("metrics listener task")?.context("metrics listener")?;
        }
        for w in workers {
            let _ = w.await;
        }
        store.close().await;
        served.context("HTTP listener")?;
        tracing::info!("stopped");
        Ok(())
    }
}

/// The loyalty engine's settings from `[loyalty]`.
fn loyalty_settings(c: &config::LoyaltyConfig) -> kassa_core::loyalty::Settings {
    let mut s = kassa_core::loyalty::Settings {
        hold_horizon_ms: i64::from(c.hold_horizon_hours) * 3_600_000,
        ..Default::default()
    };
    if let Some(url) = &c.sms_webhook_url {
        s.notifier = Arc::new(notify::Webhook { url: url.clone() });
    }
    s
}

/// Resolves when SIGTERM or SIGINT arrives.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        if let Err(e) = tokio::signal::ctrl_c().await {
            tracing::error!(error = %e, "cannot listen for SIGINT");
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(e) => {
                tracing::error!(error = %e, "cannot listen for SIGTERM");
                std::future::pending::<()>().await;
            }
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => tracing::info!("SIGINT received, shutting down"),
        _ = term => tracing::info!("SIGTERM received, shutting down"),
    }
}
