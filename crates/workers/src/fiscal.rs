//! The OFD uplink worker: delivers each register's pending journal entries in journal order.

use crate::{Step, Worker};
use async_trait::async_trait;
use kassa_core::Core;

/// Registers one step serves at most (the rest wait for the next step).
const REGISTERS_PER_STEP: u32 = 64;

/// Sends pending fiscal documents to the OFD link; one step is one [`kassa_core::fiscal::Engine::deliver`] pass.
pub struct OfdUplink {
    core: Core,
}

impl OfdUplink {
    pub fn new(core: Core) -> Self {
        Self { core }
    }
}

#[async_trait]
impl Worker for OfdUplink {
    fn name(&self) -> &'static str {
        "ofd-uplink"
    }

    async fn run_once(&mut self) -> Result<Step, String> {
        let d = self.core.fiscal().deliver(REGISTERS_PER_STEP).await.map_err(|e| e.to_string())?;
        // Progress while the OFD acknowledges; when it stalls, wait for the idle pause.
        Ok(if d.delivered > 0 && d.stalled == 0 { Step::Busy } else { Step::Idle })
    }
}
