//! The report answer (§8.2, ATOL-93) and how a document's stored state maps to it (ATOL-94).
//! The same body is the callback (ATOL-77).

use super::errors::{AtolError, ServiceError, Status};
use super::number::fixed;
use kassa_money::Money;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// ATOL-22: amounts as JSON numbers, at most 2 fraction digits, no exponent, no trailing zeros.
pub fn amount_text(m: Money) -> String {
    let (units, cents) = (m.minor() / 100, m.minor() % 100);
    match cents {
        0 => units.to_string(),
        c if c % 10 == 0 => format!("{units}.{}", c / 10),
        c => format!("{units}.{c:02}"),
    }
}

mod amount {
    use super::*;
    pub fn serialize<S: Serializer>(m: &Money, s: S) -> Result<S::Ok, S::Error> {
        let n: serde_json::Number = amount_text(*m).parse().map_err(serde::ser::Error::custom)?;
        n.serialize(s)
    }
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Money, D::Error> {
        let n = serde_json::Number::deserialize(d)?;
        fixed(&n.to_string(), 8, 2).map(Money::from_minor).map_err(|e| serde::de::Error::custom(e.reason()))
    }
}

/// Fiscal attributes of a registered document (§8.2 `payload`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Payload {
    pub fiscal_receipt_number: u64,
    pub shift_number: u64,
    pub receipt_datetime: String,
    #[serde(with = "amount")]
    pub total: Money,
    pub fn_number: String,
    pub ecr_registration_number: String,
    pub fiscal_document_number: u64,
    /// Unsigned 32-bit (ATOL-22).
    pub fiscal_document_attribute: u32,
    pub fns_site: String,
}

/// The report / callback body with all members (ATOL-93, D-38).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Report {
    pub uuid: String,
    pub timestamp: String,
    pub status: Status,
    pub error: Option<AtolError>,
    pub payload: Option<Payload>,
    pub group_code: String,
    pub daemon_code: String,
    pub device_code: String,
    pub callback_url: String,
}

/// Where a document is in its life (§7). `RetryWait` is `Queued` with a kept KKT error.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DocState {
    Queued,
    InProgress,
    Done,
    Failed,
    Rejected,
}

impl DocState {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Queued => "queued",
            Self::InProgress => "in_progress",
            Self::Done => "done",
            Self::Failed => "failed",
            Self::Rejected => "rejected",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        [Self::Queued, Self::InProgress, Self::Done, Self::Failed, Self::Rejected].into_iter().find(|x| x.as_str() == s)
    }

    /// ATOL-85: `done` and `failed` never change again (nor does a rejected request).
    pub fn is_final(self) -> bool {
        matches!(self, Self::Done | Self::Failed | Self::Rejected)
    }
}

/// What the report needs to know about a stored document.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DocView<'a> {
    pub uuid: &'a str,
    pub timestamp: &'a str,
    pub group_code: &'a str,
    pub callback_url: &'a str,
    pub state: DocState,
    pub error: Option<AtolError>,
    pub payload: Option<Payload>,
    pub daemon_code: &'a str,
    pub device_code: &'a str,
}

/// ATOL-94: the HTTP status and the report for a document's state.
pub fn report_for(d: DocView<'_>) -> (u16, Report) {
    let (http, status, error, payload) = match d.state {
        DocState::Done => (200, Status::Done, None, d.payload),
        DocState::Failed => (200, Status::Fail, d.error, None),
        DocState::Rejected => (400, Status::Fail, d.error, None),
        DocState::Queued | DocState::InProgress => match d.error {
            // Enqueue problems (ATOL-80): 400 wait 7 or 9.
            Some(e) if e.kind == super::ErrorType::System && (e.code == 7 || e.code == 9) => (400, Status::Wait, Some(e), None),
            // retry_wait: the last KKT error with wait (ATOL-83).
            Some(e) => (200, Status::Wait, Some(e), None),
            None => (200, Status::Wait, Some(ServiceError::StateNotFound.to_error()), None),
        },
    };
    let report = Report {
        uuid: d.uuid.to_owned(),
        timestamp: d.timestamp.to_owned(),
        status,
        error,
        payload,
        group_code: d.group_code.to_owned(),
        daemon_code: d.daemon_code.to_owned(),
        device_code: d.device_code.to_owned(),
        callback_url: d.callback_url.to_owned(),
    };
    (http, report)
}

/// A report for a request error or an unknown document (ATOL-91/92): `wait`, no document data.
pub fn request_error_report(e: &ServiceError, uuid: &str, group_code: &str, server_time: String) -> (u16, Report) {
    (
        e.http_status(),
        Report {
            uuid: uuid.to_owned(),
            timestamp: server_time,
            status: Status::Wait,
            error: Some(e.to_error()),
            payload: None,
            group_code: group_code.to_owned(),
            daemon_code: String::new(),
            device_code: String::new(),
            callback_url: String::new(),
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn view(state: DocState, error: Option<AtolError>) -> DocView<'static> {
        DocView {
            uuid: "u",
            timestamp: "29.05.2017 17:56:18",
            group_code: "g",
            callback_url: "",
            state,
            error,
            payload: None,
            daemon_code: "",
            device_code: "",
        }
    }

    #[test]
    fn report_by_state() {
        // ATOL-94, ATOL-80 (7/9 while queued), ATOL-83 (retry_wait shows the last KKT error)
        let e7 = ServiceError::IncomingQueueTimeout.to_error();
        let (http, r) = report_for(view(DocState::Queued, Some(e7.clone())));
        assert_eq!((http, r.status, r.error), (400, Status::Wait, Some(e7)));
        let e9 = ServiceError::IncomingQueue { uuid: "u".into(), cause: "x".into() }.to_error();
        assert_eq!(report_for(view(DocState::Queued, Some(e9))).0, 400);
        let kkt = crate::atol::KktError::new(-20).classify().0;
        let (http, r) = report_for(view(DocState::Queued, Some(kkt.clone())));
        assert_eq!((http, r.status, r.error), (200, Status::Wait, Some(kkt)));
        let (http, r) = report_for(view(DocState::InProgress, None));
        assert_eq!((http, r.status, r.error.unwrap().code), (200, Status::Wait, 16));
        assert!(DocState::Done.is_final() && DocState::Failed.is_final() && !DocState::Queued.is_final());
    }

    #[test]
    fn amounts_have_no_trailing_zeros() {
        // ATOL-22
        assert_eq!(amount_text(Money::from_minor(761_200)), "7612");
        assert_eq!(amount_text(Money::from_minor(761_242)), "7612.42");
        assert_eq!(amount_text(Money::from_minor(159_850)), "1598.5");
        assert_eq!(amount_text(Money::from_minor(5)), "0.05");
        let p = Payload {
            fiscal_receipt_number: 6,
            shift_number: 23,
            receipt_datetime: "29.05.2017 18:00:00".into(),
            total: Money::from_minor(150_050),
            fn_number: "1110000100238211".into(),
            ecr_registration_number: "0000111118041361".into(),
            fiscal_document_number: 133,
            fiscal_document_attribute: 3_449_555_941,
            fns_site: "www.nalog.ru".into(),
        };
        let text = serde_json::to_string(&p).unwrap();
        assert!(text.contains("\"total\":1500.5"), "{text}");
        assert!(text.contains("\"fiscal_document_attribute\":3449555941"), "{text}");
        assert_eq!(serde_json::from_str::<Payload>(&text).unwrap(), p);
    }
}
