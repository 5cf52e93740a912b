//! LOY-84: releases bonus reservations that never saw a confirm within the horizon.

use crate::{Step, Worker};
use async_trait::async_trait;
use kassa_core::Core;

/// Releases at most this many reservations per step.
const BATCH: u32 = 100;

pub struct HoldExpiry {
    pub core: Core,
}

#[async_trait]
impl Worker for HoldExpiry {
    fn name(&self) -> &'static str {
        "loyalty-hold-expiry"
    }

    async fn run_once(&mut self) -> Result<Step, String> {
        let released = self.core.loyalty().release_stale_holds(BATCH).await.map_err(|e| e.to_string())?;
        if released > 0 {
            tracing::warn!(released, "loyalty reservations released after the horizon without a confirm (flagged)");
        }
        Ok(if released as u32 >= BATCH { Step::Busy } else { Step::Idle })
    }
}
