//! The demo sandbox: a tenant whose credentials and identifiers are the example values of the
//! vendor documents, so their example requests work verbatim against `kassa serve --demo`.
//!
//! Values by face (the spec section they come from):
//! - ATOL Online (atol-online-v3.md §13.1): login `netletest` / `v2AfscRjr`, group
//!   `MyCompany_MyShop` (INN `331122667723`, `magazin.ru`, `osn`), main register
//!   `KSR13.00-1-11` and reserve `KSR13.00-1-12` with the fixture's FN and registration numbers.
//! - ITKassa (itkassa.md §A.3.2, Part C): API key `KgZDeanhd0wkRseleZvWhkPSR7d3Fggak`, register
//!   `89189775-e4fc-70d0-5e2c-182e4121308e`.
//! - Cash core (cash-core.md CORE-18, §7.11): administrator PIN `0000`, KKM `ISCR1018036404743`
//!   with OFD id 6923.
//! - Frontol loyalty (frontol-loyalty.md LOY-17, §5): access key `password`, discount rules for
//!   the example products `120474`, `aa234`, `70259`.
//! - Frontol events (frontol-events.md §10): organizations `ООО Ромашка` and `Мой магазин`.

use kassa_domain::provisioning::*;
use kassa_money::{Money, Percent};

pub const TENANT_ID: &str = "demo";

pub fn tenant() -> TenantSpec {
    let group = "MyCompany_MyShop".to_owned();
    let mut t = TenantSpec::new(TENANT_ID, "Demo sandbox (vendor document examples)");
    t.groups.push(GroupSpec {
        code: group.clone(),
        inn: "331122667723".into(),
        payment_address: "magazin.ru".into(),
        sno: vec!["osn".into()],
    });
    t.atol_logins.push(AtolLogin { login: "netletest".into(), pass: "v2AfscRjr".into(), groups: vec![group.clone()] });
    t.itkassa_keys.push(ApiKey { name: "test-dev-key".into(), key: "KgZDeanhd0wkRseleZvWhkPSR7d3Fggak".into() });
    t.cash_core = Some(CashCoreSpec { admin_pin: "0000".into() });
    let ru = |id: &str, role, fn_number: &str, reg: &str| RegisterSpec {
        id: id.into(),
        profile: RegisterProfile::Ru,
        group: Some(group.clone()),
        role,
        fn_number: Some(fn_number.into()),
        reg_number: Some(reg.into()),
        ofd_id: None,
    };
    t.registers.push(ru("KSR13.00-1-11", RegisterRole::Main, "1110000100238211", "0000111118041361"));
    t.registers.push(ru("KSR13.00-1-12", RegisterRole::Reserve, "1110000100238212", "0000111118041362"));
    t.registers.push(RegisterSpec {
        id: "89189775-e4fc-70d0-5e2c-182e4121308e".into(),
        profile: RegisterProfile::Ru,
        group: None,
        role: RegisterRole::Main,
        fn_number: Some("9999078900005431".into()),
        reg_number: None,
        ofd_id: None,
    });
    t.registers.push(RegisterSpec {
        id: "ISCR1018036404743".into(),
        profile: RegisterProfile::Kz,
        group: None,
        role: RegisterRole::Main,
        fn_number: None,
        reg_number: None,
        ofd_id: Some("6923".into()),
    });
    let pct = Percent::from_basis_points;
    t.loyalty = Some(LoyaltySpec {
        access_key: Some("password".into()),
        rules: vec![
            LoyaltyRule::ItemDiscount { id: "discount-120474".into(), target: RuleTarget::Product("120474".into()), percent: pct(1_000) },
            LoyaltyRule::ItemDiscount { id: "discount-aa234".into(), target: RuleTarget::Product("aa234".into()), percent: pct(500) },
            LoyaltyRule::ItemDiscount { id: "discount-70259".into(), target: RuleTarget::Product("70259".into()), percent: pct(1_500) },
            LoyaltyRule::Accrual { id: "accrual".into(), percent: pct(500) },
            LoyaltyRule::MaxBonusShare { id: "max-bonus-share".into(), percent: pct(5_000) },
            LoyaltyRule::MinPrice { id: "min-price".into(), target: RuleTarget::All, price: Money::from_minor(1) },
        ],
    });
    t.events = Some(EventsSpec { organizations: vec!["ООО Ромашка".into(), "Мой магазин".into()] });
    t
}

/// The demo loyalty client of the spec's examples (frontol-loyalty.md §5, §13): card
/// `9070000000001000`, phone `+79211022546`, e-mail `sobaka@gmail.com`; phone prechecks carry a
/// validation code (LOY-69).
pub fn loyalty_client() -> kassa_store::loyalty::ClientRow {
    kassa_store::loyalty::ClientRow {
        id: "demo-client".into(),
        name: "Пупкин Иван Иванович".into(),
        phone: Some("+79211022546".into()),
        email: Some("sobaka@gmail.com".into()),
        blocked: false,
        requires_validation: true,
        cards: vec!["9070000000001000".into()],
    }
}

/// The demo client's opening bonus balance: enough for the examples (§13 needs ≥ 832.44).
pub const LOYALTY_OPENING_BALANCE: Money = Money::from_minor(100_000);

/// The lines printed at start with `--demo`: credentials per face and one request to try.
pub fn summary(base_url: &str, admin_token: &str) -> String {
    format!(
        "Demo sandbox (tenant '{TENANT_ID}') is ready at {base_url}
  ATOL Online v3   login netletest / pass v2AfscRjr, group MyCompany_MyShop, INN 331122667723
  ITKassa          X-Api-Key: KgZDeanhd0wkRseleZvWhkPSR7d3Fggak, register 89189775-e4fc-70d0-5e2c-182e4121308e
  Cash core        Authorization: 0000 (administrator PIN), KKM ISCR1018036404743 (OFD id 6923)
  Frontol loyalty  access key: password; client card 9070000000001000 / phone +79211022546 (POST /frontol/document)
  Frontol events   organizations: ООО Ромашка, Мой магазин
  Admin API        Authorization: Bearer {admin_token}
Try:
  curl -s -H 'Authorization: Bearer {admin_token}' {base_url}/api/tenants/{TENANT_ID}
  curl -s -X POST -d '{{\"login\":\"netletest\",\"pass\":\"v2AfscRjr\"}}' {base_url}/possystem/v3/getToken"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn demo_tenant_is_valid() {
        tenant().validate("demo").expect("the demo tenant passes the same validation as config");
    }
}
