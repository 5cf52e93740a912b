//! The loyalty engine's use cases (frontol-loyalty.md): the four document actions, the client
//! request, admin operations and the release of abandoned reservations.
//!
//! Each request is decided on one store snapshot and written as one commit holding its audit
//! record, ledger entries and document/reservation changes (all or nothing). When a concurrent
//! commit got there first the store reports a conflict and the request is decided again, so a
//! replay is recognised instead of applied twice (LOY-79 – LOY-83). Every request is stored
//! with its response before the response is sent (LOY-56), errors included.
//!
//! May depend on the domain, the store port and the core's ports ([`Notifier`], [`crate::Clock`]).

mod decide;

use crate::Core;
use async_trait::async_trait;
use kassa_domain::loyalty::ledger::{Entry, EntryKind};
use kassa_domain::loyalty::response;
use kassa_domain::loyalty::wire::{self, ErrorCode, LoyaltyError};
use kassa_money::Money;
use kassa_store::StoreError;
use kassa_store::loyalty::{AuditRecord, ClientRow, ClientState, Commit, HoldChange, LoyaltyTenant};
use std::borrow::Cow;
use std::sync::Arc;

pub use decide::Decision;

/// How many times a request is decided again after a concurrent commit won.
const MAX_ATTEMPTS: usize = 16;

/// A message to a client outside the POS (LOY-69: the validation code).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Notification {
    pub tenant: String,
    pub phone: String,
    pub text: String,
}

/// Delivers notifications: a log line by default; the server wires an SMS-gateway webhook.
#[async_trait]
pub trait Notifier: Send + Sync + 'static {
    async fn notify(&self, n: Notification);
}

/// Writes the notification to the log (the code itself only at debug level).
pub struct LogNotifier;

#[async_trait]
impl Notifier for LogNotifier {
    async fn notify(&self, n: Notification) {
        tracing::info!(tenant = %n.tenant, phone = %n.phone, "loyalty validation code issued");
        tracing::debug!(text = %n.text, "loyalty notification");
    }
}

/// The loyalty tenants and their keys, read at most once per [`TENANT_CACHE_MS`] and dropped
/// when this node applies a tenant (another node's change shows within that time).
#[derive(Default)]
pub struct TenantCache(std::sync::Mutex<Option<(i64, Arc<Vec<LoyaltyTenant>>)>>);

/// How long the tenant list is reused.
pub const TENANT_CACHE_MS: i64 = 1_000;

impl TenantCache {
    pub fn invalidate(&self) {
        if let Ok(mut g) = self.0.lock() {
            *g = None;
        }
    }

    fn get(&self, now: i64) -> Option<Arc<Vec<LoyaltyTenant>>> {
        let g = self.0.lock().ok()?;
        g.as_ref().filter(|(at, _)| now - *at < TENANT_CACHE_MS && now >= *at).map(|(_, t)| t.clone())
    }

    fn put(&self, now: i64, t: Arc<Vec<LoyaltyTenant>>) {
        if let Ok(mut g) = self.0.lock() {
            *g = Some((now, t));
        }
    }
}

/// Settings and shared state of the loyalty engine.
#[derive(Clone)]
pub struct Settings {
    /// LOY-84: reservations without a confirm are released after this long (default 7 days).
    pub hold_horizon_ms: i64,
    /// LOY-69: a validation code is reused for the same (uid, phone) this long (15 minutes).
    pub code_validity_ms: i64,
    pub notifier: Arc<dyn Notifier>,
    pub tenants: Arc<TenantCache>,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            hold_horizon_ms: 7 * 24 * 3_600_000,
            code_validity_ms: 15 * 60_000,
            notifier: Arc::new(LogNotifier),
            tenants: Arc::default(),
        }
    }
}

/// What the face sends back.
#[derive(Clone, Debug, PartialEq)]
pub enum Reply {
    /// HTTP 200 with this JSON body (the same text that was stored in the audit record).
    Json(String),
    /// LOY-10: a confirm that could not be stored durably is not answered at all, so the POS
    /// keeps it in its offline queue.
    Drop,
}

/// Why a tenant could not be chosen for a request (LOY-16).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AuthFailure {
    /// No tenant's key matches (403).
    Forbidden,
    /// The store cannot be read.
    Unavailable,
}

pub struct Loyalty<'a> {
    pub(crate) core: &'a Core,
}

impl Loyalty<'_> {
    fn settings(&self) -> &Settings {
        &self.core.loyalty
    }

    /// LOY-16 with several tenants: a request carrying a valid token for some tenant's key
    /// belongs to that tenant; otherwise it belongs to the single tenant without a key, if
    /// there is exactly one. `only` restricts the choice to one tenant (per-tenant path prefix).
    pub async fn authenticate(
        &self,
        only: Option<&str>,
        authorization: Option<&str>,
        body: &[u8],
    ) -> Result<String, AuthFailure> {
        use kassa_domain::loyalty::auth;
        let now = self.core.clock.now_ms();
        let tenants = match self.settings().tenants.get(now) {
            Some(t) => t,
            None => {
                let t = Arc::new(self.core.store.loyalty_tenants().await.map_err(|e| {
                    tracing::error!(error = %e, "cannot read loyalty tenants");
                    AuthFailure::Unavailable
                })?);
                self.settings().tenants.put(now, t.clone());
                t
            }
        };
        let candidates: Vec<&LoyaltyTenant> = tenants.iter().filter(|t| only.is_none_or(|o| o == t.tenant_id)).collect();
        if let Some(token) = authorization.and_then(auth::parse_header) {
            for t in &candidates {
                if let Some(key) = &t.access_key
                    && auth::verify(key, body, token)
                {
                    return Ok(t.tenant_id.clone());
                }
            }
        }
        let open: Vec<&&LoyaltyTenant> = candidates.iter().filter(|t| t.access_key.is_none()).collect();
        match open.as_slice() {
            [t] => Ok(t.tenant_id.clone()),
            _ => {
                tracing::warn!(tenant = only.unwrap_or("*"), "Frontol loyalty request rejected: authorization failed");
                Err(AuthFailure::Forbidden)
            }
        }
    }

    /// `POST …/document` for an authenticated tenant.
    pub async fn document(&self, tenant: &str, path: &str, body: &[u8]) -> Reply {
        let received = self.core.clock.now_ms();
        let (text, request) = read_body(body);
        // The tree lives only here: parsed into the request, or peeked at for the error's audit.
        let parsed = match text.and_then(wire::parse_text) {
            Ok(tree) => wire::parse_document(&tree).map_err(|e| (e, wire::peek(&tree))),
            Err(e) => Err((e, (None, None))),
        };
        let req = match parsed {
            Ok(r) => r,
            Err((e, (action, uid))) => {
                let confirm = action.as_deref() == Some("confirm");
                return self.answer_error(tenant, path, &request, received, action, uid, &e, confirm).await;
            }
        };
        let c = &req.common;
        if c.date_time.is_none() || c.organization.is_none() || c.business_unit.is_none() || c.work_place.is_none() {
            // LOY-25: accepted anyway.
            tracing::warn!(tenant, action = req.action.as_str(), "Frontol request without dateTime, organization, businessUnit or workPlace");
        }
        let confirm = req.action == wire::Action::Confirm;
        let mut attempt = 0;
        loop {
            attempt += 1;
            let now = self.core.clock.now_ms();
            let q = decide::query(&req, now);
            let snap = match self.core.store.loyalty_snapshot(tenant, &q).await {
                Ok(s) => s,
                Err(e) => return self.unavailable(e, confirm),
            };
            let decision = match decide::document(&req, &snap, now, self.settings(), &mut new_code) {
                Ok(d) => d,
                Err(e) => {
                    return self
                        .answer_error(tenant, path, &request, received, Some(req.action.as_str().into()), req.uid.clone(), &e, confirm)
                        .await;
                }
            };
            let mut commit = decision.commit;
            let response = decision.response;
            commit.audit = Some(audit(path, Some(req.action.as_str()), req.uid.as_deref(), &request, received, &response, decision.flagged, &decision.note));
            match self.core.store.loyalty_commit(tenant, &commit, now).await {
                Ok(_) => {
                    if let Some(code) = decision.issued_code.as_ref() {
                        self.settings()
                            .notifier
                            .notify(Notification {
                                tenant: tenant.to_owned(),
                                phone: code.0.clone(),
                                text: format!("Код подтверждения: {}", code.1),
                            })
                            .await;
                    }
                    return Reply::Json(response.text);
                }
                Err(StoreError::Conflict(why)) if attempt < MAX_ATTEMPTS => {
                    tracing::debug!(%why, attempt, "loyalty commit lost a race; deciding again");
                }
                Err(e) => return self.unavailable(e, confirm),
            }
        }
    }

    /// `POST …/client` (§5.6, LOY-71, LOY-72): no side effects besides the audit record.
    pub async fn client(&self, tenant: &str, path: &str, body: &[u8]) -> Reply {
        let received = self.core.clock.now_ms();
        let (text, request) = read_body(body);
        let req = match text.and_then(wire::parse_text).and_then(|v| wire::parse_client(&v)) {
            Ok(r) => r,
            Err(e) => return self.answer_error(tenant, path, &request, received, None, None, &e, false).await,
        };
        let q = kassa_store::loyalty::SnapshotQuery { client: Some(req.client.clone()), now_ms: received, ..Default::default() };
        let snap = match self.core.store.loyalty_snapshot(tenant, &q).await {
            Ok(s) => s,
            Err(e) => return self.unavailable(e, false),
        };
        match decide::client(&snap) {
            Ok(resp) => {
                let commit = Commit { audit: Some(audit(path, None, None, &request, received, &resp, false, "")), ..Default::default() };
                match self.core.store.loyalty_commit(tenant, &commit, received).await {
                    Ok(_) => Reply::Json(resp.text),
                    Err(e) => self.unavailable(e, false),
                }
            }
            Err(e) => self.answer_error(tenant, path, &request, received, None, None, &e, false).await,
        }
    }

    /// Stores an error answer (flagged, LOY-56) and returns it; if it cannot be stored, a
    /// confirm is dropped (LOY-10) and anything else gets code 1.
    #[allow(clippy::too_many_arguments)]
    async fn answer_error(
        &self,
        tenant: &str,
        path: &str,
        request: &str,
        received: i64,
        action: Option<String>,
        uid: Option<String>,
        e: &LoyaltyError,
        confirm: bool,
    ) -> Reply {
        let resp = response::error(e);
        let commit = Commit {
            audit: Some(audit(path, action.as_deref(), uid.as_deref(), request, received, &resp, true, &e.message)),
            ..Default::default()
        };
        match self.core.store.loyalty_commit(tenant, &commit, received).await {
            Ok(_) => Reply::Json(resp.text),
            Err(err) => self.unavailable(err, confirm),
        }
    }

    fn unavailable(&self, e: StoreError, confirm: bool) -> Reply {
        tracing::error!(error = %e, confirm, "loyalty request not stored");
        if confirm {
            Reply::Drop
        } else {
            Reply::Json(response::error(&LoyaltyError::new(ErrorCode::Internal, "Внутренняя ошибка сервера лояльности")).text)
        }
    }

    /// Provisions the demo client with its opening balance, once (crates/core/src/demo.rs).
    pub async fn seed_demo(&self) -> Result<(), StoreError> {
        let c = crate::demo::loyalty_client();
        let tenant = crate::demo::TENANT_ID;
        if self.client_state(tenant, &c.id).await?.is_none() {
            self.put_client(tenant, &c).await?;
            self.adjust(tenant, &c.id, crate::demo::LOYALTY_OPENING_BALANCE, "demo opening balance").await?;
        }
        Ok(())
    }

    // ---- admin ----

    pub async fn put_client(&self, tenant: &str, client: &ClientRow) -> Result<bool, StoreError> {
        self.core.store.loyalty_put_client(tenant, client, self.core.clock.now_ms()).await
    }

    pub async fn client_state(&self, tenant: &str, id: &str) -> Result<Option<ClientState>, StoreError> {
        self.core.store.loyalty_client(tenant, id, self.core.clock.now_ms()).await
    }

    /// A manual correction of a client's balance (signed), as one ledger entry.
    pub async fn adjust(&self, tenant: &str, client_id: &str, amount: Money, note: &str) -> Result<ClientState, StoreError> {
        let now = self.core.clock.now_ms();
        if self.client_state(tenant, client_id).await?.is_none() {
            return Err(StoreError::NotFound(format!("no loyalty client '{client_id}'")));
        }
        let commit = Commit {
            entries: vec![Entry {
                client_id: client_id.to_owned(),
                kind: EntryKind::Adjustment,
                amount,
                available_at_ms: now,
                doc_uid: None,
                note: note.to_owned(),
            }],
            ..Default::default()
        };
        self.core.store.loyalty_commit(tenant, &commit, now).await?;
        self.client_state(tenant, client_id).await?.ok_or_else(|| StoreError::NotFound(client_id.to_owned()))
    }

    /// LOY-84: releases reservations older than the horizon, each flagged in the audit log.
    /// Returns how many were released.
    pub async fn release_stale_holds(&self, limit: u32) -> Result<usize, StoreError> {
        let now = self.core.clock.now_ms();
        let stale = self.core.store.loyalty_stale_holds(now - self.settings().hold_horizon_ms, limit).await?;
        let mut released = 0;
        for (tenant, h) in stale {
            let note = format!("reservation {} of document {} released after the horizon without a confirm", h.id, h.uid);
            let commit = Commit {
                hold_changes: vec![HoldChange { id: h.id, from: "active".into(), to: "released".into() }],
                entries: vec![Entry {
                    client_id: h.client_id.clone(),
                    kind: EntryKind::Release,
                    amount: h.amount,
                    available_at_ms: now,
                    doc_uid: Some(h.uid.clone()),
                    note: note.clone(),
                }],
                audit: Some(AuditRecord {
                    id: 0,
                    received_at_ms: now,
                    path: "worker:loyalty-hold-expiry".into(),
                    action: Some("release".into()),
                    uid: Some(h.uid.clone()),
                    request: String::new(),
                    code: 0,
                    response: String::new(),
                    flagged: true,
                    note,
                }),
                ..Default::default()
            };
            match self.core.store.loyalty_commit(&tenant, &commit, now).await {
                Ok(_) => released += 1,
                // Confirmed or cancelled meanwhile: nothing to release.
                Err(StoreError::Conflict(_)) => {}
                Err(e) => return Err(e),
            }
        }
        Ok(released)
    }
}

/// The body as text to parse (LOY-6: UTF-8) and as its audit record keeps it, checked once; a
/// body that is not UTF-8 is kept with replacement characters.
fn read_body(body: &[u8]) -> (Result<&str, LoyaltyError>, Cow<'_, str>) {
    match wire::body_text(body) {
        Ok(text) => (Ok(text), Cow::Borrowed(text)),
        Err(e) => (Err(e), String::from_utf8_lossy(body)),
    }
}

/// A fresh 4-digit validation code (LOY-69).
fn new_code() -> String {
    use rand::Rng;
    format!("{:04}", rand::rng().random_range(0..10_000))
}

#[allow(clippy::too_many_arguments)]
fn audit(
    path: &str,
    action: Option<&str>,
    uid: Option<&str>,
    request: &str,
    received: i64,
    resp: &response::Body,
    flagged: bool,
    note: &str,
) -> AuditRecord {
    AuditRecord {
        id: 0,
        received_at_ms: received,
        path: path.to_owned(),
        action: action.map(|a| a.chars().take(64).collect()),
        uid: uid.map(|u| u.chars().take(128).collect()),
        request: request.to_owned(),
        code: resp.code,
        response: resp.text.clone(),
        flagged,
        note: note.to_owned(),
    }
}
