//! Configuration: one TOML file, overridden by `KASSA_*` environment variables, overridden by
//! command-line flags. Unknown keys are errors that name the key.

use anyhow::{Context, bail};
use kassa_domain::provisioning::{TenantSpec, validate_tenants};
use serde::{Deserialize, Serialize};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

/// The complete, commented example printed by `kassa config example`.
pub const EXAMPLE: &str = include_str!("../kassa.example.toml");

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    #[serde(default)]
    pub server: ServerConfig,
    /// The ATOL Online face and its document queue.
    #[serde(default)]
    pub atol: AtolConfig,
    /// Fiscal register engine: shift policy, OFD simulator, uplink.
    #[serde(default)]
    pub fiscal: FiscalConfig,
    /// Tenants applied at start, idempotently.
    #[serde(default, rename = "tenant")]
    pub tenants: Vec<TenantSpec>,
    /// Frontol loyalty engine settings.
    #[serde(default)]
    pub loyalty: LoyaltyConfig,
    /// Frontol event collector settings.
    #[serde(default)]
    pub events: EventsConfig,
}

/// `[events]`: the Frontol event collector.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EventsConfig {
    /// EVT-2: the POS posts to `{its server URL}/events`; besides `/frontol/events` the
    /// collector also answers at `{prefix}/events`, e.g. `prefix = "/pos"` → `/pos/events`.
    #[serde(default)]
    pub prefix: Option<String>,
}

impl EventsConfig {
    fn validate(&self) -> anyhow::Result<()> {
        let Some(p) = &self.prefix else { return Ok(()) };
        let ok_chars = p.chars().all(|c| c.is_ascii_alphanumeric() || "/_.-".contains(c));
        if !p.starts_with('/') || p.ends_with('/') || p.contains("//") || !ok_chars {
            bail!("events.prefix: must be a path like /pos (starts with /, no trailing /, only A-Z a-z 0-9 / _ . -)");
        }
        if p == "/api" || p.starts_with("/api/") {
            bail!("events.prefix: /api is the admin API");
        }
        Ok(())
    }
}

/// `[loyalty]`: the engine's server-wide settings (the per-tenant key and rules are in `[[tenant]]`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LoyaltyConfig {
    /// LOY-84: reservations without a confirm are released after this many hours (default 168).
    #[serde(default = "default_hold_horizon_hours")]
    pub hold_horizon_hours: u32,
    /// LOY-69: validation codes are POSTed here as `{"tenant","phone","text"}` (an SMS gateway);
    /// only logged when absent. `http://` URLs only.
    #[serde(default)]
    pub sms_webhook_url: Option<String>,
}

fn default_hold_horizon_hours() -> u32 {
    168
}

impl Default for LoyaltyConfig {
    fn default() -> Self {
        Self { hold_horizon_hours: default_hold_horizon_hours(), sms_webhook_url: None }
    }
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    #[default]
    Text,
    Json,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServerConfig {
    /// Address of the main listener (all faces, admin API, health).
    #[serde(default = "default_listen")]
    pub listen: SocketAddr,
    /// Address of the Prometheus metrics listener; none when absent.
    #[serde(default)]
    pub metrics_listen: Option<SocketAddr>,
    /// Folder of the embedded SQLite database (used when `database_url` is absent).
    #[serde(default = "default_data_dir")]
    pub data_dir: PathBuf,
    /// `postgres://user@host:port/db`: run on PostgreSQL instead of the embedded SQLite.
    #[serde(default)]
    pub database_url: Option<String>,
    #[serde(default)]
    pub log_format: LogFormat,
    /// A tracing filter, e.g. `info` or `kassa=debug,info`.
    #[serde(default = "default_log_level")]
    pub log_level: String,
    /// Bearer token of the admin API; a random one is generated per start when absent.
    #[serde(default)]
    pub admin_token: Option<String>,
    /// Provision the demo sandbox tenant.
    #[serde(default)]
    pub demo: bool,
}

/// `[atol]`: the ATOL Online v3 face and its queue (atol-online-v3.md §7, §12).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AtolConfig {
    /// ATOL-28: API versions served.
    pub versions: Vec<String>,
    /// ATOL-81: seconds a document may wait in its queue.
    pub queue_timeout_secs: u32,
    /// ATOL-84 (D-33): attempts before a retryable KKT error is final.
    pub max_attempts: u32,
    /// ATOL-10 (D-5): queue length above which reserve registers are attached.
    pub queue_threshold: u32,
    /// D-9: local time of generated date-times, minutes east of UTC.
    pub utc_offset_minutes: i32,
    /// ATOL-86: this server's name in `daemon_code`.
    pub daemon_code: String,
    /// Run the queue-timeout, callback and dispatcher workers (tests step them by hand).
    pub workers: bool,
}

impl Default for AtolConfig {
    fn default() -> Self {
        Self {
            versions: vec!["v3".into()],
            queue_timeout_secs: 300,
            max_attempts: 3,
            queue_threshold: 100,
            utc_offset_minutes: 180,
            daemon_code: "prod-agent-1".into(),
            workers: true,
        }
    }
}

impl AtolConfig {
    pub fn settings(&self) -> kassa_core::atol::AtolSettings {
        let d = kassa_core::atol::AtolSettings::default();
        kassa_core::atol::AtolSettings {
            versions: self.versions.clone(),
            utc_offset_secs: i64::from(self.utc_offset_minutes) * 60,
            policy: kassa_domain::atol::dispatch::QueuePolicy {
                queue_timeout_ms: i64::from(self.queue_timeout_secs) * 1000,
                max_attempts: self.max_attempts,
                queue_threshold: self.queue_threshold as usize,
            },
            daemon_code: self.daemon_code.clone(),
            ..d
        }
    }
}

fn default_listen() -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], 8080))
}

fn default_data_dir() -> PathBuf {
    PathBuf::from("./kassa-data")
}

fn default_log_level() -> String {
    "info".to_owned()
}

impl Default for ServerConfig {
    fn default() -> Self {
        Self {
            listen: default_listen(),
            metrics_listen: None,
            data_dir: default_data_dir(),
            database_url: None,
            log_format: LogFormat::Text,
            log_level: default_log_level(),
            admin_token: None,
            demo: false,
        }
    }
}

/// `[fiscal]`: the register engine.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FiscalConfig {
    /// Open the shift on the first receipt when it is closed.
    #[serde(default = "yes")]
    pub auto_open_shift: bool,
    /// Longest shift in hours (24 by law: ATOL -3822).
    #[serde(default = "default_max_shift_hours")]
    pub max_shift_hours: u32,
    /// Mode of the built-in OFD simulator at start: up, unreachable, slow or rejecting
    /// (switchable later with `PUT /api/ofd/mode`).
    #[serde(default = "default_ofd_mode")]
    pub ofd_mode: String,
    /// Delay per document of the `slow` mode, in milliseconds.
    #[serde(default = "default_ofd_slow_ms")]
    pub ofd_slow_ms: u64,
    /// Run the OFD uplink worker.
    #[serde(default = "yes")]
    pub uplink: bool,
    /// Pause of the uplink worker when there is nothing to send, in milliseconds.
    #[serde(default = "default_uplink_idle_ms")]
    pub uplink_idle_ms: u64,
    /// KZ: hours a KKM may work autonomously before documents are refused with 18 (CORE-97).
    #[serde(default = "default_kz_offline_limit_hours")]
    pub kz_offline_limit_hours: u32,
    /// KZ: consumer site of the OFD, the base of the receipt QR strings (CORE-42, CORE-100).
    #[serde(default = "default_kz_consumer_address")]
    pub kz_consumer_address: String,
}

fn default_kz_offline_limit_hours() -> u32 {
    72
}
fn default_kz_consumer_address() -> String {
    kassa_core::fiscal::KzSettings::default().consumer_address
}

fn yes() -> bool {
    true
}
fn default_max_shift_hours() -> u32 {
    24
}
fn default_ofd_mode() -> String {
    "up".to_owned()
}
fn default_ofd_slow_ms() -> u64 {
    500
}
fn default_uplink_idle_ms() -> u64 {
    200
}

impl Default for FiscalConfig {
    fn default() -> Self {
        Self {
            auto_open_shift: true,
            max_shift_hours: default_max_shift_hours(),
            ofd_mode: default_ofd_mode(),
            ofd_slow_ms: default_ofd_slow_ms(),
            uplink: true,
            uplink_idle_ms: default_uplink_idle_ms(),
            kz_offline_limit_hours: default_kz_offline_limit_hours(),
            kz_consumer_address: default_kz_consumer_address(),
        }
    }
}

impl FiscalConfig {
    /// The KZ profile settings.
    pub fn kz(&self) -> kassa_core::fiscal::KzSettings {
        kassa_core::fiscal::KzSettings {
            consumer_address: self.kz_consumer_address.clone(),
            offline_limit_ms: i64::from(self.kz_offline_limit_hours) * 3_600_000,
        }
    }

    /// The simulator mode named by `ofd_mode`.
    pub fn ofd_mode(&self) -> anyhow::Result<kassa_core::fiscal::ofd::OfdMode> {
        use kassa_core::fiscal::ofd::OfdMode;
        Ok(match self.ofd_mode.as_str() {
            "up" => OfdMode::Up,
            "unreachable" => OfdMode::Unreachable,
            "slow" => OfdMode::Slow { delay_ms: self.ofd_slow_ms.min(kassa_core::fiscal::ofd::MAX_SLOW_MS) },
            "rejecting" => OfdMode::Rejecting,
            other => bail!("fiscal.ofd_mode: '{other}' is not one of up, unreachable, slow, rejecting"),
        })
    }

    pub fn policy(&self) -> kassa_domain::fiscal::Policy {
        kassa_domain::fiscal::Policy {
            auto_open_shift: self.auto_open_shift,
            max_shift_ms: i64::from(self.max_shift_hours) * 3_600_000,
            auto_close_expired: false,
        }
    }
}

/// Values from the environment or the command line, applied over the file (flags win).
#[derive(Clone, Debug, Default, clap::Args)]
pub struct Overrides {
    /// Configuration file (TOML); `kassa config example` prints one.
    #[arg(long, env = "KASSA_CONFIG", value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Main listener address.
    #[arg(long, env = "KASSA_LISTEN", value_name = "ADDR")]
    pub listen: Option<SocketAddr>,
    /// Prometheus metrics listener address.
    #[arg(long, env = "KASSA_METRICS_LISTEN", value_name = "ADDR")]
    pub metrics_listen: Option<SocketAddr>,
    /// Data folder of the embedded SQLite store.
    #[arg(long, env = "KASSA_DATA_DIR", value_name = "DIR")]
    pub data_dir: Option<PathBuf>,
    /// Run on PostgreSQL: postgres://user@host:port/db.
    #[arg(long, env = "KASSA_DATABASE_URL", value_name = "URL")]
    pub database_url: Option<String>,
    /// Log format.
    #[arg(long, env = "KASSA_LOG_FORMAT", value_enum)]
    pub log_format: Option<LogFormat>,
    /// Log filter, e.g. `info` or `debug`.
    #[arg(long, env = "KASSA_LOG", value_name = "FILTER")]
    pub log_level: Option<String>,
    /// Admin API bearer token.
    #[arg(long, env = "KASSA_ADMIN_TOKEN", value_name = "TOKEN", hide_env_values = true)]
    pub admin_token: Option<String>,
    /// Provision the demo sandbox (the vendor documents' example credentials).
    #[arg(long, env = "KASSA_DEMO")]
    pub demo: bool,
    /// Extra path prefix of the event collector: it also answers at {prefix}/events (EVT-2).
    #[arg(long, env = "KASSA_EVENTS_PREFIX", value_name = "PATH")]
    pub events_prefix: Option<String>,
}

impl Config {
    /// Parses and checks a config document; errors name the key and the reason.
    pub fn parse(text: &str) -> anyhow::Result<Self> {
        let config: Config = toml::from_str(text).map_err(|e| anyhow::anyhow!("{}", e.to_string().trim_end()))?;
        config.validate()?;
        Ok(config)
    }

    pub fn load(path: &Path) -> anyhow::Result<Self> {
        let text = std::fs::read_to_string(path).with_context(|| format!("cannot read config file {}", path.display()))?;
        Self::parse(&text).with_context(|| format!("config file {} is not valid", path.display()))
    }

    pub fn validate(&self) -> anyhow::Result<()> {
        validate_tenants("tenant", &self.tenants)?;
        self.fiscal.ofd_mode()?;
        if !(1..=24).contains(&self.fiscal.max_shift_hours) {
            bail!("fiscal.max_shift_hours: must be 1–24");
        }
        self.events.validate()?;
        if self.loyalty.hold_horizon_hours == 0 {
            bail!("loyalty.hold_horizon_hours: must be at least 1");
        }
        if let Some(u) = &self.loyalty.sms_webhook_url
            && !u.starts_with("http://")
        {
            bail!("loyalty.sms_webhook_url: must be an http:// URL");
        }
        if !(1..=72).contains(&self.fiscal.kz_offline_limit_hours) {
            bail!("fiscal.kz_offline_limit_hours: must be 1–72 (CORE-97)");
        }
        if self.fiscal.kz_consumer_address.len() > 256 || !self.fiscal.kz_consumer_address.starts_with("http") {
            bail!("fiscal.kz_consumer_address: an http(s) URL of at most 256 characters");
        }
        if let Some(url) = &self.server.database_url
            && !(url.starts_with("postgres://") || url.starts_with("postgresql://"))
        {
            bail!("server.database_url: must start with postgres:// (the embedded SQLite needs no URL)");
        }
        if let Some(token) = &self.server.admin_token
            && token.len() < 16
        {
            bail!("server.admin_token: must be at least 16 characters long");
        }
        tracing_subscriber::EnvFilter::try_new(&self.server.log_level)
            .map_err(|e| anyhow::anyhow!("server.log_level: {e}"))?;
        Ok(())
    }

    /// The file (if any) with the environment and flags applied over it.
    pub fn resolve(o: &Overrides) -> anyhow::Result<Self> {
        let mut c = match &o.config {
            Some(path) => Self::load(path)?,
            None => Self::default(),
        };
        let s = &mut c.server;
        if let Some(v) = o.listen {
            s.listen = v;
        }
        if let Some(v) = o.metrics_listen {
            s.metrics_listen = Some(v);
        }
        if let Some(v) = &o.data_dir {
            s.data_dir = v.clone();
        }
        if let Some(v) = &o.database_url {
            s.database_url = Some(v.clone()).filter(|u| !u.is_empty());
        }
        if let Some(v) = o.log_format {
            s.log_format = v;
        }
        if let Some(v) = &o.log_level {
            s.log_level = v.clone();
        }
        if let Some(v) = &o.admin_token {
            s.admin_token = Some(v.clone());
        }
        s.demo |= o.demo;
        if let Some(v) = &o.events_prefix {
            c.events.prefix = Some(v.clone()).filter(|p| !p.is_empty());
        }
        c.validate()?;
        Ok(c)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn example_is_complete_and_valid() {
        let c = Config::parse(EXAMPLE).expect("the example passes its own check");
        assert_eq!(c.server.listen, default_listen());
        assert!(!c.tenants.is_empty());
        let t = &c.tenants[0];
        assert!(!t.atol_logins.is_empty() && !t.itkassa_keys.is_empty() && !t.groups.is_empty());
        assert!(!t.registers.is_empty() && t.loyalty.is_some() && t.events.is_some() && t.cash_core.is_some());
        // Every server key appears in the example.
        let server = toml::Value::try_from(ServerConfig::default()).unwrap();
        for key in server.as_table().unwrap().keys().map(String::as_str).chain(["metrics_listen", "database_url", "admin_token"]) {
            assert!(EXAMPLE.contains(&format!("{key} =")), "example lacks server.{key}");
        }
    }

    /// EVT-2: the collector's extra path prefix, from the file or the flag/environment.
    #[test]
    fn evt_2_events_prefix_is_checked_and_overridable() {
        assert_eq!(Config::parse("[events]\nprefix = \"/pos\"\n").unwrap().events.prefix.as_deref(), Some("/pos"));
        for bad in ["pos", "/pos/", "/a//b", "/p?x", "/api", "/api/x", "/{x}"] {
            let e = Config::parse(&format!("[events]\nprefix = \"{bad}\"\n")).unwrap_err();
            assert!(format!("{e:#}").contains("events.prefix"), "{bad}: {e:#}");
        }
        let o = Overrides { events_prefix: Some("/shop/pos".into()), ..Default::default() };
        assert_eq!(Config::resolve(&o).unwrap().events.prefix.as_deref(), Some("/shop/pos"));
    }

    #[test]
    fn typo_is_named() {
        let e = Config::parse("[server]\nlisten = \"127.0.0.1:1\"\nlisen = \"x\"\n").unwrap_err();
        assert!(format!("{e:#}").contains("lisen"), "{e:#}");
        let e = Config::parse("[[tenant]]\nid = \"a\"\nnmae = \"b\"\n").unwrap_err();
        assert!(format!("{e:#}").contains("nmae"), "{e:#}");
    }

    #[test]
    fn bad_values_are_named() {
        let e = Config::parse("[server]\nlisten = \"nowhere\"\n").unwrap_err();
        assert!(format!("{e:#}").contains("listen"), "{e:#}");
        let e = Config::parse("[server]\ndatabase_url = \"mysql://x\"\n").unwrap_err();
        assert!(format!("{e:#}").contains("server.database_url"), "{e:#}");
        let e = Config::parse("[[tenant]]\nid = \"a\"\n[[tenant.group]]\ncode = \"g\"\ninn = \"12\"\npayment_address = \"x\"\n")
            .unwrap_err();
        assert!(format!("{e:#}").contains("tenant[0].group[0].inn"), "{e:#}");
    }

    #[test]
    fn flags_override_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("k.toml");
        std::fs::write(&path, "[server]\nlisten = \"127.0.0.1:9000\"\nlog_level = \"debug\"\n").unwrap();
        let o = Overrides { config: Some(path), listen: Some("127.0.0.1:9001".parse().unwrap()), ..Default::default() };
        let c = Config::resolve(&o).unwrap();
        assert_eq!(c.server.listen.port(), 9001);
        assert_eq!(c.server.log_level, "debug");
    }
}
