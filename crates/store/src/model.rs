//! Read models returned by the store, and the flat rows a [`TenantSpec`] is stored as.
//!
//! The conversion between a spec and its rows lives here, once, so both backends store exactly
//! the same thing.

use crate::{StoreError, secret_hash};
use kassa_domain::provisioning::{
    GroupSpec, LoyaltyRule, RegisterProfile, RegisterRole, RuleTarget, TenantSpec,
};
use kassa_money::{Money, Percent};
use serde::Serialize;

/// Which protocol face a credential belongs to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Face {
    /// ATOL Online login; lookup = login, secret = SHA-256 of the password, scope = group codes.
    Atol,
    /// ITKassa API key; lookup = secret = SHA-256 of the key, name = display name.
    Itkassa,
    /// Frontol loyalty access key; lookup = tenant id, secret = the key itself (LOY-13 needs it).
    Loyalty,
    /// Cash core bootstrap administrator PIN; lookup = tenant id, secret = the PIN (CORE-18).
    CashCore,
}

impl Face {
    pub const ALL: [Face; 4] = [Face::Atol, Face::Itkassa, Face::Loyalty, Face::CashCore];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Atol => "atol",
            Self::Itkassa => "itkassa",
            Self::Loyalty => "loyalty",
            Self::CashCore => "cash_core",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|f| f.as_str() == s)
    }
}

/// One stored credential.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Credential {
    pub tenant_id: String,
    pub face: Face,
    pub name: String,
    pub lookup: String,
    #[serde(skip)]
    pub secret: String,
    /// ATOL: the group codes the login may use.
    pub scope: Vec<String>,
    pub active: bool,
}

impl Credential {
    /// The password or key matches the stored secret (hashed faces compare hashes).
    pub fn secret_matches(&self, presented: &str) -> bool {
        match self.face {
            Face::Atol | Face::Itkassa => constant_time_eq(&secret_hash(presented), &self.secret),
            Face::Loyalty | Face::CashCore => constant_time_eq(presented, &self.secret),
        }
    }
}

/// Compares without an early exit, so the time taken does not reveal a matching prefix.
pub fn constant_time_eq(a: &str, b: &str) -> bool {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct GroupRow {
    pub code: String,
    pub inn: String,
    pub payment_address: String,
    /// Comma-separated `sno` values.
    pub sno: String,
    pub active: bool,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct RegisterRow {
    pub id: String,
    pub profile: RegisterProfile,
    pub group_code: Option<String>,
    pub role: RegisterRole,
    pub fn_number: Option<String>,
    pub reg_number: Option<String>,
    pub ofd_id: Option<String>,
    pub active: bool,
}

/// A loyalty rule as a flat row; money as minor units, percentages as basis points.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct RuleRow {
    pub id: String,
    pub kind: String,
    pub target_kind: Option<String>,
    pub target: Option<String>,
    pub percent_bp: Option<i64>,
    pub price_minor: Option<i64>,
    pub hours: Option<i64>,
    pub active: bool,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct CredentialRow {
    pub face: Face,
    pub name: String,
    pub lookup: String,
    pub secret: String,
    /// Comma-separated scope (ATOL group codes).
    pub scope: String,
}

/// A tenant spec flattened into the rows each backend stores.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TenantRows {
    pub id: String,
    pub name: String,
    pub credentials: Vec<CredentialRow>,
    pub groups: Vec<GroupRow>,
    pub registers: Vec<RegisterRow>,
    pub rules: Vec<RuleRow>,
    pub organizations: Vec<String>,
}

impl TenantRows {
    pub fn from_spec(spec: &TenantSpec) -> Self {
        let mut credentials = Vec::new();
        for l in &spec.atol_logins {
            credentials.push(CredentialRow {
                face: Face::Atol,
                name: l.login.clone(),
                lookup: l.login.clone(),
                secret: secret_hash(&l.pass),
                scope: l.groups.join(","),
            });
        }
        for k in &spec.itkassa_keys {
            let hash = secret_hash(&k.key);
            credentials.push(CredentialRow {
                face: Face::Itkassa,
                name: k.name.clone(),
                lookup: hash.clone(),
                secret: hash,
                scope: String::new(),
            });
        }
        if let Some(key) = spec.loyalty.as_ref().and_then(|l| l.access_key.as_ref()) {
            credentials.push(CredentialRow {
                face: Face::Loyalty,
                name: "access_key".into(),
                lookup: spec.id.clone(),
                secret: key.clone(),
                scope: String::new(),
            });
        }
        if let Some(cc) = &spec.cash_core {
            credentials.push(CredentialRow {
                face: Face::CashCore,
                name: "admin_pin".into(),
                lookup: spec.id.clone(),
                secret: cc.admin_pin.clone(),
                scope: String::new(),
            });
        }
        Self {
            id: spec.id.clone(),
            name: spec.name.clone(),
            credentials,
            groups: spec.groups.iter().map(group_row).collect(),
            registers: spec
                .registers
                .iter()
                .map(|r| RegisterRow {
                    id: r.id.clone(),
                    profile: r.profile,
                    group_code: r.group.clone(),
                    role: r.role,
                    fn_number: r.fn_number.clone(),
                    reg_number: r.reg_number.clone(),
                    ofd_id: r.ofd_id.clone(),
                    active: true,
                })
                .collect(),
            rules: spec.loyalty.iter().flat_map(|l| l.rules.iter().map(rule_row)).collect(),
            organizations: spec.events.iter().flat_map(|e| e.organizations.iter().cloned()).collect(),
        }
    }
}

fn group_row(g: &GroupSpec) -> GroupRow {
    GroupRow {
        code: g.code.clone(),
        inn: g.inn.clone(),
        payment_address: g.payment_address.clone(),
        sno: g.sno.join(","),
        active: true,
    }
}

fn target_parts(t: &RuleTarget) -> (Option<String>, Option<String>) {
    match t {
        RuleTarget::Product(v) => (Some("product".into()), Some(v.clone())),
        RuleTarget::ProductGroup(v) => (Some("product_group".into()), Some(v.clone())),
        RuleTarget::All => (Some("all".into()), None),
    }
}

pub fn rule_row(rule: &LoyaltyRule) -> RuleRow {
    let mut row = RuleRow {
        id: rule.id().to_owned(),
        kind: String::new(),
        target_kind: None,
        target: None,
        percent_bp: None,
        price_minor: None,
        hours: None,
        active: true,
    };
    match rule {
        LoyaltyRule::ItemDiscount { target, percent, .. } => {
            row.kind = "item_discount".into();
            (row.target_kind, row.target) = target_parts(target);
            row.percent_bp = Some(percent.basis_points());
        }
        LoyaltyRule::Accrual { percent, .. } => {
            row.kind = "accrual".into();
            row.percent_bp = Some(percent.basis_points());
        }
        LoyaltyRule::MaxBonusShare { percent, .. } => {
            row.kind = "max_bonus_share".into();
            row.percent_bp = Some(percent.basis_points());
        }
        LoyaltyRule::MinPrice { target, price, .. } => {
            row.kind = "min_price".into();
            (row.target_kind, row.target) = target_parts(target);
            row.price_minor = Some(price.minor());
        }
        LoyaltyRule::ActivationDelay { hours, .. } => {
            row.kind = "activation_delay".into();
            row.hours = Some(i64::from(*hours));
        }
    }
    row
}

impl RuleRow {
    /// Back to the domain rule; a row that does not decode is reported as corrupt.
    pub fn to_rule(&self) -> Result<LoyaltyRule, StoreError> {
        let corrupt = || StoreError::Corrupt(format!("loyalty rule '{}' of kind '{}'", self.id, self.kind));
        let id = self.id.clone();
        let target = || -> Result<RuleTarget, StoreError> {
            match (self.target_kind.as_deref(), &self.target) {
                (Some("product"), Some(v)) => Ok(RuleTarget::Product(v.clone())),
                (Some("product_group"), Some(v)) => Ok(RuleTarget::ProductGroup(v.clone())),
                (Some("all"), _) => Ok(RuleTarget::All),
                _ => Err(corrupt()),
            }
        };
        let percent = || self.percent_bp.map(Percent::from_basis_points).ok_or_else(corrupt);
        Ok(match self.kind.as_str() {
            "item_discount" => LoyaltyRule::ItemDiscount { id, target: target()?, percent: percent()? },
            "accrual" => LoyaltyRule::Accrual { id, percent: percent()? },
            "max_bonus_share" => LoyaltyRule::MaxBonusShare { id, percent: percent()? },
            "min_price" => LoyaltyRule::MinPrice {
                id,
                target: target()?,
                price: Money::from_minor(self.price_minor.ok_or_else(corrupt)?),
            },
            "activation_delay" => LoyaltyRule::ActivationDelay {
                id,
                hours: self.hours.and_then(|h| u32::try_from(h).ok()).ok_or_else(corrupt)?,
            },
            _ => return Err(corrupt()),
        })
    }
}

/// How many stored rows an apply changed (inserted, updated or deactivated).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct ApplyReport {
    pub created_tenant: bool,
    pub changed_rows: u64,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct TenantSummary {
    pub id: String,
    pub name: String,
    pub registers: i64,
}

/// A stored tenant: every entry, with its active flag. Secrets are never included.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct TenantView {
    pub id: String,
    pub name: String,
    pub credentials: Vec<Credential>,
    pub groups: Vec<GroupRow>,
    pub registers: Vec<RegisterRow>,
    pub rules: Vec<RuleRow>,
    pub organizations: Vec<(String, bool)>,
}

impl TenantView {
    pub fn credential(&self, face: Face, name: &str) -> Option<&Credential> {
        self.credentials.iter().find(|c| c.face == face && c.name == name)
    }
}
