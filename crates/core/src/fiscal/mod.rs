//! The fiscal register engine: the use cases the ATOL Online, ITKassa and cash-core faces share.
//!
//! [`Engine::execute`] registers one command on one register: the store runs the pure domain
//! rules inside the write transaction that stores the new state, the documents, the journal
//! entries and the outbox rows (see `kassa_store::fiscal`), so a success is durable and numbers
//! are gapless. Reads: [`Engine::status`] (state, counters, OFD unsent summary) and
//! [`Engine::journal`]. [`Engine::verify`] recomputes every chain, sign and counter.
//! [`Engine::deliver`] is one pass of the OFD uplink (the worker in `kassa-workers` loops it).
//!
//! KZ registers (cash core): every document is submitted to the OFD synchronously (CORE-74,
//! CORE-94) before it is committed. [`Engine::execute`] reads the state, runs the pure
//! `kz::prepare`, calls [`OfdLink::submit_kz`] (unless the KKM is autonomous, CORE-95), and hands
//! the outcomes to the store, whose transaction re-runs prepare/finish on the locked state and
//! refuses with `FiscalError::Stale` when the state changed meanwhile; the engine then starts
//! over. Autonomous documents wait in the outbox; [`Engine::deliver`] uploads them in journal
//! order and the store leaves autonomous mode when none is left (CORE-96). A KZ register's state
//! is created on first use from its provisioning (`kz::KzRegister::initial`).
//!
//! May depend on the domain, the store ports and [`ofd`]; never on tokio (time and sleeping are
//! injected).

pub mod ofd;
pub mod render;

use crate::Core;
use kassa_domain::fiscal::ru::{self, Receipt};
use kassa_domain::fiscal::kz::{self as kzp, KzCommand, KzRegister, Submission};
use kassa_domain::fiscal::{Command, FiscalError, Policy, RegisterState};
use kassa_domain::kz;
use kassa_money::Money;
use kassa_store::StoreError;
use kassa_store::fiscal::{ApplyOptions, JournalEntry, RegisterRecord, Verifier, VerifyProblem};
use ofd::{KzSubmit, OfdLink, OfdMode, OfdOutcome, OfdSimulator};
use serde::Serialize;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

/// Largest page of journal entries one call returns.
pub const MAX_JOURNAL_PAGE: u32 = 1_000;
/// Pending entries one uplink pass sends per register.
pub const UPLINK_BATCH: u32 = 256;
/// Longest external document key of [`Engine::execute_keyed`] (bytes).
pub const MAX_KEY_LEN: usize = 128;
/// Time after which an uplink pass stops starting new deliveries (ms).
pub const PASS_BUDGET_MS: i64 = 2_000;
/// KZ: how often a command is prepared again when the state changed during its OFD submit.
pub const KZ_ATTEMPTS: usize = 8;

/// Settings of the KZ profile (CORE-42 OFD data, CORE-97 limit).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KzSettings {
    /// Consumer site of the OFD, the base of the QR strings (CORE-100).
    pub consumer_address: String,
    /// Autonomous-mode limit (CORE-97: 72 hours), after which documents are refused with 18.
    pub offline_limit_ms: i64,
}

impl Default for KzSettings {
    fn default() -> Self {
        Self { consumer_address: "http://consumer.test-oofd.kz".into(), offline_limit_ms: 72 * 3_600_000 }
    }
}

/// Why a use case failed.
#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    /// The register refused the command: nothing changed. Faces map it to their codes.
    #[error(transparent)]
    Fiscal(#[from] FiscalError),
    #[error("no register '{0}'")]
    UnknownRegister(String),
    #[error(transparent)]
    Store(StoreError),
}

impl From<StoreError> for EngineError {
    fn from(e: StoreError) -> Self {
        Self::Store(e)
    }
}

/// Fiscal settings and run-time state shared by every face: shift policy, injected faults, the
/// OFD link (and the simulator when it is the link).
pub struct FiscalRuntime {
    pub policy: Policy,
    pub ofd: Arc<dyn OfdLink>,
    /// The built-in simulator when it is the configured link (its mode is switchable).
    pub simulator: Option<Arc<OfdSimulator>>,
    /// KZ profile settings.
    pub kz: KzSettings,
    /// ATOL-88 step 1: register → (attempts left, KKT code).
    faults: Mutex<HashMap<String, (u32, i32)>>,
    /// KZ: one command at a time per KKM on this node, so concurrent callers do not submit
    /// documents to the OFD that the store then refuses as stale (across nodes, `Stale` remains).
    kz_locks: Mutex<HashMap<String, Arc<futures_util::lock::Mutex<()>>>>,
}

impl FiscalRuntime {
    /// The engine with the built-in OFD simulator as its link.
    pub fn with_simulator(policy: Policy, simulator: Arc<OfdSimulator>) -> Self {
        Self {
            policy,
            ofd: simulator.clone(),
            simulator: Some(simulator),
            kz: KzSettings::default(),
            faults: Mutex::new(HashMap::new()),
            kz_locks: Mutex::new(HashMap::new()),
        }
    }

    /// The engine with another OFD link.
    pub fn with_link(policy: Policy, ofd: Arc<dyn OfdLink>) -> Self {
        Self {
            policy,
            ofd,
            simulator: None,
            kz: KzSettings::default(),
            faults: Mutex::new(HashMap::new()),
            kz_locks: Mutex::new(HashMap::new()),
        }
    }

    /// With other KZ settings.
    pub fn with_kz(mut self, kz: KzSettings) -> Self {
        self.kz = kz;
        self
    }

    fn take_fault(&self, register_id: &str) -> Option<i32> {
        let mut f = self.faults.lock().unwrap_or_else(|p| p.into_inner());
        let (left, code) = f.get_mut(register_id)?;
        let code = *code;
        *left -= 1;
        if *left == 0 {
            f.remove(register_id);
        }
        Some(code)
    }
}

impl Default for FiscalRuntime {
    fn default() -> Self {
        Self::with_simulator(Policy::default(), Arc::new(OfdSimulator::new(OfdMode::Up, None)))
    }
}

/// A register as the faces and the admin API see it.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct RegisterStatus {
    #[serde(flatten)]
    pub record: RegisterRecord,
    /// `opened`, `closed` or `expired` (ITK-93, ITK-98 `sessionState`).
    pub session_state: &'static str,
    /// Shift revenue (RU).
    pub revenue: Money,
}

/// Result of [`Engine::verify`].
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct VerifyReport {
    pub registers: u64,
    pub entries: u64,
    /// The first bad entry found; `None` when everything verifies.
    pub problem: Option<VerifyProblem>,
}

/// Result of one uplink pass.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Delivery {
    pub delivered: u64,
    /// Registers whose delivery stopped at a refusal or an unreachable OFD.
    pub stalled: u64,
}

/// The use cases; borrow one with [`Core::fiscal`].
pub struct Engine<'a> {
    pub(crate) core: &'a Core,
}

impl Engine<'_> {
    /// Registers `command` on `register_id` at the current time. Returns the documents issued, in
    /// order (a receipt on a closed shift also returns the shift opening when auto-open is on).
    pub async fn execute(&self, register_id: &str, command: Command) -> Result<Vec<JournalEntry>, EngineError> {
        self.execute_with(register_id, command, self.core.fiscal.policy).await
    }

    /// [`Engine::execute`] with a face's own shift policy (e.g. ITKassa's automatic shifts,
    /// ITK-111: `Policy { auto_close_expired: true, ..core.fiscal.policy }`).
    pub async fn execute_with(&self, register_id: &str, command: Command, policy: Policy) -> Result<Vec<JournalEntry>, EngineError> {
        if let Command::Kz(c) = command {
            return self.execute_kz(register_id, c, policy).await;
        }
        let rt = &self.core.fiscal;
        let opts = ApplyOptions { now_ms: self.core.clock.now_ms(), policy, fault: rt.take_fault(register_id) };
        match self.core.store.fiscal_apply(register_id, &command, opts).await {
            Ok(result) => Ok(result?),
            Err(StoreError::NotFound(_)) => Err(EngineError::UnknownRegister(register_id.to_owned())),
            Err(e) => Err(EngineError::Store(e)),
        }
    }

    /// [`Engine::execute_with`] under an external document key (an ATOL uuid; ITKassa and the
    /// cash core use the same): when the key is already journaled in the register's tenant, the
    /// entry it produced is returned and nothing new is registered, so a command retried after a
    /// crash or a lost answer never uses a fiscal number twice.
    pub async fn execute_keyed(
        &self,
        register_id: &str,
        key: &str,
        command: Command,
        policy: Policy,
    ) -> Result<Vec<JournalEntry>, EngineError> {
        if key.is_empty() || key.len() > MAX_KEY_LEN {
            return Err(FiscalError::Invalid { reason: format!("a document key has 1 to {MAX_KEY_LEN} bytes") }.into());
        }
        if matches!(command, Command::Kz(_)) {
            // KZ commands need the synchronous OFD submit of `execute`; no KZ face keys them yet.
            return Err(FiscalError::Unsupported { reason: "keyed KZ commands".into() }.into());
        }
        let rt = &self.core.fiscal;
        let opts = ApplyOptions { now_ms: self.core.clock.now_ms(), policy, fault: rt.take_fault(register_id) };
        match self.core.store.fiscal_apply_keyed(register_id, key, &command, opts).await {
            Ok(result) => Ok(result?),
            Err(StoreError::NotFound(_)) => Err(EngineError::UnknownRegister(register_id.to_owned())),
            Err(e) => Err(EngineError::Store(e)),
        }
    }

    /// A KZ command: prepare, submit to the OFD, commit (see the module docs); again from the
    /// start while the store finds the state changed in between (at most [`KZ_ATTEMPTS`] times).
    async fn execute_kz(&self, register_id: &str, mut command: KzCommand, policy: Policy) -> Result<Vec<JournalEntry>, EngineError> {
        let rt = &self.core.fiscal;
        let lock = self.kz_lock(register_id).await?;
        let _serial = lock.lock().await;
        for _ in 0..KZ_ATTEMPTS {
            let now_ms = self.core.clock.now_ms();
            if let Some(request) = &command.request {
                let record = self
                    .core
                    .store
                    .fiscal_register(register_id)
                    .await?
                    .ok_or_else(|| EngineError::UnknownRegister(register_id.to_owned()))?;
                if !record.register.active {
                    return Err(FiscalError::Inactive.into());
                }
                let base = match record.state {
                    Some(RegisterState::Kz(r)) => r.kkm,
                    None if record.register.profile == kassa_domain::provisioning::RegisterProfile::Kz => {
                        KzRegister::initial(&record.identity, now_ms).kkm
                    }
                    _ => return Err(FiscalError::Unsupported { reason: "not a KZ register".into() }.into()),
                };
                let config = kz::KkmConfig {
                    consumer_address: rt.kz.consumer_address.clone(),
                    offline_limit: kz::Millis(rt.kz.offline_limit_ms),
                    shift_limit: kz::Millis(policy.max_shift_ms),
                };
                // The documents are prepared on the state the store will see: with the command's setting.
                let mut prepared_on = base.clone();
                if let Some(flag) = command.auto_withdraw_money {
                    prepared_on.auto_withdraw_money = flag;
                }
                let outcomes = self.submit_kz(register_id, &prepared_on, request, &command.caller, &config, kzp::local(now_ms)).await;
                command.submission = Some(Submission { based_on: Box::new(base), config, outcomes });
            }
            let opts = ApplyOptions { now_ms, policy, fault: None };
            match self.core.store.fiscal_apply(register_id, &Command::Kz(command.clone()), opts).await {
                Ok(Err(FiscalError::Stale)) => tracing::debug!(register = %register_id, "KZ state changed during the OFD submit; again"),
                Ok(result) => return Ok(result?),
                Err(StoreError::NotFound(_)) => return Err(EngineError::UnknownRegister(register_id.to_owned())),
                Err(e) => return Err(EngineError::Store(e)),
            }
        }
        Err(FiscalError::Stale.into())
    }

    /// The per-node lock of a KZ KKM; none is kept for an id that is not a provisioned register.
    async fn kz_lock(&self, register_id: &str) -> Result<Arc<futures_util::lock::Mutex<()>>, EngineError> {
        let locks = &self.core.fiscal.kz_locks;
        if let Some(l) = locks.lock().unwrap_or_else(|p| p.into_inner()).get(register_id) {
            return Ok(l.clone());
        }
        if self.core.store.fiscal_register(register_id).await?.is_none() {
            return Err(EngineError::UnknownRegister(register_id.to_owned()));
        }
        Ok(locks.lock().unwrap_or_else(|p| p.into_inner()).entry(register_id.to_owned()).or_default().clone())
    }

    /// The OFD outcomes of the documents `request` produces on `state` (an automatic withdrawal
    /// or Z first, then the requested one), submitted in order; the pure `kz::finish` tells the
    /// state each next document is prepared on. Autonomous KKMs submit nothing (CORE-95).
    async fn submit_kz(
        &self,
        register_id: &str,
        state: &kz::KkmState,
        request: &kz::Command,
        caller: &kz::Caller,
        config: &kz::KkmConfig,
        now: kz::LocalDateTime,
    ) -> Vec<kz::OfdOutcome> {
        let mut outcomes = Vec::new();
        let mut current = state.clone();
        for _ in 0..3 {
            let Ok(prepared) = kz::prepare(&current, request, caller, config, now) else { break };
            let outcome = if prepared.submit {
                let total = match &prepared.body {
                    kz::Body::Ticket(t) => t.amounts.total,
                    _ => Money::ZERO,
                };
                let submit = KzSubmit {
                    vendor_id: current.vendor_id().to_owned(),
                    fns_kkm_id: current.reg_info.kkm.fns_kkm_id.clone(),
                    consumer_address: config.consumer_address.clone(),
                    command: prepared.command,
                    fr_shift_number: prepared.fr_shift_number,
                    shift_document_number: prepared.shift_document_number,
                    total,
                    at: now,
                };
                let o = self.core.fiscal.ofd.submit_kz(register_id, &submit).await;
                outcomes.push(o.clone());
                o
            } else {
                kz::OfdOutcome::NotSubmitted
            };
            let is_final = prepared.is_final;
            match kz::finish(&current, prepared, outcome, config, now) {
                Ok(done) if !is_final => current = done.state,
                _ => break,
            }
        }
        outcomes
    }

    /// A receipt (sell, sell refund, buy, buy refund) on an RU register.
    pub async fn receipt(&self, register_id: &str, receipt: Receipt) -> Result<Vec<JournalEntry>, EngineError> {
        self.execute(register_id, Command::Ru(ru::Command::Receipt(receipt))).await
    }

    pub async fn open_shift(&self, register_id: &str, cashier: Option<String>) -> Result<Vec<JournalEntry>, EngineError> {
        self.execute(register_id, Command::Ru(ru::Command::OpenShift { cashier })).await
    }

    pub async fn close_shift(&self, register_id: &str, cashier: Option<String>) -> Result<Vec<JournalEntry>, EngineError> {
        self.execute(register_id, Command::Ru(ru::Command::CloseShift { cashier })).await
    }

    pub async fn x_report(&self, register_id: &str) -> Result<Vec<JournalEntry>, EngineError> {
        self.execute(register_id, Command::Ru(ru::Command::XReport)).await
    }

    /// The register's state, counters and OFD unsent summary (ITK-98).
    pub async fn status(&self, register_id: &str) -> Result<RegisterStatus, EngineError> {
        let record = self
            .core
            .store
            .fiscal_register(register_id)
            .await?
            .ok_or_else(|| EngineError::UnknownRegister(register_id.to_owned()))?;
        let now = self.core.clock.now_ms();
        let (session_state, revenue) = match &record.state {
            Some(RegisterState::Ru(s)) => (s.session_state(now, self.core.fiscal.policy.max_shift_ms), s.revenue()),
            Some(RegisterState::Kz(r)) => {
                let k = &r.kkm;
                let open = k.shift_state == 1;
                let expired = k.shift_open_date.is_some_and(|at| kzp::local(now).since(at).0 >= self.core.fiscal.policy.max_shift_ms);
                (if !open { "closed" } else if expired { "expired" } else { "opened" }, k.revenue)
            }
            None => ("closed", Money::ZERO),
        };
        Ok(RegisterStatus { record, session_state, revenue })
    }

    /// Journal entries after `after_seq`, oldest first (at most [`MAX_JOURNAL_PAGE`]).
    pub async fn journal(&self, register_id: &str, after_seq: u64, limit: u32) -> Result<Vec<JournalEntry>, EngineError> {
        if self.core.store.fiscal_register(register_id).await?.is_none() {
            return Err(EngineError::UnknownRegister(register_id.to_owned()));
        }
        let after_seq = after_seq.min(i64::MAX as u64);
        Ok(self.core.store.fiscal_journal(register_id, after_seq, limit.clamp(1, MAX_JOURNAL_PAGE)).await?)
    }

    /// ATOL-88 step 1 test hook: the next `attempts` commands on the register fail with `code`.
    pub fn inject_fault(&self, register_id: &str, attempts: u32, code: i32) {
        let mut f = self.core.fiscal.faults.lock().unwrap_or_else(|p| p.into_inner());
        if attempts == 0 {
            f.remove(register_id);
        } else {
            f.insert(register_id.to_owned(), (attempts, code));
        }
    }

    /// Recomputes every register's hash chain and fiscal signs, checks gapless numbering and that
    /// the counters equal the sum of the journal; stops at the first bad entry.
    pub async fn verify(&self) -> Result<VerifyReport, EngineError> {
        let store = &self.core.store;
        let mut report = VerifyReport::default();
        for id in store.fiscal_register_ids().await? {
            let Some(secrets) = store.fiscal_secrets(&id).await? else { continue };
            report.registers += 1;
            let mut v = match Verifier::new(&secrets) {
                Ok(v) => v,
                Err(p) => return Ok(VerifyReport { problem: Some(p), ..report }),
            };
            let mut after = 0;
            loop {
                let page = store.fiscal_journal(&id, after, MAX_JOURNAL_PAGE).await?;
                let Some(last) = page.last() else { break };
                after = last.seq;
                for e in &page {
                    if let Err(p) = v.push(e) {
                        return Ok(VerifyReport { problem: Some(p), ..report });
                    }
                    report.entries += 1;
                }
            }
            if let Err(p) = v.finish(&secrets) {
                return Ok(VerifyReport { problem: Some(p), ..report });
            }
        }
        Ok(report)
    }

    /// One pass of the OFD uplink: for each register with pending documents, sends them in
    /// journal order until the OFD stops acknowledging, and records what was acknowledged
    /// (CORE-96 for the delivery order; the acknowledgement only flips `pending`, CORE-80).
    pub async fn deliver(&self, max_registers: u32) -> Result<Delivery, EngineError> {
        let store = &self.core.store;
        let mut out = Delivery::default();
        let started = self.core.clock.now_ms();
        for id in store.fiscal_outbox_registers(max_registers).await? {
            // A slow OFD must not hold a pass (and a graceful shutdown) for long.
            if self.core.clock.now_ms() - started > PASS_BUDGET_MS {
                break;
            }
            let mut acknowledged = None;
            let mut stalled = false;
            for e in store.fiscal_outbox(&id, UPLINK_BATCH).await? {
                if acknowledged.is_some() && self.core.clock.now_ms() - started > PASS_BUDGET_MS {
                    break;
                }
                match self.core.fiscal.ofd.submit(&id, &e).await {
                    OfdOutcome::Accepted => acknowledged = Some(e.seq),
                    other => {
                        tracing::debug!(register = %id, seq = e.seq, outcome = ?other, "OFD did not acknowledge");
                        stalled = true;
                        break;
                    }
                }
            }
            if let Some(seq) = acknowledged {
                out.delivered += store.fiscal_mark_delivered(&id, seq, self.core.clock.now_ms()).await?;
            }
            out.stalled += u64::from(stalled);
        }
        Ok(out)
    }
}
