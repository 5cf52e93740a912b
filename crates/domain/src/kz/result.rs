//! OperationResult (§6.11): the `response_data` of TradeOperation, MoneyPlacement and ZXReport,
//! built from the final document, the KKM state after it and what the engine's KKM record and
//! OFD list add (CORE-76, CORE-78, CORE-91).

use serde::{Deserialize, Serialize};

use super::enums::{CommandType, ReportType};
use super::process::{Body, Document};
use super::report::total_payments;
use super::state::{AdsObject, KkmState, RegInfo};
use super::wire::ShortMoney;

/// VATCertificateObject (§6.3), part of the engine's KKM record.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct VatCertificate {
    #[serde(default)]
    pub series: String,
    #[serde(default)]
    pub number: String,
    #[serde(default)]
    pub is_printable: bool,
}

/// What the engine knows besides [`KkmState`] for an OperationResult.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ResultContext {
    /// KKM `local_name`.
    pub kkm_local_name: String,
    /// The caller's name.
    pub operator_name: String,
    pub vat_certificate: VatCertificate,
    /// Name of the KKM's OFD ("" if not configured).
    pub ofd_name: String,
    /// Consumer address of the KKM's OFD ("" if not configured).
    pub ofd_url: String,
}

/// OperationResult (§6.11): `response_data` of TradeOperation, MoneyPlacement and ZXReport.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct OperationResult {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub report_type: Option<ReportType>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub total_payments: Option<Vec<ShortMoney>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fiscal_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub qr_code: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ofd_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ofd_url: Option<String>,
    pub command_type: CommandType,
    pub is_offline: bool,
    pub is_invalid_token: bool,
    pub kkm_local_name: String,
    pub operator_name: String,
    pub fr_shift_number: u32,
    pub shift_document_number: u32,
    pub shift_state: u8,
    pub reg_info: RegInfo,
    pub vat_certificate: VatCertificate,
    pub body: Body,
    pub ads_info: Vec<AdsObject>,
}

/// CORE-76 / CORE-78 / CORE-91: the response of the final document `document` with the KKM
/// state after it.
#[must_use]
pub fn operation_result(state: &KkmState, document: &Document, context: &ResultContext) -> OperationResult {
    let is_ticket = document.command == CommandType::Ticket;
    let (command_type, report_type, totals) = match (&document.body, document.command) {
        (Body::Report(report), command) => (
            CommandType::Report,
            Some(if command == CommandType::CloseShift { ReportType::Z } else { ReportType::X }),
            Some(total_payments(report).into_iter().map(ShortMoney).collect()),
        ),
        (_, command) => (command, None, None),
    };
    OperationResult {
        report_type,
        total_payments: totals,
        fiscal_id: is_ticket.then(|| document.fiscal_id.clone()),
        qr_code: is_ticket.then(|| document.qr_code.clone()),
        ofd_name: is_ticket.then(|| context.ofd_name.clone()),
        ofd_url: is_ticket.then(|| context.ofd_url.clone()),
        command_type,
        is_offline: state.is_offline,
        is_invalid_token: state.is_invalid_token,
        kkm_local_name: context.kkm_local_name.clone(),
        operator_name: context.operator_name.clone(),
        fr_shift_number: document.fr_shift_number,
        shift_document_number: document.shift_document_number,
        shift_state: state.shift_state,
        reg_info: state.reg_info.clone(),
        vat_certificate: context.vat_certificate.clone(),
        body: document.body.clone(),
        ads_info: state.ads_info.clone(),
    }
}
