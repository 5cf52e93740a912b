//! The pure processing of a fiscal command around the synchronous OFD submit:
//! [`prepare`] checks the command against the state and builds the next document to submit,
//! [`finish`] applies the OFD outcome and returns the new state and the journaled document.
//!
//! One command may produce several documents, each submitted and committed on its own: an
//! automatic withdrawal before a Z report (CORE-79) and an automatic Z before a ticket on a shift
//! of 24 hours or more (CORE-64). [`prepare`] then returns that preliminary document with
//! `is_final == false`; after committing it the engine calls [`prepare`] again on the new state.
//! [`execute`] runs that loop with a caller-supplied OFD link.

use kassa_money::Money;
use serde::{Deserialize, Serialize};

use super::KzError;
use super::command::{Caller, Command, KkmConfig, MoneyPlacementRequest, ReportRequest, TradeRequest};
use super::enums::{CommandType, MoneyPlacementKind, Operation, PaymentType, ReportType};
use super::ofd::{Acceptance, OfdOutcome, qr_code};
use super::placement::{self, MoneyPlacementObject};
use super::report::{ReportHeader, ReportObject, ShiftCounters, report_body};
use super::state::{KkmState, OFFLINE_NUMBER_FLOOR, SHIFT_CLOSED, SHIFT_OPEN};
use super::ticket::{self, OperatorObject, TicketObject};
use super::time::LocalDateTime;
use super::wire::short_money;

/// The `body` of a document: TicketObject, MoneyPlacementObject or ReportObject.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Body {
    Ticket(TicketObject),
    MoneyPlacement(MoneyPlacementObject),
    Report(ReportObject),
}

/// An accepted document with the journal fields of CORE-80 (the engine adds the server-wide
/// `ID`, the KKM and the delivered flag).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Document {
    /// Journal command: 1 ticket, 2 Z report, 3 X report, 6 money placement (I-21).
    pub command: CommandType,
    /// Journal date (millisecond precision).
    pub date: LocalDateTime,
    pub fr_shift_number: u32,
    pub shift_document_number: u32,
    /// Accepted in autonomous mode: still to be delivered by the upload task (CORE-96).
    pub is_offline: bool,
    /// Tickets: the fiscal id (CORE-98 / OFD); `""` otherwise.
    pub fiscal_id: String,
    /// Tickets: the QR string (CORE-100 / OFD); `""` otherwise.
    pub qr_code: String,
    pub body: Body,
    /// The TransactionList body of §6.10.
    pub list_body: ListBody,
}

/// TransactionList::* bodies (§6.10), chosen by `command`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum ListBody {
    Ticket {
        operation: Operation,
        payments: Vec<PaymentType>,
        #[serde(with = "short_money")]
        sum: Money,
        fiscal_id: String,
    },
    Report {
        #[serde(rename = "type")]
        kind: ReportType,
        #[serde(with = "short_money")]
        revenue: Money,
        non_nullable_sums: Vec<ListNonNullableSum>,
    },
    MoneyPlacement {
        operation: MoneyPlacementKind,
        #[serde(with = "short_money")]
        sum: Money,
    },
}

/// TransactionList::Report::NonNullableSum.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ListNonNullableSum {
    pub operation: Operation,
    #[serde(with = "short_money")]
    pub sum: Money,
}

/// The next document of a command, ready to be submitted to the OFD.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Prepared {
    pub command: CommandType,
    pub fr_shift_number: u32,
    pub shift_document_number: u32,
    /// The body to submit; fiscal id, QR and autonomous flags are filled in by [`finish`].
    pub body: Body,
    /// False when the KKM is autonomous: queue without submitting and pass
    /// [`OfdOutcome::NotSubmitted`] (CORE-95).
    pub submit: bool,
    /// False for an automatic withdrawal (CORE-79) or automatic Z (CORE-64) that precedes the
    /// requested document: commit it, then call [`prepare`] again.
    pub is_final: bool,
    /// The ticket's cash effect (C_net), for the drawer update.
    cash_net: Money,
}

/// A refusal, with the state to persist anyway (CORE-94: Blocked sets `is_blocked`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Failure {
    pub error: KzError,
    pub state: Option<Box<KkmState>>,
}

impl From<KzError> for Failure {
    fn from(error: KzError) -> Failure {
        Failure { error, state: None }
    }
}

/// The accepted document and the state after it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Finished {
    pub state: KkmState,
    pub document: Document,
}

/// Step C of CORE-71 / the common checks of CORE-78 and CORE-89: 18 then 36.
fn check_clock(state: &KkmState, config: &KkmConfig, now: LocalDateTime) -> Result<(), KzError> {
    // CORE-97
    if state.is_offline && state.offline_start_date.is_some_and(|start| now.since(start) >= config.offline_limit) {
        return Err(KzError::OfflineTooLong);
    }
    // CORE-32
    if state.last_document_date.is_some_and(|last| now < last) {
        return Err(KzError::InvalidLocalDate);
    }
    Ok(())
}

fn operator(caller: &Caller) -> OperatorObject {
    OperatorObject { code: caller.code, name: caller.name.clone() }
}

fn prepared(state: &KkmState, command: CommandType, body: Body, is_final: bool, cash_net: Money) -> Prepared {
    Prepared {
        command,
        fr_shift_number: state.fr_shift_number,
        shift_document_number: state.shift_document_number,
        body,
        submit: !state.is_offline,
        is_final,
        cash_net,
    }
}

fn withdrawal(state: &KkmState, caller: &Caller, now: LocalDateTime) -> Prepared {
    let body = MoneyPlacementObject {
        datetime: now.object(),
        operation: MoneyPlacementKind::Withdrawal,
        sum: state.cash_sum,
        is_offline: false,
        fr_shift_number: state.fr_shift_number,
        printed_document_number: u64::from(state.shift_document_number),
        operator: operator(caller),
    };
    prepared(state, CommandType::MoneyPlacement, Body::MoneyPlacement(body), false, Money::ZERO)
}

/// CORE-90 with CORE-79: the automatic withdrawal first when configured and the drawer holds
/// cash, else the Z report itself.
fn z_report(state: &KkmState, caller: &Caller, now: LocalDateTime, is_final: bool) -> Prepared {
    if state.auto_withdraw_money && state.cash_sum > Money::ZERO {
        return withdrawal(state, caller, now);
    }
    let body = report_body(&ReportHeader::of(state, now, true), &state.counters, &state.totals);
    prepared(state, CommandType::CloseShift, Body::Report(body), is_final, Money::ZERO)
}

fn prepare_trade(
    state: &KkmState,
    request: &TradeRequest,
    caller: &Caller,
    config: &KkmConfig,
    now: LocalDateTime,
) -> Result<Prepared, KzError> {
    // Step B (CORE-68..70).
    let checked = ticket::check(request)?;
    // Step C (CORE-71): 18, 36, then the automatic Z of CORE-64.
    check_clock(state, config, now)?;
    if state.shift_state == SHIFT_OPEN && state.shift_open_date.is_some_and(|open| now.since(open) >= config.shift_limit) {
        return Ok(z_report(state, caller, now, false));
    }
    // Step D.
    let customer = checked.customer_iin_or_bin.trim();
    if !customer.is_empty() && customer.eq_ignore_ascii_case(state.reg_info.org.inn.trim()) {
        return Err(KzError::SameTaxpayerAndCustomer);
    }
    // Step E (CORE-72).
    let amounts = checked.amounts(state.cash_sum)?;
    // Step F (CORE-74, CORE-75): the shift opens in `finish`; its number does not change.
    let body = checked.body(amounts, operator(caller), now.object(), (state.fr_shift_number, state.shift_document_number));
    Ok(prepared(state, CommandType::Ticket, Body::Ticket(body), true, amounts.cash_net))
}

fn prepare_placement(
    state: &KkmState,
    request: &MoneyPlacementRequest,
    caller: &Caller,
    config: &KkmConfig,
    now: LocalDateTime,
) -> Result<Prepared, KzError> {
    // CORE-78 order: 2, 2, 58, then 18, 36.
    let (kind, sum) = placement::check(request, state.cash_sum)?;
    check_clock(state, config, now)?;
    let body = MoneyPlacementObject {
        datetime: now.object(),
        operation: kind,
        sum,
        is_offline: false,
        fr_shift_number: state.fr_shift_number,
        printed_document_number: u64::from(state.shift_document_number),
        operator: operator(caller),
    };
    Ok(prepared(state, CommandType::MoneyPlacement, Body::MoneyPlacement(body), true, Money::ZERO))
}

fn prepare_report(
    state: &KkmState,
    request: &ReportRequest,
    caller: &Caller,
    config: &KkmConfig,
    now: LocalDateTime,
) -> Result<Prepared, KzError> {
    // CORE-89: 34, 18, 36.
    let kind = ReportType::from_code(request.report_type).ok_or(KzError::InvalidReportType)?;
    check_clock(state, config, now)?;
    Ok(match kind {
        ReportType::X => {
            let body = report_body(&ReportHeader::of(state, now, false), &state.counters, &state.totals);
            prepared(state, CommandType::Report, Body::Report(body), true, Money::ZERO)
        }
        // CORE-65: also on a closed shift.
        ReportType::Z => z_report(state, caller, now, true),
    })
}

/// Checks `command` against `state` and builds the next document to submit.
///
/// # Errors
/// The first failing check of CORE-68..72 (TradeOperation), CORE-78 (MoneyPlacement) or
/// CORE-89 (ZXReport). Nothing changes on an error.
pub fn prepare(
    state: &KkmState,
    command: &Command,
    caller: &Caller,
    config: &KkmConfig,
    now: LocalDateTime,
) -> Result<Prepared, KzError> {
    match command {
        Command::Trade(request) => prepare_trade(state, request, caller, config, now),
        Command::MoneyPlacement(request) => prepare_placement(state, request, caller, config, now),
        Command::Report(request) => prepare_report(state, request, caller, config, now),
    }
}

fn add(a: Money, b: Money) -> Result<Money, KzError> {
    a.checked_add(b).ok_or(KzError::OperationFailed)
}

/// Applies the OFD `outcome` of `prepared` to `state` (the same state and the same `now` that
/// [`prepare`] was given: the body's time and the state's dates then agree) (CORE-74, CORE-78, CORE-89/90, CORE-94..98).
///
/// # Errors
/// The refusal of CORE-94 (62 with the blocked flags to persist, 61, 77, 84, 28), or 29 when
/// `prepared` does not belong to `state` or a counter overflows.
pub fn finish(
    state: &KkmState,
    prepared: Prepared,
    outcome: OfdOutcome,
    config: &KkmConfig,
    now: LocalDateTime,
) -> Result<Finished, Failure> {
    if (prepared.fr_shift_number, prepared.shift_document_number) != (state.fr_shift_number, state.shift_document_number) {
        return Err(KzError::OperationFailed.into());
    }
    let blocked_text = match &outcome {
        OfdOutcome::Blocked { text } => Some(text.clone()),
        _ => None,
    };
    let acceptance = outcome
        .acceptance(state.is_offline)
        .map_err(|error| Failure { error, state: blocked_text.map(|text| Box::new(state.blocked(&text))) })?;
    let mut next = state.clone();
    let online = match acceptance {
        Acceptance::Online { fiscal_id, qr_code, ads_info } => {
            // CORE-94: a successful exchange clears the token and blocking flags.
            next.is_invalid_token = false;
            next.is_blocked = false;
            next.blocked_info.clear();
            if let Some(ads) = ads_info {
                next.ads_info = ads;
            }
            Some((fiscal_id, qr_code))
        }
        Acceptance::Autonomous { invalid_token } => {
            if invalid_token {
                next.is_invalid_token = true;
            }
            // CORE-95
            if !next.is_offline {
                next.is_offline = true;
                next.offline_start_date = Some(now);
            }
            None
        }
    };
    let autonomous = online.is_none();
    let mut body = prepared.body;
    let (mut fiscal_id, mut qr) = (String::new(), String::new());
    let list_body = match &mut body {
        Body::Ticket(ticket) => {
            let (id, code) = match online {
                Some(ids) => ids,
                None => {
                    // CORE-98: autonomous number, never reused; CORE-100: QR of the consumer site.
                    let number =
                        next.offline_ticket_number.max(OFFLINE_NUMBER_FLOOR).checked_add(1).ok_or(KzError::OperationFailed)?;
                    next.offline_ticket_number = number;
                    ticket.offline_ticket_number = number;
                    let id = number.to_string();
                    let at = LocalDateTime::from_object(&ticket.date_time).unwrap_or(now);
                    let code = qr_code(&config.consumer_address, &id, &state.reg_info.kkm.fns_kkm_id, ticket.amounts.total, at);
                    (id, code)
                }
            };
            ticket.printed_document_number_old.clone_from(&id);
            ticket.printed_ticket.clone_from(&code);
            (fiscal_id, qr) = (id, code);
            // CORE-62: a ticket opens a closed shift.
            if next.shift_state == SHIFT_CLOSED {
                next.shift_state = SHIFT_OPEN;
                next.shift_open_date = Some(now);
                next.shift_close_date = None;
            }
            // CORE-74: drawer, revenue, non-nullable sums.
            let op = ticket.operation;
            let total = ticket.amounts.total;
            let sign = op.sign();
            let cash = prepared.cash_net.checked_mul_int(sign).ok_or(KzError::OperationFailed)?;
            next.cash_sum = add(next.cash_sum, cash)?;
            if next.cash_sum.is_negative() {
                return Err(KzError::NotEnoughCash.into());
            }
            next.revenue = add(next.revenue, total.checked_mul_int(sign).ok_or(KzError::OperationFailed)?)?;
            next.non_nullable_sums[op.index()] = add(next.non_nullable_sums[op.index()], total)?;
            ListBody::Ticket {
                operation: op,
                payments: ticket.payments.iter().map(|p| p.kind).collect(),
                sum: total,
                fiscal_id: fiscal_id.clone(),
            }
        }
        Body::MoneyPlacement(placement) => {
            placement.is_offline = autonomous;
            next.cash_sum = match placement.operation {
                MoneyPlacementKind::Deposit => add(next.cash_sum, placement.sum)?,
                MoneyPlacementKind::Withdrawal => next.cash_sum.checked_sub(placement.sum).ok_or(KzError::OperationFailed)?,
            };
            if next.cash_sum.is_negative() {
                return Err(KzError::NotEnoughCash.into());
            }
            ListBody::MoneyPlacement { operation: placement.operation, sum: placement.sum }
        }
        Body::Report(report) => ListBody::Report {
            kind: if prepared.command == CommandType::CloseShift { ReportType::Z } else { ReportType::X },
            revenue: state.revenue,
            non_nullable_sums: Operation::ALL
                .iter()
                .filter(|op| report_sum(report, **op) > Money::ZERO)
                .map(|op| ListNonNullableSum { operation: *op, sum: report_sum(report, *op) })
                .collect(),
        },
    };
    next.counters.add(&body)?;
    next.totals.add(&body)?;
    next.last_document_date = Some(now);
    // CORE-66
    next.shift_document_number = next.shift_document_number.checked_add(1).ok_or(KzError::OperationFailed)?;
    if prepared.command == CommandType::CloseShift {
        // CORE-63
        next.start_shift_non_nullable_sums = next.non_nullable_sums;
        next.fr_shift_number = next.fr_shift_number.checked_add(1).ok_or(KzError::OperationFailed)?;
        next.shift_state = SHIFT_CLOSED;
        next.shift_open_date = None;
        next.shift_close_date = Some(now);
        next.shift_document_number = 1;
        next.revenue = Money::ZERO;
        next.counters = ShiftCounters::default();
    }
    Ok(Finished {
        document: Document {
            command: prepared.command,
            date: now,
            fr_shift_number: prepared.fr_shift_number,
            shift_document_number: prepared.shift_document_number,
            is_offline: autonomous,
            fiscal_id,
            qr_code: qr,
            body,
            list_body,
        },
        state: next,
    })
}

/// The non-nullable sum of `op` at report time, as printed in the report body.
fn report_sum(report: &ReportObject, op: Operation) -> Money {
    report.non_nullable_sums.iter().find(|n| n.operation == op).map_or(Money::ZERO, |n| n.sum)
}

/// The result of [`execute`]: every document committed on the way (in order, each with the
/// state after it) and the outcome of the command.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Execution {
    /// Documents to journal, each with the state to store after it. Preliminary documents
    /// (automatic withdrawal / Z) stay here even when the command then fails (CORE-64, §8.4).
    pub committed: Vec<Finished>,
    /// State to persist after a failure (CORE-94 Blocked), if any.
    pub failed_state: Option<Box<KkmState>>,
    /// `Ok(())` when the requested document was accepted (the last of `committed`).
    pub outcome: Result<(), KzError>,
}

impl Execution {
    /// The state after the whole command.
    #[must_use]
    pub fn final_state<'a>(&'a self, before: &'a KkmState) -> &'a KkmState {
        self.failed_state.as_deref().or_else(|| self.committed.last().map(|f| &f.state)).unwrap_or(before)
    }
}

/// Runs `command` to completion: prepare, submit through `submit` (only when
/// [`Prepared::submit`]), finish; repeated while the prepared document is preliminary.
pub fn execute(
    state: &KkmState,
    command: &Command,
    caller: &Caller,
    config: &KkmConfig,
    now: LocalDateTime,
    mut submit: impl FnMut(&Prepared) -> OfdOutcome,
) -> Execution {
    let mut committed: Vec<Finished> = Vec::new();
    // At most: withdrawal, Z, ticket.
    for _ in 0..3 {
        let current = committed.last().map_or(state, |f| &f.state);
        let next = match prepare(current, command, caller, config, now) {
            Ok(next) => next,
            Err(error) => return Execution { committed, failed_state: None, outcome: Err(error) },
        };
        let outcome = if next.submit { submit(&next) } else { OfdOutcome::NotSubmitted };
        let is_final = next.is_final;
        match finish(current, next, outcome, config, now) {
            Ok(done) => {
                committed.push(done);
                if is_final {
                    return Execution { committed, failed_state: None, outcome: Ok(()) };
                }
            }
            Err(failure) => return Execution { committed, failed_state: failure.state, outcome: Err(failure.error) },
        }
    }
    Execution { committed, failed_state: None, outcome: Err(KzError::OperationFailed) }
}
