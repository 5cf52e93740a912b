//! Conformance cases of the FiscalStore port.

use crate::{Harness, full_tenant};
use kassa_domain::fiscal::ru::{self, Item, Operation, Payment, Receipt};
use kassa_domain::fiscal::{Command, FiscalError, Policy};
use kassa_money::{Money, Quantity};
use kassa_store::fiscal::{ApplyOptions, JournalEntry, Verifier};
use kassa_store::{Store, StoreError};
use std::sync::Arc;

/// Generates one `#[tokio::test]` per fiscal conformance case.
#[macro_export]
macro_rules! fiscal_suite {
    ($make:expr) => {
        $crate::fiscal_suite!(@cases $make;
            fiscal_numbering_is_gapless_and_journal_verifies, fiscal_refusal_changes_nothing,
            fiscal_concurrent_commands_never_reuse_a_number, fiscal_state_survives_restart,
            fiscal_outbox_in_order_and_unsent_summary, fiscal_unknown_and_inactive_registers,
            fiscal_keyed_command_registers_once_per_tenant,
            fiscal_kz_refusal_keeps_state_and_drained_outbox_leaves_autonomous_mode);
    };
    (@cases $make:expr; $($case:ident),*) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $case() {
                match $make.await {
                    Some(h) => $crate::fiscal::$case(&h).await,
                    None => eprintln!("SKIPPED {}: backend not enabled", stringify!($case)),
                }
            }
        )*
    };
}

const T0: i64 = 1_767_225_600_000;

fn opts(now_ms: i64) -> ApplyOptions {
    ApplyOptions { now_ms, policy: Policy::default(), fault: None }
}

/// A cash sell of `minor` kopecks as one position.
pub fn sell(minor: i64) -> Command {
    Command::Ru(ru::Command::Receipt(Receipt {
        operation: Operation::Sell,
        items: vec![Item {
            name: "Товар".into(),
            price: Money::from_minor(minor),
            quantity: Quantity::ONE,
            sum: Money::from_minor(minor),
            tax: "vat20".into(),
            tax_sum: Money::ZERO,
            section: 1,
        }],
        payments: vec![Payment { kind: 0, sum: Money::from_minor(minor) }],
        total: Money::from_minor(minor),
        sno: Some("osn".into()),
        service: None,
        cashier: None,
    }))
}

async fn provisioned(h: &dyn Harness) -> (Arc<dyn Store>, String) {
    let store = h.open().await;
    store.apply_tenant(&full_tenant("fis"), T0).await.expect("apply");
    (store, "fis-ru-1".to_owned())
}

async fn run(store: &dyn Store, id: &str, c: Command, now: i64) -> Vec<JournalEntry> {
    store.fiscal_apply(id, &c, opts(now)).await.expect("store").expect("accepted")
}

/// Verifies a register's whole journal through the port; returns the number of entries.
pub async fn verify(store: &dyn Store, id: &str) -> Result<u64, String> {
    let secrets = store.fiscal_secrets(id).await.map_err(|e| e.to_string())?.ok_or("no state row")?;
    let mut v = Verifier::new(&secrets).map_err(|p| p.to_string())?;
    let mut after = 0;
    loop {
        let page = store.fiscal_journal(id, after, 100).await.map_err(|e| e.to_string())?;
        let Some(last) = page.last() else { break };
        after = last.seq;
        for e in &page {
            v.push(e).map_err(|p| p.to_string())?;
        }
    }
    v.finish(&secrets).map_err(|p| p.to_string())
}

pub async fn fiscal_numbering_is_gapless_and_journal_verifies(h: &dyn Harness) {
    let (store, id) = provisioned(h).await;
    let first = run(&*store, &id, sell(10_000), T0).await;
    assert_eq!(first.iter().map(|e| (e.seq, e.kind.as_str(), e.number)).collect::<Vec<_>>(), [(1, "open_shift", 1), (2, "receipt", 2)]);
    assert_eq!(first[0].prev_hash, kassa_domain::fiscal::GENESIS_HASH);
    assert_eq!(first[1].prev_hash, first[0].hash);
    run(&*store, &id, Command::Ru(ru::Command::XReport), T0 + 1).await;
    run(&*store, &id, sell(250), T0 + 2).await;
    let z = run(&*store, &id, Command::Ru(ru::Command::CloseShift { cashier: None }), T0 + 3).await;
    assert_eq!((z[0].seq, z[0].number, z[0].fiscal), (5, 4, true));
    assert_eq!(verify(&*store, &id).await, Ok(5));
    let rec = store.fiscal_register(&id).await.unwrap().unwrap();
    let Some(kassa_domain::fiscal::RegisterState::Ru(s)) = rec.state else { panic!("RU state") };
    assert_eq!((s.last_fiscal_number, s.shift_number, s.shift_open, s.cash), (4, 1, false, Money::from_minor(10_250)));
    assert_eq!(rec.last_seq, 5);
    // Money is exact through the store.
    let j = store.fiscal_journal(&id, 0, 10).await.unwrap();
    assert_eq!(j[3].total, Money::from_minor(250));
}

pub async fn fiscal_refusal_changes_nothing(h: &dyn Harness) {
    let (store, id) = provisioned(h).await;
    run(&*store, &id, sell(1000), T0).await;
    let before = store.fiscal_register(&id).await.unwrap().unwrap();
    let out = store
        .fiscal_apply(&id, &Command::Ru(ru::Command::CashOut { sum: Money::from_minor(5000) }), opts(T0 + 1))
        .await
        .unwrap();
    assert!(matches!(out, Err(FiscalError::NotEnoughCash { .. })), "{out:?}");
    // ATOL-88 step 1: an injected fault is refused and consumes no number.
    let out = store.fiscal_apply(&id, &sell(1), ApplyOptions { fault: Some(-3822), ..opts(T0 + 2) }).await.unwrap();
    assert_eq!(out, Err(FiscalError::InjectedFault { code: -3822 }));
    let after = store.fiscal_register(&id).await.unwrap().unwrap();
    assert_eq!(before, after);
    let next = run(&*store, &id, sell(1), T0 + 3).await;
    assert_eq!(next[0].number, 3);
}

pub async fn fiscal_concurrent_commands_never_reuse_a_number(h: &dyn Harness) {
    let (store, id) = provisioned(h).await;
    let mut tasks = Vec::new();
    for i in 0..40 {
        let (store, id) = (store.clone(), id.clone());
        tasks.push(tokio::spawn(async move { run(&*store, &id, sell(100 + i), T0).await }));
    }
    let mut numbers = Vec::new();
    for t in tasks {
        numbers.extend(t.await.expect("task").into_iter().filter(|e| e.kind == "receipt").map(|e| e.number));
    }
    numbers.sort_unstable();
    // One shift opening (number 1) and 40 receipts numbered 2..=41, each exactly once.
    assert_eq!(numbers, (2..=41).collect::<Vec<u64>>());
    assert_eq!(verify(&*store, &id).await, Ok(41));
}

pub async fn fiscal_state_survives_restart(h: &dyn Harness) {
    let (store, id) = provisioned(h).await;
    run(&*store, &id, sell(700), T0).await;
    store.close().await;
    drop(store);
    let store = h.open().await;
    let next = run(&*store, &id, sell(300), T0 + 1).await;
    assert_eq!((next[0].number, next[0].receipt_number, next[0].prev_hash.len()), (3, Some(2), 64));
    assert_eq!(verify(&*store, &id).await, Ok(3));
}

pub async fn fiscal_outbox_in_order_and_unsent_summary(h: &dyn Harness) {
    let (store, id) = provisioned(h).await;
    run(&*store, &id, sell(100), T0).await;
    run(&*store, &id, Command::Ru(ru::Command::CashIn { sum: Money::from_minor(5) }), T0 + 10).await;
    run(&*store, &id, sell(200), T0 + 20).await;
    // ITK-98: unsent count, first unsent number and date; non-fiscal documents do not go to the OFD.
    let rec = store.fiscal_register(&id).await.unwrap().unwrap();
    assert_eq!((rec.unsent.count, rec.unsent.first_number, rec.unsent.first_time_ms), (3, Some(1), Some(T0)));
    assert_eq!(store.fiscal_outbox_registers(10).await.unwrap(), vec![id.clone()]);
    let out = store.fiscal_outbox(&id, 10).await.unwrap();
    assert_eq!(out.iter().map(|e| e.seq).collect::<Vec<_>>(), [1, 2, 4]);
    assert_eq!(store.fiscal_mark_delivered(&id, 2, T0 + 30).await.unwrap(), 2);
    let rec = store.fiscal_register(&id).await.unwrap().unwrap();
    assert_eq!((rec.unsent.count, rec.unsent.first_number, rec.unsent.first_seq), (1, Some(3), Some(4)));
    assert_eq!(store.fiscal_mark_delivered(&id, 4, T0 + 40).await.unwrap(), 1);
    assert!(store.fiscal_outbox_registers(10).await.unwrap().is_empty());
    // Delivery flags are outside the chain: the journal still verifies.
    assert_eq!(verify(&*store, &id).await, Ok(4));
}

pub async fn fiscal_unknown_and_inactive_registers(h: &dyn Harness) {
    let (store, _) = provisioned(h).await;
    let e = store.fiscal_apply("nope", &sell(1), opts(T0)).await.unwrap_err();
    assert!(matches!(e, StoreError::NotFound(_)), "{e:?}");
    assert!(store.fiscal_register("nope").await.unwrap().is_none());
    let mut t = full_tenant("fis");
    t.registers.retain(|r| r.id != "fis-ru-2");
    store.apply_tenant(&t, T0 + 1).await.unwrap();
    assert_eq!(store.fiscal_apply("fis-ru-2", &sell(1), opts(T0)).await.unwrap(), Err(FiscalError::Inactive));
}

/// A keyed command is registered once per tenant: a retry, on the same or another register of
/// the tenant, returns the first entry and uses no number; a refusal stores no key.
pub async fn fiscal_keyed_command_registers_once_per_tenant(h: &dyn Harness) {
    let (store, id) = provisioned(h).await;
    let first = store.fiscal_apply_keyed(&id, "doc-1", &sell(1_000), opts(T0)).await.expect("store").expect("accepted");
    assert_eq!(first.iter().map(|e| e.kind.as_str()).collect::<Vec<_>>(), ["open_shift", "receipt"]);
    let receipt = first.last().unwrap().clone();
    let again = store.fiscal_apply_keyed(&id, "doc-1", &sell(1_000), opts(T0 + 1)).await.expect("store").expect("accepted");
    assert_eq!(again, vec![receipt.clone()], "the stored entry, nothing new");
    let other = store.fiscal_apply_keyed("fis-ru-2", "doc-1", &sell(1_000), opts(T0 + 2)).await.expect("store").expect("ok");
    assert_eq!(other, vec![receipt.clone()], "unique per tenant, not per register");
    assert!(store.fiscal_journal("fis-ru-2", 0, 10).await.unwrap().is_empty());
    assert_eq!(store.fiscal_keyed_entry("fis", "doc-1").await.unwrap(), Some(receipt.clone()));
    assert_eq!(store.fiscal_keyed_entry("fis", "doc-2").await.unwrap(), None);
    assert_eq!(store.fiscal_keyed_entry("other", "doc-1").await.unwrap(), None);
    // A refusal stores no key: the same key registers once the command is right.
    let refused = store.fiscal_apply_keyed(&id, "doc-2", &sell(0), opts(T0 + 3)).await.expect("store");
    assert!(refused.is_err());
    assert_eq!(store.fiscal_keyed_entry("fis", "doc-2").await.unwrap(), None);
    let second = store.fiscal_apply_keyed(&id, "doc-2", &sell(500), opts(T0 + 4)).await.expect("store").expect("ok");
    assert_eq!(second.len(), 1);
    assert_eq!(second[0].number, receipt.number + 1, "gapless: the retry used no number");
    // Concurrent retries of one key register it once.
    let mut tasks = Vec::new();
    for i in 0..8 {
        let s = store.clone();
        let reg = if i % 2 == 0 { id.clone() } else { "fis-ru-2".to_owned() };
        tasks.push(tokio::spawn(async move { s.fiscal_apply_keyed(&reg, "doc-3", &sell(700), opts(T0 + 10)).await }));
    }
    let mut ok = Vec::new();
    for t in tasks {
        if let Ok(Ok(v)) = t.await.unwrap() {
            ok.push(v.last().unwrap().clone());
        }
    }
    assert!(!ok.is_empty());
    assert!(ok.iter().all(|e| e == &ok[0]), "every success names the same entry");
    let receipts = |j: Vec<JournalEntry>| j.into_iter().filter(|e| e.kind == "receipt").count();
    let n = receipts(store.fiscal_journal(&id, 0, 100).await.unwrap()) + receipts(store.fiscal_journal("fis-ru-2", 0, 100).await.unwrap());
    assert_eq!(n, 3, "doc-1, doc-2 and doc-3 once each");
    verify(store.as_ref(), &id).await.expect("journal verifies");
}

/// KZ (cash core): a refusal that keeps a state change (CORE-94 Blocked: 62 with the flags
/// stored, nothing journaled), autonomous documents waiting in the outbox (CORE-95), and the
/// delivery of the last one leaving autonomous mode in the same transaction (CORE-96).
pub async fn fiscal_kz_refusal_keeps_state_and_drained_outbox_leaves_autonomous_mode(h: &dyn Harness) {
    use kassa_domain::fiscal::RegisterState;
    use kassa_domain::fiscal::kz::{KzCommand, KzRegister, Submission};
    use kassa_domain::kz;
    let (store, _) = provisioned(h).await;
    let id = "fis-kz-1";
    let kkm = |store: Arc<dyn Store>| async move {
        match store.fiscal_register(id).await.unwrap().unwrap().state {
            Some(RegisterState::Kz(r)) => r,
            other => panic!("KZ state expected: {other:?}"),
        }
    };
    let deposit = |based_on: &kz::KkmState, outcomes: Vec<kz::OfdOutcome>| {
        let mut c = KzCommand::new(
            kz::Command::MoneyPlacement(kz::MoneyPlacementRequest { operation: 0, sum: Money::from_minor(1_000) }),
            kz::Caller { code: 1, name: "Administrator".into() },
        );
        c.submission = Some(Submission { based_on: Box::new(based_on.clone()), config: kz::KkmConfig::new("http://c"), outcomes });
        Command::Kz(c)
    };
    let identity = store.fiscal_register(id).await.unwrap().unwrap().identity;
    let fresh = KzRegister::initial(&identity, T0).kkm;
    let blocked = store
        .fiscal_apply(id, &deposit(&fresh, vec![kz::OfdOutcome::Blocked { text: "blocked by the OFD".into() }]), opts(T0))
        .await
        .unwrap();
    assert_eq!(blocked, Err(FiscalError::Kz(kz::KzError::KkmIsBlocked)));
    let after = kkm(store.clone()).await;
    assert!(after.kkm.is_blocked && after.documents == 0);
    assert!(store.fiscal_journal(id, 0, 10).await.unwrap().is_empty());
    // Prepared on the state before the block: stale.
    assert_eq!(store.fiscal_apply(id, &deposit(&fresh, vec![kz::OfdOutcome::Unreachable]), opts(T0)).await.unwrap(), Err(FiscalError::Stale));
    let first = run(&*store, id, deposit(&after.kkm, vec![kz::OfdOutcome::Unreachable]), T0 + 1).await;
    let offline = kkm(store.clone()).await;
    assert!(offline.kkm.is_offline && first[0].pending);
    // Autonomous: not submitted, queued.
    let second = run(&*store, id, deposit(&offline.kkm, vec![]), T0 + 2).await;
    assert_eq!((first[0].seq, second[0].seq, second[0].number), (1, 2, 2));
    assert_eq!(store.fiscal_mark_delivered(id, 1, T0 + 3).await.unwrap(), 1);
    assert!(kkm(store.clone()).await.kkm.is_offline, "one record is still undelivered");
    assert_eq!(store.fiscal_mark_delivered(id, 2, T0 + 4).await.unwrap(), 1);
    let online = kkm(store.clone()).await;
    assert!(!online.kkm.is_offline && online.kkm.offline_start_date.is_none());
    assert_eq!(online.kkm.cash_sum, Money::from_minor(2_000));
    assert_eq!(verify(&*store, id).await, Ok(2));
}
