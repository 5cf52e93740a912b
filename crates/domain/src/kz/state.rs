//! [`KkmState`]: what the fiscal logic of one KKM persists between commands (CORE-60), with the
//! registration data of §6.2 and the OFD ad texts of §6.6.
//!
//! The engine stores it as one serde value per KKM, next to the fields the fiscal logic does not
//! read (`ofd_token`, `ofd_uid`, `local_name`, printer, bindings, …), and replaces it atomically
//! with the journaled document (CORE-60).

use kassa_money::Money;
use serde::{Deserialize, Serialize};

use super::KzError;
use super::report::{LifetimeCounts, ShiftCounters};
use super::time::{self, LocalDateTime};
use super::wire::{short_money, short_money_list, string_or_null};

/// `shift_state`: 0 closed, 1 open.
pub const SHIFT_CLOSED: u8 = 0;
/// `shift_state`: 0 closed, 1 open.
pub const SHIFT_OPEN: u8 = 1;
/// CORE-98: autonomous ticket numbers start after this floor.
pub const OFFLINE_NUMBER_FLOOR: u32 = 1000;

/// The persistent fiscal state of one KKM (CORE-60).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct KkmState {
    /// Registration data from the OFD (§6.2); `serial_number` is the `vendor_id`.
    pub reg_info: RegInfo,
    /// Ad/info texts last received from the OFD (CORE-94 replaces them when supplied).
    #[serde(default)]
    pub ads_info: Vec<AdsObject>,
    /// Withdraw all cash automatically before a Z report (CORE-79).
    #[serde(default)]
    pub auto_withdraw_money: bool,
    /// Autonomous mode (§10.2).
    pub is_offline: bool,
    #[serde(with = "time::optional")]
    pub offline_start_date: Option<LocalDateTime>,
    #[serde(with = "time::optional")]
    pub offline_end_date: Option<LocalDateTime>,
    /// Last autonomous ticket number used (CORE-98).
    pub offline_ticket_number: u32,
    pub is_invalid_token: bool,
    pub is_blocked: bool,
    #[serde(default, deserialize_with = "string_or_null")]
    pub blocked_info: String,
    /// KKMLocalState (CORE-61): always 0 here.
    pub local_state: u8,
    /// 0 closed, 1 open (CORE-62, CORE-63).
    pub shift_state: u8,
    /// Current shift number: the shift the next document belongs to.
    pub fr_shift_number: u32,
    /// Number the next document of the shift gets (CORE-66).
    pub shift_document_number: u32,
    #[serde(with = "time::optional")]
    pub shift_open_date: Option<LocalDateTime>,
    #[serde(with = "time::optional")]
    pub shift_close_date: Option<LocalDateTime>,
    /// Cash in the drawer; never negative (CORE-72 8, CORE-78).
    #[serde(with = "short_money")]
    pub cash_sum: Money,
    /// Shift revenue, signed (CORE-74).
    #[serde(with = "short_money")]
    pub revenue: Money,
    /// Lifetime totals per OperationTypeEnum code [BUY, BUY_RETURN, SELL, SELL_RETURN].
    #[serde(with = "short_money_list")]
    pub non_nullable_sums: [Money; 4],
    /// `non_nullable_sums` at the start of the current shift (CORE-63).
    #[serde(with = "short_money_list")]
    pub start_shift_non_nullable_sums: [Money; 4],
    /// Time of the latest journal record, for the clock check of CORE-32.
    #[serde(default, with = "time::optional")]
    pub last_document_date: Option<LocalDateTime>,
    /// Per-shift report counters (§9), reset by a Z report.
    #[serde(default)]
    pub counters: ShiftCounters,
    /// All-time document counts (`tickets_total_count`, `operations_total_count`).
    #[serde(default)]
    pub totals: LifetimeCounts,
}

impl KkmState {
    /// A newly created KKM (CORE-50): shift 1 closed, document 1, all sums 0, unset dates.
    #[must_use]
    pub fn new(reg_info: RegInfo) -> KkmState {
        KkmState {
            reg_info,
            ads_info: Vec::new(),
            auto_withdraw_money: false,
            is_offline: false,
            offline_start_date: None,
            offline_end_date: None,
            offline_ticket_number: 0,
            is_invalid_token: false,
            is_blocked: false,
            blocked_info: String::new(),
            local_state: 0,
            shift_state: SHIFT_CLOSED,
            fr_shift_number: 1,
            shift_document_number: 1,
            shift_open_date: None,
            shift_close_date: None,
            cash_sum: Money::ZERO,
            revenue: Money::ZERO,
            non_nullable_sums: [Money::ZERO; 4],
            start_shift_non_nullable_sums: [Money::ZERO; 4],
            last_document_date: None,
            counters: ShiftCounters::default(),
            totals: LifetimeCounts::default(),
        }
    }

    /// `vendor_id` (= `reg_info.kkm.serial_number`, §6.1).
    #[must_use]
    pub fn vendor_id(&self) -> &str {
        &self.reg_info.kkm.serial_number
    }

    /// CORE-51 precondition of DeleteKKM: 76 while the shift is open.
    ///
    /// # Errors
    /// [`KzError::KkmShiftIsNotClosed`].
    pub fn ensure_shift_closed(&self) -> Result<(), KzError> {
        if self.shift_state == SHIFT_OPEN { Err(KzError::KkmShiftIsNotClosed) } else { Ok(()) }
    }

    /// CORE-96: every undelivered record has been accepted by the OFD, so the KKM leaves
    /// autonomous mode (`offline_end_date` stays the zero date, A-33).
    #[must_use]
    pub fn queue_drained(&self) -> KkmState {
        KkmState { is_offline: false, offline_start_date: None, offline_end_date: None, ..self.clone() }
    }

    /// CORE-94 Blocked: the flags set even though the operation fails with 62.
    #[must_use]
    pub fn blocked(&self, text: &str) -> KkmState {
        KkmState { is_blocked: true, blocked_info: text.to_owned(), ..self.clone() }
    }
}

/// RegInfo (§6.2). All strings `""` and ints 0 until registration data was obtained.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RegInfo {
    #[serde(default)]
    pub org: OrgRegInfo,
    #[serde(default)]
    pub pos: PosRegInfo,
    #[serde(default)]
    pub kkm: KkmRegInfo,
}

/// OrgRegInfo (§6.2).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrgRegInfo {
    #[serde(default)]
    pub title: String,
    #[serde(default)]
    pub address: String,
    /// Seller's IIN/BIN, compared with the customer's (77).
    #[serde(default)]
    pub inn: String,
    #[serde(default)]
    pub taxation_type: i64,
    #[serde(default)]
    pub okved: String,
    #[serde(default, rename = "tenantId")]
    pub tenant_id: i64,
}

/// PosRegInfo (§6.2).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PosRegInfo {
    #[serde(default)]
    pub title: String,
    #[serde(default)]
    pub address: String,
}

/// KkmRegInfo (§6.2).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct KkmRegInfo {
    #[serde(default)]
    pub point_of_payment_number: String,
    #[serde(default)]
    pub terminal_number: String,
    /// KGD id, the `f=` of the QR URL (CORE-100).
    #[serde(default)]
    pub fns_kkm_id: String,
    #[serde(default)]
    pub serial_number: String,
    #[serde(default)]
    pub kkm_id: String,
}

/// AdsObject (§6.6): `{"info": {"type", "version"}, "Text": …}` (I-8: emit `Text`).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AdsObject {
    pub info: AdInfo,
    #[serde(rename = "Text", alias = "text", default)]
    pub text: String,
}

/// TicketAdInfo / AdsObject.info (§6.6).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AdInfo {
    /// TicketAdTypeEnum code.
    #[serde(rename = "type")]
    pub kind: u32,
    pub version: u64,
}

/// The KKMObject fields (§6.1) owned by the fiscal state, in their wire forms (CORE-25 numbers,
/// CORE-30 dates). The face flattens it next to the fields of the engine's KKM record (`ofd_id`,
/// `ofd_uid`, `local_name`, `use_software_vpn`, `printer`, `vat_certificate`, `custom_data`,
/// `bindings`, `ID`, `owner_id`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct KkmObjectFields<'a> {
    pub auto_withdraw_money: bool,
    pub is_offline: bool,
    pub fr_shift_number: u32,
    pub shift_state: u8,
    pub is_blocked: bool,
    #[serde(with = "time::optional")]
    pub shift_close_date: Option<LocalDateTime>,
    pub shift_document_number: u32,
    #[serde(with = "time::optional")]
    pub offline_start_date: Option<LocalDateTime>,
    pub is_invalid_token: bool,
    #[serde(with = "short_money_list")]
    pub start_shift_non_nullable_sums: [Money; 4],
    #[serde(with = "short_money_list")]
    pub non_nullable_sums: [Money; 4],
    pub ads_info: &'a [AdsObject],
    pub vendor_id: &'a str,
    #[serde(with = "time::optional")]
    pub offline_end_date: Option<LocalDateTime>,
    #[serde(with = "short_money")]
    pub cash_sum: Money,
    #[serde(with = "time::optional")]
    pub shift_open_date: Option<LocalDateTime>,
    pub blocked_info: &'a str,
    #[serde(with = "short_money")]
    pub revenue: Money,
    pub offline_ticket_number: u32,
    pub reg_info: &'a RegInfo,
    pub local_state: u8,
}

impl KkmState {
    /// The KKMObject fields of this state (§6.1).
    #[must_use]
    pub fn kkm_object_fields(&self) -> KkmObjectFields<'_> {
        KkmObjectFields {
            auto_withdraw_money: self.auto_withdraw_money,
            is_offline: self.is_offline,
            fr_shift_number: self.fr_shift_number,
            shift_state: self.shift_state,
            is_blocked: self.is_blocked,
            shift_close_date: self.shift_close_date,
            shift_document_number: self.shift_document_number,
            offline_start_date: self.offline_start_date,
            is_invalid_token: self.is_invalid_token,
            start_shift_non_nullable_sums: self.start_shift_non_nullable_sums,
            non_nullable_sums: self.non_nullable_sums,
            ads_info: &self.ads_info,
            vendor_id: self.vendor_id(),
            offline_end_date: self.offline_end_date,
            cash_sum: self.cash_sum,
            shift_open_date: self.shift_open_date,
            blocked_info: &self.blocked_info,
            revenue: self.revenue,
            offline_ticket_number: self.offline_ticket_number,
            reg_info: &self.reg_info,
            local_state: self.local_state,
        }
    }
}

/// The OFD's answer to `RegInfo(kkm)` (CORE-92): registration data, ads and its view of the
/// shift and counters.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct OfdRegistration {
    pub reg_info: RegInfo,
    #[serde(default)]
    pub ads_info: Vec<AdsObject>,
    /// The OFD's view of the shift, when it reports one.
    #[serde(default)]
    pub shift: Option<OfdShift>,
}

/// The OFD's view of the shift and counters.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct OfdShift {
    pub fr_shift_number: u32,
    pub shift_state: u8,
    #[serde(default, with = "time::optional")]
    pub shift_open_date: Option<LocalDateTime>,
    #[serde(with = "short_money")]
    pub cash_sum: Money,
    #[serde(with = "short_money")]
    pub revenue: Money,
    #[serde(with = "short_money_list")]
    pub non_nullable_sums: [Money; 4],
}

impl KkmState {
    /// CORE-49 success path of SaveKKM: store `reg_info` (so `vendor_id` = its `serial_number`)
    /// and `ads_info`, and adopt the OFD's shift and counters without ever decreasing a local
    /// counter. A later OFD shift replaces the local shift context (state, open time, revenue).
    ///
    /// # Errors
    /// 8 without a serial number; 9 when it lacks `vendor_id_prefix`; 36 when the OFD's shift
    /// opened after `now`.
    pub fn adopt_registration(
        &self,
        registration: OfdRegistration,
        vendor_id_prefix: &str,
        now: LocalDateTime,
    ) -> Result<KkmState, KzError> {
        let serial = &registration.reg_info.kkm.serial_number;
        if serial.is_empty() {
            return Err(KzError::RegInfoRequestError);
        }
        if !serial.starts_with(vendor_id_prefix) {
            return Err(KzError::InvalidKkmVendorId);
        }
        let mut next = KkmState { reg_info: registration.reg_info, ads_info: registration.ads_info, ..self.clone() };
        let Some(ofd) = registration.shift else { return Ok(next) };
        if ofd.shift_open_date.is_some_and(|open| open > now) {
            return Err(KzError::InvalidLocalDate);
        }
        if ofd.fr_shift_number > next.fr_shift_number {
            next.fr_shift_number = ofd.fr_shift_number;
            next.shift_state = ofd.shift_state;
            next.shift_open_date = if ofd.shift_state == SHIFT_OPEN { ofd.shift_open_date } else { None };
            next.shift_document_number = 1;
            next.revenue = ofd.revenue;
            next.counters = ShiftCounters::default();
            next.start_shift_non_nullable_sums = next.non_nullable_sums;
        }
        next.cash_sum = next.cash_sum.max(ofd.cash_sum);
        for (local, remote) in next.non_nullable_sums.iter_mut().zip(ofd.non_nullable_sums) {
            *local = (*local).max(remote);
        }
        Ok(next)
    }
}
