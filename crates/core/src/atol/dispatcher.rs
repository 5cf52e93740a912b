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
    recovered: bool,
    idle_since: BTreeMap<String, i64>,
    /// Attached reserves per (tenant, group), and since when the queue is at or below the threshold.
    attached: BTreeMap<(String, String), (BTreeSet<String>, Option<i64>)>,
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
        if !state.recovered {
            for d in self.core.store.atol_in_progress(1_000).await.map_err(internal)? {
                let Some((group, _)) = self.group(&d.tenant_id, &d.group_code).await? else { continue };
                self.attempt(regs, &group, &d.device_code.clone(), d, DocState::InProgress, &mut report).await?;
            }
            state.recovered = true;
        }
        let policy = self.settings().policy;
        for (tenant, code, len) in self.core.store.atol_queued_groups().await.map_err(internal)? {
            let Some((group, registers)) = self.group(&tenant, &code).await? else { continue };
            let now = self.core.clock.now_ms();
            let mains: Vec<&RegisterRow> = registers.iter().filter(|r| r.role == RegisterRole::Main).collect();
            let reserves: Vec<&RegisterRow> = registers.iter().filter(|r| r.role == RegisterRole::Reserve).collect();
            let entry = state.attached.entry((tenant.clone(), code.clone())).or_default();
            // ATOL-10: attach reserves past the threshold; detach after 10 minutes at or below it.
            if len as usize > policy.queue_threshold {
                entry.1 = None;
                let free: Vec<&&RegisterRow> = reserves.iter().filter(|r| !entry.0.contains(&r.id)).collect();
                let n = reserves_to_attach(len as usize, &policy, len as u64, PER_REGISTER_PER_MIN, mains.len() + entry.0.len(), free.len());
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
            let heads = self.core.store.atol_queue(&tenant, &code, loads.len() as i64).await.map_err(internal)?;
            for d in heads {
                if is_timed_out(d.queued_at_ms, self.core.clock.now_ms(), &policy) {
                    continue; // the timeout worker fails it (ATOL-81)
                }
                let Some(chosen) = choose_register(&loads).map(|r| r.id.clone()) else { break };
                if let Some(l) = loads.iter_mut().find(|l| l.id == chosen) {
                    l.busy = true;
                }
                // Claim: queued → in_progress on this register (compare-and-set).
                let now = self.core.clock.now_ms();
                let claim = AtolTransition {
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
                };
                if !self.core.store.atol_transition(&[claim]).await.map_err(internal)?[0] {
                    continue;
                }
                self.attempt(regs, &group, &chosen, d, DocState::InProgress, &mut report).await?;
                state.idle_since.insert(chosen, self.core.clock.now_ms());
            }
        }
        Ok(report)
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

    /// One attempt of `d` on `register` and its stored outcome (ATOL-82..86).
    async fn attempt(
        &self,
        regs: &dyn AtolRegisters,
        group: &GroupRow,
        register: &str,
        d: AtolDocumentRow,
        from: DocState,
        report: &mut DispatchReport,
    ) -> Result<(), String> {
        let attempts = d.attempts + 1;
        let result = match accepted(&d, attempts as u32) {
            Some(doc) => regs.register(register, group, &doc).await,
            None => Err(KktError::new(1)), // stored body no longer reads: «Документ некорректен»
        };
        report.attempts += 1;
        let now = self.core.clock.now_ms();
        let t = match after_attempt(result, attempts as u32, &self.settings().policy) {
            AttemptOutcome::Done(p) => {
                report.done += 1;
                self.finish(&d, from, DocState::Done, None, Some(&p), register, attempts, now)
            }
            AttemptOutcome::Failed(e) => {
                report.failed += 1;
                self.finish(&d, from, DocState::Failed, Some(e), None, register, attempts, now)
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
        };
        self.core.store.atol_transition(&[t]).await.map_err(internal)?;
        Ok(())
    }
}
