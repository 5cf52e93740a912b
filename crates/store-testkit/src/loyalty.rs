//! Conformance cases of the LoyaltyStore port.

use crate::Harness;
use kassa_domain::loyalty::ledger::{Entry, EntryKind};
use kassa_domain::loyalty::wire::ClientKey;
use kassa_domain::provisioning::{LoyaltyRule, LoyaltySpec, RuleTarget, TenantSpec};
use kassa_money::{Money, Percent};
use kassa_store::StoreError;
use kassa_store::loyalty::*;

/// Generates one `#[tokio::test]` per loyalty conformance case.
#[macro_export]
macro_rules! loyalty_suite {
    ($make:expr) => {
        mod loyalty_conformance {
            use super::*;
            $crate::loyalty_suite!(@cases $make;
                loyalty_clients_cards_and_tenants, loyalty_commit_is_all_or_nothing,
                loyalty_versions_and_holds_guard_commits, loyalty_snapshot_reads_documents_holds_and_codes,
                loyalty_audit_lists_and_reads, loyalty_concurrent_commits_keep_the_ledger_balanced,
                loyalty_snapshot_sees_every_acknowledged_change);
        }
    };
    (@cases $make:expr; $($case:ident),*) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $case() {
                match $make.await {
                    Some(h) => $crate::loyalty::$case(&h).await,
                    None => eprintln!("SKIPPED {}: backend not enabled", stringify!($case)),
                }
            }
        )*
    };
}

const T: &str = "loy";

async fn setup(h: &dyn Harness) -> std::sync::Arc<dyn kassa_store::Store> {
    let s = h.open().await;
    let mut t = TenantSpec::new(T, "Loyalty");
    t.loyalty = Some(LoyaltySpec {
        access_key: Some("password".into()),
        rules: vec![LoyaltyRule::ItemDiscount { id: "d".into(), target: RuleTarget::All, percent: Percent::from_basis_points(500) }],
    });
    s.apply_tenant(&t, 1).await.unwrap();
    let c = ClientRow {
        id: "c1".into(),
        name: "One".into(),
        phone: Some("+79000000001".into()),
        email: None,
        blocked: false,
        requires_validation: false,
        cards: vec!["111".into(), "222".into()],
    };
    assert!(s.loyalty_put_client(T, &c, 1).await.unwrap());
    s
}

fn entry(kind: EntryKind, minor: i64) -> Entry {
    Entry { client_id: "c1".into(), kind, amount: Money::from_minor(minor), available_at_ms: 0, doc_uid: Some("u".into()), note: String::new() }
}

fn audit(code: i64) -> AuditRecord {
    AuditRecord {
        id: 0,
        received_at_ms: 5,
        path: "/frontol/document".into(),
        action: Some("confirm".into()),
        uid: Some("u".into()),
        request: "{ \"raw\": 1 }".into(),
        code,
        response: "{}".into(),
        flagged: code != 0,
        note: "n".into(),
    }
}

fn q(client: Option<ClientKey>) -> SnapshotQuery {
    SnapshotQuery { client, now_ms: 10, ..Default::default() }
}

pub async fn loyalty_clients_cards_and_tenants(h: &dyn Harness) {
    let s = setup(h).await;
    let tenants = s.loyalty_tenants().await.unwrap();
    assert_eq!(tenants, vec![LoyaltyTenant { tenant_id: T.into(), access_key: Some("password".into()) }]);
    for key in [ClientKey::Card("111".into()), ClientKey::Card("222".into()), ClientKey::Phone("+79000000001".into())] {
        let snap = s.loyalty_snapshot(T, &q(Some(key))).await.unwrap();
        assert_eq!(snap.client.unwrap().client.cards, vec!["111".to_owned(), "222".to_owned()]);
        assert_eq!(snap.rules.len(), 1);
    }
    assert!(s.loyalty_snapshot(T, &q(Some(ClientKey::Card("333".into())))).await.unwrap().client.is_none());
    // A card of another client conflicts; nothing of that write stays.
    let other = ClientRow { id: "c2".into(), name: String::new(), phone: None, email: None, blocked: false, requires_validation: false, cards: vec!["9".into(), "111".into()] };
    assert!(matches!(s.loyalty_put_client(T, &other, 2).await, Err(StoreError::Conflict(_))));
    assert!(s.loyalty_client(T, "c2", 2).await.unwrap().is_none());
    // Replacing drops cards left out.
    let mut c = s.loyalty_client(T, "c1", 2).await.unwrap().unwrap().client;
    c.cards = vec!["222".into()];
    assert!(!s.loyalty_put_client(T, &c, 3).await.unwrap());
    assert!(s.loyalty_snapshot(T, &q(Some(ClientKey::Card("111".into())))).await.unwrap().client.is_none());
}

pub async fn loyalty_commit_is_all_or_nothing(h: &dyn Harness) {
    let s = setup(h).await;
    let ok = Commit { audit: Some(audit(0)), entries: vec![entry(EntryKind::Adjustment, 10_000)], ..Default::default() };
    assert!(s.loyalty_commit(T, &ok, 5).await.unwrap() > 0);
    // An unknown client in the second entry rolls back the first and the audit record.
    let mut bad = Commit { audit: Some(audit(0)), entries: vec![entry(EntryKind::Accrual, 5_00)], ..Default::default() };
    bad.entries.push(Entry { client_id: "nobody".into(), ..entry(EntryKind::Accrual, 1) });
    assert!(s.loyalty_commit(T, &bad, 6).await.is_err());
    let c = s.loyalty_client(T, "c1", 10).await.unwrap().unwrap();
    assert_eq!(c.account.balance, Money::from_minor(10_000));
    assert_eq!(s.loyalty_audit(T, &AuditFilter { limit: 10, ..Default::default() }).await.unwrap().len(), 1);
    assert!(s.loyalty_check_ledger(T).await.unwrap().is_empty());
}

pub async fn loyalty_versions_and_holds_guard_commits(h: &dyn Harness) {
    let s = setup(h).await;
    let v0 = s.loyalty_client(T, "c1", 0).await.unwrap().unwrap().version;
    let hold = Commit {
        versions: vec![("c1".into(), v0)],
        entries: vec![entry(EntryKind::Hold, 30_00)],
        new_holds: vec![NewHold { uid: "u".into(), client_id: "c1".into(), amount: Money::from_minor(30_00), fingerprint: "f".into(), response: "{}".into() }],
        ..Default::default()
    };
    s.loyalty_commit(T, &hold, 5).await.unwrap();
    // The same commit decided on the old version conflicts.
    assert!(matches!(s.loyalty_commit(T, &hold, 6).await, Err(StoreError::Conflict(_))));
    let snap = s.loyalty_snapshot(T, &SnapshotQuery { uid: Some("u".into()), ..q(Some(ClientKey::Card("111".into()))) }).await.unwrap();
    assert_eq!(snap.holds.len(), 1);
    assert_eq!(snap.client.unwrap().account.held, Money::from_minor(30_00));
    let id = snap.holds[0].id;
    let release = Commit {
        hold_changes: vec![HoldChange { id, from: "active".into(), to: "cancelled".into() }],
        entries: vec![entry(EntryKind::Release, 30_00)],
        ..Default::default()
    };
    s.loyalty_commit(T, &release, 7).await.unwrap();
    // A second release of the same reservation conflicts and writes nothing.
    assert!(matches!(s.loyalty_commit(T, &release, 8).await, Err(StoreError::Conflict(_))));
    let c = s.loyalty_client(T, "c1", 10).await.unwrap().unwrap();
    assert_eq!((c.account.held, c.account.balance), (Money::ZERO, Money::ZERO));
    assert!(s.loyalty_check_ledger(T).await.unwrap().is_empty());
    assert!(s.loyalty_stale_holds(i64::MAX, 10).await.unwrap().is_empty());
}

pub async fn loyalty_snapshot_reads_documents_holds_and_codes(h: &dyn Harness) {
    let s = setup(h).await;
    let doc = |uid: &str, t: &str, state: &str, reference: Option<&str>| DocRow {
        uid: uid.into(),
        doc_type: t.into(),
        client_id: Some("c1".into()),
        fingerprint: "fp".into(),
        state: state.into(),
        reference_uid: reference.map(str::to_owned),
        response: "{\"code\":0}".into(),
        data: "{}".into(),
        flagged: false,
        created_at_ms: 5,
    };
    let c = Commit {
        docs: vec![
            DocWrite::insert(doc("s1", "receipt", "confirmed", None)),
            DocWrite::insert(doc("r1", "refundReceipt", "pending", Some("s2"))),
        ],
        code: Some(ValidationCode { uid: "s1".into(), phone: "+7900".into(), code: "1234".into(), expires_at_ms: 100 }),
        entries: vec![Entry { available_at_ms: 50, ..entry(EntryKind::Accrual, 7_00) }],
        ..Default::default()
    };
    s.loyalty_commit(T, &c, 5).await.unwrap();
    // Inserting an existing document conflicts (replays are detected this way).
    let again = Commit { docs: vec![DocWrite::insert(doc("s1", "receipt", "confirmed", None))], ..Default::default() };
    assert!(matches!(s.loyalty_commit(T, &again, 6).await, Err(StoreError::Conflict(_))));
    // Guards: a document expected absent, the number of pending refunds, a replaced state.
    let absent = Commit { expect_absent: vec![("s1".into(), "receipt".into())], ..Default::default() };
    assert!(matches!(s.loyalty_commit(T, &absent, 6).await, Err(StoreError::Conflict(_))));
    let count = Commit { expect_pending_refunds: Some(("s2".into(), 0)), ..Default::default() };
    assert!(matches!(s.loyalty_commit(T, &count, 6).await, Err(StoreError::Conflict(_))));
    let old = doc("r1", "refundReceipt", "pending", Some("s2"));
    let mut done = old.clone();
    done.state = "confirmed".into();
    s.loyalty_commit(T, &Commit { docs: vec![DocWrite::replace(&old, done.clone())], ..Default::default() }, 7).await.unwrap();
    let twice = Commit { docs: vec![DocWrite::replace(&old, done)], ..Default::default() };
    assert!(matches!(s.loyalty_commit(T, &twice, 8).await, Err(StoreError::Conflict(_))), "replaced state is guarded");
    let snap = s
        .loyalty_snapshot(T, &SnapshotQuery {
            client: Some(ClientKey::Card("111".into())),
            uid: Some("s1".into()),
            doc_type: Some("receipt".into()),
            reference_uid: Some("s1".into()),
            pending_refunds_of: Some("s2".into()),
            code_for: Some(("s1".into(), "+7900".into())),
            now_ms: 10,
        })
        .await
        .unwrap();
    assert_eq!(snap.doc.as_ref().unwrap().fingerprint, "fp");
    assert_eq!(snap.sale.as_ref().unwrap().uid, "s1");
    assert!(snap.pending_refunds.is_empty(), "reconciled above");
    assert_eq!(snap.code.as_ref().unwrap().code, "1234");
    // The accrual is not active until 50 ms.
    let acc = snap.client.unwrap().account;
    assert_eq!((acc.balance, acc.pending, acc.spendable()), (Money::from_minor(7_00), Money::from_minor(7_00), Money::ZERO));
    let later = s.loyalty_client(T, "c1", 60).await.unwrap().unwrap().account;
    assert_eq!(later.spendable(), Money::from_minor(7_00));
    // Codes expire.
    let expired = s.loyalty_snapshot(T, &SnapshotQuery { code_for: Some(("s1".into(), "+7900".into())), now_ms: 100, ..Default::default() }).await.unwrap();
    assert!(expired.code.is_none());
    assert_eq!(s.loyalty_documents(T, 10).await.unwrap().len(), 2);
}

pub async fn loyalty_audit_lists_and_reads(h: &dyn Harness) {
    let s = setup(h).await;
    let mut ids = Vec::new();
    for code in [0, 2, 0, 6] {
        ids.push(s.loyalty_commit(T, &Commit { audit: Some(audit(code)), ..Default::default() }, 5).await.unwrap());
    }
    let all = s.loyalty_audit(T, &AuditFilter { limit: 10, ..Default::default() }).await.unwrap();
    assert_eq!(all.iter().map(|a| a.id).collect::<Vec<_>>(), ids.iter().rev().copied().collect::<Vec<_>>());
    let flagged = s.loyalty_audit(T, &AuditFilter { flagged_only: true, limit: 10, ..Default::default() }).await.unwrap();
    assert_eq!(flagged.iter().map(|a| a.code).collect::<Vec<_>>(), vec![6, 2]);
    let page = s.loyalty_audit(T, &AuditFilter { before_id: Some(ids[2]), limit: 1, ..Default::default() }).await.unwrap();
    assert_eq!(page[0].id, ids[1]);
    let one = s.loyalty_audit_record(T, ids[0]).await.unwrap().unwrap();
    assert_eq!(one.request, "{ \"raw\": 1 }");
    assert!(s.loyalty_audit_record("other", ids[0]).await.unwrap().is_none(), "tenants never see each other's records");
}

pub async fn loyalty_concurrent_commits_keep_the_ledger_balanced(h: &dyn Harness) {
    let s = setup(h).await;
    let mut tasks = Vec::new();
    for i in 0..32i64 {
        let s = s.clone();
        tasks.push(tokio::spawn(async move {
            let kind = if i % 2 == 0 { EntryKind::Accrual } else { EntryKind::Debit };
            s.loyalty_commit(T, &Commit { entries: vec![entry(kind, 1_00 + i)], ..Default::default() }, i).await.unwrap();
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    assert!(s.loyalty_check_ledger(T).await.unwrap().is_empty());
    let e = s.loyalty_entries(T, Some("c1"), None, 100).await.unwrap();
    assert_eq!(e.len(), 32);
    let sum = e.iter().fold(Money::ZERO, |a, e| a + e.balance_delta);
    assert_eq!(s.loyalty_client(T, "c1", 0).await.unwrap().unwrap().account.balance, sum);
}

/// A snapshot taken after a write was acknowledged shows it — balances, rules and client
/// fields — even while other snapshots race with the writes (a backend may keep reads in
/// memory between requests).
pub async fn loyalty_snapshot_sees_every_acknowledged_change(h: &dyn Harness) {
    let s = setup(h).await;
    let card = || q(Some(ClientKey::Card("111".into())));
    let racing = {
        let s = s.clone();
        let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let flag = stop.clone();
        let task = tokio::spawn(async move {
            while !flag.load(std::sync::atomic::Ordering::Relaxed) {
                let _ = s.loyalty_snapshot(T, &card()).await;
                tokio::task::yield_now().await;
            }
        });
        (stop, task)
    };
    let before = s.loyalty_snapshot(T, &card()).await.unwrap().client.unwrap();
    for i in 1..=40 {
        let c = Commit { entries: vec![entry(EntryKind::Adjustment, 1)], ..Default::default() };
        s.loyalty_commit(T, &c, 10 + i).await.unwrap();
        let now = s.loyalty_snapshot(T, &card()).await.unwrap().client.unwrap();
        assert_eq!(now.account.balance, Money::from_minor(i), "balance after commit {i}");
        assert!(now.version > before.version);
        // A commit of an audit record alone changes nothing a snapshot shows.
        s.loyalty_commit(T, &Commit { audit: Some(audit(0)), ..Default::default() }, 10 + i).await.unwrap();
        assert_eq!(s.loyalty_snapshot(T, &card()).await.unwrap().client.unwrap(), now);
    }
    // New rules and a blocked client show at once.
    let mut t = TenantSpec::new(T, "Loyalty");
    t.loyalty = Some(LoyaltySpec { access_key: Some("password".into()), rules: vec![] });
    s.apply_tenant(&t, 100).await.unwrap();
    assert!(s.loyalty_snapshot(T, &card()).await.unwrap().rules.is_empty());
    let mut c = s.loyalty_client(T, "c1", 100).await.unwrap().unwrap().client;
    c.blocked = true;
    s.loyalty_put_client(T, &c, 101).await.unwrap();
    assert!(s.loyalty_snapshot(T, &card()).await.unwrap().client.unwrap().client.blocked);
    racing.0.store(true, std::sync::atomic::Ordering::Relaxed);
    racing.1.await.unwrap();
}
