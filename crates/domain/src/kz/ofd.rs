//! The OFD side of a fiscal document, as data: the outcome of the synchronous submit (CORE-92,
//! CORE-94), which the engine obtains from its OFD link and passes in, and the consumer QR string
//! of autonomous tickets (CORE-100).

use kassa_money::Money;
use serde::{Deserialize, Serialize};

use super::KzError;
use super::state::AdsObject;
use super::time::LocalDateTime;

/// What the OFD link answered to `Submit(kkm, document)` (CORE-92).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum OfdOutcome {
    /// Accepted online; `ads_info` replaces the KKM's list when supplied.
    Accepted {
        fiscal_id: String,
        qr_code: String,
        #[serde(default)]
        ads_info: Option<Vec<AdsObject>>,
    },
    /// No connection: accepted in autonomous mode.
    Unreachable,
    /// The OFD refused the token: accepted in autonomous mode, `is_invalid_token` set.
    InvalidToken,
    /// Blocked by the OFD: error 62, flags set, nothing journaled.
    Blocked { text: String },
    /// 61.
    UnknownKkm,
    /// 77.
    SameTaxpayerAndCustomer,
    /// 84.
    Rejected,
    /// 28.
    Undecodable,
    /// The engine did not submit because the KKM is already autonomous (CORE-95:
    /// [`crate::kz::Prepared::submit`] was false).
    NotSubmitted,
}

/// How a document was accepted, once the outcome is known.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Acceptance {
    Online { fiscal_id: String, qr_code: String, ads_info: Option<Vec<AdsObject>> },
    Autonomous { invalid_token: bool },
}

impl OfdOutcome {
    /// CORE-94/CORE-95: the acceptance mode, or the refusal. A KKM already in autonomous mode
    /// accepts every document autonomously (documents are queued, not submitted).
    pub(crate) fn acceptance(self, kkm_is_offline: bool) -> Result<Acceptance, KzError> {
        if kkm_is_offline {
            return Ok(Acceptance::Autonomous { invalid_token: false });
        }
        match self {
            OfdOutcome::Accepted { fiscal_id, qr_code, ads_info } => Ok(Acceptance::Online { fiscal_id, qr_code, ads_info }),
            OfdOutcome::Unreachable | OfdOutcome::NotSubmitted => Ok(Acceptance::Autonomous { invalid_token: false }),
            OfdOutcome::InvalidToken => Ok(Acceptance::Autonomous { invalid_token: true }),
            OfdOutcome::Blocked { .. } => Err(KzError::KkmIsBlocked),
            OfdOutcome::UnknownKkm => Err(KzError::InvalidKkmOfdId),
            OfdOutcome::SameTaxpayerAndCustomer => Err(KzError::SameTaxpayerAndCustomer),
            OfdOutcome::Rejected => Err(KzError::InvalidOfdResponse),
            OfdOutcome::Undecodable => Err(KzError::OfdUndecodable),
        }
    }
}

/// CORE-100: `<consumer_address>/?&i=<fiscal id>&f=<fns_kkm_id>&s=<total with two decimals and a
/// comma>&t=<YYYYMMDDTHHMMSS>` (note the literal `?&`).
#[must_use]
pub fn qr_code(consumer_address: &str, fiscal_id: &str, fns_kkm_id: &str, total: Money, at: LocalDateTime) -> String {
    format!(
        "{}/?&i={fiscal_id}&f={fns_kkm_id}&s={}&t={}",
        consumer_address.trim_end_matches('/'),
        total.format_with(','),
        at.compact()
    )
}
