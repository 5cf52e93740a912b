//! [`KzError`]: every refusal the KZ fiscal logic can raise, with the cash-core code and text
//! constant of cash-core.md §11. Faces map the variant to their own envelope (the cash-core face
//! sends `{"response_code": code(), "response_data": text()}`, CORE-9).

/// A refusal of the KZ register profile. Each variant is one row of cash-core.md §11.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, thiserror::Error)]
pub enum KzError {
    /// 2: request fields filled incorrectly (CORE-35, CORE-68 B1/B7, CORE-70, CORE-78).
    #[error("invalid_fields")]
    InvalidFields,
    /// 8: the OFD's registration reply has no usable data (CORE-49).
    #[error("kkm_reginfo_request_error")]
    RegInfoRequestError,
    /// 9: the serial number lacks the OFD's vendor-id prefix (CORE-49).
    #[error("invalid_kkm_vendor_id")]
    InvalidKkmVendorId,
    /// 18: autonomous for too long (CORE-97).
    #[error("kkm_in_offline_mode_too_long")]
    OfflineTooLong,
    /// 28: the OFD answer could not be decoded (CORE-94 Undecodable).
    #[error("protobuf_deserialization_error")]
    OfdUndecodable,
    /// 29: unexpected failure inside a fiscal operation (counter overflow, CORE-101).
    #[error("operation_failed")]
    OperationFailed,
    /// 34: `report_type` not 0/1.
    #[error("invalid_report_type")]
    InvalidReportType,
    /// 36: the clock is behind the latest journal record (CORE-32).
    #[error("invalid_local_date")]
    InvalidLocalDate,
    /// 45: no items (CORE-68 B2).
    #[error("items_list_is_empty")]
    ItemsListIsEmpty,
    /// 46: commodity missing (B4, B6).
    #[error("item_commodity_undefined")]
    ItemCommodityUndefined,
    /// 47: quantity ≤ 0 or rounding to 0 (CORE-26).
    #[error("item_quantity_is_incorrect")]
    ItemQuantityIsIncorrect,
    /// 48: type 5 item without `discount` (CORE-69).
    #[error("item_discount_undefined")]
    ItemDiscountUndefined,
    /// 49: type 3 item without `markup` (CORE-69).
    #[error("item_markup_undefined")]
    ItemMarkupUndefined,
    /// 50: item type not 1/3/5 (B3).
    #[error("unknown_item_type")]
    UnknownItemType,
    /// 52: S ≤ 0 (CORE-72 1).
    #[error("amounts_total_is_incorrect")]
    AmountsTotalIsIncorrect,
    /// 53: negative money (CORE-23).
    #[error("money_value_is_negative")]
    MoneyValueIsNegative,
    /// 54: T ≤ 0 (CORE-72 3).
    #[error("sum_to_pay_is_incorrect")]
    SumToPayIsIncorrect,
    /// 55: N > T (CORE-72 4).
    #[error("card_sum_is_greater_than_total")]
    CardSumIsGreaterThanTotal,
    /// 56: P ≤ 0 (CORE-72 6).
    #[error("paid_sum_is_incorrect")]
    PaidSumIsIncorrect,
    /// 57: P < T (CORE-72 6).
    #[error("paid_sum_is_less_than_total")]
    PaidSumIsLessThanTotal,
    /// 58: the drawer would go negative (CORE-72 8, CORE-78).
    #[error("not_enough_cash")]
    NotEnoughCash,
    /// 59: discount ≥ total (CORE-72).
    #[error("discount_sum_must_be_less_than_total")]
    DiscountSumMustBeLessThanTotal,
    /// 60: taxation type outside {0, 100..103} (CORE-70).
    #[error("taxation_type_is_incorrect")]
    TaxationTypeIsIncorrect,
    /// 61: the OFD does not know the KKM (CORE-94 UnknownKkm).
    #[error("invalid_kkm_ofd_id")]
    InvalidKkmOfdId,
    /// 62: the OFD blocked the KKM (CORE-94 Blocked).
    #[error("kkm_is_blocked")]
    KkmIsBlocked,
    /// 63: negative discount (B6, B9).
    #[error("discount_sum_is_negative")]
    DiscountSumIsNegative,
    /// 64: negative markup (B6, B9).
    #[error("markup_sum_is_negative")]
    MarkupSumIsNegative,
    /// 65: discount and markup together (B6, B9).
    #[error("discount_and_markup_are_mutually_exclusive")]
    DiscountAndMarkupAreMutuallyExclusive,
    /// 76: the shift is open (CORE-51, DeleteKKM precondition).
    #[error("kkm_shift_is_not_closed")]
    KkmShiftIsNotClosed,
    /// 77: customer IIN/BIN equals the seller's (CORE-71, CORE-94).
    #[error("same_taxpayer_and_customer")]
    SameTaxpayerAndCustomer,
    /// 81: empty unit-of-measure code (B6).
    #[error("measure_unit_code_is_empty")]
    MeasureUnitCodeIsEmpty,
    /// 82: empty section code (B6).
    #[error("section_code_is_empty")]
    SectionCodeIsEmpty,
    /// 84: the OFD rejected the document (CORE-94 Rejected).
    #[error("invalid_ofd_response")]
    InvalidOfdResponse,
    /// 88: item taxes and ticket taxes together (B8).
    #[error("items_taxes_and_ticket_taxes_are_mutually_exclusive")]
    ItemsTaxesAndTicketTaxesAreMutuallyExclusive,
    /// 89: a percent twice in one tax list (CORE-70).
    #[error("tax_percentage_is_already_present")]
    TaxPercentageIsAlreadyPresent,
    /// 94: price ≤ 0 (B6).
    #[error("item_price_is_incorrect")]
    ItemPriceIsIncorrect,
    /// 95: commodity sum ≤ 0 (B6).
    #[error("item_sum_is_incorrect")]
    ItemSumIsIncorrect,
}

impl KzError {
    /// Every variant, for exhaustive table tests.
    pub const ALL: [KzError; 37] = [
        KzError::InvalidFields,
        KzError::RegInfoRequestError,
        KzError::InvalidKkmVendorId,
        KzError::OfflineTooLong,
        KzError::OfdUndecodable,
        KzError::OperationFailed,
        KzError::InvalidReportType,
        KzError::InvalidLocalDate,
        KzError::ItemsListIsEmpty,
        KzError::ItemCommodityUndefined,
        KzError::ItemQuantityIsIncorrect,
        KzError::ItemDiscountUndefined,
        KzError::ItemMarkupUndefined,
        KzError::UnknownItemType,
        KzError::AmountsTotalIsIncorrect,
        KzError::MoneyValueIsNegative,
        KzError::SumToPayIsIncorrect,
        KzError::CardSumIsGreaterThanTotal,
        KzError::PaidSumIsIncorrect,
        KzError::PaidSumIsLessThanTotal,
        KzError::NotEnoughCash,
        KzError::DiscountSumMustBeLessThanTotal,
        KzError::TaxationTypeIsIncorrect,
        KzError::InvalidKkmOfdId,
        KzError::KkmIsBlocked,
        KzError::DiscountSumIsNegative,
        KzError::MarkupSumIsNegative,
        KzError::DiscountAndMarkupAreMutuallyExclusive,
        KzError::KkmShiftIsNotClosed,
        KzError::SameTaxpayerAndCustomer,
        KzError::MeasureUnitCodeIsEmpty,
        KzError::SectionCodeIsEmpty,
        KzError::InvalidOfdResponse,
        KzError::ItemsTaxesAndTicketTaxesAreMutuallyExclusive,
        KzError::TaxPercentageIsAlreadyPresent,
        KzError::ItemPriceIsIncorrect,
        KzError::ItemSumIsIncorrect,
    ];

    /// The cash-core `response_code` (§11).
    #[must_use]
    pub const fn code(self) -> u32 {
        match self {
            KzError::InvalidFields => 2,
            KzError::RegInfoRequestError => 8,
            KzError::InvalidKkmVendorId => 9,
            KzError::OfflineTooLong => 18,
            KzError::OfdUndecodable => 28,
            KzError::OperationFailed => 29,
            KzError::InvalidReportType => 34,
            KzError::InvalidLocalDate => 36,
            KzError::ItemsListIsEmpty => 45,
            KzError::ItemCommodityUndefined => 46,
            KzError::ItemQuantityIsIncorrect => 47,
            KzError::ItemDiscountUndefined => 48,
            KzError::ItemMarkupUndefined => 49,
            KzError::UnknownItemType => 50,
            KzError::AmountsTotalIsIncorrect => 52,
            KzError::MoneyValueIsNegative => 53,
            KzError::SumToPayIsIncorrect => 54,
            KzError::CardSumIsGreaterThanTotal => 55,
            KzError::PaidSumIsIncorrect => 56,
            KzError::PaidSumIsLessThanTotal => 57,
            KzError::NotEnoughCash => 58,
            KzError::DiscountSumMustBeLessThanTotal => 59,
            KzError::TaxationTypeIsIncorrect => 60,
            KzError::InvalidKkmOfdId => 61,
            KzError::KkmIsBlocked => 62,
            KzError::DiscountSumIsNegative => 63,
            KzError::MarkupSumIsNegative => 64,
            KzError::DiscountAndMarkupAreMutuallyExclusive => 65,
            KzError::KkmShiftIsNotClosed => 76,
            KzError::SameTaxpayerAndCustomer => 77,
            KzError::MeasureUnitCodeIsEmpty => 81,
            KzError::SectionCodeIsEmpty => 82,
            KzError::InvalidOfdResponse => 84,
            KzError::ItemsTaxesAndTicketTaxesAreMutuallyExclusive => 88,
            KzError::TaxPercentageIsAlreadyPresent => 89,
            KzError::ItemPriceIsIncorrect => 94,
            KzError::ItemSumIsIncorrect => 95,
        }
    }

    /// The cash-core text constant (`response_data` of an error, CORE-9), exactly as in §11.
    #[must_use]
    pub const fn text(self) -> &'static str {
        match self {
            KzError::InvalidFields => "invalid_fields",
            KzError::RegInfoRequestError => "kkm_reginfo_request_error",
            KzError::InvalidKkmVendorId => "invalid_kkm_vendor_id",
            KzError::OfflineTooLong => "kkm_in_offline_mode_too_long",
            KzError::OfdUndecodable => "protobuf_deserialization_error",
            KzError::OperationFailed => "operation_failed",
            KzError::InvalidReportType => "invalid_report_type",
            KzError::InvalidLocalDate => "invalid_local_date",
            KzError::ItemsListIsEmpty => "items_list_is_empty",
            KzError::ItemCommodityUndefined => "item_commodity_undefined",
            KzError::ItemQuantityIsIncorrect => "item_quantity_is_incorrect",
            KzError::ItemDiscountUndefined => "item_discount_undefined",
            KzError::ItemMarkupUndefined => "item_markup_undefined",
            KzError::UnknownItemType => "unknown_item_type",
            KzError::AmountsTotalIsIncorrect => "amounts_total_is_incorrect",
            KzError::MoneyValueIsNegative => "money_value_is_negative",
            KzError::SumToPayIsIncorrect => "sum_to_pay_is_incorrect",
            KzError::CardSumIsGreaterThanTotal => "card_sum_is_greater_than_total",
            KzError::PaidSumIsIncorrect => "paid_sum_is_incorrect",
            KzError::PaidSumIsLessThanTotal => "paid_sum_is_less_than_total",
            KzError::NotEnoughCash => "not_enough_cash",
            KzError::DiscountSumMustBeLessThanTotal => "discount_sum_must_be_less_than_total",
            KzError::TaxationTypeIsIncorrect => "taxation_type_is_incorrect",
            KzError::InvalidKkmOfdId => "invalid_kkm_ofd_id",
            KzError::KkmIsBlocked => "kkm_is_blocked",
            KzError::DiscountSumIsNegative => "discount_sum_is_negative",
            KzError::MarkupSumIsNegative => "markup_sum_is_negative",
            KzError::DiscountAndMarkupAreMutuallyExclusive => "discount_and_markup_are_mutually_exclusive",
            KzError::KkmShiftIsNotClosed => "kkm_shift_is_not_closed",
            KzError::SameTaxpayerAndCustomer => "same_taxpayer_and_customer",
            KzError::MeasureUnitCodeIsEmpty => "measure_unit_code_is_empty",
            KzError::SectionCodeIsEmpty => "section_code_is_empty",
            KzError::InvalidOfdResponse => "invalid_ofd_response",
            KzError::ItemsTaxesAndTicketTaxesAreMutuallyExclusive => "items_taxes_and_ticket_taxes_are_mutually_exclusive",
            KzError::TaxPercentageIsAlreadyPresent => "tax_percentage_is_already_present",
            KzError::ItemPriceIsIncorrect => "item_price_is_incorrect",
            KzError::ItemSumIsIncorrect => "item_sum_is_incorrect",
        }
    }
}
