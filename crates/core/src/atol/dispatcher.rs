//! The dispatcher (§7): takes the head of each group's FIFO queue to an idle register chosen
//! by the pure policy (`kassa_domain::atol::dispatch`), and stores the outcome with a
//! compare-and-set transition. Reserves are attached past the queue threshold (ATOL-10).

use super::{Atol, AtolRegisters, AcceptedDocument, internal};
use kassa_domain::atol::dispatch::{AttemptOutcome, RegisterLoad, after_attempt, choose_register, is_timed_out, reserves_to_attach};
use kassa_domain::atol::json;
use kassa_domain::atol::report::DocState;
use kassa_domain::atol::validate::{Operation, validate};
use kassa_domain::atol::KktError;
use kassa_domain::provisioning::{RegisterProfile, RegisterRole};
use kassa_store::atol::{AtolDocumentRow, AtolTransition};
use kassa_store::{GroupRow, RegisterRow};
use std::collections::{BTreeMap, BTreeSet};

/// Reserves stay attached this long after the queue fell to the threshold (ATOL-10, D-5).
const DETACH_AFTER_MS: i64 = 10 * 60_000;
/// A document `in_progress` for longer than this was abandoned by a crashed process.
const IN_PROGRESS_LEASE_MS: i64 = 60_000;
/// Queue lengths are counted up to this (or just past the reserve threshold, if that is higher):
/// enough to size the reserves (ATOL-10) without counting a whole backlog ...
const QUEUE_COUNT_CAP: i64 = 10_000;
/// ... and that long count runs at most this often; the steps between count just past the
/// threshold (is it exceeded?) and size the reserves by the last long count. Counting 10,000
/// index entries on every step took a third of the HTTP workers' time under atol-sell.
const RECOUNT_MS: i64 = 1_000;
/// Assumed per-register rate used to size the reserve count (documents per minute).
const PER_REGISTER_PER_MIN: u64 = 600;

/// What one dispatch step did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DispatchReport {
    pub attempts: usize,
    pub done: usize,
    pub failed: usize,
    pub requeued: usize,
}

/// Memory of the dispatcher between steps.
#[derive(Debug, Default)]
pub struct DispatchState {
    idle_since: BTreeMap<String, i64>,
    /// Attached reserves per (tenant, group), and since when the queue is at or below the threshold.
    attached: BTreeMap<(String, String), (BTreeSet<String>, Option<i64>)>,
    /// The first step of this process has run (it recovers every document left in progress).
    started: bool,
    /// Documents one register takes per step (0 or 1: one, the register is then busy).
    per_register: usize,
    /// When the queues were last counted up to [`QUEUE_COUNT_CAP`], and those lengths.
    counted_at_ms: Option<i64>,
    lengths: BTreeMap<(String, String), i64>,
}

impl DispatchState {
    /// A state whose steps give each register up to `n` documents: the step makes `n` rounds of
    /// the register choice (ATOL-7 over the counts as they will be), and the attempts of one
    /// register run together, so fast registers (the engine) share store commits.
    pub fn with_batch(n: usize) -> Self {
        Self { per_register: n, ..Self::default() }
    }
}

fn accepted(d: &AtolDocumentRow, attempt: u32) -> Option<AcceptedDocument> {
    let op = Operation::parse(&d.operation)?;
    let value = json::parse(d.body.as_bytes()).ok()?;
    let document = validate(op, &value).ok()?;
    Some(AcceptedDocument { uuid: d.uuid.clone(), tenant_id: d.tenant_id.clone(), group_code: d.group_code.clone(), document, attempt })
}

impl Atol<'_> {
    /// One dispatch step over every group with queued documents: at most one document per idle
    /// register. Documents left `in_progress` by a crash are finished first (once per state).
    pub async fn dispatch_once(&self, regs: &dyn AtolRegisters, state: &mut DispatchState) -> Result<DispatchReport, String> {
        let mut report = DispatchReport::default();
        // (group, register, document) of every attempt of this step; they run concurrently.
        let mut jobs: Vec<(GroupRow, String, AtolDocumentRow)> = Vec::new();
        // Attempts run within one step, so a document `in_progress` longer than the lease was
        // left by a crashed process (this one before a restart, or another node): ask its
        // register again — the port is idempotent per uuid.
        // The first step after a start takes every document in progress at once: they were left
        // by this node's previous process, or are being tried by another node, and a second
        // attempt is harmless because the port is idempotent per uuid and the outcome is stored
        // compare-and-set (the first outcome stored wins, ATOL-85).
        let stale_before = if state.started { self.core.clock.now_ms() - IN_PROGRESS_LEASE_MS } else { i64::MAX };
        state.started = true;
        for d in self.core.store.atol_in_progress(1_000).await.map_err(internal)? {
            if d.updated_at_ms > stale_before {
                continue;
            }
            let Some((group, _)) = self.group(&d.tenant_id, &d.group_code).await? else { continue };
            jobs.push((group, d.device_code.clone(), d));
        }
        self.run_attempts(regs, std::mem::take(&mut jobs), &mut report).await?;
        let policy = self.settings().policy;
        let past_threshold = policy.queue_threshold as i64 + 1;
        let now = self.core.clock.now_ms();
        let long_count = state.counted_at_ms.is_none_or(|at| now - at >= RECOUNT_MS);
        let cap = if long_count { QUEUE_COUNT_CAP.max(past_threshold) } else { past_threshold };
        let groups = self.core.store.atol_queued_groups(cap).await.map_err(internal)?;
        if long_count {
            state.counted_at_ms = Some(now);
            state.lengths = groups.iter().map(|(t, c, n)| ((t.clone(), c.clone()), *n)).collect();
        }
        for (tenant, code, len) in groups {
            // A short count past the threshold: the last long count sizes the reserves.
            let len = if len >= past_threshold { len.max(*state.lengths.get(&(tenant.clone(), code.clone())).unwrap_or(&0)) } else { len };
            let Some((group, registers)) = self.group(&tenant, &code).await? else { continue };
            let now = self.core.clock.now_ms();
            let mains: Vec<&RegisterRow> = registers.iter().filter(|r| r.role == RegisterRole::Main).collect();
            let reserves: Vec<&RegisterRow> = registers.iter().filter(|r| r.role == RegisterRole::Reserve).collect();
            let entry = state.attached.entry((tenant.clone(), code.clone())).or_default();
            // ATOL-10: attach reserves past the threshold; detach after 10 minutes at or below it.
            if len as usize > policy.queue_threshold {
                entry.1 = None;
                let free: Vec<&&RegisterRow> = reserves.iter().filter(|r| !entry.0.contains(&r.id)).collect();
                // ATOL-9: the incoming rate of this node, or the queue itself when it is higher.
                let rate = self.core.atol.incoming_per_minute(&tenant, &code, now).max(len as u64);
                let n = reserves_to_attach(len as usize, &policy, rate, PER_REGISTER_PER_MIN, mains.len() + entry.0.len(), free.len());
                for r in free.into_iter().take(n) {
                    tracing::info!(group = %code, register = %r.id, queue = len, "ATOL reserve register attached");
                    entry.0.insert(r.id.clone());
                }
            } else if !entry.0.is_empty() {
                let since = *entry.1.get_or_insert(now);
                if now - since >= DETACH_AFTER_MS {
                    entry.0.clear();
                    entry.1 = None;
                }
            }
            let attached = entry.0.clone();
            let mut loads = Vec::new();
            for r in &registers {
                let reserve = r.role == RegisterRole::Reserve;
                loads.push(RegisterLoad {
                    id: r.id.clone(),
                    reserve,
                    attached: attached.contains(&r.id),
                    active: regs.available(&r.id).await,
                    busy: false,
                    fn_documents: regs.fn_documents(&r.id).await,
                    idle_since_ms: *state.idle_since.get(&r.id).unwrap_or(&0),
                });
            }
            let rounds = state.per_register.max(1);
            let heads = self.core.store.atol_queue(&tenant, &code, (loads.len() * rounds) as i64).await.map_err(internal)?;
            let mut claims = Vec::new();
            let mut picked = Vec::new();
            let mut round = 1;
            for d in heads {
                if is_timed_out(d.queued_at_ms, now, &policy) {
                    continue; // the timeout worker fails it (ATOL-81)
                }
                let mut choice = choose_register(&loads).map(|r| r.id.clone());
                if choice.is_none() && round < rounds && loads.iter().any(|l| l.busy) {
                    // Next round: every register that took a document takes one more.
                    round += 1;
                    loads.iter_mut().for_each(|l| l.busy = false);
                    choice = choose_register(&loads).map(|r| r.id.clone());
                }
                let Some(chosen) = choice else { break };
                if let Some(l) = loads.iter_mut().find(|l| l.id == chosen) {
                    l.busy = true;
                    l.fn_documents += 1;
                }
                // Claim: queued → in_progress on this register (compare-and-set).
                claims.push(AtolTransition {
                    uuid: d.uuid.clone(),
                    from_state: DocState::Queued.as_str().into(),
                    from_attempts: Some(d.attempts),
                    to_state: DocState::InProgress.as_str().into(),
                    attempts: d.attempts,
                    error: d.error.clone(),
                    daemon_code: self.settings().daemon_code.clone(),
                    device_code: chosen.clone(),
                    payload: None,
                    requeue_at_ms: None,
                    callback: None,
                    now_ms: now,
                });
                picked.push((chosen, d));
            }
            if claims.is_empty() {
                continue;
            }
            let applied = self.core.store.atol_transition(&claims).await.map_err(internal)?;
            for ((register, d), ok) in picked.into_iter().zip(applied) {
                if ok {
                    state.idle_since.insert(register.clone(), now);
                    jobs.push((group.clone(), register, d));
                }
            }
        }
        self.run_attempts(regs, jobs, &mut report).await?;
        Ok(report)
    }

    /// Runs the claimed attempts concurrently (one per register) and stores every outcome in
    /// one transaction (ATOL-82..86).
    async fn run_attempts(
        &self,
        regs: &dyn AtolRegisters,
        jobs: Vec<(GroupRow, String, AtolDocumentRow)>,
        report: &mut DispatchReport,
    ) -> Result<(), String> {
        if jobs.is_empty() {
            return Ok(());
        }
        let results = futures_util::future::join_all(jobs.iter().map(|(group, register, d)| async move {
            match accepted(d, (d.attempts + 1) as u32) {
                Some(doc) => regs.register(register, group, &doc).await,
                None => Err(KktError::new(1)), // the stored body no longer reads: «Документ некорректен»
            }
        }))
        .await;
        let now = self.core.clock.now_ms();
        let ts: Vec<AtolTransition> = jobs
            .iter()
            .zip(results)
            .map(|((_, register, d), result)| self.outcome(d, register, result, report, now))
            .collect();
        self.core.store.atol_transition(&ts).await.map_err(internal)?;
        Ok(())
    }

    async fn group(&self, tenant: &str, code: &str) -> Result<Option<(GroupRow, Vec<RegisterRow>)>, String> {
        let Some(view) = self.core.store.tenant(tenant).await.map_err(internal)? else { return Ok(None) };
        let Some(group) = view.groups.into_iter().find(|g| g.code == code) else { return Ok(None) };
        let registers = view
            .registers
            .into_iter()
            .filter(|r| r.active && r.profile == RegisterProfile::Ru && r.group_code.as_deref() == Some(code))
            .collect();
        Ok(Some((group, registers)))
    }

    /// The transition an attempt's result leads to (ATOL-83..86); `d` is `in_progress`.
    fn outcome(
        &self,
        d: &AtolDocumentRow,
        register: &str,
        result: Result<kassa_domain::atol::report::Payload, KktError>,
        report: &mut DispatchReport,
        now: i64,
    ) -> AtolTransition {
        let attempts = d.attempts + 1;
        let from = DocState::InProgress;
        report.attempts += 1;
        match after_attempt(result, attempts as u32, &self.settings().policy) {
            AttemptOutcome::Done(p) => {
                report.done += 1;
                self.finish(d, from, DocState::Done, None, Some(&p), register, attempts, now)
            }
            AttemptOutcome::Failed(e) => {
                report.failed += 1;
                self.finish(d, from, DocState::Failed, Some(e), None, register, attempts, now)
            }
            AttemptOutcome::RetryWait(e) => {
                report.requeued += 1;
                AtolTransition {
                    uuid: d.uuid.clone(),
                    from_state: from.as_str().into(),
                    from_attempts: Some(d.attempts),
                    to_state: DocState::Queued.as_str().into(),
                    attempts,
                    error: Some(super::err_row(&e)),
                    daemon_code: self.settings().daemon_code.clone(),
                    device_code: register.to_owned(),
                    payload: None,
                    requeue_at_ms: Some(now),
                    callback: None,
                    now_ms: now,
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    //! The dispatcher over a scripted, test-only register (no fiscal engine here): retry classes,
    //! re-queue, even load, reserves, crash recovery. End to end over the engine:
    //! `crates/server/tests/atol/e2e.rs`.

    use super::*;
    use crate::atol::{AtolSettings, Authorized, DispatchState};
    use crate::{Clock, Core, ManualClock, SequenceIds};
    use async_trait::async_trait;
    use kassa_domain::atol::report::Payload;
    use kassa_money::Money;
    use std::collections::VecDeque;
    use std::sync::{Arc, Mutex};

    /// Per register: FN document counter, scripted failures, and the uuids it registered.
    #[derive(Default)]
    struct Script {
        fn_docs: BTreeMap<String, u64>,
        faults: BTreeMap<String, VecDeque<i32>>,
        paused: BTreeSet<String>,
        calls: Vec<(String, String)>,
        done: BTreeMap<String, Payload>,
    }

    #[derive(Default, Clone)]
    struct TestRegisters(Arc<Mutex<Script>>);

    #[async_trait]
    impl AtolRegisters for TestRegisters {
        async fn register(&self, id: &str, _g: &GroupRow, doc: &AcceptedDocument) -> Result<Payload, KktError> {
            let mut s = self.0.lock().unwrap();
            s.calls.push((id.to_owned(), doc.uuid.clone()));
            if let Some(p) = s.done.get(&doc.uuid) {
                return Ok(p.clone()); // idempotent per uuid, as the port demands
            }
            if let Some(code) = s.faults.get_mut(id).and_then(VecDeque::pop_front) {
                return Err(KktError::new(code));
            }
            let n = s.fn_docs.entry(id.to_owned()).or_default();
            *n += 1;
            let p = Payload {
                fiscal_receipt_number: 1,
                shift_number: 1,
                receipt_datetime: "29.05.2017 18:00:00".into(),
                total: doc.document.fiscal_total(),
                fn_number: "1110000100238211".into(),
                ecr_registration_number: "0000111118041361".into(),
                fiscal_document_number: *n,
                fiscal_document_attribute: 3_449_555_941,
                fns_site: "www.nalog.ru".into(),
            };
            s.done.insert(doc.uuid.clone(), p.clone());
            Ok(p)
        }
        async fn fn_documents(&self, id: &str) -> u64 {
            *self.0.lock().unwrap().fn_docs.get(id).unwrap_or(&0)
        }
        async fn available(&self, id: &str) -> bool {
            !self.0.lock().unwrap().paused.contains(id)
        }
    }

    const S: &str = include_str!("../../../domain/src/atol/testdata/s.json");

    async fn setup(settings: AtolSettings, reserve_as_main: bool) -> (Core, Arc<ManualClock>, tempfile::TempDir) {
        let dir = tempfile::tempdir().unwrap();
        let store = kassa_store_sqlite::SqliteStore::open(&dir.path().join("k.db")).unwrap();
        let clock = Arc::new(ManualClock::new(1_496_041_200_000));
        let core = Core::new(Arc::new(store), clock.clone()).with_ids(Arc::new(SequenceIds::default())).with_atol(settings);
        let mut t = crate::demo::tenant();
        if reserve_as_main {
            for r in &mut t.registers {
                r.role = kassa_domain::provisioning::RegisterRole::Main;
            }
        }
        core.provisioning().apply(&t).await.unwrap();
        (core, clock, dir)
    }

    fn auth() -> Authorized {
        Authorized { tenant_id: "demo".into(), login: "netletest".into(), groups: vec!["MyCompany_MyShop".into()] }
    }

    async fn sell(core: &Core, ext: &str) -> String {
        let body = S.replace("17052917561851307", ext);
        let uuid = core.atol().new_uuid();
        let (st, r) = core.atol().register(&auth(), "MyCompany_MyShop", Operation::Sell, uuid, Ok(body.as_bytes())).await;
        assert_eq!(st, 200, "{r:?}");
        r.uuid
    }

    async fn doc(core: &Core, uuid: &str) -> AtolDocumentRow {
        core.store.atol_document("demo", "MyCompany_MyShop", uuid).await.unwrap().unwrap()
    }

    #[tokio::test]
    async fn class_r_errors_retry_then_succeed_or_fail() {
        // ATOL-82, ATOL-83, ATOL-84, ATOL-85, ATOL-86 (TV-24, TV-25 with a scripted register)
        let (core, _clock, _d) = setup(AtolSettings::default(), false).await;
        let regs = TestRegisters::default();
        regs.0.lock().unwrap().faults.insert("KSR13.00-1-11".into(), VecDeque::from([-20]));
        let u = sell(&core, "tv24").await;
        let mut st = DispatchState::default();
        core.atol().dispatch_once(&regs, &mut st).await.unwrap();
        let (_, rep) = crate::atol::report_of(&doc(&core, &u).await).unwrap();
        assert_eq!((rep.status, rep.error.as_ref().unwrap().code, rep.device_code.as_str(), rep.daemon_code.as_str()),
            (kassa_domain::atol::Status::Wait, -20, "KSR13.00-1-11", "prod-agent-1"));
        core.atol().dispatch_once(&regs, &mut st).await.unwrap();
        let (http, rep) = crate::atol::report_of(&doc(&core, &u).await).unwrap();
        assert_eq!((http, rep.status, rep.error.clone()), (200, kassa_domain::atol::Status::Done, None));
        let p = rep.payload.unwrap();
        assert_eq!((p.fiscal_document_number, p.total), (1, Money::from_minor(761_200)), "the failed attempt used no number");
        // One callback row, for done only (TV-24).
        let cbs = core.store.atol_callbacks(&kassa_store::atol::AtolFilter { limit: 10, ..Default::default() }).await.unwrap();
        assert_eq!(cbs.len(), 1);
        assert!(cbs[0].body.contains("\"status\":\"done\""));
        core.atol().dispatch_once(&regs, &mut st).await.unwrap();
        assert_eq!(regs.0.lock().unwrap().calls.len(), 2, "final documents are never attempted again");

        // Three -20s: wait, wait, fail. One -3816: fail at once.
        regs.0.lock().unwrap().faults.insert("KSR13.00-1-11".into(), VecDeque::from([-20, -20, -20, -3816]));
        let u = sell(&core, "tv25").await;
        for expected in ["queued", "queued", "failed"] {
            core.atol().dispatch_once(&regs, &mut st).await.unwrap();
            assert_eq!(doc(&core, &u).await.state, expected);
        }
        let d = doc(&core, &u).await;
        assert_eq!((d.attempts, d.error.unwrap().code), (3, -20));
        let u = sell(&core, "tv25b").await;
        core.atol().dispatch_once(&regs, &mut st).await.unwrap();
        let d = doc(&core, &u).await;
        assert_eq!((d.state.as_str(), d.attempts, d.error.unwrap().text.as_str()), ("failed", 1, "Неверный вид оплаты"));
    }

    #[tokio::test]
    async fn even_load_picks_the_fn_with_fewer_documents() {
        // ATOL-6, ATOL-7 (TV-31: R2 configured as main with 10 documents, R1 with 132)
        let (core, _clock, _d) = setup(AtolSettings::default(), true).await;
        let regs = TestRegisters::default();
        regs.0.lock().unwrap().fn_docs.insert("KSR13.00-1-11".into(), 132);
        regs.0.lock().unwrap().fn_docs.insert("KSR13.00-1-12".into(), 10);
        let u = sell(&core, "tv31").await;
        core.atol().dispatch_once(&regs, &mut DispatchState::default()).await.unwrap();
        let d = doc(&core, &u).await;
        assert_eq!((d.state.as_str(), d.device_code.as_str()), ("done", "KSR13.00-1-12"));
        assert!(d.payload.unwrap().contains("\"fiscal_document_number\":11"));
    }

    #[tokio::test]
    async fn reserve_is_attached_past_the_threshold_and_fifo_is_kept() {
        // ATOL-5, ATOL-10 (TV-32: threshold 2, R1 paused, R2 reserve)
        let mut settings = AtolSettings::default();
        settings.policy.queue_threshold = 2;
        let (core, _clock, _d) = setup(settings, false).await;
        let regs = TestRegisters::default();
        regs.0.lock().unwrap().paused.insert("KSR13.00-1-11".into());
        let a = sell(&core, "r1").await;
        let b = sell(&core, "r2").await;
        let mut st = DispatchState::default();
        core.atol().dispatch_once(&regs, &mut st).await.unwrap();
        assert_eq!(doc(&core, &a).await.state, "queued", "queue 2 ≤ threshold: the reserve stays detached");
        let c = sell(&core, "r3").await;
        core.atol().dispatch_once(&regs, &mut st).await.unwrap();
        let d = doc(&core, &a).await;
        assert_eq!((d.state.as_str(), d.device_code.as_str()), ("done", "KSR13.00-1-12"), "head of the queue first");
        for u in [&b, &c] {
            core.atol().dispatch_once(&regs, &mut st).await.unwrap();
            assert_eq!(doc(&core, u).await.state, "done");
        }
    }

    #[tokio::test]
    async fn documents_left_in_progress_are_finished_once_after_a_restart() {
        // ATOL-85: a crash between claim and result: the register is asked again (idempotent
        // per uuid) and the document ends done exactly once.
        let (core, clock, _d) = setup(AtolSettings::default(), false).await;
        let regs = TestRegisters::default();
        // A dispatcher that has been running (its first step is behind it).
        let mut running = DispatchState::default();
        core.atol().dispatch_once(&regs, &mut running).await.unwrap();
        let u = sell(&core, "crash").await;
        let claim = AtolTransition {
            uuid: u.clone(),
            from_state: "queued".into(),
            from_attempts: Some(0),
            to_state: "in_progress".into(),
            attempts: 0,
            error: None,
            daemon_code: "prod-agent-1".into(),
            device_code: "KSR13.00-1-11".into(),
            payload: None,
            requeue_at_ms: None,
            callback: None,
            now_ms: clock.now_ms(),
        };
        core.store.atol_transition(std::slice::from_ref(&claim)).await.unwrap();
        core.atol().dispatch_once(&regs, &mut running).await.unwrap();
        assert!(regs.0.lock().unwrap().calls.is_empty(), "within its lease (another node may hold it)");
        clock.advance_ms(61_000);
        core.atol().dispatch_once(&regs, &mut running).await.unwrap();
        let d = doc(&core, &u).await;
        assert_eq!((d.state.as_str(), d.device_code.as_str(), d.attempts), ("done", "KSR13.00-1-11", 1));
        assert_eq!(regs.0.lock().unwrap().calls, vec![("KSR13.00-1-11".to_owned(), u.clone())]);
        // A restarted process (a fresh state) takes what is in progress at its first step.
        let v = sell(&core, "crash-2").await;
        core.store.atol_transition(&[AtolTransition { uuid: v.clone(), now_ms: clock.now_ms(), ..claim }]).await.unwrap();
        core.atol().dispatch_once(&regs, &mut DispatchState::default()).await.unwrap();
        assert_eq!(doc(&core, &v).await.state, "done");
        assert_eq!(regs.0.lock().unwrap().calls.len(), 2, "each document asked once");
    }

    #[tokio::test]
    async fn timeout_applies_between_attempts_and_keeps_the_device() {
        // ATOL-81, ATOL-84, ATOL-94 (failed by timeout: device of the last attempt)
        let (core, clock, _d) = setup(AtolSettings::default(), false).await;
        let regs = TestRegisters::default();
        regs.0.lock().unwrap().faults.insert("KSR13.00-1-11".into(), VecDeque::from([-1]));
        let u = sell(&core, "to").await;
        let mut st = DispatchState::default();
        core.atol().dispatch_once(&regs, &mut st).await.unwrap();
        regs.0.lock().unwrap().paused.insert("KSR13.00-1-11".into());
        clock.advance_ms(300_000);
        assert_eq!(core.atol().expire_queued(10).await.unwrap(), 0, "300 s exactly is not over");
        clock.advance_ms(1_000);
        assert_eq!(core.atol().expire_queued(10).await.unwrap(), 1);
        let (_, rep) = crate::atol::report_of(&doc(&core, &u).await).unwrap();
        let e = rep.error.unwrap();
        assert_eq!((e.code, e.kind.as_str(), rep.device_code.as_str()), (1, "timeout", "KSR13.00-1-11"));
    }
}
