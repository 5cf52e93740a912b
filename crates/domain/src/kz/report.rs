//! X and Z reports (§9): the per-shift counters kept in [`KkmState`], the ReportObject body of
//! §6.8 built from them (CORE-84..87), `total_payments` (CORE-88), and the independent rebuild of
//! the same report from journaled documents ([`recompute_report`]).
//!
//! Counters are updated from the accepted document bodies, so the counters and the journal fold
//! share one aggregation ([`ShiftCounters::add_ticket`]); what the recomputation checks is that
//! the persisted counters, resets and lifetime counts agree with what the journal holds.

use kassa_money::Money;
use serde::{Deserialize, Serialize};

use super::KzError;
use super::enums::{ItemType, MoneyPlacementKind, Operation, PaymentType};
use super::placement::MoneyPlacementObject;
use super::process::{Body, Document};
use super::state::{KkmState, SHIFT_OPEN};
use super::ticket::{TaxObject, TicketObject};
use super::time::{DateTimeObject, LocalDateTime};
use super::wire::money_object;

/// Count and sum of one operation.
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct OpCounter {
    pub count: u32,
    pub sum: Money,
}

/// Tax aggregate of one (percent, operation) pair (CORE-86), signed until emitted.
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TaxOpCounter {
    /// Number of contributions; an operation is listed once it has any.
    pub count: u32,
    pub turnover: Money,
    pub turnover_without_tax: Money,
    pub sum: Money,
}

/// Per-percent tax aggregates.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TaxCounter {
    pub percent: u32,
    pub operations: [TaxOpCounter; 4],
}

/// Per-section totals, in order of first appearance.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SectionCounter {
    pub section_code: String,
    pub operations: [OpCounter; 4],
}

/// Ticket totals of one operation in the shift.
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TicketCounter {
    pub count: u32,
    pub sum: Money,
    pub offline_count: u32,
    pub discount_sum: Money,
    pub markup_sum: Money,
    pub change_sum: Money,
    /// Indexed by PaymentTypeEnum code 0..4.
    pub payments: [OpCounter; 5],
}

/// Money placements of one kind in the shift.
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlacementCounter {
    pub count: u32,
    pub sum: Money,
    pub offline_count: u32,
}

/// The counters of the current shift (CORE-83, CORE-85, CORE-86); reset by a Z report.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ShiftCounters {
    pub sections: Vec<SectionCounter>,
    pub operations: [OpCounter; 4],
    pub discounts: [OpCounter; 4],
    pub markups: [OpCounter; 4],
    pub total_result: [OpCounter; 4],
    /// Ascending by percent.
    pub taxes: Vec<TaxCounter>,
    pub tickets: [TicketCounter; 4],
    pub money_placements: [PlacementCounter; 2],
}

/// All-time document counts of the KKM (`tickets_total_count`, `operations_total_count`).
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct LifetimeCounts {
    pub tickets: [u32; 4],
    pub money_placements: [u32; 2],
}

fn add(a: Money, b: Money) -> Result<Money, KzError> {
    a.checked_add(b).ok_or(KzError::OperationFailed)
}

fn inc(n: u32) -> Result<u32, KzError> {
    n.checked_add(1).ok_or(KzError::OperationFailed)
}

impl OpCounter {
    fn record(&mut self, amount: Money) -> Result<(), KzError> {
        self.count = inc(self.count)?;
        self.sum = add(self.sum, amount)?;
        Ok(())
    }
}

impl LifetimeCounts {
    /// Counts one more accepted document.
    ///
    /// # Errors
    /// 29 on overflow.
    pub fn add(&mut self, body: &Body) -> Result<(), KzError> {
        match body {
            Body::Ticket(t) => self.tickets[t.operation.index()] = inc(self.tickets[t.operation.index()])?,
            Body::MoneyPlacement(p) => {
                self.money_placements[p.operation.index()] = inc(self.money_placements[p.operation.index()])?;
            }
            Body::Report(_) => {}
        }
        Ok(())
    }
}

/// Direction of a tax contribution (CORE-86: discount taxes subtract).
#[derive(Copy, Clone, PartialEq, Eq)]
enum Sign {
    Plus,
    Minus,
}

impl ShiftCounters {
    fn tax(&mut self, percent: u32, op: Operation, base: Money, tax: &TaxObject, sign: Sign) -> Result<(), KzError> {
        let at = match self.taxes.binary_search_by_key(&percent, |t| t.percent) {
            Ok(at) => at,
            Err(at) => {
                self.taxes.insert(at, TaxCounter { percent, operations: Default::default() });
                at
            }
        };
        let entry = &mut self.taxes[at].operations[op.index()];
        let without = base.checked_sub(tax.sum).ok_or(KzError::OperationFailed)?;
        let (base, tax_sum, without) = match sign {
            Sign::Plus => (base, tax.sum, without),
            Sign::Minus => (-base, -tax.sum, -without),
        };
        entry.count = inc(entry.count)?;
        entry.turnover = add(entry.turnover, base)?;
        entry.sum = add(entry.sum, tax_sum)?;
        entry.turnover_without_tax = add(entry.turnover_without_tax, without)?;
        Ok(())
    }

    /// CORE-85/CORE-86: adds one accepted ticket of the shift.
    ///
    /// # Errors
    /// 29 on counter overflow.
    pub fn add_ticket(&mut self, ticket: &TicketObject) -> Result<(), KzError> {
        let op = ticket.operation;
        let o = op.index();
        for item in &ticket.items {
            match (item.kind, &item.commodity, &item.markup, &item.discount) {
                (ItemType::Commodity, Some(c), _, _) => {
                    let at = match self.sections.iter().position(|s| s.section_code == c.section_code) {
                        Some(at) => at,
                        None => {
                            self.sections
                                .push(SectionCounter { section_code: c.section_code.clone(), operations: Default::default() });
                            self.sections.len() - 1
                        }
                    };
                    self.sections[at].operations[o].record(c.sum)?;
                    self.operations[o].record(c.sum)?;
                    self.total_result[o].record(c.sum)?;
                    for tax in &c.taxes {
                        self.tax(tax.percent, op, c.sum, tax, Sign::Plus)?;
                    }
                }
                (ItemType::Markup, _, Some(m), _) => {
                    self.markups[o].record(m.sum)?;
                    self.total_result[o].sum = add(self.total_result[o].sum, m.sum)?;
                    for tax in &m.taxes {
                        self.tax(tax.percent, op, m.sum, tax, Sign::Plus)?;
                    }
                }
                (ItemType::Discount, _, _, Some(d)) => {
                    self.discounts[o].record(d.sum)?;
                    self.total_result[o].sum = add(self.total_result[o].sum, -d.sum)?;
                    for tax in &d.taxes {
                        self.tax(tax.percent, op, d.sum, tax, Sign::Minus)?;
                    }
                }
                _ => return Err(KzError::OperationFailed),
            }
        }
        let amounts = &ticket.amounts;
        let tickets = &mut self.tickets[o];
        if amounts.markup.sum > Money::ZERO {
            tickets.markup_sum = add(tickets.markup_sum, amounts.markup.sum)?;
            self.markups[o].record(amounts.markup.sum)?;
            self.total_result[o].sum = add(self.total_result[o].sum, amounts.markup.sum)?;
            for tax in &amounts.markup.taxes {
                self.tax(tax.percent, op, amounts.markup.sum, tax, Sign::Plus)?;
            }
        }
        let tickets = &mut self.tickets[o];
        if amounts.discount.sum > Money::ZERO {
            tickets.discount_sum = add(tickets.discount_sum, amounts.discount.sum)?;
            self.discounts[o].record(amounts.discount.sum)?;
            self.total_result[o].sum = add(self.total_result[o].sum, -amounts.discount.sum)?;
            for tax in &amounts.discount.taxes {
                self.tax(tax.percent, op, amounts.discount.sum, tax, Sign::Minus)?;
            }
        }
        for tax in &ticket.taxes {
            self.tax(tax.percent, op, amounts.total, tax, Sign::Plus)?;
        }
        let tickets = &mut self.tickets[o];
        tickets.count = inc(tickets.count)?;
        tickets.sum = add(tickets.sum, amounts.total)?;
        if ticket.is_offline() {
            tickets.offline_count = inc(tickets.offline_count)?;
        }
        tickets.change_sum = add(tickets.change_sum, amounts.change)?;
        for payment in &ticket.payments {
            tickets.payments[payment.kind.slot()].record(payment.sum)?;
        }
        Ok(())
    }

    /// CORE-85: adds one accepted money placement of the shift.
    ///
    /// # Errors
    /// 29 on counter overflow.
    pub fn add_placement(&mut self, placement: &MoneyPlacementObject) -> Result<(), KzError> {
        let entry = &mut self.money_placements[placement.operation.index()];
        entry.count = inc(entry.count)?;
        entry.sum = add(entry.sum, placement.sum)?;
        if placement.is_offline {
            entry.offline_count = inc(entry.offline_count)?;
        }
        Ok(())
    }

    /// Adds any accepted document (reports contribute nothing, CORE-83).
    ///
    /// # Errors
    /// 29 on counter overflow.
    pub fn add(&mut self, body: &Body) -> Result<(), KzError> {
        match body {
            Body::Ticket(t) => self.add_ticket(t),
            Body::MoneyPlacement(p) => self.add_placement(p),
            Body::Report(_) => Ok(()),
        }
    }
}

/// ReportObject (§6.8): `body` of ZXReport.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReportObject {
    pub date_time: DateTimeObject,
    pub shift_number: u32,
    pub annulled_tickets: AnnulledTickets,
    #[serde(with = "money_object")]
    pub cash_sum: Money,
    pub revenue: RevenueObject,
    pub open_shift_time: DateTimeObject,
    pub close_shift_time: DateTimeObject,
    pub checksum: String,
    #[serde(rename = "sectionsList")]
    pub sections: Vec<SectionObject>,
    #[serde(rename = "operationsList")]
    pub operations: Vec<OperationObject>,
    #[serde(rename = "discountsList")]
    pub discounts: Vec<OperationObject>,
    #[serde(rename = "markupsList")]
    pub markups: Vec<OperationObject>,
    #[serde(rename = "total_resultList")]
    pub total_result: Vec<OperationObject>,
    #[serde(rename = "taxesList")]
    pub taxes: Vec<ReportTaxObject>,
    #[serde(rename = "start_shift_non_nullable_sumsList")]
    pub start_shift_non_nullable_sums: Vec<NonNullableSumObject>,
    #[serde(rename = "ticket_operationsList")]
    pub ticket_operations: Vec<TicketOperationObject>,
    #[serde(rename = "money_placementsList")]
    pub money_placements: Vec<MoneyPlacementTotalObject>,
    #[serde(rename = "non_nullable_sumsList")]
    pub non_nullable_sums: Vec<NonNullableSumObject>,
}

/// ZXReport::AnnulledTickets: annulment is not exposed, so always `{0, 0, []}`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AnnulledTickets {
    pub annulled_tickets_total_count: u32,
    pub annulled_tickets_count: u32,
    #[serde(rename = "annulled_operationsList")]
    pub annulled_operations: Vec<OperationObject>,
}

/// ZXReport::Revenue.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RevenueObject {
    #[serde(with = "money_object")]
    pub sum: Money,
    pub is_negative: bool,
}

/// ZXReport::Section.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SectionObject {
    pub section_code: String,
    #[serde(rename = "operationsList")]
    pub operations: Vec<OperationObject>,
}

/// ZXReport::Operation.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct OperationObject {
    pub operation: Operation,
    pub count: u32,
    #[serde(with = "money_object")]
    pub sum: Money,
}

/// ZXReport::Tax (`type` omitted, I-16).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReportTaxObject {
    pub percent: u32,
    #[serde(rename = "operationsList")]
    pub operations: Vec<TaxOperationObject>,
}

/// ZXReport::Tax::TaxOperation.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TaxOperationObject {
    pub operation: Operation,
    #[serde(with = "money_object")]
    pub turnover: Money,
    #[serde(with = "money_object")]
    pub turnover_without_tax: Money,
    #[serde(with = "money_object")]
    pub sum: Money,
}

/// ZXReport::NonNullableSum.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct NonNullableSumObject {
    pub operation: Operation,
    #[serde(with = "money_object")]
    pub sum: Money,
}

/// ZXReport::TicketOperation.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TicketOperationObject {
    pub operation: Operation,
    pub tickets_total_count: u32,
    pub tickets_count: u32,
    #[serde(with = "money_object")]
    pub tickets_sum: Money,
    pub offline_count: u32,
    #[serde(with = "money_object")]
    pub discount_sum: Money,
    #[serde(with = "money_object")]
    pub markup_sum: Money,
    #[serde(with = "money_object")]
    pub change_sum: Money,
    #[serde(rename = "paymentsList")]
    pub payments: Vec<TicketPaymentObject>,
}

/// ZXReport::TicketOperation::Payment (`count` always emitted, I-28).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TicketPaymentObject {
    pub payment: PaymentType,
    #[serde(with = "money_object")]
    pub sum: Money,
    pub count: u32,
}

/// ZXReport::MoneyPlacement.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MoneyPlacementTotalObject {
    pub operation: MoneyPlacementKind,
    pub operations_total_count: u32,
    pub operations_count: u32,
    #[serde(with = "money_object")]
    pub operations_sum: Money,
    pub offline_count: u32,
}

/// The scalar inputs of a report besides the counters (CORE-84).
#[derive(Clone, Copy, Debug)]
pub struct ReportHeader {
    pub date_time: LocalDateTime,
    pub shift_number: u32,
    pub open_shift_time: Option<LocalDateTime>,
    /// `Some(now)` for Z, `None` for X.
    pub close_shift_time: Option<LocalDateTime>,
    pub cash_sum: Money,
    pub revenue: Money,
    pub start_shift_non_nullable_sums: [Money; 4],
    pub non_nullable_sums: [Money; 4],
}

impl ReportHeader {
    /// The header of a report taken now on `state` (CORE-84).
    #[must_use]
    pub fn of(state: &KkmState, now: LocalDateTime, is_z: bool) -> ReportHeader {
        ReportHeader {
            date_time: now,
            shift_number: state.fr_shift_number,
            open_shift_time: if state.shift_state == SHIFT_OPEN { state.shift_open_date } else { None },
            close_shift_time: is_z.then_some(now),
            cash_sum: state.cash_sum,
            revenue: state.revenue,
            start_shift_non_nullable_sums: state.start_shift_non_nullable_sums,
            non_nullable_sums: state.non_nullable_sums,
        }
    }
}

fn ops_list(counters: &[OpCounter; 4]) -> Vec<OperationObject> {
    Operation::ALL
        .iter()
        .filter(|op| counters[op.index()].count > 0 || counters[op.index()].sum > Money::ZERO)
        .map(|op| OperationObject { operation: *op, count: counters[op.index()].count, sum: counters[op.index()].sum })
        .collect()
}

fn non_nullable_list(sums: &[Money; 4]) -> Vec<NonNullableSumObject> {
    Operation::ALL
        .iter()
        .filter(|op| sums[op.index()] > Money::ZERO)
        .map(|op| NonNullableSumObject { operation: *op, sum: sums[op.index()] })
        .collect()
}

/// CORE-84..87: the ReportObject of `header`, `counters` and `totals`; lists in ascending code
/// order with the membership rules of CORE-87.
#[must_use]
pub fn report_body(header: &ReportHeader, counters: &ShiftCounters, totals: &LifetimeCounts) -> ReportObject {
    let clamp = |m: Money| m.max(Money::ZERO);
    ReportObject {
        date_time: header.date_time.object(),
        shift_number: header.shift_number,
        annulled_tickets: AnnulledTickets::default(),
        cash_sum: header.cash_sum,
        revenue: RevenueObject { sum: header.revenue.abs(), is_negative: header.revenue.is_negative() },
        open_shift_time: DateTimeObject::of(header.open_shift_time),
        close_shift_time: DateTimeObject::of(header.close_shift_time),
        checksum: String::new(),
        sections: counters
            .sections
            .iter()
            .map(|s| SectionObject {
                section_code: s.section_code.clone(),
                operations: Operation::ALL
                    .iter()
                    .filter(|op| s.operations[op.index()].count > 0)
                    .map(|op| OperationObject {
                        operation: *op,
                        count: s.operations[op.index()].count,
                        sum: s.operations[op.index()].sum,
                    })
                    .collect(),
            })
            .collect(),
        operations: ops_list(&counters.operations),
        discounts: ops_list(&counters.discounts),
        markups: ops_list(&counters.markups),
        total_result: ops_list(&counters.total_result),
        taxes: counters
            .taxes
            .iter()
            .map(|t| ReportTaxObject {
                percent: t.percent,
                operations: Operation::ALL
                    .iter()
                    .filter(|op| t.operations[op.index()].count > 0)
                    .map(|op| {
                        let e = t.operations[op.index()];
                        // CORE-86: a negative aggregate is emitted as 0.
                        TaxOperationObject {
                            operation: *op,
                            turnover: clamp(e.turnover),
                            turnover_without_tax: clamp(e.turnover_without_tax),
                            sum: clamp(e.sum),
                        }
                    })
                    .collect(),
            })
            .collect(),
        start_shift_non_nullable_sums: non_nullable_list(&header.start_shift_non_nullable_sums),
        ticket_operations: Operation::ALL
            .iter()
            .filter_map(|op| {
                let t = &counters.tickets[op.index()];
                let total = totals.tickets[op.index()];
                (total > 0 || t.count > 0 || t.sum > Money::ZERO || t.offline_count > 0).then(|| TicketOperationObject {
                    operation: *op,
                    tickets_total_count: total,
                    tickets_count: t.count,
                    tickets_sum: t.sum,
                    offline_count: t.offline_count,
                    discount_sum: t.discount_sum,
                    markup_sum: t.markup_sum,
                    change_sum: t.change_sum,
                    payments: PaymentType::ALL
                        .iter()
                        .filter(|p| t.payments[p.slot()].count > 0)
                        .map(|p| TicketPaymentObject {
                            payment: *p,
                            sum: t.payments[p.slot()].sum,
                            count: t.payments[p.slot()].count,
                        })
                        .collect(),
                })
            })
            .collect(),
        money_placements: MoneyPlacementKind::ALL
            .iter()
            .filter_map(|k| {
                let c = counters.money_placements[k.index()];
                let total = totals.money_placements[k.index()];
                (total > 0 || c.count > 0 || c.sum > Money::ZERO || c.offline_count > 0).then_some(MoneyPlacementTotalObject {
                    operation: *k,
                    operations_total_count: total,
                    operations_count: c.count,
                    operations_sum: c.sum,
                    offline_count: c.offline_count,
                })
            })
            .collect(),
        non_nullable_sums: non_nullable_list(&header.non_nullable_sums),
    }
}

/// CORE-88: `total_payments[k]` = Σ over ticket operations of sign(o) × payments of type k.
#[must_use]
pub fn total_payments(report: &ReportObject) -> [Money; 5] {
    let mut totals = [Money::ZERO; 5];
    for op in &report.ticket_operations {
        for payment in &op.payments {
            let signed = payment.sum.checked_mul_int(op.operation.sign()).unwrap_or(Money::ZERO);
            let slot = &mut totals[payment.payment.slot()];
            *slot = slot.checked_add(signed).unwrap_or(*slot);
        }
    }
    totals
}

/// The journal fold behind [`recompute_report`].
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct JournalFold {
    pub counters: ShiftCounters,
    pub totals: LifetimeCounts,
    /// Σ sign(o) × T of the shift's tickets (CORE-74).
    pub revenue: Money,
    /// Σ T per operation of the shift's tickets.
    pub shift_sums: [Money; 4],
}

/// Folds the KKM's journal: counters of the documents of shift `shift_number`, lifetime counts
/// of all documents on top of `baseline` (counts that predate the journal, e.g. adopted from
/// the OFD).
///
/// # Errors
/// 29 on overflow.
pub fn fold_journal(documents: &[Document], shift_number: u32, baseline: LifetimeCounts) -> Result<JournalFold, KzError> {
    let mut fold = JournalFold { totals: baseline, ..JournalFold::default() };
    for doc in documents {
        fold.totals.add(&doc.body)?;
        if doc.fr_shift_number != shift_number {
            continue;
        }
        fold.counters.add(&doc.body)?;
        if let Body::Ticket(t) = &doc.body {
            let signed = t.amounts.total.checked_mul_int(t.operation.sign()).ok_or(KzError::OperationFailed)?;
            fold.revenue = add(fold.revenue, signed)?;
            let slot = &mut fold.shift_sums[t.operation.index()];
            *slot = add(*slot, t.amounts.total)?;
        }
    }
    Ok(fold)
}

/// Rebuilds the report body of the current shift of `state` from the journal alone (plus the
/// drawer, the shift's opening time and its start-of-shift non-nullable sums): counters,
/// lifetime counts, revenue and current non-nullable sums all come from `documents`. Equal to
/// the counters-based body when the persisted counters are consistent (§9 check).
///
/// # Errors
/// 29 on overflow.
pub fn recompute_report(
    state: &KkmState,
    documents: &[Document],
    baseline: LifetimeCounts,
    now: LocalDateTime,
    is_z: bool,
) -> Result<ReportObject, KzError> {
    let fold = fold_journal(documents, state.fr_shift_number, baseline)?;
    let mut header = ReportHeader::of(state, now, is_z);
    header.revenue = fold.revenue;
    for op in Operation::ALL {
        header.non_nullable_sums[op.index()] = add(state.start_shift_non_nullable_sums[op.index()], fold.shift_sums[op.index()])?;
    }
    Ok(report_body(&header, &fold.counters, &fold.totals))
}

/// §9 check for the engine: the report built from the persisted counters equals the one
/// recomputed from the journal (`documents`: every journaled document of the KKM, in order).
///
/// # Errors
/// 29 on overflow.
pub fn counters_match_journal(
    state: &KkmState,
    documents: &[Document],
    baseline: LifetimeCounts,
    now: LocalDateTime,
) -> Result<bool, KzError> {
    let from_counters = report_body(&ReportHeader::of(state, now, false), &state.counters, &state.totals);
    Ok(recompute_report(state, documents, baseline, now, false)? == from_counters)
}
