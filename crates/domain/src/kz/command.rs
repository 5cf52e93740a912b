//! Commands of the KZ register profile: the parsed request models of TradeOperation (§6.5, §7.11),
//! MoneyPlacement (§7.12) and ZXReport (§7.13), plus the caller and configuration passed in.
//!
//! The structs carry the exact wire names and deserialize from a well-formed request body
//! (money rounded per CORE-22, quantity per CORE-26, percent per CORE-27, lists per CORE-33).
//! Enumerations stay raw integers so that the out-of-table codes of CORE-35 are refused by
//! [`crate::kz::prepare`] in the order of CORE-68. Case-insensitive key matching (CORE-7), GET
//! coercion (CORE-5) and the 2/73 split of CORE-6 are the cash-core face's job.

use kassa_money::{Money, Quantity};
use serde::{Deserialize, Serialize};

use super::time::Millis;
use super::wire::{self, KeyValuePair};

/// One fiscal command on one KKM.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "command", rename_all = "snake_case")]
#[allow(clippy::large_enum_variant, reason = "a command lives for one request; boxing buys nothing")]
pub enum Command {
    /// TradeOperation (§7.11).
    Trade(TradeRequest),
    /// MoneyPlacement (§7.12).
    MoneyPlacement(MoneyPlacementRequest),
    /// ZXReport (§7.13).
    Report(ReportRequest),
}

/// The calling operator (the cashier stamped on documents, CORE-75).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Caller {
    /// Operator `ID`.
    pub code: u32,
    /// Operator name.
    pub name: String,
}

/// Per-KKM configuration the fiscal logic needs (from the engine's KKM record and OFD list).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct KkmConfig {
    /// Consumer site of the KKM's OFD, e.g. `http://consumer.oofd.kz` (CORE-42, CORE-100).
    pub consumer_address: String,
    /// Autonomous-mode limit (CORE-97, default 72 h).
    pub offline_limit: Millis,
    /// Maximum shift length before an automatic Z (CORE-64, 24 h).
    pub shift_limit: Millis,
}

impl KkmConfig {
    /// The limits of the spec (72 h autonomous, 24 h shift) with the given consumer address.
    #[must_use]
    pub fn new(consumer_address: impl Into<String>) -> KkmConfig {
        KkmConfig { consumer_address: consumer_address.into(), offline_limit: Millis::hours(72), shift_limit: Millis::hours(24) }
    }
}

/// TradeOperation request (§7.11) after JSON parsing.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TradeRequest {
    /// OperationTypeEnum code (0..3; checked in CORE-68 B1).
    pub operation: i64,
    /// `{"type": n}`; absent → 0.
    #[serde(default)]
    pub domain: Option<DomainRequest>,
    #[serde(default, deserialize_with = "wire::list")]
    pub items: Vec<ItemRequest>,
    #[serde(default, deserialize_with = "wire::list")]
    pub payments: Vec<PaymentRequest>,
    /// Ticket-level taxes.
    #[serde(default, deserialize_with = "wire::list")]
    pub taxes: Vec<TaxRequest>,
    #[serde(default)]
    pub amounts: Option<AmountsRequest>,
    #[serde(default, deserialize_with = "wire::string_or_null")]
    pub customer_iin_or_bin: String,
    #[serde(default, deserialize_with = "wire::list")]
    pub auxiliary: Vec<KeyValuePair>,
}

/// `domain` (CORE-37: the sub-objects are accepted and ignored).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DomainRequest {
    #[serde(default, rename = "type")]
    pub kind: i64,
}

/// Item (§6.5).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ItemRequest {
    /// ItemTypeEnum code (1, 3, 5; checked in B3).
    #[serde(rename = "type")]
    pub kind: i64,
    #[serde(default)]
    pub commodity: Option<CommodityRequest>,
    #[serde(default)]
    pub markup: Option<ModifierRequest>,
    #[serde(default)]
    pub discount: Option<ModifierRequest>,
}

/// Commodity (§6.5).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CommodityRequest {
    #[serde(default, deserialize_with = "wire::string_or_null")]
    pub name: String,
    #[serde(default, deserialize_with = "wire::string_or_null")]
    pub section_code: String,
    /// Rounded half away from zero to thousandths (CORE-26).
    #[serde(with = "kassa_money::quantity::serde_rounded")]
    pub quantity: Quantity,
    #[serde(deserialize_with = "wire::rounded_money")]
    pub price: Money,
    #[serde(deserialize_with = "wire::rounded_money")]
    pub sum: Money,
    #[serde(default, deserialize_with = "wire::list")]
    pub taxes: Vec<TaxRequest>,
    #[serde(default, deserialize_with = "wire::string_or_null")]
    pub excise_stamp: String,
    #[serde(default, deserialize_with = "wire::string_or_null")]
    pub physical_label: String,
    #[serde(default, deserialize_with = "wire::string_or_null")]
    pub product_id: String,
    #[serde(default, deserialize_with = "wire::string_or_null")]
    pub barcode: String,
    #[serde(default, deserialize_with = "wire::string_or_null")]
    pub measure_unit_code: String,
    #[serde(default, deserialize_with = "wire::list")]
    pub auxiliary: Vec<KeyValuePair>,
}

/// Tax (§6.5).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TaxRequest {
    /// TaxationTypeEnum code (0, 100..103; else 60).
    #[serde(default)]
    pub taxation_type: i64,
    /// Thousandths of a percent, truncated (CORE-27).
    #[serde(deserialize_with = "wire::percent", serialize_with = "wire::percent_out")]
    pub percent: i64,
    #[serde(deserialize_with = "wire::rounded_money")]
    pub sum: Money,
    #[serde(default)]
    pub is_in_total_sum: bool,
}

/// Payment (§6.5).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PaymentRequest {
    /// PaymentTypeEnum code (0, 1, 4; else 2).
    #[serde(rename = "type")]
    pub kind: i64,
    #[serde(deserialize_with = "wire::rounded_money")]
    pub sum: Money,
}

/// Modifier (discount or markup, §6.5). A `sum` of 0 means "no modifier" (CORE-69).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ModifierRequest {
    #[serde(default, deserialize_with = "wire::string_or_null")]
    pub name: String,
    #[serde(deserialize_with = "wire::rounded_money")]
    pub sum: Money,
    #[serde(default, deserialize_with = "wire::list")]
    pub taxes: Vec<TaxRequest>,
    #[serde(default, deserialize_with = "wire::list")]
    pub auxiliary: Vec<KeyValuePair>,
}

/// Amounts (§6.5). `total` and `change` are ignored and not validated (CORE-22).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AmountsRequest {
    #[serde(default, deserialize_with = "wire::rounded_money_opt")]
    pub taken: Option<Money>,
    #[serde(default)]
    pub markup: Option<ModifierRequest>,
    #[serde(default)]
    pub discount: Option<ModifierRequest>,
}

/// MoneyPlacement request (§7.12).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct MoneyPlacementRequest {
    /// MoneyPlacementEnum code (0 deposit, 1 withdrawal; else 2).
    pub operation: i64,
    #[serde(deserialize_with = "wire::rounded_money")]
    pub sum: Money,
}

/// ZXReport request (§7.13).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReportRequest {
    /// ReportTypeEnum code (0 Z, 1 X; else 34).
    pub report_type: i64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seed_trade_request_parses() {
        // §7.11 example request (unknown fields such as kkm_ofd_id are ignored, CORE-7).
        let text = include_str!("testdata/trade_request.json");
        let request: TradeRequest = serde_json::from_str(text).unwrap();
        assert_eq!(request.operation, 2);
        assert_eq!(request.items.len(), 1);
        let commodity = request.items[0].commodity.as_ref().unwrap();
        assert_eq!(commodity.quantity.thousandths(), 2000); // CORE-26: 2 → 2000
        assert_eq!(commodity.price.minor(), 100_000);
        assert_eq!(request.taxes[0].percent, 12_000); // CORE-27: 12 → 12000
        assert_eq!(request.taxes[0].sum.minor(), 18_750); // CORE-22: 187.5 → 18 750
        assert_eq!(request.amounts.as_ref().unwrap().discount.as_ref().unwrap().sum.minor(), 20_000);
        assert_eq!(request.customer_iin_or_bin, "123456789012");
        // The tagged command form keeps exact numbers through serde's buffering.
        let mut tagged: serde_json::Value = serde_json::from_str(text).unwrap();
        tagged["command"] = serde_json::json!("trade");
        let command: Command = serde_json::from_value(tagged).unwrap();
        assert_eq!(command, Command::Trade(request.clone()));
        let back: Command = serde_json::from_value(serde_json::to_value(&command).unwrap()).unwrap();
        assert_eq!(back, command);
    }
}
