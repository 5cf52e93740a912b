//! Storage port of the fiscal context: register state, the hash-chained journal (which is also
//! the document store) and the OFD outbox (journal entries still pending delivery).
//!
//! Profile-agnostic: the state is stored as the JSON of [`RegisterState`], each document as its
//! canonical bytes next to indexed columns. The steps both backends share — building the
//! identity, creating a register's state lazily, running the pure [`fiscal::apply`], chaining
//! the journal entries, and verifying a stored journal — live here once, so both store exactly
//! the same thing; the adapters only read and write rows.
//!
//! Per-FN secret: created on a register's first use (32 random bytes, hex) and kept in the
//! register's state row, because the server is the FN: verifying a fiscal sign needs it.

use crate::{RegisterRow, StoreError, StoreResult};
use async_trait::async_trait;
use kassa_domain::fiscal::{self, Command, Ctx, FiscalError, Identity, Issued, Policy, RegisterState};
use kassa_money::Money;
use serde::Serialize;

/// Per-call inputs of [`FiscalStore::fiscal_apply`] besides the command.
#[derive(Clone, Copy, Debug)]
pub struct ApplyOptions {
    pub now_ms: i64,
    pub policy: Policy,
    /// ATOL-88 step 1 test hook.
    pub fault: Option<i32>,
}

/// One journal entry (= one document) as stored.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct JournalEntry {
    pub register_id: String,
    /// Position in the register's journal: 1, 2, 3, … without gaps.
    pub seq: u64,
    pub kind: String,
    pub fiscal: bool,
    /// Fiscal document number (fiscal) or non-fiscal number.
    pub number: u64,
    pub shift_number: u32,
    pub receipt_number: Option<u32>,
    pub time_ms: i64,
    pub total: Money,
    pub fiscal_sign: u32,
    pub qr: Option<String>,
    /// The canonical bytes of the document (UTF-8 JSON).
    pub doc: String,
    pub prev_hash: String,
    pub hash: String,
    /// Waits in the OFD outbox.
    pub pending: bool,
    pub delivered_at: Option<i64>,
}

/// The documents still waiting for the OFD (ITK-98 `ofdUnsentNumber`, `ofdFirstUnsentNumber`,
/// `ofdFirstUnsentDate`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Unsent {
    pub count: u64,
    pub first_number: Option<u64>,
    pub first_time_ms: Option<i64>,
    /// Journal position of the oldest pending entry.
    pub first_seq: Option<u64>,
}

impl Unsent {
    /// From the pending count and the oldest pending entry's (seq, number, time), as both
    /// backends read them.
    pub fn from_oldest(count: i64, oldest: Option<(u64, u64, i64)>) -> Self {
        Self {
            count: count.max(0) as u64,
            first_seq: oldest.map(|f| f.0),
            first_number: oldest.map(|f| f.1),
            first_time_ms: oldest.map(|f| f.2),
        }
    }
}

/// The stored state of a register: provisioning row, identity and, once used, its state.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct RegisterRecord {
    pub tenant_id: String,
    pub register: RegisterRow,
    pub identity: Identity,
    /// `None` until the register issued its first document.
    pub state: Option<RegisterState>,
    pub last_seq: u64,
    pub last_hash: String,
    pub unsent: Unsent,
}

/// Everything needed to verify one register's journal: its secret and stored state.
#[derive(Clone, Debug)]
pub struct RegisterSecrets {
    pub register_id: String,
    pub secret_hex: String,
    pub state_json: String,
    pub last_seq: u64,
    pub last_hash: String,
}

/// Implemented by every backend; part of [`crate::Store`].
#[async_trait]
pub trait FiscalStore: Send + Sync {
    /// Runs `command` on the register inside one write transaction: reads (or creates) the state
    /// row under a lock, applies the pure domain rules, and writes the new state and one journal
    /// entry (= document + outbox row) per issued document. `Ok(Err(_))` is a refusal: nothing
    /// changed. `NotFound` when the register is not provisioned.
    async fn fiscal_apply(
        &self,
        register_id: &str,
        command: &Command,
        opts: ApplyOptions,
    ) -> StoreResult<Result<Vec<JournalEntry>, FiscalError>>;

    /// [`FiscalStore::fiscal_apply`] with an external document key (an ATOL uuid, an ITKassa or
    /// cash-core document id): when the key is already journaled for the register's tenant, the
    /// entry it produced is returned and nothing is registered; otherwise the command runs and the
    /// key is stored with its last entry in the same transaction. So a retried command (after a
    /// crash or a lost answer) never uses a fiscal number twice. Keys are unique per tenant.
    async fn fiscal_apply_keyed(
        &self,
        register_id: &str,
        key: &str,
        command: &Command,
        opts: ApplyOptions,
    ) -> StoreResult<Result<Vec<JournalEntry>, FiscalError>>;

    /// The journal entry a keyed command produced in `tenant_id`, if any.
    async fn fiscal_keyed_entry(&self, tenant_id: &str, key: &str) -> StoreResult<Option<JournalEntry>>;

    /// The register with its state and outbox summary; `None` when not provisioned.
    async fn fiscal_register(&self, register_id: &str) -> StoreResult<Option<RegisterRecord>>;

    /// Journal entries with `seq > after_seq`, oldest first, at most `limit`.
    async fn fiscal_journal(&self, register_id: &str, after_seq: u64, limit: u32) -> StoreResult<Vec<JournalEntry>>;

    /// The oldest pending outbox entries of a register, in journal order, at most `limit`.
    async fn fiscal_outbox(&self, register_id: &str, limit: u32) -> StoreResult<Vec<JournalEntry>>;

    /// Registers with pending outbox entries, ordered by id, at most `limit`.
    async fn fiscal_outbox_registers(&self, limit: u32) -> StoreResult<Vec<String>>;

    /// Marks pending entries with `seq ≤ up_to_seq` delivered; returns how many changed.
    async fn fiscal_mark_delivered(&self, register_id: &str, up_to_seq: u64, now_ms: i64) -> StoreResult<u64>;

    /// Ids of registers that have a state row (issued at least one document), ordered.
    async fn fiscal_register_ids(&self) -> StoreResult<Vec<String>>;

    /// The secret and stored state of a register (for verification); `None` before first use.
    async fn fiscal_secrets(&self, register_id: &str) -> StoreResult<Option<RegisterSecrets>>;
}

/// The provisioning row of a register and its group, as the adapters read them.
#[derive(Clone, Debug)]
pub struct RegisterRows {
    pub tenant_id: String,
    pub register: RegisterRow,
    pub group_inn: Option<String>,
    pub group_payment_address: Option<String>,
    /// Comma-separated `sno` of the group.
    pub group_sno: Option<String>,
}

impl RegisterRows {
    /// The register's identity; an RU register without an FN or registration number gets a
    /// stable 16-digit one derived from its id (provisioning allows leaving them out).
    pub fn identity(&self) -> Identity {
        let r = &self.register;
        Identity {
            register_id: r.id.clone(),
            fn_number: r.fn_number.clone().unwrap_or_else(|| derived_number("9999", &r.id, "fn")),
            reg_number: r.reg_number.clone().unwrap_or_else(|| derived_number("0000", &r.id, "rn")),
            inn: self.group_inn.clone().unwrap_or_default(),
            payment_address: self.group_payment_address.clone().unwrap_or_default(),
            sno: self
                .group_sno
                .as_deref()
                .unwrap_or("")
                .split(',')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(str::to_owned)
                .collect(),
            ofd_id: r.ofd_id.clone().unwrap_or_default(),
        }
    }
}

/// `prefix` followed by 12 digits from SHA-256(`salt` ‖ id): 16 digits, stable per register.
fn derived_number(prefix: &str, id: &str, salt: &str) -> String {
    use sha2::Digest;
    let d = sha2::Sha256::digest(format!("{salt}:{id}").as_bytes());
    let n = u64::from_be_bytes([d[0], d[1], d[2], d[3], d[4], d[5], d[6], d[7]]) % 1_000_000_000_000;
    format!("{prefix}{n:012}")
}

/// A new per-FN secret: 32 random bytes as hex.
pub fn new_secret() -> String {
    hex::encode(rand::random::<[u8; 32]>())
}

/// The stored state row of a register, as read under the lock.
#[derive(Clone, Debug)]
pub struct StateRow {
    pub secret_hex: String,
    pub state_json: String,
    pub last_seq: u64,
    pub last_hash: String,
}

/// Reads a stored register state.
pub fn parse_state(register_id: &str, json: &str) -> StoreResult<RegisterState> {
    serde_json::from_str(json).map_err(|e| StoreError::Corrupt(format!("register {register_id} state: {e}")))
}

/// The first state row of a register, created on its first use at `now_ms`.
pub fn initial_state_row(rows: &RegisterRows, now_ms: i64) -> Result<StateRow, FiscalError> {
    let state = RegisterState::initial(rows.register.profile, &rows.identity(), now_ms)?;
    Ok(StateRow {
        secret_hex: new_secret(),
        state_json: serde_json::to_string(&state).map_err(|e| FiscalError::Invalid { reason: e.to_string() })?,
        last_seq: 0,
        last_hash: fiscal::GENESIS_HASH.to_owned(),
    })
}

/// What the adapter writes after a successful command: the updated state row and new entries.
pub struct Transition {
    pub state: StateRow,
    pub entries: Vec<JournalEntry>,
    /// Commit `state` and `entries`, then answer with this refusal (see `Applied::refusal`).
    pub refusal: Option<FiscalError>,
}

impl Transition {
    /// The answer of `fiscal_apply` once the transition is written.
    pub fn answer(self) -> Result<Vec<JournalEntry>, FiscalError> {
        match self.refusal {
            Some(e) => Err(e),
            None => Ok(self.entries),
        }
    }
}

/// CORE-96 for the stores' `fiscal_mark_delivered`: the state JSON to write when the register's
/// outbox became empty and its state leaves autonomous mode; `None` when nothing changes.
pub fn drained_state(register_id: &str, state_json: &str) -> StoreResult<Option<String>> {
    // Only KZ KKMs have an autonomous mode; RU states are not parsed on every delivery.
    if !state_json.starts_with(r#"{"profile":"kz""#) {
        return Ok(None);
    }
    let state = parse_state(register_id, state_json)?;
    state.queue_drained().map(|s| serde_json::to_string(&s).map_err(|e| StoreError::Corrupt(e.to_string()))).transpose()
}

/// The shared middle of `fiscal_apply`: checks the register, applies the command to the stored
/// state and chains the new journal entries. Pure apart from reading its arguments.
pub fn transition(
    rows: &RegisterRows,
    current: &StateRow,
    command: &Command,
    opts: ApplyOptions,
) -> StoreResult<Result<Transition, FiscalError>> {
    if !rows.register.active {
        return Ok(Err(FiscalError::Inactive));
    }
    let state: RegisterState = serde_json::from_str(&current.state_json)
        .map_err(|e| StoreError::Corrupt(format!("register {} state: {e}", rows.register.id)))?;
    let secret = hex::decode(&current.secret_hex)
        .map_err(|e| StoreError::Corrupt(format!("register {} secret: {e}", rows.register.id)))?;
    let identity = rows.identity();
    let ctx = Ctx { now_ms: opts.now_ms, secret: &secret, identity: &identity, policy: opts.policy, fault: opts.fault };
    let applied = match fiscal::apply(&state, command, &ctx) {
        Ok(a) => a,
        Err(e) => return Ok(Err(e)),
    };
    let mut seq = current.last_seq;
    let mut hash = current.last_hash.clone();
    let mut entries = Vec::with_capacity(applied.documents.len());
    for d in applied.documents {
        seq += 1;
        let entry = entry_of(&rows.register.id, seq, &hash, d)?;
        hash = entry.hash.clone();
        entries.push(entry);
    }
    let state_json = serde_json::to_string(&applied.state).map_err(|e| StoreError::Corrupt(e.to_string()))?;
    Ok(Ok(Transition {
        state: StateRow { secret_hex: current.secret_hex.clone(), state_json, last_seq: seq, last_hash: hash },
        entries,
        refusal: applied.refusal,
    }))
}

fn entry_of(register_id: &str, seq: u64, prev_hash: &str, d: Issued) -> StoreResult<JournalEntry> {
    let hash = fiscal::journal_hash(prev_hash, d.fiscal_sign, &d.bytes);
    let doc = String::from_utf8(d.bytes).map_err(|e| StoreError::Corrupt(format!("document is not UTF-8: {e}")))?;
    Ok(JournalEntry {
        register_id: register_id.to_owned(),
        seq,
        kind: d.kind.to_owned(),
        fiscal: d.fiscal,
        number: d.number,
        shift_number: d.shift_number,
        receipt_number: d.receipt_number,
        time_ms: d.time_ms,
        total: d.total,
        fiscal_sign: d.fiscal_sign,
        qr: d.qr,
        doc,
        prev_hash: prev_hash.to_owned(),
        hash,
        pending: d.ofd,
        delivered_at: d.delivered.then_some(d.time_ms),
    })
}

/// The first problem found in a register's journal.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct VerifyProblem {
    pub register_id: String,
    /// Journal position of the bad entry (0: the state row).
    pub seq: u64,
    /// Its document number, when readable.
    pub number: Option<u64>,
    pub what: String,
}

impl std::fmt::Display for VerifyProblem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.number {
            Some(n) => write!(f, "register {} entry {} (document {n}): {}", self.register_id, self.seq, self.what),
            None => write!(f, "register {} entry {}: {}", self.register_id, self.seq, self.what),
        }
    }
}

/// Verifies a register's journal page by page: feed entries in order with [`Verifier::push`],
/// then call [`Verifier::finish`] with the stored state.
pub struct Verifier {
    register_id: String,
    secret: Vec<u8>,
    seq: u64,
    hash: String,
    fiscal_number: u64,
    nonfiscal_number: u64,
    /// The register rebuilt from the entries seen so far (`None` when the state is unreadable).
    replay: Option<fiscal::Replay>,
}

impl Verifier {
    pub fn new(secrets: &RegisterSecrets) -> Result<Self, VerifyProblem> {
        let replay = serde_json::from_str::<RegisterState>(&secrets.state_json).ok().map(|s| s.replay());
        let secret = hex::decode(&secrets.secret_hex).map_err(|_| VerifyProblem {
            register_id: secrets.register_id.clone(),
            seq: 0,
            number: None,
            what: "the stored secret is not hex".into(),
        })?;
        Ok(Self {
            register_id: secrets.register_id.clone(),
            secret,
            seq: 0,
            hash: fiscal::GENESIS_HASH.to_owned(),
            fiscal_number: 0,
            nonfiscal_number: 0,
            replay,
        })
    }

    fn problem(&self, e: &JournalEntry, what: impl Into<String>) -> VerifyProblem {
        VerifyProblem { register_id: self.register_id.clone(), seq: e.seq, number: Some(e.number), what: what.into() }
    }

    /// Checks one entry: its position, its link, its hash, its fiscal sign, its numbering, and
    /// that its indexed columns say what its document says.
    pub fn push(&mut self, e: &JournalEntry) -> Result<(), VerifyProblem> {
        if e.seq != self.seq + 1 {
            return Err(self.problem(e, format!("journal position {} follows {}", e.seq, self.seq)));
        }
        if e.prev_hash != self.hash {
            return Err(self.problem(e, "previous-hash link does not match the previous entry"));
        }
        if fiscal::journal_hash(&self.hash, e.fiscal_sign, e.doc.as_bytes()) != e.hash {
            return Err(self.problem(e, "entry hash does not match its content"));
        }
        if e.fiscal && fiscal::fiscal_sign(&self.secret, e.doc.as_bytes()) != e.fiscal_sign {
            return Err(self.problem(e, "fiscal sign does not match the document"));
        }
        let counter = if e.fiscal { &mut self.fiscal_number } else { &mut self.nonfiscal_number };
        if e.number != *counter + 1 {
            let what = format!("document number {} follows {} (numbers must be gapless)", e.number, *counter);
            return Err(self.problem(e, what));
        }
        *counter = e.number;
        let doc: serde_json::Value =
            serde_json::from_str(&e.doc).map_err(|err| self.problem(e, format!("document is not JSON: {err}")))?;
        let total: Option<Money> = doc.get("total").and_then(|t| serde_json::from_value(t.clone()).ok());
        let columns_match = doc.get("number").and_then(|v| v.as_u64()) == Some(e.number)
            && doc.get("fiscal").and_then(|v| v.as_bool()) == Some(e.fiscal)
            && doc.get("kind").and_then(|v| v.as_str()) == Some(e.kind.as_str())
            && doc.get("shift_number").and_then(|v| v.as_u64()) == Some(u64::from(e.shift_number))
            && doc.get("time_ms").and_then(|v| v.as_i64()) == Some(e.time_ms)
            && total == Some(e.total);
        if !columns_match {
            return Err(self.problem(e, "indexed columns differ from the document"));
        }
        if let Some(r) = &mut self.replay {
            r.push(e.doc.as_bytes()).map_err(|what| self.problem(e, what))?;
        }
        self.seq = e.seq;
        self.hash = e.hash.clone();
        Ok(())
    }

    /// Checks the state row against the chain and recomputes the counters from the journal.
    pub fn finish(self, secrets: &RegisterSecrets) -> Result<u64, VerifyProblem> {
        let p = |what: String| VerifyProblem { register_id: self.register_id.clone(), seq: 0, number: None, what };
        if secrets.last_seq != self.seq || secrets.last_hash != self.hash {
            return Err(p(format!(
                "state row says the journal ends at entry {} but it ends at {}, or its tip hash differs",
                secrets.last_seq, self.seq
            )));
        }
        let state: RegisterState =
            serde_json::from_str(&secrets.state_json).map_err(|e| p(format!("state row is unreadable: {e}")))?;
        let replay = self.replay.as_ref().ok_or_else(|| p("state row is unreadable".into()))?;
        replay.compare(&state).map_err(p)?;
        Ok(self.seq)
    }
}
