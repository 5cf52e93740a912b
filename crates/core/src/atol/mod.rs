//! ATOL Online v3 use cases (`atol-online-v3.md`): tokens (§5), registration with idempotency
//! and durable acceptance (§6), the report from stored state (§8), the queue timeout (ATOL-81),
//! the callback outbox rows (ATOL-76), and the dispatcher over the [`AtolRegisters`] port (§7).
//!
//! The face calls these with the pieces it parsed; the pure rules live in
//! `kassa_domain::atol`. May depend on the domain, money and the store ports only.

mod dispatcher;
mod engine_registers;
mod registers;

pub use dispatcher::{DispatchReport, DispatchState};
pub use engine_registers::{EngineRegisters, command_of, kkt_error_of, payload_of};
pub use registers::{AcceptedDocument, AtolRegisters};

use crate::Core;
use kassa_domain::atol::dispatch::{QueuePolicy, RateWindow, is_timed_out, timeout_error};
use kassa_domain::atol::json::{self, JsonError};
use kassa_domain::atol::report::{DocState, DocView, Payload, Report, report_for, request_error_report};
use kassa_domain::atol::time::{MOSCOW_OFFSET_SECS, format_local};
use kassa_domain::atol::validate::{self, Operation};
use kassa_domain::atol::{AtolError, ErrorType, ServiceError, Status, token};
use kassa_store::atol::*;
use kassa_store::{Credential, Face, StoreError};
use serde::Serialize;

/// Settings of the face and its queue (config `[atol]`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AtolSettings {
    /// ATOL-28: supported API versions.
    pub versions: Vec<String>,
    /// D-9: local offset of generated date-times.
    pub utc_offset_secs: i64,
    pub policy: QueuePolicy,
    /// ATOL-86: the name of this server in `daemon_code`.
    pub daemon_code: String,
    /// ATOL-78 (D-31): callback attempts, as delays after the first one.
    pub callback_delays_ms: Vec<i64>,
}

impl Default for AtolSettings {
    fn default() -> Self {
        Self {
            versions: vec!["v3".into()],
            utc_offset_secs: MOSCOW_OFFSET_SECS,
            policy: QueuePolicy::default(),
            daemon_code: "prod-agent-1".into(),
            callback_delays_ms: vec![0, 30_000, 120_000],
        }
    }
}

/// The settings with the in-memory caches of one node.
#[derive(Debug, Default)]
pub struct AtolRuntime {
    pub settings: AtolSettings,
    cache: AuthCache,
    /// ATOL-9: incoming documents per group on this node, in a sliding minute.
    rates: std::sync::Mutex<std::collections::HashMap<(String, String), RateWindow>>,
    /// Registers that take no documents now (test hook of TV-20 and TV-32).
    paused: std::sync::Mutex<std::collections::HashSet<String>>,
}

impl AtolRuntime {
    pub fn new(settings: AtolSettings) -> Self {
        Self { settings, ..Self::default() }
    }

    /// Documents the group accepted in the last minute (ATOL-9).
    pub fn incoming_per_minute(&self, tenant_id: &str, group_code: &str, now_ms: i64) -> u64 {
        let Ok(mut m) = self.rates.lock() else { return 0 };
        m.get_mut(&(tenant_id.to_owned(), group_code.to_owned())).map_or(0, |w| w.per_minute(now_ms))
    }

    /// Test hook (TV-20, TV-32): a paused register takes no documents until resumed.
    pub fn pause_register(&self, register_id: &str, paused: bool) {
        let mut p = self.paused.lock().unwrap_or_else(|e| e.into_inner());
        if paused {
            p.insert(register_id.to_owned());
        } else {
            p.remove(register_id);
        }
    }

    pub fn is_paused(&self, register_id: &str) -> bool {
        self.paused.lock().unwrap_or_else(|e| e.into_inner()).contains(register_id)
    }

    fn record_accepted(&self, tenant_id: &str, group_code: &str, now_ms: i64) {
        if let Ok(mut m) = self.rates.lock() {
            m.entry((tenant_id.to_owned(), group_code.to_owned())).or_default().record(now_ms);
        }
    }
}

/// How long a login's scope is trusted from memory (provisioning changes apply after this).
const LOGIN_CACHE_MS: i64 = 1_000;

/// Tokens never change once issued, so they are cached for good; a login's credential is
/// cached briefly. Both save store reads on every registration and report.
#[derive(Debug, Default)]
struct AuthCache {
    tokens: std::sync::Mutex<std::collections::HashMap<String, AtolTokenRow>>,
    logins: std::sync::Mutex<std::collections::HashMap<String, (i64, Option<Credential>)>>,
}

/// The registration answer (ATOL-67): all four members always.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Registration {
    pub uuid: String,
    pub timestamp: String,
    pub status: Status,
    pub error: Option<AtolError>,
}

/// The getToken answer (ATOL-35).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct TokenAnswer {
    pub code: i32,
    pub text: Option<String>,
    pub token: String,
}

impl TokenAnswer {
    pub fn error(e: &ServiceError) -> (u16, Self) {
        (e.http_status(), Self { code: e.code(), text: Some(e.text()), token: String::new() })
    }
}

/// Whom a token belongs to, with the groups it may use (ATOL-37).
#[derive(Clone, Debug)]
pub struct Authorized {
    pub tenant_id: String,
    pub login: String,
    pub groups: Vec<String>,
}

/// Which request checks a token: registration (4/5/6) or report (12/13/14) (ATOL-44).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TokenUse {
    Registration,
    Report,
}

/// ATOL-78: only absolute `http`/`https` URLs are called.
pub fn is_callable_url(url: &str) -> bool {
    let lower = url.get(..8).unwrap_or(url).to_ascii_lowercase();
    let rest = if lower.starts_with("https://") {
        &url[8..]
    } else if lower.starts_with("http://") {
        &url[7..]
    } else {
        return false;
    };
    !rest.is_empty() && !rest.starts_with('/')
}

fn err_row(e: &AtolError) -> AtolErrorRow {
    AtolErrorRow { code: i64::from(e.code), text: e.text.clone(), kind: e.kind.as_str().into() }
}

fn err_from_row(e: &AtolErrorRow) -> Option<AtolError> {
    Some(AtolError { code: i32::try_from(e.code).ok()?, text: e.text.clone(), kind: ErrorType::parse(&e.kind)? })
}

fn internal(e: StoreError) -> String {
    e.to_string()
}

/// The report of a stored document (ATOL-94).
pub fn report_of(d: &AtolDocumentRow) -> Result<(u16, Report), String> {
    let state = DocState::parse(&d.state).ok_or_else(|| format!("unknown state '{}'", d.state))?;
    let payload: Option<Payload> = match &d.payload {
        Some(p) => Some(serde_json::from_str(p).map_err(|e| format!("stored payload: {e}"))?),
        None => None,
    };
    Ok(report_for(DocView {
        uuid: &d.uuid,
        timestamp: &d.timestamp,
        group_code: &d.group_code,
        callback_url: &d.callback_url,
        state,
        error: d.error.as_ref().and_then(err_from_row),
        payload,
        daemon_code: &d.daemon_code,
        device_code: &d.device_code,
    }))
}

pub struct Atol<'a> {
    pub(crate) core: &'a Core,
}

impl Atol<'_> {
    fn settings(&self) -> &AtolSettings {
        &self.core.atol.settings
    }

    fn cache(&self) -> &AuthCache {
        &self.core.atol.cache
    }

    pub fn supports(&self, version: &str) -> bool {
        self.settings().versions.iter().any(|v| v == version)
    }

    /// Server time as `dd.mm.yyyy HH:MM:SS` (ATOL-19).
    pub fn server_time(&self) -> String {
        format_local(self.core.clock.now_ms(), self.settings().utc_offset_secs)
    }

    pub fn new_uuid(&self) -> String {
        self.core.ids.uuid()
    }

    async fn login(&self, login: &str) -> Result<Option<Credential>, StoreError> {
        self.core.store.credential(Face::Atol, login).await
    }

    async fn login_cached(&self, login: &str) -> Result<Option<Credential>, StoreError> {
        let now = self.core.clock.now_ms();
        if let Some((at, c)) = self.cache().logins.lock().ok().and_then(|m| m.get(login).cloned())
            && (0..LOGIN_CACHE_MS).contains(&(now - at))
        {
            return Ok(c);
        }
        let c = self.login(login).await?;
        if let Ok(mut m) = self.cache().logins.lock() {
            m.insert(login.to_owned(), (now, c.clone()));
        }
        Ok(c)
    }

    async fn token_row(&self, token: &str) -> Result<Option<AtolTokenRow>, StoreError> {
        if let Some(r) = self.cache().tokens.lock().ok().and_then(|m| m.get(token).cloned()) {
            return Ok(Some(r));
        }
        let row = self.core.store.atol_token(token).await?;
        if let (Some(r), Ok(mut m)) = (&row, self.cache().tokens.lock()) {
            m.insert(token.to_owned(), r.clone());
        }
        Ok(row)
    }

    /// getToken (§5): code 0 new token, 1 the current one; errors 18/19 (17 is the face's).
    pub async fn get_token(&self, login: &str, pass: &str) -> (u16, TokenAnswer) {
        match self.issue(login, pass).await {
            Ok((code, token)) => (200, TokenAnswer { code, text: None, token }),
            Err(e) => TokenAnswer::error(&e),
        }
    }

    async fn issue(&self, login: &str, pass: &str) -> Result<(i32, String), ServiceError> {
        let gen_err = |e: StoreError| {
            tracing::error!(error = %e, "ATOL getToken: store failed");
            ServiceError::AuthGenToken
        };
        // ATOL-33: unknown login or wrong password, compared exactly.
        let cred = self.login(login).await.map_err(gen_err)?;
        let cred = cred.filter(|c| c.active && c.secret_matches(pass)).ok_or(ServiceError::AuthWrongUserOrPassword)?;
        let now = self.core.clock.now_ms();
        if let Some(cur) = self.core.store.atol_current_token(&cred.tenant_id, login).await.map_err(gen_err)? {
            // ATOL-39: within 23 h the same token, lifetime not renewed.
            if token::reuse_current(cur.issued_at_ms, now) {
                return Ok((1, cur.token));
            }
        }
        // ATOL-40/41: a new token; the old one lives out its 24 hours.
        let row = AtolTokenRow { token: self.core.ids.token(), tenant_id: cred.tenant_id, login: login.to_owned(), issued_at_ms: now };
        self.core.store.atol_issue_token(&row).await.map_err(gen_err)?;
        Ok((0, row.token))
    }

    /// ATOL-43/44: `tokenid` absent/empty, unknown, expired; then the user's groups.
    pub async fn authorize(&self, token: Option<&str>, usage: TokenUse) -> Result<Authorized, ServiceError> {
        let reg = usage == TokenUse::Registration;
        let token = token.filter(|t| !t.is_empty()).ok_or(if reg {
            ServiceError::IncomingMissingToken
        } else {
            ServiceError::StateMissingToken
        })?;
        let not_found = if reg { ServiceError::IncomingNotExistToken } else { ServiceError::StateNotExistToken };
        let row = match self.token_row(token).await {
            Ok(Some(r)) => r,
            Ok(None) => return Err(not_found),
            Err(e) => {
                // The token cannot be checked: answer as not found rather than fail open.
                tracing::error!(error = %e, "ATOL token lookup failed");
                return Err(not_found);
            }
        };
        if !token::is_valid(row.issued_at_ms, self.core.clock.now_ms()) {
            return Err(if reg { ServiceError::IncomingExpiredToken } else { ServiceError::StateExpiredToken });
        }
        // The login's current scope (a login retired by provisioning has no groups).
        let groups = match self.login_cached(&row.login).await {
            Ok(Some(c)) if c.active && c.tenant_id == row.tenant_id => c.scope,
            Ok(_) => Vec::new(),
            Err(e) => {
                tracing::error!(error = %e, "ATOL credential lookup failed");
                Vec::new()
            }
        };
        Ok(Authorized { tenant_id: row.tenant_id, login: row.login, groups })
    }

    fn fail(&self, uuid: String, timestamp: Option<String>, e: &ServiceError) -> (u16, Registration) {
        (
            e.http_status(),
            Registration {
                uuid,
                timestamp: timestamp.unwrap_or_else(|| self.server_time()),
                status: e.status(),
                error: Some(e.to_error()),
            },
        )
    }

    /// A request error before the body is read (2, 3, 4, 5, 6, 22): nothing is stored (ATOL-50).
    pub fn registration_error(&self, uuid: String, e: &ServiceError) -> (u16, Registration) {
        self.fail(uuid, None, e)
    }

    /// ATOL-48 steps 6–9 for an authorized request: parse, idempotency, validation, acceptance.
    /// `body` is `Err` when it was larger than the face accepts.
    pub async fn register(
        &self,
        auth: &Authorized,
        group_code: &str,
        op: Operation,
        uuid: String,
        body: Result<&[u8], String>,
    ) -> (u16, Registration) {
        let now = self.core.clock.now_ms();
        // The body as received (BOM stripped) is what the register reads later.
        let raw = match body {
            Ok(b) => String::from_utf8_lossy(b.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(b)).into_owned(),
            Err(_) => String::new(),
        };
        // Step 6: syntactically valid JSON → else 1 (stored, ATOL-50).
        let value = match body.map_err(JsonError::Syntax).and_then(json::parse) {
            Ok(v) => Ok(v),
            Err(JsonError::Syntax(detail)) => {
                let e = ServiceError::Parse(detail);
                return self.reject(auth, group_code, op, uuid, None, String::new(), e, now).await;
            }
            Err(JsonError::Duplicate(name)) => Err(name),
        };
        let (value, duplicate) = match value {
            Ok(v) => (v, None),
            Err(name) => (kassa_domain::json::Json::Null, Some(name)),
        };
        let validated = match &duplicate {
            // ATOL-18: skips idempotency, fails validation.
            Some(name) => Err(validate::Invalid { pointer: String::new(), reason: format!("повторяющееся поле \"{name}\"") }),
            None => validate::validate(op, &value),
        };
        let doc = match validated {
            Ok(doc) => doc,
            Err(invalid) => {
                let ts = validate::usable_timestamp(&value).map(str::to_owned);
                // Step 7 comes before validation: an invalid body with a taken external_id → 10.
                if let Some(ext) = validate::external_id_for_lookup(&value).filter(|_| duplicate.is_none()) {
                    match self.find_external(auth, group_code, ext).await {
                        Ok(Some((first, first_ts))) => return self.duplicate(first, first_ts, ext, group_code),
                        Ok(None) => {}
                        Err(e) => return self.unavailable(uuid, e),
                    }
                }
                let e = ServiceError::Validation { uuid: uuid.clone(), detail: invalid.detail() };
                let body_text = String::new();
                return self.reject(auth, group_code, op, uuid, ts, body_text, e, now).await;
            }
        };
        // Step 9: accept; a missing external_id is generated (ATOL-75, D-30).
        let (external_id, generated) = match &doc.external_id {
            Some(x) => (x.clone(), false),
            None => (self.core.ids.uuid(), true),
        };
        let row = NewAtolDocument {
            uuid: uuid.clone(),
            tenant_id: auth.tenant_id.clone(),
            group_code: group_code.to_owned(),
            operation: op.as_str().into(),
            external_id: Some(external_id.clone()),
            state: DocState::Queued.as_str().into(),
            timestamp: doc.timestamp.clone(),
            callback_url: doc.callback_url().to_owned(),
            body: raw,
            error: None,
            now_ms: now,
        };
        // Durable before acknowledged: the answer waits for the commit.
        match self.core.store.atol_insert_documents(std::slice::from_ref(&row)).await {
            Ok(r) => match r.into_iter().next() {
                Some(AtolInsert::Stored) => {
                    self.core.atol.record_accepted(&auth.tenant_id, group_code, now);
                    let error = generated.then(|| ServiceError::IsNullExternalId(external_id).to_error());
                    (200, Registration { uuid, timestamp: doc.timestamp, status: Status::Wait, error })
                }
                Some(AtolInsert::Duplicate { uuid: first, timestamp }) => self.duplicate(first, timestamp, &external_id, group_code),
                None => self.unavailable(uuid, StoreError::Unavailable("no insert result".into())),
            },
            Err(e) => self.unavailable(uuid, e),
        }
    }

    async fn find_external(&self, auth: &Authorized, group: &str, ext: &str) -> Result<Option<(String, String)>, StoreError> {
        self.core.store.atol_external_id(&auth.tenant_id, group, ext).await
    }

    fn duplicate(&self, first: String, timestamp: String, ext: &str, group: &str) -> (u16, Registration) {
        // ATOL-72: error 10 with the first document's uuid and timestamp.
        let e = ServiceError::ExistExternalId { external_id: ext.to_owned(), group_code: group.to_owned() };
        self.fail(first, Some(timestamp), &e)
    }

    fn unavailable(&self, uuid: String, e: StoreError) -> (u16, Registration) {
        // Nothing was acknowledged; the client may resend with the same external_id (ATOL-72).
        tracing::error!(error = %e, "ATOL registration could not be stored");
        let e = ServiceError::IncomingQueue { uuid: uuid.clone(), cause: "хранилище недоступно".into() };
        let (_, mut r) = self.fail(uuid, None, &e);
        r.status = Status::Fail;
        (500, r)
    }

    #[allow(clippy::too_many_arguments)]
    async fn reject(
        &self,
        auth: &Authorized,
        group_code: &str,
        op: Operation,
        uuid: String,
        timestamp: Option<String>,
        body: String,
        e: ServiceError,
        now: i64,
    ) -> (u16, Registration) {
        let (http, answer) = self.fail(uuid.clone(), timestamp, &e);
        // ATOL-50: stored so a later report repeats the failure; holds no external_id.
        let row = NewAtolDocument {
            uuid,
            tenant_id: auth.tenant_id.clone(),
            group_code: group_code.to_owned(),
            operation: op.as_str().into(),
            external_id: None,
            state: DocState::Rejected.as_str().into(),
            timestamp: answer.timestamp.clone(),
            callback_url: String::new(),
            body,
            error: answer.error.as_ref().map(err_row),
            now_ms: now,
        };
        if let Err(e) = self.core.store.atol_insert_documents(&[row]).await {
            tracing::warn!(error = %e, "ATOL rejected request could not be recorded");
        }
        (http, answer)
    }

    /// Report (§8.1) for an authorized request with a valid, lowercased uuid.
    pub async fn report(&self, auth: &Authorized, group_code: &str, uuid: &str) -> (u16, Report) {
        if !auth.groups.iter().any(|g| g == group_code) {
            // D-36: 22 with status wait.
            return self.report_error(&ServiceError::GroupCodeToToken, uuid, group_code);
        }
        match self.core.store.atol_document(&auth.tenant_id, group_code, uuid).await {
            Ok(Some(d)) => match report_of(&d) {
                Ok(r) => r,
                Err(e) => {
                    tracing::error!(uuid, error = %e, "ATOL stored document does not decode");
                    self.report_error(&ServiceError::StateNotFound, uuid, group_code)
                }
            },
            // ATOL-92 (D-37): unknown here → 16, wait.
            Ok(None) => self.report_error(&ServiceError::StateNotFound, uuid, group_code),
            Err(e) => {
                tracing::error!(error = %e, "ATOL report lookup failed");
                self.report_error(&ServiceError::StateNotFound, uuid, group_code)
            }
        }
    }

    pub fn report_error(&self, e: &ServiceError, uuid: &str, group_code: &str) -> (u16, Report) {
        request_error_report(e, uuid, group_code, self.server_time())
    }

    /// The callback row for a document reaching a final state (ATOL-76/77), if it has a URL
    /// that may be called.
    fn callback_for(&self, d: &AtolDocumentRow, final_row: &AtolDocumentRow, now: i64) -> Option<NewAtolCallback> {
        if !is_callable_url(&d.callback_url) {
            return None;
        }
        let (_, report) = report_of(final_row).ok()?;
        Some(NewAtolCallback { url: d.callback_url.clone(), body: serde_json::to_string(&report).ok()?, next_at_ms: now })
    }

    /// Builds the final transition of `d` (done or failed), with its callback row.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn finish(
        &self,
        d: &AtolDocumentRow,
        from_state: DocState,
        to: DocState,
        error: Option<AtolError>,
        payload: Option<&Payload>,
        device_code: &str,
        attempts: i64,
        now: i64,
    ) -> AtolTransition {
        let daemon_code = if device_code.is_empty() { String::new() } else { self.settings().daemon_code.clone() };
        let final_row = AtolDocumentRow {
            state: to.as_str().into(),
            error: error.as_ref().map(err_row),
            payload: payload.and_then(|p| serde_json::to_string(p).ok()),
            daemon_code: daemon_code.clone(),
            device_code: device_code.to_owned(),
            attempts,
            ..d.clone()
        };
        AtolTransition {
            uuid: d.uuid.clone(),
            from_state: from_state.as_str().into(),
            from_attempts: Some(d.attempts),
            to_state: to.as_str().into(),
            attempts,
            error: final_row.error.clone(),
            daemon_code,
            device_code: device_code.to_owned(),
            payload: final_row.payload.clone(),
            requeue_at_ms: None,
            callback: self.callback_for(d, &final_row, now),
            now_ms: now,
        }
    }

    /// ATOL-81: documents queued longer than the timeout fail with the timeout error and get
    /// their callback. Returns how many moved.
    pub async fn expire_queued(&self, limit: i64) -> Result<usize, String> {
        let now = self.core.clock.now_ms();
        let policy = self.settings().policy;
        let cutoff = now - policy.queue_timeout_ms - 1;
        let docs = self.core.store.atol_queued_before(cutoff, limit).await.map_err(internal)?;
        let ts: Vec<AtolTransition> = docs
            .iter()
            .filter(|d| is_timed_out(d.queued_at_ms, now, &policy))
            .map(|d| {
                // "of the last attempt, or \"\"" (ATOL-94): the device of a failed attempt stays.
                self.finish(d, DocState::Queued, DocState::Failed, Some(timeout_error()), None, &d.device_code.clone(), d.attempts, now)
            })
            .collect();
        if ts.is_empty() {
            return Ok(0);
        }
        let applied = self.core.store.atol_transition(&ts).await.map_err(internal)?;
        Ok(applied.into_iter().filter(|a| *a).count())
    }
}
