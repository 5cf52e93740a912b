//! Application services of Kassa.
//!
//! Owns the use cases every protocol face calls (today: provisioning and the demo sandbox;
//! the fiscal queue, loyalty engine and event ingest join here) and the ports they need from the
//! outside world ([`Clock`]; later `IdGen`, `OfdLink`, `CallbackSink`, ...).
//!
//! May depend on the domain, money and the store *ports* (`kassa-store` traits). Never on axum,
//! a database driver or an HTTP client: the server crate wires concrete adapters in.

pub mod clock;
pub mod demo;
pub mod loyalty;
pub mod provisioning;

pub use clock::{Clock, ManualClock, SystemClock};

use kassa_store::Store;
use std::sync::Arc;

/// Everything a use case needs, shared by all faces. Cheap to clone.
#[derive(Clone)]
pub struct Core {
    pub store: Arc<dyn Store>,
    pub clock: Arc<dyn Clock>,
    /// Settings of the loyalty engine (issue 5).
    pub loyalty: Arc<loyalty::Settings>,
}

impl Core {
    pub fn new(store: Arc<dyn Store>, clock: Arc<dyn Clock>) -> Self {
        Self { store, clock, loyalty: Arc::new(loyalty::Settings::default()) }
    }

    pub fn with_loyalty(mut self, settings: loyalty::Settings) -> Self {
        self.loyalty = Arc::new(settings);
        self
    }

    pub fn loyalty(&self) -> loyalty::Loyalty<'_> {
        loyalty::Loyalty { core: self }
    }

    pub fn provisioning(&self) -> provisioning::Provisioning<'_> {
        provisioning::Provisioning { core: self }
    }
}
