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
pub mod events;
pub mod provisioning;

pub use clock::{Clock, ManualClock, SystemClock};

use kassa_store::Store;
use std::sync::Arc;

/// Everything a use case needs, shared by all faces. Cheap to clone.
#[derive(Clone)]
pub struct Core {
    pub store: Arc<dyn Store>,
    pub clock: Arc<dyn Clock>,
}

impl Core {
    pub fn new(store: Arc<dyn Store>, clock: Arc<dyn Clock>) -> Self {
        Self { store, clock }
    }

    pub fn provisioning(&self) -> provisioning::Provisioning<'_> {
        provisioning::Provisioning { core: self }
    }

    pub fn events(&self) -> events::Events<'_> {
        events::Events { core: self }
    }
}
