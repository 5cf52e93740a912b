//! The OFD link port and the built-in OFD simulator (CORE-92: the OFD protocol is isolated behind
//! an interface; test builds get a scriptable stub — here a switchable in-process simulator).
//!
//! The uplink worker hands every pending journal entry, in journal order, to an [`OfdLink`]. The
//! simulator is a real in-process component with its own state (per register: the last document
//! it accepted, how many it received) whose mode can be switched at run time from the
//! configuration or the admin API (`PUT /api/ofd/mode`): `up`, `unreachable`, `slow` (answers after
//! a delay) or `rejecting`. It enforces order: a document that skips one it has not seen is refused.
//!
//! KZ registers (cash core) also submit each document synchronously while it is being registered
//! ([`OfdLink::submit_kz`], CORE-74/CORE-94): the simulator answers `up`/`slow` with a fiscal id
//! from its own counter per KKM and the QR string of CORE-100, `unreachable` with `Unreachable`
//! (the KKM goes autonomous, CORE-95) and `rejecting` with `Rejected` (84). Documents a KZ KKM
//! accepted online never pass through the uplink, so a KZ KKM's uploads may skip journal positions.

use async_trait::async_trait;
use kassa_domain::kz;
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

/// One KZ document at its synchronous submit (CORE-92 `Submit(kkm, document)`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct KzSubmit {
    /// The KKM's `vendor_id` (ZNM).
    pub vendor_id: String,
    /// KGD id, the `f=` of the QR (CORE-100).
    pub fns_kkm_id: String,
    /// The OFD's consumer site (CORE-42).
    pub consumer_address: String,
    pub command: kz::CommandType,
    pub fr_shift_number: u32,
    pub shift_document_number: u32,
    /// Ticket total (0 for other documents).
    pub total: kassa_money::Money,
    /// Local date-time of the document.
    pub at: kz::LocalDateTime,
}

/// The port the uplink delivers through.
#[async_trait]
pub trait OfdLink: Send + Sync + 'static {
    async fn submit(&self, register_id: &str, entry: &JournalEntry) -> OfdOutcome;

    /// KZ: the synchronous submit of a document being registered. A link that does not speak the
    /// KZ OFD protocol is unreachable for KZ KKMs, which then work autonomously (CORE-95).
    async fn submit_kz(&self, _register_id: &str, _document: &KzSubmit) -> kz::OfdOutcome {
        kz::OfdOutcome::Unreachable
    }
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
    /// KZ: fiscal ids issued to the KKM's online documents.
    pub kz_fiscal_ids: u64,
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

    fn receive(&self, register_id: &str, seq: u64, is_kz: bool) -> OfdOutcome {
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
        if reg.received > 0 && seq > reg.last_seq + 1 && !is_kz {
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
        self.receive(register_id, entry.seq, entry.doc.starts_with(r#"{"profile":"kz""#))
    }

    async fn submit_kz(&self, register_id: &str, document: &KzSubmit) -> kz::OfdOutcome {
        if let (OfdMode::Slow { delay_ms }, Some(sleep)) = (self.mode(), &self.sleep) {
            sleep(delay_ms.min(MAX_SLOW_MS)).await;
        }
        let mut s = self.state.lock().unwrap_or_else(|p| p.into_inner());
        match s.mode {
            OfdMode::Unreachable => kz::OfdOutcome::Unreachable,
            OfdMode::Rejecting => kz::OfdOutcome::Rejected,
            OfdMode::Up | OfdMode::Slow { .. } => {
                let reg = s.registers.entry(register_id.to_owned()).or_default();
                reg.kz_fiscal_ids += 1;
                // Ten digits, like the OFD's fiscal ids; never equal to an autonomous number (1001+).
                let fiscal_id = (1_000_000_000 + reg.kz_fiscal_ids).to_string();
                let qr_code = if document.command == kz::CommandType::Ticket {
                    kz::qr_code(&document.consumer_address, &fiscal_id, &document.fns_kkm_id, document.total, document.at)
                } else {
                    String::new()
                };
                kz::OfdOutcome::Accepted { fiscal_id, qr_code, ads_info: None }
            }
        }
    }
}
