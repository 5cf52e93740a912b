//! Fiscal registers: the pure state machines behind the ATOL Online, ITKassa and cash-core faces.
//!
//! Owns the register state of each profile, the commands a register accepts, the documents it
//! issues, the typed refusals ([`FiscalError`]) the faces map to their own codes, the fiscal sign
//! (HMAC-SHA256 over a document's canonical bytes with the per-FN secret, truncated to 32 bits),
//! the hash chain of the journal and the receipt QR string (ITK-94).
//!
//! [`apply`] is pure: `(state, command, ctx) → (new state, documents)`. The store runs it inside
//! the write transaction that also stores the new state, the documents, the journal entries and
//! the outbox rows, so numbering is gapless and one register handles one document at a time.
//!
//! Profiles: a register follows one law. [`RegisterState`] and [`Command`] are enums over the
//! profiles; the storage, journal, outbox and verification see only [`Issued`] (indexed columns
//! plus canonical bytes) and the state as JSON, so a new profile is a new variant here.
//! RU (54-FZ) lives in [`ru`]. KZ (cash core) is `Kz(`[`kz::KzRegister`]`)` / `Kz(`[`kz::KzCommand`]`)`,
//! glued to the pure cash-core logic of [`crate::kz`] in [`kz`] (the OFD submit happens in the
//! engine, outside the transaction; see there).
//!
//! May depend on `kassa-money`, serde, serde_json, hmac and sha2. No IO, no clock: time comes in
//! through [`Ctx::now_ms`].

pub mod kz;
pub mod ru;
pub mod sign;

#[cfg(test)]
mod tests;

use kassa_money::Money;
use serde::{Deserialize, Serialize};

pub use sign::{fiscal_sign, journal_hash, GENESIS_HASH};

/// 24 hours: the longest a shift may stay open (ATOL -3822, ITK-93/ITK-123, CORE-64).
pub const SHIFT_LIMIT_MS: i64 = 24 * 3_600_000;

/// Limits on one command ("put a limit on everything").
pub const MAX_ITEMS: usize = 1_000;
pub const MAX_PAYMENTS: usize = 10;
pub const MAX_TEXT: usize = 256;

/// What the register is, from provisioning: read fresh for every command, so a changed INN or
/// address applies at once (ATOL-87).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Identity {
    /// Register id = serial number («заводской номер»).
    pub register_id: String,
    /// RU: fiscal storage number (16 digits).
    pub fn_number: String,
    /// RU: registration number at the tax service (16 digits).
    pub reg_number: String,
    /// INN of the group's organisation ("" when the register has no group).
    pub inn: String,
    /// Payment address of the group.
    pub payment_address: String,
    /// Taxation systems of the group (ATOL-3).
    pub sno: Vec<String>,
    /// KZ: the KKM's id at its OFD (`kkm_ofd_id`, `reg_info.kkm.kkm_id`); "" when not provisioned.
    #[serde(default)]
    pub ofd_id: String,
}

/// Shift rules that are configuration, not law.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Policy {
    /// Open the shift on the first receipt when it is closed (otherwise refuse with
    /// [`FiscalError::ShiftNotOpen`]).
    pub auto_open_shift: bool,
    /// Longest shift in milliseconds ([`SHIFT_LIMIT_MS`] by law).
    pub max_shift_ms: i64,
    /// A receipt, correction or cash in/out on an expired shift first closes it (Z) and opens a
    /// new one (ITK-111 automatic shifts; the cash core's CORE-64 does the same) instead of being
    /// refused with [`FiscalError::ShiftExpired`] (ATOL -3822).
    #[serde(default)]
    pub auto_close_expired: bool,
}

impl Default for Policy {
    fn default() -> Self {
        Self { auto_open_shift: true, max_shift_ms: SHIFT_LIMIT_MS, auto_close_expired: false }
    }
}

/// Everything [`apply`] needs besides the state and the command.
#[derive(Clone, Copy, Debug)]
pub struct Ctx<'a> {
    /// Now, Unix milliseconds (UTC).
    pub now_ms: i64,
    /// The per-FN secret the fiscal sign is keyed with.
    pub secret: &'a [u8],
    pub identity: &'a Identity,
    pub policy: Policy,
    /// ATOL-88 step 1: a fault injected into this register for this attempt.
    pub fault: Option<i32>,
}

/// The state of one register, per profile. Stored as JSON next to indexed columns.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "profile", rename_all = "lowercase")]
#[allow(clippy::large_enum_variant, reason = "one per register or command at a time; boxing buys nothing")]
pub enum RegisterState {
    Ru(ru::RuState),
    Kz(kz::KzRegister),
}

/// A command for one register, per profile.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "profile", content = "command", rename_all = "lowercase")]
#[allow(clippy::large_enum_variant, reason = "one per register or command at a time; boxing buys nothing")]
pub enum Command {
    Ru(ru::Command),
    Kz(kz::KzCommand),
}

impl RegisterState {
    /// The state of a register that has issued nothing yet, created on its first use at `now_ms`
    /// (a KZ KKM may need a vendor id generated then, see [`kz::KzRegister::initial`]).
    pub fn initial(profile: crate::provisioning::RegisterProfile, identity: &Identity, now_ms: i64) -> Result<Self, FiscalError> {
        match profile {
            crate::provisioning::RegisterProfile::Ru => Ok(Self::Ru(ru::RuState::new(&identity.fn_number))),
            crate::provisioning::RegisterProfile::Kz => Ok(Self::Kz(kz::KzRegister::initial(identity, now_ms))),
        }
    }

    /// CORE-96: the KZ KKM's undelivered records are all at the OFD, so it leaves autonomous mode;
    /// `None` when nothing changes (RU, or a KKM that is online).
    pub fn queue_drained(&self) -> Option<Self> {
        match self {
            Self::Kz(r) if r.kkm.is_offline => {
                Some(Self::Kz(kz::KzRegister { kkm: r.kkm.queue_drained(), documents: r.documents }))
            }
            _ => None,
        }
    }

    pub fn profile(&self) -> crate::provisioning::RegisterProfile {
        match self {
            Self::Ru(_) => crate::provisioning::RegisterProfile::Ru,
            Self::Kz(_) => crate::provisioning::RegisterProfile::Kz,
        }
    }

    /// Recomputes the counters from journal documents (oldest first) and compares them with the
    /// state's: the check behind "counters equal the sum of the journal".
    pub fn counters_match_journal(&self, documents: &[&[u8]]) -> Result<(), String> {
        let mut replay = self.replay();
        for d in documents {
            replay.push(d)?;
        }
        replay.compare(self)
    }

    /// An empty replica of this register, to rebuild from its journal one document at a time.
    pub fn replay(&self) -> Replay {
        match self {
            Self::Ru(s) => Replay::Ru(ru::RuState::new(&s.fn_number)),
            Self::Kz(_) => Replay::Kz(kz::KzReplay::default()),
        }
    }
}

/// A register rebuilt from its journal, document by document (constant memory for any length).
#[derive(Clone, Debug)]
#[allow(clippy::large_enum_variant, reason = "one per register or command at a time; boxing buys nothing")]
pub enum Replay {
    Ru(ru::RuState),
    Kz(kz::KzReplay),
}

impl Replay {
    /// Applies the next journal document (canonical bytes).
    pub fn push(&mut self, bytes: &[u8]) -> Result<(), String> {
        match self {
            Self::Ru(s) => s.replay_bytes(bytes),
            Self::Kz(r) => r.push(bytes),
        }
    }

    /// Compares the rebuilt numbers, drawer and counters with the stored state.
    pub fn compare(&self, stored: &RegisterState) -> Result<(), String> {
        match (self, stored) {
            (Self::Ru(r), RegisterState::Ru(s)) => r.compare(s),
            (Self::Kz(r), RegisterState::Kz(s)) => r.compare(s),
            _ => Err("the journal belongs to another profile than the state".into()),
        }
    }
}

/// One document produced by [`apply`], ready to store: the indexed columns every profile has, the
/// canonical bytes (JSON of the profile's document) and the fiscal sign over them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Issued {
    /// `open_shift`, `receipt`, `correction`, `cash_in`, `cash_out`, `x_report`, `close_shift`.
    pub kind: &'static str,
    /// Fiscal documents are numbered gaplessly per FN; non-fiscal ones have their own counter.
    pub fiscal: bool,
    /// Fiscal document number (fiscal) or non-fiscal document number.
    pub number: u64,
    pub shift_number: u32,
    /// Receipt number within the shift (receipts and corrections).
    pub receipt_number: Option<u32>,
    pub time_ms: i64,
    pub total: Money,
    /// The canonical bytes: what the sign and the journal hash cover.
    pub bytes: Vec<u8>,
    /// The fiscal sign («фискальный признак»), unsigned 32 bits (ATOL-89); 0 for non-fiscal.
    pub fiscal_sign: u32,
    /// The receipt QR string (ITK-94) for fiscal documents.
    pub qr: Option<String>,
    /// Goes to the OFD (RU: fiscal documents; KZ: every document, CORE-80).
    pub ofd: bool,
    /// Already accepted by the OFD when issued (KZ online documents, CORE-94): stored as delivered
    /// (CORE-80 delivered flag) at its time.
    pub delivered: bool,
}

/// What one command did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Applied {
    pub state: RegisterState,
    /// In order; more than one when a rule adds documents (the automatic shift opening).
    pub documents: Vec<Issued>,
    /// The command was refused after documents that stay (KZ: an automatic Z or withdrawal before
    /// a refused request, CORE-64/§8.4) or with a state change that stays (CORE-94 Blocked): the
    /// store commits `state` and `documents`, then reports this refusal.
    pub refusal: Option<FiscalError>,
}

/// Applies `command` to `state`: pure, nothing changes on `Err`.
pub fn apply(state: &RegisterState, command: &Command, ctx: &Ctx<'_>) -> Result<Applied, FiscalError> {
    match (state, command) {
        (RegisterState::Ru(s), Command::Ru(c)) => {
            let (next, documents) = ru::apply(s, c, ctx)?;
            Ok(Applied { state: RegisterState::Ru(next), documents, refusal: None })
        }
        (RegisterState::Kz(s), Command::Kz(c)) => kz::apply(s, c, ctx),
        _ => Err(FiscalError::Unsupported { reason: "the command is for a register of another profile".into() }),
    }
}

/// Why a register refused a command. Each variant carries what the faces need to map it to
/// their own codes; [`FiscalError::atol_code`] gives the ATOL device-model code (§9.3).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
#[serde(tag = "error", rename_all = "snake_case")]
pub enum FiscalError {
    /// ATOL-88 step 1: a fault injected by a test hook, answered with its KKT code.
    #[error("injected fault {code}")]
    InjectedFault { code: i32 },
    /// ATOL-87/ATOL-88 step 2: `service.inn` or `service.payment_address` differs from the
    /// group's (ATOL agent error 2).
    #[error("the register is registered with another {field}")]
    ServiceMismatch { field: String },
    /// ATOL-88 step 3: `sno` not in the group's set, or missing while the group has several
    /// (ATOL -4021).
    #[error("taxation system {sno:?} is not registered for this register")]
    SnoNotAllowed { sno: Option<String> },
    /// ATOL-88 step 4: a position with price 0 (ATOL -3805).
    #[error("position {item} has a zero price")]
    ZeroPrice { item: usize },
    /// ATOL-88 step 5: a position with quantity 0 (ATOL -3804).
    #[error("position {item} has a zero quantity")]
    ZeroQuantity { item: usize },
    /// ATOL-88 step 6: a position whose tax sum exceeds its sum (ATOL -3969).
    #[error("position {item}: tax sum exceeds the position sum")]
    TaxSumExceedsSum { item: usize },
    /// ATOL-88 step 7: payments sum < total (ATOL -3897; ITK-57; cash core 57 when applicable).
    #[error("receipt not fully paid: paid {paid}, total {total}")]
    Underpaid { paid: Money, total: Money },
    /// ATOL-88 step 8: non-cash payments sum > total (ATOL -3896; ITK-57).
    #[error("non-cash payments {non_cash} exceed the total {total}")]
    NonCashExceedsTotal { non_cash: Money, total: Money },
    /// A total or sum that is not consistent (total ≠ Σ position sums, negative or empty)
    /// (ATOL -3803; cash core 52).
    #[error("wrong sum: {reason}")]
    WrongSum { reason: String },
    /// A counter or total would overflow (ATOL -3819 / -3927).
    #[error("overflow of {what}")]
    Overflow { what: String },
    /// The shift has been open for the limit or longer (ATOL -3822; ITK `expired`; cash core
    /// closes it automatically, CORE-64). Only a Z report (or an X report) is accepted.
    #[error("the shift has been open for more than 24 hours")]
    ShiftExpired { opened_at_ms: i64 },
    /// The shift is closed and the command needs it open (ITK 84 for closeSession; ATOL -3847
    /// when auto-open is off).
    #[error("the shift is not open")]
    ShiftNotOpen,
    /// openSession on an open shift (ITK 83).
    #[error("the shift is already open")]
    ShiftAlreadyOpen,
    /// The drawer would go negative: cash out or a cash refund above the cash held
    /// (cash core 58; ATOL -3810).
    #[error("not enough cash: {cash} in the drawer, {needed} needed")]
    NotEnoughCash { cash: Money, needed: Money },
    /// The register clock would go back before its last document (ATOL -3830; cash core 36).
    #[error("the clock is behind the last document")]
    ClockBehind { last_ms: i64, now_ms: i64 },
    /// The command is malformed in a way a face should have caught (ATOL agent 1, cash core 2).
    #[error("invalid command: {reason}")]
    Invalid { reason: String },
    /// The register is retired in provisioning (ITK-101 `inactive`; ATOL agent 4).
    #[error("the register is inactive")]
    Inactive,
    /// The command or profile is not supported by this register (ATOL agent 4).
    #[error("unsupported: {reason}")]
    Unsupported { reason: String },
    /// A refusal of the KZ profile, with its cash-core code and text (§11).
    #[error("{0}")]
    Kz(#[serde(with = "kz::error_serde")] crate::kz::KzError),
    /// KZ: the register's state changed between the engine's OFD submit and the transaction (or an
    /// OFD outcome is missing); the engine prepares again. Never reaches a face unless retries run
    /// out.
    #[error("the register changed while the document was at the OFD")]
    Stale,
}

impl FiscalError {
    /// The ATOL Online KKT error code of the reference device model (§9.3, ATOL-88).
    pub fn atol_code(&self) -> i32 {
        match self {
            Self::InjectedFault { code } => *code,
            Self::ServiceMismatch { .. } => 2,
            Self::SnoNotAllowed { .. } => -4021,
            Self::ZeroPrice { .. } => -3805,
            Self::ZeroQuantity { .. } => -3804,
            Self::TaxSumExceedsSum { .. } => -3969,
            Self::Underpaid { .. } => -3897,
            Self::NonCashExceedsTotal { .. } => -3896,
            Self::WrongSum { .. } => -3803,
            Self::Overflow { .. } => -3819,
            Self::ShiftExpired { .. } => -3822,
            Self::ShiftNotOpen | Self::ShiftAlreadyOpen => -3847,
            Self::NotEnoughCash { .. } => -3810,
            Self::ClockBehind { .. } => -3830,
            Self::Invalid { .. } => 1,
            Self::Inactive | Self::Unsupported { .. } | Self::Kz(_) => 4,
            Self::Stale => 1,
        }
    }

    /// The cash-core `response_code` (§11) for the cash-core face: the KZ refusal's own code, or
    /// the nearest row for an engine-level refusal.
    pub fn cash_core_code(&self) -> u32 {
        match self {
            Self::Kz(e) => e.code(),
            Self::Underpaid { .. } => 57,
            Self::WrongSum { .. } => 52,
            Self::NotEnoughCash { .. } => 58,
            Self::ClockBehind { .. } => 36,
            Self::Invalid { .. } => 2,
            _ => 29,
        }
    }
}

/// `YYYYMMDDTHHMMSS` of `ms` shifted by `offset_minutes` (Moscow is UTC+3 all year since 2014).
pub fn compact_datetime(ms: i64, offset_minutes: i64) -> String {
    let secs = ms.div_euclid(1000) + offset_minutes * 60;
    let (days, rem) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    let (y, m, d) = civil_from_days(days);
    format!("{y:04}{m:02}{d:02}T{:02}{:02}{:02}", rem / 3600, rem % 3600 / 60, rem % 60)
}

/// Days since 1970-01-01 → (year, month, day) in the proleptic Gregorian calendar
/// (H. Hinnant's `civil_from_days`).
pub fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}
