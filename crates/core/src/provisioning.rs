//! Provisioning: validate tenant specs and apply them to the store idempotently.
//!
//! The config file's `[[tenant]]` entries are applied at start; the admin API applies one
//! tenant at a time. Both go through [`Provisioning::apply`], so they behave the same.

use crate::Core;
use kassa_domain::provisioning::{SpecError, TenantSpec, validate_tenants};
use kassa_store::{ApplyReport, StoreError};

#[derive(Debug, thiserror::Error)]
pub enum ProvisionError {
    #[error("invalid tenant spec: {0}")]
    Invalid(#[from] SpecError),
    #[error("tenant '{tenant}' cannot be applied: {source}")]
    Store { tenant: String, source: StoreError },
}

pub struct Provisioning<'a> {
    pub(crate) core: &'a Core,
}

impl Provisioning<'_> {
    /// Validates and applies one tenant in one transaction.
    pub async fn apply(&self, spec: &TenantSpec) -> Result<ApplyReport, ProvisionError> {
        spec.validate("tenant")?;
        let now = self.core.clock.now_ms();
        let report = self
            .core
            .store
            .apply_tenant(spec, now)
            .await
            .map_err(|source| ProvisionError::Store { tenant: spec.id.clone(), source })?;
        // The loyalty face caches tenants and keys; this node sees the change at once.
        self.core.loyalty.tenants.invalidate();
        if report.changed_rows > 0 {
            tracing::info!(tenant = %spec.id, created = report.created_tenant, changed = report.changed_rows, "tenant provisioned");
        }
        Ok(report)
    }

    /// Validates the whole set first (cross-tenant rules included), then applies each tenant.
    pub async fn apply_all(&self, specs: &[TenantSpec]) -> Result<u64, ProvisionError> {
        validate_tenants("tenant", specs)?;
        let mut changed = 0;
        for spec in specs {
            changed += self.apply(spec).await?.changed_rows;
        }
        Ok(changed)
    }
}
