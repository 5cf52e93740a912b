//! The OFD link port and the built-in OFD simulator (CORE-92: the OFD protocol is isolated behind
//! an interface; test builds get a scriptable stub — here a switchable in-process simulator).
//!
//! The uplink worker hands every pending journal entry, in journal order, to an [`OfdLink`]. The
//! simulator is a real in-process component with its own state (per register: the last document
//! it accepted, how many it received) whose mode can be switched at run time from the
//! configuration or the admin API (`PUT /api/ofd/mode`): `up`, `unreachable`, `slow` (answers after
//! a delay) or `rejecting`. It enforces order: a document that skips one it has not seen is refused.

use async_trait::async_trait;
use kassa_store::fiscal::JournalEntry;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};

/// What the OFD answered for one document.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum OfdOutcome {
    /// Acknowledged: the document counts as sent.
    Accepted,
    /// No connection: try again later.
    Unreachable,
    /// The OFD refused the document; it stays unsent and is retried later.
    Rejected { reason: String },
}

/// The port the uplink delivers through.
#[async_trait]
pub trait OfdLink: Send + Sync + 'static {
    async fn submit(&self, register_id: &str, entry: &JournalEntry) -> OfdOutcome;
}

/// How the simulator behaves.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "mode", rename_all = "snake_case", deny_unknown_fields)]
pub enum OfdMode {
    #[default]
    Up,
    Unreachable,
    /// Accepts, after `delay_ms` milliseconds per document.
    Slow { delay_ms: u64 },
    Rejecting,
}

/// Longest delay of the `slow` mode (a limit on admin input).
pub const MAX_SLOW_MS: u64 = 60_000;

/// Waits without blocking a thread; the server passes the runtime's timer (the core has none).
pub type Sleep = Arc<dyn Fn(u64) -> Pin<Box<dyn Future<Output = ()> + Send>> + Send + Sync>;

/// What the simulator has seen of one register.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct SimRegister {
    pub last_seq: u64,
    pub received: u64,
}

/// The simulator's state, as the admin API shows it.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct OfdSnapshot {
    #[serde(flatten)]
    pub mode: OfdMode,
    pub registers: BTreeMap<String, SimRegister>,
}

/// The built-in OFD simulator.
pub struct OfdSimulator {
    state: Mutex<OfdSnapshot>,
    sleep: Option<Sleep>,
}

impl OfdSimulator {
    pub fn new(mode: OfdMode, sleep: Option<Sleep>) -> Self {
        Self { state: Mutex::new(OfdSnapshot { mode, registers: BTreeMap::new() }), sleep }
    }

    pub fn set_mode(&self, mode: OfdMode) {
        self.state.lock().unwrap_or_else(|p| p.into_inner()).mode = mode;
    }

    pub fn snapshot(&self) -> OfdSnapshot {
        self.state.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    pub fn mode(&self) -> OfdMode {
        self.state.lock().unwrap_or_else(|p| p.into_inner()).mode
    }

    fn receive(&self, register_id: &str, seq: u64) -> OfdOutcome {
        let mut s = self.state.lock().unwrap_or_else(|p| p.into_inner());
        match s.mode {
            OfdMode::Unreachable => return OfdOutcome::Unreachable,
            OfdMode::Rejecting => return OfdOutcome::Rejected { reason: "the OFD simulator rejects documents".into() },
            OfdMode::Up | OfdMode::Slow { .. } => {}
        }
        let reg = s.registers.entry(register_id.to_owned()).or_default();
        // A register met for the first time (e.g. after a restart of this simulator) may start
        // anywhere; afterwards documents must come in journal order. A repeat is acknowledged
        // again (the uplink may resend after a crash between sending and recording).
        if reg.received > 0 && seq > reg.last_seq + 1 {
            return OfdOutcome::Rejected { reason: format!("document {seq} arrived before {}", reg.last_seq + 1) };
        }
        reg.received += 1;
        reg.last_seq = reg.last_seq.max(seq);
        OfdOutcome::Accepted
    }
}

#[async_trait]
impl OfdLink for OfdSimulator {
    async fn submit(&self, register_id: &str, entry: &JournalEntry) -> OfdOutcome {
        if let (OfdMode::Slow { delay_ms }, Some(sleep)) = (self.mode(), &self.sleep) {
            sleep(delay_ms.min(MAX_SLOW_MS)).await;
        }
        self.receive(register_id, entry.seq)
    }
}
