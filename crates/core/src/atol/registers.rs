//! The port through which accepted ATOL documents reach a fiscal register (§7). The fiscal
//! engine implements it (RU register profile, FN counters, OFD uplink); this crate holds no
//! implementation, so nothing here can fabricate a fiscal number.

use async_trait::async_trait;
use kassa_domain::atol::report::Payload;
use kassa_domain::atol::{Document, KktError};
use kassa_store::GroupRow;

/// An accepted document as the register sees it: validated, exact amounts (ATOL-53..66).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AcceptedDocument {
    pub uuid: String,
    pub tenant_id: String,
    pub group_code: String,
    pub document: Document,
    /// 1 for the first attempt (ATOL-84).
    pub attempt: u32,
}

/// Registers ATOL documents on a group's registers (ATOL-82, ATOL-86..89).
#[async_trait]
pub trait AtolRegisters: Send + Sync + 'static {
    /// Registers `doc` on register `register_id` of `group` and returns the fiscal attributes
    /// of §8.2, or the KKT error (§9.3 code; ATOL-101 maps it).
    ///
    /// Contract: idempotent per `doc.uuid`. After a crash the dispatcher calls again for a
    /// document left in progress; if the register already fiscalized that uuid it MUST return
    /// the same payload and register nothing new (no fiscal number used twice). The INN /
    /// payment address check (ATOL-87) and the `sno` check (ATOL-61) belong to the register.
    async fn register(&self, register_id: &str, group: &GroupRow, doc: &AcceptedDocument) -> Result<Payload, KktError>;

    /// ATOL-7: fiscal documents registered so far by the register's FN, for even load.
    async fn fn_documents(&self, register_id: &str) -> u64;

    /// Whether the register takes documents now (a paused or broken register answers false).
    async fn available(&self, register_id: &str) -> bool {
        let _ = register_id;
        true
    }
}
