//! Money placements (§7.12, CORE-78): checks and the MoneyPlacementObject body (§6.7).

use kassa_money::Money;
use serde::{Deserialize, Serialize};

use super::KzError;
use super::command::MoneyPlacementRequest;
use super::enums::MoneyPlacementKind;
use super::ticket::OperatorObject;
use super::time::DateTimeObject;
use super::wire::money_object;

/// MoneyPlacementObject (§6.7): note `datetime`, not `date_time` (I-11).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MoneyPlacementObject {
    pub datetime: DateTimeObject,
    pub operation: MoneyPlacementKind,
    #[serde(with = "money_object")]
    pub sum: Money,
    /// Accepted in autonomous mode (I-20, CORE-99).
    pub is_offline: bool,
    pub fr_shift_number: u32,
    /// = `shift_document_number` of this document.
    pub printed_document_number: u64,
    pub operator: OperatorObject,
}

/// CORE-78 request checks in order: `operation` not 0/1 → 2; `sum` ≤ 0 → 2; a withdrawal
/// above `cash_sum` → 58 (the drawer never goes negative).
///
/// # Errors
/// 2 or 58.
pub fn check(request: &MoneyPlacementRequest, cash_sum: Money) -> Result<(MoneyPlacementKind, Money), KzError> {
    let kind = MoneyPlacementKind::from_code(request.operation).ok_or(KzError::InvalidFields)?;
    if request.sum <= Money::ZERO {
        return Err(KzError::InvalidFields);
    }
    if kind == MoneyPlacementKind::Withdrawal && request.sum > cash_sum {
        return Err(KzError::NotEnoughCash);
    }
    Ok((kind, request.sum))
}
