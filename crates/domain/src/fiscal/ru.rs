//! The RU profile (54-FZ): a register with a fiscal storage (FN).
//!
//! State: gapless fiscal document numbers per FN, a non-fiscal document counter, the shift number
//! and its receipt counter (ATOL-89, ITK-122), the cash drawer, the per-shift counters and the
//! non-nullable totals. Documents: shift opening, receipts (sell, sell refund, buy, buy refund),
//! corrections, cash in/out, X report, shift closing (Z).
//!
//! Receipt validation follows the ATOL reference device model (ATOL-88) in its order, then the
//! engine's own invariants (total = Σ position sums, the drawer never goes negative).

use super::{Ctx, FiscalError, Issued, MAX_ITEMS, MAX_PAYMENTS, MAX_TEXT, compact_datetime, fiscal_sign};
use kassa_money::{Money, Quantity};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Moscow time (UTC+3, no daylight saving since 2014): the register clock of RU documents
/// (ITK-123 `checkDate`).
pub const MOSCOW_OFFSET_MIN: i64 = 180;
/// Largest difference between a receipt's total and its positions' sum (ATOL-57: 99 kopecks).
pub const MAX_ROUNDING_MINOR: i64 = 99;
/// How far behind its last document a register's clock may read before it refuses (ms).
pub const CLOCK_TOLERANCE_MS: i64 = 2_000;
/// The FFD version the documents follow.
pub const FFD_VERSION: &str = "1.2";

/// A settlement sign («признак расчёта»).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Operation {
    Sell,
    SellRefund,
    Buy,
    BuyRefund,
}

impl Operation {
    pub const ALL: [Operation; 4] = [Self::Sell, Self::SellRefund, Self::Buy, Self::BuyRefund];

    /// ITK-94 `n`: 1 sale, 2 returnSale, 3 buy, 4 returnBuy.
    pub fn code(self) -> u8 {
        match self {
            Self::Sell => 1,
            Self::SellRefund => 2,
            Self::Buy => 3,
            Self::BuyRefund => 4,
        }
    }

    /// Money flows into the drawer (+1) or out of it (−1); revenue moves the same way.
    pub fn direction(self) -> i64 {
        match self {
            Self::Sell | Self::BuyRefund => 1,
            Self::SellRefund | Self::Buy => -1,
        }
    }
}

/// One position of a receipt. `sum` is the position amount as the client computed it (ATOL-57:
/// the register adds the positions' sums).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Item {
    pub name: String,
    pub price: Money,
    pub quantity: Quantity,
    pub sum: Money,
    /// VAT code as the faces name it (`none`, `vat0`, `vat10`, `vat20`, `vat110`, `vat120`, ...).
    pub tax: String,
    #[serde(default)]
    pub tax_sum: Money,
    /// Department / section number.
    #[serde(default = "one")]
    pub section: u32,
}

fn one() -> u32 {
    1
}

/// A payment: `type` 0 is cash, anything else is non-cash (ATOL-88).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Payment {
    #[serde(rename = "type")]
    pub kind: u8,
    pub sum: Money,
}

/// The seller data a document claims (ATOL `service`), compared with the group's (ATOL-87).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Service {
    pub inn: String,
    pub payment_address: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Receipt {
    pub operation: Operation,
    pub items: Vec<Item>,
    pub payments: Vec<Payment>,
    /// The receipt total; must equal Σ position sums.
    pub total: Money,
    #[serde(default)]
    pub sno: Option<String>,
    #[serde(default)]
    pub service: Option<Service>,
    #[serde(default)]
    pub cashier: Option<String>,
}

/// A VAT amount of a correction.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TaxSum {
    pub tax: String,
    pub sum: Money,
}

/// A correction receipt: its fiscal total is the payments sum (ATOL-63, ATOL-86).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Correction {
    pub operation: Operation,
    pub payments: Vec<Payment>,
    #[serde(default)]
    pub taxes: Vec<TaxSum>,
    #[serde(default)]
    pub sno: Option<String>,
    #[serde(default)]
    pub service: Option<Service>,
    /// Reason / basis of the correction.
    #[serde(default)]
    pub base: String,
}

/// What an RU register can be asked to do.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Command {
    OpenShift {
        #[serde(default)]
        cashier: Option<String>,
    },
    Receipt(Receipt),
    Correction(Correction),
    CashIn { sum: Money },
    CashOut { sum: Money },
    XReport,
    CloseShift {
        #[serde(default)]
        cashier: Option<String>,
    },
}

/// Count and amount.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CountSum {
    pub count: u64,
    pub sum: Money,
}

impl CountSum {
    fn add(&mut self, sum: Money) -> Result<(), FiscalError> {
        self.count += 1;
        self.sum = self.sum.checked_add(sum).ok_or_else(|| overflow("shift counters"))?;
        Ok(())
    }
}

/// Turnover and VAT of one tax code.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TaxTotal {
    pub turnover: Money,
    pub tax: Money,
}

/// Per-shift counters (reset by the Z report).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ShiftCounters {
    /// Receipts by operation.
    pub receipts: BTreeMap<Operation, CountSum>,
    /// Corrections by operation.
    pub corrections: BTreeMap<Operation, CountSum>,
    /// Payments by operation and payment type; cash net of change.
    ///
    /// Keys are decimal text: JSON object keys are strings (and integer keys do not survive
    /// serde_json's `arbitrary_precision`).
    pub payments: BTreeMap<Operation, BTreeMap<String, Money>>,
    /// Turnover and VAT by operation and tax code.
    pub taxes: BTreeMap<Operation, BTreeMap<String, TaxTotal>>,
    /// Position amounts by operation and section.
    pub sections: BTreeMap<Operation, BTreeMap<String, Money>>,
    /// Change given back.
    pub change: Money,
    pub cash_in: CountSum,
    pub cash_out: CountSum,
}

impl ShiftCounters {
    /// Shift revenue: sells − sell refunds − buys + buy refunds (receipts and corrections).
    pub fn revenue(&self) -> Money {
        let mut r: i128 = 0;
        for (op, cs) in self.receipts.iter().chain(self.corrections.iter()) {
            r += i128::from(op.direction()) * i128::from(cs.sum.minor());
        }
        Money::from_minor(i64::try_from(r).unwrap_or(i64::MAX))
    }
}

/// The state of one RU register.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RuState {
    /// The FN the numbering belongs to.
    pub fn_number: String,
    /// Number of the last fiscal document of this FN (0 before the first): gapless.
    pub last_fiscal_number: u64,
    /// Number of the last non-fiscal document (X report, cash in/out).
    pub last_nonfiscal_number: u64,
    /// Current shift number when open, last shift number when closed (0 before the first).
    pub shift_number: u32,
    pub shift_open: bool,
    pub shift_opened_ms: i64,
    /// Receipts and corrections in the current shift (ATOL-89 receipt counter).
    pub receipt_number: u32,
    /// Cash in the drawer; never negative.
    pub cash: Money,
    pub counters: ShiftCounters,
    /// Non-nullable totals by operation (receipts and corrections, all time).
    pub non_nullable: BTreeMap<Operation, Money>,
    /// Time of the last document; the register clock never goes back before it.
    pub last_document_ms: i64,
}

impl RuState {
    pub fn new(fn_number: &str) -> Self {
        Self {
            fn_number: fn_number.to_owned(),
            last_fiscal_number: 0,
            last_nonfiscal_number: 0,
            shift_number: 0,
            shift_open: false,
            shift_opened_ms: 0,
            receipt_number: 0,
            cash: Money::ZERO,
            counters: ShiftCounters::default(),
            non_nullable: BTreeMap::new(),
            last_document_ms: 0,
        }
    }

    /// `opened`, `closed` or `expired` (ITK-93, ITK-123).
    pub fn session_state(&self, now_ms: i64, max_shift_ms: i64) -> &'static str {
        if !self.shift_open {
            "closed"
        } else if now_ms - self.shift_opened_ms >= max_shift_ms {
            "expired"
        } else {
            "opened"
        }
    }

    /// Shift revenue.
    pub fn revenue(&self) -> Money {
        self.counters.revenue()
    }

    /// Replays `documents` (canonical bytes, oldest first) on an empty register and compares the
    /// counters, numbers and drawer with `self`.
    pub fn counters_match_journal(&self, documents: &[&[u8]]) -> Result<(), String> {
        let mut replay = RuState::new(&self.fn_number);
        for bytes in documents {
            replay.replay_bytes(bytes)?;
        }
        replay.compare(self)
    }

    /// Applies one journal document (canonical bytes) to this replica.
    pub fn replay_bytes(&mut self, bytes: &[u8]) -> Result<(), String> {
        let doc: Document = serde_json::from_slice(bytes).map_err(|e| format!("undecodable document: {e}"))?;
        self.replay(&doc).map_err(|e| e.to_string())
    }

    /// Compares a replica rebuilt from the journal with the stored state.
    pub fn compare(&self, stored: &RuState) -> Result<(), String> {
        let fields: [(&str, bool); 7] = [
            ("fiscal document number", self.last_fiscal_number == stored.last_fiscal_number),
            ("non-fiscal document number", self.last_nonfiscal_number == stored.last_nonfiscal_number),
            ("shift number", self.shift_number == stored.shift_number && self.shift_open == stored.shift_open),
            ("receipt number", self.receipt_number == stored.receipt_number),
            ("cash", self.cash == stored.cash),
            ("shift counters", self.counters == stored.counters),
            ("non-nullable totals", self.non_nullable == stored.non_nullable),
        ];
        match fields.iter().find(|(_, ok)| !ok) {
            Some((what, _)) => Err(format!("{what} of the register differs from the sum of its journal")),
            None => Ok(()),
        }
    }

    /// Applies the effect of an issued document to numbers and counters (used by [`apply`] and
    /// by the journal check, so both count the same way).
    fn replay(&mut self, doc: &Document) -> Result<(), FiscalError> {
        if doc.fiscal {
            self.last_fiscal_number = doc.number;
        } else {
            self.last_nonfiscal_number = doc.number;
        }
        self.last_document_ms = doc.time_ms;
        match &doc.body {
            Body::OpenShift => {
                self.shift_open = true;
                self.shift_number = doc.shift_number;
                self.shift_opened_ms = doc.time_ms;
                self.receipt_number = 0;
            }
            Body::CloseShift { .. } => {
                self.shift_open = false;
                self.counters = ShiftCounters::default();
                self.receipt_number = 0;
            }
            Body::XReport { .. } => {}
            Body::CashIn { sum } => {
                self.counters.cash_in.add(*sum)?;
                self.cash = self.cash.checked_add(*sum).ok_or_else(|| overflow("cash"))?;
            }
            Body::CashOut { sum } => {
                self.counters.cash_out.add(*sum)?;
                self.cash = self.cash.checked_sub(*sum).ok_or_else(|| overflow("cash"))?;
            }
            Body::Receipt { operation, items, payments, change, .. } => {
                self.receipt_number = doc.receipt_number.unwrap_or(self.receipt_number);
                let c = &mut self.counters;
                c.receipts.entry(*operation).or_default().add(doc.total)?;
                for it in items {
                    let t = c.taxes.entry(*operation).or_default().entry(it.tax.clone()).or_default();
                    t.turnover = t.turnover.checked_add(it.sum).ok_or_else(|| overflow("tax counters"))?;
                    t.tax = t.tax.checked_add(it.tax_sum).ok_or_else(|| overflow("tax counters"))?;
                    let s = c.sections.entry(*operation).or_default().entry(it.section.to_string()).or_default();
                    *s = s.checked_add(it.sum).ok_or_else(|| overflow("section counters"))?;
                }
                c.change = c.change.checked_add(*change).ok_or_else(|| overflow("change"))?;
                self.count_payments(*operation, payments, *change, doc.total)?;
            }
            Body::Correction { operation, payments, taxes, .. } => {
                self.receipt_number = doc.receipt_number.unwrap_or(self.receipt_number);
                let c = &mut self.counters;
                c.corrections.entry(*operation).or_default().add(doc.total)?;
                for t in taxes {
                    let e = c.taxes.entry(*operation).or_default().entry(t.tax.clone()).or_default();
                    e.tax = e.tax.checked_add(t.sum).ok_or_else(|| overflow("tax counters"))?;
                }
                self.count_payments(*operation, payments, Money::ZERO, doc.total)?;
            }
        }
        Ok(())
    }

    /// Payment counters, non-nullable totals and the drawer for a receipt or correction.
    fn count_payments(&mut self, op: Operation, payments: &[Payment], change: Money, total: Money) -> Result<(), FiscalError> {
        let by_type = self.counters.payments.entry(op).or_default();
        let cash_paid = Money::checked_sum(payments.iter().filter(|p| p.kind == 0).map(|p| p.sum))
            .ok_or_else(|| overflow("payments"))?;
        // Change is given out of the cash paid: the cash counter holds cash net of change.
        let cash_net = cash_paid.checked_sub(change).ok_or_else(|| overflow("payments"))?;
        if payments.iter().any(|p| p.kind == 0) {
            let e = by_type.entry("0".to_owned()).or_default();
            *e = e.checked_add(cash_net).ok_or_else(|| overflow("payment counters"))?;
        }
        for p in payments.iter().filter(|p| p.kind != 0) {
            let e = by_type.entry(p.kind.to_string()).or_default();
            *e = e.checked_add(p.sum).ok_or_else(|| overflow("payment counters"))?;
        }
        let nn = self.non_nullable.entry(op).or_default();
        *nn = nn.checked_add(total).ok_or_else(|| overflow("non-nullable totals"))?;
        let delta = if op.direction() > 0 { cash_net } else { cash_net.checked_neg().ok_or_else(|| overflow("cash"))? };
        self.cash = self.cash.checked_add(delta).ok_or_else(|| overflow("cash"))?;
        Ok(())
    }
}

/// An issued RU document: its canonical JSON is what the fiscal sign and the journal cover.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Document {
    pub kind: String,
    pub fiscal: bool,
    /// Fiscal document number (per FN) or non-fiscal document number.
    pub number: u64,
    pub register_id: String,
    pub fn_number: String,
    pub reg_number: String,
    pub inn: String,
    pub payment_address: String,
    pub ffd: String,
    pub shift_number: u32,
    pub receipt_number: Option<u32>,
    pub time_ms: i64,
    pub total: Money,
    pub body: Body,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Body {
    OpenShift,
    Receipt {
        operation: Operation,
        items: Vec<Item>,
        payments: Vec<Payment>,
        change: Money,
        sno: Option<String>,
        cashier: Option<String>,
    },
    Correction {
        operation: Operation,
        payments: Vec<Payment>,
        taxes: Vec<TaxSum>,
        sno: Option<String>,
        base: String,
    },
    CashIn {
        sum: Money,
    },
    CashOut {
        sum: Money,
    },
    /// X report: the counters at that moment.
    XReport {
        report: Report,
    },
    /// Z report: the counters of the shift being closed.
    CloseShift {
        report: Report,
    },
}

/// What X and Z reports show, built from the counters.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Report {
    pub shift_open: bool,
    pub shift_opened_ms: i64,
    pub receipts_in_shift: u32,
    pub cash: Money,
    pub revenue: Money,
    pub counters: ShiftCounters,
    pub non_nullable: BTreeMap<Operation, Money>,
    /// Fiscal documents issued so far by this FN.
    pub fiscal_documents: u64,
}

impl RuState {
    fn report(&self) -> Report {
        Report {
            shift_open: self.shift_open,
            shift_opened_ms: self.shift_opened_ms,
            receipts_in_shift: self.receipt_number,
            cash: self.cash,
            revenue: self.revenue(),
            counters: self.counters.clone(),
            non_nullable: self.non_nullable.clone(),
            fiscal_documents: self.last_fiscal_number,
        }
    }
}

fn overflow(what: &str) -> FiscalError {
    FiscalError::Overflow { what: what.into() }
}

fn invalid(reason: impl Into<String>) -> FiscalError {
    FiscalError::Invalid { reason: reason.into() }
}

fn wrong_sum(reason: impl Into<String>) -> FiscalError {
    FiscalError::WrongSum { reason: reason.into() }
}

/// The receipt QR string (ITK-94): `t=…&s=…&fn=…&i=…&fp=…&n=…`, `fp` zero-padded to 10 digits.
pub fn qr_string(time_ms: i64, total: Money, fn_number: &str, number: u64, sign: u32, operation_code: u8) -> String {
    format!(
        "t={}&s={}&fn={fn_number}&i={number}&fp={sign:010}&n={operation_code}",
        compact_datetime(time_ms, MOSCOW_OFFSET_MIN),
        total
    )
}

/// ATOL-87 / ATOL-88 step 2: the document's seller must be the group's.
fn check_service(service: Option<&Service>, id: &super::Identity) -> Result<(), FiscalError> {
    if let Some(s) = service {
        if s.inn.trim() != id.inn {
            return Err(FiscalError::ServiceMismatch { field: "inn".into() });
        }
        if s.payment_address.trim() != id.payment_address {
            return Err(FiscalError::ServiceMismatch { field: "payment_address".into() });
        }
    }
    Ok(())
}

/// ATOL-88 step 3: `sno` in the group's set; missing only when the group has at most one.
fn check_sno(sno: Option<&str>, id: &super::Identity) -> Result<Option<String>, FiscalError> {
    match sno {
        Some(s) if id.sno.iter().any(|g| g == s) => Ok(Some(s.to_owned())),
        Some(s) => Err(FiscalError::SnoNotAllowed { sno: Some(s.to_owned()) }),
        None if id.sno.len() > 1 => Err(FiscalError::SnoNotAllowed { sno: None }),
        None => Ok(id.sno.first().cloned()),
    }
}

fn check_text(what: &str, s: &str) -> Result<(), FiscalError> {
    if s.chars().count() > MAX_TEXT {
        return Err(invalid(format!("{what} is longer than {MAX_TEXT} characters")));
    }
    Ok(())
}

/// Payments: limits, no negative sums; returns (paid, non-cash).
fn payment_sums(payments: &[Payment]) -> Result<(Money, Money), FiscalError> {
    if payments.len() > MAX_PAYMENTS {
        return Err(invalid(format!("more than {MAX_PAYMENTS} payments")));
    }
    let (mut paid, mut non_cash) = (Money::ZERO, Money::ZERO);
    for p in payments {
        if p.sum.is_negative() {
            return Err(wrong_sum("a payment is negative"));
        }
        paid = paid.checked_add(p.sum).ok_or_else(|| overflow("payments sum"))?;
        if p.kind != 0 {
            non_cash = non_cash.checked_add(p.sum).ok_or_else(|| overflow("payments sum"))?;
        }
    }
    Ok((paid, non_cash))
}

/// The receipt checks of the reference device model (ATOL-88, steps 2–8, in order), then the
/// engine's invariants. Returns the change (cash paid beyond the total) and the `sno` used.
fn validate_receipt(r: &Receipt, id: &super::Identity) -> Result<(Money, Option<String>), FiscalError> {
    check_service(r.service.as_ref(), id)?; // step 2
    let sno = check_sno(r.sno.as_deref(), id)?; // step 3
    if r.items.len() > MAX_ITEMS {
        return Err(invalid(format!("more than {MAX_ITEMS} positions")));
    }
    if let Some(i) = r.items.iter().position(|it| it.price.is_zero()) {
        return Err(FiscalError::ZeroPrice { item: i }); // step 4
    }
    if let Some(i) = r.items.iter().position(|it| it.quantity.is_zero()) {
        return Err(FiscalError::ZeroQuantity { item: i }); // step 5
    }
    if let Some(i) = r.items.iter().position(|it| it.tax_sum > it.sum) {
        return Err(FiscalError::TaxSumExceedsSum { item: i }); // step 6
    }
    let (paid, non_cash) = payment_sums(&r.payments)?;
    if paid < r.total {
        return Err(FiscalError::Underpaid { paid, total: r.total }); // step 7
    }
    if non_cash > r.total {
        return Err(FiscalError::NonCashExceedsTotal { non_cash, total: r.total }); // step 8
    }
    // Engine invariants beyond the device model.
    if r.items.is_empty() {
        return Err(wrong_sum("a receipt needs at least one position"));
    }
    for it in &r.items {
        check_text("a position name", &it.name)?;
        check_text("a tax code", &it.tax)?;
        if it.price.is_negative() || it.quantity.is_negative() || it.sum.is_negative() || it.tax_sum.is_negative() {
            return Err(wrong_sum("negative price, quantity or sum"));
        }
    }
    // ATOL-57: the total may differ from the positions' sum by rounding of at most 0.99; the
    // registered total is `total`, the difference is the receipt's rounding.
    let sum = Money::checked_sum(r.items.iter().map(|it| it.sum)).ok_or_else(|| overflow("receipt total"))?;
    let rounding = r.total.checked_sub(sum).ok_or_else(|| overflow("receipt total"))?;
    if rounding.minor().abs() > MAX_ROUNDING_MINOR || r.total <= Money::ZERO {
        return Err(wrong_sum(format!("total {} is not the positions' sum {sum} within 0.99, or not positive", r.total)));
    }
    if let Some(c) = &r.cashier {
        check_text("the cashier", c)?;
    }
    Ok((paid.checked_sub(r.total).ok_or_else(|| overflow("change"))?, sno))
}

/// Applies one command to an RU register (pure).
pub fn apply(state: &RuState, command: &Command, ctx: &Ctx<'_>) -> Result<(RuState, Vec<Issued>), FiscalError> {
    if let Some(code) = ctx.fault {
        return Err(FiscalError::InjectedFault { code }); // ATOL-88 step 1
    }
    // Concurrent callers read the clock before their commands queue for the register, so the
    // register may see times a few milliseconds out of order: within the tolerance a document is
    // stamped with its predecessor's time; a clock further behind is refused.
    if ctx.now_ms < state.last_document_ms - CLOCK_TOLERANCE_MS {
        return Err(FiscalError::ClockBehind { last_ms: state.last_document_ms, now_ms: ctx.now_ms });
    }
    let ctx = &Ctx { now_ms: ctx.now_ms.max(state.last_document_ms), ..*ctx };
    let now = ctx.now_ms;
    let expired = state.shift_open && now - state.shift_opened_ms >= ctx.policy.max_shift_ms;
    let mut next = state.clone();
    let mut out = Vec::with_capacity(2);
    match command {
        Command::OpenShift { cashier } => {
            if state.shift_open {
                return Err(FiscalError::ShiftAlreadyOpen); // ITK-123: 83
            }
            if let Some(c) = cashier {
                check_text("the cashier", c)?;
            }
            issue(&mut next, ctx, "open_shift", true, None, Money::ZERO, Body::OpenShift, &mut out)?;
        }
        Command::CloseShift { cashier } => {
            if !state.shift_open {
                return Err(FiscalError::ShiftNotOpen); // ITK-123: 84
            }
            if let Some(c) = cashier {
                check_text("the cashier", c)?;
            }
            let report = next.report();
            issue(&mut next, ctx, "close_shift", true, None, Money::ZERO, Body::CloseShift { report }, &mut out)?;
        }
        Command::XReport => {
            let report = next.report();
            issue(&mut next, ctx, "x_report", false, None, Money::ZERO, Body::XReport { report }, &mut out)?;
        }
        Command::CashIn { sum } | Command::CashOut { sum } => {
            let cash_in = matches!(command, Command::CashIn { .. });
            if *sum <= Money::ZERO {
                return Err(wrong_sum("the amount must be positive"));
            }
            close_if_expired(&mut next, ctx, expired, &mut out)?;
            if !cash_in && *sum > state.cash {
                return Err(FiscalError::NotEnoughCash { cash: state.cash, needed: *sum });
            }
            // ITK-111: cash in/out on a closed shift opens it first (when auto-open is on).
            if !next.shift_open && ctx.policy.auto_open_shift {
                issue(&mut next, ctx, "open_shift", true, None, Money::ZERO, Body::OpenShift, &mut out)?;
            }
            let (kind, body) = if cash_in { ("cash_in", Body::CashIn { sum: *sum }) } else { ("cash_out", Body::CashOut { sum: *sum }) };
            issue(&mut next, ctx, kind, false, None, *sum, body, &mut out)?;
        }
        Command::Receipt(r) => {
            let (change, sno) = validate_receipt(r, ctx.identity)?;
            let body = Body::Receipt {
                operation: r.operation,
                items: r.items.clone(),
                payments: r.payments.clone(),
                change,
                sno,
                cashier: r.cashier.clone(),
            };
            let cash_paid = Money::checked_sum(r.payments.iter().filter(|p| p.kind == 0).map(|p| p.sum)).unwrap_or(Money::ZERO);
            let cash_net = cash_paid.checked_sub(change).ok_or_else(|| overflow("cash"))?;
            settle(&mut next, ctx, expired, r.operation, cash_net, "receipt", r.total, body, &mut out)?;
        }
        Command::Correction(c) => {
            check_service(c.service.as_ref(), ctx.identity)?; // D-34: only when `service` is given
            let sno = check_sno(c.sno.as_deref(), ctx.identity)?;
            let (total, _) = payment_sums(&c.payments)?;
            if total.is_zero() {
                return Err(wrong_sum("a correction needs a positive payments sum"));
            }
            check_text("the correction basis", &c.base)?;
            if c.taxes.len() > MAX_PAYMENTS || c.taxes.iter().any(|t| t.sum.is_negative() || t.sum > total) {
                return Err(FiscalError::TaxSumExceedsSum { item: 0 });
            }
            let cash_net = Money::checked_sum(c.payments.iter().filter(|p| p.kind == 0).map(|p| p.sum)).unwrap_or(Money::ZERO);
            let body = Body::Correction {
                operation: c.operation,
                payments: c.payments.clone(),
                taxes: c.taxes.clone(),
                sno,
                base: c.base.clone(),
            };
            settle(&mut next, ctx, expired, c.operation, cash_net, "correction", total, body, &mut out)?;
        }
    }
    Ok((next, out))
}

/// Shift rules and the drawer for receipts and corrections, then the document itself.
#[allow(clippy::too_many_arguments)]
fn settle(
    next: &mut RuState,
    ctx: &Ctx<'_>,
    expired: bool,
    operation: Operation,
    cash_net: Money,
    kind: &'static str,
    total: Money,
    body: Body,
    out: &mut Vec<Issued>,
) -> Result<(), FiscalError> {
    close_if_expired(next, ctx, expired, out)?;
    // The drawer can never go negative (cash refunds and cash buys pay out of it).
    if operation.direction() < 0 && cash_net > next.cash {
        return Err(FiscalError::NotEnoughCash { cash: next.cash, needed: cash_net });
    }
    if !next.shift_open {
        if !ctx.policy.auto_open_shift {
            return Err(FiscalError::ShiftNotOpen);
        }
        issue(next, ctx, "open_shift", true, None, Money::ZERO, Body::OpenShift, out)?;
    }
    let receipt_number = next.receipt_number.checked_add(1).ok_or_else(|| overflow("receipt number"))?;
    issue(next, ctx, kind, true, Some(receipt_number), total, body, out)
}

/// An expired shift refuses (ATOL -3822) or, with `auto_close_expired`, is closed first with a Z
/// report (ITK-111); the caller then opens the next one as for a closed shift.
fn close_if_expired(next: &mut RuState, ctx: &Ctx<'_>, expired: bool, out: &mut Vec<Issued>) -> Result<(), FiscalError> {
    if !expired {
        return Ok(());
    }
    if !ctx.policy.auto_close_expired {
        return Err(FiscalError::ShiftExpired { opened_at_ms: next.shift_opened_ms });
    }
    let report = next.report();
    issue(next, ctx, "close_shift", true, None, Money::ZERO, Body::CloseShift { report }, out)
}

/// Numbers, signs and records one document, and applies its effect to `next`.
#[allow(clippy::too_many_arguments)]
fn issue(
    next: &mut RuState,
    ctx: &Ctx<'_>,
    kind: &'static str,
    fiscal: bool,
    receipt_number: Option<u32>,
    total: Money,
    body: Body,
    out: &mut Vec<Issued>,
) -> Result<(), FiscalError> {
    let number = if fiscal { next.last_fiscal_number } else { next.last_nonfiscal_number }
        .checked_add(1)
        .ok_or_else(|| overflow("document number"))?;
    let shift_number = if matches!(body, Body::OpenShift) {
        next.shift_number.checked_add(1).ok_or_else(|| overflow("shift number"))?
    } else {
        next.shift_number
    };
    let operation_code = match &body {
        Body::Receipt { operation, .. } | Body::Correction { operation, .. } => operation.code(),
        _ => 0,
    };
    let id = ctx.identity;
    let doc = Document {
        kind: kind.to_owned(),
        fiscal,
        number,
        register_id: id.register_id.clone(),
        fn_number: next.fn_number.clone(),
        reg_number: id.reg_number.clone(),
        inn: id.inn.clone(),
        payment_address: id.payment_address.clone(),
        ffd: FFD_VERSION.to_owned(),
        shift_number,
        receipt_number,
        time_ms: ctx.now_ms,
        total,
        body,
    };
    next.replay(&doc)?;
    let bytes = serde_json::to_vec(&doc).map_err(|e| invalid(format!("document not serialisable: {e}")))?;
    let sign = if fiscal { fiscal_sign(ctx.secret, &bytes) } else { 0 };
    let qr = fiscal.then(|| qr_string(ctx.now_ms, total, &next.fn_number, number, sign, operation_code));
    out.push(Issued {
        kind,
        fiscal,
        number,
        shift_number,
        receipt_number,
        time_ms: ctx.now_ms,
        total,
        bytes,
        fiscal_sign: sign,
        qr,
        ofd: fiscal,
        delivered: false,
    });
    Ok(())
}
