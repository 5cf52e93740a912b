//! The Kazakhstan (KZ) register profile of the fiscal engine: the pure fiscal logic of a cash-core
//! KKM (cash-core.md §8–§10): trade operations, money placements, X and Z reports, shifts,
//! numbering, autonomous mode, QR strings, counters and reports, vendor ids.
//!
//! Owns: [`KkmState`] (what CORE-60 persists for the fiscal logic), the request models
//! ([`Command`]), the output bodies with their exact wire names ([`TicketObject`],
//! [`MoneyPlacementObject`], [`ReportObject`], [`OperationResult`]), the journaled [`Document`],
//! and the refusals ([`KzError`], codes and texts of §11).
//!
//! API for the engine (all pure; time and OFD outcomes are passed in):
//! - [`prepare`]`(&state, &command, &caller, &config, now) -> Result<Prepared, KzError>` builds
//!   the next document; submit `prepared.body` to the OFD when `prepared.submit`;
//! - [`finish`]`(&state, prepared, outcome, &config, now) -> Result<Finished, Failure>` returns
//!   the new state and the document to journal, atomically with it;
//! - repeat while `!prepared.is_final` (automatic withdrawal CORE-79, automatic Z CORE-64), or
//!   use [`execute`] with a submit closure;
//! - [`operation_result`] builds `response_data`; [`recompute_report`] rebuilds a report from the
//!   journal; [`KkmState::queue_drained`] leaves autonomous mode (CORE-96).
//!
//! May depend on `kassa-money`, serde, serde_json (exact numbers) and thiserror only. No IO.

pub mod command;
pub mod enums;
pub mod error;
pub mod ofd;
pub mod placement;
pub mod process;
pub mod report;
pub mod result;
pub mod state;
pub mod ticket;
pub mod time;
pub mod vendor;
pub mod wire;

#[cfg(test)]
mod proptests;

pub use command::{Caller, Command, KkmConfig, MoneyPlacementRequest, ReportRequest, TradeRequest};
pub use enums::{CommandType, MoneyPlacementKind, Operation, PaymentType, ReportType};
pub use error::KzError;
pub use ofd::{OfdOutcome, qr_code};
pub use placement::MoneyPlacementObject;
pub use process::{Body, Document, Execution, Failure, Finished, ListBody, Prepared, execute, finish, prepare};
pub use report::{
    LifetimeCounts, ReportObject, ShiftCounters, counters_match_journal, recompute_report, report_body, total_payments,
};
pub use result::{OperationResult, ResultContext, VatCertificate, operation_result};
pub use state::{AdsObject, KkmState, OfdRegistration, OfdShift, RegInfo};
pub use ticket::TicketObject;
pub use time::{LocalDateTime, Millis};
pub use vendor::{VendorId, manufacture_date, vendor_id};
