//! The [`AtolRegisters`] port over the fiscal engine ([`crate::fiscal`]): an accepted ATOL
//! document becomes an RU receipt or correction on the chosen register, registered under the
//! document's uuid as the engine's external key, so a retry after a crash returns the stored
//! entry instead of using a second fiscal number (the port's idempotency contract).
//!
//! Owns the mapping ATOL document → engine command (pure: [`command_of`]), journal entry → §8.2
//! payload ([`payload_of`]), engine refusal → §9.3 KKT error (ATOL-101 via
//! [`FiscalError::atol_code`]), the register pause hook of the tests (TV-20, TV-32) and a small
//! cache of FN document counters for even load (ATOL-7). May depend on the domain, the engine
//! and the store ports; no IO of its own.

use super::{AcceptedDocument, AtolRegisters};
use crate::Core;
use crate::fiscal::EngineError;
use kassa_domain::atol::report::Payload;
use kassa_domain::atol::time::format_local;
use kassa_domain::atol::validate::{self, Body, Document, Operation};
use kassa_domain::atol::KktError;
use kassa_domain::fiscal::ru;
use kassa_domain::fiscal::{Command, Policy, RegisterState};
use kassa_money::Money;
use kassa_store::GroupRow;
use kassa_store::fiscal::JournalEntry;
use std::collections::HashMap;
use std::sync::Mutex;

/// ATOL-86: `fns_site` of every payload.
pub const FNS_SITE: &str = "www.nalog.ru";
/// How long a register's FN document count is trusted from memory (ms); the dispatcher asks for
/// every register at every step, the engine's own successes keep it current in between.
const FN_COUNT_TTL_MS: i64 = 1_000;

/// The engine as ATOL registers.
pub struct EngineRegisters {
    core: Core,
    /// register → (FN documents, read at).
    fn_counts: Mutex<HashMap<String, (u64, i64)>>,
}

impl EngineRegisters {
    pub fn new(core: Core) -> Self {
        Self { core, fn_counts: Mutex::new(HashMap::new()) }
    }

    fn cached(&self, id: &str, now: i64) -> Option<u64> {
        let m = self.fn_counts.lock().unwrap_or_else(|p| p.into_inner());
        m.get(id).filter(|(_, at)| now - at < FN_COUNT_TTL_MS).map(|(n, _)| *n)
    }

    /// Attempts on one register finish in any order: the count only grows while it is fresh.
    fn remember(&self, id: &str, n: u64, now: i64) {
        let mut m = self.fn_counts.lock().unwrap_or_else(|p| p.into_inner());
        let e = m.entry(id.to_owned()).or_insert((n, now));
        *e = (e.0.max(n), e.1);
    }

    fn refresh(&self, id: &str, n: u64, now: i64) {
        self.fn_counts.lock().unwrap_or_else(|p| p.into_inner()).insert(id.to_owned(), (n, now));
    }
}

/// ATOL-87: the seller the document claims. Receipts always carry `service.inn` and
/// `service.payment_address`; a correction without `service` is not compared (D-34), and a member
/// left out is not compared either (it takes the group's value).
fn service_of(doc: &Document, group: &GroupRow) -> Option<ru::Service> {
    let s = doc.service.as_ref()?;
    if s.inn.is_none() && s.payment_address.is_none() {
        return None;
    }
    Some(ru::Service {
        inn: s.inn.clone().unwrap_or_else(|| group.inn.clone()),
        payment_address: s.payment_address.clone().unwrap_or_else(|| group.payment_address.clone()),
    })
}

/// The VAT contained in `total` at the rate of an ATOL tax number (§6.6), rounded half up.
fn vat_in(total: Money, tax: &str) -> Money {
    let (num, den) = match tax {
        "vat10" | "vat110" => (10, 110),
        "vat18" | "vat118" => (18, 118),
        _ => return Money::ZERO, // none, vat0
    };
    let m = i128::from(total.minor()) * num;
    Money::from_minor(((2 * m + den) / (2 * den)) as i64)
}

fn payments_of(p: &[validate::Payment]) -> Vec<ru::Payment> {
    p.iter().map(|p| ru::Payment { kind: p.kind, sum: p.sum }).collect()
}

/// The engine command for an accepted ATOL document (ATOL-46: six operations). Receipts carry
/// their positions (barcode and text lines are not fiscal positions), payments, total, `sno` and
/// seller; corrections their payments, the VAT of their tax number, `sno` and seller. The engine
/// then runs the reference device model's checks in order (ATOL-88 steps 1–8).
pub fn command_of(doc: &Document, group: &GroupRow) -> Command {
    let service = service_of(doc, group);
    let op = match doc.operation {
        Operation::Sell | Operation::SellCorrection => ru::Operation::Sell,
        Operation::SellRefund => ru::Operation::SellRefund,
        Operation::Buy | Operation::BuyCorrection => ru::Operation::Buy,
        Operation::BuyRefund => ru::Operation::BuyRefund,
    };
    let command = match &doc.body {
        Body::Receipt(r) => ru::Command::Receipt(ru::Receipt {
            operation: op,
            items: r
                .positions()
                .map(|p| ru::Item {
                    name: p.name.clone(),
                    price: p.price,
                    quantity: p.quantity,
                    sum: p.sum,
                    tax: p.tax.clone(),
                    tax_sum: p.tax_sum.unwrap_or(Money::ZERO),
                    section: 1,
                })
                .collect(),
            payments: payments_of(&r.payments),
            total: r.total,
            sno: r.sno.clone(),
            service,
            cashier: None,
        }),
        Body::Correction(c) => ru::Command::Correction(ru::Correction {
            operation: op,
            payments: payments_of(&c.payments),
            taxes: vec![ru::TaxSum { tax: c.tax.clone(), sum: vat_in(doc.fiscal_total(), &c.tax) }],
            sno: c.sno.clone(),
            service,
            base: String::new(),
        }),
    };
    Command::Ru(command)
}

/// ATOL-86 / ATOL-89: the §8.2 payload of the journal entry the document produced.
/// `receipt_datetime` is the FN's time to the minute (seconds `00`), local time.
pub fn payload_of(e: &JournalEntry, utc_offset_secs: i64) -> Result<Payload, KktError> {
    #[derive(serde::Deserialize)]
    struct Ids {
        fn_number: String,
        reg_number: String,
    }
    let ids: Ids = serde_json::from_str(&e.doc).map_err(|_| KktError::new(-15))?; // «Некорректные данные из устройства»
    let minute = e.time_ms.div_euclid(60_000) * 60_000;
    Ok(Payload {
        fiscal_receipt_number: u64::from(e.receipt_number.ok_or_else(|| KktError::new(-15))?),
        shift_number: u64::from(e.shift_number),
        receipt_datetime: format_local(minute, utc_offset_secs),
        total: e.total,
        fn_number: ids.fn_number,
        ecr_registration_number: ids.reg_number,
        fiscal_document_number: e.number,
        fiscal_document_attribute: e.fiscal_sign,
        fns_site: FNS_SITE.into(),
    })
}

/// ATOL-101: an engine refusal as the KKT error of the reference device model (§9.3); a register
/// that is gone or a store that does not answer are link errors (class R: tried again).
pub fn kkt_error_of(e: &EngineError) -> KktError {
    match e {
        EngineError::Fiscal(f) => KktError::new(f.atol_code()),
        EngineError::UnknownRegister(_) => KktError::new(-20), // «Нет ответа от устройства»
        EngineError::Store(_) => KktError::new(-1),            // «Нет связи»
    }
}

#[async_trait::async_trait]
impl AtolRegisters for EngineRegisters {
    async fn register(&self, register_id: &str, group: &GroupRow, doc: &AcceptedDocument) -> Result<Payload, KktError> {
        let command = command_of(&doc.document, group);
        // ATOL registers close an expired shift themselves (Z, then a new shift) rather than
        // refusing every document with -3822 until someone closes it.
        let policy = Policy { auto_close_expired: true, ..self.core.fiscal.policy };
        let entries = self
            .core
            .fiscal()
            .execute_keyed(register_id, &doc.uuid, command, policy)
            .await
            .map_err(|e| kkt_error_of(&e))?;
        let entry = entries.last().ok_or_else(|| KktError::new(-15))?;
        let payload = payload_of(entry, self.core.atol.settings.utc_offset_secs)?;
        if entry.register_id == register_id {
            self.remember(register_id, payload.fiscal_document_number, self.core.clock.now_ms());
        }
        Ok(payload)
    }

    async fn fn_documents(&self, register_id: &str) -> u64 {
        let now = self.core.clock.now_ms();
        if let Some(n) = self.cached(register_id, now) {
            return n;
        }
        let n = match self.core.fiscal().status(register_id).await {
            Ok(s) => match s.record.state {
                Some(RegisterState::Ru(st)) => st.last_fiscal_number,
                #[allow(unreachable_patterns)]
                _ => 0,
            },
            Err(_) => return 0,
        };
        self.refresh(register_id, n, now);
        n
    }

    async fn available(&self, register_id: &str) -> bool {
        !self.core.atol.is_paused(register_id)
    }
}
