//! The KZ (cash core) profile inside the fiscal engine: the glue between the pure KZ fiscal logic
//! ([`crate::kz`]: `prepare` / OFD submit / `finish`) and the engine's storage model ([`Issued`]
//! documents, the register state row, the journal verifier).
//!
//! Owns [`KzRegister`] (what `RegisterState::Kz` stores: the KKM state plus the gapless document
//! count the journal verifier checks), [`KzCommand`] (a cash-core request with its caller and,
//! filled in by the engine, the OFD outcomes of its documents), the journal envelope of a KZ
//! document and the replay that rebuilds counters from the journal.
//!
//! The synchronous OFD submit of CORE-74/CORE-94 happens outside the store transaction: the engine
//! reads the state, runs [`crate::kz::prepare`], submits, and passes the outcomes here through
//! [`Submission`]. [`apply`] runs inside the transaction on the locked state: when the state is
//! not the one the engine prepared on ([`Submission::based_on`]), it refuses with
//! [`FiscalError::Stale`] and the engine prepares again. One command may journal up to three
//! documents in one transaction: the automatic withdrawal before a Z (CORE-79), the automatic Z
//! of an expired shift (CORE-64) and the requested document.
//!
//! May depend on `kassa-money`, serde and serde_json; no IO, time comes in through [`Ctx`].

use super::{Applied, Ctx, FiscalError, Identity, Issued, RegisterState, fiscal_sign};
use crate::kz::{self, Body, CommandType, Document, KkmState, KzError, LifetimeCounts, ListBody, ShiftCounters};
use kassa_money::Money;
use serde::{Deserialize, Serialize};

/// Kazakhstan's clock: UTC+5 everywhere since 2024-03-01. The cash core works in local time
/// without a zone (CORE-30); the engine's clock is UTC milliseconds.
pub const KZ_UTC_OFFSET_MS: i64 = 5 * 3_600_000;

/// Vendor-id prefix of the built-in OFD (CORE-42 `vendor_id_prefix`, the Kazakhtelecom example).
pub const VENDOR_ID_PREFIX: &str = "ISCR";

/// The local date-time (CORE-30) of a UTC instant.
#[must_use]
pub fn local(now_ms: i64) -> kz::LocalDateTime {
    kz::LocalDateTime::from_millis(now_ms + KZ_UTC_OFFSET_MS)
}

/// The stored state of a KZ register.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct KzRegister {
    /// The KKM's fiscal state (CORE-60).
    pub kkm: KkmState,
    /// Documents journaled so far: the gapless per-KKM `number` of the journal envelope.
    pub documents: u64,
}

impl KzRegister {
    /// A KKM on its first use (CORE-50: shift 1 closed, document 1, sums 0), with the registration
    /// data the provisioning gives: `serial_number` = `vendor_id` — the register id itself when it
    /// has the form of CORE-45 (the demo KKM `ISCR1018036404743`), else a vendor id generated with
    /// [`kz::vendor_id`] at the first use; `kkm_id` = the OFD id; `fns_kkm_id` = the registration
    /// number; organisation INN and addresses from the register's group.
    #[must_use]
    pub fn initial(identity: &Identity, now_ms: i64) -> KzRegister {
        let id = &identity.register_id;
        // Bytes, not `str` slices: an id may hold any characters.
        let b = id.as_bytes();
        let is_vendor_id = b.len() > 13
            && b[..b.len() - 13].iter().all(u8::is_ascii_uppercase)
            && b[b.len() - 13] == b'1'
            && kz::manufacture_date(id).is_some();
        let serial = if is_vendor_id {
            id.clone()
        } else {
            kz::vendor_id(VENDOR_ID_PREFIX, local(now_ms)).map_or_else(|| format!("{VENDOR_ID_PREFIX}1{:012}", 0), |v| v.vendor_id)
        };
        let mut reg = kz::RegInfo::default();
        reg.org.inn = identity.inn.clone();
        reg.org.address = identity.payment_address.clone();
        reg.pos.address = identity.payment_address.clone();
        reg.kkm.serial_number = serial;
        reg.kkm.kkm_id = identity.ofd_id.clone();
        reg.kkm.fns_kkm_id = identity.reg_number.clone();
        KzRegister { kkm: KkmState::new(reg), documents: 0 }
    }
}

/// The caller stamped on documents when a command names none (the admin API).
fn admin_caller() -> kz::Caller {
    kz::Caller { code: 1, name: "Administrator".into() }
}

/// One command for a KZ register.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KzCommand {
    /// TradeOperation, MoneyPlacement or ZXReport (tagged by `command`: `trade`,
    /// `money_placement`, `report`); absent for a settings change only.
    #[serde(default)]
    pub request: Option<kz::Command>,
    /// SaveKKM's `auto_withdraw_money` (CORE-79), applied before the request.
    #[serde(default)]
    pub auto_withdraw_money: Option<bool>,
    /// The operator (CORE-75); the administrator, ID 1, when absent.
    #[serde(default = "admin_caller")]
    pub caller: kz::Caller,
    /// Filled in by the engine, never read from the wire.
    #[serde(skip)]
    pub submission: Option<Submission>,
}

impl KzCommand {
    /// A request by `caller`.
    #[must_use]
    pub fn new(request: kz::Command, caller: kz::Caller) -> KzCommand {
        KzCommand { request: Some(request), auto_withdraw_money: None, caller, submission: None }
    }
}

/// What the engine learned outside the transaction: the state it prepared on and the OFD's
/// answers to the documents it submitted, in order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Submission {
    pub based_on: Box<KkmState>,
    pub config: kz::KkmConfig,
    pub outcomes: Vec<kz::OfdOutcome>,
}

/// The journal envelope of a KZ document: the keys every profile's document carries, then the
/// KKM and the cash-core document (CORE-80 fields).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Envelope {
    pub profile: String,
    pub kind: String,
    pub fiscal: bool,
    pub number: u64,
    pub shift_number: u32,
    pub time_ms: i64,
    pub total: Money,
    pub vendor_id: String,
    pub document: Document,
}

/// The envelope `kind` of a document.
fn kind(document: &Document) -> &'static str {
    match document.command {
        CommandType::Ticket => "ticket",
        CommandType::MoneyPlacement => "money_placement",
        CommandType::CloseShift => "z_report",
        _ => "x_report",
    }
}

/// The envelope `total`: ticket total, placement sum, report shift revenue.
fn total(document: &Document) -> Money {
    match &document.list_body {
        ListBody::Ticket { sum, .. } | ListBody::MoneyPlacement { sum, .. } => *sum,
        ListBody::Report { revenue, .. } => *revenue,
    }
}

fn issue(document: Document, number: u64, vendor_id: &str, ctx: &Ctx<'_>) -> Result<Issued, FiscalError> {
    let envelope = Envelope {
        profile: "kz".into(),
        kind: kind(&document).into(),
        fiscal: true,
        number,
        shift_number: document.fr_shift_number,
        time_ms: ctx.now_ms,
        total: total(&document),
        vendor_id: vendor_id.to_owned(),
        document,
    };
    let bytes = serde_json::to_vec(&envelope).map_err(|e| FiscalError::Invalid { reason: e.to_string() })?;
    let d = &envelope.document;
    Ok(Issued {
        kind: kind(d),
        fiscal: true,
        number,
        shift_number: d.fr_shift_number,
        receipt_number: (d.command == CommandType::Ticket).then_some(d.shift_document_number),
        time_ms: ctx.now_ms,
        total: envelope.total,
        fiscal_sign: fiscal_sign(ctx.secret, &bytes),
        qr: (d.command == CommandType::Ticket).then(|| d.qr_code.clone()),
        // Accepted online = already at the OFD (CORE-94); autonomous ones wait for the upload
        // task (CORE-96).
        ofd: d.is_offline,
        delivered: !d.is_offline,
        bytes,
    })
}

/// Runs a KZ command on the locked state (see the module docs).
///
/// # Errors
/// [`FiscalError::Stale`] when the state is not the one the engine prepared on or an outcome is
/// missing; [`FiscalError::Kz`] for a refusal that changes nothing.
pub fn apply(register: &KzRegister, command: &KzCommand, ctx: &Ctx<'_>) -> Result<Applied, FiscalError> {
    let mut kkm = register.kkm.clone();
    if let Some(flag) = command.auto_withdraw_money {
        kkm.auto_withdraw_money = flag;
    }
    let Some(request) = &command.request else {
        if command.auto_withdraw_money.is_none() {
            return Err(FiscalError::Invalid { reason: "a KZ command needs a request or a setting".into() });
        }
        return Ok(Applied { state: RegisterState::Kz(KzRegister { kkm, documents: register.documents }), documents: vec![], refusal: None });
    };
    let Some(sub) = &command.submission else {
        return Err(FiscalError::Invalid { reason: "KZ documents go through the engine's OFD submit".into() });
    };
    if *sub.based_on != register.kkm {
        return Err(FiscalError::Stale);
    }
    let now = local(ctx.now_ms);
    let mut outcomes = sub.outcomes.iter();
    let mut documents = Vec::new();
    let mut number = register.documents;
    let mut refusal = None;
    // At most: automatic withdrawal, (automatic) Z, ticket.
    for _ in 0..3 {
        let prepared = match kz::prepare(&kkm, request, &command.caller, &sub.config, now) {
            Ok(p) => p,
            Err(e) => {
                refusal = Some(e);
                break;
            }
        };
        let outcome = if prepared.submit {
            outcomes.next().cloned().ok_or(FiscalError::Stale)?
        } else {
            kz::OfdOutcome::NotSubmitted
        };
        let is_final = prepared.is_final;
        match kz::finish(&kkm, prepared, outcome, &sub.config, now) {
            Ok(done) => {
                number += 1;
                documents.push(issue(done.document, number, done.state.vendor_id(), ctx)?);
                kkm = done.state;
                if is_final {
                    break;
                }
            }
            Err(failure) => {
                if let Some(state) = failure.state {
                    kkm = *state;
                }
                refusal = Some(failure.error);
                break;
            }
        }
    }
    let state = RegisterState::Kz(KzRegister { kkm, documents: number });
    match refusal {
        // Nothing to keep: a plain refusal.
        Some(e) if documents.is_empty() && state == RegisterState::Kz(register.clone()) => Err(FiscalError::Kz(e)),
        // Preliminary documents stay (CORE-64, §8.4); CORE-94 Blocked keeps its flags.
        Some(e) => Ok(Applied { state, documents, refusal: Some(FiscalError::Kz(e)) }),
        None => Ok(Applied { state, documents, refusal: None }),
    }
}

/// Parses a journaled KZ document.
///
/// # Errors
/// When the bytes are not a KZ envelope.
pub fn parse(bytes: &[u8]) -> Result<Envelope, String> {
    serde_json::from_slice(bytes).map_err(|e| format!("not a KZ document: {e}"))
}

/// A KZ register rebuilt from its journal one document at a time (constant memory): document
/// count, shift/document numbering (CORE-66), lifetime counts, the current shift's counters and
/// revenue, and the non-nullable sums.
#[derive(Clone, Debug, Default)]
pub struct KzReplay {
    documents: u64,
    /// (shift, document number) of the last document.
    last: Option<(u32, u32)>,
    last_was_z: bool,
    totals: LifetimeCounts,
    counters: ShiftCounters,
    revenue: Money,
    non_nullable: [Money; 4],
}

fn overflow(_: KzError) -> String {
    "counter overflow".to_owned()
}

impl KzReplay {
    /// Applies the next journal document.
    ///
    /// # Errors
    /// When the document is unreadable or its numbers do not follow the previous document's.
    pub fn push(&mut self, bytes: &[u8]) -> Result<(), String> {
        let e = parse(bytes)?;
        let d = &e.document;
        let expected = match self.last {
            None => None,
            Some((shift, _)) if self.last_was_z => Some((shift + 1, 1)),
            Some((shift, n)) => Some((shift, n + 1)),
        };
        // After a Z the next shift starts at document 1 (CORE-63); the first document may start
        // anywhere (counters adopted from the OFD, CORE-49).
        if expected.is_some_and(|x| x != (d.fr_shift_number, d.shift_document_number)) {
            return Err(format!(
                "shift {} document {} does not follow {:?} (CORE-66 numbering)",
                d.fr_shift_number, d.shift_document_number, self.last
            ));
        }
        if self.last.is_some_and(|(s, _)| s != d.fr_shift_number) || self.last.is_none() {
            self.counters = ShiftCounters::default();
            self.revenue = Money::ZERO;
        }
        self.documents += 1;
        self.totals.add(&d.body).map_err(overflow)?;
        self.counters.add(&d.body).map_err(overflow)?;
        if let Body::Ticket(t) = &d.body {
            let signed = t.amounts.total.checked_mul_int(t.operation.sign()).ok_or("revenue overflow")?;
            self.revenue = self.revenue.checked_add(signed).ok_or("revenue overflow")?;
            let slot = &mut self.non_nullable[t.operation.index()];
            *slot = slot.checked_add(t.amounts.total).ok_or("non-nullable sum overflow")?;
        }
        self.last = Some((d.fr_shift_number, d.shift_document_number));
        self.last_was_z = d.command == CommandType::CloseShift;
        if self.last_was_z {
            self.counters = ShiftCounters::default();
            self.revenue = Money::ZERO;
        }
        Ok(())
    }

    /// Compares the rebuilt numbers and counters with the stored state (the §9 check).
    ///
    /// # Errors
    /// What differs.
    pub fn compare(&self, stored: &KzRegister) -> Result<(), String> {
        let k = &stored.kkm;
        if self.documents != stored.documents {
            return Err(format!("state says {} documents, the journal has {}", stored.documents, self.documents));
        }
        let next = match self.last {
            None => (k.fr_shift_number, k.shift_document_number),
            Some((shift, _)) if self.last_was_z => (shift + 1, 1),
            Some((shift, n)) => (shift, n + 1),
        };
        if next != (k.fr_shift_number, k.shift_document_number) {
            return Err(format!("state's next document {:?} does not follow the journal's {next:?}", (k.fr_shift_number, k.shift_document_number)));
        }
        if self.totals != k.totals {
            return Err("lifetime counts differ from the journal".into());
        }
        if self.counters != k.counters {
            return Err("shift counters differ from the journal".into());
        }
        if self.revenue != k.revenue {
            return Err(format!("shift revenue {} differs from the journal's {}", k.revenue, self.revenue));
        }
        if self.non_nullable != k.non_nullable_sums {
            return Err("non-nullable sums differ from the journal".into());
        }
        Ok(())
    }
}

/// `FiscalError::Kz` as `{"code": 18, "text": "kkm_in_offline_mode_too_long"}`.
pub(crate) mod error_serde {
    use crate::kz::KzError;
    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    #[derive(Serialize, Deserialize)]
    struct Wire {
        code: u32,
        text: String,
    }

    pub fn serialize<S: Serializer>(e: &KzError, s: S) -> Result<S::Ok, S::Error> {
        Wire { code: e.code(), text: e.text().to_owned() }.serialize(s)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<KzError, D::Error> {
        let w = Wire::deserialize(d)?;
        KzError::ALL.iter().copied().find(|e| e.code() == w.code).ok_or_else(|| serde::de::Error::custom(format!("unknown cash-core code {}", w.code)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fiscal::{Command, Policy, apply as apply_any};

    const T0: i64 = 1_767_225_600_000; // 2026-01-01T00:00:00Z
    const SECRET: &[u8] = b"per-fn-secret";

    fn identity() -> Identity {
        Identity {
            register_id: "ISCR1018036404743".into(),
            reg_number: "010100134464".into(),
            inn: "990140000123".into(),
            ofd_id: "6923".into(),
            ..Identity::default()
        }
    }

    fn ctx(id: &Identity) -> Ctx<'_> {
        Ctx { now_ms: T0, secret: SECRET, identity: id, policy: Policy::default(), fault: None }
    }

    fn deposit(based_on: &KzRegister, outcomes: Vec<kz::OfdOutcome>) -> Command {
        let mut c = KzCommand::new(
            kz::Command::MoneyPlacement(kz::MoneyPlacementRequest { operation: 0, sum: Money::from_minor(100_000) }),
            admin_caller(),
        );
        c.submission = Some(Submission { based_on: Box::new(based_on.kkm.clone()), config: kz::KkmConfig::new("http://c"), outcomes });
        Command::Kz(c)
    }

    fn accepted() -> kz::OfdOutcome {
        kz::OfdOutcome::Accepted { fiscal_id: "1".into(), qr_code: String::new(), ads_info: None }
    }

    #[test]
    fn initial_state_takes_the_vendor_id_from_a_register_id_of_that_form() {
        // CORE-45 (TV-3 reverse check): ISCR1018036404743 is a vendor id; other ids get one.
        let r = KzRegister::initial(&identity(), T0);
        assert_eq!((r.kkm.vendor_id(), r.kkm.reg_info.kkm.kkm_id.as_str()), ("ISCR1018036404743", "6923"));
        assert_eq!((r.kkm.fr_shift_number, r.kkm.shift_document_number, r.documents), (1, 1, 0));
        let other = Identity { register_id: "ж123456789012".into(), ..identity() };
        let generated = KzRegister::initial(&other, T0).kkm.vendor_id().to_owned();
        assert_eq!(generated, kz::vendor_id(VENDOR_ID_PREFIX, local(T0)).unwrap().vendor_id);
    }

    #[test]
    fn a_changed_state_is_stale_and_a_missing_submission_is_invalid() {
        let id = identity();
        let reg = KzRegister::initial(&id, T0);
        let state = RegisterState::Kz(reg.clone());
        let applied = apply_any(&state, &deposit(&reg, vec![accepted()]), &ctx(&id)).unwrap();
        assert_eq!(applied.documents.len(), 1);
        assert_eq!((applied.documents[0].number, applied.documents[0].ofd), (1, false));
        // Prepared on the old state, applied to the new one: the engine must prepare again.
        assert_eq!(apply_any(&applied.state, &deposit(&reg, vec![accepted()]), &ctx(&id)).unwrap_err(), FiscalError::Stale);
        // A document to submit without an outcome is stale too.
        assert_eq!(apply_any(&state, &deposit(&reg, vec![]), &ctx(&id)).unwrap_err(), FiscalError::Stale);
        let bare = Command::Kz(KzCommand::new(kz::Command::Report(kz::ReportRequest { report_type: 1 }), admin_caller()));
        assert!(matches!(apply_any(&state, &bare, &ctx(&id)), Err(FiscalError::Invalid { .. })));
    }

    #[test]
    fn blocked_keeps_its_flags_without_a_document_and_unreachable_goes_autonomous() {
        // CORE-94 Blocked: 62, `is_blocked` and `blocked_info` set, nothing journaled.
        let id = identity();
        let reg = KzRegister::initial(&id, T0);
        let state = RegisterState::Kz(reg.clone());
        let applied = apply_any(&state, &deposit(&reg, vec![kz::OfdOutcome::Blocked { text: "blocked".into() }]), &ctx(&id)).unwrap();
        assert!(applied.documents.is_empty());
        assert_eq!(applied.refusal, Some(FiscalError::Kz(KzError::KkmIsBlocked)));
        let RegisterState::Kz(after) = &applied.state else { panic!() };
        assert!(after.kkm.is_blocked && after.kkm.blocked_info == "blocked");
        // CORE-95: Unreachable → accepted autonomously, pending for the upload task.
        let applied = apply_any(&state, &deposit(&reg, vec![kz::OfdOutcome::Unreachable]), &ctx(&id)).unwrap();
        assert!(applied.documents[0].ofd && applied.refusal.is_none());
        let RegisterState::Kz(after) = &applied.state else { panic!() };
        assert!(after.kkm.is_offline);
        // CORE-96
        let drained = applied.state.queue_drained().unwrap();
        let RegisterState::Kz(d) = &drained else { panic!() };
        assert!(!d.kkm.is_offline && d.kkm.offline_start_date.is_none());
        assert_eq!(drained.queue_drained(), None);
    }

    #[test]
    fn state_and_refusals_round_trip_and_replay_checks_counters() {
        let id = identity();
        let reg = KzRegister::initial(&id, T0);
        let state = RegisterState::Kz(reg.clone());
        let applied = apply_any(&state, &deposit(&reg, vec![accepted()]), &ctx(&id)).unwrap();
        let json = serde_json::to_string(&applied.state).unwrap();
        assert_eq!(serde_json::from_str::<RegisterState>(&json).unwrap(), applied.state);
        let e = FiscalError::Kz(KzError::OfflineTooLong);
        let v = serde_json::to_value(&e).unwrap();
        assert_eq!(v, serde_json::json!({"error": "kz", "code": 18, "text": "kkm_in_offline_mode_too_long"}));
        assert_eq!(serde_json::from_value::<FiscalError>(v).unwrap(), e);
        assert_eq!((e.cash_core_code(), e.atol_code()), (18, 4));
        // The journal rebuilds the state; a state that disagrees is caught.
        let docs: Vec<&[u8]> = applied.documents.iter().map(|d| d.bytes.as_slice()).collect();
        applied.state.counters_match_journal(&docs).unwrap();
        let RegisterState::Kz(mut bad) = applied.state.clone() else { panic!() };
        bad.documents = 2;
        assert!(RegisterState::Kz(bad).counters_match_journal(&docs).is_err());
        assert!(state.counters_match_journal(&docs).is_err(), "a document the state does not count");
    }
}
