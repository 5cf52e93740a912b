//! ATOL Online v3 (`atol-online-v3.md`): the pure rules of the face and of its document queue.
//!
//! Owns the error catalogue (§9), strict JSON reading and exact number checks (ATOL-18/21),
//! date-times (ATOL-19), validation of registration bodies (§6), the token lifetime rules (§5.3),
//! the report shape by document state (§8), and the dispatch policy (§7: state machine, retry
//! classes, register choice, reserve attachment). No IO: time, ids and stored rows are passed in.

pub mod dispatch;
pub mod errors;
pub mod json;
pub mod number;
pub mod report;
pub mod time;
pub mod token;
pub mod validate;

pub use errors::{AtolError, ErrorType, KktError, RetryClass, ServiceError, Status};
pub use validate::{Document, Operation};
