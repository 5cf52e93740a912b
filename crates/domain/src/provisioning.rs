//! Tenants and everything provisioned for them.
//!
//! A [`TenantSpec`] is the desired state of one tenant (organisation): the credentials of each
//! protocol face, the register groups and virtual registers, the loyalty key and rules, the event
//! sources. The same shape is read from the `[[tenant]]` tables of the TOML config file and from
//! the admin API (`PUT /api/tenants/{id}`), and is applied idempotently by the core: applying it
//! twice changes nothing, and leaving an entry out deactivates it without deleting any history.

use kassa_money::{Money, Percent};
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;

/// Limits on provisioned values ("put a limit on everything").
pub const MAX_ID_LEN: usize = 64;
pub const MAX_NAME_LEN: usize = 256;
pub const MAX_SECRET_LEN: usize = 128;
pub const MAX_ENTRIES: usize = 10_000;

/// The desired state of one tenant.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TenantSpec {
    /// Stable identifier: 1–64 characters of `[A-Za-z0-9_.-]`.
    pub id: String,
    /// Display name.
    #[serde(default)]
    pub name: String,
    /// ATOL Online logins (ATOL-4): each may use one or more group codes of this tenant.
    #[serde(default, rename = "atol_login", alias = "atol_logins")]
    pub atol_logins: Vec<AtolLogin>,
    /// ITKassa API keys (ITK-6, ITK-7): one per shop, all sharing the tenant's registers.
    #[serde(default, rename = "itkassa_key", alias = "itkassa_keys")]
    pub itkassa_keys: Vec<ApiKey>,
    /// Kazakhstan cash core settings (CORE-18: PIN of the bootstrap administrator).
    #[serde(default)]
    pub cash_core: Option<CashCoreSpec>,
    /// Register groups (ATOL-2, ATOL-3): one per web shop.
    #[serde(default, rename = "group", alias = "groups")]
    pub groups: Vec<GroupSpec>,
    /// Virtual fiscal registers.
    #[serde(default, rename = "register", alias = "registers")]
    pub registers: Vec<RegisterSpec>,
    /// Frontol loyalty settings: access key (LOY-16) and rules.
    #[serde(default)]
    pub loyalty: Option<LoyaltySpec>,
    /// Frontol event collector settings.
    #[serde(default)]
    pub events: Option<EventsSpec>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AtolLogin {
    pub login: String,
    pub pass: String,
    /// Group codes this login may use (error 22 for any other).
    pub groups: Vec<String>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ApiKey {
    /// Display name of the key (e.g. `test-dev-key`).
    pub name: String,
    /// The secret itself; the store keeps only its SHA-256 (ITK-6).
    pub key: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CashCoreSpec {
    /// PIN of operator 1 "Administrator", created when the operator store is empty (CORE-18).
    #[serde(default = "default_admin_pin")]
    pub admin_pin: String,
}

fn default_admin_pin() -> String {
    "0000".to_owned()
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GroupSpec {
    /// `group_code`, the group identifier in ATOL URLs (ATOL-2); opaque, case-sensitive.
    pub code: String,
    /// INN of the legal entity (10 or 12 digits).
    pub inn: String,
    /// Place of settlement, for a web shop its site (ATOL-3).
    pub payment_address: String,
    /// Taxation systems (`sno`) the organisation uses (ATOL-3).
    #[serde(default)]
    pub sno: Vec<String>,
}

/// Which fiscal law a virtual register follows.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RegisterProfile {
    /// Russia, 54-FZ: fiscal storage (FN), FFD documents.
    Ru,
    /// Kazakhstan: KKM registered with an OFD (cash core).
    Kz,
}

impl RegisterProfile {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Ru => "ru",
            Self::Kz => "kz",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "ru" => Some(Self::Ru),
            "kz" => Some(Self::Kz),
            _ => None,
        }
    }
}

/// Whether a register takes a group's queue at once or only past the queue threshold (ATOL-10).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RegisterRole {
    #[default]
    Main,
    Reserve,
}

impl RegisterRole {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Main => "main",
            Self::Reserve => "reserve",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "main" => Some(Self::Main),
            "reserve" => Some(Self::Reserve),
            _ => None,
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RegisterSpec {
    /// Register id, unique across the server: the factory serial number for RU registers, the
    /// KKM serial for KZ ones.
    pub id: String,
    pub profile: RegisterProfile,
    /// Group whose queue this register serves, if any.
    #[serde(default)]
    pub group: Option<String>,
    #[serde(default)]
    pub role: RegisterRole,
    /// RU: fiscal storage number (16 digits); generated by the engine when absent.
    #[serde(default)]
    pub fn_number: Option<String>,
    /// RU: registration number of the register at the tax service; KZ: registration number.
    #[serde(default)]
    pub reg_number: Option<String>,
    /// KZ: register id at the OFD.
    #[serde(default)]
    pub ofd_id: Option<String>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LoyaltySpec {
    /// `Ключ доступа` of the Frontol API settings (LOY-16); `None` disables authorisation.
    #[serde(default)]
    pub access_key: Option<String>,
    #[serde(default, rename = "rule", alias = "rules")]
    pub rules: Vec<LoyaltyRule>,
}

/// What an item discount applies to.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RuleTarget {
    Product(String),
    ProductGroup(String),
    All,
}

/// One loyalty rule of a tenant.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum LoyaltyRule {
    /// A percentage discount on matching positions.
    ItemDiscount { id: String, target: RuleTarget, percent: Percent },
    /// Bonus accrued as a percentage of the fiscal (non-bonus) payments.
    Accrual { id: String, percent: Percent },
    /// The largest share of a receipt that may be paid with bonus points.
    MaxBonusShare { id: String, percent: Percent },
    /// A price below which discounts and bonus payments may not bring a position.
    MinPrice { id: String, target: RuleTarget, price: Money },
    /// Accrued bonus becomes spendable only after this many hours.
    ActivationDelay { id: String, hours: u32 },
}

impl LoyaltyRule {
    pub fn id(&self) -> &str {
        match self {
            Self::ItemDiscount { id, .. }
            | Self::Accrual { id, .. }
            | Self::MaxBonusShare { id, .. }
            | Self::MinPrice { id, .. }
            | Self::ActivationDelay { id, .. } => id,
        }
    }
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EventsSpec {
    /// Values of the events' `organization` field that belong to this tenant.
    #[serde(default)]
    pub organizations: Vec<String>,
}

/// A provisioning value that cannot be applied, with the path of the offending key.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{path}: {reason}")]
pub struct SpecError {
    pub path: String,
    pub reason: String,
}

fn err(path: impl Into<String>, reason: impl Into<String>) -> SpecError {
    SpecError { path: path.into(), reason: reason.into() }
}

/// Checks an identifier: 1–64 characters of `[A-Za-z0-9_.-]`.
pub fn check_id(path: &str, value: &str) -> Result<(), SpecError> {
    if value.is_empty() || value.len() > MAX_ID_LEN {
        return Err(err(path, format!("must be 1–{MAX_ID_LEN} characters long")));
    }
    if !value.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.')) {
        return Err(err(path, "may contain only letters A–Z, a–z, digits, '_', '-' and '.'"));
    }
    Ok(())
}

fn check_text(path: &str, value: &str, max: usize, allow_empty: bool) -> Result<(), SpecError> {
    if !allow_empty && value.trim().is_empty() {
        return Err(err(path, "must not be empty"));
    }
    if value.chars().count() > max {
        return Err(err(path, format!("must be at most {max} characters long")));
    }
    Ok(())
}

/// A secret is 1–128 printable ASCII characters (ITK-8 accepts exactly that range).
fn check_secret(path: &str, value: &str) -> Result<(), SpecError> {
    if value.is_empty() || value.len() > MAX_SECRET_LEN {
        return Err(err(path, format!("must be 1–{MAX_SECRET_LEN} characters long")));
    }
    if !value.bytes().all(|b| (0x21..=0x7e).contains(&b)) {
        return Err(err(path, "must be printable ASCII without spaces"));
    }
    Ok(())
}

fn check_digits(path: &str, value: &str, lens: &[usize]) -> Result<(), SpecError> {
    if !lens.contains(&value.len()) || !value.bytes().all(|b| b.is_ascii_digit()) {
        let lens: Vec<String> = lens.iter().map(|l| l.to_string()).collect();
        return Err(err(path, format!("must be {} digits", lens.join(" or "))));
    }
    Ok(())
}

fn check_unique<'a>(path: &str, what: &str, items: impl Iterator<Item = &'a str>) -> Result<(), SpecError> {
    let mut seen = BTreeSet::new();
    let mut count = 0usize;
    for item in items {
        count += 1;
        if count > MAX_ENTRIES {
            return Err(err(path, format!("more than {MAX_ENTRIES} entries")));
        }
        if !seen.insert(item) {
            return Err(err(path, format!("{what} '{item}' appears twice")));
        }
    }
    Ok(())
}

/// The `sno` values of ATOL Online (§6.6 of atol-online-v3.md).
pub const SNO_VALUES: [&str; 6] = ["osn", "usn_income", "usn_income_outcome", "envd", "esn", "patent"];

impl TenantSpec {
    /// A tenant with only an id and a name.
    pub fn new(id: impl Into<String>, name: impl Into<String>) -> Self {
        Self {
            id: id.into(),
            name: name.into(),
            atol_logins: Vec::new(),
            itkassa_keys: Vec::new(),
            cash_core: None,
            groups: Vec::new(),
            registers: Vec::new(),
            loyalty: None,
            events: None,
        }
    }

    /// Checks every value and cross-reference; `prefix` is the path of this spec in its document
    /// (e.g. `tenant[0]`), so the error names the exact key.
    pub fn validate(&self, prefix: &str) -> Result<(), SpecError> {
        let p = |k: &str| format!("{prefix}.{k}");
        check_id(&p("id"), &self.id)?;
        check_text(&p("name"), &self.name, MAX_NAME_LEN, true)?;

        check_unique(&p("group"), "group code", self.groups.iter().map(|g| g.code.as_str()))?;
        for (i, g) in self.groups.iter().enumerate() {
            let gp = |k: &str| format!("{prefix}.group[{i}].{k}");
            check_text(&gp("code"), &g.code, MAX_ID_LEN, false)?;
            check_digits(&gp("inn"), &g.inn, &[10, 12])?;
            check_text(&gp("payment_address"), &g.payment_address, MAX_NAME_LEN, false)?;
            for (j, sno) in g.sno.iter().enumerate() {
                if !SNO_VALUES.contains(&sno.as_str()) {
                    return Err(err(gp(&format!("sno[{j}]")), format!("must be one of {}", SNO_VALUES.join(", "))));
                }
            }
        }
        let group_known = |code: &str| self.groups.iter().any(|g| g.code == code);

        check_unique(&p("atol_login"), "login", self.atol_logins.iter().map(|l| l.login.as_str()))?;
        for (i, l) in self.atol_logins.iter().enumerate() {
            let lp = |k: &str| format!("{prefix}.atol_login[{i}].{k}");
            check_secret(&lp("login"), &l.login)?;
            check_secret(&lp("pass"), &l.pass)?;
            for (j, g) in l.groups.iter().enumerate() {
                if !group_known(g) {
                    return Err(err(lp(&format!("groups[{j}]")), format!("no group with code '{g}' in this tenant")));
                }
            }
        }

        check_unique(&p("itkassa_key"), "key name", self.itkassa_keys.iter().map(|k| k.name.as_str()))?;
        check_unique(&p("itkassa_key"), "key", self.itkassa_keys.iter().map(|k| k.key.as_str()))?;
        for (i, k) in self.itkassa_keys.iter().enumerate() {
            check_text(&format!("{prefix}.itkassa_key[{i}].name"), &k.name, MAX_NAME_LEN, false)?;
            check_secret(&format!("{prefix}.itkassa_key[{i}].key"), &k.key)?;
        }

        if let Some(cc) = &self.cash_core {
            check_secret(&p("cash_core.admin_pin"), &cc.admin_pin)?;
        }

        check_unique(&p("register"), "register id", self.registers.iter().map(|r| r.id.as_str()))?;
        for (i, r) in self.registers.iter().enumerate() {
            let rp = |k: &str| format!("{prefix}.register[{i}].{k}");
            check_id(&rp("id"), &r.id)?;
            if let Some(g) = &r.group
                && !group_known(g)
            {
                return Err(err(rp("group"), format!("no group with code '{g}' in this tenant")));
            }
            if let Some(fn_number) = &r.fn_number {
                if r.profile != RegisterProfile::Ru {
                    return Err(err(rp("fn_number"), "only RU registers have a fiscal storage"));
                }
                check_digits(&rp("fn_number"), fn_number, &[16])?;
            }
            if let Some(reg) = &r.reg_number {
                check_text(&rp("reg_number"), reg, MAX_ID_LEN, false)?;
            }
            if let Some(ofd) = &r.ofd_id {
                if r.profile != RegisterProfile::Kz {
                    return Err(err(rp("ofd_id"), "only KZ registers have an OFD id"));
                }
                check_text(&rp("ofd_id"), ofd, MAX_ID_LEN, false)?;
            }
        }

        if let Some(l) = &self.loyalty {
            if let Some(key) = &l.access_key {
                check_text(&p("loyalty.access_key"), key, MAX_SECRET_LEN, false)?;
            }
            check_unique(&p("loyalty.rule"), "rule id", l.rules.iter().map(|r| r.id()))?;
            for (i, rule) in l.rules.iter().enumerate() {
                validate_rule(&format!("{prefix}.loyalty.rule[{i}]"), rule)?;
            }
        }

        if let Some(ev) = &self.events {
            check_unique(&p("events.organizations"), "organization", ev.organizations.iter().map(|o| o.as_str()))?;
            for (i, o) in ev.organizations.iter().enumerate() {
                check_text(&format!("{prefix}.events.organizations[{i}]"), o, MAX_NAME_LEN, false)?;
            }
        }
        Ok(())
    }
}

fn validate_rule(path: &str, rule: &LoyaltyRule) -> Result<(), SpecError> {
    check_id(&format!("{path}.id"), rule.id())?;
    let full = Percent::from_basis_points(10_000);
    let check_percent = |p: Percent| {
        if p.basis_points() <= 0 || p > full {
            Err(err(format!("{path}.percent"), "must be above 0 and at most 100"))
        } else {
            Ok(())
        }
    };
    match rule {
        LoyaltyRule::ItemDiscount { percent, target, .. } => {
            check_target(path, target)?;
            check_percent(*percent)
        }
        LoyaltyRule::Accrual { percent, .. } | LoyaltyRule::MaxBonusShare { percent, .. } => {
            check_percent(*percent)
        }
        LoyaltyRule::MinPrice { target, price, .. } => {
            check_target(path, target)?;
            if price.is_negative() {
                return Err(err(format!("{path}.price"), "must not be negative"));
            }
            Ok(())
        }
        LoyaltyRule::ActivationDelay { hours, .. } => {
            if *hours > 24 * 366 {
                return Err(err(format!("{path}.hours"), "must be at most 8784 (one year)"));
            }
            Ok(())
        }
    }
}

fn check_target(path: &str, target: &RuleTarget) -> Result<(), SpecError> {
    match target {
        RuleTarget::Product(v) | RuleTarget::ProductGroup(v) => {
            check_text(&format!("{path}.target"), v, MAX_NAME_LEN, false)
        }
        RuleTarget::All => Ok(()),
    }
}

/// Checks a whole set of tenants: each valid, ids unique, register ids unique across tenants
/// (a register belongs to exactly one tenant), ITKassa keys unique across tenants (a key names
/// its organisation, ITK-7).
pub fn validate_tenants(prefix: &str, tenants: &[TenantSpec]) -> Result<(), SpecError> {
    check_unique(prefix, "tenant id", tenants.iter().map(|t| t.id.as_str()))?;
    for (i, t) in tenants.iter().enumerate() {
        t.validate(&format!("{prefix}[{i}]"))?;
    }
    check_unique(prefix, "register id", tenants.iter().flat_map(|t| t.registers.iter().map(|r| r.id.as_str())))?;
    check_unique(prefix, "ITKassa key", tenants.iter().flat_map(|t| t.itkassa_keys.iter().map(|k| k.key.as_str())))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> TenantSpec {
        toml::from_str(
            r#"
            id = "demo"
            name = "Demo"
            [[atol_login]]
            login = "netletest"
            pass = "v2AfscRjr"
            groups = ["MyCompany_MyShop"]
            [[group]]
            code = "MyCompany_MyShop"
            inn = "331122667723"
            payment_address = "magazin.ru"
            sno = ["osn"]
            [[register]]
            id = "0000000000001"
            profile = "ru"
            group = "MyCompany_MyShop"
            [loyalty]
            access_key = "password"
            [[loyalty.rule]]
            kind = "item_discount"
            id = "d1"
            target = { product = "120474" }
            percent = "10"
            [[loyalty.rule]]
            kind = "min_price"
            id = "m1"
            target = "all"
            price = "1.00"
            "#,
        )
        .expect("sample parses")
    }

    #[test]
    fn sample_is_valid() {
        let t = sample();
        t.validate("tenant[0]").unwrap();
        assert_eq!(t.loyalty.as_ref().unwrap().rules.len(), 2);
    }

    #[test]
    fn unknown_key_is_rejected_by_name() {
        let e = toml::from_str::<TenantSpec>("id = \"a\"\nnmae = \"x\"\n").unwrap_err();
        assert!(e.to_string().contains("nmae"), "{e}");
        let e = toml::from_str::<TenantSpec>("id = \"a\"\n[[group]]\ncode=\"g\"\ninn=\"1234567890\"\npayment_address=\"x\"\nsnoo=[]\n")
            .unwrap_err();
        assert!(e.to_string().contains("snoo"), "{e}");
    }

    #[test]
    fn errors_name_the_key() {
        let mut t = sample();
        t.groups[0].inn = "12".into();
        assert_eq!(t.validate("tenant[0]").unwrap_err().path, "tenant[0].group[0].inn");
        let mut t = sample();
        t.atol_logins[0].groups.push("Nope".into());
        assert_eq!(t.validate("tenant[0]").unwrap_err().path, "tenant[0].atol_login[0].groups[1]");
        let mut t = sample();
        t.registers.push(t.registers[0].clone());
        assert!(t.validate("t").unwrap_err().reason.contains("appears twice"));
        let mut t = sample();
        t.id = "has space".into();
        assert_eq!(t.validate("t").unwrap_err().path, "t.id");
    }

    #[test]
    fn registers_unique_across_tenants() {
        let a = sample();
        let mut b = sample();
        b.id = "other".into();
        b.atol_logins.clear();
        let e = validate_tenants("tenant", &[a, b]).unwrap_err();
        assert!(e.reason.contains("register id"), "{e}");
    }
}
