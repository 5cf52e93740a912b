//! Tickets: the structural checks of TradeOperation (CORE-68..70), the amount computation of
//! step E (CORE-72, CORE-73) and the TicketObject body (§6.6, CORE-75).

use kassa_money::Money;
use serde::{Deserialize, Serialize};

use super::KzError;
use super::command::{CommodityRequest, ModifierRequest, TaxRequest, TradeRequest};
use super::enums::{DomainType, ItemType, Operation, PaymentType, TAXATION_TYPES};
use super::time::DateTimeObject;
use super::wire::{KeyValuePair, key_values, money_object};

/// TicketObject (§6.6): `body` of a TradeOperation.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TicketObject {
    pub operation: Operation,
    pub date_time: DateTimeObject,
    pub operator: OperatorObject,
    pub domain: DomainObject,
    pub amounts: AmountsObject,
    pub extension_options: ExtensionOptions,
    /// Autonomous ticket number; 0 for tickets accepted online (CORE-98).
    pub offline_ticket_number: u32,
    /// The fiscal id as a string (I-13).
    pub printed_document_number_old: String,
    /// Equal to `qr_code` (CORE-100).
    pub printed_ticket: String,
    pub fr_shift_number: u32,
    pub shift_document_number: u32,
    /// Always 0.
    pub printed_document_number: u64,
    #[serde(rename = "itemsList")]
    pub items: Vec<ItemObject>,
    #[serde(rename = "paymentsList")]
    pub payments: Vec<PaymentObject>,
    #[serde(rename = "taxesList")]
    pub taxes: Vec<TaxObject>,
    #[serde(rename = "ad_infosList")]
    pub ad_infos: Vec<super::state::AdInfo>,
}

/// Operator (cashier) of a body.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct OperatorObject {
    pub code: u32,
    pub name: String,
}

/// Domain of a body: `{"type": n}` only (CORE-37).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DomainObject {
    #[serde(rename = "type")]
    pub kind: DomainType,
}

/// Amounts (output).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AmountsObject {
    #[serde(with = "money_object")]
    pub total: Money,
    #[serde(with = "money_object")]
    pub taken: Money,
    #[serde(with = "money_object")]
    pub change: Money,
    pub markup: ModifierObject,
    pub discount: ModifierObject,
}

/// ExtensionOptions (output).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExtensionOptions {
    pub customer_email: String,
    pub customer_phone: String,
    pub customer_iin_or_bin: String,
    #[serde(rename = "auxiliaryList")]
    pub auxiliary: Vec<KeyValuePair>,
}

/// Item (output): only the member matching `type` is present.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ItemObject {
    #[serde(rename = "type")]
    pub kind: ItemType,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub commodity: Option<CommodityObject>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub markup: Option<ModifierObject>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub discount: Option<ModifierObject>,
}

/// Commodity (output).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CommodityObject {
    /// Always 0 (E).
    pub code: u32,
    pub name: String,
    pub section_code: String,
    /// Thousandths (CORE-26).
    pub quantity: u32,
    #[serde(with = "money_object")]
    pub price: Money,
    #[serde(with = "money_object")]
    pub sum: Money,
    pub excise_stamp: String,
    pub physical_label: String,
    pub product_id: String,
    pub barcode: String,
    pub measure_unit_code: String,
    #[serde(rename = "taxesList")]
    pub taxes: Vec<TaxObject>,
    #[serde(rename = "auxiliaryList")]
    pub auxiliary: Vec<KeyValuePair>,
}

/// Modifier (output); the zero modifier stands for "none".
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ModifierObject {
    pub name: String,
    #[serde(with = "money_object")]
    pub sum: Money,
    #[serde(rename = "taxesList")]
    pub taxes: Vec<TaxObject>,
    #[serde(rename = "auxiliaryList")]
    pub auxiliary: Vec<KeyValuePair>,
}

/// Tax (output): `taxation_type` is not echoed (I-29).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TaxObject {
    /// Thousandths of a percent (CORE-27).
    pub percent: u32,
    #[serde(with = "money_object")]
    pub sum: Money,
    pub is_in_total_sum: bool,
}

/// Payment (output): the cash entry is net of change (CORE-73).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PaymentObject {
    #[serde(rename = "type")]
    pub kind: PaymentType,
    #[serde(with = "money_object")]
    pub sum: Money,
}

/// A commodity after CORE-69, with its effective item modifiers (sum > 0).
#[derive(Clone, Debug)]
struct Line {
    commodity: CommodityRequest,
    quantity: u32,
    markup: Option<ModifierRequest>,
    discount: Option<ModifierRequest>,
}

/// A TradeOperation request that passed the structural checks of step B.
#[derive(Clone, Debug)]
pub struct CheckedTrade {
    pub operation: Operation,
    domain: DomainType,
    lines: Vec<Line>,
    payments: Vec<(PaymentType, Money)>,
    taxes: Vec<TaxRequest>,
    markup: Option<ModifierRequest>,
    discount: Option<ModifierRequest>,
    taken: Money,
    pub customer_iin_or_bin: String,
    auxiliary: Vec<KeyValuePair>,
}

/// The amounts of step E (CORE-72), all in cents.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct TicketAmounts {
    /// T: the ticket total.
    pub total: Money,
    /// C: cash handed over.
    pub taken: Money,
    /// P − T.
    pub change: Money,
    /// C_net: cash that enters (or leaves) the drawer.
    pub cash_net: Money,
}

/// CORE-70: one tax list.
fn check_taxes(taxes: &[TaxRequest]) -> Result<(), KzError> {
    for (i, tax) in taxes.iter().enumerate() {
        if !TAXATION_TYPES.contains(&tax.taxation_type) {
            return Err(KzError::TaxationTypeIsIncorrect);
        }
        if tax.percent < 0 || u32::try_from(tax.percent).is_err() {
            return Err(KzError::InvalidFields);
        }
        if tax.sum.is_negative() {
            return Err(KzError::MoneyValueIsNegative);
        }
        if taxes[..i].iter().any(|earlier| earlier.percent == tax.percent) {
            return Err(KzError::TaxPercentageIsAlreadyPresent);
        }
    }
    Ok(())
}

/// B6/B9: a pair of modifiers (63, 64, 65, then their taxes).
fn check_modifiers(markup: Option<&ModifierRequest>, discount: Option<&ModifierRequest>) -> Result<(), KzError> {
    let m = markup.map_or(Money::ZERO, |m| m.sum);
    let d = discount.map_or(Money::ZERO, |d| d.sum);
    if m.is_negative() {
        return Err(KzError::MarkupSumIsNegative);
    }
    if d.is_negative() {
        return Err(KzError::DiscountSumIsNegative);
    }
    if m > Money::ZERO && d > Money::ZERO {
        return Err(KzError::DiscountAndMarkupAreMutuallyExclusive);
    }
    for modifier in [markup, discount].into_iter().flatten() {
        check_taxes(&modifier.taxes)?;
    }
    Ok(())
}

/// A modifier counts only with a positive sum (CORE-69).
fn effective(modifier: Option<ModifierRequest>) -> Option<ModifierRequest> {
    modifier.filter(|m| m.sum > Money::ZERO)
}

/// CORE-68 step B (B1..B9) with CORE-69 and CORE-70, in the specified order.
///
/// # Errors
/// The first failing check's [`KzError`].
pub fn check(request: &TradeRequest) -> Result<CheckedTrade, KzError> {
    // B1 (and CORE-35 for `domain.type`).
    let operation = Operation::from_code(request.operation).ok_or(KzError::InvalidFields)?;
    let domain = DomainType::from_code(request.domain.as_ref().map_or(0, |d| d.kind)).ok_or(KzError::InvalidFields)?;
    // B2
    if request.items.is_empty() {
        return Err(KzError::ItemsListIsEmpty);
    }
    // B3
    let kinds: Vec<ItemType> = request
        .items
        .iter()
        .map(|item| ItemType::from_code(item.kind).ok_or(KzError::UnknownItemType))
        .collect::<Result<_, _>>()?;
    // B4
    if kinds[0] != ItemType::Commodity {
        return Err(KzError::ItemCommodityUndefined);
    }
    // B5 / CORE-69: separate modifier items attach to the nearest preceding commodity.
    let mut groups: Vec<(Option<CommodityRequest>, Option<ModifierRequest>, Option<ModifierRequest>)> = Vec::new();
    for (item, kind) in request.items.iter().zip(&kinds) {
        match kind {
            ItemType::Commodity => groups.push((item.commodity.clone(), item.markup.clone(), item.discount.clone())),
            ItemType::Markup => {
                let markup = item.markup.clone().ok_or(KzError::ItemMarkupUndefined)?;
                if let Some(last) = groups.last_mut() {
                    last.1 = Some(markup);
                }
            }
            ItemType::Discount => {
                let discount = item.discount.clone().ok_or(KzError::ItemDiscountUndefined)?;
                if let Some(last) = groups.last_mut() {
                    last.2 = Some(discount);
                }
            }
        }
    }
    // B6
    let mut lines = Vec::with_capacity(groups.len());
    for (commodity, markup, discount) in groups {
        let commodity = commodity.filter(|c| !c.name.is_empty()).ok_or(KzError::ItemCommodityUndefined)?;
        if commodity.measure_unit_code.is_empty() {
            return Err(KzError::MeasureUnitCodeIsEmpty);
        }
        if commodity.section_code.is_empty() {
            return Err(KzError::SectionCodeIsEmpty);
        }
        // CORE-26: ≤ 0 or rounded to 0 → 47; the output field is a uint32.
        let quantity =
            u32::try_from(commodity.quantity.thousandths()).ok().filter(|q| *q > 0).ok_or(KzError::ItemQuantityIsIncorrect)?;
        if commodity.price <= Money::ZERO {
            return Err(KzError::ItemPriceIsIncorrect);
        }
        if commodity.sum <= Money::ZERO {
            return Err(KzError::ItemSumIsIncorrect);
        }
        check_taxes(&commodity.taxes)?;
        check_modifiers(markup.as_ref(), discount.as_ref())?;
        lines.push(Line { commodity, quantity, markup, discount });
    }
    // B7
    let mut payments: Vec<(PaymentType, Money)> = Vec::with_capacity(request.payments.len());
    for payment in &request.payments {
        let kind = PaymentType::from_code(payment.kind).ok_or(KzError::InvalidFields)?;
        if payments.iter().any(|(seen, _)| *seen == kind) {
            return Err(KzError::InvalidFields);
        }
        if payment.sum.is_negative() {
            return Err(KzError::MoneyValueIsNegative);
        }
        payments.push((kind, payment.sum));
    }
    // B8
    check_taxes(&request.taxes)?;
    let item_taxes = lines.iter().any(|line| {
        !line.commodity.taxes.is_empty() || [&line.markup, &line.discount].into_iter().flatten().any(|m| !m.taxes.is_empty())
    });
    if !request.taxes.is_empty() && item_taxes {
        return Err(KzError::ItemsTaxesAndTicketTaxesAreMutuallyExclusive);
    }
    // B9
    let amounts = request.amounts.clone().unwrap_or_default();
    let (ticket_markup, ticket_discount) = (amounts.markup, amounts.discount);
    if ticket_discount.as_ref().is_some_and(|d| d.sum.is_negative()) {
        return Err(KzError::DiscountSumIsNegative);
    }
    if ticket_markup.as_ref().is_some_and(|m| m.sum.is_negative()) {
        return Err(KzError::MarkupSumIsNegative);
    }
    if ticket_discount.as_ref().is_some_and(|d| d.sum > Money::ZERO)
        && ticket_markup.as_ref().is_some_and(|m| m.sum > Money::ZERO)
    {
        return Err(KzError::DiscountAndMarkupAreMutuallyExclusive);
    }
    let taken = amounts.taken.unwrap_or(Money::ZERO);
    if taken.is_negative() {
        return Err(KzError::MoneyValueIsNegative);
    }
    check_modifiers(ticket_markup.as_ref(), ticket_discount.as_ref())?;

    let lines = lines
        .into_iter()
        .map(|line| Line { markup: effective(line.markup), discount: effective(line.discount), ..line })
        .collect();
    Ok(CheckedTrade {
        operation,
        domain,
        lines,
        payments,
        taxes: request.taxes.clone(),
        markup: effective(ticket_markup),
        discount: effective(ticket_discount),
        taken,
        customer_iin_or_bin: request.customer_iin_or_bin.clone(),
        auxiliary: request.auxiliary.clone(),
    })
}

/// Overflow-checked sum of untrusted amounts; an overflow is a malformed request (2).
fn total(amounts: impl IntoIterator<Item = Money>) -> Result<Money, KzError> {
    Money::checked_sum(amounts).ok_or(KzError::InvalidFields)
}

impl CheckedTrade {
    /// CORE-72 step E against the drawer's `cash_sum`.
    ///
    /// # Errors
    /// 59, 52, 54, 55, 56, 57, 58 as specified (2 on arithmetic overflow).
    pub fn amounts(&self, cash_sum: Money) -> Result<TicketAmounts, KzError> {
        let modifier = |m: &Option<ModifierRequest>| m.as_ref().map_or(Money::ZERO, |m| m.sum);
        for line in &self.lines {
            let d = modifier(&line.discount);
            if d > Money::ZERO && d >= line.commodity.sum {
                return Err(KzError::DiscountSumMustBeLessThanTotal);
            }
        }
        // 1.
        let s = total(self.lines.iter().map(|l| l.commodity.sum))?;
        if s <= Money::ZERO {
            return Err(KzError::AmountsTotalIsIncorrect);
        }
        // 2.
        let d = total(self.lines.iter().map(|l| modifier(&l.discount)).chain([modifier(&self.discount)]))?;
        let m = total(self.lines.iter().map(|l| modifier(&l.markup)).chain([modifier(&self.markup)]))?;
        if d > Money::ZERO && d >= s {
            return Err(KzError::DiscountSumMustBeLessThanTotal);
        }
        // 3.
        let t = s.checked_sub(d).and_then(|x| x.checked_add(m)).ok_or(KzError::InvalidFields)?;
        if t <= Money::ZERO {
            return Err(KzError::SumToPayIsIncorrect);
        }
        // 4.
        let n = total(self.payments.iter().filter(|(k, _)| *k != PaymentType::Cash).map(|(_, sum)| *sum))?;
        if n > t {
            return Err(KzError::CardSumIsGreaterThanTotal);
        }
        // 5.
        let cash = self.payments.iter().find(|(k, _)| *k == PaymentType::Cash).map_or(Money::ZERO, |(_, sum)| *sum);
        let c = self.taken.max(cash);
        // 6.
        let p = total([c, n])?;
        if p <= Money::ZERO {
            return Err(KzError::PaidSumIsIncorrect);
        }
        if p < t {
            return Err(KzError::PaidSumIsLessThanTotal);
        }
        // 7. C_net = C − (P − T) = T − N ≥ 0.
        let change = p - t;
        let cash_net = c - change;
        // 8.
        if self.operation.sign() < 0 && cash_sum < cash_net {
            return Err(KzError::NotEnoughCash);
        }
        Ok(TicketAmounts { total: t, taken: c, change, cash_net })
    }

    /// CORE-75: the ticket body before the OFD outcome (fiscal id, QR and offline number are
    /// filled in by [`crate::kz::finish`]).
    #[must_use]
    pub fn body(
        &self,
        amounts: TicketAmounts,
        operator: OperatorObject,
        date_time: DateTimeObject,
        numbers: (u32, u32),
    ) -> TicketObject {
        let mut items = Vec::with_capacity(self.lines.len());
        for line in &self.lines {
            let c = &line.commodity;
            items.push(ItemObject {
                kind: ItemType::Commodity,
                commodity: Some(CommodityObject {
                    code: 0,
                    name: c.name.clone(),
                    section_code: c.section_code.clone(),
                    quantity: line.quantity,
                    price: c.price,
                    sum: c.sum,
                    excise_stamp: c.excise_stamp.clone(),
                    physical_label: c.physical_label.clone(),
                    product_id: c.product_id.clone(),
                    barcode: c.barcode.clone(),
                    measure_unit_code: c.measure_unit_code.clone(),
                    taxes: tax_objects(&c.taxes),
                    auxiliary: key_values(&c.auxiliary),
                }),
                markup: None,
                discount: None,
            });
            if let Some(markup) = &line.markup {
                items.push(ItemObject {
                    kind: ItemType::Markup,
                    commodity: None,
                    markup: Some(modifier_object(Some(markup))),
                    discount: None,
                });
            }
            if let Some(discount) = &line.discount {
                items.push(ItemObject {
                    kind: ItemType::Discount,
                    commodity: None,
                    markup: None,
                    discount: Some(modifier_object(Some(discount))),
                });
            }
        }
        let mut payments: Vec<PaymentObject> = self
            .payments
            .iter()
            .map(|(kind, sum)| PaymentObject {
                kind: *kind,
                sum: if *kind == PaymentType::Cash { amounts.cash_net } else { *sum },
            })
            .collect();
        if !self.payments.iter().any(|(k, _)| *k == PaymentType::Cash) && amounts.cash_net > Money::ZERO {
            payments.push(PaymentObject { kind: PaymentType::Cash, sum: amounts.cash_net });
        }
        TicketObject {
            operation: self.operation,
            date_time,
            operator,
            domain: DomainObject { kind: self.domain },
            amounts: AmountsObject {
                total: amounts.total,
                taken: amounts.taken,
                change: amounts.change,
                markup: modifier_object(self.markup.as_ref()),
                discount: modifier_object(self.discount.as_ref()),
            },
            extension_options: ExtensionOptions {
                customer_email: String::new(),
                customer_phone: String::new(),
                customer_iin_or_bin: self.customer_iin_or_bin.clone(),
                auxiliary: key_values(&self.auxiliary),
            },
            offline_ticket_number: 0,
            printed_document_number_old: String::new(),
            printed_ticket: String::new(),
            fr_shift_number: numbers.0,
            shift_document_number: numbers.1,
            printed_document_number: 0,
            items,
            payments,
            taxes: tax_objects(&self.taxes),
            ad_infos: Vec::new(),
        }
    }
}

fn tax_objects(taxes: &[TaxRequest]) -> Vec<TaxObject> {
    taxes
        .iter()
        .map(|t| TaxObject { percent: u32::try_from(t.percent).unwrap_or(0), sum: t.sum, is_in_total_sum: t.is_in_total_sum })
        .collect()
}

fn modifier_object(modifier: Option<&ModifierRequest>) -> ModifierObject {
    modifier.map_or_else(ModifierObject::default, |m| ModifierObject {
        name: m.name.clone(),
        sum: m.sum,
        taxes: tax_objects(&m.taxes),
        auxiliary: key_values(&m.auxiliary),
    })
}

impl TicketObject {
    /// Whether the ticket was accepted in autonomous mode (CORE-98: only those carry a number).
    #[must_use]
    pub fn is_offline(&self) -> bool {
        self.offline_ticket_number != 0
    }
}
