//! The dispatch policy of §7, pure: what an attempt's result does to a document (ATOL-82..85),
//! which register takes the next document (ATOL-6/7), how many reserves to attach (ATOL-10),
//! and when a queued document times out (ATOL-81).

use super::errors::{AtolError, KktError, RetryClass, ServiceError};
use super::report::Payload;

/// Tunables of the queue (§13.1 fixture values are the defaults).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct QueuePolicy {
    /// ATOL-81: a document not taken within this time fails with the queue timeout.
    pub queue_timeout_ms: i64,
    /// ATOL-84 (D-33): attempts before a class-R error becomes final.
    pub max_attempts: u32,
    /// ATOL-10 (D-5): queue length above which reserves are attached.
    pub queue_threshold: usize,
}

impl Default for QueuePolicy {
    fn default() -> Self {
        Self { queue_timeout_ms: 300_000, max_attempts: 3, queue_threshold: 100 }
    }
}

/// What happens to a document after one attempt.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AttemptOutcome {
    /// ATOL-82/86: fiscalized.
    Done(Payload),
    /// ATOL-84: class R with attempts left — back to the tail of the queue with the error kept.
    RetryWait(AtolError),
    /// ATOL-84: class F, or attempts used up — final with the last error.
    Failed(AtolError),
}

/// ATOL-83/84: `attempts` counts the attempt just made (1 for the first).
pub fn after_attempt(result: Result<Payload, KktError>, attempts: u32, policy: &QueuePolicy) -> AttemptOutcome {
    match result {
        Ok(p) => AttemptOutcome::Done(p),
        Err(e) => {
            let (error, class) = e.classify();
            if class == RetryClass::Retry && attempts < policy.max_attempts {
                AttemptOutcome::RetryWait(error)
            } else {
                AttemptOutcome::Failed(error)
            }
        }
    }
}

/// ATOL-81 (D-32): time in the queue counts from acceptance or the last re-queue.
pub fn is_timed_out(queued_at_ms: i64, now_ms: i64, policy: &QueuePolicy) -> bool {
    now_ms - queued_at_ms > policy.queue_timeout_ms
}

/// The queue-timeout error (ATOL-81).
pub fn timeout_error() -> AtolError {
    ServiceError::QueueTimeout.to_error()
}

/// A register of the group as the dispatcher sees it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RegisterLoad {
    pub id: String,
    /// Main registers take documents; reserves only once attached (ATOL-10).
    pub reserve: bool,
    pub attached: bool,
    pub active: bool,
    /// Handling a document now (ATOL-6: one at a time).
    pub busy: bool,
    /// Fiscal documents its FN has registered (ATOL-7).
    pub fn_documents: u64,
    /// When it last became idle.
    pub idle_since_ms: i64,
}

/// ATOL-6/7 (D-3): among the idle, active, usable registers, the one whose FN has the fewest
/// documents; ties go to the one idle longest, then by id for determinism.
pub fn choose_register(registers: &[RegisterLoad]) -> Option<&RegisterLoad> {
    registers
        .iter()
        .filter(|r| r.active && !r.busy && (!r.reserve || r.attached))
        .min_by(|a, b| (a.fn_documents, a.idle_since_ms, &a.id).cmp(&(b.fn_documents, b.idle_since_ms, &b.id)))
}

/// ATOL-10 (D-5): how many reserves to attach now. Above the threshold,
/// `ceil(rate / per_register_rate) − active`, clamped to `1..=available`; otherwise none.
pub fn reserves_to_attach(
    queue_len: usize,
    policy: &QueuePolicy,
    incoming_per_min: u64,
    per_register_per_min: u64,
    active_registers: usize,
    reserves_available: usize,
) -> usize {
    if queue_len <= policy.queue_threshold || reserves_available == 0 {
        return 0;
    }
    let needed = incoming_per_min.div_ceil(per_register_per_min.max(1)) as usize;
    needed.saturating_sub(active_registers).clamp(1, reserves_available)
}

/// ATOL-9 (D-4): documents accepted in a sliding 60-second window, in one-second buckets.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RateWindow {
    buckets: std::collections::VecDeque<(i64, u64)>,
}

impl RateWindow {
    pub const WINDOW_MS: i64 = 60_000;

    pub fn record(&mut self, now_ms: i64) {
        let sec = now_ms.div_euclid(1000);
        match self.buckets.back_mut() {
            Some((s, n)) if *s == sec => *n += 1,
            _ => self.buckets.push_back((sec, 1)),
        }
        self.trim(now_ms);
    }

    fn trim(&mut self, now_ms: i64) {
        let oldest = (now_ms - Self::WINDOW_MS).div_euclid(1000);
        while self.buckets.front().is_some_and(|(s, _)| *s <= oldest) {
            self.buckets.pop_front();
        }
    }

    /// Documents accepted in the 60 seconds before `now_ms`.
    pub fn per_minute(&mut self, now_ms: i64) -> u64 {
        self.trim(now_ms);
        self.buckets.iter().map(|(_, n)| n).sum()
    }
}

/// ATOL-11 (D-5): `max(1, ceil(peak_rate × mean_registration_time))`, rate per second and time
/// in milliseconds.
pub fn recommended_registers(peak_per_sec: u64, mean_registration_ms: u64) -> u64 {
    (peak_per_sec * mean_registration_ms).div_ceil(1000).max(1)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::atol::ErrorType;

    fn payload() -> Payload {
        Payload {
            fiscal_receipt_number: 1,
            shift_number: 1,
            receipt_datetime: "29.05.2017 18:00:00".into(),
            total: kassa_money::Money::from_minor(100),
            fn_number: "1".into(),
            ecr_registration_number: "1".into(),
            fiscal_document_number: 1,
            fiscal_document_attribute: 1,
            fns_site: "www.nalog.ru".into(),
        }
    }

    #[test]
    fn retry_classes_and_max_attempts() {
        // ATOL-83, ATOL-84, ATOL-85 (TV-24/TV-25 policy)
        let p = QueuePolicy::default();
        assert!(matches!(after_attempt(Ok(payload()), 1, &p), AttemptOutcome::Done(_)));
        match after_attempt(Err(KktError::new(-20)), 1, &p) {
            AttemptOutcome::RetryWait(e) => assert_eq!((e.code, e.kind), (-20, ErrorType::Driver)),
            o => panic!("{o:?}"),
        }
        assert!(matches!(after_attempt(Err(KktError::new(-20)), 2, &p), AttemptOutcome::RetryWait(_)));
        assert!(matches!(after_attempt(Err(KktError::new(-20)), 3, &p), AttemptOutcome::Failed(e) if e.code == -20));
        match after_attempt(Err(KktError::new(-3816)), 1, &p) {
            AttemptOutcome::Failed(e) => assert_eq!(e.text, "Неверный вид оплаты"),
            o => panic!("{o:?}"),
        }
        // Agent error 2 is final at once (ATOL-87).
        assert!(matches!(after_attempt(Err(KktError::new(2)), 1, &p), AttemptOutcome::Failed(e) if e.kind == ErrorType::Agent));
    }

    #[test]
    fn queue_timeout_boundary() {
        // ATOL-81 (TV-26: 299 s wait, 301 s fail)
        let p = QueuePolicy::default();
        assert!(!is_timed_out(0, 299_000, &p));
        assert!(!is_timed_out(0, 300_000, &p));
        assert!(is_timed_out(0, 301_000, &p));
        assert_eq!(timeout_error().kind, ErrorType::Timeout);
    }

    fn reg(id: &str, reserve: bool, fn_documents: u64, idle: i64) -> RegisterLoad {
        RegisterLoad { id: id.into(), reserve, attached: false, active: true, busy: false, fn_documents, idle_since_ms: idle }
    }

    #[test]
    fn even_load_over_fiscal_storages() {
        // ATOL-6, ATOL-7 (TV-31: R2 with 10 documents beats R1 with 132)
        let regs = vec![reg("KSR13.00-1-11", false, 132, 0), reg("KSR13.00-1-12", false, 10, 5)];
        assert_eq!(choose_register(&regs).unwrap().id, "KSR13.00-1-12");
        let regs = vec![reg("a", false, 10, 50), reg("b", false, 10, 20)];
        assert_eq!(choose_register(&regs).unwrap().id, "b", "tie → idle longest");
        let mut regs = vec![reg("a", false, 1, 0), reg("r", true, 0, 0)];
        assert_eq!(choose_register(&regs).unwrap().id, "a", "a reserve waits until attached");
        regs[0].busy = true;
        assert!(choose_register(&regs).is_none());
        regs[1].attached = true;
        assert_eq!(choose_register(&regs).unwrap().id, "r");
        regs[1].active = false;
        assert!(choose_register(&regs).is_none());
    }

    #[test]
    fn incoming_rate_is_a_sliding_minute() {
        // ATOL-9 (D-4)
        let mut w = RateWindow::default();
        for t in [0, 10, 999, 1_000, 30_000] {
            w.record(t);
        }
        assert_eq!(w.per_minute(30_000), 5);
        assert_eq!(w.per_minute(60_500), 2, "the first second's three left the window");
        assert_eq!(w.per_minute(91_000), 0);
    }

    #[test]
    fn reserves_past_the_threshold() {
        // ATOL-10 (TV-32: threshold 2, queue 3 → one reserve), ATOL-11
        let p = QueuePolicy { queue_threshold: 2, ..QueuePolicy::default() };
        assert_eq!(reserves_to_attach(2, &p, 3, 60, 1, 1), 0);
        assert_eq!(reserves_to_attach(3, &p, 3, 60, 1, 1), 1);
        assert_eq!(reserves_to_attach(500, &p, 600, 60, 1, 4), 4);
        assert_eq!(reserves_to_attach(500, &p, 600, 60, 1, 0), 0);
        assert_eq!(recommended_registers(0, 200), 1);
        assert_eq!(recommended_registers(50, 200), 10);
    }
}
