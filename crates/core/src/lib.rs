//! Application services of Kassa.
//!
//! Owns the use cases every protocol face calls (today: provisioning and the demo sandbox;
//! the fiscal queue, loyalty engine and event ingest join here) and the ports they need from the
//! outside world ([`Clock`], [`IdGen`], [`fiscal::ofd::OfdLink`], the ATOL register port). The fiscal
//! register engine is [`fiscal`] ([`Core::fiscal`]).
//!
//! May depend on the domain, money and the store *ports* (`kassa-store` traits). Never on axum,
//! a database driver or an HTTP client: the server crate wires concrete adapters in.

pub mod atol;
pub mod clock;
pub mod demo;
pub mod ids;
pub mod fiscal;
pub mod events;
pub mod loyalty;
pub mod provisioning;

pub use clock::{Clock, ManualClock, SystemClock};
pub use ids::{IdGen, RandomIds, SequenceIds};

use kassa_store::Store;
use std::sync::Arc;

/// Everything a use case needs, shared by all faces. Cheap to clone.
#[derive(Clone)]
pub struct Core {
    pub store: Arc<dyn Store>,
    pub clock: Arc<dyn Clock>,
    pub ids: Arc<dyn IdGen>,
    /// Settings of the ATOL Online face and its queue.
    pub atol: Arc<atol::AtolRuntime>,
    /// Fiscal engine settings and run-time state (policy, faults, OFD link).
    pub fiscal: Arc<fiscal::FiscalRuntime>,
    /// Settings of the loyalty engine (issue 5).
    pub loyalty: Arc<loyalty::Settings>,
}

impl Core {
    pub fn new(store: Arc<dyn Store>, clock: Arc<dyn Clock>) -> Self {
        Self {
            store,
            clock,
            ids: Arc::new(RandomIds),
            atol: Arc::default(),
            fiscal: Arc::new(fiscal::FiscalRuntime::default()),
            loyalty: Arc::new(loyalty::Settings::default()),
        }
    }

    pub fn with_ids(mut self, ids: Arc<dyn IdGen>) -> Self {
        self.ids = ids;
        self
    }

    pub fn with_atol(mut self, settings: atol::AtolSettings) -> Self {
        self.atol = Arc::new(atol::AtolRuntime::new(settings));
        self
    }

    pub fn atol(&self) -> atol::Atol<'_> {
        atol::Atol { core: self }
    }

    /// The same core with these fiscal settings.
    pub fn with_fiscal(mut self, fiscal: fiscal::FiscalRuntime) -> Self {
        self.fiscal = Arc::new(fiscal);
        self
    }

    /// The fiscal register engine.
    pub fn fiscal(&self) -> fiscal::Engine<'_> {
        fiscal::Engine { core: self }
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

    pub fn events(&self) -> events::Events<'_> {
        events::Events { core: self }
    }
}
