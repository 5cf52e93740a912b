//! The backend-agnostic conformance suite of the store.
//!
//! Every backend's tests call [`conformance_suite!`] with an expression that yields a fresh
//! [`Harness`] (a new, empty database) or `None` when the backend is not available (the
//! PostgreSQL tests without `KASSA_TEST_PG_URL`), in which case each test prints why it skipped.

pub mod atol;
pub mod events;
pub mod fiscal;
pub mod loyalty;

use kassa_store::{Face, Store, StoreError};
use async_trait::async_trait;
use kassa_domain::provisioning::*;
use kassa_money::{Money, Percent};
use std::sync::Arc;

/// A fresh database that can be opened, closed and opened again.
#[async_trait]
pub trait Harness: Send + Sync {
    /// Opens a store on this harness's database, running migrations.
    async fn open(&self) -> Arc<dyn Store>;
}

/// Generates one `#[tokio::test]` per conformance case.
#[macro_export]
macro_rules! conformance_suite {
    ($make:expr) => {
        $crate::conformance_suite!(@cases $make;
            migrations_and_ping, apply_roundtrip, apply_is_idempotent, removal_deactivates,
            credentials_lookup, conflicts_roll_back_whole_apply, money_is_exact,
            concurrent_writers, restart_keeps_committed_data, renaming_a_key_in_one_apply);
    };
    (@cases $make:expr; $($case:ident),*) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $case() {
                match $make.await {
                    Some(h) => $crate::$case(&h).await,
                    None => eprintln!("SKIPPED {}: backend not enabled", stringify!($case)),
                }
            }
        )*
    };
}

/// A tenant using every kind of entry.
pub fn full_tenant(id: &str) -> TenantSpec {
    let mut t = TenantSpec::new(id, format!("Tenant {id}"));
    let group = format!("{id}_shop");
    t.groups.push(GroupSpec {
        code: group.clone(),
        inn: "331122667723".into(),
        payment_address: "magazin.ru".into(),
        sno: vec!["osn".into(), "usn_income".into()],
    });
    t.atol_logins.push(AtolLogin { login: format!("{id}-login"), pass: "secret-pass".into(), groups: vec![group.clone()] });
    t.itkassa_keys.push(ApiKey { name: "dev".into(), key: format!("{id}-api-key") });
    t.cash_core = Some(CashCoreSpec { admin_pin: "0000".into() });
    for (n, role) in [(1, RegisterRole::Main), (2, RegisterRole::Reserve)] {
        t.registers.push(RegisterSpec {
            id: format!("{id}-ru-{n}"),
            profile: RegisterProfile::Ru,
            group: Some(group.clone()),
            role,
            fn_number: Some(format!("99990789{n:08}")),
            reg_number: None,
            ofd_id: None,
        });
    }
    t.registers.push(RegisterSpec {
        id: format!("{id}-kz-1"),
        profile: RegisterProfile::Kz,
        group: None,
        role: RegisterRole::Main,
        fn_number: None,
        reg_number: Some("600400000001".into()),
        ofd_id: Some("1".into()),
    });
    t.loyalty = Some(LoyaltySpec {
        access_key: Some("password".into()),
        rules: vec![
            LoyaltyRule::ItemDiscount {
                id: "d1".into(),
                target: RuleTarget::Product("120474".into()),
                percent: Percent::from_basis_points(1_000),
            },
            LoyaltyRule::Accrual { id: "a1".into(), percent: Percent::from_basis_points(500) },
            LoyaltyRule::MinPrice { id: "m1".into(), target: RuleTarget::All, price: Money::from_minor(1) },
            LoyaltyRule::ActivationDelay { id: "h1".into(), hours: 24 },
        ],
    });
    t.events = Some(EventsSpec { organizations: vec![format!("Org {id}")] });
    t
}

pub async fn migrations_and_ping(h: &dyn Harness) {
    let s = h.open().await;
    s.ping().await.expect("ping after migrations");
    assert!(s.tenants().await.unwrap().is_empty(), "a fresh store has no tenants");
    s.close().await;
    // Opening again re-checks the recorded migrations and applies nothing new.
    let s = h.open().await;
    s.ping().await.expect("ping after reopen");
    s.close().await;
}

pub async fn apply_roundtrip(h: &dyn Harness) {
    let s = h.open().await;
    let spec = full_tenant("t1");
    let report = s.apply_tenant(&spec, 1_000).await.unwrap();
    assert!(report.created_tenant);
    assert!(report.changed_rows > 0);
    let v = s.tenant("t1").await.unwrap().expect("stored");
    assert_eq!(v.name, "Tenant t1");
    assert_eq!(v.groups.len(), 1);
    assert_eq!(v.groups[0].sno, "osn,usn_income");
    assert_eq!(v.registers.len(), 3);
    assert!(v.registers.iter().all(|r| r.active));
    let reserve = v.registers.iter().find(|r| r.id == "t1-ru-2").unwrap();
    assert_eq!(reserve.role, RegisterRole::Reserve);
    assert_eq!(reserve.fn_number.as_deref(), Some("9999078900000002"));
    let rules: Vec<LoyaltyRule> = v.rules.iter().map(|r| r.to_rule().unwrap()).collect();
    let mut expected = spec.loyalty.as_ref().unwrap().rules.clone();
    expected.sort_by(|a, b| a.id().cmp(b.id()));
    assert_eq!(rules, expected, "rules come back exactly, ordered by id");
    assert_eq!(v.organizations, vec![("Org t1".to_owned(), true)]);
    assert_eq!(v.credentials.len(), 4);
    let summaries = s.tenants().await.unwrap();
    assert_eq!(summaries.len(), 1);
    assert_eq!(summaries[0].registers, 3);
    assert_eq!(s.tenant("missing").await.unwrap(), None);
    s.close().await;
}

pub async fn apply_is_idempotent(h: &dyn Harness) {
    let s = h.open().await;
    let spec = full_tenant("t1");
    s.apply_tenant(&spec, 1_000).await.unwrap();
    let before = s.tenant("t1").await.unwrap();
    let again = s.apply_tenant(&spec, 2_000).await.unwrap();
    assert_eq!(again.changed_rows, 0, "applying the same spec twice changes nothing");
    assert!(!again.created_tenant);
    assert_eq!(s.tenant("t1").await.unwrap(), before);
    s.close().await;
}

pub async fn removal_deactivates(h: &dyn Harness) {
    let s = h.open().await;
    let mut spec = full_tenant("t1");
    s.apply_tenant(&spec, 1_000).await.unwrap();
    let removed = spec.registers.pop().unwrap();
    spec.atol_logins.clear();
    spec.loyalty.as_mut().unwrap().rules.remove(0);
    let r = s.apply_tenant(&spec, 2_000).await.unwrap();
    assert_eq!(r.changed_rows, 3, "one register, one login, one rule deactivated");
    let v = s.tenant("t1").await.unwrap().unwrap();
    let reg = v.registers.iter().find(|r| r.id == removed.id).expect("a removed register is kept");
    assert!(!reg.active);
    assert!(!v.credential(Face::Atol, "t1-login").unwrap().active);
    assert!(s.credential(Face::Atol, "t1-login").await.unwrap().is_none(), "inactive login is not usable");
    assert!(!v.rules.iter().find(|r| r.id == "d1").unwrap().active);
    // Naming it again brings it back.
    spec.registers.push(removed.clone());
    s.apply_tenant(&spec, 3_000).await.unwrap();
    let v = s.tenant("t1").await.unwrap().unwrap();
    assert!(v.registers.iter().find(|r| r.id == removed.id).unwrap().active);
    s.close().await;
}

pub async fn credentials_lookup(h: &dyn Harness) {
    let s = h.open().await;
    s.apply_tenant(&full_tenant("t1"), 1_000).await.unwrap();
    let atol = s.credential(Face::Atol, "t1-login").await.unwrap().expect("atol login");
    assert_eq!(atol.tenant_id, "t1");
    assert!(atol.secret_matches("secret-pass"));
    assert!(!atol.secret_matches("secret-pas"));
    assert_eq!(atol.scope, vec!["t1_shop".to_owned()]);
    let key = s.credential(Face::Itkassa, &kassa_store::secret_hash("t1-api-key")).await.unwrap().expect("key");
    assert_eq!(key.name, "dev");
    assert_ne!(key.secret, "t1-api-key", "API keys are stored hashed");
    let loyalty = s.credential(Face::Loyalty, "t1").await.unwrap().expect("loyalty key");
    assert!(loyalty.secret_matches("password"));
    assert!(s.credential(Face::Atol, "nobody").await.unwrap().is_none());
    s.close().await;
}

pub async fn conflicts_roll_back_whole_apply(h: &dyn Harness) {
    let s = h.open().await;
    s.apply_tenant(&full_tenant("a"), 1_000).await.unwrap();
    // Tenant b claims a register of tenant a: refused, and nothing of b is stored.
    let mut b = full_tenant("b");
    b.registers.push(full_tenant("a").registers[0].clone());
    match s.apply_tenant(&b, 2_000).await {
        Err(StoreError::Conflict(msg)) => assert!(msg.contains("a-ru-1"), "{msg}"),
        other => panic!("expected a conflict, got {other:?}"),
    }
    assert_eq!(s.tenant("b").await.unwrap(), None);
    // An ATOL login is global: it names its tenant.
    let mut b = full_tenant("b");
    b.atol_logins[0].login = "a-login".into();
    assert!(matches!(s.apply_tenant(&b, 3_000).await, Err(StoreError::Conflict(_))));
    assert_eq!(s.tenant("b").await.unwrap(), None);
    // Without the clash it goes through.
    s.apply_tenant(&full_tenant("b"), 4_000).await.unwrap();
    assert_eq!(s.tenants().await.unwrap().len(), 2);
    s.close().await;
}

pub async fn money_is_exact(h: &dyn Harness) {
    let s = h.open().await;
    let mut spec = full_tenant("t1");
    let prices = [1i64, 10, 99, 12_345_678_901_234, i64::MAX / 3];
    spec.loyalty.as_mut().unwrap().rules = prices
        .iter()
        .enumerate()
        .map(|(i, p)| LoyaltyRule::MinPrice {
            id: format!("m{i}"),
            target: RuleTarget::ProductGroup("g".into()),
            price: Money::from_minor(*p),
        })
        .collect();
    s.apply_tenant(&spec, 1_000).await.unwrap();
    let v = s.tenant("t1").await.unwrap().unwrap();
    let mut stored: Vec<i64> = v.rules.iter().map(|r| r.price_minor.unwrap()).collect();
    stored.sort_unstable();
    let mut expected = prices.to_vec();
    expected.sort_unstable();
    assert_eq!(stored, expected);
    s.close().await;
}

pub async fn concurrent_writers(h: &dyn Harness) {
    let s = h.open().await;
    let mut tasks = Vec::new();
    for i in 0..32 {
        let s = s.clone();
        tasks.push(tokio::spawn(async move {
            let spec = full_tenant(&format!("c{i}"));
            s.apply_tenant(&spec, 1_000).await.unwrap();
            // A second writer on the same tenant at the same time changes nothing.
            let r = s.apply_tenant(&spec, 2_000).await.unwrap();
            assert_eq!(r.changed_rows, 0);
        }));
    }
    for t in tasks {
        t.await.expect("writer task");
    }
    let all = s.tenants().await.unwrap();
    assert_eq!(all.len(), 32);
    assert!(all.iter().all(|t| t.registers == 3));
    s.close().await;
}

pub async fn restart_keeps_committed_data(h: &dyn Harness) {
    let s = h.open().await;
    for i in 0..5 {
        s.apply_tenant(&full_tenant(&format!("r{i}")), 1_000).await.unwrap();
    }
    let before: Vec<_> = futures_all(&s, 5).await;
    s.close().await;
    drop(s);
    let s = h.open().await;
    let after: Vec<_> = futures_all(&s, 5).await;
    assert_eq!(before, after);
    assert_eq!(s.apply_tenant(&full_tenant("r0"), 2_000).await.unwrap().changed_rows, 0);
    s.close().await;
}

async fn futures_all(s: &Arc<dyn Store>, n: usize) -> Vec<Option<kassa_store::TenantView>> {
    let mut out = Vec::new();
    for i in 0..n {
        out.push(s.tenant(&format!("r{i}")).await.unwrap());
    }
    out
}

pub async fn renaming_a_key_in_one_apply(h: &dyn Harness) {
    let s = h.open().await;
    let mut spec = full_tenant("t1");
    s.apply_tenant(&spec, 1_000).await.unwrap();
    spec.itkassa_keys[0].name = "renamed".into();
    let r = s.apply_tenant(&spec, 2_000).await.expect("same key under a new name applies in one go");
    assert_eq!(r.changed_rows, 2, "old entry retired, new entry added");
    let key = s.credential(Face::Itkassa, &kassa_store::secret_hash("t1-api-key")).await.unwrap().unwrap();
    assert_eq!(key.name, "renamed");
    s.close().await;
}
